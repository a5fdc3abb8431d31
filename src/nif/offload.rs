//! Hook calls off the schedulers. A pool call copies its arguments into a job (an
//! `OwnedEnv`: cheap, large binaries are reference-counted, not copied) and returns a
//! handle at once; a worker runs the hook and sends `{Tag, Result}` to the caller,
//! unless the caller gave up (see `pending`). A notification is copied the same way into the
//! shard of its client id and the caller goes on.

use super::atoms;
use super::bounds;
use super::dispatch::{run_call, Prepared};
use super::instance::{Core, HookStats};
use super::pending::{self, PendingCall};
use super::term::{self, Tuple};
use super::watch::{Watchdog, BUDGET};
use crate::config::Config;
use crate::hookpoint::{HookKind, HookPoint};
use crate::spec::Mode;
use crate::workers::{BoundedQueue, Elastic, Gate, Pushed, Sharded, Workers};
use crossbeam_queue::ArrayQueue;
use rustler::env::SavedTerm;
use rustler::{Encoder, Env, LocalPid, OwnedEnv, Term};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Pool calls that may wait per worker before the hook reports overload.
const QUEUED_PER_WORKER: usize = 1024;
/// How long queued notifications may still run when the library stops.
const DRAIN: Duration = Duration::from_secs(5);

/// Who waits for a pool call's answer.
struct Reply {
    pid: LocalPid,
    state: Arc<PendingCall>,
}

/// One hook call to run on a worker.
pub struct QueuedCall {
    env: OwnedEnv,
    /// `{Tag, Arg1, ..., ArgN}`, copied into `env` in one go.
    call: SavedTerm,
    hook: HookPoint,
    /// What the caller decoded instead of copying.
    prepared: Prepared,
    reply: Option<Reply>,
    /// When the caller stops waiting (pool calls). A notification gets `call_timeout`
    /// from when a worker starts it (no clock read on the caller's side).
    deadline: Option<Instant>,
}

/// The workers of a started library.
pub struct Executor {
    /// Per hook: the arguments its method never reads (see `HookSpec::unused_args`).
    unused: [u8; 19],
    pools: Vec<Option<Workers<QueuedCall>>>,
    notify: Option<Sharded<QueuedCall>>,
    call_timeout: Duration,
    /// Per hook: whether its method is an `async fn` (mode `async`).
    is_async: [bool; 19],
    /// `async_max_in_flight`: pending `async fn` calls allowed per hook.
    pub max_in_flight: usize,
    /// Watches the `auto` hooks while they run inline.
    watchdog: parking_lot::Mutex<Option<Watchdog>>,
    /// Held while the library a reload replaces still runs its queued notifications.
    gate: Arc<Gate>,
}

