//! Test fixture: checks that the test values of `emqx_rust_hook::testing` read exactly
//! like the captured EMQX 4.2.14 terms they are modelled on. Each hook builds the value
//! its captured call is modelled on (the builder's default, with the changes written
//! here for the calls of another client) and reports both, serialised through every
//! accessor of the views, to the Erlang process `rust_hook_probe`;
//! `tests/rust_hook_testing_values_tests.erl` replays the captured calls and compares.
//!
//! The captured calls: `pub1` (user `alice`, password `secret`) connects, publishes
//! `hello` to `t/1` and disconnects; `sub1` (no username) subscribes to `t/#` and
//! receives it; `persist1` unsubscribes from `u/1` and publishes to `nosub/1`, which is
//! dropped.

use emqx_rust_hook::erl;
use emqx_rust_hook::prelude::*;
use emqx_rust_hook::testing::reason;
use serde::Serialize;

/// Compares captured calls with test values.
pub struct TestingValues;

/// One side of a comparison: what a hook received, or the test value built for it.
#[derive(Serialize, Default)]
struct Args<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    clientinfo: Option<ClientInfo<'a>>,
    /// The password's bytes (a `Password` serialises as `<redacted>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<Bytes<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conninfo: Option<ConnInfo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    props: Option<Properties<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rc: Option<ConnackReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<AuthResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pubsub: Option<PubSub>,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acl: Option<AclResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filters: Option<Vec<TopicFilter<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sessinfo: Option<SessInfo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    opts: Option<SubOpts<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<&'a str>,
}

impl<'a> Args<'a> {
    fn client(c: &ClientInfo<'a>) -> Self {
        Args {
            clientinfo: Some(*c),
            password: c.password().map(|p| Bytes(p.expose())),
            ..Default::default()
        }
    }
}

#[derive(Serialize)]
struct Report<'a> {
    hook: &'static str,
    live: Args<'a>,
    built: Args<'static>,
}

fn report(hook: &'static str, live: Args, built: Args<'static>) {
    let _ = erl::send("rust_hook_probe", &Report { hook, live, built });
}

/// `sub1`'s clientinfo: `pub1`'s without a username.
fn sub1() -> ClientInfo<'static> {
    ClientInfo::builder()
        .clientid("sub1")
        .username(None)
        .build()
}

/// `persist1`'s clientinfo.
fn persist1() -> ClientInfo<'static> {
    ClientInfo::builder()
        .clientid("persist1")
        .username(None)
        .build()
}

#[emqx_rust_hook::export]
impl Hooks for TestingValues {
    fn init(_: &Config) -> Result<Self, InitError> {
        Ok(TestingValues)
    }

    fn client_connect(&self, conninfo: &ConnInfo, props: &Properties) -> ConnectDecision {
        let live = Args {
            conninfo: Some(*conninfo),
            props: Some(props.clone()),
            ..Default::default()
        };
        let built = Args {
            conninfo: Some(ConnInfo::builder().connecting().build()),
            props: Some(Properties::builder().build()),
            ..Default::default()
        };
        report("client.connect", live, built);
        ConnectDecision::Abstain
    }

    fn client_connack(
        &self,
        conninfo: &ConnInfo,
        rc: ConnackReason,
        props: &Properties,
    ) -> ConnackDecision {
        let live = Args {
            conninfo: Some(*conninfo),
            rc: Some(rc),
            props: Some(props.clone()),
            ..Default::default()
        };
        let built = Args {
            conninfo: Some(ConnInfo::builder().build()),
            rc: Some(ConnackReason::Success),
            props: Some(Properties::builder().build()),
            ..Default::default()
        };
        report("client.connack", live, built);
        ConnackDecision::Abstain
    }

    fn client_connected(&self, clientinfo: &ClientInfo, conninfo: &ConnInfo) {
        let live = Args {
            conninfo: Some(*conninfo),
            ..Args::client(clientinfo)
        };
        let built = Args {
            conninfo: Some(ConnInfo::builder().build()),
            ..Args::client(&ClientInfo::builder().build())
        };
        report("client.connected", live, built);
    }

    fn client_disconnected(&self, clientinfo: &ClientInfo, reason: &Reason, conninfo: &ConnInfo) {
        let live = Args {
            conninfo: Some(*conninfo),
            reason: Some(reason.clone()),
            ..Args::client(clientinfo)
        };
        let built = Args {
            conninfo: Some(ConnInfo::builder().disconnected().build()),
            reason: Some(reason::disconnected()),
            ..Args::client(&ClientInfo::builder().build())
        };
        report("client.disconnected", live, built);
    }

    fn client_authenticate(&self, clientinfo: &ClientInfo, result: AuthResult) -> AuthDecision {
        let live = Args {
            auth: Some(result),
            ..Args::client(clientinfo)
        };
        let built = Args {
            auth: Some(AuthResult::builder().build()),
            ..Args::client(&ClientInfo::builder().authenticating().build())
        };
        report("client.authenticate", live, built);
        AuthDecision::Abstain
    }

    fn client_check_acl(
        &self,
        clientinfo: &ClientInfo,
        pubsub: PubSub,
        topic: &str,
        result: AclResult,
    ) -> AclDecision {
        let live = Args {
            pubsub: Some(pubsub),
            topic: Some(topic),
            acl: Some(result),
            ..Args::client(clientinfo)
        };
        let built = Args {
            pubsub: Some(PubSub::Publish),
            topic: Some("t/1"),
            acl: Some(AclResult::Allow),
            ..Args::client(&ClientInfo::builder().build())
        };
        report("client.check_acl", live, built);
        AclDecision::Abstain
    }

