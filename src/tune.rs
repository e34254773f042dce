//! `routesim tune`: which settings meet a stale-route target at the least load.
//!
//! A tune searches a grid of timing settings within the bounds RocketMQ accepts (each axis a
//! `timing.*` path and its values, like a sweep's `vary`), runs every (point, seed) pair on
//! the one runner, and judges the target, an `expect:` aggregate such as
//! `faults[broker-a].stale_window_s.p99 <= 30`, at every point over the same seeds. A point
//! *meets* the target when the aggregate passes over its seeds and no healthy broker was
//! falsely removed in any of them (a heartbeat as long as the idle close meets any stale-window
//! target by flapping routes). Each point's load is the NameServers' measured requests per
//! second (mean over seeds) and the clients' route queries per second (from the settings).
//! The Pareto frontier holds the points no other point beats on both the target's statistic
//! and the load being minimised; the chosen point is the least-loaded that meets the target,
//! checked again over as many fresh seeds.
//!
//! Sharding (`--shard K/N`, then `--merge`): the grid's runs do not depend on one another, so
//! shard K runs the runs `i` with `i % N == K` (run `i` is point `i / seeds`, seed
//! `first + i % seeds`, as in a sweep) and keeps each run's summary, as the judge reads it, in
//! `partial.json`. Only the fresh-seed check depends on results (on which point was chosen), so
//! it runs in the merge, which judges every run exactly as an unsharded tune does and writes
//! the same bytes.

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::check::summarise;
use crate::expect::{self, Assertion};
use crate::model::config::WorldConfig;
use crate::output::OutputError;
use crate::runner::{self, Job, RunnerError};
use crate::scenario::units::SeedRange;
use crate::scenario::{self, ScenarioError, yaml};
pub use crate::sweep::Axis;
use crate::sweep::{self, Shard, ShardRuns, SweepIdentity};

/// The grid points one tune may ask for.
pub const POINTS_MAX: usize = 2_000;

/// Which load the chosen point minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Minimise {
    /// Requests per second the NameServers handle (registrations, route queries), measured.
    NameserverLoad,
    /// Route queries per second the clients send, from the settings: clients / route poll.
    ClientLoad,
}

/// RocketMQ's knobs of the stale window, within the bounds RocketMQ accepts:
/// `registerNameServerPeriod` 10-60 s (BrokerConfig clamps it; longer only delays detection),
/// `serverChannelMaxIdleTimeSeconds` (the NameServer's idle close, which sets detection after a
/// silent failure), `pollNameServerInterval` (the client's route poll). With `what_ifs`, the
/// routing what-ifs too (not RocketMQ's behaviour).
pub fn default_space(what_ifs: bool) -> Vec<Axis> {
    let axis = |path: &str, values: &[&str]| Axis {
        path: path.to_string(),
        values: values.iter().map(|v| v.to_string()).collect(),
    };
    let mut space = vec![
        axis("timing.broker_heartbeat", &["10s", "20s", "30s"]),
        axis("timing.nameserver_channel_idle", &["30s", "60s", "90s", "120s"]),
        axis("timing.client_route_poll", &["5s", "10s", "20s", "30s"]),
    ];
    if what_ifs {
        space.push(axis("timing.nameserver_push", &["false", "true"]));
        space.push(axis("timing.client_refresh_on_failure", &["false", "true"]));
    }
    space
}

/// The name of a tune shard's file format.
const PARTIAL_FORMAT: &str = "routesim-tune-partial/1";

/// What must be equal for shards to belong to one tune: what a sweep's shards share (the
/// scenario file, routesim's version, the seeds, the grid as `timing.*` axes) and how the
/// runs are judged (the summary keys a shard keeps follow from the target).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuneIdentity {
    pub runs: SweepIdentity,
    pub target: String,
    pub minimise: Minimise,
}

impl TuneIdentity {
    /// How `self` and `other` differ, first difference first.
    fn difference(&self, other: &TuneIdentity) -> String {
        if self.runs != other.runs {
            sweep::identity_difference(&self.runs, &other.runs)
        } else if self.target != other.target {
            format!("--target `{}` vs `{}`", self.target, other.target)
        } else {
            let name = |m: Minimise| {
                clap::ValueEnum::to_possible_value(&m).map(|v| v.get_name().to_string()).unwrap_or_default()
            };
            format!("--minimise {} vs {}", name(self.minimise), name(other.minimise))
        }
    }
}

