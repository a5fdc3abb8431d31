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

    /// Runs `f` (a read: it may run twice) on a connection. An idle connection can be
    /// dead (the server restarted since it was used): when `f` fails on one, it runs
    /// once more on a fresh connection.
    pub fn with<R>(&self, f: impl Fn(&mut Conn) -> Result<R, DbError>) -> Result<R, DbError> {
        let taken = self.idle.lock().pop();
        let r = match taken {
            Some(mut c) => match f(&mut c) {
                Ok(v) => Ok((v, c)),
                Err(_) => self.fresh(&f),
            },
            None => self.fresh(&f),
        };
        self.down.store(r.is_err(), Relaxed);
        r.map(|(v, c)| {
            let mut idle = self.idle.lock();
            if idle.len() < self.max_idle {
                idle.push(c);
            }
            v
        })
    }

    fn fresh<R>(&self, f: &impl Fn(&mut Conn) -> Result<R, DbError>) -> Result<(R, Conn), DbError> {
        let mut c = self.backend.open()?;
        f(&mut c).map(|v| (v, c))
    }
}
