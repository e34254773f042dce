//! The NameServer (MODEL.md sections 1 and 3): a route table kept alive by broker
//! registrations, emptied by three things only: an UNREGISTER_BROKER, the close of the
//! channel a broker last registered over (its own idle close included), and the scan of
//! brokers silent longer than the expiry. It knows a broker by its address (the channel's
//! peer) and by what the registration says: its group, broker id and epoch.
//! Source: namesrv/.../RouteInfoManager.java, BrokerHousekeepingService.java,
//! NamesrvController.java.

use std::collections::BTreeSet;

use crate::engine::SimTime;
use crate::net::{ChanId, End};

use super::config::Failover;
use super::context::Ctx;
use super::controller::Controller;
use super::message::{MASTER_ID, Msg, NameServerTimer, Timer};
use super::observe::{Observation, Removal};
use super::route::{BrokerAddr, NO_ROUTE, RouteBroker, RouteId};
use super::trace::TraceKind;

/// `brokerLiveTable`'s entry for one broker address, with what `brokerAddrTable` holds of it.
#[derive(Clone, Copy, Debug)]
pub struct BrokerLive {
    pub listed: bool,
    pub last_update_us: SimTime,
    /// The channel of the registration processed last: only its close removes the broker.
    pub chan: ChanId,
    pub group: u16,
    pub broker_id: u8,
    pub epoch: u16,
}

pub struct NameServer {
    index: u32,
    /// Per broker address: what this NameServer knows of it (`None`: never registered).
    table: Vec<Option<BrokerLive>>,
    /// Per broker group: the addresses that registered as its members, in first-seen order.
    group_members: Vec<Vec<BrokerAddr>>,
    /// Per topic: the route this NameServer answers with now.
    topic_routes: Vec<RouteId>,
    /// What-if `nameserver_push`, per topic: the channels clients queried it over.
    subscribers: Vec<BTreeSet<ChanId>>,
    /// Per broker group: the address this NameServer lists under id 0 (observed on change).
    group_master: Vec<Option<RouteBroker>>,
    next_scan_us: SimTime,
    /// Controller mode: the controller this process hosts (the first NameServer's).
    controller: Option<Controller>,
}

impl NameServer {
    pub fn new(index: u32, brokers: u32, groups: usize, topics: usize) -> NameServer {
        NameServer {
            index,
            table: vec![None; brokers as usize],
            group_members: vec![Vec::new(); groups],
            topic_routes: vec![NO_ROUTE; topics],
            subscribers: vec![BTreeSet::new(); topics],
            group_master: vec![None; groups],
            next_scan_us: 0,
            controller: None,
        }
    }

    /// Hosts the controller (controller mode, the first NameServer).
    pub fn with_controller(mut self, controller: Controller) -> NameServer {
        self.controller = Some(controller);
        self
    }

    /// A NameServer with an empty table; a hosted controller keeps its election record.
    fn fresh(&mut self) -> NameServer {
        let blank =
            NameServer::new(self.index, self.table.len() as u32, self.group_members.len(), self.topic_routes.len());
        match self.controller.take() {
            Some(controller) => blank.with_controller(controller),
            None => blank,
        }
    }

    /// The routes this NameServer answers with now, one per topic.
    pub fn answers(&self) -> &[RouteId] {
        &self.topic_routes
    }

    /// Whether this NameServer lists the broker at `addr`.
    pub fn lists(&self, addr: BrokerAddr) -> bool {
        self.table[addr as usize].is_some_and(|e| e.listed)
    }

    /// A (re)start: in memory only, so a restarted NameServer starts empty (MODEL.md 1).
    pub fn on_start(&mut self, ctx: &mut Ctx) {
        *self = self.fresh();
        self.next_scan_us = ctx.now() + ctx.config().timing.nameserver_scan_initial_delay_us;
        let first_scan_us = self.next_scan_us;
        ctx.set_timer_at(first_scan_us, Timer::NameServer(NameServerTimer::Scan));
        ctx.observe(Observation::TableCleared { ns: self.index });
        if let Some(controller) = &mut self.controller {
            controller.on_start(ctx);
        }
    }

