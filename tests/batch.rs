//! `spfcheck batch` through the binary: the same answers as single checks, input order kept
//! with many checks in flight and a slow server, one shared cache, bad lines reported in place
//! without stopping the run, shards that together cover the input once, JSON Lines valid
//! against the schema, and the line format the peer harness (`../shared/bench/run.sh`) reads.

use std::collections::BTreeSet;
use std::path::PathBuf;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};

use spfcheck::dns::RData;

use crate::common::{Fault, TestDns, rec, run_spfcheck, txt};

/// A scratch file with `content`, unique per test.
fn input(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spfcheck-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn run(args: &[&str]) -> (i32, String, String) {
    let ran = run_spfcheck(args);
    let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        ran.code,
        String::from_utf8_lossy(&ran.stdout).into_owned(),
        stderr,
    )
}

const SEED: &str = "testdata/seed/seed.zone";

/// Pairs over the seed zone: fail (DMARC quarantine), pass via the include, a bad IP.
const SEED_PAIRS: &str = "\
# sender  ip
thespykiller.co.uk 81.142.190.61
thespykiller.co.uk 198.51.100.7

r-pl.co.uk 81.142.190.61
thespykiller.co.uk 192.0.2.10 bounce@thespykiller.co.uk mail.thespykiller.co.uk
";

#[test]
fn text_output_matches_single_checks_and_the_harness_format() {
    let file = input("seed.txt", SEED_PAIRS);
    let f = file.to_str().unwrap();
    let (code, out, _) = run(&["batch", "--zone", SEED, "--offline", f]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    // Each line: DOMAIN IP (as written) SPF DMARC DISPOSITION, equal to the single check's.
    for (line, data) in lines.iter().zip(
        SEED_PAIRS
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#')),
    ) {
        let cols: Vec<&str> = data.split_whitespace().collect();
        let mut single = vec!["--zone", SEED, "--offline", "--json"];
        if let Some(m) = cols.get(2) {
            single.extend(["--mail-from", m]);
        }
        if let Some(h) = cols.get(3) {
            single.extend(["--helo", h]);
        }
        single.extend([cols[0], cols[1]]);
        let ran = run_spfcheck(&single);
        let doc: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
        let want = format!(
            "{} {} {} {} {}",
            cols[0],
            cols[1],
            doc["spf"]["result"].as_str().unwrap(),
            doc["dmarc"]["result"].as_str().unwrap(),
            doc["verdict"]["disposition"].as_str().unwrap()
        );
        assert_eq!(*line, want);
    }
    assert_eq!(
        lines[0],
        "thespykiller.co.uk 81.142.190.61 fail fail quarantine"
    );
    // The worst line (a DMARC fail) gives 1.
    assert_eq!(code, 1);
}

#[test]
fn a_bad_line_is_reported_in_place_and_the_run_goes_on() {
    let file = input(
        "bad.txt",
        "thespykiller.co.uk 1.2.3\nthespykiller.co.uk 81.142.190.61\nbad..name 192.0.2.1\na b c d e\n\nthespykiller.co.uk 198.51.100.7\n",
    );
    let f = file.to_str().unwrap();
    let (code, out, _) = run(&["batch", "--zone", SEED, "--offline", f]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(
        lines[0].starts_with("line 1: error: invalid IP address"),
        "{out}"
    );
    assert_eq!(
        lines[1],
        "thespykiller.co.uk 81.142.190.61 fail fail quarantine"
    );
    assert!(lines[2].starts_with("line 3: error: DOMAIN:"), "{out}");
    assert!(
        lines[3].starts_with("line 4: error: expected DOMAIN IP"),
        "{out}"
    );
    assert!(
        lines[4].starts_with("thespykiller.co.uk 198.51.100.7 "),
        "{out}"
    );
    assert_eq!(code, 2, "a bad line makes the run exit 2");

    // JSON Lines: the error object carries the line number; every line is schema-valid
    // (run_spfcheck validates each line of a jsonl run).
    let (code, out, _) = run(&["batch", "--zone", SEED, "--offline", "--format", "jsonl", f]);
    assert_eq!(code, 2);
    let docs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 5);
    assert_eq!(docs[0]["line"], 1);
    assert!(docs[0]["error"].as_str().unwrap().contains("invalid IP"));
    assert_eq!(docs[1]["line"], 2);
    assert_eq!(docs[1]["spf"]["result"], "fail");
    assert_eq!(docs[4]["line"], 6);
}

/// Lines are evaluated in chunks of consecutive lines (`batch::run`): whatever the concurrency,
/// each output line stays in its input line's place, bad lines included, wherever they fall in
/// or between chunks.
#[test]
fn order_is_kept_across_chunks_with_bad_lines_anywhere() {
    let mut content = String::new();
    let mut want: Vec<String> = Vec::new();
    for i in 1..=150u32 {
        if i % 7 == 0 || i % 23 == 1 {
            content.push_str(&format!("thespykiller.co.uk 10.0.{i}\n"));
            want.push(format!("line {i}: error:"));
        } else {
            let ip = format!("198.51.{}.{}", i / 200, i % 200);
            content.push_str(&format!("thespykiller.co.uk {ip}\n"));
            want.push(format!("thespykiller.co.uk {ip} "));
        }
    }
    let file = input("chunks.txt", &content);
    let f = file.to_str().unwrap();
    for concurrency in ["1", "3", "16", "17", "64"] {
        let (code, out, _) = run(&[
            "batch",
            "--zone",
            SEED,
            "--offline",
            "--concurrency",
            concurrency,
            f,
        ]);
        assert_eq!(code, 2, "bad lines make the run exit 2");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines.len(),
            want.len(),
            "--concurrency {concurrency}: {out}"
        );
        for (got, want) in lines.iter().zip(&want) {
            assert!(
                got.starts_with(want.as_str()),
                "--concurrency {concurrency}: {got:?} should start with {want:?}"
            );
        }
    }
}

