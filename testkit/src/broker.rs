//! A real EMQX broker started for the tests: a private copy of `EMQX_HOME` in a temp
//! dir, its own node name and ports, the plugin installed the way the README tells
//! users, and always stopped (on drop, on panic, and by a watchdog if this process dies).

use serde_json::Value;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long `bin/emqx start` plus the start of EMQX's applications may take.
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);

static SEQ: AtomicU32 = AtomicU32::new(0);

/// The SDK's repository root (this crate sits in `testkit/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

/// `target/release/lib<name>.so` of this workspace.
pub fn native_lib(name: &str) -> PathBuf {
    let p = repo_root().join(format!("target/release/lib{name}.so"));
    assert!(
        p.is_file(),
        "{} is missing: run `make plugin` first",
        p.display()
    );
    p
}

/// A free TCP port on 127.0.0.1 (the OS picks it; released before the broker binds it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// The EMQX release under test, read from `EMQX_HOME` (`releases/<vsn>/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// EMQX 4.2 (external plugins in `plugins/`).
    V4_2,
    /// EMQX 4.4 (external plugins in `etc/plugins/`, the zip release's
    /// `plugins.expand_plugins_dir`; `data/loaded_plugins` records load and unload).
    V4_4,
}

impl Version {
    /// The version of the release at `home`: 4.4 when `releases/` has a `4.4.*` dir,
    /// else 4.2 (4.3 is not supported).
    pub fn of_home(home: &Path) -> Version {
        let v44 = fs::read_dir(home.join("releases"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .any(|e| e.file_name().to_string_lossy().starts_with("4.4."))
            })
            .unwrap_or(false);
        if v44 {
            Version::V4_4
        } else {
            Version::V4_2
        }
    }

    /// The version of `EMQX_HOME`.
    pub fn current() -> Version {
        Version::of_home(Path::new(&std::env::var("EMQX_HOME").expect("EMQX_HOME")))
    }

    /// Where the README installs the plugin dir, relative to the release root.
    pub fn plugin_dir(self) -> &'static str {
        match self {
            Version::V4_2 => "plugins/emqx_rust_hook",
            Version::V4_4 => "etc/plugins/emqx_rust_hook",
        }
    }

    /// `4.2` or `4.4`.
    pub fn name(self) -> &'static str {
        match self {
            Version::V4_2 => "4.2",
            Version::V4_4 => "4.4",
        }
    }
}

/// Where the plugin installed into the broker comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plugin {
    /// `make plugin`'s directory, `_build/plugin/emqx_rust_hook/` of this repository
    /// (what the broker suite installs, as the README tells users).
    MakePlugin,
    /// Compiled from the SDK's `erlang/` sources with `erlc` into the broker's
    /// `plugins/` (what a hook crate's scenario tests install: no `make` needed).
    FromSource,
}

/// What to install and how to start.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The EMQX release to copy; `None`: `$EMQX_HOME`.
    pub home: Option<PathBuf>,
    /// The plugin to install.
    pub plugin: Plugin,
    /// Library put into the plugin's `priv/` and named by `exhook.drivers.rust.path`;
    /// `None`: the plugin as `make plugin` built it (the example library).
    pub lib: Option<PathBuf>,
    /// Extra lines for `etc/plugins/emqx_rust_hook.conf`.
    pub conf: Vec<String>,
    /// Lines appended to `etc/emqx.conf` (the private copy's).
    pub emqx_conf: Vec<String>,
    /// Whether to run `emqx_ctl plugins load emqx_rust_hook` after start.
    pub load: bool,
    /// Gen_rpc port (needed for clustering).
    pub rpc: bool,
    /// A second MQTT listener whose zone `mp` has `mountpoint = mp/`.
    pub mountpoint_listener: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            home: None,
            plugin: Plugin::MakePlugin,
            lib: None,
            conf: Vec::new(),
            emqx_conf: Vec::new(),
            load: true,
            rpc: false,
            mountpoint_listener: false,
        }
    }
}

/// Output of a command run against the broker.
#[derive(Debug)]
pub struct Out {
    /// Whether it exited 0.
    pub ok: bool,
    /// stdout and stderr, in that order.
    pub text: String,
}

/// A running broker.
pub struct Broker {
    /// The private copy of EMQX_HOME.
    pub root: PathBuf,
    /// `name@127.0.0.1`.
    pub node: String,
    /// MQTT port of `listener.tcp.external`.
    pub mqtt_port: u16,
    /// MQTT port of the listener with the mountpoint `mp/` (see [`Setup`]).
    pub mp_port: Option<u16>,
    /// The EMQX release (from `EMQX_HOME`).
    pub version: Version,
    dist_port: u16,
    rpc_port: Option<u16>,
    running: bool,
    watchdog: Option<std::process::Child>,
}

