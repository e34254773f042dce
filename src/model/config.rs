//! A validated, complete description of one run: what the scenario loader produces and the
//! world is built from. Nothing here knows of files or YAML.

use crate::engine::SimTime;
use crate::net::{Latency, NetConfig, NodeIdx, Side};

use super::timing::{LatencyFaultTable, Timing};

#[derive(Clone, Debug)]
pub struct WorldConfig {
    pub name: String,
    pub seed: u64,
    pub duration_us: SimTime,
    pub timing: Timing,
    pub layout: Layout,
    /// How long a healthy broker takes to store a message and answer.
    pub broker_service_time: Latency,
    pub topics: Vec<TopicConfig>,
    pub producers: Vec<ProducerGroup>,
    /// Consumer groups; their clients come after every producer's.
    pub consumers: Vec<ConsumerGroup>,
    pub net: NetConfig,
    pub faults: Vec<FaultSpec>,
    /// Per broker group: how it replaces a lost master (MODEL.md 7, 7a).
    pub failover: Vec<Failover>,
    /// Per broker group: when its master acknowledges a send: after its own store, or once a
    /// slave has it too.
    pub replication: Vec<Replication>,
}

/// `brokerRole` of the masters: ASYNC_MASTER acknowledges after its own store, SYNC_MASTER
/// once a slave holds the message too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replication {
    Async,
    Sync,
}

/// A broker group's failover mode (MODEL.md 7): which process, if any, makes a slave the
/// master when the master is lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failover {
    /// A slave never becomes master.
    Classic,
    /// The group's members run a DLedger (Raft-like) election among themselves.
    Dledger,
    /// A controller (RIP-44) elects a new master from the live in-sync replicas.
    Controller,
    /// The NameServers show the lowest slave as a read-only master (`enableSlaveActingMaster`).
    SlaveActingMaster,
}

impl Failover {
    pub fn name(self) -> &'static str {
        match self {
            Failover::Classic => "classic",
            Failover::Dledger => "dledger",
            Failover::Controller => "controller",
            Failover::SlaveActingMaster => "slave-acting-master",
        }
    }
}

impl WorldConfig {
    /// The start delay (`start_after`) of the group of the client at `node`; 0 for servers.
    pub fn start_after_us(&self, node: NodeIdx) -> SimTime {
        let Role::Client { index } = self.layout.role(node) else { return 0 };
        match self.consumer_of(index) {
            Some((group, _)) => self.consumers[usize::from(group)].start_after_us,
            None => self.producers[self.producer_group_of(index)].start_after_us,
        }
    }

    /// The consumer group and place in it of client `client`, if it hosts a consumer.
    pub fn consumer_of(&self, client: u32) -> Option<(u16, u16)> {
        let mut first = self.layout.producer_clients();
        for (group, config) in self.consumers.iter().enumerate() {
            if client >= first && client < first + config.count {
                return Some((group as u16, (client - first) as u16));
            }
            first += config.count;
        }
        None
    }

    /// The topic of the client at `node` (a producer's or a consumer's): what its requests
    /// would name in RocketMQ.
    pub fn client_topic(&self, node: NodeIdx) -> Option<u16> {
        let Role::Client { index } = self.layout.role(node) else { return None };
        Some(match self.consumer_of(index) {
            Some((group, _)) => self.consumers[usize::from(group)].topic,
            None => self.producers[self.producer_group_of(index)].topic,
        })
    }

    /// A broker group's queues, topic by topic: (topic, queue id) at each place.
    pub fn group_queues(&self, group: u16) -> Vec<(u16, u16)> {
        self.topics
            .iter()
            .enumerate()
            .filter(|(_, t)| t.groups.contains(&group))
            .flat_map(|(topic, t)| (0..t.queues_per_broker).map(move |q| (topic as u16, q)))
            .collect()
    }

    /// True when a consumer group reads `topic`: only then do brokers keep send stamps,
    /// report stores and push to slaves.
    pub fn topic_has_readers(&self, topic: u16) -> bool {
        self.consumers.iter().any(|c| c.topic == topic)
    }

