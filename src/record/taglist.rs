//! The DKIM `tag=value` list (RFC 6376 §3.2), shared by every record that borrows it: DMARC
//! policy records (RFC 9989 §4.7–§4.8, RFC 7489 §6.3) now, DKIM keys and signatures later.
//! It only splits and checks the generic syntax; what a tag means is the caller's business.
//!
//! ```text
//! tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
//! tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//! tag-name  =  ALPHA *ALNUMPUNC
//! tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
//! tval      =  1*VALCHAR
//! VALCHAR   =  %x21-3A / %x3C-7E
//! ALNUMPUNC =  ALPHA / DIGIT / "_"
//! FWS       =  [*WSP CRLF] 1*WSP
//! ```
//!
//! Points the RFC leaves open, decided here:
//! - An empty tag-spec (`a=1;;b=2`, a lone `;`, or an empty text) is an error: `tag-spec`
//!   requires a `tag-name`, and only one optional `;` may end the list (RFC 6376 §3.2 ABNF).
//! - Whitespace after the final `;` is accepted (`a=1; `). The ABNF does not produce it, but
//!   it cannot change any tag and DMARC's own grammar allows it (`[dmarc-sep]`,
//!   `dmarc-sep = *WSP ";" *WSP`, RFC 9989 §4.8); DNS publishers write it routinely.
//! - Any run of WSP and CRLF-followed-by-WSP counts as whitespace; a CR or LF that is not part
//!   of such a fold is an error.
//! - An empty value (`p=`) is valid here (`tag-value` may be empty, and RFC 6376 §3.2 says an
//!   empty value "is not the same as" an omitted tag); callers that need a value check it.
//! - Tag names are compared case-sensitively, as RFC 6376 §3.2 requires ("Tags MUST be
//!   interpreted in a case-sensitive manner"), so `a=1; A=2` is no duplicate in
//!   [`parse_tag_list`]. Callers with other rules use [`scan_tag_list`] and
//!   [`find_duplicates`].
//! - Non-ASCII bytes are errors (VALCHAR is 7-bit), although RFC 6376 §3.2 suggests not
//!   precluding UTF-8 in future.

use std::collections::HashMap;
use std::fmt;

/// One `name=value` pair as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The tag name as written (original case).
    pub name: String,
    /// The value as written, without the whitespace around it; internal whitespace (including
    /// folds) is kept, as RFC 6376 §3.2 requires.
    pub value: String,
    /// Byte offset of the name's first character in the list text.
    pub position: usize,
    /// Byte offset of the value's first character (for an empty value: where it would start).
    pub value_position: usize,
}

/// A syntax error, at a byte offset of the list text.
pub type ParseError = super::ParseError<ParseErrorKind>;

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Nothing but whitespace between two `;`, before the first `;`, or in the whole text
    /// (`tag-spec` requires a `tag-name`).
    EmptyTagSpec,
    /// A name that breaks `ALPHA *ALNUMPUNC`.
    InvalidTagName(String),
    /// A tag-spec without `=` after its name.
    MissingEquals(String),
    /// A character outside VALCHAR and whitespace (control characters, non-ASCII).
    InvalidCharacter(char),
    /// A CR or LF that is not part of a fold (CRLF followed by SP or HTAB).
    InvalidFolding,
    /// The same tag name twice (RFC 6376 §3.2: "the entire tag-list is invalid").
    DuplicateTag(String),
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::EmptyTagSpec => f.write_str("empty tag-spec (no \"name=value\")"),
            ParseErrorKind::InvalidTagName(n) => write!(
                f,
                "invalid tag name \"{n}\" (must be a letter followed by letters, digits or \"_\")"
            ),
            ParseErrorKind::MissingEquals(n) => write!(f, "tag \"{n}\" has no \"=\""),
            ParseErrorKind::InvalidCharacter(c) => write!(f, "invalid character {c:?}"),
            ParseErrorKind::InvalidFolding => {
                f.write_str("line break that is not a fold (CRLF followed by a space or tab)")
            }
            ParseErrorKind::DuplicateTag(n) => write!(f, "tag \"{n}\" appears more than once"),
        }
    }
}

/// The result of a lenient scan: every well-formed tag-spec in order (duplicates kept), and one
/// error per malformed tag-spec, which is skipped up to the next `;`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagScan {
    pub tags: Vec<Tag>,
    pub errors: Vec<ParseError>,
}

/// A repeated tag name: indexes into the tag slice of the first and of the repeated occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duplicate {
    pub first: usize,
    pub repeat: usize,
}

