//! Hostile text never reaches the terminal raw (issue 6 §4). DNS data, zone files and
//! arguments are attacker-controlled: a TXT record can hold an OSC title change, a CSI, a C1
//! CSI (U+009B) or a bidi override (U+202E). This module serves such data at every name a check
//! reads (SPF record, ignored TXT, `exp=` text, PTR, MX and CNAME targets, the DMARC record),
//! from a zone file (`--offline`) and from the in-process DNS server,
//! and runs the real binary in every output format, asserting that neither stdout nor stderr
//! carries a control byte (other than newline), DEL, a C1 control or a bidi/invisible format
//! character — apart from the SGR color sequences we write ourselves under `--color always`.
//! It also checks the input-echo cap in error lines, the 998-octet header lines, and that a
//! `--receiver` cannot inject text into the headers.

use serde_json::Value;

use spfcheck::dns::zone::parse_zone;

use crate::common::{TestDns, events, run_spfcheck};

/// The zone. `p` is the hostile payload: OSC 0 (window title) ended by BEL, a CSI color, a C1
/// CSI (U+009B), a right-to-left override (U+202E), NUL and DEL, in zone-file `\DDD` escapes
/// (the UTF-8 bytes for U+009B and U+202E).
fn zone_text() -> String {
    let p = r"\027]0;PWNED\007\027[31mred\194\1552J\226\128\174evil\000\127";
    format!(
        r#"$TTL 300
$ORIGIN hostile.example.
@        IN TXT "v=spf1 ptr mx a:cname.hostile.example include:inc.hostile.example -all exp=why.hostile.example"
@        IN TXT "hello {p}"
@        IN MX  10 mx\027]0\059T\007.hostile.example.
cname    IN CNAME t\027[2J\155arget.hostile.example.
inc      IN TXT "v=spf1 -all"
why      IN TXT "explained {p}"
_dmarc   IN TXT "v=DMARC1; p=reject; rua=mailto:a@hostile.example; x{p}=v{p}; pct=5{p}"
broken   IN TXT "v=spf1 {p} -all"
_dmarc.broken IN TXT "v=DMARC1; p={p}"
$ORIGIN 2.0.192.in-addr.arpa.
1        IN PTR evil\027]0\059P\007\226\128\174.hostile.example.
"#
    )
}

