//! A sweep's charts, drawn from `points.csv` alone (docs/SWEEPS.md): for each summarised
//! metric, its median over seeds against the first varied parameter, one line per value of
//! the other parameters, in a band from the median to the 99th percentile; and, when exactly
//! two parameters vary, a heatmap of each fault's p99 stale window.
//!
//! Also, when the NameServer load is summarised, a trade-off chart per fault: p99 stale window
//! against the load, RocketMQ's defaults ringed. Titles and axes name metrics in words, with units.
//!
//! Each chart is written as SVG and as PNG by the run charts' renderer (`charts::write_picture`:
//! text measured and rasterised with the bundled DejaVu Sans), so the PNG looks the same
//! everywhere; `index.html` (`sweep_page`) shows the PNGs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

mod page;

use super::charts::{self, Picture};
use crate::scenario::units::parse_duration_us;

const WIDTH_PX: u32 = 960;
const HEIGHT_PX: u32 = 560;
/// Room right of the plot for the legend.
const LEGEND_PX: u32 = 300;
const FONT: &str = "sans-serif";

/// Draws every chart for the sweep whose `points.csv` is in `dir`, into `dir`, as SVG and PNG,
/// and the sweep's `index.html` showing them; returns the files written. An error names what
/// failed; the sweep's data files are unaffected.
pub fn draw_sweep_charts(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let table = Table::read(&dir.join("points.csv"))?;
    let drawn = draw_charts(dir, &table)?;
    let mut written: Vec<PathBuf> = drawn.iter().flat_map(|d| d.files.clone()).collect();
    written.push(page::write(dir, &table, &drawn)?);
    Ok(written)
}

/// A chart written: its file stem, a caption for the page, its SVG and PNG.
struct DrawnChart {
    stem: String,
    caption: String,
    files: [PathBuf; 2],
}

fn draw_charts(dir: &Path, table: &Table) -> Result<Vec<DrawnChart>, String> {
    if table.params.is_empty() {
        // A single point: nothing varies, so there is nothing to draw against.
        return Ok(Vec::new());
    }
    charts::ensure_font().map_err(|e| e.to_string())?;
    let mut written = Vec::new();
    let mut save = |stem: String, caption: String, chart: SweepChart| -> Result<(), String> {
        let files = charts::write_picture(dir, &stem, &chart, (WIDTH_PX, HEIGHT_PX)).map_err(|e| e.to_string())?;
        written.push(DrawnChart { stem, caption, files });
        Ok(())
    };
    let stale_windows = || table.metrics.iter().filter(|m| m.starts_with("faults[") && m.ends_with("].stale_window_s"));
    if table.params.len() == 2 {
        for metric in stale_windows() {
            let stat = format!("{metric}.p99");
            let caption = format!("{}, p99 over seeds, per grid point", capitalised(&plain(metric).0));
            save(format!("heatmap.{}", slug(&stat)), caption, SweepChart::Heatmap { table, stat: &stat })?;
        }
    }
    for metric in stale_windows() {
        if tradeoff_points(table, metric).is_some_and(|points| !points.is_empty()) {
            let caption = format!("{}, p99 over seeds, against NameServer load", capitalised(&plain(metric).0));
            save(format!("tradeoff.{}", slug(metric)), caption, SweepChart::Tradeoff { table, metric })?;
        }
    }
    for metric in &table.metrics {
        if !metric_lines(table, metric).1.iter().all(|(_, points)| points.is_empty()) {
            let caption = format!("{}, median over seeds against {}", capitalised(&plain(metric).0), table.params[0]);
            save(format!("chart.{}", slug(metric)), caption, SweepChart::Metric { table, metric })?;
        }
    }
    Ok(written)
}

/// One sweep chart, drawn the same way into the SVG and the PNG.
enum SweepChart<'a> {
    Metric { table: &'a Table, metric: &'a str },
    Tradeoff { table: &'a Table, metric: &'a str },
    Heatmap { table: &'a Table, stat: &'a str },
}

