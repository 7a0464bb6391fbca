//! DMARC evaluation: policy discovery (RFC 9989 §4.10 DNS Tree Walk by default; RFC 7489 §6.6.3
//! with the Public Suffix List for older receivers), Identifier Alignment of the SPF and DKIM
//! results with the author (header From) domain, policy selection (p, sp, np, t, pct) and the
//! disposition a receiver would apply. Every `_dmarc` query is in the trace, in order, with why
//! discovery stopped.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::dns::{Answer, RData, RType, Resolver};
use crate::eval::dkim::{DkimAuth, DkimResult};
use crate::eval::lookup::Lookup;
use crate::eval::spf::SpfResult;
use crate::eval::trace::{Event, Node};
use crate::psl;
use crate::record::dmarc::{
    self, AlignmentMode, Diagnostic, DmarcMode, DmarcRecord, EffectivePolicy, Policy, Psd, Severity,
};

/// The stable `code` of each DMARC evaluation problem (the [`Diagnostic`] in
/// [`DmarcOutput::problem`]); record remarks have theirs in [`dmarc::code`].
pub mod code {
    /// A DNS failure during policy discovery or the existence check: temperror.
    pub const DNS_ERROR: &str = "dmarc-dns-error";
    /// Discovery found no usable policy record: none.
    pub const NO_POLICY: &str = "dmarc-no-policy";
    /// The policy record has policy defects and no valid rua: permerror.
    pub const UNUSABLE_RECORD: &str = "dmarc-unusable-record";
    /// A temperror input (SPF, DKIM, an alignment lookup) kept pass or fail from being
    /// known (RFC 9989 §5.3.6): temperror.
    pub const UNDECIDED: &str = "dmarc-undecided";
}

/// At most this many `_dmarc` queries per DNS Tree Walk (RFC 9989 §4.10).
pub const MAX_TREE_WALK_QUERIES: usize = 8;

/// DMARC results (RFC 8601 §2.7.7 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DmarcResult {
    Pass,
    Fail,
    /// No DMARC policy applies (no record, or discovery ended without one).
    None,
    /// A DNS failure prevented a pass or fail (RFC 9989 §5.3.6).
    TempError,
    /// The policy record is unusable ("no DMARC processing", RFC 9989 §4.10.1).
    PermError,
}

impl DmarcResult {
    pub fn as_str(self) -> &'static str {
        match self {
            DmarcResult::Pass => "pass",
            DmarcResult::Fail => "fail",
            DmarcResult::None => "none",
            DmarcResult::TempError => "temperror",
            DmarcResult::PermError => "permerror",
        }
    }
}

impl fmt::Display for DmarcResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the receiver does with the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    None,
    Quarantine,
    Reject,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::None => "none",
            Disposition::Quarantine => "quarantine",
            Disposition::Reject => "reject",
        }
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Policy> for Disposition {
    fn from(p: Policy) -> Disposition {
        match p {
            Policy::None => Disposition::None,
            Policy::Quarantine => Disposition::Quarantine,
            Policy::Reject => Disposition::Reject,
        }
    }
}

/// One step down: reject → quarantine → none (RFC 9989 §4.7 `t=y`; RFC 7489 §6.6.4 `pct`).
fn one_level_below(p: Policy) -> Policy {
    match p {
        Policy::Reject => Policy::Quarantine,
        Policy::Quarantine | Policy::None => Policy::None,
    }
}

/// The SPF result as DMARC needs it: the result and the domain it was checked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfIdentity {
    pub result: SpfResult,
    /// The domain of the SPF check: MAIL FROM domain, or HELO for the null sender.
    pub domain: String,
    /// True when the HELO identity was checked (null sender).
    pub helo: bool,
}

/// The inputs of a DMARC evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcRequest {
    /// The Author Domain (RFC5322.From).
    pub from_domain: String,
    pub spf: SpfIdentity,
    pub dkim: Vec<DkimResult>,
    pub mode: DmarcMode,
    /// RFC 7489 `pct` sampling: the message's "random mod 100" value (0..=99). The policy
    /// applies when `sample < pct` (RFC 7489 §6.3).
    pub pct_sample: u8,
    /// Overall time for the DMARC queries when run alone ([`evaluate`]); `verdict::evaluate`
    /// gives [`discover`] the whole check's deadline instead.
    pub deadline: Option<Duration>,
}

/// Which authenticated identifier an alignment check is about (JSON `spf`, `dkim`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Identifier {
    Spf,
    Dkim,
}

impl Identifier {
    /// "SPF" or "DKIM", as a sentence names it.
    pub fn label(self) -> &'static str {
        match self {
            Identifier::Spf => "SPF",
            Identifier::Dkim => "DKIM",
        }
    }
}

/// The authentication result behind an alignment check, serialized as its RFC word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AuthResult {
    Spf(SpfResult),
    Dkim(DkimAuth),
}

impl AuthResult {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthResult::Spf(r) => r.as_str(),
            AuthResult::Dkim(r) => r.as_str(),
        }
    }

    /// Only a pass can align (RFC 9989 §4.4).
    pub fn passed(self) -> bool {
        matches!(
            self,
            AuthResult::Spf(SpfResult::Pass) | AuthResult::Dkim(DkimAuth::Pass)
        )
    }
}

