//! Scenarios: YAML files describing a cluster, its traffic, its network and its faults.
//!
//! Two stages, as the engine never sees YAML: `raw` mirrors the file (serde, unknown fields
//! rejected), then `validate` checks every value and name and builds the model's
//! `WorldConfig`. Every error names the file, the line when it can be found, and the field,
//! and says how to fix it.

pub mod budget;
pub mod explore;
pub mod raw;
pub mod units;
pub mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::engine::{SimTime, US_PER_MS, US_PER_S};
use crate::model::config::{
    CONSUMER_GROUP_MEMBERS_MAX, ConsumerGroup, CrashMode, Failover, FaultAction, FaultSpec, Layout, ProducerGroup,
    Replication, SendMode, TopicConfig, WorldConfig, default_group_names,
};
use crate::model::timing::{
    LatencyFaultTable, Preset, REGISTER_NAME_SERVER_PERIOD_US_MAX, REGISTER_NAME_SERVER_PERIOD_US_MIN,
    RETRY_TIMES_WHEN_SEND_FAILED, SEND_MSG_TIMEOUT_US, Timing,
};
use crate::net::{Latency, LinkClass, LinkConfig, NetConfig, RTO_MIN_US_LINUX, Side};

use raw::{
    RawCrashMode, RawFailover, RawFault, RawFaultKind, RawLatency, RawLinkClass, RawPreset, RawReplication,
    RawScenario, RawSendMode,
};
use units::SeedRange;

/// Limits on what one scenario may ask for, so a typo cannot ask for the impossible. Each
/// bound's reason is in README.md, section "Limits".
pub const DURATION_US_MAX: SimTime = 30 * 24 * 3_600 * US_PER_S;
pub const NAMESERVERS_MAX: u32 = 64;
pub const BROKER_GROUPS_MAX: u32 = 1_000;
pub const SLAVES_PER_GROUP_MAX: u32 = 7;
pub const PRODUCERS_MAX: u32 = 1_000_000;
pub const PRODUCER_GROUPS_MAX: usize = 1_000;
pub const TOPICS_MAX: usize = 1_000;
pub const QUEUES_PER_BROKER_MAX: u32 = 1_024;
pub const RATE_PER_S_MAX: f64 = 1_000_000.0;
pub const LOSS_MAX: f64 = 0.99;
pub const RETRIES_MAX: u32 = 100;
pub const THREADS_MAX: u32 = 10_000;
/// Faults (as written; each with a `duration` adds its end). Every fault keeps a latency
/// histogram (~180 KB) and a slot per client for the whole run.
pub const FAULTS_MAX: usize = 1_000;
/// Partition faults hold one side byte per node each for the whole run: at most this many.
pub const PARTITION_SIDE_BYTES_MAX: u64 = 64 << 20;
/// The output directory's name: well under every file system's 255-byte limit, with room
/// for the temporary names written beside it.
pub const NAME_CHARS_MAX: usize = 100;
/// Latency parameters: the network clamps a sampled delay there (`net.rs`, 60 s), so a larger
/// value would silently mean 60 s.
pub const LATENCY_US_MAX: SimTime = 60 * US_PER_S;
/// The least a RocketMQ timeout or period can be: its keys are in milliseconds, and a
/// scheduled executor rejects a period of 0 (MODEL.md section 9).
pub const SETTING_US_MIN: SimTime = US_PER_MS;
/// `serverChannelMaxIdleTimeSeconds` is in whole seconds.
pub const IDLE_US_MIN: SimTime = US_PER_S;
/// Largest scenario file read. The shipped scenarios are under 4 KiB; a thousand faults take
/// under 100 KiB.
pub const FILE_BYTES_MAX: u64 = 1 << 20;
/// Deepest nesting of flow collections (`[...]`, `{...}`) read. The YAML parser's time grows
/// with the square of the depth (20,000 levels: 2 s); no scenario needs more than 3.
pub const FLOW_DEPTH_MAX: usize = 64;
const DEFAULT_SEED: u64 = 1;
const DEFAULT_SYNC_THREADS: u32 = 8;

/// A scenario error, pointing into the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The field path (`faults[2].target`); empty for the whole document.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": field `{}`: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for ScenarioError {}

/// A loaded, validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub file: PathBuf,
    pub description: Option<String>,
    pub world: WorldConfig,
    pub expect: Vec<String>,
    pub sweep: Option<SweepSpec>,
    pub explore: explore::ExploreSpec,
}

#[derive(Clone, Debug)]
pub struct SweepSpec {
    pub seeds: Option<SeedRange>,
    /// Field path → values, in path order.
    pub vary: BTreeMap<String, Vec<yaml::Value>>,
}

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    from_text(path, &read_text(path)?)
}

/// Reads a scenario file's text: only a regular file (a FIFO would block, `/dev/zero` never
/// end), at most `FILE_BYTES_MAX` bytes, in UTF-8.
pub fn read_text(path: &Path) -> Result<String, ScenarioError> {
    use std::io::Read;
    let fail = |message: String| ScenarioError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        field: String::new(),
        message,
    };
    let cannot = |e: std::io::Error| fail(format!("cannot read the file: {e}"));
    // Look before opening: opening a FIFO for reading blocks until a writer comes.
    let kind = std::fs::metadata(path).map_err(cannot)?;
    let regular = |m: &std::fs::Metadata| {
        if m.is_dir() {
            Err(fail("is a directory: name a scenario file (YAML)".into()))
        } else if !m.is_file() {
            Err(fail("is not a regular file (a device, FIFO or socket): name a scenario file (YAML)".into()))
        } else if m.len() > FILE_BYTES_MAX {
            Err(fail(format!("is {} bytes; a scenario file may have at most {FILE_BYTES_MAX}", m.len())))
        } else {
            Ok(())
        }
    };
    regular(&kind)?;
    let file = std::fs::File::open(path).map_err(cannot)?;
    // Again on what was opened, in case the path changed in between.
    regular(&file.metadata().map_err(cannot)?)?;
    let mut bytes = Vec::new();
    file.take(FILE_BYTES_MAX + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > FILE_BYTES_MAX {
        return Err(fail(format!("grew past {FILE_BYTES_MAX} bytes while being read")));
    }
    String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|&&b| b == b'\n').count();
        ScenarioError { line: Some(line), ..fail("is not UTF-8 text: save the file as UTF-8".into()) }
    })
}

