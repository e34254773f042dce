//! `routesim explore`: run many fault schedules drawn from a scenario's `explore:` grammar,
//! judge every run by properties, rank the runs by an objective, and shrink the worst and the
//! failing ones to small scenarios that show the same thing (docs/EXPLORE.md).
//!
//! Run `r` draws its schedule from `(explore seed, r)` alone and results are gathered by run
//! index, so any thread count explores the same schedules and writes the same report bytes.
//! Properties come in three sorts, as in TigerBeetle's VOPR and Antithesis: *always*
//! (the scenario's `expect:` lines and built-in safety checks), *liveness* (once faults stop,
//! stale sends stop within a bound from the settings) and *sometimes* (states the search should
//! reach at least once, to show it went somewhere interesting).

mod report;
mod shrink;
mod watch;

use std::cell::RefCell;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::Serialize;

use crate::check::CheckedScenario;
use crate::engine::{SimTime, secs};
use crate::expect;
use crate::model::config::{FaultAction, WorldConfig};
use crate::model::trace::{TraceRecord, TraceSink, Tracer};
use crate::net::LinkClass;
use crate::report::Summary;
use crate::runner::{self, Job, RunnerError};
use crate::scenario::explore::{ExploreSpec, Objective, Schedule, fault_yaml};

pub use report::write;
use watch::{Breach, Watcher};

/// How many of the worst runs the report lists.
pub const WORST_LISTED: usize = 10;

/// The figures every run is judged against, from the scenario's settings.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Bounds {
    /// MODEL.md's single-fault worst case of a silent fault: detection at its latest
    /// (min(idle close, expiry + scan), 120 s with 4.x defaults) plus one route poll (30 s).
    pub single_fault_stale_window_s: f64,
    /// A client should drop a broker that no NameServer lists within one poll interval and one
    /// query timeout.
    pub route_after_removal_s: f64,
    /// After the last fault, stale sends stop within detection + poll + query timeout.
    pub liveness_s: f64,
}

impl Bounds {
    pub fn of(world: &WorldConfig) -> Bounds {
        let t = &world.timing;
        let detection_us = t.silent_detection_window_us().1;
        Bounds {
            single_fault_stale_window_s: secs(detection_us + t.client_route_poll_us),
            route_after_removal_s: secs(t.client_route_poll_us + t.client_api_timeout_us),
            liveness_s: secs(detection_us + t.client_route_poll_us + t.client_api_timeout_us),
        }
    }

    fn us(s: f64) -> SimTime {
        (s * 1e6).round() as SimTime
    }
}

/// The built-in "always" properties.
pub const HEALTHY_BROKER_KEPT: &str = "a healthy, reachable broker is never removed";
pub const NO_SEND_TO_SLAVE: &str = "no send goes to a slave";
pub const ROUTE_DROPS_REMOVED: &str =
    "no send goes to a broker no NameServer listed for a poll interval and a query timeout";
pub const LIVENESS: &str = "stale sends stop within the liveness bound after the last fault";

/// The "sometimes" properties: worth reaching at least once.
pub const SOMETIMES: [&str; 5] = [
    "a stale send happened",
    "a false removal happened",
    "a send failed",
    "a send found no route",
    "a stale window beyond the single-fault bound",
];

/// One property a run broke.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    pub property: String,
    pub detail: String,
}

/// The verdict of one run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunRecord {
    pub run: u64,
    pub seed: u64,
    /// The objective's value: seconds of stale window, or failed sends.
    pub objective: f64,
    /// The longest stale window of any fault, and that fault.
    pub stale_window_s: Option<f64>,
    pub stale_fault: Option<String>,
    pub violations: Vec<Violation>,
    /// Per entry of [`SOMETIMES`]: whether this run reached it.
    #[serde(skip)]
    pub sometimes: [bool; SOMETIMES.len()],
}

/// One scenario to explore, with what every run needs.
pub struct Explorer<'a> {
    pub path: &'a Path,
    pub checked: &'a CheckedScenario,
    pub spec: &'a ExploreSpec,
    pub bounds: Bounds,
    /// The exploration's seed (`--seed`, else `explore.seed`).
    pub seed: u64,
}

