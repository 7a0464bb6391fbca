//! The openspf conformance suites (RFC 7208: 203 tests, RFC 4408: 191 tests), run in full
//! through the same zone-overlay and fault layers that `--zone --offline` and `--fault` use.
//! A test whose expected result we believe is wrong must be listed, with the RFC section, in
//! `testdata/spf/DIFFERENCES.tsv`; the listed result is then asserted instead. Nothing is
//! skipped.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Deserialize;
use serde_yaml_ng::Value;

use spfcheck::dns::fault::{FaultKind, Faults};
use spfcheck::dns::overlay::{Overlay, ZoneData};
use spfcheck::dns::{RData, RType, Record, Resolver};
use spfcheck::eval::spf::{SpfRequest, SpfResult, check_host};

#[derive(Debug, Deserialize)]
pub struct Scenario {
    pub description: String,
    pub tests: BTreeMap<String, Case>,
    #[serde(default)]
    pub zonedata: BTreeMap<String, Vec<Value>>,
}

#[derive(Debug, Deserialize)]
pub struct Case {
    pub helo: String,
    pub host: String,
    pub mailfrom: String,
    pub result: Value,
    pub explanation: Option<String>,
    #[serde(default)]
    pub spec: Value,
}

/// What one evaluation of a test case produced, however it was run.
pub struct Outcome {
    pub result: SpfResult,
    pub explanation: Option<String>,
    /// Shown when the case fails (problem, mechanism, stderr...).
    pub detail: String,
}

/// One documented disagreement with a suite's expectation.
struct Difference {
    test: String,
    /// "result" or "explanation": which expectation we replace.
    field: String,
    ours: String,
}

fn differences(suite: &str) -> Vec<Difference> {
    let text = std::fs::read_to_string("testdata/spf/DIFFERENCES.tsv").unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert!(
                cols.len() >= 5,
                "DIFFERENCES.tsv: need 5 tab-separated columns: {l}"
            );
            assert!(
                cols[2] == "explanation" || SpfResult::from_name(cols[3]).is_some(),
                "DIFFERENCES.tsv: bad result {:?}",
                cols[3]
            );
            (cols[0] == suite).then(|| Difference {
                test: cols[1].to_string(),
                field: cols[2].to_string(),
                ours: cols[3].to_string(),
            })
        })
        .collect()
}

pub fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("unexpected YAML value {other:?}"),
    }
}

/// The records of one scenario's zonedata, and the (name, type) pairs that time out.
pub fn scenario_records(
    zonedata: &BTreeMap<String, Vec<Value>>,
) -> (Vec<Record>, Vec<(String, RType)>) {
    let mut records = Vec::new();
    let mut timeouts: Vec<(String, RType)> = Vec::new();
    for (name, entries) in zonedata {
        let has_txt = entries.iter().any(|e| e.get("TXT").is_some());
        let mut seen: Vec<RType> = Vec::new();
        for entry in entries {
            if entry.as_str() == Some("TIMEOUT") {
                // The reference driver times out queries for types not listed before TIMEOUT.
                for t in [RType::A, RType::Aaaa, RType::Mx, RType::Txt, RType::Ptr] {
                    if !seen.contains(&t) {
                        timeouts.push((name.clone(), t));
                    }
                }
                continue;
            }
            let map = entry.as_mapping().expect("zonedata entry is a map");
            for (k, v) in map {
                let kind = scalar(k);
                let txt = |v: &Value| -> Option<RData> {
                    match v {
                        Value::Sequence(parts) => Some(RData::Txt(
                            parts.iter().map(|p| yaml_bytes(&scalar(p))).collect(),
                        )),
                        _ if scalar(v) == "NONE" => None,
                        _ => Some(RData::Txt(vec![yaml_bytes(&scalar(v))])),
                    }
                };
                let data = match kind.as_str() {
                    "TXT" => txt(v),
                    // SPF (type 99) is served as TXT unless the name lists TXT itself.
                    "SPF" if !has_txt => txt(v),
                    "SPF" => None,
                    "A" => Some(RData::A(scalar(v).parse().expect("A address"))),
                    "AAAA" => Some(RData::Aaaa(scalar(v).parse().expect("AAAA address"))),
                    "PTR" => Some(RData::Ptr(norm(&scalar(v)))),
                    "CNAME" => Some(RData::Cname(norm(&scalar(v)))),
                    "MX" => {
                        let s = v.as_sequence().expect("MX is [pref, host]");
                        Some(RData::Mx {
                            preference: scalar(&s[0]).parse().expect("MX preference"),
                            exchange: norm(&scalar(&s[1])),
                        })
                    }
                    other => panic!("unknown zonedata type {other}"),
                };
                // "TXT: NONE" lists the type without records: nothing to add.
                if let Some(d) = data {
                    if let Some(t) = d.rtype() {
                        seen.push(t);
                    }
                    records.push(Record {
                        name: name.clone(),
                        ttl: 300,
                        data: d,
                    });
                }
            }
        }
    }
    (records, timeouts)
}

