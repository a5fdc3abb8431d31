//! `async fn` hook calls. The method's future is built over the caller's own terms
//! (an argument the method never reads stands in as an empty map) and polled once,
//! here, on the caller's scheduler, with nothing copied (see `lazy`):
//!
//! - ready: the answer is returned at once, as an inline hook's would be;
//! - pending: the arguments are copied once off the caller's heap (into an `OwnedEnv`;
//!   arguments the method never reads are left out) and the future's views read that
//!   copy from then on. The future goes on as a task of the SDK's Tokio runtime and
//!   holds no thread while it waits. A hook that decides returns `{pending, Job}` and
//!   its caller waits for `{Tag, Result}` at most `call_timeout` (as for a pool call,
//!   `pending`); a notification returns `ok` at once. At `call_timeout` after the call
//!   the future is dropped (its `Drop` runs: the cancellation is observable).
//!
//! Each hook has at most `async_max_in_flight` pending futures; a call that would be
//! one more fails at once with `overload` (its future is dropped after its first poll;
//! calls ready on their first poll are never refused). Panics on any poll, and in the
//! future's `Drop`, are contained.
//!
//! Soundness: the future borrows the user's value (`Core`), the call's lazy context
//! (its arena) and, once pending, the terms of the copy, all typed `'static` here.
//! During the first poll it reads the caller's terms, which stay put until this NIF
//! returns, and keeps none of their bytes (`lazy`). [`AsyncCall`] owns the rest and
//! drops the future first, then clears the environment and the context, then releases
//! the core, so no borrow outlives what it borrows. The environment is used by one
//! thread at a time: the future is polled with `&mut` access (by this caller, then by
//! one runtime worker at a time), and the reply is built after the future is gone.

use super::asyncargs::{encode, AsyncArgs, CallFuture, Decided};
use super::atoms;
use super::dispatch::{failed, CallError, Prepared};
use super::instance::{HookStats, Instance};
use super::lazy::Lazy;
use super::offload::{give_env, send};
use super::pending::{self, PendingCall};
use super::term::Tuple;
use crate::hookpoint::{HookKind, HookPoint};
use crate::hooks::Hooks;
use rustler::{Encoder, Env, LocalPid, OwnedEnv, Term};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::Instant;

