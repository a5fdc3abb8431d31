//! Job 2, password authentication (`client.authenticate`, an `async fn` hook: a decision
//! that needs neither the database nor a slow hash, e.g. a cache hit, returns at once on
//! the caller's scheduler; otherwise the query and the hash run on the SDK runtime's
//! blocking pool, never on a BEAM scheduler; bcrypt included).
//!
//! The users table (created with `init.create_tables = on`):
//!
//! ```sql
//! CREATE TABLE mqtt_user (
//!   username      TEXT PRIMARY KEY,
//!   password_hash TEXT NOT NULL,          -- see password.rs for each init.auth_hash
//!   salt          TEXT NOT NULL DEFAULT '',
//!   is_superuser  BOOLEAN NOT NULL DEFAULT FALSE,
//!   clientid      TEXT                    -- set: the user may log in with this client id only
//! );
//! ```
//!
//! `init.auth_query` replaces the query (it gets the username as `$1` and returns
//! `password_hash, salt, is_superuser, clientid`), to read an existing emqx_auth_pgsql
//! table. Decisions: a matching password allows (as superuser when flagged); a wrong
//! password denies (`bad_username_or_password`); a user bound to another client id is
//! denied (`not_authorized`); an unknown user, or no username, gets
//! `init.auth_unknown_user` (`ignore`: the chain goes on, EMQX's `allow_anonymous`
//! decides; or `deny`); a database error gets `init.auth_on_error` (`deny` or `ignore`).
//!
//! Slow hashes (bcrypt, PBKDF2 with 1,000 iterations or more) run at most
//! `init.auth_hash_threads` at a time (default: the CPU count less one, at least 1): a
//! burst of bcrypt logins queues for a permit instead of taking every core, so the other
//! hooks' workers (ACL checks, publishes) and the BEAM's schedulers keep a CPU.
//!
//! Cache (`init.auth_cache_ttl`, off by default): a user's row is kept that long, and so
//! is a salted fingerprint of the last password that verified against it, so a client
//! reconnecting with the same password skips the database and the (slow) hash. A
//! changed password or row takes effect when the entry expires.

use crate::db::{Backend, DbError, Param};
use crate::password::HashKind;
use crate::pool::Pool;
use crate::settings;
use emqx_rust_hook::prelude::*;
use parking_lot::{Condvar, Mutex};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The users table.
pub fn schema() -> &'static str {
    "CREATE TABLE IF NOT EXISTS mqtt_user (\
       username TEXT PRIMARY KEY, \
       password_hash TEXT NOT NULL, \
       salt TEXT NOT NULL DEFAULT '', \
       is_superuser BOOLEAN NOT NULL DEFAULT FALSE, \
       clientid TEXT)"
}

const DEFAULT_QUERY: &str =
    "SELECT password_hash, salt, is_superuser, clientid FROM mqtt_user WHERE username = $1";

/// What a login check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The password matches.
    Allow,
    /// The password matches and the user is a superuser.
    Superuser,
    /// The password does not match (or none was sent).
    BadPassword,
    /// No such user, or no username.
    Unknown,
    /// The user is bound to another client id.
    WrongClient,
    /// The database failed.
    Error,
}

/// What an unknown user or a database error gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// The chain goes on (another plugin, or EMQX's `allow_anonymous`, decides).
    Ignore,
    /// Refused.
    Deny,
}

#[derive(Clone)]
struct User {
    hash: String,
    salt: String,
    superuser: bool,
    clientid: Option<String>,
}

struct Cached {
    user: Option<User>,
    at: Instant,
    /// Salted SHA-256 of (client id, password) that verified against `user`.
    verified: Option<[u8; 32]>,
}

#[derive(Default)]
struct Stats {
    allowed: AtomicU64,
    denied: AtomicU64,
    unknown: AtomicU64,
    errors: AtomicU64,
    cache_hits: AtomicU64,
}

