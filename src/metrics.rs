//! Streaming measurements of one run, turned into a `RunReport` at the end.
//!
//! The model calls in as things happen; nothing here stores a record per send: per-second
//! counters, per-fault counters and a latency histogram, plus per-client convergence times
//! (bounded by the number of clients) and the rare state changes behind the timeline.

use hdrhistogram::Histogram;

use crate::engine::{SimTime, US_PER_MS, US_PER_S, secs};
use crate::model::config::{FaultSpec, Layout, Role};
use crate::model::nameserver::Removal;
use crate::net::NodeIdx;
use crate::report::{
    ClientMoment, Convergence, ConvergenceRow, DetectionRow, Explanation, FalseRemoval, FaultSummary, NameServerLoad,
    NameServerMoment, Percentiles, RunReport, SecondCounts, Summary, TimelineRow, Totals, Window, nearest_rank,
};

/// Process state of a node as the timeline shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    Down,
    Up,
    Paused,
    Partitioned,
}

impl NodeState {
    fn name(self) -> &'static str {
        match self {
            NodeState::Down => "down",
            NodeState::Up => "up",
            NodeState::Paused => "paused",
            NodeState::Partitioned => "partitioned",
        }
    }
}

const PENDING: SimTime = SimTime::MAX;
/// How many producers the timeline shows.
const TIMELINE_PRODUCERS_MAX: u32 = 8;
const LATENCY_US_HIGHEST: u64 = 3_600 * US_PER_S;

struct FaultMetrics {
    at_us: SimTime,
    struck: bool,
    /// Every subject is back in service.
    ended: bool,
    subjects: Vec<u32>,
    /// Per NameServer: time of detection after the fault; `None` not yet (or never).
    detection_us: Vec<Option<SimTime>>,
    /// Per NameServer: the last registration of a subject it processed before the fault.
    last_registration_us: Vec<Option<SimTime>>,
    /// Per NameServer: how the removal that completed detection happened.
    removal_cause: Vec<Option<Removal>>,
    /// The client that converged last: (producer, time, NameServer it heard from).
    slowest_client: Option<(u32, SimTime, Option<u32>)>,
    /// The client of the last stale attempt.
    last_attempt_client: Option<u32>,
    /// Per producer: index into `convergence_us`, or `u32::MAX` if not tracked.
    client_slot: Vec<u32>,
    clients: Vec<u32>,
    convergence_us: Vec<SimTime>,
    last_attempt_us: Option<SimTime>,
    stale_attempts: u64,
    failed_attempts: u64,
    failed_sends: u64,
    recovered_by_retry: u64,
    added_latency_us: Histogram<u64>,
}

struct OpenFalseRemoval {
    nameserver: u32,
    broker: u32,
    at_us: SimTime,
}

pub struct Metrics {
    nameservers: u32,
    brokers: u32,
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
}

/// A send as the metrics see it when it completes.
pub struct SendOutcome {
    pub ok: bool,
    pub start_us: SimTime,
    pub final_attempt_start_us: SimTime,
    /// The fault whose subject failed one of this send's attempts first.
    pub touched: Option<u16>,
}

impl Metrics {
    pub fn new(layout: &Layout, faults: usize, duration_us: SimTime) -> Metrics {
        let seconds = duration_us.div_ceil(US_PER_S);
        let producers = layout.producers() as usize;
        Metrics {
            nameservers: layout.nameservers,
            brokers: layout.brokers(),
            per_second: (0..seconds).map(|second| SecondCounts { second, ..Default::default() }).collect(),
            totals: Totals::default(),
            faults: (0..faults)
                .map(|_| FaultMetrics {
                    at_us: 0,
                    struck: false,
                    ended: false,
                    subjects: Vec::new(),
                    detection_us: vec![None; layout.nameservers as usize],
                    last_registration_us: vec![None; layout.nameservers as usize],
                    removal_cause: vec![None; layout.nameservers as usize],
                    slowest_client: None,
                    last_attempt_client: None,
                    client_slot: vec![u32::MAX; producers],
                    clients: Vec::new(),
                    convergence_us: Vec::new(),
                    last_attempt_us: None,
                    stale_attempts: 0,
                    failed_attempts: 0,
                    failed_sends: 0,
                    recovered_by_retry: 0,
                    added_latency_us: Histogram::new_with_bounds(1, LATENCY_US_HIGHEST, 3).expect("valid bounds"),
                })
                .collect(),
            broker_fault: vec![None; layout.brokers() as usize],
            false_removal_open: vec![None; (layout.nameservers * layout.brokers()) as usize],
            false_removals: Vec::new(),
            ns_requests: vec![0; layout.nameservers as usize],
            node_states: Vec::new(),
            last_node_state: vec![NodeState::Down; layout.nodes() as usize],
            broker_unlisted: Vec::new(),
            last_unlisted: vec![true; layout.brokers() as usize],
        }
    }

