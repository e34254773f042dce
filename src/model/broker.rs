//! The broker (MODEL.md sections 2 and 5): registers with every NameServer at start-up and
//! every `registerNameServerPeriod`, each request with its own timeout; unregisters from each
//! NameServer in turn on a graceful shutdown; a master answers sends within its service time.
//! Source: broker/.../BrokerController.java, broker/.../out/BrokerOuterAPI.java.

use crate::engine::SimTime;
use crate::net::{ChanId, Connect, End, LatencySampler, LinkClass};

use super::config::{CrashMode, WorldConfig};
use super::context::Ctx;
use super::message::{BrokerTimer, MASTER_ID, Msg, Timer};
use super::nameserver::next_on_grid;
use super::observe::Observation;
use super::route::BrokerAddr;
use super::store::Store;
use super::trace::TraceKind;

pub struct Broker {
    addr: BrokerAddr,
    /// Its group (RocketMQ's broker name) and broker id (0 = master): what it registers as.
    group: u16,
    broker_id: u8,
    /// The epoch of its role: bumped by a failover (0 in classic mode).
    epoch: u16,
    service_time: LatencySampler,
    /// Per NameServer (by its place in `namesrvAddr`): the channel in use, if one is open.
    ns_chan: Vec<Option<ChanId>>,
    /// Per NameServer: the request id of a registration waiting for its answer.
    pending_register: Vec<Option<u32>>,
    next_req: u32,
    next_round_us: SimTime,
    /// Set while shutting down gracefully: the NameServer being unregistered from.
    unregistering: Option<u32>,
    /// Messages, consumers' tables and offsets; its logs survive a restart.
    store: Store,
    /// A slave's HA channel to its master.
    ha_chan: Option<ChanId>,
}

impl Broker {
    pub fn new(addr: BrokerAddr, config: &WorldConfig) -> Broker {
        let (group, broker_id) = config.layout.broker_position(addr);
        let nameservers = config.layout.nameservers as usize;
        Broker {
            addr,
            group,
            broker_id,
            epoch: 0,
            service_time: LatencySampler::new(&config.broker_service_time),
            ns_chan: vec![None; nameservers],
            pending_register: vec![None; nameservers],
            next_req: 0,
            next_round_us: 0,
            unregistering: None,
            store: Store::new(group),
            ha_chan: None,
        }
    }

    fn take_req(&mut self) -> u32 {
        self.next_req = self.next_req.wrapping_add(1);
        self.next_req
    }

    /// The NameServer at the other end of `chan`, by its place in `namesrvAddr`.
    fn nameserver_of(ctx: &Ctx, chan: ChanId) -> usize {
        ctx.config().layout.nameserver_index(ctx.peer(chan)).expect("a broker's client channels go to NameServers")
            as usize
    }

    /// A (re)start: `registerBrokerAll` once at start-up, then at a fixed rate after the
    /// initial delay.
    pub fn on_start(&mut self, ctx: &mut Ctx) {
        let mut store = std::mem::take(&mut self.store);
        store.restart();
        *self = Broker { store, ..Broker::new(self.addr, ctx.config()) };
        self.next_round_us = ctx.now() + ctx.config().timing.broker_register_initial_delay_us;
        self.register_all(ctx);
        ctx.set_timer_at(self.next_round_us, Timer::Broker(BrokerTimer::RegisterRound));
        self.connect_master(ctx);
    }

