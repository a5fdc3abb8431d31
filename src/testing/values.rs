//! Builders of the eagerly decoded arguments: properties, subscription options, topic
//! filters, session info and the authentication result.

use super::{leak_bytes, leak_str};
use crate::types::{
    AuthResult, Bytes, ConnackReason, PropKey, PropName, PropValue, Properties, QoS, SessInfo,
    SubOpts, TopicFilter,
};

impl Properties<'static> {
    /// A builder of an MQTT 5 properties map (module [`crate::testing`]); empty by
    /// default, as v3/v4 clients always have it.
    ///
    /// ```
    /// use emqx_rust_hook::prelude::*;
    ///
    /// let p = Properties::builder()
    ///     .int(PropName::MessageExpiryInterval, 30)
    ///     .bin(PropName::ContentType, "text/plain")
    ///     .user_property("k", "v1")
    ///     .user_property("k", "v2")
    ///     .build();
    /// assert_eq!(p.int(PropName::MessageExpiryInterval), Some(30));
    /// assert_eq!(p.user_properties().len(), 2);
    /// ```
    pub fn builder() -> PropertiesBuilder {
        PropertiesBuilder {
            props: Properties::new(),
        }
    }
}

/// Builds a [`Properties`] test value; start from [`Properties::builder`]. Entries keep
/// the order they are added in.
#[derive(Clone, Debug)]
#[must_use]
pub struct PropertiesBuilder {
    props: Properties<'static>,
}

impl PropertiesBuilder {
    /// An integer property (e.g. `Message-Expiry-Interval`).
    pub fn int(mut self, name: PropName, value: i64) -> Self {
        self.props.push(PropKey::Known(name), PropValue::Int(value));
        self
    }

    /// A binary property (e.g. `Content-Type`, `Response-Topic`).
    pub fn bin(mut self, name: PropName, value: impl AsRef<[u8]>) -> Self {
        let value = PropValue::Bin(Bytes(leak_bytes(value.as_ref())));
        self.props.push(PropKey::Known(name), value);
        self
    }

    /// Appends one `User-Property` pair (duplicates allowed, order kept).
    pub fn user_property(mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        let pair = (
            Bytes(leak_bytes(key.as_ref())),
            Bytes(leak_bytes(value.as_ref())),
        );
        if let Some(PropValue::Pairs(pairs)) = self.props.get_mut(PropName::UserProperty) {
            pairs.push(pair);
        } else {
            self.props.push(
                PropKey::Known(PropName::UserProperty),
                PropValue::Pairs(vec![pair]),
            );
        }
        self
    }

    /// An entry under a key EMQX does not know (another plugin's), with any value.
    pub fn other(mut self, key: &str, value: PropValue<'static>) -> Self {
        self.props.push(PropKey::Unknown(key.to_string()), value);
        self
    }

    /// The properties (their bytes live until the test process exits).
    pub fn build(self) -> Properties<'static> {
        self.props
    }
}

impl SubOpts<'static> {
    /// A builder of subscription options (module [`crate::testing`]), by default those
    /// a real EMQX 4.2.14 broker passed to `session.subscribed` for `t/#` at QoS 1:
    /// `#{is_new => true, nl => 0, qos => 1, rap => 0, rh => 0, sub_props => #{}}`.
    ///
    /// ```
    /// use emqx_rust_hook::prelude::*;
    ///
    /// let o = SubOpts::builder().qos(QoS::ExactlyOnce).share("g1").build();
    /// assert_eq!((o.qos, o.share.as_deref()), (Some(QoS::ExactlyOnce), Some("g1")));
    /// ```
    pub fn builder() -> SubOptsBuilder {
        SubOptsBuilder {
            opts: SubOpts {
                qos: Some(QoS::AtLeastOnce),
                rh: Some(0),
                rap: Some(0),
                nl: Some(0),
                share: None,
                subid: None,
                is_new: Some(true),
                sub_props: Some(Properties::new()),
                unsub_props: None,
            },
        }
    }
}

/// Builds a [`SubOpts`] test value; start from [`SubOpts::builder`] (or
/// `SubOpts::default()` for an empty map, what `client.unsubscribe` gets).
#[derive(Clone, Debug)]
#[must_use]
pub struct SubOptsBuilder {
    opts: SubOpts<'static>,
}

