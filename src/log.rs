//! `tracing` to the Erlang logger. Hook code logs with `tracing::info!` and friends; the
//! events go through a bounded queue to a thread that sends them to the plugin's logger
//! process, which writes them with `logger`.
//!
//! Bounds, so that logging can neither block a hook nor flood the broker:
//! - a line (the message and its fields) keeps at most [`MAX_LINE_BYTES`] bytes; a longer
//!   one is cut, ends with `... [cut N bytes]`, and formatting stops there (a huge
//!   `Debug` value is not formatted to the end);
//! - the queue holds [`QUEUE`] lines; when it is full a line is dropped and counted;
//! - at most [`IN_FLIGHT_MAX`] lines are in the logger process's mailbox at a time: the
//!   process reports what it wrote (`log_handled/1`), and the log thread waits for room
//!   (so under a flood the queue fills and lines are dropped, counted, instead of the
//!   mailbox growing).
//!
//! Lines written during a hook call carry the call's client (client id and peer, see
//! `log_context`), which the broker's log shows as `clientid@peer` like its own lines.
//!
//! The counters are in [`stats`] (`emqx_ctl rust_hook stats`).

use crate::log_context::Who;
use arc_swap::ArcSwapOption;
use parking_lot::Mutex;
use rustler::{Encoder, Env, LocalPid, OwnedEnv, Term};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};

/// Lines that may wait for the log thread.
pub const QUEUE: usize = 10_000;
/// The longest line sent to the logger, in bytes (longer ones are cut).
pub const MAX_LINE_BYTES: usize = 4096;
/// Lines that may be in the logger process's mailbox at once.
pub const IN_FLIGHT_MAX: usize = 1_000;
/// Lines sent in one message.
const BATCH: usize = 100;
/// Without any line reported written for this long, the lines in flight are taken as
/// lost (the logger process was restarted) and the window opens again.
const STALLED: Duration = Duration::from_secs(1);

/// Where log lines go: the logger process of the running library.
static TARGET: Mutex<Option<LocalPid>> = Mutex::new(None);
/// The Erlang module the library is loaded into, named in each batch sent to `TARGET`.
static MODULE: Mutex<&'static str> = Mutex::new("emqx_rust_hook_nif");
/// The log thread's queue while the library runs (see `install` and `stop`).
static SENDER: ArcSwapOption<SyncSender<Line>> = ArcSwapOption::const_empty();
/// The log thread.
static THREAD: Mutex<Option<std::thread::JoinHandle<()>>> = Mutex::new(None);
/// The global `tracing` subscriber is set once per loaded library.
static SUBSCRIBER: OnceLock<()> = OnceLock::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);
static CUT: AtomicU64 = AtomicU64::new(0);
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// Lines in the queue, not yet taken by the log thread.
static QUEUED: AtomicUsize = AtomicUsize::new(0);

struct Line {
    level: Level,
    target: &'static str,
    message: String,
    /// The client of the hook call that logged the line (see `log_context`).
    who: Option<Who>,
}

mod atoms {
    rustler::atoms! { rust_log, error, warning, info, debug, pid, clientid, peername }
}
use atoms::*;

/// Sends log lines to `pid` from now on, starting the log thread unless it runs. When
/// another library of the process already installed a global `tracing` subscriber, that
/// one stays.
/// `module` is the Erlang module the library is loaded into: the logger tells that module
/// how many lines it wrote (`log_handled/1`).
pub(crate) fn install(pid: LocalPid, module: &'static str) {
    *TARGET.lock() = Some(pid);
    *MODULE.lock() = module;
    IN_FLIGHT.store(0, Ordering::Release);
    let mut thread = THREAD.lock();
    if SENDER.load().is_none() {
        let (tx, rx) = sync_channel(QUEUE);
        // Without the thread (the OS refused one), log lines are dropped, not fatal.
        if let Ok(t) = std::thread::Builder::new()
            .name("rh_log".into())
            .spawn(move || forward(rx))
        {
            *thread = Some(t);
            SENDER.store(Some(Arc::new(tx)));
        }
    }
    SUBSCRIBER.get_or_init(|| {
        let _ = tracing::subscriber::set_global_default(Bridge);
    });
}

/// Stops the log thread when the library stops (its queued lines are sent first; at
/// most `wait` is spent on that). Lines logged while no library runs are dropped.
#[cfg_attr(test, allow(dead_code))] // used by `nif`, which unit tests leave out
pub(crate) fn stop(wait: Duration) {
    let mut thread = THREAD.lock();
    // The queue closes once the last sender is gone (an `event` may hold it briefly).
    SENDER.store(None);
    if let Some(t) = thread.take() {
        let until = Instant::now() + wait;
        while !t.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        if t.is_finished() {
            let _ = t.join();
        }
    }
}

/// The logger process wrote `n` lines: they are out of its mailbox.
pub(crate) fn handled(n: usize) {
    let _ = IN_FLIGHT.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
        Some(v.saturating_sub(n))
    });
}

/// The log's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogStats {
    /// Lines dropped because the queue was full.
    pub dropped: u64,
    /// Lines cut to [`MAX_LINE_BYTES`].
    pub cut: u64,
    /// Lines in the queue, not yet sent to the logger process.
    pub queued: usize,
    /// Lines sent to the logger process and not yet reported written.
    pub in_flight: usize,
}

