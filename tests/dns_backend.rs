//! `HickoryResolver` against in-process servers: every `Answer` kind, TXT fidelity, CNAME
//! chains, TCP fallback, timeouts and invalid names.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use spfcheck::dns::hickory::HickoryResolver;
use spfcheck::dns::{Answer, RData, RType, Record, Resolver};

use crate::common::{SilentDns, TestDns, rec, txt};

fn resolver(dns: &TestDns) -> HickoryResolver {
    HickoryResolver::with_servers(&[dns.addr()], Duration::from_secs(2)).expect("resolver")
}

fn records(answer: &Answer) -> Vec<RData> {
    match answer {
        Answer::Records { data, .. } => data.to_vec(),
        other => panic!("expected records, got {other:?}"),
    }
}

fn zone() -> Vec<Record> {
    vec![
        rec("example.com", RData::A(Ipv4Addr::new(192, 0, 2, 1))),
        rec("example.com", RData::A(Ipv4Addr::new(192, 0, 2, 2))),
        rec(
            "example.com",
            RData::Aaaa("2001:db8::1".parse::<Ipv6Addr>().unwrap()),
        ),
        rec(
            "example.com",
            RData::Mx {
                preference: 10,
                exchange: "mx1.example.com".into(),
            },
        ),
        rec(
            "example.com",
            RData::Mx {
                preference: 20,
                exchange: "MX2.Example.COM".into(),
            },
        ),
        rec(
            "example.com",
            txt(&["v=spf1 ip4:192.0.2.0/24 ", "include:_spf.example.net -all"]),
        ),
        rec("example.com", txt(&["google-site-verification=abc"])),
        rec(
            "bin.example.com",
            RData::Txt(vec![b"v=spf1 ".to_vec(), vec![0xff, 0xfe, b'x', 0x00]]),
        ),
        rec("1.2.0.192.in-addr.arpa", RData::Ptr("example.com".into())),
        // A deep name, so that b.example.com is an empty non-terminal.
        rec("a.b.example.com", RData::A(Ipv4Addr::new(192, 0, 2, 9))),
        // A name holding only a type no evaluator asks for.
        rec(
            "other.example.com",
            RData::Other {
                rtype: "CAA".into(),
                rdata: "0 issue \"ca.example\"".into(),
            },
        ),
        // CNAME chain: www -> alias -> host (TTLs 60, 120, 300).
        Record {
            name: "www.example.com".into(),
            ttl: 60,
            data: RData::Cname("alias.example.com".into()),
        },
        Record {
            name: "alias.example.com".into(),
            ttl: 120,
            data: RData::Cname("host.example.com".into()),
        },
        rec("host.example.com", RData::A(Ipv4Addr::new(192, 0, 2, 80))),
        rec(
            "dangling.example.com",
            RData::Cname("gone.example.org".into()),
        ),
    ]
}

#[tokio::test]
async fn addresses_and_mx() {
    let dns = TestDns::start(zone());
    let r = resolver(&dns);

    let mut a = records(&r.query("example.com", RType::A).await);
    a.sort_by_key(|d| d.to_string());
    assert_eq!(
        a,
        vec![
            RData::A(Ipv4Addr::new(192, 0, 2, 1)),
            RData::A(Ipv4Addr::new(192, 0, 2, 2))
        ]
    );
    assert_eq!(
        r.query("example.com", RType::Aaaa).await,
        Answer::Records {
            data: vec![RData::Aaaa("2001:db8::1".parse().unwrap())].into(),
            ttl: 300
        }
    );
    let mut mx = records(&r.query("example.com", RType::Mx).await);
    mx.sort_by_key(|d| d.to_string());
    assert_eq!(
        mx,
        vec![
            RData::Mx {
                preference: 10,
                exchange: "mx1.example.com".into()
            },
            // Names come back lower-case, without the trailing dot.
            RData::Mx {
                preference: 20,
                exchange: "mx2.example.com".into()
            },
        ]
    );
}

#[tokio::test]
async fn query_names_are_case_insensitive_and_absolute() {
    let dns = TestDns::start(zone());
    let r = resolver(&dns);
    for name in ["EXAMPLE.com", "example.com.", "Example.Com."] {
        assert_eq!(records(&r.query(name, RType::A).await).len(), 2, "{name}");
    }
}

#[tokio::test]
async fn txt_strings_stay_separate_and_raw() {
    let dns = TestDns::start(zone());
    let r = resolver(&dns);

    let mut t = records(&r.query("example.com", RType::Txt).await);
    t.sort_by_key(|d| d.to_string());
    assert_eq!(
        t,
        vec![
            txt(&["google-site-verification=abc"]),
            txt(&["v=spf1 ip4:192.0.2.0/24 ", "include:_spf.example.net -all"]),
        ]
    );

    assert_eq!(
        records(&r.query("bin.example.com", RType::Txt).await),
        vec![RData::Txt(vec![
            b"v=spf1 ".to_vec(),
            vec![0xff, 0xfe, b'x', 0x00]
        ])]
    );
}

