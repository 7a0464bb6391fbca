//! The containers DMARC aggregate reports arrive in (RFC 7489 §7.2.1.1, RFC 9990 §5): a bare
//! XML document, gzip (`.xml.gz`), zip (`.zip`, the first XML member) or an email carrying one
//! of those as a MIME part. The kind is read from the content (magic bytes), never from the
//! file name. Everything here is bounded: at most [`MAX_XML_BYTES`] of decompressed output per
//! layer (a gzip or zip bomb is refused once its output passes the limit, a zip member before
//! inflating when the central directory already declares more), at most [`MAX_ZIP_MEMBERS`] zip members and [`MAX_DEPTH`]
//! nested containers. Pure: bytes in, bytes out; the CLI reads the file.

use std::fmt;
use std::io::Read;

use flate2::Crc;
use flate2::read::{DeflateDecoder, MultiGzDecoder};

/// The most decompressed bytes one container may produce (50 MiB): well beyond any real
/// aggregate report (a large receiver's daily report is a few MiB of XML), small enough that
/// a bomb cannot exhaust memory.
pub const MAX_XML_BYTES: usize = 50 * 1024 * 1024;

/// The most members a zip archive may list in its central directory (reports hold one).
pub const MAX_ZIP_MEMBERS: usize = 64;

/// The most containers inside one another (an email carrying a zip of an XML file is 2).
pub const MAX_DEPTH: usize = 3;

/// One layer that was unwrapped, outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Email,
    Gzip,
    Zip,
}

impl Container {
    pub fn as_str(self) -> &'static str {
        match self {
            Container::Email => "email",
            Container::Gzip => "gzip",
            Container::Zip => "zip",
        }
    }
}

/// What the content looks like, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Xml,
    Gzip,
    Zip,
    Email,
}

/// Why the bytes hold no readable report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveError {
    /// Zero bytes (or only white space).
    Empty,
    /// Neither XML, gzip, zip nor an email.
    UnknownKind,
    /// Decompression would produce more than [`MAX_XML_BYTES`].
    TooLarge { container: Container },
    /// A zip archive lists more than [`MAX_ZIP_MEMBERS`] members.
    TooManyMembers(usize),
    /// Containers nested more than [`MAX_DEPTH`] deep.
    TooDeep,
    /// A damaged or cut-off gzip stream.
    Gzip(String),
    /// A damaged, cut-off or unsupported zip archive.
    Zip(String),
    /// An email with no part that is a report.
    NoReportInEmail,
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArchiveError::Empty => f.write_str("empty file"),
            ArchiveError::UnknownKind => f.write_str(
                "not a DMARC aggregate report: neither XML, gzip, zip nor an email carrying one",
            ),
            ArchiveError::TooLarge { container } => write!(
                f,
                "{} content decompresses to more than {} MiB (the limit; a decompression bomb?)",
                container.as_str(),
                MAX_XML_BYTES / (1024 * 1024)
            ),
            ArchiveError::TooManyMembers(n) => write!(
                f,
                "zip archive lists {n} members, more than the limit of {MAX_ZIP_MEMBERS}"
            ),
            ArchiveError::TooDeep => write!(
                f,
                "containers nested more than {MAX_DEPTH} deep (email, zip, gzip inside one another)"
            ),
            ArchiveError::Gzip(e) => write!(f, "damaged or truncated gzip: {e}"),
            ArchiveError::Zip(e) => write!(f, "damaged or unsupported zip: {e}"),
            ArchiveError::NoReportInEmail => {
                f.write_str("the email carries no aggregate report (no XML, gzip or zip part)")
            }
        }
    }
}

impl std::error::Error for ArchiveError {}

/// The report's XML and the containers it was found in (outermost first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped {
    pub xml: Vec<u8>,
    pub containers: Vec<Container>,
    /// The zip member or MIME attachment name the XML came from, when there was one.
    pub member: Option<String>,
}

