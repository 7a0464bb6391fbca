//! Both openspf suites through the BUILT BINARY, as a user would run them: each scenario's
//! zonedata written as a zone file, each test one `spfcheck --offline --zone FILE --mail-from
//! ... --helo ... --json` process (TIMEOUT entries as `--fault NAME/TYPE=timeout`), its JSON
//! `spf.result` and `spf.explanation` compared like `spf_suite` compares the library's (same
//! loader, same DIFFERENCES.tsv). So the command line cannot drift from the library.

use std::path::{Path, PathBuf};

use serde_json::Value;
use spfcheck::dns::{RData, RType, Record};
use spfcheck::eval::spf::SpfResult;

use crate::common::run_spfcheck;
use crate::spf_suite::{Outcome, check_suite, load_suite, scenario_records};

/// Processes run at once (the machine is small; each run is short).
const THREADS: usize = 4;

/// A name in zone-file presentation form: bytes other than letters, digits, `-`, `_` and the
/// label-separating dots written as `\DDD` (RFC 1035 §5.1), absolute.
fn zone_name(name: &str) -> String {
    let mut out = String::new();
    for b in name.trim_end_matches('.').bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\{b:03}"));
        }
    }
    out.push('.');
    out
}

fn character_string(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

/// One record as a zone-file line.
fn zone_line(r: &Record) -> String {
    let rdata = match &r.data {
        RData::A(a) => format!("A {a}"),
        RData::Aaaa(a) => format!("AAAA {a}"),
        RData::Mx {
            preference,
            exchange,
        } => format!("MX {preference} {}", zone_name(exchange)),
        RData::Ptr(n) => format!("PTR {}", zone_name(n)),
        RData::Cname(n) => format!("CNAME {}", zone_name(n)),
        // A TXT record holds at least one character-string (RFC 1035 §3.3.14); the suite's
        // empty list is the same text as one empty string.
        RData::Txt(parts) if parts.is_empty() => "TXT \"\"".to_string(),
        RData::Txt(parts) => {
            let strings: Vec<String> = parts.iter().map(|p| character_string(p)).collect();
            format!("TXT {}", strings.join(" "))
        }
        RData::Other { rtype, rdata } => format!("{rtype} {rdata}"),
    };
    format!("{} {} IN {rdata}\n", zone_name(&r.name), r.ttl)
}

/// Writes each scenario's zone file; returns (file, fault flags) per scenario.
fn write_zones(
    dir: &Path,
    zonedata: &[&std::collections::BTreeMap<String, Vec<serde_yaml_ng::Value>>],
) -> Vec<(PathBuf, Vec<String>)> {
    zonedata
        .iter()
        .enumerate()
        .map(|(i, z)| {
            let (records, timeouts) = scenario_records(z);
            let text: String = records.iter().map(zone_line).collect();
            let path = dir.join(format!("scenario{i}.zone"));
            std::fs::write(&path, text).expect("write zone file");
            let faults = timeouts
                .iter()
                .map(|(name, t): &(String, RType)| {
                    format!("--fault={}/{t}=timeout", name.trim_end_matches('.'))
                })
                .collect();
            (path, faults)
        })
        .collect()
}

fn run_suite_bin(file: &str, suite: &str, expected: usize) {
    let scenarios = load_suite(file);
    let dir =
        std::env::temp_dir().join(format!("spfcheck-suite-bin-{suite}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let zonedata: Vec<_> = scenarios.iter().map(|s| &s.zonedata).collect();
    let zones = write_zones(&dir, &zonedata);
    check_suite(&scenarios, suite, expected, THREADS, &|i, case| {
        let (zone, faults) = &zones[i];
        let mut args: Vec<String> = vec![
            "--offline".into(),
            "--zone".into(),
            zone.display().to_string(),
            format!("--mail-from={}", case.mailfrom),
            format!("--helo={}", case.helo),
            "--default-explanation=DEFAULT".into(),
            "--receiver=receiver.example".into(),
            "--json".into(),
        ];
        args.extend(faults.iter().cloned());
        // The header From domain (DMARC) plays no part in these tests.
        args.extend(["--".into(), "from.invalid".into(), case.host.clone()]);
        let ran = run_spfcheck(&args);
        let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
        let doc: Value = serde_json::from_slice(&ran.stdout).unwrap_or(Value::Null);
        let spf = &doc["spf"];
        // A run that printed no JSON fails on its result (no SPF result is "" ).
        let result = spf["result"]
            .as_str()
            .and_then(SpfResult::from_name)
            .unwrap_or_else(|| {
                panic!(
                    "{suite}: no JSON result for {args:?}: exit {}, {stderr}",
                    ran.code
                )
            });
        Outcome {
            result,
            explanation: spf["explanation"].as_str().map(str::to_string),
            detail: format!(
                "exit {}; problem {}; mechanism {}; args {args:?}; stderr {stderr}",
                ran.code, spf["problem"], spf["mechanism"]
            ),
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rfc7208_suite_through_the_binary() {
    run_suite_bin("rfc7208-tests.yml", "rfc7208", 203);
}

#[test]
fn rfc4408_suite_through_the_binary() {
    run_suite_bin("rfc4408-tests.yml", "rfc4408", 191);
}

#[test]
fn zone_names_are_written_escaped() {
    assert_eq!(
        zone_name("macro%percent  space%20url-space.example.com"),
        "macro\\037percent\\032\\032space\\03720url-space.example.com."
    );
    assert_eq!(character_string(b"a\"b\\\x01"), "\"a\\\"b\\\\\\001\"");
}
