//! `routesim compare`: arguments, the table on stdout, the files.

use std::path::{Path, PathBuf};

use routesim::compare;
use routesim::output;
use serde::Serialize;

use crate::print::OutputArgs;
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
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `compare --json`: the inputs and, per metric, each input's value with its delta and ratio
/// against the first (README, "JSON output").
#[derive(Serialize)]
struct CompareJson<'a> {
    inputs: Vec<String>,
    metrics: Vec<MetricJson<'a>>,
    out: String,
}

#[derive(Serialize)]
struct MetricJson<'a> {
    metric: &'a str,
    /// False when some input lacks the metric: listed, not compared.
    in_all: bool,
    values: Vec<Option<f64>>,
    deltas: Vec<Option<f64>>,
    ratios: Vec<Option<f64>>,
}

pub fn compare(args: &CompareArgs) -> Result<(), Failure> {
    let comparison = compare::load(&args.inputs).map_err(|e| Failure::Input(e.to_string()))?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("output").join(format!("compare-{}", comparison.name())));
    let warnings = output::compare::write(&out, &comparison).map_err(write_failure)?;
    for warning in warnings {
        args.output.warn(&warning);
    }
    let n = comparison.inputs.len();
    args.output.json(&CompareJson {
        inputs: comparison.inputs.iter().map(|i| i.label.clone()).collect(),
        metrics: comparison
            .rows
            .iter()
            .map(|row| MetricJson {
                metric: &row.metric,
                in_all: row.in_all,
                values: row.values.clone(),
                deltas: (0..n).map(|i| row.delta(i)).collect(),
                ratios: (0..n).map(|i| row.ratio(i)).collect(),
            })
            .collect(),
        out: out.display().to_string(),
    });
    if args.output.text() {
        print!("{}", output::compare::render_table(&comparison));
        println!("wrote {}", out.display());
    }
    Ok(())
}
