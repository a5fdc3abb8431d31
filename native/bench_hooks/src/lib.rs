//! The hook library of `make bench` (bench/emqx_rust_hook_bench.erl): the same decisions
//! as the bench's pure-Erlang hooks, from the same input, every hook `#[hook(inline)]`.
//!
//! - `client.authenticate`: allow unless the username is empty (or absent);
//! - `client.check_acl`: allow unless the username is empty (or absent);
//! - `message.publish`: continue unless the topic starts with `deny/`;
//! - `client.connected`: a notification that only looks at the username.

use emqx_rust_hook::prelude::*;

/// The bench's hooks; no state.
pub struct BenchHooks;

fn has_username(client: &ClientInfo) -> bool {
    matches!(client.username, Some(u) if !u.is_empty())
}

#[emqx_rust_hook::export]
impl Hooks for BenchHooks {
    fn init(_config: &Config) -> Result<Self, InitError> {
        Ok(BenchHooks)
    }

    #[hook(inline)]
    fn client_authenticate(&self, client: &ClientInfo, _result: &AuthResult) -> AuthDecision {
        if has_username(client) {
            AuthDecision::Allow
        } else {
            AuthDecision::Deny(DenyReason::NotAuthorized)
        }
    }

    #[hook(inline)]
    fn client_check_acl(
        &self,
        client: &ClientInfo,
        _: PubSub,
        _: &str,
        _: AclResult,
    ) -> AclDecision {
        if has_username(client) {
            AclDecision::Allow
        } else {
            AclDecision::Deny
        }
    }

    #[hook(inline)]
    fn message_publish(&self, message: &Message) -> PublishDecision {
        if message.topic.starts_with("deny/") {
            PublishDecision::Cancel
        } else {
            PublishDecision::Continue
        }
    }

    #[hook(inline)]
    fn client_connected(&self, client: &ClientInfo, _conninfo: &ConnInfo) {
        std::hint::black_box(has_username(client));
    }
}
