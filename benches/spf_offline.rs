//! Benchmark (run with `cargo bench --bench spf_offline`; not a test): how many SPF
//! evaluations (`eval::spf::check_host`) one core does per second over zone data served
//! offline by `dns::overlay::Overlay`, on a current-thread runtime as the CLI uses, twice:
//! with the full trace, and trace-less (`SpfRequest::trace` off, as `spfcheck batch --format
//! text` evaluates). Issue 9's goal is at least 200,000 per second.
//!
//! The workload is generated here (see `workgen` below), after the shapes of the shared peer
//! harness's `gen_zone.py`: ESP-like providers (a Google-like include of three netblock
//! records, a Microsoft-like include nested three deep, flat ip4/ip6 lists, a Salesforce-like
//! `exists:%{i}` macro, a Zendesk-like include with `a:` and `mx:`, a four-deep chain),
//! corporate parents reached by `redirect=`, and sender domains each with one record shape
//! (esp, direct, a-mx, redirect, macro, long, neutral, none) plus a few over the limits (more
//! than 10 DNS terms, three void lookups) and broken ones (two records, an unknown
//! mechanism, an include of a missing domain). Pairs use authorised addresses about half the
//! time, an IPv4-mapped form now and then, unauthorised ones otherwise; popular domains are
//! drawn more often (Zipf-like). Sizes: `SPF_BENCH_DOMAINS` (1000), `SPF_BENCH_PAIRS` (20000),
//! `SPF_BENCH_SECS` (3 s of timed evaluation).
//!
//! With `SPF_BENCH_DATA=DIR` the workload is instead read from a directory written by
//! `gen_zone.py --out DIR` (every `zones/*.zone` file and `pairs.txt`).
//!
//! After the whole, the parts are timed alone through the same public functions: the overlay
//! lookups one evaluation makes, the same lookups answered by a warm `dns::cache::Cache` (the
//! hit path of a cached batch), and record parsing. Plain `std::time` timing (harness =
//! false): no benchmark framework is needed for a rate.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use spfcheck::dns::overlay::{Overlay, ZoneData};
use spfcheck::dns::{Answer, RType, Resolver};
use spfcheck::eval::spf::{SpfRequest, check_host};

mod workgen {
    //! The synthetic namespace: zone text and `domain ip` pairs, deterministic for a seed.

    use std::fmt::Write as _;

    /// xorshift64*: deterministic, no dependency.
    pub struct Rng(u64);
    impl Rng {
        pub fn new(seed: u64) -> Rng {
            Rng(seed.max(1))
        }
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        pub fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        pub fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    pub struct Workload {
        pub zone: String,
        pub pairs: Vec<(String, String)>,
    }

    fn txt(z: &mut String, name: &str, text: &str) {
        // Strings of at most 255 octets (RFC 1035 §3.3.14), as a long record is published.
        let mut quoted = String::new();
        let bytes = text.as_bytes();
        for chunk in bytes.chunks(255) {
            let _ = write!(quoted, " \"{}\"", std::str::from_utf8(chunk).unwrap());
        }
        let _ = writeln!(z, "{name}. 3600 IN TXT{quoted}");
    }
    fn a(z: &mut String, name: &str, ip: &str) {
        let t = if ip.contains(':') { "AAAA" } else { "A" };
        let _ = writeln!(z, "{name}. 3600 IN {t} {ip}");
    }
    fn mx(z: &mut String, name: &str, pref: u16, host: &str) {
        let _ = writeln!(z, "{name}. 3600 IN MX {pref} {host}.");
    }

