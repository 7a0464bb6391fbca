//! `--record` and `--dmarc-record`: a dry run REPLACES the published SPF / DMARC record at the
//! checked name in every layer (zone files and live DNS), keeping the other TXT records there.
//! Each combination runs the built binary: live test server alone, `--zone --offline`, and
//! `--zone` over the live test server.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::{Ran, TestDns, events, rec, run_spfcheck, txt};

const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/zones/scenarios.zone");

/// Runs the binary with `--json` and returns (exit code, parsed stdout), checking stderr is empty.
fn run_json(args: &[&str]) -> (i32, Value, Ran) {
    let mut all = vec!["--json", "--color", "never"];
    all.extend_from_slice(args);
    let ran = run_spfcheck(&all);
    let stdout = String::from_utf8_lossy(&ran.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
    assert!(
        stderr.is_empty(),
        "spfcheck {all:?}: stderr {stderr:?}\n{stdout}"
    );
    let json: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("spfcheck {all:?}: stdout is not JSON ({e}): {stdout}"));
    (ran.code, json, ran)
}

/// The records of every trace `query` for (name, TXT), as shown in the trace.
fn txt_answers(trace: &Value, name: &str) -> Vec<String> {
    events(trace, "query")
        .into_iter()
        .filter(|q| q["name"] == name && q["rtype"] == "TXT")
        .flat_map(|q| {
            q["records"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|r| r.as_str().map(str::to_string))
        })
        .collect()
}

/// A zone file written to a fresh temporary directory.
fn zone_file(tag: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spfcheck-dry-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    let path = dir.join("dry.zone");
    std::fs::write(&path, text).expect("write the zone file");
    path
}

/// The reproduction: a new record for a name whose zone data has an SPF record.
#[test]
fn record_with_zone_offline_replaces() {
    let (code, json, _) = run_json(&[
        "--offline",
        "--zone",
        SCENARIOS,
        "--record",
        "v=spf1 +all",
        "softfail.example",
        "192.0.2.1",
    ]);
    assert_eq!(json["spf"]["result"], "pass", "{json}");
    assert_eq!(json["spf"]["mechanism"], "+all", "{json}");
    assert_eq!(code, 0, "{json}");
    // Two SPF records and a verification TXT in the zone: both SPF records replaced, the
    // other TXT kept (and listed as ignored, as for a published record).
    let (code, json, _) = run_json(&[
        "--offline",
        "--zone",
        SCENARIOS,
        "--record",
        "v=spf1 ip4:192.0.2.1 -all",
        "multi.example",
        "192.0.2.1",
    ]);
    assert_eq!(code, 0, "{json}");
    let trace = &json["spf"]["trace"];
    assert_eq!(
        txt_answers(trace, "multi.example"),
        [
            "\"google-site-verification=not-spf\"",
            "\"v=spf1 ip4:192.0.2.1 -all\""
        ],
        "{json}"
    );
    let ignored: Vec<&Value> = events(trace, "ignored");
    assert_eq!(ignored.len(), 1, "{json}");
    assert_eq!(ignored[0]["text"], "google-site-verification=not-spf");
}

/// The live test server alone: its SPF records replaced, its other TXT kept.
#[test]
fn record_alone_over_live_dns() {
    let dns = TestDns::start(vec![
        rec("live.example", txt(&["v=spf1 -all"])),
        rec("live.example", txt(&["v=spf1 ?all"])),
        rec("live.example", txt(&["keep=live"])),
    ]);
    let ns = dns.addr().to_string();
    let base = ["--nameserver", ns.as_str(), "live.example", "192.0.2.1"];
    let (code, json, _) = run_json(&base);
    assert_eq!(
        json["spf"]["result"], "permerror",
        "published: two SPF records {json}"
    );
    assert_eq!(code, 3);
    let (code, json, _) =
        run_json(&[&["--record", "v=spf1 ip4:192.0.2.1 -all"][..], &base].concat());
    assert_eq!(json["spf"]["result"], "pass", "{json}");
    assert_eq!(code, 0);
    assert_eq!(
        txt_answers(&json["spf"]["trace"], "live.example"),
        ["\"keep=live\"", "\"v=spf1 ip4:192.0.2.1 -all\""],
        "{json}"
    );
    // The live answer was asked for (to keep its other TXT).
    assert!(dns.count("live.example", "TXT") >= 2);
}

/// `--zone` over the live server: a name in the zone file is answered from the zone (its SPF
/// record replaced), a name only on the server from the server (its SPF record replaced).
#[test]
fn record_with_zone_over_live_dns() {
    let dns = TestDns::start(vec![
        rec("multi.example", txt(&["v=spf1 -all"])),
        rec("multi.example", txt(&["live-only=1"])),
        rec("only-live.example", txt(&["v=spf1 -all"])),
        rec("only-live.example", txt(&["keep=live"])),
    ]);
    let ns = dns.addr().to_string();
    let (code, json, _) = run_json(&[
        "--nameserver",
        &ns,
        "--zone",
        SCENARIOS,
        "--record",
        "v=spf1 ip4:192.0.2.1 -all",
        "multi.example",
        "192.0.2.1",
    ]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        txt_answers(&json["spf"]["trace"], "multi.example"),
        [
            "\"google-site-verification=not-spf\"",
            "\"v=spf1 ip4:192.0.2.1 -all\""
        ],
        "the zone file's TXT, not the server's: {json}"
    );
    assert_eq!(dns.count("multi.example", "TXT"), 0, "{:?}", dns.queries());
    let (code, json, _) = run_json(&[
        "--nameserver",
        &ns,
        "--zone",
        SCENARIOS,
        "--record",
        "v=spf1 ip4:192.0.2.1 -all",
        "only-live.example",
        "192.0.2.1",
    ]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        txt_answers(&json["spf"]["trace"], "only-live.example"),
        ["\"keep=live\"", "\"v=spf1 ip4:192.0.2.1 -all\""],
        "{json}"
    );
}

