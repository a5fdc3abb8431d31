//! The example hook library: logs connects and publishes, allows logins with a
//! non-empty client id, and denies ACL checks for clients without a username.

use emqx_rust_hook::prelude::*;
use tracing::info;

/// The example's hooks; it keeps no state.
pub struct Example;

#[emqx_rust_hook::export]
impl Hooks for Example {
    fn init(config: &Config) -> Result<Self, InitError> {
        info!(
            "example hook library started (EMQX {})",
            config.emqx_version()
        );
        Ok(Example)
    }

    fn client_connect(&self, conninfo: &ConnInfo, _props: &Properties) -> ConnectDecision {
        info!(
            "client connecting: clientid={} peer={:?}",
            conninfo.clientid(),
            conninfo.peername()
        );
        ConnectDecision::Abstain
    }

    fn client_connected(&self, client: &ClientInfo, _conninfo: &ConnInfo) {
        info!(
            "client connected: clientid={} username={:?}",
            client.clientid(),
            client.username()
        );
    }

    fn client_authenticate(&self, client: &ClientInfo, _result: AuthResult) -> AuthDecision {
        if client.clientid().is_empty() {
            AuthDecision::Deny(AuthDenyReason::NotAuthorized)
        } else {
            AuthDecision::Allow
        }
    }

    fn client_check_acl(
        &self,
        client: &ClientInfo,
        _: PubSub,
        _: &str,
        _: AclResult,
    ) -> AclDecision {
        match client.username() {
            Some(u) if !u.is_empty() => AclDecision::Allow,
            _ => AclDecision::Deny,
        }
    }

    fn message_publish(&self, message: &Message) -> PublishDecision {
        info!(
            "publish: topic={} payload={}",
            message.topic(),
            message.payload()
        );
        PublishDecision::Abstain
    }
}