#[tokio::test]
async fn long_txt_arrives_whole_over_tcp_fallback() {
    // 2000 bytes in 255-byte strings: more than the 1232-byte EDNS payload, so the UDP answer
    // is truncated and the resolver must retry over TCP.
    let big: Vec<u8> = (0..2000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let parts: Vec<Vec<u8>> = big.chunks(255).map(|c| c.to_vec()).collect();
    assert_eq!(parts.len(), 8);
    let dns = TestDns::start(vec![rec("big.example.com", RData::Txt(parts.clone()))]);
    let r = resolver(&dns);
    let got = records(&r.query("big.example.com", RType::Txt).await);
    assert_eq!(got, vec![RData::Txt(parts)]);
    if let RData::Txt(p) = &got[0] {
        assert_eq!(p.concat(), big);
    }
    let q = dns.queries();
    assert!(
        q.iter().any(|q| !q.tcp) && q.iter().any(|q| q.tcp),
        "expected a UDP try then a TCP retry: {q:?}"
    );
}

#[tokio::test]
async fn every_query_is_sent_no_cache() {
    let dns = TestDns::start(zone());
    let r = resolver(&dns);
    for _ in 0..3 {
        assert_eq!(records(&r.query("example.com", RType::Txt).await).len(), 2);
        assert_eq!(
            r.query("nope.example.com", RType::A).await,
            Answer::NxDomain
        );
    }
    assert_eq!(dns.count("example.com", "TXT"), 3);
    assert_eq!(dns.count("NOPE.example.com.", "A"), 3);
    // A CNAME chain answered in one response costs one query.
    dns.clear_queries();
    records(&r.query("www.example.com", RType::A).await);
    assert_eq!(dns.queries().len(), 1, "{:?}", dns.queries());
}

#[tokio::test]
async fn ptr() {
    let dns = TestDns::start(zone());
    let r = resolver(&dns);
    let name = spfcheck::dns::reverse_name("192.0.2.1".parse().unwrap());
    assert_eq!(
        records(&r.query(&name, RType::Ptr).await),
        vec![RData::Ptr("example.com".into())]
    );
}

#[tokio::test]
async fn cname_chains_are_followed() {
    let dns = TestDns::start(zone());
    let r = resolver(&dns);
    // Only the asked type is kept; the TTL is the chain's minimum.
    assert_eq!(
        r.query("www.example.com", RType::A).await,
        Answer::Records {
            data: vec![RData::A(Ipv4Addr::new(192, 0, 2, 80))].into(),
            ttl: 60
        }
    );
    // Asking for the CNAME itself gives the CNAME.
    assert_eq!(
        records(&r.query("www.example.com", RType::Cname).await),
        vec![RData::Cname("alias.example.com".into())]
    );
    // The chain ends at a name without that type: NODATA.
    assert_eq!(r.query("www.example.com", RType::Txt).await, Answer::NoData);
    // The chain ends at a name that does not exist: NXDOMAIN.
    assert_eq!(
        r.query("dangling.example.com", RType::A).await,
        Answer::NxDomain
    );
}

#[tokio::test]
async fn nxdomain_and_nodata_are_told_apart() {
    let dns = TestDns::start(zone());
    let r = resolver(&dns);
    assert_eq!(
        r.query("nope.example.com", RType::Txt).await,
        Answer::NxDomain
    );
    assert_eq!(
        r.query("nowhere.test", RType::A).await,
        Answer::NxDomain,
        "names outside any data get NXDOMAIN, not REFUSED"
    );
    // The name has A records but no PTR.
    assert_eq!(r.query("example.com", RType::Ptr).await, Answer::NoData);
    // host.example.com has an A, no TXT.
    assert_eq!(
        r.query("host.example.com", RType::Txt).await,
        Answer::NoData
    );
    // Empty non-terminal.
    assert_eq!(r.query("b.example.com", RType::A).await, Answer::NoData);
    // A name that only holds an `Other` record exists.
    assert_eq!(r.query("other.example.com", RType::A).await, Answer::NoData);
    // Below a leaf: NXDOMAIN.
    assert_eq!(
        r.query("x.a.b.example.com", RType::A).await,
        Answer::NxDomain
    );
}

#[tokio::test]
async fn injected_faults() {
    let dns = TestDns::builder(zone())
        .servfail("example.com")
        .refused("host.example.com")
        .drop_queries("bin.example.com")
        .start();
    let r = HickoryResolver::with_servers(&[dns.addr()], Duration::from_millis(500)).unwrap();
    assert_eq!(r.query("example.com", RType::Txt).await, Answer::ServFail);
    assert_eq!(r.query("EXAMPLE.COM.", RType::A).await, Answer::ServFail);
    assert_eq!(
        r.query("host.example.com", RType::A).await,
        Answer::Refused("REFUSED".into())
    );
    // The server chases CNAMEs itself, so a chain through a faulted name still answers: faults
    // apply to query names only.
    assert_eq!(
        records(&r.query("www.example.com", RType::A).await),
        vec![RData::A(Ipv4Addr::new(192, 0, 2, 80))]
    );
    let start = Instant::now();
    assert_eq!(
        r.query("bin.example.com", RType::Txt).await,
        Answer::Timeout
    );
    eprintln!("dropped name, 0.5 s timeout: {:?}", start.elapsed());
    // Retried: UDP try + retry at least.
    assert!(
        dns.count("bin.example.com", "TXT") >= 2,
        "{:?}",
        dns.queries()
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    // Other names still answer.
    assert_eq!(
        records(&r.query("a.b.example.com", RType::A).await),
        vec![RData::A(Ipv4Addr::new(192, 0, 2, 9))]
    );
}

#[test]
fn start_with_servfail_names() {
    let dns = TestDns::start_with(zone(), vec!["_spf.example.com".into()]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let r = resolver(&dns);
    assert_eq!(
        rt.block_on(r.query("_spf.example.com", RType::Txt)),
        Answer::ServFail
    );
    assert_eq!(
        records(&rt.block_on(r.query("host.example.com", RType::A))),
        vec![RData::A(Ipv4Addr::new(192, 0, 2, 80))]
    );
}

#[tokio::test]
async fn silent_server_times_out() {
    let silent = SilentDns::start();
    let r = HickoryResolver::with_servers(&[silent.addr()], Duration::from_secs(1)).unwrap();
    let start = Instant::now();
    let answer = r.query("example.com", RType::Txt).await;
    let elapsed = start.elapsed();
    eprintln!("silent server, 1 s timeout: {answer:?} after {elapsed:?}");
    assert_eq!(answer, Answer::Timeout);
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test]
async fn a_silent_first_server_falls_back_to_the_second() {
    let silent = SilentDns::start();
    let dns = TestDns::start(zone());
    let r = HickoryResolver::with_servers(&[silent.addr(), dns.addr()], Duration::from_secs(1))
        .unwrap();
    let start = Instant::now();
    assert_eq!(
        records(&r.query("host.example.com", RType::A).await),
        vec![RData::A(Ipv4Addr::new(192, 0, 2, 80))]
    );
    eprintln!("silent first server: answered after {:?}", start.elapsed());
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn invalid_names_are_errors_not_panics() {
    let dns = TestDns::start(zone());
    let r = resolver(&dns);
    let long_label = format!("{}.example.com", "a".repeat(64));
    let long_name = vec!["abcdefghij"; 30].join(".");
    for name in [
        long_label.as_str(),
        long_name.as_str(),
        "a..example.com",
        "",
        ".",
        ".example.com",
    ] {
        match r.query(name, RType::Txt).await {
            Answer::Error(msg) => assert!(msg.starts_with("invalid name"), "{name:?}: {msg}"),
            other => panic!("{name:?}: expected an error, got {other:?}"),
        }
    }
}

#[test]
#[should_panic(expected = "max 255")]
fn harness_rejects_txt_strings_over_255_bytes() {
    let _dns = TestDns::start(vec![rec(
        "big.example.com",
        RData::Txt(vec![vec![b'x'; 256]]),
    )]);
}

#[test]
fn system_resolver_builds() {
    // /etc/resolv.conf on this machine names a server; no query is sent (no network here).
    let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let result = HickoryResolver::system(Duration::from_secs(1));
    if conf
        .lines()
        .any(|l| l.trim_start().starts_with("nameserver"))
    {
        assert!(result.is_ok(), "{:?}", result.err());
    } else {
        assert!(result.is_err());
    }
}

#[test]
fn one_resolver_across_runtimes() {
    // The CLI and sync tests may build a resolver once and drive it from several runtimes.
    let dns = TestDns::start(zone());
    let r = resolver(&dns);
    for _ in 0..2 {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let start = Instant::now();
        let a = rt.block_on(r.query("host.example.com", RType::A));
        eprintln!("runtime hop: {a:?} after {:?}", start.elapsed());
        assert_eq!(records(&a), vec![RData::A(Ipv4Addr::new(192, 0, 2, 80))]);
    }
}

#[tokio::test]
async fn nothing_listening_is_a_failure() {
    // A port with nothing bound: UDP gets ICMP port-unreachable, TCP a refused connection.
    let addr = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let r = HickoryResolver::with_servers(&[addr], Duration::from_secs(1)).unwrap();
    let start = Instant::now();
    let answer = r.query("example.com", RType::Txt).await;
    eprintln!("closed port: {answer:?} after {:?}", start.elapsed());
    assert!(answer.is_failure(), "{answer:?}");
    assert!(start.elapsed() < Duration::from_secs(10));
}
