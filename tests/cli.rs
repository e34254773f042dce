//! The binary end to end: a real scenario runs and writes its files; bad input gets a clear
//! error (file, line, field, a fix) and exit code 2, never a panic; a failed run corrupts
//! nothing already written.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn routesim() -> Command {
    Command::cargo_bin("routesim").expect("binary built")
}

const SMALL: &str = "name: small\nduration: 6m\ncluster:\n  nameservers: 2\n  broker_groups: 2\ntopics:\n  - name: t\n\
producers:\n  - name: p\n    count: 3\n    topic: t\n    rate: 2\nfaults:\n  - at: 3m\n    kind: crash\n    \
target: broker-a\n    mode: power-off\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn run_writes_every_file_and_is_byte_identical_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "small.yaml", SMALL);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for out in [&a, &b] {
        routesim()
            .args(["run", file.to_str().unwrap(), "--seed", "7", "--out", out.to_str().unwrap()])
            .assert()
            .success()
            .stdout(predicate::str::contains("broker-a").and(predicate::str::contains("seed 7")));
    }
    let mut names: Vec<String> =
        std::fs::read_dir(&a).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    for expected in ["summary.json", "timeseries.csv", "detection.csv", "convergence.csv", "timeline.csv"] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing");
    }
    for chart in ["failed-sends", "fault-window", "detection", "convergence-cdf", "timeline", "false-removals"] {
        for ext in ["svg", "png"] {
            assert!(names.contains(&format!("{chart}.{ext}")), "{chart}.{ext} missing");
        }
    }
    assert!(names.iter().any(|n| n == "index.html"));
    for name in &names {
        let (x, y) = (std::fs::read(a.join(name)).unwrap(), std::fs::read(b.join(name)).unwrap());
        assert!(!x.is_empty(), "{name} is empty");
        assert_eq!(x, y, "{name} differs between two runs of the same seed");
    }
}

#[test]
fn csv_files_add_up_to_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "small.yaml", SMALL);
    let out = tmp.path().join("o");
    routesim().args(["run", file.to_str().unwrap(), "-q", "--out", out.to_str().unwrap()]).assert().success();
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let mut reader = csv::Reader::from_path(out.join("timeseries.csv")).unwrap();
    let mut sums = [0u64; 4];
    for row in reader.records() {
        let row = row.unwrap();
        for (i, sum) in sums.iter_mut().enumerate() {
            *sum += row[i + 1].parse::<u64>().unwrap();
        }
    }
    let totals = &summary["totals"];
    assert_eq!(sums, ["attempts", "failed_attempts", "sends", "failed_sends"].map(|k| totals[k].as_u64().unwrap()));
    assert!(sums[1] > 0, "the power-off failed some attempts");
}

/// Runs `validate` on `text` and returns stderr, asserting exit code 2.
fn rejected(text: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "bad.yaml", text);
    let out = routesim().args(["validate", file.to_str().unwrap()]).assert().code(2).get_output().stderr.clone();
    let stderr = String::from_utf8(out).unwrap();
    assert!(stderr.contains("bad.yaml"), "the error names the file: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn unknown_fields_are_rejected_with_a_suggestion_and_a_line() {
    let err = rejected(&SMALL.replace("duration: 6m", "durtion: 6m"));
    assert!(err.contains("bad.yaml:2:"), "{err}");
    assert!(err.contains("did you mean `duration`?"), "{err}");
    let err = rejected(&SMALL.replace("    rate: 2", "    rate: 2\n    retrys: 1"));
    assert!(err.contains("producers[0]") && err.contains("did you mean `retries`?"), "{err}");
}

#[test]
fn durations_need_units() {
    let err = rejected(&SMALL.replace("at: 3m", "at: 180"));
    assert!(err.contains("faults[0].at") && err.contains("no unit"), "{err}");
    assert!(err.contains("bad.yaml:14:"), "points at the line: {err}");
    assert_eq!(err.matches("faults[0].at").count(), 1, "the field is named once: {err}");
}

#[test]
fn a_fault_naming_a_missing_node_is_caught_before_the_run() {
    let err = rejected(&SMALL.replace("target: broker-a", "target: broker-q"));
    assert!(err.contains("bad.yaml:16:"), "{err}");
    assert!(err.contains("faults[0].target") && err.contains("no node named `broker-q`"), "{err}");
    assert!(err.contains("did you mean"), "{err}");
}

