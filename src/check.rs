//! `routesim check`: run scenarios and judge the assertions of their `expect:` blocks.
//!
//! Three stages. *Loading* parses every assertion and checks its path against a summary schema
//! built from the validated `WorldConfig` alone, without simulating, so a misspelt metric is an
//! error naming the file and line before anything runs. *Running* simulates every (scenario,
//! seed) pair in parallel and judges each assertion with `expect::evaluate`; results are
//! gathered in input order, so the report does not depend on thread timing. *Minimising* re-runs
//! the smallest failing seed of each failure with faults removed one at a time, to show which
//! faults the failure needs. Users' documentation: docs/CHECK.md.
//!
//! The scenario module knows nothing of this: it loads YAML, and this module, which may run the
//! model, adds the expectations on top.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::engine::secs;
use crate::expect::{self, Assertion, JunitCase, JunitSuite, Outcome, Selector};
use crate::model::config::{FaultAction, FaultSpec, WorldConfig};
use crate::model::fault::detection_window_us;
use crate::net::NodeIdx;
use crate::report::{
    ClientMoment, ConsumeGaps, Convergence, Delays, Explanation, FalseRemoval, FaultSummary, NameServerLoad,
    NameServerMoment, Percentiles, Summary, Totals, Window,
};
use crate::runner::{self, Job, RunnerError, shell_word};
use crate::scenario::units::SeedRange;
use crate::scenario::{self, Scenario, ScenarioError, yaml};

/// The most simulations one `check` may ask for (scenarios × seeds): each keeps its summary in
/// memory until the assertions are judged.
pub const RUNS_MAX: u64 = 100_000;
/// The most re-runs minimisation spends on one failure.
pub const MINIMISE_RERUNS_MAX: usize = 20;
/// Observed values longer than this are cut in the table; the failure details show them whole.
const OBSERVED_CHARS_MAX: usize = 60;
/// The failure details cut observed values (which list every failing seed with its value) and
/// seed lists at these lengths; the JUnit report keeps them whole.
const DETAIL_CHARS_MAX: usize = 500;
const DETAIL_SEEDS_MAX: usize = 10;

/// A scenario whose assertions parsed and name fields that its summaries have.
#[derive(Clone, Debug)]
pub struct CheckedScenario {
    pub scenario: Scenario,
    /// In the order of the `expect:` block.
    pub assertions: Vec<Assertion>,
}

/// Reads a scenario and validates its `expect:` block. Returns every problem found: one
/// `ScenarioError` for an unloadable scenario, or one per invalid assertion, each naming the
/// file, the line of the assertion and the assertion itself.
pub fn load(path: &Path) -> Result<CheckedScenario, Vec<ScenarioError>> {
    let scenario = scenario::load(path).map_err(|e| vec![e])?;
    // The scenario keeps no source text; read it again to find the lines of the assertions (a
    // failed read only costs the line numbers).
    let text = scenario::read_text(path).unwrap_or_default();
    let assertions = validate_expectations(&scenario, &text)?;
    Ok(CheckedScenario { scenario, assertions })
}

/// Parses `scenario.expect` and checks every path against [`schema`]. `text` is the scenario's
/// source, to find the line of each assertion.
pub fn validate_expectations(scenario: &Scenario, text: &str) -> Result<Vec<Assertion>, Vec<ScenarioError>> {
    let schema = schema(&scenario.world);
    let mut assertions = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in scenario.expect.iter().enumerate() {
        let checked =
            expect::parse(line).map_err(|e| e.to_string()).and_then(|a| match always_null(&a, &scenario.world) {
                Some(message) => Err(message),
                None => expect::validate_path(&a, &schema).map(|()| a).map_err(|e| e.to_string()),
            });
        match checked {
            Ok(a) => assertions.push(a),
            Err(message) => {
                let field = format!("expect[{i}]");
                // A flow-style list (`expect: [a, b]`) has no line per element: point at the key.
                let line = yaml::locate(text, &field).or_else(|| yaml::locate(text, "expect"));
                errors.push(ScenarioError { file: scenario.file.clone(), line, column: None, field, message });
            }
        }
    }
    if errors.is_empty() { Ok(assertions) } else { Err(errors) }
}

