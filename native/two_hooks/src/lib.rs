//! Test fixture: a library with two hooks (authenticate and check_acl), to check that
//! the plugin registers exactly those. Users named `blocked` are refused; topics under
//! `secret/` are denied.

use emqx_rust_hook::prelude::*;

/// Two hooks, no state.
pub struct TwoHooks;

#[emqx_rust_hook::export]
impl Hooks for TwoHooks {
    fn init(_config: &Config) -> Result<Self, InitError> {
        Ok(TwoHooks)
    }

    fn client_authenticate(&self, client: &ClientInfo, _result: AuthResult) -> AuthDecision {
        match client.username() {
            Some(u) if u == "blocked" => AuthDecision::Deny(AuthDenyReason::Banned),
            _ => AuthDecision::Abstain,
        }
    }

    #[hook(inline)]
    fn client_check_acl(
        &self,
        _: &ClientInfo,
        _: PubSub,
        topic: &str,
        _: AclResult,
    ) -> AclDecision {
        if topic.starts_with("secret/") {
            AclDecision::Deny
        } else {
            AclDecision::Abstain
        }
    }
}
