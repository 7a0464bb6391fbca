//! The DMARC policy record (RFC 9989 §4.7–§4.8, and RFC 7489 §6.3–§6.4 for the older tags),
//! parsed into typed fields plus diagnostics, so that an audit can say what each receiver will
//! make of a record that is only partly right.
//!
//! ```text
//! dmarc-record  = dmarc-version *(dmarc-sep dmarc-tag) [dmarc-sep]
//! dmarc-version = "v" equals %s"DMARC1"        ; case sensitive
//! dmarc-sep     = *WSP ";" *WSP
//! equals        = *WSP "=" *WSP
//! dmarc-tag     = 1*ALPHA equals 1*dmarc-value
//! ```
//!
//! Only a record that does not start with `v=DMARC1` is rejected (RFC 9989 §4.7 "v": "the
//! entire record MUST be ignored"). Everything after it is kept even when wrong, because
//! RFC 9989 §4.8 says "Syntax errors in the remainder of the record MUST be discarded in favor
//! of default values (if any) or ignored outright" (RFC 7489 §6.3: SHOULD); each discarded or
//! doubtful piece becomes a [`Diagnostic`].
//!
//! The two versions differ in their tag sets (RFC 9989 Appendix C.5): `np`, `psd`, `t` are
//! new, `pct`, `rf`, `ri` are gone. Both sets are parsed; [`DmarcRecord::diagnostics_for`]
//! adds the notes that hold under one version only, and [`DmarcRecord::effective_policy`]
//! applies each version's rule for a missing or invalid `p`.
//!
//! Points the RFCs leave open, decided here (each is also noted at the code):
//! - Tag names are matched case-insensitively, with a warning. The ABNF writes them as quoted
//!   strings (`"v" equals`; RFC 7489 §6.4 `"p" *WSP "="`), which RFC 5234 §2.3 makes
//!   case-insensitive, while RFC 6376 §3.2 (the borrowed tag-list syntax) makes DKIM tags
//!   case-sensitive, so some receivers may ignore `P=reject`.
//! - Keyword values (`none`, `r`, `y`, `d`, ...) are case-insensitive for the same reason
//!   (RFC 5234 §2.3), with a warning; only `DMARC1` is case-sensitive (`%s`, RFC 7405).
//! - A repeated tag: the first occurrence applies and each repeat is ignored with a diagnostic
//!   (a warning when it repeats the same value, an error when the value differs). Neither RFC
//!   speaks of DMARC duplicates; RFC 6376 §3.2 would make the whole tag-list invalid, but
//!   RFC 9989 §4.8 requires discarding syntax errors after `v`, which the repeat is.
//! - A malformed tag-spec after `v` (`foo`, `;;`, a control character) is skipped up to the
//!   next `;` (RFC 9989 §4.8), not fatal; the first tag-spec being malformed is fatal.
//! - `fo` is checked against RFC 9989's `dmarc-fo` (no repeats, `0` and `1` exclusive, no
//!   spaces), which is stricter than RFC 7489 §6.4; an invalid `fo` falls back to the default.
//! - A reporting URI is checked against RFC 3986's character set with a scheme; a `mailto:`
//!   URI must name an address. A `!size` suffix is valid RFC 7489 syntax (§6.2) and obsolete
//!   in RFC 9989 (§4.8 `obs-dmarc-report-size`); it is stripped from the stored URI.
//! - Under RFC 7489 `p` must be the second tag (§6.3: "MUST appear in that order"); a later `p`
//!   is still used, with an RFC 7489 warning, as common receivers do.

use std::fmt;

use serde::Serialize;

use super::taglist::{self, Tag};
pub use crate::diag::{Diagnostic, Severity};

/// The most diagnostics kept in [`DmarcRecord::diagnostics`]; beyond it one entry counts the
/// rest, so hostile records cannot make the output grow without bound.
pub const MAX_DIAGNOSTICS: usize = 50;

/// Which DMARC specification to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum DmarcMode {
    /// DMARCbis, RFC 9989 (Standards Track).
    Rfc9989,
    /// The original, RFC 7489 (Informational).
    Rfc7489,
}

impl fmt::Display for DmarcMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DmarcMode::Rfc9989 => "RFC 9989",
            DmarcMode::Rfc7489 => "RFC 7489",
        })
    }
}

/// Domain Owner Assessment Policy (`p`, `sp`, `np`; RFC 9989 §4.7 `dmarc-request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    None,
    Quarantine,
    Reject,
}

impl fmt::Display for AlignmentMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AlignmentMode::Relaxed => "relaxed",
            AlignmentMode::Strict => "strict",
        })
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        })
    }
}

/// The `psd` flag (RFC 9989 §4.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum Psd {
    /// `psd=y`: the domain is a Public Suffix Domain.
    Y,
    /// `psd=n`: the domain is an Organizational Domain.
    N,
    /// `psd=u` or absent: unknown; the DNS Tree Walk decides (RFC 9989 §4.10).
    #[default]
    U,
}

/// Identifier Alignment mode (`adkim`, `aspf`; RFC 9989 §4.7 `dmarc-rors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlignmentMode {
    #[default]
    Relaxed,
    Strict,
}

/// A parsed DMARC policy record. Every tag of both versions is parsed; fields for tags that
/// one version does not define are ignored by that version's evaluation (see the field docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcRecord {
    /// `p`, if present and valid. Absent under RFC 9989 means `none` (§4.7); see
    /// [`DmarcRecord::effective_policy`].
    pub p: Option<Policy>,
    /// `p` is present but its value is not valid.
    pub p_invalid: bool,
    /// `sp`, if present and valid.
    pub sp: Option<Policy>,
    pub sp_invalid: bool,
    /// `np`, if present and valid (RFC 9989 only).
    pub np: Option<Policy>,
    /// `np` is present but invalid (matters under RFC 9989 only).
    pub np_invalid: bool,
    /// `psd` (RFC 9989 only); `U` when absent or invalid.
    pub psd: Psd,
    /// `t=y` (RFC 9989 only); false when absent or invalid.
    pub t: bool,
    /// `adkim`; relaxed when absent or invalid.
    pub adkim: AlignmentMode,
    /// `aspf`; relaxed when absent or invalid.
    pub aspf: AlignmentMode,
    /// The valid `rua` URIs in order, any `!size` suffix removed.
    pub rua: Vec<String>,
    /// The valid `ruf` URIs in order, any `!size` suffix removed.
    pub ruf: Vec<String>,
    /// The `fo` options in lower case (`"0"`, `"1"`, `"d"`, `"s"`), in the order written;
    /// empty when absent or invalid (the default is `0`).
    pub fo: Vec<String>,
    /// `pct` (RFC 7489 only), when valid (0..=100); the default is 100.
    pub pct: Option<u8>,
    /// `rf` (RFC 7489 only) as written, when syntactically valid; the default is `afrf`.
    pub rf: Option<String>,
    /// `ri` (RFC 7489 only), when valid; the default is 86400.
    pub ri: Option<u32>,
    /// Tags defined by neither version, in order (ignored: RFC 9989 §4.7, RFC 7489 §6.3).
    pub unknown_tags: Vec<Tag>,
    /// Remarks that hold under both versions, in order, at most [`MAX_DIAGNOSTICS`] plus a
    /// final count of the rest.
    pub diagnostics: Vec<Diagnostic>,
    /// Remarks that hold under RFC 9989 only.
    notes_9989: Vec<Diagnostic>,
    /// Remarks that hold under RFC 7489 only.
    notes_7489: Vec<Diagnostic>,
}

/// Why a policy tag did not count as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum PolicyDefect {
    /// No `p` tag.
    MissingP,
    /// `p` present with an invalid value.
    InvalidP,
    /// `sp` present with an invalid value.
    InvalidSp,
    /// `np` present with an invalid value (RFC 9989 only).
    InvalidNp,
}

impl fmt::Display for PolicyDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicyDefect::MissingP => "no p tag",
            PolicyDefect::InvalidP => "invalid p",
            PolicyDefect::InvalidSp => "invalid sp",
            PolicyDefect::InvalidNp => "invalid np",
        })
    }
}

