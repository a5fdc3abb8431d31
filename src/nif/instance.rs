//! A started hook library: the user's value, its configuration and its counters.

use crate::hookpoint::HookPoint;
use crate::hooks::Hooks;
use crate::spec::HookSpec;
use std::sync::atomic::{AtomicU64, Ordering};

/// Per-hook counters, read by the plugin's `stats` command.
#[derive(Default)]
pub struct HookStats {
    /// Calls that reached the library.
    pub calls: AtomicU64,
    /// Calls that failed: bad input, an invalid decision, an error.
    pub errors: AtomicU64,
    /// Calls in which the user's code panicked.
    pub panics: AtomicU64,
}

/// The running library.
pub struct Instance {
    /// The user's hooks.
    pub hooks: Box<dyn Hooks>,
    /// The hooks it implements.
    pub specs: Vec<HookSpec>,
    stats: [HookStats; 19],
}

impl Instance {
    /// Wraps a freshly built library.
    pub fn new(hooks: Box<dyn Hooks>, specs: Vec<HookSpec>) -> Self {
        Instance {
            hooks,
            specs,
            stats: Default::default(),
        }
    }

    /// The counters of one hook.
    pub fn stats(&self, hook: HookPoint) -> &HookStats {
        &self.stats[hook.index()]
    }

    /// Counts a call.
    pub fn count_call(&self, hook: HookPoint) {
        self.stats(hook).calls.fetch_add(1, Ordering::Relaxed);
    }
}
