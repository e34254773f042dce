//! Consumers against the closed forms of docs/CONSUMERS-DESIGN.md section 6, over many seeds,
//! end to end through the scenario loader and the simulator.

#[path = "common/scenario.rs"]
mod common;

use common::{fault, run};

const SEEDS: u64 = 24;

/// 2 NameServers, 2 broker groups, 10 producers at 200 messages/s in all, 4 consumers; with
/// `consume_rate` 45 the consumers are 10% slower than the producers, so queues keep a backlog.
fn scenario_text(slaves: u32, consume_rate: f64, faults: &str, duration: &str) -> String {
    format!(
        "name: t\nduration: {duration}\ncluster:\n  nameservers: 2\n  broker_groups: 2\n  slaves_per_group: {slaves}\n\
         topics:\n  - name: orders\nproducers:\n  - name: p\n    count: 10\n    topic: orders\n    rate: 20\n    \
         threads: 2\nconsumers:\n  - name: c\n    count: 4\n    topic: orders\n    consume_rate: {consume_rate}\n\
         faults:\n{faults}\n"
    )
}

const POWER_OFF: &str = "  - {at: 3m, kind: crash, target: broker-a, mode: power-off}";

#[test]
fn reads_of_a_dead_masters_queues_resume_through_its_slave_within_the_closed_form() {
    // Detection 90-120 s (idle close), a route poll up to 30 s later, the pull in flight to
    // the dead master times out at 30 s + the 1-2 s response-table scan, then the 3 s retry
    // delay; a connect and a heartbeat stall at most 3 s each.
    let (lo_s, hi_s) = (90.0, 120.0 + 30.0 + 32.0 + 3.0 + 3.0 + 3.0);
    let text = scenario_text(1, 25.0, POWER_OFF, "7m");
    for seed in 1..=SEEDS {
        let summary = run(&text, seed);
        let f = fault(&summary, "broker-a");
        let gaps = f.consume_gap_s.expect("a run with consumers reports gaps");
        assert_eq!(gaps.queues, 4, "seed {seed}");
        assert_eq!(gaps.never, 0, "seed {seed}: reads resume through the slave");
        let max = gaps.max.expect("resumed");
        assert!((lo_s..=hi_s).contains(&max), "seed {seed}: gap {max} outside [{lo_s}, {hi_s}]");
        assert!(f.pull_failures.unwrap() > 0, "seed {seed}: pulls to the dead master fail");
        assert_eq!(f.duplicates, Some(0), "seed {seed}: no queue moved");
    }
}

#[test]
fn without_a_slave_a_dead_masters_queues_are_read_again_only_after_its_restart() {
    let never = scenario_text(0, 25.0, POWER_OFF, "6m");
    let restart = format!("{POWER_OFF}\n  - {{at: 4m, kind: restart, target: broker-a}}");
    let back = scenario_text(0, 25.0, &restart, "6m");
    for seed in 1..=SEEDS {
        let gaps = fault(&run(&never, seed), "broker-a").consume_gap_s.unwrap();
        assert_eq!((gaps.queues, gaps.never), (4, 4), "seed {seed}: no reader without a slave");
        // With a restart 60 s later, nobody reads the queues before it.
        let gaps = fault(&run(&back, seed), "broker-a").consume_gap_s.unwrap();
        assert_eq!(gaps.never, 0, "seed {seed}: reads resume after the restart");
        assert!(gaps.max.unwrap() >= 60.0, "seed {seed}: gap {:?} ends before the restart", gaps.max);
    }
}

#[test]
fn a_killed_consumers_queues_move_at_once_and_about_a_batch_is_read_twice() {
    let text = scenario_text(0, 0.0, "  - {at: 3m, kind: crash, target: c-1, mode: kill}", "4m");
    for seed in 1..=SEEDS {
        let summary = run(&text, seed);
        let f = fault(&summary, "c-1");
        let gaps = f.consume_gap_s.unwrap();
        assert_eq!((gaps.queues, gaps.never), (8, 0), "seed {seed}");
        // NOTIFY at once from every broker: rebalance, offset query and pull take a few
        // network round trips.
        assert!(gaps.max.unwrap() < 1.0, "seed {seed}: gap {:?}", gaps.max);
        // Its two queues restart from the offset its last pulls carried: the batch before.
        let duplicates = f.duplicates.unwrap();
        assert!((1..=2 * 32).contains(&duplicates), "seed {seed}: {duplicates} duplicates");
    }
}

#[test]
fn a_silent_consumers_queues_wait_for_the_brokers_expiry_and_a_rebalance() {
    // Its last heartbeat reached each broker up to 30 s before the fault; the 10 s scan drops
    // it once 120 s have passed; the survivors take its queues at their next rebalance (20 s,
    // plus a consumer-list call of up to 3 s).
    let (lo_s, hi_s) = (90.0, 130.0 + 20.0 + 3.0 + 1.0);
    let text = scenario_text(0, 0.0, "  - {at: 3m, kind: crash, target: c-1, mode: power-off}", "7m");
    for seed in 1..=SEEDS {
        let gaps = fault(&run(&text, seed), "c-1").consume_gap_s.unwrap();
        assert_eq!(gaps.never, 0, "seed {seed}");
        let max = gaps.max.unwrap();
        assert!((lo_s..=hi_s).contains(&max), "seed {seed}: gap {max} outside [{lo_s}, {hi_s}]");
    }
}
