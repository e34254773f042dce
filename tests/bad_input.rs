//! Bad input never panics: every shipped scenario, mutated line by line in many ways, either
//! loads or is rejected with an error naming the file. Mutations are drawn from a fixed seed.

use std::path::Path;

use rand::{Rng, SeedableRng};
use routesim::scenario;

const REPLACEMENTS: &[&str] = &[
    "",
    "-1",
    "0",
    "1e309",
    "NaN",
    "[]",
    "{}",
    "~",
    "'",
    "\"",
    "- x",
    "x: [",
    "9999999999999999999999",
    "1us",
    "0s",
    "off",
    "true",
    "broker-zz",
    "ns-99",
    "kill",
    "power-off",
    "  - {}",
    ":",
    "\t",
    "é",
];

fn mutate(text: &str, rng: &mut rand_chacha::ChaCha8Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let i = rng.gen_range(0..lines.len());
    match rng.gen_range(0..4) {
        // Replace the value after the colon.
        0 => {
            if let Some((key, _)) = lines[i].split_once(':') {
                lines[i] = format!("{key}: {}", REPLACEMENTS[rng.gen_range(0..REPLACEMENTS.len())]);
            }
        }
        // Drop a line.
        1 => {
            lines.remove(i);
        }
        // Duplicate a line.
        2 => {
            let line = lines[i].clone();
            lines.insert(i, line);
        }
        // Replace the whole line.
        _ => lines[i] = REPLACEMENTS[rng.gen_range(0..REPLACEMENTS.len())].to_string(),
    }
    lines.join("\n")
}

#[test]
fn mutated_scenarios_load_or_fail_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let (mut rejected, mut accepted) = (0, 0);
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "yaml")) {
        let text = std::fs::read_to_string(file).unwrap();
        for _ in 0..300 {
            let mutated = mutate(&text, &mut rng);
            let outcome = std::panic::catch_unwind(|| scenario::from_text(Path::new("mutated.yaml"), &mutated));
            match outcome {
                Err(_) => panic!("panicked on:\n{mutated}"),
                Ok(Err(e)) => {
                    assert!(e.to_string().starts_with("mutated.yaml"), "{e}");
                    assert!(!e.message.is_empty());
                    rejected += 1;
                }
                Ok(Ok(mut s)) => {
                    // What loads must also survive expectation checking and a run (cut down to
                    // few sends and minutes so the test stays fast).
                    let checked = std::panic::catch_unwind(|| routesim::check::validate_expectations(&s, &mutated));
                    assert!(checked.is_ok(), "expectation check panicked on:\n{mutated}");
                    accepted += 1;
                    if accepted % 10 == 0 {
                        shrink(&mut s.world);
                        let ran = std::panic::catch_unwind(|| routesim::simulate(s.world));
                        assert!(ran.is_ok(), "the run panicked on:\n{mutated}");
                    }
                }
            }
        }
    }
    assert!(rejected > 1_000 && accepted > 100, "rejected {rejected}, accepted {accepted}");
}

/// Fewer sends and minutes; the node layout stays (faults refer to it).
fn shrink(world: &mut routesim::model::config::WorldConfig) {
    for group in &mut world.producers {
        group.rate_per_s = group.rate_per_s.min(0.2);
    }
    world.duration_us = world.duration_us.min(6 * 60 * 1_000_000);
}

#[test]
fn sweep_overrides_with_bad_values_fail_cleanly() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/broker-power-off.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let paths = ["timing.broker_heartbeat", "network.loss", "producers.retries", "faults.at", "cluster.nameservers"];
    for field in paths {
        for value in REPLACEMENTS {
            let value: scenario::yaml::Value = serde_yaml_value(value);
            let outcome = std::panic::catch_unwind(|| {
                scenario::with_overrides(&path, &text, &[(field.to_string(), value.clone())])
            });
            assert!(outcome.is_ok(), "panicked on {field} = {value:?}");
        }
    }
}

fn serde_yaml_value(text: &str) -> scenario::yaml::Value {
    scenario::yaml::parse_value(text).unwrap_or(scenario::yaml::Value::String(text.to_string()))
}

