//! Parameter sweeps (docs/SWEEPS.md). This module owns the grid of a scenario's `sweep:`
//! block, running every (grid point, seed) pair on a thread pool, the one row of scalar
//! metrics each run leaves, sharding a sweep across machines and merging the partial results,
//! and the files a sweep writes: `runs.csv`, `points.csv`, `sweep.json` (charts are drawn by
//! `output::sweep_charts` from `points.csv`).
//!
//! Results never depend on scheduling: run `i` is point `i / seeds`, seed `first + i % seeds`,
//! rows are collected by run index, and a sharded sweep and its merge reach the same files
//! through the same `write_results`.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::model::config::WorldConfig;
use crate::output::{self, OutputError};
use crate::report::{Summary, nearest_rank};
use crate::runner::{self, Job, RunnerError};
use crate::scenario::units::SeedRange;
use crate::scenario::{self, ScenarioError, yaml};

/// A grid larger than this is almost certainly a mistake (and each point is built up front).
pub const POINTS_MAX: u64 = 100_000;
/// The most runs (points x seeds) one sweep may ask for: each keeps a row of metrics in memory
/// until the files are written (about 1 KB), and at a few runs per second a million is days.
pub const RUNS_MAX: u64 = 1_000_000;

/// The name of a shard's result file.
pub const PARTIAL_FILE: &str = "partial.json";
const PARTIAL_FORMAT: &str = "routesim-sweep-partial/1";

/// What must be equal for partial results to belong to one sweep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepIdentity {
    pub scenario: String,
    /// FNV-1a (64 bit, hex) of the scenario file's bytes: any edit makes a different sweep.
    pub scenario_hash: String,
    pub routesim_version: String,
    pub seeds: SeedRange,
    /// Varied paths in path order, each with its values as written.
    pub grid: Vec<Axis>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    pub path: String,
    pub values: Vec<String>,
}

impl SweepIdentity {
    pub fn points(&self) -> u64 {
        self.grid.iter().map(|a| a.values.len() as u64).product()
    }

    pub fn runs(&self) -> u64 {
        self.points() * self.seeds.len()
    }

    /// The point and seed of run `run`: runs are ordered by point, then seed.
    pub fn run_at(&self, run: u64) -> (u64, u64) {
        let seeds = self.seeds.len();
        (run / seeds, self.seeds.first + run % seeds)
    }

    /// The values (as written) of point `point`.
    pub fn point_values(&self, point: u64) -> Vec<&str> {
        let lens: Vec<usize> = self.grid.iter().map(|a| a.values.len()).collect();
        point_indices(&lens, point).into_iter().zip(&self.grid).map(|(i, a)| a.values[i].as_str()).collect()
    }
}

/// The value indices of grid point `point` when axis `k` has `lens[k]` values: the last axis
/// varies fastest, like nested loops in path order.
pub fn point_indices(lens: &[usize], point: u64) -> Vec<usize> {
    let mut rest = point;
    let mut indices = vec![0; lens.len()];
    for (slot, &len) in indices.iter_mut().zip(lens).rev() {
        *slot = (rest % len as u64) as usize;
        rest /= len as u64;
    }
    indices
}

/// Every grid point's value indices, in point order.
pub fn grid(lens: &[usize]) -> Vec<Vec<usize>> {
    let points: u64 = lens.iter().map(|&l| l as u64).product();
    (0..points).map(|p| point_indices(lens, p)).collect()
}

/// A loaded sweep: its identity and every point's validated world.
#[derive(Debug)]
pub struct Sweep {
    pub identity: SweepIdentity,
    /// The scenario file, for replay commands.
    file: PathBuf,
    worlds: Vec<WorldConfig>,
}

/// One run's scalar metrics, named as in docs/SWEEPS.md; `None` is null.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    pub run: u64,
    pub point: u64,
    pub seed: u64,
    pub metrics: Vec<(String, Option<f64>)>,
}

/// Reads `path`, expands its `sweep:` block and validates every grid point, so that a bad
/// path or value is reported before anything runs. `seeds` overrides `sweep.seeds`; with
/// neither, the scenario's own seed is the only one.
pub fn load(path: &Path, seeds: Option<SeedRange>) -> Result<Sweep, ScenarioError> {
    from_text(path, &scenario::read_text(path)?, seeds)
}

