//! `sessinfo()`, subscription options and topic-filter lists (contract 2.3 and 2.4).

use super::{Properties, QoS};
use serde::Serialize;

/// Subscription options (`subopts()`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct SubOpts<'a> {
    /// `qos` (`None` in unsubscribe lists, which carry no QoS).
    pub qos: Option<QoS>,
    /// `rh`: retain handling 0..2.
    pub rh: Option<u8>,
    /// `rap`: retain as published 0 | 1.
    pub rap: Option<u8>,
    /// `nl`: no local 0 | 1.
    pub nl: Option<u8>,
    /// `share`: the shared-subscription group (`$queue` for `$queue/`).
    pub share: Option<String>,
    /// `subid`: the MQTT 5 Subscription-Identifier.
    pub subid: Option<u32>,
    /// `is_new`: only in `session.subscribed`.
    pub is_new: Option<bool>,
    /// `sub_props`: the SUBSCRIBE properties, from the session on.
    pub sub_props: Option<Properties<'a>>,
    /// `unsub_props`: only in `session.unsubscribed`.
    pub unsub_props: Option<Properties<'a>>,
}

/// One `{TopicFilter, SubOpts}` element of a subscribe or unsubscribe list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopicFilter<'a> {
    /// The filter, unmounted, without any `$share/Group/` prefix.
    pub topic: &'a str,
    /// Its options.
    pub opts: SubOpts<'a>,
}

/// The session summary passed to the `session.*` hooks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessInfo<'a> {
    /// `subscriptions`: mounted filter to stored options (at most 1,024 are decoded; the
    /// rest is left out and logged).
    pub subscriptions: Vec<TopicFilter<'a>>,
    /// `upgrade_qos`.
    pub upgrade_qos: bool,
    /// `retry_interval` in seconds.
    pub retry_interval: Option<u32>,
    /// `await_rel_timeout` in seconds.
    pub await_rel_timeout: Option<u32>,
    /// `created_at`, ms since the epoch.
    pub created_at: Option<i64>,
}
