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

/// True when `topic` (a name) matches `filter`: `+` matches one level, `#` the remaining
/// levels including the parent, and a name starting with `$` never matches a filter
/// starting with a wildcard.
pub fn matches(topic: &str, filter: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut names = topic.split('/');
    let mut filters = filter.split('/');
    loop {
        match (filters.next(), names.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(f), Some(n)) if f == n => {}
            (None, None) => return true,
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
        ];
        for (topic, filter, want) in cases {
            assert_eq!(matches(topic, filter), want, "{topic} ~ {filter}");
        }
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
