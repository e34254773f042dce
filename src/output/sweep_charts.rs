//! A sweep's charts, drawn from `points.csv` alone (docs/SWEEPS.md): for each summarised
//! metric, its median over seeds against the first varied parameter, one line per value of
//! the other parameters, in a band from the median to the 99th percentile; and, when exactly
//! two parameters vary, a heatmap of each fault's p99 stale window.
//!
//! SVG only, and no font is needed: plotters asks a font only to measure text, and the SVG
//! backend writes text as `<text>` elements that the viewer renders. Nothing here measures
//! text (no caption, no plotters legend), so the charts draw with no registered font.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::scenario::units::parse_duration_us;

const WIDTH_PX: u32 = 960;
const HEIGHT_PX: u32 = 560;
/// Room right of the plot for the legend.
const LEGEND_PX: u32 = 300;
const FONT: &str = "sans-serif";

/// Draws every chart for the sweep whose `points.csv` is in `dir`, into `dir`; returns the
/// files written. An error names what failed; the sweep's data files are unaffected.
pub fn draw_sweep_charts(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let table = Table::read(&dir.join("points.csv"))?;
    if table.params.is_empty() {
        // A single point: nothing varies, so there is nothing to draw against.
        return Ok(Vec::new());
    }
    let mut written = Vec::new();
    for metric in &table.metrics {
        if let Some(svg) = metric_chart(&table, metric)? {
            let path = dir.join(format!("chart.{}.svg", slug(metric)));
            std::fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
            written.push(path);
        }
    }
    if table.params.len() == 2 {
        for metric in table.metrics.iter().filter(|m| m.starts_with("faults[") && m.ends_with("].stale_window_s")) {
            let stat = format!("{metric}.p99");
            let svg = heatmap(&table, &stat)?;
            let path = dir.join(format!("heatmap.{}.svg", slug(&stat)));
            std::fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// A file-name form of a metric: `faults[broker-a].stale_window_s` → `broker-a.stale_window_s`.
fn slug(metric: &str) -> String {
    let name = match metric.strip_prefix("faults[").and_then(|rest| rest.split_once("].")) {
        Some((id, rest)) => format!("{id}.{rest}"),
        None => metric.to_string(),
    };
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect()
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

    fn position(&self, value: &str) -> Option<f64> {
        self.values.iter().position(|v| v == value).map(|i| self.positions[i])
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

fn draw_text(
    area: &DrawingArea<SVGBackend, Shift>,
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

/// (x, median, p99) of one grid point.
type BandPoint = (f64, f64, f64);

/// One metric against the first parameter. `None` when no point has a value.
fn metric_chart(table: &Table, metric: &str) -> Result<Option<String>, String> {
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
        let (Some(xv), Some(mid)) = (x.position(&row[x_col]), table.number(row, p50)) else { continue };
        let hi = table.number(row, p99).unwrap_or(mid);
        lines[i].1.push((xv, mid, hi));
    }
    let all: Vec<f64> = lines.iter().flat_map(|(_, pts)| pts.iter().flat_map(|&(_, a, b)| [a, b])).collect();
    if all.is_empty() {
        return Ok(None);
    }
    let y_hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let y_lo = all.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
    let y_range = y_lo..if y_hi > y_lo { y_hi + (y_hi - y_lo) * 0.08 } else { y_lo + 1.0 };

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH_PX, HEIGHT_PX)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let title = format!("{metric}: median over seeds, band to p99");
        draw_text(&root, &title, (WIDTH_PX as i32 / 2, 12), 22, Pos::new(HPos::Center, VPos::Top))?;
        let mut chart = ChartBuilder::on(&root)
            .margin_top(44)
            .margin_left(12)
            .margin_bottom(8)
            .margin_right(LEGEND_PX)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(x.range(), y_range)
            .map_err(err)?;
        let x_labels = |v: &f64| match x.categorical {
            true => {
                x.positions.iter().position(|p| (p - v).abs() < 1e-9).map(|i| x.values[i].clone()).unwrap_or_default()
            }
            false => tick(v),
        };
        chart
            .configure_mesh()
            .x_desc(x.label.as_str())
            .y_desc(metric)
            .x_labels(if x.categorical { x.values.len() } else { 10 })
            .x_label_formatter(&x_labels)
            .y_label_formatter(&tick)
            .label_style((FONT, 16))
            .axis_desc_style((FONT, 18))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (i, (_, points)) in lines.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            if points.len() > 1 {
                let mut band: Vec<(f64, f64)> = points.iter().map(|&(x, _, hi)| (x, hi)).collect();
                band.extend(points.iter().rev().map(|&(x, mid, _)| (x, mid)));
                chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.18).filled()))).map_err(err)?;
            } else {
                // One x value: the band is a bar from the median to p99.
                chart
                    .draw_series(
                        points.iter().map(|&(x, mid, hi)| {
                            PathElement::new(vec![(x, mid), (x, hi)], color.mix(0.4).stroke_width(8))
                        }),
                    )
                    .map_err(err)?;
            }
            chart
                .draw_series(LineSeries::new(points.iter().map(|&(x, mid, _)| (x, mid)), color.stroke_width(2)))
                .map_err(err)?;
            chart
                .draw_series(points.iter().map(|&(x, mid, _)| Circle::new((x, mid), 3, color.filled())))
                .map_err(err)?;
        }
        let legend_x = (WIDTH_PX - LEGEND_PX + 16) as i32;
        let mut y = 60;
        for (i, (key, _)) in lines.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            root.draw(&Rectangle::new([(legend_x, y - 5), (legend_x + 18, y + 5)], color.filled())).map_err(err)?;
            let label = if key.is_empty() { "median (band: p50 to p99)".to_string() } else { key.clone() };
            draw_text(&root, &label, (legend_x + 24, y), 15, Pos::new(HPos::Left, VPos::Center))?;
            y += 22;
        }
        if null_runs > 0 {
            let runs = if null_runs == 1 { "run" } else { "runs" };
            let note = format!("{null_runs} {runs} with no value (null) not drawn");
            draw_text(&root, &note, (legend_x, y + 8), 15, Pos::new(HPos::Left, VPos::Center))?;
        }
        root.present().map_err(err)?;
    }
    Ok(Some(svg))
}

