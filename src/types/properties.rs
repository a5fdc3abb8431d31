//! MQTT 5 properties maps (contract 2.6).

use super::Bytes;
use std::fmt;

macro_rules! property_names {
    ($( $variant:ident => $name:literal, $kind:ident; )*) => {
        /// A property name EMQX knows. EMQX's serializer crashes on any other name, so
        /// returned properties can only use these.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum PropName {
            $( #[doc = concat!("`'", $name, "'`")] $variant, )*
        }

        impl PropName {
            /// Every known name.
            pub const ALL: &'static [PropName] = &[$(PropName::$variant),*];

            /// The atom EMQX uses, e.g. `"User-Property"`.
            pub const fn as_str(self) -> &'static str {
                match self { $(PropName::$variant => $name),* }
            }

            /// Looks a name up by its atom text.
            pub fn from_name(name: &str) -> Option<PropName> {
                match name { $($name => Some(PropName::$variant),)* _ => None }
            }

            /// What kind of value the name takes.
            pub const fn value_kind(self) -> PropKind {
                match self { $(PropName::$variant => PropKind::$kind),* }
            }
        }
    };
}

/// The kind of value a property holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropKind {
    /// An integer.
    Int,
    /// A binary.
    Bin,
    /// The `User-Property` list of pairs.
    Pairs,
}

property_names! {
    PayloadFormatIndicator => "Payload-Format-Indicator", Int;
    MessageExpiryInterval => "Message-Expiry-Interval", Int;
    ContentType => "Content-Type", Bin;
    ResponseTopic => "Response-Topic", Bin;
    CorrelationData => "Correlation-Data", Bin;
    SubscriptionIdentifier => "Subscription-Identifier", Int;
    SessionExpiryInterval => "Session-Expiry-Interval", Int;
    AssignedClientIdentifier => "Assigned-Client-Identifier", Bin;
    ServerKeepAlive => "Server-Keep-Alive", Int;
    AuthenticationMethod => "Authentication-Method", Bin;
    AuthenticationData => "Authentication-Data", Bin;
    RequestProblemInformation => "Request-Problem-Information", Int;
    WillDelayInterval => "Will-Delay-Interval", Int;
    RequestResponseInformation => "Request-Response-Information", Int;
    ResponseInformation => "Response-Information", Bin;
    ServerReference => "Server-Reference", Bin;
    ReasonString => "Reason-String", Bin;
    ReceiveMaximum => "Receive-Maximum", Int;
    TopicAliasMaximum => "Topic-Alias-Maximum", Int;
    TopicAlias => "Topic-Alias", Int;
    MaximumQos => "Maximum-QoS", Int;
    RetainAvailable => "Retain-Available", Int;
    UserProperty => "User-Property", Pairs;
    MaximumPacketSize => "Maximum-Packet-Size", Int;
    WildcardSubscriptionAvailable => "Wildcard-Subscription-Available", Int;
    SubscriptionIdentifierAvailable => "Subscription-Identifier-Available", Int;
    SharedSubscriptionAvailable => "Shared-Subscription-Available", Int;
}

impl fmt::Display for PropName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One property value as received.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PropValue<'a> {
    /// An integer property.
    Int(i64),
    /// A binary property.
    Bin(Bytes<'a>),
    /// `User-Property`: key/value pairs in packet order, duplicates allowed.
    Pairs(Vec<(Bytes<'a>, Bytes<'a>)>),
    /// A value of another shape (other plugins may put anything in a map).
    Other,
}

/// A received properties map. Keys EMQX does not know are kept by name. At most 1,024
/// entries, and 1,024 `User-Property` pairs, are kept (the rest is left out and logged),
/// so reading properties costs a bounded time whatever a client sends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Properties<'a> {
    entries: Vec<(PropKey, PropValue<'a>)>,
}

/// A property key: a known name, or any other atom found in the map.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PropKey {
    /// A name EMQX knows.
    Known(PropName),
    /// Another key, kept by its text.
    Unknown(String),
}

impl<'a> Properties<'a> {
    /// An empty map, as v3/v4 clients always have.
    pub const fn new() -> Self {
        Properties {
            entries: Vec::new(),
        }
    }

    /// Adds an entry (used by the decoder).
    pub fn push(&mut self, key: PropKey, value: PropValue<'a>) {
        self.entries.push((key, value));
    }

