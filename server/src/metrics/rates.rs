//! Turning ever-growing byte counters into per-second rates.
//!
//! The OS reports totals since boot (or since the interface appeared); the UI wants "now". A rate
//! needs two readings, so anything seen for the first time has no rate yet (`None`), and a counter
//! that went backwards (driver reset, 32-bit wrap, interface re-created) is `None` rather than a
//! spike of exabytes per second.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Per-second rate of a counter that moved from `prev` to `now` over `dt`.
///
/// `None` when `dt` is zero (no time passed: any rate would be infinite) or the counter went
/// backwards.
pub fn rate(prev: u64, now: u64, dt: Duration) -> Option<f64> {
    if dt.is_zero() || now < prev {
        return None;
    }
    Some((now - prev) as f64 / dt.as_secs_f64())
}

#[derive(Debug)]
struct Reading<const N: usize> {
    at: Instant,
    values: [u64; N],
    pass: u64,
}

/// Previous readings of `N` counters per name (per disk, per interface), so each new sample can be
/// turned into rates.
///
/// Call [`observe`](Self::observe) for every name in a sample, then [`end_pass`](Self::end_pass):
/// names that were not observed are forgotten, so one that disappears and comes back starts
/// afresh instead of being compared with a stale reading.
#[derive(Debug)]
pub struct CounterRates<const N: usize> {
    readings: HashMap<String, Reading<N>>,
    pass: u64,
}

impl<const N: usize> Default for CounterRates<N> {
    fn default() -> Self {
        Self {
            readings: HashMap::new(),
            pass: 0,
        }
    }
}

impl<const N: usize> CounterRates<N> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `values` for `name` taken at `at`; returns each counter's rate since the previous
    /// reading of that name (all `None` for a name seen for the first time).
    pub fn observe(&mut self, name: &str, at: Instant, values: [u64; N]) -> [Option<f64>; N] {
        let pass = self.pass;
        match self.readings.get_mut(name) {
            Some(prev) => {
                let dt = at.saturating_duration_since(prev.at);
                let rates = std::array::from_fn(|i| rate(prev.values[i], values[i], dt));
                *prev = Reading { at, values, pass };
                rates
            }
            None => {
                self.readings
                    .insert(name.to_owned(), Reading { at, values, pass });
                [None; N]
            }
        }
    }

    /// Forgets names not observed since the previous `end_pass`.
    pub fn end_pass(&mut self) {
        let pass = self.pass;
        self.readings.retain(|_, r| r.pass == pass);
        self.pass = pass.wrapping_add(1);
    }

    /// Number of names currently remembered.
    pub fn len(&self) -> usize {
        self.readings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.readings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_from_counters() {
        assert_eq!(rate(1_000, 3_000, Duration::from_secs(2)), Some(1_000.0));
        assert_eq!(rate(0, 512, Duration::from_millis(500)), Some(1_024.0));
        assert_eq!(rate(7, 7, Duration::from_secs(1)), Some(0.0));
        assert_eq!(rate(1_000, 3_000, Duration::ZERO), None);
        // Reset / wrap: a backwards counter is unknown, not u64::MAX bytes.
        assert_eq!(rate(5_000, 10, Duration::from_secs(1)), None);
        assert_eq!(rate(u64::MAX, 0, Duration::from_secs(1)), None);
    }

    #[test]
    fn per_name_rates_across_samples() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        let t2 = t0 + Duration::from_secs(3);
        let mut r = CounterRates::<2>::new();

        assert_eq!(r.observe("en0", t0, [100, 10]), [None, None]);
        r.end_pass();

        assert_eq!(
            r.observe("en0", t1, [1_100, 10]),
            [Some(1_000.0), Some(0.0)]
        );
        // New interface: no rate on its first sample.
        assert_eq!(r.observe("utun3", t1, [50, 50]), [None, None]);
        r.end_pass();
        assert_eq!(r.len(), 2);

        // Counter reset on en0's rx; utun3 gone this pass.
        assert_eq!(r.observe("en0", t2, [100, 4_010]), [None, Some(2_000.0)]);
        r.end_pass();
        assert_eq!(r.len(), 1);

        // utun3 reappears: compared with nothing, not with its reading from t1.
        assert_eq!(r.observe("utun3", t2, [60, 60]), [None, None]);
    }

    #[test]
    fn same_instant_twice_is_not_a_rate() {
        let t0 = Instant::now();
        let mut r = CounterRates::<1>::new();
        r.observe("disk0", t0, [10]);
        assert_eq!(r.observe("disk0", t0, [20]), [None]);
    }
}
