//! Renderers for the dry run (`spfcheck diff`): text for people and the JSON `diff` document
//! (schema 1, `schema/spfcheck.schema.json`). Sender labels, domains, terms, records and
//! finding texts are untrusted (senders file, zone files, DNS): text output passes them through
//! `terminal_safe` (and clips them), JSON through `json_safe`.

use serde::Serialize;

use crate::diff::{Diff, SenderDiff, SideResult};
use crate::eval::spf::SpfResult;
use crate::lint::Finding;
use crate::render::escape::{clip_to, json_safe, terminal_safe};
use crate::render::style::Colorize;

/// The comparison and where each side's records came from.
pub struct DiffView<'a> {
    pub diff: &'a Diff,
    /// "live DNS", or the zone files (over live DNS unless offline).
    pub before: &'a str,
    pub after: &'a str,
    /// `--fault` rules that no query matched on either side.
    pub unused_faults: &'a [String],
}

#[derive(Serialize)]
struct Summary {
    senders: usize,
    changed: usize,
    loses_authentication: usize,
    not_compared: usize,
}

#[derive(Serialize)]
struct DiffDoc<'a> {
    before: &'a str,
    after: &'a str,
    summary: Summary,
    senders: &'a [SenderDiff],
    findings_introduced: &'a [Finding],
    findings_fixed: &'a [Finding],
}

#[derive(Serialize)]
struct Doc<'a> {
    schema: u32,
    diff: DiffDoc<'a>,
    unused_faults: &'a [String],
}

fn summary(d: &Diff) -> Summary {
    Summary {
        senders: d.senders.len(),
        changed: d.senders.iter().filter(|s| s.changed).count(),
        loses_authentication: d.senders.iter().filter(|s| s.loses_authentication).count(),
        not_compared: d.senders.iter().filter(|s| s.dns_failed()).count(),
    }
}

/// The JSON document, pretty-printed, escaped for terminals.
pub fn render_json(v: &DiffView<'_>) -> String {
    let doc = Doc {
        schema: 1,
        diff: DiffDoc {
            before: v.before,
            after: v.after,
            summary: summary(v.diff),
            senders: &v.diff.senders,
            findings_introduced: &v.diff.findings_introduced,
            findings_fixed: &v.diff.findings_fixed,
        },
        unused_faults: v.unused_faults,
    };
    // Serializing plain structs with string keys cannot fail; an empty object if it did.
    json_safe(serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_string()))
}

/// Untrusted text for one line of output: escaped and clipped.
fn safe(s: &str, max: usize) -> String {
    terminal_safe(&clip_to(s, max)).into_owned()
}

/// One side's SPF result with the term responsible: `pass via include:…`, `neutral by
/// default (no term matched)`, `none (no SPF record)`, `temperror (why)`.
fn spf_side(s: &SideResult) -> String {
    match (&s.spf_term, s.spf) {
        (Some(t), r) => format!("{r} via {}", safe(t, 200)),
        (None, SpfResult::None) => "none (no SPF record)".to_string(),
        (None, SpfResult::Neutral) => "neutral by default (no term matched)".to_string(),
        (None, r) => match &s.problem {
            Some(p) => format!("{r} ({})", safe(p, 200)),
            None => r.to_string(),
        },
    }
}

/// The sender as a line starts: `IP (label)`, with its domains when they differ.
fn who(s: &SenderDiff) -> String {
    let mut out = s.sender.ip.to_string();
    if let Some(l) = &s.sender.label {
        out.push_str(&format!(" ({})", safe(l, 100)));
    }
    if s.sender.mail_from_domain != s.sender.from_domain {
        out.push_str(&format!(
            " [MAIL FROM {}, From {}]",
            safe(&s.sender.mail_from_domain, 253),
            safe(&s.sender.from_domain, 253)
        ));
    } else {
        out.push_str(&format!(" [{}]", safe(&s.sender.from_domain, 253)));
    }
    out
}

