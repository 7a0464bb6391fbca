//! DNS failures through the binary: a failure is never "no record", and the trace says what
//! failed (issue 6 §3). CNAME loops and over-long chains from a live server, a closed port,
//! garbage and mismatched answers, FORMERR and NOTIMP; one deadline for the whole check with
//! SPF and DMARC discovery running concurrently; and the shared cache (negative TTL from the
//! SOA, coalesced concurrent misses, the `cached` marker).

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_proto::op::Message;
use serde_json::Value;
use spfcheck::dns::cache::Cache;
use spfcheck::dns::hickory::HickoryResolver;
use spfcheck::dns::{Answer, RData, RType, Record, Resolver};

use crate::common::{TestDns, events, rec, run_spfcheck, txt};

/// The closed set of trace query outcomes (README, "JSON output").
const OUTCOMES: [&str; 7] = [
    "records", "NXDOMAIN", "NODATA", "SERVFAIL", "REFUSED", "timeout", "error",
];

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

fn run(args: &[&str]) -> Out {
    let ran = run_spfcheck(args);
    let out = Out {
        code: ran.code,
        stdout: String::from_utf8_lossy(&ran.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&ran.stderr).into_owned(),
        elapsed: ran.elapsed,
    };
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out
}

/// `--nameserver ADDR --json` plus `args`.
fn run_json(addr: SocketAddr, args: &[&str]) -> (Out, Value) {
    let ns = addr.to_string();
    let mut all = vec!["--nameserver", ns.as_str(), "--json"];
    all.extend_from_slice(args);
    let out = run(&all);
    let doc = out.json();
    (out, doc)
}

/// Every query event of the SPF and DMARC traces; each outcome is one of the closed set.
fn queries(doc: &Value) -> Vec<Value> {
    let mut all = Vec::new();
    for trace in [&doc["spf"]["trace"], &doc["dmarc"]["trace"]] {
        all.extend(events(trace, "query").into_iter().cloned());
    }
    for q in &all {
        let o = q["outcome"].as_str().unwrap_or_default();
        assert!(OUTCOMES.contains(&o), "outcome {o:?} outside the set: {q}");
    }
    all
}

/// The query event for (name, type).
fn query<'a>(qs: &'a [Value], name: &str, rtype: &str) -> &'a Value {
    qs.iter()
        .find(|q| q["name"] == name && q["rtype"] == rtype)
        .unwrap_or_else(|| panic!("no query {name} {rtype} in {qs:#?}"))
}

fn cname(name: &str, target: &str) -> Record {
    rec(name, RData::Cname(target.to_string()))
}

// ---------------------------------------------------------------------------------------------
// CNAME loops and chains from a live server
// ---------------------------------------------------------------------------------------------

