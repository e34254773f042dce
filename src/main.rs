//! The command line: parse arguments, call the library, print, exit with a code.
//! 0 success; 1 a run that could not complete (or, for `check`, a failed expectation);
//! 2 bad input or usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{CommandFactory, Parser, Subcommand};

use routesim::model::trace::Tracer;
use routesim::output::{self, table};
use routesim::report::{RunReport, Summary};
use routesim::scenario;

#[path = "main/bench.rs"]
mod bench;
#[path = "main/check.rs"]
mod check;
#[path = "main/compare.rs"]
mod compare;
#[path = "main/explore.rs"]
mod explore;
#[path = "main/progress.rs"]
mod progress;
#[path = "main/sweep.rs"]
mod sweep;
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
    Run {
        /// The scenario file (YAML).
        scenario: PathBuf,
        /// Seed for every random choice (default: the scenario's `seed`, else 1).
        #[arg(long)]
        seed: Option<u64>,
        /// Output directory (default: output/<scenario-name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
        /// Skip the charts and index.html (they are drawn by default).
        #[arg(long)]
        no_charts: bool,
        /// Write a JSON-lines trace of registrations, removals, polls, sends, faults... to FILE.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Keep only trace records about these: `node=NAME` or `kind=KIND`, comma-separated,
        /// repeatable (e.g. `--trace-filter node=broker-a,kind=removed`).
        #[arg(long, value_name = "ITEMS", requires = "trace")]
        trace_filter: Vec<String>,
        /// Run even when the run is estimated too large to finish (README, "Limits").
        #[arg(long)]
        allow_large: bool,
    },
    /// Redraw the charts and index.html of a finished run from its data files.
    Chart {
        /// A run's output directory.
        dir: PathBuf,
    },
    /// Print, for each fault of a finished run, the chain of events behind its stale window.
    Explain {
        /// A run's output directory (holding summary.json).
        dir: PathBuf,
    },
    /// Measure scenarios (wall and CPU time, peak memory) against a bare priority-queue loop,
    /// or, with --scaling, the cost per send against the number of producers.
    Bench(bench::Args),
    /// Check scenario files without running them.
    Validate {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
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
    let cli = Cli::parse();
    // Ctrl-C or SIGTERM: remove what is half-written, say so, exit 130.
    if let Err(e) = output::remove_temporaries_on_interrupt() {
        eprintln!("warning: {e}");
    }
    let result = match cli.command {
        Command::Run { scenario, seed, out, quiet, no_charts, trace, trace_filter, allow_large } => {
            run(&scenario, seed, out, quiet, !no_charts, trace.map(|file| (file, trace_filter)), allow_large)
        }
        Command::Chart { dir } => chart(&dir),
        Command::Explain { dir } => explain(&dir),
        Command::Validate { scenarios } => validate(&scenarios),
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

fn run(
    path: &Path,
    seed: Option<u64>,
    out: Option<PathBuf>,
    quiet: bool,
    charts: bool,
    trace: Option<(PathBuf, Vec<String>)>,
    allow_large: bool,
) -> Result<(), Failure> {
    let mut scenario = load(path)?;
    if let Some(why) = scenario::budget::refusal(&scenario.world).filter(|_| !allow_large) {
        return Err(Failure::Input(format!("{}: {why}", path.display())));
    }
    if let Some(seed) = seed {
        scenario.world.seed = seed;
    }
    let out = out.unwrap_or_else(|| Path::new("output").join(&scenario.world.name));
    // Before the run, which can take minutes, not after.
    output::check_replaceable(&out, output::Kind::Run).map_err(write_failure)?;
    if !quiet {
        println!("{}", describe(&scenario));
    }
    let started = Instant::now();
    let report = match trace {
        None => routesim::simulate(scenario.world.clone()),
        Some((file, filter)) => run_traced(&scenario, &file, &filter)?,
    };
    let wall_s = started.elapsed().as_secs_f64();
    output::write_dir_atomically(&out, output::Kind::Run, |dir| {
        output::write_data(dir, &report)?;
        if charts {
            draw_charts(dir)?;
        }
        Ok(())
    })
    .map_err(write_failure)?;
    if !quiet {
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

/// A failed write: refusing to replace what is not routesim's is bad input (exit 2); anything
/// else is a run that could not complete (exit 1).
pub fn write_failure(e: output::OutputError) -> Failure {
    match e {
        output::OutputError::Refused { .. } => Failure::Input(format!("{e}")),
        e => Failure::Run(format!("could not write the results: {e}")),
    }
}

fn run_traced(scenario: &scenario::Scenario, file: &Path, filter: &[String]) -> Result<RunReport, Failure> {
    use std::cell::RefCell;
    use std::rc::Rc;
    let names = scenario.world.layout.node_names();
    let filter = output::trace::parse_filter(filter, &names).map_err(Failure::Input)?;
    let fault_ids = scenario.world.faults.iter().map(|f| f.id.clone()).collect();
    let sink = output::trace::JsonLines::create(file, names, fault_ids).map_err(write_failure)?;
    let shared = Rc::new(RefCell::new(sink));
    let tracer = Tracer { filter, sink: Box::new(output::trace::Shared(Rc::clone(&shared))) };
    let report = routesim::simulate_traced(scenario.world.clone(), tracer);
    let sink = Rc::try_unwrap(shared).map_err(|_| Failure::Run("the trace is still in use".into()))?.into_inner();
    sink.finish().map_err(|e| Failure::Run(format!("could not write the trace: {e}")))?;
    Ok(report)
}

fn draw_charts(dir: &Path) -> Result<(), output::OutputError> {
    let chart_error =
        |e: output::charts::ChartError| output::OutputError::Other { path: dir.into(), message: e.to_string() };
    output::charts::draw_all(dir, &output::charts::ChartOptions::default()).map_err(chart_error)?;
    output::charts::write_index_html(dir).map_err(chart_error)?;
    Ok(())
}

fn chart(dir: &Path) -> Result<(), Failure> {
    if !dir.join("summary.json").is_file() {
        return Err(Failure::Input(format!("{}: no summary.json: not a run directory", dir.display())));
    }
    // The charts module reads and checks every data file before it writes anything, so bad
    // data leaves the old charts in place; the data files are only read.
    draw_charts(dir).map_err(|e| Failure::Input(format!("could not redraw the charts: {e}")))?;
    println!("redrew the charts in {}", dir.display());
    Ok(())
}

fn explain(dir: &Path) -> Result<(), Failure> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?;
    let summary: Summary = serde_json::from_str(&text)
        .map_err(|e| Failure::Input(format!("{}: not a routesim summary: {e}", path.display())))?;
    println!("{} seed {}", summary.scenario, summary.seed);
    for fault in &summary.faults {
        let Some(explanation) = &fault.explain else { continue };
        println!("{} ({} {} at {:.1} s):", fault.id, fault.kind, fault.target, fault.at_s);
        for line in &explanation.text {
            println!("  {line}");
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

fn validate(paths: &[PathBuf]) -> Result<(), Failure> {
    let mut errors = Vec::new();
    for path in paths {
        match load(path) {
            Ok(s) => println!(
                "ok: {} ({}, {} faults, {} expectations)",
                path.display(),
                s.world.name,
                s.world.faults.len(),
                s.expect.len()
            ),
            Err(Failure::Input(e) | Failure::Run(e)) => errors.push(e),
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(Failure::Input(errors.join("\nerror: "))) }
}
