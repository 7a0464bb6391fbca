//! SPF macro expansion (RFC 7208 §7): a pure function of the macro-string and the values of
//! the macro letters. `%{p}` needs DNS, so the evaluator resolves it first and passes it in.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::record::spf::{MacroExpand, MacroLetter, MacroPart, MacroString};

/// The values the macro letters expand to (RFC 7208 §7.2).
#[derive(Debug, Clone)]
pub struct MacroVars<'a> {
    /// `s`: the sender, `local-part@domain`.
    pub sender: &'a str,
    /// `l`: the sender's local-part.
    pub local: &'a str,
    /// `o`: the sender's domain.
    pub sender_domain: &'a str,
    /// `d`: the domain currently being evaluated.
    pub domain: &'a str,
    /// `i`, `v`, `c`: the client IP.
    pub ip: IpAddr,
    /// `p`: the validated domain name of the client IP, or "unknown"; resolved by the caller.
    pub validated_name: Option<&'a str>,
    /// `h`: the HELO/EHLO domain.
    pub helo: &'a str,
    /// `r`: the receiving host's name (explanations only).
    pub receiver: &'a str,
    /// `t`: seconds since the epoch (explanations only).
    pub now: u64,
}

/// Why an expansion failed (each is a permerror in a domain-spec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// `c`, `r` or `t` outside an explanation (RFC 7208 §7.2).
    ExplanationOnlyLetter(char),
    /// A zero digit transformer (`%{d0}`).
    ZeroDigits,
}

impl std::fmt::Display for ExpandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpandError::ExplanationOnlyLetter(c) => {
                write!(
                    f,
                    "macro letter '{c}' is allowed only in explanation strings"
                )
            }
            ExpandError::ZeroDigits => f.write_str("macro digit transformer must be nonzero"),
        }
    }
}

impl std::error::Error for ExpandError {}

/// Expands a macro-string. `explanation` allows `c`, `r`, `t`.
///
/// The parser already rejects `c`/`r`/`t` outside explanations and `%{d0}`; they are checked
/// again here because a `MacroString` can also be built by hand.
pub fn expand(
    ms: &MacroString,
    vars: &MacroVars<'_>,
    explanation: bool,
) -> Result<String, ExpandError> {
    let mut out = String::new();
    for part in &ms.parts {
        match part {
            MacroPart::Literal(s) => out.push_str(s),
            MacroPart::Macro(m) => out.push_str(&expand_one(m, vars, explanation)?),
        }
    }
    Ok(out)
}

/// Expands one `%{...}` (RFC 7208 §7.2, §7.3).
fn expand_one(
    m: &MacroExpand,
    vars: &MacroVars<'_>,
    explanation: bool,
) -> Result<String, ExpandError> {
    // §7.2: c, r, t are allowed only in "exp" text.
    if m.letter.explanation_only() && !explanation {
        return Err(ExpandError::ExplanationOnlyLetter(m.letter.as_char()));
    }
    // §7.3: "If a DIGIT is specified, the value MUST be nonzero."
    if m.digits == Some(0) {
        return Err(ExpandError::ZeroDigits);
    }
    let value: String = match m.letter {
        MacroLetter::S => vars.sender.to_string(),
        MacroLetter::L => vars.local.to_string(),
        MacroLetter::O => vars.sender_domain.to_string(),
        MacroLetter::D => vars.domain.to_string(),
        // §7.3: "i" is dotted-quad for IPv4, the dot-separated nibble format for IPv6.
        MacroLetter::I => ip_dotted(vars.ip),
        // §7.3: "If there are no validated domain names or if a DNS error occurs, the string
        // "unknown" is used."
        MacroLetter::P => vars.validated_name.unwrap_or("unknown").to_string(),
        // §7.2: "in-addr" for IPv4, "ip6" for IPv6.
        MacroLetter::V => match vars.ip {
            IpAddr::V4(_) => "in-addr".to_string(),
            IpAddr::V6(_) => "ip6".to_string(),
        },
        MacroLetter::H => vars.helo.to_string(),
        // §7.3: "c" is human-readable; Rust prints IPv6 in RFC 5952 form.
        MacroLetter::C => vars.ip.to_string(),
        MacroLetter::R => vars.receiver.to_string(),
        // §7.3: decimal seconds since the Epoch.
        MacroLetter::T => vars.now.to_string(),
    };
    let value = transform(&value, m);
    // §7.3: "Uppercase macros expand exactly as their lowercase equivalents, and are then URL
    // escaped."
    Ok(if m.url_escape {
        url_escape(&value)
    } else {
        value
    })
}