impl SubOptsBuilder {
    /// `qos`.
    pub fn qos(mut self, qos: impl Into<Option<QoS>>) -> Self {
        self.opts.qos = qos.into();
        self
    }

    /// `rh`: retain handling.
    pub fn rh(mut self, rh: impl Into<Option<u8>>) -> Self {
        self.opts.rh = rh.into();
        self
    }

    /// `rap`: retain as published.
    pub fn rap(mut self, rap: impl Into<Option<u8>>) -> Self {
        self.opts.rap = rap.into();
        self
    }

    /// `nl`: no local.
    pub fn nl(mut self, nl: impl Into<Option<u8>>) -> Self {
        self.opts.nl = nl.into();
        self
    }

    /// `share`: the shared-subscription group.
    pub fn share<'s>(mut self, group: impl Into<Option<&'s str>>) -> Self {
        self.opts.share = group.into().map(String::from);
        self
    }

    /// `subid`: the Subscription-Identifier.
    pub fn subid(mut self, id: impl Into<Option<u32>>) -> Self {
        self.opts.subid = id.into();
        self
    }

    /// `is_new` (`session.subscribed`).
    pub fn is_new(mut self, on: impl Into<Option<bool>>) -> Self {
        self.opts.is_new = on.into();
        self
    }

    /// `sub_props`: the SUBSCRIBE properties.
    pub fn sub_props(mut self, props: impl Into<Option<Properties<'static>>>) -> Self {
        self.opts.sub_props = props.into();
        self
    }

    /// `unsub_props`: the UNSUBSCRIBE properties (`session.unsubscribed`).
    pub fn unsub_props(mut self, props: impl Into<Option<Properties<'static>>>) -> Self {
        self.opts.unsub_props = props.into();
        self
    }

    /// The options.
    pub fn build(self) -> SubOpts<'static> {
        self.opts
    }
}

impl TopicFilter<'static> {
    /// A builder of one element of a `client.subscribe` list (module
    /// [`crate::testing`]), by default with the options a real EMQX 4.2.14 broker
    /// passed for `t/#` at QoS 1: `#{nl => 0, qos => 1, rap => 0, rh => 0}`. For a
    /// `client.unsubscribe` element (options `#{}`), add `.opts(SubOpts::default())`.
    ///
    /// ```
    /// use emqx_rust_hook::prelude::*;
    ///
    /// let filters = [
    ///     TopicFilter::builder("t/#").build(),
    ///     TopicFilter::builder("alerts/+").qos(QoS::ExactlyOnce).build(),
    /// ];
    /// assert_eq!(filters[1].opts.qos, Some(QoS::ExactlyOnce));
    /// ```
    pub fn builder(topic: &str) -> TopicFilterBuilder {
        TopicFilterBuilder {
            topic: topic.to_string(),
            opts: SubOpts {
                qos: Some(QoS::AtLeastOnce),
                rh: Some(0),
                rap: Some(0),
                nl: Some(0),
                ..SubOpts::default()
            },
        }
    }
}

/// Builds a [`TopicFilter`] test value; start from [`TopicFilter::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct TopicFilterBuilder {
    topic: String,
    opts: SubOpts<'static>,
}

impl TopicFilterBuilder {
    /// The options' `qos`.
    pub fn qos(mut self, qos: impl Into<Option<QoS>>) -> Self {
        self.opts.qos = qos.into();
        self
    }

    /// The options' `share` group (`$share/<group>/` stripped from the filter).
    pub fn share<'s>(mut self, group: impl Into<Option<&'s str>>) -> Self {
        self.opts.share = group.into().map(String::from);
        self
    }

    /// All options at once (e.g. from [`SubOpts::builder`]).
    pub fn opts(mut self, opts: SubOpts<'static>) -> Self {
        self.opts = opts;
        self
    }

    /// The element (its topic lives until the test process exits).
    pub fn build(self) -> TopicFilter<'static> {
        TopicFilter {
            topic: leak_str(&self.topic),
            opts: self.opts,
        }
    }
}

