//! Reasons (`client.disconnected`, `session.terminated`, `message.dropped`) and the
//! small atoms of the ACL and CONNACK hooks (contract 2.8 and 2.9).

use super::ConnackReason;
use serde::Serialize;
use std::fmt;

/// An arbitrary reason term, decoded structurally.
///
/// The SDK decodes a reason within fixed bounds, on every thread: at most 32 levels of
/// nesting, 1,024 terms, and 256 bytes per binary or text. What lies past them is
/// [`Reason::Truncated`] (shown as `...`), binaries keep their first 256 bytes, and the
/// truncation is logged. So every walk over a decoded reason (`Display`, `Debug`,
/// serialisation, comparison) is bounded too.
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
    /// A map, float, pid, reference, port, fun or big integer, as bounded text
    /// (`#{a => 1}`, `1.5`, `#Pid`...).
    Other(String),
    /// The part of the term past the decoding bounds (nesting, number of terms).
    Truncated,
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

/// `Display` stops nesting at this depth (`...`), also for reasons built by hand.
const DISPLAY_MAX_DEPTH: usize = 64;

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn write(f: &mut fmt::Formatter<'_>, r: &Reason, depth: usize) -> fmt::Result {
            if depth >= DISPLAY_MAX_DEPTH {
                return f.write_str("...");
            }
            let join = |f: &mut fmt::Formatter<'_>, items: &[Reason]| -> fmt::Result {
                for (i, r) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write(f, r, depth + 1)?;
                }
                Ok(())
            };
            match r {
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
                Reason::Truncated => f.write_str("..."),
            }
        }
        write(f, self, 0)
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
    fn truncated_and_deep_reasons_display_bounded() {
        let r = Reason::Tuple(vec![Reason::Atom("a".into()), Reason::Truncated]);
        assert_eq!(r.to_string(), "{a,...}");
        // A hand-built reason deeper than Display's bound.
        let mut deep = Reason::Atom("x".into());
        for _ in 0..100 {
            deep = Reason::Tuple(vec![deep]);
        }
        let text = deep.to_string();
        assert!(text.starts_with(&"{".repeat(64)), "{text}");
        assert!(text.contains("..."), "{text}");
        assert!(!text.contains('x'), "{text}");
    }

    #[test]
    fn qos_round_trip() {
        for v in 0..3 {
            assert_eq!(QoS::from_u8(v).unwrap().as_u8(), v);
        }
        assert_eq!(QoS::from_u8(3), None);
    }
}
