//! The SPF lint rules (`lint::spf::lint`): each code triggered by one domain of
//! `testdata/lint/spf.zone` and not triggered by a near miss, read through the zone reader and
//! the offline overlay (the DNS stack `--zone FILE --offline` builds), plus the live
//! in-process server for a DNS failure. `spfcheck lint` (its own module) runs the same rules.

use std::path::Path;
use std::sync::Arc;

use spfcheck::diag::Severity;
use spfcheck::dns::Resolver;
use spfcheck::dns::overlay::{Overlay, ZoneData};
use spfcheck::dns::zone::parse_zone_file;
use spfcheck::lint::{Finding, LintOptions};

use crate::common::{TestDns, rec, txt};

const ZONE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/lint/spf.zone");

fn resolver() -> Arc<dyn Resolver> {
    let mut zone = ZoneData::new();
    zone.extend(parse_zone_file(Path::new(ZONE)).expect("testdata/lint/spf.zone"));
    Arc::new(Overlay::new(zone, None))
}

fn lint_with(resolver: Arc<dyn Resolver>, domain: &str) -> Vec<Finding> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(spfcheck::lint::spf::lint(
        resolver,
        domain,
        &LintOptions::default(),
    ))
}

fn lint(domain: &str) -> Vec<Finding> {
    lint_with(resolver(), domain)
}

fn codes(f: &[Finding]) -> Vec<&'static str> {
    f.iter().map(|f| f.diag.code).collect()
}

fn get<'a>(f: &'a [Finding], code: &str) -> &'a Finding {
    f.iter()
        .find(|f| f.diag.code == code)
        .unwrap_or_else(|| panic!("no {code} in {f:#?}"))
}

/// (code, severity, a domain that triggers it, a near miss that must not).
const CASES: &[(&str, Severity, &str, &str)] = &[
    (
        "spf-no-record",
        Severity::Error,
        "nothing.example",
        "ten.example",
    ),
    (
        "spf-nxdomain",
        Severity::Error,
        "absent.example",
        "nothing.example",
    ),
    (
        "spf-multiple-records",
        Severity::Error,
        "several.example",
        "senderid.example",
    ),
    (
        "spf-syntax",
        Severity::Error,
        "syntax.example",
        "upper.example",
    ),
    (
        "spf-syntax",
        Severity::Error,
        "badinc.example",
        "ten.example",
    ),
    (
        "spf-dns-lookup-limit",
        Severity::Error,
        "eleven.example",
        "ten.example",
    ),
    (
        "spf-dns-lookup-limit",
        Severity::Error,
        "deep.example",
        "macro.example",
    ),
    (
        "spf-void-lookup-limit",
        Severity::Error,
        "void.example",
        "void2.example",
    ),
    (
        "spf-void-lookup",
        Severity::Warning,
        "void2.example",
        "ten.example",
    ),
    (
        "spf-mx-limit",
        Severity::Error,
        "mx11.example",
        "mx10.example",
    ),
    (
        "spf-include-loop",
        Severity::Error,
        "loop.example",
        "dupinc.example",
    ),
    (
        "spf-include-no-record",
        Severity::Error,
        "noinc.example",
        "redir.example",
    ),
    (
        "spf-redirect-no-record",
        Severity::Error,
        "redirnone.example",
        "redir.example",
    ),
    (
        "spf-redirect-with-all",
        Severity::Warning,
        "redirall.example",
        "redir.example",
    ),
    (
        "spf-macro-unchecked",
        Severity::Info,
        "macro.example",
        "ten.example",
    ),
    ("spf-ptr", Severity::Warning, "ptr.example", "ten.example"),
    (
        "spf-pass-all",
        Severity::Error,
        "plusall.example",
        "softall.example",
    ),
    (
        "spf-neutral-all",
        Severity::Warning,
        "neutralall.example",
        "softall.example",
    ),
    (
        "spf-no-all",
        Severity::Info,
        "noall.example",
        "redir.example",
    ),
    (
        "spf-broad-range",
        Severity::Warning,
        "broad.example",
        "narrow.example",
    ),
    (
        "spf-answer-too-large",
        Severity::Warning,
        "big.example",
        "ten.example",
    ),
    (
        "spf-exp-no-txt",
        Severity::Warning,
        "expnone.example",
        "ten.example",
    ),
    (
        "spf-exp-several-txt",
        Severity::Warning,
        "expmany.example",
        "ten.example",
    ),
    (
        "spf-exp-syntax",
        Severity::Warning,
        "expbad.example",
        "ten.example",
    ),
    (
        "spf-rfc6652-value",
        Severity::Warning,
        "rabad.example",
        "ra.example",
    ),
    (
        "spf-rfc6652-no-ra",
        Severity::Info,
        "rabad.example",
        "ra.example",
    ),
    (
        "spf-unknown-modifier",
        Severity::Info,
        "unknownmod.example",
        "ra.example",
    ),
    (
        "spf-sender-id",
        Severity::Warning,
        "senderid.example",
        "ten.example",
    ),
    (
        "spf-lookalike",
        Severity::Warning,
        "lookalike.example",
        "upper.example",
    ),
    (
        "spf-after-all",
        Severity::Warning,
        "afterall.example",
        "softall.example",
    ),
    (
        "spf-duplicate-include",
        Severity::Warning,
        "dupinc.example",
        "deep.example",
    ),
];

