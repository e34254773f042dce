//! The RocketMQ routing model: NameServers, brokers and producers over the simulated network.
//!
//! `World` holds all simulated state and handles one `Event` at a time; every trigger is a
//! variant of `Event` or `Timer`, handled in one `match` in `World::handle`. The role files
//! (`nameserver.rs`, `broker.rs`, `producer.rs`) add `impl World` blocks for their handlers.
//! Nothing here touches files or the terminal.
//!
//! Invariants:
//! - a timer of a process incarnation that has ended is ignored (epoch check);
//! - a paused process handles nothing: its deliveries and timers wait in its backlog and run
//!   at resume (deliveries first, in a seeded order for NameServers, then timers);
//! - a removed broker is in no route a NameServer answers with.

pub mod allocate;
pub mod broker;
pub mod config;
pub mod fault;
pub mod nameserver;
pub mod producer;
pub mod route;
pub mod timing;
pub mod trace;

use rand::Rng;
use rand::seq::SliceRandom;

use crate::engine::{RngStream, Sim, SimTime, stream_rng};
use crate::metrics::{Metrics, NodeState, RunInfo};
use crate::net::{ChanId, End, Host, LatencySampler, Net, NodeIdx, Transit};
use crate::report::RunReport;

use broker::Broker;
use config::{Role, WorldConfig};
use nameserver::NameServer;
use producer::Producer;
use route::{RouteId, RouteStore};
use trace::{TraceKind, TraceRecord, Tracer};

/// What travels on a channel. Request ids let a caller match answers and ignore late ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Msg {
    Register {
        req: u32,
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
    RouteQuery {
        req: u32,
    },
    /// `route` = `NO_ROUTE` for TOPIC_NOT_EXIST.
    RouteReply {
        req: u32,
        route: RouteId,
    },
    Send {
        slot: u32,
        attempt: u32,
    },
    SendAck {
        slot: u32,
        attempt: u32,
    },
    /// The other end closed the channel: a FIN, or (`reset`) an RST from a host whose socket
    /// is gone, which every RocketMQ version treats as an error that fails pending requests.
    Close {
        reset: bool,
    },
}

/// Timers belong to one incarnation of one process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    RegisterRound,
    RegisterTimeout { ns: u32, req: u32 },
    UnregisterTimeout { ns: u32, req: u32 },
    Scan,
    IdleCheck { chan: ChanId },
    RoutePoll,
    RouteQueryFailed { req: u32 },
    RouteConnectTimedOut { req: u32 },
    SendArrival,
    AttemptFailed { slot: u32, attempt: u32 },
    SendDeadline,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Start { node: NodeIdx },
    Timer { node: NodeIdx, epoch: u32, timer: Timer },
    Deliver { chan: ChanId, to: End, msg: Msg },
    Fault { index: u32 },
}

/// The run-time state of one process, whatever its role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Life {
    NotStarted,
    Running,
    Paused,
    /// Crashed or shut down: waits for a restart.
    Stopped,
}

pub struct Proc {
    pub life: Life,
    /// Bumped at every start: timers of an earlier incarnation are ignored.
    pub epoch: u32,
    pub rng: RngStream,
    backlog: Vec<Event>,
}

/// Stream ids: (role, purpose, index) so an entity's draws depend only on itself.
fn stream_id(role: Role, purpose: u64) -> u64 {
    let (role_tag, index) = match role {
        Role::NameServer { index } => (1, index),
        Role::Broker { index } => (2, index),
        Role::Producer { index } => (3, index),
    };
    (role_tag << 48) | (purpose << 40) | u64::from(index)
}
const PURPOSE_BEHAVIOUR: u64 = 1;
const PURPOSE_START: u64 = 2;
/// Network streams take `PURPOSE_NETWORK + link class` (three purposes).
const PURPOSE_NETWORK: u64 = 3;

pub struct World {
    pub config: WorldConfig,
    pub sim: Sim<Event>,
    pub net: Net,
    pub procs: Vec<Proc>,
    pub nameservers: Vec<NameServer>,
    pub brokers: Vec<Broker>,
    pub producers: Vec<Producer>,
    pub routes: RouteStore,
    pub metrics: Metrics,
    service_time: LatencySampler,
    /// Per channel: an idle check is scheduled at its server end.
    idle_armed: Vec<bool>,
    tracer: Option<Tracer>,
}