#[test]
fn json_lines_input_and_unreadable_input() {
    let file = input(
        "in.jsonl",
        "{\"domain\":\"thespykiller.co.uk\",\"ip\":\"198.51.100.7\"}\n{\"domain\":\"thespykiller.co.uk\",\"ip\":\"81.142.190.61\",\"mail_from\":\"x@r-pl.co.uk\",\"helo\":\"dain.r-pl.co.uk\"}\n{bad\n",
    );
    let f = file.to_str().unwrap();
    let (code, out, _) = run(&["batch", "--zone", SEED, "--offline", "--format", "jsonl", f]);
    let docs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 3, "{out}");
    assert_eq!(docs[1]["spf"]["domain"], "r-pl.co.uk");
    assert_eq!(docs[1]["spf"]["result"], "pass");
    assert!(docs[2]["error"].as_str().unwrap().contains("invalid JSON"));
    assert_eq!(code, 2);

    let (code, out, err) = run(&["batch", "--offline", "/nonexistent/pairs.txt"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("cannot read /nonexistent/pairs.txt"), "{err}");
    // --fault applies to every line; one that never fired is reported on stderr.
    let (code, out, err) = run(&[
        "batch",
        "--zone",
        SEED,
        "--offline",
        "--fault",
        "_spf.mailhost.example/TXT=servfail",
        "--fault",
        "nowhere.example=timeout",
        "--spf-only",
        f,
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.starts_with("thespykiller.co.uk 198.51.100.7 temperror - -\n"),
        "{out}"
    );
    assert!(
        err.contains("--fault nowhere.example=timeout never fired"),
        "{err}"
    );
    assert!(
        !err.contains("_spf.mailhost.example/TXT=servfail never"),
        "{err}"
    );
    for bad in ["3/3", "0/0", "x"] {
        let (code, _, err) = run(&["batch", "--offline", "--shard", bad, f]);
        assert_eq!(code, 2, "{bad}");
        assert!(err.contains("--shard"), "{err}");
    }
}

#[test]
fn shards_together_are_the_unsharded_run() {
    let mut content = String::from("# many lines\n");
    for i in 0..23 {
        if i % 7 == 3 {
            content.push_str("\n# comment\n");
        }
        content.push_str(&format!("thespykiller.co.uk 198.51.100.{i}\n"));
        content.push_str(&format!("r-pl.co.uk 81.142.190.{}\n", 50 + i));
    }
    content.push_str("broken 1.2.3.4.5\n");
    let file = input("shards.txt", &content);
    let f = file.to_str().unwrap();
    let (_, whole, _) = run(&["batch", "--zone", SEED, "--offline", "--format", "jsonl", f]);
    let whole: Vec<&str> = whole.lines().collect();
    assert_eq!(whole.len(), 47);
    let mut union = BTreeSet::new();
    let n = 3;
    for k in 0..n {
        let shard = format!("{k}/{n}");
        let (_, part, _) = run(&[
            "batch",
            "--zone",
            SEED,
            "--offline",
            "--format",
            "jsonl",
            "--shard",
            &shard,
            f,
        ]);
        let part: Vec<&str> = part.lines().collect();
        // Every K-th data line, in input order.
        let want: Vec<&str> = whole
            .iter()
            .enumerate()
            .filter(|(i, _)| i % n == k)
            .map(|(_, l)| *l)
            .collect();
        assert_eq!(part, want, "shard {shard}");
        for l in part {
            assert!(union.insert(l.to_string()), "a line in two shards: {l}");
        }
    }
    assert_eq!(union, whole.iter().map(|l| l.to_string()).collect());
}

#[test]
fn order_is_kept_with_a_slow_server_and_the_cache_is_shared() {
    let dns = TestDns::builder(vec![
        rec("fast.example", txt(&["v=spf1 ip4:192.0.2.0/24 -all"])),
        rec("_dmarc.fast.example", txt(&["v=DMARC1; p=reject"])),
        rec("slow.example", txt(&["v=spf1 -all"])),
    ])
    .fault("slow.example", Fault::Drop)
    .start();
    let ns = dns.addr().to_string();
    let mut content = String::from("slow.example 192.0.2.1\n");
    for i in 0..30 {
        content.push_str(&format!("fast.example 192.0.2.{i}\n"));
    }
    let file = input("order.txt", &content);
    let f = file.to_str().unwrap();
    let (code, out, _) = run(&[
        "batch",
        "--nameserver",
        &ns,
        "--timeout",
        "0.3",
        "--concurrency",
        "8",
        f,
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 31, "{out}");
    assert!(
        lines[0].starts_with("slow.example 192.0.2.1 temperror "),
        "{out}"
    );
    for (i, l) in lines[1..].iter().enumerate() {
        assert_eq!(*l, format!("fast.example 192.0.2.{i} pass pass none"));
    }
    assert_eq!(code, 4, "a temperror outranks pass");
    // One shared cache: 30 checks of fast.example asked its SPF record once.
    assert_eq!(dns.count("fast.example", "TXT"), 1);
    assert_eq!(dns.count("_dmarc.fast.example", "TXT"), 1);

    // --no-cache: every check asks.
    dns.clear_queries();
    let (_, out2, _) = run(&[
        "batch",
        "--nameserver",
        &ns,
        "--no-cache",
        "--timeout",
        "0.3",
        f,
    ]);
    assert_eq!(out2, out);
    assert_eq!(dns.count("fast.example", "TXT"), 30);

    // --spf-only: no DMARC queries, the DMARC columns '-'.
    dns.clear_queries();
    let (code, out3, _) = run(&[
        "batch",
        "--nameserver",
        &ns,
        "--spf-only",
        "--timeout",
        "0.3",
        f,
    ]);
    assert_eq!(code, 4);
    assert_eq!(out3.lines().nth(1), Some("fast.example 192.0.2.0 pass - -"));
    assert_eq!(dns.count("_dmarc.fast.example", "TXT"), 0);
}

#[test]
fn a_failed_query_is_not_cached_as_no_record() {
    // A SERVFAIL for one name: every line asking it is a temperror (never "none"), and each
    // asks again (a failure is not cached).
    let dns = TestDns::builder(vec![rec("ok.example", txt(&["v=spf1 +all"]))])
        .fault("bad.example", Fault::ServFail)
        .start();
    let ns = dns.addr().to_string();
    let file = input(
        "servfail.txt",
        "bad.example 192.0.2.1\nok.example 192.0.2.1\nbad.example 192.0.2.2\n",
    );
    let (code, out, _) = run(&[
        "batch",
        "--nameserver",
        &ns,
        "--concurrency",
        "1",
        "--spf-only",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        out,
        "bad.example 192.0.2.1 temperror - -\nok.example 192.0.2.1 pass - -\nbad.example 192.0.2.2 temperror - -\n"
    );
    assert_eq!(code, 4);
    assert!(dns.count("bad.example", "TXT") >= 2, "{:?}", dns.queries());
}

const README: &str = include_str!("../README.md");
const MANIFEST: &str = include_str!("../deploy/k8s/batch-job.yaml");

/// The fenced block of `lang` after `marker` in the README.
fn readme_block(marker: &str, lang: &str) -> &'static str {
    let start = README.find(marker).expect("README: the marker") + marker.len();
    let fence = format!("```{lang}\n");
    let open = README[start..].find(&fence).expect("README: the block") + start + fence.len();
    let close = README[open..].find("```").expect("README: the block's end") + open;
    &README[open..close]
}

#[test]
fn readme_batch_sample_is_the_binary_output() {
    let cmd = "spfcheck batch --zone testdata/seed/seed.zone --offline testdata/batch/pairs.txt";
    assert!(README.contains(&format!("Output of `{cmd}`")));
    let args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
    let (code, out, _) = run(&args);
    assert_eq!(out, readme_block(&format!("Output of `{cmd}`"), "text"));
    assert_eq!(code, 2, "the README says: exit 2, line 6 is bad");
    assert!(out.contains("line 6: error: "));
}

/// Whether a YAML document has `line` exactly, indentation included (a structural check: the
/// manifest is plain block YAML, no anchors or flow mappings, so a key's place is its indent).
fn yaml_has(doc: &str, line: &str) -> bool {
    doc.lines().any(|l| l.trim_end() == line)
}

#[test]
fn readme_kubernetes_manifest_is_the_committed_file() {
    assert_eq!(readme_block("### Beyond one machine", "yaml"), MANIFEST);
    let docs: Vec<&str> = MANIFEST.split("\n---\n").collect();
    let kinds: Vec<&str> = docs
        .iter()
        .map(|d| {
            d.lines()
                .find_map(|l| l.strip_prefix("kind: "))
                .expect("every document has a kind")
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "Deployment",
            "Service",
            "ConfigMap",
            "PersistentVolumeClaim",
            "Job"
        ]
    );
    for d in &docs {
        assert!(d.lines().any(|l| l.starts_with("apiVersion: ")), "{d}");
        assert!(yaml_has(d, "metadata:"), "{d}");
        // Block YAML indented with spaces only.
        assert!(!d.contains('\t'));
    }
    let job = docs[5];
    assert!(yaml_has(job, "apiVersion: batch/v1"));
    assert!(yaml_has(job, "  completionMode: Indexed"));
    let n: u32 = job
        .lines()
        .find_map(|l| l.strip_prefix("  completions: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(yaml_has(job, &format!("  parallelism: {n}")));
    assert!(job.contains(&format!("--shard \"$(JOB_COMPLETION_INDEX)/{n}\"")));
    assert!(job.contains("--format jsonl"));
    assert!(job.contains("--nameserver \"$ns\""));
    assert!(job.contains("spfcheck-resolver.default.svc.cluster.local"));
    assert!(job.contains("name: spfcheck-pairs") && job.contains("mountPath: /input"));
    assert!(job.contains("claimName: spfcheck-output"));
    // The resolver: an Unbound Deployment behind a Service of that name, port 53 UDP and TCP.
    assert!(docs[1].contains("name: unbound") && docs[1].contains("app: spfcheck-resolver"));
    assert!(yaml_has(docs[2], "  name: spfcheck-resolver"));
    assert!(docs[2].contains("protocol: UDP") && docs[2].contains("protocol: TCP"));
    // The merge the README gives.
    assert!(README.contains("cat /output/part-*.jsonl > all.jsonl"));
}

// ---------------------------------------------------------------------------------------------
// Property: a batch answers exactly as one single check per line
// ---------------------------------------------------------------------------------------------

/// One SPF term over the generated domains d0..d3 and the 192.0.2.0/24 / 2001:db8::/32 nets.
fn term() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u8..=255, 24u8..=32).prop_map(|(h, m)| format!("ip4:192.0.2.{h}/{m}")),
        (0u16..=0xffff).prop_map(|h| format!("ip6:2001:db8::{h:x}/120")),
        (0u8..4).prop_map(|d| format!("include:d{d}.example")),
        (0u8..4).prop_map(|d| format!("a:d{d}.example")),
        (0u8..4).prop_map(|d| format!("mx:d{d}.example")),
        Just("exists:%{i}.e.example".to_string()),
        Just("ptr".to_string()),
        Just("a:nx.example".to_string()),
    ]
}

/// An SPF record (or none, or a broken one) for one domain.
fn spf_record() -> impl Strategy<Value = Option<String>> {
    let all = prop_oneof![
        Just(" -all"),
        Just(" ~all"),
        Just(" ?all"),
        Just(""),
        Just(" redirect=d0.example")
    ];
    prop_oneof![
        4 => (proptest::collection::vec(term(), 0..4), all)
            .prop_map(|(t, a)| Some(format!("v=spf1 {}{a}", t.join(" ")))),
        1 => Just(None),
        1 => Just(Some("v=spf1 ip4:300.1.1.1 -all".to_string())),
    ]
}

/// A DMARC record, or none.
fn dmarc_record() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        Just(None),
        Just(Some("v=DMARC1; p=reject")),
        Just(Some("v=DMARC1; p=quarantine; aspf=s")),
        Just(Some("v=DMARC1; p=bogus")),
    ]
}

