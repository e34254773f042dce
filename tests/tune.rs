//! `routesim tune` end to end on a small fleet: the frontier holds only undominated points,
//! RocketMQ's defaults sit on or above it, the same seeds give the same bytes on any thread
//! count, the printed `timing:` block pasted into the scenario replays with `run` to the
//! figures the tune saw and meets the target on the fresh seeds, and a tune sharded three ways
//! and merged writes the unsharded tune's bytes (deploy/slurm's scripts too).

#[path = "common/files.rs"]
mod common;
use common::files;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const SCENARIO: &str = "name: small-tune\nduration: 6m\ntiming:\n  preset: rocketmq-4\ncluster:\n  nameservers: 2\n  \
broker_groups: 3\ntopics:\n  - name: t\nproducers:\n  - name: p\n    count: 12\n    topic: t\n    rate: 2\n\
faults:\n  - {at: 2m, kind: crash, target: broker-a, mode: power-off}\n";

const TARGET: &str = "faults[broker-a].stale_window_s.p99 <= 100";
/// Every argument of the small tune but the scenario and `--target`: 8 points x 3 seeds.
const ARGS: [&str; 8] = [
    "--seeds",
    "3",
    "--vary",
    "timing.nameserver_channel_idle=60s,120s",
    "--vary",
    "timing.client_route_poll=10s,30s",
    "--vary",
    "timing.nameserver_push=false,true",
];

fn routesim() -> Command {
    Command::cargo_bin("routesim").unwrap()
}

fn small_scenario(dir: &Path) -> PathBuf {
    let file = dir.join("small.yaml");
    std::fs::write(&file, SCENARIO).unwrap();
    file
}

/// `routesim tune FILE --target TARGET ARGS extra`.
fn tune_command(file: &Path, extra: &[&str]) -> Command {
    let mut command = routesim();
    command.arg("tune").arg(file).args(["--target", TARGET]).args(ARGS).args(extra);
    command
}

/// Runs the small tune into `dir/out` and returns its stdout and `tune.json`.
fn tune(dir: &Path, file: &Path, out: &str, threads: &str) -> (String, Value) {
    let assert =
        tune_command(file, &["--threads", threads, "--out", dir.join(out).to_str().unwrap()]).assert().success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    (stdout, serde_json::from_slice(&std::fs::read(dir.join(out).join("tune.json")).unwrap()).unwrap())
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::INFINITY)
}

