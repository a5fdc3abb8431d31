//! Property tests (proptest) for everything in the SDK that parses or matches bytes
//! without a VM: topic names and filters against a reference port of EMQX's own
//! `emqx_topic` (4.2.14: `match/2`, `validate/2`), the text that client data becomes in
//! log lines, properties a decision may set, addresses, and the configuration
//! (secrets never printed, settings parsed). The code that reads live terms runs in a
//! BEAM: `tests/rust_hook_prop_tests.erl` generates its inputs (PropEr).
//!
//! `PROPTEST_CASES` sets the cases per property (`make fuzz` raises it).

use crate::config::{is_secret_key, tests::config};
use crate::hookpoint::HookPoint;
use crate::logsafe;
use crate::topic::{matches, validate_filter, validate_name, MAX_TOPIC_LEN};
use crate::types::{ip_from_parts, NewProperty, PropKind, PropName, QoS};
use proptest::prelude::*;
use std::net::IpAddr;

/// A straight port of EMQX 4.2.14's `emqx_topic` (match/2, validate/2, words/1), the
/// reference the SDK's own functions are compared with. Words: `''`, `'+'`, `'#'` or a
/// binary, as `emqx_topic:word/1` makes them.
mod emqx_topic {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Word<'a> {
        Empty,
        Plus,
        Hash,
        Bin(&'a str),
    }

    fn words(topic: &str) -> Vec<Word<'_>> {
        topic
            .split('/')
            .map(|w| match w {
                "" => Word::Empty,
                "+" => Word::Plus,
                "#" => Word::Hash,
                w => Word::Bin(w),
            })
            .collect()
    }

    /// `emqx_topic:match(Name, Filter)` for two binaries.
    pub fn matches(name: &str, filter: &str) -> bool {
        if name.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
            return false;
        }
        match_words(&words(name), &words(filter))
    }

    fn match_words(name: &[Word], filter: &[Word]) -> bool {
        match (name, filter) {
            ([], []) => true,
            ([h1, t1 @ ..], [h2, t2 @ ..]) if h1 == h2 => match_words(t1, t2),
            ([_, t1 @ ..], [Word::Plus, t2 @ ..]) => match_words(t1, t2),
            (_, [Word::Hash]) => true,
            _ => false,
        }
    }

    /// `emqx_topic:validate({Type, Topic})`: `true`, or the error it raises (`false`).
    pub fn validate(is_name: bool, topic: &str) -> bool {
        if topic.is_empty() || topic.len() > super::MAX_TOPIC_LEN {
            return false;
        }
        let w = words(topic);
        validate2(&w) && !(is_name && w.iter().any(|w| matches!(w, Word::Plus | Word::Hash)))
    }

    fn validate2(words: &[Word]) -> bool {
        match words {
            [] | [Word::Hash] => true,
            [Word::Hash, ..] => false,
            [Word::Empty | Word::Plus, rest @ ..] => validate2(rest),
            [Word::Bin(b), rest @ ..] => !b.contains(['#', '+', '\0']) && validate2(rest),
        }
    }
}

/// Topics made of levels that exercise every rule: empty levels, wildcards, `$`
/// prefixes, NUL, multi-byte characters.
fn topic() -> impl Strategy<Value = String> {
    let level = prop_oneof![
        Just(String::new()),
        Just("+".to_string()),
        Just("#".to_string()),
        Just("$SYS".to_string()),
        Just("a".to_string()),
        Just("b".to_string()),
        Just("a+".to_string()),
        Just("#b".to_string()),
        Just("\0".to_string()),
        Just("é".to_string()),
        "[a-c$+#]{1,3}",
    ];
    prop::collection::vec(level, 1..6).prop_map(|l| l.join("/"))
}

/// A valid filter and a name that matches it (wildcards filled in).
fn matching_pair() -> impl Strategy<Value = (String, String)> {
    let level = prop_oneof![
        "[a-z0-9]{0,4}".prop_map(|l| (l.clone(), l)),
        "[a-z0-9]{0,4}".prop_map(|l| ("+".to_string(), l)),
    ];
    (prop::collection::vec(level, 1..6), any::<bool>()).prop_map(|(levels, hash)| {
        let (mut f, mut n): (Vec<String>, Vec<String>) = levels.into_iter().unzip();
        if hash {
            f.push("#".into());
            n.push("tail".into());
        }
        (format!("p/{}", n.join("/")), format!("p/{}", f.join("/")))
    })
}

fn prop_name() -> impl Strategy<Value = PropName> {
    prop::sample::select(PropName::ALL.to_vec())
}

