//! Lint rules for the DMARC record of a domain (see `lint`): what a receiver will make of
//! `_dmarc.DOMAIN` (RFC 9989 primarily; RFC 7489 where it differs), what the record fails to
//! protect, and whether its report destinations will get reports.
//!
//! The record's own diagnostics (invalid or unknown tags, removed tags, bad URIs, case,
//! duplicates) come from `record::dmarc` and are not re-derived here; this module adds the rules
//! that need the whole record, DNS or the domain's other records. Codes (all `dmarc-…`):
//!
//! | code | severity | rule |
//! |---|---|---|
//! | `dmarc-no-record` | error | no DMARC record applies to the domain (RFC 9989 §4.10) |
//! | `dmarc-org-policy` | info | no record at the domain; its organizational domain's applies |
//! | `dmarc-parked-no-record` | error | the domain's SPF is `v=spf1 -all` (sends nothing), no DMARC |
//! | `dmarc-parked-weak-policy` | warning | SPF `v=spf1 -all` but p or sp is not reject |
//! | `dmarc-multiple-records` | error | several DMARC records: all are discarded |
//! | `dmarc-invalid-record` | error | a TXT record meant as DMARC that is not one (`v=DMARC1` wrong) |
//! | `dmarc-spf-record` | warning | an SPF record at `_dmarc.DOMAIN` |
//! | `dmarc-unrelated-txt` | info | another TXT record at `_dmarc.DOMAIN` |
//! | `dmarc-leading-whitespace` | warning | the record starts with white space |
//! | `dmarc-wrong-location` | warning | a DMARC record at DOMAIN itself (no effect) |
//! | `dmarc-p-none` | warning | p=none (or no p): monitoring only |
//! | `dmarc-sp-weaker` / `dmarc-np-weaker` | warning | sp / np weaker than p |
//! | `dmarc-testing` | warning | t=y: the policy is not applied in full |
//! | `dmarc-no-rua` | info | no aggregate report destination |
//! | `dmarc-many-uris` | info | more than two URIs in rua or ruf |
//! | `dmarc-report-unauthorized` | warning | external destination without `D._report._dmarc.DEST` |
//! | `dmarc-report-undeliverable` | warning | a report address's domain has no MX and no address |
//! | `dmarc-temperror` | error | a DNS failure prevented (part of) the audit |
//!
//! plus the parser's codes (`record::dmarc::code`): `dmarc-syntax`, `dmarc-duplicate-tag`,
//! `dmarc-case`, `dmarc-invalid-tag`, `dmarc-unknown-tag`, `dmarc-removed-tag` (pct, rf, ri),
//! `dmarc-missing-p`, `dmarc-p-not-second` (RFC 7489), `dmarc-invalid-uri`,
//! `dmarc-no-valid-uri`, `dmarc-uri-scheme` (non-mailto), `dmarc-obsolete-size`,
//! `dmarc-unregistered-format`, `dmarc-fo-without-ruf`, `dmarc-diagnostics-truncated`.
//!
//! Compared with checkdmarc 6.0.4's DMARC checks (`checkdmarc/dmarc.py`: record lookup,
//! tree walk, `parse_dmarc_record`, `_parse_report_uris`, `verify_dmarc_report_destination`),
//! each has a rule here or in the parser. Deliberate omissions and differences:
//! - its CNAME-beside-other-data warning at `_dmarc`: a resolver follows the CNAME and never
//!   sees the conflict (RFC 1034 §3.6.2 forbids it; zone tooling refuses it);
//! - its separate `*._report._dmarc.DEST` query: a wildcard is DNS's business, the
//!   authorisation query itself is answered from it (RFC 4592);
//! - its note when a `psd=y` record's organizational domain has no record of its own: the
//!   `dmarc-org-policy` finding names the record that applies instead;
//! - `sp=none` alone is not flagged (checkdmarc warns on any explicit sp=none): only an sp or np
//!   weaker than p is, p=none having its own finding;
//! - a report address whose domain has no MX but an address record is deliverable (RFC 5321
//!   §5.1 implicit MX); checkdmarc asks for an MX;
//! - as checkdmarc, "outside the domain" compares organizational domains with the Public
//!   Suffix List, not with a DNS Tree Walk per destination (RFC 9990 §4 would use the walk).

