//! The broker suite: the plugin installed into a real EMQX 4.2 or 4.4 broker (`EMQX_HOME`) as
//! the README tells users, driven by real MQTT 3.1.1 and 5 clients. Run with
//! `make test-broker` (or `EMQX_HOME=... cargo test --release -p broker-tests --test broker
//! [filter]`). Each group of cases shares one broker; see `tests/broker/src/`.

mod cases;

use broker_tests::runner::run;

fn main() {
    if std::env::var_os("EMQX_HOME").is_none() {
        eprintln!("EMQX_HOME is not set: the broker suite needs a real EMQX 4.2 or 4.4 broker (see tests/broker/run.sh)");
        std::process::exit(1);
    }
    run(cases::groups());
}