impl Executor {
    /// Starts a pool for each pool-mode hook and the notification shards when any hook
    /// is queued (an `auto` hook counts as pool or queue: it goes there once demoted),
    /// and the watchdog of the `auto` hooks. With `hold`, queued notifications wait
    /// until [`release`](Self::release) (a reload: the library being replaced runs its
    /// own first), at most `call_timeout` plus `hold` in all.
    pub fn start(
        core: &Arc<Core>,
        config: &Config,
        hold: Option<Duration>,
    ) -> std::io::Result<Executor> {
        let gate = Arc::new(Gate::new(hold.is_some()));
        let hold_limit = hold.unwrap_or_default() + config.call_timeout();
        let mut pools: Vec<Option<Workers<QueuedCall>>> = (0..19).map(|_| None).collect();
        let mut queued = false;
        let mut watched = [false; 19];
        for spec in &core.specs {
            let auto = spec.mode == Some(Mode::Auto);
            let offload = match spec.mode {
                // An `auto` hook runs off the schedulers once demoted (`nif::watch`).
                Some(Mode::Auto) => Some(match spec.hook.kind() {
                    HookKind::Fold => Mode::Pool,
                    HookKind::Notify => Mode::Queue,
                }),
                m => m,
            };
            watched[spec.hook.index()] = auto;
            match offload {
                Some(Mode::Pool) => {
                    let (c, timeout) = (core.clone(), config.call_timeout());
                    let name = format!("rh_{}", spec.hook.method());
                    let queue = BoundedQueue::new(
                        config.pool_size() * QUEUED_PER_WORKER,
                        Default::default(),
                    );
                    pools[spec.hook.index()] = Some(Workers::spawn_elastic(
                        &name,
                        config.pool_size(),
                        Some(elastic(config)),
                        queue,
                        Arc::new(move |j, finishing: &mut dyn FnMut()| {
                            run_job(&c, timeout, j, finishing)
                        }),
                    )?);
                }
                Some(Mode::Queue) => queued = true,
                _ => {}
            }
        }
        let notify = if queued {
            let (c, timeout, g) = (core.clone(), config.call_timeout(), gate.clone());
            Some(Sharded::spawn(
                "rh_notify",
                config.pool_size(),
                config.notify_queue_size(),
                config.overflow(),
                Arc::new(move |j, finishing: &mut dyn FnMut()| {
                    g.pass(hold_limit);
                    run_job(&c, timeout, j, finishing)
                }),
            )?)
        } else {
            None
        };
        let mut unused = [0u8; 19];
        let mut is_async = [false; 19];
        for spec in &core.specs {
            unused[spec.hook.index()] = spec.unused_args;
            is_async[spec.hook.index()] = spec.mode == Some(Mode::Async);
        }
        let watchdog = if watched.iter().any(|w| *w) {
            Some(Watchdog::start(
                watched,
                core.demoted.clone(),
                |hook, why| {
                    tracing::warn!(
                        "{hook}: a call {why} for more than {} ms on a scheduler: the hook now \
                     runs on the SDK's workers until the library is unloaded (mark it \
                     #[hook(pool)] or #[hook(queue)] if it may block, #[hook(inline)] to \
                     keep it on the schedulers)",
                        BUDGET.as_millis()
                    );
                },
            )?)
        } else {
            None
        };
        Ok(Executor {
            unused,
            pools,
            notify,
            call_timeout: config.call_timeout(),
            is_async,
            max_in_flight: config.async_max_in_flight(),
            watchdog: parking_lot::Mutex::new(watchdog),
            gate,
        })
    }

    /// Lets queued notifications run (see `start`'s `hold`).
    pub fn release(&self) {
        self.gate.open();
    }

    /// The threads of `hook`'s pool now (0 when it has none).
    pub fn workers(&self, hook: HookPoint) -> usize {
        self.pools[hook.index()].as_ref().map_or(0, |p| p.threads())
    }

    /// Whether `hook` is an `async fn` method.
    pub fn is_async(&self, hook: HookPoint) -> bool {
        self.is_async[hook.index()]
    }

    /// `call_timeout`.
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// Hands a pool call to the hook's workers: `{pending, Handle}`, or
    /// `{error, overload, Message}` when its queue is full. `started`: when the call
    /// started, if it is timed (recorded when the answer is sent, see `latency`).
    pub fn submit<'a>(
        &self,
        env: Env<'a>,
        core: &Core,
        hook: HookPoint,
        tag: Term<'a>,
        args: &[Term<'a>],
        started: Option<Instant>,
    ) -> Term<'a> {
        let Some(pool) = &self.pools[hook.index()] else {
            return (
                atoms::error(),
                atoms::not_started(),
                "no pool for this hook",
            )
                .encode(env);
        };
        let state = PendingCall::new(hook, started);
        let reply = Reply {
            pid: env.pid(),
            state: state.clone(),
        };
        let job = match self.copy_job(env, hook, tag, args, Some(reply)) {
            Ok(job) => job,
            Err(msg) => return too_large(env, core, hook, &msg),
        };
        match pool.push(job) {
            Pushed::Ok | Pushed::Evicted(_) => {
                (atoms::pending(), pending::make(env, state)).encode(env)
            }
            Pushed::Rejected(_) => {
                HookStats::bump(&core.stats(hook).overloads);
                let msg = format!("{hook}: {} calls already wait for the pool", pool.len());
                (atoms::error(), atoms::overload(), msg).encode(env)
            }
        }
    }

    /// Queues a notification on the shard of its client; drops are counted (and logged
    /// now and then), never reported to the caller.
    pub fn enqueue<'a>(
        &self,
        env: Env<'a>,
        core: &Core,
        hook: HookPoint,
        args: &[Term<'a>],
    ) -> Term<'a> {
        let ok = atoms::ok().encode(env);
        let Some(notify) = &self.notify else {
            return ok;
        };
        let key = shard_key(hook, args);
        let job = match self.copy_job(env, hook, atoms::queue().to_term(env), args, None) {
            Ok(job) => job,
            Err(msg) => return too_large(env, core, hook, &msg),
        };
        match notify.push(key, job) {
            Pushed::Ok => {}
            Pushed::Evicted(old) => dropped(core, old.hook),
            Pushed::Rejected(new) => dropped(core, new.hook),
        }
        ok
    }

    /// Stops every worker. Without `retire`, queued notifications get [`DRAIN`] to run
    /// and queued pool calls are answered with an error at once. A library retired by a
    /// reload finishes what it was given instead: queued pool calls run (for at most
    /// `call_timeout`, after which their callers stopped waiting anyway) and queued
    /// notifications get `retire` to run. What is still queued then is dropped and
    /// counted.
    pub fn shutdown(&self, core: &Core, retire: Option<Duration>) {
        if let Some(mut w) = self.watchdog.lock().take() {
            w.stop();
        }
        self.gate.open();
        let now = Instant::now();
        let (calls, notifications) = match retire {
            None => (now, now + DRAIN),
            Some(wait) => (now + self.call_timeout, now + wait),
        };
        for pool in self.pools.iter().flatten() {
            for job in pool.shutdown(calls) {
                answer_stopped(job);
            }
        }
        if let Some(n) = &self.notify {
            for job in n.shutdown(notifications) {
                dropped(core, job.hook);
            }
        }
    }
}

