//! The SPF record grammar of RFC 7208 §4.5, §4.6, §5, §6 and §7.1, parsed into typed terms that
//! keep their text and position, so the evaluator can name the deciding term "as written" and
//! errors can point at a column.
//!
//! ```text
//! record           = version terms *SP
//! version          = "v=spf1"
//! terms            = *( 1*SP ( directive / modifier ) )
//! directive        = [ qualifier ] mechanism
//! mechanism        = ( all / include / a / mx / ptr / ip4 / ip6 / exists )
//! modifier         = redirect / explanation / unknown-modifier
//! domain-spec      = macro-string domain-end
//! ```

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;

/// A parsed SPF record: its terms in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfRecord {
    pub terms: Vec<Term>,
}

/// One term as written: its text, its byte offset in the record, and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The term exactly as written in the record (original case).
    pub text: String,
    /// Byte offset of the term's first character in the record text.
    pub position: usize,
    pub kind: TermKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermKind {
    Directive {
        qualifier: Qualifier,
        mechanism: Mechanism,
    },
    /// `redirect=domain-spec` (RFC 7208 §6.1).
    Redirect(MacroString),
    /// `exp=domain-spec` (RFC 7208 §6.2).
    Exp(MacroString),
    /// Any other `name=macro-string`; ignored by evaluation (RFC 7208 §6), but its value must
    /// still be syntactically valid.
    Unknown { name: String, value: MacroString },
}

/// Qualifiers (RFC 7208 §4.6.2); `+` when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

impl Qualifier {
    pub fn symbol(self) -> char {
        match self {
            Qualifier::Pass => '+',
            Qualifier::Fail => '-',
            Qualifier::SoftFail => '~',
            Qualifier::Neutral => '?',
        }
    }
}

/// Dual CIDR lengths (`/24//64`); `None` means the full length (32 or 128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DualCidr {
    pub v4: Option<u8>,
    pub v6: Option<u8>,
}

/// The mechanisms of RFC 7208 §5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    All,
    Include(MacroString),
    A {
        domain: Option<MacroString>,
        cidr: DualCidr,
    },
    Mx {
        domain: Option<MacroString>,
        cidr: DualCidr,
    },
    Ptr(Option<MacroString>),
    /// Address as written (host bits may be set) and prefix length (32 when absent).
    Ip4 {
        addr: Ipv4Addr,
        prefix: u8,
    },
    Ip6 {
        addr: Ipv6Addr,
        prefix: u8,
    },
    Exists(MacroString),
}

impl Mechanism {
    /// The mechanism's name in lower case.
    pub fn name(&self) -> &'static str {
        match self {
            Mechanism::All => "all",
            Mechanism::Include(_) => "include",
            Mechanism::A { .. } => "a",
            Mechanism::Mx { .. } => "mx",
            Mechanism::Ptr(_) => "ptr",
            Mechanism::Ip4 { .. } => "ip4",
            Mechanism::Ip6 { .. } => "ip6",
            Mechanism::Exists(_) => "exists",
        }
    }

    /// True for the mechanisms that count against the 10-term DNS limit (RFC 7208 §4.6.4:
    /// include, a, mx, ptr, exists; the redirect modifier counts too).
    pub fn counts_dns(&self) -> bool {
        matches!(
            self,
            Mechanism::Include(_)
                | Mechanism::A { .. }
                | Mechanism::Mx { .. }
                | Mechanism::Ptr(_)
                | Mechanism::Exists(_)
        )
    }
}

/// A macro-string (RFC 7208 §7.1): literals and macro expansions in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MacroString {
    pub parts: Vec<MacroPart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MacroPart {
    /// Literal text; the escapes `%%`, `%_`, `%-` are stored already decoded
    /// ("%", " ", "%20").
    Literal(String),
    Macro(MacroExpand),
}

/// `%{` letter transformers delimiters `}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroExpand {
    pub letter: MacroLetter,
    /// The letter was written in upper case: URL-escape the result (RFC 7208 §7.3).
    pub url_escape: bool,
    /// Keep only this many right-hand parts (`%{d2}`); `None` keeps all.
    pub digits: Option<u32>,
    /// The `r` transformer: reverse the parts.
    pub reverse: bool,
    /// Delimiters given (any of `.-+,/_=`); empty means the default ".".
    pub delimiters: String,
}