/// `routesim run FILE --seed SEED`'s summary.json.
fn run_summary(file: &Path, seed: u64, out: &Path) -> Value {
    routesim()
        .arg("run")
        .arg(file)
        .args(["--seed", &seed.to_string(), "-q", "--no-charts", "--out", out.to_str().unwrap()])
        .assert()
        .success();
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn tune_finds_an_undominated_frontier_and_its_choice_replays() {
    let tmp = tempfile::tempdir().unwrap();
    let file = small_scenario(tmp.path());
    let (stdout, report) = tune(tmp.path(), &file, "a", "1");
    let (_, again) = tune(tmp.path(), &file, "b", "2");
    assert_eq!(report, again, "the same seeds give the same report on 1 and 2 threads");
    assert_eq!(files(&tmp.path().join("a")), files(&tmp.path().join("b")), "the files differ between thread counts");
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
    // The least-loaded point that meets the target is chosen.
    let chosen = &points[report["chosen"].as_u64().expect("a point meets the target") as usize];
    assert_eq!(chosen["meets"], true);
    assert!(stat(chosen) <= 100.0);
    for p in points.iter().filter(|p| p["meets"] == true) {
        assert!(load(p) >= load(chosen), "point {} meets the target at less load than the chosen one", p["point"]);
    }
    // Paste the printed `timing:` block into the scenario, as a user would.
    let block = &stdout[stdout.find("timing:\n").expect("a timing: block is printed")..];
    let pasted = SCENARIO
        .replace("timing:\n  preset: rocketmq-4\n", &block.replace("timing:\n", "timing:\n  preset: rocketmq-4\n"));
    assert_ne!(pasted, SCENARIO);
    let chosen_file = tmp.path().join("chosen.yaml");
    std::fs::write(&chosen_file, &pasted).unwrap();
    let replay = |seeds: std::ops::RangeInclusive<u64>| -> Vec<(f64, f64)> {
        seeds
            .map(|seed| {
                let s = run_summary(&chosen_file, seed, &tmp.path().join(format!("replay-{seed}")));
                (num(&s["faults"][0]["stale_window_s"]), num(&s["totals"]["false_removals"]))
            })
            .collect()
    };
    // Over the tune's own seeds the replays give the tune's statistic exactly (with 3 seeds
    // the nearest-rank p99 is the largest window).
    let own = replay(1..=3);
    assert_eq!(own.iter().map(|r| r.0).fold(f64::MIN, f64::max), stat(chosen), "the replay is not the tune's point");
    // Over the fresh seeds the tune named, the replays meet the target, as the tune says they do.
    assert_eq!(report["chosen_fresh_seeds"], serde_json::json!([4, 6]));
    let fresh = replay(4..=6);
    let fresh_meets = fresh.iter().all(|&(window, false_removals)| window <= 100.0 && false_removals == 0.0);
    assert_eq!(report["chosen_meets_on_fresh_seeds"], fresh_meets, "fresh replays {fresh:?}");
    assert!(fresh_meets, "the chosen point misses the target on fresh seeds: {fresh:?}");
}

#[test]
fn three_shards_merged_equal_the_unsharded_tune() {
    let tmp = tempfile::tempdir().unwrap();
    let file = small_scenario(tmp.path());
    let (whole_stdout, _) = tune(tmp.path(), &file, "whole", "2");
    let shards: Vec<PathBuf> = (0..3).map(|k| tmp.path().join(format!("shard-{k}"))).collect();
    for (k, dir) in shards.iter().enumerate() {
        tune_command(&file, &["--shard", &format!("{k}/3"), "--threads", "1", "--out", dir.to_str().unwrap()])
            .assert()
            .success();
        assert_eq!(files(dir).into_keys().collect::<Vec<_>>(), [".routesim-tune", "partial.json"]);
    }
    let merged = tmp.path().join("merged");
    // Out of order on purpose: the merge orders runs by index, not by argument.
    let assert = tune_command(&file, &["--out", merged.to_str().unwrap(), "--merge"])
        .args([&shards[2], &shards[0], &shards[1]])
        .assert()
        .success();
    assert_eq!(files(&merged), files(&tmp.path().join("whole")), "the merged tune differs from the unsharded one");
    let merged_stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert_eq!(merged_stdout.replace("merged", "whole"), whole_stdout);
}

#[test]
fn a_merge_refuses_missing_repeated_and_foreign_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let file = small_scenario(tmp.path());
    let dir = |name: &str| tmp.path().join(name);
    let shard = |shard: &str, name: &str, seeds: &str| {
        routesim()
            .arg("tune")
            .arg(&file)
            .args(["--target", TARGET, "--seeds", seeds])
            .args(&ARGS[2..])
            .args(["--shard", shard, "--out", dir(name).to_str().unwrap()])
            .assert()
            .success();
    };
    shard("0/3", "a", "3");
    shard("2/3", "c", "3");
    shard("1/3", "b-seeds-2", "2");
    let out = dir("merged");
    let merge = |dirs: &[&str], needle: &str| {
        tune_command(&file, &["--out", out.to_str().unwrap(), "--merge"])
            .args(dirs.iter().map(|d| dir(d)))
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicates::str::contains(needle));
        assert!(!out.exists(), "a refused merge wrote {}", out.display());
    };
    merge(&["a", "c"], "missing shard 1/3 of the tune of `small-tune`");
    merge(&["a", "a", "c"], "shard 0/3 is given twice");
    merge(&["a", "b-seeds-2", "c"], "seeds 1..=2 vs 1..=3");
    tune_command(&file, &["--minimise", "client-load", "--out", out.to_str().unwrap(), "--merge"])
        .args([dir("a"), dir("c")])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--minimise nameserver-load vs client-load"));
    // A sweep's shard is named as one, not as a broken file.
    let sweep_file = tmp.path().join("sweep.yaml");
    std::fs::write(&sweep_file, format!("{SCENARIO}sweep:\n  vary:\n    timing.client_route_poll: [10s, 30s]\n"))
        .unwrap();
    routesim()
        .arg("sweep")
        .arg(&sweep_file)
        .args(["--shard", "0/1", "--out"])
        .arg(dir("sweep-shard"))
        .assert()
        .success();
    merge(&["sweep-shard"], "format `routesim-sweep-partial/1`, expected `routesim-tune-partial/1`");
    // An edit of the scenario after sharding makes another tune.
    std::fs::write(&file, SCENARIO.replace("rate: 2", "rate: 3")).unwrap();
    merge(&["a", "c"], "the scenario file differs");
}

