//! The DKIM public key record published at `SELECTOR._domainkey.DOMAIN` (RFC 6376 §3.6.1),
//! parsed strictly into typed fields plus diagnostics: the key audit (`eval::dkim_keys`) and
//! the signature verifier both read keys through it, so both agree on what a key says.
//!
//! ```text
//! key-v-tag = %x76 [FWS] "=" [FWS] %x44.4B.49.4D.31          ; "DKIM1", first if present
//! key-h-tag = %x68 [FWS] "=" [FWS] key-h-tag-alg *( [FWS] ":" [FWS] key-h-tag-alg )
//! key-k-tag = %x6b [FWS] "=" [FWS] key-k-tag-type            ; "rsa" / x-key-k-tag-type
//! key-n-tag = %x6e [FWS] "=" [FWS] qp-section
//! key-p-tag = %x70 [FWS] "=" [ [FWS] base64string ]          ; empty = revoked
//! key-s-tag = %x73 [FWS] "=" [FWS] key-s-tag-type *( [FWS] ":" [FWS] key-s-tag-type )
//! key-t-tag = %x74 [FWS] "=" [FWS] key-t-tag-flag *( [FWS] ":" [FWS] key-t-tag-flag )
//! x-...     = hyphenated-word = ALPHA [ *(ALPHA / DIGIT / "-") (ALPHA / DIGIT) ]
//! ```
//!
//! Decisions (RFC 6376 leaves them to the verifier):
//! - The record is unusable ([`ParseError`]) when the tag-list syntax is broken or a tag is
//!   repeated (RFC 6376 §3.2: "the entire tag-list is invalid"), when `v` is present but not
//!   first or not exactly `DKIM1` (§3.6.1), when `p` is missing (§3.6.1 "REQUIRED"), or when
//!   `p` is not base64 (§6.1.2: a record that does not adhere to the format is ignored,
//!   PERMFAIL "key syntax error").
//! - Tag names are case-sensitive (§3.2): `P=...` is an unknown tag, not the key.
//! - Unknown tags are ignored (§3.6.1) with an info diagnostic; unknown `h`, `s`, `t`
//!   values are ignored ("Unrecognized ... MUST be ignored", §3.6.1) with a warning; a list
//!   item that is not even a `hyphenated-word` is an error diagnostic and dropped (the record
//!   stays usable: the item could not have been a known value).
//! - `p` may contain FWS anywhere (§2.4 `base64string`); it is removed before decoding, which
//!   is why a key split over several TXT strings (joined without separator, RFC 6376 §3.6.2.2)
//!   decodes the same as one string. Padding must be correct (RFC 2045 base64).
//! - Whether the bytes of `p` are a valid key of type `k` is not checked here (that needs
//!   DER or algorithm knowledge); `eval::dkim_keys` does it.

use std::fmt;

use base64::Engine as _;

use super::taglist::{self, Tag};
use crate::diag::{Diagnostic, Severity};

/// The key type, `k=` (RFC 6376 §3.6.1; `ed25519` from RFC 8463 §4). Default `rsa`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyType {
    Rsa,
    Ed25519,
    /// Any other value, as written (verifiers fail such a key, §6.1.2).
    Other(String),
}

impl KeyType {
    /// The name as written in `k=` (`rsa`, `ed25519`, or the unknown value).
    pub fn as_str(&self) -> &str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
            KeyType::Other(s) => s,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed DKIM key record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimKey {
    /// `v=` (must be `DKIM1` when present; checked).
    pub version: Option<String>,
    pub key_type: KeyType,
    /// `p=` base64-decoded; empty means the key was revoked (§3.6.1).
    pub public_key: Vec<u8>,
    /// `h=` acceptable hash algorithms, valid items as written (`None` = any, §3.6.1).
    pub hash_algs: Option<Vec<String>>,
    /// `s=` service types (default `["*"]`).
    pub services: Vec<String>,
    /// `t=` flags (e.g. `y`, `s`), valid items as written.
    pub flags: Vec<String>,
    /// `n=` notes as written.
    pub notes: Option<String>,
    /// Remarks: ignored unknown tags and values, dropped malformed list items (§3.6.1).
    pub diagnostics: Vec<Diagnostic>,
}

impl DkimKey {
    /// True if `p=` is empty: "An empty value means that this public key has been revoked"
    /// (RFC 6376 §3.6.1).
    pub fn is_revoked(&self) -> bool {
        self.public_key.is_empty()
    }

    /// True with `t=y`: the domain is testing DKIM (§3.6.1).
    pub fn testing(&self) -> bool {
        self.flags.iter().any(|f| f == "y")
    }

    /// True with `t=s`: the `i=` domain must equal `d=`, no subdomains (§3.6.1).
    pub fn strict_identity(&self) -> bool {
        self.flags.iter().any(|f| f == "s")
    }