#[test]
fn semantic_mistakes_name_the_field() {
    for (from, to, field) in [
        ("mode: power-off", "mode: unplug", "faults[0].mode"),
        ("topic: t", "topic: orders", "producers[0].topic"),
        ("at: 3m", "at: 9m", "faults[0].at"),
        ("nameservers: 2", "nameservers: 0", "cluster.nameservers"),
        ("mode: power-off", "mode: power-off\n    probability: 0.5", "faults[0].probability"),
        ("duration: 6m", "duration: 6m\ntiming:\n  broker_heartbeat: 5s", "timing.broker_heartbeat"),
    ] {
        let err = rejected(&SMALL.replace(from, to));
        assert!(err.contains(field), "{field}: {err}");
    }
}

#[test]
fn not_yaml_and_missing_files_are_input_errors() {
    rejected("name: [unclosed\n");
    routesim().args(["run", "no/such/file.yaml"]).assert().code(2).stderr(predicate::str::contains("cannot read"));
    routesim().args(["run"]).assert().code(2);
    routesim().args(["frobnicate"]).assert().code(2);
}

#[test]
fn a_failed_run_leaves_the_previous_output_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "small.yaml", SMALL);
    let out = tmp.path().join("o");
    routesim().args(["run", file.to_str().unwrap(), "-q", "--out", out.to_str().unwrap()]).assert().success();
    let before = std::fs::read(out.join("summary.json")).unwrap();
    // The output's parent is a file: the run cannot write and must say so with exit code 1.
    let blocker = write(tmp.path(), "blocker", "");
    routesim()
        .args(["run", file.to_str().unwrap(), "-q", "--out", blocker.join("o").to_str().unwrap()])
        .assert()
        .code(1);
    let bad = write(tmp.path(), "bad.yaml", &SMALL.replace("rate: 2", "rate: -1"));
    routesim().args(["run", bad.to_str().unwrap(), "-q", "--out", out.to_str().unwrap()]).assert().code(2);
    assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), before);
}

#[test]
fn every_shipped_scenario_validates() {
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&scenarios)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8);
    routesim().arg("validate").args(&files).assert().success();
}

