//! `routesim compare`: arguments, the table on stdout, the files.

use std::path::{Path, PathBuf};

use routesim::compare;
use routesim::output;

use crate::{Failure, write_failure};

/// `routesim compare`'s arguments.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Two or more inputs: a run's output directory, or a sweep point `DIR@N` (N from the
    /// sweep's points.csv) or `DIR@PATH=VALUE[,PATH=VALUE]` (e.g.
    /// `output/sweep-heartbeat@broker_heartbeat=10s,nameserver_channel_idle=60s`). Deltas and
    /// ratios are against the first.
    #[arg(required = true, num_args = 2.., value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Output directory (default: output/compare-<A>-vs-<B>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn compare(args: &CompareArgs) -> Result<(), Failure> {
    let comparison = compare::load(&args.inputs).map_err(|e| Failure::Input(e.to_string()))?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("output").join(format!("compare-{}", comparison.name())));
    let warnings = output::compare::write(&out, &comparison).map_err(write_failure)?;
    print!("{}", output::compare::render_table(&comparison));
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    println!("wrote {}", out.display());
    Ok(())
}