/// A zone of four domains d0..d3, each with A/MX records, SPF and DMARC as drawn.
fn zone() -> impl Strategy<Value = String> {
    proptest::collection::vec((spf_record(), dmarc_record(), 0u8..=255), 4).prop_map(|ds| {
        let mut z = String::from("$TTL 300\n");
        for (i, (spf, dmarc, host)) in ds.iter().enumerate() {
            z.push_str(&format!("d{i}.example. IN A 192.0.2.{host}\n"));
            z.push_str(&format!("d{i}.example. IN MX 10 d{i}.example.\n"));
            if let Some(s) = spf {
                z.push_str(&format!("d{i}.example. IN TXT \"{s}\"\n"));
            }
            if let Some(d) = dmarc {
                z.push_str(&format!("_dmarc.d{i}.example. IN TXT \"{d}\"\n"));
            }
        }
        z.push_str("1.2.0.192.in-addr.arpa. IN PTR d0.example.\n");
        z.push_str("7.2.0.192.e.example. IN A 127.0.0.2\n");
        z
    })
}

/// An input line: a generated (or absent) domain, an IP, perhaps a MAIL FROM and a HELO.
fn pair() -> impl Strategy<Value = (String, String, Option<String>)> {
    let ip = prop_oneof![
        (0u8..=255).prop_map(|h| format!("192.0.2.{h}")),
        (0u16..=0x300).prop_map(|h| format!("2001:db8::{h:x}")),
        Just("::ffff:192.0.2.7".to_string()),
        Just("203.0.113.9".to_string()),
    ];
    let mail_from = prop_oneof![
        3 => Just(None),
        1 => (0u8..5).prop_map(|d| Some(format!("bounce@d{d}.example"))),
    ];
    (
        (0u8..5).prop_map(|d| format!("d{d}.example")),
        ip,
        mail_from,
    )
}

