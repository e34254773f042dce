//! Typed observations: what the model tells whoever measures it, as it happens.
//!
//! The model emits these through its context and never reads anything back: the observer (the
//! metrics) keeps its own record of which brokers each NameServer lists, which route each
//! client holds and which faults hold which brokers out of service, folded from this stream.
//! Indices: `ns` a NameServer's index, `broker` a broker's address index (its place among the
//! brokers), `client` a client process's index, `fault` the fault's place in the schedule.

use crate::engine::SimTime;
use crate::net::NodeIdx;

use super::route::RouteId;

/// Process state of a node as the timeline shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NodeState {
    Down,
    Up,
    Paused,
    Partitioned,
}

impl NodeState {
    pub fn name(self) -> &'static str {
        match self {
            NodeState::Down => "down",
            NodeState::Up => "up",
            NodeState::Paused => "paused",
            NodeState::Partitioned => "partitioned",
        }
    }

    /// The process runs (it may be cut off by a partition, but it is not paused or down).
    pub fn running(self) -> bool {
        matches!(self, NodeState::Up | NodeState::Partitioned)
    }
}

/// How a NameServer came to drop a broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    Unregistered,
    /// The broker's side closed the channel (a kill, a timed-out request) or it broke.
    ChannelClosed,
    /// The NameServer's own idle close (`serverChannelMaxIdleTimeSeconds`).
    IdleClose,
    /// `scanNotActiveBroker` found it silent longer than the expiry.
    Expired,
    /// Another broker of its group registered as master: its id 0 went to that one.
    Replaced,
    /// It registered as master with an older epoch than the group's master (5.x fencing).
    Fenced,
}

impl Removal {
    pub fn name(self) -> &'static str {
        match self {
            Removal::Unregistered => "unregistered",
            Removal::ChannelClosed => "channel-closed",
            Removal::IdleClose => "idle-close",
            Removal::Expired => "expired",
            Removal::Replaced => "replaced",
            Removal::Fenced => "fenced",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observation {
    /// A node's process state changed (or was re-evaluated: the observer keeps changes only).
    ProcessState { node: NodeIdx, state: NodeState },
    /// A scheduled fault is about to be applied: the observer records the state it strikes.
    FaultStrikes { fault: u32 },
    /// A scheduled fault has been applied.
    FaultApplied { fault: u32 },
    /// A broker began (`true`) or finished (`false`) its graceful shutdown.
    ShuttingDown { broker: u32, shutting_down: bool },
    /// A NameServer processed a request (registration, unregistration or route query).
    NameServerRequest { ns: u32 },
    /// A NameServer processed a registration of `broker`.
    Registered { ns: u32, broker: u32 },
    /// A NameServer lists `broker` again (it had not).
    Listed { ns: u32, broker: u32 },
    /// A NameServer dropped `broker`.
    Removed { ns: u32, broker: u32, cause: Removal },
    /// A NameServer started or stopped: its table is empty.
    TableCleared { ns: u32 },
    /// A client's cached route of its topic changed, from an answer of NameServer `ns`.
    RouteChanged { client: u32, route: RouteId, ns: Option<u32> },
    /// A client process started afresh: it holds no route.
    ClientStarted { client: u32 },
    /// A send attempt of client `client` went to `broker` (`attempt` is unique per client).
    AttemptStarted { client: u32, attempt: u32, broker: u32 },
    /// An attempt failed (refused, reset, timed out) as part of send `send`.
    AttemptFailed { client: u32, attempt: u32, send: u32 },
    /// An attempt was answered; it had left for `broker` at `started_us`.
    AttemptSucceeded { client: u32, attempt: u32, broker: u32, started_us: SimTime },
    /// A send found no writable queue in its route.
    SendWithoutRoute,
    /// A broker holds messages of queue (`topic`, `group`, `queue`) up to `end` (exclusive).
    Stored { topic: u16, group: u16, queue: u16, end: u32 },
    /// A master acknowledged queue (`topic`, `group`, `queue`) up to `end` (exclusive) to
    /// its producers (failover runs only).
    Acknowledged { topic: u16, group: u16, queue: u16, end: u32 },
    /// A pull of consumer group `group`, sent at `asked_us`, returned messages of `queue`
    /// (broker group, queue id) up to `to`.
    Delivered { group: u16, topic: u16, queue: (u16, u16), to: u32, asked_us: SimTime },
    /// A consumer of `group` consumed [from, to) of `queue`; the first and last were stored in
    /// these milliseconds of the run.
    Consumed { group: u16, topic: u16, queue: (u16, u16), from: u32, to: u32, stored_ms: (u32, u32) },
    /// A pull failed (timeout, refused, reset, no address): the next waits the retry delay.
    PullFailed { group: u16, topic: u16, queue: (u16, u16) },
    /// NameServer `ns` now answers `broker` as broker group `group`'s master (`None`: none).
    MasterListed { ns: u32, group: u16, broker: Option<u32> },
    /// A broker became its group's master (a failover); its store holds `held` messages of
    /// the group's queue at place `local` (one observation per queue, then `queue: None`).
    Promoted { broker: u32, group: u16, queue: Option<(u16, u16)>, held: u32 },
    /// A send completed.
    SendDone { client: u32, send: u32, ok: bool, start_us: SimTime, final_attempt_start_us: SimTime },
}
