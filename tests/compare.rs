//! `routesim compare` end to end: a run against itself differs by nothing; a power-off
//! against a kill of the same broker has the longer stale window; sweep points and runs with
//! different metrics still compare on what they share; bad inputs exit 2 with a fix.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn routesim() -> Command {
    Command::cargo_bin("routesim").expect("binary built")
}

/// A small fleet whose broker-a crashes at 3 min in the given mode.
fn small(mode: &str, target: &str) -> String {
    format!(
        "name: small-{mode}\nduration: 6m\ncluster:\n  nameservers: 2\n  broker_groups: 2\ntopics:\n  - name: t\n\
         producers:\n  - name: p\n    count: 3\n    topic: t\n    rate: 2\nfaults:\n  - at: 3m\n    kind: crash\n    \
         target: {target}\n    mode: {mode}\n"
    )
}

fn run(dir: &Path, name: &str, text: &str) -> PathBuf {
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(&file, text).unwrap();
    let out = dir.join(name);
    routesim().arg("run").arg(&file).arg("-q").arg("--out").arg(&out).assert().success();
    out
}

/// compare.csv as (header, rows).
fn read_csv(dir: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(dir.join("compare.csv")).unwrap();
    let header = reader.headers().unwrap().iter().map(str::to_string).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    (header, rows)
}

fn cell<'a>(header: &[String], row: &'a [String], column: &str) -> &'a str {
    &row[header.iter().position(|h| h == column).unwrap_or_else(|| panic!("no column {column}: {header:?}"))]
}

fn row<'a>(rows: &'a [Vec<String>], metric: &str) -> &'a [String] {
    rows.iter().find(|r| r[0] == metric).unwrap_or_else(|| panic!("no row {metric}"))
}

#[test]
fn a_run_compared_with_itself_differs_by_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let a = run(tmp.path(), "a", &small("power-off", "broker-a"));
    let out = tmp.path().join("cmp");
    routesim()
        .arg("compare")
        .arg(&a)
        .arg(&a)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("a#2").and(predicate::str::contains("faults[broker-a].stale_window_s")));
    let (header, rows) = read_csv(&out);
    assert_eq!(header, ["metric", "a", "a#2", "delta.a#2", "ratio.a#2"]);
    assert!(rows.len() > 10, "{rows:?}");
    for r in &rows {
        assert_eq!(r[1], r[2], "{r:?}");
        let value: Option<f64> = r[1].parse().ok();
        match value {
            None => assert_eq!((r[3].as_str(), r[4].as_str()), ("", ""), "{r:?}"),
            Some(v) => {
                assert_eq!(r[3], "0", "{r:?}");
                assert_eq!(r[4], if v == 0.0 { "" } else { "1" }, "{r:?}");
            }
        }
    }
    assert!(out.join(".routesim-compare").is_file());
    for file in ["index.html", "compare-failed-sends.svg", "compare-failed-sends.png", "compare-convergence-cdf.png"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    // Run again into the same directory: it is ours, so it is replaced.
    routesim().arg("compare").arg(&a).arg(&a).arg("--out").arg(&out).assert().success();
    // A run's directory is not.
    routesim()
        .arg("compare")
        .arg(&a)
        .arg(&a)
        .arg("--out")
        .arg(&a)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("choose another --out"));
    assert!(a.join("summary.json").is_file());
}

#[test]
fn a_power_off_has_the_longer_stale_window_than_a_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let kill = run(tmp.path(), "kill", &small("kill", "broker-a"));
    let power_off = run(tmp.path(), "power-off", &small("power-off", "broker-a"));
    for (first, second, sign) in [(&kill, &power_off, 1.0), (&power_off, &kill, -1.0)] {
        let out = tmp.path().join("cmp");
        routesim().arg("compare").arg(first).arg(second).arg("--out").arg(&out).assert().success();
        let (header, rows) = read_csv(&out);
        let label = second.file_name().unwrap().to_string_lossy().into_owned();
        let stale = row(&rows, "faults[broker-a].stale_window_s");
        let delta: f64 = cell(&header, stale, &format!("delta.{label}")).parse().unwrap();
        // A kill closes the connections (detected in milliseconds); a power-off waits for the
        // idle close, ~90-120 s (MODEL.md 3).
        assert!(delta * sign > 60.0, "{label}: delta {delta}");
        let ratio: f64 = cell(&header, stale, &format!("ratio.{label}")).parse().unwrap();
        assert!(if sign > 0.0 { ratio > 1.0 } else { ratio < 1.0 }, "{ratio}");
    }
}

#[test]
fn a_sweep_point_compares_with_a_run_on_the_metrics_both_have() {
    let tmp = tempfile::tempdir().unwrap();
    let other = run(tmp.path(), "other", &small("power-off", "broker-b"));
    let sweep_file = tmp.path().join("sweep.yaml");
    let text = format!(
        "{}sweep:\n  seeds: 2\n  vary:\n    timing.broker_heartbeat: [10s, 30s]\n",
        small("power-off", "broker-a")
    );
    std::fs::write(&sweep_file, text).unwrap();
    let sweep = tmp.path().join("sw");
    routesim().arg("sweep").arg(&sweep_file).arg("--out").arg(&sweep).assert().success();
    let out = tmp.path().join("cmp");
    let point = format!("{}@broker_heartbeat=30s", sweep.display());
    routesim().arg("compare").arg(&point).arg(&other).arg("--out").arg(&out).assert().success().stdout(
        predicate::str::contains("sweep point 1 (timing.broker_heartbeat = 30s), median of 2 seeds")
            .and(predicate::str::contains("totals.sends"))
            .and(predicate::str::contains("not in every input"))
            // The faults differ (broker-a against broker-b): their rows are not compared.
            .and(predicate::str::contains("faults[broker-b].stale_window_s  ").not()),
    );
    let (header, rows) = read_csv(&out);
    assert_eq!(header[1], "sw@1");
    let broker_b = row(&rows, "faults[broker-b].stale_window_s");
    assert_eq!((broker_b[1].as_str(), broker_b[3].as_str()), ("", ""));
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("A sweep point keeps no time series"));
}

#[test]
fn bad_inputs_exit_2_and_say_what_to_give() {
    let tmp = tempfile::tempdir().unwrap();
    let a = run(tmp.path(), "a", &small("kill", "broker-a"));
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let cases: [(Vec<PathBuf>, &str); 4] = [
        (vec![a.clone(), tmp.path().join("missing")], "no such directory"),
        (vec![a.clone(), empty], "neither a run (no summary.json) nor a sweep"),
        (vec![a.clone(), PathBuf::from(format!("{}@3", a.display()))], "a run, not a sweep: drop `@3`"),
        (vec![a.clone()], "2 values required"),
    ];
    for (inputs, says) in cases {
        routesim()
            .arg("compare")
            .args(&inputs)
            .arg("--out")
            .arg(tmp.path().join("cmp"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    assert!(!tmp.path().join("cmp").exists(), "nothing is written for bad input");
}
