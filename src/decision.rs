//! What a hook can decide. Each fold hook returns one of these types; the SDK turns it
//! into the term EMQX expects, built from the original term so that only what the
//! decision changes is changed.

use crate::types::{NewProperty, QoS};

/// Why a login is refused; each maps to the CONNACK code EMQX sends (contract 2.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyReason {
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

impl DenyReason {
    /// The `auth_result` atom.
    pub const fn as_atom(self) -> &'static str {
        match self {
            DenyReason::NotAuthorized => "not_authorized",
            DenyReason::BadUsernameOrPassword => "bad_username_or_password",
            DenyReason::ClientIdentifierNotValid => "client_identifier_not_valid",
            DenyReason::ServerUnavailable => "server_unavailable",
            DenyReason::ServerBusy => "server_busy",
            DenyReason::Banned => "banned",
            DenyReason::BadAuthenticationMethod => "bad_authentication_method",
        }
    }
}

/// The answer of `client.authenticate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthDecision {
    /// Accept the client and stop the auth chain.
    Allow,
    /// Accept the client as a superuser (ACL checks are skipped for it) and stop the chain.
    AllowSuperuser,
    /// Refuse the client and stop the chain.
    Deny(DenyReason),
    /// No opinion: the rest of the chain (and `allow_anonymous`) decides.
    #[default]
    Abstain,
}

/// The answer of `client.check_acl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AclDecision {
    /// Allow and stop the ACL chain.
    Allow,
    /// Deny and stop the ACL chain.
    Deny,
    /// No opinion: later callbacks (e.g. the file ACL) and `acl_nomatch` decide.
    #[default]
    Abstain,
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
    /// Publish the message as it is.
    #[default]
    Continue,
    /// Publish the changed message; later callbacks still run.
    Modify(MessageChange),
    /// Do not publish (EMQX's `allow_publish => false`); the chain stops.
    Cancel,
}

/// The answer of `message.delivered` (changes apply to this subscriber's copy only).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum DeliverDecision {
    /// Deliver as it is.
    #[default]
    Continue,
    /// Deliver the changed message.
    Modify(MessageChange),
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
    /// Keep the list as received.
    #[default]
    Keep,
    /// Use this list instead.
    Replace(Vec<FilterChange>),
}

/// An MQTT 5 failure code `client.connect` may reject with; only codes that have a v3
/// equivalent, so every client gets an encodable CONNACK (contract 3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum ConnectRejection {
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

/// The answer of `client.connect`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ConnectDecision {
    /// Go on with the connection.
    #[default]
    Continue,
    /// Set these CONNECT properties (others are kept) and go on.
    SetProperties(Vec<NewProperty>),
    /// Refuse the connection with this CONNACK code, before authentication.
    Reject(ConnectRejection),
}

/// The answer of `client.connack`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ConnackDecision {
    /// Send the CONNACK properties as they are.
    #[default]
    Continue,
    /// Set these CONNACK properties (others are kept).
    SetProperties(Vec<NewProperty>),
}
