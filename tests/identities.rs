//! Every identity a receiver can be handed, through the binary (issue 6 §1): `--helo` and
//! `--mail-from` are taken as given and evaluated (a malformed `<domain>` is SPF `none` with
//! the reason, RFC 7208 §4.3), control characters are refused, zone owner names with escapes
//! answer what macros expand to, and internationalized names follow one rule (RFC 8616 §4)
//! offline and against the in-process server alike.

use serde_json::Value;
use spfcheck::dns::zone::parse_zone;

use crate::common::{Ran, TestDns, events, run_spfcheck};

/// Written with A-labels: the in-process server serves names byte for byte.
const EAI_ZONE: &str = "\
$ORIGIN example.
$TTL 300
eai             TXT \"v=spf1 exists:%{l}.local.eai.example -all\"
inc             TXT \"v=spf1 include:%{l}.local.eai.example a:%{o} -all\"
inc             A   192.0.2.9
xn--jos-dma.local.eai A 127.0.0.2
jos\\195\\169.local.eai A 127.0.0.2
xn--bcher-kva   TXT \"v=spf1 a -all\"
xn--bcher-kva   A   192.0.2.8
ascii.local.eai A   127.0.0.2
";

fn json(ran: &Ran) -> Value {
    serde_json::from_slice(&ran.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); exit {}; stderr {}",
            ran.code,
            String::from_utf8_lossy(&ran.stderr)
        )
    })
}

fn stderr(ran: &Ran) -> String {
    String::from_utf8_lossy(&ran.stderr).into_owned()
}

/// Runs the same check offline (zone file) and live (in-process server with the same zone).
fn both_ways(zone_text: &str, args: &[&str]) -> [Value; 2] {
    let dir = std::env::temp_dir().join(format!("spfcheck-identities-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{:x}.zone", fxhash(args)));
    std::fs::write(&path, zone_text).expect("write zone");
    let mut offline: Vec<String> = vec![
        "--offline".into(),
        "--zone".into(),
        path.display().to_string(),
        "--json".into(),
    ];
    offline.extend(args.iter().map(|s| s.to_string()));
    let off = json(&run_spfcheck(&offline));
    let dns = TestDns::start(parse_zone(zone_text, None).expect("zone"));
    let mut live: Vec<String> = vec![
        "--nameserver".into(),
        dns.addr().to_string(),
        "--json".into(),
    ];
    live.extend(args.iter().map(|s| s.to_string()));
    let on = json(&run_spfcheck(&live));
    let _ = std::fs::remove_file(&path);
    [off, on]
}

