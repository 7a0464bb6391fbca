//! The DNS seam: one small trait for the queries SPF, DKIM and DMARC need, and typed answers
//! that keep NXDOMAIN, NODATA, SERVFAIL and timeouts apart (SPF's void-lookup rule, RFC 7208
//! §4.6.4, and its temperror rule, §2.6.6, depend on exactly that distinction).
//!
//! Everything else in this module is either a backend (`hickory`: live DNS) or a wrapper around
//! another `Resolver`: `overlay` (zone-file data over live DNS, or alone when offline), `fault`
//! (injected failures), `recorder` (every query and answer, the source of evaluation traces) and
//! `cache` (TTL-honouring, shared).

pub mod cache;
pub mod fault;
pub mod hickory;
pub mod overlay;
pub mod recorder;
pub mod zone;

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use serde::Serialize;

/// The record types the evaluators ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RType {
    A,
    Aaaa,
    Mx,
    Txt,
    Ptr,
    Cname,
}

impl RType {
    /// The mnemonic as written in zone files and traces.
    pub fn as_str(self) -> &'static str {
        match self {
            RType::A => "A",
            RType::Aaaa => "AAAA",
            RType::Mx => "MX",
            RType::Txt => "TXT",
            RType::Ptr => "PTR",
            RType::Cname => "CNAME",
        }
    }

    /// The number of types: the length of a table indexed by [`RType::index`].
    pub(crate) const COUNT: usize = 6;

    /// A dense index, below [`RType::COUNT`], for per-type tables.
    pub(crate) fn index(self) -> usize {
        match self {
            RType::A => 0,
            RType::Aaaa => 1,
            RType::Mx => 2,
            RType::Txt => 3,
            RType::Ptr => 4,
            RType::Cname => 5,
        }
    }

    /// Parses a mnemonic, case-insensitively.
    pub fn from_name(s: &str) -> Option<RType> {
        match s.to_ascii_uppercase().as_str() {
            "A" => Some(RType::A),
            "AAAA" => Some(RType::Aaaa),
            "MX" => Some(RType::Mx),
            "TXT" => Some(RType::Txt),
            "PTR" => Some(RType::Ptr),
            "CNAME" => Some(RType::Cname),
            _ => None,
        }
    }
}

impl fmt::Display for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One resource record's data. Names are absolute, lower-case, without the trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Mx {
        preference: u16,
        exchange: String,
    },
    /// The character-strings of one TXT record, kept apart and as raw bytes (they need not be
    /// UTF-8). SPF and DMARC join them with no separator (RFC 7208 §3.3).
    Txt(Vec<Vec<u8>>),
    Ptr(String),
    Cname(String),
    /// A type no evaluator queries (SOA, NS, SPF, CAA, ...), kept from zone files so that its
    /// owner name exists (NODATA rather than NXDOMAIN) and so test servers can serve it.
    Other {
        rtype: String,
        rdata: String,
    },
}

impl RData {
    /// The type of this data, or `None` for [`RData::Other`].
    pub fn rtype(&self) -> Option<RType> {
        match self {
            RData::A(_) => Some(RType::A),
            RData::Aaaa(_) => Some(RType::Aaaa),
            RData::Mx { .. } => Some(RType::Mx),
            RData::Txt(_) => Some(RType::Txt),
            RData::Ptr(_) => Some(RType::Ptr),
            RData::Cname(_) => Some(RType::Cname),
            RData::Other { .. } => None,
        }
    }

    /// A TXT record's strings joined with no separator, non-UTF-8 bytes replaced (U+FFFD).
    pub fn txt_joined(&self) -> Option<String> {
        match self {
            RData::Txt(parts) => {
                let bytes: Vec<u8> = parts.concat();
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }
            _ => None,
        }
    }
}

impl fmt::Display for RData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RData::A(a) => write!(f, "{a}"),
            RData::Aaaa(a) => write!(f, "{a}"),
            // The root name (a null MX, RFC 7505) is stored empty; show it as ".".
            RData::Mx {
                preference,
                exchange,
            } if exchange.is_empty() => write!(f, "{preference} ."),
            RData::Mx {
                preference,
                exchange,
            } => write!(f, "{preference} {exchange}"),
            RData::Txt(parts) => {
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    f.write_str("\"")?;
                    for &b in p {
                        match b {
                            b'"' | b'\\' => write!(f, "\\{}", b as char)?,
                            0x20..=0x7e => write!(f, "{}", b as char)?,
                            _ => write!(f, "\\{b:03}")?,
                        }
                    }
                    f.write_str("\"")?;
                }
                Ok(())
            }
            RData::Ptr(n) | RData::Cname(n) if n.is_empty() => f.write_str("."),
            RData::Ptr(n) | RData::Cname(n) => f.write_str(n),
            RData::Other { rdata, .. } => f.write_str(rdata),
        }
    }
}

