//! Charts drawn from a small synthetic run directory that follows docs/OUTPUT.md.
//!
//! Set `ROUTESIM_CHARTS_KEEP=<dir>` to also render the fixture into `<dir>` for a look at the
//! pictures.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use routesim::output::charts::{ChartError, ChartOptions, draw_all, write_index_html};
use routesim::report::{Convergence, FalseRemoval, FaultSummary, NameServerLoad, Percentiles, Summary, Totals, Window};

const CHARTS: [&str; 6] =
    ["failed-sends", "fault-window", "detection", "convergence-cdf", "timeline", "false-removals"];
const DURATION_S: u64 = 600;

/// Per-second counts shaped like a broker crash at 200 s (routes converge by ~350 s) and a
/// broker pause at 420 s.
fn timeseries_rows() -> Vec<[u64; 5]> {
    (0..DURATION_S)
        .map(|second| {
            let attempts = 200 + (second * 7 % 11) - 5;
            let failed_attempts = match second {
                200..350 => 100 - (second - 200) * 100 / 150,
                420..480 => 40 - (second - 420) * 40 / 60,
                _ => 0,
            };
            let failed_sends = failed_attempts / 10;
            let sends = attempts - failed_attempts / 2;
            [second, attempts, failed_attempts, sends, failed_sends]
        })
        .collect()
}

/// Client convergence times (s after the fault): `None` = never converged.
fn convergence_times(fault: &str) -> Vec<Option<f64>> {
    match fault {
        "broker-a" => (0..20).map(|i| (i != 7).then(|| 100.0 + f64::from(i) * 2.6)).collect(),
        _ => (0..20).map(|i| Some(5.0 + f64::from(i) * 2.9)).collect(),
    }
}

/// A summary with report.rs's own types, so the fixture cannot drift from what `run` writes.
fn summary(scenario: &str) -> Summary {
    let rows = timeseries_rows();
    let sum = |col: usize| rows.iter().map(|r| r[col]).sum::<u64>();
    let ns = |pairs: &[(&str, Option<f64>)]| -> BTreeMap<String, Option<f64>> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    let window = Some(Window { lo: 90.0, hi: 120.0 });
    let fault = |id: &str, kind: &str, mode: Option<&str>, target: &str, at_s: f64| FaultSummary {
        id: id.into(),
        kind: kind.into(),
        mode: mode.map(str::to_string),
        target: target.into(),
        at_s,
        subjects: Vec::new(),
        detection_s: BTreeMap::new(),
        detection_window_s: None,
        convergence_s: Convergence::default(),
        stale_window_s: None,
        stale_attempts: 0,
        failed_attempts: 0,
        failed_sends: 0,
        recovered_by_retry: 0,
        added_latency_ms: Percentiles::default(),
        explain: None,
        consume_gap_s: None,
        duplicates: None,
        pull_failures: None,
        store_to_consume_ms: None,
        failover_s: None,
        write_unavailable_s: None,
        messages_lost: None,
    };
    let broker_a = FaultSummary {
        subjects: vec!["broker-a".into()],
        detection_s: ns(&[("ns-0", Some(104.2)), ("ns-1", Some(112.6))]),
        detection_window_s: window,
        convergence_s: Convergence { p50: Some(126.0), p99: Some(149.4), max: Some(149.4), clients: 20, never: 1 },
        stale_window_s: Some(149.4),
        stale_attempts: 7600,
        failed_attempts: 7600,
        failed_sends: 760,
        recovered_by_retry: 6840,
        added_latency_ms: Percentiles { p50: Some(3000.0), p99: Some(3000.0), max: Some(3001.2) },
        ..fault("broker-a", "crash", Some("power-off"), "broker-a", 200.0)
    };
    let pause_b = FaultSummary {
        subjects: vec!["broker-b".into()],
        detection_s: ns(&[("ns-0", Some(95.3)), ("ns-1", None)]),
        detection_window_s: window,
        convergence_s: Convergence { p50: Some(32.55), p99: Some(60.1), max: Some(60.1), clients: 20, never: 0 },
        stale_window_s: Some(60.1),
        stale_attempts: 1240,
        failed_attempts: 1240,
        failed_sends: 110,
        recovered_by_retry: 1130,
        added_latency_ms: Percentiles { p50: Some(3000.0), p99: Some(3000.4), max: Some(3000.9) },
        ..fault("pause-b", "pause", None, "broker-b", 420.0)
    };
    let load = |requests: u64, requests_per_s: f64| NameServerLoad { requests, requests_per_s };
    Summary {
        scenario: scenario.into(),
        seed: 7,
        routesim_version: "0.1.0".into(),
        duration_s: DURATION_S as f64,
        preset: "rocketmq-4".into(),
        nameservers: vec!["ns-0".into(), "ns-1".into()],
        faults: vec![
            broker_a,
            pause_b,
            fault("ns1-isolated", "partition", None, "ns1-isolated", 440.0),
            fault("ns1-heal", "heal", None, "ns1-isolated", 470.0),
            fault("resume-b", "resume", None, "broker-b", 500.0),
        ],
        false_removals: vec![FalseRemoval {
            nameserver: "ns-1".into(),
            broker: "broker-b".into(),
            at_s: 455.5,
            missing_s: 17.9,
            relisted: true,
        }],
        nameserver_load: [("ns-0".to_string(), load(12000, 20.0)), ("ns-1".to_string(), load(11890, 19.817))].into(),
        totals: Totals {
            events: 123456,
            sends: sum(3),
            attempts: sum(1),
            failed_attempts: sum(2),
            failed_sends: sum(4),
            false_removals: 1,
            false_removal_missing_s_max: Some(17.9),
            ..Totals::default()
        },
    }
}

