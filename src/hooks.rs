//! The trait a hook library implements.

use crate::config::{Config, InitError};
use crate::decision::*;
use crate::types::*;

/// The hooks of an EMQX hook library: one method per hookpoint.
///
/// Implement only the methods you need and put `#[emqx_rust_hook::export]` on the impl
/// block: the plugin then registers exactly those hooks with EMQX, and the others cost
/// nothing. Every default below means "not implemented".
///
/// Methods run concurrently from many client processes, so the type is `Send + Sync`;
/// keep shared state behind locks or atomics.
#[allow(unused_variables)]
pub trait Hooks: Send + Sync + 'static {
    /// Builds the library from the driver's configuration when the plugin starts.
    /// An error stops the driver from starting and is logged with its message; any
    /// error converts into [`InitError`], so `?` works here.
    fn init(config: &Config) -> Result<Self, InitError>
    where
        Self: Sized;

    /// Called once when the plugin stops, after the hooks are unregistered.
    fn terminate(&self) {}

    /// The library's own state, shown by `emqx_ctl rust_hook status` under the hooks as
    /// `name: value` lines (counters, a buffer's fill, whether a database is up...).
    /// Called from the CLI on a dirty scheduler; keep it quick (read atomics, take no
    /// lock a hook holds long). A panic here shows as an error line, nothing more.
    fn status(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// `emqx_ctl rust_hook cmd ARGS...`: an operator's command for the library (clear a
    /// cache, flush a buffer...). Returns the text to print, or an error message; the
    /// default knows no command. Runs on a dirty scheduler; a panic is an error.
    fn command(&self, args: &[String]) -> Result<String, String> {
        Err(format!("unknown command {args:?}"))
    }

    /// `client.connect`: a CONNECT arrived (before authentication).
    fn client_connect(&self, conninfo: &ConnInfo, props: &Properties) -> ConnectDecision {
        ConnectDecision::Abstain
    }

    /// `client.connack`: a CONNACK with reason `rc` ([`ConnackReason::Success`],
    /// [`ConnackReason::NotAuthorized`]...) is about to be sent.
    fn client_connack(
        &self,
        conninfo: &ConnInfo,
        rc: ConnackReason,
        props: &Properties,
    ) -> ConnackDecision {
        ConnackDecision::Abstain
    }

    /// `client.connected`: the client is authenticated and connected.
    fn client_connected(&self, clientinfo: &ClientInfo, conninfo: &ConnInfo) {}

    /// `client.disconnected`: a connected client went away.
    fn client_disconnected(&self, clientinfo: &ClientInfo, reason: &Reason, conninfo: &ConnInfo) {}

    /// `client.authenticate`: decide whether the client may log in.
    /// `clientinfo.password` is set here only. `result` is what the chain decided so far
    /// (like `client_check_acl`'s, passed by value: both accumulators are small `Copy`
    /// values).
    fn client_authenticate(&self, clientinfo: &ClientInfo, result: AuthResult) -> AuthDecision {
        AuthDecision::Abstain
    }

    /// `client.check_acl`: decide whether the client may publish to or subscribe to `topic`
    /// (unmounted; for subscribe, the filter without any `$share` prefix).
    fn client_check_acl(
        &self,
        clientinfo: &ClientInfo,
        pubsub: PubSub,
        topic: &str,
        result: AclResult,
    ) -> AclDecision {
        AclDecision::Abstain
    }

    /// `client.subscribe`: a SUBSCRIBE arrived; the returned list is what gets subscribed.
    /// A list of more than 1,024 filters is not decoded: the call fails and the hook's
    /// `failed_action` applies.
    fn client_subscribe(
        &self,
        clientinfo: &ClientInfo,
        props: &Properties,
        filters: &[TopicFilter],
    ) -> FilterDecision {
        FilterDecision::Abstain
    }

    /// `client.unsubscribe`: an UNSUBSCRIBE arrived; the returned list is what gets
    /// unsubscribed. More than 1,024 filters fail the call, as for `client_subscribe`.
    fn client_unsubscribe(
        &self,
        clientinfo: &ClientInfo,
        props: &Properties,
        filters: &[TopicFilter],
    ) -> FilterDecision {
        FilterDecision::Abstain
    }

    /// `session.created`.
    fn session_created(&self, clientinfo: &ClientInfo, sessinfo: &SessInfo) {}

    /// `session.subscribed`: `topic` is mounted, without `$share` prefix.
    fn session_subscribed(&self, clientinfo: &ClientInfo, topic: &str, opts: &SubOpts) {}

    /// `session.unsubscribed`.
    fn session_unsubscribed(&self, clientinfo: &ClientInfo, topic: &str, opts: &SubOpts) {}

    /// `session.resumed`.
    fn session_resumed(&self, clientinfo: &ClientInfo, sessinfo: &SessInfo) {}

    /// `session.discarded` (runs in the old connection).
    fn session_discarded(&self, clientinfo: &ClientInfo, sessinfo: &SessInfo) {}

    /// `session.takeovered` (runs in the old connection).
    fn session_takeovered(&self, clientinfo: &ClientInfo, sessinfo: &SessInfo) {}

    /// `session.terminated`: `reason` is raw (`{shutdown, normal}` in 4.2; see
    /// [`Reason::unwrap_shutdown`]).
    fn session_terminated(&self, clientinfo: &ClientInfo, reason: &Reason, sessinfo: &SessInfo) {}

    /// `message.publish`: a message enters routing.
    fn message_publish(&self, message: &Message) -> PublishDecision {
        PublishDecision::Abstain
    }

    /// `message.delivered`: a message is about to be sent to the subscriber `clientinfo`.
    fn message_delivered(&self, clientinfo: &ClientInfo, message: &Message) -> DeliverDecision {
        DeliverDecision::Abstain
    }

    /// `message.acked`: the subscriber acknowledged a QoS 1/2 message.
    fn message_acked(&self, clientinfo: &ClientInfo, message: &Message) {}

    /// `message.dropped`: no subscriber took the message; `node` is where it was dropped.
    fn message_dropped(&self, message: &Message, node: &str, reason: &Reason) {}

    /// The future of an `async fn` hook method. `#[export]` writes this method for the
    /// `async fn` methods of the impl block; it is not part of the API.
    #[doc(hidden)]
    fn __call_async<'a>(
        &'a self,
        args: crate::nif::asyncargs::AsyncArgs<'a>,
    ) -> Option<crate::nif::asyncargs::CallFuture<'a>> {
        None
    }
}