    fn second(&mut self, now_us: SimTime) -> Option<&mut SecondCounts> {
        self.per_second.get_mut((now_us / US_PER_S) as usize)
    }

    /// Fault `fault` struck `subjects` (broker indices). `last_update_us(ns, broker)` is the
    /// NameServer's last registration time of a broker it lists (`None`: not listed),
    /// `ns_running` which NameServers run, `holders` which producers' routes hold a subject.
    pub fn fault_struck(
        &mut self,
        fault: u16,
        now_us: SimTime,
        subjects: &[u32],
        last_update_us: impl Fn(u32, u32) -> Option<SimTime>,
        ns_running: &[bool],
        holders: &[u32],
    ) {
        let f = &mut self.faults[usize::from(fault)];
        assert!(!f.struck, "a fault strikes once");
        f.struck = true;
        f.at_us = now_us;
        f.subjects = subjects.to_vec();
        for ns in 0..self.nameservers {
            let last = subjects.iter().filter_map(|&b| last_update_us(ns, b)).max();
            f.last_registration_us[ns as usize] = last;
            if ns_running[ns as usize] && last.is_none() {
                f.detection_us[ns as usize] = Some(now_us);
            }
        }
        for &p in holders {
            f.client_slot[p as usize] = f.clients.len() as u32;
            f.clients.push(p);
            f.convergence_us.push(PENDING);
        }
        for &b in subjects {
            self.broker_fault[b as usize] = Some(fault);
        }
    }

    /// Broker `broker` is back in service: attempts to it are no longer stale.
    /// Once every subject of a fault is back, the fault is over: later removals and route
    /// changes belong to whatever happens next, not to it.
    pub fn broker_recovered(&mut self, broker: u32) {
        let Some(fault) = self.broker_fault[broker as usize].take() else { return };
        if !self.broker_fault.contains(&Some(fault)) {
            self.faults[usize::from(fault)].ended = true;
        }
    }

    /// An attempt to `broker` started; returns the fault that makes it stale, if any.
    pub fn attempt_started(&mut self, now_us: SimTime, broker: u32, producer: u32) -> Option<u16> {
        self.totals.attempts += 1;
        if let Some(s) = self.second(now_us) {
            s.attempts += 1;
        }
        let fault = self.broker_fault[broker as usize]?;
        let f = &mut self.faults[usize::from(fault)];
        f.stale_attempts += 1;
        f.last_attempt_us = Some(now_us);
        f.last_attempt_client = Some(producer);
        Some(fault)
    }

    pub fn attempt_failed(&mut self, now_us: SimTime, stale_fault: Option<u16>) {
        self.totals.failed_attempts += 1;
        if let Some(s) = self.second(now_us) {
            s.failed_attempts += 1;
        }
        if let Some(fault) = stale_fault {
            self.faults[usize::from(fault)].failed_attempts += 1;
        }
    }

