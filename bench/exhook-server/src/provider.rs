//! The HookProvider: the decisions of `native/bench_all_hooks` (and of its Erlang twin
//! `bench/broker/rust_hook_bench_erl.erl`) as emqx_exhook replies. Every hook reads the
//! client id; `client.authenticate` and `client.check_acl` allow a non-empty one
//! (`STOP_AND_RETURN`, `true`: the library's `Allow` ends the chain too) and abstain
//! (`IGNORE`) otherwise; `message.publish` abstains (`IGNORE`: the message goes on
//! unchanged); the notifications answer `EmptySuccess`.

use std::hint::black_box;
use tonic::{Request, Response, Status};

/// The code generated from `proto/exhook.proto` (package `emqx.exhook.v1`).
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod pb {
    tonic::include_proto!("emqx.exhook.v1");
}

use pb::valued_response::{ResponsedType, Value};
use pb::*;

/// The hooks declared on `OnProviderLoaded`: all that emqx_exhook 4.4 offers, the 19
/// that the Rust library implements.
pub const HOOKS: [&str; 19] = [
    "client.connect",
    "client.connack",
    "client.connected",
    "client.disconnected",
    "client.authenticate",
    "client.check_acl",
    "client.subscribe",
    "client.unsubscribe",
    "session.created",
    "session.subscribed",
    "session.unsubscribed",
    "session.resumed",
    "session.discarded",
    "session.takeovered",
    "session.terminated",
    "message.publish",
    "message.delivered",
    "message.acked",
    "message.dropped",
];

/// The bench's HookProvider; no state.
pub struct BenchProvider;

/// Reads a client id, as every hook of the bench does; its length.
fn seen(clientid: Option<&str>) -> usize {
    black_box(clientid.map_or(0, str::len))
}

fn client(ci: &Option<ClientInfo>) -> usize {
    seen(ci.as_ref().map(|c| c.clientid.as_str()))
}

fn conn(ci: &Option<ConnInfo>) -> usize {
    seen(ci.as_ref().map(|c| c.clientid.as_str()))
}

fn from(m: &Option<Message>) -> usize {
    seen(m.as_ref().map(|m| m.from.as_str()))
}

/// `allow` when the client id is not empty, else abstain.
fn allow_known(ci: &Option<ClientInfo>) -> Response<ValuedResponse> {
    Response::new(if client(ci) > 0 {
        ValuedResponse {
            r#type: ResponsedType::StopAndReturn as i32,
            value: Some(Value::BoolResult(true)),
        }
    } else {
        abstain()
    })
}

fn abstain() -> ValuedResponse {
    ValuedResponse {
        r#type: ResponsedType::Ignore as i32,
        value: None,
    }
}

/// A notification's answer, once the client id was read (`_seen`).
fn done(_seen: usize) -> Result<Response<EmptySuccess>, Status> {
    Ok(Response::new(EmptySuccess {}))
}

#[tonic::async_trait]
impl hook_provider_server::HookProvider for BenchProvider {
    async fn on_provider_loaded(
        &self,
        _r: Request<ProviderLoadedRequest>,
    ) -> Result<Response<LoadedResponse>, Status> {
        let hooks = HOOKS
            .iter()
            .map(|h| HookSpec {
                name: h.to_string(),
                topics: Vec::new(),
            })
            .collect();
        Ok(Response::new(LoadedResponse { hooks }))
    }

    async fn on_provider_unloaded(
        &self,
        _r: Request<ProviderUnloadedRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        Ok(Response::new(EmptySuccess {}))
    }

