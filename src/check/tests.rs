use super::*;

/// A cluster small enough to simulate in a debug build in well under a second.
const TINY: &str = "
name: tiny
seed: 1
duration: 4m
cluster: {nameservers: 2, broker_groups: 3}
topics: [{name: t, queues_per_broker: 2}]
producers: [{name: p, count: 4, topic: t, rate: 5, mode: sync, threads: 2}]
";

fn scenario(yaml: &str) -> Scenario {
    match scenario::from_text(Path::new("tiny.yaml"), yaml) {
        Ok(s) => s,
        Err(e) => panic!("test scenario should load: {e}"),
    }
}

fn assertion(text: &str) -> Assertion {
    expect::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether `schema` has the shape of `real`: the same keys everywhere, the same kinds of
/// values; a null in `real` (no samples) fits anything. A one-element list in the schema stands
/// for a list of any length.
fn same_shape(schema: &Value, real: &Value, at: &str) -> Result<(), String> {
    match (schema, real) {
        (_, Value::Null) | (Value::Number(_), Value::Number(_)) | (Value::String(_), Value::String(_)) => Ok(()),
        (Value::Bool(_), Value::Bool(_)) => Ok(()),
        (Value::Object(s), Value::Object(r)) => {
            let (sk, rk): (Vec<_>, Vec<_>) = (s.keys().collect(), r.keys().collect());
            if sk != rk {
                return Err(format!("{at}: keys {sk:?} in the schema, {rk:?} in the run"));
            }
            s.iter().try_for_each(|(k, v)| same_shape(v, &r[k], &format!("{at}.{k}")))
        }
        (Value::Array(s), Value::Array(r)) if s.len() == r.len() => {
            s.iter().zip(r).enumerate().try_for_each(|(i, (a, b))| same_shape(a, b, &format!("{at}[{i}]")))
        }
        (Value::Array(s), Value::Array(r)) if s.len() == 1 => {
            r.iter().enumerate().try_for_each(|(i, b)| same_shape(&s[0], b, &format!("{at}[{i}]")))
        }
        _ => Err(format!("{at}: {schema} in the schema, {real} in the run")),
    }
}

#[test]
fn schema_has_the_shape_of_real_runs() {
    // Every kind of fault, with generated partners, and faults with and without subjects.
    let s = scenario(&format!(
        "{TINY}faults:
  - {{at: 20s, kind: crash, target: broker-a, mode: power-off, duration: 60s}}
  - {{at: 30s, kind: pause, target: broker-b, duration: 10s}}
  - {{at: 40s, kind: partition, id: p1, groups: [[broker-c], [nameservers]]}}
  - {{at: 50s, kind: heal, target: p1}}
  - {{at: 60s, kind: loss, probability: 0.1, duration: 10s}}
  - {{at: 70s, kind: shutdown, target: ns-1}}
  - {{at: 80s, kind: crash, target: p-0, mode: kill}}
  - {{at: 90s, kind: restart, target: ns-1}}
  - {{at: 100s, kind: shutdown, target: broker-b, id: stop-b}}
"
    ));
    let schema = schema(&s.world);
    let mut real = serde_json::to_value(crate::simulate(s.world.clone()).summary).unwrap();
    // The schema leaves out what is always null for a fault without subjects (tested below).
    for fault in real["faults"].as_array_mut().unwrap() {
        if fault["subjects"].as_array().unwrap().is_empty() {
            NULL_WITHOUT_SUBJECTS.iter().for_each(|field| remove_path(fault, field));
        }
    }
    if let Err(e) = same_shape(&schema, &real, "summary") {
        panic!("{e}");
    }
    // Strings the assertions select by must agree exactly, not only in kind.
    assert_eq!(schema["nameservers"], real["nameservers"]);
    let faults = real["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 12);
    for (s, r) in schema["faults"].as_array().unwrap().iter().zip(faults) {
        for key in ["id", "kind", "mode", "target", "subjects", "detection_window_s"] {
            assert_eq!(s[key], r[key], "{key} of fault {}", r["id"]);
        }
    }
    assert_eq!(schema["faults"][4]["subjects"], serde_json::json!(["broker-c"]));
}

/// Every leaf of `value` as an `expect:` path: list elements with an `id` by id, others by
/// index. Lists of plain values (`subjects`, `explain.text`) are no assertion's target.
fn leaf_paths(value: &Value, at: &str, out: &mut Vec<String>) {
    let join = |key: &str| if at.is_empty() { key.to_string() } else { format!("{at}.{key}") };
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| leaf_paths(v, &join(k), out)),
        Value::Array(items) if items.iter().all(Value::is_object) => {
            for (i, item) in items.iter().enumerate() {
                let selector = item.get("id").and_then(Value::as_str).map_or(i.to_string(), str::to_string);
                leaf_paths(item, &format!("{at}[{selector}]"), out);
            }
        }
        Value::Array(_) => {}
        _ => out.push(at.to_string()),
    }
}