/// Why an identifier is or is not aligned (RFC 9989 §4.4). JSON: the kebab-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlignmentReason {
    /// The authentication did not pass: only a pass can align.
    NotPass,
    /// The identifier is the author domain itself.
    SameDomain,
    /// Strict mode and the identifier is not exactly the author domain.
    StrictMismatch,
    /// Relaxed mode: the same Organizational Domain.
    SameOrganizationalDomain,
    /// Relaxed mode: a different Organizational Domain.
    DifferentOrganizationalDomain,
}

impl AlignmentReason {
    pub fn aligned(self) -> bool {
        matches!(
            self,
            AlignmentReason::SameDomain | AlignmentReason::SameOrganizationalDomain
        )
    }
}

/// One Identifier Alignment check (RFC 9989 §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlignmentCheck {
    pub identifier: Identifier,
    pub domain: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// The underlying authentication result.
    pub result: AuthResult,
    /// `relaxed` or `strict`.
    pub mode: AlignmentMode,
    pub aligned: bool,
    /// Why, typed.
    pub reason: AlignmentReason,
    /// Why, in one sentence.
    pub why: String,
}

/// An authenticated identifier to align: whose, which domain, and the result.
struct Authenticated<'a> {
    identifier: Identifier,
    domain: &'a str,
    selector: Option<String>,
    result: AuthResult,
}

/// The two domains policy selection speaks of.
#[derive(Clone, Copy)]
struct PolicyTarget<'a> {
    /// The Author Domain.
    author: &'a str,
    /// The DMARC Policy Domain.
    policy_domain: &'a str,
}

/// RFC 7489 `pct` sampling, stated deterministically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sampling {
    pub pct: u8,
    pub sample: u8,
    /// `sample < pct`: the policy applies to this message.
    pub applied: bool,
}

/// The DMARC outcome with its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcOutput {
    pub mode: DmarcMode,
    pub result: DmarcResult,
    /// The DMARC Policy Domain: where the applied record was found.
    pub domain: Option<String>,
    pub record: Option<String>,
    /// Remarks on the applied record (invalid, unknown, removed tags) for this mode.
    pub diagnostics: Vec<Diagnostic>,
    /// The Organizational Domain of the Author Domain, when determined.
    pub org_domain: Option<String>,
    pub policy: Option<Policy>,
    pub subdomain_policy: Option<Policy>,
    pub nonexistent_policy: Option<Policy>,
    /// The policy selected for this message (from p, sp or np), before `t` and `pct`.
    pub applied_policy: Option<Policy>,
    /// Which tag `applied_policy` came from: "p", "sp" or "np".
    pub policy_source: Option<String>,
    pub disposition: Disposition,
    pub spf_aligned: bool,
    pub dkim_aligned: bool,
    pub alignment: Vec<AlignmentCheck>,
    /// `t=y` (RFC 9989).
    pub testing: bool,
    pub sampling: Option<Sampling>,
    /// Whether the Author Domain exists (asked only when np could apply).
    pub from_domain_exists: Option<bool>,
    /// Why, for none, permerror and temperror: a typed [`Diagnostic`] (codes in [`code`]).
    pub problem: Option<Diagnostic>,
    /// The disposition in one sentence.
    pub reason: String,
    pub trace: Node,
}

impl DmarcOutput {
    /// Nothing decided yet: result none, disposition none, no evidence.
    fn empty(mode: DmarcMode) -> DmarcOutput {
        DmarcOutput {
            mode,
            result: DmarcResult::None,
            domain: None,
            record: None,
            diagnostics: Vec::new(),
            org_domain: None,
            policy: None,
            subdomain_policy: None,
            nonexistent_policy: None,
            applied_policy: None,
            policy_source: None,
            disposition: Disposition::None,
            spf_aligned: false,
            dkim_aligned: false,
            alignment: Vec::new(),
            testing: false,
            sampling: None,
            from_domain_exists: None,
            problem: None,
            reason: String::new(),
            trace: Node::new(Event::Note {
                text: String::new(),
            }),
        }
    }
}

/// What a `_dmarc` query produced.
#[derive(Debug, Clone)]
enum Fetched {
    Record(Box<(String, DmarcRecord)>),
    NoRecord,
    /// Several DMARC records: all discarded (RFC 9989 §4.10 step 2).
    Multiple(usize),
    /// One record starting with v=DMARC1 that still fails to parse.
    Invalid(String),
    /// A DNS failure.
    Failure(String),
}

/// Runs DMARC for the request: policy discovery, then the evaluation with the SPF and DKIM
/// results.
pub async fn evaluate(resolver: Arc<dyn Resolver>, req: &DmarcRequest) -> DmarcOutput {
    let deadline = req.deadline.map(|d| tokio::time::Instant::now() + d);
    discover(resolver, &req.from_domain, req.mode, deadline)
        .await
        .evaluate(req)
        .await
}

/// Policy discovery done, Identifier Alignment not yet. Discovery needs only the author
/// domain, not the SPF or DKIM results, so a receiver runs it while SPF is evaluated
/// (`verdict::evaluate`); [`Discovered::evaluate`] then combines the two.
pub struct Discovered {
    ev: Evaluator,
    author: String,
    root: Node,
    discovery: Discovery,
}

/// DMARC policy discovery for the author domain `from_domain` (RFC 9989 §4.10.1, RFC 7489
/// §6.6.3), its queries bounded by `deadline`, an instant the caller may share with SPF.
pub async fn discover(
    resolver: Arc<dyn Resolver>,
    from_domain: &str,
    mode: DmarcMode,
    deadline: Option<tokio::time::Instant>,
) -> Discovered {
    discover_traced(resolver, from_domain, mode, deadline, true).await
}

