//! SPF `check_host()` (RFC 7208 §4, §5, §6): evaluates a client IP against the SPF policy of a
//! domain and returns the result with a trace tree of every record, term, DNS query, counter
//! and macro expansion. DNS is reached only through `dns::Resolver`, recorded by
//! `eval::lookup::Lookup`, so live DNS, zone overlays and injected faults take the same path.

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};
use serde::Serialize;

use crate::diag::{Diagnostic, Severity};
use crate::dns::{Answer, RData, RType, Resolver, reverse_name};
use crate::eval::lookup::Lookup;
use crate::eval::macros::{MacroVars, expand, truncate_domain};
use crate::eval::trace::{Event, Node, TermOutcome};
use crate::record::spf::{
    self, DualCidr, MacroContext, MacroString, Mechanism, Qualifier, SpfRecord, Term, TermKind,
};

/// The stable `code` of each SPF problem (the [`Diagnostic`] in [`SpfOutput::problem`]).
pub mod code {
    /// The record does not parse (RFC 7208 §4.6): permerror.
    pub const SYNTAX: &str = "spf-syntax";
    /// More than one SPF record at the domain (RFC 7208 §4.5): permerror.
    pub const MULTIPLE_RECORDS: &str = "spf-multiple-records";
    /// No SPF record at the domain (RFC 7208 §4.5): none.
    pub const NO_RECORD: &str = "spf-no-record";
    /// The domain does not exist (RFC 7208 §4.5): none.
    pub const NXDOMAIN: &str = "spf-nxdomain";
    /// The domain is not a valid multi-label name (RFC 7208 §4.3): none.
    pub const MALFORMED_DOMAIN: &str = "spf-malformed-domain";
    /// A DNS failure (RFC 7208 §4.4, §5): temperror.
    pub const DNS_ERROR: &str = "spf-dns-error";
    /// The overall time limit was exceeded (RFC 7208 §4.6.4): temperror.
    pub const DEADLINE: &str = "spf-deadline";
    /// More than 10 DNS-querying terms (RFC 7208 §4.6.4): permerror.
    pub const DNS_LOOKUP_LIMIT: &str = "spf-dns-lookup-limit";
    /// More than 2 void lookups (RFC 7208 §4.6.4): permerror.
    pub const VOID_LOOKUP_LIMIT: &str = "spf-void-lookup-limit";
    /// More than 10 MX names to look up (RFC 7208 §4.6.4): permerror.
    pub const MX_LIMIT: &str = "spf-mx-limit";
    /// include/redirect nested deeper than [`super::MAX_NESTING`]: permerror.
    pub const NESTING_LIMIT: &str = "spf-nesting-limit";
    /// An included domain has no SPF record (RFC 7208 §5.2): permerror.
    pub const INCLUDE_NO_RECORD: &str = "spf-include-no-record";
    /// A redirect target has no SPF record (RFC 7208 §6.1): permerror.
    pub const REDIRECT_NO_RECORD: &str = "spf-redirect-no-record";
    /// A macro could not be expanded (RFC 7208 §7): permerror.
    pub const MACRO_ERROR: &str = "spf-macro-error";
}

/// A DNS failure as a temperror problem (RFC 7208 §4.4, §5).
fn dns_error(rfc: &'static str, message: String) -> Diagnostic {
    Diagnostic::error(code::DNS_ERROR, rfc, message)
}

/// The seven results of RFC 7208 §2.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfResult {
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

impl SpfResult {
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }

    /// Parses a result name (case-insensitive).
    pub fn from_name(s: &str) -> Option<SpfResult> {
        Some(match s.to_ascii_lowercase().as_str() {
            "none" => SpfResult::None,
            "neutral" => SpfResult::Neutral,
            "pass" => SpfResult::Pass,
            "fail" => SpfResult::Fail,
            "softfail" => SpfResult::SoftFail,
            "temperror" => SpfResult::TempError,
            "permerror" => SpfResult::PermError,
            _ => return None,
        })
    }

    fn from_qualifier(q: Qualifier) -> SpfResult {
        match q {
            Qualifier::Pass => SpfResult::Pass,
            Qualifier::Fail => SpfResult::Fail,
            Qualifier::SoftFail => SpfResult::SoftFail,
            Qualifier::Neutral => SpfResult::Neutral,
        }
    }
}

impl fmt::Display for SpfResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Processing limits (RFC 7208 §4.6.4). All configurable; the defaults are the RFC's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Terms that cause DNS queries (include, a, mx, ptr, exists, redirect): 10.
    pub dns_terms: u32,
    /// Terms whose lookup returned NXDOMAIN or NODATA: 2.
    pub void_lookups: u32,
    /// MX names one `mx` term may look up addresses for; more is a permerror: 10.
    pub mx_names: usize,
    /// PTR names one `ptr` term or `%{p}` may validate; the rest are ignored: 10.
    pub ptr_names: usize,
    /// Overall time for the whole check (SPF and DMARC together, `verdict::evaluate`);
    /// "SHOULD allow at least 20 seconds": 20 s.
    pub deadline: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            dns_terms: 10,
            void_lookups: 2,
            mx_names: 10,
            ptr_names: 10,
            deadline: Some(Duration::from_secs(20)),
        }
    }
}

/// The inputs of `check_host()` (RFC 7208 §4.1) plus the receiver's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfRequest {
    /// `<ip>`: the client address. IPv4-mapped IPv6 addresses are evaluated as IPv4.
    pub ip: IpAddr,
    /// `<domain>`: the domain whose policy is checked.
    pub domain: String,
    /// `<sender>`: `local-part@domain` (local-part "postmaster" when absent).
    pub sender: String,
    /// The MAIL FROM as given (empty for the null sender).
    pub mail_from: String,
    /// True when the caller had no MAIL FROM and `mail_from` was made up (the CLI assumes
    /// `postmaster@DOMAIN` without `--mail-from`); reports say so. False from `new`.
    pub mail_from_assumed: bool,
    /// The HELO/EHLO name (`%{h}`).
    pub helo: String,
    /// The receiving host (`%{r}`).
    pub receiver: String,
    /// Seconds since the epoch (`%{t}`).
    pub now: u64,
    /// Explanation for a fail when the record has no usable `exp=` (macro-string).
    pub default_explanation: Option<String>,
    pub limits: Limits,
    /// Build the trace (true from `new`). False evaluates without one, for callers that read
    /// only the result (`spfcheck batch --format text`, the offline bench): no trace event is
    /// built, [`SpfOutput::trace`] is [`Node::empty`], and everything else in the output is
    /// the same. `verdict::evaluate` applies it to DMARC discovery as well.
    pub trace: bool,
}