    /// Providers: (name to include, DNS terms it costs, an address it authorises).
    fn providers(z: &mut String) -> Vec<(&'static str, u32, &'static str)> {
        txt(
            z,
            "_spf.mailgoog.test",
            "v=spf1 include:_netblocks.mailgoog.test include:_netblocks2.mailgoog.test include:_netblocks3.mailgoog.test ~all",
        );
        let nets: Vec<String> = (0..8)
            .map(|t| format!("ip4:198.18.{}.0/24", 16 + t))
            .collect();
        txt(
            z,
            "_netblocks.mailgoog.test",
            &format!("v=spf1 {} ~all", nets.join(" ")),
        );
        let nets6: Vec<String> = (1..7)
            .map(|s| format!("ip6:2001:db8:1:{s:x}00::/56"))
            .collect();
        txt(
            z,
            "_netblocks2.mailgoog.test",
            &format!("v=spf1 {} ~all", nets6.join(" ")),
        );
        txt(
            z,
            "_netblocks3.mailgoog.test",
            "v=spf1 ip4:198.18.24.0/23 ip4:198.18.26.0/23 ip4:198.18.28.0/22 ~all",
        );
        for (i, h) in ["aspmx", "alt1.aspmx", "alt2.aspmx"].iter().enumerate() {
            a(
                z,
                &format!("{h}.mailgoog.test"),
                &format!("198.18.30.{}", 10 + i),
            );
        }
        let b = "protection.outlookish.test";
        txt(
            z,
            &format!("spf.{b}"),
            &format!("v=spf1 include:spfa.{b} include:spfb.{b} -all"),
        );
        txt(
            z,
            &format!("spfa.{b}"),
            &format!("v=spf1 ip4:198.18.32.0/22 ip6:2001:db8:2:100::/56 include:spfc.{b} -all"),
        );
        txt(
            z,
            &format!("spfb.{b}"),
            "v=spf1 ip4:198.18.36.0/22 ip4:198.18.40.0/24 -all",
        );
        txt(
            z,
            &format!("spfc.{b}"),
            "v=spf1 ip4:198.18.42.0/23 ip6:2001:db8:2:200::/56 -all",
        );
        a(z, &format!("mail.{b}"), "198.18.46.25");
        txt(
            z,
            "sendgridish.test",
            "v=spf1 ip4:198.18.48.0/21 ip4:198.18.56.0/24 ip4:198.18.57.0/24 ~all",
        );
        txt(
            z,
            "servers.mcsvish.test",
            "v=spf1 ip4:198.18.64.0/22 ip4:198.18.68.0/24 ip6:2001:db8:4::/48 ?all",
        );
        txt(
            z,
            "_spf.sfdcish.test",
            "v=spf1 include:_spf.d.sfdcish.test exists:%{i}._spf.mta.sfdcish.test -all",
        );
        txt(z, "_spf.d.sfdcish.test", "v=spf1 ip4:198.18.80.0/22 -all");
        for k in 1..=20 {
            a(
                z,
                &format!("198.18.90.{k}._spf.mta.sfdcish.test"),
                "127.0.0.2",
            );
        }
        txt(
            z,
            "amazonsesish.test",
            "v=spf1 ip4:198.18.96.0/20 ip6:2001:db8:6::/48 -all",
        );
        txt(
            z,
            "mail.zendeskish.test",
            "v=spf1 a:smtp.zendeskish.test mx:zendeskish.test ip4:198.18.112.0/24 ~all",
        );
        a(z, "smtp.zendeskish.test", "198.18.113.5");
        a(z, "mx1.zendeskish.test", "198.18.113.10");
        a(z, "mx2.zendeskish.test", "198.18.113.11");
        mx(z, "zendeskish.test", 10, "mx1.zendeskish.test");
        mx(z, "zendeskish.test", 20, "mx2.zendeskish.test");
        txt(
            z,
            "spf.deepchain.test",
            "v=spf1 include:l2.deepchain.test ~all",
        );
        txt(
            z,
            "l2.deepchain.test",
            "v=spf1 ip4:198.18.128.0/24 include:l3.deepchain.test ~all",
        );
        txt(
            z,
            "l3.deepchain.test",
            "v=spf1 include:l4.deepchain.test ip6:2001:db8:8:100::/56 ~all",
        );
        txt(z, "l4.deepchain.test", "v=spf1 ip4:198.18.130.0/23 ~all");
        vec![
            ("_spf.mailgoog.test", 4, "198.18.27.9"),
            ("spf.protection.outlookish.test", 4, "198.18.42.7"),
            ("sendgridish.test", 1, "198.18.50.3"),
            ("servers.mcsvish.test", 1, "198.18.65.1"),
            ("_spf.sfdcish.test", 3, "198.18.90.4"),
            ("amazonsesish.test", 1, "198.18.99.99"),
            ("mail.zendeskish.test", 3, "198.18.113.10"),
            ("spf.deepchain.test", 4, "198.18.131.2"),
        ]
    }