/// Parses a tag-list strictly (RFC 6376 §3.2): the first malformed tag-spec or a duplicate
/// name (case-sensitive) makes the whole list invalid.
pub fn parse_tag_list(text: &str) -> Result<Vec<Tag>, ParseError> {
    let scan = scan_tag_list(text);
    if let Some(e) = scan.errors.into_iter().next() {
        return Err(e);
    }
    if let Some(d) = find_duplicates(&scan.tags, false).first() {
        // `find_duplicates` returns indexes into `scan.tags`.
        if let Some(tag) = scan.tags.get(d.repeat) {
            return Err(ParseError::new(
                tag.position,
                ParseErrorKind::DuplicateTag(tag.name.clone()),
            ));
        }
    }
    Ok(scan.tags)
}

/// Scans a tag-list leniently: malformed tag-specs are reported and skipped (a value never
/// contains `;`, so the next `;` always starts a fresh tag-spec), duplicates are kept.
/// Work and memory are linear in the text length.
pub fn scan_tag_list(text: &str) -> TagScan {
    let bytes = text.as_bytes();
    let mut scan = TagScan::default();
    let mut start = 0;
    loop {
        let end = memchr_semicolon(bytes, start);
        let is_last = end == bytes.len();
        match parse_tag_spec(text, start, end) {
            Ok(Some(tag)) => scan.tags.push(tag),
            Ok(None) => {
                // Empty segment: allowed only after a final ";" (and not as the whole text).
                if !is_last || start == 0 {
                    scan.errors
                        .push(ParseError::new(start, ParseErrorKind::EmptyTagSpec));
                }
            }
            Err(e) => scan.errors.push(e),
        }
        if is_last {
            break;
        }
        start = end + 1;
    }
    scan
}

/// Finds repeated names; `ignore_case` compares ASCII case-insensitively (DMARC), otherwise
/// exactly (DKIM). Each repeat is reported against the first occurrence. Linear time.
pub fn find_duplicates(tags: &[Tag], ignore_case: bool) -> Vec<Duplicate> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, tag) in tags.iter().enumerate() {
        let key = if ignore_case {
            tag.name.to_ascii_lowercase()
        } else {
            tag.name.clone()
        };
        match seen.get(&key) {
            Some(&first) => out.push(Duplicate { first, repeat: i }),
            None => {
                seen.insert(key, i);
            }
        }
    }
    out
}

/// Parses just the first tag-spec (up to the first `;`), without looking at the rest.
pub fn first_tag(text: &str) -> Result<Option<Tag>, ParseError> {
    let end = memchr_semicolon(text.as_bytes(), 0);
    parse_tag_spec(text, 0, end)
}

fn memchr_semicolon(bytes: &[u8], from: usize) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| rest.iter().position(|&b| b == b';'))
        .map_or(bytes.len(), |p| from + p)
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_valchar(b: u8) -> bool {
    matches!(b, 0x21..=0x3a | 0x3c..=0x7e)
}

/// Checks that `bytes[from..to]` (all whitespace bytes) is a sequence of WSP and folds.
fn check_ws_run(bytes: &[u8], from: usize, to: usize) -> Result<(), ParseError> {
    let mut i = from;
    while i < to {
        match bytes.get(i) {
            Some(&b) if is_wsp(b) => i += 1,
            Some(b'\r')
                if i + 2 < to
                    && bytes.get(i + 1) == Some(&b'\n')
                    && bytes.get(i + 2).is_some_and(|&b| is_wsp(b)) =>
            {
                i += 3
            }
            _ => return Err(ParseError::new(i, ParseErrorKind::InvalidFolding)),
        }
    }
    Ok(())
}

/// Skips whitespace from `i` (not past `end`), checking the folds; returns the next offset.
fn skip_ws(bytes: &[u8], i: usize, end: usize) -> Result<usize, ParseError> {
    let mut j = i;
    while j < end && bytes.get(j).is_some_and(|&b| is_ws(b)) {
        j += 1;
    }
    check_ws_run(bytes, i, j)?;
    Ok(j)
}

fn invalid_char_at(text: &str, pos: usize) -> ParseError {
    // `pos` is always the offset of a byte we could not accept; find the char starting there
    // (or containing it) without slicing inside a UTF-8 sequence.
    let c = text
        .get(pos..)
        .and_then(|s| s.chars().next())
        .unwrap_or(char::REPLACEMENT_CHARACTER);
    ParseError::new(pos, ParseErrorKind::InvalidCharacter(c))
}