/// A summary.json value with the shape of every run of `world`, built without simulating: the
/// faults with their ids, kinds and subjects, the NameServers by name.
///
/// Where a run may report null for lack of samples (a percentile, `stale_window_s`), the
/// schema has a number, so that a misspelt key below it is still caught at load time. The
/// `false_removals` list, empty in most runs, gets one element so its fields can be checked.
pub fn schema(world: &WorldConfig) -> Value {
    let layout = &world.layout;
    let names = layout.node_names();
    let name = |node: NodeIdx| names.get(node as usize).cloned().unwrap_or_default();
    let nameservers: Vec<String> = (0..layout.nameservers).map(name).collect();
    let sample = Some(0.0);
    let percentiles = Percentiles { p50: sample, p99: sample, max: sample };
    let client = ClientMoment { client: name(layout.first_client()), at_s: 0.0, nameserver: Some(name(0)) };
    let explanation = Explanation {
        nameservers: nameservers
            .iter()
            .map(|ns| {
                let moment =
                    NameServerMoment { last_registration_s: sample, removed_s: sample, cause: Some(String::new()) };
                (ns.clone(), moment)
            })
            .collect(),
        slowest_client: Some(client.clone()),
        last_stale_attempt: Some(client),
        text: vec![String::new()],
    };
    let consumers = !world.consumers.is_empty();
    let failover = world.any_failover();
    let groups_measured = world.replication_active();
    let group_name = |g: &String| (g.clone(), sample);
    let faults = world
        .faults
        .iter()
        .map(|spec| {
            let subjects = spec.action.subjects(layout);
            // As the metrics do: detection and its explanation are reported only for faults with
            // subjects.
            let struck = !subjects.is_empty();
            FaultSummary {
                id: spec.id.clone(),
                kind: spec.action.kind().to_string(),
                mode: spec.action.mode().map(str::to_string),
                target: spec.target.clone(),
                at_s: secs(spec.at_us),
                subjects: subjects.iter().map(|&b| name(layout.first_broker() + b)).collect(),
                detection_s: if struck {
                    nameservers.iter().map(|ns| (ns.clone(), sample)).collect()
                } else {
                    BTreeMap::new()
                },
                detection_window_s: detection_window_us(spec, world)
                    .filter(|_| struck)
                    .map(|(lo, hi)| Window { lo: secs(lo), hi: secs(hi) }),
                convergence_s: Convergence { p50: sample, p99: sample, max: sample, clients: 0, never: 0 },
                stale_window_s: sample,
                stale_attempts: 0,
                failed_attempts: 0,
                failed_sends: 0,
                recovered_by_retry: 0,
                added_latency_ms: percentiles,
                explain: struck.then(|| explanation.clone()),
                consume_gap_s: consumers.then_some(ConsumeGaps { p50: sample, max: sample, queues: 0, never: 0 }),
                duplicates: consumers.then_some(0),
                pull_failures: consumers.then_some(0),
                store_to_consume_ms: consumers.then_some(Delays { p50: sample, p99: sample, messages: 0 }),
                failover_s: groups_measured
                    .then(|| failover.then(|| nameservers.iter().map(|ns| (ns.clone(), sample)).collect())),
                write_unavailable_s: groups_measured.then(|| layout.broker_groups.iter().map(group_name).collect()),
                messages_lost: groups_measured.then_some(0),
            }
        })
        .collect();
    let summary = Summary {
        scenario: world.name.clone(),
        seed: world.seed,
        routesim_version: env!("CARGO_PKG_VERSION").to_string(),
        duration_s: secs(world.duration_us),
        preset: world.timing.preset.name().to_string(),
        nameservers: nameservers.clone(),
        faults,
        false_removals: vec![FalseRemoval {
            nameserver: name(0),
            broker: name(layout.first_broker()),
            at_s: 0.0,
            missing_s: 0.0,
            relisted: false,
        }],
        nameserver_load: nameservers
            .into_iter()
            .map(|ns| (ns, NameServerLoad { requests: 0, requests_per_s: 0.0 }))
            .collect(),
        totals: Totals { false_removal_missing_s_max: sample, ..Totals::default() },
    };
    let mut value = serde_json::to_value(summary).expect("a Summary is plain data with string keys");
    // A fault without subjects takes no broker out of service: what is measured about its
    // subjects is null in every run, so the schema does not offer it.
    if let Some(faults) = value.get_mut("faults").and_then(Value::as_array_mut) {
        for (fault, spec) in faults.iter_mut().zip(&world.faults) {
            if spec.action.subjects(layout).is_empty() {
                for path in NULL_WITHOUT_SUBJECTS {
                    remove_path(fault, path);
                }
            }
        }
    }
    value
}