use std::sync::Arc;

use super::{Finding, LintOptions, futures_join_all, query, spf_record, spf_sends_nothing};
use crate::diag::{Diagnostic, Severity};
use crate::dns::{Answer, RData, RType, Resolver};
use crate::eval::dmarc::{DmarcRequest, DmarcResult, SpfIdentity, discover};
use crate::eval::spf::SpfResult;
use crate::psl;
use crate::record::dmarc::{self as record, DmarcMode, DmarcRecord, Policy, code as pcode};
use crate::record::taglist;

/// Stable codes of the rules of this module (the parser's are in `record::dmarc::code`).
pub mod code {
    pub const NO_RECORD: &str = "dmarc-no-record";
    pub const ORG_POLICY: &str = "dmarc-org-policy";
    pub const PARKED_NO_RECORD: &str = "dmarc-parked-no-record";
    pub const PARKED_WEAK_POLICY: &str = "dmarc-parked-weak-policy";
    pub const MULTIPLE_RECORDS: &str = "dmarc-multiple-records";
    pub const INVALID_RECORD: &str = "dmarc-invalid-record";
    pub const SPF_RECORD: &str = "dmarc-spf-record";
    pub const UNRELATED_TXT: &str = "dmarc-unrelated-txt";
    pub const LEADING_WHITESPACE: &str = "dmarc-leading-whitespace";
    pub const WRONG_LOCATION: &str = "dmarc-wrong-location";
    pub const P_NONE: &str = "dmarc-p-none";
    pub const SP_WEAKER: &str = "dmarc-sp-weaker";
    pub const NP_WEAKER: &str = "dmarc-np-weaker";
    pub const TESTING: &str = "dmarc-testing";
    pub const NO_RUA: &str = "dmarc-no-rua";
    pub const MANY_URIS: &str = "dmarc-many-uris";
    pub const REPORT_UNAUTHORIZED: &str = "dmarc-report-unauthorized";
    pub const REPORT_UNDELIVERABLE: &str = "dmarc-report-undeliverable";
    pub const TEMPERROR: &str = "dmarc-temperror";
}

/// Most report destinations checked in DNS per record (a hostile record may list hundreds).
const MAX_DESTINATIONS: usize = 10;

