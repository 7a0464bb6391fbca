//! Lint rules for the SPF policy of a domain (see `lint`): the policy is expanded without an IP
//! by `eval::spf_tree` (which finds what a receiver turns into permerror or temperror: limits,
//! loops, missing includes, syntax, voids, `exp=` problems), and the records of the tree are
//! checked for what is legal but risky (`+all`, broad ranges, `ptr`, sizes, modifiers).
//! Every finding has a stable `spf-…` code, a severity, the record and the 0-based position of
//! the term in it, the RFC section and a one-line fix.
//!
//! Catalogue, compared with checkdmarc 6.0.4's SPF checks (`checkdmarc/spf.py`); every check
//! of it is here except:
//! - the type-SPF (99) record query: RFC 7208 §3.1 removed the type, and `dns::RType` asks
//!   only for the types the evaluators use;
//! - the TXT-plus-CNAME conflict at the same name (RFC 1034 §3.6.2): our resolvers follow
//!   CNAMEs and answer with the final records, so the conflict is not visible here;
//! - the parked-domain rule (`v=spf1 -all` for a domain without mail): it needs MX data and
//!   belongs to the MX rules (`lint::mx`);
//! - warnings about the domain-spec of include/a/mx not being a fully qualified name: our
//!   parser already rejects a domain-spec without a valid top label (`spf-syntax`).
//!
//! Bounds chosen here (documented in the README): a pass-qualified `ip4` (or the IPv4 CIDR of
//! `a`/`mx`) shorter than /16 is a warning and shorter than /8 an error; `ip6` shorter than /48
//! a warning, shorter than /32 an error. A TXT answer over 512 bytes (estimated) is a warning,
//! over 450 an info (RFC 7208 §3.4).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{Finding, LintOptions};
use crate::diag::{Diagnostic, Severity};
use crate::dns::Resolver;
use crate::eval::spf::code;
use crate::eval::spf_tree::{self, NodeOutcome, PolicyTree, TreeNode, tree_code};
use crate::record::spf::{self as rspf, Mechanism, Qualifier, TermKind};

/// The codes only the lint rules give (the others come from `eval::spf::code` and
/// `eval::spf_tree::tree_code`).
pub mod lint_code {
    /// A DNS failure kept part of the policy from being read (temperror).
    pub const TEMPERROR: &str = "spf-temperror";
    /// `ptr` (RFC 7208 §5.5: SHOULD NOT be used).
    pub const PTR: &str = "spf-ptr";
    /// `+all`: every host on the Internet passes.
    pub const PASS_ALL: &str = "spf-pass-all";
    /// `?all`: neutral for everyone, no protection.
    pub const NEUTRAL_ALL: &str = "spf-neutral-all";
    /// No `all` and no `redirect=`: the default result is neutral (RFC 7208 §4.7).
    pub const NO_ALL: &str = "spf-no-all";
    /// A pass-qualified network wider than the documented bounds.
    pub const BROAD_RANGE: &str = "spf-broad-range";
    /// Mechanisms after `all` are never evaluated (RFC 7208 §4.6.2, §5.1).
    pub const AFTER_ALL: &str = "spf-after-all";
    /// A modifier no RFC defines (ignored, RFC 7208 §6).
    pub const UNKNOWN_MODIFIER: &str = "spf-unknown-modifier";
    /// An RFC 6652 `ra=`/`rp=`/`rr=` value that is malformed.
    pub const RFC6652_VALUE: &str = "spf-rfc6652-value";
    /// `rp=`/`rr=` without `ra=` have no effect (RFC 6652 §3).
    pub const RFC6652_NO_RA: &str = "spf-rfc6652-no-ra";
    /// `ra=` in a record reached through include: ignored (RFC 6652 §3).
    pub const RFC6652_RA_INCLUDED: &str = "spf-rfc6652-ra-included";
    /// A TXT character-string over 255 bytes (RFC 1035 §3.3, RFC 7208 §3.3).
    pub const STRING_TOO_LONG: &str = "spf-txt-string-too-long";
    /// The TXT answer is likely over 512 bytes (RFC 7208 §3.4).
    pub const ANSWER_TOO_LARGE: &str = "spf-answer-too-large";
    /// The TXT answer is over 450 bytes, close to 512 (RFC 7208 §3.4).
    pub const ANSWER_LARGE: &str = "spf-answer-large";
    /// A Sender ID record (`spf2.0/…`, RFC 4406, historic).
    pub const SENDER_ID: &str = "spf-sender-id";
    /// A TXT record that looks like SPF but is not `v=spf1` exactly (RFC 7208 §4.5).
    pub const LOOKALIKE: &str = "spf-lookalike";
    /// The same domain included twice in one record.
    pub const DUPLICATE_INCLUDE: &str = "spf-duplicate-include";
}

