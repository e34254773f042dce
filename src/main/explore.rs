//! `routesim explore`: arguments, the progress bar with the worst run so far, the summary.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use routesim::explore::{self, Explorer};

use crate::print::OutputArgs;
use crate::threads::ThreadsArg;
use crate::{Failure, progress};

/// `routesim explore`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ExploreArgs {
    /// The scenario file (YAML); its `explore:` block says which faults to draw.
    pub scenario: PathBuf,
    /// Runs (default: `explore.runs`, else 1000).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=routesim::scenario::explore::RUNS_MAX))]
    pub runs: Option<u64>,
    /// The exploration's seed: run r draws its schedule from (seed, r) (default: `explore.seed`, else 1).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// Output directory (default: output/<scenario-name>-explore/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn explore(args: &ExploreArgs) -> Result<(), Failure> {
    let checked = routesim::check::load(&args.scenario).map_err(|errors| {
        Failure::Input(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\nerror: "))
    })?;
    let source = std::fs::read_to_string(&args.scenario)
        .map_err(|e| Failure::Input(format!("{}: {e}", args.scenario.display())))?;
    let explorer = Explorer::new(&args.scenario, &checked, args.seed);
    let runs = args.runs.unwrap_or(explorer.spec.runs);
    let threads = args.threads.get();
    let out = args.out.clone().unwrap_or_else(|| explore::default_out(&checked.scenario.world.name));
    let bar = progress::bar(runs, "runs", args.output.progress());
    // The worst objective so far, as f64 bits (objectives are never negative, so their bits
    // order as the values do).
    let worst = AtomicU64::new(0);
    let done = |record: &explore::RunRecord| {
        let before = worst.fetch_max(record.objective.to_bits(), Ordering::Relaxed);
        if record.objective.to_bits() > before {
            bar.set_message(format!("worst so far: {} {:.1}", explorer.spec.objective.name(), record.objective));
        }
        bar.inc(1);
    };
    let started = Instant::now();
    let records = explore::run_all(&explorer, runs, threads, &done).map_err(|e| Failure::Run(e.to_string()))?;
    bar.finish_and_clear();
    let wall_s = started.elapsed().as_secs_f64();
    if args.output.text() {
        println!(
            "explored {runs} runs of {} in {wall_s:.1}s ({:.1} runs/s); shrinking...",
            args.scenario.display(),
            runs as f64 / wall_s.max(1e-9)
        );
    }
    let exploration = explore::finish(&explorer, records, threads).map_err(|e| Failure::Run(e.to_string()))?;
    explore::write(&out, &explorer, &exploration, &source).map_err(crate::write_failure)?;
    if args.output.json {
        args.output.json(&written_report(&out)?);
    }
    if !args.output.text() {
        return Ok(());
    }
    for line in explore::headline(&explorer, &exploration) {
        println!("{line}");
    }
    println!("wrote {} ({:.1}s wall in all)", out.display(), started.elapsed().as_secs_f64());
    Ok(())
}

/// `explore --json`: the `explore.json` just written, as one document.
fn written_report(out: &std::path::Path) -> Result<serde_json::Value, Failure> {
    let path = out.join("explore.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Failure::Run(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| Failure::Run(format!("{}: {e}", path.display())))
}
