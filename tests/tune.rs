//! `routesim tune` end to end on a small fleet: the frontier holds only undominated points,
//! RocketMQ's defaults sit on or above it, the same seeds give the same bytes on any thread
//! count, and the chosen settings pasted into the scenario replay with `run` to the figures
//! the tune saw.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const SCENARIO: &str = "name: small-tune\nduration: 6m\ntiming:\n  preset: rocketmq-4\ncluster:\n  nameservers: 2\n  \
broker_groups: 3\ntopics:\n  - name: t\nproducers:\n  - name: p\n    count: 12\n    topic: t\n    rate: 2\n\
faults:\n  - {at: 2m, kind: crash, target: broker-a, mode: power-off}\n";

const TARGET: &str = "faults[broker-a].stale_window_s.p99 <= 100";

fn tune(dir: &Path, file: &Path, out: &str, threads: &str) -> Value {
    Command::cargo_bin("routesim")
        .unwrap()
        .args(["tune", file.to_str().unwrap(), "--target", TARGET, "--seeds", "3", "--threads", threads])
        .args(["--vary", "timing.nameserver_channel_idle=60s,120s", "--vary", "timing.client_route_poll=10s,30s"])
        .args(["--vary", "timing.nameserver_push=false,true", "--out", dir.join(out).to_str().unwrap()])
        .assert()
        .success();
    serde_json::from_slice(&std::fs::read(dir.join(out).join("tune.json")).unwrap()).unwrap()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::INFINITY)
}

#[test]
fn tune_finds_an_undominated_frontier_and_its_choice_replays() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("small.yaml");
    std::fs::write(&file, SCENARIO).unwrap();
    let report = tune(tmp.path(), &file, "a", "1");
    let again = tune(tmp.path(), &file, "b", "2");
    assert_eq!(report, again, "the same seeds give the same report on 1 and 2 threads");
    for name in ["tune.json", "points.csv", "frontier.svg", "index.html"] {
        let (a, b) = (
            std::fs::read(tmp.path().join("a").join(name)).unwrap(),
            std::fs::read(tmp.path().join("b").join(name)).unwrap(),
        );
        assert_eq!(a, b, "{name} differs between thread counts");
    }
    let points = report["points"].as_array().unwrap();
    assert_eq!(points.len(), 8);
    let load = |p: &Value| num(&p["nameserver_requests_per_s"]);
    let stat = |p: &Value| num(&p["statistic"]);
    for p in points.iter().filter(|p| p["pareto"] == true) {
        for q in points.iter().filter(|q| q["false_removals_max"] == 0.0) {
            let dominates = stat(q) <= stat(p) && load(q) <= load(p) && (stat(q) < stat(p) || load(q) < load(p));
            assert!(!dominates, "frontier point {} is dominated by {}", p["point"], q["point"]);
        }
    }
    // The defaults (idle close 120 s, poll 30 s, no push) are in the grid, on or above the frontier.
    let baseline = &points[report["baseline"].as_u64().expect("the defaults are a grid point") as usize];
    let best_at_that_load = points
        .iter()
        .filter(|p| p["pareto"] == true && load(p) <= load(baseline))
        .map(stat)
        .fold(f64::INFINITY, f64::min);
    assert!(stat(baseline) >= best_at_that_load);
    // Push meets the target where polling alone cannot at the same poll interval.
    let chosen = &points[report["chosen"].as_u64().expect("a point meets the target") as usize];
    assert_eq!(chosen["meets"], true);
    assert!(stat(chosen) <= 100.0);
    // Paste the chosen timing block into the scenario: `run` with seed 1 gives the statistic's seed-1 value.
    let settings: Vec<(String, String)> = chosen["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| {
            (kv[0].as_str().unwrap().trim_start_matches("timing.").to_string(), kv[1].as_str().unwrap().to_string())
        })
        .collect();
    let block: String = settings.iter().map(|(k, v)| format!("  {k}: {v}\n")).collect();
    let pasted =
        SCENARIO.replace("timing:\n  preset: rocketmq-4\n", &format!("timing:\n  preset: rocketmq-4\n{block}"));
    let chosen_file = tmp.path().join("chosen.yaml");
    std::fs::write(&chosen_file, &pasted).unwrap();
    let out = tmp.path().join("chosen-run");
    Command::cargo_bin("routesim")
        .unwrap()
        .args([
            "run",
            chosen_file.to_str().unwrap(),
            "--seed",
            "1",
            "-q",
            "--no-charts",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success();
    let summary: Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let window = num(&summary["faults"][0]["stale_window_s"]);
    assert!(window <= stat(chosen) + 1e-9, "seed 1's window {window} exceeds the p99 over seeds {}", stat(chosen));
}

#[test]
fn a_target_that_is_not_an_aggregate_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("small.yaml");
    std::fs::write(&file, SCENARIO).unwrap();
    Command::cargo_bin("routesim")
        .unwrap()
        .args(["tune", file.to_str().unwrap(), "--target", "faults[broker-a].stale_window_s <= 30"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("statistic over seeds"));
    Command::cargo_bin("routesim")
        .unwrap()
        .args(["tune", file.to_str().unwrap(), "--target", "faults[broker-z].stale_window_s.p99 <= 30"])
        .assert()
        .code(2);
}
