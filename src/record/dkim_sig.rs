//! The DKIM-Signature header field value (RFC 6376 §3.5): a tag-list (via [`super::taglist`])
//! turned into a typed signature, with the required tags enforced and every error positioned
//! in the value. Nothing here verifies anything; see `eval::dkim_verify`.
//!
//! Decisions:
//! - Unknown tags are ignored (RFC 6376 §3.2, §3.5), duplicate tags make the value invalid.
//! - An unknown `a=` is not a syntax error: the signature parses and verification reports the
//!   algorithm as unsupported (RFC 6376 §3.5 lists `a=` values as extensible).
//! - `i=` is decoded from dkim-quoted-printable (RFC 6376 §2.11) and must end in `d=` or a
//!   subdomain of it (RFC 6376 §3.5 `i=`).
//! - `h=` must name From (RFC 6376 §5.4: "The From header field MUST be signed").

use std::fmt;

use base64::Engine as _;

use super::taglist::{self, Tag};

/// A positioned error in a DKIM-Signature value.
pub type ParseError = super::ParseError<SigErrorKind>;

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SigErrorKind {
    /// The generic tag-list syntax is broken (RFC 6376 §3.2).
    TagList(taglist::ParseErrorKind),
    /// A required tag is absent (RFC 6376 §3.5: v, a, b, bh, d, h, s).
    MissingTag(&'static str),
    /// `v=` is not "1" (RFC 6376 §6.1.1: incompatible version).
    UnsupportedVersion(String),
    /// A tag's value does not have the form RFC 6376 §3.5 requires.
    InvalidValue { tag: String, value: String },
    /// `b=` or `bh=` is not base64 (RFC 6376 §3.5, FWS allowed inside).
    InvalidBase64(&'static str),
    /// `c=` names an algorithm this verifier does not know (RFC 6376 §3.4).
    UnknownCanonicalization(String),
    /// `q=` has no `dns/txt` (RFC 6376 §3.5, §6.1.1).
    UnsupportedQuery(String),
    /// `i=` is not `d=` or a subdomain of it (RFC 6376 §3.5 `i=`, §6.1.1).
    IdentityNotInDomain { identity: String, domain: String },
    /// `h=` does not name From (RFC 6376 §5.4, §6.1.1).
    FromNotSigned,
    /// `x=` is not after `t=` (RFC 6376 §3.5 `x=`).
    ExpiresBeforeTimestamp,
}

impl fmt::Display for SigErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigErrorKind::TagList(k) => write!(f, "{k}"),
            SigErrorKind::MissingTag(t) => write!(f, "required tag \"{t}=\" is missing"),
            SigErrorKind::UnsupportedVersion(v) => {
                write!(f, "unsupported version \"v={v}\" (only v=1 is defined)")
            }
            SigErrorKind::InvalidValue { tag, value } => {
                write!(f, "invalid value \"{value}\" for tag \"{tag}=\"")
            }
            SigErrorKind::InvalidBase64(t) => write!(f, "\"{t}=\" is not valid base64"),
            SigErrorKind::UnknownCanonicalization(c) => {
                write!(f, "unknown canonicalization \"c={c}\" (simple or relaxed)")
            }
            SigErrorKind::UnsupportedQuery(q) => {
                write!(
                    f,
                    "unsupported query method \"q={q}\" (only dns/txt is defined)"
                )
            }
            SigErrorKind::IdentityNotInDomain { identity, domain } => write!(
                f,
                "\"i={identity}\" is not in the signing domain \"d={domain}\" or a subdomain of it"
            ),
            SigErrorKind::FromNotSigned => f.write_str("\"h=\" does not include From"),
            SigErrorKind::ExpiresBeforeTimestamp => f.write_str("\"x=\" is not later than \"t=\""),
        }
    }
}

/// A canonicalization algorithm (RFC 6376 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canon {
    Simple,
    Relaxed,
}

impl Canon {
    pub fn as_str(self) -> &'static str {
        match self {
            Canon::Simple => "simple",
            Canon::Relaxed => "relaxed",
        }
    }

    fn from_name(s: &str) -> Option<Canon> {
        match s.to_ascii_lowercase().as_str() {
            "simple" => Some(Canon::Simple),
            "relaxed" => Some(Canon::Relaxed),
            _ => None,
        }
    }
}

