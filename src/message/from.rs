//! The header From of a message: the author address whose domain DMARC evaluates (RFC 9989
//! §4.10 step 1, the RFC5322.From domain). A message with no From field, several From fields,
//! or a From with no or several addresses has no single Author Domain: RFC 9989 §5.3.1 puts
//! it outside DMARC and §11.5 leaves multi-author mail to the receiver, so it is reported as
//! such rather than reduced to one domain.

use super::Message;

/// The one author of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// `local@domain` as written (comments, display name and angle brackets removed).
    pub address: String,
    /// The domain part as written (the caller validates and normalises it).
    pub domain: String,
}

/// Why a message has no single author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromProblem {
    /// No From field (RFC 5322 §3.6 requires exactly one).
    Missing,
    /// More than one From field.
    SeveralFields(usize),
    /// A From field with no address (e.g. an empty group `undisclosed:;`).
    NoAddress,
    /// A From field with several author addresses (RFC 5322 §3.6.2 allows it, with Sender).
    SeveralAddresses(usize),
    /// The address could not be read (no `@`, unbalanced brackets, a domain literal).
    Unreadable(String),
}

impl std::fmt::Display for FromProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const WHY: &str =
            "DMARC evaluates exactly one From domain (RFC 9989 §4.10, §5.3.1; §11.5 multi-author)";
        match self {
            FromProblem::Missing => write!(f, "the message has no From header field; {WHY}"),
            FromProblem::SeveralFields(n) => {
                write!(f, "the message has {n} From header fields; {WHY}")
            }
            FromProblem::NoAddress => {
                write!(f, "the message's From header field holds no address; {WHY}")
            }
            FromProblem::SeveralAddresses(n) => write!(
                f,
                "the message's From header field holds {n} author addresses; {WHY}: check each author with its own --from"
            ),
            FromProblem::Unreadable(why) => {
                write!(f, "the message's From header field cannot be read: {why}")
            }
        }
    }
}

/// The single author of `msg` (RFC 5322 §3.6.2 `from = "From:" mailbox-list`).
pub fn author(msg: &Message) -> Result<Author, FromProblem> {
    let values: Vec<&[u8]> = msg.values("From").collect();
    let value = match values.as_slice() {
        [] => return Err(FromProblem::Missing),
        [v] => *v,
        many => return Err(FromProblem::SeveralFields(many.len())),
    };
    // RFC 6532 allows UTF-8 in header values; other bytes are shown as U+FFFD.
    let text = String::from_utf8_lossy(value);
    // Unfold (RFC 5322 §2.2.3): CRLF followed by white space is white space.
    let text = text.replace("\r\n", "");
    let mailboxes = split_mailboxes(&text);
    match mailboxes.len() {
        0 => Err(FromProblem::NoAddress),
        1 => mailboxes
            .into_iter()
            .next()
            .map_or(Err(FromProblem::NoAddress), |m| parse_mailbox(&m)),
        n => Err(FromProblem::SeveralAddresses(n)),
    }
}

/// The mailboxes of an address list with comments removed: split at commas outside quoted
/// strings, comments and angle brackets (RFC 5322 §3.4); a group's `display-name:` and its
/// closing `;` are dropped (§3.4 group); entries with no `@` and no `<` are not addresses.
fn split_mailboxes(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut escaped, mut comment, mut angle) = (false, false, 0usize, false);
    let mut flush = |cur: &mut String| {
        let t = cur.trim();
        if t.contains('@') || t.contains('<') {
            out.push(t.to_string());
        }
        cur.clear();
    };
    for c in s.chars() {
        if escaped {
            escaped = false;
            if comment == 0 {
                cur.push(c);
            }
            continue;
        }
        match c {
            '\\' if quoted || comment > 0 => {
                escaped = true;
                if comment == 0 {
                    cur.push(c);
                }
            }
            '"' if comment == 0 => {
                quoted = !quoted;
                cur.push(c);
            }
            '(' if !quoted => comment += 1,
            ')' if !quoted && comment > 0 => comment -= 1,
            _ if comment > 0 => {}
            '<' if !quoted => {
                angle = true;
                cur.push(c);
            }
            '>' if !quoted => {
                angle = false;
                cur.push(c);
            }
            ':' if !quoted && !angle => cur.clear(), // a group's display name
            ';' | ',' if !quoted && !angle => flush(&mut cur),
            _ => cur.push(c),
        }
    }
    flush(&mut cur);
    out
}

/// `[display-name] <addr-spec>` or a bare `addr-spec` (comments already removed).
fn parse_mailbox(m: &str) -> Result<Author, FromProblem> {
    let addr = match (m.rfind('<'), m.rfind('>')) {
        (Some(a), Some(b)) if a < b => m.get(a + 1..b).unwrap_or_default(),
        (None, None) => m,
        _ => return Err(FromProblem::Unreadable("unbalanced angle brackets".into())),
    };
    // RFC 5322 §4.4 obs-route: `<@relay:addr@domain>`.
    let addr = addr.rsplit_once(':').map_or(addr, |(_, a)| a);
    let addr: String = addr.chars().filter(|c| !c.is_whitespace()).collect();
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return Err(FromProblem::Unreadable("the address has no @domain".into()));
    };
    if local.is_empty() {
        return Err(FromProblem::Unreadable(
            "the address has an empty local-part".into(),
        ));
    }
    if domain.starts_with('[') {
        return Err(FromProblem::Unreadable(
            "the domain is an address literal, which has no DMARC policy".into(),
        ));
    }
    if domain.is_empty() {
        return Err(FromProblem::Unreadable("the domain is empty".into()));
    }
    Ok(Author {
        address: addr.clone(),
        domain: domain.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(v: &str) -> Result<Author, FromProblem> {
        author(&Message::parse(format!("From:{v}\n\nx").as_bytes()).unwrap())
    }

    #[test]
    fn single_authors() {
        assert_eq!(from(" a@b.example").unwrap().domain, "b.example");
        let a = from(" \"Doe, John\" <j@y.example> (work, x@z.example)").unwrap();
        assert_eq!(a.address, "j@y.example");
        assert_eq!(
            from(" Sales\n <sales@Brand.Example>").unwrap().domain,
            "Brand.Example"
        );
        assert_eq!(
            from(" <@relay.example:a@c.example>").unwrap().domain,
            "c.example"
        );
        assert_eq!(from(" team: a@g.example;").unwrap().domain, "g.example");
        assert_eq!(from(" \"a@q\" <r@s.example>").unwrap().domain, "s.example");
    }

    #[test]
    fn no_single_author() {
        assert_eq!(
            from(" a@x.example, B <b@y.example>"),
            Err(FromProblem::SeveralAddresses(2))
        );
        assert_eq!(
            from(" undisclosed-recipients:;"),
            Err(FromProblem::NoAddress)
        );
        assert_eq!(from(" "), Err(FromProblem::NoAddress));
        assert!(matches!(from(" nobody"), Err(FromProblem::NoAddress)));
        assert!(matches!(from(" x <a@b"), Err(FromProblem::Unreadable(_))));
        assert!(matches!(
            from(" a@[192.0.2.1]"),
            Err(FromProblem::Unreadable(_))
        ));
        let m = Message::parse(b"To: a@b\n\nx").unwrap();
        assert_eq!(author(&m), Err(FromProblem::Missing));
        let m = Message::parse(b"From: a@b\nFrom: c@d\n\nx").unwrap();
        assert_eq!(author(&m), Err(FromProblem::SeveralFields(2)));
        assert!(
            FromProblem::SeveralAddresses(2)
                .to_string()
                .contains("RFC 9989")
        );
    }
}
