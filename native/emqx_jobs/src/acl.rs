//! Job 3, ACL rules (`client.check_acl`, an `async fn` hook: a cache hit decides on the
//! caller's scheduler at once; a miss awaits the query on the SDK runtime's blocking pool).
//!
//! The rules table (created with `init.create_tables = on`):
//!
//! ```sql
//! CREATE TABLE mqtt_acl (
//!   ord        BIGINT NOT NULL DEFAULT 0,  -- rules apply in this order; the first match decides
//!   permission TEXT NOT NULL,              -- allow | deny
//!   action     TEXT NOT NULL,              -- publish | subscribe | pubsub
//!   topic      TEXT NOT NULL,              -- a filter; %u = username, %c = client id; "eq t/#" = literally t/#
//!   username   TEXT,                       -- NULL: any user
//!   clientid   TEXT                        -- NULL: any client id
//! );
//! ```
//!
//! A rule applies to a client when its `username` and `clientid` are NULL or equal the
//! client's (so a rule with both NULL is for everyone). The topic EMQX passes is
//! unmounted, and for a subscription the filter without its `$share/<group>/` prefix:
//! rules are written without mountpoint or share prefix. Matching is EMQX's
//! (`emqx_topic:match/2`): `+` one level, `#` the rest; a wildcard in a subscribed
//! filter is a level like any other (subscribing `a/+` is matched by a rule `a/#` or
//! `a/+`); `$`-topics never match a rule starting with a wildcard. A rule with `%u` does
//! not apply to a client without username. No matching rule: `init.acl_nomatch`
//! (`ignore`, the default: the chain goes on to EMQX's own `acl_nomatch`; `allow`;
//! `deny`).
//!
//! Cache: the rules of a (username, client id) are kept `init.acl_cache_ttl` (default
//! `10s`; `0` turns it off), so a rule change takes effect within that time. (EMQX also
//! caches each client's decisions per topic in the connection, `acl_cache_ttl`.)

use crate::db::{Backend, DbError, Param};
use crate::pool::Pool;
use crate::settings;
use emqx_rust_hook::prelude::*;
use emqx_rust_hook::topic::matches;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The rules table.
pub fn schema() -> &'static str {
    "CREATE TABLE IF NOT EXISTS mqtt_acl (\
       ord BIGINT NOT NULL DEFAULT 0, \
       permission TEXT NOT NULL, \
       action TEXT NOT NULL, \
       topic TEXT NOT NULL, \
       username TEXT, \
       clientid TEXT)"
}

const QUERY: &str = "SELECT permission, action, topic FROM mqtt_acl \
     WHERE (username IS NULL OR username = $1) AND (clientid IS NULL OR clientid = $2) \
     ORDER BY ord";

/// Which operations a rule covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Publish only.
    Publish,
    /// Subscribe only.
    Subscribe,
    /// Both.
    PubSub,
}

/// One rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Allow (true) or deny.
    pub allow: bool,
    /// What it covers.
    pub action: Action,
    /// The filter, with `%u` / `%c` placeholders, or `eq <topic>`.
    pub topic: String,
}

impl Rule {
    /// Parses a row's `permission`, `action`, `topic`.
    pub fn parse(permission: &str, action: &str, topic: &str) -> Result<Rule, String> {
        let allow = match permission.trim() {
            "allow" => true,
            "deny" => false,
            p => return Err(format!("permission {p:?} is not allow or deny")),
        };
        let action = match action.trim() {
            "publish" | "pub" => Action::Publish,
            "subscribe" | "sub" => Action::Subscribe,
            "pubsub" | "all" => Action::PubSub,
            a => return Err(format!("action {a:?} is not publish, subscribe or pubsub")),
        };
        Ok(Rule {
            allow,
            action,
            topic: topic.to_string(),
        })
    }

    /// Whether the rule applies to this check.
    pub fn applies(
        &self,
        username: Option<&str>,
        clientid: &str,
        pubsub: PubSub,
        topic: &str,
    ) -> bool {
        let action_ok = matches!(
            (self.action, pubsub),
            (Action::PubSub, _)
                | (Action::Publish, PubSub::Publish)
                | (Action::Subscribe, PubSub::Subscribe)
        );
        if !action_ok {
            return false;
        }
        if let Some(literal) = self.topic.strip_prefix("eq ") {
            return topic == literal;
        }
        let filter = if self.topic.contains('%') {
            if self.topic.contains("%u") && username.is_none() {
                return false;
            }
            self.topic
                .replace("%u", username.unwrap_or(""))
                .replace("%c", clientid)
        } else {
            self.topic.clone()
        };
        matches(topic, &filter)
    }
}