/// Builds the DNS for one scenario: zone data offline, with TIMEOUT entries as faults.
fn scenario_dns(zonedata: &BTreeMap<String, Vec<Value>>) -> Arc<dyn Resolver> {
    let (records, timeouts) = scenario_records(zonedata);
    let mut zone = ZoneData::new();
    zone.extend(records);
    let mut faults = Faults::new(Arc::new(Overlay::new(zone, None)));
    for (name, t) in timeouts {
        faults.add(&name, Some(t), FaultKind::Timeout);
    }
    Arc::new(faults)
}

fn norm(s: &str) -> String {
    s.trim_end_matches('.').to_ascii_lowercase()
}

/// The suites write raw bytes as `\xNN` in double-quoted YAML, which YAML reads as the
/// code points U+0000..U+00FF; map those back to bytes.
fn yaml_bytes(s: &str) -> Vec<u8> {
    if s.chars().all(|c| (c as u32) < 0x100) && !s.is_ascii() {
        s.chars().map(|c| c as u32 as u8).collect()
    } else {
        s.as_bytes().to_vec()
    }
}

/// Every case of a suite file, with its scenario.
pub fn load_suite(file: &str) -> Vec<Scenario> {
    let text = std::fs::read_to_string(format!("testdata/spf/{file}")).expect("suite file");
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Scenario::deserialize(doc).expect("scenario"))
        .collect()
}

/// Runs every case of a suite through `eval` (on `threads` threads, given the scenario's index
/// in `scenarios`) and checks the outcomes against the suite and DIFFERENCES.tsv.
pub fn check_suite(
    scenarios: &[Scenario],
    suite: &str,
    expected_tests: usize,
    threads: usize,
    eval: &(dyn Fn(usize, &Case) -> Outcome + Sync),
) {
    let diffs = differences(suite);
    let jobs: Vec<(usize, &String, &Case)> = scenarios
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.tests.iter().map(move |(n, c)| (i, n, c)))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let outcomes: Vec<std::sync::Mutex<Option<Outcome>>> =
        jobs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(&(i, _, case)) = jobs.get(k) else {
                        break;
                    };
                    *outcomes[k].lock().unwrap() = Some(eval(i, case));
                }
            });
        }
    });
    let total = jobs.len();
    let mut failures = Vec::new();
    let mut used_diffs = 0;
    for (k, &(i, name, case)) in jobs.iter().enumerate() {
        let out = outcomes[k]
            .lock()
            .unwrap()
            .take()
            .expect("every case evaluated");
        let mut accepted: Vec<SpfResult> = match &case.result {
            Value::Sequence(list) => list.iter().map(scalar).collect(),
            v => vec![scalar(v)],
        }
        .iter()
        .map(|s| SpfResult::from_name(s).expect("known result"))
        .collect();
        let mut want_explanation = case.explanation.clone();
        if let Some(d) = diffs.iter().find(|d| &d.test == name) {
            used_diffs += 1;
            match d.field.as_str() {
                "explanation" => want_explanation = Some(d.ours.clone()),
                _ => accepted = SpfResult::from_name(&d.ours).into_iter().collect(),
            }
        }
        let mut problem = None;
        if !accepted.contains(&out.result) {
            problem = Some(format!("result {} (expected {:?})", out.result, accepted));
        } else if let (Some(want), SpfResult::Fail) = (&want_explanation, out.result)
            && out.explanation.as_deref() != Some(want.as_str())
        {
            problem = Some(format!(
                "explanation {:?} (expected {want:?})",
                out.explanation
            ));
        }
        if let Some(p) = problem {
            failures.push(format!(
                "{suite} / {} / {name} (spec {}): {p}\n    {}",
                scenarios[i].description,
                scalar_or(&case.spec),
                out.detail
            ));
        }
    }
    assert_eq!(
        used_diffs,
        diffs.len(),
        "a DIFFERENCES.tsv line names no test of {suite}"
    );
    println!("{suite}: {}/{total} passed", total - failures.len());
    assert_eq!(total, expected_tests, "{suite}: test count");
    assert!(
        failures.is_empty(),
        "{} of {total} {suite} tests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs a suite through the library: `check_host` over the overlay and fault layers.
fn run_suite(file: &str, suite: &str, expected_tests: usize) {
    let scenarios = load_suite(file);
    let dns: Vec<Arc<dyn Resolver>> = scenarios
        .iter()
        .map(|s| scenario_dns(&s.zonedata))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    check_suite(&scenarios, suite, expected_tests, 1, &|i, case| {
        let ip: IpAddr = case.host.parse().expect("host IP");
        let mut req = SpfRequest::new(ip, &case.mailfrom, &case.helo);
        req.default_explanation = Some("DEFAULT".to_string());
        req.receiver = "receiver.example".to_string();
        let out = rt.block_on(check_host(dns[i].clone(), &req));
        Outcome {
            result: out.result,
            explanation: out.explanation,
            detail: format!(
                "problem: {:?}\n    mechanism: {:?}",
                out.problem, out.mechanism
            ),
        }
    });
}

fn scalar_or(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Sequence(s) => s.iter().map(scalar).collect::<Vec<_>>().join(", "),
        v => scalar(v),
    }
}

#[test]
fn rfc7208_suite() {
    run_suite("rfc7208-tests.yml", "rfc7208", 203);
}

#[test]
fn rfc4408_suite() {
    run_suite("rfc4408-tests.yml", "rfc4408", 191);
}
