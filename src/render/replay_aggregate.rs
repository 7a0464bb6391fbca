//! The aggregate-report replay (`spfcheck replay REPORT...`) rendered: a text table, one row
//! per distinct source, most messages first — source IP and PTR name, messages, what the
//! reporter saw (SPF / DKIM / disposition), the verdict now, under the proposal, and a marker
//! when a sender would be rejected — and the JSON document
//! `{"schema":1,"replay":{"kind":"aggregate","reported":{...},"sources":[...]}}`, each source
//! carrying the single-check document (`now`, `proposed`). Every text from a report or from DNS
//! goes through `escape` before it reaches a terminal.

use serde_json::{Value, json};

use super::CheckView;
use super::escape::{clip_to, json_safe, terminal_safe};
use super::json::{SCHEMA, check_value};
use crate::replay::aggregate::{AggregateReplay, LoadedReport, Ptr, Side, SourceReplay};

/// The longest text shown in a table cell (characters; longer is clipped, with its size).
const MAX_CELL: usize = 60;

/// What the renderers take.
#[derive(Debug, Clone, Copy)]
pub struct AggregateView<'a> {
    pub reports: &'a [LoadedReport],
    pub replay: &'a AggregateReplay,
}

fn side_value(side: &Side) -> Value {
    check_value(&CheckView {
        request: &side.request,
        verdict: &side.verdict,
    })
}

fn report_value(l: &LoadedReport) -> Value {
    let r = &l.report;
    let m = &r.metadata;
    let p = &r.policy;
    json!({
        "file": l.name,
        "containers": l.containers.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "member": l.member,
        "version": r.version,
        "metadata": {
            "org_name": m.org_name,
            "email": m.email,
            "extra_contact_info": m.extra_contact_info,
            "report_id": m.report_id,
            "date_range": {"begin": m.date_begin, "end": m.date_end},
            "errors": m.errors,
            "generator": m.generator,
        },
        "policy_published": {
            "domain": p.domain,
            "adkim": p.adkim,
            "aspf": p.aspf,
            "p": p.p,
            "sp": p.sp,
            "np": p.np,
            "pct": p.pct,
            "testing": p.testing,
            "discovery_method": p.discovery_method,
            "fo": p.fo,
        },
        "records": r.records.len(),
        "invalid_records": r.invalid.len(),
    })
}

fn source_value(s: &SourceReplay) -> Value {
    json!({
        "ip": s.ip.to_canonical().to_string(),
        "ptr": s.ptr,
        "header_from": s.header_from,
        "envelope_from": s.envelope_from,
        "mail_from_domain": s.mail_from_domain,
        "mail_from_source": s.mail_from_source,
        "count": s.count,
        "rows": s.rows,
        "reported": s.reported,
        "now": side_value(&s.now),
        "proposed": s.proposed.as_ref().map(side_value),
        "rejected_now": s.now.rejected(),
        "rejected_proposed": s.proposed.as_ref().map(Side::rejected),
        "newly_rejected": s.newly_rejected(),
        "loses_authentication": s.loses_authentication(),
    })
}

/// The JSON document (pretty, terminal-safe).
pub fn render_json(v: &AggregateView<'_>) -> String {
    let r = v.replay;
    let doc = json!({
        "schema": SCHEMA,
        "replay": {
            "kind": "aggregate",
            "reported": {
                "reports": v.reports.iter().map(report_value).collect::<Vec<_>>(),
                "invalid": r.invalid,
            },
            "summary": {
                "sources": r.sources.len(),
                "messages": r.messages,
                "proposed": r.proposed_given,
                "newly_rejected": r.sources.iter().filter(|s| s.newly_rejected()).count(),
                "loses_authentication": r.sources.iter().filter(|s| s.loses_authentication()).count(),
                "invalid_rows": r.invalid.len(),
            },
            "sources": r.sources.iter().map(source_value).collect::<Vec<_>>(),
        }
    });
    // Serializing a `Value` cannot fail (string keys only).
    json_safe(serde_json::to_string_pretty(&doc).unwrap_or_default())
}