/// [`discover`], building the trace only when `trace` is true; the evaluation's output is
/// otherwise the same, its `trace` then [`Node::empty`].
pub async fn discover_traced(
    resolver: Arc<dyn Resolver>,
    from_domain: &str,
    mode: DmarcMode,
    deadline: Option<tokio::time::Instant>,
    trace: bool,
) -> Discovered {
    let mut ev = Evaluator {
        dns: Lookup::until(resolver, deadline).traced(trace),
        trace,
        mode,
        cache: HashMap::new(),
        orgs: HashMap::new(),
    };
    let author = from_domain.trim_end_matches('.').to_ascii_lowercase();
    if !trace {
        let discovery = ev.discover(&author, &mut Node::empty()).await;
        return Discovered {
            ev,
            author,
            root: Node::empty(),
            discovery,
        };
    }
    let mut root = Node::new(Event::Step {
        title: format!("DMARC for {author} ({mode})"),
    });
    // 1. Policy discovery (RFC 9989 §4.10.1 / RFC 7489 §6.6.3).
    let mut disc = Node::new(Event::Step {
        title: match mode {
            DmarcMode::Rfc9989 => "policy discovery (RFC 9989 §4.10.1)".to_string(),
            DmarcMode::Rfc7489 => "policy discovery (RFC 7489 §6.6.3)".to_string(),
        },
    });
    let discovery = ev.discover(&author, &mut disc).await;
    root.children.push(disc);
    Discovered {
        ev,
        author,
        root,
        discovery,
    }
}

impl Discovered {
    /// The rest of DMARC over the discovered policy: alignment of the request's SPF and DKIM
    /// results, policy selection, t and pct. The request's author domain and mode are the ones
    /// discovery ran with.
    pub async fn evaluate(self, req: &DmarcRequest) -> DmarcOutput {
        let Discovered {
            mut ev,
            author,
            root,
            discovery,
        } = self;
        ev.run(req, author, root, discovery).await
    }
}

struct Evaluator {
    dns: Lookup,
    /// Build the trace (`SpfRequest::trace` in `verdict::evaluate`); off, no event is built
    /// and the output's trace is [`Node::empty`].
    trace: bool,
    mode: DmarcMode,
    /// `_dmarc` answers by domain, so repeated walks ask each name once.
    cache: HashMap<String, Fetched>,
    /// Organizational Domains determined so far, by domain.
    orgs: HashMap<String, String>,
}

/// The names a DNS Tree Walk visits from `start` (RFC 9989 §4.10): the start, then (x < 8)
/// its parents one label at a time, or (x >= 8) first the name shortened to 7 labels; at most
/// eight names.
pub fn tree_walk_names(start: &str) -> Vec<String> {
    let labels: Vec<&str> = start.split('.').filter(|l| !l.is_empty()).collect();
    let mut names = vec![labels.join(".")];
    let x = labels.len();
    let mut n = if x >= 8 { 7 } else { x.saturating_sub(1) };
    while n >= 1 && names.len() < MAX_TREE_WALK_QUERIES {
        names.push(labels.get(x - n..).unwrap_or_default().join("."));
        n -= 1;
    }
    names
}

/// `name` extended by one label of `start` (the "one label below" of RFC 9989 §4.10.2).
fn one_label_below(start: &str, name: &str) -> String {
    let start_labels: Vec<&str> = start.split('.').collect();
    let n = name.split('.').count() + 1;
    if n > start_labels.len() {
        return start.to_string();
    }
    start_labels
        .get(start_labels.len() - n..)
        .unwrap_or_default()
        .join(".")
}

impl Evaluator {
    /// Adds the event built by `event` to `node`, when tracing; otherwise builds nothing.
    fn emit(&self, node: &mut Node, event: impl FnOnce() -> Event) {
        if self.trace {
            node.push(event());
        }
    }

    async fn fetch(&mut self, domain: &str, node: &mut Node) -> Fetched {
        if let Some(f) = self.cache.get(domain) {
            self.emit(node, || Event::Note {
                text: format!("_dmarc.{domain}: already asked in this evaluation"),
            });
            return f.clone();
        }
        let qname = format!("_dmarc.{domain}");
        // RFC 1035 §2.3.4: a name over 253 octets (255 on the wire) cannot exist, so it holds
        // no record; it is not sent, live or offline.
        if qname.len() > 253 {
            self.emit(node, || Event::Note {
                text: format!(
                    "_dmarc.{domain} is {} octets long (at most 253, RFC 1035 §2.3.4): no such name, no record; not queried",
                    qname.len()
                ),
            });
            self.cache.insert(domain.to_string(), Fetched::NoRecord);
            return Fetched::NoRecord;
        }
        let answer = self.dns.query(&qname, RType::Txt, node).await;
        let fetched = if answer.is_failure() {
            Fetched::Failure(format!(
                "DNS {} for TXT {qname}{}",
                answer.kind(),
                answer.cause_suffix()
            ))
        } else {
            let mut found = Vec::new();
            for text in answer.records().iter().filter_map(RData::txt_joined) {
                if dmarc::is_dmarc_record(&text) {
                    found.push(text);
                } else {
                    self.emit(node, || Event::Ignored {
                        text,
                        reason: "not a DMARC record (does not begin with v=DMARC1)".to_string(),
                    });
                }
            }
            match found.len() {
                0 => Fetched::NoRecord,
                1 => {
                    let text = found.remove(0);
                    self.emit(node, || Event::Record { text: text.clone() });
                    match dmarc::parse(&text) {
                        Ok(record) => {
                            if self.trace {
                                for d in record.diagnostics_for(self.mode) {
                                    node.push(Event::Diagnostic(d));
                                }
                            }
                            Fetched::Record(Box::new((text, record)))
                        }
                        Err(e) => Fetched::Invalid(e.to_string()),
                    }
                }
                n => {
                    for text in found {
                        self.emit(node, || Event::Ignored {
                            text,
                            reason: format!("one of {n} DMARC records at {qname}: all discarded"),
                        });
                    }
                    Fetched::Multiple(n)
                }
            }
        };
        self.cache.insert(domain.to_string(), fetched.clone());
        fetched
    }

