//! Bounded work and the figures at the edges (issue 10): the run-size estimate against real
//! runs, refusals of runs that cannot finish, files that are not scenarios, and a loss fault
//! that restores each link class to its own loss.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use routesim::scenario::{self, budget};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn routesim() -> Command {
    let mut cmd = Command::cargo_bin("routesim").unwrap();
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// The estimate against the real event counts: the golden summaries are real runs of the
/// shipped scenarios with their own seeds (tests/golden.rs keeps them true).
#[test]
fn the_event_estimate_is_within_a_factor_of_two_of_every_shipped_run() {
    for file in shipped() {
        let s = scenario::load(&file).unwrap();
        let summary = repo().join("tests/golden").join(&s.world.name).join("summary.json");
        let summary: routesim::report::Summary =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        let actual = summary.totals.events as f64;
        let estimate = budget::estimate(&s.world);
        let ratio = estimate.events / actual;
        println!(
            "{:40} estimate {:>12.0} actual {:>10} ratio {ratio:.2}; memory estimate {:.0} MiB",
            s.world.name,
            estimate.events,
            summary.totals.events,
            estimate.memory_bytes / 1048576.0
        );
        assert!((0.5..=2.0).contains(&ratio), "{}: estimate {} vs {actual}", s.world.name, estimate.events);
        assert!(budget::refusal(&s.world).is_none(), "{} is refused", s.world.name);
    }
}

/// Today's limits multiplied: 30 days, 10^6 async producers at 10^6 sends/s, 64 NameServers,
/// 1,000 groups of 8 brokers. It used to die of out-of-memory after 18 s.
const HUGE: &str = "name: huge\nduration: 30days\ncluster:\n  nameservers: 64\n  broker_groups: 1000\n  \
                    slaves_per_group: 7\ntopics:\n  - name: t\nproducers:\n  - name: p\n    count: 1000000\n    \
                    topic: t\n    rate: 1000000\n    mode: async\nexpect:\n  - totals.sends > 0\n";

#[test]
fn the_product_of_the_limits_is_refused_by_run_sweep_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge.yaml");
    std::fs::write(&file, HUGE).unwrap();
    let said = || {
        predicate::str::contains("too large to run here")
            .and(predicate::str::contains("--allow-large"))
            .and(predicate::str::contains("events (limit 1e10"))
            .and(predicate::str::contains("GiB of memory (limit 8 GiB)"))
    };
    for command in ["run", "sweep", "check"] {
        routesim().arg(command).arg(&file).current_dir(dir.path()).assert().code(2).stderr(said());
    }
    assert!(!dir.path().join("output").exists(), "a refused run writes nothing");
    // `validate` only validates: the file is a valid scenario, which the others refuse.
    routesim().arg("validate").arg(&file).assert().success().stdout(said());
}

#[test]
fn a_1ms_scan_on_64_nameservers_for_30_days_is_refused() {
    let text = "name: fast\nduration: 30days\ntiming:\n  nameserver_scan: 1ms\ncluster:\n  nameservers: 64\n  \
                broker_groups: 10\ntopics:\n  - name: t\nproducers:\n  - name: p\n    topic: t\n    rate: 0\n";
    let s = scenario::from_text(Path::new("fast.yaml"), text).unwrap();
    let why = budget::refusal(&s.world).expect("refused");
    assert!(why.contains("mostly NameServer scans"), "{why}");
}

#[test]
fn files_that_are_not_regular_scenario_files_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.yaml");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let big = dir.path().join("big.yaml");
    std::fs::write(&big, "#".repeat(scenario::FILE_BYTES_MAX as usize + 1)).unwrap();
    let latin1 = dir.path().join("latin1.yaml");
    std::fs::write(&latin1, b"name: x\ndescription: caf\xe9\n").unwrap();
    let cases: [(&Path, &str); 5] = [
        (&fifo, "not a regular file"),
        (Path::new("/dev/zero"), "not a regular file"),
        (dir.path(), "is a directory"),
        (&big, "a scenario file may have at most 1048576"),
        (&latin1, ":2: is not UTF-8"),
    ];
    for (path, message) in cases {
        // `check DIR` looks for scenarios inside a directory.
        let commands: &[&str] =
            if path.is_dir() { &["validate", "run", "sweep"] } else { &["validate", "run", "sweep", "check"] };
        for command in commands {
            routesim().arg(command).arg(path).assert().code(2).stderr(predicate::str::contains(message));
        }
    }
}

