//! Keeps a loaded hook library in memory for the life of the VM.
//!
//! The VM unloads (dlcloses) a NIF library when the module instance that loaded it is
//! purged. The SDK's threads (workers still finishing user code after a stop, the log
//! thread, the Tokio runtime) would then run unmapped code and take the node down. Marking
//! the library `RTLD_NODELETE` makes that impossible; the cost is that a replaced library
//! stays mapped (load replacements under a new file name, which is the usual practice).

/// Marks the shared object that contains this code as never to be unloaded.
pub fn pin_library() -> bool {
    // SAFETY: dladdr/dlopen with RTLD_NOLOAD only look up an object that is already
    // loaded (this one); the handle is deliberately never closed.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        let here = pin_library as *const libc::c_void;
        if libc::dladdr(here, &mut info) == 0 || info.dli_fname.is_null() {
            return false;
        }
        let flags = libc::RTLD_LAZY | libc::RTLD_NOLOAD | libc::RTLD_NODELETE;
        !libc::dlopen(info.dli_fname, flags).is_null()
    }
}
