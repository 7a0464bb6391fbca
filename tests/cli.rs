//! The `spfcheck` binary end to end: it exists because the library tests never see what a user
//! sees — argument parsing, exit codes, the text, JSON and Received-SPF renderings, one-line
//! input errors — nor the whole path through a real DNS server (UDP, TCP fallback, SERVFAIL,
//! silence). Every scenario runs the built binary against the in-process test DNS server
//! (127.0.0.1 only) serving `testdata/zones/scenarios.zone`, and checks text and JSON output.

use std::time::Duration;

use serde_json::Value;
use spfcheck::dns::zone::parse_zone;
use spfcheck::dns::{RData, Record};

use crate::common::{SilentDns, TestDns, events, rec, run_spfcheck, txt};

const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/zones/scenarios.zone");
const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/seed/seed.zone");

/// What one run of the binary produced.
struct Out {
    args: Vec<String>,
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Out {
    /// Everything about the run, for failure messages.
    fn dump(&self) -> String {
        format!(
            "spfcheck {:?}\nexit: {}  elapsed: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.code, self.elapsed, self.stdout, self.stderr
        )
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.dump()))
    }
}

/// Runs the binary with `args` (NO_COLOR set), killing it after [`HARD_LIMIT`].
fn run(args: &[&str]) -> Out {
    let ran = run_spfcheck(args);
    let elapsed = ran.elapsed;
    let status_code = ran.code;
    let stdout = String::from_utf8(ran.stdout).expect("UTF-8 stdout");
    let stderr = String::from_utf8(ran.stderr).expect("UTF-8 stderr");
    let out = Out {
        args: args.iter().map(|s| s.to_string()).collect(),
        code: status_code,
        stdout,
        stderr,
        elapsed,
    };
    assert!(
        !out.stderr.contains("panicked"),
        "spfcheck panicked\n{}",
        out.dump()
    );
    out
}

/// Runs against `dns` with `--color never` plus `args`.
fn run_dns(dns_addr: std::net::SocketAddr, args: &[&str]) -> Out {
    let ns = dns_addr.to_string();
    let mut all = vec!["--nameserver", ns.as_str(), "--color", "never"];
    all.extend_from_slice(args);
    run(&all)
}

/// Asserts `actual == expected`, showing both and the whole run on failure.
#[track_caller]
fn expect_eq<T: PartialEq + std::fmt::Debug>(what: &str, actual: T, expected: T, out: &Out) {
    assert!(
        actual == expected,
        "{what}:\n  expected: {expected:?}\n  actual:   {actual:?}\n{}",
        out.dump()
    );
}

/// Asserts that `haystack` contains `needle`, showing the whole run on failure.
#[track_caller]
fn expect_contains(what: &str, haystack: &str, needle: &str, out: &Out) {
    assert!(
        haystack.contains(needle),
        "{what}: expected to contain {needle:?}, got {haystack:?}\n{}",
        out.dump()
    );
}

fn load_zone(path: &str) -> Vec<Record> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    parse_zone(&text, None).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn scenarios() -> Vec<Record> {
    load_zone(SCENARIOS)
}

/// The `term` trace node for `term` (the first one, depth first).
fn term_node<'a>(trace: &'a Value, term: &str, out: &Out) -> &'a Value {
    events(trace, "term")
        .into_iter()
        .find(|t| t["term"] == term)
        .unwrap_or_else(|| panic!("no term event for {term:?} in the trace\n{}", out.dump()))
}

/// What a scenario must produce, in both renderings.
struct Expect<'a> {
    result: &'a str,
    exit: i32,
    mechanism: Option<&'a str>,
    dns_lookups: u64,
    void_lookups: u64,
    /// A substring of `problem` (None: `problem` must be null).
    problem: Option<&'a str>,
}

