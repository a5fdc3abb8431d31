//! The NIF library entry: rustler's entry point, completed with `upgrade` and `unload`
//! so that the module can be purged and reloaded, and a per-module-instance slot that
//! holds the started library.

use super::instance::Instance;
use crate::config::{Config, InitError};
use crate::hooks::Hooks;
use crate::spec::HookSpec;
use arc_swap::ArcSwapOption;
use parking_lot::Mutex;
use rustler::codegen_runtime::{inventory, ErlNifFunc};
use rustler::sys::{c_int, c_void, ErlNifEntry, ErlNifEnv, ErlNifTerm};
use rustler::Env;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Builds the user's type from the configuration.
pub type Factory = fn(&Config) -> Result<Box<dyn Hooks>, InitError>;

/// What the `#[export]` attribute registers: how to build the library and its hooks.
pub struct Library {
    /// Builds the user's value.
    pub factory: Factory,
    /// The hooks the impl block implements, with their options.
    pub specs: &'static [HookSpec],
    /// The user's type name, for log lines.
    pub type_name: &'static str,
}

static LIBRARY: OnceLock<Library> = OnceLock::new();

/// The registered library (set by `nif_init`).
pub fn library() -> Option<&'static Library> {
    LIBRARY.get()
}

/// The state of one loaded module instance (`priv_data`).
pub struct Slot {
    /// The started library, between `start/1` and `stop/0`. Hook calls read it without
    /// writing to shared memory (`arc-swap`), so schedulers do not contend on it.
    pub instance: ArcSwapOption<Instance>,
    /// Serialises `start/1` and `stop/0`.
    pub lifecycle: Mutex<()>,
}

impl Slot {
    /// Takes the library out and stops it, once the calls already running on it have
    /// returned (or `wait` has passed).
    ///
    /// `retire` (a reload): the library finishes the calls and notifications it was
    /// given first (see `Instance::shutdown`).
    pub fn stop(&self, wait: Duration, retire: Option<Duration>) {
        let _lifecycle = self.lifecycle.lock();
        let Some(instance) = self.instance.swap(None) else {
            return;
        };
        let deadline = Instant::now() + wait;
        while Arc::strong_count(&instance) > 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        instance.shutdown(retire);
    }
}

/// The slot of the module instance that called the NIF.
pub fn slot(env: Env<'_>) -> Option<&'static Slot> {
    // SAFETY: priv_data is set by `load`/`upgrade` below to a leaked Box<Slot> that
    // lives until `unload`, which runs only when no process can call this module instance.
    unsafe {
        let p = rustler::sys::enif_priv_data(env.as_c_arg()) as *const Slot;
        p.as_ref()
    }
}

struct Entry(ErlNifEntry);
// SAFETY: the entry is written once, before the VM reads it, and never changed.
unsafe impl Sync for Entry {}
unsafe impl Send for Entry {}

/// The entry of each module a library can be loaded into (see [`MODULES`]).
static ENTRIES: [OnceLock<Entry>; 2] = [OnceLock::new(), OnceLock::new()];

/// The Erlang modules a hook library can be loaded into: the plugin's two slots, so that
/// `emqx_ctl rust_hook reload` can load a new library beside the running one. A library
/// is loaded into the first unless the plugin staged it under the name of the second
/// (`emqx_rust_hook_nif_b.<hash>.so`): a NIF library names its module itself, and this
/// file name is the only thing it can read before the VM asks for that name.
pub const MODULES: [&std::ffi::CStr; 2] = [c"emqx_rust_hook_nif", c"emqx_rust_hook_nif_b"];

/// The module this copy of the library was loaded into (set by `nif_init`).
static MODULE: OnceLock<&'static str> = OnceLock::new();

/// The Erlang module this library is loaded into: `emqx_rust_hook_nif` or
/// `emqx_rust_hook_nif_b`.
pub fn module_name() -> &'static str {
    MODULE.get().copied().unwrap_or("emqx_rust_hook_nif")
}