/// Numbers at their type's edges, and durations at the run's, in every numeric and duration
/// field: each loads, or is refused with an error naming the field; what loads and is small
/// enough to run here runs without a panic. Returns how many cases it tried.
#[test]
fn every_number_and_duration_field_at_its_edges() {
    const NUMBERS: &[&str] =
        &["0", "-1", ".nan", ".inf", "-.inf", "1e308", "-1e308", "18446744073709551616", "4294967296", "1e-15", "0.5"];
    const DURATIONS: &[&str] = &[
        "0s",
        "-1s",
        "1e308s",
        "1e308",
        "18446744073709551615us",
        "18446744073709551616us",
        "584542years",
        "1ns",
        "1us",
        "999us",
        "1ms",
        "30days",
        "30days 1us",
        "1e-15s",
        ".nan",
    ];
    let numeric = [
        "seed",
        "cluster.nameservers",
        "cluster.broker_groups",
        "cluster.slaves_per_group",
        "topics.queues_per_broker",
        "producers.count",
        "producers.rate",
        "producers.threads",
        "producers.retries",
        "network.loss",
        "network.links.client_broker.loss",
        "network.links.broker_ns.loss",
    ];
    let durations = [
        "duration",
        "timing.broker_heartbeat",
        "timing.broker_register_initial_delay",
        "timing.broker_register_timeout",
        "timing.broker_unregister_timeout",
        "timing.nameserver_scan",
        "timing.nameserver_scan_initial_delay",
        "timing.broker_expiry",
        "timing.nameserver_channel_idle",
        "timing.client_route_poll",
        "timing.client_route_poll_initial_delay",
        "timing.client_api_timeout",
        "timing.connect_timeout",
        "timing.start_window",
        "timing.nameserver_start_window",
        "producers.send_timeout",
        "producers.start_after",
        "cluster.broker_service_time.constant",
        "network.latency.constant",
        "network.links.client_ns.latency.constant",
        "faults.at",
        "faults.duration",
    ];
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lossy-network.yaml");
    let text = std::fs::read_to_string(&base).unwrap();
    let mut cases = 0;
    let mut rejected = 0;
    let fields = numeric.iter().map(|f| (f, NUMBERS)).chain(durations.iter().map(|f| (f, DURATIONS))).chain([
        (&"faults.probability", NUMBERS),
        (&"producers.rate", DURATIONS),
        (&"duration", NUMBERS),
    ]);
    for (field, values) in fields {
        for value in values.iter() {
            cases += 1;
            let overrides = [(field.to_string(), serde_yaml_value(value))];
            let outcome = std::panic::catch_unwind(|| scenario::with_overrides(&base, &text, &overrides));
            match outcome {
                Err(_) => panic!("validation panicked on {field} = {value}"),
                Ok(Err(e)) => {
                    rejected += 1;
                    let last = field.rsplit('.').next().unwrap();
                    let named = e.field.contains(last) || e.message.contains(last);
                    assert!(named, "{field} = {value}: the error does not name the field: {e}");
                    assert!(e.to_string().len() < 400, "{field} = {value}: a long message: {e}");
                }
                Ok(Ok(mut s)) => {
                    // Few sends, but the durations as given: those are what is under test.
                    for group in &mut s.world.producers {
                        group.rate_per_s = group.rate_per_s.min(0.2);
                    }
                    let estimate = routesim::scenario::budget::estimate(&s.world);
                    if estimate.events < 2e6 {
                        let ran = std::panic::catch_unwind(|| routesim::simulate(s.world));
                        assert!(ran.is_ok(), "the run panicked on {field} = {value}");
                    }
                }
            }
        }
    }
    println!("edge values: {cases} cases, {rejected} rejected");
    assert!(cases > 300 && rejected > 150, "{cases} cases, {rejected} rejected");
}

/// Issue 10's messages and wrong-figure cases, each as the file a user would write.
#[test]
fn edge_cases_get_their_own_clear_errors() {
    let base = "name: x\nduration: 5m\ncluster:\n  nameservers: 1\n  broker_groups: 2\ntopics:\n  - name: t\n\
                producers:\n  - name: p\n    topic: t\n    rate: 1\n";
    let cases: Vec<(String, Option<usize>, &str)> = vec![
        // A byte order mark is skipped: the file loads.
        (format!("\u{feff}{base}"), None, ""),
        (format!("{base}duration: 1m\n"), Some(12), "duplicate field `duration`"),
        (base.replace("name: x", "name: ."), Some(1), "current or parent directory"),
        (base.replace("name: x", "name: .."), Some(1), "current or parent directory"),
        (base.replace("5m", "1e308"), Some(2), "`1e308` has no unit"),
        (base.replace("nameservers: 1", "nameservers: 1e308"), Some(4), "floating point `1e308`"),
        (base.replace("rate: 1", "rate: 1e-15"), Some(11), "refused (not run as 0)"),
        (format!("{base}faults:\n  - {{at: 1m, kind: heal, target: cut}}\n"), Some(13), "no partition comes before"),
        (
            format!(
                "{base}faults:\n  - {{at: 1m, kind: loss, probability: 0.1, id: loss-all-end}}\n  - {{at: 2m, kind: loss, probability: 0.2, duration: 1m}}\n"
            ),
            Some(14),
            "this fault's end is named `loss-all-end`",
        ),
        (
            format!("{base}faults:\n  - {{at: 1m, kind: pause, target: broker-a, duration: 18446744073709us}}\n"),
            Some(13),
            "would end after the run does",
        ),
        (base.replace("rate: 1", "rate: 1\n    send_timeout: 31days"), Some(12), "1ms to 30days"),
        (format!("{base}timing:\n  client_route_poll: 1us\n"), Some(13), "RocketMQ takes it in milliseconds"),
    ];
    for (text, line, message) in cases {
        let result = scenario::from_text(Path::new("case.yaml"), &text);
        match (result, line) {
            (Ok(_), None) => {}
            (Ok(_), Some(_)) => panic!("accepted:\n{text}"),
            (Err(e), None) => panic!("refused: {e}\n{text}"),
            (Err(e), Some(line)) => {
                assert!(e.message.contains(message), "{e}\nexpected {message:?}");
                assert_eq!(e.line, Some(line), "{e}");
                assert!(e.to_string().len() < 300, "{e}");
            }
        }
    }
}

