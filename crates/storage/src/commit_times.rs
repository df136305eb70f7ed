//! How long the writer's commits take, as a histogram the stats endpoint reads.
//!
//! Why: under `--data-dir` every call waits for a commit, so the commit's duration (mostly the
//! WAL's fsync) is what bounds throughput and p99 at many connections, and it is set by the disk
//! and, on a VM, by its host (BENCHMARKS.md). Load tests (`scripts/bench`, `scripts/soak`) print
//! it so that each run shows its own bound instead of leaving it to a separate profile.
//!
//! Buckets are log-linear: exact below 16 µs, then eight per power of two (each 12.5% wide), up to
//! 2^37 µs. The writer thread records with relaxed atomic adds; a reader sees counts that may
//! lag by a commit, which is all a counter for load tests needs.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Values below this are counted exactly, one bucket each.
const EXACT: u64 = 16;
/// Buckets per power of two above [`EXACT`] (a power of two itself).
const SUB_BUCKETS: u64 = 8;
const SUB_BITS: u32 = SUB_BUCKETS.trailing_zeros();
/// The last power of two with buckets of its own: commits of 2^37 µs (38 hours) or longer are
/// counted in the last one.
const MAX_EXPONENT: u32 = 36;
const BUCKETS: usize = (EXACT + (MAX_EXPONENT as u64 - EXACT.trailing_zeros() as u64 + 1) * SUB_BUCKETS) as usize;

/// Commit durations in microseconds.
#[derive(Debug)]
pub struct CommitTimes {
    buckets: Box<[AtomicU64]>,
    max: AtomicU64,
}

/// What [`CommitTimes::summary`] reports, in microseconds. A percentile is the upper bound of the
/// bucket it falls in (so within 12.5% above the true value), never above `max`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitSummary {
    /// Commits recorded.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// The longest commit.
    pub max: u64,
}

impl Default for CommitTimes {
    fn default() -> Self {
        CommitTimes { buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(), max: AtomicU64::new(0) }
    }
}

impl CommitTimes {
    /// Counts one commit that took `took`.
    pub fn record(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket(micros)].fetch_add(1, Relaxed);
        self.max.fetch_max(micros, Relaxed);
    }

    /// Count, p50, p90, p99 and max of everything recorded so far.
    pub fn summary(&self) -> CommitSummary {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let count: u64 = counts.iter().sum();
        let max = self.max.load(Relaxed);
        let at = |q: f64| percentile(&counts, count, q).min(max);
        CommitSummary { count, p50: at(0.50), p90: at(0.90), p99: at(0.99), max }
    }
}

/// The bucket `micros` is counted in.
fn bucket(micros: u64) -> usize {
    if micros < EXACT {
        return micros as usize;
    }
    let exponent = (63 - micros.leading_zeros()).min(MAX_EXPONENT);
    if exponent == MAX_EXPONENT && micros >> MAX_EXPONENT > 1 {
        return BUCKETS - 1;
    }
    let sub = (micros >> (exponent - SUB_BITS)) & (SUB_BUCKETS - 1);
    (EXACT + u64::from(exponent - EXACT.trailing_zeros()) * SUB_BUCKETS + sub) as usize
}

/// The largest value bucket `index` holds.
fn upper_bound(index: usize) -> u64 {
    let index = index as u64;
    if index < EXACT {
        return index;
    }
    let exponent = EXACT.trailing_zeros() as u64 + (index - EXACT) / SUB_BUCKETS;
    let sub = (index - EXACT) % SUB_BUCKETS;
    let width = 1u64 << (exponent - u64::from(SUB_BITS));
    ((SUB_BUCKETS + sub) << (exponent - u64::from(SUB_BITS))) + width - 1
}

/// The upper bound of the bucket holding the `q`-quantile of `count` values (0 when empty).
fn percentile(counts: &[u64], count: u64, q: f64) -> u64 {
    if count == 0 {
        return 0;
    }
    let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
    let mut seen = 0;
    for (index, n) in counts.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return upper_bound(index);
        }
    }
    upper_bound(counts.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_lands_in_a_bucket_that_holds_it() {
        let mut previous = 0;
        for micros in (0..5_000).chain([65_535, 65_536, 1 << 30, (1 << 37) - 1]) {
            let b = bucket(micros);
            assert!(b < BUCKETS);
            assert!(upper_bound(b) >= micros, "{micros} in bucket {b} with upper bound {}", upper_bound(b));
            assert!(b == 0 || upper_bound(b - 1) < micros, "{micros} belongs below bucket {b}");
            assert!(b >= previous, "buckets go up with the value");
            previous = b;
            // A bucket is at most 12.5% wide above the exact range.
            if micros >= EXACT {
                assert!(upper_bound(b) - micros <= micros / 8, "{micros} → {}", upper_bound(b));
            }
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_come_from_the_recorded_durations() {
        let times = CommitTimes::default();
        assert_eq!(times.summary(), CommitSummary::default());
        // 90 commits of 400 µs, 9 of 2 ms, one of 13 ms.
        for _ in 0..90 {
            times.record(Duration::from_micros(400));
        }
        for _ in 0..9 {
            times.record(Duration::from_millis(2));
        }
        times.record(Duration::from_millis(13));
        let s = times.summary();
        assert_eq!(s.count, 100);
        assert!((400..=450).contains(&s.p50), "{s:?}");
        assert!((400..=450).contains(&s.p90), "{s:?}");
        assert!((2_000..=2_250).contains(&s.p99), "{s:?}");
        assert_eq!(s.max, 13_000);
    }

    #[test]
    fn a_percentile_never_exceeds_the_longest_commit() {
        let times = CommitTimes::default();
        times.record(Duration::from_micros(1_000));
        let s = times.summary();
        assert_eq!((s.p50, s.p99, s.max), (1_000, 1_000, 1_000));
    }
}