/// At most `max` holders at a time (the slow hashes).
struct Permits {
    used: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

impl Permits {
    fn new(max: usize) -> Permits {
        Permits {
            used: Mutex::new(0),
            freed: Condvar::new(),
            max: max.max(1),
        }
    }

    /// Runs `f` once a permit is free.
    fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        {
            let mut used = self.used.lock();
            while *used >= self.max {
                self.freed.wait(&mut used);
            }
            *used += 1;
        }
        struct Release<'a>(&'a Permits);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                *self.0.used.lock() -= 1;
                self.0.freed.notify_one();
            }
        }
        let _release = Release(self);
        f()
    }
}

/// The CPU count less one, at least 1.
fn default_hash_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1))
        .max(1)
}

/// The authentication job.
pub struct Auth {
    pool: Pool,
    hash: HashKind,
    query: String,
    unknown_user: Fallback,
    on_error: Fallback,
    cache_ttl: Duration,
    cache: Mutex<HashMap<String, Cached>>,
    /// Random per start: the cache's fingerprints mean nothing outside this process.
    pepper: [u8; 32],
    slow: Permits,
    stats: Stats,
}

/// The cache keeps at most this many users (it is emptied when full).
const CACHE_MAX: usize = 100_000;

fn fallback(config: &Config, key: &str, default: &'static str) -> Result<Fallback, InitError> {
    let choices = if default == "deny" {
        ["deny", "ignore"]
    } else {
        ["ignore", "deny"]
    };
    Ok(match settings::choice(config, key, &choices)? {
        "deny" => Fallback::Deny,
        _ => Fallback::Ignore,
    })
}

impl Auth {
    /// Reads `init.auth_*` (see the module doc).
    pub fn from_config(config: &Config, backend: Backend) -> Result<Auth, InitError> {
        let hash = config
            .get("auth_hash")
            .unwrap_or("sha256,salt")
            .parse::<HashKind>()
            .map_err(|e| InitError::new(format!("exhook.drivers.rust.init.auth_hash: {e}")))?;
        let mut pepper = [0u8; 32];
        getrandom::fill(&mut pepper).map_err(|e| InitError::new(format!("auth: random: {e}")))?;
        Ok(Auth {
            pool: Pool::new(backend, config.pool_size()),
            hash,
            query: config
                .get("auth_query")
                .unwrap_or(DEFAULT_QUERY)
                .to_string(),
            unknown_user: fallback(config, "auth_unknown_user", "ignore")?,
            on_error: fallback(config, "auth_on_error", "deny")?,
            cache_ttl: settings::duration(config, "auth_cache_ttl", Duration::ZERO)?,
            cache: Mutex::new(HashMap::new()),
            pepper,
            slow: Permits::new(settings::count(
                config,
                "auth_hash_threads",
                default_hash_threads(),
            )?),
            stats: Stats::default(),
        })
    }

    /// A job with explicit settings (tests and benchmarks).
    pub fn new(
        backend: Backend,
        hash: HashKind,
        unknown_user: Fallback,
        cache_ttl: Duration,
    ) -> Auth {
        Auth {
            pool: Pool::new(backend, 4),
            hash,
            query: DEFAULT_QUERY.to_string(),
            unknown_user,
            on_error: Fallback::Deny,
            cache_ttl,
            cache: Mutex::new(HashMap::new()),
            pepper: [7; 32],
            slow: Permits::new(default_hash_threads()),
            stats: Stats::default(),
        }
    }

