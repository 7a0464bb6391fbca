//! Remedies (`spfcheck DOMAIN IP --suggest`): the smallest changes to the published records
//! that would make this mail authenticate, each **proven** by evaluating the whole verdict
//! again (`verdict::evaluate`) with the changed record served through the DNS overlay
//! (`dns::overlay::TxtReplacement`, as `--record` uses it), never guessed; and the reverse, for
//! forged mail that passes: which term of the SPF policy authorised the IP, through which
//! include chain. Sits beside `verdict` and `lint`, above `eval`; renders are in
//! `render::suggest`.
//!
//! A change is not suggested (it is listed in `not_suggested` with the reason) when its proof
//! does not authenticate the mail, when the changed policy would exceed the RFC 7208 §4.6.4
//! limits for any sender, or when it would authorise a network wider than
//! [`MAX_IP4_RANGE`] / [`MAX_IP6_RANGE`].

use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use crate::dns::overlay::{Overlay, TxtReplacement, ZoneData};
use crate::dns::{RData, RType, Resolver, normalize_name, reverse_name};
use crate::eval::dkim::{DkimAuth, DkimResult};
use crate::eval::dmarc::{Disposition, DmarcResult, Identifier};
use crate::eval::spf::{self, SpfOutput, SpfResult};
use crate::eval::spf_tree::{self, PolicyTree, TreeStatus};
use crate::eval::trace::{Event, Node, TermOutcome};
use crate::lint::{self, Finding, LintOptions};
use crate::psl;
use crate::record::dmarc::AlignmentMode;
use crate::record::spf::{Mechanism, SpfRecord, is_spf_record};
use crate::verdict::{self, Outcome, Verdict, VerdictRequest};

/// Widest IPv4 network a suggestion may authorise: a /24 (256 addresses). An `include:` of a
/// policy that authorises a wider one (or `+all`) is not suggested. Added addresses are /32.
pub const MAX_IP4_RANGE: u8 = 24;
/// Widest IPv6 network a suggestion may authorise: a /48 (one site). Added addresses are /128.
pub const MAX_IP6_RANGE: u8 = 48;
/// Most PTR names of the client whose domains are tried as `include:` candidates (the RFC
/// 7208 §4.6.4 bound on PTR names).
pub const MAX_PTR_NAMES: usize = 10;
/// The label of the return-path subdomain proposed for alignment (relaxed mode).
pub const BOUNCE_LABEL: &str = "bounces";

/// What kind of change a suggestion is. JSON: the kebab-case word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Add `ip4:IP` / `ip6:IP` to the MAIL FROM domain's SPF record.
    AddIp,
    /// Publish an SPF record where there is none.
    NewRecord,
    /// `include:` the SPF policy of the domain the client's PTR name belongs to.
    Include,
    /// The sender signs with DKIM, `d=` the From domain (needs the sender to act).
    DkimSign,
    /// Send with a MAIL FROM that aligns with the From domain.
    AlignMailFrom,
}

/// The verdict a change would give, from the proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct After {
    pub outcome: Outcome,
    pub disposition: Disposition,
    pub spf: SpfResult,
    pub dmarc: DmarcResult,
    pub spf_aligned: bool,
    pub dkim_aligned: bool,
    pub reason: String,
}

impl After {
    fn of(v: &Verdict) -> After {
        After {
            outcome: v.outcome,
            disposition: v.disposition,
            spf: v.spf.result,
            dmarc: v.dmarc.result,
            spf_aligned: v.dmarc.spf_aligned,
            dkim_aligned: v.dmarc.dkim_aligned,
            reason: v.reason.clone(),
        }
    }
}

/// One proven remedy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub kind: Kind,
    /// The domain whose record changes (for `dkim-sign`, the signing domain).
    pub domain: String,
    /// The change in one sentence.
    pub change: String,
    /// The new SPF record at `domain` (none for `dkim-sign`).
    pub record: Option<String>,
    /// For `align-mail-from`: the MAIL FROM the proof used.
    pub mail_from: Option<String>,
    /// What someone other than the domain owner must do, when the change needs it.
    pub requires: Option<String>,
    /// The whole verdict evaluated again with the change.
    pub verdict_after: After,
    /// DNS-querying terms the changed policy costs (RFC 7208 §4.6.4): the larger of this
    /// client's count and that of a sender matching no term.
    pub lookups_after: u32,
    /// Lint findings about `domain`'s SPF the change introduces (absent before it).
    pub findings: Vec<Finding>,
}