    /// True when `alg` (`sha1`, `sha256`) is allowed by `h=` (absent `h=` allows all).
    pub fn allows_hash(&self, alg: &str) -> bool {
        self.hash_algs
            .as_ref()
            .is_none_or(|list| list.iter().any(|a| a == alg))
    }

    /// True when the key may be used for `service` (`email`): `s=` holds it or `*`.
    pub fn allows_service(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == "*" || s == service)
    }
}

/// A key record that cannot be used at all.
pub type ParseError = super::ParseError<KeyErrorKind>;

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyErrorKind {
    /// The text is not a tag=value list, or a tag is repeated (RFC 6376 §3.2).
    TagList(taglist::ParseErrorKind),
    /// `v` is present but is not the first tag (§3.6.1).
    VersionNotFirst,
    /// `v` is not exactly `DKIM1` (its value).
    WrongVersion(String),
    /// No `p` tag (§3.6.1: REQUIRED).
    MissingPublicKey,
    /// `p` is not valid base64 (the reason from the decoder).
    InvalidBase64(String),
}

impl fmt::Display for KeyErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyErrorKind::TagList(k) => write!(f, "not a DKIM key record: {k} (RFC 6376 §3.2)"),
            KeyErrorKind::VersionNotFirst => {
                f.write_str("v= is not the first tag (RFC 6376 §3.6.1: v MUST be first)")
            }
            KeyErrorKind::WrongVersion(v) => write!(
                f,
                "not a DKIM key record: v={v} is not \"DKIM1\" (RFC 6376 §3.6.1)"
            ),
            KeyErrorKind::MissingPublicKey => {
                f.write_str("no p= tag: the public key is required (RFC 6376 §3.6.1)")
            }
            KeyErrorKind::InvalidBase64(why) => {
                write!(f, "p= is not valid base64: {why} (RFC 6376 §3.6.1)")
            }
        }
    }
}

/// The stable codes of the parser's diagnostics.
pub mod code {
    /// A tag RFC 6376 §3.6.1 does not define: ignored.
    pub const UNKNOWN_TAG: &str = "dkim-key-unknown-tag";
    /// An `h=`, `s=`, `t=` or `k=` value that is syntactically valid but unknown: ignored.
    pub const UNKNOWN_VALUE: &str = "dkim-key-unknown-value";
    /// A list item in `h=`, `s=`, `t=` (or the `k=` value) that breaks the syntax.
    pub const INVALID_VALUE: &str = "dkim-key-invalid-value";
}

const RFC: &str = "RFC 6376 §3.6.1";

/// Parses a DKIM key record (the TXT strings already joined without separator, §3.6.2.2).
pub fn parse_key(text: &str) -> Result<DkimKey, ParseError> {
    let tags = taglist::parse_tag_list(text)
        .map_err(|e| ParseError::new(e.position, KeyErrorKind::TagList(e.kind)))?;

    let mut key = DkimKey {
        version: None,
        key_type: KeyType::Rsa,
        public_key: Vec::new(),
        hash_algs: None,
        services: vec!["*".to_string()],
        flags: Vec::new(),
        notes: None,
        diagnostics: Vec::new(),
    };
    let mut saw_p = false;
    for (i, tag) in tags.iter().enumerate() {
        match tag.name.as_str() {
            "v" => {
                // §3.6.1 v: "If specified, this tag MUST be set to "DKIM1" ... This tag MUST
                // be the first tag in the record."
                if i != 0 {
                    return Err(ParseError::new(tag.position, KeyErrorKind::VersionNotFirst));
                }
                if tag.value != "DKIM1" {
                    return Err(ParseError::new(
                        tag.value_position,
                        KeyErrorKind::WrongVersion(tag.value.clone()),
                    ));
                }
                key.version = Some(tag.value.clone());
            }
            "k" => {
                key.key_type = match tag.value.as_str() {
                    "rsa" => KeyType::Rsa,
                    "ed25519" => KeyType::Ed25519,
                    other => {
                        let (c, sev, what) = if is_hyphenated_word(other) {
                            (code::UNKNOWN_VALUE, Severity::Warning, "unknown key type")
                        } else {
                            (code::INVALID_VALUE, Severity::Error, "malformed key type")
                        };
                        key.diagnostics.push(
                            Diagnostic::new(
                                c,
                                sev,
                                RFC,
                                format!(
                                    "{what} k={other}: verifiers cannot use this key \
                                     (rsa and ed25519 are defined)"
                                ),
                            )
                            .with_tag("k")
                            .at(tag.value_position),
                        );
                        KeyType::Other(other.to_string())
                    }
                };
            }
            "p" => {
                saw_p = true;
                key.public_key = decode_base64(tag)?;
            }
            "h" => {
                key.hash_algs = Some(list(tag, &["sha1", "sha256"], &mut key.diagnostics));
            }
            "s" => {
                key.services = list(tag, &["email", "*"], &mut key.diagnostics);
            }
            "t" => {
                key.flags = list(tag, &["y", "s"], &mut key.diagnostics);
            }
            "n" => key.notes = Some(tag.value.clone()),
            other => key.diagnostics.push(
                Diagnostic::new(
                    code::UNKNOWN_TAG,
                    Severity::Info,
                    RFC,
                    format!("unknown tag {other}= is ignored (RFC 6376 §3.6.1; tag names are case-sensitive)"),
                )
                .with_tag(other)
                .at(tag.position),
            ),
        }
    }
    if !saw_p {
        return Err(ParseError::new(text.len(), KeyErrorKind::MissingPublicKey));
    }
    Ok(key)
}

