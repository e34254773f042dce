//! Streaming measurements of one run, folded from the model's observations and turned into a
//! `RunReport` at the end.
//!
//! The metrics only watch: the model emits typed observations (model/observe.rs) and never
//! reads a value back. What a measurement needs to know about the world, the metrics keep
//! themselves from the same stream: which brokers each NameServer lists and when it last
//! heard from them, which route each client holds, which faults hold which brokers out of
//! service. Nothing here stores a record per send: per-second counters, per-fault counters and
//! a latency histogram, per-client convergence times (bounded by the number of clients), the
//! rare state changes behind the timeline, and the stale attempts in flight.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::consume_meter::{ConsumeMeter, QueueKey, WindowSubjects};
use crate::engine::{SimTime, US_PER_MS, US_PER_S, secs};
use crate::group_meter::GroupMeter;
use crate::model::config::{Layout, Role, WorldConfig};
use crate::model::fault::detection_window_us;
use crate::model::observe::{NodeState, Observation, Removal};
use crate::model::route::{NO_ROUTE, RouteId, RouteStore};
use crate::net::NodeIdx;
use crate::report::{
    ClientMoment, ConsumeGaps, Convergence, ConvergenceRow, Delays, DetectionRow, Explanation, FalseRemoval,
    FaultSummary, NameServerLoad, NameServerMoment, Percentiles, ReadsRow, RunReport, SecondCounts, Summary,
    TimelineRow, Totals, Window, nearest_rank,
};

const PENDING: SimTime = SimTime::MAX;
/// How many clients the timeline shows.
const TIMELINE_PRODUCERS_MAX: u32 = 8;
const LATENCY_US_HIGHEST: u64 = 3_600 * US_PER_S;

struct FaultMetrics {
    at_us: SimTime,
    struck: bool,
    /// When every subject was back in service: the fault is over.
    ended_at_us: Option<SimTime>,
    subjects: Vec<u32>,
    /// Per NameServer: time of detection after the fault; `None` not yet (or never).
    detection_us: Vec<Option<SimTime>>,
    /// Per NameServer: the last registration of a subject it processed before the fault.
    last_registration_us: Vec<Option<SimTime>>,
    /// Per NameServer: how the removal that completed detection happened.
    removal_cause: Vec<Option<Removal>>,
    /// The client that converged last: (time, client, NameServer it heard from); of two at
    /// the same microsecond, the higher client index, so the choice needs no event order
    /// (the parts of a split run are merged: `merge_parts`).
    slowest_client: Option<(SimTime, u32, Option<u32>)>,
    /// Per client: index into `convergence_us`, or `u32::MAX` if not tracked.
    client_slot: Vec<u32>,
    clients: Vec<u32>,
    convergence_us: Vec<SimTime>,
    /// The last stale attempt: (time, client), the higher client index on a tie.
    last_attempt: Option<(SimTime, u32)>,
    stale_attempts: u64,
    failed_attempts: u64,
    failed_sends: u64,
    recovered_by_retry: u64,
    added_latency_us: Histogram<u64>,
}

impl FaultMetrics {
    fn ended(&self) -> bool {
        self.ended_at_us.is_some()
    }
}

struct OpenFalseRemoval {
    nameserver: u32,
    broker: u32,
    at_us: SimTime,
}

pub struct Metrics {
    nameservers: u32,
    brokers: u32,
    first_broker: NodeIdx,
    /// Per fault: the brokers it takes out of service (config.rs's `subjects`).
    fault_subjects: Vec<Vec<u32>>,
    per_second: Vec<SecondCounts>,
    totals: Totals,
    faults: Vec<FaultMetrics>,
    /// Per broker: the fault that has it out of service (or off the routes) now.
    broker_fault: Vec<Option<u16>>,
    /// Per (nameserver, broker): index into `false_removals` of an open false removal.
    false_removal_open: Vec<Option<usize>>,
    false_removals: Vec<(OpenFalseRemoval, Option<SimTime>)>,
    ns_requests: Vec<u64>,
    node_states: Vec<(NodeIdx, SimTime, NodeState)>,
    last_node_state: Vec<NodeState>,
    broker_unlisted: Vec<(u32, SimTime, bool)>,
    last_unlisted: Vec<bool>,
    /// Per (nameserver, broker): listed now, and the time of its last registration there.
    listed: Vec<bool>,
    last_update_us: Vec<SimTime>,
    /// Per client: the route its cache holds now.
    client_route: Vec<RouteId>,
    /// Per broker: in a graceful shutdown.
    shutting_down: Vec<bool>,
    /// Per client: its attempts in flight routed to a fault's subject, (attempt, fault). A
    /// client has few sends in flight, so a short list beats a map on the hot path.
    stale_in_flight: ClientLists,
    /// Per client: its sends in flight with a failed stale attempt, (send, the fault of the
    /// first).
    touched: ClientLists,
    /// What consumers see (empty without consumers); per fault the queues it watches.
    consume: ConsumeMeter,
    consume_subjects: Vec<WindowSubjects>,
    /// What faults do to their groups' masters (inactive without consumers or failover).
    groups: GroupMeter,
}

