//! The decisions of every bench library, from the same input: the same as the bench's
//! pure-Erlang hooks (bench/emqx_rust_hook_bench.erl). Shared by the inline library
//! (`src/lib.rs`), the pool library (`examples/bench_hooks_pool.rs`) and the async one
//! (`examples/bench_hooks_async.rs`).

use emqx_rust_hook::prelude::*;

fn has_username(client: &ClientInfo) -> bool {
    matches!(client.username(), Some(u) if !u.is_empty())
}

/// `client.authenticate`: allow unless the username is empty (or absent).
pub fn authenticate(client: &ClientInfo) -> AuthDecision {
    if has_username(client) {
        AuthDecision::Allow
    } else {
        AuthDecision::Deny(AuthDenyReason::NotAuthorized)
    }
}

/// `client.check_acl`: allow unless the username is empty (or absent).
pub fn check_acl(client: &ClientInfo) -> AclDecision {
    if has_username(client) {
        AclDecision::Allow
    } else {
        AclDecision::Deny
    }
}

/// `message.publish`: continue unless the topic starts with `deny/`.
pub fn publish(message: &Message) -> PublishDecision {
    if message.topic().starts_with("deny/") {
        PublishDecision::Deny
    } else {
        PublishDecision::Abstain
    }
}

/// `client.connected`: a notification that only looks at the username.
pub fn connected(client: &ClientInfo) {
    std::hint::black_box(has_username(client));
}
