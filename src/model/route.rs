//! Topic routes as immutable, interned snapshots.
//!
//! A NameServer's answer, a message carrying it and a client's cache all hold a `RouteId`, so
//! routes move without allocation, and two routes with the same content have the same id
//! (a client "replaces its route only if it changed": comparing ids is that test).

use std::collections::BTreeMap;

pub type RouteId = u32;
/// TOPIC_NOT_EXIST: the NameServer has no queue data for the topic.
pub const NO_ROUTE: RouteId = RouteId::MAX;

/// Members of a broker group as a bit set: bit 0 = master (broker id 0), bit i = slave i.
pub type MemberMask = u8;
pub const MASTER_BIT: MemberMask = 1;

#[derive(Debug)]
pub struct Route {
    /// (broker group, its members the NameServer lists), ordered by group.
    pub groups: Vec<(u16, MemberMask)>,
    /// The writable queues, broker by broker, as `topicRouteData2TopicPublishInfo` lists
    /// them: each group hosting the topic with a master contributes its write queues.
    pub write_queues: Vec<u16>,
}

impl Route {
    pub fn holds(&self, group: u16, member_bit: MemberMask) -> bool {
        self.groups.iter().any(|&(g, mask)| g == group && mask & member_bit != 0)
    }
}

#[derive(Default)]
pub struct RouteStore {
    routes: Vec<Route>,
    index: BTreeMap<(u16, Vec<(u16, MemberMask)>), RouteId>,
}

impl RouteStore {
    /// The id of the route of `topic` with `groups` listed; `NO_ROUTE` when none is.
    pub fn intern(&mut self, topic: u16, groups: Vec<(u16, MemberMask)>, queues_per_group: u16) -> RouteId {
        if groups.is_empty() {
            return NO_ROUTE;
        }
        debug_assert!(groups.windows(2).all(|w| w[0].0 < w[1].0), "groups sorted and unique");
        let key = (topic, groups);
        if let Some(&id) = self.index.get(&key) {
            return id;
        }
        let write_queues = key
            .1
            .iter()
            .filter(|&&(_, mask)| mask & MASTER_BIT != 0)
            .flat_map(|&(group, _)| std::iter::repeat_n(group, usize::from(queues_per_group)))
            .collect();
        let id = RouteId::try_from(self.routes.len()).expect("fewer than 2^32 routes");
        assert!(id != NO_ROUTE);
        self.routes.push(Route { groups: key.1.clone(), write_queues });
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

    #[test]
    fn equal_content_gets_equal_ids_and_masterless_groups_have_no_write_queues() {
        let mut store = RouteStore::default();
        let a = store.intern(0, vec![(0, 1), (1, 3)], 4);
        let b = store.intern(0, vec![(0, 1), (1, 3)], 4);
        let c = store.intern(0, vec![(0, 1), (1, 2)], 4);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(store.get(a).unwrap().write_queues, vec![0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(store.get(c).unwrap().write_queues, vec![0, 0, 0, 0]);
        assert!(store.get(c).unwrap().holds(1, 2));
        assert!(!store.get(c).unwrap().holds(1, MASTER_BIT));
        assert_eq!(store.intern(0, vec![], 4), NO_ROUTE);
    }
}