fn copy_dir(from: &Path, to: &Path) {
    let st = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(st.success(), "cp -a {} {}", from.display(), to.display());
}

impl Broker {
    /// Copies `EMQX_HOME` (bin, etc, lib, data, plugins, releases) into a new temp dir,
    /// installs the plugin per `setup`, starts the node and, if asked, loads the plugin.
    pub fn start(setup: &Setup) -> Broker {
        let home = match &setup.home {
            Some(h) => h.clone(),
            None => PathBuf::from(std::env::var("EMQX_HOME").expect("EMQX_HOME")),
        };
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let root = std::env::temp_dir().join(format!("emqx-rust-hook-broker-{pid}-{n}"));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        // EMQX 4.4 has no plugins/ dir (its plugins go into etc/plugins/).
        for d in ["bin", "etc", "lib", "data", "plugins", "releases"] {
            if home.join(d).exists() {
                copy_dir(&home.join(d), &root.join(d));
            }
        }
        fs::create_dir_all(root.join("log")).unwrap();
        let mut b = Broker {
            root,
            node: format!("rusthook{pid}x{n}@127.0.0.1"),
            mqtt_port: free_port(),
            dist_port: free_port(),
            rpc_port: setup.rpc.then(free_port),
            mp_port: setup.mountpoint_listener.then(free_port),
            version: Version::of_home(&home),
            running: false,
            watchdog: None,
        };
        b.install(setup, &home);
        let mut emqx_conf = setup.emqx_conf.clone();
        if let Some(p) = b.mp_port {
            emqx_conf.extend([
                "zone.mp.mountpoint = mp/".to_string(),
                "zone.mp.enable_acl = on".to_string(),
                format!("listener.tcp.mp = 127.0.0.1:{p}"),
                "listener.tcp.mp.zone = mp".to_string(),
                "listener.tcp.mp.acceptors = 2".to_string(),
            ]);
        }
        if !emqx_conf.is_empty() {
            let conf = b.root.join("etc/emqx.conf");
            let mut s = fs::read_to_string(&conf).unwrap();
            s.push('\n');
            for l in &emqx_conf {
                s.push_str(l);
                s.push('\n');
            }
            fs::write(conf, s).unwrap();
        }
        b.boot();
        if setup.load {
            let out = b.ctl(&["plugins", "load", "emqx_rust_hook"]);
            assert!(
                out.text.contains("loaded successfully"),
                "plugins load: {}\n{}",
                out.text,
                b.log_tail(30)
            );
        }
        b
    }

    /// Installs the plugin as the README says: `make plugin`'s directory (or the same
    /// compiled from source) into `plugins/emqx_rust_hook/` (4.2) or
    /// `etc/plugins/emqx_rust_hook/` (4.4), its conf into `etc/plugins/`, with
    /// `setup.lib` in priv/.
    fn install(&self, setup: &Setup, home: &Path) {
        let dir = self.plugin_dir();
        match setup.plugin {
            Plugin::MakePlugin => {
                let built = repo_root().join("_build/plugin/emqx_rust_hook");
                assert!(
                    built.join("ebin/emqx_rust_hook.app").is_file(),
                    "{} is missing: run `make plugin` first",
                    built.display()
                );
                copy_dir(&built, &dir);
            }
            Plugin::FromSource => crate::plugin::build(&repo_root(), home, &dir),
        }
        if let Some(lib) = &setup.lib {
            fs::copy(lib, dir.join("priv").join(lib.file_name().unwrap())).unwrap();
        }
        self.write_conf(setup.lib.as_deref(), &setup.conf);
    }

    /// The installed plugin dir (see [`Version::plugin_dir`]).
    pub fn plugin_dir(&self) -> PathBuf {
        self.root.join(self.version.plugin_dir())
    }

