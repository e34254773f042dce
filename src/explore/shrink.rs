//! Shrinking: a schedule that is worst, or breaks a property, made as small as it can be while
//! it still does. Greedy and deterministic: drop faults (until a whole pass drops none), then
//! halve durations, then move times and durations to round values; each step is kept only if
//! the re-run still meets the goal. The world seed stays, so every re-run is the same world
//! with fewer or simpler faults.

use crate::engine::{SimTime, US_PER_S};
use crate::scenario::explore::{Objective, Schedule};
use crate::scenario::units::Dur;

use super::{Explorer, HEALTHY_BROKER_KEPT, RunRecord};

/// The most schedules one exploration shrinks (the worst, then one per violated property).
pub const SHRINKS_MAX: usize = 4;
/// The most re-runs one shrink spends.
pub const RERUNS_MAX: usize = 60;
/// Halvings tried per duration.
const HALVINGS_MAX: usize = 4;

/// What a shrunk schedule must still do.
#[derive(Clone, Debug, PartialEq)]
pub enum Goal {
    /// Stay worst: an objective of at least this (the original less the tolerance).
    Objective { at_least: f64 },
    /// Still break this property.
    Violates(String),
}

impl Goal {
    pub fn label(&self) -> String {
        match self {
            Goal::Objective { .. } => "worst".into(),
            Goal::Violates(p) => format!("violates: {p}"),
        }
    }

    fn holds(&self, r: &RunRecord) -> bool {
        match self {
            Goal::Objective { at_least } => r.objective >= *at_least,
            Goal::Violates(p) => r.violations.iter().any(|v| v.property == *p),
        }
    }
}

/// A shrunk schedule and what it does.
#[derive(Clone, Debug)]
pub struct Shrunk {
    pub goal: Goal,
    pub run: u64,
    pub faults_before: usize,
    pub objective_before: f64,
    pub schedule: Schedule,
    pub record: RunRecord,
    pub reruns: usize,
    /// The re-run budget ran out before every step was tried.
    pub exhausted: bool,
    /// An `expect:` line that fails on the shrunk schedule, if the goal has one.
    pub expect: Option<String>,
    /// Where the report writes it, relative to the output directory.
    pub file: String,
}

struct Search<'e, 'a> {
    explorer: &'e Explorer<'a>,
    run: u64,
    goal: Goal,
    best: Schedule,
    record: RunRecord,
    reruns: usize,
}

impl Search<'_, '_> {
    /// Keeps `candidate` if it still meets the goal. False also when the budget is spent or the
    /// candidate is no valid schedule.
    fn attempt(&mut self, candidate: Schedule) -> bool {
        if self.reruns == RERUNS_MAX || candidate == self.best {
            return false;
        }
        let Ok(world) = self.explorer.world(&candidate) else { return false };
        self.reruns += 1;
        let record = self.explorer.judge_world(self.run, world);
        if !self.goal.holds(&record) {
            return false;
        }
        self.best = candidate;
        self.record = record;
        true
    }

    fn drop_faults(&mut self) {
        loop {
            let mut dropped = false;
            for i in (0..self.best.faults.len()).rev() {
                let mut candidate = self.best.clone();
                candidate.faults.remove(i);
                dropped |= self.attempt(candidate);
            }
            if !dropped {
                break;
            }
        }
    }

    fn halve_durations(&mut self) {
        for i in 0..self.best.faults.len() {
            for _ in 0..HALVINGS_MAX {
                let Some(d) = self.best.faults[i].duration else { break };
                let mut candidate = self.best.clone();
                candidate.faults[i].duration = Some(Dur((d.0 / 2).max(US_PER_S)));
                if !self.attempt(candidate) {
                    break;
                }
            }
        }
    }

    fn round_values(&mut self) {
        for i in 0..self.best.faults.len() {
            for unit_us in [10 * US_PER_S, US_PER_S] {
                let mut candidate = self.best.clone();
                candidate.faults[i].at = Dur(round(candidate.faults[i].at.0, unit_us));
                if self.attempt(candidate) {
                    break;
                }
            }
            for unit_us in [10 * US_PER_S, US_PER_S] {
                let Some(d) = self.best.faults[i].duration else { break };
                let mut candidate = self.best.clone();
                candidate.faults[i].duration = Some(Dur(round(d.0, unit_us).max(unit_us)));
                if self.attempt(candidate) {
                    break;
                }
            }
        }
    }
}

fn round(us: SimTime, unit_us: SimTime) -> SimTime {
    (us + unit_us / 2) / unit_us * unit_us
}

/// Shrinks run `run` of `explorer` towards `goal`; `index` numbers the file written for it.
pub fn shrink(explorer: &Explorer, run: u64, goal: Goal, index: usize) -> Shrunk {
    let original = explorer.schedule(run);
    let record = explorer.judge(run, &original);
    let (faults_before, objective_before) = (original.faults.len(), record.objective);
    let mut search = Search { explorer, run, goal, best: original, record, reruns: 0 };
    search.drop_faults();
    search.halve_durations();
    search.round_values();
    let expect = failing_expectation(explorer, &search.goal, &search.record);
    let slug = match &search.goal {
        Goal::Objective { .. } => "worst".to_string(),
        Goal::Violates(_) => format!("violation-{index}"),
    };
    Shrunk {
        faults_before,
        objective_before,
        exhausted: search.reruns == RERUNS_MAX,
        file: format!("shrunk/{slug}.yaml"),
        expect,
        goal: search.goal,
        run,
        schedule: search.best,
        record: search.record,
        reruns: search.reruns,
    }
}

/// An assertion that `record` breaks: the property itself when the summary can say it, else the
/// stale window of its worst fault, held to the single-fault bound (or, under it, to just below
/// what it was).
fn failing_expectation(explorer: &Explorer, goal: &Goal, record: &RunRecord) -> Option<String> {
    match goal {
        Goal::Violates(p) if p.starts_with("expect: ") => return Some(p["expect: ".len()..].to_string()),
        Goal::Violates(p) if p == HEALTHY_BROKER_KEPT => return Some("totals.false_removals == 0".into()),
        Goal::Objective { .. } if explorer.spec.objective == Objective::FailedSends => {
            return (record.objective > 0.0).then(|| format!("totals.failed_sends < {}", record.objective));
        }
        _ => {}
    }
    let id = record.stale_fault.as_ref()?;
    let stale_s = record.stale_window_s?;
    let bound_s = explorer.bounds.single_fault_stale_window_s;
    Some(if stale_s > bound_s {
        format!("faults[{id}].stale_window_s <= {bound_s}")
    } else {
        format!("faults[{id}].stale_window_s < {}", (stale_s * 10.0).floor() / 10.0)
    })
}
