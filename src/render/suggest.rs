//! The `--suggest` output (`suggest::Suggestions`): the "Suggestions" text section printed
//! after the verdict block, and the JSON fields `alignment_problem`, `suggestions`,
//! `not_suggested` and `authorised_by` added to the check document. Pure, like every renderer.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::eval::dmarc::{Disposition, DmarcResult};
use crate::suggest::{After, Kind, Suggestions};
use crate::verdict::Outcome;

use super::escape::terminal_safe as safe;
use super::style::Colorize;

/// The proven outcome in words: "SPF pass, aligned → DMARC pass".
pub fn outcome_words(a: &After) -> String {
    let spf = format!("SPF {}", a.spf);
    let how = match a.dmarc {
        DmarcResult::None => match a.outcome {
            Outcome::Authenticated => format!("{spf} → authenticated (no DMARC policy)"),
            _ => format!("{spf} → not authenticated (no DMARC policy)"),
        },
        d if a.dkim_aligned && !a.spf_aligned => format!("DKIM pass, aligned → DMARC {d}"),
        d if a.spf_aligned => format!("{spf}, aligned → DMARC {d}"),
        d => format!("{spf}, not aligned → DMARC {d}"),
    };
    let dis = match (a.outcome, a.disposition) {
        (Outcome::Authenticated, _) => String::new(),
        (_, Disposition::None) => " (delivered)".to_string(),
        (_, d) => format!(" ({d})"),
    };
    format!("{how}{dis}")
}

/// The text section; `max_lookups` is the §4.6.4 limit in force. Empty when there is nothing
/// to say (mail that authenticates without SPF pass).
pub fn text(s: &Suggestions, max_lookups: u32) -> String {
    let mut out = String::new();
    if !s.suggestions.is_empty() || !s.not_suggested.is_empty() {
        let _ = writeln!(
            out,
            "{} (each proven by evaluating the whole verdict again with the change)",
            "Suggestions".bold().underline()
        );
    }
    if let Some(p) = &s.alignment_problem {
        let _ = writeln!(out, "  {}", safe(p).yellow());
    }
    if s.suggestions.is_empty() && !s.not_suggested.is_empty() {
        let _ = writeln!(out, "  none proven to make this mail authenticate");
    }
    for (i, g) in s.suggestions.iter().enumerate() {
        let lookups = match g.kind {
            Kind::DkimSign => String::new(),
            _ => format!(" (lookups {}/{max_lookups})", g.lookups_after),
        };
        let _ = writeln!(
            out,
            "  {}. {} → {}{lookups}",
            i + 1,
            safe(&g.change).bold(),
            outcome_words(&g.verdict_after).green()
        );
        if let Some(r) = &g.record {
            let _ = writeln!(out, "     record:    {}", safe(r));
        }
        if let Some(m) = &g.mail_from {
            let _ = writeln!(out, "     MAIL FROM: {}", safe(m));
        }
        if let Some(r) = &g.requires {
            let _ = writeln!(out, "     requires:  {}", safe(r));
        }
        for f in &g.findings {
            let _ = writeln!(
                out,
                "     lint:      {} {} ({}): {}",
                f.diag.severity,
                f.diag.code,
                safe(&f.domain),
                safe(&f.diag.message)
            );
        }
    }
    if !s.not_suggested.is_empty() {
        let _ = writeln!(out, "  not suggested:");
        for r in &s.not_suggested {
            let _ = writeln!(out, "  - {}: {}", safe(&r.change), safe(&r.reason).dimmed());
        }
    }
    if let Some(a) = &s.authorised_by {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", "Authorised by".bold().underline());
        let _ = writeln!(
            out,
            "  {} in {}'s SPF record",
            safe(&a.mechanism).bold(),
            safe(&a.domain)
        );
        if a.chain.len() > 1 {
            let path: Vec<String> = a
                .chain
                .iter()
                .map(|h| format!("{} ({})", safe(&h.term), safe(&h.domain)))
                .collect();
            let _ = writeln!(out, "  path:      {}", path.join(" → "));
        }
        if let (Some(r), Some(v), Some(top)) =
            (&a.record_without, &a.verdict_without, a.chain.first())
        {
            let _ = writeln!(
                out,
                "  without {} at {}: {}",
                safe(&top.term),
                safe(&top.domain),
                outcome_words(v)
            );
            let _ = writeln!(out, "     record:    {}", safe(r));
        }
        let _ = writeln!(
            out,
            "  if you do not recognise this sender, that term is what authorises it"
        );
    }
    out
}

/// The JSON fields added to the check document.
pub fn json_fields(s: &Suggestions) -> Vec<(&'static str, Value)> {
    vec![
        ("alignment_problem", json!(s.alignment_problem)),
        ("suggestions", json!(s.suggestions)),
        ("not_suggested", json!(s.not_suggested)),
        ("authorised_by", json!(s.authorised_by)),
    ]
}