#[test]
fn batch_equals_single_checks_on_generated_zones() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(7208),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (zone(), proptest::collection::vec(pair(), 1..7));
    runner
        .run(&strategy, |(zone, pairs)| {
            let zone_file = input("prop.zone", &zone);
            let mut lines = String::new();
            for (d, ip, mf) in &pairs {
                lines.push_str(&format!("{d} {ip} {}\n", mf.as_deref().unwrap_or("")));
            }
            let pairs_file = input("prop.txt", &lines);
            let (z, p) = (zone_file.to_str().unwrap(), pairs_file.to_str().unwrap());
            let common = ["--zone", z, "--offline", "--now", "1700000000"];
            let mut args = vec!["batch", "--format", "jsonl", "--concurrency", "3"];
            args.extend(common);
            args.push(p);
            let (_, out, _) = run(&args);
            let got: Vec<serde_json::Value> = out
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            prop_assert_eq!(got.len(), pairs.len());
            // The text format evaluates trace-less: the same results as the JSON documents.
            let mut text_args = vec!["batch", "--format", "text", "--concurrency", "3"];
            text_args.extend(common);
            text_args.push(p);
            let (_, text_out, _) = run(&text_args);
            let text_lines: Vec<&str> = text_out.lines().collect();
            prop_assert_eq!(text_lines.len(), pairs.len());
            for (line, doc) in text_lines.iter().zip(&got) {
                let want = format!(
                    "{} {} {}",
                    doc["spf"]["result"].as_str().unwrap_or("?"),
                    doc["dmarc"]["result"].as_str().unwrap_or("?"),
                    doc["verdict"]["disposition"].as_str().unwrap_or("?"),
                );
                let cols: Vec<&str> = line.split_whitespace().collect();
                prop_assert_eq!(cols.get(2..).map(|c| c.join(" ")), Some(want));
            }
            for (i, ((d, ip, mf), mut doc)) in pairs.iter().zip(got).enumerate() {
                prop_assert_eq!(&doc["line"], &serde_json::json!(i + 1));
                doc.as_object_mut().unwrap().remove("line");
                let mut single = common.to_vec();
                single.push("--json");
                if let Some(m) = mf {
                    single.extend(["--mail-from", m.as_str()]);
                }
                single.extend([d.as_str(), ip.as_str()]);
                let ran = run_spfcheck(&single);
                let mut want: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
                // Only the single check reports unused --fault rules.
                want.as_object_mut().unwrap().remove("unused_faults");
                prop_assert_eq!(&doc, &want, "line {}: {} {}\nzone:\n{}", i + 1, d, ip, zone);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_negative_answer_is_cached_across_lines() {
    // ghost.example does not exist (NXDOMAIN): the first line asks, the others are served the
    // cached negative answer (RFC 2308) and all say "none".
    let dns = TestDns::start(vec![rec("ok.example", txt(&["v=spf1 +all"]))]);
    let ns = dns.addr().to_string();
    let content = "ghost.example 192.0.2.1\n".repeat(5);
    let file = input("negative.txt", &content);
    let (code, out, _) = run(&[
        "batch",
        "--nameserver",
        &ns,
        "--spf-only",
        "--concurrency",
        "2",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out, "ghost.example 192.0.2.1 none - -\n".repeat(5));
    assert_eq!(code, 1);
    assert_eq!(dns.count("ghost.example", "TXT"), 1, "{:?}", dns.queries());
}

#[test]
fn the_peer_harness_contract() {
    // ../shared/bench/run.sh: `spfcheck batch --nameserver ADDR --format text FILE` on
    // `domain ip` lines; compare.py matches the first two columns to the input as written and
    // takes the third, one of seven lowercase SPF results; MAIL FROM postmaster@domain.
    let dns = TestDns::start(vec![
        rec(
            "h.test",
            txt(&["v=spf1 exists:%{l}.%{i}.x.h.test ip4:192.0.2.0/28 -all"]),
        ),
        rec(
            "postmaster.192.0.2.99.x.h.test",
            RData::A("127.0.0.2".parse().unwrap()),
        ),
    ]);
    let ns = dns.addr().to_string();
    let file = input(
        "harness.txt",
        "H.test ::ffff:192.0.2.7\nh.test 192.0.2.99\nh.test 203.0.113.1\nghost-0001.test 192.0.2.1\n",
    );
    let (_, out, _) = run(&[
        "batch",
        "--nameserver",
        &ns,
        "--format",
        "text",
        file.to_str().unwrap(),
    ]);
    let got: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let firsts: Vec<String> = got.iter().map(|c| c[..3].join(" ")).collect();
    assert_eq!(
        firsts,
        [
            "H.test ::ffff:192.0.2.7 pass",
            "h.test 192.0.2.99 pass",
            "h.test 203.0.113.1 fail",
            "ghost-0001.test 192.0.2.1 none"
        ]
    );
}
