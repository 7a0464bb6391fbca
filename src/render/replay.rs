//! `spfcheck replay` output: the text report (inputs and where each came from, the relay
//! path, a side-by-side table of what the receiver reported and what spfcheck finds now, the
//! claims, a one-line conclusion, then the verdict block of the check) and the JSON document
//! `{"schema":1,"replay":{...}}` whose `now` is the single-check document.
//!
//! Everything in a report or message is hostile: every such string goes through
//! `escape::terminal_safe` in text and `escape::json_safe` in JSON.

use std::fmt::Write;

use serde_json::{Value, json};

use super::CheckView;
use super::escape::{clip_to, json_safe, terminal_safe};
use super::json::{SCHEMA, document};
use super::style::Colorize;
use super::text::verdict_block;
use crate::message::auth_results::Claim;
use crate::replay::{Agreement, Replay, path_line};

/// A replay and its evaluation.
pub struct ReplayView<'a> {
    pub replay: &'a Replay,
    pub check: CheckView<'a>,
    pub agreement: &'a [Agreement],
    pub conclusion: &'a str,
}

/// Text for the terminal: untrusted text escaped and clipped to `max` characters.
fn safe(s: &str, max: usize) -> String {
    terminal_safe(&clip_to(s, max)).into_owned()
}

fn claim_summary(c: &Claim) -> String {
    let results: Vec<String> = c
        .parsed
        .results
        .iter()
        .map(|r| format!("{}={}", r.method, r.result))
        .collect();
    let what = if results.is_empty() {
        "no result".to_string()
    } else {
        results.join(" ")
    };
    let instance = c.instance.map(|i| format!(" i={i}")).unwrap_or_default();
    format!(
        "{}{instance} claimed by {}: {}",
        c.field.as_str(),
        safe(&c.author, 255),
        safe(&what, 400)
    )
}

/// The text report.
pub fn text(v: &ReplayView<'_>) -> String {
    let r = v.replay;
    let mut s = String::new();
    match &r.report {
        Some(rep) => {
            let _ = writeln!(
                s,
                "{} failure report (ARF{}{})",
                "Replay of a".bold(),
                rep.feedback_type
                    .as_ref()
                    .map(|t| format!(", {}", safe(t, 40)))
                    .unwrap_or_default(),
                rep.user_agent
                    .as_ref()
                    .map(|u| format!(", {}", safe(u, 80)))
                    .unwrap_or_default(),
            );
            if let Some(a) = &rep.auth_failure {
                let _ = writeln!(s, "  Auth-Failure: {}", safe(a, 80));
            }
            if !rep.reported_domain.is_empty() {
                let _ = writeln!(
                    s,
                    "  Reported-Domain: {}",
                    safe(&rep.reported_domain.join(", "), 400)
                );
            }
            if let Some(d) = &rep.arrival_date {
                let _ = writeln!(s, "  Arrival-Date: {}", safe(d, 100));
            }
            if let Some(o) = &rep.original {
                let _ = writeln!(s, "  Original: attached ({})", o.0.as_str());
            }
            for m in &rep.missing {
                let _ = writeln!(s, "  missing: {}", safe(m, 200));
            }
        }
        None => {
            let _ = writeln!(s, "{} message as received", "Replay of a".bold());
        }
    }
    for n in &r.notes {
        let _ = writeln!(s, "  note: {}", safe(n, 400));
    }
    s.push('\n');
    let i = &r.inputs;
    let _ = writeln!(s, "{}", "Inputs".bold());
    let mail_from = match &i.mail_from {
        Some(m) if m.is_empty() => "<> (null sender)".to_string(),
        Some(m) => safe(m, 300),
        None => format!("{} (assumed)", safe(&v.check.request.spf.mail_from, 300)),
    };
    let helo = match &i.helo {
        Some(h) => safe(h, 300),
        None => format!("{} (assumed)", safe(&v.check.request.spf.helo, 300)),
    };
    let from = match (&i.from, &i.from_domain) {
        (Some(a), _) => safe(a, 300),
        (None, Some(d)) => safe(d, 300),
        (None, None) => "-".into(),
    };
    for (name, value, source) in [
        ("IP", i.ip.to_string(), &i.ip_source),
        ("MAIL FROM", mail_from, &i.mail_from_source),
        ("HELO", helo, &i.helo_source),
        ("From", from, &i.from_source),
    ] {
        let _ = writeln!(s, "  {name:<10} {value}  ({})", safe(source, 200));
    }
    s.push('\n');
    if !r.relay_path.is_empty() {
        let _ = writeln!(s, "{}", "Relay path (origin first)".bold());
        if let Some(line) = path_line(&r.relay_path) {
            let _ = writeln!(s, "  {}", safe(&line, 800));
        }
        let n = r.relay_path.len();
        for (k, h) in r.relay_path.iter().enumerate() {
            let ip = h.ip.map(|ip| format!(" [{ip}]")).unwrap_or_default();
            let _ = writeln!(
                s,
                "  {:>2}. from {}{ip} by {}{}",
                n - k,
                safe(h.from.as_deref().unwrap_or("?"), 255),
                safe(h.by.as_deref().unwrap_or("?"), 255),
                if h.checked { "   <- checked" } else { "" }
            );
        }
        if let Some(note) = &r.relay_note {
            let _ = writeln!(s, "  note: {}", safe(note, 600));
        }
        s.push('\n');
    }
    let reported_by = r
        .reported()
        .map(|c| format!(" (reported by {})", safe(&c.author, 255)))
        .unwrap_or_default();
    let _ = writeln!(s, "{}{reported_by}", "Reported and now".bold());
    let _ = writeln!(
        s,
        "  {:<10} {:<10} {:<10} {:<7} why",
        "method", "reported", "now", "agree"
    );
    for a in v.agreement {
        let agree = match a.agree {
            Some(true) => "agree".green(),
            Some(false) => "DIFFER".red().bold(),
            None => "-".normal(),
        };
        let _ = writeln!(
            s,
            "  {:<10} {:<10} {:<10} {:<7} {}",
            safe(&a.method, 40),
            safe(a.reported.as_deref().unwrap_or("-"), 40),
            a.now.as_deref().unwrap_or("-"),
            agree,
            safe(&a.why, 400)
        );
    }
    s.push('\n');
    if !r.claims.is_empty() {
        let _ = writeln!(s, "{}", "Claims (shown, never used as input)".bold());
        for c in &r.claims {
            let _ = writeln!(s, "  {}", claim_summary(c));
        }
        s.push('\n');
    }
    let _ = writeln!(s, "{} {}", "Conclusion:".bold(), safe(v.conclusion, 1000));
    s.push('\n');
    s.push_str(&verdict_block(&v.check));
    s
}

