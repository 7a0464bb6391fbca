//! Human-readable output: a short summary (result, deciding term, explanation, counters,
//! problem) and then the trace as a tree. Color comes from the `colored` crate, whose global
//! switch the CLI sets (`--color`, `NO_COLOR`, terminal detection); piped output stays
//! readable because nothing depends on color alone.

use std::fmt::Write;

use colored::{ColoredString, Colorize};

use crate::eval::spf::{Limits, SpfResult};
use crate::eval::trace::{Event, Node};

use super::{SpfReport, received_spf};

/// Colors a result word by its meaning.
pub fn result_word(r: SpfResult) -> ColoredString {
    let s = r.as_str();
    match r {
        SpfResult::Pass => s.green().bold(),
        SpfResult::Fail => s.red().bold(),
        SpfResult::SoftFail => s.yellow().bold(),
        SpfResult::Neutral | SpfResult::None => s.normal().bold(),
        SpfResult::TempError | SpfResult::PermError => s.magenta().bold(),
    }
}

/// Summary, trace and Received-SPF header.
pub fn render(report: &SpfReport<'_>) -> String {
    let req = report.request;
    let out = report.output;
    let limits: &Limits = &req.limits;
    let mut s = String::new();
    let ip = req.ip.to_canonical();
    let _ = writeln!(
        s,
        "SPF {} for {} from {} (identity {} {})",
        result_word(out.result),
        ip,
        req.domain.bold(),
        if req.mail_from.is_empty() {
            "HELO"
        } else {
            "MAIL FROM"
        },
        req.sender
    );
    if let Some(m) = &out.mechanism {
        let _ = writeln!(s, "  decided by:   {}", m.bold());
    } else if matches!(out.result, SpfResult::Neutral) {
        let _ = writeln!(s, "  decided by:   no term matched (default result)");
    }
    if let Some(e) = &out.explanation {
        let _ = writeln!(s, "  explanation:  {e}");
    }
    if let Some(p) = &out.problem {
        let _ = writeln!(s, "  problem:      {}", p.as_str().magenta());
    }
    let _ = writeln!(
        s,
        "  DNS lookups:  {}/{}   void lookups: {}/{}",
        out.dns_lookups, limits.dns_terms, out.void_lookups, limits.void_lookups
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", "Trace".bold().underline());
    render_node(&out.trace, limits, "", "", &mut s);
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", received_spf::render(report));
    s
}

/// Renders one node and its children with box-drawing guides.
pub fn render_node(node: &Node, limits: &Limits, first: &str, rest: &str, s: &mut String) {
    let _ = writeln!(s, "{first}{}", line(&node.event, limits));
    let n = node.children.len();
    for (i, child) in node.children.iter().enumerate() {
        let last = i + 1 == n;
        let (f, r) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        render_node(
            child,
            limits,
            &format!("{rest}{f}"),
            &format!("{rest}{r}"),
            s,
        );
    }
}

fn line(e: &Event, limits: &Limits) -> String {
    match e {
        Event::CheckHost { domain, via } => match via {
            Some(v) => format!(
                "{} {}",
                format!("check_host({domain})").bold(),
                format!("via {v}").dimmed()
            ),
            None => format!("check_host({domain})").bold().to_string(),
        },
        Event::Query {
            name,
            rtype,
            outcome,
            records,
        } => {
            let answer = if records.is_empty() {
                let o = outcome.as_str();
                match o {
                    "NXDOMAIN" | "NODATA" => o.yellow().to_string(),
                    _ => o.red().bold().to_string(),
                }
            } else {
                records.join(", ")
            };
            format!("{} {rtype} {name} → {answer}", "DNS".cyan())
        }
        Event::Record { text } => format!("record: {}", text.bold()),
        Event::Ignored { text, reason } => format!("ignored TXT \"{text}\": {reason}")
            .dimmed()
            .to_string(),
        Event::Term {
            term,
            outcome,
            dns_lookups,
            void_lookups,
            detail,
        } => {
            let o = if outcome.starts_with("match") {
                outcome.green().bold()
            } else if outcome.contains("error") {
                outcome.magenta().bold()
            } else {
                outcome.normal()
            };
            let mut l = format!(
                "term {} → {o}  {}",
                term.bold(),
                format!(
                    "[lookups {dns_lookups}/{}, void {void_lookups}/{}]",
                    limits.dns_terms, limits.void_lookups
                )
                .dimmed()
            );
            if let Some(d) = detail {
                l.push_str(&format!(" — {d}"));
            }
            l
        }
        Event::Macro { before, after } => format!("macro {before} → {after}"),
        Event::Limit {
            limit,
            count,
            max,
            term,
        } => format!("limit {limit} exceeded: {count} > {max} at {term}")
            .red()
            .bold()
            .to_string(),
        Event::Explanation { text, source } => format!("explanation ({source}): {text}"),
        Event::Note { text } => text.dimmed().to_string(),
        Event::Result { result, reason } => {
            let word = SpfResult::from_name(result)
                .map(|r| result_word(r).to_string())
                .unwrap_or_else(|| result.clone());
            match reason {
                Some(r) => format!("result: {word} ({r})"),
                None => format!("result: {word}"),
            }
        }
    }
}