/// The fields of a fault's summary that are null in every run when the fault has no subjects,
/// as paths below the fault.
pub const NULL_WITHOUT_SUBJECTS: [&str; 7] = [
    "detection_window_s",
    "convergence_s.p50",
    "convergence_s.p99",
    "convergence_s.max",
    "stale_window_s",
    "added_latency_ms",
    "explain",
];

/// Removes the key at dotted `path` below `value`, if there is one.
fn remove_path(value: &mut Value, path: &str) {
    let (parent, key) = match path.rsplit_once('.') {
        Some((parent, key)) => (parent.split('.').try_fold(value, |v, k| v.get_mut(k)), key),
        None => (Some(value), path),
    };
    if let Some(Value::Object(map)) = parent {
        map.remove(key);
    }
}

/// The error for an assertion that reads a field of a fault without subjects that is always
/// null (see [`NULL_WITHOUT_SUBJECTS`]), or `None`.
fn always_null(assertion: &Assertion, world: &WorldConfig) -> Option<String> {
    let (first, rest) = assertion.path.split_first()?;
    if first.key != "faults" {
        return None;
    }
    let spec = match first.selector.as_ref()? {
        Selector::Id(id) => world.faults.iter().find(|f| &f.id == id)?,
        Selector::Index(n) => world.faults.get(*n)?,
    };
    if !spec.action.subjects(&world.layout).is_empty() {
        return None;
    }
    let below: Vec<&str> = rest.iter().map(|s| s.key.as_str()).collect();
    let field = NULL_WITHOUT_SUBJECTS.iter().find(|field| {
        let keys: Vec<&str> = field.split('.').collect();
        below.len() >= keys.len() && below[..keys.len()] == keys[..]
    })?;
    Some(format!(
        "`{}`: fault `{}` has no subjects (it takes no broker out of service): `{field}` is always null; \
         assert on a fault that stops, pauses or cuts off a broker",
        assertion.text, spec.id
    ))
}

// ---------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------

/// Why `check` stopped short of a verdict.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Bad input: a path, a scenario, an assertion. Exit code 2.
    #[error("{}", .0.join("\nerror: "))]
    Input(Vec<String>),
    /// The checks could not be carried out or reported. Exit code 1.
    #[error("{0}")]
    Run(String),
}

impl From<RunnerError> for CheckError {
    fn from(e: RunnerError) -> CheckError {
        CheckError::Run(e.to_string())
    }
}

/// One scenario to check: where it came from, what it asserts, which seeds.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The path as the user could type it again: replay commands use it.
    pub path: PathBuf,
    pub checked: CheckedScenario,
    pub seeds: SeedRange,
}