/// The kind of `bytes`, by content: gzip (1f 8b), zip (a local file header `PK\3\4` or an
/// empty archive's end record `PK\5\6`), XML (`<` after an optional byte order mark and white
/// space), an email (a header field `name:` on the first line, or an mbox `From ` line).
pub fn detect(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Some(Kind::Gzip);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Some(Kind::Zip);
    }
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = text.get(start..)?;
    if text.starts_with(b"<") {
        return Some(Kind::Xml);
    }
    if text.starts_with(b"From ") {
        return Some(Kind::Email);
    }
    // RFC 5322 §2.2: a field name is printable ASCII except ":", then ":".
    let line_end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
    let line = text.get(..line_end)?;
    let colon = line.iter().position(|&b| b == b':')?;
    let name = line.get(..colon)?;
    (!name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b))).then_some(Kind::Email)
}

/// Unwraps `bytes` down to the report's XML.
pub fn unwrap_report(bytes: &[u8]) -> Result<Unwrapped, ArchiveError> {
    let mut containers = Vec::new();
    let (xml, member) = unwrap_at(bytes, 0, &mut containers)?;
    Ok(Unwrapped {
        xml,
        containers,
        member,
    })
}

fn unwrap_at(
    bytes: &[u8],
    depth: usize,
    containers: &mut Vec<Container>,
) -> Result<(Vec<u8>, Option<String>), ArchiveError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ArchiveError::Empty);
    }
    let kind = detect(bytes).ok_or(ArchiveError::UnknownKind)?;
    if kind != Kind::Xml && depth >= MAX_DEPTH {
        return Err(ArchiveError::TooDeep);
    }
    match kind {
        Kind::Xml => Ok((bytes.to_vec(), None)),
        Kind::Gzip => {
            containers.push(Container::Gzip);
            let inner = gunzip(bytes)?;
            unwrap_at(&inner, depth + 1, containers)
        }
        Kind::Zip => {
            containers.push(Container::Zip);
            let (name, inner) = unzip_report(bytes)?;
            let (xml, deeper) = unwrap_at(&inner, depth + 1, containers)?;
            Ok((xml, deeper.or(Some(name))))
        }
        Kind::Email => {
            containers.push(Container::Email);
            from_email(bytes, depth, containers)
        }
    }
}

/// Reads at most [`MAX_XML_BYTES`] from `reader`; one byte more is the bomb.
fn bounded_read(
    mut reader: impl Read,
    container: Container,
    size_hint: usize,
) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::with_capacity(size_hint.min(MAX_XML_BYTES));
    let limit = u64::try_from(MAX_XML_BYTES).unwrap_or(u64::MAX) + 1;
    (&mut reader).take(limit).read_to_end(&mut out)?;
    if out.len() > MAX_XML_BYTES {
        return Err(std::io::Error::other(ArchiveError::TooLarge { container }));
    }
    Ok(out)
}

fn io_to_error(e: std::io::Error, wrap: fn(String) -> ArchiveError) -> ArchiveError {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ArchiveError>())
    {
        Some(a) => a.clone(),
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            wrap("the data ends early (truncated)".to_string())
        }
        None => wrap(e.to_string()),
    }
}

/// RFC 1952 gzip (members concatenated are read as one stream, as gunzip does), stopped by
/// the bounded read one byte past the limit. The trailer's ISIZE (RFC 1952 §2.3.1) is only a
/// capacity hint: it is the size modulo 2^32, and in a truncated file it is not a trailer.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, ArchiveError> {
    let hint = bytes
        .len()
        .checked_sub(4)
        .and_then(|at| bytes.get(at..))
        .and_then(|t| <[u8; 4]>::try_from(t).ok())
        .map(u32::from_le_bytes)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n <= MAX_XML_BYTES)
        .unwrap_or(0);
    bounded_read(MultiGzDecoder::new(bytes), Container::Gzip, hint)
        .map_err(|e| io_to_error(e, ArchiveError::Gzip))
}

fn le16(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_le_bytes(
        <[u8; 2]>::try_from(s).ok()?,
    )))
}

fn le32(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(4)?)?;
    usize::try_from(u32::from_le_bytes(<[u8; 4]>::try_from(s).ok()?)).ok()
}

fn zip_err(msg: &str) -> ArchiveError {
    ArchiveError::Zip(msg.to_string())
}

/// One central directory entry (PKWARE APPNOTE 4.3.12).
struct ZipEntry {
    name: String,
    flags: usize,
    method: usize,
    crc: u32,
    compressed: usize,
    uncompressed: usize,
    local_offset: usize,
}

