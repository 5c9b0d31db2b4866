//! Percentiles, the mix's seeded shuffle and the memory slope: the arithmetic of the report,
//! kept pure so it is tested apart from the host.

use serde::Serialize;

/// The `p`-th percentile (0..=100) of sorted values, interpolated linearly between the two
/// nearest ranks (numpy's default), so p50 of an even count is the mean of the middle two.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    match sorted.len() {
        0 => None,
        1 => Some(sorted[0]),
        n => {
            let rank = (p / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
            let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
            Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64))
        }
    }
}

/// p50, p95 and the extremes of a series (milliseconds, tokens/s, …); `None`s when empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Summary {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Summary {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        Summary {
            n: v.len(),
            p50: percentile(&v, 50.0),
            p95: percentile(&v, 95.0),
            min: v.first().copied(),
            max: v.last().copied(),
        }
    }
}

/// xorshift64*: a tiny deterministic generator, so the mix's order is the same on every run
/// and every machine (no `rand` dependency for one shuffle).
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        // Zero is xorshift's one fixed point.
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-enough in `0..n` for a benchmark's shuffle (`n` is tiny next to 2^64).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Least-squares slope of `y` over `x`: growth per answer from the RSS samples, steadier than
/// the difference of two samples. `None` with fewer than two distinct `x`.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 50.0), Some(3.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 100.0), Some(5.0));
        assert!((percentile(&v, 95.0).unwrap() - 4.8).abs() < 1e-9);
        assert_eq!(percentile(&[1.0, 2.0], 50.0), Some(1.5));
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn summaries_sort_and_skip_non_finite_values() {
        let s = Summary::of([300.0, 100.0, f64::NAN, 200.0]);
        assert_eq!(s.n, 3);
        assert_eq!(s.p50, Some(200.0));
        assert_eq!(s.min, Some(100.0));
        assert_eq!(s.max, Some(300.0));
        assert_eq!(Summary::of([]).p50, None);
    }

    #[test]
    fn the_shuffle_is_fixed_by_its_seed() {
        let order = |seed| {
            let mut v: Vec<usize> = (0..48).collect();
            XorShift::new(seed).shuffle(&mut v);
            v
        };
        assert_eq!(order(42), order(42));
        assert_ne!(order(42), order(43));
        let mut sorted = order(42);
        assert_ne!(sorted, (0..48).collect::<Vec<_>>(), "it shuffles");
        sorted.sort();
        assert_eq!(sorted, (0..48).collect::<Vec<_>>(), "a permutation");
        // Pinned: a change of generator would silently change the published mix.
        assert_eq!(&order(42)[..4], &PINNED_42);
    }

    const PINNED_42: [usize; 4] = [6, 46, 5, 34];

    #[test]
    fn slopes_fit_a_line() {
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 3.0 * i as f64 + 7.0)).collect();
        assert!((slope(&pts).unwrap() - 3.0).abs() < 1e-9);
        assert_eq!(slope(&[(1.0, 2.0)]), None);
        assert_eq!(slope(&[(1.0, 2.0), (1.0, 5.0)]), None);
    }
}
