//! Live DNS: the only backend that talks to the network.
//!
//! Queries are hickory-proto messages sent over our own small UDP/TCP transport rather than
//! through hickory-resolver, because a receiver-grade check must keep what a stub resolver
//! throws away: the whole answer section (to tell a CNAME loop or an over-long chain, a
//! temperror, from NODATA), the SOA of a negative answer (RFC 2308 §5 negative TTL), a closed
//! port (ICMP port unreachable on a connected UDP socket: "connection refused", at once, not a
//! timeout), and answers that were garbage or did not match the query (ignored, and said so).
//! It turns all of that into our typed [`Answer`] plus a [`Response`] detail. Every query is
//! really sent (no cache: `cache` and `recorder` wrap this backend), names are never completed
//! with search domains, and truncated UDP answers are retried over TCP (RFC 7766 §5).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_resolver::proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_resolver::proto::rr::{Label, Name, RData as HRData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout_at};

use super::{Answer, RData, RType, Resolver, Response, normalize_name, query_name};

/// Tries per server (one retry), so a silent server costs about `timeout × 2`.
const ATTEMPTS: usize = 2;

/// CNAME hops followed before the chain counts as broken, as the zone overlay does (a loop or
/// a longer chain is a temperror, never NODATA).
pub const MAX_CNAME_HOPS: usize = 8;

/// The EDNS(0) UDP payload size advertised (the DNS Flag Day 2020 value); larger answers come
/// truncated and are asked again over TCP.
const UDP_PAYLOAD: u16 = 1232;

/// After this many ignored datagrams for one query the rest are not read (a flood).
const MAX_IGNORED: usize = 100;

/// A [`Resolver`] sending real queries to the given servers.
pub struct HickoryResolver {
    servers: Vec<SocketAddr>,
    timeout: Duration,
}

impl std::fmt::Debug for HickoryResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HickoryResolver")
            .field("servers", &self.servers)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl HickoryResolver {
    /// Servers from the system configuration (/etc/resolv.conf on Unix); its search domains are
    /// never used (every query name is made absolute).
    pub fn system(timeout: Duration) -> Result<Self, String> {
        let (config, _) = hickory_resolver::system_conf::read_system_conf()
            .map_err(|e| format!("cannot read the system DNS configuration: {e}"))?;
        let mut servers = Vec::new();
        for ns in config.name_servers() {
            let port = ns.connections.first().map_or(53, |c| c.port);
            let addr = SocketAddr::new(ns.ip, port);
            if !servers.contains(&addr) {
                servers.push(addr);
            }
        }
        if servers.is_empty() {
            return Err("the system DNS configuration names no servers".into());
        }
        Self::with_servers(&servers, timeout)
    }

    /// Explicit servers, each reached over UDP with TCP on truncation, tried in the given
    /// order; no cache.
    pub fn with_servers(servers: &[SocketAddr], timeout: Duration) -> Result<Self, String> {
        if servers.is_empty() {
            return Err("no DNS servers given".into());
        }
        Ok(HickoryResolver {
            servers: servers.to_vec(),
            timeout,
        })
    }
}

#[async_trait::async_trait]
impl Resolver for HickoryResolver {
    async fn query(&self, name: &str, rtype: RType) -> Answer {
        self.query_detailed(name, rtype).await.answer
    }

    async fn query_detailed(&self, name: &str, rtype: RType) -> Response {
        // The name the overlay and the trace use too (RFC 8616 §4: A-labels).
        let name = query_name(name);
        let name = name.as_str();
        let qname = match absolute_name(name) {
            Ok(n) => n,
            Err(e) => return Response::new(Answer::Error(format!("invalid name {name:?}: {e}"))),
        };
        let mut ignored = Ignored::default();
        let mut response = self.resolve(qname, record_type(rtype), &mut ignored).await;
        if let Some(note) = ignored.describe() {
            response.detail = Some(match response.detail.take() {
                Some(d) => format!("{d}; {note}"),
                None => note,
            });
        }
        response
    }
}

