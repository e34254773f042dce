//! The trace: a record of every state change and message that matters, for `run --trace`.
//!
//! The model hands records to a `TraceSink` the caller provides (the output layer writes JSON
//! lines); it never touches a file itself. With no sink, tracing costs one branch per hook.

use crate::engine::SimTime;
use crate::net::NodeIdx;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TraceKind {
    /// A scheduled fault was applied.
    Fault,
    /// A process started, stopped, paused or resumed.
    Process,
    /// A broker sent REGISTER_BROKER.
    Register,
    /// A NameServer processed a registration.
    Registered,
    /// A registration went unanswered past its timeout; the broker closed the channel.
    RegisterTimeout,
    /// A NameServer processed an UNREGISTER_BROKER.
    Unregistered,
    /// A NameServer dropped a broker.
    Removed,
    /// A NameServer's scan ran.
    Scan,
    /// A client asked a NameServer for its route.
    RoutePoll,
    /// A client's cached route changed.
    RouteChanged,
    /// A send attempt started.
    Attempt,
    /// A send attempt failed.
    AttemptFailed,
    /// A send completed (`ok` or not).
    Send,
    /// A broker closed a client's channel that carried no request for `broker_channel_idle`.
    IdleClose,
}

impl TraceKind {
    pub const ALL: [TraceKind; 14] = [
        TraceKind::Fault,
        TraceKind::Process,
        TraceKind::Register,
        TraceKind::Registered,
        TraceKind::RegisterTimeout,
        TraceKind::Unregistered,
        TraceKind::Removed,
        TraceKind::Scan,
        TraceKind::RoutePoll,
        TraceKind::RouteChanged,
        TraceKind::Attempt,
        TraceKind::AttemptFailed,
        TraceKind::Send,
        TraceKind::IdleClose,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TraceKind::Fault => "fault",
            TraceKind::Process => "process",
            TraceKind::Register => "register",
            TraceKind::Registered => "registered",
            TraceKind::RegisterTimeout => "register-timeout",
            TraceKind::Unregistered => "unregistered",
            TraceKind::Removed => "removed",
            TraceKind::Scan => "scan",
            TraceKind::RoutePoll => "route-poll",
            TraceKind::RouteChanged => "route-changed",
            TraceKind::Attempt => "attempt",
            TraceKind::AttemptFailed => "attempt-failed",
            TraceKind::Send => "send",
            TraceKind::IdleClose => "idle-close",
        }
    }

    pub fn from_name(name: &str) -> Option<TraceKind> {
        TraceKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One traced happening. `detail` is a fixed word (a removal cause, a process state, a fault
/// kind, `ok`/`failed`); `fault` the index of the fault a `Fault` record applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceRecord {
    pub at_us: SimTime,
    pub kind: TraceKind,
    /// The node that acted; `None` for a fault on no single node (partition, heal, loss).
    pub node: Option<NodeIdx>,
    pub peer: Option<NodeIdx>,
    pub detail: &'static str,
    pub fault: Option<u32>,
}

pub trait TraceSink {
    fn record(&mut self, record: &TraceRecord);
}

/// Which records reach the sink: all nodes / kinds when a list is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceFilter {
    pub nodes: Vec<NodeIdx>,
    pub kinds: Vec<TraceKind>,
}

impl TraceFilter {
    pub fn accepts(&self, r: &TraceRecord) -> bool {
        let node_ok = self.nodes.is_empty()
            || r.node.is_some_and(|n| self.nodes.contains(&n))
            || r.peer.is_some_and(|p| self.nodes.contains(&p));
        node_ok && (self.kinds.is_empty() || self.kinds.contains(&r.kind))
    }
}

pub struct Tracer {
    pub filter: TraceFilter,
    pub sink: Box<dyn TraceSink>,
}