    /// A slave's HA client connects to its group's master when someone reads slaves; a
    /// refused or silent master is tried again at the next registration round.
    fn connect_master(&mut self, ctx: &mut Ctx) {
        if self.broker_id == MASTER_ID || self.ha_chan.is_some() || !ctx.config().replication_active() {
            return;
        }
        let master_addr = self.addr - u32::from(self.broker_id);
        if let Connect::Open(chan) = ctx.connect(ctx.config().layout.broker_node(master_addr), LinkClass::ClientBroker)
        {
            self.ha_chan = Some(chan);
            ctx.transmit(chan, End::Server, Msg::ReplicaHello, 0);
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: BrokerTimer) {
        match timer {
            BrokerTimer::RegisterRound => {
                if self.unregistering.is_some() {
                    return;
                }
                let period_us = ctx.config().timing.broker_register_period_us;
                self.next_round_us = next_on_grid(self.next_round_us, period_us, ctx.now());
                ctx.set_timer_at(self.next_round_us, Timer::Broker(BrokerTimer::RegisterRound));
                self.register_all(ctx);
                self.connect_master(ctx);
            }
            BrokerTimer::HoldCheck => self.store.hold_check(ctx),
            BrokerTimer::ClientScan => self.store.client_scan(ctx),
            BrokerTimer::HaPush => self.store.push(ctx),
            BrokerTimer::RegisterTimeout { ns, req } => {
                if self.pending_register[ns as usize] == Some(req) {
                    self.pending_register[ns as usize] = None;
                    let ns_node = ctx.config().layout.nameserver_node(ns);
                    ctx.trace(TraceKind::RegisterTimeout, Some(ns_node), "closed");
                    // clientCloseSocketIfTimeout: a timed-out request closes the channel.
                    if let Some(chan) = self.ns_chan[ns as usize].take() {
                        ctx.close(chan, End::Client);
                    }
                }
            }
            BrokerTimer::UnregisterTimeout { ns, req } => {
                if self.unregistering == Some(ns) && self.next_req == req {
                    self.unregister_next(ctx, ns + 1);
                }
            }
        }
    }

    /// `registerBrokerAll`: one REGISTER_BROKER per NameServer, in parallel, each with its own
    /// timeout. A NameServer whose previous registration is still unanswered is skipped (the
    /// round waits on a latch, so rounds never overlap).
    fn register_all(&mut self, ctx: &mut Ctx) {
        let timeout_us = ctx.config().timing.broker_register_timeout_us;
        for ns in 0..self.ns_chan.len() as u32 {
            if self.pending_register[ns as usize].is_some() {
                continue;
            }
            let Some(chan) = self.channel(ctx, ns) else { continue };
            let req = self.take_req();
            self.pending_register[ns as usize] = Some(req);
            let ns_node = ctx.config().layout.nameserver_node(ns);
            ctx.trace(TraceKind::Register, Some(ns_node), "sent");
            let register = Msg::Register { req, group: self.group, broker_id: self.broker_id, epoch: self.epoch };
            ctx.transmit(chan, End::Server, register, 0);
            ctx.set_timer_in(timeout_us, Timer::Broker(BrokerTimer::RegisterTimeout { ns, req }));
        }
    }

    /// The open channel to NameServer `ns`, connecting if needed. A refused or unanswered
    /// connect fails this request only; the next round tries again.
    fn channel(&mut self, ctx: &mut Ctx, ns: u32) -> Option<ChanId> {
        if let Some(chan) = self.ns_chan[ns as usize] {
            return Some(chan);
        }
        let ns_node = ctx.config().layout.nameserver_node(ns);
        match ctx.connect(ns_node, LinkClass::BrokerNs) {
            Connect::Open(chan) => {
                self.ns_chan[ns as usize] = Some(chan);
                Some(chan)
            }
            Connect::Refused { .. } | Connect::TimedOut => None,
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx, chan: ChanId, to: End, msg: Msg) {
        if self.ha_chan == Some(chan) {
            match msg {
                Msg::Close { .. } => self.ha_chan = None,
                msg => {
                    let served = self.store.on_message(ctx, chan, msg, false, 0);
                    assert!(served, "a slave's HA channel carries only the master's push");
                }
            }
            return;
        }
        if to == End::Server && !matches!(msg, Msg::Close { .. } | Msg::Send { .. }) {
            let (master, service_us) = (self.broker_id == MASTER_ID, self.service_time.sample(ctx.rng()));
            let served = self.store.on_message(ctx, chan, msg, master, service_us);
            assert!(served, "broker got {msg:?}");
            return;
        }
        match (to, msg) {
            (End::Client, Msg::RegisterAck { req }) => {
                let ns = Self::nameserver_of(ctx, chan);
                if self.pending_register[ns] == Some(req) {
                    self.pending_register[ns] = None;
                }
            }
            (End::Client, Msg::UnregisterAck { req }) => {
                let ns = Self::nameserver_of(ctx, chan) as u32;
                if self.unregistering == Some(ns) && self.next_req == req {
                    self.unregister_next(ctx, ns + 1);
                }
            }
            (End::Client, Msg::Close { reset }) => {
                let ns = Self::nameserver_of(ctx, chan);
                // 4.x does not fail a request when the peer closes: it waits for its timeout.
                let fail_fast = reset || ctx.config().timing.fail_fast_on_peer_close;
                if self.ns_chan[ns] == Some(chan) {
                    self.ns_chan[ns] = None;
                    if fail_fast {
                        self.pending_register[ns] = None;
                    }
                }
                if fail_fast && self.unregistering == Some(ns as u32) {
                    self.unregister_next(ctx, ns as u32 + 1);
                }
            }
            (End::Server, Msg::Send { slot, attempt, queue }) => {
                assert_eq!(self.broker_id, MASTER_ID, "a slave rejects writes: producers send to masters only");
                let service_us = self.service_time.sample(ctx.rng());
                // Messages are kept (as counts) only when someone reads them.
                if ctx.config().replication_active() {
                    let topic = ctx.config().client_topic(ctx.peer(chan)).expect("sends come from clients");
                    self.store.append(ctx, self.group, (topic, queue));
                }
                ctx.transmit(chan, End::Client, Msg::SendAck { slot, attempt }, service_us);
            }
            // A client closed its channel: a consumer's entries go (and its group hears).
            (End::Server, Msg::Close { .. }) => self.store.channel_closed(ctx, chan),
            other => unreachable!("broker got {other:?}"),
        }
    }

    /// Graceful shutdown (`BrokerController.shutdown`) of a running broker: UNREGISTER_BROKER
    /// to each NameServer one after another, then the process exits and its OS closes its
    /// connections. 5.x unregisters while still serving; 4.x first shuts its remoting server
    /// (clients' channels close, new connects are refused), then unregisters.
    pub fn shutdown(&mut self, ctx: &mut Ctx) {
        if self.unregistering.is_some() {
            return;
        }
        self.unregistering = Some(0);
        ctx.observe(Observation::ShuttingDown { broker: self.addr, shutting_down: true });
        if !ctx.config().timing.unregister_before_close {
            ctx.shut_server();
        }
        self.unregister_next(ctx, 0);
    }

    fn unregister_next(&mut self, ctx: &mut Ctx, from_ns: u32) {
        for ns in from_ns..self.ns_chan.len() as u32 {
            self.unregistering = Some(ns);
            let Some(chan) = self.channel(ctx, ns) else { continue };
            let req = self.take_req();
            ctx.transmit(chan, End::Server, Msg::Unregister { req }, 0);
            let timeout_us = ctx.config().timing.broker_unregister_timeout_us;
            ctx.set_timer_in(timeout_us, Timer::Broker(BrokerTimer::UnregisterTimeout { ns, req }));
            return;
        }
        self.unregistering = None;
        ctx.observe(Observation::ShuttingDown { broker: self.addr, shutting_down: false });
        ctx.stop_process(CrashMode::Kill);
    }
}
