//! The pre-deployment dry run (`spfcheck diff`): the same known senders evaluated under two
//! versions of the DNS records ("before" and "after", two resolver stacks that share nothing),
//! and what changes — each sender's SPF result with the term that decided it, DMARC result,
//! disposition and outcome — plus the lint findings the change introduces or fixes. Sits beside
//! `verdict` and `lint`, whose APIs it drives; the senders file format is in [`senders`].

pub mod senders;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::dns::Resolver;
use crate::eval::dmarc::{Disposition, DmarcResult};
use crate::eval::spf::{Limits, SpfRequest, SpfResult};
use crate::eval::trace::{Event, Node, TermOutcome};
use crate::lint::{self, Finding, LintOptions};
use crate::record::dmarc::DmarcMode;
use crate::verdict::{self, Outcome, Verdict, VerdictRequest};

pub use senders::{Sender, SendersError, parse_senders};

/// How many senders are evaluated at once (each evaluation runs its SPF and DMARC queries
/// concurrently too); the caches coalesce identical queries.
pub const CONCURRENCY: usize = 16;

/// What the comparison needs beyond the two resolvers.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    pub mode: DmarcMode,
    /// `%{t}` for SPF macros, the same on both sides.
    pub now: u64,
    /// The SPF limits, deadline included (per evaluation).
    pub limits: Limits,
}

/// One side of a sender's comparison: what the receiver would decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SideResult {
    pub spf: SpfResult,
    /// The term that decided the SPF result as written (`include:_spf.esp.example`, `-all`,
    /// `redirect=…`); `None` for the default result (no term matched, RFC 7208 §4.7), no
    /// record, or an error before any term.
    pub spf_term: Option<String>,
    /// The SPF record selected for the MAIL FROM domain (the first of a redirect chain).
    pub spf_record: Option<String>,
    pub dmarc: DmarcResult,
    /// The DMARC record applied, if any.
    pub dmarc_record: Option<String>,
    pub disposition: Disposition,
    pub outcome: Outcome,
    /// The SPF or DMARC problem on an error result, in one sentence.
    #[serde(skip)]
    pub problem: Option<String>,
    /// The SPF records met along the top-level redirect chain (for explanations).
    #[serde(skip)]
    records: Vec<String>,
}

impl SideResult {
    fn from_verdict(v: &Verdict) -> SideResult {
        let records = top_records(&v.spf.trace);
        let problem = match (&v.spf.problem, &v.dmarc.problem) {
            (Some(p), _) if matches!(v.spf.result, SpfResult::TempError | SpfResult::PermError) => {
                Some(p.message.clone())
            }
            (_, Some(p))
                if matches!(
                    v.dmarc.result,
                    DmarcResult::TempError | DmarcResult::PermError
                ) =>
            {
                Some(p.message.clone())
            }
            _ => None,
        };
        SideResult {
            spf: v.spf.result,
            spf_term: v.spf.mechanism.clone(),
            spf_record: records.first().cloned(),
            dmarc: v.dmarc.result,
            dmarc_record: v.dmarc.record.clone(),
            disposition: v.disposition,
            outcome: v.outcome,
            problem,
            records,
        }
    }

    /// A DNS failure prevented this side's verdict (or part of it).
    pub fn dns_failed(&self) -> bool {
        self.outcome == Outcome::TempError
            || self.spf == SpfResult::TempError
            || self.dmarc == DmarcResult::TempError
    }
}

/// The SPF records of the top-level domain and of the redirects it follows, in order.
fn top_records(trace: &Node) -> Vec<String> {
    let mut out = Vec::new();
    let mut node = Some(trace);
    // A redirect chain is bounded by the 10-lookup limit; the bound here only guards the loop.
    for _ in 0..16 {
        let Some(n) = node.take() else { break };
        for child in &n.children {
            match &child.event {
                Event::Record { text } => out.push(text.clone()),
                Event::Term {
                    outcome: TermOutcome::Redirect(_),
                    ..
                } => {
                    node = child
                        .children
                        .iter()
                        .find(|c| matches!(c.event, Event::CheckHost { .. }));
                }
                _ => {}
            }
        }
    }
    out
}

/// Whether `record` has `term` among its terms (ASCII case-insensitive, RFC 7208 §4.6.1).
fn has_term(records: &[String], term: &str) -> bool {
    records.iter().any(|r| {
        r.split_ascii_whitespace()
            .any(|t| t.eq_ignore_ascii_case(term))
    })
}

