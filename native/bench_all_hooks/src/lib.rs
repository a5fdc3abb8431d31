//! The library of `make bench-broker` (tests/broker/src/bench/): all 19 hooks with
//! trivial bodies (read the client id, allow), with no `#[hook(...)]` mode, so each
//! hook runs in its default mode unless the bench's configuration overrides it
//! (`exhook.drivers.rust.mode.<hook>`). The pure-Erlang twin is
//! `bench/broker/rust_hook_bench_erl.erl`: same hooks, same decisions.

use emqx_rust_hook::prelude::*;
use std::hint::black_box;

/// The bench's 19 hooks; no state.
pub struct BenchAllHooks;

/// Reads the client id, as every hook of the bench does.
fn seen(id: Bytes) {
    black_box(id.as_bytes().len());
}

/// The publisher's client id (empty for a system publisher).
fn from(message: &Message) -> usize {
    match message.from() {
        Publisher::Client(id) => id.as_bytes().len(),
        _ => 0,
    }
}

#[emqx_rust_hook::export]
impl Hooks for BenchAllHooks {
    fn init(_config: &Config) -> Result<Self, InitError> {
        Ok(BenchAllHooks)
    }

    fn client_connect(&self, conninfo: &ConnInfo, _props: &Properties) -> ConnectDecision {
        seen(conninfo.clientid());
        ConnectDecision::Abstain
    }

    fn client_connack(
        &self,
        conninfo: &ConnInfo,
        _rc: ConnackReason,
        _props: &Properties,
    ) -> ConnackDecision {
        seen(conninfo.clientid());
        ConnackDecision::Abstain
    }

    fn client_connected(&self, clientinfo: &ClientInfo, _conninfo: &ConnInfo) {
        seen(clientinfo.clientid());
    }

    fn client_disconnected(&self, clientinfo: &ClientInfo, _reason: &Reason, _conninfo: &ConnInfo) {
        seen(clientinfo.clientid());
    }

    fn client_authenticate(&self, clientinfo: &ClientInfo, _result: AuthResult) -> AuthDecision {
        if clientinfo.clientid().is_empty() {
            AuthDecision::Abstain
        } else {
            AuthDecision::Allow
        }
    }

    fn client_check_acl(
        &self,
        clientinfo: &ClientInfo,
        _pubsub: PubSub,
        _topic: &str,
        _result: AclResult,
    ) -> AclDecision {
        if clientinfo.clientid().is_empty() {
            AclDecision::Abstain
        } else {
            AclDecision::Allow
        }
    }

    fn client_subscribe(
        &self,
        clientinfo: &ClientInfo,
        _props: &Properties,
        _filters: &[TopicFilter],
    ) -> FilterDecision {
        seen(clientinfo.clientid());
        FilterDecision::Abstain
    }

    fn client_unsubscribe(
        &self,
        clientinfo: &ClientInfo,
        _props: &Properties,
        _filters: &[TopicFilter],
    ) -> FilterDecision {
        seen(clientinfo.clientid());
        FilterDecision::Abstain
    }

    fn session_created(&self, clientinfo: &ClientInfo, _sessinfo: &SessInfo) {
        seen(clientinfo.clientid());
    }

    fn session_subscribed(&self, clientinfo: &ClientInfo, _topic: &str, _opts: &SubOpts) {
        seen(clientinfo.clientid());
    }

    fn session_unsubscribed(&self, clientinfo: &ClientInfo, _topic: &str, _opts: &SubOpts) {
        seen(clientinfo.clientid());
    }

    fn session_resumed(&self, clientinfo: &ClientInfo, _sessinfo: &SessInfo) {
        seen(clientinfo.clientid());
    }

    fn session_discarded(&self, clientinfo: &ClientInfo, _sessinfo: &SessInfo) {
        seen(clientinfo.clientid());
    }

    fn session_takeovered(&self, clientinfo: &ClientInfo, _sessinfo: &SessInfo) {
        seen(clientinfo.clientid());
    }

    fn session_terminated(&self, clientinfo: &ClientInfo, _reason: &Reason, _sessinfo: &SessInfo) {
        seen(clientinfo.clientid());
    }

    fn message_publish(&self, message: &Message) -> PublishDecision {
        black_box(from(message));
        PublishDecision::Abstain
    }

    fn message_delivered(&self, clientinfo: &ClientInfo, _message: &Message) -> DeliverDecision {
        seen(clientinfo.clientid());
        DeliverDecision::Abstain
    }

    fn message_acked(&self, clientinfo: &ClientInfo, _message: &Message) {
        seen(clientinfo.clientid());
    }

    fn message_dropped(&self, message: &Message, _node: &str, _reason: &Reason) {
        black_box(from(message));
    }
}
