//! A sweep's `index.html`: the best and worst grid points by each fault's p99 stale window,
//! the grid as a table (a few columns per fault, the rest is in `points.csv`), links to the
//! data files and every chart as PNG linking its SVG. Like a run's page it loads nothing from
//! elsewhere and depends only on the files beside it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{DrawnChart, Table, plain};
use crate::output::charts::numfmt::{num, opt_num};
use crate::output::charts::{escape, page_start};

const DATA_FILES: [(&str, &str); 3] = [
    ("runs.csv", "one row per run (grid point and seed): every scalar metric"),
    ("points.csv", "one row per grid point: each summarised metric's p50, p90, p99, max and nulls over seeds"),
    ("sweep.json", "the scenario, its hash, the seeds and the grid"),
];

/// Per grid point, the columns the page's table shows, as (heading, points.csv column).
fn shown_columns(table: &Table) -> Vec<(String, String)> {
    let mut columns = Vec::new();
    for metric in &table.metrics {
        let stats: &[&str] = match metric.rsplit_once("].").map(|(_, field)| field) {
            Some("stale_window_s") => &["p50", "p99"],
            Some("failed_sends") => &["p50"],
            _ => continue,
        };
        let (name, unit) = plain(metric);
        for stat in stats {
            columns.push((format!("{name}, {stat} ({unit})"), format!("{metric}.{stat}")));
        }
    }
    columns
}

/// The grid point as `path = value` pairs.
fn settings(table: &Table, row: &[String]) -> String {
    table.params.iter().enumerate().map(|(i, p)| format!("{p} = {}", row[i + 1])).collect::<Vec<_>>().join(", ")
}

/// One sentence per fault: its best and worst point by p99 stale window over seeds.
fn headline(table: &Table) -> String {
    let mut html = String::new();
    for metric in table.metrics.iter().filter(|m| m.starts_with("faults[") && m.ends_with("].stale_window_s")) {
        let column = table.column(&format!("{metric}.p99"));
        let mut valued: Vec<(f64, &Vec<String>)> =
            table.rows.iter().filter_map(|row| Some((table.number(row, column)?, row))).collect();
        // Of equal values, the first grid point is named (the sort is stable).
        valued.sort_by(|a, b| a.0.total_cmp(&b.0));
        let worst = valued.last().and_then(|(max, _)| valued.iter().find(|(v, _)| v == max));
        let (Some((best, best_row)), Some((worst, worst_row))) = (valued.first(), worst) else { continue };
        let (name, _) = plain(metric);
        let _ = writeln!(
            html,
            "<p class=\"headline\"><strong>{}, p99 over seeds: best {} s, worst {} s.</strong> Best at point {} ({}); \
             worst at point {} ({}).</p>",
            escape(&super::capitalised(&name)),
            num(*best, 1),
            num(*worst, 1),
            escape(&best_row[0]),
            escape(&settings(table, best_row)),
            escape(&worst_row[0]),
            escape(&settings(table, worst_row)),
        );
    }
    if html.is_empty() {
        html.push_str(
            "<p class=\"headline\">No fault took a broker out of service at any point: no stale window to rank.</p>\n",
        );
    }
    html
}

/// Writes `index.html` into the sweep directory `dir`, showing `charts` in their order.
pub(super) fn write(dir: &Path, table: &Table, charts: &[DrawnChart]) -> Result<PathBuf, String> {
    let sweep: serde_json::Value = std::fs::read_to_string(dir.join("sweep.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    let scenario = sweep["scenario"].as_str().unwrap_or("sweep");
    let title = format!("routesim sweep: {scenario}");
    let mut html = page_start(&title);
    html.push_str(&headline(table));
    let seeds = &sweep["seeds"];
    let _ = writeln!(
        html,
        "<p>{} grid points × {} seeds ({}..={}) = {} runs; every figure below is over a point's seeds.</p>",
        table.rows.len(),
        seeds["count"],
        seeds["first"],
        seeds["last"],
        sweep["runs"]
    );
    grid(&mut html, table);
    html.push_str("<h2>Charts</h2>\n");
    for chart in charts {
        let _ = writeln!(
            html,
            "<figure><a href=\"{stem}.svg\"><img src=\"{stem}.png\" width=\"{}\" height=\"{}\" alt=\"{caption}\"></a>\
             <figcaption>{caption} (<a href=\"{stem}.svg\">SVG</a>)</figcaption></figure>",
            super::WIDTH_PX,
            super::HEIGHT_PX,
            stem = escape(&chart.stem),
            caption = escape(&chart.caption),
        );
    }
    if charts.is_empty() {
        html.push_str("<p class=\"note\">No charts: nothing varies, or no point has a value.</p>\n");
    }
    html.push_str("<h2>Files</h2>\n<ul>\n");
    for (file, what) in DATA_FILES {
        let _ = writeln!(html, "<li><a href=\"{file}\">{file}</a>: {what}</li>");
    }
    html.push_str("</ul>\n</body>\n</html>\n");
    let path = dir.join("index.html");
    std::fs::write(&path, html).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// The grid: one row per point, its values, runs and the shown columns.
fn grid(html: &mut String, table: &Table) {
    let columns = shown_columns(table);
    html.push_str("<h2>Grid</h2>\n<table>\n<tr><th>point</th>");
    for param in &table.params {
        // A break after each dot and underscore, so a long path wraps inside its column.
        let breakable = escape(param).replace('.', ".<wbr>").replace('_', "_<wbr>");
        let _ = write!(html, "<th class=\"t\">{breakable}</th>");
    }
    html.push_str("<th>runs</th>");
    for (heading, _) in &columns {
        let _ = write!(html, "<th>{}</th>", escape(heading));
    }
    html.push_str("</tr>\n");
    let runs = table.column("runs");
    for row in &table.rows {
        let _ = write!(html, "<tr><td>{}</td>", escape(&row[0]));
        for value in &row[1..=table.params.len()] {
            let _ = write!(html, "<td class=\"t\">{}</td>", escape(value));
        }
        let _ = write!(html, "<td>{}</td>", opt_num(table.number(row, runs), 0));
        for (_, column) in &columns {
            let _ = write!(html, "<td>{}</td>", opt_num(table.number(row, table.column(column)), 1));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
}
