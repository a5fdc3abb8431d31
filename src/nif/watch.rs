//! The watch over `auto`-mode hooks, the default mode: such a hook runs inline, on the
//! calling scheduler, for as long as its calls return quickly. Every scheduler thread
//! that runs an `auto` call marks it in a slot of its own (two stores, no clock read);
//! a watchdog thread looks at the slots every [`TICK`]. A call still running after a
//! whole tick is examined: if its thread is blocked (sleeping, waiting for I/O or a
//! lock), or has then spent half a tick more on the CPU, the hook is *demoted*: from
//! then on, until the library is unloaded, its calls run off the schedulers (the pool
//! for a hook that decides, the notification queue for the others). A thread that is
//! merely waiting for a CPU (the OS preempted it) is not held against the hook.
//!
//! The bound: a hook's code holds a scheduler for longer than [`BUDGET`] plus a
//! tick (30 ms) at most once per scheduler thread (the calls already running when it is
//! demoted finish where they are; a blocked scheduler cannot start another call), and no
//! call of the hook starts on a scheduler after its demotion.

use crate::hookpoint::HookPoint;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the watchdog looks at the slots. Each look wakes a thread on a machine the
/// broker keeps busy, and `make bench-broker` shows that price far above the look's own
/// CPU, in proportion to the wake-ups: a 0.5 ms tick cost the saturated broker about a
/// third more CPU per message than the unwatched inline hooks, a 2 ms tick 6% less publish
/// throughput than a 20 ms one in the same runs (BENCHMARKS.md, "The watchdog's tick").
/// 10 ms keeps the wake-ups at 100 a second and the bound (three ticks) at 30 ms.
pub const TICK: Duration = Duration::from_millis(10);
/// A call that has been blocked this long is examined for certain (two ticks); one that
/// keeps the CPU, half a tick later.
pub const BUDGET: Duration = Duration::from_millis(2 * TICK.as_millis() as u64);

/// One thread's marker: `seq` is odd while the thread runs an `auto` call of `hook`.
/// Written on every `auto` call by its own thread only, so each sits on cache lines of
/// its own (two, for the adjacent-line prefetch): two schedulers' slots never share one.
#[repr(align(128))]
struct Slot {
    seq: AtomicU64,
    hook: AtomicU8,
    /// The demoted flags of the library whose `auto` call runs now (null outside one).
    demoted: AtomicPtr<Demoted>,
    tid: libc::pid_t,
    thread: libc::pthread_t,
}

/// Every thread that ever ran an `auto` call (scheduler threads live as long as the VM).
static SLOTS: Mutex<Vec<&'static Slot>> = Mutex::new(Vec::new());
/// How many `SLOTS` holds: the watchdog copies the list only when it grew, so a tick
/// takes no lock and allocates nothing.
static SLOT_COUNT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SLOT: &'static Slot = {
        // SAFETY: gettid and pthread_self have no preconditions.
        let (tid, thread) = unsafe { (libc::syscall(libc::SYS_gettid) as libc::pid_t, libc::pthread_self()) };
        let slot: &'static Slot = Box::leak(Box::new(Slot {
            seq: AtomicU64::new(0),
            hook: AtomicU8::new(0),
            demoted: AtomicPtr::new(std::ptr::null_mut()),
            tid,
            thread,
        }));
        let mut slots = SLOTS.lock();
        slots.push(slot);
        SLOT_COUNT.store(slots.len(), Ordering::Release);
        slot
    };
}

/// Marks the current thread as running an `auto` call of `hook` until dropped.
pub struct Running(&'static Slot);

impl Running {
    /// Starts the mark; `demoted` are the flags of the library that runs the call.
    pub fn enter(hook: HookPoint, demoted: &Demoted) -> Running {
        let slot = SLOT.with(|s| *s);
        slot.hook.store(hook.index() as u8, Ordering::Relaxed);
        slot.demoted
            .store(demoted as *const Demoted as *mut Demoted, Ordering::Relaxed);
        let s = slot.seq.load(Ordering::Relaxed);
        slot.seq.store(s | 1, Ordering::Release);
        Running(slot)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0
            .demoted
            .store(std::ptr::null_mut(), Ordering::Relaxed);
        let s = self.0.seq.load(Ordering::Relaxed);
        self.0.seq.store(s + 1, Ordering::Release);
    }
}

/// When the current thread runs an `auto` call, demotes its hook at once (the hook is
/// about to block: `rt::block_on`) and returns it. Does not touch other threads' state.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub fn demote_current(why: &str) -> Option<HookPoint> {
    let slot = SLOT.try_with(|s| *s).ok()?;
    if slot.seq.load(Ordering::Relaxed) % 2 == 0 {
        return None;
    }
    let demoted = slot.demoted.load(Ordering::Relaxed);
    let hook = *HookPoint::ALL.get(slot.hook.load(Ordering::Relaxed) as usize)?;
    // SAFETY: set by `Running::enter` from a `&Demoted` of the library running this very
    // call (it outlives the call), cleared when the call ends; only this thread writes it.
    let demoted = unsafe { demoted.as_ref()? };
    if demoted.set(hook) {
        tracing::warn!(
            "{hook}: {why} on a scheduler: the hook now runs on the SDK's workers until the \
             library is unloaded (mark it #[hook(pool)] or #[hook(queue)])"
        );
    }
    Some(hook)
}

