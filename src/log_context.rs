//! Who a log line is about. While the SDK runs a hook call, the call's client (its
//! client id and peer, and the process that made the call) is recorded for the thread, so
//! that `tracing` lines the hook writes carry it: the plugin's logger passes it to the
//! Erlang logger as the metadata `clientid` and `peername`, which EMQX's log formatter
//! prints as `clientid@peer` in front of the message, like its own client log lines.
//!
//! Nothing is decoded unless a line is logged: the call records a function that reads
//! the client from the call's arguments, and the log bridge runs it for each line.

use crate::scoped;
use rustler::LocalPid;
use std::cell::Cell;

/// The client a log line is about.
#[derive(Clone, Default)]
pub(crate) struct Who {
    /// The process that made the hook call (the client's channel process, usually): the
    /// logger prefers its logger metadata, which is what EMQX prints for it.
    pub pid: Option<LocalPid>,
    /// The client id, from the call's arguments.
    pub clientid: Option<String>,
    /// The peer as EMQX prints it (`IP:Port`, or the IP alone when the arguments carry no
    /// port), from the call's arguments.
    pub peer: Option<String>,
}

type WhoFn = dyn Fn() -> Who;

thread_local! {
    /// The running call's `who` function, while the SDK runs a hook call on this thread.
    static CURRENT: Cell<Option<&'static WhoFn>> = const { Cell::new(None) };
}

/// Runs `f` (a hook call) with `who` recorded as the client its log lines are about.
pub(crate) fn during_call<'a, R>(who: &'a (dyn Fn() -> Who + 'a), f: impl FnOnce() -> R) -> R {
    // SAFETY: only the lifetime is changed. The reference is read only by `current` on
    // this thread while `f` runs: `set_during` puts the previous value back when `f`
    // returns or unwinds, before `who` can go out of scope.
    let who: &'static WhoFn =
        unsafe { std::mem::transmute::<&'a (dyn Fn() -> Who + 'a), &'static WhoFn>(who) };
    scoped::set_during(&CURRENT, Some(who), f)
}

/// The client of the hook call running on this thread, if any.
pub(crate) fn current() -> Option<Who> {
    CURRENT.with(Cell::get).map(|who| who())
}

/// A peer address as EMQX's `esockd:format/1` prints it: `IP:Port`.
pub(crate) fn peer(addr: std::net::SocketAddr) -> String {
    format!("{}:{}", addr.ip(), addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_during_the_call_only_and_nested_calls_restore() {
        assert!(current().is_none());
        let outer = || Who {
            clientid: Some("outer".into()),
            ..Who::default()
        };
        let inner = || Who {
            clientid: Some("inner".into()),
            peer: Some("127.0.0.1:1883".into()),
            ..Who::default()
        };
        during_call(&outer, || {
            assert_eq!(current().unwrap().clientid.as_deref(), Some("outer"));
            during_call(&inner, || {
                let w = current().unwrap();
                assert_eq!(w.clientid.as_deref(), Some("inner"));
                assert_eq!(w.peer.as_deref(), Some("127.0.0.1:1883"));
                assert!(w.pid.is_none());
            });
            assert_eq!(current().unwrap().clientid.as_deref(), Some("outer"));
        });
        assert!(current().is_none());
        let unwound = std::panic::catch_unwind(|| during_call(&outer, || panic!("unwind")));
        assert!(unwound.is_err());
        assert!(current().is_none());
    }

    #[test]
    fn peers_print_like_esockd() {
        assert_eq!(peer("10.0.0.1:5000".parse().unwrap()), "10.0.0.1:5000");
        assert_eq!(peer("[::1]:5000".parse().unwrap()), "::1:5000");
    }
}
