//! Reports read as input (not output: renderers live in `render`): failure reports (ARF,
//! `arf.rs`) and DMARC aggregate reports. Like `message`, this layer knows nothing above it;
//! `replay` drives the verdict with what it extracts.

pub mod aggregate;
pub mod archive;
pub mod arf;

/// What a file handed to `spfcheck replay` is, judged from its first bytes and MIME types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A DMARC aggregate report (RFC 7489 Appendix C, RFC 9990): XML, gzip, zip, or an email
    /// carrying one.
    Aggregate,
    /// A failure report (RFC 5965 ARF, RFC 6591, RFC 9991), well-formed or not.
    Arf,
    /// Anything else: read as a raw RFC 5322 message.
    Message,
}

/// The kind of `bytes` (the one place that tells the kinds apart).
pub fn input_kind(bytes: &[u8]) -> InputKind {
    // gzip (RFC 1952 §2.3.1 ID1 ID2), zip (local file header "PK\x03\x04"), or XML.
    if bytes.starts_with(&[0x1f, 0x8b]) || bytes.starts_with(b"PK\x03\x04") {
        return InputKind::Aggregate;
    }
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let head = bytes.get(start..).unwrap_or_default();
    let head = head
        .strip_prefix(b"\xef\xbb\xbf".as_slice())
        .unwrap_or(head);
    if head.starts_with(b"<?xml") || head.starts_with(b"<feedback") {
        return InputKind::Aggregate;
    }
    if arf::looks_like_report(bytes) {
        return InputKind::Arf;
    }
    if carries_aggregate(bytes) {
        return InputKind::Aggregate;
    }
    InputKind::Message
}

/// Whether a message carries an aggregate report (RFC 7489 §7.2.1.1): a part the archive
/// reader finds a report in. By content, not by MIME type or attachment name: senders label
/// reports `application/octet-stream` too, and a message as received may carry an unrelated
/// zip (it is then replayed as the message it is).
fn carries_aggregate(bytes: &[u8]) -> bool {
    archive::unwrap_report(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(input_kind(b"\x1f\x8b\x08"), InputKind::Aggregate);
        assert_eq!(input_kind(b"PK\x03\x04rest"), InputKind::Aggregate);
        assert_eq!(
            input_kind(b"\n <?xml version=\"1.0\"?>"),
            InputKind::Aggregate
        );
        assert_eq!(input_kind(b"Feedback-Type: abuse\n"), InputKind::Arf);
        assert_eq!(input_kind(b"From: a@b\n\nhello"), InputKind::Message);
        // A message whose attachment is no report (here not even a zip) is a message.
        assert_eq!(
            input_kind(b"From: a@b\nContent-Type: application/zip\n\nx"),
            InputKind::Message
        );
        // A report labelled application/octet-stream (Amazon SES) is found by its content.
        let xml = "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>o</org_name>\
            <email>e@x</email><report_id>1</report_id><date_range><begin>1</begin><end>2</end>\
            </date_range></report_metadata><policy_published><domain>example.com</domain>\
            <p>none</p></policy_published></feedback>";
        let mail = format!(
            "From: a@b\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n\
             --B\nContent-Type: text/plain\n\nreport\n--B\nContent-Type: application/octet-stream;\n\
             \tname=a!example.com!1!2.xml\n\n{xml}\n--B--\n"
        );
        assert_eq!(input_kind(mail.as_bytes()), InputKind::Aggregate);
    }
}
