//! Random valid scenarios, with random fault schedules, through the real loader and simulator:
//! no panic, the same seed gives the same bytes, and the invariants a summary shows hold.
//! Small clusters and minutes of virtual time, so that the cases run in seconds in release.
//! A failing case shrinks and is saved in `tests/properties.proptest-regressions`, which
//! proptest replays first on every later run.

use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;
use routesim::model::config::WorldConfig;
use routesim::report::RunReport;
use routesim::scenario;

const CASES: u32 = 128;

/// One fault, as generated: rendered to YAML once the layout is known.
#[derive(Clone, Debug)]
enum Fault {
    Crash { node: usize, kill: bool, for_s: Option<u64> },
    Shutdown { node: usize, for_s: Option<u64> },
    Restart { node: usize },
    Pause { node: usize, for_s: Option<u64> },
    Resume { node: usize },
    Partition { one_way: bool, split: usize, for_s: Option<u64> },
    Heal { earlier: Option<usize> },
    Loss { class: Option<usize>, probability: f64, for_s: Option<u64> },
}

#[derive(Clone, Debug)]
struct Case {
    preset5: bool,
    heartbeat_s: u64,
    idle_s: Option<u64>,
    nameservers: u32,
    groups: u32,
    slaves: u32,
    producers: Vec<(u32, f64, Option<u32>, u32, bool)>,
    base_loss: [f64; 3],
    duration_s: u64,
    faults: Vec<(u64, Fault)>,
    seed: u64,
}