impl SpfRequest {
    /// The inputs for checking the MAIL FROM identity (RFC 7208 §2.4); for the null sender
    /// (empty `mail_from`) the HELO identity `postmaster@helo` is checked instead (§2.3, §4.3).
    /// A MAIL FROM without `@` is taken as a domain; an empty local-part becomes "postmaster".
    pub fn new(ip: IpAddr, mail_from: &str, helo: &str) -> SpfRequest {
        let mail_from = mail_from
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        let (local, domain) = if mail_from.is_empty() {
            ("", helo)
        } else {
            match mail_from.rsplit_once('@') {
                Some((l, d)) => (l, d),
                None => ("", mail_from),
            }
        };
        let local = if local.is_empty() {
            "postmaster"
        } else {
            local
        };
        // One trailing dot is removed by check_host itself, exactly once (RFC 7208 §4.3: a
        // second one leaves an empty label, a malformed domain).
        SpfRequest {
            ip,
            domain: domain.to_string(),
            sender: format!("{local}@{domain}"),
            mail_from: mail_from.to_string(),
            mail_from_assumed: false,
            helo: helo.to_string(),
            receiver: "unknown".to_string(),
            now: 0,
            default_explanation: None,
            limits: Limits::default(),
            trace: true,
        }
    }
}

/// What `check_host()` concluded, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfOutput {
    pub result: SpfResult,
    /// The deciding term as written, in the record that produced the result (after
    /// redirects); `None` for the default result, "none", and errors not tied to a term.
    pub mechanism: Option<String>,
    /// The explanation on fail (RFC 7208 §6.2).
    pub explanation: Option<String>,
    /// DNS-querying terms counted (RFC 7208 §4.6.4).
    pub dns_lookups: u32,
    /// Void lookups counted (RFC 7208 §4.6.4).
    pub void_lookups: u32,
    /// Why, for permerror and temperror (and for "none"): a typed [`Diagnostic`] whose
    /// `position` is in the checked domain's record when a term of it caused the problem.
    pub problem: Option<Diagnostic>,
    /// The evaluation's tree; [`Node::empty`] when the request's `trace` is off.
    pub trace: Node,
}

/// Runs `check_host()` for the request (RFC 7208 §4), its deadline (`limits.deadline`)
/// starting now.
pub async fn check_host(resolver: Arc<dyn Resolver>, req: &SpfRequest) -> SpfOutput {
    let deadline = req.limits.deadline.map(|d| tokio::time::Instant::now() + d);
    check_host_until(resolver, req, deadline).await
}

/// `check_host()` bounded by an instant the caller shares with the rest of the check (RFC 7208
/// §4.6.4; `verdict::evaluate` gives SPF and DMARC one deadline). `limits.deadline` only names
/// the length in the trace.
pub async fn check_host_until(
    resolver: Arc<dyn Resolver>,
    req: &SpfRequest,
    deadline: Option<tokio::time::Instant>,
) -> SpfOutput {
    let mut ev = Evaluator {
        dns: Lookup::until(resolver, deadline).traced(req.trace),
        req,
        ip: req.ip.to_canonical(),
        lookups: 0,
        voids: 0,
        depth: 0,
    };
    let domain = req
        .domain
        .strip_suffix('.')
        .unwrap_or(&req.domain)
        .to_string();
    let (mut host, mut trace) = ev.check_domain(domain, None).await;
    let mut explanation = None;
    if host.result == SpfResult::Fail {
        explanation = match host.exp.take() {
            Some((ms, domain)) => ev.explain(&ms, &domain, &mut trace).await,
            None => None,
        };
        if explanation.is_none() {
            explanation = ev.default_explanation(&mut trace);
        }
    }
    if ev.dns.deadline_hit() && host.result == SpfResult::TempError {
        host.problem = Some(Diagnostic::error(
            code::DEADLINE,
            "RFC 7208 §4.6.4",
            format!(
                "overall deadline of {:?} exceeded (RFC 7208 §4.6.4)",
                req.limits.deadline.unwrap_or_default()
            ),
        ));
    }
    if !req.trace {
        // Nothing is attached when tracing is off; this also drops a rare event built anyway.
        trace = Node::empty();
    }
    SpfOutput {
        result: host.result,
        mechanism: host.mechanism,
        explanation,
        dns_lookups: ev.lookups,
        void_lookups: ev.voids,
        problem: host.problem,
        trace,
    }
}

/// Parsed records by text: the same few records (ESP includes, parents) are parsed again in
/// nearly every evaluation of a batch, and parsing is pure (`record::spf::parse` depends on the
/// text alone), so a parse is reused. One table per thread (no lock), bounded: emptied when
/// it reaches `PARSE_CACHE_MAX` entries.
type ParsedRecord = Result<Arc<SpfRecord>, spf::ParseError>;

const PARSE_CACHE_MAX: usize = 4096;

