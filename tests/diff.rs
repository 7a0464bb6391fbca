//! `spfcheck diff` through the real binary: a change that breaks one sender and fixes another
//! (testdata/diff), "before" from the live in-process DNS server, the exit codes 0/1/2/4, bad
//! senders files, escaping of untrusted labels, and the JSON document (schema-validated by
//! `run_spfcheck`).

use std::path::{Path, PathBuf};

use serde_json::Value;
use spfcheck::dns::zone::parse_zone_file;

use crate::common::{Ran, TestDns, run_spfcheck};

const BEFORE: &str = "testdata/diff/before.zone";
const AFTER: &str = "testdata/diff/after.zone";
const SENDERS: &str = "testdata/diff/senders.txt";

fn out(r: &Ran) -> String {
    String::from_utf8_lossy(&r.stdout).into_owned()
}

fn err(r: &Ran) -> String {
    String::from_utf8_lossy(&r.stderr).into_owned()
}

/// A file with `text` in a directory of this test process.
fn file(tag: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spfcheck-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(tag);
    std::fs::write(&p, text).unwrap();
    p
}

fn offline(extra: &[&str]) -> Ran {
    let mut args = vec![
        "diff",
        "--offline",
        "--before",
        BEFORE,
        "--after",
        AFTER,
        "--domain",
        "example.com",
    ];
    args.extend_from_slice(extra);
    run_spfcheck(&args)
}