/// Validates scenario text; `path` names it in errors and gives the default name.
pub fn from_text(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let text = without_bom(text);
    let raw: RawScenario = yaml::parse(text).map_err(|f| parse_error(path, text, f))?;
    validate(path, raw).map_err(|(field, message)| ScenarioError {
        file: path.to_path_buf(),
        line: yaml::locate(text, &field),
        column: None,
        field,
        message,
    })
}

/// Editors on Windows start UTF-8 files with a byte order mark; YAML allows one at the start,
/// but the parser would read it as part of the first key.
fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The scenario with `overrides` (field path → value) applied, as a sweep point runs it.
pub fn with_overrides(path: &Path, text: &str, overrides: &[(String, yaml::Value)]) -> Result<Scenario, ScenarioError> {
    let text = without_bom(text);
    let mut doc = yaml::parse_value(text).map_err(|f| parse_error(path, text, f))?;
    for (field, value) in overrides {
        yaml::set_path(&mut doc, field, value).map_err(|message| ScenarioError {
            file: path.to_path_buf(),
            line: yaml::locate(text, "sweep.vary"),
            column: None,
            field: format!("sweep.vary.{field}"),
            message,
        })?;
    }
    let describe = |field: String, message: String| {
        let value = overrides.iter().map(|(p, v)| format!("{p} = {}", yaml::to_string(v).trim())).collect::<Vec<_>>();
        ScenarioError {
            file: path.to_path_buf(),
            line: yaml::locate(text, "sweep.vary"),
            column: None,
            field,
            message: format!("{message} (with sweep values {})", value.join(", ")),
        }
    };
    let raw: RawScenario = yaml::from_value(doc).map_err(|f| describe(f.field, with_hint(f.message)))?;
    validate(path, raw).map_err(|(field, message)| describe(field, message))
}

fn parse_error(path: &Path, text: &str, f: yaml::ParseFailure) -> ScenarioError {
    // serde reports a duplicate key at the mapping that holds it; point at the second copy.
    let duplicate = f.message.strip_prefix("duplicate field `").and_then(|rest| rest.split_once('`'));
    let (line, column) = match duplicate.and_then(|(key, _)| yaml::locate_duplicate(text, &f.field, key)) {
        Some(line) => (Some(line), None),
        None => (f.line, f.column),
    };
    ScenarioError { file: path.to_path_buf(), line, column, field: f.field, message: with_hint(f.message) }
}

/// serde quotes a float it did not expect in full (`1e308` as 309 digits): shorten each
/// quoted number longer than a line's worth.
fn short_quoted_numbers(message: &str) -> String {
    let parts: Vec<&str> = message.split('`').collect();
    let shortened = parts.iter().enumerate().map(|(i, part)| match part.parse::<f64>() {
        Ok(v) if i % 2 == 1 && part.len() > 24 => units::short_number(v),
        _ => part.to_string(),
    });
    shortened.collect::<Vec<_>>().join("`")
}

/// Adds a "did you mean" to serde's unknown-field and unknown-variant messages, and shortens
/// the numbers they quote.
fn with_hint(message: String) -> String {
    let message = short_quoted_numbers(&message);
    let Some(rest) = message.strip_prefix("unknown field `").or_else(|| message.strip_prefix("unknown variant `"))
    else {
        return message;
    };
    let Some((given, expected)) = rest.split_once('`') else { return message };
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match closest(given, &candidates) {
        Some(best) => format!("{message}; did you mean `{best}`?"),
        None => message,
    }
}

/// The candidate nearest `given` by edit distance, if near enough to be a typo. Failing a
/// whole-name match, the last words of a longer name count too, so that a shortened, misspelt
/// `hearbeat` still finds `broker_heartbeat`.
pub fn closest<'a>(given: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let near = |name: &str| {
        let d = edit_distance(given, name);
        (d <= (name.len().max(given.len()) / 3).max(2)).then_some(d)
    };
    let whole = candidates.iter().filter_map(|&c| near(c).map(|d| (d, c))).min();
    let tail = || {
        candidates
            .iter()
            .filter_map(|&c| c.match_indices('_').filter_map(|(i, _)| near(&c[i + 1..])).min().map(|d| (d, c)))
            .min()
    };
    whole.or_else(tail).map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

type Invalid = (String, String);

fn invalid<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, Invalid> {
    Err((field.into(), message.into()))
}

fn check(ok: bool, field: &str, message: impl FnOnce() -> String) -> Result<(), Invalid> {
    if ok { Ok(()) } else { invalid(field, message()) }
}

