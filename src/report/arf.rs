//! Failure reports as an input: RFC 5965 ARF (`multipart/report; report-type=feedback-report`),
//! with the RFC 6591 authentication-failure fields and the RFC 9991 DMARC failure reporting
//! ones. The MIME structure is read by `mail-parser`; the `message/feedback-report` part is
//! read here (RFC 5965 §3.1: header-like `Name: value` lines).
//!
//! Real reports are often not well-formed ARF: a plain text mail with the fields and the
//! original's header pasted in, a part missing, CRLF and LF mixed. [`parse`] extracts what is
//! there and lists what is missing in [`FeedbackReport::missing`]; it fails only when nothing
//! in the input looks like a feedback report. Bounded: at most [`MAX_REPORT_BYTES`] read,
//! field values clipped to [`MAX_VALUE_BYTES`], at most [`MAX_FIELDS`] fields.

use mail_parser::{MessageParser, MimeHeaders, PartType};

use crate::message::received::clip_at;

/// The largest report accepted, in bytes (32 MiB, as a `--message`).
pub const MAX_REPORT_BYTES: u64 = crate::message::MAX_MESSAGE_BYTES;

/// The most bytes of one feedback field value kept (4 KiB).
pub const MAX_VALUE_BYTES: usize = 4 * 1024;

/// The most feedback fields read (1,000); repeated fields (Reported-Domain, Original-Rcpt-To,
/// Authentication-Results) count each time.
pub const MAX_FIELDS: usize = 1000;

/// Why an input is not a feedback report: one line for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportError(pub String);

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReportError {}

/// How the original message is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginalKind {
    /// `message/rfc822` (or `message/global`): header and body; its DKIM signatures can be
    /// verified.
    Message,
    /// `text/rfc822-headers` (RFC 6591 §3.3 allows the header only), or a header pasted in
    /// a plain text report.
    Headers,
}

impl OriginalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OriginalKind::Message => "message",
            OriginalKind::Headers => "headers",
        }
    }
}

/// A feedback report: the fields of its `message/feedback-report` part (RFC 5965 §3.1–§3.3,
/// RFC 6591 §3.1–§3.2, RFC 9991) and the original message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedbackReport {
    /// `abuse`, `auth-failure`, `fraud`, `not-spam`, `other`, `virus` (lower case).
    pub feedback_type: Option<String>,
    pub version: Option<String>,
    pub user_agent: Option<String>,
    /// As written, comments left out (`148.163.85.135 (sainay.example)` → `148.163.85.135`).
    pub source_ip: Option<String>,
    pub original_mail_from: Option<String>,
    pub original_rcpt_to: Vec<String>,
    pub original_envelope_id: Option<String>,
    pub reported_domain: Vec<String>,
    pub reported_uri: Vec<String>,
    /// RFC 6591 §3.2: `adsp`, `bodyhash`, `revoked`, `signature`, `spf`, `dmarc` (lower case).
    pub auth_failure: Option<String>,
    /// Each Authentication-Results field as written (unfolded).
    pub authentication_results: Vec<String>,
    pub dkim_domain: Option<String>,
    pub dkim_selector: Option<String>,
    pub dkim_identity: Option<String>,
    pub dkim_canonicalized_header: Option<String>,
    pub dkim_canonicalized_body: Option<String>,
    pub spf_dns: Option<String>,
    /// Arrival-Date (or the older Received-Date), as written.
    pub arrival_date: Option<String>,
    /// Reporting-MTA without its `dns;` type.
    pub reporting_mta: Option<String>,
    pub incidents: Option<u64>,
    /// RFC 6591 §3.1 Delivery-Result: `delivered`, `spam`, `policy`, `reject`, `other`.
    pub delivery_result: Option<String>,
    /// RFC 6591 §3.1 Identity-Alignment: `none`, `spf`, `dkim`, comma-separated.
    pub identity_alignment: Option<String>,
    /// The attached original: its bytes and how it was attached.
    pub original: Option<(OriginalKind, Vec<u8>)>,
    /// The parts and fields RFC 5965 requires that were not found ("the message/feedback-report
    /// part", "Feedback-Type", ...), and what was read loosely.
    pub missing: Vec<String>,
    pub notes: Vec<String>,
}