proptest! {
    #[test]
    fn matching_is_emqx_topic_match(name in topic(), filter in topic()) {
        prop_assert_eq!(matches(&name, &filter), emqx_topic::matches(&name, &filter));
    }

    #[test]
    fn matching_is_emqx_topic_match_on_any_text(name in "\\PC{0,12}", filter in "\\PC{0,12}") {
        prop_assert_eq!(matches(&name, &filter), emqx_topic::matches(&name, &filter));
    }

    #[test]
    fn filled_in_filters_match(pair in matching_pair()) {
        let (name, filter) = pair;
        prop_assert!(validate_filter(&filter).is_ok());
        prop_assert!(matches(&name, &filter), "{} ~ {}", name, filter);
    }

    #[test]
    fn a_name_matches_itself_and_hash_unless_dollar(name in "[a-c$é/ ]{1,16}") {
        prop_assert!(validate_name(&name).is_ok());
        prop_assert!(matches(&name, &name));
        prop_assert_eq!(matches(&name, "#"), !name.starts_with('$'));
    }

    #[test]
    fn filter_validation_is_emqx_topic_validate(filter in topic()) {
        prop_assert_eq!(validate_filter(&filter).is_ok(), emqx_topic::validate(false, &filter));
    }

    #[test]
    fn name_validation_is_emqx_topic_validate(name in topic()) {
        prop_assert_eq!(validate_name(&name).is_ok(), emqx_topic::validate(true, &name));
    }

    #[test]
    fn long_topics_are_refused(extra in 1usize..70_000) {
        let long = "a".repeat(MAX_TOPIC_LEN + extra);
        prop_assert!(validate_name(&long).is_err());
        prop_assert!(validate_filter(&long).is_err());
        prop_assert!(validate_name(&long[..MAX_TOPIC_LEN]).is_ok());
    }

    #[test]
    fn log_text_has_no_control_characters(text in "\\PC{0,40}|[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}a]{0,40}") {
        let escaped = logsafe::escape_controls(&text);
        prop_assert!(!escaped.chars().any(char::is_control));
        if !text.chars().any(char::is_control) {
            prop_assert_eq!(&*escaped, text.as_str());
        }
    }

    #[test]
    fn client_ids_in_logs_are_one_short_line(raw in prop::collection::vec(any::<u8>(), 0..300)) {
        let shown = logsafe::clientid(&raw);
        prop_assert!(!shown.chars().any(char::is_control));
        // 64 characters, each escaped to at most 10 (`\u{10ffff}`), the quotes and `...`.
        prop_assert!(shown.chars().count() <= 64 * 10 + 5);
        let lossy = String::from_utf8_lossy(&raw);
        if lossy.chars().count() <= 64 {
            let want = format!("{lossy:?}");
            prop_assert_eq!(shown, want);
        } else {
            prop_assert!(shown.ends_with("\"..."));
        }
    }

    #[test]
    fn integer_properties_fit_their_field(name in prop_name(), v in any::<u32>()) {
        let p = NewProperty::Int(name, v);
        let int_kind = name.value_kind() == PropKind::Int;
        prop_assert_eq!(p.validate().is_ok(), int_kind && name.int_range().contains(&u64::from(v)));
        prop_assert!(*name.int_range().end() <= name.max_int());
    }

    #[test]
    fn binary_properties_are_what_emqx_can_write(
        name in prop_name(),
        bytes in prop::collection::vec(any::<u8>(), 0..64),
        extra in prop_oneof![Just(0usize), 65_000usize..66_000],
    ) {
        let mut b = bytes;
        b.resize(b.len() + extra, b'x');
        let bin_kind = name.value_kind() == PropKind::Bin;
        let ok = bin_kind
            && b.len() <= 0xFFFF
            && (!name.is_text() || std::str::from_utf8(&b).is_ok());
        prop_assert_eq!(NewProperty::Bin(name, b).validate().is_ok(), ok);
    }

    #[test]
    fn user_properties_must_be_short_utf8(
        pairs in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 0..8), prop::collection::vec(any::<u8>(), 0..8)),
            0..6,
        ),
    ) {
        let ok = pairs.iter().all(|(k, v)| std::str::from_utf8(k).is_ok() && std::str::from_utf8(v).is_ok());
        prop_assert_eq!(NewProperty::UserProperties(pairs).validate().is_ok(), ok);
    }

    #[test]
    fn ip_tuples_are_read_or_refused(parts in prop::collection::vec(prop_oneof![0u64..=255, 0u64..=0xFFFF, any::<u64>()], 0..10)) {
        let ip = ip_from_parts(&parts);
        match parts.len() {
            4 if parts.iter().all(|p| *p <= 255) => prop_assert!(matches!(ip, Some(IpAddr::V4(_)))),
            8 if parts.iter().all(|p| *p <= 0xFFFF) => {
                let mapped = parts[..5].iter().all(|p| *p == 0) && parts[5] == 0xFFFF;
                prop_assert_eq!(matches!(ip, Some(IpAddr::V4(_))), mapped);
                prop_assert!(ip.is_some());
            }
            _ => prop_assert!(ip.is_none()),
        }
    }

    #[test]
    fn names_and_numbers_parse_only_when_valid(name in "[a-z._]{0,24}", q in any::<u8>()) {
        if let Some(h) = HookPoint::from_name(&name) {
            prop_assert_eq!(h.name(), name.as_str());
        }
        prop_assert_eq!(QoS::from_u8(q).map(|q| q.as_u8()), (q <= 2).then_some(q));
    }

    #[test]
    fn secrets_never_printed(
        key in "[a-zA-Z_]{0,6}(password|PASSWD|Secret|token|key|credential)[a-z_]{0,6}",
        value in "[A-Za-z0-9]{12,24}",
    ) {
        prop_assert!(is_secret_key(&key));
        let mut c = config();
        c.init.insert(key.clone(), value.clone());
        let shown = format!("{c:?}");
        prop_assert!(!shown.contains(&value));
        prop_assert!(shown.contains("<redacted>"));
        let err = c.parse::<u8>(&key).err().map(|e| e.to_string()).unwrap_or_default();
        prop_assert!(!err.contains(&value), "{}", err);
    }

    #[test]
    fn settings_parse_or_say_why(key in "[a-z_]{1,12}", value in "\\PC{0,12}|[0-9]{1,12}") {
        prop_assume!(!is_secret_key(&key));
        let mut c = config();
        c.init.insert(key.clone(), value.clone());
        prop_assert_eq!(c.get(&key), Some(value.as_str()));
        match (c.parse::<u32>(&key), value.parse::<u32>()) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(e), Err(_)) => prop_assert!(e.to_string().contains(&key)),
            (a, b) => prop_assert!(false, "parse {:?} vs {:?}", a.ok(), b.ok()),
        }
        prop_assert!(c.parse::<u32>("absent_key").is_err());
    }
}