#[test]
fn each_code_has_a_case_and_a_near_miss() {
    let r = resolver();
    for (code, severity, hit, miss) in CASES {
        let f = lint_with(r.clone(), hit);
        let found = get(&f, code);
        assert!(
            f.iter()
                .any(|f| f.diag.code == *code && f.diag.severity == *severity),
            "{hit}: {code} is not {severity:?}: {found:#?}"
        );
        assert!(!found.fix.is_empty(), "{code}: a fix");
        assert!(found.diag.rfc.starts_with("RFC "), "{code}: an RFC section");
        let near = lint_with(r.clone(), miss);
        assert!(
            !codes(&near).contains(code),
            "{miss} must not give {code}: {near:#?}"
        );
    }
}

#[test]
fn clean_policies_have_no_finding() {
    // Exactly 10 lookups, exp= not counted; uppercase; RFC 6652 modifiers; a redirect.
    for d in [
        "ten.example",
        "upper.example",
        "ra.example",
        "redir.example",
        "mx10.example",
    ] {
        let f = lint(d);
        assert!(f.is_empty(), "{d}: {f:#?}");
    }
}

#[test]
fn positions_records_and_messages() {
    let f = lint("syntax.example");
    let s = get(&f, "spf-syntax");
    assert_eq!(s.diag.position, Some(25), "the bad ip4 address");
    assert_eq!(
        s.record.as_deref(),
        Some("v=spf1 ip4:192.0.2.1 ip4:192.0.2.300 -all")
    );

    // The limit finding is on the top record, at the include that contains the 11th term,
    // and names the count per include and the crossing term.
    let f = lint("over.example");
    let l = get(&f, "spf-dns-lookup-limit");
    assert_eq!(l.domain, "over.example");
    assert_eq!(l.diag.position, Some(7));
    assert!(
        l.diag.message.starts_with(
            "34 DNS-querying terms, more than 10 (permerror): include:ten.example 11, \
             include:deep.example 12, include:ten.example 11; number 11 is \
             include:ten.example > a:h10.ten.example"
        ),
        "{}",
        l.diag.message
    );
    assert_eq!(
        f.iter()
            .filter(|x| x.diag.code == "spf-dns-lookup-limit")
            .count(),
        1
    );

    // Each void term is named, in the record that holds it.
    let f = lint("void.example");
    let voids: Vec<_> = f
        .iter()
        .filter(|x| x.diag.code == "spf-void-lookup")
        .map(|x| (x.diag.tag.as_str(), x.diag.position))
        .collect();
    assert_eq!(
        voids,
        vec![
            ("a:nx1.void.example", Some(7)),
            ("a:nx2.void.example", Some(26)),
            ("mx:nx3.void.example", Some(45))
        ]
    );

    // The bounds: ip4 (and a/mx CIDRs) under /16 a warning, under /8 an error; ip6 under /48
    // a warning, under /32 an error. A fail-qualified range is never reported (narrow.example).
    let f = lint("broad.example");
    let broad: Vec<_> = f
        .iter()
        .filter(|x| x.diag.code == "spf-broad-range")
        .map(|x| (x.diag.tag.as_str(), x.diag.severity))
        .collect();
    assert_eq!(
        broad,
        vec![
            ("ip4:10.0.0.0/8", Severity::Warning),
            ("ip6:2001:db8::/32", Severity::Warning),
            ("a/12", Severity::Warning),
        ]
    );
}

#[test]
fn dns_failure_is_a_temperror_finding_never_no_record() {
    let dns = TestDns::builder(vec![
        rec(
            "brand.example",
            txt(&["v=spf1 include:_spf.esp.example -all"]),
        ),
        rec("_spf.esp.example", txt(&["v=spf1 ip4:192.0.2.0/24 -all"])),
    ])
    .servfail("_spf.esp.example")
    .start();
    let live: Arc<dyn Resolver> = Arc::new(
        spfcheck::dns::hickory::HickoryResolver::with_servers(
            &[dns.addr()],
            std::time::Duration::from_secs(2),
        )
        .unwrap(),
    );
    let f = lint_with(live, "brand.example");
    let t = get(&f, "spf-temperror");
    assert_eq!(t.domain, "_spf.esp.example");
    assert!(!codes(&f).contains(&"spf-include-no-record"), "{f:#?}");
    assert!(!codes(&f).contains(&"spf-no-record"), "{f:#?}");
}
