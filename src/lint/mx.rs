//! Lint rules for the MX records of a domain (see `lint`): where mail to the domain goes, and
//! whether its SPF agrees with a domain that takes (or sends) no mail. Codes (all `mx-…`):
//!
//! | code | severity | rule |
//! |---|---|---|
//! | `mx-nxdomain` | error | the domain does not exist |
//! | `mx-null-mx-mixed` | error | a null MX beside other MX records (RFC 7505 §3) |
//! | `mx-null-mx-spf` | warning | a null MX, and an SPF record other than `v=spf1 -all` (RFC 7505 §4.2) |
//! | `mx-no-mail-spf` | warning | no MX and no address (takes no mail), authorises no sender, yet no `v=spf1 -all` |
//! | `mx-target-ip-literal` | error | an MX target written as an IP address (RFC 5321 §5.1) |
//! | `mx-target-cname` | warning | an MX target that is an alias (RFC 2181 §10.3) |
//! | `mx-target-unresolvable` | error | an MX target with no A or AAAA record (RFC 5321 §5.1) |
//! | `mx-temperror` | error | a DNS failure prevented (part of) the audit |

use std::net::IpAddr;
use std::sync::Arc;

use super::{Finding, LintOptions, futures_join_all, query, spf_record, spf_sends_nothing};
use crate::diag::{Diagnostic, Severity};
use crate::dns::{Answer, RData, RType, Resolver};
use crate::record::spf::{self, TermKind};

/// Stable codes of the MX rules.
pub mod code {
    pub const NXDOMAIN: &str = "mx-nxdomain";
    pub const NULL_MX_MIXED: &str = "mx-null-mx-mixed";
    pub const NULL_MX_SPF: &str = "mx-null-mx-spf";
    pub const NO_MAIL_SPF: &str = "mx-no-mail-spf";
    pub const TARGET_IP_LITERAL: &str = "mx-target-ip-literal";
    pub const TARGET_CNAME: &str = "mx-target-cname";
    pub const TARGET_UNRESOLVABLE: &str = "mx-target-unresolvable";
    pub const TEMPERROR: &str = "mx-temperror";
}

/// Most MX targets resolved per domain (a hostile zone may publish hundreds).
const MAX_TARGETS: usize = 10;

