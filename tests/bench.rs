//! `routesim bench` end to end, on tiny runs: what it reports, not how fast (timings are never
//! asserted). The figures must be consistent with the run they describe.

use assert_cmd::Command;

fn routesim() -> Command {
    Command::cargo_bin("routesim").expect("binary built")
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = routesim().args(args).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

#[test]
fn scenario_figures_come_with_their_ceiling() {
    let report = json(&["bench", "scenarios/broker-kill.yaml", "--events", "20000", "--json"]);
    let s = &report["scenarios"][0];
    assert_eq!(s["scenario"], "broker-kill");
    let (events, sends) = (s["events"].as_u64().unwrap(), s["sends"].as_u64().unwrap());
    assert!(events > sends && sends > 0);
    // The ceiling loop holds as many events as the run did at its peak.
    let pending_max = s["pending_max"].as_u64().unwrap();
    assert!(pending_max > 200, "{pending_max}: at least one timer per producer");
    assert_eq!(s["ceiling"]["pending"].as_u64(), Some(pending_max));
    let cpu_s = s["cpu_s"].as_f64().unwrap();
    assert!((s["sends_per_cpu_s"].as_f64().unwrap() - sends as f64 / cpu_s).abs() < 1e-6 * sends as f64 / cpu_s);
    assert!(s["peak_rss_bytes"].as_u64().unwrap() > 1 << 20);
    assert_eq!(report["queue"]["pending"].as_u64(), Some(10_000));
}

#[test]
fn scaling_runs_each_fleet_size_and_draws_the_curve() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("scaling.svg");
    let points = json(&[
        "bench",
        "--scaling",
        "scenarios/bench/scaling.yaml",
        "--producers",
        "3,30",
        "--duration",
        "8s",
        "--json",
        "--chart",
        chart.to_str().unwrap(),
    ]);
    let points = points.as_array().unwrap();
    assert_eq!(points.iter().map(|p| p["producers"].as_u64().unwrap()).collect::<Vec<_>>(), [3, 30]);
    assert!(points.iter().all(|p| p["simulated_s"] == 8.0 && p["cpu_us_per_send"].as_f64().unwrap() > 0.0));
    assert!(points[1]["sends"].as_u64() > points[0]["sends"].as_u64());
    // Runs this short (milliseconds of CPU) are repeated as often as allowed, the median kept.
    let most = routesim::bench::MAX_SCALING_RUNS as u64;
    assert!(points.iter().all(|p| p["runs"].as_u64() == Some(most)), "{points:?}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.contains("CPU µs per send") && svg.contains("producers"));
}

#[test]
fn a_bad_duration_is_an_input_error() {
    routesim()
        .args(["bench", "--scaling", "scenarios/bench/scaling.yaml", "--producers", "3", "--duration", "8"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--duration"));
}
