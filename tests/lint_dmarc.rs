//! `spfcheck lint`: the DMARC and MX rules through the binary, over the test zones
//! `testdata/lint/dmarc.zone` and `testdata/lint/mx.zone` (one domain that triggers each code,
//! one near miss that must not), plus DNS failures through `--fault` and the live server.
//! Only DMARC/MX codes are asserted here: the SPF rules are tested in `lint_spf`.

use serde_json::Value;
use spfcheck::dns::RData;

use crate::common::{Ran, TestDns, rec, run_spfcheck, txt};

pub const DMARC_ZONE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/lint/dmarc.zone");
pub const MX_ZONE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/lint/mx.zone");

/// Runs `spfcheck lint --offline --zone ZONE DOMAIN... --format json EXTRA...`.
pub fn lint(zone: &str, domains: &[&str], extra: &[&str]) -> (Ran, Value) {
    let mut args = vec!["lint", "--offline", "--zone", zone, "--format", "json"];
    args.extend_from_slice(domains);
    args.extend_from_slice(extra);
    let ran = run_spfcheck(&args);
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap_or_else(|e| {
        panic!(
            "{domains:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&ran.stderr)
        )
    });
    (ran, doc)
}

/// The findings of one domain (the only one linted).
fn findings(zone: &str, domain: &str) -> Vec<Value> {
    let (_, doc) = lint(zone, &[domain], &[]);
    assert_eq!(doc["lint"][0]["domain"], domain);
    doc["lint"][0]["findings"].as_array().unwrap().clone()
}

fn codes(findings: &[Value]) -> Vec<String> {
    findings
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// `code` is found (with `severity`) for `bad` and not for `good`; returns the finding.
#[track_caller]
fn assert_code(zone: &str, bad: &str, good: &str, code: &str, severity: &str) -> Value {
    let got = findings(zone, bad);
    let f = got
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("{bad}: no {code} in {:?}", codes(&got)))
        .clone();
    assert_eq!(f["severity"], severity, "{bad}: {f}");
    assert!(!f["fix"].as_str().unwrap().is_empty(), "{bad}: no fix");
    let near = findings(zone, good);
    assert!(
        !codes(&near).iter().any(|c| c == code),
        "{good} (near miss) has {code}: {near:?}"
    );
    f
}

#[test]
fn good_domain_has_no_dmarc_or_mx_finding() {
    let got = findings(DMARC_ZONE, "good.example");
    let ours: Vec<String> = codes(&got)
        .into_iter()
        .filter(|c| c.starts_with("dmarc-") || c.starts_with("mx-"))
        .collect();
    assert!(ours.is_empty(), "{ours:?}");
}

#[test]
fn no_record_and_org_policy() {
    let f = assert_code(
        DMARC_ZONE,
        "norecord.example",
        "good.example",
        "dmarc-no-record",
        "error",
    );
    assert_eq!(f["domain"], "_dmarc.norecord.example");
    assert!(f["record"].is_null());
    let f = assert_code(
        DMARC_ZONE,
        "sub.good.example",
        "good.example",
        "dmarc-org-policy",
        "info",
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("_dmarc.good.example"),
        "{f}"
    );
    // An organizational policy applies: no "no record" error for the subdomain.
    assert!(
        !codes(&findings(DMARC_ZONE, "sub.good.example")).contains(&"dmarc-no-record".to_string())
    );
}

#[test]
fn parked_domains() {
    assert_code(
        DMARC_ZONE,
        "parked.example",
        "norecord.example",
        "dmarc-parked-no-record",
        "error",
    );
    // The parked variant replaces the plain one.
    assert!(
        !codes(&findings(DMARC_ZONE, "parked.example")).contains(&"dmarc-no-record".to_string())
    );
    assert_code(
        DMARC_ZONE,
        "parkedweak.example",
        "parkedok.example",
        "dmarc-parked-weak-policy",
        "warning",
    );
}

