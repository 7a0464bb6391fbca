//! In-process DNS servers for integration tests.
//!
//! [`TestDns`] serves the given records from ONE authoritative zone for the root `.` (with a
//! synthetic SOA), so every name absent from the data gets NXDOMAIN (hickory-server answers
//! REFUSED outside its zones), names that exist only as empty non-terminals or only with other
//! types get NOERROR/NODATA, and CNAMEs are served (and chased by the server) like any record.

use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NULL, PTR, SOA, TXT};
use hickory_proto::rr::{Label, LowerName, Name, RData as HRData, Record as HRecord, RecordType};
use hickory_server::Server;
use hickory_server::net::runtime::{Time, TokioRuntimeProvider};
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, MessageResponseBuilder, ZoneType};
use spfcheck::dns::{RData, Record};

/// A private-use type (RFC 6895) standing in for `RData::Other` records (SOA, NS, SPF, ...): it
/// makes their owner name exist, so other types there get NODATA, without delegating anything.
const PLACEHOLDER_TYPE: u16 = 65280;

/// A failure injected for one query name (any type), instead of the zone's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with RCODE SERVFAIL.
    ServFail,
    /// Answer with RCODE REFUSED.
    Refused,
    /// Never answer (the client times out).
    Drop,
}

/// One query as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedQuery {
    /// Lower-case, without the trailing dot.
    pub name: String,
    /// The type mnemonic ("TXT", "A", ...).
    pub rtype: String,
    /// Whether it came over TCP (else UDP).
    pub tcp: bool,
}

/// Builder for [`TestDns`]: records plus per-name faults.
#[derive(Debug, Default)]
pub struct TestDnsBuilder {
    records: Vec<Record>,
    faults: Vec<(String, Fault)>,
}

impl TestDnsBuilder {
    /// Injects `fault` for every query whose name is `name` (case-insensitive, trailing dot
    /// optional), whatever the type. Names below it are not affected.
    pub fn fault(mut self, name: &str, fault: Fault) -> Self {
        self.faults.push((name.to_string(), fault));
        self
    }

    pub fn servfail(self, name: &str) -> Self {
        self.fault(name, Fault::ServFail)
    }

    pub fn refused(self, name: &str) -> Self {
        self.fault(name, Fault::Refused)
    }

    pub fn drop_queries(self, name: &str) -> Self {
        self.fault(name, Fault::Drop)
    }

    /// Binds the sockets and starts the server thread. Panics (test code) on data hickory-server
    /// cannot serve: invalid names, TXT strings over 255 bytes, a CNAME beside other data.
    pub fn start(self) -> TestDns {
        let catalog = build_catalog(&self.records);
        let faults = self
            .faults
            .iter()
            .map(|(n, f)| (LowerName::new(&name_of(n)), *f))
            .collect();
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler = FaultyCatalog {
            catalog,
            faults,
            log: log.clone(),
        };

        let (udp, tcp) = bind_pair();
        let addr = udp.local_addr().expect("local_addr of a bound UDP socket");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("test-dns-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime for the test DNS server");
                rt.block_on(async move {
                    let udp = tokio::net::UdpSocket::from_std(udp).expect("tokio UDP socket");
                    let tcp = tokio::net::TcpListener::from_std(tcp).expect("tokio TCP listener");
                    let mut server = Server::new(handler);
                    server.register_socket(udp);
                    server.register_listener(tcp, Duration::from_secs(5), 32);
                    // Wait for TestDns to be dropped (or its sender to go away).
                    let _ = stop_rx.await;
                    server.shutdown_token().cancel();
                });
                // Dropping the runtime aborts whatever connection tasks remain.
            })
            .expect("spawn the test DNS server thread");
        TestDns {
            addr,
            log,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

/// An authoritative test DNS server on 127.0.0.1 (UDP and TCP, same random port). Stops when
/// dropped.
pub struct TestDns {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<LoggedQuery>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestDns {
    /// Serves `records` (see the module comment for what is served and how).
    pub fn start(records: Vec<Record>) -> TestDns {
        TestDns::builder(records).start()
    }

    /// Serves `records`, answering SERVFAIL for every query whose name is in `servfail_names`.
    pub fn start_with(records: Vec<Record>, servfail_names: Vec<String>) -> TestDns {
        servfail_names
            .iter()
            .fold(TestDns::builder(records), |b, n| b.servfail(n))
            .start()
    }

    /// A builder, for faults other than SERVFAIL.
    pub fn builder(records: Vec<Record>) -> TestDnsBuilder {
        TestDnsBuilder {
            records,
            faults: Vec::new(),
        }
    }

    /// The server's address (127.0.0.1, UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every query received so far, in arrival order (faulted ones included).
    pub fn queries(&self) -> Vec<LoggedQuery> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many queries for `name` (any case, trailing dot optional) and type `rtype` arrived.
    pub fn count(&self, name: &str, rtype: &str) -> usize {
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        self.queries()
            .iter()
            .filter(|q| q.name == name && q.rtype.eq_ignore_ascii_case(rtype))
            .count()
    }

    /// Forgets the queries logged so far.
    pub fn clear_queries(&self) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // Don't turn a failing test's unwinding into an abort.
            let _ = thread.join();
        }
    }
}

