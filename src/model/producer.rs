//! The producer (MODEL.md section 5): sends Poisson traffic, picks queues round-robin,
//! retries another broker on failure within one total `sendMsgTimeout` budget, and optionally
//! isolates slow or failed brokers (`sendLatencyFaultEnable`). Its routes come from its
//! process's client instance (`client.rs`), which it asks for a route it lacks.
//! Source: client/.../DefaultMQProducerImpl.java (`sendDefaultImpl`), TopicPublishInfo.java,
//! latency/MQFaultStrategy.java.

use smallvec::SmallVec;

use rand::Rng;
use rand_distr::{Distribution, Exp};

use crate::engine::{SimTime, US_PER_S, prefetch, round_us};
use crate::net::{ChanId, ChanSlot, Connect, End, LinkClass};

use super::client::{ClientInstance, RouteNews};
use super::config::{CLIENT_ASYNC_SEMAPHORE_VALUE, ProducerGroup, SendMode};
use super::context::Ctx;
use super::deadline_queue::DeadlineQueue;
use super::group_table::GroupTable;
use super::message::{Msg, ProducerTimer, Timer};
use super::observe::Observation;
use super::route::{BrokerAddr, NO_ROUTE, RouteId, RouteStore};
use super::timing::LatencyFaultTable;
use super::trace::TraceKind;

/// Send slots held inline: a sync producer has one per thread in flight (4 in the reference
/// workloads); more spill to the heap.
const SLOTS_INLINE: usize = 4;

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
    broker_group: u16,
    /// The broker the current attempt went to: the group's master in the route it used.
    broker: BrokerAddr,
    /// The channel the current attempt's request went on; `None` while connecting.
    chan: Option<ChanId>,
    last_failed_group: Option<u16>,
}

pub struct Producer {
    client: u32,
    /// Its place among the scenario's producer groups.
    producer_group: u16,
    /// Its topic's route as its `TopicPublishInfo` holds it (set by the client instance).
    route: RouteId,
    /// By broker group: the open channel to its master, and that master's address. A hash
    /// table, not an array of every group: a producer walks the route's queues in order, so it
    /// holds channels only to the groups it sent to within the idle close (~30 of 1,000 in
    /// bench-large), and an array per producer would be most of a large fleet's memory. Its own
    /// table rather than a map so the world can prefetch the slot a lookup starts at
    /// (`Producer::prefetch`).
    broker_chans: GroupTable<(ChanId, BrokerAddr)>,
    /// The entry of `broker_chans` used last: the round-robin sends a group's queues in a
    /// row, so most sends find their channel here without reading the table.
    last_chan: Option<(u16, ChanId, BrokerAddr)>,
    queue_counter: u32,
    /// Per broker group, with the latency fault strategy on: isolated until then.
    isolated_until_us: Vec<SimTime>,
    /// Its sends in flight by slot. Inline up to `SLOTS_INLINE` (a sync producer has at most
    /// its threads in flight): read on every send and answer, they share the producer's cache
    /// lines instead of an allocation of their own.
    sends: SmallVec<[Option<SendState>; SLOTS_INLINE]>,
    free_slots: SmallVec<[u32; SLOTS_INLINE]>,
    in_flight: u32,
    waiting: u32,
    next_attempt: u32,
    /// Sends waiting for a route query (`tryToFindTopicPublishInfo` queries on demand).
    parked_sends: Vec<u32>,
    next_send_id: u32,
    /// (deadline, slot, send id) of sends in start order, hence deadline order: every send
    /// has the same budget. One timer per producer walks it instead of one per attempt.
    deadlines: DeadlineQueue,
    /// Whether the deadline timer is in the queue. It is left out while the oldest deadline
    /// comes at or after the next arrival: the arrival handles the deadlines then, in the
    /// order the timer would have (an arrival is filed before a timer armed for the same
    /// microsecond by the send it starts). Most timers found nothing late: a quarter of an
    /// event per send at 1 send/s and a 3 s budget.
    deadline_timer_armed: bool,
    /// When the next `SendArrival` fires (`SimTime::MAX` when the group sends nothing).
    next_arrival_us: SimTime,
}

