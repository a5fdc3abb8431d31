//! The library's lifecycle NIFs: `start/1` builds the user's type from the driver
//! configuration and starts its workers, `stop/0` stops them and runs `terminate`,
//! `stats/0` reads the per-hook counters.

use super::atoms;
use super::entry::{library, slot};
use super::instance::{Core, Instance};
use super::offload::Executor;
use crate::config::{Config, FailedAction};
use crate::hookpoint::HookKind;
use crate::spec::{HookSpec, Mode};
use crate::topic::validate_filter;
use crate::workers::Overflow;
use rustler::{Atom, Binary, Encoder, Env, LocalPid, Term};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

fn get_bin(map: Term, key: Atom) -> Option<String> {
    let t = map.map_get(key).ok()?;
    t.decode::<Binary>()
        .ok()
        .map(|b| String::from_utf8_lossy(b.as_slice()).into_owned())
}

fn config_from(map: Term) -> Result<Config, String> {
    let mut c = Config {
        path: get_bin(map, atoms::path())
            .ok_or("config: path must be a binary")?
            .into(),
        ..Config::default()
    };
    if let Ok(t) = map.map_get(atoms::call_timeout()) {
        c.call_timeout = Duration::from_millis(
            t.decode::<u64>()
                .map_err(|_| "config: call_timeout must be ms")?,
        );
    }
    if let Ok(t) = map.map_get(atoms::pool_size()) {
        c.pool_size = t
            .decode::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or("config: pool_size must be >= 1")?;
    }
    if let Ok(t) = map.map_get(atoms::failed_action()) {
        c.failed_action = if atoms::deny() == t {
            FailedAction::Deny
        } else {
            FailedAction::Ignore
        };
    }
    if let Ok(t) = map.map_get(atoms::queue_size()) {
        c.queue_size = t
            .decode::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or("config: queue_size must be >= 1")?;
    }
    if let Ok(t) = map.map_get(atoms::overflow()) {
        c.overflow = if atoms::drop_oldest() == t {
            Overflow::DropOldest
        } else {
            Overflow::DropNewest
        };
    }
    c.emqx_version = get_bin(map, atoms::emqx_version()).unwrap_or_default();
    if let Ok(args) = map.map_get(atoms::init_args()) {
        let iter = rustler::MapIterator::new(args).ok_or("config: init_args must be a map")?;
        for (k, v) in iter {
            let k = k
                .decode::<Binary>()
                .map_err(|_| "config: init_args keys must be binaries")?;
            let v = v
                .decode::<Binary>()
                .map_err(|_| "config: init_args values must be binaries")?;
            c.args.insert(
                String::from_utf8_lossy(k.as_slice()).into_owned(),
                String::from_utf8_lossy(v.as_slice()).into_owned(),
            );
        }
    }
    Ok(c)
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

/// Fills in the default mode of each hook: the pool for hooks that decide, the
/// notification queue for the others.
fn resolve_modes(specs: &[HookSpec]) -> Vec<HookSpec> {
    specs
        .iter()
        .map(|s| HookSpec {
            mode: Some(s.mode.unwrap_or(match s.hook.kind() {
                HookKind::Fold => Mode::Pool,
                HookKind::Notify => Mode::Queue,
            })),
            ..*s
        })
        .collect()
}

fn spec_term<'a>(env: Env<'a>, s: &HookSpec) -> Term<'a> {
    let hook = Atom::from_str(env, s.hook.name()).expect("hook atom");
    let mode = s.mode.unwrap_or(Mode::Inline);
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
    let fail = |msg: String| (atoms::error(), msg).encode(env);
    let (Some(lib), Some(slot)) = (library(), slot(env)) else {
        return fail("not a hook library: no #[emqx_rust_hook::export] type was registered".into());
    };
    if let Ok(logger) = config.map_get(atoms::logger()) {
        if let Ok(pid) = logger.decode::<LocalPid>() {
            crate::log::install(pid);
        }
    }
    let config = match config_from(config) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if let Err(e) = check_specs(lib.specs) {
        return fail(e);
    }
    let _lifecycle = slot.lifecycle.lock();
    if slot.instance.load().is_some() {
        return fail("already started".into());
    }
    let built = match crate::panic::contain(|| (lib.factory)(&config)) {
        Ok(Ok(hooks)) => hooks,
        Ok(Err(e)) => return fail(format!("{} init failed: {e}", lib.type_name)),
        Err(panic) => return fail(format!("{} init panicked: {panic}", lib.type_name)),
    };
    let core = Arc::new(Core::new(built, resolve_modes(lib.specs)));
    let offload = match Executor::start(&core, &config) {
        Ok(offload) => offload,
        Err(e) => return fail(format!("cannot start worker threads: {e}")),
    };
    let specs: Vec<Term> = core.specs.iter().map(|s| spec_term(env, s)).collect();
    slot.instance
        .store(Some(Arc::new(Instance { core, offload })));
    (atoms::ok(), specs).encode(env)
}

/// How long `stop/0` lets calls already running inline finish before `terminate` runs.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// `stop() -> ok`: runs the library's `terminate` and drops it.
#[rustler::nif(schedule = "DirtyIo")]
fn stop(env: Env) -> Atom {
    if let Some(slot) = slot(env) {
        slot.stop(STOP_WAIT);
    }
    atoms::ok()
}

/// `stats() -> #{HookPoint => #{calls, errors, panics, timeouts, overloads, dropped}}`
/// for the implemented hooks.
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
            });
            let key = Atom::from_str(env, spec.hook.name()).expect("hook atom");
            map = map.map_put(key, entry).unwrap_or(map);
        }
    }
    map
}
