//! A lognormal draw by its quantile function, read from a table: every message's one-way delay
//! is lognormal, and drawing it as `exp(mu + sigma * z)` with `z` from a Ziggurat normal cost
//! ~11% of a run (the `exp` call alone ~6%). One 64-bit draw `x` picks the quantile: its top
//! bits a bin of `BINS` equal-probability bins, the rest the place within it. Inside the
//! central bins the quantile is interpolated linearly between the bin's edges (relative error
//! below 3e-4 at the central region's edge and below 1e-6 at the median: far under the
//! microsecond a delay is rounded to); in the `EXACT_BINS` at each tail, where the quantile is
//! steep, it is computed (`normal_quantile`, then `exp`). The draw is a pure function of `x`,
//! so it is as reproducible as the stream.

use rand::RngCore;

/// Equal-probability bins of the quantile table (16 KB of edges).
const BINS: usize = 2048;
const BIN_BITS: u32 = BINS.trailing_zeros();
/// Bins at each end computed exactly: below 1/128 and above 127/128.
const EXACT_BINS: usize = BINS / 128;
/// The low bits of a draw, as a fraction of a bin.
const FRACTION_BITS: u32 = 53;

#[derive(Clone, Debug)]
pub struct LogNormalTable {
    mu: f64,
    sigma: f64,
    /// `edges[i]` is the quantile at `i / BINS`, for `EXACT_BINS <= i <= BINS - EXACT_BINS`
    /// (the others are unused).
    edges: Box<[f64]>,
}

impl LogNormalTable {
    /// The distribution of `exp(mu + sigma * Z)` for a standard normal `Z`.
    pub fn new(mu: f64, sigma: f64) -> LogNormalTable {
        assert!(mu.is_finite() && sigma.is_finite() && sigma >= 0.0, "lognormal parameters");
        let mut edges = vec![0.0; BINS + 1].into_boxed_slice();
        for (i, edge) in edges.iter_mut().enumerate().take(BINS - EXACT_BINS + 1).skip(EXACT_BINS) {
            *edge = (mu + sigma * normal_quantile(i as f64 / BINS as f64)).exp();
        }
        LogNormalTable { mu, sigma, edges }
    }

    #[inline]
    pub fn sample<R: RngCore + ?Sized>(&self, rng: &mut R) -> f64 {
        self.quantile_at(rng.next_u64())
    }

    /// The quantile at probability `(x + 1/2) / 2^64`, near enough (see the module).
    #[inline]
    fn quantile_at(&self, x: u64) -> f64 {
        let bin = (x >> (64 - BIN_BITS)) as usize;
        let low_bits = x & ((1 << FRACTION_BITS) - 1);
        let fraction = |bits: u64| (bits as f64 + 0.5) / (1u64 << FRACTION_BITS) as f64;
        if (EXACT_BINS..BINS - EXACT_BINS).contains(&bin) {
            let (lo, hi) = (self.edges[bin], self.edges[bin + 1]);
            lo + (hi - lo) * fraction(low_bits)
        } else {
            // The upper tail by its distance from 1, which f64 holds exactly there (p itself
            // would round to 1).
            let z = if bin < EXACT_BINS {
                normal_quantile((bin as f64 + fraction(low_bits)) / BINS as f64)
            } else {
                let above = (BINS - 1 - bin) as f64 + fraction((1 << FRACTION_BITS) - 1 - low_bits);
                -normal_quantile(above / BINS as f64)
            };
            (self.mu + self.sigma * z).exp()
        }
    }
}

/// The standard normal quantile: z with P(Z <= z) = p, for 0 < p < 1. Acklam's rational
/// approximation (relative error below 1.2e-9): a rational function of p - 1/2 in the
/// centre, of sqrt(-2 ln p) in the tails.
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    const P_LOW: f64 = 0.024_25;
    assert!(p > 0.0 && p < 1.0, "a probability strictly between 0 and 1");
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - P_LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::engine::RngStream;

    /// The standard normal CDF, independent of `normal_quantile`: its Taylor series in the
    /// centre, the continued fraction of Mills' ratio in the tails (where the series would
    /// lose a small probability to cancellation).
    fn normal_cdf(z: f64) -> f64 {
        let density = |x: f64| (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
        if z.abs() > 3.0 {
            let x = z.abs();
            let mut fraction = x;
            for k in (1..=200).rev() {
                fraction = x + k as f64 / fraction;
            }
            let tail = density(x) / fraction;
            return if z < 0.0 { tail } else { 1.0 - tail };
        }
        // Φ(z) = 1/2 + φ(z) (z + z^3/3 + z^5/(3·5) + ...).
        let (mut term, mut sum, mut k) = (z, z, 1.0);
        while term.abs() > 1e-17 * sum.abs().max(1e-300) {
            k += 2.0;
            term *= z * z / k;
            sum += term;
        }
        0.5 + sum * density(z)
    }

    #[test]
    fn the_normal_quantile_inverts_the_cdf() {
        for i in 1..10_000 {
            let p = i as f64 / 10_000.0;
            let z = normal_quantile(p);
            // Relative error 1.2e-9 in z moves p by at most ~3e-10.
            assert!((normal_cdf(z) - p).abs() < 5e-10, "p {p}: z {z}");
        }
        for p in [1e-12, 1e-9, 1e-6, 1e-4] {
            let z = normal_quantile(p);
            assert!((normal_cdf(z) / p - 1.0).abs() < 1e-6, "p {p}: z {z}");
            assert!((normal_quantile(1.0 - p) + z).abs() < 1e-5 * z.abs(), "symmetry at {p}");
        }
        assert!((normal_quantile(0.99) - 2.326_347_874).abs() < 1e-8);
    }

    #[test]
    fn draws_follow_the_lognormal_cdf_and_the_table_matches_the_quantile() {
        let (mu, sigma) = (500f64.ln(), (5_000f64.ln() - 500f64.ln()) / 2.326_347_874);
        let table = LogNormalTable::new(mu, sigma);
        // Every draw within 3e-4 of the exact quantile at its probability.
        let mut rng = RngStream::seed_from_u64(7);
        let probes = (0..200_000).map(|_| rng.next_u64()).chain([0, 1, u64::MAX, u64::MAX / 2, 1 << 63]);
        for x in probes {
            // The probability's smaller side, as the sampler computes it: exact in f64.
            let z = if x < 1 << 63 {
                normal_quantile((x as f64 + 0.5) / 2f64.powi(64))
            } else {
                -normal_quantile(((u64::MAX - x) as f64 + 0.5) / 2f64.powi(64))
            };
            let exact = (mu + sigma * z).exp();
            let drawn = table.quantile_at(x);
            assert!((drawn / exact - 1.0).abs() < 3e-4, "x {x:#x}: {drawn} against {exact}");
        }
        // The empirical CDF of a million draws at 19 points, each within 5 standard errors.
        for seed in 0..5 {
            let mut rng = RngStream::seed_from_u64(seed);
            let mut draws: Vec<f64> = (0..1_000_000).map(|_| table.sample(&mut rng)).collect();
            draws.sort_by(f64::total_cmp);
            for z in [
                -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 2.326, 2.5, 3.0, 3.5,
                4.0,
            ] {
                let x = (mu + sigma * z).exp();
                let below = draws.partition_point(|&d| d <= x) as f64 / draws.len() as f64;
                let p = normal_cdf(z);
                let se = (p * (1.0 - p) / draws.len() as f64).sqrt();
                assert!((below - p).abs() < 5.0 * se + 1e-6, "seed {seed}, z {z}: {below} of draws against {p}");
            }
        }
    }
}
