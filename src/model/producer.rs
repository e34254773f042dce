//! The producer (MODEL.md sections 4 and 5): pulls its topic's route from one NameServer
//! every `pollNameServerInterval`, sends Poisson traffic, picks queues round-robin, retries
//! another broker on failure within one total `sendMsgTimeout` budget, and optionally isolates
//! slow or failed brokers (`sendLatencyFaultEnable`).
//! Source: client/.../MQClientInstance.java, DefaultMQProducerImpl.java (`sendDefaultImpl`),
//! TopicPublishInfo.java, latency/MQFaultStrategy.java, remoting/.../NettyRemotingClient.java.

use std::collections::VecDeque;

use rand::Rng;
use rand_distr::{Distribution, Exp};

use crate::engine::{SimTime, US_PER_S};
use crate::metrics::SendOutcome;
use crate::net::{ChanId, Connect, End, LinkClass, NodeIdx};

use super::config::{CLIENT_ASYNC_SEMAPHORE_VALUE, SendMode, WorldConfig};
use super::nameserver::next_on_grid;
use super::route::{NO_ROUTE, RouteId};
use super::timing::LatencyFaultTable;
use super::trace::TraceKind;
use super::{Msg, Timer, World};

/// Sends waiting for a free thread of a sync producer, at most.
const WAITING_SENDS_MAX: u32 = 100_000;

#[derive(Clone, Copy, Debug)]
struct SendState {
    /// Unique within the producer: tells a reused slot's new send from the old one.
    id: u32,
    start_us: SimTime,
    attempts_made: u32,
    /// Id of the current attempt, to ignore answers and timers of earlier ones.
    attempt: u32,
    attempt_start_us: SimTime,
    group: u16,
    /// The channel the current attempt's request went on; `None` while connecting.
    chan: Option<ChanId>,
    /// The fault that makes the current attempt stale, if any.
    stale_fault: Option<u16>,
    touched: Option<u16>,
    last_failed_group: Option<u16>,
}

/// The route query call in progress.
#[derive(Clone, Copy, Debug)]
struct RouteCall {
    start_us: SimTime,
    /// NameServers the call may still connect to.
    tries_left: u32,
}

pub struct Producer {
    pub node: NodeIdx,
    pub group: u16,
    pub topic: u16,
    pub route: RouteId,
    ns_cursor: u32,
    ns_chan: Option<ChanId>,
    poll_req: Option<u32>,
    poll: RouteCall,
    next_req: u32,
    next_poll_us: SimTime,
    /// Per broker group: the channel to its master.
    broker_chans: Vec<Option<ChanId>>,
    queue_counter: u32,
    /// Per broker group, with the latency fault strategy on: isolated until then.
    isolated_until_us: Vec<SimTime>,
    sends: Vec<Option<SendState>>,
    free_slots: Vec<u32>,
    in_flight: u32,
    waiting: u32,
    next_attempt: u32,
    /// Sends waiting for a route query (`tryToFindTopicPublishInfo` queries on demand).
    parked_sends: Vec<u32>,
    next_send_id: u32,
    /// (deadline, slot, send id) of sends in start order, hence deadline order: every send
    /// has the same budget. One timer per producer walks it instead of one per attempt.
    deadlines: VecDeque<(SimTime, u32, u32)>,
    deadline_timer_armed: bool,
}

pub fn build_all(config: &WorldConfig) -> Vec<Producer> {
    let first = config.layout.first_producer();
    (0..config.layout.producers()).map(|p| Producer::new(config, p, first + p)).collect()
}