    pub fn send_done(&mut self, now_us: SimTime, send: SendOutcome) {
        assert!(send.start_us <= send.final_attempt_start_us && send.final_attempt_start_us <= now_us);
        self.totals.sends += 1;
        if !send.ok {
            self.totals.failed_sends += 1;
        }
        if let Some(s) = self.second(now_us) {
            s.sends += 1;
            s.failed_sends += u64::from(!send.ok);
        }
        let Some(fault) = send.touched else { return };
        let f = &mut self.faults[usize::from(fault)];
        let added_us = if send.ok {
            f.recovered_by_retry += 1;
            send.final_attempt_start_us - send.start_us
        } else {
            f.failed_sends += 1;
            now_us - send.start_us
        };
        f.added_latency_us.saturating_record(added_us);
    }

    /// A send found no writable queue in its route (counted again in `send_done`).
    pub fn send_without_route(&mut self) {
        self.totals.failed_sends_no_route += 1;
    }

    pub fn ns_request(&mut self, ns: u32) {
        self.ns_requests[ns as usize] += 1;
    }

    /// NameServer `ns` dropped `broker`. `serving`: the broker's process was running and not
    /// paused (so the removal is false). `listed(b)` tells what `ns` lists now.
    pub fn ns_removed(
        &mut self,
        now_us: SimTime,
        ns: u32,
        broker: u32,
        serving: bool,
        cause: Removal,
        listed: impl Fn(u32) -> bool,
    ) {
        for f in &mut self.faults {
            let waiting = f.struck && !f.ended && f.detection_us[ns as usize].is_none() && f.subjects.contains(&broker);
            if waiting && !f.subjects.iter().any(|&b| listed(b)) {
                f.detection_us[ns as usize] = Some(now_us);
                f.removal_cause[ns as usize] = Some(cause);
            }
        }
        let key = (ns * self.brokers + broker) as usize;
        if serving && self.false_removal_open[key].is_none() {
            self.totals.false_removals += 1;
            self.false_removal_open[key] = Some(self.false_removals.len());
            self.false_removals.push((OpenFalseRemoval { nameserver: ns, broker, at_us: now_us }, None));
        }
    }

    pub fn ns_listed(&mut self, now_us: SimTime, ns: u32, broker: u32) {
        let key = (ns * self.brokers + broker) as usize;
        if let Some(i) = self.false_removal_open[key].take() {
            self.false_removals[i].1 = Some(now_us);
        }
    }

    /// Producer `producer`'s route changed; `holds(subjects)` tells whether it holds any.
    /// Producer `producer`'s route changed (an answer from NameServer `ns`); `holds(subjects)`
    /// tells whether it still holds any.
    pub fn route_changed(&mut self, now_us: SimTime, producer: u32, ns: Option<u32>, holds: impl Fn(&[u32]) -> bool) {
        for f in &mut self.faults {
            let slot = f.client_slot[producer as usize];
            if !f.ended && slot != u32::MAX && f.convergence_us[slot as usize] == PENDING && !holds(&f.subjects) {
                f.convergence_us[slot as usize] = now_us - f.at_us;
                f.slowest_client = Some((producer, now_us, ns));
            }
        }
    }

    pub fn node_state(&mut self, now_us: SimTime, node: NodeIdx, state: NodeState) {
        if self.last_node_state[node as usize] != state {
            self.last_node_state[node as usize] = state;
            self.node_states.push((node, now_us, state));
        }
    }

    pub fn broker_listing(&mut self, now_us: SimTime, broker: u32, unlisted: bool) {
        if self.last_unlisted[broker as usize] != unlisted {
            self.last_unlisted[broker as usize] = unlisted;
            self.broker_unlisted.push((broker, now_us, unlisted));
        }
    }

