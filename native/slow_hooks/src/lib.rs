//! Test fixture for the execution model ("the broker comes first"):
//!
//! - `client_authenticate` (pool): username `slow` sleeps `init.sleep_ms` (default
//!   2000) then allows; `gated` waits until the gate is open, then allows; `panic`
//!   panics; anything else is allowed.
//! - `client_check_acl` (inline): topics `panic/...` panic; `gate/close` and `gate/open`
//!   close and open the gate; `block/...` sleeps `init.sleep_ms` right on the calling
//!   scheduler (a misbehaving inline hook, for the tests' scheduler monitor); others
//!   are allowed.
//! - `message_publish` (pool): topics `panic/...` panic, `slow/...` sleep; others continue.
//! - `client_connected` (queue): client ids starting with `panic` panic; client ids
//!   starting with `gated` wait until the gate is open; otherwise it sleeps
//!   `init.notify_sleep_us` (default 0); then it sends `{ClientId, ConnectedAt}` to the
//!   process registered as `rust_hook_probe`, so tests can check per-client order.
//! - `session_created` (queue): client ids starting with `panic` panic.
//! - `message_delivered` (`#[hook(queue)]`: observed, not changed): sends
//!   `{ClientId, Topic}` to `rust_hook_probe` after `init.notify_sleep_us`, and for
//!   topics `gated/...` after the gate is open.
//!
//! - `status` (`emqx_ctl rust_hook status`): `sleep_ms: N`, or a panic with
//!   `init.status_panics = on`; `command` (`emqx_ctl rust_hook cmd`): `echo ARGS...`
//!   answers ARGS, `panic` panics, anything else is an error.
//!
//! The gate lets tests hold callbacks without guessing durations: a callback that waits
//! for it provably has not returned until the test opens it. A callback waits at most
//! 60 s (so a failed test cannot hold a worker forever).

use emqx_rust_hook::erl;
use emqx_rust_hook::prelude::*;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Open or closed; callbacks that wait for the gate block while it is closed.
static GATE: Mutex<bool> = Mutex::new(true);
static GATE_CHANGED: Condvar = Condvar::new();

fn set_gate(open: bool) {
    *GATE.lock().unwrap_or_else(|e| e.into_inner()) = open;
    GATE_CHANGED.notify_all();
}

fn wait_gate() {
    let until = Instant::now() + Duration::from_secs(60);
    let mut open = GATE.lock().unwrap_or_else(|e| e.into_inner());
    while !*open {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        open = GATE_CHANGED
            .wait_timeout(open, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// Configured delays.
pub struct SlowHooks {
    sleep: Duration,
    notify_sleep: Duration,
    status_panics: bool,
}

#[emqx_rust_hook::export]
impl Hooks for SlowHooks {
    fn init(config: &Config) -> Result<Self, InitError> {
        let ms: u64 = config
            .get("sleep_ms")
            .map(|_| config.parse("sleep_ms"))
            .transpose()?
            .unwrap_or(2000);
        let us: u64 = config
            .get("notify_sleep_us")
            .map(|_| config.parse("notify_sleep_us"))
            .transpose()?
            .unwrap_or(0);
        Ok(SlowHooks {
            sleep: Duration::from_millis(ms),
            notify_sleep: Duration::from_micros(us),
            status_panics: config.get("status_panics") == Some("on"),
        })
    }

    fn status(&self) -> Vec<(String, String)> {
        if self.status_panics {
            panic!("test panic in status");
        }
        vec![("sleep_ms".into(), self.sleep.as_millis().to_string())]
    }

    fn command(&self, args: &[String]) -> Result<String, String> {
        match args.split_first() {
            Some((c, rest)) if c == "echo" => Ok(rest.join(" ")),
            Some((c, _)) if c == "panic" => panic!("test panic in command"),
            _ => Err("slow_hooks knows echo and panic".into()),
        }
    }

    #[hook(pool)]
    fn client_authenticate(&self, client: &ClientInfo, _result: AuthResult) -> AuthDecision {
        match client.username().and_then(|u| u.as_str()) {
            Some("slow") => {
                std::thread::sleep(self.sleep);
                AuthDecision::Allow
            }
            Some("gated") => {
                wait_gate();
                AuthDecision::Allow
            }
            Some("panic") => panic!("test panic in a pool hook"),
            _ => AuthDecision::Allow,
        }
    }

    #[hook(inline)]
    fn client_check_acl(
        &self,
        _client: &ClientInfo,
        _ps: PubSub,
        topic: &str,
        _acc: AclResult,
    ) -> AclDecision {
        if topic.starts_with("panic/") {
            panic!("test panic in an inline hook");
        }
        match topic {
            "gate/close" => set_gate(false),
            "gate/open" => set_gate(true),
            t if t.starts_with("block/") => std::thread::sleep(self.sleep),
            _ => {}
        }
        AclDecision::Allow
    }

    #[hook(pool)]
    fn message_publish(&self, message: &Message) -> PublishDecision {
        if message.topic().starts_with("panic/") {
            panic!("test panic in message_publish");
        }
        if message.topic().starts_with("slow/") {
            std::thread::sleep(self.sleep);
        }
        PublishDecision::Abstain
    }

    #[hook(queue)]
    fn client_connected(&self, client: &ClientInfo, conninfo: &ConnInfo) {
        if client.clientid().0.starts_with(b"panic") {
            panic!("test panic in a queued hook");
        }
        if client.clientid().0.starts_with(b"gated") {
            wait_gate();
        }
        if !self.notify_sleep.is_zero() {
            std::thread::sleep(self.notify_sleep);
        }
        let _ = erl::send(
            "rust_hook_probe",
            &(client.clientid(), conninfo.connected_at()),
        );
    }

    #[hook(queue)]
    fn message_delivered(&self, client: &ClientInfo, message: &Message) -> DeliverDecision {
        if message.topic().starts_with("gated/") {
            wait_gate();
        }
        if !self.notify_sleep.is_zero() {
            std::thread::sleep(self.notify_sleep);
        }
        let _ = erl::send("rust_hook_probe", &(client.clientid(), message.topic()));
        // Ignored: a queued hook observes, it cannot change the message.
        DeliverDecision::Change(MessageChange::payload(b"ignored".to_vec()))
    }

    #[hook(queue)]
    fn session_created(&self, client: &ClientInfo, _sessinfo: &SessInfo) {
        if client.clientid().0.starts_with(b"panic") {
            panic!("test panic in session_created");
        }
    }
}