fn fault() -> impl Strategy<Value = Fault> {
    let node = 0usize..64;
    let for_s = proptest::option::of(1u64..120);
    prop_oneof![
        (node.clone(), any::<bool>(), for_s.clone()).prop_map(|(node, kill, for_s)| Fault::Crash { node, kill, for_s }),
        (node.clone(), for_s.clone()).prop_map(|(node, for_s)| Fault::Shutdown { node, for_s }),
        node.clone().prop_map(|node| Fault::Restart { node }),
        (node.clone(), for_s.clone()).prop_map(|(node, for_s)| Fault::Pause { node, for_s }),
        node.clone().prop_map(|node| Fault::Resume { node }),
        (any::<bool>(), 1usize..64, for_s.clone()).prop_map(|(one_way, split, for_s)| Fault::Partition {
            one_way,
            split,
            for_s
        }),
        proptest::option::of(0usize..8).prop_map(|earlier| Fault::Heal { earlier }),
        (proptest::option::of(0usize..3), 0.0f64..0.6, for_s).prop_map(|(class, probability, for_s)| Fault::Loss {
            class,
            probability,
            for_s
        }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let producer =
        (1u32..4, prop_oneof![Just(0.0), 0.05f64..10.0], proptest::option::of(1u32..4), 0u32..3, any::<bool>());
    (
        (any::<bool>(), 10u64..=60, proptest::option::of(1u64..150)),
        (1u32..=3, 1u32..=4, 0u32..=1),
        proptest::collection::vec(producer, 1..=2),
        [0.0f64..0.3, 0.0f64..0.3, 0.0f64..0.3],
        120u64..=300,
        proptest::collection::vec((0u64..1000, fault()), 0..=6),
        any::<u64>(),
    )
        .prop_map(
            |(
                (preset5, heartbeat_s, idle_s),
                (nameservers, groups, slaves),
                producers,
                base_loss,
                duration_s,
                faults,
                seed,
            )| {
                Case {
                    preset5,
                    heartbeat_s,
                    idle_s,
                    nameservers,
                    groups,
                    slaves,
                    producers,
                    base_loss,
                    duration_s,
                    faults,
                    seed,
                }
            },
        )
}

impl Case {
    fn node_names(&self) -> Vec<String> {
        let mut names: Vec<String> = (0..self.nameservers).map(|i| format!("ns-{i}")).collect();
        for g in 0..self.groups {
            let group = format!("broker-{}", char::from(b'a' + g as u8));
            names.extend((1..=self.slaves).map(|s| format!("{group}-s{s}")));
            names.push(group);
        }
        for (i, p) in self.producers.iter().enumerate() {
            names.extend((0..p.0).map(|n| format!("p{i}-{n}")));
        }
        names
    }

    /// The scenario text: every generated value is valid, so the loader must accept it.
    fn yaml(&self) -> String {
        let mut y = format!(
            "name: prop\nduration: {}s\ntiming:\n  preset: rocketmq-{}\n  broker_heartbeat: {}s\n  nameserver_channel_idle: {}\n\
             cluster:\n  nameservers: {}\n  broker_groups: {}\n  slaves_per_group: {}\ntopics:\n  - name: t\nproducers:\n",
            self.duration_s,
            if self.preset5 { 5 } else { 4 },
            self.heartbeat_s,
            self.idle_s.map_or("off".to_string(), |s| format!("{s}s")),
            self.nameservers,
            self.groups,
            self.slaves
        );
        for (i, (count, rate, threads, retries, latency_fault)) in self.producers.iter().enumerate() {
            let mode = match threads {
                Some(t) => format!("mode: sync\n    threads: {t}"),
                None => "mode: async".to_string(),
            };
            let _ = write!(
                y,
                "  - name: p{i}\n    count: {count}\n    topic: t\n    rate: {rate}\n    {mode}\n    retries: {retries}\n    latency_fault: {latency_fault}\n"
            );
        }
        let _ = write!(y, "network:\n  links:\n");
        for (class, loss) in ["broker_ns", "client_ns", "client_broker"].iter().zip(self.base_loss) {
            let _ = write!(y, "    {class}:\n      loss: {loss}\n");
        }
        y.push_str("faults:\n");
        let names = self.node_names();
        let mut partitions = 0usize;
        for (i, (at_permille, f)) in self.faults.iter().enumerate() {
            let at_s = self.duration_s * at_permille / 1000;
            // A fault's end must come before the run's.
            let ends = |for_s: &Option<u64>| match for_s {
                Some(d) if at_s + d < self.duration_s => format!(", duration: {d}s"),
                _ => String::new(),
            };
            let node = |n: &usize| &names[n % names.len()];
            let line = match f {
                Fault::Crash { node: n, kill, for_s } => format!(
                    "kind: crash, target: {}, mode: {}{}",
                    node(n),
                    if *kill { "kill" } else { "power-off" },
                    ends(for_s)
                ),
                Fault::Shutdown { node: n, for_s } => format!("kind: shutdown, target: {}{}", node(n), ends(for_s)),
                Fault::Restart { node: n } => format!("kind: restart, target: {}", node(n)),
                Fault::Pause { node: n, for_s } => format!("kind: pause, target: {}{}", node(n), ends(for_s)),
                Fault::Resume { node: n } => format!("kind: resume, target: {}", node(n)),
                Fault::Partition { one_way, split, for_s } => {
                    let split = 1 + split % (names.len() - 1);
                    partitions += 1;
                    format!(
                        "kind: partition, id: cut-{i}, groups: [[{}], [{}]], one_way: {one_way}{}",
                        names[..split].join(", "),
                        names[split..].join(", "),
                        ends(for_s)
                    )
                }
                Fault::Heal { earlier } => match earlier {
                    Some(k) if partitions > 0 => {
                        // The k-th earlier partition, by its id.
                        let ids: Vec<usize> = self.faults[..i]
                            .iter()
                            .enumerate()
                            .filter(|(_, (_, f))| matches!(f, Fault::Partition { .. }))
                            .map(|(j, _)| j)
                            .collect();
                        format!("kind: heal, target: cut-{}", ids[k % ids.len()])
                    }
                    _ => "kind: heal".to_string(),
                },
                Fault::Loss { class, probability, for_s } => format!(
                    "kind: loss, probability: {probability}{}{}",
                    class.map_or(String::new(), |c| format!(
                        ", class: {}",
                        ["broker_ns", "client_ns", "client_broker"][c]
                    )),
                    ends(for_s)
                ),
            };
            let _ = writeln!(y, "  - {{at: {at_s}s, {line}}}");
        }
        if self.faults.is_empty() {
            y.push_str("  []\n");
        }
        y
    }
}

/// Everything a run must satisfy, from its report alone. The model's own end-of-run
/// `check_invariants` (issue 9) belongs here too once it exists: call it on `world` and fail
/// with what it returns.
fn check_run(world: &WorldConfig, report: &RunReport) -> Result<(), String> {
    let t = &report.summary.totals;
    let ensure = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what}: {t:?}")) };
    ensure(t.failed_sends <= t.sends, "failed_sends <= sends")?;
    ensure(t.failed_sends_no_route <= t.failed_sends, "failed_sends_no_route <= failed_sends")?;
    ensure(t.failed_attempts <= t.attempts, "failed_attempts <= attempts")?;
    ensure(t.messages_lost <= t.messages, "messages_lost <= messages")?;
    ensure(t.false_removals == report.summary.false_removals.len() as u64, "false_removals counted")?;
    let seconds = world.duration_us.div_ceil(1_000_000);
    ensure(report.timeseries.len() as u64 == seconds, "a timeseries row per second")?;
    let sum = |f: fn(&routesim::report::SecondCounts) -> u64| report.timeseries.iter().map(f).sum::<u64>();
    ensure(sum(|r| r.sends) == t.sends, "timeseries sends add up to the total")?;
    ensure(sum(|r| r.failed_sends) == t.failed_sends, "timeseries failed sends add up to the total")?;
    ensure(sum(|r| r.attempts) == t.attempts, "timeseries attempts add up to the total")?;
    for f in &report.summary.faults {
        let what = |s: &str| format!("fault {}: {s}", f.id);
        ensure(f.failed_attempts <= f.stale_attempts, &what("failed_attempts <= stale_attempts"))?;
        ensure(f.failed_sends + f.recovered_by_retry <= t.sends, &what("failed + recovered <= sends"))?;
        ensure(f.failed_sends <= t.failed_sends, &what("failed_sends <= total failed_sends"))?;
        ensure(f.convergence_s.never <= f.convergence_s.clients, &what("never <= clients"))?;
        ensure(f.stale_attempts > 0 || f.stale_window_s.is_none(), &what("a stale window needs a stale attempt"))?;
        for d in f.detection_s.values().flatten() {
            ensure(*d >= 0.0 && *d <= report.summary.duration_s, &what("detection within the run"))?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn random_valid_scenarios_run_deterministically_and_keep_their_invariants(case in case()) {
        let text = case.yaml();
        let s = scenario::from_text(Path::new("prop.yaml"), &text)
            .map_err(|e| TestCaseError::fail(format!("a valid scenario was refused: {e}\n{text}")))?;
        let mut world = s.world;
        world.seed = case.seed;
        let first = routesim::simulate(world.clone());
        check_run(&world, &first).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let again = routesim::simulate(world);
        let bytes = |r: &RunReport| serde_json::to_string(&r.summary).unwrap();
        prop_assert_eq!(bytes(&first), bytes(&again), "seed {} gave two summaries:\n{}", case.seed, text);
    }
}