impl HickoryResolver {
    /// Asks for (`qname`, `qtype`) and follows the CNAME chain through the answers, asking
    /// for the chain's end again when a server did not follow it itself (RFC 1034 §3.6.2,
    /// §5.3.3).
    async fn resolve(&self, qname: Name, qtype: RecordType, ignored: &mut Ignored) -> Response {
        // The names of the chain so far, the query name first.
        let mut chain: Vec<Name> = vec![qname.clone()];
        let mut ttl = u32::MAX;
        let mut asked = qname;
        loop {
            let msg = match self.exchange(&asked, qtype, ignored).await {
                Ok(m) => m,
                Err(failure) => return failure,
            };
            let rcode = msg.metadata.response_code;
            match rcode {
                ResponseCode::NoError | ResponseCode::NXDomain => {}
                ResponseCode::ServFail => return Response::new(Answer::ServFail),
                ResponseCode::Refused => return Response::new(Answer::Refused("REFUSED".into())),
                other => {
                    return Response::new(Answer::Error(format!(
                        "the server answered {} ({})",
                        rcode_name(other),
                        rcode_meaning(other)
                    )));
                }
            }
            let mut current = asked.clone();
            loop {
                let mut data = Vec::new();
                let mut data_ttl = ttl;
                let mut cname = None;
                for r in msg.answers.iter().filter(|r| r.name == current) {
                    if r.record_type() == qtype {
                        if let Some(d) = convert(&r.data) {
                            data.push(d);
                            data_ttl = data_ttl.min(r.ttl);
                        }
                    } else if let HRData::CNAME(c) = &r.data {
                        cname.get_or_insert((c.0.clone(), r.ttl));
                    }
                }
                if !data.is_empty() {
                    // The TTL covers the whole chain: a CNAME that expires sooner bounds it.
                    let mut response = Response::new(Answer::Records {
                        data: data.into(),
                        ttl: data_ttl,
                    });
                    response.cname_chain = followed(&chain);
                    return response;
                }
                let Some((target, cname_ttl)) = cname else {
                    break;
                };
                ttl = ttl.min(cname_ttl);
                if chain.contains(&target) {
                    return Response::new(Answer::Error(format!(
                        "CNAME loop at {} (chain: {} -> {})",
                        name_string(&target),
                        chain_string(&chain),
                        name_string(&target)
                    )));
                }
                chain.push(target.clone());
                if chain.len() > MAX_CNAME_HOPS + 1 {
                    return Response::new(Answer::Error(format!(
                        "CNAME chain longer than {MAX_CNAME_HOPS} at {} (chain: {})",
                        name_string(&target),
                        chain_string(&chain)
                    )));
                }
                current = target;
            }
            let negative_ttl = negative_ttl(&msg);
            if current != asked && rcode == ResponseCode::NoError && negative_ttl.is_none() {
                // The server gave a CNAME without following it, and no proof that its target
                // lacks the type: ask the target.
                asked = current;
                continue;
            }
            let mut response = Response::new(if rcode == ResponseCode::NXDomain {
                Answer::NxDomain
            } else {
                Answer::NoData
            });
            response.negative_ttl = negative_ttl;
            response.cname_chain = followed(&chain);
            return response;
        }
    }

