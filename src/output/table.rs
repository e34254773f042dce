//! The short human summary printed after a run.

use std::fmt::Write;

use crate::report::Summary;

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

pub fn render(summary: &Summary) -> String {
    let mut out = String::new();
    let t = &summary.totals;
    let _ = writeln!(
        out,
        "{} seed {} ({}, {:.0}s): {} events, {} sends, {} attempts, {} failed attempts, {} failed sends, {} false removals",
        summary.scenario,
        summary.seed,
        summary.preset,
        summary.duration_s,
        t.events,
        t.sends,
        t.attempts,
        t.failed_attempts,
        t.failed_sends,
        t.false_removals
    );
    let with_subjects: Vec<_> = summary.faults.iter().filter(|f| !f.subjects.is_empty()).collect();
    if !with_subjects.is_empty() {
        let _ = writeln!(
            out,
            "{:<16} {:<10} {:>8} {:>22} {:>28} {:>9} {:>9} {:>8} {:>9} {:>16}",
            "fault",
            "kind",
            "at_s",
            "detection_s min..max",
            "convergence_s p50/p99/max",
            "never",
            "stale_s",
            "failed",
            "recovered",
            "added_ms p50/p99"
        );
    }
    for f in with_subjects {
        let detected: Vec<f64> = f.detection_s.values().flatten().copied().collect();
        let detection = match (detected.iter().copied().reduce(f64::min), detected.iter().copied().reduce(f64::max)) {
            (Some(lo), Some(hi)) => format!("{lo:.1}..{hi:.1} ({}/{})", detected.len(), f.detection_s.len()),
            _ => format!("- (0/{})", f.detection_s.len()),
        };
        let c = &f.convergence_s;
        let kind = match &f.mode {
            Some(mode) => format!("{}:{mode}", f.kind),
            None => f.kind.clone(),
        };
        let _ = writeln!(
            out,
            "{:<16} {:<10} {:>8.1} {:>22} {:>28} {:>9} {:>9} {:>8} {:>9} {:>16}",
            f.id,
            kind,
            f.at_s,
            detection,
            format!("{}/{}/{}", opt(c.p50, 1), opt(c.p99, 1), opt(c.max, 1)),
            format!("{}/{}", c.never, c.clients),
            opt(f.stale_window_s, 1),
            format!("{}/{}", f.failed_sends, f.failed_attempts),
            f.recovered_by_retry,
            format!("{}/{}", opt(f.added_latency_ms.p50, 0), opt(f.added_latency_ms.p99, 0)),
        );
    }
    let others: Vec<String> = summary
        .faults
        .iter()
        .filter(|f| f.subjects.is_empty())
        .map(|f| format!("{} at {:.1}s", f.id, f.at_s))
        .collect();
    if !others.is_empty() {
        let _ = writeln!(out, "other faults (no broker out of service): {}", others.join(", "));
    }
    if !summary.false_removals.is_empty() {
        let _ = writeln!(out, "false removals (NameServer dropped a running broker):");
        for r in summary.false_removals.iter().take(10) {
            let _ = writeln!(
                out,
                "  {} dropped {} at {:.1}s for {:.1}s{}",
                r.nameserver,
                r.broker,
                r.at_s,
                r.missing_s,
                if r.relisted { "" } else { " (until the end)" }
            );
        }
        if summary.false_removals.len() > 10 {
            let _ = writeln!(out, "  ... {} in all (summary.json lists them)", summary.false_removals.len());
        }
    }
    out
}