fn claim_value(c: &Claim) -> Value {
    json!({
        "field": c.field.as_str(),
        "author": c.author,
        "instance": c.instance,
        "raw": c.raw,
        "results": c.parsed.results.iter().map(|m| json!({
            "method": m.method,
            "version": m.version,
            "result": m.result,
            "reason": m.reason,
            "properties": m.properties.iter().map(|p| json!({
                "ptype": p.ptype, "property": p.property, "value": p.value
            })).collect::<Vec<_>>(),
            "comments": m.comments,
        })).collect::<Vec<_>>(),
        "unparsed": c.parsed.unparsed,
    })
}

/// The JSON document.
pub fn json(v: &ReplayView<'_>) -> String {
    let r = v.replay;
    let reported = match &r.report {
        Some(rep) => json!({
            "feedback_type": rep.feedback_type,
            "version": rep.version,
            "user_agent": rep.user_agent,
            "source_ip": rep.source_ip,
            "original_mail_from": rep.original_mail_from,
            "original_rcpt_to": rep.original_rcpt_to,
            "original_envelope_id": rep.original_envelope_id,
            "reported_domain": rep.reported_domain,
            "reported_uri": rep.reported_uri,
            "auth_failure": rep.auth_failure,
            "authentication_results": rep.authentication_results,
            "dkim_domain": rep.dkim_domain,
            "dkim_selector": rep.dkim_selector,
            "dkim_identity": rep.dkim_identity,
            "dkim_canonicalized_header": rep.dkim_canonicalized_header,
            "dkim_canonicalized_body": rep.dkim_canonicalized_body,
            "spf_dns": rep.spf_dns,
            "arrival_date": rep.arrival_date,
            "reporting_mta": rep.reporting_mta,
            "incidents": rep.incidents,
            "delivery_result": rep.delivery_result,
            "identity_alignment": rep.identity_alignment,
            "original": rep.original.as_ref().map(|o| o.0.as_str()),
            "missing": rep.missing,
            "notes": rep.notes,
            "claims": r.claims.iter().map(claim_value).collect::<Vec<_>>(),
        }),
        None => json!({
            "claims": r.claims.iter().map(claim_value).collect::<Vec<_>>(),
        }),
    };
    let i = &r.inputs;
    let req = v.check.request;
    let doc = json!({
        "schema": SCHEMA,
        "replay": {
            "kind": r.kind.as_str(),
            "reported": reported,
            "inputs": {
                "ip": i.ip.to_string(),
                "mail_from": req.spf.mail_from,
                "helo": req.spf.helo,
                "from_domain": req.from_domain,
                "from": req.from,
                "sources": {
                    "ip": i.ip_source,
                    "mail_from": i.mail_from_source,
                    "helo": i.helo_source,
                    "from_domain": i.from_source,
                },
            },
            "relay_path": r.relay_path.iter().map(|h| json!({
                "by": h.by,
                "from": h.from,
                "ip": h.ip.map(|ip| ip.to_string()),
                "checked": h.checked,
                "rdns": h.rdns,
                "with": h.with,
                "id": h.id,
                "date": h.date,
            })).collect::<Vec<_>>(),
            "relay_note": r.relay_note,
            "now": document(&v.check, Vec::new()),
            "agreement": v.agreement.iter().map(|a| json!({
                "method": a.method,
                "reported": a.reported,
                "now": a.now,
                "agree": a.agree,
                "why": a.why,
            })).collect::<Vec<_>>(),
            "conclusion": v.conclusion,
            "notes": r.notes,
        }
    });
    // Serializing a `Value` cannot fail (string keys only).
    json_safe(serde_json::to_string_pretty(&doc).unwrap_or_default())
}