/// The first rule that applies: `Some(true)` allow, `Some(false)` deny, `None` no match.
pub fn decide(
    rules: &[Rule],
    username: Option<&str>,
    clientid: &str,
    pubsub: PubSub,
    topic: &str,
) -> Option<bool> {
    rules
        .iter()
        .find(|r| r.applies(username, clientid, pubsub, topic))
        .map(|r| r.allow)
}

/// What no matching rule gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoMatch {
    /// The chain goes on.
    Ignore,
    /// Allowed.
    Allow,
    /// Denied.
    Deny,
}

#[derive(Default)]
struct Stats {
    allowed: AtomicU64,
    denied: AtomicU64,
    nomatch: AtomicU64,
    errors: AtomicU64,
    cache_hits: AtomicU64,
    bad_rules: AtomicU64,
}

type Key = (Option<String>, String);
/// When a client's rules were read, and the rules.
type Entry = (Instant, Arc<Vec<Rule>>);

/// The ACL job.
pub struct Acl {
    pool: Pool,
    nomatch: NoMatch,
    cache_ttl: Duration,
    cache: Mutex<HashMap<Key, Entry>>,
    stats: Stats,
}

/// The cache keeps at most this many clients' rules (it is emptied when full).
const CACHE_MAX: usize = 100_000;

impl Acl {
    /// Reads `init.acl_*` (see the module doc).
    pub fn from_config(config: &Config, backend: Backend) -> Result<Acl, InitError> {
        let nomatch = match settings::choice(config, "acl_nomatch", &["ignore", "allow", "deny"])? {
            "allow" => NoMatch::Allow,
            "deny" => NoMatch::Deny,
            _ => NoMatch::Ignore,
        };
        let ttl = settings::duration(config, "acl_cache_ttl", Duration::from_secs(10))?;
        Ok(Acl::new(backend, config.pool_size(), nomatch, ttl))
    }

    /// A job with explicit settings (tests and benchmarks).
    pub fn new(backend: Backend, pool_size: usize, nomatch: NoMatch, cache_ttl: Duration) -> Acl {
        Acl {
            pool: Pool::new(backend, pool_size),
            nomatch,
            cache_ttl,
            cache: Mutex::new(HashMap::new()),
            stats: Stats::default(),
        }
    }

    fn load(&self, username: Option<&str>, clientid: &str) -> Result<Vec<Rule>, DbError> {
        let rows = self.pool.with(|c| {
            c.query(
                QUERY,
                &[
                    Param::opt_text(username.map(str::to_string)),
                    Param::Text(clientid.to_string()),
                ],
            )
        })?;
        let mut rules = Vec::with_capacity(rows.len());
        for r in rows {
            let s = |i: usize| r.get(i).and_then(Param::as_str).unwrap_or("");
            match Rule::parse(s(0), s(1), s(2)) {
                Ok(rule) => rules.push(rule),
                Err(e) => {
                    if self.stats.bad_rules.fetch_add(1, Relaxed) % 1000 == 0 {
                        tracing::warn!("acl: rule skipped: {e} (topic {:?})", s(2));
                    }
                }
            }
        }
        Ok(rules)
    }

    /// The cached rules of a client, when fresh (no database call).
    fn cached(&self, username: Option<&str>, clientid: &str) -> Option<Arc<Vec<Rule>>> {
        if self.cache_ttl.is_zero() {
            return None;
        }
        let cache = self.cache.lock();
        let (at, rules) = cache.get(&(username.map(str::to_string), clientid.to_string()))?;
        (at.elapsed() < self.cache_ttl).then(|| {
            self.stats.cache_hits.fetch_add(1, Relaxed);
            rules.clone()
        })
    }

    /// Reads a client's rules from the database (blocking) and caches them.
    fn fetch(&self, username: Option<&str>, clientid: &str) -> Result<Arc<Vec<Rule>>, DbError> {
        let rules = Arc::new(self.load(username, clientid)?);
        if !self.cache_ttl.is_zero() {
            let mut cache = self.cache.lock();
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
            cache.insert(
                (username.map(str::to_string), clientid.to_string()),
                (Instant::now(), rules.clone()),
            );
        }
        Ok(rules)
    }

