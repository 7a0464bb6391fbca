//! The header From of a message: the author address whose domain DMARC evaluates (RFC 9989
//! §4.10 step 1, the RFC5322.From domain). A message with no From field, several From fields,
//! or a From with no or several addresses has no single Author Domain: RFC 9989 §5.3.1 puts
//! it outside DMARC and §11.5 leaves multi-author mail to the receiver, so it is reported as
//! such rather than reduced to one domain.

use super::Message;
use mail_parser::parsers::MessageStream;
use mail_parser::{Address, HeaderValue};

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

/// The most bytes of a From field value handed to the address parser (64 KiB): far above any
/// real author list (RFC 5322 §2.1.1 lines are at most 998 characters), and a bound on the
/// work one field can ask for within the message's own bound.
pub const MAX_FROM_VALUE_BYTES: usize = 64 * 1024;

/// The single author of `msg` (RFC 5322 §3.6.2 `from = "From:" mailbox-list`).
///
/// The From fields are counted here (RFC 9989 §4.10, §5.3.1: exactly one); the value of the
/// one field is read by `mail-parser` (RFC 5322 §3.4 address lists and groups, comments,
/// quoted strings, RFC 2047 encoded words in display names, §4.4 obs- syntax). What the crate
/// reads loosely is checked after it: see [`author_of`].
pub fn author(msg: &Message) -> Result<Author, FromProblem> {
    let values: Vec<&[u8]> = msg.values("From").collect();
    let value = match values.as_slice() {
        [] => return Err(FromProblem::Missing),
        [v] => *v,
        many => return Err(FromProblem::SeveralFields(many.len())),
    };
    if value.len() > MAX_FROM_VALUE_BYTES {
        return Err(FromProblem::Unreadable(format!(
            "the field is longer than {MAX_FROM_VALUE_BYTES} bytes"
        )));
    }
    // The crate reads a field value up to its terminating line end (CRLF not followed by
    // white space, RFC 5322 §2.2.3); the view holds the value without it.
    let mut field = Vec::with_capacity(value.len() + 2);
    field.extend_from_slice(value);
    field.extend_from_slice(b"\r\n");
    let parsed = MessageStream::new(&field).parse_address();
    let addrs: Vec<(&str, Option<&str>)> = match &parsed {
        HeaderValue::Address(Address::List(list)) => list.iter().filter_map(addr).collect(),
        // A group's members are mailboxes of the list (RFC 5322 §3.4 group); an empty group
        // (`undisclosed-recipients:;`) holds none.
        HeaderValue::Address(Address::Group(groups)) => groups
            .iter()
            .flat_map(|g| g.addresses.iter())
            .filter_map(addr)
            .collect(),
        _ => Vec::new(),
    };
    match addrs.as_slice() {
        [] => Err(FromProblem::NoAddress),
        // Whether the address was written in angle brackets (`Name <@b.example>` has an empty
        // local part; `"a@b"@q.example` has a quoted one the crate moved into the name).
        [(address, name)] => author_of(address, *name, value.contains(&b'<')),
        many => Err(FromProblem::SeveralAddresses(many.len())),
    }
}

/// An entry of the crate's list that holds an address (text without one, such as a lone
/// `nobody` or a trailing comment, is a display name or comment, not a mailbox).
fn addr<'a>(a: &'a mail_parser::Addr<'_>) -> Option<(&'a str, Option<&'a str>)> {
    let address = a.address.as_deref()?;
    (!address.trim().is_empty()).then_some((address, a.name.as_deref()))
}

