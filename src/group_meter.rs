//! What a fault does to the broker groups whose master it strikes, folded from observations:
//! how long until each NameServer lists a new master (`failover_s`), how long the group took
//! no write (`write_unavailable_s`), and the acknowledged messages a promoted master did not
//! hold (`messages_lost`). Empty (and free) in runs without consumers or failover.

use std::collections::BTreeMap;

use crate::engine::SimTime;
use crate::model::config::{Failover, WorldConfig};

/// (topic, broker group, queue id).
type QueueKey = (u16, u16, u16);

struct Window {
    at_us: SimTime,
    /// The struck groups and their master at the time (the failed master).
    groups: Vec<(u16, u32)>,
    /// Per struck group, per NameServer: when it first listed another master.
    failover_us: Vec<Vec<Option<SimTime>>>,
    /// Per struck group: when the first send that left after the fault succeeded.
    write_us: Vec<Option<SimTime>>,
    messages_lost: u64,
}

/// Per fault, what the report prints.
pub struct GroupFigures {
    /// Per NameServer: seconds to a new master for every struck group (`None`: never).
    pub failover_s: Option<Vec<Option<SimTime>>>,
    /// (group, µs until a write succeeded).
    pub write_unavailable_us: Vec<(u16, Option<SimTime>)>,
    pub messages_lost: u64,
}

pub struct GroupMeter {
    active: bool,
    /// Per broker group: it fails over (not classic).
    failover: Vec<bool>,
    nameservers: usize,
    per_group: u32,
    /// Per broker group: its master now (the layout's, then each promotion's).
    master: Vec<u32>,
    /// Per queue: the end acknowledged to producers.
    acked_end: BTreeMap<QueueKey, u32>,
    windows: Vec<Option<Window>>,
    /// Struck groups still waiting for a successful write (the hot path skips when 0).
    writes_pending: usize,
    /// Every promotion: (when, group, the new master), in time order (the timeline's roles).
    promotions: Vec<(SimTime, u16, u32)>,
}

