//! The model against MODEL.md's closed forms, over many seeds, end to end through the same
//! scenario loader and simulator the CLI uses.

#[path = "common/scenario.rs"]
mod common;

use std::path::Path;

use common::{fault, run};
use routesim::model::trace::{TraceFilter, TraceKind, TraceRecord, TraceSink, Tracer};
use routesim::report::FaultSummary;
use routesim::scenario;

/// A small cluster (2 NameServers, 4 brokers, a few producers) with `timing` and `faults`
/// blocks spliced in. Small so hundreds of seeds run in seconds in a debug build.
fn scenario_text(timing: &str, producers: u32, rate: f64, faults: &str, duration: &str) -> String {
    format!(
        "name: t\nduration: {duration}\ntiming:\n{timing}\ncluster:\n  nameservers: 2\n  broker_groups: 4\n\
         topics:\n  - name: orders\nproducers:\n  - name: p\n    count: {producers}\n    topic: orders\n    \
         rate: {rate}\n    threads: 2\nfaults:\n{faults}\n"
    )
}

fn detections(f: &FaultSummary) -> Vec<f64> {
    f.detection_s.values().map(|d| d.unwrap_or_else(|| panic!("{} never detected", f.id))).collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

const POWER_OFF: &str = "  - {at: 5m, kind: crash, target: broker-a, mode: power-off}";
/// Network delay allowance: lognormal median 0.5 ms, p99 5 ms one way.
const NET_SLACK_S: f64 = 0.1;
const SEEDS: u64 = 200;

/// Detection latencies over `SEEDS` seeds, with every one checked against [lo, hi].
fn detection_over_seeds(timing: &str, lo_s: f64, hi_s: f64) -> Vec<f64> {
    let text = scenario_text(timing, 2, 0.5, POWER_OFF, "9m");
    let mut all = Vec::new();
    for seed in 1..=SEEDS {
        let summary = run(&text, seed);
        for d in detections(fault(&summary, "broker-a")) {
            assert!(d >= lo_s && d <= hi_s + NET_SLACK_S, "seed {seed}: detection {d} outside [{lo_s}, {hi_s}]");
            all.push(d);
        }
    }
    all
}

#[test]
fn power_off_is_detected_by_the_idle_close_120s_after_the_last_registration() {
    // MODEL.md 3: detection = 120 s - U(0, 30 s) in [90, 120], mean 105, plus a network delay.
    let d = detection_over_seeds("  preset: rocketmq-4", 90.0, 120.0);
    let m = mean(&d);
    assert!((m - 105.0).abs() < 2.0, "mean detection {m}, expected near 105");
    assert!(d.iter().any(|&x| x < 93.0) && d.iter().any(|&x| x > 117.0), "the whole window is reached");
}

#[test]
fn without_the_idle_close_the_scan_decides_4x() {
    // [expiry - heartbeat, expiry + scan] = [90, 130], mean 110 (4.x, scan every 10 s).
    let d = detection_over_seeds("  preset: rocketmq-4\n  nameserver_channel_idle: off", 90.0, 130.0);
    let m = mean(&d);
    assert!((m - 110.0).abs() < 2.0, "mean detection {m}, expected near 110");
}

#[test]
fn without_the_idle_close_the_scan_decides_5x() {
    // 5.x scans every 5 s: [90, 125], mean 107.5.
    let d = detection_over_seeds("  preset: rocketmq-5\n  nameserver_channel_idle: off", 90.0, 125.0);
    let m = mean(&d);
    assert!((m - 107.5).abs() < 2.0, "mean detection {m}, expected near 107.5");
}

#[test]
fn clients_converge_within_one_poll_after_detection() {
    // MODEL.md 4: convergence = detection at the NameServer asked + U(0, 30 s).
    let text = scenario_text("  preset: rocketmq-4", 20, 1.0, POWER_OFF, "9m");
    for seed in 1..=20 {
        let summary = run(&text, seed);
        let f = fault(&summary, "broker-a");
        let d = detections(f);
        let (d_min, d_max) = (d.iter().copied().fold(f64::MAX, f64::min), d.iter().copied().fold(0.0, f64::max));
        let c = f.convergence_s;
        assert_eq!(c.never, 0, "seed {seed}");
        assert_eq!(c.clients, 20, "every client held the broker");
        assert!(c.p50.unwrap() >= d_min, "seed {seed}: converged before any NameServer knew");
        assert!(
            c.max.unwrap() <= d_max + 30.0 + NET_SLACK_S,
            "seed {seed}: convergence {:?} > detection + poll",
            c.max
        );
        // Nobody sends to the broker after converging: the stale window ends by then.
        assert!(f.stale_window_s.unwrap() <= c.max.unwrap());
    }
}

#[test]
fn power_off_fails_sync_sends_outright_under_the_total_timeout() {
    // MODEL.md 5: an unanswered attempt eats the whole 3 s budget: no retry can save the send.
    let summary = run(&scenario_text("  preset: rocketmq-4", 20, 5.0, POWER_OFF, "9m"), 3);
    let f = fault(&summary, "broker-a");
    assert!(f.failed_sends > 0);
    assert_eq!(f.recovered_by_retry, 0);
    assert_eq!(f.failed_sends, f.failed_attempts);
    assert!(f.added_latency_ms.p50.unwrap() >= 3000.0 && f.added_latency_ms.max.unwrap() < 3100.0);
}

/// Producers x sync threads in `scenario_text`: at most this many sends are in flight at once.
fn in_flight_max(producers: u64) -> u64 {
    producers * 2
}

#[test]
fn a_killed_broker_is_detected_within_one_network_delay_and_retries_hide_it() {
    let kill = "  - {at: 5m, kind: crash, target: broker-a, mode: kill}";
    for preset in ["rocketmq-4", "rocketmq-5"] {
        let text = scenario_text(&format!("  preset: {preset}"), 20, 20.0, kill, "7m");
        for seed in 1..=10 {
            let summary = run(&text, seed);
            let f = fault(&summary, "broker-a");
            for d in detections(f) {
                assert!(d < 0.05, "{preset} seed {seed}: kill detected after {d} s");
            }
            assert!(f.failed_attempts > 100, "{preset} seed {seed}: stale routes still pick the dead broker");
            // A refused attempt is retried on another broker. Only sends in flight when the
            // broker died can fail: 4.x waits for their timeout after the peer's close.
            let lost = summary.totals.failed_sends;
            match preset {
                "rocketmq-5" => assert_eq!(lost, 0, "seed {seed}: 5.x fails them fast and retries"),
                _ => assert!(lost <= in_flight_max(20), "seed {seed}: {lost} failed sends"),
            }
            assert!(f.recovered_by_retry + f.failed_sends == f.failed_attempts);
            assert!(f.convergence_s.max.unwrap() <= 30.0 + NET_SLACK_S);
        }
    }
}

#[test]
fn a_graceful_shutdown_loses_no_send() {
    let shutdown = "  - {at: 5m, kind: shutdown, target: broker-a}";
    for preset in ["rocketmq-4", "rocketmq-5"] {
        let text = scenario_text(&format!("  preset: {preset}"), 20, 20.0, shutdown, "7m");
        for seed in 1..=10 {
            let summary = run(&text, seed);
            let lost = summary.totals.failed_sends;
            match preset {
                // 5.x unregisters while serving, then closes: retries hide everything.
                "rocketmq-5" => assert_eq!(lost, 0, "seed {seed}"),
                // 4.x closes its server first: sends in flight then wait for their timeout.
                _ => assert!(lost <= in_flight_max(20), "seed {seed}: {lost} failed sends"),
            }
            assert_eq!(summary.totals.false_removals, 0, "an unregistration is not a false removal");
            for d in detections(fault(&summary, "broker-a")) {
                assert!(d < 0.05);
            }
        }
    }
}

#[test]
fn in_4x_a_silent_nameserver_starves_new_clients_of_routes() {
    // docs/ROCKETMQ-NOTES.md question 10: a 4.x route call tries every NameServer, and a 3 s
    // connect timeout to the silent one eats the whole 3 s budget.
    let text = |preset: &str| {
        format!(
            "name: t\nduration: 8m\ntiming:\n  preset: {preset}\ncluster:\n  nameservers: 2\n  broker_groups: 2\n\
             topics:\n  - name: t\nproducers:\n  - name: p\n    count: 10\n    topic: t\n    rate: 2\n  - name: late\n    \
             count: 20\n    topic: t\n    rate: 2\n    start_after: 3m\nfaults:\n  - {{at: 2m, kind: crash, target: ns-0, \
             mode: power-off, duration: 5m}}\n"
        )
    };
    for seed in 1..=5 {
        let v4 = run(&text("rocketmq-4"), seed);
        let v5 = run(&text("rocketmq-5"), seed);
        // Late clients that try ns-0 first (about half) get no route for minutes.
        assert!(v4.totals.failed_sends_no_route > 1_000, "seed {seed}: {:?}", v4.totals);
        // 5.x gives up on ns-0 after one connect timeout and asks ns-1 at the next call.
        assert!(v5.totals.failed_sends_no_route < 200, "seed {seed}: {:?}", v5.totals);
        assert_eq!(v4.totals.failed_sends, v4.totals.failed_sends_no_route);
    }
}

#[test]
fn a_broker_cut_off_from_the_nameservers_is_removed_though_healthy() {
    let cut = "  - {at: 4m, kind: partition, id: cut, groups: [[broker-a], [nameservers]], duration: 4m}";
    let text = scenario_text("  preset: rocketmq-4", 10, 2.0, cut, "10m");
    for seed in 1..=10 {
        let summary = run(&text, seed);
        let f = fault(&summary, "cut");
        for d in detections(f) {
            assert!((90.0..=120.0 + NET_SLACK_S).contains(&d), "seed {seed}: {d}");
        }
        assert_eq!(summary.totals.failed_sends, 0, "producers still reach the broker");
        assert_eq!(summary.false_removals.len(), 2, "seed {seed}: one per NameServer");
        for r in &summary.false_removals {
            // Listed again at its first registration after the heal: within one heartbeat.
            assert!(r.relisted);
            let back_s = r.at_s + r.missing_s;
            assert!((480.0..=510.0 + NET_SLACK_S).contains(&back_s), "seed {seed}: relisted at {back_s}");
        }
    }
}

#[test]
fn a_nameserver_pause_longer_than_the_register_timeout_drops_healthy_brokers() {
    let pause = |d: &str| format!("  - {{at: 4m, kind: pause, target: ns-0, duration: {d}}}");
    let mut dropped = 0;
    for seed in 1..=10 {
        let long = run(&scenario_text("  preset: rocketmq-4", 4, 1.0, &pause("40s"), "7m"), seed);
        dropped += long.false_removals.len();
        for r in &long.false_removals {
            assert_eq!(r.nameserver, "ns-0", "the other NameServer is never affected");
            assert!(r.missing_s <= 30.0 + NET_SLACK_S, "back within one heartbeat round: {}", r.missing_s);
        }
        let short = run(&scenario_text("  preset: rocketmq-4", 4, 1.0, &pause("3s"), "7m"), seed);
        assert_eq!(short.false_removals.len(), 0, "seed {seed}: no registration timed out, nothing dropped");
    }
    assert!(dropped > 0);
}

#[test]
fn heavy_loss_delays_registrations_past_their_timeout() {
    let loss = |p: f64| format!("  - {{at: 1m, kind: loss, class: broker_ns, probability: {p}, duration: 6m}}");
    let heavy = run(&scenario_text("  preset: rocketmq-4", 2, 0.5, &loss(0.5), "8m"), 1);
    assert!(heavy.totals.false_removals > 0);
    let none = run(&scenario_text("  preset: rocketmq-4", 2, 0.5, &loss(0.0), "8m"), 1);
    assert_eq!(none.totals.false_removals, 0);
}

#[test]
fn same_seed_same_bytes_and_other_seeds_differ() {
    let text = scenario_text("  preset: rocketmq-4", 20, 5.0, POWER_OFF, "8m");
    let a = serde_json::to_string(&run(&text, 9)).unwrap();
    let b = serde_json::to_string(&run(&text, 9)).unwrap();
    let c = serde_json::to_string(&run(&text, 10)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn adding_clients_does_not_perturb_the_brokers_randomness() {
    // Detection depends only on brokers, NameServers and their links: each draws from its own
    // stream, so more producers must leave it bit for bit unchanged.
    for seed in 1..=5 {
        let few = run(&scenario_text("  preset: rocketmq-4", 2, 1.0, POWER_OFF, "8m"), seed);
        let many = run(&scenario_text("  preset: rocketmq-4", 30, 1.0, POWER_OFF, "8m"), seed);
        assert_eq!(fault(&few, "broker-a").detection_s, fault(&many, "broker-a").detection_s);
    }
}

#[test]
fn a_rebooted_broker_resets_stale_connections_so_retries_hide_them() {
    // The host is back 2 s later with no sockets. Slow producers that sent nothing to it
    // meanwhile still hold their old connections: the first request on one gets an RST, fails
    // at once and is retried elsewhere, instead of waiting out the 3 s budget.
    let reboot = "  - {at: 5m, kind: crash, target: broker-a, mode: power-off, duration: 2s}";
    let text = scenario_text("  preset: rocketmq-4", 40, 0.5, reboot, "7m");
    let mut resets = 0;
    for seed in 1..=5 {
        let mut s = scenario::from_text(Path::new("t.yaml"), &text).unwrap();
        s.world.seed = seed;
        let report = routesim::simulate(s.world);
        let after = |from_s: u64| report.timeseries.iter().filter(move |c| c.second >= from_s);
        // Sends started before the reboot may still time out until 5m05s; none after.
        let failed_late: u64 = after(306).map(|c| c.failed_sends).sum();
        assert_eq!(failed_late, 0, "seed {seed}");
        resets += after(303).map(|c| c.failed_attempts).sum::<u64>();
    }
    assert!(resets > 0, "stale connections were used and reset");
}

#[test]
fn a_fault_ends_when_its_broker_is_back_and_later_events_are_not_its_own() {
    // broker-a shuts down at 4m and restarts at 5m; at 7m it is cut off from the NameServers.
    let faults = "  - {at: 4m, kind: shutdown, target: broker-a, duration: 1m}\n  \
                  - {at: 7m, kind: partition, id: cut, groups: [[broker-a], [nameservers]]}";
    for seed in 1..=5 {
        let summary = run(&scenario_text("  preset: rocketmq-4", 10, 5.0, faults, "10m"), seed);
        let shutdown = fault(&summary, "broker-a");
        // Stale attempts stop at the restart, whenever the clients hear of it.
        assert!(shutdown.stale_window_s.unwrap() <= 60.0, "seed {seed}: {:?}", shutdown.stale_window_s);
        // The partition's removals (idle close, 90-120 s after 7m) belong to the partition.
        for d in detections(shutdown) {
            assert!(d < 0.05, "seed {seed}: the shutdown's detection is the unregistration: {d}");
        }
        for d in detections(fault(&summary, "cut")) {
            assert!((90.0..=120.0 + NET_SLACK_S).contains(&d), "seed {seed}: {d}");
        }
    }
    // A pause too short to be noticed is never detected, even if the broker is removed later.
    let faults = "  - {at: 4m, kind: pause, target: broker-a, duration: 10s}\n  \
                  - {at: 6m, kind: crash, target: broker-a, mode: kill}";
    let summary = run(&scenario_text("  preset: rocketmq-4", 10, 5.0, faults, "8m"), 1);
    assert!(fault(&summary, "broker-a").detection_s.values().all(Option::is_none));
}

#[test]
fn what_if_nameserver_push_makes_clients_converge_at_detection() {
    // Not RocketMQ's behaviour (#3870, RIP-79): with push, a client hears of the removal from
    // the NameServer its channel is open to, one network delay after that NameServer's
    // detection, instead of at its next poll (up to 30 s later).
    let text = scenario_text("  preset: rocketmq-4\n  nameserver_push: true", 20, 1.0, POWER_OFF, "9m");
    for seed in 1..=20 {
        let summary = run(&text, seed);
        let f = fault(&summary, "broker-a");
        let d_max = detections(f).into_iter().fold(0.0, f64::max);
        let c = f.convergence_s;
        assert_eq!(c.never, 0, "seed {seed}");
        assert!(c.max.unwrap() <= d_max + NET_SLACK_S, "seed {seed}: convergence {:?}, detection {d_max}", c.max);
        assert!(f.stale_window_s.unwrap() <= d_max + NET_SLACK_S, "seed {seed}");
    }
}

#[test]
fn what_if_refresh_on_failure_converges_a_sending_client_within_one_send_budget() {
    // Not RocketMQ's behaviour: a failed attempt queries the route at once. A client that keeps
    // sending to the dead broker after detection fails within one 3 s budget, then asks.
    let text = scenario_text("  preset: rocketmq-4\n  client_refresh_on_failure: true", 20, 20.0, POWER_OFF, "9m");
    let plain = scenario_text("  preset: rocketmq-4", 20, 20.0, POWER_OFF, "9m");
    for seed in 1..=10 {
        let summary = run(&text, seed);
        let f = fault(&summary, "broker-a");
        let d_max = detections(f).into_iter().fold(0.0, f64::max);
        // Budget (3 s), the query's own round trip, and a client's wait for a free thread.
        assert!(f.convergence_s.max.unwrap() <= d_max + 6.0 + NET_SLACK_S, "seed {seed}: {:?}", f.convergence_s);
        let base = fault(&run(&plain, seed), "broker-a").stale_window_s.unwrap();
        assert!(f.stale_window_s.unwrap() < base, "seed {seed}: refresh does not shorten the window");
    }
}

/// Collects trace records for a test (the sink must be 'static).
struct Collect(std::sync::Arc<std::sync::Mutex<Vec<TraceRecord>>>);

impl TraceSink for Collect {
    fn record(&mut self, record: &TraceRecord) {
        self.0.lock().unwrap().push(*record);
    }
}

/// `routesim::simulate_traced` keeping attempts and idle closes.
fn traced(text: &str, seed: u64) -> Vec<TraceRecord> {
    let mut s = scenario::from_text(Path::new("test.yaml"), text).unwrap();
    s.world.seed = seed;
    let records = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let filter = TraceFilter { nodes: Vec::new(), kinds: vec![TraceKind::Attempt, TraceKind::IdleClose] };
    routesim::simulate_traced(s.world, Tracer { filter, sink: Box::new(Collect(records.clone())) });
    std::mem::take(&mut *records.lock().unwrap())
}

#[test]
fn a_broker_closes_a_producers_channel_120s_after_its_last_request() {
    // One producer sending about every 100 s over 4 groups: most gaps between two sends to one
    // broker pass 120 s, and each such gap holds exactly one idle close, 120 s after the
    // request before it arrived (MODEL.md 4: an idle channel is closed after 120 s).
    let with = |idle: &str| scenario_text(&format!("  broker_channel_idle: {idle}"), 1, 0.01, "  []", "3h");
    let mut closes = 0;
    for seed in 1..=20 {
        let records = traced(&with("120s"), seed);
        let brokers: std::collections::BTreeSet<u32> = records.iter().filter_map(|r| r.peer).collect();
        for broker in brokers {
            let attempts: Vec<f64> = (records.iter())
                .filter(|r| r.kind == TraceKind::Attempt && r.peer == Some(broker))
                .map(|r| r.at_us as f64 / 1e6)
                .collect();
            let idle: Vec<f64> = (records.iter())
                .filter(|r| r.kind == TraceKind::IdleClose && r.node == Some(broker))
                .map(|r| r.at_us as f64 / 1e6)
                .collect();
            for pair in attempts.windows(2) {
                let inside = idle.iter().filter(|&&t| t > pair[0] && t <= pair[1]).count();
                let expected = usize::from(pair[1] - pair[0] > 120.0 + NET_SLACK_S);
                if pair[1] - pair[0] > 120.0 + NET_SLACK_S || pair[1] - pair[0] < 120.0 {
                    assert_eq!(
                        inside, expected,
                        "seed {seed}: attempts at {} and {}: closes {idle:?}",
                        pair[0], pair[1]
                    );
                }
            }
            for &t in &idle {
                let last = attempts.iter().rev().find(|&&a| a < t).expect("a close follows a request");
                assert!(
                    (120.0..=120.0 + NET_SLACK_S).contains(&(t - last)),
                    "seed {seed}: close at {t}, request at {last}"
                );
            }
            closes += idle.len();
        }
        // With the idle close off, no broker closes anything.
        if seed <= 3 {
            assert!(traced(&with("off"), seed).iter().all(|r| r.kind != TraceKind::IdleClose));
        }
    }
    assert!(closes > 500, "{closes} idle closes over 20 seeds");
}