/// Which hooks were demoted; shared by the callers and the watchdog. Read on every
/// `auto` call and written at most once per hook, so it sits on cache lines of its own:
/// no write to a neighbouring value can make those reads miss.
#[derive(Default)]
#[repr(align(128))]
pub struct Demoted([AtomicBool; 19]);

impl Demoted {
    /// Whether `hook` runs off the schedulers now.
    #[inline]
    pub fn get(&self, hook: HookPoint) -> bool {
        self.0[hook.index()].load(Ordering::Relaxed)
    }

    /// Demotes `hook`; true the first time.
    pub fn set(&self, hook: HookPoint) -> bool {
        !self.0[hook.index()].swap(true, Ordering::Relaxed)
    }
}

/// The watchdog thread of a started library with `auto` hooks.
pub struct Watchdog {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What the watchdog remembers of a slot between ticks.
#[derive(Default)]
struct Seen {
    seq: u64,
    /// The thread's CPU time when the call was first seen past a tick (ns), if it was.
    cpu: Option<u64>,
    /// The thread's `/proc/self/task/<tid>/stat`, opened the first time it is read and
    /// read again in place (a tick that looks at a call past a tick reads it: a VM whose
    /// schedulers the OS preempts often does that often).
    stat: Option<std::fs::File>,
}

impl Seen {
    /// A new call (or none) on this slot.
    fn reset(&mut self, seq: u64) {
        self.seq = seq;
        self.cpu = None;
    }
}

impl Watchdog {
    /// Starts watching the `auto` hooks (`watched`) of one library; `demote` is called
    /// once per demoted hook, on the watchdog thread.
    pub fn start(
        watched: [bool; 19],
        demoted: Arc<Demoted>,
        demote: impl Fn(HookPoint, &'static str) + Send + 'static,
    ) -> std::io::Result<Watchdog> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("rh_watchdog".into())
            .spawn(move || {
                let mut seen: Vec<Seen> = Vec::new();
                let mut slots: Vec<&'static Slot> = Vec::new();
                while !stop2.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    if SLOT_COUNT.load(Ordering::Acquire) != slots.len() {
                        slots = SLOTS.lock().clone();
                    }
                    seen.resize_with(slots.len(), Seen::default);
                    for (slot, seen) in slots.iter().zip(seen.iter_mut()) {
                        let seq = slot.seq.load(Ordering::Acquire);
                        let hook = HookPoint::ALL
                            .get(slot.hook.load(Ordering::Relaxed) as usize)
                            .copied();
                        let Some(hook) = hook.filter(|h| watched[h.index()]) else {
                            seen.reset(seq);
                            continue;
                        };
                        if seq % 2 == 0 || seq != seen.seq || demoted.get(hook) {
                            seen.reset(seq);
                            continue;
                        }
                        // The same call is running since the previous tick at least.
                        let cpu = thread_cpu_ns(slot.thread);
                        let why = if blocked(slot.tid, &mut seen.stat) {
                            Some("blocked (sleep, I/O or a lock)")
                        } else {
                            match (seen.cpu, cpu) {
                                (Some(before), Some(now))
                                    if now.saturating_sub(before) >= TICK.as_nanos() as u64 / 2 =>
                                {
                                    Some("kept the CPU")
                                }
                                _ => None,
                            }
                        };
                        match why {
                            Some(why) => {
                                if demoted.set(hook) {
                                    demote(hook, why);
                                }
                            }
                            None => seen.cpu = seen.cpu.or(cpu),
                        }
                    }
                }
            })?;
        Ok(Watchdog {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The CPU time thread `t` has used (ns).
fn thread_cpu_ns(t: libc::pthread_t) -> Option<u64> {
    let mut clock: libc::clockid_t = 0;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a scheduler thread of the VM, which never exits while the library
    // is loaded; both out-pointers are valid.
    unsafe {
        if libc::pthread_getcpuclockid(t, &mut clock) != 0
            || libc::clock_gettime(clock, &mut ts) != 0
        {
            return None;
        }
    }
    Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// Whether thread `tid` of this process is blocked: state `S` (sleeping: a sleep, a
/// socket, a futex) or `D` (uninterruptible I/O) in `/proc/self/task/<tid>/stat`
/// (`file`: that file, opened here the first time, then read again from the start).
fn blocked(tid: libc::pid_t, file: &mut Option<std::fs::File>) -> bool {
    use std::os::unix::fs::FileExt;
    if file.is_none() {
        *file = std::fs::File::open(format!("/proc/self/task/{tid}/stat")).ok();
    }
    let Some(f) = file.as_ref() else {
        return false;
    };
    // The state follows the command name, in parentheses (which may hold anything, so
    // the last `)` ends it); the fields before it fit in far less than this.
    let mut buf = [0u8; 512];
    let Ok(n) = f.read_at(&mut buf, 0) else {
        return false;
    };
    let line = &buf[..n];
    let Some(close) = line.iter().rposition(|&b| b == b')') else {
        return false;
    };
    let state = line[close + 1..].iter().find(|b| !b.is_ascii_whitespace());
    matches!(state, Some(b'S' | b'D'))
}