/// A signing algorithm (`a=`, RFC 6376 §3.3, RFC 8463).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigAlgorithm {
    RsaSha256,
    /// Historic: never valid (RFC 8301 §3.1), parsed so the result can say so.
    RsaSha1,
    Ed25519Sha256,
    Other(String),
}

impl SigAlgorithm {
    fn from_name(s: &str) -> SigAlgorithm {
        match s.to_ascii_lowercase().as_str() {
            "rsa-sha256" => SigAlgorithm::RsaSha256,
            "rsa-sha1" => SigAlgorithm::RsaSha1,
            "ed25519-sha256" => SigAlgorithm::Ed25519Sha256,
            _ => SigAlgorithm::Other(s.to_string()),
        }
    }
}

/// A parsed DKIM-Signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimSignature {
    /// `a=` as written.
    pub algorithm_name: String,
    pub algorithm: SigAlgorithm,
    /// `b=` decoded.
    pub signature: Vec<u8>,
    /// `b=` as written with whitespace removed (for `header.b`).
    pub signature_text: String,
    /// `bh=` decoded.
    pub body_hash: Vec<u8>,
    /// `c=` (default simple/simple).
    pub header_canon: Canon,
    pub body_canon: Canon,
    /// `d=`, lower-cased.
    pub domain: String,
    /// `h=` names in order, as written (compared case-insensitively).
    pub signed_headers: Vec<String>,
    /// `i=` decoded (default `@d`, RFC 6376 §3.5), `None` when absent.
    pub identity: Option<String>,
    /// `l=`.
    pub body_length: Option<u64>,
    /// `s=` as written.
    pub selector: String,
    /// `t=`.
    pub timestamp: Option<u64>,
    /// `x=`.
    pub expiration: Option<u64>,
}

impl DkimSignature {
    /// The domain of the agent or user identity: `i=`'s part after "@", or `d=` (RFC 6376 §3.5).
    pub fn identity_domain(&self) -> String {
        match &self.identity {
            Some(i) => i
                .rsplit_once('@')
                .map_or(i.as_str(), |(_, d)| d)
                .to_ascii_lowercase(),
            None => self.domain.clone(),
        }
    }
}

fn err(position: usize, kind: SigErrorKind) -> ParseError {
    ParseError::new(position, kind)
}

fn invalid(tag: &Tag) -> ParseError {
    err(
        tag.value_position,
        SigErrorKind::InvalidValue {
            tag: tag.name.clone(),
            value: tag.value.clone(),
        },
    )
}

/// Removes FWS (spaces, tabs, CR, LF) from a value in which it carries no meaning.
fn strip_ws(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'))
        .collect()
}

fn base64(tag: &Tag, name: &'static str) -> Result<(Vec<u8>, String), ParseError> {
    let text = strip_ws(&tag.value);
    match base64::engine::general_purpose::STANDARD.decode(text.as_bytes()) {
        Ok(bytes) if !bytes.is_empty() => Ok((bytes, text)),
        _ => Err(err(tag.value_position, SigErrorKind::InvalidBase64(name))),
    }
}

/// `1*12DIGIT` (RFC 6376 §3.5 `l=`, `t=`, `x=`); longer values are accepted up to u64.
fn number(tag: &Tag) -> Result<u64, ParseError> {
    let v = tag.value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(tag));
    }
    v.parse::<u64>().map_err(|_| invalid(tag))
}

