//! Topic routes as immutable, interned snapshots.
//!
//! A NameServer's answer, a message carrying it and a client's cache all hold a `RouteId`, so
//! routes move without allocation, and two routes with the same content have the same id
//! (a client "replaces its route only if it changed": comparing ids is that test). A route is
//! what RocketMQ's TopicRouteData holds: per broker group (broker name) the listed brokers by
//! broker id with their addresses, and the group's queues.

use std::collections::BTreeMap;

use super::message::MASTER_ID;

pub type RouteId = u32;
/// TOPIC_NOT_EXIST: the NameServer has no queue data for the topic.
pub const NO_ROUTE: RouteId = RouteId::MAX;

/// A broker's address: its place among the brokers (the node it runs on is fixed by it).
pub type BrokerAddr = u32;

/// One listed broker of a route: `brokerAddrs` of its group, entry `broker_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteBroker {
    pub group: u16,
    pub broker_id: u8,
    pub addr: BrokerAddr,
    /// A slave shown as its group's master by a NameServer supporting acting masters: its
    /// queues are readable, not writable.
    pub read_only: bool,
}

#[derive(Debug)]
pub struct Route {
    /// The listed brokers, ordered by (group, broker id).
    pub brokers: Vec<RouteBroker>,
    /// The writable queues, broker by broker, as `topicRouteData2TopicPublishInfo` lists
    /// them: each group hosting the topic with a writable master contributes its write queues.
    pub write_queues: Vec<u16>,
    /// The master of each write queue's group, by the same position: a send looks it up
    /// at the position it picked instead of searching `masters` (a chain of dependent
    /// loads through 1,000 groups, ~3% of a large fleet's run).
    write_masters: Vec<BrokerAddr>,
    /// (group, its master's address), ordered by group.
    masters: Vec<(u16, BrokerAddr)>,
}

impl Route {
    /// The address of `group`'s master (broker id 0) in this route.
    pub fn master(&self, group: u16) -> Option<BrokerAddr> {
        self.masters.binary_search_by_key(&group, |&(g, _)| g).ok().map(|i| self.masters[i].1)
    }

    /// The master of the group of write queue `position`: `master(write_queues[position])`.
    #[inline]
    pub fn write_master(&self, position: usize) -> BrokerAddr {
        self.write_masters[position]
    }

    /// True when the route lists the broker at `addr`, master or slave.
    pub fn holds(&self, addr: BrokerAddr) -> bool {
        self.brokers.iter().any(|b| b.addr == addr)
    }
}

#[derive(Default)]
pub struct RouteStore {
    routes: Vec<Route>,
    index: BTreeMap<(u16, Vec<RouteBroker>), RouteId>,
}

impl RouteStore {
    /// The id of the route of `topic` listing `brokers`; `NO_ROUTE` when none is listed.
    pub fn intern(&mut self, topic: u16, brokers: Vec<RouteBroker>, queues_per_group: u16) -> RouteId {
        if brokers.is_empty() {
            return NO_ROUTE;
        }
        debug_assert!(brokers.windows(2).all(|w| (w[0].group, w[0].broker_id) < (w[1].group, w[1].broker_id)));
        let key = (topic, brokers);
        if let Some(&id) = self.index.get(&key) {
            return id;
        }
        let masters: Vec<(u16, BrokerAddr)> =
            key.1.iter().filter(|b| b.broker_id == MASTER_ID).map(|b| (b.group, b.addr)).collect();
        let writable = || key.1.iter().filter(|b| b.broker_id == MASTER_ID && !b.read_only);
        let per_group = usize::from(queues_per_group);
        let write_queues = writable().flat_map(|b| std::iter::repeat_n(b.group, per_group)).collect();
        let write_masters = writable().flat_map(|b| std::iter::repeat_n(b.addr, per_group)).collect();
        let id = RouteId::try_from(self.routes.len()).expect("fewer than 2^32 routes");
        assert!(id != NO_ROUTE);
        self.routes.push(Route { brokers: key.1.clone(), write_queues, write_masters, masters });
        self.index.insert(key, id);
        id
    }

    pub fn get(&self, id: RouteId) -> Option<&Route> {
        self.routes.get(id as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(group: u16, broker_id: u8, addr: BrokerAddr) -> RouteBroker {
        RouteBroker { group, broker_id, addr, read_only: false }
    }

    #[test]
    fn equal_content_gets_equal_ids_and_masterless_groups_have_no_write_queues() {
        let mut store = RouteStore::default();
        let a = store.intern(0, vec![b(0, 0, 0), b(1, 0, 2), b(1, 1, 3)], 4);
        let same = store.intern(0, vec![b(0, 0, 0), b(1, 0, 2), b(1, 1, 3)], 4);
        let c = store.intern(0, vec![b(0, 0, 0), b(1, 1, 3)], 4);
        assert_eq!(a, same);
        assert_ne!(a, c);
        assert_eq!(store.get(a).unwrap().write_queues, vec![0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(store.get(c).unwrap().write_queues, vec![0, 0, 0, 0]);
        let route = store.get(a).unwrap();
        for (position, &group) in route.write_queues.iter().enumerate() {
            assert_eq!(Some(route.write_master(position)), route.master(group));
        }
        assert!(store.get(c).unwrap().holds(3));
        assert!(!store.get(c).unwrap().holds(2));
        assert_eq!(store.get(c).unwrap().master(1), None);
        assert_eq!(store.get(a).unwrap().master(1), Some(2));
        assert_eq!(store.intern(0, vec![], 4), NO_ROUTE);
        // An acting master is read from, never written to.
        let acting = store.intern(0, vec![b(0, 0, 0), RouteBroker { read_only: true, ..b(1, 0, 3) }], 4);
        assert_eq!(store.get(acting).unwrap().master(1), Some(3));
        assert_eq!(store.get(acting).unwrap().write_queues, vec![0, 0, 0, 0]);
    }
}