impl Producer {
    fn new(config: &WorldConfig, p: u32, node: NodeIdx) -> Producer {
        let mut group = 0;
        let mut before = 0;
        while p >= before + config.producers[group].count {
            before += config.producers[group].count;
            group += 1;
        }
        let cfg = &config.producers[group];
        let broker_groups = config.layout.broker_groups.len();
        Producer {
            node,
            group: group as u16,
            topic: cfg.topic,
            route: NO_ROUTE,
            ns_cursor: 0,
            ns_chan: None,
            poll_req: None,
            poll: RouteCall { start_us: 0, tries_left: 0 },
            next_req: 0,
            next_poll_us: 0,
            broker_chans: vec![None; broker_groups],
            queue_counter: 0,
            isolated_until_us: if cfg.latency_fault.is_some() { vec![0; broker_groups] } else { Vec::new() },
            sends: Vec::new(),
            free_slots: Vec::new(),
            in_flight: 0,
            waiting: 0,
            next_attempt: 0,
            parked_sends: Vec::new(),
            next_send_id: 0,
            deadlines: VecDeque::new(),
            deadline_timer_armed: false,
        }
    }

    fn current(&self, slot: u32, attempt: u32) -> Option<SendState> {
        self.sends.get(slot as usize).copied().flatten().filter(|s| s.attempt == attempt)
    }
}

/// `TopicPublishInfo.selectOneMessageQueue`, and `MQFaultStrategy` when the latency fault
/// strategy is on (docs/ROCKETMQ-NOTES.md, question 5):
/// - off: round-robin from one counter; on a retry, skip the queues of the broker that failed
///   last, each skipped position advancing the same counter;
/// - 4.x table: the counter advances once, then the first available broker from there in
///   round-robin order, whatever failed last; none available: plain round-robin (RocketMQ
///   picks among the better half by latency there: not modelled);
/// - 5.x table: available and not the last failed, then not the last failed, then any.
pub fn select_queue(
    queues: &[u16],
    counter: &mut u32,
    last_failed: Option<u16>,
    latency_fault: Option<LatencyFaultTable>,
    available: impl Fn(u16) -> bool,
) -> u16 {
    assert!(!queues.is_empty());
    let n = queues.len() as u32;
    if latency_fault == Some(LatencyFaultTable::Classic) {
        let start = counter.wrapping_add(1);
        *counter = start;
        if let Some(i) = (0..n).find(|&i| available(queues[(start.wrapping_add(i) % n) as usize])) {
            return queues[(start.wrapping_add(i) % n) as usize];
        }
    }
    let mut next = || {
        *counter = counter.wrapping_add(1);
        queues[(*counter % n) as usize]
    };
    match latency_fault {
        None => {}
        Some(LatencyFaultTable::Classic) => return next(),
        Some(LatencyFaultTable::Modern) => {
            for _ in 0..n {
                let group = next();
                if available(group) && Some(group) != last_failed {
                    return group;
                }
            }
        }
    }
    if last_failed.is_some() {
        for _ in 0..n {
            let group = next();
            if Some(group) != last_failed {
                return group;
            }
        }
    }
    next()
}

impl World {
    pub(super) fn producer_start(&mut self, p: u32) {
        let node = self.producers[p as usize].node;
        let nameservers = self.config.layout.nameservers;
        let rng = self.rng(node);
        // The remoting client starts at a random NameServer; the queue counter at a random
        // value (a thread-local random start in TopicPublishInfo).
        let ns_cursor = rng.gen_range(0..nameservers);
        let queue_counter = rng.r#gen::<u32>();
        let fresh = Producer::new(&self.config, p, node);
        let producer = &mut self.producers[p as usize];
        *producer = Producer { ns_cursor, queue_counter, ..fresh };
        producer.next_poll_us = self.sim.now() + self.config.timing.client_route_poll_initial_delay_us;
        let first_poll_us = producer.next_poll_us;
        self.schedule_timer_at(node, first_poll_us, Timer::RoutePoll);
        self.producer_schedule_arrival(p);
    }