impl<'a> Explorer<'a> {
    pub fn new(path: &'a Path, checked: &'a CheckedScenario, seed: Option<u64>) -> Explorer<'a> {
        let spec = &checked.scenario.explore;
        Explorer { path, checked, spec, bounds: Bounds::of(&checked.scenario.world), seed: seed.unwrap_or(spec.seed) }
    }

    pub fn schedule(&self, run: u64) -> Schedule {
        self.spec.draw(self.seed, run)
    }

    /// The world of `schedule`; an error when its faults do not validate (a shrink step can
    /// ask for that, a drawn schedule never does).
    pub fn world(&self, schedule: &Schedule) -> Result<WorldConfig, String> {
        let mut world = self.checked.scenario.world.clone();
        world.seed = schedule.seed;
        world.faults = self.spec.fault_specs(schedule)?;
        Ok(world)
    }

    /// Runs `schedule` and judges it. Panics if the schedule does not validate or a model
    /// invariant breaks: both bugs, caught and reported by the caller's runner.
    pub fn judge(&self, run: u64, schedule: &Schedule) -> RunRecord {
        let world = self.world(schedule).unwrap_or_else(|e| panic!("run {run}: a drawn schedule is invalid: {e}"));
        self.judge_world(run, world)
    }

    fn judge_world(&self, run: u64, world: WorldConfig) -> RunRecord {
        let quiet_us = world.faults.iter().map(|f| f.at_us).max().unwrap_or(0);
        let liveness_judged = quiet_us + Bounds::us(self.bounds.liveness_s) < world.duration_us;
        let quiet_deadline_us =
            if liveness_judged { quiet_us + Bounds::us(self.bounds.liveness_s) } else { SimTime::MAX };
        let watcher = Rc::new(RefCell::new(Watcher::new(
            &world.layout,
            Bounds::us(self.bounds.route_after_removal_s),
            quiet_deadline_us,
        )));
        let tracer = Tracer { filter: Watcher::filter(), sink: Box::new(Shared(Rc::clone(&watcher))) };
        let names = world.layout.node_names();
        let touched = touched_brokers(&world);
        let seed = world.seed;
        let summary = crate::simulate_traced(world, tracer).summary;
        let watched = watcher.borrow().watched.clone();
        let mut violations = Vec::new();
        let value = serde_json::to_value(&summary).expect("a Summary is plain data with string keys");
        for assertion in &self.checked.assertions {
            let outcome = expect::evaluate(assertion, &[(seed, value.clone())]);
            if !outcome.passed {
                violations
                    .push(Violation { property: format!("expect: {}", assertion.text), detail: outcome.observed });
            }
        }
        if let Some(r) = summary.false_removals.iter().find(|r| !touched.contains(&r.broker)) {
            let detail =
                format!("{} removed {} at {:.1} s, missing {:.1} s", r.nameserver, r.broker, r.at_s, r.missing_s);
            violations.push(Violation { property: HEALTHY_BROKER_KEPT.into(), detail });
        }
        for (property, breach) in [
            (NO_SEND_TO_SLAVE, &watched.sends_to_slaves),
            (ROUTE_DROPS_REMOVED, &watched.routed_after_removal),
            (LIVENESS, &watched.stale_after_quiet),
        ] {
            if let Some(detail) = describe(breach, &names) {
                violations.push(Violation { property: property.into(), detail });
            }
        }
        let (stale_window_s, stale_fault) = stale_window(&summary).unzip();
        let objective = match self.spec.objective {
            Objective::StaleWindow => stale_window_s.unwrap_or(0.0),
            Objective::FailedSends => summary.totals.failed_sends as f64,
        };
        let t = &summary.totals;
        let sometimes = [
            summary.faults.iter().any(|f| f.stale_attempts > 0),
            t.false_removals > 0,
            t.failed_sends > 0,
            t.failed_sends_no_route > 0,
            stale_window_s.is_some_and(|s| s > self.bounds.single_fault_stale_window_s),
        ];
        RunRecord { run, seed, objective, stale_window_s, stale_fault, violations, sometimes }
    }
}

