//! `emqx_ctl rust_hook reload` on a real broker: 100 reloads alternating two libraries
//! (native/reload_hooks and reload_hooks_b) while clients connect, log in, are refused,
//! publish and receive at a steady rate. No client operation fails, every notification
//! runs exactly once (counted end to end in the libraries' sink file), memory and
//! threads stay flat, and a reload to a missing or incompatible library leaves the
//! running one serving.

use super::{os_threads, vm_memory};
use broker_tests::broker::{native_lib, Broker, Setup};
use broker_tests::mqtt::{connect, raw_connect_login, Opts};
use broker_tests::runner::Group;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Where both libraries append their records (one file per test process).
fn sink() -> PathBuf {
    std::env::temp_dir().join(format!("emqx-rust-hook-reload-{}.txt", std::process::id()))
}

pub fn setup() -> Setup {
    let _ = std::fs::remove_file(sink());
    Setup {
        lib: Some(native_lib("reload_hooks")),
        conf: vec![
            format!("exhook.drivers.rust.init.sink = {}", sink().display()),
            // A login holds a pool worker for 1 ms and a delivery notification a queue
            // worker for 0.2 ms: reloads find calls in flight and notifications queued.
            "exhook.drivers.rust.init.auth_sleep_us = 1000".into(),
            "exhook.drivers.rust.init.notify_sleep_us = 200".into(),
        ],
        ..Setup::default()
    }
}

pub fn group() -> Group {
    Group {
        name: "reload",
        setup,
        cases: vec![(
            "100 reloads under load: no failed client operation, every notification once; \
             a missing or incompatible library leaves the running one serving",
            hundred_reloads,
        )],
    }
}