impl World {
    pub fn new(config: WorldConfig) -> World {
        let layout = &config.layout;
        let roles: Vec<Role> = (0..layout.nodes()).map(|n| layout.role(n)).collect();
        let net_rngs = roles
            .iter()
            .map(|&r| {
                std::array::from_fn(|class| stream_rng(config.seed, stream_id(r, PURPOSE_NETWORK + class as u64)))
            })
            .collect();
        let mut net = Net::new(&config.net, net_rngs);
        let mut sim = Sim::new();
        let procs = roles
            .iter()
            .enumerate()
            .map(|(node, &role)| {
                // Before its start, a host is up but nothing listens: connects are refused.
                net.set_host(node as NodeIdx, Host::ProcessDead);
                let (offset_us, window_us) = match role {
                    Role::NameServer { .. } => (0, config.timing.nameserver_start_window_us),
                    Role::Broker { .. } => (0, config.timing.start_window_us),
                    // Clients deploy once the brokers are up: the window after the brokers'.
                    Role::Producer { .. } => (
                        config.timing.start_window_us + config.start_after_us(node as NodeIdx),
                        config.timing.start_window_us,
                    ),
                };
                let start_us =
                    offset_us + stream_rng(config.seed, stream_id(role, PURPOSE_START)).gen_range(0..=window_us);
                sim.schedule_at(start_us, Event::Start { node: node as NodeIdx });
                Proc {
                    life: Life::NotStarted,
                    epoch: 0,
                    rng: stream_rng(config.seed, stream_id(role, PURPOSE_BEHAVIOUR)),
                    backlog: Vec::new(),
                }
            })
            .collect();
        for (index, fault) in config.faults.iter().enumerate() {
            sim.schedule_at(fault.at_us, Event::Fault { index: index as u32 });
        }
        let nameservers = (0..layout.nameservers).map(|i| NameServer::new(i, &config)).collect();
        let brokers = (0..layout.brokers()).map(|i| Broker::new(i, &config)).collect();
        let producers = producer::build_all(&config);
        let metrics = Metrics::new(layout, config.faults.len(), config.duration_us);
        let service_time = LatencySampler::new(&config.broker_service_time);
        World {
            config,
            sim,
            net,
            procs,
            nameservers,
            brokers,
            producers,
            routes: RouteStore::default(),
            metrics,
            service_time,
            idle_armed: Vec::new(),
            tracer: None,
        }
    }

    /// Sends every record the filter accepts to the tracer's sink.
    pub fn with_tracer(mut self, tracer: Tracer) -> World {
        self.tracer = Some(tracer);
        self
    }

    #[inline]
    pub fn trace(&mut self, kind: TraceKind, node: NodeIdx, peer: Option<NodeIdx>, detail: &'static str) {
        if self.tracer.is_some() {
            let at_us = self.sim.now();
            self.emit(TraceRecord { at_us, kind, node: Some(node), peer, detail, fault: None });
        }
    }

    pub(crate) fn emit(&mut self, record: TraceRecord) {
        if let Some(tracer) = &mut self.tracer
            && tracer.filter.accepts(&record)
        {
            tracer.sink.record(&record);
        }
    }

    /// Runs to the end of the scenario and reports.
    pub fn run(mut self) -> RunReport {
        let end_us = self.config.duration_us;
        while let Some(event) = self.sim.next_until(end_us) {
            self.handle(event);
        }
        self.sim.finish_at(end_us);
        self.report()
    }

    fn report(self) -> RunReport {
        let windows: Vec<_> =
            self.config.faults.iter().map(|f| fault::detection_window_us(f, &self.config.timing)).collect();
        let info = RunInfo {
            scenario: &self.config.name,
            seed: self.config.seed,
            preset: self.config.timing.preset.name(),
            layout: &self.config.layout,
            faults: &self.config.faults,
            detection_windows: &windows,
            end_us: self.sim.now(),
            events: self.sim.events_processed(),
            messages: self.net.messages_sent,
            messages_lost: self.net.messages_lost,
        };
        self.metrics.report(info)
    }

    pub fn now(&self) -> SimTime {
        self.sim.now()
    }