/// A change considered and not suggested, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub kind: Kind,
    pub domain: String,
    pub change: String,
    pub reason: String,
}

/// One step of the path to the term that authorised the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// The domain whose record holds `term`.
    pub domain: String,
    /// The term as written (`include:…`, `redirect=…`, or the mechanism that matched).
    pub term: String,
    /// The record it is in.
    pub record: Option<String>,
}

/// For mail that SPF passes: the term that authorised the client, and the proof of removing
/// the top-level term that leads to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorisedBy {
    /// The mechanism that matched (the last hop's term).
    pub mechanism: String,
    /// The domain whose record holds it.
    pub domain: String,
    /// From the checked domain's record down to the matching term.
    pub chain: Vec<Hop>,
    /// The checked domain's record without the top-level term of the chain.
    pub record_without: Option<String>,
    /// The verdict with `record_without` published.
    pub verdict_without: Option<After>,
}

/// Everything `--suggest` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Suggestions {
    /// When SPF passes but is not aligned with the From domain: that this is the problem, the
    /// alignment mode and why (from the DMARC alignment check).
    pub alignment_problem: Option<String>,
    pub suggestions: Vec<Suggestion>,
    pub not_suggested: Vec<Refused>,
    pub authorised_by: Option<AuthorisedBy>,
}

/// Finds and proves remedies for the verdict `current` of `req` over `resolver`.
pub async fn suggest(
    resolver: Arc<dyn Resolver>,
    req: &VerdictRequest,
    current: &Verdict,
) -> Suggestions {
    let mut out = Suggestions::default();
    if current.spf.result == SpfResult::Pass {
        out.authorised_by = authorised_by(&resolver, req, current).await;
    }
    if current.outcome == Outcome::Authenticated {
        return out;
    }
    let ctx = Ctx {
        resolver: resolver.clone(),
        req,
    };
    let ip = req.spf.ip.to_canonical();
    let spf_domain = normalize_name(&req.spf.domain);
    let names = validated_ptr_names(&resolver, ip).await;
    if current.spf.result != SpfResult::Pass {
        // 1. The address itself, /32 or /128 (RFC 7208 §5.6).
        let term = match ip {
            IpAddr::V4(a) => format!("ip4:{a}"),
            IpAddr::V6(a) => format!("ip6:{a}"),
        };
        ctx.add_term(&spf_domain, &term, Kind::AddIp, &mut out, None)
            .await;
        // 2. The provider the client's validated PTR name belongs to.
        for candidate in include_candidates(&names, &spf_domain) {
            let probe = spf::SpfRequest {
                domain: candidate.clone(),
                sender: format!("postmaster@{candidate}"),
                ..req.spf.clone()
            };
            if spf::check_host(resolver.clone(), &probe).await.result != SpfResult::Pass {
                continue;
            }
            let term = format!("include:{candidate}");
            if let Some(reason) = too_wide(&resolver, &candidate).await {
                out.not_suggested.push(Refused {
                    kind: Kind::Include,
                    domain: spf_domain.clone(),
                    change: format!("add {term} to {spf_domain}'s SPF record"),
                    reason,
                });
                continue;
            }
            ctx.add_term(&spf_domain, &term, Kind::Include, &mut out, None)
                .await;
        }
    } else {
        // 4. SPF passes, not aligned with the From domain.
        ctx.align(current, &mut out).await;
    }
    // 3. DKIM, signed by the relay (its validated PTR name, else its address) with d=<From
    // domain>.
    let relay = names.first().cloned().unwrap_or_else(|| ip.to_string());
    ctx.dkim_sign(&relay, &mut out).await;
    out
}

struct Ctx<'a> {
    resolver: Arc<dyn Resolver>,
    req: &'a VerdictRequest,
}