    /// A DNS Tree Walk from `start` (RFC 9989 §4.10): the valid records found, in order,
    /// stopping at a record with psd=y or psd=n. `skip_start` leaves out the first name
    /// (policy discovery has asked it already).
    async fn tree_walk(
        &mut self,
        start: &str,
        node: &mut Node,
    ) -> Result<Vec<(String, DmarcRecord)>, String> {
        let mut found = Vec::new();
        for name in tree_walk_names(start) {
            match self.fetch(&name, node).await {
                Fetched::Failure(e) => return Err(e),
                Fetched::Record(b) => {
                    let (_, record) = *b;
                    let stop = record.psd != Psd::U;
                    found.push((name.clone(), record));
                    if stop {
                        self.emit(node, || Event::Note {
                            text: format!("_dmarc.{name} has psd=y or psd=n: the walk stops"),
                        });
                        break;
                    }
                }
                Fetched::Multiple(n) => self.emit(node, || Event::Note {
                    text: format!(
                        "_dmarc.{name}: {n} DMARC records, all discarded (RFC 9989 §4.10 step 2)"
                    ),
                }),
                Fetched::Invalid(e) => self.emit(node, || Event::Note {
                    text: format!("_dmarc.{name}: unusable record ({e}), discarded"),
                }),
                Fetched::NoRecord => {}
            }
        }
        Ok(found)
    }

    /// The Organizational Domain selection of RFC 9989 §4.10.2 over a walk's records.
    fn select_org(start: &str, found: &[(String, DmarcRecord)]) -> (String, String) {
        for (name, record) in found {
            match record.psd {
                Psd::N => {
                    return (name.clone(), format!("_dmarc.{name} has psd=n"));
                }
                Psd::Y if name != start => {
                    let org = one_label_below(start, name);
                    return (org, format!("_dmarc.{name} has psd=y: one label below it"));
                }
                _ => {}
            }
        }
        match found.last() {
            Some((name, _)) => (
                name.clone(),
                "the record found at the name with the fewest labels".to_string(),
            ),
            None => (
                start.to_string(),
                "no record found: the domain itself".to_string(),
            ),
        }
    }

    /// The Organizational Domain of `domain` in the current mode.
    async fn org_domain(&mut self, domain: &str, node: &mut Node) -> Result<String, String> {
        if let Some(org) = self.orgs.get(domain) {
            return Ok(org.clone());
        }
        let org = self.find_org_domain(domain, node).await?;
        self.orgs.insert(domain.to_string(), org.clone());
        Ok(org)
    }

    async fn find_org_domain(&mut self, domain: &str, node: &mut Node) -> Result<String, String> {
        match self.mode {
            DmarcMode::Rfc7489 => {
                let org = psl::organizational_domain(domain);
                self.emit(node, || Event::Note {
                    text: format!(
                        "organizational domain of {domain}: {org} (Public Suffix List, RFC 7489 §3.2)"
                    ),
                });
                Ok(org)
            }
            DmarcMode::Rfc9989 => {
                let mut walk = Node::new(Event::Step {
                    title: format!(
                        "DNS Tree Walk for the organizational domain of {domain} (RFC 9989 §4.10.2)"
                    ),
                });
                let result = self.tree_walk(domain, &mut walk).await;
                let out = match result {
                    Ok(found) => {
                        let (org, why) = Self::select_org(domain, &found);
                        self.emit(&mut walk, || Event::Note {
                            text: format!("organizational domain: {org} ({why})"),
                        });
                        Ok(org)
                    }
                    Err(e) => {
                        self.emit(&mut walk, || Event::Note {
                            text: format!("walk failed: {e}"),
                        });
                        Err(e)
                    }
                };
                node.children.push(walk);
                out
            }
        }
    }