fn sink_lines() -> Vec<String> {
    std::fs::read_to_string(sink())
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// How often each record (without the library's name) was written.
fn record_counts(prefix: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in sink_lines() {
        let record = line.split_once(' ').map(|(_, r)| r).unwrap_or_default();
        if let Some(rest) = record.strip_prefix(prefix) {
            *counts.entry(rest.to_string()).or_default() += 1;
        }
    }
    counts
}

fn hundred_reloads(b: &mut Broker) {
    let priv_dir = b.plugin_dir().join("priv");
    let lib_a = priv_dir.join("libreload_hooks.so");
    let lib_b = priv_dir.join("libreload_hooks_b.so");
    std::fs::copy(native_lib("reload_hooks_b"), &lib_b).unwrap();
    let port = b.mqtt_port;
    let stop = Arc::new(AtomicBool::new(false));

    let mut sub = connect(port, &Opts::new("rl-sub").login("u", "good")).unwrap();
    assert_eq!(sub.subscribe("reload/seq", 1), 1);
    // Publishes QoS 1 until stopped; each publish waits for its PUBACK.
    let publisher = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut publ = connect(port, &Opts::new("rl-pub").login("u", "good")).unwrap();
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                publ.publish("reload/seq", 1, false, n.to_string().as_bytes());
                n += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            publ.disconnect();
            n
        })
    };
    // Logs in (allowed), checks an ACL (denied) and logs in with a bad password
    // (refused), until stopped. Any other answer fails the test.
    let connector = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut ok = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let id = format!("rl-c-{i}");
                let mut c = connect(port, &Opts::new(&id).login("u", "good"))
                    .unwrap_or_else(|e| panic!("login {id} refused: {e}"));
                assert_eq!(c.subscribe("forbidden/x", 1), 0x80, "{id}: ACL");
                c.disconnect();
                ok.push(id);
                let rc = raw_connect_login(port, &format!("rl-bad-{i}"), true, Some(("u", "bad")));
                assert!(rc == 4 || rc == 5, "bad login {i} got CONNACK {rc}");
                i += 1;
            }
            ok
        })
    };

    let a = lib_a.to_str().unwrap();
    let bb = lib_b.to_str().unwrap();
    let (mut threads0, mut mem0) = (0, 0);
    for batch in 0..10 {
        let cmds: Vec<[&str; 3]> = (0..10)
            .map(|i| ["rust_hook", "reload", if i % 2 == 0 { bb } else { a }])
            .collect();
        let refs: Vec<&[&str]> = cmds.iter().map(|c| &c[..]).collect();
        let (text, counts) = b.ctl_steps(&refs);
        assert_eq!(
            text.matches("reloaded").count(),
            10,
            "batch {batch}: {text}"
        );
        // The same 4 callbacks stay registered throughout.
        assert_eq!(counts, vec![4; 10], "batch {batch}: {text}");
        if batch == 0 {
            threads0 = os_threads(b);
            mem0 = vm_memory(b);
        }
        if batch == 4 {
            refused_reloads(b, a);
        }
    }
    let threads1 = os_threads(b);
    let mem1 = vm_memory(b);
    println!(
        "    after 10 -> 100 reloads: OS threads {threads0} -> {threads1}, VM memory {:.1} -> {:.1} MB",
        mem0 as f64 / 1e6,
        mem1 as f64 / 1e6
    );
    stop.store(true, Ordering::Relaxed);
    let published = publisher.join().expect("publisher");
    let logins = connector.join().expect("connector");
    assert!(published > 0 && !logins.is_empty());
    assert!(threads1 <= threads0 + 4, "threads {threads0} -> {threads1}");
    assert!(mem1 < mem0 + 32_000_000, "VM memory {mem0} -> {mem1}");

    // Every message reached the subscriber once.
    let mut got = BTreeMap::new();
    while got.len() < published as usize {
        let Some(m) = sub.recv_within(Duration::from_secs(10)) else {
            break;
        };
        *got.entry(String::from_utf8(m.payload).unwrap())
            .or_insert(0) += 1;
    }
    assert_eq!(got.len(), published as usize);
    sub.disconnect();
    // Unloading stops the last library: its queued notifications run first.
    let out = b.ctl(&["plugins", "unload", "emqx_rust_hook"]);
    assert!(out.text.contains("successfully"), "{}", out.text);
    assert!(b.ping());

    // Each delivery notification ran exactly once, on one library or the other.
    let delivered = record_counts("delivered reload/seq ");
    let missing: Vec<u32> = (0..published)
        .filter(|n| !delivered.contains_key(&n.to_string()))
        .take(5)
        .collect();
    assert!(missing.is_empty(), "deliveries never notified: {missing:?}");
    let twice: Vec<_> = delivered.iter().filter(|(_, &c)| c > 1).take(5).collect();
    assert!(twice.is_empty(), "deliveries notified twice: {twice:?}");
    assert_eq!(delivered.len(), published as usize);
    // In order: the new library holds its queued notifications until the old one has
    // run its own, so one client's events keep their order across reloads.
    let order: Vec<u32> = sink_lines()
        .iter()
        .filter_map(|l| l.split_once(" delivered reload/seq "))
        .map(|(_, n)| n.parse().unwrap())
        .collect();
    let out_of_order: Vec<_> = order.windows(2).filter(|w| w[0] >= w[1]).take(5).collect();
    assert!(
        out_of_order.is_empty(),
        "deliveries out of order: {out_of_order:?}"
    );
    // Each accepted login's connected notification once; refused logins none.
    let connected = record_counts("connected ");
    for id in &logins {
        assert_eq!(connected.get(id), Some(&1), "connected {id}");
    }
    assert!(!connected.keys().any(|k| k.starts_with("rl-bad-")));
    // 100 reloads and the unload: 101 libraries terminated, each once, both kinds.
    let lines = sink_lines();
    let terminated: Vec<&String> = lines
        .iter()
        .filter(|l| l.ends_with(" terminated"))
        .collect();
    assert_eq!(terminated.len(), 101);
    assert!(terminated.iter().any(|l| l.starts_with("reload_hooks_b ")));
    println!(
        "    {published} messages, {} logins, 101 libraries terminated",
        logins.len()
    );
    let _ = std::fs::remove_file(sink());
}

/// A missing library and one built with another SDK are refused, naming the reason,
/// and the running library (`running`) goes on.
fn refused_reloads(b: &Broker, running: &str) {
    let dir = b.plugin_dir().join("priv");
    let bytes = std::fs::read(native_lib("reload_hooks_b")).unwrap();
    let marker = b"EMQX_RUST_HOOK_SDK_VERSION=0.1.0";
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("the SDK version in the library");
    let mut other = bytes.clone();
    other[at + marker.len() - 5..at + marker.len()].copy_from_slice(b"9.1.0");
    let incompatible = dir.join("libother_sdk.so");
    std::fs::write(&incompatible, other).unwrap();
    let (text, counts) = b.ctl_steps(&[
        &["rust_hook", "reload", "/nonexistent/libreload_missing.so"],
        &["rust_hook", "reload", incompatible.to_str().unwrap()],
        &["rust_hook", "status"],
    ]);
    assert_eq!(counts, vec![4, 4, 4], "{text}");
    assert_eq!(text.matches("reload failed").count(), 2, "{text}");
    assert!(text.contains("libreload_missing.so not found"), "{text}");
    assert!(
        text.contains("SDK 9.1.0") && text.contains("SDK 0.1.0"),
        "{text}"
    );
    assert!(text.contains(&format!("rust driver: {running}")), "{text}");
}