/// Macro letters (RFC 7208 §7.2). `C`, `R` and `T` are valid only in explanation strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacroLetter {
    S,
    L,
    O,
    D,
    I,
    P,
    V,
    H,
    C,
    R,
    T,
}

impl MacroString {
    /// True if any expansion uses `%{p}` (which needs DNS before expansion).
    pub fn uses_p(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, MacroPart::Macro(m) if m.letter == MacroLetter::P))
    }

    /// True if the string contains any macro expansion.
    pub fn has_macros(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, MacroPart::Macro(_)))
    }
}

/// Where a macro-string appears: explanation strings (the TXT record fetched for `exp=`) may
/// use `c`, `r`, `t`, and need no domain-end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacroContext {
    /// A domain-spec: must end in a valid domain-end (RFC 7208 §7.1).
    DomainSpec,
    /// The value of an unknown modifier: any macro-string.
    ModifierValue,
    /// An explanation string (RFC 7208 §6.2).
    Explanation,
}

/// A parse failure: byte offset into the input and what was wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub position: usize,
    pub kind: ParseErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The text does not start with `v=spf1` followed by a space or its end (RFC 7208 §4.5).
    NotSpf,
    /// A term that is neither a known mechanism nor `name=value` (RFC 7208 §4.6.1).
    UnknownMechanism(String),
    /// A mechanism that requires `:domain-spec` (include, exists) has none.
    MissingDomain(&'static str),
    /// A domain-spec that does not end in a valid domain-end (RFC 7208 §7.1).
    InvalidDomainEnd(String),
    /// A malformed macro (`%` not followed by `{`, `%`, `_`, `-`; unknown letter; bad
    /// transformer or delimiter; letter not allowed here).
    InvalidMacro(String),
    /// A CIDR length that is malformed or out of range (RFC 7208 §5.6).
    InvalidCidr(String),
    /// A malformed `ip4:` network.
    InvalidIp4(String),
    /// A malformed `ip6:` network.
    InvalidIp6(String),
    /// A modifier name that breaks `ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )`.
    InvalidModifierName(String),
    /// `redirect=` or `exp=` given more than once (RFC 7208 §6).
    DuplicateModifier(&'static str),
    /// A character that may not appear in a record (outside the printable ASCII range).
    InvalidCharacter(char),
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::NotSpf => f.write_str("not an SPF record (must start with \"v=spf1\")"),
            ParseErrorKind::UnknownMechanism(t) => write!(f, "unknown mechanism \"{t}\""),
            ParseErrorKind::MissingDomain(m) => write!(f, "\"{m}\" requires \":domain\""),
            ParseErrorKind::InvalidDomainEnd(d) => {
                write!(f, "\"{d}\" is not a valid domain (bad top label)")
            }
            ParseErrorKind::InvalidMacro(m) => write!(f, "invalid macro \"{m}\""),
            ParseErrorKind::InvalidCidr(c) => write!(f, "invalid CIDR length \"{c}\""),
            ParseErrorKind::InvalidIp4(a) => write!(f, "invalid ip4 network \"{a}\""),
            ParseErrorKind::InvalidIp6(a) => write!(f, "invalid ip6 network \"{a}\""),
            ParseErrorKind::InvalidModifierName(n) => write!(f, "invalid modifier name \"{n}\""),
            ParseErrorKind::DuplicateModifier(m) => write!(f, "\"{m}=\" appears more than once"),
            ParseErrorKind::InvalidCharacter(c) => write!(f, "invalid character {c:?}"),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at column {})", self.kind, self.position + 1)
    }
}

impl std::error::Error for ParseError {}

/// True if `txt` is an SPF version 1 record: it begins with "v=spf1" (case-insensitive)
/// followed by a space or the end of the text (RFC 7208 §4.5).
pub fn is_spf_record(txt: &str) -> bool {
    let b = txt.as_bytes();
    b.len() >= 6 && b[..6].eq_ignore_ascii_case(b"v=spf1") && (b.len() == 6 || b[6] == b' ')
}

/// Parses a whole SPF record.
pub fn parse(record: &str) -> Result<SpfRecord, ParseError> {
    let _ = record;
    Err(ParseError {
        position: 0,
        kind: ParseErrorKind::NotSpf,
    })
}

/// Parses a macro-string in the given context.
pub fn parse_macro_string(text: &str, context: MacroContext) -> Result<MacroString, ParseError> {
    let _ = (text, context);
    Err(ParseError {
        position: 0,
        kind: ParseErrorKind::NotSpf,
    })
}
