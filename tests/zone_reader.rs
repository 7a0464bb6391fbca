//! Our zone-file reader checked against an INDEPENDENT one, NLnet Labs' `domain` crate
//! (`zonefile::inplace`), and `--zone` through the binary: bounded reads, `$INCLUDE`,
//! `$GENERATE`, wildcards.
//!
//! hickory-proto's reader (`serialize::txt::Parser`, 0.26.3) was tried first and is not usable
//! as the reference: it splits a quoted string that contains spaces inside parentheses at the
//! spaces, keeping the quote characters (the DKIM key in `testdata/seed/seed.zone`), does not
//! decode escapes in unquoted words, and turns `\DDD` over 127 into a two-byte UTF-8 character.
//!
//! The in-process test server is fed by our own reader, so a misreading there would be
//! invisible to every other test; here both readers must yield the same record set on every
//! zone in `testdata/` and on generated zones (random names, TTL forms, classes, TXT strings
//! with escapes, parentheses, comments, blank owners).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use domain::base::RecordData as _;
use domain::base::iana::Class;
use domain::base::{Name, ToName};
use domain::rdata::ZoneRecordData;
use domain::zonefile::inplace::{Entry, Zonefile};
use spfcheck::dns::RData;
use spfcheck::dns::zone::{MAX_ZONE_BYTES, parse_zone_file};

use crate::common::{TestDns, run_spfcheck};

/// One record, reader-independent: owner labels (lower-cased bytes), type, TTL, data.
type Canon = (Vec<Vec<u8>>, String, u32, String);

/// Labels of one of our canonical names (`\DDD` and `\X` decoded, split on unescaped dots).
fn our_labels(name: &str) -> Vec<Vec<u8>> {
    if name.is_empty() {
        return Vec::new();
    }
    let mut labels = vec![Vec::new()];
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) => {
                let v: u32 = std::str::from_utf8(&b[i + 1..i + 4])
                    .unwrap()
                    .parse()
                    .unwrap();
                labels.last_mut().unwrap().push(v as u8);
                i += 4;
            }
            b'\\' => {
                labels.last_mut().unwrap().push(b[i + 1]);
                i += 2;
            }
            b'.' => {
                labels.push(Vec::new());
                i += 1;
            }
            c => {
                labels.last_mut().unwrap().push(c.to_ascii_lowercase());
                i += 1;
            }
        }
    }
    labels
}

fn their_labels(name: &impl ToName) -> Vec<Vec<u8>> {
    name.iter_labels()
        .filter(|l| !l.is_root())
        .map(|l| l.as_slice().to_ascii_lowercase())
        .collect()
}

fn show(labels: &[Vec<u8>]) -> String {
    format!(
        "{:?}",
        labels
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect::<Vec<_>>()
    )
}

fn ours(path: &Path) -> BTreeSet<Canon> {
    let records = parse_zone_file(path).unwrap_or_else(|e| panic!("our reader: {e}"));
    // Like an RRset (and hickory's reader): one record per (name, type, data), the last TTL.
    let mut out: Vec<Canon> = Vec::new();
    for r in records {
        let (rtype, data) = match &r.data {
            RData::A(a) => ("A".to_string(), a.to_string()),
            RData::Aaaa(a) => ("AAAA".to_string(), a.to_string()),
            RData::Mx {
                preference,
                exchange,
            } => (
                "MX".to_string(),
                format!("{preference} {}", show(&our_labels(exchange))),
            ),
            RData::Txt(parts) => ("TXT".to_string(), format!("{parts:?}")),
            RData::Ptr(n) => ("PTR".to_string(), show(&our_labels(n))),
            RData::Cname(n) => ("CNAME".to_string(), show(&our_labels(n))),
            RData::Other { rtype, .. } => (rtype.clone(), String::new()),
        };
        let name = our_labels(&r.name);
        out.retain(|(n, t, _, d)| !(n == &name && t == &rtype && d == &data));
        out.push((name, rtype, r.ttl, data));
    }
    out.into_iter().collect()
}