/// dkim-quoted-printable (RFC 6376 §2.11): `=XX` hex escapes, FWS ignored.
fn qp_decode(s: &str) -> Option<String> {
    let s = strip_ws(s);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'=' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn is_domain_or_sub(child: &str, parent: &str) -> bool {
    let child = child.trim_end_matches('.').to_ascii_lowercase();
    let parent = parent.trim_end_matches('.').to_ascii_lowercase();
    child == parent || child.ends_with(&format!(".{parent}"))
}

/// Parses a DKIM-Signature header field value (everything after the colon).
pub fn parse_signature(value: &str) -> Result<DkimSignature, ParseError> {
    let tags = taglist::parse_tag_list(value)
        .map_err(|e| err(e.position, SigErrorKind::TagList(e.kind)))?;
    let get = |name: &str| tags.iter().find(|t| t.name == name);
    let require = |name: &'static str| get(name).ok_or(err(0, SigErrorKind::MissingTag(name)));

    // RFC 6376 §3.5 v=: "MUST have the value "1"".
    let v = require("v")?;
    if v.value != "1" {
        return Err(err(
            v.value_position,
            SigErrorKind::UnsupportedVersion(v.value.clone()),
        ));
    }
    let a = require("a")?;
    let algorithm_name = strip_ws(&a.value);
    if algorithm_name.is_empty() {
        return Err(invalid(a));
    }
    let algorithm = SigAlgorithm::from_name(&algorithm_name);
    let (signature, signature_text) = base64(require("b")?, "b")?;
    let (body_hash, _) = base64(require("bh")?, "bh")?;
    let d = require("d")?;
    let domain = d.value.trim().trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() || domain.contains(char::is_whitespace) {
        return Err(invalid(d));
    }
    let s = require("s")?;
    let selector = s.value.trim().to_string();
    if selector.is_empty() || selector.contains(char::is_whitespace) {
        return Err(invalid(s));
    }
    let h = require("h")?;
    let signed_headers: Vec<String> = strip_ws(&h.value).split(':').map(str::to_string).collect();
    if signed_headers
        .iter()
        .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_graphic() && b != b':'))
    {
        return Err(invalid(h));
    }
    if !signed_headers
        .iter()
        .any(|n| n.eq_ignore_ascii_case("from"))
    {
        return Err(err(h.value_position, SigErrorKind::FromNotSigned));
    }
    let (header_canon, body_canon) = match get("c") {
        None => (Canon::Simple, Canon::Simple),
        Some(c) => {
            let text = strip_ws(&c.value);
            let (hc, bc) = match text.split_once('/') {
                Some((h, b)) => (h, Some(b)),
                None => (text.as_str(), None),
            };
            let unknown = || {
                err(
                    c.value_position,
                    SigErrorKind::UnknownCanonicalization(text.clone()),
                )
            };
            let hc = Canon::from_name(hc).ok_or_else(unknown)?;
            let bc = match bc {
                None => Canon::Simple,
                Some(b) => Canon::from_name(b).ok_or_else(unknown)?,
            };
            (hc, bc)
        }
    };
    if let Some(q) = get("q") {
        // RFC 6376 §3.5 q=: a colon-separated list; "dns/txt" is the only defined method.
        let text = strip_ws(&q.value);
        if !text.split(':').any(|m| {
            let m = m.to_ascii_lowercase();
            m == "dns/txt" || m == "dns"
        }) {
            return Err(err(q.value_position, SigErrorKind::UnsupportedQuery(text)));
        }
    }
    let identity = match get("i") {
        None => None,
        Some(i) => {
            let decoded = qp_decode(&i.value).ok_or_else(|| invalid(i))?;
            let Some((_, idomain)) = decoded.rsplit_once('@') else {
                return Err(invalid(i));
            };
            if !is_domain_or_sub(idomain, &domain) {
                return Err(err(
                    i.value_position,
                    SigErrorKind::IdentityNotInDomain {
                        identity: decoded,
                        domain,
                    },
                ));
            }
            Some(decoded)
        }
    };
    let body_length = get("l").map(number).transpose()?;
    let timestamp = get("t").map(number).transpose()?;
    let expiration = get("x").map(number).transpose()?;
    if let (Some(t), Some(x), Some(xtag)) = (timestamp, expiration, get("x"))
        && x <= t
    {
        return Err(err(
            xtag.value_position,
            SigErrorKind::ExpiresBeforeTimestamp,
        ));
    }
    Ok(DkimSignature {
        algorithm_name,
        algorithm,
        signature,
        signature_text,
        body_hash,
        header_canon,
        body_canon,
        domain,
        signed_headers,
        identity,
        body_length,
        selector,
        timestamp,
        expiration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "v=1; a=rsa-sha256; c=relaxed/simple; d=Example.COM; s=sel;\r\n\th=from:to:subject; i=user=40mail.example.com; l=10; t=100; x=200; bh=YWJj; b=YW Jj\r\n ZA==; zz=unknown";

    #[test]
    fn parses_every_tag() {
        let s = parse_signature(GOOD).unwrap();
        assert_eq!(s.algorithm, SigAlgorithm::RsaSha256);
        assert_eq!(s.domain, "example.com");
        assert_eq!(s.selector, "sel");
        assert_eq!(s.signed_headers, ["from", "to", "subject"]);
        assert_eq!(s.identity.as_deref(), Some("user@mail.example.com"));
        assert_eq!(s.identity_domain(), "mail.example.com");
        assert_eq!(
            (s.header_canon, s.body_canon),
            (Canon::Relaxed, Canon::Simple)
        );
        assert_eq!(
            (s.body_length, s.timestamp, s.expiration),
            (Some(10), Some(100), Some(200))
        );
        assert_eq!(s.signature, b"abcd");
        assert_eq!(s.signature_text, "YWJjZA==");
        assert_eq!(s.body_hash, b"abc");
    }

    #[test]
    fn defaults_and_errors() {
        let base = "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=YWJj; b=YWJj";
        let s = parse_signature(base).unwrap();
        assert_eq!(
            (s.header_canon, s.body_canon),
            (Canon::Simple, Canon::Simple)
        );
        assert_eq!(s.identity, None);
        let c = parse_signature(&format!("{base}; c=relaxed")).unwrap();
        assert_eq!(
            (c.header_canon, c.body_canon),
            (Canon::Relaxed, Canon::Simple)
        );
        for tag in ["v", "a", "b", "bh", "d", "h", "s"] {
            let without: Vec<&str> = base
                .split("; ")
                .filter(|t| !t.starts_with(&format!("{tag}=")))
                .collect();
            let e = parse_signature(&without.join("; ")).unwrap_err();
            assert_eq!(e.kind, SigErrorKind::MissingTag(tag), "{tag}");
        }
        type Check = fn(&SigErrorKind) -> bool;
        let cases: [(&str, Check); 8] = [
            (
                "v=2; a=rsa-sha256; d=example.com; s=sel; h=From; bh=YWJj; b=YWJj",
                |k| matches!(k, SigErrorKind::UnsupportedVersion(_)),
            ),
            (
                "v=1; a=rsa-sha256; d=example.com; s=sel; h=To; bh=YWJj; b=YWJj",
                |k| *k == SigErrorKind::FromNotSigned,
            ),
            (
                "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=YWJj; b=Y!Jj",
                |k| *k == SigErrorKind::InvalidBase64("b"),
            ),
            (
                "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=YWJj; b=YWJj; c=future",
                |k| matches!(k, SigErrorKind::UnknownCanonicalization(_)),
            ),
            (
                "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=YWJj; b=YWJj; q=http",
                |k| matches!(k, SigErrorKind::UnsupportedQuery(_)),
            ),
            (
                "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=YWJj; b=YWJj; i=@example.net",
                |k| matches!(k, SigErrorKind::IdentityNotInDomain { .. }),
            ),
            (
                "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=YWJj; b=YWJj; t=5; x=5",
                |k| *k == SigErrorKind::ExpiresBeforeTimestamp,
            ),
            (
                "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=YWJj; b=YWJj; l=-1",
                |k| matches!(k, SigErrorKind::InvalidValue { .. }),
            ),
        ];
        for (text, check) in cases {
            let e = parse_signature(text).unwrap_err();
            assert!(check(&e.kind), "{text}: {e}");
        }
        // Positions point into the value.
        let e = parse_signature(
            "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=YWJj; b=YWJj; l=x",
        )
        .unwrap_err();
        assert_eq!(e.position, 68);
        // Unknown algorithms parse; verification says they are unsupported.
        let o = parse_signature("v=1; a=rsa-md5; d=example.com; s=sel; h=From; bh=YWJj; b=YWJj")
            .unwrap();
        assert_eq!(o.algorithm, SigAlgorithm::Other("rsa-md5".into()));
    }
}