#[test]
fn every_schema_leaf_is_an_expect_path_of_a_real_run() {
    // A lossy run, so that its summary lists false removals as the schema's one element does.
    let s = scenario(&format!(
        "{TINY}faults:
  - {{at: 20s, kind: crash, target: broker-a, mode: power-off}}
  - {{at: 30s, kind: shutdown, target: ns-1, duration: 20s}}
  - {{at: 10s, kind: loss, probability: 0.5, class: broker_ns, duration: 200s}}
"
    ));
    let schema = schema(&s.world);
    let real = serde_json::to_value(crate::simulate(s.world.clone()).summary).unwrap();
    assert!(!real["false_removals"].as_array().unwrap().is_empty(), "the run should have false removals");
    let mut paths = Vec::new();
    leaf_paths(&schema, "", &mut paths);
    assert!(paths.contains(&"false_removals[0].relisted".to_string()), "{paths:?}");
    for path in &paths {
        // `== null` fits any kind of value: this checks that the path exists in the run.
        let a = assertion(&format!("{path} == null"));
        if let Err(e) = expect::validate_path(&a, &real) {
            panic!("schema leaf {path} is not in a real run's summary: {e}");
        }
    }
}

#[test]
fn a_fault_without_subjects_offers_no_fields_that_are_always_null() {
    let s = scenario(&format!("{TINY}faults:\n  - {{at: 30s, kind: shutdown, target: ns-1, duration: 20s}}\n"));
    let schema = schema(&s.world);
    let real = serde_json::to_value(crate::simulate(s.world.clone()).summary).unwrap();
    for field in NULL_WITHOUT_SUBJECTS {
        let path = format!("faults[ns-1].{field}");
        // Null in a real run (an object: null in every key)...
        let value = field.split('.').fold(&real["faults"][0], |v, k| &v[k]);
        let values: Vec<&Value> = value.as_object().map_or(vec![value], |m| m.values().collect());
        assert!(values.iter().all(|v| v.is_null()), "{path} is {value} in a real run");
        // ...and so not in the schema, with a message saying why.
        assert!(expect::validate_path(&assertion(&format!("{path} >= 0")), &schema).is_err(), "{path}");
        let text = format!("{TINY}faults:\n  - {{at: 30s, kind: shutdown, target: ns-1}}\nexpect: [\"{path} >= 0\"]\n");
        let errors = validate_expectations(&scenario(&text), &text).unwrap_err();
        let e = errors[0].to_string();
        assert!(
            e.contains(&format!(
                "fault `ns-1` has no subjects (it takes no broker out of service): `{field}` is always null"
            )),
            "{e}"
        );
    }
    // What is measured for any fault stays.
    let ok = format!(
        "{TINY}faults:\n  - {{at: 30s, kind: shutdown, target: ns-1}}\nexpect:\n  - faults[ns-1].failed_sends == 0\n  - faults[0].convergence_s.clients == 0\n"
    );
    assert_eq!(validate_expectations(&scenario(&ok), &ok).map(|a| a.len()), Ok(2));
}

