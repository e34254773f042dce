//! The NameServer (MODEL.md sections 1 and 3): a route table kept alive by broker
//! registrations, emptied by three things only: an UNREGISTER_BROKER, the close of the
//! channel a broker last registered over (its own idle close included), and the scan of
//! brokers silent longer than the expiry. Source: namesrv/.../RouteInfoManager.java,
//! BrokerHousekeepingService.java, NamesrvController.java.

use crate::engine::SimTime;
use crate::net::{ChanId, End, NodeIdx};

use super::config::{Role, WorldConfig};
use super::route::{NO_ROUTE, RouteId};
use super::trace::TraceKind;
use super::{Msg, Timer, World};

/// `brokerLiveTable`'s entry for one broker address, plus whether `brokerAddrTable` has it.
#[derive(Clone, Copy, Debug)]
pub struct BrokerLive {
    pub listed: bool,
    pub last_update_us: SimTime,
    /// The channel of the registration processed last: only its close removes the broker.
    pub chan: ChanId,
}

pub struct NameServer {
    pub node: NodeIdx,
    pub table: Vec<BrokerLive>,
    /// Per topic: the route this NameServer answers with now.
    pub topic_routes: Vec<RouteId>,
    next_scan_us: SimTime,
}

impl NameServer {
    pub fn new(index: u32, config: &WorldConfig) -> NameServer {
        NameServer {
            node: index,
            table: vec![
                BrokerLive { listed: false, last_update_us: 0, chan: ChanId::MAX };
                config.layout.brokers() as usize
            ],
            topic_routes: vec![NO_ROUTE; config.topics.len()],
            next_scan_us: 0,
        }
    }

    pub fn lists(&self, broker: u32) -> bool {
        self.table[broker as usize].listed
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    Unregistered,
    /// The broker's side closed the channel (a kill, a timed-out request) or it broke.
    ChannelClosed,
    /// The NameServer's own idle close (`serverChannelMaxIdleTimeSeconds`).
    IdleClose,
    /// `scanNotActiveBroker` found it silent longer than the expiry.
    Expired,
}

impl Removal {
    pub fn name(self) -> &'static str {
        match self {
            Removal::Unregistered => "unregistered",
            Removal::ChannelClosed => "channel-closed",
            Removal::IdleClose => "idle-close",
            Removal::Expired => "expired",
        }
    }
}

impl World {
    pub(super) fn ns_start(&mut self, ns: u32) {
        // In memory only: a restarted NameServer starts empty (MODEL.md section 1).
        let fresh = NameServer::new(ns, &self.config);
        self.nameservers[ns as usize] = fresh;
        let first_scan_us = self.now() + self.config.timing.nameserver_scan_initial_delay_us;
        self.nameservers[ns as usize].next_scan_us = first_scan_us;
        self.schedule_timer_at(ns, first_scan_us, Timer::Scan);
        self.refresh_all_listings();
    }

    pub(super) fn ns_stopped(&mut self, ns: u32) {
        for b in 0..self.brokers.len() as u32 {
            self.nameservers[ns as usize].table[b as usize].listed = false;
        }
        self.refresh_all_listings();
    }

    pub(super) fn ns_timer(&mut self, ns: u32, timer: Timer) {
        match timer {
            Timer::Scan => self.ns_scan(ns),
            Timer::IdleCheck { chan } => {
                let idle_us = self.config.timing.nameserver_channel_idle_us;
                if self.idle_check(ns, chan, idle_us) {
                    self.ns_channel_destroyed(ns, chan, Removal::IdleClose);
                }
            }
            other => unreachable!("NameServer timer {other:?}"),
        }
    }

    pub(super) fn ns_deliver(&mut self, ns: u32, chan: ChanId, msg: Msg) {
        let now_us = self.now();
        if matches!(msg, Msg::Close { .. }) {
            self.ns_channel_destroyed(ns, chan, Removal::ChannelClosed);
            return;
        }
        self.metrics.ns_request(ns);
        self.net.touch_server(chan, now_us);
        self.arm_idle_check(ns, chan, self.config.timing.nameserver_channel_idle_us);
        let client = self.net.channel(chan).client;
        let reply = match msg {
            Msg::Register { req } => {
                let broker = self.broker_of(client);
                self.ns_register(ns, broker, chan);
                self.trace(TraceKind::Registered, ns, Some(client), "ok");
                Msg::RegisterAck { req }
            }
            Msg::Unregister { req } => {
                let broker = self.broker_of(client);
                self.trace(TraceKind::Unregistered, ns, Some(client), "ok");
                self.ns_remove(ns, broker, Removal::Unregistered);
                Msg::UnregisterAck { req }
            }
            Msg::RouteQuery { req } => {
                let Role::Producer { index } = self.config.layout.role(client) else {
                    unreachable!("only clients query routes")
                };
                let topic = self.producers[index as usize].topic;
                if self.config.timing.route_poll_queries_default_topic {
                    // 4.x also asks for TBW102 each round: load only, its answer changes nothing.
                    self.metrics.ns_request(ns);
                }
                Msg::RouteReply { req, route: self.nameservers[ns as usize].topic_routes[usize::from(topic)] }
            }
            other => unreachable!("NameServer got {other:?}"),
        };
        self.transmit(chan, End::Client, reply, 0);
    }

