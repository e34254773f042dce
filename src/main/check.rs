//! `routesim check`: arguments, the report on stdout, errors on stderr, the exit code.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use routesim::check::{self, CheckError, Report, plural};
use routesim::scenario::units::SeedRange;

use serde::Serialize;

use crate::print::{OutputArgs, Seeds};
use crate::progress;
use crate::threads::ThreadsArg;

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
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// Run scenarios even when they are estimated too large to finish (README, "Limits").
    #[arg(long)]
    pub allow_large: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `routesim check` and returns the exit code: 0 every assertion passed, 1 one failed (or
/// the report could not be written), 2 bad input.
pub fn main(args: &Args) -> ExitCode {
    let result = run(args, &mut io::stdout().lock());
    if let Ok((report, notes)) = &result {
        args.output.json(&Verdicts::of(report, notes));
    }
    match result.map(|(report, _)| report) {
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

/// Loads, runs, judges; writes the human report to `out` (unless `--json` or `--quiet`) and
/// the JUnit report where `args.junit` says. Returns the report and the notes of the plan.
fn run(args: &Args, out: &mut impl Write) -> Result<(Report, Vec<String>), CheckError> {
    let (plans, notes) = check::plan(&args.paths, args.seeds, args.allow_large)?;
    let text = args.output.text();
    let write_error = |e: io::Error| CheckError::Run(format!("cannot write the report: {e}"));
    let runs: u64 = plans.iter().map(|p| p.seeds.len()).sum();
    let scenarios = plans.len() as u64;
    if text {
        for note in &notes {
            writeln!(out, "note: {note}").map_err(write_error)?;
        }
        // Said before the runs, which can take minutes.
        writeln!(out, "checking {scenarios} {} with {runs} {}", plural(scenarios, "scenario"), plural(runs, "run"))
            .and_then(|()| out.flush())
            .map_err(write_error)?;
    }
    let bar = progress::bar(runs, "runs", args.output.progress());
    let tick = || bar.inc(1);
    let threads = args.threads.get();
    let report = check::judge(plans, threads, Some(&tick));
    bar.finish_and_clear();
    let report = report?;
    if text {
        out.write_all(check::render(&report).as_bytes()).map_err(write_error)?;
    }
    if let Some(path) = &args.junit {
        check::write_junit_atomically(path, &report)?;
    }
    Ok((report, notes))
}

/// `check --json`: every verdict, per scenario and expectation.
#[derive(Serialize)]
struct Verdicts<'a> {
    passed: bool,
    notes: &'a [String],
    scenarios: Vec<ScenarioJson<'a>>,
}

#[derive(Serialize)]
struct ScenarioJson<'a> {
    file: &'a Path,
    scenario: &'a str,
    seeds: Seeds,
    passed: bool,
    expectations: Vec<VerdictJson<'a>>,
}

#[derive(Serialize)]
struct VerdictJson<'a> {
    expectation: &'a str,
    passed: bool,
    /// What was seen: a value, the failing seeds with their values, or why it could not be
    /// evaluated.
    observed: &'a str,
    failing_seeds: &'a [u64],
    /// For a failure: a command that shows the failing value again.
    replay: Option<&'a str>,
    minimised: Option<MinimisedJson<'a>>,
}

#[derive(Serialize)]
struct MinimisedJson<'a> {
    seed: u64,
    kept: &'a [String],
    dropped: &'a [String],
    reruns: usize,
    exhausted: bool,
}

impl<'a> Verdicts<'a> {
    fn of(report: &'a Report, notes: &'a [String]) -> Verdicts<'a> {
        let scenarios = report
            .scenarios
            .iter()
            .map(|s| ScenarioJson {
                file: &s.path,
                scenario: &s.name,
                seeds: s.seeds.into(),
                passed: s.verdicts.iter().all(|v| v.outcome.passed),
                expectations: s
                    .verdicts
                    .iter()
                    .map(|v| VerdictJson {
                        expectation: &v.assertion.text,
                        passed: v.outcome.passed,
                        observed: &v.outcome.observed,
                        failing_seeds: &v.outcome.failing_seeds,
                        replay: v.failure.as_ref().map(|f| f.replay.as_str()),
                        minimised: v.failure.as_ref().and_then(|f| f.minimised.as_ref()).map(|m| MinimisedJson {
                            seed: m.seed,
                            kept: &m.kept,
                            dropped: &m.dropped,
                            reruns: m.reruns,
                            exhausted: m.exhausted,
                        }),
                    })
                    .collect(),
            })
            .collect();
        Verdicts { passed: report.passed(), notes, scenarios }
    }
}