#[test]
fn assertions_are_checked_at_load_time_with_file_line_and_text() {
    let text = format!(
        "{TINY}faults:\n  - {{at: 1m, kind: crash, target: broker-a, mode: power-off}}\n  - {{at: 2m, kind: shutdown, target: ns-1}}\nexpect:\n  - faults[broker-a].detection_s.ns-0 >= 90\n  - faults[broker-a].stale_window <= 165\n  - faults[broker-b].stale_window_s <= 165\n  - faults[ns-1].detection_s.ns-0 >= 0\n  - totals.failed_sends = 0\n"
    );
    let s = scenario(&text);
    let errors = validate_expectations(&s, &text).unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 4, "{shown:#?}");
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for (e, (assertion, problem)) in shown.iter().zip([
        ("faults[broker-a].stale_window <= 165", "did you mean `stale_window_s`?"),
        ("faults[broker-b].stale_window_s <= 165", "no element of `faults` has id `broker-b`"),
        // A NameServer is no broker: the fault has no subjects and so no detection times.
        ("faults[ns-1].detection_s.ns-0 >= 0", "unknown key `ns-0`"),
        ("totals.failed_sends = 0", "write `==` to test equality"),
    ]) {
        assert!(e.starts_with(&format!("tiny.yaml:{}: field `expect[", line_of(assertion))), "{e}");
        assert!(e.contains(assertion), "{e}");
        assert!(e.contains(problem), "{e}");
    }
    let good = format!("{TINY}expect:\n  - totals.failed_sends == 0\n  - faults.count >= 0\n");
    let err = validate_expectations(&scenario(&good), &good).unwrap_err();
    assert!(err[0].to_string().contains("faults.count"), "{}", err[0]);
}

#[test]
fn fields_that_may_be_null_are_still_checked_below() {
    let text = format!(
        "{TINY}faults:\n  - {{at: 1m, kind: crash, target: broker-a, mode: power-off}}\nexpect: [\"faults[broker-a].added_latency_ms.p90 < 1\"]\n"
    );
    let s = scenario(&text);
    let errors = validate_expectations(&s, &text).unwrap_err();
    let e = errors[0].to_string();
    // A flow-style list has no line per element: the error points at `expect:`.
    let line = text.lines().position(|l| l.starts_with("expect:")).unwrap() + 1;
    assert!(e.starts_with(&format!("tiny.yaml:{line}: field `expect[0]`")), "{e}");
    assert!(e.contains("unknown key `p90`"), "{e}");
    let ok = format!(
        "{TINY}expect:\n  - false_removals[0].missing_s < 30\n  - totals.false_removal_missing_s_max.max < 30\n"
    );
    assert_eq!(validate_expectations(&scenario(&ok), &ok).map(|a| a.len()), Ok(2));
}

#[test]
fn faults_are_grouped_with_their_partners_and_heals() {
    let s = scenario(&format!(
        "{TINY}faults:
  - {{at: 20s, kind: crash, target: broker-a, mode: kill, duration: 10s}}
  - {{at: 40s, kind: partition, id: p1, groups: [[broker-c], [nameservers]]}}
  - {{at: 45s, kind: loss, probability: 0.1}}
  - {{at: 50s, kind: heal, target: p1}}
  - {{at: 60s, kind: restart, target: broker-b}}
"
    ));
    let faults = &s.world.faults;
    let groups = fault_groups(faults);
    assert_eq!(groups, vec![vec![0, 1], vec![2, 4], vec![3], vec![5]]);
    let labels: Vec<String> = groups.iter().map(|g| group_label(faults, g)).collect();
    assert_eq!(labels, ["broker-a", "p1 + heal-p1", "loss-all", "restart-broker-b"]);
}

#[test]
fn an_index_selector_is_pinned_to_the_fault_it_picks() {
    let s = scenario(&format!(
        "{TINY}faults:\n  - {{at: 20s, kind: crash, target: broker-a, mode: kill}}\n  - {{at: 30s, kind: pause, target: broker-b}}\n"
    ));
    let (a, named) = name_faults(&assertion("faults[1].stale_attempts >= 0"), &s.world.faults).unwrap();
    assert_eq!(a.path[0].selector, Some(Selector::Id("broker-b".into())));
    assert_eq!(named, BTreeSet::from(["broker-b".to_string()]));
    assert!(name_faults(&assertion("faults[2].stale_attempts >= 0"), &s.world.faults).is_none());
    let (_, named) = name_faults(&assertion("totals.sends > 0"), &s.world.faults).unwrap();
    assert!(named.is_empty());
}

