//! The broker (MODEL.md sections 2 and 5): registers with every NameServer at start-up and
//! every `registerNameServerPeriod`, each request with its own timeout; unregisters from each
//! NameServer in turn on a graceful shutdown; a master answers sends within its service time.
//! With a failover mode (MODEL.md 7a) it also runs its group's DLedger elector, heartbeats
//! the controller, or sends the light heartbeat, and switches role when told: a new master
//! registers under id 0 at once, a demoted one as a slave.
//! Source: broker/.../BrokerController.java, broker/.../out/BrokerOuterAPI.java,
//! broker/.../dledger/DLedgerRoleChangeHandler.java, broker/.../controller/ReplicasManager.java.

use crate::engine::SimTime;
use crate::net::{ChanId, Connect, End, LatencySampler, LinkClass};

use super::config::{CrashMode, Failover, WorldConfig};
use super::context::Ctx;
use super::controller::FIRST_EPOCH;
use super::failover::{Elector, RoleNews};
use super::message::{BrokerTimer, MASTER_ID, Msg, Timer};
use super::nameserver::next_on_grid;
use super::observe::Observation;
use super::route::BrokerAddr;
use super::store::{Store, Waiting};
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
    /// The master it copies from (itself when it is the master).
    master_addr: BrokerAddr,
    /// DLedger mode: its group's elector (its term is kept on disk across restarts).
    elector: Option<Elector>,
    /// Controller mode: its channel to the controller.
    controller_chan: Option<ChanId>,
    /// It has run before: a restart, not the run's first start.
    started: bool,
    /// False while a restarted DLedger broker waits to learn its role: it registers then.
    registering: bool,
    /// The run's brokers keep messages (`WorldConfig::replication_active`, a scan of every
    /// group's settings): asked once here, not on every send.
    keeps_messages: bool,
}

