//! Test fixture: implements all 19 hooks. Each call reports what it decoded to the
//! Erlang process registered as `rust_hook_probe` (when there is one), and the
//! decisions depend on the input, so that tests can drive every kind of decision:
//!
//! - authenticate: password `secret` allows, username `super` allows as superuser,
//!   password `wrong` denies, client id `panic_auth` panics; anything else abstains;
//! - check_acl: topics `allowed/...` allow, `denied/...` deny, `panic/...` panic;
//! - subscribe: `rewrite/me` becomes `rewritten/me`, `qos0/me` gets QoS 0, `drop/me` is
//!   removed; unsubscribe: `rewrite/me` becomes `rewritten/me`;
//! - publish: `cancel/...` is cancelled, `rewrite/...` goes to `rewritten/...` with an
//!   upper-case payload, `props/...` gets a User-Property, `panic/...` panics;
//! - delivered: `up/...` payloads are upper-cased for the subscriber;
//! - connect: client id `reject_me` is refused with 0x87; connack adds a User-Property.
//!
//! Message hooks are filtered: acked sees `t/#` only, dropped `nosub/#` and `t/#`,
//! delivered `t/#`, `up/#` and `rewritten/#`.

use emqx_rust_hook::erl;
use emqx_rust_hook::prelude::*;
use serde::Serialize;

/// Reports and test decisions.
pub struct TestHooks;

/// What one call decoded.
#[derive(Serialize, Default)]
struct Report<'a> {
    hook: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    clientinfo: Option<ClientInfo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conninfo: Option<ConnInfo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<Bytes<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    props: Option<&'a Properties<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rc: Option<ConnackReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<&'a AuthResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pubsub: Option<PubSub>,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acl: Option<AclResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filters: Option<&'a [TopicFilter<'a>]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sessinfo: Option<&'a SessInfo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    opts: Option<&'a SubOpts<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<&'a str>,
}

fn report(r: Report) {
    // The probe is only there in tests that want the reports.
    let _ = erl::send("rust_hook_probe", &r);
}

fn report_session(hook: &'static str, clientinfo: &ClientInfo, sessinfo: &SessInfo) {
    report(Report {
        hook,
        clientinfo: Some(*clientinfo),
        sessinfo: Some(sessinfo),
        ..Default::default()
    });
}

fn report_subscription(hook: &'static str, clientinfo: &ClientInfo, topic: &str, opts: &SubOpts) {
    report(Report {
        hook,
        clientinfo: Some(*clientinfo),
        topic: Some(topic),
        opts: Some(opts),
        ..Default::default()
    });
}

fn report_filters(
    hook: &'static str,
    clientinfo: &ClientInfo,
    props: &Properties,
    filters: &[TopicFilter],
) {
    report(Report {
        hook,
        clientinfo: Some(*clientinfo),
        props: Some(props),
        filters: Some(filters),
        ..Default::default()
    });
}

fn with_message<'a>(hook: &'static str, m: &Message<'a>) -> Report<'a> {
    Report {
        hook,
        message: Some(*m),
        message_id: Some(m.id().to_hex()),
        ..Default::default()
    }
}

#[emqx_rust_hook::export]
impl Hooks for TestHooks {
    fn init(config: &Config) -> Result<Self, InitError> {
        if config.get("fail") == Some("true") {
            return Err(InitError::new("asked to fail by init.fail"));
        }
        Ok(TestHooks)
    }

    fn client_connect(&self, conninfo: &ConnInfo, props: &Properties) -> ConnectDecision {
        report(Report {
            hook: "client.connect",
            conninfo: Some(*conninfo),
            props: Some(props),
            ..Default::default()
        });
        if conninfo.clientid() == "reject_me" {
            ConnectDecision::Deny(ConnectDenyReason::NotAuthorized)
        } else {
            ConnectDecision::Abstain
        }
    }