    pub(super) fn producer_timer(&mut self, p: u32, timer: Timer) {
        match timer {
            Timer::RoutePoll => {
                let period_us = self.config.timing.client_route_poll_us;
                let producer = &mut self.producers[p as usize];
                producer.next_poll_us = next_on_grid(producer.next_poll_us, period_us, self.sim.now());
                let (node, next_us) = (producer.node, producer.next_poll_us);
                self.schedule_timer_at(node, next_us, Timer::RoutePoll);
                if self.producers[p as usize].poll_req.is_none() {
                    self.producer_query_route(p);
                }
            }
            Timer::RouteQueryFailed { req } => {
                let producer = &mut self.producers[p as usize];
                if producer.poll_req == Some(req) {
                    // The channel may already be gone (a peer close that did not fail the
                    // request): then the client has already moved on.
                    if let Some(chan) = producer.ns_chan {
                        self.close_channel(chan, End::Client);
                        self.producer_ns_lost(p);
                    }
                    self.producer_route_call_ended(p);
                }
            }
            Timer::RouteConnectTimedOut { req } => {
                if self.producers[p as usize].poll_req == Some(req) {
                    self.producer_ns_lost(p);
                    self.producer_route_call(p);
                }
            }
            Timer::SendArrival => self.producer_arrival(p),
            Timer::AttemptFailed { slot, attempt } => {
                if self.producers[p as usize].current(slot, attempt).is_some() {
                    self.producer_attempt_failed(p, slot);
                }
            }
            Timer::SendDeadline => self.producer_deadlines(p),
            other => unreachable!("producer timer {other:?}"),
        }
    }

    pub(super) fn producer_deliver(&mut self, p: u32, chan: ChanId, msg: Msg) {
        match msg {
            Msg::RouteReply { req, route } => {
                let producer = &mut self.producers[p as usize];
                if producer.poll_req != Some(req) {
                    return;
                }
                // TOPIC_NOT_EXIST keeps the cached route; a route is replaced only if changed.
                if route != NO_ROUTE && route != producer.route {
                    producer.route = route;
                    // A new TopicPublishInfo starts its round-robin counter at random.
                    let node = producer.node;
                    let counter = self.rng(node).r#gen::<u32>();
                    self.producers[p as usize].queue_counter = counter;
                    self.producer_route_changed(p);
                }
                self.producer_route_call_ended(p);
            }
            Msg::SendAck { slot, attempt } => {
                let Some(send) = self.producers[p as usize].current(slot, attempt) else { return };
                let now_us = self.sim.now();
                self.producer_note_latency(p, send.group, now_us - send.attempt_start_us, false);
                self.producer_finish(p, slot, true);
            }
            Msg::Close { reset } => {
                // A reset is an error every version handles at once; a plain close fails
                // pending requests at once only with `fail_fast_on_peer_close` (5.x).
                let fail_fast = reset || self.config.timing.fail_fast_on_peer_close;
                if self.producers[p as usize].ns_chan == Some(chan) {
                    self.producer_ns_lost(p);
                    if fail_fast {
                        self.producer_route_call_ended(p);
                    }
                } else {
                    self.producer_broker_chan_lost(p, chan);
                    if fail_fast {
                        self.producer_fail_fast(p, chan);
                    }
                }
            }
            other => unreachable!("producer got {other:?}"),
        }
    }

    /// The channel to the current NameServer is gone: the next call goes to the next one.
    fn producer_ns_lost(&mut self, p: u32) {
        let nameservers = self.config.layout.nameservers;
        let producer = &mut self.producers[p as usize];
        producer.ns_chan = None;
        producer.ns_cursor = (producer.ns_cursor + 1) % nameservers;
    }

    /// `updateTopicRouteInfoFromNameServer`: one query to the NameServer the client sticks
    /// to. With a broken channel, 4.x tries every NameServer in turn within the call (a refused
    /// connect costs nothing, a silent host `connectTimeoutMillis`); 5.x tries one. The call's
    /// budget is `mqClientApiTimeout` from its start, connects included.
    fn producer_query_route(&mut self, p: u32) {
        let nameservers = self.config.layout.nameservers;
        let tries = if self.config.timing.route_query_tries_every_nameserver { nameservers } else { 1 };
        let now_us = self.sim.now();
        let producer = &mut self.producers[p as usize];
        producer.next_req = producer.next_req.wrapping_add(1);
        producer.poll_req = Some(producer.next_req);
        producer.poll = RouteCall { start_us: now_us, tries_left: tries };
        self.producer_route_call(p);
    }