impl SessInfo<'static> {
    /// A builder of a session summary (module [`crate::testing`]), by default `pub1`'s
    /// as a real EMQX 4.2.14 broker passed it to `session.created`:
    /// `#{await_rel_timeout => 300, created_at => 1795643044427, retry_interval => 30,
    /// subscriptions => #{}, upgrade_qos => false}`.
    ///
    /// ```
    /// use emqx_rust_hook::prelude::*;
    ///
    /// let s = SessInfo::builder()
    ///     .subscription("t/#", SubOpts::builder().is_new(None).build())
    ///     .build();
    /// assert_eq!(s.subscriptions[0].topic, "t/#");
    /// ```
    pub fn builder() -> SessInfoBuilder {
        SessInfoBuilder {
            info: SessInfo {
                subscriptions: Vec::new(),
                upgrade_qos: false,
                retry_interval: Some(30),
                await_rel_timeout: Some(300),
                created_at: Some(1_795_643_044_427),
            },
        }
    }
}

/// Builds a [`SessInfo`] test value; start from [`SessInfo::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct SessInfoBuilder {
    info: SessInfo<'static>,
}

impl SessInfoBuilder {
    /// Adds a subscription: the (mounted) filter and its stored options. A real session
    /// stores `#{nl, qos, rap, rh, sub_props}`: `SubOpts::builder().is_new(None)`.
    pub fn subscription(mut self, filter: &str, opts: SubOpts<'static>) -> Self {
        self.info.subscriptions.push(TopicFilter {
            topic: leak_str(filter),
            opts,
        });
        self
    }

    /// `upgrade_qos`.
    pub fn upgrade_qos(mut self, on: bool) -> Self {
        self.info.upgrade_qos = on;
        self
    }

    /// `retry_interval` in seconds.
    pub fn retry_interval(mut self, seconds: impl Into<Option<u32>>) -> Self {
        self.info.retry_interval = seconds.into();
        self
    }

    /// `await_rel_timeout` in seconds.
    pub fn await_rel_timeout(mut self, seconds: impl Into<Option<u32>>) -> Self {
        self.info.await_rel_timeout = seconds.into();
        self
    }

    /// `created_at`, ms since the epoch.
    pub fn created_at(mut self, ms: impl Into<Option<i64>>) -> Self {
        self.info.created_at = ms.into();
        self
    }

    /// The session summary (its filters live until the test process exits).
    pub fn build(self) -> SessInfo<'static> {
        self.info
    }
}

impl AuthResult {
    /// A builder of the `client.authenticate` accumulator (module [`crate::testing`]),
    /// by default what a real EMQX 4.2.14 broker with no other auth plugin passed:
    /// `#{anonymous => true, auth_result => success}`.
    ///
    /// ```
    /// use emqx_rust_hook::prelude::*;
    ///
    /// let refused = AuthResult::builder().auth_result(ConnackReason::NotAuthorized).build();
    /// assert!(!refused.is_success());
    /// assert!(AuthResult::builder().build().is_success());
    /// ```
    pub fn builder() -> AuthResultBuilder {
        AuthResultBuilder {
            result: AuthResult {
                auth_result: Some(ConnackReason::Success),
                anonymous: Some(true),
                is_superuser: None,
            },
        }
    }
}

/// Builds an [`AuthResult`] test value; start from [`AuthResult::builder`].
#[derive(Clone, Copy, Debug)]
#[must_use]
pub struct AuthResultBuilder {
    result: AuthResult,
}

impl AuthResultBuilder {
    /// `auth_result`.
    pub fn auth_result(mut self, result: impl Into<Option<ConnackReason>>) -> Self {
        self.result.auth_result = result.into();
        self
    }

    /// `anonymous`.
    pub fn anonymous(mut self, on: impl Into<Option<bool>>) -> Self {
        self.result.anonymous = on.into();
        self
    }

    /// `is_superuser` (set by an earlier callback).
    pub fn is_superuser(mut self, on: impl Into<Option<bool>>) -> Self {
        self.result.is_superuser = on.into();
        self
    }

    /// The accumulator.
    pub fn build(self) -> AuthResult {
        self.result
    }
}
