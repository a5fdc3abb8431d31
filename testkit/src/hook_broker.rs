//! A real EMQX broker running the hook library of the crate under test: what a hook
//! crate's scenario tests (`tests/*.rs`) start.

use crate::broker::{Broker, Plugin, Setup};
use crate::mqtt::{self, Client, Opts};
use std::collections::BTreeMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The EMQX 4.2 release to run: `$EMQX_HOME`, else the EMQX 4.2.14 kit beside the SDK
/// checkout (`shared/emqx/build.sh`, built once into `~/.cache/emqx-rust-hook/`, as the
/// SDK's broker suite does). `Err` says what is missing.
pub fn emqx_home() -> Result<PathBuf, String> {
    let script = crate::broker::repo_root().join("tests/broker/emqx-home.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if out.status.success() {
        Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The `.so` cargo built for the library `crate_name` (a package name: `-` becomes `_`)
/// next to the running test binary: `target/<profile>/lib<name>.so`. `cargo test`
/// builds it with the tests when the crate's `crate-type` includes `cdylib`.
pub fn crate_library(crate_name: &str) -> PathBuf {
    let file = format!("lib{}.so", crate_name.replace('-', "_"));
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test>-<hash>
    let deps = exe.parent().expect("target/<profile>/deps");
    let candidates = [deps.join(&file), deps.join("..").join(&file)];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{file} not found next to {} (looked in {}): is `crate-type = [\"cdylib\", \
                 \"rlib\"]` in the crate's [lib] section?",
                exe.display(),
                deps.display()
            )
        })
}

/// How to start a [`HookBroker`]: the library, its settings, the broker's settings.
#[must_use]
pub struct HookBrokerBuilder {
    lib: PathBuf,
    conf: Vec<String>,
    emqx_conf: Vec<String>,
}

impl HookBrokerBuilder {
    /// `exhook.drivers.rust.init.<key> = <value>`: a setting `Hooks::init` reads with
    /// `config.get(key)`.
    pub fn init(mut self, key: &str, value: &str) -> Self {
        self.conf
            .push(format!("exhook.drivers.rust.init.{key} = {value}"));
        self
    }

    /// Any line of the plugin's conf, e.g. `exhook.drivers.rust.call_timeout = 1s`.
    pub fn plugin_conf(mut self, line: &str) -> Self {
        self.conf.push(line.to_string());
        self
    }

    /// A line appended to the broker's `etc/emqx.conf`, e.g. `allow_anonymous = false`.
    pub fn emqx_conf(mut self, line: &str) -> Self {
        self.emqx_conf.push(line.to_string());
        self
    }

    /// Starts the broker (a private copy of the release, on free ports) with the plugin
    /// compiled from the SDK's sources and this library installed, and loads the plugin.
    /// Panics, saying what is needed, when there is no EMQX release to run.
    pub fn start(self) -> HookBroker {
        let home = emqx_home().unwrap_or_else(|why| {
            panic!(
                "\n\nThis scenario test needs a real EMQX 4.2 broker, and there is none: \
                 {why}\n\
                 Set EMQX_HOME to an EMQX 4.2 release (the directory with bin/emqx), e.g.\n    \
                 EMQX_HOME=/opt/emqx cargo test\n\
                 or put the EMQX kit at shared/emqx/ beside the emqx-rust-hook checkout.\n\
                 To run only the unit tests and doctests meanwhile: cargo test --lib; cargo test --doc\n\n"
            )
        });
        let setup = Setup {
            home: Some(home),
            plugin: Plugin::FromSource,
            lib: Some(self.lib),
            conf: self.conf,
            emqx_conf: self.emqx_conf,
            ..Setup::default()
        };
        HookBroker {
            broker: Broker::start(&setup),
        }
    }
}

