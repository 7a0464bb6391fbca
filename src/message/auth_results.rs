//! What earlier hosts say they found: Authentication-Results (RFC 8601), Received-SPF
//! (RFC 7208 §9.1) and ARC-Authentication-Results (RFC 8617 §4.1.1), parsed so that
//! `spfcheck replay` can show them beside its own results.
//!
//! These fields are claims: anyone on the path (the sender included) can write them, so they
//! are shown as "claimed by <authserv-id>" and are NEVER used as inputs to an evaluation
//! (RFC 8601 §5, the OpenDMARC CVE-2019-20790 class: trusting a forged SPF result). Unknown
//! methods (Hotmail's `x-hmca`) are kept as written. The reader is tolerant and bounded: it
//! never fails, it keeps what it can read and says what it could not.

use super::Message;
use super::received::clip_at;

/// The most bytes of one field value read (16 KiB).
pub const MAX_FIELD_BYTES: usize = 16 * 1024;

/// The most results kept from one field (64), and the most claims kept from a message (64).
pub const MAX_RESULTS: usize = 64;

/// One `ptype.property=value` (RFC 8601 §2.2 `propspec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// `smtp`, `header`, `body`, `policy` (or another, kept as written).
    pub ptype: String,
    pub property: String,
    pub value: String,
}

/// One `method=result` with its reason, properties and comments (RFC 8601 §2.2 `resinfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// Lower case (`spf`, `dkim`, `dmarc`, `x-hmca`, ...).
    pub method: String,
    /// The method version (`method/1`), when given.
    pub version: Option<String>,
    /// Lower case (`pass`, `fail`, ...).
    pub result: String,
    pub reason: Option<String>,
    pub properties: Vec<Property>,
    /// Comment texts, without their parentheses.
    pub comments: Vec<String>,
}

impl MethodResult {
    /// The value of `ptype.property`, if given.
    pub fn property(&self, ptype: &str, property: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|p| {
                p.ptype.eq_ignore_ascii_case(ptype) && p.property.eq_ignore_ascii_case(property)
            })
            .map(|p| p.value.as_str())
    }
}

/// A parsed Authentication-Results value (RFC 8601 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthResults {
    /// The host that wrote the field.
    pub authserv_id: String,
    pub version: Option<String>,
    /// The results in field order; empty for `none`.
    pub results: Vec<MethodResult>,
    /// What could not be read (kept as text).
    pub unparsed: Vec<String>,
}

/// Which field a claim came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimField {
    AuthenticationResults,
    ReceivedSpf,
    ArcAuthenticationResults,
}

impl ClaimField {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimField::AuthenticationResults => "Authentication-Results",
            ClaimField::ReceivedSpf => "Received-SPF",
            ClaimField::ArcAuthenticationResults => "ARC-Authentication-Results",
        }
    }
}

/// One header field's claims: who wrote it and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub field: ClaimField,
    /// The authserv-id (A-R, ARC-A-R) or the `receiver=` (Received-SPF); "unknown" when the
    /// field names none.
    pub author: String,
    /// The ARC instance (`i=`), for ARC-Authentication-Results.
    pub instance: Option<u32>,
    pub parsed: AuthResults,
    /// The value as written, unfolded (white space runs as one space), bounded.
    pub raw: String,
}

/// A lexical item (RFC 8601 §2.2 over RFC 5322 CFWS and RFC 2045 tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Quoted(String),
    Comment(String),
    Semi,
    Eq,
}

