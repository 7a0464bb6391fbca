//! Typed diagnostics and trace events, seen through the built binary: the text renderer words
//! term outcomes from their types (not by parsing strings back), and the JSON document carries
//! each problem and record remark as a `Diagnostic` (code, severity, tag, position, rfc,
//! message) beside the unchanged schema-1 words.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::{events, run_spfcheck};

/// Writes `text` as a zone file in a fresh directory of its own.
fn zone_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spfcheck-typed-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the temp dir");
    let path = dir.join("zone");
    std::fs::write(&path, text).expect("write the zone file");
    path
}

/// Runs the binary offline over `zone` with `args` and returns (exit code, stdout).
fn run(zone: &str, name: &str, args: &[&str]) -> (i32, String) {
    let path = zone_file(name, zone);
    let mut all = vec![
        "--offline".to_string(),
        "--zone".to_string(),
        path.display().to_string(),
        "--color".to_string(),
        "never".to_string(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    let ran = run_spfcheck(&all);
    let out = String::from_utf8_lossy(&ran.stdout).into_owned();
    let _ = std::fs::remove_dir_all(path.parent().unwrap_or(&path));
    (ran.code, out)
}

fn json(zone: &str, name: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, out) = run(zone, name, &all);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("exit {code}: {e}: {out}"))
}

const SPF_ZONE: &str = "example.com. TXT \"v=spf1 ip4:198.51.100.0/24 ip4:192.0.2.0/24 -all\"\n\
                        _dmarc.example.com. TXT \"v=DMARC1; p=reject; Zz=1; adkim=x\"\n";

#[test]
fn text_trace_words_term_outcomes_from_their_types() {
    let (code, out) = run(SPF_ZONE, "text", &["example.com", "192.0.2.1"]);
    assert_eq!(code, 0, "{out}");
    let line = |term: &str| {
        out.lines()
            .find(|l| l.contains(&format!("term {term} →")))
            .unwrap_or_else(|| panic!("no term line for {term}:\n{out}"))
            .to_string()
    };
    assert!(line("ip4:198.51.100.0/24").contains("→ no match"), "{out}");
    assert!(line("ip4:192.0.2.0/24").contains("→ match → pass"), "{out}");
    // The DMARC record's remarks are typed diagnostics, rendered with severity and tag.
    assert!(out.contains("warning zz: unknown tag \"Zz\""), "{out}");
    assert!(out.contains("error adkim: adkim=x is not r or s"), "{out}");
    // The trace results are typed too: the SPF result and the DMARC result.
    assert!(out.contains("result: pass"), "{out}");

    let (code, out) = run(SPF_ZONE, "text-fail", &["example.com", "203.0.113.9"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("term -all → match → fail"), "{out}");
    assert_eq!(out.matches("→ no match").count(), 2, "{out}");
}

#[test]
fn json_spf_problem_is_a_diagnostic_with_code_and_position() {
    let zone = "example.com. TXT \"v=spf1 ip4:192.0.2.300 -all\"\n";
    let doc = json(zone, "syntax", &["example.com", "192.0.2.1"]);
    let spf = &doc["spf"];
    assert_eq!(spf["result"], "permerror");
    // The words of schema 1 stay: `problem` is still the sentence.
    let problem = spf["problem"].as_str().unwrap_or_default();
    assert!(
        problem.starts_with("syntax error in the SPF record of example.com"),
        "{spf}"
    );
    let d = &spf["problem_diagnostic"];
    assert_eq!(d["code"], "spf-syntax");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["rfc"], "RFC 7208 §4.6");
    assert_eq!(d["message"], problem);
    // The byte offset of the bad address in the record.
    let record = "v=spf1 ip4:192.0.2.300 -all";
    let at = d["position"].as_u64().unwrap_or(u64::MAX) as usize;
    assert!(
        record
            .get(at..)
            .is_some_and(|r| r.starts_with("ip4:") || r.starts_with("192")),
        "position {at} in {record:?}"
    );

    // A pass has no problem and no diagnostics.
    let doc = json(SPF_ZONE, "pass", &["example.com", "192.0.2.1"]);
    assert_eq!(doc["spf"]["problem"], Value::Null);
    assert_eq!(doc["spf"]["problem_diagnostic"], Value::Null);
    assert_eq!(doc["dmarc"]["problem_diagnostic"], Value::Null);
}

