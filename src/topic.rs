//! MQTT topic filters: validation and matching with EMQX's rules (contract 2.4).
//! The plugin filters message hooks in Erlang before calling Rust; this module checks
//! the filters a library declares and gives hook code the same matching.

/// Why a topic filter is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The filter is empty.
    #[error("empty topic filter")]
    Empty,
    /// Longer than 4096 bytes.
    #[error("topic filter longer than 4096 bytes")]
    TooLong,
    /// Contains NUL.
    #[error("topic filter contains NUL")]
    Nul,
    /// `#` not alone in the last level, or `+` not alone in its level.
    #[error("wildcard `{0}` must fill a whole level (and `#` must be last)")]
    Wildcard(char),
}

/// Checks a filter as EMQX does.
pub fn validate_filter(filter: &str) -> Result<(), FilterError> {
    if filter.is_empty() {
        return Err(FilterError::Empty);
    }
    if filter.len() > 4096 {
        return Err(FilterError::TooLong);
    }
    if filter.contains('\0') {
        return Err(FilterError::Nul);
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return Err(FilterError::Wildcard('#'));
        }
        if level.contains('+') && *level != "+" {
            return Err(FilterError::Wildcard('+'));
        }
    }
    Ok(())
}

/// Why a topic name (where a message goes) is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("empty topic name")]
    Empty,
    /// Longer than 4096 bytes (EMQX 4.2's limit; 4.4 allows 65535).
    #[error("topic name of {0} bytes (at most 4096)")]
    TooLong(usize),
    /// Contains NUL.
    #[error("topic name contains NUL")]
    Nul,
    /// Contains `+` or `#`: a name has no wildcards.
    #[error("topic name contains the wildcard `{0}`")]
    Wildcard(char),
}

/// The longest topic name or filter EMQX 4.2 accepts, in bytes.
pub const MAX_TOPIC_LEN: usize = 4096;

/// Checks a topic name as EMQX's `emqx_topic:validate(name, _)` does: not empty, at
/// most [`MAX_TOPIC_LEN`] bytes, no NUL and no wildcard character.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_TOPIC_LEN {
        return Err(NameError::TooLong(name.len()));
    }
    match name.chars().find(|c| matches!(c, '\0' | '+' | '#')) {
        Some('\0') => Err(NameError::Nul),
        Some(c) => Err(NameError::Wildcard(c)),
        None => Ok(()),
    }
}

/// True when `topic` (a name) matches `filter`, exactly as EMQX's `emqx_topic:match/2`
/// decides for any two binaries: `+` matches one level, a final `#` the remaining
/// levels including the parent (`a` matches `a/#`), equal levels match (a `#` or `+`
/// in the name only matches the same character in the filter), and a name starting with
/// `$` never matches a filter starting with a wildcard.
pub fn matches(topic: &str, filter: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut names = topic.split('/');
    let mut filters = filter.split('/');
    loop {
        match (names.next(), filters.next()) {
            (None, None) => return true,
            (Some(n), Some(f)) if n == f => {}
            (Some(_), Some("+")) => {}
            // `#` matches whatever is left only as the filter's last level.
            (_, Some("#")) if filters.clone().next().is_none() => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_follows_emqx() {
        let cases = [
            ("a/b/c", "a/+/c", true),
            ("a/b/c", "a/#", true),
            ("a", "a/#", true),
            ("a/b", "a/+", true),
            ("a", "a/+", false),
            ("a/b/c", "a/+", false),
            ("a//c", "a/+/c", true),
            ("/a", "+/a", true),
            ("$SYS/brokers", "#", false),
            ("$SYS/brokers", "+/brokers", false),
            ("$SYS/brokers", "$SYS/#", true),
            ("t/1", "t/1", true),
            ("t/1", "t/2", false),
            ("t", "#", true),
            // What emqx_topic:match/2 answers for names with wildcard characters and
            // for filters with a `#` before the last level.
            ("a/#/c", "a/#", false),
            ("#/x", "#", false),
            ("a/b", "a/#/c", false),
            ("a/#", "a/#/x", false),
            ("", "#", true),
            ("a/", "a/+", true),
            ("a/", "a/#", true),
        ];
        for (topic, filter, want) in cases {
            assert_eq!(matches(topic, filter), want, "{topic} ~ {filter}");
        }
    }

    #[test]
    fn names() {
        assert!(validate_name("a/b").is_ok());
        assert!(validate_name("/").is_ok());
        assert_eq!(validate_name(""), Err(NameError::Empty));
        assert_eq!(validate_name("a/+"), Err(NameError::Wildcard('+')));
        assert_eq!(validate_name("a#"), Err(NameError::Wildcard('#')));
        assert_eq!(validate_name("a\0"), Err(NameError::Nul));
        assert!(validate_name(&"a".repeat(4096)).is_ok());
        assert_eq!(
            validate_name(&"a".repeat(4097)),
            Err(NameError::TooLong(4097))
        );
    }

    #[test]
    fn validation() {
        assert!(validate_filter("a/+/#").is_ok());
        assert!(validate_filter("#").is_ok());
        assert_eq!(validate_filter("a/#/b"), Err(FilterError::Wildcard('#')));
        assert_eq!(validate_filter("a/b#"), Err(FilterError::Wildcard('#')));
        assert_eq!(validate_filter("a+/b"), Err(FilterError::Wildcard('+')));
        assert_eq!(validate_filter(""), Err(FilterError::Empty));
        assert_eq!(
            validate_filter(&"a".repeat(4097)),
            Err(FilterError::TooLong)
        );
    }
}
