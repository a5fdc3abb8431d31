//! `make bench-broker`'s library with one hook: `message.publish` on the SDK's pool
//! (`#[hook(pool)]`), the same body as in `src/lib.rs`. Built as a cdylib example:
//! `cargo build --release -p bench_all_hooks --examples`.

use emqx_rust_hook::prelude::*;
use std::hint::black_box;

/// One pool hook; no state.
pub struct BenchPublishPool;

#[emqx_rust_hook::export]
impl Hooks for BenchPublishPool {
    fn init(_config: &Config) -> Result<Self, InitError> {
        Ok(BenchPublishPool)
    }

    #[hook(pool)]
    fn message_publish(&self, message: &Message) -> PublishDecision {
        if let Publisher::Client(id) = message.from() {
            black_box(id.len());
        }
        PublishDecision::Abstain
    }
}
