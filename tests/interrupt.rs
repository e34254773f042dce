//! An interrupted command leaves nothing behind: SIGINT or SIGTERM during a run removes its
//! temporary output and trace files, says "interrupted: nothing written" and exits with 130,
//! and what was at `--out` before is untouched.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A run long enough to be interrupted while it simulates (it writes its trace meanwhile).
const LONG: &str = "name: long\nduration: 2h\ncluster:\n  nameservers: 2\n  broker_groups: 4\ntopics:\n  - name: t\n\
producers:\n  - name: p\n    count: 400\n    topic: t\n    rate: 20\n";

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

fn interrupt_with(signal: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("long.yaml");
    std::fs::write(&file, LONG).unwrap();
    let out = tmp.path().join("out");
    // An earlier run's output that must survive.
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join(".routesim-run"), "marker").unwrap();
    std::fs::write(out.join("summary.json"), "earlier").unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_routesim"))
        .args(["run", file.to_str().unwrap(), "-q", "--out", out.to_str().unwrap()])
        .args(["--trace", tmp.path().join("trace.jsonl").to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the trace's temporary file exists: the run is under way.
    let started = Instant::now();
    while temporaries(tmp.path()).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(60), "the run never started writing");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let killed = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{signal}: {}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("interrupted: nothing written"));
    assert_eq!(temporaries(tmp.path()), Vec::<String>::new(), "{signal} left temporary files");
    assert!(!tmp.path().join("trace.jsonl").exists(), "no half trace");
    assert_eq!(std::fs::read_to_string(out.join("summary.json")).unwrap(), "earlier");
}

#[test]
fn sigint_removes_temporaries_and_keeps_the_old_output() {
    interrupt_with("-INT");
}

#[test]
fn sigterm_removes_temporaries_and_keeps_the_old_output() {
    interrupt_with("-TERM");
}