/// `ALPHA [ *(ALPHA / DIGIT / "-") (ALPHA / DIGIT) ]` (RFC 6376 §2.10), or `*` (for `s=`).
fn is_hyphenated_word(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphabetic()
                && l.is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        }
        _ => false,
    }
}

/// Splits a colon-separated list (`[FWS] ":" [FWS]` between items), keeping the valid items
/// (known or unknown) and reporting the rest.
fn list(tag: &Tag, known: &[&str], diags: &mut Vec<Diagnostic>) -> Vec<String> {
    let mut out = Vec::new();
    let mut offset = 0;
    for raw in tag.value.split(':') {
        let lead = raw.len() - raw.trim_start().len();
        let item = raw.trim();
        let pos = tag.value_position + offset + lead;
        offset += raw.len() + 1;
        let valid = if tag.name == "s" && item == "*" {
            true
        } else {
            is_hyphenated_word(item)
        };
        if !valid {
            diags.push(
                Diagnostic::new(
                    code::INVALID_VALUE,
                    Severity::Error,
                    RFC,
                    format!(
                        "{}= item \"{}\" is not a valid value and is ignored",
                        tag.name, item
                    ),
                )
                .with_tag(tag.name.clone())
                .at(pos),
            );
            continue;
        }
        if !known.contains(&item) {
            diags.push(
                Diagnostic::new(
                    code::UNKNOWN_VALUE,
                    Severity::Warning,
                    RFC,
                    format!(
                        "{}= value \"{}\" is unknown and ignored by verifiers",
                        tag.name, item
                    ),
                )
                .with_tag(tag.name.clone())
                .at(pos),
            );
        }
        out.push(item.to_string());
    }
    out
}

