//! DKIM signature verification through the library, on messages signed once with the
//! committed TEST-ONLY keys (testdata/dkim/messages/, keys in testdata/dkim/fixtures.zone,
//! served offline through the zone overlay and, for DNS failures, the fault layer).

use std::sync::Arc;

use spfcheck::dns::fault::{FaultKind, Faults};
use spfcheck::dns::overlay::{Overlay, ZoneData};
use spfcheck::dns::{RType, Resolver};
use spfcheck::eval::dkim::DkimAuth;
use spfcheck::eval::dkim_verify::{MAX_SIGNATURES, Verification, verify_message};
use spfcheck::eval::trace::Event;

use crate::dkim_suite::split_message;

/// The fixtures' signing time (t=) plus an hour; expired.eml has x = t + 60.
const NOW: u64 = 1_764_547_200 + 3600;

fn zone_dns() -> Arc<Overlay> {
    let text = std::fs::read_to_string("testdata/dkim/fixtures.zone").unwrap();
    Arc::new(Overlay::new(
        ZoneData::from_zone_text(&text, None).unwrap(),
        None,
    ))
}

async fn verify_with(name: &str, dns: Arc<dyn Resolver>, now: u64) -> Verification {
    let raw = std::fs::read(format!("testdata/dkim/messages/{name}.eml")).unwrap();
    let msg = split_message(&raw);
    let mut v = verify_message(dns, &msg, now, None).await;
    assert_eq!(v.len(), 1, "{name}: one signature");
    v.remove(0)
}

async fn verify(name: &str) -> Verification {
    verify_with(name, zone_dns(), NOW).await
}

