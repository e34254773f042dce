//! What explore writes: `explore.json` (the figures), `index.html` (the same, for a browser)
//! and `shrunk/*.yaml` (each shrunk schedule as a plain scenario that `routesim run` replays
//! and whose `expect:` line fails on it). No wall-clock figure goes in: the bytes depend on the
//! scenario, the seed and the run count alone.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::output::{self, OutputError, io_error, xml_escape};
use crate::scenario::explore::{Schedule, fault_yaml};

use super::shrink::Shrunk;
use super::{Bounds, Exploration, Explorer, RunRecord, SOMETIMES, WORST_LISTED};

#[derive(Serialize)]
struct Report<'a> {
    scenario: &'a str,
    routesim_version: &'static str,
    explore_seed: u64,
    runs: usize,
    objective: &'static str,
    bounds: Bounds,
    worst: Vec<Listed<'a>>,
    properties: Vec<Property<'a>>,
    sometimes: Vec<Sometimes>,
    shrunk: Vec<ShrunkEntry<'a>>,
}

#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    record: &'a RunRecord,
    faults: Vec<String>,
}

#[derive(Serialize)]
struct Property<'a> {
    property: &'a str,
    violated_runs: usize,
    first_run: u64,
    first_detail: &'a str,
}

#[derive(Serialize)]
struct Sometimes {
    property: &'static str,
    runs: usize,
    first_run: Option<u64>,
}

#[derive(Serialize)]
struct ShrunkEntry<'a> {
    goal: String,
    run: u64,
    seed: u64,
    faults_before: usize,
    faults_after: usize,
    objective_before: f64,
    objective_after: f64,
    stale_window_s: Option<f64>,
    reruns: usize,
    exhausted: bool,
    file: &'a str,
    expect: Option<&'a str>,
    faults: Vec<String>,
}

fn fault_lines(schedule: &Schedule) -> Vec<String> {
    schedule.faults.iter().map(fault_yaml).collect()
}

/// Writes the report into `dir` atomically; `source` is the scenario's text, which the shrunk
/// scenarios copy but for their faults, seed and expectations.
pub fn write(dir: &Path, explorer: &Explorer, exploration: &Exploration, source: &str) -> Result<(), OutputError> {
    let name = &explorer.checked.scenario.world.name;
    let violated = exploration.violated();
    let report = Report {
        scenario: name,
        routesim_version: env!("CARGO_PKG_VERSION"),
        explore_seed: explorer.seed,
        runs: exploration.runs.len(),
        objective: explorer.spec.objective.name(),
        bounds: explorer.bounds,
        worst: exploration
            .ranked()
            .into_iter()
            .take(WORST_LISTED)
            .map(|record| Listed { record, faults: fault_lines(&explorer.schedule(record.run)) })
            .collect(),
        properties: violated
            .iter()
            .map(|(property, runs)| Property {
                property,
                violated_runs: runs.len(),
                first_run: runs[0].run,
                first_detail: runs[0]
                    .violations
                    .iter()
                    .find(|v| v.property == *property)
                    .map_or("", |v| v.detail.as_str()),
            })
            .collect(),
        sometimes: SOMETIMES
            .iter()
            .enumerate()
            .map(|(i, &property)| {
                let reached: Vec<&RunRecord> = exploration.runs.iter().filter(|r| r.sometimes[i]).collect();
                Sometimes { property, runs: reached.len(), first_run: reached.first().map(|r| r.run) }
            })
            .collect(),
        shrunk: exploration
            .shrunk
            .iter()
            .map(|s| ShrunkEntry {
                goal: s.goal.label(),
                run: s.run,
                seed: s.schedule.seed,
                faults_before: s.faults_before,
                faults_after: s.schedule.faults.len(),
                objective_before: s.objective_before,
                objective_after: s.record.objective,
                stale_window_s: s.record.stale_window_s,
                reruns: s.reruns,
                exhausted: s.exhausted,
                file: &s.file,
                expect: s.expect.as_deref(),
                faults: fault_lines(&s.schedule),
            })
            .collect(),
    };
    output::write_dir_atomically(dir, output::Kind::Explore, |tmp| {
        output::write_json(&tmp.join("explore.json"), &report)?;
        let html = tmp.join("index.html");
        std::fs::write(&html, index_html(&report)).map_err(io_error(&html))?;
        let shrunk_dir = tmp.join("shrunk");
        if !exploration.shrunk.is_empty() {
            std::fs::create_dir_all(&shrunk_dir).map_err(io_error(&shrunk_dir))?;
        }
        for s in &exploration.shrunk {
            let path = tmp.join(&s.file);
            std::fs::write(&path, shrunk_yaml(explorer, s, source)).map_err(io_error(&path))?;
        }
        Ok(())
    })
}

/// Top-level keys a shrunk scenario writes itself; every other line of the source is copied.
const REWRITTEN_KEYS: [&str; 6] = ["name", "seed", "faults", "expect", "explore", "sweep"];