/// How a hook's pool grows past `pool_size`: up to `pool_max_size` threads, once every
/// worker has been busy, with calls waiting, for a quarter of `call_timeout` (so calls
/// stuck behind slow ones still get an answer in time); an extra thread ends after
/// `call_timeout` (at least 100 ms) without work.
fn elastic(config: &Config) -> Elastic {
    Elastic {
        max: config.pool_max_size(),
        grow_after: config.call_timeout() / 4,
        idle_exit: config.call_timeout().max(Duration::from_millis(100)),
    }
}

/// A call whose arguments are past the copy bound: counted as an error and answered
/// `{error, decode, Message}` at once (`failed_action` applies).
pub(crate) fn too_large<'a>(env: Env<'a>, core: &Core, hook: HookPoint, msg: &str) -> Term<'a> {
    HookStats::bump(&core.stats(hook).errors);
    (atoms::error(), atoms::decode(), msg).encode(env)
}

/// The position of the free-form reason among a hook's arguments.
fn reason_index(hook: HookPoint) -> Option<usize> {
    match hook {
        HookPoint::ClientDisconnected | HookPoint::SessionTerminated => Some(1),
        HookPoint::MessageDropped => Some(2),
        _ => None,
    }
}

/// The position of the topic-filter list among a hook's arguments.
fn filters_index(hook: HookPoint) -> Option<usize> {
    match hook {
        HookPoint::ClientSubscribe | HookPoint::ClientUnsubscribe => Some(2),
        _ => None,
    }
}

/// The position of the `#message{}` record among a hook's arguments.
fn message_index(hook: HookPoint) -> Option<usize> {
    match hook {
        HookPoint::MessagePublish | HookPoint::MessageDropped => Some(0),
        HookPoint::MessageDelivered | HookPoint::MessageAcked => Some(1),
        _ => None,
    }
}

/// `msg` with its payload replaced by `<<>>` when the payload is neither a binary nor an
/// iolist within the bounds (so that it is not copied); the flag says whether it was.
fn bounded_message<'a>(env: Env<'a>, msg: Term<'a>) -> (Term<'a>, bool) {
    let Some(fields) = Tuple::of(msg).filter(|t| t.len() == 9) else {
        return (msg, false);
    };
    match fields.get(7) {
        Some(p) if !bounds::iolist_within_bounds(p) => {
            bounds::past_bound("a message payload (neither a binary nor a bounded iolist)");
            let mut raw = fields.raw().to_vec();
            let empty: Term = rustler::types::binary::NewBinary::new(env, 0).into();
            raw[7] = empty.as_c_arg();
            // SAFETY: builds a tuple of live terms of the caller's environment.
            let t = unsafe {
                Term::new(
                    env,
                    rustler::sys::enif_make_tuple_from_array(
                        env.as_c_arg(),
                        raw.as_ptr(),
                        raw.len() as u32,
                    ),
                )
            };
            (t, true)
        }
        _ => (msg, false),
    }
}

