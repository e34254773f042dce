//! Virtual time: integer microseconds since the start of the run. No wall clock ever enters.

/// Microseconds since the start of the run.
pub type SimTime = u64;

pub const US_PER_MS: u64 = 1_000;
pub const US_PER_S: u64 = 1_000_000;

/// Seconds as a float, for reports only; the model never computes with floats of time.
#[inline]
pub fn secs(us: SimTime) -> f64 {
    us as f64 / US_PER_S as f64
}
