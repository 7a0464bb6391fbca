//! `--message` with the signed DKIM fixtures (testdata/dkim, committed TEST-ONLY keys) through
//! the real binary: a signed message passes DKIM and makes DMARC pass with an unaligned SPF, a
//! modified body fails, the stdin form, a key served by a live in-process DNS server, and the
//! verified entries beside `--dkim` ones.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{run_spfcheck, validate_output};

fn dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("spfcheck-signed-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn json(r: &crate::common::Ran, what: &str) -> serde_json::Value {
    validate_output(&r.stdout, what)
}

// Signed fixtures (testdata/dkim, committed TEST-ONLY keys): signed at T = 1764547200, checked
// at T + 3600.
const FIXTURE_ZONE: &str = "testdata/dkim/fixtures.zone";
const SIGNED: &str = "testdata/dkim/messages/relaxed-relaxed.eml";
const NOW: &str = "1764550800";
/// SPF passes for the ESP's bounce domain only (not aligned with fixtures.example, which
/// publishes DMARC p=reject): only an aligned DKIM pass can make DMARC pass.
const POLICY_ZONE: &str = "$TTL 300
esp.example. IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"
fixtures.example. IN TXT \"v=spf1 -all\"
_dmarc.fixtures.example. IN TXT \"v=DMARC1; p=reject\"
";