impl Picture for SweepChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        match *self {
            SweepChart::Metric { table, metric } => metric_chart(root, table, metric),
            SweepChart::Tradeoff { table, metric } => tradeoff(root, table, metric),
            SweepChart::Heatmap { table, stat } => heatmap(root, table, stat),
        }
    }
}

/// A file-name form of a metric: `faults[broker-a].stale_window_s` → `broker-a.stale_window_s`.
fn slug(metric: &str) -> String {
    let name = match metric.strip_prefix("faults[").and_then(|rest| rest.split_once("].")) {
        Some((id, rest)) => format!("{id}.{rest}"),
        None => metric.to_string(),
    };
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect()
}

/// A metric's plain name and unit, for titles and axes: `faults[broker-a].stale_window_s` →
/// ("stale window after broker-a", "s").
fn plain(metric: &str) -> (String, &'static str) {
    if let Some((id, rest)) = metric.strip_prefix("faults[").and_then(|r| r.split_once("].")) {
        let (what, unit) = match rest {
            "stale_window_s" => ("stale window", "s"),
            "detection_s_max" => ("time until the last NameServer removed it", "s"),
            "convergence_s.p99" => ("client route convergence, p99 over clients", "s"),
            "failed_sends" => ("failed sends", "sends"),
            _ => match rest.strip_prefix("detection_s.") {
                Some(ns) => return (format!("time until {ns} removed {id}"), "s"),
                None => return (metric.to_string(), ""),
            },
        };
        return (format!("{what} after {id}"), unit);
    }
    let per_nameserver = metric.strip_prefix("nameserver_load.").and_then(|r| r.strip_suffix(".requests_per_s"));
    match (metric, per_nameserver) {
        ("nameserver_load.requests_per_s", _) => ("NameServer load, all NameServers".to_string(), "requests/s"),
        (_, Some(ns)) => (format!("NameServer load at {ns}"), "requests/s"),
        ("totals.false_removals", _) => ("false removals (live brokers removed)".to_string(), "removals"),
        _ => (metric.to_string(), ""),
    }
}

fn with_unit(name: &str, unit: &str) -> String {
    if unit.is_empty() { name.to_string() } else { format!("{name} ({unit})") }
}

/// `points.csv`, split into its parts: `point`, the varied paths, `runs`, then per metric
/// `<metric>.p50/.p90/.p99/.max/.nulls`.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    params: Vec<String>,
    metrics: Vec<String>,
}

impl Table {
    fn read(path: &Path) -> Result<Table, String> {
        let failed = |e: csv::Error| format!("{}: {e}", path.display());
        let mut reader = csv::Reader::from_path(path).map_err(failed)?;
        let header: Vec<String> = reader.headers().map_err(failed)?.iter().map(str::to_string).collect();
        let rows = reader
            .records()
            .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
            .collect::<Result<Vec<Vec<String>>, _>>()
            .map_err(failed)?;
        let runs =
            header.iter().position(|h| h == "runs").ok_or_else(|| format!("{}: no `runs` column", path.display()))?;
        let params = header.get(1..runs).unwrap_or_default().to_vec();
        let metrics = header[runs + 1..].iter().filter_map(|h| h.strip_suffix(".p50")).map(str::to_string).collect();
        Ok(Table { header, rows, params, metrics })
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    fn number(&self, row: &[String], column: Option<usize>) -> Option<f64> {
        column.and_then(|c| row.get(c)).and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite())
    }
}

/// Where a parameter's values go on an axis: at their numeric value (durations in seconds)
/// when every value is one, else evenly spaced in grid order.
struct XAxis {
    label: String,
    values: Vec<String>,
    positions: Vec<f64>,
    categorical: bool,
}

