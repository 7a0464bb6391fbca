//! The stable JSON document (`--json`), schema 1:
//! `{"schema": 1, "spf": {...}, "received_spf": "..."}`. Later capabilities add `dkim`,
//! `dmarc` and `verdict` beside `spf`; existing fields keep their meaning.

use serde_json::{Value, json};

use super::{SpfReport, received_spf};

/// The JSON schema version.
pub const SCHEMA: u32 = 1;

/// The `spf` object.
pub fn spf_value(report: &SpfReport<'_>) -> Value {
    let req = report.request;
    let out = report.output;
    json!({
        "domain": req.domain,
        "ip": req.ip.to_canonical().to_string(),
        "mail_from": req.mail_from,
        "sender": req.sender,
        "helo": req.helo,
        "result": out.result,
        "mechanism": out.mechanism,
        "explanation": out.explanation,
        "dns_lookups": out.dns_lookups,
        "void_lookups": out.void_lookups,
        "problem": out.problem,
        "trace": out.trace,
    })
}

/// The whole document for an SPF-only check.
pub fn render(report: &SpfReport<'_>) -> String {
    let doc = json!({
        "schema": SCHEMA,
        "spf": spf_value(report),
        "received_spf": received_spf::render(report),
    });
    // Serializing a `Value` cannot fail (no non-string map keys, no custom Serialize).
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
