//! The message input layer (`--message`): a raw RFC 5322 message, read within a size bound,
//! split into its header fields (in order, each with its raw bytes, as DKIM canonicalisation
//! needs them, RFC 6376 §3.4) and its body; and the header From domain that DMARC evaluates
//! (RFC 9989 §4.10). It sits beside `record` (parsers of DNS text): it knows nothing above it.
//!
//! Line ends: DKIM canonicalises CRLF lines (RFC 6376 §3.4). Messages stored on disk often use
//! bare LF, so every bare LF is read as CRLF (a CR not followed by LF is kept as it is). The
//! view is therefore the message as it travelled over SMTP (RFC 5321 §2.3.8), which is what
//! the signer signed.

pub mod auth_results;
pub mod from;
pub mod received;

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

/// The largest message accepted, in bytes (32 MiB, after nothing: the bytes as read). Larger
/// input is refused while reading; no more than this (plus one byte) is ever held.
pub const MAX_MESSAGE_BYTES: u64 = 32 * 1024 * 1024;

/// The most header fields accepted (10,000): far above any real message (a long relay chain
/// has a few hundred), and a bound on the work every DKIM-Signature's `h=` does over them.
pub const MAX_HEADER_FIELDS: usize = 10_000;

/// The most DKIM-Signature fields accepted (50; real mail carries one to a few). Each is
/// verified (a key query and a body hash), so the count bounds the work a message can ask
/// for; RFC 6376 §6.1 lets a verifier limit the signatures it tries. More is refused.
pub const MAX_DKIM_SIGNATURES: usize = 50;

/// Why a message could not be read or parsed: one line for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageError(pub String);

impl std::fmt::Display for MessageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MessageError {}

/// One header field: byte ranges into [`Message::bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field {
    /// The field name (without the colon, without trailing white space).
    name: (usize, usize),
    /// The whole field: name, colon, folded value, without the final CRLF.
    raw: (usize, usize),
}

/// A parsed message: its bytes (bare LF read as CRLF), its header fields in order (top first)
/// and where the body starts. The bytes are borrowed from the input when it already uses CRLF
/// line ends (the usual case: no copy), and a normalised copy otherwise.
#[derive(Clone, PartialEq, Eq)]
pub struct Message<'a> {
    bytes: Cow<'a, [u8]>,
    fields: Vec<Field>,
    body_start: usize,
}

impl std::fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("bytes", &self.bytes.len())
            .field("fields", &self.fields.len())
            .field("body_start", &self.body_start)
            .finish()
    }
}

impl Message<'static> {
    /// Reads a message from `path` (`-` is standard input): only a regular file (or stdin), at
    /// most [`MAX_MESSAGE_BYTES`], never read whole beyond that.
    pub fn read(path: &Path) -> Result<Message<'static>, MessageError> {
        if path.as_os_str() == "-" {
            return Message::from_vec(read_limited(std::io::stdin().lock(), "standard input")?);
        }
        let shown = format!("{:?}", path.to_string_lossy());
        let fail = |e: std::io::Error| MessageError(format!("{shown}: cannot read: {e}"));
        let file = std::fs::File::open(path).map_err(fail)?;
        let meta = file.metadata().map_err(fail)?;
        if meta.is_dir() {
            return Err(MessageError(format!(
                "{shown}: is a directory: give a message file"
            )));
        }
        if !meta.is_file() {
            return Err(MessageError(format!(
                "{shown}: is not a regular file (a device, FIFO or socket): give a message file, or - for standard input"
            )));
        }
        if meta.len() > MAX_MESSAGE_BYTES {
            return Err(too_large(&shown));
        }
        Message::from_vec(read_limited(file, &shown)?)
    }

    /// [`Message::parse`] of bytes the message keeps: not copied when the line ends are
    /// already CRLF.
    pub fn from_vec(input: Vec<u8>) -> Result<Message<'static>, MessageError> {
        check_input(&input)?;
        let bytes = match normalise(&input) {
            Cow::Borrowed(_) => Cow::Owned(input),
            Cow::Owned(copy) => Cow::Owned(copy),
        };
        Message::split(bytes)
    }
}

