//! The two ends of an `async fn` hook call that `#[export]` glues to the user's method:
//! [`AsyncArgs`] (the call's terms) decoded into the method's arguments by the function
//! of its hook in [`args`], and the method's answer as a [`Decided`], encoded back into
//! what EMQX expects by [`encode`]. The decoding and encoding are the same as for a
//! sync method (`dispatch`).

use super::decode as d;
use super::dispatch::{CallError, Prepared};
use super::encode as e;
use super::lazy::Lazy;
use crate::decision::*;
use crate::hookpoint::HookPoint;
use rustler::{Encoder, Env, Term};
use std::future::Future;
use std::pin::Pin;

/// The future of one `async fn` hook call, built by the code `#[export]` generates.
pub type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<Decided, CallError>> + Send + 'a>>;

/// The terms of one async call: the hook's arguments (accumulator last), the caller's
/// own, read during the future's first poll (see `lazy`), and what was decoded before.
pub struct AsyncArgs<'a> {
    /// The hook called.
    pub hook: HookPoint,
    terms: [Option<Term<'a>>; 4],
    prepared: Prepared,
    /// The call's lazy context (see `lazy`): the terms are the caller's.
    lazy: *const Lazy,
}

// SAFETY: the terms are read by one thread at a time (the future that owns them is
// polled with `&mut` access), and the lazy context is `Sync`.
unsafe impl Send for AsyncArgs<'_> {}

impl<'a> AsyncArgs<'a> {
    /// The arguments `terms` of `hook`.
    /// `lazy`: the call's context, which outlives the future these arguments go to.
    pub(crate) fn new(
        hook: HookPoint,
        terms: &[Term<'a>],
        prepared: Prepared,
        lazy: *const Lazy,
    ) -> Self {
        let mut t = [None; 4];
        for (slot, term) in t.iter_mut().zip(terms) {
            *slot = Some(*term);
        }
        AsyncArgs {
            hook,
            terms: t,
            prepared,
            lazy,
        }
    }

    /// `decode` over these arguments, with the call's reads of bytes captured (the views
    /// it makes keep the call's context).
    fn capture<T>(self, decode: impl FnOnce(Self) -> Result<T, CallError>) -> Result<T, CallError> {
        let lazy = self.lazy;
        super::lazy::capturing(lazy, || decode(self))
    }

    fn get(&self, i: usize) -> Result<Term<'a>, CallError> {
        self.terms
            .get(i)
            .copied()
            .flatten()
            .ok_or(CallError::Decode(d::DecodeError {
                what: "arguments",
                expected: "the hook's arity",
            }))
    }

    fn reason(&mut self, i: usize) -> Result<crate::types::Reason, CallError> {
        let t = self.get(i)?;
        Ok(self.prepared.reason.take().unwrap_or_else(|| d::reason(t)))
    }
}

/// What an async hook method returned (the SDK encodes it for EMQX).
#[derive(Debug)]
pub enum Decided {
    /// A notification's `()`.
    Unit,
    /// `client.connect`.
    Connect(ConnectDecision),
    /// `client.connack`.
    Connack(ConnackDecision),
    /// `client.authenticate`.
    Auth(AuthDecision),
    /// `client.check_acl`.
    Acl(AclDecision),
    /// `client.subscribe` / `client.unsubscribe`.
    Filters(FilterDecision),
    /// `message.publish`.
    Publish(PublishDecision),
    /// `message.delivered`.
    Deliver(DeliverDecision),
}

macro_rules! decided_from {
    ($($ty:ty => $v:ident),*) => {
        $(impl From<$ty> for Decided {
            fn from(d: $ty) -> Self {
                Decided::$v(d)
            }
        })*
    };
}
decided_from!(ConnectDecision => Connect, ConnackDecision => Connack, AuthDecision => Auth,
    AclDecision => Acl, FilterDecision => Filters, PublishDecision => Publish,
    DeliverDecision => Deliver);

impl From<()> for Decided {
    fn from(_: ()) -> Self {
        Decided::Unit
    }
}

