//! The Authentication-Results header field the receiver would add (RFC 8601): one resinfo per
//! method (spf, dkim, dmarc) with the reason in a comment and the identifiers as properties.
//! Like Received-SPF it obeys RFC 5322 §2.1.1 (`header::fold`, values clipped by
//! `header::clip`) and is ASCII apart from an RFC 6532 UTF-8 local part, never with a control
//! or bidi character.

use crate::eval::dkim::DkimAuth;
use crate::eval::dmarc::DmarcResult;
use crate::eval::spf::SpfResult;

use super::escape::{is_unsafe, terminal_safe};
use super::header::{atext, clip, fold, ldh, quoted_unless, receiver_id};
use super::{CheckView, comment_text};

/// Renders `Authentication-Results: authserv-id; spf=…; dkim=…; dmarc=…` on one line, folded
/// only when that line would exceed 998 characters (RFC 5322 §2.1.1); values and comment parts
/// over 256 characters have their middle cut to "...".
pub fn render(report: &CheckView<'_>) -> String {
    let req = report.request;
    let v = report.verdict;
    let spf_req = &req.spf;
    let ip = spf_req.ip.to_canonical();
    let mut parts = Vec::new();
    let domain = clip(&spf_req.domain);

    let spf_comment = match v.spf.result {
        SpfResult::Pass | SpfResult::Fail | SpfResult::SoftFail => {
            let verb = if v.spf.result == SpfResult::Pass {
                "is authorised"
            } else {
                "is not authorised"
            };
            match &v.spf.mechanism {
                Some(m) => format!("{ip} {verb} by {domain}; {} matched", clip(m)),
                None => format!("{ip} {verb} by {domain}"),
            }
        }
        SpfResult::Neutral => format!("{ip} is neither permitted nor denied by {domain}"),
        SpfResult::None => format!("{domain} publishes no SPF record"),
        SpfResult::TempError | SpfResult::PermError => clip(
            &v.spf
                .problem
                .as_ref()
                .map(|d| d.message.clone())
                .unwrap_or_else(|| v.spf.result.to_string()),
        ),
    };
    let spf_prop = if spf_req.mail_from.is_empty() {
        format!("smtp.helo={}", domain_pvalue(&spf_req.helo))
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
    // RFC 8601 §2.7.1: one dkim resinfo per signature, in message order, with header.d,
    // header.s and (RFC 6008 §2) header.b, the first 8 characters of b=, which tells apart two
    // signatures by one domain and selector; the reason in a comment.
    for d in signatures {
        let mut s = format!("dkim={}", d.result);
        if let Some(sig) = &d.signature {
            s.push_str(&format!(" ({})", comment_text(&clip(&sig.reason))));
        }
        s.push_str(&format!(" header.d={}", domain_pvalue(&d.domain)));
        if let Some(sel) = &d.selector {
            s.push_str(&format!(" header.s={}", domain_pvalue(sel)));
        }
        if let Some(sig) = d.signature.as_ref().filter(|s| !s.header_b.is_empty()) {
            // base64 has '/' and '=', tspecials (RFC 2045 §5.1): quoted unless a token.
            s.push_str(&format!(
                " header.b={}",
                quoted_unless(&clip(&sig.header_b), |c| c.is_ascii_alphanumeric()
                    || c == '+')
            ));
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
                dmarc.push_str(&format!(" ({})", comment_text(&clip(&p.message))));
            }
        }
    }
    dmarc.push_str(&format!(" header.from={}", domain_pvalue(&req.from_domain)));
    parts.push(dmarc);

    fold(format!(
        "Authentication-Results: {}; {}",
        receiver_id(&spf_req.receiver),
        parts.join("; ")
    ))
}

/// A domain name (or selector) as an RFC 8601 §2.2 pvalue: as it is when it is one, clipped
/// and quoted otherwise (a HELO name may be any string, RFC 7208 §4.3).
fn domain_pvalue(d: &str) -> String {
    quoted_unless(&clip(d), ldh)
}

/// The MAIL FROM as an RFC 8601 §2.2 `pvalue`, `[ [ local-part ] "@" ] domain-name`: the
/// local-part as given when it is a dot-atom (RFC 5322 §3.2.3; with RFC 6532 UTF-8), otherwise
/// as a quoted-string (RFC 5322 §3.4.1), so that a `;`, `(` or `"` in it cannot end the
/// resinfo or open a comment.
///
/// Control, bidi and other invisible characters are written as visible escapes
/// (`escape::terminal_safe`) and force quoting; each part is clipped to 256 characters.
fn mailfrom_pvalue(mail_from: &str) -> String {
    let Some((local, domain)) = mail_from.rsplit_once('@') else {
        return domain_pvalue(mail_from);
    };
    if domain.is_empty()
        || !domain
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(ldh))
    {
        // Not `local-part "@" domain-name` (e.g. an address literal): the whole address as
        // one quoted-string value.
        return quoted_unless(&clip(&terminal_safe(mail_from)), |_| false);
    }
    let domain = clip(domain);
    let local = clip(&terminal_safe(local));
    let dot_atom = !local.is_empty()
        && local.split('.').all(|a| {
            !a.is_empty()
                && a.chars()
                    .all(|c| atext(c) || !(c.is_ascii() || is_unsafe(c)))
        });
    if dot_atom || is_quoted_string(&local) {
        return format!("{local}@{domain}");
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
        // Controls and bidi characters never pass raw; RFC 6532 UTF-8 letters do.
        assert_eq!(
            mailfrom_pvalue("jos\u{e9}@x.example"),
            "jos\u{e9}@x.example"
        );
        assert_eq!(
            mailfrom_pvalue("a\u{202e}b\u{1b}@x.example"),
            "\"a\\\\u{202e}b\\\\x1b\"@x.example"
        );
        // A HELO that is no domain name is quoted.
        assert_eq!(domain_pvalue("JUMPIN' JUPITER"), "\"JUMPIN' JUPITER\"");
        assert_eq!(domain_pvalue("mx.example"), "mx.example");
        assert_eq!(mailfrom_pvalue("foo@[1.2.3.5]"), "\"foo@[1.2.3.5]\"");
    }
}