    /// Policy discovery; returns the policy domain and record, the org domain if the walk
    /// determined it, or the reason there is none.
    async fn discover(&mut self, author: &str, node: &mut Node) -> Discovery {
        match self.fetch(author, node).await {
            Fetched::Failure(e) => return Discovery::TempError(e),
            Fetched::Record(b) => {
                let (text, record) = *b;
                self.emit(node, || Event::Note {
                    text: format!("policy record found at the author domain _dmarc.{author}"),
                });
                return Discovery::Found {
                    domain: author.to_string(),
                    text,
                    record: Box::new(record),
                    org: None,
                };
            }
            Fetched::Multiple(n) if self.mode == DmarcMode::Rfc7489 => {
                // RFC 7489 §6.6.3 step 5: several records end discovery.
                return Discovery::NotFound(format!(
                    "{n} DMARC records at _dmarc.{author}: discovery ends (RFC 7489 §6.6.3)"
                ));
            }
            Fetched::Multiple(n) => self.emit(node, || Event::Note {
                text: format!(
                    "{n} DMARC records at _dmarc.{author}, all discarded (RFC 9989 §4.10 step 2)"
                ),
            }),
            Fetched::Invalid(e) => self.emit(node, || Event::Note {
                text: format!("unusable record at _dmarc.{author} ({e}), discarded"),
            }),
            Fetched::NoRecord => {}
        }
        match self.mode {
            DmarcMode::Rfc7489 => {
                let org = psl::organizational_domain(author);
                if org == author {
                    return Discovery::NotFound(format!(
                        "no DMARC record at _dmarc.{author}, which is its own organizational domain"
                    ));
                }
                self.emit(node, || Event::Note {
                    text: format!(
                        "no record at the author domain: asking its organizational domain {org} (Public Suffix List, RFC 7489 §6.6.3 step 3)"
                    ),
                });
                match self.fetch(&org, node).await {
                    Fetched::Failure(e) => Discovery::TempError(e),
                    Fetched::Record(b) => {
                        let (text, record) = *b;
                        Discovery::Found {
                            domain: org.clone(),
                            text,
                            record: Box::new(record),
                            org: Some(org),
                        }
                    }
                    Fetched::Multiple(n) => Discovery::NotFound(format!(
                        "{n} DMARC records at _dmarc.{org}: discovery ends (RFC 7489 §6.6.3 step 5)"
                    )),
                    Fetched::Invalid(e) => {
                        Discovery::NotFound(format!("unusable record at _dmarc.{org}: {e}"))
                    }
                    Fetched::NoRecord => Discovery::NotFound(format!(
                        "no DMARC record at _dmarc.{author} or _dmarc.{org}"
                    )),
                }
            }
            DmarcMode::Rfc9989 => {
                self.emit(node, || Event::Note {
                    text: "no record at the author domain: DNS Tree Walk (RFC 9989 §4.10.1)"
                        .to_string(),
                });
                // The walk from the author domain: its first name (the author) is cached.
                let found = match self.tree_walk(author, node).await {
                    Ok(f) => f,
                    Err(e) => return Discovery::TempError(e),
                };
                let (org, why) = Self::select_org(author, &found);
                self.emit(node, || Event::Note {
                    text: format!("organizational domain: {org} ({why})"),
                });
                let at_org = found.iter().find(|(n, _)| *n == org);
                let psd = found.iter().find(|(_, r)| r.psd == Psd::Y);
                match at_org.or(psd) {
                    Some((name, record)) => {
                        let text = match self.cache.get(name) {
                            Some(Fetched::Record(b)) => b.0.clone(),
                            _ => String::new(),
                        };
                        Discovery::Found {
                            domain: name.clone(),
                            text,
                            record: Box::new(record.clone()),
                            org: Some(org),
                        }
                    }
                    None => Discovery::NotFound(format!(
                        "no DMARC policy record for {author}, its organizational domain or a public suffix domain"
                    )),
                }
            }
        }
    }

    /// The whole evaluation, step by step; each step that ends it returns `None` (or false)
    /// after filling `out` with the result and why.
    /// `discovery` was run beforehand (concurrently with SPF, see [`discover`]); its trace is
    /// already in `root`.
    async fn run(
        &mut self,
        req: &DmarcRequest,
        author: String,
        mut root: Node,
        discovery: Discovery,
    ) -> DmarcOutput {
        let mut out = DmarcOutput::empty(self.mode);
        // 1. The outcome of policy discovery (RFC 9989 §4.10.1 / RFC 7489 §6.6.3).
        let Some((policy_domain, record)) = self.discovery_step(discovery, &mut out) else {
            return finish(out, root, self.trace);
        };
        // 2. The policies the record states (RFC 9989 §4.7, §4.10.1; RFC 7489 §6.3, §6.6.3).
        let Some(effective) = self.stated_policies(&record, &policy_domain, &mut out, &mut root)
        else {
            return finish(out, root, self.trace);
        };
        // 3. Identifier Alignment (RFC 9989 §4.4, §4.10.2; RFC 7489 §3.1).
        let alignment_errors = self
            .alignment_step(req, &author, &record, &mut out, &mut root)
            .await;
        // 4. Pass or fail (RFC 9989 §5.3.5, §5.3.6).
        if !pass_or_fail(req, &author, alignment_errors, &mut out) {
            return finish(out, root, self.trace);
        }
        // 5. Which policy (p, sp or np).
        let mut select = Node::new(Event::Step {
            title: "policy selection".to_string(),
        });
        let target = PolicyTarget {
            author: &author,
            policy_domain: &policy_domain,
        };
        let Some((applied, source)) = self
            .select_policy(target, &record, &effective, &mut out, &mut select)
            .await
        else {
            root.children.push(select);
            return finish(out, root, self.trace);
        };
        // 6. Testing and sampling, then the disposition.
        self.disposition(
            req,
            target,
            &record,
            (applied, source),
            &mut out,
            &mut select,
        );
        root.children.push(select);
        finish(out, root, self.trace)
    }