#[test]
fn a_target_that_is_not_an_aggregate_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = small_scenario(tmp.path());
    routesim()
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

/// deploy/slurm's tune scripts as Slurm would start them (the environment submit.sh exports,
/// the array task's index), without a cluster: three shard tasks and the merge job write the
/// unsharded tune's bytes. tests/slurm.rs runs submit.sh itself on a real one-node cluster.
#[test]
fn the_slurm_tune_scripts_merge_to_the_unsharded_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let file = small_scenario(tmp.path());
    tune(tmp.path(), &file, "whole", "1");
    let results = tmp.path().join("results");
    let script = |name: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/slurm").join(name);
    let run = |name: &str, task: Option<usize>| {
        let mut command = std::process::Command::new("bash");
        command
            .arg(script(name))
            .env("ROUTESIM", env!("CARGO_BIN_EXE_routesim"))
            .env("SCENARIO", &file)
            .env("SHARDS", "3")
            .env("RESULTS", &results)
            .env("TARGET", TARGET)
            .env("TUNE_ARGS", ARGS.join(" "))
            .env("SLURM_CPUS_PER_TASK", "1");
        if let Some(k) = task {
            command.env("SLURM_ARRAY_TASK_ID", k.to_string());
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    };
    for k in 0..3 {
        run("tune.sbatch", Some(k));
    }
    run("tune-merge.sbatch", None);
    assert_eq!(files(&results.join("merged")), files(&tmp.path().join("whole")));
}

#[test]
fn an_idle_close_no_longer_than_the_route_poll_is_never_chosen_nor_on_the_frontier() {
    // Idle close 30 s with a 30 s poll: the NameServers close the clients' channels between
    // polls, so route queries are lost and the load looks low; idle close 60 s does not.
    let dir = tempfile::tempdir().unwrap();
    let file = small_scenario(dir.path());
    let out = dir.path().join("out");
    // A 10 s registration keeps the brokers' channels busy: no false removal at either point.
    let args = [
        "--seeds",
        "2",
        "--vary",
        "timing.nameserver_channel_idle=30s,60s",
        "--vary",
        "timing.client_route_poll=30s",
        "--vary",
        "timing.broker_heartbeat=10s",
    ];
    routesim()
        .arg("tune")
        .arg(&file)
        .args(["--target", "faults[broker-a].stale_window_s.p99 <= 1000"])
        .args(args)
        .args(["-q", "--out", out.to_str().unwrap()])
        .assert()
        .success();
    let report: Value = serde_json::from_slice(&std::fs::read(out.join("tune.json")).unwrap()).unwrap();
    let points = report["points"].as_array().unwrap();
    let idle_of = |p: &Value| p["settings"][0][1].as_str().unwrap().to_string();
    let short = points.iter().find(|p| idle_of(p) == "30s").unwrap();
    assert!(short["excluded"].as_str().unwrap().contains("idle close"), "{short}");
    assert_eq!((&short["pareto"], &short["meets"]), (&false.into(), &false.into()));
    let long = points.iter().find(|p| idle_of(p) == "60s").unwrap();
    assert!(long["excluded"].is_null() && long["meets"] == true, "{long}");
    assert_eq!(report["chosen"], long["point"]);
}