fn summary_json(scenario: &str) -> String {
    serde_json::to_string_pretty(&summary(scenario)).expect("a summary serialises")
}

fn timeline_csv() -> String {
    let mut csv = String::from("node,role,layer,state,start_s,end_s\n");
    let mut row = |node: &str, role: &str, layer: &str, state: &str, start_s: f64, end_s: f64| {
        let _ = writeln!(csv, "{node},{role},{layer},{state},{start_s},{end_s}");
    };
    row("ns-0", "nameserver", "process", "up", 0.0, 600.0);
    row("ns-1", "nameserver", "process", "up", 0.0, 440.0);
    row("ns-1", "nameserver", "process", "partitioned", 440.0, 470.0);
    row("ns-1", "nameserver", "process", "up", 470.0, 600.0);
    row("broker-a", "broker", "process", "up", 0.0, 200.0);
    row("broker-a", "broker", "process", "down", 200.0, 600.0);
    row("broker-a", "broker", "route", "unlisted", 304.2, 600.0);
    row("broker-b", "broker", "process", "up", 0.0, 420.0);
    row("broker-b", "broker", "process", "paused", 420.0, 500.0);
    row("broker-b", "broker", "process", "up", 500.0, 600.0);
    row("broker-b", "broker", "route", "unlisted", 455.5, 473.4);
    row("broker-b", "broker", "route", "unlisted", 515.3, 530.0);
    let conv_a = convergence_times("broker-a");
    let conv_b = convergence_times("pause-b");
    for i in 0..8 {
        let node = format!("p-{i}");
        if i == 7 {
            row(&node, "producer", "process", "down", 0.0, 4.5);
            row(&node, "producer", "process", "up", 4.5, 600.0);
        } else {
            row(&node, "producer", "process", "up", 0.0, 600.0);
        }
        let end_a = conv_a[i].map_or(600.0, |c| 200.0 + c);
        row(&node, "producer", "route", "stale", 200.0, end_a);
        let end_b = conv_b[i].map_or(600.0, |c| 420.0 + c);
        row(&node, "producer", "route", "stale", 420.0, end_b);
    }
    csv
}

