//! Decided sends (`Ctx::transmit`): a producer's send that nothing can disturb before it
//! arrives is handled as it is sent, one event fewer. With constant delays and service times
//! no draw depends on when it is made, so the run must be the same in every figure but the
//! count of events, faults before, during and after sends included.

use std::path::Path;

use routesim::model::World;
use routesim::report::RunReport;

const SCENARIO: &str = "name: decided
duration: 6m
cluster:
  nameservers: 2
  broker_groups: 3
  broker_service_time: {constant: 300us}
network:
  latency: {constant: 700us}
topics:
  - name: t
producers:
  - name: s
    count: 30
    topic: t
    rate: 40
    mode: sync
    threads: 2
  - name: a
    count: 10
    topic: t
    rate: 40
    mode: async
faults:
  - {at: 100s, kind: pause, target: broker-b, duration: 20s}
  - {at: 150s, kind: crash, target: broker-a, mode: kill, duration: 30s}
  - {at: 200s, kind: crash, target: broker-c, mode: power-off}
";

fn run(queue_every_send: bool) -> RunReport {
    let world = routesim::scenario::from_text(Path::new("decided.yaml"), SCENARIO).unwrap().world;
    let world = World::new(world);
    let world = if queue_every_send { world.queue_every_send() } else { world };
    world.run()
}

#[test]
fn deciding_sends_changes_nothing_but_the_count_of_events() {
    let (decided, queued) = (run(false), run(true));
    let saved = queued.summary.totals.events - decided.summary.totals.events;
    println!("events: {} queued, {} with decided sends", queued.summary.totals.events, decided.summary.totals.events);
    assert!(saved * 2 > decided.summary.totals.sends, "most sends are decided: {saved} events saved");
    let strip = |r: &RunReport| {
        let mut summary = r.summary.clone();
        summary.totals.events = 0;
        serde_json::to_string(&(summary, &r.timeseries, &r.detection, &r.convergence, &r.timeline)).unwrap()
    };
    // Faults here end (resume, restart) or strike (kill, power-off) while sends are on their
    // way: the case where a decided send could differ.
    let failed = decided.summary.totals.failed_attempts;
    assert!(failed > 100, "the faults strike sends: {failed} failed attempts");
    let (a, b) = (strip(&decided), strip(&queued));
    let at = a.bytes().zip(b.bytes()).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let around = |s: &str| s[at.saturating_sub(400)..(at + 100).min(s.len())].to_string();
    assert!(a == b, "decided: …{}…\nqueued:  …{}…", around(&a), around(&b));
}
