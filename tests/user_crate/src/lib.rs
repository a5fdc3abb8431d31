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
}
