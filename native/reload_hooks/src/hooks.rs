// The hooks of `reload_hooks` and `reload_hooks_b` (included by both).
//
// - `client_authenticate` (pool, after `init.auth_sleep_us`): password `good` is allowed,
//   anything else denied, so a login that reaches no library would show (the broker
//   allows anonymous logins).
// - `client_check_acl` (default mode): topics under `forbidden/` are denied.
// - `client_connected` (default mode) and `message_delivered` (queue, after
//   `init.notify_sleep_us`): each appends one line to the file `init.sink`:
//   `<library> connected <clientid>` and `<library> delivered <topic> <payload>`, so a
//   test can count, end to end, that each notification ran once.

use emqx_rust_hook::prelude::*;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

/// The library's name in the lines it writes.
const LIBRARY: &str = env!("CARGO_PKG_NAME");

/// Where the records go, and the configured delays.
pub struct ReloadHooks {
    sink: Mutex<File>,
    auth_sleep: Duration,
    notify_sleep: Duration,
}

impl ReloadHooks {
    fn record(&self, line: String) {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        // One write per line, to a file opened for appending: the two libraries of a
        // reload may write at the same time.
        if let Err(e) = sink.write_all(format!("{LIBRARY} {line}\n").as_bytes()) {
            tracing::error!("cannot write the sink: {e}");
        }
    }
}

fn micros(config: &Config, key: &str) -> Result<Duration, InitError> {
    let us: u64 = config
        .get(key)
        .map(|_| config.parse(key))
        .transpose()?
        .unwrap_or(0);
    Ok(Duration::from_micros(us))
}

#[emqx_rust_hook::export]
impl Hooks for ReloadHooks {
    fn init(config: &Config) -> Result<Self, InitError> {
        let path: String = config.parse("sink")?;
        let sink = OpenOptions::new().create(true).append(true).open(&path)?;
        tracing::info!("{LIBRARY} started");
        Ok(ReloadHooks {
            sink: Mutex::new(sink),
            auth_sleep: micros(config, "auth_sleep_us")?,
            notify_sleep: micros(config, "notify_sleep_us")?,
        })
    }

    fn terminate(&self) {
        self.record("terminated".into());
    }

    #[hook(pool)]
    fn client_authenticate(&self, client: &ClientInfo, _result: AuthResult) -> AuthDecision {
        std::thread::sleep(self.auth_sleep);
        match client.password() {
            Some(p) if p.matches(b"good") => AuthDecision::Allow,
            _ => AuthDecision::Deny(AuthDenyReason::BadUsernameOrPassword),
        }
    }

    fn client_check_acl(&self, _: &ClientInfo, _: PubSub, topic: &str, _: AclResult) -> AclDecision {
        if topic.starts_with("forbidden/") {
            AclDecision::Deny
        } else {
            AclDecision::Abstain
        }
    }

    fn client_connected(&self, client: &ClientInfo, _conninfo: &ConnInfo) {
        self.record(format!("connected {}", client.clientid()));
    }

    #[hook(queue)]
    fn message_delivered(&self, _client: &ClientInfo, message: &Message) -> DeliverDecision {
        std::thread::sleep(self.notify_sleep);
        let payload = message.payload().to_string_lossy();
        self.record(format!("delivered {} {payload}", message.topic()));
        DeliverDecision::Abstain
    }
}
