//! The builder of [`Config`], for calling `Hooks::init` in a test.

use crate::config::{Config, FailedAction};
use crate::hookpoint::HookPoint;
use crate::spec::Mode;
use crate::workers::Overflow;
use std::collections::BTreeMap;
use std::time::Duration;

impl Config {
    /// A builder of a configuration (module [`crate::testing`]) with the plugin's
    /// defaults (`call_timeout = 5s`, `pool_size = 8`, `failed_action = ignore`...: those
    /// of `erlang/include/emqx_rust_hook.hrl`, which a test compares), in
    /// EMQX 4.2.14, for the library `libmy_hooks.so`. Add your own `init.<key>` settings
    /// with [`set`](ConfigBuilder::set).
    ///
    /// ```
    /// use emqx_rust_hook::prelude::*;
    ///
    /// let config = Config::builder().set("prefix", "sensors/").build();
    /// assert_eq!(config.get("prefix"), Some("sensors/"));
    /// assert_eq!(config.pool_size(), 8);
    /// ```
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            config: Config {
                path: "/opt/emqx/plugins/emqx_rust_hook/priv/libmy_hooks.so".into(),
                call_timeout: Duration::from_secs(5),
                hook_priority: 0,
                pool_size: 8,
                pool_max_size: 256,
                async_max_in_flight: 10_000,
                failed_action: FailedAction::Ignore,
                notify_queue_size: 10_000,
                overflow: Overflow::DropNewest,
                modes: BTreeMap::new(),
                emqx_version: "4.2.14".into(),
                init: BTreeMap::new(),
            },
        }
    }
}

/// Builds a [`Config`] test value; start from [`Config::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// `init.<key> = value`: a setting of yours, read with `config.get(key)`.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.config.init.insert(key.to_string(), value.to_string());
        self
    }

    /// `path`: the library's `.so`.
    pub fn path(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config.path = path.into();
        self
    }

    /// `call_timeout`.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.config.call_timeout = timeout;
        self
    }

    /// `pool_size`.
    pub fn pool_size(mut self, n: usize) -> Self {
        self.config.pool_size = n;
        self
    }

    /// `pool_max_size`.
    pub fn pool_max_size(mut self, n: usize) -> Self {
        self.config.pool_max_size = n;
        self
    }

    /// `async_max_in_flight`.
    pub fn async_max_in_flight(mut self, n: usize) -> Self {
        self.config.async_max_in_flight = n;
        self
    }

    /// `failed_action`.
    pub fn failed_action(mut self, action: FailedAction) -> Self {
        self.config.failed_action = action;
        self
    }

    /// `mode.<hook>`.
    pub fn mode(mut self, hook: HookPoint, mode: Mode) -> Self {
        self.config.modes.insert(hook, mode);
        self
    }

    /// The EMQX version the plugin reports, e.g. `"4.4.19"`.
    pub fn emqx_version(mut self, version: &str) -> Self {
        self.config.emqx_version = version.to_string();
        self
    }

    /// The configuration.
    pub fn build(self) -> Config {
        self.config
    }
}
