//! The hook NIFs of `emqx_rust_hook_nif`: one function per hookpoint, plus `cancel/1`
//! for pool calls and `call_dirty_io/2` (for benchmarks). Every hook function takes `Tag`
//! first and then the hook's own arguments, accumulator last. `Tag` says where the hook
//! runs: `inline` (now, on the caller's scheduler), `queue` (copied to the notification
//! workers; returns `ok` at once), a reference (copied to the hook's pool, or, for an
//! `async fn` method, polled once here: returns the answer when the future is ready,
//! else `{pending, Job}` and the answer comes as `{Ref, Result}`; a pending async
//! notification returns `ok`), or `auto` (inline while the watchdog allows it, else like
//! pool, returning `{pending, Job, Ref}`, or queue).
//!
//! A hook function returns what EMQX expects from the callback (`ok`, `{ok, Acc}`,
//! `{stop, Acc}`), or `{error, Kind, Message}` (Kind: `not_started`, `decode`, `encode`,
//! `panic`, `overload`), on which the plugin applies the hook's failure policy.

use super::atoms;
use super::dispatch::{run_call, Prepared};
use super::entry::slot;
use super::instance::HookStats;
use super::pending;
use super::watch::Running;
use crate::hookpoint::{HookKind, HookPoint};
use rustler::{Atom, Encoder, Env, Term};

fn error_term<'a>(env: Env<'a>, kind: Atom, msg: &str) -> Term<'a> {
    (atoms::error(), kind, msg).encode(env)
}

/// Runs one hook call as `tag` says: `inline` now, `queue` on the notification shards,
/// a reference on the hook's pool (the answer comes as `{Tag, Result}`), `auto` inline
/// under the watchdog (`nif::watch`), or, once the hook is demoted, on its pool
/// (`{pending, Job, Ref}`: the answer comes as `{Ref, Result}`) or queued.
fn call<'a>(env: Env<'a>, hook: HookPoint, tag: Term<'a>, args: &[Term<'a>]) -> Term<'a> {
    let Some(slot) = slot(env) else {
        return error_term(env, atoms::not_started(), "the hook library is not loaded");
    };
    let guard = slot.instance.load();
    let Some(inst) = guard.as_ref() else {
        return error_term(env, atoms::not_started(), "the hook library is not started");
    };
    inst.core.stats(hook).calls.bump();
    let started = inst.core.latency(hook).start(inst.core.generation, hook);
    let result = run(env, inst, hook, tag, args, started);
    if started.is_some() && !is_pending(result) {
        inst.core.timed(hook, started);
    }
    result
}

/// Whether a call's result is `{pending, ...}`: its latency is recorded when its answer
/// is sent (or its caller stops waiting).
fn is_pending(result: Term) -> bool {
    super::term::Tuple::of(result)
        .and_then(|t| t.get(0))
        .is_some_and(|first| atoms::pending() == first)
}

/// `call` once the library is found; `started`: see `latency`.
fn run<'a>(
    env: Env<'a>,
    inst: &super::instance::Instance,
    hook: HookPoint,
    tag: Term<'a>,
    args: &[Term<'a>],
    started: Option<std::time::Instant>,
) -> Term<'a> {
    let inline = |env: Env<'a>| {
        crate::erl::with_process_env(env, || {
            let prepared = Prepared {
                caller: Some(env.pid()),
                ..Prepared::default()
            };
            run_call(env, &inst.core, hook, args, prepared)
        })
    };
    if atoms::auto() == tag {
        if !inst.core.demoted.get(hook) {
            let _running = Running::enter(hook, &inst.core.demoted);
            return inline(env);
        }
        // Demoted: a hook that decides goes to its pool with a fresh reference (the
        // plugin waits for `{Ref, Result}`), a notification to the queue.
        return match hook.kind() {
            HookKind::Fold => {
                let tag = env.make_ref().encode(env);
                let r = inst
                    .offload
                    .submit(env, &inst.core, hook, tag, args, started);
                match r.decode::<(Atom, Term)>() {
                    Ok((p, job)) if p == atoms::pending() => (p, job, tag).encode(env),
                    _ => r, // `{error, Kind, Message}`
                }
            }
            HookKind::Notify => inst.offload.enqueue(env, &inst.core, hook, args),
        };
    }
    if atoms::inline() == tag {
        inline(env)
    } else if atoms::queue() == tag {
        inst.offload.enqueue(env, &inst.core, hook, args)
    } else if inst.offload.is_async(hook) {
        super::asynccall::call(env, inst, hook, tag, args, started)
    } else {
        inst.offload
            .submit(env, &inst.core, hook, tag, args, started)
    }
}

/// `call_dirty_io(HookPoint, Args) -> Result`: runs a hook inline on one of the VM's
/// dirty I/O schedulers. The SDK does not use this path (the caller cannot time out,
/// and those schedulers also serve the node's file I/O); it exists so that `make bench`
/// can measure it against the pool.
#[rustler::nif(schedule = "DirtyIo")]
fn call_dirty_io<'a>(env: Env<'a>, hook: Term<'a>, args: Term<'a>) -> Term<'a> {
    // Walked cell by cell (at most 5 arguments): rustler's list decoder panics on an
    // improper list.
    let mut list = Vec::new();
    let mut rest = args;
    while let Some((head, tail)) = super::bounds::list_cell(rest) {
        if list.len() == 5 {
            break;
        }
        list.push(head);
        rest = tail;
    }
    let args = if rest.is_empty_list() {
        list
    } else {
        Vec::new()
    };
    let hook = hook
        .atom_to_string()
        .ok()
        .and_then(|h| HookPoint::from_name(&h));
    match hook {
        Some(hook) if hook.arity() == args.len() => {
            call(env, hook, atoms::inline().encode(env), &args)
        }
        _ => error_term(
            env,
            atoms::decode(),
            "call_dirty_io: unknown hook or wrong arity",
        ),
    }
}