    /// Step 1: the outcome of policy discovery; the policy domain and its record, or `None`
    /// with the result (none or temperror) in `out`.
    fn discovery_step(
        &self,
        discovery: Discovery,
        out: &mut DmarcOutput,
    ) -> Option<(String, DmarcRecord)> {
        match discovery {
            Discovery::TempError(e) => {
                out.result = DmarcResult::TempError;
                out.reason = format!("DMARC could not be evaluated: {e}; no policy applied");
                out.problem = Some(Diagnostic::error(code::DNS_ERROR, "RFC 9989 §4.10", e));
                None
            }
            Discovery::NotFound(why) => {
                out.result = DmarcResult::None;
                out.reason = format!("no DMARC policy applies: {why}");
                let rfc = match self.mode {
                    DmarcMode::Rfc9989 => "RFC 9989 §4.10.1",
                    DmarcMode::Rfc7489 => "RFC 7489 §6.6.3",
                };
                out.problem = Some(Diagnostic::new(code::NO_POLICY, Severity::Info, rfc, why));
                None
            }
            Discovery::Found {
                domain,
                text,
                record,
                org,
            } => {
                out.domain = Some(domain.clone());
                out.record = Some(text);
                out.diagnostics = record.diagnostics_for(self.mode);
                out.org_domain = org;
                Some((domain, *record))
            }
        }
    }

    /// Step 2: the policies the record states, after the defaulting rules; `None` with a
    /// permerror in `out` when the record is unusable.
    fn stated_policies(
        &self,
        record: &DmarcRecord,
        policy_domain: &str,
        out: &mut DmarcOutput,
        root: &mut Node,
    ) -> Option<EffectivePolicy> {
        let effective = match record.effective_policy(self.mode) {
            Ok(e) => e,
            Err(problem) => {
                out.result = DmarcResult::PermError;
                let rfc = match self.mode {
                    DmarcMode::Rfc9989 => "RFC 9989 §4.10.1",
                    DmarcMode::Rfc7489 => "RFC 7489 §6.6.3",
                };
                out.problem = Some(Diagnostic::error(
                    code::UNUSABLE_RECORD,
                    rfc,
                    format!("_dmarc.{policy_domain}: {problem}"),
                ));
                out.reason = format!(
                    "the DMARC record at _dmarc.{policy_domain} is unusable ({problem}); no policy applied"
                );
                return None;
            }
        };
        if effective.as_if_p_none {
            self.emit(root, || Event::Note {
                text: format!(
                    "policy tags invalid but rua is valid: treated as p=none ({})",
                    match self.mode {
                        DmarcMode::Rfc9989 => "RFC 9989 §4.10.1",
                        DmarcMode::Rfc7489 => "RFC 7489 §6.6.3",
                    }
                ),
            });
        }
        out.policy = Some(effective.p);
        out.subdomain_policy = Some(effective.sp);
        if self.mode == DmarcMode::Rfc9989 {
            out.nonexistent_policy = Some(effective.np);
            out.testing = record.t;
        }
        Some(effective)
    }

    /// Step 3: Identifier Alignment of the SPF result and each DKIM result; returns the DNS
    /// failures that kept a check from being made.
    async fn alignment_step(
        &mut self,
        req: &DmarcRequest,
        author: &str,
        record: &DmarcRecord,
        out: &mut DmarcOutput,
        root: &mut Node,
    ) -> Vec<String> {
        let mut align = Node::new(Event::Step {
            title: "identifier alignment".to_string(),
        });
        let mut errors = Vec::new();
        let spf = Authenticated {
            identifier: Identifier::Spf,
            domain: &req.spf.domain,
            selector: None,
            result: AuthResult::Spf(req.spf.result),
        };
        match self.align(spf, author, record.aspf, &mut align).await {
            Ok(c) => {
                out.spf_aligned = c.aligned;
                out.alignment.push(c);
            }
            Err(e) => errors.push(e),
        }
        for d in &req.dkim {
            let dkim = Authenticated {
                identifier: Identifier::Dkim,
                domain: &d.domain,
                selector: d.selector.clone(),
                result: AuthResult::Dkim(d.result),
            };
            match self.align(dkim, author, record.adkim, &mut align).await {
                Ok(c) => {
                    out.dkim_aligned |= c.aligned;
                    out.alignment.push(c);
                }
                Err(e) => errors.push(e),
            }
        }
        if req.dkim.is_empty() {
            self.emit(&mut align, || Event::Note {
                text: "no DKIM signature".to_string(),
            });
        }
        root.children.push(align);
        if out.org_domain.is_none() {
            out.org_domain = self.orgs.get(author).cloned();
        }
        errors
    }