/// The findings about DOMAIN's DMARC record.
pub async fn lint(resolver: Arc<dyn Resolver>, domain: &str, opts: &LintOptions) -> Vec<Finding> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let owner = format!("_dmarc.{domain}");
    let deadline = opts.deadline;
    let (answer, apex) = tokio::join!(
        query(resolver.as_ref(), &owner, RType::Txt, deadline),
        query(resolver.as_ref(), &domain, RType::Txt, deadline),
    );
    let mut out = Vec::new();
    if answer.is_failure() {
        out.push(temperror(&owner, &answer));
        return out;
    }
    // The SPF record of the domain, for the parked-domain rules (a failure: rules skipped).
    let sends_nothing = spf_record(&apex).is_some_and(|t| spf_sends_nothing(&t));

    let mut records = Vec::new();
    let mut attempts = 0;
    for text in answer.records().iter().filter_map(RData::txt_joined) {
        if record::is_dmarc_record(&text) {
            if text.starts_with(char::is_whitespace) {
                out.push(Finding::new(
                    &owner,
                    Diagnostic::new(
                        code::LEADING_WHITESPACE,
                        Severity::Warning,
                        "RFC 9989 §4.8",
                        "the DMARC record starts with white space, which some receivers do not accept",
                    )
                    .at(0),
                    Some(&text),
                    "remove the white space before v=DMARC1",
                ));
            }
            records.push(text);
        } else if text
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("v=dmarc")
        {
            attempts += 1;
            let (position, why) = match record::parse(&text) {
                Err(e) => (e.position, e.kind.to_string()),
                Ok(_) => (0, "not a DMARC record".to_string()),
            };
            out.push(Finding::new(
                &owner,
                Diagnostic::error(
                    code::INVALID_RECORD,
                    "RFC 9989 §4.7",
                    format!("this TXT record is ignored: {why}"),
                )
                .at(position),
                Some(&text),
                "start the record with exactly \"v=DMARC1;\" (upper case DMARC1, then ';')",
            ));
        } else if crate::record::spf::is_spf_record(&text) {
            out.push(Finding::new(
                &owner,
                Diagnostic::new(
                    code::SPF_RECORD,
                    Severity::Warning,
                    "RFC 9989 §4.10",
                    format!("an SPF record at {owner}: SPF is looked up at {domain}, not here"),
                )
                .at(0),
                Some(&text),
                format!("move the SPF record to {domain} (or remove it)"),
            ));
        } else {
            out.push(Finding::new(
                &owner,
                Diagnostic::new(
                    code::UNRELATED_TXT,
                    Severity::Info,
                    "RFC 9989 §4.10",
                    format!(
                        "a TXT record at {owner} that is not a DMARC record: receivers discard it"
                    ),
                ),
                Some(&text),
                format!("remove the other TXT records from {owner}"),
            ));
        }
    }
    // A DMARC record published at the domain itself is never looked at.
    for text in apex.records().iter().filter_map(RData::txt_joined) {
        if record::is_dmarc_record(&text) {
            out.push(Finding::new(
                &domain,
                Diagnostic::new(
                    code::WRONG_LOCATION,
                    Severity::Warning,
                    "RFC 9989 §4.10",
                    format!(
                        "a DMARC record at {domain} itself has no effect: receivers ask {owner}"
                    ),
                ),
                Some(&text),
                format!("publish the record at {owner} and remove it from {domain}"),
            ));
        }
    }

    match records.as_slice() {
        [] => {
            no_record(
                &resolver,
                &domain,
                &owner,
                attempts > 0,
                sends_nothing,
                opts,
                &mut out,
            )
            .await
        }
        [text] => {
            lint_record(
                &resolver,
                &domain,
                &owner,
                text,
                sends_nothing,
                deadline,
                &mut out,
            )
            .await
        }
        several => {
            // RFC 9989 §4.10 step 2 (RFC 7489 §6.6.3 step 5): several records, none applies.
            let n = several.len();
            for text in several {
                out.push(Finding::new(
                    &owner,
                    Diagnostic::error(
                        code::MULTIPLE_RECORDS,
                        "RFC 9989 §4.10",
                        format!("{n} DMARC records at {owner}: receivers discard them all, so no policy applies"),
                    ),
                    Some(text),
                    "keep exactly one v=DMARC1 record",
                ));
            }
        }
    }
    out
}

/// A DNS failure as a finding (the audit is incomplete; exit 4).
fn temperror(name: &str, answer: &Answer) -> Finding {
    Finding::new(
        name,
        Diagnostic::error(
            code::TEMPERROR,
            "RFC 9989 §4.10",
            format!(
                "DNS {} for TXT {name}{}: the record could not be checked",
                answer.kind(),
                answer.cause_suffix()
            ),
        ),
        None,
        "make the name servers answer, then lint again",
    )
}

