//! What travels between processes (`Msg`) and what a process may set for itself (`Timer`).
//!
//! A message carries what its receiver needs to act on it: a route query names its topic, a
//! registration names the broker's group (RocketMQ's broker name), its broker id and its epoch.
//! The receiver learns nothing else about the sender but the channel it came on (its peer's
//! address). Request ids let a caller match answers and ignore late ones.

use crate::net::ChanSlot;

use super::failover::Verdict;
use super::route::{BrokerAddr, RouteId};

/// RocketMQ's `MixAll.MASTER_ID`: a broker registered under id 0 is its group's master; any
/// other id is a slave. The role travels as the id, as in REGISTER_BROKER.
pub const MASTER_ID: u8 = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Msg {
    /// REGISTER_BROKER: the broker's group (broker name), its broker id (0 = master) and the
    /// epoch of its role (bumped by a failover; 0 in classic mode).
    Register {
        req: u32,
        group: u16,
        broker_id: u8,
        epoch: u16,
    },
    RegisterAck {
        req: u32,
    },
    Unregister {
        req: u32,
    },
    UnregisterAck {
        req: u32,
    },
    /// GET_ROUTEINFO_BY_TOPIC.
    RouteQuery {
        req: u32,
        topic: u16,
    },
    /// `route` = `NO_ROUTE` for TOPIC_NOT_EXIST.
    RouteReply {
        req: u32,
        route: RouteId,
    },
    /// What-if `nameserver_push`: a NameServer's unsolicited new route of `topic`.
    RoutePush {
        topic: u16,
        route: RouteId,
    },
    /// SEND_MESSAGE to queue `queue` (of the producer's topic) on the broker's group.
    Send {
        slot: u32,
        attempt: u32,
        queue: u16,
    },
    SendAck {
        slot: u32,
        attempt: u32,
    },
    /// SERVICE_NOT_AVAILABLE: the broker is not (or no longer) its group's master; the
    /// producer retries elsewhere.
    SendRejected {
        slot: u32,
        attempt: u32,
    },
    /// BROKER_HEARTBEAT (5.x, acting master): refreshes the broker's entry, oneway.
    LightHeartbeat,
    /// DLedger: the leader's heartbeat of its term (`seq` matches answers to rounds).
    DlHeartbeat {
        term: u16,
        seq: u16,
    },
    DlHeartbeatAck {
        term: u16,
        seq: u16,
        ok: bool,
    },
    /// DLedger: a candidate asks for a vote in `term`, holding `ledger_end` entries.
    Vote {
        term: u16,
        ledger_end: u32,
    },
    VoteReply {
        term: u16,
        verdict: Verdict,
    },
    /// Controller mode: a broker's heartbeat with its master epoch and log end.
    ControllerHeartbeat {
        epoch: u16,
        max_offset: u32,
    },
    /// Controller mode: the group's master is now `master`, in epoch `epoch`.
    RoleChange {
        master: BrokerAddr,
        epoch: u16,
    },
    /// HEART_BEAT of a consumer: its consumer group and its place in it (the order of its
    /// client id).
    ConsumerHeartbeat {
        group: u16,
        member: u16,
    },
    /// NOTIFY_CONSUMER_IDS_CHANGED, oneway.
    ConsumerIdsChanged {
        group: u16,
    },
    /// GET_CONSUMER_LIST_BY_GROUP.
    ConsumerList {
        req: u32,
        group: u16,
    },
    /// The group's members this broker knows, a bit per place (groups have at most 32).
    ConsumerListReply {
        req: u32,
        members: u32,
    },
    /// QUERY_CONSUMER_OFFSET of queue `queue` (of the consumer's topic) on this broker.
    QueryOffset {
        req: u32,
        queue: u16,
    },
    /// Where to start: the group's committed offset, or the queue's end when it has none
    /// (CONSUME_FROM_LAST_OFFSET).
    OffsetReply {
        req: u32,
        start: u32,
    },
    /// PULL_MESSAGE with the suspend flag (the commit it carries in RocketMQ travels as a
    /// `CommitOffset` just before it: the same channel keeps the order).
    Pull {
        req: u32,
        offset: u32,
        queue: u16,
    },
    /// `count` messages from the pull's offset; the first was stored in millisecond
    /// `first_stored_ms` of the run, the last `span_ms` later (saturated).
    PullFound {
        req: u32,
        first_stored_ms: u32,
        span_ms: u16,
        count: u8,
    },
    /// Nothing new (a parked pull that expired): pull again at once from `next`.
    PullNoNew {
        req: u32,
        next: u32,
    },
    /// PULL_OFFSET_MOVED: the offset is past the queue's end, `next`.
    PullOffsetMoved {
        req: u32,
        next: u32,
    },
    /// UPDATE_CONSUMER_OFFSET, oneway.
    CommitOffset {
        queue: u16,
        offset: u32,
    },
    /// A slave's HA connection to its master opens.
    ReplicaHello,
    /// A slave holds the queue at place `local` up to `end` (sync and DLedger groups).
    ReplicaAck {
        local: u16,
        end: u32,
    },
    /// The master's push of a queue (by its place among the group's queues, `local`) up to
    /// `end`, from where the slave is; the first message pushed was stored in millisecond
    /// `first_stored_ms`.
    Replicate {
        local: u16,
        end: u32,
        first_stored_ms: u32,
    },
    /// The other end closed the channel: a FIN, or (`reset`) an RST from a host whose socket
    /// is gone, which every RocketMQ version treats as an error that fails pending requests.
    Close {
        reset: bool,
    },
}