#[test]
fn minimisation_drops_the_faults_a_failure_does_not_need() {
    let s = scenario(&format!(
        "{TINY}faults:\n  - {{at: 1m, kind: crash, target: broker-a, mode: power-off}}\n  - {{at: 90s, kind: crash, target: broker-b, mode: kill, duration: 30s}}\n"
    ));
    let a = assertion("faults[broker-a].stale_window_s <= 10");
    let keys = top_level_keys(std::slice::from_ref(&a));
    let m = minimise(&s.world, 1, &a, &keys, &mut HashMap::new()).unwrap();
    assert_eq!(
        m,
        Minimised {
            seed: 1,
            kept: vec!["broker-a".into()],
            dropped: vec!["broker-b".into()],
            reruns: 1,
            exhausted: false
        }
    );
    // One fault group: nothing to minimise.
    let mut single = s.world.clone();
    single.faults.truncate(1);
    assert_eq!(minimise(&single, 1, &a, &keys, &mut HashMap::new()), None);
}

#[test]
fn minimisation_is_bounded_and_keeps_named_faults() {
    let faults: String = (0..25)
        .map(|i| format!("  - {{at: {}s, kind: loss, id: l{i}, probability: 0.01, duration: 1s}}\n", i + 1))
        .collect();
    let s = scenario(&format!("{}faults:\n{faults}", TINY.replace("duration: 4m", "duration: 30s")));
    // Fails whatever the faults: every drop is kept until the budget runs out.
    let a = assertion("faults[l3].at_s < 0");
    let keys = top_level_keys(std::slice::from_ref(&a));
    let m = minimise(&s.world, 1, &a, &keys, &mut HashMap::new()).unwrap();
    assert_eq!(m.reruns, MINIMISE_RERUNS_MAX);
    assert!(m.exhausted);
    assert_eq!(m.dropped.len(), MINIMISE_RERUNS_MAX);
    assert!(m.kept.contains(&"l3".to_string()) && !m.dropped.contains(&"l3".to_string()));
    assert_eq!(m.kept.len() + m.dropped.len(), 25);
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn plan_of(paths: Vec<PathBuf>, seeds: Option<&str>) -> Result<(Vec<Plan>, Vec<String>), CheckError> {
    plan(&paths, seeds.map(|s| s.parse().unwrap()))
}

#[test]
fn directories_give_their_yaml_files_with_expectations_and_their_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let checked = format!("{TINY}expect: [totals.sends > 0]\n");
    write(d, "b.yaml", &checked.replace("seed: 1", "seed: 7"));
    write(d, "a.yaml", &format!("{checked}sweep:\n  seeds: 3..=5\n"));
    write(d, "no-expect.yaml", TINY);
    write(d, "sweep.yaml", &format!("{TINY}sweep:\n  seeds: 10\n"));
    write(d, "other.yml", &checked);
    write(d, "vary.yaml", &format!("{checked}sweep:\n  vary:\n    producers.rate: [1, 2]\n"));
    let (plans, notes) = plan_of(vec![d.to_path_buf()], None).unwrap();
    let found: Vec<(String, SeedRange)> =
        plans.iter().map(|p| (p.path.file_name().unwrap().to_string_lossy().into_owned(), p.seeds)).collect();
    assert_eq!(
        found,
        [
            ("a.yaml".to_string(), SeedRange { first: 3, last: 5 }),
            ("b.yaml".to_string(), SeedRange { first: 7, last: 7 }),
            ("vary.yaml".to_string(), SeedRange { first: 1, last: 1 })
        ]
    );
    assert_eq!(notes.len(), 1);
    assert!(notes[0].ends_with("vary.yaml: `sweep.vary` is not applied; check judges the scenario as written"));
    // `--seeds` wins; a file named explicitly without expectations gets a note; repeats count once.
    std::fs::remove_file(d.join("vary.yaml")).unwrap();
    let (plans, notes) = plan_of(vec![d.join("no-expect.yaml"), d.join("b.yaml"), d.to_path_buf()], Some("2")).unwrap();
    assert_eq!(plans.len(), 2);
    assert!(plans.iter().all(|p| p.seeds == SeedRange { first: 1, last: 2 }));
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("no-expect.yaml has no `expect:` block"), "{notes:?}");
}