/// The policies a receiver applies, after the defaulting rules of RFC 9989 §4.7/§4.10.1 or
/// RFC 7489 §6.3/§6.6.3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectivePolicy {
    /// For the domain the record was published for.
    pub p: Policy,
    /// For existing subdomains: `sp`, else `p`.
    pub sp: Policy,
    /// For non-existent subdomains: `np`, else `sp`, else `p` (RFC 9989 §4.7 np); under
    /// RFC 7489 always the `sp` value.
    pub np: Policy,
    /// The defects that made these differ from the tags as written (empty if none did).
    pub defects: Vec<PolicyDefect>,
    /// True when the record is treated "as if a record containing p=none was retrieved"
    /// because of the defects and a valid `rua` URI (RFC 9989 §4.10.1, RFC 7489 §6.6.3 6.1).
    pub as_if_p_none: bool,
}

/// The record has policy defects and no valid `rua` URI: "the Mail Receiver applies no DMARC
/// processing to this message" (RFC 9989 §4.10.1, RFC 7489 §6.6.3 step 6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyProblem {
    pub mode: DmarcMode,
    pub defects: Vec<PolicyDefect>,
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.defects.iter().map(ToString::to_string).collect();
        let section = match self.mode {
            DmarcMode::Rfc9989 => "RFC 9989 §4.10.1",
            DmarcMode::Rfc7489 => "RFC 7489 §6.6.3",
        };
        write!(
            f,
            "{} and no valid rua URI: no DMARC processing ({section})",
            list.join(", ")
        )
    }
}

impl std::error::Error for PolicyProblem {}

/// A record that is not a DMARC record at all; it must be ignored (RFC 9989 §4.7 "v").
pub type ParseError = super::ParseError<ParseErrorKind>;

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The first tag-spec is not `name=value` (RFC 6376 §3.2).
    NotTagList(taglist::ParseErrorKind),
    /// The first tag is not `v` (its name, empty if the text starts with `;` or is empty).
    VersionNotFirst(String),
    /// `v` is first but its value is not exactly `DMARC1` (case-sensitive, RFC 9989 §4.8).
    WrongVersion(String),
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::NotTagList(k) => write!(f, "not a tag=value list: {k}"),
            ParseErrorKind::VersionNotFirst(n) if n.is_empty() => {
                f.write_str("not a DMARC record: it does not start with \"v=DMARC1\"")
            }
            ParseErrorKind::VersionNotFirst(n) => write!(
                f,
                "not a DMARC record: the first tag is \"{n}\", not \"v\" (v MUST be first, \
                 RFC 9989 §4.7)"
            ),
            ParseErrorKind::WrongVersion(v) => {
                write!(
                    f,
                    "not a DMARC record: v={v} is not \"DMARC1\" (case-sensitive"
                )?;
                if v.starts_with("DMARC1") {
                    f.write_str("; a \";\" missing after DMARC1?")?;
                }
                f.write_str(", RFC 9989 §4.7)")
            }
        }
    }
}

/// True if `txt` starts with a `v=DMARC1` tag (after optional whitespace), the test for
/// keeping a TXT record during discovery: "Records that do not start with a "v" tag that
/// identifies the current version of DMARC are discarded" (RFC 9989 §4.10 step 2; RFC 7489
/// §6.6.3 step 2). Only the first tag-spec is looked at.
pub fn is_dmarc_record(txt: &str) -> bool {
    matches!(
        taglist::first_tag(txt),
        Ok(Some(t)) if t.name.eq_ignore_ascii_case("v") && t.value == "DMARC1"
    )
}

/// Collects diagnostics up to a cap, counting the rest.
#[derive(Default)]
struct Sink {
    list: Vec<Diagnostic>,
    dropped: usize,
}

impl Sink {
    fn push(&mut self, d: Diagnostic) {
        if self.list.len() < MAX_DIAGNOSTICS {
            self.list.push(d);
        } else {
            self.dropped += 1;
        }
    }
    fn finish(mut self, end: usize) -> Vec<Diagnostic> {
        if self.dropped > 0 {
            self.list.push(
                Diagnostic::new(
                    code::TRUNCATED,
                    Severity::Warning,
                    "",
                    format!("{} more diagnostics not shown", self.dropped),
                )
                .at(end),
            );
        }
        self.list
    }
}

/// The stable `code` of each DMARC record diagnostic (see [`Diagnostic`]).
pub mod code {
    /// A tag-spec after `v` that is not `name=value`: skipped (RFC 9989 §4.8).
    pub const SYNTAX: &str = "dmarc-syntax";
    /// A tag given twice (same or different value): the first applies.
    pub const DUPLICATE_TAG: &str = "dmarc-duplicate-tag";
    /// A tag name or keyword value not in lower case: matched, with a warning.
    pub const CASE: &str = "dmarc-case";
    /// A known tag with an invalid value: ignored, the default applies.
    pub const INVALID_TAG: &str = "dmarc-invalid-tag";
    /// A tag neither version defines: ignored.
    pub const UNKNOWN_TAG: &str = "dmarc-unknown-tag";
    /// An RFC 9989 tag (np, psd, t) read under RFC 7489, which does not know it.
    pub const NEW_TAG: &str = "dmarc-new-tag";
    /// An RFC 7489 tag (pct, rf, ri) that RFC 9989 removed.
    pub const REMOVED_TAG: &str = "dmarc-removed-tag";
    /// No `p` tag.
    pub const MISSING_P: &str = "dmarc-missing-p";
    /// `p` is not the second tag (RFC 7489 §6.3).
    pub const P_NOT_SECOND: &str = "dmarc-p-not-second";
    /// A reporting URI that is not valid: ignored.
    pub const INVALID_URI: &str = "dmarc-invalid-uri";
    /// `rua`/`ruf` with no valid URI at all.
    pub const NO_VALID_URI: &str = "dmarc-no-valid-uri";
    /// A reporting URI whose scheme is not mailto.
    pub const URI_SCHEME: &str = "dmarc-uri-scheme";
    /// The obsolete `!size` suffix on reporting URIs.
    pub const OBSOLETE_SIZE: &str = "dmarc-obsolete-size";
    /// An `rf` format other than afrf.
    pub const UNREGISTERED_FORMAT: &str = "dmarc-unregistered-format";
    /// `fo` without `ruf`: no effect.
    pub const FO_WITHOUT_RUF: &str = "dmarc-fo-without-ruf";
    /// More diagnostics than [`super::MAX_DIAGNOSTICS`]: the count of the rest.
    pub const TRUNCATED: &str = "dmarc-diagnostics-truncated";
}

/// Parses a DMARC policy record (the TXT strings already joined, RFC 7489 §6.1).
pub fn parse(text: &str) -> Result<DmarcRecord, ParseError> {
    // RFC 9989 §4.7 "v": "This tag MUST be the first tag in the list ... If the tag is not the
    // first in the list, or the tag is absent, or the value is not "DMARC1", then the entire
    // record MUST be ignored."
    let first = match taglist::first_tag(text) {
        Err(e) => {
            return Err(ParseError {
                position: e.position,
                kind: ParseErrorKind::NotTagList(e.kind),
            });
        }
        Ok(None) => {
            return Err(ParseError {
                position: 0,
                kind: ParseErrorKind::VersionNotFirst(String::new()),
            });
        }
        Ok(Some(t)) => t,
    };
    if !first.name.eq_ignore_ascii_case("v") {
        return Err(ParseError {
            position: first.position,
            kind: ParseErrorKind::VersionNotFirst(first.name),
        });
    }
    // %s"DMARC1": case-sensitive (RFC 9989 §4.8, RFC 7405).
    if first.value != "DMARC1" {
        return Err(ParseError {
            position: first.value_position,
            kind: ParseErrorKind::WrongVersion(first.value),
        });
    }

    let mut b = Builder::default();
    b.case_warning("v", &first, false);
    let scan = taglist::scan_tag_list(text);
    for e in &scan.errors {
        // RFC 9989 §4.8: syntax errors after v are discarded, not fatal.
        b.common.push(
            Diagnostic::error(
                code::SYNTAX,
                "RFC 9989 §4.8",
                format!("{}: this tag-spec is ignored (RFC 9989 §4.8)", e.kind),
            )
            .at(e.position),
        );
    }
    let is_repeat = b.repeats(&scan.tags);
    // The tags in force: the first occurrence of each name. `v` is the first tag (checked
    // above, and the first segment parsed, so it is `scan.tags[0]`).
    let mut p_index = None;
    for (i, tag) in scan.tags.iter().enumerate().skip(1) {
        if is_repeat.get(i).copied().unwrap_or(false) {
            continue;
        }
        let name = tag.name.to_ascii_lowercase();
        if name == "p" {
            p_index = Some(i);
        }
        b.tag(&name, tag);
    }
    Ok(b.finish(text.len(), p_index))
}