/// The SDK's version, as the plugin reads it from a library's file before loading it
/// (it refuses a library of an incompatible SDK). Exported, so that it stays in the file.
#[no_mangle]
#[used]
pub static EMQX_RUST_HOOK_SDK_VERSION: [u8; SDK_VERSION_MARKER.len()] = {
    let mut out = [0u8; SDK_VERSION_MARKER.len()];
    let src = SDK_VERSION_MARKER.as_bytes();
    let mut i = 0;
    while i < src.len() {
        out[i] = src[i];
        i += 1;
    }
    out
};
const SDK_VERSION_MARKER: &str = concat!(
    "EMQX_RUST_HOOK_SDK_VERSION=",
    env!("CARGO_PKG_VERSION"),
    "\0"
);

/// Which of [`MODULES`] the file this code was loaded from is staged for.
fn module_index() -> usize {
    // SAFETY: dladdr only reads the loader's tables about an address of this object.
    let file = unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        let here = module_index as *const libc::c_void;
        if libc::dladdr(here, &mut info) == 0 || info.dli_fname.is_null() {
            return 0;
        }
        std::ffi::CStr::from_ptr(info.dli_fname)
            .to_string_lossy()
            .into_owned()
    };
    let base = file.rsplit('/').next().unwrap_or_default();
    let stem = base.split('.').next().unwrap_or_default();
    MODULES
        .iter()
        .position(|m| m.to_bytes() == stem.as_bytes())
        .unwrap_or(0)
}

unsafe extern "C" fn load(
    env: *mut ErlNifEnv,
    priv_data: *mut *mut c_void,
    _info: ErlNifTerm,
) -> c_int {
    if !super::pin::pin_library() || !super::pending::open_type(env) {
        return 1;
    }
    let slot = Box::new(Slot {
        instance: ArcSwapOption::empty(),
        lifecycle: Mutex::new(()),
    });
    *priv_data = Box::into_raw(slot) as *mut c_void;
    0
}

unsafe extern "C" fn upgrade(
    env: *mut ErlNifEnv,
    priv_data: *mut *mut c_void,
    _old_priv_data: *mut *mut c_void,
    info: ErlNifTerm,
) -> c_int {
    // The new module instance gets a fresh slot; the old one keeps its own until purged.
    load(env, priv_data, info)
}

unsafe extern "C" fn unload(_env: *mut ErlNifEnv, priv_data: *mut c_void) {
    if priv_data.is_null() {
        return;
    }
    let slot = Box::from_raw(priv_data as *mut Slot);
    // Normally the plugin stopped the library already. If not, stop it off the scheduler
    // (draining queued notifications can take seconds); the library is pinned in memory
    // (`pin`), so the thread can outlive this module instance.
    if slot.instance.load().is_some() {
        let _ = std::thread::Builder::new()
            .name("emqx_rust_hook_unload".into())
            .spawn(move || slot.stop(Duration::from_secs(5), None));
    }
}

/// The `nif_init` of a hook library (called by the code `#[export]` generates).
pub fn nif_entry<T: Hooks>(specs: &'static [HookSpec]) -> *const ErlNifEntry {
    // Every enif_* call goes through the SDK's trampolines: point them at the VM first.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    crate::vm_symbols::resolve();
    let _ = LIBRARY.set(Library {
        factory: |config| T::init(config).map(|t| Box::new(t) as Box<dyn Hooks>),
        specs,
        type_name: std::any::type_name::<T>(),
    });
    let index = module_index();
    let _ = MODULE.set(MODULES[index].to_str().unwrap_or("emqx_rust_hook_nif"));
    let entry = ENTRIES[index].get_or_init(|| {
        // The NIF functions of `calls`, collected by rustler's `#[nif]` attribute. We build
        // the entry ourselves (rather than with `rustler::init!`) to add `upgrade` and
        // `unload`, and so that only the user's crate defines `nif_init`.
        // SAFETY: no-op on Linux (symbols are linked directly); required by rustler.
        unsafe { rustler::codegen_runtime::internal_write_symbols() };
        let funcs: Vec<ErlNifFunc> = inventory::iter::<rustler::Nif>()
            .map(rustler::Nif::get_def)
            .collect();
        let funcs: &'static [ErlNifFunc] = Vec::leak(funcs);
        let mut e = ErlNifEntry::new(MODULES[index], funcs, load);
        e.upgrade = Some(upgrade);
        e.unload = Some(unload);
        Entry(e)
    });
    &entry.0
}