    /// Step 5: the policy for this message (RFC 9989 §4.10.1: p for the policy domain itself,
    /// sp for existing subdomains, np for non-existent ones; RFC 7489 §6.6.3: p or sp) and the
    /// tag it came from; `None` with a temperror in `out` when existence could not be told.
    async fn select_policy(
        &mut self,
        target: PolicyTarget<'_>,
        record: &DmarcRecord,
        effective: &EffectivePolicy,
        out: &mut DmarcOutput,
        select: &mut Node,
    ) -> Option<(Policy, &'static str)> {
        let PolicyTarget {
            author,
            policy_domain,
        } = target;
        // RFC 9989 §4.10.1 / RFC 7489 §6.6.3 step 6: an invalid p, sp or np with a valid rua
        // means acting "as if a record containing p=none was retrieved": that record has no
        // sp or np, so p=none is the policy for the author domain and its subdomains alike.
        // Without an np tag, np falls back to sp (RFC 9989 §4.7 np) and existence cannot change
        // the policy, so it is not asked (nor can its DNS failure turn a fail into temperror).
        let np_stated = record.np.is_some() && !effective.as_if_p_none;
        let sp_source = if record.sp.is_some() && !effective.as_if_p_none {
            "sp"
        } else {
            "p"
        };
        let (applied, source) = if author == policy_domain {
            (effective.p, "p")
        } else if self.mode == DmarcMode::Rfc9989 && np_stated {
            match self.exists(author, select).await {
                Err(e) => {
                    out.result = DmarcResult::TempError;
                    out.reason = format!("DMARC could not be evaluated: {e}; no policy applied");
                    out.problem = Some(Diagnostic::error(code::DNS_ERROR, "RFC 9989 §4.10.1", e));
                    return None;
                }
                Ok(true) => {
                    out.from_domain_exists = Some(true);
                    (effective.sp, sp_source)
                }
                Ok(false) => {
                    out.from_domain_exists = Some(false);
                    (effective.np, "np")
                }
            }
        } else {
            (effective.sp, sp_source)
        };
        self.emit(select, || Event::Note {
            text: format!("{source}={applied} applies to {author} (policy domain {policy_domain})"),
        });
        out.applied_policy = Some(applied);
        out.policy_source = Some(source.to_string());
        Some((applied, source))
    }

    /// Step 6: testing (`t=y`, RFC 9989 §4.7) and sampling (`pct`, RFC 7489 §6.6.4) soften
    /// the applied policy one level; the result is the disposition and its sentence.
    fn disposition(
        &self,
        req: &DmarcRequest,
        target: PolicyTarget<'_>,
        record: &DmarcRecord,
        (applied, source): (Policy, &'static str),
        out: &mut DmarcOutput,
        select: &mut Node,
    ) {
        let PolicyTarget {
            author,
            policy_domain,
        } = target;
        let mut enacted = applied;
        let mut softened = None;
        if self.mode == DmarcMode::Rfc9989 && record.t && applied != Policy::None {
            enacted = one_level_below(applied);
            softened = Some(format!(
                "t=y (testing): one level below, {enacted} (RFC 9989 §4.7)"
            ));
        }
        if self.mode == DmarcMode::Rfc7489 {
            let pct = record.pct.unwrap_or(100);
            let applies = req.pct_sample < pct;
            out.sampling = Some(Sampling {
                pct,
                sample: req.pct_sample,
                applied: applies,
            });
            self.emit(select, || Event::Note {
                text: format!(
                    "pct={pct}: the policy applies to {pct}% of failing mail; sample {} {} (RFC 7489 §6.6.4)",
                    req.pct_sample,
                    if applies { "< pct: applied" } else { ">= pct: not applied" }
                ),
            });
            if !applies && applied != Policy::None {
                enacted = one_level_below(applied);
                softened = Some(format!(
                    "pct={pct}, sample {}: not sampled, one level below, {enacted} (RFC 7489 §6.6.4)",
                    req.pct_sample
                ));
            }
        }
        if let Some(s) = &softened {
            self.emit(select, || Event::Note { text: s.clone() });
        }
        out.disposition = enacted.into();
        let not_aligned = "neither SPF nor DKIM passed aligned";
        out.reason = match &softened {
            None => format!(
                "DMARC fail: {not_aligned} with {author}; {source}={applied} from _dmarc.{policy_domain}: {}",
                disposition_word(out.disposition)
            ),
            Some(s) => format!(
                "DMARC fail: {not_aligned} with {author}; {source}={applied} from _dmarc.{policy_domain}, but {s}: {}",
                disposition_word(out.disposition)
            ),
        };
    }

    /// Checks one authenticated identifier against the author domain (RFC 9989 §4.4).
    async fn align(
        &mut self,
        auth: Authenticated<'_>,
        author: &str,
        mode: AlignmentMode,
        node: &mut Node,
    ) -> Result<AlignmentCheck, String> {
        let domain = auth.domain.trim_end_matches('.').to_ascii_lowercase();
        let label = auth.identifier.label();
        let result = auth.result.as_str();
        let (reason, why) = if !auth.result.passed() {
            (
                AlignmentReason::NotPass,
                format!("{label} {result} for {domain}: only a pass can align"),
            )
        } else if domain == author {
            (
                AlignmentReason::SameDomain,
                format!("{label} pass for {domain}, the author domain itself"),
            )
        } else if mode == AlignmentMode::Strict {
            (
                AlignmentReason::StrictMismatch,
                format!("{label} pass for {domain}, but strict alignment needs exactly {author}"),
            )
        } else {
            // Relaxed: the same Organizational Domain (RFC 9989 §4.4, §3.2.10.1).
            let a = self.org_domain(author, node).await?;
            let b = self.org_domain(&domain, node).await?;
            if a == b {
                (
                    AlignmentReason::SameOrganizationalDomain,
                    format!(
                        "{label} pass for {domain}: same organizational domain {a} as {author} (relaxed)"
                    ),
                )
            } else {
                (
                    AlignmentReason::DifferentOrganizationalDomain,
                    format!(
                        "{label} pass for {domain} (organizational domain {b}), not aligned with {author} (organizational domain {a})"
                    ),
                )
            }
        };
        let check = AlignmentCheck {
            identifier: auth.identifier,
            domain,
            selector: auth.selector,
            result: auth.result,
            mode,
            aligned: reason.aligned(),
            reason,
            why,
        };
        self.emit(node, || Event::Note {
            text: format!(
                "{}: {}",
                if check.aligned {
                    "aligned"
                } else {
                    "not aligned"
                },
                check.why
            ),
        });
        Ok(check)
    }

    /// Whether a domain exists. RFC 9989 §3.2.13 takes the meaning of RFC 8020: "if the
    /// response code received for a query for a domain name is NXDOMAIN, then the domain name
    /// and any possible subdomains do not exist". So one query decides: NXDOMAIN means
    /// non-existent; NOERROR, with records or without (NODATA, e.g. a name with only TXT
    /// records, or an empty non-terminal), means it exists. (The "no A, AAAA or MX" test is
    /// RFC 9091's experimental definition, which RFC 9989 does not keep.)
    async fn exists(&mut self, domain: &str, node: &mut Node) -> Result<bool, String> {
        self.emit(node, || Event::Note {
            text: format!(
                "{domain} is a subdomain of the policy domain: does it exist? (NXDOMAIN means no; RFC 9989 §3.2.13, RFC 8020)"
            ),
        });
        let answer: Answer = self.dns.query(domain, RType::A, node).await;
        if answer.is_failure() {
            return Err(format!(
                "DNS {} for A {domain}{}",
                answer.kind(),
                answer.cause_suffix()
            ));
        }
        Ok(answer != Answer::NxDomain)
    }
}

enum Discovery {
    Found {
        domain: String,
        text: String,
        record: Box<DmarcRecord>,
        org: Option<String>,
    },
    NotFound(String),
    TempError(String),
}

fn disposition_word(d: Disposition) -> &'static str {
    match d {
        Disposition::None => "delivered (disposition none)",
        Disposition::Quarantine => "quarantined",
        Disposition::Reject => "rejected",
    }
}