#[test]
fn a_change_that_breaks_one_sender_and_fixes_another() {
    let r = offline(&["--senders", SENDERS]);
    let text = out(&r);
    assert_eq!(r.code, 1, "{text}{}", err(&r));
    assert!(
        text.contains(
            "198.51.100.7 (newsletter) [example.com]: SPF pass via include:_spf.esp.example → fail via -all (include:_spf.esp.example removed from example.com's record)\n    DMARC pass → fail; disposition none → reject; authenticated → not authenticated: LOSES AUTHENTICATION\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "203.0.113.10 (crm) [example.com]: SPF fail via -all → pass via ip4:203.0.113.0/24 (ip4:203.0.113.0/24 added to example.com's record)\n"
        ),
        "{text}"
    );
    assert!(text.contains("gains authentication"), "{text}");
    assert!(
        text.contains("2 of 4 senders unchanged; 2 changed, 1 loses authentication\n"),
        "{text}"
    );
    // Unchanged senders are not listed one by one in text.
    assert!(!text.contains("office relay"), "{text}");
}

#[test]
fn json_lists_every_sender_with_both_sides() {
    let r = offline(&["--senders", SENDERS, "--format", "json"]);
    assert_eq!(r.code, 1, "{}", err(&r));
    let doc: Value = serde_json::from_slice(&r.stdout).unwrap();
    let d = &doc["diff"];
    assert_eq!(d["summary"]["changed"], 2);
    assert_eq!(d["summary"]["loses_authentication"], 1);
    let senders = d["senders"].as_array().unwrap();
    assert_eq!(senders.len(), 4);
    let nl = &senders[0];
    assert_eq!(nl["label"], "newsletter");
    assert_eq!(nl["line"], 2);
    assert_eq!(nl["changed"], true);
    assert_eq!(nl["loses_authentication"], true);
    assert_eq!(nl["before"]["spf"], "pass");
    assert_eq!(nl["before"]["spf_term"], "include:_spf.esp.example");
    assert_eq!(nl["after"]["spf"], "fail");
    assert_eq!(nl["after"]["spf_term"], "-all");
    assert_eq!(nl["after"]["disposition"], "reject");
    assert_eq!(nl["after"]["outcome"], "not_authenticated");
    let crm = &senders[1];
    assert_eq!(crm["changed"], true);
    assert_eq!(crm["loses_authentication"], false);
    assert_eq!(crm["after"]["dmarc"], "pass");
    // Unchanged senders are listed with changed:false.
    let esp = &senders[3];
    assert_eq!(esp["label"], "ESP transactional");
    assert_eq!(esp["mail_from_domain"], "bounce.esp.example");
    assert_eq!(esp["from_domain"], "example.com");
    assert_eq!(esp["changed"], false);
    assert_eq!(esp["before"]["spf"], "pass");
    assert_eq!(esp["before"]["dmarc"], "fail", "SPF passes unaligned");
    assert!(d["findings_introduced"].is_array() && d["findings_fixed"].is_array());
}

#[test]
fn no_sender_lost_exits_0() {
    let s = file(
        "fixed-only.txt",
        "203.0.113.10 crm\n192.0.2.25 office relay\n",
    );
    let r = offline(&["--senders", s.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", out(&r), err(&r));
    assert!(out(&r).contains("1 of 2 senders unchanged; 1 changed, 0 lose authentication"));
    // The same records on both sides: nothing changes.
    let r = run_spfcheck(&[
        "diff",
        "--offline",
        "--before",
        AFTER,
        "--after",
        AFTER,
        "--senders",
        SENDERS,
        "--domain",
        "example.com",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", err(&r));
    let doc: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(doc["diff"]["summary"]["changed"], 0);
    assert!(
        doc["diff"]["senders"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["changed"] == false)
    );
}

#[test]
fn a_stricter_disposition_counts_as_a_loss() {
    let before = file(
        "p-none.zone",
        "example.com. TXT \"v=spf1 -all\"\n_dmarc.example.com. TXT \"v=DMARC1; p=none\"\n",
    );
    let after = file(
        "p-reject.zone",
        "example.com. TXT \"v=spf1 -all\"\n_dmarc.example.com. TXT \"v=DMARC1; p=reject\"\n",
    );
    let s = file("one.txt", "192.0.2.1 unknown sender\n");
    let r = run_spfcheck(&[
        "diff",
        "--offline",
        "--before",
        before.to_str().unwrap(),
        "--after",
        after.to_str().unwrap(),
        "--senders",
        s.to_str().unwrap(),
        "--domain",
        "example.com",
    ]);
    let text = out(&r);
    assert_eq!(r.code, 1, "{text}{}", err(&r));
    assert!(
        text.contains("SPF fail via -all (unchanged) (DMARC record of example.com changed)"),
        "{text}"
    );
    assert!(
        text.contains("disposition none → reject: LOSES AUTHENTICATION"),
        "{text}"
    );
}

#[test]
fn before_omitted_is_live_dns() {
    let records = parse_zone_file(Path::new(BEFORE)).unwrap();
    let dns = TestDns::start(records);
    let ns = dns.addr().to_string();
    let r = run_spfcheck(&[
        "diff",
        "--nameserver",
        &ns,
        "--timeout",
        "2",
        "--after",
        AFTER,
        "--senders",
        SENDERS,
        "--domain",
        "example.com",
        "--json",
    ]);
    assert_eq!(r.code, 1, "{}", err(&r));
    let doc: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(doc["diff"]["before"], "live DNS");
    assert_eq!(doc["diff"]["after"], format!("{AFTER} over live DNS"));
    let nl = &doc["diff"]["senders"][0];
    assert_eq!(nl["before"]["spf_term"], "include:_spf.esp.example");
    assert_eq!(nl["after"]["spf_term"], "-all");
    assert_eq!(doc["diff"]["summary"]["changed"], 2);
    // "before" asked the server; "after" answered example.com from the zone file, so the one
    // query for example.com's TXT is before's (the two sides share no cache).
    assert!(dns.count("example.com", "TXT") >= 1);
    assert!(dns.count("_spf.esp.example", "TXT") >= 1);
}

#[test]
fn a_dns_failure_exits_4() {
    let r = offline(&[
        "--senders",
        SENDERS,
        "--fault",
        "_spf.esp.example/TXT=servfail",
    ]);
    let text = out(&r);
    assert_eq!(r.code, 4, "{text}{}", err(&r));
    assert!(text.contains("DNS failure: not compared"), "{text}");
    assert!(text.contains("not compared (DNS failure)"), "{text}");
    let r = offline(&[
        "--senders",
        SENDERS,
        "--fault",
        "_spf.esp.example/TXT=timeout",
        "--json",
    ]);
    assert_eq!(r.code, 4);
    let doc: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert!(doc["diff"]["summary"]["not_compared"].as_u64().unwrap() >= 1);
    assert_eq!(doc["diff"]["senders"][0]["before"]["spf"], "temperror");
}

#[test]
fn input_errors_exit_2_with_one_line() {
    let bad = file(
        "bad.txt",
        "# senders\n198.51.100.7 newsletter\n198.51.100.300 broken\n",
    );
    let r = offline(&["--senders", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    let e = err(&r);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.starts_with(&format!("spfcheck: error: {}:3: ", bad.display())),
        "{e}"
    );
    assert!(e.contains("not an IP address"), "{e}");
    assert!(r.stdout.is_empty());

    let addr = file("addr.txt", "198.51.100.7 bounce@esp.example\n");
    let r = offline(&["--senders", addr.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(err(&r).contains(":1: "), "{}", err(&r));
    assert!(err(&r).contains("not an address"), "{}", err(&r));

    // No domain on the line and no --domain.
    let r = run_spfcheck(&[
        "diff",
        "--offline",
        "--before",
        BEFORE,
        "--after",
        AFTER,
        "--senders",
        SENDERS,
    ]);
    assert_eq!(r.code, 2);
    assert!(
        err(&r).contains("senders.txt:2: no MAIL-FROM-DOMAIN"),
        "{}",
        err(&r)
    );

    // --offline without --before: "before" would be nothing.
    let r = run_spfcheck(&[
        "diff",
        "--offline",
        "--after",
        AFTER,
        "--senders",
        SENDERS,
        "--domain",
        "example.com",
    ]);
    assert_eq!(r.code, 2);
    assert!(err(&r).contains("--offline needs --before"), "{}", err(&r));

    // Not a regular file; a missing file; a file too large; no --after.
    let dir = std::env::temp_dir();
    let r = offline(&["--senders", dir.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(err(&r).contains("not a regular file"), "{}", err(&r));
    let r = offline(&["--senders", "/nonexistent/senders.txt"]);
    assert_eq!(r.code, 2);
    assert!(err(&r).contains("cannot read"), "{}", err(&r));
    let big = file("big.txt", &"# padding\n".repeat(110_000));
    let r = offline(&["--senders", big.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(err(&r).contains("larger than"), "{}", err(&r));
    let r = run_spfcheck(&["diff", "--senders", SENDERS]);
    assert_eq!(r.code, 2);
    assert!(err(&r).contains("--after"), "{}", err(&r));
}

#[test]
fn untrusted_labels_are_escaped() {
    let s = file("hostile.txt", "198.51.100.7 \u{202e}rettelswen\u{1b}]0;x\n");
    let r = offline(&["--senders", s.to_str().unwrap()]);
    // A control character in a label is refused.
    assert_eq!(r.code, 2);
    assert!(err(&r).contains(":1: control character"), "{}", err(&r));
    let s = file("bidi.txt", "198.51.100.7 \u{202e}rettelswen\n");
    let r = offline(&["--senders", s.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", err(&r));
    let text = out(&r);
    assert!(!text.contains('\u{202e}'), "{text}");
    assert!(text.contains("\\u{202e}rettelswen"), "{text}");
}

/// The README's sample is the binary's output for the command it shows.
#[test]
fn readme_sample_is_the_output() {
    const README: &str = include_str!("../README.md");
    let start = README
        .find("$ spfcheck diff --offline")
        .expect("README: the diff sample");
    let block = &README[start..];
    let block = &block[..block.find("```").expect("README: end of the diff sample")];
    let (cmd, expected) = block.split_once('\n').unwrap();
    let mut args: Vec<&str> = cmd.split_whitespace().skip(2).collect();
    args.extend(["--color", "never"]);
    let r = run_spfcheck(&args);
    assert_eq!(r.code, 1, "{}", err(&r));
    assert_eq!(
        out(&r),
        expected,
        "README's diff sample differs from the output"
    );
}

/// A `diff` document with lint findings (built from the library's own `Finding`, as the binary
/// serialises it) matches the schema, and one with a malformed finding does not.
#[test]
fn findings_in_the_document_match_the_schema() {
    use spfcheck::diag::{Diagnostic, Severity};
    use spfcheck::lint::Finding;
    let r = offline(&["--senders", SENDERS, "--json"]);
    let mut doc: Value = serde_json::from_slice(&r.stdout).unwrap();
    let finding = Finding::new(
        "example.com",
        Diagnostic::new("spf-pass-all", Severity::Error, "RFC 7208 §5.1", "+all")
            .with_tag("+all")
            .at(7),
        Some("v=spf1 +all"),
        "end the record with -all",
    );
    doc["diff"]["findings_introduced"] = serde_json::json!([finding]);
    doc["diff"]["findings_fixed"] = serde_json::json!([finding]);
    let errors = crate::common::schema_errors(&doc);
    assert!(errors.is_empty(), "{errors:?}");
    doc["diff"]["findings_fixed"][0]["severity"] = "fatal".into();
    assert!(!crate::common::schema_errors(&doc).is_empty());
    doc["diff"]["findings_fixed"][0]["severity"] = "error".into();
    doc["diff"]["senders"][0]["after"]["outcome"] = "lost".into();
    assert!(!crate::common::schema_errors(&doc).is_empty());
}

/// `--senders -` reads standard input.
#[test]
fn senders_from_standard_input() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_spfcheck"))
        .args([
            "diff",
            "--offline",
            "--before",
            BEFORE,
            "--after",
            AFTER,
            "--domain",
            "example.com",
            "--senders",
            "-",
        ])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"198.51.100.7 newsletter\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("0 of 1 sender unchanged; 1 changed, 1 loses authentication"),
        "{text}"
    );
}

/// The lint half of a dry run: a proposal that adds `+all` and a second DMARC record introduces
/// those findings, and the proposal's reverse lists the same findings as fixed.
#[test]
fn lint_findings_introduced_and_fixed() {
    let before = std::fs::read_to_string(BEFORE).unwrap();
    let worse = before
        .lines()
        .map(|l| {
            if l.starts_with("example.com.") && l.contains("v=spf1") {
                "example.com.          IN TXT \"v=spf1 ip4:192.0.2.0/25 +all\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n_dmarc.example.com.   IN TXT \"v=DMARC1; p=none\"\n";
    let worse = file("worse.zone", &worse);
    let senders = file("one.txt", "192.0.2.25 office relay\n");
    let run = |b: &str, a: &str| {
        run_spfcheck(&[
            "diff",
            "--offline",
            "--before",
            b,
            "--after",
            a,
            "--domain",
            "example.com",
            "--senders",
            senders.to_str().unwrap(),
            "--format",
            "json",
        ])
    };
    let codes = |doc: &Value, key: &str| -> Vec<String> {
        doc["diff"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    let r = run(BEFORE, worse.to_str().unwrap());
    let doc: Value = serde_json::from_slice(&r.stdout).unwrap();
    let introduced = codes(&doc, "findings_introduced");
    assert!(
        introduced.contains(&"spf-pass-all".to_string()),
        "{introduced:?}\n{}",
        out(&r)
    );
    assert!(
        introduced.contains(&"dmarc-multiple-records".to_string()),
        "{introduced:?}"
    );
    assert!(codes(&doc, "findings_fixed").is_empty(), "{}", out(&r));
    // The office relay stays authenticated (SPF pass either way): nothing lost, exit 0.
    assert_eq!(r.code, 0, "{}{}", out(&r), err(&r));

    let back = run(worse.to_str().unwrap(), BEFORE);
    let doc: Value = serde_json::from_slice(&back.stdout).unwrap();
    let fixed = codes(&doc, "findings_fixed");
    assert!(fixed.contains(&"spf-pass-all".to_string()), "{fixed:?}");
    assert!(
        codes(&doc, "findings_introduced").is_empty(),
        "{}",
        out(&back)
    );
}
