//! `routesim compare`'s files (README, "Compare"): `compare.csv` (every metric: the value per
//! input, then its delta and ratio against the first input), the overlaid charts of the
//! inputs that are runs, as SVG and PNG, and `index.html`; and the table printed on stdout.

use std::fmt::Write as _;
use std::path::Path;

use super::charts::numfmt::num;
use super::charts::{self, Overlay, chart_files_item, escape, page_start};
use super::{Kind, OutputError, io_error, write_dir_atomically};
use crate::compare::{Comparison, Row};

/// Writes the comparison's directory `out` atomically; returns warnings (charts that could not
/// be drawn), which do not fail the command.
pub fn write(out: &Path, c: &Comparison) -> Result<Vec<String>, OutputError> {
    let mut warnings = Vec::new();
    write_dir_atomically(out, Kind::Compare, |dir| {
        write_csv(&dir.join("compare.csv"), c)?;
        let runs: Vec<(&str, &Path)> =
            c.inputs.iter().filter_map(|i| i.run_dir().map(|d| (i.label.as_str(), d))).collect();
        let drawn = match runs.is_empty() {
            true => false,
            false => match charts::draw_overlays(dir, &runs) {
                Ok(_) => true,
                Err(e) => {
                    warnings.push(format!("charts not drawn: {e}"));
                    false
                }
            },
        };
        let path = dir.join("index.html");
        std::fs::write(&path, page(c, drawn)).map_err(io_error(&path))
    })?;
    Ok(warnings)
}

/// A value as the table shows it: integers whole, others to the thousandth, null as "—".
fn shown(v: Option<f64>) -> String {
    match v {
        None => "—".to_string(),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Some(v) => num(v, 3),
    }
}

fn shown_delta(v: Option<f64>) -> String {
    match v {
        Some(d) if d > 0.0 => format!("+{}", shown(Some(d))),
        other => shown(other),
    }
}

/// The headings of the delta and ratio columns of input `i` (not the first).
fn change_headings(c: &Comparison, i: usize) -> (String, String) {
    match c.inputs.len() {
        2 => ("delta".into(), "ratio".into()),
        _ => (format!("delta {}", c.inputs[i].label), format!("ratio {}", c.inputs[i].label)),
    }
}

/// One table line per metric every input has: name, values, deltas, ratios.
fn cells(c: &Comparison, row: &Row) -> Vec<String> {
    let others = 1..c.inputs.len();
    let mut line = vec![row.metric.clone()];
    line.extend(row.values.iter().map(|v| shown(*v)));
    line.extend(others.clone().map(|i| shown_delta(row.delta(i))));
    line.extend(others.map(|i| shown(row.ratio(i))));
    line
}

fn headings(c: &Comparison) -> Vec<String> {
    let mut line = vec!["metric".to_string()];
    line.extend(c.inputs.iter().map(|i| i.label.clone()));
    let changes: Vec<(String, String)> = (1..c.inputs.len()).map(|i| change_headings(c, i)).collect();
    line.extend(changes.iter().map(|(d, _)| d.clone()));
    line.extend(changes.into_iter().map(|(_, r)| r));
    line
}

/// The metrics some input lacks, as a sentence (empty when there are none).
fn not_in_all(c: &Comparison) -> Option<String> {
    let missing: Vec<&str> = c.rows.iter().filter(|r| !r.in_all).map(|r| r.metric.as_str()).collect();
    if missing.is_empty() {
        return None;
    }
    let shown: Vec<&str> = missing.iter().take(8).copied().collect();
    let more = if missing.len() > shown.len() { ", …" } else { "" };
    Some(format!(
        "{} metrics are not in every input and are not compared (they are in compare.csv): {}{more}",
        missing.len(),
        shown.join(", ")
    ))
}