impl XAxis {
    fn new(name: &str, values: Vec<String>) -> XAxis {
        let seconds: Option<Vec<f64>> =
            values.iter().map(|v| parse_duration_us(v).ok().map(|us| us as f64 / 1e6)).collect();
        let numbers: Option<Vec<f64>> = values.iter().map(|v| v.parse::<f64>().ok()).collect();
        let (label, positions, categorical) = match (seconds, numbers) {
            (Some(s), _) => (format!("{name} (s)"), s, false),
            (None, Some(n)) => (name.to_string(), n, false),
            (None, None) => (name.to_string(), (0..values.len()).map(|i| i as f64).collect(), true),
        };
        XAxis { label, values, positions, categorical }
    }

    fn range(&self) -> std::ops::Range<f64> {
        let lo = self.positions.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self.positions.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let pad = if hi > lo { (hi - lo) * 0.05 } else { 0.5 };
        if self.categorical { lo - 0.5..hi + 0.5 } else { lo - pad..hi + pad }
    }
}

/// The distinct values of column `c`, in the order the grid lists them.
fn distinct(rows: &[Vec<String>], c: usize) -> Vec<String> {
    let mut seen = Vec::new();
    for row in rows {
        if !seen.contains(&row[c]) {
            seen.push(row[c].clone());
        }
    }
    seen
}

fn text_style(size: u32, pos: Pos) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(&BLACK).pos(pos)
}

/// The frame every SVG-only chart shares: a white page with `title` centred on top, and a
/// builder with the usual margins and label areas (`margin_right_px` leaves room for a legend).
pub(crate) fn svg_frame<'a, 'b, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    title_px: u32,
    margin_right_px: u32,
) -> Result<ChartBuilder<'a, 'b, DB>, String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (width_px, _) = root.dim_in_pixel();
    draw_text(root, title, (width_px as i32 / 2, 12), title_px, Pos::new(HPos::Center, VPos::Top))?;
    let mut builder = ChartBuilder::on(root);
    builder.margin_top(44).margin_left(12).margin_bottom(8).margin_right(margin_right_px);
    builder.x_label_area_size(48).y_label_area_size(72);
    Ok(builder)
}

fn draw_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    at: (i32, i32),
    size: u32,
    pos: Pos,
) -> Result<(), String> {
    area.draw(&Text::new(text.to_string(), at, text_style(size, pos))).map_err(|e| e.to_string())
}

/// Numbers on axes without float noise: `30`, `2.5`, `0.125`.
fn tick(v: &f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_string() } else { s.to_string() }
}

/// (x, median, p99) of one grid point, and its index among the x values.
type BandPoint = (f64, f64, f64, usize);

/// The points cut into runs of neighbouring grid points: a line never joins two points with a
/// grid point between them that has no value (never run, or null in every seed).
fn runs_of(points: &[BandPoint]) -> Vec<&[BandPoint]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=points.len() {
        if i == points.len() || points[i].3 != points[i - 1].3 + 1 {
            runs.push(&points[start..i]);
            start = i;
        }
    }
    runs
}

/// The first parameter's axis, one line of points per combination of the other parameters (in
/// grid order), and how many runs had no value.
fn metric_lines(table: &Table, metric: &str) -> (XAxis, Vec<(String, Vec<BandPoint>)>, u64) {
    let x_col = 1;
    let x = XAxis::new(&table.params[0], distinct(&table.rows, x_col));
    let (p50, p99) = (table.column(&format!("{metric}.p50")), table.column(&format!("{metric}.p99")));
    let nulls = table.column(&format!("{metric}.nulls"));
    // One line per combination of the other parameters, in grid order.
    let others = 2..1 + table.params.len();
    let mut lines: Vec<(String, Vec<BandPoint>)> = Vec::new();
    let mut null_runs = 0u64;
    for row in &table.rows {
        let key = others.clone().map(|c| format!("{} = {}", table.header[c], row[c])).collect::<Vec<_>>().join(", ");
        let i = match lines.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                lines.push((key, Vec::new()));
                lines.len() - 1
            }
        };
        null_runs += nulls.and_then(|c| row.get(c)).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let (Some(xi), Some(mid)) = (x.values.iter().position(|v| *v == row[x_col]), table.number(row, p50)) else {
            continue;
        };
        let hi = table.number(row, p99).unwrap_or(mid);
        lines[i].1.push((x.positions[xi], mid, hi, xi));
    }
    for (_, points) in &mut lines {
        points.sort_by_key(|p| p.3);
    }
    (x, lines, null_runs)
}