/// One resource record: owner name (absolute, lower-case, no trailing dot), TTL and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub ttl: u32,
    pub data: RData,
}

/// What one query produced. The failure kinds are kept apart because the RFCs treat them
/// differently: NXDOMAIN and NODATA are answers ("no such record"), the rest are failures
/// that must become `temperror`, never "no record".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// At least one record of the asked type (after following CNAMEs). Shared (`Arc`): zone
    /// data and caches hand out the same records to every query without copying them.
    Records { data: Arc<[RData]>, ttl: u32 },
    /// RCODE NXDOMAIN: the name does not exist.
    NxDomain,
    /// NOERROR with an empty answer section: the name exists, without records of this type.
    NoData,
    /// RCODE SERVFAIL.
    ServFail,
    /// RCODE REFUSED (the string names it, for display). Other error rcodes (FORMERR, NOTIMP,
    /// ...) are [`Answer::Error`]s naming the rcode.
    Refused(String),
    /// No answer within the per-query timeout (or the overall deadline).
    Timeout,
    /// Anything else that prevented an answer, with its cause: a CNAME loop or a chain over
    /// the hop limit, a closed port, no network, a malformed answer, another error rcode.
    Error(String),
}

impl Answer {
    /// True for outcomes that are DNS failures (temperror material), not answers.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Answer::ServFail | Answer::Refused(_) | Answer::Timeout | Answer::Error(_)
        )
    }

    /// True for the two "no records" answers (RFC 7208 §4.6.4 void lookups).
    pub fn is_void(&self) -> bool {
        matches!(self, Answer::NxDomain | Answer::NoData)
    }

    /// The records of a positive answer, or an empty slice.
    pub fn records(&self) -> &[RData] {
        match self {
            Answer::Records { data, .. } => data,
            _ => &[],
        }
    }

    /// A short machine-friendly name of the outcome kind: one of the closed set of trace
    /// query outcomes (`records`, `NXDOMAIN`, `NODATA`, `SERVFAIL`, `REFUSED`, `timeout`,
    /// `error`).
    /// The cause a failure carries, as ": cause" to append to a sentence (a CNAME loop, a
    /// refused port, an error RCODE...), or "" when the kind says it all.
    pub fn cause_suffix(&self) -> String {
        match self {
            Answer::Error(cause) if !cause.is_empty() => format!(": {cause}"),
            Answer::Refused(code) if code != "REFUSED" => format!(": {code}"),
            _ => String::new(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Answer::Records { .. } => "records",
            Answer::NxDomain => "NXDOMAIN",
            Answer::NoData => "NODATA",
            Answer::ServFail => "SERVFAIL",
            Answer::Refused(_) => "REFUSED",
            Answer::Timeout => "timeout",
            Answer::Error(_) => "error",
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Records { data, .. } => {
                for (i, d) in data.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{d}")?;
                }
                Ok(())
            }
            Answer::Refused(code) => write!(f, "{code}"),
            Answer::Error(e) => write!(f, "error: {e}"),
            other => f.write_str(other.kind()),
        }
    }
}

/// An answer with what a backend knows about it beyond the records: why it failed, how long a
/// negative answer may be cached, and whether a cache served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub answer: Answer,
    /// The cause of a failure or what was odd on the way (e.g. "ignored 2 answers with a
    /// mismatched ID"); for [`Answer::Error`] the same text as the error.
    pub detail: Option<String>,
    /// RFC 2308 §5: how long an NXDOMAIN or NODATA may be cached, the lesser of the SOA
    /// record's TTL and its MINIMUM field (from the authority section); `None` when the
    /// answer carried no SOA.
    pub negative_ttl: Option<u32>,
    /// Answered by a cache (a stored answer, or one shared with a concurrent identical query),
    /// not by a query of its own.
    pub cached: bool,
    /// The CNAME chain the backend followed to the answer (RFC 1034 §3.6.2), the queried name
    /// first and the final target last; empty when no CNAME was followed.
    pub cname_chain: Vec<String>,
}

impl Response {
    /// The response for an answer alone; the detail of an [`Answer::Error`] is its text.
    pub fn new(answer: Answer) -> Response {
        let detail = match &answer {
            Answer::Error(e) => Some(e.clone()),
            _ => None,
        };
        Response {
            answer,
            detail,
            negative_ttl: None,
            cached: false,
            cname_chain: Vec::new(),
        }
    }
}

impl From<Answer> for Response {
    fn from(answer: Answer) -> Response {
        Response::new(answer)
    }
}

