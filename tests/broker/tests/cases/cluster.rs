//! Two nodes on loopback, each from its own copy of EMQX_HOME, joined into a cluster,
//! with the plugin (native/test_hooks) loaded on both: each hook runs on the node where
//! its event happens.

use broker_tests::broker::{native_lib, Broker, Setup};
use broker_tests::mqtt::{connect, Opts};
use broker_tests::runner::Group;
use serde_json::Value;

fn setup() -> Setup {
    Setup {
        lib: Some(native_lib("test_hooks")),
        rpc: true,
        ..Setup::default()
    }
}

pub fn group() -> Group {
    Group {
        name: "cluster",
        setup,
        cases: vec![(
            "2 nodes: publish runs on the publisher's node, delivery on the subscriber's; takeover across nodes",
            two_nodes,
        )],
    }
}

fn hooks_of<'a>(reports: &'a [Value], hook: &str, client: &str) -> Vec<&'a Value> {
    reports
        .iter()
        .filter(|r| {
            r["hook"] == hook
                && (r["clientinfo"]["clientid"] == client
                    || r["message"]["from"][1] == client
                    || r["conninfo"]["clientid"] == client)
        })
        .collect()
}

fn two_nodes(n1: &mut Broker) {
    let n2 = Broker::start(&setup());
    let out = n2.ctl(&["cluster", "join", &n1.node]);
    assert!(
        out.text.contains("successfully"),
        "cluster join: {}",
        out.text
    );
    let status = n1.ctl(&["cluster", "status"]).text;
    assert!(
        status.contains(&n2.node) && status.contains(&n1.node),
        "{status}"
    );
    // Joining restarts the node's broker applications; the plugin is loaded again there
    // (its load is recorded in the node's data/loaded_plugins).
    if n2.hooks_registered() == 0 {
        let out = n2.ctl(&["plugins", "load", "emqx_rust_hook"]);
        assert!(out.text.contains("successfully"), "{}", out.text);
    }
    assert_eq!(n1.hooks_registered(), 19);
    assert_eq!(n2.hooks_registered(), 19);
    n1.probe_start();
    n2.probe_start();

    let login = |id: &str| Opts::new(id).login("user1", "secret");
    let mut sub = connect(n2.mqtt_port, &login("cl-sub")).unwrap();
    assert_eq!(sub.subscribe("t/cluster", 1), 1);
    let mut publ = connect(n1.mqtt_port, &login("cl-pub")).unwrap();
    // The route to node 2 reaches node 1 through mnesia: retry until delivered.
    let mut got = None;
    for i in 0..20 {
        publ.publish("t/cluster", 1, false, format!("across {i}").as_bytes());
        if let Some(m) = sub.recv_within(std::time::Duration::from_millis(500)) {
            got = Some(m);
            break;
        }
    }
    let m = got.expect("a message published on node 1 reaches a subscriber on node 2");
    let r1 = n1.probe_until(|r| !hooks_of(r, "message.publish", "cl-pub").is_empty());
    let r2 = n2.probe_until(|r| !hooks_of(r, "message.delivered", "cl-sub").is_empty());
    assert!(!hooks_of(&r1, "message.publish", "cl-pub").is_empty());
    assert!(
        hooks_of(&r2, "message.publish", "cl-pub").is_empty(),
        "publish ran on node 2"
    );
    let del = hooks_of(&r2, "message.delivered", "cl-sub");
    assert_eq!(del.len(), 1);
    assert_eq!(
        del[0]["message"]["payload"].as_str().unwrap().as_bytes(),
        &m.payload[..]
    );
    assert!(
        hooks_of(&r1, "message.delivered", "cl-sub").is_empty(),
        "delivered ran on node 1"
    );
    sub.disconnect();
    publ.disconnect();

    // A persistent session on node 1 taken over by the same client id on node 2.
    let o = login("cl-move").clean(false);
    let mut c1 = connect(n1.mqtt_port, &o).unwrap();
    assert_eq!(c1.subscribe("t/move", 1), 1);
    n1.probe_take();
    n2.probe_take();
    let c2 = connect(n2.mqtt_port, &o).unwrap();
    assert!(c2.session_present, "the session moved to node 2");
    c1.await_closed();
    let r1 = n1.probe_until(|r| !hooks_of(r, "session.takeovered", "cl-move").is_empty());
    let r2 = n2.probe_until(|r| !hooks_of(r, "session.resumed", "cl-move").is_empty());
    assert_eq!(hooks_of(&r1, "session.takeovered", "cl-move").len(), 1);
    let resumed = hooks_of(&r2, "session.resumed", "cl-move");
    assert_eq!(resumed.len(), 1);
    let subs: Vec<&str> = resumed[0]["sessinfo"]["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["topic"].as_str().unwrap())
        .collect();
    assert_eq!(subs, ["t/move"]);
    assert!(hooks_of(&r2, "session.created", "cl-move").is_empty());
    c2.disconnect();
    drop(n2);
}