    pub fn handle(&mut self, event: Event) {
        match event {
            Event::Start { node } => self.start(node),
            Event::Fault { index } => self.apply_fault(index as usize),
            Event::Timer { node, epoch, timer } => {
                let proc = &mut self.procs[node as usize];
                if proc.epoch != epoch || proc.life == Life::Stopped {
                    return;
                }
                if proc.life == Life::Paused {
                    proc.backlog.push(event);
                    return;
                }
                assert_eq!(proc.life, Life::Running);
                self.on_timer(node, timer);
            }
            Event::Deliver { chan, to, msg } => {
                let node = self.net.channel(chan).node(to);
                if self.procs[node as usize].life == Life::Paused {
                    self.procs[node as usize].backlog.push(event);
                    return;
                }
                if !self.net.channel(chan).is_open(to) {
                    // Data for a socket that no longer exists: the host's OS answers with an
                    // RST (a rebooted host, or a dead process's host).
                    if !matches!(msg, Msg::Close { .. })
                        && let Some(Transit::Arrives(at_us)) = self.net.reset(self.sim.now(), chan, to)
                    {
                        let msg = Msg::Close { reset: true };
                        self.sim.schedule_at(at_us, Event::Deliver { chan, to: to.other(), msg });
                    }
                    return;
                }
                if matches!(msg, Msg::Close { .. }) {
                    self.net.close_silently(chan, to);
                }
                self.on_deliver(node, chan, to, msg);
            }
        }
    }

    fn on_timer(&mut self, node: NodeIdx, timer: Timer) {
        match self.config.layout.role(node) {
            Role::NameServer { index } => self.ns_timer(index, timer),
            Role::Broker { index } => self.broker_timer(index, timer),
            Role::Producer { index } => self.producer_timer(index, timer),
        }
    }

    fn on_deliver(&mut self, node: NodeIdx, chan: ChanId, to: End, msg: Msg) {
        match self.config.layout.role(node) {
            Role::NameServer { index } => self.ns_deliver(index, chan, msg),
            Role::Broker { index } => self.broker_deliver(index, chan, to, msg),
            Role::Producer { index } => self.producer_deliver(index, chan, msg),
        }
    }

    /// A process starts (first boot or restart): a fresh incarnation with empty memory.
    fn start(&mut self, node: NodeIdx) {
        let proc = &mut self.procs[node as usize];
        if matches!(proc.life, Life::Running | Life::Paused) {
            return;
        }
        proc.life = Life::Running;
        proc.epoch += 1;
        proc.backlog.clear();
        self.net.set_host(node, Host::Up);
        self.refresh_node_state(node);
        self.trace(TraceKind::Process, node, None, "started");
        match self.config.layout.role(node) {
            Role::NameServer { index } => self.ns_start(index),
            Role::Broker { index } => {
                self.broker_start(index);
                // A restart (scheduled by a fault, run now) may end that fault.
                self.refresh_broker_service();
            }
            Role::Producer { index } => self.producer_start(index),
        }
    }

    pub fn schedule_timer_at(&mut self, node: NodeIdx, at_us: SimTime, timer: Timer) {
        let epoch = self.procs[node as usize].epoch;
        self.sim.schedule_at(at_us, Event::Timer { node, epoch, timer });
    }

    pub fn schedule_timer_in(&mut self, node: NodeIdx, delay_us: SimTime, timer: Timer) {
        self.schedule_timer_at(node, self.now() + delay_us, timer);
    }

    /// Sends `msg` on `chan` towards `to`, `delay_us` from now (a server's service time).
    pub fn transmit(&mut self, chan: ChanId, to: End, msg: Msg, delay_us: SimTime) {
        let now_us = self.now() + delay_us;
        if let Transit::Arrives(at_us) = self.net.transmit(now_us, chan, to) {
            self.sim.schedule_at(at_us, Event::Deliver { chan, to, msg });
        }
    }

    /// Closes `chan` at end `at`; the other end learns of it when the signal arrives.
    pub fn close_channel(&mut self, chan: ChanId, at: End) {
        if let Some(Transit::Arrives(at_us)) = self.net.close(self.now(), chan, at) {
            self.sim.schedule_at(at_us, Event::Deliver { chan, to: at.other(), msg: Msg::Close { reset: false } });
        }
    }

    /// Arms the idle close of a server's end of `chan` (`serverChannelMaxIdleTimeSeconds`).
    pub fn arm_idle_check(&mut self, server: NodeIdx, chan: ChanId, idle_us: SimTime) {
        if idle_us == 0 {
            return;
        }
        let i = chan as usize;
        if self.idle_armed.len() <= i {
            self.idle_armed.resize(i + 1, false);
        }
        if !self.idle_armed[i] {
            self.idle_armed[i] = true;
            let at_us = self.net.channel(chan).server_activity_us + idle_us;
            self.schedule_timer_at(server, at_us.max(self.now()), Timer::IdleCheck { chan });
        }
    }