    /// One query to the servers in order, `ATTEMPTS` passes: the first answer that matches the
    /// query, or the failure with its causes.
    async fn exchange(
        &self,
        name: &Name,
        qtype: RecordType,
        ignored: &mut Ignored,
    ) -> Result<Message, Response> {
        let mut request = Message::query();
        request.metadata.recursion_desired = true;
        request.add_query(Query::query(name.clone(), qtype));
        let mut edns = Edns::new();
        edns.set_max_payload(UDP_PAYLOAD);
        request.set_edns(edns);
        let bytes = request.to_vec().map_err(|e| {
            Response::new(Answer::Error(format!(
                "cannot encode the query for {}: {e}",
                name_string(name)
            )))
        })?;
        let expect = Expected {
            id: request.metadata.id,
            name,
            qtype,
        };
        let mut failures: Vec<(SocketAddr, Failure)> = Vec::new();
        // Error-RCODE answers (SERVFAIL, REFUSED, ...): the next server may do better, as stub
        // resolvers do; if none does, the first of them is the answer.
        let mut rcode_answers: Vec<(SocketAddr, Message)> = Vec::new();
        for _ in 0..ATTEMPTS {
            // A refused port or an unreachable network does not heal within a retry, and a
            // server that answered is not asked again.
            let servers: Vec<SocketAddr> = self
                .servers
                .iter()
                .copied()
                .filter(|server| {
                    !failures
                        .iter()
                        .any(|(s, f)| s == server && !matches!(f, Failure::Timeout))
                        && !rcode_answers.iter().any(|(s, _)| s == server)
                })
                .collect();
            // Two servers at a time, so a silent first server does not cost a whole timeout
            // before the second is asked.
            for pair in servers.chunks(2) {
                for (server, result, seen) in self.ask_pair(pair, &bytes, &expect).await {
                    ignored.merge(seen);
                    match result {
                        Ok(msg) if is_answer(&msg) => return Ok(msg),
                        Ok(msg) => rcode_answers.push((server, msg)),
                        Err(f) => failures.push((server, f)),
                    }
                }
            }
        }
        if let Some((_, msg)) = rcode_answers.into_iter().next() {
            return Ok(msg);
        }
        Err(self.failure(failures))
    }

    /// One try with each of one or two servers, concurrently: every result, in the order they
    /// came, up to the first real answer (the other try is then abandoned).
    async fn ask_pair(
        &self,
        pair: &[SocketAddr],
        bytes: &[u8],
        expect: &Expected<'_>,
    ) -> Vec<(SocketAddr, Result<Message, Failure>, Ignored)> {
        match pair {
            [a] => {
                let (r, seen) = self.ask(*a, bytes, expect).await;
                vec![(*a, r, seen)]
            }
            [a, b, ..] => {
                let fa = self.ask(*a, bytes, expect);
                let fb = self.ask(*b, bytes, expect);
                tokio::pin!(fa, fb);
                tokio::select! {
                    (r, seen) = &mut fa => {
                        if r.as_ref().is_ok_and(is_answer) {
                            return vec![(*a, r, seen)];
                        }
                        let (r2, seen2) = fb.await;
                        vec![(*a, r, seen), (*b, r2, seen2)]
                    }
                    (r, seen) = &mut fb => {
                        if r.as_ref().is_ok_and(is_answer) {
                            return vec![(*b, r, seen)];
                        }
                        let (r2, seen2) = fa.await;
                        vec![(*b, r, seen), (*a, r2, seen2)]
                    }
                }
            }
            [] => Vec::new(),
        }
    }

    /// One try with one server: UDP, then TCP if the answer came truncated; with the datagrams
    /// ignored on the way.
    async fn ask(
        &self,
        server: SocketAddr,
        bytes: &[u8],
        expect: &Expected<'_>,
    ) -> (Result<Message, Failure>, Ignored) {
        let mut seen = Ignored::default();
        let result = match self.udp(server, bytes, expect, &mut seen).await {
            Ok(msg) if msg.metadata.truncation => self.tcp(server, bytes, expect).await,
            other => other,
        };
        (result, seen)
    }

    /// The failure of a whole exchange: a timeout if every try timed out, else an error
    /// naming each server's cause.
    fn failure(&self, failures: Vec<(SocketAddr, Failure)>) -> Response {
        if failures.iter().all(|(_, f)| matches!(f, Failure::Timeout)) {
            let servers = self
                .servers
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let mut r = Response::new(Answer::Timeout);
            r.detail = Some(format!(
                "no answer from {servers} within {:?} ({ATTEMPTS} tries)",
                self.timeout
            ));
            return r;
        }
        let mut causes: Vec<String> = Vec::new();
        for (server, f) in &failures {
            let line = format!("{server}: {}", f.describe(self.timeout));
            if !causes.contains(&line) {
                causes.push(line);
            }
        }
        Response::new(Answer::Error(causes.join("; ")))
    }