fn tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = s.chars().peekable();
    fn flush(word: &mut String, out: &mut Vec<Tok>) {
        if !word.is_empty() {
            out.push(Tok::Word(std::mem::take(word)));
        }
    }
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                flush(&mut word, &mut out);
                let text = super::comment(&mut chars);
                out.push(Tok::Comment(
                    text.split_whitespace().collect::<Vec<_>>().join(" "),
                ));
            }
            '"' => {
                flush(&mut word, &mut out);
                let mut text = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                text.push(n);
                            }
                        }
                        '"' => break,
                        _ => text.push(c),
                    }
                }
                out.push(Tok::Quoted(text));
            }
            ';' => {
                flush(&mut word, &mut out);
                out.push(Tok::Semi);
            }
            '=' => {
                flush(&mut word, &mut out);
                out.push(Tok::Eq);
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            _ => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Parses an Authentication-Results value (RFC 8601 §2.2):
/// `authserv-id [CFWS authres-version] ( no-result / 1*resinfo )`.
pub fn parse(value: &str) -> AuthResults {
    let toks = tokens(clip_at(value, MAX_FIELD_BYTES));
    let mut groups: Vec<Vec<Tok>> = vec![Vec::new()];
    for t in toks {
        match t {
            Tok::Semi => groups.push(Vec::new()),
            t => {
                if let Some(g) = groups.last_mut() {
                    g.push(t);
                }
            }
        }
    }
    let mut out = AuthResults::default();
    let mut groups = groups.into_iter();
    // The first group: authserv-id and an optional version (a number).
    for t in groups.next().unwrap_or_default() {
        match t {
            Tok::Word(w) | Tok::Quoted(w) if out.authserv_id.is_empty() => {
                out.authserv_id = clip_at(&w, 255).to_string();
            }
            Tok::Word(w) if out.version.is_none() && w.bytes().all(|b| b.is_ascii_digit()) => {
                out.version = Some(clip_at(&w, 16).to_string());
            }
            Tok::Comment(_) => {}
            other => out.unparsed.push(describe(&other)),
        }
    }
    for group in groups {
        if group.is_empty() {
            continue;
        }
        if out.results.len() >= MAX_RESULTS {
            out.unparsed.push(format!(
                "more than {MAX_RESULTS} results: the rest is not read"
            ));
            break;
        }
        match resinfo(&group) {
            Some(r) => out.results.push(r),
            None => {
                // `none` (RFC 8601 §2.2 no-result) is a group of its own.
                let text: Vec<String> = group.iter().map(describe).collect();
                if text != ["none"] {
                    out.unparsed.push(clip_at(&text.join(" "), 200).to_string());
                }
            }
        }
    }
    out
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => w.clone(),
        Tok::Quoted(q) => format!("\"{q}\""),
        Tok::Comment(c) => format!("({c})"),
        Tok::Semi => ";".into(),
        Tok::Eq => "=".into(),
    }
}

/// `method [ "/" version ] "=" result [reasonspec] *propspec`, comments anywhere.
fn resinfo(group: &[Tok]) -> Option<MethodResult> {
    let mut it = group.iter().filter(|t| !matches!(t, Tok::Comment(_)));
    let Tok::Word(method) = it.next()? else {
        return None;
    };
    if it.next()? != &Tok::Eq {
        return None;
    }
    let result = match it.next()? {
        Tok::Word(w) | Tok::Quoted(w) => w.to_ascii_lowercase(),
        _ => return None,
    };
    let (method, version) = match method.split_once('/') {
        Some((m, v)) => (m.trim(), Some(clip_at(v.trim(), 16).to_string())),
        None => (method.as_str(), None),
    };
    let mut r = MethodResult {
        method: clip_at(&method.to_ascii_lowercase(), 64).to_string(),
        version,
        result: clip_at(&result, 64).to_string(),
        reason: None,
        properties: Vec::new(),
        comments: group
            .iter()
            .filter_map(|t| match t {
                Tok::Comment(c) => Some(clip_at(c, 1000).to_string()),
                _ => None,
            })
            .take(MAX_RESULTS)
            .collect(),
    };
    // key "=" value pairs: `reason` or `ptype.property`.
    let rest: Vec<&Tok> = it.collect();
    let mut i = 0;
    while i < rest.len() {
        match (rest.get(i), rest.get(i + 1), rest.get(i + 2)) {
            (Some(Tok::Word(k)), Some(Tok::Eq), Some(Tok::Word(v) | Tok::Quoted(v))) => {
                if k.eq_ignore_ascii_case("reason") {
                    r.reason = Some(clip_at(v, 1000).to_string());
                } else if r.properties.len() < MAX_RESULTS {
                    let (ptype, property) = k.split_once('.').unwrap_or(("", k.as_str()));
                    r.properties.push(Property {
                        ptype: clip_at(&ptype.to_ascii_lowercase(), 64).to_string(),
                        property: clip_at(&property.to_ascii_lowercase(), 64).to_string(),
                        value: clip_at(v, 1000).to_string(),
                    });
                }
                i += 3;
            }
            _ => i += 1,
        }
    }
    Some(r)
}