#[test]
fn traces_are_deterministic_filterable_and_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "small.yaml", SMALL);
    let traced = |name: &str, filter: &[&str]| {
        let (out, trace) = (tmp.path().join(format!("{name}-out")), tmp.path().join(format!("{name}.jsonl")));
        let mut args = vec!["run", file.to_str().unwrap(), "-q", "--no-charts", "--out", out.to_str().unwrap()];
        args.extend(["--trace", trace.to_str().unwrap()]);
        for f in filter {
            args.extend(["--trace-filter", f]);
        }
        routesim().args(&args).assert().success();
        (out, std::fs::read_to_string(trace).unwrap())
    };
    let (out, all) = traced("a", &[]);
    let (_, again) = traced("b", &[]);
    assert_eq!(all, again, "the same run traces the same bytes");
    let lines: Vec<serde_json::Value> = all.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let times: Vec<f64> = lines.iter().map(|l| l["t_s"].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "records in time order");
    let removed: Vec<_> = lines.iter().filter(|l| l["kind"] == "removed").collect();
    assert!(removed.iter().any(|l| l["peer"] == "broker-a" && l["detail"] == "idle-close"), "power-off: idle close");
    let (_, filtered) = traced("c", &["node=broker-a", "kind=removed"]);
    let kept: Vec<&str> = filtered.lines().collect();
    assert!(!kept.is_empty());
    assert!(kept.iter().all(|l| l.contains("\"removed\"") && l.contains("broker-a")), "{kept:?}");
    // One key, a comma list of values: the same as the key twice.
    let (_, listed) = traced("d", &["kind=removed,route-changed"]);
    let (_, twice) = traced("e", &["kind=removed", "kind=route-changed"]);
    assert_eq!(listed, twice);
    assert!(listed.contains("\"route-changed\"") && listed.contains("\"removed\""));
    routesim()
        .args(["run", file.to_str().unwrap(), "--trace", "/dev/null", "--trace-filter", "node=brokr-a"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no node named `brokr-a`; did you mean `broker-a`?"));
    routesim()
        .args(["run", file.to_str().unwrap(), "--trace", "/dev/null", "--trace-filter", "kind=nonsense"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no kind `nonsense`"));
    routesim()
        .args(["explain", out.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("idle-close").and(predicate::str::contains("last stale attempt")));
}

#[test]
fn chart_redraws_from_the_data_files() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "small.yaml", SMALL);
    let out = tmp.path().join("o");
    routesim().args(["run", file.to_str().unwrap(), "-q", "--out", out.to_str().unwrap()]).assert().success();
    let before = std::fs::read(out.join("timeline.svg")).unwrap();
    std::fs::remove_file(out.join("timeline.svg")).unwrap();
    routesim().args(["chart", out.to_str().unwrap()]).assert().success();
    assert_eq!(std::fs::read(out.join("timeline.svg")).unwrap(), before);
    routesim().args(["chart", tmp.path().to_str().unwrap()]).assert().code(2);
}

#[test]
fn the_readme_scenario_example_is_valid_and_runs() {
    // Keeps the README honest: its format example, placeholders filled, must load and run.
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find("```yaml\nname: broker-power-off").expect("the format example") + "```yaml\n".len();
    let example = &readme[start..];
    let example = &example[..example.find("```").unwrap()];
    let filled = example
        .replace("faults: [...]", "faults:\n  - {at: 5m, kind: crash, target: broker-a, mode: power-off}\n#")
        .replace("expect: [...]", "expect: []\n#")
        .replace("sweep: {...}", "sweep: {seeds: 2}\n#")
        .replace("count: 200", "count: 5");
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "example.yaml", &filled);
    routesim().args(["validate", file.to_str().unwrap()]).assert().success();
    let out = tmp.path().join("o");
    routesim()
        .args(["run", file.to_str().unwrap(), "-q", "--no-charts", "--out", out.to_str().unwrap()])
        .assert()
        .success();
}

#[test]
fn latency_takes_exactly_one_form() {
    for form in ["{constant: 1ms}", "{uniform: {min: 1ms, max: 2ms}}", "{lognormal: {median: 1ms, p99: 9ms}}"] {
        let tmp = tempfile::tempdir().unwrap();
        let file = write(
            tmp.path(),
            "ok.yaml",
            &SMALL.replace("duration: 6m", &format!("duration: 6m\nnetwork:\n  latency: {form}")),
        );
        routesim().args(["validate", file.to_str().unwrap()]).assert().success();
    }
    let err =
        rejected(&SMALL.replace(
            "duration: 6m",
            "duration: 6m\nnetwork:\n  latency: {constant: 1ms, uniform: {min: 1ms, max: 2ms}}",
        ));
    assert!(err.contains("network.latency") && err.contains("exactly one"), "{err}");
    let err = rejected(&SMALL.replace("duration: 6m", "duration: 6m\nnetwork:\n  latency: {gaussian: 1ms}"));
    assert!(err.contains("unknown field `gaussian`"), "{err}");
}

#[test]
fn out_never_replaces_what_routesim_did_not_write() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "small.yaml", SMALL);
    let foreign = tmp.path().join("mine");
    std::fs::create_dir(&foreign).unwrap();
    write(&foreign, "notes.txt", "precious");
    let plain = write(tmp.path(), "plain.txt", "data");
    for out in [&foreign, &plain, &tmp.path().to_path_buf()] {
        routesim()
            .args(["run", file.to_str().unwrap(), "-q", "--no-charts", "--out", out.to_str().unwrap()])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("will not replace it").and(predicate::str::contains("--out")));
    }
    assert_eq!(std::fs::read_to_string(foreign.join("notes.txt")).unwrap(), "precious");
    assert_eq!(std::fs::read_to_string(&plain).unwrap(), "data");
    assert!(file.is_file());
    // A routesim run directory is replaced by the next run, but not by a sweep.
    let out = tmp.path().join("o");
    for _ in 0..2 {
        routesim()
            .args(["run", file.to_str().unwrap(), "-q", "--no-charts", "--out", out.to_str().unwrap()])
            .assert()
            .success();
    }
    assert!(out.join(".routesim-run").is_file());
    let sweep = write(tmp.path(), "sweep.yaml", &format!("{SMALL}sweep:\n  seeds: 1\n"));
    routesim()
        .args(["sweep", sweep.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("holds a routesim run, not a sweep"));
    assert!(out.join("summary.json").is_file());
}

