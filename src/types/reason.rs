//! Reasons (`client.disconnected`, `session.terminated`, `message.dropped`) and the
//! small atoms of the ACL and CONNACK hooks (contract 2.8 and 2.9).

use super::ConnackReason;
use serde::Serialize;
use std::fmt;

/// An arbitrary reason term, decoded structurally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Reason {
    /// An atom such as `normal`, `tcp_closed`, `kicked`, `no_subscribers`.
    Atom(String),
    /// An integer (WebSocket close codes).
    Int(i64),
    /// A binary.
    Binary(Vec<u8>),
    /// A tuple such as `{shutdown, normal}`.
    Tuple(Vec<Reason>),
    /// A list.
    List(Vec<Reason>),
    /// A pid, reference, map, fun, float or anything else.
    Other(String),
}

impl Reason {
    /// The atom's name if this is an atom.
    pub fn as_atom(&self) -> Option<&str> {
        match self {
            Reason::Atom(a) => Some(a),
            _ => None,
        }
    }

    /// `{shutdown, R}` becomes `R` (the 4.3+ form of `session.terminated`); other reasons
    /// are returned as they are.
    pub fn unwrap_shutdown(&self) -> &Reason {
        match self {
            Reason::Tuple(items) if items.len() == 2 && items[0].as_atom() == Some("shutdown") => {
                &items[1]
            }
            r => r,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn join(f: &mut fmt::Formatter<'_>, items: &[Reason]) -> fmt::Result {
            for (i, r) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{r}")?;
            }
            Ok(())
        }
        match self {
            Reason::Atom(a) => f.write_str(a),
            Reason::Int(i) => write!(f, "{i}"),
            Reason::Binary(b) => write!(f, "<<\"{}\">>", b.escape_ascii()),
            Reason::Tuple(items) => {
                f.write_str("{")?;
                join(f, items)?;
                f.write_str("}")
            }
            Reason::List(items) => {
                f.write_str("[")?;
                join(f, items)?;
                f.write_str("]")
            }
            Reason::Other(s) => f.write_str(s),
        }
    }
}

/// Quality of service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum QoS {
    /// At most once.
    AtMostOnce = 0,
    /// At least once.
    AtLeastOnce = 1,
    /// Exactly once.
    ExactlyOnce = 2,
}

impl QoS {
    /// From the integer EMQX uses.
    pub fn from_u8(v: u8) -> Option<QoS> {
        match v {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }

    /// The integer EMQX uses.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

/// `publish` or `subscribe` in `client.check_acl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum PubSub {
    /// The client publishes to the topic.
    Publish,
    /// The client subscribes to the filter.
    Subscribe,
}

/// The running ACL result (the accumulator of `client.check_acl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AclResult {
    /// `allow`.
    Allow,
    /// `deny` (or any value other than `allow`, which EMQX treats as deny).
    Deny,
}

/// The running authentication result (the accumulator of `client.authenticate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AuthResult {
    /// `auth_result`: `success`, `not_authorized`, ... (`None` when absent).
    pub auth_result: Option<ConnackReason>,
    /// `anonymous`.
    pub anonymous: Option<bool>,
    /// `is_superuser`, when an earlier callback set it.
    pub is_superuser: Option<bool>,
}

impl AuthResult {
    /// True when the chain so far accepts the client.
    pub fn is_success(&self) -> bool {
        self.auth_result == Some(ConnackReason::Success)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_unwraps() {
        let r = Reason::Tuple(vec![
            Reason::Atom("shutdown".into()),
            Reason::Atom("normal".into()),
        ]);
        assert_eq!(r.unwrap_shutdown().as_atom(), Some("normal"));
        assert_eq!(r.to_string(), "{shutdown,normal}");
        assert_eq!(Reason::Int(1000).unwrap_shutdown(), &Reason::Int(1000));
    }

    #[test]
    fn qos_round_trip() {
        for v in 0..3 {
            assert_eq!(QoS::from_u8(v).unwrap().as_u8(), v);
        }
        assert_eq!(QoS::from_u8(3), None);
    }
}
