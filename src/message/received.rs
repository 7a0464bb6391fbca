//! The Received chain of a message (RFC 5321 §4.4 trace fields): for each hop the name the
//! client gave in HELO (`from`), the client's IP the receiving host recorded in its TCP-info
//! comment (`[192.0.2.1]`, `[IPv6:2001:db8::1]`), `by`, `with`, `id` and the date after the
//! last `;`. `spfcheck replay` reads the connecting IP and HELO name of the hop the receiver
//! checked from here, and shows the relay path.
//!
//! Real Received fields follow the grammar loosely (Postfix, Exchange's `with Microsoft
//! SMTPSVC(7.5…)`, `from 1.2.3.4 (unknown [81.142.190.59])`, `by host (Postfix, from userid
//! 116)`), so the reader is tolerant: it takes what it recognises and leaves the rest out. It
//! is bounded (a value longer than [`MAX_RECEIVED_BYTES`] is read up to that; at most
//! [`MAX_HOPS`] fields) and never panics.

use std::net::IpAddr;

use super::Message;

/// The most bytes of one Received value read (8 KiB; real ones are a few hundred).
pub const MAX_RECEIVED_BYTES: usize = 8 * 1024;

/// The most Received fields read (100, far above any real relay chain; RFC 5321 §6.3 lets a
/// server refuse mail with more than 100).
pub const MAX_HOPS: usize = 100;

/// One Received field: one hop of the relay path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hop {
    /// The name the client gave in HELO/EHLO (the word after `from`).
    pub from: Option<String>,
    /// The client's IP address, from the TCP-info comment after `from` (or `from [IP]`).
    pub ip: Option<IpAddr>,
    /// The reverse DNS name the receiving host recorded in that comment, when there is one.
    pub from_rdns: Option<String>,
    /// The host that added the field.
    pub by: Option<String>,
    /// The protocol (`ESMTP`, `ESMTPS`, `Microsoft SMTPSVC`).
    pub with: Option<String>,
    /// The receiving host's queue ID.
    pub id: Option<String>,
    /// The date after the last `;`, as written.
    pub date: Option<String>,
}

/// The Received chain of `msg`, top first (the topmost was added by the last receiver).
pub fn chain(msg: &Message) -> Vec<Hop> {
    msg.values("Received")
        .take(MAX_HOPS)
        .map(|v| {
            parse(&String::from_utf8_lossy(
                v.get(..MAX_RECEIVED_BYTES).unwrap_or(v),
            ))
        })
        .collect()
}

/// A lexical item of a Received value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Word(String),
    /// A comment's text without its parentheses (nested comments flattened).
    Comment(String),
}