/// The `domain` crate's reading of `path`, following `$INCLUDE` (relative to the including
/// file, with the given origin or the including file's current one).
fn theirs(path: &Path, origin: Option<Name<Bytes>>, out: &mut Vec<Canon>) {
    let text = std::fs::read(path).unwrap();
    let mut zone = Zonefile::load(&mut text.as_slice()).unwrap();
    // Ours assumes IN; the domain crate wants it said before the first record.
    zone.set_default_class(Class::IN);
    if let Some(o) = origin {
        zone.set_origin(o);
    }
    loop {
        let entry = match zone.next_entry() {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(e) => panic!("the domain crate's reader on {}: {e}", path.display()),
        };
        match entry {
            Entry::Record(r) => {
                let data = r.data();
                let (rtype, data) = match data {
                    ZoneRecordData::A(a) => ("A".to_string(), a.addr().to_string()),
                    ZoneRecordData::Aaaa(a) => ("AAAA".to_string(), a.addr().to_string()),
                    ZoneRecordData::Mx(mx) => (
                        "MX".to_string(),
                        format!("{} {}", mx.preference(), show(&their_labels(mx.exchange()))),
                    ),
                    ZoneRecordData::Txt(t) => {
                        let parts: Vec<Vec<u8>> = t.iter().map(|p| p.to_vec()).collect();
                        ("TXT".to_string(), format!("{parts:?}"))
                    }
                    ZoneRecordData::Ptr(p) => {
                        ("PTR".to_string(), show(&their_labels(p.ptrdname())))
                    }
                    ZoneRecordData::Cname(c) => {
                        ("CNAME".to_string(), show(&their_labels(c.cname())))
                    }
                    other => (other.rtype().to_string(), String::new()),
                };
                let name = their_labels(r.owner());
                out.retain(|(n, t, _, d)| !(n == &name && t == &rtype && d == &data));
                out.push((name, rtype, r.ttl().as_secs(), data));
            }
            Entry::Include { path: file, origin } => {
                let file = path.parent().unwrap().join(file.to_string());
                let origin = origin.or_else(|| zone.origin().ok());
                theirs(&file, origin, out);
            }
        }
    }
}

#[track_caller]
fn same_records(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let a = ours(path);
    let mut b = Vec::new();
    theirs(path, None, &mut b);
    let b: BTreeSet<Canon> = b.into_iter().collect();
    let only_ours: Vec<&Canon> = a.difference(&b).collect();
    let only_theirs: Vec<&Canon> = b.difference(&a).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "{}: the readers differ\nonly ours: {only_ours:#?}\nonly the domain crate's: {only_theirs:#?}\n--- zone ---\n{text}",
        path.display()
    );
    a.len()
}

fn zone_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            zone_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "zone") {
            out.push(path);
        }
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spfcheck-zr-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn testdata_zones_read_the_same_by_the_domain_crate() {
    let mut files = Vec::new();
    zone_files(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")),
        &mut files,
    );
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for f in &files {
        assert!(same_records(f) > 10, "{}", f.display());
    }
}

/// Deterministic xorshift, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn label(rng: &mut Rng) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    let len = 1 + rng.below(12);
    (0..len)
        .map(|_| CHARS[rng.below(CHARS.len())] as char)
        .collect()
}

/// An owner (`@` allowed) or, with `owner` false, an rdata name: the domain crate reads `@` in
/// rdata as a label "@", where RFC 1035 §5.1 (and BIND, and ours) read the origin.
fn name(rng: &mut Rng, origin: &str, owner: bool) -> String {
    match rng.below(4) {
        0 if owner => "@".to_string(),
        1 => format!("{}.{origin}", label(rng)),
        _ => (0..1 + rng.below(3))
            .map(|_| label(rng))
            .collect::<Vec<_>>()
            .join("."),
    }
}

fn txt_string(rng: &mut Rng) -> String {
    let mut s = String::from('"');
    for _ in 0..rng.below(40) {
        match rng.below(12) {
            0 => s.push_str("\\\""),
            1 => s.push_str("\\\\"),
            2 => s.push_str(&format!("\\{:03}", rng.below(256))),
            3 => s.push(';'),
            4 => s.push(' '),
            5 => s.push_str("( )"),
            6 => s.push_str("v=spf1"),
            _ => s.push((b'a' + rng.below(26) as u8) as char),
        }
    }
    s.push('"');
    s
}

