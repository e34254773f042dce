//! Controller mode's controller (RIP-44, 5.3.3; docs/ROCKETMQ-NOTES.md 19), embedded in the
//! first NameServer's process as `enableControllerInNamesrv` deploys it: it keeps each broker's
//! heartbeat, expires a broker silent for `controllerHeartBeatTimeoutMills` on its 5 s scan (at
//! once when the broker's channel closes), and when a group's master is gone elects the live
//! replica with the highest (epoch, log end), bumps the epoch and tells the group's brokers.
//!
//! Simplified: the controllers' own DLedger group is this one process (its election record
//! survives its restarts, as the real one survives on disk; its commit takes no time); every
//! live replica counts as in the sync-state set (with the 100 ms HA push a slave is never 15 s
//! behind, `haMaxTimeSlaveNotCatchup`). Source: controller/.../DefaultBrokerHeartbeatManager.java,
//! ReplicasInfoManager.java, elect/impl/DefaultElectPolicy.java.

use std::collections::BTreeMap;

use crate::engine::SimTime;
use crate::net::{ChanId, End};

use super::context::Ctx;
use super::message::{Msg, NameServerTimer, Timer};
use super::nameserver::next_on_grid;
use super::route::BrokerAddr;
use super::timing::CONTROLLER_SCAN_INITIAL_DELAY_US;

#[derive(Clone, Copy, Debug)]
struct Live {
    chan: ChanId,
    last_heartbeat_us: SimTime,
    epoch: u16,
    max_offset: u32,
}

#[derive(Clone, Debug, Default)]
struct GroupState {
    master: Option<BrokerAddr>,
    epoch: u16,
    live: BTreeMap<BrokerAddr, Live>,
}

pub struct Controller {
    /// Per broker group: its elected master and epoch (kept across restarts) and live brokers.
    groups: Vec<GroupState>,
    next_scan_us: SimTime,
}

/// The epoch a run starts in: the layout's masters were elected in it.
pub const FIRST_EPOCH: u16 = 1;

impl Controller {
    pub fn new(groups: usize, per_group: u32) -> Controller {
        let groups = (0..groups)
            .map(|g| GroupState { master: Some(g as u32 * per_group), epoch: FIRST_EPOCH, live: BTreeMap::new() })
            .collect();
        Controller { groups, next_scan_us: 0 }
    }

    /// The hosting process (re)started: the election record stays, live channels are gone.
    pub fn on_start(&mut self, ctx: &mut Ctx) {
        for g in &mut self.groups {
            g.live.clear();
        }
        self.next_scan_us = ctx.now() + CONTROLLER_SCAN_INITIAL_DELAY_US;
        ctx.set_timer_at(self.next_scan_us, Timer::NameServer(NameServerTimer::ControllerScan));
    }

    /// `scanNotActiveBroker`: brokers silent longer than the timeout are inactive.
    pub fn scan(&mut self, ctx: &mut Ctx) {
        let now_us = ctx.now();
        let timing = &ctx.config().timing;
        let timeout_us = timing.controller_heartbeat_timeout_us;
        self.next_scan_us = next_on_grid(self.next_scan_us, timing.controller_scan_us, now_us);
        ctx.set_timer_at(self.next_scan_us, Timer::NameServer(NameServerTimer::ControllerScan));
        for g in 0..self.groups.len() {
            let silent: Vec<(BrokerAddr, ChanId)> = self.groups[g]
                .live
                .iter()
                .filter(|(_, l)| now_us - l.last_heartbeat_us > timeout_us)
                .map(|(&addr, l)| (addr, l.chan))
                .collect();
            for (addr, chan) in silent {
                self.groups[g].live.remove(&addr);
                ctx.close(chan, End::Server);
                self.inactive(ctx, g, addr);
            }
        }
    }

    /// A broker's heartbeat on the server end of `chan`.
    pub fn heartbeat(&mut self, ctx: &mut Ctx, chan: ChanId, epoch: u16, max_offset: u32) {
        let addr = ctx.config().layout.broker_addr(ctx.peer(chan)).expect("brokers heartbeat the controller");
        let g = usize::from(ctx.config().layout.broker_position(addr).0);
        let now_us = ctx.now();
        let group = &mut self.groups[g];
        group.live.insert(addr, Live { chan, last_heartbeat_us: now_us, epoch, max_offset });
        match group.master {
            // A group without a master elects as soon as a replica is back.
            None => self.elect(ctx, g),
            // A broker of an older epoch learns the current master (and is fenced off).
            Some(master) if epoch < group.epoch => {
                let msg = Msg::RoleChange { master, epoch: group.epoch };
                ctx.transmit(chan, End::Client, msg, 0);
            }
            Some(_) => {}
        }
    }

    /// `onBrokerChannelClose`: the broker at the other end is inactive at once.
    pub fn channel_closed(&mut self, ctx: &mut Ctx, chan: ChanId) {
        for g in 0..self.groups.len() {
            let gone: Option<BrokerAddr> =
                self.groups[g].live.iter().find(|(_, l)| l.chan == chan).map(|(&addr, _)| addr);
            if let Some(addr) = gone {
                self.groups[g].live.remove(&addr);
                self.inactive(ctx, g, addr);
            }
        }
    }

    /// `onBrokerInactive`: only the loss of the current master triggers an election.
    fn inactive(&mut self, ctx: &mut Ctx, g: usize, addr: BrokerAddr) {
        if self.groups[g].master == Some(addr) {
            self.groups[g].master = None;
            self.elect(ctx, g);
        }
    }

    /// `electMaster` with the default policy: the live replica with the highest (epoch, log
    /// end), the lowest address on a tie; none leaves the group masterless.
    fn elect(&mut self, ctx: &mut Ctx, g: usize) {
        let group = &mut self.groups[g];
        let Some((&addr, _)) = group.live.iter().max_by_key(|&(&a, l)| (l.epoch, l.max_offset, std::cmp::Reverse(a)))
        else {
            return;
        };
        group.master = Some(addr);
        group.epoch += 1;
        let msg = Msg::RoleChange { master: addr, epoch: group.epoch };
        for live in group.live.values() {
            ctx.transmit(live.chan, End::Client, msg, 0);
        }
    }
}
