//! A test binary links the SDK (no `undefined symbol: enif_*`), and code that needs the VM
//! stops with a message naming the function instead of crashing somewhere else.

use std::os::unix::process::ExitStatusExt;

/// A call that needs the VM, made in a test binary: the SDK aborts with a message naming
/// the function (the test reruns itself in a child process that makes the call).
#[test]
fn vm_call_outside_a_beam_aborts_clearly() {
    if std::env::var_os("EMQX_RUST_HOOK_CALL_VM").is_some() {
        let _ = emqx_rust_hook::erl::send("nobody", &1);
        unreachable!("a VM function returned outside a BEAM");
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "vm_call_outside_a_beam_aborts_clearly"])
        .args(["--nocapture", "--test-threads=1"])
        .env("EMQX_RUST_HOOK_CALL_VM", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(6), "not SIGABRT: {stderr}");
    assert!(
        stderr.contains("enif_thread_type called outside a BEAM"),
        "{stderr}"
    );
}
