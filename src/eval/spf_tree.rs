//! The SPF policy of a domain expanded without a client IP (`spfcheck tree`, `spfcheck lint`):
//! the include/redirect tree with each record, each term and its position, which terms cost a
//! DNS lookup (RFC 7208 §4.6.4) with the running total in evaluation order and the count per
//! include subtree, the void lookups, the MX names of each `mx` term, every network a
//! pass-qualified term authorises (aggregated with `ipnet`), and the problems a receiver would
//! turn into a permerror or temperror. `check_host()` (`eval::spf`) stops at the first match or
//! error; this walks every term of every record, as if nothing matched, so the whole tree is
//! shown even past the limits.
//!
//! Rules (each cited where implemented):
//! - Records are selected as `check_host()` selects them (`spf::split_spf_records`, §4.5) and
//!   parsed by `record::spf`; DNS goes through `eval::lookup::Lookup` (recorded, RFC 8616 names,
//!   one deadline).
//! - Terms are walked left to right; terms after the first `all` are never evaluated (§4.6.2,
//!   §5.1) and are listed but not counted; `redirect=` is followed after the terms, only when
//!   the record has no `all` (§6.1).
//! - A macro other than `%{d}` needs the message (`%{i}`, `%{s}`, `%{l}`, `%{o}`, `%{h}`,
//!   `%{p}`, `%{v}`): the term still counts a lookup, is marked "depends on the message", and
//!   nothing is queried for it (never the unexpanded name).
//! - Void lookups are counted as for an IPv4 client: the TXT lookup of an include or redirect
//!   target, the A lookup of `a` and `exists`, the MX lookup of `mx` (§4.6.4; the address
//!   lookups of MX hosts are not void lookups, as in `eval::spf`).
//! - Bounds: at most [`MAX_NODES`] records are expanded and nesting stops at
//!   [`spf::MAX_NESTING`] (the evaluator's cap); beyond them a node is "not expanded".

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::Serialize;

use crate::diag::{Diagnostic, Severity};
use crate::dns::{Answer, RData, RType, Resolver};
use crate::eval::lookup::Lookup;
use crate::eval::macros::{self, MacroVars, truncate_domain};
use crate::eval::spf::{self, MAX_NESTING, check_domain_syntax, code, split_spf_records};
use crate::eval::trace::{Event, Node};
use crate::record::spf::{
    self as rspf, DualCidr, MacroContext, MacroLetter, MacroPart, MacroString, Mechanism,
    Qualifier, TermKind,
};

/// The most records one expansion reads (the root included); the rest are "not expanded".
pub const MAX_NODES: usize = 100;

/// Codes of the problems only the static expansion finds (the others are `eval::spf::code`).
pub mod tree_code {
    /// An include or redirect reaches a domain already being expanded above it (RFC 7208
    /// §4.6.4: the evaluation would loop until a limit makes it a permerror).
    pub const INCLUDE_LOOP: &str = "spf-include-loop";
    /// A term whose lookup came back NXDOMAIN or NODATA (RFC 7208 §4.6.4).
    pub const VOID_LOOKUP: &str = "spf-void-lookup";
    /// A term whose name depends on the message (a macro other than `%{d}`, RFC 7208 §7).
    pub const MACRO_UNCHECKED: &str = "spf-macro-unchecked";
    /// `redirect=` beside an `all` mechanism: the redirect is ignored (RFC 7208 §6.1).
    pub const REDIRECT_WITH_ALL: &str = "spf-redirect-with-all";
    /// An MX host of an `mx` term with no address record.
    pub const MX_HOST_NO_ADDRESS: &str = "spf-mx-host-no-address";
    /// A record beyond [`super::MAX_NODES`] was not expanded.
    pub const NOT_EXPANDED: &str = "spf-not-expanded";
    /// `exp=`: the target has no TXT record (RFC 7208 §6.2).
    pub const EXP_NO_TXT: &str = "spf-exp-no-txt";
    /// `exp=`: the target has several TXT records (RFC 7208 §6.2).
    pub const EXP_SEVERAL_TXT: &str = "spf-exp-several-txt";
    /// `exp=`: the explanation text is not a valid macro-string (RFC 7208 §6.2, §7).
    pub const EXP_SYNTAX: &str = "spf-exp-syntax";
    /// `exp=`: a DNS failure fetching the explanation.
    pub const EXP_DNS_ERROR: &str = "spf-exp-dns-error";
}