/// Applies the transformers and delimiters (RFC 7208 §7.3): split on any of the delimiters
/// (default "."), reverse if `r`, keep the right-most `digits` parts, join with ".".
fn transform(value: &str, m: &MacroExpand) -> String {
    if m.digits.is_none() && !m.reverse && m.delimiters.is_empty() {
        // Splitting on "." and joining with "." is the identity.
        return value.to_string();
    }
    let delims: &str = if m.delimiters.is_empty() {
        "."
    } else {
        &m.delimiters
    };
    // §7.3: "no special treatment is given to leading, trailing, or consecutive delimiters",
    // so empty parts are kept.
    let mut parts: Vec<&str> = value.split(|c: char| delims.contains(c)).collect();
    if m.reverse {
        parts.reverse();
    }
    // §7.3: keep the right-hand N parts; N larger than the count keeps all.
    let keep = m
        .digits
        .map_or(parts.len(), |n| usize::try_from(n).unwrap_or(usize::MAX));
    let skip = parts.len().saturating_sub(keep);
    parts.into_iter().skip(skip).collect::<Vec<_>>().join(".")
}

/// `%{i}`: dotted quad for IPv4; 32 dot-separated lower-case hex nibbles for IPv6
/// (RFC 7208 §7.3, example in §7.4).
fn ip_dotted(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(63);
            for (i, byte) in v6.octets().iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                // Writing to a String cannot fail.
                let _ = write!(s, "{:x}.{:x}", byte >> 4, byte & 0x0f);
            }
            s
        }
    }
}

/// Percent-encodes every byte that is not RFC 3986 "unreserved"
/// (`ALPHA / DIGIT / "-" / "." / "_" / "~"`), as `%XX` with upper-case hex (RFC 7208 §7.3).
pub fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The longest domain name, in the dotted text form without a trailing dot (RFC 7208 §7.3).
const MAX_DOMAIN_LEN: usize = 253;