impl Producer {
    /// Prefetches (`engine::prefetch`) the memory its next event reads outside its own record:
    /// where the lookup of the group it will most likely send to next starts (the
    /// round-robin's next queue); names the channel it will most likely send on.
    #[inline]
    pub fn prefetch(&self, routes: &RouteStore) -> Option<ChanSlot> {
        if let Some(route) = routes.get(self.route)
            && !route.write_queues.is_empty()
        {
            let next = self.queue_counter.wrapping_add(1) as usize % route.write_queues.len();
            let group = route.write_queues[next];
            if self.last_chan.is_none_or(|(g, _, _)| g != group) {
                self.prefetch_group(group);
            }
        }
        self.last_chan.map(|(_, chan, _)| chan.slot())
    }

    /// Prefetches where the lookup of `group`'s channel starts (a close from that group).
    #[inline]
    pub fn prefetch_group(&self, group: u16) {
        if let Some(home) = self.broker_chans.home(group) {
            prefetch(home);
        }
    }

    pub fn new(client: u32, producer_group: u16, config: &ProducerGroup, broker_groups: usize) -> Producer {
        Producer {
            client,
            producer_group,
            route: NO_ROUTE,
            broker_chans: GroupTable::default(),
            last_chan: None,
            queue_counter: 0,
            isolated_until_us: if config.latency_fault.is_some() { vec![0; broker_groups] } else { Vec::new() },
            sends: SmallVec::new(),
            free_slots: SmallVec::new(),
            in_flight: 0,
            waiting: 0,
            next_attempt: 0,
            parked_sends: Vec::new(),
            next_send_id: 0,
            deadlines: DeadlineQueue::default(),
            deadline_timer_armed: false,
            next_arrival_us: SimTime::MAX,
        }
    }

