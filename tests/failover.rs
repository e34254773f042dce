//! Failover modes against MODEL.md 7a's closed forms, over many seeds, end to end through the
//! scenario loader and the simulator. `failover_s` per NameServer: fault → it lists another
//! master for the group. d = one network delay (the default links: well under 50 ms).

#[path = "common/scenario.rs"]
mod common;

use common::{fault, run};
use routesim::report::{FaultSummary, Summary};

const SEEDS: u64 = 16;
/// Network delays and the state machine's 10 ms ticks on top of a closed form.
const SLACK_S: f64 = 0.1;

/// 2 NameServers, 2 broker groups, 10 producers at 200 messages/s in all; `cluster` adds the
/// failover settings.
fn scenario_text(preset: &str, cluster: &str, faults: &str, duration: &str) -> String {
    format!(
        "name: t\nduration: {duration}\ntiming:\n  preset: {preset}\ncluster:\n  nameservers: 2\n  broker_groups: 2\n\
         {cluster}\ntopics:\n  - name: orders\nproducers:\n  - name: p\n    count: 10\n    topic: orders\n    \
         rate: 20\n    threads: 2\nfaults:\n{faults}\n"
    )
}

const DLEDGER: &str = "  slaves_per_group: 2\n  failover: dledger";
const CONTROLLER: &str = "  slaves_per_group: 1\n  failover: controller";
const ACTING: &str = "  slaves_per_group: 1\n  failover: slave-acting-master";
const POWER_OFF: &str = "  - {at: 2m, kind: crash, target: broker-a, mode: power-off}";
const KILL: &str = "  - {at: 2m, kind: crash, target: broker-a, mode: kill}";

/// Every NameServer's `failover_s` of fault `broker-a`.
fn failover_s(f: &FaultSummary) -> Vec<f64> {
    let per_ns = f.failover_s.as_ref().and_then(Option::as_ref).expect("a failover mode reports failover_s");
    assert_eq!(per_ns.len(), 2);
    per_ns.values().map(|s| s.expect("a new master is listed")).collect()
}

fn assert_within(text: &str, lo_s: f64, hi_s: f64, check: impl Fn(u64, &Summary)) {
    for seed in 1..=SEEDS {
        let summary = run(text, seed);
        for s in failover_s(fault(&summary, "broker-a")) {
            assert!((lo_s..=hi_s + SLACK_S).contains(&s), "seed {seed}: failover {s} s outside [{lo_s}, {hi_s}]");
        }
        check(seed, &summary);
    }
}

#[test]
fn dledger_elects_a_new_master_within_the_heartbeat_leak_and_a_lost_round() {
    // The last heartbeat came up to 2 s before the fault; a follower stands 6 s after it; its
    // first round, in the old term, is lost (at most the 2-3 s latch against a silent peer);
    // then a vote interval of 0.3-1 s and a winning round of one round trip.
    let text = scenario_text("rocketmq-4", DLEDGER, POWER_OFF, "3m");
    assert_within(&text, 6.0 - 2.0, 6.0 + 3.0 + 1.0, |seed, summary| {
        let f = fault(summary, "broker-a");
        // A quorum write: nothing acknowledged is missing on the new leader.
        assert_eq!(f.messages_lost, Some(0), "seed {seed}");
        // No write lands before a NameServer lists the new master and a producer learns it.
        let first_listed = failover_s(f).into_iter().fold(f64::MAX, f64::min);
        let write_s = f.write_unavailable_s.as_ref().unwrap()["broker-a"].expect("writable again");
        assert!(write_s >= first_listed, "seed {seed}: wrote at {write_s} s before a master was listed");
    });
}

#[test]
fn a_killed_dledger_leader_still_costs_the_heartbeat_leak_but_its_lost_round_is_short() {
    // The elector ignores channel closes; the dead peer refuses votes at once.
    let text = scenario_text("rocketmq-4", DLEDGER, KILL, "3m");
    assert_within(&text, 6.0 - 2.0, 6.0 + 1.0, |_, _| {});
}

#[test]
fn the_controller_elects_after_its_heartbeat_timeout_on_its_scan_or_at_once_on_a_close() {
    let text = scenario_text("rocketmq-5", CONTROLLER, POWER_OFF, "3m");
    // Last heartbeat up to 1 s before the fault, 10 s timeout, seen on the 5 s scan.
    assert_within(&text, 10.0 - 1.0, 10.0 + 5.0, |_, _| {});
    let kill = scenario_text("rocketmq-5", CONTROLLER, KILL, "3m");
    // The close reaches the controller a network delay later; the new master registers.
    assert_within(&kill, 0.0, 0.0, |_, _| {});
}