fn validate(path: &Path, raw: RawScenario) -> Result<Scenario, Invalid> {
    let name = match raw.name {
        Some(name) => name,
        None => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".into()),
    };
    check(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)), "name", || {
        format!("`{name}` must be letters, digits, `-`, `_` or `.` (it names the output directory)")
    })?;
    check(name != "." && name != "..", "name", || {
        format!("`{name}` would name the current or parent directory, not an output directory of its own")
    })?;
    check(name.len() <= NAME_CHARS_MAX, "name", || {
        format!("is {} characters long; at most {NAME_CHARS_MAX} (it names the output directory)", name.len())
    })?;
    let duration_us = raw.duration.0;
    check(duration_us > 0 && duration_us <= DURATION_US_MAX, "duration", || "must be between 1us and 30days".into())?;
    let timing = validate_timing(&raw.timing)?;
    let cluster = &raw.cluster;
    check((1..=NAMESERVERS_MAX).contains(&cluster.nameservers), "cluster.nameservers", || {
        format!("must be 1 to {NAMESERVERS_MAX}")
    })?;
    check((1..=BROKER_GROUPS_MAX).contains(&cluster.broker_groups), "cluster.broker_groups", || {
        format!("must be 1 to {BROKER_GROUPS_MAX}")
    })?;
    check(cluster.slaves_per_group <= SLAVES_PER_GROUP_MAX, "cluster.slaves_per_group", || {
        format!("must be 0 to {SLAVES_PER_GROUP_MAX}")
    })?;
    let group_names = default_group_names(cluster.broker_groups);
    let (failover, replication) = validate_group_roles(cluster, &group_names, timing.preset)?;
    let broker_service_time = match &cluster.broker_service_time {
        Some(l) => latency(l, "cluster.broker_service_time")?,
        None => Latency::Uniform { min_us: 200, max_us: 2 * US_PER_MS },
    };
    check(!raw.topics.is_empty(), "topics", || "name at least one topic".into())?;
    check(raw.topics.len() <= TOPICS_MAX, "topics", || format!("{} topics; at most {TOPICS_MAX}", raw.topics.len()))?;
    let mut topics: Vec<TopicConfig> = Vec::new();
    for (i, t) in raw.topics.iter().enumerate() {
        let field = format!("topics[{i}]");
        check(!topics.iter().any(|o| o.name == t.name), &format!("{field}.name"), || {
            format!("topic `{}` is named twice", t.name)
        })?;
        check(
            (1..=QUEUES_PER_BROKER_MAX).contains(&t.queues_per_broker),
            &format!("{field}.queues_per_broker"),
            || format!("must be 1 to {QUEUES_PER_BROKER_MAX}"),
        )?;
        let groups = match &t.brokers {
            None => (0..cluster.broker_groups as u16).collect(),
            Some(names) => {
                check(names.len() <= group_names.len(), &format!("{field}.brokers"), || {
                    format!("lists {} broker groups; the cluster has {}", names.len(), group_names.len())
                })?;
                let mut groups = Vec::new();
                for (j, n) in names.iter().enumerate() {
                    let Some(g) = group_names.iter().position(|g| g == n) else {
                        return invalid(format!("{field}.brokers[{j}]"), unknown_name("broker group", n, &group_names));
                    };
                    groups.push(g as u16);
                }
                groups.sort_unstable();
                groups.dedup();
                groups
            }
        };
        topics.push(TopicConfig { name: t.name.clone(), queues_per_broker: t.queues_per_broker as u16, groups });
    }
    let topic_names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
    check(!raw.producers.is_empty(), "producers", || "name at least one producer group".into())?;
    check(raw.producers.len() <= PRODUCER_GROUPS_MAX, "producers", || {
        format!("{} producer groups; at most {PRODUCER_GROUPS_MAX}", raw.producers.len())
    })?;
    let mut producers: Vec<ProducerGroup> = Vec::new();
    for (i, p) in raw.producers.iter().enumerate() {
        producers.push(validate_producer(i, p, &topic_names, timing.preset, duration_us, &producers)?);
    }
    for (i, p) in producers.iter().enumerate() {
        check(p.start_after_us < duration_us, &format!("producers[{i}].start_after"), || {
            "is after the end of the run (`duration`)".into()
        })?;
    }
    let total_producers: u64 = producers.iter().map(|p| u64::from(p.count)).sum();
    check(total_producers <= u64::from(PRODUCERS_MAX), "producers", || {
        format!("{total_producers} producers in all; at most {PRODUCERS_MAX}")
    })?;
    let mut consumers: Vec<ConsumerGroup> = Vec::new();
    for (i, c) in raw.consumers.iter().enumerate() {
        consumers.push(validate_consumer(i, c, &topic_names, duration_us, &producers, &consumers)?);
    }
    let layout = Layout {
        nameservers: cluster.nameservers,
        broker_groups: group_names,
        slaves_per_group: cluster.slaves_per_group,
        producer_groups: producers.iter().map(|p| (p.name.clone(), p.count)).collect(),
        consumer_groups: consumers.iter().map(|c| (c.name.clone(), c.count)).collect(),
    };
    let net = validate_network(&raw.network)?;
    let base_loss = net.links.clone().map(|l| l.loss);
    let faults = validate_faults(&raw.faults, &layout, duration_us, base_loss)?;
    let sweep = raw.sweep.map(|s| SweepSpec { seeds: s.seeds, vary: s.vary });
    let names = Names { layout: &layout };
    let explore = explore::validate(raw.explore.as_ref(), &names, duration_us, &raw.faults, base_loss)?;
    Ok(Scenario {
        file: path.to_path_buf(),
        description: raw.description,
        world: WorldConfig {
            name,
            seed: raw.seed.unwrap_or(DEFAULT_SEED),
            duration_us,
            timing,
            layout,
            broker_service_time,
            topics,
            producers,
            consumers,
            net,
            faults,
            failover,
            replication,
        },
        expect: raw.expect,
        sweep,
        explore,
    })
}

/// Each group's failover mode and replication: `cluster.failover` and `cluster.replication`,
/// or the group's own under `cluster.groups`.
fn validate_group_roles(
    cluster: &raw::RawCluster,
    group_names: &[String],
    preset: Preset,
) -> Result<(Vec<Failover>, Vec<Replication>), Invalid> {
    for name in cluster.groups.keys() {
        if !group_names.contains(name) {
            return invalid(format!("cluster.groups.{name}"), unknown_name("broker group", name, group_names));
        }
    }
    let mut failover = Vec::new();
    let mut replication = Vec::new();
    for name in group_names {
        let own = cluster.groups.get(name);
        let (mode, mode_field) = match own.and_then(|g| g.failover) {
            Some(mode) => (Some(mode), format!("cluster.groups.{name}.failover")),
            None => (cluster.failover, "cluster.failover".to_string()),
        };
        failover.push(validate_failover(mode, &mode_field, cluster.slaves_per_group, preset)?);
        let (copy, copy_field) = match own.and_then(|g| g.replication) {
            Some(copy) => (Some(copy), format!("cluster.groups.{name}.replication")),
            None => (cluster.replication, "cluster.replication".to_string()),
        };
        let copy = match copy {
            None | Some(RawReplication::Async) => Replication::Async,
            Some(RawReplication::Sync) => Replication::Sync,
        };
        check(copy == Replication::Async || cluster.slaves_per_group > 0, &copy_field, || {
            "`sync` needs a slave to acknowledge: set `slaves_per_group` to 1 or more".into()
        })?;
        replication.push(copy);
    }
    Ok((failover, replication))
}

