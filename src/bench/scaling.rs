//! `routesim bench --scaling`: one scenario at several fleet sizes (its `producers.count`,
//! every group the same), the CPU cost of a send against the number of producers, as a table
//! and an SVG chart. The chart is SVG with its text as `<text>` elements, so, as the sweep's
//! charts, it needs no registered font.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Serialize;

use super::RunFigures;
use crate::scenario::{self, ScenarioError, yaml};

/// A fleet size whose run takes less CPU than this is run again until its runs add up to
/// it, and the median run is reported: a 2,000-producer minute is 0.05 s of CPU, where one
/// scheduler hiccup moves the figure by half.
pub const MIN_TOTAL_CPU_S: f64 = 2.0;
/// Runs of one fleet size, at most.
pub const MAX_RUNS: usize = 21;

/// One fleet size's run (the median of `runs` by CPU time).
#[derive(Serialize)]
pub struct ScalingPoint {
    #[serde(flatten)]
    pub run: RunFigures,
    pub cpu_us_per_send: f64,
    pub cpu_us_per_event: f64,
    /// How many identical runs the median was taken over (see `MIN_TOTAL_CPU_S`).
    pub runs: usize,
}

impl ScalingPoint {
    pub fn render(&self) -> String {
        let r = &self.run;
        format!(
            "{}: {:>7} producers, {:.0} s simulated: {:>11} sends, {:>12} events, {:>7.2} s CPU (median of {}): {:.2} µs CPU per send, {:.3} µs per event, peak RSS {}",
            r.scenario,
            r.producers,
            r.simulated_s,
            r.sends,
            r.events,
            r.cpu_s,
            self.runs,
            self.cpu_us_per_send,
            self.cpu_us_per_event,
            r.peak_rss_text(),
        )
    }
}

/// Runs the scenario in `text` (from `path`) with `producers` in every producer group, for
/// `duration` (as written in a scenario, `20s`) if given, and measures it (more than once
/// when it is short: `MIN_TOTAL_CPU_S`).
pub fn scaling(path: &Path, text: &str, producers: u32, duration: Option<&str>) -> Result<ScalingPoint, ScenarioError> {
    let invalid = |field: &str, message: String| ScenarioError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        field: field.to_string(),
        message,
    };
    let value = |field: &str, text: &str| {
        yaml::parse_value(text).map(|v| (field.to_string(), v)).map_err(|f| invalid(field, f.message))
    };
    let mut overrides = vec![value("producers.count", &producers.to_string())?];
    if let Some(duration) = duration {
        scenario::units::parse_duration_us(duration).map_err(|m| invalid("--duration", m))?;
        overrides.push(value("duration", duration)?);
    }
    let s = scenario::with_overrides(path, text, &overrides)?;
    let mut runs = vec![RunFigures::measure(s.world.clone())];
    while runs.len() < MAX_RUNS && runs.iter().map(|r| r.cpu_s).sum::<f64>() < MIN_TOTAL_CPU_S {
        let again = RunFigures::measure(s.world.clone());
        assert_eq!((again.events, again.sends), (runs[0].events, runs[0].sends), "a run repeats itself");
        runs.push(again);
    }
    let count = runs.len();
    let peak_rss_bytes = runs.iter().filter_map(|r| r.peak_rss_bytes).max();
    runs.sort_by(|a, b| a.cpu_s.total_cmp(&b.cpu_s));
    let run = RunFigures { peak_rss_bytes, ..runs.swap_remove(count / 2) };
    let per = |n: u64| 1e6 * run.cpu_s / n.max(1) as f64;
    Ok(ScalingPoint { cpu_us_per_send: per(run.sends), cpu_us_per_event: per(run.events), runs: count, run })
}

const WIDTH_PX: u32 = 900;
const HEIGHT_PX: u32 = 520;
const FONT: &str = "sans-serif";

/// CPU µs per send against producers (log scale), one line per scenario, labelled with the
/// cost per event.
pub fn chart(points: &[ScalingPoint]) -> Result<String, String> {
    let counts = || points.iter().map(|p| f64::from(p.run.producers.max(1)));
    let (x_lo, x_hi) = (counts().fold(f64::INFINITY, f64::min), counts().fold(1.0, f64::max));
    let y_hi = points.iter().map(|p| p.cpu_us_per_send).fold(0.0, f64::max).max(1e-3) * 1.15;
    let mut scenarios: Vec<&str> = Vec::new();
    for p in points {
        if !scenarios.contains(&p.run.scenario.as_str()) {
            scenarios.push(&p.run.scenario);
        }
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH_PX, HEIGHT_PX)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        let title = "CPU time per send against fleet size (labels: µs per event)";
        let style = |size: u32, pos: Pos| TextStyle::from((FONT, size).into_font()).color(&BLACK).pos(pos);
        let mut chart = crate::output::sweep_charts::svg_frame(&root, title, 20, 40)?
            .build_cartesian_2d((x_lo / 1.5..x_hi * 1.5).log_scale(), 0.0..y_hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("producers")
            .y_desc("CPU µs per send")
            .x_label_formatter(&|v: &f64| format!("{v:.0}"))
            .y_label_formatter(&|v: &f64| format!("{v:.2}"))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (i, name) in scenarios.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let line: Vec<&ScalingPoint> = points.iter().filter(|p| p.run.scenario == *name).collect();
            let xy = |p: &ScalingPoint| (f64::from(p.run.producers.max(1)), p.cpu_us_per_send);
            chart.draw_series(LineSeries::new(line.iter().map(|p| xy(p)), color.stroke_width(2))).map_err(err)?;
            chart.draw_series(line.iter().map(|p| Circle::new(xy(p), 4, color.filled()))).map_err(err)?;
            let label = |p: &&ScalingPoint| {
                Text::new(format!("{:.3}", p.cpu_us_per_event), xy(p), style(14, Pos::new(HPos::Center, VPos::Bottom)))
            };
            chart.draw_series(line.iter().map(label)).map_err(err)?;
            let legend_style = style(15, Pos::new(HPos::Left, VPos::Top)).color(&color);
            root.draw(&Text::new(name.to_string(), (96, 56 + 20 * i as i32), legend_style)).map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}
