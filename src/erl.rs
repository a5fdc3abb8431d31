//! Sending Erlang messages from hook code, e.g. to hand events to an Erlang process.

use rustler::{Atom, Encoder, Env, LocalPid, OwnedEnv};
use std::cell::Cell;

thread_local! {
    /// The calling process's environment while a hook runs inline on a scheduler.
    static PROCESS_ENV: Cell<*mut rustler::sys::ErlNifEnv> = const { Cell::new(std::ptr::null_mut()) };
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
}

/// Runs `f` with `env` recorded as the calling process's environment (used by the
/// inline call path, so that [`send`] works from a scheduler thread).
pub(crate) fn with_process_env<T>(env: Env, f: impl FnOnce() -> T) -> T {
    let prev = PROCESS_ENV.with(|c| c.replace(env.as_c_arg()));
    let out = f();
    PROCESS_ENV.with(|c| c.set(prev));
    out
}

/// Sends `value` (any `serde::Serialize`; structs become maps, strings binaries,
/// `None` the atom `nil`) to the process registered as `name`.
pub fn send<T: serde::Serialize>(name: &str, value: &T) -> Result<(), SendError> {
    let raw = PROCESS_ENV.with(Cell::get);
    if !raw.is_null() {
        let marker = ();
        // SAFETY: `raw` is the env of the NIF call that is running on this thread.
        let env = unsafe { Env::new(&marker, raw) };
        let pid = whereis(env, name)?;
        let term =
            rustler::serde::to_term(env, value).map_err(|e| SendError::Encode(format!("{e:?}")))?;
        return env.send(&pid, term).map_err(|_| SendError::Failed);
    }
    let mut owned = OwnedEnv::new();
    let pid = owned.run(|env| whereis(env, name))?;
    let mut encode_error = None;
    owned
        .send_and_clear(&pid, |env| match rustler::serde::to_term(env, value) {
            Ok(t) => t,
            Err(e) => {
                encode_error = Some(format!("{e:?}"));
                rustler::types::atom::nil().encode(env)
            }
        })
        .map_err(|_| SendError::Failed)?;
    encode_error.map_or(Ok(()), |e| Err(SendError::Encode(e)))
}

fn whereis(env: Env, name: &str) -> Result<LocalPid, SendError> {
    let atom = Atom::existing_from_utf8_bytes(env, name.as_bytes())
        .ok()
        .ok_or_else(|| SendError::NotRegistered(name.to_string()))?;
    env.whereis_pid(atom)
        .ok_or_else(|| SendError::NotRegistered(name.to_string()))
}