/// No usable record at `_dmarc.DOMAIN`: does an organizational domain's policy apply
/// (RFC 9989 §4.10.1 DNS Tree Walk), and is the domain one that sends nothing?
async fn no_record(
    resolver: &Arc<dyn Resolver>,
    domain: &str,
    owner: &str,
    invalid_present: bool,
    sends_nothing: bool,
    opts: &LintOptions,
    out: &mut Vec<Finding>,
) {
    let req = DmarcRequest {
        from_domain: domain.to_string(),
        spf: SpfIdentity {
            result: SpfResult::None,
            domain: domain.to_string(),
            helo: false,
        },
        dkim: Vec::new(),
        mode: DmarcMode::Rfc9989,
        pct_sample: 0,
        deadline: None,
    };
    let found = discover(resolver.clone(), domain, DmarcMode::Rfc9989, opts.deadline)
        .await
        .evaluate(&req)
        .await;
    if found.result == DmarcResult::TempError {
        let why = found
            .problem
            .map(|p| p.message)
            .unwrap_or_else(|| "a DNS failure".to_string());
        out.push(Finding::new(
            owner,
            Diagnostic::error(
                code::TEMPERROR,
                "RFC 9989 §4.10.1",
                format!("DMARC policy discovery for {domain} failed: {why}"),
            ),
            None,
            "make the name servers answer, then lint again",
        ));
        return;
    }
    if let (Some(policy_domain), Some(text)) = (&found.domain, &found.record)
        && policy_domain != domain
    {
        let policy = found
            .applied_policy
            .map(|p| p.to_string())
            .unwrap_or_else(|| "none".to_string());
        let source = found.policy_source.unwrap_or_else(|| "p".to_string());
        out.push(Finding::new(
            owner,
            Diagnostic::new(
                code::ORG_POLICY,
                Severity::Info,
                "RFC 9989 §4.10.1",
                format!(
                    "no DMARC record at {owner}: the organizational domain's record at _dmarc.{policy_domain} applies ({source}={policy} for {domain})"
                ),
            ),
            None,
            format!(
                "nothing to do if _dmarc.{policy_domain} suits {domain}; else publish a record at {owner}"
            ),
        ));
        let org_owner = format!("_dmarc.{policy_domain}");
        lint_record(
            resolver,
            policy_domain,
            &org_owner,
            text,
            false,
            opts.deadline,
            out,
        )
        .await;
        return;
    }
    if invalid_present {
        // The invalid record's own finding says it all.
        return;
    }
    if sends_nothing {
        out.push(Finding::new(
            owner,
            Diagnostic::error(
                code::PARKED_NO_RECORD,
                "RFC 9989 §4.7",
                format!(
                    "{domain} sends no mail (SPF v=spf1 -all) but has no DMARC record: SPF does not protect the From header, so mail forging From: {domain} is not rejected by policy"
                ),
            ),
            None,
            format!("publish TXT \"v=DMARC1; p=reject;\" at {owner}"),
        ));
    } else {
        out.push(Finding::new(
            owner,
            Diagnostic::error(
                code::NO_RECORD,
                "RFC 9989 §4.10",
                format!(
                    "no DMARC record at {owner} and none at an organizational domain above it: receivers apply no DMARC policy to mail from {domain}"
                ),
            ),
            None,
            format!(
                "publish TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}\" at {owner}, then move to p=quarantine or p=reject"
            ),
        ));
    }
}

/// Strength order of policies: none < quarantine < reject.
fn strength(p: Policy) -> u8 {
    match p {
        Policy::None => 0,
        Policy::Quarantine => 1,
        Policy::Reject => 2,
    }
}