    fn fingerprint(&self, clientid: &str, password: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.pepper);
        h.update((clientid.len() as u64).to_be_bytes());
        h.update(clientid.as_bytes());
        h.update(password);
        h.finalize().into()
    }

    fn load(&self, username: &str) -> Result<Option<User>, DbError> {
        let rows = self
            .pool
            .with(|c| c.query(&self.query, &[Param::Text(username.to_string())]))?;
        Ok(rows.first().map(|r| User {
            hash: r.first().and_then(Param::as_str).unwrap_or("").to_string(),
            salt: r.get(1).and_then(Param::as_str).unwrap_or("").to_string(),
            superuser: r.get(2).is_some_and(Param::as_bool),
            clientid: r
                .get(3)
                .and_then(Param::as_str)
                .filter(|c| !c.is_empty())
                .map(str::to_string),
        }))
    }

    /// Checks a login (the hook's logic, over plain values), on the calling thread: a
    /// cache miss queries the database and runs the hash here.
    pub fn check(
        &self,
        username: Option<&str>,
        clientid: &str,
        password: Option<&[u8]>,
    ) -> Outcome {
        self.step(username, clientid, password, true)
            .unwrap_or(Outcome::Error)
    }

    /// The decision when it needs neither the database nor a slow hash (no username,
    /// a cached user, a cache hit of the verified password), else `None`.
    pub fn check_now(
        &self,
        username: Option<&str>,
        clientid: &str,
        password: Option<&[u8]>,
    ) -> Option<Outcome> {
        self.step(username, clientid, password, false)
    }

    /// The hook's logic as the `async fn` hook runs it: what [`Auth::check_now`] decides
    /// returns at once (ready on the first poll, nothing awaited); the rest awaits
    /// [`Auth::check`] on the SDK runtime's blocking pool (the query, and bcrypt or
    /// PBKDF2 within `init.auth_hash_threads`), never on a BEAM scheduler.
    pub async fn check_async(
        self: &Arc<Self>,
        username: Option<&str>,
        clientid: &str,
        password: Option<&[u8]>,
    ) -> Outcome {
        if let Some(o) = self.check_now(username, clientid, password) {
            return o;
        }
        let me = self.clone();
        let (u, c) = (username.map(str::to_string), clientid.to_string());
        let p = password.map(<[u8]>::to_vec);
        match emqx_rust_hook::rt::runtime()
            .spawn_blocking(move || me.check(u.as_deref(), &c, p.as_deref()))
            .await
        {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!("auth: the check task failed: {e}");
                self.stats.errors.fetch_add(1, Relaxed);
                Outcome::Error
            }
        }
    }

    /// One check; with `blocking` off, `None` where the database or a slow hash is needed.
    fn step(
        &self,
        username: Option<&str>,
        clientid: &str,
        password: Option<&[u8]>,
        blocking: bool,
    ) -> Option<Outcome> {
        let mut hit = false;
        let outcome = self.check_inner(username, clientid, password, blocking, &mut hit)?;
        if hit {
            self.stats.cache_hits.fetch_add(1, Relaxed);
        }
        let counter = match outcome {
            Outcome::Allow | Outcome::Superuser => &self.stats.allowed,
            Outcome::BadPassword | Outcome::WrongClient => &self.stats.denied,
            Outcome::Unknown => &self.stats.unknown,
            Outcome::Error => &self.stats.errors,
        };
        counter.fetch_add(1, Relaxed);
        Some(outcome)
    }

    fn check_inner(
        &self,
        username: Option<&str>,
        clientid: &str,
        password: Option<&[u8]>,
        blocking: bool,
        hit: &mut bool,
    ) -> Option<Outcome> {
        let Some(username) = username.filter(|u| !u.is_empty()) else {
            return Some(Outcome::Unknown);
        };
        let caching = !self.cache_ttl.is_zero();
        let fp = caching.then(|| self.fingerprint(clientid, password.unwrap_or_default()));
        let mut user = None;
        if caching {
            let cache = self.cache.lock();
            if let Some(c) = cache
                .get(username)
                .filter(|c| c.at.elapsed() < self.cache_ttl)
            {
                *hit = true;
                if let (Some(v), Some(fp), Some(u)) = (&c.verified, &fp, &c.user) {
                    if bool::from(v.ct_eq(fp)) && password.is_some() {
                        return Some(if u.superuser {
                            Outcome::Superuser
                        } else {
                            Outcome::Allow
                        });
                    }
                }
                user = Some(c.user.clone());
            }
        }
        let user = match user {
            Some(u) => u,
            None if !blocking => return None,
            None => match self.load(username) {
                Ok(u) => {
                    if caching {
                        let mut cache = self.cache.lock();
                        if cache.len() >= CACHE_MAX {
                            cache.clear();
                        }
                        cache.insert(
                            username.to_string(),
                            Cached {
                                user: u.clone(),
                                at: Instant::now(),
                                verified: None,
                            },
                        );
                    }
                    u
                }
                Err(e) => {
                    tracing::warn!(
                        "auth: user lookup failed on {}: {e}",
                        self.pool.backend().label()
                    );
                    return Some(Outcome::Error);
                }
            },
        };
        let Some(user) = user else {
            return Some(Outcome::Unknown);
        };
        if user.clientid.as_deref().is_some_and(|c| c != clientid) {
            return Some(Outcome::WrongClient);
        }
        let Some(password) = password else {
            return Some(Outcome::BadPassword);
        };
        if self.hash.is_slow() && !blocking {
            return None;
        }
        let ok = if self.hash.is_slow() {
            self.slow
                .run(|| self.hash.verify(password, &user.hash, &user.salt))
        } else {
            self.hash.verify(password, &user.hash, &user.salt)
        };
        if !ok {
            return Some(Outcome::BadPassword);
        }
        if let Some(fp) = fp {
            if let Some(c) = self.cache.lock().get_mut(username) {
                c.verified = Some(fp);
            }
        }
        Some(if user.superuser {
            Outcome::Superuser
        } else {
            Outcome::Allow
        })
    }

    /// The hook's decision for an outcome.
    pub fn decision(&self, outcome: Outcome) -> AuthDecision {
        let fallback = |f| match f {
            Fallback::Ignore => AuthDecision::Abstain,
            Fallback::Deny => AuthDecision::Deny(AuthDenyReason::NotAuthorized),
        };
        match outcome {
            Outcome::Allow => AuthDecision::Allow,
            Outcome::Superuser => AuthDecision::AllowSuperuser,
            Outcome::BadPassword => AuthDecision::Deny(AuthDenyReason::BadUsernameOrPassword),
            Outcome::WrongClient => AuthDecision::Deny(AuthDenyReason::NotAuthorized),
            Outcome::Unknown => fallback(self.unknown_user),
            Outcome::Error => fallback(self.on_error),
        }
    }

    /// Empties the cache.
    pub fn clear_cache(&self) {
        self.cache.lock().clear();
    }

    /// `(name, value)` lines for `emqx_ctl rust_hook status`.
    pub fn status(&self) -> Vec<(String, String)> {
        let s = &self.stats;
        vec![
            ("auth.database".into(), self.pool.backend().label()),
            (
                "auth.db".into(),
                if self.pool.is_down() { "down" } else { "up" }.into(),
            ),
            ("auth.hash".into(), self.hash.to_string()),
            ("auth.allowed".into(), s.allowed.load(Relaxed).to_string()),
            ("auth.denied".into(), s.denied.load(Relaxed).to_string()),
            ("auth.unknown".into(), s.unknown.load(Relaxed).to_string()),
            ("auth.errors".into(), s.errors.load(Relaxed).to_string()),
            (
                "auth.cache".into(),
                crate::settings::cache_label(self.cache.lock().len(), "users", self.cache_ttl),
            ),
            (
                "auth.cache_hits".into(),
                s.cache_hits.load(Relaxed).to_string(),
            ),
        ]
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn backend(name: &str) -> (Backend, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("emqx_jobs_auth_{name}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        (
            Backend::Sqlite {
                path: dir.join("a.db"),
            },
            dir,
        )
    }

    fn add_user(
        b: &Backend,
        kind: HashKind,
        user: &str,
        pw: &str,
        salt: &str,
        su: bool,
        cid: Option<&str>,
    ) {
        let mut c = b.open().unwrap();
        c.script(schema()).unwrap();
        c.execute(
            "INSERT INTO mqtt_user (username, password_hash, salt, is_superuser, clientid) VALUES ($1, $2, $3, $4, $5)",
            &[
                Param::Text(user.into()),
                Param::Text(kind.hash(pw.as_bytes(), salt, 4)),
                Param::Text(salt.into()),
                Param::Bool(su),
                Param::opt_text(cid.map(str::to_string)),
            ],
        )
        .unwrap();
    }

    #[test]
    fn every_hash_kind_end_to_end() {
        for (i, k) in [
            "plain",
            "sha256",
            "salt,sha256",
            "sha512,salt",
            "pbkdf2,sha256,1000,20",
            "bcrypt",
        ]
        .iter()
        .enumerate()
        {
            let (b, dir) = backend(&format!("k{i}"));
            let kind: HashKind = k.parse().unwrap();
            add_user(&b, kind, "alice", "pw-a", "NaCl", false, None);
            add_user(&b, kind, "root", "pw-r", "salt2", true, None);
            add_user(&b, kind, "bound", "pw-b", "s3", false, Some("dev-1"));
            let a = Auth::new(b, kind, Fallback::Ignore, Duration::ZERO);
            assert_eq!(
                a.check(Some("alice"), "c1", Some(b"pw-a")),
                Outcome::Allow,
                "{k}"
            );
            assert_eq!(
                a.check(Some("alice"), "c1", Some(b"pw-x")),
                Outcome::BadPassword,
                "{k}"
            );
            assert_eq!(
                a.check(Some("alice"), "c1", None),
                Outcome::BadPassword,
                "{k}"
            );
            assert_eq!(
                a.check(Some("root"), "c1", Some(b"pw-r")),
                Outcome::Superuser,
                "{k}"
            );
            assert_eq!(
                a.check(Some("nobody"), "c1", Some(b"pw-a")),
                Outcome::Unknown,
                "{k}"
            );
            assert_eq!(a.check(None, "c1", Some(b"pw-a")), Outcome::Unknown, "{k}");
            assert_eq!(
                a.check(Some("bound"), "dev-1", Some(b"pw-b")),
                Outcome::Allow,
                "{k}"
            );
            assert_eq!(
                a.check(Some("bound"), "dev-2", Some(b"pw-b")),
                Outcome::WrongClient,
                "{k}"
            );
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    #[test]
    fn permits_bound_concurrency() {
        use std::sync::atomic::AtomicUsize;
        let p = std::sync::Arc::new(Permits::new(2));
        let (now, peak) = (
            std::sync::Arc::new(AtomicUsize::new(0)),
            std::sync::Arc::new(AtomicUsize::new(0)),
        );
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (p, now, peak) = (p.clone(), now.clone(), peak.clone());
                std::thread::spawn(move || {
                    p.run(|| {
                        let n = now.fetch_add(1, Relaxed) + 1;
                        peak.fetch_max(n, Relaxed);
                        std::thread::sleep(Duration::from_millis(5));
                        now.fetch_sub(1, Relaxed);
                    })
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert!(peak.load(Relaxed) <= 2 && peak.load(Relaxed) >= 1);
        assert_eq!(*p.used.lock(), 0);
    }

    #[test]
    fn decisions_and_fallbacks() {
        let (b, dir) = backend("fb");
        let deny = Auth::new(b.clone(), HashKind::Plain, Fallback::Deny, Duration::ZERO);
        let ignore = Auth::new(b, HashKind::Plain, Fallback::Ignore, Duration::ZERO);
        assert_eq!(
            deny.decision(Outcome::Unknown),
            AuthDecision::Deny(AuthDenyReason::NotAuthorized)
        );
        assert_eq!(ignore.decision(Outcome::Unknown), AuthDecision::Abstain);
        assert_eq!(
            ignore.decision(Outcome::Superuser),
            AuthDecision::AllowSuperuser
        );
        assert_eq!(
            ignore.decision(Outcome::BadPassword),
            AuthDecision::Deny(AuthDenyReason::BadUsernameOrPassword)
        );
        // No table: a database error, denied by default.
        assert_eq!(ignore.check(Some("u"), "c", Some(b"p")), Outcome::Error);
        assert_eq!(
            ignore.decision(Outcome::Error),
            AuthDecision::Deny(AuthDenyReason::NotAuthorized)
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Polls `f` once with a no-op waker: `Some` when it was ready.
    pub(crate) fn poll_once<F: std::future::Future>(f: F) -> Option<F::Output> {
        let mut f = std::pin::pin!(f);
        struct Noop;
        impl std::task::Wake for Noop {
            fn wake(self: Arc<Self>) {}
        }
        let waker = std::task::Waker::from(Arc::new(Noop));
        let mut cx = std::task::Context::from_waker(&waker);
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        }
    }

    #[test]
    fn async_check_is_ready_at_once_only_without_database_or_slow_hash() {
        let (b, dir) = backend("async");
        let kind = HashKind::Bcrypt;
        add_user(&b, kind, "alice", "pw", "", true, None);
        add_user(&b, kind, "bob", "pw", "", false, Some("bob-1"));
        let a = Arc::new(Auth::new(
            b.clone(),
            kind,
            Fallback::Ignore,
            Duration::from_secs(60),
        ));
        // No username: decided at once. A user not yet read needs the database, so the
        // query and bcrypt run on the runtime's blocking pool: `check_now` (what the first
        // poll tries) has no answer. (Whether the first poll then returns pending depends
        // on how soon the blocking task ends, so that is not asserted.)
        assert_eq!(
            poll_once(a.check_async(None, "c1", Some(b"pw"))),
            Some(Outcome::Unknown)
        );
        assert_eq!(a.check_now(Some("alice"), "c1", Some(b"pw")), None);
        let rt = emqx_rust_hook::rt::runtime();
        assert_eq!(
            rt.block_on(a.check_async(Some("alice"), "c1", Some(b"pw"))),
            Outcome::Superuser
        );
        // Verified once: a hit, ready on the first poll, even with the row gone.
        b.open()
            .unwrap()
            .script("DELETE FROM mqtt_user WHERE username = 'alice'")
            .unwrap();
        assert_eq!(
            poll_once(a.check_async(Some("alice"), "c1", Some(b"pw"))),
            Some(Outcome::Superuser)
        );
        // A wrong password against a cached row needs bcrypt: no answer without it, then
        // refused.
        assert_eq!(a.check_now(Some("alice"), "c1", Some(b"no")), None);
        assert_eq!(
            rt.block_on(a.check_async(Some("alice"), "c1", Some(b"no"))),
            Outcome::BadPassword
        );
        // A cached row bound to another client id is refused without a hash.
        assert_eq!(
            rt.block_on(a.check_async(Some("bob"), "bob-1", Some(b"pw"))),
            Outcome::Allow
        );
        assert_eq!(
            poll_once(a.check_async(Some("bob"), "bob-2", Some(b"pw"))),
            Some(Outcome::WrongClient)
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn cache_skips_the_database_only_for_the_verified_password() {
        let (b, dir) = backend("cache");
        let kind = HashKind::Bcrypt;
        add_user(&b, kind, "alice", "pw", "", false, None);
        let a = Auth::new(b.clone(), kind, Fallback::Ignore, Duration::from_secs(60));
        assert_eq!(a.check(Some("alice"), "c1", Some(b"pw")), Outcome::Allow);
        // The row goes away: the cached verified login still answers, a wrong password
        // is still checked (and refused), and another client id is not a hit.
        b.open().unwrap().script("DELETE FROM mqtt_user").unwrap();
        assert_eq!(a.check(Some("alice"), "c1", Some(b"pw")), Outcome::Allow);
        assert_eq!(
            a.check(Some("alice"), "c1", Some(b"bad")),
            Outcome::BadPassword
        );
        assert_eq!(a.check(Some("alice"), "c2", Some(b"pw")), Outcome::Allow);
        a.clear_cache();
        assert_eq!(a.check(Some("alice"), "c1", Some(b"pw")), Outcome::Unknown);
        let _ = std::fs::remove_dir_all(dir);
    }
}
