//! `Ctx`: everything a process may do to the world, handed to a role's handlers.
//!
//! A role owns its state and reaches the rest of the world only through this: the clock, its
//! own timers, its channels (connect, send, close, a channel's peer address), its own random
//! stream, the interned routes, the trace and the observer. It cannot see another role's
//! state. Timers are stamped with the process's incarnation, so an incarnation that ended never
//! hears of its timers again.

use crate::engine::{RngStream, Sim, SimTime};
use crate::metrics::Metrics;
use crate::net::{ChanId, ChanSlot, Connect, End, Host, LinkClass, Net, NodeIdx, Transit};

use super::config::{CrashMode, WorldConfig};
use super::message::{Msg, Timer};
use super::observe::Observation;
use super::route::RouteStore;
use super::trace::{TraceKind, TraceRecord, Tracer};
use super::{Event, Life};

/// The shared machinery a context borrows: the world minus its roles and processes.
pub(super) struct Shared<'w> {
    pub config: &'w WorldConfig,
    pub sim: &'w mut Sim<Event>,
    pub net: &'w mut Net,
    pub routes: &'w mut RouteStore,
    pub observer: &'w mut Metrics,
    pub tracer: &'w mut Option<Tracer>,
    /// Requests already decided (see `transmit`), to be handled as of their arrival once the
    /// sender's handler returns: (arrival, channel, request).
    pub decided: &'w mut Vec<(SimTime, ChanId, Msg)>,
    /// When the next fault is due, or the run ends; and whether a broker's answer to a send
    /// reads none of its state (it does when messages are kept: replication).
    pub horizon_us: SimTime,
    pub sends_decided: bool,
}

pub struct Ctx<'w> {
    node: NodeIdx,
    /// The handler's virtual time: the clock's, but for a decided request's handling, its
    /// arrival (`World::handle_decided`).
    now_us: SimTime,
    epoch: u32,
    life: &'w mut Life,
    backlog: &'w mut Vec<Event>,
    rng: &'w mut RngStream,
    w: Shared<'w>,
}

