//! The library's lifecycle NIFs: `start/1` builds the user's type from the driver
//! configuration and starts its workers, `stop/0` stops them and runs `terminate`,
//! `stats/0` reads the per-hook counters.

use super::atoms;
use super::entry::{library, slot};
use super::instance::{Core, Instance};
use super::offload::Executor;
use crate::config::{Config, FailedAction, Overflow};
use crate::hookpoint::{HookKind, HookPoint};
use crate::spec::{HookSpec, Mode};
use crate::topic::validate_filter;
use rustler::{Atom, Binary, Encoder, Env, LocalPid, Term};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

fn get_bin(map: Term, key: Atom) -> Option<String> {
    let t = map.map_get(key).ok()?;
    t.decode::<Binary>()
        .ok()
        .map(|b| String::from_utf8_lossy(b.as_slice()).into_owned())
}

/// The value under `key`, which the driver always sends (the SDK has no defaults of its
/// own: they are the plugin's, in `emqx_rust_hook.hrl`).
fn required<'a>(map: Term<'a>, key: Atom, name: &str) -> Result<Term<'a>, String> {
    map.map_get(key)
        .map_err(|_| format!("config: {name} is missing"))
}

/// The largest `pool_size`: threads per pool-mode hook, and notification shards.
pub const MAX_POOL_SIZE: usize = 1024;
/// The largest `notify_queue_size` (its slots are allocated at start).
pub const MAX_NOTIFY_QUEUE_SIZE: usize = 10_000_000;
/// The largest `async_max_in_flight`.
pub const MAX_ASYNC_MAX_IN_FLIGHT: usize = 10_000_000;

fn in_range(map: Term, key: Atom, name: &str, max: usize) -> Result<usize, String> {
    required(map, key, name)?
        .decode::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| format!("config: {name} must be an integer from 1 to {max}"))
}

fn one_of<T: Copy>(map: Term, key: Atom, name: &str, values: &[(Atom, T)]) -> Result<T, String> {
    let t = required(map, key, name)?;
    values
        .iter()
        .find(|(a, _)| *a == t)
        .map(|(_, v)| *v)
        .ok_or_else(|| format!("config: {name} has an unknown value"))
}

fn config_from(map: Term) -> Result<Config, String> {
    let path = get_bin(map, atoms::path()).ok_or("config: path must be a binary")?;
    let call_timeout = required(map, atoms::call_timeout(), "call_timeout")?
        .decode::<u64>()
        .map_err(|_| "config: call_timeout must be a duration in ms")?;
    let hook_priority = required(map, atoms::hook_priority(), "hook_priority")?
        .decode::<i64>()
        .map_err(|_| "config: hook_priority must be an integer")?;
    let failed_action = one_of(
        map,
        atoms::failed_action(),
        "failed_action",
        &[
            (atoms::ignore(), FailedAction::Ignore),
            (atoms::deny(), FailedAction::Deny),
        ],
    )?;
    let overflow = one_of(
        map,
        atoms::overflow(),
        "overflow",
        &[
            (atoms::drop_newest(), Overflow::DropNewest),
            (atoms::drop_oldest(), Overflow::DropOldest),
        ],
    )?;
    let mut modes = BTreeMap::new();
    if let Ok(overrides) = map.map_get(atoms::mode_overrides()) {
        let iter =
            rustler::MapIterator::new(overrides).ok_or("config: mode_overrides must be a map")?;
        for (k, v) in iter {
            let hook = k
                .atom_to_string()
                .ok()
                .and_then(|h| HookPoint::from_name(&h))
                .ok_or_else(|| format!("config: mode.{k:?}: not a hookpoint"))?;
            let mode = [
                Mode::Auto,
                Mode::Inline,
                Mode::Pool,
                Mode::Queue,
                Mode::Async,
            ]
            .into_iter()
            .find(|m| v.atom_to_string().is_ok_and(|a| a == m.as_atom()))
            .ok_or_else(|| {
                format!(
                    "mode.{} = {v:?}: the mode is auto, inline, pool, queue or async",
                    hook.method()
                )
            })?;
            modes.insert(hook, mode);
        }
    }
    let mut init = BTreeMap::new();
    if let Ok(args) = map.map_get(atoms::init_args()) {
        let iter = rustler::MapIterator::new(args).ok_or("config: init_args must be a map")?;
        for (k, v) in iter {
            let k = k
                .decode::<Binary>()
                .map_err(|_| "config: init_args keys must be binaries")?;
            let v = v
                .decode::<Binary>()
                .map_err(|_| "config: init_args values must be binaries")?;
            init.insert(
                String::from_utf8_lossy(k.as_slice()).into_owned(),
                String::from_utf8_lossy(v.as_slice()).into_owned(),
            );
        }
    }
    Ok(Config {
        path: path.into(),
        call_timeout: Duration::from_millis(call_timeout),
        hook_priority,
        pool_size: in_range(map, atoms::pool_size(), "pool_size", MAX_POOL_SIZE)?,
        pool_max_size: in_range(map, atoms::pool_max_size(), "pool_max_size", MAX_POOL_SIZE)?,
        async_max_in_flight: in_range(
            map,
            atoms::async_max_in_flight(),
            "async_max_in_flight",
            MAX_ASYNC_MAX_IN_FLIGHT,
        )?,
        failed_action,
        notify_queue_size: in_range(
            map,
            atoms::notify_queue_size(),
            "notify_queue_size",
            MAX_NOTIFY_QUEUE_SIZE,
        )?,
        overflow,
        modes,
        emqx_version: get_bin(map, atoms::emqx_version()).unwrap_or_default(),
        init,
    })
}