    fn client_subscribe(
        &self,
        clientinfo: &ClientInfo,
        props: &Properties,
        filters: &[TopicFilter],
    ) -> FilterDecision {
        let live = Args {
            props: Some(props.clone()),
            filters: Some(filters.to_vec()),
            ..Args::client(clientinfo)
        };
        let built = Args {
            props: Some(Properties::builder().build()),
            filters: Some(vec![TopicFilter::builder("t/#").build()]),
            ..Args::client(&sub1())
        };
        report("client.subscribe", live, built);
        FilterDecision::Abstain
    }

    fn client_unsubscribe(
        &self,
        clientinfo: &ClientInfo,
        props: &Properties,
        filters: &[TopicFilter],
    ) -> FilterDecision {
        let live = Args {
            props: Some(props.clone()),
            filters: Some(filters.to_vec()),
            ..Args::client(clientinfo)
        };
        let built = Args {
            props: Some(Properties::builder().build()),
            filters: Some(vec![TopicFilter::builder("u/1")
                .opts(SubOpts::default())
                .build()]),
            ..Args::client(&persist1())
        };
        report("client.unsubscribe", live, built);
        FilterDecision::Abstain
    }

    fn session_created(&self, clientinfo: &ClientInfo, sessinfo: &SessInfo) {
        let live = Args {
            sessinfo: Some(sessinfo.clone()),
            ..Args::client(clientinfo)
        };
        let built = Args {
            sessinfo: Some(SessInfo::builder().build()),
            ..Args::client(&ClientInfo::builder().build())
        };
        report("session.created", live, built);
    }

    fn session_subscribed(&self, clientinfo: &ClientInfo, topic: &str, opts: &SubOpts) {
        let live = Args {
            topic: Some(topic),
            opts: Some(opts.clone()),
            ..Args::client(clientinfo)
        };
        let built = Args {
            topic: Some("t/#"),
            opts: Some(SubOpts::builder().build()),
            ..Args::client(&sub1())
        };
        report("session.subscribed", live, built);
    }

    fn session_unsubscribed(&self, clientinfo: &ClientInfo, topic: &str, opts: &SubOpts) {
        let live = Args {
            topic: Some(topic),
            opts: Some(opts.clone()),
            ..Args::client(clientinfo)
        };
        let opts = SubOpts::builder()
            .qos(QoS::AtMostOnce)
            .is_new(None)
            .unsub_props(Properties::builder().build())
            .build();
        let built = Args {
            topic: Some("u/1"),
            opts: Some(opts),
            ..Args::client(&persist1())
        };
        report("session.unsubscribed", live, built);
    }

    fn session_terminated(&self, clientinfo: &ClientInfo, reason: &Reason, sessinfo: &SessInfo) {
        let live = Args {
            reason: Some(reason.clone()),
            sessinfo: Some(sessinfo.clone()),
            ..Args::client(clientinfo)
        };
        let sessinfo = SessInfo::builder()
            .created_at(1_795_643_043_422)
            .subscription("t/#", SubOpts::builder().is_new(None).build())
            .build();
        let built = Args {
            reason: Some(reason::terminated()),
            sessinfo: Some(sessinfo),
            ..Args::client(&sub1())
        };
        report("session.terminated", live, built);
    }

    fn message_publish(&self, message: &Message) -> PublishDecision {
        let live = Args {
            message: Some(*message),
            ..Default::default()
        };
        let built = Args {
            message: Some(Message::builder().build()),
            ..Default::default()
        };
        report("message.publish", live, built);
        PublishDecision::Abstain
    }

    fn message_delivered(&self, clientinfo: &ClientInfo, message: &Message) -> DeliverDecision {
        let live = Args {
            message: Some(*message),
            ..Args::client(clientinfo)
        };
        let built = Args {
            message: Some(Message::builder().build()),
            ..Args::client(&sub1())
        };
        report("message.delivered", live, built);
        DeliverDecision::Abstain
    }

    fn message_acked(&self, clientinfo: &ClientInfo, message: &Message) {
        let live = Args {
            message: Some(*message),
            ..Args::client(clientinfo)
        };
        let message = Message::builder()
            .puback_props(Properties::builder().build())
            .build();
        let built = Args {
            message: Some(message),
            ..Args::client(&sub1())
        };
        report("message.acked", live, built);
    }

    fn message_dropped(&self, message: &Message, node: &str, reason: &Reason) {
        let live = Args {
            message: Some(*message),
            node: Some(node),
            reason: Some(reason.clone()),
            ..Default::default()
        };
        // persist1's message: another id, QoS 0, no username.
        let message = Message::builder()
            .id([0, 6, 97, 32, 186, 115, 202, 70, 244, 31, 0, 0, 1, 103, 0, 0])
            .qos(QoS::AtMostOnce)
            .from_client("persist1")
            .username(None)
            .topic("nosub/1")
            .payload("dropme")
            .timestamp(1_795_643_055_262)
            .build();
        let built = Args {
            message: Some(message),
            node: Some(reason::DROPPED_NODE),
            reason: Some(reason::dropped()),
            ..Default::default()
        };
        report("message.dropped", live, built);
    }
}