thread_local! {
    static PARSED: std::cell::RefCell<std::collections::HashMap<String, ParsedRecord>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// [`spf::parse`] through the per-thread table of parsed records.
fn parse_cached(text: &str) -> ParsedRecord {
    PARSED.with(|cell| {
        // Never borrowed elsewhere (no await or call out while borrowed): try_borrow_mut only
        // fails on re-entry, where parsing directly is correct anyway.
        let Ok(mut table) = cell.try_borrow_mut() else {
            return spf::parse(text).map(Arc::new);
        };
        if let Some(hit) = table.get(text) {
            return hit.clone();
        }
        let parsed = spf::parse(text).map(Arc::new);
        if table.len() >= PARSE_CACHE_MAX {
            table.clear();
        }
        table.insert(text.to_string(), parsed.clone());
        parsed
    })
}

/// The outcome of evaluating one domain's record.
struct HostResult {
    result: SpfResult,
    mechanism: Option<String>,
    problem: Option<Diagnostic>,
    /// The `exp=` of the record that produced a fail, with its `<domain>` (RFC 7208 §6.2:
    /// never the one of an included record; a redirect's target replaces the original's).
    exp: Option<(MacroString, String)>,
}

impl HostResult {
    fn new(result: SpfResult, problem: Option<Diagnostic>) -> HostResult {
        HostResult {
            result,
            mechanism: None,
            problem,
            exp: None,
        }
    }

    /// A permerror decided by the term `text` (RFC 7208 §4.6).
    fn perm(problem: Diagnostic, text: &str) -> HostResult {
        let mut host = HostResult::new(SpfResult::PermError, Some(problem));
        host.mechanism = Some(text.to_string());
        host
    }
}

/// The outcome of one mechanism (RFC 7208 §5): the detail of a match or no match, the
/// problem of a temperror or permerror.
enum Match {
    Yes(String),
    No(String),
    Temp(Diagnostic),
    Perm(Diagnostic),
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

struct Evaluator<'r> {
    dns: Lookup,
    req: &'r SpfRequest,
    ip: IpAddr,
    lookups: u32,
    voids: u32,
    /// Current include/redirect nesting depth.
    depth: u32,
}

/// The deepest include/redirect nesting evaluated. RFC 7208 §4.6.4 bounds it by the 10-term
/// limit; this cap holds when that limit is raised (`--max-dns-lookups`), so an include or
/// redirect loop ends in a permerror instead of exhausting the stack (each level is a
/// recursive `check_domain` call).
pub const MAX_NESTING: u32 = 20;

impl<'r> Evaluator<'r> {
    /// Adds the event built by `event` to `node`, when tracing; otherwise builds nothing.
    fn emit(&self, node: &mut Node, event: impl FnOnce() -> Event) {
        if self.req.trace {
            node.push(event());
        }
    }

    /// Attaches a finished child node, when tracing.
    fn attach(&self, node: &mut Node, child: Node) {
        if self.req.trace {
            node.children.push(child);
        }
    }

    /// A text read only in the trace (a term's detail, the `via` of a nested check): built
    /// when tracing, empty otherwise.
    fn why(&self, text: impl FnOnce() -> String) -> String {
        if self.req.trace {
            text()
        } else {
            String::new()
        }
    }

    async fn query(&mut self, name: &str, rtype: RType, node: &mut Node) -> Answer {
        self.dns.query(name, rtype, node).await
    }

    /// `check_host()` for one domain (RFC 7208 §4.3–§4.7), boxed for recursion.
    fn check_domain(
        &mut self,
        domain: String,
        via: Option<String>,
    ) -> BoxFuture<'_, (HostResult, Node)> {
        Box::pin(async move {
            let mut node = if self.req.trace {
                Node::new(Event::CheckHost {
                    domain: domain.clone(),
                    via: via.clone(),
                })
            } else {
                Node::empty()
            };
            let nested = via.is_some();
            let host = if nested && self.depth >= MAX_NESTING {
                // RFC 7208 §4.6.4: processing limits exceeded → permerror.
                node.push(Event::Limit {
                    limit: "nesting".to_string(),
                    count: self.depth + 1,
                    max: MAX_NESTING,
                    term: via.clone().unwrap_or_default(),
                });
                HostResult::new(
                    SpfResult::PermError,
                    Some(Diagnostic::error(
                        code::NESTING_LIMIT,
                        "RFC 7208 §4.6.4",
                        format!(
                            "include/redirect nested more than {MAX_NESTING} deep (RFC 7208 §4.6.4)"
                        ),
                    )),
                )
            } else {
                self.depth += u32::from(nested);
                let host = self.check_domain_inner(&domain, nested, &mut node).await;
                self.depth -= u32::from(nested);
                host
            };
            self.emit(&mut node, || Event::Result {
                result: host.result.into(),
                reason: host.problem.as_ref().map(|d| d.message.clone()),
            });
            (host, node)
        })
    }

    /// One domain: select its record (§4.3–§4.5), parse it (§4.6), evaluate it.
    async fn check_domain_inner(
        &mut self,
        domain: &str,
        nested: bool,
        node: &mut Node,
    ) -> HostResult {
        let text = match self.select_record(domain, nested, node).await {
            Ok(text) => text,
            Err(host) => return host,
        };
        self.emit(node, || Event::Record { text: text.clone() });
        // RFC 7208 §4.6: any syntax error anywhere is a permerror before evaluation.
        match parse_cached(&text) {
            Ok(record) => self.evaluate_record(&record, domain, node).await,
            Err(e) => HostResult::new(
                SpfResult::PermError,
                Some(
                    Diagnostic::error(
                        code::SYNTAX,
                        "RFC 7208 §4.6",
                        format!("syntax error in the SPF record of {domain}: {e}"),
                    )
                    .at(e.position),
                ),
            ),
        }
    }

    /// The one SPF record of `domain` (RFC 7208 §4.3–§4.5), or the result without one.
    async fn select_record(
        &mut self,
        domain: &str,
        nested: bool,
        node: &mut Node,
    ) -> Result<String, HostResult> {
        // RFC 7208 §4.3: a malformed or single-label domain gives "none".
        if let Err(why) = check_domain_syntax(domain) {
            return Err(HostResult::new(
                SpfResult::None,
                Some(Diagnostic::new(
                    code::MALFORMED_DOMAIN,
                    Severity::Warning,
                    "RFC 7208 §4.3",
                    format!("malformed domain: {why}"),
                )),
            ));
        }
        // RFC 7208 §4.4: TXT only; errors other than NXDOMAIN are temperror.
        let answer = self.query(domain, RType::Txt, node).await;
        let texts: Vec<String> = match &answer {
            a if a.is_failure() => {
                return Err(HostResult::new(
                    SpfResult::TempError,
                    Some(Diagnostic::error(
                        code::DNS_ERROR,
                        "RFC 7208 §4.4",
                        format!(
                            "DNS {} for TXT {domain}{} (RFC 7208 §4.4)",
                            a.kind(),
                            a.cause_suffix()
                        ),
                    )),
                ));
            }
            Answer::Records { data, .. } => data.iter().filter_map(RData::txt_joined).collect(),
            _ => Vec::new(),
        };
        if nested
            && answer.is_void()
            && let Some(perm) = self.count_void(&format!("TXT {domain}"), node)
        {
            return Err(HostResult::new(SpfResult::PermError, Some(perm)));
        }
        let node = self.req.trace.then_some(node);
        pick_spf_record(domain, texts, answer == Answer::NxDomain, node).map_err(|h| *h)
    }

    /// The terms of a parsed record left to right (RFC 7208 §4.6.2), then redirect (§6.1) or
    /// the default result (§4.7).
    async fn evaluate_record(
        &mut self,
        record: &SpfRecord,
        domain: &str,
        node: &mut Node,
    ) -> HostResult {
        for term in &record.terms {
            let (qualifier, mechanism) = match &term.kind {
                TermKind::Directive {
                    qualifier,
                    mechanism,
                } => (*qualifier, mechanism),
                TermKind::Redirect(_) | TermKind::Exp(_) => continue,
                TermKind::Unknown { .. } => {
                    self.emit(node, || Event::Note {
                        text: format!("{}: unknown modifier, ignored (RFC 7208 §6)", term.text),
                    });
                    continue;
                }
            };
            if let Some(mut host) = self
                .directive(term, qualifier, mechanism, domain, node)
                .await
            {
                if host.result == SpfResult::Fail {
                    // exp= may come after the deciding term (RFC 7208 §6: modifiers may
                    // appear anywhere, each at most once).
                    host.exp = record.exp().map(|ms| (ms.clone(), domain.to_string()));
                }
                return host;
            }
        }
        // RFC 7208 §6.1: redirect applies when no mechanism matched and there is no "all".
        let has_all = record
            .directives()
            .any(|(_, _, m)| matches!(m, Mechanism::All));
        if let (Some(term), Some(target), false) =
            (record.redirect_term(), record.redirect(), has_all)
        {
            return self.redirect(target, term, domain, node).await;
        }
        // RFC 7208 §4.7: the default result is "neutral".
        self.emit(node, || Event::Note {
            text: "no mechanism matched: default result neutral (RFC 7208 §4.7)".to_string(),
        });
        HostResult::new(SpfResult::Neutral, None)
    }

    /// One directive (RFC 7208 §4.6.2, §5): its `term` node, and the result if it decides.
    async fn directive(
        &mut self,
        term: &Term,
        qualifier: Qualifier,
        mechanism: &Mechanism,
        domain: &str,
        node: &mut Node,
    ) -> Option<HostResult> {
        let mut term_node = Node::empty();
        if mechanism.counts_dns()
            && let Some(perm) = self.count_lookup(&term.text, &mut term_node)
        {
            node.children.extend(term_node.children);
            return Some(HostResult::perm(perm.at(term.position), &term.text));
        }
        let mut outcome = self.mechanism(mechanism, domain, &mut term_node).await;
        // RFC 7208 §4.6.4: past the overall time limit the result is temperror, also where
        // the DNS failure alone would only be "no match" (ptr's lookups, §5.5; %{p}, §7.3).
        if self.dns.deadline_hit() && !matches!(outcome, Match::Temp(_)) {
            outcome = Match::Temp(Diagnostic::error(
                code::DEADLINE,
                "RFC 7208 §4.6.4",
                "overall deadline exceeded (RFC 7208 §4.6.4)",
            ));
        }
        let (outcome, detail, problem) = match outcome {
            Match::Yes(d) => (
                TermOutcome::Match(SpfResult::from_qualifier(qualifier)),
                d,
                None,
            ),
            Match::No(d) => (TermOutcome::NoMatch, d, None),
            Match::Temp(p) => (TermOutcome::TempError, String::new(), Some(p)),
            Match::Perm(p) => (TermOutcome::PermError, String::new(), Some(p)),
        };
        if self.req.trace {
            // A temperror's or permerror's detail is its problem's message.
            let detail = match &problem {
                Some(p) => p.message.clone(),
                None => detail,
            };
            term_node.event = Event::Term {
                term: term.text.clone(),
                outcome,
                dns_lookups: self.lookups,
                void_lookups: self.voids,
                detail: (!detail.is_empty()).then_some(detail),
            };
            node.children.push(term_node);
        }
        let result = outcome.result()?;
        // The problem reads as a path of terms: "include:a: include:b: more than 10 …".
        let problem = problem.map(|p| p.within(&term.text, Some(term.position)));
        let mut host = HostResult::new(result, problem);
        host.mechanism = Some(term.text.clone());
        Some(host)
    }

    /// The redirect modifier (RFC 7208 §6.1).
    async fn redirect(
        &mut self,
        target: &MacroString,
        term: &Term,
        domain: &str,
        node: &mut Node,
    ) -> HostResult {
        let text = term.text.as_str();
        let mut term_node = Node::empty();
        if let Some(p) = self.count_lookup(text, &mut term_node) {
            node.children.extend(term_node.children);
            return HostResult::perm(p.at(term.position), text);
        }
        let target_name = match self.target(Some(target), domain, &mut term_node).await {
            Ok(t) => t,
            Err(p) => {
                node.children.extend(term_node.children);
                return HostResult::perm(p.at(term.position), text);
            }
        };
        let via = self.why(|| text.to_string());
        let (host, child) = self.check_domain(target_name.clone(), Some(via)).await;
        if self.req.trace {
            term_node.children.push(child);
            let outcome = match host.result {
                SpfResult::None => TermOutcome::PermError,
                r => TermOutcome::Redirect(r),
            };
            term_node.event = Event::Term {
                term: text.to_string(),
                outcome,
                dns_lookups: self.lookups,
                void_lookups: self.voids,
                detail: None,
            };
            node.children.push(term_node);
        }
        // "If the redirect target has no SPF record, or check_host() returns 'none', the
        // result is a permerror" (RFC 7208 §6.1).
        if host.result == SpfResult::None {
            let problem = Diagnostic::error(
                code::REDIRECT_NO_RECORD,
                "RFC 7208 §6.1",
                format!("redirect target {target_name} has no SPF record (RFC 7208 §6.1)"),
            );
            return HostResult::perm(problem.at(term.position), text);
        }
        // An error before the target's record produced a term (its TXT lookup failed or was
        // the void over the limit) is the redirect's, as it would be an include's.
        let mut host = host;
        if host.mechanism.is_none()
            && matches!(host.result, SpfResult::TempError | SpfResult::PermError)
        {
            host.mechanism = Some(text.to_string());
        }
        host
    }

    /// Counts a DNS-querying term; returns the permerror past the limit.
    fn count_lookup(&mut self, term: &str, node: &mut Node) -> Option<Diagnostic> {
        self.lookups += 1;
        let (count, max) = (self.lookups, self.req.limits.dns_terms);
        over_limit(
            node,
            "dns_lookups",
            count,
            max,
            term,
            true,
            "DNS-querying terms",
        )
    }

    /// Counts a void lookup; returns the permerror past the limit.
    fn count_void(&mut self, what: &str, node: &mut Node) -> Option<Diagnostic> {
        self.voids += 1;
        let (count, max) = (self.voids, self.req.limits.void_lookups);
        over_limit(
            node,
            "void_lookups",
            count,
            max,
            what,
            false,
            "void lookups",
        )
    }
    fn vars<'a>(&'a self, domain: &'a str, validated: Option<&'a str>) -> MacroVars<'a> {
        let (local, sender_domain) = self
            .req
            .sender
            .rsplit_once('@')
            .unwrap_or(("postmaster", self.req.sender.as_str()));
        MacroVars {
            sender: &self.req.sender,
            local,
            sender_domain,
            domain,
            ip: self.ip,
            validated_name: validated,
            helo: &self.req.helo,
            receiver: &self.req.receiver,
            now: self.req.now,
        }
    }

    /// Expands a macro-string (resolving `%{p}` first when used), recording the expansion.
    async fn expand(
        &mut self,
        ms: &MacroString,
        domain: &str,
        explanation: bool,
        node: &mut Node,
    ) -> Result<String, Diagnostic> {
        let validated = if ms.uses_p() {
            Some(self.validated_name(domain, node).await)
        } else {
            None
        };
        let vars = self.vars(domain, validated.as_deref());
        let out = expand(ms, &vars, explanation).map_err(|e| {
            Diagnostic::error(
                code::MACRO_ERROR,
                "RFC 7208 §7",
                format!("macro error: {e:?}"),
            )
        })?;
        if ms.has_macros() {
            self.emit(node, || Event::Macro {
                before: ms.to_string(),
                after: out.clone(),
            });
        }
        Ok(out)
    }

    /// The `<target-name>` of a term (RFC 7208 §4.8): the expanded domain-spec, or `<domain>`.
    async fn target(
        &mut self,
        spec: Option<&MacroString>,
        domain: &str,
        node: &mut Node,
    ) -> Result<String, Diagnostic> {
        match spec {
            None => Ok(domain.to_string()),
            Some(ms) => {
                let expanded = self.expand(ms, domain, false, node).await?;
                // RFC 7208 §7.3: over-long expansions lose labels from the left.
                let t = truncate_domain(&expanded);
                Ok(t.strip_suffix('.').unwrap_or(&t).to_string())
            }
        }
    }

    /// The target of a/mx/exists: an expansion error is a permerror; a name that is not a
    /// valid domain does not match (RFC 7208 §4.8 leaves it undefined; see README).
    async fn host_target(
        &mut self,
        spec: Option<&MacroString>,
        domain: &str,
        node: &mut Node,
    ) -> Result<String, Match> {
        if let Some(m) = self.eai_no_match(spec) {
            return Err(m);
        }
        let target = self.target(spec, domain, node).await.map_err(Match::Perm)?;
        match check_domain_syntax(&target) {
            Ok(()) => Ok(target),
            Err(why) => {
                Err(Match::No(self.why(|| {
                    format!("target {target:?} is not a valid domain: {why}")
                })))
            }
        }
    }

    /// RFC 8616 §4: with a non-ASCII local-part, "terms that include %{s} or %{l} do not match
    /// anything" (no DNS label can carry it); no query is sent for them.
    fn eai_no_match(&self, spec: Option<&MacroString>) -> Option<Match> {
        if !spec.is_some_and(MacroString::uses_local_part) {
            return None;
        }
        let local = self.req.sender.rsplit_once('@').map_or("", |(l, _)| l);
        (!local.is_ascii()).then(|| {
            Match::No(self.why(|| format!(
                "the local-part {local:?} is not ASCII: a term using %{{s}} or %{{l}} matches nothing (RFC 8616 §4)"
            )))
        })
    }

    /// Evaluates one mechanism (RFC 7208 §5).
    async fn mechanism(&mut self, mechanism: &Mechanism, domain: &str, node: &mut Node) -> Match {
        let ip = self.ip;
        match mechanism {
            // RFC 7208 §5.1
            Mechanism::All => Match::Yes(String::new()),
            // RFC 7208 §5.6
            Mechanism::Ip4 { addr, prefix } => match (ip, Ipv4Net::new(*addr, *prefix)) {
                (IpAddr::V4(v4), Ok(net)) if net.contains(&v4) => Match::Yes(String::new()),
                (IpAddr::V6(_), _) => {
                    Match::No(self.why(|| "an IPv6 client never matches ip4".into()))
                }
                _ => Match::No(String::new()),
            },
            Mechanism::Ip6 { addr, prefix } => match (ip, Ipv6Net::new(*addr, *prefix)) {
                (IpAddr::V6(v6), Ok(net)) if net.contains(&v6) => Match::Yes(String::new()),
                (IpAddr::V4(_), _) => {
                    Match::No(self.why(|| "an IPv4 client never matches ip6".into()))
                }
                _ => Match::No(String::new()),
            },
            // RFC 7208 §5.2
            Mechanism::Include(spec) => {
                if let Some(m) = self.eai_no_match(Some(spec)) {
                    return m;
                }
                let target = match self.target(Some(spec), domain, node).await {
                    Ok(t) => t,
                    Err(e) => return Match::Perm(e),
                };
                let via = self.why(|| format!("include:{target}"));
                let (host, child) = self.check_domain(target.clone(), Some(via)).await;
                self.attach(node, child);
                match host.result {
                    SpfResult::Pass => Match::Yes(self.why(|| format!("{target} returned pass"))),
                    SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral => {
                        Match::No(self.why(|| format!("{target} returned {}", host.result)))
                    }
                    // The include term already names the target, so the problem reads as a
                    // path: "include:a: include:b: more than 10 …".
                    SpfResult::TempError => Match::Temp(
                        host.problem
                            .unwrap_or_else(|| dns_error("RFC 7208 §5.2", "temperror".into())),
                    ),
                    SpfResult::PermError => Match::Perm(host.problem.unwrap_or_else(|| {
                        Diagnostic::error(code::SYNTAX, "RFC 7208 §5.2", "permerror")
                    })),
                    SpfResult::None => Match::Perm(Diagnostic::error(
                        code::INCLUDE_NO_RECORD,
                        "RFC 7208 §5.2",
                        format!("included domain {target} has no SPF record (RFC 7208 §5.2)"),
                    )),
                }
            }
            // RFC 7208 §5.3
            Mechanism::A { domain: spec, cidr } => {
                let target = match self.host_target(spec.as_ref(), domain, node).await {
                    Ok(t) => t,
                    Err(m) => return m,
                };
                self.address_match(&target, *cidr, true, node).await
            }
            // RFC 7208 §5.4
            Mechanism::Mx { domain: spec, cidr } => {
                let target = match self.host_target(spec.as_ref(), domain, node).await {
                    Ok(t) => t,
                    Err(m) => return m,
                };
                self.mx_match(&target, *cidr, node).await
            }
            // RFC 7208 §5.5
            Mechanism::Ptr(spec) => {
                if let Some(m) = self.eai_no_match(spec.as_ref()) {
                    return m;
                }
                let target = match self.target(spec.as_ref(), domain, node).await {
                    Ok(t) => t,
                    Err(e) => return Match::Perm(e),
                };
                match self.validated_names(Some(&target), true, node).await {
                    Err(perm) => Match::Perm(perm),
                    Ok(names) => {
                        let t = target.to_ascii_lowercase();
                        match names.iter().find(|n| is_same_or_subdomain(n, &t)) {
                            Some(n) => {
                                Match::Yes(self.why(|| format!("validated name {n} is within {t}")))
                            }
                            None if names.is_empty() => {
                                Match::No(self.why(|| format!("no validated name for {ip}")))
                            }
                            None => Match::No(self.why(|| {
                                format!("validated names ({}) are not within {t}", names.join(", "))
                            })),
                        }
                    }
                }
            }
            // RFC 7208 §5.7
            Mechanism::Exists(spec) => {
                let target = match self.host_target(Some(spec), domain, node).await {
                    Ok(t) => t,
                    Err(m) => return m,
                };
                // "The lookup type is A even when the connection type is IPv6."
                let answer = self.query(&target, RType::A, node).await;
                if answer.is_failure() {
                    return Match::Temp(dns_error(
                        "RFC 7208 §5.7",
                        format!(
                            "DNS {} for A {target}{}",
                            answer.kind(),
                            answer.cause_suffix()
                        ),
                    ));
                }
                if answer.is_void() {
                    if let Some(p) = self.count_void(&format!("A {target}"), node) {
                        return Match::Perm(p);
                    }
                    return Match::No(self.why(|| format!("{target} has no A record")));
                }
                Match::Yes(self.why(|| format!("{target} has an A record")))
            }
        }
    }

    /// The address lookup of `a` (and of each MX name): A for IPv4 clients, AAAA for IPv6,
    /// compared with the CIDR lengths (RFC 7208 §5.3, §5.6). `primary` marks the term's own
    /// lookup, which counts toward the void limit.
    async fn address_match(
        &mut self,
        name: &str,
        cidr: DualCidr,
        primary: bool,
        node: &mut Node,
    ) -> Match {
        let rtype = if self.ip.is_ipv4() {
            RType::A
        } else {
            RType::Aaaa
        };
        let answer = self.query(name, rtype, node).await;
        if answer.is_failure() {
            return Match::Temp(dns_error(
                "RFC 7208 §5",
                format!(
                    "DNS {} for {rtype} {name}{}",
                    answer.kind(),
                    answer.cause_suffix()
                ),
            ));
        }
        if answer.is_void() {
            // RFC 7208 §4.6.4: an empty answer (NODATA, e.g. AAAA of an IPv4-only host) or
            // NXDOMAIN is a void lookup.
            if primary && let Some(p) = self.count_void(&format!("{rtype} {name}"), node) {
                return Match::Perm(p);
            }
            return Match::No(self.why(|| format!("{name} has no {rtype} record")));
        }
        if let Some(addr) = answer.records().iter().find(|r| addr_in(r, self.ip, cidr)) {
            return Match::Yes(
                self.why(|| format!("{addr}{} contains {}", cidr_suffix(self.ip, cidr), self.ip)),
            );
        }
        Match::No(self.why(|| format!("no {rtype} address of {name} contains {}", self.ip)))
    }

    /// The `mx` mechanism (RFC 7208 §5.4, limits §4.6.4).
    async fn mx_match(&mut self, target: &str, cidr: DualCidr, node: &mut Node) -> Match {
        let answer = self.query(target, RType::Mx, node).await;
        if answer.is_failure() {
            return Match::Temp(dns_error(
                "RFC 7208 §5.4",
                format!(
                    "DNS {} for MX {target}{}",
                    answer.kind(),
                    answer.cause_suffix()
                ),
            ));
        }
        if answer.is_void() {
            if let Some(p) = self.count_void(&format!("MX {target}"), node) {
                return Match::Perm(p);
            }
            // No implicit MX (RFC 7208 §5.4).
            return Match::No(self.why(|| format!("{target} has no MX record")));
        }
        let mut names: Vec<(u16, String)> = answer
            .records()
            .iter()
            .filter_map(|r| match r {
                RData::Mx {
                    preference,
                    exchange,
                } => Some((*preference, exchange.clone())),
                _ => None,
            })
            .collect();
        names.sort();
        let max = self.req.limits.mx_names;
        if names.len() > max {
            node.push(Event::Limit {
                limit: "mx_names".to_string(),
                count: names.len() as u32,
                max: max as u32,
                term: format!("MX {target}"),
            });
            return Match::Perm(Diagnostic::error(
                code::MX_LIMIT,
                "RFC 7208 §4.6.4",
                format!(
                    "{target} has {} MX records; at most {max} may be looked up (RFC 7208 §4.6.4)",
                    names.len()
                ),
            ));
        }
        for (_, exchange) in &names {
            // A null MX (RFC 7505) names no host.
            if exchange.is_empty() || exchange == "." {
                continue;
            }
            match self.address_match(exchange, cidr, false, node).await {
                Match::No(_) => {}
                Match::Yes(d) => return Match::Yes(self.why(|| format!("MX {exchange}: {d}"))),
                other => return other,
            }
        }
        Match::No(self.why(|| format!("no MX host of {target} has address {}", self.ip)))
    }

    /// PTR validation shared by `ptr` and `%{p}` (RFC 7208 §5.5, §4.6.4): names of the
    /// client's PTR records (first 10) whose forward lookup contains the client address.
    /// A PTR lookup error means no validated names; an address lookup error skips that name.
    async fn validated_names(
        &mut self,
        target: Option<&str>,
        count_void: bool,
        node: &mut Node,
    ) -> Result<Vec<String>, Diagnostic> {
        let rev = reverse_name(self.ip);
        let answer = self.query(&rev, RType::Ptr, node).await;
        if answer.is_void()
            && count_void
            && let Some(p) = self.count_void(&format!("PTR {rev}"), node)
        {
            return Err(p);
        }
        let mut names: Vec<String> = answer
            .records()
            .iter()
            .filter_map(|r| match r {
                RData::Ptr(n) => Some(n.trim_end_matches('.').to_ascii_lowercase()),
                _ => None,
            })
            .collect();
        let max = self.req.limits.ptr_names;
        if names.len() > max {
            self.emit(node, || Event::Note {
                text: format!(
                    "{} PTR names; only the first {max} are checked (RFC 7208 §4.6.4)",
                    names.len()
                ),
            });
            names.truncate(max);
        }
        // A PTR record naming the root (".") names no host; there is nothing to validate and
        // no name to look up (RFC 7208 §5.5 validates "the domain name" of each record).
        let before = names.len();
        names.retain(|n| !n.is_empty());
        if names.len() < before {
            self.emit(node, || Event::Note {
                text: "PTR record naming the root \".\": no host, skipped".to_string(),
            });
        }
        // Check names within the target first, so a match is found with the fewest lookups;
        // the target itself before its subdomains, so the first one validated is the one
        // `%{p}` prefers (RFC 7208 §7.3: "If the <domain> is present in the list of validated
        // domains, it SHOULD be used. Otherwise, if a subdomain of the <domain> is present, it
        // SHOULD be used.").
        if let Some(t) = target {
            let t = t.trim_end_matches('.').to_ascii_lowercase();
            names.sort_by_key(|n| {
                if *n == t {
                    0
                } else if is_same_or_subdomain(n, &t) {
                    1
                } else {
                    2
                }
            });
        }
        let rtype = if self.ip.is_ipv4() {
            RType::A
        } else {
            RType::Aaaa
        };
        let mut validated = Vec::new();
        for name in names {
            if self.dns.deadline_hit() {
                break; // RFC 7208 §4.6.4: nothing more is asked past the overall deadline.
            }
            let answer = self.query(&name, rtype, node).await;
            let full = DualCidr::default();
            if answer.records().iter().any(|r| addr_in(r, self.ip, full)) {
                validated.push(name);
                if let Some(t) = target
                    && is_same_or_subdomain(validated.last().map(String::as_str).unwrap_or(""), t)
                {
                    break;
                }
            }
        }
        Ok(validated)
    }

    /// The `%{p}` value (RFC 7208 §7.3): a validated name, preferring `<domain>`, then one of
    /// its subdomains; "unknown" when there is none.
    async fn validated_name(&mut self, domain: &str, node: &mut Node) -> String {
        let names = self
            .validated_names(Some(domain), false, node)
            .await
            .unwrap_or_default();
        let d = domain.trim_end_matches('.').to_ascii_lowercase();
        names
            .iter()
            .find(|n| **n == d)
            .or_else(|| names.iter().find(|n| is_same_or_subdomain(n, &d)))
            .or(names.first())
            .cloned()
            .unwrap_or_else(|| "unknown".to_string())
    }

    /// The explanation of a fail (RFC 7208 §6.2). Any DNS error, no or several TXT records,
    /// or a syntax error: proceed as if there were no `exp=` (None).
    async fn explain(
        &mut self,
        ms: &MacroString,
        domain: &str,
        trace: &mut Node,
    ) -> Option<String> {
        let mut node = if self.req.trace {
            Node::new(Event::Note {
                text: "exp= lookup (not counted toward the limits, RFC 7208 §6.2)".to_string(),
            })
        } else {
            Node::empty()
        };
        let result = self.explain_inner(ms, domain, &mut node).await;
        self.attach(trace, node);
        match result {
            Ok(text) => {
                self.emit(trace, || Event::Explanation {
                    text: text.clone(),
                    source: "exp=".to_string(),
                });
                Some(text)
            }
            Err(why) => {
                self.emit(trace, || Event::Note {
                    text: format!("exp= ignored: {why}"),
                });
                None
            }
        }
    }

    async fn explain_inner(
        &mut self,
        ms: &MacroString,
        domain: &str,
        node: &mut Node,
    ) -> Result<String, String> {
        let target = self
            .target(Some(ms), domain, node)
            .await
            .map_err(|d| d.message)?;
        check_domain_syntax(&target)
            .map_err(|w| format!("{target:?} is not a valid domain: {w}"))?;
        let answer = self.query(&target, RType::Txt, node).await;
        let texts: Vec<String> = answer
            .records()
            .iter()
            .filter_map(RData::txt_joined)
            .collect();
        if answer.is_failure() {
            return Err(format!(
                "DNS {} for TXT {target}{}",
                answer.kind(),
                answer.cause_suffix()
            ));
        }
        let text = match texts.as_slice() {
            [one] => one,
            [] => return Err(format!("no TXT record at {target}")),
            _ => return Err(format!("{} TXT records at {target}", texts.len())),
        };
        if !text.is_ascii() {
            return Err("explanation is not ASCII".to_string());
        }
        let parsed = spf::parse_macro_string(text, MacroContext::Explanation)
            .map_err(|e| format!("syntax error in explanation: {e}"))?;
        self.expand(&parsed, domain, true, node)
            .await
            .map_err(|d| d.message)
    }

    /// The receiver's default explanation, expanded as an explanation string.
    fn default_explanation(&self, trace: &mut Node) -> Option<String> {
        let text = self.req.default_explanation.as_ref()?;
        let domain = self.req.domain.as_str();
        let expanded = match spf::parse_macro_string(text, MacroContext::Explanation) {
            Ok(ms) => expand(&ms, &self.vars(domain, None), true).unwrap_or_else(|_| text.clone()),
            Err(_) => text.clone(),
        };
        self.emit(trace, || Event::Explanation {
            text: expanded.clone(),
            source: "default".to_string(),
        });
        Some(expanded)
    }
}

