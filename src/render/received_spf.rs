//! The Received-SPF header field (RFC 7208 §9.1): the result, a comment saying why, and the
//! key-value pairs a downstream filter can parse.

use crate::eval::spf::{SpfOutput, SpfResult};

use super::header::{atext, clip, fold, quoted_unless, receiver_id};
use super::{SpfView, comment_text};

/// Renders `Received-SPF: …` on one line, folded only when that line would exceed 998
/// characters (RFC 7208 §9.1: the field must not be "excessively long (see [RFC5322],
/// Section 2.1.1)"); values over 256 characters have their middle cut to "...".
pub fn render(report: &SpfView<'_>) -> String {
    let req = report.request;
    let out = report.output;
    let receiver = &receiver_id(&req.receiver).to_string();
    let sender = &clip(&req.sender);
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
            clip(problem(out).unwrap_or("DNS error"))
        ),
        SpfResult::PermError => format!(
            "{receiver}: permanent error in processing domain of {sender}: {}",
            clip(problem(out).unwrap_or("invalid policy"))
        ),
    };
    let mut pairs = vec![
        ("client-ip", ip.to_string()),
        ("envelope-from", sender.to_string()),
        ("helo", req.helo.clone()),
    ];
    if let Some(p) = problem(out) {
        pairs.push(("problem", p.to_string()));
    }
    pairs.push(("receiver", receiver.clone()));
    let identity = if req.mail_from.is_empty() {
        "helo"
    } else {
        "mailfrom"
    };
    pairs.push(("identity", identity.to_string()));
    match (&out.mechanism, out.result) {
        (Some(m), _) => pairs.push(("mechanism", m.clone())),
        // "if no mechanisms matched, substitute the word "default"" (RFC 7208 §9.1).
        (None, SpfResult::Neutral) => pairs.push(("mechanism", "default".to_string())),
        _ => {}
    }
    let kv: Vec<String> = pairs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", value(&clip(&v))))
        .collect();
    fold(format!(
        "Received-SPF: {} ({}) {};",
        out.result,
        comment_text(&comment),
        kv.join("; ")
    ))
}

/// The problem sentence of a permerror, temperror or none.
fn problem(out: &SpfOutput) -> Option<&str> {
    out.problem.as_ref().map(|d| d.message.as_str())
}

/// A key-value value (RFC 7208 §9.1): a dot-atom when it is one (RFC 5322 §3.2.3), else a
/// quoted-string.
fn value(v: &str) -> String {
    quoted_unless(v, atext)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(result: SpfResult, mechanism: Option<&str>) -> String {
        let request = SpfRequest::new("192.0.2.1".parse().unwrap(), "a@b.example", "h.example");
        let output = SpfOutput {
            result,
            mechanism: mechanism.map(str::to_string),
            explanation: None,
            dns_lookups: 0,
            void_lookups: 0,
            problem: None,
            trace: Node::new(Event::Note {
                text: String::new(),
            }),
        };
        render(&SpfView {
            request: &request,
            output: &output,
        })
    }

    #[test]
    fn default_mechanism_when_none_matched() {
        // RFC 7208 §9.1: "if no mechanisms matched, substitute the word "default"".
        assert!(header(SpfResult::Neutral, None).ends_with(" mechanism=default;"));
        assert!(header(SpfResult::Neutral, Some("?all")).ends_with(" mechanism=?all;"));
        assert!(!header(SpfResult::None, None).contains("mechanism="));
    }
    use crate::eval::spf::{SpfOutput, SpfRequest};
    use crate::eval::trace::{Event, Node};
    use crate::render::SpfView;

    /// RFC 7208 §9.1: the field must not be "excessively long (see [RFC5322], Section 2.1.1)":
    /// no line over 998 characters, even for a record's 2000-character term and a problem
    /// nested through many includes.
    #[test]
    fn long_header_lines_stay_within_998() {
        let req = SpfRequest::new(
            "192.0.2.1".parse().unwrap(),
            "user@example.com",
            "helo.example.com",
        );
        let out = SpfOutput {
            result: SpfResult::PermError,
            mechanism: Some(format!("exists:{}.example.com", "a".repeat(2000))),
            explanation: None,
            dns_lookups: 11,
            void_lookups: 0,
            problem: Some(crate::diag::Diagnostic::error(
                "spf-dns-lookup-limit",
                "RFC 7208 §4.6.4",
                "include:example.com: example.com: ".repeat(40),
            )),
            trace: Node::new(Event::Note {
                text: String::new(),
            }),
        };
        let h = render(&SpfView {
            request: &req,
            output: &out,
        });
        assert!(h.starts_with("Received-SPF: permerror ("), "{h}");
        for line in h.split('\n') {
            assert!(line.len() <= 998, "{} characters: {line}", line.len());
        }
        // Continuation lines start with white space (RFC 5322 §2.2.3 folding).
        assert!(h.split('\n').skip(1).all(|l| l.starts_with(' ')), "{h}");
        assert!(h.contains(" identity=mailfrom;"), "{h}");
    }

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