fn check_input(input: &[u8]) -> Result<(), MessageError> {
    if input.len() as u64 > MAX_MESSAGE_BYTES {
        return Err(too_large("the message"));
    }
    if input.is_empty() {
        return Err(MessageError(
            "the message is empty: not an RFC 5322 message".into(),
        ));
    }
    Ok(())
}

/// The bytes with bare LF read as CRLF: borrowed unchanged when there is none.
fn normalise(input: &[u8]) -> Cow<'_, [u8]> {
    if has_bare_lf(input) {
        Cow::Owned(crlf(input))
    } else {
        Cow::Borrowed(input)
    }
}

impl<'a> Message<'a> {
    /// Parses a message's bytes (RFC 5322 §2.1: header fields, an empty line, the body). A
    /// leading mbox `From ` separator line is skipped. Refused: empty input, a line in the
    /// header section that is neither a field (`name:`, RFC 5322 §2.2, name of printable ASCII
    /// without `:`) nor a folded continuation, and more than [`MAX_HEADER_FIELDS`] fields.
    /// The message borrows `input` when its line ends are already CRLF (no copy).
    pub fn parse(input: &'a [u8]) -> Result<Message<'a>, MessageError> {
        check_input(input)?;
        Message::split(normalise(input))
    }

    /// Splits CRLF bytes into header fields and body.
    fn split(bytes: Cow<'a, [u8]>) -> Result<Message<'a>, MessageError> {
        let mut fields: Vec<Field> = Vec::new();
        let mut pos = 0usize;
        let mut line_no = 0usize;
        // mbox exports start with "From sender date" (no colon): not part of the message.
        if bytes.starts_with(b"From ") {
            pos = next_line(&bytes, 0).1;
            line_no += 1;
        }
        let body_start = loop {
            if pos >= bytes.len() {
                // Header fields only, no empty line: a message without a body (RFC 5322 §3.5).
                break bytes.len();
            }
            line_no += 1;
            let (end, next) = next_line(&bytes, pos);
            let line = bytes.get(pos..end).unwrap_or_default();
            if line.is_empty() {
                break next;
            }
            let first = line.first().copied().unwrap_or(b' ');
            if first == b' ' || first == b'\t' {
                // RFC 5322 §2.2.3: a folded continuation of the field above.
                match fields.last_mut() {
                    Some(f) => f.raw.1 = end,
                    None => {
                        return Err(MessageError(format!(
                            "not an RFC 5322 message: line {line_no} starts with white space but no header field precedes it"
                        )));
                    }
                }
                pos = next;
                continue;
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return Err(not_a_field(line_no, line));
            };
            let name = line.get(..colon).unwrap_or_default();
            // RFC 5322 §2.2: field-name = 1*ftext (printable US-ASCII except ":"); white
            // space before the colon is the obsolete syntax (§4.5) and tolerated.
            let trimmed_len = name
                .iter()
                .rposition(|&b| b != b' ' && b != b'\t')
                .map_or(0, |i| i + 1);
            let trimmed = name.get(..trimmed_len).unwrap_or_default();
            if trimmed.is_empty() || !trimmed.iter().all(|&b| (33..=126).contains(&b)) {
                return Err(not_a_field(line_no, line));
            }
            if fields.len() >= MAX_HEADER_FIELDS {
                return Err(MessageError(format!(
                    "the message has more than {MAX_HEADER_FIELDS} header fields: refused (the limit bounds the work of DKIM verification)"
                )));
            }
            fields.push(Field {
                name: (pos, pos + trimmed_len),
                raw: (pos, end),
            });
            pos = next;
        };
        let message = Message {
            bytes,
            fields,
            body_start,
        };
        let signatures = message
            .headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case(b"DKIM-Signature"))
            .count();
        if signatures > MAX_DKIM_SIGNATURES {
            return Err(MessageError(format!(
                "the message has {signatures} DKIM-Signature header fields, more than the {MAX_DKIM_SIGNATURES} verified: refused (RFC 6376 §6.1 lets a verifier limit them)"
            )));
        }
        Ok(message)
    }

    /// The whole message as read (bare LF as CRLF).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The header fields in message order (top first): `(name, raw)`, raw being the whole
    /// field (name, colon, folded value) without its final CRLF.
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.fields.iter().map(|f| {
            (
                self.bytes.get(f.name.0..f.name.1).unwrap_or_default(),
                self.bytes.get(f.raw.0..f.raw.1).unwrap_or_default(),
            )
        })
    }