/// Resolves `paths` (files, or directories standing for their `*.yaml` files) to scenarios with
/// expectations and their seeds (`seeds`, else each scenario's `sweep.seeds`, else its `seed`);
/// every bad input is reported at once. Also returns notes for the user: files named
/// explicitly that have nothing to check.
/// `allow_large` runs scenarios estimated too large to finish (README, "Limits").
pub fn plan(
    paths: &[PathBuf],
    seeds: Option<SeedRange>,
    allow_large: bool,
) -> Result<(Vec<Plan>, Vec<String>), CheckError> {
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    let mut plans = Vec::new();
    let mut seen = BTreeSet::new();
    for found in scenario_files(paths) {
        let (path, explicit) = match found {
            Ok(found) => found,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if !seen.insert(path.clone()) {
            continue;
        }
        let checked = match load(&path) {
            Ok(c) => c,
            Err(es) => {
                errors.extend(es.iter().map(ToString::to_string));
                continue;
            }
        };
        if checked.assertions.is_empty() {
            if explicit {
                notes.push(format!("{} has no `expect:` block; nothing to check there", path.display()));
            }
            continue;
        }
        let s = &checked.scenario;
        if let Some(why) = scenario::budget::refusal(&s.world).filter(|_| !allow_large) {
            errors.push(format!("{}: {why}", path.display()));
            continue;
        }
        if s.sweep.as_ref().is_some_and(|w| !w.vary.is_empty()) {
            notes
                .push(format!("{}: `sweep.vary` is not applied; check judges the scenario as written", path.display()));
        }
        let own = SeedRange { first: s.world.seed, last: s.world.seed };
        let seeds = seeds.or_else(|| s.sweep.as_ref().and_then(|w| w.seeds)).unwrap_or(own);
        plans.push(Plan { path, checked, seeds });
    }
    if errors.is_empty() && plans.is_empty() {
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        errors.push(format!("no scenario with an `expect:` block in {}", paths.join(", ")));
    }
    let runs: u64 = plans.iter().map(|p| p.seeds.len()).sum();
    if runs > RUNS_MAX {
        errors.push(format!("{runs} runs asked for; at most {RUNS_MAX}: check fewer seeds or scenarios at once"));
    }
    if errors.is_empty() { Ok((plans, notes)) } else { Err(CheckError::Input(errors)) }
}

/// The scenario files `paths` name, in order, each with whether the user named it: a
/// directory stands for its `*.yaml` files, sorted by name (not its subdirectories).
fn scenario_files(paths: &[PathBuf]) -> Vec<Result<(PathBuf, bool), String>> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(if path.exists() {
                Ok((path.clone(), true))
            } else {
                Err(format!("{}: no such file or directory", path.display()))
            });
            continue;
        }
        let entries = match std::fs::read_dir(path) {
            Ok(entries) => entries,
            Err(e) => {
                files.push(Err(format!("{}: cannot list the directory: {e}", path.display())));
                continue;
            }
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        found.sort();
        files.extend(found.into_iter().map(|p| Ok((p, false))));
    }
    files
}

// ---------------------------------------------------------------------------------------------
// Running and judging
// ---------------------------------------------------------------------------------------------

/// Everything `check` found.
#[derive(Clone, Debug)]
pub struct Report {
    pub scenarios: Vec<ScenarioVerdicts>,
}

#[derive(Clone, Debug)]
pub struct ScenarioVerdicts {
    pub path: PathBuf,
    pub name: String,
    pub seeds: SeedRange,
    pub verdicts: Vec<Verdict>,
}

/// One assertion's verdict over the scenario's seeds.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub assertion: Assertion,
    pub outcome: Outcome,
    /// For a failure: how to reproduce it and what minimisation found.
    pub failure: Option<FailureDetail>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureDetail {
    /// The smallest failing seed, when one seed shows the failure (not for `mean`, `count`).
    pub seed: Option<u64>,
    /// A command that shows the failing value again.
    pub replay: String,
    pub minimised: Option<Minimised>,
}

