//! The push consumer (clustering mode; MODEL.md 6 and 6a, docs/ROCKETMQ-NOTES.md 11–16),
//! hosted by a client process beside its client instance, whose route it shares. It
//! heartbeats every broker of its route, rebalances every 20 s and on a broker's notice,
//! keeps one long-polling pull in flight per owned queue, and commits its offsets.
//! Source: client/.../DefaultMQPushConsumerImpl.java, RebalanceImpl.java, PullAPIWrapper.java,
//! MQClientInstance.java, RemoteBrokerOffsetStore.java.

use std::collections::{BTreeMap, VecDeque};

use rand::Rng;

use crate::engine::SimTime;
use crate::net::{ChanId, Connect, End, LinkClass};

use super::allocate;
use super::client::{ClientInstance, RouteNews};
use super::config::ConsumerGroup;
use super::context::Ctx;
use super::message::{ConsumerTimer, MASTER_ID, Msg, Timer};
use super::observe::Observation;
use super::route::{BrokerAddr, NO_ROUTE, Route, RouteId};

/// `pullBatchSize`.
pub const PULL_BATCH_SIZE: u32 = 32;
/// `pullThresholdForQueue`: cached messages per queue above which a pull waits.
const PULL_THRESHOLD_FOR_QUEUE: u32 = 1_000;
/// `PULL_TIME_DELAY_MILLS_WHEN_CACHE_FLOW_CONTROL`.
const FLOW_CONTROL_DELAY_US: SimTime = 50_000;
/// The queue is dropped after PULL_OFFSET_MOVED and taken up again this much later.
const OFFSET_MOVED_DELAY_US: SimTime = 10_000_000;
/// `scanResponseTable` fails an async request once `begin + timeout + 1 s` has passed; it
/// runs every second.
const RESPONSE_SCAN_SLACK_US: SimTime = 1_000_000;
const RESPONSE_SCAN_PERIOD_US: SimTime = 1_000_000;
/// `queryConsumerOffset`'s timeout.
const QUERY_OFFSET_TIMEOUT_US: SimTime = 5_000_000;

/// A delivered batch waiting for the consume pool: its queue, offsets [from, to) and the
/// milliseconds its first and last message were stored.
type Batch = (QueueRef, (u32, u32), (u32, u32));

/// How a broker answered a pull.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// `count` messages from the pull's offset, stored in these milliseconds (first, last).
    Found {
        count: u32,
        stored_ms: (u32, u32),
    },
    NoNew {
        next: u32,
    },
    OffsetMoved {
        next: u32,
    },
}

/// A queue of the topic within its broker group: (broker group, queue id).
pub type QueueRef = (u16, u16);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pull {
    /// Waiting for its start offset (QUERY_CONSUMER_OFFSET).
    Starting {
        req: u32,
    },
    /// Waiting for a timer before the next pull.
    Delayed,
    InFlight {
        req: u32,
        sent_us: SimTime,
    },
}

#[derive(Clone, Copy, Debug)]
struct Owned {
    /// The offset the next pull asks for.
    next: u32,
    /// Consumed up to here (exclusive): what a persist commits.
    consumed: u32,
    /// What the next pull carries as its commit: the consumed offset before the batch the
    /// previous pull returned (the consume pool has not run when the next pull leaves).
    carry: u32,
    /// Delivered but not yet consumed (consume_rate > 0).
    cached: u32,
    pull: Pull,
}

pub struct Consumer {
    client: u32,
    /// The consumer group (its place in `consumers`) and this consumer's place in it: the
    /// order of RocketMQ's client ids, which the zero-padded names keep.
    group: u16,
    member: u16,
    topic: u16,
    route: RouteId,
    /// Per broker address: the channel this client uses to it.
    chans: BTreeMap<BrokerAddr, ChanId>,
    owned: BTreeMap<QueueRef, Owned>,
    /// Requests in flight: pull and offset-query ids → their queue.
    requests: BTreeMap<u32, QueueRef>,
    next_req: u32,
    /// The consumer-list call of the rebalance in progress.
    rebalancing: Option<u32>,
    /// A notice arrived during a rebalance: run again at once when it ends.
    rebalance_again: bool,
    /// Consumption (consume_rate > 0): busy until, and the batches delivered and not yet
    /// consumed, in order (a timer each).
    consume_busy_until_us: SimTime,
    consuming: VecDeque<Batch>,
    /// The grid `scanResponseTable` runs on (started with the client).
    scan_origin_us: SimTime,
}

