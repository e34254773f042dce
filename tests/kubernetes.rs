//! deploy/kubernetes/ without a cluster: every pod of the Indexed Job is played by running the
//! image's entry script (shard.sh) with its JOB_COMPLETION_INDEX and the Job's environment, then
//! the merge Job's command; the result must be the unsharded sweep's bytes. Also checks that the
//! numbers the manifests repeat (shards, paths) agree. The image itself takes minutes to build
//! and needs a container builder, so no test here builds it: deploy/kubernetes/build-image.sh
//! builds it and runs the same pods in it (deploy/README.md says what was verified by hand).

#[path = "common/files.rs"]
mod common;
use common::files;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/kubernetes");
const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(DIR).join(name)).unwrap()
}

/// The value of `key: VALUE` on the first line that has it, without quotes or a comment.
fn field(text: &str, key: &str) -> String {
    let line =
        text.lines().find_map(|l| l.trim().strip_prefix(&format!("{key}:"))).unwrap_or_else(|| panic!("no {key}"));
    line.split('#').next().unwrap().trim().trim_matches('"').to_string()
}

/// The value of the container variable NAME in `- {name: NAME, value: VALUE}`.
fn env_value(text: &str, name: &str) -> String {
    let prefix = format!("- {{name: {name}, value: ");
    let line = text.lines().find_map(|l| l.trim().strip_prefix(&prefix)).unwrap_or_else(|| panic!("no env {name}"));
    line.trim_end_matches('}').trim().trim_matches('"').to_string()
}

/// PATH with the routesim under test first, as the image has it in /usr/local/bin.
fn path_with_routesim() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_routesim")).parent().unwrap().to_path_buf();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

#[test]
fn the_manifests_agree_on_shards_image_and_paths() {
    let job = read("sweep-job.yaml");
    let merge = read("merge-job.yaml");
    assert_eq!(field(&job, "completionMode"), "Indexed");
    assert_eq!(env_value(&job, "SHARDS"), field(&job, "completions"), "SHARDS must equal completions");
    assert_eq!(field(&job, "image"), field(&merge, "image"));
    let results = env_value(&job, "RESULTS");
    assert!(merge.contains(&format!("{results}/shard-*")) && merge.contains(&format!("{results}/merged")));
    assert_eq!(field(&job, "claimName"), field(&merge, "claimName"));
    assert_eq!(field(&job, "claimName"), field(&read("results-pvc.yaml"), "name"));
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains("COPY deploy/kubernetes/shard.sh /usr/local/bin/routesim-shard"));
    assert_eq!(field(&job, "command"), r#"["routesim-shard"]"#);
    let scenario = env_value(&job, "SCENARIO");
    let in_repo = scenario.strip_prefix("/scenarios/").expect("the Dockerfile copies scenarios/ to /scenarios/");
    assert!(Path::new(REPO).join("scenarios").join(in_repo).is_file(), "{scenario} is not shipped");
}

#[test]
fn every_pod_then_the_merge_gives_the_unsharded_sweep() {
    let job = read("sweep-job.yaml");
    let shards: usize = field(&job, "completions").parse().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // The image's paths, mapped onto this checkout and a temporary "volume".
    let volume = tmp.path().join("results");
    let results = env_value(&job, "RESULTS").replace("/results", &volume.display().to_string());
    let scenario = env_value(&job, "SCENARIO").replace("/scenarios", &format!("{REPO}/scenarios"));
    let seeds = "--seeds 1"; // one seed a point: the test checks the plumbing, not the figures
    for index in 0..shards {
        let status = Command::new(Path::new(DIR).join("shard.sh"))
            .env("PATH", path_with_routesim())
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env("SCENARIO", &scenario)
            .env("SHARDS", shards.to_string())
            .env("RESULTS", &results)
            .env("SWEEP_ARGS", seeds)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pod {index} failed");
    }
    let merge = read("merge-job.yaml");
    let command = merge.lines().map(str::trim).find_map(|l| l.strip_prefix("- routesim merge")).unwrap();
    let command = format!("routesim merge{}", command.replace("/results", &volume.display().to_string()));
    let status = Command::new("sh")
        .args(["-c", &command])
        .env("PATH", path_with_routesim())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{command}");

    let plain: PathBuf = tmp.path().join("plain");
    let status = Command::new(env!("CARGO_BIN_EXE_routesim"))
        .args(["sweep", &scenario, "--seeds", "1", "--out"])
        .arg(&plain)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let merged = files(&Path::new(&results).join("merged"));
    let plain = files(&plain);
    assert_eq!(merged.keys().collect::<Vec<_>>(), plain.keys().collect::<Vec<_>>());
    for (name, bytes) in &plain {
        assert!(&merged[name] == bytes, "{name}: the merged sweep differs from the unsharded one");
    }
}

#[test]
fn a_pod_outside_the_shards_is_refused() {
    let out = Command::new(Path::new(DIR).join("shard.sh"))
        .env("PATH", path_with_routesim())
        .env("JOB_COMPLETION_INDEX", "8")
        .env("SCENARIO", format!("{REPO}/scenarios/sweep-heartbeat.yaml"))
        .env("SHARDS", "8")
        .env("RESULTS", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("set SHARDS to the Job's completions"));
}
