//! The batching writer behind the connection log and the message store: hooks never
//! wait for the database.
//!
//! - A hook [`push`](Writer::push)es a record into a bounded lock-free buffer and returns
//!   at once. **When the buffer is full the new record is dropped and counted**
//!   (`dropped`): the records already accepted keep their place, so what the store
//!   holds after an outage is a prefix of each client's stream plus what came after
//!   the buffer drained, never a record written twice.
//! - One writer thread takes up to `batch` records and writes them in one transaction.
//!   On an error it keeps the same batch, reconnects and retries with a backoff from
//!   100 ms doubling to `retry_max`; the statements are idempotent (keyed by message id,
//!   or by client id and connect time), so a batch whose commit was acknowledged late is
//!   not written twice.
//! - Log lines: one when the database goes down (with the error), one every 10 s while
//!   it stays down (queued and dropped counts), one when it is back; one when drops
//!   start and every 10 s while they go on.
//! - [`stop`](Writer::stop) (from `Hooks::terminate`) writes everything still buffered;
//!   if the database stays down past `flush_timeout`, the records left are counted as
//!   `lost` and logged.

use crate::db::{Backend, Conn, DbError};
use crossbeam_queue::ArrayQueue;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};
use tracing::{error, info, warn};

/// Writes one batch in one transaction (all or nothing).
pub type WriteFn<T> = fn(&mut Conn, &[T]) -> Result<(), DbError>;

/// How a writer buffers and retries.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// The job's name, for log lines and thread names.
    pub name: &'static str,
    /// Records the buffer holds (beyond that, new ones are dropped).
    pub capacity: usize,
    /// Records per transaction.
    pub batch: usize,
    /// The longest wait between two retries.
    pub retry_max: Duration,
    /// How long `stop` keeps retrying while the database is down.
    pub flush_timeout: Duration,
}

/// The writer's counters (what `emqx_ctl rust_hook status` shows).
#[derive(Default)]
pub struct WriterStats {
    /// Records accepted into the buffer.
    pub accepted: AtomicU64,
    /// Records dropped because the buffer was full.
    pub dropped: AtomicU64,
    /// Records written (committed).
    pub written: AtomicU64,
    /// Transactions that failed (each is retried).
    pub failures: AtomicU64,
    /// Records still buffered when `stop` gave up on a database that stayed down.
    pub lost: AtomicU64,
    /// Whether the last attempt reached the database.
    pub db_down: AtomicBool,
}

struct Shared<T> {
    queue: ArrayQueue<T>,
    stats: WriterStats,
    stopping: AtomicBool,
    sleeping: AtomicBool,
    thread: Mutex<Option<Thread>>,
    last_error: Mutex<String>,
    drop_log: Mutex<Option<Instant>>,
}

/// A bounded buffer and the thread that writes it to the database.
pub struct Writer<T: Send + 'static> {
    shared: Arc<Shared<T>>,
    handle: Mutex<Option<JoinHandle<()>>>,
    backend: String,
    options: WriterOptions,
}

/// How often a line repeats while the database is down or records are dropped.
const LOG_EVERY: Duration = Duration::from_secs(10);
/// The first retry's wait.
const RETRY_MIN: Duration = Duration::from_millis(100);
/// How long an idle writer sleeps before looking again (it is woken by `push`).
const IDLE: Duration = Duration::from_millis(200);

