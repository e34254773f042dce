//! The one runner of parallel (scenario, seed) work, shared by `check` and `sweep`.
//!
//! It takes a list of jobs, runs them on a thread pool and hands the results back in job order
//! whatever order they finish in, so a caller's output never depends on thread timing. A panic
//! in a run is a bug in the model: it is caught and reported with the scenario, the seed and the
//! command that replays it, and the other jobs still finish.

use std::fmt;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

/// The most worker threads a command may ask for: more only adds memory and contention on any
/// machine routesim is meant for.
pub const THREADS_MAX: u16 = 256;

/// One thread per core, or one where the core count is unknown.
pub fn default_threads() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

/// Which run a job is, for the report of a panic.
pub trait Job: Sync {
    /// The scenario file, as the user could type it again.
    fn scenario(&self) -> &Path;
    fn seed(&self) -> u64;
    /// What else the replay needs besides the file and the seed (a sweep's grid point), or
    /// nothing.
    fn detail(&self) -> String {
        String::new()
    }
}

/// A run that panicked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Panicked {
    pub scenario: PathBuf,
    pub seed: u64,
    pub detail: String,
    /// The panic's message, when it carried one.
    pub message: String,
}

impl Panicked {
    /// The command that runs the same scenario with the same seed.
    pub fn replay(&self) -> String {
        format!("routesim run {} --seed {}", shell_word(&self.scenario.to_string_lossy()), self.seed)
    }
}

impl fmt::Display for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let detail = if self.detail.is_empty() { String::new() } else { format!(" ({})", self.detail) };
        write!(
            f,
            "the run of {} with seed {}{detail} panicked (a bug in routesim, please report it): {}; replay: {}",
            self.scenario.display(),
            self.seed,
            self.message,
            self.replay()
        )
    }
}

/// Why the runner gave no results.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("cannot start {threads} threads: {message}")]
    Threads { threads: usize, message: String },
    /// Every run that panicked, in job order.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\nerror: "))]
    Panicked(Vec<Panicked>),
}

/// Runs `work` on every job on `threads` threads (default: one per CPU), calling `progress`
/// after each job ends. Results come back in job order.
pub fn run<J: Job, R: Send>(
    jobs: &[J],
    threads: Option<NonZeroUsize>,
    progress: Option<&(dyn Fn() + Sync)>,
    work: impl Fn(&J) -> R + Sync,
) -> Result<Vec<R>, RunnerError> {
    let threads = threads.unwrap_or_else(default_threads).get();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| RunnerError::Threads { threads, message: e.to_string() })?;
    // `collect` on an indexed parallel iterator keeps the input order.
    let results: Vec<Result<R, Panicked>> = pool.install(|| {
        jobs.par_iter()
            .map(|job| {
                let result = catch_unwind(AssertUnwindSafe(|| work(job))).map_err(|payload| Panicked {
                    scenario: job.scenario().to_path_buf(),
                    seed: job.seed(),
                    detail: job.detail(),
                    message: panic_message(payload.as_ref()),
                });
                if let Some(progress) = progress {
                    progress();
                }
                result
            })
            .collect()
    });
    let panicked: Vec<Panicked> = results.iter().filter_map(|r| r.as_ref().err().cloned()).collect();
    if panicked.is_empty() { Ok(results.into_iter().flatten().collect()) } else { Err(RunnerError::Panicked(panicked)) }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".to_string()
    }
}

/// `word` as one POSIX shell word: unchanged when it is plainly safe, else single-quoted.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./,:=+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Seed(u64);

    impl Job for Seed {
        fn scenario(&self) -> &Path {
            Path::new("my dir/x.yaml")
        }
        fn seed(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn results_come_in_job_order_whatever_the_completion_order() {
        let jobs: Vec<Seed> = (0..64).map(Seed).collect();
        let done = AtomicUsize::new(0);
        let tick = || {
            done.fetch_add(1, Ordering::Relaxed);
        };
        // Early jobs sleep longest, so they finish last on two threads.
        let results = run(&jobs, NonZeroUsize::new(2), Some(&tick), |job| {
            std::thread::sleep(std::time::Duration::from_micros(64 - job.0));
            job.0 * 10
        })
        .unwrap();
        assert_eq!(results, (0..64).map(|s| s * 10).collect::<Vec<_>>());
        assert_eq!(done.load(Ordering::Relaxed), 64);
    }

    #[test]
    fn a_panic_is_reported_with_its_scenario_seed_and_replay() {
        let jobs: Vec<Seed> = (1..=5).map(Seed).collect();
        let Err(RunnerError::Panicked(panics)) = run(&jobs, NonZeroUsize::new(2), None, |job| {
            assert!(job.0 % 2 == 1, "even seed {}", job.0);
            job.0
        }) else {
            panic!("two runs panicked");
        };
        assert_eq!(panics.iter().map(|p| p.seed).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(panics[0].message, "even seed 2");
        assert_eq!(panics[0].replay(), "routesim run 'my dir/x.yaml' --seed 2");
        assert!(panics[1].to_string().contains("replay: routesim run 'my dir/x.yaml' --seed 4"), "{}", panics[1]);
    }
}
