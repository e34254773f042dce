//! `routesim bench`: the engine's speed against a bare priority-queue loop, and whole
//! scenarios against wall time and peak memory. Wall-clock time is read here only, to
//! measure; it never reaches a model or an output file.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::engine::Sim;

/// Events pending at once in the hold model: about what a 1,000-producer scenario keeps.
pub const PENDING_EVENTS: usize = 10_000;

pub struct QueueFigures {
    pub bare_events_per_s: f64,
    pub engine_events_per_s: f64,
}

/// A fixed pseudo-random delay sequence (1 µs to 1 s), the same for both loops, cheap enough
/// not to dominate either and needing no memory.
fn delay_us(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) % 1_000_000 + 1
}

/// The classic hold model: pop the earliest event, push one a pseudo-random delay later.
pub fn queue_throughput(events: usize) -> QueueFigures {
    let (pending, events) = (PENDING_EVENTS as u64, events as u64);
    let started = Instant::now();
    let mut heap = BinaryHeap::with_capacity(PENDING_EVENTS + 1);
    for seq in 0..pending {
        heap.push(Reverse((delay_us(seq), seq)));
    }
    let mut checksum = 0u64;
    for i in 0..events {
        let Reverse((now, seq)) = heap.pop().expect("hold model keeps events pending");
        checksum = checksum.wrapping_add(seq);
        heap.push(Reverse((now + delay_us(pending + i), pending + i)));
    }
    let bare_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut sim: Sim<[u32; 4]> = Sim::new();
    for i in 0..pending {
        sim.schedule_at(delay_us(i), [i as u32; 4]);
    }
    let mut engine_checksum = 0u64;
    for i in 0..events {
        let event = sim.next_until(u64::MAX).expect("hold model keeps events pending");
        engine_checksum = engine_checksum.wrapping_add(u64::from(event[0]));
        sim.schedule_in(delay_us(pending + i), event);
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