impl<T: Send + 'static> Writer<T> {
    /// Starts the writer thread.
    pub fn start(options: WriterOptions, backend: Backend, write: WriteFn<T>) -> Writer<T> {
        let shared = Arc::new(Shared {
            queue: ArrayQueue::new(options.capacity.max(1)),
            stats: WriterStats::default(),
            stopping: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
            thread: Mutex::new(None),
            last_error: Mutex::new(String::new()),
            drop_log: Mutex::new(None),
        });
        let s2 = shared.clone();
        let (o2, b2) = (options.clone(), backend.clone());
        let handle = std::thread::Builder::new()
            .name(format!("emqx_jobs_{}", options.name))
            .spawn(move || run(&s2, &o2, &b2, write))
            .expect("spawn the writer thread");
        *shared.thread.lock() = Some(handle.thread().clone());
        Writer {
            shared,
            handle: Mutex::new(Some(handle)),
            backend: backend.label(),
            options,
        }
    }

    /// Buffers a record for writing; `false` (and counted as dropped) when the buffer is
    /// full or the writer is stopping. Never blocks.
    pub fn push(&self, item: T) -> bool {
        let s = &self.shared;
        if s.stopping.load(Relaxed) || s.queue.push(item).is_err() {
            let n = s.stats.dropped.fetch_add(1, Relaxed) + 1;
            self.log_drop(n);
            return false;
        }
        s.stats.accepted.fetch_add(1, Relaxed);
        if s.sleeping.load(Relaxed) && s.sleeping.swap(false, Relaxed) {
            if let Some(t) = &*s.thread.lock() {
                t.unpark();
            }
        }
        true
    }

    fn log_drop(&self, dropped: u64) {
        // try_lock: a hook never waits for another hook's log line.
        if let Some(mut last) = self.shared.drop_log.try_lock() {
            if last.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
                *last = Some(Instant::now());
                warn!(
                    "{}: buffer full ({} records): dropping new records, {dropped} dropped so far",
                    self.options.name, self.options.capacity
                );
            }
        }
    }

    /// The counters.
    pub fn stats(&self) -> &WriterStats {
        &self.shared.stats
    }

    /// Records waiting in the buffer.
    pub fn queued(&self) -> usize {
        self.shared.queue.len()
    }

    /// Writes what is buffered and stops the thread (see the module doc). Idempotent.
    pub fn stop(&self) {
        self.shared.stopping.store(true, Relaxed);
        if let Some(t) = &*self.shared.thread.lock() {
            t.unpark();
        }
        if let Some(h) = self.handle.lock().take() {
            let _ = h.join();
        }
    }

    /// `(name, value)` lines for `emqx_ctl rust_hook status`.
    pub fn status(&self) -> Vec<(String, String)> {
        let s = &self.shared.stats;
        let n = self.options.name;
        let mut out = vec![
            (format!("{n}.database"), self.backend.clone()),
            (
                format!("{n}.db"),
                if s.db_down.load(Relaxed) {
                    "down"
                } else {
                    "up"
                }
                .to_string(),
            ),
            (
                format!("{n}.buffer"),
                format!("{}/{}", self.queued(), self.options.capacity),
            ),
            (
                format!("{n}.accepted"),
                s.accepted.load(Relaxed).to_string(),
            ),
            (format!("{n}.written"), s.written.load(Relaxed).to_string()),
            (format!("{n}.dropped"), s.dropped.load(Relaxed).to_string()),
            (
                format!("{n}.failures"),
                s.failures.load(Relaxed).to_string(),
            ),
            (format!("{n}.lost"), s.lost.load(Relaxed).to_string()),
        ];
        let e = self.shared.last_error.lock().clone();
        if !e.is_empty() {
            out.push((format!("{n}.last_error"), e));
        }
        out
    }
}

