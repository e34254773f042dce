//! What travels between processes (`Msg`) and what a process may set for itself (`Timer`).
//!
//! A message carries what its receiver needs to act on it: a route query names its topic, a
//! registration names the broker's group (RocketMQ's broker name), its broker id and its epoch.
//! The receiver learns nothing else about the sender but the channel it came on (its peer's
//! address). Request ids let a caller match answers and ignore late ones.

use crate::net::ChanId;

use super::route::RouteId;

/// RocketMQ's `MixAll.MASTER_ID`: a broker registered under id 0 is its group's master; any
/// other id is a slave. The role travels as the id, as in REGISTER_BROKER.
pub const MASTER_ID: u8 = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Msg {
    /// REGISTER_BROKER: the broker's group (broker name), its broker id (0 = master) and the
    /// epoch of its role (bumped by a failover; 0 in classic mode).
    Register {
        req: u32,
        group: u16,
        broker_id: u8,
        epoch: u16,
    },
    RegisterAck {
        req: u32,
    },
    Unregister {
        req: u32,
    },
    UnregisterAck {
        req: u32,
    },
    /// GET_ROUTEINFO_BY_TOPIC.
    RouteQuery {
        req: u32,
        topic: u16,
    },
    /// `route` = `NO_ROUTE` for TOPIC_NOT_EXIST.
    RouteReply {
        req: u32,
        route: RouteId,
    },
    Send {
        slot: u32,
        attempt: u32,
    },
    SendAck {
        slot: u32,
        attempt: u32,
    },
    /// The other end closed the channel: a FIN, or (`reset`) an RST from a host whose socket
    /// is gone, which every RocketMQ version treats as an error that fails pending requests.
    Close {
        reset: bool,
    },
}

/// Timers belong to one incarnation of one process; each role has its own kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    NameServer(NameServerTimer),
    Broker(BrokerTimer),
    Client(ClientTimer),
    Producer(ProducerTimer),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameServerTimer {
    /// `scanNotActiveBroker`.
    Scan,
    /// Netty's `IdleStateHandler` on the server end of a channel.
    IdleCheck { chan: ChanId },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerTimer {
    /// A periodic `registerBrokerAll`.
    RegisterRound,
    RegisterTimeout {
        ns: u32,
        req: u32,
    },
    UnregisterTimeout {
        ns: u32,
        req: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientTimer {
    /// `updateTopicRouteInfoFromNameServer`, every `pollNameServerInterval`.
    RoutePoll,
    RouteQueryFailed {
        req: u32,
    },
    RouteConnectTimedOut {
        req: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProducerTimer {
    SendArrival,
    AttemptFailed { slot: u32, attempt: u32 },
    SendDeadline,
}
