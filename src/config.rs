//! The driver configuration handed to [`Hooks::init`](crate::Hooks::init).
//!
//! Every value comes from the plugin's `exhook.drivers.rust.*` settings
//! (`etc/plugins/emqx_rust_hook.conf`); each accessor is named after its key. The
//! defaults are the plugin's (`erlang/include/emqx_rust_hook.hrl`): the SDK has none of
//! its own, a value the driver does not send is an error at start.
//!
//! **Secrets.** A user setting `init.<key>` whose key contains `password`, `passwd`,
//! `secret`, `token`, `key` or `credential` (any case: `init.db_password`,
//! `init.api_key`, `init.auth_token`) is a secret: `Debug` prints `<redacted>` for
//! its value and [`Config::parse`] errors do not show it. See [`is_secret_key`].

use crate::hookpoint::HookPoint;
use crate::spec::Mode;
pub use crate::workers::Overflow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
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

/// The parts of a key that make an `init.<key>` setting a secret.
const SECRET_MARKERS: [&str; 6] = ["password", "passwd", "secret", "token", "key", "credential"];

/// Whether `init.<key>` holds a secret (its value is never printed by the SDK): the key
/// contains `password`, `passwd`, `secret`, `token`, `key` or `credential`, in any case.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_MARKERS.iter().any(|m| key.contains(m))
}

/// The plugin's `exhook.drivers.rust.*` settings. Built by the SDK from what the plugin
/// sends; read it through the accessors, each named after its conf key.
///
/// ```no_run
/// use emqx_rust_hook::prelude::*;
/// use std::time::Duration;
///
/// struct Limits { max_per_client: u32, greeting: String, db_password: String }
///
/// #[emqx_rust_hook::export]
/// impl Hooks for Limits {
///     fn init(config: &Config) -> Result<Self, InitError> {
///         // `init.max_per_client = 10`; a clear error when missing or not a number.
///         let max_per_client = config.parse("max_per_client")?;
///         if config.call_timeout() < Duration::from_millis(100) {
///             return Err(InitError::new("call_timeout must be at least 100ms"));
///         }
///         Ok(Limits {
///             max_per_client,
///             greeting: config.get("greeting").unwrap_or("hello").to_string(),
///             // A secret (see `is_secret_key`): `{config:?}` shows it as <redacted>.
///             db_password: config.get("db_password").unwrap_or_default().to_string(),
///         })
///     }
/// }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub(crate) path: PathBuf,
    pub(crate) call_timeout: Duration,
    pub(crate) hook_priority: i64,
    pub(crate) pool_size: usize,
    pub(crate) pool_max_size: usize,
    pub(crate) async_max_in_flight: usize,
    pub(crate) failed_action: FailedAction,
    pub(crate) notify_queue_size: usize,
    pub(crate) overflow: Overflow,
    pub(crate) modes: BTreeMap<HookPoint, Mode>,
    pub(crate) emqx_version: String,
    pub(crate) init: BTreeMap<String, String>,
}

impl Config {
    /// `path`: the library's `.so`, as the plugin resolved it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `call_timeout`: how long a client waits for a pool-mode hook.
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// `hook_priority`: the priority of every callback the plugin registers.
    pub fn hook_priority(&self) -> i64 {
        self.hook_priority
    }

    /// `pool_size`: worker threads per pool-mode hook, and notification shards.
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// `pool_max_size`: the most worker threads a pool-mode hook's pool grows to when
    /// all of its `pool_size` workers are held by slow calls (it shrinks back when idle).
    pub fn pool_max_size(&self) -> usize {
        self.pool_max_size
    }

    /// `async_max_in_flight`: the most calls of one `async fn` hook pending at a time;
    /// past it, a call fails at once with `overload`.
    pub fn async_max_in_flight(&self) -> usize {
        self.async_max_in_flight
    }

    /// `failed_action`: the driver-wide failure policy (`failed_action.<hook>` overrides
    /// it per hook in the plugin).
    pub fn failed_action(&self) -> FailedAction {
        self.failed_action
    }

    /// `notify_queue_size`: notifications that may wait for the workers.
    pub fn notify_queue_size(&self) -> usize {
        self.notify_queue_size
    }

    /// `overflow`: which notification a full queue drops.
    pub fn overflow(&self) -> Overflow {
        self.overflow
    }

    /// `mode.<hook>`: the execution mode the operator set for `hook`, if any (it takes
    /// precedence over `#[hook(auto | inline | pool | queue)]`).
    pub fn mode(&self, hook: HookPoint) -> Option<Mode> {
        self.modes.get(&hook).copied()
    }

    /// The EMQX version the plugin runs in, e.g. `"4.2.14"` (empty when unknown).
    pub fn emqx_version(&self) -> &str {
        &self.emqx_version
    }

    /// The EMQX major.minor version, e.g. `(4, 2)`, when known.
    pub fn emqx_minor_version(&self) -> Option<(u32, u32)> {
        let mut parts = self.emqx_version.split('.');
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    }