/// A loaded tune: the target, the grid and every point's validated world.
pub struct Tune {
    pub file: PathBuf,
    pub target: Assertion,
    pub identity: TuneIdentity,
    worlds: Vec<WorldConfig>,
}

/// One grid run's summary, reduced to the keys the judge reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridRun {
    pub run: u64,
    pub seed: u64,
    pub summary: Value,
}

/// `partial.json` of a tune's shard.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Partial {
    format: String,
    shard: Shard,
    tune: TuneIdentity,
    runs: Vec<GridRun>,
}

/// What a tune found at one grid point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PointResult {
    pub point: usize,
    /// `timing.*` path → value, in axis order.
    pub settings: Vec<(String, String)>,
    /// The target's statistic over the seeds (`null`: no value, e.g. never a stale send).
    pub statistic: Option<f64>,
    pub meets: bool,
    /// The target's aggregate passed (`meets` also needs no false removal).
    pub target_passed: bool,
    pub false_removals_max: f64,
    pub nameserver_requests_per_s: f64,
    pub client_queries_per_s: f64,
    pub pareto: bool,
    /// Why the point can be neither chosen nor on the frontier, if it cannot.
    pub excluded: Option<String>,
}

impl PointResult {
    /// A point that may be chosen and may sit on the frontier.
    pub fn eligible(&self) -> bool {
        self.excluded.is_none()
    }
}

/// The whole answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TuneReport {
    pub scenario: String,
    pub target: String,
    pub seeds: (u64, u64),
    pub minimise: Minimise,
    pub axes: Vec<Axis>,
    pub points: Vec<PointResult>,
    /// The point whose settings equal the scenario's own, if it is in the grid.
    pub baseline: Option<usize>,
    pub chosen: Option<usize>,
    /// The chosen point over as many fresh seeds: does it still meet the target?
    pub chosen_fresh_seeds: Option<(u64, u64)>,
    pub chosen_meets_on_fresh_seeds: Option<bool>,
    /// With N seeds all within the target, the chance that one more seed is not is below
    /// this at 95% confidence: 1 - 0.05^(1/N).
    pub exceedance_bound_95: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Runner(#[from] RunnerError),
}

/// Reads the scenario, parses the target (it must be an aggregate over seeds) and builds every
/// grid point's world, so a bad path, value or target is reported before anything runs.
pub fn load(
    path: &Path,
    target: &str,
    axes: Vec<Axis>,
    seeds: SeedRange,
    minimise: Minimise,
) -> Result<Tune, TuneError> {
    let text = scenario::read_text(path)?;
    let base = scenario::from_text(path, &text)?;
    let target = expect::parse(target).map_err(|e| TuneError::Input(format!("--target: {e}")))?;
    if target.aggregate_suffix().is_none() {
        return Err(TuneError::Input(format!(
            "--target `{}` must end with a statistic over seeds (p50, p90, p99, max, min, mean), e.g. \
             `faults[broker-a].stale_window_s.p99 <= 30`",
            target.text
        )));
    }
    let schema = crate::check::schema(&base.world);
    let mut shorter = target.clone();
    shorter.path.pop();
    expect::validate_path(&shorter, &schema).map_err(|e| TuneError::Input(format!("--target: {e}")))?;
    if axes.is_empty() || axes.iter().any(|a| a.values.is_empty()) {
        return Err(TuneError::Input("every axis needs at least one value".into()));
    }
    let lens: Vec<usize> = axes.iter().map(|a| a.values.len()).collect();
    let points = lens.iter().try_fold(1usize, |acc, &l| acc.checked_mul(l)).unwrap_or(usize::MAX);
    if points > POINTS_MAX {
        return Err(TuneError::Input(format!("the grid has {points} points; at most {POINTS_MAX}: give fewer values")));
    }
    let mut worlds = Vec::with_capacity(points);
    for indices in sweep::grid(&lens) {
        let overrides: Vec<(String, yaml::Value)> =
            axes.iter().zip(&indices).map(|(a, &i)| (a.path.clone(), yaml::scalar(&a.values[i]))).collect();
        worlds.push(scenario::with_overrides(path, &text, &overrides)?.world);
    }
    let runs = SweepIdentity {
        scenario: base.world.name.clone(),
        scenario_hash: sweep::scenario_hash(&text),
        routesim_version: env!("CARGO_PKG_VERSION").to_string(),
        seeds,
        grid: axes,
    };
    let identity = TuneIdentity { runs, target: target.text.clone(), minimise };
    Ok(Tune { file: path.to_path_buf(), target, identity, worlds })
}

