//! `tracing` to the Erlang logger. Hook code logs with `tracing::info!` and friends; the
//! events go through a bounded queue to a thread that sends them to the plugin's driver
//! process, which writes them with `logger`. Logging never blocks a hook: when the
//! queue is full the event is dropped and counted.

use parking_lot::Mutex;
use rustler::{Encoder, LocalPid, OwnedEnv};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::OnceLock;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};

const QUEUE: usize = 10_000;

/// Where log lines go: the driver process of the running library.
static TARGET: Mutex<Option<LocalPid>> = Mutex::new(None);
static SENDER: OnceLock<SyncSender<Line>> = OnceLock::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);

struct Line {
    level: Level,
    target: String,
    message: String,
}

mod atoms {
    rustler::atoms! { rust_log, error, warning, info, debug }
}
use atoms::*;

/// Sends log lines to `pid` from now on, starting the bridge on first use. When another
/// library of the process already installed a global `tracing` subscriber, that one stays.
pub(crate) fn install(pid: LocalPid) {
    *TARGET.lock() = Some(pid);
    SENDER.get_or_init(|| {
        let (tx, rx) = sync_channel(QUEUE);
        // Without the thread (the OS refused one), log lines are dropped, not fatal.
        let _ = std::thread::Builder::new()
            .name("emqx_rust_hook_log".into())
            .spawn(move || forward(rx));
        let _ = tracing::subscriber::set_global_default(Bridge);
        tx
    });
}

/// Log lines dropped because the queue was full.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

fn forward(rx: Receiver<Line>) {
    let mut env = OwnedEnv::new();
    for line in rx {
        let Some(pid) = *TARGET.lock() else { continue };
        let level = match line.level {
            Level::ERROR => error(),
            Level::WARN => warning(),
            Level::INFO => info(),
            _ => debug(),
        };
        let _ = env.send_and_clear(&pid, |env| {
            (
                rust_log(),
                level,
                line.target.as_str(),
                line.message.as_str(),
            )
                .encode(env)
        });
    }
}

struct Bridge;

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            self.0.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }
}

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
        let Some(tx) = SENDER.get() else { return };
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let line = Line {
            level: *event.metadata().level(),
            target: event.metadata().target().to_string(),
            message: fields.0,
        };
        if let Err(TrySendError::Full(_)) = tx.try_send(line) {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}
