//! `cargo bench`: the event queue against a bare BinaryHeap, and a small scenario end to end.
//! `routesim bench` prints the same figures as events per second without criterion.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use routesim::engine::Sim;

/// Pending events in the hold model: about a 1,000-producer and a 10,000-producer scenario.
const PENDINGS: [u64; 2] = [10_000, 100_000];
const OPS: u64 = 100_000;

fn delay(i: u64) -> u64 {
    // A fixed pseudo-random sequence, identical for both queues.
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 1_000_000 + 1
}

fn queues(c: &mut Criterion) {
    for pending in PENDINGS {
        c.bench_function(&format!("bare BinaryHeap hold model, {pending} pending"), |b| {
            b.iter(|| {
                let mut heap: BinaryHeap<Reverse<(u64, u64)>> = (0..pending).map(|i| Reverse((delay(i), i))).collect();
                for i in 0..OPS {
                    let Reverse((now, _)) = heap.pop().unwrap();
                    heap.push(Reverse((now + delay(i + pending), i + pending)));
                }
                heap.len()
            })
        });
        c.bench_function(&format!("engine Sim hold model, {pending} pending"), |b| {
            b.iter(|| {
                let mut sim: Sim<[u32; 4]> = Sim::new();
                for i in 0..pending {
                    sim.schedule_at(delay(i), [i as u32; 4]);
                }
                for i in 0..OPS {
                    let e = sim.next_until(u64::MAX).unwrap();
                    sim.schedule_in(delay(i + pending), e);
                }
                sim.pending()
            })
        });
    }
}

fn scenario(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/broker-kill.yaml");
    let mut s = routesim::scenario::load(&path).expect("shipped scenario loads");
    s.world.layout.producer_groups[0].1 = 20;
    s.world.producers[0].count = 20;
    c.bench_function("broker-kill with 20 producers", |b| {
        b.iter(|| routesim::simulate(s.world.clone()).summary.totals.events)
    });
}

criterion_group!(benches, queues, scenario);
criterion_main!(benches);