impl<'w> Ctx<'w> {
    pub(super) fn new(node: NodeIdx, proc: &'w mut super::Proc, w: Shared<'w>) -> Ctx<'w> {
        let super::Proc { life, epoch, rng, backlog } = proc;
        Ctx { node, now_us: w.sim.now(), epoch: *epoch, life, backlog, rng, w }
    }

    /// A context for handling, at `at_us` (not before the clock), a request decided earlier.
    pub(super) fn at(node: NodeIdx, at_us: SimTime, proc: &'w mut super::Proc, w: Shared<'w>) -> Ctx<'w> {
        assert!(at_us >= w.sim.now(), "a decided request is handled at its arrival, not before the clock");
        let mut ctx = Ctx::new(node, proc, w);
        ctx.now_us = at_us;
        ctx
    }

    #[inline]
    pub fn now(&self) -> SimTime {
        self.now_us
    }

    /// This process's node (its address).
    #[inline]
    pub fn node(&self) -> NodeIdx {
        self.node
    }

    /// The run's validated settings (read-only: the same for every process).
    #[inline]
    pub fn config(&self) -> &'w WorldConfig {
        self.w.config
    }

    /// This process's own random stream.
    #[inline]
    pub fn rng(&mut self) -> &mut RngStream {
        self.rng
    }

    /// The stream a server draws from on behalf of whoever opened `chan` (a broker's service
    /// time for a producer's send): what one requester asks never shifts the draws made for
    /// another, so clients can be simulated apart (`model::split`).
    #[inline]
    pub fn requester_rng(&mut self, chan: ChanId) -> &mut RngStream {
        let requester = self.w.net.channel(chan).client;
        self.w.net.served_rng(requester)
    }

    #[inline]
    pub fn routes(&self) -> &RouteStore {
        self.w.routes
    }

    #[inline]
    pub fn routes_mut(&mut self) -> &mut RouteStore {
        self.w.routes
    }

    /// Sets a timer of this incarnation at `at_us` (not in the past).
    #[inline]
    pub fn set_timer_at(&mut self, at_us: SimTime, timer: Timer) {
        self.w.sim.schedule_at(at_us, Event::Timer { node: self.node, epoch: self.epoch, timer });
    }

    #[inline]
    pub fn set_timer_in(&mut self, delay_us: SimTime, timer: Timer) {
        self.set_timer_at(self.now().saturating_add(delay_us), timer);
    }

    #[inline(always)]
    pub fn observe(&mut self, observation: Observation) {
        self.w.observer.observe(self.now_us, observation, self.w.routes);
    }

    /// Hands a record to the trace, if one is kept.
    #[inline]
    pub fn trace(&mut self, kind: TraceKind, peer: Option<NodeIdx>, detail: &'static str) {
        if self.w.tracer.is_some() {
            let at_us = self.now();
            let record = TraceRecord { at_us, kind, node: Some(self.node), peer, detail, fault: None };
            emit(self.w.tracer, &record);
        }
    }

    /// Traces a send attempt of this client (`stale`/`ok`, or `stale`/`other` for a failure:
    /// whether the observer counts it against a fault, which only it knows).
    #[inline]
    pub fn trace_attempt(&mut self, kind: TraceKind, client: u32, attempt: u32, broker_node: NodeIdx) {
        if self.w.tracer.is_some() {
            let stale = self.w.observer.attempt_is_stale(client, attempt);
            let detail = match (kind, stale) {
                (_, true) => "stale",
                (TraceKind::AttemptFailed, false) => "other",
                _ => "ok",
            };
            self.trace(kind, Some(broker_node), detail);
        }
    }

    /// Opens a channel to `server`, as a TCP handshake would end.
    #[inline]
    pub fn connect(&mut self, server: NodeIdx, class: LinkClass) -> Connect {
        self.w.net.connect(self.now_us, self.node, server, class)
    }

    /// The address at the other end of `chan`.
    #[inline]
    pub fn peer(&self, chan: ChanId) -> NodeIdx {
        let c = self.w.net.channel(chan);
        if c.client == self.node { c.server } else { c.client }
    }

    /// Sends `msg` on `chan` towards `to`, `delay_us` from now (a server's service time).
    ///
    /// A producer's send whose handling is already decided is not queued: it goes to a broker
    /// that is up, on a channel with nothing else in flight towards it, arrives before the
    /// next fault, the end of the run and the broker's idle close of the channel, and the
    /// broker's answer reads none of its state (no replication). Nothing can then change
    /// between now and its arrival that its handling would see, so the world handles it as of
    /// its arrival as soon as this handler returns: one event per send fewer, the same
    /// outcome (its draws come at another point of the requester's streams).
    #[inline]
    pub fn transmit(&mut self, chan: ChanId, to: End, msg: Msg, delay_us: SimTime) {
        let now_us = self.now_us + delay_us;
        let decidable = self.w.sends_decided
            && matches!(msg, Msg::Send { .. })
            && to == End::Server
            && self.w.net.idle_towards(chan, to, now_us)
            && self.w.net.host(self.w.net.channel(chan).node(to)) == Host::Up;
        match self.w.net.transmit(now_us, chan, to) {
            Transit::Arrives(at_us)
                if decidable && at_us < self.w.horizon_us && !self.idle_close_before(chan, at_us) =>
            {
                self.w.decided.push((at_us, chan, msg))
            }
            Transit::Arrives(at_us) => self.w.sim.schedule_at(at_us, Event::Deliver { slot: chan.slot(), to, msg }),
            Transit::Lost | Transit::Held => {}
        }
    }

    /// Whether the broker's idle close may shut the server end of `chan` before `at_us`.
    #[inline]
    fn idle_close_before(&self, chan: ChanId, at_us: SimTime) -> bool {
        let idle_us = self.w.config.timing.broker_channel_idle_us;
        idle_us != 0 && self.w.net.channel(chan).server_activity_us.saturating_add(idle_us) <= at_us
    }

    /// Closes `chan` at end `at`; the other end learns of it when the signal arrives.
    #[inline]
    pub fn close(&mut self, chan: ChanId, at: End) {
        if let Some(Transit::Arrives(at_us)) = self.w.net.close(self.now_us, chan, at) {
            let close = Event::Deliver { slot: chan.slot(), to: at.other(), msg: Msg::Close { reset: false } };
            self.w.sim.schedule_at(at_us, close);
        }
    }

    /// True when this process's end of `chan` is open (false too for a channel long closed
    /// at both ends, whose id a role may still hold).
    #[inline]
    pub fn is_open(&self, chan: ChanId) -> bool {
        self.w.net.is_open_at(chan, self.node)
    }

    /// Records a read or write at the server end of `chan` (for its idle timeout).
    #[inline]
    pub fn touch_server(&mut self, chan: ChanId) {
        let now_us = self.now();
        self.w.net.touch_server(chan, now_us);
    }

    /// Arms the idle close of this server's end of `chan` (`serverChannelMaxIdleTimeSeconds`):
    /// one pending check per channel, re-armed from the last activity when it fires early.
    pub fn arm_idle_check(&mut self, chan: ChanId, idle_us: SimTime, timer: Timer) {
        if idle_us == 0 {
            return;
        }
        if self.w.net.arm_idle(chan) {
            let at_us = self.w.net.channel(chan).server_activity_us.saturating_add(idle_us);
            self.set_timer_at(at_us.max(self.now()), timer);
        }
    }

    /// Handles the idle check pending on the channel in `slot`: the channel it closed for
    /// idleness, if it did (`None` when the channel had closed meanwhile or carried something
    /// since: then it is re-armed from that activity).
    pub fn idle_check(&mut self, slot: ChanSlot, idle_us: SimTime, timer: Timer) -> Option<ChanId> {
        let chan = self.w.net.idle_channel(slot);
        self.w.net.disarm_idle(chan);
        if !self.w.net.is_open(chan, End::Server) {
            return None;
        }
        let deadline_us = self.w.net.channel(chan).server_activity_us.saturating_add(idle_us);
        if self.now() < deadline_us {
            self.arm_idle_check(chan, idle_us, timer);
            return None;
        }
        self.close(chan, End::Server);
        Some(chan)
    }

    /// Closes the server ends of this process's channels and refuses new connections: a
    /// remoting server shut down while the process lives on (4.x's graceful shutdown).
    pub fn shut_server(&mut self) {
        for (chan, end) in self.w.net.open_channels(self.node) {
            if end == End::Server {
                self.close(chan, end);
            }
        }
        self.w.net.set_host(self.node, Host::ProcessDead);
    }

    /// Ends this process. A kill: its OS closes every connection (peers hear one network delay
    /// later) and refuses new ones; a power-off says nothing to anyone. False when it was not
    /// running (or paused) to begin with.
    pub fn stop_process(&mut self, mode: CrashMode) -> bool {
        if matches!(*self.life, Life::Stopped | Life::NotStarted) {
            return false;
        }
        *self.life = Life::Stopped;
        self.backlog.clear();
        for (chan, end) in self.w.net.open_channels(self.node) {
            match mode {
                CrashMode::Kill => self.close(chan, end),
                CrashMode::PowerOff => self.w.net.close_silently(chan, end),
            }
        }
        let host = match mode {
            CrashMode::Kill => Host::ProcessDead,
            CrashMode::PowerOff => Host::PoweredOff,
        };
        self.w.net.set_host(self.node, host);
        self.refresh_state();
        let detail = match mode {
            CrashMode::Kill => "stopped",
            CrashMode::PowerOff => "powered-off",
        };
        self.trace(TraceKind::Process, None, detail);
        true
    }

    /// Tells the observer this process's state as the timeline shows it.
    pub(super) fn refresh_state(&mut self) {
        let state = super::node_state(*self.life, self.w.net.partitioned(self.node));
        self.observe(Observation::ProcessState { node: self.node, state });
    }
}

pub(super) fn emit(tracer: &mut Option<Tracer>, record: &TraceRecord) {
    if let Some(tracer) = tracer
        && tracer.filter.accepts(record)
    {
        tracer.sink.record(record);
    }
}