/// The one-line fix for a finding code.
pub fn fix(code: &str) -> &'static str {
    match code {
        code::NO_RECORD => {
            "publish one TXT record \"v=spf1 <your senders> -all\" (\"v=spf1 -all\" if the domain sends no mail)"
        }
        code::NXDOMAIN => "the domain does not exist: create it or stop using it as a sender",
        code::MULTIPLE_RECORDS => "merge the SPF records into one TXT record",
        code::SYNTAX => "correct the term at the position shown (RFC 7208 §12 grammar)",
        code::DNS_LOOKUP_LIMIT => {
            "remove includes you no longer use, replace a/mx/include by ip4/ip6 where addresses are stable, or move senders to subdomains"
        }
        code::VOID_LOOKUP_LIMIT | tree_code::VOID_LOOKUP => {
            "remove terms that name hosts or domains without records"
        }
        code::MX_LIMIT => "list the sending hosts with ip4/ip6 instead of mx",
        code::NESTING_LIMIT => "flatten the include chain",
        code::INCLUDE_NO_RECORD => {
            "remove the include, or fix the included domain (a typo, or a provider that moved its record)"
        }
        code::REDIRECT_NO_RECORD => "point redirect= at a domain that publishes an SPF record",
        code::MALFORMED_DOMAIN => "use a valid fully qualified domain name",
        tree_code::INCLUDE_LOOP => "remove the include that points back up the tree",
        tree_code::MACRO_UNCHECKED => {
            "nothing to change if intended: check it with `spfcheck DOMAIN IP` for real senders"
        }
        tree_code::REDIRECT_WITH_ALL => "remove either redirect= or the all mechanism",
        tree_code::MX_HOST_NO_ADDRESS => "remove the MX host or give it an address",
        tree_code::NOT_EXPANDED => "reduce the include tree",
        tree_code::EXP_NO_TXT | tree_code::EXP_SEVERAL_TXT => {
            "publish exactly one TXT record at the exp= target, or remove exp="
        }
        tree_code::EXP_SYNTAX => "correct the explanation text (RFC 7208 §7 macros, ASCII)",
        tree_code::EXP_DNS_ERROR => "check the DNS servers of the exp= target",
        lint_code::TEMPERROR => "check the DNS servers of the domain shown, then run again",
        lint_code::PTR => "replace ptr by ip4/ip6 or a: terms (RFC 7208 §5.5)",
        lint_code::PASS_ALL => "end the record with -all or ~all",
        lint_code::NEUTRAL_ALL => "end the record with -all or ~all once every sender is listed",
        lint_code::NO_ALL => "end the record with -all or ~all",
        lint_code::BROAD_RANGE => "authorise only the addresses that send your mail",
        lint_code::AFTER_ALL => "move the terms before all, or remove them",
        lint_code::UNKNOWN_MODIFIER => "remove the modifier if it is a typo",
        lint_code::RFC6652_VALUE => {
            "ra= is a local-part, rp= 0 to 100, rr= all|e|f|s|n joined by ':'"
        }
        lint_code::RFC6652_NO_RA => "add ra= or remove rp=/rr=",
        lint_code::RFC6652_RA_INCLUDED => {
            "publish ra= in the record of the domain that sends, not in an included one"
        }
        lint_code::STRING_TOO_LONG => {
            "split the record into several quoted strings of at most 255 bytes"
        }
        lint_code::ANSWER_TOO_LARGE | lint_code::ANSWER_LARGE => {
            "shorten the SPF record or remove unused TXT records at the name"
        }
        lint_code::SENDER_ID => "remove the Sender ID record (RFC 4406 is historic)",
        lint_code::LOOKALIKE => "start the record with exactly \"v=spf1 \"",
        lint_code::DUPLICATE_INCLUDE => "remove the repeated include (each costs lookups)",
        _ => "see the message",
    }
}