    pub fn generate(domains: usize, pairs: usize, seed: u64) -> Workload {
        let mut rng = Rng::new(seed);
        let mut z = String::new();
        let provs = providers(&mut z);
        for k in 1..=5usize {
            let p = provs[k - 1].0;
            txt(
                &mut z,
                &format!("_spf.parent-{k}.test"),
                &format!("v=spf1 ip4:198.19.{}.0/24 include:{p} -all", 240 + k),
            );
            txt(
                &mut z,
                &format!("parent-{k}.test"),
                &format!("v=spf1 redirect=_spf.parent-{k}.test"),
            );
        }
        // Per domain: its name and addresses the record authorises (may be empty).
        let mut senders: Vec<(String, Vec<String>)> = Vec::new();
        for i in 0..domains {
            let d = format!("sender-{i}.test");
            let (third, fourth) = (i / 16 % 200, (i % 16) * 16);
            let net = format!("198.19.{third}.{fourth}/29");
            let own = format!("198.19.{third}.{}", fourth + 3);
            let host = format!("198.19.{third}.{}", fourth + 9);
            let mxhost = format!("198.19.{third}.{}", fourth + 10);
            a(&mut z, &d, &host);
            a(&mut z, &format!("mail.{d}"), &host);
            a(&mut z, &format!("mx1.{d}"), &mxhost);
            mx(&mut z, &d, 10, &format!("mx1.{d}"));
            txt(&mut z, &d, "google-site-verification=abcdefghijklmnop");
            let all = ["-all", "~all", "~all", "-all", "?all"][rng.below(5) as usize];
            let mut ok = vec![own.clone()];
            // Shapes by weight, like gen_zone.py's KINDS (esp most common, odd ones rare).
            let kind = rng.below(100);
            let spf = if kind < 35 {
                let mut terms = vec![];
                let mut budget = 10;
                if rng.chance(50) {
                    terms.push("mx".to_string());
                    ok.push(mxhost.clone());
                    budget -= 1;
                }
                terms.push(format!("ip4:{net}"));
                let want = 1 + rng.below(3);
                let start = rng.below(provs.len() as u64) as usize;
                for j in 0..provs.len() {
                    let (name, cost, ip) = provs[(start + j) % provs.len()];
                    if (terms.len() as u64) < want + 2 && cost <= budget {
                        terms.push(format!("include:{name}"));
                        ok.push(ip.to_string());
                        budget -= cost;
                    }
                }
                Some(format!("v=spf1 {} {all}", terms.join(" ")))
            } else if kind < 50 {
                Some(format!(
                    "v=spf1 ip4:{net} ip6:2001:db8:100:{i:x}::/64 a {all}"
                ))
            } else if kind < 60 {
                ok.push(mxhost.clone());
                Some(format!("v=spf1 a mx a:mail.{d} {all}"))
            } else if kind < 70 {
                let k = 1 + rng.below(5);
                ok.push(format!("198.19.{}.7", 240 + k));
                Some(format!("v=spf1 redirect=_spf.parent-{k}.test"))
            } else if kind < 78 {
                let x = format!("192.0.2.{}", i % 250 + 1);
                a(&mut z, &format!("{x}._spf.{d}"), "127.0.0.2");
                ok.push(x);
                Some(format!("v=spf1 exists:%{{i}}._spf.%{{d}} ip4:{net} {all}"))
            } else if kind < 82 {
                let nets: Vec<String> = (0..22)
                    .map(|k| format!("ip4:198.19.{}.{}/29", 200 + (i + k) % 20, (k * 8) % 256))
                    .collect();
                Some(format!("v=spf1 ip4:{net} {} {all}", nets.join(" ")))
            } else if kind < 86 {
                Some(format!("v=spf1 ip4:{net} ?all"))
            } else if kind < 89 {
                None
            } else if kind < 92 {
                // More than 10 DNS terms; the leading ip4 still matches first.
                Some(format!(
                    "v=spf1 ip4:{net} include:{} include:{} include:{} include:{} -all",
                    provs[0].0, provs[1].0, provs[4].0, provs[7].0
                ))
            } else if kind < 94 {
                // Three void lookups: over the limit of two.
                Some(format!(
                    "v=spf1 ip4:{net} a:nohost1.{d} a:nohost2.{d} mx:nomx.{d} -all"
                ))
            } else if kind < 96 {
                txt(&mut z, &d, &format!("v=spf1 ip4:{net} -all"));
                Some(format!("v=spf1 include:{} ~all", provs[0].0))
            } else if kind < 98 {
                Some(format!("v=spf1 ip4:{net} ipv4:{host} -all"))
            } else {
                Some(format!(
                    "v=spf1 include:_spf.nonexistent-{i}.test ip4:{net} -all"
                ))
            };
            if let Some(s) = spf {
                txt(&mut z, &d, &s);
            }
            senders.push((d, ok));
        }
        let mut out = Vec::with_capacity(pairs);
        for n in 0..pairs {
            // Every domain once, then Zipf-like popularity: rank r drawn with weight 1/r.
            let idx = if n < senders.len() {
                n
            } else {
                let u = (rng.below(1_000_000) as f64 + 1.0) / 1_000_000.0;
                (((senders.len() as f64).powf(u)) as usize).saturating_sub(1)
            };
            let (d, ok) = &senders[idx.min(senders.len() - 1)];
            let roll = rng.below(100);
            let ip = if roll < 55 {
                ok[rng.below(ok.len() as u64) as usize].clone()
            } else if roll < 58 {
                format!("::ffff:{}", ok[0])
            } else if roll < 90 {
                format!("203.0.113.{}", rng.below(256))
            } else {
                format!("2001:db8:ffff::{:x}", rng.below(65536))
            };
            let d = if n % 100 == 99 {
                format!("ghost-{n}.test")
            } else {
                d.clone()
            };
            out.push((d, ip));
        }
        Workload {
            zone: z,
            pairs: out,
        }
    }
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The zone data and the pairs: generated, or read from a `gen_zone.py` directory.
fn workload() -> (ZoneData, Vec<(String, IpAddr)>, String) {
    let (zone, pairs, what) = if let Ok(dir) = std::env::var("SPF_BENCH_DATA") {
        let dir = std::path::PathBuf::from(dir);
        let mut zone = ZoneData::new();
        let mut files: Vec<_> = std::fs::read_dir(dir.join("zones"))
            .expect("DIR/zones")
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in &files {
            zone.extend(spfcheck::dns::zone::parse_zone_file(f).expect("zone file"));
        }
        let text = std::fs::read_to_string(dir.join("pairs.txt")).expect("DIR/pairs.txt");
        let pairs: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((w.next()?.to_string(), w.next()?.to_string()))
            })
            .collect();
        let what = format!("{} ({} zone files)", dir.display(), files.len());
        (zone, pairs, what)
    } else {
        let domains = env_num("SPF_BENCH_DOMAINS", 1000);
        let n = env_num("SPF_BENCH_PAIRS", 20_000);
        let w = workgen::generate(domains, n, 42);
        let zone = ZoneData::from_zone_text(&w.zone, None).expect("generated zone parses");
        (zone, w.pairs, format!("generated, {domains} domains"))
    };
    let pairs = pairs
        .into_iter()
        .map(|(d, ip)| (d, ip.parse().expect("pair address")))
        .collect();
    (zone, pairs, what)
}