/// The findings about DOMAIN's MX records.
pub async fn lint(resolver: Arc<dyn Resolver>, domain: &str, opts: &LintOptions) -> Vec<Finding> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let deadline = opts.deadline;
    let r = resolver.as_ref();
    let (mx, txt) = tokio::join!(
        query(r, &domain, RType::Mx, deadline),
        query(r, &domain, RType::Txt, deadline),
    );
    let mut out = Vec::new();
    if mx.is_failure() {
        out.push(temperror(&domain, "MX", &mx));
        return out;
    }
    if mx == Answer::NxDomain {
        out.push(Finding::new(
            &domain,
            Diagnostic::error(
                code::NXDOMAIN,
                "RFC 5321 §5.1",
                format!("{domain} does not exist (NXDOMAIN): nothing to audit, and mail from it is commonly rejected"),
            ),
            None,
            format!("check the spelling of {domain}, or publish its records"),
        ));
        return out;
    }
    let spf_text = if txt.is_failure() {
        None
    } else {
        spf_record(&txt)
    };
    let exchanges: Vec<(u16, &str)> = mx
        .records()
        .iter()
        .filter_map(|d| match d {
            RData::Mx {
                preference,
                exchange,
            } => Some((*preference, exchange.as_str())),
            _ => None,
        })
        .collect();
    let show = |pref: u16, exch: &str| {
        RData::Mx {
            preference: pref,
            exchange: exch.to_string(),
        }
        .to_string()
    };

    let has_null = exchanges.iter().any(|(_, e)| e.is_empty());
    if has_null {
        // RFC 7505 §3: "A domain that advertises a null MX MUST NOT advertise any other MX RR."
        if exchanges.len() > 1 {
            for (pref, exch) in exchanges.iter().filter(|(_, e)| !e.is_empty()) {
                out.push(Finding::new(
                    &domain,
                    Diagnostic::error(
                        code::NULL_MX_MIXED,
                        "RFC 7505 §3",
                        format!("{domain} has a null MX (\"0 .\", accepts no mail) and this other MX: senders may try either"),
                    ),
                    Some(&show(*pref, exch)),
                    "keep only the null MX if the domain takes no mail, else remove the null MX",
                ));
            }
        }
        // RFC 7505 §4.2: a null-MX domain cannot receive bounces, so it should not be used
        // as a sender; its SPF should authorise nobody.
        if txt.is_failure() {
            out.push(temperror(&domain, "TXT", &txt));
        } else if !spf_text.as_deref().is_some_and(spf_sends_nothing) {
            let what = match &spf_text {
                Some(t) => format!("its SPF record \"{t}\" is not v=spf1 -all"),
                None => "it has no SPF record".to_string(),
            };
            let null = exchanges
                .iter()
                .find(|(_, e)| e.is_empty())
                .map(|(p, e)| show(*p, e));
            let mut d = Diagnostic::new(
                code::NULL_MX_SPF,
                Severity::Warning,
                "RFC 7505 §4.2",
                format!(
                    "{domain} publishes a null MX (it accepts no mail, so it cannot get bounces), but {what}: mail using it as a sender is not refused by SPF"
                ),
            );
            if spf_text.is_some() {
                d = d.at(0);
            }
            // About the SPF record when there is one (so a zone line points at it), else the MX.
            let record = spf_text.clone().or(null);
            out.push(Finding::new(
                &domain,
                d,
                record.as_deref(),
                format!("publish TXT \"v=spf1 -all\" at {domain} (replacing any other SPF record)"),
            ));
        }
        return out;
    }

    if exchanges.is_empty() {
        // No MX: mail goes to the address records (RFC 5321 §5.1 implicit MX), if any.
        let (a, aaaa) = tokio::join!(
            query(r, &domain, RType::A, deadline),
            query(r, &domain, RType::Aaaa, deadline),
        );
        for (t, ans) in [("A", &a), ("AAAA", &aaaa), ("TXT", &txt)] {
            if ans.is_failure() {
                out.push(temperror(&domain, t, ans));
                return out;
            }
        }
        let authorises_nothing = spf_text.as_deref().is_none_or(authorises_nothing);
        if a.is_void()
            && aaaa.is_void()
            && authorises_nothing
            && !spf_text.as_deref().is_some_and(spf_sends_nothing)
        {
            let what = match &spf_text {
                Some(t) => format!("its SPF record \"{t}\" does not end in -all"),
                None => "it has no SPF record".to_string(),
            };
            let mut d = Diagnostic::new(
                code::NO_MAIL_SPF,
                Severity::Warning,
                "RFC 7208 §10.1",
                format!(
                    "{domain} has no MX and no address record (it takes no mail) and authorises no sender, but {what}: receivers cannot tell forged mail from it"
                ),
            );
            if spf_text.is_some() {
                d = d.at(0);
            }
            out.push(Finding::new(
                &domain,
                d,
                spf_text.as_deref(),
                format!("publish TXT \"v=spf1 -all\" at {domain} (and a null MX, \"MX 0 .\")"),
            ));
        }
        return out;
    }

    // The targets: an IP literal is not a host name; an alias is not allowed; each must resolve.
    let targets: Vec<(u16, &str)> = exchanges.iter().copied().take(MAX_TARGETS).collect();
    let checks = targets.iter().map(|(_, exch)| {
        let exch = exch.to_string();
        async move {
            if exch.parse::<IpAddr>().is_ok() {
                return None;
            }
            let (cname, a, aaaa) = tokio::join!(
                query(r, &exch, RType::Cname, deadline),
                query(r, &exch, RType::A, deadline),
                query(r, &exch, RType::Aaaa, deadline),
            );
            Some((cname, a, aaaa))
        }
    });
    let results = futures_join_all(checks).await;
    for ((pref, exch), result) in targets.iter().zip(results) {
        let record = show(*pref, exch);
        let Some((cname, a, aaaa)) = result else {
            // RFC 5321 §5.1: the MX names a host, and an address is not a domain name.
            out.push(Finding::new(
                &domain,
                Diagnostic::error(
                    code::TARGET_IP_LITERAL,
                    "RFC 5321 §5.1",
                    format!("the MX target {exch} is an IP address, not a host name: senders look it up as a name and find nothing"),
                ),
                Some(&record),
                format!("point the MX at a host name whose A record is {exch}"),
            ));
            continue;
        };
        if let Some(RData::Cname(target)) = cname.records().first() {
            // RFC 2181 §10.3: "The domain name used as the value of a NS resource record, or
            // part of the value of a MX resource record must not be an alias."
            out.push(Finding::new(
                &domain,
                Diagnostic::new(
                    code::TARGET_CNAME,
                    Severity::Warning,
                    "RFC 2181 §10.3",
                    format!("the MX target {exch} is an alias (CNAME to {target}): MX targets must not be aliases"),
                ),
                Some(&record),
                format!("point the MX at {target} directly"),
            ));
        }
        if let Some(failed) = [&a, &aaaa].into_iter().find(|x| x.is_failure()) {
            if !(a.records().is_empty() && aaaa.records().is_empty()) {
                continue;
            }
            out.push(temperror(exch, "A/AAAA", failed));
        } else if a.is_void() && aaaa.is_void() {
            out.push(Finding::new(
                &domain,
                Diagnostic::error(
                    code::TARGET_UNRESOLVABLE,
                    "RFC 5321 §5.1",
                    format!("the MX target {exch} has no A or AAAA record ({}): mail to {domain} cannot be delivered there", a.kind()),
                ),
                Some(&record),
                format!("publish an address record for {exch}, or point the MX at a host that has one"),
            ));
        }
    }
    out
}