/// Writes a complete, consistent run directory.
fn write_run_dir(dir: &Path, scenario: &str) {
    fs::create_dir_all(dir).expect("create run dir");
    fs::write(dir.join("summary.json"), summary_json(scenario)).expect("write summary");

    let mut ts = String::from("second,attempts,failed_attempts,sends,failed_sends\n");
    for r in timeseries_rows() {
        let _ = writeln!(ts, "{},{},{},{},{}", r[0], r[1], r[2], r[3], r[4]);
    }
    fs::write(dir.join("timeseries.csv"), ts).expect("write timeseries");

    fs::write(
        dir.join("detection.csv"),
        "fault_id,nameserver,detection_s,window_lo_s,window_hi_s\n\
         broker-a,ns-0,104.2,90,120\n\
         broker-a,ns-1,112.6,90,120\n\
         pause-b,ns-0,95.3,90,120\n\
         pause-b,ns-1,,90,120\n",
    )
    .expect("write detection");

    let mut conv = String::from("fault_id,client,convergence_s\n");
    for fault in ["broker-a", "pause-b"] {
        for (i, t) in convergence_times(fault).into_iter().enumerate() {
            let t = t.map(|t| format!("{t:.1}")).unwrap_or_default();
            let _ = writeln!(conv, "{fault},p-{i},{t}");
        }
    }
    fs::write(dir.join("convergence.csv"), conv).expect("write convergence");
    fs::write(dir.join("timeline.csv"), timeline_csv()).expect("write timeline");
}

fn fixture(scenario: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("run");
    write_run_dir(&dir, scenario);
    (tmp, dir)
}

fn expected_outputs(dir: &Path) -> Vec<PathBuf> {
    CHARTS.iter().flat_map(|c| [dir.join(format!("{c}.svg")), dir.join(format!("{c}.png"))]).collect()
}

fn png_size_and_ink(path: &Path) -> (u32, u32, usize) {
    let file = fs::File::open(path).expect("open png");
    let mut reader = png::Decoder::new(file).read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png data");
    let non_white = buf[..info.buffer_size()].iter().filter(|b| **b != 255).count();
    (info.width, info.height, non_white)
}

#[test]
fn draws_every_chart_and_the_index() {
    let (_tmp, dir) = fixture("broker-power-off");
    let written = draw_all(&dir, &ChartOptions::default()).expect("draw_all");
    assert_eq!(written, expected_outputs(&dir));
    for path in &written {
        let bytes = fs::read(path).expect("read output");
        if path.extension().is_some_and(|e| e == "svg") {
            let svg = String::from_utf8(bytes).expect("svg is utf-8");
            assert!(svg.starts_with("<svg"), "{}", path.display());
            assert!(svg.trim_end().ends_with("</svg>"), "{}", path.display());
            assert!(svg.contains("broker-power-off, seed 7"), "title in {}", path.display());
            assert!(svg.contains("sans-serif"));
        } else {
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", path.display());
            let (w, h, ink) = png_size_and_ink(path);
            assert_eq!((w, h), (1200, 700));
            assert!(ink > 10_000, "{} is nearly blank", path.display());
        }
    }
    let failed = fs::read_to_string(dir.join("failed-sends.svg")).expect("svg");
    for label in ["broker-a: power-off", "pause-b: pause", "resume-b: resume", "attempts"] {
        assert!(failed.contains(label), "missing {label:?}");
    }
    let detection = fs::read_to_string(dir.join("detection.svg")).expect("svg");
    assert!(detection.contains("104.2 s") && detection.contains("ns-1: not removed"));
    let cdf = fs::read_to_string(dir.join("convergence-cdf.svg")).expect("svg");
    assert!(cdf.contains("broker-a: 19 of 20 converged, 1 never"));

    let index = write_index_html(&dir).expect("index");
    assert_eq!(index, dir.join("index.html"));
    let html = fs::read_to_string(&index).expect("read index");
    for c in CHARTS {
        assert!(html.contains(&format!("<img src=\"{c}.png\"")), "{c} embedded");
        assert!(html.contains(&format!("<a href=\"{c}.svg\">")), "{c}'s SVG linked");
    }
    for cell in ["crash (power-off)", "104.2", "not removed", "1 / 20", "3001.2", "17.9"] {
        assert!(html.contains(cell), "index lacks {cell:?}");
    }
    assert!(!html.contains("<script") && !html.contains("http"));

    if let Some(keep) = std::env::var_os("ROUTESIM_CHARTS_KEEP") {
        let keep = PathBuf::from(keep);
        write_run_dir(&keep, "broker-power-off");
        draw_all(&keep, &ChartOptions::default()).expect("draw into keep dir");
        write_index_html(&keep).expect("index into keep dir");
    }
}