fn fxhash(args: &[&str]) -> u64 {
    args.iter()
        .flat_map(|a| a.bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
}

fn queried_names(doc: &Value) -> Vec<String> {
    events(&doc["spf"]["trace"], "query")
        .iter()
        .filter_map(|q| q["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn helo_address_literal_is_none_with_reason_and_no_query() {
    let ran = run_spfcheck(&[
        "--offline",
        "--json",
        "--mail-from",
        "",
        "--helo",
        "[192.0.2.1]",
        "example.com",
        "192.0.2.1",
    ]);
    let doc = json(&ran);
    assert_eq!(doc["spf"]["result"], "none", "{doc}");
    assert_eq!(doc["spf"]["helo"], "[192.0.2.1]");
    let problem = doc["spf"]["problem"].as_str().unwrap_or_default();
    assert!(problem.contains("address literal"), "{problem}");
    assert!(queried_names(&doc).is_empty(), "{doc}");
}

#[test]
fn identities_are_kept_as_given() {
    for (flag, value, result) in [
        ("--helo", "JUMPIN' JUPITER", "none"),
        ("--helo", "%%%%%%", "none"),
        ("--mail-from", "foo@[1.2.3.5]", "none"),
        ("--mail-from", "lyme.eater@A...example.com", "none"),
        ("--mail-from", "\"john doe\"@example.com", "none"),
        ("--mail-from", "Macro Error@e8.example.com", "none"),
    ] {
        let mut args = vec!["--offline", "--json", flag, value];
        if flag == "--helo" {
            args.extend(["--mail-from", ""]);
        }
        args.extend(["example.com", "192.0.2.1"]);
        let ran = run_spfcheck(&args);
        let doc = json(&ran);
        assert_eq!(doc["spf"]["result"], result, "{flag} {value}: {doc}");
        let field = if flag == "--helo" {
            "helo"
        } else {
            "mail_from"
        };
        assert_eq!(doc["spf"][field], value, "{flag} {value}");
    }
    // Over-long labels and names are evaluated too: none, with the reason.
    let long_label = format!("{}.example.com", "a".repeat(64));
    let long_name = vec!["abcdefghi"; 26].join(".");
    for helo in [long_label, long_name] {
        let doc = json(&run_spfcheck(&[
            "--offline",
            "--json",
            "--mail-from",
            "",
            "--helo",
            &helo,
            "example.com",
            "192.0.2.1",
        ]));
        assert_eq!(doc["spf"]["result"], "none", "{helo}");
        let problem = doc["spf"]["problem"].as_str().unwrap_or_default();
        assert!(problem.starts_with("malformed domain"), "{problem}");
    }
}

#[test]
fn control_characters_and_huge_identities_are_refused() {
    for (flag, value, want) in [
        (
            "--helo",
            "a\u{1}b.example",
            "--helo: control character U+0001 at byte 1",
        ),
        (
            "--mail-from",
            "a@b\u{7f}.example",
            "--mail-from: control character U+007F",
        ),
    ] {
        let ran = run_spfcheck(&[flag, value, "example.com", "192.0.2.1"]);
        assert_eq!(ran.code, 2);
        let e = stderr(&ran);
        assert!(e.contains(want), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    let huge = "x".repeat(5000);
    let ran = run_spfcheck(&["--helo", &huge, "example.com", "192.0.2.1"]);
    assert_eq!(ran.code, 2);
    let e = stderr(&ran);
    assert!(e.contains("5000 bytes long (at most 1024)"), "{e}");
    assert!(e.len() < 200, "{e}");
}

#[test]
fn escaped_owner_names_answer_macro_expansions() {
    let zone = "\
$TTL 300
e.example.com. TXT \"v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all\"
macro\\037percent\\032\\032space\\03720url-space.example.com. A 192.0.2.5
";
    let [off, on] = both_ways(
        zone,
        &[
            "--mail-from",
            "x@e.example.com",
            "from.example",
            "192.0.2.5",
        ],
    );
    for doc in [off, on] {
        assert_eq!(doc["spf"]["result"], "pass", "{doc}");
    }
}

#[test]
fn non_ascii_local_part_matches_nothing_offline_and_live() {
    // RFC 8616 §4: exists:%{l}... matches nothing for josé, whatever the zone holds (both
    // spellings are in it); no query is sent for it. An ASCII local part still matches.
    let [off, on] = both_ways(
        EAI_ZONE,
        &[
            "--mail-from",
            "josé@eai.example",
            "eai.example",
            "192.0.2.1",
        ],
    );
    for doc in [&off, &on] {
        assert_eq!(doc["spf"]["result"], "fail", "{doc}");
        let names = queried_names(doc);
        assert!(
            names.iter().all(|n| !n.contains("local")),
            "a query was sent for the local part: {names:?}"
        );
        let terms = events(&doc["spf"]["trace"], "term");
        assert!(
            terms.iter().any(|t| t.to_string().contains("RFC 8616")),
            "{doc}"
        );
    }
    assert_eq!(queried_names(&off), queried_names(&on));
    let [off, on] = both_ways(
        EAI_ZONE,
        &[
            "--mail-from",
            "ascii@eai.example",
            "eai.example",
            "192.0.2.1",
        ],
    );
    for doc in [off, on] {
        assert_eq!(doc["spf"]["result"], "pass", "{doc}");
    }
    // include:%{l}... is a term too: it matches nothing and evaluation goes on (a:%{o}).
    let [off, on] = both_ways(
        EAI_ZONE,
        &[
            "--mail-from",
            "josé@inc.example",
            "inc.example",
            "192.0.2.9",
        ],
    );
    for doc in [off, on] {
        assert_eq!(doc["spf"]["result"], "pass", "{doc}");
    }
}

#[test]
fn u_label_domains_are_queried_as_a_labels_everywhere() {
    let [off, on] = both_ways(
        EAI_ZONE,
        &[
            "--mail-from",
            "user@Bücher.example",
            "example.com",
            "192.0.2.8",
        ],
    );
    for doc in [&off, &on] {
        assert_eq!(doc["spf"]["result"], "pass", "{doc}");
        let names = queried_names(doc);
        assert!(
            names.contains(&"xn--bcher-kva.example".to_string()),
            "{names:?}"
        );
    }
    assert_eq!(queried_names(&off), queried_names(&on));
    // A zone file may write the owner as a U-label: the same name.
    let zone = "$TTL 300\nbücher.example. TXT \"v=spf1 +all\"\n";
    let dir = std::env::temp_dir().join(format!("spfcheck-ulabel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("u.zone");
    std::fs::write(&path, zone).expect("zone");
    let doc = json(&run_spfcheck(&[
        "--offline",
        "--json",
        "--zone",
        &path.display().to_string(),
        "--mail-from",
        "a@xn--bcher-kva.example",
        "example.com",
        "192.0.2.1",
    ]));
    assert_eq!(doc["spf"]["result"], "pass", "{doc}");
    let _ = std::fs::remove_dir_all(&dir);
}