/// Timers belong to one incarnation of one process; each role has its own kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    NameServer(NameServerTimer),
    Broker(BrokerTimer),
    Client(ClientTimer),
    Producer(ProducerTimer),
    Consumer(ConsumerTimer),
}

impl Timer {
    /// The channel this timer is about, if any (an idle check): a prefetch hint.
    #[inline]
    pub fn channel(&self) -> Option<ChanSlot> {
        match self {
            Timer::NameServer(NameServerTimer::IdleCheck { slot }) | Timer::Broker(BrokerTimer::IdleCheck { slot }) => {
                Some(*slot)
            }
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameServerTimer {
    /// `scanNotActiveBroker`.
    Scan,
    /// The embedded controller's `scanNotActiveBroker` (controller mode).
    ControllerScan,
    /// Netty's `IdleStateHandler` on the server end of a channel.
    IdleCheck { slot: ChanSlot },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerTimer {
    /// A periodic `registerBrokerAll`.
    RegisterRound,
    RegisterTimeout {
        ns: u32,
        req: u32,
    },
    UnregisterTimeout {
        ns: u32,
        req: u32,
    },
    /// `PullRequestHoldService`'s check of parked pulls.
    HoldCheck,
    /// `ClientHousekeepingService`'s scan of the consumer table.
    ClientScan,
    /// The master's HA push after its wait.
    HaPush,
    /// The oldest send waiting for its slaves' acknowledgement may have run out of time.
    AckTimeout,
    /// `brokerHeartbeatInterval`: the light heartbeat to every NameServer (acting master).
    LightHeartbeat,
    /// `brokerHeartbeatInterval`: the heartbeat to the controller (controller mode).
    ControllerHeartbeat,
    /// The DLedger elector's state machine.
    Elector(ElectorTimer),
    /// Netty's `IdleStateHandler` on the server end of a client's channel.
    IdleCheck {
        slot: ChanSlot,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElectorTimer {
    /// A leader's heartbeat round.
    Heartbeat,
    /// A follower checks how long its leader has been silent.
    LeaderCheck,
    /// A candidate's next step (`seq` drops superseded ones).
    Maintain { seq: u16 },
    /// A vote round's latch timed out.
    RoundEnd { round: u16 },
    /// A vote request to a refused peer fails.
    VoteFailed { round: u16, member: u8 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientTimer {
    /// `updateTopicRouteInfoFromNameServer`, every `pollNameServerInterval`.
    RoutePoll,
    RouteQueryFailed {
        req: u32,
    },
    RouteConnectTimedOut {
        req: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProducerTimer {
    SendArrival,
    AttemptFailed { slot: u32, attempt: u32 },
    SendDeadline,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerTimer {
    /// `sendHeartbeatToAllBroker`, every `heartbeatBrokerInterval`.
    Heartbeat,
    /// `persistAllConsumerOffset`, every `persistConsumerOffsetInterval`.
    Persist,
    /// `RebalanceService`'s wait ended.
    Rebalance,
    ListTimedOut {
        req: u32,
    },
    /// The next pull of a queue (after a delay).
    PullNow {
        group: u16,
        queue: u16,
    },
    /// A pull or offset query had no answer in time (or could not be sent).
    RequestTimedOut {
        req: u32,
    },
    /// The consume pool finished its oldest batch (`consume_rate` > 0).
    Consumed,
}