    pub fn report(self, run: RunInfo<'_>) -> RunReport {
        let RunInfo {
            scenario,
            seed,
            preset,
            layout,
            faults,
            detection_windows,
            end_us,
            events,
            messages,
            messages_lost,
        } = run;
        let names = layout.node_names();
        let ns_names = &names[..layout.nameservers as usize];
        let broker_name = |b: u32| names[(layout.first_broker() + b) as usize].clone();
        let producer_name = |p: u32| names[(layout.first_producer() + p) as usize].clone();
        let mut detection_rows = Vec::new();
        let mut convergence_rows = Vec::new();
        let mut fault_summaries = Vec::new();
        for ((spec, f), window) in faults.iter().zip(&self.faults).zip(detection_windows) {
            let has_subjects = f.struck && !f.subjects.is_empty();
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
                    client: producer_name(p),
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
                stale_window_s: f.last_attempt_us.map(|at| secs(at - f.at_us)),
                stale_attempts: f.stale_attempts,
                failed_attempts: f.failed_attempts,
                failed_sends: f.failed_sends,
                recovered_by_retry: f.recovered_by_retry,
                explain: has_subjects.then(|| explain(f, spec, ns_names, &producer_name)),
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
        RunReport {
            summary: Summary {
                scenario: scenario.to_string(),
                seed,
                routesim_version: env!("CARGO_PKG_VERSION").to_string(),
                duration_s,
                preset: preset.to_string(),
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
        }
    }

    fn timeline(&self, layout: &Layout, names: &[String], end_us: SimTime) -> Vec<TimelineRow> {
        let shown = |node: NodeIdx| match layout.role(node) {
            Role::Producer { index } => index < TIMELINE_PRODUCERS_MAX,
            _ => true,
        };
        let mut rows = Vec::new();
        for node in (0..layout.nodes()).filter(|&n| shown(n)) {
            let role = layout.role(node).name();
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
                Role::Producer { index } => {
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

/// What the report needs beyond the measurements.
pub struct RunInfo<'a> {
    pub scenario: &'a str,
    pub seed: u64,
    pub preset: &'a str,
    pub layout: &'a Layout,
    pub faults: &'a [FaultSpec],
    /// Per fault, MODEL.md's closed-form detection window, when one applies.
    pub detection_windows: &'a [Option<(SimTime, SimTime)>],
    pub end_us: SimTime,
    pub events: u64,
    pub messages: u64,
    pub messages_lost: u64,
}

/// The chain of events behind a fault's stale window, as numbers and as sentences.
fn explain(
    f: &FaultMetrics,
    spec: &FaultSpec,
    ns_names: &[String],
    producer_name: &dyn Fn(u32) -> String,
) -> Explanation {
    let mut text = Vec::new();
    let mut nameservers = std::collections::BTreeMap::new();
    for (ns, name) in ns_names.iter().enumerate() {
        let moment = NameServerMoment {
            last_registration_s: f.last_registration_us[ns].map(secs),
            removed_s: f.detection_us[ns].map(secs),
            cause: f.removal_cause[ns].map(|c| c.name().to_string()),
        };
        let last = moment
            .last_registration_s
            .map_or("no registration".to_string(), |t| format!("last registration at {t:.1} s"));
        let removed = match (moment.removed_s, &moment.cause) {
            (Some(t), Some(cause)) => {
                format!("removed at {t:.1} s ({cause}, {:.1} s after the fault)", t - secs(spec.at_us))
            }
            (Some(t), None) => format!("not listed at the fault ({t:.1} s)"),
            (None, _) => "never removed within the run".to_string(),
        };
        text.push(format!("{name}: {last}; {removed}"));
        nameservers.insert(name.clone(), moment);
    }
    let slowest_client = f.slowest_client.map(|(p, at_us, ns)| ClientMoment {
        client: producer_name(p),
        at_s: secs(at_us),
        nameserver: ns.map(|ns| ns_names[ns as usize].clone()),
    });
    if let Some(c) = &slowest_client {
        let from = c.nameserver.as_deref().map_or(String::new(), |ns| format!(" from {ns}"));
        text.push(format!("slowest client {} dropped it at {:.1} s, polling{from}", c.client, c.at_s));
    }
    let last_stale_attempt = f.last_attempt_client.zip(f.last_attempt_us).map(|(p, at_us)| ClientMoment {
        client: producer_name(p),
        at_s: secs(at_us),
        nameserver: None,
    });
    if let Some(a) = &last_stale_attempt {
        text.push(format!(
            "last stale attempt by {} at {:.1} s: stale window {:.1} s",
            a.client,
            a.at_s,
            a.at_s - secs(spec.at_us)
        ));
    }
    Explanation { nameservers, slowest_client, last_stale_attempt, text }
}
