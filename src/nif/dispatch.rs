//! One hook call: decode the arguments, run the user's method, encode its decision.
//! The same code serves every execution mode; it only needs an `Env` and the terms.

use super::atoms;
use super::decode::{self as d, DecodeError};
use super::encode::{self as e, EncodeError};
use super::instance::{Core, HookStats};
use crate::decision::{DeliverDecision, PublishDecision};
use crate::hookpoint::HookPoint;
use crate::log_context::{self, Who};
use crate::types::{ClientInfo, ConnInfo, ConnackReason, Message, Reason};
use rustler::{Encoder, Env, LocalPid, Term};

/// What the caller of a pool or queued call prepared besides the copied arguments (see
/// `exec`): free-form terms are decoded, within their bounds, before the copy, so a deep
/// or huge term is never copied.
#[derive(Default)]
pub struct Prepared {
    /// The hook's reason argument, already decoded (its term was not copied).
    pub reason: Option<Reason>,
    /// The message's payload was past the iolist bounds and replaced by `<<>>` in the
    /// copy: the hook sees an empty payload, and a decision that returns a changed
    /// message is refused (it would carry the empty payload).
    pub payload_elided: bool,
    /// The process that made the call (log lines name its client; see `log_context`).
    pub caller: Option<LocalPid>,
}

impl Prepared {
    fn reason(&mut self, term: Term) -> Reason {
        self.reason.take().unwrap_or_else(|| d::reason(term))
    }

    pub(crate) fn check_message_change(&self, changes: bool) -> Result<(), CallError> {
        if self.payload_elided && changes {
            return Err(CallError::Encode(EncodeError(
                "the message's payload was past the SDK's bounds and was not copied to the \
                 worker, so the message cannot be changed here"
                    .into(),
            )));
        }
        Ok(())
    }
}

