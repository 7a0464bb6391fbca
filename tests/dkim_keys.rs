//! `spfcheck dkim`: the DKIM key audit through the binary, over the test zone
//! `testdata/dkim/keys.zone` (one selector per finding, and one that must not trigger it), the
//! live in-process DNS server for a CNAME'd selector, and the seed's key.

use serde_json::Value;
use spfcheck::dns::RData;

use crate::common::{Ran, TestDns, rec, run_spfcheck, txt};

const ZONE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/dkim/keys.zone");
const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/seed/seed.zone");

/// RSA 2048 SubjectPublicKeyInfo, the one in keys.zone.
const KEY_2048: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAozdtdaz4Quldx3+S2F//qHEEcKmYz5i4tmo8JxD/VENcmSzV3b7ELnNKeE0SvHbwlZnd1nheek3Isrq8N0Yb8cFZlacLeVOql8PVqmRwKPvuLUY26tpGcObpgfLSbdVAHH24dSCSTKgeJLrToRrUXhMyXYXW3fx2vrxQXfUeCY+f/ZXKaxxnkHuhDoNkuUhND+6siuZZU3si9Ra+27trAoNy4fxx7gn76EclmKaaRRX7GTSem7oePcXObAfOObaEDP+oY//Amjk3a21W1BwDP5hSqlongrG5s0um8iersLbVkUB4m3HmyBaSSzyMBk/Jjw60e7iBf7rfZqn2dycssQIDAQAB";

fn audit(selectors: &[&str]) -> (Ran, Value) {
    let mut args = vec![
        "dkim",
        "--zone",
        ZONE,
        "--offline",
        "keys.example",
        "--json",
    ];
    for s in selectors {
        args.push("-s");
        args.push(s);
    }
    let ran = run_spfcheck(&args);
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap_or_else(|e| {
        panic!(
            "{selectors:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&ran.stderr)
        )
    });
    (ran, doc)
}

/// The finding codes of every entry for one selector.
fn codes(selector: &str) -> (i32, Vec<String>, Value) {
    let (ran, doc) = audit(&[selector]);
    let keys = doc["dkim_keys"].as_array().unwrap().clone();
    assert!(!keys.is_empty(), "{selector}: no entry");
    let codes = keys
        .iter()
        .flat_map(|k| k["findings"].as_array().unwrap().clone())
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    (ran.code, codes, keys[0].clone())
}

#[track_caller]
fn assert_finding(bad: &str, good: &str, code: &str, severity: &str) {
    let (_, doc) = audit(&[bad]);
    let findings: Vec<Value> = doc["dkim_keys"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|k| k["findings"].as_array().unwrap().clone())
        .collect();
    let f = findings
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("{bad}: no {code} in {findings:?}"));
    assert_eq!(f["severity"], severity, "{bad}: {f}");
    let (_, found, _) = codes(good);
    assert!(
        !found.iter().any(|c| c == code),
        "{good}: {code} in {found:?}"
    );
}

#[test]
fn usable_rsa_2048_in_both_der_forms() {
    for sel in ["good", "pkcs1", "splitok"] {
        let (code, found, key) = codes(sel);
        assert_eq!(code, 0, "{sel}: {found:?}");
        assert!(found.is_empty(), "{sel}: {found:?}");
        assert_eq!(key["algorithm"], "rsa");
        assert_eq!(key["key_bits"], 2048, "{sel}");
        assert_eq!(key["usable"], true);
        assert_eq!(key["status"], "found");
    }
}

#[test]
fn rsa_under_1024_bits_is_unusable() {
    assert_finding("short", "weak", "dkim-key-rsa-too-short", "error");
    let (code, _, key) = codes("short");
    assert_eq!((code, key["key_bits"].as_u64()), (1, Some(512)));
}

#[test]
fn rsa_1024_is_weak_but_usable() {
    assert_finding("weak", "good", "dkim-key-rsa-weak", "warning");
    let (code, _, key) = codes("weak");
    assert_eq!((code, key["key_bits"].as_u64()), (0, Some(1024)));
}

#[test]
fn sha1_only_is_unusable() {
    assert_finding("sha1", "sha256", "dkim-key-sha1-only", "error");
    assert_eq!(codes("sha1").0, 1);
    assert_eq!(codes("sha256").0, 0);
}

#[test]
fn testing_flag_left_on() {
    assert_finding("testing", "strict", "dkim-key-testing", "warning");
    let (code, _, key) = codes("testing");
    assert_eq!((code, key["testing"].as_bool()), (0, Some(true)));
    let (_, found, key) = codes("strict");
    assert_eq!(key["strict_identity"], true);
    assert_eq!(found, ["dkim-key-strict-identity"]);
}

#[test]
fn malformed_base64() {
    assert_finding("badb64", "good", "dkim-key-bad-base64", "error");
    let (code, _, key) = codes("badb64");
    assert_eq!(code, 1);
    // The position points at the "!" in the record text.
    let rec = key["record"].as_str().unwrap();
    assert_eq!(
        key["findings"][0]["position"].as_u64(),
        Some(rec.find('!').unwrap() as u64)
    );
}

