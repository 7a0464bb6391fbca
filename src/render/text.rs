//! Human-readable output: the verdict block first (SPF, DKIM, DMARC, disposition, one reason
//! each), then each evaluation's summary and trace tree, then the headers the receiver would
//! write. Color comes from `render::style`, which the CLI switches on for the rendering
//! (`--color`, `NO_COLOR`, terminal detection); piped output stays readable because nothing
//! depends on color alone.
//!
//! Every string that came from DNS, a zone file or an argument is written through `safe`
//! (`escape::terminal_safe`) before it is colored: no control, C1 or bidi character reaches the
//! terminal, whatever `--color` says.

use std::borrow::Cow;
use std::fmt::Write;

use crate::diag::Severity;
use crate::eval::dkim::DkimAuth;
use crate::eval::dmarc::{Disposition, DmarcResult};
use crate::eval::spf::{Limits, SpfResult};
use crate::eval::trace::{EvalResult, Event, Node, TermOutcome};
use crate::verdict::Outcome;

use super::escape::terminal_safe;
use super::style::{ColoredString, Colorize};
use super::{CheckView, SpfView, auth_results, received_spf};

/// Untrusted text as the terminal may see it (the one escaping rule, `escape::terminal_safe`).
fn safe(s: &str) -> Cow<'_, str> {
    terminal_safe(s)
}

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
pub fn render(report: &CheckView<'_>) -> String {
    render_with(report, "")
}

/// The whole report with `after_verdict` (a section such as `--suggest`'s, ending in a newline;
/// empty: none) between the verdict block and the SPF section.
pub fn render_with(report: &CheckView<'_>, after_verdict: &str) -> String {
    let mut s = verdict_block(report);
    s.push('\n');
    if !after_verdict.is_empty() {
        s.push_str(after_verdict);
        s.push('\n');
    }
    s.push_str(&spf_section(&report.spf()));
    s.push('\n');
    if let Some(d) = dkim_sections(report) {
        s.push_str(&d);
        s.push('\n');
    }
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
        DkimAuth::None | DkimAuth::Neutral | DkimAuth::Policy => w.normal().bold(),
        DkimAuth::TempError | DkimAuth::PermError => w.magenta().bold(),
    }
}

/// The short verdict block: disposition, then one line per method.
pub fn verdict_block(report: &CheckView<'_>) -> String {
    let v = report.verdict;
    let req = report.request;
    let mut s = String::new();
    // "NONE" would read as a result: say what the receiver does with the message.
    // A DNS failure decided nothing: receivers usually defer such mail with a 4xx reply and
    // retry (RFC 7208 §8.6; RFC 9989 §5.3.6 leaves it to them), so say that, not DELIVER.
    let defer = v.outcome == Outcome::TempError && v.disposition == Disposition::None;
    let dis = match v.disposition {
        _ if defer => "DEFER".to_string(),
        Disposition::None => "DELIVER".to_string(),
        d => d.as_str().to_uppercase(),
    };
    let dis = match v.disposition {
        _ if defer => dis.magenta().bold(),
        Disposition::None => dis.green().bold(),
        Disposition::Quarantine => dis.yellow().bold(),
        Disposition::Reject => dis.red().bold(),
    };
    let outcome = match v.outcome {
        Outcome::Authenticated => "authenticated".green(),
        Outcome::NotAuthenticated => "not authenticated".red(),
        Outcome::PermError => "permerror: the published policy is broken".magenta(),
        Outcome::TempError => {
            "temperror: a DNS failure prevented a result; receivers usually answer 4xx and retry"
                .magenta()
        }
    };
    let _ = writeln!(s, "{} {dis} ({outcome})", "Verdict:".bold());
    let _ = writeln!(s, "  {}", safe(&v.reason));
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
        (_, _, Some(p)) => p.message.clone(),
        (r, _, _) => format!("{r} for {}", spf_req.domain),
    };
    let _ = writeln!(
        s,
        "  SPF    {:<10} {}",
        result_word(v.spf.result),
        safe(&spf_why)
    );
    if v.dkim.is_empty() {
        let _ = writeln!(s, "  DKIM   {:<10} no signature", dkim_word(DkimAuth::None));
    }
    for d in &v.dkim {
        let sel = d
            .selector
            .as_ref()
            .map(|x| format!(" (s={})", safe(x)))
            .unwrap_or_default();
        let why = d
            .signature
            .as_ref()
            .map(|x| format!(": {}", safe(&x.reason)))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  DKIM   {:<10} d={}{sel} [{}]{why}",
            dkim_word(d.result),
            safe(&d.domain),
            safe(&d.source)
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
        _ => dm
            .problem
            .as_ref()
            .map(|p| p.message.clone())
            .unwrap_or_default(),
    };
    let _ = writeln!(
        s,
        "  DMARC  {:<10} {}",
        dmarc_word(dm.result),
        safe(&dmarc_why)
    );
    s
}