/// Default fault ids stay unique and quick to find however many faults share a target.
#[test]
fn a_thousand_faults_on_one_target_get_distinct_default_ids() {
    let mut text = "name: x\nduration: 20m\ncluster:\n  nameservers: 1\n  broker_groups: 1\ntopics:\n  - name: t\n\
                    producers:\n  - name: p\n    topic: t\n    rate: 0\nfaults:\n"
        .to_string();
    for i in 0..scenario::FAULTS_MAX {
        text.push_str(&format!("  - {{at: {i}s, kind: loss, probability: 0.1, duration: 1s}}\n"));
    }
    let s = scenario::from_text(Path::new("many.yaml"), &text).unwrap();
    let ids: std::collections::BTreeSet<&str> = s.world.faults.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids.len(), 2 * scenario::FAULTS_MAX);
    assert!(ids.contains("loss-all") && ids.contains("loss-all-2-end") && ids.contains("loss-all-1000"));
    text.push_str("  - {at: 1s, kind: loss, probability: 0.1}\n");
    let e = scenario::from_text(Path::new("many.yaml"), &text).unwrap_err();
    assert!(e.message.contains("at most 1000"), "{e}");
}

/// A small scenario with a sweep and an explore block, for `validate` against the commands
/// that use those blocks.
const WITH_BLOCKS: &str = "name: blocks\nduration: 6m\ncluster:\n  nameservers: 2\n  broker_groups: 2\ntopics:\n  - name: t\n\
producers:\n  - name: p\n    count: 2\n    topic: t\n    rate: 1\nexplore:\n  runs: 10\n  between: [1m, 3m]\n  menu:\n    \
- {kind: crash, mode: power-off, targets: [broker-a]}\nexpect:\n  - totals.sends > 0\nsweep:\n  seeds: 2\n  vary:\n    \
timing.broker_heartbeat: [10s, 30s]\n";

/// `routesim ARGS` must fail with exit code 2; returns stderr.
fn refused(args: &[&str]) -> String {
    let out = assert_cmd::Command::cargo_bin("routesim").unwrap().args(args).assert().code(2).get_output().clone();
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn validate_rejects_what_the_commands_reject_with_the_same_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("blocks.yaml");
    std::fs::write(&path, WITH_BLOCKS).unwrap();
    let file = path.to_str().unwrap();
    assert_cmd::Command::cargo_bin("routesim").unwrap().args(["validate", file]).assert().success();
    // (replace, with, the command that would reject it, what the error says)
    let cases = [
        ("timing.broker_heartbeat:", "timing.hearbeat:", "sweep", "did you mean `timing.broker_heartbeat`?"),
        ("[10s, 30s]", "[10, 30]", "sweep", "no unit"),
        ("[10s, 30s]", "[10s, 90s]", "sweep", "must be 10s to 60s"),
        ("[10s, 30s]", "[10s, 10s]", "sweep", "listed twice"),
        ("timing.broker_heartbeat:", "seed:", "sweep", "not varied"),
        ("targets: [broker-a]", "targets: [broker-q]", "explore", "broker-q"),
        ("between: [1m, 3m]", "between: [1m, 9m]", "explore", "explore.between"),
        ("totals.sends > 0", "totals.sendz > 0", "check", "totals.sendz"),
    ];
    for (from, to, command, says) in cases {
        assert!(WITH_BLOCKS.contains(from), "{from}");
        std::fs::write(&path, WITH_BLOCKS.replace(from, to)).unwrap();
        let by_validate = refused(&["validate", file]);
        let out = tmp.path().join("out");
        let by_command = match command {
            "check" => refused(&[command, file]),
            _ => refused(&[command, file, "--out", out.to_str().unwrap()]),
        };
        assert!(by_validate.contains(says), "validate on `{to}`: {by_validate}");
        assert!(by_validate.contains("blocks.yaml:"), "names the file and line: {by_validate}");
        assert!(!by_validate.contains("panicked"), "{by_validate}");
        assert_eq!(by_validate, by_command, "validate and {command} say the same about `{to}`");
    }
}
