//! Benchmark (run with `cargo bench --bench dkim_verify`; not a test): how many DKIM
//! signatures per second one core verifies in a 100 KB message with two signatures, keys
//! cached, compared with the raw RSA-2048 verify rate of `ring`, the crypto crate used.
//!
//! The message is signed here, at start-up, with the committed TEST-ONLY key
//! (testdata/dkim/keys/rsa2048.TEST-ONLY.key.pem; signing is deterministic, no key is
//! generated): two rsa-sha256 signatures by fixtures.example, relaxed/relaxed (selector `rsa`)
//! and simple/simple (selector `rsapkcs1`, the same key as PKCS#1). The keys are served from
//! testdata/dkim/fixtures.zone in memory (`Overlay`, no upstream): a key "fetch" costs what a
//! cache hit costs. Each iteration parses the message (`Message::parse`) and verifies both
//! signatures (`verify_message`) on a current-thread runtime, as the CLI does.
//! Plain `std::time` timing (harness = false): no benchmark framework is needed for one rate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{self, RsaKeyPair};

use spfcheck::dns::Resolver;
use spfcheck::dns::overlay::{Overlay, ZoneData};
use spfcheck::eval::dkim::DkimAuth;
use spfcheck::eval::dkim_verify::{canonical_body, canonical_header, verify_message};
use spfcheck::message::Message;
use spfcheck::record::dkim_sig::Canon;

const T: u64 = 1_764_547_200;

fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64).unwrap()
}

/// A DKIM-Signature over `headers` and `body` (RFC 6376 §3.7, §5).
fn sign(key: &RsaKeyPair, headers: &[&str], body: &[u8], canon: Canon, selector: &str) -> String {
    let c = match canon {
        Canon::Simple => "simple/simple",
        Canon::Relaxed => "relaxed/relaxed",
    };
    let bh = STANDARD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        &canonical_body(body, canon),
    ));
    let names: Vec<&str> = headers
        .iter()
        .map(|h| h.split(':').next().unwrap())
        .collect();
    let template = format!(
        "DKIM-Signature: v=1; a=rsa-sha256; c={c}; d=fixtures.example; s={selector};\r\n t={T}; h={};\r\n bh={bh};\r\n b=",
        names.join(":")
    );
    let mut data = Vec::new();
    for h in headers {
        data.extend_from_slice(&canonical_header(h.as_bytes(), canon));
    }
    let last = canonical_header(template.as_bytes(), canon);
    data.extend_from_slice(&last[..last.len() - 2]); // without its CRLF (§3.7)
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        &data,
        &mut sig,
    )
    .unwrap();
    format!("{template}{}", STANDARD.encode(sig))
}

fn main() {
    let key_pem = std::fs::read_to_string("testdata/dkim/keys/rsa2048.TEST-ONLY.key.pem").unwrap();
    let key = RsaKeyPair::from_pkcs8(&pem_der(&key_pem)).unwrap();
    let headers = [
        "From: Alice <alice@fixtures.example>",
        "To: Bob <bob@example.net>",
        "Subject: a 100 KB message",
        "Date: Mon, 01 Dec 2025 00:00:00 +0000",
        "Message-ID: <bench@fixtures.example>",
    ];
    let mut body = Vec::new();
    let mut i = 0;
    while body.len() < 100 * 1024 {
        body.extend_from_slice(
            format!("Line {i:05} of the benchmark body,  with  some   spaces\tand text.\r\n")
                .as_bytes(),
        );
        i += 1;
    }
    let s1 = sign(&key, &headers, &body, Canon::Relaxed, "rsa");
    let s2 = sign(&key, &headers, &body, Canon::Simple, "rsapkcs1");
    let mut raw = format!("{s2}\r\n{s1}\r\n{}\r\n\r\n", headers.join("\r\n")).into_bytes();
    raw.extend_from_slice(&body);
    let zone = std::fs::read_to_string("testdata/dkim/fixtures.zone").unwrap();
    let resolver: Arc<dyn Resolver> = Arc::new(Overlay::new(
        ZoneData::from_zone_text(&zone, None).unwrap(),
        None,
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let now = T + 3600;

    let verify_once = || {
        let msg = Message::parse(&raw).unwrap();
        let view = msg.view();
        rt.block_on(verify_message(resolver.clone(), &view, now, None))
    };
    let results = verify_once();
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(
            r.result,
            DkimAuth::Pass,
            "{}: {}",
            r.selector,
            r.detail.reason
        );
    }

    let budget = Duration::from_secs(3);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        std::hint::black_box(verify_once());
        n += 1;
    }
    let per_sec = (2 * n) as f64 / start.elapsed().as_secs_f64();

    // ring alone: RSA-2048 PKCS#1 v1.5 SHA-256 verify of a short message.
    let msg = b"the data a DKIM signature signs";
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        msg,
        &mut sig,
    )
    .unwrap();
    let public = signature::UnparsedPublicKey::new(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        key.public().as_ref().to_vec(),
    );
    let start = Instant::now();
    let mut m = 0u64;
    while start.elapsed() < budget {
        public.verify(std::hint::black_box(msg), &sig).unwrap();
        m += 1;
    }
    let raw_per_sec = m as f64 / start.elapsed().as_secs_f64();
    // Where the time goes: parsing alone, and each body canonicalization + SHA-256 alone.
    let rate = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        let mut k = 0u64;
        while start.elapsed() < Duration::from_secs(1) {
            f();
            k += 1;
        }
        k as f64 / start.elapsed().as_secs_f64()
    };
    let parse = rate(&mut || {
        std::hint::black_box(Message::parse(&raw).unwrap());
    });
    let msg_parsed = Message::parse(&raw).unwrap();
    let body_in = msg_parsed.body();
    let relaxed = rate(&mut || {
        let c = canonical_body(body_in, Canon::Relaxed);
        std::hint::black_box(ring::digest::digest(&ring::digest::SHA256, &c));
    });
    let simple = rate(&mut || {
        let c = canonical_body(body_in, Canon::Simple);
        std::hint::black_box(ring::digest::digest(&ring::digest::SHA256, &c));
    });
    let sha_only = rate(&mut || {
        std::hint::black_box(ring::digest::digest(&ring::digest::SHA256, body_in));
    });
    println!(
        "breakdown per operation (µs): Message::parse {:.0}, relaxed body canon+SHA-256 {:.0}, simple body canon+SHA-256 {:.0}, SHA-256 of the body alone {:.0}, RSA verify {:.0}",
        1e6 / parse,
        1e6 / relaxed,
        1e6 / simple,
        1e6 / sha_only,
        1e6 / raw_per_sec
    );
    println!(
        "message: {} bytes, 2 rsa-sha256 signatures (relaxed/relaxed, simple/simple), keys cached",
        raw.len()
    );
    println!("spfcheck verify_message (parse + 2 verifications): {per_sec:.0} signatures/s");
    println!(
        "ring RSA-2048 verify alone:                         {raw_per_sec:.0} verifications/s"
    );
    println!("ratio: {:.2}x the raw verify cost", raw_per_sec / per_sec);
}