/// The log's counters now.
pub fn stats() -> LogStats {
    LogStats {
        dropped: DROPPED.load(Ordering::Relaxed),
        cut: CUT.load(Ordering::Relaxed),
        queued: QUEUED.load(Ordering::Relaxed),
        in_flight: IN_FLIGHT.load(Ordering::Relaxed),
    }
}

/// Log lines dropped because the queue was full.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Waits until `n` more lines fit in the logger's mailbox.
fn wait_for_room(n: usize) {
    let mut last = IN_FLIGHT.load(Ordering::Acquire);
    let mut since = Instant::now();
    while last + n > IN_FLIGHT_MAX {
        std::thread::sleep(Duration::from_millis(1));
        let now = IN_FLIGHT.load(Ordering::Acquire);
        if now < last {
            since = Instant::now();
        } else if since.elapsed() >= STALLED {
            IN_FLIGHT.store(0, Ordering::Release);
            return;
        }
        last = now;
    }
}

fn forward(rx: Receiver<Line>) {
    let mut env = OwnedEnv::new();
    let mut batch = Vec::with_capacity(BATCH);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(line) => batch.push(line),
                Err(_) => break,
            }
        }
        QUEUED.fetch_sub(batch.len(), Ordering::AcqRel);
        wait_for_room(batch.len());
        let Some(pid) = *TARGET.lock() else {
            batch.clear();
            continue;
        };
        // Counted before the send: the logger may report the batch written before
        // `send_and_clear` returns.
        let n = batch.len();
        IN_FLIGHT.fetch_add(n, Ordering::AcqRel);
        let sent = env.send_and_clear(&pid, |env| {
            let lines: Vec<_> = batch
                .iter()
                .map(|line| {
                    let level = match line.level {
                        Level::ERROR => error(),
                        Level::WARN => warning(),
                        Level::INFO => info(),
                        _ => debug(),
                    };
                    let meta = metadata(env, line.who.as_ref());
                    (level, line.target, line.message.as_str(), meta).encode(env)
                })
                .collect();
            let module = rustler::Atom::from_str(env, *MODULE.lock()).unwrap_or(rust_log());
            (rust_log(), lines, module).encode(env)
        });
        if sent.is_err() {
            handled(n);
        }
        batch.clear();
    }
}

/// `#{pid, clientid, peername}` for the plugin's logger (the keys that are known).
fn metadata<'a>(env: Env<'a>, who: Option<&Who>) -> Term<'a> {
    let mut map = Term::map_new(env);
    let Some(who) = who else { return map };
    let mut put = |key: rustler::Atom, value: Term<'a>| {
        if let Ok(m) = map.map_put(key.encode(env), value) {
            map = m;
        }
    };
    if let Some(p) = &who.pid {
        put(pid(), p.encode(env));
    }
    if let Some(c) = &who.clientid {
        put(clientid(), c.as_str().encode(env));
    }
    if let Some(p) = &who.peer {
        put(peername(), p.as_str().encode(env));
    }
    map
}

/// A line being built: control characters are escaped (`\n`), so one event is one line;
/// stops taking text at [`MAX_LINE_BYTES`] (formatting then stops too, since `write_str`
/// fails) and counts what was cut.
struct Fields {
    text: String,
    cut: usize,
}

impl std::fmt::Write for Fields {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        // Client data in a message (a client id with a newline) must not end the line.
        let s = &*crate::logsafe::escape_controls(s);
        let room = MAX_LINE_BYTES.saturating_sub(self.text.len());
        if s.len() <= room {
            self.text.push_str(s);
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.text.push_str(&s[..end]);
        self.cut += s.len() - end;
        Err(std::fmt::Error)
    }
}

impl Fields {
    fn separate(&mut self) {
        if !self.text.is_empty() {
            let _ = self.write_str(" ");
        }
    }

    fn finish(mut self) -> String {
        if self.cut > 0 {
            CUT.fetch_add(1, Ordering::Relaxed);
            let _ = write!(self.text, "... [cut {}+ bytes]", self.cut.max(1));
        }
        self.text
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if self.text.len() >= MAX_LINE_BYTES {
            self.cut += 1;
            return;
        }
        self.separate();
        if field.name() == "message" {
            let _ = write!(self, "{value:?}");
        } else {
            let _ = write!(self, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            if self.text.len() >= MAX_LINE_BYTES {
                self.cut += value.len();
                return;
            }
            self.separate();
            let _ = self.write_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }
}

struct Bridge;

impl Subscriber for Bridge {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::INFO
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let sender = SENDER.load();
        let Some(tx) = sender.as_ref() else { return };
        let mut fields = Fields {
            text: String::new(),
            cut: 0,
        };
        event.record(&mut fields);
        let line = Line {
            level: *event.metadata().level(),
            target: event.metadata().target(),
            message: fields.finish(),
            who: crate::log_context::current(),
        };
        // Counted before the send, so that the log thread never takes a line that is
        // not counted yet.
        QUEUED.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = tx.try_send(line) {
            QUEUED.fetch_sub(1, Ordering::AcqRel);
            if let TrySendError::Full(_) = e {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}
