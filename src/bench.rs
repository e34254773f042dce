//! `routesim bench`: the engine's speed against a bare priority-queue loop, and whole
//! scenarios against wall time and peak memory. Wall-clock time is read here only, to
//! measure; it never reaches a model or an output file.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::engine::Sim;

/// Events pending at once in the hold model: about what a 1,000-producer scenario keeps.
pub const PENDING_EVENTS: usize = 10_000;

pub struct QueueFigures {
    pub bare_events_per_s: f64,
    pub engine_events_per_s: f64,
}

/// The classic hold model: pop the earliest event, push one a random delay later.
/// Delays are drawn up front so both loops measure the queue, not the RNG.
pub fn queue_throughput(events: usize) -> QueueFigures {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let delays: Vec<u64> = (0..events + PENDING_EVENTS).map(|_| rng.gen_range(1..1_000_000)).collect();

    let started = Instant::now();
    let mut heap = BinaryHeap::with_capacity(PENDING_EVENTS + 1);
    for (seq, &d) in delays[..PENDING_EVENTS].iter().enumerate() {
        heap.push(Reverse((d, seq as u64)));
    }
    let mut checksum = 0u64;
    for (i, &d) in delays[PENDING_EVENTS..].iter().enumerate() {
        let Reverse((now, seq)) = heap.pop().expect("hold model keeps events pending");
        checksum = checksum.wrapping_add(seq);
        heap.push(Reverse((now + d, (PENDING_EVENTS + i) as u64)));
    }
    let bare_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut sim: Sim<[u32; 4]> = Sim::new();
    for (i, &d) in delays[..PENDING_EVENTS].iter().enumerate() {
        sim.schedule_at(d, [i as u32; 4]);
    }
    let mut engine_checksum = 0u64;
    for &d in &delays[PENDING_EVENTS..] {
        let event = sim.next_until(u64::MAX).expect("hold model keeps events pending");
        engine_checksum = engine_checksum.wrapping_add(u64::from(event[0]));
        sim.schedule_in(d, event);
    }
    let engine_s = started.elapsed().as_secs_f64();
    assert!(checksum > 0 && engine_checksum > 0);
    QueueFigures { bare_events_per_s: events as f64 / bare_s, engine_events_per_s: events as f64 / engine_s }
}

/// Peak resident memory of this process in bytes (Linux), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