/// How strict a disposition is: none < quarantine < reject.
fn strictness(d: Disposition) -> u8 {
    match d {
        Disposition::None => 0,
        Disposition::Quarantine => 1,
        Disposition::Reject => 2,
    }
}

/// One sender under both versions.
#[derive(Debug, Clone, Serialize)]
pub struct SenderDiff {
    #[serde(flatten)]
    pub sender: Sender,
    /// The SPF result, DMARC result, disposition or outcome differs.
    pub changed: bool,
    /// Authenticated before and not after, or a stricter disposition after (the exit code 1).
    pub loses_authentication: bool,
    /// Why the SPF result changed, when the records say so: a term removed from or added to
    /// the MAIL FROM domain's record, a DMARC record changed.
    pub because: Option<String>,
    pub before: SideResult,
    pub after: SideResult,
}

impl SenderDiff {
    fn new(sender: Sender, before: SideResult, after: SideResult) -> SenderDiff {
        let changed = before.spf != after.spf
            || before.dmarc != after.dmarc
            || before.disposition != after.disposition
            || before.outcome != after.outcome;
        let loses_authentication = (before.outcome == Outcome::Authenticated
            && after.outcome != Outcome::Authenticated
            && !after.dns_failed())
            || (!before.dns_failed()
                && !after.dns_failed()
                && strictness(after.disposition) > strictness(before.disposition));
        let because = changed.then(|| explain(&sender, &before, &after)).flatten();
        SenderDiff {
            sender,
            changed,
            loses_authentication,
            because,
            before,
            after,
        }
    }

    /// A DNS failure on either side prevented the comparison.
    pub fn dns_failed(&self) -> bool {
        self.before.dns_failed() || self.after.dns_failed()
    }
}