fn check_specs(specs: &[HookSpec]) -> Result<(), String> {
    if specs.is_empty() {
        return Err(
            "the library implements no hook (is #[emqx_rust_hook::export] on the impl block?)"
                .into(),
        );
    }
    for s in specs {
        if !s.hook.is_message_hook() && (!s.topics.is_empty() || s.sys) {
            return Err(format!(
                "{}: topics and sys apply to message hooks only",
                s.hook
            ));
        }
        for t in s.topics {
            validate_filter(t).map_err(|e| format!("{}: topic filter {t:?}: {e}", s.hook))?;
        }
        if s.hook.kind() == HookKind::Notify && s.mode == Some(Mode::Pool) {
            return Err(format!(
                "{}: a notification hook cannot use the pool mode",
                s.hook
            ));
        }
    }
    Ok(())
}

/// The mode of each hook: `async` for an `async fn` method (and only then), else the
/// operator's `mode.<hook>` when set, else the library's `#[hook(...)]`, else `auto`
/// (inline, watched: see `nif::watch`). Any sync hook may run auto, inline or queued; a
/// notification cannot use the pool (nothing waits for its answer). An override of a
/// hook the library does not implement is refused too: it would have no effect.
fn resolve_modes(specs: &[HookSpec], config: &Config) -> Result<Vec<HookSpec>, String> {
    for (hook, mode) in &config.modes {
        let refuse = |why: String| {
            Err(format!(
                "exhook.drivers.rust.mode.{} = {}: {why}",
                hook.method(),
                mode.as_atom()
            ))
        };
        if !specs.iter().any(|s| s.hook == *hook) {
            return refuse(format!("the library does not implement {hook}"));
        }
        if hook.kind() == HookKind::Notify && *mode == Mode::Pool {
            return refuse(format!(
                "{hook} is a notification, which runs auto, inline or queue, not pool"
            ));
        }
        let is_async = specs
            .iter()
            .any(|s| s.hook == *hook && s.mode == Some(Mode::Async));
        if is_async != (*mode == Mode::Async) {
            return refuse(if is_async {
                format!("the library's {hook} is an async fn, which runs in mode async only")
            } else {
                format!("mode async is for async fn methods; the library's {hook} is not one")
            });
        }
    }
    Ok(specs
        .iter()
        .map(|s| HookSpec {
            mode: Some(
                s.mode
                    .filter(|m| *m == Mode::Async)
                    .or(config.mode(s.hook))
                    .or(s.mode)
                    .unwrap_or(Mode::Auto),
            ),
            ..*s
        })
        .collect())
}

fn spec_term<'a>(env: Env<'a>, s: &HookSpec) -> Term<'a> {
    let hook = Atom::from_str(env, s.hook.name()).expect("hook atom");
    let mode = s.mode.unwrap_or(Mode::Auto);
    let failed = match s.failed_action {
        Some(FailedAction::Deny) => atoms::deny(),
        Some(FailedAction::Ignore) => atoms::ignore(),
        None => atoms::undefined(),
    };
    let topics: Vec<&str> = s.topics.to_vec();
    let opts = rustler::term_map!(env, {
        atoms::topics() => topics,
        atoms::sys() => s.sys,
        atoms::mode() => Atom::from_str(env, mode.as_atom()).expect("mode atom"),
        atoms::failed_action() => failed,
    });
    (hook, opts).encode(env)
}

