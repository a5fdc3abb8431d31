//! A started hook library: the user's value and its counters (`Core`, shared with the
//! worker threads) and the workers themselves (`Executor`).

use super::offload::Executor;
use super::watch::Demoted;
use crate::counter::Counter;
use crate::hookpoint::HookPoint;
use crate::hooks::Hooks;
use crate::latency::Latency;
use crate::spec::HookSpec;
use std::sync::atomic::{AtomicU64, Ordering};

/// The generation of the next `Core` (see `Core::generation`).
static GENERATION: AtomicU64 = AtomicU64::new(1);
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Per-hook counters, read by the plugin's `stats` command.
#[derive(Default)]
pub struct HookStats {
    /// Calls that reached the library (bumped on every call: no shared cache line).
    pub calls: Counter,
    /// Calls that failed: bad input, an invalid decision, an error.
    pub errors: AtomicU64,
    /// Calls in which the user's code panicked.
    pub panics: AtomicU64,
    /// Pool calls whose caller stopped waiting (`call_timeout`).
    pub timeouts: AtomicU64,
    /// Pool calls refused because the hook's queue was full.
    pub overloads: AtomicU64,
    /// Notifications dropped because the queue was full (or the library stopped).
    pub dropped: AtomicU64,
    /// `async fn` calls pending on the SDK's runtime now.
    pub in_flight: AtomicU64,
}

impl HookStats {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// The user's hooks and their counters.
pub struct Core {
    /// The user's hooks.
    pub hooks: Box<dyn Hooks>,
    /// The hooks it implements, with their options (modes resolved).
    pub specs: Vec<HookSpec>,
    /// The `auto` hooks the watchdog moved off the schedulers.
    pub demoted: Arc<Demoted>,
    /// Unique to this start of the library: the threads' latency sample counters
    /// (`latency`) start again for each.
    pub generation: u64,
    stats: [HookStats; 19],
    latency: [Latency; 19],
}

impl Core {
    /// Wraps a freshly built library.
    pub fn new(hooks: Box<dyn Hooks>, specs: Vec<HookSpec>) -> Self {
        Core {
            hooks,
            specs,
            demoted: Default::default(),
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            stats: Default::default(),
            latency: Default::default(),
        }
    }

    /// The counters of one hook.
    pub fn stats(&self, hook: HookPoint) -> &HookStats {
        &self.stats[hook.index()]
    }

    /// The latency histogram of one hook.
    pub fn latency(&self, hook: HookPoint) -> &Latency {
        &self.latency[hook.index()]
    }

    /// Records the latency of a call timed from `started` (see `latency`) to now.
    pub fn timed(&self, hook: HookPoint, started: Option<std::time::Instant>) {
        self.latency(hook).stop(started);
    }
}

/// The running library: its core and the workers that run it off the schedulers.
pub struct Instance {
    /// Shared with the workers.
    pub core: Arc<Core>,
    /// The pools and notification shards.
    pub offload: Executor,
}

impl Instance {
    /// Stops the workers (queued notifications get a few seconds to run), runs the
    /// library's `terminate`, with panics contained, and stops the SDK's runtime and the
    /// log thread.
    ///
    /// `retire` (a reload): calls already given to the library finish first, and queued
    /// or pending notifications get that long (see `Executor::shutdown`); pending
    /// `async fn` calls get at most the longer of `call_timeout` and `retire`.
    pub fn shutdown(&self, retire: Option<Duration>) {
        self.offload.shutdown(&self.core, retire);
        if let Some(wait) = retire {
            self.wait_async(Instant::now() + wait.max(self.offload.call_timeout()));
        }
        if let Err(msg) = crate::panic::contain(|| self.core.hooks.terminate()) {
            tracing::error!("terminate panicked: {msg}");
        }
        // Last, so that `terminate` may still use the runtime: the futures of `async fn`
        // calls still pending are dropped, and the runtime's threads end.
        crate::rt::stop(super::lifecycle::RUNTIME_STOP_WAIT);
        // Last: what the above logged is sent; no thread of the library is left.
        crate::log::stop(super::lifecycle::RUNTIME_STOP_WAIT);
    }
}

impl Instance {
    /// Waits until no `async fn` call is pending on the runtime, or `deadline`.
    fn wait_async(&self, deadline: Instant) {
        let pending = || {
            self.core
                .specs
                .iter()
                .any(|s| self.core.stats(s.hook).in_flight.load(Ordering::Relaxed) > 0)
        };
        while pending() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