    /// One UDP try on a connected socket (so an ICMP port unreachable arrives as "connection
    /// refused"), reading until an answer matches the query or the timeout.
    async fn udp(
        &self,
        server: SocketAddr,
        bytes: &[u8],
        expect: &Expected<'_>,
        ignored: &mut Ignored,
    ) -> Result<Message, Failure> {
        let deadline = Instant::now() + self.timeout;
        let local: SocketAddr = if server.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).await.map_err(Failure::io)?;
        socket.connect(server).await.map_err(Failure::io)?;
        socket.send(bytes).await.map_err(Failure::io)?;
        // Room for the largest datagram, not zeroed: `recv_buf` writes into spare capacity, so
        // only the bytes received are touched (zeroing 64 KiB per query was a tenth of an
        // uncached batch's time).
        let mut buf: Vec<u8> = Vec::with_capacity(65_535);
        let mut seen = 0;
        while seen < MAX_IGNORED {
            buf.clear();
            let n = match timeout_at(deadline, socket.recv_buf(&mut buf)).await {
                Err(_) => return Err(Failure::Timeout),
                Ok(Err(e)) => return Err(Failure::io(e)),
                Ok(Ok(n)) => n,
            };
            match expect.check(buf.get(..n).unwrap_or_default()) {
                Ok(msg) => return Ok(msg),
                Err(why) => ignored.add(server, why),
            }
            seen += 1;
        }
        Err(Failure::Timeout)
    }

    /// One TCP try (RFC 7766 §8: two-octet length prefix). Over TCP a non-matching answer is
    /// not spoofing but a broken server: a failure.
    async fn tcp(
        &self,
        server: SocketAddr,
        bytes: &[u8],
        expect: &Expected<'_>,
    ) -> Result<Message, Failure> {
        let deadline = Instant::now() + self.timeout;
        let mut stream = within(timeout_at(deadline, TcpStream::connect(server)).await)?;
        let len = u16::try_from(bytes.len())
            .map_err(|_| Failure::Malformed("query too long for TCP".into()))?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(bytes);
        within(timeout_at(deadline, stream.write_all(&framed)).await)?;
        let mut prefix = [0u8; 2];
        within(timeout_at(deadline, stream.read_exact(&mut prefix)).await)?;
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
        within(timeout_at(deadline, stream.read_exact(&mut body)).await)?;
        expect
            .check(&body)
            .map_err(|why| Failure::Malformed(format!("answer over TCP {}", why.describe())))
    }
}

/// An I/O step bounded by a timeout, as a [`Failure`].
fn within<T>(r: Result<std::io::Result<T>, tokio::time::error::Elapsed>) -> Result<T, Failure> {
    match r {
        Err(_) => Err(Failure::Timeout),
        Ok(Err(e)) => Err(Failure::io(e)),
        Ok(Ok(v)) => Ok(v),
    }
}

/// What an answer must match: the query's ID and question (RFC 5452 §9.1).
struct Expected<'a> {
    id: u16,
    name: &'a Name,
    qtype: RecordType,
}

/// Why a datagram was not taken as the answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Mismatch {
    /// Not a DNS message at all (too short, or not a response).
    Garbage,
    /// A DNS message for another query (ID).
    WrongId,
    /// The right ID, another question.
    WrongQuestion,
    /// The right ID, but it cannot be parsed.
    Malformed,
}

impl Mismatch {
    fn describe(&self) -> &'static str {
        match self {
            Mismatch::Garbage => "not a DNS answer (garbage)",
            Mismatch::WrongId => "with a mismatched ID",
            Mismatch::WrongQuestion => "for another question",
            Mismatch::Malformed => "malformed (cannot be parsed)",
        }
    }
}