    fn client_connack(
        &self,
        conninfo: &ConnInfo,
        rc: ConnackReason,
        props: &Properties,
    ) -> ConnackDecision {
        report(Report {
            hook: "client.connack",
            conninfo: Some(*conninfo),
            rc: Some(rc),
            props: Some(props),
            ..Default::default()
        });
        ConnackDecision::Change(vec![NewProperty::UserProperties(vec![(
            b"hook".to_vec(),
            b"rust".to_vec(),
        )])])
    }

    fn client_connected(&self, clientinfo: &ClientInfo, conninfo: &ConnInfo) {
        report(Report {
            hook: "client.connected",
            clientinfo: Some(*clientinfo),
            conninfo: Some(*conninfo),
            ..Default::default()
        });
    }

    fn client_disconnected(&self, clientinfo: &ClientInfo, reason: &Reason, conninfo: &ConnInfo) {
        report(Report {
            hook: "client.disconnected",
            clientinfo: Some(*clientinfo),
            conninfo: Some(*conninfo),
            reason: Some(reason.to_string()),
            ..Default::default()
        });
    }

    fn client_authenticate(&self, clientinfo: &ClientInfo, result: AuthResult) -> AuthDecision {
        report(Report {
            hook: "client.authenticate",
            clientinfo: Some(*clientinfo),
            password: clientinfo.password().map(|p| Bytes(p.expose())),
            auth: Some(&result),
            ..Default::default()
        });
        if clientinfo.clientid() == "panic_auth" {
            panic!("test panic in client_authenticate");
        }
        let password = clientinfo.password().map(|p| p.expose());
        match (clientinfo.username().and_then(|u| u.as_str()), password) {
            (Some("super"), _) => AuthDecision::AllowSuperuser,
            (_, Some(b"secret")) => AuthDecision::Allow,
            (_, Some(b"wrong")) => AuthDecision::Deny(AuthDenyReason::BadUsernameOrPassword),
            _ => AuthDecision::Abstain,
        }
    }

    fn client_check_acl(
        &self,
        clientinfo: &ClientInfo,
        pubsub: PubSub,
        topic: &str,
        result: AclResult,
    ) -> AclDecision {
        report(Report {
            hook: "client.check_acl",
            clientinfo: Some(*clientinfo),
            pubsub: Some(pubsub),
            topic: Some(topic),
            acl: Some(result),
            ..Default::default()
        });
        if topic.starts_with("panic/") {
            panic!("test panic in client_check_acl");
        } else if topic.starts_with("allowed/") {
            AclDecision::Allow
        } else if topic.starts_with("denied/") {
            AclDecision::Deny
        } else {
            AclDecision::Abstain
        }
    }

    fn client_subscribe(
        &self,
        clientinfo: &ClientInfo,
        props: &Properties,
        filters: &[TopicFilter],
    ) -> FilterDecision {
        report_filters("client.subscribe", clientinfo, props, filters);
        if !filters
            .iter()
            .any(|f| matches!(f.topic, "rewrite/me" | "qos0/me" | "drop/me"))
        {
            return FilterDecision::Abstain;
        }
        let changes = filters
            .iter()
            .enumerate()
            .filter(|(_, f)| f.topic != "drop/me")
            .map(|(i, f)| match f.topic {
                "rewrite/me" => FilterChange::rewrite(i, "rewritten/me"),
                "qos0/me" => FilterChange {
                    from: i,
                    topic: None,
                    qos: Some(QoS::AtMostOnce),
                },
                _ => FilterChange::keep(i),
            })
            .collect();
        FilterDecision::Change(changes)
    }

    fn client_unsubscribe(
        &self,
        clientinfo: &ClientInfo,
        props: &Properties,
        filters: &[TopicFilter],
    ) -> FilterDecision {
        report_filters("client.unsubscribe", clientinfo, props, filters);
        if !filters.iter().any(|f| f.topic == "rewrite/me") {
            return FilterDecision::Abstain;
        }
        let changes = filters
            .iter()
            .enumerate()
            .map(|(i, f)| match f.topic {
                "rewrite/me" => FilterChange::rewrite(i, "rewritten/me"),
                _ => FilterChange::keep(i),
            })
            .collect();
        FilterDecision::Change(changes)
    }