    /// The DKIM view (RFC 6376 §3.4 works on these raw bytes): header fields in order with
    /// their raw bytes, and the body.
    pub fn view(&self) -> crate::eval::dkim_verify::MessageView<'_> {
        crate::eval::dkim_verify::MessageView {
            headers: self
                .headers()
                .map(|(name, raw)| crate::eval::dkim_verify::Header { name, raw })
                .collect(),
            body: self.body(),
        }
    }

    /// How many header fields the message has.
    pub fn header_count(&self) -> usize {
        self.fields.len()
    }

    /// The body: everything after the empty line that ends the header section.
    pub fn body(&self) -> &[u8] {
        self.bytes.get(self.body_start..).unwrap_or_default()
    }

    /// The values (after the colon, still folded) of every field named `name`
    /// (case-insensitive), in message order.
    pub fn values<'b>(&'b self, name: &'b str) -> impl Iterator<Item = &'b [u8]> + 'b {
        self.headers().filter_map(move |(n, raw)| {
            if n.eq_ignore_ascii_case(name.as_bytes()) {
                let colon = raw.iter().position(|&b| b == b':')?;
                raw.get(colon + 1..)
            } else {
                None
            }
        })
    }
}

fn too_large(what: &str) -> MessageError {
    MessageError(format!(
        "{what}: larger than {MAX_MESSAGE_BYTES} bytes (32 MiB), the most a message may hold: refused"
    ))
}

fn not_a_field(line_no: usize, line: &[u8]) -> MessageError {
    let shown = String::from_utf8_lossy(line.get(..60).unwrap_or(line));
    MessageError(format!(
        "not an RFC 5322 message: line {line_no} is not a header field (\"name: value\"): {shown:?}"
    ))
}

/// Reads at most [`MAX_MESSAGE_BYTES`]; one byte more means too large.
fn read_limited(reader: impl Read, what: &str) -> Result<Vec<u8>, MessageError> {
    let mut buf = Vec::new();
    reader
        .take(MAX_MESSAGE_BYTES.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| MessageError(format!("{what}: cannot read: {e}")))?;
    if buf.len() as u64 > MAX_MESSAGE_BYTES {
        return Err(too_large(what));
    }
    Ok(buf)
}

/// Whether some LF is not preceded by CR (found with `memchr`: this runs on every message).
pub fn has_bare_lf(input: &[u8]) -> bool {
    memchr::memchr_iter(b'\n', input).any(|i| {
        i.checked_sub(1)
            .and_then(|p| input.get(p))
            .is_none_or(|&b| b != b'\r')
    })
}

/// The bytes with every bare LF (not preceded by CR) written as CRLF; copied line by line
/// (a bulk copy per line, not per byte: this is on the path of every verification). The one
/// line-end rule for messages: DKIM canonicalisation (`eval::dkim_verify`) uses it too.
pub fn crlf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 32);
    for piece in input.split_inclusive(|&b| b == b'\n') {
        match piece.strip_suffix(b"\n") {
            // The byte before this LF is the line's last byte; an empty line's LF follows
            // the previous LF, so it is bare too.
            Some(line) => {
                out.extend_from_slice(line);
                if line.ends_with(b"\r") {
                    out.push(b'\n');
                } else {
                    out.extend_from_slice(b"\r\n");
                }
            }
            None => out.extend_from_slice(piece),
        }
    }
    out
}

/// The line starting at `pos`: (end of its content, start of the next line). Lines end in
/// CRLF (the input has been through [`crlf`]); the last may end without one.
fn next_line(bytes: &[u8], pos: usize) -> (usize, usize) {
    let rest = bytes.get(pos..).unwrap_or_default();
    // After `crlf` every LF follows a CR: the first LF ends the line.
    match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (pos + i.saturating_sub(1), pos + i + 1),
        None => (bytes.len(), bytes.len()),
    }
}

