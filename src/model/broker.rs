//! The broker (MODEL.md sections 2 and 5): registers with every NameServer at start-up and
//! every `registerNameServerPeriod`, each request with its own timeout; unregisters from each
//! NameServer in turn on a graceful shutdown; a master answers sends within its service time.
//! Source: broker/.../BrokerController.java, broker/.../out/BrokerOuterAPI.java.

use crate::engine::SimTime;
use crate::net::{ChanId, Connect, End, LinkClass, NodeIdx};

use super::config::WorldConfig;
use super::nameserver::next_on_grid;
use super::trace::TraceKind;
use super::{Msg, Timer, World};

pub struct Broker {
    pub node: NodeIdx,
    pub group: u16,
    /// 0 = master.
    pub member: u8,
    /// Per NameServer: the channel the broker uses, if it has one open.
    ns_chan: Vec<Option<ChanId>>,
    /// Per NameServer: the request id of a registration waiting for its answer.
    pending_register: Vec<Option<u32>>,
    next_req: u32,
    next_round_us: SimTime,
    /// Set while shutting down gracefully: the NameServer being unregistered from.
    unregistering: Option<u32>,
}

impl Broker {
    pub fn new(index: u32, config: &WorldConfig) -> Broker {
        let (group, member) = config.layout.broker_position(index);
        let nameservers = config.layout.nameservers as usize;
        Broker {
            node: config.layout.first_broker() + index,
            group,
            member,
            ns_chan: vec![None; nameservers],
            pending_register: vec![None; nameservers],
            next_req: 0,
            next_round_us: 0,
            unregistering: None,
        }
    }

    pub fn shutting_down(&self) -> bool {
        self.unregistering.is_some()
    }

    fn take_req(&mut self) -> u32 {
        self.next_req = self.next_req.wrapping_add(1);
        self.next_req
    }
}

impl World {
    pub(super) fn broker_start(&mut self, b: u32) {
        let fresh = Broker::new(b, &self.config);
        let broker = &mut self.brokers[b as usize];
        *broker = fresh;
        // registerBrokerAll once at start-up, then at a fixed rate after the initial delay.
        broker.next_round_us = self.sim.now() + self.config.timing.broker_register_initial_delay_us;
        let (node, first_periodic_us) = (broker.node, broker.next_round_us);
        self.broker_register_all(b);
        self.schedule_timer_at(node, first_periodic_us, Timer::RegisterRound);
    }

    pub(super) fn broker_timer(&mut self, b: u32, timer: Timer) {
        let node = self.brokers[b as usize].node;
        match timer {
            Timer::RegisterRound => {
                let broker = &mut self.brokers[b as usize];
                if broker.unregistering.is_some() {
                    return;
                }
                let period_us = self.config.timing.broker_heartbeat_us;
                broker.next_round_us = next_on_grid(broker.next_round_us, period_us, self.sim.now());
                let next_us = broker.next_round_us;
                self.schedule_timer_at(node, next_us, Timer::RegisterRound);
                self.broker_register_all(b);
            }
            Timer::RegisterTimeout { ns, req } => {
                let broker = &mut self.brokers[b as usize];
                if broker.pending_register[ns as usize] == Some(req) {
                    broker.pending_register[ns as usize] = None;
                    let ns_node = self.nameservers[ns as usize].node;
                    self.trace(TraceKind::RegisterTimeout, node, Some(ns_node), "closed");
                    let broker = &mut self.brokers[b as usize];
                    // clientCloseSocketIfTimeout: a timed-out request closes the channel.
                    if let Some(chan) = broker.ns_chan[ns as usize].take() {
                        self.close_channel(chan, End::Client);
                    }
                }
            }
            Timer::UnregisterTimeout { ns, req } => {
                if self.brokers[b as usize].unregistering == Some(ns) && self.brokers[b as usize].next_req == req {
                    self.broker_unregister_next(b, ns + 1);
                }
            }
            other => unreachable!("broker timer {other:?}"),
        }
    }

    /// `registerBrokerAll`: one REGISTER_BROKER per NameServer, in parallel, each with its own
    /// timeout. A NameServer whose previous registration is still unanswered is skipped (the
    /// round waits on a latch, so rounds never overlap).
    fn broker_register_all(&mut self, b: u32) {
        let timeout_us = self.config.timing.broker_register_timeout_us;
        for ns in 0..self.nameservers.len() as u32 {
            if self.brokers[b as usize].pending_register[ns as usize].is_some() {
                continue;
            }
            let Some(chan) = self.broker_channel(b, ns) else { continue };
            let broker = &mut self.brokers[b as usize];
            let req = broker.take_req();
            broker.pending_register[ns as usize] = Some(req);
            let node = broker.node;
            self.trace(TraceKind::Register, node, Some(self.nameservers[ns as usize].node), "sent");
            self.transmit(chan, End::Server, Msg::Register { req }, 0);
            self.schedule_timer_in(node, timeout_us, Timer::RegisterTimeout { ns, req });
        }
    }

