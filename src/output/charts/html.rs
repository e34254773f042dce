//! index.html: a static page (no script, nothing loaded from elsewhere): a headline of what the
//! first fault cost, the explain sentences, the summary tables from summary.json, the charts as
//! PNG (drawn with the bundled font, so they look the same in every browser, with the SVG a
//! click away) and links to every data file. Tables are split so that none is wider than a
//! 1400 px window.

use std::fmt::Write as _;

use super::Chart;
use super::data::{FaultSummary, Summary};
use super::numfmt::{num, opt_num};

/// Seconds and milliseconds are shown to the millisecond / microsecond; the files hold at most
/// six decimals, more would be noise on a summary page.
const DECIMALS: usize = 3;

/// Escapes text for element content and double- or single-quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    crate::output::xml_escape(s, true)
}

fn count(v: u64) -> String {
    v.to_string()
}

fn secs(v: impl Into<Option<f64>>) -> String {
    opt_num(v.into(), DECIMALS)
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:1.5em;color:#1e1e1e;max-width:1240px}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}\
th,td{border:1px solid #ccc;padding:0.25em 0.5em;text-align:right}td.t{white-space:nowrap}\
th{background:#f2f2f2;max-width:8em;font-weight:600}td.t,th.t{text-align:left}\
figure{margin:1em 0}img{width:1200px;max-width:100%;height:auto;border:1px solid #ddd}\
.headline{font-size:1.15em;line-height:1.5;max-width:60em}\
.explain{background:#f7f7f7;border-left:4px solid #0072b2;padding:0.5em 1em;max-width:70em}\
.note{color:#555;font-size:0.9em}.wide{overflow-x:auto}";

/// The data files a run directory holds (docs/OUTPUT.md), linked from the page.
const DATA_FILES: [(&str, &str); 5] = [
    ("summary.json", "every metric, per fault and in total, with the explain sections"),
    ("timeseries.csv", "per second: attempts, failed attempts, sends, failed sends"),
    ("detection.csv", "per fault and NameServer: detection latency and the closed-form window"),
    ("convergence.csv", "per fault and client: route convergence time"),
    ("timeline.csv", "per node: process state and route intervals"),
];

/// Every page's start, to its `<h1>`: the run's, a sweep's and a comparison's pages share the
/// style.
pub(crate) fn page_start(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n",
        t = escape(title)
    )
}

/// The whole page. Output depends only on `summary`, so it is as reproducible as the run.
/// `drawn`: the charts the run has, in page order.
pub(crate) fn index_page(summary: &Summary, drawn: &[Chart]) -> String {
    let mut page = String::new();
    let title = format!("routesim: {} (seed {})", summary.scenario, summary.seed);
    // Writing into a String cannot fail; the results of write! are ignored on that ground.
    page.push_str(&page_start(&title));
    headline(&mut page, summary);
    explain(&mut page, summary);
    run_facts(&mut page, summary);
    faults_table(&mut page, summary);
    detection_table(&mut page, summary);
    totals_table(&mut page, summary);
    false_removals_table(&mut page, summary);
    load_table(&mut page, summary);
    page.push_str("<h2>Charts</h2>\n");
    for &chart in drawn {
        let stem = chart.stem();
        let _ = writeln!(
            page,
            "<figure><img src=\"{stem}.png\" width=\"1200\" height=\"700\" alt=\"{alt}\">\
             <figcaption>{alt} (<a href=\"{stem}.svg\">SVG</a>)</figcaption></figure>",
            alt = escape(chart.subject()),
        );
    }
    page.push_str("<h2>Files</h2>\n<ul>\n");
    for (file, what) in DATA_FILES {
        let _ = writeln!(page, "<li><a href=\"{file}\">{file}</a>: {what}</li>");
    }
    if drawn.contains(&Chart::ConsumeGap) {
        let what = "per second and consumer group: its queues waiting for a reader";
        let _ = writeln!(page, "<li><a href=\"reads.csv\">reads.csv</a>: {what}</li>");
    }
    for &chart in drawn {
        chart_files_item(&mut page, chart.stem(), chart.subject());
    }
    page.push_str("</ul>\n</body>\n</html>\n");
    page
}

/// A page's list item linking a chart's PNG and SVG, with what it shows.
pub(crate) fn chart_files_item(page: &mut String, stem: &str, subject: &str) {
    let _ = writeln!(
        page,
        "<li><a href=\"{stem}.png\">{stem}.png</a>, <a href=\"{stem}.svg\">{stem}.svg</a>: {}</li>",
        escape(subject)
    );
}

/// The fault as a user named it: a crash's mode ("power-off") says more than "crash".
fn fault_kind(fault: &FaultSummary) -> String {
    match &fault.mode {
        Some(mode) => format!("{} ({})", fault.kind, mode),
        None => fault.kind.clone(),
    }
}

/// What the first fault that took a broker out of service cost, in figures and a sentence.
fn headline(page: &mut String, s: &Summary) {
    let Some(fault) = s.faults.iter().find(|f| !f.subjects.is_empty()) else {
        let _ = writeln!(
            page,
            "<p class=\"headline\">No fault took a broker out of service: {} failed sends in all, {} false removals.</p>",
            count(s.totals.failed_sends),
            count(s.totals.false_removals)
        );
        return;
    };
    let id = escape(&fault.id);
    let at = num(fault.at_s, 1);
    let kind = escape(&fault_kind(fault));
    let sentence = match fault.stale_window_s {
        Some(w) => format!(
            "<strong>Stale window {} s, {} failed sends.</strong> After {id} ({kind}) at {at} s, \
             producers kept sending to it for {} s because their routes still listed it; {} of \
             those sends failed even after retries, and {} were saved by a retry.",
            num(w, 1),
            count(fault.failed_sends),
            num(w, 1),
            count(fault.failed_sends),
            count(fault.recovered_by_retry),
        ),
        None => format!(
            "<strong>No stale attempt.</strong> After {id} ({kind}) at {at} s, no producer sent to it \
             while it was out of service."
        ),
    };
    let _ = writeln!(page, "<p class=\"headline\">{sentence}</p>");
}

/// summary.json's explain sentences: the chain of events behind each stale window.
fn explain(page: &mut String, s: &Summary) {
    let explained: Vec<&FaultSummary> =
        s.faults.iter().filter(|f| f.explain.as_ref().is_some_and(|e| !e.text.is_empty())).collect();
    if explained.is_empty() {
        return;
    }
    page.push_str("<h2>Why</h2>\n");
    for fault in explained {
        let _ = writeln!(
            page,
            "<div class=\"explain\"><p><strong>{} ({} at {} s)</strong></p><ul>",
            escape(&fault.id),
            escape(&fault_kind(fault)),
            num(fault.at_s, 1)
        );
        for line in fault.explain.iter().flat_map(|e| &e.text) {
            let _ = writeln!(page, "<li>{}</li>", escape(line));
        }
        page.push_str("</ul></div>\n");
    }
}

fn run_facts(page: &mut String, s: &Summary) {
    let mut facts = vec![
        ("scenario", escape(&s.scenario)),
        ("seed", s.seed.to_string()),
        ("duration", format!("{} s", num(s.duration_s, DECIMALS))),
    ];
    facts.push(("preset", escape(&s.preset)));
    facts.push(("routesim", escape(&s.routesim_version)));
    if !s.nameservers.is_empty() {
        facts.push(("NameServers", escape(&s.nameservers.join(", "))));
    }
    page.push_str("<table>\n");
    for (name, value) in facts {
        let _ = writeln!(page, "<tr><th class=\"t\">{name}</th><td class=\"t\">{value}</td></tr>");
    }
    page.push_str("</table>\n");
}

/// NameServer columns: summary.json's list, then any other name a fault mentions, sorted.
fn detection_columns(s: &Summary) -> Vec<String> {
    let mut columns = s.nameservers.clone();
    let mut extra: Vec<&String> =
        s.faults.iter().flat_map(|f| f.detection_s.keys()).filter(|ns| !s.nameservers.contains(ns)).collect();
    extra.sort();
    extra.dedup();
    columns.extend(extra.into_iter().cloned());
    columns
}

fn detection_cell(fault: &FaultSummary, ns: &str) -> String {
    match fault.detection_s.get(ns) {
        Some(Some(d)) => num(*d, DECIMALS),
        Some(None) => "not removed".to_string(),
        None => "—".to_string(),
    }
}

fn faults_table(page: &mut String, s: &Summary) {
    page.push_str("<h2>Faults</h2>\n");
    if s.faults.is_empty() {
        page.push_str("<p class=\"note\">The scenario has no faults.</p>\n");
        return;
    }
    page.push_str(
        "<div class=\"wide\"><table>\n<tr><th class=\"t\">id</th><th class=\"t\">kind</th>\
         <th class=\"t\">target</th><th>at (s)</th><th>stale window (s)</th><th>stale attempts</th>\
         <th>failed attempts</th><th>failed sends</th><th>recovered by retry</th>\
         <th>added latency p50 (ms)</th><th>p99 (ms)</th><th>max (ms)</th></tr>\n",
    );
    for fault in &s.faults {
        let latency = fault.added_latency_ms;
        let _ = writeln!(
            page,
            "<tr><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&fault.id),
            escape(&fault_kind(fault)),
            escape(&fault.target),
            num(fault.at_s, DECIMALS),
            secs(fault.stale_window_s),
            count(fault.stale_attempts),
            count(fault.failed_attempts),
            count(fault.failed_sends),
            count(fault.recovered_by_retry),
            secs(latency.p50),
            secs(latency.p99),
            secs(latency.max),
        );
    }
    page.push_str("</table></div>\n");
}

/// Detection per NameServer and client convergence: a table of its own, so that a fleet with
/// many NameServers widens this one only.
fn detection_table(page: &mut String, s: &Summary) {
    if s.faults.is_empty() {
        return;
    }
    let ns_columns = detection_columns(s);
    page.push_str("<h2>Detection and convergence</h2>\n<div class=\"wide\"><table>\n<tr><th class=\"t\">id</th><th class=\"t\">subjects</th>");
    for ns in &ns_columns {
        let _ = write!(page, "<th>removed by {} after (s)</th>", escape(ns));
    }
    page.push_str(
        "<th>detection window (s)</th><th>convergence p50 (s)</th><th>p99 (s)</th><th>max (s)</th>\
         <th>never / clients</th></tr>\n",
    );
    for fault in &s.faults {
        let subjects = if fault.subjects.is_empty() { "—".to_string() } else { fault.subjects.join(", ") };
        let _ =
            write!(page, "<tr><td class=\"t\">{}</td><td class=\"t\">{}</td>", escape(&fault.id), escape(&subjects));
        for ns in &ns_columns {
            let _ = write!(page, "<td>{}</td>", escape(&detection_cell(fault, ns)));
        }
        let window = fault
            .detection_window_s
            .map_or_else(|| "—".to_string(), |w| format!("{}–{}", num(w.lo, DECIMALS), num(w.hi, DECIMALS)));
        let conv = fault.convergence_s;
        let never = format!("{} / {}", conv.never, conv.clients);
        let _ = writeln!(
            page,
            "<td>{window}</td><td>{}</td><td>{}</td><td>{}</td><td>{never}</td></tr>",
            secs(conv.p50),
            secs(conv.p99),
            secs(conv.max),
        );
    }
    page.push_str("</table></div>\n");
    page.push_str(
        "<p class=\"note\">Detection and convergence are seconds after the fault. \
         “not removed”: that NameServer still listed the broker at the end of the run; \
         “—”: no value applies.</p>\n",
    );
}

fn totals_table(page: &mut String, s: &Summary) {
    let t = &s.totals;
    let rows = [
        ("events", count(t.events)),
        ("sends", count(t.sends)),
        ("attempts", count(t.attempts)),
        ("failed attempts", count(t.failed_attempts)),
        ("failed sends", count(t.failed_sends)),
        ("false removals", count(t.false_removals)),
        ("longest false removal (s)", secs(t.false_removal_missing_s_max)),
    ];
    page.push_str("<h2>Totals</h2>\n<table>\n");
    for (name, value) in rows {
        let _ = writeln!(page, "<tr><th class=\"t\">{name}</th><td>{value}</td></tr>");
    }
    page.push_str("</table>\n");
}

fn false_removals_table(page: &mut String, s: &Summary) {
    if s.false_removals.is_empty() {
        return;
    }
    page.push_str(
        "<h2>False removals</h2>\n<table>\n<tr><th class=\"t\">NameServer</th>\
         <th class=\"t\">broker</th><th>at (s)</th><th>missing for (s)</th></tr>\n",
    );
    for r in &s.false_removals {
        let _ = writeln!(
            page,
            "<tr><td class=\"t\">{}</td><td class=\"t\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.nameserver),
            escape(&r.broker),
            num(r.at_s, DECIMALS),
            secs(r.missing_s)
        );
    }
    page.push_str("</table>\n");
}

fn load_table(page: &mut String, s: &Summary) {
    if s.nameserver_load.is_empty() {
        return;
    }
    page.push_str(
        "<h2>NameServer load</h2>\n<table>\n<tr><th class=\"t\">NameServer</th>\
         <th>requests</th><th>requests / s</th></tr>\n",
    );
    for (ns, load) in &s.nameserver_load {
        let _ = writeln!(
            page,
            "<tr><td class=\"t\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(ns),
            count(load.requests),
            secs(load.requests_per_s)
        );
    }
    page.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
    }
}
