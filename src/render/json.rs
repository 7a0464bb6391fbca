//! The stable JSON document (`--json`), schema 1:
//! `{"schema": 1, "spf": {...}, "dkim": [...], "dmarc": {...}, "verdict": {...},
//! "received_spf": "...", "authentication_results": "..."}`. Fields are only ever added;
//! existing ones keep their meaning. `schema/spfcheck.schema.json` describes the document;
//! the tests validate every JSON output against it.

use serde_json::{Value, json};

use super::escape::json_safe;
use super::{CheckView, SpfView, auth_results, received_spf};

/// The JSON schema version.
pub const SCHEMA: u32 = 1;

/// The `spf` object.
pub fn spf_value(report: &SpfView<'_>) -> Value {
    let req = report.request;
    let out = report.output;
    json!({
        "domain": req.domain,
        "ip": req.ip.to_canonical().to_string(),
        "mail_from": req.mail_from,
        "mail_from_assumed": req.mail_from_assumed,
        "sender": req.sender,
        "helo": req.helo,
        "result": out.result,
        "mechanism": out.mechanism,
        "explanation": out.explanation,
        "dns_lookups": out.dns_lookups,
        "void_lookups": out.void_lookups,
        "problem": out.problem.as_ref().map(|d| &d.message),
        "problem_diagnostic": out.problem,
        "trace": out.trace,
    })
}

/// The `dmarc` object.
pub fn dmarc_value(report: &CheckView<'_>) -> Value {
    let d = &report.verdict.dmarc;
    json!({
        "mode": match d.mode {
            crate::record::dmarc::DmarcMode::Rfc9989 => "rfc9989",
            crate::record::dmarc::DmarcMode::Rfc7489 => "rfc7489",
        },
        "from_domain": report.request.from_domain,
        "domain": d.domain,
        "record": d.record,
        "diagnostics": d.diagnostics,
        "org_domain": d.org_domain,
        "result": d.result,
        "policy": d.policy,
        "subdomain_policy": d.subdomain_policy,
        "nonexistent_policy": d.nonexistent_policy,
        "applied_policy": d.applied_policy,
        "policy_source": d.policy_source,
        "disposition": d.disposition,
        "spf_aligned": d.spf_aligned,
        "dkim_aligned": d.dkim_aligned,
        "alignment": d.alignment,
        "testing": d.testing,
        "sampling": d.sampling,
        "from_domain_exists": d.from_domain_exists,
        "problem": d.problem.as_ref().map(|p| &p.message),
        "problem_diagnostic": d.problem,
        "reason": d.reason,
        "trace": d.trace,
    })
}

/// The whole document.
pub fn render(report: &CheckView<'_>) -> String {
    render_with(report, Vec::new())
}

/// The whole document on one line with a top-level `line` (the input line number), as
/// `spfcheck batch --format jsonl` writes it.
pub fn render_line(report: &CheckView<'_>, line: u64) -> String {
    let doc = document(report, vec![("line", json!(line))]);
    // As in render_with, compact: no newline inside (serde_json escapes those in strings).
    json_safe(serde_json::to_string(&doc).unwrap_or_default())
}

/// The whole document with further top-level fields (`--suggest`'s).
pub fn render_with(report: &CheckView<'_>, extra: Vec<(&str, Value)>) -> String {
    let doc = document(report, extra);
    // Serializing a `Value` cannot fail (no non-string map keys, no custom Serialize).
    // serde_json escapes C0 controls; `json_safe` escapes DEL, C1 and bidi characters too, so
    // that the document is safe on a terminal.
    json_safe(serde_json::to_string_pretty(&doc).unwrap_or_default())
}

/// The single-check document as a value (what `--json` prints for one check), for documents
/// that embed checks (`replay`).
pub fn check_value(report: &CheckView<'_>) -> Value {
    document(report, Vec::new())
}

/// The document as a value, with `extra` top-level fields (also the `now` of a replay).
pub fn document(report: &CheckView<'_>, extra: Vec<(&str, Value)>) -> Value {
    let v = report.verdict;
    let mut doc = json!({
        "schema": SCHEMA,
        "spf": spf_value(&report.spf()),
        "dkim": v.dkim,
        "dmarc": dmarc_value(report),
        "verdict": {
            "from": report.request.from,
            "from_domain": report.request.from_domain,
            "outcome": v.outcome,
            "disposition": v.disposition,
            "reason": v.reason,
        },
        "received_spf": received_spf::render(&report.spf()),
        "authentication_results": auth_results::render(report),
    });
    if let Value::Object(map) = &mut doc {
        for (k, val) in extra {
            map.insert(k.to_string(), val);
        }
    }
    doc
}
