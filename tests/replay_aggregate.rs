//! DMARC aggregate reports: the vendored mail-auth samples (testdata/reports/aggregate, MIT)
//! read into our model and compared field by field, by meaning, with their expected-parse JSON
//! (differences listed in testdata/reports/aggregate/DIFFERENCES.md); malformed inputs (DTD and
//! entities, invalid UTF-8, empty, truncated gzip, zip and gzip bombs, a bad row); and the
//! replay over offline zones, "now" against a proposal where a real sender would be rejected.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use spfcheck::cli::replay_aggregate::{load, run};
use spfcheck::dns::RType;
use spfcheck::dns::Resolver;
use spfcheck::dns::fault::{FaultKind, Faults};
use spfcheck::dns::overlay::{Overlay, ZoneData};
use spfcheck::eval::dmarc::Disposition;
use spfcheck::replay::aggregate::{Ptr, ReplayOptions, replay_reports};
use spfcheck::report::aggregate::{self, AggregateReport, ReportError};
use spfcheck::report::archive::{self, ArchiveError, Container, MAX_XML_BYTES};
use spfcheck::verdict::Outcome;

const DIR: &str = "testdata/reports/aggregate";

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spfcheck-agg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

// ---------------------------------------------------------------- the vendored samples

/// stalwart's enum spellings to ours: "Unspecified" is absent, CamelCase is RFC snake_case
/// (compared without underscores), "MailFrom" is the RFC's "mfrom".
fn norm_enum(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s == "Unspecified" || s.is_empty() => None,
        Value::String(s) => Some(match s.as_str() {
            "MailFrom" => "mfrom".to_string(),
            "Relaxed" => "r".to_string(),
            "Strict" => "s".to_string(),
            "Treewalk" => "treewalk".to_string(),
            other => other.to_ascii_lowercase().replace('_', ""),
        }),
        other => panic!("not an enum value: {other}"),
    }
}

fn ours(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .filter(|s| !s.is_empty())
        .map(|s| s.to_ascii_lowercase().replace('_', ""))
}

