//! Generated decisions on the real broker: native/decide_hooks derives each decision from
//! its input (valid and invalid `MessageChange`s, filter lists, CONNECT/CONNACK
//! properties, auth results), and `probe/rust_hook_broker_decisions.erl`, compiled on the
//! node, runs seeded calls through the broker's own `emqx_hooks:run_fold` and what comes
//! back through the broker's own code (`emqx_frame` writes and reads the PUBLISH and
//! CONNACK, `emqx_topic` validates names and filters, `emqx_reason_codes` maps refusals).

use broker_tests::broker::{native_lib, Broker, Setup};
use broker_tests::runner::Group;
use std::path::Path;

pub fn group() -> Group {
    Group {
        name: "decisions",
        setup: || Setup {
            lib: Some(native_lib("decide_hooks")),
            ..Setup::default()
        },
        cases: vec![(
            "generated decisions: accepted by the broker's own code, or refused by the SDK",
            generated,
        )],
    }
}

fn generated(b: &mut Broker) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("probe/rust_hook_broker_decisions.erl");
    let loaded = b.eval(&format!(
        "{{ok, M, B}} = compile:file(\"{}\", [binary, report]), \
         {{module, M}} = code:load_binary(M, \"rust_hook_broker_decisions.erl\", B), ok.",
        src.display()
    ));
    assert_eq!(loaded, "ok");
    let errors = || -> u64 {
        b.eval("lists:sum([maps:get(errors, S) || S <- maps:values(emqx_rust_hook_nif:stats())]).")
            .parse()
            .expect("an integer")
    };
    let errors_before = errors();
    // 7 hooks x 150 cases.
    let out = b.eval("rust_hook_broker_decisions:run(7, 150).");
    let (counts, failures) = out
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split_once(",[")
        .unwrap_or_else(|| panic!("unexpected result {out}"));
    assert_eq!(failures, "]", "the broker's code refused a result: {out}");
    let (changed, unchanged) = counts.split_once(',').expect("two counts");
    let (changed, unchanged): (u64, u64) = (changed.parse().unwrap(), unchanged.parse().unwrap());
    assert_eq!(changed + unchanged, 7 * 150, "{out}");
    assert!(changed > 100, "{out}");
    // Invalid decisions were among them: refused by the SDK, counted, the fallback applied.
    assert!(errors() > errors_before + 10, "{out}");
}
