//! The handle of a pool call: a NIF resource shared by the waiting Erlang process and
//! the worker. Whoever moves it out of `WAITING` first decides: the worker (it replies)
//! or the caller on timeout (no reply will ever be sent), so a late reply never reaches
//! the caller's mailbox.

use crate::hookpoint::HookPoint;
use rustler::sys::{
    c_void, enif_alloc_resource, enif_get_resource, enif_make_resource, enif_open_resource_type,
    enif_release_resource, ErlNifEnv, ErlNifResourceFlags, ErlNifResourceType,
};
use rustler::{Env, Term};
use std::sync::atomic::{AtomicPtr, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;

const WAITING: u8 = 0;
const ANSWERED: u8 = 1;
const ABANDONED: u8 = 2;

/// The shared state of one pool call.
pub struct PendingCall {
    state: AtomicU8,
    /// The hook, for the timeout counter.
    pub hook: HookPoint,
    /// When the call started, when it is timed (`latency`): recorded when the answer is
    /// sent or the caller stops waiting.
    pub started: Option<Instant>,
}

impl PendingCall {
    /// A call that is waiting for its answer; `started`: see the field.
    pub fn new(hook: HookPoint, started: Option<Instant>) -> Arc<Self> {
        Arc::new(PendingCall {
            state: AtomicU8::new(WAITING),
            hook,
            started,
        })
    }

    /// The worker claims the right to reply; false when the caller gave up.
    pub fn claim_reply(&self) -> bool {
        self.state
            .compare_exchange(WAITING, ANSWERED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// True when the caller gave up.
    pub fn is_abandoned(&self) -> bool {
        self.state.load(Ordering::Acquire) == ABANDONED
    }

    /// The caller gives up; false when the reply is already on its way.
    pub fn abandon(&self) -> bool {
        self.state
            .compare_exchange(WAITING, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

static RESOURCE_TYPE: AtomicPtr<ErlNifResourceType> = AtomicPtr::new(std::ptr::null_mut());

unsafe extern "C" fn destroy(_env: *mut ErlNifEnv, obj: *mut c_void) {
    std::ptr::drop_in_place(obj as *mut Arc<PendingCall>);
}

/// Opens the resource type in `load`/`upgrade` (taking it over from an older instance
/// of the module when there is one). False when the VM refuses.
///
/// # Safety
/// `env` must be the environment of a `load` or `upgrade` callback.
pub unsafe fn open_type(env: *mut ErlNifEnv) -> bool {
    let name = c"emqx_rust_hook_job";
    let mut tried = ErlNifResourceFlags::ERL_NIF_RT_CREATE;
    for flags in [
        ErlNifResourceFlags::ERL_NIF_RT_CREATE,
        ErlNifResourceFlags::ERL_NIF_RT_TAKEOVER,
    ] {
        let t = enif_open_resource_type(
            env,
            std::ptr::null(),
            name.as_ptr(),
            Some(destroy),
            flags,
            &mut tried,
        );
        if !t.is_null() {
            RESOURCE_TYPE.store(t as *mut _, Ordering::Release);
            return true;
        }
    }
    false
}

/// A term holding `state` for the caller.
pub fn make<'a>(env: Env<'a>, state: Arc<PendingCall>) -> Term<'a> {
    let t = RESOURCE_TYPE.load(Ordering::Acquire);
    // SAFETY: the type was opened at load; the object is initialised before use and
    // released to the VM's reference counting, which calls `destroy` once.
    unsafe {
        let obj = enif_alloc_resource(t, std::mem::size_of::<Arc<PendingCall>>())
            as *mut Arc<PendingCall>;
        std::ptr::write(obj, state);
        let term = enif_make_resource(env.as_c_arg(), obj as *const c_void);
        enif_release_resource(obj as *const c_void);
        Term::new(env, term)
    }
}

/// The state behind a handle term.
pub fn get(term: Term) -> Option<Arc<PendingCall>> {
    let t = RESOURCE_TYPE.load(Ordering::Acquire);
    let mut obj: *const c_void = std::ptr::null();
    // SAFETY: enif_get_resource checks the term's type; the object lives while `term` does.
    unsafe {
        if enif_get_resource(term.get_env().as_c_arg(), term.as_c_arg(), t, &mut obj) == 0 {
            return None;
        }
        Some((*(obj as *const Arc<PendingCall>)).clone())
    }
}