const DMARC_ZONE: &str = "$TTL 300\n$ORIGIN brand.example.\n\
    @ TXT \"v=spf1 -all\"\n\
    _dmarc TXT \"v=DMARC1; p=none\"\n\
    _dmarc TXT \"note=not-dmarc\"\n";

fn dmarc_records() -> Vec<spfcheck::dns::Record> {
    vec![
        rec("brand.example", txt(&["v=spf1 -all"])),
        rec("_dmarc.brand.example", txt(&["v=DMARC1; p=none"])),
        rec("_dmarc.brand.example", txt(&["note=not-dmarc"])),
    ]
}

/// Checks a run with `--dmarc-record 'v=DMARC1; p=reject'` against the data above.
#[track_caller]
fn assert_rejected(code: i32, json: &Value) {
    let d = &json["dmarc"];
    assert_eq!(d["record"], "v=DMARC1; p=reject", "{json}");
    assert_eq!(d["policy"], "reject", "{json}");
    assert_eq!(d["disposition"], "reject", "{json}");
    assert_eq!(code, 1, "{json}");
    assert_eq!(
        txt_answers(&d["trace"], "_dmarc.brand.example"),
        ["\"note=not-dmarc\"", "\"v=DMARC1; p=reject\""],
        "{json}"
    );
}

#[test]
fn dmarc_record_in_every_layer() {
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        v.extend(
            [
                "--dmarc-record",
                "v=DMARC1; p=reject",
                "brand.example",
                "192.0.2.1",
            ]
            .map(String::from),
        );
        v
    };
    let run = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let (code, json, _) = run_json(&refs);
        (code, json)
    };
    // Live DNS alone; first the published policy.
    let dns = TestDns::start(dmarc_records());
    let ns = dns.addr().to_string();
    let (code, json) = run(vec![
        "--nameserver".into(),
        ns.clone(),
        "brand.example".into(),
        "192.0.2.1".into(),
    ]);
    assert_eq!(json["dmarc"]["policy"], "none", "{json}");
    assert_eq!(code, 1);
    let (code, json) = run(args(&["--nameserver", &ns]));
    assert_rejected(code, &json);
    // Zone file, offline.
    let zone = zone_file("dmarc", DMARC_ZONE);
    let zone = zone.to_string_lossy().into_owned();
    let (code, json) = run(args(&["--offline", "--zone", &zone]));
    assert_rejected(code, &json);
    // Zone file over the live server (which has a different DMARC record and no other TXT):
    // the zone's answer, with its record replaced.
    let other = TestDns::start(vec![
        rec("brand.example", txt(&["v=spf1 -all"])),
        rec("_dmarc.brand.example", txt(&["v=DMARC1; p=quarantine"])),
    ]);
    let other_ns = other.addr().to_string();
    let (code, json) = run(args(&["--nameserver", &other_ns, "--zone", &zone]));
    assert_rejected(code, &json);
    assert_eq!(other.count("_dmarc.brand.example", "TXT"), 0);
    // Offline with no zone data at all: the record alone, and its name exists.
    let (code, json) = run(args(&["--offline", "--record", "v=spf1 -all"]));
    assert_eq!(json["dmarc"]["record"], "v=DMARC1; p=reject", "{json}");
    assert_eq!(json["dmarc"]["disposition"], "reject", "{json}");
    assert_eq!(json["spf"]["result"], "fail", "{json}");
    assert_eq!(code, 1);
    // Both dry runs at once, over the live server: SPF now passes, aligned, so DMARC passes.
    let (code, json) = run(args(&[
        "--nameserver",
        &ns,
        "--record",
        "v=spf1 ip4:192.0.2.1 -all",
    ]));
    assert_eq!(json["spf"]["result"], "pass", "{json}");
    assert_eq!(json["dmarc"]["result"], "pass", "{json}");
    assert_eq!(json["dmarc"]["record"], "v=DMARC1; p=reject", "{json}");
    assert_eq!(code, 0);
}

#[test]
fn dmarc_record_must_be_dmarc() {
    for bad in ["p=reject", "v=DMARC10; p=reject", "v=spf1 -all", ""] {
        let ran = run_spfcheck(&[
            "--offline",
            "--dmarc-record",
            bad,
            "brand.example",
            "192.0.2.1",
        ]);
        let stderr = String::from_utf8_lossy(&ran.stderr);
        assert_eq!(ran.code, 2, "{bad:?}: {stderr}");
        assert!(ran.stdout.is_empty());
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("spfcheck: error: --dmarc-record")
                && stderr.contains("is not a DMARC record (it must begin with \"v=DMARC1\")"),
            "{stderr}"
        );
    }
}
