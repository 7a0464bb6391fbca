//! Benchmark (run with `cargo bench --bench dkim_verify`; not a test): how many DKIM
//! signatures per second one core verifies in a 100 KB message with two signatures, keys
//! cached, compared with the raw RSA-2048 verify rate of `ring`, the crypto crate used, and
//! where the time of one message goes.
//!
//! The messages are signed here, at start-up, with the committed TEST-ONLY key
//! (testdata/dkim/keys/rsa2048.TEST-ONLY.key.pem; signing is deterministic, no key is
//! generated): two rsa-sha256 signatures by fixtures.example with selectors `rsa` and
//! `rsapkcs1` (the same key as SubjectPublicKeyInfo and as PKCS#1). Message A has one
//! relaxed/relaxed and one simple/simple signature (two body hashes); message B has two
//! relaxed/relaxed signatures (one body hash, shared). The keys are served from
//! testdata/dkim/fixtures.zone in memory (`Overlay`, no upstream): a key "fetch" costs what a
//! cache hit costs. Each iteration parses the message (`Message::parse`) and verifies both
//! signatures (`verify_message`) on a current-thread runtime, as the CLI does. The parts are
//! then timed alone through the same public functions; what is left (signature tag parsing
//! aside: tracing, result building, header index) is the whole minus the parts.
//! Plain `std::time` timing (harness = false): no benchmark framework is needed for a rate.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{self, RsaKeyPair};

use spfcheck::dns::overlay::{Overlay, ZoneData};
use spfcheck::dns::{Answer, RType, Resolver};
use spfcheck::eval::dkim::DkimAuth;
use spfcheck::eval::dkim_verify::{
    canonical_body, canonical_header, canonicalize_body, verify_message,
};
use spfcheck::message::Message;
use spfcheck::record::dkim_key::{parse_key, rsa_components};
use spfcheck::record::dkim_sig::{Canon, parse_signature};

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

/// Microseconds per call of `f`, timed for `secs` seconds.
fn micros(secs: f64, f: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    let mut k = 0u64;
    while start.elapsed() < Duration::from_secs_f64(secs) {
        f();
        k += 1;
    }
    start.elapsed().as_secs_f64() * 1e6 / k as f64
}