#[test]
fn huge_seed_ranges_are_refused_not_wrapped() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "small.yaml", &format!("{SMALL}expect: [totals.sends > 0]\n"));
    for command in ["check", "sweep"] {
        routesim()
            .args([command, file.to_str().unwrap(), "--seeds", "0..=18446744073709551615"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("more than 10000000 seeds"));
    }
}

/// Runs `args` with `--json`: success, one JSON document on stdout, nothing on stderr.
fn json_of(args: &[&str]) -> serde_json::Value {
    let out = routesim().args(args).arg("--json").assert().success().get_output().clone();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?} --json wrote to stderr");
    let stdout = String::from_utf8(out.stdout).unwrap();
    // `from_str` refuses trailing text: the document is all there is.
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?} --json is not one JSON document ({e}):\n{stdout}"))
}

/// Runs `args` with `--quiet`: success, nothing on stdout or stderr.
fn quietly(args: &[&str]) {
    routesim().args(args).arg("--quiet").assert().success().stdout("").stderr("");
}

#[test]
fn every_command_prints_one_json_document_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let sweep_text = format!(
        "{SMALL}expect:\n  - totals.sends > 0\nsweep:\n  seeds: 2\n  vary:\n    timing.broker_heartbeat: [10s, 30s]\n"
    );
    let file = write(tmp.path(), "small.yaml", &sweep_text);
    let file = file.to_str().unwrap();

    let summary = json_of(&["run", file, "--no-charts", "--out", &t("run")]);
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("run/summary.json")).unwrap()).unwrap();
    assert_eq!(summary, written, "run --json prints the summary");
    quietly(&["run", file, "--no-charts", "--out", &t("run")]);

    let validated = json_of(&["validate", file]);
    assert_eq!(validated["ok"], true);
    assert_eq!(validated["files"][0]["expectations"], 1);
    assert_eq!(validated["files"][0]["sweep"]["points"], 2);
    quietly(&["validate", file]);

    let checked = json_of(&["check", file, "--seeds", "1"]);
    assert_eq!(checked["passed"], true);
    assert_eq!(checked["scenarios"][0]["expectations"][0]["expectation"], "totals.sends > 0");
    quietly(&["check", file, "--seeds", "1"]);
    // A failed expectation: exit 1, and the verdicts are still the one document on stdout.
    let failing = write(tmp.path(), "failing.yaml", &format!("{SMALL}expect:\n  - totals.sends > 1000000\n"));
    let stdout = routesim()
        .args(["check", failing.to_str().unwrap(), "--seeds", "1..=2", "--json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let verdicts: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    let verdict = &verdicts["scenarios"][0]["expectations"][0];
    assert_eq!((&verdicts["passed"], &verdict["passed"]), (&false.into(), &false.into()));
    assert_eq!(verdict["failing_seeds"], serde_json::json!([1, 2]));
    assert!(verdict["replay"].as_str().unwrap().contains("routesim run"), "{verdict}");
    // A file that does not validate: exit 2, the error on stderr, what was checked on stdout.
    let bad = write(tmp.path(), "bad.yaml", &SMALL.replace("at: 3m", "at: 180"));
    let out =
        routesim().args(["validate", file, bad.to_str().unwrap(), "--json"]).assert().code(2).get_output().clone();
    let validated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&validated["ok"], &validated["files"][0]["ok"], &validated["files"][1]["ok"]),
        (&false.into(), &true.into(), &false.into())
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no unit"));

    let swept = json_of(&["sweep", file, "--out", &t("sweep")]);
    let points = swept["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    assert_eq!(points[1]["settings"]["timing.broker_heartbeat"], "30s");
    assert_eq!(points[0]["runs"].as_array().unwrap().len(), 2);
    assert!(points[0]["runs"][0]["metrics"]["totals.sends"].as_f64().unwrap() > 0.0);
    quietly(&["sweep", file, "--out", &t("sweep")]);
    for k in 0..2 {
        quietly(&["sweep", file, "--shard", &format!("{k}/2"), "--out", &t(&format!("shard-{k}"))]);
    }
    let merged = json_of(&["merge", &t("shard-0"), &t("shard-1"), "--out", &t("merged")]);
    assert_eq!(merged["points"], swept["points"], "a merge prints what the whole sweep printed");
    quietly(&["merge", &t("shard-0"), &t("shard-1"), "--out", &t("merged")]);

    let redrawn = json_of(&["chart", &t("run")]);
    assert_eq!(redrawn["kind"], "run");
    assert!(redrawn["files"].as_array().unwrap().iter().any(|f| f.as_str().unwrap().ends_with("index.html")));
    quietly(&["chart", &t("run")]);
    assert_eq!(json_of(&["chart", &t("sweep")])["kind"], "sweep");

    let compared = json_of(&["compare", &t("run"), &t("run"), "--out", &t("compare")]);
    let sends = compared["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == "totals.sends").unwrap();
    assert_eq!(sends["deltas"][1], 0.0, "a run against itself: {sends}");
    quietly(&["compare", &t("run"), &t("run"), "--out", &t("compare")]);

    let story = json_of(&["explain", &t("run")]);
    assert_eq!(story["faults"][0]["id"], "broker-a");
    quietly(&["explain", &t("run")]);

    let bench = json_of(&["bench", file, "--events", "10000"]);
    assert!(bench["queue"].is_object());
    quietly(&["bench", file, "--events", "10000"]);

    let target = "faults[broker-a].stale_window_s.p99 <= 1000";
    let tune = ["tune", file, "--target", target, "--seeds", "1", "--vary", "timing.client_route_poll=10s,30s"];
    let tuned = json_of(&[&tune[..], &["--out", &t("tune")]].concat());
    assert_eq!(tuned["points"].as_array().unwrap().len(), 2);
    quietly(&[&tune[..], &["--out", &t("tune")]].concat());

    let explored = json_of(&["explore", file, "--runs", "2", "--out", &t("explore")]);
    assert_eq!(explored["runs"], 2);
    quietly(&["explore", file, "--runs", "2", "--out", &t("explore")]);
}

#[test]
fn explain_and_chart_refuse_what_is_not_a_run_and_say_what_to_run() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "small.yaml", &format!("{SMALL}sweep:\n  seeds: 1\n"));
    let shard = tmp.path().join("shard");
    routesim()
        .args(["sweep", file.to_str().unwrap(), "-q", "--shard", "0/2", "--out", shard.to_str().unwrap()])
        .assert()
        .success();
    routesim()
        .args(["chart", shard.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("one shard of a sweep").and(predicate::str::contains("routesim merge")));
    let sweep = tmp.path().join("sweep");
    routesim().args(["sweep", file.to_str().unwrap(), "-q", "--out", sweep.to_str().unwrap()]).assert().success();
    routesim()
        .args(["explain", sweep.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is a sweep").and(predicate::str::contains("routesim run SCENARIO --seed N")));
}

#[test]
fn explain_tells_false_removals_and_clients_that_never_converged() {
    let tmp = tempfile::tempdir().unwrap();
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let explained = |name: &str| {
        let out = tmp.path().join(name);
        let file = scenarios.join(format!("{name}.yaml"));
        routesim()
            .args(["run", file.to_str().unwrap(), "-q", "--no-charts", "--out", out.to_str().unwrap()])
            .assert()
            .success();
        let stdout = routesim().args(["explain", out.to_str().unwrap()]).assert().success().get_output().stdout.clone();
        String::from_utf8(stdout).unwrap()
    };
    // A 40 s pause of ns-0: brokers dropped while alive when it resumed at 280 s (MODEL.md 2a).
    let text = explained("nameserver-gc-pause");
    assert!(text.contains("false removals:"), "{text}");
    assert!(text.contains("ns-0 dropped broker-") && text.contains("at 280.0 s while it was alive"), "{text}");
    assert!(text.contains("paused at 240.0 s until 280.0 s") && text.contains("timed out"), "{text}");
    // A broker paused for less than the expiry: no NameServer drops it, so no client does.
    let text = explained("gc-pause");
    assert!(text.contains("never converged:"), "{text}");
    assert!(text.contains("200 of 200 clients never dropped broker-a"), "{text}");
    assert!(text.contains("no NameServer removed broker-a"), "{text}");
}