/// `load` for text already read; `path` names it in errors.
pub fn from_text(path: &Path, text: &str, seeds: Option<SeedRange>) -> Result<Sweep, ScenarioError> {
    let base = scenario::from_text(path, text)?;
    let (spec_seeds, vary) = match base.sweep {
        Some(spec) => (spec.seeds, spec.vary),
        None => (None, Default::default()),
    };
    let seeds = seeds.or(spec_seeds).unwrap_or(SeedRange { first: base.world.seed, last: base.world.seed });
    let at_path = |field: &str, message: String| ScenarioError {
        file: path.to_path_buf(),
        line: locate_vary(text, field),
        column: None,
        field: format!("sweep.vary.{field}"),
        message,
    };
    let mut axes: Vec<(String, Vec<yaml::Value>)> = Vec::new();
    let mut grid_axes: Vec<Axis> = Vec::new();
    for (field, values) in vary {
        if field == "seed" {
            return Err(at_path(&field, "seeds are set by `sweep.seeds` or `--seeds`, not varied".into()));
        }
        if field == "sweep" || field.starts_with("sweep.") {
            return Err(at_path(&field, "a sweep cannot vary its own `sweep` block".into()));
        }
        if values.is_empty() {
            return Err(at_path(&field, "give at least one value, e.g. `[10s, 30s]`".into()));
        }
        let written: Vec<String> = values.iter().map(yaml::scalar_text).collect();
        if let Some(twice) = written.iter().enumerate().find(|(i, v)| written[..*i].contains(v)) {
            return Err(at_path(&field, format!("`{}` is listed twice", twice.1)));
        }
        grid_axes.push(Axis { path: field.clone(), values: written });
        axes.push((field, values));
    }
    let lens: Vec<usize> = axes.iter().map(|(_, v)| v.len()).collect();
    let points: u64 = lens.iter().try_fold(1u64, |acc, &l| acc.checked_mul(l as u64)).unwrap_or(u64::MAX);
    let over = |field: &str, message: String| ScenarioError {
        file: path.to_path_buf(),
        line: yaml::locate(text, field),
        column: None,
        field: field.into(),
        message,
    };
    if points > POINTS_MAX {
        return Err(over("sweep.vary", format!("the grid has {points} points; at most {POINTS_MAX}")));
    }
    let mut worlds = Vec::with_capacity(points as usize);
    for indices in grid(&lens) {
        let overrides: Vec<(String, yaml::Value)> =
            axes.iter().zip(&indices).map(|((field, values), &i)| (field.clone(), values[i].clone())).collect();
        let point = scenario::with_overrides(path, text, &overrides).map_err(|e| blame(path, text, &overrides, e))?;
        worlds.push(point.world);
    }
    // After the grid's own checks, so that a bad path is named first.
    // Neither factor is more than 10^7, so the product fits.
    let runs = points * seeds.len();
    if runs > RUNS_MAX {
        let seeds = seeds.len();
        return Err(over(
            "sweep",
            format!(
                "{points} points x {seeds} seeds = {runs} runs; at most {RUNS_MAX}: vary fewer values or run fewer seeds (`--seeds`)"
            ),
        ));
    }
    let identity = SweepIdentity {
        scenario: base.world.name.clone(),
        scenario_hash: scenario_hash(text),
        routesim_version: env!("CARGO_PKG_VERSION").to_string(),
        seeds,
        grid: grid_axes,
    };
    Ok(Sweep { identity, file: path.to_path_buf(), worlds })
}

/// A grid point failed: if one override fails on its own, the error is that path's (with its
/// line); otherwise it is the combination's, which `with_overrides` already lists.
fn blame(path: &Path, text: &str, overrides: &[(String, yaml::Value)], error: ScenarioError) -> ScenarioError {
    for (field, value) in overrides {
        if let Err(alone) = scenario::with_overrides(path, text, &[(field.clone(), value.clone())]) {
            let message = suggest_whole_path(field, &alone.field, &alone.message);
            let inner = if alone.field.is_empty() || alone.field == format!("sweep.vary.{field}") {
                message
            } else {
                format!("field `{}`: {message}", alone.field)
            };
            return ScenarioError {
                file: path.to_path_buf(),
                line: locate_vary(text, field),
                column: None,
                field: format!("sweep.vary.{field}"),
                message: inner,
            };
        }
    }
    error
}

/// Serde suggests one segment (`did you mean `broker_heartbeat`?`); a sweep path wants the
/// whole path, so put the suggestion in place of the segment the error is about.
fn suggest_whole_path(path: &str, error_field: &str, message: &str) -> String {
    let Some((before, rest)) = message.split_once("did you mean `") else { return message.to_string() };
    let Some((suggested, after)) = rest.split_once('`') else { return message.to_string() };
    // `producers[0].retriez` names the segment `retriez` at depth 2 of `producers.retriez`.
    let depth = error_field.split('.').count();
    let mut segments: Vec<&str> = path.split('.').collect();
    if error_field.is_empty() || depth > segments.len() {
        return message.to_string();
    }
    segments[depth - 1] = suggested;
    format!("{before}did you mean `{}`{after}", segments.join("."))
}

