//! DMARC as a receiver applies it, end to end through the binary: it exists because the
//! verdict (disposition, exit code, Authentication-Results) depends on the whole chain — SPF,
//! the simulated DKIM results, policy discovery (RFC 9989 DNS Tree Walk or RFC 7489 PSL),
//! alignment, p/sp/np, t and pct — over real DNS answers, which unit tests of each piece do not
//! see. The scenarios are data (`testdata/dmarc/scenarios.yml` over
//! `testdata/dmarc/scenarios.zone`, each naming its RFC section); the runner checks every one
//! through the in-process DNS server on 127.0.0.1 and, where no server fault is involved, also
//! offline from the zone file, and reports all mismatches at once. Beside them: the seed case in
//! text and header form, and hostile DMARC records served by the server.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Deserialize;
use serde_json::Value;
use spfcheck::dns::zone::parse_zone;
use spfcheck::dns::{RData, Record};

use crate::common::{TestDns, events, rec, run_spfcheck, txt};

const ZONE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/dmarc/scenarios.zone");
const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/dmarc/scenarios.yml");
const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/seed/seed.zone");

/// One scenario of `scenarios.yml` (the file's header explains the fields).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    name: String,
    rfc: String,
    what: String,
    #[serde(default)]
    zone: Option<String>,
    args: Vec<String>,
    #[serde(default)]
    server: ServerFaults,
    #[serde(default = "yes")]
    offline: bool,
    exit: i32,
    #[serde(default)]
    expect: BTreeMap<String, serde_yaml_ng::Value>,
    #[serde(default)]
    contains: BTreeMap<String, String>,
    #[serde(default)]
    diagnostics: Vec<String>,
    #[serde(default)]
    trace: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct ServerFaults {
    #[serde(default)]
    servfail: Vec<String>,
    #[serde(default)]
    drop: Vec<String>,
}

impl ServerFaults {
    fn is_empty(&self) -> bool {
        self.servfail.is_empty() && self.drop.is_empty()
    }
}

/// What one run of the binary produced.
struct Out {
    args: Vec<String>,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn dump(&self) -> String {
        const MAX: usize = 4000;
        let cut = |s: &str| {
            if s.len() > MAX {
                let mut end = MAX;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                format!("{}… ({} bytes)", &s[..end], s.len())
            } else {
                s.to_string()
            }
        };
        format!(
            "spfcheck {:?}\nexit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args,
            self.code,
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }
}

/// Runs the binary with `args` (NO_COLOR set), killing it after [`HARD_LIMIT`]. Output that is
/// not UTF-8 is kept lossily (and would fail the checks that read it).
fn run(args: &[String]) -> Out {
    let ran = run_spfcheck(args);
    let stdout = String::from_utf8_lossy(&ran.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
    Out {
        args: args.to_vec(),
        code: ran.code,
        stdout,
        stderr,
    }
}

/// How a scenario reaches its DNS data.
enum Via<'a> {
    Server(SocketAddr),
    Offline(&'a str),
}

fn full_args(via: &Via<'_>, args: &[String], extra: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = match via {
        Via::Server(addr) => vec!["--nameserver".into(), addr.to_string()],
        Via::Offline(zone) => vec!["--zone".into(), zone.to_string(), "--offline".into()],
    };
    all.extend(["--color", "never"].map(String::from));
    all.extend(extra.iter().map(|s| s.to_string()));
    all.extend(args.iter().cloned());
    all
}

fn load_zone(path: &str) -> Vec<Record> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    parse_zone(&text, None).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn load_scenarios() -> Vec<Scenario> {
    let text =
        std::fs::read_to_string(SCENARIOS).unwrap_or_else(|e| panic!("read {SCENARIOS}: {e}"));
    let list: Vec<Scenario> =
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{SCENARIOS}: {e}"));
    let mut names = std::collections::HashSet::new();
    for s in &list {
        assert!(
            names.insert(s.name.clone()),
            "duplicate scenario {}",
            s.name
        );
        assert!(
            !s.rfc.trim().is_empty() && !s.what.trim().is_empty(),
            "scenario {} needs rfc and what",
            s.name
        );
    }
    list
}

/// Every string anywhere in `v`.
fn strings(v: &Value, acc: &mut Vec<String>) {
    match v {
        Value::String(s) => acc.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, acc)),
        Value::Object(o) => o.values().for_each(|x| strings(x, acc)),
        _ => {}
    }
}

