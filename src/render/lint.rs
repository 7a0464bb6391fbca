//! Renderers for `spfcheck lint`: text grouped per domain for people, the JSON `lint`
//! document (schema 1, `schema/spfcheck.schema.json`), and SARIF 2.1.0 for code-scanning UIs
//! (a finding about a record read from a `--zone` file points at its file and line). Records
//! and names come from DNS or files: text goes through `terminal_safe`, JSON and SARIF through
//! `json_safe`.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::diag::Severity;
use crate::lint::{DomainLint, Finding, ZoneLines};
use crate::render::escape::{json_safe, terminal_safe};
use crate::render::style::Colorize;

#[derive(Serialize)]
struct Doc<'a> {
    schema: u32,
    lint: &'a [DomainLint],
}

/// The JSON document `{"schema":1,"lint":[{"domain","findings":[…]}]}`, pretty-printed.
pub fn render_json(lints: &[DomainLint]) -> String {
    let doc = Doc {
        schema: 1,
        lint: lints,
    };
    // Serializing plain structs with string keys cannot fail; an empty object if it did.
    json_safe(serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_string()))
}

fn counts(findings: &[Finding]) -> (usize, usize, usize) {
    let n = |s| findings.iter().filter(|f| f.severity() == s).count();
    (n(Severity::Error), n(Severity::Warning), n(Severity::Info))
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The text report: per domain a header with the counts, then each finding (severity, code,
/// the record's name, the sentence, the record with the position marked, the fix, the RFC
/// section and the zone file line).
pub fn render_text(lints: &[DomainLint]) -> String {
    let mut out = String::new();
    for (i, d) in lints.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let (e, w, n) = counts(&d.findings);
        let summary = if d.findings.is_empty() {
            "no findings".green().to_string()
        } else {
            format!("{}, {}, {n} info", plural(e, "error"), plural(w, "warning"))
        };
        out.push_str(&format!(
            "{} {}: {summary}\n",
            "lint".bold(),
            terminal_safe(&d.domain).bold()
        ));
        for f in &d.findings {
            let sev = match f.severity() {
                Severity::Error => "error".red().bold(),
                Severity::Warning => "warning".yellow().bold(),
                Severity::Info => "info".cyan(),
            };
            out.push_str(&format!(
                "  {sev} {} {}\n",
                f.diag.code.bold(),
                terminal_safe(&f.domain).dimmed()
            ));
            out.push_str(&format!("    {}\n", terminal_safe(&f.diag.message)));
            if let Some(r) = &f.record {
                out.push_str(&format!("    record: {}\n", terminal_safe(r)));
                if let Some(p) = f.diag.position {
                    // A caret under the position (counted in characters of the shown text).
                    let col = r.get(..p).map(|s| terminal_safe(s).chars().count());
                    if let Some(col) = col {
                        out.push_str(&format!(
                            "            {}{}\n",
                            " ".repeat(col),
                            "^".yellow()
                        ));
                    }
                }
            }
            out.push_str(&format!("    fix: {}\n", terminal_safe(&f.fix).green()));
            let mut refs = Vec::new();
            if !f.diag.rfc.is_empty() {
                refs.push(f.diag.rfc.to_string());
            }
            if let (Some(file), Some(line)) = (&f.file, f.line) {
                refs.push(format!("{}:{line}", terminal_safe(file)));
            }
            if !refs.is_empty() {
                out.push_str(&format!("    {}\n", refs.join("  ").dimmed()));
            }
        }
    }
    out
}

/// The rfc-editor.org address of an RFC section: "RFC 9989 §4.10.1" →
/// `https://www.rfc-editor.org/rfc/rfc9989#section-4.10.1`, "RFC 9989 Appendix C.5.2" →
/// `…#appendix-C.5.2`; None when `rfc` names no RFC.
pub fn rfc_url(rfc: &str) -> Option<String> {
    let rest = rfc.strip_prefix("RFC ")?;
    let (num, section) = match rest.split_once(' ') {
        Some((n, s)) => (n, Some(s.trim())),
        None => (rest, None),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let base = format!("https://www.rfc-editor.org/rfc/rfc{num}");
    let anchor = match section {
        Some(s) if s.starts_with('§') => s
            .trim_start_matches('§')
            .split_whitespace()
            .next()
            .map(|n| format!("#section-{n}")),
        Some(s) if s.starts_with("Appendix ") => s
            .split_whitespace()
            .nth(1)
            .map(|n| format!("#appendix-{n}")),
        _ => None,
    };
    Some(base + anchor.as_deref().unwrap_or(""))
}

/// SARIF level of a severity.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The SARIF 2.1.0 log: one run of the tool `spfcheck`, a rule per finding code (with
/// `helpUri` to the RFC section), one result per finding. A finding about a record from a
/// `--zone` file has a `physicalLocation` at its file and line; one without a record (no
/// DMARC record, say) points at the first record of its domain in the zone files when there is
/// one (`zone`), so code-scanning UIs can show it; every result also names the DNS owner name
/// as a logical location.
pub fn render_sarif(lints: &[DomainLint], zone: &ZoneLines) -> String {
    let mut rules: Vec<Value> = Vec::new();
    let mut rule_ids: Vec<&str> = Vec::new();
    let mut results = Vec::new();
    for d in lints {
        for f in &d.findings {
            let index = match rule_ids.iter().position(|c| *c == f.diag.code) {
                Some(i) => i,
                None => {
                    rule_ids.push(f.diag.code);
                    let mut rule = Map::new();
                    rule.insert("id".into(), json!(f.diag.code));
                    rule.insert("shortDescription".into(), json!({ "text": f.diag.code }));
                    rule.insert(
                        "defaultConfiguration".into(),
                        json!({ "level": level(f.severity()) }),
                    );
                    if let Some(url) = rfc_url(f.diag.rfc) {
                        rule.insert("helpUri".into(), json!(url));
                    }
                    if !f.diag.rfc.is_empty() {
                        rule.insert("properties".into(), json!({ "rfc": f.diag.rfc }));
                    }
                    rules.push(Value::Object(rule));
                    rule_ids.len() - 1
                }
            };
            let mut text = format!("{}: {}. Fix: {}", f.domain, f.diag.message, f.fix);
            if let Some(r) = &f.record {
                text.push_str(&format!(" (record: {r})"));
            }
            let mut result = Map::new();
            result.insert("ruleId".into(), json!(f.diag.code));
            result.insert("ruleIndex".into(), json!(index));
            result.insert("level".into(), json!(level(f.severity())));
            result.insert("message".into(), json!({ "text": text }));
            let place = match (&f.file, f.line) {
                (Some(file), Some(line)) => Some((file.clone(), line)),
                _ => zone.owner_line(&d.domain),
            };
            let logical = json!([{ "name": f.domain, "kind": "resource" }]);
            let locations = match place {
                Some((file, line)) => json!([{
                    "physicalLocation": {
                        "artifactLocation": { "uri": file_uri(&file) },
                        "region": { "startLine": line.max(1) },
                    },
                    "logicalLocations": logical,
                }]),
                None => json!([{ "logicalLocations": logical }]),
            };
            result.insert("locations".into(), locations);
            results.push(Value::Object(result));
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "spfcheck",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://www.rfc-editor.org/rfc/rfc7208",
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    json_safe(serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".to_string()))
}

/// A file path as a relative URI reference (RFC 3986): '/' separators, and the characters a
/// URI cannot hold percent-encoded.
fn file_uri(path: &str) -> String {
    let mut out = String::new();
    for c in path.replace('\\', "/").chars() {
        if c.is_ascii_alphanumeric() || "-._~/!$&'()*+,;=:@".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_urls() {
        assert_eq!(
            rfc_url("RFC 7208 §4.6.4").as_deref(),
            Some("https://www.rfc-editor.org/rfc/rfc7208#section-4.6.4")
        );
        assert_eq!(
            rfc_url("RFC 9989 Appendix C.5.2").as_deref(),
            Some("https://www.rfc-editor.org/rfc/rfc9989#appendix-C.5.2")
        );
        assert_eq!(
            rfc_url("RFC 6376").as_deref(),
            Some("https://www.rfc-editor.org/rfc/rfc6376")
        );
        assert_eq!(rfc_url(""), None);
        assert_eq!(rfc_url("RFC x §1"), None);
    }

    #[test]
    fn file_uris() {
        assert_eq!(file_uri("zones/a b.zone"), "zones/a%20b.zone");
        assert_eq!(file_uri("z/ü.zone"), "z/%C3%BC.zone");
    }
}