/// The result of removing faults from a failing run (see [`minimise`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Minimised {
    pub seed: u64,
    /// Labels of the fault groups still in the scenario, which still fails.
    pub kept: Vec<String>,
    /// Labels of the groups removed.
    pub dropped: Vec<String>,
    pub reruns: usize,
    /// The re-run budget ran out before every group was tried.
    pub exhausted: bool,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.verdicts().all(|(_, v)| v.outcome.passed)
    }

    fn verdicts(&self) -> impl Iterator<Item = (&ScenarioVerdicts, &Verdict)> {
        self.scenarios.iter().flat_map(|s| s.verdicts.iter().map(move |v| (s, v)))
    }

    /// The verdicts as JUnit suites, one per scenario.
    pub fn junit_suites(&self) -> Vec<JunitSuite> {
        self.scenarios
            .iter()
            .map(|s| JunitSuite {
                name: s.name.clone(),
                cases: s
                    .verdicts
                    .iter()
                    .map(|v| JunitCase {
                        name: v.assertion.text.clone(),
                        outcome: v.outcome.clone(),
                        replay: v.failure.as_ref().map(|f| f.replay.clone()),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// One simulation `check` runs: scenario `index` of the plans with a seed; for minimisation,
/// the failing verdicts of that run.
struct CheckJob<'a> {
    index: usize,
    path: &'a Path,
    seed: u64,
    failing: &'a [usize],
}

impl Job for CheckJob<'_> {
    fn scenario(&self) -> &Path {
        self.path
    }
    fn seed(&self) -> u64 {
        self.seed
    }
}

/// Runs every (scenario, seed) on `threads` threads (default: one per CPU), calling
/// `progress` after each run, then judges each assertion and minimises the failures.
pub fn judge(
    plans: Vec<Plan>,
    threads: Option<NonZeroUsize>,
    progress: Option<&(dyn Fn() + Sync)>,
) -> Result<Report, CheckError> {
    let jobs: Vec<(usize, u64)> =
        plans.iter().enumerate().flat_map(|(i, p)| p.seeds.seeds().map(move |seed| (i, seed))).collect();
    let keys: Vec<BTreeSet<String>> = plans.iter().map(|p| top_level_keys(&p.checked.assertions)).collect();
    let runs: Vec<CheckJob> =
        jobs.iter().map(|&(index, seed)| CheckJob { index, path: &plans[index].path, seed, failing: &[] }).collect();
    let summaries = runner::run(&runs, threads, progress, |job| {
        summarise(&plans[job.index].checked.scenario.world, job.seed, &keys[job.index])
    })?;
    let mut by_scenario: Vec<Vec<(u64, Value)>> = vec![Vec::new(); plans.len()];
    for (&(i, seed), summary) in jobs.iter().zip(summaries) {
        by_scenario[i].push((seed, summary));
    }
    let mut scenarios: Vec<ScenarioVerdicts> = plans
        .iter()
        .zip(&by_scenario)
        .map(|(plan, runs)| ScenarioVerdicts {
            path: plan.path.clone(),
            name: plan.checked.scenario.world.name.clone(),
            seeds: plan.seeds,
            verdicts: plan
                .checked
                .assertions
                .iter()
                .map(|a| {
                    let outcome = expect::evaluate(a, runs);
                    let failure = (!outcome.passed).then(|| FailureDetail {
                        seed: outcome.failing_seeds.first().copied(),
                        replay: replay_command(&plan.path, outcome.failing_seeds.first().copied(), plan.seeds),
                        minimised: None,
                    });
                    Verdict { assertion: a.clone(), outcome, failure }
                })
                .collect(),
        })
        .collect();
    minimise_failures(&plans, &keys, &mut scenarios, threads)?;
    Ok(Report { scenarios })
}

/// The first key of every assertion's path: the only parts of a summary worth keeping.
fn top_level_keys(assertions: &[Assertion]) -> BTreeSet<String> {
    assertions.iter().filter_map(|a| a.path.first()).map(|s| s.key.clone()).collect()
}

/// Simulates `world` with `seed`; returns its summary as JSON, cut down to `keys` (a summary of
/// a lossy run can list thousands of false removals that no assertion reads).
pub fn summarise(world: &WorldConfig, seed: u64, keys: &BTreeSet<String>) -> Value {
    let mut world = world.clone();
    world.seed = seed;
    let summary = crate::simulate(world).summary;
    let mut value = serde_json::to_value(summary).expect("a Summary is plain data with string keys");
    if let Value::Object(map) = &mut value {
        map.retain(|key, _| keys.contains(key));
    }
    value
}

/// A command that shows a failure again: the run of the failing seed, or, for an aggregate
/// that no single seed shows (`mean`, `count`), the same check over the same seeds.
fn replay_command(path: &Path, seed: Option<u64>, seeds: SeedRange) -> String {
    let path = shell_word(&path.to_string_lossy());
    match seed {
        Some(seed) => format!("routesim run {path} --seed {seed}"),
        None => format!("routesim check {path} --seeds {}..={}", seeds.first, seeds.last),
    }
}

// ---------------------------------------------------------------------------------------------
// Minimisation
// ---------------------------------------------------------------------------------------------

/// Minimises every failure that has a seed to replay, in parallel over (scenario, seed), so the
/// failures sharing a run share its re-runs.
fn minimise_failures(
    plans: &[Plan],
    keys: &[BTreeSet<String>],
    scenarios: &mut [ScenarioVerdicts],
    threads: Option<NonZeroUsize>,
) -> Result<(), CheckError> {
    let mut work: BTreeMap<(usize, u64), Vec<usize>> = BTreeMap::new();
    for (i, s) in scenarios.iter().enumerate() {
        for (j, v) in s.verdicts.iter().enumerate() {
            if let Some(seed) = v.failure.as_ref().and_then(|f| f.seed) {
                work.entry((i, seed)).or_default().push(j);
            }
        }
    }
    let work: Vec<((usize, u64), Vec<usize>)> = work.into_iter().collect();
    let jobs: Vec<CheckJob> = work
        .iter()
        .map(|((index, seed), failing)| CheckJob { index: *index, path: &plans[*index].path, seed: *seed, failing })
        .collect();
    let verdicts: &[ScenarioVerdicts] = scenarios;
    let results: Vec<Vec<(usize, Option<Minimised>)>> = runner::run(&jobs, threads, None, |job| {
        let i = job.index;
        let world = &plans[i].checked.scenario.world;
        let mut cache = HashMap::new();
        job.failing
            .iter()
            .map(|&j| (j, minimise(world, job.seed, &verdicts[i].verdicts[j].assertion, &keys[i], &mut cache)))
            .collect()
    })?;
    for (((i, _), _), found) in work.iter().zip(results) {
        for (j, minimised) in found {
            if let Some(failure) = &mut scenarios[*i].verdicts[j].failure {
                failure.minimised = minimised;
            }
        }
    }
    Ok(())
}

/// Re-runs of one seed, by the fault groups kept.
type RerunCache = HashMap<Vec<usize>, Value>;

/// Greedy fault minimisation of a failing run: drop each fault group in turn, re-run `seed`,
/// and keep the drop if `assertion` still fails. Groups the assertion names (`faults[id]`)
/// stay, as without them it could not be evaluated. At most [`MINIMISE_RERUNS_MAX`] re-runs.
/// `None` when there is nothing to minimise: fewer than two groups, or an index selector past
/// the end of the fault list.
pub fn minimise(
    world: &WorldConfig,
    seed: u64,
    assertion: &Assertion,
    keys: &BTreeSet<String>,
    cache: &mut RerunCache,
) -> Option<Minimised> {
    let groups = fault_groups(&world.faults);
    if groups.len() < 2 {
        return None;
    }
    let (assertion, named) = name_faults(assertion, &world.faults)?;
    let label = |g: &[usize]| group_label(&world.faults, g);
    let mut kept: Vec<usize> = (0..groups.len()).collect();
    let (mut dropped, mut reruns, mut exhausted) = (Vec::new(), 0, false);
    for (g, members) in groups.iter().enumerate() {
        if members.iter().any(|&f| named.contains(&world.faults[f].id)) {
            continue;
        }
        if reruns == MINIMISE_RERUNS_MAX {
            exhausted = true;
            break;
        }
        reruns += 1;
        let candidate: Vec<usize> = kept.iter().copied().filter(|&k| k != g).collect();
        let summary = cache.entry(candidate.clone()).or_insert_with(|| {
            let mut smaller = world.clone();
            let mut faults: Vec<usize> = candidate.iter().flat_map(|&k| groups[k].iter().copied()).collect();
            faults.sort_unstable();
            smaller.faults = faults.iter().map(|&f| world.faults[f].clone()).collect();
            summarise(&smaller, seed, keys)
        });
        if !expect::evaluate(&assertion, &[(seed, summary.clone())]).passed {
            kept = candidate;
            dropped.push(label(members));
        }
    }
    Some(Minimised { seed, kept: kept.iter().map(|&k| label(&groups[k])).collect(), dropped, reruns, exhausted })
}

/// Faults that are removed together, as indices into `faults`, each group ascending, groups in
/// the order of their first fault: a fault with its generated `<id>-end` partner (restart,
/// resume, heal, loss restored), and a partition with the heals that name it.
fn fault_groups(faults: &[FaultSpec]) -> Vec<Vec<usize>> {
    let owner = |i: usize| -> usize {
        let spec = &faults[i];
        if let FaultAction::Heal { partition: Some(p) } = spec.action {
            let partition = faults
                .iter()
                .position(|f| matches!(f.action, FaultAction::Partition { partition, .. } if partition == p));
            if let Some(j) = partition {
                return j;
            }
        }
        spec.id
            .strip_suffix("-end")
            .and_then(|base| faults[..i].iter().position(|f| f.id == base && f.target == spec.target))
            .unwrap_or(i)
    };
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..faults.len() {
        groups.entry(owner(i)).or_default().push(i);
    }
    groups.into_values().collect()
}

/// A group as the report names it: its faults' ids, without generated `-end` partners.
fn group_label(faults: &[FaultSpec], group: &[usize]) -> String {
    let Some(&head) = group.first() else { return String::new() };
    let head_id = &faults[head].id;
    let generated = format!("{head_id}-end");
    let ids: Vec<&str> = group.iter().map(|&f| faults[f].id.as_str()).filter(|&id| id != generated).collect();
    ids.join(" + ")
}

/// The fault ids `assertion` selects, and the assertion with a `faults[N]` index selector
/// turned into the id it picks, so that it keeps meaning the same fault when others are
/// removed. `None` when an index is past the end of the list.
fn name_faults(assertion: &Assertion, faults: &[FaultSpec]) -> Option<(Assertion, BTreeSet<String>)> {
    let mut assertion = assertion.clone();
    let mut named = BTreeSet::new();
    if let Some(first) = assertion.path.first_mut().filter(|s| s.key == "faults") {
        match &first.selector {
            Some(Selector::Id(id)) => {
                named.insert(id.clone());
            }
            Some(Selector::Index(n)) => {
                let id = faults.get(*n)?.id.clone();
                named.insert(id.clone());
                first.selector = Some(Selector::Id(id));
            }
            None => {}
        }
    }
    Some((assertion, named))
}

// ---------------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------------

/// `word`, with an `s` unless `n` is 1.
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 { word.to_string() } else { format!("{word}s") }
}

fn seeds_text(seeds: SeedRange) -> String {
    if seeds.first == seeds.last {
        format!("seed {}", seeds.first)
    } else {
        format!("seeds {}..={}", seeds.first, seeds.last)
    }
}

/// `s` cut to `max` chars, with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The human report: a table of every verdict, then the details of each failure, then a
/// one-line total. A pure function of the report.
pub fn render(report: &Report) -> String {
    let header = ["scenario", "assertion", "observed", "result"];
    let rows: Vec<[String; 4]> = report
        .verdicts()
        .map(|(s, v)| {
            [
                s.name.clone(),
                v.assertion.text.clone(),
                cut(&v.outcome.observed, OBSERVED_CHARS_MAX),
                if v.outcome.passed { "PASS" } else { "FAIL" }.to_string(),
            ]
        })
        .collect();
    let width = |c: usize| rows.iter().map(|r| r[c].chars().count()).chain([header[c].len()]).max().unwrap_or_default();
    let widths = [width(0), width(1), width(2)];
    let mut out = String::new();
    let mut line = |cells: [&str; 4]| {
        let mut text = String::new();
        for (cell, w) in cells.iter().zip(widths) {
            let pad = w.saturating_sub(cell.chars().count());
            let _ = write!(text, "{cell}{}  ", " ".repeat(pad));
        }
        let _ = writeln!(out, "{text}{}", cells[3]);
    };
    line(header);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3]]);
    }
    let failures: Vec<(&ScenarioVerdicts, &Verdict)> = report.verdicts().filter(|(_, v)| !v.outcome.passed).collect();
    for (s, v) in &failures {
        out.push('\n');
        out.push_str(&render_failure(s, v));
    }
    let total = rows.len();
    let _ = writeln!(
        out,
        "\n{}: {} of {total} {} passed, {} failed",
        if failures.is_empty() { "ok" } else { "FAILED" },
        total - failures.len(),
        plural(total as u64, "assertion"),
        failures.len()
    );
    out
}