impl Consumer {
    pub fn new(client: u32, group: u16, member: u16, config: &ConsumerGroup) -> Consumer {
        Consumer {
            client,
            group,
            member,
            topic: config.topic,
            route: NO_ROUTE,
            chans: BTreeMap::new(),
            owned: BTreeMap::new(),
            requests: BTreeMap::new(),
            next_req: 0,
            rebalancing: None,
            rebalance_again: false,
            consume_busy_until_us: 0,
            consuming: VecDeque::new(),
            scan_origin_us: 0,
        }
    }

    fn config<'c>(&self, ctx: &Ctx<'c>) -> &'c ConsumerGroup {
        &ctx.config().consumers[usize::from(self.group)]
    }

    fn take_req(&mut self) -> u32 {
        self.next_req = self.next_req.wrapping_add(1);
        self.next_req
    }

    /// `DefaultMQPushConsumerImpl.start`: a route query for the topic (the instance's), a
    /// heartbeat to every broker, an immediate rebalance; then the periodic tasks.
    pub fn on_start(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance) {
        *self = Consumer::new(self.client, self.group, self.member, self.config(ctx));
        self.scan_origin_us = ctx.now() + 3 * RESPONSE_SCAN_PERIOD_US;
        let timing = &ctx.config().timing;
        let (heartbeat_first_us, persist_first_us) =
            (timing.consumer_heartbeat_initial_delay_us, timing.offset_persist_initial_delay_us);
        ctx.set_timer_in(heartbeat_first_us, Timer::Consumer(ConsumerTimer::Heartbeat));
        ctx.set_timer_in(persist_first_us, Timer::Consumer(ConsumerTimer::Persist));
        let news = inst.query(ctx);
        self.on_route_news(ctx, inst, news);
    }

    pub fn on_route_news(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance, news: RouteNews) {
        let first = self.route == NO_ROUTE;
        if let Some(route) = news.changed {
            self.route = route;
            if first {
                self.heartbeat(ctx);
                self.rebalance(ctx, inst);
            }
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance, timer: ConsumerTimer) {
        match timer {
            ConsumerTimer::Heartbeat => {
                let period_us = ctx.config().timing.consumer_heartbeat_us;
                ctx.set_timer_in(period_us, Timer::Consumer(ConsumerTimer::Heartbeat));
                self.heartbeat(ctx);
            }
            ConsumerTimer::Persist => {
                let period_us = ctx.config().timing.offset_persist_us;
                ctx.set_timer_in(period_us, Timer::Consumer(ConsumerTimer::Persist));
                self.persist_all(ctx);
            }
            ConsumerTimer::Rebalance => self.rebalance(ctx, inst),
            ConsumerTimer::ListTimedOut { req } => {
                if self.rebalancing == Some(req) {
                    self.rebalance_ended(ctx, inst);
                }
            }
            ConsumerTimer::PullNow { group, queue } => {
                if self.owned.get(&(group, queue)).is_some_and(|o| o.pull == Pull::Delayed) {
                    self.pull(ctx, inst, (group, queue));
                }
            }
            ConsumerTimer::RequestTimedOut { req } => {
                if let Some(queue) = self.requests.remove(&req) {
                    self.request_failed(ctx, queue, req);
                }
            }
            ConsumerTimer::Consumed => {
                let (queue, range, stored_ms) = self.consuming.pop_front().expect("a batch per timer");
                self.consumed(ctx, queue, range, stored_ms);
            }
        }
    }

    /// A message from a broker (or the close of a broker channel).
    pub fn on_message(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance, chan: ChanId, msg: Msg) {
        match msg {
            Msg::ConsumerIdsChanged { .. } => self.rebalance(ctx, inst),
            Msg::ConsumerListReply { req, members } if self.rebalancing == Some(req) => {
                self.allocate(ctx, inst, members);
                self.rebalance_ended(ctx, inst);
            }
            Msg::ConsumerListReply { .. } => {}
            Msg::OffsetReply { req, start } => {
                let Some(queue) = self.requests.remove(&req) else { return };
                let Some(owned) = self.owned.get_mut(&queue) else { return };
                if owned.pull != (Pull::Starting { req }) {
                    return;
                }
                *owned = Owned { next: start, consumed: start, carry: start, cached: 0, pull: Pull::Delayed };
                self.pull(ctx, inst, queue);
            }
            Msg::PullFound { req, first_stored_ms, span_ms, count } => {
                let stored_ms = (first_stored_ms, first_stored_ms + u32::from(span_ms));
                self.pull_answered(ctx, inst, req, Answer::Found { count: u32::from(count), stored_ms });
            }
            Msg::PullNoNew { req, next } => self.pull_answered(ctx, inst, req, Answer::NoNew { next }),
            Msg::PullOffsetMoved { req, next } => self.pull_answered(ctx, inst, req, Answer::OffsetMoved { next }),
            Msg::Close { reset } => self.channel_closed(ctx, chan, reset),
            other => unreachable!("consumer got {other:?}"),
        }
    }

    /// Every address of every broker in the route gets a heartbeat (slaves too: this client
    /// has a consumer), over the channel in use or a new one.
    fn heartbeat(&mut self, ctx: &mut Ctx) {
        let Some(route) = ctx.routes().get(self.route) else { return };
        let addrs: Vec<BrokerAddr> = route.brokers.iter().map(|b| b.addr).collect();
        for addr in addrs {
            if let Ok(chan) = self.channel(ctx, addr) {
                ctx.transmit(chan, End::Server, Msg::ConsumerHeartbeat { group: self.group, member: self.member }, 0);
            }
        }
    }

    /// The channel to `addr`, connecting if needed; when the connect does not open, how long
    /// it takes to fail (refused: a round trip; a silent host: the connect timeout).
    fn channel(&mut self, ctx: &mut Ctx, addr: BrokerAddr) -> Result<ChanId, SimTime> {
        if let Some(&chan) = self.chans.get(&addr) {
            return Ok(chan);
        }
        match ctx.connect(ctx.config().layout.broker_node(addr), LinkClass::ClientBroker) {
            Connect::Open(chan) => {
                self.chans.insert(addr, chan);
                Ok(chan)
            }
            Connect::Refused { after_us } => Err(after_us),
            Connect::TimedOut => Err(ctx.config().timing.connect_timeout_us),
        }
    }

    /// `RebalanceService`: one run; a run already in progress makes it run again at its end.
    fn rebalance(&mut self, ctx: &mut Ctx, _inst: &mut ClientInstance) {
        if self.rebalancing.is_some() {
            self.rebalance_again = true;
            return;
        }
        let Some(route) = ctx.routes().get(self.route) else { return };
        // findConsumerIdList: a random broker group of the route, its master, else a random
        // address of it.
        let groups = route_groups(route);
        let listed: Vec<(u16, u8, BrokerAddr)> = route.brokers.iter().map(|b| (b.group, b.broker_id, b.addr)).collect();
        let group = groups[ctx.rng().gen_range(0..groups.len())];
        let addrs: Vec<(u8, BrokerAddr)> =
            listed.iter().filter(|b| b.0 == group).map(|&(_, id, addr)| (id, addr)).collect();
        let addr = match addrs.iter().find(|&&(id, _)| id == MASTER_ID) {
            Some(&(_, addr)) => addr,
            None => addrs[ctx.rng().gen_range(0..addrs.len())].1,
        };
        let req = self.take_req();
        self.rebalancing = Some(req);
        let api_timeout_us = ctx.config().timing.client_api_timeout_us;
        let wait_us = match self.channel(ctx, addr) {
            Ok(chan) => {
                ctx.transmit(chan, End::Server, Msg::ConsumerList { req, group: self.group }, 0);
                api_timeout_us
            }
            Err(fails_us) => fails_us.min(api_timeout_us),
        };
        ctx.set_timer_in(wait_us, Timer::Consumer(ConsumerTimer::ListTimedOut { req }));
    }

    /// The run ended (answered or failed): the next in 20 s, or at once after a notice.
    fn rebalance_ended(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance) {
        self.rebalancing = None;
        if std::mem::take(&mut self.rebalance_again) {
            self.rebalance(ctx, inst);
        } else {
            let wait_us = ctx.config().timing.rebalance_interval_us;
            ctx.set_timer_in(wait_us, Timer::Consumer(ConsumerTimer::Rebalance));
        }
    }

    /// `rebalanceByTopic` with the consumer list one broker gave (`members`: a bit per place).
    fn allocate(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance, members: u32) {
        let Some(route) = ctx.routes().get(self.route) else { return };
        let queues_per_group = ctx.config().topics[usize::from(self.topic)].queues_per_broker;
        let all: Vec<QueueRef> =
            route_groups(route).into_iter().flat_map(|g| (0..queues_per_group).map(move |q| (g, q))).collect();
        let consumers = members.count_ones() as usize;
        if all.is_empty() || consumers == 0 {
            return;
        }
        let index =
            (members >> self.member & 1 == 1).then(|| (members & ((1u32 << self.member) - 1)).count_ones() as usize);
        let mine = &all[allocate::averagely(all.len(), consumers, index)];
        let dropped: Vec<QueueRef> = self.owned.keys().filter(|q| !mine.contains(q)).copied().collect();
        let added: Vec<QueueRef> = mine.iter().filter(|q| !self.owned.contains_key(q)).copied().collect();
        for queue in &dropped {
            // removeUnnecessaryMessageQueue: persist the offset, then forget the queue.
            self.commit(ctx, *queue);
            self.owned.remove(queue);
        }
        for &queue in &added {
            self.start_queue(ctx, inst, queue);
        }
        if !dropped.is_empty() || !added.is_empty() {
            // messageQueueChanged: a heartbeat to every broker at once.
            self.heartbeat(ctx);
        }
    }

    /// A newly owned queue asks the broker for its committed offset first.
    fn start_queue(&mut self, ctx: &mut Ctx, _inst: &mut ClientInstance, queue: QueueRef) {
        let req = self.take_req();
        self.owned.insert(queue, Owned { next: 0, consumed: 0, carry: 0, cached: 0, pull: Pull::Starting { req } });
        let Some((addr, _)) = self.read_addr(ctx, queue.0) else {
            // No address: the query fails; the next rebalance takes the queue up again.
            self.owned.remove(&queue);
            return;
        };
        self.requests.insert(req, queue);
        let wait_us = match self.channel(ctx, addr) {
            Ok(chan) => {
                let msg = Msg::QueryOffset { req, queue: queue.1 };
                ctx.transmit(chan, End::Server, msg, 0);
                QUERY_OFFSET_TIMEOUT_US
            }
            Err(fails_us) => fails_us.min(QUERY_OFFSET_TIMEOUT_US),
        };
        ctx.set_timer_in(wait_us, Timer::Consumer(ConsumerTimer::RequestTimedOut { req }));
    }

    /// `findBrokerAddressInSubscribe`: the group's master in the route, else its lowest-id
    /// broker. The flag says whether it is the master.
    fn read_addr(&self, ctx: &Ctx, group: u16) -> Option<(BrokerAddr, bool)> {
        let route = ctx.routes().get(self.route)?;
        route.brokers.iter().find(|b| b.group == group).map(|b| (b.addr, b.broker_id == MASTER_ID))
    }

    fn pull(&mut self, ctx: &mut Ctx, _inst: &mut ClientInstance, queue: QueueRef) {
        let Some(owned) = self.owned.get(&queue).copied() else { return };
        if owned.cached > PULL_THRESHOLD_FOR_QUEUE {
            self.delay_pull(ctx, queue, FLOW_CONTROL_DELAY_US);
            return;
        }
        let retry_us = ctx.config().timing.pull_retry_delay_us;
        let Some((addr, master)) = self.read_addr(ctx, queue.0) else {
            ctx.observe(Observation::PullFailed { group: self.group, topic: self.topic, queue });
            self.delay_pull(ctx, queue, retry_us);
            return;
        };
        let req = self.take_req();
        self.requests.insert(req, queue);
        self.owned.get_mut(&queue).expect("owned").pull = Pull::InFlight { req, sent_us: ctx.now() };
        let timeout_us = ctx.config().timing.pull_timeout_us;
        match self.channel(ctx, addr) {
            Ok(chan) => {
                // The commit rides on pulls to a master only (PullAPIWrapper clears it for a
                // slave), once the consumer has an offset to commit.
                if master && owned.carry > 0 {
                    let commit = Msg::CommitOffset { queue: queue.1, offset: owned.carry };
                    ctx.transmit(chan, End::Server, commit, 0);
                }
                let msg = Msg::Pull { req, offset: owned.next, queue: queue.1 };
                ctx.transmit(chan, End::Server, msg, 0);
                let fails_at_us = self.response_scan_after(ctx.now() + timeout_us + RESPONSE_SCAN_SLACK_US);
                ctx.set_timer_at(fails_at_us, Timer::Consumer(ConsumerTimer::RequestTimedOut { req }));
            }
            Err(fails_us) => ctx.set_timer_in(fails_us, Timer::Consumer(ConsumerTimer::RequestTimedOut { req })),
        }
    }

    /// The first run of `scanResponseTable` at or after `at_us`.
    fn response_scan_after(&self, at_us: SimTime) -> SimTime {
        let since_us = at_us.saturating_sub(self.scan_origin_us);
        self.scan_origin_us + since_us.div_ceil(RESPONSE_SCAN_PERIOD_US) * RESPONSE_SCAN_PERIOD_US
    }

    fn delay_pull(&mut self, ctx: &mut Ctx, queue: QueueRef, delay_us: SimTime) {
        if let Some(owned) = self.owned.get_mut(&queue) {
            owned.pull = Pull::Delayed;
            let (group, queue) = queue;
            ctx.set_timer_in(delay_us, Timer::Consumer(ConsumerTimer::PullNow { group, queue }));
        }
    }

    fn pull_answered(&mut self, ctx: &mut Ctx, inst: &mut ClientInstance, req: u32, answer: Answer) {
        let Some(queue) = self.requests.remove(&req) else { return };
        let rate = self.config(ctx).consume_rate_per_s;
        let Some(owned) = self.owned.get_mut(&queue) else { return };
        let Pull::InFlight { req: r, sent_us: asked_us } = owned.pull else { return };
        if r != req {
            return;
        }
        match answer {
            Answer::Found { count, stored_ms } => {
                let (from, to) = (owned.next, owned.next + count);
                owned.carry = owned.consumed;
                owned.next = to;
                ctx.observe(Observation::Delivered { group: self.group, topic: self.topic, queue, to, asked_us });
                if rate > 0.0 {
                    owned.cached += count;
                    let start_us = self.consume_busy_until_us.max(ctx.now());
                    let busy_us = (f64::from(count) / rate * 1e6).round() as SimTime;
                    self.consume_busy_until_us = start_us + busy_us;
                    self.consuming.push_back((queue, (from, to), stored_ms));
                    ctx.set_timer_at(self.consume_busy_until_us, Timer::Consumer(ConsumerTimer::Consumed));
                } else {
                    owned.consumed = to;
                    self.observe_consumed(ctx, queue, (from, to), stored_ms);
                }
                self.pull(ctx, inst, queue);
            }
            Answer::NoNew { next } => {
                owned.next = next;
                self.pull(ctx, inst, queue);
            }
            Answer::OffsetMoved { next } => {
                owned.next = next;
                owned.consumed = owned.consumed.min(next);
                self.delay_pull(ctx, queue, OFFSET_MOVED_DELAY_US);
            }
        }
    }

    /// A consumption of [from, to) finished (consume_rate > 0).
    fn consumed(&mut self, ctx: &mut Ctx, queue: QueueRef, range: (u32, u32), stored_ms: (u32, u32)) {
        let (from, to) = range;
        self.observe_consumed(ctx, queue, range, stored_ms);
        if let Some(owned) = self.owned.get_mut(&queue) {
            owned.cached = owned.cached.saturating_sub(to - from);
            owned.consumed = owned.consumed.max(to);
        }
    }

    /// The first and last message were stored in these milliseconds of the run.
    fn observe_consumed(&self, ctx: &mut Ctx, queue: QueueRef, (from, to): (u32, u32), stored_ms: (u32, u32)) {
        ctx.observe(Observation::Consumed { group: self.group, topic: self.topic, queue, from, to, stored_ms });
    }

    /// A pull or offset query got no answer in time, or could not be sent.
    fn request_failed(&mut self, ctx: &mut Ctx, queue: QueueRef, req: u32) {
        let Some(owned) = self.owned.get(&queue).copied() else { return };
        match owned.pull {
            Pull::InFlight { req: r, .. } if r == req => {
                ctx.observe(Observation::PullFailed { group: self.group, topic: self.topic, queue });
                let retry_us = ctx.config().timing.pull_retry_delay_us;
                self.delay_pull(ctx, queue, retry_us);
            }
            // A failed offset query: the queue is not taken this round.
            Pull::Starting { req: r } if r == req => {
                self.owned.remove(&queue);
            }
            _ => {}
        }
    }

    /// A broker channel closed or reset: requests on it fail at once with a reset or with
    /// 5.x; 4.x waits for their timeouts.
    fn channel_closed(&mut self, ctx: &mut Ctx, chan: ChanId, reset: bool) {
        let Some((&addr, _)) = self.chans.iter().find(|&(_, &c)| c == chan) else { return };
        self.chans.remove(&addr);
        if !(reset || ctx.config().timing.fail_fast_on_peer_close) {
            return;
        }
        let broker_group = ctx.config().layout.broker_position(addr).0;
        let failed: Vec<(u32, QueueRef)> =
            self.requests.iter().filter(|&(_, q)| q.0 == broker_group).map(|(&r, &q)| (r, q)).collect();
        for (req, queue) in failed {
            self.requests.remove(&req);
            self.request_failed(ctx, queue, req);
        }
    }

    /// `persistAllConsumerOffset`: UPDATE_CONSUMER_OFFSET, oneway, per owned queue.
    fn persist_all(&mut self, ctx: &mut Ctx) {
        let queues: Vec<QueueRef> = self.owned.keys().copied().collect();
        for queue in queues {
            self.commit(ctx, queue);
        }
    }

    /// One oneway commit to the queue's master, else (no master in the route) to a slave.
    fn commit(&mut self, ctx: &mut Ctx, queue: QueueRef) {
        let Some(owned) = self.owned.get(&queue).copied() else { return };
        if matches!(owned.pull, Pull::Starting { .. }) {
            return;
        }
        let Some((addr, _)) = self.read_addr(ctx, queue.0) else { return };
        if let Some(chan) = self.chans.get(&addr).copied() {
            let msg = Msg::CommitOffset { queue: queue.1, offset: owned.consumed };
            ctx.transmit(chan, End::Server, msg, 0);
        }
    }
}

/// The broker groups a route lists (each hosts the topic's queues, masterless or not),
/// ascending: RocketMQ sorts queues by broker name, which the group names keep in index order.
fn route_groups(route: &Route) -> Vec<u16> {
    let mut groups: Vec<u16> = route.brokers.iter().map(|b| b.group).collect();
    groups.dedup();
    groups
}
