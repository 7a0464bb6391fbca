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
//!
//! The `Display` impls render the canonical form (lower-case names, `+` left out, terms in the
//! original order), and parsing that rendering gives back the same terms.
//!
//! Points the RFC leaves open, decided here (each is also noted at the code):
//! - `%{d0}` is a syntax error (§7.3: the digit "MUST be nonzero").
//! - A known modifier name never falls back to unknown-modifier, so `redirect=-all` is an error
//!   (rfc7208 suite, redirect-syntax-error), and so is an explicit empty `exp=` (erratum,
//!   suite exp-empty-domain).
//! - CIDR lengths with leading zeros (`/032`) are errors, as the ABNF says (§5.6).
//! - The CIDR of `a`/`mx` is only a trailing `/N`, `//N` or `/N//M`, so a domain-spec may
//!   contain "/" and ":" (`a:foo:bar/baz.example.com`, suite a-colon-domain).
//! - `%%`, `%_` and `%-` count as a macro-expand for domain-end, as the ABNF says (§7.1).

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

    /// True if the string expands the sender's local-part: `%{s}` or `%{l}` (RFC 8616 §4).
    pub fn uses_local_part(&self) -> bool {
        self.parts.iter().any(|p| {
            matches!(p, MacroPart::Macro(m) if matches!(m.letter, MacroLetter::S | MacroLetter::L))
        })
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
pub type ParseError = super::ParseError<ParseErrorKind>;

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
    /// transformer or delimiter; zero digit transformer).
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
    /// `name:` or `name=` with nothing after it, for a mechanism or modifier whose argument is
    /// a domain-spec (RFC 7208 §7.1: a domain-spec is never empty).
    EmptyDomain(&'static str),
    /// An argument on a mechanism that takes none (`all:x`, `all/8`; RFC 7208 §5.1).
    UnexpectedArgument(&'static str),
    /// A CIDR length on a mechanism that takes none (`ptr/24`, `include:x.com/24`;
    /// RFC 7208 §5.2, §5.5, §5.7).
    UnexpectedCidr(&'static str),
    /// A qualifier in front of a modifier (`-redirect=x.com`; RFC 7208 §4.6.1: qualifiers
    /// belong to directives only).
    QualifierOnModifier(String),
    /// A `c`, `r` or `t` macro outside an explanation string (RFC 7208 §7.2).
    ExplanationOnlyMacro(String),
    /// `ip4` or `ip6` without `:network` (RFC 7208 §5.6).
    MissingNetwork(&'static str),
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::NotSpf => f.write_str("not an SPF record (must start with \"v=spf1\")"),
            ParseErrorKind::UnknownMechanism(t) => write!(f, "unknown mechanism \"{t}\""),
            ParseErrorKind::MissingDomain(m) => write!(f, "\"{m}\" requires \":domain\""),
            ParseErrorKind::InvalidDomainEnd(d) => {
                write!(f, "\"{d}\" is not a valid domain (bad top label)")?;
                if d.parse::<std::net::IpAddr>().is_ok() {
                    f.write_str("; an IP address needs ip4: or ip6:")?;
                }
                Ok(())
            }
            ParseErrorKind::InvalidMacro(m) => write!(f, "invalid macro \"{m}\""),
            ParseErrorKind::InvalidCidr(c) => write!(f, "invalid CIDR length \"{c}\""),
            ParseErrorKind::InvalidIp4(a) => write!(f, "invalid ip4 network \"{a}\""),
            ParseErrorKind::InvalidIp6(a) => write!(f, "invalid ip6 network \"{a}\""),
            ParseErrorKind::InvalidModifierName(n) => write!(f, "invalid modifier name \"{n}\""),
            ParseErrorKind::DuplicateModifier(m) => write!(f, "\"{m}=\" appears more than once"),
            ParseErrorKind::InvalidCharacter(c) => write!(f, "invalid character {c:?}"),
            ParseErrorKind::EmptyDomain(m) => write!(f, "empty domain after \"{m}\""),
            ParseErrorKind::UnexpectedArgument(m) => write!(f, "\"{m}\" takes no argument"),
            ParseErrorKind::UnexpectedCidr(m) => write!(f, "\"{m}\" takes no CIDR length"),
            ParseErrorKind::QualifierOnModifier(t) => {
                write!(f, "modifier \"{t}\" cannot have a qualifier")
            }
            ParseErrorKind::ExplanationOnlyMacro(m) => {
                write!(f, "macro \"{m}\" is allowed only in explanation strings")
            }
            ParseErrorKind::MissingNetwork(m) => write!(f, "\"{m}\" requires \":network\""),
        }
    }
}

impl ParseError {
    /// The same error, moved `by` bytes to the right (for a sub-parser's error).
    fn shifted(mut self, by: usize) -> Self {
        self.position += by;
        self
    }
}

/// True if `txt` is an SPF version 1 record: it begins with "v=spf1" (case-insensitive)
/// followed by a space or the end of the text (RFC 7208 §4.5).
pub fn is_spf_record(txt: &str) -> bool {
    let b = txt.as_bytes();
    b.get(..6)
        .is_some_and(|v| v.eq_ignore_ascii_case(b"v=spf1"))
        && matches!(b.get(6), None | Some(b' '))
}

// ---------------------------------------------------------------------------------------------
// Record and terms
// ---------------------------------------------------------------------------------------------

/// Parses a whole SPF record (RFC 7208 §4.5, §4.6.1: `record = version terms *SP`).
///
/// Every term is checked, so a syntax error anywhere is found (RFC 7208 §4.6: "syntax errors
/// anywhere in the record" make it a permerror). Errors come out in left-to-right order.
pub fn parse(record: &str) -> Result<SpfRecord, ParseError> {
    // §4.5: "v=spf1", case-insensitive (ABNF strings are, RFC 5234 §2.3), then SP or the end.
    if !is_spf_record(record) {
        return Err(ParseError::new(0, ParseErrorKind::NotSpf));
    }
    let bytes = record.as_bytes();
    let mut terms: Vec<Term> = Vec::new();
    let mut seen_redirect = false;
    let mut seen_exp = false;
    let mut i = 6;
    // §4.6.1: terms = *( 1*SP ( directive / modifier ) ); only SP separates terms, any other
    // whitespace stays inside a term and is rejected there. Trailing SPs are allowed (§4.5).
    while i < bytes.len() {
        if bytes.get(i) == Some(&b' ') {
            i += 1;
            continue;
        }
        let start = i;
        while bytes.get(i).is_some_and(|&b| b != b' ') {
            i += 1;
        }
        // `start` follows a space (or "v=spf1") and `i` is at a space or the end, and a space
        // byte never occurs inside a multi-byte UTF-8 sequence, so both are char boundaries;
        // `get` returns None otherwise, which we treat as an empty (skipped) term.
        let text = record.get(start..i).unwrap_or_default();
        if text.is_empty() {
            continue;
        }
        let kind = parse_term(text, start)?;
        // §6: redirect and exp MUST NOT appear more than once each.
        match kind {
            TermKind::Redirect(_) if seen_redirect => {
                return Err(ParseError::new(
                    start,
                    ParseErrorKind::DuplicateModifier("redirect"),
                ));
            }
            TermKind::Exp(_) if seen_exp => {
                return Err(ParseError::new(
                    start,
                    ParseErrorKind::DuplicateModifier("exp"),
                ));
            }
            TermKind::Redirect(_) => seen_redirect = true,
            TermKind::Exp(_) => seen_exp = true,
            _ => {}
        }
        terms.push(Term {
            text: text.to_string(),
            position: start,
            kind,
        });
    }
    Ok(SpfRecord { terms })
}

/// Parses one term (no spaces in it); `base` is its byte offset in the record.
fn parse_term(text: &str, base: usize) -> Result<TermKind, ParseError> {
    // §3.1 / §4.6.1: a record is 7-bit printable ASCII; terms hold only visible characters
    // (every term grammar is built from macro-literal %x21-7E and friends). After this check
    // the term is pure ASCII, so every byte offset below is a char boundary.
    if let Some((i, c)) = text.char_indices().find(|&(_, c)| !c.is_ascii_graphic()) {
        return Err(ParseError::new(
            base + i,
            ParseErrorKind::InvalidCharacter(c),
        ));
    }
    // §4.6.1: a modifier has "=" immediately after the name and before any ":" or "/".
    match text.find(['=', ':', '/']) {
        Some(p) if text.as_bytes().get(p) == Some(&b'=') => parse_modifier(text, base),
        _ => parse_directive(text, base),
    }
}

/// `name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )` (RFC 7208 §4.6.1).
fn is_modifier_name(name: &str) -> bool {
    let mut b = name.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// `modifier = redirect / explanation / unknown-modifier` (RFC 7208 §4.6.1, §6).
fn parse_modifier(text: &str, base: usize) -> Result<TermKind, ParseError> {
    let Some((name, value)) = text.split_once('=') else {
        // The caller only sends terms with a "=" in them.
        return Err(ParseError::new(
            base,
            ParseErrorKind::InvalidModifierName(text.into()),
        ));
    };
    let value_at = base + name.len() + 1;
    if !is_modifier_name(name) {
        // §4.6.1: qualifiers belong to directives; `-redirect=x` is neither term.
        let kind = match name.strip_prefix(['+', '-', '~', '?']) {
            Some(rest) if is_modifier_name(rest) => {
                ParseErrorKind::QualifierOnModifier(name.into())
            }
            _ => ParseErrorKind::InvalidModifierName(name.into()),
        };
        return Err(ParseError::new(base, kind));
    }
    // §4.6.1: modifier names are case-insensitive. Known names never fall back to
    // unknown-modifier, so `redirect=-all` is an error rather than an ignored modifier
    // (the rfc7208 suite's redirect-syntax-error / exp-syntax-error).
    if name.eq_ignore_ascii_case("redirect") {
        // §6.1: redirect = "redirect" "=" domain-spec
        domain_spec_arg("redirect", value, value_at).map(TermKind::Redirect)
    } else if name.eq_ignore_ascii_case("exp") {
        // §6.2: explanation = "exp" "=" domain-spec; an explicit empty `exp=` is a permerror
        // (erratum adopted by the rfc7208 suite, exp-empty-domain).
        domain_spec_arg("exp", value, value_at).map(TermKind::Exp)
    } else {
        // §6 / §4.6.1: unknown-modifier = name "=" macro-string; ignored, but must be valid.
        let value = parse_macro_string(value, MacroContext::ModifierValue)
            .map_err(|e| e.shifted(value_at))?;
        Ok(TermKind::Unknown {
            name: name.to_string(),
            value,
        })
    }
}

/// Parses the domain-spec argument of `what`, which must not be empty (RFC 7208 §7.1).
fn domain_spec_arg(what: &'static str, spec: &str, at: usize) -> Result<MacroString, ParseError> {
    if spec.is_empty() {
        return Err(ParseError::new(at, ParseErrorKind::EmptyDomain(what)));
    }
    parse_macro_string(spec, MacroContext::DomainSpec).map_err(|e| e.shifted(at))
}

/// Like [`domain_spec_arg`] for mechanisms that take no CIDR length (include, exists, ptr): a
/// domain-spec that fails only because it ends in `/digits` is reported as a stray CIDR.
fn domain_spec_no_cidr(
    what: &'static str,
    spec: &str,
    at: usize,
) -> Result<MacroString, ParseError> {
    domain_spec_arg(what, spec, at).map_err(|e| match (&e.kind, cidr_like_tail(spec)) {
        (ParseErrorKind::InvalidDomainEnd(_), Some(slash)) => {
            ParseError::new(at + slash, ParseErrorKind::UnexpectedCidr(what))
        }
        _ => e,
    })
}

/// If `s` ends in `/` followed only by digits (an attempted CIDR length), the offset of that
/// `/`. A domain-spec can never legally end that way (its domain-end is `.toplabel` or `}`).
fn cidr_like_tail(s: &str) -> Option<usize> {
    let slash = s.rfind('/')?;
    let tail = s.get(slash + 1..)?;
    tail.bytes().all(|b| b.is_ascii_digit()).then_some(slash)
}

/// `directive = [ qualifier ] mechanism` (RFC 7208 §4.6.2, §5).
fn parse_directive(text: &str, base: usize) -> Result<TermKind, ParseError> {
    // §4.6.2: qualifier = "+" / "-" / "?" / "~"; "+" when absent.
    let (qualifier, body) = match text.as_bytes().first() {
        Some(b'+') => (Qualifier::Pass, text.get(1..)),
        Some(b'-') => (Qualifier::Fail, text.get(1..)),
        Some(b'~') => (Qualifier::SoftFail, text.get(1..)),
        Some(b'?') => (Qualifier::Neutral, text.get(1..)),
        _ => (Qualifier::Pass, Some(text)),
    };
    // The term is ASCII (checked by the caller), so `get(1..)` after an ASCII byte succeeds.
    let body = body.unwrap_or_default();
    let body_at = base + (text.len() - body.len());
    // The mechanism name runs up to the first ":" or "/" (§4.6.1: "Most mechanisms allow a
    // ':' or '/' character after the name"); it must match a name exactly, case-insensitively.
    let name_len = body.find([':', '/']).unwrap_or(body.len());
    let (name, rest) = body.split_at_checked(name_len).unwrap_or((body, ""));
    let rest_at = body_at + name_len;
    let lower = name.to_ascii_lowercase();
    let mechanism = match lower.as_str() {
        // §5.1: all = "all"
        "all" => {
            if !rest.is_empty() {
                return Err(ParseError::new(
                    rest_at,
                    ParseErrorKind::UnexpectedArgument("all"),
                ));
            }
            Mechanism::All
        }
        // §5.2: include = "include" ":" domain-spec
        "include" => Mechanism::Include(required_domain("include", rest, rest_at)?),
        // §5.7: exists = "exists" ":" domain-spec
        "exists" => Mechanism::Exists(required_domain("exists", rest, rest_at)?),
        // §5.3: a = "a" [ ":" domain-spec ] [ dual-cidr-length ]
        "a" => {
            let (domain, cidr) = domain_and_dual_cidr("a", rest, rest_at)?;
            Mechanism::A { domain, cidr }
        }
        // §5.4: mx = "mx" [ ":" domain-spec ] [ dual-cidr-length ]
        "mx" => {
            let (domain, cidr) = domain_and_dual_cidr("mx", rest, rest_at)?;
            Mechanism::Mx { domain, cidr }
        }
        // §5.5: ptr = "ptr" [ ":" domain-spec ]
        "ptr" => {
            if rest.is_empty() {
                Mechanism::Ptr(None)
            } else if let Some(spec) = rest.strip_prefix(':') {
                Mechanism::Ptr(Some(domain_spec_no_cidr("ptr", spec, rest_at + 1)?))
            } else {
                return Err(ParseError::new(
                    rest_at,
                    ParseErrorKind::UnexpectedCidr("ptr"),
                ));
            }
        }
        // §5.6: ip4 = "ip4" ":" ip4-network [ ip4-cidr-length ]
        "ip4" => {
            let (addr, prefix) = ip_network("ip4", rest, rest_at)?;
            let addr = parse_ip4_network(addr.0).ok_or_else(|| {
                ParseError::new(addr.1, ParseErrorKind::InvalidIp4(addr.0.into()))
            })?;
            let prefix = cidr_length(prefix, 32)?.unwrap_or(32);
            Mechanism::Ip4 { addr, prefix }
        }
        // §5.6: ip6 = "ip6" ":" ip6-network [ ip6-cidr-length ]; ip6-network per RFC 4291 §2.2.
        "ip6" => {
            let (addr, prefix) = ip_network("ip6", rest, rest_at)?;
            let ip = addr
                .0
                .parse::<Ipv6Addr>()
                .map_err(|_| ParseError::new(addr.1, ParseErrorKind::InvalidIp6(addr.0.into())))?;
            let prefix = cidr_length(prefix, 128)?.unwrap_or(128);
            Mechanism::Ip6 { addr: ip, prefix }
        }
        _ => {
            return Err(ParseError::new(
                body_at,
                ParseErrorKind::UnknownMechanism(name.into()),
            ));
        }
    };
    Ok(TermKind::Directive {
        qualifier,
        mechanism,
    })
}

/// The `":" domain-spec` of include and exists (RFC 7208 §5.2, §5.7).
fn required_domain(what: &'static str, rest: &str, at: usize) -> Result<MacroString, ParseError> {
    match rest.strip_prefix(':') {
        Some(spec) => domain_spec_no_cidr(what, spec, at + 1),
        None if rest.starts_with('/') => {
            Err(ParseError::new(at, ParseErrorKind::UnexpectedCidr(what)))
        }
        None => Err(ParseError::new(at, ParseErrorKind::MissingDomain(what))),
    }
}

/// Splits `":" network [ "/" length ]` of ip4/ip6 into (network, its offset) and the optional
/// `"/" length` text with its offset (RFC 7208 §5.6).
#[allow(clippy::type_complexity)]
fn ip_network<'a>(
    what: &'static str,
    rest: &'a str,
    at: usize,
) -> Result<((&'a str, usize), Option<(&'a str, usize)>), ParseError> {
    let Some(net) = rest.strip_prefix(':') else {
        return Err(ParseError::new(at, ParseErrorKind::MissingNetwork(what)));
    };
    let net_at = at + 1;
    // The network itself never contains "/", so the first "/" starts the length.
    match net.split_once('/') {
        Some((addr, _)) => {
            let len_text = net.get(addr.len()..).unwrap_or_default();
            Ok(((addr, net_at), Some((len_text, net_at + addr.len()))))
        }
        None => Ok(((net, net_at), None)),
    }
}

/// Parses an ip4/ip6 `"/" length` (text starting with "/") into its value, `None` if absent.
fn cidr_length(cidr: Option<(&str, usize)>, max: u8) -> Result<Option<u8>, ParseError> {
    let Some((text, at)) = cidr else {
        return Ok(None);
    };
    text.strip_prefix('/')
        .and_then(|digits| cidr_value(digits, max))
        .map(Some)
        .ok_or_else(|| ParseError::new(at, ParseErrorKind::InvalidCidr(text.into())))
}

/// A CIDR length value (RFC 7208 §5.6): `ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT)`,
/// `ip6-cidr-length = "/" ("0" / %x31-39 0*2DIGIT)`: no leading zeros (the rfc7208 suite's
/// cidr4-032), value at most `max` (32 or 128).
fn cidr_value(digits: &str, max: u8) -> Option<u8> {
    let ok_syntax = !digits.is_empty()
        && digits.len() <= 3
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !ok_syntax {
        return None;
    }
    digits.parse::<u8>().ok().filter(|&v| v <= max)
}

/// `ip4-network = qnum "." qnum "." qnum "." qnum` (RFC 7208 §5.6), where qnum is 0-255
/// written without leading zeros; shortened forms like `1.2.3` are invalid (§5.6/4).
fn parse_ip4_network(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for octet in octets.iter_mut() {
        let q = parts.next()?;
        let ok = !q.is_empty()
            && q.len() <= 3
            && q.bytes().all(|b| b.is_ascii_digit())
            && (q == "0" || !q.starts_with('0'));
        if !ok {
            return None;
        }
        *octet = q.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// `[ ":" domain-spec ] [ dual-cidr-length ]` of a and mx (RFC 7208 §5.3, §5.4, §5.6).
fn domain_and_dual_cidr(
    what: &'static str,
    rest: &str,
    at: usize,
) -> Result<(Option<MacroString>, DualCidr), ParseError> {
    if rest.is_empty() {
        return Ok((None, DualCidr::default()));
    }
    if let Some(spec) = rest.strip_prefix(':') {
        // The domain-spec may itself contain "/" (`a:foo:bar/baz.example.com` is valid, the
        // rfc7208 suite's a-colon-domain), so the CIDR is only a trailing `/N`, `//N` or
        // `/N//M` whose digits are well-formed enough to be meant as lengths.
        let (domain, cidr) = split_dual_cidr_suffix(spec);
        let cidr_at = at + 1 + domain.len();
        let ms = domain_spec_arg(what, domain, at + 1).map_err(|e| {
            match (&e.kind, cidr_like_tail(domain)) {
                // `a:foo.com/24/64`: the extra "/24" is a bad CIDR, not a bad top label.
                (ParseErrorKind::InvalidDomainEnd(_), Some(slash)) => ParseError::new(
                    at + 1 + slash,
                    ParseErrorKind::InvalidCidr(spec.get(slash..).unwrap_or_default().into()),
                ),
                _ => e,
            }
        })?;
        let cidr = parse_dual_cidr(cidr).map_err(|k| ParseError::new(cidr_at, k))?;
        Ok((Some(ms), cidr))
    } else {
        // No domain: the whole rest must be a dual-cidr-length (so `a/` and `a/24/64` fail).
        let cidr = parse_dual_cidr(rest).map_err(|k| ParseError::new(at, k))?;
        Ok((None, cidr))
    }
}

/// Splits a trailing dual-cidr-length (`/digits`, `//digits` or `/digits//digits`) off `s`.
/// Only the shape is checked here; [`parse_dual_cidr`] checks the values.
fn split_dual_cidr_suffix(s: &str) -> (&str, &str) {
    fn strip_digits(s: &str) -> Option<&str> {
        let t = s.trim_end_matches(|c: char| c.is_ascii_digit());
        (t.len() < s.len()).then_some(t)
    }
    let mut head = s;
    if let Some(h) = strip_digits(head).and_then(|h| h.strip_suffix("//")) {
        head = h;
    }
    if let Some(h) = strip_digits(head).and_then(|h| h.strip_suffix('/')) {
        head = h;
    }
    // `head` is a prefix of `s` ending just before an ASCII "/", so this is a char boundary.
    (head, s.get(head.len()..).unwrap_or_default())
}

/// `dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]` (RFC 7208 §5.6); the
/// empty string is the absent length.
fn parse_dual_cidr(text: &str) -> Result<DualCidr, ParseErrorKind> {
    let bad = || ParseErrorKind::InvalidCidr(text.into());
    if text.is_empty() {
        return Ok(DualCidr::default());
    }
    if let Some(v6) = text.strip_prefix("//") {
        return Ok(DualCidr {
            v4: None,
            v6: Some(cidr_value(v6, 128).ok_or_else(bad)?),
        });
    }
    let Some(lengths) = text.strip_prefix('/') else {
        return Err(bad());
    };
    let (v4, v6) = match lengths.split_once("//") {
        Some((v4, v6)) => (v4, Some(v6)),
        None => (lengths, None),
    };
    Ok(DualCidr {
        v4: Some(cidr_value(v4, 32).ok_or_else(bad)?),
        v6: match v6 {
            Some(v6) => Some(cidr_value(v6, 128).ok_or_else(bad)?),
            None => None,
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Macro strings
// ---------------------------------------------------------------------------------------------

impl MacroLetter {
    /// Parses a macro letter, case-insensitively (RFC 7208 §7.1 `macro-letter`).
    pub fn from_char(c: char) -> Option<MacroLetter> {
        Some(match c.to_ascii_lowercase() {
            's' => MacroLetter::S,
            'l' => MacroLetter::L,
            'o' => MacroLetter::O,
            'd' => MacroLetter::D,
            'i' => MacroLetter::I,
            'p' => MacroLetter::P,
            'v' => MacroLetter::V,
            'h' => MacroLetter::H,
            'c' => MacroLetter::C,
            'r' => MacroLetter::R,
            't' => MacroLetter::T,
            _ => return None,
        })
    }

    /// The letter in lower case.
    pub fn as_char(self) -> char {
        match self {
            MacroLetter::S => 's',
            MacroLetter::L => 'l',
            MacroLetter::O => 'o',
            MacroLetter::D => 'd',
            MacroLetter::I => 'i',
            MacroLetter::P => 'p',
            MacroLetter::V => 'v',
            MacroLetter::H => 'h',
            MacroLetter::C => 'c',
            MacroLetter::R => 'r',
            MacroLetter::T => 't',
        }
    }

    /// `c`, `r`, `t`: allowed only in explanation strings (RFC 7208 §7.2).
    pub fn explanation_only(self) -> bool {
        matches!(self, MacroLetter::C | MacroLetter::R | MacroLetter::T)
    }
}

/// `delimiter = "." / "-" / "+" / "," / "/" / "_" / "="` (RFC 7208 §7.1).
pub fn is_macro_delimiter(c: char) -> bool {
    matches!(c, '.' | '-' | '+' | ',' | '/' | '_' | '=')
}

/// `toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`
/// (RFC 7208 §7.1): LDH, not all-numeric unless it has an inner hyphen, no leading or trailing
/// hyphen. Checked on the whole label, so `xn--zckzah` is accepted (suite a-dash-in-toplabel).
fn is_toplabel(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(first), Some(last)) = (b.first(), b.last()) else {
        return false;
    };
    if !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') {
        return false;
    }
    if b.contains(&b'-') {
        first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric()
    } else {
        b.iter().any(|c| c.is_ascii_alphabetic())
    }
}

/// Parses a macro-string in the given context (RFC 7208 §7.1).
///
/// - `DomainSpec`: `domain-spec = macro-string domain-end`; must be non-empty and end in
///   `"." toplabel [ "." ]` or a macro-expand (which includes `%%`, `%_`, `%-`).
/// - `ModifierValue`: any macro-string, possibly empty.
/// - `Explanation`: `explain-string = *( macro-string / SP )`; spaces are literal text.
///
/// `c`, `r`, `t` are accepted only in `Explanation` (§7.2). Literals are merged and the escapes
/// decoded (`%%` → "%", `%_` → " ", `%-` → "%20"). Error positions are byte offsets in `text`.
pub fn parse_macro_string(text: &str, context: MacroContext) -> Result<MacroString, ParseError> {
    let mut parts: Vec<MacroPart> = Vec::new();
    let mut literal = String::new();
    // Byte offset where the trailing run of plain macro-literals starts, i.e. just after the
    // last macro-expand; used for the domain-end check.
    let mut run_start = 0usize;
    let mut chars = text.char_indices().peekable();
    // Text of a macro from its "%" up to and including the char at `end_at` (or the end).
    let snippet = |from: usize, upto: Option<(usize, char)>| -> String {
        let end = upto.map_or(text.len(), |(j, c)| j + c.len_utf8());
        text.get(from..end).unwrap_or_default().to_string()
    };
    while let Some((i, c)) = chars.next() {
        match c {
            // §7.1 / §7.3: "%" must be followed by "{", "%", "-" or "_".
            '%' => {
                let next = chars.next();
                match next {
                    Some((_, '%')) => literal.push('%'),
                    Some((_, '_')) => literal.push(' '),
                    Some((_, '-')) => literal.push_str("%20"),
                    Some((_, '{')) => {
                        if !literal.is_empty() {
                            parts.push(MacroPart::Literal(std::mem::take(&mut literal)));
                        }
                        let m = parse_macro_expand(&mut chars, i, context, &snippet)?;
                        parts.push(MacroPart::Macro(m));
                    }
                    _ => {
                        return Err(ParseError::new(
                            i,
                            ParseErrorKind::InvalidMacro(snippet(i, next)),
                        ));
                    }
                }
                run_start = chars.peek().map_or(text.len(), |&(j, _)| j);
            }
            // §6.2: explain-string = *( macro-string / SP )
            ' ' if context == MacroContext::Explanation => literal.push(' '),
            // §7.1: macro-literal = %x21-24 / %x26-7E ("%" handled above).
            c if c.is_ascii_graphic() => literal.push(c),
            c => return Err(ParseError::new(i, ParseErrorKind::InvalidCharacter(c))),
        }
    }
    if !literal.is_empty() {
        parts.push(MacroPart::Literal(literal));
    }
    if context == MacroContext::DomainSpec {
        check_domain_end(text, run_start)?;
    }
    Ok(MacroString { parts })
}

/// Parses the rest of `"%{" macro-letter transformers *delimiter "}"` after the "{"
/// (RFC 7208 §7.1); `start` is the offset of the "%".
fn parse_macro_expand(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    start: usize,
    context: MacroContext,
    snippet: &dyn Fn(usize, Option<(usize, char)>) -> String,
) -> Result<MacroExpand, ParseError> {
    let invalid = |upto: Option<(usize, char)>| {
        ParseError::new(start, ParseErrorKind::InvalidMacro(snippet(start, upto)))
    };
    let first = chars.next();
    let (letter, raw_letter) = match first {
        Some((_, c)) => match MacroLetter::from_char(c) {
            Some(l) => (l, c),
            None => return Err(invalid(first)),
        },
        None => return Err(invalid(None)),
    };
    // §7.3: "Uppercase macros expand exactly as their lowercase equivalents, and are then URL
    // escaped."
    let url_escape = raw_letter.is_ascii_uppercase();
    // §7.1: transformers = *DIGIT [ "r" ]. Large values saturate (they mean "all parts").
    let mut digits: Option<u32> = None;
    while let Some(&(_, d)) = chars.peek() {
        let Some(v) = d.to_digit(10) else { break };
        digits = Some(digits.unwrap_or(0).saturating_mul(10).saturating_add(v));
        chars.next();
    }
    let mut reverse = false;
    if let Some(&(_, 'r' | 'R')) = chars.peek() {
        reverse = true;
        chars.next();
    }
    // §7.1: *delimiter
    let mut delimiters = String::new();
    while let Some(&(_, d)) = chars.peek() {
        if !is_macro_delimiter(d) {
            break;
        }
        delimiters.push(d);
        chars.next();
    }
    let close = chars.next();
    if !matches!(close, Some((_, '}'))) {
        return Err(invalid(close));
    }
    // §7.3: "If a DIGIT is specified, the value MUST be nonzero." Treated as a syntax error.
    if digits == Some(0) {
        return Err(invalid(close));
    }
    // §7.2: c, r and t are allowed only in "exp" text.
    if letter.explanation_only() && context != MacroContext::Explanation {
        return Err(ParseError::new(
            start,
            ParseErrorKind::ExplanationOnlyMacro(snippet(start, close)),
        ));
    }
    Ok(MacroExpand {
        letter,
        url_escape,
        digits,
        reverse,
        delimiters,
    })
}

/// `domain-end = ( "." toplabel [ "." ] ) / macro-expand` (RFC 7208 §7.1). `run_start` is
/// where the trailing run of plain literals begins (after the last macro-expand).
fn check_domain_end(text: &str, run_start: usize) -> Result<(), ParseError> {
    let bad = |at: usize| ParseError::new(at, ParseErrorKind::InvalidDomainEnd(text.into()));
    if text.is_empty() {
        return Err(bad(0));
    }
    let run = text.get(run_start..).unwrap_or_default();
    if run.is_empty() {
        // Ends in a macro-expand (`%{d}`, `%%`, `%_`, `%-`).
        return Ok(());
    }
    // A single trailing dot is allowed (and "MUST be accepted", §7.3); the rfc7208 suite's
    // a-only-toplabel-trailing-dot shows it does not make a lone label valid.
    let body = run.strip_suffix('.').unwrap_or(run);
    match body.rfind('.') {
        Some(dot) if body.get(dot + 1..).is_some_and(is_toplabel) => Ok(()),
        Some(dot) => Err(bad(run_start + dot + 1)),
        // No "." after the last macro: `a:museum`, `a:foo-bar`, `include:localhost`.
        None => Err(bad(run_start)),
    }
}

// ---------------------------------------------------------------------------------------------
// Accessors and canonical rendering
// ---------------------------------------------------------------------------------------------

impl SpfRecord {
    /// The `redirect=` target, if present (RFC 7208 §6.1).
    pub fn redirect(&self) -> Option<&MacroString> {
        self.terms.iter().find_map(|t| match &t.kind {
            TermKind::Redirect(d) => Some(d),
            _ => None,
        })
    }

    /// The `exp=` target, if present (RFC 7208 §6.2).
    pub fn exp(&self) -> Option<&MacroString> {
        self.terms.iter().find_map(|t| match &t.kind {
            TermKind::Exp(d) => Some(d),
            _ => None,
        })
    }

    /// The `redirect=` term itself (for its text and position).
    pub fn redirect_term(&self) -> Option<&Term> {
        self.terms
            .iter()
            .find(|t| matches!(t.kind, TermKind::Redirect(_)))
    }

    /// The `exp=` term itself.
    pub fn exp_term(&self) -> Option<&Term> {
        self.terms
            .iter()
            .find(|t| matches!(t.kind, TermKind::Exp(_)))
    }

    /// The directives in order, with their qualifier and mechanism (RFC 7208 §4.6.2).
    pub fn directives(&self) -> impl Iterator<Item = (&Term, Qualifier, &Mechanism)> {
        self.terms.iter().filter_map(|t| match &t.kind {
            TermKind::Directive {
                qualifier,
                mechanism,
            } => Some((t, *qualifier, mechanism)),
            _ => None,
        })
    }
}

impl Term {
    /// True for a directive (qualifier + mechanism), false for a modifier.
    pub fn is_directive(&self) -> bool {
        matches!(self.kind, TermKind::Directive { .. })
    }

    /// True for a modifier (`name=value`).
    pub fn is_modifier(&self) -> bool {
        !self.is_directive()
    }

    /// The mechanism, for a directive.
    pub fn mechanism(&self) -> Option<&Mechanism> {
        match &self.kind {
            TermKind::Directive { mechanism, .. } => Some(mechanism),
            _ => None,
        }
    }

    /// The qualifier, for a directive.
    pub fn qualifier(&self) -> Option<Qualifier> {
        match &self.kind {
            TermKind::Directive { qualifier, .. } => Some(*qualifier),
            _ => None,
        }
    }

    /// The byte range of the term in the record text.
    pub fn span(&self) -> std::ops::Range<usize> {
        self.position..self.position + self.text.len()
    }
}

/// Renders a literal so that it parses back to the same text: "%" as `%%`, " " as `%_`, and
/// the three characters "%20" as `%-` (which decodes to exactly "%20", so `%%20` and `%-` are
/// the same literal).
fn write_literal(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("%20") {
            f.write_str("%-")?;
            rest = r;
            continue;
        }
        let mut it = rest.chars();
        match it.next() {
            Some('%') => f.write_str("%%")?,
            Some(' ') => f.write_str("%_")?,
            Some(c) => write!(f, "{c}")?,
            None => break,
        }
        rest = it.as_str();
    }
    Ok(())
}

impl fmt::Display for MacroExpand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = self.letter.as_char();
        let letter = if self.url_escape {
            letter.to_ascii_uppercase()
        } else {
            letter
        };
        write!(f, "%{{{letter}")?;
        if let Some(d) = self.digits {
            write!(f, "{d}")?;
        }
        if self.reverse {
            f.write_str("r")?;
        }
        write!(f, "{}}}", self.delimiters)
    }
}

/// Canonical macro-string syntax; `parse_macro_string(&ms.to_string(), ctx) == Ok(ms)`.
impl fmt::Display for MacroString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                MacroPart::Literal(s) => write_literal(f, s)?,
                MacroPart::Macro(m) => write!(f, "{m}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for DualCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v4) = self.v4 {
            write!(f, "/{v4}")?;
        }
        if let Some(v6) = self.v6 {
            write!(f, "//{v6}")?;
        }
        Ok(())
    }
}

/// Canonical mechanism syntax: lower-case name, e.g. `a:example.com/24//64`, `ip4:192.0.2.0/24`
/// (a /32 or /128 prefix is left out).
impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self {
            Mechanism::All | Mechanism::Ptr(None) => Ok(()),
            Mechanism::Include(d) | Mechanism::Exists(d) | Mechanism::Ptr(Some(d)) => {
                write!(f, ":{d}")
            }
            Mechanism::A { domain, cidr } | Mechanism::Mx { domain, cidr } => {
                if let Some(d) = domain {
                    write!(f, ":{d}")?;
                }
                write!(f, "{cidr}")
            }
            Mechanism::Ip4 { addr, prefix } => {
                write!(f, ":{addr}")?;
                if *prefix != 32 {
                    write!(f, "/{prefix}")?;
                }
                Ok(())
            }
            Mechanism::Ip6 { addr, prefix } => {
                write!(f, ":{addr}")?;
                if *prefix != 128 {
                    write!(f, "/{prefix}")?;
                }
                Ok(())
            }
        }
    }
}

