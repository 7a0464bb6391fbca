//! The Mail::DKIM corpus through the built binary, as a user would run it: FAKE_DNS.dat written
//! as a zone file (its NXDOMAIN / timeout / SERVFAIL entries as `--fault` flags), each message
//! given with `--message FILE --zone ZONE --offline --now …`, and the `dkim` entries of the JSON
//! output compared with the expectations the library run (`dkim_suite`) checks, including the
//! listed differences and skips. The tool and the library cannot drift apart.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::run_spfcheck;
use crate::dkim_suite::{DIR, SUITE_NOW, tsv};

/// Corpus messages with no header From: the binary does not evaluate them (exit 2, one line),
/// because DMARC needs exactly one From domain (RFC 9989 §4.10, §5.3.1); the library run
/// (`dkim_suite`) verifies their signatures. Asserted, not skipped.
const NO_FROM: &[&str] = &["bad_1878954.txt"];

/// A zone-file TXT value: quoted strings of at most 255 octets (RFC 1035 §3.3.14), with `"` and
/// `\` escaped.
fn txt_rdata(text: &str) -> String {
    if text.is_empty() {
        return "\"\"".to_string();
    }
    text.as_bytes()
        .chunks(255)
        .map(|chunk| {
            let mut q = String::from("\"");
            for &b in chunk {
                match b {
                    b'"' | b'\\' => {
                        q.push('\\');
                        q.push(b as char);
                    }
                    0x20..=0x7e => q.push(b as char),
                    _ => q.push_str(&format!("\\{b:03}")),
                }
            }
            q.push('"');
            q
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// FAKE_DNS.dat as a zone file and `--fault` flags.
fn zone_and_faults(dir: &std::path::Path) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(format!("{DIR}/FAKE_DNS.dat")).unwrap();
    let mut zone = String::from("$TTL 300\n");
    let mut faults = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rdata) = line.split_once(char::is_whitespace).unwrap();
        match rdata.trim() {
            "NXDOMAIN" => faults.push(format!("{name}/TXT=nxdomain")),
            "~~Query timed out~~" => faults.push(format!("{name}/TXT=timeout")),
            "~~SERVFAIL~~" => faults.push(format!("{name}/TXT=servfail")),
            other => {
                let txt = other.trim_matches('"');
                zone.push_str(&format!("{name}. IN TXT {}\n", txt_rdata(txt)));
            }
        }
    }
    let path = dir.join("fake_dns.zone");
    std::fs::write(&path, zone).unwrap();
    (path.to_str().unwrap().to_string(), faults)
}

/// Mail::DKIM's word for the message, from the binary's verified entries (as in `dkim_suite`).
fn message_word(entries: &[&Value]) -> &'static str {
    let has = |w: &str| entries.iter().any(|e| e["result"] == w);
    if has("pass") {
        "pass"
    } else if has("fail") {
        "fail"
    } else if entries.is_empty() {
        "none"
    } else {
        "invalid"
    }
}

#[test]
fn mail_dkim_corpus_through_the_binary() {
    let dir = std::env::temp_dir().join(format!("spfcheck-dkim-suite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (zone, faults) = zone_and_faults(&dir);
    let skipped: BTreeMap<String, String> = tsv("testdata/dkim/mail-dkim-SKIPPED.tsv")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let diffs: BTreeMap<String, String> = tsv("testdata/dkim/DIFFERENCES.tsv")
        .into_iter()
        .map(|r| (r[0].clone(), r[2].clone()))
        .collect();
    let now = SUITE_NOW.to_string();
    let mut run = 0;
    let mut failures = Vec::new();
    for row in tsv(&format!("{DIR}/EXPECTED.derived.tsv")) {
        let (file, want) = (&row[0], row[1].as_str());
        if skipped.contains_key(file) {
            continue;
        }
        run += 1;
        let target = diffs.get(file).map_or(want, String::as_str);
        let message = format!("{DIR}/corpus/{file}");
        let mut args: Vec<&str> = vec![
            "--json",
            "--offline",
            "--zone",
            &zone,
            "--now",
            &now,
            "--message",
            &message,
        ];
        for f in &faults {
            args.push("--fault");
            args.push(f);
        }
        args.push("192.0.2.1");
        let ran = run_spfcheck(&args);
        if NO_FROM.contains(&file.as_str()) {
            let err = String::from_utf8_lossy(&ran.stderr);
            if ran.code != 2 || !err.contains("no From header field") {
                failures.push(format!(
                    "{file}: expected exit 2 (no From), got {}: {err}",
                    ran.code
                ));
            }
            continue;
        }
        let doc: Value = match serde_json::from_slice(&ran.stdout) {
            Ok(d) => d,
            Err(_) => {
                failures.push(format!(
                    "{file}: exit {} with no JSON: {}",
                    ran.code,
                    String::from_utf8_lossy(&ran.stderr).trim()
                ));
                continue;
            }
        };
        let entries: Vec<&Value> = doc["dkim"]
            .as_array()
            .map(|a| a.iter().filter(|e| e["source"] == "message").collect())
            .unwrap_or_default();
        let got = message_word(&entries);
        if got != target {
            failures.push(format!("{file}: expected {target}, got {got}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(run, 62, "the corpus has 62 DKIM messages");
    assert!(
        failures.is_empty(),
        "{} of {run} differ from the library run's expectations:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