/// `start(Config) -> {ok, [{HookPoint, Opts}]} | {error, Message}`: builds the library
/// from the driver configuration. Runs on a dirty I/O scheduler (user init may block).
#[rustler::nif(schedule = "DirtyIo")]
fn start<'a>(env: Env<'a>, config: Term<'a>) -> Term<'a> {
    crate::panic::install_hook();
    let (Some(lib), Some(slot)) = (library(), slot(env)) else {
        return (
            atoms::error(),
            "not a hook library: no #[emqx_rust_hook::export] type was registered",
        )
            .encode(env);
    };
    // A start that fails leaves no thread behind: the log thread stops again (unless a
    // started library uses it).
    let fail = |msg: String| {
        if slot.instance.load().is_none() {
            crate::log::stop(RUNTIME_STOP_WAIT);
        }
        (atoms::error(), msg).encode(env)
    };
    if let Ok(logger) = config.map_get(atoms::logger()) {
        if let Ok(pid) = logger.decode::<LocalPid>() {
            crate::log::install(pid, super::entry::module_name());
        }
    }
    // A reload starts the new library with its queued notifications held (at most that
    // many ms) until the library it replaces has run its own (`release/0`).
    let hold = config
        .map_get(atoms::hold_notifications())
        .ok()
        .and_then(|t| t.decode::<u64>().ok())
        .map(Duration::from_millis);
    let config = match config_from(config) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if let Err(e) = check_specs(lib.specs) {
        return fail(e);
    }
    let specs = match resolve_modes(lib.specs, &config) {
        Ok(specs) => specs,
        Err(e) => return fail(e),
    };
    let _lifecycle = slot.lifecycle.lock();
    if slot.instance.load().is_some() {
        return fail("already started".into());
    }
    // The SDK's Tokio runtime runs while the library does (`init` may use it).
    crate::rt::start();
    let stop_runtime = || crate::rt::stop(RUNTIME_STOP_WAIT);
    // `init` runs on this dirty I/O scheduler: `erl::send` needs the calling process's env.
    let built = match crate::erl::with_process_env(env, || {
        crate::panic::contain(|| (lib.factory)(&config))
    }) {
        Ok(Ok(hooks)) => hooks,
        Ok(Err(e)) => {
            stop_runtime();
            return fail(format!("{} init failed: {e}", lib.type_name));
        }
        Err(panic) => {
            stop_runtime();
            return fail(format!("{} init panicked: {panic}", lib.type_name));
        }
    };
    let core = Arc::new(Core::new(built, specs));
    let offload = match Executor::start(&core, &config, hold) {
        Ok(offload) => offload,
        Err(e) => {
            stop_runtime();
            return fail(format!("cannot start worker threads: {e}"));
        }
    };
    let specs: Vec<Term> = core.specs.iter().map(|s| spec_term(env, s)).collect();
    slot.instance
        .store(Some(Arc::new(Instance { core, offload })));
    warn_if_unoptimised(lib.type_name);
    (atoms::ok(), specs).encode(env)
}

/// Says in the log when the library was built without optimisations (`cargo build`
/// without `--release`, or `cargo test`): the SDK is compiled with the library's profile,
/// so its `debug_assertions` are the library's.
fn warn_if_unoptimised(type_name: &str) {
    if cfg!(debug_assertions) {
        tracing::warn!(
            "{type_name} was built without optimisations (cargo's dev profile): each hook \
             call costs several times what it costs in a release build; build the library \
             with `cargo build --release` for a broker"
        );
    }
}

/// How long stopping the runtime waits for its blocking tasks.
pub(crate) const RUNTIME_STOP_WAIT: Duration = Duration::from_secs(5);

/// How long `stop/0` lets calls already running inline finish before `terminate` runs.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// `stop() -> ok`: runs the library's `terminate` and drops it.
#[rustler::nif(schedule = "DirtyIo")]
fn stop(env: Env) -> Atom {
    if let Some(slot) = slot(env) {
        // `terminate` runs on this dirty I/O scheduler (see `start`).
        crate::erl::with_process_env(env, || slot.stop(STOP_WAIT, None));
    }
    atoms::ok()
}