/// The whole expansion.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyTree {
    pub domain: String,
    /// `ok`: within every limit; `broken`: a receiver returns permerror (or none at the top);
    /// `temperror`: a DNS failure kept part of the tree from being read.
    pub status: TreeStatus,
    /// DNS-querying terms over the whole tree, in evaluation order (RFC 7208 §4.6.4).
    pub dns_lookups: u32,
    pub dns_lookup_limit: u32,
    /// The term (as a path `include:a > include:b > mx`) whose lookup is number limit + 1.
    pub limit_crossed_by: Option<String>,
    pub void_lookups: u32,
    pub void_lookup_limit: u32,
    /// Records read (the root included).
    pub nodes: usize,
    /// True when some record was not expanded (the [`MAX_NODES`] or nesting bound): the
    /// lookups below it are unknown, so `dns_lookups` is then a lower bound.
    pub truncated: bool,
    /// True when some term's name depends on the message (macros): its networks are unknown.
    pub depends_on_message: bool,
    /// Every network a pass-qualified term authorises along a pass path, aggregated.
    pub networks: Vec<String>,
    pub root: TreeNode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TreeStatus {
    Ok,
    Broken,
    TempError,
}

/// What was found at one domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeOutcome {
    /// One SPF record, parsed.
    Record,
    /// No SPF record (the name exists).
    NoRecord,
    /// The name does not exist.
    Nxdomain,
    /// Several SPF records (RFC 7208 §4.5: permerror).
    SeveralRecords,
    /// The record does not parse (RFC 7208 §4.6: permerror).
    SyntaxError,
    /// The TXT lookup failed (temperror).
    DnsError,
    /// Not a valid domain name (RFC 7208 §4.3).
    MalformedDomain,
    /// Already being expanded above (a loop): not expanded again.
    Loop,
    /// Beyond the expansion bounds: not expanded.
    NotExpanded,
}

/// One domain's record and its terms.
#[derive(Debug, Clone, Serialize)]
pub struct TreeNode {
    pub domain: String,
    /// The term that led here ("include:…", "redirect=…"); absent at the root.
    pub via: Option<String>,
    pub depth: u32,
    pub outcome: NodeOutcome,
    /// The selected SPF record (joined strings).
    pub record: Option<String>,
    /// Byte length of each character-string of the selected TXT record (RFC 1035 §3.3: at
    /// most 255 each).
    pub string_lengths: Vec<usize>,
    /// An estimate of the DNS response to the TXT query: header, question and every TXT
    /// record at the name (RFC 7208 §3.4 asks for answers that fit 512 bytes).
    pub answer_bytes: usize,
    /// The other TXT records at the name (joined).
    pub other_txt: Vec<String>,
    /// DNS-querying terms in this record and below it (the lookup of the term that led here
    /// is counted on that term).
    pub lookups: u32,
    /// Problems found at this node (position: byte offset in `record`).
    pub problems: Vec<Diagnostic>,
    pub terms: Vec<TreeTerm>,
    /// The DNS queries made for the record itself (the TXT lookup), as trace `query` nodes.
    pub queries: Vec<Node>,
}

/// One term of a record.
#[derive(Debug, Clone, Serialize)]
pub struct TreeTerm {
    /// As written.
    pub text: String,
    /// Byte offset in the record.
    pub position: usize,
    /// Mechanism or modifier name in lower case (`include`, `ip4`, `redirect`, `exp`, or the
    /// unknown modifier's name).
    pub name: String,
    /// The qualifier of a directive (`pass`, `fail`, `softfail`, `neutral`).
    pub qualifier: Option<Qualifier>,
    /// True when the term costs a DNS lookup (RFC 7208 §4.6.4: include, a, mx, ptr, exists,
    /// redirect; not exp=, ip4, ip6, all).
    pub counts: bool,
    /// False for terms never evaluated: after `all`, or a redirect beside `all`.
    pub evaluated: bool,
    /// The running total of DNS-querying terms after this term's own lookup (when it counts).
    pub running_total: Option<u32>,
    /// This term's lookup plus every lookup in the subtree it opens (include, redirect).
    pub subtree_lookups: u32,
    /// The target name looked up, when it could be known.
    pub target: Option<String>,
    /// The name depends on the message (a macro other than `%{d}`).
    pub depends_on_message: bool,
    /// The term's own lookup was NXDOMAIN or NODATA (a void lookup).
    pub void: bool,
    /// For `mx`: the MX host names, by preference.
    pub mx_names: Vec<String>,
    /// Networks the term names: ip4/ip6 as written, a/mx addresses with their CIDR lengths.
    pub networks: Vec<String>,
    /// Problems of this term (position in the record).
    pub problems: Vec<Diagnostic>,
    /// The queries of this term (not those of the subtree).
    pub queries: Vec<Node>,
    /// The record an include or redirect leads to.
    pub child: Option<Box<TreeNode>>,
}