/// The sweep charts' mesh: the axis descriptions (x, y), `x_labels` ticks labelled by `x_fmt`,
/// the y axis by `tick`; no light lines.
fn styled_mesh<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    (x_desc, y_desc): (&str, &str),
    x_labels: usize,
    x_fmt: &dyn Fn(&f64) -> String,
) -> Result<(), String> {
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(x_labels)
        .x_label_formatter(x_fmt)
        .y_label_formatter(&tick)
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| e.to_string())
}

/// One metric against the first parameter.
fn metric_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, table: &Table, metric: &str) -> Result<(), String> {
    let (x, lines, null_runs) = metric_lines(table, metric);
    let all: Vec<f64> = lines.iter().flat_map(|(_, pts)| pts.iter().flat_map(|&(_, a, b, _)| [a, b])).collect();
    let y_hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let y_lo = all.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
    let y_range = y_lo..if y_hi > y_lo { y_hi + (y_hi - y_lo) * 0.08 } else { y_lo + 1.0 };

    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    let (name, unit) = plain(metric);
    let title = format!("{}: median over seeds, band up to p99", capitalised(&name));
    let mut chart = svg_frame(root, &title, 22, LEGEND_PX)?.build_cartesian_2d(x.range(), y_range).map_err(err)?;
    let x_labels = |v: &f64| match x.categorical {
        true => x.positions.iter().position(|p| (p - v).abs() < 1e-9).map(|i| x.values[i].clone()).unwrap_or_default(),
        false => tick(v),
    };
    let x_label_count = if x.categorical { x.values.len() } else { 10 };
    styled_mesh(&mut chart, (x.label.as_str(), &with_unit(&name, unit)), x_label_count, &x_labels)?;
    for (i, (_, points)) in lines.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        for run in runs_of(points) {
            if run.len() > 1 {
                let mut band: Vec<(f64, f64)> = run.iter().map(|&(x, _, hi, _)| (x, hi)).collect();
                band.extend(run.iter().rev().map(|&(x, mid, _, _)| (x, mid)));
                chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.18).filled()))).map_err(err)?;
            } else {
                // A point alone: the band is a bar from the median to p99.
                chart
                    .draw_series(run.iter().map(|&(x, mid, hi, _)| {
                        PathElement::new(vec![(x, mid), (x, hi)], color.mix(0.4).stroke_width(8))
                    }))
                    .map_err(err)?;
            }
            chart
                .draw_series(LineSeries::new(run.iter().map(|&(x, mid, _, _)| (x, mid)), color.stroke_width(2)))
                .map_err(err)?;
        }
        // A marker at every measured point (the median), the p99 as a small bar end.
        chart
            .draw_series(points.iter().map(|&(x, mid, _, _)| Circle::new((x, mid), 5, color.filled())))
            .map_err(err)?;
    }
    let legend_x = (WIDTH_PX - LEGEND_PX + 16) as i32;
    let mut y = 60;
    for (i, (key, _)) in lines.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        root.draw(&Rectangle::new([(legend_x, y - 5), (legend_x + 18, y + 5)], color.filled())).map_err(err)?;
        let label = if key.is_empty() { "median (band up to p99)".to_string() } else { key.clone() };
        draw_text(root, &label, (legend_x + 24, y), 15, Pos::new(HPos::Left, VPos::Center))?;
        y += 22;
    }
    if null_runs > 0 {
        let runs = if null_runs == 1 { "run" } else { "runs" };
        let note = format!("{null_runs} {runs} with no value (null) not drawn");
        draw_text(root, &note, (legend_x, y + 8), 15, Pos::new(HPos::Left, VPos::Center))?;
    }
    Ok(())
}