    /// `init.<key>`: a user-defined setting.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.init.get(key).map(String::as_str)
    }

    /// `init.<key>` parsed into `T`; a clear error when absent or malformed (which does
    /// not show the value, nor the parser's message, of a secret key).
    pub fn parse<T: std::str::FromStr>(&self, key: &str) -> Result<T, InitError>
    where
        T::Err: fmt::Display,
    {
        let raw = self.get(key).ok_or_else(|| {
            InitError::new(format!("missing setting exhook.drivers.rust.init.{key}"))
        })?;
        raw.parse().map_err(|e| {
            if is_secret_key(key) {
                InitError::new(format!(
                    "bad setting exhook.drivers.rust.init.{key} (a secret: its value is not shown)"
                ))
            } else {
                InitError::new(format!(
                    "bad setting exhook.drivers.rust.init.{key} = {raw:?}: {e}"
                ))
            }
        })
    }

    /// The keys of the `init.<key>` settings, sorted.
    pub fn init_keys(&self) -> impl Iterator<Item = &str> {
        self.init.keys().map(String::as_str)
    }
}

/// Prints every setting, with the values of secret `init.<key>` settings redacted.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Init<'a>(&'a BTreeMap<String, String>);
        impl fmt::Debug for Init<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut m = f.debug_map();
                for (k, v) in self.0 {
                    if is_secret_key(k) {
                        m.entry(k, &format_args!("<redacted>"));
                    } else {
                        m.entry(k, v);
                    }
                }
                m.finish()
            }
        }
        f.debug_struct("Config")
            .field("path", &self.path)
            .field("call_timeout", &self.call_timeout)
            .field("hook_priority", &self.hook_priority)
            .field("pool_size", &self.pool_size)
            .field("pool_max_size", &self.pool_max_size)
            .field("async_max_in_flight", &self.async_max_in_flight)
            .field("failed_action", &self.failed_action)
            .field("notify_queue_size", &self.notify_queue_size)
            .field("overflow", &self.overflow)
            .field("mode", &self.modes)
            .field("emqx_version", &self.emqx_version)
            .field("init", &Init(&self.init))
            .finish()
    }
}

/// Why a hook library could not start; the plugin logs it and does not register hooks.
///
/// Any error converts into it, so `?` works in [`Hooks::init`](crate::Hooks::init):
/// `let port: u16 = text.parse()?;`, `let db = Db::open(path)?;`. (It is not itself a
/// `std::error::Error`, which is what lets it convert from every error.)
pub struct InitError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl InitError {
    /// An error with a message.
    pub fn new(msg: impl Into<String>) -> Self {
        InitError(msg.into().into())
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for InitError {
    fn from(e: E) -> Self {
        InitError(Box::new(e))
    }
}

/// The message, followed by the error's sources: `opening db: permission denied`.
impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

impl fmt::Debug for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A configuration as the plugin's defaults would give it.
    pub(crate) fn config() -> Config {
        Config {
            path: "/tmp/libx.so".into(),
            call_timeout: Duration::from_secs(5),
            hook_priority: 0,
            pool_size: 8,
            pool_max_size: 256,
            async_max_in_flight: 10_000,
            failed_action: FailedAction::Ignore,
            notify_queue_size: 10_000,
            overflow: Overflow::DropNewest,
            modes: BTreeMap::new(),
            emqx_version: String::new(),
            init: BTreeMap::new(),
        }
    }

    #[test]
    fn parse_settings() {
        let mut c = config();
        c.init.insert("db".into(), "/tmp/x.db".into());
        c.init.insert("n".into(), "12".into());
        assert_eq!(c.get("db"), Some("/tmp/x.db"));
        assert_eq!(c.parse::<u32>("n").unwrap(), 12);
        let bad = c.parse::<u32>("db").unwrap_err().to_string();
        assert!(bad.contains("init.db = \"/tmp/x.db\""), "{bad}");
        assert!(c
            .parse::<u32>("none")
            .unwrap_err()
            .to_string()
            .contains("missing"));
        c.emqx_version = "4.3.22".into();
        assert_eq!(c.emqx_minor_version(), Some((4, 3)));
        assert_eq!(c.init_keys().collect::<Vec<_>>(), ["db", "n"]);
    }

    #[test]
    fn secrets_are_not_printed() {
        for key in [
            "db_password",
            "API_KEY",
            "auth_token",
            "client_secret",
            "passwd",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in ["db_url", "greeting", "pool"] {
            assert!(!is_secret_key(key), "{key}");
        }
        let mut c = config();
        c.init.insert("db_password".into(), "hunter2".into());
        c.init.insert("api_key".into(), "abc123".into());
        c.init.insert("greeting".into(), "hello".into());
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("abc123"),
            "{debug}"
        );
        assert!(debug.contains("\"db_password\": <redacted>"), "{debug}");
        assert!(debug.contains("\"greeting\": \"hello\""), "{debug}");
        // A parse error names the key, never the secret value.
        let err = c.parse::<u32>("db_password").unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains("init.db_password"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("opening the database")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn any_error_converts_with_question_mark() {
        fn init(port: &str) -> Result<u16, InitError> {
            Ok(port.parse::<u16>()?)
        }
        assert_eq!(init("1883").unwrap(), 1883);
        assert!(init("x").unwrap_err().to_string().contains("invalid digit"));
        fn open() -> Result<(), InitError> {
            Err(Outer(std::io::Error::other("permission denied")))?
        }
        assert_eq!(
            open().unwrap_err().to_string(),
            "opening the database: permission denied"
        );
        assert_eq!(InitError::new("plain").to_string(), "plain");
    }
}
