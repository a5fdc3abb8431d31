//! What a hook can decide. Each hook that decides returns one of these types; the SDK
//! turns it into the term EMQX expects, built from the original term so that only what
//! the decision changes is changed.
//!
//! Every decision type speaks the same words:
//!
//! | Variant | Meaning | EMQX gets |
//! |---|---|---|
//! | `Abstain` (the `Default`) | no opinion: the rest of the chain decides, the value goes on unchanged | `ok` |
//! | `Allow` | accept and stop the chain (authenticate, check_acl) | `{stop, ...}` |
//! | `Deny` | refuse and stop the chain (authenticate, check_acl, connect, publish) | `{stop, ...}` |
//! | `Change(..)` | go on with a changed value (connect, connack, subscribe, unsubscribe, publish, delivered) | `{ok, ...}` |
//!
//! A decision that changes nothing (`Change` with an empty change) is sent as `ok`.

use crate::types::{ConnackReason, NewProperty, QoS};

/// Why a login is refused ([`AuthDecision::Deny`]); each maps to the CONNACK code EMQX
/// sends (contract 2.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthDenyReason {
    /// `not_authorized`: 0x87 (v3: 5).
    NotAuthorized,
    /// `bad_username_or_password`: 0x86 (v3: 4).
    BadUsernameOrPassword,
    /// `client_identifier_not_valid`: 0x85 (v3: 2).
    ClientIdentifierNotValid,
    /// `server_unavailable`: 0x88 (v3: 3).
    ServerUnavailable,
    /// `server_busy`: 0x89 (v3: 3).
    ServerBusy,
    /// `banned`: 0x8A (v3: 5).
    Banned,
    /// `bad_authentication_method`: 0x8C (v3: 5).
    BadAuthenticationMethod,
}

impl AuthDenyReason {
    /// The `auth_result` atom.
    pub const fn as_atom(self) -> &'static str {
        match self {
            AuthDenyReason::NotAuthorized => "not_authorized",
            AuthDenyReason::BadUsernameOrPassword => "bad_username_or_password",
            AuthDenyReason::ClientIdentifierNotValid => "client_identifier_not_valid",
            AuthDenyReason::ServerUnavailable => "server_unavailable",
            AuthDenyReason::ServerBusy => "server_busy",
            AuthDenyReason::Banned => "banned",
            AuthDenyReason::BadAuthenticationMethod => "bad_authentication_method",
        }
    }
}

impl From<AuthDenyReason> for ConnackReason {
    fn from(reason: AuthDenyReason) -> Self {
        ConnackReason::from_atom(reason.as_atom())
    }
}

/// The answer of `client.authenticate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthDecision {
    /// No opinion: the rest of the chain (and `allow_anonymous`) decides.
    #[default]
    Abstain,
    /// Accept the client and stop the auth chain.
    Allow,
    /// Accept the client as a superuser (ACL checks are skipped for it) and stop the chain.
    AllowSuperuser,
    /// Refuse the client and stop the chain.
    Deny(AuthDenyReason),
}

/// The answer of `client.check_acl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AclDecision {
    /// No opinion: later callbacks (e.g. the file ACL) and `acl_nomatch` decide.
    #[default]
    Abstain,
    /// Allow and stop the ACL chain.
    Allow,
    /// Deny and stop the ACL chain.
    Deny,
}

/// Changes to a message. Fields left `None` keep the original value; every other field
/// of the record, and every header not named here, is passed on untouched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageChange {
    /// A new topic (routing uses it).
    pub topic: Option<String>,
    /// A new payload.
    pub payload: Option<Vec<u8>>,
    /// A new QoS.
    pub qos: Option<QoS>,
    /// A new `retain` flag.
    pub retain: Option<bool>,
    /// Properties to set in `headers.properties` (other properties are kept).
    pub properties: Vec<NewProperty>,
}

impl MessageChange {
    /// A change of the payload alone.
    pub fn payload(payload: impl Into<Vec<u8>>) -> Self {
        MessageChange {
            payload: Some(payload.into()),
            ..Default::default()
        }
    }

    /// A change of the topic alone.
    pub fn topic(topic: impl Into<String>) -> Self {
        MessageChange {
            topic: Some(topic.into()),
            ..Default::default()
        }
    }

    /// True when the change changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == MessageChange::default()
    }
}

/// The answer of `message.publish`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum PublishDecision {
    /// No opinion: the message is published as it is (later callbacks still run).
    #[default]
    Abstain,
    /// Publish the changed message; later callbacks still run.
    Change(MessageChange),
    /// Do not publish (EMQX's `allow_publish => false`); the chain stops.
    Deny,
}

