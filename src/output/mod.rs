//! Everything a run leaves on disk besides the simulation itself.

pub mod charts;
