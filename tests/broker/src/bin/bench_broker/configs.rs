//! The configurations `make bench-broker` compares, and how each is put on (and taken
//! off) the one running broker.

use crate::exhook::{Provider, Server};
use broker_tests::broker::{repo_root, Broker, Version};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The 19 hook methods, for `exhook.drivers.rust.mode.<hook>` overrides.
const FOLDS: [&str; 8] = [
    "client_connect",
    "client_connack",
    "client_authenticate",
    "client_check_acl",
    "client_subscribe",
    "client_unsubscribe",
    "message_publish",
    "message_delivered",
];
const NOTIFICATIONS: [&str; 11] = [
    "client_connected",
    "client_disconnected",
    "session_created",
    "session_subscribed",
    "session_unsubscribed",
    "session_resumed",
    "session_discarded",
    "session_takeovered",
    "session_terminated",
    "message_acked",
    "message_dropped",
];

/// What a configuration puts on the broker.
#[derive(Clone, Debug)]
pub enum Kind {
    /// Nothing: the broker's own hooks only.
    None,
    /// `bench/broker/rust_hook_bench_erl.erl`'s 19 hooks.
    Erlang,
    /// The plugin with `lib` and these extra conf lines.
    Rust { lib: PathBuf, conf: Vec<String> },
    /// The stock `emqx_extension_hook` with the Python SDK (EMQX 4.2).
    Python,
    /// EMQX 4.4's gRPC `emqx_exhook` with a HookProvider server on this port, whose
    /// OS process is `pid`.
    Exhook { port: u16, pid: u32 },
}

/// One configuration: a name for the tables, what it loads, or why it cannot run.
#[derive(Clone, Debug)]
pub struct Config {
    pub name: &'static str,
    pub what: &'static str,
    pub kind: Kind,
    /// Whether it authenticates and allows the bench's clients (all but `none` and
    /// `rust_publish_pool`; checked before measuring).
    pub decides: bool,
    /// `Some(reason)`: listed in the output as not available.
    pub unavailable: Option<String>,
}

fn modes(folds: &str, notifications: &str) -> Vec<String> {
    FOLDS
        .iter()
        .map(|h| format!("exhook.drivers.rust.mode.{h} = {folds}"))
        .chain(
            NOTIFICATIONS
                .iter()
                .map(|h| format!("exhook.drivers.rust.mode.{h} = {notifications}")),
        )
        .collect()
}

fn lib(path: &str) -> (PathBuf, Option<String>) {
    let p = repo_root().join(path);
    let why = (!p.is_file()).then(|| format!("{} is not built", p.display()));
    (p, why)
}

/// The async fixture library (all 19 hooks as `async fn`), when one is built:
/// `$BENCH_ASYNC_LIB`, else the first of the known names under target/release/.
fn async_lib() -> (PathBuf, Option<String>) {
    if let Some(p) = std::env::var_os("BENCH_ASYNC_LIB") {
        let p = PathBuf::from(p);
        let why = (!p.is_file()).then(|| format!("BENCH_ASYNC_LIB={} does not exist", p.display()));
        return (p, why);
    }
    let names = [
        "bench_async_hooks",
        "async_bench_hooks",
        "bench_hooks_async",
    ];
    for n in names {
        let p = repo_root().join(format!("target/release/lib{n}.so"));
        if p.is_file() {
            return (p, None);
        }
    }
    (
        PathBuf::new(),
        Some(format!(
            "no async fixture library (target/release/lib{{{}}}.so; or set BENCH_ASYNC_LIB): async hook methods are not in this build",
            names.join(",")
        )),
    )
}

/// With `$BENCH_ALT_LIB` (another build of the 19-hook library, e.g. with another build
/// profile, under another file name): `rust_inline_alt` and `rust_default_alt`, the same
/// configurations as `rust_inline` and `rust_default` with that file, so that two builds
/// are compared in one run.
fn alt_lib() -> Vec<Config> {
    let Some(p) = std::env::var_os("BENCH_ALT_LIB") else {
        return Vec::new();
    };
    let p = PathBuf::from(p);
    // The broker's plugin keeps each library under its file name (see `apply`).
    let why = if !p.is_file() {
        Some(format!("BENCH_ALT_LIB={} does not exist", p.display()))
    } else if p.file_name() == Some(std::ffi::OsStr::new("libbench_all_hooks.so")) {
        Some("BENCH_ALT_LIB needs a file name other than libbench_all_hooks.so".into())
    } else {
        None
    };
    vec![
        Config {
            name: "rust_inline_alt",
            what: "19 Rust hooks, all inline, $BENCH_ALT_LIB",
            kind: Kind::Rust {
                lib: p.clone(),
                conf: modes("inline", "inline"),
            },
            decides: true,
            unavailable: why.clone(),
        },
        Config {
            name: "rust_default_alt",
            what: "19 Rust hooks, default modes, $BENCH_ALT_LIB",
            kind: Kind::Rust {
                lib: p,
                conf: Vec::new(),
            },
            decides: true,
            unavailable: why,
        },
    ]
}