struct PointSeed<'a> {
    file: &'a Path,
    run: u64,
    point: usize,
    seed: u64,
}

impl Job for PointSeed<'_> {
    fn scenario(&self) -> &Path {
        self.file
    }
    fn seed(&self) -> u64 {
        self.seed
    }
    fn detail(&self) -> String {
        format!("tune point {}", self.point)
    }
}

impl Tune {
    pub fn points(&self) -> usize {
        self.worlds.len()
    }

    /// The runs this process makes: the grid's (or shard `shard`'s of them), and the chosen
    /// point's fresh seeds unless it is a shard.
    pub fn runs(&self, shard: Option<Shard>) -> u64 {
        match shard {
            None => self.identity.runs.runs() + self.identity.runs.seeds.len(),
            Some(_) => sweep::shard_runs(shard, self.identity.runs.runs()).count() as u64,
        }
    }

    /// The top-level summary keys the judge reads: the target's, false removals and load.
    fn keys(&self) -> BTreeSet<String> {
        [self.target.path[0].key.clone(), "totals".into(), "nameserver_load".into(), "duration_s".into()].into()
    }

    /// Runs the grid over the seeds, then the chosen point over fresh seeds; `progress` ticks
    /// once per run.
    pub fn run(
        &self,
        threads: Option<NonZeroUsize>,
        progress: Option<&(dyn Fn() + Sync)>,
    ) -> Result<TuneReport, TuneError> {
        let runs = self.run_grid(threads, None, progress)?;
        self.finish(runs, threads, progress)
    }

    /// Runs the grid's runs (those of `shard`, or all), in run order.
    pub fn run_grid(
        &self,
        threads: Option<NonZeroUsize>,
        shard: Option<Shard>,
        progress: Option<&(dyn Fn() + Sync)>,
    ) -> Result<Vec<GridRun>, TuneError> {
        let jobs: Vec<PointSeed> = sweep::shard_runs(shard, self.identity.runs.runs())
            .map(|run| {
                let (point, seed) = self.identity.runs.run_at(run);
                PointSeed { file: &self.file, run, point: point as usize, seed }
            })
            .collect();
        let keys = self.keys();
        Ok(runner::run(&jobs, threads, progress, |j| GridRun {
            run: j.run,
            seed: j.seed,
            summary: summarise(&self.worlds[j.point], j.seed, &keys),
        })?)
    }

    /// Judges every grid run (all of them, in run order), then runs the chosen point over
    /// fresh seeds: what an unsharded tune and a merge both end with.
    pub fn finish(
        &self,
        runs: Vec<GridRun>,
        threads: Option<NonZeroUsize>,
        progress: Option<&(dyn Fn() + Sync)>,
    ) -> Result<TuneReport, TuneError> {
        let seeds = self.identity.runs.seeds;
        let minimise = self.identity.minimise;
        let per_seed = seeds.len() as usize;
        assert_eq!(runs.len(), self.points() * per_seed, "every grid run is judged");
        let summaries: Vec<Value> = runs.into_iter().map(|r| r.summary).collect();
        let mut points: Vec<PointResult> =
            summaries.chunks(per_seed).enumerate().map(|(point, runs)| self.judge(point, seeds, runs)).collect();
        mark_pareto(&mut points, minimise);
        let chosen = points
            .iter()
            .filter(|p| p.meets)
            .min_by(|a, b| point_load(a, minimise).total_cmp(&point_load(b, minimise)).then(a.point.cmp(&b.point)))
            .map(|p| p.point);
        let (mut fresh, mut fresh_meets) = (None, None);
        if let Some(point) = chosen {
            let first = seeds.last.saturating_add(1);
            let fresh_seeds = SeedRange { first, last: first.saturating_add(seeds.len() - 1) };
            let jobs: Vec<PointSeed> = fresh_seeds
                .seeds()
                .enumerate()
                .map(|(i, seed)| PointSeed { file: &self.file, run: i as u64, point, seed })
                .collect();
            let keys = self.keys();
            let runs = runner::run(&jobs, threads, progress, |j| summarise(&self.worlds[point], j.seed, &keys))?;
            fresh = Some((fresh_seeds.first, fresh_seeds.last));
            fresh_meets = Some(self.judge(point, fresh_seeds, &runs).meets);
        }
        let baseline = self.baseline();
        let id = &self.identity;
        Ok(TuneReport {
            scenario: id.runs.scenario.clone(),
            target: id.target.clone(),
            seeds: (seeds.first, seeds.last),
            minimise,
            axes: id.runs.grid.clone(),
            points,
            baseline,
            chosen,
            chosen_fresh_seeds: fresh,
            chosen_meets_on_fresh_seeds: fresh_meets,
            exceedance_bound_95: 1.0 - 0.05f64.powf(1.0 / per_seed as f64),
        })
    }