#[test]
fn json_nested_limit_problem_keeps_its_code_and_points_at_the_top_term() {
    let mut zone = String::from("example.com. TXT \"v=spf1 include:a.example.com -all\"\n");
    let terms: Vec<String> = (0..11).map(|i| format!("a:h{i}.example.com")).collect();
    zone.push_str(&format!(
        "a.example.com. TXT \"v=spf1 {} -all\"\n",
        terms.join(" ")
    ));
    for i in 0..11 {
        zone.push_str(&format!("h{i}.example.com. A 198.51.100.{i}\n"));
    }
    let doc = json(&zone, "limit", &["example.com", "192.0.2.1"]);
    let spf = &doc["spf"];
    assert_eq!(spf["result"], "permerror");
    let d = &spf["problem_diagnostic"];
    assert_eq!(d["code"], "spf-dns-lookup-limit", "{spf}");
    assert_eq!(d["rfc"], "RFC 7208 §4.6.4");
    // The path of terms, and the position of the include in the checked record.
    assert!(
        d["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("include:a.example.com: ")),
        "{d}"
    );
    assert_eq!(d["position"], 7);
}

#[test]
fn json_dmarc_diagnostics_add_code_and_rfc_to_the_schema_1_fields() {
    let doc = json(SPF_ZONE, "dmarc", &["example.com", "192.0.2.1"]);
    let diags = doc["dmarc"]["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let by_tag = |tag: &str| {
        diags
            .iter()
            .find(|d| d["tag"] == tag)
            .unwrap_or_else(|| panic!("no diagnostic for {tag}: {diags:?}"))
            .clone()
    };
    let zz = by_tag("zz");
    assert_eq!(
        (&zz["code"], &zz["severity"], &zz["rfc"]),
        (
            &Value::from("dmarc-unknown-tag"),
            &Value::from("warning"),
            &Value::from("RFC 9989 §4.7")
        )
    );
    assert!(zz["position"].is_u64() && zz["message"].is_string());
    let adkim = by_tag("adkim");
    assert_eq!(adkim["code"], "dmarc-invalid-tag");
    assert_eq!(adkim["severity"], "error");
    // The same diagnostics as trace events.
    let ev = events(&doc["dmarc"]["trace"], "diagnostic");
    assert!(
        ev.iter()
            .any(|e| e["code"] == "dmarc-unknown-tag" && e["tag"] == "zz"),
        "{ev:?}"
    );
    // Alignment checks are typed: identifier, mode and reason are words of closed sets.
    let a = &doc["dmarc"]["alignment"][0];
    assert_eq!(
        (&a["identifier"], &a["mode"], &a["result"], &a["reason"]),
        (
            &Value::from("spf"),
            &Value::from("relaxed"),
            &Value::from("pass"),
            &Value::from("same-domain")
        )
    );
    assert_eq!(a["aligned"], true);
}

#[test]
fn json_removed_tag_under_rfc9989() {
    let zone = "example.com. TXT \"v=spf1 -all\"\n\
                _dmarc.example.com. TXT \"v=DMARC1; p=none; pct=50\"\n";
    let doc = json(zone, "removed", &["example.com", "192.0.2.1"]);
    let diags = doc["dmarc"]["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        diags
            .iter()
            .any(|d| d["code"] == "dmarc-removed-tag" && d["tag"] == "pct"),
        "{diags:?}"
    );
    let doc = json(
        zone,
        "removed-7489",
        &["--dmarc", "rfc7489", "example.com", "192.0.2.1"],
    );
    let diags = doc["dmarc"]["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !diags.iter().any(|d| d["code"] == "dmarc-removed-tag"),
        "{diags:?}"
    );
}

#[test]
fn json_dmarc_problem_is_a_diagnostic() {
    // No DMARC record: none, with an info diagnostic.
    let zone = "example.com. TXT \"v=spf1 -all\"\n";
    let doc = json(zone, "no-policy", &["example.com", "192.0.2.1"]);
    let d = &doc["dmarc"]["problem_diagnostic"];
    assert_eq!(doc["dmarc"]["result"], "none");
    assert_eq!(
        (&d["code"], &d["severity"], &d["rfc"]),
        (
            &Value::from("dmarc-no-policy"),
            &Value::from("info"),
            &Value::from("RFC 9989 §4.10.1")
        )
    );
    assert_eq!(d["message"], doc["dmarc"]["problem"]);
    // An invalid p and no rua: permerror, "no DMARC processing".
    let zone = "example.com. TXT \"v=spf1 -all\"\n\
                _dmarc.example.com. TXT \"v=DMARC1; p=bogus\"\n";
    let doc = json(zone, "unusable", &["example.com", "192.0.2.1"]);
    assert_eq!(doc["dmarc"]["result"], "permerror");
    let d = &doc["dmarc"]["problem_diagnostic"];
    assert_eq!(
        (&d["code"], &d["severity"]),
        (&Value::from("dmarc-unusable-record"), &Value::from("error"))
    );
    assert_eq!(d["message"], doc["dmarc"]["problem"]);
}
