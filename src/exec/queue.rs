//! A bounded multi-producer, multi-consumer queue with an overflow policy, used for the
//! worker pools and the notification shards. Producers never block: a full queue
//! rejects (or evicts) at once.

use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
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

struct State<T> {
    items: VecDeque<T>,
    closed: bool,
}

/// A bounded FIFO queue.
pub struct BoundedQueue<T> {
    state: Mutex<State<T>>,
    /// The number of items, readable without the lock (for spinning consumers).
    len: AtomicUsize,
    /// Whether a consumer is polling.
    spinning: AtomicBool,
    ready: Condvar,
    capacity: usize,
    overflow: Overflow,
}

impl<T> BoundedQueue<T> {
    /// A queue holding at most `capacity` items (at least 1).
    pub fn new(capacity: usize, overflow: Overflow) -> Self {
        BoundedQueue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                closed: false,
            }),
            len: AtomicUsize::new(0),
            spinning: AtomicBool::new(false),
            ready: Condvar::new(),
            capacity: capacity.max(1),
            overflow,
        }
    }

    /// Adds an item without blocking.
    pub fn push(&self, item: T) -> Pushed<T> {
        let mut st = self.state.lock();
        if st.closed {
            return Pushed::Rejected(item);
        }
        let result = if st.items.len() < self.capacity {
            st.items.push_back(item);
            self.len.store(st.items.len(), Ordering::Relaxed);
            Pushed::Ok
        } else {
            match self.overflow {
                Overflow::DropNewest => return Pushed::Rejected(item),
                Overflow::DropOldest => {
                    let old = st
                        .items
                        .pop_front()
                        .expect("a full queue has an oldest item");
                    st.items.push_back(item);
                    Pushed::Evicted(old)
                }
            }
        };
        drop(st);
        // A polling consumer will see the item; waking a sleeper too would cost a
        // system call here, on the caller's scheduler.
        if !self.spinning.load(Ordering::Acquire) {
            self.ready.notify_one();
        }
        result
    }

    /// Takes the oldest item, waiting for one; `None` once the queue is closed and empty.
    ///
    /// An idle consumer first polls for 50 µs before it sleeps: waking a sleeping
    /// thread costs the producer a system call and the item several microseconds, and
    /// hook calls tend to come in bursts.
    pub fn pop(&self) -> Option<T> {
        loop {
            {
                let mut st = self.state.lock();
                if let Some(item) = self.take(&mut st) {
                    return Some(item);
                }
                if st.closed {
                    return None;
                }
                // One consumer at a time polls; the others sleep at once, so an idle
                // queue costs at most one polling thread, for at most SPIN.
                if self.spinning.swap(true, Ordering::Acquire) {
                    self.ready.wait(&mut st);
                    continue;
                }
            }
            let until = Instant::now() + SPIN;
            while self.len.load(Ordering::Relaxed) == 0 && Instant::now() < until {
                std::thread::yield_now();
            }
            self.spinning.store(false, Ordering::Release);
            let mut st = self.state.lock();
            if let Some(item) = self.take(&mut st) {
                return Some(item);
            }
            if st.closed {
                return None;
            }
            self.ready.wait(&mut st);
        }
    }

    fn take(&self, st: &mut State<T>) -> Option<T> {
        let item = st.items.pop_front()?;
        self.len.store(st.items.len(), Ordering::Relaxed);
        Some(item)
    }

    /// Refuses new items and wakes every consumer; queued items can still be popped.
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.ready.notify_all();
    }

    /// Closes the queue and takes what is left in it.
    pub fn close_and_drain(&self) -> Vec<T> {
        let mut st = self.state.lock();
        st.closed = true;
        let rest = st.items.drain(..).collect();
        self.len.store(0, Ordering::Relaxed);
        drop(st);
        self.ready.notify_all();
        rest
    }

    /// Waits until the queue is empty or `deadline` passes; true when empty.
    pub fn wait_empty(&self, deadline: Instant) -> bool {
        loop {
            if self.state.lock().items.is_empty() {
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
        self.state.lock().items.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
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