/// What one part of a split run measured of its clients (`Metrics::part_measures`), as a
/// shard of a run writes it (`run --shard`) and the merge reads it back.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartMeasures {
    pub clients: std::ops::Range<u32>,
    /// Per second: attempts, failed attempts, sends, failed sends.
    per_second: Vec<[u64; 4]>,
    /// Sends, attempts, failed attempts, failed sends, failed sends without a route.
    totals: [u64; 5],
    /// Per NameServer, the brokers' requests included.
    ns_requests: Vec<u64>,
    faults: Vec<FaultPart>,
    /// The clients' process states, in time order: (node, time, state).
    client_states: Vec<(NodeIdx, SimTime, NodeState)>,
    /// The world's counts, the control plane's included.
    events: u64,
    messages: u64,
    messages_lost: u64,
    control: String,
}

/// One fault's client measures in a part.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultPart {
    /// Stale attempts, failed attempts, failed sends, recovered by retry.
    counts: [u64; 4],
    /// The added-latency histogram as (bucket value, count).
    added_latency_us: Vec<(u64, u64)>,
    last_attempt: Option<(SimTime, u32)>,
    slowest_client: Option<(SimTime, u32, Option<u32>)>,
    clients: Vec<u32>,
    convergence_us: Vec<SimTime>,
}

/// What the report needs beyond the measurements.
pub struct RunInfo {
    pub end_us: SimTime,
    pub events: u64,
    pub messages: u64,
    pub messages_lost: u64,
}

impl Metrics {
    pub fn new(config: &WorldConfig) -> Metrics {
        let layout = &config.layout;
        let seconds = config.duration_us.div_ceil(US_PER_S);
        let clients = layout.clients() as usize;
        let ns_brokers = (layout.nameservers * layout.brokers()) as usize;
        Metrics {
            nameservers: layout.nameservers,
            brokers: layout.brokers(),
            first_broker: layout.first_broker(),
            fault_subjects: config.faults.iter().map(|f| f.action.subjects(layout)).collect(),
            per_second: (0..seconds).map(|second| SecondCounts { second, ..Default::default() }).collect(),
            totals: Totals::default(),
            faults: (0..config.faults.len())
                .map(|_| FaultMetrics {
                    at_us: 0,
                    struck: false,
                    ended_at_us: None,
                    subjects: Vec::new(),
                    detection_us: vec![None; layout.nameservers as usize],
                    last_registration_us: vec![None; layout.nameservers as usize],
                    removal_cause: vec![None; layout.nameservers as usize],
                    slowest_client: None,
                    client_slot: vec![u32::MAX; clients],
                    clients: Vec::new(),
                    convergence_us: Vec::new(),
                    last_attempt: None,
                    stale_attempts: 0,
                    failed_attempts: 0,
                    failed_sends: 0,
                    recovered_by_retry: 0,
                    added_latency_us: Histogram::new_with_bounds(1, LATENCY_US_HIGHEST, 3).expect("valid bounds"),
                })
                .collect(),
            broker_fault: vec![None; layout.brokers() as usize],
            false_removal_open: vec![None; ns_brokers],
            false_removals: Vec::new(),
            ns_requests: vec![0; layout.nameservers as usize],
            node_states: Vec::new(),
            last_node_state: vec![NodeState::Down; layout.nodes() as usize],
            broker_unlisted: Vec::new(),
            last_unlisted: vec![true; layout.brokers() as usize],
            listed: vec![false; ns_brokers],
            last_update_us: vec![0; ns_brokers],
            client_route: vec![NO_ROUTE; clients],
            shutting_down: vec![false; layout.brokers() as usize],
            stale_in_flight: ClientLists::new(clients),
            touched: ClientLists::new(clients),
            consume: consume_meter(config),
            consume_subjects: config.faults.iter().map(|f| consume_subjects(config, &f.action)).collect(),
            groups: GroupMeter::new(config),
        }
    }