    /// Rewrites `etc/plugins/emqx_rust_hook.conf` from the shipped conf: `path` set to
    /// `lib`'s file name (in priv/) or an absolute path, plus `extra` lines.
    pub fn write_conf(&self, lib: Option<&Path>, extra: &[String]) {
        let shipped = self.plugin_dir().join("etc/emqx_rust_hook.conf");
        let mut conf = fs::read_to_string(shipped).unwrap();
        if let Some(lib) = lib {
            let name = if lib.is_absolute() && !lib.exists() {
                lib.display().to_string()
            } else {
                lib.file_name().unwrap().to_string_lossy().into_owned()
            };
            conf = conf.replace(
                "exhook.drivers.rust.path = libexample_hook.so",
                &format!("exhook.drivers.rust.path = {name}"),
            );
        }
        conf.push('\n');
        for l in extra {
            conf.push_str(l);
            conf.push('\n');
        }
        fs::write(self.root.join("etc/plugins/emqx_rust_hook.conf"), conf).unwrap();
    }

    fn env(&self, cmd: &mut Command) {
        cmd.current_dir(&self.root)
            .env("EMQX_NODE_NAME", &self.node)
            .env("EMQX_MQTT_PORT", self.mqtt_port.to_string())
            .env("EMQX_DIST_PORT", self.dist_port.to_string())
            .env_remove("EMQX_DATA_DIR")
            .env_remove("EMQX_LOG_DIR")
            .env_remove("EMQX_CLUSTER_SEEDS");
        match self.rpc_port {
            Some(p) => cmd.env("EMQX_RPC_PORT", p.to_string()),
            None => cmd.env_remove("EMQX_RPC_PORT"),
        };
    }

    fn run(&self, args: &[&str]) -> Out {
        let mut cmd = Command::new(self.root.join("bin/emqx"));
        cmd.args(args).stdin(Stdio::null());
        self.env(&mut cmd);
        let o = cmd.output().expect("bin/emqx");
        Out {
            ok: o.status.success(),
            text: format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        }
    }

    fn boot(&mut self) {
        let out = self.run(&["start"]);
        assert!(out.ok, "bin/emqx start failed:\n{}", out.text);
        self.running = true;
        // If this process dies without stopping the broker (SIGKILL, abort), the
        // watchdog stops it.
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; exec {}/bin/emqx stop",
            std::process::id(),
            self.root.display()
        );
        // In its own session, so that a kill of this process's group spares it.
        let mut cmd = Command::new("setsid");
        cmd.arg("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.env(&mut cmd);
        self.watchdog = cmd.spawn().ok();
        self.await_running();
        self.load_probe_module();
    }

