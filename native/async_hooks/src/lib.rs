//! Test fixture for async hooks: `client_authenticate` awaits a timer on the SDK's
//! runtime (`emqx_rust_hook::rt::block_on`): username `slow` waits 2 s, anything else
//! 1 ms; logins are allowed when the future finishes, and abstain when the call's
//! deadline passes first. `client_check_acl` is inline and tries to block, which the
//! SDK refuses (it abstains then).

use emqx_rust_hook::prelude::*;
use emqx_rust_hook::rt::{block_on, BlockOnError};
use std::time::Duration;

/// No state.
pub struct AsyncHooks;

#[emqx_rust_hook::export]
impl Hooks for AsyncHooks {
    fn init(_config: &Config) -> Result<Self, InitError> {
        Ok(AsyncHooks)
    }

    #[hook(pool)]
    fn client_authenticate(&self, client: &ClientInfo, _result: AuthResult) -> AuthDecision {
        let wait = match client.username().and_then(|u| u.as_str()) {
            Some("slow") => Duration::from_secs(2),
            _ => Duration::from_millis(1),
        };
        match block_on(async move {
            tokio::time::sleep(wait).await;
            AuthDecision::Allow
        }) {
            Ok(decision) => decision,
            Err(BlockOnError::DeadlinePassed) => AuthDecision::Abstain,
            Err(BlockOnError::NotOnWorker) => AuthDecision::Deny(AuthDenyReason::ServerUnavailable),
        }
    }

    #[hook(inline)]
    fn client_check_acl(
        &self,
        _c: &ClientInfo,
        _ps: PubSub,
        _topic: &str,
        _acc: AclResult,
    ) -> AclDecision {
        match block_on(async { AclDecision::Allow }) {
            Ok(d) => d,
            Err(_) => AclDecision::Deny,
        }
    }
}