    /// Continues the current route call: connect if needed, then query with what is left of
    /// the budget.
    fn producer_route_call(&mut self, p: u32) {
        let timing = &self.config.timing;
        let (api_timeout_us, connect_timeout_us) = (timing.client_api_timeout_us, timing.connect_timeout_us);
        let node = self.producers[p as usize].node;
        let Some(req) = self.producers[p as usize].poll_req else { return };
        while self.producers[p as usize].ns_chan.is_none() {
            let producer = &mut self.producers[p as usize];
            if producer.poll.tries_left == 0 {
                self.producer_route_call_ended(p);
                return;
            }
            producer.poll.tries_left -= 1;
            let ns_node = self.nameservers[producer.ns_cursor as usize].node;
            match self.net.connect(self.sim.now(), node, ns_node, LinkClass::ClientNs) {
                Connect::Open(chan) => self.producers[p as usize].ns_chan = Some(chan),
                Connect::Refused { .. } => self.producer_ns_lost(p),
                Connect::TimedOut => {
                    self.schedule_timer_in(node, connect_timeout_us, Timer::RouteConnectTimedOut { req });
                    return;
                }
            }
        }
        let chan = self.producers[p as usize].ns_chan.expect("connected above");
        let spent_us = self.sim.now() - self.producers[p as usize].poll.start_us;
        if spent_us >= api_timeout_us {
            // invokeSync checks the time after getting the channel: the call has timed out,
            // and clientCloseSocketIfTimeout closes the channel it just opened.
            self.close_channel(chan, End::Client);
            self.producer_ns_lost(p);
            self.producer_route_call_ended(p);
            return;
        }
        self.trace(TraceKind::RoutePoll, node, Some(self.net.channel(chan).server), "sent");
        self.transmit(chan, End::Server, Msg::RouteQuery { req }, 0);
        self.schedule_timer_in(node, api_timeout_us - spent_us, Timer::RouteQueryFailed { req });
    }

    /// The route call is over (answered, failed or given up): sends parked for want of a route
    /// go on, and fail at once if there still is none.
    fn producer_route_call_ended(&mut self, p: u32) {
        let producer = &mut self.producers[p as usize];
        producer.poll_req = None;
        for slot in std::mem::take(&mut producer.parked_sends) {
            self.producer_attempt(p, slot);
        }
    }

    fn producer_route_changed(&mut self, p: u32) {
        let node = self.producers[p as usize].node;
        let ns = self.producers[p as usize].ns_chan.map(|chan| self.net.channel(chan).server);
        self.trace(TraceKind::RouteChanged, node, ns, "changed");
        let now_us = self.sim.now();
        let route = self.routes.get(self.producers[p as usize].route);
        let layout = &self.config.layout;
        let ns_index = ns.map(|n| self.nameservers.iter().position(|x| x.node == n).unwrap_or(0) as u32);
        self.metrics.route_changed(now_us, p, ns_index, |subjects| route_holds_any(route, layout, subjects));
    }

    fn producer_schedule_arrival(&mut self, p: u32) {
        let group = &self.config.producers[usize::from(self.producers[p as usize].group)];
        if group.rate_per_s <= 0.0 {
            return;
        }
        let exp = Exp::new(group.rate_per_s).expect("rate checked positive");
        let node = self.producers[p as usize].node;
        let gap_s: f64 = exp.sample(self.rng(node));
        let gap_us = ((gap_s * US_PER_S as f64).round() as SimTime).max(1);
        self.schedule_timer_in(node, gap_us, Timer::SendArrival);
    }

    fn producer_arrival(&mut self, p: u32) {
        self.producer_schedule_arrival(p);
        let mode = self.config.producers[usize::from(self.producers[p as usize].group)].mode;
        let limit = match mode {
            SendMode::Sync { threads } => threads,
            SendMode::Async => CLIENT_ASYNC_SEMAPHORE_VALUE,
        };
        let producer = &mut self.producers[p as usize];
        if producer.in_flight < limit {
            self.producer_begin_send(p);
        } else if producer.waiting < WAITING_SENDS_MAX {
            producer.waiting += 1;
        }
    }