    /// Slaves copy their master only when someone can read the copy, may be promoted, or
    /// must acknowledge.
    pub fn replication_active(&self) -> bool {
        !self.consumers.is_empty() || self.any_failover() || self.replication.contains(&Replication::Sync)
    }

    /// Broker group `group`'s failover mode.
    pub fn failover_of(&self, group: u16) -> Failover {
        self.failover[usize::from(group)]
    }

    /// True when some group fails over (not classic).
    pub fn any_failover(&self) -> bool {
        self.failover.iter().any(|&f| f != Failover::Classic)
    }

    /// How many slaves of `group` must hold a message before its master acknowledges it: none
    /// (async), one (SYNC_MASTER), or enough for a majority with the leader (DLedger's quorum
    /// write).
    pub fn slave_acks_needed(&self, group: u16) -> usize {
        match (self.failover_of(group), self.replication[usize::from(group)]) {
            (Failover::Dledger, _) => self.layout.brokers_per_group() as usize / 2,
            (_, Replication::Sync) => 1,
            (_, Replication::Async) => 0,
        }
    }

    /// The producer group (its place in `producers`) of client `client`.
    pub fn producer_group_of(&self, client: u32) -> usize {
        let mut first = 0;
        for (group, config) in self.producers.iter().enumerate() {
            if client < first + config.count {
                return group;
            }
            first += config.count;
        }
        unreachable!("client index within the layout")
    }
}

#[derive(Clone, Debug)]
pub struct TopicConfig {
    pub name: String,
    /// Write queues on each broker group hosting the topic (`writeQueueNums`).
    pub queues_per_broker: u16,
    /// Broker groups hosting the topic, ascending.
    pub groups: Vec<u16>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendMode {
    /// The calling thread blocks until the send returns: at most `threads` in flight.
    Sync { threads: u32 },
    /// Sends do not block (bounded by `clientAsyncSemaphoreValue`).
    Async,
}

/// `clientAsyncSemaphoreValue`: the async send permits of a producer.
pub const CLIENT_ASYNC_SEMAPHORE_VALUE: u32 = 65_535;

#[derive(Clone, Debug)]
pub struct ProducerGroup {
    pub name: String,
    pub count: u32,
    pub topic: u16,
    pub rate_per_s: f64,
    pub mode: SendMode,
    /// `retryTimesWhenSendFailed`.
    pub retries: u32,
    /// `sendMsgTimeout`.
    pub send_timeout_us: SimTime,
    /// `sendLatencyFaultEnable`.
    pub latency_fault: Option<LatencyFaultTable>,
    /// The group starts this long after the run (plus its start window): a later deploy.
    pub start_after_us: SimTime,
}

/// A consumer group (push consumers, clustering mode).
#[derive(Clone, Debug)]
pub struct ConsumerGroup {
    pub name: String,
    /// At most `CONSUMER_GROUP_MEMBERS_MAX`.
    pub count: u32,
    pub topic: u16,
    pub start_after_us: SimTime,
    /// Messages a consumer processes per second; 0: at once.
    pub consume_rate_per_s: f64,
}

/// A consumer list travels as a bit set of places.
pub const CONSUMER_GROUP_MEMBERS_MAX: u32 = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// The process dies; its host's OS closes its connections and refuses new ones.
    Kill,
    /// The host goes silent: nothing is closed, nothing answers.
    PowerOff,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    Crash {
        node: NodeIdx,
        mode: CrashMode,
    },
    Shutdown {
        node: NodeIdx,
    },
    Restart {
        node: NodeIdx,
    },
    Pause {
        node: NodeIdx,
    },
    Resume {
        node: NodeIdx,
    },
    /// `side[node]`: which of the two groups each node is in, if any.
    Partition {
        partition: u32,
        side: Vec<Side>,
        one_way: bool,
    },
    /// `None` heals every partition.
    Heal {
        partition: Option<u32>,
    },
    /// Per link class (indexed by `LinkClass as usize`): the loss probability to set, or
    /// `None` to leave that class as it is. A fault's end restores each class to its own
    /// base loss, so it carries one value per class.
    Loss {
        probabilities: [Option<f64>; 3],
    },
}

