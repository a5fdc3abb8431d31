//! Operations through EMQX's own CLI: load/unload/reload 20 times while clients stay
//! connected, switching libraries; no leaked hooks or threads; a bad library refused
//! with a clear message while the broker keeps running.

use super::{os_threads, vm_memory};
use broker_tests::broker::{native_lib, Broker, Setup};
use broker_tests::mqtt::{connect, Client, Opts};
use broker_tests::runner::Group;

pub fn setup() -> Setup {
    Setup {
        lib: Some(native_lib("test_hooks")),
        ..Setup::default()
    }
}

pub fn group() -> Group {
    Group {
        name: "ops",
        setup,
        cases: vec![
            (
                "load/unload/reload 20 times, switching libraries, clients connected",
                cycles,
            ),
            (
                "a missing .so is refused with a clear message; the broker keeps serving",
                missing_lib,
            ),
            (
                "a .so that is not a hook library is refused; the broker keeps serving",
                not_a_hook,
            ),
            (
                "generated decisions: accepted by the broker's own code, or refused by the SDK",
                super::decisions::generated,
            ),
        ],
    }
}

/// The plugin's line in `emqx_ctl plugins list`.
fn plugin_line(b: &Broker) -> String {
    b.ctl(&["plugins", "list"])
        .text
        .lines()
        .find(|l| l.contains("Plugin(emqx_rust_hook,"))
        .unwrap_or_default()
        .to_string()
}

fn roundtrip(sub: &mut Client, publ: &mut Client, n: usize) {
    let payload = format!("cycle {n}");
    publ.publish("ops/keep", 1, false, payload.as_bytes());
    let m = sub.recv();
    assert_eq!(m.payload, payload.as_bytes(), "cycle {n}");
}

fn cycles(b: &mut Broker) {
    let test_hooks = native_lib("test_hooks");
    let example = native_lib("example_hook");
    // The example's .so goes into priv/ beside the test library, as a user would put a
    // second library.
    std::fs::copy(&example, b.plugin_dir().join("priv/libexample_hook.so")).unwrap();
    let login = |id: &str| Opts::new(id).login("user1", "secret");
    let mut sub = connect(b.mqtt_port, &login("ops-sub")).unwrap();
    assert_eq!(sub.subscribe("ops/keep", 1), 1);
    let mut publ = connect(b.mqtt_port, &login("ops-pub")).unwrap();
    assert_eq!(b.hooks_registered(), 19);
    let (mut threads0, mut mem0) = (0, 0);
    let mut current = 19;
    for n in 0..20 {
        if n % 4 == 3 {
            // `reload` re-reads the conf: same library, new settings.
            let (text, counts) = b.ctl_steps(&[&["plugins", "reload", "emqx_rust_hook"]]);
            assert!(text.contains("successfully"), "cycle {n}: {text}");
            assert_eq!(counts, [current], "cycle {n}");
        } else {
            let (lib, expect) = if n % 2 == 0 {
                (&example, 5)
            } else {
                (&test_hooks, 19)
            };
            b.write_conf(Some(lib), &[]);
            let (text, counts) = b.ctl_steps(&[
                &["plugins", "unload", "emqx_rust_hook"],
                &["plugins", "list"],
                &["plugins", "load", "emqx_rust_hook"],
                &["rust_hook", "status"],
            ]);
            assert_eq!(
                counts,
                [0, 0, expect, expect],
                "cycle {n}: hook counts\n{text}"
            );
            assert_eq!(text.matches("successfully").count(), 2, "cycle {n}: {text}");
            assert!(
                text.contains("Plugin(emqx_rust_hook, description=")
                    && text.contains("active=false"),
                "cycle {n}: {text}"
            );
            let name = lib.file_name().unwrap().to_str().unwrap();
            assert!(
                text.contains(&format!(
                    "rust driver: {}/priv/{name}",
                    b.version.plugin_dir()
                )),
                "{text}"
            );
            current = expect;
        }
        roundtrip(&mut sub, &mut publ, n);
        if n == 0 {
            // The example is loaded after cycle 0 and after cycle 19 (a reload).
            threads0 = os_threads(b);
            mem0 = vm_memory(b);
        }
    }
    assert_eq!(b.hooks_registered(), current);
    let threads1 = os_threads(b);
    let mem1 = vm_memory(b);
    println!(
        "    after cycle 0 -> after cycle 19: OS threads {threads0} -> {threads1}, VM memory {:.1} -> {:.1} MB",
        mem0 as f64 / 1e6,
        mem1 as f64 / 1e6
    );
    // One load starts pool_size (8) workers per pool-mode hook: a leak of even one load
    // would add dozens of threads.
    assert!(threads1 <= threads0 + 4, "threads {threads0} -> {threads1}");
    assert!(mem1 < mem0 + 64_000_000, "VM memory {mem0} -> {mem1}");
    // The connections lived through all of it.
    roundtrip(&mut sub, &mut publ, 20);
    // The latency gauges outlive the reloads and are not created again (EMQX logs every
    // creation of a known metric).
    let log = b.log();
    let again: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("_us already exists"))
        .take(3)
        .collect();
    assert!(again.is_empty(), "{again:?}");
    sub.disconnect();
    publ.disconnect();
}

fn refused(b: &mut Broker, conf_path: &std::path::Path, expect_in_log: &[&str]) {
    b.write_conf(Some(conf_path), &[]);
    if plugin_line(b).contains("active=true") {
        let out = b.ctl(&["plugins", "unload", "emqx_rust_hook"]);
        assert!(out.text.contains("successfully"), "{}", out.text);
    }
    let out = b.ctl(&["plugins", "load", "emqx_rust_hook"]);
    // emqx_ctl prints the reason the plugin's start returned.
    assert!(
        out.text.contains("Load plugin emqx_rust_hook error"),
        "{}",
        out.text
    );
    assert!(out.text.contains(expect_in_log[1]), "{}", out.text);
    let line = b
        .await_log_line(expect_in_log)
        .unwrap_or_else(|| panic!("no log line with {expect_in_log:?}:\n{}", b.log_tail(30)));
    assert!(line.contains("[error]"), "{line}");
    assert_eq!(b.hooks_registered(), 0);
    assert!(b.ping());
    let mut c = connect(b.mqtt_port, &Opts::new("ops-after-bad")).unwrap();
    assert_eq!(c.subscribe("ops/bad", 0), 0);
    c.publish("ops/bad", 0, false, b"served");
    assert_eq!(c.recv().payload, b"served");
    c.disconnect();
    // A good library loads again afterwards.
    b.write_conf(Some(&native_lib("test_hooks")), &[]);
    let out = b.ctl(&["plugins", "load", "emqx_rust_hook"]);
    assert!(out.text.contains("successfully"), "{}", out.text);
    assert_eq!(b.hooks_registered(), 19);
}

fn missing_lib(b: &mut Broker) {
    let p = std::path::Path::new("/nonexistent/dir/libmissing_hooks.so");
    refused(
        b,
        p,
        &["emqx_rust_hook", "/nonexistent/dir/libmissing_hooks.so"],
    );
}

fn not_a_hook(b: &mut Broker) {
    let lib = native_lib("not_a_hook");
    std::fs::copy(&lib, b.plugin_dir().join("priv/libnot_a_hook.so")).unwrap();
    refused(b, &lib, &["emqx_rust_hook", "libnot_a_hook.so"]);
}
