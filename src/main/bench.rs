//! `routesim bench`: arguments and printing; the measuring is the library's (`routesim::bench`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;

use routesim::bench::{PENDING_EVENTS, QueueFigures, ScenarioFigures, queue_throughput, scaling, scaling_chart};

#[derive(clap::Args)]
pub struct Args {
    /// Scenarios to run and time (each once, with its own seed).
    pub scenarios: Vec<PathBuf>,
    /// Events for each queue loop (the fixed comparison and each scenario's ceiling).
    #[arg(long, default_value_t = 20_000_000)]
    pub events: usize,
    #[command(flatten)]
    pub output: crate::print::OutputArgs,
    /// Run each scenario once per count in `--producers` instead (its `producers.count`, and
    /// `--duration`), and print the cost per send against the fleet size.
    #[arg(long)]
    pub scaling: bool,
    /// Producer counts for `--scaling`, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "200,2000,20000,100000", requires = "scaling")]
    pub producers: Vec<u32>,
    /// Virtual time of each `--scaling` run (default: the scenario's `duration`).
    #[arg(long, value_name = "DURATION", requires = "scaling")]
    pub duration: Option<String>,
    /// Also draw the `--scaling` curve as an SVG chart to this file.
    #[arg(long, value_name = "FILE", requires = "scaling")]
    pub chart: Option<PathBuf>,
}

/// Runs `routesim bench`: 0 done, 2 bad input, 1 a chart that could not be written.
pub fn main(args: &Args) -> ExitCode {
    let result = if args.scaling { scaling_command(args) } else { scenarios_command(args) };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

fn load(path: &Path) -> Result<routesim::scenario::Scenario, (u8, String)> {
    routesim::check::load(path)
        .map(|checked| checked.scenario)
        .map_err(|errors| (2, errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\nerror: ")))
}

#[derive(Serialize)]
struct Report {
    scenarios: Vec<ScenarioFigures>,
    queue: QueueFigures,
}

fn scenarios_command(args: &Args) -> Result<(), (u8, String)> {
    let loaded = args.scenarios.iter().map(|p| load(p)).collect::<Result<Vec<_>, _>>()?;
    if args.output.text() {
        println!("model event size: {} bytes", std::mem::size_of::<routesim::model::Event>());
    }
    let mut figures = Vec::new();
    for s in loaded {
        let f = ScenarioFigures::measure(s.world, args.events);
        if args.output.text() {
            print!("{}", f.render());
        }
        figures.push(f);
    }
    let queue = queue_throughput(PENDING_EVENTS, args.events);
    args.output.json(&Report { scenarios: figures, queue });
    if args.output.text() {
        println!(
            "event queue, hold model ({PENDING_EVENTS} pending, {} events): bare BinaryHeap {:.1} M events/s, engine {:.1} M events/s ({:.0}%)",
            args.events,
            queue.bare_events_per_s / 1e6,
            queue.engine_events_per_s / 1e6,
            100.0 * queue.engine_events_per_s / queue.bare_events_per_s
        );
    }
    Ok(())
}

fn scaling_command(args: &Args) -> Result<(), (u8, String)> {
    let mut points = Vec::new();
    for path in &args.scenarios {
        let text = std::fs::read_to_string(path).map_err(|e| (2, format!("{}: {e}", path.display())))?;
        for &count in &args.producers {
            let point = scaling(path, &text, count, args.duration.as_deref()).map_err(|e| (2, e.to_string()))?;
            if args.output.text() {
                println!("{}", point.render());
            }
            points.push(point);
        }
    }
    args.output.json(&points);
    if let Some(file) = &args.chart {
        let svg = scaling_chart(&points).map_err(|e| (1, format!("could not draw the chart: {e}")))?;
        std::fs::write(file, svg).map_err(|e| (1, format!("{}: {e}", file.display())))?;
        if args.output.text() {
            println!("wrote {}", file.display());
        }
    }
    Ok(())
}
