//! A user's hook library: the README's example plus a helper with its own tests.

use emqx_rust_hook::prelude::*;

/// Whether `topic` lies under `prefix`, the decision the ACL hook makes.
///
/// ```
/// assert!(user_hooks::allowed("sensors/", "sensors/1/temp"));
/// assert!(!user_hooks::allowed("sensors/", "admin/reboot"));
/// ```
pub fn allowed(prefix: &str, topic: &str) -> bool {
    topic.starts_with(prefix)
}

/// The hooks: a password check and a topic prefix ACL.
pub struct MyHooks {
    allowed_prefix: String,
}

#[emqx_rust_hook::export]
impl Hooks for MyHooks {
    fn init(config: &Config) -> Result<Self, InitError> {
        Ok(MyHooks {
            allowed_prefix: config.get("prefix").unwrap_or("sensors/").to_string(),
        })
    }

    fn client_authenticate(&self, client: &ClientInfo, _acc: AuthResult) -> AuthDecision {
        match client.password() {
            Some(p) if p.matches(b"let-me-in") => AuthDecision::Allow,
            _ => AuthDecision::Deny(AuthDenyReason::BadUsernameOrPassword),
        }
    }

    #[hook(inline)]
    fn client_check_acl(&self, _: &ClientInfo, _: PubSub, topic: &str, _: AclResult) -> AclDecision {
        if allowed(&self.allowed_prefix, topic) {
            AclDecision::Allow
        } else {
            AclDecision::Deny
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_decides() {
        assert!(allowed("sensors/", "sensors/a"));
        assert!(!allowed("sensors/", "sensorsX"));
    }

    #[test]
    fn hooks_build_from_their_state() {
        let hooks = MyHooks { allowed_prefix: "a/".into() };
        assert_eq!(hooks.allowed_prefix, "a/");
    }

    /// A call that needs the VM, made in a test binary: the SDK stops it with a message
    /// naming the function (the test reruns itself in a child process that makes it).
    #[test]
    fn vm_call_outside_a_beam_aborts_clearly() {
        use std::os::unix::process::ExitStatusExt;
        if std::env::var_os("USER_HOOKS_CALL_VM").is_some() {
            let _ = emqx_rust_hook::erl::send("nobody", &1);
            unreachable!("a VM function returned outside a BEAM");
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "tests::vm_call_outside_a_beam_aborts_clearly"])
            .args(["--nocapture", "--test-threads=1"])
            .env("USER_HOOKS_CALL_VM", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.signal(), Some(6), "not SIGABRT: {stderr}");
        assert!(
            stderr.contains("enif_thread_type called outside a BEAM"),
            "{stderr}"
        );
    }
}
