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

/// The nearest whole microsecond to a non-negative `us` (half up; saturating). On the hot path
/// of every latency and arrival draw: `f64::round` is a libm call (4.5% of a run), this is an
/// add and a truncating conversion. It differs from `round` only just below a half, where the
/// add itself rounds up (x = k + 0.5 - 2^-53 (k + 1)): draws that never decide a figure.
#[inline]
pub fn round_us(us: f64) -> SimTime {
    debug_assert!(us >= 0.0, "a duration is not negative: {us}");
    (us + 0.5) as SimTime
}

#[cfg(test)]
mod round_tests {
    use super::round_us;

    #[test]
    fn round_us_is_round_on_halves_and_whole_numbers() {
        for (us, expected) in
            [(0.0, 0), (0.4, 0), (0.5, 1), (1.5, 2), (2.5, 3), (999.49, 999), (1e12 + 0.5, 1_000_000_000_001)]
        {
            assert_eq!(round_us(us), expected, "{us}");
            assert_eq!(round_us(us), us.round() as u64, "{us}");
        }
        assert_eq!(round_us(f64::MAX), u64::MAX, "saturates");
    }
}
