//! A gate that holds notification workers: a library started by a reload holds its
//! queued notifications until the library it replaces has run all of its own, so that
//! one client's events are still handled in order across the reload.

use parking_lot::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Open or held; workers wait at a held gate.
pub struct Gate {
    held: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    /// A gate that is held (`true`) or open.
    pub fn new(held: bool) -> Gate {
        Gate {
            held: Mutex::new(held),
            opened: Condvar::new(),
        }
    }

    /// Opens the gate for good.
    pub fn open(&self) {
        *self.held.lock() = false;
        self.opened.notify_all();
    }

    /// Waits while the gate is held, at most `limit`; then opens it (a gate is never
    /// held longer than that, whatever happens to whoever should open it).
    pub fn pass(&self, limit: Duration) {
        let mut held = self.held.lock();
        if !*held {
            return;
        }
        let until = Instant::now() + limit;
        while *held {
            if self.opened.wait_until(&mut held, until).timed_out() {
                *held = false;
                self.opened.notify_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn open_gate_passes() {
        Gate::new(false).pass(Duration::from_secs(60));
    }

    #[test]
    fn held_gate_waits_until_opened() {
        let gate = Arc::new(Gate::new(true));
        let passed = Arc::new(AtomicBool::new(false));
        let (g, p) = (gate.clone(), passed.clone());
        let t = std::thread::spawn(move || {
            g.pass(Duration::from_secs(60));
            p.store(true, Ordering::SeqCst);
        });
        std::thread::sleep(Duration::from_millis(20));
        assert!(!passed.load(Ordering::SeqCst));
        gate.open();
        t.join().unwrap();
        assert!(passed.load(Ordering::SeqCst));
    }

    #[test]
    fn held_gate_opens_at_its_limit() {
        let gate = Gate::new(true);
        gate.pass(Duration::from_millis(10));
        // Open for everyone from now on.
        gate.pass(Duration::ZERO);
    }
}
