use super::*;
use crate::output::xml_escape;
use serde_json::json;

/// A summary shaped like docs/OUTPUT.md's example, with the knobs the tests turn.
fn summary(seed: u64, stale: Value, detection_ns1: Value, failed_sends: u64) -> Value {
    json!({
        "scenario": "broker-power-off",
        "seed": seed,
        "routesim_version": "0.1.0",
        "duration_s": 600.0,
        "preset": "rocketmq-4",
        "nameservers": ["ns-0", "ns-1"],
        "faults": [
            {
                "id": "broker-a",
                "kind": "crash",
                "mode": "power-off",
                "target": "broker-a",
                "at_s": 300.0,
                "subjects": ["broker-a"],
                "detection_s": {"ns-0": 104.2, "ns-1": detection_ns1},
                "detection_window_s": {"lo": 90.0, "hi": 120.0},
                "convergence_s": {"p50": 121.0, "p99": 148.9, "max": 149.7, "clients": 100, "never": 0},
                "stale_window_s": stale,
                "stale_attempts": 5120,
                "failed_attempts": 5120,
                "failed_sends": 4800,
                "recovered_by_retry": 320,
                "added_latency_ms": {"p50": 3000.0, "p99": 3000.0, "max": 3001.2}
            },
            {
                "id": "heal-1",
                "kind": "heal",
                "mode": null,
                "target": "p1",
                "at_s": 400.0,
                "subjects": [],
                "detection_s": {},
                "detection_window_s": null,
                "convergence_s": {"p50": null, "p99": null, "max": null, "clients": null, "never": null},
                "stale_window_s": null,
                "stale_attempts": 0,
                "failed_attempts": 0,
                "failed_sends": 0,
                "recovered_by_retry": 0,
                "added_latency_ms": {"p50": null, "p99": null, "max": null}
            }
        ],
        "false_removals": [],
        "nameserver_load": {"ns-0": {"requests": 12000, "requests_per_s": 20.0}},
        "flags": {"degraded": false},
        "totals": {
            "events": 123456, "sends": 100000, "attempts": 105000, "failed_attempts": 5200,
            "failed_sends": failed_sends, "false_removals": 1, "false_removal_missing_s_max": 17.9
        }
    })
}

fn schema() -> Value {
    summary(1, json!(149.7), json!(null), 4800)
}

/// Runs whose `stale_window_s` takes the given values, seeds 1, 2, 3, …
fn runs_with_stale(values: &[Value]) -> Vec<(u64, Value)> {
    values.iter().enumerate().map(|(i, v)| (i as u64 + 1, summary(i as u64 + 1, v.clone(), json!(null), 0))).collect()
}

fn p(text: &str) -> Assertion {
    match parse(text) {
        Ok(a) => a,
        Err(e) => panic!("{text:?} should parse, got:\n{e}"),
    }
}

fn keys(a: &Assertion) -> Vec<&str> {
    a.path.iter().map(|s| s.key.as_str()).collect()
}

// ----- parser: good inputs -------------------------------------------------------------------

#[test]
fn parses_every_operator() {
    for (op, want) in
        [("<", CmpOp::Lt), ("<=", CmpOp::Le), (">", CmpOp::Gt), (">=", CmpOp::Ge), ("==", CmpOp::Eq), ("!=", CmpOp::Ne)]
    {
        let a = p(&format!("totals.failed_sends {op} 3"));
        assert_eq!(a.check, Check::Compare { op: want, value: Expected::Number(3.0) }, "{op}");
        // Spacing around the operator is optional.
        let b = p(&format!("totals.failed_sends{op}3"));
        assert_eq!(a.check, b.check);
    }
}

#[test]
fn parses_the_brief_examples() {
    let a = p("faults[broker-a].stale_window_s <= 165");
    assert_eq!(keys(&a), ["faults", "stale_window_s"]);
    assert_eq!(a.path[0].selector, Some(Selector::Id("broker-a".into())));
    assert_eq!(a.check, Check::Compare { op: CmpOp::Le, value: Expected::Number(165.0) });

    let a = p("faults[broker-a].detection_s.ns-0 >= 90");
    assert_eq!(keys(&a), ["faults", "detection_s", "ns-0"]);

    let a = p("faults[broker-a].detection_s.ns-0.mean in [100, 110]");
    assert_eq!(keys(&a), ["faults", "detection_s", "ns-0", "mean"]);
    assert_eq!(a.check, Check::Within { lo: 100.0, hi: 110.0 });
    assert_eq!(a.aggregate_suffix(), Some(Aggregate::Mean));

    let a = p("faults[0].convergence_s.p99 < 151");
    assert_eq!(a.path[0].selector, Some(Selector::Index(0)));
}

#[test]
fn parses_values() {
    let value = |t: &str| match p(&format!("a.b == {t}")).check {
        Check::Compare { value, .. } => value,
        other => panic!("{other:?}"),
    };
    assert_eq!(value("null"), Expected::Null);
    assert_eq!(value("true"), Expected::Bool(true));
    assert_eq!(value("false"), Expected::Bool(false));
    assert_eq!(value("0"), Expected::Number(0.0));
    assert_eq!(value("-3"), Expected::Number(-3.0));
    assert_eq!(value("+2.5"), Expected::Number(2.5));
    assert_eq!(value(".5"), Expected::Number(0.5));
    assert_eq!(value("5."), Expected::Number(5.0));
    assert_eq!(value("1e3"), Expected::Number(1000.0));
    assert_eq!(value("1.5E-2"), Expected::Number(0.015));
    assert_eq!(value("149.7"), Expected::Number(149.7));
}