/// Why a call produced no decision.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// An argument is not what the contract says.
    #[error("bad argument: {0}")]
    Decode(#[from] DecodeError),
    /// The decision cannot be returned to EMQX.
    #[error("{0}")]
    Encode(#[from] EncodeError),
    /// The user's code panicked.
    #[error("panic: {0}")]
    Panic(String),
}

/// Runs `hook` with `args` (the hook's arguments, accumulator last) on `inst`.
pub fn dispatch<'a>(
    env: Env<'a>,
    core: &Core,
    hook: HookPoint,
    args: &[Term<'a>],
    mut prepared: Prepared,
) -> Result<Term<'a>, CallError> {
    let h = &*core.hooks;
    let ok = || super::atoms::ok().encode(env);
    use HookPoint::*;
    Ok(match (hook, args) {
        (ClientConnect, [conninfo, props]) => {
            let ci = ConnInfo::new(*conninfo)?;
            let p = d::properties(*props, "client.connect props")?;
            let decision = user(|| h.client_connect(&ci, &p))?;
            e::connect(env, &decision, *props)?
        }
        (ClientConnack, [conninfo, rc, props]) => {
            let ci = ConnInfo::new(*conninfo)?;
            let rc = ConnackReason::from_atom(d::atom_text(*rc, "client.connack rc")?);
            let p = d::properties(*props, "client.connack props")?;
            let decision = user(|| h.client_connack(&ci, rc, &p))?;
            e::connack(env, &decision, *props)?
        }
        (ClientConnected, [clientinfo, conninfo]) => {
            let (cl, ci) = (ClientInfo::new(*clientinfo)?, ConnInfo::new(*conninfo)?);
            user(|| h.client_connected(&cl, &ci))?;
            ok()
        }
        (ClientDisconnected, [clientinfo, reason, conninfo]) => {
            let (cl, ci) = (ClientInfo::new(*clientinfo)?, ConnInfo::new(*conninfo)?);
            let r = prepared.reason(*reason);
            user(|| h.client_disconnected(&cl, &r, &ci))?;
            ok()
        }
        (ClientAuthenticate, [clientinfo, acc]) => {
            let cl = ClientInfo::new(*clientinfo)?;
            let result = d::auth_result(*acc)?;
            let decision = user(|| h.client_authenticate(&cl, result))?;
            e::auth(env, decision, *acc)?
        }
        (ClientCheckAcl, [clientinfo, pubsub, topic, acc]) => {
            let cl = ClientInfo::new(*clientinfo)?;
            let ps = d::pubsub(*pubsub)?;
            let t = d::text(*topic, "client.check_acl topic")?;
            let decision = user(|| h.client_check_acl(&cl, ps, t, d::acl_result(*acc)))?;
            e::acl(env, decision)
        }
        (ClientSubscribe, [clientinfo, props, filters]) => {
            let cl = ClientInfo::new(*clientinfo)?;
            let p = d::properties(*props, "client.subscribe props")?;
            let f = d::topic_filters(*filters)?;
            let decision = user(|| h.client_subscribe(&cl, &p, &f))?;
            e::filters(env, &decision, *filters, true)?
        }
        (ClientUnsubscribe, [clientinfo, props, filters]) => {
            let cl = ClientInfo::new(*clientinfo)?;
            let p = d::properties(*props, "client.unsubscribe props")?;
            let f = d::topic_filters(*filters)?;
            let decision = user(|| h.client_unsubscribe(&cl, &p, &f))?;
            e::filters(env, &decision, *filters, false)?
        }
        (
            SessionCreated | SessionResumed | SessionDiscarded | SessionTakeovered,
            [clientinfo, sessinfo],
        ) => {
            let (cl, si) = (ClientInfo::new(*clientinfo)?, d::sessinfo(*sessinfo)?);
            user(|| match hook {
                SessionCreated => h.session_created(&cl, &si),
                SessionResumed => h.session_resumed(&cl, &si),
                SessionDiscarded => h.session_discarded(&cl, &si),
                _ => h.session_takeovered(&cl, &si),
            })?;
            ok()
        }
        (SessionSubscribed | SessionUnsubscribed, [clientinfo, topic, opts]) => {
            let cl = ClientInfo::new(*clientinfo)?;
            let t = d::text(*topic, "session topic")?;
            let o = d::subopts(*opts)?;
            user(|| match hook {
                SessionSubscribed => h.session_subscribed(&cl, t, &o),
                _ => h.session_unsubscribed(&cl, t, &o),
            })?;
            ok()
        }
        (SessionTerminated, [clientinfo, reason, sessinfo]) => {
            let (cl, si) = (ClientInfo::new(*clientinfo)?, d::sessinfo(*sessinfo)?);
            let r = prepared.reason(*reason);
            user(|| h.session_terminated(&cl, &r, &si))?;
            ok()
        }
        (MessagePublish, [msg]) => {
            let m = Message::new(*msg)?;
            let decision = user(|| h.message_publish(&m))?;
            prepared.check_message_change(match &decision {
                PublishDecision::Abstain => false,
                PublishDecision::Change(c) => !c.is_empty(),
                PublishDecision::Deny => true,
            })?;
            e::publish(env, &decision, *msg)?
        }
        (MessageDelivered, [clientinfo, msg]) => {
            let (cl, m) = (ClientInfo::new(*clientinfo)?, Message::new(*msg)?);
            let decision = user(|| h.message_delivered(&cl, &m))?;
            prepared.check_message_change(match &decision {
                DeliverDecision::Abstain => false,
                DeliverDecision::Change(c) => !c.is_empty(),
            })?;
            e::delivered(env, &decision, *msg)?
        }
        (MessageAcked, [clientinfo, msg]) => {
            let (cl, m) = (ClientInfo::new(*clientinfo)?, Message::new(*msg)?);
            user(|| h.message_acked(&cl, &m))?;
            ok()
        }
        (MessageDropped, [msg, node, reason]) => {
            let m = Message::new(*msg)?;
            let (n, r) = (d::node(*node), prepared.reason(*reason));
            user(|| h.message_dropped(&m, n, &r))?;
            ok()
        }
        _ => {
            return Err(CallError::Decode(DecodeError {
                what: "arguments",
                expected: "the hook's arity",
            }));
        }
    })
}