impl Ctx<'_> {
    /// Proposes `term` in `domain`'s SPF record (a new record when there is none), proves it
    /// with `mail_from` (or the request's), and files it as a suggestion or a refusal.
    async fn add_term(
        &self,
        domain: &str,
        term: &str,
        kind: Kind,
        out: &mut Suggestions,
        mail_from: Option<&str>,
    ) {
        let (kind, record, change) = match current_spf(&self.resolver, domain).await {
            Ok(Some(text)) => match insert_term(&text, term) {
                Ok(new) => (kind, new, format!("add {term} to {domain}'s SPF record")),
                Err(reason) => {
                    return out.not_suggested.push(Refused {
                        kind,
                        domain: domain.to_string(),
                        change: format!("add {term} to {domain}'s SPF record"),
                        reason,
                    });
                }
            },
            Ok(None) => (
                Kind::NewRecord,
                format!("v=spf1 {term} ~all"),
                format!(
                    "publish an SPF record at {domain} (it has none): a bigger change, every other sender goes from none to softfail"
                ),
            ),
            Err(reason) => {
                return out.not_suggested.push(Refused {
                    kind,
                    domain: domain.to_string(),
                    change: format!("add {term} to {domain}'s SPF record"),
                    reason,
                });
            }
        };
        let mut req = self.req.clone();
        if let Some(m) = mail_from {
            set_mail_from(&mut req, m);
        }
        let proof = self.prove(&req, domain, &record, kind, change).await;
        match proof {
            Ok(mut s) => {
                s.mail_from = mail_from.map(str::to_string);
                out.suggestions.push(s);
            }
            Err(r) => out.not_suggested.push(r),
        }
    }

    /// Evaluates the verdict of `req` with `record` published at `domain`; a suggestion when
    /// it authenticates within the limits, else the refusal saying why.
    async fn prove(
        &self,
        req: &VerdictRequest,
        domain: &str,
        record: &str,
        kind: Kind,
        change: String,
    ) -> Result<Suggestion, Refused> {
        let refuse = |reason: String| Refused {
            kind,
            domain: domain.to_string(),
            change: change.clone(),
            reason,
        };
        let changed = with_record(&self.resolver, domain, record);
        let verdict = verdict::evaluate(changed.clone(), req).await;
        // The lookups the changed policy costs a sender that matches no term: the static
        // expansion counts every DNS-querying term up to the first `all` (RFC 7208 §4.6.4),
        // where the proof above stops at the term that matched.
        let tree = spf_tree::expand(changed.clone(), domain, None).await;
        if let Some(reason) = limit_exceeded(&verdict.spf).or_else(|| tree_over_limits(&tree)) {
            return Err(refuse(reason));
        }
        if verdict.outcome != Outcome::Authenticated {
            return Err(refuse(format!(
                "proven not to help: {}",
                After::of(&verdict).reason
            )));
        }
        let findings = introduced(
            &lint::spf::lint(self.resolver.clone(), domain, &LintOptions::default()).await,
            &lint::spf::lint(changed, domain, &LintOptions::default()).await,
        );
        Ok(Suggestion {
            kind,
            domain: domain.to_string(),
            change,
            record: Some(record.to_string()),
            mail_from: None,
            requires: None,
            lookups_after: verdict.spf.dns_lookups.max(tree.dns_lookups),
            verdict_after: After::of(&verdict),
            findings,
        })
    }

    /// 3: a simulated aligned DKIM pass (`d=` the From domain).
    async fn dkim_sign(&self, relay: &str, out: &mut Suggestions) {
        let from = normalize_name(&self.req.from_domain);
        let mut req = self.req.clone();
        req.dkim.push(DkimResult {
            domain: from.clone(),
            selector: None,
            result: DkimAuth::Pass,
            source: "simulated".to_string(),
            signature: None,
        });
        let change = format!("the relay {relay} could DKIM-sign with d={from}");
        let verdict = verdict::evaluate(self.resolver.clone(), &req).await;
        if verdict.outcome != Outcome::Authenticated {
            out.not_suggested.push(Refused {
                kind: Kind::DkimSign,
                domain: from,
                change,
                reason: format!("proven not to help: {}", verdict.reason),
            });
            return;
        }
        out.suggestions.push(Suggestion {
            kind: Kind::DkimSign,
            domain: from.clone(),
            change,
            record: None,
            mail_from: None,
            requires: Some(format!(
                "the sender must sign with a key it holds, published at SELECTOR._domainkey.{from} (RFC 6376 §3.6.2.1); proven with a simulated aligned DKIM pass"
            )),
            lookups_after: verdict.spf.dns_lookups,
            verdict_after: After::of(&verdict),
            findings: Vec::new(),
        });
    }

    /// 4: SPF passes for a MAIL FROM domain not aligned with the From domain (RFC 9989 §4.4.2).
    async fn align(&self, current: &Verdict, out: &mut Suggestions) {
        if current.dmarc.spf_aligned || current.dmarc.result != DmarcResult::Fail {
            return;
        }
        out.alignment_problem = current
            .dmarc
            .alignment
            .iter()
            .find(|c| c.identifier == Identifier::Spf)
            .map(|c| {
                format!(
                    "alignment is the problem: SPF passes, but {} alignment with the From domain fails: {}",
                    c.mode, c.why
                )
            });
        let from = normalize_name(&self.req.from_domain);
        let spf_domain = normalize_name(&self.req.spf.domain);
        let strict = current
            .dmarc
            .alignment
            .iter()
            .any(|c| c.identifier == Identifier::Spf && c.mode == AlignmentMode::Strict);
        let local = self
            .req
            .spf
            .sender
            .rsplit_once('@')
            .map_or("bounce", |(l, _)| l)
            .to_string();
        let include = format!("include:{spf_domain}");
        if strict {
            // aspf=s: the MAIL FROM domain must be the From domain itself (RFC 9989 §4.4.2).
            let mail_from = format!("{local}@{from}");
            let before = out.suggestions.len();
            self.add_term(&from, &include, Kind::AlignMailFrom, out, Some(&mail_from))
                .await;
            note_alignment(out, before, &spf_domain, &from, "strict (aspf=s)");
        } else {
            // Relaxed: any domain with the From domain's organizational domain aligns; a
            // return-path subdomain keeps the From domain's own policy as it is.
            let bounce = format!("{BOUNCE_LABEL}.{from}");
            let mail_from = format!("{local}@{bounce}");
            let record = format!("v=spf1 {include} -all");
            let mut req = self.req.clone();
            set_mail_from(&mut req, &mail_from);
            let change =
                format!("send with MAIL FROM {mail_from} and publish \"{record}\" at {bounce}");
            match self
                .prove(&req, &bounce, &record, Kind::AlignMailFrom, change)
                .await
            {
                Ok(mut s) => {
                    s.mail_from = Some(mail_from);
                    s.requires = Some(format!(
                        "the sender must use {bounce} as its return-path (bounce) domain; SPF passes for {spf_domain} but is not aligned with {from} (relaxed: a different organizational domain)"
                    ));
                    out.suggestions.push(s);
                }
                Err(r) => out.not_suggested.push(r),
            }
        }
    }
}

