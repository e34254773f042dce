//! A tune's files: `tune.json` (the whole report), `points.csv` (a row per grid point), the
//! frontier chart `frontier.svg` (the target's statistic against the load minimised: every
//! point, the Pareto frontier as a line, one frontier per value of `timing.nameserver_push`
//! when it varies, RocketMQ's defaults and the chosen point marked) and `index.html`.
//!
//! The chart is written as SVG and PNG by the run charts' renderer, as the sweep charts are.

use std::fmt::Write as _;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::tune::{Minimise, PointResult, TuneReport};

use super::charts::Picture;
use super::{OutputError, io_error, write_json, xml_escape};

const WIDTH_PX: u32 = 1100;
const HEIGHT_PX: u32 = 640;
const LEGEND_PX: u32 = 330;
const FONT: &str = "sans-serif";
const GREEN: RGBColor = RGBColor(0, 158, 115);
const GREY: RGBColor = RGBColor(150, 150, 150);
const BLUE: RGBColor = RGBColor(0, 114, 178);
const VERMILLION: RGBColor = RGBColor(213, 94, 0);

/// Writes every file of a tune into `dir` (which exists).
pub fn write_tune(dir: &Path, report: &TuneReport) -> Result<(), OutputError> {
    write_json(&dir.join("tune.json"), report)?;
    write_points_csv(&dir.join("points.csv"), report)?;
    let chart_error =
        |e: super::charts::ChartError| OutputError::Other { path: dir.join("frontier.svg"), message: e.to_string() };
    super::charts::ensure_font().map_err(chart_error)?;
    super::charts::write_picture(dir, "frontier", &Frontier(report), (WIDTH_PX, HEIGHT_PX)).map_err(chart_error)?;
    let path = dir.join("index.html");
    std::fs::write(&path, index_html(report)).map_err(io_error(&path))
}

fn write_points_csv(path: &Path, report: &TuneReport) -> Result<(), OutputError> {
    let csv_error = |source| OutputError::Csv { path: path.to_path_buf(), source };
    let mut w = csv::Writer::from_path(path).map_err(csv_error)?;
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(report.axes.iter().map(|a| a.path.clone()));
    header.extend(
        [
            "statistic",
            "meets",
            "target_passed",
            "false_removals_max",
            "nameserver_requests_per_s",
            "client_queries_per_s",
            "pareto",
        ]
        .map(String::from),
    );
    w.write_record(&header).map_err(csv_error)?;
    for p in &report.points {
        let mut row = vec![p.point.to_string()];
        row.extend(p.settings.iter().map(|(_, v)| v.clone()));
        row.push(p.statistic.map(|v| v.to_string()).unwrap_or_default());
        row.extend([
            p.meets.to_string(),
            p.target_passed.to_string(),
            p.false_removals_max.to_string(),
            p.nameserver_requests_per_s.to_string(),
            p.client_queries_per_s.to_string(),
            p.pareto.to_string(),
        ]);
        w.write_record(&row).map_err(csv_error)?;
    }
    w.flush().map_err(io_error(path))
}

fn load(p: &PointResult, minimise: Minimise) -> f64 {
    match minimise {
        Minimise::NameserverLoad => p.nameserver_requests_per_s,
        Minimise::ClientLoad => p.client_queries_per_s,
    }
}

fn load_label(minimise: Minimise) -> &'static str {
    match minimise {
        Minimise::NameserverLoad => "NameServer requests per second (all NameServers, mean over seeds)",
        Minimise::ClientLoad => "client route queries per second (clients / route poll)",
    }
}

/// The value of `timing.nameserver_push` at a point, when it varies.
fn push_of(p: &PointResult) -> Option<&str> {
    p.settings.iter().find(|(k, _)| k == "timing.nameserver_push").map(|(_, v)| v.as_str())
}

