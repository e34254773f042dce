//! routesim: a deterministic discrete-event simulator of Apache RocketMQ's routing center.
//!
//! Layers, data flowing one way: `scenario` (YAML → validated config) → `model` (the world:
//! NameServers, brokers, producers over `net`, driven by `engine`) → `metrics` → `report` →
//! `output`. See ARCHITECTURE.md.

pub mod bench;
pub mod check;
pub mod compare;
pub mod consume_meter;
pub mod engine;
pub mod expect;
pub mod explore;
pub mod group_meter;
pub mod metrics;
pub mod model;
pub mod net;
pub mod output;
pub mod report;
pub mod run_shard;
pub mod runner;
pub mod scenario;
pub mod sweep;
pub mod tune;

/// Runs one simulation of `config` to its end. Panics if an end-of-run invariant fails (a
/// bug in the model, whatever the scenario).
pub fn simulate(config: model::config::WorldConfig) -> report::RunReport {
    finish(model::World::new(config).run())
}

/// Runs one simulation, handing trace records to `tracer`.
pub fn simulate_traced(config: model::config::WorldConfig, tracer: model::trace::Tracer) -> report::RunReport {
    finish(model::World::new(config).with_tracer(tracer).run())
}

/// Runs one simulation, with an optional tracer, calling `progress(now_us, events)` every
/// `model::PROGRESS_EVERY_EVENTS` events; the callback only observes (`run`'s progress bar).
pub fn simulate_watched(
    config: model::config::WorldConfig,
    tracer: Option<model::trace::Tracer>,
    progress: &dyn Fn(engine::SimTime, u64),
) -> report::RunReport {
    let world = model::World::new(config);
    let world = match tracer {
        Some(tracer) => world.with_tracer(tracer),
        None => world,
    };
    finish(world.run_watched(progress))
}

/// Runs one simulation split over `threads` threads into `parts` parts of its clients when
/// it may split (`model::split`): the same report, byte for byte, as `simulate`.
pub fn simulate_split(
    config: model::config::WorldConfig,
    parts: std::num::NonZeroUsize,
    threads: std::num::NonZeroUsize,
    progress: &(dyn Fn(engine::SimTime, u64) + Sync),
) -> report::RunReport {
    finish(model::split::run(config, parts, threads, progress))
}

/// The report as written: the metrics' numbers with the output layer's sentences.
pub(crate) fn finish(mut report: report::RunReport) -> report::RunReport {
    output::explain::write_sentences(&mut report.summary);
    report
}