    /// Waits until `emqx_ctl status` answers that the node is started (and, on 4.2, that
    /// the `emqx` application runs): `bin/emqx start` can return while EMQX's own
    /// applications are still starting, and an `emqx_ctl` command sent then fails (its
    /// command table does not exist yet).
    fn await_running(&self) {
        let t0 = Instant::now();
        loop {
            let out = self.ctl(&["status"]);
            if out.ok && out.text.contains(" is started") && !out.text.contains("not running") {
                return;
            }
            assert!(
                t0.elapsed() < BOOT_TIMEOUT,
                "{} not running {:?} after bin/emqx start: {}",
                self.node,
                BOOT_TIMEOUT,
                out.text
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the node (`bin/emqx stop`).
    pub fn stop(&mut self) {
        if self.running {
            let out = self.run(&["stop"]);
            if !out.ok {
                eprintln!("bin/emqx stop for {}: {}", self.node, out.text);
            }
            self.running = false;
        }
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
    }

    /// Starts the node again after [`stop`](Self::stop) (same dirs, ports and name).
    pub fn restart(&mut self) {
        self.stop();
        self.boot();
    }

    /// `bin/emqx_ctl ARGS...`.
    pub fn ctl(&self, args: &[&str]) -> Out {
        let mut cmd = Command::new(self.root.join("bin/emqx_ctl"));
        cmd.args(args).stdin(Stdio::null());
        self.env(&mut cmd);
        let o = cmd.output().expect("bin/emqx_ctl");
        Out {
            ok: o.status.success(),
            text: format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        }
    }

    /// `bin/emqx eval EXPR`: the value as `~p` prints it. Panics on a badrpc.
    pub fn eval(&self, expr: &str) -> String {
        let out = self.run(&["eval", expr]);
        assert!(out.ok, "eval {expr}: {}", out.text);
        out.text.trim().to_string()
    }

    fn load_probe_module(&self) {
        let src = self.root.join("rust_hook_broker_probe.erl");
        fs::write(&src, include_str!("../probe/rust_hook_broker_probe.erl")).unwrap();
        self.load_erl_module(&src);
    }

    /// Compiles the Erlang source `src` on the node and loads the module there.
    pub fn load_erl_module(&self, src: &Path) {
        let name = src.file_name().unwrap().to_string_lossy();
        let v = self.eval(&format!(
            "{{ok, M, B}} = compile:file(\"{}\", [binary, report]), \
             {{module, M}} = code:load_binary(M, \"{name}\", B), ok.",
            src.display()
        ));
        assert_eq!(v, "ok");
    }

    /// (Re)starts the `rust_hook_probe` process on the node (drops earlier reports).
    pub fn probe_start(&self) {
        assert_eq!(self.eval("rust_hook_broker_probe:start()."), "ok");
    }

    /// The reports received by `rust_hook_probe` since the last call, oldest first.
    pub fn probe_take(&self) -> Vec<Value> {
        let file = self.root.join("probe.json");
        let _ = fs::remove_file(&file);
        self.eval(&format!(
            "rust_hook_broker_probe:dump(\"{}\").",
            file.display()
        ));
        let text = fs::read_to_string(&file).expect("probe dump");
        match serde_json::from_str(&text).expect("probe JSON") {
            Value::Array(v) => v,
            other => panic!("probe dump is not an array: {other}"),
        }
    }

    /// Reports, collected until `done(all reports so far)` holds or 10 s pass.
    pub fn probe_until(&self, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let t0 = Instant::now();
        let mut all = Vec::new();
        loop {
            all.extend(self.probe_take());
            if done(&all) || t0.elapsed() > Duration::from_secs(10) {
                return all;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// For each of the 19 hookpoints, the callbacks of `emqx_rust_hook_handler`
    /// registered with EMQX (`emqx_hooks:lookup/1`).
    pub fn hook_counts(&self) -> Vec<(String, u32)> {
        // `emqx:unhook/2` is a cast: let emqx_hooks handle it first.
        let text =
            self.eval("sys:get_state(emqx_hooks), rust_hook_broker_probe:hook_counts(emqx_rust_hook_handler).");
        text.trim_matches(|c| c == '[' || c == ']')
            .split("},")
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                let s = s.trim().trim_matches(|c| c == '{' || c == '}');
                let (h, n) = s.rsplit_once(',').expect("{hook, n}");
                (
                    h.trim().trim_matches('\'').to_string(),
                    n.trim().parse().expect("count"),
                )
            })
            .collect()
    }

    /// Runs `emqx_ctl` commands in one go on the node, as `bin/emqx_ctl` does
    /// (`emqx_ctl:run_command/1`), and after each one counts the plugin's callbacks
    /// registered with EMQX. Returns what the commands printed and the counts.
    pub fn ctl_steps(&self, cmds: &[&[&str]]) -> (String, Vec<u32>) {
        let list: Vec<String> = cmds
            .iter()
            .map(|c| {
                let args: Vec<String> = c.iter().map(|a| format!("\"{a}\"")).collect();
                format!("[{}]", args.join(","))
            })
            .collect();
        let out = self.eval(&format!(
            "rust_hook_broker_probe:ctl_steps([{}]).",
            list.join(",")
        ));
        let (text, last) = out.trim_end().rsplit_once('\n').unwrap_or(("", out.trim()));
        let counts = last
            .trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .map(|n| n.trim().parse().expect("count"))
            .collect();
        (text.to_string(), counts)
    }

    /// Total callbacks of the plugin registered with EMQX.
    pub fn hooks_registered(&self) -> u32 {
        self.hook_counts().iter().map(|(_, n)| n).sum()
    }

    /// The broker's log (`log/emqx.log.*`), all files, in order.
    pub fn log(&self) -> String {
        let mut files: Vec<PathBuf> = fs::read_dir(self.root.join("log"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("emqx.log.") && n[9..].chars().all(|c| c.is_ascii_digit())
        });
        files.sort_by_key(|p| {
            p.file_name().unwrap().to_string_lossy()[9..]
                .parse::<u32>()
                .unwrap_or(0)
        });
        files
            .iter()
            .map(|p| fs::read_to_string(p).unwrap_or_default())
            .collect()
    }

    /// The last `n` lines of the log, for failure messages.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Waits up to 10 s for a log line containing every one of `parts`; returns it.
    pub fn await_log_line(&self, parts: &[&str]) -> Option<String> {
        let t0 = Instant::now();
        loop {
            if let Some(l) = self
                .log()
                .lines()
                .find(|l| parts.iter().all(|p| l.contains(p)))
            {
                return Some(l.to_string());
            }
            if t0.elapsed() > Duration::from_secs(10) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Whether the node answers `bin/emqx ping`.
    pub fn ping(&self) -> bool {
        self.run(&["ping"]).text.contains("pong")
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
        if std::env::var_os("BROKER_KEEP").is_none() && !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}
