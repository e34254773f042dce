//! Scheduled faults applied to the world (crash, shutdown, restart, pause, resume, partition,
//! heal, loss). What each fault takes out of service, its *subjects*, is defined in
//! `config.rs`; the metrics follow them from the observations.

use crate::engine::SimTime;
use crate::net::LinkClass;

use super::config::{CrashMode, Failover, FaultAction, FaultSpec, Role, WorldConfig};
use super::observe::Observation;
use super::trace::{TraceKind, TraceRecord};
use super::{Event, Life, Msg, RoleMut, World};

/// MODEL.md section 3's closed-form detection window for a fault, network delay excluded.
/// A master that falls silent in a failover mode leaves the routes when its replacement
/// registers (DLedger, controller) or when its light heartbeat expires (acting master):
/// MODEL.md 7a's windows.
pub fn detection_window_us(spec: &FaultSpec, config: &WorldConfig) -> Option<(SimTime, SimTime)> {
    let timing = &config.timing;
    // The group of a layout master the fault silences, if it does.
    let silenced_group = match spec.action {
        FaultAction::Crash { node, mode: CrashMode::PowerOff } | FaultAction::Pause { node } => {
            config.layout.broker_addr(node).map(|addr| config.layout.broker_position(addr)).filter(|&(_, m)| m == 0)
        }
        _ => None,
    };
    if let Some((group, _)) = silenced_group {
        let leak_us = SimTime::from(timing.dledger_heartbeat_leak) * timing.dledger_heartbeat_us;
        // The last heartbeat came up to one interval before the fault; then the expiry on the
        // scan's grid, or DLedger's lost first round (up to its 3 s latch) and a vote interval.
        let window = match config.failover_of(group) {
            Failover::Classic => None,
            Failover::Dledger => Some((
                leak_us.saturating_sub(timing.dledger_heartbeat_us),
                leak_us + 3 * timing.dledger_vote_interval_max_us + 2 * 1_000_000,
            )),
            Failover::Controller => Some((
                timing.controller_heartbeat_timeout_us.saturating_sub(timing.broker_heartbeat_interval_us),
                timing.controller_heartbeat_timeout_us + timing.controller_scan_us,
            )),
            Failover::SlaveActingMaster => Some((
                timing.broker_not_active_timeout_us.saturating_sub(timing.broker_heartbeat_interval_us),
                timing.broker_not_active_timeout_us + timing.nameserver_scan_us,
            )),
        };
        if window.is_some() {
            return window;
        }
    }
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
        // Faults strike in time order: from now on the next one bounds the decided sends.
        self.faults_applied += 1;
        let action = self.config.faults[index].action.clone();
        let record = TraceRecord {
            at_us: self.sim.now(),
            kind: TraceKind::Fault,
            node: action.node(),
            peer: None,
            detail: action.kind(),
            fault: Some(index as u32),
        };
        self.emit(record);
        // The observer measures from the state at the instant the fault strikes.
        self.observe(Observation::FaultStrikes { fault: index as u32 });
        match action {
            FaultAction::Crash { node, mode } => self.stop(node, mode),
            FaultAction::Shutdown { node } => match self.config.layout.role(node) {
                // A paused or stopped broker cannot shut down gracefully.
                Role::Broker { .. } if self.procs[node as usize].life == Life::Running => {
                    self.dispatch(node, |role, ctx| {
                        if let RoleMut::Broker(b) = role {
                            b.shutdown(ctx);
                        }
                    });
                }
                Role::Broker { .. } => {}
                // Other processes have nothing to say on the way out: as a kill.
                Role::NameServer { .. } | Role::Client { .. } => self.stop(node, CrashMode::Kill),
            },
            FaultAction::Restart { node } => {
                self.stop(node, CrashMode::Kill);
                // A client of another part of a split run stays unstarted here.
                if self.runs(node) {
                    self.sim.schedule_in(0, Event::Start { node });
                }
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
                    for (chan, to, at_us) in self.net.heal(self.sim.now(), id) {
                        let close = Event::Deliver { slot: chan.slot(), to, msg: Msg::Close { reset: false } };
                        self.sim.schedule_at(at_us, close);
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
        self.observe(Observation::FaultApplied { fault: index as u32 });
    }
}
