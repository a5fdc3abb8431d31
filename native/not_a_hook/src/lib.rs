//! Test fixture: a `cdylib` with no NIF entry point, to check that the plugin reports
//! such a file clearly instead of loading it.

/// Some exported function, so the library is not empty.
#[unsafe(no_mangle)]
pub extern "C" fn not_a_hook_answer() -> i32 {
    42
}
