//! Test fixture for the SDK's safety promises. Everything it observes goes to the process
//! registered as `rust_hook_safety` (when there is one), as tuples:
//!
//! - `init` and `terminate` send `{init, ok}` and `{terminate, ok}` (dirty I/O scheduler);
//! - `client_check_acl` (inline) sends `{inline, Topic}`;
//! - `client_authenticate` (pool) sends `{pool, ClientId}`; username `thread` also sends
//!   `{thread, ClientId}` from a thread it spawns, `async` `{async, ClientId}` from a task
//!   on the SDK's Tokio runtime;
//! - `client_connected` (queue) takes `_clientinfo` and `_conninfo` but reads both: it
//!   sends `{queue, ClientId, ProtoVer}`;
//! - `session_created` (queue): client id `flood` logs `created_at` lines at info;
//!   client id `long` logs a line of `created_at` bytes and a `Debug` field as long;
//! - `client_disconnected`, `session_terminated`, `message_dropped` and
//!   `message_publish` run inline and send `{Hook, ReasonText}` (`{Hook, PayloadSize}`
//!   for `message_publish`), so tests can feed them deep terms on a scheduler.

use emqx_rust_hook::erl;
use emqx_rust_hook::prelude::*;

/// No state.
pub struct SafetyHooks;

const PROBE: &str = "rust_hook_safety";

fn id(c: &ClientInfo) -> String {
    c.clientid().to_string_lossy().into_owned()
}

#[emqx_rust_hook::export]
impl Hooks for SafetyHooks {
    fn init(_config: &Config) -> Result<Self, InitError> {
        let _ = erl::send(PROBE, &("init", true));
        Ok(SafetyHooks)
    }

    fn terminate(&self) {
        let _ = erl::send(PROBE, &("terminate", true));
    }

    #[hook(inline)]
    fn client_check_acl(
        &self,
        _c: &ClientInfo,
        _ps: PubSub,
        topic: &str,
        _acc: AclResult,
    ) -> AclDecision {
        let _ = erl::send(PROBE, &("inline", topic));
        AclDecision::Allow
    }

    #[hook(pool)]
    fn client_authenticate(&self, client: &ClientInfo, _result: AuthResult) -> AuthDecision {
        let who = id(client);
        let _ = erl::send(PROBE, &("pool", &who));
        match client.username().and_then(|u| u.as_str()) {
            Some("thread") => {
                std::thread::spawn(move || {
                    let _ = erl::send(PROBE, &("thread", who));
                });
            }
            Some("async") => {
                emqx_rust_hook::rt::runtime().spawn(async move {
                    let _ = erl::send(PROBE, &("async", who));
                });
            }
            _ => {}
        }
        AuthDecision::Allow
    }

    #[hook(queue)]
    fn client_connected(&self, _clientinfo: &ClientInfo, _conninfo: &ConnInfo) {
        let _ = erl::send(PROBE, &("queue", id(_clientinfo), _conninfo.proto_ver()));
    }

    #[hook(queue)]
    fn session_created(&self, clientinfo: &ClientInfo, sessinfo: &SessInfo) {
        if clientinfo.clientid() == "flood" {
            for i in 0..sessinfo.created_at.unwrap_or(0) {
                tracing::info!("flood line {i}");
            }
            let _ = erl::send(PROBE, &("flooded", true));
        } else if clientinfo.clientid() == "long" {
            let n = sessinfo.created_at.unwrap_or(0) as usize;
            tracing::info!("long line {}", "x".repeat(n));
            tracing::info!(values = ?vec![7u8; n], "long debug");
            let _ = erl::send(PROBE, &("logged", true));
        }
    }

    #[hook(inline)]
    fn client_disconnected(&self, _c: &ClientInfo, reason: &Reason, _ci: &ConnInfo) {
        let _ = erl::send(PROBE, &("client.disconnected", reason.to_string()));
    }

    #[hook(inline)]
    fn session_terminated(&self, _c: &ClientInfo, reason: &Reason, _s: &SessInfo) {
        let _ = erl::send(PROBE, &("session.terminated", reason.to_string()));
    }

    #[hook(inline)]
    fn message_dropped(&self, _m: &Message, _node: &str, reason: &Reason) {
        let _ = erl::send(PROBE, &("message.dropped", reason.to_string()));
    }

    #[hook(inline)]
    fn message_publish(&self, message: &Message) -> PublishDecision {
        let _ = erl::send(PROBE, &("message.publish", message.payload().len()));
        PublishDecision::Abstain
    }
}