/// The one record at `owner` (`_dmarc.DOMAIN`): the parser's diagnostics, then the rules that
/// need the whole record or DNS.
async fn lint_record(
    resolver: &Arc<dyn Resolver>,
    domain: &str,
    owner: &str,
    text: &str,
    sends_nothing: bool,
    deadline: Option<tokio::time::Instant>,
    out: &mut Vec<Finding>,
) {
    let rec = match record::parse(text) {
        Ok(r) => r,
        Err(e) => {
            out.push(Finding::new(
                owner,
                Diagnostic::error(
                    code::INVALID_RECORD,
                    "RFC 9989 §4.7",
                    format!("this TXT record is ignored: {e}"),
                )
                .at(e.position),
                Some(text),
                "start the record with exactly \"v=DMARC1;\"",
            ));
            return;
        }
    };
    // The parser's diagnostics under RFC 9989, and those RFC 7489 adds that still matter to
    // receivers implementing it (p not second).
    let mut diags = rec.diagnostics_for(DmarcMode::Rfc9989);
    for d in rec.diagnostics_for(DmarcMode::Rfc7489) {
        if d.code == pcode::P_NOT_SECOND && !diags.iter().any(|x| x.code == d.code) {
            diags.push(d);
        }
    }
    for d in diags {
        let fix = parser_fix(d.code, &d.tag);
        out.push(Finding::new(owner, d, Some(text), fix));
    }
    // Positions of the tags in force (the first occurrence of each name).
    let scan = taglist::scan_tag_list(text);
    let at = |name: &str| {
        scan.tags
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
            .map(|t| t.position)
    };
    let diag_at = |d: Diagnostic, name: &str| match at(name) {
        Some(p) => d.with_tag(name).at(p),
        None => d,
    };

    // p=none, or no p (RFC 9989 §4.7: treated as p=none): monitoring only.
    if !rec.p_invalid && matches!(rec.p, None | Some(Policy::None)) {
        out.push(Finding::new(
            owner,
            diag_at(
                Diagnostic::new(
                    code::P_NONE,
                    Severity::Warning,
                    "RFC 9989 §4.7",
                    format!(
                        "p=none: monitoring only, receivers take no action on mail that fails DMARC for {domain}"
                    ),
                ),
                "p",
            ),
            Some(text),
            "once the aggregate reports show all legitimate mail passing, set p=quarantine, then p=reject",
        ));
    }
    let p = rec.p.unwrap_or(Policy::None);
    for (name, value, rule_code, what) in [
        ("sp", rec.sp, code::SP_WEAKER, "existing subdomains"),
        ("np", rec.np, code::NP_WEAKER, "non-existent subdomains"),
    ] {
        if let Some(v) = value
            && strength(v) < strength(p)
        {
            out.push(Finding::new(
                owner,
                diag_at(
                    Diagnostic::new(
                        rule_code,
                        Severity::Warning,
                        "RFC 9989 §4.7",
                        format!(
                            "{name}={v} is weaker than p={p}: mail forging {what} of {domain} gets less protection than {domain} itself"
                        ),
                    ),
                    name,
                ),
                Some(text),
                format!("set {name}={p} (or remove {name})"),
            ));
        }
    }
    if rec.t {
        out.push(Finding::new(
            owner,
            diag_at(
                Diagnostic::new(
                    code::TESTING,
                    Severity::Warning,
                    "RFC 9989 §4.7",
                    "t=y: testing mode, receivers apply the policy one step weaker (reject as quarantine, quarantine as none)",
                ),
                "t",
            ),
            Some(text),
            "remove t=y once the reports show legitimate mail passing",
        ));
    }
    if sends_nothing && (p != Policy::Reject || rec.sp.is_some_and(|sp| sp != Policy::Reject)) {
        out.push(Finding::new(
            owner,
            diag_at(
                Diagnostic::new(
                    code::PARKED_WEAK_POLICY,
                    Severity::Warning,
                    "RFC 9989 §4.7",
                    format!(
                        "{domain} sends no mail (SPF v=spf1 -all), yet its DMARC policy is not reject for it and its subdomains"
                    ),
                ),
                "p",
            ),
            Some(text),
            "set p=reject (and sp=reject, or remove sp)",
        ));
    }
    if at("rua").is_none() {
        out.push(Finding::new(
            owner,
            Diagnostic::new(
                code::NO_RUA,
                Severity::Info,
                "RFC 9989 §4.7",
                "no rua tag: no aggregate reports, so nobody learns which mail fails DMARC",
            ),
            Some(text),
            format!("add rua=mailto:dmarc-reports@{domain}"),
        ));
    }
    for (name, uris) in [("rua", &rec.rua), ("ruf", &rec.ruf)] {
        if uris.len() > 2 {
            out.push(Finding::new(
                owner,
                diag_at(
                    Diagnostic::new(
                        code::MANY_URIS,
                        Severity::Info,
                        "RFC 9989 §4.7",
                        format!(
                            "{name} lists {} URIs: some reporters send to the first two only",
                            uris.len()
                        ),
                    ),
                    name,
                ),
                Some(text),
                format!("keep at most two {name} destinations"),
            ));
        }
    }
    report_destinations(resolver, domain, owner, text, &rec, &at, deadline, out).await;
}

