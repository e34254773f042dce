//! How big a run is, estimated from its validated `WorldConfig` before it starts, so that a
//! run that cannot finish on an ordinary machine is refused with a message instead of dying
//! of out-of-memory hours later.
//!
//! The model is deliberately simple (README, section "Limits"), and calibrated against the
//! shipped scenarios (`tests/limits.rs` checks the event estimate is within 0.5x-2x of each
//! one's `totals.events`):
//! - events: about 3 per send (its arrival, the request's delivery, the answer's), 3 per route
//!   poll and per registration with one NameServer (timer, request, answer), one per scan,
//!   idle check and process start; scans and first route computations also walk tables, which
//!   count as a fraction of an event per entry;
//! - memory: a fixed base, ~2.6 KB per producer (measured: RNG streams, channels, caches), the
//!   in-flight sends (~1 KB each with their events), one counter row per simulated second, per fault a latency histogram and
//!   a slot per client, partitions' side maps, and the interned route snapshots (each broker's
//!   first registration makes a new route, each as long as the brokers listed so far).

use crate::engine::{SimTime, US_PER_S};
use crate::model::config::{FaultAction, SendMode, WorldConfig};

/// Refuse runs estimated above this many events: at the 3-8 M events/s measured on the
/// development machine (README, section Speed) that is 20 minutes to an hour of one core.
pub const EVENTS_MAX: f64 = 1e10;
/// Refuse runs estimated above this much memory: a third of the 23 GiB development machine,
/// leaving room for a second run, the build and the rest of the system. Fixed, not read from
/// the machine, so that a scenario is accepted or refused the same way everywhere.
pub const MEMORY_BYTES_MAX: f64 = 8.0 * GIB;

const GIB: f64 = (1u64 << 30) as f64;
const BASE_BYTES: f64 = 16.0 * 1024.0 * 1024.0;
/// Measured: 100,000 idle producers took 264 MB of peak RSS.
const PRODUCER_BYTES: f64 = 2_600.0;
const SERVER_BYTES: f64 = 1_500.0;
/// A send slot, its deadline entry, its pending events and its share of the queue's buckets
/// (fitted: `large-fleet`'s 20,000 sending threads take ~20 MB more than idle producers).
const IN_FLIGHT_SEND_BYTES: f64 = 1_000.0;
const SECOND_ROW_BYTES: f64 = 128.0;
/// An HdrHistogram of 1 µs to 1 h at 3 significant digits, per fault.
const FAULT_HISTOGRAM_BYTES: f64 = 200_000.0;
/// Walking one table entry (a scan's broker, a route's group) costs about this many events.
const ENTRY_EVENTS: f64 = 0.125;

