//! The 19 EMQX 4.x hookpoints and what the broker does with each one's result.

use std::fmt;

/// How EMQX runs a hookpoint (contract 1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookKind {
    /// `run`: a notification; the return value cannot change the broker's behaviour.
    Notify,
    /// `run_fold`: the callback may change an accumulator (a decision, a message, a list).
    Fold,
}

macro_rules! hookpoints {
    ($( $variant:ident => $name:literal, $method:literal, $kind:ident, $arity:literal; )*) => {
        /// One of the 19 hookpoints of EMQX 4.2 to 4.4.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum HookPoint {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl HookPoint {
            /// Every hookpoint, in the contract's order.
            pub const ALL: [HookPoint; 19] = [$(HookPoint::$variant),*];

            /// The EMQX name, e.g. `"client.authenticate"`.
            pub const fn name(self) -> &'static str {
                match self { $(HookPoint::$variant => $name),* }
            }

            /// The [`Hooks`](crate::Hooks) method that implements it, e.g. `"client_authenticate"`.
            pub const fn method(self) -> &'static str {
                match self { $(HookPoint::$variant => $method),* }
            }

            /// `run` or `run_fold`.
            pub const fn kind(self) -> HookKind {
                match self { $(HookPoint::$variant => HookKind::$kind),* }
            }

            /// Number of arguments EMQX passes (the accumulator included for folds).
            pub const fn arity(self) -> usize {
                match self { $(HookPoint::$variant => $arity),* }
            }

            /// Looks a hookpoint up by its [`Hooks`](crate::Hooks) method name.
            pub fn from_method(method: &str) -> Option<HookPoint> {
                match method { $($method => Some(HookPoint::$variant),)* _ => None }
            }

            /// Looks a hookpoint up by its EMQX name.
            pub fn from_name(name: &str) -> Option<HookPoint> {
                match name { $($name => Some(HookPoint::$variant),)* _ => None }
            }
        }
    };
}

hookpoints! {
    ClientConnect => "client.connect", "client_connect", Fold, 2;
    ClientConnack => "client.connack", "client_connack", Fold, 3;
    ClientConnected => "client.connected", "client_connected", Notify, 2;
    ClientDisconnected => "client.disconnected", "client_disconnected", Notify, 3;
    ClientAuthenticate => "client.authenticate", "client_authenticate", Fold, 2;
    ClientCheckAcl => "client.check_acl", "client_check_acl", Fold, 4;
    ClientSubscribe => "client.subscribe", "client_subscribe", Fold, 3;
    ClientUnsubscribe => "client.unsubscribe", "client_unsubscribe", Fold, 3;
    SessionCreated => "session.created", "session_created", Notify, 2;
    SessionSubscribed => "session.subscribed", "session_subscribed", Notify, 3;
    SessionUnsubscribed => "session.unsubscribed", "session_unsubscribed", Notify, 3;
    SessionResumed => "session.resumed", "session_resumed", Notify, 2;
    SessionDiscarded => "session.discarded", "session_discarded", Notify, 2;
    SessionTakeovered => "session.takeovered", "session_takeovered", Notify, 2;
    SessionTerminated => "session.terminated", "session_terminated", Notify, 3;
    MessagePublish => "message.publish", "message_publish", Fold, 1;
    MessageDelivered => "message.delivered", "message_delivered", Fold, 2;
    MessageAcked => "message.acked", "message_acked", Notify, 2;
    MessageDropped => "message.dropped", "message_dropped", Notify, 3;
}

impl HookPoint {
    /// True for the four message hooks, the ones a topic filter applies to.
    pub const fn is_message_hook(self) -> bool {
        matches!(
            self,
            HookPoint::MessagePublish
                | HookPoint::MessageDelivered
                | HookPoint::MessageAcked
                | HookPoint::MessageDropped
        )
    }

    /// Position in [`HookPoint::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for HookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_methods_round_trip() {
        for hp in HookPoint::ALL {
            assert_eq!(HookPoint::from_name(hp.name()), Some(hp));
            assert_eq!(HookPoint::from_method(hp.method()), Some(hp));
            assert_eq!(hp.name().replace('.', "_"), hp.method());
            assert_eq!(HookPoint::ALL[hp.index()], hp);
        }
        assert_eq!(HookPoint::from_method("init"), None);
    }

    #[test]
    fn kinds_follow_the_contract() {
        let folds: Vec<_> = HookPoint::ALL
            .iter()
            .filter(|h| h.kind() == HookKind::Fold)
            .map(|h| h.name())
            .collect();
        assert_eq!(
            folds,
            [
                "client.connect",
                "client.connack",
                "client.authenticate",
                "client.check_acl",
                "client.subscribe",
                "client.unsubscribe",
                "message.publish",
                "message.delivered"
            ]
        );
        assert_eq!(HookPoint::ClientCheckAcl.arity(), 4);
        assert_eq!(HookPoint::MessagePublish.arity(), 1);
    }
}