/// The line of `field:` under `sweep.vary` (its keys contain dots, which `yaml::locate` splits).
fn locate_vary(text: &str, field: &str) -> Option<usize> {
    let vary = yaml::locate(text, "sweep.vary")?;
    let keys = [format!("{field}:"), format!("\"{field}\":"), format!("'{field}':")];
    text.lines()
        .enumerate()
        .skip(vary)
        .find(|(_, line)| keys.iter().any(|k| line.trim_start().starts_with(k.as_str())))
        .map(|(i, _)| i + 1)
        .or(Some(vary))
}

/// The fingerprint of a scenario file's text that shards compare: FNV-1a, 64 bit, in hex.
pub fn scenario_hash(text: &str) -> String {
    format!("{:016x}", fnv1a64(text.as_bytes()))
}

/// 64-bit FNV-1a: a stable fingerprint (std's hashers promise no stability across releases).
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// `--shard K/N`: this process runs the runs `i` with `i % N == K`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub fn owns(self, run: u64) -> bool {
        run % self.count == self.index
    }
}

/// The runs among `0..total` that `shard` makes (all of them without one), in run order.
pub fn shard_runs(shard: Option<Shard>, total: u64) -> impl Iterator<Item = u64> {
    (0..total).filter(move |&run| shard.is_none_or(|s| s.owns(run)))
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not a shard: write K/N with 0 <= K < N, e.g. `0/4`");
        let (k, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let (index, count) = (k.trim().parse::<u64>().map_err(|_| bad())?, n.trim().parse::<u64>().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Sweep {
    pub fn runs(&self) -> u64 {
        self.identity.runs()
    }

    /// Why the first grid point too large to run is refused (README, "Limits"), if one is.
    pub fn refusal(&self) -> Option<String> {
        self.worlds.iter().find_map(scenario::budget::refusal)
    }

    /// Runs one (point, seed) pair and keeps its row.
    pub fn run(&self, run: u64) -> RunRow {
        let (point, seed) = self.identity.run_at(run);
        let mut world = self.worlds[point as usize].clone();
        world.seed = seed;
        let report = crate::simulate(world);
        RunRow { run, point, seed, metrics: run_metrics(&report.summary) }
    }

    /// Runs every run (or the shard's) on `threads` threads, ticking `progress` per run.
    /// Rows come back in run order whatever order the runs finish in.
    pub fn run_all(
        &self,
        threads: Option<NonZeroUsize>,
        shard: Option<Shard>,
        progress: Option<&(dyn Fn() + Sync)>,
    ) -> Result<Vec<RunRow>, RunnerError> {
        let jobs: Vec<SweepJob> = shard_runs(shard, self.runs())
            .map(|run| {
                let (point, seed) = self.identity.run_at(run);
                let values = self.identity.point_values(point).join(", ");
                SweepJob { file: &self.file, run, seed, detail: format!("run {run}, grid point {point}: [{values}]") }
            })
            .collect();
        runner::run(&jobs, threads, progress, |job| self.run(job.run))
    }
}

/// One run of a sweep, for the runner.
struct SweepJob<'a> {
    file: &'a Path,
    run: u64,
    seed: u64,
    /// The grid point: a replay with `routesim run` needs its values set in the file.
    detail: String,
}

impl Job for SweepJob<'_> {
    fn scenario(&self) -> &Path {
        self.file
    }
    fn seed(&self) -> u64 {
        self.seed
    }
    fn detail(&self) -> String {
        self.detail.clone()
    }
}

/// The scalar metrics of one run, in column order (docs/SWEEPS.md).
pub fn run_metrics(s: &Summary) -> Vec<(String, Option<f64>)> {
    let mut m: Vec<(String, Option<f64>)> = Vec::with_capacity(32);
    // serde_json writes NaN and infinities as null: make them null here, so that a merged
    // sweep sees exactly what an unsharded one does.
    let mut put = |name: String, value: Option<f64>| m.push((name, value.filter(|v| v.is_finite())));
    let t = &s.totals;
    for (name, value) in [
        ("events", t.events),
        ("sends", t.sends),
        ("attempts", t.attempts),
        ("failed_attempts", t.failed_attempts),
        ("failed_sends", t.failed_sends),
        ("false_removals", t.false_removals),
    ] {
        put(format!("totals.{name}"), Some(value as f64));
    }
    for (ns, load) in &s.nameserver_load {
        put(format!("nameserver_load.{ns}.requests_per_s"), Some(load.requests_per_s));
    }
    for f in s.faults.iter().filter(|f| !f.subjects.is_empty()) {
        let p = format!("faults[{}]", f.id);
        // Null where a NameServer never removed the subject: it kept routing to it.
        for ns in &s.nameservers {
            put(format!("{p}.detection_s.{ns}"), f.detection_s.get(ns).copied().flatten());
        }
        let c = &f.convergence_s;
        put(format!("{p}.convergence_s.p50"), c.p50);
        put(format!("{p}.convergence_s.p99"), c.p99);
        put(format!("{p}.convergence_s.max"), c.max);
        put(format!("{p}.convergence_s.never"), Some(c.never as f64));
        put(format!("{p}.stale_window_s"), f.stale_window_s);
        put(format!("{p}.failed_attempts"), Some(f.failed_attempts as f64));
        put(format!("{p}.failed_sends"), Some(f.failed_sends as f64));
        put(format!("{p}.recovered_by_retry"), Some(f.recovered_by_retry as f64));
        put(format!("{p}.added_latency_ms.p99"), f.added_latency_ms.p99);
        // Reads and failover (issue 11): only where the run measures them.
        if let Some(gaps) = &f.consume_gap_s {
            put(format!("{p}.consume_gap_s.max"), gaps.max);
            put(format!("{p}.consume_gap_s.never"), Some(gaps.never as f64));
        }
        for (ns, s) in f.failover_s.iter().flatten().flatten() {
            put(format!("{p}.failover_s.{ns}"), *s);
        }
        for (group, s) in f.write_unavailable_s.iter().flatten() {
            put(format!("{p}.write_unavailable_s.{group}"), *s);
        }
        if let Some(lost) = f.messages_lost {
            put(format!("{p}.messages_lost"), Some(lost as f64));
        }
    }
    m
}

/// The metrics `points.csv` summarises over seeds.
fn is_point_metric(name: &str) -> bool {
    // A fault's field: `faults[<id>].<field>`; a NameServer's: `nameserver_load.<ns>.<field>`.
    let fault_field = name.strip_prefix("faults[").and_then(|rest| rest.rsplit_once("].")).map(|(_, field)| field);
    let nameserver_field = name.strip_prefix("nameserver_load.").and_then(|rest| rest.split_once('.'));
    // False removals are summarised too: a heartbeat as long as the idle close flaps routes.
    name == "totals.false_removals"
        || nameserver_field.is_some_and(|(_, field)| field == "requests_per_s")
        || fault_field.is_some_and(|field| {
            ["convergence_s.p99", "stale_window_s", "failed_sends", "consume_gap_s.max", "messages_lost"]
                .contains(&field)
                || ["detection_s.", "failover_s.", "write_unavailable_s."]
                    .iter()
                    .any(|prefix| field.strip_prefix(prefix).is_some_and(|name| !name.contains('.')))
        })
}

/// The statistics over seeds in `points.csv`, as (column suffix, nearest-rank quantile).
const POINT_STATS: [(&str, f64); 4] = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)];

