//! Test fixture for `async fn` hook methods (tests/rust_hook_async_tests.erl).
//!
//! `client_authenticate` by username: `sleep` awaits a timer (`init.sleep_ms`, default
//! 3000), holding a guard whose
//! `Drop` reports `{drop, Username}` to the probe process `rust_hook_probe` (so a
//! cancelled future is observed); `yield` awaits 1 ms; `panic_before` panics before its
//! first await, `panic_after` after it; `hold` keeps its client id and username (borrowed
//! from the arguments) across a 5 ms await and then reports `{held, ClientId, Username}`;
//! `hold_all` does the same with its password and mountpoint too, and reads them again
//! after the await; anyone else is allowed at once, without awaiting
//! (ready on the first poll). `client_connected` (a notification) awaits 1 ms and then
//! reports `{connected, ClientId}`. `message_publish` keeps the bytes of messages
//! under `hold/` across an await (see the method). `client_check_acl` is a sync inline hook next to them.

use emqx_rust_hook::erl;
use emqx_rust_hook::prelude::*;
use std::time::Duration;

/// How long `sleep` logins await.
pub struct AsyncFnHooks {
    sleep: Duration,
}

/// Reports `{drop, Who}` to the probe when dropped.
struct DropReport(String);

impl Drop for DropReport {
    fn drop(&mut self) {
        let _ = erl::send("rust_hook_probe", &("drop", &self.0));
    }
}

#[emqx_rust_hook::export]
impl Hooks for AsyncFnHooks {
    fn init(config: &Config) -> Result<Self, InitError> {
        let ms: u64 = config
            .get("sleep_ms")
            .map(|_| config.parse("sleep_ms"))
            .transpose()?
            .unwrap_or(3000);
        Ok(AsyncFnHooks {
            sleep: Duration::from_millis(ms),
        })
    }

    async fn client_authenticate(
        &self,
        client: &ClientInfo<'_>,
        _result: AuthResult,
    ) -> AuthDecision {
        let user = client
            .username()
            .and_then(|u| u.as_str())
            .unwrap_or_default()
            .to_string();
        match user.as_str() {
            "sleep" => {
                let _guard = DropReport(client.clientid().as_str().unwrap_or_default().into());
                tokio::time::sleep(self.sleep).await;
                AuthDecision::Allow
            }
            "yield" => {
                tokio::time::sleep(Duration::from_millis(1)).await;
                AuthDecision::AllowSuperuser
            }
            "hold" => {
                // Borrowed from the arguments before the await, read after it: they must
                // still be the client's values once its process has gone on.
                let id = client.clientid();
                let name = client.username();
                tokio::time::sleep(Duration::from_millis(5)).await;
                let _ = erl::send(
                    "rust_hook_probe",
                    &(
                        "held",
                        id.as_str().unwrap_or("<not utf-8>"),
                        name.and_then(|n| n.as_str()).unwrap_or("<none>"),
                    ),
                );
                AuthDecision::Allow
            }
            "hold_all" => {
                // The same, for every field that hands out bytes, and the same fields
                // read again after the await (from the copy of the pending call).
                let (id, name) = (client.clientid(), client.username().unwrap_or_default());
                let password = client.password().map(|p| p.expose()).unwrap_or_default();
                let mountpoint = client.mountpoint().unwrap_or_default();
                tokio::time::sleep(Duration::from_millis(5)).await;
                let again = client.clientid() == id
                    && client.username() == Some(name)
                    && client.password().map(|p| p.expose()).unwrap_or_default() == password
                    && client.mountpoint().unwrap_or_default() == mountpoint;
                let _ = erl::send(
                    "rust_hook_probe",
                    &(
                        "held_all",
                        id,
                        std::str::from_utf8(password).unwrap_or("<not utf-8>"),
                        mountpoint,
                        again,
                    ),
                );
                AuthDecision::Allow
            }
            "panic_before" => panic!("test panic before the first await"),
            "panic_after" => {
                tokio::time::sleep(Duration::from_millis(1)).await;
                panic!("test panic after the first await")
            }
            _ => AuthDecision::Allow,
        }
    }

    async fn client_connected(&self, client: &ClientInfo<'_>, _conninfo: &ConnInfo<'_>) {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let _ = erl::send("rust_hook_probe", &("connected", client.clientid()));
    }

    /// Topics under `hold/`: the message's bytes, kept across a 5 ms await, and read
    /// again after it, are reported as `{held_msg, Topic, Payload, From, HeaderUser,
    /// UserPropertyValue, SameAfter}`. Other messages go through at once.
    async fn message_publish(&self, message: &Message<'_>) -> PublishDecision {
        if !message.topic().starts_with("hold/") {
            return PublishDecision::Abstain;
        }
        let (topic, payload) = (message.topic(), message.payload());
        let from = match message.from() {
            Publisher::Client(id) => id,
            _ => Default::default(),
        };
        let headers = message.headers();
        let user = headers.username().unwrap_or_default();
        let props = headers.properties();
        let value = props.user_properties().first().map(|(_, v)| *v);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let same = message.topic() == topic
            && message.payload() == payload
            && message.from() == Publisher::Client(from)
            && message.headers().username() == Some(user)
            && headers.username() == Some(user)
            && message
                .headers()
                .properties()
                .user_properties()
                .first()
                .map(|(_, v)| *v)
                == value;
        let _ = erl::send(
            "rust_hook_probe",
            &(
                "held_msg",
                topic,
                payload,
                from,
                user,
                value.unwrap_or_default(),
                same,
            ),
        );
        PublishDecision::Abstain
    }

    #[hook(inline)]
    fn client_check_acl(
        &self,
        _: &ClientInfo,
        _: PubSub,
        topic: &str,
        _: AclResult,
    ) -> AclDecision {
        if topic == "deny" {
            AclDecision::Deny
        } else {
            AclDecision::Allow
        }
    }
}