/// Why a sender's results changed, from the two records: the term that decided before and
/// is gone after, the one that decides after and was not there before, a changed DMARC record.
fn explain(sender: &Sender, before: &SideResult, after: &SideResult) -> Option<String> {
    let domain = &sender.mail_from_domain;
    let mut parts = Vec::new();
    if before.spf_term != after.spf_term || before.spf != after.spf {
        match (&before.spf_record, &after.spf_record) {
            (Some(_), None) => parts.push(format!("{domain}'s SPF record removed")),
            (None, Some(_)) => parts.push(format!("SPF record published at {domain}")),
            _ => {}
        }
        if let Some(t) = &before.spf_term
            && !after.records.is_empty()
            && !has_term(&after.records, t)
        {
            parts.push(format!("{t} removed from {domain}'s record"));
        }
        if let Some(t) = &after.spf_term
            && !before.records.is_empty()
            && !has_term(&before.records, t)
        {
            parts.push(format!("{t} added to {domain}'s record"));
        }
        if parts.is_empty()
            && before.spf_term == after.spf_term
            && before.spf_term.is_some()
            && before.spf_record == after.spf_record
        {
            parts.push("the record is the same; what the term refers to changed".to_string());
        }
    }
    if before.dmarc_record != after.dmarc_record {
        parts.push(match (&before.dmarc_record, &after.dmarc_record) {
            (None, Some(_)) => format!("DMARC record published for {}", sender.from_domain),
            (Some(_), None) => format!("DMARC record of {} removed", sender.from_domain),
            _ => format!("DMARC record of {} changed", sender.from_domain),
        });
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The verdict request for a sender: MAIL FROM `postmaster@MAIL-FROM-DOMAIN`, HELO the same
/// domain, header From domain FROM-DOMAIN, no DKIM result (the dry run is about DNS records).
pub fn request(sender: &Sender, opts: &DiffOptions) -> VerdictRequest {
    let d = &sender.mail_from_domain;
    let mut spf = SpfRequest::new(sender.ip, &format!("postmaster@{d}"), d);
    spf.mail_from_assumed = true;
    spf.now = opts.now;
    spf.limits = opts.limits;
    VerdictRequest {
        spf,
        from_domain: sender.from_domain.clone(),
        from: None,
        dkim: Vec::new(),
        mode: opts.mode,
        pct_sample: 0,
        message: None,
    }
}

/// Evaluates every sender under both resolvers, [`CONCURRENCY`] senders at a time (each
/// sender's two verdicts concurrently); the result is in the senders' order.
pub async fn compare_senders(
    before: Arc<dyn Resolver>,
    after: Arc<dyn Resolver>,
    senders: &[Sender],
    opts: &DiffOptions,
) -> Vec<SenderDiff> {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = JoinSet::new();
    for (i, sender) in senders.iter().enumerate() {
        let (b, a, permits) = (before.clone(), after.clone(), permits.clone());
        let req = request(sender, opts);
        let sender = sender.clone();
        tasks.spawn(async move {
            // The semaphore is never closed, so acquiring fails only if it were; then the
            // sender is evaluated without waiting.
            let _permit = permits.acquire_owned().await.ok();
            let (vb, va) = tokio::join!(verdict::evaluate(b, &req), verdict::evaluate(a, &req));
            let diff = SenderDiff::new(
                sender,
                SideResult::from_verdict(&vb),
                SideResult::from_verdict(&va),
            );
            (i, diff)
        });
    }
    let mut out: Vec<(usize, SenderDiff)> = Vec::with_capacity(senders.len());
    while let Some(joined) = tasks.join_next().await {
        // A task ends only by returning (no panic in the evaluators, no abort here).
        if let Ok(pair) = joined {
            out.push(pair);
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, d)| d).collect()
}

/// The lint findings a change introduces and fixes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FindingsDiff {
    pub introduced: Vec<Finding>,
    pub fixed: Vec<Finding>,
    /// A DNS failure prevented the audit of some domain on either side.
    #[serde(skip)]
    pub dns_failed: bool,
}

/// The identity of a finding across versions: domain, code and tag (positions move).
fn key(f: &Finding) -> (String, &'static str, String) {
    (
        f.domain.to_ascii_lowercase(),
        f.diag.code,
        f.diag.tag.to_ascii_lowercase(),
    )
}

/// Findings in `after` and not in `before` (introduced), and the reverse (fixed), compared by
/// domain + code + tag; each listed once, in the order of its side.
pub fn diff_findings(before: &[Finding], after: &[Finding]) -> (Vec<Finding>, Vec<Finding>) {
    let only = |these: &[Finding], others: &[Finding]| {
        let other_keys: BTreeSet<_> = others.iter().map(key).collect();
        let mut seen = BTreeSet::new();
        these
            .iter()
            .filter(|f| !other_keys.contains(&key(f)) && seen.insert(key(f)))
            .cloned()
            .collect::<Vec<_>>()
    };
    (only(after, before), only(before, after))
}

/// Lints every domain under both resolvers (all concurrently; the domains are the senders'
/// distinct ones, bounded by the senders file) and compares the findings.
pub async fn compare_findings(
    before: Arc<dyn Resolver>,
    after: Arc<dyn Resolver>,
    domains: &[String],
    opts: &LintOptions,
) -> FindingsDiff {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = JoinSet::new();
    for (i, domain) in domains.iter().enumerate() {
        let (b, a, permits) = (before.clone(), after.clone(), permits.clone());
        let (domain, opts) = (domain.clone(), opts.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.ok();
            let (lb, la) = tokio::join!(
                lint::lint_domain(b, &domain, &opts),
                lint::lint_domain(a, &domain, &opts)
            );
            (i, lb, la)
        });
    }
    let mut all = Vec::with_capacity(domains.len());
    while let Some(joined) = tasks.join_next().await {
        if let Ok(t) = joined {
            all.push(t);
        }
    }
    all.sort_by_key(|(i, _, _)| *i);
    let dns_failed = all.iter().any(|(_, b, a)| b.dns_failed || a.dns_failed);
    let before: Vec<Finding> = all
        .iter()
        .flat_map(|(_, b, _)| b.findings.clone())
        .collect();
    let after: Vec<Finding> = all
        .iter()
        .flat_map(|(_, _, a)| a.findings.clone())
        .collect();
    let (introduced, fixed) = diff_findings(&before, &after);
    FindingsDiff {
        introduced,
        fixed,
        dns_failed,
    }
}

/// The distinct domains of the senders (MAIL FROM and From), in first-seen order, plus `extra`.
pub fn domains_involved(senders: &[Sender], extra: Option<&str>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let all = extra.into_iter().chain(
        senders
            .iter()
            .flat_map(|s| [s.mail_from_domain.as_str(), s.from_domain.as_str()]),
    );
    for d in all {
        if seen.insert(d.to_string()) {
            out.push(d.to_string());
        }
    }
    out
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub senders: Vec<SenderDiff>,
    pub findings_introduced: Vec<Finding>,
    pub findings_fixed: Vec<Finding>,
    /// A lint audit was cut short by a DNS failure.
    #[serde(skip)]
    pub lint_dns_failed: bool,
}