/// The report member of a zip archive: the first member whose name ends in `.xml` (or
/// `.xml.gz`, `.gz`), else the only member. Stored (0) and deflated (8) members; encrypted and
/// ZIP64 archives are refused. The central directory's sizes are checked before inflating
/// and the output is bounded whatever they say; the CRC-32 is verified.
fn unzip_report(bytes: &[u8]) -> Result<(String, Vec<u8>), ArchiveError> {
    // End of central directory record (APPNOTE 4.3.16): 22 bytes plus a comment of at most
    // 65,535, so it starts within the last 65,557 bytes.
    let search_from = bytes.len().saturating_sub(22 + 65_535);
    let tail = bytes.get(search_from..).unwrap_or_default();
    let eocd = tail
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .map(|p| p + search_from)
        .ok_or_else(|| zip_err("no end of central directory record (truncated?)"))?;
    let total = le16(bytes, eocd + 10).ok_or_else(|| zip_err("end record cut off"))?;
    let cd_size = le32(bytes, eocd + 12).ok_or_else(|| zip_err("end record cut off"))?;
    let cd_offset = le32(bytes, eocd + 16).ok_or_else(|| zip_err("end record cut off"))?;
    if total == 0xFFFF || cd_offset == 0xFFFF_FFFF || cd_size == 0xFFFF_FFFF {
        return Err(zip_err("ZIP64 archives are not supported"));
    }
    if total > MAX_ZIP_MEMBERS {
        return Err(ArchiveError::TooManyMembers(total));
    }
    if total == 0 {
        return Err(zip_err("the archive has no member"));
    }
    let mut entries = Vec::with_capacity(total);
    let mut at = cd_offset;
    for _ in 0..total {
        let cut = || zip_err("central directory cut off");
        if bytes.get(at..at + 4) != Some(b"PK\x01\x02".as_slice()) {
            return Err(zip_err("bad central directory entry"));
        }
        let name_len = le16(bytes, at + 28).ok_or_else(cut)?;
        let extra_len = le16(bytes, at + 30).ok_or_else(cut)?;
        let comment_len = le16(bytes, at + 32).ok_or_else(cut)?;
        let name = bytes.get(at + 46..at + 46 + name_len).ok_or_else(cut)?;
        entries.push(ZipEntry {
            name: String::from_utf8_lossy(name).into_owned(),
            flags: le16(bytes, at + 8).ok_or_else(cut)?,
            method: le16(bytes, at + 10).ok_or_else(cut)?,
            crc: u32::try_from(le32(bytes, at + 16).ok_or_else(cut)?).unwrap_or(0),
            compressed: le32(bytes, at + 20).ok_or_else(cut)?,
            uncompressed: le32(bytes, at + 24).ok_or_else(cut)?,
            local_offset: le32(bytes, at + 42).ok_or_else(cut)?,
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    let is_report = |e: &&ZipEntry| {
        let n = e.name.to_ascii_lowercase();
        !n.ends_with('/') && (n.ends_with(".xml") || n.ends_with(".gz"))
    };
    let entry = match entries.iter().find(is_report) {
        Some(e) => e,
        None => match entries.as_slice() {
            [only] if !only.name.ends_with('/') => only,
            _ => return Err(zip_err("no .xml member")),
        },
    };
    if entry.flags & 1 != 0 {
        return Err(zip_err("the member is encrypted"));
    }
    if entry.uncompressed == 0xFFFF_FFFF || entry.compressed == 0xFFFF_FFFF {
        return Err(zip_err("ZIP64 members are not supported"));
    }
    if entry.uncompressed > MAX_XML_BYTES {
        return Err(ArchiveError::TooLarge {
            container: Container::Zip,
        });
    }
    // Local file header (APPNOTE 4.3.7): 30 bytes, the name and an extra field of its own.
    let lh = entry.local_offset;
    if bytes.get(lh..lh + 4) != Some(b"PK\x03\x04".as_slice()) {
        return Err(zip_err("bad local file header"));
    }
    let cut = || zip_err("member data cut off (truncated?)");
    let data_start =
        lh + 30 + le16(bytes, lh + 26).ok_or_else(cut)? + le16(bytes, lh + 28).ok_or_else(cut)?;
    let data = bytes
        .get(data_start..data_start.saturating_add(entry.compressed))
        .ok_or_else(cut)?;
    let out = match entry.method {
        0 => {
            if data.len() > MAX_XML_BYTES {
                return Err(ArchiveError::TooLarge {
                    container: Container::Zip,
                });
            }
            data.to_vec()
        }
        8 => bounded_read(
            DeflateDecoder::new(data),
            Container::Zip,
            entry.uncompressed,
        )
        .map_err(|e| io_to_error(e, ArchiveError::Zip))?,
        m => {
            return Err(ArchiveError::Zip(format!(
                "compression method {m} is not supported"
            )));
        }
    };
    if out.len() != entry.uncompressed {
        return Err(ArchiveError::Zip(format!(
            "the member inflates to {} bytes, the directory says {}",
            out.len(),
            entry.uncompressed
        )));
    }
    let mut crc = Crc::new();
    crc.update(&out);
    if crc.sum() != entry.crc {
        return Err(zip_err("CRC-32 mismatch (damaged member)"));
    }
    Ok((entry.name.clone(), out))
}

/// An email (RFC 5322, MIME RFC 2045/2046) carrying the report: the first leaf part whose
/// decoded content is XML, gzip or zip (RFC 7489 §7.2.1.1 names the media types, but senders
/// use application/octet-stream too, so the content decides).
fn from_email(
    bytes: &[u8],
    depth: usize,
    containers: &mut Vec<Container>,
) -> Result<(Vec<u8>, Option<String>), ArchiveError> {
    use mail_parser::{MimeHeaders, PartType};
    let msg = mail_parser::MessageParser::default()
        .parse(bytes)
        .ok_or(ArchiveError::NoReportInEmail)?;
    let mut first_error = None;
    // Part 0 is the message itself: its body is a candidate only for a single-part email.
    for part in &msg.parts {
        if matches!(part.body, PartType::Multipart(_) | PartType::Message(_)) {
            continue;
        }
        let content = part.contents();
        match detect(content) {
            Some(Kind::Gzip | Kind::Zip) => {}
            // An HTML or other XML body is not the report: its root must be `feedback`.
            Some(Kind::Xml) if names_feedback(content) => {}
            _ => continue,
        }
        let mut inner = Vec::new();
        match unwrap_at(content, depth + 1, &mut inner) {
            Ok((xml, member)) => {
                containers.extend(inner);
                let name = member.or_else(|| part.attachment_name().map(str::to_string));
                return Ok((xml, name));
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(ArchiveError::NoReportInEmail))
}

/// Whether an XML part's root element is `feedback` (RFC 7489 Appendix C), looked for in its
/// first 4 KiB (after the prolog, comments and any namespace prefix).
fn names_feedback(xml: &[u8]) -> bool {
    let head = xml.get(..xml.len().min(4096)).unwrap_or_default();
    head.windows(9)
        .any(|w| w == b"<feedback" || w == b":feedback")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn detects_by_content() {
        assert_eq!(detect(b"\xEF\xBB\xBF \n<?xml"), Some(Kind::Xml));
        assert_eq!(detect(&gz(b"x")), Some(Kind::Gzip));
        assert_eq!(detect(b"PK\x03\x04rest"), Some(Kind::Zip));
        assert_eq!(detect(b"Received: from x\r\n"), Some(Kind::Email));
        assert_eq!(detect(b"hello world"), None);
        assert_eq!(detect(b""), None);
    }

    #[test]
    fn gzip_round_trip_and_truncation() {
        let z = gz(b"<feedback/>");
        assert_eq!(unwrap_report(&z).unwrap().xml, b"<feedback/>");
        let cut = z.get(..z.len() - 6).unwrap();
        let e = unwrap_report(cut).unwrap_err();
        assert!(matches!(e, ArchiveError::Gzip(_)), "{e}");
    }

    #[test]
    fn empty_and_unknown() {
        assert_eq!(unwrap_report(b"").unwrap_err(), ArchiveError::Empty);
        assert_eq!(unwrap_report(b" \n").unwrap_err(), ArchiveError::Empty);
        assert_eq!(
            unwrap_report(b"\x00\x01binary").unwrap_err(),
            ArchiveError::UnknownKind
        );
    }
}
