//! The example hook library: logs connects and publishes (a publish as its topic, its
//! payload's size and a short escaped preview of the payload), allows logins with a
//! non-empty client id, and denies ACL checks for clients without a username.

use emqx_rust_hook::prelude::*;
use tracing::info;

/// The example's hooks; it keeps no state.
pub struct Example;

#[emqx_rust_hook::export]
impl Hooks for Example {
    fn init(config: &Config) -> Result<Self, InitError> {
        info!(
            "example hook library started (EMQX {})",
            config.emqx_version()
        );
        Ok(Example)
    }

    fn client_connect(&self, conninfo: &ConnInfo, _props: &Properties) -> ConnectDecision {
        info!(
            "client connecting: clientid={} peer={:?}",
            conninfo.clientid(),
            conninfo.peername()
        );
        ConnectDecision::Abstain
    }

    fn client_connected(&self, client: &ClientInfo, _conninfo: &ConnInfo) {
        info!(
            "client connected: clientid={} username={:?}",
            client.clientid(),
            client.username()
        );
    }

    fn client_authenticate(&self, client: &ClientInfo, _result: AuthResult) -> AuthDecision {
        if client.clientid().is_empty() {
            AuthDecision::Deny(AuthDenyReason::NotAuthorized)
        } else {
            AuthDecision::Allow
        }
    }

    fn client_check_acl(
        &self,
        client: &ClientInfo,
        _: PubSub,
        _: &str,
        _: AclResult,
    ) -> AclDecision {
        match client.username() {
            Some(u) if !u.is_empty() => AclDecision::Allow,
            _ => AclDecision::Deny,
        }
    }

    fn message_publish(&self, message: &Message) -> PublishDecision {
        let payload = message.payload();
        info!(
            "publish: topic={} payload={} ({} bytes)",
            message.topic(),
            preview(payload.as_bytes()),
            payload.len()
        );
        PublishDecision::Abstain
    }
}

/// How many payload bytes a log line shows.
const PREVIEW_BYTES: usize = 64;

/// The first [`PREVIEW_BYTES`] bytes of `payload`, quoted, with anything that is not
/// printable ASCII escaped (`\n`, `\xff`...), and `...` when there is more: payloads are
/// client data, and a log line must stay short and printable.
fn preview(payload: &[u8]) -> String {
    let shown = &payload[..payload.len().min(PREVIEW_BYTES)];
    let more = if payload.len() > PREVIEW_BYTES {
        "..."
    } else {
        ""
    };
    format!("\"{}\"{more}", shown.escape_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Example {
        Example::init(&Config::builder().build()).unwrap()
    }

    #[test]
    fn logins_need_a_client_id() {
        let ok = ClientInfo::builder().authenticating().build();
        let auth = AuthResult::builder().build();
        assert_eq!(
            example().client_authenticate(&ok, auth),
            AuthDecision::Allow
        );
        let no_id = ClientInfo::builder().authenticating().clientid("").build();
        assert_eq!(
            example().client_authenticate(&no_id, auth),
            AuthDecision::Deny(AuthDenyReason::NotAuthorized)
        );
    }

    #[test]
    fn acl_needs_a_username() {
        let check = |c: &ClientInfo| {
            example().client_check_acl(c, PubSub::Subscribe, "t/#", AclResult::Allow)
        };
        assert_eq!(check(&ClientInfo::builder().build()), AclDecision::Allow);
        let anonymous = ClientInfo::builder().username(None).build();
        assert_eq!(check(&anonymous), AclDecision::Deny);
        let empty = ClientInfo::builder().username("").build();
        assert_eq!(check(&empty), AclDecision::Deny);
    }

    #[test]
    fn publishes_go_on_unchanged() {
        let m = Message::builder().payload(vec![0xff; 100]).build();
        assert_eq!(example().message_publish(&m), PublishDecision::Abstain);
    }

    #[test]
    fn previews_are_short_and_printable() {
        assert_eq!(preview(b"hello"), "\"hello\"");
        assert_eq!(preview(b"a\nb\xff"), "\"a\\nb\\xff\"");
        let long = preview(&[b'x'; 100]);
        assert_eq!(long, format!("\"{}\"...", "x".repeat(PREVIEW_BYTES)));
    }
}
