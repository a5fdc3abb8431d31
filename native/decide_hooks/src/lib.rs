//! Test fixture for the property tests (`tests/rust_hook_prop_tests.erl`): every
//! decision is derived from the call's own bytes, so generated inputs give generated
//! decisions, valid and invalid alike: `MessageChange`s (topics with wildcards, empty or
//! longer than 4096 bytes; properties of the wrong kind, out of range or not UTF-8),
//! filter lists (invalid filters, indices out of range, a QoS on an unsubscribe), CONNACK
//! and CONNECT properties, and auth and ACL results. An invalid one must never reach
//! EMQX: the SDK refuses it, counts it and the fallback applies.
//!
//! - message.publish / message.delivered: from the payload;
//! - client.subscribe / client.unsubscribe: from each filter's topic;
//! - client.connect / client.connack: from the client id;
//! - client.authenticate: from the username; client.check_acl: from the topic.

use emqx_rust_hook::prelude::*;

/// Decisions derived from the input.
pub struct DecideHooks;

fn byte(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// Up to four properties, three bytes each: the name, the kind, a value.
fn properties(b: &[u8]) -> Vec<NewProperty> {
    b.chunks(3)
        .take(4)
        .map(|c| {
            let name = PropName::ALL[usize::from(byte(c, 0)) % PropName::ALL.len()];
            let v = byte(c, 2);
            match byte(c, 1) % 4 {
                // 0..255 fits every integer property; times 0x01010101 only the wide ones.
                0 => NewProperty::Int(name, u32::from(v)),
                1 => NewProperty::Int(name, u32::from(v).wrapping_mul(0x0101_0101)),
                2 => NewProperty::Bin(name, c[c.len().min(2)..].to_vec()),
                _ => NewProperty::UserProperties(vec![(c.to_vec(), b"v".to_vec())]),
            }
        })
        .collect()
}

fn message_change(p: &[u8]) -> MessageChange {
    let sel = byte(p, 0);
    let rest = &p[p.len().min(1)..];
    let mut topic = String::from_utf8_lossy(rest).into_owned();
    if sel & 32 != 0 {
        topic = topic.repeat(4097 / topic.len().max(1) + 1);
    }
    MessageChange {
        topic: (sel & 1 != 0).then_some(topic),
        payload: (sel & 2 != 0).then(|| rest.to_vec()),
        qos: (sel & 4 != 0).then(|| QoS::from_u8(byte(p, 1) % 3).unwrap_or(QoS::AtMostOnce)),
        retain: (sel & 8 != 0).then_some(byte(p, 2) & 1 == 1),
        properties: if sel & 16 != 0 {
            properties(rest)
        } else {
            Vec::new()
        },
    }
}

fn filter_change(i: usize, f: &TopicFilter) -> Option<FilterChange> {
    let t = f.topic.as_bytes();
    let sel = byte(t, 0);
    match sel % 5 {
        0 => None,
        1 => Some(FilterChange::keep(i)),
        2 => Some(FilterChange::rewrite(i, String::from_utf8_lossy(&t[1..]))),
        3 => Some(FilterChange {
            from: i,
            topic: None,
            qos: QoS::from_u8(byte(t, 1) % 3),
        }),
        _ => Some(FilterChange::keep(i + usize::from(byte(t, 1) % 4))),
    }
}

fn filters(filters: &[TopicFilter]) -> FilterDecision {
    match filters.first().map(|f| byte(f.topic.as_bytes(), 0) % 7) {
        None | Some(0) => FilterDecision::Abstain,
        _ => FilterDecision::Change(
            filters
                .iter()
                .enumerate()
                .filter_map(|(i, f)| filter_change(i, f))
                .collect(),
        ),
    }
}

const AUTH_DENY: [AuthDenyReason; 7] = [
    AuthDenyReason::NotAuthorized,
    AuthDenyReason::BadUsernameOrPassword,
    AuthDenyReason::ClientIdentifierNotValid,
    AuthDenyReason::ServerUnavailable,
    AuthDenyReason::ServerBusy,
    AuthDenyReason::Banned,
    AuthDenyReason::BadAuthenticationMethod,
];

#[emqx_rust_hook::export]
impl Hooks for DecideHooks {
    fn init(_: &Config) -> Result<Self, InitError> {
        Ok(DecideHooks)
    }

    fn client_connect(&self, conninfo: &ConnInfo, _: &Properties) -> ConnectDecision {
        let id = conninfo.clientid();
        match byte(id.as_bytes(), 0) % 3 {
            0 => ConnectDecision::Abstain,
            1 => ConnectDecision::Change(properties(&id.as_bytes()[1..])),
            _ => ConnectDecision::Deny(ConnectDenyReason::NotAuthorized),
        }
    }

    fn client_connack(
        &self,
        conninfo: &ConnInfo,
        _: ConnackReason,
        _: &Properties,
    ) -> ConnackDecision {
        let id = conninfo.clientid();
        match byte(id.as_bytes(), 0) % 2 {
            0 => ConnackDecision::Abstain,
            _ => ConnackDecision::Change(properties(&id.as_bytes()[1..])),
        }
    }

    fn client_authenticate(&self, clientinfo: &ClientInfo, _: AuthResult) -> AuthDecision {
        let b = byte(
            clientinfo
                .username()
                .map(|u| u.as_bytes())
                .unwrap_or_default(),
            0,
        );
        match b % 4 {
            0 => AuthDecision::Abstain,
            1 => AuthDecision::Allow,
            2 => AuthDecision::AllowSuperuser,
            _ => AuthDecision::Deny(AUTH_DENY[usize::from(b / 4) % AUTH_DENY.len()]),
        }
    }

    fn client_check_acl(
        &self,
        _: &ClientInfo,
        _: PubSub,
        topic: &str,
        _: AclResult,
    ) -> AclDecision {
        match byte(topic.as_bytes(), 0) % 3 {
            0 => AclDecision::Abstain,
            1 => AclDecision::Allow,
            _ => AclDecision::Deny,
        }
    }

    fn client_subscribe(
        &self,
        _: &ClientInfo,
        _: &Properties,
        f: &[TopicFilter],
    ) -> FilterDecision {
        filters(f)
    }

    fn client_unsubscribe(
        &self,
        _: &ClientInfo,
        _: &Properties,
        f: &[TopicFilter],
    ) -> FilterDecision {
        filters(f)
    }

    fn message_publish(&self, message: &Message) -> PublishDecision {
        let p = message.payload();
        match byte(p.as_bytes(), 0) % 8 {
            0 => PublishDecision::Abstain,
            1 => PublishDecision::Deny,
            _ => PublishDecision::Change(message_change(&p.as_bytes()[1..])),
        }
    }

    fn message_delivered(&self, _: &ClientInfo, message: &Message) -> DeliverDecision {
        let p = message.payload();
        match byte(p.as_bytes(), 0) % 8 {
            0 => DeliverDecision::Abstain,
            _ => DeliverDecision::Change(message_change(&p.as_bytes()[1..])),
        }
    }

    fn client_connected(&self, _: &ClientInfo, _: &ConnInfo) {}
    fn client_disconnected(&self, _: &ClientInfo, _: &Reason, _: &ConnInfo) {}
    fn session_created(&self, _: &ClientInfo, _: &SessInfo) {}
    fn session_subscribed(&self, _: &ClientInfo, _: &str, _: &SubOpts) {}
    fn session_unsubscribed(&self, _: &ClientInfo, _: &str, _: &SubOpts) {}
    fn session_resumed(&self, _: &ClientInfo, _: &SessInfo) {}
    fn session_discarded(&self, _: &ClientInfo, _: &SessInfo) {}
    fn session_takeovered(&self, _: &ClientInfo, _: &SessInfo) {}
    fn session_terminated(&self, _: &ClientInfo, _: &Reason, _: &SessInfo) {}
    fn message_acked(&self, _: &ClientInfo, _: &Message) {}
    fn message_dropped(&self, _: &Message, _: &str, _: &Reason) {}
}
