//! RocketMQ's timing settings, with the defaults of 4.x and 5.x (MODEL.md section 9).
//!
//! Every field is named after what it means here; its doc names RocketMQ's key. Scenario YAML
//! uses the same names without the `_us` suffix (`nameserver_scan: 10s`); the one exception,
//! `broker_heartbeat` for `broker_register_period_us`, is kept for the files users have.

use crate::engine::{SimTime, US_PER_MS, US_PER_S};

/// Which RocketMQ release's defaults to start from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    RocketMq4,
    RocketMq5,
}

impl Preset {
    pub fn name(self) -> &'static str {
        match self {
            Preset::RocketMq4 => "rocketmq-4",
            Preset::RocketMq5 => "rocketmq-5",
        }
    }
}

/// `registerNameServerPeriod` (BrokerConfig): 30 s, clamped by RocketMQ to [10 s, 60 s].
pub const REGISTER_NAME_SERVER_PERIOD_US: SimTime = 30 * US_PER_S;
pub const REGISTER_NAME_SERVER_PERIOD_US_MIN: SimTime = 10 * US_PER_S;
pub const REGISTER_NAME_SERVER_PERIOD_US_MAX: SimTime = 60 * US_PER_S;
/// BrokerController schedules the periodic registration with a fixed 10 s initial delay.
pub const REGISTER_INITIAL_DELAY_US: SimTime = 10 * US_PER_S;
/// `registerBrokerTimeoutMills` (BrokerConfig).
pub const REGISTER_BROKER_TIMEOUT_US_4X: SimTime = 6 * US_PER_S;
pub const REGISTER_BROKER_TIMEOUT_US_5X: SimTime = 24 * US_PER_S;
/// UNREGISTER_BROKER is sent to each NameServer in turn with about this timeout.
pub const UNREGISTER_BROKER_TIMEOUT_US: SimTime = 3 * US_PER_S;
/// `scanNotActiveBrokerInterval`: fixed 10 s in 4.x, configurable 5 s in 5.x.
pub const SCAN_NOT_ACTIVE_BROKER_INTERVAL_US_4X: SimTime = 10 * US_PER_S;
pub const SCAN_NOT_ACTIVE_BROKER_INTERVAL_US_5X: SimTime = 5 * US_PER_S;
/// The scan's initial delay: 5 s in 4.x; 5 *ms* in 5.0–5.3.3 (a unit slip in NamesrvController).
pub const SCAN_INITIAL_DELAY_US_4X: SimTime = 5 * US_PER_S;
pub const SCAN_INITIAL_DELAY_US_5X: SimTime = 5 * US_PER_MS;
/// `BROKER_CHANNEL_EXPIRED_TIME` (4.x constant) / `heartbeatTimeoutMillis` (5.x): 120 s.
pub const BROKER_CHANNEL_EXPIRED_TIME_US: SimTime = 120 * US_PER_S;
/// `serverChannelMaxIdleTimeSeconds` (NettyServerConfig): 120 s.
pub const SERVER_CHANNEL_MAX_IDLE_TIME_US: SimTime = 120 * US_PER_S;
/// `pollNameServerInterval` (ClientConfig): 30 s; the first poll runs 10 ms after start.
pub const POLL_NAME_SERVER_INTERVAL_US: SimTime = 30 * US_PER_S;
pub const POLL_NAME_SERVER_INITIAL_DELAY_US: SimTime = 10 * US_PER_MS;
/// `mqClientApiTimeout` (ClientConfig): route queries.
pub const MQ_CLIENT_API_TIMEOUT_US: SimTime = 3 * US_PER_S;
/// `connectTimeoutMillis` (NettyClientConfig).
pub const CONNECT_TIMEOUT_US: SimTime = 3 * US_PER_S;
/// `sendMsgTimeout` (DefaultMQProducer): one budget for all attempts of a send.
pub const SEND_MSG_TIMEOUT_US: SimTime = 3 * US_PER_S;
/// `retryTimesWhenSendFailed` (DefaultMQProducer).
pub const RETRY_TIMES_WHEN_SEND_FAILED: u32 = 2;
/// `heartbeatBrokerInterval` (ClientConfig); the task first runs 1 s after start.
pub const HEARTBEAT_BROKER_INTERVAL_US: SimTime = 30 * US_PER_S;
pub const HEARTBEAT_BROKER_INITIAL_DELAY_US: SimTime = US_PER_S;
/// `persistConsumerOffsetInterval` (ClientConfig); the task first runs 10 s after start.
pub const PERSIST_CONSUMER_OFFSET_INTERVAL_US: SimTime = 5 * US_PER_S;
pub const PERSIST_CONSUMER_OFFSET_INITIAL_DELAY_US: SimTime = 10 * US_PER_S;
/// RebalanceService's `waitInterval`.
pub const REBALANCE_WAIT_INTERVAL_US: SimTime = 20 * US_PER_S;
/// `BROKER_SUSPEND_MAX_TIME_MILLIS` / `CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND` /
/// `pullTimeDelayMillsWhenException` (DefaultMQPushConsumerImpl).
pub const BROKER_SUSPEND_MAX_TIME_US: SimTime = 15 * US_PER_S;
pub const CONSUMER_TIMEOUT_WHEN_SUSPEND_US: SimTime = 30 * US_PER_S;
pub const PULL_TIME_DELAY_WHEN_EXCEPTION_US: SimTime = 3 * US_PER_S;
/// The broker's `channelExpiredTimeout` for clients (4.x `CHANNEL_EXPIRED_TIMEOUT`).
pub const CHANNEL_EXPIRED_TIMEOUT_US: SimTime = 120 * US_PER_S;
/// `heartBeatTimeIntervalMs` / `maxHeartBeatLeak` / `minVoteIntervalMs` / `maxVoteIntervalMs`
/// (openmessaging DLedger's `DLedgerConfig`, 0.3.1.2: the version RocketMQ pins).
pub const DLEDGER_HEARTBEAT_INTERVAL_US: SimTime = 2 * US_PER_S;
pub const DLEDGER_MAX_HEARTBEAT_LEAK: u32 = 3;
pub const DLEDGER_VOTE_INTERVAL_MIN_US: SimTime = 300 * US_PER_MS;
pub const DLEDGER_VOTE_INTERVAL_MAX_US: SimTime = US_PER_S;
/// `brokerHeartbeatInterval` (BrokerConfig, 5.x): the light heartbeat to the NameServers and
/// the controller heartbeat; `brokerNotActiveTimeoutMillis` (acting master) and
/// `controllerHeartBeatTimeoutMills` (controller mode), both 10 s.
pub const BROKER_HEARTBEAT_INTERVAL_US: SimTime = US_PER_S;
pub const BROKER_NOT_ACTIVE_TIMEOUT_US: SimTime = 10 * US_PER_S;
pub const CONTROLLER_HEARTBEAT_TIMEOUT_US: SimTime = 10 * US_PER_S;
/// The controller's `scanNotActiveBrokerInterval` (ControllerConfig): 5 s, first after 2 s.
pub const CONTROLLER_SCAN_US: SimTime = 5 * US_PER_S;
pub const CONTROLLER_SCAN_INITIAL_DELAY_US: SimTime = 2 * US_PER_S;
/// Not a RocketMQ setting: real fleets do not start all processes at the same instant.
pub const START_WINDOW_US: SimTime = 30 * US_PER_S;
/// NameServers are up before the fleet that registers with them; they start within this.
pub const NAMESERVER_START_WINDOW_US: SimTime = US_PER_S;

