//! A minimal executor for tests.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on the calling thread and returns its output: a way to
/// call async code (your own, or an `async fn` hook method) from a plain `#[test]`.
/// The thread sleeps until the future's waker is woken, so any future whose I/O is
/// driven by another thread works; futures that need a Tokio reactor on the current
/// thread need a Tokio runtime instead (`#[tokio::test]`).
///
/// ```
/// use emqx_rust_hook::prelude::*;
/// use emqx_rust_hook::testing::block_on;
///
/// struct Auth;
///
/// #[emqx_rust_hook::export]
/// impl Hooks for Auth {
///     fn init(_: &Config) -> Result<Self, InitError> {
///         Ok(Auth)
///     }
///
///     async fn client_authenticate(&self, c: &ClientInfo<'_>, _: AuthResult) -> AuthDecision {
///         match c.username() {
///             Some(_) => AuthDecision::Allow,
///             None => AuthDecision::Abstain,
///         }
///     }
/// }
///
/// let hooks = Auth::init(&Config::builder().build()).unwrap();
/// let alice = ClientInfo::builder().build();
/// let decision = block_on(hooks.client_authenticate(&alice, AuthResult::builder().build()));
/// assert_eq!(decision, AuthDecision::Allow);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}