/// RFC 7208 §4.5 record selection, shared by `check_host` and the static expansion
/// (`eval::spf_tree`): the TXT records (`text` gives each one's joined text) split into the
/// candidates, which begin with "v=spf1" followed by SP or the end, and the others, each in
/// the order given. Exactly one candidate is the record; none gives "none", several a
/// permerror.
pub fn split_spf_records<T>(records: Vec<T>, text: impl Fn(&T) -> String) -> (Vec<T>, Vec<T>) {
    records
        .into_iter()
        .partition(|r| spf::is_spf_record(&text(r)))
}

/// RFC 7208 §4.5: the one TXT record of `texts` that begins with "v=spf1" followed by SP or
/// the end; none gives "none", several a permerror. The others are noted as ignored in
/// `node` (`None` when not tracing).
fn pick_spf_record(
    domain: &str,
    texts: Vec<String>,
    nxdomain: bool,
    mut node: Option<&mut Node>,
) -> Result<String, Box<HostResult>> {
    let (mut spf_texts, others) = split_spf_records(texts, |t| t.clone());
    if let Some(node) = node.as_deref_mut() {
        for text in others {
            node.push(Event::Ignored {
                text,
                reason: "not an SPF record (does not begin with \"v=spf1\")".to_string(),
            });
        }
    }
    match spf_texts.len() {
        0 => {
            let (code, why) = if nxdomain {
                (
                    code::NXDOMAIN,
                    format!("{domain} does not exist (NXDOMAIN)"),
                )
            } else {
                (code::NO_RECORD, format!("no SPF record at {domain}"))
            };
            let problem = Diagnostic::new(code, Severity::Info, "RFC 7208 §4.5", why);
            Err(Box::new(HostResult::new(SpfResult::None, Some(problem))))
        }
        1 => Ok(spf_texts.remove(0)),
        n => {
            if let Some(node) = node {
                for t in &spf_texts {
                    node.push(Event::Ignored {
                        text: t.clone(),
                        reason: "one of several SPF records".to_string(),
                    });
                }
            }
            Err(Box::new(HostResult::new(
                SpfResult::PermError,
                Some(Diagnostic::error(
                    code::MULTIPLE_RECORDS,
                    "RFC 7208 §4.5",
                    format!("{n} SPF records at {domain} (RFC 7208 §4.5 allows one)"),
                )),
            )))
        }
    }
}

