//! Live DNS through hickory-resolver: the only backend that talks to the network.
//!
//! It exists to turn hickory's `Result<Lookup, NetError>` into our typed [`Answer`], keeping
//! NXDOMAIN, NODATA, SERVFAIL, other error rcodes and timeouts apart (SPF's void-lookup and
//! temperror rules depend on that), and to configure hickory so that every query is really sent
//! (no cache: `cache` and `recorder` wrap this backend and must see every answer), names are
//! never completed with search domains, and truncated UDP answers are retried over TCP.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
    ServerOrderingStrategy,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError, NoRecords};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Label, Name, RData as HRData, RecordType};
use hickory_resolver::{Resolver as HResolver, TokioResolver};

use super::{Answer, RData, RType, Resolver, normalize_name, query_name};

/// Retries after a failed attempt (hickory's `attempts`): one retry, so a silent server costs
/// about `timeout × 2`.
const ATTEMPTS: usize = 1;

/// A [`Resolver`] sending real queries through hickory-resolver.
pub struct HickoryResolver {
    inner: TokioResolver,
}

impl std::fmt::Debug for HickoryResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HickoryResolver").finish_non_exhaustive()
    }
}

/// The options shared by both constructors: no cache, no hosts file, no name completion.
fn tune(opts: &mut ResolverOpts, timeout: Duration) {
    opts.timeout = timeout;
    opts.attempts = ATTEMPTS;
    opts.cache_size = 0;
    opts.edns0 = true;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.ndots = 0;
    opts.preserve_intermediates = true;
    opts.try_tcp_on_error = true;
    opts.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
    opts.case_randomization = false;
    // Ask the first two servers in parallel: hickory's pool gives a whole pass over the servers
    // only `timeout`, so asking one at a time would never reach the second server when the
    // first is silent (the retry starts again from the first).
    opts.num_concurrent_reqs = 2;
}

impl HickoryResolver {
    /// Servers from the system configuration (/etc/resolv.conf on Unix); its search domains are
    /// never used (every query name is made absolute).
    pub fn system(timeout: Duration) -> Result<Self, String> {
        let (config, mut opts) = hickory_resolver::system_conf::read_system_conf()
            .map_err(|e| format!("cannot read the system DNS configuration: {e}"))?;
        if config.name_servers().is_empty() {
            return Err("the system DNS configuration names no servers".into());
        }
        tune(&mut opts, timeout);
        // Keep the servers, drop domain and search list.
        let config = ResolverConfig::from_name_servers(config.name_servers().to_vec());
        Self::build(config, opts)
    }

    /// Explicit servers, each reached over UDP with TCP fallback on truncation, tried in the
    /// given order; no cache.
    pub fn with_servers(servers: &[SocketAddr], timeout: Duration) -> Result<Self, String> {
        if servers.is_empty() {
            return Err("no DNS servers given".into());
        }
        let name_servers = servers
            .iter()
            .map(|addr| {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
            })
            .collect();
        let mut opts = ResolverOpts::default();
        tune(&mut opts, timeout);
        Self::build(ResolverConfig::from_name_servers(name_servers), opts)
    }

    fn build(config: ResolverConfig, opts: ResolverOpts) -> Result<Self, String> {
        let inner = HResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| format!("cannot build the DNS resolver: {e}"))?;
        Ok(HickoryResolver { inner })
    }
}

#[async_trait::async_trait]
impl Resolver for HickoryResolver {
    async fn query(&self, name: &str, rtype: RType) -> Answer {
        let qname = match absolute_name(name) {
            Ok(n) => n,
            Err(e) => return Answer::Error(format!("invalid name {name:?}: {e}")),
        };
        let qtype = record_type(rtype);
        match self.inner.lookup(qname, qtype).await {
            Ok(lookup) => {
                let mut data = Vec::new();
                let mut ttl = u32::MAX;
                for record in lookup.answers() {
                    // The TTL covers the whole chain: a CNAME that expires sooner bounds the
                    // answer.
                    ttl = ttl.min(record.ttl);
                    if record.record_type() == qtype
                        && let Some(d) = convert(&record.data)
                    {
                        data.push(d);
                    }
                }
                if data.is_empty() {
                    Answer::NoData
                } else {
                    Answer::Records { data, ttl }
                }
            }
            Err(e) => map_error(e),
        }
    }
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

/// The mnemonic of an error response code, as `Answer::Refused` carries it.
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
        other => format!("RCODE{}", u16::from(other)),
    }
}

fn map_rcode(code: ResponseCode) -> Answer {
    match code {
        ResponseCode::NXDomain => Answer::NxDomain,
        ResponseCode::NoError => Answer::NoData,
        ResponseCode::ServFail => Answer::ServFail,
        other => Answer::Refused(rcode_name(other)),
    }
}

fn map_error(e: NetError) -> Answer {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(NoRecords { response_code, .. })) => {
            map_rcode(response_code)
        }
        NetError::Dns(DnsError::ResponseCode(code)) => map_rcode(code),
        NetError::Timeout => Answer::Timeout,
        NetError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => Answer::Timeout,
        other => Answer::Error(other.to_string()),
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
    fn rcodes_map_to_answers() {
        assert_eq!(map_rcode(ResponseCode::NXDomain), Answer::NxDomain);
        assert_eq!(map_rcode(ResponseCode::NoError), Answer::NoData);
        assert_eq!(map_rcode(ResponseCode::ServFail), Answer::ServFail);
        assert_eq!(
            map_rcode(ResponseCode::Refused),
            Answer::Refused("REFUSED".into())
        );
        assert_eq!(
            map_rcode(ResponseCode::NotImp),
            Answer::Refused("NOTIMP".into())
        );
        assert_eq!(map_error(NetError::Timeout), Answer::Timeout);
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