/// A failover mode (named at `field`): each needs the replicas and the release it exists in.
fn validate_failover(mode: Option<RawFailover>, field: &str, slaves: u32, preset: Preset) -> Result<Failover, Invalid> {
    let failover = match mode {
        None | Some(RawFailover::Classic) => return Ok(Failover::Classic),
        Some(RawFailover::Dledger) => Failover::Dledger,
        Some(RawFailover::Controller) => Failover::Controller,
        Some(RawFailover::SlaveActingMaster) => Failover::SlaveActingMaster,
    };
    let needed = if failover == Failover::Dledger { 2 } else { 1 };
    check(slaves >= needed, "cluster.slaves_per_group", || match failover {
        Failover::Dledger => {
            "must be at least 2 with `failover: dledger`: a DLedger group elects by majority, so it needs 3 members"
                .into()
        }
        mode => format!("must be at least 1 with `failover: {}`: there is no slave to take over", mode.name()),
    })?;
    check(failover == Failover::Dledger || preset == Preset::RocketMq5, field, || {
        format!("`{}` exists from RocketMQ 5.0: add `preset: rocketmq-5` under `timing:`", failover.name())
    })?;
    Ok(failover)
}

fn validate_timing(raw: &raw::RawTiming) -> Result<Timing, Invalid> {
    let preset = match raw.preset {
        None | Some(RawPreset::RocketMq4) => Preset::RocketMq4,
        Some(RawPreset::RocketMq5) => Preset::RocketMq5,
    };
    let mut t = Timing::preset(preset);
    let set = |slot: &mut SimTime, value: Option<units::Dur>| {
        if let Some(v) = value {
            *slot = v.0;
        }
    };
    set(&mut t.broker_register_period_us, raw.broker_heartbeat);
    set(&mut t.broker_register_initial_delay_us, raw.broker_register_initial_delay);
    set(&mut t.broker_register_timeout_us, raw.broker_register_timeout);
    set(&mut t.broker_unregister_timeout_us, raw.broker_unregister_timeout);
    set(&mut t.nameserver_scan_us, raw.nameserver_scan);
    set(&mut t.nameserver_scan_initial_delay_us, raw.nameserver_scan_initial_delay);
    set(&mut t.broker_expiry_us, raw.broker_expiry);
    set(&mut t.client_route_poll_us, raw.client_route_poll);
    set(&mut t.client_route_poll_initial_delay_us, raw.client_route_poll_initial_delay);
    set(&mut t.client_api_timeout_us, raw.client_api_timeout);
    set(&mut t.connect_timeout_us, raw.connect_timeout);
    set(&mut t.start_window_us, raw.start_window);
    set(&mut t.nameserver_start_window_us, raw.nameserver_start_window);
    set(&mut t.consumer_heartbeat_us, raw.consumer_heartbeat);
    set(&mut t.rebalance_interval_us, raw.rebalance_interval);
    set(&mut t.pull_suspend_us, raw.pull_suspend);
    set(&mut t.pull_timeout_us, raw.pull_timeout);
    set(&mut t.pull_retry_delay_us, raw.pull_retry_delay);
    set(&mut t.offset_persist_us, raw.offset_persist);
    set(&mut t.client_expiry_us, raw.client_expiry);
    set(&mut t.dledger_heartbeat_us, raw.dledger_heartbeat);
    set(&mut t.dledger_vote_interval_min_us, raw.dledger_vote_interval_min);
    set(&mut t.dledger_vote_interval_max_us, raw.dledger_vote_interval_max);
    set(&mut t.broker_heartbeat_interval_us, raw.broker_heartbeat_interval);
    set(&mut t.broker_not_active_timeout_us, raw.broker_not_active_timeout);
    set(&mut t.controller_heartbeat_timeout_us, raw.controller_heartbeat_timeout);
    set(&mut t.controller_scan_us, raw.controller_scan);
    if let Some(leak) = raw.dledger_heartbeat_leak {
        check((1..=100).contains(&leak), "timing.dledger_heartbeat_leak", || {
            "must be 1 to 100 (missed heartbeats before a follower stands for election)".into()
        })?;
        t.dledger_heartbeat_leak = leak;
    }
    for (slot, value) in [
        (&mut t.fail_fast_on_peer_close, raw.fail_fast_on_peer_close),
        (&mut t.unregister_before_close, raw.unregister_before_close),
        (&mut t.route_query_tries_every_nameserver, raw.route_query_tries_every_nameserver),
        (&mut t.route_poll_queries_default_topic, raw.route_poll_queries_default_topic),
        (&mut t.nameserver_push, raw.nameserver_push),
        (&mut t.client_refresh_on_failure, raw.client_refresh_on_failure),
    ] {
        if let Some(v) = value {
            *slot = v;
        }
    }
    if let Some(idle) = raw.nameserver_channel_idle {
        t.nameserver_channel_idle_us = idle.0;
    }
    if let Some(idle) = raw.broker_channel_idle {
        t.broker_channel_idle_us = idle.0;
    }
    check(
        (REGISTER_NAME_SERVER_PERIOD_US_MIN..=REGISTER_NAME_SERVER_PERIOD_US_MAX)
            .contains(&t.broker_register_period_us),
        "timing.broker_heartbeat",
        || "must be 10s to 60s: RocketMQ clamps registerNameServerPeriod to that range".into(),
    )?;
    // Timeouts and periods: RocketMQ takes them in milliseconds (MODEL.md section 9), so 1 ms
    // is the least it accepts; initial delays and start windows may be 0. Nothing may exceed
    // the longest run, which also keeps every sum of times the model forms far from overflow.
    for (field, value_us, min_us) in [
        ("timing.broker_register_initial_delay", t.broker_register_initial_delay_us, 0),
        ("timing.broker_register_timeout", t.broker_register_timeout_us, SETTING_US_MIN),
        ("timing.broker_unregister_timeout", t.broker_unregister_timeout_us, SETTING_US_MIN),
        ("timing.nameserver_scan", t.nameserver_scan_us, SETTING_US_MIN),
        ("timing.nameserver_scan_initial_delay", t.nameserver_scan_initial_delay_us, 0),
        ("timing.broker_expiry", t.broker_expiry_us, SETTING_US_MIN),
        ("timing.client_route_poll", t.client_route_poll_us, SETTING_US_MIN),
        ("timing.client_route_poll_initial_delay", t.client_route_poll_initial_delay_us, 0),
        ("timing.client_api_timeout", t.client_api_timeout_us, SETTING_US_MIN),
        ("timing.connect_timeout", t.connect_timeout_us, SETTING_US_MIN),
        ("timing.start_window", t.start_window_us, 0),
        ("timing.nameserver_start_window", t.nameserver_start_window_us, 0),
        ("timing.consumer_heartbeat", t.consumer_heartbeat_us, SETTING_US_MIN),
        ("timing.rebalance_interval", t.rebalance_interval_us, SETTING_US_MIN),
        ("timing.pull_suspend", t.pull_suspend_us, SETTING_US_MIN),
        ("timing.pull_timeout", t.pull_timeout_us, SETTING_US_MIN),
        ("timing.pull_retry_delay", t.pull_retry_delay_us, SETTING_US_MIN),
        ("timing.offset_persist", t.offset_persist_us, SETTING_US_MIN),
        ("timing.client_expiry", t.client_expiry_us, SETTING_US_MIN),
        ("timing.dledger_heartbeat", t.dledger_heartbeat_us, SETTING_US_MIN),
        ("timing.dledger_vote_interval_min", t.dledger_vote_interval_min_us, SETTING_US_MIN),
        ("timing.dledger_vote_interval_max", t.dledger_vote_interval_max_us, SETTING_US_MIN),
        ("timing.broker_heartbeat_interval", t.broker_heartbeat_interval_us, SETTING_US_MIN),
        ("timing.broker_not_active_timeout", t.broker_not_active_timeout_us, SETTING_US_MIN),
        ("timing.controller_heartbeat_timeout", t.controller_heartbeat_timeout_us, SETTING_US_MIN),
        ("timing.controller_scan", t.controller_scan_us, SETTING_US_MIN),
    ] {
        within(field, value_us, min_us, DURATION_US_MAX)?;
    }
    check(
        t.dledger_vote_interval_min_us <= t.dledger_vote_interval_max_us,
        "timing.dledger_vote_interval_max",
        || "must be at least `dledger_vote_interval_min` (the vote wait is drawn between the two)".into(),
    )?;
    for (idle_us, field) in [
        (t.nameserver_channel_idle_us, "timing.nameserver_channel_idle"),
        (t.broker_channel_idle_us, "timing.broker_channel_idle"),
    ] {
        if idle_us != 0 {
            check((IDLE_US_MIN..=DURATION_US_MAX).contains(&idle_us), field, || {
                format!(
                    "must be from {} to {} (serverChannelMaxIdleTimeSeconds is in whole seconds), or `off`",
                    show_us(IDLE_US_MIN),
                    show_us(DURATION_US_MAX)
                )
            })?;
        }
    }
    Ok(t)
}