/// Whether `bytes` look like a feedback report: a `report-type=feedback-report` multipart, a
/// `message/feedback-report` part, or a `Feedback-Type:` line.
pub fn looks_like_report(bytes: &[u8]) -> bool {
    let head = bytes.get(..bytes.len().min(1 << 20)).unwrap_or(bytes);
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    lower.contains("message/feedback-report")
        || lower.contains("report-type=feedback-report")
        || lower.contains("report-type=\"feedback-report\"")
        || lower
            .lines()
            .any(|l| l.trim_start().starts_with("feedback-type:"))
}

/// Reads a feedback report (see the module comment for what is tolerated).
pub fn parse(bytes: &[u8]) -> Result<FeedbackReport, ReportError> {
    if bytes.len() as u64 > MAX_REPORT_BYTES {
        return Err(ReportError(format!(
            "larger than {MAX_REPORT_BYTES} bytes (32 MiB), the most a report may hold: refused"
        )));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ReportError("empty: not a feedback report".into()));
    }
    let mut report = FeedbackReport::default();
    let mut feedback_part: Option<String> = None;
    let parsed = MessageParser::new().parse(bytes);
    if let Some(msg) = &parsed {
        let is_report = msg.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("multipart")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        });
        if !is_report {
            report
                .notes
                .push("not a multipart/report: fields read from the text".into());
        }
        for part in msg.parts.iter().skip(1) {
            let (ctype, subtype) = match part.content_type() {
                Some(ct) => (
                    ct.ctype().to_ascii_lowercase(),
                    ct.subtype().unwrap_or("").to_ascii_lowercase(),
                ),
                None => ("text".into(), "plain".into()),
            };
            match (ctype.as_str(), subtype.as_str()) {
                ("message", "feedback-report") if feedback_part.is_none() => {
                    feedback_part = Some(String::from_utf8_lossy(part.contents()).into_owned());
                }
                ("message", "rfc822" | "global") if report.original.is_none() => {
                    if let PartType::Message(m) = &part.body {
                        report.original = Some((OriginalKind::Message, m.raw_message().to_vec()));
                    } else {
                        report.original = Some((OriginalKind::Message, part.contents().to_vec()));
                    }
                }
                ("text", "rfc822-headers") if report.original.is_none() => {
                    report.original = Some((OriginalKind::Headers, part.contents().to_vec()));
                }
                _ => {}
            }
        }
    }
    // An original attached as a MIME part (not headers found pasted in a text body).
    let attached = report.original.is_some();
    let text = match feedback_part {
        Some(t) => t,
        None => {
            report
                .missing
                .push("the message/feedback-report part (fields read from the text)".into());
            // A plain text report: the body (or the whole input) holds the fields.
            let body = parsed
                .as_ref()
                .and_then(|m| m.body_text(0).map(|b| b.into_owned()))
                .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned());
            if report.original.is_none() {
                report.original = pasted_headers(&body).map(|h| (OriginalKind::Headers, h));
            }
            body
        }
    };
    read_fields(&text, &mut report);
    // Without the fields, an original attached as a part still holds what a replay needs (the
    // IP from its Received fields, MAIL FROM from Return-Path): read on, the fields listed as
    // missing.
    if report.feedback_type.is_none() && report.source_ip.is_none() && !attached {
        return Err(ReportError(
            "no feedback report found (no message/feedback-report part, no Feedback-Type or Source-IP field)".into(),
        ));
    }
    for (name, present) in [
        ("Feedback-Type", report.feedback_type.is_some()),
        ("User-Agent", report.user_agent.is_some()),
        ("Version", report.version.is_some()),
    ] {
        if !present {
            report.missing.push(name.into());
        }
    }
    if report.original.is_none() {
        report
            .missing
            .push("the original message (message/rfc822 or text/rfc822-headers)".into());
    }
    Ok(report)
}