/// The frontier of `points`: undominated on (statistic, load), ascending load.
fn frontier<'a>(points: &[&'a PointResult], minimise: Minimise) -> Vec<&'a PointResult> {
    let stat = |p: &PointResult| p.statistic.unwrap_or(f64::INFINITY);
    let mut on: Vec<&PointResult> = points
        .iter()
        .copied()
        .filter(|p| p.eligible() && p.statistic.is_some())
        .filter(|p| {
            !points.iter().any(|q| {
                q.eligible()
                    && stat(q) <= stat(p)
                    && load(q, minimise) <= load(p, minimise)
                    && (stat(q) < stat(p) || load(q, minimise) < load(p, minimise))
            })
        })
        .collect();
    on.sort_by(|a, b| load(a, minimise).total_cmp(&load(b, minimise)));
    on
}

/// The frontier chart, drawn the same way into `frontier.svg` and `frontier.png`.
struct Frontier<'a>(&'a TuneReport);

impl Picture for Frontier<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        frontier_chart(root, self.0)
    }
}

fn frontier_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &TuneReport) -> Result<(), String> {
    let drawn: Vec<&PointResult> = r.points.iter().filter(|p| p.statistic.is_some()).collect();
    let xs: Vec<f64> = drawn.iter().map(|p| load(p, r.minimise)).collect();
    let ys: Vec<f64> = drawn.iter().filter_map(|p| p.statistic).collect();
    let span = |v: &[f64]| {
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let hi = if hi.is_finite() && hi > 0.0 { hi * 1.1 } else { 1.0 };
        0.0..hi
    };
    let (x_range, y_range) = (span(&xs), span(&ys));
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    let title = format!("Tune {}: {} against load", r.scenario, r.target);
    let style = |size: u32, pos: Pos| TextStyle::from((FONT, size).into_font()).color(&BLACK).pos(pos);
    let mut chart = super::sweep_charts::svg_frame(root, &title, 20, LEGEND_PX)?
        .build_cartesian_2d(x_range, y_range)
        .map_err(err)?;
    let statistic = r.target.split_whitespace().next().unwrap_or("statistic").to_string();
    chart
        .configure_mesh()
        .x_desc(load_label(r.minimise))
        .y_desc(format!("{statistic} (s)"))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    let xy = |p: &PointResult| (load(p, r.minimise), p.statistic.unwrap_or(0.0));
    chart
        .draw_series(drawn.iter().map(|p| {
            let color = if p.meets { GREEN } else { GREY };
            Circle::new(xy(p), 4, color.filled())
        }))
        .map_err(err)?;
    let groups: Vec<Option<&str>> = {
        let mut g: Vec<Option<&str>> = drawn.iter().map(|p| push_of(p)).collect();
        g.dedup();
        g.sort();
        g.dedup();
        g
    };
    let mut legend: Vec<(RGBColor, String)> =
        vec![(GREEN, "meets the target".into()), (GREY, "misses it (or falsely removes brokers)".into())];
    for (i, group) in groups.iter().enumerate() {
        let members: Vec<&PointResult> = drawn.iter().copied().filter(|p| push_of(p) == *group).collect();
        let line = frontier(&members, r.minimise);
        let color = if i == 0 { BLUE } else { VERMILLION };
        chart.draw_series(LineSeries::new(line.iter().map(|p| xy(p)), color.stroke_width(2))).map_err(err)?;
        // Rings too: a frontier of one point draws no line.
        chart.draw_series(line.iter().map(|p| Circle::new(xy(p), 7, color.stroke_width(2)))).map_err(err)?;
        let label = match group {
            None => "Pareto frontier".to_string(),
            Some(v) => format!("frontier, nameserver_push: {v}"),
        };
        legend.push((color, label));
    }
    if let Some(b) = r.baseline.map(|i| &r.points[i]).filter(|p| p.statistic.is_some()) {
        let (x, y) = xy(b);
        chart.draw_series(std::iter::once(Cross::new((x, y), 9, BLACK.stroke_width(3)))).map_err(err)?;
        legend.push((BLACK, "x: the scenario's settings (RocketMQ's defaults)".into()));
    }
    if let Some(c) = r.chosen.map(|i| &r.points[i]).filter(|p| p.statistic.is_some()) {
        chart.draw_series(std::iter::once(Circle::new(xy(c), 10, BLACK.stroke_width(2)))).map_err(err)?;
        legend.push((BLACK, "ring: chosen (least load meeting the target)".into()));
    }
    let x0 = (WIDTH_PX - LEGEND_PX + 16) as i32;
    for (i, (color, label)) in legend.iter().enumerate() {
        let y = 64 + 24 * i as i32;
        root.draw(&Rectangle::new([(x0, y - 5), (x0 + 18, y + 5)], color.filled())).map_err(err)?;
        root.draw(&Text::new(label.clone(), (x0 + 24, y), style(14, Pos::new(HPos::Left, VPos::Center))))
            .map_err(err)?;
    }
    Ok(())
}

