//! One run over several cores (issue 12): the clients split into parts, each simulated beside
//! its own copy of the control plane, and the parts' measurements merged into exactly what one
//! world running every client measures.
//!
//! Why this is exact: a client touches the control plane (NameServers, brokers, faults) and
//! the other clients only through requests whose answers do not depend on any other client,
//! provided nobody keeps what the clients send. So a run may split when no broker keeps
//! messages (`WorldConfig::replication_active` is false: no consumers, no failover, no `sync`
//! replication); otherwise the brokers' stores carry one client's sends into another's reads
//! and into the elections, and the run stays whole. The model keeps the rest apart:
//! - every entity draws from its own streams, and what a server draws for a request comes
//!   from the requester's (`Ctx::requester_rng`; a channel's delays, both ways, from the node
//!   that opened it);
//! - a paused NameServer's backlog races the brokers' requests among themselves (seeded),
//!   then answers the clients' in arrival order;
//! - the event queue orders by (time, insertion): a part's events are a subset of the whole
//!   run's, inserted in the same relative order, so they pop in the same relative order;
//! - a measurement that picks one client (the slowest, the last stale attempt) breaks ties by
//!   client index, never by event order.
//!
//! A world with no client measures the control plane alone; each part's counts of events,
//! messages and NameServer requests are that plus what its clients add, so the whole run's are
//! the control plane's plus the sum of the parts' excess (`Metrics::merge_parts`). The merge
//! asserts, in release builds, that every part saw the control plane as the control world did;
//! tests/split.rs checks the merged bytes against the whole run on every shipped scenario
//! that may split.

use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::World;
use super::config::WorldConfig;
use crate::engine::SimTime;
use crate::metrics::{Metrics, PartMeasures, RunInfo};
use crate::report::RunReport;

/// Whether `config`'s run may split into parts (see the module's comment), and if not, why.
pub fn refusal(config: &WorldConfig) -> Option<&'static str> {
    if !config.consumers.is_empty() {
        Some("its consumers read what its producers send (the brokers' stores join them)")
    } else if config.any_failover() {
        Some("its failover elections compare the brokers' stores, which its producers fill")
    } else if config.replication_active() {
        Some("its sync replication makes each send wait for a copy of the others' messages")
    } else {
        None
    }
}

/// The `k`-th of `parts` equal ranges of `clients` clients (empty when there are fewer
/// clients than parts): how both a split run and a shard of one (`run --shard`) cut them.
pub fn part_range(clients: u32, k: u64, parts: u64) -> Range<u32> {
    let bound = |k: u64| (u64::from(clients) * k / parts) as u32;
    bound(k)..bound(k + 1)
}

/// The client ranges of `parts` parts (fewer when there are fewer clients), in client order.
pub fn part_ranges(clients: u32, parts: NonZeroUsize) -> Vec<Range<u32>> {
    let parts = (parts.get() as u64).min(u64::from(clients)).max(1);
    (0..parts).map(|k| part_range(clients, k, parts)).collect()
}

/// Runs `config` split into `parts` parts on `threads` threads (a whole run when it may not
/// split or `parts` is one), calling `progress(now_us, events)` as `World::run_watched` does:
/// the slowest world's virtual time and every world's events. The report is the same bytes
/// for any `parts` and `threads`.
pub fn run(
    config: WorldConfig,
    parts: NonZeroUsize,
    threads: NonZeroUsize,
    progress: &(dyn Fn(SimTime, u64) + Sync),
) -> RunReport {
    if parts.get() == 1 || refusal(&config).is_some() || config.layout.clients() < 2 {
        return World::new(config).run_watched(progress);
    }
    let ranges = part_ranges(config.layout.clients(), parts);
    // The control world is one more world beside the parts, watched last.
    let watch = Watch::new(ranges.len() + 1);
    let control_world = ranges.len();
    let control = || {
        let done = run_world(&config, 0..0, &|now_us, events| watch.report(control_world, now_us, events, progress));
        watch.finished(control_world);
        done
    };
    let ((control, info), parts) =
        pool(threads).install(|| rayon::join(control, || measure(&config, ranges, &watch, progress)));
    let (metrics, info) = Metrics::merge_parts(control, info, parts).expect("the parts of one run merge");
    metrics.report(&config, info)
}

/// Runs the parts of `config` holding the clients `ranges` (a shard of a run: `run --shard`),
/// on `threads` threads, for `merge`.
pub fn measure_parts(
    config: &WorldConfig,
    ranges: Vec<Range<u32>>,
    threads: NonZeroUsize,
    progress: &(dyn Fn(SimTime, u64) + Sync),
) -> Vec<PartMeasures> {
    let watch = Watch::new(ranges.len());
    pool(threads).install(|| measure(config, ranges, &watch, progress))
}

/// The report of the run whose parts (every client once) are `parts`: the control world runs
/// here, and the parts merge into it. An error names parts that do not belong together.
pub fn merge(config: WorldConfig, parts: Vec<PartMeasures>) -> Result<RunReport, String> {
    let clients = config.layout.clients();
    if parts.iter().any(|p| p.clients.end > clients) {
        return Err(format!("a part holds clients beyond the scenario's {clients}"));
    }
    let (control, info) = run_world(&config, 0..0, &|_, _| ());
    let (metrics, info) = Metrics::merge_parts(control, info, parts)?;
    Ok(metrics.report(&config, info))
}

fn pool(threads: NonZeroUsize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(threads.get()).build().expect("a thread pool")
}

/// One world of `config` running the clients `clients` (none: the control world), to its end.
fn run_world(config: &WorldConfig, clients: Range<u32>, progress: &dyn Fn(SimTime, u64)) -> (Metrics, RunInfo) {
    let (_, metrics, info) = World::with_clients(config.clone(), clients).run_measured(progress);
    (metrics, info)
}

/// The parts holding the clients `ranges`, in parallel on the current pool, in range order;
/// part `k` reports its progress as world `k` of `watch`.
fn measure(
    config: &WorldConfig,
    ranges: Vec<Range<u32>>,
    watch: &Watch,
    progress: &(dyn Fn(SimTime, u64) + Sync),
) -> Vec<PartMeasures> {
    ranges
        .into_par_iter()
        .enumerate()
        .map(|(world, clients)| {
            let (metrics, info) =
                run_world(config, clients.clone(), &|now_us, events| watch.report(world, now_us, events, progress));
            watch.finished(world);
            metrics.part_measures(clients, &info)
        })
        .collect()
}

/// The worlds' progress, summed for one callback.
struct Watch {
    now_us: Vec<AtomicU64>,
    events: Vec<AtomicU64>,
}

impl Watch {
    fn new(worlds: usize) -> Watch {
        Watch {
            now_us: (0..worlds).map(|_| AtomicU64::new(0)).collect(),
            events: (0..worlds).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// A finished world no longer holds the slowest time back.
    fn finished(&self, world: usize) {
        self.now_us[world].store(SimTime::MAX, Ordering::Relaxed);
    }

    fn report(&self, world: usize, now_us: SimTime, events: u64, progress: &(dyn Fn(SimTime, u64) + Sync)) {
        self.now_us[world].store(now_us, Ordering::Relaxed);
        self.events[world].store(events, Ordering::Relaxed);
        let slowest_us = self.now_us.iter().map(|t| t.load(Ordering::Relaxed)).min().unwrap_or(now_us);
        let events = self.events.iter().map(|e| e.load(Ordering::Relaxed)).sum();
        progress(slowest_us, events);
    }
}