/// The columns of `runs.csv`'s metrics: every name any row has, in first-appearance order,
/// a new name going right after the name before it in its row (so a fault's columns stay
/// together when only some points have, say, a third NameServer).
fn metric_columns(rows: &[RunRow]) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    let mut previous: Option<&RunRow> = None;
    for row in rows {
        let same = previous.is_some_and(|p| {
            p.metrics.len() == row.metrics.len() && p.metrics.iter().zip(&row.metrics).all(|(a, b)| a.0 == b.0)
        });
        previous = Some(row);
        if same {
            continue;
        }
        let mut at = 0;
        for (name, _) in &row.metrics {
            match columns.iter().position(|c| c == name) {
                Some(i) => at = i + 1,
                None => {
                    columns.insert(at, name.clone());
                    at += 1;
                }
            }
        }
    }
    columns
}

/// A CSV cell: Rust's shortest round-trip form (`3000`, `94.96783`), empty for null.
fn cell(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// Writes `runs.csv`, `points.csv`, `sweep.json` and the charts into `dir` (which exists)
/// from the rows of every run, in run order. Both an unsharded sweep and `merge` end here.
/// Returns warnings (charts that could not be drawn), which do not fail the sweep.
pub fn write_results(dir: &Path, identity: &SweepIdentity, rows: &[RunRow]) -> Result<Vec<String>, OutputError> {
    let columns = metric_columns(rows);
    let index: HashMap<&str, usize> = columns.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let paths: Vec<&str> = identity.grid.iter().map(|a| a.path.as_str()).collect();

    let mut header: Vec<&str> = vec!["point"];
    header.extend(&paths);
    header.push("seed");
    header.extend(columns.iter().map(String::as_str));
    let mut table: Vec<Vec<String>> = Vec::with_capacity(rows.len());
    let mut aligned: Vec<Vec<Option<f64>>> = Vec::with_capacity(rows.len());
    for row in rows {
        let mut values = vec![None; columns.len()];
        for (name, value) in &row.metrics {
            values[index[name.as_str()]] = *value;
        }
        let mut record = vec![row.point.to_string()];
        record.extend(identity.point_values(row.point).iter().map(|v| v.to_string()));
        record.push(row.seed.to_string());
        record.extend(values.iter().map(|&v| cell(v)));
        table.push(record);
        aligned.push(values);
    }
    write_table(&dir.join("runs.csv"), &header, &table)?;

    let summarised: Vec<usize> = (0..columns.len()).filter(|&i| is_point_metric(&columns[i])).collect();
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(paths.iter().map(|p| p.to_string()));
    header.push("runs".into());
    for &m in &summarised {
        header.extend(POINT_STATS.iter().map(|(stat, _)| format!("{}.{stat}", columns[m])));
        header.push(format!("{}.nulls", columns[m]));
    }
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut start = 0;
    while start < rows.len() {
        let point = rows[start].point;
        let end = start + rows[start..].iter().take_while(|r| r.point == point).count();
        let mut record = vec![point.to_string()];
        record.extend(identity.point_values(point).iter().map(|v| v.to_string()));
        record.push((end - start).to_string());
        for &m in &summarised {
            let mut values: Vec<f64> = aligned[start..end].iter().filter_map(|v| v[m]).collect();
            values.sort_by(f64::total_cmp);
            record.extend(POINT_STATS.iter().map(|&(_, q)| cell(nearest_rank(&values, q))));
            record.push((end - start - values.len()).to_string());
        }
        table.push(record);
        start = end;
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    write_table(&dir.join("points.csv"), &header, &table)?;

    output::write_json(&dir.join("sweep.json"), &SweepFile::new(identity))?;

    let warnings = match output::sweep_charts::draw_sweep_charts(dir) {
        Ok(_) => Vec::new(),
        Err(e) => vec![format!("charts not drawn: {e}")],
    };
    Ok(warnings)
}

fn write_table(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<(), OutputError> {
    let csv_error = |source| OutputError::Csv { path: path.to_path_buf(), source };
    let mut w = csv::Writer::from_path(path).map_err(csv_error)?;
    w.write_record(header).map_err(csv_error)?;
    for row in rows {
        w.write_record(row).map_err(csv_error)?;
    }
    w.flush().map_err(output::io_error(path))
}

/// `sweep.json`.
#[derive(Serialize)]
struct SweepFile<'a> {
    scenario: &'a str,
    scenario_hash: &'a str,
    routesim_version: &'a str,
    seeds: SeedsFile,
    grid: &'a [Axis],
    points: u64,
    runs: u64,
}

#[derive(Serialize)]
struct SeedsFile {
    first: u64,
    last: u64,
    count: u64,
}

impl<'a> SweepFile<'a> {
    fn new(id: &'a SweepIdentity) -> SweepFile<'a> {
        SweepFile {
            scenario: &id.scenario,
            scenario_hash: &id.scenario_hash,
            routesim_version: &id.routesim_version,
            seeds: SeedsFile { first: id.seeds.first, last: id.seeds.last, count: id.seeds.len() },
            grid: &id.grid,
            points: id.points(),
            runs: id.runs(),
        }
    }
}

/// `partial.json`: one shard's rows, not aggregated. Each distinct list of metric names is
/// stored once (`layouts`) and each run names its layout, which keeps the file small without
/// losing the difference between a missing metric and a null one.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Partial {
    format: String,
    shard: Shard,
    sweep: SweepIdentity,
    layouts: Vec<Vec<String>>,
    runs: Vec<PartialRun>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialRun {
    run: u64,
    point: u64,
    seed: u64,
    layout: usize,
    values: Vec<Option<f64>>,
}

/// Writes `partial.json` for shard `shard` into `dir` (which exists).
pub fn write_partial(dir: &Path, identity: &SweepIdentity, shard: Shard, rows: &[RunRow]) -> Result<(), OutputError> {
    let mut layouts: Vec<Vec<String>> = Vec::new();
    let mut known: HashMap<Vec<String>, usize> = HashMap::new();
    let mut runs = Vec::with_capacity(rows.len());
    for row in rows {
        let names: Vec<String> = row.metrics.iter().map(|(n, _)| n.clone()).collect();
        let layout = *known.entry(names.clone()).or_insert_with(|| {
            layouts.push(names);
            layouts.len() - 1
        });
        let values = row.metrics.iter().map(|(_, v)| *v).collect();
        runs.push(PartialRun { run: row.run, point: row.point, seed: row.seed, layout, values });
    }
    let partial = Partial { format: PARTIAL_FORMAT.into(), shard, sweep: identity.clone(), layouts, runs };
    write_partial_file(dir, &partial)
}

/// Writes a shard's `partial.json` into `dir`, compact: the file is for a merge, and a large
/// shard holds many thousand runs.
pub fn write_partial_file(dir: &Path, partial: &impl Serialize) -> Result<(), OutputError> {
    let path = dir.join(PARTIAL_FILE);
    let file = std::fs::File::create(&path).map_err(output::io_error(&path))?;
    let mut w = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut w, partial)
        .map_err(|e| OutputError::Other { path: path.clone(), message: e.to_string() })?;
    w.write_all(b"\n").map_err(output::io_error(&path))?;
    w.flush().map_err(output::io_error(&path))
}

/// Reads the `partial.json` of shard directory `dir`, which must be in format `format`
/// (`routesim-sweep-partial/1`, `routesim-tune-partial/1`, `routesim-run-partial/1`): a sweep's
/// shard given to a tune's merge, or the reverse, is named as such rather than as a malformed file.
pub fn read_partial<T: DeserializeOwned>(dir: &Path, format: &str) -> Result<T, String> {
    #[derive(Deserialize)]
    struct Format {
        format: String,
    }
    let path = dir.join(PARTIAL_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{}: {e} (is this a directory written by `routesim sweep --shard`, `routesim tune --shard` or \
             `routesim run --shard`?)",
            path.display()
        )
    })?;
    let found: Format =
        serde_json::from_str(&text).map_err(|e| format!("{}: not a shard's partial result: {e}", path.display()))?;
    if found.format != format {
        return Err(format!(
            "{}: format `{}`, expected `{format}` (`routesim merge` joins the shards of a sweep, \
             `routesim tune SCENARIO ... --merge` those of a tune, `routesim run SCENARIO --merge` those of a run)",
            path.display(),
            found.format
        ));
    }
    serde_json::from_str(&text).map_err(|e| format!("{}: not a valid partial result: {e}", path.display()))
}