fn main() {
    let (zone, pairs, what) = workload();
    let records = zone.len();
    let spf_texts: Vec<String> = zone
        .iter()
        .filter_map(|r| match &r.data {
            spfcheck::dns::RData::Txt(strings) => {
                let t = String::from_utf8_lossy(&strings.concat()).into_owned();
                t.to_ascii_lowercase().starts_with("v=spf1").then_some(t)
            }
            _ => None,
        })
        .collect();
    let resolver: Arc<dyn Resolver> = Arc::new(Overlay::new(zone, None));
    let requests: Vec<SpfRequest> = pairs
        .iter()
        .map(|(d, ip)| SpfRequest::new(*ip, &format!("postmaster@{d}"), d))
        .collect();
    let untraced: Vec<SpfRequest> = requests
        .iter()
        .map(|r| SpfRequest {
            trace: false,
            ..r.clone()
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let secs = env_num("SPF_BENCH_SECS", 3) as u64;

    println!(
        "workload: {what}: {records} records, {} pairs",
        requests.len()
    );

    // Results per kind, from one pass (a checksum for comparing builds: optimisations must
    // not change it), also the warm-up. The trace-less evaluation of each pair must give the
    // same output but for the trace.
    let mut results: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut trace_nodes = 0usize;
    let mut lookups = 0u64;
    rt.block_on(async {
        for (req, bare) in requests.iter().zip(&untraced) {
            let out = check_host(resolver.clone(), req).await;
            *results.entry(out.result.as_str()).or_default() += 1;
            trace_nodes += count_nodes(&out.trace);
            lookups += u64::from(out.dns_lookups);
            let mut quiet = check_host(resolver.clone(), bare).await;
            assert_eq!(quiet.trace, spfcheck::eval::trace::Node::empty());
            quiet.trace = out.trace.clone();
            assert_eq!(quiet, out, "trace-less output differs for {req:?}");
        }
    });
    println!(
        "results: {}",
        results
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "per evaluation: {:.2} DNS terms, {:.1} trace nodes",
        lookups as f64 / requests.len() as f64,
        trace_nodes as f64 / requests.len() as f64
    );

    // The whole: check_host over the pairs, round after round, for `secs`, traced and not.
    for (label, reqs) in [("traced", &requests), ("trace-less", &untraced)] {
        let (n, el) = rt.block_on(async {
            let t = Instant::now();
            let mut n = 0u64;
            while t.elapsed() < Duration::from_secs(secs) {
                for req in reqs {
                    std::hint::black_box(check_host(resolver.clone(), req).await);
                    n += 1;
                }
            }
            (n, t.elapsed())
        });
        let rate = n as f64 / el.as_secs_f64();
        println!(
            "check_host ({label}): {n} evaluations in {:.2} s: {rate:.0} evaluations/s on one core ({:.2} µs each)",
            el.as_secs_f64(),
            1e6 / rate
        );
    }

    // Parts. The overlay: the queries of one pass, replayed through the Resolver trait.
    let mut queries: Vec<(String, RType)> = Vec::new();
    rt.block_on(async {
        for req in requests.iter().take(2000) {
            let rec = Arc::new(spfcheck::dns::recorder::Recorder::new(resolver.clone()));
            let _ = check_host(rec.clone(), req).await;
            queries.extend(rec.take().into_iter().map(|q| (q.name, q.rtype)));
        }
    });
    let per_eval = queries.len() as f64 / requests.len().min(2000) as f64;
    let (qn, qel) = rt.block_on(async {
        let t = Instant::now();
        let mut n = 0u64;
        while t.elapsed() < Duration::from_secs(1) {
            for (name, rtype) in &queries {
                let a: Answer = resolver.query(name, *rtype).await;
                std::hint::black_box(a);
                n += 1;
            }
        }
        (n, t.elapsed())
    });
    let q_us = qel.as_secs_f64() * 1e6 / qn as f64;
    println!(
        "  overlay queries: {per_eval:.2} per evaluation, {q_us:.3} µs each: {:.2} µs per evaluation",
        q_us * per_eval
    );
    // The cache hit path (dns::cache::Cache, as `spfcheck batch` puts it in front of its
    // backend): the same queries, every one answered from the warm cache.
    let cache = spfcheck::dns::cache::Cache::new(resolver.clone());
    let (hn, hel) = rt.block_on(async {
        for (name, rtype) in &queries {
            std::hint::black_box(cache.query(name, *rtype).await);
        }
        let t = Instant::now();
        let mut n = 0u64;
        while t.elapsed() < Duration::from_secs(1) {
            for (name, rtype) in &queries {
                let a: Answer = cache.query(name, *rtype).await;
                std::hint::black_box(a);
                n += 1;
            }
        }
        (n, t.elapsed())
    });
    let stats = cache.stats();
    println!(
        "  cache hits: {:.3} µs each ({:.1}% of all its queries were hits, {} answers held)",
        hel.as_secs_f64() * 1e6 / hn as f64,
        100.0 * stats.hits as f64 / (stats.hits + stats.misses) as f64,
        stats.entries
    );
    let t = Instant::now();
    let mut pn = 0u64;
    while t.elapsed() < Duration::from_secs(1) {
        for s in &spf_texts {
            std::hint::black_box(spfcheck::record::spf::parse(s).is_ok());
            pn += 1;
        }
    }
    println!(
        "  record parse: {:.3} µs per record ({} SPF records in the zone)",
        t.elapsed().as_secs_f64() * 1e6 / pn as f64,
        spf_texts.len()
    );
}

fn count_nodes(n: &spfcheck::eval::trace::Node) -> usize {
    1 + n.children.iter().map(count_nodes).sum::<usize>()
}