#[test]
fn base64_that_is_not_a_public_key() {
    assert_finding("notkey", "pkcs1", "dkim-key-not-public-key", "error");
    assert_eq!(codes("notkey").0, 1);
}

#[test]
fn txt_that_is_not_a_key_record() {
    assert_finding("spf", "good", "dkim-key-not-key-record", "error");
    assert_eq!(codes("spf").0, 1);
}

#[test]
fn several_records_at_one_selector() {
    assert_finding("multi", "good", "dkim-key-multiple-records", "error");
    let (ran, doc) = audit(&["multi"]);
    assert_eq!(ran.code, 1);
    assert_eq!(doc["dkim_keys"].as_array().unwrap().len(), 2);
}

#[test]
fn strings_split_where_a_separator_was_expected() {
    assert_finding("split", "splitok", "dkim-key-split-strings", "error");
    assert_eq!(codes("split").0, 1);
}

#[test]
fn ed25519_key_length() {
    assert_finding("edspki", "ed", "dkim-key-ed25519-length", "error");
    let (code, found, key) = codes("ed");
    assert_eq!(code, 0, "{found:?}");
    assert_eq!(
        (key["algorithm"].as_str(), key["key_bits"].as_u64()),
        (Some("ed25519"), Some(256))
    );
}

#[test]
fn revoked_unknown_type_and_service() {
    assert_finding("revoked", "good", "dkim-key-revoked", "warning");
    let (code, _, key) = codes("revoked");
    assert_eq!(
        (code, key["revoked"].as_bool(), key["usable"].as_bool()),
        (1, Some(true), Some(false))
    );
    assert_finding("dsa", "good", "dkim-key-unknown-type", "error");
    assert_finding("other", "good", "dkim-key-service", "error");
}

#[test]
fn missing_selector_and_exit_codes() {
    let (ran, doc) = audit(&["absent", "nodata"]);
    assert_eq!(ran.code, 1);
    let keys = doc["dkim_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for k in keys {
        assert_eq!(k["status"], "missing");
        assert_eq!(k["findings"][0]["code"], "dkim-key-missing");
    }
    // A usable key and a missing one: still 1 (every named selector must have a key).
    assert_eq!(audit(&["good", "absent"]).0.code, 1);
    assert_eq!(audit(&["good", "weak"]).0.code, 0);
}

#[test]
fn dns_failure_is_temperror_exit_4() {
    let ran = run_spfcheck(&[
        "dkim",
        "--zone",
        ZONE,
        "--offline",
        "--fault",
        "good._domainkey.keys.example/TXT=servfail",
        "keys.example",
        "-s",
        "good",
        "--json",
    ]);
    assert_eq!(ran.code, 4);
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(doc["dkim_keys"][0]["status"], "temperror");
    assert_eq!(
        doc["dkim_keys"][0]["findings"][0]["code"],
        "dkim-key-temperror"
    );
}

#[test]
fn cname_chain_in_the_zone_overlay() {
    let (ran, doc) = audit(&["selector1"]);
    assert_eq!(ran.code, 0);
    let key = &doc["dkim_keys"][0];
    assert_eq!(
        key["cname_chain"],
        serde_json::json!([
            "selector1._domainkey.keys.example",
            "selector1-keys-example._domainkey.esp.example"
        ])
    );
    assert_eq!(key["key_bits"], 2048);
}

#[test]
fn cname_chain_over_live_dns() {
    let dns = TestDns::start(vec![
        rec(
            "selector1._domainkey.brand.example",
            RData::Cname("selector1-brand-example._domainkey.esp.example".into()),
        ),
        rec(
            "selector1-brand-example._domainkey.esp.example",
            txt(&["v=DKIM1; k=rsa; p=", &KEY_2048[..200], &KEY_2048[200..]]),
        ),
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
        "--json",
    ]);
    assert_eq!(ran.code, 0, "{}", String::from_utf8_lossy(&ran.stderr));
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap();
    let key = &doc["dkim_keys"][0];
    assert_eq!(
        key["cname_chain"][1],
        "selector1-brand-example._domainkey.esp.example"
    );
    assert_eq!(key["key_bits"], 2048);
    // Every query is in the trace: one TXT query, the backend follows the chain (no CNAME
    // queries of our own, see dkim_keys_dns.rs).
    let queries = crate::common::events(&key["trace"], "query");
    assert_eq!(queries.len(), 1, "{queries:?}");
    assert_eq!(queries[0]["rtype"], "TXT");
    assert_eq!(dns.count("selector1._domainkey.brand.example", "TXT"), 1);
}

#[test]
fn discovery_tries_common_selectors_and_says_it_can_miss() {
    let ran = run_spfcheck(&["dkim", "--zone", ZONE, "--offline", "keys.example"]);
    let out = String::from_utf8_lossy(&ran.stdout);
    assert!(out.contains("can miss"), "{out}");
    // selector1 (CNAME'd, usable) is in the built-in list; the others are not, so they are
    // not reported.
    assert!(
        out.contains("selector1._domainkey.keys.example: usable"),
        "{out}"
    );
    assert!(!out.contains("short._domainkey"), "{out}");
    assert_eq!(ran.code, 0, "{out}");
    // No key at any common selector: exit 1.
    let ran = run_spfcheck(&["dkim", "--zone", ZONE, "--offline", "esp.example", "--json"]);
    assert_eq!(ran.code, 1);
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(doc["discovery"], true);
    assert!(doc["note"].as_str().unwrap().contains("can miss"));
    assert_eq!(doc["dkim_keys"].as_array().unwrap().len(), 0);
}