    /// Folds one observation made at `now_us`; `routes` resolves the route ids it names.
    /// Always inlined: each call site names one variant, so the match folds away and the hot
    /// observations (attempts, sends) cost what a direct call would.
    #[inline(always)]
    pub fn observe(&mut self, now_us: SimTime, observation: Observation, routes: &RouteStore) {
        match observation {
            Observation::ProcessState { node, state } => self.process_state(now_us, node, state),
            Observation::FaultStrikes { fault } => self.fault_strikes(fault as usize, now_us, routes),
            Observation::FaultApplied { .. } => self.service_checkpoint(now_us),
            Observation::ShuttingDown { broker, shutting_down } => self.shutting_down[broker as usize] = shutting_down,
            Observation::NameServerRequest { ns } => self.ns_requests[ns as usize] += 1,
            Observation::Registered { ns, broker } => {
                let key = self.key(ns, broker);
                self.listed[key] = true;
                self.last_update_us[key] = now_us;
            }
            Observation::Listed { ns, broker } => {
                let key = self.key(ns, broker);
                if let Some(i) = self.false_removal_open[key].take() {
                    self.false_removals[i].1 = Some(now_us);
                }
                self.refresh_listing(now_us, broker);
            }
            Observation::Removed { ns, broker, cause } => self.removed(now_us, ns, broker, cause),
            Observation::TableCleared { ns } => {
                for broker in 0..self.brokers {
                    let key = self.key(ns, broker);
                    self.listed[key] = false;
                }
                for broker in 0..self.brokers {
                    self.refresh_listing(now_us, broker);
                }
            }
            Observation::RouteChanged { client, route, ns } => self.route_changed(now_us, client, route, ns, routes),
            Observation::ClientStarted { client } => self.client_route[client as usize] = NO_ROUTE,
            Observation::AttemptStarted { client, attempt, broker } => {
                self.totals.attempts += 1;
                if let Some(s) = self.second(now_us) {
                    s.attempts += 1;
                }
                if let Some(fault) = self.broker_fault[broker as usize] {
                    let f = &mut self.faults[usize::from(fault)];
                    f.stale_attempts += 1;
                    f.last_attempt = f.last_attempt.max(Some((now_us, client)));
                    self.stale_in_flight.push(client, (attempt, fault));
                }
            }
            Observation::AttemptFailed { client, attempt, send } => {
                self.totals.failed_attempts += 1;
                if let Some(s) = self.second(now_us) {
                    s.failed_attempts += 1;
                }
                if let Some(fault) = self.stale_in_flight.take(client, attempt) {
                    self.faults[usize::from(fault)].failed_attempts += 1;
                    if !self.touched.holds(client, send) {
                        self.touched.push(client, (send, fault));
                    }
                }
            }
            Observation::AttemptSucceeded { client, attempt, broker, started_us } => {
                self.stale_in_flight.take(client, attempt);
                self.groups.write_succeeded(now_us, broker, started_us);
            }
            Observation::MasterListed { ns, group, broker } => self.groups.master_listed(now_us, ns, group, broker),
            Observation::Promoted { broker, group, queue, held } => {
                self.groups.promoted(now_us, broker, group, queue, held);
                if let Some((topic, q)) = queue {
                    self.consume.advance(now_us);
                    self.consume.truncated((topic, group, q), u64::from(held));
                }
            }
            Observation::SendWithoutRoute => self.totals.failed_sends_no_route += 1,
            Observation::Stored { topic, group, queue, end } => {
                self.consume.advance(now_us);
                self.consume.stored(now_us, (topic, group, queue), u64::from(end));
            }
            Observation::Acknowledged { topic, group, queue, end } => {
                self.groups.acknowledged((topic, group, queue), end)
            }
            Observation::Delivered { group, topic, queue, to, asked_us } => {
                self.consume.advance(now_us);
                self.consume.delivered(now_us, asked_us, group, (topic, queue.0, queue.1), u64::from(to));
            }
            Observation::Consumed { group, topic, queue, from, to, stored_ms } => {
                let range = (u64::from(from), u64::from(to));
                // The delay is taken from the middle of each store millisecond.
                let stored_us = (u64::from(stored_ms.0) * 1_000 + 500, u64::from(stored_ms.1) * 1_000 + 500);
                self.consume.consumed(now_us, group, (topic, queue.0, queue.1), range, stored_us);
            }
            Observation::PullFailed { group, topic, queue } => {
                self.consume.pull_failed(now_us, group, (topic, queue.0, queue.1));
            }
            Observation::SendDone { client, send, ok, start_us, final_attempt_start_us } => {
                let touched = self.touched.take(client, send);
                self.send_done(now_us, ok, start_us, final_attempt_start_us, touched);
            }
        }
    }

    /// Whether attempt `attempt` of `client`, in flight, is routed to a fault's subject.
    pub fn attempt_is_stale(&self, client: u32, attempt: u32) -> bool {
        self.stale_in_flight.holds(client, attempt)
    }

    fn key(&self, ns: u32, broker: u32) -> usize {
        (ns * self.brokers + broker) as usize
    }

    fn second(&mut self, now_us: SimTime) -> Option<&mut SecondCounts> {
        self.per_second.get_mut((now_us / US_PER_S) as usize)
    }

    fn broker_state(&self, broker: u32) -> NodeState {
        self.last_node_state[(self.first_broker + broker) as usize]
    }

    /// Running, not paused and not shutting down: a removal of such a broker is false.
    fn serving(&self, broker: u32) -> bool {
        self.broker_state(broker).running() && !self.shutting_down[broker as usize]
    }

    fn ns_running(&self, ns: u32) -> bool {
        self.last_node_state[ns as usize].running()
    }

    fn process_state(&mut self, now_us: SimTime, node: NodeIdx, state: NodeState) {
        let before = self.last_node_state[node as usize];
        if before == state {
            return;
        }
        self.last_node_state[node as usize] = state;
        self.node_states.push((node, now_us, state));
        let is_broker = (self.first_broker..self.first_broker + self.brokers).contains(&node);
        if is_broker && before == NodeState::Down {
            // A (re)started broker is a fresh process, and may end the fault that held it.
            self.shutting_down[(node - self.first_broker) as usize] = false;
            self.service_checkpoint(now_us);
        }
    }