/// Column `stat` (e.g. `faults[broker-a].stale_window_s.p99`) over the two parameters, one
/// cell per grid point, darker for larger values; null cells grey.
fn heatmap(table: &Table, stat: &str) -> Result<String, String> {
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

    let (left, top, right, bottom) = (200i32, 60i32, WIDTH_PX as i32 - 40, HEIGHT_PX as i32 - 80);
    let cell_w = (right - left) / xs.len().max(1) as i32;
    let cell_h = (bottom - top) / ys.len().max(1) as i32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH_PX, HEIGHT_PX)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let title = match stat.rsplit_once('.') {
            Some((metric, q)) => format!("{metric}: {q} over seeds"),
            None => stat.to_string(),
        };
        draw_text(&root, &title, (WIDTH_PX as i32 / 2, 12), 22, Pos::new(HPos::Center, VPos::Top))?;
        for &(xi, yi, v) in &cells {
            let (x0, y0) = (left + xi as i32 * cell_w, top + yi as i32 * cell_h);
            let fill = match v {
                // White to dark red: the worse (longer) the stale window, the darker.
                Some(v) => {
                    let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                    let shade = |full: f64, dark: f64| (full + (dark - full) * t).round() as u8;
                    RGBColor(shade(255.0, 165.0), shade(245.0, 15.0), shade(235.0, 21.0))
                }
                None => RGBColor(200, 200, 200),
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
            draw_text(&root, v, at, 16, Pos::new(HPos::Center, VPos::Top))?;
        }
        for (i, v) in ys.iter().enumerate() {
            let at = (left - 10, top + i as i32 * cell_h + cell_h / 2);
            draw_text(&root, v, at, 16, Pos::new(HPos::Right, VPos::Center))?;
        }
        draw_text(&root, &table.params[0], ((left + right) / 2, bottom + 36), 18, Pos::new(HPos::Center, VPos::Top))?;
        let y_name = text_style(18, Pos::new(HPos::Center, VPos::Top)).transform(FontTransform::Rotate270);
        root.draw(&Text::new(table.params[1].clone(), (24, (top + bottom) / 2), y_name)).map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
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
    fn draws_without_a_font() {
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
        assert_eq!(names, ["chart.broker-a.stale_window_s.svg", "heatmap.broker-a.stale_window_s.p99.svg"]);
        let chart = std::fs::read_to_string(&written[0]).unwrap();
        assert!(chart.contains("timing.broker_heartbeat (s)"));
        assert!(chart.contains("3 runs with no value"));
        let heatmap = std::fs::read_to_string(&written[1]).unwrap();
        assert!(heatmap.contains(">\nnull\n<") && heatmap.contains("rotate(270"));
    }
}