    /// The process died: its table dies with it.
    pub fn on_stop(&mut self, ctx: &mut Ctx) {
        *self = self.fresh();
        ctx.observe(Observation::TableCleared { ns: self.index });
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: NameServerTimer) {
        match timer {
            NameServerTimer::Scan => self.scan(ctx),
            NameServerTimer::ControllerScan => self.controller.as_mut().expect("hosts the controller").scan(ctx),
            NameServerTimer::IdleCheck { slot } => {
                let idle_us = ctx.config().timing.nameserver_channel_idle_us;
                if let Some(chan) = ctx.idle_check(slot, idle_us, Timer::NameServer(timer)) {
                    self.channel_destroyed(ctx, chan, Removal::IdleClose);
                }
            }
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx, chan: ChanId, msg: Msg) {
        if matches!(msg, Msg::Close { .. }) {
            self.channel_destroyed(ctx, chan, Removal::ChannelClosed);
            if let Some(controller) = &mut self.controller {
                controller.channel_closed(ctx, chan);
            }
            return;
        }
        if let Msg::ControllerHeartbeat { epoch, max_offset } = msg {
            // The controller listens on its own port: not NameServer load, no idle close.
            self.controller
                .as_mut()
                .expect("brokers heartbeat the controller's host")
                .heartbeat(ctx, chan, epoch, max_offset);
            return;
        }
        ctx.observe(Observation::NameServerRequest { ns: self.index });
        ctx.touch_server(chan);
        let idle_us = ctx.config().timing.nameserver_channel_idle_us;
        ctx.arm_idle_check(chan, idle_us, Timer::NameServer(NameServerTimer::IdleCheck { slot: chan.slot() }));
        let peer = ctx.peer(chan);
        let reply = match msg {
            Msg::LightHeartbeat => {
                // `updateBrokerInfoUpdateTimestamp`: oneway, refreshes a listed broker only.
                let addr = ctx.config().layout.broker_addr(peer).expect("only brokers heartbeat");
                if let Some(entry) = self.table[addr as usize].as_mut().filter(|e| e.listed) {
                    entry.last_update_us = ctx.now();
                }
                return;
            }
            Msg::Register { req, group, broker_id, epoch } => {
                let addr = ctx.config().layout.broker_addr(peer).expect("only brokers register");
                self.register(
                    ctx,
                    addr,
                    BrokerLive { listed: true, last_update_us: ctx.now(), chan, group, broker_id, epoch },
                );
                ctx.trace(TraceKind::Registered, Some(peer), "ok");
                Msg::RegisterAck { req }
            }
            Msg::Unregister { req } => {
                let addr = ctx.config().layout.broker_addr(peer).expect("only brokers unregister");
                ctx.trace(TraceKind::Unregistered, Some(peer), "ok");
                self.remove(ctx, addr, Removal::Unregistered);
                Msg::UnregisterAck { req }
            }
            Msg::RouteQuery { req, topic } => {
                if ctx.config().timing.route_poll_queries_default_topic {
                    // 4.x also asks for TBW102 each round: load only, its answer changes nothing.
                    ctx.observe(Observation::NameServerRequest { ns: self.index });
                }
                if ctx.config().timing.nameserver_push {
                    self.subscribers[usize::from(topic)].insert(chan);
                }
                Msg::RouteReply { req, route: self.topic_routes[usize::from(topic)] }
            }
            other => unreachable!("NameServer got {other:?}"),
        };
        ctx.transmit(chan, End::Client, reply, 0);
    }

    fn register(&mut self, ctx: &mut Ctx, addr: BrokerAddr, live: BrokerLive) {
        if live.broker_id == MASTER_ID && !self.take_master_id(ctx, addr, live) {
            return;
        }
        let slot = &mut self.table[addr as usize];
        let newly_listed = !slot.is_some_and(|e| e.listed);
        let moved = slot.is_some_and(|e| e.listed && e.broker_id != live.broker_id);
        if slot.is_none_or(|e| e.group != live.group) {
            self.group_members[usize::from(live.group)].push(addr);
        }
        *slot = Some(live);
        ctx.observe(Observation::Registered { ns: self.index, broker: addr });
        if newly_listed {
            ctx.observe(Observation::Listed { ns: self.index, broker: addr });
        }
        if newly_listed || moved {
            self.recompute_routes(ctx, live.group);
        }
    }

    /// A registration under id 0 takes the group's id 0 from any other address ("switch slave
    /// to master"), which leaves the route at once; 5.x refuses it when the holder's epoch
    /// (`stateVersion`) is higher, and forgets the refused broker. False when refused.
    fn take_master_id(&mut self, ctx: &mut Ctx, addr: BrokerAddr, live: BrokerLive) -> bool {
        let holder = self.group_members[usize::from(live.group)].iter().copied().find(|&other| {
            other != addr
                && self.table[other as usize]
                    .is_some_and(|e| e.listed && e.group == live.group && e.broker_id == MASTER_ID)
        });
        let Some(holder) = holder else { return true };
        let holder_epoch = self.table[holder as usize].expect("listed").epoch;
        if holder_epoch > live.epoch {
            self.remove(ctx, addr, Removal::Fenced);
            return false;
        }
        self.remove(ctx, holder, Removal::Replaced);
        true
    }

    /// `onChannelDestroy`: a close removes the broker only if it is the channel of the
    /// registration processed last (MODEL.md 2a); closes of older channels are ignored.
    fn channel_destroyed(&mut self, ctx: &mut Ctx, chan: ChanId, cause: Removal) {
        let Some(addr) = ctx.config().layout.broker_addr(ctx.peer(chan)) else { return };
        if self.table[addr as usize].is_some_and(|e| e.listed && e.chan == chan) {
            self.remove(ctx, addr, cause);
        }
    }

    /// `scanNotActiveBroker`: fixed-rate; after a pause the overdue run happens at once and
    /// the schedule returns to its grid.
    fn scan(&mut self, ctx: &mut Ctx) {
        let now_us = ctx.now();
        let timing = &ctx.config().timing;
        // Acting-master brokers register with `heartbeatTimeoutMillis` = their
        // `brokerNotActiveTimeoutMillis`, kept fresh by the light heartbeat.
        let (expiry_us, acting_expiry_us) = (timing.broker_expiry_us, timing.broker_not_active_timeout_us);
        let scan_us = timing.nameserver_scan_us;
        self.next_scan_us = next_on_grid(self.next_scan_us, scan_us, now_us);
        ctx.set_timer_at(self.next_scan_us, Timer::NameServer(NameServerTimer::Scan));
        ctx.trace(TraceKind::Scan, None, "ok");
        for addr in 0..self.table.len() as BrokerAddr {
            let Some(entry) = self.table[addr as usize] else { continue };
            let expiry_us = match ctx.config().failover_of(entry.group) {
                Failover::SlaveActingMaster => acting_expiry_us,
                _ => expiry_us,
            };
            if entry.listed && entry.last_update_us + expiry_us < now_us {
                self.remove(ctx, addr, Removal::Expired);
                // RocketMQ closes the expired broker's channel too.
                ctx.close(entry.chan, End::Server);
            }
        }
    }

    fn remove(&mut self, ctx: &mut Ctx, addr: BrokerAddr, cause: Removal) {
        let Some(entry) = self.table[addr as usize].as_mut().filter(|e| e.listed) else { return };
        assert!(cause != Removal::Expired || entry.last_update_us < ctx.now(), "expired before its expiry");
        entry.listed = false;
        let group = entry.group;
        self.recompute_routes(ctx, group);
        let broker_node = ctx.config().layout.broker_node(addr);
        ctx.trace(TraceKind::Removed, Some(broker_node), cause.name());
        ctx.observe(Observation::Removed { ns: self.index, broker: addr, cause });
    }

    /// Rebuilds the routes of the topics hosted by `group` after a listing in it changed.
    fn recompute_routes(&mut self, ctx: &mut Ctx, group: u16) {
        let config = ctx.config();
        let master = self.listed_master(group, config.failover_of(group));
        if master != self.group_master[usize::from(group)] {
            self.group_master[usize::from(group)] = master;
            ctx.observe(Observation::MasterListed { ns: self.index, group, broker: master.map(|b| b.addr) });
        }
        for (t, topic) in config.topics.iter().enumerate() {
            if !topic.groups.contains(&group) {
                continue;
            }
            let mut brokers = Vec::new();
            for &g in &topic.groups {
                let first = brokers.len();
                for &addr in &self.group_members[usize::from(g)] {
                    if let Some(e) = self.table[addr as usize].filter(|e| e.listed && e.group == g) {
                        brokers.push(RouteBroker { group: g, broker_id: e.broker_id, addr, read_only: false });
                    }
                }
                brokers[first..].sort_unstable();
                if config.failover_of(g) == Failover::SlaveActingMaster
                    && let Some(acting) = self.listed_master(g, Failover::SlaveActingMaster).filter(|m| m.read_only)
                {
                    // `pickupTopicRouteData`: the lowest slave answers as a read-only id 0.
                    brokers[first] = acting;
                }
            }
            let route = ctx.routes_mut().intern(t as u16, brokers, topic.queues_per_broker);
            let changed = route != self.topic_routes[t];
            self.topic_routes[t] = route;
            if changed && config.timing.nameserver_push {
                self.push(ctx, t, route);
            }
        }
    }
}

impl NameServer {
    /// The broker this NameServer answers as `group`'s master: its id-0 registrant, or with
    /// `supportActingMaster` the lowest-id slave of a group that has none, read-only.
    fn listed_master(&self, group: u16, failover: Failover) -> Option<RouteBroker> {
        let listed = self.group_members[usize::from(group)].iter().filter_map(|&addr| {
            self.table[addr as usize].filter(|e| e.listed && e.group == group).map(|e| RouteBroker {
                group,
                broker_id: e.broker_id,
                addr,
                read_only: false,
            })
        });
        let lowest = listed.min_by_key(|b| b.broker_id)?;
        match lowest.broker_id {
            MASTER_ID => Some(lowest),
            _ if failover == Failover::SlaveActingMaster => {
                Some(RouteBroker { broker_id: MASTER_ID, read_only: true, ..lowest })
            }
            _ => None,
        }
    }

