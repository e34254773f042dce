//! A min-priority queue of timed events with a total order: (time, insertion sequence).
//!
//! Equal times pop in the order they were pushed, so a run never depends on the queue's
//! internal layout. Virtual time only moves forward and most events land within a few seconds
//! of now, so the queue is a timing wheel (a calendar queue): `BUCKETS` buckets of
//! `BUCKET_US` each cover the next ~4 s. Later events wait in a second, coarser wheel of
//! `BLOCKS` blocks of one wheel's span each (~4.8 h: a 120 s idle check per channel is a
//! large fleet's most common far event), whose block is spread over the first wheel when its
//! turn comes; only events past that wait in a binary heap. When a bucket's
//! turn comes its events are sorted once and popped from the end. Events pushed into the
//! bucket already being popped (a 0.5 ms network delay lands inside a 1.024 ms bucket) go to a
//! small binary heap beside it, so no push moves other events in memory; pop takes the
//! smaller key of the two. A drained bucket's vector refills the slot it leaves (no allocation
//! while that slot fills again) only if it is small: a burst's memory leaves with its events,
//! so the queue holds memory in proportion to its pending events plus a bounded 16 KiB per
//! slot (64 MiB over the wheel at most), not to the busiest millisecond it ever saw. Measured
//! against std's `BinaryHeap` (kept below as the reference the tests compare with): see
//! README, section Speed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::prefetch::prefetch;
use super::time::SimTime;

/// Width of one bucket: a few network delays.
const BUCKET_US: SimTime = 1 << 10;
/// Buckets in the wheel: 4096 x 1.024 ms = 4.2 s, past the 3 s request timeouts.
const BUCKETS: usize = 1 << 12;
const WHEEL_US: SimTime = BUCKET_US * BUCKETS as SimTime;
/// Events filed together (`EventQueue::staged`).
const STAGED: usize = 16;
/// A drained bucket's memory is kept for the slot's next turn up to this many events (16 KiB
/// of 40-byte entries at most, 64 MiB over the wheel); larger ones are freed.
const RECYCLED_CAPACITY_MAX: usize = 400;
/// Blocks (of `WHEEL_US` each) in the coarse wheel: 4096 x 4.2 s = 4.8 h.
const BLOCKS: u64 = 1 << 12;

/// An event with its ordering key.
struct Entry<E> {
    at_us: SimTime,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    #[inline]
    fn key(&self) -> (SimTime, u64) {
        (self.at_us, self.seq)
    }
}

/// Ordering for the binary heaps: by key only (events need not be comparable), earliest on top.
struct Later<E>(Entry<E>);

impl<E> PartialEq for Later<E> {
    fn eq(&self, other: &Self) -> bool {
        self.0.key() == other.0.key()
    }
}
impl<E> Eq for Later<E> {}
impl<E> PartialOrd for Later<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Later<E> {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.key().cmp(&self.0.key())
    }
}

