//! The default mode, `auto`, on a real broker (native/auto_hooks: no hook gives a mode):
//! hooks run on the broker's schedulers until one blocks; a login hook that sleeps holds
//! at most one login per scheduler there, then runs on the SDK's workers, and every
//! client is answered.

use broker_tests::broker::{native_lib, Broker, Setup};
use broker_tests::mqtt::{connect, Opts};
use broker_tests::runner::Group;
use serde_json::Value;

pub fn setup() -> Setup {
    Setup {
        lib: Some(native_lib("auto_hooks")),
        ..Setup::default()
    }
}

pub fn group() -> Group {
    Group {
        name: "auto",
        setup,
        cases: vec![(
            "default mode: a blocking login hook leaves the schedulers after at most one call per scheduler, every login answered",
            blocking_login_moves,
        )],
    }
}

/// `demoted=` of `hook` in `emqx_ctl rust_hook stats`.
fn demoted(b: &Broker, hook: &str) -> bool {
    let text = b.ctl(&["rust_hook", "stats"]).text;
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(hook))
        .unwrap_or_else(|| panic!("no {hook} in:\n{text}"));
    line.contains("demoted=true")
}

fn blocking_login_moves(b: &mut Broker) {
    let status = b.ctl(&["rust_hook", "status"]).text;
    assert!(
        status.contains("client.authenticate") && status.contains("mode=auto"),
        "{status}"
    );
    b.probe_start();
    // A fast hook: many ACL checks, it stays on the schedulers.
    let mut c = connect(b.mqtt_port, &Opts::new("a-fast").login("fast", "pw")).unwrap();
    assert_eq!(c.subscribe("a/fast", 1), 1);
    for _ in 0..20 {
        c.publish("a/fast", 1, false, b"x");
        assert_eq!(c.recv().payload, b"x");
    }
    c.disconnect();
    assert!(!demoted(b, "client.check_acl"));
    assert!(!demoted(b, "client.authenticate"));
    // 16 logins at once whose hook sleeps 200 ms.
    let port = b.mqtt_port;
    let logins: Vec<_> = (0..16)
        .map(|i| {
            std::thread::spawn(move || {
                connect(
                    port,
                    &Opts::new(&format!("a-sleepy-{i}")).login("sleepy", "pw"),
                )
                .map(|c| c.disconnect())
            })
        })
        .collect();
    for l in logins {
        assert_eq!(
            l.join().unwrap(),
            Ok(()),
            "every login is answered and allowed"
        );
    }
    let reports =
        b.probe_until(|r| r.iter().filter(|v| v[0] == "client_authenticate").count() >= 16);
    let auth: Vec<&Value> = reports
        .iter()
        .filter(|v| v[0] == "client_authenticate")
        .collect();
    assert_eq!(auth.len(), 16, "{reports:?}");
    let on_schedulers = auth.iter().filter(|v| v[1] == Value::Bool(false)).count();
    let schedulers: usize = b
        .eval("erlang:system_info(schedulers_online).")
        .parse()
        .unwrap();
    assert!(
        (1..=schedulers).contains(&on_schedulers),
        "{on_schedulers} sleeping logins ran on the {schedulers} schedulers"
    );
    assert!(demoted(b, "client.authenticate"));
    let log = b.await_log_line(&["client.authenticate", "blocked", "SDK's workers"]);
    assert!(log.is_some(), "{}", b.log_tail(20));
}