    /// True when the map is `#{}`.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The value of a known property.
    pub fn get(&self, name: PropName) -> Option<&PropValue<'a>> {
        self.entries
            .iter()
            .find(|(k, _)| *k == PropKey::Known(name))
            .map(|(_, v)| v)
    }

    /// The value of a known property, to change it (test values).
    #[cfg(not(test))]
    pub(crate) fn get_mut(&mut self, name: PropName) -> Option<&mut PropValue<'a>> {
        self.entries
            .iter_mut()
            .find(|(k, _)| *k == PropKey::Known(name))
            .map(|(_, v)| v)
    }

    /// An integer property.
    pub fn int(&self, name: PropName) -> Option<i64> {
        match self.get(name) {
            Some(PropValue::Int(i)) => Some(*i),
            _ => None,
        }
    }

    /// A binary property.
    pub fn bin(&self, name: PropName) -> Option<Bytes<'a>> {
        match self.get(name) {
            Some(PropValue::Bin(b)) => Some(*b),
            _ => None,
        }
    }

    /// The `User-Property` pairs, in packet order (empty when absent).
    pub fn user_properties(&self) -> &[(Bytes<'a>, Bytes<'a>)] {
        match self.get(PropName::UserProperty) {
            Some(PropValue::Pairs(p)) => p,
            _ => &[],
        }
    }

    /// Every entry in map order.
    pub fn iter(&self) -> impl Iterator<Item = &(PropKey, PropValue<'a>)> {
        self.entries.iter()
    }
}

impl serde::Serialize for Properties<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            match k {
                PropKey::Known(n) => m.serialize_entry(n.as_str(), v)?,
                PropKey::Unknown(n) => m.serialize_entry(n.as_str(), v)?,
            }
        }
        m.end()
    }
}

/// A property to set on a returned message or CONNACK. Only known names exist, and each
/// constructor takes the value kind that name needs, so a returned map is always valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewProperty {
    /// An integer property (checked against the name's kind when returned).
    Int(PropName, u32),
    /// A binary property.
    Bin(PropName, Vec<u8>),
    /// Replaces the whole `User-Property` list.
    UserProperties(Vec<(Vec<u8>, Vec<u8>)>),
}

impl NewProperty {
    /// The name this property sets.
    pub fn name(&self) -> PropName {
        match self {
            NewProperty::Int(n, _) | NewProperty::Bin(n, _) => *n,
            NewProperty::UserProperties(_) => PropName::UserProperty,
        }
    }

    /// Checks that the value kind matches the name (an integer for an integer property...).
    pub fn validate(&self) -> Result<(), String> {
        let (name, kind) = match self {
            NewProperty::Int(n, _) => (*n, PropKind::Int),
            NewProperty::Bin(n, _) => (*n, PropKind::Bin),
            NewProperty::UserProperties(_) => (PropName::UserProperty, PropKind::Pairs),
        };
        if name.value_kind() != kind {
            return Err(format!(
                "property {name} takes {:?}, not {kind:?}",
                name.value_kind()
            ));
        }
        // What EMQX's frame module can write: it crashes the client's connection on
        // text that is not UTF-8 or longer than 65535 bytes, and truncates integers to
        // the field's width.
        match self {
            NewProperty::Int(n, v) if !n.int_range().contains(&u64::from(*v)) => Err(format!(
                "property {n}: {v} is out of range ({} to {})",
                n.int_range().start(),
                n.int_range().end()
            )),
            NewProperty::Int(..) => Ok(()),
            NewProperty::Bin(n, b) => check_string(*n, b, n.is_text()),
            NewProperty::UserProperties(pairs) => pairs.iter().try_for_each(|(k, v)| {
                check_string(PropName::UserProperty, k, true)?;
                check_string(PropName::UserProperty, v, true)
            }),
        }
    }
}

fn check_string(name: PropName, b: &[u8], text: bool) -> Result<(), String> {
    if b.len() > 0xFFFF {
        Err(format!(
            "property {name}: {} bytes (at most 65535)",
            b.len()
        ))
    } else if text && std::str::from_utf8(b).is_err() {
        Err(format!("property {name}: not UTF-8 text"))
    } else {
        Ok(())
    }
}

impl PropName {
    /// The largest integer the property's field holds (one, two or four bytes, or a
    /// variable byte integer).
    pub const fn max_int(self) -> u64 {
        match self {
            PropName::ServerKeepAlive
            | PropName::ReceiveMaximum
            | PropName::TopicAliasMaximum
            | PropName::TopicAlias => 0xFFFF,
            PropName::MessageExpiryInterval
            | PropName::SessionExpiryInterval
            | PropName::WillDelayInterval
            | PropName::MaximumPacketSize => 0xFFFF_FFFF,
            PropName::SubscriptionIdentifier => 268_435_455,
            _ => 0xFF,
        }
    }

