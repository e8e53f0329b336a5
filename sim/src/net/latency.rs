//! Latency distributions, sampled with portable arithmetic.

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::math;
use crate::rng::{below, unit_f64};
use crate::time::SimDuration;

/// Longest random latency any distribution returns (10 minutes): heavy tails stay finite, and a
/// message is never scheduled so far out that it silently falls off the end of a run.
pub const LATENCY_MAX: SimDuration = SimDuration::from_secs(600);

/// A one-way latency distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Latency {
    /// Always the same.
    Fixed(SimDuration),
    /// Uniform in `[min, max]` (both included).
    Uniform {
        /// Lower bound.
        min: SimDuration,
        /// Upper bound.
        max: SimDuration,
    },
    /// `min` plus an exponential tail, with `mean` the mean of the whole distribution
    /// (TigerBeetle's packet simulator uses this shape).
    Exponential {
        /// Floor.
        min: SimDuration,
        /// Mean of the distribution (at least `min`).
        mean: SimDuration,
    },
    /// `min` plus a log-normal tail of shape `sigma = sigma_milli / 1000`, with `median` the
    /// median of the whole distribution: most messages near the median, a heavy right tail (what
    /// wide-area measurements look like), and nothing faster than the floor (propagation). A
    /// zero `min` (the default) is the plain log-normal.
    LogNormal {
        /// Floor (zero when absent in a file).
        #[serde(default)]
        min: SimDuration,
        /// Median of the whole distribution (at least `min`).
        median: SimDuration,
        /// Shape parameter in thousandths.
        sigma_milli: u32,
    },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Uniform { min: SimDuration::from_millis(1), max: SimDuration::from_millis(10) }
    }
}

impl Latency {
    /// Draws one latency. Uses only integer arithmetic, and `ln`/`exp` built from IEEE-exact
    /// operations instead of libm, so a seed gives the same latencies on every platform.
    pub fn sample<R: RngCore + ?Sized>(&self, rng: &mut R) -> SimDuration {
        self.sample_with(rng, &mut Normals::default())
    }

    /// [`Latency::sample`], with the standard normals of log-normal draws taken from `normals`
    /// (which keeps the second normal of each pair for the next draw: a sender of many messages
    /// pays one logarithm per two log-normal latencies).
    pub fn sample_with<R: RngCore + ?Sized>(
        &self,
        rng: &mut R,
        normals: &mut Normals,
    ) -> SimDuration {
        match *self {
            Latency::Fixed(d) => d,
            Latency::Uniform { min, max } => {
                if max <= min {
                    min
                } else {
                    let span = (max.0 - min.0).saturating_add(1);
                    SimDuration(min.0 + below(rng, span))
                }
            }
            Latency::Exponential { min, mean } => {
                let tail_mean = mean.0.saturating_sub(min.0) as f64;
                // 1 - u is in (0, 1], so the logarithm is finite.
                let tail = -math::ln(1.0 - unit_f64(rng)) * tail_mean;
                capped(min.0 as f64 + tail)
            }
            Latency::LogNormal { min, median, sigma_milli } => {
                let sigma = f64::from(sigma_milli) / 1000.0;
                let tail_median = median.0.saturating_sub(min.0) as f64;
                // With no floor this is exactly the plain log-normal (0 + x is x).
                capped(min.0 as f64 + tail_median * math::exp(sigma * normals.next(rng)))
            }
        }
    }

    /// The shortest latency a draw can give (the latency of every draw, for `Fixed`).
    pub fn floor(&self) -> SimDuration {
        match *self {
            Latency::Fixed(d) => d,
            Latency::Uniform { min, .. }
            | Latency::Exponential { min, .. }
            | Latency::LogNormal { min, .. } => min.min(LATENCY_MAX),
        }
    }
}

/// Rounds a non-negative latency in microseconds down and caps it at [`LATENCY_MAX`].
fn capped(us: f64) -> SimDuration {
    // `as` saturates (and maps NaN to 0), so no draw can wrap.
    SimDuration((us as u64).min(LATENCY_MAX.0))
}

/// Standard normal draws by Marsaglia's polar method, which needs only `ln` and `sqrt` (both
/// portable here), unlike Box-Muller's `cos`. Each accepted pair of uniforms gives two
/// independent normals: the second is kept for the next draw.
#[derive(Debug, Clone, Default)]
pub struct Normals {
    spare: Option<f64>,
}

impl Normals {
    /// The next standard normal.
    pub fn next<R: RngCore + ?Sized>(&mut self, rng: &mut R) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = 2.0 * unit_f64(rng) - 1.0;
            let v = 2.0 * unit_f64(rng) - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let scale = (-2.0 * math::ln(s) / s).sqrt();
                self.spare = Some(v * scale);
                return u * scale;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RngTree;

    fn samples(l: Latency, n: usize) -> Vec<u64> {
        let mut r = RngTree::new(11).network();
        (0..n).map(|_| l.sample(&mut r).0).collect()
    }

