//! The `#message{}` record (contract 2.5).

use super::{Bytes, Properties, QoS};
use serde::Serialize;
use std::fmt;
use std::net::IpAddr;

/// The 16-byte message GUID. `Display` gives 32 uppercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct MessageId(pub [u8; 16]);

impl MessageId {
    /// 32 uppercase hex digits, two per byte (the original plugin's encoding).
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(32);
        for b in self.0 {
            s.push_str(&format!("{b:02X}"));
        }
        s
    }

    /// The microsecond timestamp in the GUID's first 8 bytes.
    pub fn timestamp_us(&self) -> u64 {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(ts)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", self.to_hex())
    }
}

/// Who published a message (`#message.from`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Publisher<'a> {
    /// A client id (may be empty for the will message of a client with a generated id).
    Client(Bytes<'a>),
    /// A system publisher such as `emqx_sys` or `emqx_alarm` (an atom).
    System(String),
    /// `undefined`.
    Undefined,
}

/// `#message.flags` (a missing flag is false).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Flags {
    /// `dup`.
    pub dup: bool,
    /// `retain`.
    pub retain: bool,
    /// `sys`: a message from EMQX itself.
    pub sys: bool,
    /// `nl`: set on delivered copies for no-local subscriptions.
    pub nl: bool,
    /// Other flags, by name.
    pub other: Vec<(String, bool)>,
}

/// `#message.headers`: the known headers; other keys survive untouched when a message is
/// returned to EMQX.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Headers<'a> {
    /// `proto_ver` of the publishing client.
    pub proto_ver: Option<u8>,
    /// `protocol` of the publishing client.
    pub protocol: Option<String>,
    /// `username` of the publishing client.
    pub username: Option<Bytes<'a>>,
    /// `peerhost` of the publishing client.
    pub peerhost: Option<IpAddr>,
    /// `properties`: the PUBLISH properties.
    pub properties: Properties<'a>,
    /// `allow_publish`: `Some(false)` when a hook cancelled the publish.
    pub allow_publish: Option<bool>,
    /// `puback_props`: `message.acked` only.
    pub puback_props: Option<Properties<'a>>,
    /// `retained`: re-sent by the retainer.
    pub retained: bool,
    /// `deliver_begin_at` (4.4), ms.
    pub deliver_begin_at: Option<i64>,
}

/// A message, borrowed from the record EMQX passed (the payload is not copied).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Message<'a> {
    /// `id`.
    pub id: MessageId,
    /// `qos`.
    pub qos: QoS,
    /// `from`.
    pub from: Publisher<'a>,
    /// `flags`.
    pub flags: Flags,
    /// `headers`.
    pub headers: Headers<'a>,
    /// `topic` (mounted).
    pub topic: &'a str,
    /// `payload`.
    pub payload: Bytes<'a>,
    /// `timestamp`, ms since the epoch.
    pub timestamp: i64,
}

impl Message<'_> {
    /// True for `$SYS/...` topics.
    pub fn is_sys_topic(&self) -> bool {
        self.topic.starts_with("$SYS/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_hex() {
        let id = MessageId([0, 6, 97, 32, 185, 206, 123, 192, 244, 31, 0, 0, 1, 85, 0, 0]);
        assert_eq!(id.to_hex(), "00066120B9CE7BC0F41F000001550000");
        assert_eq!(id.timestamp_us(), 0x0006_6120_B9CE_7BC0);
    }
}