/// `network.links.client_broker.loss` 0.3; a loss fault without `class` sets every class to
/// 0 for a minute. Before and after it, client-broker retransmissions delay sends past their
/// budget now and then; during it almost nothing fails. (The fault's end used to set every class to
/// the broker-NameServer loss, 0, so nothing failed after it either.)
#[test]
fn a_loss_fault_without_class_restores_each_class_to_its_own_loss() {
    let text = "name: loss\nduration: 4m\ncluster:\n  nameservers: 1\n  broker_groups: 2\ntopics:\n  - name: t\n\
                producers:\n  - name: p\n    count: 20\n    topic: t\n    rate: 50\n    threads: 8\n\
                network:\n  links:\n    client_broker:\n      loss: 0.3\n\
                faults:\n  - {at: 2m, kind: loss, probability: 0, duration: 1m}\n";
    let s = scenario::from_text(Path::new("loss.yaml"), text).unwrap();
    let report = routesim::simulate(s.world);
    let window = |from_s: u64, to_s: u64| {
        let rows = report.timeseries.iter().filter(|r| (from_s..to_s).contains(&r.second));
        rows.fold((0, 0), |(a, f), r| (a + r.attempts, f + r.failed_attempts))
    };
    let (before, during, after) = (window(60, 120), window(125, 180), window(185, 240));
    println!("attempts, failed attempts: before {before:?}, during {during:?}, after {after:?}");
    assert!(before.1 > 100, "0.3 loss fails some attempts before the fault: {before:?}");
    // Nothing sent during the fault is lost; what fails then waits in order behind a message
    // sent before it and still being retransmitted (RTO doubling: 0.3^8 of them take 51 s).
    let rate = |(attempts, failed): (u64, u64)| failed as f64 / attempts.max(1) as f64;
    assert!(rate(during) * 100.0 < rate(before), "no loss, (almost) no failure during the fault: {during:?}");
    assert!(after.1 > 100, "the 0.3 loss is back after the fault: {after:?}");
    let ratio = after.1 as f64 / before.1 as f64;
    assert!((0.5..2.0).contains(&ratio), "after {after:?} is like before {before:?}");
}

/// Every flag of every command with values at and past its edges: exit 2 naming the flag (or
/// success when the value is valid), never a panic. Returns the number of cases tried.
#[test]
fn every_cli_flag_at_its_edges_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = dir.path().join("tiny.yaml");
    std::fs::write(
        &tiny,
        "name: tiny\nduration: 1m\ncluster:\n  nameservers: 1\n  broker_groups: 1\ntopics:\n  - name: t\n\
         producers:\n  - name: p\n    topic: t\n    rate: 1\nexpect:\n  - totals.sends >= 0\n",
    )
    .unwrap();
    let tiny = tiny.to_str().unwrap().to_string();
    let numbers = ["", "-1", "abc", "1e308", "18446744073709551616", "NaN", "1.5"];
    // (command and fixed arguments, flag, values: every one of them bad)
    let mut cases: Vec<(Vec<String>, &str, Vec<String>)> = Vec::new();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let nums = s(&numbers);
    cases.push((s(&["run", &tiny]), "--seed", nums.clone()));
    cases.push((
        s(&["run", &tiny, "--trace", "/dev/null/x"]),
        "--trace-filter",
        s(&["node=", "zz", "node=zz", "kind=zz"]),
    ));
    cases.push((s(&["sweep", &tiny]), "--threads", s(&["", "-1", "0", "abc", "18446744073709551616"])));
    cases.push((s(&["sweep", &tiny]), "--seeds", s(&["", "0", "5..5", "abc", "-1", "3..1", "18446744073709551616"])));
    cases.push((s(&["sweep", &tiny]), "--shard", s(&["", "0/0", "3/2", "abc", "-1/2", "1/18446744073709551616"])));
    cases.push((s(&["check", &tiny]), "--seeds", s(&["", "0", "5..5", "abc", "-1", "18446744073709551616"])));
    cases.push((s(&["check", &tiny]), "--threads", s(&["", "-1", "0", "257", "abc", "18446744073709551616"])));
    cases.push((s(&["bench"]), "--events", s(&["", "-1", "abc", "1e308", "18446744073709551616"])));
    let mut tried = 0;
    for (fixed, flag, values) in &cases {
        for value in values {
            tried += 1;
            let assert = routesim().args(fixed).arg(flag).arg(value).current_dir(dir.path()).assert();
            let out = assert.get_output();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked"), "{fixed:?} {flag} {value:?} panicked: {stderr}");
            assert_eq!(out.status.code(), Some(2), "{fixed:?} {flag} {value:?}: {stderr}");
            // clap reads a value starting with `-` as an unknown argument and names that.
            let named =
                stderr.contains(flag) || stderr.contains(value.as_str()) || stderr.contains("unexpected argument '-");
            assert!(named, "{fixed:?} {flag} {value:?}: the error names neither the flag nor the value: {stderr}");
        }
    }
    // Paths that are not what a command reads.
    for command in ["chart", "explain", "merge"] {
        for path in ["/nonexistent", "/dev/zero", &tiny] {
            tried += 1;
            let assert = routesim().arg(command).arg(path).current_dir(dir.path()).assert();
            let out = assert.get_output();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked"), "{command} {path} panicked: {stderr}");
            assert_eq!(out.status.code(), Some(2), "{command} {path}: {stderr}");
        }
    }
    println!("CLI edge cases tried: {tried}");
}
