//! `routesim tune`: arguments, progress, the answer on stdout, the files.

use std::path::PathBuf;

use routesim::scenario::units::SeedRange;
use routesim::sweep::{self, Shard};
use routesim::tune::{self, Axis, Minimise};

use crate::print::OutputArgs;
use crate::threads::ThreadsArg;
use crate::{Failure, progress};

/// `routesim tune`'s arguments.
#[derive(Debug, clap::Args)]
pub struct TuneArgs {
    /// The scenario file (YAML).
    pub scenario: PathBuf,
    /// What to meet: an `expect:` aggregate over seeds, e.g.
    /// `faults[broker-a].stale_window_s.p99 <= 30`.
    #[arg(long)]
    pub target: String,
    /// The load the chosen point minimises.
    #[arg(long, value_enum, default_value = "nameserver-load")]
    pub minimise: Minimise,
    /// Seeds per grid point: `10` (1..=10), `1..=10`, `0..10`. The chosen point is checked again
    /// over as many fresh seeds.
    #[arg(long, default_value = "10")]
    pub seeds: SeedRange,
    /// Also search the routing what-ifs (nameserver_push, client_refresh_on_failure: not
    /// RocketMQ's behaviour).
    #[arg(long)]
    pub what_ifs: bool,
    /// Replace the search space: `PATH=V1,V2,...` per axis, repeatable (e.g.
    /// `--vary timing.client_route_poll=10s,30s`).
    #[arg(long, value_name = "PATH=VALUES")]
    pub vary: Vec<String>,
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// Output directory (default: output/<scenario-name>-tune/, or
    /// output/<scenario-name>-tune-shard-K-of-N/ with --shard).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Run only the grid's runs i with i % N == K (0-based K) and write a partial result for
    /// `--merge`.
    #[arg(long, value_name = "K/N", conflicts_with = "merge")]
    pub shard: Option<Shard>,
    /// Merge the directories of every `--shard K/N` run with these same arguments, run the
    /// chosen point's fresh seeds, and write what the unsharded tune writes.
    #[arg(long, value_name = "DIR", num_args = 1..)]
    pub merge: Vec<PathBuf>,
}

fn axes(args: &TuneArgs) -> Result<Vec<Axis>, Failure> {
    if args.vary.is_empty() {
        return Ok(tune::default_space(args.what_ifs));
    }
    args.vary
        .iter()
        .map(|item| {
            let (path, values) = item.split_once('=').ok_or_else(|| {
                Failure::Input(format!("--vary `{item}`: write PATH=V1,V2,... e.g. timing.client_route_poll=10s,30s"))
            })?;
            let values: Vec<String> =
                values.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
            if values.is_empty() {
                return Err(Failure::Input(format!("--vary `{item}`: give at least one value")));
            }
            Ok(Axis { path: path.trim().to_string(), values })
        })
        .collect()
}

/// A runner's failure is a failed run (exit 1); anything else is the input's (exit 2).
fn input_or_run(e: tune::TuneError) -> Failure {
    match e {
        tune::TuneError::Runner(r) => Failure::Run(r.to_string()),
        other => Failure::Input(other.to_string()),
    }
}

pub fn tune(args: &TuneArgs) -> Result<(), Failure> {
    let axes = axes(args)?;
    let tune = tune::load(&args.scenario, &args.target, axes, args.seeds, args.minimise).map_err(input_or_run)?;
    let threads = args.threads.get();
    let out = args.out.clone().unwrap_or_else(|| sweep::shard_out(&tune.identity.runs.scenario, "tune", args.shard));
    let kind = routesim::output::Kind::Tune;
    routesim::output::check_replaceable(&out, kind).map_err(crate::write_failure)?;
    // A merge's own runs are the chosen point's fresh seeds.
    let merged = (!args.merge.is_empty()).then(|| tune.merge(&args.merge)).transpose().map_err(input_or_run)?;
    let runs = if merged.is_some() { args.seeds.len() } else { tune.runs(args.shard) };
    let bar = progress::bar(runs, "runs", args.output.progress());
    let tick = || bar.inc(1);
    let run_failure = |e: tune::TuneError| Failure::Run(e.to_string());
    if let Some(shard) = args.shard {
        let grid_runs = tune.run_grid(threads, Some(shard), Some(&tick)).map_err(run_failure)?;
        bar.finish_and_clear();
        routesim::output::write_dir_atomically(&out, kind, |dir| tune.write_partial(dir, shard, grid_runs))
            .map_err(crate::write_failure)?;
        if !args.output.text() {
            return Ok(());
        }
        println!(
            "shard {shard} of a tune of {} points x {} seeds: ran {runs} runs; wrote {}; merge all {} with \
             `routesim tune` and these arguments, `--merge DIR...` instead of `--shard`",
            tune.points(),
            args.seeds.len(),
            out.display(),
            shard.count
        );
        return Ok(());
    }
    let report = match merged {
        Some(grid_runs) => tune.finish(grid_runs, threads, Some(&tick)),
        None => tune.run(threads, Some(&tick)),
    }
    .map_err(run_failure)?;
    bar.finish_and_clear();
    routesim::output::write_dir_atomically(&out, kind, |dir| routesim::output::tune_chart::write_tune(dir, &report))
        .map_err(crate::write_failure)?;
    args.output.json(&report);
    if !args.output.text() {
        return Ok(());
    }
    let frontier = report.points.iter().filter(|p| p.pareto).count();
    println!(
        "{} points x {} seeds; {} on the frontier; wrote {}",
        report.points.len(),
        args.seeds.len(),
        frontier,
        out.display()
    );
    match report.chosen.map(|i| &report.points[i]) {
        Some(c) => {
            println!(
                "meets `{}` at {:.1} NameServer requests/s, {:.1} client queries/s (statistic {}); fresh seeds: {}",
                report.target,
                c.nameserver_requests_per_s,
                c.client_queries_per_s,
                c.statistic.map_or("null".to_string(), |v| format!("{v:.1}")),
                match report.chosen_meets_on_fresh_seeds {
                    Some(true) => "still met",
                    Some(false) => "NOT met: take more seeds",
                    None => "not checked",
                }
            );
            print!("{}", report.timing_block().unwrap_or_default());
        }
        None => println!("no grid point meets `{}`", report.target),
    }
    Ok(())
}