/// Runs user code with panics contained.
fn user<T>(f: impl FnOnce() -> T) -> Result<T, CallError> {
    crate::panic::contain(f).map_err(CallError::Panic)
}

/// Runs one call and returns what EMQX expects, or `{error, Kind, Message}` (counted).
pub fn run_call<'a>(
    env: Env<'a>,
    core: &Core,
    hook: HookPoint,
    args: &[Term<'a>],
    prepared: Prepared,
) -> Term<'a> {
    let caller = prepared.caller;
    let who = || who(hook, args, caller);
    match log_context::during_call(&who, || dispatch(env, core, hook, args, prepared)) {
        Ok(result) => result,
        Err(err) => failed(env, core, hook, args, err),
    }
}

/// Counts a failed call and builds its error term. The client id is named; the password
/// never is.
pub(crate) fn failed<'a>(
    env: Env<'a>,
    core: &Core,
    hook: HookPoint,
    args: &[Term<'a>],
    err: CallError,
) -> Term<'a> {
    let stats = core.stats(hook);
    let kind = match &err {
        CallError::Decode(_) => atoms::decode(),
        CallError::Encode(_) => atoms::encode(),
        CallError::Panic(_) => atoms::panic(),
    };
    if matches!(err, CallError::Panic(_)) {
        HookStats::bump(&stats.panics);
    } else {
        HookStats::bump(&stats.errors);
    }
    let msg = format!("{hook} ({}): {err}", client_for_log(hook, args));
    (atoms::error(), kind, msg).encode(env)
}

/// The client of a call, for its log lines: the client id of the clientinfo or conninfo
/// argument (the publisher's for `message.publish` and `message.dropped`), and the peer
/// from the conninfo (`IP:Port`), else the clientinfo's `peerhost`.
pub(crate) fn who(hook: HookPoint, args: &[Term], caller: Option<LocalPid>) -> Who {
    use HookPoint::*;
    let first = args.first().copied();
    let (clientid, peer) = match hook {
        MessagePublish | MessageDropped => {
            let from = first
                .and_then(|m| Message::new(m).ok())
                .and_then(|m| match m.from() {
                    crate::types::Publisher::Client(id) => Some(id.to_string()),
                    _ => None,
                });
            (from, None)
        }
        ClientConnect | ClientConnack => {
            let ci = first.and_then(|t| ConnInfo::new(t).ok());
            (
                ci.as_ref().map(|c| c.clientid().to_string()),
                ci.and_then(|c| c.peername()).map(log_context::peer),
            )
        }
        _ => {
            let cl = first.and_then(|t| ClientInfo::new(t).ok());
            let conn = match hook {
                ClientConnected | ClientDisconnected => {
                    args.last().and_then(|t| ConnInfo::new(*t).ok())
                }
                _ => None,
            };
            let peer = match conn.and_then(|c| c.peername()) {
                Some(addr) => Some(log_context::peer(addr)),
                None => cl
                    .as_ref()
                    .and_then(|c| c.peerhost())
                    .map(|ip| ip.to_string()),
            };
            (cl.map(|c| c.clientid().to_string()), peer)
        }
    };
    Who {
        pid: caller,
        clientid: clientid.filter(|c| !c.is_empty()),
        peer,
    }
}

/// Who the failed call was about: the client id of the clientinfo/conninfo argument,
/// or the publisher of the message.
fn client_for_log(hook: HookPoint, args: &[Term]) -> String {
    match hook {
        HookPoint::MessagePublish | HookPoint::MessageDropped => args
            .first()
            .and_then(|m| super::term::Tuple::of(*m))
            .and_then(|f| f.get(3).and_then(super::term::binary))
            .map(|b| format!("from {}", crate::logsafe::clientid(b)))
            .unwrap_or_else(|| "from a system publisher".to_string()),
        _ => args
            .first()
            .map(|t| format!("clientid {}", d::clientid_for_log(*t)))
            .unwrap_or_default(),
    }
}
