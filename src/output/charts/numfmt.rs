//! Number formatting, axis ticks and the log-ish y scale, all built from IEEE basic operations
//! only (add, multiply, divide, sqrt, floor) so that labels and pixel positions come out the same
//! on every machine. `f64::ln` and friends call the platform's libm, whose last bit may differ
//! between CPUs (glibc picks FMA variants at run time), so they are avoided here.

/// `v` with at most `max_decimals` decimals, trailing zeros trimmed (`3.50` → `3.5`, `4.0` → `4`).
pub(crate) fn num(v: f64, max_decimals: usize) -> String {
    if !v.is_finite() {
        return "?".to_string();
    }
    let mut s = format!("{v:.max_decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    // Rounding a tiny negative number must not print as "-0".
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

/// Like [`num`], with an em dash for a missing value.
pub(crate) fn opt_num(v: Option<f64>, max_decimals: usize) -> String {
    v.map_or_else(|| "—".to_string(), |v| num(v, max_decimals))
}

/// Evenly spaced "nice" ticks (1, 2 or 5 times a power of ten) covering `lo..=hi`, about
/// `target` of them, and the number of decimals their labels need.
pub(crate) fn linear_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, usize) {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || target == 0 {
        return (vec![lo], 0);
    }
    let raw_step = (hi - lo) / target as f64;
    let mut magnitude = 1.0_f64;
    let mut decimals = 0usize;
    while magnitude * 10.0 <= raw_step {
        magnitude *= 10.0;
    }
    while magnitude > raw_step && decimals < 9 {
        magnitude /= 10.0;
        decimals += 1;
    }
    let mut step = magnitude * 10.0;
    for factor in [1.0, 2.0, 5.0] {
        if magnitude * factor >= raw_step {
            step = magnitude * factor;
            break;
        }
    }
    // A step of 10 × magnitude needs one decimal fewer than magnitude itself.
    if step >= magnitude * 10.0 && decimals > 0 {
        decimals -= 1;
    }
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    // Only reachable with absurd ranges (the casts saturate); better no ticks than millions.
    if last.saturating_sub(first) > 10 * target as i64 {
        return (Vec::new(), decimals);
    }
    let ticks = (first..=last).map(|k| k as f64 * step).collect();
    (ticks, decimals)
}

/// Natural logarithm from basic operations: x = m · 2^e with m in [√½, √2), then
/// ln m = 2·atanh((m − 1)/(m + 1)) by its series, which converges fast on that interval.
pub(crate) fn ln_det(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return x;
    }
    const LN_2: f64 = std::f64::consts::LN_2;
    const SQRT_2: f64 = std::f64::consts::SQRT_2;
    let mut x = x;
    let mut exponent: i64 = 0;
    // Subnormals have no implicit leading bit; scale them into the normal range first.
    if x < f64::MIN_POSITIVE {
        x *= 2f64.powi(54);
        exponent -= 54;
    }
    let bits = x.to_bits();
    exponent += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut mantissa = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | (1023u64 << 52));
    if mantissa > SQRT_2 {
        mantissa /= 2.0;
        exponent += 1;
    }
    let s = (mantissa - 1.0) / (mantissa + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    // |s| < 0.172, so s^(2k+1)/(2k+1) is below 1e-17 well before 15 terms.
    for _ in 0..15 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    exponent as f64 * LN_2 + 2.0 * sum
}

/// The failed-sends chart's y scale: log10(1 + v), so that 0 stays at the axis and single
/// failures are still visible next to thousands of attempts.
pub(crate) fn symlog(v: f64) -> f64 {
    ln_det(1.0 + v.max(0.0)) / std::f64::consts::LN_10
}

/// Tick values for the [`symlog`] scale up to `max_v`: 0, 1, 2, 5, 10, … , thinned to powers of
/// ten when that would be too many.
pub(crate) fn symlog_ticks(max_v: f64) -> Vec<f64> {
    let mut ticks = vec![0.0];
    let mut decade = 1.0_f64;
    let limit = max_v.max(1.0);
    'outer: while decade <= limit * 10.0 {
        for factor in [1.0, 2.0, 5.0] {
            let v = decade * factor;
            if v > limit {
                break 'outer;
            }
            ticks.push(v);
        }
        decade *= 10.0;
    }
    if ticks.len() > 11 {
        ticks.retain(|v| *v == 0.0 || is_power_of_ten(*v));
    }
    ticks
}

fn is_power_of_ten(v: f64) -> bool {
    let mut p = 1.0_f64;
    while p < v {
        p *= 10.0;
    }
    p == v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn num_trims_and_rounds() {
        assert_eq!(num(3.5, 2), "3.5");
        assert_eq!(num(4.0, 3), "4");
        assert_eq!(num(104.2, 1), "104.2");
        assert_eq!(num(0.30000000000000004, 3), "0.3");
        assert_eq!(num(-0.0001, 2), "0");
        assert_eq!(num(1200.0, 0), "1200");
        assert_eq!(opt_num(None, 1), "—");
    }

    #[test]
    fn ln_det_matches_std_closely() {
        for x in [1e-300, 1e-9, 0.5, 1.0, 1.5, 2.0, 10.0, 1234.5, 1e15, 1e300] {
            let d = ln_det(x);
            let s = x.ln();
            assert!((d - s).abs() <= 1e-14 * s.abs().max(1.0), "{x}: {d} vs {s}");
        }
        assert_eq!(ln_det(1.0), 0.0);
        assert!((symlog(9.0) - 1.0).abs() < 1e-15);
        assert!((symlog(999.0) - 3.0).abs() < 1e-14);
    }

    #[test]
    fn ticks_are_nice() {
        let (t, d) = linear_ticks(0.0, 600.0, 12);
        assert_eq!(t, (0..=12).map(|k| k as f64 * 50.0).collect::<Vec<_>>());
        assert_eq!(d, 0);
        let (t, d) = linear_ticks(0.0, 1.0, 4);
        assert_eq!(t, [0.0, 0.5, 1.0]);
        assert_eq!(d, 1);
        let (t, d) = linear_ticks(0.0, 1.0, 5);
        assert_eq!(t.iter().map(|v| num(*v, d)).collect::<Vec<_>>(), ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
        assert_eq!(d, 1);
        assert_eq!(symlog_ticks(300.0), [0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]);
        assert_eq!(symlog_ticks(1e6), [0.0, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6]);
    }
}
