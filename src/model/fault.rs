//! Scheduled faults applied to the world (crash, shutdown, restart, pause, resume, partition,
//! heal, loss), and which brokers each takes out of service: the fault's *subjects*, whose
//! detection, route convergence and stale sends the metrics follow.

use crate::engine::SimTime;
use crate::net::LinkClass;

use super::config::{CrashMode, FaultAction, FaultSpec, Role};
use super::timing::Timing;
use super::trace::{TraceKind, TraceRecord};
use super::{Event, Life, Msg, World};

/// MODEL.md section 3's closed-form detection window for a fault, network delay excluded.
pub fn detection_window_us(spec: &FaultSpec, timing: &Timing) -> Option<(SimTime, SimTime)> {
    match spec.action {
        FaultAction::Crash { mode: CrashMode::PowerOff, .. }
        | FaultAction::Pause { .. }
        | FaultAction::Partition { .. } => Some(timing.silent_detection_window_us()),
        // The close (or the unregistration) reaches each NameServer one network delay later.
        FaultAction::Crash { mode: CrashMode::Kill, .. } | FaultAction::Shutdown { .. } => Some((0, 0)),
        _ => None,
    }
}

impl World {
    pub(super) fn apply_fault(&mut self, index: usize) {
        let action = self.config.faults[index].action.clone();
        let node = match action {
            FaultAction::Crash { node, .. }
            | FaultAction::Shutdown { node }
            | FaultAction::Restart { node }
            | FaultAction::Pause { node }
            | FaultAction::Resume { node } => Some(node),
            _ => None,
        };
        let record = TraceRecord {
            at_us: self.now(),
            kind: TraceKind::Fault,
            node,
            peer: None,
            detail: action.kind(),
            fault: Some(index as u32),
        };
        self.emit(record);
        let subjects = action.subjects(&self.config.layout);
        if !subjects.is_empty() {
            // Measure from the state at the instant the fault strikes.
            let now_us = self.now();
            let ns_running: Vec<bool> =
                self.nameservers.iter().map(|ns| self.procs[ns.node as usize].life == Life::Running).collect();
            let holders = self.producers_holding(&subjects);
            let nameservers = &self.nameservers;
            self.metrics.fault_struck(
                index as u16,
                now_us,
                &subjects,
                |ns, b| {
                    let entry = nameservers[ns as usize].table[b as usize];
                    entry.listed.then_some(entry.last_update_us)
                },
                &ns_running,
                &holders,
            );
        }
        match action {
            FaultAction::Crash { node, mode } => self.stop(node, mode == CrashMode::Kill),
            FaultAction::Shutdown { node } => match self.config.layout.role(node) {
                Role::Broker { index } => self.broker_shutdown(index),
                _ => self.stop(node, true),
            },
            FaultAction::Restart { node } => {
                self.stop(node, true);
                self.sim.schedule_in(0, Event::Start { node });
            }
            FaultAction::Pause { node } => self.pause(node),
            FaultAction::Resume { node } => self.resume(node),
            FaultAction::Partition { partition, side, one_way } => {
                self.net.partition(partition, side, one_way);
                self.refresh_all_node_states();
            }
            FaultAction::Heal { partition } => {
                let ids: Vec<u32> = match partition {
                    Some(id) => vec![id],
                    None => self.net.active_partitions().collect(),
                };
                for id in ids {
                    for (chan, to, at_us) in self.net.heal(self.now(), id) {
                        self.sim.schedule_at(at_us, Event::Deliver { chan, to, msg: Msg::Close { reset: false } });
                    }
                }
                self.refresh_all_node_states();
            }
            FaultAction::Loss { probabilities } => {
                for (class, probability) in LinkClass::ALL.into_iter().zip(probabilities) {
                    if let Some(p) = probability {
                        self.net.set_loss(Some(class), p);
                    }
                }
            }
        }
        self.refresh_broker_service();
    }

    fn refresh_all_node_states(&mut self) {
        for node in 0..self.procs.len() as u32 {
            self.refresh_node_state(node);
        }
    }

    /// A broker back in service (running, reachable, not shutting down) ends its fault.
    pub(super) fn refresh_broker_service(&mut self) {
        for b in 0..self.brokers.len() as u32 {
            let node = self.brokers[b as usize].node;
            if self.serving(node) && !self.net.partitioned(node) {
                self.metrics.broker_recovered(b);
            }
        }
    }
}