/// The timing of one run. All durations in microseconds of virtual time.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    pub preset: Preset,
    /// `registerNameServerPeriod`.
    pub broker_register_period_us: SimTime,
    pub broker_register_initial_delay_us: SimTime,
    /// `registerBrokerTimeoutMills`.
    pub broker_register_timeout_us: SimTime,
    pub broker_unregister_timeout_us: SimTime,
    /// `scanNotActiveBrokerInterval`.
    pub nameserver_scan_us: SimTime,
    pub nameserver_scan_initial_delay_us: SimTime,
    /// `BROKER_CHANNEL_EXPIRED_TIME` / `heartbeatTimeoutMillis`.
    pub broker_expiry_us: SimTime,
    /// `serverChannelMaxIdleTimeSeconds` on the NameServer; 0 disables the idle close.
    pub nameserver_channel_idle_us: SimTime,
    /// `serverChannelMaxIdleTimeSeconds` on the broker's remoting server: its idle close of
    /// the channels clients (producers, consumers) opened to it; 0 disables it.
    pub broker_channel_idle_us: SimTime,
    /// `pollNameServerInterval`.
    pub client_route_poll_us: SimTime,
    pub client_route_poll_initial_delay_us: SimTime,
    /// `mqClientApiTimeout`.
    pub client_api_timeout_us: SimTime,
    /// `connectTimeoutMillis`.
    pub connect_timeout_us: SimTime,
    /// Each broker starts at a time drawn uniformly from [0, start_window]; each client in
    /// [start_window, 2 start_window] (after its group's `start_after`).
    pub start_window_us: SimTime,
    /// Each NameServer starts at a time drawn uniformly from [0, nameserver_start_window].
    pub nameserver_start_window_us: SimTime,
    /// Version behaviours (docs/ROCKETMQ-NOTES.md), not settings RocketMQ exposes:
    /// a peer's close fails the requests waiting on the channel at once (5.x, #5867); in 4.x
    /// they wait for their timeout.
    pub fail_fast_on_peer_close: bool,
    /// Graceful shutdown unregisters from the NameServers while still serving, then closes
    /// (5.x); 4.x closes its remoting server first, then unregisters.
    pub unregister_before_close: bool,
    /// A route query whose NameServer channel is broken tries every NameServer in turn within
    /// the one call (4.x `getAndCreateNameserverChannel`); 5.x tries one per call.
    pub route_query_tries_every_nameserver: bool,
    /// Each route poll round also queries the default topic TBW102 (4.x): one more request.
    pub route_poll_queries_default_topic: bool,
    /// What-ifs, not RocketMQ's behaviour (off by default):
    /// a NameServer pushes a topic's new route to the clients whose channel to it is open and
    /// that queried the topic over it (the never-merged #3870, RIP-79).
    pub nameserver_push: bool,
    /// A failed send attempt makes the client query its route at once.
    pub client_refresh_on_failure: bool,
    /// `heartbeatBrokerInterval`: a consumer's heartbeat to every broker of its route.
    pub consumer_heartbeat_us: SimTime,
    pub consumer_heartbeat_initial_delay_us: SimTime,
    /// `persistConsumerOffsetInterval`.
    pub offset_persist_us: SimTime,
    pub offset_persist_initial_delay_us: SimTime,
    /// RebalanceService's wait between runs.
    pub rebalance_interval_us: SimTime,
    /// `BROKER_SUSPEND_MAX_TIME_MILLIS`: how long a broker holds a pull with nothing new.
    pub pull_suspend_us: SimTime,
    /// `CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND`: the client's timeout of a pull.
    pub pull_timeout_us: SimTime,
    /// `pullTimeDelayMillsWhenException`.
    pub pull_retry_delay_us: SimTime,
    /// The broker's `channelExpiredTimeout` for silent clients.
    pub client_expiry_us: SimTime,
    /// 5.x slaves wake parked pulls when a message arrives; 4.x slaves only on their 5 s check.
    pub slave_wakes_pulls_on_arrival: bool,
    /// DLedger's `heartBeatTimeIntervalMs`.
    pub dledger_heartbeat_us: SimTime,
    /// DLedger's `maxHeartBeatLeak`: missed heartbeats before a follower stands.
    pub dledger_heartbeat_leak: u32,
    /// DLedger's `minVoteIntervalMs` and `maxVoteIntervalMs`.
    pub dledger_vote_interval_min_us: SimTime,
    pub dledger_vote_interval_max_us: SimTime,
    /// `brokerHeartbeatInterval`: the light heartbeat (acting master) and the controller
    /// heartbeat.
    pub broker_heartbeat_interval_us: SimTime,
    /// `brokerNotActiveTimeoutMillis`: a NameServer's expiry of an acting-master broker.
    pub broker_not_active_timeout_us: SimTime,
    /// `controllerHeartBeatTimeoutMills`: the controller's expiry of a broker.
    pub controller_heartbeat_timeout_us: SimTime,
    /// The controller's `scanNotActiveBrokerInterval`.
    pub controller_scan_us: SimTime,
}