/// A §4.6.4 counter past its limit: records a `limit` event naming `what` and returns the
/// permerror (`what` in quotes when it is a term as written); `None` within the limit.
fn over_limit(
    node: &mut Node,
    limit: &str,
    count: u32,
    max: u32,
    what: &str,
    quote: bool,
    noun: &str,
) -> Option<Diagnostic> {
    if count <= max {
        return None;
    }
    node.push(Event::Limit {
        limit: limit.to_string(),
        count,
        max,
        term: what.to_string(),
    });
    let shown = if quote {
        format!("\"{what}\"")
    } else {
        what.to_string()
    };
    let code = if limit == "void_lookups" {
        code::VOID_LOOKUP_LIMIT
    } else {
        code::DNS_LOOKUP_LIMIT
    };
    Some(Diagnostic::error(
        code,
        "RFC 7208 §4.6.4",
        format!("more than {max} {noun}: {shown} is number {count} (RFC 7208 §4.6.4)"),
    ))
}

/// RFC 7208 §4.3 domain checks on a name whose one trailing dot (if any) is already removed:
/// labels of 1..=63 octets, at least two labels, at most 253 octets, not an address literal.
pub fn check_domain_syntax(domain: &str) -> Result<(), String> {
    let d = domain;
    if d.is_empty() {
        return Err("empty name".into());
    }
    // RFC 7208 §2.3: a HELO may be an address literal (RFC 5321 §4.1.3), which is no domain
    // name; it is not looked up.
    if d.starts_with('[') && d.ends_with(']') {
        return Err("an address literal, not a domain name (RFC 5321 §4.1.3)".into());
    }
    if d.len() > 253 {
        return Err(format!("{} octets long (at most 253)", d.len()));
    }
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() < 2 {
        return Err("not a multi-label domain name".into());
    }
    for l in &labels {
        if l.is_empty() {
            return Err("empty label".into());
        }
        if l.len() > 63 {
            return Err(format!("label of {} octets (at most 63)", l.len()));
        }
    }
    Ok(())
}