/// The domain of a `mailto:` URI's address (RFC 6068), lower case; None for other schemes.
fn mailto_domain(uri: &str) -> Option<String> {
    if !uri
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("mailto:"))
    {
        return None;
    }
    let addr = uri.get(7..)?.split(['?', ',']).next()?;
    let (_, host) = addr.rsplit_once('@')?;
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// rua/ruf destinations: an external one needs `DOMAIN._report._dmarc.DEST` (RFC 9990 §4,
/// RFC 7489 §7.1), and every address needs a domain that takes mail (MX, or an address record
/// for the implicit MX of RFC 5321 §5.1).
#[allow(clippy::too_many_arguments)]
async fn report_destinations(
    resolver: &Arc<dyn Resolver>,
    domain: &str,
    owner: &str,
    text: &str,
    rec: &DmarcRecord,
    at: &(dyn Fn(&str) -> Option<usize> + Sync),
    deadline: Option<tokio::time::Instant>,
    out: &mut Vec<Finding>,
) {
    let mut dests: Vec<(String, &'static str)> = Vec::new();
    for (name, uris) in [("rua", &rec.rua), ("ruf", &rec.ruf)] {
        for d in uris.iter().filter_map(|u| mailto_domain(u)) {
            if !dests.iter().any(|(x, _)| *x == d) && dests.len() < MAX_DESTINATIONS {
                dests.push((d, name));
            }
        }
    }
    // The domain itself and its subdomains are inside it without asking the Public Suffix
    // List (whose first use parses 10,000 rules); other destinations compare organizational
    // domains.
    let inside = |dest: &str| {
        dest == domain
            || dest
                .strip_suffix(domain)
                .is_some_and(|head| head.ends_with('.'))
    };
    let org = if dests.iter().all(|(d, _)| inside(d)) {
        domain.to_string()
    } else {
        psl::organizational_domain(domain)
    };
    let checks = dests.iter().map(|(dest, _)| {
        let resolver = resolver.clone();
        let external = !inside(dest) && psl::organizational_domain(dest) != org;
        async move {
            let auth = if external {
                let name = format!("{domain}._report._dmarc.{dest}");
                Some((
                    query(resolver.as_ref(), &name, RType::Txt, deadline).await,
                    name,
                ))
            } else {
                None
            };
            let mx = query(resolver.as_ref(), dest, RType::Mx, deadline).await;
            let addr = if mx.is_void() {
                let a = query(resolver.as_ref(), dest, RType::A, deadline).await;
                if a.is_void() {
                    Some(query(resolver.as_ref(), dest, RType::Aaaa, deadline).await)
                } else {
                    Some(a)
                }
            } else {
                None
            };
            (auth, mx, addr)
        }
    });
    let results = futures_join_all(checks).await;
    for ((dest, tag), (auth, mx, addr)) in dests.iter().zip(results) {
        let with_pos = |d: Diagnostic| match at(tag) {
            Some(p) => d.with_tag(*tag).at(p),
            None => d.with_tag(*tag),
        };
        if let Some((answer, name)) = auth {
            if answer.is_failure() {
                out.push(temperror(&name, &answer));
            } else if !answer
                .records()
                .iter()
                .filter_map(RData::txt_joined)
                .any(|t| record::is_dmarc_record(&t))
            {
                out.push(Finding::new(
                    owner,
                    with_pos(Diagnostic::new(
                        code::REPORT_UNAUTHORIZED,
                        Severity::Warning,
                        "RFC 9990 §4",
                        format!(
                            "{tag} sends reports to {dest}, outside {org}, which does not publish {name}: receivers MUST NOT send reports there"
                        ),
                    )),
                    Some(text),
                    format!("ask {dest} to publish TXT \"v=DMARC1;\" at {name} (or a wildcard *._report._dmarc.{dest})"),
                ));
            }
        }
        let failed = if mx.is_failure() {
            Some(mx)
        } else {
            addr.as_ref().filter(|a| a.is_failure()).cloned()
        };
        if let Some(f) = failed {
            out.push(Finding::new(
                dest,
                Diagnostic::error(
                    code::TEMPERROR,
                    "RFC 5321 §5.1",
                    format!(
                        "DNS {} looking up where mail to {dest} goes{}: the {tag} destination could not be checked",
                        f.kind(),
                        f.cause_suffix()
                    ),
                ),
                None,
                "make the name servers answer, then lint again",
            ));
        } else if addr.as_ref().is_some_and(Answer::is_void) {
            out.push(Finding::new(
                owner,
                with_pos(Diagnostic::new(
                    code::REPORT_UNDELIVERABLE,
                    Severity::Warning,
                    "RFC 5321 §5.1",
                    format!("{tag} sends reports to an address at {dest}, which has no MX and no address record: reports cannot be delivered"),
                )),
                Some(text),
                format!("use a report address whose domain receives mail (or publish an MX for {dest})"),
            ));
        }
    }
}

/// The one-line fix for a diagnostic of the record parser.
fn parser_fix(code: &str, tag: &str) -> String {
    match code {
        pcode::SYNTAX => "write each tag as name=value, tags separated by ';'".to_string(),
        pcode::DUPLICATE_TAG => format!("keep one {tag} tag (only the first one counts)"),
        pcode::CASE => "write tag names and keyword values in lower case".to_string(),
        pcode::INVALID_TAG => {
            format!("give {tag} a valid value (see the RFC section) or remove it")
        }
        pcode::UNKNOWN_TAG => format!("remove {tag}: receivers ignore it"),
        pcode::REMOVED_TAG if tag.eq_ignore_ascii_case("pct") => {
            "remove pct (RFC 9989 receivers ignore it); to phase a policy in, use t=y".to_string()
        }
        pcode::REMOVED_TAG => format!("remove {tag}: RFC 9989 receivers ignore it"),
        pcode::NEW_TAG => format!("keep {tag} only if RFC 7489 receivers may ignore it"),
        pcode::MISSING_P => {
            "add p=none, p=quarantine or p=reject right after v=DMARC1 (RFC 7489 requires p)"
                .to_string()
        }
        pcode::P_NOT_SECOND => "put p right after v=DMARC1".to_string(),
        pcode::INVALID_URI | pcode::NO_VALID_URI => {
            format!("write {tag} as mailto:local@domain URIs separated by ','")
        }
        pcode::URI_SCHEME => {
            format!("use a mailto: URI in {tag}: receivers are only required to support mailto")
        }
        pcode::OBSOLETE_SIZE => format!("remove the !size suffix from {tag}"),
        pcode::UNREGISTERED_FORMAT => "remove rf (afrf is the only format)".to_string(),
        pcode::FO_WITHOUT_RUF => "add a ruf destination or remove fo".to_string(),
        _ => "fix the problems listed above first".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailto_domains() {
        assert_eq!(
            mailto_domain("mailto:r@Reports.Example."),
            Some("reports.example".to_string())
        );
        assert_eq!(
            mailto_domain("MAILTO:a@b.example?subject=x"),
            Some("b.example".to_string())
        );
        assert_eq!(mailto_domain("https://r.example/x"), None);
        assert_eq!(mailto_domain("mailto:nobody"), None);
    }

    #[test]
    fn policy_strength_orders() {
        assert!(strength(Policy::None) < strength(Policy::Quarantine));
        assert!(strength(Policy::Quarantine) < strength(Policy::Reject));
    }
}