impl Timing {
    pub fn preset(preset: Preset) -> Timing {
        let v5 = preset == Preset::RocketMq5;
        Timing {
            preset,
            broker_register_period_us: REGISTER_NAME_SERVER_PERIOD_US,
            broker_register_initial_delay_us: REGISTER_INITIAL_DELAY_US,
            broker_register_timeout_us: if v5 { REGISTER_BROKER_TIMEOUT_US_5X } else { REGISTER_BROKER_TIMEOUT_US_4X },
            broker_unregister_timeout_us: UNREGISTER_BROKER_TIMEOUT_US,
            nameserver_scan_us: if v5 {
                SCAN_NOT_ACTIVE_BROKER_INTERVAL_US_5X
            } else {
                SCAN_NOT_ACTIVE_BROKER_INTERVAL_US_4X
            },
            nameserver_scan_initial_delay_us: if v5 { SCAN_INITIAL_DELAY_US_5X } else { SCAN_INITIAL_DELAY_US_4X },
            broker_expiry_us: BROKER_CHANNEL_EXPIRED_TIME_US,
            nameserver_channel_idle_us: SERVER_CHANNEL_MAX_IDLE_TIME_US,
            broker_channel_idle_us: SERVER_CHANNEL_MAX_IDLE_TIME_US,
            client_route_poll_us: POLL_NAME_SERVER_INTERVAL_US,
            client_route_poll_initial_delay_us: POLL_NAME_SERVER_INITIAL_DELAY_US,
            client_api_timeout_us: MQ_CLIENT_API_TIMEOUT_US,
            connect_timeout_us: CONNECT_TIMEOUT_US,
            start_window_us: START_WINDOW_US,
            nameserver_start_window_us: NAMESERVER_START_WINDOW_US,
            fail_fast_on_peer_close: v5,
            unregister_before_close: v5,
            route_query_tries_every_nameserver: !v5,
            route_poll_queries_default_topic: !v5,
            nameserver_push: false,
            client_refresh_on_failure: false,
            consumer_heartbeat_us: HEARTBEAT_BROKER_INTERVAL_US,
            consumer_heartbeat_initial_delay_us: HEARTBEAT_BROKER_INITIAL_DELAY_US,
            offset_persist_us: PERSIST_CONSUMER_OFFSET_INTERVAL_US,
            offset_persist_initial_delay_us: PERSIST_CONSUMER_OFFSET_INITIAL_DELAY_US,
            rebalance_interval_us: REBALANCE_WAIT_INTERVAL_US,
            pull_suspend_us: BROKER_SUSPEND_MAX_TIME_US,
            pull_timeout_us: CONSUMER_TIMEOUT_WHEN_SUSPEND_US,
            pull_retry_delay_us: PULL_TIME_DELAY_WHEN_EXCEPTION_US,
            client_expiry_us: CHANNEL_EXPIRED_TIMEOUT_US,
            slave_wakes_pulls_on_arrival: v5,
            dledger_heartbeat_us: DLEDGER_HEARTBEAT_INTERVAL_US,
            dledger_heartbeat_leak: DLEDGER_MAX_HEARTBEAT_LEAK,
            dledger_vote_interval_min_us: DLEDGER_VOTE_INTERVAL_MIN_US,
            dledger_vote_interval_max_us: DLEDGER_VOTE_INTERVAL_MAX_US,
            broker_heartbeat_interval_us: BROKER_HEARTBEAT_INTERVAL_US,
            broker_not_active_timeout_us: BROKER_NOT_ACTIVE_TIMEOUT_US,
            controller_heartbeat_timeout_us: CONTROLLER_HEARTBEAT_TIMEOUT_US,
            controller_scan_us: CONTROLLER_SCAN_US,
        }
    }