/// `cancel(Handle) -> boolean()`: the caller of a pool call stops waiting. `true`: no
/// answer will be sent; `false`: the answer is already on its way (receive it).
#[rustler::nif]
fn cancel(env: Env, handle: Term) -> bool {
    let Some(state) = pending::get(handle) else {
        return false;
    };
    let abandoned = state.abandon();
    if abandoned {
        if let Some(inst) = slot(env).and_then(|s| s.instance.load_full()) {
            HookStats::bump(&inst.core.stats(state.hook).timeouts);
            inst.core.timed(state.hook, state.started);
        }
    }
    abandoned
}

/// Defines the hook NIFs. Each is registered as a raw NIF function rather than with
/// `#[rustler::nif]`: rustler's wrapper collects the arguments into a `Vec` (an allocation
/// and a free on every hook call); here they stay in an array on the stack.
macro_rules! hook_nifs {
    ($( $fun:ident => $hook:ident ( $($arg:ident),* ); )*) => {
        $(
            rustler::codegen_runtime::inventory::submit!(rustler::Nif {
                name: concat!(stringify!($fun), "\0").as_ptr() as *const std::ffi::c_char,
                arity: 1 + [$(stringify!($arg)),*].len() as std::ffi::c_uint,
                flags: 0,
                raw_func: {
                    #[doc = concat!("`", stringify!($fun), "(Tag, ...)`: the `", stringify!($hook), "` hook.")]
                    unsafe extern "C" fn $fun(
                        env: *mut rustler::sys::ErlNifEnv,
                        argc: std::ffi::c_int,
                        argv: *const rustler::sys::ErlNifTerm,
                    ) -> rustler::sys::ErlNifTerm {
                        raw_call(env, argc, argv, HookPoint::$hook)
                    }
                    $fun
                },
            });
        )*
    };
}

/// The body of every hook NIF: `argv` is `[Tag | the hook's arguments]`. A panic that
/// escapes the SDK's own containment (a bug) raises `nif_panicked` in the caller, as a
/// `#[rustler::nif]` function would, instead of unwinding into the VM.
///
/// # Safety
/// The VM's arguments of a NIF call: `argv` holds `argc` terms of `env`.
#[inline(always)]
unsafe fn raw_call(
    env: *mut rustler::sys::ErlNifEnv,
    argc: std::ffi::c_int,
    argv: *const rustler::sys::ErlNifTerm,
    hook: HookPoint,
) -> rustler::sys::ErlNifTerm {
    let marker = ();
    let env = Env::new(&marker, env);
    let raw = std::slice::from_raw_parts(argv, argc.max(0) as usize);
    // The VM calls a NIF with exactly its registered arity: at least the tag.
    let Some(&first) = raw.first() else {
        return rustler::sys::enif_make_badarg(env.as_c_arg());
    };
    let mut terms = [Term::new(env, first); 5];
    for (t, r) in terms.iter_mut().zip(raw) {
        *t = Term::new(env, *r);
    }
    let (tag, args) = (terms[0], &terms[1..raw.len().clamp(1, 5)]);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(env, hook, tag, args))) {
        Ok(term) => term.as_c_arg(),
        Err(_) => rustler::sys::enif_raise_exception(
            env.as_c_arg(),
            atoms::nif_panicked().encode(env).as_c_arg(),
        ),
    }
}

hook_nifs! {
    client_connect => ClientConnect(conninfo, props);
    client_connack => ClientConnack(conninfo, rc, props);
    client_connected => ClientConnected(clientinfo, conninfo);
    client_disconnected => ClientDisconnected(clientinfo, reason, conninfo);
    client_authenticate => ClientAuthenticate(clientinfo, acc);
    client_check_acl => ClientCheckAcl(clientinfo, pubsub, topic, acc);
    client_subscribe => ClientSubscribe(clientinfo, props, filters);
    client_unsubscribe => ClientUnsubscribe(clientinfo, props, filters);
    session_created => SessionCreated(clientinfo, sessinfo);
    session_subscribed => SessionSubscribed(clientinfo, topic, opts);
    session_unsubscribed => SessionUnsubscribed(clientinfo, topic, opts);
    session_resumed => SessionResumed(clientinfo, sessinfo);
    session_discarded => SessionDiscarded(clientinfo, sessinfo);
    session_takeovered => SessionTakeovered(clientinfo, sessinfo);
    session_terminated => SessionTerminated(clientinfo, reason, sessinfo);
    message_publish => MessagePublish(msg);
    message_delivered => MessageDelivered(clientinfo, msg);
    message_acked => MessageAcked(clientinfo, msg);
    message_dropped => MessageDropped(msg, node, reason);
}