/// The longest stale window of a run and its fault.
fn stale_window(summary: &Summary) -> Option<(f64, String)> {
    summary.faults.iter().filter_map(|f| f.stale_window_s.map(|s| (s, f.id.clone()))).fold(None, |best, (s, id)| {
        match best {
            Some((b, _)) if b >= s => best,
            _ => Some((s, id)),
        }
    })
}

/// Brokers some fault touched: its subjects, a restart or resume of the broker, and every
/// broker when a loss fault covers the broker–NameServer links.
fn touched_brokers(world: &WorldConfig) -> Vec<String> {
    let layout = &world.layout;
    let mut touched: Vec<u32> = Vec::new();
    for f in &world.faults {
        touched.extend(f.action.subjects(layout));
        match f.action {
            FaultAction::Restart { node } | FaultAction::Resume { node } => touched.extend(layout.broker_addr(node)),
            FaultAction::Loss { probabilities }
                if probabilities[LinkClass::BrokerNs as usize].is_some_and(|p| p > 0.0) =>
            {
                touched.extend(0..layout.brokers())
            }
            _ => {}
        }
    }
    touched.sort_unstable();
    touched.dedup();
    touched.into_iter().map(|b| layout.node_name(layout.broker_node(b))).collect()
}

fn describe(breach: &Breach, names: &[String]) -> Option<String> {
    let (at_us, client, broker, why) = breach.first.as_ref()?;
    let name = |n: &u32| names.get(*n as usize).cloned().unwrap_or_default();
    Some(format!(
        "{} times; first at {:.1} s: {} sent to {} ({why})",
        breach.count,
        secs(*at_us),
        name(client),
        name(broker)
    ))
}

/// The watcher, shared between the model (which feeds it) and the judge (which reads it).
struct Shared(Rc<RefCell<Watcher>>);

impl TraceSink for Shared {
    fn record(&mut self, r: &TraceRecord) {
        self.0.borrow_mut().record(r);
    }
}

/// Run `run` of an exploration, as the runner sees it.
struct RunJob<'e, 'a> {
    explorer: &'e Explorer<'a>,
    run: u64,
    seed: u64,
}

impl Job for RunJob<'_, '_> {
    fn scenario(&self) -> &Path {
        self.explorer.path
    }

    fn seed(&self) -> u64 {
        self.seed
    }

    /// `routesim run --seed` alone does not replay an explore run: it needs the schedule.
    fn detail(&self) -> String {
        let faults: Vec<String> = self.explorer.schedule(self.run).faults.iter().map(fault_yaml).collect();
        format!("explore run {} of explore seed {}, with faults [{}]", self.run, self.explorer.seed, faults.join(", "))
    }
}

/// Runs and judges runs `0..runs` on `threads` threads, calling `done` after each; the records
/// come back in run order.
pub fn run_all(
    explorer: &Explorer,
    runs: u64,
    threads: Option<NonZeroUsize>,
    done: &(dyn Fn(&RunRecord) + Sync),
) -> Result<Vec<RunRecord>, RunnerError> {
    let jobs: Vec<RunJob> = (0..runs).map(|run| RunJob { explorer, run, seed: explorer.schedule(run).seed }).collect();
    runner::run(&jobs, threads, None, |job| {
        let record = explorer.judge(job.run, &explorer.schedule(job.run));
        done(&record);
        record
    })
}

/// What one exploration found.
#[derive(Clone, Debug)]
pub struct Exploration {
    pub runs: Vec<RunRecord>,
    pub shrunk: Vec<shrink::Shrunk>,
}

impl Exploration {
    /// Run indices from worst to best by the objective; ties by run index.
    pub fn ranked(&self) -> Vec<&RunRecord> {
        let mut ranked: Vec<&RunRecord> = self.runs.iter().collect();
        ranked.sort_by(|a, b| b.objective.total_cmp(&a.objective).then(a.run.cmp(&b.run)));
        ranked
    }