#[test]
fn record_set_problems() {
    let f = assert_code(
        DMARC_ZONE,
        "multi.example",
        "good.example",
        "dmarc-multiple-records",
        "error",
    );
    assert!(f["record"].as_str().unwrap().starts_with("v=DMARC1"));
    let f = assert_code(
        DMARC_ZONE,
        "invalid.example",
        "good.example",
        "dmarc-invalid-record",
        "error",
    );
    assert_eq!(f["record"], "v=DMARC1 p=reject");
    assert_eq!(f["position"], 2, "{f}");
    assert_code(
        DMARC_ZONE,
        "spfatdmarc.example",
        "good.example",
        "dmarc-spf-record",
        "warning",
    );
    assert_code(
        DMARC_ZONE,
        "unrelated.example",
        "good.example",
        "dmarc-unrelated-txt",
        "info",
    );
    assert_code(
        DMARC_ZONE,
        "space.example",
        "good.example",
        "dmarc-leading-whitespace",
        "warning",
    );
    let f = assert_code(
        DMARC_ZONE,
        "wrongloc.example",
        "good.example",
        "dmarc-wrong-location",
        "warning",
    );
    assert_eq!(f["domain"], "wrongloc.example");
}

#[test]
fn policy_strength() {
    let f = assert_code(
        DMARC_ZONE,
        "pnone.example",
        "good.example",
        "dmarc-p-none",
        "warning",
    );
    assert_eq!(f["tag"], "p");
    assert_eq!(f["position"], 10, "{f}");
    let f = assert_code(
        DMARC_ZONE,
        "spweak.example",
        "spsame.example",
        "dmarc-sp-weaker",
        "warning",
    );
    assert_eq!(f["tag"], "sp");
    assert_code(
        DMARC_ZONE,
        "npweak.example",
        "spsame.example",
        "dmarc-np-weaker",
        "warning",
    );
    assert_code(
        DMARC_ZONE,
        "testing.example",
        "testingoff.example",
        "dmarc-testing",
        "warning",
    );
}

#[test]
fn reporting() {
    assert_code(
        DMARC_ZONE,
        "norua.example",
        "good.example",
        "dmarc-no-rua",
        "info",
    );
    assert_code(
        DMARC_ZONE,
        "manyuris.example",
        "twouris.example",
        "dmarc-many-uris",
        "info",
    );
    let f = assert_code(
        DMARC_ZONE,
        "extrua.example",
        "extauth.example",
        "dmarc-report-unauthorized",
        "warning",
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("extrua.example._report._dmarc.reports.test"),
        "{f}"
    );
    assert_code(
        DMARC_ZONE,
        "undeliv.example",
        "good.example",
        "dmarc-report-undeliverable",
        "warning",
    );
}

#[test]
fn parser_diagnostics_come_through() {
    let f = assert_code(
        DMARC_ZONE,
        "pct.example",
        "good.example",
        "dmarc-removed-tag",
        "warning",
    );
    assert_eq!(f["tag"], "pct");
    assert!(f["rfc"].as_str().unwrap().starts_with("RFC 9989"), "{f}");
    assert_code(
        DMARC_ZONE,
        "https.example",
        "good.example",
        "dmarc-uri-scheme",
        "warning",
    );
    assert_code(
        DMARC_ZONE,
        "badp.example",
        "good.example",
        "dmarc-invalid-tag",
        "error",
    );
}

#[test]
fn dns_failure_is_temperror_not_missing() {
    let (ran, doc) = lint(
        DMARC_ZONE,
        &["good.example"],
        &["--fault", "_dmarc.good.example/TXT=servfail"],
    );
    let got = codes(doc["lint"][0]["findings"].as_array().unwrap());
    assert!(got.contains(&"dmarc-temperror".to_string()), "{got:?}");
    assert!(!got.contains(&"dmarc-no-record".to_string()), "{got:?}");
    assert_eq!(ran.code, 4);
    // The authorisation record of an external destination: a failure is no "unauthorized".
    let (ran, doc) = lint(
        DMARC_ZONE,
        &["extauth.example"],
        &[
            "--fault",
            "extauth.example._report._dmarc.reports.test=timeout",
        ],
    );
    let got = codes(doc["lint"][0]["findings"].as_array().unwrap());
    assert!(got.contains(&"dmarc-temperror".to_string()), "{got:?}");
    assert!(
        !got.contains(&"dmarc-report-unauthorized".to_string()),
        "{got:?}"
    );
    assert_eq!(ran.code, 4);
}