/// The canonical body streamed into SHA-256, as verification does it.
fn body_hash(body: &[u8], canon: Canon) -> ring::digest::Digest {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    canonicalize_body(body, canon, &mut |piece: &[u8]| ctx.update(piece));
    ctx.finish()
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
    let message = |c1: Canon, c2: Canon| {
        let s1 = sign(&key, &headers, &body, c1, "rsa");
        let s2 = sign(&key, &headers, &body, c2, "rsapkcs1");
        let mut raw = format!("{s2}\r\n{s1}\r\n{}\r\n\r\n", headers.join("\r\n")).into_bytes();
        raw.extend_from_slice(&body);
        raw
    };
    let raw_a = message(Canon::Relaxed, Canon::Simple);
    let raw_b = message(Canon::Relaxed, Canon::Relaxed);
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

    let verify_once = |raw: &[u8]| {
        let msg = Message::parse(raw).unwrap();
        let view = msg.view();
        rt.block_on(verify_message(resolver.clone(), &view, now, None))
    };
    for raw in [&raw_a, &raw_b] {
        let results = verify_once(raw);
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
    }
    let whole_a = micros(3.0, &mut || {
        std::hint::black_box(verify_once(&raw_a));
    });
    let whole_b = micros(3.0, &mut || {
        std::hint::black_box(verify_once(&raw_b));
    });

    // ring alone: RSA-2048 PKCS#1 v1.5 SHA-256 verify of a short message.
    let short = b"the data a DKIM signature signs";
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        short,
        &mut sig,
    )
    .unwrap();
    let public = signature::UnparsedPublicKey::new(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        key.public().as_ref().to_vec(),
    );
    let raw_verify = micros(3.0, &mut || {
        public.verify(std::hint::black_box(short), &sig).unwrap();
    });

    // The parts, each through the public function verification uses.
    let parse = micros(1.0, &mut || {
        std::hint::black_box(Message::parse(&raw_a).unwrap());
    });
    let parsed = Message::parse(&raw_a).unwrap();
    let body_in = parsed.body();
    let relaxed = micros(1.0, &mut || {
        std::hint::black_box(body_hash(body_in, Canon::Relaxed));
    });
    let simple = micros(1.0, &mut || {
        std::hint::black_box(body_hash(body_in, Canon::Simple));
    });
    let sha_only = micros(1.0, &mut || {
        std::hint::black_box(ring::digest::digest(&ring::digest::SHA256, body_in));
    });
    let view = parsed.view();
    let sig_field = view.headers[1].raw;
    let sig_value =
        std::str::from_utf8(&sig_field[sig_field.iter().position(|&b| b == b':').unwrap() + 1..])
            .unwrap();
    let sig_parse = micros(0.5, &mut || {
        std::hint::black_box(parse_signature(sig_value).unwrap());
    });
    // The header hash input: the five signed fields and the signature field, relaxed (the
    // SHA-256 of these ~700 bytes is inside ring's verify below).
    let header_canon = micros(0.5, &mut || {
        let mut data = Vec::new();
        for h in &view.headers[2..] {
            data.extend_from_slice(&canonical_header(h.raw, Canon::Relaxed));
        }
        data.extend_from_slice(&canonical_header(sig_field, Canon::Relaxed));
        std::hint::black_box(data);
    });
    let fetch = micros(0.5, &mut || {
        std::hint::black_box(
            rt.block_on(resolver.query("rsa._domainkey.fixtures.example", RType::Txt)),
        );
    });
    let Answer::Records { data, .. } =
        rt.block_on(resolver.query("rsa._domainkey.fixtures.example", RType::Txt))
    else {
        panic!("the fixture key is in the zone")
    };
    let key_text = data[0].txt_joined().unwrap();
    let key_decode = micros(0.5, &mut || {
        let k = parse_key(&key_text).unwrap();
        std::hint::black_box(rsa_components(&k.public_key).unwrap());
    });
    let (n, e) = rsa_components(&parse_key(&key_text).unwrap().public_key).unwrap();
    let crypto = micros(1.0, &mut || {
        signature::RsaPublicKeyComponents { n: &n, e: &e }
            .verify(
                &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                std::hint::black_box(short),
                &sig,
            )
            .unwrap();
    });

    let per_sig = sig_parse + header_canon + fetch + key_decode + crypto;
    let parts_a = parse + relaxed + simple + 2.0 * per_sig;
    let parts_b = parse + relaxed + 2.0 * per_sig;
    println!(
        "messages: {} bytes, 2 rsa-sha256 signatures each, keys cached; A: relaxed/relaxed + simple/simple, B: relaxed/relaxed twice",
        raw_a.len()
    );
    println!("per operation (µs):");
    println!("  Message::parse (borrowed, CRLF)              {parse:8.1}");
    println!("  body canonicalize+SHA-256 relaxed            {relaxed:8.1}");
    println!("  body canonicalize+SHA-256 simple             {simple:8.1}");
    println!("  SHA-256 of the body alone (ring)             {sha_only:8.1}");
    println!("  DKIM-Signature tag parse                     {sig_parse:8.1}");
    println!("  header canonicalization (6 fields)           {header_canon:8.1}");
    println!("  key fetch (memory overlay, block_on)         {fetch:8.1}");
    println!("  key decode (parse_key + rsa_components)      {key_decode:8.1}");
    println!("  RSA-2048 verify as verify_message calls it   {crypto:8.1}");
    println!("  ring RSA-2048 verify alone (baseline)        {raw_verify:8.1}");
    for (name, whole, parts) in [("A", whole_a, parts_a), ("B", whole_b, parts_b)] {
        println!(
            "message {name}: {whole:.1} µs per message = {:.1} µs per signature ({:.0} signatures/s); parts {parts:.1} µs, rest (trace, results, header index) {:.1} µs; {:.2}x the raw verify cost per signature",
            whole / 2.0,
            2e6 / whole,
            whole - parts,
            whole / 2.0 / raw_verify
        );
    }
    println!(
        "ring RSA-2048 verify alone: {:.0} verifications/s",
        1e6 / raw_verify
    );
}