/// Parses one tag-spec in `text[start..end]`; `Ok(None)` for an all-whitespace segment.
/// All offsets used for slicing sit next to ASCII bytes, so they are char boundaries; `get`
/// is used anyway so a mistake cannot panic.
fn parse_tag_spec(text: &str, start: usize, end: usize) -> Result<Option<Tag>, ParseError> {
    let bytes = text.as_bytes();
    let name_start = skip_ws(bytes, start, end)?;
    if name_start == end {
        return Ok(None);
    }
    // The name runs to whitespace or "="; anything else in it makes the name invalid.
    let mut name_end = name_start;
    while name_end < end && bytes.get(name_end).is_some_and(|&b| !is_ws(b) && b != b'=') {
        name_end += 1;
    }
    let name = text.get(name_start..name_end).unwrap_or_default();
    let name_ok = !name.is_empty()
        && name.bytes().enumerate().all(|(k, b)| {
            if k == 0 {
                b.is_ascii_alphabetic()
            } else {
                b.is_ascii_alphanumeric() || b == b'_'
            }
        });
    if !name_ok {
        if let Some(k) = name.bytes().position(|b| !b.is_ascii()) {
            return Err(invalid_char_at(text, name_start + k));
        }
        return Err(ParseError::new(
            name_start,
            ParseErrorKind::InvalidTagName(name.to_string()),
        ));
    }
    let eq = skip_ws(bytes, name_end, end)?;
    if bytes.get(eq) != Some(&b'=') || eq >= end {
        return Err(ParseError::new(
            name_start,
            ParseErrorKind::MissingEquals(name.to_string()),
        ));
    }
    let value_start = skip_ws(bytes, eq + 1, end)?;
    // Trim trailing whitespace, then check it and the value's inside.
    let mut value_end = end;
    while value_end > value_start && bytes.get(value_end - 1).is_some_and(|&b| is_ws(b)) {
        value_end -= 1;
    }
    check_ws_run(bytes, value_end, end)?;
    let mut i = value_start;
    while i < value_end {
        match bytes.get(i) {
            Some(&b) if is_valchar(b) => i += 1,
            Some(&b) if is_ws(b) => {
                let run_start = i;
                while i < value_end && bytes.get(i).is_some_and(|&b| is_ws(b)) {
                    i += 1;
                }
                check_ws_run(bytes, run_start, i)?;
            }
            _ => return Err(invalid_char_at(text, i)),
        }
    }
    Ok(Some(Tag {
        name: name.to_string(),
        value: text
            .get(value_start..value_end)
            .unwrap_or_default()
            .to_string(),
        position: name_start,
        value_position: value_start,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_tag_list(text)
            .unwrap()
            .into_iter()
            .map(|t| (t.name, t.value))
            .collect()
    }

    fn kind(text: &str) -> ParseErrorKind {
        parse_tag_list(text).unwrap_err().kind
    }

    #[test]
    fn simple() {
        assert_eq!(
            pairs("v=DKIM1; k=rsa; p=abc"),
            vec![
                ("v".into(), "DKIM1".into()),
                ("k".into(), "rsa".into()),
                ("p".into(), "abc".into())
            ]
        );
    }

    #[test]
    fn positions() {
        let tags = parse_tag_list("  a = 1 ;bb=  22").unwrap();
        assert_eq!(tags[0].position, 2);
        assert_eq!(tags[0].value_position, 6);
        assert_eq!(tags[1].position, 9);
        assert_eq!(tags[1].value_position, 14);
        assert_eq!(tags[1].value, "22");
    }

    #[test]
    fn whitespace_and_folding() {
        assert_eq!(
            pairs("\ta\t=\t1\t;\r\n b = x y\r\n\tz ;"),
            vec![("a".into(), "1".into()), ("b".into(), "x y\r\n\tz".into())]
        );
        assert_eq!(kind("a=1\r\nb=2"), ParseErrorKind::InvalidFolding);
        assert_eq!(kind("a=1\n b=2"), ParseErrorKind::InvalidFolding);
        assert_eq!(kind("a=1\r\n;b=2"), ParseErrorKind::InvalidFolding);
        assert_eq!(kind("a\r=1"), ParseErrorKind::InvalidFolding);
        assert_eq!(kind("a=1\r"), ParseErrorKind::InvalidFolding);
    }

    #[test]
    fn trailing_semicolon_and_space() {
        assert_eq!(pairs("a=1;"), vec![("a".into(), "1".into())]);
        assert_eq!(pairs("a=1; "), vec![("a".into(), "1".into())]);
        assert_eq!(pairs("a=1 ; \t"), vec![("a".into(), "1".into())]);
    }

    #[test]
    fn empty_tag_specs() {
        assert_eq!(kind("a=1;;b=2"), ParseErrorKind::EmptyTagSpec);
        assert_eq!(kind("a=1; ;b=2"), ParseErrorKind::EmptyTagSpec);
        assert_eq!(kind(";"), ParseErrorKind::EmptyTagSpec);
        assert_eq!(kind(""), ParseErrorKind::EmptyTagSpec);
        assert_eq!(kind("   "), ParseErrorKind::EmptyTagSpec);
        assert_eq!(kind("a=1;;"), ParseErrorKind::EmptyTagSpec);
    }

    #[test]
    fn empty_value_is_valid() {
        assert_eq!(pairs("p="), vec![("p".into(), String::new())]);
        assert_eq!(
            pairs("p= ;a=1"),
            vec![("p".into(), String::new()), ("a".into(), "1".into())]
        );
        let t = parse_tag_list("p= ").unwrap();
        assert_eq!(t[0].value_position, 3);
    }

    #[test]
    fn names() {
        assert_eq!(pairs("a_1B=x"), vec![("a_1B".into(), "x".into())]);
        assert_eq!(kind("1a=x"), ParseErrorKind::InvalidTagName("1a".into()));
        assert_eq!(kind("_a=x"), ParseErrorKind::InvalidTagName("_a".into()));
        assert_eq!(kind("a-b=x"), ParseErrorKind::InvalidTagName("a-b".into()));
        assert_eq!(kind("=x"), ParseErrorKind::InvalidTagName(String::new()));
        assert_eq!(kind("a"), ParseErrorKind::MissingEquals("a".into()));
        assert_eq!(kind("a b=1"), ParseErrorKind::MissingEquals("a".into()));
        assert_eq!(kind("é=1"), ParseErrorKind::InvalidCharacter('é'));
    }

    #[test]
    fn values() {
        assert_eq!(pairs("a=b=c"), vec![("a".into(), "b=c".into())]);
        assert_eq!(pairs("a=!~"), vec![("a".into(), "!~".into())]);
        assert_eq!(
            kind("a=x\u{7f}"),
            ParseErrorKind::InvalidCharacter('\u{7f}')
        );
        assert_eq!(kind("a=x\u{0}"), ParseErrorKind::InvalidCharacter('\u{0}'));
        let e = parse_tag_list("a=xé").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::InvalidCharacter('é'));
        assert_eq!(e.position, 3);
    }

    #[test]
    fn duplicates_case_sensitive() {
        assert_eq!(
            kind("a=1; b=2; a=3"),
            ParseErrorKind::DuplicateTag("a".into())
        );
        assert_eq!(parse_tag_list("a=1; b=2; a=3").unwrap_err().position, 10);
        assert!(parse_tag_list("a=1; A=2").is_ok());
        let scan = scan_tag_list("a=1; A=2; a=3");
        assert_eq!(
            find_duplicates(&scan.tags, true),
            vec![
                Duplicate {
                    first: 0,
                    repeat: 1
                },
                Duplicate {
                    first: 0,
                    repeat: 2
                }
            ]
        );
        assert_eq!(
            find_duplicates(&scan.tags, false),
            vec![Duplicate {
                first: 0,
                repeat: 2
            }]
        );
    }

    #[test]
    fn lenient_scan_recovers() {
        let scan = scan_tag_list("a=1; junk; ;b=2; 9=3; c=4;");
        let names: Vec<_> = scan.tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(scan.errors.len(), 3);
        assert_eq!(scan.errors[0].position, 5);
    }

    #[test]
    fn first_tag_only() {
        let t = first_tag(" v = DMARC1 ; junk").unwrap().unwrap();
        assert_eq!((t.name.as_str(), t.value.as_str()), ("v", "DMARC1"));
        assert_eq!(first_tag("  ; a=1").unwrap(), None);
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let big = "a=b;".repeat(25_000);
        assert_eq!(scan_tag_list(&big).tags.len(), 25_000);
        let dup = format!("x=1;{}", "x=1;".repeat(10_000));
        assert!(parse_tag_list(&dup).is_err());
        for s in [
            "=",
            ";",
            "==",
            "a==",
            "\r",
            "\r\n",
            "\r\n ",
            "é",
            "a=é;é=a",
            "\u{0}",
            "a=\r\n",
            "a =\r\n b",
            "ü;ü;",
            "a=1;\r\n",
        ] {
            let _ = parse_tag_list(s);
            let _ = scan_tag_list(s);
            let _ = first_tag(s);
        }
        let text = "v=DKIM1; k=rsa; h=sha256; p=MIIB\r\n\tabc; t=y:s";
        for end in 0..=text.len() {
            let _ = parse_tag_list(&text[..end]);
        }
    }
}
