//! The VM's `enif_*` functions, reachable from any executable that links the SDK.
//!
//! rustler declares the `enif_*` functions as plain externs that only the VM
//! (`beam.smp`) defines, so an executable that links the SDK (a hook crate's
//! `cargo test` binary, a doctest) failed to link. This module defines each of them as
//! a trampoline that jumps through a slot, like a dynamic linker's PLT entry:
//!
//! - in a hook library loaded by the VM, `nif_init` (the first function the VM calls)
//!   fills every slot with the VM's own function ([`resolve`], `dlsym`), so each call
//!   reaches the real `enif_*` of the VM (two instructions: `mov r11d, index; jmp
//!   [slot]`);
//! - in a test binary no slot is filled, and a call reports
//!   `enif_x called outside a BEAM` and aborts: code that needs live terms cannot run
//!   there, everything else (decisions, helpers, plain values) can.
//!
//! rustc's version script keeps the trampolines local to the cdylib (it exports only
//! `nif_init`), so they never interpose on the VM or on other NIF libraries; being
//! assembly, they are opaque to LTO, which can neither inline nor bypass them. x86_64
//! Linux only; elsewhere the externs stay undefined as in rustler.

use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicPtr, Ordering};

macro_rules! vm_functions {
    ($($name:ident,)*) => {
        /// The names, NUL-terminated, in slot order.
        const NAMES: &[&str] = &[$(concat!(stringify!($name), "\0"),)*];

        $(
            std::arch::global_asm!(
                concat!(".pushsection .text.emqx_rust_hook.", stringify!($name), ",\"ax\",@progbits"),
                concat!(".globl ", stringify!($name)),
                concat!(".type ", stringify!($name), ",@function"),
                ".p2align 4",
                concat!(stringify!($name), ":"),
                // r11: scratch in every call (not an argument; a PLT entry may clobber
                // it too), tells `missing` which function was called. rax is left
                // alone: it carries the vector-register count of a variadic call.
                "mov r11d, {index}",
                "jmp qword ptr [rip + {slots} + {offset}]",
                concat!(".size ", stringify!($name), ", . - ", stringify!($name)),
                ".popsection",
                slots = sym SLOTS,
                offset = const slot_of(stringify!($name)) * 8,
                index = const slot_of(stringify!($name)),
            );
        )*
    };
}

