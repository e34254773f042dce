//! A broker's message store and what consumers ask of it (docs/ROCKETMQ-NOTES.md 11–17):
//! per queue its next offset and when its messages were stored (counts and millisecond
//! stamps, not messages), long-polling pulls parked until a message arrives or the
//! suspend time passes (checked every 5 s), the consumer table kept by heartbeats and
//! channel closes, committed offsets, and the master's push to its slaves.
//! The store survives a restart (it is on disk); the tables in memory do not.
//! Source: broker/.../processor/PullMessageProcessor.java, longpolling/PullRequestHoldService.java,
//! client/ConsumerManager.java, client/ClientHousekeepingService.java, store/.../ha/HAConnection.java.

use std::collections::{BTreeMap, VecDeque};

use crate::engine::SimTime;
use crate::net::{ChanId, End};

use super::config::{Failover, Role};
use super::consumer::PULL_BATCH_SIZE;
use super::context::Ctx;
use super::message::{BrokerTimer, Msg, Timer};
use super::observe::Observation;

/// `PullRequestHoldService` re-checks parked pulls this often (`longPollingEnable`).
const HOLD_CHECK_US: SimTime = 5_000_000;
/// `ClientHousekeepingService.scanExceptionChannel`: first after 10 s, then every 10 s.
const CLIENT_SCAN_US: SimTime = 10_000_000;
/// `HAConnection.WriteSocketService` waits this long once its slave has caught up.
const HA_PUSH_WAIT_US: SimTime = 100_000;
/// `slaveTimeout` (MessageStoreConfig): a SYNC_MASTER answers FLUSH_SLAVE_TIMEOUT after this.
const SLAVE_TIMEOUT_US: SimTime = 3_000_000;
/// `maxWaitAckTimeMs` (DLedgerConfig): an append without a quorum fails after this.
const DLEDGER_MAX_WAIT_ACK_US: SimTime = 2_500_000;

/// A queue of a topic on this broker: (topic, queue id).
pub type LocalQueue = (u16, u16);

#[derive(Default)]
struct Log {
    end: u32,
    /// (offset, the millisecond it was stored): one entry per millisecond that stored
    /// anything; offsets between two entries take the earlier's millisecond.
    stamps: VecDeque<(u32, u32)>,
}

impl Log {
    fn append(&mut self, stored_ms: u32, keep_stamps: bool) {
        if keep_stamps && self.stamps.back().is_none_or(|&(_, ms)| ms != stored_ms) {
            self.stamps.push_back((self.end, stored_ms));
        }
        self.end += 1;
    }

    /// Takes the master's push up to `end`, its first message stored at `first_stored_ms`: the
    /// push's messages all get that stamp (they were stored within one push wait, 100 ms).
    /// A push that ends before this log does comes from a new master after a failover: what
    /// only this log held is truncated (the HA client's truncation to the master's offset).
    fn extend(&mut self, end: u32, first_stored_ms: u32) {
        if end < self.end {
            self.end = end;
            while self.stamps.len() > 1 && self.stamps.back().is_some_and(|&(o, _)| o >= end) {
                self.stamps.pop_back();
            }
            return;
        }
        if end == self.end {
            return;
        }
        self.stamps.push_back((self.end, first_stored_ms));
        self.end = end;
    }

    /// The store milliseconds of the first and last message of [from, to).
    fn stored_ms(&self, from: u32, to: u32) -> (u32, u32) {
        let at = |offset: u32| {
            let i = self.stamps.partition_point(|&(o, _)| o <= offset);
            i.checked_sub(1).map_or(0, |i| self.stamps[i].1)
        };
        (at(from), at(to.saturating_sub(1)))
    }

