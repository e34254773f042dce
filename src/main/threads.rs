//! `--threads`, shared by every command that runs many simulations through the runner.

use std::num::NonZeroUsize;

use routesim::runner::THREADS_MAX;

#[derive(Clone, Copy, Debug, Default, clap::Args)]
pub struct ThreadsArg {
    /// Worker threads for the simulations (default: one per core); the results are the same
    /// for any count.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=i64::from(THREADS_MAX)))]
    pub threads: Option<u16>,
}

impl ThreadsArg {
    /// The count asked for; `None`: the runner's default (one per core).
    pub fn get(self) -> Option<NonZeroUsize> {
        self.threads.and_then(|n| NonZeroUsize::new(usize::from(n)))
    }
}