/// Marks the alignment suggestion pushed after `before` with what the sender must change.
fn note_alignment(out: &mut Suggestions, before: usize, spf_domain: &str, from: &str, mode: &str) {
    for s in out.suggestions.iter_mut().skip(before) {
        s.kind = Kind::AlignMailFrom;
        if let Some(m) = &s.mail_from {
            s.change = format!("send with MAIL FROM {m} and {}", s.change);
        }
        s.requires = Some(format!(
            "the sender must use a MAIL FROM at {from}; SPF passes for {spf_domain} but alignment is {mode}"
        ));
    }
}

/// The request with another MAIL FROM (the SPF identity follows it).
fn set_mail_from(req: &mut VerdictRequest, mail_from: &str) {
    let mut spf = spf::SpfRequest::new(req.spf.ip, mail_from, &req.spf.helo);
    spf.receiver = req.spf.receiver.clone();
    spf.now = req.spf.now;
    spf.default_explanation = req.spf.default_explanation.clone();
    spf.limits = req.spf.limits;
    req.spf = spf;
}

/// `resolver` with `record` replacing the SPF record(s) at `domain` (the `--record` overlay).
fn with_record(resolver: &Arc<dyn Resolver>, domain: &str, record: &str) -> Arc<dyn Resolver> {
    let mut overlay = Overlay::new(ZoneData::new(), Some(resolver.clone()));
    overlay.replace_txt(TxtReplacement::new(domain, is_spf_record, record));
    Arc::new(overlay)
}

