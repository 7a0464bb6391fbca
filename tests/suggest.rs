//! `--suggest` through the built binary: remedies proven by evaluating the whole verdict again
//! (the seed: add ip4, include the relay's provider, DKIM signing), refusals (the 10-lookup
//! budget, a provider authorising more than a /24), IPv6, a new record, alignment (relaxed and
//! strict), the reverse for mail that passes (which term, through which includes), the JSON
//! fields (schema-validated by `run_spfcheck`), and that the exit code and the output without
//! `--suggest` do not change.

use serde_json::Value;

use crate::common::{run_spfcheck, schema_enum};

const SEED: &str = "testdata/seed/seed.zone";
const ZONE: &str = "testdata/suggest/suggest.zone";

fn run(zone: &str, args: &[&str]) -> (i32, String) {
    let mut all = vec!["--zone", zone, "--offline", "--suggest"];
    all.extend(args);
    let ran = run_spfcheck(&all);
    (ran.code, String::from_utf8_lossy(&ran.stdout).into_owned())
}

fn json(zone: &str, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend(args);
    let (code, out) = run(zone, &all);
    (code, serde_json::from_str(&out).expect("JSON output"))
}

fn kinds(doc: &Value, field: &str) -> Vec<String> {
    doc[field]
        .as_array()
        .expect("an array")
        .iter()
        .map(|s| s["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn seed_suggests_adding_the_ip_with_dmarc_pass_proven() {
    let (code, out) = run(SEED, &["thespykiller.co.uk", "81.142.190.61"]);
    assert_eq!(code, 1, "--suggest keeps the actual verdict's exit code");
    assert!(
        out.starts_with("Verdict: QUARANTINE (not authenticated)"),
        "{out}"
    );
    assert!(
        out.contains(
            "  1. add ip4:81.142.190.61 to thespykiller.co.uk's SPF record → SPF pass, aligned → DMARC pass (lookups 3/10)\n     record:    v=spf1 mx a ip4:192.0.2.0/27 include:_spf.mailhost.example ip4:81.142.190.61 -all\n"
        ),
        "{out}"
    );
    // The section sits between the verdict block and the SPF section.
    let (sugg, spf) = (
        out.find("Suggestions").unwrap(),
        out.find("SPF fail for").unwrap(),
    );
    assert!(sugg < spf, "{out}");

    let (code, doc) = json(SEED, &["thespykiller.co.uk", "81.142.190.61"]);
    assert_eq!(code, 1);
    assert_eq!(doc["verdict"]["outcome"], "not_authenticated");
    let first = &doc["suggestions"][0];
    assert_eq!(first["kind"], "add-ip");
    assert_eq!(first["domain"], "thespykiller.co.uk");
    assert_eq!(
        first["record"],
        "v=spf1 mx a ip4:192.0.2.0/27 include:_spf.mailhost.example ip4:81.142.190.61 -all"
    );
    assert_eq!(first["lookups_after"], 3);
    assert_eq!(first["verdict_after"]["outcome"], "authenticated");
    assert_eq!(first["verdict_after"]["spf"], "pass");
    assert_eq!(first["verdict_after"]["dmarc"], "pass");
    assert_eq!(first["verdict_after"]["disposition"], "none");
    assert_eq!(first["verdict_after"]["spf_aligned"], true);
    assert_eq!(first["findings"], serde_json::json!([]));
    assert_eq!(doc["authorised_by"], Value::Null);
    assert_eq!(doc["alignment_problem"], Value::Null);
}

#[test]
fn seed_suggests_including_the_relays_provider_and_dkim() {
    let (_, doc) = json(SEED, &["thespykiller.co.uk", "81.142.190.61"]);
    assert_eq!(
        kinds(&doc, "suggestions"),
        ["add-ip", "include", "dkim-sign"]
    );
    let inc = &doc["suggestions"][1];
    // dain.r-pl.co.uk (PTR of 81.142.190.61, forward-confirmed) belongs to r-pl.co.uk, whose
    // SPF passes the IP; dain.r-pl.co.uk itself publishes no SPF and is not suggested.
    assert_eq!(
        inc["change"],
        "add include:r-pl.co.uk to thespykiller.co.uk's SPF record"
    );
    assert_eq!(
        inc["record"],
        "v=spf1 mx a ip4:192.0.2.0/27 include:_spf.mailhost.example include:r-pl.co.uk -all"
    );
    assert_eq!(inc["lookups_after"], 5);
    assert_eq!(inc["verdict_after"]["dmarc"], "pass");
    let dkim = &doc["suggestions"][2];
    assert_eq!(
        dkim["change"],
        "the relay dain.r-pl.co.uk could DKIM-sign with d=thespykiller.co.uk"
    );
    assert_eq!(dkim["record"], Value::Null);
    assert_eq!(dkim["verdict_after"]["dkim_aligned"], true);
    assert_eq!(dkim["verdict_after"]["spf_aligned"], false);
    assert!(
        dkim["requires"]
            .as_str()
            .unwrap()
            .contains("the sender must sign"),
        "{dkim}"
    );
}

#[test]
fn include_refused_when_it_would_be_the_eleventh_lookup() {
    let (code, doc) = json(ZONE, &["full.example", "203.0.113.25"]);
    assert_eq!(code, 1);
    assert_eq!(kinds(&doc, "suggestions"), ["add-ip", "dkim-sign"]);
    assert_eq!(
        doc["suggestions"][0]["lookups_after"], 10,
        "ip4 costs no lookup"
    );
    assert_eq!(kinds(&doc, "not_suggested"), ["include"]);
    let refused = &doc["not_suggested"][0];
    assert_eq!(
        refused["change"],
        "add include:provider.example to full.example's SPF record"
    );
    let reason = refused["reason"].as_str().unwrap();
    assert!(
        reason.contains("RFC 7208 §4.6.4") && reason.contains("11"),
        "{reason}"
    );
    let (_, out) = run(ZONE, &["full.example", "203.0.113.25"]);
    assert!(
        out.contains("  not suggested:\n  - add include:provider.example"),
        "{out}"
    );
}

#[test]
fn include_refused_when_the_provider_authorises_more_than_a_24() {
    let (_, doc) = json(ZONE, &["wide.example", "203.0.113.9"]);
    assert_eq!(kinds(&doc, "suggestions"), ["add-ip", "dkim-sign"]);
    assert_eq!(kinds(&doc, "not_suggested"), ["include"]);
    let reason = doc["not_suggested"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("authorises 203.0.0.0/16") && reason.contains("/24"),
        "{reason}"
    );
}

#[test]
fn ipv6_client_gets_an_ip6_128() {
    let (code, doc) = json(ZONE, &["v6.example", "2001:db8:2::25"]);
    assert_eq!(code, 1);
    let first = &doc["suggestions"][0];
    assert_eq!(first["kind"], "add-ip");
    assert_eq!(
        first["record"],
        "v=spf1 ip6:2001:db8:1::/48 ip6:2001:db8:2::25 -all"
    );
    assert_eq!(first["verdict_after"]["dmarc"], "pass");
}

#[test]
fn no_record_proposes_a_new_one_and_says_it_is_bigger() {
    let (_, doc) = json(ZONE, &["nospf.example", "192.0.2.99"]);
    let first = &doc["suggestions"][0];
    assert_eq!(first["kind"], "new-record");
    assert_eq!(first["record"], "v=spf1 ip4:192.0.2.99 ~all");
    assert!(
        first["change"]
            .as_str()
            .unwrap()
            .contains("a bigger change")
    );
    assert_eq!(first["verdict_after"]["outcome"], "authenticated");
}

#[test]
fn forged_pass_names_the_term_and_the_include_chain() {
    let (code, doc) = json(ZONE, &["brand.example", "198.51.100.7"]);
    assert_eq!(code, 0, "authenticated: the exit code stays 0");
    assert_eq!(doc["suggestions"], serde_json::json!([]));
    let by = &doc["authorised_by"];
    assert_eq!(by["mechanism"], "ip4:198.51.100.0/24");
    assert_eq!(by["domain"], "_netblocks.esp.example");
    let terms: Vec<&str> = by["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["term"].as_str().unwrap())
        .collect();
    assert_eq!(
        terms,
        [
            "include:_spf.esp.example",
            "include:_netblocks.esp.example",
            "ip4:198.51.100.0/24"
        ]
    );
    assert_eq!(by["record_without"], "v=spf1 mx -all");
    assert_eq!(by["verdict_without"]["outcome"], "not_authenticated");
    assert_eq!(by["verdict_without"]["disposition"], "reject");
    let (_, out) = run(ZONE, &["brand.example", "198.51.100.7"]);
    assert!(
        out.contains(
            "Authorised by\n  ip4:198.51.100.0/24 in _netblocks.esp.example's SPF record\n"
        ),
        "{out}"
    );
}

#[test]
fn unaligned_spf_pass_gets_an_aligned_mail_from() {
    let args = [
        "--mail-from",
        "b@esp.example",
        "relaxed.example",
        "198.51.100.7",
    ];
    let (code, doc) = json(ZONE, &args);
    assert_eq!(code, 1);
    assert_eq!(doc["spf"]["result"], "pass");
    let first = &doc["suggestions"][0];
    assert_eq!(first["kind"], "align-mail-from");
    assert_eq!(first["domain"], "bounces.relaxed.example");
    assert_eq!(first["mail_from"], "b@bounces.relaxed.example");
    assert_eq!(first["record"], "v=spf1 include:esp.example -all");
    assert_eq!(first["verdict_after"]["spf_aligned"], true);
    assert_eq!(first["verdict_after"]["dmarc"], "pass");
    assert!(first["requires"].as_str().unwrap().contains("not aligned"));
    assert_eq!(kinds(&doc, "suggestions"), ["align-mail-from", "dkim-sign"]);
    let problem = doc["alignment_problem"].as_str().unwrap();
    assert!(
        problem.starts_with("alignment is the problem") && problem.contains("relaxed"),
        "{problem}"
    );

    // aspf=s: only the From domain itself aligns.
    let args = [
        "--mail-from",
        "b@esp.example",
        "strict.example",
        "198.51.100.7",
    ];
    let (_, doc) = json(ZONE, &args);
    let first = &doc["suggestions"][0];
    assert_eq!(first["kind"], "align-mail-from");
    assert_eq!(first["mail_from"], "b@strict.example");
    assert_eq!(first["record"], "v=spf1 mx include:esp.example -all");
    assert_eq!(first["verdict_after"]["dmarc"], "pass");
    assert!(first["requires"].as_str().unwrap().contains("strict"));
    assert!(
        doc["alignment_problem"]
            .as_str()
            .unwrap()
            .contains("strict")
    );
    let (_, out) = run(ZONE, &args);
    assert!(
        out.contains("  alignment is the problem: SPF passes, but strict"),
        "{out}"
    );
}

#[test]
fn without_suggest_nothing_changes_and_header_formats_refuse_it() {
    let base = [
        "--zone",
        SEED,
        "--offline",
        "thespykiller.co.uk",
        "81.142.190.61",
    ];
    let plain = run_spfcheck(&base);
    let out = String::from_utf8_lossy(&plain.stdout);
    assert!(!out.contains("Suggestions"), "{out}");
    let mut j = vec!["--json"];
    j.extend(base);
    let doc: Value = serde_json::from_slice(&run_spfcheck(&j).stdout).unwrap();
    assert!(doc.get("suggestions").is_none() && doc.get("authorised_by").is_none());
    let mut h = vec!["--suggest", "--format", "received-spf"];
    h.extend(base);
    let ran = run_spfcheck(&h);
    assert_eq!(ran.code, 2);
    assert!(String::from_utf8_lossy(&ran.stderr).contains("--suggest needs --format text or json"));
}

/// The README's `kind` words are the schema's closed enum.
#[test]
fn readme_kind_words_are_the_schema_enum() {
    let readme = include_str!("../README.md");
    let line = readme
        .lines()
        .find(|l| l.contains("\"kind\":") && l.contains("add-ip|"))
        .expect("README: the documented suggestion kinds");
    let words = line
        .split("//")
        .nth(1)
        .and_then(|c| c.split_whitespace().find(|w| w.contains('|')))
        .expect("a|b|c list");
    let mut documented: Vec<String> = words.split('|').map(str::to_string).collect();
    let mut schema = schema_enum("/$defs/suggestion_kind/enum");
    documented.sort();
    schema.sort();
    assert_eq!(documented, schema);
}

/// The README's `--suggest` sample is the binary's real output (up to the SPF section).
#[test]
fn readme_suggest_sample_is_the_real_output() {
    let readme = include_str!("../README.md");
    let start = readme
        .find("## Remedies: `--suggest`")
        .expect("README: the section");
    let cmd_at = readme[start..].find("```sh\n").expect("the command") + start + 6;
    let cmd = readme[cmd_at..].lines().next().expect("the command line");
    let args: Vec<&str> = cmd
        .trim_start_matches("spfcheck ")
        .split_whitespace()
        .collect();
    let open = readme[start..].find("```text\n").expect("the sample") + start + 8;
    let close = readme[open..].find("```").expect("its end") + open;
    let sample = &readme[open..close];
    let mut with_color = vec!["--color", "never"];
    with_color.extend(args);
    let ran = run_spfcheck(&with_color);
    assert_eq!(ran.code, 1);
    let out = String::from_utf8_lossy(&ran.stdout);
    assert!(
        out.starts_with(sample) && out[sample.len()..].starts_with("SPF fail for"),
        "README sample differs from:\n{out}"
    );
}

/// A DNS failure is never "no record": nothing is proposed for a record that could not be
/// read, and the exit code stays the temperror's.
#[test]
fn dns_failure_reading_the_record_is_not_a_new_record() {
    let args = [
        "--fault",
        "thespykiller.co.uk/TXT=servfail",
        "thespykiller.co.uk",
        "81.142.190.61",
    ];
    let (code, doc) = json(SEED, &args);
    assert_eq!(code, 4);
    let kinds_made = kinds(&doc, "suggestions");
    assert!(
        !kinds_made
            .iter()
            .any(|k| k == "add-ip" || k == "new-record"),
        "{doc}"
    );
    let refused = &doc["not_suggested"][0];
    assert_eq!(refused["kind"], "add-ip");
    assert!(
        refused["reason"].as_str().unwrap().contains("DNS failure"),
        "{refused}"
    );
}