fn s(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

fn compare(name: &str, r: &AggregateReport, want: &Value) {
    let ctx = |f: &str| format!("{name}: {f}");
    // version: stalwart writes 0.0 when absent.
    let v = want["version"].as_f64().unwrap();
    let got = r
        .version
        .as_deref()
        .map_or(0.0, |t| t.parse::<f64>().unwrap());
    assert_eq!(got, v, "{}", ctx("version"));
    let m = &want["report_metadata"];
    assert_eq!(
        Some(r.metadata.org_name.clone()),
        s(&m["org_name"]),
        "{}",
        ctx("org_name")
    );
    assert_eq!(
        Some(r.metadata.email.clone()),
        s(&m["email"]),
        "{}",
        ctx("email")
    );
    assert_eq!(
        r.metadata.extra_contact_info,
        s(&m["extra_contact_info"]),
        "{}",
        ctx("extra_contact_info")
    );
    assert_eq!(
        Some(r.metadata.report_id.clone()),
        s(&m["report_id"]),
        "{}",
        ctx("report_id")
    );
    assert_eq!(
        r.metadata.date_begin,
        m["date_range"]["begin"].as_u64(),
        "{}",
        ctx("begin")
    );
    assert_eq!(
        r.metadata.date_end,
        m["date_range"]["end"].as_u64(),
        "{}",
        ctx("end")
    );
    let errors: Vec<String> = m["error"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    assert_eq!(r.metadata.errors, errors, "{}", ctx("error"));
    if let Some(g) = m.get("generator") {
        assert_eq!(r.metadata.generator, s(g), "{}", ctx("generator"));
    }
    let p = &want["policy_published"];
    assert_eq!(
        Some(r.policy.domain.clone()),
        s(&p["domain"]),
        "{}",
        ctx("domain")
    );
    assert_eq!(
        ours(&r.policy.adkim),
        norm_enum(&p["adkim"]),
        "{}",
        ctx("adkim")
    );
    assert_eq!(
        ours(&r.policy.aspf),
        norm_enum(&p["aspf"]),
        "{}",
        ctx("aspf")
    );
    assert_eq!(ours(&r.policy.p), norm_enum(&p["p"]), "{}", ctx("p"));
    assert_eq!(ours(&r.policy.sp), norm_enum(&p["sp"]), "{}", ctx("sp"));
    if let Some(np) = p.get("np") {
        assert_eq!(ours(&r.policy.np), norm_enum(np), "{}", ctx("np"));
    }
    if let Some(dm) = p.get("discovery_method") {
        assert_eq!(
            ours(&r.policy.discovery_method),
            norm_enum(dm),
            "{}",
            ctx("discovery_method")
        );
    }
    // testing: stalwart's bool is true only for `testing` = y.
    assert_eq!(
        r.policy.testing.as_deref() == Some("y"),
        p["testing"].as_bool().unwrap(),
        "{}",
        ctx("testing")
    );
    assert_eq!(r.policy.fo, s(&p["fo"]), "{}", ctx("fo"));
    let recs = want["record"].as_array().unwrap();
    assert_eq!(r.records.len(), recs.len(), "{}", ctx("records"));
    assert!(r.invalid.is_empty(), "{}: {:?}", ctx("invalid"), r.invalid);
    for (i, (got, w)) in r.records.iter().zip(recs).enumerate() {
        let c = |f: &str| format!("{name}: record {}: {f}", i + 1);
        let row = &w["row"];
        assert_eq!(
            got.source_ip.to_string(),
            row["source_ip"].as_str().unwrap(),
            "{}",
            c("source_ip")
        );
        assert_eq!(got.count, row["count"].as_u64().unwrap(), "{}", c("count"));
        let pe = &row["policy_evaluated"];
        assert_eq!(
            ours(&got.disposition),
            norm_enum(&pe["disposition"]),
            "{}",
            c("disposition")
        );
        assert_eq!(ours(&got.dkim), norm_enum(&pe["dkim"]), "{}", c("dkim"));
        assert_eq!(ours(&got.spf), norm_enum(&pe["spf"]), "{}", c("spf"));
        let reasons = pe["reason"].as_array().unwrap();
        assert_eq!(got.reasons.len(), reasons.len(), "{}", c("reasons"));
        for (gr, wr) in got.reasons.iter().zip(reasons) {
            // DIFFERENCES.md: stalwart reads RFC 7489's sampled_out as Other; we keep it.
            let want_kind = norm_enum(&wr["type_"]);
            if gr.kind != "sampled_out" {
                assert_eq!(
                    ours(&Some(gr.kind.clone())),
                    want_kind,
                    "{}",
                    c("reason type")
                );
            }
            assert_eq!(gr.comment, s(&wr["comment"]), "{}", c("reason comment"));
        }
        let ids = &w["identifiers"];
        assert_eq!(
            got.envelope_to,
            s(&ids["envelope_to"]),
            "{}",
            c("envelope_to")
        );
        assert_eq!(
            got.envelope_from,
            s(&ids["envelope_from"]),
            "{}",
            c("envelope_from")
        );
        assert_eq!(
            Some(got.header_from.clone()),
            s(&ids["header_from"]),
            "{}",
            c("header_from")
        );
        let dk = w["auth_results"]["dkim"].as_array().unwrap();
        assert_eq!(got.dkim_results.len(), dk.len(), "{}", c("dkim results"));
        for (g, wd) in got.dkim_results.iter().zip(dk) {
            assert_eq!(
                Some(g.domain.clone()),
                s(&wd["domain"]),
                "{}",
                c("dkim domain")
            );
            assert_eq!(g.selector, s(&wd["selector"]), "{}", c("dkim selector"));
            assert_eq!(
                ours(&Some(g.result.clone())),
                norm_enum(&wd["result"]),
                "{}",
                c("dkim result")
            );
            assert_eq!(
                g.human_result,
                s(&wd["human_result"]),
                "{}",
                c("dkim human_result")
            );
        }
        let sp = w["auth_results"]["spf"].as_array().unwrap();
        assert_eq!(got.spf_results.len(), sp.len(), "{}", c("spf results"));
        for (g, ws) in got.spf_results.iter().zip(sp) {
            assert_eq!(
                Some(g.domain.clone()),
                s(&ws["domain"]),
                "{}",
                c("spf domain")
            );
            assert_eq!(
                ours(&g.scope),
                norm_enum(&ws["scope"]),
                "{}",
                c("spf scope")
            );
            assert_eq!(
                ours(&Some(g.result.clone())),
                norm_enum(&ws["result"]),
                "{}",
                c("spf result")
            );
            assert_eq!(
                g.human_result,
                s(&ws["human_result"]),
                "{}",
                c("spf human_result")
            );
        }
    }
}

#[test]
fn vendored_samples_match_their_expected_parse() {
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext != "xml" && ext != "eml" {
            continue;
        }
        let want: Value =
            serde_json::from_slice(&std::fs::read(path.with_extension("json")).unwrap()).unwrap();
        let loaded = load(&path).unwrap_or_else(|e| panic!("{e}"));
        if ext == "eml" {
            assert_eq!(
                loaded.containers.first(),
                Some(&Container::Email),
                "{path:?}"
            );
            assert!(
                loaded.containers.len() == 2,
                "{path:?}: {:?}",
                loaded.containers
            );
        } else {
            assert!(loaded.containers.is_empty());
        }
        compare(&path.display().to_string(), &loaded.report, &want);
        seen += 1;
    }
    assert_eq!(seen, 10, "every vendored sample compared");
    // 100.eml carries a zip (Google), 101.eml a gzip: both containers by content.
    let z = load(Path::new(&format!("{DIR}/100.eml"))).unwrap();
    assert_eq!(z.containers, vec![Container::Email, Container::Zip]);
    assert_eq!(
        z.member.as_deref(),
        Some("google.com!stalw.art!1669507200!1669593599.xml")
    );
    let g = load(Path::new(&format!("{DIR}/101.eml"))).unwrap();
    assert_eq!(g.containers, vec![Container::Email, Container::Gzip]);
}

// ---------------------------------------------------------------- malformed inputs

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A one-member zip archive written by hand (APPNOTE 4.3): deflated, with the sizes and CRC
/// the caller chooses to declare (a bomb may lie).
fn zip_one(name: &str, data: &[u8], declared_size: Option<u32>) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    let packed = e.finish().unwrap();
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let size = declared_size.unwrap_or(data.len() as u32);
    let mut out = Vec::new();
    let header = |sig: &[u8], central: bool| {
        let mut h = sig.to_vec();
        if central {
            h.extend(20u16.to_le_bytes()); // made by
        }
        h.extend(20u16.to_le_bytes()); // version needed
        h.extend(0u16.to_le_bytes()); // flags
        h.extend(8u16.to_le_bytes()); // deflate
        h.extend(0u32.to_le_bytes()); // time, date
        h.extend(crc.sum().to_le_bytes());
        h.extend((packed.len() as u32).to_le_bytes());
        h.extend(size.to_le_bytes());
        h.extend((name.len() as u16).to_le_bytes());
        h.extend(0u16.to_le_bytes()); // extra
        if central {
            h.extend([0u8; 8]); // comment, disk, internal attrs
            h.extend(0u32.to_le_bytes()); // external attrs
            h.extend(0u32.to_le_bytes()); // local header offset
        }
        h.extend(name.as_bytes());
        h
    };
    out.extend(header(b"PK\x03\x04", false));
    out.extend(&packed);
    let cd_offset = out.len() as u32;
    let cd = header(b"PK\x01\x02", true);
    out.extend(&cd);
    out.extend(b"PK\x05\x06");
    out.extend([0u8; 4]);
    out.extend(1u16.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend((cd.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

#[test]
fn zip_reader_reads_a_hand_made_archive() {
    let xml = std::fs::read(format!("{DIR}/001.xml")).unwrap();
    let z = zip_one("r.xml", &xml, None);
    let u = archive::unwrap_report(&z).unwrap();
    assert_eq!(u.xml, xml);
    assert_eq!(u.containers, vec![Container::Zip]);
    // Detected by content: the same bytes under a misleading name.
    let p = tmp("report.xml", &z);
    assert_eq!(load(&p).unwrap().report.policy.domain, "example.com");
    // A damaged member: its CRC-32 no longer matches.
    let mut bad = z.clone();
    let i = bad.len() / 3;
    bad[i] ^= 0x55;
    assert!(archive::unwrap_report(&bad).is_err());
    // Cut off: no end of central directory.
    let e = archive::unwrap_report(&z[..z.len() - 30]).unwrap_err();
    assert!(matches!(e, ArchiveError::Zip(_)), "{e}");
}

#[test]
fn zip_and_gzip_bombs_are_refused() {
    let zeros = vec![0u8; MAX_XML_BYTES + 1024 * 1024];
    // Honest headers: refused before inflating.
    let honest = zip_one("bomb.xml", &zeros, None);
    assert!(honest.len() < 1024 * 1024, "{} bytes", honest.len());
    let e = archive::unwrap_report(&honest).unwrap_err();
    assert_eq!(
        e,
        ArchiveError::TooLarge {
            container: Container::Zip
        }
    );
    assert!(e.to_string().contains("more than 50 MiB"), "{e}");
    // Lying headers (declares 100 bytes): stopped by the bounded read.
    let liar = zip_one("bomb.xml", &zeros, Some(100));
    assert_eq!(
        archive::unwrap_report(&liar).unwrap_err(),
        ArchiveError::TooLarge {
            container: Container::Zip
        }
    );
    let g = gz(&zeros);
    assert_eq!(
        archive::unwrap_report(&g).unwrap_err(),
        ArchiveError::TooLarge {
            container: Container::Gzip
        }
    );
    // A gzip trailer that lies about the size (ISIZE 100).
    let mut liar = g.clone();
    let n = liar.len();
    liar[n - 4..].copy_from_slice(&100u32.to_le_bytes());
    assert_eq!(
        archive::unwrap_report(&liar).unwrap_err(),
        ArchiveError::TooLarge {
            container: Container::Gzip
        }
    );
    // Through the file loader: one line naming the file.
    let p = tmp("bomb.zip", &honest);
    let e = load(&p).unwrap_err();
    assert!(
        e.contains("bomb.zip") && e.contains("50 MiB") && !e.contains('\n'),
        "{e}"
    );
}

#[test]
fn malformed_reports_are_one_clear_line() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.xml", Vec::new(), "empty file"),
        (
            "dtd.xml",
            br#"<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><feedback>&b;</feedback>"#.to_vec(),
            "not a well-formed XML report",
        ),
        ("entity.xml", b"<feedback>&xxe;</feedback>".to_vec(), "not a well-formed XML report"),
        ("latin1.xml", b"<feedback><report_metadata><org_name>M\xfcller</org_name></report_metadata></feedback>".to_vec(), "not valid UTF-8 (at byte 38)"),
        ("cut.xml.gz", {
            let g = gz(&std::fs::read(format!("{DIR}/003.xml")).unwrap());
            g[..g.len() / 2].to_vec()
        }, "damaged or truncated gzip"),
        ("cut.xml", std::fs::read(format!("{DIR}/003.xml")).unwrap()[..1500].to_vec(), "not a well-formed XML report"),
        ("html.xml", b"<html><body>hi</body></html>".to_vec(), "root element is <html>"),
        ("binary.bin", b"\x00\x01\x02\x03".to_vec(), "neither XML, gzip, zip nor an email"),
        ("mail.eml", b"From: a@b.example\r\nSubject: hi\r\n\r\nno report here\r\n".to_vec(), "carries no aggregate report"),
    ];
    for (name, bytes, want) in cases {
        let p = tmp(name, &bytes);
        let e = load(&p).unwrap_err();
        assert!(e.contains(want), "{name}: {e}");
        assert!(e.starts_with(&format!("\"{}", p.display())), "{name}: {e}");
        assert!(!e.contains('\n'), "{name}: {e}");
    }
    assert!(matches!(
        aggregate::parse(b"<feedback/>"),
        Err(ReportError::Missing(_))
    ));
}

// ---------------------------------------------------------------- the replay

/// Today: example.com sends from its own /24 and through an ESP (include), DMARC p=none.
const NOW_ZONE: &str = r#"
example.com.              TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.esp.example -all"
_dmarc.example.com.       TXT "v=DMARC1; p=none; rua=mailto:d@example.com"
_spf.esp.example.         TXT "v=spf1 ip4:198.51.100.0/24 -all"
10.2.0.192.in-addr.arpa.  PTR mail.example.com.
"#;

/// The proposal: the ESP include dropped (forgotten) and p=reject.
const PROPOSED_ZONE: &str = r#"
example.com.              TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com.       TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"
_spf.esp.example.         TXT "v=spf1 ip4:198.51.100.0/24 -all"
10.2.0.192.in-addr.arpa.  PTR mail.example.com.
"#;

const REPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">
  <version>1.0</version>
  <report_metadata><org_name>Receiver</org_name><email>r@receiver.example</email>
    <report_id>r-1</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range>
  </report_metadata>
  <policy_published><domain>example.com</domain><p>none</p><sp>none</sp><testing>n</testing></policy_published>
  <record><row><source_ip>192.0.2.10</source_ip><count>40</count>
    <policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>pass</spf></policy_evaluated></row>
    <identifiers><header_from>example.com</header_from><envelope_from>example.com</envelope_from></identifiers>
    <auth_results><spf><domain>example.com</domain><scope>mfrom</scope><result>pass</result></spf></auth_results></record>
  <record><row><source_ip>198.51.100.7</source_ip><count>500</count>
    <policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>pass</spf></policy_evaluated></row>
    <identifiers><header_from>example.com</header_from><envelope_from>example.com</envelope_from></identifiers>
    <auth_results><spf><domain>example.com</domain><scope>mfrom</scope><result>pass</result></spf></auth_results></record>
  <record><row><source_ip>not-an-ip</source_ip><count>3</count></row>
    <identifiers><header_from>example.com</header_from></identifiers></record>
  <record><row><source_ip>198.51.100.7</source_ip><count>25</count>
    <policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>pass</spf></policy_evaluated></row>
    <identifiers><header_from>example.com</header_from><envelope_from>example.com</envelope_from></identifiers>
    <auth_results><spf><domain>example.com</domain><scope>mfrom</scope><result>pass</result></spf></auth_results></record>
  <record><row><source_ip>203.0.113.9</source_ip><count>60</count>
    <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>
    <identifiers><header_from>example.com</header_from></identifiers>
    <auth_results><dkim><domain>example.com</domain><selector>s1</selector><result>pass</result></dkim>
      <spf><domain>list.example.org</domain><result>fail</result></spf></auth_results></record>
</feedback>"#;

fn overlay(text: &str) -> Arc<dyn Resolver> {
    Arc::new(Overlay::new(
        ZoneData::from_zone_text(text, None).unwrap(),
        None,
    ))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn replay_now_and_under_proposal_finds_the_sender_that_would_be_rejected() {
    let report = aggregate::parse(REPORT.as_bytes()).unwrap();
    assert_eq!(report.records.len(), 4);
    assert_eq!(report.invalid.len(), 1);
    assert_eq!(report.invalid[0].index, 3);
    let opts = ReplayOptions {
        now: 1_700_000_000,
        ..ReplayOptions::default()
    };
    let out = runtime().block_on(replay_reports(
        std::slice::from_ref(&report),
        overlay(NOW_ZONE),
        Some(overlay(PROPOSED_ZONE)),
        &opts,
    ));
    // Three distinct sources (the two 198.51.100.7 rows grouped), most messages first.
    let ips: Vec<String> = out.sources.iter().map(|s| s.ip.to_string()).collect();
    assert_eq!(ips, ["198.51.100.7", "203.0.113.9", "192.0.2.10"]);
    assert_eq!(out.sources[0].count, 525);
    assert_eq!(out.sources[0].rows.len(), 2);
    assert_eq!(out.messages, 625);
    assert_eq!(out.invalid.len(), 1);

    // The ESP: SPF pass via the include now (p=none: delivered), SPF fail under the proposal,
    // no DKIM → DMARC fail → reject. The sender the user must see.
    let esp = &out.sources[0];
    assert_eq!(esp.now.verdict.outcome, Outcome::Authenticated);
    assert_eq!(esp.now.verdict.disposition, Disposition::None);
    let p = esp.proposed.as_ref().unwrap();
    assert_eq!(p.verdict.spf.result.to_string(), "fail");
    assert_eq!(p.verdict.disposition, Disposition::Reject);
    assert!(esp.newly_rejected() && esp.loses_authentication());
    assert_eq!(esp.ptr, Ptr::NoName);

    // The mailing list: no envelope_from reported, so the SPF auth result's domain is replayed;
    // the reported DKIM pass (d=example.com, aligned) keeps it authenticated on both sides.
    let list = &out.sources[1];
    assert_eq!(list.mail_from_domain, "list.example.org");
    assert_eq!(list.now.verdict.dkim[0].source, "report");
    assert_eq!(list.now.verdict.outcome, Outcome::Authenticated);
    assert_eq!(
        list.proposed.as_ref().unwrap().verdict.outcome,
        Outcome::Authenticated
    );
    assert!(!list.newly_rejected());

    // The domain's own server: authenticated on both sides, with its PTR name.
    let own = &out.sources[2];
    assert!(!own.newly_rejected() && !own.loses_authentication());
    assert_eq!(
        own.ptr,
        Ptr::Names {
            names: vec!["mail.example.com".to_string()]
        }
    );
    // The exit code follows the proposal: a sender not authenticated there → 1.
    assert_eq!(out.exit_code(), 1);
}

#[test]
fn ptr_failure_is_shown_as_a_failure_not_as_no_name() {
    let report = aggregate::parse(REPORT.as_bytes()).unwrap();
    let mut faults = Faults::new(overlay(NOW_ZONE));
    faults.add(
        "10.2.0.192.in-addr.arpa",
        Some(RType::Ptr),
        FaultKind::ServFail,
    );
    let now: Arc<dyn Resolver> = Arc::new(faults);
    let out = runtime().block_on(replay_reports(
        &[report],
        now,
        None,
        &ReplayOptions::default(),
    ));
    let own = out
        .sources
        .iter()
        .find(|s| s.ip.to_string() == "192.0.2.10")
        .unwrap();
    assert!(
        matches!(&own.ptr, Ptr::DnsFailure { error } if error.contains("SERVFAIL") || error.to_lowercase().contains("servfail")),
        "{:?}",
        own.ptr
    );
    assert!(out.sources.iter().all(|s| s.proposed.is_none()));
}

#[test]
fn cli_entry_writes_the_table_and_schema_valid_json() {
    let report = tmp("replay.xml", REPORT.as_bytes());
    let gzipped = tmp("copy.xml.gz", &gz(REPORT.as_bytes()));
    let files = vec![report.clone(), gzipped];
    let opts = ReplayOptions {
        now: 1_700_000_000,
        ..ReplayOptions::default()
    };
    let mut json = Vec::new();
    let code = run(
        &files,
        overlay(NOW_ZONE),
        Some(overlay(PROPOSED_ZONE)),
        &opts,
        true,
        &mut json,
    )
    .unwrap();
    assert_eq!(code, 1);
    let doc = common_validate(&json);
    let replay = &doc["replay"];
    assert_eq!(replay["kind"], "aggregate");
    assert_eq!(replay["reported"]["reports"].as_array().unwrap().len(), 2);
    assert_eq!(replay["reported"]["reports"][1]["containers"][0], "gzip");
    assert_eq!(
        replay["reported"]["reports"][0]["policy_published"]["domain"],
        "example.com"
    );
    let sources = replay["sources"].as_array().unwrap();
    // Two identical reports: the same three sources, counts doubled.
    assert_eq!(sources.len(), 3);
    assert_eq!(sources[0]["ip"], "198.51.100.7");
    assert_eq!(sources[0]["count"], 1050);
    assert_eq!(sources[0]["newly_rejected"], true);
    assert_eq!(sources[0]["now"]["verdict"]["outcome"], "authenticated");
    assert_eq!(sources[0]["proposed"]["verdict"]["disposition"], "reject");
    assert_eq!(sources[2]["ptr"]["names"][0], "mail.example.com");
    assert_eq!(replay["summary"]["newly_rejected"], 1);
    assert_eq!(replay["reported"]["invalid"].as_array().unwrap().len(), 2);

    let mut text = Vec::new();
    let code = run(
        &[report],
        overlay(NOW_ZONE),
        Some(overlay(PROPOSED_ZONE)),
        &opts,
        false,
        &mut text,
    )
    .unwrap();
    assert_eq!(code, 1);
    let text = String::from_utf8(text).unwrap();
    let esp_line = text
        .lines()
        .find(|l| l.starts_with("198.51.100.7"))
        .unwrap();
    assert!(esp_line.contains("WOULD BE REJECTED"), "{text}");
    assert!(esp_line.contains("525"), "{text}");
    assert!(esp_line.contains("spf pass dmarc pass -> none"), "{text}");
    assert!(esp_line.contains("spf fail dmarc fail -> reject"), "{text}");
    let own = text.lines().find(|l| l.starts_with("192.0.2.10")).unwrap();
    assert!(
        own.contains("mail.example.com") && !own.contains("REJECTED"),
        "{text}"
    );
    assert!(
        text.contains("record 3 (line 16): <source_ip> \"not-an-ip\" is not an IP address"),
        "{text}"
    );
    assert!(text.contains("1 source(s) would be rejected"), "{text}");

    // Without a proposal: the exit code follows "now" (all authenticated here: 0).
    let mut out = Vec::new();
    let code = run(
        &[tmp("r2.xml", REPORT.as_bytes())],
        overlay(NOW_ZONE),
        None,
        &opts,
        true,
        &mut out,
    )
    .unwrap();
    assert_eq!(code, 0);
    let doc = common_validate(&out);
    assert!(doc["replay"]["sources"][0]["proposed"].is_null());
    // A file that is no report: an input error (exit 2 for the caller).
    let bad = tmp("bad.xml", b"");
    assert!(
        run(
            &[bad],
            overlay(NOW_ZONE),
            None,
            &opts,
            false,
            &mut Vec::new()
        )
        .unwrap_err()
        .contains("empty file")
    );
}

#[test]
fn hostile_report_text_is_escaped_in_the_table() {
    // XML 1.0 has no C0 controls (ESC cannot appear); C1 and bidi characters can.
    let evil = REPORT.replace(
        "<org_name>Receiver</org_name>",
        "<org_name>Evil\u{9b}2J\u{202e}Org</org_name>",
    );
    let mut text = Vec::new();
    run(
        &[tmp("evil.xml", evil.as_bytes())],
        overlay(NOW_ZONE),
        None,
        &ReplayOptions::default(),
        false,
        &mut text,
    )
    .unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        !text.contains('\u{9b}') && !text.contains('\u{202e}'),
        "{text}"
    );
    assert!(text.contains("Evil\\u{9b}2J\\u{202e}Org"), "{text}");
}

fn common_validate(bytes: &[u8]) -> Value {
    crate::common::validate_output(bytes, "replay aggregate")
}

/// A large report: 20,000 rows over 4,000 distinct sources, grouped, summed and replayed
/// offline (timings printed with `--nocapture`; the README cites them).
#[test]
fn a_large_report_is_grouped_and_replayed() {
    let mut xml = String::from(
        "<feedback><report_metadata><org_name>big</org_name><report_id>b</report_id></report_metadata>\
         <policy_published><domain>example.com</domain><p>none</p></policy_published>\n",
    );
    for i in 0..20_000u32 {
        let src = i % 4_000;
        xml.push_str(&format!(
            "<record><row><source_ip>198.51.{}.{}</source_ip><count>{}</count><policy_evaluated>\
             <disposition>none</disposition><dkim>fail</dkim><spf>pass</spf></policy_evaluated></row>\
             <identifiers><header_from>example.com</header_from><envelope_from>example.com</envelope_from></identifiers>\
             <auth_results><spf><domain>example.com</domain><scope>mfrom</scope><result>pass</result></spf></auth_results></record>\n",
            src / 250,
            src % 250,
            1 + src
        ));
    }
    xml.push_str("</feedback>");
    let t = std::time::Instant::now();
    let report = aggregate::parse(xml.as_bytes()).unwrap();
    let parsed = t.elapsed();
    assert_eq!(report.records.len(), 20_000);
    let opts = ReplayOptions {
        trace: false,
        ..ReplayOptions::default()
    };
    let t = std::time::Instant::now();
    let out = runtime().block_on(replay_reports(
        &[report],
        overlay(NOW_ZONE),
        Some(overlay(PROPOSED_ZONE)),
        &opts,
    ));
    let replayed = t.elapsed();
    eprintln!(
        "large report: {} bytes, 20,000 rows parsed in {parsed:?}; 4,000 sources replayed (now + proposed + PTR) in {replayed:?}",
        xml.len()
    );
    assert_eq!(out.sources.len(), 4_000);
    // Source n has 5 rows of n + 1 messages; the largest first.
    assert_eq!(out.sources[0].count, 5 * 4_000);
    assert_eq!(out.sources[0].ip.to_string(), "198.51.15.249");
    // 198.51.100.0/24 is the ESP (sources 25,000.. do not exist; 198.51.0-15.x are outside it):
    // none passes SPF, so p=reject under the proposal rejects every one.
    assert!(out.sources.iter().all(|s| s.newly_rejected()));
}

// ---------------------------------------------------------------- through the binary

/// The zone text's records, for the in-process DNS server ("today's DNS").
fn records(text: &str) -> Vec<spfcheck::dns::Record> {
    ZoneData::from_zone_text(text, None)
        .unwrap()
        .into_iter()
        .cloned()
        .collect()
}

/// `spfcheck replay REPORT --zone proposed.zone` (the issue's form): today's DNS is the
/// server, the zone file is the proposal; the ESP that would be rejected is named.
#[test]
fn binary_replays_aggregate_reports_against_live_dns_and_the_proposal() {
    let dns = crate::common::TestDns::start(records(NOW_ZONE));
    let ns = dns.addr().to_string();
    let report = tmp("bin-replay.xml", REPORT.as_bytes());
    let proposal = tmp("bin-proposed.zone", PROPOSED_ZONE.as_bytes());
    let (r, p) = (report.to_str().unwrap(), proposal.to_str().unwrap());
    let ran = crate::common::run_spfcheck(&[
        "replay",
        r,
        "--nameserver",
        &ns,
        "--zone",
        p,
        "--now",
        "1700000000",
        "--json",
    ]);
    assert_eq!(ran.code, 1, "{}", String::from_utf8_lossy(&ran.stderr));
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap();
    let sources = doc["replay"]["sources"].as_array().unwrap();
    assert_eq!(sources[0]["ip"], "198.51.100.7");
    assert_eq!(sources[0]["now"]["verdict"]["outcome"], "authenticated");
    assert_eq!(sources[0]["proposed"]["verdict"]["disposition"], "reject");
    assert_eq!(sources[0]["newly_rejected"], true);
    // The PTR name came from the server (today's DNS).
    assert_eq!(sources[2]["ptr"]["names"][0], "mail.example.com");

    // The same offline: --zone is today's DNS, --proposed the proposal; text output.
    let now_zone = tmp("bin-now.zone", NOW_ZONE.as_bytes());
    let ran = crate::common::run_spfcheck(&[
        "replay",
        r,
        "--offline",
        "--zone",
        now_zone.to_str().unwrap(),
        "--proposed",
        p,
        "--now",
        "1700000000",
    ]);
    assert_eq!(ran.code, 1, "{}", String::from_utf8_lossy(&ran.stderr));
    let text = String::from_utf8_lossy(&ran.stdout);
    let esp = text
        .lines()
        .find(|l| l.starts_with("198.51.100.7"))
        .unwrap();
    assert!(esp.contains("WOULD BE REJECTED"), "{text}");
    // Without a proposal: one column, exit from today's DNS (the ESP passes, p=none; the list
    // passes by its reported DKIM; the own server passes).
    let ran = crate::common::run_spfcheck(&[
        "replay",
        r,
        "--offline",
        "--zone",
        now_zone.to_str().unwrap(),
        "--now",
        "1700000000",
    ]);
    assert_eq!(ran.code, 0, "{}", String::from_utf8_lossy(&ran.stdout));
    assert!(!String::from_utf8_lossy(&ran.stdout).contains("WOULD BE REJECTED"));
}

/// A failure report and an aggregate report in one run: both written, the worst exit code;
/// `--proposed` without an aggregate report is an input error.
#[test]
fn binary_mixes_failure_and_aggregate_reports() {
    let seed = "testdata/seed/hotmail-auth-failure-report.eml";
    let zone = "testdata/seed/seed.zone";
    let report = tmp("mixed.xml.gz", &gz(REPORT.as_bytes()));
    let ran = crate::common::run_spfcheck(&[
        "replay",
        seed,
        report.to_str().unwrap(),
        "--offline",
        "--zone",
        zone,
    ]);
    let out = String::from_utf8_lossy(&ran.stdout);
    assert!(out.contains("81.142.190.61"), "{out}");
    assert!(out.contains("Aggregate reports: 1 file(s)"), "{out}");
    assert_eq!(ran.code, 1, "{out}");

    let ran = crate::common::run_spfcheck(&[
        "replay",
        seed,
        "--offline",
        "--zone",
        zone,
        "--proposed",
        zone,
    ]);
    assert_eq!(ran.code, 2);
    let err = String::from_utf8_lossy(&ran.stderr);
    assert!(
        err.contains("--proposed applies to aggregate reports"),
        "{err}"
    );
}

/// Every vendored sample through the built binary (what a user runs): its policy domain, report
/// id, messages and distinct sources as the sample's expected parse says, schema-valid JSON.
#[test]
fn binary_reads_every_vendored_sample() {
    let mut seen = 0;
    for entry in std::fs::read_dir(DIR).unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext != "xml" && ext != "eml" {
            continue;
        }
        let want: Value =
            serde_json::from_slice(&std::fs::read(path.with_extension("json")).unwrap()).unwrap();
        let ran =
            crate::common::run_spfcheck(&["replay", path.to_str().unwrap(), "--offline", "--json"]);
        let shown = path.display();
        assert_ne!(
            ran.code,
            2,
            "{shown}: {}",
            String::from_utf8_lossy(&ran.stderr)
        );
        let doc: Value = serde_json::from_slice(&ran.stdout).unwrap();
        let replay = &doc["replay"];
        let report = &replay["reported"]["reports"][0];
        assert_eq!(
            report["policy_published"]["domain"], want["policy_published"]["domain"],
            "{shown}"
        );
        assert_eq!(
            report["metadata"]["report_id"], want["report_metadata"]["report_id"],
            "{shown}"
        );
        let rows = want["record"].as_array().unwrap();
        let messages: u64 = rows
            .iter()
            .map(|r| r["row"]["count"].as_u64().unwrap())
            .sum();
        assert_eq!(replay["summary"]["messages"], messages, "{shown}");
        let distinct: std::collections::BTreeSet<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}",
                    r["row"]["source_ip"],
                    r["identifiers"]["header_from"],
                    r["identifiers"]["envelope_from"]
                )
            })
            .collect();
        assert_eq!(replay["summary"]["sources"], distinct.len(), "{shown}");
        seen += 1;
    }
    assert_eq!(seen, 10, "5 XML reports and 5 emails carrying one");
}