    async fn on_client_connect(
        &self,
        r: Request<ClientConnectRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(conn(&r.get_ref().conninfo))
    }
    async fn on_client_connack(
        &self,
        r: Request<ClientConnackRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(conn(&r.get_ref().conninfo))
    }
    async fn on_client_connected(
        &self,
        r: Request<ClientConnectedRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(client(&r.get_ref().clientinfo))
    }
    async fn on_client_disconnected(
        &self,
        r: Request<ClientDisconnectedRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(client(&r.get_ref().clientinfo))
    }
    async fn on_client_subscribe(
        &self,
        r: Request<ClientSubscribeRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(client(&r.get_ref().clientinfo))
    }
    async fn on_client_unsubscribe(
        &self,
        r: Request<ClientUnsubscribeRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(client(&r.get_ref().clientinfo))
    }
    async fn on_session_created(
        &self,
        r: Request<SessionCreatedRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(client(&r.get_ref().clientinfo))
    }
    async fn on_session_subscribed(
        &self,
        r: Request<SessionSubscribedRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(client(&r.get_ref().clientinfo))
    }
    async fn on_session_unsubscribed(
        &self,
        r: Request<SessionUnsubscribedRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(client(&r.get_ref().clientinfo))
    }
    async fn on_session_resumed(
        &self,
        r: Request<SessionResumedRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(client(&r.get_ref().clientinfo))
    }
    async fn on_session_discarded(
        &self,
        r: Request<SessionDiscardedRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(client(&r.get_ref().clientinfo))
    }
    async fn on_session_takeovered(
        &self,
        r: Request<SessionTakeoveredRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(client(&r.get_ref().clientinfo))
    }
    async fn on_session_terminated(
        &self,
        r: Request<SessionTerminatedRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(client(&r.get_ref().clientinfo))
    }
    async fn on_message_delivered(
        &self,
        r: Request<MessageDeliveredRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(client(&r.get_ref().clientinfo))
    }
    async fn on_message_acked(
        &self,
        r: Request<MessageAckedRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(client(&r.get_ref().clientinfo))
    }
    async fn on_message_dropped(
        &self,
        r: Request<MessageDroppedRequest>,
    ) -> Result<Response<EmptySuccess>, Status> {
        done(from(&r.get_ref().message))
    }

    async fn on_client_authenticate(
        &self,
        r: Request<ClientAuthenticateRequest>,
    ) -> Result<Response<ValuedResponse>, Status> {
        Ok(allow_known(&r.into_inner().clientinfo))
    }

    async fn on_client_check_acl(
        &self,
        r: Request<ClientCheckAclRequest>,
    ) -> Result<Response<ValuedResponse>, Status> {
        Ok(allow_known(&r.into_inner().clientinfo))
    }

    async fn on_message_publish(
        &self,
        r: Request<MessagePublishRequest>,
    ) -> Result<Response<ValuedResponse>, Status> {
        from(&r.into_inner().message);
        Ok(Response::new(abstain()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hook_provider_server::HookProvider;

    fn info(id: &str) -> Option<ClientInfo> {
        Some(ClientInfo {
            clientid: id.into(),
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn declares_the_19_hooks() {
        let r = BenchProvider
            .on_provider_loaded(Request::new(ProviderLoadedRequest::default()))
            .await
            .unwrap()
            .into_inner();
        let names: Vec<&str> = r.hooks.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, HOOKS);
    }

    #[tokio::test]
    async fn allows_a_known_client_and_abstains_otherwise() {
        let auth = |id: &str| ClientAuthenticateRequest {
            clientinfo: info(id),
            ..Default::default()
        };
        let a = BenchProvider
            .on_client_authenticate(Request::new(auth("pub1")))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(a.r#type, ResponsedType::StopAndReturn as i32);
        assert_eq!(a.value, Some(Value::BoolResult(true)));
        let acl = ClientCheckAclRequest {
            clientinfo: info(""),
            ..Default::default()
        };
        let b = BenchProvider
            .on_client_check_acl(Request::new(acl))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(b.r#type, ResponsedType::Ignore as i32);
        assert_eq!(b.value, None);
    }

    #[tokio::test]
    async fn publish_abstains() {
        let m = MessagePublishRequest {
            message: Some(Message {
                from: "pub1".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let r = BenchProvider
            .on_message_publish(Request::new(m))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.r#type, ResponsedType::Ignore as i32);
        assert_eq!(r.value, None);
    }
}