    fn broker_of(&self, node: NodeIdx) -> u32 {
        match self.config.layout.role(node) {
            Role::Broker { index } => index,
            other => unreachable!("expected a broker, got {other:?}"),
        }
    }

    fn ns_register(&mut self, ns: u32, broker: u32, chan: ChanId) {
        let now_us = self.now();
        let entry = &mut self.nameservers[ns as usize].table[broker as usize];
        let newly_listed = !entry.listed;
        *entry = BrokerLive { listed: true, last_update_us: now_us, chan };
        if newly_listed {
            self.metrics.ns_listed(now_us, ns, broker);
            self.ns_recompute_routes(ns, broker);
        }
    }

    /// `onChannelDestroy`: a close removes the broker only if it is the channel of the
    /// registration processed last (MODEL.md 2a); closes of older channels are ignored.
    fn ns_channel_destroyed(&mut self, ns: u32, chan: ChanId, cause: Removal) {
        let client = self.net.channel(chan).client;
        let Role::Broker { index: broker } = self.config.layout.role(client) else { return };
        let entry = self.nameservers[ns as usize].table[broker as usize];
        if entry.listed && entry.chan == chan {
            self.ns_remove(ns, broker, cause);
        }
    }

    /// `scanNotActiveBroker`: fixed-rate; after a pause the overdue run happens at once and
    /// the schedule returns to its grid.
    fn ns_scan(&mut self, ns: u32) {
        let now_us = self.now();
        let timing = &self.config.timing;
        let (scan_us, expiry_us) = (timing.nameserver_scan_us, timing.broker_expiry_us);
        let next = &mut self.nameservers[ns as usize].next_scan_us;
        *next = next_on_grid(*next, scan_us, now_us);
        let next_us = *next;
        self.schedule_timer_at(ns, next_us, Timer::Scan);
        self.trace(TraceKind::Scan, ns, None, "ok");
        for broker in 0..self.brokers.len() as u32 {
            let entry = self.nameservers[ns as usize].table[broker as usize];
            if entry.listed && entry.last_update_us + expiry_us < now_us {
                self.ns_remove(ns, broker, Removal::Expired);
                // RocketMQ closes the expired broker's channel too.
                self.close_channel(entry.chan, End::Server);
            }
        }
    }

    fn ns_remove(&mut self, ns: u32, broker: u32, cause: Removal) {
        let entry = &mut self.nameservers[ns as usize].table[broker as usize];
        if !entry.listed {
            return;
        }
        debug_assert!(cause != Removal::Expired || entry.last_update_us < self.sim.now());
        entry.listed = false;
        self.ns_recompute_routes(ns, broker);
        let node = self.brokers[broker as usize].node;
        self.trace(TraceKind::Removed, ns, Some(node), cause.name());
        let serving = self.serving(node);
        let now_us = self.now();
        let table = &self.nameservers[ns as usize];
        self.metrics.ns_removed(now_us, ns, broker, serving, cause, |b| table.lists(b));
    }

    /// Rebuilds the routes of the topics hosted by `broker`'s group after its listing changed.
    fn ns_recompute_routes(&mut self, ns: u32, broker: u32) {
        let (group, _) = self.config.layout.broker_position(broker);
        let per_group = self.config.layout.brokers_per_group();
        for (t, topic) in self.config.topics.iter().enumerate() {
            if !topic.groups.contains(&group) {
                continue;
            }
            let table = &self.nameservers[ns as usize].table;
            let groups = topic
                .groups
                .iter()
                .filter_map(|&g| {
                    let mask = (0..per_group)
                        .filter(|&m| table[(u32::from(g) * per_group + m) as usize].listed)
                        .fold(0u8, |mask, m| mask | (1 << m));
                    (mask != 0).then_some((g, mask))
                })
                .collect();
            let route = self.routes.intern(t as u16, groups, topic.queues_per_broker);
            self.nameservers[ns as usize].topic_routes[t] = route;
        }
        self.refresh_listing(broker);
    }

    /// Tells the metrics whether a running NameServer misses `broker` (the timeline's
    /// "unlisted" state).
    pub(super) fn refresh_listing(&mut self, broker: u32) {
        let unlisted = self
            .nameservers
            .iter()
            .any(|ns| self.procs[ns.node as usize].life == super::Life::Running && !ns.lists(broker));
        let now_us = self.now();
        self.metrics.broker_listing(now_us, broker, unlisted);
    }

    fn refresh_all_listings(&mut self) {
        for broker in 0..self.brokers.len() as u32 {
            self.refresh_listing(broker);
        }
    }
}

/// The next run of a fixed-rate task planned at `planned_us`: one period later, or at once
/// if the process was held past that (Java's scheduleAtFixedRate runs overdue work at once;
/// routesim collapses a burst of missed runs into that one).
pub fn next_on_grid(planned_us: SimTime, period_us: SimTime, now_us: SimTime) -> SimTime {
    assert!(period_us > 0);
    let next_us = planned_us + period_us;
    if next_us > now_us { next_us } else { now_us + period_us - (now_us - planned_us) % period_us }
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