fn signed_args(tag: &str, message: &str, extra: &[&str]) -> Vec<String> {
    let d = dir(tag);
    let policy = d.join("policy.zone");
    std::fs::write(&policy, POLICY_ZONE).unwrap();
    let mut args: Vec<String> = [
        "--offline",
        "--zone",
        FIXTURE_ZONE,
        "--zone",
        policy.to_str().unwrap(),
        "--now",
        NOW,
        "--mail-from",
        "bounce@esp.example",
        "--message",
        message,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn a_signed_message_passes_dkim_and_dmarc_with_unaligned_spf() {
    let r = run_spfcheck(&signed_args("signed", SIGNED, &["--json", "198.51.100.7"]));
    let doc = json(&r, "signed");
    let d = &doc["dkim"][0];
    assert_eq!(d["result"], "pass", "{d:#}");
    assert_eq!(d["source"], "message");
    assert_eq!(d["domain"], "fixtures.example");
    assert_eq!(d["selector"], "rsa");
    assert_eq!(d["algorithm"], "rsa-sha256");
    assert_eq!(d["canonicalization"], "relaxed/relaxed");
    assert_eq!(d["key_bits"], 2048);
    assert_eq!(d["body_hash_ok"], true);
    assert_eq!(d["header_b"], "IarpdRT0");
    assert_eq!(doc["spf"]["result"], "pass");
    assert_eq!(doc["dmarc"]["spf_aligned"], false);
    assert_eq!(doc["dmarc"]["dkim_aligned"], true);
    assert_eq!(doc["dmarc"]["result"], "pass");
    assert_eq!(doc["verdict"]["from"], "alice@fixtures.example");
    assert_eq!(r.code, 0);
    let ar = doc["authentication_results"].as_str().unwrap();
    assert!(
        ar.contains("header.d=fixtures.example header.s=rsa header.b=IarpdRT0"),
        "{ar}"
    );
    assert!(ar.contains("dkim=pass ("), "{ar}");
    // Text: a DKIM section with its trace.
    let r = run_spfcheck(&signed_args("signed-text", SIGNED, &["198.51.100.7"]));
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(
        out.contains("DKIM pass signature 1 d=fixtures.example s=rsa"),
        "{out}"
    );
    assert!(
        out.contains("2048 bits") && out.contains("matches bh="),
        "{out}"
    );
    // With a --dkim assumption too: the verified entry first, the simulated one after.
    let r = run_spfcheck(&signed_args(
        "signed-both",
        SIGNED,
        &["--json", "--dkim", "esp.example=pass", "198.51.100.7"],
    ));
    let doc = json(&r, "both");
    assert_eq!(doc["dkim"][0]["source"], "message");
    assert_eq!(doc["dkim"][1]["source"], "simulated");
    assert!(doc["dkim"][1].get("trace").is_none());
}

#[test]
fn a_modified_body_fails() {
    let text = std::fs::read_to_string(SIGNED).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let tampered = format!("{head}\r\n\r\n{}", body.replacen("Bob", "Eve", 1));
    assert_ne!(tampered, text);
    let d = dir("tampered");
    let path = d.join("tampered.eml");
    std::fs::write(&path, tampered).unwrap();
    let r = run_spfcheck(&signed_args(
        "tampered",
        path.to_str().unwrap(),
        &["--json", "198.51.100.7"],
    ));
    let doc = json(&r, "tampered");
    let dk = &doc["dkim"][0];
    assert_eq!(dk["result"], "fail", "{dk:#}");
    assert_eq!(dk["body_hash_ok"], false);
    assert_eq!(doc["dmarc"]["result"], "fail");
    assert_eq!(r.code, 1);
}

#[test]
fn stdin_signed_message() {
    let args = signed_args("stdin-signed", "-", &["--json", "198.51.100.7"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_spfcheck"))
        .args(&args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let bytes = std::fs::read(SIGNED).unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let doc = validate_output(&out.stdout, "stdin signed");
    assert_eq!(doc["dkim"][0]["result"], "pass", "{:#}", doc["dkim"]);
    assert_eq!(out.status.code(), Some(0));
}

/// The key query goes to a live (in-process) DNS server like every other query.
#[test]
fn key_from_a_live_server() {
    use spfcheck::dns::zone::parse_zone;
    let mut records = parse_zone(&std::fs::read_to_string(FIXTURE_ZONE).unwrap(), None).unwrap();
    records.extend(parse_zone(POLICY_ZONE, None).unwrap());
    let dns = crate::common::TestDns::start(records);
    let r = run_spfcheck(&[
        "--nameserver",
        &dns.addr().to_string(),
        "--now",
        NOW,
        "--mail-from",
        "bounce@esp.example",
        "--message",
        SIGNED,
        "--json",
        "198.51.100.7",
    ]);
    let doc = json(&r, "live");
    assert_eq!(doc["dkim"][0]["result"], "pass", "{:#}", doc["dkim"]);
    assert_eq!(doc["dmarc"]["result"], "pass");
    assert_eq!(dns.count("rsa._domainkey.fixtures.example", "TXT"), 1);
}

/// Messages saved with bare LF line ends (as mail clients and `.eml` exports often do) verify
/// like the CRLF original: the message layer reads each bare LF as CRLF (RFC 6376 §3.4 works
/// on CRLF lines), for both canonicalizations.
#[test]
fn lf_only_copies_still_pass() {
    for name in ["relaxed-relaxed.eml", "simple-simple.eml"] {
        let path = format!("testdata/dkim/messages/{name}");
        let Ok(text) = std::fs::read_to_string(&path) else {
            panic!("fixture {path} is missing");
        };
        assert!(text.contains("\r\n"), "{path}: expected CRLF line ends");
        let d = dir(&format!("lf-{name}"));
        let lf = d.join(name);
        std::fs::write(&lf, text.replace("\r\n", "\n")).unwrap();
        let r = run_spfcheck(&signed_args(
            &format!("lf-{name}"),
            lf.to_str().unwrap(),
            &["--json", "198.51.100.7"],
        ));
        let doc = json(&r, name);
        assert_eq!(
            doc["dkim"][0]["result"], "pass",
            "{name}: {:#}",
            doc["dkim"][0]
        );
    }
}

/// The key query goes through the same fault layer as every query: a SERVFAIL on the key is a
/// DKIM temperror (RFC 6376 §6.1.2), and with nothing else aligned DMARC cannot conclude.
#[test]
fn a_dns_failure_on_the_key_is_temperror() {
    let r = run_spfcheck(&signed_args(
        "keyfault",
        SIGNED,
        &[
            "--json",
            "--fault",
            "rsa._domainkey.fixtures.example/TXT=servfail",
            "198.51.100.7",
        ],
    ));
    let doc = json(&r, "keyfault");
    assert_eq!(
        doc["dkim"][0]["result"], "temperror",
        "{:#}",
        doc["dkim"][0]
    );
    assert_eq!(doc["dmarc"]["result"], "temperror");
    assert_eq!(r.code, 4);
    assert_eq!(doc["unused_faults"].as_array().unwrap().len(), 0);
}
