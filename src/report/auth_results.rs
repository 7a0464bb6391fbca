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
            .as_ref()
            .map(|d| d.message.clone())
            .unwrap_or_else(|| v.spf.result.to_string()),
    };
    let spf_prop = if spf_req.mail_from.is_empty() {
        format!("smtp.helo={}", helo_pvalue(&spf_req.helo))
    } else {
        format!("smtp.mailfrom={}", mailfrom_pvalue(&spf_req.mail_from))
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
                dmarc.push_str(&format!(" ({})", comment_text(&p.message)));
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

/// The MAIL FROM as an RFC 8601 §2.2 `pvalue`, `[ [ local-part ] "@" ] domain-name`: the
/// local-part as given when it is a dot-atom (RFC 5322 §3.2.3; with RFC 6532 UTF-8), otherwise
/// as a quoted-string (RFC 5322 §3.4.1), so that a `;`, `(` or `"` in it cannot end the
/// resinfo or open a comment.
fn mailfrom_pvalue(mail_from: &str) -> String {
    let Some((local, domain)) = mail_from.rsplit_once('@') else {
        return mail_from.to_string();
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let dot_atom = !local.is_empty()
        && local
            .split('.')
            .all(|a| !a.is_empty() && a.chars().all(|c| atext(c) || !c.is_ascii()));
    if dot_atom || is_quoted_string(local) {
        return mail_from.to_string();
    }
    let mut q = String::from("\"");
    for c in local.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    format!("{q}\"@{domain}")
}

/// The HELO as an RFC 8601 §2.2 `pvalue`: as given when it is an RFC 2045 token (a host name),
/// otherwise (an address literal, `JUMPIN' JUPITER`) as a quoted-string.
fn helo_pvalue(helo: &str) -> String {
    let token = !helo.is_empty()
        && helo
            .chars()
            .all(|c| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?=".contains(c));
    if token {
        return helo.to_string();
    }
    let mut q = String::from("\"");
    for c in helo.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// True for a local-part already written as a quoted-string (`"…"`, inner `"` and `\`
/// escaped).
fn is_quoted_string(s: &str) -> bool {
    let Some(inner) = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|_| s.len() >= 2)
    else {
        return false;
    };
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => return false,
            '"' => return false,
            _ => {}
        }
    }
    true
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailfrom_local_part_is_quoted_unless_dot_atom() {
        assert_eq!(mailfrom_pvalue("a.b+tag@x.example"), "a.b+tag@x.example");
        assert_eq!(mailfrom_pvalue("x.example"), "x.example");
        // RFC 8601 §2.2: a ";" would end the resinfo, "(" open a comment.
        assert_eq!(mailfrom_pvalue("a;b(c)@x.example"), "\"a;b(c)\"@x.example");
        assert_eq!(mailfrom_pvalue("a\"b@x.example"), "\"a\\\"b\"@x.example");
        assert_eq!(mailfrom_pvalue("a..b@x.example"), "\"a..b\"@x.example");
        assert_eq!(mailfrom_pvalue(".a@x.example"), "\".a\"@x.example");
        // Already a quoted-string: kept.
        assert_eq!(mailfrom_pvalue("\"a;b\"@x.example"), "\"a;b\"@x.example");
        assert_eq!(mailfrom_pvalue("\"@x.example"), "\"\\\"\"@x.example");
    }
}