/// The author from the one address the crate read, checked where the crate is lenient.
fn author_of(address: &str, name: Option<&str>, angle: bool) -> Result<Author, FromProblem> {
    // RFC 5322 §4.4 obs-local-part / obs-domain allow CFWS around the dots; the crate keeps
    // the white space (`a @ b . example`). Two addresses written without a comma come back
    // as one (`a@x c@y`, `<a@x> <c@y>` → `a@xc@y`): the `@` count below refuses them.
    let mut addr: String = address.chars().filter(|c| !c.is_whitespace()).collect();
    // RFC 5322 §4.4 obs-route: `<@relay:addr@domain>` (the crate keeps the route).
    if addr.starts_with('@')
        && let Some((_, a)) = addr.rsplit_once(':')
    {
        addr = a.to_string();
    }
    let Some((local, domain)) = addr.split_once('@') else {
        return Err(FromProblem::Unreadable("the address has no @domain".into()));
    };
    if domain.contains('@') {
        return Err(FromProblem::Unreadable(
            "several addresses without a comma between them".into(),
        ));
    }
    // The crate reads a quoted local part (`"a@b"@q.example`) or a commented one
    // (`a(c)@b.example`) as a display name followed by `@domain`: the domain is right, the
    // local part is in `name`. Rebuild a quoted local part from it (RFC 5322 §3.4.1); a
    // comment in it comes back quoted too (`"a (c)"`), the domain is right either way.
    let local = match (local.is_empty(), name) {
        (false, _) => local.to_string(),
        (true, Some(n)) if !angle && !n.trim().is_empty() => {
            format!("\"{}\"", n.replace('\\', "\\\\").replace('"', "\\\""))
        }
        (true, _) => {
            return Err(FromProblem::Unreadable(
                "the address has an empty local-part".into(),
            ));
        }
    };
    if domain.starts_with('[') {
        return Err(FromProblem::Unreadable(
            "the domain is an address literal, which has no DMARC policy".into(),
        ));
    }
    if domain.is_empty() {
        return Err(FromProblem::Unreadable("the domain is empty".into()));
    }
    Ok(Author {
        address: format!("{local}@{domain}"),
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
        // An unclosed angle-addr is read to the end of the field (the crate is lenient there).
        assert_eq!(from(" x <a@b.example").unwrap().address, "a@b.example");
        // obs- syntax (RFC 5322 §4.4): white space around the `@` and the dots.
        assert_eq!(from(" a @ b . example").unwrap().address, "a@b.example");
    }

    /// What the crate reads that a hand scanner gets wrong or does not decode.
    #[test]
    fn crate_reads() {
        // An RFC 2047 encoded-word display name hiding `@` and `,` (B and Q encodings): one
        // author, the address in the angle brackets.
        let b = " =?utf-8?B?YmFua0BicmFuZC5leGFtcGxlLCBTdXBwb3J0?= <s@evil.example>";
        assert_eq!(from(b).unwrap().address, "s@evil.example");
        let q = " =?utf-8?q?bank=40brand.example=2C_Support?= <s@evil.example>";
        assert_eq!(from(q).unwrap().domain, "evil.example");
        // A comment holding an address is no address (RFC 5322 §3.2.2).
        let a = from(" x@evil.example (a@brand.example)").unwrap();
        assert_eq!(
            (a.address.as_str(), a.domain.as_str()),
            ("x@evil.example", "evil.example")
        );
        // A nested comment with an escaped parenthesis, comments in the address.
        let pete = " Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>";
        assert_eq!(from(pete).unwrap().address, "pete@silly.test");
        // A quoted local part holding `@` (RFC 5322 §3.4.1): the domain is the one after it.
        let a = from(" \"a@b\"@q.example").unwrap();
        assert_eq!(
            (a.address.as_str(), a.domain.as_str()),
            ("\"a@b\"@q.example", "q.example")
        );
        // A group with a comment after it: one member, one author (RFC 5322 Appendix A.1.3).
        let g = " A Group(Some people):Chris Jones <c@(Chris's host.)public.example>; (end)";
        assert_eq!(from(g).unwrap().domain, "public.example");
        assert_eq!(
            from(" g1: a@x.example;, g2: c@y.example;"),
            Err(FromProblem::SeveralAddresses(2))
        );
        // Over the bound: refused before parsing.
        let long = format!(" {}@x.example", "a".repeat(MAX_FROM_VALUE_BYTES));
        assert!(matches!(from(&long), Err(FromProblem::Unreadable(_))));
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
        // Two addresses without a comma: the crate joins them, the `@` count refuses them.
        for v in [" <a@x.example> <c@y.example>", " a@x.example c@y.example"] {
            assert!(matches!(from(v), Err(FromProblem::Unreadable(_))), "{v}");
        }
        assert!(matches!(
            from(" <@b.example>"),
            Err(FromProblem::Unreadable(_))
        ));
        assert!(matches!(from(" a@"), Err(FromProblem::Unreadable(_))));
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
