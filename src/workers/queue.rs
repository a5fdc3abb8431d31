//! A bounded multi-producer, multi-consumer queue with an overflow policy, used for the
//! worker pools and the notification shards. Producers never block and never take a
//! lock on the way in (a full queue rejects, or evicts, at once); consumers that find it
//! empty poll briefly, then sleep until a producer wakes them.

use crossbeam_queue::ArrayQueue;
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long an idle consumer polls before it sleeps.
const SPIN: Duration = Duration::from_micros(50);

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
    /// Whether a consumer is polling (producers then need not wake anyone).
    spinning: AtomicBool,
    /// Consumers asleep (or about to be) on `ready`.
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    ready: Condvar,
}

impl<T> BoundedQueue<T> {
    /// A queue holding at most `capacity` items (at least 1).
    pub fn new(capacity: usize, overflow: Overflow) -> Self {
        BoundedQueue {
            items: ArrayQueue::new(capacity.max(1)),
            overflow,
            closed: AtomicBool::new(false),
            spinning: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            ready: Condvar::new(),
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
        self.wake_one();
        result
    }

    /// Wakes a sleeping consumer, unless one is polling (it will see the item) or none
    /// sleeps: on the hot path that costs two atomic loads.
    fn wake_one(&self) {
        if self.sleepers.load(Ordering::SeqCst) > 0 && !self.spinning.load(Ordering::SeqCst) {
            let _guard = self.lock.lock();
            self.ready.notify_one();
        }
    }

    #[cfg(test)]
    /// Takes the oldest item, waiting for one; `None` once the queue is closed and empty.
    ///
    /// An idle consumer first polls for 50 µs before it sleeps: waking a sleeping thread
    /// costs the producer a system call and the item several microseconds, and hook calls
    /// tend to come in bursts. One consumer at a time polls, so an idle queue costs at
    /// most one polling thread.
    pub fn pop(&self) -> Option<T> {
        self.pop_polling(false)
    }

    /// Claims the polling role for a consumer that is about to come back for the next
    /// item (see [`Workers`](super::Workers)): producers then skip the wake-up. Returns
    /// whether this consumer got the role (it must then call `pop_polling(true)`).
    pub fn claim_polling(&self) -> bool {
        !self.spinning.swap(true, Ordering::SeqCst)
    }

    /// [`pop`](Self::pop) for a consumer that may already hold the polling role.
    pub fn pop_polling(&self, mut polling: bool) -> Option<T> {
        loop {
            if let Some(item) = self.items.pop() {
                if polling {
                    self.spinning.store(false, Ordering::SeqCst);
                }
                return Some(item);
            }
            if self.closed.load(Ordering::Acquire) {
                if polling {
                    self.spinning.store(false, Ordering::SeqCst);
                }
                return self.items.pop();
            }
            if polling || !self.spinning.swap(true, Ordering::SeqCst) {
                polling = false;
                let until = Instant::now() + SPIN;
                while self.items.is_empty()
                    && !self.closed.load(Ordering::Relaxed)
                    && Instant::now() < until
                {
                    std::thread::yield_now();
                }
                self.spinning.store(false, Ordering::SeqCst);
                if let Some(item) = self.items.pop() {
                    return Some(item);
                }
            }
            self.sleep();
        }
    }

    /// Sleeps until a producer (or `close`) wakes this consumer, unless an item or the
    /// close arrived in between.
    fn sleep(&self) {
        let mut guard = self.lock.lock();
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        if self.items.is_empty() && !self.closed.load(Ordering::SeqCst) {
            self.ready.wait(&mut guard);
        }
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
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

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing waits.
    #[cfg(test)]
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
    fn drain_returns_the_rest() {
        let q = BoundedQueue::new(4, Overflow::DropNewest);
        q.push(1);
        q.push(2);
        assert_eq!(q.close_and_drain(), vec![1, 2]);
        assert_eq!(q.pop(), None);
        assert!(q.wait_empty(Instant::now()));
    }
}
