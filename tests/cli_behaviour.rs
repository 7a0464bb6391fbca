//! Clear command-line behaviour (issue 6 §6), through the binary: several authors in `--from`
//! refused, usage lines and errors naming the two forms, clap's hints kept in the one error
//! line, unmatchable faults refused and unfired ones reported, impossible dates and absurd
//! timeouts refused, a verdict line that reads as what happens to the message, and `_dmarc`
//! names too long to exist never queried (offline and live alike).

use serde_json::Value;

use crate::common::{Ran, TestDns, events, run_spfcheck};

fn stderr(ran: &Ran) -> String {
    String::from_utf8_lossy(&ran.stderr).into_owned()
}

fn stdout(ran: &Ran) -> String {
    String::from_utf8_lossy(&ran.stdout).into_owned()
}

/// Runs `args`, expects exit 2 and one error line containing every one of `wants`.
fn usage_error(args: &[&str], wants: &[&str]) -> String {
    let ran = run_spfcheck(args);
    let e = stderr(&ran);
    assert_eq!(ran.code, 2, "{args:?}: {e}");
    assert_eq!(e.lines().count(), 1, "{args:?}: {e}");
    assert!(e.starts_with("spfcheck: error: "), "{e}");
    for w in wants {
        assert!(e.contains(w), "{args:?}: {e:?} lacks {w:?}");
    }
    e
}

#[test]
fn several_from_addresses_are_refused() {
    for from in [
        "a@x.example,c@y.example",
        "A <a@x.example>, B <b@y.example>",
    ] {
        usage_error(
            &["--from", from, "192.0.2.1"],
            &["several author addresses", "RFC 9989 §5.3.1"],
        );
    }
    // One author whose display name holds a comma is one address.
    let ran = run_spfcheck(&[
        "--offline",
        "--from",
        "\"Doe, John\" <j@y.example>",
        "192.0.2.1",
    ]);
    assert_eq!(ran.code, 1, "{}", stderr(&ran));
}

#[test]
fn usage_names_the_two_forms() {
    usage_error(
        &["--from", "a@x.example"],
        &["missing IP (usage: spfcheck [OPTIONS] --from ADDR IP)"],
    );
    usage_error(
        &["x.example"],
        &["missing IP (usage: spfcheck [OPTIONS] DOMAIN IP)"],
    );
    usage_error(&[], &["missing DOMAIN and IP", "--from ADDR IP"]);
    let help = run_spfcheck(&["--help"]);
    assert_eq!(help.code, 0);
    let text = stdout(&help);
    assert!(
        text.contains(
            "Usage: spfcheck [OPTIONS] DOMAIN IP\n       spfcheck [OPTIONS] --from ADDR IP"
        ),
        "{text}"
    );
    // Bounds are in --help.
    assert!(
        text.contains("0.01 to 60") && text.contains("0.1 to 600"),
        "{text}"
    );
}

#[test]
fn clap_hints_stay_in_the_error_line() {
    usage_error(
        &["--dmarc", "bogus", "x.example", "192.0.2.1"],
        &["'bogus'", "possible values: rfc9989, rfc7489"],
    );
    usage_error(
        &["--max-dns-lookups", "-1", "x.example", "192.0.2.1"],
        &["invalid value '-1'", "negative number is not allowed"],
    );
    usage_error(
        &["--pct-sample", "-3", "x.example", "192.0.2.1"],
        &["invalid value '-3'", "negative"],
    );
    usage_error(
        &["--pct-sample", "100", "x.example", "192.0.2.1"],
        &["expected 0 to 99"],
    );
    usage_error(
        &["-bad.example", "192.0.2.1"],
        &["cannot start with '-'", "'--'"],
    );
    usage_error(
        &["--mail-fro", "a@b.example", "x.example", "192.0.2.1"],
        &["did you mean '--mail-from'"],
    );
    // And with '--' such a DOMAIN reaches the domain check, which names it.
    usage_error(
        &["--offline", "--", "-bad.example", "192.0.2.1"],
        &["DOMAIN", "starts with '-'"],
    );
}

#[test]
fn unmatchable_faults_are_refused() {
    for (spec, why) in [
        ("name.example/TXT/A=timeout", "contains '/'"),
        ("a b.example=timeout", "U+0020"),
        ("a..b.example=servfail", "empty label"),
    ] {
        usage_error(
            &["--offline", "--fault", spec, "x.example", "192.0.2.1"],
            &["--fault", why, "no query could match"],
        );
    }
}