    /// Writes shard `shard`'s runs as `partial.json` into `dir` (which exists).
    pub fn write_partial(&self, dir: &Path, shard: Shard, runs: Vec<GridRun>) -> Result<(), OutputError> {
        let partial = Partial { format: PARTIAL_FORMAT.into(), shard, tune: self.identity.clone(), runs };
        sweep::write_partial_file(dir, &partial)
    }

    /// Reads the shards' directories and checks that they are this tune's shards (the same
    /// scenario file, routesim, seeds, grid, target and `--minimise`), all of them, each once;
    /// returns every grid run in run order.
    pub fn merge(&self, dirs: &[PathBuf]) -> Result<Vec<GridRun>, TuneError> {
        let mut partials: Vec<(&Path, Partial)> = Vec::with_capacity(dirs.len());
        for dir in dirs {
            let partial: Partial = sweep::read_partial(dir, PARTIAL_FORMAT).map_err(TuneError::Input)?;
            if partial.tune != self.identity {
                return Err(TuneError::Input(format!(
                    "{} is a shard of another tune: {} (the shard's, then this merge's; shard and merge with the same \
                     scenario file, routesim and arguments)",
                    dir.display(),
                    partial.tune.difference(&self.identity)
                )));
            }
            partials.push((dir, partial));
        }
        let shards: Vec<ShardRuns> = partials
            .iter()
            .map(|(dir, p)| ShardRuns { dir, shard: p.shard, runs: p.runs.iter().map(|r| r.run).collect() })
            .collect();
        let total = self.identity.runs.runs();
        let job = format!("the tune of `{}`", self.identity.runs.scenario);
        sweep::check_shards(&shards, total, &job, "routesim tune (the same arguments)").map_err(TuneError::Input)?;
        let mut runs: Vec<Option<GridRun>> = (0..total).map(|_| None).collect();
        for (dir, p) in partials {
            for r in p.runs {
                if self.identity.runs.run_at(r.run).1 != r.seed {
                    return Err(TuneError::Input(format!(
                        "{}: run {}: its seed does not match its index",
                        dir.display(),
                        r.run
                    )));
                }
                let at = r.run as usize;
                runs[at] = Some(r);
            }
        }
        // `check_shards` saw every run exactly once, so every slot is filled.
        Ok(runs.into_iter().flatten().collect())
    }