/// Column `stat` (e.g. `faults[broker-a].stale_window_s.p99`) over the two parameters, one
/// cell per grid point, darker for larger values; null cells grey.
fn heatmap<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, table: &Table, stat: &str) -> Result<(), String> {
    let xs = distinct(&table.rows, 1);
    let ys = distinct(&table.rows, 2);
    let c = table.column(stat);
    let cells: Vec<(usize, usize, Option<f64>)> = table
        .rows
        .iter()
        .filter_map(|row| {
            let xi = xs.iter().position(|v| *v == row[1])?;
            let yi = ys.iter().position(|v| *v == row[2])?;
            Some((xi, yi, table.number(row, c)))
        })
        .collect();
    let values: BTreeSet<u64> = cells.iter().filter_map(|&(_, _, v)| v).map(f64::to_bits).collect();
    let lo = values.iter().map(|&b| f64::from_bits(b)).fold(f64::INFINITY, f64::min);
    let hi = values.iter().map(|&b| f64::from_bits(b)).fold(f64::NEG_INFINITY, f64::max);

    // Room on the right for the colour scale.
    let (left, top, right, bottom) = (200i32, 60i32, WIDTH_PX as i32 - 150, HEIGHT_PX as i32 - 80);
    let cell_w = (right - left) / xs.len().max(1) as i32;
    let cell_h = (bottom - top) / ys.len().max(1) as i32;
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let (metric, q) = stat.rsplit_once('.').unwrap_or((stat, ""));
    let (name, unit) = plain(metric);
    let title = format!("{}, {q} over seeds ({unit})", capitalised(&name));
    draw_text(root, &title, (WIDTH_PX as i32 / 2, 12), 22, Pos::new(HPos::Center, VPos::Top))?;
    for &(xi, yi, v) in &cells {
        let (x0, y0) = (left + xi as i32 * cell_w, top + yi as i32 * cell_h);
        let fill = match v {
            Some(v) => shade(if hi > lo { (v - lo) / (hi - lo) } else { 0.5 }),
            None => NULL_CELL,
        };
        root.draw(&Rectangle::new([(x0, y0), (x0 + cell_w, y0 + cell_h)], fill.filled())).map_err(err)?;
        root.draw(&Rectangle::new([(x0, y0), (x0 + cell_w, y0 + cell_h)], WHITE.stroke_width(2))).map_err(err)?;
        let label = v.map_or_else(|| "null".to_string(), |v| format!("{v:.1}"));
        let t = v.map_or(0.0, |v| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 });
        let color = if t > 0.55 { WHITE } else { BLACK };
        let style = text_style(20, Pos::new(HPos::Center, VPos::Center)).color(&color);
        root.draw(&Text::new(label, (x0 + cell_w / 2, y0 + cell_h / 2), style)).map_err(err)?;
    }
    for (i, v) in xs.iter().enumerate() {
        let at = (left + i as i32 * cell_w + cell_w / 2, bottom + 8);
        draw_text(root, v, at, 16, Pos::new(HPos::Center, VPos::Top))?;
    }
    for (i, v) in ys.iter().enumerate() {
        let at = (left - 10, top + i as i32 * cell_h + cell_h / 2);
        draw_text(root, v, at, 16, Pos::new(HPos::Right, VPos::Center))?;
    }
    draw_text(root, &table.params[0], ((left + right) / 2, bottom + 36), 18, Pos::new(HPos::Center, VPos::Top))?;
    // The colour scale: the lowest value at the bottom, the highest at the top.
    let (scale_x, steps) = (right + 40, 40);
    let step_h = (bottom - top) / steps;
    for i in 0..steps {
        let y0 = bottom - (i + 1) * step_h;
        let color = shade(f64::from(i) / f64::from(steps - 1));
        root.draw(&Rectangle::new([(scale_x, y0), (scale_x + 24, y0 + step_h)], color.filled())).map_err(err)?;
    }
    if lo.is_finite() {
        let at = |y| (scale_x + 30, y);
        draw_text(root, &format!("{hi:.1}"), at(bottom - steps * step_h), 15, Pos::new(HPos::Left, VPos::Center))?;
        draw_text(root, &format!("{lo:.1}"), at(bottom), 15, Pos::new(HPos::Left, VPos::Center))?;
    }
    draw_text(root, unit, (scale_x + 12, top - 14), 15, Pos::new(HPos::Center, VPos::Center))?;
    root.draw(&Rectangle::new([(scale_x, bottom + 20), (scale_x + 24, bottom + 34)], NULL_CELL.filled()))
        .map_err(err)?;
    draw_text(root, "null", (scale_x + 30, bottom + 27), 15, Pos::new(HPos::Left, VPos::Center))?;
    let y_name = text_style(18, Pos::new(HPos::Center, VPos::Top)).transform(FontTransform::Rotate270);
    root.draw(&Text::new(table.params[1].clone(), (24, (top + bottom) / 2), y_name)).map_err(err)?;
    Ok(())
}

