//! The command line: parse arguments, call the library, print, exit with a code.
//! 0 success; 1 a run that could not complete (or, for `check`, a failed expectation);
//! 2 bad input or usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

use routesim::model::trace::Tracer;
use routesim::output::{self, table};
use routesim::report::{RunReport, Summary};
use routesim::scenario;

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
    /// Measure the engine against a bare priority-queue loop, and scenarios against wall time.
    Bench {
        /// Scenarios to run and time (each once, with its own seed).
        scenarios: Vec<PathBuf>,
        /// Events for the queue comparison.
        #[arg(long, default_value_t = 20_000_000)]
        events: usize,
    },
    /// Check scenario files without running them.
    Validate {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Run a scenario's parameter sweep (its `sweep:` block) over seeds; write runs.csv,
    /// points.csv, sweep.json and charts (docs/SWEEPS.md).
    Sweep(routesim::sweep::SweepArgs),
    /// Merge the partial results of `sweep --shard K/N` into the files of an unsharded sweep.
    Merge(routesim::sweep::MergeArgs),
    /// Run scenarios and check the assertions of their `expect:` blocks (docs/CHECK.md).
    Check(routesim::check::Args),
}

enum Failure {
    /// Bad input or usage: exit 2.
    Input(String),
    /// The run could not complete: exit 1.
    Run(String),
}

impl From<routesim::sweep::CommandError> for Failure {
    fn from(e: routesim::sweep::CommandError) -> Failure {
        match e {
            routesim::sweep::CommandError::Input(m) => Failure::Input(m),
            routesim::sweep::CommandError::Run(m) => Failure::Run(m),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { scenario, seed, out, quiet, no_charts, trace, trace_filter } => {
            run(&scenario, seed, out, quiet, !no_charts, trace.map(|file| (file, trace_filter)))
        }
        Command::Chart { dir } => chart(&dir),
        Command::Explain { dir } => explain(&dir),
        Command::Validate { scenarios } => validate(&scenarios),
        Command::Bench { scenarios, events } => bench(&scenarios, events),
        Command::Sweep(args) => routesim::sweep::sweep_command(&args).map_err(Failure::from),
        Command::Merge(args) => routesim::sweep::merge_command(&args).map_err(Failure::from),
        Command::Check(args) => return routesim::check::main(&args),
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
) -> Result<(), Failure> {
    let mut scenario = load(path)?;
    if let Some(seed) = seed {
        scenario.world.seed = seed;
    }
    let out = out.unwrap_or_else(|| Path::new("output").join(&scenario.world.name));
    if !quiet {
        println!("{}", describe(&scenario));
    }
    let started = Instant::now();
    let report = match trace {
        None => routesim::simulate(scenario.world.clone()),
        Some((file, filter)) => run_traced(&scenario, &file, &filter)?,
    };
    let wall_s = started.elapsed().as_secs_f64();
    output::write_dir_atomically(&out, |dir| {
        output::write_data(dir, &report)?;
        if charts {
            draw_charts(dir)?;
        }
        Ok(())
    })
    .map_err(|e| Failure::Run(format!("could not write the results: {e}")))?;
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

fn run_traced(scenario: &scenario::Scenario, file: &Path, filter: &[String]) -> Result<RunReport, Failure> {
    use std::cell::RefCell;
    use std::rc::Rc;
    let names = scenario.world.layout.node_names();
    let filter = output::trace::parse_filter(filter, &names).map_err(Failure::Input)?;
    let fault_ids = scenario.world.faults.iter().map(|f| f.id.clone()).collect();
    let sink = output::trace::JsonLines::create(file, names, fault_ids)
        .map_err(|e| Failure::Run(format!("could not write the trace: {e}")))?;
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

fn bench(paths: &[PathBuf], events: usize) -> Result<(), Failure> {
    let scenarios = paths.iter().map(|p| load(p)).collect::<Result<Vec<_>, _>>()?;
    println!("model event size: {} bytes", std::mem::size_of::<routesim::model::Event>());
    // Scenarios first, in the order given: peak RSS is the process's high-water mark so far.
    for s in scenarios {
        let started = Instant::now();
        let report = routesim::simulate(s.world.clone());
        let wall_s = started.elapsed().as_secs_f64();
        let events = report.summary.totals.events;
        println!(
            "{}: {} events in {:.2}s wall: {:.2} M events/s; {} producers, {:.0}s simulated ({:.0}x real time); peak RSS so far {}",
            s.world.name,
            events,
            wall_s,
            events as f64 / wall_s / 1e6,
            s.world.layout.clients(),
            report.summary.duration_s,
            report.summary.duration_s / wall_s,
            routesim::bench::peak_rss_bytes().map_or("unknown".into(), |b| format!("{:.0} MiB", b as f64 / 1048576.0)),
        );
    }
    let q = routesim::bench::queue_throughput(events);
    println!(
        "event queue, hold model ({} pending, {events} events): bare BinaryHeap {:.1} M events/s, engine {:.1} M events/s ({:.0}%)",
        routesim::bench::PENDING_EVENTS,
        q.bare_events_per_s / 1e6,
        q.engine_events_per_s / 1e6,
        100.0 * q.engine_events_per_s / q.bare_events_per_s
    );
    Ok(())
}