    /// What-if `nameserver_push`: sends topic `t`'s new route down every channel a client
    /// queried it over that is still open here, forgetting the closed ones.
    fn push(&mut self, ctx: &mut Ctx, t: usize, route: RouteId) {
        self.subscribers[t].retain(|&chan| ctx.is_open(chan));
        for &chan in &self.subscribers[t] {
            ctx.transmit(chan, End::Client, Msg::RoutePush { topic: t as u16, route }, 0);
        }
    }
}

/// The next run of a fixed-rate task planned at `planned_us`: one period later, or at once
/// if the process was held past that (Java's scheduleAtFixedRate runs overdue work at once;
/// routesim collapses a burst of missed runs into that one).
pub fn next_on_grid(planned_us: SimTime, period_us: SimTime, now_us: SimTime) -> SimTime {
    assert!(period_us > 0);
    let next_us = planned_us.saturating_add(period_us);
    if next_us > now_us { next_us } else { now_us.saturating_add(period_us - (now_us - planned_us) % period_us) }
}

#[cfg(test)]
mod tests {
    use super::next_on_grid;

    #[test]
    fn fixed_rate_grid_survives_a_pause() {
        assert_eq!(next_on_grid(10, 30, 10), 40);
        assert_eq!(next_on_grid(10, 30, 15), 40);
        // Held until 75: the overdue run happened at 75; the grid continues at 100.
        assert_eq!(next_on_grid(10, 30, 75), 100);
    }
}