    fn group_config<'c>(&self, ctx: &Ctx<'c>) -> &'c ProducerGroup {
        &ctx.config().producers[usize::from(self.producer_group)]
    }

    fn current(&self, slot: u32, attempt: u32) -> Option<SendState> {
        self.sends.get(slot as usize).copied().flatten().filter(|s| s.attempt == attempt)
    }

    /// A (re)start with empty memory: the queue counter starts at a random value (a
    /// thread-local random start in TopicPublishInfo), and traffic begins.
    pub fn on_start(&mut self, ctx: &mut Ctx) {
        let config = self.group_config(ctx);
        let broker_groups = ctx.config().layout.broker_groups.len();
        let queue_counter = ctx.rng().r#gen::<u32>();
        *self = Producer { queue_counter, ..Producer::new(self.client, self.producer_group, config, broker_groups) };
        self.schedule_arrival(ctx);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance, timer: ProducerTimer) {
        match timer {
            ProducerTimer::SendArrival => self.arrival(ctx, inst),
            ProducerTimer::AttemptFailed { slot, attempt } => {
                if self.current(slot, attempt).is_some() {
                    self.attempt_failed(ctx, inst, slot);
                }
            }
            ProducerTimer::SendDeadline => self.deadlines(ctx, inst),
        }
    }

    /// A message on one of its broker channels.
    pub fn on_message(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance, chan: ChanId, msg: Msg) {
        match msg {
            Msg::SendAck { slot, attempt } => {
                let Some(send) = self.current(slot, attempt) else { return };
                let latency_us = ctx.now() - send.attempt_start_us;
                self.note_latency(ctx, send.broker_group, latency_us, false);
                let (broker, started_us) = (send.broker, send.attempt_start_us);
                ctx.observe(Observation::AttemptSucceeded { client: self.client, attempt, broker, started_us });
                self.finish(ctx, inst, slot, true);
            }
            // The broker is no longer its group's master (a failover moved it): retry.
            Msg::SendRejected { slot, attempt } => {
                if self.current(slot, attempt).is_some() {
                    self.attempt_failed(ctx, inst, slot);
                }
            }
            Msg::Close { reset } => {
                // A reset is an error every version handles at once; a plain close fails
                // pending requests at once only with `fail_fast_on_peer_close` (5.x).
                let fail_fast = reset || ctx.config().timing.fail_fast_on_peer_close;
                let layout = &ctx.config().layout;
                let addr = layout.broker_addr(ctx.peer(chan)).expect("a producer's channels go to brokers");
                self.broker_chan_lost(chan, layout.broker_position(addr).0);
                if fail_fast {
                    self.fail_fast(ctx, inst, chan);
                }
            }
            other => unreachable!("producer got {other:?}"),
        }
    }

    /// What the client instance said: a new route resets the round-robin counter (a new
    /// TopicPublishInfo starts at random); a finished route call releases waiting sends.
    pub fn on_route_news(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance, news: RouteNews) {
        if let Some(route) = news.changed {
            self.route = route;
            self.queue_counter = ctx.rng().r#gen::<u32>();
        }
        if news.call_ended {
            for slot in std::mem::take(&mut self.parked_sends) {
                self.attempt(ctx, inst, slot);
            }
        }
    }

    fn schedule_arrival(&mut self, ctx: &mut Ctx) {
        let rate_per_s = self.group_config(ctx).rate_per_s;
        if rate_per_s <= 0.0 {
            return;
        }
        let exp = Exp::new(rate_per_s).expect("rate checked positive");
        let gap_s: f64 = exp.sample(ctx.rng());
        let gap_us = round_us(gap_s * US_PER_S as f64).max(1);
        self.next_arrival_us = ctx.now().saturating_add(gap_us);
        ctx.set_timer_in(gap_us, Timer::Producer(ProducerTimer::SendArrival));
    }

    fn arrival(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance) {
        self.schedule_arrival(ctx);
        let limit = match self.group_config(ctx).mode {
            SendMode::Sync { threads } => threads,
            SendMode::Async => CLIENT_ASYNC_SEMAPHORE_VALUE,
        };
        if self.in_flight < limit {
            self.begin_send(ctx, inst);
        } else if self.waiting < WAITING_SENDS_MAX {
            self.waiting += 1;
        }
        // The deadline timer left out for this arrival fires here, after the arrival's work
        // as it would have (see `deadline_timer_armed`).
        if !self.deadline_timer_armed {
            self.deadlines(ctx, inst);
        }
    }

    /// The process is paused: its backlog replays its timers in the order they fired, so the
    /// deadline timer left out for the next arrival goes into the queue now.
    pub fn on_pause(&mut self, ctx: &mut Ctx) {
        if let Some(&(deadline_us, _, _)) = self.deadlines.front()
            && !self.deadline_timer_armed
        {
            self.set_deadline_timer(ctx, deadline_us.max(ctx.now()));
        }
    }

    fn begin_send(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance) {
        let now_us = ctx.now();
        let timeout_us = self.group_config(ctx).send_timeout_us;
        self.in_flight += 1;
        self.next_send_id = self.next_send_id.wrapping_add(1);
        let send = SendState {
            id: self.next_send_id,
            start_us: now_us,
            attempts_made: 0,
            attempt: 0,
            attempt_start_us: now_us,
            broker_group: 0,
            broker: 0,
            chan: None,
            last_failed_group: None,
        };
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.sends[slot as usize] = Some(send);
                slot
            }
            None => {
                self.sends.push(Some(send));
                (self.sends.len() - 1) as u32
            }
        };
        let deadline_us = now_us.saturating_add(timeout_us);
        assert!(self.deadlines.back().is_none_or(|&(d, _, _)| d <= deadline_us), "deadlines in start order");
        self.deadlines.push_back((deadline_us, slot, send.id));
        self.arm_deadline_timer(ctx);
        if self.route == NO_ROUTE {
            // No route yet: ask a NameServer now and let the send wait for the answer; its
            // budget runs meanwhile.
            self.parked_sends.push(slot);
            let news = inst.query(ctx);
            self.on_route_news(ctx, inst, news);
            return;
        }
        self.attempt(ctx, inst, slot);
    }

    /// One pass of `sendDefaultImpl`'s loop: check the budget, pick a queue, send.
    fn attempt(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance, slot: u32) {
        let now_us = ctx.now();
        let cfg = self.group_config(ctx);
        let (timeout_us, attempts_max) = (cfg.send_timeout_us, 1 + cfg.retries);
        let connect_timeout_us = ctx.config().timing.connect_timeout_us;
        let send = self.sends[slot as usize].expect("attempt on a live send");
        let elapsed_us = now_us - send.start_us;
        let Some(route) = ctx.routes().get(self.route).filter(|r| !r.write_queues.is_empty()) else {
            ctx.observe(Observation::SendWithoutRoute);
            self.finish(ctx, inst, slot, false);
            return;
        };
        if elapsed_us >= timeout_us || send.attempts_made >= attempts_max {
            self.finish(ctx, inst, slot, false);
            return;
        }
        let isolated = &self.isolated_until_us;
        let position = select_queue(
            &route.write_queues,
            &mut self.queue_counter,
            send.last_failed_group,
            cfg.latency_fault,
            |g| isolated.get(usize::from(g)).is_none_or(|&until| until <= now_us),
        );
        let group = route.write_queues[position];
        // Every group lists the topic's write queues 0.. in a row.
        let queues_per_group = ctx.config().topics[usize::from(cfg.topic)].queues_per_broker;
        let queue = (position % usize::from(queues_per_group)) as u16;
        let master = route.write_master(position);
        self.next_attempt = self.next_attempt.wrapping_add(1);
        let attempt = self.next_attempt;
        ctx.observe(Observation::AttemptStarted { client: self.client, attempt, broker: master });
        let broker_node = ctx.config().layout.broker_node(master);
        ctx.trace_attempt(TraceKind::Attempt, self.client, attempt, broker_node);
        let budget_us = timeout_us - elapsed_us;
        let known = match self.last_chan {
            Some((g, chan, addr)) if g == group => Some((chan, addr)),
            _ => self.broker_chans.get(group),
        };
        let chan = match known {
            Some((chan, addr)) if addr == master => {
                self.last_chan = Some((group, chan, addr));
                Some(chan)
            }
            _ => match ctx.connect(broker_node, LinkClass::ClientBroker) {
                Connect::Open(chan) => {
                    self.broker_chans.insert(group, (chan, master));
                    self.last_chan = Some((group, chan, master));
                    Some(chan)
                }
                Connect::Refused { after_us } => {
                    let timer = ProducerTimer::AttemptFailed { slot, attempt };
                    ctx.set_timer_in(after_us.min(budget_us), Timer::Producer(timer));
                    None
                }
                Connect::TimedOut => {
                    let timer = ProducerTimer::AttemptFailed { slot, attempt };
                    ctx.set_timer_in(connect_timeout_us.min(budget_us), Timer::Producer(timer));
                    None
                }
            },
        };
        let send = self.sends[slot as usize].as_mut().expect("live send");
        *send = SendState {
            attempts_made: send.attempts_made + 1,
            attempt,
            attempt_start_us: now_us,
            broker_group: group,
            broker: master,
            chan,
            ..*send
        };
        if let Some(chan) = chan {
            // Its timeout is the send's deadline: `ProducerTimer::SendDeadline` fires it.
            ctx.transmit(chan, End::Server, Msg::Send { slot, attempt, queue }, 0);
        }
    }

    fn attempt_failed(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance, slot: u32) {
        let now_us = ctx.now();
        let send = self.sends[slot as usize].as_mut().expect("live send");
        send.last_failed_group = Some(send.broker_group);
        send.chan = None;
        let (attempt, id, group, attempt_start_us) = (send.attempt, send.id, send.broker_group, send.attempt_start_us);
        let broker_node = ctx.config().layout.broker_node(send.broker);
        ctx.trace_attempt(TraceKind::AttemptFailed, self.client, attempt, broker_node);
        ctx.observe(Observation::AttemptFailed { client: self.client, attempt, send: id });
        self.note_latency(ctx, group, now_us - attempt_start_us, true);
        if ctx.config().timing.client_refresh_on_failure {
            // What-if: query the route now; the retry below still uses the route it has.
            let news = inst.query(ctx);
            self.on_route_news(ctx, inst, news);
        }
        self.attempt(ctx, inst, slot);
    }

    /// `updateFaultItem`: with the latency fault strategy on, isolate the broker a while.
    fn note_latency(&mut self, ctx: &Ctx, group: u16, latency_us: SimTime, failed: bool) {
        let Some(table) = self.group_config(ctx).latency_fault else { return };
        let until_us = ctx.now().saturating_add(table.isolation_us(latency_us, failed));
        let slot = &mut self.isolated_until_us[usize::from(group)];
        *slot = match table {
            // 4.x: every attempt rewrites the entry: a quick success ends an isolation.
            LatencyFaultTable::Classic => until_us,
            // 5.1.4+: a later success does not shorten an isolation.
            LatencyFaultTable::Modern => (*slot).max(until_us),
        };
    }

    fn finish(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance, slot: u32, ok: bool) {
        let send = self.sends[slot as usize].take().expect("finish a live send");
        self.free_slots.push(slot);
        // Sends finish in about start order: drop finished ones from the front so the
        // deadline timer sleeps until the oldest unfinished send's deadline.
        while let Some(&(_, front_slot, id)) = self.deadlines.front() {
            if self.sends[front_slot as usize].is_some_and(|s| s.id == id) {
                break;
            }
            self.deadlines.pop_front();
        }
        self.in_flight -= 1;
        let start_next = self.waiting > 0;
        if start_next {
            self.waiting -= 1;
        }
        ctx.observe(Observation::SendDone {
            client: self.client,
            send: send.id,
            ok,
            start_us: send.start_us,
            final_attempt_start_us: send.attempt_start_us,
        });
        ctx.trace(TraceKind::Send, None, if ok { "ok" } else { "failed" });
        if start_next {
            self.begin_send(ctx, inst);
        }
    }

    /// Fails the sends whose budget ran out while their request waited for an answer, and
    /// re-arms the producer's one deadline timer.
    fn deadlines(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance) {
        let now_us = ctx.now();
        // A failed send may start a waiting one: the walk arms the timer once, at its end.
        self.deadline_timer_armed = true;
        while let Some(&(deadline_us, slot, id)) = self.deadlines.front() {
            if deadline_us > now_us {
                break;
            }
            self.deadlines.pop_front();
            let Some(send) = self.sends[slot as usize].filter(|s| s.id == id) else { continue };
            // Sends still connecting have their own timer; parked ones fail when the route
            // call ends. A request on the wire: the whole budget passed unanswered, and
            // clientCloseSocketIfTimeout closes the channel.
            if let Some(chan) = send.chan {
                ctx.close(chan, End::Client);
                self.broker_chan_lost(chan, send.broker_group);
                self.attempt_failed(ctx, inst, slot);
            }
        }
        self.deadline_timer_armed = false;
        self.arm_deadline_timer(ctx);
    }

    /// Arms the deadline timer for the oldest deadline unless the next arrival comes first
    /// (`deadline_timer_armed`).
    fn arm_deadline_timer(&mut self, ctx: &mut Ctx) {
        if let Some(&(oldest_us, _, _)) = self.deadlines.front()
            && !self.deadline_timer_armed
            && oldest_us < self.next_arrival_us
        {
            self.set_deadline_timer(ctx, oldest_us);
        }
    }

    fn set_deadline_timer(&mut self, ctx: &mut Ctx, at_us: SimTime) {
        self.deadline_timer_armed = true;
        ctx.set_timer_at(at_us, Timer::Producer(ProducerTimer::SendDeadline));
    }

    /// `chan`, to a broker of `group`, closed: forgotten if it is still the group's channel
    /// (a channel to a group's former master may close after the producer moved on).
    fn broker_chan_lost(&mut self, chan: ChanId, group: u16) {
        if self.broker_chans.get(group).is_some_and(|(c, _)| c == chan) {
            self.broker_chans.remove(group);
        }
        if self.last_chan.is_some_and(|(_, c, _)| c == chan) {
            self.last_chan = None;
        }
    }

    /// A closed channel fails the requests waiting on it at once (`failFast`).
    fn fail_fast(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance, chan: ChanId) {
        let waiting: Vec<u32> = (0..self.sends.len() as u32)
            .filter(|&slot| self.sends[slot as usize].is_some_and(|s| s.chan == Some(chan)))
            .collect();
        for slot in waiting {
            self.attempt_failed(ctx, inst, slot);
        }
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
///
/// Returns the position in `queues` (the route's write queues, broker by broker).
pub fn select_queue(
    queues: &[u16],
    counter: &mut u32,
    last_failed: Option<u16>,
    latency_fault: Option<LatencyFaultTable>,
    available: impl Fn(u16) -> bool,
) -> usize {
    assert!(!queues.is_empty());
    let n = queues.len() as u32;
    if latency_fault == Some(LatencyFaultTable::Classic) {
        let start = counter.wrapping_add(1);
        *counter = start;
        if let Some(i) = (0..n).find(|&i| available(queues[(start.wrapping_add(i) % n) as usize])) {
            return (start.wrapping_add(i) % n) as usize;
        }
    }
    let mut next = || {
        *counter = counter.wrapping_add(1);
        (*counter % n) as usize
    };
    match latency_fault {
        None => {}
        Some(LatencyFaultTable::Classic) => return next(),
        Some(LatencyFaultTable::Modern) => {
            for _ in 0..n {
                let i = next();
                if available(queues[i]) && Some(queues[i]) != last_failed {
                    return i;
                }
            }
        }
    }
    if last_failed.is_some() {
        for _ in 0..n {
            let i = next();
            if Some(queues[i]) != last_failed {
                return i;
            }
        }
    }
    next()
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
        assert_eq!(queues[select_queue(&queues, &mut counter, None, None, |_| true)], 0);
        assert_eq!(queues[select_queue(&queues, &mut counter, None, None, |_| true)], 0);
        // Broker 0 failed: skip positions 3 (broker 0) and land on 4 (broker 1).
        assert_eq!(queues[select_queue(&queues, &mut counter, Some(0), None, |_| true)], 1);
        assert_eq!(counter, 4);
    }

    #[test]
    fn classic_latency_fault_takes_the_first_available_from_one_counter_step() {
        let queues = [0u16, 1, 2];
        let mut counter = 0;
        // Start at position 1; broker 1 isolated: position 2, counter advanced once only.
        assert_eq!(queues[select_queue(&queues, &mut counter, None, Some(LatencyFaultTable::Classic), |g| g != 1)], 2);
        assert_eq!(counter, 1);
        // The last failed broker is not skipped if available.
        assert_eq!(queues[select_queue(&queues, &mut counter, Some(2), Some(LatencyFaultTable::Classic), |_| true)], 2);
        // None available: the counter has stepped once (to 3), plain round-robin steps again.
        assert_eq!(queues[select_queue(&queues, &mut counter, None, Some(LatencyFaultTable::Classic), |_| false)], 1);
    }

    #[test]
    fn modern_latency_fault_prefers_available_brokers_then_any() {
        let queues = [0u16, 1, 2];
        let mut counter = 0;
        let m = Some(LatencyFaultTable::Modern);
        assert_eq!(queues[select_queue(&queues, &mut counter, None, m, |g| g == 2)], 2);
        // Nothing available: a full lap of the counter, then the next queue whatever it is.
        assert_eq!(queues[select_queue(&queues, &mut counter, None, m, |_| false)], 0);
        assert_eq!(counter, 6);
        // Nothing available and broker 1 failed last: the next queue not on broker 1.
        assert_eq!(queues[select_queue(&queues, &mut counter, Some(1), m, |_| false)], 2);
    }
}