/// `x` rounded up to three significant digits, written plainly (`0.00834`).
fn round_up_3_digits(x: f64) -> String {
    let decimals = (2 - x.log10().floor() as i32).max(0);
    let scale = 10f64.powi(decimals);
    format!("{:.*}", decimals as usize, (x * scale).ceil() / scale)
}

/// A duration setting from `min_us` to `max_us`.
fn within(field: &str, value_us: SimTime, min_us: SimTime, max_us: SimTime) -> Result<(), Invalid> {
    check((min_us..=max_us).contains(&value_us), field, || {
        let why = if value_us < min_us {
            "RocketMQ takes it in milliseconds and rejects a period of 0"
        } else {
            "a run lasts at most 30 days"
        };
        format!("must be from {} to {} ({why})", show_us(min_us), show_us(max_us))
    })
}

/// A duration as the scenario would write it (`30s`, `30days`).
fn show_us(us: SimTime) -> String {
    humantime::format_duration(std::time::Duration::from_micros(us)).to_string().replace(' ', "")
}

fn latency(raw: &RawLatency, field: &str) -> Result<Latency, Invalid> {
    let longest = [raw.constant, raw.uniform.map(|u| u.max), raw.lognormal.map(|l| l.p99)];
    check(longest.iter().flatten().all(|d| d.0 <= LATENCY_US_MAX), field, || {
        format!("latencies above {} are not modelled (the network caps a delay there)", show_us(LATENCY_US_MAX))
    })?;
    match (raw.constant, raw.uniform, raw.lognormal) {
        (Some(d), None, None) => Ok(Latency::Constant { us: d.0 }),
        (None, Some(raw::RawUniform { min, max }), None) => {
            check(min.0 <= max.0, field, || "uniform: `min` must not exceed `max`".into())?;
            Ok(Latency::Uniform { min_us: min.0, max_us: max.0 })
        }
        (None, None, Some(raw::RawLogNormal { median, p99 })) => {
            check(median.0 > 0 && p99.0 >= median.0, field, || {
                "lognormal: need 0 < median <= p99 (e.g. `{median: 1ms, p99: 10ms}`)".into()
            })?;
            Ok(Latency::LogNormal { median_us: median.0, p99_us: p99.0 })
        }
        _ => invalid(
            field,
            "give exactly one of `{constant: 1ms}`, `{uniform: {min: 1ms, max: 5ms}}`, `{lognormal: {median: 1ms, p99: 10ms}}`",
        ),
    }
}

fn loss(value: f64, field: &str) -> Result<f64, Invalid> {
    check(value.is_finite() && (0.0..=LOSS_MAX).contains(&value), field, || {
        format!("`{}` must be a probability from 0 to {LOSS_MAX}", units::short_number(value))
    })?;
    Ok(value)
}

/// Default link: a data centre network, median 0.5 ms, p99 5 ms one way.
fn default_latency() -> Latency {
    Latency::LogNormal { median_us: 500, p99_us: 5 * US_PER_MS }
}

fn validate_network(raw: &raw::RawNetwork) -> Result<NetConfig, Invalid> {
    let base_latency = match &raw.latency {
        Some(l) => latency(l, "network.latency")?,
        None => default_latency(),
    };
    let base_loss = loss(raw.loss.unwrap_or(0.0), "network.loss")?;
    let mut links = std::array::from_fn(|_| LinkConfig { latency: base_latency.clone(), loss: base_loss });
    for (class, link) in &raw.links {
        let class = link_class(*class);
        let field = format!("network.links.{}", class.name());
        let slot = &mut links[class as usize];
        if let Some(l) = &link.latency {
            slot.latency = latency(l, &format!("{field}.latency"))?;
        }
        if let Some(p) = link.loss {
            slot.loss = loss(p, &format!("{field}.loss"))?;
        }
    }
    Ok(NetConfig { links, rto_min_us: RTO_MIN_US_LINUX })
}