/// One section per verified DKIM-Signature (`--message`), in message order: result and reason,
/// algorithm, canonicalization, key size, body hash, and the trace (key query and answer,
/// signed header names, computed vs claimed body hash). None when no signature was verified.
pub fn dkim_sections(report: &CheckView<'_>) -> Option<String> {
    let limits = &report.request.spf.limits;
    let mut s = String::new();
    let verified = report
        .verdict
        .dkim
        .iter()
        .filter_map(|d| d.signature.as_ref().map(|sig| (d, sig)));
    for (i, (d, sig)) in verified.enumerate() {
        if i > 0 {
            s.push('\n');
        }
        let _ = writeln!(
            s,
            "DKIM {} signature {} d={} s={}",
            dkim_word(d.result),
            i + 1,
            safe(&d.domain).bold(),
            safe(d.selector.as_deref().unwrap_or("?"))
        );
        let _ = writeln!(s, "  reason:           {}", safe(&sig.reason));
        let _ = writeln!(
            s,
            "  algorithm:        {} ({})",
            safe(&sig.algorithm),
            safe(&sig.canonicalization)
        );
        if let Some(i) = &sig.identity {
            let _ = writeln!(s, "  identity (i=):    {}", safe(i));
        }
        let bits = sig
            .key_bits
            .map_or_else(|| "no key".to_string(), |b| format!("{b} bits"));
        let _ = writeln!(s, "  key:              {bits}");
        let bh = match sig.body_hash_ok {
            Some(true) => "matches bh=",
            Some(false) => "does NOT match bh=",
            None => "not computed",
        };
        let _ = writeln!(s, "  body hash:        {bh}");
        let _ = writeln!(s, "  b= (first 8):     {}", safe(&sig.header_b));
        render_node(&sig.trace, limits, "  ", "  ", &mut s);
    }
    (!s.is_empty()).then_some(s)
}

/// The DMARC summary and trace.
pub fn dmarc_section(report: &CheckView<'_>) -> String {
    let dm = &report.verdict.dmarc;
    let limits = &report.request.spf.limits;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "DMARC {} for {} ({})",
        dmarc_word(dm.result),
        safe(&report.request.from_domain).bold(),
        dm.mode
    );
    if let Some(d) = &dm.domain {
        let _ = writeln!(s, "  policy domain: _dmarc.{}", safe(d));
    }
    if let Some(r) = &dm.record {
        let _ = writeln!(s, "  record:        {}", safe(r));
    }
    if let Some(o) = &dm.org_domain {
        let _ = writeln!(s, "  org. domain:   {}", safe(o));
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
            c.identifier.label(),
            c.mode,
            safe(&c.why)
        );
    }
    if let Some(p) = &dm.problem {
        let _ = writeln!(s, "  problem:       {}", safe(&p.message).magenta());
    }
    let _ = writeln!(s, "  disposition:   {}", dm.disposition);
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", "DMARC trace".bold().underline());
    render_node(&dm.trace, limits, "", "", &mut s);
    s
}

