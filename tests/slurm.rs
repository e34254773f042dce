//! deploy/slurm/ as shipped, on a real one-node Slurm cluster (.ci/slurm-up starts one on
//! localhost): a sharded sweep and its merge give the unsharded sweep's bytes, and a failed
//! shard cancels the merge instead of leaving it pending. Skipped without Slurm, except under
//! CI=true, where Slurm is required.

#[path = "common/files.rs"]
mod common;
use common::files;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SUBMIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/slurm/submit.sh");
const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/sweep-heartbeat.yaml");
const ROUTESIM: &str = env!("CARGO_BIN_EXE_routesim");
/// 8 points x 2 seeds: a second of CPU, so the test measures Slurm, not the simulator.
const SEEDS: &str = "--seeds 2";

/// Whether a Slurm cluster answers here; panics under CI=true if not, since CI must run this.
fn slurm_available() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let problem = match Command::new("sinfo").arg("--noheader").output() {
        Err(_) => "slurm is not installed (apt-get install -y slurm-wlm munge)".to_string(),
        Ok(out) if !out.status.success() => {
            format!("no Slurm cluster answers (start one with .ci/slurm-up): {}", String::from_utf8_lossy(&out.stderr))
        }
        Ok(_) => return true,
    };
    assert!(!ci, "CI=true requires the Slurm test: {problem}");
    eprintln!("skipped: {problem}");
    false
}

/// Runs deploy/slurm/submit.sh with WAIT=1, killing it if Slurm has not finished in 3 minutes.
fn submit(routesim: &Path, results: &Path, shards: usize, extra_env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(SUBMIT)
        .arg(SCENARIO)
        .arg(shards.to_string())
        .env("ROUTESIM", routesim)
        .env("RESULTS", results)
        .env("SWEEP_ARGS", SEEDS)
        .env("WAIT", "1")
        .envs(extra_env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("submit.sh did not finish in 3 minutes: is the node up? (sinfo; squeue)");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    child.wait_with_output().unwrap()
}

/// A results directory in a fresh temporary directory: on one node, local disk is shared storage.
fn results_dir(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join(name);
    (tmp, results)
}

#[test]
fn sharded_sweep_on_slurm_merges_to_the_unsharded_bytes() {
    if !slurm_available() {
        return;
    }
    let (tmp, results) = results_dir("sweep-heartbeat");
    let out = submit(Path::new(ROUTESIM), &results, 3, &[]);
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "submit.sh failed:\n{log}");
    let logs: Vec<String> = files(&results.join("logs")).into_keys().collect();
    assert_eq!(logs.len(), 4, "a log per shard and one for the merge: {logs:?}");

    let plain = tmp.path().join("plain");
    let status = Command::new(ROUTESIM)
        .args(["sweep", SCENARIO, "--seeds", "2", "--out"])
        .arg(&plain)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let (merged, plain) = (files(&results.join("merged")), files(&plain));
    assert_eq!(merged.keys().collect::<Vec<_>>(), plain.keys().collect::<Vec<_>>());
    for (name, bytes) in &plain {
        assert!(&merged[name] == bytes, "{name}: the merged sweep differs from the unsharded one");
    }
}

#[test]
fn a_failed_shard_cancels_the_merge_and_is_named() {
    if !slurm_available() {
        return;
    }
    let (tmp, results) = results_dir("failing");
    // routesim, except that shard 1 fails as a crashed node would.
    let flaky = tmp.path().join("flaky-routesim");
    std::fs::write(
        &flaky,
        format!(
            "#!/bin/sh\ncase \"$*\" in *'--shard 1/'*) echo shard 1 lost >&2; exit 1;; esac\nexec '{ROUTESIM}' \"$@\"\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&flaky, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = submit(&flaky, &results, 2, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("shard 1: FAILED"), "{stderr}");
    assert!(!results.join("merged").exists(), "no merge after a failed shard");

    // Rerunning only the failed shard with the real binary completes the sweep.
    let out = submit(Path::new(ROUTESIM), &results, 2, &[("ARRAY", "1")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(results.join("merged/points.csv").is_file());
}

#[test]
fn sharded_tune_on_slurm_merges_to_the_unsharded_bytes() {
    if !slurm_available() {
        return;
    }
    let (tmp, results) = results_dir("tune-heartbeat");
    let target = "faults[broker-a].stale_window_s.p99 <= 150";
    // 4 points x 2 seeds, and the chosen point's 2 fresh seeds in the merge job.
    let tune_args = "--seeds 2 --vary timing.nameserver_channel_idle=60s,120s --vary timing.client_route_poll=10s,30s";
    let out = submit(Path::new(ROUTESIM), &results, 3, &[("TARGET", target), ("TUNE_ARGS", tune_args)]);
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "submit.sh failed:\n{log}");
    let plain = tmp.path().join("plain");
    let status = Command::new(ROUTESIM)
        .args(["tune", SCENARIO, "--target", target])
        .args(tune_args.split(' '))
        .arg("--out")
        .arg(&plain)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(files(&results.join("merged")), files(&plain), "the merged tune differs from the unsharded one");
}