impl Expected<'_> {
    fn check(&self, packet: &[u8]) -> Result<Message, Mismatch> {
        let (Some(&hi), Some(&lo)) = (packet.first(), packet.get(1)) else {
            return Err(Mismatch::Garbage);
        };
        if packet.len() < 12 {
            return Err(Mismatch::Garbage);
        }
        if u16::from_be_bytes([hi, lo]) != self.id {
            return Err(Mismatch::WrongId);
        }
        let msg = Message::from_vec(packet).map_err(|_| Mismatch::Malformed)?;
        if msg.metadata.message_type != MessageType::Response {
            return Err(Mismatch::Garbage);
        }
        match msg.queries.as_slice() {
            [q] if q.name() == self.name && q.query_type() == self.qtype => Ok(msg),
            // FORMERR and NOTIMP answers may leave the question out (RFC 1035 §4.1.1).
            [] if !matches!(
                msg.metadata.response_code,
                ResponseCode::NoError | ResponseCode::NXDomain
            ) =>
            {
                Ok(msg)
            }
            _ => Err(Mismatch::WrongQuestion),
        }
    }
}

/// Datagrams ignored while waiting for the answer, by server and reason.
#[derive(Default)]
struct Ignored {
    counts: BTreeMap<(SocketAddr, Mismatch), usize>,
}

impl Ignored {
    fn add(&mut self, server: SocketAddr, why: Mismatch) {
        *self.counts.entry((server, why)).or_default() += 1;
    }

    fn merge(&mut self, other: Ignored) {
        for (k, n) in other.counts {
            *self.counts.entry(k).or_default() += n;
        }
    }

    /// "ignored 2 answers from 127.0.0.1:53 with a mismatched ID", or `None`.
    fn describe(&self) -> Option<String> {
        if self.counts.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|((server, why), n)| {
                let noun = if *n == 1 { "answer" } else { "answers" };
                format!("{n} {noun} from {server} {}", why.describe())
            })
            .collect();
        Some(format!("ignored {}", parts.join(", ")))
    }
}

/// Why one try with one server failed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    Timeout,
    /// ICMP port unreachable (UDP) or a refused TCP connection: nothing listens there.
    ConnectionRefused,
    /// The network or host cannot be reached (no network, no route).
    Unreachable(String),
    Io(String),
    Malformed(String),
}

impl Failure {
    fn io(e: std::io::Error) -> Failure {
        use std::io::ErrorKind;
        match e.kind() {
            ErrorKind::ConnectionRefused => Failure::ConnectionRefused,
            ErrorKind::TimedOut => Failure::Timeout,
            ErrorKind::NetworkUnreachable
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkDown
            | ErrorKind::AddrNotAvailable => Failure::Unreachable(e.to_string()),
            _ => Failure::Io(e.to_string()),
        }
    }

    fn describe(&self, timeout: Duration) -> String {
        match self {
            Failure::Timeout => format!("no answer within {timeout:?}"),
            Failure::ConnectionRefused => {
                "connection refused (nothing listens on that port)".to_string()
            }
            Failure::Unreachable(e) => format!("unreachable, no network or no route ({e})"),
            Failure::Io(e) => format!("I/O error ({e})"),
            Failure::Malformed(e) => e.clone(),
        }
    }
}

/// A real answer (NOERROR or NXDOMAIN), as opposed to an error RCODE another server may
/// improve on.
fn is_answer(msg: &Message) -> bool {
    matches!(
        msg.metadata.response_code,
        ResponseCode::NoError | ResponseCode::NXDomain
    )
}

/// RFC 2308 §5: the negative TTL is the lesser of the SOA record's TTL and its MINIMUM.
fn negative_ttl(msg: &Message) -> Option<u32> {
    msg.authorities.iter().find_map(|r| match &r.data {
        HRData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
        _ => None,
    })
}