fn generated_zone(rng: &mut Rng) -> String {
    let origin = format!("{}.example.", label(rng));
    let mut z = format!("$ORIGIN {origin}\n");
    if rng.below(2) == 0 {
        // Numbers only: the domain crate does not read BIND's units (1h30m); ours is unit-tested.
        z.push_str(&format!(
            "$TTL {}\n",
            rng.pick(&["300", "3600", "0", "86400"])
        ));
    } else {
        z.push_str("@ 3600 IN TXT \"first\"\n");
    }
    for _ in 0..20 {
        let owner = if rng.below(5) == 0 {
            String::new()
        } else {
            name(rng, &origin, true)
        };
        let mut fields: Vec<String> = Vec::new();
        let ttl = match rng.below(3) {
            0 => Some(
                rng.pick(&["60", "5400", "86400", "3600", "0", "2147483647"])
                    .to_string(),
            ),
            _ => None,
        };
        let class = rng.below(2) == 0;
        if rng.below(2) == 0 {
            fields.extend(ttl.clone());
            if class {
                fields.push("IN".into());
            }
        } else {
            if class {
                fields.push("in".into());
            }
            fields.extend(ttl.clone());
        }
        let (rtype, data) = match rng.below(6) {
            0 => ("A", format!("192.0.2.{}", rng.below(256))),
            1 => ("AAAA", format!("2001:db8::{:x}", rng.below(65536))),
            2 => (
                "MX",
                format!("{} {}", rng.below(100), name(rng, &origin, false)),
            ),
            3 => ("PTR", name(rng, &origin, false)),
            _ => {
                let n = 1 + rng.below(3);
                let strings: Vec<String> = (0..n).map(|_| txt_string(rng)).collect();
                if rng.below(3) == 0 {
                    (
                        "TXT",
                        format!(
                            "( {} ; a comment\n\t{} )",
                            strings.join("\n\t"),
                            txt_string(rng)
                        ),
                    )
                } else {
                    ("TXT", strings.join(" "))
                }
            }
        };
        // A blank owner needs a previous record.
        let owner = if owner.is_empty() && !z.contains(" TXT ") && !z.contains(" A ") {
            "@".to_string()
        } else {
            owner
        };
        let rtype = if rng.below(2) == 0 {
            rtype.to_ascii_lowercase()
        } else {
            rtype.to_string()
        };
        z.push_str(&format!("{owner}\t{} {rtype} {data}", fields.join(" ")));
        if rng.below(4) == 0 {
            z.push_str(" ; trailing comment");
        }
        z.push('\n');
    }
    z
}

