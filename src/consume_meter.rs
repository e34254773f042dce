//! What consumers experience during a fault (docs/CONSUMERS-DESIGN.md section 5), folded from
//! observations of stores, deliveries, consumptions and pull failures: per (consumer group,
//! queue) the gaps with nothing delivered while messages waited, re-consumed messages, and
//! store-to-consume delays. Counts only: no record per message.

use std::collections::{BTreeMap, BTreeSet};

use hdrhistogram::Histogram;

use crate::engine::SimTime;

/// A topic's queue: (topic, broker group, queue id), in RocketMQ's `MessageQueue` order.
pub type QueueKey = (u16, u16, u16);
/// A consumer group reading a queue.
pub type ReadKey = (u16, QueueKey);

const DELAY_US_HIGHEST: u64 = 30 * 24 * 3_600 * 1_000_000;

#[derive(Default)]
struct Reads {
    /// One past the highest offset any replica holds.
    stored_end: u64,
    /// One past the highest offset delivered to any member of the group.
    delivered_end: u64,
    /// Messages waited beyond `delivered_end` since this time, with no delivery since.
    gap_since_us: Option<SimTime>,
    /// For duplicates: the first offset consumed and one past the highest.
    consumed: Option<(u64, u64)>,
}

/// One fault's window and what was measured in it.
struct Window {
    at_us: SimTime,
    end_us: Option<SimTime>,
    /// The queues of the fault (by its broker groups or its consumer group).
    subjects: WindowSubjects,
    gap_max_us: BTreeMap<ReadKey, SimTime>,
    /// Queues that got a delivery from a pull sent within the window: reads resumed.
    resumed: BTreeSet<ReadKey>,
    duplicates: u64,
    pull_failures: u64,
    delay_us: Histogram<u64>,
}

/// What a fault's queues are: those of some broker groups, or every queue a consumer group reads.
#[derive(Clone, Debug, Default)]
pub struct WindowSubjects {
    pub broker_groups: Vec<u16>,
    pub consumer_groups: Vec<u16>,
}

impl WindowSubjects {
    fn watches(&self, (cg, (_, group, _)): ReadKey) -> bool {
        self.broker_groups.contains(&group) || self.consumer_groups.contains(&cg)
    }
}

impl Window {
    fn covers(&self, now_us: SimTime) -> bool {
        now_us >= self.at_us && self.end_us.is_none_or(|end| now_us < end)
    }
}

/// Per fault: `consume_gap_s`, `duplicates`, `pull_failures`, `store_to_consume_ms`.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultReads {
    /// Per watched queue its longest closed gap overlapping the window, in µs; `None` = reads
    /// never resumed (messages wait, and no pull sent in the window got any).
    pub gaps_us: Vec<Option<SimTime>>,
    pub duplicates: u64,
    pub pull_failures: u64,
    pub delay_us_p50: Option<u64>,
    pub delay_us_p99: Option<u64>,
    pub delayed_messages: u64,
}

#[derive(Default)]
pub struct ConsumeMeter {
    /// Per topic, the consumer groups that read it.
    readers: BTreeMap<u16, Vec<u16>>,
    reads: BTreeMap<ReadKey, Reads>,
    /// Per fault (by its place in the schedule), once it struck.
    windows: Vec<Option<Window>>,
    /// `reads.csv`: per second boundary passed and consumer group, the queues whose gap had
    /// lasted a second or more then; `sampled_s` is the next boundary to sample.
    waiting: Vec<WaitingSample>,
    sampled_s: u64,
}

/// One row of `reads.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitingSample {
    pub second: u64,
    pub consumer_group: u16,
    pub queues: u32,
    /// Queues of the group with messages waiting and nothing delivered for at least 1 s.
    pub waiting: u32,
}

/// A gap shorter than this is a message on its way (stored, its pull's answer in flight), not
/// a queue without a reader.
const WAITING_AFTER_US: SimTime = 1_000_000;

impl ConsumeMeter {
    /// `readers[topic]` = consumer groups subscribed to it; `queues` every queue of those
    /// topics; `faults` how many faults the schedule has.
    pub fn new(readers: BTreeMap<u16, Vec<u16>>, queues: &[QueueKey], faults: usize) -> ConsumeMeter {
        let mut reads = BTreeMap::new();
        for &queue in queues {
            for &cg in readers.get(&queue.0).map_or(&[][..], Vec::as_slice) {
                reads.insert((cg, queue), Reads::default());
            }
        }
        ConsumeMeter { readers, reads, windows: (0..faults).map(|_| None).collect(), waiting: Vec::new(), sampled_s: 1 }
    }