    /// The open channel to NameServer `ns`, connecting if needed. A refused or unanswered
    /// connect fails this request only; the next round tries again.
    fn broker_channel(&mut self, b: u32, ns: u32) -> Option<ChanId> {
        if let Some(chan) = self.brokers[b as usize].ns_chan[ns as usize] {
            return Some(chan);
        }
        let node = self.brokers[b as usize].node;
        let ns_node = self.nameservers[ns as usize].node;
        match self.net.connect(self.sim.now(), node, ns_node, LinkClass::BrokerNs) {
            Connect::Open(chan) => {
                self.brokers[b as usize].ns_chan[ns as usize] = Some(chan);
                Some(chan)
            }
            Connect::Refused { .. } | Connect::TimedOut => None,
        }
    }

    pub(super) fn broker_deliver(&mut self, b: u32, chan: ChanId, to: End, msg: Msg) {
        match (to, msg) {
            (End::Client, Msg::RegisterAck { req }) => {
                let ns = self.net.channel(chan).server;
                let pending = &mut self.brokers[b as usize].pending_register[ns as usize];
                if *pending == Some(req) {
                    *pending = None;
                }
            }
            (End::Client, Msg::UnregisterAck { req }) => {
                let ns = self.net.channel(chan).server;
                if self.brokers[b as usize].unregistering == Some(ns) && self.brokers[b as usize].next_req == req {
                    self.broker_unregister_next(b, ns + 1);
                }
            }
            (End::Client, Msg::Close { reset }) => {
                let ns = self.net.channel(chan).server as usize;
                // 4.x does not fail a request when the peer closes: it waits for its timeout.
                let fail_fast = reset || self.config.timing.fail_fast_on_peer_close;
                let broker = &mut self.brokers[b as usize];
                if broker.ns_chan[ns] == Some(chan) {
                    broker.ns_chan[ns] = None;
                    if fail_fast {
                        broker.pending_register[ns] = None;
                    }
                }
                if fail_fast && broker.unregistering == Some(ns as u32) {
                    self.broker_unregister_next(b, ns as u32 + 1);
                }
            }
            (End::Server, Msg::Send { slot, attempt }) => {
                debug_assert_eq!(self.brokers[b as usize].member, 0, "producers send to masters only");
                let service_us = self.broker_service_us(b);
                self.transmit(chan, End::Client, Msg::SendAck { slot, attempt }, service_us);
            }
            // A producer closed its channel: nothing to clean up on this side.
            (End::Server, Msg::Close { .. }) => {}
            other => unreachable!("broker got {other:?}"),
        }
    }

    fn broker_service_us(&mut self, b: u32) -> SimTime {
        let node = self.brokers[b as usize].node;
        self.service_time.sample(&mut self.procs[node as usize].rng)
    }

    /// Graceful shutdown (`BrokerController.shutdown`): UNREGISTER_BROKER to each NameServer
    /// one after another, then the process exits and its OS closes its connections. 5.x
    /// unregisters while still serving; 4.x first shuts its remoting server (clients'
    /// channels close, new connects are refused), then unregisters.
    pub fn broker_shutdown(&mut self, b: u32) {
        let node = self.brokers[b as usize].node;
        if !self.serving(node) || self.brokers[b as usize].unregistering.is_some() {
            return;
        }
        self.brokers[b as usize].unregistering = Some(0);
        if !self.config.timing.unregister_before_close {
            for (chan, end) in self.net.open_channels(node) {
                if end == End::Server {
                    self.close_channel(chan, end);
                }
            }
            self.net.set_host(node, crate::net::Host::ProcessDead);
        }
        self.broker_unregister_next(b, 0);
    }

    fn broker_unregister_next(&mut self, b: u32, from_ns: u32) {
        let node = self.brokers[b as usize].node;
        for ns in from_ns..self.nameservers.len() as u32 {
            self.brokers[b as usize].unregistering = Some(ns);
            let Some(chan) = self.broker_channel(b, ns) else { continue };
            let req = self.brokers[b as usize].take_req();
            self.transmit(chan, End::Server, Msg::Unregister { req }, 0);
            let timeout_us = self.config.timing.broker_unregister_timeout_us;
            self.schedule_timer_in(node, timeout_us, Timer::UnregisterTimeout { ns, req });
            return;
        }
        self.brokers[b as usize].unregistering = None;
        self.stop(node, true);
    }
}
