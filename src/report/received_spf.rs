//! The Received-SPF header field (RFC 7208 §9.1): the result, a comment saying why, and the
//! key-value pairs a downstream filter can parse.

use crate::eval::spf::{SpfOutput, SpfResult};

use super::{SpfReport, comment_text};

/// RFC 5322 §2.1.1: "Each line of characters MUST be no more than 998 characters".
const MAX_LINE: usize = 998;
/// RFC 5322 §2.1.1: lines "SHOULD be no more than 78 characters"; the width used when a
/// header has to be folded at all.
const FOLD_WIDTH: usize = 78;
/// The longest value (or comment part) put in the header; longer ones are cut, so that no
/// unbreakable run of characters can exceed `MAX_LINE`. Addresses and domain names fit
/// (RFC 5321 §4.5.3.1: a path is at most 256 octets).
const MAX_VALUE: usize = 256;

/// Renders `Received-SPF: …` on one line, folded only when that line would exceed 998
/// characters (RFC 7208 §9.1: the field must not be "excessively long (see [RFC5322],
/// Section 2.1.1)"); values over 256 characters have their middle cut to "...".
pub fn render(report: &SpfReport<'_>) -> String {
    let req = report.request;
    let out = report.output;
    let receiver = &clip(&req.receiver);
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

/// `s` cut to at most `MAX_VALUE` characters by replacing its middle with "...": the start
/// and the end are kept (a nested problem ends with the actual reason).
/// The problem sentence of a permerror, temperror or none.
fn problem(out: &SpfOutput) -> Option<&str> {
    out.problem.as_ref().map(|d| d.message.as_str())
}

fn clip(s: &str) -> String {
    let n = s.chars().count();
    if n <= MAX_VALUE {
        return s.to_string();
    }
    let head = (MAX_VALUE - 3) / 3;
    let tail = MAX_VALUE - 3 - head;
    let mut c: String = s.chars().take(head).collect();
    c.push_str("...");
    c.extend(s.chars().skip(n - tail));
    c
}

/// Folds a header line longer than `MAX_LINE` (RFC 5322 §2.2.3: a line break before white
/// space). Every space in the rendered field is folding white space: between tokens, in the
/// comment, or inside a quoted-string, where unfolding restores it unchanged.
fn fold(line: String) -> String {
    if line.len() <= MAX_LINE {
        return line;
    }
    let mut out = String::with_capacity(line.len() + line.len() / FOLD_WIDTH * 2);
    let mut width = 0;
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            if width + 1 + word.len() > FOLD_WIDTH {
                out.push('\n');
                width = 0;
            }
            out.push(' ');
            width += 1;
        }
        out.push_str(word);
        width += word.len();
    }
    out
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
                '§' => q.push_str("section "),
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
        render(&SpfReport {
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
    use crate::report::SpfReport;

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
        let h = render(&SpfReport {
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
