//! The senders file of `spfcheck diff`: the known sending sources a DNS change must not break,
//! one per line. Pure parsing of text already read (the CLI reads the file, bounded); every
//! error names its 1-based line.
//!
//! The format (also in the README and `spfcheck diff --help`):
//!
//! ```text
//! # comment; blank lines are ignored
//! IP [MAIL-FROM-DOMAIN [FROM-DOMAIN]] [LABEL]
//! 198.51.100.7  bounce.esp.example  example.com  newsletter
//! 192.0.2.25                                     office relay     (both domains: --domain)
//! 203.0.113.9   example.com  "CRM v2.1"          (a quoted label may hold dots)
//! ```
//!
//! After the IP, a token containing a dot is a domain: the first fills MAIL-FROM-DOMAIN, the
//! second FROM-DOMAIN. The first token without a dot (or a token starting with `"`) starts the
//! label, which is the rest of the line (a quoted label is what the quotes enclose, and nothing
//! may follow it). A missing MAIL-FROM-DOMAIN is `--domain`; a missing FROM-DOMAIN is the
//! MAIL-FROM-DOMAIN. `#` at the start of a token (outside quotes) begins a comment.

use std::net::IpAddr;

use serde::Serialize;

/// Most senders in one file: a bound on the work (two verdicts each).
pub const MAX_SENDERS: usize = 10_000;
/// Longest label, in characters.
pub const MAX_LABEL: usize = 100;

/// One known sending source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sender {
    pub ip: IpAddr,
    /// The MAIL FROM domain checked by SPF (as `postmaster@DOMAIN`, HELO the same domain).
    pub mail_from_domain: String,
    /// The header From domain DMARC is evaluated for.
    pub from_domain: String,
    pub label: Option<String>,
    /// The 1-based line of the senders file.
    pub line: usize,
}

/// A bad line: its 1-based number and what is wrong (the CLI prefixes the file name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendersError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for SendersError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.line, self.message)
    }
}

/// A token as quoted in an error message: clipped, controls shown as `?`.
fn quote(s: &str) -> String {
    let clipped: String = s
        .chars()
        .take(60)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let more = if s.chars().count() > 60 { "…" } else { "" };
    format!("\"{clipped}{more}\"")
}

/// A domain name as a senders file may give it: ASCII letters, digits, '-', '_', labels of 1
/// to 63 octets, at most 253 octets, one trailing dot allowed (RFC 1035 §2.3.4); lower-cased.
pub fn check_domain(s: &str) -> Result<String, String> {
    let d = s.strip_suffix('.').unwrap_or(s);
    if d.is_empty() || d.len() > 253 {
        return Err(format!(
            "{} is not a domain name (1 to 253 characters)",
            quote(s)
        ));
    }
    if d.starts_with('-') {
        return Err(format!("{} starts with '-'", quote(s)));
    }
    for label in d.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!(
                "{} has an empty label or one longer than 63 characters",
                quote(s)
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            let what = if c == '@' {
                " (give the MAIL FROM domain, not an address)"
            } else {
                " (internationalized names go as A-labels, xn--…)"
            };
            return Err(format!(
                "{} contains {:?}, not allowed in a domain name{}",
                quote(s),
                c,
                if c == '@' || !c.is_ascii() { what } else { "" }
            ));
        }
    }
    Ok(d.to_ascii_lowercase())
}

/// The label that starts at `rest` (already trimmed): quoted, or the rest of the line.
fn parse_label(rest: &str) -> Result<Option<String>, String> {
    let label = if let Some(inner) = rest.strip_prefix('"') {
        let Some(end) = inner.find('"') else {
            return Err("unterminated quoted label (no closing '\"')".to_string());
        };
        let (text, after) = inner.split_at(end);
        let after = after.get(1..).unwrap_or("").trim();
        if !after.is_empty() && !after.starts_with('#') {
            return Err(format!(
                "text after the quoted label: {} (a label is the last field)",
                quote(after)
            ));
        }
        text.trim().to_string()
    } else {
        // A `#` starting a token ends the line.
        let mut end = rest.len();
        let mut prev_space = true;
        for (i, c) in rest.char_indices() {
            if c == '#' && prev_space {
                end = i;
                break;
            }
            prev_space = c.is_whitespace();
        }
        rest.get(..end).unwrap_or(rest).trim().to_string()
    };
    if label.chars().count() > MAX_LABEL {
        return Err(format!("label longer than {MAX_LABEL} characters"));
    }
    if label.chars().any(char::is_control) {
        return Err("control character in the label".to_string());
    }
    Ok((!label.is_empty()).then_some(label))
}

