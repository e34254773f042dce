//! What a run reports: `summary.json`'s schema and the rows behind the CSV files and charts
//! (docs/OUTPUT.md). Plain data, serialisable both ways so `check`, `sweep` and `chart` can
//! read a finished run back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub routesim_version: String,
    pub duration_s: f64,
    pub preset: String,
    pub nameservers: Vec<String>,
    pub faults: Vec<FaultSummary>,
    pub false_removals: Vec<FalseRemoval>,
    pub nameserver_load: BTreeMap<String, NameServerLoad>,
    pub totals: Totals,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSummary {
    pub id: String,
    pub kind: String,
    pub mode: Option<String>,
    pub target: String,
    pub at_s: f64,
    pub subjects: Vec<String>,
    pub detection_s: BTreeMap<String, Option<f64>>,
    pub detection_window_s: Option<Window>,
    pub convergence_s: Convergence,
    pub stale_window_s: Option<f64>,
    pub stale_attempts: u64,
    pub failed_attempts: u64,
    pub failed_sends: u64,
    pub recovered_by_retry: u64,
    pub added_latency_ms: Percentiles,
    /// Why the stale window was as long as it was; `null` for faults without subjects.
    pub explain: Option<Explanation>,
    /// What consumers saw (docs/CONSUMERS-DESIGN.md section 5); absent from runs without
    /// consumers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consume_gap_s: Option<ConsumeGaps>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_failures: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_to_consume_ms: Option<Delays>,
    /// Per NameServer: seconds from the fault until it lists another master for the failed
    /// master's group (`null` per NameServer: never). The field is `null` when the struck
    /// groups are classic (no slave is promoted), and absent without consumers or failover.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub failover_s: Option<Option<BTreeMap<String, Option<f64>>>>,
    /// Per broker group whose master the fault struck: seconds until a send to the group
    /// that left after the fault succeeded (`null`: none did); absent without consumers or
    /// failover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_unavailable_s: Option<BTreeMap<String, Option<f64>>>,
    /// Acknowledged messages the promoted master did not hold (not `totals.messages_lost`,
    /// which counts network messages); absent without consumers or failover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_lost: Option<u64>,
}

/// A field that may be `null` but also absent: present (`null` included) is `Some`, absent is
/// the `default`, `None`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Per (consumer group, queue) of a fault: its longest stretch with messages waiting and
/// nothing delivered, over the fault's window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumeGaps {
    pub p50: Option<f64>,
    pub max: Option<f64>,
    pub queues: u64,
    /// Queues whose gap was still open when the run ended.
    pub never: u64,
}

/// Store-to-consume delays of the messages a fault's window saw consumed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delays {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub messages: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Explanation {
    pub nameservers: BTreeMap<String, NameServerMoment>,
    pub slowest_client: Option<ClientMoment>,
    pub last_stale_attempt: Option<ClientMoment>,
    /// The same, as sentences (`routesim explain` prints them).
    pub text: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameServerMoment {
    /// The last registration of a subject this NameServer processed before the fault.
    pub last_registration_s: Option<f64>,
    pub removed_s: Option<f64>,
    /// `unregistered`, `channel-closed`, `idle-close` or `expired`.
    pub cause: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientMoment {
    pub client: String,
    pub at_s: f64,
    pub nameserver: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub lo: f64,
    pub hi: f64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Convergence {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
    /// Clients whose route held a subject when the fault struck.
    pub clients: u64,
    /// Of those, clients still holding a subject at the end of the run.
    pub never: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FalseRemoval {
    pub nameserver: String,
    pub broker: String,
    pub at_s: f64,
    /// Until the NameServer listed the broker again, or the end of the run.
    pub missing_s: f64,
    pub relisted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameServerLoad {
    pub requests: u64,
    pub requests_per_s: f64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    pub events: u64,
    pub sends: u64,
    pub attempts: u64,
    pub failed_attempts: u64,
    pub failed_sends: u64,
    /// Of `failed_sends`, those that found no route (none known, or no master in it).
    pub failed_sends_no_route: u64,
    pub false_removals: u64,
    pub false_removal_missing_s_max: Option<f64>,
    pub messages: u64,
    pub messages_lost: u64,
}

/// One second of `timeseries.csv`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondCounts {
    pub second: u64,
    pub attempts: u64,
    pub failed_attempts: u64,
    pub sends: u64,
    pub failed_sends: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectionRow {
    pub fault_id: String,
    pub nameserver: String,
    pub detection_s: Option<f64>,
    pub window_lo_s: Option<f64>,
    pub window_hi_s: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvergenceRow {
    pub fault_id: String,
    pub client: String,
    pub convergence_s: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineRow {
    pub node: String,
    pub role: String,
    pub layer: String,
    pub state: String,
    pub start_s: f64,
    pub end_s: f64,
}

/// Everything one run produces, before it is written anywhere.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    pub summary: Summary,
    pub timeseries: Vec<SecondCounts>,
    pub detection: Vec<DetectionRow>,
    pub convergence: Vec<ConvergenceRow>,
    pub timeline: Vec<TimelineRow>,
    /// `reads.csv`: per second and consumer group, its queues waiting for a reader (empty,
    /// and the file not written, in runs without consumers).
    pub reads: Vec<ReadsRow>,
}

/// One row of `reads.csv`: at the end of `second`, how many of the consumer group's queues
/// had messages waiting with nothing delivered for at least a second.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadsRow {
    pub second: u64,
    pub consumer_group: String,
    pub queues: u32,
    pub queues_waiting: u32,
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `q` (0 to 1) of
/// the values at or below it. The one nearest-rank helper: metrics, sweeps and `expect:`
/// aggregates all use it.
pub fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    debug_assert!(sorted.windows(2).all(|w| w[0] <= w[1]));
    if sorted.is_empty() {
        return None;
    }
    // In integer parts per million, so that no float rounding moves the rank (0.99 x 100 must
    // be rank 99, not 100).
    let ppm = (q.clamp(0.0, 1.0) * 1e6).round() as u64;
    let n = sorted.len() as u64;
    let rank = (ppm * n).div_ceil(1_000_000).clamp(1, n);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 0.5), Some(50.0));
        assert_eq!(nearest_rank(&v, 0.99), Some(99.0));
        assert_eq!(nearest_rank(&v, 1.0), Some(100.0));
        assert_eq!(nearest_rank(&[3.0], 0.01), Some(3.0));
        assert_eq!(nearest_rank(&[], 0.5), None);
        // n = 300: 0.99 x 300 = 297 exactly, whatever the float product says.
        let v: Vec<f64> = (1..=300).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 0.99), Some(297.0));
        assert_eq!(nearest_rank(&v, 0.9), Some(270.0));
    }
}
