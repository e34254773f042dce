//! One run over several cores (`model::split`): a run split into parts of its clients gives the
//! same report, byte for byte, as the whole run, on every shipped scenario that may split and
//! over several seeds; a scenario that may not split says why and runs whole.

#[path = "common/files.rs"]
mod common;

use std::num::NonZeroUsize;
use std::path::PathBuf;

use routesim::model::split;
use routesim::report::RunReport;

fn scenario(name: &str) -> routesim::model::config::WorldConfig {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name);
    routesim::scenario::load(&path).unwrap_or_else(|e| panic!("{name}: {e}")).world
}

fn shipped() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

fn n(k: usize) -> NonZeroUsize {
    NonZeroUsize::new(k).unwrap()
}

/// The files `run` writes from a report, as bytes: what must not change.
fn bytes(report: &RunReport) -> String {
    let mut out = serde_json::to_string_pretty(&report.summary).unwrap();
    for rows in [
        serde_json::to_string(&report.timeseries).unwrap(),
        serde_json::to_string(&report.detection).unwrap(),
        serde_json::to_string(&report.convergence).unwrap(),
        serde_json::to_string(&report.timeline).unwrap(),
    ] {
        out.push('\n');
        out.push_str(&rows);
    }
    out
}

fn first_difference(a: &str, b: &str) -> String {
    let at = a.bytes().zip(b.bytes()).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let from = at.saturating_sub(300);
    format!("whole: …{}…\nsplit: …{}…", &a[from..(at + 200).min(a.len())], &b[from..(at + 200).min(b.len())])
}

/// Asserts that `config` split `parts` ways on `threads` threads gives the whole run's bytes,
/// for each of `seeds`.
fn assert_splits_like_whole(
    name: &str,
    config: &routesim::model::config::WorldConfig,
    seeds: &[u64],
    splits: &[(usize, usize)],
) {
    for &seed in seeds {
        let mut config = config.clone();
        config.seed = seed;
        let whole = bytes(&routesim::simulate(config.clone()));
        for &(parts, threads) in splits {
            let split = bytes(&routesim::simulate_split(config.clone(), n(parts), n(threads), &|_, _| ()));
            assert!(
                whole == split,
                "{name} seed {seed}, {parts} parts on {threads} threads:\n{}",
                first_difference(&whole, &split)
            );
        }
    }
}

#[test]
fn a_split_run_gives_the_whole_runs_bytes_on_every_shipped_scenario_that_may_split() {
    let mut split_ones = 0;
    for name in shipped() {
        let config = scenario(&name);
        // The fleet-size scenario has a test of its own (it takes seconds).
        if split::refusal(&config).is_some() || config.layout.clients() > 1_000 {
            continue;
        }
        split_ones += 1;
        assert_splits_like_whole(&name, &config, &[config.seed, config.seed + 1], &[(2, 2), (5, 1)]);
    }
    assert!(split_ones >= 8, "only {split_ones} shipped scenarios may split");
}

#[test]
fn the_large_fleet_splits_like_the_whole_run() {
    let config = scenario("large-fleet.yaml");
    assert!(split::refusal(&config).is_none());
    assert_splits_like_whole("large-fleet.yaml", &config, &[config.seed], &[(3, 2)]);
}

#[test]
fn runs_whose_brokers_keep_messages_do_not_split() {
    for name in ["consumer-rebalance.yaml", "dledger-failover.yaml"] {
        let config = scenario(name);
        assert!(split::refusal(&config).is_some(), "{name} may not split");
        let whole = bytes(&routesim::simulate(config.clone()));
        assert_eq!(whole, bytes(&routesim::simulate_split(config, n(2), n(2), &|_, _| ())), "{name} runs whole");
    }
}

#[test]
fn parts_cover_every_client_once_in_order() {
    for clients in [2u32, 3, 7, 100, 1_001] {
        for parts in 1..=6 {
            let ranges = split::part_ranges(clients, n(parts));
            assert_eq!(ranges.len(), parts.min(clients as usize));
            assert_eq!(ranges.first().unwrap().start, 0);
            assert_eq!(ranges.last().unwrap().end, clients);
            assert!(ranges.windows(2).all(|w| w[0].end == w[1].start && !w[0].is_empty()));
        }
    }
}

/// `run --shard K/N` on each shard, in any order, then `run --merge`: the files of the
/// unsharded run, byte for byte (charts and page included); a merge missing a shard, or
/// given a shard of another seed, is refused; a run that cannot split is refused a shard.
#[test]
fn sharded_runs_merge_into_the_unsharded_runs_files() {
    use assert_cmd::Command;
    use predicates::prelude::*;
    let routesim = || Command::cargo_bin("routesim").expect("binary built");
    let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/broker-kill.yaml");
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| tmp.path().join(name);
    routesim()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(dir("whole"))
        .args(["--threads", "1", "-q"])
        .assert()
        .success();
    for k in [2, 0, 1] {
        let shard = format!("{k}/3");
        let out = dir(&format!("shard-{k}"));
        routesim()
            .arg("run")
            .arg(&scenario)
            .args(["--shard", &shard, "--threads", "2", "-q"])
            .arg("--out")
            .arg(out)
            .assert()
            .success();
    }
    let shards: Vec<PathBuf> = (0..3).map(|k| dir(&format!("shard-{k}"))).collect();
    routesim()
        .arg("run")
        .arg(&scenario)
        .arg("--merge")
        .args(&shards)
        .arg("--out")
        .arg(dir("merged"))
        .arg("-q")
        .assert()
        .success();
    assert_eq!(common::files(&dir("merged")), common::files(&dir("whole")));
    routesim()
        .arg("run")
        .arg(&scenario)
        .arg("--merge")
        .args(&shards[..2])
        .arg("--out")
        .arg(dir("partial"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing shard 2/3").and(predicate::str::contains("--shard 2/3")));
    routesim()
        .arg("run")
        .arg(&scenario)
        .args(["--seed", "9", "--merge"])
        .args(&shards)
        .arg("--out")
        .arg(dir("other-seed"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a shard of another run: seed 1 against 9"));
    let consumers = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/consumer-rebalance.yaml");
    routesim()
        .arg("run")
        .arg(&consumers)
        .args(["--shard", "0/2", "--out"])
        .arg(dir("consumers"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be sharded: its consumers read what its producers send"));
}
