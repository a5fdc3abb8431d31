//! A bounded multi-producer, multi-consumer queue with an overflow policy, used for the
//! worker pools and the notification shards. Producers (the VM's schedulers) never block
//! and never take a lock on the way in (a full queue rejects, or evicts, at once).
//! Consumers never poll: one that finds the queue empty sleeps on a condition variable.
//! Wake-ups are amortised: a producer wakes a sleeper only when no wake-up is already on
//! its way, and a woken consumer that leaves items behind wakes the next one itself, so a
//! burst of calls costs the schedulers one wake-up (a futex call), not one per call.

use crossbeam_queue::ArrayQueue;
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What a full queue does with a new item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Refuse the new item.
    #[default]
    DropNewest,
    /// Evict the oldest queued item to make room.
    DropOldest,
}

/// The result of a push.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed<T> {
    /// Queued.
    Ok,
    /// Queued, and this older item was evicted to make room.
    Evicted(T),
    /// Not queued: the queue is full (and the policy is `DropNewest`) or closed.
    Rejected(T),
}

/// A bounded FIFO queue.
pub struct BoundedQueue<T> {
    items: ArrayQueue<T>,
    overflow: Overflow,
    closed: AtomicBool,
    /// A wake-up was sent and its consumer has not yet looked at the queue.
    waking: AtomicBool,
    /// Consumers asleep (or about to be) on `ready`.
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    ready: Condvar,
    /// Wake-ups sent by producers (tests only).
    #[cfg(test)]
    producer_wakes: AtomicUsize,
}

impl<T> BoundedQueue<T> {
    /// A queue holding at most `capacity` items (at least 1).
    pub fn new(capacity: usize, overflow: Overflow) -> Self {
        BoundedQueue {
            items: ArrayQueue::new(capacity.max(1)),
            overflow,
            closed: AtomicBool::new(false),
            waking: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            ready: Condvar::new(),
            #[cfg(test)]
            producer_wakes: AtomicUsize::new(0),
        }
    }

    /// Adds an item without blocking.
    pub fn push(&self, item: T) -> Pushed<T> {
        if self.closed.load(Ordering::Acquire) {
            return Pushed::Rejected(item);
        }
        let result = match self.overflow {
            Overflow::DropNewest => match self.items.push(item) {
                Ok(()) => Pushed::Ok,
                Err(item) => return Pushed::Rejected(item),
            },
            Overflow::DropOldest => match self.items.force_push(item) {
                None => Pushed::Ok,
                Some(old) => Pushed::Evicted(old),
            },
        };
        let _woke = self.wake_one();
        #[cfg(test)]
        if _woke {
            self.producer_wakes.fetch_add(1, Ordering::SeqCst);
        }
        result
    }

    /// Wakes a sleeping consumer, unless none sleeps or a wake-up is already on its way
    /// (its consumer will wake the next one if it leaves items behind): on the hot path
    /// that costs one or two atomic operations.
    /// Returns whether it woke one.
    fn wake_one(&self) -> bool {
        if self.sleepers.load(Ordering::SeqCst) > 0 && !self.waking.swap(true, Ordering::SeqCst) {
            let _guard = self.lock.lock();
            if self.ready.notify_one() {
                return true;
            }
            // Nobody was waiting after all (a sleeper just left on its own).
            self.waking.store(false, Ordering::SeqCst);
        }
        false
    }

    #[cfg(test)]
    /// Takes the oldest item, waiting for one; `None` once the queue is closed and empty.
    pub fn pop(&self) -> Option<T> {
        self.pop_within(None).ok()
    }

    /// Takes the oldest item, waiting for one at most `idle` (forever when `None`).
    /// `Err(true)`: the queue is closed and empty; `Err(false)`: `idle` passed.
    pub fn pop_within(&self, idle: Option<Duration>) -> Result<T, bool> {
        let until = idle.map(|d| Instant::now() + d);
        loop {
            if let Some(item) = self.items.pop() {
                return Ok(item);
            }
            if self.closed.load(Ordering::Acquire) {
                return self.items.pop().ok_or(true);
            }
            let timed_out = self.sleep(until);
            // This consumer looked at the queue after a wake-up: the next producer may
            // wake someone again. When it leaves items behind, it wakes the next itself.
            self.waking.store(false, Ordering::SeqCst);
            if let Some(item) = self.items.pop() {
                if !self.items.is_empty() {
                    let _ = self.wake_one();
                }
                return Ok(item);
            }
            if timed_out {
                return Err(false);
            }
        }
    }