    /// The values MQTT 5 allows for an integer property: its field's width, less what
    /// the specification calls a protocol error (`Receive-Maximum`, `Topic-Alias`,
    /// `Maximum-Packet-Size` and `Subscription-Identifier` 0; a flag other than 0 or 1),
    /// which would make EMQX refuse the client or the packet.
    pub const fn int_range(self) -> std::ops::RangeInclusive<u64> {
        match self {
            PropName::PayloadFormatIndicator
            | PropName::RequestProblemInformation
            | PropName::RequestResponseInformation
            | PropName::MaximumQos
            | PropName::RetainAvailable
            | PropName::WildcardSubscriptionAvailable
            | PropName::SubscriptionIdentifierAvailable
            | PropName::SharedSubscriptionAvailable => 0..=1,
            PropName::ReceiveMaximum
            | PropName::TopicAlias
            | PropName::MaximumPacketSize
            | PropName::SubscriptionIdentifier => 1..=self.max_int(),
            _ => 0..=self.max_int(),
        }
    }

    /// Whether a binary property is UTF-8 text (all but `Correlation-Data` and
    /// `Authentication-Data`, which are raw bytes).
    pub const fn is_text(self) -> bool {
        !matches!(
            self,
            PropName::CorrelationData | PropName::AuthenticationData
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let mut p = Properties::new();
        assert!(p.is_empty());
        p.push(
            PropKey::Known(PropName::SessionExpiryInterval),
            PropValue::Int(30),
        );
        p.push(
            PropKey::Known(PropName::UserProperty),
            PropValue::Pairs(vec![(Bytes(b"k"), Bytes(b"v")), (Bytes(b"k"), Bytes(b"w"))]),
        );
        assert_eq!(p.int(PropName::SessionExpiryInterval), Some(30));
        assert_eq!(p.user_properties().len(), 2);
        assert_eq!(p.bin(PropName::ContentType), None);
        assert_eq!(
            PropName::from_name("Maximum-QoS"),
            Some(PropName::MaximumQos)
        );
        assert_eq!(PropName::ALL.len(), 27);
    }

    #[test]
    fn new_property_kinds_are_checked() {
        assert!(NewProperty::Int(PropName::MessageExpiryInterval, 5)
            .validate()
            .is_ok());
        assert!(NewProperty::Int(PropName::ContentType, 5)
            .validate()
            .is_err());
        assert!(NewProperty::Bin(PropName::ContentType, b"x".to_vec())
            .validate()
            .is_ok());
    }

    #[test]
    fn new_property_values_fit_the_frame() {
        let ok = |p: NewProperty| assert!(p.validate().is_ok(), "{p:?}");
        let bad = |p: NewProperty| assert!(p.validate().is_err(), "{p:?}");
        ok(NewProperty::Int(PropName::MaximumQos, 1));
        bad(NewProperty::Int(PropName::MaximumQos, 2));
        ok(NewProperty::Int(PropName::TopicAliasMaximum, 0));
        bad(NewProperty::Int(PropName::ReceiveMaximum, 0));
        bad(NewProperty::Int(PropName::SubscriptionIdentifier, 0));
        ok(NewProperty::Int(PropName::ServerKeepAlive, 65535));
        bad(NewProperty::Int(PropName::ServerKeepAlive, 65536));
        ok(NewProperty::Int(PropName::SessionExpiryInterval, u32::MAX));
        ok(NewProperty::Int(
            PropName::SubscriptionIdentifier,
            268_435_455,
        ));
        bad(NewProperty::Int(
            PropName::SubscriptionIdentifier,
            268_435_456,
        ));
        bad(NewProperty::Bin(PropName::ContentType, vec![0xff]));
        ok(NewProperty::Bin(PropName::CorrelationData, vec![0xff]));
        bad(NewProperty::Bin(PropName::CorrelationData, vec![0; 65536]));
        ok(NewProperty::Bin(PropName::ReasonString, vec![b'x'; 65535]));
        bad(NewProperty::Bin(PropName::ReasonString, vec![b'x'; 65536]));
        ok(NewProperty::UserProperties(vec![(
            b"k".to_vec(),
            b"v".to_vec(),
        )]));
        bad(NewProperty::UserProperties(vec![(
            b"k".to_vec(),
            vec![0xc3],
        )]));
        bad(NewProperty::UserProperties(vec![(
            vec![b'k'; 65536],
            b"v".to_vec(),
        )]));
    }
}
