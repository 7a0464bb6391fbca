//! `spfcheck dkim` and DNS: a failure shared by every discovered selector is one text line
//! (JSON keeps an entry per selector), and a CNAME'd key costs one query per selector (the
//! chain comes with the answer).

use serde_json::Value;

use crate::common::run_spfcheck;

#[test]
fn one_line_for_a_dns_failure_shared_by_every_selector() {
    // A server that never answers: every selector of the discovery list times out.
    let silent = crate::common::SilentDns::start();
    let ns = silent.addr().to_string();
    let args = [
        "dkim",
        "--nameserver",
        &ns,
        "--timeout",
        "0.3",
        "brand.example",
    ];
    let ran = run_spfcheck(&args);
    assert_eq!(ran.code, 4);
    let text = String::from_utf8_lossy(&ran.stdout);
    let n = spfcheck::eval::dkim_keys::COMMON_SELECTORS.len();
    let failure: Vec<&str> = text.lines().filter(|l| l.contains("DNS failure")).collect();
    assert_eq!(failure.len(), 1, "{text}");
    let line = failure[0];
    assert!(line.contains(&format!("at {n} of {n} selectors")), "{line}");
    assert!(line.contains("timeout"), "{line}");
    // No block per selector.
    assert!(!text.contains("._domainkey.brand.example"), "{text}");
    assert!(text.contains("note: selectors cannot be listed"), "{text}");

    let mut json = args.to_vec();
    json.push("--json");
    let ran = run_spfcheck(&json);
    assert_eq!(ran.code, 4);
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap();
    let keys = doc["dkim_keys"].as_array().unwrap();
    assert_eq!(keys.len(), n);
    assert!(keys.iter().all(|k| k["status"] == "temperror"));
}

#[test]
fn a_single_failure_keeps_its_block() {
    let zone = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/dkim/keys.zone");
    let ran = run_spfcheck(&[
        "dkim",
        "--zone",
        zone,
        "--offline",
        "--fault",
        "good._domainkey.keys.example/TXT=servfail",
        "keys.example",
        "-s",
        "good",
        "-s",
        "weak",
    ]);
    assert_eq!(ran.code, 4);
    let text = String::from_utf8_lossy(&ran.stdout);
    assert!(!text.contains("DNS failure"), "{text}");
    assert!(
        text.contains("good._domainkey.keys.example: temperror"),
        "{text}"
    );
    assert!(text.contains("weak._domainkey.keys.example: "), "{text}");
}