/// Runs `args` against `dns` twice (text, then `--json`), checks `want` in both and returns
/// (text run, JSON run, parsed `spf` object).
fn check_both(
    dns_addr: std::net::SocketAddr,
    args: &[&str],
    want: &Expect<'_>,
) -> (Out, Out, Value) {
    // Text.
    let text = run_dns(dns_addr, args);
    expect_eq("exit code (text)", text.code, want.exit, &text);
    expect_eq("stderr (text)", text.stderr.as_str(), "", &text);
    assert!(
        !text.stdout.contains('\x1b'),
        "color codes\n{}",
        text.dump()
    );
    // The SPF section's heading (the verdict block comes first).
    let first = text
        .stdout
        .lines()
        .find(|l| l.starts_with("SPF ") && l.contains(" for "))
        .unwrap_or("");
    expect_contains(
        "SPF heading",
        first,
        &format!("SPF {} for ", want.result),
        &text,
    );
    match want.mechanism {
        Some(m) => expect_contains(
            "summary",
            &text.stdout,
            &format!("\n  decided by:   {m}\n"),
            &text,
        ),
        None => assert!(
            !text.stdout.contains("decided by:   ") || want.result == "neutral",
            "unexpected 'decided by'\n{}",
            text.dump()
        ),
    }
    expect_contains(
        "counters",
        &text.stdout,
        &format!(
            "\n  DNS lookups:  {}/10   void lookups: {}/2\n",
            want.dns_lookups, want.void_lookups
        ),
        &text,
    );
    // The SPF summary: from its heading to its trace.
    let spf_summary = {
        let start = text.stdout.find(first).unwrap_or(0);
        let end = text
            .stdout
            .find("\nSPF trace\n")
            .unwrap_or(text.stdout.len());
        text.stdout
            .get(start..end.max(start))
            .unwrap_or("")
            .to_string()
    };
    match want.problem {
        Some(p) => {
            let line = spf_summary
                .lines()
                .find(|l| l.starts_with("  problem:      "))
                .unwrap_or("");
            expect_contains("problem line", line, p, &text);
        }
        None => assert!(
            !spf_summary.contains("  problem:"),
            "unexpected problem\n{}",
            text.dump()
        ),
    }
    expect_contains("trace heading", &text.stdout, "\nSPF trace\n", &text);
    let header = text
        .stdout
        .lines()
        .filter(|l| l.starts_with("Received-SPF: "))
        .collect::<Vec<_>>();
    expect_eq("Received-SPF lines", header.len(), 1, &text);
    expect_contains(
        "Received-SPF",
        header[0],
        &format!("Received-SPF: {} (", want.result),
        &text,
    );

    // JSON.
    let mut jargs = args.to_vec();
    jargs.push("--json");
    let json = run_dns(dns_addr, &jargs);
    expect_eq("exit code (json)", json.code, want.exit, &json);
    expect_eq("stderr (json)", json.stderr.as_str(), "", &json);
    let doc = json.json();
    expect_eq("schema", &doc["schema"], &Value::from(1), &json);
    let spf = doc["spf"].clone();
    expect_eq("result", spf["result"].as_str(), Some(want.result), &json);
    expect_eq(
        "mechanism",
        spf["mechanism"].as_str(),
        want.mechanism,
        &json,
    );
    expect_eq(
        "dns_lookups",
        spf["dns_lookups"].as_u64(),
        Some(want.dns_lookups),
        &json,
    );
    expect_eq(
        "void_lookups",
        spf["void_lookups"].as_u64(),
        Some(want.void_lookups),
        &json,
    );
    match want.problem {
        Some(p) => expect_contains("problem", spf["problem"].as_str().unwrap_or(""), p, &json),
        None => expect_eq("problem", &spf["problem"], &Value::Null, &json),
    }
    expect_eq(
        "received_spf = the text header",
        doc["received_spf"].as_str(),
        Some(header[0]),
        &json,
    );
    // The trace's root is the top-level check_host, and its last child the result.
    expect_eq(
        "trace root",
        spf["trace"]["event"].as_str(),
        Some("check_host"),
        &json,
    );
    let results = events(&spf["trace"], "result");
    assert!(!results.is_empty(), "no result event\n{}", json.dump());
    (text, json, spf)
}

// ---------------------------------------------------------------------------------------------
// Scenarios (testdata/zones/scenarios.zone through the test DNS server)
// ---------------------------------------------------------------------------------------------

#[test]
fn pass_through_include() {
    let dns = TestDns::start(scenarios());
    let term = "include:_spf.include-pass.example";
    let (text, json, spf) = check_both(
        dns.addr(),
        &["include-pass.example", "192.0.2.10"],
        &Expect {
            result: "pass",
            exit: 0,
            mechanism: Some(term),
            dns_lookups: 1,
            void_lookups: 0,
            problem: None,
        },
    );
    // JSON: the included check_host sits under the include term, and passed there.
    let node = term_node(&spf["trace"], term, &json);
    expect_eq(
        "include outcome",
        node["outcome"].as_str(),
        Some("match → pass"),
        &json,
    );
    let children = node["children"].as_array().cloned().unwrap_or_default();
    let nested = children
        .iter()
        .find(|c| c["event"] == "check_host")
        .unwrap_or_else(|| panic!("no nested check_host\n{}", json.dump()));
    expect_eq(
        "nested domain",
        nested["domain"].as_str(),
        Some("_spf.include-pass.example"),
        &json,
    );
    expect_eq("nested via", nested["via"].as_str(), Some(term), &json);
    let inner = term_node(nested, "ip4:192.0.2.0/24", &json);
    expect_eq(
        "inner term",
        inner["outcome"].as_str(),
        Some("match → pass"),
        &json,
    );
    expect_eq("explanation", &spf["explanation"], &Value::Null, &json);
    // Text: the same nesting, drawn as a tree (the nested check_host is indented under the term).
    let lines: Vec<&str> = text.stdout.lines().collect();
    let t = lines
        .iter()
        .position(|l| l.contains(&format!("term {term} → match → pass")))
        .unwrap_or_else(|| panic!("no include term line\n{}", text.dump()));
    expect_contains(
        "line after the include term",
        lines[t + 1],
        "└─ check_host(_spf.include-pass.example) via include:_spf.include-pass.example",
        &text,
    );
    assert!(
        lines[t + 1].starts_with("│  ") || lines[t + 1].starts_with("   "),
        "nested check_host not indented under the term\n{}",
        text.dump()
    );
}

