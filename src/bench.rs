//! `routesim bench`: whole scenarios against wall time, CPU time and peak memory, each beside
//! a bare priority-queue loop holding as many pending events as the scenario did at its peak
//! (the ceiling: what a simulator that did nothing but keep its queue could reach); and, with
//! `--scaling`, the cost of a send against the number of producers. Wall-clock and CPU time are
//! read here only, to measure; they never reach a model or an output file.

mod scaling;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use serde::Serialize;

use crate::engine::{self, Sim};
use crate::model::config::WorldConfig;

pub use scaling::{MAX_RUNS as MAX_SCALING_RUNS, ScalingPoint, chart as scaling_chart, scaling};

/// Events pending at once in the fixed queue comparison: about what a 1,000-producer scenario
/// keeps.
pub const PENDING_EVENTS: usize = 10_000;

/// What one run cost, measured around `simulate`.
#[derive(Serialize)]
pub struct RunFigures {
    pub scenario: String,
    pub producers: u32,
    pub simulated_s: f64,
    pub events: u64,
    pub sends: u64,
    pub pending_max: usize,
    pub wall_s: f64,
    pub cpu_s: f64,
    /// The process's peak resident memory during the run (reset before it where Linux allows).
    pub peak_rss_bytes: Option<u64>,
}

impl RunFigures {
    pub fn measure(world: WorldConfig) -> RunFigures {
        let (scenario, producers) = (world.name.clone(), world.layout.clients());
        reset_peak_rss();
        let (cpu_started, started) = (cpu_seconds(), Instant::now());
        let report = crate::simulate(world);
        let (wall_s, cpu_s) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu_started);
        let peak_rss_bytes = peak_rss_bytes();
        let stats = engine::take_last_stats().expect("the run's Sim was dropped on this thread");
        let totals = report.summary.totals;
        debug_assert_eq!(stats.events, totals.events);
        RunFigures {
            scenario,
            producers,
            simulated_s: report.summary.duration_s,
            events: totals.events,
            sends: totals.sends,
            pending_max: stats.pending_max,
            wall_s,
            cpu_s,
            peak_rss_bytes,
        }
    }

    fn peak_rss_text(&self) -> String {
        self.peak_rss_bytes.map_or("unknown".into(), |b| format!("{:.0} MiB", b as f64 / 1048576.0))
    }
}

/// One scenario's run and its rates, with the ceiling measured in the same process.
#[derive(Serialize)]
pub struct ScenarioFigures {
    #[serde(flatten)]
    pub run: RunFigures,
    pub events_per_s: f64,
    pub sends_per_cpu_s: f64,
    pub simulated_s_per_wall_s: f64,
    /// The hold model at `pending_max` pending events.
    pub ceiling: QueueFigures,
}

impl ScenarioFigures {
    /// Runs `world` and measures it; then the hold model at its peak pending count for
    /// `events`.
    pub fn measure(world: WorldConfig, events: usize) -> ScenarioFigures {
        let run = RunFigures::measure(world);
        ScenarioFigures {
            events_per_s: run.events as f64 / run.wall_s,
            sends_per_cpu_s: run.sends as f64 / run.cpu_s,
            simulated_s_per_wall_s: run.simulated_s / run.wall_s,
            ceiling: queue_throughput(run.pending_max.max(1), events),
            run,
        }
    }

    /// Each figure's ceiling: the bare heap's rate, turned into that figure with the scenario's
    /// own events per send and per simulated second.
    fn ceilings(&self) -> [f64; 3] {
        let (bare_per_s, events) = (self.ceiling.bare_events_per_s, self.run.events.max(1) as f64);
        [
            bare_per_s,
            self.ceiling.bare_events_per_cpu_s * self.run.sends as f64 / events,
            bare_per_s * self.run.simulated_s / events,
        ]
    }