/// A temporary directory for this test's files (removed by the caller).
fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("spfcheck-hostile-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `bytes` without the SGR sequences `ESC [ digits/semicolons m` that `colored` writes.
fn strip_sgr(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0x1b && bytes.get(i + 1) == Some(&b'[') {
            let mut j = i + 2;
            while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b';') {
                j += 1;
            }
            if bytes.get(j) == Some(&b'm') {
                i = j + 1;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Every character that must not reach a terminal in `bytes`, with its offset.
fn unsafe_chars(bytes: &[u8]) -> Vec<(usize, String)> {
    let text = String::from_utf8_lossy(bytes);
    let mut bad = Vec::new();
    for (i, c) in text.char_indices() {
        let cp = u32::from(c);
        let bidi = matches!(
            c,
            '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        );
        if (cp < 0x20 && c != '\n') || cp == 0x7f || (0x80..=0x9f).contains(&cp) || bidi {
            let from = text[..i].char_indices().rev().nth(30).map_or(0, |(k, _)| k);
            bad.push((i, format!("{c:?} after {:?}", &text[from..i])));
        }
    }
    bad
}

#[track_caller]
fn assert_terminal_safe(what: &str, bytes: &[u8], color: bool) {
    let shown = if color {
        strip_sgr(bytes)
    } else {
        bytes.to_vec()
    };
    let bad = unsafe_chars(&shown);
    assert!(
        bad.is_empty(),
        "{what}: {} unsafe characters, first: {:?}\n--- output ---\n{}",
        bad.len(),
        bad.first(),
        String::from_utf8_lossy(bytes)
    );
}

/// One run in one format: exit code, stdout and stderr checked.
fn run_checked(args: &[String], color: bool) -> (i32, String) {
    let ran = run_spfcheck(args);
    let what = format!("spfcheck {args:?}");
    assert!(
        !String::from_utf8_lossy(&ran.stderr).contains("panicked"),
        "{what}: panicked"
    );
    assert_terminal_safe(&format!("{what} stdout"), &ran.stdout, color);
    assert_terminal_safe(&format!("{what} stderr"), &ran.stderr, false);
    (ran.code, String::from_utf8_lossy(&ran.stdout).into_owned())
}

#[test]
fn hostile_dns_data_is_escaped_in_every_format() {
    let dir = temp_dir("zone");
    let zone = dir.join("hostile.zone");
    std::fs::write(&zone, zone_text()).expect("write zone");
    let zone = zone.to_string_lossy().into_owned();
    // The same data from the in-process DNS server (through the live hickory backend).
    let dns = TestDns::start(parse_zone(&zone_text(), None).expect("the hostile zone parses"));
    let server = dns.addr().to_string();
    let vias: [&[&str]; 2] = [
        &["--offline", "--zone", zone.as_str()],
        &["--nameserver", server.as_str()],
    ];
    let formats: [(&[&str], bool); 5] = [
        (&["--color", "never"], false),
        (&["--color", "always"], true),
        (&["--json"], false),
        (&["--format", "received-spf"], false),
        (&["--format", "auth-results"], false),
    ];
    let checks: [(&str, &[&str]); 4] = [
        ("hostile.example", &[]),
        // The null sender: the HELO identity, here the hostile domain.
        (
            "hostile.example",
            &["--mail-from", "", "--helo", "hostile.example"],
        ),
        // A bidi override in the MAIL FROM local part (accepted: it is no control character).
        (
            "hostile.example",
            &["--mail-from", "a\u{202e}b@hostile.example"],
        ),
        ("broken.hostile.example", &[]),
    ];
    for via in vias {
        for ((domain, extra), (fmt, color)) in checks
            .iter()
            .flat_map(|c| formats.iter().map(move |f| (*c, *f)))
        {
            let mut args: Vec<String> = via.iter().map(|s| s.to_string()).collect();
            args.extend(fmt.iter().map(|s| s.to_string()));
            args.extend(extra.iter().map(|s| s.to_string()));
            args.extend([domain.to_string(), "192.0.2.1".to_string()]);
            let (code, stdout) = run_checked(&args, color);
            assert!(
                (1..=4).contains(&code) && code != 2,
                "{args:?}: exit {code}\n{stdout}"
            );
            // The hostile data did reach the output, escaped (the test cannot pass by
            // printing nothing).
            if fmt == ["--color", "never"] && domain == "hostile.example" && extra.is_empty() {
                let needle = "hello \\x1b]0;PWNED\\x07\\x1b[31mred\\u{9b}2J\\u{202e}evil\\x00\\x7f";
                assert!(stdout.contains(needle), "{needle:?} missing:\n{stdout}");
                assert!(
                    stdout.contains("x\\x1b]0;PWNED"),
                    "DMARC record or diagnostic not shown escaped:\n{stdout}"
                );
            }
            if fmt == ["--json"] && extra.is_empty() && domain == "hostile.example" {
                // JSON keeps the data exactly (escaped as \u sequences, decoded by a parser).
                let doc: Value = serde_json::from_str(&stdout).expect("JSON");
                let ignored = events(&doc["spf"]["trace"], "ignored");
                assert!(
                    ignored.iter().any(|n| n["text"]
                        .as_str()
                        .is_some_and(|t| t.contains("\u{1b}]0;PWNED\u{7}")
                            && t.contains("\u{9b}2J\u{202e}evil\u{0}\u{7f}"))),
                    "{ignored:?}"
                );
                assert!(
                    stdout.contains("\\u009b2J\\u202eevil\\u0000\\u007f"),
                    "{stdout}"
                );
            }
            if fmt[0] == "--format" {
                for line in stdout.lines() {
                    assert!(line.len() <= 998, "{} octets: {line}", line.len());
                    assert!(line.is_ascii(), "header not ASCII: {line:?}");
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Zone-file errors and echoed arguments: escaped, and clipped to a bounded line.
#[test]
fn error_lines_escape_and_clip_their_inputs() {
    let dir = temp_dir("errors");
    let bad_zone = dir.join("bad\u{1b}]0;F\u{7}.zone");
    std::fs::write(
        &bad_zone,
        "$TTL 300\nhostile.example. IN TXT \"v=spf1 -all\"\nx\u{1b}[2J\u{9b}1m\u{202e}.hostile.example. IN BOGUS\u{1b}]0;Z\u{7} data\n",
    )
    .expect("write zone");
    let long = "a".repeat(120_000);
    let cases: Vec<Vec<String>> = vec![
        vec![
            "--zone".into(),
            bad_zone.to_string_lossy().into_owned(),
            "hostile.example".into(),
            "192.0.2.1".into(),
        ],
        vec!["ex\u{1b}]0;A\u{7}mple.com".into(), "192.0.2.1".into()],
        vec!["example.com".into(), "192.0.2.1\u{9b}2J\u{202e}".into()],
        vec![
            "--record".into(),
            format!("\u{1b}[31m{}", "x".repeat(5000)),
            "example.com".into(),
            "192.0.2.1".into(),
        ],
        vec![long.clone(), "192.0.2.1".into()],
        vec![format!("{long}.example"), "192.0.2.1".into()],
        vec![
            "--mail-from".into(),
            format!("{long}\u{1b}[2J@x.example"),
            "x.example".into(),
            "192.0.2.1".into(),
        ],
        vec![
            "--unknown-\u{1b}[2J".into(),
            "x.example".into(),
            "192.0.2.1".into(),
        ],
        vec![
            "--helo".into(),
            long.clone(),
            "x.example".into(),
            "192.0.2.1".into(),
        ],
        vec![
            "--zone".into(),
            format!("/nonexistent/{long}"),
            "x.example".into(),
            "192.0.2.1".into(),
        ],
    ];
    for mut args in cases {
        // Never live DNS, even if an input were accepted.
        args.insert(0, "--offline".into());
        let ran = run_spfcheck(&args);
        let shown: Vec<String> = args.iter().map(|a| a.chars().take(60).collect()).collect();
        assert_eq!(ran.code, 2, "{shown:?}: exit {}", ran.code);
        assert!(ran.stdout.is_empty(), "{shown:?}: stdout on an input error");
        assert_terminal_safe(&format!("{shown:?} stderr"), &ran.stderr, false);
        let err = String::from_utf8_lossy(&ran.stderr);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{shown:?}: {err}");
        assert!(lines[0].starts_with("spfcheck: error: "), "{err}");
        assert!(
            lines[0].chars().count() <= 1100,
            "{shown:?}: a {}-character error line",
            lines[0].chars().count()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// RFC 5322 §2.1.1 in both headers: a long SPF problem and a long MAIL FROM local part give
/// folded lines of at most 998 octets, in every format that prints the headers.
#[test]
fn headers_stay_within_998_octets() {
    // The longest MAIL FROM accepted (1,024 bytes with "@example.com").
    let local = "l".repeat(1000);
    let mail_from = format!("{local}@example.com");
    let record = format!("v=spf1 ip4:192.0.2.0/24 {} -all", "z".repeat(3000));
    for fmt in [
        &["--format", "auth-results"][..],
        &["--json"],
        &["--color", "never"],
    ] {
        let mut args: Vec<String> = vec![
            "--offline".into(),
            "--record".into(),
            record.clone(),
            "--mail-from".into(),
            mail_from.clone(),
        ];
        args.extend(fmt.iter().map(|s| s.to_string()));
        args.extend(["example.com".to_string(), "192.0.2.9".to_string()]);
        let ran = run_spfcheck(&args);
        assert_eq!(
            ran.code,
            3,
            "{fmt:?}: {}",
            String::from_utf8_lossy(&ran.stderr)
        );
        let stdout = String::from_utf8_lossy(&ran.stdout).into_owned();
        let headers: Vec<String> = if fmt == ["--json"] {
            let doc: Value = serde_json::from_str(&stdout).expect("JSON");
            vec![
                doc["authentication_results"]
                    .as_str()
                    .expect("AR")
                    .to_string(),
                doc["received_spf"].as_str().expect("RS").to_string(),
            ]
        } else {
            // The headers close the text output.
            let at = stdout
                .find("Authentication-Results:")
                .expect("Authentication-Results in the output");
            vec![stdout[at..].to_string()]
        };
        for h in &headers {
            for line in h.lines() {
                if line.starts_with("Authentication-Results:")
                    || line.starts_with("Received-SPF:")
                    || line.starts_with(' ')
                {
                    assert!(line.len() <= 998, "{fmt:?}: {} octets: {line}", line.len());
                }
            }
        }
        let ar = &headers[0];
        assert!(ar.contains("Authentication-Results: "), "{ar}");
        assert!(ar.contains("spf=permerror"), "{ar}");
        assert!(ar.contains("..."), "the long values were not clipped: {ar}");
    }
}

/// `--receiver` is a domain name, checked at parse time: `mx; spf=pass` would otherwise
/// inject a method into the headers.
#[test]
fn receiver_must_be_a_domain_name() {
    for bad in ["mx; spf=pass", "mx (fake)", "mx\u{1b}[2J", "a..b", ""] {
        let ran = run_spfcheck(&[
            "--offline",
            "--record",
            "v=spf1 -all",
            "--receiver",
            bad,
            "--format",
            "auth-results",
            "example.com",
            "192.0.2.1",
        ]);
        let err = String::from_utf8_lossy(&ran.stderr);
        assert_eq!(ran.code, 2, "{bad:?}: {err}");
        assert!(
            err.starts_with("spfcheck: error: --receiver"),
            "{bad:?}: {err}"
        );
        assert!(ran.stdout.is_empty());
    }
    let ran = run_spfcheck(&[
        "--offline",
        "--record",
        "v=spf1 -all",
        "--receiver",
        "MX.Example.NET",
        "--format",
        "auth-results",
        "example.com",
        "192.0.2.1",
    ]);
    let out = String::from_utf8_lossy(&ran.stdout);
    assert_eq!(ran.code, 1, "{out}");
    assert!(
        out.starts_with("Authentication-Results: mx.example.net; spf=fail"),
        "{out}"
    );
    assert!(
        out.contains("Received-SPF: fail (mx.example.net: "),
        "{out}"
    );
    assert!(out.contains(" receiver=mx.example.net;"), "{out}");
}
