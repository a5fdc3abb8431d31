//! Where hook code runs when it does not run inline: worker threads owned by the SDK,
//! fed by bounded queues. Nothing here knows about Erlang terms; `nif::offload`
//! builds the items (hook calls copied off the caller's heap).
//!
//! - A **pool** (`Workers` with several threads on one queue) per hook in pool mode:
//!   the caller waits for the answer at most `call_timeout`, in Erlang.
//! - **Shards** (`Sharded`: one thread per queue) for notifications: an event goes to
//!   the shard of its client id, so one client's events are handled in order; the
//!   caller never waits.

// The SDK's unit-test build leaves out `nif`, the user of most of this.
#![cfg_attr(test, allow(dead_code))]

mod queue;

pub use queue::{BoundedQueue, Overflow, Pushed};

use parking_lot::Mutex;
use std::cell::Cell;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `f` with `deadline` as the current call's deadline (see [`deadline`]), restored
/// afterwards even if `f` panics.
pub(crate) fn with_deadline<T>(deadline: Instant, f: impl FnOnce() -> T) -> T {
    crate::scoped::set_during(&DEADLINE, Some(deadline), f)
}

/// When the hook running on this thread should be done: the caller of a pool-mode hook
/// stops waiting then (`call_timeout` after the call was queued); a notification gets
/// the same time. `None` for inline hooks, which must not wait at all. Use it as the
/// timeout of a database query, for example.
pub fn deadline() -> Option<Instant> {
    DEADLINE.with(Cell::get)
}

/// What a worker runs for each item (see [`Workers::spawn`]).
pub type Handler<T> = Arc<dyn Fn(T, &mut dyn FnMut()) + Send + Sync>;

/// Threads serving one queue.
pub struct Workers<T> {
    queue: Arc<BoundedQueue<T>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl<T: Send + 'static> Workers<T> {
    /// Starts `threads` threads named `name` that run `handle` on each queued item.
    ///
    /// `handle` gets the item and a `finishing` callback to call right before its last
    /// step (sending an answer): the worker then announces that it is about to poll for
    /// the next item, so the caller that reacts to the answer need not wake anyone.
    pub fn spawn(
        name: &str,
        threads: usize,
        queue: BoundedQueue<T>,
        handle: Handler<T>,
    ) -> std::io::Result<Self> {
        let queue = Arc::new(queue);
        let mut handles = Vec::with_capacity(threads.max(1));
        for i in 0..threads.max(1) {
            let (q, h) = (queue.clone(), handle.clone());
            let t = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    let mut polling = false;
                    while let Some(item) = q.pop_polling(polling) {
                        polling = false;
                        h(item, &mut || polling = polling || q.claim_polling());
                    }
                })?;
            handles.push(t);
        }
        Ok(Workers {
            queue,
            threads: Mutex::new(handles),
        })
    }

    /// Queues an item for the workers.
    pub fn push(&self, item: T) -> Pushed<T> {
        self.queue.push(item)
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Stops taking items, lets the workers finish what is queued until `deadline`, and
    /// returns what was still queued then. Threads still busy at the deadline (user code
    /// that blocks) are left to finish on their own.
    pub fn shutdown(&self, deadline: Instant) -> Vec<T> {
        self.queue.close();
        self.queue.wait_empty(deadline);
        let rest = self.queue.close_and_drain();
        for t in std::mem::take(&mut *self.threads.lock()) {
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
        rest
    }
}

/// Single-thread shards: items with the same key are handled in the order pushed.
pub struct Sharded<T> {
    shards: Vec<Workers<T>>,
}

impl<T: Send + 'static> Sharded<T> {
    /// `shards` shards sharing `capacity` (split evenly), each with one thread.
    pub fn spawn(
        name: &str,
        shards: usize,
        capacity: usize,
        overflow: Overflow,
        handle: Handler<T>,
    ) -> std::io::Result<Self> {
        let n = shards.max(1);
        let per_shard = capacity.div_ceil(n).max(1);
        let shards = (0..n)
            .map(|i| {
                Workers::spawn(
                    &format!("{name}{i}"),
                    1,
                    BoundedQueue::new(per_shard, overflow),
                    handle.clone(),
                )
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Sharded { shards })
    }

    /// The shard of a key.
    /// (FNV-1a: client ids are short, and this runs on the caller's scheduler.)
    pub fn shard_of(&self, key: &[u8]) -> usize {
        let h = key.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
        (h % self.shards.len() as u64) as usize
    }

    /// Queues an item on the shard of `key`.
    pub fn push(&self, key: &[u8], item: T) -> Pushed<T> {
        self.shards[self.shard_of(key)].push(item)
    }

    /// Shuts every shard down (see [`Workers::shutdown`]).
    pub fn shutdown(&self, deadline: Instant) -> Vec<T> {
        self.shards
            .iter()
            .flat_map(|s| s.shutdown(deadline))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_runs_everything() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let w = Workers::spawn(
            "t",
            3,
            BoundedQueue::new(100, Overflow::DropNewest),
            Arc::new(move |i: u32, _: &mut dyn FnMut()| s.lock().push(i)),
        )
        .unwrap();
        for i in 0..50 {
            assert_eq!(w.push(i), Pushed::Ok);
        }
        assert!(w
            .shutdown(Instant::now() + Duration::from_secs(5))
            .is_empty());
        let mut got = seen.lock().clone();
        got.sort();
        assert_eq!(got, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn shards_keep_per_key_order() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let sh = Sharded::spawn(
            "t",
            4,
            10_000,
            Overflow::DropNewest,
            Arc::new(move |(k, i): (u8, u32), _: &mut dyn FnMut()| {
                s.lock().push((k, i));
            }),
        )
        .unwrap();
        for i in 0..1000u32 {
            let k = (i % 7) as u8;
            assert_eq!(sh.push(&[k], (k, i)), Pushed::Ok);
        }
        assert!(sh
            .shutdown(Instant::now() + Duration::from_secs(5))
            .is_empty());
        let got = seen.lock().clone();
        assert_eq!(got.len(), 1000);
        for k in 0..7u8 {
            let mine: Vec<u32> = got
                .iter()
                .filter(|(kk, _)| *kk == k)
                .map(|(_, i)| *i)
                .collect();
            let mut sorted = mine.clone();
            sorted.sort();
            assert_eq!(mine, sorted, "key {k} out of order");
        }
    }

    #[test]
    fn shutdown_returns_what_is_left_after_the_deadline() {
        let w = Workers::spawn(
            "slow",
            1,
            BoundedQueue::new(10, Overflow::DropNewest),
            Arc::new(|_: u32, _: &mut dyn FnMut()| std::thread::sleep(Duration::from_millis(50))),
        )
        .unwrap();
        for i in 0..5 {
            w.push(i);
        }
        let rest = w.shutdown(Instant::now() + Duration::from_millis(20));
        assert!(!rest.is_empty() && rest.len() <= 4, "{rest:?}");
    }
}