/// A DNS "server" on 127.0.0.1 that receives and accepts but never answers. Stops when dropped.
pub struct SilentDns {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SilentDns {
    pub fn start() -> SilentDns {
        let (udp, tcp) = bind_pair();
        let addr = udp.local_addr().expect("local_addr of a bound UDP socket");
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("silent-dns-{}", addr.port()))
            .spawn(move || {
                // Read and discard datagrams, accept and hold connections, answer nothing.
                let mut held: Vec<TcpStream> = Vec::new();
                let mut buf = [0u8; 4096];
                while !stop2.load(Ordering::Relaxed) {
                    while udp.recv_from(&mut buf).is_ok() {}
                    while let Ok((stream, _)) = tcp.accept() {
                        held.push(stream);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
            .expect("spawn the silent DNS thread");
        SilentDns {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for SilentDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A non-blocking UDP socket and TCP listener on the same random 127.0.0.1 port.
fn bind_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket on 127.0.0.1");
        let addr = udp.local_addr().expect("local_addr of a bound UDP socket");
        if let Ok(tcp) = TcpListener::bind(addr) {
            udp.set_nonblocking(true).expect("non-blocking UDP");
            tcp.set_nonblocking(true).expect("non-blocking TCP");
            return (udp, tcp);
        }
    }
    panic!("no 127.0.0.1 port free for both UDP and TCP after 50 tries");
}

/// A name of the test data as an absolute hickory name (labels as raw bytes, like the resolver).
fn name_of(name: &str) -> Name {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Name::root();
    }
    let labels = trimmed
        .split('.')
        .map(|l| Label::from_raw_bytes(l.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("TestDns: invalid name {name:?}: {e}"));
    Name::from_labels(labels).unwrap_or_else(|e| panic!("TestDns: invalid name {name:?}: {e}"))
}

fn to_hickory(record: &Record) -> HRecord {
    let name = name_of(&record.name);
    let data = match &record.data {
        RData::A(a) => HRData::A(A(*a)),
        RData::Aaaa(a) => HRData::AAAA(AAAA(*a)),
        RData::Mx {
            preference,
            exchange,
        } => HRData::MX(MX::new(*preference, name_of(exchange))),
        RData::Txt(parts) => {
            assert!(
                !parts.is_empty(),
                "TestDns: TXT record at {} has no character-strings",
                record.name
            );
            for p in parts {
                assert!(
                    p.len() <= 255,
                    "TestDns: TXT character-string of {} bytes at {} (max 255; split it into \
                     several strings: hickory-server silently never answers such a zone)",
                    p.len(),
                    record.name
                );
            }
            HRData::TXT(TXT::from_bytes(
                parts.iter().map(|p| p.as_slice()).collect(),
            ))
        }
        RData::Ptr(target) => HRData::PTR(PTR(name_of(target))),
        RData::Cname(target) => HRData::CNAME(CNAME(name_of(target))),
        RData::Other { .. } => HRData::Unknown {
            code: RecordType::Unknown(PLACEHOLDER_TYPE),
            rdata: NULL::with(vec![0]),
        },
    };
    HRecord::from_rdata(name, record.ttl, data)
}

fn build_catalog(records: &[Record]) -> Catalog {
    let root = Name::root();
    let mut zone = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
        root.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
    );
    let soa = SOA::new(
        name_of("ns.test-dns.invalid"),
        name_of("hostmaster.test-dns.invalid"),
        1,
        3600,
        600,
        86400,
        60,
    );
    assert!(zone.upsert_mut(HRecord::from_rdata(root.clone(), 60, HRData::SOA(soa)), 1));

    // Real records first, then a placeholder for names that only have `Other` data.
    let mut served_names = HashSet::new();
    let mut seen: Vec<&Record> = Vec::new();
    let (others, real): (Vec<&Record>, Vec<&Record>) = records
        .iter()
        .partition(|r| matches!(r.data, RData::Other { .. }));
    for r in real {
        if seen.contains(&r) {
            continue;
        }
        seen.push(r);
        served_names.insert(LowerName::new(&name_of(&r.name)));
        assert!(
            zone.upsert_mut(to_hickory(r), 1),
            "TestDns: hickory-server refused {} {:?} (a CNAME beside other data, or the same \
             data twice with different TTLs?)",
            r.name,
            r.data
        );
    }
    for r in others {
        let lower = LowerName::new(&name_of(&r.name));
        if served_names.insert(lower) {
            assert!(
                zone.upsert_mut(to_hickory(r), 1),
                "TestDns: cannot add a placeholder at {}",
                r.name
            );
        }
    }

    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&root), vec![Arc::new(zone)]);
    catalog
}

/// The catalog, with injected faults for some query names.
struct FaultyCatalog {
    catalog: Catalog,
    faults: HashMap<LowerName, Fault>,
    log: Arc<Mutex<Vec<LoggedQuery>>>,
}

#[async_trait::async_trait]
impl RequestHandler for FaultyCatalog {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let first = request.queries.queries().first();
        if let Some(q) = first {
            let name = q.name().to_string();
            self.log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(LoggedQuery {
                    name: name.strip_suffix('.').unwrap_or(&name).to_ascii_lowercase(),
                    rtype: q.query_type().to_string(),
                    tcp: request.protocol() == Protocol::Tcp,
                });
        }
        let fault = first.and_then(|q| self.faults.get(q.name()).copied());
        let code = match fault {
            None => {
                return self
                    .catalog
                    .handle_request::<R, T>(request, response_handle)
                    .await;
            }
            Some(Fault::Drop) => {
                // Send nothing; the return value is only used for logging and metrics.
                return ResponseInfo::from(Header {
                    metadata: Metadata::response_from_request(&request.metadata),
                    counts: HeaderCounts::default(),
                });
            }
            Some(Fault::ServFail) => ResponseCode::ServFail,
            Some(Fault::Refused) => ResponseCode::Refused,
        };
        let response =
            MessageResponseBuilder::new(&request.queries, None).error_msg(&request.metadata, code);
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(e) => {
                eprintln!("TestDns: cannot send the injected {code:?}: {e}");
                ResponseInfo::from(Header {
                    metadata: Metadata::response_from_request(&request.metadata),
                    counts: HeaderCounts::default(),
                })
            }
        }
    }
}