    fn judge(&self, point: usize, seeds: SeedRange, summaries: &[Value]) -> PointResult {
        let runs: Vec<(u64, Value)> = seeds.seeds().zip(summaries.iter().cloned()).collect();
        let outcome = expect::evaluate(&self.target, &runs);
        let statistic = expect::statistic(&self.target, &runs);
        let number = |v: &Value, path: &[&str]| path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_f64);
        let false_removals_max =
            summaries.iter().filter_map(|s| number(s, &["totals", "false_removals"])).fold(0.0, f64::max);
        let ns_load: f64 = summaries
            .iter()
            .map(|s| {
                s.get("nameserver_load")
                    .and_then(Value::as_object)
                    .map_or(0.0, |m| m.values().filter_map(|l| l.get("requests_per_s")?.as_f64()).sum())
            })
            .sum::<f64>()
            / summaries.len().max(1) as f64;
        let world = &self.worlds[point];
        let clients = f64::from(world.layout.clients());
        let poll_s = world.timing.client_route_poll_us as f64 / 1e6;
        let idle_us = world.timing.nameserver_channel_idle_us;
        let excluded = if false_removals_max > 0.0 {
            Some("false removals: a live broker dropped from the routes".to_string())
        } else if idle_us != 0 && idle_us <= world.timing.client_route_poll_us {
            // Its low load is an artefact: queries lost on closed channels, not fewer queries.
            Some(format!(
                "the NameServers' idle close ({} s) is no longer than the route poll ({poll_s} s): they close \
                 clients' channels between polls and route queries are lost",
                idle_us as f64 / 1e6
            ))
        } else {
            None
        };
        PointResult {
            point,
            settings: self
                .identity
                .runs
                .grid
                .iter()
                .map(|a| a.path.clone())
                .zip(self.identity.runs.point_values(point as u64).into_iter().map(String::from))
                .collect(),
            statistic,
            meets: outcome.passed && excluded.is_none(),
            target_passed: outcome.passed,
            false_removals_max,
            nameserver_requests_per_s: (ns_load * 1e3).round() / 1e3,
            client_queries_per_s: (clients / poll_s * 1e3).round() / 1e3,
            pareto: false,
            excluded,
        }
    }

    /// The grid point whose world has the scenario's own timing, if any.
    fn baseline(&self) -> Option<usize> {
        let text = scenario::read_text(&self.file).ok()?;
        let base = scenario::from_text(&self.file, &text).ok()?;
        self.worlds.iter().position(|w| w.timing == base.world.timing)
    }
}

fn point_load(p: &PointResult, minimise: Minimise) -> f64 {
    match minimise {
        Minimise::NameserverLoad => p.nameserver_requests_per_s,
        Minimise::ClientLoad => p.client_queries_per_s,
    }
}

/// Marks the points that no other point beats on both the statistic (lower is better; a
/// missing statistic is worst) and the load, among eligible points.
fn mark_pareto(points: &mut [PointResult], minimise: Minimise) {
    let stat = |p: &PointResult| p.statistic.unwrap_or(f64::INFINITY);
    let eligible: Vec<bool> = points.iter().map(PointResult::eligible).collect();
    let flags: Vec<bool> = (0..points.len())
        .map(|i| {
            let p = &points[i];
            eligible[i]
                && !points.iter().enumerate().any(|(j, q)| {
                    let no_worse = stat(q) <= stat(p) && point_load(q, minimise) <= point_load(p, minimise);
                    let better = stat(q) < stat(p) || point_load(q, minimise) < point_load(p, minimise);
                    j != i && eligible[j] && no_worse && better
                })
        })
        .collect();
    for (p, flag) in points.iter_mut().zip(flags) {
        p.pareto = flag;
    }
}

impl TuneReport {
    /// The chosen point's settings as a `timing:` block to paste into a scenario.
    pub fn timing_block(&self) -> Option<String> {
        let point = &self.points[self.chosen?];
        let mut block = String::from("timing:\n");
        for (path, value) in &point.settings {
            block.push_str(&format!("  {}: {value}\n", path.trim_start_matches("timing.")));
        }
        Some(block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(i: usize, statistic: Option<f64>, load: f64, false_removals: f64) -> PointResult {
        PointResult {
            point: i,
            settings: Vec::new(),
            statistic,
            meets: false,
            target_passed: false,
            false_removals_max: false_removals,
            nameserver_requests_per_s: load,
            client_queries_per_s: 0.0,
            pareto: false,
            excluded: (false_removals > 0.0).then(|| "false removals".to_string()),
        }
    }

    #[test]
    fn the_frontier_keeps_only_undominated_points_without_false_removals() {
        let mut points = vec![
            point(0, Some(100.0), 10.0, 0.0),
            point(1, Some(50.0), 20.0, 0.0),
            point(2, Some(60.0), 30.0, 0.0),
            point(3, Some(10.0), 5.0, 2.0),
            point(4, None, 1.0, 0.0),
        ];
        mark_pareto(&mut points, Minimise::NameserverLoad);
        let on: Vec<usize> = points.iter().filter(|p| p.pareto).map(|p| p.point).collect();
        assert_eq!(on, [0, 1, 4]);
    }
}