    /// MODEL.md's closed form for how long after a broker falls silent a NameServer removes
    /// it, network delay excluded: the last registration reached the NameServer up to one
    /// heartbeat before the fault; the idle close fires `idle` after it, the scan first sees
    /// it expired within one scan period after `expiry`.
    pub fn silent_detection_window_us(&self) -> (SimTime, SimTime) {
        let scan_hi_us = self.broker_expiry_us + self.nameserver_scan_us;
        let (first_us, hi_us) = match self.nameserver_channel_idle_us {
            0 => (self.broker_expiry_us, scan_hi_us),
            idle_us => (idle_us.min(self.broker_expiry_us), idle_us.min(scan_hi_us)),
        };
        (first_us.saturating_sub(self.broker_register_period_us), hi_us)
    }
}

/// The latency-fault table of `MQFaultStrategy`: attempt latency thresholds → isolation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LatencyFaultTable {
    /// 4.x and ≤ 5.1.3.
    Classic,
    /// 5.1.4+.
    Modern,
}

impl LatencyFaultTable {
    /// `latencyMax` (ms) → `notAvailableDuration` (ms); a failed attempt counts as
    /// `FAILED_ATTEMPT_LATENCY_MS` (4.x: 30 000 ms → 10 min; 5.1.4+: isolates 10 s).
    fn table(self) -> ([u64; 7], [u64; 7]) {
        match self {
            LatencyFaultTable::Classic => {
                ([50, 100, 550, 1_000, 2_000, 3_000, 15_000], [0, 0, 30_000, 60_000, 120_000, 180_000, 600_000])
            }
            LatencyFaultTable::Modern => {
                ([50, 100, 550, 1_800, 3_000, 5_000, 15_000], [0, 0, 2_000, 5_000, 6_000, 10_000, 30_000])
            }
        }
    }