/// The SPF summary and trace.
pub fn spf_section(report: &SpfView<'_>) -> String {
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
        safe(&req.domain).bold(),
        if req.mail_from.is_empty() {
            "HELO"
        } else {
            "MAIL FROM"
        },
        safe(&req.sender)
    );
    if req.mail_from_assumed {
        let _ = writeln!(
            s,
            "  MAIL FROM:    {} (assumed: no --mail-from given)",
            safe(&req.mail_from)
        );
    }
    if let Some(m) = &out.mechanism {
        let _ = writeln!(s, "  decided by:   {}", safe(m).bold());
    } else if matches!(out.result, SpfResult::Neutral) {
        let _ = writeln!(s, "  decided by:   no term matched (default result)");
    }
    if let Some(e) = &out.explanation {
        let _ = writeln!(s, "  explanation:  {}", safe(e));
    }
    if let Some(p) = &out.problem {
        let _ = writeln!(s, "  problem:      {}", safe(&p.message).magenta());
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

/// A term's outcome in words, colored: a match green, an error magenta.
fn term_outcome(o: TermOutcome) -> ColoredString {
    match o {
        TermOutcome::Match(r) => format!("match → {r}").green().bold(),
        TermOutcome::NoMatch => "no match".normal(),
        TermOutcome::TempError => "temperror".magenta().bold(),
        TermOutcome::PermError => "permerror".magenta().bold(),
        TermOutcome::Redirect(r @ (SpfResult::TempError | SpfResult::PermError)) => {
            format!("→ {r}").magenta().bold()
        }
        TermOutcome::Redirect(r) => format!("→ {r}").normal(),
    }
}

fn line(e: &Event, limits: &Limits) -> String {
    match e {
        Event::CheckHost { domain, via } => {
            let domain = safe(domain);
            match via {
                Some(v) => format!(
                    "{} {}",
                    format!("check_host({domain})").bold(),
                    format!("via {}", safe(v)).dimmed()
                ),
                None => format!("check_host({domain})").bold().to_string(),
            }
        }
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
                safe(&records.join(", ")).into_owned()
            };
            if let Some(d) = detail {
                answer.push_str(&format!(" ({})", safe(d)));
            }
            if *cached {
                answer.push_str(&" [cached]".dimmed().to_string());
            }
            format!("{} {rtype} {} → {answer}", "DNS".cyan(), safe(name))
        }
        Event::Record { text } => format!("record: {}", safe(text).bold()),
        Event::Ignored { text, reason } => {
            format!("ignored TXT \"{}\": {}", safe(text), safe(reason))
                .dimmed()
                .to_string()
        }
        Event::Term {
            term,
            outcome,
            dns_lookups,
            void_lookups,
            detail,
        } => {
            let o = term_outcome(*outcome);
            let mut l = format!(
                "term {} → {o}  {}",
                safe(term).bold(),
                format!(
                    "[lookups {dns_lookups}/{}, void {void_lookups}/{}]",
                    limits.dns_terms, limits.void_lookups
                )
                .dimmed()
            );
            if let Some(d) = detail {
                l.push_str(&format!(" — {}", safe(d)));
            }
            l
        }
        Event::Macro { before, after } => {
            format!("macro {} → {}", safe(before), safe(after))
        }
        Event::Limit {
            limit,
            count,
            max,
            term,
        } => format!(
            "limit {} exceeded: {count} > {max} at {}",
            safe(limit),
            safe(term)
        )
        .red()
        .bold()
        .to_string(),
        Event::Explanation { text, source } => {
            format!("explanation ({}): {}", safe(source), safe(text))
        }
        Event::Note { text } => safe(text).dimmed().to_string(),
        Event::Step { title } => safe(title).bold().to_string(),
        Event::Diagnostic(d) => {
            let label = format!("{} {}:", d.severity, safe(&d.tag));
            let label = match d.severity {
                Severity::Error => label.red().bold(),
                Severity::Warning => label.yellow(),
                Severity::Info => label.normal(),
            };
            format!("{label} {}", safe(&d.message))
        }
        Event::Result { result, reason } => {
            let word = match *result {
                EvalResult::Spf(r) => result_word(r),
                EvalResult::Dmarc(r) => dmarc_word(r),
            };
            match reason {
                Some(r) => format!("result: {word} ({})", safe(r)),
                None => format!("result: {word}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostic;
    use crate::eval::dmarc::DmarcResult;

    fn term(text: &str, outcome: TermOutcome) -> Event {
        Event::Term {
            term: text.to_string(),
            outcome,
            dns_lookups: 0,
            void_lookups: 0,
            detail: None,
        }
    }

    /// The words come from the types: each outcome, diagnostic and result renders as it should
    /// with color off (`style` colors only inside `with_color(true, ..)`).
    #[test]
    fn typed_events_render_as_words() {
        let limits = Limits::default();
        let mut root = Node::new(Event::CheckHost {
            domain: "a.example".into(),
            via: None,
        });
        root.push(term("ip4:192.0.2.0/24", TermOutcome::NoMatch));
        root.push(term("mx", TermOutcome::TempError));
        root.push(term(
            "redirect=b.example",
            TermOutcome::Redirect(SpfResult::Fail),
        ));
        root.push(term("~all", TermOutcome::Match(SpfResult::SoftFail)));
        root.push(Event::Diagnostic(
            Diagnostic::new(
                "dmarc-unknown-tag",
                Severity::Warning,
                "RFC 9989 §4.7",
                "ignored",
            )
            .with_tag("zz")
            .at(3),
        ));
        root.push(Event::Result {
            result: SpfResult::SoftFail.into(),
            reason: None,
        });
        root.push(Event::Result {
            result: DmarcResult::PermError.into(),
            reason: Some("why".into()),
        });
        let mut s = String::new();
        render_node(&root, &limits, "", "", &mut s);
        for want in [
            "term ip4:192.0.2.0/24 → no match  [lookups 0/10, void 0/2]",
            "term mx → temperror",
            "term redirect=b.example → → fail",
            "term ~all → match → softfail",
            "warning zz: ignored",
            "result: softfail",
            "result: permerror (why)",
        ] {
            assert!(s.contains(want), "{want:?} not in:\n{s}");
        }
    }
}