    /// Fault `fault` strikes now: record the state it strikes, if it has subjects.
    fn fault_strikes(&mut self, fault: usize, now_us: SimTime, routes: &RouteStore) {
        if !self.consume.is_empty() {
            self.consume.fault_struck(fault, now_us, self.consume_subjects[fault].clone());
        }
        let subjects = self.fault_subjects[fault].clone();
        if self.groups.is_active() {
            self.groups.fault_struck(fault, now_us, &subjects);
        }
        if subjects.is_empty() {
            return;
        }
        let last_registration: Vec<Option<SimTime>> = (0..self.nameservers)
            .map(|ns| {
                let last = |b: u32| {
                    let key = self.key(ns, b);
                    self.listed[key].then_some(self.last_update_us[key])
                };
                subjects.iter().filter_map(|&b| last(b)).max()
            })
            .collect();
        let ns_running: Vec<bool> = (0..self.nameservers).map(|ns| self.ns_running(ns)).collect();
        let holders: Vec<u32> = (0..self.client_route.len() as u32)
            .filter(|&c| holds_any(routes, self.client_route[c as usize], &subjects))
            .collect();
        let f = &mut self.faults[fault];
        assert!(!f.struck, "a fault strikes once");
        f.struck = true;
        f.at_us = now_us;
        for (ns, last) in last_registration.into_iter().enumerate() {
            f.last_registration_us[ns] = last;
            if ns_running[ns] && last.is_none() {
                f.detection_us[ns] = Some(now_us);
            }
        }
        for p in holders {
            f.client_slot[p as usize] = f.clients.len() as u32;
            f.clients.push(p);
            f.convergence_us.push(PENDING);
        }
        for &b in &subjects {
            self.broker_fault[b as usize] = Some(fault as u16);
        }
        f.subjects = subjects;
    }

    /// Brokers back in service (running, reachable, not shutting down) no longer make
    /// attempts stale. Once every subject of a fault is back, the fault is over: later
    /// removals and route changes belong to whatever happens next, not to it.
    fn service_checkpoint(&mut self, now_us: SimTime) {
        for broker in 0..self.brokers {
            let back = self.broker_state(broker) == NodeState::Up && !self.shutting_down[broker as usize];
            if !back {
                continue;
            }
            let Some(fault) = self.broker_fault[broker as usize].take() else { continue };
            if !self.broker_fault.contains(&Some(fault)) {
                self.faults[usize::from(fault)].ended_at_us = Some(now_us);
                self.consume.fault_ended(usize::from(fault), now_us);
            }
        }
    }

    /// NameServer `ns` dropped `broker`: detection of the faults waiting for it, and a false
    /// removal if the broker was serving.
    fn removed(&mut self, now_us: SimTime, ns: u32, broker: u32, cause: Removal) {
        let key = self.key(ns, broker);
        self.listed[key] = false;
        self.refresh_listing(now_us, broker);
        let base = (ns * self.brokers) as usize;
        let listed = &self.listed[base..base + self.brokers as usize];
        for f in &mut self.faults {
            let waiting =
                f.struck && !f.ended() && f.detection_us[ns as usize].is_none() && f.subjects.contains(&broker);
            if waiting && !f.subjects.iter().any(|&b| listed[b as usize]) {
                f.detection_us[ns as usize] = Some(now_us);
                f.removal_cause[ns as usize] = Some(cause);
            }
        }
        if self.serving(broker) && self.false_removal_open[key].is_none() {
            self.totals.false_removals += 1;
            self.false_removal_open[key] = Some(self.false_removals.len());
            self.false_removals.push((OpenFalseRemoval { nameserver: ns, broker, at_us: now_us }, None));
        }
    }

    /// Whether a running NameServer misses `broker` (the timeline's "unlisted" state).
    fn refresh_listing(&mut self, now_us: SimTime, broker: u32) {
        let unlisted = (0..self.nameservers).any(|ns| self.ns_running(ns) && !self.listed[self.key(ns, broker)]);
        if self.last_unlisted[broker as usize] != unlisted {
            self.last_unlisted[broker as usize] = unlisted;
            self.broker_unlisted.push((broker, now_us, unlisted));
        }
    }

    /// Client `client`'s route changed (an answer from NameServer `ns`).
    fn route_changed(&mut self, now_us: SimTime, client: u32, route: RouteId, ns: Option<u32>, routes: &RouteStore) {
        self.client_route[client as usize] = route;
        for f in &mut self.faults {
            let slot = f.client_slot[client as usize];
            if !f.ended()
                && slot != u32::MAX
                && f.convergence_us[slot as usize] == PENDING
                && !holds_any(routes, route, &f.subjects)
            {
                f.convergence_us[slot as usize] = now_us - f.at_us;
                // A client converges once per fault, so the tuple's order is (time, client).
                f.slowest_client = f.slowest_client.max(Some((now_us, client, ns)));
            }
        }
    }

    fn send_done(&mut self, now_us: SimTime, ok: bool, start_us: SimTime, final_us: SimTime, touched: Option<u16>) {
        assert!(start_us <= final_us, "a send starts before its last attempt");
        assert!(final_us <= now_us, "a send ends after its last attempt starts");
        self.totals.sends += 1;
        if !ok {
            self.totals.failed_sends += 1;
        }
        if let Some(s) = self.second(now_us) {
            s.sends += 1;
            s.failed_sends += u64::from(!ok);
        }
        let Some(fault) = touched else { return };
        let f = &mut self.faults[usize::from(fault)];
        let added_us = if ok {
            f.recovered_by_retry += 1;
            final_us - start_us
        } else {
            f.failed_sends += 1;
            now_us - start_us
        };
        f.added_latency_us.saturating_record(added_us);
    }

