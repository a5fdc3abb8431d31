//! The hook library of `make bench` (bench/emqx_rust_hook_bench.erl), mode `rust_inline`:
//! the decisions of `decide` (the same as the bench's pure-Erlang hooks), every hook
//! `#[hook(inline)]`. The `rust_pool` library is `examples/bench_hooks_pool.rs`.

use emqx_rust_hook::prelude::*;

mod decide;

/// The bench's inline hooks; no state.
pub struct BenchHooks;

#[emqx_rust_hook::export]
impl Hooks for BenchHooks {
    fn init(_config: &Config) -> Result<Self, InitError> {
        Ok(BenchHooks)
    }

    #[hook(inline)]
    fn client_authenticate(&self, client: &ClientInfo, _result: AuthResult) -> AuthDecision {
        decide::authenticate(client)
    }

    #[hook(inline)]
    fn client_check_acl(
        &self,
        client: &ClientInfo,
        _: PubSub,
        _: &str,
        _: AclResult,
    ) -> AclDecision {
        decide::check_acl(client)
    }

    #[hook(inline)]
    fn message_publish(&self, message: &Message) -> PublishDecision {
        decide::publish(message)
    }

    #[hook(inline)]
    fn client_connected(&self, client: &ClientInfo, _conninfo: &ConnInfo) {
        decide::connected(client)
    }
}