#[test]
fn mx_rules() {
    assert_code(
        MX_ZONE,
        "nothere.example",
        "good.example",
        "mx-nxdomain",
        "error",
    );
    let f = assert_code(
        MX_ZONE,
        "nullmixed.example",
        "nullok.example",
        "mx-null-mx-mixed",
        "error",
    );
    assert_eq!(f["record"], "10 mx.example");
    let f = assert_code(
        MX_ZONE,
        "nullspf.example",
        "nullok.example",
        "mx-null-mx-spf",
        "warning",
    );
    assert_eq!(f["record"], "v=spf1 ip4:192.0.2.1 -all");
    assert_code(
        MX_ZONE,
        "nomail.example",
        "nomailok.example",
        "mx-no-mail-spf",
        "warning",
    );
    assert!(!codes(&findings(MX_ZONE, "sendonly.example")).contains(&"mx-no-mail-spf".to_string()));
    assert_code(
        MX_ZONE,
        "iplit.example",
        "good.example",
        "mx-target-ip-literal",
        "error",
    );
    assert_code(
        MX_ZONE,
        "cnamemx.example",
        "good.example",
        "mx-target-cname",
        "warning",
    );
    assert_code(
        MX_ZONE,
        "badtarget.example",
        "good.example",
        "mx-target-unresolvable",
        "error",
    );
    // The near misses of the MX zone have no DMARC finding either (wildcard authorisation).
    let got = codes(&findings(MX_ZONE, "nullok.example"));
    assert!(got.iter().all(|c| !c.starts_with("dmarc-")), "{got:?}");
}

#[test]
fn mx_dns_failure() {
    let (ran, doc) = lint(
        MX_ZONE,
        &["good.example"],
        &["--fault", "mx.example/A=servfail"],
    );
    let got = codes(doc["lint"][0]["findings"].as_array().unwrap());
    assert!(got.contains(&"mx-temperror".to_string()), "{got:?}");
    assert!(
        !got.contains(&"mx-target-unresolvable".to_string()),
        "{got:?}"
    );
    assert_eq!(ran.code, 4);
}

/// Over the live in-process server: the same rules, and a SERVFAIL is a temperror (exit 4).
#[test]
fn live_server() {
    let dns = TestDns::builder(vec![
        rec("live.example", txt(&["v=spf1 ip4:192.0.2.1 -all"])),
        rec(
            "live.example",
            RData::Mx {
                preference: 10,
                exchange: "mx.live.example".into(),
            },
        ),
        rec("mx.live.example", RData::A("192.0.2.25".parse().unwrap())),
        rec(
            "_dmarc.live.example",
            txt(&["v=DMARC1; p=none; rua=mailto:d@live.example"]),
        ),
        rec("broken.example", txt(&["v=spf1 ip4:192.0.2.1 -all"])),
    ])
    .servfail("_dmarc.broken.example")
    .start();
    let ns = dns.addr().to_string();
    let ran = run_spfcheck(&[
        "lint",
        "--nameserver",
        &ns,
        "--timeout",
        "2",
        "live.example",
        "broken.example",
        "--json",
    ]);
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap();
    let live = codes(doc["lint"][0]["findings"].as_array().unwrap());
    assert!(live.contains(&"dmarc-p-none".to_string()), "{live:?}");
    let broken = codes(doc["lint"][1]["findings"].as_array().unwrap());
    assert!(
        broken.contains(&"dmarc-temperror".to_string()),
        "{broken:?}"
    );
    assert!(
        !broken.contains(&"dmarc-no-record".to_string()),
        "{broken:?}"
    );
    assert_eq!(ran.code, 4, "{}", String::from_utf8_lossy(&ran.stderr));
    assert!(dns.count("_dmarc.live.example", "TXT") >= 1);
}