fn render_failure(s: &ScenarioVerdicts, v: &Verdict) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "FAIL {} ({}, {}): {}", s.name, s.path.display(), seeds_text(s.seeds), v.assertion.text);
    let _ = writeln!(out, "  observed: {}", cut(&v.outcome.observed, DETAIL_CHARS_MAX));
    let seeds = &v.outcome.failing_seeds;
    if let [only] = seeds.as_slice() {
        let _ = writeln!(out, "  failing seed: {only}");
    } else if let Some(smallest) = seeds.first() {
        let shown: Vec<String> = seeds.iter().take(DETAIL_SEEDS_MAX).map(u64::to_string).collect();
        let rest = if seeds.len() > DETAIL_SEEDS_MAX {
            format!(", … ({} in all; smallest {smallest})", seeds.len())
        } else {
            format!(" (smallest {smallest})")
        };
        let _ = writeln!(out, "  failing seeds: {}{rest}", shown.join(", "));
    }
    let Some(failure) = &v.failure else { return out };
    if let Some(m) = &failure.minimised {
        let budget = if m.exhausted { "; re-run budget spent, may not be minimal" } else { "" };
        let runs = format!("{} {} of seed {}{budget}", m.reruns, plural(m.reruns as u64, "re-run"), m.seed);
        let _ = if m.dropped.is_empty() {
            writeln!(out, "  faults: no fault could be removed with the failure kept ({runs})")
        } else {
            writeln!(
                out,
                "  faults: still fails with only [{}]; removed [{}] ({runs})",
                m.kept.join(", "),
                m.dropped.join(", ")
            )
        };
    }
    let _ = writeln!(out, "  replay: {}", failure.replay);
    out
}

/// Writes the JUnit report atomically (`output::write_file_atomically`): a reader never sees
/// half a report and a failed write leaves the old one.
pub fn write_junit_atomically(path: &Path, report: &Report) -> Result<(), CheckError> {
    crate::output::write_file_atomically(path, |mut w| expect::write_junit(&mut w, &report.junit_suites()))
        .map_err(|e| CheckError::Run(format!("cannot write the JUnit report: {e}")))
}

#[cfg(test)]
mod tests;