    fn producer_begin_send(&mut self, p: u32) {
        let now_us = self.sim.now();
        let timeout_us = self.config.producers[usize::from(self.producers[p as usize].group)].send_timeout_us;
        let producer = &mut self.producers[p as usize];
        producer.in_flight += 1;
        producer.next_send_id = producer.next_send_id.wrapping_add(1);
        let send = SendState {
            id: producer.next_send_id,
            start_us: now_us,
            attempts_made: 0,
            attempt: 0,
            attempt_start_us: now_us,
            group: 0,
            chan: None,
            stale_fault: None,
            touched: None,
            last_failed_group: None,
        };
        let slot = match producer.free_slots.pop() {
            Some(slot) => {
                producer.sends[slot as usize] = Some(send);
                slot
            }
            None => {
                producer.sends.push(Some(send));
                (producer.sends.len() - 1) as u32
            }
        };
        debug_assert!(producer.deadlines.back().is_none_or(|&(d, _, _)| d <= now_us + timeout_us));
        producer.deadlines.push_back((now_us + timeout_us, slot, send.id));
        if !producer.deadline_timer_armed {
            producer.deadline_timer_armed = true;
            let node = producer.node;
            self.schedule_timer_at(node, now_us + timeout_us, Timer::SendDeadline);
        }
        if self.producers[p as usize].route == NO_ROUTE {
            // No route yet: ask a NameServer now and let the send wait for the answer; its
            // budget runs meanwhile.
            self.producers[p as usize].parked_sends.push(slot);
            if self.producers[p as usize].poll_req.is_none() {
                self.producer_query_route(p);
            }
            return;
        }
        self.producer_attempt(p, slot);
    }

    /// One pass of `sendDefaultImpl`'s loop: check the budget, pick a queue, send.
    fn producer_attempt(&mut self, p: u32, slot: u32) {
        let now_us = self.sim.now();
        let cfg = &self.config.producers[usize::from(self.producers[p as usize].group)];
        let (timeout_us, attempts_max) = (cfg.send_timeout_us, 1 + cfg.retries);
        let connect_timeout_us = self.config.timing.connect_timeout_us;
        let producer = &mut self.producers[p as usize];
        let send = producer.sends[slot as usize].expect("attempt on a live send");
        let elapsed_us = now_us - send.start_us;
        let Some(route) = self.routes.get(producer.route).filter(|r| !r.write_queues.is_empty()) else {
            self.metrics.send_without_route();
            self.producer_finish(p, slot, false);
            return;
        };
        if elapsed_us >= timeout_us || send.attempts_made >= attempts_max {
            self.producer_finish(p, slot, false);
            return;
        }
        let isolated = &producer.isolated_until_us;
        let group = select_queue(
            &route.write_queues,
            &mut producer.queue_counter,
            send.last_failed_group,
            cfg.latency_fault,
            |g| isolated.get(usize::from(g)).is_none_or(|&until| until <= now_us),
        );
        producer.next_attempt = producer.next_attempt.wrapping_add(1);
        let attempt = producer.next_attempt;
        let master = u32::from(group) * self.config.layout.brokers_per_group();
        let stale_fault = self.metrics.attempt_started(now_us, master, p);
        let node = producer.node;
        let broker_node = self.brokers[master as usize].node;
        self.trace(TraceKind::Attempt, node, Some(broker_node), if stale_fault.is_some() { "stale" } else { "ok" });
        let budget_us = timeout_us - elapsed_us;
        let chan = match self.producers[p as usize].broker_chans[usize::from(group)] {
            Some(chan) => Some(chan),
            None => match self.net.connect(now_us, node, broker_node, LinkClass::ClientBroker) {
                Connect::Open(chan) => {
                    self.producers[p as usize].broker_chans[usize::from(group)] = Some(chan);
                    Some(chan)
                }
                Connect::Refused { after_us } => {
                    self.schedule_timer_in(node, after_us.min(budget_us), Timer::AttemptFailed { slot, attempt });
                    None
                }
                Connect::TimedOut => {
                    let wait_us = connect_timeout_us.min(budget_us);
                    self.schedule_timer_in(node, wait_us, Timer::AttemptFailed { slot, attempt });
                    None
                }
            },
        };
        let send = self.producers[p as usize].sends[slot as usize].as_mut().expect("live send");
        *send = SendState {
            attempts_made: send.attempts_made + 1,
            attempt,
            attempt_start_us: now_us,
            group,
            chan,
            stale_fault,
            ..*send
        };
        if let Some(chan) = chan {
            // Its timeout is the send's deadline: `Timer::SendDeadline` fires it.
            self.transmit(chan, End::Server, Msg::Send { slot, attempt }, 0);
        }
    }