#[test]
fn fail_with_exp_explanation() {
    let dns = TestDns::start(scenarios());
    let want = "192.0.2.20 is not one of exp-fail.example's designated mail servers";
    let (text, json, spf) = check_both(
        dns.addr(),
        &["exp-fail.example", "192.0.2.20"],
        &Expect {
            result: "fail",
            exit: 1,
            mechanism: Some("-all"),
            dns_lookups: 0,
            void_lookups: 0,
            problem: None,
        },
    );
    expect_eq(
        "explanation",
        spf["explanation"].as_str(),
        Some(want),
        &json,
    );
    expect_contains(
        "text explanation",
        &text.stdout,
        &format!("  explanation:  {want}\n"),
        &text,
    );
    let exp = events(&spf["trace"], "explanation");
    expect_eq("explanation events", exp.len(), 1, &json);
    expect_eq(
        "explanation source",
        exp[0]["source"].as_str(),
        Some("exp="),
        &json,
    );
    // The exp= TXT lookup is in the trace, and its macros were expanded.
    let queries = events(&spf["trace"], "query");
    assert!(
        queries
            .iter()
            .any(|q| q["name"] == "why.exp-fail.example" && q["rtype"] == "TXT"),
        "no TXT query for the exp= target\n{}",
        json.dump()
    );
    let macros = events(&spf["trace"], "macro");
    assert!(
        macros.iter().any(|m| m["after"] == want
            && m["before"]
                .as_str()
                .is_some_and(|b| b.contains("%{i}") && b.contains("%{d}"))),
        "no macro event expanding the explanation\n{}",
        json.dump()
    );
}

#[test]
fn softfail() {
    let dns = TestDns::start(scenarios());
    let (text, json, spf) = check_both(
        dns.addr(),
        &["softfail.example", "192.0.2.20"],
        &Expect {
            result: "softfail",
            exit: 1,
            mechanism: Some("~all"),
            dns_lookups: 0,
            void_lookups: 0,
            problem: None,
        },
    );
    // No explanation outside "fail" (RFC 7208 §6.2).
    expect_eq("explanation", &spf["explanation"], &Value::Null, &json);
    expect_contains("text", &text.stdout, "term ~all → match → softfail", &text);
}

#[test]
fn permerror_past_ten_dns_lookups() {
    let dns = TestDns::start(scenarios());
    let eleventh = "exists:eleventh.too-many.example";
    let (text, json, spf) = check_both(
        dns.addr(),
        &["too-many.example", "192.0.2.99"],
        &Expect {
            result: "permerror",
            exit: 3,
            mechanism: Some(eleventh),
            dns_lookups: 11,
            void_lookups: 0,
            problem: Some(&format!("\"{eleventh}\" is number 11")),
        },
    );
    let limits = events(&spf["trace"], "limit");
    expect_eq("limit events", limits.len(), 1, &json);
    expect_eq(
        "limit name",
        limits[0]["limit"].as_str(),
        Some("dns_lookups"),
        &json,
    );
    expect_eq(
        "limit term",
        limits[0]["term"].as_str(),
        Some(eleventh),
        &json,
    );
    expect_eq("limit count", limits[0]["count"].as_u64(), Some(11), &json);
    expect_eq("limit max", limits[0]["max"].as_u64(), Some(10), &json);
    // The eleventh term is never evaluated: no A query for its name.
    assert_eq!(
        dns.count("eleventh.too-many.example", "A"),
        0,
        "{}",
        json.dump()
    );
    expect_eq(
        "term events",
        events(&spf["trace"], "term").len(),
        10,
        &json,
    );
    expect_contains(
        "text limit line",
        &text.stdout,
        &format!("limit dns_lookups exceeded: 11 > 10 at {eleventh}"),
        &text,
    );
}