fn link_class(raw: RawLinkClass) -> LinkClass {
    match raw {
        RawLinkClass::BrokerNs => LinkClass::BrokerNs,
        RawLinkClass::ClientNs => LinkClass::ClientNs,
        RawLinkClass::ClientBroker => LinkClass::ClientBroker,
    }
}

/// A producer or consumer group's name: it prefixes its clients' names.
fn check_client_group_name(field: &str, name: &str) -> Result<(), Invalid> {
    check(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        &format!("{field}.name"),
        || format!("`{name}` must be letters, digits or `_` (clients are named `{name}-0`, `{name}-1`, ...)"),
    )?;
    check(!name.starts_with("broker") && !name.starts_with("ns"), &format!("{field}.name"), || {
        format!("`{name}` would clash with NameServer or broker names")
    })
}

fn validate_producer(
    i: usize,
    p: &raw::RawProducer,
    topics: &[String],
    preset: Preset,
    duration_us: SimTime,
    before: &[ProducerGroup],
) -> Result<ProducerGroup, Invalid> {
    let field = format!("producers[{i}]");
    check_client_group_name(&field, &p.name)?;
    check(!before.iter().any(|o| o.name == p.name), &format!("{field}.name"), || {
        format!("producer group `{}` is named twice", p.name)
    })?;
    check(p.count >= 1, &format!("{field}.count"), || "must be at least 1".into())?;
    let Some(topic) = topics.iter().position(|t| *t == p.topic) else {
        return invalid(format!("{field}.topic"), unknown_name("topic", &p.topic, topics));
    };
    check(p.rate.is_finite() && (0.0..=RATE_PER_S_MAX).contains(&p.rate), &format!("{field}.rate"), || {
        format!("sends per second per producer, from 0 to {RATE_PER_S_MAX}")
    })?;
    // A rate so low that a producer expects less than one send in the whole run is a slip
    // (a unit, or a sweep value); its first gap could also lie past any time the run reaches.
    let rate_min = US_PER_S as f64 / duration_us as f64;
    check(p.rate == 0.0 || p.rate >= rate_min, &format!("{field}.rate"), || {
        format!(
            "`{}` sends per second is less than one send per producer in the whole run; refused \
             (not run as 0): write `rate: 0` for no traffic, or at least {}",
            units::short_number(p.rate),
            round_up_3_digits(rate_min)
        )
    })?;
    let mode = match (p.mode.unwrap_or(RawSendMode::Sync), p.threads) {
        (RawSendMode::Async, Some(_)) => {
            return invalid(format!("{field}.threads"), "only sync producers have sending threads; remove `threads`");
        }
        (RawSendMode::Async, None) => SendMode::Async,
        (RawSendMode::Sync, threads) => {
            let threads = threads.unwrap_or(DEFAULT_SYNC_THREADS);
            check((1..=THREADS_MAX).contains(&threads), &format!("{field}.threads"), || {
                format!("must be 1 to {THREADS_MAX}")
            })?;
            SendMode::Sync { threads }
        }
    };
    let retries = p.retries.unwrap_or(RETRY_TIMES_WHEN_SEND_FAILED);
    check(retries <= RETRIES_MAX, &format!("{field}.retries"), || format!("must be 0 to {RETRIES_MAX}"))?;
    let send_timeout_us = p.send_timeout.map_or(SEND_MSG_TIMEOUT_US, |d| d.0);
    within(&format!("{field}.send_timeout"), send_timeout_us, SETTING_US_MIN, DURATION_US_MAX)?;
    let table = match preset {
        Preset::RocketMq4 => LatencyFaultTable::Classic,
        Preset::RocketMq5 => LatencyFaultTable::Modern,
    };
    Ok(ProducerGroup {
        name: p.name.clone(),
        count: p.count,
        topic: topic as u16,
        rate_per_s: p.rate,
        mode,
        retries,
        send_timeout_us,
        latency_fault: p.latency_fault.then_some(table),
        start_after_us: p.start_after.map_or(0, |d| d.0),
    })
}

fn validate_consumer(
    i: usize,
    c: &raw::RawConsumer,
    topics: &[String],
    duration_us: SimTime,
    producers: &[ProducerGroup],
    before: &[ConsumerGroup],
) -> Result<ConsumerGroup, Invalid> {
    let field = format!("consumers[{i}]");
    check_client_group_name(&field, &c.name)?;
    check(
        !producers.iter().any(|p| p.name == c.name) && !before.iter().any(|o| o.name == c.name),
        &format!("{field}.name"),
        || format!("`{}` already names a producer or consumer group", c.name),
    )?;
    check((1..=CONSUMER_GROUP_MEMBERS_MAX).contains(&c.count), &format!("{field}.count"), || {
        format!("must be 1 to {CONSUMER_GROUP_MEMBERS_MAX} (larger consumer groups are not modelled)")
    })?;
    let Some(topic) = topics.iter().position(|t| *t == c.topic) else {
        return invalid(format!("{field}.topic"), unknown_name("topic", &c.topic, topics));
    };
    let start_after_us = c.start_after.map_or(0, |d| d.0);
    check(start_after_us < duration_us, &format!("{field}.start_after"), || {
        "is after the end of the run (`duration`)".into()
    })?;
    let consume_rate_per_s = c.consume_rate.unwrap_or(0.0);
    check(
        consume_rate_per_s.is_finite() && (0.0..=RATE_PER_S_MAX).contains(&consume_rate_per_s),
        &format!("{field}.consume_rate"),
        || format!("messages per second per consumer, from 0 (at once) to {RATE_PER_S_MAX}"),
    )?;
    Ok(ConsumerGroup { name: c.name.clone(), count: c.count, topic: topic as u16, start_after_us, consume_rate_per_s })
}

fn unknown_name(what: &str, given: &str, known: &[String]) -> String {
    if known.is_empty() {
        return format!("no {what} named `{given}`: there is none");
    }
    let refs: Vec<&str> = known.iter().map(String::as_str).collect();
    let hint = closest(given, &refs).map(|c| format!("did you mean `{c}`? ")).unwrap_or_default();
    let listed = if known.len() <= 12 {
        known.join(", ")
    } else {
        format!("{}, ... {} in all", known[..10].join(", "), known.len())
    };
    format!("no {what} named `{given}`; {hint}known: {listed}")
}

