//! A producer's open channels by broker group: a small open-addressing table keyed by group.
//!
//! It does what a hash map does (look up, insert, remove by group), with one thing a map does
//! not offer: the address where a group's probe starts (`home`), so the world can prefetch it
//! several events before the producer looks (`World::prefetch_ahead`). In a large fleet that
//! lookup is a cache miss per send otherwise: between two sends of one producer the run
//! touches far more memory than the caches hold. Linear probing, deletion by backward shift (no
//! tombstones: a probe ends at the first empty slot), at most 5/8 full (a producer's ~30 channels fit 64 slots). Only looked up, never
//! iterated: its layout reaches no output.

/// Slots in a table's first allocation: a producer holds ~30 channels in bench-large.
const FIRST_CAPACITY: usize = 16;

#[derive(Debug)]
pub struct GroupTable<V> {
    /// Empty, or a power of two of slots: (group, value).
    slots: Box<[Option<(u16, V)>]>,
    len: usize,
}

impl<V> Default for GroupTable<V> {
    fn default() -> Self {
        GroupTable { slots: Box::default(), len: 0 }
    }
}

impl<V: Copy> GroupTable<V> {
    #[inline]
    pub fn get(&self, group: u16) -> Option<V> {
        let mut i = self.home_index(group)?;
        loop {
            match self.slots[i] {
                Some((g, value)) if g == group => return Some(value),
                Some(_) => i = (i + 1) & self.mask(),
                None => return None,
            }
        }
    }

    /// Sets `group`'s value (replacing the one it had).
    pub fn insert(&mut self, group: u16, value: V) {
        if (self.len + 1) * 8 > self.slots.len() * 5 {
            self.grow();
        }
        let mut i = self.home_index(group).expect("grown");
        while let Some((g, _)) = self.slots[i] {
            if g == group {
                break;
            }
            i = (i + 1) & self.mask();
        }
        if self.slots[i].is_none() {
            self.len += 1;
        }
        self.slots[i] = Some((group, value));
    }

    /// Forgets `group`'s value, if it has one.
    pub fn remove(&mut self, group: u16) {
        let Some(mut i) = self.home_index(group) else { return };
        loop {
            match self.slots[i] {
                Some((g, _)) if g == group => break,
                Some(_) => i = (i + 1) & self.mask(),
                None => return,
            }
        }
        self.len -= 1;
        // Backward shift: each later entry of the run moves into the hole unless its home lies
        // (cyclically) after the hole, so no probe meets an empty slot before its group.
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & self.mask();
            let Some((g, _)) = self.slots[j] else { break };
            let home = self.home_of(g);
            let stays = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
            if !stays {
                self.slots[hole] = self.slots[j];
                hole = j;
            }
        }
        self.slots[hole] = None;
    }

    /// The slot where `group`'s probe starts, as a prefetch hint (`None` while the table has
    /// never held anything).
    #[inline]
    pub fn home(&self, group: u16) -> Option<&impl Sized> {
        self.home_index(group).map(|i| &self.slots[i])
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    #[inline]
    fn home_index(&self, group: u16) -> Option<usize> {
        (!self.slots.is_empty()).then(|| self.home_of(group))
    }

    /// Fibonacci hashing: neighbouring groups (a producer walks them in order) spread out.
    #[inline]
    fn home_of(&self, group: u16) -> usize {
        let bits = self.slots.len().trailing_zeros();
        ((u32::from(group) + 1).wrapping_mul(0x9E37_79B9) >> (32 - bits)) as usize
    }

    fn grow(&mut self) {
        let capacity = (self.slots.len() * 2).max(FIRST_CAPACITY);
        let old = std::mem::replace(&mut self.slots, vec![None; capacity].into_boxed_slice());
        self.len = 0;
        for &(group, value) in old.iter().flatten() {
            self.insert(group, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::{Rng, SeedableRng};

    use super::*;

    #[test]
    fn agrees_with_a_map_under_random_inserts_and_removes() {
        for seed in 0..20 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let (mut table, mut reference) = (GroupTable::default(), BTreeMap::new());
            // Few groups in some seeds (long probe runs, many collisions), many in others.
            let groups = [8u16, 40, 1000, u16::MAX][seed as usize % 4];
            for i in 0..5_000u32 {
                let group = rng.gen_range(0..groups);
                if rng.gen_bool(0.55) {
                    table.insert(group, (i, seed));
                    reference.insert(group, (i, seed));
                } else {
                    table.remove(group);
                    reference.remove(&group);
                }
                assert_eq!(table.len, reference.len());
                assert!(table.len * 8 <= table.slots.len() * 5);
                for probe in 0..groups.min(64) {
                    assert_eq!(table.get(probe), reference.get(&probe).copied(), "seed {seed}, step {i}");
                }
                assert_eq!(table.get(group), reference.get(&group).copied());
            }
            for (&group, &entry) in &reference {
                assert_eq!(table.get(group), Some(entry));
            }
        }
    }

    #[test]
    fn an_empty_table_holds_nothing_and_has_no_home() {
        let mut table = GroupTable::default();
        assert_eq!(table.get(3), None);
        assert!(table.home(3).is_none());
        table.remove(3);
        table.insert(3, 7u32);
        assert_eq!(table.get(3), Some(7));
        assert!(table.home(3).is_some());
    }
}