#[derive(Default)]
struct Builder {
    rec: Fields,
    common: Sink,
    notes_9989: Vec<Diagnostic>,
    notes_7489: Vec<Diagnostic>,
    fo_pos: Option<usize>,
    obs_size: Vec<(String, usize, usize)>,
}

#[derive(Default)]
struct Fields {
    p: Option<Policy>,
    p_invalid: bool,
    sp: Option<Policy>,
    sp_invalid: bool,
    np: Option<Policy>,
    np_invalid: bool,
    psd: Psd,
    t: bool,
    adkim: AlignmentMode,
    aspf: AlignmentMode,
    rua: Vec<String>,
    ruf: Vec<String>,
    ruf_present: bool,
    fo: Vec<String>,
    pct: Option<u8>,
    rf: Option<String>,
    ri: Option<u32>,
    unknown_tags: Vec<Tag>,
}

/// A diagnostic on `tag` at byte `position` of the record.
fn note(
    code: &'static str,
    severity: Severity,
    rfc: &'static str,
    tag: &str,
    position: usize,
    message: String,
) -> Diagnostic {
    Diagnostic::new(code, severity, rfc, message)
        .with_tag(tag)
        .at(position)
}

/// An invalid value of a known tag: ignored, the default applies.
fn invalid(rfc: &'static str, tag: &str, position: usize, message: String) -> Diagnostic {
    note(
        code::INVALID_TAG,
        Severity::Error,
        rfc,
        tag,
        position,
        message,
    )
}