#[derive(Clone, Debug)]
pub struct FaultSpec {
    pub id: String,
    pub at_us: SimTime,
    pub action: FaultAction,
    /// The node, partition or link class the user named.
    pub target: String,
}

impl FaultAction {
    pub fn kind(&self) -> &'static str {
        match self {
            FaultAction::Crash { .. } => "crash",
            FaultAction::Shutdown { .. } => "shutdown",
            FaultAction::Restart { .. } => "restart",
            FaultAction::Pause { .. } => "pause",
            FaultAction::Resume { .. } => "resume",
            FaultAction::Partition { .. } => "partition",
            FaultAction::Heal { .. } => "heal",
            FaultAction::Loss { .. } => "loss",
        }
    }

    /// Broker indices the fault takes out of service or cuts off: its *subjects*, whose
    /// detection, convergence and stale sends the metrics follow.
    pub fn subjects(&self, layout: &Layout) -> Vec<u32> {
        match self {
            FaultAction::Crash { node, .. } | FaultAction::Shutdown { node } | FaultAction::Pause { node } => {
                layout.broker_addr(*node).into_iter().collect()
            }
            FaultAction::Partition { side, .. } => (0..layout.brokers())
                .filter(|&b| side.get(layout.broker_node(b) as usize).is_some_and(|&s| s != Side::None))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The one node the fault acts on, if it acts on one.
    pub fn node(&self) -> Option<NodeIdx> {
        match *self {
            FaultAction::Crash { node, .. }
            | FaultAction::Shutdown { node }
            | FaultAction::Restart { node }
            | FaultAction::Pause { node }
            | FaultAction::Resume { node } => Some(node),
            _ => None,
        }
    }

    pub fn mode(&self) -> Option<&'static str> {
        match self {
            FaultAction::Crash { mode: CrashMode::Kill, .. } => Some("kill"),
            FaultAction::Crash { mode: CrashMode::PowerOff, .. } => Some("power-off"),
            _ => None,
        }
    }
}

/// Which node index is which process, and their names. Node indices are NameServers first,
/// then brokers (group by group, master first), then clients (producer group by group).
/// A broker's address (`BrokerAddr`) is its place among the brokers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub nameservers: u32,
    pub broker_groups: Vec<String>,
    pub slaves_per_group: u32,
    /// (name prefix, count) per producer group: its client processes.
    pub producer_groups: Vec<(String, u32)>,
    /// (name prefix, count) per consumer group: client processes after the producers'.
    pub consumer_groups: Vec<(String, u32)>,
}

/// What runs at a node: a NameServer, a broker (by address), or a client process (by its
/// place among the clients).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    NameServer { index: u32 },
    Broker { index: u32 },
    Client { index: u32 },
}

impl Role {
    /// The role's name in outputs. Every client process hosts a producer.
    pub fn name(self) -> &'static str {
        match self {
            Role::NameServer { .. } => "nameserver",
            Role::Broker { .. } => "broker",
            Role::Client { .. } => "producer",
        }
    }
}

impl Layout {
    pub fn brokers_per_group(&self) -> u32 {
        1 + self.slaves_per_group
    }

    pub fn brokers(&self) -> u32 {
        self.broker_groups.len() as u32 * self.brokers_per_group()
    }

    /// Client processes: one per producer, then one per consumer.
    pub fn clients(&self) -> u32 {
        self.producer_clients() + self.consumer_groups.iter().map(|(_, count)| count).sum::<u32>()
    }

    /// Client processes hosting a producer: the first ones.
    pub fn producer_clients(&self) -> u32 {
        self.producer_groups.iter().map(|(_, count)| count).sum()
    }

