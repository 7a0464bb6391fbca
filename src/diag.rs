//! One typed remark shared by every checker: SPF problems (parse errors, the reason for a
//! permerror, temperror or none), DMARC record diagnostics, and next DKIM key audits and lint
//! rules. A [`Diagnostic`] carries a stable machine code, a [`Severity`], where in the record it
//! applies, the RFC section behind it and a sentence for people, so a consumer (a renderer, a
//! lint gate, a batch summary) decides by `code` and `severity` and never parses `message`.
//!
//! This module sits at the bottom layer with `dns` and `record`: it knows nothing about
//! evaluation or output.

use std::fmt;

use serde::Serialize;

/// How much a remark matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, changes nothing.
    Info,
    /// Accepted, but doubtful or ignored by design (unknown tag, obsolete syntax, odd case).
    Warning,
    /// Wrong: the part is discarded in favour of the default, or the whole check fails.
    Error,
}

impl Severity {
    /// The word used in JSON and text: `info`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One remark on a record or on a check.
///
/// `code` is stable kebab-case (`spf-syntax`, `dmarc-invalid-tag`, ...; the list is in
/// README.md) and is what programs match on; `message` may be reworded at any time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable machine-readable code, kebab-case, prefixed by the checker (`spf-`, `dmarc-`).
    pub code: &'static str,
    /// The tag (DMARC, DKIM: lower-case name) or term (SPF: as written) the remark is about;
    /// empty for remarks on the record or the check as a whole.
    pub tag: String,
    /// Byte offset in the record text where the problem is, when it is in a record.
    pub position: Option<usize>,
    pub severity: Severity,
    /// The section that states the rule, e.g. "RFC 9989 §4.7"; empty when no RFC does.
    pub rfc: &'static str,
    /// What is wrong and what a receiver does about it, in one sentence.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic on the record or check as a whole (no tag, no position).
    pub fn new(
        code: &'static str,
        severity: Severity,
        rfc: &'static str,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            code,
            tag: String::new(),
            position: None,
            severity,
            rfc,
            message: message.into(),
        }
    }

    /// An error diagnostic on the check as a whole.
    pub fn error(code: &'static str, rfc: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, Severity::Error, rfc, message)
    }

    /// The same diagnostic about `tag`.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Diagnostic {
        self.tag = tag.into();
        self
    }

    /// The same diagnostic at byte offset `position` of the record.
    pub fn at(mut self, position: usize) -> Diagnostic {
        self.position = Some(position);
        self
    }

    /// The same diagnostic with `prefix: ` before its message (a path of terms, for a problem
    /// found inside an include or redirect), and its position moved to `position` in the
    /// record that holds the term.
    pub fn within(mut self, prefix: &str, position: Option<usize>) -> Diagnostic {
        self.message = format!("{prefix}: {}", self.message);
        self.position = position;
        self
    }
}

impl fmt::Display for Diagnostic {
    /// `error spf-syntax [ip4:x] (at column 10): message (RFC 7208 §4.6)`; the RFC is omitted
    /// when the message already cites it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.severity, self.code)?;
        if !self.tag.is_empty() {
            write!(f, " [{}]", self.tag)?;
        }
        if let Some(p) = self.position {
            write!(f, " (at column {})", p.saturating_add(1))?;
        }
        write!(f, ": {}", self.message)?;
        if !self.rfc.is_empty() && !self.message.contains(self.rfc) {
            write!(f, " ({})", self.rfc)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_code_tag_column_and_rfc() {
        let d = Diagnostic::new(
            "dmarc-invalid-tag",
            Severity::Error,
            "RFC 9989 §4.7",
            "p=maybe is not none, quarantine or reject",
        )
        .with_tag("p")
        .at(9);
        assert_eq!(
            d.to_string(),
            "error dmarc-invalid-tag [p] (at column 10): p=maybe is not none, quarantine or \
             reject (RFC 9989 §4.7)"
        );
    }

    #[test]
    fn display_does_not_repeat_a_cited_rfc_and_omits_what_is_absent() {
        let d = Diagnostic::error(
            "spf-multiple-records",
            "RFC 7208 §4.5",
            "2 SPF records at a.example (RFC 7208 §4.5 allows one)",
        );
        assert_eq!(
            d.to_string(),
            "error spf-multiple-records: 2 SPF records at a.example (RFC 7208 §4.5 allows one)"
        );
        let w = Diagnostic::new("x-note", Severity::Info, "", "fine");
        assert_eq!(w.to_string(), "info x-note: fine");
    }

    #[test]
    fn within_prefixes_a_path_and_moves_the_position() {
        let d = Diagnostic::error("spf-dns-lookup-limit", "RFC 7208 §4.6.4", "too many")
            .at(3)
            .within("include:b.example", Some(17))
            .within("include:a.example", Some(9));
        assert_eq!(d.message, "include:a.example: include:b.example: too many");
        assert_eq!(d.position, Some(9));
        assert_eq!(d.code, "spf-dns-lookup-limit");
    }

    #[test]
    fn json_fields_and_words() {
        let d = Diagnostic::new("dmarc-unknown-tag", Severity::Warning, "RFC 9989 §4.7", "m")
            .with_tag("zz")
            .at(0);
        let v = serde_json::to_value(&d).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"code": "dmarc-unknown-tag", "tag": "zz", "position": 0,
                "severity": "warning", "rfc": "RFC 9989 §4.7", "message": "m"})
        );
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Error);
    }
}