/// The answer of `message.delivered` (changes apply to this subscriber's copy only).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum DeliverDecision {
    /// No opinion: deliver the message as it is.
    #[default]
    Abstain,
    /// Deliver the changed message.
    Change(MessageChange),
}

/// One element of a changed topic-filter list, built from an element of the list the
/// hook received (its options are kept unless changed here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterChange {
    /// Index of the received filter this element starts from.
    pub from: usize,
    /// A new filter text.
    pub topic: Option<String>,
    /// A new QoS (subscribe only).
    pub qos: Option<QoS>,
}

impl FilterChange {
    /// Keeps element `from` unchanged.
    pub fn keep(from: usize) -> Self {
        FilterChange {
            from,
            topic: None,
            qos: None,
        }
    }

    /// Element `from` with a new filter text.
    pub fn rewrite(from: usize, topic: impl Into<String>) -> Self {
        FilterChange {
            from,
            topic: Some(topic.into()),
            qos: None,
        }
    }
}

/// The answer of `client.subscribe` and `client.unsubscribe`.
///
/// EMQX 4.2 builds SUBACK codes from the returned list, so removing elements makes the
/// SUBACK shorter than the SUBSCRIBE; to refuse a filter, prefer denying it in
/// `client.check_acl`, or rewrite it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum FilterDecision {
    /// No opinion: the list goes on as received.
    #[default]
    Abstain,
    /// Use this list instead.
    Change(Vec<FilterChange>),
}

/// Why `client.connect` refuses a connection ([`ConnectDecision::Deny`]): an MQTT 5
/// failure code, only those that have a v3 equivalent, so every client gets an
/// encodable CONNACK (contract 3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum ConnectDenyReason {
    UnspecifiedError = 0x80,
    MalformedPacket = 0x81,
    ProtocolError = 0x82,
    ImplementationSpecificError = 0x83,
    UnsupportedProtocolVersion = 0x84,
    ClientIdentifierNotValid = 0x85,
    BadUsernameOrPassword = 0x86,
    NotAuthorized = 0x87,
    ServerUnavailable = 0x88,
    ServerBusy = 0x89,
    Banned = 0x8A,
    BadAuthenticationMethod = 0x8C,
    TopicNameInvalid = 0x90,
    QuotaExceeded = 0x97,
    UseAnotherServer = 0x9C,
    ServerMoved = 0x9D,
    ConnectionRateExceeded = 0x9F,
}

impl ConnectDenyReason {
    /// The MQTT 5 reason code.
    pub const fn code(self) -> u8 {
        self as u8
    }
}

/// The answer of `client.connect`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ConnectDecision {
    /// No opinion: go on with the connection as it is.
    #[default]
    Abstain,
    /// Set these CONNECT properties (others are kept) and go on.
    Change(Vec<NewProperty>),
    /// Refuse the connection with this CONNACK code, before authentication.
    Deny(ConnectDenyReason),
}

/// The answer of `client.connack`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ConnackDecision {
    /// No opinion: send the CONNACK properties as they are.
    #[default]
    Abstain,
    /// Set these CONNACK properties (others are kept).
    Change(Vec<NewProperty>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decision_abstains_by_default() {
        assert_eq!(AuthDecision::default(), AuthDecision::Abstain);
        assert_eq!(AclDecision::default(), AclDecision::Abstain);
        assert_eq!(ConnectDecision::default(), ConnectDecision::Abstain);
        assert_eq!(ConnackDecision::default(), ConnackDecision::Abstain);
        assert_eq!(FilterDecision::default(), FilterDecision::Abstain);
        assert_eq!(PublishDecision::default(), PublishDecision::Abstain);
        assert_eq!(DeliverDecision::default(), DeliverDecision::Abstain);
    }

    #[test]
    fn auth_deny_reasons_are_known_connack_reasons() {
        use AuthDenyReason::*;
        for r in [
            NotAuthorized,
            BadUsernameOrPassword,
            ClientIdentifierNotValid,
            ServerUnavailable,
            ServerBusy,
            Banned,
            BadAuthenticationMethod,
        ] {
            let c = ConnackReason::from(r);
            assert!(!matches!(c, ConnackReason::Other(_)), "{r:?}");
            assert_eq!(c.as_atom(), r.as_atom());
        }
        assert_eq!(ConnectDenyReason::NotAuthorized.code(), 0x87);
    }
}
