//! A producer's send deadlines in start order, held inline: a `VecDeque` keeps them in an
//! allocation of its own, a cache miss on every send of a large fleet (the producer record
//! is prefetched; a second allocation is not). Sends finish in about start order and the
//! queue is empty between most sends, so a vector read from a moving head is enough: it
//! starts over whenever it empties, and drops its consumed prefix before it would grow.

use smallvec::SmallVec;

use crate::engine::SimTime;

/// Entries held inline, as many as a sync producer's threads in the reference workloads.
const INLINE: usize = 4;

/// (deadline, slot, send id).
pub type Deadline = (SimTime, u32, u32);

#[derive(Clone, Debug, Default)]
pub struct DeadlineQueue {
    entries: SmallVec<[Deadline; INLINE]>,
    /// Entries before it were popped.
    head: usize,
}

impl DeadlineQueue {
    #[inline]
    pub fn front(&self) -> Option<&Deadline> {
        self.entries.get(self.head)
    }

    #[inline]
    pub fn back(&self) -> Option<&Deadline> {
        self.entries[self.head..].last()
    }

    #[inline]
    pub fn push_back(&mut self, entry: Deadline) {
        if self.head > 0 && self.entries.len() == self.entries.capacity() {
            // Full: reuse the popped prefix rather than grow (at most one move per
            // `head` pops, so pushes stay amortised O(1)).
            self.entries.drain(..self.head);
            self.head = 0;
        }
        self.entries.push(entry);
    }

    #[inline]
    pub fn pop_front(&mut self) -> Option<Deadline> {
        let entry = *self.entries.get(self.head)?;
        self.head += 1;
        if self.head == self.entries.len() {
            self.entries.clear();
            self.head = 0;
        }
        Some(entry)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len() - self.head
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn behaves_as_a_vecdeque_and_grows_only_when_every_entry_is_live() {
        for seed in 0..20 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let (mut queue, mut reference) = (DeadlineQueue::default(), VecDeque::new());
            let push_permille = rng.gen_range(300..700);
            let mut peak_len = 0;
            for step in 0..20_000u64 {
                if rng.gen_range(0..1000) < push_permille {
                    let entry = (step, rng.r#gen::<u32>(), rng.r#gen::<u32>());
                    queue.push_back(entry);
                    reference.push_back(entry);
                } else {
                    assert_eq!(queue.pop_front(), reference.pop_front(), "seed {seed} step {step}");
                }
                assert_eq!(queue.front(), reference.front(), "seed {seed} step {step}");
                assert_eq!(queue.back(), reference.back(), "seed {seed} step {step}");
                assert_eq!(queue.len(), reference.len());
                peak_len = peak_len.max(queue.len());
                // The buffer grows (doubling) only when it is full of live entries.
                assert!(queue.entries.capacity() <= (2 * peak_len).max(INLINE), "seed {seed} step {step}");
            }
        }
    }
}