/// Parses a Received-SPF value (RFC 7208 §9.1): `result [comment] [key=value;]...`, read as
/// one `spf` result whose author is `receiver=`.
pub fn parse_received_spf(value: &str) -> AuthResults {
    let toks = tokens(clip_at(value, MAX_FIELD_BYTES));
    let mut it = toks.iter();
    let mut out = AuthResults::default();
    let Some(Tok::Word(result)) = it.next() else {
        out.unparsed.push("no result word".into());
        return out;
    };
    let mut r = MethodResult {
        method: "spf".into(),
        version: None,
        result: clip_at(&result.to_ascii_lowercase(), 64).to_string(),
        reason: None,
        properties: Vec::new(),
        comments: Vec::new(),
    };
    let rest: Vec<&Tok> = it.collect();
    let mut i = 0;
    while i < rest.len() {
        match (rest.get(i), rest.get(i + 1), rest.get(i + 2)) {
            (Some(Tok::Comment(c)), _, _) => {
                r.comments.push(clip_at(c, 1000).to_string());
                i += 1;
            }
            (Some(Tok::Word(k)), Some(Tok::Eq), Some(Tok::Word(v) | Tok::Quoted(v))) => {
                let k = k.to_ascii_lowercase();
                if k == "receiver" {
                    out.authserv_id = clip_at(v, 255).to_string();
                }
                if r.properties.len() < MAX_RESULTS {
                    r.properties.push(Property {
                        ptype: String::new(),
                        property: clip_at(&k, 64).to_string(),
                        value: clip_at(v, 1000).to_string(),
                    });
                }
                i += 3;
            }
            _ => i += 1,
        }
    }
    out.results.push(r);
    out
}

/// Parses an ARC-Authentication-Results value (RFC 8617 §4.1.1): `i=N;` then an
/// Authentication-Results value.
pub fn parse_arc(value: &str) -> (Option<u32>, AuthResults) {
    let v = clip_at(value, MAX_FIELD_BYTES).trim_start();
    if let Some((head, rest)) = v.split_once(';') {
        let head = head.trim();
        if let Some(n) = head.strip_prefix("i=").or_else(|| head.strip_prefix("I=")) {
            return (n.trim().parse().ok(), parse(rest));
        }
    }
    (None, parse(v))
}

/// Every claim in a message's header, top first: Authentication-Results, Received-SPF and
/// ARC-Authentication-Results (at most [`MAX_RESULTS`]).
pub fn claims(msg: &Message) -> Vec<Claim> {
    let mut out = Vec::new();
    for (name, raw) in msg.headers() {
        if out.len() >= MAX_RESULTS {
            break;
        }
        let field = if name.eq_ignore_ascii_case(b"Authentication-Results") {
            ClaimField::AuthenticationResults
        } else if name.eq_ignore_ascii_case(b"Received-SPF") {
            ClaimField::ReceivedSpf
        } else if name.eq_ignore_ascii_case(b"ARC-Authentication-Results") {
            ClaimField::ArcAuthenticationResults
        } else {
            continue;
        };
        let value = raw
            .iter()
            .position(|&b| b == b':')
            .and_then(|c| raw.get(c + 1..))
            .unwrap_or_default();
        let value = String::from_utf8_lossy(value.get(..MAX_FIELD_BYTES).unwrap_or(value));
        out.push(claim(field, &value));
    }
    out
}