/// `release() -> ok`: lets the queued notifications of a library that a reload started
/// run, once the library it replaced has run its own (see `start`).
#[rustler::nif]
fn release(env: Env) -> Atom {
    if let Some(inst) = slot(env).and_then(|s| s.instance.load_full()) {
        inst.offload.release();
    }
    atoms::ok()
}

/// `retire(WaitMs) -> ok`: stops the library after a reload switched its hooks to another
/// one. Unlike `stop/0`, nothing it was given is cut short: calls running inline finish,
/// queued and pending calls run (their callers wait at most `call_timeout`), and queued
/// notifications get `WaitMs` to run; then `terminate` runs.
#[rustler::nif(schedule = "DirtyIo")]
fn retire(env: Env, wait_ms: u64) -> Atom {
    if let Some(slot) = slot(env) {
        let wait = Duration::from_millis(wait_ms);
        crate::erl::with_process_env(env, || slot.stop(STOP_WAIT, Some(wait)));
    }
    atoms::ok()
}

/// `stats() -> #{HookPoint => #{calls, errors, panics, timeouts, overloads, dropped,
/// demoted}}` for the implemented hooks (`demoted`: an `auto` hook moved off the
/// schedulers).
#[rustler::nif]
fn stats(env: Env) -> Term {
    let mut map = Term::map_new(env);
    if let Some(inst) = slot(env).and_then(|s| s.instance.load_full()) {
        for spec in &inst.core.specs {
            let s = inst.core.stats(spec.hook);
            let entry = rustler::term_map!(env, {
                atoms::calls() => s.calls.get(),
                atoms::errors() => s.errors.load(Ordering::Relaxed),
                atoms::panics() => s.panics.load(Ordering::Relaxed),
                atoms::timeouts() => s.timeouts.load(Ordering::Relaxed),
                atoms::overloads() => s.overloads.load(Ordering::Relaxed),
                atoms::dropped() => s.dropped.load(Ordering::Relaxed),
                atoms::in_flight() => s.in_flight.load(Ordering::Relaxed),
                atoms::workers() => inst.offload.workers(spec.hook),
                atoms::demoted() => inst.core.demoted.get(spec.hook),
            });
            let key = Atom::from_str(env, spec.hook.name()).expect("hook atom");
            map = map.map_put(key, entry).unwrap_or(map);
        }
    }
    map
}

/// `library_status() -> [{Name, Value}]` (binaries): what the library's
/// `Hooks::status` reports; `[]` when no library runs, `{error, Message}` when it
/// panicked. On a dirty scheduler: the library's code is not bound to be quick.
#[rustler::nif(schedule = "DirtyIo")]
fn library_status(env: Env) -> Term {
    let Some(inst) = slot(env).and_then(|s| s.instance.load_full()) else {
        return Vec::<Term>::new().encode(env);
    };
    match crate::panic::contain(|| inst.core.hooks.status()) {
        Ok(lines) => lines
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>()
            .encode(env),
        Err(msg) => (atoms::error(), msg).encode(env),
    }
}

/// `library_command([Arg]) -> {ok, Text} | {error, Message}` (binaries): runs the
/// library's `Hooks::command` (`emqx_ctl rust_hook cmd ...`), on a dirty scheduler.
#[rustler::nif(schedule = "DirtyIo")]
fn library_command<'a>(env: Env<'a>, args: Vec<Binary<'a>>) -> Term<'a> {
    let Some(inst) = slot(env).and_then(|s| s.instance.load_full()) else {
        return (atoms::error(), "no library running").encode(env);
    };
    let args: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a.as_slice()).into_owned())
        .collect();
    match crate::panic::contain(|| inst.core.hooks.command(&args)) {
        Ok(Ok(text)) => (atoms::ok(), text).encode(env),
        Ok(Err(msg)) | Err(msg) => (atoms::error(), msg).encode(env),
    }
}

/// `log_handled(N) -> ok`: the plugin's logger process wrote `N` lines of the library's
/// log (they left its mailbox), so the log thread may send that many more.
#[rustler::nif]
fn log_handled(n: usize) -> Atom {
    crate::log::handled(n);
    atoms::ok()
}

/// `log_stats() -> #{dropped, cut, queued, in_flight}`: the log's counters (see
/// `crate::log`).
#[rustler::nif]
fn log_stats(env: Env) -> Term {
    let s = crate::log::stats();
    rustler::term_map!(env, {
        atoms::dropped() => s.dropped,
        atoms::cut() => s.cut,
        atoms::queued() => s.queued,
        atoms::in_flight() => s.in_flight,
    })
}