/// Checks one run against the scenario; returns the mismatches (empty if all is well).
fn check(s: &Scenario, out: &Out) -> Vec<String> {
    let mut bad = Vec::new();
    if out.code != s.exit {
        bad.push(format!("exit code: expected {}, got {}", s.exit, out.code));
    }
    if out.stderr.contains("panicked") {
        bad.push("the binary panicked".into());
    }
    if s.exit == 2 {
        let lines: Vec<&str> = out.stderr.lines().collect();
        if lines.len() != 1 || !lines[0].starts_with("spfcheck: error: ") {
            bad.push(format!(
                "stderr: expected exactly one \"spfcheck: error: \" line, got {lines:?}"
            ));
        }
        if !out.stdout.is_empty() {
            bad.push("stdout: expected nothing on an input error".into());
        }
        return bad;
    }
    if !out.stderr.is_empty() {
        bad.push(format!("stderr: expected nothing, got {:?}", out.stderr));
    }
    let doc: Value = match serde_json::from_str(&out.stdout) {
        Ok(v) => v,
        Err(e) => {
            bad.push(format!("stdout is not JSON: {e}"));
            return bad;
        }
    };
    for (ptr, want) in &s.expect {
        let want: Value = serde_json::to_value(want).expect("YAML value as JSON");
        match doc.pointer(ptr) {
            Some(got) if *got == want => {}
            Some(got) => bad.push(format!("{ptr}: expected {want}, got {got}")),
            None => bad.push(format!("{ptr}: expected {want}, but it is absent")),
        }
    }
    for (ptr, needle) in &s.contains {
        match doc.pointer(ptr).and_then(Value::as_str) {
            Some(got) if got.contains(needle.as_str()) => {}
            got => bad.push(format!(
                "{ptr}: expected to contain {needle:?}, got {got:?}"
            )),
        }
    }
    let trace = &doc["dmarc"]["trace"];
    let diags = events(trace, "diagnostic");
    for tag in &s.diagnostics {
        if !diags.iter().any(|d| d["tag"] == tag.as_str()) {
            bad.push(format!("/dmarc/trace: no diagnostic for tag {tag:?}"));
        }
    }
    let mut texts = Vec::new();
    strings(trace, &mut texts);
    for needle in &s.trace {
        if !texts.iter().any(|t| t.contains(needle.as_str())) {
            bad.push(format!("/dmarc/trace: nothing contains {needle:?}"));
        }
    }
    // Invariants of every JSON verdict.
    if doc["verdict"]["disposition"] != doc["dmarc"]["disposition"] {
        bad.push("verdict.disposition differs from dmarc.disposition".into());
    }
    let outcome_exit = match doc["verdict"]["outcome"].as_str() {
        Some("authenticated") => 0,
        Some("not_authenticated") => 1,
        Some("perm_error") => 3,
        Some("temp_error") => 4,
        _ => -1,
    };
    if outcome_exit != out.code {
        bad.push(format!(
            "verdict.outcome {} does not match exit code {}",
            doc["verdict"]["outcome"], out.code
        ));
    }
    if let Some(r) = doc["dmarc"]["result"].as_str() {
        let ar = doc["authentication_results"].as_str().unwrap_or("");
        if !ar.contains(&format!("dmarc={r}")) {
            bad.push(format!("authentication_results lacks dmarc={r}: {ar:?}"));
        }
    }
    bad
}

