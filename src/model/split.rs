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

/// The client ranges of `parts` parts (fewer when there are fewer clients), in client order.
pub fn part_ranges(clients: u32, parts: NonZeroUsize) -> Vec<Range<u32>> {
    let parts = (parts.get() as u32).min(clients).max(1);
    let bound = |k: u32| (u64::from(clients) * u64::from(k) / u64::from(parts)) as u32;
    (0..parts).map(|k| bound(k)..bound(k + 1)).collect()
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
    // The control world is one more job beside the parts, the last: the smallest.
    let mut jobs: Vec<Option<Range<u32>>> = ranges.into_iter().map(Some).collect();
    jobs.push(None);
    let mut done = run_jobs(&config, jobs, threads, progress);
    let Some(Done::Control(control)) = done.pop() else { unreachable!("the last job is the control world") };
    let (control, info) = *control;
    let parts = done.into_iter().map(|d| match d {
        Done::Part(part) => part,
        Done::Control(..) => unreachable!("one control world"),
    });
    let (metrics, info) = Metrics::merge_parts(control, info, parts.collect()).expect("the parts of one run merge");
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
    let jobs = ranges.into_iter().map(Some).collect();
    let parts = run_jobs(config, jobs, threads, progress).into_iter().map(|d| match d {
        Done::Part(part) => part,
        Done::Control(..) => unreachable!("no control world was asked for"),
    });
    parts.collect()
}

/// The report of the run whose parts (every client once) are `parts`: the control world runs
/// here, and the parts merge into it. An error names parts that do not belong together.
pub fn merge(config: WorldConfig, parts: Vec<PartMeasures>) -> Result<RunReport, String> {
    let clients = config.layout.clients();
    let (_, control, info) = World::with_clients(config.clone(), 0..0).run_measured(&|_, _| ());
    if parts.iter().any(|p| p.clients.end > clients) {
        return Err(format!("a part holds clients beyond the scenario's {clients}"));
    }
    let (metrics, info) = Metrics::merge_parts(control, info, parts)?;
    Ok(metrics.report(&config, info))
}

/// What a world of a split run hands back.
enum Done {
    Part(PartMeasures),
    /// Boxed: a world's measurements are much larger than a part's.
    Control(Box<(Metrics, RunInfo)>),
}

/// Runs one world per job, in parallel, results in job order: `Some(clients)` a part, `None`
/// the control world (no client).
fn run_jobs(
    config: &WorldConfig,
    jobs: Vec<Option<Range<u32>>>,
    threads: NonZeroUsize,
    progress: &(dyn Fn(SimTime, u64) + Sync),
) -> Vec<Done> {
    let watch = Watch::new(jobs.len());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads.get()).build().expect("a thread pool");
    pool.install(|| {
        jobs.into_par_iter()
            .enumerate()
            .map(|(world, job)| {
                let report = |now_us, events| watch.report(world, now_us, events, progress);
                let clients = job.clone().unwrap_or(0..0);
                let (_, metrics, info) = World::with_clients(config.clone(), clients).run_measured(&report);
                watch.finished(world);
                match job {
                    Some(clients) => Done::Part(metrics.part_measures(clients, &info)),
                    None => Done::Control(Box::new((metrics, info))),
                }
            })
            .collect()
    })
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