    fn session_created(&self, clientinfo: &ClientInfo, sessinfo: &SessInfo) {
        report_session("session.created", clientinfo, sessinfo);
    }

    fn session_subscribed(&self, clientinfo: &ClientInfo, topic: &str, opts: &SubOpts) {
        report_subscription("session.subscribed", clientinfo, topic, opts);
    }

    fn session_unsubscribed(&self, clientinfo: &ClientInfo, topic: &str, opts: &SubOpts) {
        report_subscription("session.unsubscribed", clientinfo, topic, opts);
    }

    fn session_resumed(&self, clientinfo: &ClientInfo, sessinfo: &SessInfo) {
        report_session("session.resumed", clientinfo, sessinfo);
    }

    fn session_discarded(&self, clientinfo: &ClientInfo, sessinfo: &SessInfo) {
        report_session("session.discarded", clientinfo, sessinfo);
    }

    fn session_takeovered(&self, clientinfo: &ClientInfo, sessinfo: &SessInfo) {
        report_session("session.takeovered", clientinfo, sessinfo);
    }

    fn session_terminated(&self, clientinfo: &ClientInfo, reason: &Reason, sessinfo: &SessInfo) {
        report(Report {
            hook: "session.terminated",
            clientinfo: Some(*clientinfo),
            reason: Some(reason.to_string()),
            sessinfo: Some(sessinfo),
            ..Default::default()
        });
    }

    fn message_publish(&self, message: &Message) -> PublishDecision {
        report(with_message("message.publish", message));
        let topic = message.topic();
        if topic.starts_with("panic/") {
            panic!("test panic in message_publish");
        } else if topic.starts_with("cancel/") {
            PublishDecision::Deny
        } else if let Some(rest) = topic.strip_prefix("rewrite/") {
            PublishDecision::Change(MessageChange {
                topic: Some(format!("rewritten/{rest}")),
                payload: Some(message.payload().as_bytes().to_ascii_uppercase()),
                ..Default::default()
            })
        } else if topic.starts_with("props/") {
            PublishDecision::Change(MessageChange {
                properties: vec![NewProperty::UserProperties(vec![(
                    b"via".to_vec(),
                    b"rust".to_vec(),
                )])],
                ..Default::default()
            })
        } else if topic.starts_with("badprop/") {
            // A property EMQX's frame module cannot write (Content-Type must be UTF-8):
            // the SDK refuses the decision, the failure policy applies.
            PublishDecision::Change(MessageChange {
                properties: vec![NewProperty::Bin(PropName::ContentType, vec![0xff, 0xfe])],
                ..Default::default()
            })
        } else {
            PublishDecision::Abstain
        }
    }

    #[hook(topics = ["t/#", "up/#", "rewritten/#"])]
    fn message_delivered(&self, clientinfo: &ClientInfo, message: &Message) -> DeliverDecision {
        let mut r = with_message("message.delivered", message);
        r.clientinfo = Some(*clientinfo);
        report(r);
        if message.topic().starts_with("up/") {
            DeliverDecision::Change(MessageChange::payload(
                message.payload().as_bytes().to_ascii_uppercase(),
            ))
        } else {
            DeliverDecision::Abstain
        }
    }

    #[hook(topics = ["t/#"])]
    fn message_acked(&self, clientinfo: &ClientInfo, message: &Message) {
        let mut r = with_message("message.acked", message);
        r.clientinfo = Some(*clientinfo);
        report(r);
    }

    #[hook(topics = ["nosub/#", "t/#"])]
    fn message_dropped(&self, message: &Message, node: &str, reason: &Reason) {
        let mut r = with_message("message.dropped", message);
        r.node = Some(node);
        r.reason = Some(reason.to_string());
        report(r);
    }
}
