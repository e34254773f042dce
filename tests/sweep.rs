//! `routesim sweep` and `routesim merge` from the outside: order, validation before running,
//! determinism across thread counts, sharding + merging, and a quiet terminal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;

/// A tiny power-off sweep: 2 x 2 points x 3 seeds, milliseconds per run even in debug.
const TINY: &str = "\
name: tiny-sweep
duration: 2m
timing:
  start_window: 5s
cluster:
  nameservers: 2
  broker_groups: 2
topics:
  - name: t
producers:
  - name: p
    count: 4
    topic: t
    rate: 5
faults:
  - at: 40s
    kind: crash
    target: broker-a
    mode: power-off
sweep:
  seeds: 3
  vary:
    timing.broker_heartbeat: [10s, 30s]
    timing.nameserver_channel_idle: [20s, 60s]
";

fn scenario(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("tiny-sweep.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn sweep(scenario: &Path, out: &Path, extra: &[&str]) {
    cargo_bin_cmd!("routesim").arg("sweep").arg(scenario).arg("--out").arg(out).args(extra).assert().success();
}

/// Every file of a directory, by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

fn assert_same_files(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>(), "same file names");
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{name} differs between {} and {}", a.display(), b.display());
    }
}

#[test]
fn runs_are_ordered_by_point_then_seed_last_path_fastest() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    sweep(&scenario(tmp.path(), TINY), &out, &["--threads", "2"]);
    let runs = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    let mut lines = runs.lines();
    assert!(lines.next().unwrap().starts_with("point,timing.broker_heartbeat,timing.nameserver_channel_idle,seed,"));
    let keys: Vec<String> = lines.map(|l| l.split(',').take(4).collect::<Vec<_>>().join(",")).collect();
    let expected: Vec<String> = [(0, "10s", "20s"), (1, "10s", "60s"), (2, "30s", "20s"), (3, "30s", "60s")]
        .iter()
        .flat_map(|(p, hb, idle)| (1..=3).map(move |seed| format!("{p},{hb},{idle},{seed}")))
        .collect();
    assert_eq!(keys, expected);
    let points = std::fs::read_to_string(out.join("points.csv")).unwrap();
    assert_eq!(points.lines().count(), 5);
    assert!(points.lines().nth(1).unwrap().starts_with("0,10s,20s,3,"));
}

#[test]
fn a_bad_path_fails_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let text = TINY.replace("timing.nameserver_channel_idle:", "timing.hearbeat:");
    // A million seeds: had anything run before the check, this test would not finish.
    cargo_bin_cmd!("routesim")
        .arg("sweep")
        .arg(scenario(tmp.path(), &text))
        .args(["--seeds", "1000000", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("tiny-sweep.yaml:"))
        .stderr(predicate::str::contains("sweep.vary.timing.hearbeat"))
        .stderr(predicate::str::contains("did you mean `timing.broker_heartbeat`?"));
    assert!(!out.exists());
}

#[test]
fn a_bad_value_in_the_last_point_fails_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let text = TINY.replace("[10s, 30s]", "[10s, 30s, 90s]");
    cargo_bin_cmd!("routesim")
        .arg("sweep")
        .arg(scenario(tmp.path(), &text))
        .args(["--seeds", "1000000", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("sweep.vary.timing.broker_heartbeat"))
        .stderr(predicate::str::contains("must be 10s to 60s"))
        .stderr(predicate::str::contains("timing.broker_heartbeat = 90s"));
    assert!(!out.exists());
}

#[test]
fn one_and_two_threads_write_identical_files() {
    let tmp = tempfile::tempdir().unwrap();
    let path = scenario(tmp.path(), TINY);
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    sweep(&path, &one, &["--threads", "1"]);
    sweep(&path, &two, &["--threads", "2"]);
    assert_same_files(&one, &two);
    let names: Vec<String> = files(&one).into_keys().collect();
    for expected in ["runs.csv", "points.csv", "sweep.json", "heatmap.broker-a.stale_window_s.p99.svg"] {
        assert!(names.iter().any(|n| n == expected), "{expected} in {names:?}");
    }
}

#[test]
fn three_shards_merged_equal_the_unsharded_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let path = scenario(tmp.path(), TINY);
    let whole = tmp.path().join("whole");
    sweep(&path, &whole, &[]);
    let mut shards = Vec::new();
    for k in 0..3 {
        let dir = tmp.path().join(format!("shard-{k}"));
        sweep(&path, &dir, &["--shard", &format!("{k}/3"), "--threads", "1"]);
        assert_eq!(files(&dir).into_keys().collect::<Vec<_>>(), [".routesim-sweep", "partial.json"]);
        shards.push(dir);
    }
    let merged = tmp.path().join("merged");
    // Out of order on purpose: the merge orders runs by index, not by argument.
    cargo_bin_cmd!("routesim")
        .arg("merge")
        .args([&shards[2], &shards[0], &shards[1]])
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    assert_same_files(&whole, &merged);
}

#[test]
fn merging_without_every_shard_names_the_missing_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let path = scenario(tmp.path(), TINY);
    let (a, c) = (tmp.path().join("a"), tmp.path().join("c"));
    sweep(&path, &a, &["--shard", "0/3"]);
    sweep(&path, &c, &["--shard", "2/3"]);
    let out = tmp.path().join("merged");
    cargo_bin_cmd!("routesim")
        .arg("merge")
        .args([&a, &c])
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing shard 1/3"));
    assert!(!out.exists());
    // The same shard twice is no substitute for the missing one.
    cargo_bin_cmd!("routesim")
        .arg("merge")
        .args([&a, &a, &c])
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("shard 0/3 is given twice"));
}

#[test]
fn shards_of_different_sweeps_do_not_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let path = scenario(tmp.path(), TINY);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    sweep(&path, &a, &["--shard", "0/2"]);
    sweep(&path, &b, &["--shard", "1/2", "--seeds", "2"]);
    cargo_bin_cmd!("routesim")
        .arg("merge")
        .args([&a, &b])
        .arg("--out")
        .arg(tmp.path().join("merged"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("different sweeps"))
        .stderr(predicate::str::contains("seeds 1..=3 vs 1..=2"));
}

#[test]
fn without_a_terminal_only_the_summary_line_is_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // assert_cmd pipes stdout and stderr: neither is a terminal, so the bar must stay hidden.
    let assert = cargo_bin_cmd!("routesim")
        .arg("sweep")
        .arg(scenario(tmp.path(), TINY))
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stderr("");
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("wrote ") && stdout.contains("4 points x 3 seeds = 12 runs"), "{stdout}");
}