fn notes(v: &Verification) -> Vec<String> {
    v.detail
        .trace
        .walk()
        .into_iter()
        .filter_map(|n| match &n.event {
            Event::Note { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn assert_result(v: &Verification, result: DkimAuth, reason_part: &str) {
    assert_eq!(v.result, result, "{}: {}", v.selector, v.detail.reason);
    assert!(
        v.detail.reason.contains(reason_part),
        "reason {:?} lacks {reason_part:?}",
        v.detail.reason
    );
}

#[tokio::test]
async fn canonicalization_combinations_pass() {
    for (name, canon) in [
        ("relaxed-relaxed", "relaxed/relaxed"),
        ("simple-simple", "simple/simple"),
        ("relaxed-simple", "relaxed/simple"),
    ] {
        let v = verify(name).await;
        assert_result(&v, DkimAuth::Pass, "signature verified");
        assert_eq!(v.detail.canonicalization, canon);
        assert_eq!(
            (v.domain.as_str(), v.selector.as_str()),
            ("fixtures.example", "rsa")
        );
        assert_eq!(v.detail.algorithm, "rsa-sha256");
        assert_eq!(v.detail.key_bits, Some(2048));
        assert_eq!(v.detail.body_hash_ok, Some(true));
        assert_eq!(v.detail.header_b.len(), 8);
        assert_eq!(v.detail.identity.as_deref(), Some("@fixtures.example"));
        // The trace: the key query and its answer, header names in order, both body hashes.
        let query = v
            .detail
            .trace
            .walk()
            .into_iter()
            .find_map(|n| match &n.event {
                Event::Query {
                    name,
                    rtype,
                    records,
                    ..
                } => Some((name.clone(), *rtype, records.len())),
                _ => None,
            });
        assert_eq!(
            query,
            Some(("rsa._domainkey.fixtures.example".to_string(), RType::Txt, 1))
        );
        let notes = notes(&v);
        assert!(
            notes.iter().any(|n| n
                .to_ascii_lowercase()
                .contains("from, to, subject, date, message-id, dkim-signature")),
            "{notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("computed") && n.contains("claimed") && n.contains("(match)")),
            "{notes:?}"
        );
    }
}

#[tokio::test]
async fn ed25519_and_pkcs1_keys_pass() {
    let v = verify("ed25519").await;
    assert_result(&v, DkimAuth::Pass, "signature verified");
    assert_eq!(
        (v.detail.algorithm.as_str(), v.detail.key_bits),
        ("ed25519-sha256", Some(256))
    );
    // The same RSA key published as a bare PKCS#1 RSAPublicKey.
    let v = verify("pkcs1-key").await;
    assert_result(&v, DkimAuth::Pass, "signature verified");
    assert_eq!(v.detail.key_bits, Some(2048));
}

#[tokio::test]
async fn body_length_verifies_and_says_content_was_appended() {
    let v = verify("body-length").await;
    assert_result(&v, DkimAuth::Pass, "content may have been appended");
    assert!(
        v.detail.reason.contains("body bytes are signed (l=)"),
        "{}",
        v.detail.reason
    );
    // A fully signed body says nothing of the kind.
    assert!(
        !verify("relaxed-relaxed")
            .await
            .detail
            .reason
            .contains("appended")
    );
}

#[tokio::test]
async fn oversigning() {
    let v = verify("oversigned").await;
    assert_result(&v, DkimAuth::Pass, "signature verified");
    let notes = notes(&v);
    assert!(
        notes.iter().any(|n| n.contains("from (absent: signed as not present), subject (absent: signed as not present), reply-to (absent")),
        "{notes:?}"
    );
    // A second Subject added above the signed one breaks an over-signed signature.
    let v = verify("oversigned-added-subject").await;
    assert_result(&v, DkimAuth::Fail, "signature mismatch");
    assert_eq!(v.detail.body_hash_ok, Some(true));
}

#[tokio::test]
async fn modified_body_and_header_fail_with_distinct_reasons() {
    let body = verify("body-modified").await;
    assert_result(&body, DkimAuth::Fail, "body hash mismatch");
    assert_eq!(body.detail.body_hash_ok, Some(false));
    assert!(notes(&body).iter().any(|n| n.contains("MISMATCH")));
    let header = verify("header-modified").await;
    assert_result(&header, DkimAuth::Fail, "signature mismatch");
    assert_eq!(header.detail.body_hash_ok, Some(true));
    assert_ne!(body.detail.reason, header.detail.reason);
}

#[tokio::test]
async fn expiry_against_now() {
    let v = verify("expired").await;
    assert_result(&v, DkimAuth::PermError, "signature expired");
    // Replayed at signing time, the same message verifies: now decides, not the wall clock.
    let v = verify_with("expired", zone_dns(), 1_764_547_200 + 30).await;
    assert_result(&v, DkimAuth::Pass, "signature verified");
    // A signature from the future (t= more than 5 minutes ahead of now) is refused.
    let v = verify_with("relaxed-relaxed", zone_dns(), 1_764_547_200 - 3600).await;
    assert_result(&v, DkimAuth::PermError, "timestamp in the future");
}

#[tokio::test]
async fn key_constraints() {
    let v = verify("revoked-key").await;
    assert_result(&v, DkimAuth::PermError, "key revoked");
    let v = verify("strict-identity").await;
    assert_result(&v, DkimAuth::PermError, "t=s");
    assert_eq!(
        v.detail.identity.as_deref(),
        Some("alice@mail.fixtures.example")
    );
    let v = verify("strict-identity-ok").await;
    assert_result(&v, DkimAuth::Pass, "signature verified");
}

#[tokio::test]
async fn rsa_sha1_is_never_a_pass() {
    let v = verify("rsa-sha1").await;
    assert_result(&v, DkimAuth::PermError, "RFC 8301 §3.1");
    assert_eq!(v.detail.body_hash_ok, Some(true));
}

#[tokio::test]
async fn key_fetch_failures() {
    // DNS failure: temperror, never "no key".
    let mut faults = Faults::new(zone_dns());
    faults.add(
        "rsa._domainkey.fixtures.example",
        Some(RType::Txt),
        FaultKind::ServFail,
    );
    let v = verify_with("relaxed-relaxed", Arc::new(faults), NOW).await;
    assert_result(&v, DkimAuth::TempError, "DNS failure fetching the key");
    let mut faults = Faults::new(zone_dns());
    faults.add(
        "rsa._domainkey.fixtures.example",
        Some(RType::Txt),
        FaultKind::Timeout,
    );
    let v = verify_with("relaxed-relaxed", Arc::new(faults), NOW).await;
    assert_result(&v, DkimAuth::TempError, "timeout");
    // No such key: permerror.
    let empty: Arc<dyn Resolver> = Arc::new(Overlay::new(ZoneData::new(), None));
    let v = verify_with("relaxed-relaxed", empty, NOW).await;
    assert_result(&v, DkimAuth::PermError, "no key");
}

#[tokio::test]
async fn several_signatures_in_order_and_malformed_ones() {
    let a = std::fs::read("testdata/dkim/messages/ed25519.eml").unwrap();
    let b = std::fs::read("testdata/dkim/messages/relaxed-relaxed.eml").unwrap();
    // Put the ed25519 signature on top of the RSA-signed message, and a malformed one first.
    let ed_sig_end = a.windows(7).position(|w| w == b"\r\nFrom:").unwrap() + 2;
    let mut raw = b"DKIM-Signature: v=1; a=rsa-sha256; d=x\r\n".to_vec();
    raw.extend_from_slice(&a[..ed_sig_end]);
    raw.extend_from_slice(&b);
    let msg = split_message(&raw);
    let v = verify_message(zone_dns(), &msg, NOW, None).await;
    let got: Vec<(&str, DkimAuth)> = v.iter().map(|v| (v.selector.as_str(), v.result)).collect();
    assert_eq!(
        got,
        [
            ("", DkimAuth::PermError),
            ("ed", DkimAuth::Pass),
            ("rsa", DkimAuth::Pass)
        ]
    );
    assert!(
        v[0].detail.reason.contains("required tag"),
        "{}",
        v[0].detail.reason
    );
}

#[tokio::test]
async fn bounded_work_on_hostile_messages() {
    let signed = std::fs::read("testdata/dkim/messages/relaxed-relaxed.eml").unwrap();
    let sig_end = signed.windows(7).position(|w| w == b"\r\nFrom:").unwrap() + 2;
    // 12 copies of one signature: the first MAX_SIGNATURES are verified, the rest are not.
    let mut raw = Vec::new();
    for _ in 0..12 {
        raw.extend_from_slice(&signed[..sig_end]);
    }
    raw.extend_from_slice(&signed[sig_end..]);
    let msg = split_message(&raw);
    let v = verify_message(zone_dns(), &msg, NOW, None).await;
    assert_eq!(v.len(), 12);
    assert!(
        v[..MAX_SIGNATURES]
            .iter()
            .all(|v| v.result == DkimAuth::Pass)
    );
    assert!(
        v[MAX_SIGNATURES..]
            .iter()
            .all(|v| v.result == DkimAuth::PermError
                && v.detail.reason.contains("more than 10 DKIM-Signature"))
    );
    // 100,000 unsigned header fields below the signed ones: still a pass, in linear work.
    let mut raw = signed[..sig_end].to_vec();
    let rest = &signed[sig_end..];
    let body_at = rest.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 2;
    raw.extend_from_slice(&rest[..body_at]);
    for i in 0..100_000 {
        raw.extend_from_slice(format!("X-Filler-{}: {i}\r\n", i % 7).as_bytes());
    }
    raw.extend_from_slice(&rest[body_at..]);
    let msg = split_message(&raw);
    assert_eq!(msg.headers.len(), 100_006);
    let started = std::time::Instant::now();
    let v = verify_message(zone_dns(), &msg, NOW, None).await;
    assert_eq!(v[0].result, DkimAuth::Pass, "{}", v[0].detail.reason);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn hostile_signature_values_give_a_result_not_a_panic() {
    let body = b"Hello\r\n";
    let values: Vec<Vec<u8>> = vec![
        b"DKIM-Signature: v=9; a=; b=!!; bh=%%; c=x/y/z; d=; h=; i=@@; l=-1; q=; s=; t=x; x=y".to_vec(),
        b"DKIM-Signature:".to_vec(),
        b"DKIM-Signature: ;;;;".to_vec(),
        b"DKIM-Signature: v=1; a=rsa-sha256; b=AAAA; bh=AAAA; d=a.example; h=from; s=\xff\xfe".to_vec(),
        b"DKIM-Signature: v=1; a=rsa-sha256; b=AAAA; bh=AAAA; d=a.example; h=from; s=s; l=99999999999999999999".to_vec(),
        [b"DKIM-Signature: v=1; h=".as_slice(), &b"from:".repeat(20_000)].concat(),
        (0u32..4096).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect(),
    ];
    for value in &values {
        let msg = spfcheck::eval::dkim_verify::MessageView {
            headers: vec![
                spfcheck::eval::dkim_verify::Header {
                    name: b"From",
                    raw: b"From: a@a.example",
                },
                spfcheck::eval::dkim_verify::Header {
                    name: b"DKIM-Signature",
                    raw: value,
                },
            ],
            body,
        };
        let v = verify_message(zone_dns(), &msg, NOW, None).await;
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].result, DkimAuth::PermError, "{}", v[0].detail.reason);
        assert!(!v[0].detail.reason.is_empty());
    }
}