    /// What this world's clients `clients` measured beside the control plane, with the run's
    /// counts: one part of a split run (model/split.rs), merged by `merge_parts`. The counts
    /// include the control plane's own; `control` fingerprints what the control plane did, so
    /// the merge can check that every part saw it as the control world did.
    pub fn part_measures(&self, clients: std::ops::Range<u32>, info: &RunInfo) -> PartMeasures {
        assert!(
            self.consume.is_empty() && !self.groups.is_active(),
            "a split run has no consumers and no replication to watch"
        );
        let first_client = self.first_broker + self.brokers;
        let t = &self.totals;
        PartMeasures {
            clients,
            per_second: self
                .per_second
                .iter()
                .map(|s| [s.attempts, s.failed_attempts, s.sends, s.failed_sends])
                .collect(),
            totals: [t.sends, t.attempts, t.failed_attempts, t.failed_sends, t.failed_sends_no_route],
            ns_requests: self.ns_requests.clone(),
            faults: self
                .faults
                .iter()
                .map(|f| FaultPart {
                    counts: [f.stale_attempts, f.failed_attempts, f.failed_sends, f.recovered_by_retry],
                    added_latency_us: f
                        .added_latency_us
                        .iter_recorded()
                        .map(|v| (v.value_iterated_to(), v.count_at_value()))
                        .collect(),
                    last_attempt: f.last_attempt,
                    slowest_client: f.slowest_client,
                    clients: f.clients.clone(),
                    convergence_us: f.convergence_us.clone(),
                })
                .collect(),
            client_states: self.node_states.iter().copied().filter(|&(node, _, _)| node >= first_client).collect(),
            events: info.events,
            messages: info.messages,
            messages_lost: info.messages_lost,
            control: self.control_fingerprint(info.end_us),
        }
    }

    /// What the control plane did, as the metrics saw it: equal in every part of a split run.
    fn control_fingerprint(&self, end_us: SimTime) -> String {
        let faults: Vec<_> =
            self.faults.iter().map(|f| (f.struck, f.at_us, f.ended_at_us, &f.detection_us, &f.removal_cause)).collect();
        let false_removals: Vec<_> =
            self.false_removals.iter().map(|(o, until)| (o.nameserver, o.broker, o.at_us, until)).collect();
        format!("{end_us} {faults:?} {false_removals:?} {:?}", self.broker_unlisted)
    }

    /// The measurements of a split run: `control` (with `info`) watched the control plane alone
    /// (no client ran), each of `parts` the control plane and a range of the clients, together
    /// every client once. What clients add (sends, attempts, convergence, their NameServer
    /// requests and process states, the run's events and messages beyond the control plane's)
    /// is summed, concatenated in client order or maximised into `control`'s: exactly what one
    /// world running every client measures. Refuses parts that saw another control plane or
    /// do not cover the clients once.
    pub fn merge_parts(
        mut control: Metrics,
        info: RunInfo,
        mut parts: Vec<PartMeasures>,
    ) -> Result<(Metrics, RunInfo), String> {
        let fingerprint = control.control_fingerprint(info.end_us);
        parts.sort_by_key(|p| p.clients.start);
        let mut next_client = 0;
        for part in &parts {
            if part.clients.start != next_client || part.clients.end < part.clients.start {
                return Err(format!("the parts' clients are not each client once (at client {next_client})"));
            }
            next_client = part.clients.end;
            if part.control != fingerprint || part.faults.len() != control.faults.len() {
                return Err(format!(
                    "the part of clients {}..{} saw another control plane (another scenario, seed or version)",
                    part.clients.start, part.clients.end
                ));
            }
        }
        if next_client as usize != control.client_route.len() {
            return Err(format!("the parts hold clients 0..{next_client} of {}", control.client_route.len()));
        }
        let alone = (info.events, info.messages, info.messages_lost, control.ns_requests.clone());
        let excess = |with: u64, alone: u64| with.checked_sub(alone).ok_or("a part counts less than the control plane");
        let mut merged = RunInfo { ..info };
        for part in parts {
            merged.events += excess(part.events, alone.0)?;
            merged.messages += excess(part.messages, alone.1)?;
            merged.messages_lost += excess(part.messages_lost, alone.2)?;
            for (total, (&with, &alone)) in control.ns_requests.iter_mut().zip(part.ns_requests.iter().zip(&alone.3)) {
                *total += excess(with, alone)?;
            }
            for (s, p) in control.per_second.iter_mut().zip(&part.per_second) {
                let [attempts, failed_attempts, sends, failed_sends] = *p;
                s.attempts += attempts;
                s.failed_attempts += failed_attempts;
                s.sends += sends;
                s.failed_sends += failed_sends;
            }
            let t = &mut control.totals;
            let [sends, attempts, failed_attempts, failed_sends, no_route] = part.totals;
            t.sends += sends;
            t.attempts += attempts;
            t.failed_attempts += failed_attempts;
            t.failed_sends += failed_sends;
            t.failed_sends_no_route += no_route;
            for (f, p) in control.faults.iter_mut().zip(part.faults) {
                let [stale_attempts, failed_attempts, failed_sends, recovered_by_retry] = p.counts;
                f.stale_attempts += stale_attempts;
                f.failed_attempts += failed_attempts;
                f.failed_sends += failed_sends;
                f.recovered_by_retry += recovered_by_retry;
                for (value_us, count) in p.added_latency_us {
                    f.added_latency_us.saturating_record_n(value_us, count);
                }
                f.last_attempt = f.last_attempt.max(p.last_attempt);
                f.slowest_client = f.slowest_client.max(p.slowest_client);
                for (client, convergence) in p.clients.into_iter().zip(p.convergence_us) {
                    f.client_slot[client as usize] = f.clients.len() as u32;
                    f.clients.push(client);
                    f.convergence_us.push(convergence);
                }
            }
            control.node_states.extend(part.client_states);
        }
        Ok((control, merged))
    }