/// A real EMQX 4.2 broker with the `emqx_rust_hook` plugin running a hook library,
/// stopped when dropped. Real MQTT clients connect to it with [`connect`](Self::connect);
/// [`connack`](Self::connack) gives the CONNACK code of a login;
/// [`hook_calls`](Self::hook_calls) tells which hooks ran. The rest of [`Broker`] (its
/// log, `emqx_ctl`) is there through `Deref`.
///
/// ```no_run
/// use emqx_rust_hook_testkit::{HookBroker, Opts};
///
/// let broker = HookBroker::for_crate(env!("CARGO_PKG_NAME")).start();
/// assert_eq!(broker.connack(&Opts::new("c1").login("alice", "wrong")), 0x04);
/// let mut c = broker.connect(&Opts::new("c2").login("alice", "pw")).unwrap();
/// assert_eq!(c.subscribe("sensors/#", 1), 1);
/// c.disconnect();
/// assert!(broker.await_hook_calls("client.authenticate", 2) >= 2);
/// ```
pub struct HookBroker {
    broker: Broker,
}

impl HookBroker {
    /// A broker for the hook library of the package `crate_name` (pass
    /// `env!("CARGO_PKG_NAME")`), as `cargo test` built it.
    pub fn for_crate(crate_name: &str) -> HookBrokerBuilder {
        Self::for_library(crate_library(crate_name))
    }

    /// A broker for the hook library at `lib` (a `.so`).
    pub fn for_library(lib: impl AsRef<Path>) -> HookBrokerBuilder {
        HookBrokerBuilder {
            lib: lib.as_ref().to_path_buf(),
            conf: Vec::new(),
            emqx_conf: Vec::new(),
        }
    }

    /// Connects a real MQTT client (3.1.1, or 5 with [`Opts::v5`]). `Err` holds why the
    /// broker refused it (e.g. `BadUserNamePassword`) or the connection error.
    pub fn connect(&self, opts: &Opts) -> Result<Client, String> {
        mqtt::connect(self.broker.mqtt_port, opts)
    }

    /// The CONNACK return code the broker answers an MQTT 3.1.1 CONNECT with `opts`'s
    /// client id, clean-session flag, username and password: 0 accepted, 4 bad username
    /// or password, 5 not authorized... The connection is closed afterwards.
    pub fn connack(&self, opts: &Opts) -> u8 {
        let login = opts
            .username
            .as_deref()
            .map(|u| (u, opts.password.as_deref().unwrap_or("")));
        mqtt::raw_connect_login(self.broker.mqtt_port, &opts.id, opts.clean, login)
    }

    /// For each hook the library implements, how many times it was called so far (the
    /// `calls` counter of `emqx_ctl rust_hook stats`).
    pub fn hook_calls(&self) -> BTreeMap<String, u64> {
        let out = self.broker.ctl(&["rust_hook", "stats"]);
        out.text
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                let hook = words.next()?;
                let calls = words.find_map(|w| w.strip_prefix("calls="))?;
                Some((hook.to_string(), calls.parse().ok()?))
            })
            .collect()
    }

    /// Waits up to 10 s until `hook` was called at least `n` times (notifications run
    /// after the client went on); returns its count then.
    pub fn await_hook_calls(&self, hook: &str, n: u64) -> u64 {
        let t0 = Instant::now();
        loop {
            let calls = self.hook_calls().get(hook).copied().unwrap_or(0);
            if calls >= n || t0.elapsed() > Duration::from_secs(10) {
                return calls;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The hooks the plugin registered with EMQX for this library, by hookpoint name
    /// (from `emqx_ctl rust_hook status`).
    pub fn hooks(&self) -> Vec<String> {
        let out = self.broker.ctl(&["rust_hook", "status"]);
        out.text
            .lines()
            .filter(|l| l.contains(" mode="))
            .filter_map(|l| l.split_whitespace().next().map(String::from))
            .collect()
    }

    /// The underlying broker.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }
}

impl Deref for HookBroker {
    type Target = Broker;

    fn deref(&self) -> &Broker {
        &self.broker
    }
}
