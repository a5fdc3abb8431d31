//! Reading the jobs' `exhook.drivers.rust.init.<key>` settings: switches, durations,
//! numbers and choices, each with a default and a clear error naming the key.

use emqx_rust_hook::prelude::*;
use std::time::Duration;

/// `init.<key>` as a switch: `on`/`true`/`yes`/`1` or `off`/`false`/`no`/`0`.
pub fn switch(config: &Config, key: &str, default: bool) -> Result<bool, InitError> {
    match config.get(key).map(str::trim) {
        None => Ok(default),
        Some("on" | "true" | "yes" | "1") => Ok(true),
        Some("off" | "false" | "no" | "0") => Ok(false),
        Some(v) => Err(InitError::new(format!(
            "exhook.drivers.rust.init.{key} = {v:?}: expected on or off"
        ))),
    }
}

/// `init.<key>` as a duration: `250ms`, `10s`, `5m`, or `0` (off).
pub fn duration(config: &Config, key: &str, default: Duration) -> Result<Duration, InitError> {
    let Some(v) = config.get(key).map(str::trim) else {
        return Ok(default);
    };
    parse_duration(v).ok_or_else(|| {
        InitError::new(format!(
            "exhook.drivers.rust.init.{key} = {v:?}: expected a duration like 250ms, 10s, 5m or 0"
        ))
    })
}

/// `250ms`, `10s`, `5m`, `1h` or `0`.
pub fn parse_duration(v: &str) -> Option<Duration> {
    if v == "0" {
        return Some(Duration::ZERO);
    }
    let split = v.find(|c: char| !c.is_ascii_digit())?;
    let n: u64 = v[..split].parse().ok()?;
    Some(match &v[split..] {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return None,
    })
}

/// `init.<key>` as a positive number.
pub fn count(config: &Config, key: &str, default: usize) -> Result<usize, InitError> {
    match config.get(key) {
        None => Ok(default),
        Some(_) => {
            let n: usize = config.parse(key)?;
            if n == 0 {
                return Err(InitError::new(format!(
                    "exhook.drivers.rust.init.{key} must be at least 1"
                )));
            }
            Ok(n)
        }
    }
}

/// `init.<key>` as one of `choices` (the first is the default).
pub fn choice(
    config: &Config,
    key: &str,
    choices: &[&'static str],
) -> Result<&'static str, InitError> {
    match config.get(key).map(str::trim) {
        None => Ok(choices[0]),
        Some(v) => choices.iter().find(|c| **c == v).copied().ok_or_else(|| {
            InitError::new(format!(
                "exhook.drivers.rust.init.{key} = {v:?}: expected one of {}",
                choices.join(", ")
            ))
        }),
    }
}

/// A cache's line in the status: `off`, or `N <what>, ttl 10s`.
pub fn cache_label(entries: usize, what: &str, ttl: Duration) -> String {
    if ttl.is_zero() {
        "off".to_string()
    } else {
        format!("{entries} {what}, ttl {ttl:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("1d"), None);
    }
}
