//! `spfcheck lint` as a command: several domains concurrently, `--fail-on`, exit codes, input
//! errors, text output (grouped, escaped), SARIF 2.1.0 validated against the official schema
//! (vendored in `testdata/sarif/`) with the zone file line, DKIM selectors, and zone lines
//! through `$INCLUDE`. Uses DMARC/MX/DKIM findings only (SPF rules: `lint_spf`).

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use spfcheck::dns::RData;

use crate::common::{TestDns, rec, run_spfcheck, txt};
use crate::lint_dmarc::{DMARC_ZONE, MX_ZONE, lint};

const SARIF_SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/sarif/sarif-2.1.0-rtm.5.json"
);
const KEYS_ZONE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/dkim/keys.zone");

fn sarif_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text = std::fs::read_to_string(SARIF_SCHEMA).unwrap();
        let mut schema: Value = serde_json::from_str(&text).unwrap();
        // rtm.5's `language` patterns have a stray ']' ("…-[a-zA-Z]{2}]?$") that the regex
        // check of the meta-schema refuses; the file stays byte-exact, and the patterns are
        // read as the published 2.1.0 schema writes them.
        fn fix(v: &mut Value) -> usize {
            match v {
                Value::String(s) if s == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" => {
                    *s = "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$".to_string();
                    1
                }
                Value::Array(a) => a.iter_mut().map(fix).sum(),
                Value::Object(o) => o.values_mut().map(fix).sum(),
                _ => 0,
            }
        }
        assert!(fix(&mut schema) >= 1);
        jsonschema::validator_for(&schema).unwrap()
    })
}

/// Parses a SARIF log and validates it against the SARIF 2.1.0 schema.
#[track_caller]
fn valid_sarif(stdout: &[u8]) -> Value {
    let doc: Value = serde_json::from_slice(stdout).unwrap();
    let errors: Vec<String> = sarif_validator()
        .iter_errors(&doc)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "invalid SARIF:\n{}\n{doc:#}",
        errors.join("\n")
    );
    doc
}

#[test]
fn the_schema_oracle_rejects_a_broken_log() {
    // The oracle can fail: a level outside the enum and a missing version are refused.
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
        "results": [{"message": {"text": "m"}, "level": "fatal"}]}]});
    assert!(!sarif_validator().is_valid(&bad));
    assert!(!sarif_validator().is_valid(&serde_json::json!({"runs": []})));
}

#[test]
fn sarif_points_at_the_zone_line() {
    // A relative zone path (the tests run in the crate root) stays as given.
    let ran = run_spfcheck(&[
        "lint",
        "--offline",
        "--zone",
        "testdata/lint/dmarc.zone",
        "parkedweak.example",
        "norecord.example",
        "--format",
        "sarif",
    ]);
    assert_eq!(ran.code, 1, "{}", String::from_utf8_lossy(&ran.stderr));
    let doc = valid_sarif(&ran.stdout);
    let run = &doc["runs"][0];
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(run["tool"]["driver"]["name"], "spfcheck");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    let weak = results
        .iter()
        .find(|r| r["ruleId"] == "dmarc-parked-weak-policy")
        .expect("the parked-weak result");
    assert_eq!(weak["level"], "warning");
    let loc = &weak["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "testdata/lint/dmarc.zone");
    // The line of `_dmarc.parkedweak TXT …` in the zone file.
    let text = std::fs::read_to_string(DMARC_ZONE).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("_dmarc.parkedweak"))
        .unwrap()
        + 1;
    assert_eq!(loc["region"]["startLine"], line);
    // The rule of each result, with helpUri to the RFC section.
    let index = weak["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[index]["id"], "dmarc-parked-weak-policy");
    assert_eq!(
        rules[index]["helpUri"],
        "https://www.rfc-editor.org/rfc/rfc9989#section-4.7"
    );
    // No record to point at: the domain's first line in the zone, and an error level.
    let none = results
        .iter()
        .find(|r| r["ruleId"] == "dmarc-no-record")
        .unwrap();
    assert_eq!(none["level"], "error");
    let first = text
        .lines()
        .position(|l| l.starts_with("norecord "))
        .unwrap()
        + 1;
    assert_eq!(
        none["locations"][0]["physicalLocation"]["region"]["startLine"],
        first
    );
    // Every code appears once among the rules.
    let mut ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n);
}