/// Decodes `p=`: FWS removed (§2.4), then standard base64 with correct padding.
fn decode_base64(tag: &Tag) -> Result<Vec<u8>, ParseError> {
    let mut compact = String::with_capacity(tag.value.len());
    let mut positions = Vec::with_capacity(tag.value.len());
    for (i, c) in tag.value.char_indices() {
        if !matches!(c, ' ' | '\t' | '\r' | '\n') {
            compact.push(c);
            positions.push(tag.value_position + i);
        }
    }
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| {
            let (at, why) = match e {
                base64::DecodeError::InvalidByte(k, b) => (
                    positions.get(k).copied(),
                    format!("invalid character {:?}", b as char),
                ),
                base64::DecodeError::InvalidLastSymbol(k, _) => (
                    positions.get(k).copied(),
                    "the last character has bits that cannot be there".to_string(),
                ),
                base64::DecodeError::InvalidLength(_) => (
                    None,
                    format!("{} characters is not a valid length", compact.len()),
                ),
                base64::DecodeError::InvalidPadding => (None, "wrong padding".to_string()),
            };
            ParseError::new(
                at.unwrap_or(tag.value_position),
                KeyErrorKind::InvalidBase64(why),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBALbO3ERgfIJcJjzN9bJLRD4Wq+5DkIHHMchNHb+wpM7J1CjF2dKg9ICp9XT3+6XAo7xGzuK6ypp1CyFeoXtGg7UCAwEAAQ==";

    #[test]
    fn minimal_record_has_defaults() {
        let k = parse_key(&format!("p={P}")).unwrap();
        assert_eq!(k.version, None);
        assert_eq!(k.key_type, KeyType::Rsa);
        assert_eq!(k.public_key.len(), 94);
        assert_eq!(k.hash_algs, None);
        assert_eq!(k.services, vec!["*"]);
        assert!(k.flags.is_empty());
        assert!(!k.is_revoked() && !k.testing() && !k.strict_identity());
        assert!(k.allows_hash("sha1") && k.allows_service("email"));
        assert!(k.diagnostics.is_empty());
    }

    #[test]
    fn full_record() {
        let k = parse_key(&format!(
            "v=DKIM1; k=rsa; h=sha256 : sha1; s=email; t=y:s; n=hello; p={P}"
        ))
        .unwrap();
        assert_eq!(k.version.as_deref(), Some("DKIM1"));
        assert_eq!(k.hash_algs, Some(vec!["sha256".into(), "sha1".into()]));
        assert_eq!(k.services, vec!["email"]);
        assert!(k.testing() && k.strict_identity());
        assert_eq!(k.notes.as_deref(), Some("hello"));
        assert!(k.diagnostics.is_empty(), "{:?}", k.diagnostics);
        let k = parse_key(&format!("k=ed25519; h=sha256; s=other; p={P}")).unwrap();
        assert_eq!(k.key_type, KeyType::Ed25519);
        assert!(!k.allows_hash("sha1"));
        assert!(!k.allows_service("email"));
        assert_eq!(k.diagnostics[0].code, code::UNKNOWN_VALUE);
    }

    #[test]
    fn empty_p_is_revoked() {
        for text in ["v=DKIM1; p=", "v=DKIM1; p= ;", "p=\r\n "] {
            assert!(parse_key(text).unwrap().is_revoked(), "{text:?}");
        }
    }

    #[test]
    fn base64_with_fws_and_errors() {
        let (a, b) = P.split_at(40);
        let k = parse_key(&format!("v=DKIM1; p={a} \r\n\t{b}")).unwrap();
        assert_eq!(
            k.public_key,
            parse_key(&format!("p={P}")).unwrap().public_key
        );
        let e = parse_key("v=DKIM1; p=abc!def").unwrap_err();
        assert!(matches!(e.kind, KeyErrorKind::InvalidBase64(_)));
        assert_eq!(e.position, 14);
        let e = parse_key("p=abcde").unwrap_err();
        assert!(matches!(e.kind, KeyErrorKind::InvalidBase64(_)));
        assert!(matches!(
            parse_key("p=YWJj=").unwrap_err().kind,
            KeyErrorKind::InvalidBase64(_)
        ));
    }

    #[test]
    fn version_rules() {
        let e = parse_key(&format!("k=rsa; v=DKIM1; p={P}")).unwrap_err();
        assert_eq!((e.kind, e.position), (KeyErrorKind::VersionNotFirst, 7));
        let e = parse_key(&format!("v=dkim1; p={P}")).unwrap_err();
        assert_eq!(e.kind, KeyErrorKind::WrongVersion("dkim1".into()));
        assert_eq!(e.position, 2);
        let e = parse_key("v=spf1 -all").unwrap_err();
        assert_eq!(e.kind, KeyErrorKind::WrongVersion("spf1 -all".into()));
    }

    #[test]
    fn unusable_records() {
        assert_eq!(
            parse_key("v=DKIM1; k=rsa").unwrap_err().kind,
            KeyErrorKind::MissingPublicKey
        );
        // Case-sensitive names: P= is not p=.
        let e = parse_key(&format!("v=DKIM1; P={P}")).unwrap_err();
        assert_eq!(e.kind, KeyErrorKind::MissingPublicKey);
        assert!(matches!(
            parse_key("google-site-verification=abc").unwrap_err().kind,
            KeyErrorKind::TagList(_)
        ));
        assert!(matches!(
            parse_key(&format!("p={P}; p={P}")).unwrap_err().kind,
            KeyErrorKind::TagList(taglist::ParseErrorKind::DuplicateTag(_))
        ));
        assert!(matches!(
            parse_key("").unwrap_err().kind,
            KeyErrorKind::TagList(_)
        ));
    }

    #[test]
    fn unknown_and_invalid_items() {
        let k = parse_key(&format!(
            "v=DKIM1; x=1; h=sha512:sha256:-bad; t=y:z; k=dsa; p={P}"
        ))
        .unwrap();
        let codes: Vec<_> = k
            .diagnostics
            .iter()
            .map(|d| (d.code, d.tag.as_str(), d.position))
            .collect();
        assert_eq!(
            codes,
            vec![
                (code::UNKNOWN_TAG, "x", Some(9)),
                (code::UNKNOWN_VALUE, "h", Some(16)),
                (code::INVALID_VALUE, "h", Some(30)),
                (code::UNKNOWN_VALUE, "t", Some(40)),
                (code::UNKNOWN_VALUE, "k", Some(45)),
            ]
        );
        assert_eq!(k.hash_algs, Some(vec!["sha512".into(), "sha256".into()]));
        assert_eq!(k.key_type, KeyType::Other("dsa".into()));
        assert!(k.testing());
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let text = format!("v=DKIM1; k=rsa; h=sha256; t=y:s; p={P}");
        for end in 0..=text.len() {
            let _ = parse_key(&text[..end]);
        }
        for s in ["p=é", "p=\u{0}", "h=:::;p=", "t=;p=", "p====", "s=*:*;p="] {
            let _ = parse_key(s);
        }
    }
}