#[test]
fn permerror_past_ten_dns_lookups_inside_include() {
    let dns = TestDns::start(scenarios());
    let include = "include:inc.nested-limit.example";
    let eleventh = "mx:eleventh.nested-limit.example";
    // The top-level record's deciding term is the include that returned permerror; the
    // problem names the eleventh term inside it.
    let (text, json, spf) = check_both(
        dns.addr(),
        &["nested-limit.example", "192.0.2.99"],
        &Expect {
            result: "permerror",
            exit: 3,
            mechanism: Some(include),
            dns_lookups: 11,
            void_lookups: 0,
            problem: Some(&format!("\"{eleventh}\" is number 11")),
        },
    );
    expect_contains(
        "problem names the include",
        spf["problem"].as_str().unwrap_or(""),
        include,
        &json,
    );
    let limits = events(&spf["trace"], "limit");
    expect_eq("limit events", limits.len(), 1, &json);
    expect_eq(
        "limit term",
        limits[0]["term"].as_str(),
        Some(eleventh),
        &json,
    );
    expect_eq("limit count", limits[0]["count"].as_u64(), Some(11), &json);
    // The limit event is inside the included check_host, under the include term.
    let inc = term_node(&spf["trace"], include, &json);
    expect_eq(
        "include outcome",
        inc["outcome"].as_str(),
        Some("permerror"),
        &json,
    );
    expect_eq(
        "limit under the include",
        events(inc, "limit").len(),
        1,
        &json,
    );
    let nested = events(inc, "check_host");
    expect_eq("nested check_host", nested.len(), 1, &json);
    expect_eq(
        "nested result",
        events(nested[0], "result")[0]["result"].as_str(),
        Some("permerror"),
        &json,
    );
    assert_eq!(
        dns.count("eleventh.nested-limit.example", "MX"),
        0,
        "{}",
        json.dump()
    );
    expect_contains(
        "text limit line",
        &text.stdout,
        &format!("limit dns_lookups exceeded: 11 > 10 at {eleventh}"),
        &text,
    );
}

#[test]
fn permerror_past_two_void_lookups() {
    let dns = TestDns::start(scenarios());
    let third = "a:gone3.void-limit.example";
    let (text, json, spf) = check_both(
        dns.addr(),
        &["void-limit.example", "192.0.2.99"],
        &Expect {
            result: "permerror",
            exit: 3,
            mechanism: Some(third),
            dns_lookups: 3,
            void_lookups: 3,
            problem: Some("A gone3.void-limit.example is number 3"),
        },
    );
    let limits = events(&spf["trace"], "limit");
    expect_eq("limit events", limits.len(), 1, &json);
    expect_eq(
        "limit name",
        limits[0]["limit"].as_str(),
        Some("void_lookups"),
        &json,
    );
    expect_eq(
        "limit term",
        limits[0]["term"].as_str(),
        Some("A gone3.void-limit.example"),
        &json,
    );
    expect_eq("limit count", limits[0]["count"].as_u64(), Some(3), &json);
    expect_eq("limit max", limits[0]["max"].as_u64(), Some(2), &json);
    for (i, name) in ["gone1", "gone2", "gone3"].iter().enumerate() {
        let t = term_node(
            &spf["trace"],
            &format!("a:{name}.void-limit.example"),
            &json,
        );
        expect_eq(
            "void counter",
            t["void_lookups"].as_u64(),
            Some(i as u64 + 1),
            &json,
        );
        let q = events(t, "query");
        expect_eq(
            "NXDOMAIN",
            q[0]["outcome"].as_str(),
            Some("NXDOMAIN"),
            &json,
        );
    }
    expect_contains(
        "text",
        &text.stdout,
        "limit void_lookups exceeded: 3 > 2",
        &text,
    );
}

#[test]
fn temperror_when_the_server_never_answers() {
    let silent = SilentDns::start();
    let ns = silent.addr().to_string();
    let base = [
        "--nameserver",
        ns.as_str(),
        "--color",
        "never",
        "--timeout",
        "1",
        "--deadline",
        "3",
        "silent.example",
        "192.0.2.1",
    ];
    let text = run(&base);
    expect_eq("exit", text.code, 4, &text);
    assert!(
        text.elapsed < Duration::from_secs(10),
        "too slow\n{}",
        text.dump()
    );
    expect_contains(
        "first line",
        &text.stdout,
        "SPF temperror for 192.0.2.1",
        &text,
    );
    expect_contains(
        "Received-SPF",
        &text.stdout,
        "Received-SPF: temperror (",
        &text,
    );

    let mut jargs = base.to_vec();
    jargs.push("--json");
    let json = run(&jargs);
    expect_eq("exit", json.code, 4, &json);
    assert!(
        json.elapsed < Duration::from_secs(10),
        "too slow\n{}",
        json.dump()
    );
    let spf = json.json()["spf"].clone();
    expect_eq("result", spf["result"].as_str(), Some("temperror"), &json);
    let problem = spf["problem"].as_str().unwrap_or("");
    assert!(
        problem.contains("timeout") || problem.contains("deadline"),
        "problem {problem:?} mentions neither timeout nor deadline\n{}",
        json.dump()
    );
    expect_eq("mechanism", &spf["mechanism"], &Value::Null, &json);
    let q = events(&spf["trace"], "query");
    assert!(
        q.iter().all(|q| q["outcome"] == "timeout"),
        "every query should have timed out\n{}",
        json.dump()
    );
}