/// Why the expanded policy breaks the RFC 7208 §4.6.4 lookup limits for a sender that
/// matches no term, if it does (a policy read only in part cannot be proven within them).
fn tree_over_limits(tree: &PolicyTree) -> Option<String> {
    if tree.dns_lookups > tree.dns_lookup_limit || tree.void_lookups > tree.void_lookup_limit {
        return Some(format!(
            "would break the RFC 7208 §4.6.4 limits for other senders: {}/{} DNS lookups, {}/{} void lookups{}",
            tree.dns_lookups,
            tree.dns_lookup_limit,
            tree.void_lookups,
            tree.void_lookup_limit,
            tree.limit_crossed_by
                .as_ref()
                .map(|t| format!(" (number {} is {t})", tree.dns_lookup_limit + 1))
                .unwrap_or_default()
        ));
    }
    if tree.status == TreeStatus::TempError {
        return Some("a DNS failure kept part of the changed policy from being read: its lookups are unknown".into());
    }
    tree.truncated
        .then(|| "the changed policy is too large to expand: its lookups are unknown".into())
}

/// Why an evaluation broke an RFC 7208 §4.6.4 limit, if it did.
fn limit_exceeded(out: &SpfOutput) -> Option<String> {
    let p = out.problem.as_ref()?;
    [
        spf::code::DNS_LOOKUP_LIMIT,
        spf::code::VOID_LOOKUP_LIMIT,
        spf::code::MX_LIMIT,
        spf::code::NESTING_LIMIT,
    ]
    .contains(&p.code)
    .then(|| {
        format!(
            "would break the RFC 7208 §4.6.4 limits ({} lookups counted): {}",
            out.dns_lookups, p.message
        )
    })
}

/// The one SPF record published at `domain`: `Ok(None)` when there is none (NXDOMAIN, NODATA,
/// no `v=spf1` TXT); an error when it cannot be changed safely.
async fn current_spf(resolver: &Arc<dyn Resolver>, domain: &str) -> Result<Option<String>, String> {
    let answer = resolver.query(domain, RType::Txt).await;
    if answer.is_failure() {
        return Err(format!(
            "a DNS failure reading {domain}'s TXT records ({}): nothing can be proven",
            answer.kind()
        ));
    }
    let spf: Vec<String> = answer
        .records()
        .iter()
        .filter_map(RData::txt_joined)
        .filter(|t| is_spf_record(t))
        .collect();
    match spf.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err(format!(
            "{domain} publishes {} SPF records (a permerror, RFC 7208 §4.5): merge them into one first",
            spf.len()
        )),
    }
}

/// `record` with `term` inserted before the first `all` (terms after it are never reached),
/// else before `redirect=`, else after the last directive; every other term keeps its text and
/// order.
pub fn insert_term(record: &str, term: &str) -> Result<String, String> {
    let parsed: SpfRecord = crate::record::spf::parse(record)
        .map_err(|e| format!("the record does not parse ({e}): fix it first"))?;
    let all = parsed
        .terms
        .iter()
        .find(|t| matches!(t.mechanism(), Some(Mechanism::All)));
    let at = all
        .or_else(|| parsed.redirect_term())
        .map(|t| t.position)
        .or_else(|| {
            parsed
                .terms
                .iter()
                .rev()
                .find(|t| t.is_directive())
                .map(|t| t.position + t.text.len())
        });
    let lower = record.to_ascii_lowercase();
    if lower.split(' ').any(|t| t == term.to_ascii_lowercase()) {
        return Err(format!("the record already has {term}"));
    }
    Ok(match at {
        Some(p) if all.is_some() || parsed.redirect_term().is_some_and(|r| r.position == p) => {
            match (record.get(..p), record.get(p..)) {
                (Some(a), Some(b)) => format!("{a}{term} {b}"),
                _ => format!("{} {term}", record.trim_end()),
            }
        }
        Some(p) => match (record.get(..p), record.get(p..)) {
            (Some(a), Some(b)) => format!("{a} {term}{b}"),
            _ => format!("{} {term}", record.trim_end()),
        },
        // Only the version (and maybe modifiers other than redirect): right after it.
        None => match (record.get(..6), record.get(6..)) {
            (Some(v), Some(rest)) => format!("{v} {term}{rest}"),
            _ => format!("v=spf1 {term}"),
        },
    })
}