    /// Samples every second boundary up to `now_us` (the state between two observations is
    /// the one the first left, so a boundary is sampled when the next observation comes).
    pub fn advance(&mut self, now_us: SimTime) {
        while self.sampled_s * 1_000_000 <= now_us {
            let at_us = self.sampled_s * 1_000_000;
            let mut per_group: BTreeMap<u16, (u32, u32)> = BTreeMap::new();
            for (&(cg, _), reads) in &self.reads {
                let counts = per_group.entry(cg).or_default();
                counts.0 += 1;
                counts.1 += u32::from(reads.gap_since_us.is_some_and(|since| since + WAITING_AFTER_US <= at_us));
            }
            let second = self.sampled_s - 1;
            self.waiting.extend(per_group.into_iter().map(|(consumer_group, (queues, waiting))| WaitingSample {
                second,
                consumer_group,
                queues,
                waiting,
            }));
            self.sampled_s += 1;
        }
    }

    /// The samples so far (`reads.csv`), once every second up to `end_us` is sampled.
    pub fn waiting(&mut self, end_us: SimTime) -> &[WaitingSample] {
        self.advance(end_us);
        &self.waiting
    }

    pub fn is_empty(&self) -> bool {
        self.reads.is_empty()
    }

    /// Fault `fault` struck: its window opens.
    pub fn fault_struck(&mut self, fault: usize, now_us: SimTime, subjects: WindowSubjects) {
        self.windows[fault] = Some(Window {
            at_us: now_us,
            end_us: None,
            subjects,
            gap_max_us: BTreeMap::new(),
            resumed: BTreeSet::new(),
            duplicates: 0,
            pull_failures: 0,
            delay_us: Histogram::new_with_bounds(1, DELAY_US_HIGHEST, 3).expect("valid bounds"),
        });
    }

    pub fn fault_ended(&mut self, fault: usize, now_us: SimTime) {
        if let Some(Some(w)) = self.windows.get_mut(fault)
            && w.end_us.is_none()
        {
            w.end_us = Some(now_us);
        }
    }

    /// A replica of `queue` holds messages up to `end` (exclusive).
    pub fn stored(&mut self, now_us: SimTime, queue: QueueKey, end: u64) {
        let Some(groups) = self.readers.get(&queue.0) else { return };
        for &cg in groups {
            let reads = self.reads.get_mut(&(cg, queue)).expect("every read queue is known");
            reads.stored_end = reads.stored_end.max(end);
            if reads.gap_since_us.is_none() && reads.stored_end > reads.delivered_end {
                reads.gap_since_us = Some(now_us);
            }
        }
    }

    /// A promoted master holds `queue` only up to `end`: what it lacks is gone for every reader.
    pub fn truncated(&mut self, queue: QueueKey, end: u64) {
        let Some(groups) = self.readers.get(&queue.0) else { return };
        for &cg in groups {
            let reads = self.reads.get_mut(&(cg, queue)).expect("every read queue is known");
            reads.stored_end = end.max(reads.delivered_end);
            if reads.stored_end == reads.delivered_end {
                reads.gap_since_us = None;
            }
        }
    }

    /// A pull sent at `asked_us` delivered messages of `queue` up to `to` to a member of
    /// consumer group `cg`.
    pub fn delivered(&mut self, now_us: SimTime, asked_us: SimTime, cg: u16, queue: QueueKey, to: u64) {
        let key = (cg, queue);
        let Some(reads) = self.reads.get_mut(&key) else { return };
        reads.delivered_end = reads.delivered_end.max(to);
        for w in self.windows.iter_mut().flatten() {
            // Reads resumed: a pull sent after the fault got messages (after its end too).
            if asked_us >= w.at_us && w.subjects.watches(key) {
                w.resumed.insert(key);
            }
        }
        if let Some(since_us) = reads.gap_since_us.take() {
            let gap_us = now_us - since_us;
            for w in self.windows.iter_mut().flatten() {
                // A gap [since, now) overlaps the window [at, end).
                if now_us >= w.at_us && w.end_us.is_none_or(|end| since_us < end) && w.subjects.watches(key) {
                    let max = w.gap_max_us.entry(key).or_insert(0);
                    *max = (*max).max(gap_us);
                }
            }
        }
        if reads.stored_end > reads.delivered_end {
            reads.gap_since_us = Some(now_us);
        }
    }

