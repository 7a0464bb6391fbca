//! The SPF rules spfcheck has decided on, one test (at least) per rule, each naming its RFC 7208
//! section. The conformance suites (`spf_suite`) check results against other implementations'
//! expectations; these tests pin down the decisions the suites leave open or only touch in
//! passing — which lookups count toward which limit, what the trace must show, how the
//! overall deadline behaves — so that a change to the evaluator cannot quietly alter them.
//!
//! Each test is a zone-file snippet (origin `example.com.`, TTL 300), the inputs and the expected
//! outcome: `result`, `mechanism`, the counters, `problem` and trace events.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use spfcheck::dns::fault::{FaultKind, Faults};
use spfcheck::dns::overlay::{Overlay, ZoneData};
use spfcheck::dns::zone::parse_zone;
use spfcheck::dns::{Answer, RType, Resolver, normalize_name};
use spfcheck::eval::spf::{Limits, SpfOutput, SpfRequest, SpfResult, check_host};
use spfcheck::eval::trace::{Event, Node, QueryOutcome, TermOutcome};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Zone data from a snippet whose relative names are under `example.com.`.
fn zone(text: &str) -> ZoneData {
    let full = format!("$ORIGIN example.com.\n$TTL 300\n{text}\n");
    let mut z = ZoneData::new();
    z.extend(parse_zone(&full, None).expect("test zone text parses"));
    z
}

/// Offline DNS from a zone snippet: absent names NXDOMAIN, present names without the type NODATA.
fn dns(text: &str) -> Arc<dyn Resolver> {
    Arc::new(Overlay::new(zone(text), None))
}

/// As [`dns`], with injected failures.
fn faulty(text: &str, faults: &[(&str, Option<RType>, FaultKind)]) -> Arc<dyn Resolver> {
    let mut f = Faults::new(dns(text));
    for (name, rtype, kind) in faults {
        f.add(name, *rtype, *kind);
    }
    Arc::new(f)
}

/// A request for `user@example.com` from `ip`.
fn req(ip: &str) -> SpfRequest {
    SpfRequest::new(
        ip.parse().expect("test IP"),
        "user@example.com",
        "helo.example.com",
    )
}

/// Evaluates `user@example.com` from `ip` against the zone snippet.
async fn check(text: &str, ip: &str) -> SpfOutput {
    check_host(dns(text), &req(ip)).await
}

/// Wraps a resolver: logs every query as it is started, optionally after a delay.
struct Counting {
    inner: Arc<dyn Resolver>,
    delay: Duration,
    log: Mutex<Vec<(String, RType)>>,
}

impl Counting {
    fn new(inner: Arc<dyn Resolver>, delay: Duration) -> Arc<Counting> {
        Arc::new(Counting {
            inner,
            delay,
            log: Mutex::new(Vec::new()),
        })
    }

    fn queries(&self) -> Vec<(String, RType)> {
        self.log.lock().expect("log lock").clone()
    }
}

#[async_trait::async_trait]
impl Resolver for Counting {
    async fn query(&self, name: &str, rtype: RType) -> Answer {
        self.log
            .lock()
            .expect("log lock")
            .push((normalize_name(name), rtype));
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.inner.query(name, rtype).await
    }
}

/// Every DNS query event in the trace: (name, type, outcome).
fn queries(trace: &Node) -> Vec<(String, RType, QueryOutcome)> {
    trace
        .walk()
        .into_iter()
        .filter_map(|n| match &n.event {
            Event::Query {
                name,
                rtype,
                outcome,
                ..
            } => Some((name.clone(), *rtype, *outcome)),
            _ => None,
        })
        .collect()
}

/// The number of queries in the trace for (name, type).
fn queried(trace: &Node, name: &str, rtype: RType) -> usize {
    queries(trace)
        .iter()
        .filter(|(n, t, _)| n == name && *t == rtype)
        .count()
}

/// The trace's `Term` nodes in the order their events were completed (post-order: a term's
/// nested include/redirect evaluation finishes before the term itself does).
fn terms_in_order(node: &Node) -> Vec<&Node> {
    let mut out = Vec::new();
    for c in &node.children {
        out.extend(terms_in_order(c));
    }
    if matches!(node.event, Event::Term { .. }) {
        out.push(node);
    }
    out
}

/// The term node whose text is `term` (the first one, depth-first).
fn term_node<'a>(trace: &'a Node, term: &str) -> &'a Node {
    terms_in_order(trace)
        .into_iter()
        .find(|n| matches!(&n.event, Event::Term { term: t, .. } if t == term))
        .unwrap_or_else(|| panic!("no term {term} in the trace: {trace:#?}"))
}

/// The direct query children of a node: (name, type).
fn direct_queries(node: &Node) -> Vec<(String, RType)> {
    node.children
        .iter()
        .filter_map(|c| match &c.event {
            Event::Query { name, rtype, .. } => Some((name.clone(), *rtype)),
            _ => None,
        })
        .collect()
}

fn limit_events(trace: &Node) -> Vec<(String, u32, u32, String)> {
    trace
        .walk()
        .into_iter()
        .filter_map(|n| match &n.event {
            Event::Limit {
                limit,
                count,
                max,
                term,
            } => Some((limit.clone(), *count, *max, term.clone())),
            _ => None,
        })
        .collect()
}

