//! Async code in hooks: the Tokio runtime owned by the SDK.
//!
//! The simplest way is an `async fn` hook method (see the README, "Async hooks"): its
//! future runs on this runtime when it is not ready on its first poll, and holds no
//! thread while it waits. Sync code can await too: a pool-mode or queued hook runs a
//! future with [`block_on`], until the call's [`deadline`](crate::deadline()) (the
//! moment the client stops waiting, `call_timeout`); the future is dropped then, so the
//! worker is free again and the failure policy applies; a panic inside it is contained
//! like any other. Inline hooks cannot block, so `block_on` refuses to run there.
//!
//! ```no_run
//! # use emqx_rust_hook::prelude::*;
//! # struct Db;
//! # impl Db { async fn check_login(&self, _: Option<String>) -> bool { true } }
//! # struct MyHooks { db: Db }
//! # #[emqx_rust_hook::export]
//! # impl Hooks for MyHooks {
//! # fn init(_: &Config) -> Result<Self, InitError> { Ok(MyHooks { db: Db }) }
//! fn client_authenticate(&self, c: &ClientInfo, _: AuthResult) -> AuthDecision {
//!     let user = c.username().map(|u| u.to_string());
//!     match emqx_rust_hook::rt::block_on(self.db.check_login(user)) {
//!         Ok(true) => AuthDecision::Allow,
//!         Ok(false) => AuthDecision::Deny(AuthDenyReason::BadUsernameOrPassword),
//!         Err(_) => AuthDecision::Abstain, // deadline passed
//!     }
//! }
//! # }
//! ```

use crate::workers::deadline;
use arc_swap::ArcSwapOption;
use parking_lot::Mutex;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::{Handle, Runtime};

/// The running runtime (started with the library, stopped with it).
static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);
/// Its handle, read on every async hook call without taking a lock.
static HANDLE: ArcSwapOption<Handle> = ArcSwapOption::const_empty();

/// The name of the runtime's threads (`rh_` like every thread of the SDK).
pub(crate) const THREAD_NAME: &str = "rh_async";

/// Why [`block_on`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BlockOnError {
    /// The call's deadline passed first; the future was dropped.
    #[error("the hook call's deadline passed")]
    DeadlinePassed,
    /// Not on an SDK worker (an inline hook runs on an Erlang scheduler and must not
    /// block): use `#[hook(pool)]` or `#[hook(queue)]`, or make the method `async fn`.
    /// In an `auto` hook (the default) this also moves the hook to the SDK's workers, so
    /// its next calls may block.
    #[error("block_on is only allowed in pool-mode and queued hooks")]
    NotOnWorker,
}

/// The SDK's runtime (multi-threaded, 2 worker threads named `rh_async`, for timers,
/// I/O and the `async fn` hooks that did not finish on their first poll). It starts
/// when the library starts (before `init`, so `init` can build async clients on it)
/// and stops when the library stops: its tasks are dropped then and its threads end.
/// Called while no library runs (a unit test), it starts the runtime.
pub fn runtime() -> Handle {
    if let Some(h) = HANDLE.load().as_ref() {
        return Handle::clone(h);
    }
    start();
    HANDLE
        .load()
        .as_ref()
        .map(|h| Handle::clone(h))
        .expect("the runtime was just started")
}

/// Starts the runtime unless it runs.
pub(crate) fn start() {
    let mut rt = RUNTIME.lock();
    if rt.is_some() {
        return;
    }
    let built = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(THREAD_NAME)
        .enable_all()
        .build()
        .expect("start the emqx_rust_hook Tokio runtime");
    HANDLE.store(Some(Arc::new(built.handle().clone())));
    *rt = Some(built);
}

/// Stops the runtime: every task still pending is dropped (an `async fn` hook's future
/// too, so its `Drop` runs), and its threads end (waiting at most `wait` for blocking
/// tasks). Must not run inside the runtime.
#[cfg_attr(test, allow(dead_code))] // used by `nif`, which unit tests leave out
pub(crate) fn stop(wait: Duration) {
    let rt = RUNTIME.lock().take();
    HANDLE.store(None);
    if let Some(rt) = rt {
        rt.shutdown_timeout(wait);
    }
}

/// The runtime's handle when it runs.
#[cfg_attr(test, allow(dead_code))]
pub(crate) fn handle() -> Option<Arc<Handle>> {
    HANDLE.load_full()
}

/// Runs `f` inside the runtime's context (when it runs), so that Tokio types can be
/// created anywhere in a hook: the SDK does this around every hook call on its workers
/// and around the first poll of an `async fn` hook.
pub(crate) fn with_context<T>(f: impl FnOnce() -> T) -> T {
    match HANDLE.load().as_ref() {
        Some(h) => {
            let _context = h.enter();
            f()
        }
        None => f(),
    }
}

/// Runs `future` to completion on the calling worker, within the call's deadline. On a
/// scheduler (an inline or `auto` hook) it refuses with [`BlockOnError::NotOnWorker`],
/// and an `auto` hook is demoted: its later calls run on the SDK's workers.
pub fn block_on<F: Future>(future: F) -> Result<F::Output, BlockOnError> {
    let Some(deadline) = deadline() else {
        #[cfg(not(test))]
        crate::nif::watch::demote_current("rt::block_on was called");
        return Err(BlockOnError::NotOnWorker);
    };
    runtime()
        .block_on(async { tokio::time::timeout_at(deadline.into(), future).await })
        .map_err(|_| BlockOnError::DeadlinePassed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workers::with_deadline;
    use std::time::{Duration, Instant};

    #[test]
    fn runs_within_the_deadline() {
        let out = with_deadline(Instant::now() + Duration::from_secs(5), || {
            block_on(async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                7
            })
        });
        assert_eq!(out, Ok(7));
    }

    #[test]
    fn stops_at_the_deadline() {
        // Workers run hooks inside the runtime's context, so futures may be built
        // before `block_on` (as `tokio::time::sleep` is here).
        runtime();
        let t0 = Instant::now();
        let out = with_context(|| {
            with_deadline(Instant::now() + Duration::from_millis(50), || {
                block_on(tokio::time::sleep(Duration::from_secs(5)))
            })
        });
        assert_eq!(out, Err(BlockOnError::DeadlinePassed));
        assert!(t0.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn refuses_outside_a_worker() {
        assert_eq!(block_on(async { 1 }), Err(BlockOnError::NotOnWorker));
    }
}
