//! The command line: parse arguments, call the library, print, exit with a code.
//! 0 success; 1 a run that could not complete (or, for `check`, a failed expectation);
//! 2 bad input or usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{CommandFactory, Parser, Subcommand};
use serde::Serialize;

use routesim::model::trace::Tracer;
use routesim::output::{self, table};
use routesim::report::RunReport;
use routesim::scenario;

use print::OutputArgs;
use routesim::runner;
use routesim::sweep::Shard;
use threads::ThreadsArg;

#[path = "main/bench.rs"]
mod bench;
#[path = "main/check.rs"]
mod check;
#[path = "main/compare.rs"]
mod compare;
#[path = "main/explore.rs"]
mod explore;
#[path = "main/print.rs"]
mod print;
#[path = "main/progress.rs"]
mod progress;
#[path = "main/sweep.rs"]
mod sweep;
#[path = "main/threads.rs"]
mod threads;
#[path = "main/tune.rs"]
mod tune;

#[derive(Parser)]
#[command(
    name = "routesim",
    version,
    about = "Deterministic simulator of RocketMQ's routing center: how long stale routes cause failed sends"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write summary.json, CSV files and charts.
    Run(RunArgs),
    /// Redraw the charts and index.html of a finished run, or a sweep's charts, from the data
    /// files.
    Chart {
        /// A run's or a sweep's output directory.
        dir: PathBuf,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Print, for each fault of a finished run, the chain of events behind its stale window;
    /// then its false removals and the clients that never converged.
    Explain {
        /// A run's output directory (holding summary.json).
        dir: PathBuf,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Measure scenarios (wall and CPU time, peak memory) against a bare priority-queue loop,
    /// or, with --scaling, the cost per send against the number of producers.
    Bench(bench::Args),
    /// Check scenario files without running them.
    Validate {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Run a scenario's parameter sweep (its `sweep:` block) over seeds; write runs.csv,
    /// points.csv, sweep.json and charts (docs/SWEEPS.md).
    Sweep(sweep::SweepArgs),
    /// Merge the partial results of `sweep --shard K/N` into the files of an unsharded sweep.
    Merge(sweep::MergeArgs),
    /// Run scenarios and check the assertions of their `expect:` blocks (docs/CHECK.md).
    Check(check::Args),
    /// Search timing settings for the least load that meets a stale-route target; draw the
    /// Pareto frontier (README, "Tune").
    Tune(tune::TuneArgs),
    /// Print a shell completion script (e.g. `routesim completions bash > ~/.local/share/bash-completion/completions/routesim`).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, or write one page per command into a directory.
    Man {
        /// Write routesim.1 and routesim-<command>.1 into DIR (e.g. ~/.local/share/man/man1).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Run random fault schedules from the scenario's `explore:` block; rank, judge and shrink
    /// them (docs/EXPLORE.md).
    Explore(explore::ExploreArgs),
    /// Compare runs and sweep points: a table of differences, overlaid charts, a page (README, "Compare").
    Compare(compare::CompareArgs),
}

pub enum Failure {
    /// Bad input or usage: exit 2.
    Input(String),
    /// The run could not complete: exit 1.
    Run(String),
}

fn main() -> ExitCode {
    // A reader that closes stdout early (`routesim run X --json | head`) ends the process
    // quietly, as it ends any Unix filter, rather than a panic in `println!`. Outputs are
    // written before anything is printed about them, so nothing is lost.
    // SAFETY: resetting a signal to its default action before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    // Ctrl-C or SIGTERM: remove what is half-written, say so, exit 130.
    if let Err(e) = output::remove_temporaries_on_interrupt() {
        eprintln!("warning: {e}");
    }
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Chart { dir, output } => chart(&dir, output),
        Command::Explain { dir, output } => explain(&dir, output),
        Command::Validate { scenarios, output } => validate(&scenarios, output),
        Command::Bench(args) => return bench::main(&args),
        Command::Sweep(args) => sweep::sweep(&args),
        Command::Merge(args) => sweep::merge(&args),
        Command::Check(args) => return check::main(&args),
        Command::Tune(args) => tune::tune(&args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "routesim", &mut std::io::stdout());
            Ok(())
        }
        Command::Man { dir } => man(dir.as_deref()),
        Command::Explore(args) => explore::explore(&args),
        Command::Compare(args) => compare::compare(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Run(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

/// Loads a scenario and validates its `expect:` block too, so a bad assertion is caught by
/// `validate` and `run`, not only by `check`.
fn load(path: &Path) -> Result<scenario::Scenario, Failure> {
    routesim::check::load(path)
        .map(|checked| checked.scenario)
        .map_err(|errors| Failure::Input(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\nerror: ")))
}

/// `routesim run`'s arguments.
#[derive(clap::Args)]
struct RunArgs {
    /// The scenario file (YAML).
    scenario: PathBuf,
    /// Seed for every random choice (default: the scenario's `seed`, else 1).
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory (default: output/<scenario-name>/).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
    /// Skip the charts and index.html (they are drawn by default).
    #[arg(long)]
    no_charts: bool,
    /// Write a JSON-lines trace of registrations, removals, polls, sends, faults... to FILE
    /// (a traced run is one world, on one thread: the trace is in its event order).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Keep only trace records about these: `node=NAME` or `kind=KIND`, comma-separated,
    /// repeatable; a bare value continues the key before it (e.g. `--trace-filter
    /// node=broker-a,kind=removed,route-changed`).
    #[arg(long, value_name = "ITEMS", requires = "trace")]
    trace_filter: Vec<String>,
    /// Run even when the run is estimated too large to finish (README, "Limits").
    #[arg(long)]
    allow_large: bool,
    // The run's clients split over the threads (`model::split`); a run whose brokers keep
    // messages (consumers, failover, sync replication) runs on one.
    #[command(flatten)]
    threads: ThreadsArg,
    /// Simulate only the K-th of N equal parts of the clients (0-based K), beside the whole
    /// control plane, and write a partial result (output/<scenario-name>-shard-K-of-N/) for
    /// `--merge`; for runs that may split (README, "One run on all cores").
    #[arg(long, value_name = "K/N", conflicts_with_all = ["merge", "trace"])]
    shard: Option<Shard>,
    /// Merge the directories of every `--shard K/N` run of this scenario and seed into what
    /// the unsharded run writes, byte for byte.
    #[arg(long, value_name = "DIR", num_args = 1.., conflicts_with = "trace")]
    merge: Vec<PathBuf>,
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let RunArgs {
        scenario: path,
        seed,
        out,
        output,
        no_charts,
        trace,
        trace_filter,
        allow_large,
        threads,
        shard,
        merge,
    } = args;
    let (path, charts, trace) = (path.as_path(), !no_charts, trace.map(|file| (file, trace_filter)));
    let mut scenario = load(path)?;
    if let Some(why) = scenario::budget::refusal(&scenario.world).filter(|_| !allow_large) {
        return Err(Failure::Input(format!("{}: {why}", path.display())));
    }
    if let Some(seed) = seed {
        scenario.world.seed = seed;
    }
    let threads = threads.get().unwrap_or_else(runner::default_threads);
    if let Some(shard) = shard {
        return run_shard(path, &scenario, shard, threads, out, &output);
    }
    let out = out.unwrap_or_else(|| Path::new("output").join(&scenario.world.name));
    // Before the run, which can take minutes, not after.
    output::check_replaceable(&out, output::Kind::Run).map_err(write_failure)?;
    if output.text() {
        println!("{}", describe(&scenario));
    }
    let started = Instant::now();
    let (bar, advance) = progress::run_bar(scenario.world.duration_us, output.progress());
    let report = match trace {
        None if !merge.is_empty() => {
            let run = routesim::run_shard::RunIdentity::new(path, &read_text(path)?, scenario.world.seed);
            routesim::run_shard::merge(scenario.world.clone(), &run, &merge).map_err(Failure::Input)?
        }
        None => {
            if let Some(why) = routesim::model::split::refusal(&scenario.world).filter(|_| threads.get() > 1)
                && output.text()
            {
                eprintln!("note: {} runs on one thread: {why}", path.display());
            }
            routesim::simulate_split(scenario.world.clone(), threads, threads, &advance)
        }
        Some((file, filter)) => run_traced(&scenario, &file, &filter, &advance)?,
    };
    bar.finish_and_clear();
    let wall_s = started.elapsed().as_secs_f64();
    output::write_dir_atomically(&out, output::Kind::Run, |dir| {
        output::write_data(dir, &report)?;
        if charts {
            draw_charts(dir)?;
        }
        Ok(())
    })
    .map_err(write_failure)?;
    output.json(&report.summary);
    if output.text() {
        print!("{}", table::render(&report.summary));
        let events = report.summary.totals.events;
        println!(
            "wrote {} ({:.2}s wall, {:.1} M events/s)",
            out.display(),
            wall_s,
            events as f64 / wall_s.max(1e-9) / 1e6
        );
    }
    Ok(())
}

/// `run --shard K/N`: the shard's clients beside the control plane, written as `partial.json`
/// for `run --merge`.
fn run_shard(
    path: &Path,
    scenario: &scenario::Scenario,
    shard: Shard,
    threads: std::num::NonZeroUsize,
    out: Option<PathBuf>,
    output: &OutputArgs,
) -> Result<(), Failure> {
    let world = &scenario.world;
    let name = format!("{}-shard-{}-of-{}", world.name, shard.index, shard.count);
    let out = out.unwrap_or_else(|| Path::new("output").join(name));
    output::check_replaceable(&out, output::Kind::Run).map_err(write_failure)?;
    let run = routesim::run_shard::RunIdentity::new(path, &read_text(path)?, world.seed);
    let (bar, advance) = progress::run_bar(world.duration_us, output.progress());
    let (clients, parts) = routesim::run_shard::run(world, shard, threads, &advance)
        .map_err(|why| Failure::Input(format!("{}: {why}", path.display())))?;
    bar.finish_and_clear();
    output::write_dir_atomically(&out, output::Kind::Run, |dir| {
        routesim::run_shard::write_partial(dir, &run, shard, parts)
    })
    .map_err(write_failure)?;
    #[derive(Serialize)]
    struct Written<'a> {
        out: &'a Path,
        shard: String,
        clients: [u32; 2],
    }
    output.json(&Written { out: &out, shard: shard.to_string(), clients: [clients.start, clients.end] });
    if output.text() {
        println!(
            "shard {shard} of the run of {} (seed {}): clients {}..{} of {}; wrote {}; merge all {} with `routesim run {} \
             --seed {} --merge DIR...`",
            path.display(),
            world.seed,
            clients.start,
            clients.end,
            world.layout.clients(),
            out.display(),
            shard.count,
            path.display(),
            world.seed
        );
    }
    Ok(())
}

/// A scenario file's text, for the identity of a sharded run.
fn read_text(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))
}

/// A failed write: refusing to replace what is not routesim's is bad input (exit 2); anything
/// else is a run that could not complete (exit 1).
pub fn write_failure(e: output::OutputError) -> Failure {
    match e {
        output::OutputError::Refused { .. } => Failure::Input(format!("{e}")),
        e => Failure::Run(format!("could not write the results: {e}")),
    }
}

fn run_traced(
    scenario: &scenario::Scenario,
    file: &Path,
    filter: &[String],
    progress: &dyn Fn(u64, u64),
) -> Result<RunReport, Failure> {
    use std::cell::RefCell;
    use std::rc::Rc;
    let names = scenario.world.layout.node_names();
    let filter = output::trace::parse_filter(filter, &names).map_err(Failure::Input)?;
    let fault_ids = scenario.world.faults.iter().map(|f| f.id.clone()).collect();
    let sink = output::trace::JsonLines::create(file, names, fault_ids).map_err(write_failure)?;
    let shared = Rc::new(RefCell::new(sink));
    let tracer = Tracer { filter, sink: Box::new(output::trace::Shared(Rc::clone(&shared))) };
    let report = routesim::simulate_watched(scenario.world.clone(), Some(tracer), progress);
    let sink = Rc::try_unwrap(shared).map_err(|_| Failure::Run("the trace is still in use".into()))?.into_inner();
    sink.finish().map_err(|e| Failure::Run(format!("could not write the trace: {e}")))?;
    Ok(report)
}

fn draw_charts(dir: &Path) -> Result<Vec<PathBuf>, output::OutputError> {
    let chart_error =
        |e: output::charts::ChartError| output::OutputError::Other { path: dir.into(), message: e.to_string() };
    let mut drawn = output::charts::draw_all(dir, &output::charts::ChartOptions::default()).map_err(chart_error)?;
    drawn.push(output::charts::write_index_html(dir).map_err(chart_error)?);
    Ok(drawn)
}

/// The kind of routesim output `dir` holds, by its marker file.
fn marked(dir: &Path) -> Option<output::Kind> {
    use output::Kind;
    [Kind::Run, Kind::Sweep, Kind::Tune, Kind::Explore, Kind::Compare]
        .into_iter()
        .find(|k| dir.join(k.marker()).is_file())
}

/// A directory `explain` and `chart` cannot read, with what to run instead; `None` for a run's.
fn not_a_run(dir: &Path, command: &str) -> Option<String> {
    let d = dir.display();
    let instead = match marked(dir) {
        Some(output::Kind::Sweep) if !dir.join("points.csv").is_file() => {
            "is one shard of a sweep: merge the shards first (`routesim merge SHARD_DIR... --out DIR`)"
        }
        Some(output::Kind::Sweep) => {
            "is a sweep, which keeps no run's events: replay one of its runs (runs.csv gives each run's point and \
             seed) with `routesim run SCENARIO --seed N --out RUN_DIR`, then `routesim explain RUN_DIR`"
        }
        Some(output::Kind::Tune) => "is a tune, whose chart `routesim tune` draws: run it again to redraw",
        Some(output::Kind::Explore) => {
            "is an exploration: its index.html and explore.json say what it found; replay a shrunk schedule with \
             `routesim run DIR/shrunk/FILE.yaml`"
        }
        Some(output::Kind::Compare) => {
            "is a comparison: its index.html and compare.csv hold it; explain each run it compared instead"
        }
        Some(output::Kind::Run) | None if dir.join("summary.json").is_file() => return None,
        Some(output::Kind::Run) | None => "has no summary.json: give a directory `routesim run` wrote",
    };
    Some(format!("{command} {d}: {d} {instead}"))
}

/// `chart --json`: what was redrawn.
#[derive(Serialize)]
struct Redrawn {
    dir: PathBuf,
    /// `run` or `sweep`.
    kind: &'static str,
    files: Vec<PathBuf>,
}

fn chart(dir: &Path, output: OutputArgs) -> Result<(), Failure> {
    let redrawn = if marked(dir) == Some(output::Kind::Sweep) && dir.join("points.csv").is_file() {
        let files = output::sweep_charts::draw_sweep_charts(dir)
            .map_err(|e| Failure::Input(format!("could not redraw the sweep charts of {}: {e}", dir.display())))?;
        Redrawn { dir: dir.into(), kind: "sweep", files }
    } else {
        if let Some(refusal) = not_a_run(dir, "chart") {
            return Err(Failure::Input(refusal));
        }
        // The charts module reads and checks every data file before it writes anything, so bad
        // data leaves the old charts in place; the data files are only read.
        let files = draw_charts(dir).map_err(|e| Failure::Input(format!("could not redraw the charts: {e}")))?;
        Redrawn { dir: dir.into(), kind: "run", files }
    };
    output.json(&redrawn);
    if output.text() {
        println!("redrew the {} charts in {}", redrawn.kind, dir.display());
    }
    Ok(())
}

fn explain(dir: &Path, output: OutputArgs) -> Result<(), Failure> {
    if let Some(refusal) = not_a_run(dir, "explain") {
        return Err(Failure::Input(refusal));
    }
    let story = output::explain::read_story(dir).map_err(Failure::Input)?;
    output.json(&story);
    if !output.text() {
        return Ok(());
    }
    println!("{} seed {}", story.scenario, story.seed);
    for fault in &story.faults {
        println!("{} ({} {} at {:.1} s):", fault.id, fault.kind, fault.target, fault.at_s);
        for line in &fault.text {
            println!("  {line}");
        }
    }
    for (title, lines) in [("false removals", &story.false_removals), ("never converged", &story.never_converged)] {
        if !lines.is_empty() {
            println!("{title}:");
            for line in lines {
                println!("  {line}");
            }
        }
    }
    Ok(())
}

fn man(dir: Option<&Path>) -> Result<(), Failure> {
    let command = Cli::command();
    match dir {
        None => clap_mangen::Man::new(command)
            .render(&mut std::io::stdout())
            .map_err(|e| Failure::Run(format!("could not write the man page: {e}"))),
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(command, dir))
                .map_err(|e| Failure::Run(format!("{}: could not write the man pages: {e}", dir.display())))?;
            println!("wrote the man pages to {} (man routesim)", dir.display());
            Ok(())
        }
    }
}

/// The seed and resolved settings, printed before a run so a log reproduces it.
fn describe(s: &scenario::Scenario) -> String {
    let w = &s.world;
    let t = &w.timing;
    let secs = |us: u64| format!("{}s", us as f64 / 1e6);
    format!(
        "routesim {} | {} seed {} | {} NameServers, {} broker groups x {} | {} producers | preset {}: heartbeat {}, register timeout {}, scan {}, expiry {}, idle close {}, route poll {}",
        env!("CARGO_PKG_VERSION"),
        w.name,
        w.seed,
        w.layout.nameservers,
        w.layout.broker_groups.len(),
        w.layout.brokers_per_group(),
        w.layout.clients(),
        t.preset.name(),
        secs(t.broker_register_period_us),
        secs(t.broker_register_timeout_us),
        secs(t.nameserver_scan_us),
        secs(t.broker_expiry_us),
        if t.nameserver_channel_idle_us == 0 { "off".to_string() } else { secs(t.nameserver_channel_idle_us) },
        secs(t.client_route_poll_us),
    )
}

/// `validate --json`: what was checked, file by file.
#[derive(Serialize)]
struct Validated {
    ok: bool,
    files: Vec<ValidatedFile>,
}

#[derive(Serialize)]
struct ValidatedFile {
    file: PathBuf,
    ok: bool,
    /// The scenario's name; `None` when the file did not load.
    scenario: Option<String>,
    faults: usize,
    expectations: usize,
    /// The `sweep:` grid, checked as `routesim sweep` checks it.
    sweep: Option<SweepGrid>,
    /// Runs `routesim explore` draws by default (its `explore:` block, or the defaults).
    explore_runs: Option<u64>,
    /// Why `run`, `check` and `sweep` refuse the file without `--allow-large` (README,
    /// "Limits"); valid all the same.
    too_large: Option<String>,
    errors: Vec<String>,
}

#[derive(Serialize)]
struct SweepGrid {
    points: u64,
    runs: u64,
}

/// Everything a command that reads `path` checks before it runs: the scenario, its `expect:`
/// paths (`check`), its `explore:` block (`explore`) and its `sweep:` grid (`sweep`).
fn validate_one(path: &Path) -> ValidatedFile {
    let failed = |errors| ValidatedFile {
        file: path.into(),
        ok: false,
        scenario: None,
        faults: 0,
        expectations: 0,
        sweep: None,
        explore_runs: None,
        too_large: None,
        errors,
    };
    let checked = match routesim::check::load(path) {
        Ok(checked) => checked,
        Err(errors) => return failed(errors.iter().map(ToString::to_string).collect()),
    };
    let s = &checked.scenario;
    let sweep = match s.sweep.as_ref().map(|_| routesim::sweep::load(path, None)).transpose() {
        Ok(sweep) => sweep,
        Err(e) => return failed(vec![e.to_string()]),
    };
    let too_large = scenario::budget::refusal(&s.world).or_else(|| sweep.as_ref().and_then(|w| w.refusal()));
    ValidatedFile {
        file: path.into(),
        ok: true,
        scenario: Some(s.world.name.clone()),
        faults: s.world.faults.len(),
        expectations: s.expect.len(),
        sweep: sweep.map(|sweep| SweepGrid { points: sweep.identity.points(), runs: sweep.identity.runs() }),
        explore_runs: Some(s.explore.runs),
        too_large,
        errors: Vec::new(),
    }
}

fn validate(paths: &[PathBuf], output: OutputArgs) -> Result<(), Failure> {
    let files: Vec<ValidatedFile> = paths.iter().map(|p| validate_one(p)).collect();
    let ok = files.iter().all(|f| f.ok);
    if output.text() {
        for f in files.iter().filter(|f| f.ok) {
            let sweep =
                f.sweep.as_ref().map_or(String::new(), |g| format!(", sweep of {} points, {} runs", g.points, g.runs));
            println!(
                "ok: {} ({}, {} faults, {} expectations{sweep})",
                f.file.display(),
                f.scenario.as_deref().unwrap_or_default(),
                f.faults,
                f.expectations
            );
            if let Some(why) = &f.too_large {
                println!("note: {}: {why}", f.file.display());
            }
        }
    }
    let errors: Vec<String> = files.iter().flat_map(|f| f.errors.iter().cloned()).collect();
    output.json(&Validated { ok, files });
    if errors.is_empty() { Ok(()) } else { Err(Failure::Input(errors.join("\nerror: "))) }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    #[test]
    fn every_command_that_prints_results_takes_json_and_quiet_but_not_both() {
        let cli = super::Cli::command();
        let commands: Vec<&str> =
            cli.get_subcommands().map(|c| c.get_name()).filter(|n| !["completions", "man"].contains(n)).collect();
        assert!(commands.len() >= 10, "{commands:?}");
        for command in commands {
            let sub = cli.find_subcommand(command).unwrap();
            for flag in ["json", "quiet"] {
                assert!(sub.get_arguments().any(|a| a.get_id() == flag), "`{command}` has no --{flag}");
            }
        }
        assert!(super::Cli::try_parse_from(["routesim", "validate", "x.yaml", "-q"]).is_ok());
        assert!(super::Cli::try_parse_from(["routesim", "validate", "x.yaml", "--json", "--quiet"]).is_err());
    }
}