    /// Sleeps until a producer (or `close`) wakes this consumer, unless an item or the
    /// close arrived in between; true when `until` passed.
    fn sleep(&self, until: Option<Instant>) -> bool {
        let mut guard = self.lock.lock();
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let mut timed_out = false;
        if self.items.is_empty() && !self.closed.load(Ordering::SeqCst) {
            timed_out = match until {
                Some(t) => self.ready.wait_until(&mut guard, t).timed_out(),
                None => {
                    self.ready.wait(&mut guard);
                    false
                }
            };
        }
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        timed_out
    }

    /// Refuses new items and wakes every consumer; queued items can still be popped.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _guard = self.lock.lock();
        self.ready.notify_all();
    }

    /// Closes the queue and takes what is left in it.
    pub fn close_and_drain(&self) -> Vec<T> {
        self.close();
        std::iter::from_fn(|| self.items.pop()).collect()
    }

    /// Waits until the queue is empty or `deadline` passes; true when empty.
    pub fn wait_empty(&self, deadline: Instant) -> bool {
        loop {
            if self.items.is_empty() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Whether the queue was closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn fifo_and_bounds() {
        let q = BoundedQueue::new(2, Overflow::DropNewest);
        assert_eq!(q.push(1), Pushed::Ok);
        assert_eq!(q.push(2), Pushed::Ok);
        assert_eq!(q.push(3), Pushed::Rejected(3));
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), Some(2));
        assert!(q.is_empty());
    }

    #[test]
    fn drop_oldest_evicts() {
        let q = BoundedQueue::new(2, Overflow::DropOldest);
        q.push(1);
        q.push(2);
        assert_eq!(q.push(3), Pushed::Evicted(1));
        assert_eq!(q.pop(), Some(2));
        assert_eq!(q.pop(), Some(3));
    }

    #[test]
    fn close_wakes_consumers_and_keeps_items() {
        let q = Arc::new(BoundedQueue::new(4, Overflow::DropNewest));
        let q2 = q.clone();
        let consumer = std::thread::spawn(move || {
            let mut got = vec![];
            while let Some(i) = q2.pop() {
                got.push(i);
            }
            got
        });
        q.push(1);
        q.push(2);
        std::thread::sleep(Duration::from_millis(20));
        q.close();
        assert_eq!(q.push(3), Pushed::Rejected(3));
        assert_eq!(consumer.join().unwrap(), vec![1, 2]);
    }

    #[test]
    fn a_burst_costs_the_producer_one_wake_up_per_sleeping_consumer_at_most() {
        let q = Arc::new(BoundedQueue::new(1000, Overflow::DropNewest));
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let (q, gate) = (q.clone(), gate.clone());
                std::thread::spawn(move || {
                    let mut got = 0;
                    while q.pop().is_some() {
                        // Each consumer holds its first item until the gate opens.
                        let mut open = gate.0.lock();
                        while !*open {
                            gate.1.wait(&mut open);
                        }
                        got += 1;
                    }
                    got
                })
            })
            .collect();
        while q.sleepers.load(Ordering::SeqCst) < 4 {
            std::thread::sleep(Duration::from_millis(1));
        }
        for i in 0..200 {
            assert_eq!(q.push(i), Pushed::Ok);
        }
        *gate.0.lock() = true;
        gate.1.notify_all();
        while !q.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
        q.close();
        let total: usize = consumers.into_iter().map(|c| c.join().unwrap()).sum();
        assert_eq!(total, 200);
        // 200 pushes, 4 sleepers: the producer woke each at most once (the woken ones
        // wake the others), instead of once per push.
        let wakes = q.producer_wakes.load(Ordering::SeqCst);
        assert!((1..=4).contains(&wakes), "{wakes} wake-ups");
    }

    #[test]
    fn drain_returns_the_rest() {
        let q = BoundedQueue::new(4, Overflow::DropNewest);
        q.push(1);
        q.push(2);
        assert_eq!(q.close_and_drain(), vec![1, 2]);
        assert_eq!(q.pop(), None);
        assert!(q.wait_empty(Instant::now()));
    }
}