impl<T: Send + 'static> Drop for Writer<T> {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The writer thread.
fn run<T>(s: &Shared<T>, o: &WriterOptions, backend: &Backend, write: WriteFn<T>) {
    let mut conn: Option<Conn> = None;
    let mut batch: Vec<T> = Vec::with_capacity(o.batch);
    let mut backoff = RETRY_MIN;
    let mut down_since: Option<Instant> = None;
    let mut last_down_log = Instant::now();
    let mut stop_deadline: Option<Instant> = None;
    loop {
        let stopping = s.stopping.load(Relaxed);
        if stopping && stop_deadline.is_none() {
            stop_deadline = Some(Instant::now() + o.flush_timeout);
        }
        while batch.len() < o.batch {
            match s.queue.pop() {
                Some(x) => batch.push(x),
                None => break,
            }
        }
        if batch.is_empty() {
            if stopping {
                return;
            }
            s.sleeping.store(true, Relaxed);
            if s.queue.is_empty() && !s.stopping.load(Relaxed) {
                std::thread::park_timeout(IDLE);
            }
            s.sleeping.store(false, Relaxed);
            continue;
        }
        let result = match conn.as_mut() {
            Some(c) => write(c, &batch),
            None => backend.open().and_then(|mut c| {
                let r = write(&mut c, &batch);
                conn = Some(c);
                r
            }),
        };
        match result {
            Ok(()) => {
                s.stats.written.fetch_add(batch.len() as u64, Relaxed);
                batch.clear();
                backoff = RETRY_MIN;
                if let Some(since) = down_since.take() {
                    s.stats.db_down.store(false, Relaxed);
                    info!(
                        "{}: database {} is back after {:.1} s; writing the {} buffered records",
                        o.name,
                        backend.label(),
                        since.elapsed().as_secs_f64(),
                        s.queue.len()
                    );
                }
            }
            Err(e) => {
                conn = None;
                s.stats.failures.fetch_add(1, Relaxed);
                *s.last_error.lock() = e.to_string();
                if down_since.is_none() {
                    down_since = Some(Instant::now());
                    last_down_log = Instant::now();
                    s.stats.db_down.store(true, Relaxed);
                    warn!(
                        "{}: database {} unavailable: {e}; buffering (up to {} records) and retrying",
                        o.name,
                        backend.label(),
                        o.capacity
                    );
                } else if last_down_log.elapsed() >= LOG_EVERY {
                    last_down_log = Instant::now();
                    warn!(
                        "{}: database {} still unavailable: {e}; {} records waiting, {} dropped",
                        o.name,
                        backend.label(),
                        batch.len() + s.queue.len(),
                        s.stats.dropped.load(Relaxed)
                    );
                }
                if let Some(deadline) = stop_deadline {
                    if Instant::now() >= deadline {
                        let mut lost = batch.len() as u64;
                        while s.queue.pop().is_some() {
                            lost += 1;
                        }
                        s.stats.lost.fetch_add(lost, Relaxed);
                        error!(
                            "{}: stopping while database {} is unavailable: {lost} records not written",
                            o.name,
                            backend.label()
                        );
                        return;
                    }
                }
                // Woken early by `stop`.
                std::thread::park_timeout(backoff);
                backoff = (backoff * 2).min(o.retry_max);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Param;

    fn write_rows(c: &mut Conn, rows: &[i64]) -> Result<(), DbError> {
        let st: Vec<(&str, Vec<Param>)> = rows
            .iter()
            .map(|r| {
                (
                    "INSERT INTO w (n) VALUES ($1) ON CONFLICT (n) DO NOTHING",
                    vec![Param::Int(*r)],
                )
            })
            .collect();
        c.transaction(&st)
    }

    fn options(capacity: usize) -> WriterOptions {
        WriterOptions {
            name: "test",
            capacity,
            batch: 7,
            retry_max: Duration::from_millis(200),
            flush_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn writes_everything_accepted_and_drops_past_capacity() {
        let dir = std::env::temp_dir().join(format!("emqx_jobs_w_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.db");
        let _ = std::fs::remove_file(&path);
        let backend = Backend::Sqlite { path: path.clone() };
        // No table yet: every write fails, the buffer fills, later pushes are dropped.
        let w = Writer::start(options(50), backend.clone(), write_rows);
        let accepted: Vec<i64> = (0..80).filter(|n| w.push(*n)).collect();
        assert!(
            accepted.len() >= 50 && accepted.len() < 80,
            "{}",
            accepted.len()
        );
        assert_eq!(w.stats().dropped.load(Relaxed), 80 - accepted.len() as u64);
        // The "outage" ends: the table appears; stop() flushes everything accepted.
        backend
            .open()
            .unwrap()
            .script("CREATE TABLE w (n BIGINT PRIMARY KEY)")
            .unwrap();
        w.stop();
        assert_eq!(w.stats().written.load(Relaxed), accepted.len() as u64);
        assert_eq!(w.stats().lost.load(Relaxed), 0);
        let rows = backend
            .open()
            .unwrap()
            .query("SELECT n FROM w ORDER BY n", &[])
            .unwrap();
        let got: Vec<i64> = rows.iter().map(|r| r[0].as_i64().unwrap()).collect();
        assert_eq!(got, accepted);
        assert!(!w.push(1000), "a stopped writer accepts nothing");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn stop_gives_up_after_flush_timeout_and_counts_the_lost() {
        let dir = std::env::temp_dir().join(format!("emqx_jobs_w2_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let backend = Backend::Sqlite {
            path: dir.join("missing-dir/x.db"),
        };
        let mut o = options(10);
        o.flush_timeout = Duration::from_millis(300);
        let w = Writer::start(o, backend, write_rows);
        for n in 0..5 {
            assert!(w.push(n));
        }
        w.stop();
        assert_eq!(w.stats().lost.load(Relaxed), 5);
        assert_eq!(w.stats().written.load(Relaxed), 0);
        assert!(w
            .status()
            .iter()
            .any(|(k, v)| k == "test.db" && v == "down"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
