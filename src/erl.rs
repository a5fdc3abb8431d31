//! Sending Erlang messages from hook code, e.g. to hand events to an Erlang process.
//!
//! [`send`] works from every thread a library's code runs on: inline hooks (an Erlang
//! scheduler), `init` and `terminate` (a dirty I/O scheduler), pool and queued hooks
//! (the SDK's workers), the `rt` runtime's tasks and threads the library spawns itself.
//! The VM requires the calling process's environment for sends from its own threads and
//! none from other threads; the SDK records that environment around every call it makes
//! on a VM thread, and `send` picks the right way. On a VM thread outside such a call
//! (e.g. a `Drop` that runs when the library is released) it returns
//! [`SendError::NoCallerEnv`] instead of sending.

use rustler::sys::{
    enif_send, enif_thread_type, enif_whereis_pid, ErlNifEnv, ErlNifPid, ERL_NIF_THR_UNDEFINED,
};
use rustler::{Atom, Env, LocalPid, OwnedEnv};
use std::cell::Cell;

thread_local! {
    /// The calling process's environment while the SDK runs library code on a VM thread.
    static PROCESS_ENV: Cell<*mut ErlNifEnv> = const { Cell::new(std::ptr::null_mut()) };
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// No process is registered under that name (or the name is not an existing atom).
    #[error("no process registered as {0:?}")]
    NotRegistered(String),
    /// The value could not be turned into a term.
    #[error("cannot encode the message: {0}")]
    Encode(String),
    /// The VM refused the send (the process is gone).
    #[error("send failed")]
    Failed,
    /// Called on a VM scheduler thread outside a call the SDK made (the VM allows sends
    /// from its threads only with the calling process's environment).
    #[error("send called on an Erlang scheduler thread outside a hook call")]
    NoCallerEnv,
}

/// Runs `f` with `env` recorded as the calling process's environment, so that [`send`]
/// works on the VM thread that runs the NIF (inline hooks, `init`, `terminate`). The
/// previous value is restored afterwards, also when a panic unwinds through `f`.
pub(crate) fn with_process_env<T>(env: Env, f: impl FnOnce() -> T) -> T {
    crate::scoped::set_during(&PROCESS_ENV, env.as_c_arg(), f)
}

/// True when the calling thread is one of the VM's (normal or dirty) schedulers.
fn on_vm_thread() -> bool {
    // SAFETY: enif_thread_type has no preconditions.
    unsafe { enif_thread_type() != ERL_NIF_THR_UNDEFINED }
}

/// Sends `value` (any `serde::Serialize`; structs become maps, strings binaries,
/// `None` the atom `nil`) to the process registered as `name`. Never blocks.
pub fn send<T: serde::Serialize>(name: &str, value: &T) -> Result<(), SendError> {
    if on_vm_thread() {
        let raw = PROCESS_ENV.with(Cell::get);
        if raw.is_null() {
            return Err(SendError::NoCallerEnv);
        }
        let marker = ();
        // SAFETY: `raw` is the environment of the NIF call running on this thread (set
        // by `with_process_env` for the duration of that call).
        let env = unsafe { Env::new(&marker, raw) };
        let pid = whereis(env, raw, name)?;
        let term =
            rustler::serde::to_term(env, value).map_err(|e| SendError::Encode(format!("{e:?}")))?;
        // SAFETY: a VM thread sends with its calling process's environment; the message
        // (NULL message env) is copied from that environment.
        let sent = unsafe { enif_send(raw, pid.as_c_arg(), std::ptr::null_mut(), term.as_c_arg()) };
        return if sent != 0 {
            Ok(())
        } else {
            Err(SendError::Failed)
        };
    }
    // A thread the VM does not manage: no calling environment (NULL), the message is
    // built in an environment of its own.
    let owned = OwnedEnv::new();
    owned.run(|env| {
        let pid = whereis(env, std::ptr::null_mut(), name)?;
        let term =
            rustler::serde::to_term(env, value).map_err(|e| SendError::Encode(format!("{e:?}")))?;
        // SAFETY: not a VM thread, so the caller environment is NULL; `env` is the
        // process-independent environment the message was built in, not used afterwards.
        let sent = unsafe {
            enif_send(
                std::ptr::null_mut(),
                pid.as_c_arg(),
                env.as_c_arg(),
                term.as_c_arg(),
            )
        };
        if sent != 0 {
            Ok(())
        } else {
            Err(SendError::Failed)
        }
    })
}

/// The pid registered as `name`. `caller` is the calling process's environment on a VM
/// thread and NULL elsewhere, as `enif_whereis_pid` requires.
fn whereis(env: Env, caller: *mut ErlNifEnv, name: &str) -> Result<LocalPid, SendError> {
    let not_registered = || SendError::NotRegistered(name.to_string());
    let atom =
        Atom::existing_from_utf8_bytes(env, name.as_bytes()).map_err(|_| not_registered())?;
    let mut pid = std::mem::MaybeUninit::<ErlNifPid>::uninit();
    // SAFETY: `caller` follows the rule above; `pid` is written on success.
    let found = unsafe { enif_whereis_pid(caller, atom.as_c_arg(), pid.as_mut_ptr()) };
    if found == 0 {
        return Err(not_registered());
    }
    // SAFETY: set by the successful lookup.
    Ok(LocalPid::from_c_arg(unsafe { pid.assume_init() }))
}