#[test]
fn servfail_on_include_target_is_temperror() {
    let dns = TestDns::builder(scenarios())
        .servfail("broken.servfail-inc.example")
        .start();
    let include = "include:broken.servfail-inc.example";
    let (_text, json, spf) = check_both(
        dns.addr(),
        &["servfail-inc.example", "192.0.2.1"],
        &Expect {
            result: "temperror",
            exit: 4,
            mechanism: Some(include),
            dns_lookups: 1,
            void_lookups: 0,
            problem: Some("SERVFAIL"),
        },
    );
    let inc = term_node(&spf["trace"], include, &json);
    let q = events(inc, "query");
    assert!(
        q.iter()
            .any(|q| q["name"] == "broken.servfail-inc.example" && q["outcome"] == "SERVFAIL"),
        "no SERVFAIL query under the include\n{}",
        json.dump()
    );
}

#[test]
fn null_sender_checks_postmaster_at_helo() {
    let dns = TestDns::start(scenarios());
    let args = [
        "--mail-from",
        "",
        "--helo",
        "mail.helo.example",
        "unrelated.example",
        "192.0.2.25",
    ];
    let (text, json, spf) = check_both(
        dns.addr(),
        &args,
        &Expect {
            result: "pass",
            exit: 0,
            mechanism: Some("a"),
            dns_lookups: 1,
            void_lookups: 0,
            problem: None,
        },
    );
    expect_eq(
        "sender",
        spf["sender"].as_str(),
        Some("postmaster@mail.helo.example"),
        &json,
    );
    expect_eq(
        "domain",
        spf["domain"].as_str(),
        Some("mail.helo.example"),
        &json,
    );
    expect_eq("mail_from", spf["mail_from"].as_str(), Some(""), &json);
    expect_eq(
        "helo",
        spf["helo"].as_str(),
        Some("mail.helo.example"),
        &json,
    );
    let header = json.json()["received_spf"]
        .as_str()
        .unwrap_or("")
        .to_string();
    expect_contains("Received-SPF", &header, " identity=helo;", &json);
    expect_contains("Received-SPF", &header, "helo=mail.helo.example;", &json);
    expect_contains(
        "first line",
        &text.stdout,
        "SPF pass for 192.0.2.25 from mail.helo.example (identity HELO postmaster@mail.helo.example)",
        &text,
    );
    // The positional DOMAIN was not consulted.
    assert_eq!(dns.count("unrelated.example", "TXT"), 0);
}

fn check_seed(out_text: &Out, out_json: &Out) {
    expect_eq("exit", out_text.code, 1, out_text);
    expect_contains(
        "first line",
        &out_text.stdout,
        "SPF fail for 81.142.190.61 from thespykiller.co.uk",
        out_text,
    );
    expect_contains(
        "decided by",
        &out_text.stdout,
        "\n  decided by:   -all\n",
        out_text,
    );
    expect_eq("exit", out_json.code, 1, out_json);
    let spf = out_json.json()["spf"].clone();
    expect_eq("result", spf["result"].as_str(), Some("fail"), out_json);
    expect_eq(
        "mechanism",
        spf["mechanism"].as_str(),
        Some("-all"),
        out_json,
    );
    expect_eq(
        "dns_lookups",
        spf["dns_lookups"].as_u64(),
        Some(3),
        out_json,
    );
    expect_eq(
        "void_lookups",
        spf["void_lookups"].as_u64(),
        Some(0),
        out_json,
    );
    expect_eq(
        "explanation",
        spf["explanation"].as_str(),
        Some("thespykiller.co.uk does not designate 81.142.190.61 as a permitted sender"),
        out_json,
    );
    let inc = term_node(&spf["trace"], "include:_spf.mailhost.example", out_json);
    expect_eq(
        "include",
        inc["outcome"].as_str(),
        Some("no match"),
        out_json,
    );
}