/// The chain as [`Response::cname_chain`] holds it: empty when no CNAME was followed.
fn followed(chain: &[Name]) -> Vec<String> {
    if chain.len() > 1 {
        chain.iter().map(name_string).collect()
    } else {
        Vec::new()
    }
}

fn chain_string(chain: &[Name]) -> String {
    chain
        .iter()
        .map(name_string)
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// Parses a presentation-form name into an absolute hickory name: first [`query_name`], the
/// name the zone overlay and the trace use too (RFC 8616 §4: a non-ASCII label becomes its
/// A-label); then every label is taken as raw bytes (SPF macro expansion may produce any
/// printable character, and a label IDNA refused is sent as the same UTF-8 bytes the overlay
/// looks up). Fails on empty labels, labels over 63 bytes and names over 255 bytes.
fn absolute_name(name: &str) -> Result<Name, String> {
    let name = query_name(name);
    let trimmed = name.strip_suffix('.').unwrap_or(&name);
    if trimmed.is_empty() {
        return Err("empty name".into());
    }
    let mut labels = Vec::new();
    for part in trimmed.split('.') {
        if part.is_empty() {
            return Err("empty label".into());
        }
        if part.len() > 63 {
            return Err(format!("label longer than 63 bytes ({} bytes)", part.len()));
        }
        labels.push(Label::from_raw_bytes(part.as_bytes()).map_err(|e| e.to_string())?);
    }
    // from_labels checks the 255-byte limit and marks the name fully qualified.
    Name::from_labels(labels).map_err(|e| e.to_string())
}

fn record_type(rtype: RType) -> RecordType {
    match rtype {
        RType::A => RecordType::A,
        RType::Aaaa => RecordType::AAAA,
        RType::Mx => RecordType::MX,
        RType::Txt => RecordType::TXT,
        RType::Ptr => RecordType::PTR,
        RType::Cname => RecordType::CNAME,
    }
}

fn name_string(name: &Name) -> String {
    normalize_name(&name.to_ascii())
}

fn convert(data: &HRData) -> Option<RData> {
    Some(match data {
        HRData::A(a) => RData::A(a.0),
        HRData::AAAA(a) => RData::Aaaa(a.0),
        HRData::MX(mx) => RData::Mx {
            preference: mx.preference,
            exchange: name_string(&mx.exchange),
        },
        HRData::TXT(txt) => RData::Txt(txt.txt_data.iter().map(|s| s.to_vec()).collect()),
        HRData::PTR(p) => RData::Ptr(name_string(&p.0)),
        HRData::CNAME(c) => RData::Cname(name_string(&c.0)),
        _ => return None,
    })
}

/// The mnemonic of an error response code.
fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::YXDomain => "YXDOMAIN".into(),
        ResponseCode::YXRRSet => "YXRRSET".into(),
        ResponseCode::NXRRSet => "NXRRSET".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        ResponseCode::NotZone => "NOTZONE".into(),
        ResponseCode::BADVERS => "BADVERS".into(),
        other => format!("RCODE {}", u16::from(other)),
    }
}