/// Canonical term syntax: the qualifier is left out when it is `+`.
impl fmt::Display for TermKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TermKind::Directive {
                qualifier,
                mechanism,
            } => {
                if *qualifier != Qualifier::Pass {
                    write!(f, "{}", qualifier.symbol())?;
                }
                write!(f, "{mechanism}")
            }
            TermKind::Redirect(d) => write!(f, "redirect={d}"),
            TermKind::Exp(d) => write!(f, "exp={d}"),
            TermKind::Unknown { name, value } => write!(f, "{name}={value}"),
        }
    }
}

/// Canonical rendering of the term (see [`TermKind`]'s `Display`); `text` keeps the original.
impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)
    }
}

/// `v=spf1` and the terms in their original order, one space apart.
impl fmt::Display for SpfRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("v=spf1")?;
        for t in &self.terms {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParseErrorKind as K;

    fn ok(rec: &str) -> SpfRecord {
        parse(rec).unwrap_or_else(|e| panic!("{rec:?} should parse: {e}"))
    }

    fn err(rec: &str) -> (usize, ParseErrorKind) {
        match parse(rec) {
            Ok(r) => panic!("{rec:?} should fail, got {r:?}"),
            Err(e) => (e.position, e.kind),
        }
    }

    fn mech(rec: &str) -> (Qualifier, Mechanism) {
        let r = ok(rec);
        assert_eq!(r.terms.len(), 1, "{rec}");
        match r.terms.into_iter().next().map(|t| t.kind) {
            Some(TermKind::Directive {
                qualifier,
                mechanism,
            }) => (qualifier, mechanism),
            other => panic!("{rec}: not a directive: {other:?}"),
        }
    }

    fn ms(text: &str) -> MacroString {
        parse_macro_string(text, MacroContext::DomainSpec).unwrap()
    }

    fn lit(s: &str) -> MacroPart {
        MacroPart::Literal(s.into())
    }

    fn mac(letter: MacroLetter, digits: Option<u32>, reverse: bool, delims: &str) -> MacroPart {
        MacroPart::Macro(MacroExpand {
            letter,
            url_escape: false,
            digits,
            reverse,
            delimiters: delims.into(),
        })
    }

    #[test]
    fn version_and_spacing() {
        assert!(ok("v=spf1").terms.is_empty());
        assert!(ok("v=spf1 ").terms.is_empty());
        assert!(ok("V=SpF1").terms.is_empty());
        let r = ok("v=spf1   a    -all   ");
        assert_eq!(r.terms.len(), 2);
        assert_eq!(r.terms[0].position, 9);
        assert_eq!(r.terms[0].text, "a");
        assert_eq!(r.terms[1].position, 14);
        assert_eq!(r.terms[1].text, "-all");
        assert_eq!(r.terms[1].span(), 14..18);
        for bad in [
            "",
            "v=spf",
            "v=spf10",
            "v=spf1-all",
            "v=spf2 a",
            " v=spf1",
            "spf1",
            "v=spf1\t-all",
        ] {
            assert_eq!(err(bad), (0, K::NotSpf), "{bad:?}");
        }
        assert!(is_spf_record("v=SPF1 a"));
        assert!(!is_spf_record("v=spf1é"));
        // Other whitespace between terms is not a separator (§4.6.1).
        assert_eq!(err("v=spf1 a\t-all"), (8, K::InvalidCharacter('\t')));
        assert_eq!(err("v=spf1 a \r\n"), (9, K::InvalidCharacter('\r')));
    }

    #[test]
    fn uppercase_record() {
        let r = ok("V=SPF1 A:EXAMPLE.COM -ALL");
        assert_eq!(r.terms.len(), 2);
        assert_eq!(r.terms[0].text, "A:EXAMPLE.COM");
        assert_eq!(
            r.terms[0].kind,
            TermKind::Directive {
                qualifier: Qualifier::Pass,
                mechanism: Mechanism::A {
                    domain: Some(MacroString {
                        parts: vec![lit("EXAMPLE.COM")]
                    }),
                    cidr: DualCidr::default()
                }
            }
        );
        assert_eq!(r.to_string(), "v=spf1 a:EXAMPLE.COM -all");
        assert_eq!(
            mech("v=spf1 ~IP4:192.0.2.1"),
            (
                Qualifier::SoftFail,
                Mechanism::Ip4 {
                    addr: Ipv4Addr::new(192, 0, 2, 1),
                    prefix: 32
                }
            )
        );
        assert!(matches!(
            ok("v=spf1 REDIRECT=x.example").terms[0].kind,
            TermKind::Redirect(_)
        ));
        assert!(matches!(
            ok("v=spf1 Exp=x.example").terms[0].kind,
            TermKind::Exp(_)
        ));
        assert!(matches!(
            mech("v=spf1 InClUdE:x.example").1,
            Mechanism::Include(_)
        ));
    }

    #[test]
    fn qualifiers() {
        for (q, want) in [
            ("", Qualifier::Pass),
            ("+", Qualifier::Pass),
            ("-", Qualifier::Fail),
            ("~", Qualifier::SoftFail),
            ("?", Qualifier::Neutral),
        ] {
            assert_eq!(mech(&format!("v=spf1 {q}all")), (want, Mechanism::All));
        }
        assert_eq!(err("v=spf1 -"), (8, K::UnknownMechanism(String::new())));
        assert_eq!(err("v=spf1 --all"), (8, K::UnknownMechanism("-all".into())));
        assert_eq!(err("v=spf1 !all"), (7, K::UnknownMechanism("!all".into())));
    }

    #[test]
    fn all_mechanism() {
        assert_eq!(
            err("v=spf1 -all:foobar"),
            (11, K::UnexpectedArgument("all"))
        );
        assert_eq!(err("v=spf1 -all/8"), (11, K::UnexpectedArgument("all")));
        assert_eq!(err("v=spf1 -all."), (8, K::UnknownMechanism("all.".into())));
        assert_eq!(err("v=spf1 alll"), (7, K::UnknownMechanism("alll".into())));
    }

    #[test]
    fn include_and_exists() {
        assert_eq!(
            mech("v=spf1 include:_spf.example.com"),
            (Qualifier::Pass, Mechanism::Include(ms("_spf.example.com")))
        );
        assert_eq!(
            mech("v=spf1 -exists:%{ir}.sbl.example.org"),
            (
                Qualifier::Fail,
                Mechanism::Exists(MacroString {
                    parts: vec![mac(MacroLetter::I, None, true, ""), lit(".sbl.example.org")]
                })
            )
        );
        assert_eq!(err("v=spf1 include"), (14, K::MissingDomain("include")));
        assert_eq!(
            err("v=spf1 include +all"),
            (14, K::MissingDomain("include"))
        );
        assert_eq!(err("v=spf1 include: -all"), (15, K::EmptyDomain("include")));
        assert_eq!(err("v=spf1 exists"), (13, K::MissingDomain("exists")));
        assert_eq!(err("v=spf1 exists:"), (14, K::EmptyDomain("exists")));
        assert_eq!(
            err("v=spf1 include:ip5.example.com/24 -all"),
            (30, K::UnexpectedCidr("include"))
        );
        assert_eq!(
            err("v=spf1 exists:mail.example.com/24"),
            (30, K::UnexpectedCidr("exists"))
        );
        assert_eq!(err("v=spf1 include/24"), (14, K::UnexpectedCidr("include")));
        assert_eq!(
            err("v=spf1 include:localhost"),
            (15, K::InvalidDomainEnd("localhost".into()))
        );
        assert_eq!(
            err("v=spf1 includes:x.com"),
            (7, K::UnknownMechanism("includes".into()))
        );
        // Trailing dot is fine (§7.3).
        ok("v=spf1 include:foo.com.");
    }

    #[test]
    fn a_and_mx_forms() {
        let a = |rec: &str| match mech(rec).1 {
            Mechanism::A { domain, cidr } => (domain.map(|d| d.to_string()), cidr),
            m => panic!("{m:?}"),
        };
        let c = |v4, v6| DualCidr { v4, v6 };
        assert_eq!(a("v=spf1 a"), (None, c(None, None)));
        assert_eq!(a("v=spf1 a/24"), (None, c(Some(24), None)));
        assert_eq!(a("v=spf1 a//64"), (None, c(None, Some(64))));
        assert_eq!(a("v=spf1 a/24//64"), (None, c(Some(24), Some(64))));
        assert_eq!(a("v=spf1 a/0//0"), (None, c(Some(0), Some(0))));
        assert_eq!(a("v=spf1 a/32//128"), (None, c(Some(32), Some(128))));
        assert_eq!(
            a("v=spf1 a:example.com/24//64"),
            (Some("example.com".into()), c(Some(24), Some(64)))
        );
        assert_eq!(
            a("v=spf1 a:%{d}.example/24"),
            (Some("%{d}.example".into()), c(Some(24), None))
        );
        assert_eq!(
            a("v=spf1 a:%{d}/24"),
            (Some("%{d}".into()), c(Some(24), None))
        );
        // "/" inside the domain-spec (suite a-colon-domain).
        assert_eq!(
            a("v=spf1 a:foo:bar/baz.example.com"),
            (Some("foo:bar/baz.example.com".into()), c(None, None))
        );
        let Mechanism::Mx { domain, cidr } = mech("v=spf1 mx//64").1 else {
            panic!()
        };
        assert_eq!((domain, cidr), (None, c(None, Some(64))));
        let Mechanism::Mx { domain, cidr } = mech("v=spf1 -mx:mail.example.org/30").1 else {
            panic!()
        };
        assert_eq!(domain, Some(ms("mail.example.org")));
        assert_eq!(cidr, c(Some(30), None));

        assert_eq!(err("v=spf1 a/33"), (8, K::InvalidCidr("/33".into())));
        assert_eq!(err("v=spf1 a//129"), (8, K::InvalidCidr("//129".into())));
        // An ip6 length of 33 is fine (suite a-cidr6).
        assert_eq!(a("v=spf1 a//33"), (None, c(None, Some(33))));
        assert_eq!(err("v=spf1 a/"), (8, K::InvalidCidr("/".into())));
        assert_eq!(err("v=spf1 a//"), (8, K::InvalidCidr("//".into())));
        assert_eq!(err("v=spf1 a/024"), (8, K::InvalidCidr("/024".into())));
        assert_eq!(err("v=spf1 a/24/64"), (8, K::InvalidCidr("/24/64".into())));
        assert_eq!(err("v=spf1 a/x"), (8, K::InvalidCidr("/x".into())));
        assert_eq!(err("v=spf1 mx/33"), (9, K::InvalidCidr("/33".into())));
        assert_eq!(
            err("v=spf1 a:foo.com/24/64"),
            (16, K::InvalidCidr("/24/64".into()))
        );
        assert_eq!(err("v=spf1 a:foo.com/"), (16, K::InvalidCidr("/".into())));
        assert_eq!(
            err("v=spf1 a:foo.com/33"),
            (16, K::InvalidCidr("/33".into()))
        );
        assert_eq!(err("v=spf1 a:"), (9, K::EmptyDomain("a")));
        assert_eq!(err("v=spf1 mx: -all"), (10, K::EmptyDomain("mx")));
        assert_eq!(err("v=spf1 a:/24"), (9, K::EmptyDomain("a")));
        assert_eq!(
            err("v=spf1 a:1.2.3.4"),
            (15, K::InvalidDomainEnd("1.2.3.4".into()))
        );
        assert_eq!(
            err("v=spf1 a:museum."),
            (9, K::InvalidDomainEnd("museum.".into()))
        );
        assert_eq!(err("v=spf1 ab"), (7, K::UnknownMechanism("ab".into())));
        assert_eq!(err("v=spf1 mx2"), (7, K::UnknownMechanism("mx2".into())));
    }

    #[test]
    fn ptr_forms() {
        assert_eq!(mech("v=spf1 ptr").1, Mechanism::Ptr(None));
        assert_eq!(
            mech("v=spf1 ?ptr:example.com"),
            (Qualifier::Neutral, Mechanism::Ptr(Some(ms("example.com"))))
        );
        assert_eq!(err("v=spf1 ptr/0 -all"), (10, K::UnexpectedCidr("ptr")));
        assert_eq!(err("v=spf1 ptr:"), (11, K::EmptyDomain("ptr")));
        assert_eq!(
            err("v=spf1 ptr:example.com/24"),
            (22, K::UnexpectedCidr("ptr"))
        );
    }

    #[test]
    fn ip4_forms() {
        let ip4 = |rec: &str| match mech(rec).1 {
            Mechanism::Ip4 { addr, prefix } => (addr.to_string(), prefix),
            m => panic!("{m:?}"),
        };
        assert_eq!(ip4("v=spf1 ip4:192.0.2.1"), ("192.0.2.1".into(), 32));
        assert_eq!(ip4("v=spf1 ip4:192.0.2.1/24"), ("192.0.2.1".into(), 24));
        assert_eq!(ip4("v=spf1 ip4:0.0.0.0/0"), ("0.0.0.0".into(), 0));
        assert_eq!(
            ip4("v=spf1 ip4:255.255.255.255/32"),
            ("255.255.255.255".into(), 32)
        );
        assert_eq!(err("v=spf1 ip4:1.2.3"), (11, K::InvalidIp4("1.2.3".into())));
        assert_eq!(err("v=spf1 ip4"), (10, K::MissingNetwork("ip4")));
        assert_eq!(err("v=spf1 ip4:"), (11, K::InvalidIp4(String::new())));
        assert_eq!(
            err("v=spf1 ip4:1.2.3.4/33"),
            (18, K::InvalidCidr("/33".into()))
        );
        assert_eq!(
            err("v=spf1 ip4:1.2.3.4/032"),
            (18, K::InvalidCidr("/032".into()))
        );
        assert_eq!(err("v=spf1 ip4:1.2.3.4/"), (18, K::InvalidCidr("/".into())));
        assert_eq!(
            err("v=spf1 ip4:1.2.3.4//32"),
            (18, K::InvalidCidr("//32".into()))
        );
        assert_eq!(
            err("v=spf1 ip4:1.2.3.4:8080"),
            (11, K::InvalidIp4("1.2.3.4:8080".into()))
        );
        for bad in [
            "01.2.3.4",
            "1.2.3.256",
            "1.2.3.4.5",
            "1..3.4",
            "a.b.c.d",
            "1.2.3.-4",
            "::1",
        ] {
            assert_eq!(
                err(&format!("v=spf1 ip4:{bad}")),
                (11, K::InvalidIp4(bad.into())),
                "{bad}"
            );
        }
        assert_eq!(
            err("v=spf1 ip4x:1.2.3.4"),
            (7, K::UnknownMechanism("ip4x".into()))
        );
    }

    #[test]
    fn ip6_forms() {
        let ip6 = |rec: &str| match mech(rec).1 {
            Mechanism::Ip6 { addr, prefix } => (addr.to_string(), prefix),
            m => panic!("{m:?}"),
        };
        assert_eq!(ip6("v=spf1 ip6:2001:db8::/32"), ("2001:db8::".into(), 32));
        assert_eq!(ip6("v=spf1 ip6:::1"), ("::1".into(), 128));
        assert_eq!(ip6("v=spf1 ip6:::1.1.1.1/0"), ("::101:101".into(), 0));
        assert_eq!(
            ip6("v=spf1 ip6:::FFFF:1.2.3.4"),
            ("::ffff:1.2.3.4".into(), 128)
        );
        assert_eq!(
            ip6("v=spf1 ip6:Cafe:Babe:8000::/33"),
            ("cafe:babe:8000::".into(), 33)
        );
        assert_eq!(err("v=spf1 -all ip6"), (15, K::MissingNetwork("ip6")));
        assert_eq!(
            err("v=spf1 ip6:::1.1.1.1/129"),
            (20, K::InvalidCidr("/129".into()))
        );
        assert_eq!(
            err("v=spf1 ip6:::1.1.1.1//33"),
            (20, K::InvalidCidr("//33".into()))
        );
        assert_eq!(
            err("v=spf1 ip6:::1/0128"),
            (14, K::InvalidCidr("/0128".into()))
        );
        assert_eq!(
            err("v=spf1 ip6::CAFE::BABE"),
            (11, K::InvalidIp6(":CAFE::BABE".into()))
        );
        assert_eq!(
            err("v=spf1 ip6:1.2.3.4"),
            (11, K::InvalidIp6("1.2.3.4".into()))
        );
    }

    #[test]
    fn modifiers() {
        let r = ok("v=spf1 -all exp=explain._spf.%{d} redirect=_spf.example.com");
        assert_eq!(
            r.exp().map(|m| m.to_string()).as_deref(),
            Some("explain._spf.%{d}")
        );
        assert_eq!(
            r.redirect().map(|m| m.to_string()).as_deref(),
            Some("_spf.example.com")
        );
        assert_eq!(r.redirect_term().map(|t| t.position), Some(34));
        assert_eq!(
            r.exp_term().map(|t| t.text.as_str()),
            Some("exp=explain._spf.%{d}")
        );
        assert!(r.terms[0].is_directive() && r.terms[1].is_modifier());
        assert_eq!(r.directives().count(), 1);
        assert_eq!(r.terms[0].qualifier(), Some(Qualifier::Fail));
        assert_eq!(r.terms[0].mechanism(), Some(&Mechanism::All));
        assert_eq!(r.terms[1].mechanism(), None);
        assert!(ok("v=spf1 a").redirect().is_none());

        // Unknown modifiers: kept, value is any valid macro-string (may be empty).
        let r = ok("v=spf1 moo.cow-far_out=man:dog/cat foo=%{l1r+}.%{D}x v= default=+");
        let names: Vec<_> = r
            .terms
            .iter()
            .map(|t| match &t.kind {
                TermKind::Unknown { name, value } => (name.as_str(), value.to_string()),
                k => panic!("{k:?}"),
            })
            .collect();
        assert_eq!(
            names,
            [
                ("moo.cow-far_out", "man:dog/cat".to_string()),
                ("foo", "%{l1r+}.%{D}x".to_string()),
                ("v", String::new()),
                ("default", "+".to_string())
            ]
        );

        assert_eq!(
            err("v=spf1 redirect=a.com redirect=b.com"),
            (22, K::DuplicateModifier("redirect"))
        );
        assert_eq!(
            err("v=spf1 exp=a.com -all EXP=b.com"),
            (22, K::DuplicateModifier("exp"))
        );
        assert_eq!(
            err("v=spf1 -redirect=x.com"),
            (7, K::QualifierOnModifier("-redirect".into()))
        );
        assert_eq!(
            err("v=spf1 ?foo=bar"),
            (7, K::QualifierOnModifier("?foo".into()))
        );
        assert_eq!(
            err("v=spf1 1up=foo"),
            (7, K::InvalidModifierName("1up".into()))
        );
        assert_eq!(
            err("v=spf1 =all"),
            (7, K::InvalidModifierName(String::new()))
        );
        assert_eq!(err("v=spf1 redirect="), (16, K::EmptyDomain("redirect")));
        assert_eq!(err("v=spf1 exp= -all"), (11, K::EmptyDomain("exp")));
        assert_eq!(
            err("v=spf1 exp=-all"),
            (11, K::InvalidDomainEnd("-all".into()))
        );
        assert_eq!(
            err("v=spf1 redirect=-all ?all"),
            (16, K::InvalidDomainEnd("-all".into()))
        );
        assert_eq!(err("v=spf1 foo=%abc"), (11, K::InvalidMacro("%a".into())));
        assert_eq!(
            err("v=spf1 foo=%{c}"),
            (11, K::ExplanationOnlyMacro("%{c}".into()))
        );
        // ":" or "/" before "=" makes it a mechanism (§4.6.1).
        assert_eq!(
            err("v=spf1 moo.cow/far_out=man:dog/cat"),
            (7, K::UnknownMechanism("moo.cow".into()))
        );
        assert_eq!(
            err("v=spf1 redirect:t2.example.com"),
            (7, K::UnknownMechanism("redirect".into()))
        );
        // "=" after ":" is part of the domain-spec: a:x=y.com is an a mechanism.
        assert!(matches!(mech("v=spf1 a:x=y.com").1, Mechanism::A { .. }));
    }

    #[test]
    fn brief_error_positions() {
        let table: &[(&str, usize, ParseErrorKind)] = &[
            ("v=spf1 a/33", 8, K::InvalidCidr("/33".into())),
            ("v=spf1 foo", 7, K::UnknownMechanism("foo".into())),
            ("v=spf1 include", 14, K::MissingDomain("include")),
            ("v=spf1 ip4:1.2.3", 11, K::InvalidIp4("1.2.3".into())),
            (
                "v=spf1 a:1.2.3.4",
                15,
                K::InvalidDomainEnd("1.2.3.4".into()),
            ),
            ("v=spf1 %{z}", 7, K::UnknownMechanism("%{z}".into())),
            ("v=spf1 a:%{z}.com", 9, K::InvalidMacro("%{z".into())),
            (
                "v=spf1 redirect=a.com redirect=b.com",
                22,
                K::DuplicateModifier("redirect"),
            ),
            ("v=spf10", 0, K::NotSpf),
            (
                "v=spf1 -redirect=x.com",
                7,
                K::QualifierOnModifier("-redirect".into()),
            ),
            ("v=spf1 a:é.com", 9, K::InvalidCharacter('é')),
            ("v=spf1 a:x.com\u{0}", 14, K::InvalidCharacter('\0')),
        ];
        for (rec, pos, kind) in table {
            let e = parse(rec).unwrap_err();
            assert_eq!((e.position, &e.kind), (*pos, kind), "{rec}");
            // Display names the column (1-based).
            assert!(e.to_string().contains(&format!("column {}", pos + 1)));
        }
        assert!(
            ParseErrorKind::InvalidDomainEnd("1.2.3.4".into())
                .to_string()
                .contains("ip4:")
        );
    }

    #[test]
    fn first_error_wins() {
        // Errors are reported left to right, including ones after a valid "all".
        assert_eq!(
            err("v=spf1 -all moo"),
            (12, K::UnknownMechanism("moo".into()))
        );
        assert_eq!(
            err("v=spf1 foo a:é"),
            (7, K::UnknownMechanism("foo".into()))
        );
    }

    #[test]
    fn macro_string_parsing() {
        assert_eq!(
            ms("%{ir}.%{v}._spf.%{d2}").parts,
            vec![
                mac(MacroLetter::I, None, true, ""),
                lit("."),
                mac(MacroLetter::V, None, false, ""),
                lit("._spf."),
                mac(MacroLetter::D, Some(2), false, ""),
            ]
        );
        // Escapes are decoded and merged into the surrounding literal.
        assert_eq!(
            ms("macro%%percent%_%_space%-url-space.example.com").parts,
            vec![lit("macro%percent  space%20url-space.example.com")]
        );
        // Upper case letter = URL escape; "R" is the reverse transformer too (ABNF is
        // case-insensitive); all delimiters.
        let p = ms("%{L12R.-+,/_=}");
        assert_eq!(
            p.parts,
            vec![MacroPart::Macro(MacroExpand {
                letter: MacroLetter::L,
                url_escape: true,
                digits: Some(12),
                reverse: true,
                delimiters: ".-+,/_=".into()
            })]
        );
        assert_eq!(p.to_string(), "%{L12r.-+,/_=}");
        assert!(ms("%{p}.x.com").uses_p());
        assert!(!ms("a.com").has_macros());
        // Domain-end (§7.1).
        for good in [
            "a.com",
            "a.com.",
            "foo.example.xn--zckzah",
            "x.1-2",
            "x.a1",
            "%{d}",
            "%{d}.com",
            "x%%",
            "x%_",
            "x%-",
            ".com",
            "mail.example...com",
        ] {
            assert!(
                parse_macro_string(good, MacroContext::DomainSpec).is_ok(),
                "{good}"
            );
        }
        for bad in [
            "", "com", "com.", "a.123", "a.-com", "a.com-", "a.com..", "%{d}.", "%{d}x", "a.c_m",
            "a.com/24", "a.b:8080",
        ] {
            assert!(
                matches!(
                    parse_macro_string(bad, MacroContext::DomainSpec),
                    Err(ParseError {
                        kind: K::InvalidDomainEnd(_),
                        ..
                    })
                ),
                "{bad}"
            );
        }
        // Bad macros, with the offending text.
        let bad = |t: &str, ctx| parse_macro_string(t, ctx).unwrap_err();
        let dom = MacroContext::DomainSpec;
        assert_eq!(
            bad("x.%(ir).com", dom),
            ParseError::new(2, K::InvalidMacro("%(".into()))
        );
        assert_eq!(
            bad("x%.com", dom),
            ParseError::new(1, K::InvalidMacro("%.".into()))
        );
        assert_eq!(
            bad("x.com%", dom),
            ParseError::new(5, K::InvalidMacro("%".into()))
        );
        assert_eq!(
            bad("%{d", dom),
            ParseError::new(0, K::InvalidMacro("%{d".into()))
        );
        assert_eq!(
            bad("%{", dom),
            ParseError::new(0, K::InvalidMacro("%{".into()))
        );
        assert_eq!(
            bad("%{x}", dom),
            ParseError::new(0, K::InvalidMacro("%{x".into()))
        );
        assert_eq!(
            bad("%{d0}", dom),
            ParseError::new(0, K::InvalidMacro("%{d0}".into()))
        );
        assert_eq!(
            bad("%{d00}", dom),
            ParseError::new(0, K::InvalidMacro("%{d00}".into()))
        );
        assert_eq!(
            bad("%{dr2}", dom),
            ParseError::new(0, K::InvalidMacro("%{dr2".into()))
        );
        assert_eq!(
            bad("%{d:}", dom),
            ParseError::new(0, K::InvalidMacro("%{d:".into()))
        );
        assert_eq!(
            bad("%{dé}", dom),
            ParseError::new(0, K::InvalidMacro("%{dé".into()))
        );
        assert_eq!(
            bad("%é", dom),
            ParseError::new(0, K::InvalidMacro("%é".into()))
        );
        assert_eq!(
            bad("%{r}.x.com", dom),
            ParseError::new(0, K::ExplanationOnlyMacro("%{r}".into()))
        );
        assert_eq!(
            bad("a.%{T}", MacroContext::ModifierValue),
            ParseError::new(2, K::ExplanationOnlyMacro("%{T}".into()))
        );
        assert_eq!(
            bad("a b.com", dom),
            ParseError::new(1, K::InvalidCharacter(' '))
        );
        // Leading-zero digits are just a number; a huge one saturates.
        assert_eq!(
            ms("%{d02}").parts,
            vec![mac(MacroLetter::D, Some(2), false, "")]
        );
        assert_eq!(
            ms("%{d99999999999}").parts,
            vec![mac(MacroLetter::D, Some(u32::MAX), false, "")]
        );
    }

    #[test]
    fn explanation_strings() {
        let exp = |t: &str| parse_macro_string(t, MacroContext::Explanation);
        let e = exp("Connections from %{c} not authorized.").unwrap();
        assert_eq!(
            e.parts,
            vec![
                lit("Connections from "),
                mac(MacroLetter::C, None, false, ""),
                lit(" not authorized."),
            ]
        );
        assert!(exp("").unwrap().parts.is_empty());
        assert!(exp("%{r} %{t} %{c} %{p}").is_ok());
        assert!(exp("  trailing dot. ").is_ok());
        assert!(exp("http://www.openspf.org/Why?s=mfrom&id=%{S}&ip=%{C}&r=%{R}").is_ok());
        assert_eq!(
            exp("The %{x}-files.").unwrap_err(),
            ParseError::new(4, K::InvalidMacro("%{x".into()))
        );
        assert_eq!(
            exp("\u{ef}\u{bb}\u{bf}Explanation").unwrap_err(),
            ParseError::new(0, K::InvalidCharacter('\u{ef}'))
        );
        assert_eq!(
            exp("tab\there").unwrap_err(),
            ParseError::new(3, K::InvalidCharacter('\t'))
        );
        // Round trip: spaces come back as %_, which parses to the same literal.
        assert_eq!(exp(&e.to_string()).unwrap(), e);
        assert_eq!(e.to_string(), "Connections%_from%_%{c}%_not%_authorized.");
    }

    #[test]
    fn rendering_is_canonical_and_ordered() {
        let r = ok(
            "v=spf1 +A:Example.COM/24//64 MX//64 -PTR ~ip4:192.0.2.0/24 ?ip6:2001:DB8::/32 \
                    ip4:192.0.2.1/32 Include:x.org EXISTS:%{IR}.%{l1r-}.x.org REDIRECT=%{d}.x \
                    Exp=e.%{D2} Foo=%%%_%-  -All",
        );
        assert_eq!(
            r.to_string(),
            "v=spf1 a:Example.COM/24//64 mx//64 -ptr ~ip4:192.0.2.0/24 ?ip6:2001:db8::/32 \
             ip4:192.0.2.1 include:x.org exists:%{Ir}.%{l1r-}.x.org redirect=%{d}.x \
             exp=e.%{D2} Foo=%%%_%- -all"
        );
        // Terms keep their original text.
        assert_eq!(r.terms[0].text, "+A:Example.COM/24//64");
        assert_eq!(r.terms[0].to_string(), "a:Example.COM/24//64");
        // "%%20" and "%-" are the same literal and both render as "%-".
        assert_eq!(ok("v=spf1 foo=a%%20b").to_string(), "v=spf1 foo=a%-b");
    }

    /// All TXT/SPF strings in the two conformance suites' zone data.
    fn suite_strings() -> Vec<String> {
        use serde::Deserialize;
        let mut out = Vec::new();
        for file in ["rfc7208-tests.yml", "rfc4408-tests.yml"] {
            let path = format!("{}/testdata/spf/{file}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            for doc in serde_yaml_ng::Deserializer::from_str(&text) {
                let v = serde_yaml_ng::Value::deserialize(doc).unwrap();
                let Some(zones) = v.get("zonedata").and_then(|z| z.as_mapping()) else {
                    continue;
                };
                for (_, rrs) in zones {
                    for rr in rrs.as_sequence().into_iter().flatten() {
                        let Some(m) = rr.as_mapping() else { continue };
                        for key in ["SPF", "TXT"] {
                            match m.get(key) {
                                Some(serde_yaml_ng::Value::String(s)) => out.push(s.clone()),
                                Some(serde_yaml_ng::Value::Sequence(parts)) => out.push(
                                    parts.iter().filter_map(|p| p.as_str()).collect::<String>(),
                                ),
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
        assert!(out.len() > 200, "suite strings: {}", out.len());
        out
    }

    #[test]
    fn suite_records_syntax() {
        // Every SPF record in the suites whose test expects a syntax permerror, and the
        // error we give. Records not listed here must parse.
        let expected: &[(&str, ParseErrorKind)] = &[
            (
                "v=spf1 a:\u{ef}\u{bb}\u{bf}garbage.example.net -all",
                K::InvalidCharacter('\u{ef}'),
            ),
            (
                "v=spf1 \u{80}a:example.net -all",
                K::InvalidCharacter('\u{80}'),
            ),
            (
                "v=spf1 a:example.net \u{96}all",
                K::InvalidCharacter('\u{96}'),
            ),
            (
                "v=spf1 a:ctrl.example.com\rptr -all",
                K::InvalidCharacter('\r'),
            ),
            (
                "v=spf1 ip4:192.0.2.5\n include:spf.protection.outlook.com ~all",
                K::InvalidCharacter('\n'),
            ),
            (
                "v=spf1 ip4:1.2.3.4 -all moo",
                K::UnknownMechanism("moo".into()),
            ),
            (
                "v=spf1 moo.cow/far_out=man:dog/cat ip4:1.2.3.4 -all",
                K::UnknownMechanism("moo.cow".into()),
            ),
            (
                "v=spf1 moo.cow:far_out=man:dog/cat ip4:1.2.3.4 -all",
                K::UnknownMechanism("moo.cow".into()),
            ),
            (
                "v=spf1 ip4:1.2.3.4 redirect:t2.example.com",
                K::UnknownMechanism("redirect".into()),
            ),
            (
                "v=spf1 a:foo-bar -all",
                K::InvalidDomainEnd("foo-bar".into()),
            ),
            ("v=spf1 -all.", K::UnknownMechanism("all.".into())),
            ("v=spf1 -all:foobar", K::UnexpectedArgument("all")),
            ("v=spf1 -all/8", K::UnexpectedArgument("all")),
            ("v=spf1 ptr/0 -all", K::UnexpectedCidr("ptr")),
            ("v=spf1 ptr:", K::EmptyDomain("ptr")),
            ("v=spf1 a:foo.example.com\0", K::InvalidCharacter('\0')),
            (
                "v=spf1 a:111.222.33.44",
                K::InvalidDomainEnd("111.222.33.44".into()),
            ),
            ("v=spf1 a:abc.123", K::InvalidDomainEnd("abc.123".into())),
            ("v=spf1 a:museum", K::InvalidDomainEnd("museum".into())),
            ("v=spf1 a:museum.", K::InvalidDomainEnd("museum.".into())),
            ("v=spf1 a/33 -all", K::InvalidCidr("/33".into())),
            ("v=spf1 a//129 -all", K::InvalidCidr("//129".into())),
            ("v=spf1 a/24/64 -all", K::InvalidCidr("/24/64".into())),
            (
                "v=spf1 a:example.com:8080",
                K::InvalidDomainEnd("example.com:8080".into()),
            ),
            (
                "v=spf1 a:example.-com",
                K::InvalidDomainEnd("example.-com".into()),
            ),
            ("v=spf1 a:", K::EmptyDomain("a")),
            ("v=spf1 include +all", K::MissingDomain("include")),
            ("v=spf1 include: -all", K::EmptyDomain("include")),
            (
                "v=spf1 include:ip5.example.com/24 -all",
                K::UnexpectedCidr("include"),
            ),
            ("v=spf1 mx:foo.example.com\0", K::InvalidCharacter('\0')),
            ("v=spf1 mx:abc.123", K::InvalidDomainEnd("abc.123".into())),
            ("v=spf1 mx/33 -all", K::InvalidCidr("/33".into())),
            ("v=spf1 mx//129 -all", K::InvalidCidr("//129".into())),
            (
                "v=spf1 mx:example.com:8080",
                K::InvalidDomainEnd("example.com:8080".into()),
            ),
            (
                "v=spf1 mx:example.-com",
                K::InvalidDomainEnd("example.-com".into()),
            ),
            ("v=spf1 mx: -all", K::EmptyDomain("mx")),
            ("v=spf1 exists:", K::EmptyDomain("exists")),
            ("v=spf1 exists", K::MissingDomain("exists")),
            (
                "v=spf1 exists:mail.example.com/24",
                K::UnexpectedCidr("exists"),
            ),
            ("v=spf1 ip4:1.2.3.4/33 -all", K::InvalidCidr("/33".into())),
            ("v=spf1 ip4:1.2.3.4/032 -all", K::InvalidCidr("/032".into())),
            ("v=spf1 ip4", K::MissingNetwork("ip4")),
            ("v=spf1 ip4:1.2.3.4//32", K::InvalidCidr("//32".into())),
            (
                "v=spf1 ip4:1.2.3.4:8080",
                K::InvalidIp4("1.2.3.4:8080".into()),
            ),
            ("v=spf1 ip4:1.2.3", K::InvalidIp4("1.2.3".into())),
            ("v=spf1 -all ip6", K::MissingNetwork("ip6")),
            ("v=spf1 ip6:::1.1.1.1/129", K::InvalidCidr("/129".into())),
            ("v=spf1 ip6:::1.1.1.1//33", K::InvalidCidr("//33".into())),
            (
                "v=spf1 ip6::CAFE::BABE",
                K::InvalidIp6(":CAFE::BABE".into()),
            ),
            ("v=spf1 1up=foo", K::InvalidModifierName("1up".into())),
            ("v=spf1 =all", K::InvalidModifierName(String::new())),
            ("v=spf1 -all foo=%abc", K::InvalidMacro("%a".into())),
            ("v=spf1 exp= -all", K::EmptyDomain("exp")),
            (
                "v=spf1 exp=e13msg.example.com -all exp=e11msg.example.com",
                K::DuplicateModifier("exp"),
            ),
            (
                "v=spf1 redirect=e12.example.com -all redirect=e12.example.com",
                K::DuplicateModifier("redirect"),
            ),
            ("v=spf1 exp=-all", K::InvalidDomainEnd("-all".into())),
            (
                "v=spf1 redirect=-all ?all",
                K::InvalidDomainEnd("-all".into()),
            ),
            ("v=spf1 ?all redirect=", K::EmptyDomain("redirect")),
            (
                "v=spf1 -exists:%(ir).sbl.example.com ?all",
                K::InvalidMacro("%(".into()),
            ),
            (
                "v=spf1 exists:foo%(ir).sbl.example.com ?all",
                K::InvalidMacro("%(".into()),
            ),
            (
                "v=spf1 exists:foo%.sbl.example.com ?all",
                K::InvalidMacro("%.".into()),
            ),
            (
                "v=spf1 -all exp=%{r}.example.com",
                K::ExplanationOnlyMacro("%{r}".into()),
            ),
            (
                "v=spf1 a:%{a}.example.com -all",
                K::InvalidMacro("%{a".into()),
            ),
        ];
        let strings = suite_strings();
        let mut seen = std::collections::HashSet::new();
        for s in &strings {
            if !is_spf_record(s) {
                assert_eq!(parse(s).unwrap_err().kind, K::NotSpf, "{s:?}");
                continue;
            }
            seen.insert(s.as_str());
            match expected.iter().find(|(r, _)| r == s) {
                Some((_, kind)) => assert_eq!(&parse(s).unwrap_err().kind, kind, "{s:?}"),
                None => {
                    parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"));
                }
            }
        }
        for (r, _) in expected {
            assert!(seen.contains(r), "table entry {r:?} is not in the suites");
        }
        // Syntax-valid records the suites leave to evaluation (or accept either way).
        for s in [
            "v=spf1 a:mail.example...com -all",
            "v=spf1 a:%{H}.bar -all",
            "v=spf1 a:foo:bar/baz.example.com",
            "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all",
            "v=spf1 ip4:192.0.2.5 -all",
            "v=spf1 default=+",
        ] {
            assert!(seen.contains(s), "{s:?} not in suites");
        }
        // Explanation TXT strings from the suites.
        let exp_ok = [
            "%{l}",
            "Connections from %{c} not authorized.",
            "%{c} is queried as %{ir}.%{v}.arpa",
            "connect from %{p}",
            "http://example.com/why.html?l=%{L}",
            "Congratulations!  That was tricky.",
        ];
        for s in exp_ok {
            assert!(strings.iter().any(|x| x == s), "{s}");
            assert!(
                parse_macro_string(s, MacroContext::Explanation).is_ok(),
                "{s}"
            );
        }
        assert!(parse_macro_string("The %{x}-files.", MacroContext::Explanation).is_err());
    }

    /// parse → render → parse gives the same terms, and rendering is then stable.
    fn assert_round_trip(s: &str) {
        let Ok(r1) = parse(s) else { return };
        let text1 = r1.to_string();
        let r2 = parse(&text1).unwrap_or_else(|e| panic!("{s:?} rendered as {text1:?}: {e}"));
        let k1: Vec<_> = r1.terms.iter().map(|t| &t.kind).collect();
        let k2: Vec<_> = r2.terms.iter().map(|t| &t.kind).collect();
        assert_eq!(k1, k2, "{s:?} -> {text1:?}");
        assert_eq!(r2.to_string(), text1);
        for t in &r1.terms {
            assert_eq!(t.kind.to_string(), t.to_string());
            assert_eq!(s.get(t.span()), Some(t.text.as_str()));
        }
    }

    #[test]
    fn round_trip_corpus() {
        let mut n = 0;
        for s in suite_strings() {
            if parse(&s).is_ok() {
                n += 1;
            }
            assert_round_trip(&s);
        }
        assert!(n > 100, "only {n} suite records parsed");
        for s in [
            "v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all",
            "v=spf1 foo=%%20%%-%-%_ bar=%{d}%%",
            "v=spf1 a:x.com%% exists:%{i}%_ ptr:x%-",
            "v=spf1 +a:Example.COM/24//64 mx//64 ~ip4:192.0.2.0/24 ?ip6:2001:DB8::/32",
            "v=spf1 exists:%{L1R.-+,/_=}.x.org redirect=%{d}.x. exp=e.%{D2}",
            "v=spf1 ip6:::ffff:1.2.3.4/96 ip4:1.2.3.4/32 a/32//128 a/0//0",
            "v=spf1 a:%{d}/24 mx:x.com. ptr:%{d3r}",
        ] {
            assert!(parse(s).is_ok(), "{s}");
            assert_round_trip(s);
        }
        for t in ["x.com%%", "a%%20b", "%{d}.%{S10r=}", "a b%_c %{t}"] {
            for ctx in [MacroContext::Explanation, MacroContext::ModifierValue] {
                if let Ok(m) = parse_macro_string(t, ctx) {
                    assert_eq!(parse_macro_string(&m.to_string(), ctx), Ok(m), "{t}");
                }
            }
        }
    }

    /// Tiny deterministic PRNG (xorshift) so the garbage test needs no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn exercise(s: &str) {
        let _ = is_spf_record(s);
        assert_round_trip(s);
        if let Ok(r) = parse(s) {
            let _ = r.to_string();
            let _ = (r.redirect(), r.exp(), r.directives().count());
        }
        for ctx in [
            MacroContext::DomainSpec,
            MacroContext::ModifierValue,
            MacroContext::Explanation,
        ] {
            if let Ok(m) = parse_macro_string(s, ctx) {
                assert_eq!(
                    parse_macro_string(&m.to_string(), ctx),
                    Ok(m.clone()),
                    "{s:?}"
                );
            }
        }
    }

    #[test]
    fn no_panics_on_garbage() {
        let suite = suite_strings();
        // Every prefix (at char boundaries) and suffix of every suite string.
        for s in &suite {
            for (i, _) in s.char_indices().chain([(s.len(), ' ')]) {
                exercise(&s[..i]);
                exercise(&s[i..]);
                exercise(&format!("v=spf1 {}", &s[i..]));
            }
        }
        // Single-character insertions of grammar-significant characters.
        let seeds = [
            "v=spf1 a:%{d}.example.com/24//64 ip4:1.2.3.4/8 exp=x.%{l1r-}.com -all",
            "v=spf1 ip6:2001:db8::1/64 include:_spf.x.org redirect=%{D2}",
        ];
        for seed in seeds {
            for (i, _) in seed.char_indices() {
                for c in [
                    '%', '{', '}', '/', ':', '=', '.', '-', ' ', '\t', 'é', '0', 'r', '\0',
                ] {
                    let mut m = seed.to_string();
                    m.insert(i, c);
                    exercise(&m);
                    let mut d = seed.to_string();
                    d.remove(i);
                    exercise(&d);
                }
            }
        }
        // Random bytes (lossy UTF-8), with and without a version prefix, biased towards the
        // record alphabet.
        let alphabet = b"v=spf1 aAllxmp4i6:/%{}._-+~?0123456789rdsch,=e";
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let len = (rng.next() % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = rng.next();
                    if r.is_multiple_of(4) {
                        (r >> 8) as u8
                    } else {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    }
                })
                .collect();
            let s = String::from_utf8_lossy(&bytes);
            exercise(&s);
            exercise(&format!("v=spf1 {s}"));
        }
    }
}
