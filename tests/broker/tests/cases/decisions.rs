//! Generated decisions on the real broker: native/decide_hooks derives each decision from
//! its input (valid and invalid `MessageChange`s, filter lists, CONNECT/CONNACK
//! properties, auth results), and `testkit/probe/rust_hook_broker_decisions.erl`, compiled on the
//! node, runs seeded calls through the broker's own `emqx_hooks:run_fold` and what comes
//! back through the broker's own code (`emqx_frame` writes and reads the PUBLISH and
//! CONNACK, `emqx_topic` validates names and filters, `emqx_reason_codes` maps refusals).
//! A case of the `ops` group (its broker switches to decide_hooks and back).

use broker_tests::broker::{native_lib, Broker};
use std::path::Path;

/// Unloads the plugin, points it at `lib` (copied into priv/), loads it again.
fn switch_to(b: &mut Broker, name: &str) {
    let lib = native_lib(name);
    let priv_dir = b.plugin_dir().join("priv");
    let dest = priv_dir.join(lib.file_name().unwrap());
    // Never over a library the VM has loaded: writing into a mapped .so crashes the VM.
    if !dest.exists() {
        std::fs::copy(&lib, dest).unwrap();
    }
    b.write_conf(Some(&lib), &[]);
    let _ = b.ctl(&["plugins", "unload", "emqx_rust_hook"]);
    let out = b.ctl(&["plugins", "load", "emqx_rust_hook"]);
    assert!(out.text.contains("successfully"), "{}", out.text);
}

/// The SDK's error count (invalid decisions refused, among others).
const ERRORS: &str =
    "lists:sum([maps:get(errors, S) || S <- maps:values(emqx_rust_hook_nif:stats())])";

pub fn generated(b: &mut Broker) {
    switch_to(b, "decide_hooks");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testkit/probe/rust_hook_broker_decisions.erl");
    // Each `eval` starts a VM: two in all.
    let errors_before: u64 = b
        .eval(&format!(
            "{{ok, M, B}} = compile:file(\"{}\", [binary, report]), \
             {{module, M}} = code:load_binary(M, \"rust_hook_broker_decisions.erl\", B), {ERRORS}.",
            src.display()
        ))
        .parse()
        .expect("the error count");
    // 7 hooks x 150 cases.
    let out = b.eval(&format!(
        "{{C, U, F}} = rust_hook_broker_decisions:run(7, 150), {{C, U, {ERRORS}, F}}."
    ));
    let (counts, failures) = out
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split_once(",[")
        .unwrap_or_else(|| panic!("unexpected result {out}"));
    assert_eq!(failures, "]", "the broker's code refused a result: {out}");
    let n: Vec<u64> = counts
        .split(',')
        .map(|c| c.trim().parse().unwrap())
        .collect();
    let [changed, unchanged, errors_after] = n[..] else {
        panic!("unexpected result {out}")
    };
    assert_eq!(changed + unchanged, 7 * 150, "{out}");
    assert!(changed > 100, "{out}");
    // Invalid decisions were among them: refused by the SDK, counted, the fallback applied.
    assert!(errors_after > errors_before + 10, "{out}");
    switch_to(b, "test_hooks");
}
