//! What a library tells the plugin about each hook it implements. The `#[export]`
//! attribute builds this from the impl block and the `#[hook(...)]` options.

use crate::config::FailedAction;
use crate::hookpoint::HookPoint;

/// Where a hook's code runs. The library chooses with `#[hook(auto | inline | pool |
/// queue)]` (no option: `auto`); the operator can override it per hook with
/// `exhook.drivers.rust.mode.<hook>` ([`Config::mode`](crate::Config::mode)). A
/// notification never uses the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The default: inline, watched. The hook runs on the calling process's scheduler
    /// until the watchdog (a look every 10 ms) sees one of its calls block or keep the
    /// CPU: within 30 ms of that call's start. From then on it runs as `Pool` (a hook
    /// that decides) or `Queue` (a notification), until the library is unloaded. See the
    /// README's "Where hook code runs".
    Auto,
    /// On the calling process's scheduler: lowest latency, for code that returns in well
    /// under a millisecond and never blocks (`#[hook(inline)]`).
    Inline,
    /// On the SDK's worker pool; the caller waits at most `call_timeout` (the default for
    /// hooks that return a decision).
    Pool,
    /// Queued to the SDK's workers, the caller does not wait (the default for hooks that
    /// return nothing). A hook that decides then only observes: its answer is ignored.
    Queue,
    /// An `async fn` method (always, and only, these): its future is polled once on the
    /// calling process's scheduler; when it is not ready it goes on on the SDK's Tokio
    /// runtime ([`rt`](crate::rt)) and the caller of a hook that decides waits at most
    /// `call_timeout` for it (a notification's caller never waits).
    Async,
}

impl Mode {
    /// The atom the plugin uses.
    pub const fn as_atom(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Inline => "inline",
            Mode::Pool => "pool",
            Mode::Queue => "queue",
            Mode::Async => "async",
        }
    }
}

/// One implemented hook and its options. Built by the code `#[export]` generates; not
/// meant to be written by hand.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HookSpec {
    /// The hookpoint.
    pub hook: HookPoint,
    /// Topic filters: a message hook is called only for matching topics (empty: all).
    pub topics: &'static [&'static str],
    /// Whether `$SYS/...` messages reach a message hook.
    pub sys: bool,
    /// Where the hook runs; `None` takes the default, [`Mode::Auto`].
    pub mode: Option<Mode>,
    /// Overrides the driver's `failed_action` for this hook.
    pub failed_action: Option<FailedAction>,
    /// A bit per argument the method never reads (set by `#[export]`): such map
    /// arguments are not copied when the hook runs on the SDK's workers.
    pub unused_args: u8,
}

impl HookSpec {
    /// A hook with default options.
    pub const fn new(hook: HookPoint) -> Self {
        HookSpec {
            hook,
            topics: &[],
            sys: false,
            mode: None,
            failed_action: None,
            unused_args: 0,
        }
    }
}
