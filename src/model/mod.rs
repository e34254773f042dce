//! The RocketMQ routing model: NameServers, brokers and client processes over the simulated
//! network.
//!
//! Each RocketMQ role is a component that owns its state and acts only through its context
//! (`Ctx`, context.rs): `nameserver.rs`, `broker.rs`, and per client process `client.rs` (the
//! client instance: route cache and NameServer polling) with the application role it hosts
//! (`producer.rs`). Roles talk to each other only by messages (`message.rs`). `World` owns the
//! shared machinery (clock and queue, network, processes and their incarnations, random
//! streams, interned routes, the observer) and routes every event to the role it is for: every
//! trigger is a variant of `Event` or `Timer`, handled in one `match` in `World::handle`. The
//! model tells the metrics what happens through typed observations (`observe.rs`) and reads
//! nothing back. Nothing here touches files or the terminal.
//!
//! Invariants (checked where noted; `invariants.rs` at the end of every run):
//! - a timer of a process incarnation that has ended is ignored (epoch check);
//! - a paused process handles nothing: its deliveries and timers wait in its backlog and run
//!   at resume (deliveries first, in a seeded order for NameServers, then timers);
//! - a removed broker is in no route a NameServer answers with (end of run);
//! - every message sent is delivered, dropped, or still in flight (end of run).

pub mod allocate;
pub mod broker;
pub mod client;
pub mod config;
pub mod consumer;
pub mod context;
pub mod controller;
mod deadline_queue;
pub mod failover;
pub mod fault;
mod group_table;
mod invariants;
pub mod message;
pub mod nameserver;
pub mod observe;
pub mod producer;
pub mod route;
pub mod split;
pub mod store;
pub mod timing;
pub mod trace;

use rand::Rng;
use rand::seq::SliceRandom;

use crate::engine::{RngStream, Sim, SimTime, prefetch, stream_rng};
use crate::metrics::{Metrics, RunInfo};
use crate::net::{ChanId, ChanSlot, End, Host, LinkClass, Net, NodeIdx, NodeStreams, Transit};
use crate::report::RunReport;

use broker::Broker;
use client::ClientInstance;
use config::{CrashMode, Failover, Role, WorldConfig};
use consumer::Consumer;
use context::{Ctx, Shared};
use controller::Controller;
use nameserver::NameServer;
use observe::{NodeState, Observation};
use producer::Producer;
use route::RouteStore;
use trace::{TraceKind, TraceRecord, Tracer};

pub use message::{Msg, Timer};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Start {
        node: NodeIdx,
    },
    Timer {
        node: NodeIdx,
        epoch: u32,
        timer: Timer,
    },
    /// A message or close signal reaching end `to` of the channel in `slot`.
    Deliver {
        slot: ChanSlot,
        to: End,
        msg: Msg,
    },
    Fault {
        index: u32,
    },
}

impl Event {
    /// A message (not a close signal) arriving: what the network counts as sent.
    fn is_data(&self) -> bool {
        matches!(self, Event::Deliver { msg, .. } if !matches!(msg, Msg::Close { .. }))
    }
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

/// One process: its life, its incarnation, its own random stream and, while paused, what
/// waits for it.
pub struct Proc {
    pub life: Life,
    /// Bumped at every start: timers of an earlier incarnation are ignored.
    pub epoch: u32,
    pub rng: RngStream,
    backlog: Vec<Event>,
}

/// A client process: its client instance and the application role it hosts, which shares
/// the instance's routes (as producers and consumers share an `MQClientInstance`).
pub struct ClientProc {
    instance: ClientInstance,
    app: App,
}

/// The application role of a client process. A producer is larger (its send slots are inline:
/// boxed, they would cost a cache miss per send) and most clients are producers, so the
/// consumers' unused bytes are the cheaper side.
#[allow(clippy::large_enum_variant)]
enum App {
    Producer(Producer),
    Consumer(Consumer),
}

impl ClientProc {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.instance.on_start(ctx);
        match &mut self.app {
            App::Producer(p) => p.on_start(ctx),
            App::Consumer(c) => c.on_start(ctx, &mut self.instance),
        }
    }