#[test]
fn bad_inputs_are_all_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "bad.yaml", &format!("{TINY}expect: [totals.sendz > 0]\n"));
    write(d, "broken.yaml", "name: [\n");
    let missing = d.join("missing.yaml");
    let Err(CheckError::Input(errors)) = plan_of(vec![d.to_path_buf(), missing], None) else {
        panic!("bad input must be an input error");
    };
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[0].contains("bad.yaml") && errors[0].contains("totals.sendz"), "{}", errors[0]);
    assert!(errors[1].contains("broken.yaml"), "{}", errors[1]);
    assert!(errors[2].contains("missing.yaml: no such file or directory"), "{}", errors[2]);
    let empty = tempfile::tempdir().unwrap();
    let Err(CheckError::Input(errors)) = plan_of(vec![empty.path().to_path_buf()], None) else {
        panic!("nothing to check is an input error");
    };
    assert!(errors[0].starts_with("no scenario with an `expect:` block in"), "{errors:?}");
    write(d, "bad.yaml", &format!("{TINY}expect: [totals.sends > 0]\n"));
    std::fs::remove_file(d.join("broken.yaml")).unwrap();
    let Err(CheckError::Input(errors)) = plan_of(vec![d.to_path_buf()], Some("100001")) else {
        panic!("too many runs is an input error");
    };
    assert!(errors[0].contains("100001 runs asked for"), "{errors:?}");
}

#[test]
fn replay_commands_are_shell_words() {
    let seeds = SeedRange { first: 1, last: 100 };
    assert_eq!(
        replay_command(Path::new("scenarios/x.yaml"), Some(17), seeds),
        "routesim run scenarios/x.yaml --seed 17"
    );
    assert_eq!(
        replay_command(Path::new("my dir/x.yaml"), None, seeds),
        "routesim check 'my dir/x.yaml' --seeds 1..=100"
    );
    assert_eq!(shell_word("it's"), r"'it'\''s'");
    assert_eq!(shell_word(""), "''");
}

#[test]
fn the_report_is_a_table_then_the_failures() {
    let verdict = |text: &str, passed: bool, observed: &str, failing_seeds: Vec<u64>| Verdict {
        assertion: assertion(text),
        outcome: Outcome { passed, observed: observed.into(), failing_seeds },
        failure: None,
    };
    let mut failed = verdict(
        "faults[broker-a].stale_window_s <= 100",
        false,
        "2 of 3 seeds fail: seed 2: 124.035664; seed 3: 131.5",
        vec![2, 3],
    );
    failed.failure = Some(FailureDetail {
        seed: Some(2),
        replay: "routesim run scenarios/x.yaml --seed 2".into(),
        minimised: Some(Minimised {
            seed: 2,
            kept: vec!["broker-a".into()],
            dropped: vec!["broker-b".into()],
            reruns: 1,
            exhausted: false,
        }),
    });
    let report = Report {
        scenarios: vec![ScenarioVerdicts {
            path: "scenarios/x.yaml".into(),
            name: "x".into(),
            seeds: SeedRange { first: 1, last: 3 },
            verdicts: vec![verdict("totals.sends > 0", true, "all 3 seeds pass; values from 10 to 12", vec![]), failed],
        }],
    };
    assert!(!report.passed());
    assert_eq!(
        render(&report),
        "\
scenario  assertion                               observed                                              result
x         totals.sends > 0                        all 3 seeds pass; values from 10 to 12                PASS
x         faults[broker-a].stale_window_s <= 100  2 of 3 seeds fail: seed 2: 124.035664; seed 3: 131.5  FAIL

FAIL x (scenarios/x.yaml, seeds 1..=3): faults[broker-a].stale_window_s <= 100
  observed: 2 of 3 seeds fail: seed 2: 124.035664; seed 3: 131.5
  failing seeds: 2, 3 (smallest 2)
  faults: still fails with only [broker-a]; removed [broker-b] (1 re-run of seed 2)
  replay: routesim run scenarios/x.yaml --seed 2

FAILED: 1 of 2 assertions passed, 1 failed
"
    );
    let suites = report.junit_suites();
    assert_eq!(suites[0].cases[1].replay.as_deref(), Some("routesim run scenarios/x.yaml --seed 2"));
    assert_eq!(cut("abcdef", 4), "abc…");
}