/// What an error rcode means (RFC 1035 §4.1.1, RFC 6891 §6.1.3).
fn rcode_meaning(code: ResponseCode) -> &'static str {
    match code {
        ResponseCode::FormErr => "the server could not parse the query",
        ResponseCode::NotImp => "the server does not implement this kind of query",
        ResponseCode::BADVERS => "the server does not support this EDNS version",
        _ => "an error response code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_absolute() {
        let n = absolute_name("_spf.Example.com").unwrap();
        assert!(n.is_fqdn());
        assert_eq!(n.to_ascii(), "_spf.Example.com.");
        assert!(absolute_name("example.com.").unwrap().is_fqdn());
        // Characters SPF macros can produce are kept as raw label bytes.
        let n = absolute_name("a+b=c.example.com").unwrap();
        assert_eq!(n.iter().next(), Some(&b"a+b=c"[..]));
    }

    #[test]
    fn non_ascii_labels_use_idna() {
        let n = absolute_name("Bücher.example").unwrap();
        assert_eq!(n.to_ascii(), "xn--bcher-kva.example.");
        // 30 three-byte characters: 90 UTF-8 bytes, yet the punycode label fits in 63.
        assert!(absolute_name(&format!("{}.example", "書".repeat(30))).is_ok());
    }

    #[test]
    fn invalid_names_are_errors() {
        assert!(absolute_name("").is_err());
        assert!(absolute_name(".").is_err());
        assert!(absolute_name("a..b").is_err());
        assert!(absolute_name(&format!("{}.com", "a".repeat(64))).is_err());
        assert!(absolute_name(&format!("{}.com", "a".repeat(63))).is_ok());
        let long = vec!["a".repeat(60); 5].join(".");
        assert!(absolute_name(&long).is_err());
    }

    #[test]
    fn rcodes_are_named() {
        assert_eq!(rcode_name(ResponseCode::FormErr), "FORMERR");
        assert_eq!(rcode_name(ResponseCode::NotImp), "NOTIMP");
        assert!(rcode_meaning(ResponseCode::FormErr).contains("parse"));
    }

    #[test]
    fn io_errors_keep_their_cause() {
        use std::io::{Error, ErrorKind};
        let t = Duration::from_secs(5);
        let refused = Failure::io(Error::from(ErrorKind::ConnectionRefused));
        assert_eq!(refused, Failure::ConnectionRefused);
        assert!(refused.describe(t).contains("connection refused"));
        let unreachable = Failure::io(Error::from(ErrorKind::NetworkUnreachable));
        assert!(matches!(unreachable, Failure::Unreachable(_)));
        assert!(unreachable.describe(t).contains("no network"));
        assert_eq!(
            Failure::io(Error::from(ErrorKind::TimedOut)),
            Failure::Timeout
        );
        assert!(Failure::Timeout.describe(t).contains("within 5s"));
    }

    #[test]
    fn answers_must_match_the_query() {
        let name = absolute_name("example.com").unwrap();
        let expect = Expected {
            id: 7,
            name: &name,
            qtype: RecordType::TXT,
        };
        assert_eq!(expect.check(b"").unwrap_err(), Mismatch::Garbage);
        assert_eq!(expect.check(b"hello world").unwrap_err(), Mismatch::Garbage);
        let mut msg = Message::response(8, hickory_resolver::proto::op::OpCode::Query);
        msg.add_query(Query::query(name.clone(), RecordType::TXT));
        assert_eq!(
            expect.check(&msg.to_vec().unwrap()).unwrap_err(),
            Mismatch::WrongId
        );
        msg.metadata.id = 7;
        assert!(expect.check(&msg.to_vec().unwrap()).is_ok());
        let mut other = Message::response(7, hickory_resolver::proto::op::OpCode::Query);
        other.add_query(Query::query(name.clone(), RecordType::A));
        assert_eq!(
            expect.check(&other.to_vec().unwrap()).unwrap_err(),
            Mismatch::WrongQuestion
        );
        let mut cut = msg.to_vec().unwrap();
        cut.truncate(14);
        assert_eq!(expect.check(&cut).unwrap_err(), Mismatch::Malformed);
    }

    #[test]
    fn system_configuration_is_read() {
        // Construction only: there is no network here.
        let has_servers = std::fs::read_to_string("/etc/resolv.conf")
            .map(|t| t.lines().any(|l| l.trim_start().starts_with("nameserver")))
            .unwrap_or(false);
        match HickoryResolver::system(Duration::from_secs(1)) {
            Ok(_) => assert!(
                has_servers,
                "built without a nameserver line in resolv.conf"
            ),
            Err(e) => {
                assert!(!has_servers, "resolv.conf names servers, yet: {e}");
                assert!(e.contains("system DNS configuration"), "{e}");
            }
        }
    }
}
