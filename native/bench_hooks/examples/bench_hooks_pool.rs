//! The hook library of `make bench`, mode `rust_pool`: the same decisions as the inline
//! library (`src/decide.rs`), the fold hooks on the SDK's worker pool
//! (`#[hook(pool)]`) and the notification queued (`#[hook(queue)]`: a notification
//! cannot use the pool). Built as a cdylib example:
//! `cargo build --release -p bench_hooks --examples` gives
//! target/release/examples/libbench_hooks_pool.so.

use emqx_rust_hook::prelude::*;

#[path = "../src/decide.rs"]
mod decide;

/// The bench's pool hooks; no state.
pub struct BenchPoolHooks;

#[emqx_rust_hook::export]
impl Hooks for BenchPoolHooks {
    fn init(_config: &Config) -> Result<Self, InitError> {
        Ok(BenchPoolHooks)
    }

    #[hook(pool)]
    fn client_authenticate(&self, client: &ClientInfo, _result: AuthResult) -> AuthDecision {
        decide::authenticate(client)
    }

    #[hook(pool)]
    fn client_check_acl(
        &self,
        client: &ClientInfo,
        _: PubSub,
        _: &str,
        _: AclResult,
    ) -> AclDecision {
        decide::check_acl(client)
    }

    #[hook(pool)]
    fn message_publish(&self, message: &Message) -> PublishDecision {
        decide::publish(message)
    }

    #[hook(queue)]
    fn client_connected(&self, client: &ClientInfo, _conninfo: &ConnInfo) {
        decide::connected(client)
    }
}