/// Names a fault may target: every node, plus group aliases for partitions. Names are parsed
/// against the layout rather than searched in a list of every node's name, so that a thousand
/// faults over a million producers stay quick.
struct Names<'a> {
    layout: &'a Layout,
}

/// `7` from `7`, but not from `07`, `+7` or `7x`: node names have one spelling.
fn canonical_index(digits: &str) -> Option<u32> {
    let digits_only = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let canonical = digits_only && (digits == "0" || !digits.starts_with('0'));
    canonical.then(|| digits.parse().ok()).flatten()
}

impl Names<'_> {
    fn lookup(&self, name: &str) -> Option<u32> {
        let l = self.layout;
        let found = if let Some(i) = name.strip_prefix("ns-").and_then(canonical_index) {
            Some(i)
        } else if let Some((g, rest)) =
            l.broker_groups.iter().enumerate().find_map(|(g, group)| name.strip_prefix(group.as_str()).map(|r| (g, r)))
        {
            let member = if rest.is_empty() { Some(0) } else { rest.strip_prefix("-s").and_then(canonical_index) };
            member.map(|m| l.first_broker() + g as u32 * l.brokers_per_group() + m)
        } else {
            let mut first = l.first_client();
            l.producer_groups.iter().chain(&l.consumer_groups).find_map(|(prefix, count)| {
                let index =
                    name.strip_prefix(prefix.as_str()).and_then(|r| r.strip_prefix('-')).and_then(canonical_index);
                let node = index.filter(|i| i < count).map(|i| first + i);
                first += count;
                node
            })
        };
        // The parse is a shortcut; the layout's own naming has the last word.
        found.filter(|&node| node < l.nodes() && l.node_name(node) == name)
    }

    fn node(&self, name: &str, field: &str) -> Result<u32, Invalid> {
        match self.lookup(name) {
            Some(node) => Ok(node),
            None => invalid(field, unknown_name("node", name, &self.layout.node_names())),
        }
    }

    /// A node name, `nameservers`, `brokers`, `producers`, or a producer group's name.
    fn group(&self, name: &str, field: &str) -> Result<std::ops::Range<u32>, Invalid> {
        let l = self.layout;
        match name {
            "nameservers" => return Ok(0..l.nameservers),
            "brokers" => return Ok(l.first_broker()..l.first_client()),
            "producers" => return Ok(l.first_client()..l.first_client() + l.producer_clients()),
            "consumers" => return Ok(l.first_client() + l.producer_clients()..l.nodes()),
            _ => {}
        }
        let mut first = l.first_client();
        for (prefix, count) in l.producer_groups.iter().chain(&l.consumer_groups) {
            if prefix == name {
                return Ok(first..first + count);
            }
            first += count;
        }
        self.node(name, field).map(|n| n..n + 1).map_err(|(f, m)| {
            (f, format!("{m}; or a group: nameservers, brokers, producers, consumers, or a client group's name"))
        })
    }
}

/// Fault ids given so far, and for each default id the next suffix to try, so that a default
/// id is found in one or two lookups however many faults share the target.
#[derive(Default)]
struct FaultIds {
    taken: std::collections::BTreeSet<String>,
    next_suffix: BTreeMap<String, u32>,
}

impl FaultIds {
    /// A second fault on the same target gets `-2`, and so on.
    fn default_id(&mut self, base: String) -> String {
        let n = self.next_suffix.entry(base.clone()).or_insert(1);
        loop {
            let id = if *n == 1 { base.clone() } else { format!("{base}-{n}") };
            *n += 1;
            if !self.taken.contains(&id) {
                return id;
            }
        }
    }

    fn take(&mut self, id: &str, field: &str, message: impl FnOnce() -> String) -> Result<(), Invalid> {
        check(self.taken.insert(id.to_string()), field, message)
    }
}