#[test]
fn sarif_with_an_absolute_zone_path_is_relative_and_info_is_note() {
    let ran = run_spfcheck(&[
        "lint",
        "--offline",
        "--zone",
        DMARC_ZONE,
        "norua.example",
        "--format",
        "sarif",
    ]);
    let doc = valid_sarif(&ran.stdout);
    let r = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "dmarc-no-rua")
        .unwrap()
        .clone();
    assert_eq!(r["level"], "note");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "testdata/lint/dmarc.zone"
    );
    // Without --zone: no physical location, still valid.
    let dns = TestDns::start(vec![rec("live.example", txt(&["v=spf1 -all"]))]);
    let ns = dns.addr().to_string();
    let ran = run_spfcheck(&[
        "lint",
        "--nameserver",
        &ns,
        "live.example",
        "--format",
        "sarif",
    ]);
    let doc = valid_sarif(&ran.stdout);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(
        results
            .iter()
            .all(|r| r["locations"][0].get("physicalLocation").is_none())
    );
}

#[test]
fn json_has_file_and_line_and_keeps_domain_order() {
    let (ran, doc) = lint(
        DMARC_ZONE,
        &["pnone.example", "good.example", "multi.example"],
        &[],
    );
    assert_eq!(ran.code, 1);
    let lint = doc["lint"].as_array().unwrap();
    let names: Vec<&str> = lint.iter().map(|d| d["domain"].as_str().unwrap()).collect();
    assert_eq!(names, ["pnone.example", "good.example", "multi.example"]);
    let f = lint[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "dmarc-p-none")
        .unwrap();
    assert!(
        f["file"]
            .as_str()
            .unwrap()
            .ends_with("testdata/lint/dmarc.zone")
    );
    assert!(f["line"].as_u64().unwrap() > 1);
    // Errors first within a domain.
    let sev: Vec<&str> = lint[2]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    let mut sorted = sev.clone();
    sorted.sort_by_key(|s| match *s {
        "error" => 0,
        "warning" => 1,
        _ => 2,
    });
    assert_eq!(sev, sorted);
}