/// The table `routesim compare` prints: the inputs, then one line per metric every input has.
pub fn render_table(c: &Comparison) -> String {
    let mut out = String::new();
    for input in &c.inputs {
        let _ = writeln!(out, "{}: {}", input.label, input.describe());
    }
    let mut lines = vec![headings(c)];
    lines.extend(c.rows.iter().filter(|r| r.in_all).map(|r| cells(c, r)));
    let columns = lines[0].len();
    let widths: Vec<usize> =
        (0..columns).map(|k| lines.iter().map(|l| l[k].chars().count()).max().unwrap_or(0)).collect();
    out.push('\n');
    for line in &lines {
        let mut text = String::new();
        for (k, cell) in line.iter().enumerate() {
            let pad = widths[k] - cell.chars().count();
            match k {
                0 => text.push_str(&format!("{cell}{}", " ".repeat(pad))),
                _ => text.push_str(&format!("  {}{cell}", " ".repeat(pad))),
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    }
    if lines.len() == 1 {
        out.push_str("(no metric is in every input)\n");
    }
    if let Some(note) = not_in_all(c) {
        let _ = writeln!(out, "\n{note}");
    }
    out
}

/// Every metric of any input; empty cells where an input lacks it or it is null. Values in
/// Rust's shortest round-trip form, as in a sweep's CSV files.
fn write_csv(path: &Path, c: &Comparison) -> Result<(), OutputError> {
    let csv_error = |source| OutputError::Csv { path: path.to_path_buf(), source };
    let mut w = csv::Writer::from_path(path).map_err(csv_error)?;
    let mut header = vec!["metric".to_string()];
    header.extend(c.inputs.iter().map(|i| i.label.clone()));
    header.extend(c.inputs.iter().skip(1).map(|i| format!("delta.{}", i.label)));
    header.extend(c.inputs.iter().skip(1).map(|i| format!("ratio.{}", i.label)));
    w.write_record(&header).map_err(csv_error)?;
    let cell = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for row in &c.rows {
        let mut record = vec![row.metric.clone()];
        record.extend(row.values.iter().map(|v| cell(*v)));
        record.extend((1..c.inputs.len()).map(|i| cell(row.delta(i))));
        record.extend((1..c.inputs.len()).map(|i| cell(row.ratio(i))));
        w.write_record(&record).map_err(csv_error)?;
    }
    w.flush().map_err(io_error(path))
}

/// The page's first lines: each fault's stale window and failed sends, input by input.
fn headline(c: &Comparison) -> String {
    let compared: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| r.in_all && r.metric.starts_with("faults[") && r.metric.ends_with("].stale_window_s"))
        .collect();
    if compared.is_empty() {
        return "<p class=\"headline\">No fault's stale window is in every input: the table below compares what they share.</p>\n".into();
    }
    let mut html = String::new();
    for row in compared {
        let fault = row.metric.trim_start_matches("faults[").trim_end_matches("].stale_window_s");
        let sends = c.rows.iter().find(|r| r.metric == format!("faults[{fault}].failed_sends"));
        let per_input: Vec<String> = c
            .inputs
            .iter()
            .enumerate()
            .map(|(i, input)| {
                let window = row.values[i].map_or("no stale attempt".to_string(), |w| format!("{} s", num(w, 1)));
                let failed = sends.map_or(String::new(), |s| format!(", {} failed sends", shown(s.values[i])));
                format!("<strong>{}</strong> {window}{failed}", escape(&input.label))
            })
            .collect();
        let change = match (row.delta(1), c.inputs.len()) {
            (Some(d), 2) => format!(" ({} s against the first)", shown_delta(Some((d * 10.0).round() / 10.0))),
            _ => String::new(),
        };
        let _ = writeln!(
            html,
            "<p class=\"headline\">Stale window after {}: {}{change}.</p>",
            escape(fault),
            per_input.join("; ")
        );
    }
    html
}

fn page(c: &Comparison, charts_drawn: bool) -> String {
    let labels: Vec<&str> = c.inputs.iter().map(|i| i.label.as_str()).collect();
    let title = format!("routesim compare: {}", labels.join(" vs "));
    let mut html = page_start(&title);
    html.push_str(&headline(c));
    html.push_str("<h2>Inputs</h2>\n<table>\n");
    for input in &c.inputs {
        let _ = writeln!(
            html,
            "<tr><th class=\"t\">{}</th><td class=\"t\">{}</td></tr>",
            escape(&input.label),
            escape(&input.describe())
        );
    }
    html.push_str("</table>\n<h2>Differences</h2>\n");
    let _ = writeln!(
        html,
        "<p class=\"note\">Deltas and ratios are against the first input, {}; “—”: null (e.g. no stale attempt) or no ratio against 0.</p>",
        escape(labels[0])
    );
    html.push_str("<table>\n<tr>");
    for (k, heading) in headings(c).iter().enumerate() {
        let class = if k == 0 { " class=\"t\"" } else { "" };
        let _ = write!(html, "<th{class}>{}</th>", escape(heading));
    }
    html.push_str("</tr>\n");
    for row in c.rows.iter().filter(|r| r.in_all) {
        html.push_str("<tr>");
        for (k, cell) in cells(c, row).iter().enumerate() {
            let class = if k == 0 { " class=\"t\"" } else { "" };
            let _ = write!(html, "<td{class}>{}</td>", escape(cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
    if let Some(note) = not_in_all(c) {
        let _ = writeln!(html, "<p class=\"note\">{}</p>", escape(&note));
    }
    html.push_str("<h2>Charts</h2>\n");
    if c.inputs.iter().any(|i| i.run_dir().is_none()) {
        html.push_str(
            "<p class=\"note\">A sweep point keeps no time series: the charts show the inputs that are runs.</p>\n",
        );
    }
    if charts_drawn {
        for which in Overlay::ALL {
            let _ = writeln!(
                html,
                "<figure><img src=\"{stem}.png\" width=\"1200\" height=\"700\" alt=\"{alt}\">\
                 <figcaption>{alt} (<a href=\"{stem}.svg\">SVG</a>)</figcaption></figure>",
                stem = which.stem(),
                alt = escape(which.subject())
            );
        }
    } else {
        html.push_str("<p class=\"note\">No charts: no input is a run with its files.</p>\n");
    }
    html.push_str("<h2>Files</h2>\n<ul>\n<li><a href=\"compare.csv\">compare.csv</a>: every metric of any input, its value per input, delta and ratio against the first</li>\n");
    if charts_drawn {
        for which in Overlay::ALL {
            chart_files_item(&mut html, which.stem(), which.subject());
        }
    }
    html.push_str("</ul>\n</body>\n</html>\n");
    html
}