/// The text of an RFC 5322 §3.2.2 comment, read after its opening `(` up to the matching `)`:
/// nested comments kept with their parentheses, quoted-pairs unquoted. An unclosed comment
/// ends with the input. Shared by the Received and Authentication-Results readers.
pub(crate) fn comment(chars: &mut impl Iterator<Item = char>) -> String {
    let mut depth = 1usize;
    let mut text = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    text.push(n);
                }
            }
            '(' => {
                depth += 1;
                text.push(c);
            }
            ')' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
                text.push(c);
            }
            _ => text.push(c),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_in_order_with_raw_bytes() {
        let m = Message::parse(b"From: a@b.example\nSubject: one\n  two\r\nX:\n\nbody\nline\n")
            .unwrap();
        let h: Vec<_> = m.headers().collect();
        assert_eq!(h.len(), 3);
        assert_eq!(h[0], (&b"From"[..], &b"From: a@b.example"[..]));
        assert_eq!(h[1], (&b"Subject"[..], &b"Subject: one\r\n  two"[..]));
        assert_eq!(h[2], (&b"X"[..], &b"X:"[..]));
        assert_eq!(m.body(), b"body\r\nline\r\n");
        assert_eq!(m.values("subject").next().unwrap(), b" one\r\n  two");
    }

    #[test]
    fn no_body_and_mbox_line() {
        let m = Message::parse(b"From sender Tue Jan 1\nTo: x@y\n").unwrap();
        assert_eq!(m.header_count(), 1);
        assert_eq!(m.body(), b"");
        let m = Message::parse(b"A: 1\r\n\r\n").unwrap();
        assert_eq!(m.body(), b"");
    }

    #[test]
    fn refused() {
        assert!(Message::parse(b"").is_err());
        let e = Message::parse(b"\x00\xff\x10garbage\n").unwrap_err();
        assert!(e.0.contains("line 1 is not a header field"), "{e}");
        assert!(Message::parse(b" folded: first\n").is_err());
        assert!(Message::parse(b"A: 1\nno colon here\n\nbody").is_err());
        assert!(Message::parse(b": empty name\n").is_err());
        let many = "X: 1\n".repeat(MAX_HEADER_FIELDS + 1);
        let e = Message::parse(many.as_bytes()).unwrap_err();
        assert!(e.0.contains("more than 10000 header fields"), "{e}");
        assert!(Message::parse("X: 1\n".repeat(MAX_HEADER_FIELDS).as_bytes()).is_ok());
        let sigs = "DKIM-Signature: x\n".repeat(MAX_DKIM_SIGNATURES);
        assert!(Message::parse(sigs.as_bytes()).is_ok());
        let e = Message::parse(format!("{sigs}dkim-signature: y\n").as_bytes()).unwrap_err();
        assert!(e.0.contains("51 DKIM-Signature header fields"), "{e}");
    }

    #[test]
    fn crlf_input_not_copied() {
        let input = b"A: 1\r\nB: 2\r\n x\r\n\r\nbody\r\n".to_vec();
        let m = Message::parse(&input).unwrap();
        assert!(matches!(m.bytes, Cow::Borrowed(_)));
        assert_eq!(m.body(), b"body\r\n");
        let ptr = input.as_ptr();
        let m = Message::from_vec(input).unwrap();
        assert_eq!(m.bytes().as_ptr(), ptr);
        assert_eq!(m.header_count(), 2);
        // A bare LF anywhere (here in the body, or the very first byte) means a copy.
        let m = Message::parse(b"A: 1\r\n\r\nbody\n").unwrap();
        assert!(matches!(m.bytes, Cow::Owned(_)));
        assert_eq!(m.body(), b"body\r\n");
        let m = Message::from_vec(b"A: 1\n\nb".to_vec()).unwrap();
        assert_eq!(m.bytes(), b"A: 1\r\n\r\nb");
        assert!(has_bare_lf(b"\nA"));
        assert!(!has_bare_lf(b"A\r\n\r\rB"));
        assert!(Message::from_vec(Vec::new()).is_err());
    }

    #[test]
    fn bare_cr_kept() {
        assert_eq!(crlf(b"a\rb\nc\r\n"), b"a\rb\r\nc\r\n");
        assert_eq!(crlf(b"\n\r\n\n\rx"), b"\r\n\r\n\r\n\rx");
        assert_eq!(crlf(b"\r\r\n"), b"\r\r\n");
        assert_eq!(crlf(b""), b"");
    }
}