fn index_html(r: &TuneReport) -> String {
    let esc = |s: &str| xml_escape(s, false);
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>tune {0}</title>\n<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}}table{{border-collapse:collapse;font-size:14px}}td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}img{{max-width:100%;height:auto}}pre{{background:#f4f4f4;padding:1em}}</style></head><body>\n<h1>tune {0}</h1>\n",
        esc(&r.scenario)
    );
    let headline = match r.chosen.map(|i| &r.points[i]) {
        Some(c) => format!(
            "Target <code>{}</code> is met at {:.1} NameServer requests/s and {:.1} client queries/s (statistic {}) by the settings below{}.",
            esc(&r.target),
            c.nameserver_requests_per_s,
            c.client_queries_per_s,
            c.statistic.map_or("null".to_string(), |v| format!("{v:.1} s")),
            match r.chosen_meets_on_fresh_seeds {
                Some(true) => "; it still meets it over fresh seeds",
                Some(false) => "; it does NOT meet it over fresh seeds: take more seeds",
                None => "",
            }
        ),
        None => format!("No grid point meets <code>{}</code>.", esc(&r.target)),
    };
    let _ = writeln!(html, "<p><strong>{headline}</strong></p>");
    let _ = writeln!(
        html,
        "<p>Seeds {}..={} per point. A point meets the target when the aggregate holds over its seeds and no healthy broker was falsely removed; with N seeds all within the target, one more seed exceeds it with probability below {:.0}% (95% confidence).</p>",
        r.seeds.0,
        r.seeds.1,
        100.0 * r.exceedance_bound_95
    );
    if let Some(block) = r.timing_block() {
        let _ = writeln!(html, "<h2>Chosen settings</h2>\n<pre>{}</pre>", esc(&block));
    }
    let _ = writeln!(
        html,
        "<p><a href=\"frontier.svg\"><img src=\"frontier.png\" width=\"{WIDTH_PX}\" height=\"{HEIGHT_PX}\" alt=\"the Pareto frontier\"></a></p>"
    );
    let _ = writeln!(html, "<h2>Points</h2>\n<table><tr><th>point</th>");
    for a in &r.axes {
        let _ = write!(html, "<th>{}</th>", esc(a.path.trim_start_matches("timing.")));
    }
    let _ = writeln!(
        html,
        "<th>statistic</th><th>meets</th><th>false removals</th><th>NS req/s</th><th>client q/s</th><th>frontier</th></tr>"
    );
    for p in &r.points {
        let _ = write!(html, "<tr><td>{}</td>", p.point);
        for (_, v) in &p.settings {
            let _ = write!(html, "<td>{}</td>", esc(v));
        }
        let _ = writeln!(
            html,
            "<td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td></tr>",
            p.statistic.map_or("null".into(), |v| format!("{v:.1}")),
            if p.meets { "yes" } else { "no" },
            p.false_removals_max,
            p.nameserver_requests_per_s,
            p.client_queries_per_s,
            if p.pareto { "yes" } else { "" }
        );
    }
    let _ = writeln!(
        html,
        "</table>\n<p>Data: <a href=\"tune.json\">tune.json</a>, <a href=\"points.csv\">points.csv</a></p>\n</body></html>"
    );
    html
}
