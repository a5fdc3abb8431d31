//! A few open connections kept for the jobs that query on the hook's worker threads
//! (authentication, ACL): a worker takes one, uses it and gives it back; a connection
//! whose statement failed is closed instead (the next call opens a fresh one), so a
//! database restart costs one failed call per idle connection at most.

use crate::db::{Backend, Conn, DbError};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// Idle connections to one backend.
pub struct Pool {
    backend: Backend,
    idle: Mutex<Vec<Conn>>,
    max_idle: usize,
    down: AtomicBool,
}

impl Pool {
    /// A pool keeping at most `max_idle` idle connections (the hook's `pool_size`).
    pub fn new(backend: Backend, max_idle: usize) -> Pool {
        Pool {
            backend,
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
            down: AtomicBool::new(false),
        }
    }

    /// The backend.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Whether the last call failed on the database.
    pub fn is_down(&self) -> bool {
        self.down.load(Relaxed)
    }

    /// Runs `f` on a connection.
    pub fn with<R>(&self, f: impl FnOnce(&mut Conn) -> Result<R, DbError>) -> Result<R, DbError> {
        let taken = self.idle.lock().pop();
        let mut conn = match taken {
            Some(c) => c,
            None => match self.backend.open() {
                Ok(c) => c,
                Err(e) => {
                    self.down.store(true, Relaxed);
                    return Err(e);
                }
            },
        };
        let r = f(&mut conn);
        self.down.store(r.is_err(), Relaxed);
        if r.is_ok() {
            let mut idle = self.idle.lock();
            if idle.len() < self.max_idle {
                idle.push(conn);
            }
        }
        r
    }
}