    fn producer_attempt_failed(&mut self, p: u32, slot: u32) {
        let now_us = self.sim.now();
        let send = self.producers[p as usize].sends[slot as usize].as_mut().expect("live send");
        send.touched = send.touched.or(send.stale_fault);
        send.last_failed_group = Some(send.group);
        send.chan = None;
        let (stale_fault, group, attempt_start_us) = (send.stale_fault, send.group, send.attempt_start_us);
        let node = self.producers[p as usize].node;
        let broker_node = self.brokers[(u32::from(group) * self.config.layout.brokers_per_group()) as usize].node;
        self.trace(
            TraceKind::AttemptFailed,
            node,
            Some(broker_node),
            if stale_fault.is_some() { "stale" } else { "other" },
        );
        self.metrics.attempt_failed(now_us, stale_fault);
        self.producer_note_latency(p, group, now_us - attempt_start_us, true);
        self.producer_attempt(p, slot);
    }

    /// `updateFaultItem`: with the latency fault strategy on, isolate the broker a while.
    fn producer_note_latency(&mut self, p: u32, group: u16, latency_us: SimTime, failed: bool) {
        let producer = &mut self.producers[p as usize];
        let Some(table) = self.config.producers[usize::from(producer.group)].latency_fault else { return };
        let until_us = self.sim.now() + table.isolation_us(latency_us, failed);
        let slot = &mut producer.isolated_until_us[usize::from(group)];
        *slot = match table {
            // 4.x: every attempt rewrites the entry: a quick success ends an isolation.
            LatencyFaultTable::Classic => until_us,
            // 5.1.4+: a later success does not shorten an isolation.
            LatencyFaultTable::Modern => (*slot).max(until_us),
        };
    }

    fn producer_finish(&mut self, p: u32, slot: u32, ok: bool) {
        let now_us = self.sim.now();
        let producer = &mut self.producers[p as usize];
        let send = producer.sends[slot as usize].take().expect("finish a live send");
        producer.free_slots.push(slot);
        // Sends finish in about start order: drop finished ones from the front so the
        // deadline timer sleeps until the oldest unfinished send's deadline.
        while let Some(&(_, front_slot, id)) = producer.deadlines.front() {
            if producer.sends[front_slot as usize].is_some_and(|s| s.id == id) {
                break;
            }
            producer.deadlines.pop_front();
        }
        producer.in_flight -= 1;
        let start_next = producer.waiting > 0;
        let node = producer.node;
        if start_next {
            producer.waiting -= 1;
        }
        self.metrics.send_done(
            now_us,
            SendOutcome {
                ok,
                start_us: send.start_us,
                final_attempt_start_us: send.attempt_start_us,
                touched: send.touched,
            },
        );
        self.trace(TraceKind::Send, node, None, if ok { "ok" } else { "failed" });
        if start_next {
            self.producer_begin_send(p);
        }
    }

    /// Fails the sends whose budget ran out while their request waited for an answer, and
    /// re-arms the producer's one deadline timer.
    fn producer_deadlines(&mut self, p: u32) {
        let now_us = self.sim.now();
        self.producers[p as usize].deadline_timer_armed = false;
        while let Some(&(deadline_us, slot, id)) = self.producers[p as usize].deadlines.front() {
            if deadline_us > now_us {
                let node = self.producers[p as usize].node;
                self.producers[p as usize].deadline_timer_armed = true;
                self.schedule_timer_at(node, deadline_us, Timer::SendDeadline);
                return;
            }
            self.producers[p as usize].deadlines.pop_front();
            let Some(send) = self.producers[p as usize].sends[slot as usize].filter(|s| s.id == id) else { continue };
            // Sends still connecting have their own timer; parked ones fail when the route
            // call ends. A request on the wire: the whole budget passed unanswered, and
            // clientCloseSocketIfTimeout closes the channel.
            if let Some(chan) = send.chan {
                self.close_channel(chan, End::Client);
                self.producer_broker_chan_lost(p, chan);
                self.producer_attempt_failed(p, slot);
            }
        }
    }

