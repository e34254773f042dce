//! The simulated network: long-lived TCP-like channels between nodes (MODEL.md section 2a).
//!
//! It owns latency, loss, partitions, host state and the open/closed state of each channel's
//! two ends. It never schedules anything itself: each call returns when a message or close
//! signal arrives (or that it never does) and the caller turns that into an event. It knows
//! nothing of RocketMQ; link classes are just labels the model chooses.
//!
//! Invariants:
//! - a channel delivers in order in each direction: arrival times never decrease;
//! - a live channel loses nothing: loss shows as retransmission delay (RTO doubling);
//! - only a partition or a powered-off host drops a message;
//! - a close signal (FIN) travels like data, after what was sent before it; one blocked by a
//!   partition is held and released when the partition heals.

use rand::Rng;

use crate::engine::{LogNormalTable, RngStream, SimTime, US_PER_MS, prefetch, round_us};

pub type NodeIdx = u32;

/// A channel: its slot in the network's table and its serial number. A slot is reused once
/// the channel in it is closed at both ends and nothing on the way or waiting can name it
/// (`Net::reclaim`), so a fleet that reconnects all day holds only the channels it has; the
/// serial, unique for the run, tells a reused slot's channel from the one a stale reference
/// means (an `is_open` of it is false, a `close` does nothing), and orders channels by creation,
/// as they were ordered when ids were never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChanId {
    slot: u32,
    /// The serial's high and low halves: 32-bit aligned, so the id is 12 bytes in the tables
    /// that hold one (a producer's map of channels), not 16.
    serial: [u32; 2],
}

impl ChanId {
    #[inline]
    fn new(slot: u32, serial: u64) -> ChanId {
        ChanId { slot, serial: [(serial >> 32) as u32, serial as u32] }
    }

    #[inline]
    fn serial(self) -> u64 {
        (u64::from(self.serial[0]) << 32) | u64::from(self.serial[1])
    }

    /// Its slot alone (`ChanSlot`).
    #[inline]
    pub fn slot(self) -> ChanSlot {
        ChanSlot(self.slot)
    }
}

/// A channel's slot alone: how a pending event names its channel (a delivery, an idle check).
/// `reclaim` keeps the slot of a channel with an arrival pending, an end at a paused host (whose
/// backlog holds deliveries) or an idle check pending, so the slot still holds that channel
/// when the event is handled (`Net::chan_at`); half a `ChanId`, it keeps every event at 24
/// bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChanSlot(u32);

impl Ord for ChanId {
    fn cmp(&self, other: &ChanId) -> std::cmp::Ordering {
        self.serial().cmp(&other.serial())
    }
}

impl PartialOrd for ChanId {
    fn partial_cmp(&self, other: &ChanId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A node's random streams: one per link class, drawn on the channels it opens, and the one
/// its peers draw from on its behalf (`Net::served_rng`: a server's service time for its
/// request). Aligned so the client-broker stream and the served one share a cache line: a
/// request and its answer draw from that line alone.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub struct NodeStreams {
    pub broker_ns: RngStream,
    pub client_ns: RngStream,
    pub client_broker: RngStream,
    pub served: RngStream,
}

impl NodeStreams {
    #[inline]
    fn link(&mut self, class: LinkClass) -> &mut RngStream {
        match class {
            LinkClass::BrokerNs => &mut self.broker_ns,
            LinkClass::ClientNs => &mut self.client_ns,
            LinkClass::ClientBroker => &mut self.client_broker,
        }
    }
}

/// Labels for groups of links that share latency and loss settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LinkClass {
    BrokerNs = 0,
    ClientNs = 1,
    ClientBroker = 2,
}

impl LinkClass {
    pub const ALL: [LinkClass; 3] = [LinkClass::BrokerNs, LinkClass::ClientNs, LinkClass::ClientBroker];

    pub fn name(self) -> &'static str {
        match self {
            LinkClass::BrokerNs => "broker_ns",
            LinkClass::ClientNs => "client_ns",
            LinkClass::ClientBroker => "client_broker",
        }
    }
}