/// The data-driven scenarios: through the server (with its faults) and offline.
#[test]
fn dmarc_scenarios() {
    let scenarios = load_scenarios();
    assert!(scenarios.len() >= 40, "only {} scenarios", scenarios.len());
    let zone = load_zone(ZONE);
    let seed = load_zone(SEED);
    let plain = TestDns::start(zone.clone());
    let plain_seed = TestDns::start(seed.clone());
    let mut failures = Vec::new();
    let mut runs = 0;
    for s in &scenarios {
        let (records, zone_file, plain_addr) = match s.zone.as_deref() {
            None => (&zone, ZONE, plain.addr()),
            Some("seed") => (&seed, SEED, plain_seed.addr()),
            Some(other) => panic!("{}: unknown zone {other:?}", s.name),
        };
        // A server of its own when the scenario injects faults.
        let own = (!s.server.is_empty()).then(|| {
            let mut b = TestDns::builder(records.clone());
            for n in &s.server.servfail {
                b = b.servfail(n);
            }
            for n in &s.server.drop {
                b = b.drop_queries(n);
            }
            b.start()
        });
        let addr = own.as_ref().map_or(plain_addr, TestDns::addr);
        let mut vias = vec![Via::Server(addr)];
        if s.offline {
            assert!(
                s.server.is_empty(),
                "{}: server faults cannot apply offline: set offline: false",
                s.name
            );
            vias.push(Via::Offline(zone_file));
        }
        for via in &vias {
            let out = run(&full_args(via, &s.args, &["--json"]));
            runs += 1;
            let bad = check(s, &out);
            if !bad.is_empty() {
                let how = match via {
                    Via::Server(_) => "server",
                    Via::Offline(_) => "offline",
                };
                failures.push(format!(
                    "=== {} ({how}) — {}\n{}\n  - {}\n{}",
                    s.name,
                    s.rfc,
                    s.what.trim(),
                    bad.join("\n  - "),
                    out.dump()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} scenario runs failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The text rendering of the seed (RFC 9989 §5.3): the verdict block first, then the SPF
/// section, then DMARC, then the headers; and `--format auth-results` prints exactly the
/// Authentication-Results line (authserv-id from `--receiver`) and the Received-SPF line.
#[test]
fn seed_text_and_headers() {
    let dns = TestDns::start(load_zone(SEED));
    let args: Vec<String> = [
        "--mail-from",
        "sales@thespykiller.co.uk",
        "thespykiller.co.uk",
        "81.142.190.61",
    ]
    .map(String::from)
    .to_vec();
    for via in [Via::Server(dns.addr()), Via::Offline(SEED)] {
        let text = run(&full_args(&via, &args, &[]));
        assert_eq!(text.code, 1, "{}", text.dump());
        assert_eq!(text.stderr, "", "{}", text.dump());
        assert!(
            text.stdout
                .starts_with("Verdict: QUARANTINE (not authenticated)\n"),
            "{}",
            text.dump()
        );
        assert_section_order(&text);
        assert!(
            text.stdout
                .contains("DMARC fail for thespykiller.co.uk (RFC 9989)\n"),
            "{}",
            text.dump()
        );
        assert!(
            text.stdout.contains("\n  disposition:   quarantine\n"),
            "{}",
            text.dump()
        );

        let hdr = run(&full_args(
            &via,
            &args,
            &[
                "--format",
                "auth-results",
                "--receiver",
                "mx.hotmail.example",
            ],
        ));
        assert_eq!(hdr.code, 1, "{}", hdr.dump());
        let lines: Vec<&str> = hdr.stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{}", hdr.dump());
        let ar = lines[0];
        assert!(
            ar.starts_with("Authentication-Results: mx.hotmail.example; "),
            "{}",
            hdr.dump()
        );
        for needle in [
            "; spf=fail (",
            " smtp.mailfrom=sales@thespykiller.co.uk;",
            "; dkim=none",
            "; dmarc=fail (p=quarantine dis=quarantine) header.from=thespykiller.co.uk",
        ] {
            assert!(ar.contains(needle), "missing {needle:?} in {ar:?}");
        }
        assert!(ar.ends_with("header.from=thespykiller.co.uk"), "{ar:?}");
        assert!(
            lines[1].starts_with("Received-SPF: fail (mx.hotmail.example: "),
            "{}",
            hdr.dump()
        );
        assert!(lines[1].contains("receiver=mx.hotmail.example;"), "{ar:?}");

        // The JSON document carries the same header lines.
        let json = run(&full_args(
            &via,
            &args,
            &["--json", "--receiver", "mx.hotmail.example"],
        ));
        let doc: Value = serde_json::from_str(&json.stdout).expect("JSON");
        assert_eq!(doc["authentication_results"], ar, "{}", json.dump());
        assert_eq!(doc["received_spf"], lines[1], "{}", json.dump());
    }
}

/// The verdict block, then SPF, then DMARC, then the headers.
#[track_caller]
fn assert_section_order(out: &Out) {
    let s = &out.stdout;
    let pos = |needle: &str| {
        s.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in the text\n{}", out.dump()))
    };
    let order = [
        pos("Verdict: "),
        pos("\nSPF "),
        pos("\nSPF trace\n"),
        pos("\nDMARC "),
        pos("\nDMARC trace\n"),
        pos("\nAuthentication-Results: "),
        pos("\nReceived-SPF: "),
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "sections out of order {order:?}\n{}",
        out.dump()
    );
}

/// A pass in text: `Verdict: DELIVER`-style block first (authenticated), then the sections.
#[test]
fn pass_text_output() {
    let dns = TestDns::start(load_zone(ZONE));
    let args: Vec<String> = [
        "--mail-from",
        "bounce@esp.example",
        "--dkim",
        "brand.example:s1=pass",
        "brand.example",
        "198.51.100.7",
    ]
    .map(String::from)
    .to_vec();
    let out = run(&full_args(&Via::Server(dns.addr()), &args, &[]));
    assert_eq!(out.code, 0, "{}", out.dump());
    let first = out.stdout.lines().next().unwrap_or("");
    assert!(
        first.starts_with("Verdict: ") && first.ends_with("(authenticated)"),
        "{}",
        out.dump()
    );
    assert_section_order(&out);
    assert!(
        out.stdout
            .contains("\nDMARC pass for brand.example (RFC 9989)\n"),
        "{}",
        out.dump()
    );
    assert!(
        out.stdout
            .contains("dkim=pass header.d=brand.example header.s=s1"),
        "{}",
        out.dump()
    );
}

/// A TXT rdata from raw bytes, cut into 255-byte character-strings (RFC 1035 §3.3.14).
fn txt_bytes(bytes: &[u8]) -> RData {
    RData::Txt(bytes.chunks(255).map(<[u8]>::to_vec).collect())
}

/// Hostile DMARC records from the server: the binary neither crashes nor hangs, reaches a
/// sensible result, records the record's problems as diagnostics, and keeps its output bounded.
#[test]
fn hostile_dmarc_records() {
    let spf = |d: &str| rec(d, txt(&["v=spf1 -all"]));
    // 1. A 10 KB record: p=reject and a long rua list (40 strings of 255 bytes).
    let mut big = String::from("v=DMARC1; p=reject; rua=");
    let mut i = 0;
    while big.len() < 10_000 {
        big.push_str(&format!("mailto:r{i}@big.example,"));
        i += 1;
    }
    big.push_str("mailto:last@big.example");
    // 2. 5,000 unknown tags after a valid p.
    let mut many = String::from("v=DMARC1; p=quarantine");
    for i in 0..5000 {
        many.push_str(&format!("; x{i}=y"));
    }
    // 3. Non-UTF-8 bytes in the TXT, in a tag value and a tag name.
    let mut binary =
        b"v=DMARC1; p=reject; rua=mailto:a@bin.example; fo=\xff\xfe; \x80\x81=1".to_vec();
    binary.extend_from_slice(b"; adkim=s");
    // 4. Many 255-byte strings that join to one record with a huge unknown value (~25 KB).
    let mut long = String::from("v=DMARC1; p=none; zz=");
    long.push_str(&"a".repeat(25_000));
    let records = vec![
        spf("big.example"),
        rec("_dmarc.big.example", txt_bytes(big.as_bytes())),
        spf("many.example"),
        rec("_dmarc.many.example", txt_bytes(many.as_bytes())),
        spf("bin.example"),
        rec("_dmarc.bin.example", txt_bytes(&binary)),
        spf("long.example"),
        rec("_dmarc.long.example", txt_bytes(long.as_bytes())),
    ];
    let dns = TestDns::start(records);
    struct Case {
        domain: &'static str,
        record_len: usize,
        disposition: &'static str,
        /// A diagnostic must name this tag ("" for a record-wide one).
        diagnostic: Option<&'static str>,
    }
    let cases = [
        Case {
            domain: "big.example",
            record_len: big.len(),
            disposition: "reject",
            diagnostic: None,
        },
        Case {
            domain: "many.example",
            record_len: many.len(),
            disposition: "quarantine",
            diagnostic: Some("x0"),
        },
        Case {
            domain: "bin.example",
            record_len: binary.len(),
            disposition: "reject",
            // The bytes become U+FFFD: each such tag-spec is a syntax error, skipped.
            diagnostic: Some(""),
        },
        Case {
            domain: "long.example",
            record_len: long.len(),
            disposition: "none",
            diagnostic: Some("zz"),
        },
    ];
    for c in &cases {
        let args = vec![c.domain.to_string(), "192.0.2.99".to_string()];
        for extra in [&["--json"][..], &[][..]] {
            let out = run(&full_args(&Via::Server(dns.addr()), &args, extra));
            assert_eq!(
                out.code,
                1,
                "{}: DMARC fail expected\n{}",
                c.domain,
                out.dump()
            );
            assert!(out.stderr.is_empty(), "{}", out.dump());
            // Bounded: the record is echoed three times (query, record, summary or JSON field),
            // but the rest (diagnostics, trace) must not grow with it.
            let bound = 4 * c.record_len + 32 * 1024;
            assert!(
                out.stdout.len() < bound,
                "{}: {} bytes of output for a {}-byte record (bound {bound})",
                c.domain,
                out.stdout.len(),
                c.record_len
            );
            if extra.is_empty() {
                continue;
            }
            let doc: Value = serde_json::from_str(&out.stdout).expect("JSON");
            assert_eq!(doc["dmarc"]["result"], "fail", "{}", out.dump());
            assert_eq!(
                doc["verdict"]["disposition"],
                c.disposition,
                "{}",
                out.dump()
            );
            let diags = events(&doc["dmarc"]["trace"], "diagnostic");
            assert!(
                diags.len() <= 2 * spfcheck::record::dmarc::MAX_DIAGNOSTICS + 1,
                "{}: {} diagnostics",
                c.domain,
                diags.len()
            );
            if let Some(tag) = c.diagnostic {
                assert!(
                    diags.iter().any(|d| d["tag"] == tag),
                    "{}: no diagnostic for {tag:?}: {diags:?}",
                    c.domain
                );
            }
        }
    }
}