/// The query methods every backend and wrapper implements.
///
/// `name` is a domain name in presentation form; implementations compare it
/// case-insensitively and ignore one trailing dot. Implementations never panic on any answer.
/// `query_detailed` gives the [`Response`] (cause of a failure, negative TTL, cache marker); a
/// backend that knows more than the answer overrides it, and a wrapper forwards it.
#[async_trait::async_trait]
pub trait Resolver: Send + Sync {
    async fn query(&self, name: &str, rtype: RType) -> Answer;

    async fn query_detailed(&self, name: &str, rtype: RType) -> Response {
        Response::new(self.query(name, rtype).await)
    }
}

#[async_trait::async_trait]
impl<R: Resolver + ?Sized> Resolver for std::sync::Arc<R> {
    async fn query(&self, name: &str, rtype: RType) -> Answer {
        (**self).query(name, rtype).await
    }
    async fn query_detailed(&self, name: &str, rtype: RType) -> Response {
        (**self).query_detailed(name, rtype).await
    }
}

#[async_trait::async_trait]
impl<R: Resolver + ?Sized> Resolver for Box<R> {
    async fn query(&self, name: &str, rtype: RType) -> Answer {
        (**self).query(name, rtype).await
    }
    async fn query_detailed(&self, name: &str, rtype: RType) -> Response {
        (**self).query_detailed(name, rtype).await
    }
}

#[async_trait::async_trait]
impl<R: Resolver + ?Sized> Resolver for &R {
    async fn query(&self, name: &str, rtype: RType) -> Answer {
        (**self).query(name, rtype).await
    }
    async fn query_detailed(&self, name: &str, rtype: RType) -> Response {
        (**self).query_detailed(name, rtype).await
    }
}

/// The one rule for internationalized names (RFC 8616 §4: "All U-labels MUST be converted to
/// A-labels before being used for an SPF validation"): each non-ASCII label becomes its A-label
/// (IDNA, `bücher` → `xn--bcher-kva`); ASCII labels are kept as they are. The evaluators query,
/// the live backend sends, the zone overlay looks up and the trace shows this same name. A
/// label IDNA refuses is kept as given (it then matches nothing anywhere). Non-ASCII
/// local-parts never get here: terms using `%{s}`/`%{l}` for them match nothing (RFC 8616 §4,
/// see `eval::spf`).
pub fn query_name(name: &str) -> String {
    if name.is_ascii() {
        return name.to_string();
    }
    name.split('.')
        .map(|label| {
            if label.is_ascii() {
                label.to_string()
            } else {
                hickory_resolver::proto::rr::Label::from_utf8(label)
                    .map(|l| l.to_ascii())
                    .unwrap_or_else(|_| label.to_string())
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// [`query_name`], lower-cased, without one trailing dot: the key form used by overlays, caches
/// and fault rules.
pub fn normalize_name(name: &str) -> String {
    normalized(name).into_owned()
}

/// [`normalize_name`] without an allocation when the name is already in key form (ASCII,
/// no upper-case letter; a trailing dot is sliced off): the lookup path of overlays and caches.
pub fn normalized(name: &str) -> Cow<'_, str> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if !name.is_ascii() {
        return Cow::Owned(query_name(name).to_ascii_lowercase());
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        // ASCII names (nearly all) need no IDNA step: one allocation, not two.
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

/// The reverse-lookup name of an address (`in-addr.arpa` / nibble `ip6.arpa`), RFC 1035 §3.5,
/// RFC 3596 §2.5.
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", byte & 0x0f, byte >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name("81.142.190.61".parse().unwrap()),
            "61.190.142.81.in-addr.arpa"
        );
        let v6 = reverse_name("2001:db8::1".parse().unwrap());
        assert!(v6.starts_with("1.0.0.0.0.0.0.0"));
        assert!(v6.ends_with("8.b.d.0.1.0.0.2.ip6.arpa"));
    }

    #[test]
    fn internationalized_names_become_a_labels() {
        assert_eq!(query_name("Bücher.Example"), "xn--bcher-kva.Example");
        assert_eq!(normalize_name("BÜCHER.example."), "xn--bcher-kva.example");
        assert_eq!(query_name("_spf.example.com"), "_spf.example.com");
        // Names already in key form are borrowed, others converted.
        assert!(matches!(
            normalized("a.example."),
            Cow::Borrowed("a.example")
        ));
        assert!(matches!(normalized("A.example"), Cow::Owned(n) if n == "a.example"));
        assert_eq!(normalized("Bücher.example."), "xn--bcher-kva.example");
        // A label IDNA refuses is kept (it matches nothing).
        let bad = format!("{}.example", "ü".repeat(70));
        assert_eq!(query_name(&bad), bad);
    }

    #[test]
    fn txt_display_escapes() {
        let t = RData::Txt(vec![b"a\"b".to_vec(), vec![0xff]]);
        assert_eq!(t.to_string(), "\"a\\\"b\" \"\\255\"");
        assert_eq!(t.txt_joined().unwrap(), "a\"b\u{fffd}");
    }
}
