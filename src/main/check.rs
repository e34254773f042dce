//! `routesim check`: arguments, the report on stdout, errors on stderr, the exit code.

use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;

use routesim::check::{self, CheckError, Report, plural};
use routesim::runner::THREADS_MAX;
use routesim::scenario::units::SeedRange;

use crate::progress;

/// `routesim check`'s arguments.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Scenario files, or directories: every `*.yaml` in them that has an `expect:` block.
    #[arg(required = true, value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
    /// Seeds to run every scenario with: `100` (1..=100), `1..=100` or `0..50`. Default: the
    /// scenario's `sweep.seeds`, else its `seed`.
    #[arg(long, value_name = "RANGE")]
    pub seeds: Option<SeedRange>,
    /// Also write the verdicts as a JUnit XML report to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Worker threads for the simulations (default: one per CPU).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=i64::from(THREADS_MAX)))]
    pub threads: Option<u16>,
}

/// Runs `routesim check` and returns the exit code: 0 every assertion passed, 1 one failed (or
/// the report could not be written), 2 bad input.
pub fn main(args: &Args) -> ExitCode {
    match run(args, &mut io::stdout().lock()) {
        Ok(report) if report.passed() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(match e {
                CheckError::Input(_) => 2,
                CheckError::Run(_) => 1,
            })
        }
    }
}

/// Loads, runs, judges; writes the human report to `out` and the JUnit report where
/// `args.junit` says.
fn run(args: &Args, out: &mut impl Write) -> Result<Report, CheckError> {
    let (plans, notes) = check::plan(&args.paths, args.seeds)?;
    let write_error = |e: io::Error| CheckError::Run(format!("cannot write the report: {e}"));
    for note in notes {
        writeln!(out, "note: {note}").map_err(write_error)?;
    }
    let runs: u64 = plans.iter().map(|p| p.seeds.len()).sum();
    let scenarios = plans.len() as u64;
    // Said before the runs, which can take minutes.
    writeln!(out, "checking {scenarios} {} with {runs} {}", plural(scenarios, "scenario"), plural(runs, "run"))
        .and_then(|()| out.flush())
        .map_err(write_error)?;
    let bar = progress::bar(runs, "runs");
    let tick = || bar.inc(1);
    let threads = args.threads.and_then(|n| NonZeroUsize::new(usize::from(n)));
    let report = check::judge(plans, threads, Some(&tick));
    bar.finish_and_clear();
    let report = report?;
    out.write_all(check::render(&report).as_bytes()).map_err(write_error)?;
    if let Some(path) = &args.junit {
        check::write_junit_atomically(path, &report)?;
    }
    Ok(report)
}