impl GroupMeter {
    pub fn new(config: &WorldConfig) -> GroupMeter {
        let layout = &config.layout;
        let per_group = layout.brokers_per_group();
        GroupMeter {
            active: config.replication_active(),
            failover: config.failover.iter().map(|&f| f != Failover::Classic).collect(),
            nameservers: layout.nameservers as usize,
            per_group,
            master: (0..layout.broker_groups.len() as u32).map(|g| g * per_group).collect(),
            acked_end: BTreeMap::new(),
            windows: (0..config.faults.len()).map(|_| None).collect(),
            writes_pending: 0,
            promotions: Vec::new(),
        }
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    fn group_of(&self, broker: u32) -> u16 {
        (broker / self.per_group) as u16
    }

    /// Fault `fault` struck `subjects`: the groups whose master is among them are watched.
    pub fn fault_struck(&mut self, fault: usize, now_us: SimTime, subjects: &[u32]) {
        let groups: Vec<(u16, u32)> = subjects
            .iter()
            .map(|&b| (self.group_of(b), b))
            .filter(|&(g, b)| self.master[usize::from(g)] == b)
            .collect();
        self.writes_pending += groups.len();
        self.windows[fault] = Some(Window {
            at_us: now_us,
            failover_us: vec![vec![None; self.nameservers]; groups.len()],
            write_us: vec![None; groups.len()],
            groups,
            messages_lost: 0,
        });
    }

    /// NameServer `ns` lists `broker` as `group`'s master.
    pub fn master_listed(&mut self, now_us: SimTime, ns: u32, group: u16, broker: Option<u32>) {
        let Some(broker) = broker else { return };
        for w in self.windows.iter_mut().flatten() {
            for (i, &(g, failed)) in w.groups.iter().enumerate() {
                let slot = &mut w.failover_us[i][ns as usize];
                if g == group && broker != failed && slot.is_none() {
                    *slot = Some(now_us);
                }
            }
        }
    }

    /// A send attempt that left for `broker` at `started_us` succeeded now.
    #[inline]
    pub fn write_succeeded(&mut self, now_us: SimTime, broker: u32, started_us: SimTime) {
        if self.writes_pending == 0 {
            return;
        }
        let group = self.group_of(broker);
        for w in self.windows.iter_mut().flatten() {
            for (i, &(g, _)) in w.groups.iter().enumerate() {
                if g == group && started_us >= w.at_us && w.write_us[i].is_none() {
                    w.write_us[i] = Some(now_us);
                    self.writes_pending -= 1;
                }
            }
        }
    }

    /// A master acknowledged queue `queue` up to `end`.
    pub fn acknowledged(&mut self, queue: QueueKey, end: u32) {
        let slot = self.acked_end.entry(queue).or_default();
        *slot = (*slot).max(end);
    }

    /// `broker` became its group's master holding `held` of `queue` (`None`: the promotion
    /// itself, after its queues). Returns how many acknowledged messages of the queue it lacks.
    pub fn promoted(&mut self, now_us: SimTime, broker: u32, group: u16, queue: Option<(u16, u16)>, held: u32) -> u64 {
        let Some((topic, q)) = queue else {
            self.master[usize::from(group)] = broker;
            self.promotions.push((now_us, group, broker));
            return 0;
        };
        let acked = self.acked_end.entry((topic, group, q)).or_default();
        let lost = u64::from(acked.saturating_sub(held));
        // What it lacks is gone: the queue continues from what it holds.
        *acked = held;
        for w in self.windows.iter_mut().flatten() {
            if w.groups.iter().any(|&(g, _)| g == group) {
                w.messages_lost += lost;
            }
        }
        lost
    }

    /// When `broker` was its group's master, as [start, end) spans up to `end_us` (the layout's
    /// masters from the start); empty in classic mode, where the layout never changes.
    pub fn master_spans(&self, broker: u32, end_us: SimTime) -> Vec<(SimTime, SimTime)> {
        let group = self.group_of(broker);
        if !self.failover[usize::from(group)] {
            return Vec::new();
        }
        let mut holder = (0, group as u32 * self.per_group);
        let mut spans = Vec::new();
        for &(at_us, g, master) in self.promotions.iter().filter(|p| p.1 == group) {
            debug_assert_eq!(g, group);
            if holder.1 == broker && at_us > holder.0 {
                spans.push((holder.0, at_us));
            }
            holder = (at_us, master);
        }
        if holder.1 == broker && end_us > holder.0 {
            spans.push((holder.0, end_us));
        }
        spans
    }

    /// The figures of fault `fault` (`None`: it struck no master, or nothing is measured).
    pub fn figures(&self, fault: usize) -> Option<GroupFigures> {
        let w = self.windows[fault].as_ref().filter(|w| self.active && !w.groups.is_empty())?;
        let fails_over = w.groups.iter().any(|&(g, _)| self.failover[usize::from(g)]);
        let failover_s = fails_over.then(|| {
            (0..self.nameservers)
                .map(|ns| {
                    // Every struck group must have a new master there.
                    w.failover_us.iter().map(|per_ns| per_ns[ns]).try_fold(0, |latest, at| Some(at?.max(latest)))
                })
                .map(|at| at.map(|at_us| at_us - w.at_us))
                .collect()
        });
        let write_unavailable_us =
            w.groups.iter().zip(&w.write_us).map(|(&(g, _), at)| (g, at.map(|at_us| at_us - w.at_us))).collect();
        Some(GroupFigures { failover_s, write_unavailable_us, messages_lost: w.messages_lost })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter(failover: bool) -> GroupMeter {
        GroupMeter {
            active: true,
            failover: vec![failover; 2],
            nameservers: 2,
            per_group: 3,
            master: vec![0, 3],
            acked_end: BTreeMap::new(),
            windows: Vec::new(),
            writes_pending: 0,
            promotions: Vec::new(),
        }
    }

    #[test]
    fn master_spans_follow_the_promotions_of_each_group() {
        let mut m = meter(true);
        // Group 0: member 2 (broker 2) takes over at 100, the layout's master again at 300.
        m.promoted(100, 2, 0, None, 0);
        m.promoted(300, 0, 0, None, 0);
        assert_eq!(m.master_spans(0, 500), vec![(0, 100), (300, 500)]);
        assert_eq!(m.master_spans(2, 500), vec![(100, 300)]);
        assert_eq!(m.master_spans(1, 500), vec![]);
        // Group 1 never failed over.
        assert_eq!(m.master_spans(3, 500), vec![(0, 500)]);
        // Classic mode draws no role layer.
        assert_eq!(meter(false).master_spans(0, 500), vec![]);
    }

    #[test]
    fn a_promoted_master_lacking_acknowledged_messages_counts_them_lost() {
        let mut m = meter(true);
        m.windows = vec![None];
        m.fault_struck(0, 50, &[0]);
        m.acknowledged((0, 0, 1), 40);
        assert_eq!(m.promoted(60, 2, 0, Some((0, 1)), 35), 5);
        // The queue continues from what the new master holds: nothing more is lost.
        assert_eq!(m.promoted(70, 1, 0, Some((0, 1)), 35), 0);
        assert_eq!(m.figures(0).unwrap().messages_lost, 5);
    }
}