    /// See `Producer::prefetch`.
    #[inline]
    fn prefetch(&self, routes: &RouteStore) -> Option<ChanSlot> {
        match &self.app {
            App::Producer(p) => p.prefetch(routes),
            App::Consumer(_) => None,
        }
    }

    /// See `Producer::prefetch_group`.
    #[inline]
    fn prefetch_group(&self, group: u16) {
        if let App::Producer(p) = &self.app {
            p.prefetch_group(group);
        }
    }

    fn on_pause(&mut self, ctx: &mut Ctx) {
        if let App::Producer(p) = &mut self.app {
            p.on_pause(ctx);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: Timer) {
        match (&mut self.app, timer) {
            (_, Timer::Client(t)) => {
                let news = self.instance.on_timer(ctx, t);
                self.route_news(ctx, news);
            }
            (App::Producer(p), Timer::Producer(t)) => p.on_timer(ctx, &mut self.instance, t),
            (App::Consumer(c), Timer::Consumer(t)) => c.on_timer(ctx, &mut self.instance, t),
            (_, other) => unreachable!("client process timer {other:?}"),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx, chan: ChanId, msg: Msg) {
        let for_instance = match msg {
            Msg::RouteReply { .. } | Msg::RoutePush { .. } => true,
            Msg::Close { .. } => self.instance.owns(chan),
            _ => false,
        };
        if for_instance {
            let news = self.instance.on_message(ctx, msg);
            self.route_news(ctx, news);
        } else {
            match &mut self.app {
                App::Producer(p) => p.on_message(ctx, &mut self.instance, chan, msg),
                App::Consumer(c) => c.on_message(ctx, &mut self.instance, chan, msg),
            }
        }
    }

    fn route_news(&mut self, ctx: &mut Ctx, news: client::RouteNews) {
        match &mut self.app {
            App::Producer(p) => p.on_route_news(ctx, &mut self.instance, news),
            App::Consumer(c) => c.on_route_news(ctx, &mut self.instance, news),
        }
    }
}

/// A role of one node, borrowed for one handler.
enum RoleMut<'a> {
    NameServer(&'a mut NameServer),
    Broker(&'a mut Broker),
    Client(&'a mut ClientProc),
}

/// Stream ids: (role, purpose, index) so an entity's draws depend only on itself.
fn stream_id(role: Role, purpose: u64) -> u64 {
    let (role_tag, index) = match role {
        Role::NameServer { index } => (1, index),
        Role::Broker { index } => (2, index),
        Role::Client { index } => (3, index),
    };
    (role_tag << 48) | (purpose << 40) | u64::from(index)
}
const PURPOSE_BEHAVIOUR: u64 = 1;
const PURPOSE_START: u64 = 2;
/// Network streams take `PURPOSE_NETWORK + link class` (three purposes).
const PURPOSE_NETWORK: u64 = 3;
/// What servers draw on a node's behalf (`Ctx::requester_rng`).
const PURPOSE_SERVED: u64 = 6;

/// How often `run_watched` reports progress: a power of two, so the test is a mask, and rare
/// enough (~1/100 s at tens of millions of events/s) to cost nothing.
pub const PROGRESS_EVERY_EVENTS: u64 = 1 << 16;

/// How many pops ahead `prefetch_ahead` looks: far enough for a line to arrive from memory
/// before its event is handled, near enough that it is still in cache then. Measured on
/// bench-large (4 min, one thread) against 8, 12, 24 and 32: 16 is as fast as any.
const PREFETCH_AHEAD: usize = 16;
/// Below this many clients (in a world) their state stays in cache and prefetching costs more
/// than it saves: `broker-power-off` (200 producers) ran 1.04x with it, while 100,000 ran 0.75x.
const PREFETCH_MIN_CLIENTS: usize = 5_000;
/// How often the network frees the slots of channels closed at both ends (`Net::reclaim`):
/// a power of two dividing `PROGRESS_EVERY_EVENTS`.
const RECLAIM_EVERY_EVENTS: u64 = 1 << 10;

pub struct World {
    config: WorldConfig,
    sim: Sim<Event>,
    net: Net,
    procs: Vec<Proc>,
    nameservers: Vec<NameServer>,
    brokers: Vec<Broker>,
    clients: Vec<ClientProc>,
    routes: RouteStore,
    metrics: Metrics,
    tracer: Option<Tracer>,
    /// Messages (not close signals) taken off the queue: the delivered side of conservation.
    data_popped: u64,
    /// The clients this world runs (all of them, but in a part of a split run: `split.rs`);
    /// the others never start.
    clients_run: std::ops::Range<u32>,
    /// Sends decided as they were sent (`Ctx::transmit`), waiting for their handler.
    decided: Vec<(SimTime, ChanId, Msg)>,
    /// The faults' times in order, then the end of the run, and how many faults have struck:
    /// a send decided as it is sent must arrive before `horizons_us[faults_applied]`.
    horizons_us: Vec<SimTime>,
    faults_applied: usize,
    /// A broker's answer to a send reads none of its state (no replication): sends may be
    /// decided as they are sent.
    sends_decided: bool,
    /// Whether `prefetch_ahead` runs: only for a fleet whose state outgrows the caches.
    prefetching: bool,
}

impl World {
    pub fn new(config: WorldConfig) -> World {
        let clients = config.layout.clients();
        World::with_clients(config, 0..clients)
    }

    /// A world that runs only the clients `clients_run` (by client index) beside the whole
    /// control plane: one part of a split run (`split.rs`). Every entity keeps its own streams,
    /// so what the parts share evolves as in the whole run.
    pub fn with_clients(config: WorldConfig, clients_run: std::ops::Range<u32>) -> World {
        let layout = &config.layout;
        let runs = |node: usize| runs_node(&clients_run, layout.role(node as NodeIdx));
        let roles: Vec<Role> = (0..layout.nodes()).map(|n| layout.role(n)).collect();
        let stream = |r: Role, purpose: u64| stream_rng(config.seed, stream_id(r, purpose));
        let net_rngs = roles
            .iter()
            .map(|&r| NodeStreams {
                broker_ns: stream(r, PURPOSE_NETWORK + LinkClass::BrokerNs as u64),
                client_ns: stream(r, PURPOSE_NETWORK + LinkClass::ClientNs as u64),
                client_broker: stream(r, PURPOSE_NETWORK + LinkClass::ClientBroker as u64),
                served: stream(r, PURPOSE_SERVED),
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
                    Role::Client { .. } => (
                        config.timing.start_window_us + config.start_after_us(node as NodeIdx),
                        config.timing.start_window_us,
                    ),
                };
                let start_us =
                    offset_us + stream_rng(config.seed, stream_id(role, PURPOSE_START)).gen_range(0..=window_us);
                if runs(node) {
                    sim.schedule_at(start_us, Event::Start { node: node as NodeIdx });
                }
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
        let (groups, topics) = (layout.broker_groups.len(), config.topics.len());
        let nameservers = (0..layout.nameservers)
            .map(|i| {
                let ns = NameServer::new(i, layout.brokers(), groups, topics);
                // Controller mode: the controller runs in the first NameServer's process.
                match config.failover.contains(&Failover::Controller) {
                    true if i == 0 => ns.with_controller(Controller::new(groups, layout.brokers_per_group())),
                    _ => ns,
                }
            })
            .collect();
        let brokers = (0..layout.brokers()).map(|addr| Broker::new(addr, &config)).collect();
        let clients = (0..layout.clients())
            .map(|client| match config.consumer_of(client) {
                Some((group, member)) => {
                    let consumers = &config.consumers[usize::from(group)];
                    ClientProc {
                        instance: ClientInstance::new(client, consumers.topic),
                        app: App::Consumer(Consumer::new(client, group, member, consumers)),
                    }
                }
                None => {
                    let group = config.producer_group_of(client);
                    let producers = &config.producers[group];
                    ClientProc {
                        instance: ClientInstance::new(client, producers.topic),
                        // Sized for the broker groups at its start (`on_start`): a client that
                        // has not started (or never starts, in a part of a split run) holds
                        // nothing per group.
                        app: App::Producer(Producer::new(client, group as u16, producers, 0)),
                    }
                }
            })
            .collect();
        let metrics = Metrics::new(&config);
        let mut horizons_us: Vec<SimTime> = config.faults.iter().map(|f| f.at_us).collect();
        horizons_us.sort_unstable();
        // What arrives at the end or later is never handled.
        horizons_us.push(config.duration_us);
        let sends_decided = !config.replication_active();
        World {
            config,
            sim,
            net,
            procs,
            nameservers,
            brokers,
            clients,
            routes: RouteStore::default(),
            metrics,
            tracer: None,
            data_popped: 0,
            prefetching: clients_run.len() >= PREFETCH_MIN_CLIENTS,
            clients_run,
            decided: Vec::new(),
            horizons_us,
            faults_applied: 0,
            sends_decided,
        }
    }

    /// Whether this world runs `node` (every NameServer and broker; its part's clients).
    pub(crate) fn runs(&self, node: NodeIdx) -> bool {
        runs_node(&self.clients_run, self.config.layout.role(node))
    }

    /// Queues every send for its broker, never deciding one as it is sent (`Ctx::transmit`):
    /// what decided sends save, to compare against (tests/decided.rs).
    pub fn queue_every_send(mut self) -> World {
        self.sends_decided = false;
        self
    }

    /// Sends every record the filter accepts to the tracer's sink.
    pub fn with_tracer(mut self, tracer: Tracer) -> World {
        self.tracer = Some(tracer);
        self
    }

    /// Runs to the end of the scenario, checks the end-of-run invariants, and reports.
    pub fn run(self) -> RunReport {
        self.run_watched(&|_, _| ())
    }

    /// `run`, calling `progress(now_us, events)` every `PROGRESS_EVERY_EVENTS` events (for a
    /// progress bar): it only observes, and nothing it returns reaches the model.
    pub fn run_watched(self, progress: &dyn Fn(SimTime, u64)) -> RunReport {
        let (config, metrics, info) = self.run_measured(progress);
        metrics.report(&config, info)
    }

    /// `run_watched` up to the report: the measurements and the run's counts, which a split
    /// run merges before it reports (split.rs).
    pub(crate) fn run_measured(mut self, progress: &dyn Fn(SimTime, u64)) -> (WorldConfig, Metrics, RunInfo) {
        let end_us = self.config.duration_us;
        while let Some(event) = self.sim.next_until(end_us) {
            if self.prefetching {
                self.prefetch_ahead();
            }
            if event.is_data() {
                self.data_popped += 1;
            }
            self.handle(&event);
            if self.sim.events_processed().is_multiple_of(RECLAIM_EVERY_EVENTS) {
                // Between two events: no handler holds a channel it is about to let go of.
                self.net.reclaim(self.sim.now());
                if self.sim.events_processed().is_multiple_of(PROGRESS_EVERY_EVENTS) {
                    progress(self.sim.now(), self.sim.events_processed());
                }
            }
        }
        self.sim.finish_at(end_us);
        let violations = self.check_invariants();
        assert!(violations.is_empty(), "end-of-run invariants violated: {}", violations.join("; "));
        let info = RunInfo {
            end_us: self.sim.now(),
            events: self.sim.events_processed(),
            messages: self.net.messages_sent,
            messages_lost: self.net.messages_lost,
        };
        (self.config, self.metrics, info)
    }

    /// Asks the CPU for the state the events a few pops ahead will read (`engine::prefetch`):
    /// in a large fleet, each client's state is cold by the time its next event comes. Two
    /// stages: a delivery's channel first, then (a few events later, its line arrived) the
    /// state of the node it names. Reads no value a handler sees; changes no outcome.
    #[inline]
    fn prefetch_ahead(&self) {
        match self.sim.peek_ahead(PREFETCH_AHEAD) {
            Some(Event::Timer { node, timer, .. }) => {
                self.prefetch_node(*node);
                if let Some(slot) = timer.channel() {
                    self.net.prefetch_channel(slot);
                }
            }
            Some(Event::Deliver { slot, .. }) => self.net.prefetch_channel(*slot),
            _ => {}
        }
        match self.sim.peek_ahead(PREFETCH_AHEAD / 2) {
            Some(Event::Deliver { slot, to, msg }) => {
                let Some(node) = self.net.hint_node(*slot, *to) else { return };
                self.prefetch_node(node);
                // A broker's close of a producer's channel: the producer looks up its group.
                if let Msg::Close { .. } = msg
                    && let Some(client) = self.hint_client(node)
                    && let Some(server) = self.net.hint_node(*slot, to.other())
                    && let Some(addr) = self.config.layout.broker_addr(server)
                {
                    client.prefetch_group(self.config.layout.broker_position(addr).0);
                }
            }
            Some(Event::Timer { node, timer, .. }) => {
                if let Some(slot) = timer.channel() {
                    // A broker's idle check: an idle close draws its delay from the stream of
                    // the channel's opener (a client, whose line is cold).
                    if let Some(opener) = self.net.hint_node(slot, End::Client) {
                        self.net.prefetch_streams(opener);
                    }
                } else if let Some(slot) = self.hint_client(*node).and_then(|c| c.prefetch(&self.routes)) {
                    self.net.prefetch_channel(slot);
                }
            }
            _ => {}
        }
    }

    /// A node's process record, stream line and (a client's) whole record: all of a client's
    /// record, since a send reads most of its lines (prefetching only its first 5 of 9 was
    /// slower, 1.16x).
    #[inline]
    fn prefetch_node(&self, node: NodeIdx) {
        if let Some(proc) = self.procs.get(node as usize) {
            prefetch(proc);
        }
        self.net.prefetch_streams(node);
        if let Some(client) = self.hint_client(node) {
            prefetch(client);
        }
    }

    /// The client process at `node`, if it is one (for prefetch hints).
    #[inline]
    fn hint_client(&self, node: NodeIdx) -> Option<&ClientProc> {
        let index = node.checked_sub(self.config.layout.first_client())?;
        self.clients.get(index as usize)
    }

    /// Takes the event by reference: by value, the popped event was copied through the stack
    /// in pieces the loads that followed could not forward from (half the loop's time).
    pub fn handle(&mut self, event: &Event) {
        match *event {
            Event::Start { node } => self.start(node),
            Event::Fault { index } => self.apply_fault(index as usize),
            Event::Timer { node, epoch, timer } => {
                let proc = &mut self.procs[node as usize];
                if proc.epoch != epoch || proc.life == Life::Stopped {
                    return;
                }
                if proc.life == Life::Paused {
                    proc.backlog.push(*event);
                    return;
                }
                assert_eq!(proc.life, Life::Running, "only a running process handles timers");
                self.dispatch(node, |role, ctx| match (role, timer) {
                    (RoleMut::NameServer(ns), Timer::NameServer(t)) => ns.on_timer(ctx, t),
                    (RoleMut::Broker(b), Timer::Broker(t)) => b.on_timer(ctx, t),
                    (RoleMut::Client(c), t) => c.on_timer(ctx, t),
                    (_, t) => unreachable!("timer {t:?} for another role"),
                });
            }
            Event::Deliver { slot, to, msg } => {
                let chan = self.net.chan_at(slot);
                let node = self.net.channel(chan).node(to);
                if self.procs[node as usize].life == Life::Paused {
                    self.procs[node as usize].backlog.push(*event);
                    return;
                }
                if !self.net.channel(chan).is_open(to) {
                    // Data for a socket that no longer exists: the host's OS answers with an
                    // RST (a rebooted host, or a dead process's host).
                    if !matches!(msg, Msg::Close { .. })
                        && let Some(Transit::Arrives(at_us)) = self.net.reset(self.sim.now(), chan, to)
                    {
                        let msg = Msg::Close { reset: true };
                        self.sim.schedule_at(at_us, Event::Deliver { slot, to: to.other(), msg });
                    }
                    return;
                }
                if matches!(msg, Msg::Close { .. }) {
                    self.net.close_silently(chan, to);
                }
                self.dispatch(node, |role, ctx| match role {
                    RoleMut::NameServer(ns) => ns.on_message(ctx, chan, msg),
                    RoleMut::Broker(b) => b.on_message(ctx, chan, to, msg),
                    RoleMut::Client(c) => c.on_message(ctx, chan, msg),
                });
            }
        }
    }

    /// Runs `f` on `node`'s role with a context for that process.
    fn dispatch<R>(&mut self, node: NodeIdx, f: impl FnOnce(RoleMut<'_>, &mut Ctx<'_>) -> R) -> R {
        let (role, mut ctx) = self.role_and_context(node, None);
        let result = f(role, &mut ctx);
        if !self.decided.is_empty() {
            self.handle_decided();
        }
        result
    }

    /// `node`'s role and a context for it, at the clock's time or (a decided send's handling)
    /// at `at_us`. Inlined: on the hot path, the context is then built where it is used
    /// rather than copied out (a `memcpy` per event otherwise).
    #[inline(always)]
    fn role_and_context(&mut self, node: NodeIdx, at_us: Option<SimTime>) -> (RoleMut<'_>, Ctx<'_>) {
        let horizon_us = self.horizons_us[self.faults_applied];
        let World {
            config,
            sim,
            net,
            procs,
            nameservers,
            brokers,
            clients,
            routes,
            metrics,
            tracer,
            decided,
            sends_decided,
            ..
        } = self;
        let role = match config.layout.role(node) {
            Role::NameServer { index } => RoleMut::NameServer(&mut nameservers[index as usize]),
            Role::Broker { index } => RoleMut::Broker(&mut brokers[index as usize]),
            Role::Client { index } => RoleMut::Client(&mut clients[index as usize]),
        };
        let shared = Shared {
            config,
            sim,
            net,
            routes,
            observer: metrics,
            tracer,
            decided,
            horizon_us,
            // A decided send's answer is never itself decided (it goes to a client).
            sends_decided: *sends_decided && at_us.is_none(),
        };
        let proc = &mut procs[node as usize];
        let ctx = match at_us {
            None => Ctx::new(node, proc, shared),
            Some(at_us) => Ctx::at(node, at_us, proc, shared),
        };
        (role, ctx)
    }

    /// Handles the sends decided by the handler that just ran, in the order sent, each by its
    /// broker as of its arrival (`Ctx::transmit` says why that is the same outcome).
    fn handle_decided(&mut self) {
        // Taken and put back, so its allocation serves every handler's decided sends.
        let mut decided = std::mem::take(&mut self.decided);
        for (at_us, chan, msg) in decided.drain(..) {
            self.data_popped += 1;
            let node = self.net.channel(chan).server;
            let (RoleMut::Broker(broker), mut ctx) = self.role_and_context(node, Some(at_us)) else {
                unreachable!("only sends to brokers are decided")
            };
            broker.on_message(&mut ctx, chan, End::Server, msg);
        }
        self.decided = decided;
    }

    fn observe(&mut self, observation: Observation) {
        self.metrics.observe(self.sim.now(), observation, &self.routes);
    }

    fn emit(&mut self, record: TraceRecord) {
        context::emit(&mut self.tracer, &record);
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
        self.dispatch(node, |role, ctx| {
            ctx.refresh_state();
            ctx.trace(TraceKind::Process, None, "started");
            match role {
                RoleMut::NameServer(ns) => ns.on_start(ctx),
                RoleMut::Broker(b) => b.on_start(ctx),
                RoleMut::Client(c) => c.on_start(ctx),
            }
        });
    }

    /// Pause: the process stops handling anything; its kernel still buffers.
    fn pause(&mut self, node: NodeIdx) {
        let proc = &mut self.procs[node as usize];
        if proc.life != Life::Running {
            return;
        }
        proc.life = Life::Paused;
        self.net.set_host(node, Host::Paused);
        self.dispatch(node, |role, ctx| {
            ctx.refresh_state();
            ctx.trace(TraceKind::Process, None, "paused");
            if let RoleMut::Client(c) = role {
                c.on_pause(ctx);
            }
        });
    }

    /// Resume: the backlog runs now. Requests first, in a seeded order for NameServers (their
    /// executor threads race); then the close signals, as each channel's close is handled after
    /// the data read before it; then the overdue timers. This gives MODEL.md 2a's observed
    /// rule: the broker is dropped if the last registration processed came over a closed
    /// channel, and never dropped and re-added within milliseconds.
    fn resume(&mut self, node: NodeIdx) {
        let proc = &mut self.procs[node as usize];
        if proc.life != Life::Paused {
            return;
        }
        proc.life = Life::Running;
        self.net.set_host(node, Host::Up);
        let backlog = std::mem::take(&mut proc.backlog);
        let (mut requests, rest): (Vec<Event>, Vec<Event>) = backlog.into_iter().partition(Event::is_data);
        let (closes, timers): (Vec<Event>, Vec<Event>) =
            rest.into_iter().partition(|e| matches!(e, Event::Deliver { .. }));
        if matches!(self.config.layout.role(node), Role::NameServer { .. }) {
            // The brokers' requests race in a seeded order; the clients' queries follow in
            // arrival order, so how many clients asked never changes how the brokers' race
            // is drawn (clients can be simulated apart: split.rs).
            let net = &self.net;
            let layout = &self.config.layout;
            let from_client = |e: &Event| match e {
                Event::Deliver { slot, .. } => {
                    matches!(layout.role(net.channel(net.chan_at(*slot)).client), Role::Client { .. })
                }
                _ => false,
            };
            let (mut brokers, clients): (Vec<Event>, Vec<Event>) = requests.into_iter().partition(|e| !from_client(e));
            brokers.shuffle(&mut proc.rng);
            requests = brokers;
            requests.extend(clients);
        }
        self.dispatch(node, |_, ctx| {
            ctx.refresh_state();
            ctx.trace(TraceKind::Process, None, "resumed");
        });
        for event in requests.into_iter().chain(closes).chain(timers) {
            self.handle(&event);
        }
    }

    /// Stops a process (see `Ctx::stop_process`); a NameServer's table dies with it.
    fn stop(&mut self, node: NodeIdx, mode: CrashMode) {
        self.dispatch(node, |role, ctx| {
            if ctx.stop_process(mode)
                && let RoleMut::NameServer(ns) = role
            {
                ns.on_stop(ctx);
            }
        });
    }

    fn refresh_all_node_states(&mut self) {
        for node in 0..self.procs.len() as NodeIdx {
            let state = node_state(self.procs[node as usize].life, self.net.partitioned(node));
            self.observe(Observation::ProcessState { node, state });
        }
    }
}

/// Whether a world running the clients `clients_run` runs a process of `role`: every
/// NameServer and broker, and its own clients.
fn runs_node(clients_run: &std::ops::Range<u32>, role: Role) -> bool {
    match role {
        Role::Client { index } => clients_run.contains(&index),
        _ => true,
    }
}

/// A process's state as the timeline shows it.
pub(crate) fn node_state(life: Life, partitioned: bool) -> NodeState {
    match life {
        Life::NotStarted | Life::Stopped => NodeState::Down,
        Life::Paused => NodeState::Paused,
        Life::Running if partitioned => NodeState::Partitioned,
        Life::Running => NodeState::Up,
    }
}