/// What a merge knows of one shard's directory: where it is, which shard it says it is, and
/// the indices of the runs it holds, in file order.
pub struct ShardRuns<'a> {
    pub dir: &'a Path,
    pub shard: Shard,
    pub runs: Vec<u64>,
}

/// Checks that `shards` are every shard of one job of `total` runs, each once: they split it
/// the same number of ways, none is missing or given twice, and each holds exactly its own
/// runs, each once. The shards' identities are the caller's to compare. `job` names the job in
/// messages (``sweep `x` ``), `rerun` says how to run a missing shard.
pub fn check_shards(shards: &[ShardRuns], total: u64, job: &str, rerun: &str) -> Result<(), String> {
    let Some(first) = shards.first() else {
        return Err("name at least one shard directory".into());
    };
    let count = first.shard.count;
    let mut by_shard: Vec<Option<&Path>> = vec![None; count as usize];
    for s in shards {
        if s.shard.count != count || s.shard.index >= count {
            return Err(format!(
                "{} is shard {} but {} is shard {}: every shard must split the {job} the same number of ways",
                s.dir.display(),
                s.shard,
                first.dir.display(),
                first.shard
            ));
        }
        let slot = &mut by_shard[s.shard.index as usize];
        if let Some(other) = slot {
            return Err(format!("shard {} is given twice: {} and {}", s.shard, other.display(), s.dir.display()));
        }
        *slot = Some(s.dir);
    }
    let missing: Vec<String> =
        (0..count).filter(|&k| by_shard[k as usize].is_none()).map(|k| format!("{k}/{count}")).collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing shard{} {} of {job} ({total} runs in {count} shards); run them with `{rerun} --shard K/{count}`",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
        ));
    }
    let mut seen = vec![false; total as usize];
    for s in shards {
        let expected = shard_runs(Some(s.shard), total).count();
        if s.runs.len() != expected {
            return Err(format!(
                "{}: shard {} should hold {expected} runs, holds {}",
                s.dir.display(),
                s.shard,
                s.runs.len()
            ));
        }
        for &run in &s.runs {
            let bad = |why: &str| format!("{}: run {run}: {why}", s.dir.display());
            if run >= total || !s.shard.owns(run) {
                return Err(bad(&format!("not a run of shard {}", s.shard)));
            }
            if std::mem::replace(&mut seen[run as usize], true) {
                return Err(bad("given twice"));
            }
        }
    }
    Ok(())
}

