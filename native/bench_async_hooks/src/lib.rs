//! A benchmark library: all 19 hooks as `async fn` methods with trivial bodies (read
//! the client id, or the topic, and allow), none of which awaits, so every future is
//! ready on its first poll. It measures what an `async fn` hook costs over a sync
//! inline one (`make bench-broker`).

use emqx_rust_hook::prelude::*;
use std::hint::black_box;

/// No state.
pub struct BenchAsyncHooks;

fn read(client: &ClientInfo<'_>) {
    black_box(client.clientid());
}

#[emqx_rust_hook::export]
impl Hooks for BenchAsyncHooks {
    fn init(_config: &Config) -> Result<Self, InitError> {
        Ok(BenchAsyncHooks)
    }

    async fn client_connect(
        &self,
        conninfo: &ConnInfo<'_>,
        _props: &Properties<'_>,
    ) -> ConnectDecision {
        black_box(conninfo.clientid());
        ConnectDecision::Abstain
    }

    async fn client_connack(
        &self,
        conninfo: &ConnInfo<'_>,
        _rc: ConnackReason,
        _props: &Properties<'_>,
    ) -> ConnackDecision {
        black_box(conninfo.clientid());
        ConnackDecision::Abstain
    }

    async fn client_connected(&self, client: &ClientInfo<'_>, _conninfo: &ConnInfo<'_>) {
        read(client)
    }

    async fn client_disconnected(
        &self,
        client: &ClientInfo<'_>,
        _reason: &Reason,
        _conninfo: &ConnInfo<'_>,
    ) {
        read(client)
    }

    async fn client_authenticate(
        &self,
        client: &ClientInfo<'_>,
        _result: AuthResult,
    ) -> AuthDecision {
        read(client);
        AuthDecision::Allow
    }

    async fn client_check_acl(
        &self,
        client: &ClientInfo<'_>,
        _pubsub: PubSub,
        _topic: &str,
        _result: AclResult,
    ) -> AclDecision {
        read(client);
        AclDecision::Allow
    }

    async fn client_subscribe(
        &self,
        client: &ClientInfo<'_>,
        _props: &Properties<'_>,
        _filters: &[TopicFilter<'_>],
    ) -> FilterDecision {
        read(client);
        FilterDecision::Abstain
    }

    async fn client_unsubscribe(
        &self,
        client: &ClientInfo<'_>,
        _props: &Properties<'_>,
        _filters: &[TopicFilter<'_>],
    ) -> FilterDecision {
        read(client);
        FilterDecision::Abstain
    }

    async fn session_created(&self, client: &ClientInfo<'_>, _sessinfo: &SessInfo<'_>) {
        read(client)
    }

    async fn session_subscribed(&self, client: &ClientInfo<'_>, _topic: &str, _opts: &SubOpts<'_>) {
        read(client)
    }

    async fn session_unsubscribed(
        &self,
        client: &ClientInfo<'_>,
        _topic: &str,
        _opts: &SubOpts<'_>,
    ) {
        read(client)
    }

    async fn session_resumed(&self, client: &ClientInfo<'_>, _sessinfo: &SessInfo<'_>) {
        read(client)
    }

    async fn session_discarded(&self, client: &ClientInfo<'_>, _sessinfo: &SessInfo<'_>) {
        read(client)
    }

    async fn session_takeovered(&self, client: &ClientInfo<'_>, _sessinfo: &SessInfo<'_>) {
        read(client)
    }

    async fn session_terminated(
        &self,
        client: &ClientInfo<'_>,
        _reason: &Reason,
        _sessinfo: &SessInfo<'_>,
    ) {
        read(client)
    }

    async fn message_publish(&self, message: &Message<'_>) -> PublishDecision {
        black_box(message.topic());
        PublishDecision::Abstain
    }

    async fn message_delivered(
        &self,
        client: &ClientInfo<'_>,
        _message: &Message<'_>,
    ) -> DeliverDecision {
        read(client);
        DeliverDecision::Abstain
    }

    async fn message_acked(&self, client: &ClientInfo<'_>, _message: &Message<'_>) {
        read(client)
    }

    async fn message_dropped(&self, message: &Message<'_>, _node: &str, _reason: &Reason) {
        black_box(message.topic());
    }
}