fn is_same_or_subdomain(name: &str, parent: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let parent = parent.trim_end_matches('.').to_ascii_lowercase();
    name == parent || name.ends_with(&format!(".{parent}"))
}

/// True if the address record covers `ip` under the CIDR lengths.
fn addr_in(r: &RData, ip: IpAddr, cidr: DualCidr) -> bool {
    match (r, ip) {
        (RData::A(a), IpAddr::V4(ip)) => {
            Ipv4Net::new(*a, cidr.v4.unwrap_or(32)).is_ok_and(|n| n.contains(&ip))
        }
        (RData::Aaaa(a), IpAddr::V6(ip)) => {
            Ipv6Net::new(*a, cidr.v6.unwrap_or(128)).is_ok_and(|n| n.contains(&ip))
        }
        _ => false,
    }
}

fn cidr_suffix(ip: IpAddr, cidr: DualCidr) -> String {
    match (ip, cidr.v4, cidr.v6) {
        (IpAddr::V4(_), Some(l), _) => format!("/{l}"),
        (IpAddr::V6(_), _, Some(l)) => format!("/{l}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_for_null_sender_uses_helo() {
        let r = SpfRequest::new("192.0.2.1".parse().unwrap(), "", "mx.example.org");
        assert_eq!(r.domain, "mx.example.org");
        assert_eq!(r.sender, "postmaster@mx.example.org");
        let r = SpfRequest::new("192.0.2.1".parse().unwrap(), "<@a.example>", "h");
        assert_eq!(r.sender, "postmaster@a.example");
        let r = SpfRequest::new("192.0.2.1".parse().unwrap(), "a@b@c.example", "h");
        assert_eq!(
            (r.sender.as_str(), r.domain.as_str()),
            ("a@b@c.example", "c.example")
        );
    }

    #[test]
    fn domain_syntax() {
        assert!(check_domain_syntax("example.com").is_ok());
        // The caller removes one trailing dot; a dot left over is an empty label.
        assert!(check_domain_syntax("example.com.").is_err());
        assert!(check_domain_syntax("localhost").is_err());
        assert!(check_domain_syntax("[1.2.3.5]").is_err());
        assert!(check_domain_syntax("[ipv6:2001:db8::1]").is_err());
        assert!(check_domain_syntax("a..example").is_err());
        assert!(check_domain_syntax(&format!("{}.com", "a".repeat(64))).is_err());
    }
}