/// Reads shards' directories, checks that they are one sweep's shards, all of them, each
/// once, and returns the sweep and every run's row in run order.
pub fn merge(dirs: &[PathBuf]) -> Result<(SweepIdentity, Vec<RunRow>), String> {
    let partials: Vec<(&Path, Partial)> = dirs
        .iter()
        .map(|dir| Ok((dir.as_path(), read_partial::<Partial>(dir, PARTIAL_FORMAT)?)))
        .collect::<Result<_, String>>()?;
    let Some((first_dir, first)) = partials.first() else {
        return Err("name at least one shard directory".into());
    };
    let identity = first.sweep.clone();
    for (dir, p) in &partials {
        if p.sweep != identity {
            return Err(format!(
                "{} and {} are shards of different sweeps: {}",
                first_dir.display(),
                dir.display(),
                identity_difference(&identity, &p.sweep)
            ));
        }
    }
    let shards: Vec<ShardRuns> = partials
        .iter()
        .map(|(dir, p)| ShardRuns { dir, shard: p.shard, runs: p.runs.iter().map(|r| r.run).collect() })
        .collect();
    let total = identity.runs();
    check_shards(&shards, total, &format!("sweep `{}`", identity.scenario), "routesim sweep")?;
    let mut rows: Vec<Option<RunRow>> = (0..total).map(|_| None).collect();
    for (dir, p) in partials {
        for r in p.runs {
            let bad = |why: &str| format!("{}: run {}: {why}", dir.display(), r.run);
            if identity.run_at(r.run) != (r.point, r.seed) {
                return Err(bad("its point and seed do not match its index"));
            }
            let names = p.layouts.get(r.layout).ok_or_else(|| bad("unknown layout"))?;
            if names.len() != r.values.len() {
                return Err(bad("as many values as metric names are needed"));
            }
            let metrics = names.iter().cloned().zip(r.values).collect();
            rows[r.run as usize] = Some(RunRow { run: r.run, point: r.point, seed: r.seed, metrics });
        }
    }
    // `check_shards` saw every run exactly once, so every slot is filled.
    let rows = rows.into_iter().flatten().collect::<Vec<_>>();
    debug_assert_eq!(rows.len() as u64, total);
    Ok((identity, rows))
}