/// One claim from a field's value.
pub fn claim(field: ClaimField, value: &str) -> Claim {
    let (instance, parsed) = match field {
        ClaimField::AuthenticationResults => (None, parse(value)),
        ClaimField::ReceivedSpf => (None, parse_received_spf(value)),
        ClaimField::ArcAuthenticationResults => parse_arc(value),
    };
    let author = if parsed.authserv_id.is_empty() {
        "unknown".to_string()
    } else {
        parsed.authserv_id.clone()
    };
    Claim {
        field,
        author,
        instance,
        parsed,
        raw: clip_at(
            &value.split_whitespace().collect::<Vec<_>>().join(" "),
            2000,
        )
        .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hotmail_with_unknown_method() {
        let a = parse(
            " hotmail.com; spf=fail (sender IP is 81.142.190.61; identity alignment result is pass and alignment mode is relaxed) smtp.mailfrom=sales@thespykiller.co.uk; dkim=none (identity alignment result is pass and alignment mode is relaxed) header.d=thespykiller.co.uk; x-hmca=fail header.id=sales@thespykiller.co.uk",
        );
        assert_eq!(a.authserv_id, "hotmail.com");
        assert_eq!(a.results.len(), 3, "{a:?}");
        let spf = &a.results[0];
        assert_eq!((spf.method.as_str(), spf.result.as_str()), ("spf", "fail"));
        assert_eq!(
            spf.property("smtp", "mailfrom"),
            Some("sales@thespykiller.co.uk")
        );
        assert!(spf.comments[0].starts_with("sender IP is 81.142.190.61; identity"));
        assert_eq!(a.results[1].result, "none");
        assert_eq!(
            a.results[1].property("header", "d"),
            Some("thespykiller.co.uk")
        );
        assert_eq!(a.results[2].method, "x-hmca");
        assert_eq!(
            a.results[2].property("header", "id"),
            Some("sales@thespykiller.co.uk")
        );
        assert!(a.unparsed.is_empty(), "{:?}", a.unparsed);
    }

    #[test]
    fn version_reason_quoted_and_none() {
        let a = parse(
            "box.example 1;\n\tdkim=fail reason=\"signature verification failed\" (2048-bit key; unprotected) header.d=i.example header.b=\"PrsTNnuH\";\n\tdkim-atps=neutral",
        );
        assert_eq!(a.version.as_deref(), Some("1"));
        assert_eq!(a.results.len(), 2, "{a:?}");
        assert_eq!(
            a.results[0].reason.as_deref(),
            Some("signature verification failed")
        );
        assert_eq!(a.results[0].property("header", "b"), Some("PrsTNnuH"));
        assert_eq!(a.results[1].method, "dkim-atps");
        let n = parse("mx.example; none");
        assert!(n.results.is_empty() && n.unparsed.is_empty(), "{n:?}");
        let v = parse("mx.example; spf/2=pass smtp.mailfrom=a@b");
        assert_eq!(v.results[0].version.as_deref(), Some("2"));
    }

    #[test]
    fn received_spf_and_arc() {
        let r = parse_received_spf(
            " pass (mx.example: domain of a@b.example designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=\"a@b.example\"; receiver=mx.example;",
        );
        assert_eq!(r.authserv_id, "mx.example");
        assert_eq!(r.results[0].result, "pass");
        assert_eq!(r.results[0].property("", "client-ip"), Some("192.0.2.1"));
        let (i, a) = parse_arc("i=2; arc.example; spf=pass smtp.mailfrom=x@y; dmarc=pass");
        assert_eq!(i, Some(2));
        assert_eq!(a.authserv_id, "arc.example");
        assert_eq!(a.results.len(), 2);
    }

    #[test]
    fn hostile_values_do_not_panic() {
        for v in [
            "",
            ";",
            "=",
            "a;=;=",
            "(((",
            "\"",
            "a; b",
            "a; spf=",
            "a; =pass",
            "é; é=é é.é=é",
        ] {
            let _ = parse(v);
            let _ = parse_received_spf(v);
            let _ = parse_arc(v);
        }
        let many = "a".to_string() + &"; spf=pass".repeat(1000);
        assert_eq!(parse(&many).results.len(), MAX_RESULTS);
    }
}