    pub fn isolation_us(self, attempt_latency_us: SimTime, failed: bool) -> SimTime {
        if failed {
            return match self {
                LatencyFaultTable::Classic => 600_000 * US_PER_MS,
                LatencyFaultTable::Modern => 10_000 * US_PER_MS,
            };
        }
        let (latency_max_ms, not_available_ms) = self.table();
        let latency_ms = attempt_latency_us / US_PER_MS;
        // MQFaultStrategy walks the table from the largest threshold down.
        (0..7).rev().find(|&i| latency_ms >= latency_max_ms[i]).map_or(0, |i| not_available_ms[i] * US_PER_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_detection_windows_match_model_md() {
        let v4 = Timing::preset(Preset::RocketMq4);
        assert_eq!(v4.silent_detection_window_us(), (90 * US_PER_S, 120 * US_PER_S));
        let v4_scan = Timing { nameserver_channel_idle_us: 0, ..v4.clone() };
        assert_eq!(v4_scan.silent_detection_window_us(), (90 * US_PER_S, 130 * US_PER_S));
        let v5_scan = Timing { nameserver_channel_idle_us: 0, ..Timing::preset(Preset::RocketMq5) };
        assert_eq!(v5_scan.silent_detection_window_us(), (90 * US_PER_S, 125 * US_PER_S));
    }

    #[test]
    fn latency_fault_isolation() {
        let t = LatencyFaultTable::Classic;
        assert_eq!(t.isolation_us(10 * US_PER_MS, false), 0);
        assert_eq!(t.isolation_us(600 * US_PER_MS, false), 30 * US_PER_S);
        assert_eq!(t.isolation_us(0, true), 600 * US_PER_S);
        assert_eq!(LatencyFaultTable::Modern.isolation_us(0, true), 10 * US_PER_S);
    }
}
