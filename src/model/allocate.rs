//! `AllocateMessageQueueAveragely` (ROCKETMQ-NOTES.md section 14): which of a topic's queues a
//! consumer takes, computed by each consumer from its own view (its route's queues and the
//! consumer list one broker gave it), so two consumers with different views can overlap.
//! Source: client/.../consumer/rebalance/AllocateMessageQueueAveragely.java.

use std::ops::Range;

/// The indices into the sorted queue list (`mqAll`, `n` long) that consumer `index` of
/// `consumers` sorted ids (`cidAll`) takes. `index` is `None` when the consumer is not in the
/// list it was given: RocketMQ then allocates it nothing.
pub fn averagely(n: usize, consumers: usize, index: Option<usize>) -> Range<usize> {
    let Some(i) = index else { return 0..0 };
    if n == 0 || consumers == 0 {
        // AbstractAllocateMessageQueueStrategy.check throws; the rebalance keeps what it had,
        // which the caller handles before asking.
        return 0..0;
    }
    let modulo = n % consumers;
    let size = if n <= consumers {
        1
    } else if modulo > 0 && i < modulo {
        n / consumers + 1
    } else {
        n / consumers
    };
    let start = if modulo > 0 && i < modulo { i * size } else { i * size + modulo };
    // range = min(size, n - start), empty when start >= n (more consumers than queues).
    let end = start.saturating_add(size).min(n);
    start.min(end)..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_queue_has_exactly_one_owner_and_sizes_differ_by_at_most_one() {
        for n in 0..=40 {
            for c in 1..=12 {
                let mut owners = vec![0u32; n];
                let sizes: Vec<usize> = (0..c)
                    .map(|i| {
                        let r = averagely(n, c, Some(i));
                        for q in r.clone() {
                            owners[q] += 1;
                        }
                        r.len()
                    })
                    .collect();
                assert!(owners.iter().all(|&o| o == 1), "n {n} c {c}: {owners:?}");
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(hi - lo <= 1, "n {n} c {c}: {sizes:?}");
                // The first n mod c consumers take the extra queue (when there are more
                // queues than consumers).
                if n > c {
                    for (i, &s) in sizes.iter().enumerate() {
                        assert_eq!(s, n / c + usize::from(i < n % c), "n {n} c {c} i {i}");
                    }
                }
            }
        }
    }

    #[test]
    fn matches_rocketmq_on_known_cases() {
        // 16 queues over 8 consumers: two each, in order.
        assert_eq!(averagely(16, 8, Some(3)), 6..8);
        // 16 over 7: the first two take three.
        assert_eq!(averagely(16, 7, Some(0)), 0..3);
        assert_eq!(averagely(16, 7, Some(1)), 3..6);
        assert_eq!(averagely(16, 7, Some(2)), 6..8);
        assert_eq!(averagely(16, 7, Some(6)), 14..16);
        // More consumers than queues: the last ones get nothing.
        assert_eq!(averagely(3, 5, Some(2)), 2..3);
        assert_eq!(averagely(3, 5, Some(4)), 3..3);
        // Not in the list: nothing.
        assert_eq!(averagely(16, 8, None), 0..0);
    }
}
