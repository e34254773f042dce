//! `run --shard K/N` and `run --merge DIR...`: one run's clients split across machines
//! (model/split.rs does the splitting). Shard K of N simulates the K-th of N equal ranges of
//! the clients, beside its own copy of the control plane, and writes what they measured
//! (`partial.json`); the merge runs the control plane alone and merges every shard into the
//! report an unsplit run writes, byte for byte.

use std::num::NonZeroUsize;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::SimTime;
use crate::metrics::PartMeasures;
use crate::model::config::WorldConfig;
use crate::model::split;
use crate::output::OutputError;
use crate::report::RunReport;
use crate::sweep::{self, Shard};

const PARTIAL_FORMAT: &str = "routesim-run-partial/1";

/// Which run a shard belongs to: the merge takes only shards of the same one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunIdentity {
    pub scenario: String,
    /// FNV-1a (64 bit, hex) of the scenario file's bytes.
    pub scenario_hash: String,
    pub routesim_version: String,
    pub seed: u64,
}

impl RunIdentity {
    /// The run of the scenario file `path`, whose text is `text`, with `seed`.
    pub fn new(path: &Path, text: &str, seed: u64) -> RunIdentity {
        RunIdentity {
            scenario: path.to_string_lossy().into_owned(),
            scenario_hash: sweep::scenario_hash(text),
            routesim_version: env!("CARGO_PKG_VERSION").to_string(),
            seed,
        }
    }

    fn difference(&self, other: &RunIdentity) -> String {
        if self.scenario_hash != other.scenario_hash {
            format!(
                "scenario file {} (hash {}) against {} (hash {})",
                self.scenario, self.scenario_hash, other.scenario, other.scenario_hash
            )
        } else if self.routesim_version != other.routesim_version {
            format!("routesim {} against {}", self.routesim_version, other.routesim_version)
        } else {
            format!("seed {} against {}", self.seed, other.seed)
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Partial {
    format: String,
    shard: Shard,
    run: RunIdentity,
    parts: Vec<PartMeasures>,
}

/// The clients shard `shard` simulates: the `shard.index`-th of `shard.count` equal ranges
/// (empty when there are fewer clients than shards).
pub fn shard_clients(clients: u32, shard: Shard) -> Range<u32> {
    split::part_range(clients, shard.index, shard.count)
}

/// Simulates shard `shard` of `config`'s run, its clients split over `threads` threads. An
/// error says why the run cannot split.
pub fn run(
    config: &WorldConfig,
    shard: Shard,
    threads: NonZeroUsize,
    progress: &(dyn Fn(SimTime, u64) + Sync),
) -> Result<(Range<u32>, Vec<PartMeasures>), String> {
    if let Some(why) = split::refusal(config) {
        return Err(format!("this run cannot be sharded: {why}; run it whole"));
    }
    let clients = shard_clients(config.layout.clients(), shard);
    let ranges = match NonZeroUsize::new(clients.len()) {
        None => Vec::new(),
        Some(len) => split::part_ranges(len.get() as u32, threads)
            .into_iter()
            .map(|r| r.start + clients.start..r.end + clients.start)
            .collect(),
    };
    Ok((clients, split::measure_parts(config, ranges, threads, progress)))
}

/// Writes shard `shard`'s `partial.json` into `dir` (which exists).
pub fn write_partial(dir: &Path, run: &RunIdentity, shard: Shard, parts: Vec<PartMeasures>) -> Result<(), OutputError> {
    let partial = Partial { format: PARTIAL_FORMAT.into(), shard, run: run.clone(), parts };
    sweep::write_partial_file(dir, &partial)
}

/// The report of run `run` of `config` from its shards' directories `dirs`: every shard
/// once, each of this run (same scenario bytes, seed and version), merged with the control
/// plane simulated here.
pub fn merge(config: WorldConfig, run: &RunIdentity, dirs: &[PathBuf]) -> Result<RunReport, String> {
    let mut by_shard: Vec<Option<&Path>> = Vec::new();
    let mut parts = Vec::new();
    for dir in dirs {
        let partial: Partial = sweep::read_partial(dir, PARTIAL_FORMAT)?;
        if partial.run != *run {
            return Err(format!(
                "{} is a shard of another run: {} (shard and merge the same scenario file with the same seed and \
                 routesim)",
                dir.display(),
                partial.run.difference(run)
            ));
        }
        let Shard { index, count } = partial.shard;
        if by_shard.is_empty() {
            by_shard = vec![None; count as usize];
        } else if count as usize != by_shard.len() {
            return Err(format!(
                "{} is shard {index}/{count}, the first is of {}: every shard must split the run the same number of ways",
                dir.display(),
                by_shard.len()
            ));
        }
        if let Some(other) = by_shard[index as usize].replace(dir) {
            return Err(format!("shard {index}/{count} is given twice: {} and {}", other.display(), dir.display()));
        }
        parts.extend(partial.parts);
    }
    if by_shard.is_empty() {
        return Err("name at least one shard directory".into());
    }
    let count = by_shard.len();
    let missing: Vec<usize> = (0..count).filter(|&k| by_shard[k].is_none()).collect();
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|k| format!("{k}/{count}")).collect();
        let commands: Vec<String> =
            names.iter().map(|k| format!("`routesim run {} --seed {} --shard {k}`", run.scenario, run.seed)).collect();
        return Err(format!(
            "missing shard{} {} of the run of `{}`; run {}",
            if missing.len() == 1 { "" } else { "s" },
            names.join(", "),
            run.scenario,
            commands.join(", ")
        ));
    }
    split::merge(config, parts).map(crate::finish)
}
