//! Where hook code runs when it does not run inline: worker threads owned by the SDK,
//! fed by bounded queues. Nothing here knows about Erlang terms; `nif::offload`
//! builds the items (hook calls copied off the caller's heap).
//!
//! - A **pool** (`Workers` with several threads on one queue) per hook in pool mode:
//!   the caller waits for the answer at most `call_timeout`, in Erlang. It grows when
//!   every worker is held by slow calls while others wait, and shrinks back when idle.
//! - **Shards** (`Sharded`: one thread per queue) for notifications: an event goes to
//!   the shard of its client id, so one client's events are handled in order; the
//!   caller never waits.

// The SDK's unit-test build leaves out `nif`, the user of most of this.
#![cfg_attr(test, allow(dead_code))]

mod gate;
mod queue;

#[cfg_attr(test, allow(unused_imports))] // used by `nif`
pub use gate::Gate;
pub use queue::{BoundedQueue, Overflow, Pushed};

use parking_lot::{Condvar, Mutex};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

/// How a pool grows and shrinks (see [`Workers::spawn_elastic`]).
#[derive(Clone, Copy, Debug)]
pub struct Elastic {
    /// The most threads the pool grows to.
    pub max: usize,
    /// How long every worker must have been busy, with calls waiting, before it grows.
    pub grow_after: Duration,
    /// How long an extra thread stays idle before it ends.
    pub idle_exit: Duration,
}

/// What the threads of one pool share.
struct Shared<T> {
    queue: BoundedQueue<T>,
    handle: Handler<T>,
    name: String,
    base: usize,
    elastic: Option<Elastic>,
    /// Threads running (base and extra).
    threads: AtomicUsize,
    /// Threads running a handler now.
    busy: AtomicUsize,
    /// The grower sleeps until the pool is saturated (every thread busy).
    grower_idle: AtomicBool,
    grower_lock: Mutex<()>,
    grower_wake: Condvar,
    handles: Mutex<Vec<JoinHandle<()>>>,
    next_id: AtomicUsize,
}

/// Threads serving one queue: `base` threads always, and with [`Elastic`] extra
/// threads, started when every thread has been busy for a while with calls waiting
/// (user code that blocks), which end again once idle.
pub struct Workers<T> {
    shared: Arc<Shared<T>>,
    grower: Mutex<Option<JoinHandle<()>>>,
}

impl<T: Send + 'static> Workers<T> {
    /// Starts `threads` threads named `name` that run `handle` on each queued item.
    ///
    /// `handle` gets the item and a `finishing` callback to call right before its last
    /// step (sending an answer).
    pub fn spawn(
        name: &str,
        threads: usize,
        queue: BoundedQueue<T>,
        handle: Handler<T>,
    ) -> std::io::Result<Self> {
        Self::spawn_elastic(name, threads, None, queue, handle)
    }

    /// [`spawn`](Self::spawn), growing up to `elastic.max` threads when needed.
    pub fn spawn_elastic(
        name: &str,
        threads: usize,
        elastic: Option<Elastic>,
        queue: BoundedQueue<T>,
        handle: Handler<T>,
    ) -> std::io::Result<Self> {
        let base = threads.max(1);
        let elastic = elastic.filter(|e| e.max > base);
        let shared = Arc::new(Shared {
            queue,
            handle,
            name: name.to_string(),
            base,
            elastic,
            threads: AtomicUsize::new(0),
            busy: AtomicUsize::new(0),
            grower_idle: AtomicBool::new(true),
            grower_lock: Mutex::new(()),
            grower_wake: Condvar::new(),
            handles: Mutex::new(Vec::new()),
            next_id: AtomicUsize::new(0),
        });
        for _ in 0..base {
            start_worker(&shared, false)?;
        }
        let grower = match elastic {
            Some(e) => {
                let s = shared.clone();
                Some(
                    std::thread::Builder::new()
                        .name(format!("{name}+"))
                        .spawn(move || grow(&s, e))?,
                )
            }
            None => None,
        };
        Ok(Workers {
            shared,
            grower: Mutex::new(grower),
        })
    }

    /// Queues an item for the workers.
    pub fn push(&self, item: T) -> Pushed<T> {
        self.shared.queue.push(item)
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.shared.queue.len()
    }

    /// Threads running now.
    pub fn threads(&self) -> usize {
        self.shared.threads.load(Ordering::SeqCst)
    }

    /// Stops taking items, lets the workers finish what is queued until `deadline`, and
    /// returns what was still queued then. Threads still busy at the deadline (user code
    /// that blocks) are left to finish on their own.
    pub fn shutdown(&self, deadline: Instant) -> Vec<T> {
        let q = &self.shared.queue;
        q.close();
        {
            let _g = self.shared.grower_lock.lock();
            self.shared.grower_wake.notify_all();
        }
        q.wait_empty(deadline);
        let rest = q.close_and_drain();
        let mut all: Vec<JoinHandle<()>> = std::mem::take(&mut *self.shared.handles.lock());
        all.extend(self.grower.lock().take());
        for t in all {
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

/// Starts one worker thread (`extra`: it ends after `idle_exit` without work).
fn start_worker<T: Send + 'static>(shared: &Arc<Shared<T>>, extra: bool) -> std::io::Result<()> {
    let s = shared.clone();
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    shared.threads.fetch_add(1, Ordering::SeqCst);
    let spawned = std::thread::Builder::new()
        .name(format!("{}-{id}", shared.name))
        .spawn(move || work(&s, extra));
    match spawned {
        Ok(t) => {
            let mut handles = shared.handles.lock();
            handles.retain(|h| !h.is_finished());
            handles.push(t);
            Ok(())
        }
        Err(e) => {
            shared.threads.fetch_sub(1, Ordering::SeqCst);
            Err(e)
        }
    }
}

/// A worker: takes items until the queue closes (or, for an extra thread, until it has
/// been idle for `idle_exit` while the pool is above its base size).
fn work<T: Send + 'static>(s: &Shared<T>, extra: bool) {
    let idle = if extra {
        s.elastic.map(|e| e.idle_exit)
    } else {
        None
    };
    loop {
        match s.queue.pop_within(idle) {
            Ok(item) => {
                let busy = s.busy.fetch_add(1, Ordering::SeqCst) + 1;
                if s.elastic.is_some()
                    && busy >= s.threads.load(Ordering::SeqCst)
                    && s.grower_idle.swap(false, Ordering::SeqCst)
                {
                    let _g = s.grower_lock.lock();
                    s.grower_wake.notify_one();
                }
                (s.handle)(item, &mut || {});
                s.busy.fetch_sub(1, Ordering::SeqCst);
            }
            Err(true) => break,
            Err(false) => {
                let base = s.base;
                if s.threads
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                        (t > base).then(|| t - 1)
                    })
                    .is_ok()
                {
                    return;
                }
            }
        }
    }
    s.threads.fetch_sub(1, Ordering::SeqCst);
}