#[test]
fn drawing_is_byte_identical() {
    let (_tmp_a, dir_a) = fixture("twice");
    let (_tmp_b, dir_b) = fixture("twice");
    let opts = ChartOptions::default();
    let first = draw_all(&dir_a, &opts).expect("first");
    let first_bytes: Vec<Vec<u8>> = first.iter().map(|p| fs::read(p).expect("read")).collect();
    let again = draw_all(&dir_a, &opts).expect("again");
    let other = draw_all(&dir_b, &opts).expect("other dir");
    for ((a, b), (p, q)) in first.iter().zip(&again).zip(first_bytes.iter().zip(&other)) {
        assert_eq!(fs::read(b).expect("read"), *p, "{} changed", a.display());
        assert_eq!(fs::read(q).expect("read"), *p, "{} differs by dir", q.display());
    }
    let index_a = fs::read(write_index_html(&dir_a).expect("index")).expect("read");
    let index_b = fs::read(write_index_html(&dir_b).expect("index")).expect("read");
    assert_eq!(index_a, index_b);
}

fn assert_names(err: &ChartError, dir: &Path, file: &str) {
    assert_eq!(err.path(), Some(dir.join(file).as_path()), "{err}");
    assert!(err.to_string().contains(file), "{err}");
}

#[test]
fn a_missing_input_is_named() {
    for file in ["summary.json", "timeseries.csv", "detection.csv", "convergence.csv", "timeline.csv"] {
        let (_tmp, dir) = fixture("missing");
        fs::remove_file(dir.join(file)).expect("remove");
        let err = draw_all(&dir, &ChartOptions::default()).expect_err(file);
        assert!(matches!(err, ChartError::Missing { .. }), "{err}");
        assert_names(&err, &dir, file);
        // Nothing is drawn from an incomplete directory.
        assert!(expected_outputs(&dir).iter().all(|p| !p.exists()));
    }
    let (_tmp, dir) = fixture("missing");
    fs::remove_file(dir.join("summary.json")).expect("remove");
    assert_names(&write_index_html(&dir).expect_err("index"), &dir, "summary.json");
}

#[test]
fn a_malformed_input_is_named() {
    let zero = summary_json("x").replace("\"duration_s\": 600.0", "\"duration_s\": 0.0");
    // Read strictly with report.rs's types: a field left out is named, not drawn as a dash.
    let no_preset = summary_json("x").replace("\"preset\": \"rocketmq-4\",", "");
    let cases: [(&str, &str, &str); 11] = [
        ("summary.json", "{\"scenario\": \"x\", \"seed\": 1", "EOF"),
        ("summary.json", "[1, 2]", "invalid type"),
        (
            "summary.json",
            r#"{"scenario":"x","seed":1,"duration_s":60,"nameservers":[],
               "faults":[{"id":"a","kind":"crash","target":"a","at_s":"soon"}],"totals":{}}"#,
            "faults[0].at_s",
        ),
        ("summary.json", &zero, "duration_s"),
        ("summary.json", &no_preset, "missing field `preset`"),
        ("timeseries.csv", "second,attempts,failed_attempts,sends,failed_sends\n0,12,x,1,0\n", "failed_attempts"),
        ("timeseries.csv", "second,attempts\n0,12\n", "missing field"),
        ("detection.csv", "fault_id,nameserver,detection_s,window_lo_s,window_hi_s\nf,ns-0,NaN,,\n", "detection_s"),
        ("convergence.csv", "fault_id,client,convergence_s\nf,p-0,-3\n", "convergence_s"),
        ("timeline.csv", "node,role,layer,state,start_s,end_s\nns-0,nameserver,process,up,10,5\n", "end_s < start_s"),
        (
            "timeline.csv",
            "node,role,layer,state,start_s,end_s\nns-0,router,process,up,0,5\n",
            "unknown variant `router`",
        ),
    ];
    for (file, content, reason) in cases {
        let (_tmp, dir) = fixture("malformed");
        fs::write(dir.join(file), content).expect("overwrite");
        let err = draw_all(&dir, &ChartOptions::default()).expect_err(file);
        assert!(matches!(err, ChartError::Malformed { .. }), "{err}");
        assert_names(&err, &dir, file);
        assert!(err.to_string().contains(reason), "{file}: {err}");
    }
}