#[test]
fn parses_ranges_and_whitespace() {
    assert_eq!(p("x in [1,2]").check, Check::Within { lo: 1.0, hi: 2.0 });
    assert_eq!(p("  x   in   [ -1.5 ,  2e1 ]  ").check, Check::Within { lo: -1.5, hi: 20.0 });
    assert_eq!(p("x in [3, 3]").check, Check::Within { lo: 3.0, hi: 3.0 });
    assert_eq!(p("  x == 1 ").text, "x == 1");
}

#[test]
fn parses_selectors() {
    let a = p("faults[ broker-a ].x == 1");
    assert_eq!(a.path[0].selector, Some(Selector::Id("broker-a".into())));
    let a = p("faults[12].x == 1");
    assert_eq!(a.path[0].selector, Some(Selector::Index(12)));
    // Quotes force an id, for ids made of digits; and allow ids with dots or brackets-free text.
    let a = p(r#"faults["7"].x == 1"#);
    assert_eq!(a.path[0].selector, Some(Selector::Id("7".into())));
    let a = p("faults['a.b'].x == 1");
    assert_eq!(a.path[0].selector, Some(Selector::Id("a.b".into())));
    assert_eq!(keys(&a), ["faults", "x"]);
    // An unquoted id may contain dots: they are inside the brackets.
    let a = p("faults[v1.2].x == 1");
    assert_eq!(a.path[0].selector, Some(Selector::Id("v1.2".into())));
    // Segment offsets point into the text.
    let a = p("faults[broker-a].detection_s.ns-0 >= 90");
    assert_eq!(&a.text[a.path[0].key_at..a.path[0].end], "faults[broker-a]");
    assert_eq!(a.path[0].selector_at, Some(6));
    assert_eq!(&a.text[a.path[2].key_at..a.path[2].end], "ns-0");
}

#[test]
fn assertion_round_trips_through_serde_as_a_string() {
    let parsed: Vec<Assertion> =
        serde_yaml::from_str("- totals.failed_sends == 0\n- faults[broker-a].stale_window_s <= 165\n")
            .expect("valid YAML list of assertions");
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[1].to_string(), "faults[broker-a].stale_window_s <= 165");
    let back = serde_json::to_string(&parsed[0]).expect("serialises");
    assert_eq!(back, r#""totals.failed_sends == 0""#);
    let err = serde_yaml::from_str::<Vec<Assertion>>("- totals.failed_sends = 0\n").expect_err("bad op");
    assert!(err.to_string().contains("unknown operator `=`"), "{err}");
}

// ----- parser: bad inputs --------------------------------------------------------------------

fn err(text: &str) -> ExpectError {
    match parse(text) {
        Ok(a) => panic!("{text:?} should not parse, got {a:?}"),
        Err(e) => e,
    }
}

/// The rendered message: names the problem, shows the text with a caret at `col`, has help.
fn assert_points_at(e: &ExpectError, col: usize, needle: &str) {
    let msg = e.to_string();
    let lines: Vec<&str> = msg.lines().collect();
    assert_eq!(lines.len(), 4, "{msg}");
    assert!(lines[0].contains(needle), "{msg}");
    assert_eq!(lines[1].trim_start(), e.assertion_text(), "{msg}");
    assert_eq!(lines[2].find('^'), Some(4 + col), "caret column in:\n{msg}");
    assert!(lines[3].starts_with("  help: "), "{msg}");
}

#[test]
fn rejects_unknown_operators_with_a_fix() {
    let e = err("faults[broker-a].stale_window_s = 165");
    assert!(matches!(&e, ExpectError::UnknownOperator { found, .. } if found == "="));
    assert_points_at(&e, 32, "unknown operator `=`");
    assert!(e.to_string().contains("`==`"));

    for (text, found, fix) in [
        ("x => 1", "=>", ">="),
        ("x =< 1", "=<", "<="),
        ("x <> 1", "<>", "!="),
        ("x === 1", "===", "=="),
        ("x ! 1", "!", "!="),
        ("x le 1", "le", "<="),
        ("x between [1, 2]", "between", "in [LO, HI]"),
        ("x ~ 1", "~", "<="),
    ] {
        let e = err(text);
        match &e {
            ExpectError::UnknownOperator { found: f, .. } => assert_eq!(f, found, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
        assert_points_at(&e, 2, "unknown operator");
        assert!(e.to_string().contains(fix), "{text}: {e}");
    }
}

#[test]
fn rejects_malformed_numbers() {
    for (text, hint) in [
        ("x <= 165s", "drop the unit `s`"),
        ("x <= 3000ms", "drop the unit `ms`"),
        ("x <= 1.5e3s", "drop the unit `s`"),
        ("x <= 100,000", "separators"),
        ("x <= 1_000", "separators"),
        ("x <= 1.2.3", "decimal number"),
        ("x <= 1e", "decimal number"),
        ("x <= -", "decimal number"),
        ("x <= 0x10", "decimal number"),
        ("x <= 1e999", "out of range"),
    ] {
        let e = err(text);
        assert!(matches!(e, ExpectError::MalformedNumber { .. }), "{text}: {e:?}");
        assert_points_at(&e, 5, "malformed number");
        assert!(e.to_string().contains(hint), "{text}: {e}");
    }
}

#[test]
fn rejects_bad_values() {
    for (text, hint) in [
        ("x == NULL", "`null`"),
        ("x == None", "`null`"),
        ("x == NaN", "`null`"),
        ("x == True", "lower case"),
        ("x == \"crash\"", "text values"),
        ("x == inf", "finite"),
        ("x == abc", "a number, `null`"),
    ] {
        let e = err(text);
        assert!(matches!(e, ExpectError::BadValue { .. }), "{text}: {e:?}");
        assert_points_at(&e, 5, "is not a value");
        assert!(e.to_string().contains(hint), "{text}: {e}");
    }
}

#[test]
fn rejects_empty_and_malformed_paths() {
    for text in ["", "   ", "== 3", "<= 1", " >= 2"] {
        let e = err(text);
        assert!(matches!(e, ExpectError::EmptyPath { at: 0, .. }), "{text:?}: {e:?}");
        assert!(e.to_string().contains("totals.failed_sends == 0"), "suggests an example");
    }
    for (text, col, needle) in [
        ("a..b == 1", 2, "expected a key after `.`"),
        ("a. == 1", 2, "expected a key after `.`"),
        (".a == 1", 0, "starts with a key"),
        ("a.b. == 1", 4, "expected a key after `.`"),
        ("[0].a == 1", 0, "selector must follow a key"),
        ("a.[0] == 1", 2, "selector must follow a key"),
        ("faults[broker-a == 1", 6, "unclosed `[`"),
        ("faults[] == 1", 6, "empty selector"),
        ("faults[  ] == 1", 6, "empty selector"),
        ("faults[\"\"] == 1", 6, "empty id"),
        ("faults[\"a] == 1", 7, "unclosed quote"),
        ("faults[\"a\"x] == 1", 10, "expected `]`"),
        ("faults[0][1].x == 1", 9, "one selector per key"),
        ("faults[99999999999999999999999].x == 1", 6, "too large"),
        ("faults(broker-a).x == 1", 6, "unexpected `(`"),
        ("a]b == 1", 1, "`]` without"),
        ("a.b/c == 1", 3, "unexpected `/`"),
    ] {
        let e = err(text);
        assert!(matches!(e, ExpectError::MalformedPath { .. }), "{text}: {e:?}");
        assert_points_at(&e, col, needle);
    }
}

#[test]
fn rejects_missing_pieces_and_trailing_input() {
    let e = err("totals.failed_sends");
    assert!(matches!(e, ExpectError::MissingOperator { at: 19, .. }), "{e:?}");
    assert_points_at(&e, 19, "no operator");

    let e = err("totals.failed_sends <=");
    assert!(matches!(e, ExpectError::MissingValue { at: 22, .. }), "{e:?}");
    assert_points_at(&e, 22, "no value");

    let e = err("x <= 3 and y <= 4");
    assert!(matches!(&e, ExpectError::TrailingInput { found, .. } if found == "and"), "{e:?}");
    assert_points_at(&e, 7, "unexpected `and`");

    let e = err("x in [1, 2] 3");
    assert!(matches!(e, ExpectError::TrailingInput { .. }), "{e:?}");
}

#[test]
fn rejects_ordering_against_null_or_booleans() {
    for text in ["x < null", "x >= true", "x > false", "x <= null"] {
        let e = err(text);
        assert!(matches!(e, ExpectError::OperatorMismatch { .. }), "{text}: {e:?}");
        assert!(e.to_string().contains("== or !="), "{e}");
    }
}

#[test]
fn rejects_bad_ranges() {
    for (text, needle) in [
        ("x in 1, 2", "expected `[`"),
        ("x in [1 2]", "expected `,`"),
        ("x in [1, 2", "expected `]`"),
        ("x in [, 2]", "missing lower bound"),
        ("x in [1, ]", "missing upper bound"),
        ("x in [null, 2]", "bounds are numbers"),
        ("x in [1, true]", "bounds are numbers"),
        ("x in [5, 1]", "empty range: 5 > 1"),
    ] {
        let e = err(text);
        assert!(matches!(e, ExpectError::BadRange { .. }), "{text}: {e:?}");
        assert!(e.to_string().contains(needle), "{text}: {e}");
    }
    assert!(err("x in [5, 1]").to_string().contains("in [1, 5]"), "suggests the swapped range");
    // A malformed bound reports the number, like anywhere else.
    assert!(matches!(err("x in [1s, 2]"), ExpectError::MalformedNumber { at: 6, .. }));
}

#[test]
fn never_panics_on_odd_input() {
    let odd = [
        "é",
        "ü.ö == 1",
        "a == ü",
        "a[é] == 1",
        "a[\"é] == 1",
        "a in [é, 1]",
        "a in",
        "a in [",
        "a in [1",
        "a in [1,",
        "a\t==\t1",
        "a\n== 1",
        "\u{0}",
        "a == 1\u{0}",
        "[",
        "]",
        "a[",
        "a.",
        ".",
        "a.b[0].c[x] ==",
        "💥 == 1",
        "a == 💥",
        "a in [💥, 1]",
        "a <==> 1",
        "a!==1",
        "a in[1,2]",
    ];
    for text in odd {
        if let Err(e) = parse(text) {
            // Rendering must not panic either, whatever the offsets.
            let _ = e.to_string();
        }
    }
    assert_eq!(p("a\t==\t1").check, Check::Compare { op: CmpOp::Eq, value: Expected::Number(1.0) });
    assert_eq!(p("a in[1,2]").check, Check::Within { lo: 1.0, hi: 2.0 });
    // A caret under non-ASCII text counts characters, not bytes.
    let e = err("a[ü] = 1");
    assert_points_at(&e, 5, "unknown operator");
}

// ----- the path-vs-aggregate rule -------------------------------------------------------------

#[test]
fn a_real_field_named_like_an_aggregate_is_the_field() {
    let s = schema();
    for text in [
        "faults[broker-a].convergence_s.max <= 150",
        "faults[broker-a].convergence_s.p99 < 151",
        "faults[broker-a].added_latency_ms.p99 <= 3000",
        "faults[broker-a].added_latency_ms.p50 == 3000",
    ] {
        let a = p(text);
        assert_eq!(a.target_in(&s), Ok(Target::PerSeed), "{text}");
        assert_eq!(validate_path(&a, &s), Ok(()), "{text}");
    }
    // And evaluation reads the field itself: convergence_s.max is 149.7 in every seed, while
    // the maximum over seeds of anything else would differ.
    let runs = runs_with_stale(&[json!(1.0), json!(500.0)]);
    let o = evaluate(&p("faults[broker-a].convergence_s.max <= 150"), &runs);
    assert!(o.passed, "{o:?}");
    assert_eq!(o.observed, "all 2 seeds pass; every value 149.7");
}

#[test]
fn an_aggregate_name_after_a_value_is_an_aggregate_over_seeds() {
    let s = schema();
    for (text, aggregate) in [
        ("faults[broker-a].stale_window_s.max <= 165", Aggregate::Max),
        ("faults[broker-a].detection_s.ns-0.mean in [100, 110]", Aggregate::Mean),
        ("totals.failed_sends.p99 == 0", Aggregate::P99),
        ("totals.failed_sends.count == 100", Aggregate::Count),
        // The p99 field, then its max over seeds.
        ("faults[broker-a].convergence_s.p99.max < 151", Aggregate::Max),
        // ns-1 is null in the schema run: still a value, so still aggregatable.
        ("faults[broker-a].detection_s.ns-1.p50 <= 120", Aggregate::P50),
        // Below a null the shape is unknown; the trailing name is still an aggregate.
        ("faults[heal-1].detection_window_s.lo.min >= 0", Aggregate::Min),
    ] {
        let a = p(text);
        assert_eq!(a.target_in(&s), Ok(Target::Aggregate(aggregate)), "{text}");
        assert_eq!(validate_path(&a, &s), Ok(()), "{text}");
    }
}

#[test]
fn an_aggregate_name_on_an_object_is_an_unknown_key() {
    // convergence_s has no `mean` key, and an object cannot be aggregated over seeds.
    let a = p("faults[broker-a].convergence_s.mean < 130");
    let e = validate_path(&a, &schema()).expect_err("mean is neither");
    match &e {
        ExpectError::UnknownKey { key, valid, .. } => {
            assert_eq!(key, "mean");
            assert_eq!(valid.as_ref(), &["clients", "max", "never", "p50", "p99"]);
        }
        other => panic!("{other:?}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("not a number"), "{msg}");
    assert_points_at(&e, 31, "unknown key `mean` in `faults[broker-a].convergence_s`");
}

#[test]
fn the_aggregate_rule_is_the_same_in_evaluation() {
    // With only runs to go on (no schema), evaluation makes the same choice.
    let runs = runs_with_stale(&[json!(10.0), json!(30.0), json!(20.0)]);
    let per_field = evaluate(&p("faults[broker-a].convergence_s.max == 149.7"), &runs);
    assert!(per_field.passed, "{per_field:?}");
    let over_seeds = evaluate(&p("faults[broker-a].stale_window_s.max == 30"), &runs);
    assert!(over_seeds.passed, "{over_seeds:?}");
    assert_eq!(over_seeds.observed, "30 (max over 3 seeds; at seed 2)");
}

// ----- validation against a schema ------------------------------------------------------------

#[test]
fn validates_good_paths() {
    let s = schema();
    for text in [
        "faults[broker-a].stale_window_s <= 165",
        "faults[broker-a].detection_s.ns-0 >= 90",
        "faults[broker-a].detection_s.ns-1 == null",
        "faults[0].failed_sends == 4800",
        "faults[1].stale_window_s == null",
        "totals.failed_sends == 0",
        "nameserver_load.ns-0.requests_per_s > 1",
        "flags.degraded == false",
        "faults[broker-a].mode != null",
        // false_removals is empty in the schema run: its elements' shape cannot be checked.
        "false_removals[0].missing_s <= 20",
        // Past the end of a non-empty list: checked against the first element's shape.
        "faults[7].stale_window_s <= 165",
        // Below a null in the schema: unchecked.
        "faults[heal-1].detection_window_s.lo >= 90",
    ] {
        assert_eq!(validate_path(&p(text), &s), Ok(()), "{text}");
    }
}

#[test]
fn unknown_key_lists_keys_and_suggests() {
    let e = validate_path(&p("faults[broker-a].stale_window <= 165"), &schema()).expect_err("typo");
    match &e {
        ExpectError::UnknownKey { key, place, help, .. } => {
            assert_eq!(key, "stale_window");
            assert_eq!(place, "`faults[broker-a]`");
            assert!(help.starts_with("did you mean `stale_window_s`?"), "{help}");
            assert!(help.contains("added_latency_ms, at_s, convergence_s"), "lists the keys: {help}");
        }
        other => panic!("{other:?}"),
    }
    assert_points_at(&e, 17, "unknown key `stale_window`");

    let e = validate_path(&p("total.failed_sends == 0"), &schema()).expect_err("typo");
    assert!(matches!(&e, ExpectError::UnknownKey { place, .. } if place == "the summary"), "{e:?}");
    assert!(e.to_string().contains("did you mean `totals`?"), "{e}");

    // Nothing close: no suggestion, but still the list.
    let e = validate_path(&p("totals.zzzzzzzz == 0"), &schema()).expect_err("unknown");
    let msg = e.to_string();
    assert!(!msg.contains("did you mean"), "{msg}");
    assert!(msg.contains("keys there: attempts, events, failed_attempts"), "{msg}");
}

#[test]
fn id_selectors_must_name_a_present_id() {
    let e = validate_path(&p("faults[broker-b].stale_window_s <= 165"), &schema()).expect_err("no broker-b");
    match &e {
        ExpectError::UnknownId { id, list, valid, help, .. } => {
            assert_eq!(id, "broker-b");
            assert_eq!(list, "faults");
            assert_eq!(valid.as_ref(), &["broker-a", "heal-1"]);
            assert!(help.contains("did you mean `broker-a`?"), "{help}");
        }
        other => panic!("{other:?}"),
    }
    assert_points_at(&e, 6, "no element of `faults` has id `broker-b`");

    let e = validate_path(&p("false_removals[x].missing_s < 1"), &schema()).expect_err("empty list");
    assert!(e.to_string().contains("select by index"), "{e}");
}

#[test]
fn shape_errors_say_what_to_do() {
    let s = schema();
    let cases = [
        // A key on a list: select an element first.
        ("faults.stale_window_s <= 1", 7, "`faults` is a list", "faults[broker-a]"),
        ("faults.broker-a.stale_window_s <= 1", 7, "`faults` is a list", "ids: broker-a, heal-1"),
        // A selector on an object.
        ("totals[0] == 1", 6, "`totals` is an object, not a list", "remove the selector"),
        // Going below a number with a non-aggregate name.
        ("totals.failed_sends.p95 == 0", 20, "is a number, so it has no key `p95`", "did you mean `p90`?"),
        ("totals.failed_sends.x.y == 0", 20, "is a number", "end the path at"),
        // Stopping at an object or a list.
        ("faults[broker-a].convergence_s < 1", 17, "is an object, not a value", "p50, p99"),
        ("faults < 1", 0, "is a list, not a value", "faults[broker-a]"),
        ("faults[broker-a].subjects == null", 17, "is a list, not a value", "[0]"),
        // Kinds that cannot be compared.
        ("faults[broker-a].kind == 1", 17, "is text (\"crash\")", "== null"),
        ("flags.degraded == 1", 6, "is a boolean", "== true"),
        ("faults[broker-a].stale_window_s == true", 17, "is a number", "with a number"),
        ("faults[broker-a].stale_window_s.max == true", 17, "the max over seeds", "with a number"),
    ];
    for (text, col, problem, help) in cases {
        let e = validate_path(&p(text), &s).expect_err(text);
        assert!(matches!(e, ExpectError::WrongShape { .. }), "{text}: {e:?}");
        assert_points_at(&e, col, problem);
        assert!(e.to_string().contains(help), "{text}: {e}");
    }
}

#[test]
fn validation_never_panics_on_odd_schemas() {
    let a = p("faults[broker-a].x.max == 1");
    for schema in [json!(null), json!(1), json!([]), json!({}), json!({"faults": 3}), json!({"faults": [1, "x", null]})]
    {
        let _ = validate_path(&a, &schema);
        let _ = evaluate(&a, &[(1, schema.clone())]);
    }
}

#[test]
fn did_you_mean_uses_the_scenario_rule() {
    assert_eq!(did_you_mean("totl", ["totals", "faults"]), Some("totals"));
    assert_eq!(did_you_mean("xyz", ["totals", "faults"]), None);
}

// ----- evaluation: per seed -------------------------------------------------------------------

#[test]
fn per_seed_assertions_must_hold_in_every_seed() {
    let a = p("faults[broker-a].stale_window_s <= 165");
    let pass = evaluate(&a, &runs_with_stale(&[json!(100.0), json!(165.0), json!(120.5)]));
    assert_eq!(
        pass,
        Outcome { passed: true, observed: "all 3 seeds pass; values from 100 to 165".into(), failing_seeds: vec![] }
    );

    // Every failing seed, ascending, with its value — whatever order the runs came in.
    let mut runs = runs_with_stale(&[json!(170.0), json!(100.0), json!(null), json!(165.5), json!(1.0)]);
    runs.reverse();
    let o = evaluate(&a, &runs);
    assert!(!o.passed);
    assert_eq!(o.failing_seeds, vec![1, 3, 4]);
    assert_eq!(o.observed, "3 of 5 seeds fail: seed 1: 170; seed 3: null; seed 4: 165.5");
}

#[test]
fn a_single_run_reports_its_value() {
    let a = p("faults[broker-a].stale_window_s <= 165");
    let o = evaluate(&a, &runs_with_stale(&[json!(149.7)]));
    assert_eq!(o, Outcome { passed: true, observed: "149.7".into(), failing_seeds: vec![] });
    let o = evaluate(&a, &[(42, summary(42, json!(170.25), json!(null), 0))]);
    assert_eq!(o, Outcome { passed: false, observed: "170.25".into(), failing_seeds: vec![42] });
}

#[test]
fn every_operator_evaluates() {
    let runs = runs_with_stale(&[json!(10)]);
    for (check, want) in [
        ("< 11", true),
        ("< 10", false),
        ("<= 10", true),
        ("<= 9.999", false),
        ("> 9", true),
        ("> 10", false),
        (">= 10", true),
        (">= 10.5", false),
        ("== 10", true),
        ("== 10.0", true),
        ("== 11", false),
        ("!= 11", true),
        ("!= 10", false),
        ("in [10, 10]", true),
        ("in [0, 9]", false),
        ("in [-5, 20]", true),
        ("!= null", true),
        ("== null", false),
    ] {
        let o = evaluate(&p(&format!("faults[broker-a].stale_window_s {check}")), &runs);
        assert_eq!(o.passed, want, "{check}: {o:?}");
    }
}

#[test]
fn nulls_in_per_seed_comparisons() {
    let runs = runs_with_stale(&[json!(null)]);
    let path = "faults[broker-a].stale_window_s";
    for check in ["< 1", "<= 165", "> 0", ">= 0", "== 0", "!= 0", "in [0, 1000]"] {
        let o = evaluate(&p(&format!("{path} {check}")), &runs);
        assert_eq!(o, Outcome { passed: false, observed: "null".into(), failing_seeds: vec![1] }, "{check}");
    }
    assert!(evaluate(&p(&format!("{path} == null")), &runs).passed);
    assert!(!evaluate(&p(&format!("{path} != null")), &runs).passed);
    // Below a null (detection_window_s is null for heal-1): the value is null.
    let o = evaluate(&p("faults[heal-1].detection_window_s.lo == null"), &runs);
    assert!(o.passed, "{o:?}");
    // Past the end of a list in a run: null too.
    let o = evaluate(&p("false_removals[0].missing_s <= 20"), &runs);
    assert_eq!(o.observed, "null");
    assert!(!o.passed);
}

#[test]
fn booleans_and_kinds() {
    let runs = runs_with_stale(&[json!(1)]);
    assert!(evaluate(&p("flags.degraded == false"), &runs).passed);
    assert!(evaluate(&p("flags.degraded != true"), &runs).passed);
    assert!(!evaluate(&p("flags.degraded == true"), &runs).passed);
    // Kinds do not mix: a boolean is not a number and a number is not a boolean.
    let o = evaluate(&p("flags.degraded == 0"), &runs);
    assert_eq!((o.passed, o.observed.as_str()), (false, "false"));
    assert!(!evaluate(&p("flags.degraded != 0"), &runs).passed);
    assert!(!evaluate(&p("totals.sends == true"), &runs).passed);
    // Text is shown as JSON and passes only `!= null`.
    let o = evaluate(&p("faults[broker-a].kind == 1"), &runs);
    assert_eq!((o.passed, o.observed.as_str()), (false, "text \"crash\""));
    assert!(evaluate(&p("faults[broker-a].kind != null"), &runs).passed);
}

#[test]
fn paths_missing_from_runs_fail_with_the_reason() {
    let runs = runs_with_stale(&[json!(1), json!(2)]);
    let o = evaluate(&p("totals.nope == 0"), &runs);
    assert!(!o.passed);
    assert_eq!(o.failing_seeds, vec![1, 2]);
    assert!(o.observed.starts_with("unknown key `nope` in `totals`"), "{}", o.observed);

    // Missing in one run only (an id present elsewhere): that seed fails, with why.
    let mut runs = runs_with_stale(&[json!(1), json!(2)]);
    runs[1].1["faults"] = json!([]);
    let o = evaluate(&p("faults[broker-a].stale_window_s < 5"), &runs);
    assert_eq!(o.failing_seeds, vec![2]);
    assert!(o.observed.contains("seed 2: missing (no element of `faults` has id `broker-a`)"), "{}", o.observed);

    let o = evaluate(&p("totals.sends > 0"), &[]);
    assert_eq!(o, Outcome { passed: false, observed: "no runs to evaluate".into(), failing_seeds: vec![] });
}

// ----- evaluation: aggregates -----------------------------------------------------------------

#[test]
fn nearest_rank_matches_hand_computed_values() {
    assert_eq!(nearest_rank(&[], 50), None);
    assert_eq!(nearest_rank(&[7.0], 50), Some(7.0));
    assert_eq!(nearest_rank(&[7.0], 99), Some(7.0));
    // n = 2: p50 rank ⌈1⌉ = 1, p90 rank ⌈1.8⌉ = 2.
    assert_eq!(nearest_rank(&[1.0, 2.0], 50), Some(1.0));
    assert_eq!(nearest_rank(&[1.0, 2.0], 90), Some(2.0));
    // n = 5 (1..=5): p50 rank ⌈2.5⌉ = 3 → 3; p90 rank ⌈4.5⌉ = 5 → 5.
    let five = [1.0, 2.0, 3.0, 4.0, 5.0];
    assert_eq!(nearest_rank(&five, 50), Some(3.0));
    assert_eq!(nearest_rank(&five, 90), Some(5.0));
    // n = 10 (10, 20, …, 100): p50 rank 5 → 50; p90 rank 9 → 90; p99 rank ⌈9.9⌉ = 10 → 100.
    let ten: Vec<f64> = (1..=10).map(|i| f64::from(i) * 10.0).collect();
    assert_eq!(nearest_rank(&ten, 50), Some(50.0));
    assert_eq!(nearest_rank(&ten, 90), Some(90.0));
    assert_eq!(nearest_rank(&ten, 99), Some(100.0));
    // n = 100 (1..=100): p99 rank 99 → 99, not an interpolation.
    let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(nearest_rank(&hundred, 99), Some(99.0));
    assert_eq!(nearest_rank(&hundred, 50), Some(50.0));
    // n = 101: p99 rank ⌈99.99⌉ = 100 → 100.
    let hundred_one: Vec<f64> = (1..=101).map(f64::from).collect();
    assert_eq!(nearest_rank(&hundred_one, 99), Some(100.0));
    assert_eq!(nearest_rank(&[1.0, 2.0], 0), Some(1.0));
    assert_eq!(nearest_rank(&[1.0, 2.0], 100), Some(2.0));
}

#[test]
fn aggregates_over_seeds_hand_computed() {
    // Seeds 1..=10 with stale windows given out of order.
    let values = [40.0, 10.0, 100.0, 70.0, 20.0, 90.0, 30.0, 60.0, 80.0, 50.0];
    let runs = runs_with_stale(&values.map(|v| json!(v)));
    let observe = |agg: &str| {
        let o = evaluate(&p(&format!("faults[broker-a].stale_window_s.{agg} == 0")), &runs);
        assert!(!o.passed);
        o.observed
    };
    assert_eq!(observe("p50"), "50 (p50 over 10 seeds; at seed 10)");
    assert_eq!(observe("p90"), "90 (p90 over 10 seeds; at seed 6)");
    assert_eq!(observe("p99"), "100 (p99 over 10 seeds; at seed 3)");
    assert_eq!(observe("max"), "100 (max over 10 seeds; at seed 3)");
    assert_eq!(observe("min"), "10 (min over 10 seeds; at seed 2)");
    assert_eq!(observe("mean"), "55 (mean over 10 seeds)");
    assert_eq!(observe("count"), "10 (count over 10 seeds)");

    let holds = |text: &str| evaluate(&p(text), &runs).passed;
    assert!(holds("faults[broker-a].stale_window_s.max <= 100"));
    assert!(!holds("faults[broker-a].stale_window_s.max < 100"));
    assert!(holds("faults[broker-a].stale_window_s.mean in [54.9, 55.1]"));
    assert!(holds("faults[broker-a].stale_window_s.p50 == 50"));
    assert!(holds("faults[broker-a].stale_window_s.count == 10"));
    assert!(holds("totals.failed_sends.p99 == 0"));
}

#[test]
fn failing_sample_aggregates_name_the_seed_to_replay() {
    let runs = runs_with_stale(&[json!(5.0), json!(200.0), json!(200.0), json!(7.0)]);
    let o = evaluate(&p("faults[broker-a].stale_window_s.max <= 165"), &runs);
    // Ties go to the smallest seed.
    assert_eq!(
        o,
        Outcome { passed: false, observed: "200 (max over 4 seeds; at seed 2)".into(), failing_seeds: vec![2] }
    );
    // A passing sample aggregate, and mean/count, list no seeds.
    assert!(evaluate(&p("faults[broker-a].stale_window_s.min <= 5"), &runs).failing_seeds.is_empty());
    let o = evaluate(&p("faults[broker-a].stale_window_s.mean < 1"), &runs);
    assert_eq!((o.passed, o.failing_seeds.len(), o.observed.as_str()), (false, 0, "103 (mean over 4 seeds)"));
}

#[test]
fn aggregates_exclude_nulls_and_count_non_null_values() {
    let runs = runs_with_stale(&[json!(null), json!(30.0), json!(null), json!(10.0), json!(20.0)]);
    let observe =
        |agg: &str, check: &str| evaluate(&p(&format!("faults[broker-a].stale_window_s.{agg} {check}")), &runs);
    let o = observe("count", "== 3");
    assert!(o.passed, "{o:?}");
    assert_eq!(o.observed, "3 (count over 3 non-null values of 5 seeds; 2 null)");
    assert!(observe("max", "== 30").passed);
    assert!(observe("min", "== 10").passed);
    assert!(observe("mean", "== 20").passed);
    // Nearest rank over the 3 non-null values: p50 rank 2 → 20.
    assert_eq!(observe("p50", "== 20").observed, "20 (p50 over 3 non-null values of 5 seeds; 2 null; at seed 5)");

    // All null: count is 0 and every other aggregate is null, which fails a numeric comparison
    // and passes `== null`.
    let runs = runs_with_stale(&[json!(null), json!(null)]);
    let observe =
        |agg: &str, check: &str| evaluate(&p(&format!("faults[broker-a].stale_window_s.{agg} {check}")), &runs);
    assert!(observe("count", "== 0").passed);
    for agg in ["p50", "p90", "p99", "max", "min", "mean"] {
        let o = observe(agg, "<= 165");
        assert!(!o.passed, "{agg}");
        assert!(o.failing_seeds.is_empty());
        assert_eq!(o.observed, format!("null ({agg} over 0 non-null values of 2 seeds; 2 null)"));
        assert!(observe(agg, "== null").passed, "{agg}");
        assert!(!observe(agg, "!= null").passed, "{agg}");
    }
}

#[test]
fn aggregates_of_non_numbers_fail_with_the_seeds() {
    let mut runs = runs_with_stale(&[json!(1.0), json!(2.0), json!(3.0)]);
    runs[1].1["faults"][0]["stale_window_s"] = json!("oops");
    let o = evaluate(&p("faults[broker-a].stale_window_s.max <= 165"), &runs);
    assert!(!o.passed);
    assert_eq!(o.failing_seeds, vec![2]);
    assert!(o.observed.contains("seed 2: text \"oops\""), "{}", o.observed);
}

#[test]
fn evaluation_does_not_depend_on_run_order() {
    let values: Vec<Value> = (0..37).map(|i| json!(f64::from((i * 7919) % 101) / 3.0)).collect();
    let forward = runs_with_stale(&values);
    let mut backward = forward.clone();
    backward.reverse();
    for text in [
        "faults[broker-a].stale_window_s.mean < 0",
        "faults[broker-a].stale_window_s.p90 < 0",
        "faults[broker-a].stale_window_s < 10",
    ] {
        assert_eq!(evaluate(&p(text), &forward), evaluate(&p(text), &backward), "{text}");
    }
}

// ----- JUnit ----------------------------------------------------------------------------------

#[path = "../../tests/common/xml.rs"]
mod xml;
use xml::XmlReader;

fn junit(suites: &[JunitSuite]) -> String {
    let mut out = Vec::new();
    write_junit(&mut out, suites).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("UTF-8")
}

fn case(name: &str, passed: bool, observed: &str, seeds: &[u64], replay: Option<&str>) -> JunitCase {
    JunitCase {
        name: name.to_string(),
        outcome: Outcome { passed, observed: observed.to_string(), failing_seeds: seeds.to_vec() },
        replay: replay.map(str::to_string),
    }
}

#[test]
fn junit_document_shape_and_exact_output() {
    let suites = [JunitSuite {
        name: "broker-power-off".into(),
        cases: vec![
            case("totals.failed_sends == 0", true, "0", &[], None),
            case(
                "faults[broker-a].stale_window_s <= 165",
                false,
                "2 of 3 seeds fail: seed 1: 170; seed 3: null",
                &[1, 3],
                Some("routesim run scenarios/broker-power-off.yaml --seed 1"),
            ),
        ],
    }];
    let xml = junit(&suites);
    let want = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="routesim" tests="2" failures="1" errors="0">
  <testsuite name="broker-power-off" tests="2" failures="1" errors="0" skipped="0">
    <testcase classname="broker-power-off" name="totals.failed_sends == 0"/>
    <testcase classname="broker-power-off" name="faults[broker-a].stale_window_s &lt;= 165">
      <failure message="2 of 3 seeds fail: seed 1: 170; seed 3: null" type="assertion">observed: 2 of 3 seeds fail: seed 1: 170; seed 3: null
failing seeds: 1, 3
replay: routesim run scenarios/broker-power-off.yaml --seed 1</failure>
    </testcase>
  </testsuite>
</testsuites>
"#;
    assert_eq!(xml, want);
    let root = XmlReader::document(&xml).expect("well-formed");
    assert_eq!(root.name, "testsuites");
    let suite = &root.children[0];
    assert_eq!(suite.attribute("failures"), Some("1"));
    let failure = &suite.children[1].children[0];
    assert_eq!(failure.name, "failure");
    assert!(failure.text.ends_with("--seed 1"), "{}", failure.text);
    // Deterministic: the same input writes the same bytes.
    assert_eq!(junit(&suites), xml);
}

#[test]
fn junit_escapes_everything_and_round_trips() {
    let nasty = "a<b & c>d \"q\" 'a' ]]> tab\there\nline\r\nend \u{1b}[31m é 💥 \u{0}";
    let suites = [
        JunitSuite {
            name: nasty.into(),
            cases: vec![
                case(nasty, false, nasty, &[u64::MAX, 0], Some(nasty)),
                case("x in [1, 2]", true, "1.5", &[], Some("never shown")),
            ],
        },
        JunitSuite { name: "empty".into(), cases: vec![] },
    ];
    let xml = junit(&suites);
    let root = XmlReader::document(&xml).unwrap_or_else(|e| panic!("not well-formed: {e}\n{xml}"));
    assert_eq!(root.attribute("tests"), Some("2"));
    assert_eq!(root.attribute("failures"), Some("1"));
    assert_eq!(root.children.len(), 2);
    let suite = &root.children[0];
    // What XML cannot carry (NUL, ESC) is shown visibly; everything else survives exactly.
    let shown = nasty.replace('\u{1b}', "\\u{1b}").replace('\u{0}', "\\u{0}");
    assert_eq!(suite.attribute("name"), Some(shown.as_str()));
    let failing = &suite.children[0];
    assert_eq!(failing.attribute("name"), Some(shown.as_str()));
    assert_eq!(failing.attribute("classname"), Some(shown.as_str()));
    let failure = &failing.children[0];
    assert_eq!(failure.attribute("message"), Some(shown.as_str()));
    assert_eq!(failure.text, format!("observed: {shown}\nfailing seeds: {}, 0\nreplay: {shown}", u64::MAX));
    assert!(!xml.contains("never shown"));
    assert_eq!(root.children[1].attribute("tests"), Some("0"));
    assert!(root.children[1].children.is_empty());
}

#[test]
fn junit_of_nothing_is_still_a_document() {
    let xml = junit(&[]);
    let root = XmlReader::document(&xml).expect("well-formed");
    assert_eq!((root.name.as_str(), root.attribute("tests")), ("testsuites", Some("0")));
}

#[test]
fn the_xml_reader_rejects_what_it_should() {
    // The checker is only worth something if it fails on bad documents.
    let head = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
    for bad in [
        "<a>",
        "<a></b>",
        "<a x=1/>",
        "<a x=\"<\"/>",
        "<a>&</a>",
        "<a>&bogus;</a>",
        "<a>]]></a>",
        "<a/><b/>",
        "<a>\u{1}</a>",
    ] {
        assert!(XmlReader::document(&format!("{head}{bad}")).is_err(), "{bad:?} accepted");
    }
    assert!(XmlReader::document(&format!("{head}<a x='&#10;'>&lt;&#x41;</a>")).is_ok());
}

#[test]
fn escaping_rules() {
    assert_eq!(xml_escape("<&>\"'", true), "&lt;&amp;&gt;&quot;&apos;");
    assert_eq!(xml_escape("<&>\"'", false), "&lt;&amp;&gt;\"'");
    assert_eq!(xml_escape("a\nb\tc\rd", true), "a&#10;b&#9;c&#13;d");
    assert_eq!(xml_escape("a\nb\tc\rd", false), "a\nb\tc&#13;d");
    assert_eq!(xml_escape("\u{7}\u{FFFF}", false), "\\u{7}\\u{ffff}");
}

#[test]
fn documented_examples_hold() {
    // The rule table in docs/EXPECTATIONS.md.
    let s = schema();
    let target = |t: &str| p(t).target_in(&s);
    assert_eq!(target("faults[broker-a].convergence_s.max <= 150"), Ok(Target::PerSeed));
    assert_eq!(target("faults[broker-a].convergence_s.max.max <= 150"), Ok(Target::Aggregate(Aggregate::Max)));
    assert_eq!(target("faults[broker-a].stale_window_s.max <= 165"), Ok(Target::Aggregate(Aggregate::Max)));
    assert_eq!(target("faults[broker-a].convergence_s.p99.p50 < 140"), Ok(Target::Aggregate(Aggregate::P50)));
    assert!(target("faults[broker-a].convergence_s.mean < 130").is_err());
    // "Over 3 values the p50 is the middle one."
    assert_eq!(nearest_rank(&[1.0, 2.0, 3.0], 50), Some(2.0));
}