    /// Handles an idle check; returns true when it closed the channel for idleness.
    pub fn idle_check(&mut self, server: NodeIdx, chan: ChanId, idle_us: SimTime) -> bool {
        self.idle_armed[chan as usize] = false;
        if !self.net.channel(chan).is_open(End::Server) {
            return false;
        }
        let deadline_us = self.net.channel(chan).server_activity_us + idle_us;
        if self.now() < deadline_us {
            self.arm_idle_check(server, chan, idle_us);
            return false;
        }
        self.close_channel(chan, End::Server);
        true
    }

    /// Pause: the process stops handling anything; its kernel still buffers.
    pub fn pause(&mut self, node: NodeIdx) {
        let proc = &mut self.procs[node as usize];
        if proc.life != Life::Running {
            return;
        }
        proc.life = Life::Paused;
        self.net.set_host(node, Host::Paused);
        self.refresh_node_state(node);
        self.trace(TraceKind::Process, node, None, "paused");
    }

    /// Resume: the backlog runs now. Requests first, in a seeded order for NameServers (their
    /// executor threads race); then the close signals, as each channel's close is handled after
    /// the data read before it; then the overdue timers. This gives MODEL.md 2a's observed
    /// rule: the broker is dropped if the last registration processed came over a closed
    /// channel, and never dropped and re-added within milliseconds.
    pub fn resume(&mut self, node: NodeIdx) {
        let proc = &mut self.procs[node as usize];
        if proc.life != Life::Paused {
            return;
        }
        proc.life = Life::Running;
        self.net.set_host(node, Host::Up);
        let backlog = std::mem::take(&mut proc.backlog);
        let (mut requests, rest): (Vec<Event>, Vec<Event>) = backlog
            .into_iter()
            .partition(|e| matches!(e, Event::Deliver { msg, .. } if !matches!(msg, Msg::Close { .. })));
        let (closes, timers): (Vec<Event>, Vec<Event>) =
            rest.into_iter().partition(|e| matches!(e, Event::Deliver { .. }));
        if matches!(self.config.layout.role(node), Role::NameServer { .. }) {
            requests.shuffle(&mut proc.rng);
        }
        self.refresh_node_state(node);
        self.trace(TraceKind::Process, node, None, "resumed");
        for event in requests.into_iter().chain(closes).chain(timers) {
            self.handle(event);
        }
    }

    /// Stops a process. `kill`: its OS closes every connection (peers hear one network delay
    /// later) and refuses new ones; otherwise (power-off) nothing is said to anyone.
    pub fn stop(&mut self, node: NodeIdx, kill: bool) {
        let proc = &mut self.procs[node as usize];
        if matches!(proc.life, Life::Stopped | Life::NotStarted) {
            return;
        }
        proc.life = Life::Stopped;
        proc.backlog.clear();
        for (chan, end) in self.net.open_channels(node) {
            if kill {
                self.close_channel(chan, end);
            } else {
                self.net.close_silently(chan, end);
            }
        }
        self.net.set_host(node, if kill { Host::ProcessDead } else { Host::PoweredOff });
        self.refresh_node_state(node);
        self.trace(TraceKind::Process, node, None, if kill { "stopped" } else { "powered-off" });
        if let Role::NameServer { index } = self.config.layout.role(node) {
            self.ns_stopped(index);
        }
    }

    /// Running, not paused and not shutting down: a removal of such a broker is false.
    pub fn serving(&self, node: NodeIdx) -> bool {
        let shutting_down = match self.config.layout.role(node) {
            Role::Broker { index } => self.brokers[index as usize].shutting_down(),
            _ => false,
        };
        self.procs[node as usize].life == Life::Running && !shutting_down
    }

    pub fn refresh_node_state(&mut self, node: NodeIdx) {
        let state = match self.procs[node as usize].life {
            Life::NotStarted | Life::Stopped => NodeState::Down,
            Life::Paused => NodeState::Paused,
            Life::Running if self.net.partitioned(node) => NodeState::Partitioned,
            Life::Running => NodeState::Up,
        };
        let now_us = self.now();
        self.metrics.node_state(now_us, node, state);
    }

    pub fn rng(&mut self, node: NodeIdx) -> &mut RngStream {
        &mut self.procs[node as usize].rng
    }
}