    /// A member of `cg` consumed [from, to) of `queue`; the messages were stored between
    /// `first_stored_us` and `last_stored_us` (interpolated across the batch).
    pub fn consumed(
        &mut self,
        now_us: SimTime,
        cg: u16,
        queue: QueueKey,
        (from, to): (u64, u64),
        (first_stored_us, last_stored_us): (SimTime, SimTime),
    ) {
        let key = (cg, queue);
        let Some(reads) = self.reads.get_mut(&key) else { return };
        if to <= from {
            return;
        }
        let (first, hw) = reads.consumed.unwrap_or((from, from));
        // Everything in [first, hw) was consumed at least once: a group reads a queue in
        // offset order from its committed offset, which never passes what it consumed.
        let again = to.min(hw).saturating_sub(from.max(first));
        reads.consumed = Some((first.min(from), hw.max(to)));
        let count = to - from;
        for w in self.windows.iter_mut().flatten() {
            if !w.covers(now_us) || !w.subjects.watches(key) {
                continue;
            }
            w.duplicates += again;
            for k in 0..count {
                let stored_us = if count == 1 {
                    first_stored_us
                } else {
                    first_stored_us + (last_stored_us - first_stored_us) * k / (count - 1)
                };
                if w.end_us.is_none_or(|end| stored_us < end) {
                    w.delay_us.saturating_record(now_us.saturating_sub(stored_us).max(1));
                }
            }
        }
    }

    /// A pull of `queue` for `cg` failed (timeout, refused, no address, broker error).
    pub fn pull_failed(&mut self, now_us: SimTime, cg: u16, queue: QueueKey) {
        for w in self.windows.iter_mut().flatten() {
            if w.covers(now_us) && w.subjects.watches((cg, queue)) {
                w.pull_failures += 1;
            }
        }
    }

    /// The figures of fault `fault` at the end of the run.
    pub fn fault_reads(&self, fault: usize) -> Option<FaultReads> {
        let w = self.windows.get(fault)?.as_ref()?;
        let gaps_us = self
            .reads
            .iter()
            .filter(|&(&key, _)| w.subjects.watches(key))
            .map(|(key, reads)| {
                // Messages still wait and no pull sent in the window ever got any: reads never
                // resumed. A queue that resumed reports its longest closed gap (messages left
                // only on a dead broker may wait on: they are not readable anywhere).
                if reads.gap_since_us.is_some() && !w.resumed.contains(key) {
                    None
                } else {
                    Some(w.gap_max_us.get(key).copied().unwrap_or(0))
                }
            })
            .collect();
        let delayed = w.delay_us.len();
        let quantile = |q: f64| (delayed > 0).then(|| w.delay_us.value_at_quantile(q));
        Some(FaultReads {
            gaps_us,
            duplicates: w.duplicates,
            pull_failures: w.pull_failures,
            delay_us_p50: quantile(0.5),
            delay_us_p99: quantile(0.99),
            delayed_messages: delayed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: QueueKey = (0, 1, 0);

    fn meter() -> ConsumeMeter {
        let mut m = ConsumeMeter::new(BTreeMap::from([(0, vec![0])]), &[Q, (0, 2, 0)], 1);
        m.fault_struck(0, 100, WindowSubjects { broker_groups: vec![1], consumer_groups: vec![] });
        m
    }

    #[test]
    fn a_gap_runs_from_the_first_waiting_message_to_the_next_delivery() {
        let mut m = meter();
        m.stored(90, Q, 1);
        m.delivered(91, 80, 0, Q, 1);
        m.stored(95, Q, 3);
        // Delivered by a pull sent before the window: the queue has not resumed yet.
        m.delivered(120, 90, 0, Q, 2);
        assert_eq!(m.fault_reads(0).unwrap().gaps_us, vec![None]);
        // A pull sent in the window gets messages: resumed; the gap 120..400 closed.
        m.delivered(400, 390, 0, Q, 2);
        assert_eq!(m.fault_reads(0).unwrap().gaps_us, vec![Some(280)]);
    }

    #[test]
    fn a_queue_with_nothing_waiting_has_no_gap() {
        let m = meter();
        assert_eq!(m.fault_reads(0).unwrap().gaps_us, vec![Some(0)]);
    }

    #[test]
    fn re_consumed_offsets_count_once_per_repeat() {
        let mut m = meter();
        m.consumed(150, 0, Q, (10, 20), (0, 0));
        m.consumed(160, 0, Q, (15, 30), (0, 0));
        m.consumed(170, 0, Q, (10, 30), (0, 0));
        assert_eq!(m.fault_reads(0).unwrap().duplicates, 5 + 20);
    }

    #[test]
    fn delays_are_interpolated_across_a_batch() {
        let mut m = meter();
        m.consumed(1_000, 0, Q, (0, 3), (100, 300));
        let r = m.fault_reads(0).unwrap();
        assert_eq!(r.delayed_messages, 3);
        assert_eq!(r.delay_us_p50, Some(800));
    }
}