#[test]
fn unfired_faults_are_reported() {
    let args = [
        "--offline",
        "--record",
        "v=spf1 -all",
        "--fault",
        "never.example=timeout",
        "--fault",
        "_dmarc.x.example/TXT=nxdomain",
        "x.example",
        "192.0.2.1",
    ];
    let ran = run_spfcheck(&args);
    let text = stdout(&ran);
    assert!(
        text.contains("warning: --fault never.example=timeout never fired"),
        "{text}"
    );
    assert!(!text.contains("--fault _dmarc"), "{text}");
    let mut json_args = vec!["--json"];
    json_args.extend(args);
    let doc: Value = serde_json::from_slice(&run_spfcheck(&json_args).stdout).expect("JSON");
    assert_eq!(
        doc["unused_faults"],
        serde_json::json!(["never.example=timeout"])
    );
    assert_eq!(doc["schema"], 1);
    // Without --fault the field is there and empty.
    let doc: Value = serde_json::from_slice(
        &run_spfcheck(&["--offline", "--json", "x.example", "192.0.2.1"]).stdout,
    )
    .expect("JSON");
    assert_eq!(doc["unused_faults"], serde_json::json!([]));
}

#[test]
fn impossible_times_and_durations_are_refused() {
    for (now, why) in [
        ("2021-02-31T00:00:00Z", "has no day 31"),
        ("2021-02-29T00:00:00Z", "has no day 29"),
        ("2021-07-15T22:51:19+25:99", "UTC offset"),
        ("2021-07-15T22:51:19+23:60", "UTC offset"),
    ] {
        usage_error(&["--now", now, "x.example", "192.0.2.1"], &["--now", why]);
    }
    let ok = run_spfcheck(&[
        "--offline",
        "--now",
        "2020-02-29T23:59:59+23:59",
        "x.example",
        "192.0.2.1",
    ]);
    assert_eq!(ok.code, 1, "{}", stderr(&ok));
    for (flag, value, range) in [
        ("--timeout", "1e-300", "0.01 to 60"),
        ("--timeout", "61", "0.01 to 60"),
        ("--timeout", "-1", "0.01 to 60"),
        ("--deadline", "0.05", "0.1 to 600"),
        ("--deadline", "601", "0.1 to 600"),
        ("--deadline", "NaN", "0.1 to 600"),
    ] {
        usage_error(&[flag, value, "x.example", "192.0.2.1"], &[flag, range]);
    }
}

#[test]
fn verdict_line_reads_as_what_happens() {
    let ran = run_spfcheck(&[
        "--offline",
        "--record",
        "v=spf1 +all",
        "x.example",
        "192.0.2.1",
    ]);
    assert_eq!(ran.code, 0);
    let text = stdout(&ran);
    assert!(
        text.starts_with("Verdict: DELIVER (authenticated)\n"),
        "{text}"
    );
    let ran = run_spfcheck(&["--offline", "x.example", "192.0.2.1"]);
    assert!(
        stdout(&ran).starts_with("Verdict: DELIVER (not authenticated)\n"),
        "{}",
        stdout(&ran)
    );
    // A DNS failure decides nothing: DEFER, never DELIVER (a closed port on loopback).
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free UDP port")
        .port();
    let ns = format!("127.0.0.1:{port}");
    let ran = run_spfcheck(&["--nameserver", &ns, "x.example", "192.0.2.1"]);
    assert_eq!(ran.code, 4, "{}", stdout(&ran));
    let text = stdout(&ran);
    assert!(text.starts_with("Verdict: DEFER (temperror: "), "{text}");
    // The summary names the cause, not only "DNS error".
    assert!(text.contains("connection refused"), "{text}");
}

#[test]
fn dmarc_names_over_253_octets_are_not_queried() {
    // 249 octets: valid as a From domain; "_dmarc." makes it 256.
    let domain = format!(
        "{}.{}.{}.{}.example",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(49)
    );
    assert_eq!(domain.len(), 249);
    let long_q = format!("_dmarc.{domain}");
    let dns = TestDns::start(Vec::new());
    let live = run_spfcheck(&[
        "--json",
        "--nameserver",
        &dns.addr().to_string(),
        &domain,
        "192.0.2.1",
    ]);
    let offline = run_spfcheck(&["--json", "--offline", &domain, "192.0.2.1"]);
    assert_eq!(dns.count(&long_q, "TXT"), 0);
    for ran in [&live, &offline] {
        let doc: Value = serde_json::from_slice(&ran.stdout).expect("JSON");
        assert_eq!(doc["dmarc"]["result"], "none", "{doc}");
        let trace = &doc["dmarc"]["trace"];
        let asked: Vec<&str> = events(trace, "query")
            .iter()
            .filter_map(|q| q["name"].as_str())
            .collect();
        assert!(!asked.contains(&long_q.as_str()), "{asked:?}");
        let notes = trace.to_string();
        assert!(notes.contains("at most 253"), "{notes}");
        // The walk goes on with the parents, which fit.
        assert!(asked.iter().any(|n| n.starts_with("_dmarc.")), "{asked:?}");
    }
    assert_eq!(live.code, offline.code);
}