/// A run with no faults and no traffic: every chart must still come out, with notes.
fn write_quiet_run_dir(dir: &Path) {
    fs::create_dir_all(dir).expect("create run dir");
    let quiet = Summary {
        scenario: "quiet".into(),
        seed: 3,
        duration_s: 30.0,
        nameservers: vec!["ns-0".into()],
        faults: Vec::new(),
        false_removals: Vec::new(),
        nameserver_load: BTreeMap::new(),
        totals: Totals { events: 10, ..Totals::default() },
        ..summary("quiet")
    };
    fs::write(dir.join("summary.json"), serde_json::to_string(&quiet).expect("json")).expect("summary");
    fs::write(dir.join("timeseries.csv"), "second,attempts,failed_attempts,sends,failed_sends\n").expect("ts");
    fs::write(dir.join("detection.csv"), "fault_id,nameserver,detection_s,window_lo_s,window_hi_s\n").expect("det");
    fs::write(dir.join("convergence.csv"), "fault_id,client,convergence_s\n").expect("conv");
    fs::write(dir.join("timeline.csv"), "node,role,layer,state,start_s,end_s\nns-0,nameserver,process,up,0,30\n")
        .expect("timeline");
}

#[test]
fn runs_without_faults_still_draw() {
    let (_tmp, dir) = fixture("quiet");
    write_quiet_run_dir(&dir);
    draw_all(&dir, &ChartOptions::default()).expect("draw");
    let detection = fs::read_to_string(dir.join("detection.svg")).expect("svg");
    assert!(detection.contains("no detection data"));
    let html = fs::read_to_string(write_index_html(&dir).expect("index")).expect("read");
    assert!(html.contains("no faults"));

    if let Some(keep) = std::env::var_os("ROUTESIM_CHARTS_KEEP") {
        let keep = PathBuf::from(keep).join("quiet");
        write_quiet_run_dir(&keep);
        draw_all(&keep, &ChartOptions::default()).expect("draw into keep dir");
        write_index_html(&keep).expect("index into keep dir");
    }
}

#[test]
fn text_from_files_is_escaped_in_the_index() {
    let (_tmp, dir) = fixture("<script>alert(\"x\")</script> & co");
    let html = fs::read_to_string(write_index_html(&dir).expect("index")).expect("read");
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"));
}

#[test]
fn silly_sizes_are_refused() {
    let (_tmp, dir) = fixture("size");
    let opts = ChartOptions { width_px: 0, height_px: 700 };
    assert!(matches!(draw_all(&dir, &opts), Err(ChartError::Size { .. })));
}

/// With more clients than timeline.csv samples (eight), the timeline shows the fault's slowest
/// client (summary.json's explain) in their place; with fewer, every client.
#[test]
fn the_timeline_shows_the_slowest_client_of_a_large_fleet() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (producers, sampled) in [(12, true), (3, false)] {
        let text = format!(
            "name: fleet\nduration: 4m\ncluster:\n  nameservers: 2\n  broker_groups: 2\ntopics:\n  - name: t\n\
             producers:\n  - name: p\n    count: {producers}\n    topic: t\n    rate: 2\nfaults:\n  - at: 1m\n    \
             kind: crash\n    target: broker-a\n    mode: power-off\n"
        );
        let file = tmp.path().join(format!("fleet-{producers}.yaml"));
        fs::write(&file, text).expect("scenario");
        let out = tmp.path().join(format!("fleet-{producers}"));
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_routesim"))
            .arg("run")
            .arg(&file)
            .arg("-q")
            .arg("--out")
            .arg(&out)
            .status()
            .expect("routesim runs");
        assert!(status.success());
        let summary: Summary =
            serde_json::from_str(&fs::read_to_string(out.join("summary.json")).expect("summary")).expect("parses");
        let slowest = summary.faults[0].explain.as_ref().and_then(|e| e.slowest_client.as_ref()).expect("slowest");
        let svg = fs::read_to_string(out.join("timeline.svg")).expect("timeline.svg");
        let shown = |name: &str| svg.contains(&format!(">\n{name}\n<"));
        assert_eq!(shown(&format!("{} (slowest)", slowest.client)), sampled, "{producers} producers");
        for i in 0..producers.min(8) {
            let name = format!("p-{i}");
            assert_eq!(shown(&name), !sampled, "{name} with {producers} producers");
        }
    }
}