/// One-way latency of a message, before any retransmission.
#[derive(Clone, Debug, PartialEq)]
pub enum Latency {
    Constant {
        us: u64,
    },
    Uniform {
        min_us: u64,
        max_us: u64,
    },
    /// Parameterised by median and 99th percentile, as people describe real links.
    LogNormal {
        median_us: u64,
        p99_us: u64,
    },
}

/// z such that P(Z <= z) = 0.99 for a standard normal Z.
const Z_P99: f64 = 2.326_347_874;
/// No single delay exceeds this, whatever the distribution's tail says.
const LATENCY_US_MAX: u64 = 60_000_000;

/// Draws latencies from a `Latency`; built once, sampled on the hot path without allocation.
#[derive(Clone, Debug)]
pub enum LatencySampler {
    Constant(u64),
    Uniform(u64, u64),
    LogNormal(LogNormalTable),
}

impl LatencySampler {
    pub fn new(latency: &Latency) -> LatencySampler {
        match *latency {
            Latency::Constant { us } => LatencySampler::Constant(us),
            Latency::Uniform { min_us, max_us } => {
                assert!(min_us <= max_us);
                LatencySampler::Uniform(min_us, max_us)
            }
            Latency::LogNormal { median_us, p99_us } => {
                assert!(median_us > 0 && p99_us >= median_us);
                let mu = (median_us as f64).ln();
                let sigma = ((p99_us as f64).ln() - mu) / Z_P99;
                LatencySampler::LogNormal(LogNormalTable::new(mu, sigma))
            }
        }
    }

    pub fn sample(&self, rng: &mut RngStream) -> u64 {
        let us = match *self {
            LatencySampler::Constant(us) => us,
            LatencySampler::Uniform(lo, hi) => rng.gen_range(lo..=hi),
            LatencySampler::LogNormal(ref d) => round_us(d.sample(rng)),
        };
        us.min(LATENCY_US_MAX)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    pub latency: Latency,
    /// Probability that one transmission of a segment is lost (then retransmitted).
    pub loss: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NetConfig {
    /// Indexed by `LinkClass as usize`.
    pub links: [LinkConfig; 3],
    /// Linux's minimum retransmission timeout; it doubles for each consecutive loss.
    pub rto_min_us: u64,
}

/// The serial of a slot no channel holds.
const FREE: u64 = u64::MAX;

/// How many dead channels in a row that must still wait end a `reclaim`.
const RECLAIM_WAITING_MAX: u32 = 16;

/// Linux `tcp_retries2` = 15: past that many retransmissions the kernel gives up.
const RETRANSMITS_MAX: u32 = 15;
pub const RTO_MIN_US_LINUX: u64 = 200 * US_PER_MS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// Not started yet, or started and running.
    Up,
    /// Stop-the-world: the kernel still accepts and buffers; the process reads nothing.
    Paused,
    /// The process is gone but the host answers: connects are refused at once.
    ProcessDead,
    /// Nothing answers.
    PoweredOff,
}

/// The end of a channel a message travels towards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Client = 0,
    Server = 1,
}