/// An `exhook_*` configuration for `provider`'s server (or why it did not start).
fn exhook(
    name: &'static str,
    what: &'static str,
    provider: Provider,
    servers: &[(Provider, Result<Server, String>)],
) -> Config {
    let server = servers.iter().find(|(p, _)| *p == provider).map(|(_, s)| s);
    let (kind, unavailable) = match server {
        Some(Ok(s)) => (
            Kind::Exhook {
                port: s.port,
                pid: s.pid(),
            },
            None,
        ),
        Some(Err(why)) => (Kind::None, Some(why.clone())),
        None => (Kind::None, Some("no HookProvider server".into())),
    };
    Config {
        name,
        what,
        kind,
        decides: true,
        unavailable,
    }
}

/// Every configuration for a broker of version `v`, in the order of the first round:
/// the Python SDK through `emqx_extension_hook` on 4.2 only, `emqx_exhook` with the
/// `servers` on 4.4 only.
pub fn all(
    v: Version,
    python: &Result<PathBuf, String>,
    servers: &[(Provider, Result<Server, String>)],
) -> Vec<Config> {
    let (all19, why19) = lib("target/release/libbench_all_hooks.so");
    let (publ, why_pub) = lib("target/release/examples/libbench_publish_pool.so");
    let (publ_lib, why_pub1) = (publ.clone(), why_pub.clone());
    let (asy, why_async) = async_lib();
    let mut cfgs = vec![
        Config {
            name: "none",
            what: "no hooks",
            kind: Kind::None,
            decides: false,
            unavailable: None,
        },
        Config {
            name: "erlang",
            what: "the 19 hooks in Erlang (emqx_hooks:add)",
            kind: Kind::Erlang,
            decides: true,
            unavailable: None,
        },
        Config {
            name: "rust_inline",
            what: "19 Rust hooks, all inline",
            kind: Kind::Rust {
                lib: all19.clone(),
                conf: modes("inline", "inline"),
            },
            decides: true,
            unavailable: why19.clone(),
        },
        Config {
            name: "rust_default",
            what: "19 Rust hooks, default modes",
            kind: Kind::Rust {
                lib: all19.clone(),
                conf: Vec::new(),
            },
            decides: true,
            unavailable: why19.clone(),
        },
        Config {
            name: "rust_pool_queue",
            what: "19 Rust hooks, pool for hooks that decide, queue for notifications",
            kind: Kind::Rust {
                lib: all19.clone(),
                conf: modes("pool", "queue"),
            },
            decides: true,
            unavailable: why19.clone(),
        },
        Config {
            name: "rust_inline_queue",
            what: "19 Rust hooks, inline for hooks that decide, queue for notifications",
            kind: Kind::Rust {
                lib: all19,
                conf: modes("inline", "queue"),
            },
            decides: true,
            unavailable: why19,
        },
        Config {
            name: "rust_publish_pool",
            what: "message.publish alone, on the pool",
            kind: Kind::Rust {
                lib: publ,
                conf: Vec::new(),
            },
            decides: false,
            unavailable: why_pub,
        },
        Config {
            name: "rust_publish_pool1",
            what: "message.publish alone, on the pool, pool_size 1",
            kind: Kind::Rust {
                lib: publ_lib,
                conf: vec!["exhook.drivers.rust.pool_size = 1".into()],
            },
            decides: false,
            unavailable: why_pub1,
        },
        Config {
            name: "rust_async",
            what: "19 Rust hooks as async fn, default modes",
            kind: Kind::Rust {
                lib: asy,
                conf: Vec::new(),
            },
            decides: true,
            unavailable: why_async,
        },
    ];
    cfgs.extend(alt_lib());
    match v {
        Version::V4_2 => cfgs.push(Config {
            name: "python",
            what: "emqx_extension_hook 4.2.13 + Python SDK (client.* and session.* hooks only)",
            kind: Kind::Python,
            decides: true,
            unavailable: python.as_ref().err().cloned(),
        }),
        Version::V4_4 => {
            cfgs.push(exhook(
                "exhook_python",
                "emqx_exhook 4.4.7 (gRPC) + the kit's reference Python HookProvider (grpcio), same 19 hooks and decisions",
                Provider::Python,
                servers,
            ));
            cfgs.push(exhook(
                "exhook_rust",
                "emqx_exhook 4.4.7 (gRPC) + a Rust HookProvider (tonic, bench/exhook-server), same 19 hooks and decisions",
                Provider::Rust,
                servers,
            ));
        }
    }
    cfgs
}

