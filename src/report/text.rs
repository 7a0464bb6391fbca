//! Human-readable output: the verdict block first (SPF, DKIM, DMARC, disposition, one reason
//! each), then each evaluation's summary and trace tree, then the headers the receiver would
//! write. Color comes from the `colored` crate, whose global
//! switch the CLI sets (`--color`, `NO_COLOR`, terminal detection); piped output stays
//! readable because nothing depends on color alone.

use std::fmt::Write;

use colored::{ColoredString, Colorize};

use crate::eval::dkim::DkimAuth;
use crate::eval::dmarc::{Disposition, DmarcResult};
use crate::eval::spf::{Limits, SpfResult};
use crate::eval::trace::{Event, Node};
use crate::verdict::Outcome;

use super::{Report, SpfReport, auth_results, received_spf};

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

/// The whole report: verdict block, SPF section, DMARC section, headers.
pub fn render(report: &Report<'_>) -> String {
    let mut s = verdict_block(report);
    s.push('\n');
    s.push_str(&spf_section(&report.spf()));
    s.push('\n');
    s.push_str(&dmarc_section(report));
    s.push('\n');
    let _ = writeln!(s, "{}", auth_results::render(report));
    let _ = writeln!(s, "{}", received_spf::render(&report.spf()));
    s
}

fn dmarc_word(r: DmarcResult) -> ColoredString {
    let w = r.as_str();
    match r {
        DmarcResult::Pass => w.green().bold(),
        DmarcResult::Fail => w.red().bold(),
        DmarcResult::None => w.normal().bold(),
        DmarcResult::TempError | DmarcResult::PermError => w.magenta().bold(),
    }
}

fn dkim_word(r: DkimAuth) -> ColoredString {
    let w = r.as_str();
    match r {
        DkimAuth::Pass => w.green().bold(),
        DkimAuth::Fail => w.red().bold(),
        DkimAuth::None => w.normal().bold(),
        DkimAuth::TempError | DkimAuth::PermError => w.magenta().bold(),
    }
}

/// The short verdict block: disposition, then one line per method.
pub fn verdict_block(report: &Report<'_>) -> String {
    let v = report.verdict;
    let req = report.request;
    let mut s = String::new();
    let dis = v.disposition.as_str().to_uppercase();
    let dis = match v.disposition {
        Disposition::None => dis.green().bold(),
        Disposition::Quarantine => dis.yellow().bold(),
        Disposition::Reject => dis.red().bold(),
    };
    let outcome = match v.outcome {
        Outcome::Authenticated => "authenticated".green(),
        Outcome::NotAuthenticated => "not authenticated".red(),
        Outcome::PermError => "permerror: the published policy is broken".magenta(),
        Outcome::TempError => "temperror: DNS failure".magenta(),
    };
    let _ = writeln!(s, "{} {dis} ({outcome})", "Verdict:".bold());
    let _ = writeln!(s, "  {}", v.reason);
    let spf_req = &req.spf;
    let ip = spf_req.ip.to_canonical();
    let spf_why = match (&v.spf.result, &v.spf.mechanism, &v.spf.problem) {
        (SpfResult::Pass, Some(m), _) => {
            format!("{ip} is authorised by {} ({m} matched)", spf_req.domain)
        }
        (SpfResult::Fail | SpfResult::SoftFail, Some(m), _) => {
            format!("{ip} is not authorised by {} ({m} matched)", spf_req.domain)
        }
        (SpfResult::Neutral, _, _) => {
            format!("{ip} is neither permitted nor denied by {}", spf_req.domain)
        }
        (_, _, Some(p)) => p.clone(),
        (r, _, _) => format!("{r} for {}", spf_req.domain),
    };
    let _ = writeln!(s, "  SPF    {:<10} {spf_why}", result_word(v.spf.result));
    if v.dkim.is_empty() {
        let _ = writeln!(s, "  DKIM   {:<10} no signature", dkim_word(DkimAuth::None));
    }
    for d in &v.dkim {
        let sel = d
            .selector
            .as_ref()
            .map(|x| format!(" (s={x})"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  DKIM   {:<10} d={}{sel} [{}]",
            dkim_word(d.result),
            d.domain,
            d.source
        );
    }
    let dm = &v.dmarc;
    let dmarc_why = match dm.result {
        DmarcResult::Pass | DmarcResult::Fail => {
            let spf_a = if dm.spf_aligned {
                "aligned"
            } else {
                "not aligned"
            };
            let dkim_a = if dm.dkim_aligned {
                "aligned"
            } else {
                "not aligned"
            };
            format!(
                "SPF {spf_a}, DKIM {dkim_a}; policy {} from _dmarc.{}",
                dm.applied_policy
                    .or(dm.policy)
                    .map(|p| format!("{}={p}", dm.policy_source.as_deref().unwrap_or("p")))
                    .unwrap_or_default(),
                dm.domain.as_deref().unwrap_or("")
            )
        }
        _ => dm.problem.clone().unwrap_or_default(),
    };
    let _ = writeln!(s, "  DMARC  {:<10} {dmarc_why}", dmarc_word(dm.result));
    s
}

/// The DMARC summary and trace.
pub fn dmarc_section(report: &Report<'_>) -> String {
    let dm = &report.verdict.dmarc;
    let limits = &report.request.spf.limits;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "DMARC {} for {} ({})",
        dmarc_word(dm.result),
        report.request.from_domain.bold(),
        dm.mode
    );
    if let Some(d) = &dm.domain {
        let _ = writeln!(s, "  policy domain: _dmarc.{d}");
    }
    if let Some(r) = &dm.record {
        let _ = writeln!(s, "  record:        {r}");
    }
    if let Some(o) = &dm.org_domain {
        let _ = writeln!(s, "  org. domain:   {o}");
    }
    for c in &dm.alignment {
        let mark = if c.aligned {
            "aligned".green()
        } else {
            "not aligned".red()
        };
        let _ = writeln!(
            s,
            "  {:<5} {mark} ({}): {}",
            c.identifier.to_uppercase(),
            c.mode,
            c.why
        );
    }
    if let Some(p) = &dm.problem {
        let _ = writeln!(s, "  problem:       {}", p.as_str().magenta());
    }
    let _ = writeln!(s, "  disposition:   {}", dm.disposition);
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", "DMARC trace".bold().underline());
    render_node(&dm.trace, limits, "", "", &mut s);
    s
}

/// The SPF summary and trace.
pub fn spf_section(report: &SpfReport<'_>) -> String {
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
    let _ = writeln!(s, "{}", "SPF trace".bold().underline());
    render_node(&out.trace, limits, "", "", &mut s);
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
            detail,
            records,
            cached,
        } => {
            let mut answer = if records.is_empty() {
                let o = outcome.as_str();
                if outcome.is_failure() {
                    o.red().bold().to_string()
                } else {
                    o.yellow().to_string()
                }
            } else {
                records.join(", ")
            };
            if let Some(d) = detail {
                answer.push_str(&format!(" ({d})"));
            }
            if *cached {
                answer.push_str(&" [cached]".dimmed().to_string());
            }
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
        Event::Step { title } => title.bold().to_string(),
        Event::Diagnostic {
            tag,
            severity,
            message,
        } => {
            let label = format!("{severity} {tag}:");
            let label = if severity == "error" {
                label.red().bold()
            } else {
                label.yellow()
            };
            format!("{label} {message}")
        }
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
