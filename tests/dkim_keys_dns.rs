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

#[test]
fn a_cname_chain_costs_one_query_per_selector() {
    use crate::common::{TestDns, rec, txt};
    use spfcheck::dns::RData;
    const KEY: &str = "v=DKIM1; k=ed25519; p=jFJZHnD14ATRhYq5YdVFkAJSrl8KtufGtFMo1Y1d0KE=";
    let dns = TestDns::start(vec![
        // Two hops, as Microsoft 365 publishes keys (customer → tenant → key).
        rec(
            "selector1._domainkey.brand.example",
            RData::Cname("selector1-brand._domainkey.tenant.example".into()),
        ),
        rec(
            "selector1-brand._domainkey.tenant.example",
            RData::Cname("keys.esp.example".into()),
        ),
        rec("keys.esp.example", txt(&[KEY])),
        rec("plain._domainkey.brand.example", txt(&[KEY])),
    ]);
    let ns = dns.addr().to_string();
    let ran = run_spfcheck(&[
        "dkim",
        "--nameserver",
        &ns,
        "--timeout",
        "2",
        "brand.example",
        "-s",
        "selector1",
        "-s",
        "plain",
        "--json",
    ]);
    assert_eq!(ran.code, 0, "{}", String::from_utf8_lossy(&ran.stderr));
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap();
    let key = &doc["dkim_keys"][0];
    assert_eq!(
        key["cname_chain"],
        serde_json::json!([
            "selector1._domainkey.brand.example",
            "selector1-brand._domainkey.tenant.example",
            "keys.esp.example"
        ])
    );
    assert_eq!(key["algorithm"], "ed25519");
    assert_eq!(doc["dkim_keys"][1]["cname_chain"], serde_json::json!([]));
    // One TXT query per selector reached the server, none of type CNAME.
    let queries = dns.queries();
    assert_eq!(queries.len(), 2, "{queries:?}");
    assert_eq!(dns.count("selector1._domainkey.brand.example", "TXT"), 1);
    assert_eq!(dns.count("plain._domainkey.brand.example", "TXT"), 1);
    // The chain is shown with the one query in the trace.
    let traced = crate::common::events(&key["trace"], "query");
    assert_eq!(traced.len(), 1, "{traced:?}");
    let detail = traced[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("CNAME chain: selector1._domainkey.brand.example -> "),
        "{detail}"
    );
}