#[test]
fn seed_case_through_dns_and_offline() {
    let dns = TestDns::start(load_zone(SEED));
    let args = ["thespykiller.co.uk", "81.142.190.61"];
    let text = run_dns(dns.addr(), &args);
    let json = run_dns(dns.addr(), &[&args[..], &["--json"]].concat());
    check_seed(&text, &json);

    let offline = ["--zone", SEED, "--offline", "--color", "never"];
    let text = run(&[&offline[..], &args[..]].concat());
    let json = run(&[&offline[..], &args[..], &["--json"]].concat());
    check_seed(&text, &json);

    let header = run(&[&offline[..], &args[..], &["--format", "received-spf"]].concat());
    expect_eq("exit", header.code, 1, &header);
    let lines: Vec<&str> = header.stdout.lines().collect();
    expect_eq("line count", lines.len(), 1, &header);
    assert!(
        lines[0].starts_with("Received-SPF: fail (") && lines[0].ends_with("mechanism=-all;"),
        "unexpected header\n{}",
        header.dump()
    );
    expect_contains("header", lines[0], "client-ip=81.142.190.61;", &header);
    expect_contains("header", lines[0], "identity=mailfrom;", &header);
    // Same header as inside the JSON document.
    expect_eq(
        "header = JSON received_spf",
        json.json()["received_spf"].as_str(),
        Some(lines[0]),
        &header,
    );
}

#[test]
fn record_override_fault_and_mapped_ipv6() {
    let dns = TestDns::start(scenarios());
    // Published: v=spf1 -all.
    check_both(
        dns.addr(),
        &["override.example", "192.0.2.7"],
        &Expect {
            result: "fail",
            exit: 1,
            mechanism: Some("-all"),
            dns_lookups: 0,
            void_lookups: 0,
            problem: None,
        },
    );
    // Overridden on the command line.
    let (_t, json, spf) = check_both(
        dns.addr(),
        &[
            "--record",
            "v=spf1 ip4:192.0.2.0/24 -all",
            "override.example",
            "192.0.2.7",
        ],
        &Expect {
            result: "pass",
            exit: 0,
            mechanism: Some("ip4:192.0.2.0/24"),
            dns_lookups: 0,
            void_lookups: 0,
            problem: None,
        },
    );
    let records = events(&spf["trace"], "record");
    expect_eq(
        "record used",
        records[0]["text"].as_str(),
        Some("v=spf1 ip4:192.0.2.0/24 -all"),
        &json,
    );
    // The override applies to the domain actually checked, also when that is the --mail-from
    // domain or (null sender) the --helo name rather than DOMAIN.
    for identity in [
        &["--mail-from", "someone@override.example"][..],
        &["--mail-from", "", "--helo", "override.example"][..],
    ] {
        let args = [
            identity,
            &[
                "--record",
                "v=spf1 ip4:192.0.2.0/24 -all",
                "other.example",
                "192.0.2.7",
            ],
        ]
        .concat();
        let (_t, json, spf) = check_both(
            dns.addr(),
            &args,
            &Expect {
                result: "pass",
                exit: 0,
                mechanism: Some("ip4:192.0.2.0/24"),
                dns_lookups: 0,
                void_lookups: 0,
                problem: None,
            },
        );
        expect_eq(
            "domain",
            spf["domain"].as_str(),
            Some("override.example"),
            &json,
        );
    }
    // A fault on the record's TXT.
    check_both(
        dns.addr(),
        &[
            "--fault",
            "override.example/TXT=servfail",
            "override.example",
            "192.0.2.7",
        ],
        &Expect {
            result: "temperror",
            exit: 4,
            mechanism: None,
            dns_lookups: 0,
            void_lookups: 0,
            problem: Some("SERVFAIL"),
        },
    );
    // An IPv4-mapped IPv6 client is IPv4: ip6: does not match, ip4: does.
    let (text, json, spf) = check_both(
        dns.addr(),
        &["mapped.example", "::ffff:192.0.2.7"],
        &Expect {
            result: "pass",
            exit: 0,
            mechanism: Some("ip4:192.0.2.0/24"),
            dns_lookups: 0,
            void_lookups: 0,
            problem: None,
        },
    );
    expect_eq("ip", spf["ip"].as_str(), Some("192.0.2.7"), &json);
    expect_contains("text", &text.stdout, "SPF pass for 192.0.2.7 from", &text);
    expect_contains("header", &text.stdout, "client-ip=192.0.2.7;", &text);
}