fn sender_text(s: &SenderDiff) -> String {
    let (b, a) = (&s.before, &s.after);
    let mut out = format!("{}: ", who(s));
    if b.spf != a.spf || b.spf_term != a.spf_term {
        out.push_str(&format!("SPF {} → {}", spf_side(b), spf_side(a)));
    } else {
        out.push_str(&format!("SPF {} (unchanged)", spf_side(b)));
    }
    if let Some(why) = &s.because {
        out.push_str(&format!(" ({})", safe(why, 600)));
    }
    out.push('\n');
    let mut rest = Vec::new();
    if b.dmarc != a.dmarc {
        rest.push(format!("DMARC {} → {}", b.dmarc, a.dmarc));
    }
    if b.disposition != a.disposition {
        rest.push(format!("disposition {} → {}", b.disposition, a.disposition));
    }
    let outcome = |o| match o {
        crate::verdict::Outcome::Authenticated => "authenticated",
        crate::verdict::Outcome::NotAuthenticated => "not authenticated",
        crate::verdict::Outcome::PermError => "permerror",
        crate::verdict::Outcome::TempError => "temperror",
    };
    if b.outcome != a.outcome {
        rest.push(format!("{} → {}", outcome(b.outcome), outcome(a.outcome)));
    }
    let tag = if s.dns_failed() {
        Some("DNS failure: not compared".yellow().to_string())
    } else if s.loses_authentication {
        Some("LOSES AUTHENTICATION".red().to_string())
    } else if a.outcome == crate::verdict::Outcome::Authenticated
        && b.outcome != crate::verdict::Outcome::Authenticated
    {
        Some("gains authentication".green().to_string())
    } else {
        None
    };
    if !rest.is_empty() || tag.is_some() {
        out.push_str("    ");
        out.push_str(&rest.join("; "));
        if let Some(t) = tag {
            if !rest.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&t);
        }
        out.push('\n');
    }
    out
}

fn findings_text(title: &str, findings: &[Finding]) -> String {
    if findings.is_empty() {
        return format!("{title}: none\n");
    }
    let mut out = format!("{title} ({}):\n", findings.len());
    for f in findings {
        out.push_str(&format!(
            "  {} {} {}: {}\n",
            f.severity(),
            f.diag.code,
            safe(&f.domain, 253),
            safe(&f.diag.message, 400)
        ));
        if !f.fix.is_empty() {
            out.push_str(&format!("      fix: {}\n", safe(&f.fix, 400)));
        }
    }
    out
}

/// The text report: the changed senders one by one, the unchanged ones in one line, then the
/// lint findings introduced and fixed.
pub fn render_text(v: &DiffView<'_>) -> String {
    let d = v.diff;
    let sum = summary(d);
    let mut out = format!(
        "spfcheck diff: before = {}, after = {}\n\n",
        safe(v.before, 400),
        safe(v.after, 400)
    );
    for s in d.senders.iter().filter(|s| s.changed || s.dns_failed()) {
        out.push_str(&sender_text(s));
    }
    let unchanged = d
        .senders
        .iter()
        .filter(|s| !s.changed && !s.dns_failed())
        .count();
    out.push_str(&format!(
        "{} of {} sender{} unchanged; {} changed, {} lose{} authentication{}\n\n",
        unchanged,
        sum.senders,
        if sum.senders == 1 { "" } else { "s" },
        sum.changed,
        sum.loses_authentication,
        if sum.loses_authentication == 1 {
            "s"
        } else {
            ""
        },
        if sum.not_compared > 0 {
            format!(", {} not compared (DNS failure)", sum.not_compared)
        } else {
            String::new()
        }
    ));
    out.push_str(&findings_text(
        "Lint findings the change introduces",
        &d.findings_introduced,
    ));
    out.push_str(&findings_text(
        "Lint findings the change fixes",
        &d.findings_fixed,
    ));
    for f in v.unused_faults {
        out.push_str(&format!(
            "warning: --fault {} never fired: no query matched it\n",
            terminal_safe(f)
        ));
    }
    out
}