/// The arguments of each hook, decoded for its `async fn` method (one function per hook,
/// named after the method; the tuple holds the method's arguments in order).
pub mod args {
    use super::*;
    use crate::types::*;

    type R<T> = Result<T, CallError>;

    /// `client_connect`.
    pub fn client_connect(a: AsyncArgs<'_>) -> R<(ConnInfo<'_>, Properties<'_>)> {
        a.capture(|a| {
            Ok((
                ConnInfo::new(a.get(0)?)?,
                d::properties(a.get(1)?, "client.connect props")?,
            ))
        })
    }

    /// `client_connack`.
    pub fn client_connack(a: AsyncArgs<'_>) -> R<(ConnInfo<'_>, ConnackReason, Properties<'_>)> {
        a.capture(|a| {
            Ok((
                ConnInfo::new(a.get(0)?)?,
                ConnackReason::from_atom(d::atom_text(a.get(1)?, "client.connack rc")?),
                d::properties(a.get(2)?, "client.connack props")?,
            ))
        })
    }

    /// `client_connected`.
    pub fn client_connected(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, ConnInfo<'_>)> {
        a.capture(|a| Ok((ClientInfo::new(a.get(0)?)?, ConnInfo::new(a.get(1)?)?)))
    }

    /// `client_disconnected`.
    pub fn client_disconnected(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, Reason, ConnInfo<'_>)> {
        a.capture(|mut a| {
            let r = a.reason(1)?;
            Ok((ClientInfo::new(a.get(0)?)?, r, ConnInfo::new(a.get(2)?)?))
        })
    }

    /// `client_authenticate`.
    pub fn client_authenticate(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, AuthResult)> {
        a.capture(|a| Ok((ClientInfo::new(a.get(0)?)?, d::auth_result(a.get(1)?)?)))
    }

    /// `client_check_acl`.
    pub fn client_check_acl(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, PubSub, &str, AclResult)> {
        a.capture(|a| {
            Ok((
                ClientInfo::new(a.get(0)?)?,
                d::pubsub(a.get(1)?)?,
                d::text(a.get(2)?, "client.check_acl topic")?,
                d::acl_result(a.get(3)?),
            ))
        })
    }

    /// `client_subscribe`.
    pub fn client_subscribe(
        a: AsyncArgs<'_>,
    ) -> R<(ClientInfo<'_>, Properties<'_>, Vec<TopicFilter<'_>>)> {
        a.capture(|a| {
            Ok((
                ClientInfo::new(a.get(0)?)?,
                d::properties(a.get(1)?, "client.subscribe props")?,
                d::topic_filters(a.get(2)?)?,
            ))
        })
    }

    /// `client_unsubscribe`.
    pub fn client_unsubscribe(
        a: AsyncArgs<'_>,
    ) -> R<(ClientInfo<'_>, Properties<'_>, Vec<TopicFilter<'_>>)> {
        a.capture(|a| {
            Ok((
                ClientInfo::new(a.get(0)?)?,
                d::properties(a.get(1)?, "client.unsubscribe props")?,
                d::topic_filters(a.get(2)?)?,
            ))
        })
    }

    fn client_sess(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, SessInfo<'_>)> {
        a.capture(|a| Ok((ClientInfo::new(a.get(0)?)?, d::sessinfo(a.get(1)?)?)))
    }

    /// `session_created`.
    pub fn session_created(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, SessInfo<'_>)> {
        a.capture(|a| client_sess(a))
    }

    /// `session_resumed`.
    pub fn session_resumed(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, SessInfo<'_>)> {
        a.capture(|a| client_sess(a))
    }

    /// `session_discarded`.
    pub fn session_discarded(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, SessInfo<'_>)> {
        a.capture(|a| client_sess(a))
    }

    /// `session_takeovered`.
    pub fn session_takeovered(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, SessInfo<'_>)> {
        a.capture(|a| client_sess(a))
    }

    fn client_topic_opts(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, &str, SubOpts<'_>)> {
        a.capture(|a| {
            Ok((
                ClientInfo::new(a.get(0)?)?,
                d::text(a.get(1)?, "session topic")?,
                d::subopts(a.get(2)?)?,
            ))
        })
    }