/// The grower of an elastic pool. It sleeps until a worker finds every thread busy;
/// then, every `grow_after / 4`, it checks whether the pool is still saturated with
/// calls waiting; once that has lasted `grow_after`, it starts as many extra threads as
/// calls wait (up to `max`), and starts over.
fn grow<T: Send + 'static>(s: &Arc<Shared<T>>, e: Elastic) {
    let tick = (e.grow_after / 4).max(Duration::from_millis(1));
    let saturated =
        || s.busy.load(Ordering::SeqCst) >= s.threads.load(Ordering::SeqCst) && !s.queue.is_empty();
    loop {
        {
            let mut g = s.grower_lock.lock();
            while s.grower_idle.load(Ordering::SeqCst) && !s.queue.is_closed() {
                s.grower_wake.wait(&mut g);
            }
        }
        if s.queue.is_closed() {
            return;
        }
        let mut since = Instant::now();
        loop {
            std::thread::sleep(tick);
            if s.queue.is_closed() {
                return;
            }
            if !saturated() {
                // Re-armed; a worker that finds the pool saturated wakes the grower again.
                s.grower_idle.store(true, Ordering::SeqCst);
                if !saturated() || !s.grower_idle.swap(false, Ordering::SeqCst) {
                    break;
                }
                since = Instant::now();
                continue;
            }
            if since.elapsed() >= e.grow_after {
                let threads = s.threads.load(Ordering::SeqCst);
                let add = s.queue.len().min(e.max.saturating_sub(threads));
                for _ in 0..add {
                    if start_worker(s, true).is_err() {
                        break;
                    }
                }
                since = Instant::now();
            }
        }
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

    /// Waits until `f` holds (at most 10 s); false if it never did.
    fn eventually(f: impl Fn() -> bool) -> bool {
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    }

    #[test]
    fn elastic_pool_grows_while_blocked_and_shrinks_when_idle() {
        let gate = Arc::new((Mutex::new(false), parking_lot::Condvar::new()));
        let done = Arc::new(AtomicUsize::new(0));
        let (g, d) = (gate.clone(), done.clone());
        let w = Workers::spawn_elastic(
            "el",
            2,
            Some(Elastic {
                max: 5,
                grow_after: Duration::from_millis(20),
                idle_exit: Duration::from_millis(50),
            }),
            BoundedQueue::new(100, Overflow::DropNewest),
            Arc::new(move |blocking: bool, _: &mut dyn FnMut()| {
                if blocking {
                    let mut open = g.0.lock();
                    while !*open {
                        g.1.wait(&mut open);
                    }
                }
                d.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
        assert_eq!(w.threads(), 2);
        // 10 blocking calls: 2 held by the base threads, 8 waiting. The pool grows to its
        // maximum (5), not beyond.
        for _ in 0..10 {
            assert_eq!(w.push(true), Pushed::Ok);
        }
        assert!(eventually(|| w.threads() == 5), "{}", w.threads());
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(w.threads(), 5);
        assert_eq!(done.load(Ordering::SeqCst), 0);
        // Released: everything runs, then the extra threads end.
        *gate.0.lock() = true;
        gate.1.notify_all();
        assert!(eventually(|| done.load(Ordering::SeqCst) == 10));
        assert!(eventually(|| w.threads() == 2), "{}", w.threads());
        // A pool that is not saturated does not grow.
        for _ in 0..50 {
            w.push(false);
        }
        assert!(eventually(|| done.load(Ordering::SeqCst) == 60));
        assert_eq!(w.threads(), 2);
        assert!(w
            .shutdown(Instant::now() + Duration::from_secs(5))
            .is_empty());
        assert_eq!(w.threads(), 0);
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
