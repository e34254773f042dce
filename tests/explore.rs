//! `routesim explore` end to end: the same report bytes on any thread count, and shrunk
//! scenarios that load, replay to the figures the report gives, and fail their `expect:` line.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn routesim() -> Command {
    Command::cargo_bin("routesim").expect("binary built")
}

/// Small enough for a test: a power-off of one broker among NameServer restarts and loss
/// bursts on the route-query path.
const TINY: &str = "name: tiny-explore\nduration: 6m\ncluster: {nameservers: 2, broker_groups: 2}\n\
topics: [{name: t}]\nproducers: [{name: p, count: 3, topic: t, rate: 5}]\nexplore:\n  runs: 16\n  \
between: [40s, 100s]\n  menu:\n    - {kind: crash, mode: power-off, targets: [broker-a], weight: 2}\n    \
- {kind: restart, targets: [nameservers]}\n    - {kind: pause, targets: [nameservers], duration: [5s, 30s]}\n    \
- {kind: loss, class: client_ns, probability: [0.3, 0.6], duration: [10s, 1m]}\n";

fn explore(file: &Path, out: &Path, threads: &str) {
    routesim()
        .args(["explore", file.to_str().unwrap(), "--threads", threads, "--out", out.to_str().unwrap()])
        .assert()
        .success();
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { found.extend(files(&path)) } else { found.push(path) }
    }
    found.sort();
    found
}

#[test]
fn one_and_two_threads_write_the_same_report_and_shrunk_scenarios_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tiny.yaml");
    std::fs::write(&file, TINY).unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    explore(&file, &one, "1");
    explore(&file, &two, "2");
    let (a, b) = (files(&one), files(&two));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.strip_prefix(&one).unwrap(), y.strip_prefix(&two).unwrap());
        assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap(), "{} differs", x.display());
    }

    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(one.join("explore.json")).unwrap()).unwrap();
    assert_eq!(report["runs"], 16);
    let shrunk = report["shrunk"].as_array().unwrap();
    assert!(!shrunk.is_empty(), "the tiny scenario always has a worst run to shrink");
    for s in shrunk {
        assert!(s["faults_after"].as_u64() <= s["faults_before"].as_u64());
        let yaml = one.join(s["file"].as_str().unwrap());
        let replay = tmp.path().join("replay");
        routesim()
            .args(["run", yaml.to_str().unwrap(), "-q", "--no-charts", "--out", replay.to_str().unwrap()])
            .assert()
            .success();
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(replay.join("summary.json")).unwrap()).unwrap();
        let windows: Vec<f64> =
            summary["faults"].as_array().unwrap().iter().filter_map(|f| f["stale_window_s"].as_f64()).collect();
        let longest = windows.iter().copied().fold(None, |m: Option<f64>, w| Some(m.map_or(w, |m| m.max(w))));
        assert_eq!(longest, s["stale_window_s"].as_f64(), "{} replays to other figures", yaml.display());
        if !s["expect"].is_null() {
            // The written expectation fails on the shrunk schedule: the shrink kept the failure.
            routesim().args(["check", yaml.to_str().unwrap()]).assert().code(1);
        }
    }
}

#[test]
fn a_bad_explore_block_is_an_input_error_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bad.yaml");
    std::fs::write(&file, TINY.replace("targets: [broker-a]", "targets: [broker-q]")).unwrap();
    let out = routesim().args(["explore", file.to_str().unwrap()]).assert().code(2).get_output().stderr.clone();
    let stderr = String::from_utf8(out).unwrap();
    assert!(stderr.contains("explore.menu[0].targets[0]") && stderr.contains("broker-q"), "{stderr}");
}
