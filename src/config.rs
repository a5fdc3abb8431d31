//! The driver configuration handed to [`Hooks::init`](crate::Hooks::init).

pub use crate::workers::Overflow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// What to do when a hook fails (an error, a panic or a timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FailedAction {
    /// Act as if the hook had abstained: the chain goes on (fail open).
    #[default]
    Ignore,
    /// Deny the login or the ACL check (fail closed).
    Deny,
}

/// The plugin's `exhook.drivers.rust.*` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `path`: the library's `.so`.
    pub path: PathBuf,
    /// `call_timeout`: how long a client waits for a hook.
    pub call_timeout: Duration,
    /// `pool_size`: workers for hooks that may block.
    pub pool_size: usize,
    /// `failed_action`.
    pub failed_action: FailedAction,
    /// `notify_queue_size`: notifications that may wait for the workers.
    pub queue_size: usize,
    /// `overflow`: which notification a full queue drops.
    pub overflow: Overflow,
    /// The EMQX version the plugin runs in, e.g. `"4.2.14"`.
    pub emqx_version: String,
    /// User-defined `exhook.drivers.rust.init.<key> = <value>` settings.
    pub args: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: PathBuf::new(),
            call_timeout: Duration::from_secs(5),
            pool_size: 8,
            failed_action: FailedAction::Ignore,
            queue_size: 10_000,
            overflow: Overflow::DropNewest,
            emqx_version: String::new(),
            args: BTreeMap::new(),
        }
    }
}

impl Config {
    /// A user-defined setting.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.args.get(key).map(String::as_str)
    }

    /// A user-defined setting parsed into `T`; a clear error when absent or malformed.
    pub fn parse<T: std::str::FromStr>(&self, key: &str) -> Result<T, InitError>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self.get(key).ok_or_else(|| {
            InitError::new(format!("missing setting exhook.drivers.rust.init.{key}"))
        })?;
        raw.parse().map_err(|e| {
            InitError::new(format!(
                "bad setting exhook.drivers.rust.init.{key} = {raw:?}: {e}"
            ))
        })
    }

    /// The EMQX major.minor version, e.g. `(4, 2)`, when known.
    pub fn emqx_minor_version(&self) -> Option<(u32, u32)> {
        let mut parts = self.emqx_version.split('.');
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    }
}

/// Why a hook library could not start; the plugin logs it and does not register hooks.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub struct InitError(pub String);

impl InitError {
    /// An error with a message.
    pub fn new(msg: impl Into<String>) -> Self {
        InitError(msg.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_settings() {
        let mut c = Config::default();
        c.args.insert("db".into(), "/tmp/x.db".into());
        c.args.insert("n".into(), "12".into());
        assert_eq!(c.get("db"), Some("/tmp/x.db"));
        assert_eq!(c.parse::<u32>("n").unwrap(), 12);
        assert!(c.parse::<u32>("db").unwrap_err().0.contains("init.db"));
        assert!(c.parse::<u32>("none").unwrap_err().0.contains("missing"));
        c.emqx_version = "4.3.22".into();
        assert_eq!(c.emqx_minor_version(), Some((4, 3)));
    }
}
