//! A trace-less evaluation (`SpfRequest::trace` off, what `spfcheck batch --format text` and
//! the offline bench run) gives exactly the traced output but for the trace: result,
//! mechanism, problem, explanation and counters over both openspf suites, and the whole
//! verdict (SPF and DMARC) over zones with DMARC policies, tree walks and DNS faults.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use spfcheck::dns::Resolver;
use spfcheck::dns::fault::{FaultKind, Faults};
use spfcheck::dns::overlay::{Overlay, ZoneData};
use spfcheck::eval::dkim::{DkimAuth, DkimResult};
use spfcheck::eval::spf::{SpfOutput, SpfRequest, SpfResult, check_host, code};
use spfcheck::eval::trace::Node;
use spfcheck::record::dmarc::DmarcMode;
use spfcheck::verdict::{self, VerdictRequest};

use crate::spf_suite::{load_suite, scenario_records};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Evaluates `req` traced and trace-less; asserts the trace-less trace is empty and the rest
/// equal. Returns the traced output.
fn both(rt: &tokio::runtime::Runtime, dns: &Arc<dyn Resolver>, req: &SpfRequest) -> SpfOutput {
    assert!(req.trace, "SpfRequest::new traces by default");
    let traced = rt.block_on(check_host(dns.clone(), req));
    let bare_req = SpfRequest {
        trace: false,
        ..req.clone()
    };
    let mut bare = rt.block_on(check_host(dns.clone(), &bare_req));
    assert_eq!(bare.trace, Node::empty(), "{req:?}");
    assert!(
        !traced.trace.children.is_empty(),
        "{req:?}: traced run has a trace"
    );
    bare.trace = traced.trace.clone();
    assert_eq!(bare, traced, "trace-less output differs for {req:?}");
    traced
}

fn suite_equal(file: &str, expected: usize) {
    let rt = runtime();
    let mut cases = 0;
    let mut with_problem = 0;
    let mut with_explanation = 0;
    for scenario in load_suite(file) {
        let (records, timeouts) = scenario_records(&scenario.zonedata);
        let mut zone = ZoneData::new();
        zone.extend(records);
        let mut faults = Faults::new(Arc::new(Overlay::new(zone, None)));
        for (name, t) in timeouts {
            faults.add(&name, Some(t), FaultKind::Timeout);
        }
        let dns: Arc<dyn Resolver> = Arc::new(faults);
        for case in scenario.tests.values() {
            let ip: IpAddr = case.host.parse().expect("host IP");
            let mut req = SpfRequest::new(ip, &case.mailfrom, &case.helo);
            req.default_explanation = Some("DEFAULT %{d}".to_string());
            req.receiver = "receiver.example".to_string();
            let out = both(&rt, &dns, &req);
            cases += 1;
            with_problem += usize::from(out.problem.is_some());
            with_explanation += usize::from(out.explanation.is_some());
        }
    }
    assert_eq!(cases, expected, "{file}: every case compared");
    // The comparison covers the problem and explanation paths, not only plain results.
    assert!(
        with_problem > 50 && with_explanation > 20,
        "{with_problem} {with_explanation}"
    );
}

#[test]
fn rfc7208_suite_trace_less_equals_traced() {
    suite_equal("rfc7208-tests.yml", 203);
}

#[test]
fn rfc4408_suite_trace_less_equals_traced() {
    suite_equal("rfc4408-tests.yml", 191);
}

const ZONE: &str = r#"$TTL 300
example.com.            IN TXT "v=spf1 include:_spf.esp.example a mx:mail.example.com/24 -all"
example.com.            IN TXT "google-site-verification=abc"
example.com.            IN A 192.0.2.10
mail.example.com.       IN MX 10 mx.example.com.
mx.example.com.         IN A 198.51.100.7
_spf.esp.example.       IN TXT "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 ~all"
_dmarc.example.com.     IN TXT "v=DMARC1; p=reject; sp=quarantine; aspf=s; rua=mailto:r@example.com"
sub.example.com.        IN TXT "v=spf1 redirect=example.com"
sub.example.com.        IN A 192.0.2.11
deep.a.b.sub.example.com. IN TXT "v=spf1 exists:%{i}.%{l}.x.example.com ptr -all exp=exp.example.com"
exp.example.com.        IN TXT "denied %{i} for %{s}"
2.0.2.192.x.example.com. IN A 127.0.0.2
other.example.          IN TXT "v=spf1 a:nx1.example a:nx2.example a:nx3.example -all"
_dmarc.other.example.   IN TXT "v=DMARC1; p=quarantine; pct=50; t=y"
broken.example.         IN TXT "v=spf1 ip4:300.1.1.1 -all"
_dmarc.broken.example.  IN TXT "v=DMARC1; p=bogus"
two.example.            IN TXT "v=spf1 -all"
two.example.            IN TXT "v=spf1 +all"
fail.example.           IN TXT "v=spf1 include:servfail.example -all"
_dmarc.fail.example.    IN TXT "v=DMARC1; p=none"
loop.example.           IN TXT "v=spf1 include:loop.example"
ten.example.            IN TXT "v=spf1 a:a1.ten.example a:a2.ten.example a:a3.ten.example a:a4.ten.example a:a5.ten.example a:a6.ten.example include:sub.example.com mx ptr exists:x.ten.example a:a7.ten.example -all"
"#;