fn ignored(trace: &Node) -> Vec<String> {
    trace
        .walk()
        .into_iter()
        .filter_map(|n| match &n.event {
            Event::Ignored { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn notes(trace: &Node) -> Vec<String> {
    trace
        .walk()
        .into_iter()
        .filter_map(|n| match &n.event {
            Event::Note { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn problem(out: &SpfOutput) -> &str {
    out.problem.as_ref().map_or("", |d| d.message.as_str())
}

// ---------------------------------------------------------------------------------------------
// Rule 1 — RFC 7208 §4.6.4: at most 10 DNS-querying terms
// ---------------------------------------------------------------------------------------------

/// include, a, mx, ptr, exists and redirect count (across includes and redirects); all, ip4,
/// ip6 and exp do not. Exactly 10 passes.
#[tokio::test]
async fn s4_6_4_ten_dns_terms_across_include_and_redirect_pass() {
    let out = check(
        r#"
@ TXT "v=spf1 ip4:198.51.100.1 ip6:2001:db8::1 exp=e.example.com include:i.example.com a:h.example.com mx:m.example.com ptr redirect=r.example.com"
i TXT "v=spf1 a:h.example.com -all"
r TXT "v=spf1 a:h.example.com a:h.example.com a:h.example.com exists:h.example.com -all"
h A 198.51.100.7
m MX 10 h
1.2.0.192.in-addr.arpa. PTR other.test.
other.test. A 192.0.2.1
"#,
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Pass, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("exists:h.example.com"));
    assert_eq!(out.dns_lookups, 10);
    assert_eq!(out.void_lookups, 0);
    assert!(limit_events(&out.trace).is_empty());
}

/// The 11th DNS term (here inside a redirect target) is a permerror that names it.
#[tokio::test]
async fn s4_6_4_eleventh_dns_term_is_permerror_naming_it() {
    let out = check(
        r#"
@ TXT "v=spf1 ip4:198.51.100.1 include:i.example.com a:h.example.com mx:m.example.com ptr redirect=r.example.com"
i TXT "v=spf1 a:h.example.com -all"
r TXT "v=spf1 a:h.example.com a:h.example.com a:h.example.com a:h.example.com exists:h.example.com -all"
h A 198.51.100.7
m MX 10 h
1.2.0.192.in-addr.arpa. PTR other.test.
other.test. A 192.0.2.1
"#,
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::PermError, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("exists:h.example.com"));
    assert!(problem(&out).contains("exists:h.example.com"), "{out:?}");
    assert!(problem(&out).contains("number 11"), "{out:?}");
    assert_eq!(out.dns_lookups, 11);
    assert_eq!(
        limit_events(&out.trace),
        vec![(
            "dns_lookups".to_string(),
            11,
            10,
            "exists:h.example.com".to_string()
        )]
    );
    // The over-limit term made no query: h.example.com's A was asked by the 1 + 1 + 4 `a`
    // terms and once as the MX host of m.example.com.
    assert_eq!(queried(&out.trace, "h.example.com", RType::A), 7);
}

/// redirect is a DNS term: after 10 others it is the 11th.
#[tokio::test]
async fn s4_6_4_redirect_as_eleventh_term_is_permerror() {
    let out = check(
        r#"
@ TXT "v=spf1 a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com redirect=r.example.com"
r TXT "v=spf1 +all"
h A 198.51.100.7
"#,
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::PermError, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("redirect=r.example.com"));
    assert!(problem(&out).contains("redirect=r.example.com"));
    assert_eq!(queried(&out.trace, "r.example.com", RType::Txt), 0);
}

/// all, ip4, ip6 and exp do not count; terms after the match are not counted.
#[tokio::test]
async fn s4_6_4_non_dns_terms_and_terms_after_match_not_counted() {
    let out = check(
        r#"
@ TXT "v=spf1 ip6:2001:db8::/32 ip4:198.51.100.0/24 exp=e.example.com -all"
e TXT "no"
"#,
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Fail);
    assert_eq!(out.dns_lookups, 0);

    let out = check(
        r#"
@ TXT "v=spf1 a:h.example.com a:h.example.com ip4:192.0.2.1 a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com -all"
h A 198.51.100.7
"#,
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Pass);
    assert_eq!(out.mechanism.as_deref(), Some("ip4:192.0.2.1"));
    assert_eq!(out.dns_lookups, 2);
}

/// Include and redirect loops end at the lookup limit; with the limit raised far above the
/// RFC's 10, the nesting depth is still bounded (a permerror, not a stack overflow).
#[tokio::test]
async fn s4_6_4_include_and_redirect_nesting_is_bounded() {
    for record in [
        "@ TXT \"v=spf1 include:example.com -all\"",
        "@ TXT \"v=spf1 redirect=example.com\"",
    ] {
        let mut r = req("192.0.2.1");
        r.limits.dns_terms = 100_000;
        let out = check_host(dns(record), &r).await;
        assert_eq!(out.result, SpfResult::PermError, "{record}");
        assert!(
            problem(&out).contains("nested"),
            "{record}: {}",
            problem(&out)
        );
        assert!(out.dns_lookups < 100, "{record}: {}", out.dns_lookups);
    }
}

// ---------------------------------------------------------------------------------------------
// Rules 2–4 — RFC 7208 §4.6.4: MX and PTR address lookups, MX and PTR name limits
// ---------------------------------------------------------------------------------------------

/// The address lookups of MX names and PTR names do not count toward the 10: 8 `a` + ptr + mx
/// are 10 terms, with 3 + 10 further address lookups, and the 10th MX host matches.
#[tokio::test]
async fn s4_6_4_mx_and_ptr_address_lookups_not_counted() {
    let out = check(
        r#"
@ TXT "v=spf1 a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com ptr mx:m.example.com -all"
h A 198.51.100.7
1.2.0.192.in-addr.arpa. PTR p1.other.test.
1.2.0.192.in-addr.arpa. PTR p2.other.test.
1.2.0.192.in-addr.arpa. PTR p3.other.test.
p1.other.test. A 198.51.100.1
p2.other.test. A 198.51.100.2
p3.other.test. A 198.51.100.3
m MX 1 mx1
m MX 2 mx2
m MX 3 mx3
m MX 4 mx4
m MX 5 mx5
m MX 6 mx6
m MX 7 mx7
m MX 8 mx8
m MX 9 mx9
m MX 10 mx10
mx1 A 198.51.100.11
mx2 A 198.51.100.12
mx3 A 198.51.100.13
mx4 A 198.51.100.14
mx5 A 198.51.100.15
mx6 A 198.51.100.16
mx7 A 198.51.100.17
mx8 A 198.51.100.18
mx9 A 198.51.100.19
mx10 A 192.0.2.1
"#,
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Pass, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("mx:m.example.com"));
    assert_eq!(out.dns_lookups, 10);
    let a_queries = queries(&out.trace)
        .iter()
        .filter(|(_, t, _)| *t == RType::A)
        .count();
    assert_eq!(a_queries, 8 + 3 + 10);
}

/// More than 10 MX names for one `mx` term: permerror, before any address lookup.
#[tokio::test]
async fn s4_6_4_more_than_ten_mx_names_is_permerror() {
    let out = check(
        r#"
@ TXT "v=spf1 mx:m.example.com +all"
m MX 1 mx1
m MX 2 mx2
m MX 3 mx3
m MX 4 mx4
m MX 5 mx5
m MX 6 mx6
m MX 7 mx7
m MX 8 mx8
m MX 9 mx9
m MX 10 mx10
m MX 11 mx11
mx1 A 192.0.2.1
"#,
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::PermError, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("mx:m.example.com"));
    assert!(problem(&out).contains("11 MX records"), "{out:?}");
    assert_eq!(limit_events(&out.trace)[0].0, "mx_names");
    assert!(queries(&out.trace).iter().all(|(_, t, _)| *t != RType::A));
}

/// More than 10 PTR names: only the first 10 are checked, without error.
#[tokio::test]
async fn s4_6_4_more_than_ten_ptr_names_only_first_ten_checked() {
    let names = |valid: &str| {
        let mut z = String::from("@ TXT \"v=spf1 ptr -all\"\n");
        for i in 1..=11 {
            z.push_str(&format!("1.2.0.192.in-addr.arpa. PTR n{i}\n"));
            let addr = if format!("n{i}") == valid {
                "192.0.2.1".to_string()
            } else {
                format!("198.51.100.{i}")
            };
            z.push_str(&format!("n{i} A {addr}\n"));
        }
        z
    };
    // The 11th name would validate, but is never looked up.
    let out = check(&names("n11"), "192.0.2.1").await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("-all"));
    assert_eq!(out.problem, None);
    assert_eq!(queried(&out.trace, "n11.example.com", RType::A), 0);
    assert_eq!(queried(&out.trace, "n10.example.com", RType::A), 1);
    assert!(notes(&out.trace).iter().any(|n| n.contains("11 PTR names")));
    // The 10th is checked.
    let out = check(&names("n10"), "192.0.2.1").await;
    assert_eq!(out.result, SpfResult::Pass, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("ptr"));
}

// ---------------------------------------------------------------------------------------------
// Rule 5 — RFC 7208 §4.6.4: at most 2 void lookups
// ---------------------------------------------------------------------------------------------

/// Two void lookups are fine; the third is a permerror that names it.
#[tokio::test]
async fn s4_6_4_third_void_lookup_is_permerror() {
    let two = check(
        r#"
@ TXT "v=spf1 a:nx1.example.com mx:nodata.example.com +all"
nodata A 198.51.100.1
"#,
        "192.0.2.1",
    )
    .await;
    assert_eq!(two.result, SpfResult::Pass, "{two:#?}");
    assert_eq!(two.void_lookups, 2);

    let three = check(
        r#"
@ TXT "v=spf1 a:nx1.example.com mx:nodata.example.com a:nx3.example.com +all"
nodata A 198.51.100.1
"#,
        "192.0.2.1",
    )
    .await;
    assert_eq!(three.result, SpfResult::PermError, "{three:#?}");
    assert_eq!(three.mechanism.as_deref(), Some("a:nx3.example.com"));
    assert!(problem(&three).contains("nx3.example.com"), "{three:?}");
    assert!(problem(&three).contains("void"), "{three:?}");
    assert_eq!(three.void_lookups, 3);
    assert_eq!(
        limit_events(&three.trace),
        vec![(
            "void_lookups".to_string(),
            3,
            2,
            "A nx3.example.com".to_string()
        )]
    );
}

/// Each term's own lookup counts: mx (MX), ptr (PTR), exists (A), include and redirect (TXT).
#[tokio::test]
async fn s4_6_4_void_lookup_kinds() {
    let base = "nodata A 198.51.100.1\n";
    for (third, what) in [
        ("mx:nodata.example.com", "MX nodata.example.com"),
        ("ptr", "PTR 1.2.0.192.in-addr.arpa"),
        ("exists:nx3.example.com", "A nx3.example.com"),
        ("include:nx3.example.com", "TXT nx3.example.com"),
        ("include:nodata.example.com", "TXT nodata.example.com"),
        ("redirect=nx3.example.com", "TXT nx3.example.com"),
    ] {
        let text = format!("@ TXT \"v=spf1 a:nx1.example.com a:nx2.example.com {third}\"\n{base}");
        let out = check(&text, "192.0.2.1").await;
        assert_eq!(out.result, SpfResult::PermError, "{third}: {out:#?}");
        assert_eq!(out.void_lookups, 3, "{third}");
        if !third.starts_with("redirect") {
            assert_eq!(out.mechanism.as_deref(), Some(third));
        }
        assert!(problem(&out).contains(what), "{third}: {out:?}");
        assert!(problem(&out).contains("void"), "{third}: {out:?}");
    }
}

/// Address lookups of MX exchanges are secondary and do not count as void.
#[tokio::test]
async fn s4_6_4_mx_exchange_address_lookups_not_void() {
    let out = check(
        r#"
@ TXT "v=spf1 mx:m.example.com a:nx1.example.com a:nx2.example.com +all"
m MX 1 gone1
m MX 2 gone2
m MX 3 gone3
"#,
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Pass, "{out:#?}");
    assert_eq!(out.void_lookups, 2);
    assert_eq!(queried(&out.trace, "gone3.example.com", RType::A), 1);
}

/// An IPv6 client against an IPv4-only name: AAAA is NODATA ("a positive answer (RCODE 0)
/// with an answer count of 0"), a void lookup.
#[tokio::test]
async fn s4_6_4_aaaa_nodata_for_ipv6_client_is_void() {
    let out = check(
        r#"
@ TXT "v=spf1 a:v4only.example.com a:nx1.example.com a:nx2.example.com +all"
v4only A 192.0.2.1
"#,
        "2001:db8::1",
    )
    .await;
    assert_eq!(out.result, SpfResult::PermError, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("a:nx2.example.com"));
    assert_eq!(out.void_lookups, 3);
    assert_eq!(queried(&out.trace, "v4only.example.com", RType::Aaaa), 1);
}

/// An `exp=` pointing at NXDOMAIN is not a void lookup (§6.2 lookups are not counted).
#[tokio::test]
async fn s4_6_4_exp_nxdomain_not_void() {
    let out = check(
        r#"
@ TXT "v=spf1 a:nx1.example.com a:nx2.example.com -all exp=nx3.example.com"
"#,
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");
    assert_eq!(out.void_lookups, 2);
    assert_eq!(out.explanation, None);
    assert_eq!(queried(&out.trace, "nx3.example.com", RType::Txt), 1);
}

// ---------------------------------------------------------------------------------------------
// Rule 6 — RFC 7208 §4.5: selecting the record
// ---------------------------------------------------------------------------------------------

/// Several `v=spf1` records: permerror, both listed as ignored.
#[tokio::test]
async fn s4_5_several_spf_records_permerror() {
    let out = check(
        r#"
@ TXT "v=spf1 +all"
@ TXT "v=spf1 -all"
"#,
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::PermError, "{out:#?}");
    assert!(problem(&out).contains("2 SPF records"));
    assert_eq!(ignored(&out.trace).len(), 2);
}

/// `v=spf10` and `v=spf1x` are not SPF records; `V=SPF1` is; non-SPF TXT is ignored and listed.
#[tokio::test]
async fn s4_5_version_matching_and_ignored_txt() {
    let out = check(
        r#"
@ TXT "v=spf10 -all"
@ TXT "v=spf1x -all"
@ TXT "google-site-verification=abc"
@ TXT "V=SPF1 ip4:192.0.2.0/24 -all"
"#,
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Pass, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("ip4:192.0.2.0/24"));
    assert_eq!(
        ignored(&out.trace),
        vec![
            "v=spf10 -all",
            "v=spf1x -all",
            "google-site-verification=abc"
        ]
    );

    let out = check("@ TXT \"v=spf10 -all\"\n", "192.0.2.1").await;
    assert_eq!(out.result, SpfResult::None, "{out:#?}");
}

/// The character-strings of one TXT record are joined without spaces.
#[tokio::test]
async fn s4_5_txt_strings_joined_without_space() {
    let out = check("@ TXT \"v=spf1 ip4:192.0\" \".2.1 -all\"\n", "192.0.2.1").await;
    assert_eq!(out.result, SpfResult::Pass, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("ip4:192.0.2.1"));
}

// ---------------------------------------------------------------------------------------------
// Rule 7 — RFC 7208 §4.3: when the result is "none"
// ---------------------------------------------------------------------------------------------

/// Malformed domains (empty label, label over 63, single label) give none without a query.
#[tokio::test]
async fn s4_3_malformed_domain_is_none() {
    let long = format!("user@{}.example.com", "a".repeat(64));
    // "example.com.." keeps an empty label once its one trailing dot is removed; a single
    // trailing dot is fine (checked below).
    for from in [
        "user@a..example.com",
        long.as_str(),
        "user@localhost",
        "user@example.com..",
    ] {
        let r = SpfRequest::new("192.0.2.1".parse().unwrap(), from, "helo.example.com");
        let out = check_host(dns("@ TXT \"v=spf1 -all\"\n"), &r).await;
        assert_eq!(out.result, SpfResult::None, "{from}: {out:#?}");
        assert!(problem(&out).contains("malformed domain"), "{from}");
        assert!(queries(&out.trace).is_empty(), "{from}");
    }
    let r = SpfRequest::new(
        "192.0.2.1".parse().unwrap(),
        "user@example.com.",
        "h.example",
    );
    let out = check_host(dns("@ TXT \"v=spf1 -all\"\n"), &r).await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");
}

/// NXDOMAIN and no SPF record (NODATA, or only other TXT) give none.
#[tokio::test]
async fn s4_3_nxdomain_or_no_record_is_none() {
    let text = r#"
nodata A 192.0.2.1
other TXT "hello"
"#;
    for (from, why) in [
        ("user@gone.example.com", "NXDOMAIN"),
        ("user@nodata.example.com", "no SPF record"),
        ("user@other.example.com", "no SPF record"),
    ] {
        let r = SpfRequest::new("192.0.2.1".parse().unwrap(), from, "helo.example.com");
        let out = check_host(dns(text), &r).await;
        assert_eq!(out.result, SpfResult::None, "{from}: {out:#?}");
        assert!(problem(&out).contains(why), "{from}: {out:?}");
        assert_eq!(out.void_lookups, 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Rule 8 — RFC 7208 §4.4, §2.6.6, §5.5: DNS failures
// ---------------------------------------------------------------------------------------------

/// A TXT SERVFAIL or timeout is temperror, never none.
#[tokio::test]
async fn s4_4_txt_servfail_or_timeout_is_temperror() {
    for kind in [FaultKind::ServFail, FaultKind::Timeout] {
        let r = faulty(
            "@ TXT \"v=spf1 -all\"\n",
            &[("example.com", Some(RType::Txt), kind)],
        );
        let out = check_host(r, &req("192.0.2.1")).await;
        assert_eq!(out.result, SpfResult::TempError, "{kind}: {out:#?}");
        assert!(problem(&out).contains("TXT example.com"), "{kind}: {out:?}");
    }
}

/// A DNS timeout inside an `a:` is temperror (§2.6.6, §5).
#[tokio::test]
async fn s2_6_6_timeout_in_a_is_temperror() {
    let r = faulty(
        "@ TXT \"v=spf1 a:h.example.com +all\"\nh A 192.0.2.1\n",
        &[("h.example.com", Some(RType::A), FaultKind::Timeout)],
    );
    let out = check_host(r, &req("192.0.2.1")).await;
    assert_eq!(out.result, SpfResult::TempError, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("a:h.example.com"));
    assert!(problem(&out).contains("timeout"), "{out:?}");
}

/// A SERVFAIL in the PTR lookup of `ptr` is no match (§5.5), not temperror nor void.
#[tokio::test]
async fn s5_5_ptr_lookup_servfail_is_no_match() {
    let r = faulty(
        "@ TXT \"v=spf1 ptr -all\"\n",
        &[(
            "1.2.0.192.in-addr.arpa",
            Some(RType::Ptr),
            FaultKind::ServFail,
        )],
    );
    let out = check_host(r, &req("192.0.2.1")).await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("-all"));
    assert_eq!(out.void_lookups, 0);
}

// ---------------------------------------------------------------------------------------------
// Rule 9 — RFC 7208 §5.2: include
// ---------------------------------------------------------------------------------------------

/// An include target without an SPF record (non-SPF TXT, or NXDOMAIN) is a permerror.
#[tokio::test]
async fn s5_2_include_without_record_is_permerror() {
    for target in ["plain.example.com", "gone.example.com"] {
        let text = format!("@ TXT \"v=spf1 include:{target} +all\"\nplain TXT \"hello\"\n");
        let out = check(&text, "192.0.2.1").await;
        assert_eq!(out.result, SpfResult::PermError, "{target}: {out:#?}");
        assert_eq!(
            out.mechanism.as_deref(),
            Some(format!("include:{target}").as_str())
        );
        assert!(problem(&out).contains("no SPF record"), "{target}: {out:?}");
    }
}

/// An include returning fail, softfail or neutral does not match; evaluation continues.
#[tokio::test]
async fn s5_2_include_fail_softfail_neutral_no_match() {
    for inner in ["-all", "~all", "?all", "ip4:198.51.100.1"] {
        let text =
            format!("@ TXT \"v=spf1 include:i.example.com ~all\"\ni TXT \"v=spf1 {inner}\"\n");
        let out = check(&text, "192.0.2.1").await;
        assert_eq!(out.result, SpfResult::SoftFail, "{inner}: {out:#?}");
        assert_eq!(out.mechanism.as_deref(), Some("~all"));
        let Event::Term { outcome, .. } = &term_node(&out.trace, "include:i.example.com").event
        else {
            unreachable!()
        };
        assert_eq!(*outcome, TermOutcome::NoMatch);
    }
    let out = check(
        "@ TXT \"v=spf1 include:i.example.com -all\"\ni TXT \"v=spf1 +all\"\n",
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Pass);
    assert_eq!(out.mechanism.as_deref(), Some("include:i.example.com"));
}

/// temperror and permerror inside an include propagate.
#[tokio::test]
async fn s5_2_include_errors_propagate() {
    let r = faulty(
        "@ TXT \"v=spf1 include:i.example.com +all\"\ni TXT \"v=spf1 a:h.example.com -all\"\n",
        &[("h.example.com", None, FaultKind::ServFail)],
    );
    let out = check_host(r, &req("192.0.2.1")).await;
    assert_eq!(out.result, SpfResult::TempError, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("include:i.example.com"));
    assert!(problem(&out).contains("SERVFAIL"), "{out:?}");

    let out = check(
        "@ TXT \"v=spf1 include:i.example.com +all\"\ni TXT \"v=spf1 foo:bar -all\"\n",
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::PermError, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("include:i.example.com"));
    assert!(problem(&out).contains("syntax error"), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// Rule 10 — RFC 7208 §6.1, §6.2: redirect and exp
// ---------------------------------------------------------------------------------------------

/// redirect is ignored when the record has `all`: its target is never asked for.
#[tokio::test]
async fn s6_1_redirect_ignored_with_all() {
    let out = check(
        "@ TXT \"v=spf1 redirect=r.example.com ?all\"\nr TXT \"v=spf1 -all\"\n",
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Neutral, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("?all"));
    assert_eq!(out.dns_lookups, 0);
    assert_eq!(queried(&out.trace, "r.example.com", RType::Txt), 0);
}

/// A redirect target without a record is a permerror.
#[tokio::test]
async fn s6_1_redirect_target_without_record_is_permerror() {
    for target in ["plain.example.com", "gone.example.com"] {
        let text = format!("@ TXT \"v=spf1 redirect={target}\"\nplain TXT \"hello\"\n");
        let out = check(&text, "192.0.2.1").await;
        assert_eq!(out.result, SpfResult::PermError, "{target}: {out:#?}");
        assert_eq!(
            out.mechanism.as_deref(),
            Some(format!("redirect={target}").as_str())
        );
    }
}

/// The redirect's result is the target's; the target's exp is used, the original's is not.
#[tokio::test]
async fn s6_1_redirect_result_and_exp_are_the_targets() {
    let base = r#"
orig-exp TXT "original explanation"
r-exp TXT "target explanation for %{d}"
"#;
    let out = check(
        &format!(
            "@ TXT \"v=spf1 exp=orig-exp.example.com redirect=r.example.com\"\nr TXT \"v=spf1 ~all\"\n{base}"
        ),
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::SoftFail, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("~all"));

    let out = check(
        &format!(
            "@ TXT \"v=spf1 exp=orig-exp.example.com redirect=r.example.com\"\nr TXT \"v=spf1 -all exp=r-exp.example.com\"\n{base}"
        ),
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");
    assert_eq!(
        out.explanation.as_deref(),
        Some("target explanation for r.example.com")
    );

    let out = check(
        &format!(
            "@ TXT \"v=spf1 exp=orig-exp.example.com redirect=r.example.com\"\nr TXT \"v=spf1 -all\"\n{base}"
        ),
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");
    assert_eq!(out.explanation, None);
    assert_eq!(queried(&out.trace, "orig-exp.example.com", RType::Txt), 0);
}

/// The exp of an included record is never used (§6.2).
#[tokio::test]
async fn s6_2_included_exp_never_used() {
    let text = r#"
@ TXT "v=spf1 include:i.example.com -all"
i TXT "v=spf1 -all exp=i-exp.example.com"
i-exp TXT "included explanation"
"#;
    let out = check(text, "192.0.2.1").await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");
    assert_eq!(out.explanation, None);
    assert_eq!(queried(&out.trace, "i-exp.example.com", RType::Txt), 0);

    let text = r#"
@ TXT "v=spf1 include:i.example.com -all exp=top-exp.example.com"
i TXT "v=spf1 -all exp=i-exp.example.com"
i-exp TXT "included explanation"
top-exp TXT "top explanation"
"#;
    let out = check(text, "192.0.2.1").await;
    assert_eq!(out.explanation.as_deref(), Some("top explanation"));
}

// ---------------------------------------------------------------------------------------------
// Rule 11 — RFC 7208 §6.2: explanation failures and explanation-only macros
// ---------------------------------------------------------------------------------------------

/// NXDOMAIN, several TXT, a syntax error or non-ASCII text: the default explanation.
#[tokio::test]
async fn s6_2_exp_failures_give_default_explanation() {
    let text = r#"
multi TXT "one"
multi TXT "two"
bad TXT "broken %{"
utf TXT "caf\195\169"
"#;
    for target in ["gone", "multi", "bad", "utf"] {
        let zone = format!("@ TXT \"v=spf1 -all exp={target}.example.com\"\n{text}");
        let mut r = req("192.0.2.1");
        r.default_explanation = Some("default for %{d}".to_string());
        let out = check_host(dns(&zone), &r).await;
        assert_eq!(out.result, SpfResult::Fail, "{target}: {out:#?}");
        assert_eq!(
            out.explanation.as_deref(),
            Some("default for example.com"),
            "{target}"
        );
        assert!(
            notes(&out.trace)
                .iter()
                .any(|n| n.starts_with("exp= ignored")),
            "{target}"
        );
    }
}

/// The explanation-only macros c, r and t expand (with `receiver` and `now` set).
#[tokio::test]
async fn s6_2_explanation_macros_c_r_t() {
    let zone = r#"
@ TXT "v=spf1 -all exp=e.example.com"
e TXT "%{c} rejected by %{r} at %{t}"
"#;
    let mut r = req("2001:db8::1");
    r.receiver = "mx.receiver.test".to_string();
    r.now = 1_700_000_000;
    let out = check_host(dns(zone), &r).await;
    assert_eq!(
        out.explanation.as_deref(),
        Some("2001:db8::1 rejected by mx.receiver.test at 1700000000")
    );
}

// ---------------------------------------------------------------------------------------------
// Rule 12 — IPv4-mapped IPv6 clients are IPv4 (RFC 7208 §5: "<ip>" as IPv4, RFC 4291 §2.5.5.2)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ipv4_mapped_ipv6_evaluated_as_ipv4() {
    let ip = "::ffff:192.0.2.1";
    let out = check("@ TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n", ip).await;
    assert_eq!(out.result, SpfResult::Pass, "{out:#?}");

    let out = check("@ TXT \"v=spf1 ip6:::ffff:0:0/96 -all\"\n", ip).await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");

    let out = check("@ TXT \"v=spf1 a:h.example.com -all\"\nh A 192.0.2.1\n", ip).await;
    assert_eq!(out.result, SpfResult::Pass, "{out:#?}");
    assert_eq!(queried(&out.trace, "h.example.com", RType::A), 1);
    assert_eq!(queried(&out.trace, "h.example.com", RType::Aaaa), 0);

    let out = check(
        "@ TXT \"v=spf1 exists:%{i}.%{v}.x.example.com -all\"\n192.0.2.1.in-addr.x A 127.0.0.2\n",
        ip,
    )
    .await;
    assert_eq!(out.result, SpfResult::Pass, "{out:#?}");
}

// ---------------------------------------------------------------------------------------------
// Rule 13 — RFC 7208 §5.3, §5.4, §5.6: dual CIDR lengths, address families
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn s5_3_s5_4_dual_cidr() {
    let a = r#"
@ TXT "v=spf1 a:h.example.com/24//64 -all"
h A 192.0.2.200
h AAAA 2001:db8:1:2::99
"#;
    for (ip, want) in [
        ("192.0.2.1", SpfResult::Pass),
        ("192.0.3.1", SpfResult::Fail),
        ("2001:db8:1:2::1", SpfResult::Pass),
        ("2001:db8:1:3::1", SpfResult::Fail),
    ] {
        assert_eq!(check(a, ip).await.result, want, "a/24//64 {ip}");
    }
    let mx = r#"
@ TXT "v=spf1 mx//64 -all"
@ MX 10 h
h A 192.0.2.200
h AAAA 2001:db8:1:2::99
"#;
    for (ip, want) in [
        ("192.0.2.1", SpfResult::Fail),
        ("192.0.2.200", SpfResult::Pass),
        ("2001:db8:1:2::1", SpfResult::Pass),
        ("2001:db8:1:3::1", SpfResult::Fail),
    ] {
        assert_eq!(check(mx, ip).await.result, want, "mx//64 {ip}");
    }
}

/// ip4 never matches an IPv6 client, ip6 never an IPv4 client (§5.6).
#[tokio::test]
async fn s5_6_ip4_ip6_family_mismatch_never_matches() {
    let out = check("@ TXT \"v=spf1 ip4:0.0.0.0/0 -all\"\n", "2001:db8::1").await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");
    let out = check("@ TXT \"v=spf1 ip6:::/0 -all\"\n", "192.0.2.1").await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");
}

// ---------------------------------------------------------------------------------------------
// Rule 14 — RFC 7208 §5.5, §7.3: ptr and %{p}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn s5_5_ptr_validation() {
    let zone = r#"
1.2.0.192.in-addr.arpa. PTR mail.badexample.com.
1.2.0.192.in-addr.arpa. PTR liar.other.test.
1.2.0.192.in-addr.arpa. PTR mail.example.com.
mail.badexample.com. A 192.0.2.1
liar.other.test. A 198.51.100.1
mail A 192.0.2.1
"#;
    // A validated name within the target.
    let out = check(&format!("@ TXT \"v=spf1 ptr -all\"\n{zone}"), "192.0.2.1").await;
    assert_eq!(out.result, SpfResult::Pass, "{out:#?}");
    // "badexample" is not a subdomain of "example.com" (label boundary).
    let out = check(
        &format!("@ TXT \"v=spf1 ptr:ample.com -all\"\n{zone}"),
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");
    // The forward lookup must contain the IP.
    let out = check(
        &format!("@ TXT \"v=spf1 ptr:other.test -all\"\n{zone}"),
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");
}

/// A PTR record naming the root (".") names no host: it is not looked up (no query for an
/// empty name) and validates nothing (RFC 7208 §5.5).
#[tokio::test]
async fn s5_5_ptr_to_the_root_is_skipped() {
    let zone = r#"
@ TXT "v=spf1 ptr -all"
1.2.0.192.in-addr.arpa. PTR .
1.2.0.192.in-addr.arpa. PTR mail.other.test.
mail.other.test. A 192.0.2.1
"#;
    let out = check(zone, "192.0.2.1").await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");
    let asked = queries(&out.trace);
    assert!(
        asked.iter().all(|(n, _, _)| !n.is_empty() && n != "."),
        "{asked:?}"
    );
}

/// `%{p}` is a validated name (preferring the domain), else "unknown".
#[tokio::test]
async fn s7_3_p_macro() {
    let zone = r#"
@ TXT "v=spf1 -all exp=e.example.com"
e TXT "name=%{p}"
1.2.0.192.in-addr.arpa. PTR liar.example.com.
1.2.0.192.in-addr.arpa. PTR mail.example.com.
liar A 198.51.100.1
mail A 192.0.2.1
"#;
    let out = check(zone, "192.0.2.1").await;
    assert_eq!(out.explanation.as_deref(), Some("name=mail.example.com"));
    let out = check(zone, "192.0.2.2").await;
    assert_eq!(out.explanation.as_deref(), Some("name=unknown"));
}

/// `%{p}` prefers `<domain>` itself over a subdomain, and a subdomain over any other name
/// (RFC 7208 §7.3), whatever the order of the PTR records.
#[tokio::test]
async fn s7_3_p_macro_prefers_the_domain_itself() {
    let zone = r#"
@ TXT "v=spf1 -all exp=e.example.com"
@ A 192.0.2.1
e TXT "name=%{p}"
1.2.0.192.in-addr.arpa. PTR other.test.
1.2.0.192.in-addr.arpa. PTR mail.example.com.
1.2.0.192.in-addr.arpa. PTR example.com.
other.test. A 192.0.2.1
mail A 192.0.2.1
"#;
    let out = check(zone, "192.0.2.1").await;
    assert_eq!(
        out.explanation.as_deref(),
        Some("name=example.com"),
        "{out:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Rule 15 — RFC 7208 §5.7: exists asks for A even for IPv6 clients
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn s5_7_exists_uses_a_for_ipv6() {
    let out = check(
        "@ TXT \"v=spf1 exists:e.example.com -all\"\ne A 127.0.0.2\n",
        "2001:db8::1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Pass, "{out:#?}");
    assert_eq!(queried(&out.trace, "e.example.com", RType::A), 1);
    assert_eq!(queried(&out.trace, "e.example.com", RType::Aaaa), 0);
}

// ---------------------------------------------------------------------------------------------
// Rule 16 — RFC 7208 §4.6.4: the overall deadline
// ---------------------------------------------------------------------------------------------

const DEADLINE_OUTCOME: QueryOutcome = QueryOutcome::Timeout;

/// Each query takes 300 ms; with a 1 s deadline the 4th query (a:h3) hits it: temperror at
/// about 1 s, the trace shows that query, and nothing is asked afterwards.
#[tokio::test]
async fn s4_6_4_overall_deadline_stops_with_temperror() {
    let slow = Counting::new(
        dns(r#"
@ TXT "v=spf1 a:h1.example.com a:h2.example.com a:h3.example.com a:h4.example.com a:h5.example.com -all"
h1 A 198.51.100.1
h2 A 198.51.100.2
h3 A 198.51.100.3
h4 A 198.51.100.4
h5 A 198.51.100.5
"#),
        Duration::from_millis(300),
    );
    let mut r = req("192.0.2.1");
    r.limits = Limits {
        deadline: Some(Duration::from_secs(1)),
        ..Limits::default()
    };
    let start = Instant::now();
    let out = check_host(slow.clone(), &r).await;
    let elapsed = start.elapsed();
    assert_eq!(out.result, SpfResult::TempError, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("a:h3.example.com"));
    assert!(problem(&out).contains("deadline of 1s"), "{out:?}");
    assert!(
        elapsed >= Duration::from_millis(950) && elapsed < Duration::from_millis(1600),
        "{elapsed:?}"
    );
    let h3 = term_node(&out.trace, "a:h3.example.com");
    assert!(h3.children.iter().any(|c| matches!(&c.event,
        Event::Query { name, outcome, .. } if name == "h3.example.com" && *outcome == DEADLINE_OUTCOME)));
    let made = vec![
        ("example.com".to_string(), RType::Txt),
        ("h1.example.com".to_string(), RType::A),
        ("h2.example.com".to_string(), RType::A),
        ("h3.example.com".to_string(), RType::A),
    ];
    assert_eq!(slow.queries(), made);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(slow.queries(), made, "no query after the deadline");
}

/// A deadline hit where a DNS failure alone would be no match (ptr's lookups, §5.5) still ends
/// the evaluation with temperror: "the result of authorization SHOULD be temperror". The
/// terms after it are not evaluated and ask nothing.
#[tokio::test]
async fn s4_6_4_deadline_in_ptr_lookups_is_temperror() {
    // (record, deadline in ms, queries sent): each query takes 300 ms. At 500 ms the PTR
    // lookup is cut short; at 700 ms the first name's A lookup is, and p2/p3 are never asked.
    for (record, deadline, sent) in [
        ("v=spf1 ptr -all", 500, 2),
        ("v=spf1 ptr a:h.example.com -all", 500, 2),
        ("v=spf1 ptr a:h.example.com -all", 700, 3),
    ] {
        let slow = Counting::new(
            dns(&format!(
                r#"
@ TXT "{record}"
h A 198.51.100.1
1.2.0.192.in-addr.arpa. PTR p1.other.test.
1.2.0.192.in-addr.arpa. PTR p2.other.test.
1.2.0.192.in-addr.arpa. PTR p3.other.test.
p1.other.test. A 198.51.100.1
p2.other.test. A 198.51.100.2
p3.other.test. A 198.51.100.3
"#
            )),
            Duration::from_millis(300),
        );
        let mut r = req("192.0.2.1");
        r.limits.deadline = Some(Duration::from_millis(deadline));
        let out = check_host(slow.clone(), &r).await;
        let case = format!("{record} / {deadline} ms");
        assert_eq!(out.result, SpfResult::TempError, "{case}: {out:#?}");
        assert_eq!(out.mechanism.as_deref(), Some("ptr"), "{case}");
        assert!(
            problem(&out).contains(&format!("deadline of {deadline}ms")),
            "{case}: {out:?}"
        );
        assert_eq!(slow.queries().len(), sent, "{case}");
        let traced = queries(&out.trace);
        assert_eq!(traced.len(), sent, "{case}: {traced:?}");
        assert_eq!(
            traced.iter().filter(|q| q.2 == DEADLINE_OUTCOME).count(),
            1,
            "{case}: {traced:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Rule 17 — trace properties
// ---------------------------------------------------------------------------------------------

/// A zone exercising include, redirect, mx, ptr, exists, %{p} and exp.
const TRACE_ZONE: &str = r#"
@ TXT "v=spf1 include:i.example.com mx:m.example.com ptr exists:%{p}.x.example.com a:nx.example.com redirect=r.example.com"
i TXT "v=spf1 a:h.example.com ~all"
r TXT "v=spf1 include:j.example.com -all exp=e.example.com"
j TXT "v=spf1 ip4:198.51.100.0/24 ?all"
e TXT "%{i} is not %{p} for %{d}"
h A 198.51.100.1
m MX 10 mx1
m MX 20 mx2
mx1 A 198.51.100.2
mx2 AAAA 2001:db8::2
1.2.0.192.in-addr.arpa. PTR mail.other.test.
mail.other.test. A 192.0.2.1
"#;

/// Every query made appears in the trace exactly once, under the step that made it.
#[tokio::test]
async fn trace_has_every_query_once_under_its_step() {
    let counting = Counting::new(dns(TRACE_ZONE), Duration::ZERO);
    let out = check_host(counting.clone(), &req("192.0.2.1")).await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");
    assert_eq!(
        out.explanation.as_deref(),
        Some("192.0.2.1 is not mail.other.test for r.example.com")
    );
    let mut made = counting.queries();
    let mut traced: Vec<(String, RType)> = queries(&out.trace)
        .into_iter()
        .map(|(n, t, _)| (n, t))
        .collect();
    assert!(!made.is_empty());
    made.sort();
    traced.sort();
    assert_eq!(traced, made);

    // Under the step that made it.
    let mx = term_node(&out.trace, "mx:m.example.com");
    assert_eq!(
        direct_queries(mx),
        vec![
            ("m.example.com".to_string(), RType::Mx),
            ("mx1.example.com".to_string(), RType::A),
            ("mx2.example.com".to_string(), RType::A),
        ]
    );
    let ptr = term_node(&out.trace, "ptr");
    assert_eq!(
        direct_queries(ptr),
        vec![
            ("1.2.0.192.in-addr.arpa".to_string(), RType::Ptr),
            ("mail.other.test".to_string(), RType::A),
        ]
    );
    let include = term_node(&out.trace, "include:i.example.com");
    assert!(direct_queries(include).is_empty());
    let nested = &include.children[0];
    assert!(matches!(&nested.event, Event::CheckHost { domain, .. } if domain == "i.example.com"));
    assert_eq!(
        direct_queries(nested),
        vec![("i.example.com".to_string(), RType::Txt)]
    );
    assert_eq!(
        direct_queries(term_node(&out.trace, "a:h.example.com")),
        vec![("h.example.com".to_string(), RType::A)]
    );
}

/// The counters in `term` events never decrease, in the order the terms completed.
#[tokio::test]
async fn trace_term_counters_non_decreasing() {
    let out = check(TRACE_ZONE, "192.0.2.1").await;
    let counters: Vec<(u32, u32)> = terms_in_order(&out.trace)
        .into_iter()
        .map(|n| match &n.event {
            Event::Term {
                dns_lookups,
                void_lookups,
                ..
            } => (*dns_lookups, *void_lookups),
            _ => unreachable!(),
        })
        .collect();
    assert!(counters.len() >= 8, "{counters:?}");
    for w in counters.windows(2) {
        assert!(w[0].0 <= w[1].0 && w[0].1 <= w[1].1, "{counters:?}");
    }
    assert_eq!(counters.last(), Some(&(out.dns_lookups, out.void_lookups)));
}

/// The trace contains no clock times: two runs, a second apart, serialize identically.
#[tokio::test]
async fn trace_has_no_clock_times() {
    let first = check(TRACE_ZONE, "192.0.2.1").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = check(TRACE_ZONE, "192.0.2.1").await;
    let a = serde_json::to_string(&first.trace).expect("trace serializes");
    let b = serde_json::to_string(&second.trace).expect("trace serializes");
    assert!(a.len() > 100);
    assert_eq!(a, b);
}

/// §4.8 leaves a target that is not a valid domain undefined; ours (README): a, mx and exists
/// do not match and evaluation goes on, with no query for the bad name.
#[tokio::test]
async fn s4_8_invalid_target_does_not_match() {
    let out = check(
        "@ TXT \"v=spf1 a:%{l}..example.com mx:x.%{l}..example.com exists:%{l}..x.com -all\"\n",
        "192.0.2.1",
    )
    .await;
    assert_eq!(out.result, SpfResult::Fail, "{out:#?}");
    assert_eq!(out.mechanism.as_deref(), Some("-all"));
    assert_eq!(out.dns_lookups, 3);
    assert_eq!(out.void_lookups, 0);
    let json = serde_json::to_string(&out.trace).unwrap();
    assert_eq!(
        json.matches("is not a valid domain: empty label").count(),
        3,
        "{json}"
    );
    assert_eq!(queries(&out.trace).len(), 1, "only the TXT query: {json}");
}