    /// Each violated property with its runs, in the order first seen.
    pub fn violated(&self) -> Vec<(String, Vec<&RunRecord>)> {
        let mut found: Vec<(String, Vec<&RunRecord>)> = Vec::new();
        for r in &self.runs {
            for v in &r.violations {
                match found.iter_mut().find(|(p, _)| *p == v.property) {
                    Some((_, runs)) => runs.push(r),
                    None => found.push((v.property.clone(), vec![r])),
                }
            }
        }
        found
    }
}

/// Takes the records of every run (in run order), then shrinks the worst run and the first
/// run breaking each property, in parallel on `threads` threads (each shrink is sequential
/// and depends on nothing else, so the results do not depend on the thread count).
pub fn finish(
    explorer: &Explorer,
    runs: Vec<RunRecord>,
    threads: Option<NonZeroUsize>,
) -> Result<Exploration, RunnerError> {
    let mut exploration = Exploration { runs, shrunk: Vec::new() };
    let mut targets: Vec<(shrink::Goal, u64)> = Vec::new();
    if let Some(worst) = exploration.ranked().first().filter(|r| r.objective > 0.0) {
        targets
            .push((shrink::Goal::Objective { at_least: worst.objective * (1.0 - explorer.spec.tolerance) }, worst.run));
    }
    for (property, runs) in exploration.violated() {
        targets.push((shrink::Goal::Violates(property), runs[0].run));
    }
    targets.truncate(shrink::SHRINKS_MAX);
    let jobs: Vec<ShrinkJob> = targets
        .into_iter()
        .enumerate()
        .map(|(index, (goal, run))| ShrinkJob {
            run: RunJob { explorer, run, seed: explorer.schedule(run).seed },
            goal,
            index,
        })
        .collect();
    exploration.shrunk =
        runner::run(&jobs, threads, None, |job| shrink::shrink(explorer, job.run.run, job.goal.clone(), job.index))?;
    Ok(exploration)
}

/// A shrink of one run, as the runner sees it.
struct ShrinkJob<'e, 'a> {
    run: RunJob<'e, 'a>,
    goal: shrink::Goal,
    index: usize,
}

impl Job for ShrinkJob<'_, '_> {
    fn scenario(&self) -> &Path {
        self.run.scenario()
    }

    fn seed(&self) -> u64 {
        self.run.seed
    }

    fn detail(&self) -> String {
        format!("shrinking ({}) {}", self.goal.label(), self.run.detail())
    }
}

/// The default output directory: `output/<name>-explore/`.
pub fn default_out(name: &str) -> PathBuf {
    Path::new("output").join(format!("{name}-explore"))
}

/// A summary line of a record for the terminal.
pub fn headline(explorer: &Explorer, exploration: &Exploration) -> Vec<String> {
    let mut lines = Vec::new();
    let ranked = exploration.ranked();
    if let Some(w) = ranked.first() {
        let unit = match explorer.spec.objective {
            Objective::StaleWindow => format!(
                " s{} (single-fault bound {:.0} s)",
                w.stale_fault.as_ref().map(|f| format!(", fault {f}")).unwrap_or_default(),
                explorer.bounds.single_fault_stale_window_s
            ),
            Objective::FailedSends => " failed sends".into(),
        };
        lines.push(format!(
            "worst: run {} (seed {}): {} {:.1}{unit}",
            w.run,
            w.seed,
            explorer.spec.objective.name(),
            w.objective
        ));
    }
    for (property, runs) in exploration.violated() {
        lines.push(format!("violated in {} runs: {property}", runs.len()));
    }
    for s in &exploration.shrunk {
        lines.push(format!(
            "shrunk run {} ({}): {} faults -> {}, {} {:.1}; wrote {}",
            s.run,
            s.goal.label(),
            s.faults_before,
            s.schedule.faults.len(),
            explorer.spec.objective.name(),
            s.record.objective,
            s.file
        ));
    }
    lines
}