    /// The hook's logic over plain values: the decision for this check (a cache miss
    /// queries the database on the calling thread).
    pub fn check(
        &self,
        username: Option<&str>,
        clientid: &str,
        pubsub: PubSub,
        topic: &str,
    ) -> AclDecision {
        let rules = match self.cached(username, clientid) {
            Some(r) => Ok(r),
            None => self.fetch(username, clientid),
        };
        self.decide(rules, username, clientid, pubsub, topic)
    }

    /// The hook's logic as the `async fn` hook runs it: a cache hit decides at once
    /// (ready on the first poll, nothing awaited); a miss awaits the query on the
    /// runtime's blocking pool, never on a BEAM scheduler.
    pub async fn check_async(
        self: &Arc<Self>,
        username: Option<&str>,
        clientid: &str,
        pubsub: PubSub,
        topic: &str,
    ) -> AclDecision {
        let rules = match self.cached(username, clientid) {
            Some(r) => Ok(r),
            None => {
                let (me, u, c) = (
                    self.clone(),
                    username.map(str::to_string),
                    clientid.to_string(),
                );
                emqx_rust_hook::rt::runtime()
                    .spawn_blocking(move || me.fetch(u.as_deref(), &c))
                    .await
                    .unwrap_or_else(|e| Err(DbError(format!("the query task failed: {e}"))))
            }
        };
        self.decide(rules, username, clientid, pubsub, topic)
    }