/// A run's estimated size, with the largest contributions named.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    pub events: f64,
    pub memory_bytes: f64,
    /// (what, events) of the largest event term, to say what to shrink.
    pub events_biggest: (&'static str, f64),
    pub memory_biggest: (&'static str, f64),
}

pub fn estimate(w: &WorldConfig) -> Estimate {
    let t = &w.timing;
    let l = &w.layout;
    let secs = |us: SimTime| us as f64 / US_PER_S as f64;
    let run_s = secs(w.duration_us);
    let rounds = |period_us: SimTime| run_s / secs(period_us).max(1e-6);
    let (ns, brokers, producers) = (f64::from(l.nameservers), f64::from(l.brokers()), f64::from(l.clients()));
    // Clients start a start window after the brokers, spread over a second one.
    let client_start_s = 1.5 * secs(t.start_window_us);
    let mut sends = 0.0;
    let mut in_flight = 0.0;
    for g in &w.producers {
        let active_s = (run_s - secs(g.start_after_us) - client_start_s).max(0.0);
        sends += f64::from(g.count) * g.rate_per_s * active_s;
        // The slab grows to the most sends open at once: the arrivals of one budget, capped by
        // the threads (sync) or the async permits.
        let cap = match g.mode {
            SendMode::Sync { threads } => f64::from(threads),
            SendMode::Async => 65_535.0,
        };
        let per_producer = (g.rate_per_s * secs(g.send_timeout_us)).clamp(1.0, cap);
        in_flight += f64::from(g.count) * per_producer;
    }
    // Consumers: a pull request and reply (and the wake of a held pull) per message read,
    // a held pull per queue every suspend period, heartbeats to every broker, and the master's
    // push to its slaves every 100 ms (the store runs only when a consumer exists).
    let consumed_sends: f64 = w
        .producers
        .iter()
        .filter(|g| w.consumers.iter().any(|c| c.topic == g.topic))
        .map(|g| f64::from(g.count) * g.rate_per_s * (run_s - secs(g.start_after_us) - client_start_s).max(0.0))
        .sum();
    let consumers: f64 = w.consumers.iter().map(|c| f64::from(c.count)).sum();
    let consumed_queues: f64 = w
        .consumers
        .iter()
        .map(|c| {
            let topic = &w.topics[usize::from(c.topic)];
            topic.groups.len() as f64 * f64::from(topic.queues_per_broker)
        })
        .sum();
    let slaves = f64::from(l.broker_groups.len() as u32 * l.slaves_per_group);
    let consumer_events = if consumers == 0.0 {
        0.0
    } else {
        4.0 * consumed_sends
            + 4.0 * consumed_queues * rounds(t.pull_suspend_us)
            + 2.0 * consumers * brokers * rounds(t.consumer_heartbeat_us)
            + 2.0 * slaves * run_s * 10.0
    };
    let route_groups: f64 = w.topics.iter().map(|topic| topic.groups.len() as f64).sum();
    let events_terms = [
        ("sends", 3.0 * sends),
        ("route polls", 3.0 * producers * (rounds(t.client_route_poll_us) + 1.0)),
        ("registrations", 3.0 * brokers * ns * rounds(t.broker_register_period_us)),
        ("NameServer scans", ns * rounds(t.nameserver_scan_us) * (1.0 + brokers * ENTRY_EVENTS)),
        ("route computations", ns * brokers * route_groups * ENTRY_EVENTS),
        ("process starts", f64::from(l.nodes())),
        ("faults", w.faults.len() as f64 * f64::from(l.nodes()) * ENTRY_EVENTS),
        ("consumers", consumer_events),
    ];
    let bpg = f64::from(l.brokers_per_group());
    let faults = w.faults.len() as f64;
    let partitions = w.faults.iter().filter(|f| matches!(f.action, FaultAction::Partition { .. })).count() as f64;
    let routes: f64 = w
        .topics
        .iter()
        .map(|topic| {
            let g = topic.groups.len() as f64;
            let route_bytes = g * (2.0 * f64::from(topic.queues_per_broker) + 8.0);
            route_bytes * (bpg * g / 2.0 + 2.0 * faults)
        })
        .sum();
    let memory_terms = [
        ("fixed", BASE_BYTES),
        ("producers", producers * (PRODUCER_BYTES + 8.0 * l.broker_groups.len() as f64)),
        ("NameServers and brokers", (ns + brokers) * SERVER_BYTES + 48.0 * ns * brokers),
        ("in-flight sends", in_flight * IN_FLIGHT_SEND_BYTES),
        ("per-second counters", run_s * SECOND_ROW_BYTES),
        ("per-fault metrics", faults * (FAULT_HISTOGRAM_BYTES + 16.0 * producers)),
        ("partitions", partitions * f64::from(l.nodes())),
        ("routes", routes),
    ];
    let biggest = |terms: &[(&'static str, f64)]| {
        terms.iter().copied().fold(("nothing", 0.0), |best, term| if term.1 > best.1 { term } else { best })
    };
    Estimate {
        events: events_terms.iter().map(|(_, e)| e).sum(),
        memory_bytes: memory_terms.iter().map(|(_, b)| b).sum(),
        events_biggest: biggest(&events_terms),
        memory_biggest: biggest(&memory_terms),
    }
}

/// Why the run is too large to start, or `None` when it fits.
pub fn refusal(w: &WorldConfig) -> Option<String> {
    let e = estimate(w);
    let mut over = Vec::new();
    if e.events > EVENTS_MAX {
        over.push(format!(
            "about {:.1e} events (limit {EVENTS_MAX:.0e}, about an hour of one core), mostly {}",
            e.events, e.events_biggest.0
        ));
    }
    if e.memory_bytes > MEMORY_BYTES_MAX {
        over.push(format!(
            "about {:.1} GiB of memory (limit {:.0} GiB), mostly {}",
            e.memory_bytes / GIB,
            MEMORY_BYTES_MAX / GIB,
            e.memory_biggest.0
        ));
    }
    if over.is_empty() {
        return None;
    }
    Some(format!(
        "`{}` is too large to run here: {}. Shorten `duration`, or use fewer or slower producers, \
         fewer brokers or longer periods; or pass --allow-large to run it anyway",
        w.name,
        over.join("; ")
    ))
}