#[test]
fn generated_zones_read_the_same_by_the_domain_crate() {
    let dir = temp_dir("gen");
    let mut rng = Rng(0x5eed_2026_0001);
    let mut records = 0;
    for i in 0..300 {
        let path = dir.join(format!("g{i}.zone"));
        std::fs::write(&path, generated_zone(&mut rng)).unwrap();
        records += same_records(&path);
    }
    assert!(records > 3000, "{records}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn include_read_the_same_by_the_domain_crate() {
    let dir = temp_dir("inc");
    std::fs::create_dir_all(dir.join("parts")).unwrap();
    std::fs::write(
        dir.join("main.zone"),
        "$ORIGIN inc.example.\n$TTL 60\n@ TXT \"v=spf1 include:_spf.inc.example -all\"\n\
         $INCLUDE parts/spf.zone\nmail A 192.0.2.25\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("parts/spf.zone"),
        "$TTL 60\n_spf TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n$INCLUDE more.zone sub.inc.example.\n",
    )
    .unwrap();
    std::fs::write(dir.join("parts/more.zone"), "extra 120 IN A 192.0.2.26\n").unwrap();
    assert_eq!(same_records(&dir.join("main.zone")), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the binary; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let ran = run_spfcheck(args);
    (
        ran.code,
        String::from_utf8_lossy(&ran.stdout).into_owned(),
        String::from_utf8_lossy(&ran.stderr).into_owned(),
    )
}

/// `--zone` refuses what is not a bounded regular file: one line, exit 2.
#[test]
fn zone_option_refuses_non_regular_and_oversize_files() {
    let dir = temp_dir("refuse");
    let big = dir.join("big.zone");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(MAX_ZONE_BYTES + 1)
        .unwrap();
    let fifo = dir.join("fifo.zone");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    let dir_s = dir.to_string_lossy().into_owned();
    let cases = [
        (
            "/dev/zero".to_string(),
            "/dev/zero: is not a regular file (a device, FIFO or socket): give a zone file"
                .to_string(),
        ),
        (
            dir_s.clone(),
            format!("{dir_s}: is a directory, not a zone file"),
        ),
        (
            fifo.to_string_lossy().into_owned(),
            format!("{}: is not a regular file", fifo.display()),
        ),
        (
            big.to_string_lossy().into_owned(),
            format!(
                "{}: too large: a zone file and the files it includes may hold at most 16777216 bytes (16 MiB) in all",
                big.display()
            ),
        ),
    ];
    for (path, want) in cases {
        let (code, stdout, stderr) =
            run(&["--zone", &path, "--offline", "example.com", "192.0.2.1"]);
        assert_eq!(code, 2, "{path}: {stderr}");
        assert!(stdout.is_empty());
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("spfcheck: error: {want}")),
            "{path}: {stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `$INCLUDE`, `$GENERATE` and a wildcard through `--zone --offline`, and the same records
/// served by the test server (hickory-server's own wildcard logic): the same results.
#[test]
fn include_generate_and_wildcards_offline_and_live() {
    let dir = temp_dir("wild");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let main = dir.join("main.zone");
    std::fs::write(
        &main,
        "$ORIGIN wild.example.\n$TTL 60\n$INCLUDE sub/wild.zone\n\
         exists TXT \"v=spf1 -all\"\nhost A 192.0.2.99\n\
         $GENERATE 1-4 h$ A 192.0.2.${10}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sub/wild.zone"),
        "* TXT \"v=spf1 a:h2.wild.example ip4:198.51.100.0/24 -all\"\n",
    )
    .unwrap();
    let zone = main.to_string_lossy().into_owned();
    let dns = TestDns::start(parse_zone_file(&main).unwrap());
    let ns = dns.addr().to_string();
    let cases: [(&str, &str, i32); 4] = [
        // Matched by the wildcard; the a: term's target was generated (h2 = 192.0.2.12).
        ("anything.wild.example", "192.0.2.12", 0),
        ("a.b.wild.example", "198.51.100.7", 0),
        ("anything.wild.example", "192.0.2.13", 1),
        // An existing name is not matched by the wildcard.
        ("exists.wild.example", "198.51.100.7", 1),
    ];
    for (domain, ip, want) in cases {
        for layer in [
            &["--offline", "--zone", &zone][..],
            &["--nameserver", &ns, "--color", "never"],
        ] {
            let args = [layer, &["--json", domain, ip]].concat();
            let (code, stdout, stderr) = run(&args);
            assert_eq!(code, want, "{args:?}\n{stdout}\n{stderr}");
        }
    }
    // host exists (A only), so the wildcard does not apply (RFC 4592 §2.2.2): no SPF record,
    // "none". Offline only: hickory-server 0.26.3 answers the wildcard's TXT for an existing
    // name, so the live test server would say "pass" here.
    let (_, stdout, _) = run(&[
        "--offline",
        "--zone",
        &zone,
        "--json",
        "host.wild.example",
        "198.51.100.7",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["spf"]["result"], "none", "{json}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An error inside an included file names that file and its line; a loop is one clear line.
#[test]
fn include_errors_through_the_binary() {
    let dir = temp_dir("incerr");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let main = dir.join("main.zone");
    std::fs::write(
        &main,
        "$ORIGIN e.example.\n$TTL 60\n$INCLUDE sub/bad.zone\n",
    )
    .unwrap();
    std::fs::write(dir.join("sub/bad.zone"), "ok A 192.0.2.1\n\nbad A 1.2.3\n").unwrap();
    let zone = main.to_string_lossy().into_owned();
    let (code, stdout, stderr) = run(&["--offline", "--zone", &zone, "e.example", "192.0.2.1"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    let want = format!(
        "spfcheck: error: {}:3: expected an IPv4 address after A, found \"1.2.3\"\n",
        dir.join("sub/bad.zone").display()
    );
    assert_eq!(stderr, want);
    std::fs::write(dir.join("sub/bad.zone"), "$INCLUDE ../main.zone\n").unwrap();
    let (code, _, stderr) = run(&["--offline", "--zone", &zone, "e.example", "192.0.2.1"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("bad.zone:1: $INCLUDE") && stderr.contains("an include loop"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
