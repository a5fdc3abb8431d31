//! The builder of [`Message`] (flags, headers and properties included).

use super::leak;
use crate::types::owned::{HeadersData, MessageData, PublisherData};
use crate::types::{Flags, Message, MessageId, Properties, Protocol, Publisher, QoS};
use std::net::{IpAddr, Ipv4Addr};

/// The GUID of `pub1`'s captured message.
const CAPTURED_ID: [u8; 16] = [0, 6, 97, 32, 185, 206, 123, 192, 244, 31, 0, 0, 1, 85, 0, 0];

impl Message<'static> {
    /// A builder of a test value (module [`crate::testing`]), by default `pub1`'s
    /// message as a real EMQX 4.2.14 broker passed it to `message.publish`:
    ///
    /// ```text
    /// {message, <<0,6,97,32,185,206,123,192,244,31,0,0,1,85,0,0>>, 1, <<"pub1">>,
    ///  #{dup => false, retain => false},
    ///  #{peerhost => {127,0,0,1}, properties => #{}, proto_ver => 4,
    ///    protocol => mqtt, username => <<"alice">>},
    ///  <<"t/1">>, <<"hello">>, 1795643044428}
    /// ```
    ///
    /// The header setters ([`username`](MessageBuilder::username),
    /// [`properties`](MessageBuilder::properties)...) set `#message.headers`.
    ///
    /// ```
    /// use emqx_rust_hook::prelude::*;
    ///
    /// let m = Message::builder()
    ///     .topic("sensors/1/temp")
    ///     .payload("21.5")
    ///     .qos(QoS::AtMostOnce)
    ///     .retain(true)
    ///     .properties(Properties::builder().user_property("unit", "C").build())
    ///     .build();
    /// assert_eq!(m.topic(), "sensors/1/temp");
    /// assert_eq!(m.payload(), "21.5");
    /// assert!(m.flags().retain);
    /// assert_eq!(m.headers().username(), Some("alice".into()));
    /// assert_eq!(m.headers().properties().user_properties()[0].1, "C");
    /// ```
    pub fn builder() -> MessageBuilder {
        MessageBuilder {
            data: MessageData {
                id: MessageId(CAPTURED_ID),
                qos: QoS::AtLeastOnce,
                from: PublisherData::Client(b"pub1".to_vec()),
                flags: Flags::default(),
                headers: HeadersData {
                    proto_ver: Some(4),
                    protocol: Some(Protocol::Mqtt),
                    username: Some(b"alice".to_vec()),
                    peerhost: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                    properties: Properties::new(),
                    allow_publish: None,
                    puback_props: None,
                    retained: false,
                    deliver_begin_at: None,
                },
                topic: "t/1".to_string(),
                payload: b"hello".to_vec(),
                timestamp: 1_795_643_044_428,
            },
        }
    }
}

/// Builds a [`Message`] test value; start from [`Message::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct MessageBuilder {
    data: MessageData,
}

impl MessageBuilder {
    /// `id`: the 16-byte GUID.
    pub fn id(mut self, id: [u8; 16]) -> Self {
        self.data.id = MessageId(id);
        self
    }

    /// `qos`.
    pub fn qos(mut self, qos: QoS) -> Self {
        self.data.qos = qos;
        self
    }

    /// `from`: [`Publisher::Client`] (a client id), [`Publisher::System`] (e.g.
    /// `emqx_sys`) or [`Publisher::Undefined`].
    pub fn from(mut self, from: Publisher<'_>) -> Self {
        self.data.from = match from {
            Publisher::Client(id) => PublisherData::Client(id.as_bytes().to_vec()),
            Publisher::System(name) => PublisherData::System(name),
            Publisher::Undefined => PublisherData::Undefined,
        };
        self
    }

    /// `from`: the client id of the publisher.
    pub fn from_client(mut self, clientid: impl AsRef<[u8]>) -> Self {
        self.data.from = PublisherData::Client(clientid.as_ref().to_vec());
        self
    }

    /// `flags`, all at once.
    pub fn flags(mut self, flags: Flags) -> Self {
        self.data.flags = flags;
        self
    }

    /// The `dup` flag.
    pub fn dup(mut self, on: bool) -> Self {
        self.data.flags.dup = on;
        self
    }

    /// The `retain` flag.
    pub fn retain(mut self, on: bool) -> Self {
        self.data.flags.retain = on;
        self
    }

    /// The `sys` flag (a message from EMQX itself, such as `$SYS/...`).
    pub fn sys(mut self, on: bool) -> Self {
        self.data.flags.sys = on;
        self
    }

    /// `topic` (as the broker holds it: mounted).
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.data.topic = topic.into();
        self
    }

    /// `payload`.
    pub fn payload(mut self, payload: impl AsRef<[u8]>) -> Self {
        self.data.payload = payload.as_ref().to_vec();
        self
    }

    /// `timestamp`, ms since the epoch.
    pub fn timestamp(mut self, ms: i64) -> Self {
        self.data.timestamp = ms;
        self
    }

    /// `headers.username` of the publisher.
    pub fn username<'s>(mut self, username: impl Into<Option<&'s str>>) -> Self {
        self.data.headers.username = username.into().map(|u| u.as_bytes().to_vec());
        self
    }

    /// `headers.peerhost` of the publisher.
    pub fn peerhost(mut self, ip: impl Into<Option<IpAddr>>) -> Self {
        self.data.headers.peerhost = ip.into();
        self
    }

    /// `headers.proto_ver` of the publisher.
    pub fn proto_ver(mut self, version: impl Into<Option<u8>>) -> Self {
        self.data.headers.proto_ver = version.into();
        self
    }

    /// `headers.protocol` of the publisher.
    pub fn protocol(mut self, protocol: impl Into<Option<Protocol>>) -> Self {
        self.data.headers.protocol = protocol.into();
        self
    }

    /// `headers.properties`: the PUBLISH properties.
    pub fn properties(mut self, props: Properties<'static>) -> Self {
        self.data.headers.properties = props;
        self
    }

    /// `headers.allow_publish` (`false` once a hook cancelled the publish).
    pub fn allow_publish(mut self, allow: impl Into<Option<bool>>) -> Self {
        self.data.headers.allow_publish = allow.into();
        self
    }

    /// `headers.puback_props` (what `message.acked` gets).
    pub fn puback_props(mut self, props: impl Into<Option<Properties<'static>>>) -> Self {
        self.data.headers.puback_props = props.into();
        self
    }

    /// `headers.retained`: a message re-sent by the retainer.
    pub fn retained(mut self, on: bool) -> Self {
        self.data.headers.retained = on;
        self
    }

    /// `headers.deliver_begin_at` (EMQX 4.4), ms.
    pub fn deliver_begin_at(mut self, ms: impl Into<Option<i64>>) -> Self {
        self.data.headers.deliver_begin_at = ms.into();
        self
    }

    /// The view (its data lives until the test process exits).
    pub fn build(self) -> Message<'static> {
        Message::from_data(leak(self.data))
    }
}