/// The findings about DOMAIN's SPF policy.
pub async fn lint(resolver: Arc<dyn Resolver>, domain: &str, opts: &LintOptions) -> Vec<Finding> {
    let tree = spf_tree::expand(resolver, domain, opts.deadline).await;
    findings(&tree)
}

/// The findings of an expanded tree (deduplicated: a record included twice is reported once).
pub fn findings(tree: &PolicyTree) -> Vec<Finding> {
    let mut out = Vec::new();
    let root = &tree.root;
    match root.outcome {
        NodeOutcome::NoRecord => out.push(finding(
            root,
            Diagnostic::error(
                code::NO_RECORD,
                "RFC 7208 §4.5",
                format!("{} publishes no SPF record", root.domain),
            ),
        )),
        NodeOutcome::Nxdomain => out.push(finding(
            root,
            Diagnostic::error(
                code::NXDOMAIN,
                "RFC 7208 §4.5",
                format!("{} does not exist (NXDOMAIN)", root.domain),
            ),
        )),
        _ => {}
    }
    if tree.dns_lookups > tree.dns_lookup_limit {
        out.push(lookup_limit(tree));
    }
    for node in root.walk() {
        for p in &node.problems {
            out.extend(from_tree(node, p));
        }
        for t in &node.terms {
            for p in &t.problems {
                out.extend(from_tree(node, p));
            }
        }
        txt_rules(node, &mut out);
        if node.outcome == NodeOutcome::Record {
            record_rules(node, node.depth == 0, &mut out);
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|f| {
        seen.insert((
            f.domain.clone(),
            f.diag.code,
            f.diag.position,
            f.diag.message.clone(),
        ))
    });
    out
}

fn finding(node: &TreeNode, diag: Diagnostic) -> Finding {
    let fix = fix(diag.code);
    Finding::new(&node.domain, diag, node.record.as_deref(), fix)
}

/// A problem the expansion found, as a finding. The per-term lookup-limit problem is replaced
/// by one finding on the top record ([`lookup_limit`]); a DNS failure gets the lint code.
fn from_tree(node: &TreeNode, p: &Diagnostic) -> Option<Finding> {
    if p.code == code::DNS_LOOKUP_LIMIT {
        return None;
    }
    let mut d = p.clone();
    if d.code == code::DNS_ERROR {
        d.code = lint_code::TEMPERROR;
    }
    Some(finding(node, d))
}

/// More than 10 DNS-querying terms (RFC 7208 §4.6.4): the count per top-level term and the
/// term that crossed the limit, at the position of the top-level term that contains it.
fn lookup_limit(tree: &PolicyTree) -> Finding {
    let root = &tree.root;
    let per_term: Vec<String> = root
        .terms
        .iter()
        .filter(|t| t.counts && t.evaluated)
        .map(|t| format!("{} {}", t.text, t.subtree_lookups))
        .collect();
    let crossed = tree.limit_crossed_by.clone().unwrap_or_default();
    let first = crossed.split(" > ").next().unwrap_or_default();
    let position = root
        .terms
        .iter()
        .find(|t| t.text == first)
        .map(|t| t.position);
    let mut d = Diagnostic::error(
        code::DNS_LOOKUP_LIMIT,
        "RFC 7208 §4.6.4",
        format!(
            "{} DNS-querying terms, more than {} (permerror): {}; number {} is {crossed}",
            tree.dns_lookups,
            tree.dns_lookup_limit,
            per_term.join(", "),
            tree.dns_lookup_limit + 1
        ),
    )
    .with_tag(first);
    d.position = position;
    finding(root, d)
}

/// Rules on the TXT records at a name: string and answer sizes, Sender ID and lookalikes.
fn txt_rules(node: &TreeNode, out: &mut Vec<Finding>) {
    for (i, len) in node.string_lengths.iter().enumerate() {
        if *len > 255 {
            out.push(finding(
                node,
                Diagnostic::error(
                    lint_code::STRING_TOO_LONG,
                    "RFC 7208 §3.3",
                    format!(
                        "string {} of the SPF record is {len} bytes; a TXT string holds at most 255 (RFC 1035 §3.3)",
                        i + 1
                    ),
                ),
            ));
        }
    }
    if node.record.is_some() {
        let (code, sev) = if node.answer_bytes > 512 {
            (lint_code::ANSWER_TOO_LARGE, Severity::Warning)
        } else {
            (lint_code::ANSWER_LARGE, Severity::Info)
        };
        if node.answer_bytes > 450 {
            out.push(finding(
                node,
                Diagnostic::new(
                    code,
                    sev,
                    "RFC 7208 §3.4",
                    format!(
                        "the TXT answer for {} is about {} bytes (RFC 7208 §3.4: keep it under 512 so it fits UDP; 450 to be safe)",
                        node.domain, node.answer_bytes
                    ),
                ),
            ));
        }
    }
    for other in &node.other_txt {
        let lower = other.to_ascii_lowercase();
        if lower.starts_with("spf2.0/") {
            out.push(finding(
                node,
                Diagnostic::new(
                    lint_code::SENDER_ID,
                    Severity::Warning,
                    "RFC 7208 Appendix A",
                    format!("a Sender ID record (RFC 4406, historic) is published: {other}"),
                ),
            ));
        } else if !rspf::is_spf_record(other) && lower.trim_start().starts_with("v=spf") {
            out.push(finding(
                node,
                Diagnostic::new(
                    lint_code::LOOKALIKE,
                    Severity::Warning,
                    "RFC 7208 §4.5",
                    format!(
                        "a TXT record looks like SPF but does not begin with exactly \"v=spf1\" followed by a space: receivers ignore it: {other}"
                    ),
                ),
            ));
        }
    }
}

fn at(d: Diagnostic, t: &rspf::Term) -> Diagnostic {
    d.with_tag(t.text.clone()).at(t.position)
}

/// The bounds of a pass-qualified network: `Some(severity)` when it is too broad.
fn too_broad(v6: bool, prefix: u8) -> Option<Severity> {
    let (error_below, warn_below) = if v6 { (32, 48) } else { (8, 16) };
    if prefix < error_below {
        Some(Severity::Error)
    } else if prefix < warn_below {
        Some(Severity::Warning)
    } else {
        None
    }
}

/// Rules on one parsed record's terms.
fn record_rules(node: &TreeNode, top: bool, out: &mut Vec<Finding>) {
    let Some(text) = node.record.as_deref() else {
        return;
    };
    let Ok(record) = rspf::parse(text) else {
        return;
    };
    let mut after_all = false;
    let mut has_all = false;
    let mut includes = BTreeSet::new();
    let mut ra = false;
    let mut rp_rr = None;
    for t in &record.terms {
        match &t.kind {
            TermKind::Directive {
                qualifier,
                mechanism,
            } => {
                if after_all {
                    out.push(finding(
                        node,
                        at(
                            Diagnostic::new(
                                lint_code::AFTER_ALL,
                                Severity::Warning,
                                "RFC 7208 §5.1",
                                format!("{} comes after \"all\" and is never evaluated", t.text),
                            ),
                            t,
                        ),
                    ));
                    continue;
                }
                mechanism_rules(node, t, *qualifier, mechanism, &mut includes, out);
                if matches!(mechanism, Mechanism::All) {
                    after_all = true;
                    has_all = true;
                }
            }
            TermKind::Unknown { name, value } => {
                let name = name.to_ascii_lowercase();
                let value = value.to_string();
                match name.as_str() {
                    // RFC 6652 §3: the authentication failure reporting modifiers.
                    "ra" => {
                        ra = true;
                        if node
                            .via
                            .as_deref()
                            .is_some_and(|v| !v.starts_with("redirect"))
                        {
                            out.push(finding(
                                node,
                                at(
                                    Diagnostic::new(
                                        lint_code::RFC6652_RA_INCLUDED,
                                        Severity::Info,
                                        "RFC 6652 §3",
                                        format!(
                                            "{} is in a record reached through include: receivers ignore it",
                                            t.text
                                        ),
                                    ),
                                    t,
                                ),
                            ));
                        }
                        if value.is_empty() || value.contains('@') || value.contains('%') {
                            out.push(rfc6652(node, t, "ra= must be a local-part (no @)"));
                        }
                    }
                    "rp" => {
                        rp_rr.get_or_insert(t);
                        if !value.parse::<u8>().is_ok_and(|n| n <= 100) {
                            out.push(rfc6652(node, t, "rp= must be a number from 0 to 100"));
                        }
                    }
                    "rr" => {
                        rp_rr.get_or_insert(t);
                        let ok = !value.is_empty()
                            && value
                                .to_ascii_lowercase()
                                .split(':')
                                .all(|k| matches!(k, "all" | "e" | "f" | "s" | "n"));
                        if !ok {
                            out.push(rfc6652(
                                node,
                                t,
                                "rr= must be all, e, f, s or n, joined by ':'",
                            ));
                        }
                    }
                    _ => out.push(finding(
                        node,
                        at(
                            Diagnostic::new(
                                lint_code::UNKNOWN_MODIFIER,
                                Severity::Info,
                                "RFC 7208 §6",
                                format!("{}: unknown modifier, ignored by receivers", t.text),
                            ),
                            t,
                        ),
                    )),
                }
            }
            TermKind::Redirect(_) | TermKind::Exp(_) => {}
        }
    }
    if let (false, Some(t)) = (ra, rp_rr) {
        out.push(finding(
            node,
            at(
                Diagnostic::new(
                    lint_code::RFC6652_NO_RA,
                    Severity::Info,
                    "RFC 6652 §3",
                    format!("{} has no effect without ra=", t.text),
                ),
                t,
            ),
        ));
    }
    // RFC 7208 §4.7: without all or redirect the default is neutral; only the top record
    // matters (an included record without all is the usual form).
    if top && !has_all && record.redirect().is_none() {
        out.push(finding(
            node,
            Diagnostic::new(
                lint_code::NO_ALL,
                Severity::Info,
                "RFC 7208 §4.7",
                "the record has no \"all\" and no redirect=: mail from any other host gets neutral",
            ),
        ));
    }
}

fn rfc6652(node: &TreeNode, t: &rspf::Term, why: &str) -> Finding {
    finding(
        node,
        at(
            Diagnostic::new(
                lint_code::RFC6652_VALUE,
                Severity::Warning,
                "RFC 6652 §3",
                format!("{}: {why}; receivers ignore it", t.text),
            ),
            t,
        ),
    )
}

fn mechanism_rules(
    node: &TreeNode,
    t: &rspf::Term,
    q: Qualifier,
    m: &Mechanism,
    includes: &mut BTreeSet<String>,
    out: &mut Vec<Finding>,
) {
    let broad = |v6: bool, prefix: u8| -> Option<Finding> {
        let sev = too_broad(v6, prefix)?;
        (q == Qualifier::Pass).then(|| {
            finding(
                node,
                at(
                    Diagnostic::new(
                        lint_code::BROAD_RANGE,
                        sev,
                        "RFC 7208 §5.6",
                        format!(
                            "{} authorises a /{prefix} ({}): far more hosts than send mail",
                            t.text,
                            if v6 {
                                "IPv6 bounds: warning under /48, error under /32"
                            } else {
                                "IPv4 bounds: warning under /16, error under /8"
                            }
                        ),
                    ),
                    t,
                ),
            )
        })
    };
    match m {
        Mechanism::All => {
            let (code, sev, what) = match q {
                Qualifier::Pass => (
                    lint_code::PASS_ALL,
                    Severity::Error,
                    "every host on the Internet passes",
                ),
                Qualifier::Neutral => (
                    lint_code::NEUTRAL_ALL,
                    Severity::Warning,
                    "every other host gets neutral: no protection against forgery",
                ),
                _ => return,
            };
            out.push(finding(
                node,
                at(
                    Diagnostic::new(code, sev, "RFC 7208 §5.1", format!("{}: {what}", t.text)),
                    t,
                ),
            ));
        }
        Mechanism::Ptr(_) => out.push(finding(
            node,
            at(
                Diagnostic::new(
                    lint_code::PTR,
                    Severity::Warning,
                    "RFC 7208 §5.5",
                    format!(
                        "{}: ptr is slow, unreliable and SHOULD NOT be used; some receivers skip it",
                        t.text
                    ),
                ),
                t,
            ),
        )),
        Mechanism::Ip4 { prefix, .. } => out.extend(broad(false, *prefix)),
        Mechanism::Ip6 { prefix, .. } => out.extend(broad(true, *prefix)),
        Mechanism::A { cidr, .. } | Mechanism::Mx { cidr, .. } => {
            out.extend(cidr.v4.and_then(|p| broad(false, p)));
            out.extend(cidr.v6.and_then(|p| broad(true, p)));
        }
        Mechanism::Include(ms) => {
            let key = ms.to_string().to_ascii_lowercase();
            if !includes.insert(key) {
                out.push(finding(
                    node,
                    at(
                        Diagnostic::new(
                            lint_code::DUPLICATE_INCLUDE,
                            Severity::Warning,
                            "RFC 7208 §4.6.4",
                            format!(
                                "{} appears twice: evaluated (and counted) again for nothing",
                                t.text
                            ),
                        ),
                        t,
                    ),
                ));
            }
        }
        Mechanism::Exists(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::RData;
    use crate::dns::overlay::{Overlay, ZoneData};

    /// A string over 255 bytes cannot come from a zone file or the wire; a library caller's
    /// zone data can hold one.
    #[test]
    fn a_string_over_255_bytes_is_an_error() {
        let mut zone = ZoneData::new();
        let long = format!("v=spf1 {}-all", "ip4:192.0.2.1 ".repeat(20));
        zone.add("long.example", 300, RData::Txt(vec![long.into_bytes()]));
        zone.add(
            "short.example",
            300,
            RData::Txt(vec![b"v=spf1 ip4:192.0.2.1 ".to_vec(), b"-all".to_vec()]),
        );
        let resolver: Arc<dyn Resolver> = Arc::new(Overlay::new(zone, None));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let opts = LintOptions::default();
        let f = rt.block_on(lint(resolver.clone(), "long.example", &opts));
        assert!(
            f.iter().any(|f| f.diag.code == lint_code::STRING_TOO_LONG),
            "{f:#?}"
        );
        let f = rt.block_on(lint(resolver, "short.example", &opts));
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn bounds() {
        assert_eq!(too_broad(false, 16), None);
        assert_eq!(too_broad(false, 15), Some(Severity::Warning));
        assert_eq!(too_broad(false, 7), Some(Severity::Error));
        assert_eq!(too_broad(true, 48), None);
        assert_eq!(too_broad(true, 47), Some(Severity::Warning));
        assert_eq!(too_broad(true, 31), Some(Severity::Error));
    }
}
