//! Scheduled faults applied to the world (crash, shutdown, restart, pause, resume, partition,
//! heal, loss). What each fault takes out of service, its *subjects*, is defined in
//! `config.rs`; the metrics follow them from the observations.

use crate::engine::SimTime;

use super::config::{CrashMode, FaultAction, FaultSpec, Role};
use super::observe::Observation;
use super::timing::Timing;
use super::trace::{TraceKind, TraceRecord};
use super::{Event, Life, Msg, RoleMut, World};

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
                    for (chan, to, at_us) in self.net.heal(self.sim.now(), id) {
                        self.sim.schedule_at(at_us, Event::Deliver { chan, to, msg: Msg::Close { reset: false } });
                    }
                }
                self.refresh_all_node_states();
            }
            FaultAction::Loss { class, probability } => self.net.set_loss(class, probability),
        }
        self.observe(Observation::FaultApplied { fault: index as u32 });
    }
}