    /// `session_subscribed`.
    pub fn session_subscribed(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, &str, SubOpts<'_>)> {
        a.capture(|a| client_topic_opts(a))
    }

    /// `session_unsubscribed`.
    pub fn session_unsubscribed(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, &str, SubOpts<'_>)> {
        a.capture(|a| client_topic_opts(a))
    }

    /// `session_terminated`.
    pub fn session_terminated(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, Reason, SessInfo<'_>)> {
        a.capture(|mut a| {
            let r = a.reason(1)?;
            Ok((ClientInfo::new(a.get(0)?)?, r, d::sessinfo(a.get(2)?)?))
        })
    }

    /// `message_publish`.
    pub fn message_publish(a: AsyncArgs<'_>) -> R<(Message<'_>,)> {
        a.capture(|a| Ok((Message::new(a.get(0)?)?,)))
    }

    /// `message_delivered`.
    pub fn message_delivered(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, Message<'_>)> {
        a.capture(|a| Ok((ClientInfo::new(a.get(0)?)?, Message::new(a.get(1)?)?)))
    }

    /// `message_acked`.
    pub fn message_acked(a: AsyncArgs<'_>) -> R<(ClientInfo<'_>, Message<'_>)> {
        a.capture(|a| Ok((ClientInfo::new(a.get(0)?)?, Message::new(a.get(1)?)?)))
    }

    /// `message_dropped`.
    pub fn message_dropped(a: AsyncArgs<'_>) -> R<(Message<'_>, &'static str, Reason)> {
        a.capture(|mut a| {
            let r = a.reason(2)?;
            Ok((Message::new(a.get(0)?)?, d::node(a.get(1)?), r))
        })
    }
}

/// What EMQX expects for `decided`, built from the call's arguments `args` (in `env`),
/// as for a sync method. `payload_elided`: the copied message lost its payload (see
/// `Prepared`), so a decision that changes it is refused.
pub fn encode<'a>(
    env: Env<'a>,
    hook: HookPoint,
    decided: Decided,
    args: &[Term<'a>],
    payload_elided: bool,
) -> Result<Term<'a>, CallError> {
    let prepared = Prepared {
        payload_elided,
        ..Default::default()
    };
    let arg = |i: usize| {
        args.get(i)
            .copied()
            .ok_or(CallError::Decode(d::DecodeError {
                what: "arguments",
                expected: "the hook's arity",
            }))
    };
    let wrong = || {
        CallError::Encode(e::EncodeError(format!(
            "{hook}: the method returned a value of another hook"
        )))
    };
    use HookPoint::*;
    Ok(match (hook, decided) {
        (ClientConnect, Decided::Connect(dec)) => e::connect(env, &dec, arg(1)?)?,
        (ClientConnack, Decided::Connack(dec)) => e::connack(env, &dec, arg(2)?)?,
        (ClientAuthenticate, Decided::Auth(dec)) => e::auth(env, dec, arg(1)?)?,
        (ClientCheckAcl, Decided::Acl(dec)) => e::acl(env, dec),
        (ClientSubscribe, Decided::Filters(dec)) => e::filters(env, &dec, arg(2)?, true)?,
        (ClientUnsubscribe, Decided::Filters(dec)) => e::filters(env, &dec, arg(2)?, false)?,
        (MessagePublish, Decided::Publish(dec)) => {
            prepared.check_message_change(match &dec {
                PublishDecision::Abstain => false,
                PublishDecision::Change(c) => !c.is_empty(),
                PublishDecision::Deny => true,
            })?;
            e::publish(env, &dec, arg(0)?)?
        }
        (MessageDelivered, Decided::Deliver(dec)) => {
            prepared.check_message_change(match &dec {
                DeliverDecision::Abstain => false,
                DeliverDecision::Change(c) => !c.is_empty(),
            })?;
            e::delivered(env, &dec, arg(1)?)?
        }
        (_, Decided::Unit) if hook.kind() == crate::hookpoint::HookKind::Notify => {
            super::atoms::ok().encode(env)
        }
        _ => return Err(wrong()),
    })
}