impl End {
    pub fn other(self) -> End {
        match self {
            End::Client => End::Server,
            End::Server => End::Client,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Channel {
    pub client: NodeIdx,
    pub server: NodeIdx,
    pub class: LinkClass,
    open: [bool; 2],
    /// An idle check of the server end is pending (`Net::arm_idle`).
    idle_armed: bool,
    /// Close signals held by a partition (`held_closes`): it cannot be reclaimed meanwhile.
    held: u8,
    /// Which channel holds the slot (`ChanId::serial`); `FREE` when none does.
    serial: u64,
    last_arrival_us: [SimTime; 2],
    /// Last read or write at the server end, for its idle timeout.
    pub server_activity_us: SimTime,
}

impl Channel {
    pub fn node(&self, end: End) -> NodeIdx {
        match end {
            End::Client => self.client,
            End::Server => self.server,
        }
    }

    pub fn is_open(&self, end: End) -> bool {
        self.open[end as usize]
    }
}

/// What happens to something put on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transit {
    Arrives(SimTime),
    /// Dropped: the path is partitioned or the destination host is off.
    Lost,
    /// A close signal blocked by a partition: released by `heal`.
    Held,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connect {
    Open(ChanId),
    /// The host answered with a reset: known after one round trip.
    Refused {
        after_us: u64,
    },
    /// Nothing answered: known after the caller's connect timeout.
    TimedOut,
}

/// Which side of a partition a node is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Not in the partition: it reaches everyone.
    None,
    First,
    Second,
}

struct Partition {
    id: u32,
    /// Per node.
    side: Vec<Side>,
    /// Only messages from the first side to the second are cut.
    one_way: bool,
}

pub struct Net {
    samplers: [LatencySampler; 3],
    loss: [f64; 3],
    rto_min_us: u64,
    hosts: Vec<Host>,
    /// One stream per (node, link class), and every draw on a channel, either way, comes from
    /// the stream of the node that opened it: a server's answers to one client never shift its
    /// delays to another, nor its own traffic's (so a run's clients can be simulated apart from
    /// each other, `model::split`), and a broker's traffic to clients does not shift its delays
    /// to NameServers.
    rngs: Vec<NodeStreams>,
    /// By slot; a slot is reused once its channel is reclaimed.
    channels: Vec<Channel>,
    /// Slots free for the next connect.
    free_slots: Vec<u32>,
    /// Channels closed at both ends, oldest first, waiting for `reclaim`.
    dead: std::collections::VecDeque<ChanId>,
    /// Channels opened so far: the next serial (64 bits: a million producers reconnecting for
    /// 30 days open far more than 2^32).
    opened: u64,
    partitions: Vec<Partition>,
    held_closes: Vec<(ChanId, End)>,
    /// Messages put on the wire (data and resets; close signals are not counted).
    pub messages_sent: u64,
    /// Of those, resets (answers to data for a socket that is gone).
    pub resets_sent: u64,
    /// Of those, dropped by a partition or a powered-off host.
    pub messages_lost: u64,
}

impl Net {
    pub fn new(config: &NetConfig, rngs: Vec<NodeStreams>) -> Net {
        let nodes = rngs.len();
        Net {
            samplers: std::array::from_fn(|i| LatencySampler::new(&config.links[i].latency)),
            loss: std::array::from_fn(|i| config.links[i].loss),
            rto_min_us: config.rto_min_us,
            hosts: vec![Host::Up; nodes],
            rngs,
            channels: Vec::new(),
            free_slots: Vec::new(),
            dead: std::collections::VecDeque::new(),
            opened: 0,
            partitions: Vec::new(),
            held_closes: Vec::new(),
            messages_sent: 0,
            resets_sent: 0,
            messages_lost: 0,
        }
    }

    /// A live channel (not reclaimed: asserted, release builds too, since a stale id would
    /// silently name another pair of nodes).
    #[inline]
    pub fn channel(&self, chan: ChanId) -> &Channel {
        let c = &self.channels[chan.slot as usize];
        assert_eq!(c.serial, chan.serial(), "channel {chan:?} used after it was reclaimed");
        c
    }

    #[inline]
    fn channel_mut(&mut self, chan: ChanId) -> &mut Channel {
        let c = &mut self.channels[chan.slot as usize];
        assert_eq!(c.serial, chan.serial(), "channel {chan:?} used after it was reclaimed");
        c
    }

    /// The channel `chan` names, or `None` once it is reclaimed (closed at both ends).
    #[inline]
    fn live(&self, chan: ChanId) -> Option<&Channel> {
        self.channels.get(chan.slot as usize).filter(|c| c.serial == chan.serial())
    }

    /// True when `chan`'s end `end` is open; false too once the channel is reclaimed.
    #[inline]
    pub fn is_open(&self, chan: ChanId, end: End) -> bool {
        self.live(chan).is_some_and(|c| c.open[end as usize])
    }

    /// True when `node`'s end of `chan` is open (false once reclaimed).
    #[inline]
    pub fn is_open_at(&self, chan: ChanId, node: NodeIdx) -> bool {
        self.live(chan).is_some_and(|c| c.open[if c.client == node { End::Client } else { End::Server } as usize])
    }

    /// Channels in use: open at an end, or closed and not yet reclaimed.
    pub fn channels_held(&self) -> usize {
        self.channels.len() - self.free_slots.len()
    }

    pub fn host(&self, node: NodeIdx) -> Host {
        self.hosts[node as usize]
    }

    pub fn set_host(&mut self, node: NodeIdx, host: Host) {
        self.hosts[node as usize] = host;
    }

    pub fn set_loss(&mut self, class: Option<LinkClass>, loss: f64) {
        assert!((0.0..1.0).contains(&loss), "loss must be in [0, 1)");
        match class {
            Some(class) => self.loss[class as usize] = loss,
            None => self.loss = [loss; 3],
        }
    }

    /// True when no active partition cuts messages from `from` to `to`.
    pub fn reachable(&self, from: NodeIdx, to: NodeIdx) -> bool {
        self.partitions.iter().all(|p| {
            let (a, b) = (p.side[from as usize], p.side[to as usize]);
            !((a == Side::First && b == Side::Second) || (!p.one_way && a == Side::Second && b == Side::First))
        })
    }

    /// True when `node` is cut off from at least one peer by an active partition.
    pub fn partitioned(&self, node: NodeIdx) -> bool {
        self.partitions.iter().any(|p| p.side[node as usize] != Side::None)
    }

    /// The stream `node`'s peers draw from on its behalf (a server's service time for its
    /// request): what one requester asks never shifts the draws made for another.
    #[inline]
    pub fn served_rng(&mut self, node: NodeIdx) -> &mut RngStream {
        &mut self.rngs[node as usize].served
    }

    /// One network delay from `from` to `to` on a link of `class`, retransmissions included.
    pub fn delay_us(&mut self, from: NodeIdx, class: LinkClass) -> u64 {
        let rng = self.rngs[from as usize].link(class);
        let mut us = self.samplers[class as usize].sample(rng);
        let loss = self.loss[class as usize];
        if loss > 0.0 {
            let mut rto_us = self.rto_min_us;
            let mut retransmits = 0;
            while retransmits < RETRANSMITS_MAX && rng.gen_bool(loss) {
                us += rto_us;
                rto_us *= 2;
                retransmits += 1;
            }
        }
        us
    }

    /// Opens a channel from `client` to `server`, as a TCP handshake would end.
    pub fn connect(&mut self, now_us: SimTime, client: NodeIdx, server: NodeIdx, class: LinkClass) -> Connect {
        let both_ways = self.reachable(client, server) && self.reachable(server, client);
        match self.hosts[server as usize] {
            _ if !both_ways => Connect::TimedOut,
            Host::PoweredOff => Connect::TimedOut,
            Host::ProcessDead => {
                // Both ways of the handshake draw from the connecting node's stream.
                let rtt_us = self.delay_us(client, class) + self.delay_us(client, class);
                Connect::Refused { after_us: rtt_us }
            }
            // A paused process's kernel still completes the handshake (the listen backlog).
            Host::Up | Host::Paused => {
                let serial = self.opened;
                self.opened += 1;
                let channel = Channel {
                    client,
                    server,
                    class,
                    open: [true, true],
                    idle_armed: false,
                    held: 0,
                    serial,
                    last_arrival_us: [now_us, now_us],
                    server_activity_us: now_us,
                };
                let slot = match self.free_slots.pop() {
                    Some(slot) => {
                        self.channels[slot as usize] = channel;
                        slot
                    }
                    None => {
                        self.channels.push(channel);
                        u32::try_from(self.channels.len() - 1).expect("fewer than 2^32 channels at once")
                    }
                };
                Connect::Open(ChanId::new(slot, serial))
            }
        }
    }

    /// True when nothing put on `chan` towards `to` is still on its way at `now_us`, and that
    /// end is open: a message sent now is the only one in flight that way.
    pub fn idle_towards(&self, chan: ChanId, to: End, now_us: SimTime) -> bool {
        let c = self.channel(chan);
        c.open[to as usize] && c.last_arrival_us[to as usize] <= now_us
    }

    /// Puts a message on `chan` towards end `to`. The sending end must be open.
    pub fn transmit(&mut self, now_us: SimTime, chan: ChanId, to: End) -> Transit {
        let c = self.channel(chan);
        assert!(c.open[to.other() as usize], "send on a channel closed at the sender");
        let (from, dest) = (c.node(to.other()), c.node(to));
        self.messages_sent += 1;
        if !self.reachable(from, dest) || self.hosts[dest as usize] == Host::PoweredOff {
            self.messages_lost += 1;
            return Transit::Lost;
        }
        Transit::Arrives(self.arrival(now_us, chan, to))
    }

    /// When a message put on `chan` now reaches end `to`: one delay drawn from the stream of
    /// the channel's connecting node, and never before what was sent earlier the same way.
    fn arrival(&mut self, now_us: SimTime, chan: ChanId, to: End) -> SimTime {
        let (opener, class) = (self.channel(chan).client, self.channel(chan).class);
        let delay_us = self.delay_us(opener, class);
        let last = &mut self.channel_mut(chan).last_arrival_us[to as usize];
        *last = (*last).max(now_us + delay_us);
        *last
    }

    /// Closes `chan` at end `at` and sends the close signal to the other end.
    /// Returns `None` when that end was already closed (or the channel reclaimed).
    pub fn close(&mut self, now_us: SimTime, chan: ChanId, at: End) -> Option<Transit> {
        if !self.is_open(chan, at) {
            return None;
        }
        self.close_end(chan, at);
        let c = self.channel(chan);
        let to = at.other();
        let (from, dest) = (c.node(at), c.node(to));
        if !c.open[to as usize] || self.hosts[dest as usize] == Host::PoweredOff {
            return Some(Transit::Lost);
        }
        if !self.reachable(from, dest) {
            self.channel_mut(chan).held += 1;
            self.held_closes.push((chan, to));
            return Some(Transit::Held);
        }
        Some(Transit::Arrives(self.arrival(now_us, chan, to)))
    }

    /// The host of end `at`, whose socket is gone, answers data with an RST towards the other
    /// end. Nothing is sent if that host cannot answer (powered off, or its process paused
    /// with the socket still open), the other end is closed, or the path is cut.
    pub fn reset(&mut self, now_us: SimTime, chan: ChanId, at: End) -> Option<Transit> {
        let c = self.live(chan)?;
        let to = at.other();
        let (from, dest) = (c.node(at), c.node(to));
        let answers = matches!(self.hosts[from as usize], Host::Up | Host::ProcessDead);
        if c.open[at as usize] || !c.open[to as usize] || !answers || !self.reachable(from, dest) {
            return None;
        }
        self.messages_sent += 1;
        self.resets_sent += 1;
        Some(Transit::Arrives(self.arrival(now_us, chan, to)))
    }

    /// Marks end `at` closed without telling anyone: a powered-off host, or the receiving end
    /// of a close signal.
    pub fn close_silently(&mut self, chan: ChanId, at: End) {
        if self.is_open(chan, at) {
            self.close_end(chan, at);
        }
    }

    /// Marks the open end `at` closed; a channel closed at both ends waits to be reclaimed.
    fn close_end(&mut self, chan: ChanId, at: End) {
        let c = self.channel_mut(chan);
        c.open[at as usize] = false;
        if !c.open[at.other() as usize] {
            self.dead.push_back(chan);
        }
    }

    /// Frees the slots of channels closed at both ends that nothing can name any more: no
    /// message or close signal on its way (every arrival is before `now_us`, the clock's time
    /// between two events), no close signal held by a partition, no end at a paused host
    /// (whose backlog may hold a delivery), no idle check pending. What still names such a
    /// channel (a NameServer's table, a request's record) only compares it or asks whether it
    /// is open, which stays false. Oldest first; one that must wait goes to the back, and a
    /// run of those ends the call (they are the newest).
    pub fn reclaim(&mut self, now_us: SimTime) {
        let mut waiting_in_a_row = 0;
        while waiting_in_a_row < RECLAIM_WAITING_MAX
            && let Some(chan) = self.dead.pop_front()
        {
            let c = self.channel(chan);
            let busy = c.last_arrival_us.iter().any(|&at| at >= now_us)
                || c.held > 0
                || c.idle_armed
                || [c.client, c.server].iter().any(|&n| self.hosts[n as usize] == Host::Paused);
            if busy {
                waiting_in_a_row += 1;
                self.dead.push_back(chan);
            } else {
                waiting_in_a_row = 0;
                self.channels[chan.slot as usize].serial = FREE;
                self.free_slots.push(chan.slot);
            }
        }
    }

    /// The channels with an open end at `node`, in creation order (a scan of every channel:
    /// only a crash or shutdown asks).
    pub fn open_channels(&self, node: NodeIdx) -> Vec<(ChanId, End)> {
        let mut open: Vec<(ChanId, End)> = (self.channels.iter().enumerate())
            .filter(|(_, c)| c.serial != FREE && (c.client == node || c.server == node))
            .filter_map(|(slot, c)| {
                let end = if c.client == node { End::Client } else { End::Server };
                let chan = ChanId::new(slot as u32, c.serial);
                c.open[end as usize].then_some((chan, end))
            })
            .collect();
        open.sort_unstable_by_key(|&(chan, _)| chan);
        open
    }

    pub fn touch_server(&mut self, chan: ChanId, now_us: SimTime) {
        self.channel_mut(chan).server_activity_us = now_us;
    }

    /// Marks an idle check of `chan`'s server end pending; false when one already is.
    pub fn arm_idle(&mut self, chan: ChanId) -> bool {
        let c = self.channel_mut(chan);
        !std::mem::replace(&mut c.idle_armed, true)
    }

    /// The channel in `slot`, named by a pending event (asserted in use, release builds too:
    /// `reclaim` frees no slot an event still names).
    #[inline]
    pub fn chan_at(&self, slot: ChanSlot) -> ChanId {
        let serial = self.channels[slot.0 as usize].serial;
        assert_ne!(serial, FREE, "an event names the free slot {}", slot.0);
        ChanId::new(slot.0, serial)
    }

    /// Prefetches (`engine::prefetch`) the channel in `slot`: a hint, it reads nothing.
    #[inline]
    pub fn prefetch_channel(&self, slot: ChanSlot) {
        if let Some(c) = self.channels.get(slot.0 as usize) {
            prefetch(c);
        }
    }

    /// The node at end `to` of whatever channel holds `slot` now, for a prefetch hint only (no
    /// check that the slot still holds the channel an event meant).
    #[inline]
    pub fn hint_node(&self, slot: ChanSlot, to: End) -> Option<NodeIdx> {
        self.channels.get(slot.0 as usize).map(|c| c.node(to))
    }

    /// Prefetches `node`'s streams.
    #[inline]
    pub fn prefetch_streams(&self, node: NodeIdx) {
        if let Some(streams) = self.rngs.get(node as usize) {
            prefetch(streams);
        }
    }

    /// The channel an idle check pending on `slot` is for (asserted pending).
    #[inline]
    pub fn idle_channel(&self, slot: ChanSlot) -> ChanId {
        let chan = self.chan_at(slot);
        assert!(self.channel(chan).idle_armed, "an idle check fired for slot {} with none pending", slot.0);
        chan
    }

    /// The pending idle check of `chan` fired.
    pub fn disarm_idle(&mut self, chan: ChanId) {
        self.channel_mut(chan).idle_armed = false;
    }

    /// Cuts the links between two groups of nodes.
    pub fn partition(&mut self, id: u32, side: Vec<Side>, one_way: bool) {
        assert_eq!(side.len(), self.hosts.len());
        self.partitions.push(Partition { id, side, one_way });
    }

    /// Ends partition `id` and releases the close signals it held that can now pass.
    /// Returns (channel, end, arrival time) for each released signal.
    pub fn heal(&mut self, now_us: SimTime, id: u32) -> Vec<(ChanId, End, SimTime)> {
        self.partitions.retain(|p| p.id != id);
        let held = std::mem::take(&mut self.held_closes);
        let mut released = Vec::new();
        for (chan, to) in held {
            let c = self.channel(chan);
            let (from, dest) = (c.node(to.other()), c.node(to));
            if !c.open[to as usize] || self.hosts[dest as usize] == Host::PoweredOff {
                self.channel_mut(chan).held -= 1;
                continue;
            }
            if self.reachable(from, dest) {
                self.channel_mut(chan).held -= 1;
                released.push((chan, to, self.arrival(now_us, chan, to)));
            } else {
                self.held_closes.push((chan, to));
            }
        }
        released
    }

    pub fn active_partitions(&self) -> impl Iterator<Item = u32> + '_ {
        self.partitions.iter().map(|p| p.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream_rng;

    fn net(nodes: u32, latency: Latency, loss: f64) -> Net {
        let link = LinkConfig { latency, loss };
        let config = NetConfig { links: [link.clone(), link.clone(), link], rto_min_us: RTO_MIN_US_LINUX };
        let stream = |n: u32, c: u64| stream_rng(1, u64::from(n) * 4 + c);
        Net::new(
            &config,
            (0..nodes)
                .map(|n| NodeStreams {
                    broker_ns: stream(n, 0),
                    client_ns: stream(n, 1),
                    client_broker: stream(n, 2),
                    served: stream(n, 3),
                })
                .collect(),
        )
    }

    #[test]
    fn a_channel_keeps_order_under_loss() {
        let mut n = net(2, Latency::Uniform { min_us: 100, max_us: 5_000 }, 0.3);
        let Connect::Open(chan) = n.connect(0, 0, 1, LinkClass::BrokerNs) else { panic!() };
        let mut last = 0;
        for t in 0..10_000 {
            let Transit::Arrives(at) = n.transmit(t * 10, chan, End::Server) else { panic!() };
            assert!(at >= last);
            assert!(at >= t * 10 + 100);
            last = at;
        }
    }

    #[test]
    fn loss_adds_doubling_retransmission_delays() {
        let mut n = net(2, Latency::Constant { us: 1_000 }, 0.5);
        let mut extra = std::collections::BTreeMap::new();
        for _ in 0..20_000 {
            *extra.entry(n.delay_us(0, LinkClass::ClientNs) - 1_000).or_insert(0u32) += 1;
        }
        // 0, 200, 600, 1400 ms of retransmission with probabilities 1/2, 1/4, 1/8, ...
        let share = |us: u64| f64::from(extra[&us]) / 20_000.0;
        assert!((share(0) - 0.5).abs() < 0.02);
        assert!((share(200_000) - 0.25).abs() < 0.02);
        assert!((share(600_000) - 0.125).abs() < 0.02);
        assert!(extra.keys().all(|us| [0, 200_000, 600_000].contains(us) || *us >= 1_400_000));
    }

    #[test]
    fn lognormal_has_the_requested_median_and_p99() {
        let mut n = net(1, Latency::LogNormal { median_us: 1_000, p99_us: 10_000 }, 0.0);
        let mut v: Vec<u64> = (0..100_000).map(|_| n.delay_us(0, LinkClass::ClientBroker)).collect();
        v.sort_unstable();
        let (median, p99) = (v[50_000] as f64, v[99_000] as f64);
        assert!((median / 1_000.0 - 1.0).abs() < 0.05, "median {median}");
        assert!((p99 / 10_000.0 - 1.0).abs() < 0.1, "p99 {p99}");
    }

    #[test]
    fn connect_outcomes_follow_the_host() {
        let mut n = net(2, Latency::Constant { us: 500 }, 0.0);
        n.set_host(1, Host::ProcessDead);
        assert_eq!(n.connect(0, 0, 1, LinkClass::BrokerNs), Connect::Refused { after_us: 1_000 });
        n.set_host(1, Host::PoweredOff);
        assert_eq!(n.connect(0, 0, 1, LinkClass::BrokerNs), Connect::TimedOut);
        n.set_host(1, Host::Paused);
        assert!(matches!(n.connect(0, 0, 1, LinkClass::BrokerNs), Connect::Open(_)));
    }

    #[test]
    fn a_channel_closed_at_both_ends_gives_its_slot_up_once_nothing_names_it() {
        let mut n = net(3, Latency::Constant { us: 500 }, 0.0);
        let Connect::Open(old) = n.connect(0, 0, 1, LinkClass::ClientBroker) else { panic!() };
        assert!(matches!(n.transmit(100, old, End::Server), Transit::Arrives(600)));
        n.close_silently(old, End::Client);
        n.close_silently(old, End::Server);
        // The message sent at 100 is still on its way until 600: the slot stays taken.
        n.reclaim(600);
        assert_eq!(n.channels_held(), 1);
        n.reclaim(601);
        assert_eq!(n.channels_held(), 0);
        let Connect::Open(new) = n.connect(700, 2, 1, LinkClass::ClientBroker) else { panic!() };
        assert_ne!(old, new, "a reused slot is another channel");
        assert!(old < new, "channels order by creation");
        // What still names the old channel sees it closed, and closing it again does nothing.
        assert!(!n.is_open(old, End::Server) && !n.is_open_at(old, 1));
        assert_eq!(n.close(800, old, End::Server), None);
        assert!(n.is_open(new, End::Server));
        assert_eq!(n.channel(new).client, 2);
        assert_eq!(n.open_channels(1), vec![(new, End::Server)]);
    }

    #[test]
    fn channel_ids_order_by_serial_past_32_bits() {
        let (low, high) = (ChanId::new(7, u64::from(u32::MAX)), ChanId::new(3, 1 << 32));
        assert!(low < high, "the serial's halves compare as one number");
        assert_eq!(high.serial(), 1 << 32);
        assert_ne!(ChanId::new(3, 5), ChanId::new(3, 6), "a reused slot is another channel");
    }

    #[test]
    fn a_held_close_or_a_paused_end_keeps_a_dead_channel() {
        let mut n = net(2, Latency::Constant { us: 500 }, 0.0);
        let Connect::Open(chan) = n.connect(0, 0, 1, LinkClass::BrokerNs) else { panic!() };
        n.partition(1, vec![Side::First, Side::Second], false);
        assert_eq!(n.close(10, chan, End::Client), Some(Transit::Held));
        n.close_silently(chan, End::Server);
        n.reclaim(1_000);
        assert_eq!(n.channels_held(), 1, "its close signal is held by the partition");
        assert!(n.heal(2_000, 1).is_empty(), "the other end closed meanwhile");
        n.set_host(1, Host::Paused);
        n.reclaim(3_000);
        assert_eq!(n.channels_held(), 1, "a paused host's backlog may name it");
        n.set_host(1, Host::Up);
        n.reclaim(3_000);
        assert_eq!(n.channels_held(), 0);
    }

    #[test]
    fn partitions_drop_data_and_hold_closes_until_healed() {
        let mut n = net(3, Latency::Constant { us: 500 }, 0.0);
        let Connect::Open(chan) = n.connect(0, 0, 1, LinkClass::BrokerNs) else { panic!() };
        n.partition(7, vec![Side::First, Side::Second, Side::None], true);
        assert!(!n.reachable(0, 1));
        assert!(n.reachable(1, 0), "one-way partition lets the reverse direction through");
        assert!(n.reachable(0, 2));
        assert_eq!(n.transmit(10, chan, End::Server), Transit::Lost);
        assert_eq!(n.close(20, chan, End::Client), Some(Transit::Held));
        assert_eq!(n.heal(1_000, 7), vec![(chan, End::Server, 1_500)]);
        assert!(n.reachable(0, 1));
    }
}