/// The scenario `source` with the shrunk schedule as its faults and seed, and an expectation
/// that fails on it. Block-style YAML is assumed (what `routesim` documents): a top-level key
/// starts a line at column 0 and its block runs to the next such line.
pub fn shrunk_yaml(explorer: &Explorer, s: &Shrunk, source: &str) -> String {
    let world = &explorer.checked.scenario.world;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Shrunk by `routesim explore` from run {} of {} (explore seed {}): {}.",
        s.run,
        explorer.path.display(),
        explorer.seed,
        s.goal.label()
    );
    let _ = writeln!(
        out,
        "# {} faults drawn, {} kept after {} re-runs; stale window {}.",
        s.faults_before,
        s.schedule.faults.len(),
        s.reruns,
        s.record.stale_window_s.map_or("none".to_string(), |w| format!("{w:.1} s"))
    );
    let _ = writeln!(
        out,
        "name: {}-{}",
        world.name,
        Path::new(&s.file).file_stem().map_or_else(String::new, |f| f.to_string_lossy().into_owned())
    );
    let _ = writeln!(out, "seed: {}", s.schedule.seed);
    let mut copying = true;
    for line in source.lines() {
        let top_level = line.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        if top_level {
            let key = line.split(':').next().unwrap_or_default().trim();
            copying = !REWRITTEN_KEYS.contains(&key);
        }
        if copying {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("faults:\n");
    for f in explorer.spec.base_faults.iter().chain(&s.schedule.faults) {
        let _ = writeln!(out, "  - {}", fault_yaml(f));
    }
    if let Some(expect) = &s.expect {
        let _ = writeln!(out, "expect:\n  # Fails on this schedule: what explore found.\n  - {expect}");
    }
    out
}

fn index_html(r: &Report) -> String {
    let e = |s: &str| xml_escape(s, false);
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>explore: {name}</title>\n<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}}code{{font-size:90%}}</style></head><body>\n<h1>explore: {name}</h1>\n<p>{runs} runs, explore seed {seed}, objective <code>{obj}</code>. Single-fault bound (MODEL.md: detection at its latest + one route poll): {b:.1} s; route bound {rb:.1} s; liveness bound {lb:.1} s.</p>\n",
        name = e(r.scenario),
        runs = r.runs,
        seed = r.explore_seed,
        obj = r.objective,
        b = r.bounds.single_fault_stale_window_s,
        rb = r.bounds.route_after_removal_s,
        lb = r.bounds.liveness_s,
    );
    h.push_str("<h2>Worst schedules</h2>\n<table><tr><th>run</th><th>seed</th><th>objective</th><th>stale window (fault)</th><th>violations</th><th>faults</th></tr>\n");
    for w in &r.worst {
        let rec = w.record;
        let violations: Vec<String> = rec.violations.iter().map(|v| e(&v.property)).collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            rec.run,
            rec.seed,
            rec.objective,
            rec.stale_window_s
                .map_or("–".into(), |s| format!("{s:.1} s ({})", e(rec.stale_fault.as_deref().unwrap_or("")))),
            violations.join("<br>"),
            w.faults.iter().map(|f| e(f)).collect::<Vec<_>>().join("<br>")
        );
    }
    h.push_str("</table>\n<h2>Violated properties</h2>\n");
    if r.properties.is_empty() {
        h.push_str("<p>None: every run kept every property.</p>\n");
    } else {
        h.push_str("<table><tr><th>property</th><th>runs</th><th>first run</th><th>first breach</th></tr>\n");
        for p in &r.properties {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(p.property),
                p.violated_runs,
                p.first_run,
                e(p.first_detail)
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h2>Sometimes coverage</h2>\n<table><tr><th>state</th><th>runs</th><th>first run</th></tr>\n");
    for s in &r.sometimes {
        let first = s.first_run.map_or("never".to_string(), |r| r.to_string());
        let _ = writeln!(h, "<tr><td>{}</td><td>{}</td><td>{first}</td></tr>", e(s.property), s.runs);
    }
    h.push_str("</table>\n<h2>Shrunk scenarios</h2>\n<table><tr><th>file</th><th>goal</th><th>run</th><th>faults</th><th>objective</th><th>expect (fails)</th><th>schedule</th></tr>\n");
    for s in &r.shrunk {
        let _ = writeln!(
            h,
            "<tr><td><a href=\"{f}\">{f}</a></td><td>{}</td><td>{}</td><td>{} → {}</td><td>{} → {}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            e(&s.goal),
            s.run,
            s.faults_before,
            s.faults_after,
            s.objective_before,
            s.objective_after,
            e(s.expect.unwrap_or("–")),
            s.faults.iter().map(|f| e(f)).collect::<Vec<_>>().join("<br>"),
            f = e(s.file),
        );
    }
    h.push_str("</table>\n</body></html>\n");
    h
}