/// The word of `words` that `value` matches case-insensitively (RFC 5234 §2.3).
fn keyword(value: &str, words: &[&'static str]) -> Option<&'static str> {
    words
        .iter()
        .copied()
        .find(|w| value.eq_ignore_ascii_case(w))
}

impl Builder {
    fn case_warning(&mut self, name: &str, tag: &Tag, value_checked: bool) {
        if tag.name != name {
            self.common.push(note(
                code::CASE,
                Severity::Warning,
                "RFC 5234 §2.3",
                name,
                tag.position,
                format!(
                    "tag name \"{}\" is not lower-case: matched as \"{name}\" (ABNF strings are \
                     case-insensitive, RFC 5234 §2.3), but receivers that follow DKIM's \
                     case-sensitive tags (RFC 6376 §3.2) may ignore it",
                    tag.name
                ),
            ));
        }
        if value_checked && tag.value.bytes().any(|b| b.is_ascii_uppercase()) {
            self.common.push(note(
                code::CASE,
                Severity::Warning,
                "RFC 5234 §2.3",
                name,
                tag.value_position,
                format!(
                    "{name}={} is not lower-case: accepted (RFC 5234 §2.3), but some receivers \
                     compare values exactly",
                    tag.value
                ),
            ));
        }
    }

    /// Notes each repeated tag (RFC 6376 §3.2 forbids them; RFC 9989 §4.8 discards the error):
    /// the first occurrence applies. Returns which of `tags` are repeats.
    fn repeats(&mut self, tags: &[Tag]) -> Vec<bool> {
        let dups = taglist::find_duplicates(tags, true);
        let mut is_repeat = vec![false; tags.len()];
        for d in &dups {
            if let (Some(flag), Some(first), Some(rep)) = (
                is_repeat.get_mut(d.repeat),
                tags.get(d.first),
                tags.get(d.repeat),
            ) {
                *flag = true;
                let name = rep.name.to_ascii_lowercase();
                if rep.value == first.value {
                    self.common.push(note(
                        code::DUPLICATE_TAG,
                        Severity::Warning,
                        "RFC 9989 §4.8",
                        &name,
                        rep.position,
                        format!(
                            "{name} appears again with the same value: the repeat is ignored \
                             (RFC 6376 §3.2 forbids repeated tags; RFC 9989 §4.8 discards the error)"
                        ),
                    ));
                } else {
                    self.common.push(note(
                        code::DUPLICATE_TAG,
                        Severity::Error,
                        "RFC 9989 §4.8",
                        &name,
                        rep.position,
                        format!(
                            "{name} appears again ({}={}): the first value ({}) applies and this \
                             one is ignored; receivers that take the last one or reject the record \
                             will differ (RFC 6376 §3.2 forbids repeated tags; RFC 9989 §4.8)",
                            rep.name, rep.value, first.value
                        ),
                    ));
                }
            }
        }
        is_repeat
    }

    /// One tag in force (its first occurrence), by its lower-case name.
    fn tag(&mut self, name: &str, tag: &Tag) {
        match name {
            "p" | "sp" | "np" => self.policy_tag(name, tag),
            "psd" => self.psd_tag(tag),
            "t" => self.t_tag(tag),
            "adkim" | "aspf" => self.alignment_tag(name, tag),
            "rua" | "ruf" => {
                self.case_warning(name, tag, false);
                let uris = self.uri_list(name, tag);
                if name == "rua" {
                    self.rec.rua = uris;
                } else {
                    self.rec.ruf_present = true;
                    self.rec.ruf = uris;
                }
            }
            "fo" => self.fo_tag(tag),
            "pct" => self.pct_tag(tag),
            "rf" => self.rf_tag(tag),
            "ri" => self.ri_tag(tag),
            _ => {
                self.common.push(note(
                    code::UNKNOWN_TAG,
                    Severity::Warning,
                    "RFC 9989 §4.7",
                    name,
                    tag.position,
                    format!(
                        "unknown tag \"{}\": ignored (unknown tags MUST be ignored, RFC 9989 \
                         §4.7, RFC 7489 §6.3)",
                        tag.name
                    ),
                ));
                self.rec.unknown_tags.push(tag.clone());
            }
        }
    }

    /// `p`, `sp`, `np` (RFC 9989 §4.7 `dmarc-request`; an invalid one: §4.10.1).
    fn policy_tag(&mut self, name: &str, tag: &Tag) {
        let (v, pos) = (tag.value.as_str(), tag.position);
        let policy = keyword(v, &["none", "quarantine", "reject"]).map(|w| match w {
            "quarantine" => Policy::Quarantine,
            "reject" => Policy::Reject,
            _ => Policy::None,
        });
        self.case_warning(name, tag, policy.is_some());
        // RFC 9989 §4.8: `dmarc-tag = 1*ALPHA equals 1*dmarc-value`: a value is never empty.
        let what = if v.is_empty() {
            format!("{name}= is empty")
        } else {
            format!("{name}={v} is not none, quarantine or reject")
        };
        match (name, policy) {
            ("p", Some(pol)) => self.rec.p = Some(pol),
            ("sp", Some(pol)) => self.rec.sp = Some(pol),
            ("np", Some(pol)) => self.rec.np = Some(pol),
            ("p", None) => {
                self.rec.p_invalid = true;
                self.common.push(invalid(
                    "RFC 9989 §4.10.1",
                    name,
                    pos,
                    format!(
                        "{what}: the record is treated as having no valid p, so \
                         receivers act as if p=none if rua has a valid URI and \
                         otherwise apply no DMARC (RFC 9989 §4.10.1, RFC 7489 §6.6.3)"
                    ),
                ));
            }
            ("sp", None) => {
                self.rec.sp_invalid = true;
                self.common.push(invalid(
                    "RFC 9989 §4.10.1",
                    name,
                    pos,
                    format!(
                        "{what}: an invalid sp makes receivers act as if the whole \
                         record were p=none if rua has a valid URI, and otherwise \
                         apply no DMARC (RFC 9989 §4.10.1, RFC 7489 §6.6.3)"
                    ),
                ));
            }
            (_, None) => {
                self.rec.np_invalid = true;
                self.notes_9989.push(invalid(
                    "RFC 9989 §4.10.1",
                    name,
                    pos,
                    format!(
                        "{what}: an invalid np makes receivers act as if the whole \
                         record were p=none if rua has a valid URI, and otherwise \
                         apply no DMARC (RFC 9989 §4.10.1)"
                    ),
                ));
            }
            _ => {}
        }
        if name == "np" {
            self.notes_7489.push(not_in_7489(name, pos));
        }
    }

    /// `psd` (RFC 9989 §4.7).
    fn psd_tag(&mut self, tag: &Tag) {
        let (v, pos) = (tag.value.as_str(), tag.position);
        let w = keyword(v, &["y", "n", "u"]);
        self.case_warning("psd", tag, w.is_some());
        match w {
            Some("y") => self.rec.psd = Psd::Y,
            Some("n") => self.rec.psd = Psd::N,
            Some(_) => self.rec.psd = Psd::U,
            None => self.notes_9989.push(invalid(
                "RFC 9989 §4.7",
                "psd",
                pos,
                format!(
                    "psd={v} is not y, n or u: ignored, the default u applies \
                     (RFC 9989 §4.7 psd, §4.8)"
                ),
            )),
        }
        self.notes_7489.push(not_in_7489("psd", pos));
    }

    /// `t` (RFC 9989 §4.7).
    fn t_tag(&mut self, tag: &Tag) {
        let (v, pos) = (tag.value.as_str(), tag.position);
        let w = keyword(v, &["y", "n"]);
        self.case_warning("t", tag, w.is_some());
        match w {
            Some(w) => self.rec.t = w == "y",
            None => self.notes_9989.push(invalid(
                "RFC 9989 §4.7",
                "t",
                pos,
                format!(
                    "t={v} is not y or n: ignored, the default n (apply the policy) \
                     applies (RFC 9989 §4.7 t, §4.8)"
                ),
            )),
        }
        self.notes_7489.push(not_in_7489("t", pos));
    }

    /// `adkim`, `aspf` (RFC 9989 §4.7 `dmarc-rors`).
    fn alignment_tag(&mut self, name: &str, tag: &Tag) {
        let v = tag.value.as_str();
        let w = keyword(v, &["r", "s"]);
        self.case_warning(name, tag, w.is_some());
        let mode = match w {
            Some("s") => AlignmentMode::Strict,
            Some(_) => AlignmentMode::Relaxed,
            None => {
                self.common.push(invalid(
                    "RFC 9989 §4.7",
                    name,
                    tag.position,
                    format!(
                        "{name}={v} is not r or s: ignored, the default r (relaxed) \
                         applies (RFC 9989 §4.7, §4.8; RFC 7489 §6.3)"
                    ),
                ));
                AlignmentMode::Relaxed
            }
        };
        if name == "adkim" {
            self.rec.adkim = mode;
        } else {
            self.rec.aspf = mode;
        }
    }

    /// `fo` (RFC 9989 §4.7, §4.8 `dmarc-fo`).
    fn fo_tag(&mut self, tag: &Tag) {
        let (v, pos) = (tag.value.as_str(), tag.position);
        self.case_warning("fo", tag, true);
        self.fo_pos = Some(pos);
        match parse_fo(v) {
            Ok(opts) => self.rec.fo = opts,
            Err(why) => self.common.push(invalid(
                "RFC 9989 §4.8",
                "fo",
                pos,
                format!(
                    "fo={v}: {why}: ignored, the default 0 applies (RFC 9989 §4.7 fo, \
                     §4.8 dmarc-fo)"
                ),
            )),
        }
    }

    /// `pct` (RFC 7489 §6.3; removed in RFC 9989).
    fn pct_tag(&mut self, tag: &Tag) {
        let (v, pos) = (tag.value.as_str(), tag.position);
        self.case_warning("pct", tag, false);
        // RFC 7489 §6.4: `1*3DIGIT`, "integer between 0 and 100, inclusive" (§6.3).
        let n = (!v.is_empty() && v.len() <= 3 && v.bytes().all(|b| b.is_ascii_digit()))
            .then(|| v.parse::<u8>().ok())
            .flatten()
            .filter(|n| *n <= 100);
        match n {
            Some(n) => self.rec.pct = Some(n),
            None => self.notes_7489.push(invalid(
                "RFC 7489 §6.3",
                "pct",
                pos,
                format!(
                    "pct={v} is not an integer from 0 to 100: ignored, the default \
                     100 applies (RFC 7489 §6.3, §6.4)"
                ),
            )),
        }
        self.notes_9989.push(removed_in_9989(
            "pct",
            pos,
            "t=y is the replacement for pct=0 (Appendix A.6)",
        ));
    }

    /// `rf` (RFC 7489 §6.3; removed in RFC 9989).
    fn rf_tag(&mut self, tag: &Tag) {
        let (v, pos) = (tag.value.as_str(), tag.position);
        self.case_warning("rf", tag, false);
        // RFC 7489 §6.4: `Keyword *(*WSP ":" Keyword)`, registered formats only.
        let items: Vec<&str> = v.split(':').map(|s| s.trim_matches([' ', '\t'])).collect();
        if !v.is_empty() && items.iter().all(|k| is_keyword(k)) {
            self.rec.rf = Some(v.to_string());
            if let Some(other) = items.iter().find(|k| !k.eq_ignore_ascii_case("afrf")) {
                self.notes_7489.push(note(
                    code::UNREGISTERED_FORMAT,
                    Severity::Warning,
                    "RFC 7489 §6.3",
                    "rf",
                    pos,
                    format!(
                        "rf: \"{other}\" is not a registered format (only afrf): \
                         receivers SHOULD ignore it or MAY ignore the entire record \
                         (RFC 7489 §6.3 rf)"
                    ),
                ));
            }
        } else {
            self.notes_7489.push(invalid(
                "RFC 7489 §6.4",
                "rf",
                pos,
                format!(
                    "rf={v} is not a colon-separated list of format names: ignored, \
                     the default afrf applies (RFC 7489 §6.4)"
                ),
            ));
        }
        self.notes_9989.push(removed_in_9989(
            "rf",
            pos,
            "failure report format is fixed by the failure-reporting document",
        ));
    }

    /// `ri` (RFC 7489 §6.3; removed in RFC 9989).
    fn ri_tag(&mut self, tag: &Tag) {
        let (v, pos) = (tag.value.as_str(), tag.position);
        self.case_warning("ri", tag, false);
        // RFC 7489 §6.3: "plain-text 32-bit unsigned integer"; §6.4 `1*DIGIT`.
        let n = (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .then(|| v.parse::<u32>().ok())
            .flatten();
        match n {
            Some(n) => self.rec.ri = Some(n),
            None => self.notes_7489.push(invalid(
                "RFC 7489 §6.3",
                "ri",
                pos,
                format!(
                    "ri={v} is not a 32-bit unsigned integer: ignored, the default \
                     86400 applies (RFC 7489 §6.3, §6.4)"
                ),
            )),
        }
        self.notes_9989.push(removed_in_9989(
            "ri",
            pos,
            "aggregate reports are daily (RFC 9989 §4.7 has no interval tag)",
        ));
    }

    /// Splits and checks a `dmarc-urilist` (RFC 9989 §4.8); returns the valid URIs.
    fn uri_list(&mut self, name: &str, tag: &Tag) -> Vec<String> {
        let mut out = Vec::new();
        let mut offset = tag.value_position;
        let mut obs_count = 0;
        let mut obs_first = 0;
        for item in tag.value.split(',') {
            let lead = item.len() - item.trim_start_matches([' ', '\t']).len();
            let uri = item.trim_matches([' ', '\t']);
            let at = offset + lead;
            offset += item.len() + 1;
            match check_uri(uri) {
                Ok((base, size)) => {
                    if size.is_some() {
                        if obs_count == 0 {
                            obs_first = at;
                        }
                        obs_count += 1;
                    }
                    if let Some(scheme) = base.split(':').next()
                        && !scheme.eq_ignore_ascii_case("mailto")
                    {
                        self.common.push(note(
                            code::URI_SCHEME,
                            Severity::Warning,
                            "RFC 9989 §4.7",
                            name,
                            at,
                            format!(
                                "{name}: \"{base}\" uses scheme {scheme}: receivers need only \
                                 support mailto and MUST ignore URIs they do not support \
                                 (RFC 9989 §4.7 {name})"
                            ),
                        ));
                    }
                    out.push(base.to_string());
                }
                Err(why) => self.common.push(note(
                    code::INVALID_URI,
                    Severity::Error,
                    "RFC 9989 §4.8",
                    name,
                    at,
                    format!(
                        "{name}: \"{uri}\" {why}: this URI is ignored (RFC 9989 §4.8 dmarc-uri)"
                    ),
                )),
            }
        }
        if out.is_empty() {
            self.common.push(note(
                code::NO_VALID_URI,
                Severity::Error,
                "RFC 9989 §4.7",
                name,
                tag.position,
                format!(
                    "{name} has no valid URI: no {} reports will be sent (RFC 9989 §4.7 {name})",
                    if name == "rua" {
                        "aggregate"
                    } else {
                        "failure"
                    }
                ),
            ));
        }
        if obs_count > 0 {
            self.obs_size.push((name.to_string(), obs_first, obs_count));
        }
        out
    }

    /// The remarks on the record as a whole (no p, p out of place, fo without ruf, obsolete
    /// size suffixes).
    fn record_notes(&mut self, p_index: Option<usize>) {
        if self.rec.p.is_none() && !self.rec.p_invalid {
            self.notes_9989.push(note(
                code::MISSING_P,
                Severity::Warning,
                "RFC 9989 §4.7",
                "p",
                0,
                "no p tag: the record is treated as if it included p=none (RFC 9989 §4.7 p, \
                 §4.10.1); p is RECOMMENDED"
                    .into(),
            ));
            self.notes_7489.push(note(
                code::MISSING_P,
                Severity::Error,
                "RFC 7489 §6.3",
                "p",
                0,
                "no p tag, which RFC 7489 §6.3 REQUIRES: the record has no valid p, so \
                 receivers act as if p=none if rua has a valid URI and otherwise apply no \
                 DMARC (RFC 7489 §6.6.3 step 6)"
                    .into(),
            ));
        }
        if let Some(i) = p_index
            && i != 1
        {
            self.notes_7489.push(note(
                code::P_NOT_SECOND,
                Severity::Warning,
                "RFC 7489 §6.3",
                "p",
                0,
                "p is not the second tag: RFC 7489 §6.3 says v and p \"MUST appear in that \
                 order\" (the p tag is still used here, as common receivers do)"
                    .into(),
            ));
        }
        if let Some(pos) = self.fo_pos
            && !self.rec.ruf_present
        {
            self.common.push(note(
                code::FO_WITHOUT_RUF,
                Severity::Warning,
                "RFC 9989 §4.7",
                "fo",
                pos,
                "fo has no effect without ruf: \"This tag's content MUST be ignored if a ruf \
                 tag is not also specified\" (RFC 9989 §4.7 fo, RFC 7489 §6.3)"
                    .into(),
            ));
        }
        for (name, pos, count) in std::mem::take(&mut self.obs_size) {
            self.notes_9989.push(note(
                code::OBSOLETE_SIZE,
                Severity::Warning,
                "RFC 9989 §4.8",
                &name,
                pos,
                format!(
                    "{name}: {count} URI(s) carry a \"!size\" limit, obsolete syntax that \
                     reporters ignore (RFC 9989 §4.8 obs-dmarc-report-size); stripped"
                ),
            ));
        }
    }

    fn finish(mut self, end: usize, p_index: Option<usize>) -> DmarcRecord {
        self.record_notes(p_index);
        let f = self.rec;
        DmarcRecord {
            p: f.p,
            p_invalid: f.p_invalid,
            sp: f.sp,
            sp_invalid: f.sp_invalid,
            np: f.np,
            np_invalid: f.np_invalid,
            psd: f.psd,
            t: f.t,
            adkim: f.adkim,
            aspf: f.aspf,
            rua: f.rua,
            ruf: f.ruf,
            fo: f.fo,
            pct: f.pct,
            rf: f.rf,
            ri: f.ri,
            unknown_tags: f.unknown_tags,
            diagnostics: self.common.finish(end),
            notes_9989: self.notes_9989,
            notes_7489: self.notes_7489,
        }
    }
}

fn not_in_7489(name: &str, pos: usize) -> Diagnostic {
    note(
        code::NEW_TAG,
        Severity::Warning,
        "RFC 7489 §6.3",
        name,
        pos,
        format!(
            "{name} is not an RFC 7489 tag (added by RFC 9989, Appendix C.5.1): unknown, \
             ignored (RFC 7489 §6.3)"
        ),
    )
}

fn removed_in_9989(name: &str, pos: usize, why: &str) -> Diagnostic {
    note(
        code::REMOVED_TAG,
        Severity::Warning,
        "RFC 9989 Appendix C.5.2",
        name,
        pos,
        format!("{name} is removed in RFC 9989 (Appendix C.5.2), ignored; {why}"),
    )
}

/// RFC 5321 §4.1.2 `Keyword = Ldh-str`: alphanumerics and hyphens, not ending in a hyphen.
fn is_keyword(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// RFC 9989 §4.8:
/// ```text
/// dmarc-fo   = ("0" / "1") *(":" dmarc-afrf)
///            / dmarc-afrf [":" ("0" / "1")] [":" dmarc-afrf]
///            / *(dmarc-afrf ":") ("0" / "1")
/// dmarc-afrf = "d" / "s"  ; each may appear at most once in dmarc-fo
/// ```
/// Together: a non-empty colon-separated set of `0`, `1`, `d`, `s`, each at most once, with
/// `0` and `1` exclusive ("mutually exclusive", §4.7 fo), in any order.
fn parse_fo(v: &str) -> Result<Vec<String>, String> {
    if v.is_empty() {
        return Err("empty value".into());
    }
    let mut out: Vec<String> = Vec::new();
    for item in v.split(':') {
        let lower = item.to_ascii_lowercase();
        if !matches!(lower.as_str(), "0" | "1" | "d" | "s") {
            return Err(if item.is_empty() {
                "empty option".into()
            } else {
                format!("\"{item}\" is not 0, 1, d or s")
            });
        }
        if out.contains(&lower) {
            return Err(format!("\"{lower}\" given twice"));
        }
        out.push(lower);
    }
    if out.iter().any(|o| o == "0") && out.iter().any(|o| o == "1") {
        return Err("0 and 1 are mutually exclusive (RFC 7489 §6.4 still allowed both)".into());
    }
    Ok(out)
}

/// Checks one list item against `dmarc-uri` / `obs-dmarc-uri` (RFC 9989 §4.8; RFC 3986 §3):
/// `scheme ":" rest` with only URI characters, `%` followed by two hex digits, no unencoded
/// `,` or `!` other than the size suffix. Returns the URI without its size suffix and the
/// suffix, or why it is invalid.
fn check_uri(item: &str) -> Result<(&str, Option<&str>), String> {
    if item.is_empty() {
        return Err("is empty".into());
    }
    let (base, size) = match item.split_once('!') {
        Some((base, size)) => (base, Some(size)),
        None => (item, None),
    };
    if let Some(size) = size {
        // obs-dmarc-report-size = "!" 1*DIGIT [ "k" / "m" / "g" / "t" ]; RFC 7489 §6.4: "the
        // numeric portion MUST fit within an unsigned 64-bit integer".
        let digits = size.trim_end_matches(['k', 'm', 'g', 't', 'K', 'M', 'G', 'T']);
        let unit_len = size.len() - digits.len();
        if unit_len > 1
            || digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.parse::<u64>().is_err()
        {
            return Err(format!(
                "has an invalid size limit \"!{size}\" (\"!\" must be percent-encoded in a URI)"
            ));
        }
    }
    let Some((scheme, rest)) = base.split_once(':') else {
        return Err("has no scheme (e.g. \"mailto:\")".into());
    };
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err(format!("has an invalid scheme \"{scheme}\""));
    }
    let bytes = rest.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3);
            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                return Err("has a \"%\" not followed by two hex digits".into());
            }
            i += 3;
            continue;
        }
        let ok = b.is_ascii_alphanumeric() || b"-._~:/?#[]@$&'()*+=".contains(&b);
        if !ok {
            let c = rest
                .get(i..)
                .and_then(|s| s.chars().next())
                .unwrap_or(char::REPLACEMENT_CHARACTER);
            return Err(match c {
                ',' => "contains \",\" (must be percent-encoded)".into(),
                c => format!("contains {c:?}, which is not allowed in a URI"),
            });
        }
        i += 1;
    }
    if rest.is_empty() {
        return Err("has nothing after the scheme".into());
    }
    if scheme.eq_ignore_ascii_case("mailto") {
        // RFC 6068: mailto:addr-spec[?hfields]; the address may instead come as "?to=".
        let (addr, query) = rest.split_once('?').unwrap_or((rest, ""));
        let has_addr = addr
            .rsplit_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
        let has_to = addr.is_empty() && query.to_ascii_lowercase().contains("to=");
        if !has_addr && !has_to {
            return Err("names no mail address (local@domain)".into());
        }
    }
    Ok((base, size))
}