/// Truncates an expanded domain to at most 253 characters by removing whole labels from the
/// left (RFC 7208 §7.3: "removing successive domain labels (and their following dots) until the
/// total length does not exceed 253 characters"). A single trailing dot (the root) is not
/// counted. If one label alone is too long it is returned as is (the lookup then fails).
pub fn truncate_domain(domain: &str) -> String {
    let counted = |d: &str| d.strip_suffix('.').unwrap_or(d).len();
    let mut rest = domain;
    while counted(rest) > MAX_DOMAIN_LEN {
        match rest.split_once('.') {
            Some((_, tail)) if !tail.is_empty() && tail != "." => rest = tail,
            _ => break,
        }
    }
    rest.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::spf::{MacroContext, parse_macro_string};
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// The RFC 7208 §7.4 setting.
    fn vars(ip: IpAddr) -> MacroVars<'static> {
        MacroVars {
            sender: "strong-bad@email.example.com",
            local: "strong-bad",
            sender_domain: "email.example.com",
            domain: "email.example.com",
            ip,
            validated_name: Some("mx.example.org"),
            helo: "mx.example.org",
            receiver: "receiver.example.net",
            now: 1_700_000_000,
        }
    }

    fn v4() -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3))
    }

    fn v6() -> IpAddr {
        IpAddr::V6("2001:db8::cb01".parse::<Ipv6Addr>().unwrap())
    }

    fn exp_in(text: &str, ip: IpAddr, ctx: MacroContext) -> Result<String, ExpandError> {
        let ms = parse_macro_string(text, ctx).unwrap();
        expand(&ms, &vars(ip), ctx == MacroContext::Explanation)
    }

    fn x(text: &str) -> String {
        exp_in(text, v4(), MacroContext::ModifierValue).unwrap()
    }

    #[test]
    fn rfc7208_section_7_4_single_macros() {
        let table = [
            ("%{s}", "strong-bad@email.example.com"),
            ("%{o}", "email.example.com"),
            ("%{d}", "email.example.com"),
            ("%{d4}", "email.example.com"),
            ("%{d3}", "email.example.com"),
            ("%{d2}", "example.com"),
            ("%{d1}", "com"),
            ("%{dr}", "com.example.email"),
            ("%{d2r}", "example.email"),
            ("%{l}", "strong-bad"),
            ("%{l-}", "strong.bad"),
            ("%{lr}", "strong-bad"),
            ("%{lr-}", "bad.strong"),
            ("%{l1r-}", "strong"),
        ];
        for (m, want) in table {
            assert_eq!(x(m), want, "{m}");
        }
    }

    #[test]
    fn rfc7208_section_7_4_macro_strings() {
        let table = [
            (
                "%{ir}.%{v}._spf.%{d2}",
                "3.2.0.192.in-addr._spf.example.com",
            ),
            ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
            (
                "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
                "bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
            ),
            (
                "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
                "3.2.0.192.in-addr.strong.lp._spf.example.com",
            ),
            (
                "%{d2}.trusted-domains.example.net",
                "example.com.trusted-domains.example.net",
            ),
        ];
        for (m, want) in table {
            assert_eq!(
                exp_in(m, v4(), MacroContext::DomainSpec).unwrap(),
                want,
                "{m}"
            );
        }
        assert_eq!(
            exp_in("%{ir}.%{v}._spf.%{d2}", v6(), MacroContext::DomainSpec).unwrap(),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
    }

    #[test]
    fn ip_letters() {
        assert_eq!(x("%{i}"), "192.0.2.3");
        assert_eq!(x("%{v}"), "in-addr");
        let i6 = exp_in("%{i}", v6(), MacroContext::ModifierValue).unwrap();
        assert_eq!(i6.split('.').count(), 32);
        assert!(i6.starts_with("2.0.0.1.0.d.b.8."));
        let c = |ip| exp_in("%{c}", ip, MacroContext::Explanation).unwrap();
        assert_eq!(c(v4()), "192.0.2.3");
        assert_eq!(c(v6()), "2001:db8::cb01");
        // Suite v-macro-ip6 (case aside, the suite expects upper-case nibbles; RFC §7.4 is lower).
        let cafe = IpAddr::V6("CAFE:BABE::1".parse().unwrap());
        assert_eq!(c(cafe), "cafe:babe::1");
        assert_eq!(
            exp_in("%{ir}.%{v}.arpa", cafe, MacroContext::Explanation).unwrap(),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.b.a.b.e.f.a.c.ip6.arpa"
        );
    }

    #[test]
    fn p_r_t_h_and_escapes() {
        assert_eq!(x("%{p}"), "mx.example.org");
        let mut v = vars(v4());
        v.validated_name = None;
        let ms = parse_macro_string("%{p}", MacroContext::DomainSpec).unwrap();
        assert_eq!(expand(&ms, &v, false).unwrap(), "unknown");
        assert_eq!(x("%{h}"), "mx.example.org");
        let e = |t| exp_in(t, v4(), MacroContext::Explanation).unwrap();
        assert_eq!(e("%{r}"), "receiver.example.net");
        assert_eq!(e("%{t}"), "1700000000");
        assert_eq!(e("at %{t} from %{c}"), "at 1700000000 from 192.0.2.3");
        assert_eq!(x("a%%b%_c%-d"), "a%b c%20d");
        // Suite macro-mania-in-domain.
        assert_eq!(
            x("macro%%percent%_%_space%-url-space.example.com"),
            "macro%percent  space%20url-space.example.com"
        );
    }

    #[test]
    fn url_escaping_uppercase_letters() {
        // Suite upper-macro: l = "~jack&jill=up-a_b3.c".
        let mut v = vars(v4());
        v.local = "jack&jill=up-a_b3.c";
        let ms = parse_macro_string("l=~%{L}", MacroContext::Explanation).unwrap();
        assert_eq!(expand(&ms, &v, true).unwrap(), "l=~jack%26jill%3Dup-a_b3.c");
        assert_eq!(x("%{S}"), "strong-bad%40email.example.com");
        assert_eq!(url_escape("a b/é~"), "a%20b%2F%C3%A9~");
        // %{D2}: transform first, then escape.
        assert_eq!(x("%{D2}"), "example.com");
    }

    #[test]
    fn transformers() {
        // Suite macro-reverse-split-on-dash / macro-multiple-delimiters.
        let mut v = vars(v4());
        v.local = "philip-gladstone-test";
        let ms = parse_macro_string("%{l2r-}", MacroContext::DomainSpec).unwrap();
        assert_eq!(expand(&ms, &v, false).unwrap(), "gladstone.philip");
        v.local = "foo-bar+baz";
        let ms = parse_macro_string("%{l2r+-}", MacroContext::DomainSpec).unwrap();
        assert_eq!(expand(&ms, &v, false).unwrap(), "bar.foo");
        // Digits beyond the part count keep everything; empty parts are kept.
        assert_eq!(x("%{d127}"), "email.example.com");
        assert_eq!(x("%{d4294967295}"), "email.example.com");
        v.domain = "a..b.";
        let ms = parse_macro_string("%{dr}", MacroContext::DomainSpec).unwrap();
        assert_eq!(expand(&ms, &v, false).unwrap(), ".b..a");
        // Delimiters alone rejoin with ".".
        assert_eq!(x("%{s-.}"), "strong.bad@email.example.com");
        assert_eq!(x("%{s2-.}"), "example.com");
    }

    #[test]
    fn errors_on_hand_built_macros() {
        let m = |letter, digits| MacroString {
            parts: vec![MacroPart::Macro(MacroExpand {
                letter,
                url_escape: false,
                digits,
                reverse: false,
                delimiters: String::new(),
            })],
        };
        let v = vars(v4());
        assert_eq!(
            expand(&m(MacroLetter::C, None), &v, false),
            Err(ExpandError::ExplanationOnlyLetter('c'))
        );
        assert_eq!(
            expand(&m(MacroLetter::T, None), &v, false),
            Err(ExpandError::ExplanationOnlyLetter('t'))
        );
        assert!(expand(&m(MacroLetter::T, None), &v, true).is_ok());
        assert_eq!(
            expand(&m(MacroLetter::D, Some(0)), &v, false),
            Err(ExpandError::ZeroDigits)
        );
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate_domain("example.com"), "example.com");
        // Suite domain-name-truncation: 8 x "somewhat.long.exp.example.com" between
        // "foobar." and ".example.com" is 258 characters; dropping "foobar." leaves 251.
        let o = "somewhat.long.exp.example.com";
        let long = format!("foobar.{}example.com", format!("{o}.").repeat(8));
        assert_eq!(long.len(), 258);
        let t = truncate_domain(&long);
        assert_eq!(t, format!("{}example.com", format!("{o}.").repeat(8)));
        assert!(t.len() <= 253);
        // Exactly 253 is kept; a trailing root dot is not counted.
        let label = "a".repeat(62);
        let d253 = format!("{label}.{label}.{label}.{label}.b");
        assert_eq!(d253.len(), 253);
        assert_eq!(truncate_domain(&d253), d253);
        assert_eq!(truncate_domain(&format!("{d253}.")), format!("{d253}."));
        assert_eq!(truncate_domain(&format!("x.{d253}")), d253);
        // A single oversized label cannot be shortened.
        let huge = "a".repeat(300);
        assert_eq!(truncate_domain(&huge), huge);
        assert_eq!(truncate_domain(&format!("{huge}.")), format!("{huge}."));
        assert_eq!(truncate_domain(""), "");
    }
}
