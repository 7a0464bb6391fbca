//! The Authentication-Results header field the receiver would add (RFC 8601): one resinfo per
//! method (spf, dkim, dmarc) with the reason in a comment and the identifiers as properties.

use crate::eval::dkim::DkimAuth;
use crate::eval::dmarc::DmarcResult;
use crate::eval::spf::SpfResult;

use super::{Report, comment_text};

/// Renders `Authentication-Results: authserv-id; spf=…; dkim=…; dmarc=…` on one line.
pub fn render(report: &Report<'_>) -> String {
    let req = report.request;
    let v = report.verdict;
    let spf_req = &req.spf;
    let ip = spf_req.ip.to_canonical();
    let mut parts = Vec::new();

    let spf_comment = match v.spf.result {
        SpfResult::Pass | SpfResult::Fail | SpfResult::SoftFail => {
            let verb = if v.spf.result == SpfResult::Pass {
                "is authorised"
            } else {
                "is not authorised"
            };
            match &v.spf.mechanism {
                Some(m) => format!("{ip} {verb} by {}; {m} matched", spf_req.domain),
                None => format!("{ip} {verb} by {}", spf_req.domain),
            }
        }
        SpfResult::Neutral => format!("{ip} is neither permitted nor denied by {}", spf_req.domain),
        SpfResult::None => format!("{} publishes no SPF record", spf_req.domain),
        SpfResult::TempError | SpfResult::PermError => v
            .spf
            .problem
            .clone()
            .unwrap_or_else(|| v.spf.result.to_string()),
    };
    let spf_prop = if spf_req.mail_from.is_empty() {
        format!("smtp.helo={}", spf_req.helo)
    } else {
        format!("smtp.mailfrom={}", spf_req.mail_from)
    };
    parts.push(format!(
        "spf={} ({}) {spf_prop}",
        v.spf.result,
        comment_text(&spf_comment)
    ));

    let signatures: Vec<_> = v
        .dkim
        .iter()
        .filter(|d| d.result != DkimAuth::None)
        .collect();
    if signatures.is_empty() {
        parts.push("dkim=none (no signature)".to_string());
    }
    for d in signatures {
        let mut s = format!("dkim={} header.d={}", d.result, d.domain);
        if let Some(sel) = &d.selector {
            s.push_str(&format!(" header.s={sel}"));
        }
        parts.push(s);
    }

    let dm = &v.dmarc;
    let mut dmarc = format!("dmarc={}", dm.result);
    match dm.result {
        DmarcResult::Pass | DmarcResult::Fail => {
            let mut c = Vec::new();
            if let Some(p) = dm.policy {
                c.push(format!("p={p}"));
            }
            if let (Some(sp), Some(p)) = (dm.subdomain_policy, dm.policy)
                && sp != p
            {
                c.push(format!("sp={sp}"));
            }
            c.push(format!("dis={}", dm.disposition));
            dmarc.push_str(&format!(" ({})", c.join(" ")));
        }
        _ => {
            if let Some(p) = &dm.problem {
                dmarc.push_str(&format!(" ({})", comment_text(p)));
            }
        }
    }
    dmarc.push_str(&format!(" header.from={}", req.from_domain));
    parts.push(dmarc);

    format!(
        "Authentication-Results: {}; {}",
        authserv_id(&spf_req.receiver),
        parts.join("; ")
    )
}

/// The authserv-id: the receiver's name, or "unknown".
fn authserv_id(receiver: &str) -> String {
    let ok = !receiver.is_empty()
        && receiver
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if ok {
        receiver.to_string()
    } else {
        "unknown".to_string()
    }
}