#[test]
fn seed_key_is_a_usable_2048_bit_rsa_key() {
    let ran = run_spfcheck(&[
        "dkim",
        "--zone",
        SEED,
        "--offline",
        "thespykiller.co.uk",
        "-s",
        "mail2021",
    ]);
    let out = String::from_utf8_lossy(&ran.stdout);
    assert_eq!(ran.code, 0, "{out}");
    assert!(
        out.contains("mail2021._domainkey.thespykiller.co.uk: usable"),
        "{out}"
    );
    assert!(out.contains("algorithm rsa, 2048 bits"), "{out}");
}

#[test]
fn input_errors_exit_2_and_the_check_form_is_unchanged() {
    for args in [
        vec!["dkim", "keys.example", "-s", "bad_selector"],
        vec!["dkim", "keys.example", "-s", "-x"],
        vec!["dkim", "not a domain"],
        vec!["dkim"],
        vec!["dkim", "--zone", "/nonexistent.zone", "keys.example"],
        vec!["dkim", "keys.example", "--timeout", "0"],
    ] {
        let ran = run_spfcheck(&args);
        assert_eq!(
            ran.code,
            2,
            "{args:?}: {}",
            String::from_utf8_lossy(&ran.stdout)
        );
        let err = String::from_utf8_lossy(&ran.stderr);
        assert!(err.starts_with("spfcheck: error: "), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    // Without the subcommand, DOMAIN IP is the check as before.
    let ran = run_spfcheck(&[
        "--zone",
        SEED,
        "--offline",
        "thespykiller.co.uk",
        "81.142.190.61",
        "--json",
    ]);
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(doc["spf"]["result"], "fail");
}

#[test]
fn hostile_record_text_is_escaped() {
    let dns = TestDns::start(vec![rec(
        "evil._domainkey.brand.example",
        RData::Txt(vec![b"v=DKIM1; p=\x1b[31m\x07".to_vec()]),
    )]);
    let ns = dns.addr().to_string();
    let ran = run_spfcheck(&["dkim", "--nameserver", &ns, "brand.example", "-s", "evil"]);
    assert_eq!(ran.code, 1);
    assert!(
        !ran.stdout.contains(&0x1b),
        "{}",
        String::from_utf8_lossy(&ran.stdout)
    );
    assert!(!ran.stdout.contains(&0x07));
}

#[test]
fn discovery_queries_the_selectors_concurrently() {
    // A server that never answers: each of the 34 selectors times out (2 tries of 0.3 s).
    // One after another that would take over 20 s; concurrently it takes about 0.6 s.
    let silent = crate::common::SilentDns::start();
    let ns = silent.addr().to_string();
    let ran = run_spfcheck(&[
        "dkim",
        "--nameserver",
        &ns,
        "--timeout",
        "0.3",
        "brand.example",
        "--json",
    ]);
    assert_eq!(ran.code, 4, "{}", String::from_utf8_lossy(&ran.stdout));
    assert!(
        ran.elapsed < std::time::Duration::from_secs(8),
        "took {:?}",
        ran.elapsed
    );
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap();
    // DNS failures are reported even in discovery (never "no key").
    let keys = doc["dkim_keys"].as_array().unwrap();
    assert_eq!(keys.len(), doc["selectors"].as_array().unwrap().len());
    assert!(keys.iter().all(|k| k["status"] == "temperror"));
}

/// Key-record-like text with odd pieces (folds, non-ASCII, stray characters): `parse_key`
/// never panics and every position stays inside the text.
#[test]
fn any_key_text_parses_or_fails_cleanly() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed, TestRunner};
    use spfcheck::record::dkim_key::parse_key;

    let config = Config {
        cases: 2000,
        rng_seed: RngSeed::Fixed(6376),
        failure_persistence: None,
        ..Config::default()
    };
    let piece = r"(v=DKIM1|k=(rsa|ed25519|x)|p=[A-Za-z0-9+/= \t]{0,12}|h=(sha1|sha256|:| )*|t=[ys: ]{0,4}|s=[*a-z:]{0,6}|n=[ -~]{0,4}|;|\r\n |[ -~]|\u{e9})";
    let strategy = proptest::string::string_regex(&format!("({piece}){{0,12}}")).unwrap();
    TestRunner::new(config)
        .run(&strategy, |text| {
            match parse_key(&text) {
                Ok(k) => {
                    for d in &k.diagnostics {
                        prop_assert!(d.position.is_none_or(|p| p <= text.len()));
                    }
                }
                Err(e) => prop_assert!(e.position <= text.len(), "{e:?} in {text:?}"),
            }
            Ok(())
        })
        .unwrap();
}