    /// Per fault: when it struck and when it ended (`None`: it lasted to the end of the run,
    /// or never struck anything), for the end-of-run invariants.
    pub fn fault_spans(&self) -> Vec<Option<(SimTime, Option<SimTime>)>> {
        self.faults.iter().map(|f| f.struck.then_some((f.at_us, f.ended_at_us))).collect()
    }

    /// The totals counted so far (for the end-of-run invariants).
    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    pub fn report(mut self, config: &WorldConfig, run: RunInfo) -> RunReport {
        let RunInfo { end_us, events, messages, messages_lost } = run;
        let layout = &config.layout;
        let faults = &config.faults;
        let detection_windows: Vec<_> = faults.iter().map(|f| detection_window_us(f, config)).collect();
        let names = layout.node_names();
        let ns_names = &names[..layout.nameservers as usize];
        let broker_name = |b: u32| names[(layout.first_broker() + b) as usize].clone();
        let client_name = |p: u32| names[(layout.first_client() + p) as usize].clone();
        let mut detection_rows = Vec::new();
        let mut convergence_rows = Vec::new();
        let mut fault_summaries = Vec::new();
        for (index, ((spec, f), window)) in faults.iter().zip(&self.faults).zip(&detection_windows).enumerate() {
            let has_subjects = f.struck && !f.subjects.is_empty();
            let reads = if self.consume.is_empty() { None } else { self.consume.fault_reads(index) };
            let group_figures = self.groups.figures(index);
            let group_name = |g: u16| layout.broker_groups[usize::from(g)].clone();
            let window = window.filter(|_| has_subjects).map(|(lo, hi)| Window { lo: secs(lo), hi: secs(hi) });
            let mut detection_s = std::collections::BTreeMap::new();
            if has_subjects {
                for (ns, name) in ns_names.iter().enumerate() {
                    let d = f.detection_us[ns].map(|at| secs(at - f.at_us));
                    detection_s.insert(name.clone(), d);
                    detection_rows.push(DetectionRow {
                        fault_id: spec.id.clone(),
                        nameserver: name.clone(),
                        detection_s: d,
                        window_lo_s: window.map(|w| w.lo),
                        window_hi_s: window.map(|w| w.hi),
                    });
                }
            }
            let mut converged: Vec<f64> = Vec::new();
            for (&p, &c) in f.clients.iter().zip(&f.convergence_us) {
                let c = (c != PENDING).then(|| secs(c));
                converged.extend(c);
                convergence_rows.push(ConvergenceRow {
                    fault_id: spec.id.clone(),
                    client: client_name(p),
                    convergence_s: c,
                });
            }
            converged.sort_by(f64::total_cmp);
            let latency = &f.added_latency_us;
            let ms = |us: u64| us as f64 / US_PER_MS as f64;
            fault_summaries.push(FaultSummary {
                id: spec.id.clone(),
                kind: spec.action.kind().to_string(),
                mode: spec.action.mode().map(str::to_string),
                target: spec.target.clone(),
                at_s: secs(spec.at_us),
                subjects: f.subjects.iter().map(|&b| broker_name(b)).collect(),
                detection_s,
                detection_window_s: window,
                convergence_s: Convergence {
                    p50: nearest_rank(&converged, 0.5),
                    p99: nearest_rank(&converged, 0.99),
                    max: converged.last().copied(),
                    clients: f.clients.len() as u64,
                    never: (f.clients.len() - converged.len()) as u64,
                },
                stale_window_s: f.last_attempt.map(|(at, _)| secs(at - f.at_us)),
                stale_attempts: f.stale_attempts,
                failed_attempts: f.failed_attempts,
                failed_sends: f.failed_sends,
                recovered_by_retry: f.recovered_by_retry,
                explain: has_subjects.then(|| explain(f, ns_names, &client_name)),
                consume_gap_s: reads.as_ref().map(|r| {
                    let mut gaps: Vec<f64> = r.gaps_us.iter().flatten().map(|&g| secs(g)).collect();
                    gaps.sort_by(f64::total_cmp);
                    ConsumeGaps {
                        p50: nearest_rank(&gaps, 0.5),
                        max: gaps.last().copied(),
                        queues: r.gaps_us.len() as u64,
                        never: r.gaps_us.iter().filter(|g| g.is_none()).count() as u64,
                    }
                }),
                duplicates: reads.as_ref().map(|r| r.duplicates),
                pull_failures: reads.as_ref().map(|r| r.pull_failures),
                store_to_consume_ms: reads.as_ref().map(|r| Delays {
                    p50: r.delay_us_p50.map(|us| us as f64 / 1e3),
                    p99: r.delay_us_p99.map(|us| us as f64 / 1e3),
                    messages: r.delayed_messages,
                }),
                failover_s: group_figures.as_ref().map(|g| {
                    let per_ns = g.failover_s.as_ref()?;
                    Some(ns_names.iter().cloned().zip(per_ns.iter().map(|at| at.map(secs))).collect())
                }),
                write_unavailable_s: group_figures.as_ref().map(|g| {
                    g.write_unavailable_us.iter().map(|&(group, us)| (group_name(group), us.map(secs))).collect()
                }),
                messages_lost: group_figures.as_ref().map(|g| g.messages_lost),
                added_latency_ms: if latency.is_empty() {
                    Percentiles::default()
                } else {
                    Percentiles {
                        p50: Some(ms(latency.value_at_quantile(0.5))),
                        p99: Some(ms(latency.value_at_quantile(0.99))),
                        max: Some(ms(latency.max())),
                    }
                },
            });
        }
        let false_removals: Vec<FalseRemoval> = self
            .false_removals
            .iter()
            .map(|(open, until)| FalseRemoval {
                nameserver: ns_names[open.nameserver as usize].clone(),
                broker: broker_name(open.broker),
                at_s: secs(open.at_us),
                missing_s: secs(until.unwrap_or(end_us) - open.at_us),
                relisted: until.is_some(),
            })
            .collect();
        let duration_s = secs(end_us);
        let totals = Totals {
            events,
            messages,
            messages_lost,
            false_removal_missing_s_max: false_removals.iter().map(|r| r.missing_s).max_by(f64::total_cmp),
            ..self.totals
        };
        let nameserver_load = ns_names
            .iter()
            .zip(&self.ns_requests)
            .map(|(name, &requests)| {
                (name.clone(), NameServerLoad { requests, requests_per_s: requests as f64 / duration_s.max(1e-9) })
            })
            .collect();
        let timeline = self.timeline(layout, &names, end_us);
        let reads = if self.consume.is_empty() {
            Vec::new()
        } else {
            let group_names: Vec<&str> = config.consumers.iter().map(|c| c.name.as_str()).collect();
            self.consume
                .waiting(end_us)
                .iter()
                .map(|w| ReadsRow {
                    second: w.second,
                    consumer_group: group_names[usize::from(w.consumer_group)].to_string(),
                    queues: w.queues,
                    queues_waiting: w.waiting,
                })
                .collect()
        };
        RunReport {
            summary: Summary {
                scenario: config.name.clone(),
                seed: config.seed,
                routesim_version: env!("CARGO_PKG_VERSION").to_string(),
                duration_s,
                preset: config.timing.preset.name().to_string(),
                nameservers: ns_names.to_vec(),
                faults: fault_summaries,
                false_removals,
                nameserver_load,
                totals,
            },
            timeseries: self.per_second,
            detection: detection_rows,
            convergence: convergence_rows,
            timeline,
            reads,
        }
    }

