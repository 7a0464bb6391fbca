//! Lint: audit what a domain publishes (SPF, DMARC, MX, DKIM keys) without a message or an IP,
//! for CI gates and pre-deployment dry runs (`spfcheck lint`, and `spfcheck diff`, which
//! compares the findings of two versions of the records). Each rule produces a [`Finding`]: the
//! typed [`Diagnostic`] (stable code, severity, position, RFC section, sentence) plus the record
//! it is about and a one-line fix. Rules live in one module per record kind; this module runs
//! them for one domain and orders the result. Sits beside `verdict`, above `eval` (whose
//! evaluators and SPF policy expansion the rules reuse); renders are in `render`.

pub mod dmarc;
pub mod mx;
pub mod spf;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::diag::{Diagnostic, Severity};
use crate::dns::{Answer, RData, RType, Record, Resolver};
use crate::eval::dkim_keys;

/// One lint result: a typed diagnostic about one record, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The domain whose record the finding is about (an included domain for a finding inside
    /// the SPF include tree; `_dmarc.…` names are given as the DMARC record's owner name).
    pub domain: String,
    /// Code, severity, tag, position (0-based, in `record`), RFC section and sentence.
    #[serde(flatten)]
    pub diag: Diagnostic,
    /// The record text the finding is about (`None` when the finding is that there is none).
    pub record: Option<String>,
    /// One line saying what to change.
    pub fix: String,
    /// Where the record was read from when it came from a `--zone` file: file and 1-based line.
    pub file: Option<String>,
    pub line: Option<u32>,
}

impl Finding {
    pub fn new(
        domain: &str,
        diag: Diagnostic,
        record: Option<&str>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            domain: domain.to_string(),
            diag,
            record: record.map(str::to_string),
            fix: fix.into(),
            file: None,
            line: None,
        }
    }

    pub fn severity(&self) -> Severity {
        self.diag.severity
    }
}

/// What to audit beyond SPF, DMARC and MX.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// DKIM selectors whose keys are audited (`eval::dkim_keys`); none: no key audit.
    pub selectors: Vec<String>,
    /// One instant bounding the whole audit of a domain.
    pub deadline: Option<tokio::time::Instant>,
}

/// The audit of one domain.
#[derive(Debug, Clone, Serialize)]
pub struct DomainLint {
    pub domain: String,
    /// Ordered by severity (errors first), then by record kind and position.
    pub findings: Vec<Finding>,
    /// A DNS failure (SERVFAIL, timeout) prevented part of the audit; the findings say which.
    #[serde(skip)]
    pub dns_failed: bool,
}

/// Audits one domain: SPF, DMARC, MX and (with selectors) DKIM keys, concurrently.
pub async fn lint_domain(
    resolver: Arc<dyn Resolver>,
    domain: &str,
    opts: &LintOptions,
) -> DomainLint {
    let (spf, dmarc, mx, dkim) = tokio::join!(
        spf::lint(resolver.clone(), domain, opts),
        dmarc::lint(resolver.clone(), domain, opts),
        mx::lint(resolver.clone(), domain, opts),
        dkim_findings(resolver.clone(), domain, opts),
    );
    let mut findings: Vec<Finding> = spf.into_iter().chain(dmarc).chain(mx).chain(dkim).collect();
    let dns_failed = findings.iter().any(|f| f.diag.code.ends_with("temperror"));
    // Stable: within a severity, SPF, DMARC, MX, DKIM, each in its rules' order.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity()));
    DomainLint {
        domain: domain.to_string(),
        findings,
        dns_failed,
    }
}

/// The DKIM key audit (`eval::dkim_keys`) of each `--selector`, its findings as [`Finding`]s
/// about `SELECTOR._domainkey.DOMAIN` (codes `dkim-key-…`, unchanged).
async fn dkim_findings(
    resolver: Arc<dyn Resolver>,
    domain: &str,
    opts: &LintOptions,
) -> Vec<Finding> {
    let audits = futures_join_all(
        opts.selectors
            .iter()
            .map(|sel| dkim_keys::audit_selector(resolver.clone(), domain, sel, opts.deadline)),
    )
    .await;
    let mut out = Vec::new();
    for audit in audits.into_iter().flatten() {
        for d in &audit.findings {
            let fix = dkim_fix(d.code);
            out.push(Finding::new(
                &audit.name,
                d.clone(),
                audit.record.as_deref(),
                fix,
            ));
        }
    }
    out
}