/// Runs one call of the `async fn` hook `hook` (`tag` is the caller's reference).
/// `started`: when the call started, if it is timed; a call that goes on on the runtime
/// records its latency when its answer is sent (see `latency`).
pub fn call<'a>(
    env: Env<'a>,
    inst: &Instance,
    hook: HookPoint,
    tag: Term<'a>,
    args: &[Term<'a>],
    started: Option<Instant>,
) -> Term<'a> {
    let core = &inst.core;
    let stats = core.stats(hook);
    let lazy = Lazy::take();
    // SAFETY: the user's value lives in `core`, which outlives the future: dropped here
    // before this function returns, or owned (with an `Arc` of the core) by `AsyncCall`,
    // which drops the future before the core.
    let hooks: &'static dyn Hooks = unsafe { &*(core.hooks.as_ref() as *const dyn Hooks) };
    let (lazy_args, n) = inst.offload.lazy_args(env, hook, args);
    // SAFETY: the caller's terms, typed 'static for the future. They are read during its
    // first poll, here, within this NIF call. If it goes pending, the views it holds read
    // the copy from then on (`Lazy::settle`, below), and nothing it kept from the first
    // poll points into the caller's heap (see `lazy`). The context `lazy` outlives the
    // future: it is dropped (or given back) only after the future.
    let first: &[Term<'static>] =
        unsafe { std::mem::transmute::<&[Term<'a>], &[Term<'static>]>(&lazy_args[..n]) };
    let prepared = Prepared {
        caller: Some(env.pid()),
        ..Default::default()
    };
    let Some(mut future) = hooks.__call_async(AsyncArgs::new(hook, first, prepared, &*lazy)) else {
        Lazy::give(lazy);
        return failed(
            env,
            core,
            hook,
            args,
            CallError::Decode(super::decode::DecodeError {
                what: "mode",
                expected: "an async fn method (mode async)",
            }),
        );
    };
    // A future dropped here may run user code (`Drop`) that uses `erl::send`.
    let drop_here =
        |f: CallFuture<'static>| crate::erl::with_process_env(env, || drop_future(core, hook, f));
    // The first poll, on this scheduler, in the runtime's context (Tokio types can be
    // created) and with the caller's environment (`erl::send` works).
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    // Log lines of the hook name its client (see `log_context`).
    let caller = Some(env.pid());
    let who = || super::dispatch::who(hook, args, caller);
    let polled = crate::erl::with_process_env(env, || {
        crate::rt::with_context(|| {
            crate::log_context::during_call(&who, || {
                crate::panic::contain(|| future.as_mut().poll(&mut cx))
            })
        })
    });
    let outcome = match polled {
        Ok(Poll::Pending) => None,
        Ok(Poll::Ready(result)) => Some(result),
        Err(panic) => Some(Err(CallError::Panic(panic))),
    };
    if let Some(result) = outcome {
        drop_here(future);
        Lazy::give(lazy);
        // As for an inline call: the answer is built from the caller's own arguments.
        return match result.and_then(|d| encode(env, hook, d, args, false)) {
            Ok(term) => term,
            Err(err) => failed(env, core, hook, args, err),
        };
    }
    // The bound on pending calls: past it, this one is dropped (cancelled) and fails now.
    let max = inst.offload.max_in_flight;
    if stats.in_flight.load(Ordering::Relaxed) >= max as u64 {
        drop_here(future);
        Lazy::give(lazy);
        HookStats::bump(&stats.overloads);
        let msg = format!("{hook}: {max} calls already pending (async_max_in_flight)");
        return (atoms::error(), atoms::overload(), msg).encode(env);
    }
    let Some(runtime) = crate::rt::handle() else {
        drop_here(future);
        Lazy::give(lazy);
        return (
            atoms::error(),
            atoms::not_started(),
            "the SDK's runtime is not running",
        )
            .encode(env);
    };
    // Pending: the arguments are copied off the caller's heap, and the future's views
    // read the copy from now on.
    let (owned, saved, prepared) = match inst.offload.copy_args(env, hook, tag, args) {
        Ok(copy) => copy,
        Err(msg) => {
            drop_here(future);
            Lazy::give(lazy);
            return super::offload::too_large(env, core, hook, &msg);
        }
    };
    // The copy's terms, typed 'static: valid until `owned` is cleared, which happens only
    // after the future that reads them is dropped (in `AsyncCall`).
    let terms = owned.run(|e: Env<'static>| CallTerms::of(saved.load(e)));
    let copied = terms.all().get(1..).unwrap_or_default();
    if let Some(t) = copied.first() {
        lazy.settle(t.get_env(), first, copied);
    }
    stats.in_flight.fetch_add(1, Ordering::Relaxed);
    let state = (hook.kind() == HookKind::Fold).then(|| PendingCall::new(hook, started));
    let answer = match &state {
        Some(state) => (atoms::pending(), pending::make(env, state.clone())).encode(env),
        None => atoms::ok().encode(env),
    };
    let call = AsyncCall {
        future: Some(future),
        env: Some(owned),
        lazy: Some(lazy),
        terms,
        payload_elided: prepared.payload_elided,
        hook,
        reply: state.map(|state| (env.pid(), state)),
        caller,
        finished: false,
        deadline: Instant::now() + inst.offload.call_timeout(),
        core: core.clone(),
    };
    drop(runtime.spawn(call.drive()));
    answer
}

/// The elements of the copied `{Tag, Args...}` (a tag and at most four arguments), kept
/// without an allocation: the ready path makes none for them.
#[derive(Clone, Copy)]
struct CallTerms {
    terms: [Term<'static>; 5],
    len: usize,
}

impl CallTerms {
    /// The elements of the tuple `call` (none when it is not a tuple).
    fn of(call: Term<'static>) -> Self {
        let mut terms = [call; 5];
        let mut len = 0;
        if let Some(t) = Tuple::of(call) {
            for (slot, elem) in terms.iter_mut().zip((0..t.len()).filter_map(|i| t.get(i))) {
                *slot = elem;
                len += 1;
            }
        }
        CallTerms { terms, len }
    }

    /// The tag, then the arguments.
    fn all(&self) -> &[Term<'static>] {
        &self.terms[..self.len]
    }
}

/// A pending call: the future, and what it borrows (see the module's soundness note).
/// Fields are dropped in `Drop::drop` in the order the soundness needs.
struct AsyncCall {
    future: Option<CallFuture<'static>>,
    env: Option<OwnedEnv>,
    /// The call's lazy context: its arena, and where its views' terms are in `env`.
    lazy: Option<Box<Lazy>>,
    /// `{Tag, Args...}` in `env`.
    terms: CallTerms,
    payload_elided: bool,
    hook: HookPoint,
    /// Who waits for the answer (hooks that decide).
    reply: Option<(LocalPid, Arc<PendingCall>)>,
    /// The process that made the call (for log lines).
    caller: Option<LocalPid>,
    /// The task got to an end (answered, failed or timed out).
    finished: bool,
    deadline: Instant,
    core: Arc<super::instance::Core>,
}

impl AsyncCall {
    /// Polls the future until it is ready or its deadline passes, then answers.
    async fn drive(mut self) {
        let outcome = {
            let (hook, caller, terms) = (self.hook, self.caller, self.terms.all());
            let who = || super::dispatch::who(hook, &terms[1..], caller);
            let future = self.future.as_mut().expect("a pending call has its future");
            let contained = std::future::poll_fn(|cx| {
                let polled = crate::log_context::during_call(&who, || {
                    crate::panic::contain(|| future.as_mut().poll(cx))
                });
                match polled {
                    Ok(Poll::Pending) => Poll::Pending,
                    Ok(Poll::Ready(r)) => Poll::Ready(r),
                    Err(panic) => Poll::Ready(Err(CallError::Panic(panic))),
                }
            });
            tokio::time::timeout_at(self.deadline.into(), contained).await
        };
        // The future goes before anything reads the environment again.
        if let Some(f) = self.future.take() {
            drop_future(&self.core, self.hook, f);
        }
        self.finished = true;
        match outcome {
            Ok(result) => self.answer(result),
            Err(_elapsed) => {
                // A notification has nobody waiting; a caller of a hook that decides
                // stops waiting at the same time and counts the timeout when it cancels.
                if self.reply.is_none() {
                    HookStats::bump(&self.core.stats(self.hook).timeouts);
                }
            }
        }
    }

    /// Sends the answer (or counts the failure of a notification).
    fn answer(&mut self, result: Result<Decided, CallError>) {
        let Some(env) = &self.env else { return };
        let (hook, core, elided) = (self.hook, &self.core, self.payload_elided);
        let terms = self.terms.all();
        let reply = &self.reply;
        env.run(|e| {
            let (tag, args) = (terms[0], &terms[1..]);
            let term = match result.and_then(|d| encode(e, hook, d, args, elided)) {
                Ok(t) => t,
                Err(err) => failed(e, core, hook, args, err),
            };
            if let Some((pid, state)) = reply {
                if state.claim_reply() {
                    send(e, pid, (tag, term).encode(e));
                    core.timed(hook, state.started);
                }
            }
        });
    }
}

impl Drop for AsyncCall {
    fn drop(&mut self) {
        if let Some(f) = self.future.take() {
            drop_future(&self.core, self.hook, f);
        }
        // Dropped unfinished: the runtime stopped (the library is stopping). Tell a
        // waiting caller at once, when this thread may send (not a VM thread).
        if !self.finished && !on_vm_thread() {
            if let (Some(env), Some((pid, state))) = (&self.env, &self.reply) {
                if state.claim_reply() {
                    let tag = self.terms.all()[0];
                    env.run(|e| {
                        let result = (
                            atoms::error(),
                            atoms::not_started(),
                            "the hook library stopped",
                        )
                            .encode(e);
                        send(e, pid, (tag, result).encode(e));
                    });
                }
            }
        }
        if let Some(env) = self.env.take() {
            give_env(env);
        }
        drop(self.lazy.take());
        self.core
            .stats(self.hook)
            .in_flight
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Drops a future with a panic in its `Drop` contained (counted and logged).
fn drop_future(core: &super::instance::Core, hook: HookPoint, f: CallFuture<'static>) {
    if let Err(msg) = crate::panic::contain(move || drop(f)) {
        HookStats::bump(&core.stats(hook).panics);
        tracing::error!("{hook}: dropping the hook's future panicked: {msg}");
    }
}

/// True when the calling thread is one of the VM's schedulers.
fn on_vm_thread() -> bool {
    // SAFETY: enif_thread_type has no preconditions.
    unsafe { rustler::sys::enif_thread_type() != rustler::sys::ERL_NIF_THR_UNDEFINED }
}

/// A waker that does nothing, for the first poll: a future left pending is spawned on
/// the runtime, which polls it again at once and so gets its own waker registered.
fn noop_waker() -> Waker {
    const VTABLE: RawWakerVTable = RawWakerVTable::new(|_| RAW, |_| {}, |_| {}, |_| {});
    const RAW: RawWaker = RawWaker::new(std::ptr::null(), &VTABLE);
    // SAFETY: every function of the vtable ignores the (null) data pointer.
    unsafe { Waker::from_raw(RAW) }
}
