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

use std::sync::Arc;

use serde::Serialize;

use crate::diag::{Diagnostic, Severity};
use crate::dns::Resolver;

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
    let (spf, dmarc, mx) = tokio::join!(
        spf::lint(resolver.clone(), domain, opts),
        dmarc::lint(resolver.clone(), domain, opts),
        mx::lint(resolver.clone(), domain, opts),
    );
    let mut findings: Vec<Finding> = spf.into_iter().chain(dmarc).chain(mx).collect();
    let dns_failed = findings.iter().any(|f| f.diag.code.ends_with("temperror"));
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity()));
    DomainLint {
        domain: domain.to_string(),
        findings,
        dns_failed,
    }
}
