//! Test fixture for the default mode, `auto` (inline, watched): every hook here has no
//! `#[hook(...)]` mode. Each call that matters sends `{Hook, OnWorker}` to the process
//! registered as `rust_hook_probe` (`OnWorker`: true on one of the SDK's worker threads,
//! false on an Erlang scheduler):
//!
//! - `client_authenticate`: username `sleepy` sleeps 200 ms (blocks its thread), then
//!   allows; others are allowed at once (no report).
//! - `client_check_acl`: allows at once, reports nothing (a fast hook).
//! - `message_publish`: topic `hog` keeps the CPU busy for 100 ms, then continues.
//! - `client_connected`: username `sleepy` sleeps 200 ms.
//! - `message_delivered`: calls `rt::block_on`; sends `{Hook, OnWorker, Ran}`.

use emqx_rust_hook::erl;
use emqx_rust_hook::prelude::*;
use std::time::{Duration, Instant};

/// No state.
pub struct AutoHooks;

const PROBE: &str = "rust_hook_probe";

fn on_worker() -> bool {
    // The SDK's workers are Rust threads named `rh_...`; an Erlang scheduler has no
    // Rust name.
    std::thread::current()
        .name()
        .is_some_and(|n| n.starts_with("rh_"))
}

fn sleepy(c: &ClientInfo) -> bool {
    c.username().is_some_and(|u| u == "sleepy")
}

#[emqx_rust_hook::export]
impl Hooks for AutoHooks {
    fn init(_config: &Config) -> Result<Self, InitError> {
        Ok(AutoHooks)
    }

    fn client_authenticate(&self, client: &ClientInfo, _result: AuthResult) -> AuthDecision {
        if sleepy(client) {
            std::thread::sleep(Duration::from_millis(200));
            let _ = erl::send(PROBE, &("client_authenticate", on_worker()));
        }
        AuthDecision::Allow
    }

    fn client_check_acl(
        &self,
        _client: &ClientInfo,
        _pubsub: PubSub,
        _topic: &str,
        _result: AclResult,
    ) -> AclDecision {
        AclDecision::Allow
    }

    fn message_publish(&self, message: &Message) -> PublishDecision {
        if message.topic() == "hog" {
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_millis(100) {
                std::hint::spin_loop();
            }
            let _ = erl::send(PROBE, &("message_publish", on_worker()));
        }
        PublishDecision::Abstain
    }

    fn client_connected(&self, client: &ClientInfo, _conninfo: &ConnInfo) {
        if sleepy(client) {
            std::thread::sleep(Duration::from_millis(200));
            let _ = erl::send(PROBE, &("client_connected", on_worker()));
        }
    }

    fn message_delivered(&self, _client: &ClientInfo, _message: &Message) -> DeliverDecision {
        let ran = emqx_rust_hook::rt::block_on(async { 1 }).is_ok();
        let _ = erl::send(PROBE, &("message_delivered", on_worker(), ran));
        DeliverDecision::Abstain
    }
}