#[test]
fn live_cname_loop_is_temperror_not_nodata() {
    let dns = TestDns::start(vec![
        cname("loop.example", "loop2.example"),
        cname("loop2.example", "loop.example"),
        cname("_dmarc.loop.example", "_dmarc.loop2.example"),
        cname("_dmarc.loop2.example", "_dmarc.loop.example"),
    ]);
    let (out, doc) = run_json(dns.addr(), &["loop.example", "192.0.2.1"]);
    assert_eq!(out.code, 4, "{}", out.stdout);
    assert_eq!(doc["spf"]["result"], "temperror", "{doc:#}");
    assert_eq!(doc["dmarc"]["result"], "temperror", "{doc:#}");
    let qs = queries(&doc);
    for name in ["loop.example", "_dmarc.loop.example"] {
        let q = query(&qs, name, "TXT");
        assert_eq!(q["outcome"], "error", "{q}");
        let detail = q["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("CNAME loop"), "{q}");
    }
    // The same data offline gives the same result: one rule for both.
    let zone = std::env::temp_dir().join(format!("dnsfail-loop-{}.zone", std::process::id()));
    std::fs::write(
        &zone,
        "loop.example. 300 CNAME loop2.example.\nloop2.example. 300 CNAME loop.example.\n\
         _dmarc.loop.example. 300 CNAME _dmarc.loop2.example.\n\
         _dmarc.loop2.example. 300 CNAME _dmarc.loop.example.\n",
    )
    .unwrap();
    let offline = run(&[
        "--offline",
        "--zone",
        zone.to_str().unwrap(),
        "--json",
        "loop.example",
        "192.0.2.1",
    ]);
    let _ = std::fs::remove_file(&zone);
    let off = offline.json();
    assert_eq!(offline.code, 4, "{}", offline.stdout);
    assert_eq!(off["spf"]["result"], "temperror");
    assert_eq!(off["dmarc"]["result"], "temperror");
    // The text rendering says what failed.
    let ns = dns.addr().to_string();
    let text = run(&[
        "--nameserver",
        &ns,
        "--color",
        "never",
        "loop.example",
        "192.0.2.1",
    ]);
    assert_eq!(text.code, 4);
    assert!(text.stdout.contains("CNAME loop"), "{}", text.stdout);
}

/// A chain of `hops` CNAMEs from `<prefix>0.example` to a name holding `data`.
fn chain(prefix: &str, hops: usize, data: RData) -> Vec<Record> {
    let mut records: Vec<Record> = (0..hops)
        .map(|i| {
            cname(
                &format!("{prefix}{i}.example"),
                &format!("{prefix}{}.example", i + 1),
            )
        })
        .collect();
    records.push(rec(&format!("{prefix}{hops}.example"), data));
    records
}

#[test]
fn live_cname_chain_over_eight_hops_is_temperror() {
    let mut records = chain("c", 9, txt(&["v=spf1 +all"]));
    records.extend(chain("_dmarc.c", 9, txt(&["v=DMARC1; p=reject"])));
    // Eight hops are followed.
    records.extend(chain("ok", 8, txt(&["v=spf1 +all"])));
    records.extend(chain("_dmarc.ok", 8, txt(&["v=DMARC1; p=reject"])));
    let dns = TestDns::start(records);
    let (out, doc) = run_json(dns.addr(), &["c0.example", "192.0.2.1"]);
    assert_eq!(out.code, 4, "{}", out.stdout);
    assert_eq!(doc["spf"]["result"], "temperror", "{doc:#}");
    assert_eq!(doc["dmarc"]["result"], "temperror", "{doc:#}");
    let qs = queries(&doc);
    for name in ["c0.example", "_dmarc.c0.example"] {
        let q = query(&qs, name, "TXT");
        assert_eq!(q["outcome"], "error", "{q}");
        assert!(
            q["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("CNAME chain longer than 8"),
            "{q}"
        );
    }
    let (out, doc) = run_json(dns.addr(), &["ok0.example", "192.0.2.1"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(doc["spf"]["result"], "pass");
    assert_eq!(doc["dmarc"]["result"], "pass");
}

// ---------------------------------------------------------------------------------------------
// Transport failures: closed port, garbage, mismatched IDs, FORMERR, NOTIMP
// ---------------------------------------------------------------------------------------------

/// A UDP port on 127.0.0.1 that nobody listens on.
fn closed_port() -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let a = s.local_addr().unwrap();
    drop(s);
    a
}

#[test]
fn closed_port_is_connection_refused_at_once() {
    let addr = closed_port();
    let (out, doc) = run_json(addr, &["--timeout", "5", "example.com", "192.0.2.1"]);
    assert_eq!(out.code, 4, "{}", out.stdout);
    assert!(
        out.elapsed < Duration::from_secs(3),
        "took {:?}: a closed port must not wait for the timeout",
        out.elapsed
    );
    let qs = queries(&doc);
    let q = query(&qs, "example.com", "TXT");
    assert_eq!(q["outcome"], "error", "{q}");
    assert!(
        q["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("connection refused"),
        "{q}"
    );
    assert_eq!(doc["spf"]["result"], "temperror");
    assert_eq!(doc["dmarc"]["result"], "temperror");
}

/// A UDP "server" on 127.0.0.1 run by a thread: for each query datagram, `reply` returns the
/// datagrams to send back (in order). Stops when dropped.
struct UdpScript {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpScript {
    fn start(reply: impl Fn(&[u8]) -> Vec<Vec<u8>> + Send + Sync + 'static) -> UdpScript {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let reply = Arc::new(reply);
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !stop2.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let query = buf[..n].to_vec();
                let socket = socket.try_clone().unwrap();
                let reply = reply.clone();
                // One thread per query, so a slow answer does not hold up the others.
                std::thread::spawn(move || {
                    for datagram in reply(&query) {
                        let _ = socket.send_to(&datagram, from);
                    }
                });
            }
        });
        UdpScript {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for UdpScript {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Asks `upstream` the query over UDP and returns its answer.
fn forward(upstream: SocketAddr, query: &[u8]) -> Vec<u8> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.send_to(query, upstream).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.recv(&mut buf).unwrap_or(0);
    buf[..n].to_vec()
}

/// The query echoed back as a response with `rcode`.
fn error_reply(query: &[u8], rcode: u8) -> Vec<u8> {
    let mut r = query.to_vec();
    r[2] |= 0x80; // QR
    r[3] = (r[3] & 0xf0) | rcode;
    r
}

#[test]
fn garbage_and_mismatched_answers_are_ignored_and_reported() {
    let dns = TestDns::start(vec![
        rec("example.com", txt(&["v=spf1 ip4:192.0.2.1 -all"])),
        rec("_dmarc.example.com", txt(&["v=DMARC1; p=reject"])),
    ]);
    let upstream = dns.addr();
    // Garbage, then the real answer with a wrong ID, then the real answer.
    let script = UdpScript::start(move |query| {
        let answer = forward(upstream, query);
        let mut wrong_id = answer.clone();
        wrong_id[0] ^= 0x55;
        vec![b"\x00garbage".to_vec(), wrong_id, answer]
    });
    let (out, doc) = run_json(script.addr, &["example.com", "192.0.2.1"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(doc["spf"]["result"], "pass");
    let qs = queries(&doc);
    let q = query(&qs, "example.com", "TXT");
    assert_eq!(q["outcome"], "records", "{q}");
    let detail = q["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with("ignored "), "{q}");
    assert!(detail.contains("mismatched ID"), "{q}");
    assert!(detail.contains("garbage"), "{q}");

    // Nothing but garbage: a timeout that says what was ignored.
    let junk = UdpScript::start(|query| {
        let mut wrong_id = error_reply(query, 0);
        wrong_id[1] ^= 0x01;
        vec![vec![0xff; 3], wrong_id]
    });
    let (out, doc) = run_json(junk.addr, &["--timeout", "0.3", "example.com", "192.0.2.1"]);
    assert_eq!(out.code, 4, "{}", out.stdout);
    let qs = queries(&doc);
    let q = query(&qs, "example.com", "TXT");
    assert_eq!(q["outcome"], "timeout", "{q}");
    let detail = q["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("no answer from"), "{q}");
    assert!(detail.contains("ignored"), "{q}");
    assert!(detail.contains("mismatched ID"), "{q}");
}

#[test]
fn formerr_and_notimp_are_errors_naming_the_rcode() {
    for (rcode, word) in [(1u8, "FORMERR"), (4, "NOTIMP")] {
        let script = UdpScript::start(move |query| vec![error_reply(query, rcode)]);
        let (out, doc) = run_json(script.addr, &["example.com", "192.0.2.1"]);
        assert_eq!(out.code, 4, "{}", out.stdout);
        let qs = queries(&doc);
        let q = query(&qs, "example.com", "TXT");
        assert_eq!(q["outcome"], "error", "{q}");
        assert!(
            q["detail"].as_str().unwrap_or_default().contains(word),
            "{word}: {q}"
        );
        assert_eq!(doc["spf"]["result"], "temperror");
    }
}

// ---------------------------------------------------------------------------------------------
// One deadline for the whole check; SPF and DMARC discovery concurrently
// ---------------------------------------------------------------------------------------------

/// Relays queries to `upstream`, holding back the answers for the names in `slow` by `delay`.
fn slow_proxy(upstream: SocketAddr, slow: &'static [&'static str], delay: Duration) -> UdpScript {
    UdpScript::start(move |query| {
        let name = Message::from_vec(query)
            .ok()
            .and_then(|m| m.queries.first().map(|q| q.name().to_ascii()))
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if slow.contains(&name.as_str()) {
            std::thread::sleep(delay);
        }
        vec![forward(upstream, query)]
    })
}

#[test]
fn spf_and_dmarc_run_concurrently_within_one_deadline() {
    let dns = TestDns::start(vec![
        rec("example.com", txt(&["v=spf1 ip4:192.0.2.1 -all"])),
        rec("_dmarc.example.com", txt(&["v=DMARC1; p=reject"])),
    ]);
    let delay = Duration::from_millis(1500);
    let proxy = slow_proxy(dns.addr(), &["example.com", "_dmarc.example.com"], delay);
    let (out, doc) = run_json(proxy.addr, &["example.com", "192.0.2.1"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(doc["dmarc"]["result"], "pass");
    eprintln!("SPF and DMARC each 1.5 s slow: {:?}", out.elapsed);
    assert!(out.elapsed >= delay, "{:?}", out.elapsed);
    // The sum would be 3 s; the longer of the two is 1.5 s.
    assert!(
        out.elapsed < Duration::from_millis(2600),
        "took {:?}: SPF and DMARC ran one after the other",
        out.elapsed
    );

    // --deadline bounds the whole check, not each evaluation.
    let (out, doc) = run_json(
        proxy.addr,
        &[
            "--deadline",
            "1",
            "--timeout",
            "5",
            "example.com",
            "192.0.2.1",
        ],
    );
    eprintln!("--deadline 1, both 1.5 s slow: {:?}", out.elapsed);
    assert_eq!(out.code, 4, "{}", out.stdout);
    assert_eq!(doc["spf"]["result"], "temperror");
    assert_eq!(doc["dmarc"]["result"], "temperror");
    assert!(
        out.elapsed >= Duration::from_millis(950) && out.elapsed < Duration::from_millis(1450),
        "took {:?} with --deadline 1",
        out.elapsed
    );
    let qs = queries(&doc);
    for name in ["example.com", "_dmarc.example.com"] {
        let q = query(&qs, name, "TXT");
        assert_eq!(q["outcome"], "timeout", "{q}");
        assert!(
            q["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("overall deadline"),
            "{q}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The cache
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_coalesces_a_thousand_concurrent_lookups_into_one_query() {
    let dns = TestDns::start(vec![rec("example.com", txt(&["v=spf1 -all"]))]);
    let live = HickoryResolver::with_servers(&[dns.addr()], Duration::from_secs(5)).unwrap();
    let cache = Arc::new(Cache::new(Arc::new(live)));
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let c = cache.clone();
        tasks.push(tokio::spawn(async move {
            c.query_detailed("example.com", RType::Txt).await
        }));
    }
    let mut cached = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert!(matches!(r.answer, Answer::Records { .. }), "{r:?}");
        cached += usize::from(r.cached);
    }
    assert_eq!(dns.count("example.com", "TXT"), 1, "{:?}", dns.queries());
    assert_eq!(cached, 999);
    assert_eq!(cache.misses(), 1);
    assert_eq!(cache.hits(), 999);
}

#[tokio::test]
async fn negative_ttl_comes_from_the_soa() {
    // The test server's SOA: TTL 60, MINIMUM 60 (RFC 2308 §5: the lesser of the two).
    let dns = TestDns::start(vec![rec("example.com", txt(&["v=spf1 -all"]))]);
    let live = HickoryResolver::with_servers(&[dns.addr()], Duration::from_secs(5)).unwrap();
    let nx = live.query_detailed("nope.example.com", RType::Txt).await;
    assert_eq!(nx.answer, Answer::NxDomain);
    assert_eq!(nx.negative_ttl, Some(60));
    let nodata = live.query_detailed("example.com", RType::A).await;
    assert_eq!(nodata.answer, Answer::NoData);
    assert_eq!(nodata.negative_ttl, Some(60));
    // A cache whose own negative TTL is 0 (never) still keeps them: the SOA says 60 s.
    let cache = Cache::new(Arc::new(live)).with_negative_ttl(0);
    for _ in 0..3 {
        assert_eq!(
            cache.query("nope.example.com", RType::Txt).await,
            Answer::NxDomain
        );
    }
    assert_eq!(dns.count("nope.example.com", "TXT"), 2);
    let again = cache.query_detailed("nope.example.com", RType::Txt).await;
    assert!(again.cached);
    assert!(again.negative_ttl.is_some_and(|t| t <= 60 && t > 0));
}

#[tokio::test]
async fn cached_answers_are_marked_in_the_trace() {
    use spfcheck::eval::spf::{SpfRequest, check_host};
    let dns = TestDns::start(vec![
        rec(
            "example.com",
            txt(&["v=spf1 a:h.example.com a:h.example.com -all"]),
        ),
        rec("h.example.com", RData::A("198.51.100.1".parse().unwrap())),
    ]);
    let live = HickoryResolver::with_servers(&[dns.addr()], Duration::from_secs(5)).unwrap();
    let cache: Arc<dyn Resolver> = Arc::new(Cache::new(Arc::new(live)));
    let req = SpfRequest::new("192.0.2.1".parse().unwrap(), "a@example.com", "mx.example");
    let out = check_host(cache, &req).await;
    let json = serde_json::to_value(&out.trace).unwrap();
    let qs: Vec<&Value> = events(&json, "query")
        .into_iter()
        .filter(|q| q["name"] == "h.example.com")
        .collect();
    assert_eq!(qs.len(), 2, "{json:#}");
    assert!(qs[0].get("cached").is_none(), "{}", qs[0]);
    assert_eq!(qs[1]["cached"], true, "{}", qs[1]);
    assert_eq!(dns.count("h.example.com", "A"), 1);
}

#[test]
fn an_error_rcode_from_one_server_falls_back_to_the_next() {
    let records = vec![
        rec("example.com", txt(&["v=spf1 ip4:192.0.2.1 -all"])),
        rec("_dmarc.example.com", txt(&["v=DMARC1; p=reject"])),
    ];
    let failing = TestDns::builder(records.clone())
        .servfail("example.com")
        .start();
    let good = TestDns::start(records);
    let (a, b) = (failing.addr().to_string(), good.addr().to_string());
    let out = run(&[
        "--nameserver",
        &a,
        "--nameserver",
        &b,
        "--json",
        "example.com",
        "192.0.2.1",
    ]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.json()["spf"]["result"], "pass");
    assert_eq!(failing.count("example.com", "TXT"), 1);
    assert_eq!(good.count("example.com", "TXT"), 1);
    // Only failing servers: the first error answer is the answer (SERVFAIL, temperror).
    let only = run(&["--nameserver", &a, "--json", "example.com", "192.0.2.1"]);
    assert_eq!(only.code, 4, "{}", only.stdout);
    let doc = only.json();
    let qs = queries(&doc);
    assert_eq!(query(&qs, "example.com", "TXT")["outcome"], "SERVFAIL");
    assert_eq!(failing.count("example.com", "TXT"), 2, "asked once per run");
}

#[test]
fn the_command_line_asks_each_name_once_and_marks_repeats_cached() {
    let dns = TestDns::start(vec![
        rec(
            "example.com",
            txt(&["v=spf1 a:h.example.com a:h.example.com -all"]),
        ),
        rec("h.example.com", RData::A("198.51.100.1".parse().unwrap())),
    ]);
    let (out, doc) = run_json(dns.addr(), &["example.com", "192.0.2.1"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let qs: Vec<Value> = queries(&doc)
        .into_iter()
        .filter(|q| q["name"] == "h.example.com")
        .collect();
    assert_eq!(qs.len(), 2, "{qs:#?}");
    assert!(qs[0].get("cached").is_none(), "{}", qs[0]);
    assert_eq!(qs[1]["cached"], true, "{}", qs[1]);
    assert_eq!(dns.count("h.example.com", "A"), 1);
}

#[test]
fn a_silent_first_server_does_not_cost_a_timeout() {
    let silent = crate::common::SilentDns::start();
    let good = TestDns::start(vec![
        rec("example.com", txt(&["v=spf1 ip4:192.0.2.1 -all"])),
        rec("_dmarc.example.com", txt(&["v=DMARC1; p=reject"])),
    ]);
    let (s, g) = (silent.addr().to_string(), good.addr().to_string());
    let out = run(&[
        "--nameserver",
        &s,
        "--nameserver",
        &g,
        "--timeout",
        "3",
        "--json",
        "example.com",
        "192.0.2.1",
    ]);
    eprintln!("silent first server, 3 s timeout: {:?}", out.elapsed);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.elapsed < Duration::from_millis(1500),
        "took {:?}: the second server waited for the first to time out",
        out.elapsed
    );
}