/// How two sweeps' identities differ, first difference first, for a merge's refusal.
pub fn identity_difference(a: &SweepIdentity, b: &SweepIdentity) -> String {
    if a.scenario != b.scenario {
        format!("scenario `{}` vs `{}`", a.scenario, b.scenario)
    } else if a.scenario_hash != b.scenario_hash {
        format!("the scenario file differs (hash {} vs {})", a.scenario_hash, b.scenario_hash)
    } else if a.seeds != b.seeds {
        format!("seeds {}..={} vs {}..={}", a.seeds.first, a.seeds.last, b.seeds.first, b.seeds.last)
    } else if a.routesim_version != b.routesim_version {
        format!("routesim {} vs {}", a.routesim_version, b.routesim_version)
    } else {
        "the grids differ".into()
    }
}

/// Writes a sweep's files into the directory `out`, atomically (docs/OUTPUT.md): a shard's
/// `partial.json`, or, for a whole sweep or a merge, `write_results`'s files. Returns its
/// warnings.
pub fn write(
    out: &Path,
    identity: &SweepIdentity,
    shard: Option<Shard>,
    rows: &[RunRow],
) -> Result<Vec<String>, OutputError> {
    let mut warnings = Vec::new();
    output::write_dir_atomically(out, output::Kind::Sweep, |dir| match shard {
        Some(shard) => write_partial(dir, identity, shard, rows),
        None => write_results(dir, identity, rows).map(|w| warnings = w),
    })?;
    Ok(warnings)
}

/// The default output directory of a sweep (or of a merge) of scenario `name`.
pub fn default_out(name: &str, shard: Option<Shard>) -> PathBuf {
    shard_out(name, "sweep", shard)
}

