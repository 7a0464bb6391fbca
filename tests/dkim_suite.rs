//! The Mail::DKIM verifier corpus (testdata/dkim/mail-dkim/, 62 DKIM messages), run through
//! the library with the keys of FAKE_DNS.dat served through the same zone-overlay and fault
//! layers that `--zone --offline` and `--fault` use. A message whose expected result differs
//! from ours because RFC 8301 or RFC 6376 says so is listed, with the section, in
//! testdata/dkim/DIFFERENCES.tsv and our listed result is asserted instead. The DomainKeys
//! messages are listed in testdata/dkim/mail-dkim-SKIPPED.tsv and skipped with that reason.
//! Nothing is skipped silently.

use std::collections::BTreeMap;
use std::sync::Arc;

use spfcheck::dns::fault::{FaultKind, Faults};
use spfcheck::dns::overlay::{Overlay, ZoneData};
use spfcheck::dns::{RData, RType, Resolver};
use spfcheck::eval::dkim::DkimAuth;
use spfcheck::eval::dkim_verify::{Header, MessageView, Verification, verify_message};

pub const DIR: &str = "testdata/dkim/mail-dkim";

/// A fixed "now" after every t= of the corpus and after ignore_7's x= (2007), so the run is
/// reproducible.
pub const SUITE_NOW: u64 = 1_700_000_000;

/// A tiny RFC 5322 splitter for tests: header fields (continuation lines start with WSP),
/// then the body after the first empty line.
pub fn split_message(msg: &[u8]) -> MessageView<'_> {
    let (head, body) = match msg.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => (&msg[..i + 2], &msg[i + 4..]),
        None => (msg, &msg[msg.len()..]),
    };
    let mut headers = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < head.len() {
        if head[i] == b'\r' && head[i + 1] == b'\n' {
            let next = head.get(i + 2).copied();
            if !matches!(next, Some(b' ') | Some(b'\t')) {
                let raw = &head[start..i];
                let name_end = raw.iter().position(|&b| b == b':').unwrap_or(raw.len());
                if !raw.is_empty() {
                    headers.push(Header {
                        name: trim_end(&raw[..name_end]),
                        raw,
                    });
                }
                start = i + 2;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    MessageView { headers, body }
}

fn trim_end(b: &[u8]) -> &[u8] {
    let end = b
        .iter()
        .rposition(|&c| c != b' ' && c != b'\t')
        .map_or(0, |p| p + 1);
    &b[..end]
}

/// FAKE_DNS.dat as zone data plus faults: `NXDOMAIN`, `~~Query timed out~~` and
/// `~~SERVFAIL~~` become the fault layer's answers, everything else one TXT record.
fn suite_dns() -> Arc<dyn Resolver> {
    let text = std::fs::read_to_string(format!("{DIR}/FAKE_DNS.dat")).unwrap();
    let mut zone = ZoneData::new();
    let mut faults_list = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rdata) = line.split_once(char::is_whitespace).unwrap();
        let rdata = rdata.trim();
        match rdata {
            "NXDOMAIN" => faults_list.push((name.to_string(), FaultKind::NxDomain)),
            "~~Query timed out~~" => faults_list.push((name.to_string(), FaultKind::Timeout)),
            "~~SERVFAIL~~" => faults_list.push((name.to_string(), FaultKind::ServFail)),
            _ => {
                let txt = rdata.trim_matches('"');
                zone.add(name, 300, RData::Txt(vec![txt.as_bytes().to_vec()]));
            }
        }
    }
    let mut faults = Faults::new(Arc::new(Overlay::new(zone, None)));
    for (name, kind) in faults_list {
        faults.add(&name, Some(RType::Txt), kind);
    }
    Arc::new(faults)
}

/// Mail::DKIM's word for a message: pass if any signature passes, else fail if any fails,
/// else invalid (RFC 8601 neutral, policy, permerror, temperror); none without signatures.
fn message_word(v: &[Verification]) -> &'static str {
    if v.iter().any(|v| v.result == DkimAuth::Pass) {
        "pass"
    } else if v.iter().any(|v| v.result == DkimAuth::Fail) {
        "fail"
    } else if v.is_empty() {
        "none"
    } else {
        "invalid"
    }
}

pub fn tsv(path: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn mail_dkim_corpus() {
    let dns = suite_dns();
    let expected = tsv(&format!("{DIR}/EXPECTED.derived.tsv"));
    let skipped: BTreeMap<String, String> = tsv("testdata/dkim/mail-dkim-SKIPPED.tsv")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    // file -> (Mail::DKIM's result, ours, RFC section, why)
    let diffs: BTreeMap<String, (String, String, String)> = tsv("testdata/dkim/DIFFERENCES.tsv")
        .into_iter()
        .map(|r| (r[0].clone(), (r[1].clone(), r[2].clone(), r[3].clone())))
        .collect();
    assert_eq!(skipped.len(), 17, "the DomainKeys messages");
    let mut run = 0;
    let mut agree = 0;
    let mut differ = 0;
    let mut failures = Vec::new();
    let mut used_diffs = Vec::new();
    for row in &expected {
        let (file, want) = (&row[0], row[1].as_str());
        let raw = std::fs::read(format!("{DIR}/corpus/{file}")).unwrap();
        // Bare LF → CRLF, as a receiving MTA delivers it (bad_1878954.txt is LF-only).
        let raw = spfcheck::message::crlf(&raw);
        let msg = split_message(&raw);
        let has_sig = msg
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(b"DKIM-Signature"));
        if let Some(reason) = skipped.get(file) {
            assert!(
                !has_sig,
                "{file} is listed as skipped ({reason}) but has a DKIM-Signature"
            );
            continue;
        }
        run += 1;
        let v = verify_message(dns.clone(), &msg, SUITE_NOW, None).await;
        let got = message_word(&v);
        let detail = v
            .iter()
            .map(|v| {
                format!(
                    "{} d={} s={} a={}: {}",
                    v.result, v.domain, v.selector, v.detail.algorithm, v.detail.reason
                )
            })
            .collect::<Vec<_>>()
            .join(" | ");
        let target = match diffs.get(file) {
            Some((listed_theirs, ours, section)) => {
                assert_eq!(
                    listed_theirs, want,
                    "{file}: DIFFERENCES.tsv misquotes Mail::DKIM"
                );
                assert!(
                    !section.is_empty(),
                    "{file}: a difference needs its RFC section"
                );
                used_diffs.push(file.clone());
                differ += 1;
                ours.as_str()
            }
            None => {
                agree += 1;
                want
            }
        };
        // Where only RFC 8301 (rsa-sha1, short key) separates us from a Mail::DKIM pass, the
        // body hash we computed must still match: the canonicalization agrees.
        if want == "pass" && target != want && diffs[file].2.starts_with("RFC 8301") {
            assert!(
                v.iter().any(|v| v.detail.body_hash_ok == Some(true)),
                "{file}: no signature's body hash matches: {detail}"
            );
        }
        if got != target {
            failures.push(format!("{file}: expected {target}, got {got}: {detail}"));
        }
        eprintln!("{file}\t{want}\t{got}\t{detail}");
    }
    assert_eq!(run, 62, "the corpus has 62 DKIM messages");
    assert_eq!(
        used_diffs.len(),
        diffs.len(),
        "every DIFFERENCES.tsv entry must be a corpus message"
    );
    assert!(
        failures.is_empty(),
        "{} of {run} wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "mail-dkim: {run} DKIM messages run ({agree} as Mail::DKIM, {differ} listed differences), {} DomainKeys skipped",
        skipped.len()
    );
}