    fn decide(
        &self,
        rules: Result<Arc<Vec<Rule>>, DbError>,
        username: Option<&str>,
        clientid: &str,
        pubsub: PubSub,
        topic: &str,
    ) -> AclDecision {
        let rules = match rules {
            Ok(r) => r,
            Err(e) => {
                self.stats.errors.fetch_add(1, Relaxed);
                tracing::warn!(
                    "acl: rules lookup failed on {}: {e}",
                    self.pool.backend().label()
                );
                // The plugin's failed_action for client_check_acl does not apply to an
                // answer; deny is the safe one.
                return AclDecision::Deny;
            }
        };
        match decide(&rules, username, clientid, pubsub, topic) {
            Some(true) => {
                self.stats.allowed.fetch_add(1, Relaxed);
                AclDecision::Allow
            }
            Some(false) => {
                self.stats.denied.fetch_add(1, Relaxed);
                AclDecision::Deny
            }
            None => {
                self.stats.nomatch.fetch_add(1, Relaxed);
                match self.nomatch {
                    NoMatch::Ignore => AclDecision::Abstain,
                    NoMatch::Allow => AclDecision::Allow,
                    NoMatch::Deny => AclDecision::Deny,
                }
            }
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
            ("acl.database".into(), self.pool.backend().label()),
            (
                "acl.db".into(),
                if self.pool.is_down() { "down" } else { "up" }.into(),
            ),
            ("acl.allowed".into(), s.allowed.load(Relaxed).to_string()),
            ("acl.denied".into(), s.denied.load(Relaxed).to_string()),
            ("acl.nomatch".into(), s.nomatch.load(Relaxed).to_string()),
            ("acl.errors".into(), s.errors.load(Relaxed).to_string()),
            (
                "acl.bad_rules".into(),
                s.bad_rules.load(Relaxed).to_string(),
            ),
            (
                "acl.cache".into(),
                crate::settings::cache_label(self.cache.lock().len(), "clients", self.cache_ttl),
            ),
            (
                "acl.cache_hits".into(),
                s.cache_hits.load(Relaxed).to_string(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PubSub::{Publish as P, Subscribe as S};

    fn r(perm: &str, action: &str, topic: &str) -> Rule {
        Rule::parse(perm, action, topic).unwrap()
    }

    /// (rule, username, client id, pubsub, topic, whether the rule applies).
    type Case = (
        Rule,
        Option<&'static str>,
        &'static str,
        PubSub,
        &'static str,
        bool,
    );
    /// (ord, permission, action, topic, username, client id).
    type Row = (
        i64,
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    );

    /// Expected decisions, one rule at a time.
    #[test]
    fn rule_table() {
        let alice = Some("alice");
        let cases: &[Case] = &[
            (r("allow", "publish", "a/b"), alice, "c1", P, "a/b", true),
            (r("allow", "publish", "a/b"), alice, "c1", S, "a/b", false),
            (r("allow", "subscribe", "a/b"), alice, "c1", P, "a/b", false),
            (r("allow", "pubsub", "a/b"), alice, "c1", S, "a/b", true),
            (r("allow", "pubsub", "a/+"), alice, "c1", P, "a/b", true),
            (r("allow", "pubsub", "a/+"), alice, "c1", P, "a/b/c", false),
            (r("allow", "pubsub", "a/#"), alice, "c1", P, "a", true),
            (r("allow", "pubsub", "a/#"), alice, "c1", P, "a/b/c", true),
            (r("allow", "pubsub", "#"), alice, "c1", P, "$SYS/x", false),
            (r("allow", "pubsub", "+/x"), alice, "c1", P, "$SYS/x", false),
            (
                r("allow", "pubsub", "$SYS/#"),
                alice,
                "c1",
                S,
                "$SYS/x",
                true,
            ),
            // Subscribing a wildcard filter: its wildcards are levels (emqx_topic:match).
            (r("allow", "subscribe", "a/#"), alice, "c1", S, "a/+", true),
            (r("allow", "subscribe", "a/+"), alice, "c1", S, "a/+", true),
            (r("allow", "subscribe", "a/+"), alice, "c1", S, "a/#", true),
            (r("allow", "subscribe", "a/b"), alice, "c1", S, "a/+", false),
            (
                r("allow", "subscribe", "a/b/#"),
                alice,
                "c1",
                S,
                "a/#",
                false,
            ),
            // eq: the literal filter only.
            (
                r("allow", "subscribe", "eq a/#"),
                alice,
                "c1",
                S,
                "a/#",
                true,
            ),
            (
                r("allow", "subscribe", "eq a/#"),
                alice,
                "c1",
                S,
                "a/b",
                false,
            ),
            (
                r("allow", "subscribe", "eq a/#"),
                alice,
                "c1",
                S,
                "a/+",
                false,
            ),
            // Placeholders.
            (
                r("allow", "pubsub", "users/%u/#"),
                alice,
                "c1",
                P,
                "users/alice/x",
                true,
            ),
            (
                r("allow", "pubsub", "users/%u/#"),
                alice,
                "c1",
                P,
                "users/bob/x",
                false,
            ),
            (
                r("allow", "pubsub", "users/%u/#"),
                None,
                "c1",
                P,
                "users//x",
                false,
            ),
            (
                r("allow", "pubsub", "dev/%c/+"),
                alice,
                "c1",
                P,
                "dev/c1/t",
                true,
            ),
            (
                r("allow", "pubsub", "dev/%c/+"),
                alice,
                "c1",
                P,
                "dev/c2/t",
                false,
            ),
            (
                r("allow", "pubsub", "%u/%c"),
                alice,
                "c1",
                P,
                "alice/c1",
                true,
            ),
            (
                r("allow", "pubsub", "eq users/%u"),
                alice,
                "c1",
                P,
                "users/%u",
                true,
            ),
            (
                r("allow", "pubsub", "eq users/%u"),
                alice,
                "c1",
                P,
                "users/alice",
                false,
            ),
        ];
        for (i, (rule, user, cid, ps, topic, want)) in cases.iter().enumerate() {
            assert_eq!(
                rule.applies(*user, cid, *ps, topic),
                *want,
                "case {i}: {rule:?} {ps:?} {topic}"
            );
        }
    }

    #[test]
    fn first_matching_rule_decides() {
        let rules = vec![
            r("deny", "publish", "secret/#"),
            r("allow", "pubsub", "users/%u/#"),
            r("allow", "subscribe", "secret/public"),
            r("allow", "pubsub", "#"),
        ];
        let d = |ps, t| decide(&rules, Some("bob"), "c", ps, t);
        assert_eq!(d(P, "secret/x"), Some(false));
        assert_eq!(d(S, "secret/public"), Some(true));
        assert_eq!(d(P, "users/bob/x"), Some(true));
        assert_eq!(decide(&rules[..2], Some("bob"), "c", P, "other"), None);
        assert!(Rule::parse("maybe", "publish", "t").is_err());
        assert!(Rule::parse("allow", "read", "t").is_err());
    }

    #[test]
    fn async_check_awaits_a_miss_and_answers_a_hit_at_once() {
        let dir = std::env::temp_dir().join(format!("emqx_jobs_acl_async_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let b = Backend::Sqlite {
            path: dir.join("acl.db"),
        };
        let mut c = b.open().unwrap();
        c.script(schema()).unwrap();
        c.execute(
            "INSERT INTO mqtt_acl (ord, permission, action, topic) VALUES (1, 'allow', 'publish', 'u/%u/#')",
            &[],
        )
        .unwrap();
        let acl = Arc::new(Acl::new(b, 2, NoMatch::Deny, Duration::from_secs(60)));
        let u = Some("bob");
        // A miss needs the database, on the runtime's blocking pool. (Whether the first
        // poll then returns pending depends on how soon that task ends: not asserted.)
        assert!(acl.cached(u, "c").is_none());
        let rt = emqx_rust_hook::rt::runtime();
        assert_eq!(
            rt.block_on(acl.check_async(u, "c", P, "u/bob/1")),
            AclDecision::Allow
        );
        // Cached: ready on the first poll, for any topic of that client.
        assert_eq!(
            crate::auth::tests::poll_once(acl.check_async(u, "c", P, "u/bob/2")),
            Some(AclDecision::Allow)
        );
        assert_eq!(
            crate::auth::tests::poll_once(acl.check_async(u, "c", P, "u/eve/2")),
            Some(AclDecision::Deny)
        );
        // A database that fails: denied, counted.
        let broken = Arc::new(Acl::new(
            Backend::Sqlite {
                path: dir.join("missing/dir/acl.db"),
            },
            1,
            NoMatch::Allow,
            Duration::from_secs(60),
        ));
        assert_eq!(
            rt.block_on(broken.check_async(u, "c", P, "t")),
            AclDecision::Deny
        );
        assert_eq!(broken.stats.errors.load(Relaxed), 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn rules_from_the_database_per_user_client_and_all() {
        let dir = std::env::temp_dir().join(format!("emqx_jobs_acl_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let b = Backend::Sqlite {
            path: dir.join("acl.db"),
        };
        let mut c = b.open().unwrap();
        c.script(schema()).unwrap();
        let rows: &[Row] = &[
            (1, "deny", "pubsub", "private/#", None, None),
            (2, "allow", "publish", "bob/#", Some("bob"), None),
            (3, "allow", "subscribe", "dev/#", None, Some("dev-1")),
            (4, "deny", "pubsub", "bogus/#", None, None),
            (5, "allow", "flying", "x", None, None),
        ];
        for (ord, p, a, t, u, cid) in rows {
            c.execute(
                "INSERT INTO mqtt_acl (ord, permission, action, topic, username, clientid) VALUES ($1,$2,$3,$4,$5,$6)",
                &[
                    Param::Int(*ord),
                    Param::Text(p.to_string()),
                    Param::Text(a.to_string()),
                    Param::Text(t.to_string()),
                    Param::opt_text(u.map(str::to_string)),
                    Param::opt_text(cid.map(str::to_string)),
                ],
            )
            .unwrap();
        }
        let acl = Acl::new(b, 2, NoMatch::Deny, Duration::ZERO);
        assert_eq!(acl.check(Some("bob"), "x", P, "bob/1"), AclDecision::Allow);
        assert_eq!(acl.check(Some("eve"), "x", P, "bob/1"), AclDecision::Deny);
        assert_eq!(
            acl.check(Some("bob"), "x", P, "private/1"),
            AclDecision::Deny
        );
        assert_eq!(acl.check(None, "dev-1", S, "dev/a"), AclDecision::Allow);
        assert_eq!(acl.check(None, "dev-2", S, "dev/a"), AclDecision::Deny);
        let ignore = Acl::new(
            Backend::Sqlite {
                path: dir.join("acl.db"),
            },
            2,
            NoMatch::Ignore,
            Duration::from_secs(60),
        );
        assert_eq!(
            ignore.check(Some("bob"), "x", S, "bob/1"),
            AclDecision::Abstain
        );
        // Cached: a new rule is not seen until the cache is cleared (or the TTL passes).
        c.execute(
            "INSERT INTO mqtt_acl (ord, permission, action, topic) VALUES (0, 'allow', 'subscribe', 'bob/#')",
            &[],
        )
        .unwrap();
        assert_eq!(
            ignore.check(Some("bob"), "x", S, "bob/1"),
            AclDecision::Abstain
        );
        ignore.clear_cache();
        assert_eq!(
            ignore.check(Some("bob"), "x", S, "bob/1"),
            AclDecision::Allow
        );
        assert!(ignore
            .status()
            .iter()
            .any(|(k, v)| k == "acl.bad_rules" && v != "0"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