    /// Kept second normals make a standard normal stream too: mean 0, variance 1, and no
    /// correlation between a draw and the next (the two halves of a pair).
    #[test]
    fn paired_normals_are_standard_and_uncorrelated() {
        let mut r = RngTree::new(5).network();
        let mut normals = Normals::default();
        let z: Vec<f64> = (0..40_000).map(|_| normals.next(&mut r)).collect();
        let n = z.len() as f64;
        let mean = z.iter().sum::<f64>() / n;
        let var = z.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let lag = z.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum::<f64>() / (n - 1.0);
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
        assert!((lag / var).abs() < 0.03, "lag-1 correlation {}", lag / var);
    }

    /// Log-normal latencies through kept normals have the configured median.
    #[test]
    fn lognormal_median_with_paired_normals() {
        let mut r = RngTree::new(11).network();
        let mut normals = Normals::default();
        let l = Latency::LogNormal {
            min: SimDuration::ZERO,
            median: SimDuration(10_000),
            sigma_milli: 500,
        };
        let mut v: Vec<u64> = (0..20_000).map(|_| l.sample_with(&mut r, &mut normals).0).collect();
        v.sort_unstable();
        let median = v[v.len() / 2];
        assert!((9_500..10_500).contains(&median), "median {median}");
    }

    // Fixed and uniform latencies stay within their bounds and uniform reaches both ends.
    #[test]
    fn fixed_and_uniform_bounds() {
        assert!(samples(Latency::Fixed(SimDuration(42)), 10).iter().all(|&x| x == 42));
        let u = samples(Latency::Uniform { min: SimDuration(10), max: SimDuration(20) }, 2000);
        assert!(u.iter().all(|x| (10..=20).contains(x)));
        assert!(u.contains(&10) && u.contains(&20));
        let degenerate = samples(Latency::Uniform { min: SimDuration(9), max: SimDuration(3) }, 10);
        assert!(degenerate.iter().all(|&x| x == 9));
    }

    // The exponential never goes below its floor and its sample mean is near the configured mean.
    #[test]
    fn exponential_mean() {
        let e = samples(
            Latency::Exponential { min: SimDuration(1_000), mean: SimDuration(5_000) },
            20_000,
        );
        assert!(e.iter().all(|&x| x >= 1_000));
        let mean = e.iter().sum::<u64>() as f64 / e.len() as f64;
        assert!((4_700.0..5_300.0).contains(&mean), "mean {mean}");
    }

    // The log-normal's sample median is near the configured median and its tail is heavy.
    #[test]
    fn lognormal_median() {
        let mut l = samples(
            Latency::LogNormal {
                min: SimDuration::ZERO,
                median: SimDuration(10_000),
                sigma_milli: 500,
            },
            20_000,
        );
        l.sort_unstable();
        let median = l[l.len() / 2];
        assert!((9_500..10_500).contains(&median), "median {median}");
        assert!(l[l.len() - 1] > 30_000, "no heavy tail");
        assert!(l.iter().all(|&x| x <= LATENCY_MAX.0));
    }

    // A floored log-normal never draws below its floor, keeps the configured median, is the
    // plain log-normal shifted when the floor is zero, and reports its floor.
    #[test]
    fn lognormal_floor() {
        let (min, median) = (SimDuration(20_000), SimDuration(60_000));
        let floored = Latency::LogNormal { min, median, sigma_milli: 600 };
        let mut l = samples(floored, 20_000);
        assert!(l.iter().all(|&x| x >= 20_000));
        l.sort_unstable();
        let m = l[l.len() / 2];
        assert!((57_000..63_000).contains(&m), "median {m}");
        let tail = Latency::LogNormal {
            min: SimDuration::ZERO,
            median: SimDuration(40_000),
            sigma_milli: 600,
        };
        let shifted: Vec<u64> = samples(tail, 100).iter().map(|x| x + 20_000).collect();
        let direct = samples(floored, 100);
        assert!(shifted.iter().zip(&direct).all(|(a, b)| a.abs_diff(*b) <= 1), "not a shift");
        assert_eq!(floored.floor(), min);
        assert_eq!(tail.floor(), SimDuration::ZERO);
        assert_eq!(Latency::Fixed(SimDuration(7)).floor(), SimDuration(7));
        assert_eq!(Latency::default().floor(), SimDuration::from_millis(1));
        // A file written before the floor existed reads as the plain log-normal.
        let old: Latency =
            serde_json::from_str(r#"{"LogNormal":{"median":5000,"sigma_milli":500}}"#).unwrap();
        assert_eq!(
            old,
            Latency::LogNormal {
                min: SimDuration::ZERO,
                median: SimDuration(5000),
                sigma_milli: 500
            }
        );
    }

    // Sampling is a pure function of the stream: one seed, one sequence.
    #[test]
    fn deterministic() {
        let l = Latency::LogNormal {
            min: SimDuration::ZERO,
            median: SimDuration(777),
            sigma_milli: 900,
        };
        assert_eq!(samples(l, 100), samples(l, 100));
    }
}
