//! Per-hook latency, kept inside the library so that the hook path pays almost nothing
//! for it: each scheduler (or other) thread counts the calls of each hook, and times its
//! first call of each hook and then one in `latency_sample` (a thread-local counter, no
//! clock read for the calls not timed). A timed call goes into a histogram of atomics,
//! 4 buckets per power of two from 1 µs; the maximum is an atomic too. Percentiles are the
//! upper bound of their bucket (at most 19% above the true value).
//!
//! What is timed is what the hook cost its caller: an inline, `auto` or queued call from
//! its start to its return; a pool call, or an `async fn` call that did not finish on its
//! first poll, from its start to the moment its answer is sent (or the caller stops
//! waiting at `call_timeout`).
//!
//! The plugin sets the rate and reads the summary through `nif::latency`.

use crate::hookpoint::HookPoint;
use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Buckets per power of two.
const SUB: u32 = 4;
/// Powers of two covered: 1 µs .. 2^34 µs (about 4.8 h); longer goes to the last bucket.
const OCTAVES: u32 = 35;
/// Bucket 0 holds 0 µs, then `SUB` per power of two.
const BUCKETS: usize = (SUB * OCTAVES + 1) as usize;

/// The latency of one hook: how often it is timed, and the histogram of what was.
pub struct Latency {
    /// One call in `every` per thread is timed; 0: none.
    every: AtomicU32,
    buckets: [AtomicU64; BUCKETS],
    max_us: AtomicU64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            every: AtomicU32::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            max_us: AtomicU64::new(0),
        }
    }
}

/// Per hook, the calls this thread makes before it times one, in the current library
/// (`generation`).
struct Counts {
    generation: Cell<u64>,
    calls: [Cell<u32>; 19],
}

thread_local! {
    static COUNTS: Counts = const {
        Counts { generation: Cell::new(0), calls: [const { Cell::new(0) }; 19] }
    };
}

impl Latency {
    /// Times one call in `every` per thread from now on (0: none).
    pub fn set_every(&self, every: u32) {
        self.every.store(every, Ordering::Relaxed);
    }

    /// Called as a call of `hook` starts, with the generation of the running library
    /// (`Core::generation`): the start time when this call is timed. The first call of
    /// each hook on each thread is, then one in `every`.
    #[inline]
    pub fn start(&self, generation: u64, hook: HookPoint) -> Option<Instant> {
        let every = self.every.load(Ordering::Relaxed);
        if every == 0 {
            return None;
        }
        let first = COUNTS
            .try_with(|c| {
                if c.generation.get() != generation {
                    c.generation.set(generation);
                    c.calls.iter().for_each(|n| n.set(0));
                }
                // Calls until the next timed one (a count left from a larger `every`
                // is cut short).
                let cell = &c.calls[hook.index()];
                let n = cell.get();
                let timed = n == 0 || n >= every;
                cell.set(if timed { every - 1 } else { n - 1 });
                timed
            })
            .unwrap_or(false);
        first.then(Instant::now)
    }

    /// Records a call that started at `t0` (as `start` gave it) and ends now.
    pub fn stop(&self, t0: Option<Instant>) {
        if let Some(t0) = t0 {
            self.record(t0.elapsed());
        }
    }

    /// Records one timed call.
    pub fn record(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket(us)].fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// Samples, p50, p99 and max (µs).
    pub fn summary(&self) -> Summary {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let samples: u64 = counts.iter().sum();
        let max = self.max_us.load(Ordering::Relaxed);
        Summary {
            samples,
            p50: percentile(&counts, samples, 50).min(max),
            p99: percentile(&counts, samples, 99).min(max),
            max,
        }
    }
}

/// What `rust_hook stats` shows of a hook's latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Timed calls.
    pub samples: u64,
    /// The median (µs; the upper bound of its bucket).
    pub p50: u64,
    /// The 99th percentile (µs; the upper bound of its bucket).
    pub p99: u64,
    /// The longest timed call (µs).
    pub max: u64,
}

/// The bucket of a duration in µs: bucket 0 holds 0 µs, then 4 per power of two.
pub fn bucket(us: u64) -> usize {
    if us == 0 {
        return 0;
    }
    let log = 63 - us.leading_zeros(); // 2^log <= us < 2^(log+1)
    let sub = if log >= 2 {
        (us >> (log - 2)) & 3
    } else {
        (us << (2 - log)) & 3
    };
    (1 + log as usize * SUB as usize + sub as usize).min(BUCKETS - 1)
}

/// The largest duration (µs) of a bucket.
pub fn upper_us(b: usize) -> u64 {
    if b == 0 {
        return 0;
    }
    let log = (b - 1) / SUB as usize;
    let sub = ((b - 1) % SUB as usize) as u64;
    // bucket = [2^log * (4 + sub) / 4, 2^log * (5 + sub) / 4)
    (((1u64 << log) * (5 + sub)).div_ceil(4) - 1).max(1)
}

fn percentile(counts: &[u64], total: u64, p: u64) -> u64 {
    if total == 0 {
        return 0;
    }
    let rank = (total * p).div_ceil(100).max(1); // the fewest samples covering p%
    let mut seen = 0;
    for (i, c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return upper_us(i);
        }
    }
    upper_us(counts.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_duration_lies_in_its_bucket() {
        assert_eq!(bucket(0), 0);
        assert_eq!(upper_us(0), 0);
        for us in (1..5000).chain([65535, 65536, 1_000_000, 123_456_789]) {
            let b = bucket(us);
            assert!(us <= upper_us(b), "{us} in {b}");
            assert!(us > upper_us(b - 1), "{us} in {b}");
            assert!(upper_us(b) <= us + us / 4 + 1, "{us} in {b}");
        }
        let bs: Vec<usize> = (0..20000).map(bucket).collect();
        assert!(bs.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_and_max() {
        let lat = Latency::default();
        let none = Summary {
            samples: 0,
            p50: 0,
            p99: 0,
            max: 0,
        };
        assert_eq!(lat.summary(), none);
        (0..98).for_each(|_| lat.record(Duration::from_micros(10)));
        lat.record(Duration::from_micros(1000));
        lat.record(Duration::from_micros(5000));
        let s = lat.summary();
        assert_eq!(s.samples, 100);
        assert!((10..=13).contains(&s.p50), "{s:?}");
        assert!((1000..=1300).contains(&s.p99), "{s:?}");
        assert_eq!(s.max, 5000);
    }

    #[test]
    fn first_call_per_thread_then_one_in_every() {
        let lat = std::sync::Arc::new(Latency::default());
        let hook = HookPoint::MessagePublish;
        // Off until set.
        assert!((0..40).all(|_| lat.start(7, hook).is_none()));
        lat.set_every(16);
        let timed: Vec<usize> = (1..=48).filter(|_| lat.start(8, hook).is_some()).collect();
        assert_eq!(timed.len(), 3);
        let timed: Vec<usize> = (1..=48).filter(|_| lat.start(9, hook).is_some()).collect();
        assert_eq!(timed, [1, 17, 33]);
        // Another hook has its own count; another thread too; a new library (generation)
        // starts again.
        assert!(lat.start(9, HookPoint::ClientConnect).is_some());
        let l2 = lat.clone();
        assert!(std::thread::spawn(move || l2.start(9, hook).is_some())
            .join()
            .unwrap());
        // Call 49 of this thread is timed, 50 is not.
        assert!(lat.start(9, hook).is_some());
        assert!(lat.start(9, hook).is_none());
        assert!(lat.start(10, hook).is_some());
        lat.set_every(1);
        assert!((0..5).all(|_| lat.start(10, hook).is_some()));
    }
}