/// Step 4: pass when SPF or DKIM passed aligned; temperror when a DNS failure kept that from
/// being known (RFC 9989 §5.3.6); otherwise fail. Returns true to go on to the policy (fail).
fn pass_or_fail(
    req: &DmarcRequest,
    author: &str,
    alignment_errors: Vec<String>,
    out: &mut DmarcOutput,
) -> bool {
    if out.spf_aligned || out.dkim_aligned {
        out.result = DmarcResult::Pass;
        let by = match (out.spf_aligned, out.dkim_aligned) {
            (true, true) => "SPF and DKIM",
            (true, false) => "SPF",
            _ => "DKIM",
        };
        out.reason = format!("DMARC pass: {by} passed aligned with {author}; delivered");
        return false;
    }
    let spf_temp = req.spf.result == SpfResult::TempError;
    let dkim_temp = req.dkim.iter().any(|d| d.result == DkimAuth::TempError);
    if spf_temp || dkim_temp || !alignment_errors.is_empty() {
        let mut why: Vec<String> = alignment_errors;
        if spf_temp {
            why.push("SPF temperror".to_string());
        }
        if dkim_temp {
            why.push("DKIM temperror".to_string());
        }
        out.result = DmarcResult::TempError;
        out.reason = format!(
            "DMARC could not pass or fail ({}); no policy applied (RFC 9989 §5.3.6)",
            why.join("; ")
        );
        out.problem = Some(Diagnostic::error(
            code::UNDECIDED,
            "RFC 9989 §5.3.6",
            why.join("; "),
        ));
        return false;
    }
    out.result = DmarcResult::Fail;
    true
}

/// The output with its trace (with the result event), or [`Node::empty`] when not tracing.
fn finish(mut out: DmarcOutput, mut root: Node, trace: bool) -> DmarcOutput {
    if !trace {
        out.trace = Node::empty();
        return out;
    }
    root.push(Event::Result {
        result: out.result.into(),
        reason: Some(out.reason.clone()),
    });
    out.trace = root;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_walk_names_follow_rfc9989_4_10() {
        assert_eq!(
            tree_walk_names("a.mail.example.com"),
            [
                "a.mail.example.com",
                "mail.example.com",
                "example.com",
                "com"
            ]
        );
        // The RFC's own example: eight queries for a 13-label name.
        assert_eq!(
            tree_walk_names("a.b.c.d.e.f.g.h.i.j.mail.example.com"),
            [
                "a.b.c.d.e.f.g.h.i.j.mail.example.com",
                "g.h.i.j.mail.example.com",
                "h.i.j.mail.example.com",
                "i.j.mail.example.com",
                "j.mail.example.com",
                "mail.example.com",
                "example.com",
                "com"
            ]
        );
        let eight = tree_walk_names("a.b.c.d.e.f.example.com");
        assert_eq!(eight.len(), 8);
        assert_eq!(eight[1], "b.c.d.e.f.example.com");
        assert!(tree_walk_names("h.g.f.e.d.c.b.a.example.com").len() <= MAX_TREE_WALK_QUERIES);
    }

    #[test]
    fn one_label_below_psd() {
        assert_eq!(one_label_below("a.mail.example.com", "com"), "example.com");
        assert_eq!(
            one_label_below("mail.example.com", "example.com"),
            "mail.example.com"
        );
    }
}