#[test]
fn fail_on_threshold() {
    // pnone.example has warnings only (from the DMARC rules).
    let (ran, doc) = lint(DMARC_ZONE, &["pnone.example"], &[]);
    let errors = doc["lint"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .count();
    if errors == 0 {
        assert_eq!(ran.code, 0);
    }
    let (ran, _) = lint(DMARC_ZONE, &["pnone.example"], &["--fail-on", "warning"]);
    assert_eq!(ran.code, 1);
    let (ran, _) = lint(DMARC_ZONE, &["norecord.example"], &["--fail-on", "error"]);
    assert_eq!(ran.code, 1);
}

#[test]
fn input_errors_exit_2() {
    for args in [
        vec!["lint"],
        vec!["lint", "--offline", "bad..domain"],
        vec![
            "lint",
            "--offline",
            "--zone",
            "/nonexistent/zone",
            "a.example",
        ],
        vec!["lint", "--offline", "-s", "bad selector", "a.example"],
        vec!["lint", "--offline", "--format", "xml", "a.example"],
        vec!["lint", "--offline", "--fail-on", "info", "a.example"],
        vec!["lint", "--offline", "--deadline", "0", "a.example"],
    ] {
        let ran = run_spfcheck(&args);
        assert_eq!(
            ran.code,
            2,
            "{args:?}: {}",
            String::from_utf8_lossy(&ran.stderr)
        );
        assert!(ran.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8_lossy(&ran.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("spfcheck: error: "), "{args:?}: {err}");
    }
    let ran = run_spfcheck(&["lint", "--help"]);
    assert_eq!(ran.code, 0);
    assert!(String::from_utf8_lossy(&ran.stdout).contains("--fail-on"));
}

#[test]
fn text_output_is_grouped_and_escaped() {
    let dns = TestDns::start(vec![
        rec("a.example", txt(&["v=spf1 ip4:192.0.2.1 -all"])),
        rec(
            "_dmarc.a.example",
            txt(&["v=DMARC1; p=none; rua=mailto:d@a.example; x\u{1b}[31m=1"]),
        ),
        rec("b.example", txt(&["v=spf1 ip4:192.0.2.1 -all"])),
    ]);
    let ns = dns.addr().to_string();
    let ran = run_spfcheck(&["lint", "--nameserver", &ns, "a.example", "b.example"]);
    let out = String::from_utf8(ran.stdout).unwrap();
    assert!(!out.contains('\u{1b}'), "{out}");
    let a = out.find("lint a.example:").expect("a.example header");
    let b = out.find("lint b.example:").expect("b.example header");
    assert!(a < b);
    let a_part = &out[a..b];
    assert!(a_part.contains("dmarc-p-none"), "{out}");
    assert!(a_part.contains("fix: "), "{out}");
    assert!(out[b..].contains("dmarc-no-record"), "{out}");
}

#[test]
fn domains_are_audited_concurrently() {
    // Each domain's DMARC query is never answered: audited one after another, 8 domains would
    // take 8 × (2 attempts × 0.5 s); concurrently, about one such wait.
    let mut records = Vec::new();
    let mut builder_names = Vec::new();
    for i in 0..8 {
        let d = format!("slow{i}.example");
        records.push(rec(&d, txt(&["v=spf1 -all"])));
        builder_names.push(format!("_dmarc.{d}"));
    }
    let mut b = TestDns::builder(records);
    for n in &builder_names {
        b = b.drop_queries(n);
    }
    let dns = b.start();
    let ns = dns.addr().to_string();
    let mut args: Vec<String> = ["lint", "--nameserver", &ns, "--timeout", "0.5", "--json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let domains: Vec<String> = (0..8).map(|i| format!("slow{i}.example")).collect();
    args.extend(domains.iter().cloned());
    let ran = run_spfcheck(&args);
    assert_eq!(ran.code, 4, "{}", String::from_utf8_lossy(&ran.stderr));
    assert!(
        ran.elapsed < Duration::from_secs(6),
        "8 domains took {:?}: not concurrent",
        ran.elapsed
    );
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap();
    for (i, d) in doc["lint"].as_array().unwrap().iter().enumerate() {
        assert_eq!(d["domain"], domains[i]);
        let codes: Vec<&str> = d["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        assert!(codes.contains(&"dmarc-temperror"), "{codes:?}");
    }
}

#[test]
fn dkim_selectors_become_findings() {
    let ran = run_spfcheck(&[
        "lint",
        "--offline",
        "--zone",
        KEYS_ZONE,
        "keys.example",
        "-s",
        "weak",
        "-s",
        "absent-selector",
        "--json",
    ]);
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap();
    let findings = doc["lint"][0]["findings"].as_array().unwrap();
    let weak = findings
        .iter()
        .find(|f| f["code"] == "dkim-key-rsa-weak")
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(weak["domain"], "weak._domainkey.keys.example");
    assert!(weak["file"].as_str().unwrap().ends_with("keys.zone"));
    assert!(findings.iter().any(|f| f["code"] == "dkim-key-missing"));
    // Without -s, no key is audited.
    let (_, doc) = lint(KEYS_ZONE, &["keys.example"], &[]);
    assert!(
        !doc["lint"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"].as_str().unwrap().starts_with("dkim-"))
    );
}

#[test]
fn zone_lines_through_include() {
    let dir = std::env::temp_dir().join(format!("spfcheck-lint-include-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("top.zone"),
        "$ORIGIN inc.example.\n@ TXT \"v=spf1 -all\"\n@ MX 0 .\n$INCLUDE dmarc.inc\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("dmarc.inc"),
        "; the DMARC record\n\n_dmarc TXT \"v=DMARC1; p=none; rua=mailto:d@inc.example\"\n",
    )
    .unwrap();
    let top = dir.join("top.zone");
    let (_, doc) = lint(top.to_str().unwrap(), &["inc.example"], &[]);
    let f = doc["lint"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "dmarc-p-none")
        .unwrap()
        .clone();
    assert!(f["file"].as_str().unwrap().ends_with("dmarc.inc"), "{f}");
    assert_eq!(f["line"], 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mx_zone_lines_point_at_the_mx_record() {
    let (_, doc) = lint(MX_ZONE, &["badtarget.example"], &[]);
    let f = doc["lint"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "mx-target-unresolvable")
        .unwrap()
        .clone();
    let text = std::fs::read_to_string(MX_ZONE).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("badtarget "))
        .unwrap()
        + 1;
    assert_eq!(f["line"], line);
    let _ = RData::A("192.0.2.1".parse().unwrap());
}

const README: &str = include_str!("../README.md");

/// The README's lint section: every finding line of its output sample (code, sentence, record,
/// fix, RFC and zone line) is what the binary prints for the same command, and the JSON block
/// names exactly the schema's finding fields and severity words.
#[test]
fn readme_lint_section_matches_the_binary_and_the_schema() {
    let start = README
        .find("$ spfcheck lint --offline --zone testdata/lint/dmarc.zone")
        .expect("README: the lint sample");
    let block = &README[start..];
    let block = &block[..block.find("```").unwrap()];
    let mut lines = block.lines();
    let cmd = lines.next().unwrap().trim_start_matches("$ spfcheck ");
    let args: Vec<&str> = cmd.split_whitespace().chain(["--color", "never"]).collect();
    let ran = run_spfcheck(&args);
    assert_eq!(ran.code, 1);
    let out = String::from_utf8(ran.stdout).unwrap();
    // Finding lines (not the per-domain count headers, which the SPF rules may change).
    for line in lines.filter(|l| l.starts_with("  ")) {
        assert!(
            out.lines().any(|o| o == line),
            "README line not in the output: {line:?}\n--- output ---\n{out}"
        );
    }
    // The JSON block of the section: keys of a finding and the severity words.
    let json_start = README[start..].find("```json5").unwrap() + start;
    let json_block = &README[json_start..];
    let json_block = &json_block[8..json_block[8..].find("```").unwrap() + 8];
    let schema = crate::common::schema();
    let props = schema["$defs"]["lint_finding"]["properties"]
        .as_object()
        .unwrap();
    for key in props.keys() {
        assert!(
            json_block.contains(&format!("\"{key}\":")),
            "README lint JSON lacks {key}"
        );
    }
    let words = json_block
        .lines()
        .find(|l| l.contains("\"severity\":"))
        .and_then(|l| l.split("//").nth(1))
        .unwrap()
        .trim();
    let mut documented: Vec<&str> = words.split('|').collect();
    documented.sort();
    let mut enum_words = crate::common::schema_enum("/$defs/severity/enum");
    enum_words.sort();
    assert_eq!(documented, enum_words);
}

/// The SPF rules (asserted through the library in `lint_spf`) as the user runs them: the built
/// binary over `testdata/lint/spf.zone`, with each finding's code, position and zone line.
#[test]
fn spf_findings_through_the_binary() {
    let zone = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/lint/spf.zone");
    let ran = run_spfcheck(&[
        "lint",
        "--offline",
        "--zone",
        zone,
        "--format",
        "json",
        "deep.example",
        "broad.example",
        "afterall.example",
        "ten.example",
    ]);
    assert_eq!(ran.code, 1, "{}", String::from_utf8_lossy(&ran.stderr));
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap();
    let codes = |domain: &str| -> Vec<(String, Option<u64>, Option<u64>)> {
        doc["lint"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["domain"] == domain)
            .unwrap()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"].as_str().unwrap().starts_with("spf-"))
            .map(|f| {
                (
                    f["code"].as_str().unwrap().to_string(),
                    f["position"].as_u64(),
                    f["line"].as_u64(),
                )
            })
            .collect()
    };
    // 11 lookups: the include at column 8 crosses 10; the record is on line 5.
    assert!(
        codes("deep.example").contains(&("spf-dns-lookup-limit".into(), Some(9), Some(5))),
        "{:?}",
        codes("deep.example")
    );
    assert!(
        codes("broad.example")
            .iter()
            .filter(|c| c.0 == "spf-broad-range")
            .count()
            == 3,
        "{:?}",
        codes("broad.example")
    );
    assert!(
        codes("afterall.example")
            .iter()
            .any(|c| c.0 == "spf-after-all" && c.2 == Some(115)),
        "{:?}",
        codes("afterall.example")
    );
    // Exactly 10 lookups (and exp=, which is not counted) is within the limit.
    assert!(
        !codes("ten.example")
            .iter()
            .any(|c| c.0 == "spf-dns-lookup-limit"),
        "{:?}",
        codes("ten.example")
    );
}