impl TreeNode {
    /// This node and every node below it, depth first, in evaluation order.
    pub fn walk(&self) -> Vec<&TreeNode> {
        let mut out = vec![self];
        for t in &self.terms {
            if let Some(c) = &t.child {
                out.extend(c.walk());
            }
        }
        out
    }
}

impl PolicyTree {
    /// Every problem in the tree with the node it belongs to.
    pub fn problems(&self) -> Vec<(&TreeNode, &Diagnostic)> {
        let mut out = Vec::new();
        for n in self.root.walk() {
            for p in &n.problems {
                out.push((n, p));
            }
            for t in &n.terms {
                for p in &t.problems {
                    out.push((n, p));
                }
            }
        }
        out
    }
}

/// Expands the SPF policy of `domain` (one trailing dot allowed) with the RFC's limits
/// (10 lookups, 2 voids, 10 MX names), bounded by `deadline`.
pub async fn expand(
    resolver: Arc<dyn Resolver>,
    domain: &str,
    deadline: Option<tokio::time::Instant>,
) -> PolicyTree {
    let limits = spf::Limits::default();
    let mut x = Expander {
        dns: Lookup::until(resolver, deadline),
        limits,
        lookups: 0,
        voids: 0,
        nodes: 0,
        truncated: false,
        crossed: None,
        void_crossed: false,
        networks: Vec::new(),
        depends: false,
        broken: false,
        dns_failed: false,
        stack: Vec::new(),
        path: Vec::new(),
    };
    let domain = domain
        .strip_suffix('.')
        .unwrap_or(domain)
        .to_ascii_lowercase();
    let root = x.node(domain.clone(), None, 0, true).await;
    if root.outcome != NodeOutcome::Record {
        // No policy at all: a receiver's result is none (or permerror, temperror).
        x.broken |= !matches!(root.outcome, NodeOutcome::DnsError);
    }
    let nets = IpNet::aggregate(&x.networks.iter().map(|n| n.trunc()).collect::<Vec<_>>());
    let status = if x.broken {
        TreeStatus::Broken
    } else if x.dns_failed {
        TreeStatus::TempError
    } else {
        TreeStatus::Ok
    };
    PolicyTree {
        domain,
        status,
        dns_lookups: x.lookups,
        dns_lookup_limit: x.limits.dns_terms,
        limit_crossed_by: x.crossed,
        void_lookups: x.voids,
        void_lookup_limit: x.limits.void_lookups,
        nodes: x.nodes,
        truncated: x.truncated,
        depends_on_message: x.depends,
        networks: nets.iter().map(ToString::to_string).collect(),
        root,
    }
}

struct Expander {
    dns: Lookup,
    limits: spf::Limits,
    lookups: u32,
    voids: u32,
    nodes: usize,
    truncated: bool,
    crossed: Option<String>,
    void_crossed: bool,
    networks: Vec<IpNet>,
    depends: bool,
    broken: bool,
    dns_failed: bool,
    /// Domains being expanded, root first (loop detection).
    stack: Vec<String>,
    /// The terms that led to the current record (for `limit_crossed_by`).
    path: Vec<String>,
}

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The queries recorded under `node` (its children), taken out.
fn queries_of(node: Node) -> Vec<Node> {
    node.children
}

fn scratch() -> Node {
    Node::new(Event::Note {
        text: String::new(),
    })
}

/// True when every macro of `ms` is `%{d}` (expandable without a message, RFC 7208 §7.2).
fn only_domain_macros(ms: &MacroString) -> bool {
    ms.parts.iter().all(|p| match p {
        MacroPart::Literal(_) => true,
        MacroPart::Macro(m) => m.letter == MacroLetter::D,
    })
}

/// The `<target-name>` of a domain-spec (RFC 7208 §4.8, §7.3) when it needs no message.
fn static_target(ms: &MacroString, domain: &str) -> Option<String> {
    if !only_domain_macros(ms) {
        return None;
    }
    let vars = MacroVars {
        sender: "",
        local: "",
        sender_domain: "",
        domain,
        ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        validated_name: None,
        helo: "",
        receiver: "",
        now: 0,
    };
    let expanded = macros::expand(ms, &vars, false).ok()?;
    let t = truncate_domain(&expanded);
    Some(t.strip_suffix('.').unwrap_or(&t).to_ascii_lowercase())
}