/// The README's aggregate sample (`testdata/reports/demo/`) is what the binary prints.
#[test]
fn readme_aggregate_sample() {
    const README: &str = include_str!("../README.md");
    let marker = "Output of `spfcheck replay testdata/reports/demo/report.xml";
    let start = README.find(marker).expect("README: the aggregate sample") + marker.len();
    let open = README[start..].find("```text\n").unwrap() + start + 8;
    let close = README[open..].find("```").unwrap() + open;
    let ran = crate::common::run_spfcheck(&[
        "replay",
        "testdata/reports/demo/report.xml",
        "--offline",
        "--zone",
        "testdata/reports/demo/today.zone",
        "--proposed",
        "testdata/reports/demo/proposed.zone",
        "--now",
        "1700000000",
        "--color",
        "never",
    ]);
    assert_eq!(ran.code, 1);
    let out = String::from_utf8_lossy(&ran.stdout);
    assert!(out.contains("WOULD BE REJECTED"), "{out}");
    assert_eq!(out, &README[open..close]);
}

/// Bombs through the built binary (a zip that lies about its size, a gzip of 51 MiB of zeros):
/// one line naming the limit, exit 2, nothing on standard output.
#[test]
fn binary_refuses_bombs_in_bounded_memory() {
    let zeros = vec![0u8; MAX_XML_BYTES + 1024 * 1024];
    let liar = tmp("bin-bomb.zip", &zip_one("bomb.xml", &zeros, Some(100)));
    let gzip = tmp("bin-bomb.xml.gz", &gz(&zeros));
    for bomb in [liar, gzip] {
        let ran = crate::common::run_spfcheck(&["replay", bomb.to_str().unwrap(), "--offline"]);
        assert_eq!(ran.code, 2);
        let err = String::from_utf8_lossy(&ran.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("50 MiB"), "{err}");
        assert!(ran.stdout.is_empty());
    }
}