/// Splits a value into words and comments (RFC 5322 §3.2.2 CFWS: nested parentheses, quoted
/// pairs). An unclosed comment runs to the end.
fn items(s: &str) -> Vec<Item> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = s.chars();
    let flush = |word: &mut String, out: &mut Vec<Item>| {
        if !word.is_empty() {
            out.push(Item::Word(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                flush(&mut word, &mut out);
                let text = super::comment(&mut chars);
                out.push(Item::Comment(text));
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            _ => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The IP address in a bracketed address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`,
/// RFC 5321 §4.1.3), anywhere in `s`.
pub fn bracketed_ip(s: &str) -> Option<IpAddr> {
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        let after = rest.get(open + 1..)?;
        let close = after.find(']')?;
        let inner = after.get(..close)?.trim();
        let inner = inner
            .strip_prefix("IPv6:")
            .or_else(|| inner.strip_prefix("ipv6:"))
            .unwrap_or(inner);
        if let Ok(ip) = inner.parse::<IpAddr>() {
            return Some(ip.to_canonical());
        }
        rest = after.get(close + 1..)?;
    }
    None
}

/// Reads one Received value (RFC 5321 §4.4: `from`, `by`, `via`, `with`, `id`, `for` clauses,
/// then `;` and the date). Clauses may come in any order or be missing; unknown words are
/// skipped.
pub fn parse(value: &str) -> Hop {
    let value = clip_at(value, MAX_RECEIVED_BYTES);
    // The date follows the last ';' outside comments; a ';' inside a comment is rare enough
    // that the last ';' overall is taken.
    let (clauses, date) = match value.rfind(';') {
        Some(i) => (
            value.get(..i).unwrap_or(value),
            value
                .get(i + 1..)
                .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|d| !d.is_empty()),
        ),
        None => (value, None),
    };
    let mut hop = Hop {
        date,
        ..Hop::default()
    };
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Clause {
        None,
        From,
        By,
        With,
        Id,
        Other,
    }
    let mut clause = Clause::None;
    let mut with_words: Vec<String> = Vec::new();
    for item in items(clauses) {
        match item {
            Item::Word(w) => {
                let keyword = match w.to_ascii_lowercase().as_str() {
                    "from" => Some(Clause::From),
                    "by" => Some(Clause::By),
                    "with" => Some(Clause::With),
                    "id" => Some(Clause::Id),
                    "via" | "for" => Some(Clause::Other),
                    _ => None,
                };
                if let Some(k) = keyword {
                    clause = k;
                    continue;
                }
                match clause {
                    Clause::From if hop.from.is_none() => {
                        if let Some(ip) = bracketed_ip(&w) {
                            hop.ip.get_or_insert(ip);
                        }
                        hop.from = Some(clip(&w));
                    }
                    Clause::By if hop.by.is_none() => hop.by = Some(clip(&w)),
                    Clause::With if with_words.len() < 4 => with_words.push(clip(&w)),
                    Clause::Id if hop.id.is_none() => hop.id = Some(clip(&w)),
                    _ => {}
                }
            }
            Item::Comment(c) => {
                // The TCP-info comment after `from` (RFC 5321 §4.4: `[IP]`, often preceded by
                // the reverse DNS name or "unknown").
                if clause == Clause::From
                    && hop.ip.is_none()
                    && let Some(ip) = bracketed_ip(&c)
                {
                    hop.ip = Some(ip);
                    let name = c.split(['[', ' ']).next().unwrap_or("").trim();
                    if !name.is_empty() && name != "unknown" && !name.contains(['=', ',']) {
                        hop.from_rdns = Some(clip(name));
                    }
                }
            }
        }
    }
    if !with_words.is_empty() {
        hop.with = Some(with_words.join(" "));
    }
    hop
}

/// A word of at most 255 bytes (a domain name's length, RFC 1035 §2.3.4), cut at a character.
fn clip(s: &str) -> String {
    clip_at(s, 255).to_string()
}

/// `s` cut to at most `max` bytes, at a character boundary.
pub fn clip_at(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_smtpsvc() {
        let h = parse(
            " from dain.r-pl.co.uk ([81.142.190.61]) by BAY004-MC1F36.hotmail.com with Microsoft SMTPSVC(7.5.7601.23143);\r\n Sat, 15 Jul 2021 15:51:19 -0700",
        );
        assert_eq!(h.from.as_deref(), Some("dain.r-pl.co.uk"));
        assert_eq!(h.ip, Some("81.142.190.61".parse().unwrap()));
        assert_eq!(h.by.as_deref(), Some("BAY004-MC1F36.hotmail.com"));
        assert_eq!(h.with.as_deref(), Some("Microsoft SMTPSVC"));
        assert_eq!(h.date.as_deref(), Some("Sat, 15 Jul 2021 15:51:19 -0700"));
        assert_eq!(h.from_rdns, None);
    }

    #[test]
    fn postfix_unknown_and_ip_helo() {
        let h = parse(
            " from 167.114.77.157 (unknown [81.142.190.59])\r\n by dain.r-pl.co.uk (Postfix) with ESMTP id 74C58441FBA\r\n for <recipient@hotmail.com>; Sat, 15 Jul 2021 23:51:12 +0100 (BST)",
        );
        assert_eq!(h.from.as_deref(), Some("167.114.77.157"));
        assert_eq!(h.ip, Some("81.142.190.59".parse().unwrap()));
        assert_eq!(h.by.as_deref(), Some("dain.r-pl.co.uk"));
        assert_eq!(h.with.as_deref(), Some("ESMTP"));
        assert_eq!(h.id.as_deref(), Some("74C58441FBA"));
    }

    #[test]
    fn by_comment_is_not_the_client() {
        let h = parse(
            " from dain.r-pl.co.uk ([127.0.0.1]) by localhost (mail.r-pl.co.uk [127.0.0.1]) (amavisd-new, port 10024) with ESMTP id ckjSqcIjV0JE for <r@hotmail.com>; Sat, 15 Jul 2021 23:51:16 +0100 (BST)",
        );
        assert_eq!(h.ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(h.by.as_deref(), Some("localhost"));
        let h = parse(" by box.example (Postfix, from userid 116) id CF8; Tue, 5 Oct 2021");
        assert_eq!(h.ip, None);
        assert_eq!(h.from, None);
        assert_eq!(h.by.as_deref(), Some("box.example"));
    }

    #[test]
    fn ipv6_and_rdns() {
        let h = parse(
            "from mail.example (mail.example [IPv6:2001:db8::25]) by mx.example with ESMTPS id x; Mon, 1 Jan 2024 00:00:00 +0000",
        );
        assert_eq!(h.ip, Some("2001:db8::25".parse().unwrap()));
        assert_eq!(h.from_rdns.as_deref(), Some("mail.example"));
        let h = parse("from [192.0.2.7] by mx.example; x");
        assert_eq!(h.ip, Some("192.0.2.7".parse().unwrap()));
        let h = parse("from x (x [::ffff:192.0.2.8]) by y");
        assert_eq!(h.ip, Some("192.0.2.8".parse().unwrap()));
    }

    #[test]
    fn hostile_values_do_not_panic() {
        for v in [
            "",
            ";",
            "((((",
            "from (",
            "from [",
            "from [IPv6:",
            ")))",
            "by",
            "from ; by",
            "from é (é [é]) by é",
            "\\",
            "(\\",
        ] {
            let _ = parse(v);
        }
        let long = "from ".to_string() + &"a".repeat(100_000);
        let h = parse(&long);
        assert!(h.from.unwrap().len() <= 255);
    }
}