/// Whether `value` of the varied `path` is RocketMQ 4.x's default for it (only timing paths
/// with a default are known; anything else is not a default).
fn is_default(path: &str, value: &str) -> bool {
    use crate::model::timing::{Preset, Timing};
    let t = Timing::preset(Preset::RocketMq4);
    let default_us = match path {
        "timing.broker_heartbeat" => t.broker_register_period_us,
        "timing.nameserver_channel_idle" => t.nameserver_channel_idle_us,
        "timing.broker_channel_idle" => t.broker_channel_idle_us,
        "timing.nameserver_scan" => t.nameserver_scan_us,
        "timing.broker_expiry" => t.broker_expiry_us,
        "timing.client_route_poll" => t.client_route_poll_us,
        _ => return false,
    };
    parse_duration_us(value).is_ok_and(|us| us == default_us)
}

/// Per grid point with both values: (NameServer load, p99 stale window, the point's values,
/// whether they are RocketMQ's defaults). The load is the total's median over seeds, else the
/// sum of each NameServer's median (what `points.csv` summarises); None without either.
fn tradeoff_points(table: &Table, metric: &str) -> Option<Vec<(f64, f64, String, bool)>> {
    let loads: Vec<usize> = match table.column("nameserver_load.requests_per_s.p50") {
        Some(total) => vec![total],
        None => (0..table.header.len())
            .filter(|&c| {
                let h = &table.header[c];
                h.starts_with("nameserver_load.") && h.ends_with(".requests_per_s.p50")
            })
            .collect(),
    };
    if loads.is_empty() {
        return None;
    }
    let stale = table.column(&format!("{metric}.p99"));
    let n = table.params.len();
    let points = table
        .rows
        .iter()
        .filter_map(|row| {
            let x = loads.iter().map(|&c| table.number(row, Some(c))).sum::<Option<f64>>()?;
            let y = table.number(row, stale)?;
            let label = (1..=n).map(|c| row[c].as_str()).collect::<Vec<_>>().join(", ");
            let default = (1..=n).all(|c| is_default(&table.header[c], &row[c]));
            Some((x, y, label, default))
        })
        .collect();
    Some(points)
}

