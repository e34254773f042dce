//! `routesim tune`: arguments, progress, the answer on stdout, the files.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use routesim::runner::THREADS_MAX;
use routesim::scenario::units::SeedRange;
use routesim::tune::{self, Axis, Minimise};

use crate::print::OutputArgs;
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
    /// Threads to run on (default: all cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=i64::from(THREADS_MAX)))]
    pub threads: Option<u16>,
    /// Output directory (default: output/<scenario-name>-tune/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
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

pub fn tune(args: &TuneArgs) -> Result<(), Failure> {
    let axes = axes(args)?;
    let tune = tune::load(&args.scenario, &args.target, axes, args.seeds, args.minimise).map_err(|e| match e {
        tune::TuneError::Runner(r) => Failure::Run(r.to_string()),
        other => Failure::Input(other.to_string()),
    })?;
    let threads = args.threads.and_then(|n| NonZeroUsize::new(usize::from(n)));
    let runs = (tune.points() as u64 + 1) * args.seeds.len();
    let bar = progress::bar(runs, "runs", args.output.progress());
    let tick = || bar.inc(1);
    let report = tune.run(threads, Some(&tick)).map_err(|e| Failure::Run(e.to_string()))?;
    bar.finish_and_clear();
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("output").join(format!("{}-tune", report.scenario)));
    routesim::output::write_dir_atomically(&out, routesim::output::Kind::Tune, |dir| {
        routesim::output::tune_chart::write_tune(dir, &report)
    })
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
