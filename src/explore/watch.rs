//! The properties explore judges from a run's trace, folded as the records come: which
//! brokers each NameServer lists, and what every send attempt went to. It only watches; the
//! model never reads it.

use crate::engine::SimTime;
use crate::model::config::Layout;
use crate::model::trace::{TraceFilter, TraceKind, TraceRecord, TraceSink};
use crate::net::NodeIdx;

/// The first time a property failed in a run, and how often it did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Breach {
    pub count: u64,
    /// The first breach: when, which client, which broker, and what made it one.
    pub first: Option<(SimTime, NodeIdx, NodeIdx, String)>,
}

impl Breach {
    fn note(&mut self, at_us: SimTime, client: NodeIdx, broker: NodeIdx, why: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some((at_us, client, broker, why()));
        }
    }
}

/// What the trace showed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Watched {
    /// Attempts sent to a slave: producers only write to masters (MODEL.md 5).
    pub sends_to_slaves: Breach,
    /// Attempts to a broker that no NameServer had listed for longer than the route bound.
    pub routed_after_removal: Breach,
    /// Stale attempts later than the liveness bound after the last fault.
    pub stale_after_quiet: Breach,
}

pub struct Watcher {
    nameservers: u32,
    first_broker: NodeIdx,
    brokers: u32,
    /// Per broker address: a slave (not member 0 of its group).
    slave: Vec<bool>,
    /// Per NameServer: its process runs (a paused one counts: it keeps its table).
    running: Vec<bool>,
    /// Per (NameServer, broker): the NameServer lists it.
    listed: Vec<bool>,
    /// Per broker: since when some NameServer runs and none that runs lists it.
    unlisted_since_us: Vec<Option<SimTime>>,
    route_bound_us: SimTime,
    /// Stale attempts after this break liveness.
    quiet_deadline_us: SimTime,
    pub watched: Watched,
}

impl Watcher {
    /// `route_bound_us`: one poll interval and one query timeout; `quiet_deadline_us`: the last
    /// fault plus the liveness bound.
    pub fn new(layout: &Layout, route_bound_us: SimTime, quiet_deadline_us: SimTime) -> Watcher {
        let brokers = layout.brokers();
        Watcher {
            nameservers: layout.nameservers,
            first_broker: layout.first_broker(),
            brokers,
            slave: (0..brokers).map(|b| layout.broker_position(b).1 != 0).collect(),
            running: vec![false; layout.nameservers as usize],
            listed: vec![false; (layout.nameservers * brokers) as usize],
            unlisted_since_us: vec![None; brokers as usize],
            route_bound_us,
            quiet_deadline_us,
            watched: Watched::default(),
        }
    }

    /// The records this watcher reads (sends and polls, the bulk of a trace, stay out).
    pub fn filter() -> TraceFilter {
        let kinds = vec![
            TraceKind::Process,
            TraceKind::Registered,
            TraceKind::Unregistered,
            TraceKind::Removed,
            TraceKind::Attempt,
        ];
        TraceFilter { nodes: Vec::new(), kinds }
    }

    fn broker(&self, node: Option<NodeIdx>) -> Option<u32> {
        let b = node?.checked_sub(self.first_broker)?;
        (b < self.brokers).then_some(b)
    }

    fn set_listed(&mut self, at_us: SimTime, ns: u32, broker: u32, listed: bool) {
        self.listed[(ns * self.brokers + broker) as usize] = listed;
        self.refresh(at_us, broker);
    }

    /// A NameServer that is down answers nobody, so it neither lists nor removes: a broker is
    /// unlisted when some NameServer runs and none of those that run lists it.
    fn refresh(&mut self, at_us: SimTime, broker: u32) {
        let running = (0..self.nameservers).filter(|&n| self.running[n as usize]);
        let listed = running.clone().any(|n| self.listed[(n * self.brokers + broker) as usize]);
        let unlisted = !listed && running.count() > 0;
        let since = &mut self.unlisted_since_us[broker as usize];
        match (unlisted, *since) {
            (false, _) => *since = None,
            (true, None) => *since = Some(at_us),
            (true, Some(_)) => {}
        }
    }
}

impl TraceSink for Watcher {
    fn record(&mut self, r: &TraceRecord) {
        let ns = r.node.filter(|&n| n < self.nameservers);
        match (r.kind, ns, self.broker(r.peer)) {
            (TraceKind::Registered, Some(ns), Some(b)) => self.set_listed(r.at_us, ns, b, true),
            (TraceKind::Removed | TraceKind::Unregistered, Some(ns), Some(b)) => self.set_listed(r.at_us, ns, b, false),
            // A NameServer that stops or starts holds an empty table; a paused one keeps it.
            (TraceKind::Process, Some(ns), _) if r.detail != "paused" && r.detail != "resumed" => {
                self.running[ns as usize] = r.detail == "started";
                for b in 0..self.brokers {
                    self.set_listed(r.at_us, ns, b, false);
                }
            }
            (TraceKind::Attempt, _, Some(b)) => {
                let (client, broker) = (r.node.unwrap_or_default(), r.peer.unwrap_or_default());
                if self.slave[b as usize] {
                    self.watched.sends_to_slaves.note(r.at_us, client, broker, || "a slave".into());
                }
                if let Some(since_us) = self.unlisted_since_us[b as usize]
                    && r.at_us - since_us > self.route_bound_us
                {
                    let why = || format!("listed by no NameServer for {:.1} s", (r.at_us - since_us) as f64 / 1e6);
                    self.watched.routed_after_removal.note(r.at_us, client, broker, why);
                }
                if r.detail == "stale" && r.at_us > self.quiet_deadline_us {
                    self.watched.stale_after_quiet.note(r.at_us, client, broker, || "a fault's subject".into());
                }
            }
            _ => {}
        }
    }
}