/// What a setting costs against what it buys: per grid point, the p99 over seeds of the stale
/// window against the median NameServer load, labelled with the point's values; the point at
/// RocketMQ 4.x's defaults is ringed. None without a load column or any value.
fn tradeoff<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, table: &Table, metric: &str) -> Result<(), String> {
    let points = tradeoff_points(table, metric).unwrap_or_default();
    let span = |values: Vec<f64>| {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let pad = if hi > lo { (hi - lo) * 0.12 } else { hi.abs().max(1.0) * 0.1 };
        lo - pad..hi + pad
    };
    let x_range = span(points.iter().map(|p| p.0).collect());
    let y_range = span(points.iter().map(|p| p.1).collect());
    let (name, _) = plain(metric);
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    let title = format!("{}: p99 over seeds against NameServer load", capitalised(&name));
    let mut chart = svg_frame(root, &title, 22, 40)?.build_cartesian_2d(x_range, y_range).map_err(err)?;
    let y_desc = format!("{name}, p99 (s)");
    styled_mesh(&mut chart, ("NameServer load, all NameServers, median over seeds (requests/s)", &y_desc), 10, &tick)?;
    let color = Palette99::pick(0).to_rgba();
    for (x, y, label, default) in &points {
        chart.draw_series(std::iter::once(Circle::new((*x, *y), 5, color.filled()))).map_err(err)?;
        let (px, py) = chart.backend_coord(&(*x, *y));
        // Clear of the ring when there is one.
        let label_x = if *default { px + 15 } else { px + 9 };
        draw_text(root, label, (label_x, py), 14, Pos::new(HPos::Left, VPos::Center))?;
        if *default {
            root.draw(&Circle::new((px, py), 11, RGBColor(213, 94, 0).stroke_width(2))).map_err(err)?;
            draw_text(root, "RocketMQ 4.x defaults", (label_x, py + 18), 14, Pos::new(HPos::Left, VPos::Center))?;
        }
    }
    let legend = format!("one point per grid point ({}); lower left is better", table.params.join(", "));
    draw_text(root, &legend, (WIDTH_PX as i32 / 2, 40), 14, Pos::new(HPos::Center, VPos::Center))?;
    Ok(())
}

const NULL_CELL: RGBColor = RGBColor(200, 200, 200);

/// White to dark red as `t` goes from 0 to 1: the worse (longer) the value, the darker.
fn shade(t: f64) -> RGBColor {
    let mix = |full: f64, dark: f64| (full + (dark - full) * t).round() as u8;
    RGBColor(mix(255.0, 165.0), mix(245.0, 15.0), mix(235.0, 21.0))
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("faults[broker-a].stale_window_s"), "broker-a.stale_window_s");
        assert_eq!(slug("nameserver_load.ns-0.requests_per_s"), "nameserver_load.ns-0.requests_per_s");
        assert_eq!(slug("faults[a/b].x"), "a_b.x");
    }

    #[test]
    fn draws_svg_and_png() {
        let dir = tempfile::tempdir().unwrap();
        let csv = "point,timing.broker_heartbeat,timing.nameserver_channel_idle,runs,\
                   faults[broker-a].stale_window_s.p50,faults[broker-a].stale_window_s.p90,\
                   faults[broker-a].stale_window_s.p99,faults[broker-a].stale_window_s.max,\
                   faults[broker-a].stale_window_s.nulls\n\
                   0,10s,60s,3,70,75,80,80,0\n1,10s,120s,3,120,125,130,130,0\n\
                   2,30s,60s,3,80,85,90,90,0\n3,30s,120s,3,,,,,3\n";
        std::fs::write(dir.path().join("points.csv"), csv).unwrap();
        let written = draw_sweep_charts(dir.path()).unwrap();
        let names: Vec<_> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(
            names,
            [
                "heatmap.broker-a.stale_window_s.p99.svg",
                "heatmap.broker-a.stale_window_s.p99.png",
                "chart.broker-a.stale_window_s.svg",
                "chart.broker-a.stale_window_s.png",
                "index.html"
            ]
        );
        let chart = std::fs::read_to_string(&written[2]).unwrap();
        assert!(chart.contains("timing.broker_heartbeat (s)"));
        assert!(chart.contains("3 runs with no value"));
        assert!(std::fs::read(&written[3]).unwrap().starts_with(b"\x89PNG"));
        let heatmap = std::fs::read_to_string(&written[0]).unwrap();
        assert!(heatmap.contains(">\nnull\n<") && heatmap.contains("rotate(270"));
    }
}