#[test]
fn async_replication_may_lose_the_last_push_and_sync_replication_loses_nothing() {
    let async_text = scenario_text("rocketmq-5", CONTROLLER, POWER_OFF, "3m");
    let sync_text = scenario_text("rocketmq-5", &format!("{CONTROLLER}\n  replication: sync"), POWER_OFF, "3m");
    let mut lost_async = 0;
    for seed in 1..=SEEDS {
        // Async: at most what the master stored in its last 100 ms push wait (100 messages/s
        // per group), plus what was in flight.
        let lost = fault(&run(&async_text, seed), "broker-a").messages_lost.unwrap();
        assert!(lost <= 30, "seed {seed}: {lost} lost");
        lost_async += lost;
        assert_eq!(fault(&run(&sync_text, seed), "broker-a").messages_lost, Some(0), "seed {seed}");
    }
    assert!(lost_async > 0, "async replication never lost an acknowledged message in {SEEDS} seeds");
}

#[test]
fn an_acting_master_is_listed_once_the_light_heartbeat_expires_and_the_group_stays_read_only() {
    let text = scenario_text("rocketmq-5", ACTING, POWER_OFF, "3m");
    assert_within(&text, 10.0 - 1.0, 10.0 + 5.0, |seed, summary| {
        let f = fault(summary, "broker-a");
        // The slave shown as master takes no writes: the group is unwritable to the end.
        assert_eq!(f.write_unavailable_s.as_ref().unwrap()["broker-a"], None, "seed {seed}");
        // Detection is the light heartbeat's expiry, not the 120 s idle close.
        for d in f.detection_s.values() {
            assert!(d.unwrap() <= 15.0 + SLACK_S, "seed {seed}: detection {d:?}");
        }
    });
}

#[test]
fn a_returning_master_rejoins_as_a_slave_and_never_displaces_the_new_one() {
    // Were it to register as master again, the new master would be replaced while serving: a
    // false removal. DLedger makes it follow the new leader; controller mode fences its old
    // epoch at the NameServers and the controller demotes it.
    let restart = format!("{POWER_OFF}\n  - {{at: 150s, kind: restart, target: broker-a}}");
    for (preset, cluster) in [("rocketmq-4", DLEDGER), ("rocketmq-5", CONTROLLER)] {
        let text = scenario_text(preset, cluster, &restart, "4m");
        for seed in 1..=SEEDS / 2 {
            let summary = run(&text, seed);
            assert!(summary.false_removals.is_empty(), "{cluster}, seed {seed}: {:?}", summary.false_removals);
            let f = fault(&summary, "broker-a");
            assert!(failover_s(f).iter().all(|&s| s < 30.0), "{cluster}, seed {seed}");
        }
    }
}

#[test]
fn classic_mode_promotes_no_one() {
    let text = scenario_text("rocketmq-4", "  slaves_per_group: 1", POWER_OFF, "3m");
    let summary = run(&text, 1);
    let f = fault(&summary, "broker-a");
    // Without consumers or failover the group metrics are not measured at all.
    assert_eq!(f.failover_s, None);
    assert_eq!(f.write_unavailable_s, None);
}

#[test]
fn each_group_fails_over_in_its_own_mode() {
    // broker-a runs DLedger, broker-b keeps the cluster's classic mode.
    let cluster = "  slaves_per_group: 2\n  groups:\n    broker-a: {failover: dledger}";
    let text = scenario_text("rocketmq-4", cluster, POWER_OFF, "3m");
    assert_within(&text, 6.0 - 2.0, 6.0 + 3.0 + 1.0, |_, _| {});
    let classic_fault = POWER_OFF.replace("broker-a", "broker-b");
    let summary = run(&scenario_text("rocketmq-4", cluster, &classic_fault, "5m"), 1);
    let f = fault(&summary, "broker-b");
    assert_eq!(f.failover_s, Some(None), "broker-b is classic: nobody is promoted (null)");
    // The 120 s idle close, not a promotion, takes it off the routes.
    assert!(f.detection_s.values().all(|d| d.is_some_and(|d| (89.9..=120.1).contains(&d))), "{:?}", f.detection_s);
    let unknown = routesim::scenario::from_text(
        std::path::Path::new("t.yaml"),
        &scenario_text(
            "rocketmq-4",
            "  slaves_per_group: 2\n  groups:\n    broker-x: {failover: dledger}",
            POWER_OFF,
            "3m",
        ),
    )
    .unwrap_err()
    .to_string();
    assert!(unknown.contains("cluster.groups.broker-x") && unknown.contains("broker-a"), "{unknown}");
}
