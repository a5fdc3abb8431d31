//! The hook library of `make bench`, mode `rust_async`: the same decisions as the inline
//! library (`src/decide.rs`), each hook an `async fn` that does not await (its future is
//! ready on the first poll, on the caller's scheduler). Built as a cdylib example:
//! `cargo build --release -p bench_hooks --examples` gives
//! target/release/examples/libbench_hooks_async.so.

use emqx_rust_hook::prelude::*;

#[path = "../src/decide.rs"]
mod decide;

/// The bench's async hooks; no state.
pub struct BenchAsyncHooks;

#[emqx_rust_hook::export]
impl Hooks for BenchAsyncHooks {
    fn init(_config: &Config) -> Result<Self, InitError> {
        Ok(BenchAsyncHooks)
    }

    async fn client_authenticate(
        &self,
        client: &ClientInfo<'_>,
        _result: AuthResult,
    ) -> AuthDecision {
        decide::authenticate(client)
    }

    async fn client_check_acl(
        &self,
        client: &ClientInfo<'_>,
        _: PubSub,
        _: &str,
        _: AclResult,
    ) -> AclDecision {
        decide::check_acl(client)
    }

    async fn message_publish(&self, message: &Message<'_>) -> PublishDecision {
        decide::publish(message)
    }

    async fn client_connected(&self, client: &ClientInfo<'_>, _conninfo: &ConnInfo<'_>) {
        decide::connected(client)
    }
}
