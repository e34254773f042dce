//! `routesim sweep` and `routesim merge`: arguments, the progress bar, the summary line.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use routesim::scenario::units::SeedRange;
use routesim::sweep::{self, Axis, RunRow, Shard, SweepIdentity};

use crate::print::{OutputArgs, Seeds};
use crate::threads::ThreadsArg;
use crate::{Failure, progress};

/// `routesim sweep`'s arguments.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The scenario file (YAML), with a `sweep:` block.
    pub scenario: PathBuf,
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// Output directory (default: output/<scenario-name>-sweep/, or
    /// output/<scenario-name>-sweep-shard-K-of-N/ with --shard).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seeds for every grid point, overriding `sweep.seeds`: `50` (1..=50), `1..=50`, `0..50`.
    #[arg(long)]
    pub seeds: Option<SeedRange>,
    /// Run only the runs i with i % N == K (0-based K) and write a partial result for
    /// `routesim merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Run grid points even when they are estimated too large to finish (README, "Limits").
    #[arg(long)]
    pub allow_large: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `routesim merge`'s arguments.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The shards' output directories.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Output directory (default: output/<scenario-name>-sweep/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `routesim sweep`: validate, run, write; one summary line on stdout.
pub fn sweep(args: &SweepArgs) -> Result<(), Failure> {
    let sweep = sweep::load(&args.scenario, args.seeds).map_err(|e| Failure::Input(e.to_string()))?;
    if let Some(why) = sweep.refusal().filter(|_| !args.allow_large) {
        return Err(Failure::Input(format!("{}: {why}", args.scenario.display())));
    }
    let id = &sweep.identity;
    let threads = args.threads.get().or_else(|| std::thread::available_parallelism().ok()).unwrap_or(NonZeroUsize::MIN);
    let out = args.out.clone().unwrap_or_else(|| sweep::default_out(&id.scenario, args.shard));
    routesim::output::check_replaceable(&out, routesim::output::Kind::Sweep).map_err(crate::write_failure)?;
    let mine = (0..sweep.runs()).filter(|&i| args.shard.is_none_or(|s| s.owns(i))).count() as u64;
    let bar = progress::bar(mine, "runs", args.output.progress());
    let tick = || bar.inc(1);
    let started = Instant::now();
    let rows = sweep.run_all(Some(threads), args.shard, Some(&tick));
    bar.finish_and_clear();
    let rows = rows.map_err(|e| Failure::Run(e.to_string()))?;
    let wall_s = started.elapsed().as_secs_f64();
    let warnings = sweep::write(&out, id, args.shard, &rows).map_err(crate::write_failure)?;
    for w in &warnings {
        args.output.warn(w);
    }
    args.output.json(&Points::of(&out, id, args.shard, &rows));
    if !args.output.text() {
        return Ok(());
    }
    let part = args.shard.map(|s| format!(", shard {s}")).unwrap_or_default();
    let threads = threads.get();
    println!(
        "wrote {}: {} points x {} seeds = {} runs{part}; ran {mine} on {threads} thread{} in {wall_s:.1}s ({:.1} runs/s)",
        out.display(),
        id.points(),
        id.seeds.len(),
        id.runs(),
        if threads == 1 { "" } else { "s" },
        mine as f64 / wall_s.max(1e-9)
    );
    Ok(())
}

/// `routesim merge`: check the shards, write the files an unsharded sweep writes.
pub fn merge(args: &MergeArgs) -> Result<(), Failure> {
    let (identity, rows) = sweep::merge(&args.shards).map_err(Failure::Input)?;
    let out = args.out.clone().unwrap_or_else(|| sweep::default_out(&identity.scenario, None));
    routesim::output::check_replaceable(&out, routesim::output::Kind::Sweep).map_err(crate::write_failure)?;
    let warnings = sweep::write(&out, &identity, None, &rows).map_err(crate::write_failure)?;
    for w in &warnings {
        args.output.warn(w);
    }
    args.output.json(&Points::of(&out, &identity, None, &rows));
    if args.output.text() {
        println!("wrote {}: {} shards merged, {} runs", out.display(), args.shards.len(), rows.len());
    }
    Ok(())
}

/// `sweep --json` and `merge --json`: the grid and every run's metrics, point by point.
#[derive(Serialize)]
struct Points<'a> {
    out: &'a Path,
    scenario: &'a str,
    seeds: Seeds,
    grid: &'a [Axis],
    /// The part of the runs this process ran (`--shard K/N`); `None` for all of them.
    shard: Option<Shard>,
    points: Vec<Point<'a>>,
}

#[derive(Serialize)]
struct Point<'a> {
    point: u64,
    /// Each varied path's value at this point, as written in the `sweep:` block.
    settings: BTreeMap<&'a str, &'a str>,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
struct Run<'a> {
    run: u64,
    seed: u64,
    /// The run's metrics, named as in runs.csv (docs/SWEEPS.md); null where there is no value.
    metrics: BTreeMap<&'a str, Option<f64>>,
}

impl<'a> Points<'a> {
    /// `rows` in run order, so a point's runs are consecutive.
    fn of(out: &'a Path, id: &'a SweepIdentity, shard: Option<Shard>, rows: &'a [RunRow]) -> Points<'a> {
        let mut points: Vec<Point<'a>> = Vec::new();
        for row in rows {
            if points.last().is_none_or(|p| p.point != row.point) {
                let settings = id.grid.iter().map(|a| a.path.as_str()).zip(id.point_values(row.point)).collect();
                points.push(Point { point: row.point, settings, runs: Vec::new() });
            }
            let metrics = row.metrics.iter().map(|(name, value)| (name.as_str(), *value)).collect();
            if let Some(point) = points.last_mut() {
                point.runs.push(Run { run: row.run, seed: row.seed, metrics });
            }
        }
        Points { out, scenario: &id.scenario, seeds: id.seeds.into(), grid: &id.grid, shard, points }
    }
}