pub struct EventQueue<E> {
    /// Start of the current bucket; the wheel covers [base_us, base_us + WHEEL_US).
    base_us: SimTime,
    /// The current bucket's events as it was when its turn came, sorted by key, largest
    /// first: pop takes the last.
    current: Vec<Entry<E>>,
    /// Events pushed before the end of the current bucket once it was sorted.
    late: BinaryHeap<Later<E>>,
    /// Future buckets of the wheel, unsorted; bucket of time t: (t / BUCKET_US) % BUCKETS.
    wheel: Vec<Vec<Entry<E>>>,
    in_wheel: usize,
    /// Events past the wheel's end in the next `BLOCKS - 1` blocks, unsorted; block of time t:
    /// t / WHEEL_US, slot: block % BLOCKS. The current block's slot is empty.
    blocks: Vec<Vec<Entry<E>>>,
    in_blocks: usize,
    /// Events past the coarse wheel.
    overflow: BinaryHeap<Later<E>>,
    /// Events pushed past the current bucket, not yet filed: filed `STAGED` at a time, so the
    /// cache misses on their scattered buckets overlap instead of stalling one push each.
    /// Where an event waits changes nothing but when its memory is touched: every bucket is
    /// sorted when its turn comes, and `advance` files these first.
    staged: Vec<Entry<E>>,
    next_seq: u64,
    /// Pending events, however they are spread: kept so `len` is one load on every push.
    len: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            base_us: 0,
            current: Vec::new(),
            late: BinaryHeap::new(),
            wheel: (0..BUCKETS).map(|_| Vec::new()).collect(),
            in_wheel: 0,
            blocks: (0..BLOCKS).map(|_| Vec::new()).collect(),
            in_blocks: 0,
            overflow: BinaryHeap::new(),
            staged: Vec::with_capacity(STAGED),
            next_seq: 0,
            len: 0,
        }
    }

    /// Pushes `event` at `at_us`. (The engine never pushes into the past; a push before the
    /// current bucket, possible after a peek moved on, still pops in key order.)
    #[inline]
    pub fn push(&mut self, at_us: SimTime, event: E) {
        let entry = Entry { at_us, seq: self.next_seq, event };
        self.next_seq += 1;
        self.len += 1;
        if at_us < self.base_us + BUCKET_US {
            self.late.push(Later(entry));
        } else {
            self.staged.push(entry);
            if self.staged.len() == STAGED {
                self.file_staged();
            }
        }
    }

    /// Files the staged events: first asks for the place in each one's bucket where its push
    /// will write, then pushes them.
    #[inline(never)]
    fn file_staged(&mut self) {
        for entry in &self.staged {
            if entry.at_us < self.base_us + WHEEL_US {
                let bucket = &mut self.wheel[bucket_of(entry.at_us)];
                if let Some(free) = bucket.spare_capacity_mut().first() {
                    prefetch(free);
                }
            }
        }
        let mut staged = std::mem::take(&mut self.staged);
        for entry in staged.drain(..) {
            self.file(entry);
        }
        self.staged = staged;
    }

    /// Puts an event at or past the current bucket's end where it waits: the wheel, a block of
    /// the coarse wheel, or the overflow.
    #[inline]
    fn file(&mut self, entry: Entry<E>) {
        if entry.at_us < self.base_us + WHEEL_US {
            self.wheel[bucket_of(entry.at_us)].push(entry);
            self.in_wheel += 1;
        } else if entry.at_us / WHEEL_US < self.base_us / WHEEL_US + BLOCKS {
            self.blocks[block_slot(entry.at_us)].push(entry);
            self.in_blocks += 1;
        } else {
            self.overflow.push(Later(entry));
        }
    }

    /// The wheel entered a new block: that block's events move to the wheel (it covers the
    /// whole block now), and the overflow's events the coarse wheel now reaches move in.
    fn enter_block(&mut self) {
        let block = std::mem::take(&mut self.blocks[block_slot(self.base_us)]);
        self.in_blocks -= block.len();
        for entry in block {
            debug_assert!(entry.at_us >= self.base_us && entry.at_us < self.base_us + WHEEL_US);
            self.wheel[bucket_of(entry.at_us)].push(entry);
            self.in_wheel += 1;
        }
        while let Some(Later(first)) = self.overflow.peek() {
            if first.at_us / WHEEL_US >= self.base_us / WHEEL_US + BLOCKS {
                break;
            }
            let Later(entry) = self.overflow.pop().expect("peeked");
            self.file(entry);
        }
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let entry = match self.next_source()? {
            Source::Current => self.current.pop().expect("next_source saw it"),
            Source::Late => self.late.pop().expect("next_source saw it").0,
        };
        self.len -= 1;
        Some((entry.at_us, entry.event))
    }

    /// The event `ahead` pops after the next one in the current bucket's sorted events, if
    /// there is one (events pushed into the bucket since it was sorted are not seen): a hint
    /// for prefetching, never an order.
    #[inline]
    pub fn peek_sorted_ahead(&self, ahead: usize) -> Option<&E> {
        let len = self.current.len();
        if ahead < len { Some(&self.current[len - 1 - ahead].event) } else { None }
    }

    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        Some(match self.next_source()? {
            Source::Current => self.current.last().expect("next_source saw it").at_us,
            Source::Late => self.late.peek().expect("next_source saw it").0.at_us,
        })
    }

    /// Where the earliest event is, moving to the next bucket holding events if the current
    /// one is spent; None when the queue is empty. Keys are unique, so the choice is exact.
    #[inline]
    fn next_source(&mut self) -> Option<Source> {
        if self.current.is_empty() && self.late.is_empty() && !self.advance() {
            return None;
        }
        Some(match (self.current.last(), self.late.peek()) {
            (Some(sorted), Some(Later(late))) if late.key() < sorted.key() => Source::Late,
            (Some(_), _) => Source::Current,
            (None, _) => Source::Late,
        })
    }

    /// Moves to the next bucket holding events and sorts it; false when the queue is empty.
    fn advance(&mut self) -> bool {
        debug_assert!(self.current.is_empty() && self.late.is_empty());
        self.file_staged();
        loop {
            let block_before = self.base_us / WHEEL_US;
            if self.in_wheel > 0 {
                self.base_us += BUCKET_US;
            } else if self.in_blocks > 0 {
                // Nothing within the wheel: jump to the start of the next block holding events.
                let next = (block_before + 1..block_before + BLOCKS)
                    .find(|&b| !self.blocks[(b % BLOCKS) as usize].is_empty())
                    .expect("in_blocks counts the coarse wheel's events");
                self.base_us = next * WHEEL_US;
            } else {
                // Nor in the coarse wheel: jump straight to the overflow's first bucket.
                let Some(Later(first)) = self.overflow.peek() else { return false };
                self.base_us = first.at_us - first.at_us % BUCKET_US;
            }
            if self.base_us / WHEEL_US != block_before {
                self.enter_block();
            }
            // The slot, now covering the wheel's new last bucket, starts empty again with the
            // drained bucket's memory if that is small (no allocation while it refills, the
            // common case), or none: a burst's memory goes with its events.
            let mut drained = std::mem::take(&mut self.current);
            if drained.capacity() > RECYCLED_CAPACITY_MAX {
                drained = Vec::new();
            }
            self.current = std::mem::replace(&mut self.wheel[bucket_of(self.base_us)], drained);
            self.in_wheel -= self.current.len();
            if !self.current.is_empty() {
                self.current.sort_unstable_by_key(|e| Reverse(e.key()));
                return true;
            }
        }
    }

    /// Every pending event, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        let wheel = self.wheel.iter().chain(&self.blocks).flatten();
        let heaps = self.late.iter().chain(self.overflow.iter()).map(|Later(e)| e);
        self.current.iter().chain(&self.staged).chain(wheel).chain(heaps).map(|e| &e.event)
    }

    #[inline]
    pub fn len(&self) -> usize {
        debug_assert_eq!(
            self.len,
            self.current.len()
                + self.staged.len()
                + self.late.len()
                + self.in_wheel
                + self.in_blocks
                + self.overflow.len()
        );
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which part of the queue holds the earliest event.
enum Source {
    Current,
    Late,
}

#[inline]
fn bucket_of(at_us: SimTime) -> usize {
    ((at_us / BUCKET_US) as usize) % BUCKETS
}

#[inline]
fn block_slot(at_us: SimTime) -> usize {
    ((at_us / WHEEL_US) % BLOCKS) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The reference: a binary heap over (time, sequence).
    struct Reference(BinaryHeap<Reverse<(SimTime, u64, u32)>>, u64);

    impl Reference {
        fn push(&mut self, at: SimTime, v: u32) {
            self.0.push(Reverse((at, self.1, v)));
            self.1 += 1;
        }
        fn pop(&mut self) -> Option<(SimTime, u32)> {
            self.0.pop().map(|Reverse((at, _, v))| (at, v))
        }
    }

    #[test]
    fn iter_sees_every_pending_event() {
        // Pushes into the bucket being popped land in the small heap beside it: iter() must
        // see those too (the end-of-run message count relies on it).
        let mut q = EventQueue::new();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut now = 0;
        for i in 0..5_000u32 {
            q.push(now + rng.gen_range(0..3 * BUCKET_US), i);
            if i % 3 == 0 {
                now = q.pop().map_or(now, |(at, _)| at);
            }
            assert_eq!(q.iter().count(), q.len());
        }
    }

    #[test]
    fn peeking_ahead_names_the_events_the_next_pops_return() {
        let mut q = EventQueue::new();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for i in 0..2_000u32 {
            q.push(rng.gen_range(0..20 * BUCKET_US), i);
        }
        let (mut peeks, mut popped) = (Vec::new(), Vec::new());
        while q.peek_time().is_some() {
            peeks.push((0..4).map(|k| q.peek_sorted_ahead(k).copied()).collect::<Vec<_>>());
            popped.push(q.pop().expect("peeked").1);
        }
        let mut named = 0;
        for (i, ahead) in peeks.iter().enumerate() {
            // With nothing pushed meanwhile, what it names (within the sorted bucket) is
            // exactly what the pops `k` later return.
            for (k, event) in ahead.iter().enumerate() {
                if let Some(event) = event {
                    assert_eq!(Some(event), popped.get(i + k), "pop {i}, {k} ahead");
                    named += 1;
                }
            }
        }
        assert!(named > 3 * popped.len(), "most peeks name an event: {named}");
    }

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut q = EventQueue::new();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut pushed = Vec::new();
        for i in 0..10_000u32 {
            let at = rng.gen_range(0..50u64);
            q.push(at, i);
            pushed.push((at, i));
        }
        // A stable sort by time keeps insertion order among equal times: the queue must agree.
        pushed.sort_by_key(|&(at, _)| at);
        let popped: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(popped, pushed);
        assert!(q.is_empty());
    }

    #[test]
    fn agrees_with_a_binary_heap_under_a_simulation_like_load() {
        // Delays from 0 to far past the wheel, ties included, pushes interleaved with pops.
        for seed in 0..20 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let (mut q, mut r) = (EventQueue::new(), Reference(BinaryHeap::new(), 0));
            let mut now = 0;
            for i in 0..20_000u32 {
                let delay = match rng.gen_range(0..10) {
                    0 => 0,
                    1..=5 => rng.gen_range(0..3 * BUCKET_US),
                    6..=8 => rng.gen_range(0..WHEEL_US),
                    // Past the wheel, and (rarely) past the coarse wheel too.
                    _ if rng.gen_bool(0.02) => rng.gen_range(0..3 * BLOCKS * WHEEL_US),
                    _ => rng.gen_range(0..20 * WHEEL_US),
                };
                q.push(now + delay, i);
                r.push(now + delay, i);
                if rng.gen_bool(0.45) {
                    assert_eq!(q.peek_time(), r.0.peek().map(|Reverse((at, _, _))| *at));
                    let (a, b) = (q.pop(), r.pop());
                    assert_eq!(a, b, "seed {seed}");
                    now = a.map_or(now, |(at, _)| at);
                }
                assert_eq!(q.len(), r.0.len());
            }
            while let Some(b) = r.pop() {
                assert_eq!(q.pop(), Some(b));
            }
            assert_eq!(q.pop(), None);
        }
    }

    #[test]
    fn interleaved_push_pop_never_goes_back_in_time() {
        let mut q = EventQueue::new();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut now = 0;
        q.push(0, 0u32);
        let mut popped = 0;
        while let Some(peeked) = q.peek_time() {
            let (at, _) = q.pop().unwrap();
            assert_eq!(at, peeked);
            assert!(at >= now);
            now = at;
            popped += 1;
            if popped < 5_000 {
                for _ in 0..rng.gen_range(0..3) {
                    q.push(now + rng.gen_range(0..100_000_000), popped);
                }
            }
        }
        assert!(popped > 1);
    }

    /// One step of a random workload: push at now + delay, or pop (and peek first).
    #[derive(Clone, Debug)]
    enum Op {
        Push(SimTime),
        Pop,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            // Ties, inside the current bucket, across a few buckets, across the wheel, past it.
            2 => Just(Op::Push(0)),
            3 => (0..BUCKET_US).prop_map(Op::Push),
            2 => (0..4 * BUCKET_US).prop_map(Op::Push),
            1 => (0..2 * WHEEL_US).prop_map(Op::Push),
            1 => (0..30 * WHEEL_US).prop_map(Op::Push),
            1 => (0..2 * BLOCKS * WHEEL_US).prop_map(Op::Push),
            4 => Just(Op::Pop),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// Any interleaving of pushes (never into the past) and pops matches the reference,
        /// pop for pop, peek for peek, length for length.
        #[test]
        fn any_workload_pops_as_the_reference_does(ops in proptest::collection::vec(op(), 1..2_000)) {
            let (mut q, mut r) = (EventQueue::new(), Reference(BinaryHeap::new(), 0));
            let mut now = 0;
            for (i, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Push(delay) => {
                        q.push(now + delay, i as u32);
                        r.push(now + delay, i as u32);
                    }
                    Op::Pop => {
                        proptest::prop_assert_eq!(q.peek_time(), r.0.peek().map(|Reverse((at, _, _))| *at));
                        let popped = q.pop();
                        proptest::prop_assert_eq!(popped, r.pop());
                        now = popped.map_or(now, |(at, _)| at);
                    }
                }
                proptest::prop_assert_eq!(q.len(), r.0.len());
            }
            while let Some(expected) = r.pop() {
                proptest::prop_assert_eq!(q.pop(), Some(expected));
            }
            proptest::prop_assert!(q.is_empty());
        }
    }

    #[test]
    fn small_drained_buckets_refill_their_slots_and_keep_at_most_the_bound() {
        // Buckets of 3 to 600 events, drained: the small ones' vectors stay in the wheel for
        // the slots' next turn, and no slot keeps more than the bound.
        let mut q = EventQueue::new();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for bucket in 0..200u64 {
            for i in 0..rng.gen_range(3..600u32) {
                q.push((bucket + 1) * BUCKET_US + rng.gen_range(0..BUCKET_US), i);
            }
        }
        while q.pop().is_some() {}
        let capacities: Vec<usize> = q.wheel.iter().map(Vec::capacity).collect();
        assert!(capacities.iter().all(|&c| c <= RECYCLED_CAPACITY_MAX), "{capacities:?}");
        let kept = capacities.iter().filter(|&&c| c > 0).count();
        assert!(kept > 40, "only {kept} slots kept their vector");
        assert!(q.is_empty());
    }

    #[test]
    fn a_drained_bucket_gives_its_memory_back() {
        // A burst fills one bucket; once popped, nothing of its size stays reserved.
        let mut q = EventQueue::new();
        for i in 0..100_000u32 {
            q.push(5 * BUCKET_US, i);
        }
        q.push(9 * BUCKET_US, 0);
        while q.peek_time() == Some(5 * BUCKET_US) {
            q.pop();
        }
        let reserved: usize = q.wheel.iter().map(Vec::capacity).sum::<usize>() + q.current.capacity();
        assert!(reserved < 100, "{reserved} entries still reserved");
    }
}