    /// The figures as the terminal shows them.
    pub fn render(&self) -> String {
        let r = &self.run;
        let measured = [self.events_per_s, self.sends_per_cpu_s, self.simulated_s_per_wall_s];
        let names = ["events/s (wall)", "sends/CPU-s", "simulated s/wall s"];
        let mut out = format!(
            "{}: {} producers, {:.0} s simulated: {} events, {} sends, {} events pending at most; {:.2} s wall, {:.2} s CPU, peak RSS {}\n",
            r.scenario,
            r.producers,
            r.simulated_s,
            r.events,
            r.sends,
            r.pending_max,
            r.wall_s,
            r.cpu_s,
            r.peak_rss_text(),
        );
        out += &format!("  {:<20} {:>12} {:>12} {:>9}\n", "figure", "measured", "ceiling", "fraction");
        for ((name, value), ceiling) in names.iter().zip(measured).zip(self.ceilings()) {
            out += &format!("  {name:<20} {:>12} {:>12} {:>8.0}%\n", si(value), si(ceiling), 100.0 * value / ceiling);
        }
        out += &format!(
            "  ceiling: bare BinaryHeap hold model at {} pending, {} M events/s; the engine's queue alone {} M events/s\n",
            r.pending_max,
            fixed(self.ceiling.bare_events_per_s / 1e6),
            fixed(self.ceiling.engine_events_per_s / 1e6),
        );
        out
    }
}

/// A rate with an SI prefix, three significant figures.
fn si(value: f64) -> String {
    match value {
        v if v >= 1e6 => format!("{} M", fixed(v / 1e6)),
        v if v >= 1e3 => format!("{} k", fixed(v / 1e3)),
        v => fixed(v),
    }
}

fn fixed(value: f64) -> String {
    match value {
        v if v >= 100.0 => format!("{v:.0}"),
        v if v >= 10.0 => format!("{v:.1}"),
        v => format!("{v:.2}"),
    }
}

#[derive(Clone, Copy, Serialize)]
pub struct QueueFigures {
    pub pending: usize,
    pub bare_events_per_s: f64,
    pub bare_events_per_cpu_s: f64,
    pub engine_events_per_s: f64,
}

/// A fixed pseudo-random delay sequence (1 µs to 1 s), the same for both loops, cheap enough
/// not to dominate either and needing no memory.
fn delay_us(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) % 1_000_000 + 1
}

/// The classic hold model: pop the earliest event, push one a pseudo-random delay later, with
/// `pending` events pending throughout; first on a bare `BinaryHeap`, then on the engine.
pub fn queue_throughput(pending: usize, events: usize) -> QueueFigures {
    let (pending_n, events) = (pending as u64, events as u64);
    let (cpu_started, started) = (cpu_seconds(), Instant::now());
    let mut heap = BinaryHeap::with_capacity(pending + 1);
    for seq in 0..pending_n {
        heap.push(Reverse((delay_us(seq), seq)));
    }
    let mut checksum = 0u64;
    for i in 0..events {
        let Reverse((now, seq)) = heap.pop().expect("hold model keeps events pending");
        checksum = checksum.wrapping_add(seq);
        heap.push(Reverse((now + delay_us(pending_n + i), pending_n + i)));
    }
    let (bare_s, bare_cpu_s) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu_started);
    drop(heap);

    let started = Instant::now();
    let mut sim: Sim<[u32; 4]> = Sim::new();
    for i in 0..pending_n {
        sim.schedule_at(delay_us(i), [i as u32; 4]);
    }
    let mut engine_checksum = 0u64;
    for i in 0..events {
        let event = sim.next_until(u64::MAX).expect("hold model keeps events pending");
        engine_checksum = engine_checksum.wrapping_add(u64::from(event[0]));
        sim.schedule_in(delay_us(pending_n + i), event);
    }
    let engine_s = started.elapsed().as_secs_f64();
    drop(sim);
    // The hold loop's Sim is not a run: leave no stats behind for a caller to mistake.
    engine::take_last_stats();
    assert!(events == 0 || (checksum > 0 && engine_checksum > 0));
    QueueFigures {
        pending,
        bare_events_per_s: events as f64 / bare_s,
        bare_events_per_cpu_s: events as f64 / bare_cpu_s.max(1e-9),
        engine_events_per_s: events as f64 / engine_s,
    }
}

/// CPU time of this process so far (user + system), in seconds.
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes one rusage into the zeroed struct we pass; RUSAGE_SELF is valid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return 0.0;
        }
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Peak resident memory of this process in bytes (Linux), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Starts the peak-RSS count again from the current RSS (Linux: `5` to /proc/self/clear_refs),
/// so each scenario's peak is its own. Elsewhere, or if refused, the peak stays the process's.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