/// Wire size of one TXT record in an answer: compressed owner (2), type, class, TTL, rdlength
/// (10), then a length octet per string.
fn txt_rr_bytes(parts: &[Vec<u8>]) -> usize {
    12 + parts.iter().map(|p| 1 + p.len()).sum::<usize>()
}

impl Expander {
    /// Reads and expands one domain's record (boxed for recursion).
    fn node(
        &mut self,
        domain: String,
        via: Option<String>,
        depth: u32,
        root: bool,
    ) -> BoxFuture<'_, TreeNode> {
        Box::pin(async move {
            let mut n = TreeNode {
                domain: domain.clone(),
                via: via.clone(),
                depth,
                outcome: NodeOutcome::Record,
                record: None,
                string_lengths: Vec::new(),
                answer_bytes: 0,
                other_txt: Vec::new(),
                lookups: 0,
                problems: Vec::new(),
                terms: Vec::new(),
                queries: Vec::new(),
            };
            let via_text = via.clone().unwrap_or_default();
            if self.stack.contains(&domain) {
                n.outcome = NodeOutcome::Loop;
                self.broken = true;
                n.problems.push(Diagnostic::error(
                    tree_code::INCLUDE_LOOP,
                    "RFC 7208 §4.6.4",
                    format!(
                        "{via_text} leads back to {domain}, which is already being evaluated: \
                         a loop that ends in permerror when a limit is reached"
                    ),
                ));
                return n;
            }
            if depth > MAX_NESTING {
                n.outcome = NodeOutcome::NotExpanded;
                self.broken = true;
                self.truncated = true;
                n.problems.push(Diagnostic::error(
                    code::NESTING_LIMIT,
                    "RFC 7208 §4.6.4",
                    format!("include/redirect nested more than {MAX_NESTING} deep"),
                ));
                return n;
            }
            if self.nodes >= MAX_NODES {
                n.outcome = NodeOutcome::NotExpanded;
                self.truncated = true;
                n.problems.push(Diagnostic::new(
                    tree_code::NOT_EXPANDED,
                    Severity::Info,
                    "",
                    format!("not expanded: the tree is shown up to {MAX_NODES} records"),
                ));
                return n;
            }
            self.nodes += 1;
            // RFC 7208 §4.3: a malformed domain has no policy.
            if let Err(why) = check_domain_syntax(&domain) {
                n.outcome = NodeOutcome::MalformedDomain;
                n.problems.push(Diagnostic::new(
                    code::MALFORMED_DOMAIN,
                    Severity::Error,
                    "RFC 7208 §4.3",
                    format!("{domain:?} is not a valid domain name: {why}"),
                ));
                return n;
            }
            let mut q = scratch();
            let answer = self.dns.query(&domain, RType::Txt, &mut q).await;
            n.queries = queries_of(q);
            if answer.is_failure() {
                n.outcome = NodeOutcome::DnsError;
                self.dns_failed = true;
                n.problems.push(Diagnostic::error(
                    code::DNS_ERROR,
                    "RFC 7208 §4.4",
                    format!(
                        "DNS {} for TXT {domain}{}: temperror",
                        answer.kind(),
                        answer.cause_suffix()
                    ),
                ));
                return n;
            }
            // RFC 7208 §4.6.4: the TXT lookup of an include or redirect target is a void
            // lookup when it is NXDOMAIN or NODATA (as `check_host` counts it).
            if !root && answer.is_void() {
                self.count_void(&mut n.problems, &format!("TXT {domain}"), None, &via_text);
            }
            let parts: Vec<Vec<Vec<u8>>> = answer
                .records()
                .iter()
                .filter_map(|r| match r {
                    RData::Txt(p) => Some(p.clone()),
                    _ => None,
                })
                .collect();
            // Header (12) + question (name + 2 length octets + type + class).
            n.answer_bytes =
                12 + domain.len() + 2 + 4 + parts.iter().map(|p| txt_rr_bytes(p)).sum::<usize>();
            let joined = |p: &Vec<Vec<u8>>| String::from_utf8_lossy(&p.concat()).into_owned();
            let (mut spf_records, others) = split_spf_records(parts, joined);
            n.other_txt = others.iter().map(joined).collect();
            let chosen = match spf_records.len() {
                0 => {
                    n.outcome = if answer == Answer::NxDomain {
                        NodeOutcome::Nxdomain
                    } else {
                        NodeOutcome::NoRecord
                    };
                    return n;
                }
                1 => spf_records.remove(0),
                k => {
                    n.outcome = NodeOutcome::SeveralRecords;
                    self.broken = true;
                    n.other_txt.extend(spf_records.iter().map(joined));
                    n.problems.push(Diagnostic::error(
                        code::MULTIPLE_RECORDS,
                        "RFC 7208 §4.5",
                        format!("{k} SPF records at {domain} (RFC 7208 §4.5 allows one)"),
                    ));
                    return n;
                }
            };
            n.string_lengths = chosen.iter().map(Vec::len).collect();
            let text = joined(&chosen);
            n.record = Some(text.clone());
            let record = match rspf::parse(&text) {
                Ok(r) => r,
                Err(e) => {
                    n.outcome = NodeOutcome::SyntaxError;
                    self.broken = true;
                    n.problems.push(
                        Diagnostic::error(
                            code::SYNTAX,
                            "RFC 7208 §4.6",
                            format!("syntax error in the SPF record of {domain}: {e}"),
                        )
                        .at(e.position),
                    );
                    return n;
                }
            };
            self.stack.push(domain.clone());
            let before = self.lookups;
            let has_all = record
                .directives()
                .any(|(_, _, m)| matches!(m, Mechanism::All));
            let mut after_all = false;
            let mut redirect_index = None;
            for term in &record.terms {
                let mut t = TreeTerm {
                    text: term.text.clone(),
                    position: term.position,
                    name: String::new(),
                    qualifier: term.qualifier(),
                    counts: false,
                    evaluated: !after_all,
                    running_total: None,
                    subtree_lookups: 0,
                    target: None,
                    depends_on_message: false,
                    void: false,
                    mx_names: Vec::new(),
                    networks: Vec::new(),
                    problems: Vec::new(),
                    queries: Vec::new(),
                    child: None,
                };
                match &term.kind {
                    TermKind::Directive {
                        qualifier,
                        mechanism,
                    } => {
                        t.name = mechanism.name().to_string();
                        t.counts = mechanism.counts_dns();
                        if !after_all {
                            self.directive(&mut t, *qualifier, mechanism, &domain, depth)
                                .await;
                        }
                        if matches!(mechanism, Mechanism::All) {
                            after_all = true;
                        }
                    }
                    TermKind::Redirect(_) => {
                        t.name = "redirect".into();
                        t.counts = true;
                        t.evaluated = false;
                        if has_all {
                            // RFC 7208 §6.1: "any redirect modifier MUST be ignored if there
                            // is an all mechanism anywhere in the record".
                            t.problems.push(
                                Diagnostic::new(
                                    tree_code::REDIRECT_WITH_ALL,
                                    Severity::Warning,
                                    "RFC 7208 §6.1",
                                    format!(
                                        "{} is ignored: the record has an \"all\" mechanism",
                                        term.text
                                    ),
                                )
                                .with_tag(term.text.clone())
                                .at(term.position),
                            );
                        } else {
                            redirect_index = Some(n.terms.len());
                        }
                    }
                    TermKind::Exp(ms) => {
                        t.name = "exp".into();
                        // RFC 7208 §6.2: looked up only after a fail, never counted.
                        self.exp(&mut t, ms, &domain).await;
                    }
                    TermKind::Unknown { name, .. } => {
                        t.name = name.to_ascii_lowercase();
                    }
                }
                n.terms.push(t);
            }
            // RFC 7208 §6.1: redirect after every mechanism, when nothing matched.
            if let Some(i) = redirect_index
                && let Some(TermKind::Redirect(ms)) = record.terms.get(i).map(|x| &x.kind)
                && let Some(t) = n.terms.get_mut(i)
            {
                t.evaluated = true;
                self.redirect(t, ms, &domain, depth).await;
            }
            self.stack.pop();
            n.lookups = self.lookups - before;
            n
        })
    }

    /// Counts a DNS-querying term (RFC 7208 §4.6.4) and notes the one that crosses the limit.
    fn count_lookup(&mut self, t: &mut TreeTerm) {
        self.lookups += 1;
        t.running_total = Some(self.lookups);
        if self.lookups == self.limits.dns_terms + 1 {
            self.broken = true;
            let mut path = self.path.clone();
            path.push(t.text.clone());
            self.crossed = Some(path.join(" > "));
            t.problems.push(
                Diagnostic::error(
                    code::DNS_LOOKUP_LIMIT,
                    "RFC 7208 §4.6.4",
                    format!(
                        "{} is DNS-querying term number {}: more than {} is a permerror",
                        t.text, self.lookups, self.limits.dns_terms
                    ),
                )
                .with_tag(t.text.clone())
                .at(t.position),
            );
        }
    }

    /// Counts a void lookup (RFC 7208 §4.6.4) and records it as a problem of the term.
    fn count_void(
        &mut self,
        problems: &mut Vec<Diagnostic>,
        what: &str,
        at: Option<usize>,
        term: &str,
    ) {
        self.voids += 1;
        let mut d = Diagnostic::new(
            tree_code::VOID_LOOKUP,
            Severity::Warning,
            "RFC 7208 §4.6.4",
            format!("{what} is a void lookup (number {})", self.voids),
        )
        .with_tag(term);
        d.position = at;
        problems.push(d);
        if self.voids == self.limits.void_lookups + 1 && !self.void_crossed {
            self.void_crossed = true;
            self.broken = true;
            let mut d = Diagnostic::error(
                code::VOID_LOOKUP_LIMIT,
                "RFC 7208 §4.6.4",
                format!(
                    "more than {} void lookups: {what} is number {} (permerror)",
                    self.limits.void_lookups, self.voids
                ),
            )
            .with_tag(term);
            d.position = at;
            problems.push(d);
        }
    }

    fn dns_problem(&mut self, t: &mut TreeTerm, rtype: RType, name: &str, answer: &Answer) {
        self.dns_failed = true;
        t.problems.push(
            Diagnostic::error(
                code::DNS_ERROR,
                "RFC 7208 §5",
                format!(
                    "DNS {} for {rtype} {name}{}: temperror",
                    answer.kind(),
                    answer.cause_suffix()
                ),
            )
            .with_tag(t.text.clone())
            .at(t.position),
        );
    }

    fn depends(&mut self, t: &mut TreeTerm) {
        let why = "a macro other than %{d}";
        self.depends_because(t, why);
    }

    fn depends_because(&mut self, t: &mut TreeTerm, why: &str) {
        self.depends = true;
        t.depends_on_message = true;
        t.problems.push(
            Diagnostic::new(
                tree_code::MACRO_UNCHECKED,
                Severity::Info,
                "RFC 7208 §7",
                format!(
                    "{} depends on the message ({why}): it cannot be checked without one \
                     and was not looked up",
                    t.text
                ),
            )
            .with_tag(t.text.clone())
            .at(t.position),
        );
    }

    /// The networks of a pass-qualified term count as authorised when every include on the
    /// path to it is pass-qualified too (`path_pass`).
    fn authorise(&mut self, t: &mut TreeTerm, q: Qualifier, nets: Vec<IpNet>) {
        t.networks.extend(nets.iter().map(ToString::to_string));
        if q == Qualifier::Pass && self.path_pass() {
            self.networks.extend(nets);
        }
    }

    fn path_pass(&self) -> bool {
        self.path.iter().all(|p| !p.starts_with(['-', '~', '?']))
    }

    /// One directive (RFC 7208 §5).
    async fn directive(
        &mut self,
        t: &mut TreeTerm,
        q: Qualifier,
        m: &Mechanism,
        domain: &str,
        depth: u32,
    ) {
        if m.counts_dns() {
            self.count_lookup(t);
        }
        let mut node = scratch();
        match m {
            Mechanism::All => {
                if q == Qualifier::Pass && self.path_pass() {
                    // `+all` authorises every address.
                    self.networks
                        .extend([IpNet::V4(Ipv4Net::default()), IpNet::V6(Ipv6Net::default())]);
                    t.networks = vec!["0.0.0.0/0".into(), "::/0".into()];
                }
            }
            Mechanism::Ip4 { addr, prefix } => {
                if let Ok(net) = Ipv4Net::new(*addr, *prefix) {
                    self.authorise(t, q, vec![IpNet::V4(net)]);
                }
            }
            Mechanism::Ip6 { addr, prefix } => {
                if let Ok(net) = Ipv6Net::new(*addr, *prefix) {
                    self.authorise(t, q, vec![IpNet::V6(net)]);
                }
            }
            Mechanism::Include(ms) => {
                let Some(target) = static_target(ms, domain) else {
                    self.depends(t);
                    return;
                };
                t.target = Some(target.clone());
                let before = self.lookups;
                self.path.push(t.text.clone());
                let child = self
                    .node(target.clone(), Some(t.text.clone()), depth + 1, false)
                    .await;
                self.path.pop();
                t.subtree_lookups = 1 + (self.lookups - before);
                self.child_problems(t, &child, code::INCLUDE_NO_RECORD, "RFC 7208 §5.2");
                t.child = Some(Box::new(child));
            }
            Mechanism::A { domain: spec, cidr } => {
                t.subtree_lookups = 1;
                let Some(target) = self.host_target(t, spec.as_ref(), domain) else {
                    return;
                };
                let nets = self.addresses(t, &target, *cidr, true, &mut node).await;
                self.authorise(t, q, nets);
            }
            Mechanism::Mx { domain: spec, cidr } => {
                t.subtree_lookups = 1;
                if let Some(target) = self.host_target(t, spec.as_ref(), domain) {
                    self.mx(t, q, &target, *cidr, &mut node).await;
                }
            }
            Mechanism::Ptr(spec) => {
                t.subtree_lookups = 1;
                // RFC 7208 §5.5: the client's PTR names are needed; nothing to look up
                // without a message.
                if let Some(ms) = spec {
                    t.target = static_target(ms, domain);
                } else {
                    t.target = Some(domain.to_string());
                }
                self.depends_because(t, "the client's PTR names");
            }
            Mechanism::Exists(ms) => {
                t.subtree_lookups = 1;
                let Some(target) = self.host_target(t, Some(ms), domain) else {
                    return;
                };
                // RFC 7208 §5.7: always an A lookup.
                let answer = self.dns.query(&target, RType::A, &mut node).await;
                if answer.is_failure() {
                    self.dns_problem(t, RType::A, &target, &answer);
                } else if answer.is_void() {
                    let mut p = Vec::new();
                    self.count_void(&mut p, &format!("A {target}"), Some(t.position), &t.text);
                    t.void = true;
                    t.problems.extend(p);
                }
            }
        }
        t.queries.extend(queries_of(node));
    }

    /// The target of a/mx/exists: `None` (and the term marked) when it needs the message or
    /// is not a valid domain (no match, RFC 7208 §4.8; nothing is queried).
    fn host_target(
        &mut self,
        t: &mut TreeTerm,
        spec: Option<&MacroString>,
        domain: &str,
    ) -> Option<String> {
        let target = match spec {
            None => domain.to_string(),
            Some(ms) => match static_target(ms, domain) {
                Some(x) => x,
                None => {
                    self.depends(t);
                    return None;
                }
            },
        };
        t.target = Some(target.clone());
        check_domain_syntax(&target).ok().map(|_| target)
    }

    /// A and AAAA of `name` with the CIDR lengths (RFC 7208 §5.3); `primary` counts a void A
    /// lookup (the term's own lookup for an IPv4 client).
    async fn addresses(
        &mut self,
        t: &mut TreeTerm,
        name: &str,
        cidr: DualCidr,
        primary: bool,
        node: &mut Node,
    ) -> Vec<IpNet> {
        let mut nets = Vec::new();
        let a = self.dns.query(name, RType::A, node).await;
        let aaaa = self.dns.query(name, RType::Aaaa, node).await;
        for (rtype, answer) in [(RType::A, &a), (RType::Aaaa, &aaaa)] {
            if answer.is_failure() {
                self.dns_problem(t, rtype, name, answer);
            }
            for r in answer.records() {
                match r {
                    RData::A(ip) => {
                        if let Ok(n) = Ipv4Net::new(*ip, cidr.v4.unwrap_or(32)) {
                            nets.push(IpNet::V4(n));
                        }
                    }
                    RData::Aaaa(ip) => {
                        if let Ok(n) = Ipv6Net::new(*ip, cidr.v6.unwrap_or(128)) {
                            nets.push(IpNet::V6(n));
                        }
                    }
                    _ => {}
                }
            }
        }
        if primary && a.is_void() {
            let mut p = Vec::new();
            self.count_void(&mut p, &format!("A {name}"), Some(t.position), &t.text);
            t.void = true;
            t.problems.extend(p);
        }
        nets
    }

    /// The `mx` mechanism (RFC 7208 §5.4, the 10-name limit of §4.6.4).
    async fn mx(
        &mut self,
        t: &mut TreeTerm,
        q: Qualifier,
        target: &str,
        cidr: DualCidr,
        node: &mut Node,
    ) {
        let answer = self.dns.query(target, RType::Mx, node).await;
        if answer.is_failure() {
            self.dns_problem(t, RType::Mx, target, &answer);
            return;
        }
        if answer.is_void() {
            let mut p = Vec::new();
            self.count_void(&mut p, &format!("MX {target}"), Some(t.position), &t.text);
            t.void = true;
            t.problems.extend(p);
            return;
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
        t.mx_names = names.iter().map(|(_, n)| n.clone()).collect();
        if names.len() > self.limits.mx_names {
            self.broken = true;
            t.problems.push(
                Diagnostic::error(
                    code::MX_LIMIT,
                    "RFC 7208 §4.6.4",
                    format!(
                        "{target} has {} MX records; more than {} is a permerror",
                        names.len(),
                        self.limits.mx_names
                    ),
                )
                .with_tag(t.text.clone())
                .at(t.position),
            );
        }
        // The addresses of every name are still listed (bounded by the node's own count).
        for (_, exchange) in names.iter().take(2 * self.limits.mx_names) {
            // A null MX (RFC 7505) names no host.
            if exchange.is_empty() || exchange == "." {
                continue;
            }
            let nets = self.addresses(t, exchange, cidr, false, node).await;
            if nets.is_empty() {
                t.problems.push(
                    Diagnostic::new(
                        tree_code::MX_HOST_NO_ADDRESS,
                        Severity::Warning,
                        "RFC 7208 §5.4",
                        format!("MX host {exchange} of {target} has no address record"),
                    )
                    .with_tag(t.text.clone())
                    .at(t.position),
                );
            }
            self.authorise(t, q, nets);
        }
    }

    /// Problems of an include/redirect target, put on the term that leads to it (RFC 7208
    /// §5.2, §6.1: a target without a record is a permerror).
    fn child_problems(
        &mut self,
        t: &mut TreeTerm,
        child: &TreeNode,
        no_record_code: &'static str,
        rfc: &'static str,
    ) {
        if matches!(
            child.outcome,
            NodeOutcome::NoRecord | NodeOutcome::Nxdomain | NodeOutcome::MalformedDomain
        ) {
            self.broken = true;
            let what = if child.outcome == NodeOutcome::Nxdomain {
                "does not exist"
            } else {
                "has no SPF record"
            };
            t.problems.push(
                Diagnostic::error(
                    no_record_code,
                    rfc,
                    format!("{} {what}: permerror", child.domain),
                )
                .with_tag(t.text.clone())
                .at(t.position),
            );
        }
    }

    /// The redirect modifier (RFC 7208 §6.1), followed after every mechanism.
    async fn redirect(&mut self, t: &mut TreeTerm, ms: &MacroString, domain: &str, depth: u32) {
        self.count_lookup(t);
        let Some(target) = static_target(ms, domain) else {
            self.depends(t);
            t.subtree_lookups = 1;
            return;
        };
        t.target = Some(target.clone());
        let before = self.lookups;
        self.path.push(t.text.clone());
        let child = self
            .node(target, Some(t.text.clone()), depth + 1, false)
            .await;
        self.path.pop();
        t.subtree_lookups = 1 + (self.lookups - before);
        self.child_problems(t, &child, code::REDIRECT_NO_RECORD, "RFC 7208 §6.1");
        t.child = Some(Box::new(child));
    }

    /// `exp=` (RFC 7208 §6.2): the TXT record at the target must exist once and be a valid
    /// explanation macro-string; fetched here to check it, never counted.
    async fn exp(&mut self, t: &mut TreeTerm, ms: &MacroString, domain: &str) {
        let Some(target) = static_target(ms, domain) else {
            self.depends(t);
            return;
        };
        t.target = Some(target.clone());
        let mut node = scratch();
        let answer = self.dns.query(&target, RType::Txt, &mut node).await;
        t.queries = queries_of(node);
        let texts: Vec<String> = answer
            .records()
            .iter()
            .filter_map(RData::txt_joined)
            .collect();
        let warn = |code: &'static str, msg: String| {
            Diagnostic::new(code, Severity::Warning, "RFC 7208 §6.2", msg)
                .with_tag(t.text.clone())
                .at(t.position)
        };
        let problem = if answer.is_failure() {
            Some(warn(
                tree_code::EXP_DNS_ERROR,
                format!(
                    "DNS {} for TXT {target}{}: the explanation cannot be fetched",
                    answer.kind(),
                    answer.cause_suffix()
                ),
            ))
        } else {
            match texts.as_slice() {
                [] => Some(warn(
                    tree_code::EXP_NO_TXT,
                    format!("{target} has no TXT record: exp= is ignored"),
                )),
                [one] => match rspf::parse_macro_string(one, MacroContext::Explanation) {
                    Ok(_) if one.is_ascii() => None,
                    Ok(_) => Some(warn(
                        tree_code::EXP_SYNTAX,
                        format!("the explanation at {target} is not ASCII: exp= is ignored"),
                    )),
                    Err(e) => Some(warn(
                        tree_code::EXP_SYNTAX,
                        format!("the explanation at {target} is invalid ({e}): exp= is ignored"),
                    )),
                },
                more => Some(warn(
                    tree_code::EXP_SEVERAL_TXT,
                    format!("{target} has {} TXT records: exp= is ignored", more.len()),
                )),
            }
        };
        t.problems.extend(problem);
    }
}