/// The names of the client's PTR records (first [`MAX_PTR_NAMES`]) whose A/AAAA records
/// contain it: forward-confirmed, as RFC 7208 §5.5 validates them.
async fn validated_ptr_names(resolver: &Arc<dyn Resolver>, ip: IpAddr) -> Vec<String> {
    let answer = resolver.query(&reverse_name(ip), RType::Ptr).await;
    let mut names = Vec::new();
    for r in answer.records().iter().take(MAX_PTR_NAMES) {
        let RData::Ptr(name) = r else { continue };
        let name = normalize_name(name);
        if name.is_empty() {
            continue;
        }
        let rtype = if ip.is_ipv4() { RType::A } else { RType::Aaaa };
        let forward = resolver.query(&name, rtype).await;
        let confirmed = forward.records().iter().any(|d| match (d, ip) {
            (RData::A(a), IpAddr::V4(c)) => *a == c,
            (RData::Aaaa(a), IpAddr::V6(c)) => *a == c,
            _ => false,
        });
        if confirmed && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Domains to try as `include:` targets: each validated name and its parents down to its
/// organizational domain, not the MAIL FROM domain itself, each once.
fn include_candidates(names: &[String], spf_domain: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let org = psl::organizational_domain(name);
        let mut n = name.as_str();
        loop {
            if n != spf_domain && !out.iter().any(|o| o == n) {
                out.push(n.to_string());
            }
            if n == org {
                break;
            }
            match n.split_once('.') {
                Some((_, parent)) if parent.len() >= org.len() => n = parent,
                _ => break,
            }
        }
    }
    out
}

/// Why including `domain` would authorise too much: a network wider than the bounds along a
/// pass path (`+all` is 0.0.0.0/0), or a policy that cannot be read statically (macros, a DNS
/// failure, too large) — from the static expansion `spfcheck tree` shows.
async fn too_wide(resolver: &Arc<dyn Resolver>, domain: &str) -> Option<String> {
    let tree = spf_tree::expand(resolver.clone(), domain, None).await;
    if tree.status == TreeStatus::TempError {
        return Some(format!(
            "a DNS failure kept {domain}'s policy from being read: what it authorises was not checked"
        ));
    }
    if tree.depends_on_message {
        return Some(format!(
            "{domain}'s policy uses macros: what it authorises cannot be checked statically"
        ));
    }
    if tree.truncated {
        return Some(format!(
            "{domain}'s policy is too large to expand: what it authorises was not checked"
        ));
    }
    let wide = tree
        .networks
        .iter()
        .find(|n| match n.parse::<ipnet::IpNet>() {
            Ok(ipnet::IpNet::V4(v4)) => v4.prefix_len() < MAX_IP4_RANGE,
            Ok(ipnet::IpNet::V6(v6)) => v6.prefix_len() < MAX_IP6_RANGE,
            Err(_) => true,
        })?;
    Some(format!(
        "{domain}'s policy authorises {wide}, wider than the /{MAX_IP4_RANGE} (IPv4) or /{MAX_IP6_RANGE} (IPv6) a suggestion may authorise"
    ))
}

/// The findings of `after` that `before` does not have (same domain and code).
pub fn introduced(before: &[Finding], after: &[Finding]) -> Vec<Finding> {
    after
        .iter()
        .filter(|a| {
            !before
                .iter()
                .any(|b| b.domain == a.domain && b.diag.code == a.diag.code)
        })
        .cloned()
        .collect()
}

/// The chain of terms from the checked domain's record to the mechanism that matched with a
/// pass, read from the SPF trace.
pub fn pass_chain(trace: &Node) -> Vec<Hop> {
    let mut chain = Vec::new();
    let mut node = trace;
    // Bounded by the trace's depth (RFC 7208 §4.6.4 nesting).
    while let Event::CheckHost { domain, .. } = &node.event {
        let record = node.children.iter().find_map(|c| match &c.event {
            Event::Record { text } => Some(text.clone()),
            _ => None,
        });
        let Some(term_node) = node.children.iter().find(|c| {
            matches!(
                c.event,
                Event::Term {
                    outcome: TermOutcome::Match(SpfResult::Pass)
                        | TermOutcome::Redirect(SpfResult::Pass),
                    ..
                }
            )
        }) else {
            break;
        };
        let Event::Term { term, .. } = &term_node.event else {
            break;
        };
        chain.push(Hop {
            domain: domain.clone(),
            term: term.clone(),
            record,
        });
        match term_node
            .children
            .iter()
            .find(|c| matches!(c.event, Event::CheckHost { .. }))
        {
            Some(next) => node = next,
            None => break,
        }
    }
    chain
}

/// Which term authorised the client, and the verdict with the top-level term removed.
async fn authorised_by(
    resolver: &Arc<dyn Resolver>,
    req: &VerdictRequest,
    current: &Verdict,
) -> Option<AuthorisedBy> {
    let chain = pass_chain(&current.spf.trace);
    let last = chain.last()?;
    let top = chain.first()?;
    let record_without = top
        .record
        .as_deref()
        .and_then(|r| remove_term(r, &top.term));
    let verdict_without = match &record_without {
        Some(r) => {
            let changed = with_record(resolver, &top.domain, r);
            Some(After::of(&verdict::evaluate(changed, req).await))
        }
        None => None,
    };
    Some(AuthorisedBy {
        mechanism: last.term.clone(),
        domain: last.domain.clone(),
        record_without,
        verdict_without,
        chain,
    })
}

/// `record` without the first term written exactly `term`.
fn remove_term(record: &str, term: &str) -> Option<String> {
    let parsed = crate::record::spf::parse(record).ok()?;
    let t = parsed.terms.iter().find(|t| t.text == term)?;
    let before = record.get(..t.position)?.trim_end();
    let after = record.get(t.position + t.text.len()..)?.trim_start();
    Some(if after.is_empty() {
        before.to_string()
    } else {
        format!("{before} {after}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Diagnostic, Severity};

    fn finding(domain: &str, code: &'static str) -> Finding {
        Finding::new(
            domain,
            Diagnostic::new(code, Severity::Warning, "RFC 7208 §4.6.4", "m"),
            Some("v=spf1 -all"),
            "fix",
        )
    }

    #[test]
    fn introduced_compares_domain_and_code() {
        let before = vec![
            finding("a.example", "spf-ptr"),
            finding("b.example", "spf-lookups"),
        ];
        let after = vec![
            finding("a.example", "spf-ptr"),
            finding("a.example", "spf-lookups"),
            finding("b.example", "spf-lookups"),
            finding("c.example", "spf-ptr"),
        ];
        let new = introduced(&before, &after);
        let keys: Vec<(&str, &str)> = new
            .iter()
            .map(|f| (f.domain.as_str(), f.diag.code))
            .collect();
        assert_eq!(
            keys,
            vec![("a.example", "spf-lookups"), ("c.example", "spf-ptr")]
        );
        assert!(introduced(&after, &before).is_empty());
        assert!(introduced(&[], &[]).is_empty());
    }

    #[test]
    fn terms_go_before_all_or_redirect() {
        let t = "ip4:192.0.2.1";
        assert_eq!(
            insert_term(
                "v=spf1 mx a ip4:192.0.2.0/27 include:_spf.x.example -all",
                t
            )
            .unwrap(),
            "v=spf1 mx a ip4:192.0.2.0/27 include:_spf.x.example ip4:192.0.2.1 -all"
        );
        assert_eq!(
            insert_term("v=spf1 a redirect=_spf.x.example", t).unwrap(),
            "v=spf1 a ip4:192.0.2.1 redirect=_spf.x.example"
        );
        assert_eq!(
            insert_term("v=spf1 a exp=why.x.example", t).unwrap(),
            "v=spf1 a ip4:192.0.2.1 exp=why.x.example"
        );
        assert_eq!(
            insert_term("v=spf1 -all mx", t).unwrap(),
            "v=spf1 ip4:192.0.2.1 -all mx"
        );
        assert_eq!(insert_term("v=spf1", t).unwrap(), "v=spf1 ip4:192.0.2.1");
        assert_eq!(
            insert_term("V=SPF1  ~ALL", t).unwrap(),
            "V=SPF1  ip4:192.0.2.1 ~ALL"
        );
        assert!(insert_term("v=spf1 ip4:192.0.2.1 -all", t).is_err());
        assert!(insert_term("v=spf1 a:", t).is_err());
    }

    #[test]
    fn removing_a_term_keeps_the_rest() {
        assert_eq!(
            remove_term("v=spf1 mx include:a.example -all", "include:a.example").as_deref(),
            Some("v=spf1 mx -all")
        );
        assert_eq!(
            remove_term("v=spf1 mx +all", "+all").as_deref(),
            Some("v=spf1 mx")
        );
        assert_eq!(remove_term("v=spf1 mx", "a"), None);
    }

    fn term(text: &str, outcome: TermOutcome) -> Node {
        Node::new(Event::Term {
            term: text.into(),
            outcome,
            dns_lookups: 0,
            void_lookups: 0,
            detail: None,
        })
    }

    fn check_host(domain: &str, record: &str, terms: Vec<Node>) -> Node {
        let mut n = Node::new(Event::CheckHost {
            domain: domain.into(),
            via: None,
        });
        n.push(Event::Record {
            text: record.into(),
        });
        n.children.extend(terms);
        n
    }

    /// The chain follows a redirect and an include to the matching mechanism; a failing
    /// include (no match) is passed over.
    #[test]
    fn pass_chain_follows_redirects_and_includes() {
        let leaf = check_host(
            "c.example",
            "v=spf1 ip4:192.0.2.0/24",
            vec![term(
                "ip4:192.0.2.0/24",
                TermOutcome::Match(SpfResult::Pass),
            )],
        );
        let mut inc = term("include:c.example", TermOutcome::Match(SpfResult::Pass));
        inc.children.push(leaf);
        let mut b = check_host(
            "b.example",
            "v=spf1 include:x.example include:c.example -all",
            vec![term("include:x.example", TermOutcome::NoMatch), inc],
        );
        if let Event::CheckHost { via, .. } = &mut b.event {
            *via = Some("redirect=b.example".into());
        }
        let mut red = term("redirect=b.example", TermOutcome::Redirect(SpfResult::Pass));
        red.children.push(b);
        let top = check_host(
            "a.example",
            "v=spf1 mx redirect=b.example",
            vec![term("mx", TermOutcome::NoMatch), red],
        );
        let chain = pass_chain(&top);
        let got: Vec<(&str, &str)> = chain
            .iter()
            .map(|h| (h.domain.as_str(), h.term.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a.example", "redirect=b.example"),
                ("b.example", "include:c.example"),
                ("c.example", "ip4:192.0.2.0/24"),
            ]
        );
        assert_eq!(
            chain[1].record.as_deref(),
            Some("v=spf1 include:x.example include:c.example -all")
        );
        // A fail decides nothing here: no chain.
        let fail = check_host(
            "a.example",
            "v=spf1 -all",
            vec![term("-all", TermOutcome::Match(SpfResult::Fail))],
        );
        assert!(pass_chain(&fail).is_empty());
    }

    #[test]
    fn candidates_stop_at_the_organizational_domain() {
        let names = vec!["dain.r-pl.co.uk".to_string(), "mx.a.b.example".to_string()];
        assert_eq!(
            include_candidates(&names, "r-pl.co.uk"),
            vec![
                "dain.r-pl.co.uk",
                "mx.a.b.example",
                "a.b.example",
                "b.example"
            ]
        );
    }
}