/// The `Name: value` fields of a feedback-report part (RFC 5965 §3.1; folded lines joined).
fn read_fields(text: &str, r: &mut FeedbackReport) {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = fields.last_mut()
                && v.len() < MAX_VALUE_BYTES
            {
                v.push('\n');
                v.push_str(line);
            }
            continue;
        }
        if fields.len() >= MAX_FIELDS {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if !name.is_empty() && !name.contains(' ') {
                fields.push((name.to_ascii_lowercase(), value.trim().to_string()));
                continue;
            }
        }
        // A line that is no field ends a run of fields (a pasted header may follow); only
        // known names are read, so nothing is lost by continuing.
        fields.push((String::new(), String::new()));
    }
    for (name, value) in fields {
        let value = clip_at(&value, MAX_VALUE_BYTES).to_string();
        let one_line = || value.split_whitespace().collect::<Vec<_>>().join(" ");
        let set = |slot: &mut Option<String>, v: String| {
            if slot.is_none() && !v.is_empty() {
                *slot = Some(v);
            }
        };
        match name.as_str() {
            "feedback-type" => set(&mut r.feedback_type, one_line().to_ascii_lowercase()),
            "version" => set(&mut r.version, one_line()),
            "user-agent" => set(&mut r.user_agent, one_line()),
            "source-ip" => set(&mut r.source_ip, strip_comments(&one_line())),
            "original-mail-from" => set(&mut r.original_mail_from, one_line()),
            "original-rcpt-to" => r.original_rcpt_to.push(one_line()),
            "original-envelope-id" => set(&mut r.original_envelope_id, one_line()),
            "reported-domain" => r.reported_domain.push(one_line()),
            "reported-uri" => r.reported_uri.push(one_line()),
            "auth-failure" => set(&mut r.auth_failure, one_line().to_ascii_lowercase()),
            "authentication-results" => r.authentication_results.push(value.clone()),
            "dkim-domain" => set(&mut r.dkim_domain, one_line()),
            "dkim-selector" => set(&mut r.dkim_selector, one_line()),
            "dkim-identity" => set(&mut r.dkim_identity, one_line()),
            "dkim-canonicalized-header" => set(&mut r.dkim_canonicalized_header, value.clone()),
            "dkim-canonicalized-body" => set(&mut r.dkim_canonicalized_body, value.clone()),
            "spf-dns" => set(&mut r.spf_dns, one_line()),
            "arrival-date" | "received-date" => set(&mut r.arrival_date, one_line()),
            "reporting-mta" => {
                let v = one_line();
                // RFC 5965 §3.2 / RFC 3464 §2.2.2: `mta-name-type ";" mta-name`.
                let v = v
                    .split_once(';')
                    .map_or(v.as_str(), |(_, n)| n)
                    .trim()
                    .to_string();
                set(&mut r.reporting_mta, v)
            }
            "incidents" if r.incidents.is_none() => r.incidents = one_line().parse().ok(),
            "delivery-result" => set(&mut r.delivery_result, one_line().to_ascii_lowercase()),
            "identity-alignment" => set(&mut r.identity_alignment, one_line().to_ascii_lowercase()),
            _ => {}
        }
    }
}

/// `s` without its parenthesised comments.
fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

/// A header block pasted into a plain text report: from the first `Received:` line, or else
/// the first `From:` line, to the next empty line.
fn pasted_headers(text: &str) -> Option<Vec<u8>> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("Received:"))
        .or_else(|| lines.iter().position(|l| l.starts_with("From:")))?;
    // Pasting (mail clients, web pages) loses the folding white space: a line that is not a
    // `Name: value` field is read as the continuation of the field above (RFC 5322 §2.2.3).
    let mut out = String::new();
    for line in lines
        .iter()
        .skip(start)
        .take_while(|l| !l.trim().is_empty())
        .take(crate::message::MAX_HEADER_FIELDS)
    {
        let is_field = line
            .split_once(':')
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| (33..=126).contains(&b)));
        if !is_field && !line.starts_with([' ', '\t']) {
            out.push(' ');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_report_with_pasted_header() {
        let text = b"Hello, here is what we got.\n\nFeedback-Type: auth-failure\nSource-IP: 192.0.2.9 (x.example)\nReported-Domain: b.example\n\nReceived: from x.example ([192.0.2.9]) by mx.example; Mon, 1 Jan 2024\nFrom: a@b.example\n\nbody\n";
        let r = parse(text).unwrap();
        assert_eq!(r.source_ip.as_deref(), Some("192.0.2.9"));
        assert_eq!(r.feedback_type.as_deref(), Some("auth-failure"));
        assert!(r.missing.iter().any(|m| m.contains("feedback-report part")));
        let (kind, h) = r.original.unwrap();
        assert_eq!(kind, OriginalKind::Headers);
        assert!(String::from_utf8_lossy(&h).starts_with("Received: from x.example"));
    }

    #[test]
    fn refused() {
        assert!(parse(b"").is_err());
        assert!(parse(b"\n\r\n ").is_err());
        assert!(parse(b"Subject: hi\n\nnothing here\n").is_err());
        assert!(parse(&[0u8, 159, 146, 150, 255, 0, 1]).is_err());
    }
}
