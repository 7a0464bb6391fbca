//! The Received-SPF header field (RFC 7208 §9.1): the result, a comment saying why, and the
//! key-value pairs a downstream filter can parse.

use crate::eval::spf::SpfResult;

use super::{SpfReport, comment_text};

/// Renders `Received-SPF: …` (one line; no folding).
pub fn render(report: &SpfReport<'_>) -> String {
    let req = report.request;
    let out = report.output;
    let receiver = &req.receiver;
    let sender = &req.sender;
    let ip = req.ip.to_canonical();
    let comment = match out.result {
        SpfResult::Pass => {
            format!("{receiver}: domain of {sender} designates {ip} as permitted sender")
        }
        SpfResult::Fail => {
            format!("{receiver}: domain of {sender} does not designate {ip} as permitted sender")
        }
        SpfResult::SoftFail => format!(
            "{receiver}: domain of transitioning {sender} does not designate {ip} as permitted sender"
        ),
        SpfResult::Neutral => {
            format!("{receiver}: {ip} is neither permitted nor denied by domain of {sender}")
        }
        SpfResult::None => {
            format!("{receiver}: domain of {sender} does not designate permitted sender hosts")
        }
        SpfResult::TempError => format!(
            "{receiver}: error in processing during lookup of {sender}: {}",
            out.problem.as_deref().unwrap_or("DNS error")
        ),
        SpfResult::PermError => format!(
            "{receiver}: permanent error in processing domain of {sender}: {}",
            out.problem.as_deref().unwrap_or("invalid policy")
        ),
    };
    let mut pairs = vec![
        ("client-ip", ip.to_string()),
        ("envelope-from", sender.to_string()),
        ("helo", req.helo.clone()),
    ];
    if let Some(p) = &out.problem {
        pairs.push(("problem", p.clone()));
    }
    pairs.push(("receiver", receiver.clone()));
    let identity = if req.mail_from.is_empty() {
        "helo"
    } else {
        "mailfrom"
    };
    pairs.push(("identity", identity.to_string()));
    if let Some(m) = &out.mechanism {
        pairs.push(("mechanism", m.clone()));
    }
    let kv: Vec<String> = pairs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", value(&v)))
        .collect();
    format!(
        "Received-SPF: {} ({}) {};",
        out.result,
        comment_text(&comment),
        kv.join("; ")
    )
}

/// A key-value value: a dot-atom when it is one (RFC 5322 §3.2.3), else a quoted-string.
fn value(v: &str) -> String {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let dot_atom = !v.is_empty() && v.split('.').all(|p| !p.is_empty() && p.chars().all(atext));
    if dot_atom {
        v.to_string()
    } else {
        let mut q = String::from("\"");
        for c in v.chars() {
            match c {
                '"' | '\\' => {
                    q.push('\\');
                    q.push(c);
                }
                c if c.is_ascii_graphic() || c == ' ' => q.push(c),
                _ => q.push('?'),
            }
        }
        q.push('"');
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_when_needed() {
        assert_eq!(value("192.0.2.1"), "192.0.2.1");
        assert_eq!(value("2001:db8::1"), "\"2001:db8::1\"");
        assert_eq!(value("a@b.example"), "\"a@b.example\"");
        assert_eq!(value("-all"), "-all");
        assert_eq!(value("ip4:1.2.3.4"), "\"ip4:1.2.3.4\"");
        assert_eq!(comment_text("a (b) \\"), "a \\(b\\) \\\\");
    }
}