fn validate_faults(
    raw: &[RawFault],
    layout: &Layout,
    duration_us: SimTime,
    base_loss: [f64; 3],
) -> Result<Vec<FaultSpec>, Invalid> {
    check(raw.len() <= FAULTS_MAX, "faults", || format!("{} faults; at most {FAULTS_MAX}", raw.len()))?;
    let names = Names { layout };
    let mut faults: Vec<FaultSpec> = Vec::new();
    let mut ids = FaultIds::default();
    let mut partition_ids: Vec<(String, u32)> = Vec::new();
    for (i, f) in raw.iter().enumerate() {
        let field = format!("faults[{i}]");
        check(f.at.0 < duration_us, &format!("{field}.at"), || "is not before the end of the run (`duration`)".into())?;
        let kind = f.kind;
        let allowed: &[&str] = match kind {
            RawFaultKind::Crash => &["target", "mode", "duration"],
            RawFaultKind::Shutdown | RawFaultKind::Pause => &["target", "duration"],
            RawFaultKind::Restart | RawFaultKind::Resume => &["target"],
            RawFaultKind::Partition => &["groups", "one_way", "duration"],
            RawFaultKind::Heal => &["target"],
            RawFaultKind::Loss => &["probability", "class", "duration"],
        };
        for (name, present) in [
            ("target", f.target.is_some()),
            ("mode", f.mode.is_some()),
            ("duration", f.duration.is_some()),
            ("groups", f.groups.is_some()),
            ("one_way", f.one_way.is_some()),
            ("probability", f.probability.is_some()),
            ("class", f.class.is_some()),
        ] {
            check(!present || allowed.contains(&name), &format!("{field}.{name}"), || {
                format!("a `{kind:?}` fault takes only: {}", allowed.join(", ")).to_lowercase()
            })?;
        }
        let target_node = |f: &RawFault| -> Result<(u32, String), Invalid> {
            let Some(t) = &f.target else {
                return invalid(format!("{field}.target"), "name the node this fault hits, e.g. `target: broker-a`");
            };
            Ok((names.node(t, &format!("{field}.target"))?, t.clone()))
        };
        let mut end: Option<FaultAction> = None;
        let (action, target) = match kind {
            RawFaultKind::Crash => {
                let (node, t) = target_node(f)?;
                let Some(mode) = f.mode else {
                    return invalid(format!("{field}.mode"), "say how it crashes: `mode: kill` or `mode: power-off`");
                };
                let mode = match mode {
                    RawCrashMode::Kill => CrashMode::Kill,
                    RawCrashMode::PowerOff => CrashMode::PowerOff,
                };
                end = Some(FaultAction::Restart { node });
                (FaultAction::Crash { node, mode }, t)
            }
            RawFaultKind::Shutdown => {
                let (node, t) = target_node(f)?;
                end = Some(FaultAction::Restart { node });
                (FaultAction::Shutdown { node }, t)
            }
            RawFaultKind::Restart => {
                let (node, t) = target_node(f)?;
                (FaultAction::Restart { node }, t)
            }
            RawFaultKind::Pause => {
                let (node, t) = target_node(f)?;
                end = Some(FaultAction::Resume { node });
                (FaultAction::Pause { node }, t)
            }
            RawFaultKind::Resume => {
                let (node, t) = target_node(f)?;
                (FaultAction::Resume { node }, t)
            }
            RawFaultKind::Partition => {
                let Some(groups) = &f.groups else {
                    return invalid(
                        format!("{field}.groups"),
                        "list the two sides, e.g. `groups: [[broker-a], [nameservers]]`",
                    );
                };
                check(groups.len() == 2, &format!("{field}.groups"), || {
                    format!("a partition has exactly two sides; got {}", groups.len())
                })?;
                let side_bytes = (partition_ids.len() as u64 + 1) * u64::from(layout.nodes());
                check(side_bytes <= PARTITION_SIDE_BYTES_MAX, &format!("{field}.groups"), || {
                    format!(
                        "{} partitions of {} nodes: each keeps a byte per node for the run, at most \
                         {PARTITION_SIDE_BYTES_MAX} bytes in all",
                        partition_ids.len() + 1,
                        layout.nodes()
                    )
                })?;
                let mut side = vec![Side::None; layout.nodes() as usize];
                for (g, members) in groups.iter().enumerate() {
                    check(!members.is_empty(), &format!("{field}.groups[{g}]"), || {
                        "a side needs at least one node".into()
                    })?;
                    for (m, name) in members.iter().enumerate() {
                        for node in names.group(name, &format!("{field}.groups[{g}][{m}]"))? {
                            check(side[node as usize] == Side::None, &format!("{field}.groups[{g}][{m}]"), || {
                                format!("`{}` is on both sides", layout.node_name(node))
                            })?;
                            side[node as usize] = if g == 0 { Side::First } else { Side::Second };
                        }
                    }
                }
                let partition = i as u32;
                let id = f.id.clone().unwrap_or_else(|| format!("partition-{i}"));
                partition_ids.push((id.clone(), partition));
                end = Some(FaultAction::Heal { partition: Some(partition) });
                (FaultAction::Partition { partition, side, one_way: f.one_way.unwrap_or(false) }, id)
            }
            RawFaultKind::Heal => match &f.target {
                None => (FaultAction::Heal { partition: None }, "all".to_string()),
                Some(t) => match partition_ids.iter().find(|(id, _)| id == t) {
                    Some(&(_, partition)) => (FaultAction::Heal { partition: Some(partition) }, t.clone()),
                    None if partition_ids.is_empty() => {
                        return invalid(
                            format!("{field}.target"),
                            format!(
                                "no earlier partition named `{t}`: no partition comes before this heal; \
                                 a heal names an earlier partition's `id` (or leave out `target` to heal all)"
                            ),
                        );
                    }
                    None => {
                        let known: Vec<String> = partition_ids.iter().map(|(id, _)| id.clone()).collect();
                        return invalid(format!("{field}.target"), unknown_name("earlier partition", t, &known));
                    }
                },
            },
            RawFaultKind::Loss => {
                let Some(p) = f.probability else {
                    return invalid(
                        format!("{field}.probability"),
                        "give the loss probability, e.g. `probability: 0.1`",
                    );
                };
                let probability = loss(p, &format!("{field}.probability"))?;
                let class = f.class.map(link_class);
                // Only the classes the fault changes are set, and its end restores each of
                // them to its own base loss.
                let hits = |c: LinkClass| class.is_none_or(|only| only == c);
                let set = LinkClass::ALL.map(|c| hits(c).then_some(probability));
                let restore = LinkClass::ALL.map(|c| hits(c).then_some(base_loss[c as usize]));
                end = Some(FaultAction::Loss { probabilities: restore });
                (FaultAction::Loss { probabilities: set }, class.map_or("all", |c| c.name()).to_string())
            }
        };
        let id = match &f.id {
            Some(id) => id.clone(),
            None => ids.default_id(default_fault_id(&action, &target)),
        };
        ids.take(&id, &format!("{field}.id"), || {
            format!("fault id `{id}` is used twice; give this fault its own `id:`")
        })?;
        let at_us = f.at.0;
        faults.push(FaultSpec { id: id.clone(), at_us, action, target: target.clone() });
        if let (Some(d), Some(end)) = (f.duration, end) {
            let end_us = at_us.checked_add(d.0).filter(|&end_us| end_us < duration_us);
            let Some(end_us) = end_us else {
                return invalid(
                    format!("{field}.duration"),
                    "the fault would end after the run does; shorten it or lengthen `duration`",
                );
            };
            let end_id = format!("{id}-end");
            ids.take(&end_id, &format!("{field}.id"), || {
                format!(
                    "this fault's end is named `{end_id}`, which another fault uses; give one of them its own `id:`"
                )
            })?;
            faults.push(FaultSpec { id: end_id, at_us: end_us, action: end, target });
        }
    }
    Ok(faults)
}

/// A fault that takes something out of service is named after its target (`broker-a`), so
/// expectations read `faults[broker-a]`; the others after their kind and target.
fn default_fault_id(action: &FaultAction, target: &str) -> String {
    match action {
        FaultAction::Crash { .. } | FaultAction::Shutdown { .. } | FaultAction::Pause { .. } => target.to_string(),
        other => format!("{}-{target}", other.kind()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(closest("durtion", &["duration", "seed"]), Some("duration"));
        assert_eq!(closest("zzz", &["duration", "seed"]), None);
        assert_eq!(closest("hearbeat", &["preset", "broker_heartbeat", "nameserver_scan"]), Some("broker_heartbeat"));
        assert!(
            with_hint("unknown field `durtion`, expected one of `name`, `duration`".into())
                .ends_with("did you mean `duration`?")
        );
    }
}
