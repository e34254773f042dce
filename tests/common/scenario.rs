//! Running a scenario given as text with a seed, and finding a fault's figures: shared by the
//! closed-form tests.

use std::path::Path;

use routesim::report::{FaultSummary, Summary};
use routesim::scenario;

pub fn run(text: &str, seed: u64) -> Summary {
    let mut s = scenario::from_text(Path::new("test.yaml"), text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    s.world.seed = seed;
    routesim::simulate(s.world).summary
}

pub fn fault<'a>(summary: &'a Summary, id: &str) -> &'a FaultSummary {
    summary.faults.iter().find(|f| f.id == id).unwrap_or_else(|| panic!("no fault {id}"))
}
