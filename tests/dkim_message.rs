//! `--message FILE|-` through the real binary (issue 7): the From domain comes from the
//! message, several or no From authors are the RFC 9989 multi-author / missing case, and bad
//! input (not RFC 5322, binary garbage, over the size limit, 100,000 header fields, a
//! directory or a device) gives one `spfcheck: error:` line and exit 2, never a panic.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{Ran, run_spfcheck, validate_output};

/// A zone where brand.example publishes SPF for 192.0.2.0/24 and DMARC p=reject.
const ZONE: &str = "$TTL 300
brand.example. IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"
_dmarc.brand.example. IN TXT \"v=DMARC1; p=reject\"
esp.example. IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"
";

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spfcheck-msg-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes the zone and `message` into a fresh directory; returns (zone path, message path).
fn files(tag: &str, message: &[u8]) -> (PathBuf, PathBuf) {
    let d = dir(tag);
    let zone = d.join("z.zone");
    std::fs::write(&zone, ZONE).unwrap();
    let msg = d.join("m.eml");
    std::fs::write(&msg, message).unwrap();
    (zone, msg)
}

fn run_with(tag: &str, message: &[u8], extra: &[&str]) -> Ran {
    let (zone, msg) = files(tag, message);
    let mut args: Vec<String> = vec![
        "--offline".into(),
        "--zone".into(),
        zone.display().to_string(),
        "--message".into(),
        msg.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    run_spfcheck(&args)
}

/// Asserts exactly one `spfcheck: error:` line and exit 2; returns the line.
fn one_error(r: &Ran, what: &str) -> String {
    let err = String::from_utf8_lossy(&r.stderr).into_owned();
    assert_eq!(r.code, 2, "{what}: exit {} stderr {err}", r.code);
    assert!(r.stdout.is_empty(), "{what}: stdout not empty");
    assert_eq!(err.lines().count(), 1, "{what}: {err}");
    assert!(err.starts_with("spfcheck: error: "), "{what}: {err}");
    err
}

fn json(r: &Ran, what: &str) -> Value {
    validate_output(&r.stdout, what)
}

#[test]
fn from_domain_comes_from_the_message() {
    let msg = b"From: \"Brand, Sales\" <sales@Brand.Example> (the team)\nTo: x@y.example\nSubject: hi\n\nbody\n";
    let r = run_with("from", msg, &["--json", "192.0.2.7"]);
    let doc = json(&r, "from");
    assert_eq!(doc["verdict"]["from_domain"], "brand.example");
    assert_eq!(doc["verdict"]["from"], "sales@brand.example");
    assert_eq!(doc["spf"]["domain"], "brand.example");
    // SPF passes and is aligned: DMARC pass, exit 0; no DKIM-Signature: no dkim entries.
    assert_eq!(doc["dmarc"]["result"], "pass");
    assert_eq!(doc["dkim"].as_array().unwrap().len(), 0);
    assert_eq!(r.code, 0);
    // The same with DOMAIN given and equal; a different DOMAIN is explained.
    let r = run_with("from2", msg, &["--json", "brand.example", "192.0.2.7"]);
    assert_eq!(json(&r, "from2")["verdict"]["from_domain"], "brand.example");
    let r = run_with("from3", msg, &["other.example", "192.0.2.7"]);
    let e = one_error(&r, "differs");
    assert!(
        e.contains("differs from the message's From domain \"brand.example\""),
        "{e}"
    );
    // --from and --message together are refused.
    let r = run_with("from4", msg, &["--from", "a@b.example", "192.0.2.7"]);
    assert!(one_error(&r, "both").contains("--from and --message"));
    // Missing IP.
    let r = run_with("from5", msg, &[]);
    assert!(one_error(&r, "no ip").contains("--message FILE [DOMAIN] IP"));
}

#[test]
fn an_unaligned_spf_pass_without_signature_fails_dmarc() {
    let msg = b"From: sales@brand.example\n\nbody\n";
    let r = run_with(
        "unaligned",
        msg,
        &[
            "--json",
            "--mail-from",
            "bounce@esp.example",
            "198.51.100.7",
        ],
    );
    let doc = json(&r, "unaligned");
    assert_eq!(doc["spf"]["result"], "pass");
    assert_eq!(doc["dmarc"]["result"], "fail");
    assert_eq!(r.code, 1);
}

#[test]
fn several_or_no_authors_are_refused_with_the_rfc_case() {
    for (tag, msg, want) in [
        (
            "two",
            &b"From: a@brand.example, B <b@other.example>\n\nx\n"[..],
            "holds 2 author addresses",
        ),
        (
            "none",
            b"To: a@brand.example\n\nx\n",
            "has no From header field",
        ),
        (
            "twofields",
            b"From: a@brand.example\nFrom: b@brand.example\n\nx\n",
            "has 2 From header fields",
        ),
        ("group", b"From: undisclosed:;\n\nx\n", "holds no address"),
        ("literal", b"From: a@[192.0.2.1]\n\nx\n", "address literal"),
    ] {
        let r = run_with(tag, msg, &["192.0.2.7"]);
        let e = one_error(&r, tag);
        assert!(e.contains(want), "{tag}: {e}");
        if tag != "literal" {
            assert!(e.contains("RFC 9989"), "{tag}: {e}");
        }
    }
}

#[test]
fn stdin_form() {
    let d = dir("stdin");
    let zone = d.join("z.zone");
    std::fs::write(&zone, ZONE).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_spfcheck"))
        .args(["--offline", "--zone"])
        .arg(&zone)
        .args(["--message", "-", "--json", "192.0.2.7"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        stdin
            .write_all(b"From: Sales <sales@brand.example>\r\nSubject: x\r\n\r\nbody\r\n")
            .unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = validate_output(&out.stdout, "stdin");
    assert_eq!(doc["verdict"]["from_domain"], "brand.example");
}

#[test]
fn bad_input_is_one_error_line() {
    // Binary garbage, not RFC 5322.
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let r = run_with("garbage", &garbage, &["192.0.2.7"]);
    assert!(one_error(&r, "garbage").contains("--message"));
    let r = run_with(
        "prose",
        b"Hello, this is just text\nwith lines\n",
        &["192.0.2.7"],
    );
    assert!(one_error(&r, "prose").contains("not an RFC 5322 message: line 1"));
    let r = run_with("empty", b"", &["192.0.2.7"]);
    assert!(one_error(&r, "empty").contains("empty"));
    // 100,000 header fields: refused quickly by the field limit.
    let mut many = b"From: a@brand.example\n".to_vec();
    for i in 0..100_000 {
        many.extend_from_slice(format!("X-H{i}: v\n").as_bytes());
    }
    many.extend_from_slice(b"\nbody\n");
    let r = run_with("many", &many, &["192.0.2.7"]);
    assert!(one_error(&r, "many").contains("more than 10000 header fields"));
    // 9,000 signatures: refused (each would cost a key query and a body hash).
    let mut sigs = Vec::new();
    for i in 0..9000 {
        sigs.extend_from_slice(
            format!(
                "DKIM-Signature: v=1; a=rsa-sha256; d=brand.example; s=s{i}; h=from; bh=AA; b=QQ\n"
            )
            .as_bytes(),
        );
    }
    sigs.extend_from_slice(b"From: a@brand.example\n\nbody\n");
    let r = run_with("sigs", &sigs, &["192.0.2.7"]);
    assert!(one_error(&r, "sigs").contains("9000 DKIM-Signature header fields, more than the 50"));
    // A directory, a device, a missing file.
    let d = dir("notfile");
    for (path, want) in [
        (d.display().to_string(), "is a directory"),
        ("/dev/zero".to_string(), "not a regular file"),
        (d.join("absent.eml").display().to_string(), "cannot read"),
    ] {
        let r = run_spfcheck(&["--offline", "--message", &path, "192.0.2.7"]);
        assert!(one_error(&r, &path).contains(want), "{path}");
    }
}

#[test]
fn over_the_size_limit_is_refused_without_reading_it() {
    let d = dir("big");
    let big = d.join("big.eml");
    let f = std::fs::File::create(&big).unwrap();
    // A sparse file: 32 MiB + 1 byte, never written to disk.
    f.set_len(spfcheck::message::MAX_MESSAGE_BYTES + 1).unwrap();
    let r = run_spfcheck(&["--offline", "--message", big.to_str().unwrap(), "192.0.2.7"]);
    assert!(one_error(&r, "big").contains("larger than 33554432 bytes (32 MiB)"));
    // Over the limit on standard input: refused after reading one byte more than the limit.
    let mut child = Command::new(env!("CARGO_BIN_EXE_spfcheck"))
        .args(["--offline", "--message", "-", "192.0.2.7"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..40 {
            // The reader stops at the limit and exits: a broken pipe ends the writing.
            if stdin.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("standard input: larger than 33554432 bytes"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // Exactly at the limit is read (and then refused as not a message: NUL bytes).
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(spfcheck::message::MAX_MESSAGE_BYTES).unwrap();
    let r = run_spfcheck(&["--offline", "--message", big.to_str().unwrap(), "192.0.2.7"]);
    assert!(one_error(&r, "at limit").contains("not an RFC 5322 message"));
}

/// Every DKIM-Signature is verified and reported, in message order, whatever its tags: a
/// signature with every tag malformed and one whose key does not exist give results (never a
/// panic, never an error line), both `source: "message"`, both in Authentication-Results.
#[test]
fn every_signature_gives_a_result_even_malformed() {
    let msg = b"DKIM-Signature: v=9; a=foo-bar; b=!!!; bh=???; c=x/y; d=..; h=; i=nope;\n l=-1; q=x/y; s=; t=zz; x=-4; z=%%\nDKIM-Signature: v=1; a=rsa-sha256; d=brand.example; s=absent;\n h=from; bh=AAAA; b=QUJDREVGR0hJSktMTU5P\nFrom: a@brand.example\n\n\x00\xff binary body \x1b[31m\n";
    let r = run_with("malformed", msg, &["--json", "192.0.2.7"]);
    assert!(matches!(r.code, 0 | 1 | 3 | 4), "exit {}", r.code);
    assert!(
        r.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let doc = json(&r, "malformed");
    let dkim = doc["dkim"].as_array().unwrap();
    assert_eq!(dkim.len(), 2, "{doc:#}");
    for d in dkim {
        assert_eq!(d["source"], "message");
        assert_ne!(d["result"], "pass");
    }
    assert_eq!(dkim[0]["result"], "permerror", "{:#}", dkim[0]);
    let ar = doc["authentication_results"].as_str().unwrap();
    assert_eq!(ar.matches("dkim=").count(), 2, "{ar}");
    // The text output has a section per signature and no raw escape byte.
    let r = run_with("malformed-text", msg, &["192.0.2.7"]);
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(
        out.contains("signature 1") && out.contains("signature 2"),
        "{out}"
    );
    assert!(!out.contains('\x1b'), "{out}");
}