#[test]
fn multiple_spf_records_are_permerror() {
    let dns = TestDns::start(scenarios());
    let (text, json, spf) = check_both(
        dns.addr(),
        &["multi.example", "192.0.2.1"],
        &Expect {
            result: "permerror",
            exit: 3,
            mechanism: None,
            dns_lookups: 0,
            void_lookups: 0,
            problem: Some("2 SPF records at multi.example"),
        },
    );
    let ignored = events(&spf["trace"], "ignored");
    expect_eq("ignored events", ignored.len(), 3, &json);
    assert!(
        ignored
            .iter()
            .any(|i| i["text"] == "google-site-verification=not-spf"
                && i["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("not an SPF record"))),
        "the non-SPF TXT is not listed as ignored\n{}",
        json.dump()
    );
    let several = ignored
        .iter()
        .filter(|i| i["reason"] == "one of several SPF records")
        .count();
    expect_eq("SPF records listed", several, 2, &json);
    expect_eq(
        "no record selected",
        events(&spf["trace"], "record").len(),
        0,
        &json,
    );
    expect_contains(
        "text",
        &text.stdout,
        "ignored TXT \"google-site-verification=not-spf\"",
        &text,
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input: exit 2, one line on stderr, nothing on stdout
// ---------------------------------------------------------------------------------------------

/// Runs `args` (offline, so nothing reaches the network) and checks the one-line error.
#[track_caller]
fn bad_input(args: &[&str], needle: &str) {
    let out = run(args);
    expect_eq("exit", out.code, 2, &out);
    expect_eq("stdout", out.stdout.as_str(), "", &out);
    let lines: Vec<&str> = out.stderr.lines().collect();
    expect_eq("stderr lines", lines.len(), 1, &out);
    assert!(
        lines[0].starts_with("spfcheck: error: "),
        "stderr does not start with 'spfcheck: error: '\n{}",
        out.dump()
    );
    expect_contains("error message", lines[0], needle, &out);
}

#[test]
fn bad_inputs() {
    let z = ["--zone", SCENARIOS, "--offline"];
    let with = |extra: &[&'static str]| -> Vec<&str> { [&z[..], extra].concat() };
    bad_input(
        &with(&["example.com", "1.2.3"]),
        "invalid IP address \"1.2.3\"",
    );
    bad_input(&with(&["exa mple.com", "192.0.2.1"]), "\"exa mple.com\"");
    bad_input(&with(&["a..b", "192.0.2.1"]), "\"a..b\" has an empty label");
    bad_input(
        &[
            "--zone",
            "/nonexistent/spfcheck/missing.zone",
            "example.com",
            "192.0.2.1",
        ],
        "/nonexistent/spfcheck/missing.zone: cannot read",
    );
    bad_input(
        &with(&["--record", "hello", "example.com", "192.0.2.1"]),
        "not an SPF record",
    );
    bad_input(
        &with(&["--fault", "x.example=explode", "example.com", "192.0.2.1"]),
        "unknown kind \"explode\"",
    );
    bad_input(
        &["--nameserver", "not-an-ip", "example.com", "192.0.2.1"],
        "--nameserver \"not-an-ip\"",
    );
    bad_input(
        &with(&["--no-such-flag", "example.com", "192.0.2.1"]),
        "--no-such-flag",
    );
    // clap puts the missing argument on a line of its own; the one line must still name it.
    bad_input(&with(&["example.com"]), "missing IP");
    bad_input(&with(&[]), "missing DOMAIN and IP");
    bad_input(
        &with(&["--timeout", "0", "example.com", "192.0.2.1"]),
        "--timeout",
    );
}

#[test]
fn malformed_zone_file_names_file_and_line() {
    let dir = std::env::temp_dir().join(format!("spfcheck-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.zone");
    std::fs::write(
        &path,
        "$ORIGIN bad.example.\n$TTL 300\nhost IN A 192.0.2.300\n",
    )
    .expect("write the zone file");
    let p = path.to_str().expect("UTF-8 temp path");
    bad_input(
        &["--zone", p, "--offline", "bad.example", "192.0.2.1"],
        &format!("{p}:3:"),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Hostile DNS answers
// ---------------------------------------------------------------------------------------------

#[test]
fn non_utf8_txt_beside_the_spf_record() {
    let dns = TestDns::start(vec![
        rec(
            "binary.example",
            RData::Txt(vec![vec![0xff, 0xfe, 0x00, b'v', b'=', 0x80]]),
        ),
        rec("binary.example", txt(&["v=spf1 ip4:192.0.2.0/24 -all"])),
    ]);
    let (_t, json, spf) = check_both(
        dns.addr(),
        &["binary.example", "192.0.2.5"],
        &Expect {
            result: "pass",
            exit: 0,
            mechanism: Some("ip4:192.0.2.0/24"),
            dns_lookups: 0,
            void_lookups: 0,
            problem: None,
        },
    );
    let ignored = events(&spf["trace"], "ignored");
    expect_eq("ignored", ignored.len(), 1, &json);
    expect_contains(
        "reason",
        ignored[0]["reason"].as_str().unwrap_or(""),
        "not an SPF record",
        &json,
    );
    expect_eq(
        "record",
        events(&spf["trace"], "record")[0]["text"].as_str(),
        Some("v=spf1 ip4:192.0.2.0/24 -all"),
        &json,
    );
}

#[test]
fn long_spf_record_split_in_255_byte_strings() {
    // About 4000 bytes of ip4: terms; the client matches only the last one, so the record must
    // be received whole (TCP after truncation), joined without spaces and parsed to the end.
    let mut record = String::from("v=spf1");
    'fill: for net in ["203.0.113", "198.51.100"] {
        for host in 0..=255 {
            if record.len() > 3950 {
                break 'fill;
            }
            record.push_str(&format!(" ip4:{net}.{host}"));
        }
    }
    record.push_str(" ip4:192.0.2.200 -all");
    assert!(record.len() > 3900, "{}", record.len());
    let parts: Vec<Vec<u8>> = record.as_bytes().chunks(255).map(<[u8]>::to_vec).collect();
    assert!(parts.len() >= 16);
    let dns = TestDns::start(vec![rec("big.example", RData::Txt(parts))]);
    let (_t, json, spf) = check_both(
        dns.addr(),
        &["big.example", "192.0.2.200"],
        &Expect {
            result: "pass",
            exit: 0,
            mechanism: Some("ip4:192.0.2.200"),
            dns_lookups: 0,
            void_lookups: 0,
            problem: None,
        },
    );
    expect_eq(
        "record joined without separators",
        events(&spf["trace"], "record")[0]["text"].as_str(),
        Some(record.as_str()),
        &json,
    );
    check_both(
        dns.addr(),
        &["big.example", "192.0.2.201"],
        &Expect {
            result: "fail",
            exit: 1,
            mechanism: Some("-all"),
            dns_lookups: 0,
            void_lookups: 0,
            problem: None,
        },
    );
}

#[test]
fn cname_loop_on_an_a_target() {
    // l1 -> l2 -> l1 behind an a: term. Must finish quickly and not panic. One rule live and
    // offline (issue 6 §3): a CNAME loop is a DNS failure, so the a: term gives temperror
    // (exit 4), never NODATA.
    let zone = "$ORIGIN loop.example.\n$TTL 300\n\
                @  IN TXT \"v=spf1 a:l1.loop.example -all\"\n\
                l1 IN CNAME l2\n\
                l2 IN CNAME l1\n";
    let dns = TestDns::start(parse_zone(zone, None).expect("loop zone"));
    let (_t, json, spf) = check_both(
        dns.addr(),
        &["--timeout", "2", "loop.example", "192.0.2.1"],
        &Expect {
            result: "temperror",
            exit: 4,
            mechanism: Some("a:l1.loop.example"),
            dns_lookups: 1,
            void_lookups: 0,
            problem: Some("DNS error for A l1.loop.example: CNAME loop at l1.loop.example"),
        },
    );
    assert!(
        json.elapsed < Duration::from_secs(10),
        "too slow\n{}",
        json.dump()
    );
    let q = events(
        term_node(&spf["trace"], "a:l1.loop.example", &json),
        "query",
    );
    expect_eq(
        "live query outcome",
        q[0]["outcome"].as_str(),
        Some("error"),
        &json,
    );
    expect_contains(
        "live query detail",
        q[0]["detail"].as_str().unwrap_or(""),
        "CNAME loop at l1.loop.example",
        &json,
    );

    let dir = std::env::temp_dir().join(format!("spfcheck-cli-loop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("loop.zone");
    std::fs::write(&path, zone).expect("write the zone file");
    let p = path.to_str().expect("UTF-8 temp path");
    let offline = run(&[
        "--zone",
        p,
        "--offline",
        "--json",
        "loop.example",
        "192.0.2.1",
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    expect_eq("offline exit", offline.code, 4, &offline);
    let off = offline.json()["spf"].clone();
    expect_eq(
        "offline result",
        off["result"].as_str(),
        Some("temperror"),
        &offline,
    );
    expect_eq(
        "offline mechanism",
        off["mechanism"].as_str(),
        Some("a:l1.loop.example"),
        &offline,
    );
    let q = events(
        term_node(&off["trace"], "a:l1.loop.example", &offline),
        "query",
    );
    expect_eq(
        "offline query outcome",
        q[0]["outcome"].as_str(),
        Some("error"),
        &offline,
    );
}

/// Every subcommand the dispatcher knows is listed in `spfcheck --help` (the contract users
/// read) and answers its own `--help` with exit 0; an unknown first word is still a DOMAIN.
#[test]
fn help_lists_every_subcommand() {
    let top = run(&["--help"]);
    expect_eq("exit of --help", top.code, 0, &top);
    for (name, _) in spfcheck::cli::SUBCOMMANDS {
        expect_contains(
            "--help lists the subcommand",
            &top.stdout,
            &format!("spfcheck {name} "),
            &top,
        );
        let own = run(&[name, "--help"]);
        expect_eq("exit of NAME --help", own.code, 0, &own);
        expect_contains("its usage", &own.stdout, &format!("spfcheck {name}"), &own);
    }
    let not_sub = run(&["--offline", "--zone", SEED, "nosuchsubcommand", "192.0.2.1"]);
    expect_eq(
        "a single-label DOMAIN is still checked",
        not_sub.code,
        1,
        &not_sub,
    );
}