    fn producer_broker_chan_lost(&mut self, p: u32, chan: ChanId) {
        for slot in &mut self.producers[p as usize].broker_chans {
            if *slot == Some(chan) {
                *slot = None;
            }
        }
    }

    /// A closed channel fails the requests waiting on it at once (`failFast`).
    fn producer_fail_fast(&mut self, p: u32, chan: ChanId) {
        let waiting: Vec<u32> = self.producers[p as usize]
            .sends
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some_and(|s| s.chan == Some(chan)))
            .map(|(slot, _)| slot as u32)
            .collect();
        for slot in waiting {
            self.producer_attempt_failed(p, slot);
        }
    }

    /// Producers whose current route holds any of `subjects` (broker indices).
    pub fn producers_holding(&self, subjects: &[u32]) -> Vec<u32> {
        let layout = &self.config.layout;
        (0..self.producers.len() as u32)
            .filter(|&p| route_holds_any(self.routes.get(self.producers[p as usize].route), layout, subjects))
            .collect()
    }
}

fn route_holds_any(route: Option<&super::route::Route>, layout: &super::config::Layout, subjects: &[u32]) -> bool {
    route.is_some_and(|route| {
        subjects.iter().any(|&b| {
            let (group, member) = layout.broker_position(b);
            route.holds(group, 1 << member)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::select_queue;
    use crate::model::timing::LatencyFaultTable;

    #[test]
    fn round_robin_skips_the_failed_broker_and_advances_past_its_queues() {
        // 4 brokers x 4 queues, listed broker by broker.
        let queues: Vec<u16> = (0..4).flat_map(|g| [g; 4]).collect();
        let mut counter = 0; // next position is 1
        assert_eq!(select_queue(&queues, &mut counter, None, None, |_| true), 0);
        assert_eq!(select_queue(&queues, &mut counter, None, None, |_| true), 0);
        // Broker 0 failed: skip positions 3 (broker 0) and land on 4 (broker 1).
        assert_eq!(select_queue(&queues, &mut counter, Some(0), None, |_| true), 1);
        assert_eq!(counter, 4);
    }

    #[test]
    fn classic_latency_fault_takes_the_first_available_from_one_counter_step() {
        let queues = [0u16, 1, 2];
        let mut counter = 0;
        // Start at position 1; broker 1 isolated: position 2, counter advanced once only.
        assert_eq!(select_queue(&queues, &mut counter, None, Some(LatencyFaultTable::Classic), |g| g != 1), 2);
        assert_eq!(counter, 1);
        // The last failed broker is not skipped if available.
        assert_eq!(select_queue(&queues, &mut counter, Some(2), Some(LatencyFaultTable::Classic), |_| true), 2);
        // None available: the counter has stepped once (to 3), plain round-robin steps again.
        assert_eq!(select_queue(&queues, &mut counter, None, Some(LatencyFaultTable::Classic), |_| false), 1);
    }

    #[test]
    fn modern_latency_fault_prefers_available_brokers_then_any() {
        let queues = [0u16, 1, 2];
        let mut counter = 0;
        let m = Some(LatencyFaultTable::Modern);
        assert_eq!(select_queue(&queues, &mut counter, None, m, |g| g == 2), 2);
        // Nothing available: a full lap of the counter, then the next queue whatever it is.
        assert_eq!(select_queue(&queues, &mut counter, None, m, |_| false), 0);
        assert_eq!(counter, 6);
        // Nothing available and broker 1 failed last: the next queue not on broker 1.
        assert_eq!(select_queue(&queues, &mut counter, Some(1), m, |_| false), 2);
    }
}
