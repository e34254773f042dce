//! `routesim sweep` and `routesim merge`: arguments, the progress bar, the summary line.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Instant;

use routesim::runner::THREADS_MAX;
use routesim::scenario::units::SeedRange;
use routesim::sweep::{self, Shard};

use crate::{Failure, progress};

/// `routesim sweep`'s arguments.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The scenario file (YAML), with a `sweep:` block.
    pub scenario: PathBuf,
    /// Threads to run on (default: all cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=i64::from(THREADS_MAX)))]
    pub threads: Option<u16>,
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
}

/// `routesim sweep`: validate, run, write; one summary line on stdout.
pub fn sweep(args: &SweepArgs) -> Result<(), Failure> {
    let sweep = sweep::load(&args.scenario, args.seeds).map_err(|e| Failure::Input(e.to_string()))?;
    let id = &sweep.identity;
    let threads = args
        .threads
        .and_then(|n| NonZeroUsize::new(usize::from(n)))
        .or_else(|| std::thread::available_parallelism().ok())
        .unwrap_or(NonZeroUsize::MIN);
    let out = args.out.clone().unwrap_or_else(|| sweep::default_out(&id.scenario, args.shard));
    let mine = (0..sweep.runs()).filter(|&i| args.shard.is_none_or(|s| s.owns(i))).count() as u64;
    let bar = progress::bar(mine, "runs");
    let tick = || bar.inc(1);
    let started = Instant::now();
    let rows = sweep.run_all(Some(threads), args.shard, Some(&tick));
    bar.finish_and_clear();
    let rows = rows.map_err(|e| Failure::Run(e.to_string()))?;
    let wall_s = started.elapsed().as_secs_f64();
    let warnings = sweep::write(&out, id, args.shard, &rows)
        .map_err(|e| Failure::Run(format!("could not write the results: {e}")))?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let part = args.shard.map(|s| format!(", shard {s}")).unwrap_or_default();
    let threads = threads.get();
    println!(
        "wrote {}: {} points x {} seeds = {} runs{part}; ran {mine} on {threads} thread{} in {wall_s:.1}s ({:.1} runs/s)",
        out.display(),
        id.points(),
        id.seeds.count(),
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
    let warnings = sweep::write(&out, &identity, None, &rows)
        .map_err(|e| Failure::Run(format!("could not write the results: {e}")))?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    println!("wrote {}: {} shards merged, {} runs", out.display(), args.shards.len(), rows.len());
    Ok(())
}
