//! Byte strings that EMQX does not promise to be UTF-8 (client id, username, payload) and
//! the password, which never prints.

use std::fmt;

/// A borrowed Erlang binary that need not be UTF-8, such as a client id or a username.
///
/// `Debug` and `Display` show it as text when it is UTF-8 and escaped otherwise.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Bytes<'a>(pub &'a [u8]);

impl<'a> Bytes<'a> {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The bytes as `&str` when they are valid UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.0).ok()
    }

    /// The bytes as text, with invalid UTF-8 replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> std::borrow::Cow<'a, str> {
        String::from_utf8_lossy(self.0)
    }

    /// True for `<<>>`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl PartialEq<str> for Bytes<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Bytes<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl<'a> From<&'a [u8]> for Bytes<'a> {
    fn from(b: &'a [u8]) -> Self {
        Bytes(b)
    }
}

impl<'a> From<&'a str> for Bytes<'a> {
    fn from(s: &'a str) -> Self {
        Bytes(s.as_bytes())
    }
}

impl fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

impl fmt::Display for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => f.write_str(s),
            None => write!(f, "{}", self.0.escape_ascii()),
        }
    }
}

impl serde::Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// The password of `client.authenticate`. It never appears in `Debug`, `Display` or logs;
/// read it with [`Password::expose`] or compare it with [`Password::matches`].
#[derive(Clone, Copy)]
pub struct Password<'a>(&'a [u8]);

impl<'a> Password<'a> {
    /// Wraps raw password bytes.
    pub fn new(bytes: &'a [u8]) -> Self {
        Password(bytes)
    }

    /// The secret bytes. Do not log them.
    pub fn expose(&self) -> &'a [u8] {
        self.0
    }

    /// Compares with `expected` in time that does not depend on where they differ.
    pub fn matches(&self, expected: &[u8]) -> bool {
        if self.0.len() != expected.len() {
            return false;
        }
        let diff = self
            .0
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

impl PartialEq for Password<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other.0)
    }
}

impl Eq for Password<'_> {}

impl fmt::Debug for Password<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl serde::Serialize for Password<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_print_as_text_or_escaped() {
        assert_eq!(format!("{:?}", Bytes(b"pub1")), "\"pub1\"");
        assert_eq!(format!("{}", Bytes(b"a\xffb")), "a\\xffb");
        assert_eq!(Bytes(b"a\xffb").as_str(), None);
        assert_eq!(Bytes(b"alice"), "alice");
    }

    #[test]
    fn password_never_prints() {
        let p = Password::new(b"secret");
        let shown = format!("{p:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(p.matches(b"secret"));
        assert!(!p.matches(b"secreT"));
        assert!(!p.matches(b"secret2"));
        assert_eq!(p.expose(), b"secret");
    }
}