    fn timeline(&self, layout: &Layout, names: &[String], end_us: SimTime) -> Vec<TimelineRow> {
        let shown = |node: NodeIdx| match layout.role(node) {
            Role::Client { index } => index < TIMELINE_PRODUCERS_MAX,
            _ => true,
        };
        let mut rows = Vec::new();
        for node in (0..layout.nodes()).filter(|&n| shown(n)) {
            let role = layout.role_name(node);
            let row = |layer: &str, state: &str, start_us: SimTime, end: SimTime| TimelineRow {
                node: names[node as usize].clone(),
                role: role.to_string(),
                layer: layer.to_string(),
                state: state.to_string(),
                start_s: secs(start_us),
                end_s: secs(end),
            };
            // Process layer: a cover of [0, end] without overlap.
            let mut state = NodeState::Down;
            let mut since_us = 0;
            for &(_, at_us, next) in self.node_states.iter().filter(|(n, _, _)| *n == node) {
                if at_us > since_us {
                    rows.push(row("process", state.name(), since_us, at_us));
                }
                (state, since_us) = (next, at_us);
            }
            rows.push(row("process", state.name(), since_us, end_us));
            match layout.role(node) {
                Role::Broker { index } => {
                    // Role layer (failover modes): while it is its group's master.
                    for (start_us, end) in self.groups.master_spans(index, end_us) {
                        rows.push(row("role", "master", start_us, end));
                    }
                    let mut unlisted_since = Some(0);
                    for &(_, at_us, unlisted) in self.broker_unlisted.iter().filter(|(b, _, _)| *b == index) {
                        match (unlisted, unlisted_since) {
                            (true, None) => unlisted_since = Some(at_us),
                            (false, Some(since)) => {
                                if at_us > since {
                                    rows.push(row("route", "unlisted", since, at_us));
                                }
                                unlisted_since = None;
                            }
                            _ => {}
                        }
                    }
                    if let Some(since) = unlisted_since {
                        rows.push(row("route", "unlisted", since, end_us));
                    }
                }
                Role::Client { index } => {
                    for f in self.faults.iter().filter(|f| f.struck) {
                        let slot = f.client_slot[index as usize];
                        if slot != u32::MAX {
                            let c = f.convergence_us[slot as usize];
                            let until = if c == PENDING { end_us } else { f.at_us + c };
                            rows.push(row("route", "stale", f.at_us, until));
                        }
                    }
                }
                Role::NameServer { .. } => {}
            }
        }
        rows
    }
}

/// Per client, a short list of (key, fault) pairs (an attempt or send id, and the fault it
/// counts against). Almost every send finds its client's list empty, and a bit per client
/// says so without reading the list (a cache miss per send in a large fleet: the bits of
/// 100,000 clients fit in 13 KB, their list headers take 2.4 MB).
#[derive(Clone, Debug)]
struct ClientLists {
    lists: Vec<Vec<(u32, u16)>>,
    /// Bit `client` is set when `lists[client]` is not empty.
    nonempty: Vec<u64>,
}