/// One non-blank, non-comment line.
fn parse_line(line: &str, default_domain: Option<&str>) -> Result<Sender, String> {
    let line = line.trim();
    let (ip_text, mut rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let ip: IpAddr = ip_text.parse().map_err(|_| {
        format!(
            "{} is not an IP address (a line is IP [MAIL-FROM-DOMAIN [FROM-DOMAIN]] [LABEL])",
            quote(ip_text)
        )
    })?;
    let mut domains: Vec<String> = Vec::new();
    let mut label = None;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with('#') {
            break;
        }
        let token = rest.split(char::is_whitespace).next().unwrap_or(rest);
        if domains.len() < 2 && !token.starts_with('"') && token.contains('.') {
            domains.push(check_domain(token)?);
            rest = rest.get(token.len()..).unwrap_or("");
            continue;
        }
        label = parse_label(rest)?;
        break;
    }
    let mut domains = domains.into_iter();
    let mail_from_domain = match (domains.next(), default_domain) {
        (Some(d), _) => d,
        (None, Some(d)) => d.to_string(),
        (None, None) => {
            return Err(
                "no MAIL-FROM-DOMAIN on the line and no --domain to default to".to_string(),
            );
        }
    };
    let from_domain = domains.next().unwrap_or_else(|| mail_from_domain.clone());
    Ok(Sender {
        ip: ip.to_canonical(),
        mail_from_domain,
        from_domain,
        label,
        line: 0,
    })
}

/// Parses a senders file's text; `default_domain` (already a valid, lower-case domain) fills
/// a missing MAIL-FROM-DOMAIN. The first bad line is the error.
pub fn parse_senders(
    text: &str,
    default_domain: Option<&str>,
) -> Result<Vec<Sender>, SendersError> {
    let mut senders = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut sender =
            parse_line(t, default_domain).map_err(|message| SendersError { line: n, message })?;
        sender.line = n;
        if senders.len() == MAX_SENDERS {
            return Err(SendersError {
                line: n,
                message: format!("more than {MAX_SENDERS} senders"),
            });
        }
        senders.push(sender);
    }
    if senders.is_empty() {
        return Err(SendersError {
            line: text.lines().count().max(1),
            message:
                "no sender in the file (a line is IP [MAIL-FROM-DOMAIN [FROM-DOMAIN]] [LABEL])"
                    .to_string(),
        });
    }
    Ok(senders)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<Sender, String> {
        parse_line(line, Some("example.com"))
    }

    #[test]
    fn fields_by_the_dot_rule() {
        let s = one("198.51.100.7 bounce.esp.example Example.COM newsletter").unwrap();
        assert_eq!(s.mail_from_domain, "bounce.esp.example");
        assert_eq!(s.from_domain, "example.com");
        assert_eq!(s.label.as_deref(), Some("newsletter"));
        let s = one("192.0.2.25 office relay").unwrap();
        assert_eq!(
            (s.mail_from_domain.as_str(), s.from_domain.as_str()),
            ("example.com", "example.com")
        );
        assert_eq!(s.label.as_deref(), Some("office relay"));
        // A label without a dot in its first word keeps its later dots.
        let s = one("192.0.2.25 esp.example Mailer v2.1 # old").unwrap();
        assert_eq!(s.from_domain, "esp.example");
        assert_eq!(s.label.as_deref(), Some("Mailer v2.1"));
        let s = one("2001:db8::1 a.example \"CRM v2.1\"").unwrap();
        assert_eq!(s.from_domain, "a.example");
        assert_eq!(s.label.as_deref(), Some("CRM v2.1"));
        let s = one("::ffff:192.0.2.1").unwrap();
        assert_eq!(s.ip.to_string(), "192.0.2.1");
        assert_eq!(s.label, None);
        // A third dotted token is the label.
        let s = one("192.0.2.1 a.example b.example c.example").unwrap();
        assert_eq!(s.label.as_deref(), Some("c.example"));
    }

    #[test]
    fn bad_lines() {
        assert!(one("300.1.1.1").unwrap_err().contains("not an IP address"));
        assert!(
            one("192.0.2.1 a..example")
                .unwrap_err()
                .contains("empty label")
        );
        assert!(
            one("192.0.2.1 bounce@esp.example")
                .unwrap_err()
                .contains("not an address")
        );
        assert!(
            one("192.0.2.1 \"open")
                .unwrap_err()
                .contains("unterminated")
        );
        assert!(one("192.0.2.1 \"a\" b").unwrap_err().contains("last field"));
        assert!(
            parse_line("192.0.2.1", None)
                .unwrap_err()
                .contains("no --domain")
        );
        let e = parse_senders("# c\n\n192.0.2.1 ok\nnonsense\n", Some("e.example")).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(parse_senders("# only\n", Some("e.example")).is_err());
    }

    #[test]
    fn lines_are_numbered() {
        let s = parse_senders("# c\n\n192.0.2.1\n192.0.2.2 x\n", Some("e.example")).unwrap();
        assert_eq!(s.iter().map(|s| s.line).collect::<Vec<_>>(), vec![3, 4]);
    }
}