fn zone_dns() -> Arc<dyn Resolver> {
    let zone = ZoneData::from_zone_text(ZONE, None).expect("test zone parses");
    let mut faults = Faults::new(Arc::new(Overlay::new(zone, None)));
    faults.add("servfail.example", None, FaultKind::ServFail);
    faults.add("_dmarc.sub.example.com", None, FaultKind::Timeout);
    Arc::new(faults)
}

fn verdict_request(domain: &str, ip: &str, mode: DmarcMode) -> VerdictRequest {
    let ip: IpAddr = ip.parse().expect("test IP");
    let mut spf = SpfRequest::new(ip, &format!("bounce@{domain}"), domain);
    spf.receiver = "mx.receiver.example".to_string();
    spf.default_explanation = Some("see %{d}".to_string());
    VerdictRequest {
        spf,
        from_domain: domain.to_string(),
        from: None,
        dkim: vec![DkimResult {
            domain: "example.com".to_string(),
            selector: Some("s1".to_string()),
            result: DkimAuth::Fail,
            source: "assumed".to_string(),
            signature: None,
        }],
        mode,
        pct_sample: 70,
        message: None,
    }
}

#[test]
fn verdict_trace_less_equals_traced() {
    let rt = runtime();
    let dns = zone_dns();
    let domains = [
        "example.com",
        "sub.example.com",
        "deep.a.b.sub.example.com",
        "other.example",
        "broken.example",
        "two.example",
        "fail.example",
        "loop.example",
        "ten.example",
        "missing.example",
    ];
    let ips = [
        "192.0.2.10",
        "198.51.100.7",
        "203.0.113.5",
        "2001:db8::1",
        "192.0.2.2",
        "::ffff:192.0.2.11",
    ];
    let mut authenticated = 0;
    for mode in [DmarcMode::Rfc9989, DmarcMode::Rfc7489] {
        for domain in domains {
            for ip in ips {
                let req = verdict_request(domain, ip, mode);
                let traced = rt.block_on(verdict::evaluate(dns.clone(), &req));
                let mut bare_req = req.clone();
                bare_req.spf.trace = false;
                let mut bare = rt.block_on(verdict::evaluate(dns.clone(), &bare_req));
                assert_eq!(bare.spf.trace, Node::empty(), "{domain} {ip}");
                assert_eq!(bare.dmarc.trace, Node::empty(), "{domain} {ip}");
                assert!(!traced.dmarc.trace.children.is_empty(), "{domain} {ip}");
                bare.spf.trace = traced.spf.trace.clone();
                bare.dmarc.trace = traced.dmarc.trace.clone();
                assert_eq!(bare, traced, "{domain} {ip} {mode:?}");
                authenticated += usize::from(traced.outcome == verdict::Outcome::Authenticated);
            }
        }
    }
    assert!(authenticated > 0);
}

#[test]
fn deadline_trace_less_equals_traced() {
    // Every query times out at once; with a zero deadline nothing is sent at all: both paths
    // of `Lookup` past the deadline give the same temperror with or without the trace.
    let rt = runtime();
    let dns = zone_dns();
    for deadline in [Duration::ZERO, Duration::from_secs(5)] {
        let mut req = SpfRequest::new("192.0.2.1".parse().expect("IP"), "", "example.com");
        req.limits.deadline = Some(deadline);
        let out = both(&rt, &dns, &req);
        if deadline.is_zero() {
            assert_eq!(out.result, SpfResult::TempError);
            assert_eq!(out.problem.map(|p| p.code), Some(code::DEADLINE));
        } else {
            assert_eq!(out.result, SpfResult::Fail, "{:?}", out.problem);
        }
    }
}