/// `output/<name>-<noun>/`, or `output/<name>-<noun>-shard-K-of-N/` for a shard.
pub fn shard_out(name: &str, noun: &str, shard: Option<Shard>) -> PathBuf {
    let dir = match shard {
        None => format!("{name}-{noun}"),
        Some(s) => format!("{name}-{noun}-shard-{}-of-{}", s.index, s.count),
    };
    Path::new("output").join(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_axis_varies_fastest() {
        assert_eq!(grid(&[2, 3]), vec![vec![0, 0], vec![0, 1], vec![0, 2], vec![1, 0], vec![1, 1], vec![1, 2]]);
        assert_eq!(grid(&[]), vec![Vec::<usize>::new()]);
        assert_eq!(point_indices(&[4, 2, 3], 23), vec![3, 1, 2]);
    }

    #[test]
    fn suggestions_name_the_whole_path() {
        let m = "unknown field `hearbeat`, expected ...; did you mean `broker_heartbeat`? (with sweep values x)";
        assert_eq!(
            suggest_whole_path("timing.hearbeat", "timing.hearbeat", m),
            "unknown field `hearbeat`, expected ...; did you mean `timing.broker_heartbeat`? (with sweep values x)"
        );
        let m = "unknown field `timng`; did you mean `timing`?";
        assert_eq!(suggest_whole_path("timng.scan", "timng", m), "unknown field `timng`; did you mean `timing.scan`?");
        assert_eq!(suggest_whole_path("a.b", "", "no hint"), "no hint");
    }

    #[test]
    fn shards_parse() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        assert!("3/3".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
    }

    #[test]
    fn columns_keep_new_names_next_to_their_neighbours() {
        let row = |names: &[&str]| RunRow {
            run: 0,
            point: 0,
            seed: 1,
            metrics: names.iter().map(|n| (n.to_string(), None)).collect(),
        };
        let rows = [row(&["a", "f.ns-0", "f.max"]), row(&["a", "f.ns-0", "f.ns-1", "f.max"])];
        assert_eq!(metric_columns(&rows), ["a", "f.ns-0", "f.ns-1", "f.max"]);
    }

    #[test]
    fn point_metrics() {
        assert!(is_point_metric("faults[broker-a].stale_window_s"));
        assert!(is_point_metric("faults[x.y].convergence_s.p99"));
        assert!(is_point_metric("faults[broker-a].detection_s.ns-0"));
        assert!(is_point_metric("nameserver_load.ns-1.requests_per_s"));
        assert!(!is_point_metric("nameserver_load.ns-1.requests"));
        assert!(!is_point_metric("faults[broker-a].convergence_s.p50"));
        assert!(is_point_metric("totals.false_removals"));
        assert!(!is_point_metric("totals.failed_sends"));
    }

    /// The sweep's columns are `expect:` paths into summary.json (docs/SWEEPS.md): every
    /// `runs.csv` metric of a real run is the value at that path, and every `points.csv`
    /// statistic is a valid aggregate over seeds of it. Fails if `run_metrics` drifts from
    /// report.rs.
    #[test]
    fn columns_are_expect_paths_into_a_real_summary() {
        let text = "name: tiny\nseed: 1\nduration: 3m\ncluster: {nameservers: 2, broker_groups: 3}\n\
                    topics: [{name: t, queues_per_broker: 2}]\n\
                    producers: [{name: p, count: 4, topic: t, rate: 5, mode: sync, threads: 2}]\n\
                    faults:\n  - {at: 30s, kind: crash, target: broker-a, mode: power-off}\n  \
                    - {at: 40s, kind: shutdown, target: ns-1, duration: 20s}\n";
        let scenario = scenario::from_text(Path::new("tiny.yaml"), text).unwrap();
        let summary = crate::simulate(scenario.world).summary;
        let value = serde_json::to_value(&summary).unwrap();
        let metrics = run_metrics(&summary);
        assert!(metrics.iter().any(|(n, _)| n == "faults[broker-a].detection_s.ns-1"), "{metrics:?}");
        for (name, v) in &metrics {
            let expected = v.map_or("null".to_string(), |v| v.to_string());
            let a = crate::expect::parse(&format!("{name} == {expected}")).unwrap();
            assert!(
                crate::expect::evaluate(&a, &[(1, value.clone())]).passed,
                "{name} is not {expected} in the summary"
            );
            let stats = POINT_STATS.iter().map(|(stat, _)| *stat).chain(["min", "mean"]);
            for stat in stats.filter(|_| is_point_metric(name)) {
                let a = crate::expect::parse(&format!("{name}.{stat} >= 0")).unwrap();
                assert_eq!(crate::expect::validate_path(&a, &value), Ok(()), "{name}.{stat}");
            }
        }
    }
}