/// Awaits futures concurrently, results in order (the few a lint runs at once: selectors, MX
/// targets, report destinations).
pub(crate) async fn futures_join_all<F: std::future::Future>(
    futs: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let futs: Vec<F> = futs.into_iter().collect();
    let mut results: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    let mut pending: Vec<std::pin::Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (slot, fut) in results.iter_mut().zip(pending.iter_mut()) {
            if slot.is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

/// The one-line fix for a DKIM key audit finding.
fn dkim_fix(code: &str) -> &'static str {
    use dkim_keys::code as c;
    match code {
        c::NO_KEY => {
            "publish the key at SELECTOR._domainkey.DOMAIN, or check the selector name (the s= of a DKIM-Signature)"
        }
        c::TEMPERROR => "make the name servers answer for the selector, then lint again",
        c::NOT_KEY_RECORD | c::SYNTAX => {
            "publish \"v=DKIM1; k=rsa; p=BASE64KEY\" (v first, p= present)"
        }
        c::BAD_BASE64 | c::NOT_PUBLIC_KEY | c::ED25519_LENGTH => {
            "publish the public key exactly as the signer's key tool printed it"
        }
        c::RSA_TOO_SHORT | c::RSA_WEAK => {
            "generate a 2048-bit RSA (or an Ed25519) key pair and publish it under a new selector"
        }
        c::SHA1_ONLY | c::NO_USABLE_HASH => "remove h= (any hash) or set h=sha256",
        c::UNKNOWN_KEY_TYPE => "set k=rsa or k=ed25519",
        c::SERVICE => "remove s= or include email in it",
        c::TESTING => "remove t=y once signing works",
        c::STRICT_IDENTITY => "remove t=s unless every signature's i= equals d=",
        c::REVOKED => {
            "sign with a selector that has a key, or remove the revoked selector from the signer"
        }
        c::MULTIPLE_RECORDS => "keep one TXT record at the selector",
        c::SPLIT_STRINGS => "split the key only between TXT strings, never inside a tag name",
        _ => "see the RFC section",
    }
}

/// A query bounded by the audit's deadline: past it the answer is [`Answer::Timeout`] (a DNS
/// failure). A name over 253 octets cannot exist (RFC 1035 §2.3.4): no such name, not sent.
pub(crate) async fn query(
    resolver: &dyn Resolver,
    name: &str,
    rtype: RType,
    deadline: Option<tokio::time::Instant>,
) -> Answer {
    let name = crate::dns::query_name(name);
    if name.trim_end_matches('.').len() > 253 {
        return Answer::NxDomain;
    }
    match deadline {
        Some(d) => tokio::time::timeout_at(d, resolver.query(&name, rtype))
            .await
            .unwrap_or(Answer::Timeout),
        None => resolver.query(&name, rtype).await,
    }
}

/// The SPF record among TXT answers (RFC 7208 §4.5), when there is exactly one.
pub(crate) fn spf_record(answer: &Answer) -> Option<String> {
    let mut found = answer
        .records()
        .iter()
        .filter_map(RData::txt_joined)
        .filter(|t| crate::record::spf::is_spf_record(t));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// True when an SPF record authorises no host and ends in `-all`: `v=spf1 -all` (modifiers
/// other than `redirect` allowed): what a domain that sends no mail publishes (RFC 7208 §10.1,
/// and RFC 7505 §4.2 for a null-MX domain).
pub(crate) fn spf_sends_nothing(text: &str) -> bool {
    use crate::record::spf::{Mechanism, Qualifier, TermKind};
    let Ok(rec) = crate::record::spf::parse(text) else {
        return false;
    };
    let mut directives = rec.terms.iter().filter_map(|t| match &t.kind {
        TermKind::Directive {
            qualifier,
            mechanism,
        } => Some((*qualifier, mechanism)),
        _ => None,
    });
    let redirect = rec
        .terms
        .iter()
        .any(|t| matches!(t.kind, TermKind::Redirect(_)));
    matches!(directives.next(), Some((Qualifier::Fail, Mechanism::All)))
        && directives.next().is_none()
        && !redirect
}

/// Where each record of the `--zone` files was written, so a finding about a record read from
/// them points at its line (SARIF `physicalLocation`). Keyed by owner name and record text
/// (a TXT record's strings joined, else its presentation form).
#[derive(Debug, Clone, Default)]
pub struct ZoneLines {
    by_record: HashMap<(String, String), (String, u32)>,
    /// The first record of each owner name.
    by_owner: HashMap<String, (String, u32)>,
}

impl ZoneLines {
    pub fn new() -> ZoneLines {
        ZoneLines::default()
    }

    /// Notes that `record` was written at `line` of `file` (the first place wins).
    pub fn insert(&mut self, record: &Record, file: &str, line: usize) {
        let text = record
            .data
            .txt_joined()
            .unwrap_or_else(|| record.data.to_string());
        let line = u32::try_from(line).unwrap_or(u32::MAX);
        self.by_owner
            .entry(record.name.to_ascii_lowercase())
            .or_insert_with(|| (file.to_string(), line));
        self.by_record
            .entry((record.name.to_ascii_lowercase(), text))
            .or_insert_with(|| (file.to_string(), line));
    }

    /// File and line of the first record written for `owner`, if any.
    pub fn owner_line(&self, owner: &str) -> Option<(String, u32)> {
        self.by_owner
            .get(&owner.trim_end_matches('.').to_ascii_lowercase())
            .cloned()
    }

    /// Sets `file` and `line` of each finding whose record (at its owner name) came from a zone.
    pub fn locate(&self, findings: &mut [Finding]) {
        for f in findings {
            let Some(record) = &f.record else { continue };
            let owner = f.domain.trim_end_matches('.').to_ascii_lowercase();
            if let Some((file, line)) = self.by_record.get(&(owner, record.clone())) {
                f.file = Some(file.clone());
                f.line = Some(*line);
            }
        }
    }
}