impl ClientLists {
    fn new(clients: usize) -> ClientLists {
        ClientLists { lists: vec![Vec::new(); clients], nonempty: vec![0; clients.div_ceil(64)] }
    }

    #[inline]
    fn has_entries(&self, client: u32) -> bool {
        self.nonempty[client as usize / 64] & (1 << (client % 64)) != 0
    }

    fn push(&mut self, client: u32, entry: (u32, u16)) {
        self.lists[client as usize].push(entry);
        self.nonempty[client as usize / 64] |= 1 << (client % 64);
    }

    #[inline]
    fn holds(&self, client: u32, key: u32) -> bool {
        self.has_entries(client) && self.lists[client as usize].iter().any(|&(k, _)| k == key)
    }

    /// Removes `key`'s entry from `client`'s list, returning its fault.
    #[inline]
    fn take(&mut self, client: u32, key: u32) -> Option<u16> {
        if !self.has_entries(client) {
            return None;
        }
        let list = &mut self.lists[client as usize];
        let i = list.iter().position(|&(k, _)| k == key)?;
        let fault = list.swap_remove(i).1;
        if list.is_empty() {
            self.nonempty[client as usize / 64] &= !(1 << (client % 64));
        }
        Some(fault)
    }
}

fn holds_any(routes: &RouteStore, route: RouteId, subjects: &[u32]) -> bool {
    routes.get(route).is_some_and(|route| subjects.iter().any(|&b| route.holds(b)))
}

/// The chain of events behind a fault's stale window, as numbers; the output layer writes
/// the sentences (`output::explain`).
fn explain(f: &FaultMetrics, ns_names: &[String], client_name: &dyn Fn(u32) -> String) -> Explanation {
    let nameservers = ns_names
        .iter()
        .enumerate()
        .map(|(ns, name)| {
            let moment = NameServerMoment {
                last_registration_s: f.last_registration_us[ns].map(secs),
                removed_s: f.detection_us[ns].map(secs),
                cause: f.removal_cause[ns].map(|c| c.name().to_string()),
            };
            (name.clone(), moment)
        })
        .collect();
    let slowest_client = f.slowest_client.map(|(at_us, p, ns)| ClientMoment {
        client: client_name(p),
        at_s: secs(at_us),
        nameserver: ns.map(|ns| ns_names[ns as usize].clone()),
    });
    let last_stale_attempt =
        f.last_attempt.map(|(at_us, p)| ClientMoment { client: client_name(p), at_s: secs(at_us), nameserver: None });
    Explanation { nameservers, slowest_client, last_stale_attempt, text: Vec::new() }
}

/// The consumer-side meter of a run: every queue of every topic a consumer group reads.
fn consume_meter(config: &WorldConfig) -> ConsumeMeter {
    let mut readers: BTreeMap<u16, Vec<u16>> = BTreeMap::new();
    for (group, c) in config.consumers.iter().enumerate() {
        readers.entry(c.topic).or_default().push(group as u16);
    }
    let queues: Vec<QueueKey> = readers
        .keys()
        .flat_map(|&topic| {
            let t = &config.topics[usize::from(topic)];
            t.groups.iter().flat_map(move |&g| (0..t.queues_per_broker).map(move |q| (topic, g, q)))
        })
        .collect();
    ConsumeMeter::new(readers, &queues, config.faults.len())
}

/// The queues a fault's consumer figures watch: those of the broker groups it strikes, or
/// every queue the struck consumer's group reads.
fn consume_subjects(config: &WorldConfig, action: &crate::model::config::FaultAction) -> WindowSubjects {
    let layout = &config.layout;
    let mut subjects = WindowSubjects::default();
    for broker in action.subjects(layout) {
        let group = layout.broker_position(broker).0;
        if !subjects.broker_groups.contains(&group) {
            subjects.broker_groups.push(group);
        }
    }
    if let Some(node) = action.node()
        && let Role::Client { index } = layout.role(node)
        && let Some((group, _)) = config.consumer_of(index)
    {
        subjects.consumer_groups.push(group);
    }
    subjects
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::ClientLists;

    #[test]
    fn client_lists_answer_as_plain_lists_do() {
        for seed in 0..10 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let clients = rng.gen_range(1..200u32);
            let mut lists = ClientLists::new(clients as usize);
            let mut reference: Vec<Vec<(u32, u16)>> = vec![Vec::new(); clients as usize];
            for _ in 0..5_000 {
                let (client, key) = (rng.gen_range(0..clients), rng.gen_range(0..8u32));
                if rng.gen_bool(0.5) {
                    let entry = (key, rng.r#gen::<u16>());
                    lists.push(client, entry);
                    reference[client as usize].push(entry);
                } else {
                    let list = &mut reference[client as usize];
                    let expected = list.iter().position(|&(k, _)| k == key).map(|i| list.swap_remove(i).1);
                    assert_eq!(lists.take(client, key), expected, "seed {seed}");
                }
                let probe = (rng.gen_range(0..clients), rng.gen_range(0..8u32));
                let held = reference[probe.0 as usize].iter().any(|&(k, _)| k == probe.1);
                assert_eq!(lists.holds(probe.0, probe.1), held, "seed {seed}");
                assert_eq!(lists.has_entries(probe.0), !reference[probe.0 as usize].is_empty(), "seed {seed}");
            }
        }
    }
}