    /// Forgets stamps no group will read again.
    fn trim_below(&mut self, offset: u32) {
        while self.stamps.len() > 1 && self.stamps[1].0 <= offset {
            self.stamps.pop_front();
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Held {
    chan: ChanId,
    req: u32,
    offset: u32,
    expires_us: SimTime,
}

/// A send stored here whose acknowledgement waits for the slaves.
#[derive(Clone, Copy, Debug)]
pub struct Waiting {
    pub chan: ChanId,
    pub slot: u32,
    pub attempt: u32,
    /// The queue's end once it was stored: acknowledged when enough slaves hold that much.
    end: u32,
    deadline_us: SimTime,
}

impl Waiting {
    pub fn new(chan: ChanId, slot: u32, attempt: u32) -> Waiting {
        Waiting { chan, slot, attempt, end: 0, deadline_us: 0 }
    }
}

#[derive(Clone, Copy, Debug)]
struct ClientEntry {
    chan: ChanId,
    last_heartbeat_us: SimTime,
}

#[derive(Default)]
pub struct Store {
    /// The broker group this store belongs to.
    group: u16,
    logs: BTreeMap<LocalQueue, Log>,
    /// Memory, lost at a restart:
    held: BTreeMap<LocalQueue, Vec<Held>>,
    hold_check_armed: bool,
    /// Per consumer group: its members (by place) and their channels.
    clients: BTreeMap<u16, BTreeMap<u16, ClientEntry>>,
    client_scan_armed: bool,
    /// (consumer group, topic, queue id) → committed offset.
    committed: BTreeMap<(u16, u16, u16), u32>,
    /// A master's push to each slave: the slave's channel and per queue what was sent.
    slaves: BTreeMap<ChanId, BTreeMap<LocalQueue, u32>>,
    push_armed: bool,
    /// Sync and DLedger groups: per slave channel and queue what it says it holds, and the
    /// sends waiting for enough of them.
    acked: BTreeMap<ChanId, BTreeMap<LocalQueue, u32>>,
    waiting: BTreeMap<LocalQueue, VecDeque<Waiting>>,
    ack_timer_armed: bool,
}

impl Store {
    pub fn new(group: u16) -> Store {
        Store { group, ..Store::default() }
    }

    /// A restart: what is on disk stays, the tables in memory go.
    pub fn restart(&mut self) {
        let logs = std::mem::take(&mut self.logs);
        *self = Store { logs, ..Store::new(self.group) };
    }

    /// The messages this store holds over all its queues: the log end it elects with.
    pub fn ledger_end(&self) -> u32 {
        self.logs.values().fold(0u32, |sum, log| sum.saturating_add(log.end))
    }

    /// Each of the group's queues and where its log ends here.
    pub fn queue_ends(&self, ctx: &Ctx) -> Vec<(LocalQueue, u32)> {
        let queues = ctx.config().group_queues(self.group);
        queues.into_iter().map(|q| (q, self.logs.get(&q).map_or(0, |l| l.end))).collect()
    }

    /// No longer the master: it pushes to no one, and the sends waiting for a quorum fail.
    pub fn demote(&mut self, ctx: &mut Ctx) {
        self.slaves.clear();
        self.acked.clear();
        self.push_armed = false;
        for w in std::mem::take(&mut self.waiting).into_values().flatten() {
            ctx.transmit(w.chan, End::Client, Msg::SendRejected { slot: w.slot, attempt: w.attempt }, 0);
        }
    }

    /// Acknowledges the send just stored in `queue` (`waiting` says to whom): at once when no
    /// slave must hold it (or a SYNC_MASTER has none connected: SLAVE_NOT_AVAILABLE), else
    /// once enough slaves report it.
    pub fn acknowledge(&mut self, ctx: &mut Ctx, queue: LocalQueue, waiting: Waiting, service_us: SimTime) {
        let needed = ctx.config().slave_acks_needed(self.group);
        let end = self.logs[&queue].end;
        let dledger = ctx.config().failover_of(self.group) == Failover::Dledger;
        if needed == 0 || (!dledger && self.slaves.len() < needed) {
            ctx.transmit(
                waiting.chan,
                End::Client,
                Msg::SendAck { slot: waiting.slot, attempt: waiting.attempt },
                service_us,
            );
            if ctx.config().failover_of(self.group) != Failover::Classic {
                ctx.observe(Observation::Acknowledged { topic: queue.0, group: self.group, queue: queue.1, end });
            }
            return;
        }
        let wait_us = if dledger { DLEDGER_MAX_WAIT_ACK_US } else { SLAVE_TIMEOUT_US };
        let deadline_us = ctx.now() + wait_us;
        self.waiting.entry(queue).or_default().push_back(Waiting { end, deadline_us, ..waiting });
        if !self.ack_timer_armed {
            self.ack_timer_armed = true;
            ctx.set_timer_at(deadline_us, Timer::Broker(BrokerTimer::AckTimeout));
        }
    }

    /// Sends waiting on `queue` that enough slaves now hold are acknowledged.
    fn release(&mut self, ctx: &mut Ctx, queue: LocalQueue) {
        let needed = ctx.config().slave_acks_needed(self.group);
        let mut held: Vec<u32> = self.acked.values().map(|a| a.get(&queue).copied().unwrap_or(0)).collect();
        if held.len() < needed {
            return;
        }
        held.sort_unstable_by(|a, b| b.cmp(a));
        let safe_end = held[needed - 1];
        let Some(waiting) = self.waiting.get_mut(&queue) else { return };
        let mut acked_end = None;
        while let Some(w) = waiting.front().copied().filter(|w| w.end <= safe_end) {
            waiting.pop_front();
            ctx.transmit(w.chan, End::Client, Msg::SendAck { slot: w.slot, attempt: w.attempt }, 0);
            acked_end = Some(w.end);
        }
        if let Some(end) = acked_end {
            ctx.observe(Observation::Acknowledged { topic: queue.0, group: self.group, queue: queue.1, end });
        }
    }

    /// The oldest waiting sends ran out of time: a SYNC_MASTER answers FLUSH_SLAVE_TIMEOUT (a
    /// send result, not an error: the producer is done); a DLedger append fails.
    pub fn ack_timeout(&mut self, ctx: &mut Ctx) {
        let now_us = ctx.now();
        let dledger = ctx.config().failover_of(self.group) == Failover::Dledger;
        let mut next_us = None::<SimTime>;
        for (&queue, waiting) in &mut self.waiting {
            let mut acked_end = None;
            while let Some(w) = waiting.front().copied().filter(|w| w.deadline_us <= now_us) {
                waiting.pop_front();
                let (slot, attempt) = (w.slot, w.attempt);
                let reply = if dledger { Msg::SendRejected { slot, attempt } } else { Msg::SendAck { slot, attempt } };
                ctx.transmit(w.chan, End::Client, reply, 0);
                acked_end = (!dledger).then_some(w.end);
            }
            if let Some(end) = acked_end {
                ctx.observe(Observation::Acknowledged { topic: queue.0, group: self.group, queue: queue.1, end });
            }
            if let Some(w) = waiting.front() {
                next_us = Some(next_us.map_or(w.deadline_us, |n| n.min(w.deadline_us)));
            }
        }
        self.ack_timer_armed = next_us.is_some();
        if let Some(at_us) = next_us {
            ctx.set_timer_at(at_us, Timer::Broker(BrokerTimer::AckTimeout));
        }
    }

    /// A master stored a message of `(topic, queue)`.
    pub fn append(&mut self, ctx: &mut Ctx, group: u16, queue: LocalQueue) {
        let keep_stamps = ctx.config().topic_has_readers(queue.0);
        let stored_ms = (ctx.now() / 1_000) as u32;
        let log = self.logs.entry(queue).or_default();
        log.append(stored_ms, keep_stamps);
        let end = log.end;
        if keep_stamps {
            ctx.observe(Observation::Stored { topic: queue.0, group, queue: queue.1, end });
            self.wake_held(ctx, queue);
        }
        self.arm_push(ctx);
    }

    /// Serves a consumer's request at the server end of `chan`; `master` says this broker's
    /// role. Returns false for a message that is not a consumer's.
    pub fn on_message(&mut self, ctx: &mut Ctx, chan: ChanId, msg: Msg, master: bool, service_us: SimTime) -> bool {
        match msg {
            Msg::ConsumerHeartbeat { group, member } => self.heartbeat(ctx, chan, group, member),
            Msg::ConsumerList { req, group } => {
                let members = self.clients.get(&group).map_or(0, |m| m.keys().fold(0u32, |bits, &i| bits | 1 << i));
                ctx.transmit(chan, End::Client, Msg::ConsumerListReply { req, members }, service_us);
            }
            Msg::QueryOffset { req, queue } => {
                let (group, topic) = consumer_of(ctx, chan);
                // CONSUME_FROM_LAST_OFFSET: a group with no committed offset starts at the end.
                let start = match self.committed.get(&(group, topic, queue)) {
                    Some(&offset) => offset,
                    None => self.logs.get(&(topic, queue)).map_or(0, |l| l.end),
                };
                ctx.transmit(chan, End::Client, Msg::OffsetReply { req, start }, service_us);
            }
            Msg::CommitOffset { queue, offset } => {
                let (group, topic) = consumer_of(ctx, chan);
                self.commit(group, (topic, queue), offset);
            }
            Msg::Pull { req, offset, queue } => {
                let (_, topic) = consumer_of(ctx, chan);
                let expires_us = ctx.now() + ctx.config().timing.pull_suspend_us;
                self.serve_pull(ctx, (topic, queue), Held { chan, req, offset, expires_us }, master, service_us);
            }
            Msg::Replicate { local, end, first_stored_ms } => {
                let (topic, queue) = ctx.config().group_queues(self.group)[usize::from(local)];
                let log = self.logs.entry((topic, queue)).or_default();
                log.extend(end, first_stored_ms);
                if ctx.config().slave_acks_needed(self.group) > 0 {
                    ctx.transmit(chan, End::Server, Msg::ReplicaAck { local, end: log.end }, 0);
                }
                if ctx.config().timing.slave_wakes_pulls_on_arrival {
                    self.wake_held(ctx, (topic, queue));
                }
            }
            Msg::ReplicaHello => {
                self.slaves.insert(chan, BTreeMap::new());
                if ctx.config().slave_acks_needed(self.group) > 0 {
                    self.acked.insert(chan, BTreeMap::new());
                }
                self.arm_push(ctx);
            }
            Msg::ReplicaAck { local, end } => {
                let queue = ctx.config().group_queues(self.group)[usize::from(local)];
                if let Some(acked) = self.acked.get_mut(&chan) {
                    acked.insert(queue, end);
                    self.release(ctx, queue);
                }
            }
            _ => return false,
        }
        true
    }

    fn commit(&mut self, group: u16, queue: LocalQueue, offset: u32) {
        self.committed.insert((group, queue.0, queue.1), offset);
        if let Some(log) = self.logs.get_mut(&queue) {
            log.trim_below(offset);
        }
    }

    /// Answers a pull now when there is something to return (or its offset is wrong), else
    /// parks it.
    fn serve_pull(&mut self, ctx: &mut Ctx, queue: LocalQueue, pull: Held, master: bool, service_us: SimTime) {
        let end = self.logs.get(&queue).map_or(0, |l| l.end);
        if pull.offset < end {
            self.found(ctx, queue, pull, service_us);
        } else if pull.offset > end && master {
            // OFFSET_OVERFLOW_BADLY → PULL_OFFSET_MOVED.
            ctx.transmit(pull.chan, End::Client, Msg::PullOffsetMoved { req: pull.req, next: end }, service_us);
        } else {
            // Nothing yet. A slave asked past its end (the consumer read further on the old
            // master) really answers PULL_RETRY_IMMEDIATELY and the client spins; parking it
            // gives the same deliveries without the storm.
            self.held.entry(queue).or_default().push(pull);
            if !self.hold_check_armed {
                self.hold_check_armed = true;
                ctx.set_timer_in(HOLD_CHECK_US, Timer::Broker(BrokerTimer::HoldCheck));
            }
        }
    }

    fn found(&mut self, ctx: &mut Ctx, queue: LocalQueue, pull: Held, service_us: SimTime) {
        let log = &self.logs[&queue];
        let to = log.end.min(pull.offset + PULL_BATCH_SIZE);
        let (first_stored_ms, last_stored_ms) = log.stored_ms(pull.offset, to);
        let span_ms = u16::try_from(last_stored_ms - first_stored_ms).unwrap_or(u16::MAX);
        let count = (to - pull.offset) as u8;
        let reply = Msg::PullFound { req: pull.req, first_stored_ms, span_ms, count };
        ctx.transmit(pull.chan, End::Client, reply, service_us);
    }

    /// `notifyMessageArriving`: parked pulls of `queue` that now have something get it.
    fn wake_held(&mut self, ctx: &mut Ctx, queue: LocalQueue) {
        let Some(held) = self.held.get_mut(&queue) else { return };
        let end = self.logs.get(&queue).map_or(0, |l| l.end);
        let (ready, waiting): (Vec<Held>, Vec<Held>) = held.drain(..).partition(|h| h.offset < end);
        *held = waiting;
        for pull in ready {
            self.found(ctx, queue, pull, 0);
        }
    }

    /// The 5 s check: parked pulls whose queue grew get their messages, expired ones an
    /// empty answer.
    pub fn hold_check(&mut self, ctx: &mut Ctx) {
        let now_us = ctx.now();
        let queues: Vec<LocalQueue> = self.held.keys().copied().collect();
        for queue in queues {
            self.wake_held(ctx, queue);
            let held = self.held.get_mut(&queue).expect("listed");
            let (expired, waiting): (Vec<Held>, Vec<Held>) = held.drain(..).partition(|h| now_us >= h.expires_us);
            *held = waiting;
            for pull in expired {
                ctx.transmit(pull.chan, End::Client, Msg::PullNoNew { req: pull.req, next: pull.offset }, 0);
            }
        }
        self.held.retain(|_, h| !h.is_empty());
        self.hold_check_armed = !self.held.is_empty();
        if self.hold_check_armed {
            ctx.set_timer_in(HOLD_CHECK_US, Timer::Broker(BrokerTimer::HoldCheck));
        }
    }

    /// A heartbeat on a channel new to the group adds the member and notifies the group.
    fn heartbeat(&mut self, ctx: &mut Ctx, chan: ChanId, group: u16, member: u16) {
        let now_us = ctx.now();
        let members = self.clients.entry(group).or_default();
        let known = members.get(&member).is_some_and(|e| e.chan == chan);
        members.insert(member, ClientEntry { chan, last_heartbeat_us: now_us });
        if !known {
            self.notify(ctx, group);
        }
        if !self.client_scan_armed {
            self.client_scan_armed = true;
            ctx.set_timer_in(CLIENT_SCAN_US, Timer::Broker(BrokerTimer::ClientScan));
        }
    }

    /// NOTIFY_CONSUMER_IDS_CHANGED to every channel of the group at this broker.
    fn notify(&mut self, ctx: &mut Ctx, group: u16) {
        let chans: Vec<ChanId> = self.clients.get(&group).map_or(Vec::new(), |m| m.values().map(|e| e.chan).collect());
        for chan in chans {
            ctx.transmit(chan, End::Client, Msg::ConsumerIdsChanged { group }, 0);
        }
    }

    /// `scanNotActiveChannel`: members silent longer than the expiry go, without a notice.
    pub fn client_scan(&mut self, ctx: &mut Ctx) {
        let (now_us, expiry_us) = (ctx.now(), ctx.config().timing.client_expiry_us);
        for members in self.clients.values_mut() {
            let gone: Vec<u16> =
                members.iter().filter(|(_, e)| now_us - e.last_heartbeat_us > expiry_us).map(|(&m, _)| m).collect();
            for member in gone {
                let entry = members.remove(&member).expect("listed");
                ctx.close(entry.chan, End::Server);
            }
        }
        ctx.set_timer_in(CLIENT_SCAN_US, Timer::Broker(BrokerTimer::ClientScan));
    }

    /// A client's channel closed: its entries go and their groups are notified; its parked
    /// pulls are forgotten; a slave's push stops.
    pub fn channel_closed(&mut self, ctx: &mut Ctx, chan: ChanId) {
        let groups: Vec<u16> = self
            .clients
            .iter_mut()
            .filter_map(|(&g, members)| {
                let before = members.len();
                members.retain(|_, e| e.chan != chan);
                (members.len() < before).then_some(g)
            })
            .collect();
        for group in groups {
            self.notify(ctx, group);
        }
        for held in self.held.values_mut() {
            held.retain(|h| h.chan != chan);
        }
        self.slaves.remove(&chan);
        self.acked.remove(&chan);
        // A producer that closed its channel hears nothing of its sends.
        for waiting in self.waiting.values_mut() {
            waiting.retain(|w| w.chan != chan);
        }
    }

    /// The push waits 100 ms for more to send; a master whose sends wait for their slaves
    /// is woken at once (`GroupTransferService`, `notifyTransferSome`).
    fn arm_push(&mut self, ctx: &mut Ctx) {
        if !self.push_armed && !self.slaves.is_empty() {
            self.push_armed = true;
            let wait_us = if ctx.config().slave_acks_needed(self.group) > 0 { 0 } else { HA_PUSH_WAIT_US };
            ctx.set_timer_in(wait_us, Timer::Broker(BrokerTimer::HaPush));
        }
    }

    /// The master's push: every queue a slave is behind on, from where it was left.
    pub fn push(&mut self, ctx: &mut Ctx) {
        self.push_armed = false;
        let places = ctx.config().group_queues(self.group);
        for (&chan, sent) in &mut self.slaves {
            for (&queue, log) in &self.logs {
                let from = sent.get(&queue).copied().unwrap_or(0);
                if from >= log.end {
                    continue;
                }
                let first_stored_ms = log.stored_ms(from, from + 1).0;
                let local = places.iter().position(|&q| q == queue).expect("a hosted queue") as u16;
                let msg = Msg::Replicate { local, end: log.end, first_stored_ms };
                ctx.transmit(chan, End::Client, msg, 0);
                sent.insert(queue, log.end);
            }
        }
    }
}

/// The consumer group and topic of the consumer at the other end of `chan`: RocketMQ's
/// requests name them; here the sender's place says them.
fn consumer_of(ctx: &Ctx, chan: ChanId) -> (u16, u16) {
    let node = ctx.peer(chan);
    let topic = ctx.config().client_topic(node).expect("consumers are clients");
    let Role::Client { index } = ctx.config().layout.role(node) else { unreachable!("a client") };
    let (group, _) = ctx.config().consumer_of(index).expect("only consumers ask for messages");
    (group, topic)
}