impl Broker {
    pub fn new(addr: BrokerAddr, config: &WorldConfig) -> Broker {
        let (group, broker_id) = config.layout.broker_position(addr);
        let nameservers = config.layout.nameservers as usize;
        let members = config.layout.brokers_per_group() as u8;
        let failover = config.failover_of(group);
        let elector =
            (failover == Failover::Dledger).then(|| Elector::new(broker_id, members, addr - u32::from(broker_id)));
        Broker {
            addr,
            group,
            broker_id,
            epoch: if failover == Failover::Controller { FIRST_EPOCH } else { 0 },
            service_time: LatencySampler::new(&config.broker_service_time),
            ns_chan: vec![None; nameservers],
            pending_register: vec![None; nameservers],
            next_req: 0,
            next_round_us: 0,
            unregistering: None,
            store: Store::new(group),
            ha_chan: None,
            master_addr: addr - u32::from(broker_id),
            elector,
            controller_chan: None,
            started: false,
            registering: true,
            keeps_messages: config.replication_active(),
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
        let restart = self.started;
        let before = Broker { store, ..Broker::new(self.addr, ctx.config()) };
        let previous = std::mem::replace(self, before);
        self.started = true;
        let timing = &ctx.config().timing;
        match ctx.config().failover_of(self.group) {
            Failover::Classic => {}
            Failover::SlaveActingMaster => {
                ctx.set_timer_in(timing.broker_heartbeat_interval_us, Timer::Broker(BrokerTimer::LightHeartbeat));
            }
            Failover::Controller => {
                // The role and epoch are on disk: a returning master still thinks it is one
                // until the NameServers fence it and the controller tells it otherwise.
                if restart {
                    (self.broker_id, self.epoch, self.master_addr) =
                        (previous.broker_id, previous.epoch, previous.master_addr);
                }
                ctx.set_timer_in(timing.broker_heartbeat_interval_us, Timer::Broker(BrokerTimer::ControllerHeartbeat));
            }
            Failover::Dledger => {
                let mut elector = previous.elector.expect("a DLedger broker has an elector");
                elector.ledger_end = self.store.ledger_end();
                elector.on_start(ctx, !restart);
                self.elector = Some(elector);
                if restart {
                    // DLedger brokers skip the start-up registration: the elector decides.
                    let member = self.member_place(ctx);
                    self.broker_id = ctx.config().layout.slave_id(member);
                    self.registering = false;
                }
            }
        }
        self.next_round_us = ctx.now() + ctx.config().timing.broker_register_initial_delay_us;
        self.register_all(ctx, false);
        ctx.set_timer_at(self.next_round_us, Timer::Broker(BrokerTimer::RegisterRound));
        self.connect_master(ctx);
    }

    /// Its place in its group (0 = the layout's master).
    fn member_place(&self, ctx: &Ctx) -> u8 {
        ctx.config().layout.broker_position(self.addr).1
    }

    /// A slave's HA client connects to its group's master when someone reads slaves; a
    /// refused or silent master is tried again at the next registration round.
    fn connect_master(&mut self, ctx: &mut Ctx) {
        if self.broker_id == MASTER_ID
            || self.master_addr == self.addr
            || self.ha_chan.is_some()
            || !self.keeps_messages
        {
            return;
        }
        if let Connect::Open(chan) =
            ctx.connect(ctx.config().layout.broker_node(self.master_addr), LinkClass::ClientBroker)
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
                self.register_all(ctx, false);
                self.connect_master(ctx);
            }
            BrokerTimer::LightHeartbeat => {
                for ns in 0..self.ns_chan.len() as u32 {
                    if let Some(chan) = self.channel(ctx, ns) {
                        ctx.transmit(chan, End::Server, Msg::LightHeartbeat, 0);
                    }
                }
                let interval_us = ctx.config().timing.broker_heartbeat_interval_us;
                ctx.set_timer_in(interval_us, Timer::Broker(BrokerTimer::LightHeartbeat));
            }
            BrokerTimer::ControllerHeartbeat => {
                self.heartbeat_controller(ctx);
                let interval_us = ctx.config().timing.broker_heartbeat_interval_us;
                ctx.set_timer_in(interval_us, Timer::Broker(BrokerTimer::ControllerHeartbeat));
            }
            BrokerTimer::Elector(timer) => {
                let news = self.elector_mut().on_timer(ctx, timer);
                self.role_news(ctx, news);
            }
            BrokerTimer::IdleCheck { slot } => {
                let idle_us = ctx.config().timing.broker_channel_idle_us;
                if let Some(chan) = ctx.idle_check(slot, idle_us, Timer::Broker(timer)) {
                    let peer = ctx.peer(chan);
                    ctx.trace(TraceKind::IdleClose, Some(peer), "closed");
                    // ClientHousekeepingService handles an idle close as a close.
                    self.store.channel_closed(ctx, chan);
                }
            }
            BrokerTimer::HoldCheck => self.store.hold_check(ctx),
            BrokerTimer::ClientScan => self.store.client_scan(ctx),
            BrokerTimer::HaPush => self.store.push(ctx),
            BrokerTimer::AckTimeout => self.store.ack_timeout(ctx),
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
    /// round waits on a latch, so rounds never overlap), unless a role change registers
    /// (`forced`: it runs on its own thread).
    fn register_all(&mut self, ctx: &mut Ctx, forced: bool) {
        if !self.registering {
            return;
        }
        let timeout_us = ctx.config().timing.broker_register_timeout_us;
        for ns in 0..self.ns_chan.len() as u32 {
            if self.pending_register[ns as usize].is_some() && !forced {
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
        if let Some(elector) = &mut self.elector {
            let news = match (to, msg) {
                (End::Server, Msg::Vote { .. } | Msg::DlHeartbeat { .. }) => Some(elector.on_request(ctx, chan, msg)),
                (End::Client, _) if elector.owns(chan) => Some(elector.on_reply(ctx, chan, msg)),
                _ => None,
            };
            if let Some(news) = news {
                self.role_news(ctx, news);
                return;
            }
        }
        if to == End::Client && self.controller_chan == Some(chan) {
            match msg {
                Msg::RoleChange { master, epoch } => self.role_change(ctx, master, epoch),
                Msg::Close { .. } => self.controller_chan = None,
                other => unreachable!("controller sent {other:?}"),
            }
            return;
        }
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
        if to == End::Server && is_client_request(&msg) {
            self.client_activity(ctx, chan);
        }
        if to == End::Server && !matches!(msg, Msg::Close { .. } | Msg::Send { .. }) {
            let (master, service_us) = (self.broker_id == MASTER_ID, self.service_time.sample(ctx.requester_rng(chan)));
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
                let service_us = self.service_time.sample(ctx.requester_rng(chan));
                if self.broker_id != MASTER_ID {
                    // A route older than a failover: SERVICE_NOT_AVAILABLE, the producer retries.
                    assert!(
                        ctx.config().failover_of(self.group) != Failover::Classic,
                        "classic slaves are in no write route"
                    );
                    ctx.transmit(chan, End::Client, Msg::SendRejected { slot, attempt }, service_us);
                    return;
                }
                // Messages are kept (as counts) only when someone reads or copies them.
                if self.keeps_messages {
                    let topic = ctx.config().client_topic(ctx.peer(chan)).expect("sends come from clients");
                    self.store.append(ctx, self.group, (topic, queue));
                    self.store.acknowledge(ctx, (topic, queue), Waiting::new(chan, slot, attempt), service_us);
                } else {
                    ctx.transmit(chan, End::Client, Msg::SendAck { slot, attempt }, service_us);
                }
            }
            // A client closed its channel: a consumer's entries go (and its group hears).
            (End::Server, Msg::Close { .. }) => self.store.channel_closed(ctx, chan),
            other => unreachable!("broker got {other:?}"),
        }
    }

    /// A client's request at the server end of `chan`: the remoting server's
    /// `IdleStateHandler` (`serverChannelMaxIdleTimeSeconds`) closes a channel that carries
    /// nothing for that long, so a producer that has moved on to other groups' queues does
    /// not keep a channel to every broker it ever sent to.
    fn client_activity(&mut self, ctx: &mut Ctx, chan: ChanId) {
        let idle_us = ctx.config().timing.broker_channel_idle_us;
        if idle_us != 0 {
            ctx.touch_server(chan);
            ctx.arm_idle_check(chan, idle_us, Timer::Broker(BrokerTimer::IdleCheck { slot: chan.slot() }));
        }
    }

    fn elector_mut(&mut self) -> &mut Elector {
        let ledger_end = self.store.ledger_end();
        let elector = self.elector.as_mut().expect("DLedger mode");
        elector.ledger_end = ledger_end;
        elector
    }

    /// `ReplicasManager.sendHeartbeatToController`: its epoch and log end, every second.
    fn heartbeat_controller(&mut self, ctx: &mut Ctx) {
        let controller_node = ctx.config().layout.nameserver_node(0);
        if self.controller_chan.is_none()
            && let Connect::Open(chan) = ctx.connect(controller_node, LinkClass::BrokerNs)
        {
            self.controller_chan = Some(chan);
        }
        if let Some(chan) = self.controller_chan {
            let msg = Msg::ControllerHeartbeat { epoch: self.epoch, max_offset: self.store.ledger_end() };
            ctx.transmit(chan, End::Server, msg, 0);
        }
    }

    /// Controller mode: the controller's word on the group's master, accepted only from a
    /// newer epoch.
    fn role_change(&mut self, ctx: &mut Ctx, master: BrokerAddr, epoch: u16) {
        if epoch <= self.epoch {
            return;
        }
        self.epoch = epoch;
        if master == self.addr {
            self.become_master(ctx);
        } else {
            self.become_slave(ctx, master);
        }
    }

    /// DLedger mode: what the elector decided.
    fn role_news(&mut self, ctx: &mut Ctx, news: RoleNews) {
        let first = self.addr - u32::from(self.member_place(ctx));
        match news {
            RoleNews::None => {}
            RoleNews::Leader { .. } => self.become_master(ctx),
            RoleNews::Follower { leader } => self.become_slave(ctx, first + u32::from(leader)),
            // Without a leader it stays where its data is; a master stops being one.
            RoleNews::Candidate if self.broker_id == MASTER_ID => self.become_slave(ctx, self.addr),
            RoleNews::Candidate => {}
        }
    }

    /// `changeToMaster`: id 0, registered with every NameServer at once.
    fn become_master(&mut self, ctx: &mut Ctx) {
        if let Some(chan) = self.ha_chan.take() {
            ctx.close(chan, End::Client);
        }
        let held = self.store.queue_ends(ctx);
        for &(queue, end) in &held {
            ctx.observe(Observation::Promoted { broker: self.addr, group: self.group, queue: Some(queue), held: end });
        }
        ctx.observe(Observation::Promoted { broker: self.addr, group: self.group, queue: None, held: 0 });
        ctx.trace(TraceKind::Process, None, "master");
        self.broker_id = MASTER_ID;
        self.master_addr = self.addr;
        self.registering = true;
        self.register_all(ctx, true);
    }

    /// `changeToSlave`: a slave id, copying from `master`; a demoted master registers as one.
    fn become_slave(&mut self, ctx: &mut Ctx, master: BrokerAddr) {
        let was_master = self.broker_id == MASTER_ID;
        let first_time = !self.registering;
        self.broker_id = ctx.config().layout.slave_id(self.member_place(ctx));
        if master != self.master_addr {
            if let Some(chan) = self.ha_chan.take() {
                ctx.close(chan, End::Client);
            }
            self.master_addr = master;
        }
        if was_master {
            self.store.demote(ctx);
            ctx.trace(TraceKind::Process, None, "slave");
        }
        self.registering = true;
        if was_master || first_time {
            self.register_all(ctx, true);
        }
        if master != self.addr {
            self.connect_master(ctx);
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

/// What a client (producer or consumer) asks a broker's remoting server; the HA channel and
/// DLedger's are other servers, with heartbeats of their own.
fn is_client_request(msg: &Msg) -> bool {
    matches!(
        msg,
        Msg::Send { .. }
            | Msg::ConsumerHeartbeat { .. }
            | Msg::ConsumerList { .. }
            | Msg::QueryOffset { .. }
            | Msg::CommitOffset { .. }
            | Msg::Pull { .. }
    )
}