impl DmarcRecord {
    /// The diagnostics that hold under `mode`: the common ones plus that version's notes
    /// (removed or unknown tags, version-specific value errors), in record order.
    pub fn diagnostics_for(&self, mode: DmarcMode) -> Vec<Diagnostic> {
        let extra = match mode {
            DmarcMode::Rfc9989 => &self.notes_9989,
            DmarcMode::Rfc7489 => &self.notes_7489,
        };
        let mut all: Vec<Diagnostic> = self.diagnostics.iter().chain(extra).cloned().collect();
        // Stable: the "N more" entry sits at the end of the text and stays last.
        all.sort_by_key(|d| d.position);
        all
    }

    /// The policies to apply under `mode`, after the defaulting rules:
    ///
    /// RFC 9989 §4.7 p: a missing `p` means `p=none`. RFC 9989 §4.10.1 (RFC 7489 §6.6.3
    /// step 6 likewise for p and sp): "If a retrieved DMARC Policy Record does not contain a
    /// valid "p" tag, or contains an "sp" or "np" tag that is not valid, then: If a "rua" tag
    /// is present and contains at least one syntactically valid reporting URI, the Mail
    /// Receiver MUST act as if a record containing "p=none" was retrieved and continue
    /// processing; Otherwise, the Mail Receiver applies no DMARC processing to this message."
    /// Under RFC 7489, `p` is REQUIRED (§6.3), so a missing `p` is a defect too, and `np` is
    /// not a tag.
    pub fn effective_policy(&self, mode: DmarcMode) -> Result<EffectivePolicy, PolicyProblem> {
        let mut defects = Vec::new();
        if self.p_invalid {
            defects.push(PolicyDefect::InvalidP);
        } else if self.p.is_none() && mode == DmarcMode::Rfc7489 {
            defects.push(PolicyDefect::MissingP);
        }
        if self.sp_invalid {
            defects.push(PolicyDefect::InvalidSp);
        }
        if self.np_invalid && mode == DmarcMode::Rfc9989 {
            defects.push(PolicyDefect::InvalidNp);
        }
        if !defects.is_empty() {
            if self.rua.is_empty() {
                return Err(PolicyProblem { mode, defects });
            }
            return Ok(EffectivePolicy {
                p: Policy::None,
                sp: Policy::None,
                np: Policy::None,
                defects,
                as_if_p_none: true,
            });
        }
        let p = match self.p {
            Some(p) => p,
            None => {
                // RFC 9989 §4.7 p: "treated as if it included "p=none"".
                defects.push(PolicyDefect::MissingP);
                Policy::None
            }
        };
        let sp = self.sp.unwrap_or(p);
        let np = match mode {
            DmarcMode::Rfc9989 => self.np.unwrap_or(sp),
            DmarcMode::Rfc7489 => sp,
        };
        Ok(EffectivePolicy {
            p,
            sp,
            np,
            defects,
            as_if_p_none: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DmarcMode::{Rfc7489, Rfc9989};

    const SEED: &str = "v=DMARC1; p=quarantine; rua=mailto:dmarc@thespykiller.co.uk; \
                        ruf=mailto:dmarc-failures@thespykiller.co.uk; fo=1; adkim=r; aspf=r";

    fn ok(rec: &str) -> DmarcRecord {
        parse(rec).unwrap_or_else(|e| panic!("{rec:?} should parse: {e}"))
    }

    fn err(rec: &str) -> ParseErrorKind {
        match parse(rec) {
            Ok(r) => panic!("{rec:?} should fail, got {r:?}"),
            Err(e) => e.kind,
        }
    }

    /// (tag, severity) of each diagnostic under `mode`.
    fn diags(rec: &DmarcRecord, mode: DmarcMode) -> Vec<(String, Severity)> {
        rec.diagnostics_for(mode)
            .into_iter()
            .map(|d| (d.tag, d.severity))
            .collect()
    }

    fn has(rec: &DmarcRecord, mode: DmarcMode, tag: &str, sev: Severity, text: &str) -> bool {
        rec.diagnostics_for(mode)
            .iter()
            .any(|d| d.tag == tag && d.severity == sev && d.message.contains(text))
    }

    use Severity::{Error as E, Warning as W};

    #[test]
    fn seed_record() {
        let r = ok(SEED);
        assert_eq!(r.p, Some(Policy::Quarantine));
        assert_eq!(r.rua, vec!["mailto:dmarc@thespykiller.co.uk"]);
        assert_eq!(r.ruf, vec!["mailto:dmarc-failures@thespykiller.co.uk"]);
        assert_eq!(r.fo, vec!["1"]);
        assert_eq!(r.adkim, AlignmentMode::Relaxed);
        assert_eq!(r.aspf, AlignmentMode::Relaxed);
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
        assert!(r.diagnostics_for(Rfc9989).is_empty());
        assert!(r.diagnostics_for(Rfc7489).is_empty());
        for mode in [Rfc9989, Rfc7489] {
            let e = r.effective_policy(mode).unwrap();
            assert_eq!(
                (e.p, e.sp, e.np),
                (Policy::Quarantine, Policy::Quarantine, Policy::Quarantine)
            );
            assert!(e.defects.is_empty() && !e.as_if_p_none);
        }
    }

    #[test]
    fn version_rules() {
        assert!(parse("v=DMARC1").is_ok());
        assert!(parse("v=DMARC1;").is_ok());
        assert!(parse("v = DMARC1 ; p = reject").is_ok());
        assert!(parse("  v=DMARC1;p=none").is_ok());
        assert_eq!(
            err("v=dmarc1; p=none"),
            ParseErrorKind::WrongVersion("dmarc1".into())
        );
        assert_eq!(
            err("v=DMARC2"),
            ParseErrorKind::WrongVersion("DMARC2".into())
        );
        assert_eq!(
            err("v=DMARC1 p=none"),
            ParseErrorKind::WrongVersion("DMARC1 p=none".into())
        );
        assert_eq!(
            err("p=none; v=DMARC1"),
            ParseErrorKind::VersionNotFirst("p".into())
        );
        assert_eq!(err(""), ParseErrorKind::VersionNotFirst(String::new()));
        assert_eq!(
            err("; v=DMARC1"),
            ParseErrorKind::VersionNotFirst(String::new())
        );
        assert_eq!(
            err("v=spf1 -all"),
            ParseErrorKind::WrongVersion("spf1 -all".into())
        );
        assert!(matches!(err("v"), ParseErrorKind::NotTagList(_)));
        assert!(matches!(err("hello world"), ParseErrorKind::NotTagList(_)));
        // "v" is an ABNF string (case-insensitive); DMARC1 is %s (case-sensitive).
        let r = ok("V=DMARC1; p=none");
        assert!(has(&r, Rfc9989, "v", W, "not lower-case"));
        let e = parse("v=DMARC1 p=none").unwrap_err();
        assert_eq!(e.position, 2);
        assert!(e.to_string().contains("missing after DMARC1"));
    }

    #[test]
    fn is_dmarc_record_selects() {
        assert!(is_dmarc_record("v=DMARC1; p=none"));
        assert!(is_dmarc_record(" \tv =DMARC1"));
        assert!(is_dmarc_record("v=DMARC1;;;garbage"));
        assert!(!is_dmarc_record("v=DMARC10"));
        assert!(!is_dmarc_record("v=dmarc1"));
        assert!(!is_dmarc_record("v=spf1 -all"));
        assert!(!is_dmarc_record("p=none; v=DMARC1"));
        assert!(!is_dmarc_record(""));
    }

    #[test]
    fn whitespace_variants() {
        for rec in [
            "v=DMARC1;p=reject",
            "v = DMARC1 ; p = reject",
            "v=DMARC1;\tp\t=\treject\t;",
            "v=DMARC1; p=reject; ",
            "v=DMARC1 ;\r\n p=reject",
        ] {
            let r = ok(rec);
            assert_eq!(r.p, Some(Policy::Reject), "{rec:?}");
            assert!(r.diagnostics.is_empty(), "{rec:?}: {:?}", r.diagnostics);
        }
    }

    #[test]
    fn p_values() {
        assert_eq!(ok("v=DMARC1; p=none").p, Some(Policy::None));
        assert_eq!(ok("v=DMARC1; p=quarantine").p, Some(Policy::Quarantine));
        assert_eq!(ok("v=DMARC1; p=reject").p, Some(Policy::Reject));
        let r = ok("v=DMARC1; p=Reject");
        assert_eq!(r.p, Some(Policy::Reject));
        assert!(has(&r, Rfc9989, "p", W, "not lower-case"));
        let r = ok("v=DMARC1; P=reject");
        assert_eq!(r.p, Some(Policy::Reject));
        assert!(has(&r, Rfc9989, "p", W, "tag name \"P\""));
        for bad in [
            "v=DMARC1; p=quarantined",
            "v=DMARC1; p=",
            "v=DMARC1; p=re ject",
        ] {
            let r = ok(bad);
            assert_eq!(r.p, None, "{bad}");
            assert!(r.p_invalid, "{bad}");
            assert!(has(&r, Rfc9989, "p", E, "RFC 9989 §4.10.1"), "{bad}");
        }
        let r = ok("v=DMARC1; p=quarantined");
        assert!(r.diagnostics[0].message.starts_with(
            "p=quarantined is not none, quarantine or reject: the record is treated as having \
             no valid p"
        ));
    }

    #[test]
    fn missing_p_by_mode() {
        let r = ok("v=DMARC1; sp=reject");
        assert!(r.diagnostics.is_empty());
        let e = r.effective_policy(Rfc9989).unwrap();
        assert_eq!(
            (e.p, e.sp, e.np),
            (Policy::None, Policy::Reject, Policy::Reject)
        );
        assert_eq!(e.defects, vec![PolicyDefect::MissingP]);
        assert!(!e.as_if_p_none);
        assert!(has(&r, Rfc9989, "p", W, "treated as if it included p=none"));
        // RFC 7489: p REQUIRED; without rua no DMARC processing.
        let p = r.effective_policy(Rfc7489).unwrap_err();
        assert_eq!(p.defects, vec![PolicyDefect::MissingP]);
        assert!(p.to_string().contains("RFC 7489 §6.6.3"));
        assert!(has(&r, Rfc7489, "p", E, "REQUIRES"));
        // With a valid rua: as if p=none.
        let r = ok("v=DMARC1; sp=reject; rua=mailto:a@example.com");
        let e = r.effective_policy(Rfc7489).unwrap();
        assert!(e.as_if_p_none);
        assert_eq!(
            (e.p, e.sp, e.np),
            (Policy::None, Policy::None, Policy::None)
        );
    }

    #[test]
    fn invalid_p_with_and_without_rua() {
        let r = ok("v=DMARC1; p=bogus; sp=reject");
        for mode in [Rfc9989, Rfc7489] {
            let p = r.effective_policy(mode).unwrap_err();
            assert_eq!(p.defects, vec![PolicyDefect::InvalidP]);
        }
        let r = ok("v=DMARC1; p=bogus; sp=reject; rua=junk, mailto:r@example.com");
        assert_eq!(r.rua, vec!["mailto:r@example.com"]);
        for mode in [Rfc9989, Rfc7489] {
            let e = r.effective_policy(mode).unwrap();
            assert!(e.as_if_p_none);
            assert_eq!(e.sp, Policy::None);
        }
        // rua present but with no valid URI does not rescue it.
        let r = ok("v=DMARC1; p=bogus; rua=nope");
        assert!(r.rua.is_empty());
        assert!(r.effective_policy(Rfc9989).is_err());
    }

    #[test]
    fn sp_and_np_invalid() {
        let r = ok("v=DMARC1; p=reject; sp=maybe");
        assert!(r.sp_invalid && r.sp.is_none());
        assert_eq!(
            r.effective_policy(Rfc9989).unwrap_err().defects,
            vec![PolicyDefect::InvalidSp]
        );
        assert!(r.effective_policy(Rfc7489).is_err());

        let r = ok("v=DMARC1; p=reject; np=maybe; rua=mailto:a@b.example");
        assert!(r.np_invalid);
        assert!(r.diagnostics.is_empty());
        assert!(has(&r, Rfc9989, "np", E, "invalid np"));
        assert!(has(&r, Rfc7489, "np", W, "not an RFC 7489 tag"));
        let e = r.effective_policy(Rfc9989).unwrap();
        assert!(e.as_if_p_none);
        assert_eq!(e.defects, vec![PolicyDefect::InvalidNp]);
        // RFC 7489 does not know np: the record applies as written.
        let e = r.effective_policy(Rfc7489).unwrap();
        assert_eq!(
            (e.p, e.sp, e.np),
            (Policy::Reject, Policy::Reject, Policy::Reject)
        );
        assert!(!e.as_if_p_none);
    }

    #[test]
    fn np_sp_fallbacks() {
        let r = ok("v=DMARC1; p=reject; sp=quarantine");
        let e = r.effective_policy(Rfc9989).unwrap();
        assert_eq!((e.sp, e.np), (Policy::Quarantine, Policy::Quarantine));
        let r = ok("v=DMARC1; p=none; np=reject");
        let e = r.effective_policy(Rfc9989).unwrap();
        assert_eq!(
            (e.p, e.sp, e.np),
            (Policy::None, Policy::None, Policy::Reject)
        );
        let e = r.effective_policy(Rfc7489).unwrap();
        assert_eq!(e.np, Policy::None);
    }

    #[test]
    fn psd_and_t() {
        assert_eq!(ok("v=DMARC1").psd, Psd::U);
        assert_eq!(ok("v=DMARC1; psd=y").psd, Psd::Y);
        assert_eq!(ok("v=DMARC1; psd=n").psd, Psd::N);
        assert_eq!(ok("v=DMARC1; psd=u").psd, Psd::U);
        let r = ok("v=DMARC1; p=none; psd=x");
        assert_eq!(r.psd, Psd::U);
        assert!(has(&r, Rfc9989, "psd", E, "default u"));
        assert!(has(&r, Rfc7489, "psd", W, "not an RFC 7489 tag"));
        assert!(!ok("v=DMARC1").t);
        assert!(ok("v=DMARC1; t=y").t);
        assert!(!ok("v=DMARC1; t=n").t);
        let r = ok("v=DMARC1; p=none; t=yes");
        assert!(!r.t);
        assert!(has(&r, Rfc9989, "t", E, "not y or n"));
        assert!(has(&r, Rfc7489, "t", W, "not an RFC 7489 tag"));
    }

    #[test]
    fn alignment_modes() {
        let r = ok("v=DMARC1; p=none; adkim=s; aspf=s");
        assert_eq!(
            (r.adkim, r.aspf),
            (AlignmentMode::Strict, AlignmentMode::Strict)
        );
        let r = ok("v=DMARC1; p=none; adkim=x; aspf=");
        assert_eq!(
            (r.adkim, r.aspf),
            (AlignmentMode::Relaxed, AlignmentMode::Relaxed)
        );
        assert_eq!(
            diags(&r, Rfc9989),
            vec![("adkim".into(), E), ("aspf".into(), E)]
        );
    }

    #[test]
    fn fo_combinations() {
        let fo = |v: &str| ok(&format!("v=DMARC1; p=none; ruf=mailto:f@x.example; fo={v}"));
        for (v, want) in [
            ("0", vec!["0"]),
            ("1", vec!["1"]),
            ("d", vec!["d"]),
            ("s", vec!["s"]),
            ("0:d", vec!["0", "d"]),
            ("1:s:d", vec!["1", "s", "d"]),
            ("d:s", vec!["d", "s"]),
            ("d:1:s", vec!["d", "1", "s"]),
            ("s:d:0", vec!["s", "d", "0"]),
            ("D", vec!["d"]),
        ] {
            let r = fo(v);
            assert_eq!(r.fo, want, "fo={v}");
            assert!(r.diagnostics.iter().all(|d| d.severity == W), "fo={v}");
        }
        for v in [
            "0:1", "1:0:d", "d:d", "0:0", "x", "", "0:", ":d", "0 : d", "2",
        ] {
            let r = fo(v);
            assert!(r.fo.is_empty(), "fo={v}");
            assert!(has(&r, Rfc9989, "fo", E, "default 0"), "fo={v}");
        }
        let r = ok("v=DMARC1; p=none; fo=1");
        assert_eq!(r.fo, vec!["1"]);
        assert!(has(&r, Rfc9989, "fo", W, "without ruf"));
    }

    #[test]
    fn pct_bounds_and_modes() {
        for (v, want) in [
            ("0", Some(0)),
            ("100", Some(100)),
            ("50", Some(50)),
            ("050", Some(50)),
        ] {
            let r = ok(&format!("v=DMARC1; p=reject; pct={v}"));
            assert_eq!(r.pct, want, "pct={v}");
            assert!(r.diagnostics.is_empty());
            assert!(r.diagnostics_for(Rfc7489).is_empty(), "pct={v}");
            assert!(has(&r, Rfc9989, "pct", W, "removed in RFC 9989"));
        }
        for v in ["101", "-1", "1000", "", "abc", "5.0", "0100", "256"] {
            let r = ok(&format!("v=DMARC1; p=reject; pct={v}"));
            assert_eq!(r.pct, None, "pct={v}");
            assert!(has(&r, Rfc7489, "pct", E, "default 100"), "pct={v}");
            assert!(!has(&r, Rfc9989, "pct", E, ""), "pct={v}");
        }
    }

    #[test]
    fn rf_and_ri() {
        let r = ok("v=DMARC1; p=none; rf=afrf; ri=3600");
        assert_eq!(r.rf.as_deref(), Some("afrf"));
        assert_eq!(r.ri, Some(3600));
        assert!(r.diagnostics_for(Rfc7489).is_empty());
        assert_eq!(diags(&r, Rfc9989), vec![("rf".into(), W), ("ri".into(), W)]);
        let r = ok("v=DMARC1; p=none; rf=iodef; ri=4294967296");
        assert_eq!(r.rf.as_deref(), Some("iodef"));
        assert_eq!(r.ri, None);
        assert!(has(&r, Rfc7489, "rf", W, "not a registered format"));
        assert!(has(&r, Rfc7489, "ri", E, "86400"));
        let r = ok("v=DMARC1; p=none; rf=a f; ri=-1");
        assert_eq!((r.rf, r.ri), (None, None));
        assert_eq!(ok("v=DMARC1; ri=4294967295").ri, Some(u32::MAX));
    }

    #[test]
    fn uri_lists() {
        let r = ok(
            "v=DMARC1; p=none; rua=mailto:a@x.example!10m, mailto:b@x.example ,\
                    https://r.example/x?a=b",
        );
        assert_eq!(
            r.rua,
            vec![
                "mailto:a@x.example",
                "mailto:b@x.example",
                "https://r.example/x?a=b"
            ]
        );
        assert!(has(&r, Rfc9989, "rua", W, "obsolete"));
        assert!(!has(&r, Rfc7489, "rua", W, "obsolete"));
        assert!(has(&r, Rfc7489, "rua", W, "scheme https"));
        for (v, why) in [
            ("mailto:a@x.example!10x", "size limit"),
            ("mailto:a@x.example!", "size limit"),
            ("mailto:a@x.example!99999999999999999999", "size limit"),
            ("a@x.example", "no scheme"),
            ("mailto:", "nothing after"),
            ("mailto:dmarc", "no mail address"),
            ("mailto:a b@x.example", "not allowed"),
            ("mailto:a@x.example%2", "hex"),
            ("1x:foo", "invalid scheme"),
            ("", "empty"),
        ] {
            let r = ok(&format!("v=DMARC1; p=none; rua={v}"));
            assert!(r.rua.is_empty(), "{v}");
            assert!(has(&r, Rfc9989, "rua", E, why), "{v}: {:?}", r.diagnostics);
            assert!(has(&r, Rfc9989, "rua", E, "no valid URI"), "{v}");
        }
        let r = ok("v=DMARC1; p=none; rua=mailto:a@x.example!10M,mailto:b%2Cc@x.example,");
        assert_eq!(r.rua, vec!["mailto:a@x.example", "mailto:b%2Cc@x.example"]);
        assert!(has(&r, Rfc9989, "rua", E, "empty"));
        // Non-ASCII breaks the tag-list syntax itself: the whole tag-spec is dropped.
        let r = ok("v=DMARC1; p=none; rua=mailto:é@x.example");
        assert!(r.rua.is_empty());
        assert!(has(&r, Rfc9989, "", E, "invalid character 'é'"));
        let r = ok("v=DMARC1; p=none; ruf=mailto:?to=f@x.example");
        assert_eq!(r.ruf, vec!["mailto:?to=f@x.example"]);
        // Position of a bad URI points into the value.
        let rec = "v=DMARC1; rua=mailto:a@x.example, bad";
        let r = ok(rec);
        let d = r
            .diagnostics
            .iter()
            .find(|d| d.message.contains("\"bad\""))
            .unwrap();
        assert_eq!(&rec[d.position.unwrap_or_default()..], "bad");
        assert_eq!((d.code, d.rfc), (code::INVALID_URI, "RFC 9989 §4.8"));
    }

    #[test]
    fn duplicates_first_wins() {
        let r = ok("v=DMARC1; p=reject; p=none; sp=none; SP=none");
        assert_eq!(r.p, Some(Policy::Reject));
        assert_eq!(r.sp, Some(Policy::None));
        assert!(has(&r, Rfc9989, "p", E, "the first value (reject) applies"));
        assert!(has(&r, Rfc9989, "sp", W, "same value"));
        let r = ok("v=DMARC1; p=none; v=DMARC1");
        assert!(has(&r, Rfc9989, "v", W, "same value"));
        // A repeated invalid p after a valid one does not invalidate it.
        let r = ok("v=DMARC1; p=none; p=bogus");
        assert!(!r.p_invalid);
    }

    #[test]
    fn unknown_tags_and_junk() {
        let r = ok("v=DMARC1; p=none; foo=bar; x_1=2; junk; ;p2=3;");
        let names: Vec<_> = r.unknown_tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["foo", "x_1", "p2"]);
        assert_eq!(
            diags(&r, Rfc9989),
            vec![
                ("foo".into(), W),
                ("x_1".into(), W),
                (String::new(), E),
                (String::new(), E),
                ("p2".into(), W),
            ]
        );
        assert_eq!(r.p, Some(Policy::None));
    }

    #[test]
    fn p_order_rfc7489() {
        let r = ok("v=DMARC1; rua=mailto:a@x.example; p=reject");
        assert!(has(&r, Rfc7489, "p", W, "second tag"));
        assert!(!has(&r, Rfc9989, "p", W, "second tag"));
        assert_eq!(r.effective_policy(Rfc7489).unwrap().p, Policy::Reject);
    }

    #[test]
    fn diagnostic_display() {
        let r = ok("v=DMARC1; p=none; adkim=x");
        assert_eq!(
            r.diagnostics[0].to_string(),
            "error dmarc-invalid-tag [adkim] (at column 19): adkim=x is not r or s: ignored, the default r \
             (relaxed) applies (RFC 9989 §4.7, §4.8; RFC 7489 §6.3)"
        );
    }

    #[test]
    fn hostile_inputs_are_bounded() {
        // 100 KB, thousands of tags: returns, diagnostics capped.
        let big = format!("v=DMARC1; p=none; {}", "zz=1; ".repeat(17_000));
        assert!(big.len() > 100_000);
        let r = ok(&big);
        assert_eq!(r.diagnostics.len(), MAX_DIAGNOSTICS + 1);
        assert!(
            r.diagnostics
                .last()
                .unwrap()
                .message
                .contains("more diagnostics")
        );
        assert_eq!(
            r.diagnostics_for(Rfc9989).last().unwrap().message,
            r.diagnostics.last().unwrap().message
        );
        let dups = format!("v=DMARC1; {}", "p=none; ".repeat(20_000));
        assert_eq!(ok(&dups).diagnostics.len(), MAX_DIAGNOSTICS + 1);
        let uris = format!("v=DMARC1; rua={}", "mailto:a@b.example!1m,x,".repeat(5_000));
        let r = ok(&uris);
        assert_eq!(r.rua.len(), 5_000);
        assert!(r.diagnostics.len() <= MAX_DIAGNOSTICS + 1);
        assert!(r.diagnostics_for(Rfc9989).len() <= MAX_DIAGNOSTICS + 3);
        let junk = format!("v=DMARC1;{}", "é\u{0};\r;".repeat(10_000));
        assert!(ok(&junk).diagnostics.len() <= MAX_DIAGNOSTICS + 1);
        // Prefixes of valid records, at every char boundary.
        for end in 0..=SEED.len() {
            if let Some(prefix) = SEED.get(..end) {
                let _ = parse(prefix);
                let _ = is_dmarc_record(prefix);
            }
        }
        // Pseudo-random strings over a nasty alphabet (deterministic LCG).
        let alphabet: Vec<char> = "v=DMARC1;pPsr !,:%\r\n\t é\u{0}mailto@x.0dk"
            .chars()
            .collect();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..3_000 {
            let mut s = String::from("v=DMARC1;");
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 58) as usize;
            for _ in 0..len {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                s.push(alphabet[(seed >> 33) as usize % alphabet.len()]);
            }
            if let Ok(r) = parse(&s) {
                for mode in [Rfc9989, Rfc7489] {
                    let _ = r.diagnostics_for(mode);
                    let _ = r.effective_policy(mode);
                }
            }
            let _ = parse(&s[9..]);
        }
    }
}
