//! The scenario file as written: serde types mirroring the YAML, before any validation.
//! Every struct rejects unknown fields so a typo is an error, not a silently ignored line.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::units::{Dur, IdleDur};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Option<String>,
    pub description: Option<String>,
    pub seed: Option<u64>,
    pub duration: Dur,
    #[serde(default)]
    pub timing: RawTiming,
    pub cluster: RawCluster,
    pub topics: Vec<RawTopic>,
    pub producers: Vec<RawProducer>,
    #[serde(default)]
    pub consumers: Vec<RawConsumer>,
    #[serde(default)]
    pub network: RawNetwork,
    #[serde(default)]
    pub faults: Vec<RawFault>,
    #[serde(default)]
    pub expect: Vec<String>,
    pub sweep: Option<RawSweep>,
    /// The fault grammar of `routesim explore` (docs/EXPLORE.md); defaults when absent.
    pub explore: Option<RawExplore>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTiming {
    pub preset: Option<RawPreset>,
    pub broker_heartbeat: Option<Dur>,
    pub broker_register_initial_delay: Option<Dur>,
    pub broker_register_timeout: Option<Dur>,
    pub broker_unregister_timeout: Option<Dur>,
    pub nameserver_scan: Option<Dur>,
    pub nameserver_scan_initial_delay: Option<Dur>,
    pub broker_expiry: Option<Dur>,
    pub nameserver_channel_idle: Option<IdleDur>,
    pub broker_channel_idle: Option<IdleDur>,
    pub client_route_poll: Option<Dur>,
    pub client_route_poll_initial_delay: Option<Dur>,
    pub client_api_timeout: Option<Dur>,
    pub connect_timeout: Option<Dur>,
    pub start_window: Option<Dur>,
    pub nameserver_start_window: Option<Dur>,
    pub fail_fast_on_peer_close: Option<bool>,
    pub unregister_before_close: Option<bool>,
    pub route_query_tries_every_nameserver: Option<bool>,
    pub route_poll_queries_default_topic: Option<bool>,
    pub nameserver_push: Option<bool>,
    pub client_refresh_on_failure: Option<bool>,
    pub consumer_heartbeat: Option<Dur>,
    pub rebalance_interval: Option<Dur>,
    pub pull_suspend: Option<Dur>,
    pub pull_timeout: Option<Dur>,
    pub pull_retry_delay: Option<Dur>,
    pub offset_persist: Option<Dur>,
    pub client_expiry: Option<Dur>,
    pub dledger_heartbeat: Option<Dur>,
    pub dledger_heartbeat_leak: Option<u32>,
    pub dledger_vote_interval_min: Option<Dur>,
    pub dledger_vote_interval_max: Option<Dur>,
    pub broker_heartbeat_interval: Option<Dur>,
    pub broker_not_active_timeout: Option<Dur>,
    pub controller_heartbeat_timeout: Option<Dur>,
    pub controller_scan: Option<Dur>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
pub enum RawPreset {
    #[serde(rename = "rocketmq-4")]
    RocketMq4,
    #[serde(rename = "rocketmq-5")]
    RocketMq5,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub nameservers: u32,
    pub broker_groups: u32,
    #[serde(default)]
    pub slaves_per_group: u32,
    pub broker_service_time: Option<RawLatency>,
    /// MODEL.md 7: `classic` (default), `dledger`, `controller`, `slave-acting-master`.
    pub failover: Option<RawFailover>,
    /// `brokerRole` of the masters: `async` (ASYNC_MASTER, default) or `sync` (SYNC_MASTER).
    pub replication: Option<RawReplication>,
    /// Per broker group (by name): its own `failover` and `replication`, overriding the above.
    #[serde(default)]
    pub groups: BTreeMap<String, RawGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    pub failover: Option<RawFailover>,
    pub replication: Option<RawReplication>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawReplication {
    Async,
    Sync,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawFailover {
    Classic,
    Dledger,
    Controller,
    SlaveActingMaster,
}

/// One of `{constant: 1ms}`, `{uniform: {min: 1ms, max: 5ms}}`,
/// `{lognormal: {median: 1ms, p99: 10ms}}`: a one-key mapping (validation checks there is
/// exactly one), which reads the same in any YAML library.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLatency {
    pub constant: Option<Dur>,
    pub uniform: Option<RawUniform>,
    pub lognormal: Option<RawLogNormal>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUniform {
    pub min: Dur,
    pub max: Dur,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogNormal {
    pub median: Dur,
    pub p99: Dur,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopic {
    pub name: String,
    #[serde(default = "default_queues")]
    pub queues_per_broker: u32,
    /// Broker groups hosting the topic; all when absent.
    pub brokers: Option<Vec<String>>,
}

fn default_queues() -> u32 {
    4
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RawSendMode {
    Sync,
    Async,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProducer {
    pub name: String,
    #[serde(default = "default_count")]
    pub count: u32,
    pub topic: String,
    /// Sends per second per producer (Poisson).
    pub rate: f64,
    pub mode: Option<RawSendMode>,
    pub threads: Option<u32>,
    pub retries: Option<u32>,
    pub send_timeout: Option<Dur>,
    #[serde(default)]
    pub latency_fault: bool,
    /// Start this long after the run begins (a later deploy of these clients).
    pub start_after: Option<Dur>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConsumer {
    pub name: String,
    #[serde(default = "default_count")]
    pub count: u32,
    pub topic: String,
    pub start_after: Option<Dur>,
    /// Messages a consumer processes per second; 0 or absent: at once.
    pub consume_rate: Option<f64>,
}

fn default_count() -> u32 {
    1
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub latency: Option<RawLatency>,
    pub loss: Option<f64>,
    #[serde(default)]
    pub links: BTreeMap<RawLinkClass, RawLink>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum RawLinkClass {
    BrokerNs,
    ClientNs,
    ClientBroker,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    pub latency: Option<RawLatency>,
    pub loss: Option<f64>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RawFaultKind {
    Crash,
    Shutdown,
    Restart,
    Pause,
    Resume,
    Partition,
    Heal,
    Loss,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RawCrashMode {
    Kill,
    PowerOff,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub at: Dur,
    pub kind: RawFaultKind,
    pub id: Option<String>,
    pub target: Option<String>,
    pub mode: Option<RawCrashMode>,
    /// Ends the fault after this long: restart, resume, heal, or the loss set back.
    pub duration: Option<Dur>,
    pub groups: Option<Vec<Vec<String>>>,
    pub one_way: Option<bool>,
    pub probability: Option<f64>,
    pub class: Option<RawLinkClass>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    pub seeds: Option<super::units::SeedRange>,
    #[serde(default)]
    pub vary: BTreeMap<String, Vec<serde_yaml::Value>>,
}

/// `explore:`: how `routesim explore` draws fault schedules. Ranges are `[min, max]` lists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExplore {
    pub runs: Option<u64>,
    pub seed: Option<u64>,
    pub objective: Option<RawObjective>,
    /// How much of the objective a shrunk schedule may lose (a fraction, e.g. `0.05`).
    pub tolerance: Option<f64>,
    /// Faults start within this window of the run.
    pub between: Option<Vec<Dur>>,
    /// Faults per schedule.
    pub count: Option<Vec<u32>>,
    /// The least time between the starts of two faults.
    pub spacing: Option<Dur>,
    /// The faults to draw from; a default menu when absent.
    pub menu: Option<Vec<RawExploreFault>>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawObjective {
    StaleWindow,
    FailedSends,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RawExploreKind {
    Crash,
    Shutdown,
    Restart,
    Pause,
    Partition,
    Loss,
    /// Cuts a random subset of links one by one, then restores them in a random order.
    Swizzle,
}

/// One entry of the fault menu.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExploreFault {
    pub kind: RawExploreKind,
    /// Nodes or groups (`brokers`, `nameservers`, ...) the fault may hit; one is drawn.
    pub targets: Option<Vec<String>>,
    /// Partition and swizzle: the other side of the cut links.
    pub from: Option<Vec<String>>,
    pub mode: Option<RawCrashMode>,
    pub duration: Option<Vec<Dur>>,
    pub probability: Option<Vec<f64>>,
    pub class: Option<RawLinkClass>,
    /// Swizzle: how many links to cut.
    pub links: Option<Vec<u32>>,
    /// Swizzle: the time between two cuts, and between two restores.
    pub step: Option<Vec<Dur>>,
    /// How often this entry is drawn, relative to the others (default 1).
    pub weight: Option<u32>,
}