    /// The role's name in outputs: a client hosts a producer or a consumer.
    pub fn role_name(&self, node: NodeIdx) -> &'static str {
        match self.role(node) {
            Role::Client { index } if index >= self.producer_clients() => "consumer",
            role => role.name(),
        }
    }

    pub fn nodes(&self) -> u32 {
        self.nameservers + self.brokers() + self.clients()
    }

    pub fn first_broker(&self) -> NodeIdx {
        self.nameservers
    }

    pub fn first_client(&self) -> NodeIdx {
        self.nameservers + self.brokers()
    }

    /// The node of NameServer `index` (its place in every `namesrvAddr` list).
    pub fn nameserver_node(&self, index: u32) -> NodeIdx {
        assert!(index < self.nameservers);
        index
    }

    /// The place in `namesrvAddr` of the NameServer at `node`, if one runs there.
    pub fn nameserver_index(&self, node: NodeIdx) -> Option<u32> {
        (node < self.nameservers).then_some(node)
    }

    /// The node of the broker at address `addr`.
    pub fn broker_node(&self, addr: u32) -> NodeIdx {
        assert!(addr < self.brokers());
        self.first_broker() + addr
    }

    /// The address of the broker at `node`, if a broker runs there.
    pub fn broker_addr(&self, node: NodeIdx) -> Option<u32> {
        (self.first_broker()..self.first_client()).contains(&node).then(|| node - self.first_broker())
    }

    pub fn role(&self, node: NodeIdx) -> Role {
        assert!(node < self.nodes());
        if node < self.nameservers {
            Role::NameServer { index: node }
        } else if node < self.first_client() {
            Role::Broker { index: node - self.first_broker() }
        } else {
            Role::Client { index: node - self.first_client() }
        }
    }

    /// (group, member id) of broker `index`; member 0 is the master.
    pub fn broker_position(&self, index: u32) -> (u16, u8) {
        let per_group = self.brokers_per_group();
        ((index / per_group) as u16, (index % per_group) as u8)
    }

    /// The broker id member `member` of a group registers under as a slave: its place, and
    /// for the layout's master (member 0, once it rejoins as a slave) one past the last place.
    pub fn slave_id(&self, member: u8) -> u8 {
        if member == 0 { self.brokers_per_group() as u8 } else { member }
    }

    pub fn node_name(&self, node: NodeIdx) -> String {
        match self.role(node) {
            Role::NameServer { index } => format!("ns-{index}"),
            Role::Broker { index } => {
                let (group, member) = self.broker_position(index);
                let group_name = &self.broker_groups[usize::from(group)];
                if member == 0 { group_name.clone() } else { format!("{group_name}-s{member}") }
            }
            Role::Client { mut index } => {
                for (prefix, count) in &self.producer_groups {
                    if index < *count {
                        return format!("{prefix}-{index}");
                    }
                    index -= count;
                }
                // Consumer ids sort as strings in RocketMQ (`ip@instance`): zero-padded, the
                // string order of the names is their place order.
                for (prefix, count) in &self.consumer_groups {
                    if index < *count {
                        let width = (count - 1).max(1).to_string().len();
                        return format!("{prefix}-{index:0width$}");
                    }
                    index -= count;
                }
                unreachable!("role() checked the index")
            }
        }
    }

    /// Every node's name, in node order.
    pub fn node_names(&self) -> Vec<String> {
        (0..self.nodes()).map(|node| self.node_name(node)).collect()
    }
}

/// Default broker group names: `broker-a` … `broker-z`, then zero-padded numbers so that
/// name order is index order (RocketMQ sorts a route's queues by broker name).
pub fn default_group_names(groups: u32) -> Vec<String> {
    if groups <= 26 {
        (0..groups).map(|g| format!("broker-{}", char::from(b'a' + g as u8))).collect()
    } else {
        let width = groups.to_string().len();
        (0..groups).map(|g| format!("broker-{g:0width$}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_roles() {
        let layout = Layout {
            nameservers: 2,
            broker_groups: default_group_names(2),
            slaves_per_group: 1,
            producer_groups: vec![("p".into(), 2), ("q".into(), 1)],
            consumer_groups: vec![],
        };
        assert_eq!(
            layout.node_names(),
            ["ns-0", "ns-1", "broker-a", "broker-a-s1", "broker-b", "broker-b-s1", "p-0", "p-1", "q-0"]
        );
        assert_eq!(layout.broker_position(3), (1, 1));
        assert_eq!(layout.role(8), Role::Client { index: 2 });
        assert_eq!(layout.broker_addr(3), Some(1));
        assert_eq!(layout.broker_node(1), 3);
        assert_eq!(layout.broker_addr(6), None);
    }
}