fn dropped(core: &Core, hook: HookPoint) {
    let n = HookStats::bump(&core.stats(hook).dropped);
    if n == 1 || n % 1000 == 0 {
        tracing::warn!("{hook}: notification queue full, {n} notifications dropped so far");
    }
}

/// The client a notification is about, so that its events stay in order.
fn shard_key<'a>(hook: HookPoint, args: &[Term<'a>]) -> &'a [u8] {
    let key = match hook {
        HookPoint::MessagePublish | HookPoint::MessageDropped => args
            .first()
            .and_then(|m| Tuple::of(*m))
            .and_then(|f| f.get(3))
            .and_then(term::binary),
        _ => args
            .first()
            .and_then(|m| term::map_get(*m, atoms::clientid()))
            .and_then(term::binary),
    };
    key.unwrap_or_default()
}

/// Environments kept for reuse: allocating one per call costs more than the copy.
static FREE_ENVS: OnceLock<ArrayQueue<OwnedEnv>> = OnceLock::new();
const FREE_ENVS_MAX: usize = 256;

fn free_envs() -> &'static ArrayQueue<OwnedEnv> {
    FREE_ENVS.get_or_init(|| ArrayQueue::new(FREE_ENVS_MAX))
}

fn take_env() -> OwnedEnv {
    free_envs().pop().unwrap_or_default()
}

pub(crate) fn give_env(mut env: OwnedEnv) {
    env.clear();
    let _ = free_envs().push(env);
}

impl Executor {
    /// The copy of an `async fn` hook's call (see `copy_job`): its environment, the
    /// saved `{Tag, Args...}` and what was decoded instead of copied.
    pub(crate) fn copy_args<'a>(
        &self,
        env: Env<'a>,
        hook: HookPoint,
        tag: Term<'a>,
        args: &[Term<'a>],
    ) -> Result<(OwnedEnv, SavedTerm, Prepared), String> {
        let job = self.copy_job(env, hook, tag, args, None)?;
        Ok((job.env, job.call, job.prepared))
    }