/// True when an SPF record authorises no host: no mechanism but `all`, no redirect, no
/// `include` (parse errors count as "authorises something": the SPF rules report them).
fn authorises_nothing(text: &str) -> bool {
    let Ok(rec) = spf::parse(text) else {
        return false;
    };
    rec.terms.iter().all(|t| match &t.kind {
        TermKind::Directive { mechanism, .. } => {
            matches!(mechanism, spf::Mechanism::All)
        }
        TermKind::Redirect(_) => false,
        TermKind::Exp(_) | TermKind::Unknown { .. } => true,
    })
}

/// A DNS failure as a finding (the audit is incomplete; exit 4).
fn temperror(name: &str, rtype: &str, answer: &Answer) -> Finding {
    Finding::new(
        name,
        Diagnostic::error(
            code::TEMPERROR,
            "RFC 5321 §5.1",
            format!(
                "DNS {} for {rtype} {name}{}: the MX rules could not be checked",
                answer.kind(),
                answer.cause_suffix()
            ),
        ),
        None,
        "make the name servers answer, then lint again",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorising_nothing() {
        assert!(authorises_nothing("v=spf1 ~all"));
        assert!(authorises_nothing("v=spf1"));
        assert!(!authorises_nothing("v=spf1 ip4:192.0.2.1 ~all"));
        assert!(!authorises_nothing("v=spf1 redirect=_spf.example"));
        assert!(spf_sends_nothing("v=spf1 -all"));
        assert!(spf_sends_nothing("V=SPF1 -ALL"));
        assert!(!spf_sends_nothing("v=spf1 ~all"));
        assert!(!spf_sends_nothing("v=spf1 a -all"));
    }
}