/// A cell: clipped and terminal-safe.
fn cell(s: &str) -> String {
    terminal_safe(&clip_to(s, MAX_CELL)).into_owned()
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

fn ptr_text(p: &Ptr) -> String {
    match p {
        Ptr::Names { names } => names.join(","),
        Ptr::NoName => "no PTR name".to_string(),
        Ptr::DnsFailure { error } => format!("PTR lookup failed: {error}"),
    }
}

fn side_text(side: &Side) -> String {
    let v = &side.verdict;
    format!(
        "spf {} dmarc {} -> {}",
        v.spf.result, v.dmarc.result, v.disposition
    )
}

/// The text table.
pub fn render_text(v: &AggregateView<'_>) -> String {
    let r = v.replay;
    let mut out = String::new();
    let records: usize = v.reports.iter().map(|l| l.report.records.len()).sum();
    out.push_str(&format!(
        "Aggregate reports: {} file(s), {} record row(s) ({} invalid), {} distinct source(s), {} message(s)\n",
        v.reports.len(),
        records + r.invalid.len(),
        r.invalid.len(),
        r.sources.len(),
        r.messages
    ));
    for (i, l) in v.reports.iter().enumerate() {
        let m = &l.report.metadata;
        let p = &l.report.policy;
        out.push_str(&format!(
            "  report {}: {} — {} <{}>, id {}, {}..{}; published for {}: p={} sp={} pct={}\n",
            i + 1,
            cell(&l.name),
            cell(&m.org_name),
            cell(&m.email),
            cell(&m.report_id),
            m.date_begin.map_or("-".to_string(), |d| d.to_string()),
            m.date_end.map_or("-".to_string(), |d| d.to_string()),
            cell(&p.domain),
            cell(opt(&p.p)),
            cell(opt(&p.sp)),
            p.pct.map_or("-".to_string(), |x| x.to_string()),
        ));
    }
    out.push('\n');
    let proposed = r.proposed_given;
    let mut header = vec![
        "SOURCE (PTR)",
        "FROM / MAIL FROM",
        "MESSAGES",
        "REPORTED spf/dkim -> disposition",
        "NOW",
    ];
    if proposed {
        header.push("UNDER PROPOSAL");
    }
    header.push("");
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for s in &r.sources {
        let rep = s.reported.first();
        let reported = match rep {
            Some(x) => format!(
                "{}/{} -> {}{}",
                opt(&x.spf),
                opt(&x.dkim),
                opt(&x.disposition),
                if s.reported.len() > 1 {
                    format!(" (+{} other)", s.reported.len() - 1)
                } else {
                    String::new()
                }
            ),
            None => "-".to_string(),
        };
        let assumed = match s.mail_from_source {
            crate::replay::aggregate::MailFromSource::EnvelopeFrom => "",
            crate::replay::aggregate::MailFromSource::SpfAuthResult => " (from SPF result)",
            crate::replay::aggregate::MailFromSource::HeaderFrom => " (assumed)",
        };
        let mut marker = Vec::new();
        if s.newly_rejected() {
            marker.push("WOULD BE REJECTED");
        } else if s.now.rejected() && !proposed {
            marker.push("rejected");
        }
        if s.loses_authentication() {
            marker.push("loses authentication");
        }
        let mut row = vec![
            format!("{} ({})", s.ip.to_canonical(), cell(&ptr_text(&s.ptr))),
            format!(
                "{} / {}{}",
                cell(&s.header_from),
                cell(&s.mail_from_domain),
                assumed
            ),
            s.count.to_string(),
            cell(&reported),
            side_text(&s.now),
        ];
        if proposed {
            row.push(s.proposed.as_ref().map_or("-".to_string(), side_text));
        }
        row.push(marker.join(", "));
        rows.push(row);
    }
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|row| row.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (c, text) in row.iter().enumerate() {
            let w = widths.get(c).copied().unwrap_or(0);
            if c == 2 {
                line.push_str(&format!("{text:>w$}  "));
            } else {
                line.push_str(&format!("{text:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if !r.invalid.is_empty() {
        out.push_str("\nInvalid record rows (not replayed):\n");
        for bad in &r.invalid {
            let name = v
                .reports
                .get(bad.report)
                .map_or(String::new(), |l| cell(&l.name));
            out.push_str(&format!(
                "  {name}: record {} (line {}): {}\n",
                bad.record.index,
                bad.record.line,
                cell(&bad.record.reason)
            ));
        }
    }
    let newly = r.sources.iter().filter(|s| s.newly_rejected()).count();
    if proposed {
        out.push_str(&format!(
            "\n{newly} source(s) would be rejected under the proposal and are not now.\n"
        ));
    }
    out
}