/// Puts `c` on the broker (the previous configuration was taken off).
pub fn apply(b: &Broker, c: &Config, python_dir: &Path) {
    match &c.kind {
        Kind::None => {}
        Kind::Erlang => assert_eq!(b.eval("rust_hook_bench_erl:add()."), "ok"),
        Kind::Rust { lib, conf } => {
            // A library in priv/ under its own name; a new name per library.
            let priv_dir = b.plugin_dir().join("priv");
            let dest = priv_dir.join(lib.file_name().unwrap());
            if !dest.exists() {
                std::fs::copy(lib, &dest).expect("copy library");
            }
            let mut conf = conf.clone();
            conf.push("exhook.drivers.rust.call_timeout = 5s".into());
            b.write_conf(Some(lib), &conf);
            let out = b.ctl(&["plugins", "load", "emqx_rust_hook"]);
            assert!(
                out.text.contains("loaded successfully"),
                "load {}: {}",
                c.name,
                out.text
            );
        }
        Kind::Python => {
            let conf = format!(
                "exhook.drivers = python3\n\
                 exhook.drivers.python3.path = {}/\n\
                 exhook.drivers.python3.init_module = bench_hooks\n\
                 exhook.drivers.python3.call_timeout = 5s\n",
                python_dir.display()
            );
            std::fs::write(b.root.join("etc/plugins/emqx_extension_hook.conf"), conf).unwrap();
            let out = b.ctl(&["plugins", "load", "emqx_extension_hook"]);
            assert!(
                out.text.contains("loaded successfully"),
                "load python: {}",
                out.text
            );
        }
        Kind::Exhook { port, .. } => {
            // The release's file with our server instead of `default`.
            let conf = format!(
                "exhook.server.bench.url = http://127.0.0.1:{port}\n\
                 exhook.request_timeout = 5s\n"
            );
            std::fs::write(b.root.join("etc/plugins/emqx_exhook.conf"), conf).unwrap();
            let out = b.ctl(&["plugins", "load", "emqx_exhook"]);
            assert!(
                out.text.contains("loaded successfully"),
                "load emqx_exhook: {}",
                out.text
            );
            // Measure only once the server is attached, with its hooks.
            let t0 = Instant::now();
            loop {
                let list = b.ctl(&["exhook", "server", "list"]).text;
                // Active, with the hooks it declared attached.
                if list.contains("name=bench")
                    && list.contains("active=true")
                    && list.contains("'message.publish'")
                    && list.contains("'client.authenticate'")
                {
                    break;
                }
                if t0.elapsed() > Duration::from_secs(20) {
                    b.ctl(&["plugins", "unload", "emqx_exhook"]);
                    panic!("emqx_exhook: server not active after 20 s: {list}");
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

/// Takes `c` off the broker.
pub fn remove(b: &Broker, c: &Config) {
    match &c.kind {
        Kind::None => {}
        Kind::Erlang => assert_eq!(b.eval("rust_hook_bench_erl:del()."), "ok"),
        Kind::Rust { .. } => {
            let out = b.ctl(&["plugins", "unload", "emqx_rust_hook"]);
            assert!(
                out.text.contains("unloaded successfully"),
                "unload: {}",
                out.text
            );
        }
        Kind::Python => {
            let out = b.ctl(&["plugins", "unload", "emqx_extension_hook"]);
            assert!(
                out.text.contains("unloaded successfully"),
                "unload python: {}",
                out.text
            );
        }
        Kind::Exhook { .. } => {
            let out = b.ctl(&["plugins", "unload", "emqx_exhook"]);
            assert!(
                out.text.contains("unloaded successfully"),
                "unload emqx_exhook: {}",
                out.text
            );
        }
    }
}
