//! @NAME@: an EMQX 4.x hook library (emqx-rust-hook). It lets in the clients that give
//! the password set in the plugin's conf:
//!
//! ```text
//! exhook.drivers.rust.init.password = s3cret
//! ```

use emqx_rust_hook::prelude::*;

/// The hooks. In a test, call them as EMQX would, with test values:
///
/// ```
/// use emqx_rust_hook::prelude::*;
/// use @CRATE@::@TYPE@;
///
/// let hooks = @TYPE@::init(&Config::builder().set("password", "pw").build()).unwrap();
/// let client = ClientInfo::builder().password("pw").build();
/// let result = AuthResult::builder().build();
/// assert_eq!(hooks.client_authenticate(&client, result), AuthDecision::Allow);
/// ```
pub struct @TYPE@ {
    password: Vec<u8>,
}

#[emqx_rust_hook::export]
impl Hooks for @TYPE@ {
    fn init(config: &Config) -> Result<Self, InitError> {
        let password = config
            .get("password")
            .ok_or_else(|| InitError::new("set exhook.drivers.rust.init.password"))?;
        Ok(@TYPE@ {
            password: password.as_bytes().to_vec(),
        })
    }

    fn client_authenticate(&self, client: &ClientInfo, _result: AuthResult) -> AuthDecision {
        match client.password() {
            Some(p) if p.matches(&self.password) => AuthDecision::Allow,
            _ => AuthDecision::Deny(AuthDenyReason::BadUsernameOrPassword),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hooks() -> @TYPE@ {
        @TYPE@::init(&Config::builder().set("password", "s3cret").build()).unwrap()
    }

    /// `ClientInfo::builder()` is a client as a real EMQX 4.2 broker passes it; change
    /// only what the test is about.
    #[test]
    fn the_right_password_gets_in() {
        let alice = ClientInfo::builder().username("alice").password("s3cret").build();
        let result = AuthResult::builder().build();
        assert_eq!(hooks().client_authenticate(&alice, result), AuthDecision::Allow);
    }

    #[test]
    fn a_wrong_or_missing_password_does_not() {
        let result = AuthResult::builder().build();
        for client in [
            ClientInfo::builder().password("guess").build(),
            ClientInfo::builder().password(None).build(),
        ] {
            assert_eq!(
                hooks().client_authenticate(&client, result),
                AuthDecision::Deny(AuthDenyReason::BadUsernameOrPassword)
            );
        }
    }

    #[test]
    fn init_needs_the_password() {
        assert!(@TYPE@::init(&Config::builder().build()).is_err());
    }
}