impl Diff {
    /// Some known sender would lose authentication (or get a stricter disposition).
    pub fn loses_authentication(&self) -> bool {
        self.senders.iter().any(|s| s.loses_authentication)
    }

    /// A DNS failure prevented some comparison (a sender's verdict or a domain's lint).
    pub fn dns_failed(&self) -> bool {
        self.lint_dns_failed || self.senders.iter().any(SenderDiff::dns_failed)
    }
}

/// Runs the senders comparison and the lint comparison concurrently.
pub async fn compare(
    before: Arc<dyn Resolver>,
    after: Arc<dyn Resolver>,
    senders: &[Sender],
    domains: &[String],
    opts: &DiffOptions,
    lint_opts: &LintOptions,
) -> Diff {
    let (senders, findings) = tokio::join!(
        compare_senders(before.clone(), after.clone(), senders, opts),
        compare_findings(before, after, domains, lint_opts)
    );
    Diff {
        senders,
        findings_introduced: findings.introduced,
        findings_fixed: findings.fixed,
        lint_dns_failed: findings.dns_failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Diagnostic, Severity};
    use crate::dns::overlay::{Overlay, ZoneData};

    fn finding(domain: &str, code: &'static str, tag: &str, pos: usize) -> Finding {
        Finding::new(
            domain,
            Diagnostic::new(
                code,
                Severity::Warning,
                "RFC 7208 §5",
                format!("{code} here"),
            )
            .with_tag(tag)
            .at(pos),
            Some("v=spf1 -all"),
            "fix it",
        )
    }

    #[test]
    fn findings_compare_by_domain_code_and_tag() {
        let before = vec![
            finding("a.example", "spf-ptr", "ptr", 10),
            finding("a.example", "dmarc-p-none", "p", 0),
            finding("b.example", "spf-ptr", "ptr", 3),
        ];
        let after = vec![
            // The same finding at another position is not new.
            finding("A.example", "spf-ptr", "PTR", 20),
            finding("a.example", "spf-all-pass", "+all", 30),
            finding("a.example", "spf-all-pass", "+all", 30),
        ];
        let (introduced, fixed) = diff_findings(&before, &after);
        assert_eq!(
            introduced.iter().map(|f| f.diag.code).collect::<Vec<_>>(),
            vec!["spf-all-pass"]
        );
        assert_eq!(
            fixed
                .iter()
                .map(|f| (f.domain.as_str(), f.diag.code))
                .collect::<Vec<_>>(),
            vec![("a.example", "dmarc-p-none"), ("b.example", "spf-ptr")]
        );
        let (i, f) = diff_findings(&after, &after);
        assert!(i.is_empty() && f.is_empty());
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn zone(text: &str) -> Arc<dyn Resolver> {
        Arc::new(Overlay::new(
            ZoneData::from_zone_text(text, None).unwrap(),
            None,
        ))
    }

    #[test]
    fn a_removed_include_is_named() {
        let before = zone(
            "example.com. TXT \"v=spf1 include:_spf.esp.example -all\"\n\
             _spf.esp.example. TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n\
             _dmarc.example.com. TXT \"v=DMARC1; p=reject\"\n",
        );
        let after = zone(
            "example.com. TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n\
             _spf.esp.example. TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n\
             _dmarc.example.com. TXT \"v=DMARC1; p=reject\"\n",
        );
        let senders = parse_senders(
            "198.51.100.7 example.com newsletter\n192.0.2.1 office\n203.0.113.1 other\n",
            Some("example.com"),
        )
        .unwrap();
        let opts = DiffOptions {
            mode: DmarcMode::Rfc9989,
            now: 0,
            limits: Limits::default(),
        };
        let diffs = rt().block_on(compare_senders(before, after, &senders, &opts));
        let nl = &diffs[0];
        assert!(nl.changed && nl.loses_authentication);
        assert_eq!(
            nl.before.spf_term.as_deref(),
            Some("include:_spf.esp.example")
        );
        assert_eq!(nl.after.spf_term.as_deref(), Some("-all"));
        assert_eq!(
            nl.because.as_deref(),
            Some("include:_spf.esp.example removed from example.com's record")
        );
        assert_eq!(nl.after.disposition, Disposition::Reject);
        let office = &diffs[1];
        assert!(office.changed && !office.loses_authentication);
        assert_eq!(
            office.because.as_deref(),
            Some("ip4:192.0.2.0/24 added to example.com's record")
        );
        assert!(!diffs[2].changed);
        assert!(diffs.iter().all(|d| !d.dns_failed()));
    }
}
