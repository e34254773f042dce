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
