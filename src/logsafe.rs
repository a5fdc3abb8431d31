//! Client data in log lines: whatever a client chose as its client id, topic or payload
//! (control characters, invalid UTF-8, 64 KiB strings), what reaches a log line is one
//! line of printable text of bounded length.

use std::borrow::Cow;

/// The most characters of a client id that a log line shows.
pub const CLIENTID_MAX_CHARS: usize = 64;

/// `text` with every control character (newline, carriage return, escape...) written as
/// its Rust escape (`\n`, `\u{1b}`), so that it cannot end a log line or drive a
/// terminal. Borrowed when there is nothing to escape.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A client id as log lines show it: quoted, escaped (invalid UTF-8 as U+FFFD, control
/// characters as escapes), and cut after [`CLIENTID_MAX_CHARS`] characters (then `...`).
pub fn clientid(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut chars = text.char_indices();
    match chars.nth(CLIENTID_MAX_CHARS) {
        Some((end, _)) => format!("{:?}...", &text[..end]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("a\nb\r\u{1b}[31m"), "a\\nb\\r\\u{1b}[31m");
        assert!(matches!(escape_controls("plain é"), Cow::Borrowed(_)));
    }

    #[test]
    fn client_ids_are_quoted_escaped_and_cut() {
        assert_eq!(clientid(b"c1"), "\"c1\"");
        assert_eq!(clientid(b"a\nb"), "\"a\\nb\"");
        assert_eq!(clientid(b"\xff"), "\"\u{fffd}\"");
        let long = clientid(&[b'x'; 70_000]);
        assert_eq!(long, format!("\"{}\"...", "x".repeat(64)));
        assert_eq!(clientid(&[b'x'; 64]), format!("\"{}\"", "x".repeat(64)));
    }
}
