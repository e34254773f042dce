//! The simulation engine: virtual time, the event queue and seeded randomness.
//!
//! It knows nothing of RocketMQ, brokers or networks. A model owns its state and an event type
//! `E`; the engine owns the clock and the queue and hands events back in a defined order:
//! by time, then by the order they were scheduled.

mod lognormal;
mod prefetch;
mod queue;
mod rng;
mod time;

pub use lognormal::LogNormalTable;
pub use prefetch::prefetch;
pub use queue::EventQueue;
pub use rng::{RngStream, stream_rng};
pub use time::{SimTime, US_PER_MS, US_PER_S, round_us, secs};

use std::cell::Cell;

/// Where `schedule_in` saturates: ~146,000 years, past every run, and far enough below
/// `SimTime::MAX` that the queue's bucket arithmetic (a time plus the wheel's span) cannot
/// overflow.
pub const NEVER_US: SimTime = SimTime::MAX / 2;

/// The clock and the pending events of one run.
pub struct Sim<E> {
    now_us: SimTime,
    queue: EventQueue<E>,
    events_processed: u64,
    /// The most events that were pending at once: what a bare queue must hold to compare.
    pending_max: usize,
}

/// What the engine saw of one run, for `routesim bench`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub events: u64,
    pub pending_max: usize,
}

thread_local! {
    /// The stats of the last `Sim` dropped on this thread (see `take_last_stats`).
    static LAST_STATS: Cell<Option<EngineStats>> = const { Cell::new(None) };
}

/// The stats of the last run that finished on this thread, taken once. `simulate` returns
/// the model's report, which has no place for engine figures (and must not: they are not
/// outputs); this is how the bench reads them without the model passing them on.
pub fn take_last_stats() -> Option<EngineStats> {
    LAST_STATS.take()
}

impl<E> Default for Sim<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Sim<E> {
    pub fn new() -> Self {
        Sim { now_us: 0, queue: EventQueue::new(), events_processed: 0, pending_max: 0 }
    }

    /// The current virtual time: the time of the event being handled.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now_us
    }

    /// Schedules `event` at absolute time `at_us`, which must not be in the past.
    #[inline]
    pub fn schedule_at(&mut self, at_us: SimTime, event: E) {
        assert!(at_us >= self.now_us, "event scheduled in the past: {at_us} < {}", self.now_us);
        self.queue.push(at_us, event);
        self.pending_max = self.pending_max.max(self.queue.len());
    }

    /// Schedules `event` `delay_us` after now. The sum saturates at `NEVER_US` instead of
    /// wrapping into the past: a time that far out lies beyond the end of every run (scenario
    /// validation bounds runs to 30 days), so the event simply never fires.
    #[inline]
    pub fn schedule_in(&mut self, delay_us: SimTime, event: E) {
        self.queue.push(self.now_us.saturating_add(delay_us).min(NEVER_US), event);
        self.pending_max = self.pending_max.max(self.queue.len());
    }

    /// Pops the next event before `end_us` and advances the clock to it: a run covers
    /// [0, end), so every event falls in one of its whole seconds.
    #[inline]
    pub fn next_until(&mut self, end_us: SimTime) -> Option<E> {
        if self.queue.peek_time()? >= end_us {
            return None;
        }
        let (at_us, event) = self.queue.pop()?;
        debug_assert!(at_us >= self.now_us, "time went backwards");
        self.now_us = at_us;
        self.events_processed += 1;
        Some(event)
    }

    /// A pending event a few pops ahead (see `EventQueue::peek_sorted_ahead`): a prefetch hint.
    #[inline]
    pub fn peek_ahead(&self, ahead: usize) -> Option<&E> {
        self.queue.peek_sorted_ahead(ahead)
    }

    /// Moves the clock to `end_us` once the run is over, so final accounting sees the end time.
    pub fn finish_at(&mut self, end_us: SimTime) {
        assert!(end_us >= self.now_us);
        self.now_us = end_us;
    }

    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// How many pending events satisfy `f` (at the end of a run, for accounting).
    pub fn pending_matching(&self, f: impl Fn(&E) -> bool) -> usize {
        self.queue.iter().filter(|e| f(e)).count()
    }

    pub fn stats(&self) -> EngineStats {
        EngineStats { events: self.events_processed, pending_max: self.pending_max }
    }
}

impl<E> Drop for Sim<E> {
    fn drop(&mut self) {
        LAST_STATS.set(Some(self.stats()));
    }
}

#[cfg(test)]
mod tests {
    use super::{NEVER_US, Sim};

    #[test]
    fn a_run_covers_its_start_but_not_its_end() {
        let mut sim = Sim::new();
        for at_us in [0, 5, 9, 10, 11] {
            sim.schedule_at(at_us, at_us);
        }
        let seen: Vec<u64> = std::iter::from_fn(|| sim.next_until(10)).collect();
        assert_eq!(seen, [0, 5, 9]);
        assert_eq!(sim.now(), 9);
        assert_eq!(sim.events_processed(), 3);
        assert_eq!(sim.pending(), 2);
        assert_eq!(sim.stats().pending_max, 5);
    }

    #[test]
    fn a_dropped_run_leaves_its_stats_once() {
        let mut sim = Sim::new();
        for at_us in [3, 1, 2] {
            sim.schedule_in(at_us, ());
        }
        sim.next_until(2);
        sim.schedule_at(5, ());
        drop(sim);
        assert_eq!(super::take_last_stats(), Some(super::EngineStats { events: 1, pending_max: 3 }));
        assert_eq!(super::take_last_stats(), None);
    }

    #[test]
    fn a_delay_past_the_end_of_time_saturates_and_never_fires() {
        let mut sim = Sim::new();
        sim.schedule_at(10, 1);
        assert_eq!(sim.next_until(100), Some(1));
        sim.schedule_in(u64::MAX, 2);
        assert_eq!(sim.next_until(NEVER_US), None);
        assert_eq!(sim.pending(), 1);
    }

    #[test]
    #[should_panic(expected = "in the past")]
    fn scheduling_in_the_past_is_a_bug() {
        let mut sim = Sim::new();
        sim.schedule_at(10, ());
        sim.next_until(100);
        sim.schedule_at(5, ());
    }
}