    /// The arguments the first poll of an `async fn` call reads (see `lazy`): the
    /// caller's own, except where the copy made if the call goes pending (`copy_job`)
    /// leaves one out, so that the method sees the same values either way. A map
    /// argument the method never reads is an empty map, and such a reason `undefined`.
    pub(crate) fn lazy_args<'a>(
        &self,
        env: Env<'a>,
        hook: HookPoint,
        args: &[Term<'a>],
    ) -> ([Term<'a>; 4], usize) {
        let unused = self.unused[hook.index()];
        let n = args.len().min(4);
        let mut out = [atoms::undefined().to_term(env); 4];
        let last = args.len().saturating_sub(1);
        let keeps_acc = hook.kind() == HookKind::Fold;
        for (i, (slot, a)) in out.iter_mut().zip(args).enumerate() {
            *slot = *a;
            if unused & (1 << i) == 0 || (keeps_acc && i == last) {
                continue;
            }
            if a.get_type() == rustler::TermType::Map {
                *slot = Term::map_new(env);
            } else if reason_index(hook) == Some(i) {
                *slot = atoms::undefined().to_term(env);
            }
        }
        (out, n)
    }

    /// Copies `{Tag, Args...}` into an environment of its own (one copy: large binaries
    /// are shared by reference count, not copied). The caller's cost is bounded: a reason
    /// is decoded here (within its bounds) instead of copied, a payload past the iolist
    /// bounds is replaced by `<<>>`, and any other argument holding more than
    /// [`bounds::COPY_MAX_TERMS`] terms fails the call (`Err`) before anything is copied.
    fn copy_job<'a>(
        &self,
        env: Env<'a>,
        hook: HookPoint,
        tag: Term<'a>,
        args: &[Term<'a>],
        reply: Option<Reply>,
    ) -> Result<QueuedCall, String> {
        // Map arguments the method never reads are not copied (an empty map stands in),
        // except a fold hook's accumulator, which the answer is built from.
        let unused = self.unused[hook.index()];
        let last = args.len().saturating_sub(1);
        let keeps_acc = hook.kind() == HookKind::Fold;
        let mut prepared = Prepared {
            caller: Some(env.pid()),
            ..Prepared::default()
        };
        let mut raw = [tag.as_c_arg(); 5];
        for (i, (slot, a)) in raw[1..].iter_mut().zip(args).enumerate() {
            let skip = unused & (1 << i) != 0
                && !(keeps_acc && i == last)
                && a.get_type() == rustler::TermType::Map;
            let mut arg = *a;
            if skip {
                arg = Term::map_new(env);
            } else if reason_index(hook) == Some(i) {
                // Decoded here, within its bounds, unless the method never reads it.
                if unused & (1 << i) == 0 {
                    prepared.reason = Some(super::decode::reason(arg));
                }
                arg = atoms::undefined().to_term(env);
            } else {
                if message_index(hook) == Some(i) {
                    let (m, elided) = bounded_message(env, arg);
                    arg = m;
                    prepared.payload_elided = elided;
                }
                if filters_index(hook) == Some(i) && !bounds::list_within(arg, bounds::MAX_FILTERS)
                {
                    return Err(format!(
                        "{hook}: more than {} topic filters (the SDK's bound on one call); \
                         the call was not run",
                        bounds::MAX_FILTERS
                    ));
                }
                if !bounds::fits(arg, bounds::COPY_MAX_TERMS) {
                    bounds::past_bound("the arguments of a pool or queued call");
                    return Err(format!(
                        "{hook}: argument {} holds more than {} terms (the bound of what is \
                         copied for a worker); the call was not run",
                        i + 1,
                        bounds::COPY_MAX_TERMS
                    ));
                }
            }
            *slot = arg.as_c_arg();
        }
        // SAFETY: builds a tuple of live terms in the caller's environment.
        let call = unsafe {
            Term::new(
                env,
                rustler::sys::enif_make_tuple_from_array(
                    env.as_c_arg(),
                    raw.as_ptr(),
                    args.len() as u32 + 1,
                ),
            )
        };
        let owned = take_env();
        let call = owned.save(call);
        let deadline = reply.as_ref().map(|_| Instant::now() + self.call_timeout);
        Ok(QueuedCall {
            env: owned,
            call,
            hook,
            prepared,
            reply,
            deadline,
        })
    }
}

/// Runs a job on a worker thread and replies when the caller still waits.
fn run_job(core: &Core, call_timeout: Duration, job: QueuedCall, finishing: &mut dyn FnMut()) {
    let QueuedCall {
        env,
        call,
        hook,
        prepared,
        reply,
        deadline,
    } = job;
    if reply.as_ref().is_some_and(|r| r.state.is_abandoned()) {
        return give_env(env); // the caller gave up while the call was queued
    }
    // Anything below that panics is contained by `run_call`; this guards the SDK's own code.
    let deadline = deadline.unwrap_or_else(|| Instant::now() + call_timeout);
    let outcome = crate::rt::with_context(|| {
        crate::workers::with_deadline(deadline, || {
            crate::panic::contain(|| {
                env.run(|e| {
                    let Some(call) = Tuple::of(call.load(e)) else {
                        return;
                    };
                    let args: Vec<Term> = (1..call.len()).filter_map(|i| call.get(i)).collect();
                    let result = run_call(e, core, hook, &args, prepared);
                    if let (Some(r), Some(tag)) = (&reply, call.get(0)) {
                        if r.state.claim_reply() {
                            let msg = (tag, result).encode(e);
                            finishing();
                            send(e, &r.pid, msg);
                            core.timed(hook, r.state.started);
                        }
                    }
                })
            })
        })
    });
    if let Err(msg) = outcome {
        tracing::error!("{hook}: worker failed: {msg}");
    }
    give_env(env);
}

fn answer_stopped(job: QueuedCall) {
    let QueuedCall {
        env, call, reply, ..
    } = job;
    if let Some(r) = reply {
        if r.state.claim_reply() {
            env.run(|e| {
                let Some(tag) = Tuple::of(call.load(e)).and_then(|c| c.get(0)) else {
                    return;
                };
                let result = (
                    atoms::error(),
                    atoms::not_started(),
                    "the hook library stopped",
                )
                    .encode(e);
                send(e, &r.pid, (tag, result).encode(e));
            });
        }
    }
}

/// Sends `msg`, built in the job's own environment, from a thread the VM does not manage.
pub(crate) fn send(env: Env, pid: &LocalPid, msg: Term) {
    // SAFETY: called on a worker thread (caller env NULL) with `env` the job's owned
    // environment, which is not used for anything else afterwards.
    unsafe {
        rustler::sys::enif_send(
            std::ptr::null_mut(),
            pid.as_c_arg(),
            env.as_c_arg(),
            msg.as_c_arg(),
        );
    }
}
