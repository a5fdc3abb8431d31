//! Async code in hooks (cargo feature `tokio`): a Tokio runtime owned by the SDK.
//!
//! Hooks are plain methods; a hook that wants to `.await` an async client (a database
//! driver, an HTTP client) runs the future with [`block_on`] from a pool-mode or queued
//! hook. The future runs until the call's [`deadline`](crate::deadline()) (the
//! moment the client stops waiting, `call_timeout`), and is dropped then, so the worker
//! is free again and the failure policy applies; a panic inside it is contained like any
//! other. Inline hooks cannot block, so `block_on` refuses to run there.
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
use std::future::Future;
use std::sync::OnceLock;
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// Why [`block_on`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BlockOnError {
    /// The call's deadline passed first; the future was dropped.
    #[error("the hook call's deadline passed")]
    DeadlinePassed,
    /// Not on an SDK worker (an inline hook runs on an Erlang scheduler and must not
    /// block): use `#[hook(pool)]` or `#[hook(queue)]`. In an `auto` hook (the default)
    /// this also moves the hook to the SDK's workers, so its next calls may block.
    #[error("block_on is only allowed in pool-mode and queued hooks")]
    NotOnWorker,
}

/// The SDK's runtime (multi-threaded, 2 worker threads for timers and I/O, started on
/// first use). Use it to spawn background tasks or to build async clients in `init`.
pub fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("emqx_rust_hook_rt")
            .enable_all()
            .build()
            .expect("start the emqx_rust_hook Tokio runtime")
    })
}

/// Enters the runtime's context for the rest of the scope: the SDK does this around
/// every hook call on its workers, so Tokio types can be created anywhere in a hook.
pub(crate) fn enter() -> tokio::runtime::EnterGuard<'static> {
    runtime().enter()
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
        let _context = enter();
        let t0 = Instant::now();
        let out = with_deadline(Instant::now() + Duration::from_millis(50), || {
            block_on(tokio::time::sleep(Duration::from_secs(5)))
        });
        assert_eq!(out, Err(BlockOnError::DeadlinePassed));
        assert!(t0.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn refuses_outside_a_worker() {
        assert_eq!(block_on(async { 1 }), Err(BlockOnError::NotOnWorker));
    }
}