/// The position of `name` in [`NAMES`] (compile time).
const fn slot_of(name: &str) -> usize {
    let name = name.as_bytes();
    let mut i = 0;
    while i < NAMES.len() {
        let candidate = NAMES[i].as_bytes();
        if candidate.len() == name.len() + 1 {
            let mut j = 0;
            while j < name.len() && candidate[j] == name[j] {
                j += 1;
            }
            if j == name.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("unknown enif function")
}

// The NIF 2.15 API as rustler declares it (OTP 22 and later define every one).
vm_functions! {
    enif_alloc, enif_alloc_binary, enif_alloc_env, enif_alloc_resource,
    enif_binary_to_term, enif_clear_env, enif_compare, enif_compare_monitors,
    enif_consume_timeslice, enif_convert_time_unit, enif_cpu_time, enif_demonitor_process,
    enif_dlopen, enif_dlsym, enif_fprintf, enif_free,
    enif_free_env, enif_free_iovec, enif_get_atom, enif_get_atom_length,
    enif_get_double, enif_get_int, enif_get_list_cell, enif_get_list_length,
    enif_get_local_pid, enif_get_local_port, enif_get_long, enif_get_map_size,
    enif_get_map_value, enif_get_resource, enif_get_string, enif_get_tuple,
    enif_get_uint, enif_get_ulong, enif_getenv, enif_has_pending_exception,
    enif_hash, enif_inspect_binary, enif_inspect_iolist_as_binary, enif_inspect_iovec,
    enif_ioq_create, enif_ioq_deq, enif_ioq_destroy, enif_ioq_enq_binary,
    enif_ioq_enqv, enif_ioq_peek, enif_ioq_peek_head, enif_ioq_size,
    enif_is_atom, enif_is_binary, enif_is_current_process_alive, enif_is_empty_list,
    enif_is_exception, enif_is_fun, enif_is_identical, enif_is_list,
    enif_is_map, enif_is_number, enif_is_pid, enif_is_pid_undefined,
    enif_is_port, enif_is_port_alive, enif_is_process_alive, enif_is_ref,
    enif_is_tuple, enif_keep_resource, enif_make_atom, enif_make_atom_len,
    enif_make_badarg, enif_make_binary, enif_make_copy, enif_make_double,
    enif_make_existing_atom, enif_make_existing_atom_len, enif_make_int, enif_make_list,
    enif_make_list_cell, enif_make_list_from_array, enif_make_long, enif_make_map_from_arrays,
    enif_make_map_put, enif_make_map_remove, enif_make_map_update, enif_make_monitor_term,
    enif_make_new_binary, enif_make_new_map, enif_make_ref, enif_make_resource,
    enif_make_resource_binary, enif_make_reverse_list, enif_make_string, enif_make_string_len,
    enif_make_sub_binary, enif_make_tuple, enif_make_tuple_from_array, enif_make_uint,
    enif_make_ulong, enif_make_unique_integer, enif_map_iterator_create, enif_map_iterator_destroy,
    enif_map_iterator_get_pair, enif_map_iterator_is_head, enif_map_iterator_is_tail, enif_map_iterator_next,
    enif_map_iterator_prev, enif_monitor_process, enif_monotonic_time, enif_now_time,
    enif_open_resource_type, enif_open_resource_type_x, enif_port_command, enif_priv_data,
    enif_raise_exception, enif_realloc, enif_realloc_binary, enif_release_binary,
    enif_release_resource, enif_schedule_nif, enif_select, enif_select_x,
    enif_self, enif_send, enif_set_pid_undefined, enif_sizeof_resource,
    enif_snprintf, enif_system_info, enif_term_to_binary, enif_term_type,
    enif_thread_type, enif_time_offset, enif_whereis_pid, enif_whereis_port,
}

/// One slot per function: its address in the VM, or `missing` until [`resolve`] found it.
static SLOTS: [AtomicPtr<c_void>; NAMES.len()] =
    [const { AtomicPtr::new(emqx_rust_hook_enif_missing as *mut c_void) }; NAMES.len()];

// Where an unresolved slot leads: passes the index the trampoline left in r11 on.
std::arch::global_asm!(
    ".pushsection .text.emqx_rust_hook.enif_missing,\"ax\",@progbits",
    ".globl emqx_rust_hook_enif_missing",
    ".hidden emqx_rust_hook_enif_missing",
    ".type emqx_rust_hook_enif_missing,@function",
    ".p2align 4",
    "emqx_rust_hook_enif_missing:",
    "mov edi, r11d",
    "jmp {missing}",
    ".size emqx_rust_hook_enif_missing, . - emqx_rust_hook_enif_missing",
    ".popsection",
    missing = sym not_in_beam,
);

extern "C" {
    fn emqx_rust_hook_enif_missing();
}

/// Where a trampoline whose slot is empty jumps: there is no VM to call.
extern "C" fn not_in_beam(index: u32) -> ! {
    let name = NAMES
        .get(index as usize)
        .map_or("enif_?", |n| n.trim_end_matches('\0'));
    eprintln!(
        "emqx-rust-hook: {name} called outside a BEAM: this code needs live Erlang terms,          which exist only when the library is loaded by the emqx_rust_hook plugin"
    );
    std::process::abort()
}

/// Points every slot at the VM's function of that name. Called by `nif_init`, before
/// the VM can call anything else in the library; a name the VM does not define (none
/// in OTP 22 and later) keeps its slot empty.
pub(crate) fn resolve() {
    let own = object_of(resolve as *const c_void);
    for (slot, name) in SLOTS.iter().zip(NAMES) {
        let c_name = CStr::from_bytes_with_nul(name.as_bytes()).expect("NUL-terminated");
        // SAFETY: dlsym with a NUL-terminated name; RTLD_DEFAULT searches the process's
        // global scope: the VM executable first, never this library (loaded RTLD_LOCAL).
        let address = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c_name.as_ptr() as *const c_char) };
        // A library loaded RTLD_GLOBAL could find its own trampoline: never jump to it.
        if !address.is_null() && object_of(address) != own {
            slot.store(address, Ordering::Release);
        }
    }
}

/// The base address of the loaded object that contains `address` (null if none).
fn object_of(address: *const c_void) -> *mut c_void {
    // SAFETY: dladdr only reads the loader's tables; `info` is a plain C struct.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        if libc::dladdr(address, &mut info) == 0 {
            return std::ptr::null_mut();
        }
        info.dli_fbase
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_its_own_slot() {
        for (i, name) in NAMES.iter().enumerate() {
            assert!(name.starts_with("enif_") && name.ends_with('\0'), "{name}");
            assert_eq!(slot_of(name.trim_end_matches('\0')), i, "{name}");
        }
    }

    #[test]
    fn outside_a_beam_resolve_leaves_every_slot_on_the_missing_handler() {
        resolve();
        let missing = emqx_rust_hook_enif_missing as *mut c_void;
        for (slot, name) in SLOTS.iter().zip(NAMES) {
            assert_eq!(slot.load(Ordering::Acquire), missing, "{name}");
        }
    }
}
