//! Property tests for every parser that reads hostile text: SPF records and macro-strings, the
//! macro expander, DKIM-style tag-lists, DMARC records, zone files and the command line
//! (clap definitions and the plan built from them). Each parser must never panic on any input,
//! must give back what its renderer wrote (where a renderer exists), must report error
//! positions inside the text, and must stay linear on a 64 KiB record and on 10,000 tags (the
//! sizes are asserted; times are printed, never asserted).
//!
//! Case counts: each property runs `PROPTEST_CASES` cases when that is set in the environment,
//! else the count given at the property (256–2,000), so the module takes well under a minute
//! in a debug build. The draws come from a fixed seed unless `PROPTEST_RNG_SEED` is set, so CI
//! is reproducible. Failing inputs are printed, not saved to disk.

use std::ffi::OsString;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed};

use spfcheck::cli::args::Args;
use spfcheck::cli::plan::Plan;
use spfcheck::dns::overlay::{Overlay, ZoneData};
use spfcheck::dns::zone::parse_zone;
use spfcheck::dns::{RData, Record};
use spfcheck::eval::macros::{MacroVars, expand, truncate_domain};
use spfcheck::eval::spf::{SpfRequest, SpfResult, check_host};
use spfcheck::record::spf::{MacroContext, MacroLetter, MacroPart, parse_macro_string};
use spfcheck::record::{dmarc, spf, taglist};
use spfcheck::render::{CheckView, auth_results, json, received_spf, style, text};
use spfcheck::verdict::VerdictRequest;

// ---------------------------------------------------------------------------------------------
// Configuration and generators
// ---------------------------------------------------------------------------------------------

/// The default seed, so that a run (and CI) is reproducible; `PROPTEST_RNG_SEED=N` draws others.
const SEED: u64 = 7208;

/// `cases` cases, or `PROPTEST_CASES` from the environment; no regression files.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    let base = Config::default();
    let rng_seed = match base.rng_seed {
        RngSeed::Random => RngSeed::Fixed(SEED),
        chosen => chosen,
    };
    Config {
        cases,
        rng_seed,
        failure_persistence: None,
        ..base
    }
}

/// Pieces of macro-strings that are valid (RFC 7208 §7.1): domain characters, macros with
/// transformers, escapes.
const VALID_MACRO: &str =
    r"([a-zA-Z0-9-]{1,4}|\.|%\{[slodiphvSLODIPHV][1-9]?r?[.+,/_=-]{0,2}\}|%%|%_|%-)";
/// Pieces that are not, or only in explanations: c/r/t, zero or long digits, unknown letters,
/// a stray `%`, braces, odd characters.
const ODD_MACRO: &str =
    r"(%\{[crtCRTxX0][0-9]{0,3}r?\}|%\{d0\}|%\{d[0-9]{3}\}|%|%\{[a-z]|\{|\}|_|/|:|[ -~])";

/// A macro-string fragment, valid five times in six.
fn macro_fragment() -> String {
    format!("({VALID_MACRO}|{VALID_MACRO}|{VALID_MACRO}|{VALID_MACRO}|{VALID_MACRO}|{ODD_MACRO})")
}

/// Macro-strings: fragments, perhaps a domain-end, perhaps space-separated words.
fn macro_text() -> impl Strategy<Value = String> {
    let f = macro_fragment();
    proptest::string::string_regex(&format!(
        r"({f}){{0,10}}(\.[a-z]{{2,4}})?( ({f}){{1,3}}){{0,2}}"
    ))
    .expect("the macro-string regex compiles")
}

/// Text shaped like an SPF record: valid and invalid terms in any order.
fn spf_like() -> impl Strategy<Value = String> {
    let f = macro_fragment();
    let dom = format!(r"({f}){{1,6}}(\.[a-z]{{2,4}}|%\{{d\}})");
    let cidr = r"(/[0-9]{1,2}|/[0-9]{3})?(//[0-9]{1,3})?";
    let term = format!(
        r"[-+~?]?(all|include:{dom}|a(:{dom})?{cidr}|mx(:{dom})?{cidr}|ptr(:{dom})?|exists:{dom}|ip4:(([0-9]{{1,3}}\.){{3}}[0-9]{{1,3}}|[0-9.]{{1,15}})(/[0-9]{{1,2}})?|ip6:(2001:db8::[0-9a-f]{{1,4}}|::1|::ffff:1\.2\.3\.4|[0-9a-fA-F:.]{{1,24}})(/[0-9]{{1,3}})?|redirect={dom}|exp={dom}|[a-zA-Z][a-zA-Z0-9._-]{{0,5}}=({f}){{0,4}}|[ -~]{{1,8}})"
    );
    let record = format!(r"(v=spf1|v=spf1|v=spf1|V=SpF1|v=spf2)( {{1,2}}{term}){{0,6}} ?");
    proptest::string::string_regex(&record).expect("the SPF-like regex compiles")
}

/// `s` with a few characters replaced, inserted or removed (at char boundaries).
fn mutated(base: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (
        base,
        proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 0..4),
    )
        .prop_map(|(s, edits)| {
            let mut chars: Vec<char> = s.chars().collect();
            for (at, op, c) in edits {
                if chars.is_empty() {
                    chars.push(c);
                    continue;
                }
                let i = at.index(chars.len());
                match op {
                    0 => chars[i] = c,
                    1 => chars.insert(i, c),
                    _ => {
                        chars.remove(i);
                    }
                }
            }
            chars.into_iter().collect()
        })
}

/// Text shaped like a DMARC record: known and unknown tags, odd values, odd separators.
fn dmarc_like() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        r"v=(DMARC1|dmarc1|DMARC2)(( ?; ?| ?;;|;\r\n )(p|sp|np|psd|t|adkim|aspf|rua|ruf|fo|pct|rf|ri|v|P|[a-z]{1,3}|[0-9]) ?= ?(none|quarantine|reject|y|n|u|r|s|0|1|d|[0-9]{1,4}|mailto:[a-z@.!0-9kmgt,]{0,20}|https?://[!-:<-~]{0,12}|afrf|[!-:<-~]{0,8})){0,10} ?;? ?",
    )
    .expect("the DMARC-like regex compiles")
}

/// Text shaped like a zone file: directives, names, TTLs, classes, types, quoted strings,
/// escapes, parentheses, comments.
fn zone_like() -> impl Strategy<Value = String> {
    let line = r"(\$ORIGIN [a-z.\\0-9]{0,12}|\$TTL [0-9a-z]{0,8}|\$INCLUDE x|@|\*|[a-z0-9.\\-]{1,12}|)( [0-9]{1,6})?( (IN|CH|in))?( [0-9]{1,4})? (A|AAAA|MX|TXT|PTR|CNAME|SOA|NS|SPF|TYPE[0-9]{1,3}|\\#|[A-Z]{1,4}) ([0-9.:a-f]{1,16}|[0-9]{1,3} [a-z.]{0,10}|\x22([ -~]|\\[0-9]{3}|\\\x22){0,20}\x22?|\(|\)|[ -~]{0,12})( ;[ -~]{0,6})?";
    proptest::collection::vec(
        proptest::string::string_regex(line).expect("the zone-line regex compiles"),
        0..12,
    )
    .prop_map(|lines| lines.join("\n"))
}

/// A label of a generated name: letters, digits, inner hyphens.
fn label() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?").expect("label regex")
}

fn name() -> impl Strategy<Value = String> {
    proptest::collection::vec(label(), 1..5).prop_map(|labels| labels.join("."))
}

/// Record data that a zone file can state and `parse_zone` gives back exactly.
fn rdata() -> impl Strategy<Value = RData> {
    prop_oneof![
        any::<std::net::Ipv4Addr>().prop_map(RData::A),
        any::<std::net::Ipv6Addr>().prop_map(RData::Aaaa),
        (any::<u16>(), name()).prop_map(|(preference, exchange)| RData::Mx {
            preference,
            exchange
        }),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..4)
            .prop_map(RData::Txt),
        name().prop_map(RData::Ptr),
        name().prop_map(RData::Cname),
    ]
}

/// One record in master-file syntax, every name absolute.
fn zone_line(r: &Record) -> String {
    let rtype = r.data.rtype().map(|t| t.as_str()).unwrap_or("TYPE0");
    let data = match &r.data {
        RData::Mx {
            preference,
            exchange,
        } => format!("{preference} {exchange}."),
        RData::Ptr(n) | RData::Cname(n) => format!("{n}."),
        other => other.to_string(),
    };
    format!("{}. {} IN {rtype} {data}", r.name, r.ttl)
}

/// Command-line words: every option, values that have broken parsers before, and anything.
fn argv_word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "--from", "--dkim", "--dmarc", "--pct-sample", "--mail-from", "--helo",
            "--receiver", "--now", "--default-explanation", "--nameserver", "--timeout",
            "--deadline", "--offline", "--record", "--fault", "--max-dns-lookups",
            "--max-void-lookups", "--format", "--json", "--color", "--help", "--version", "-h",
            "--", "-",
        ])
        .prop_map(String::from),
        3 => prop::sample::select(vec![
            "example.com", "192.0.2.1", "::ffff:192.0.2.1", "2001:db8::1", "a@example.com",
            "Name <a@x.example>, B <b@y.example>", "", " ", "-1", "1e-300", "NaN", "inf",
            "1e300", "0", "99", "100", "2021-02-31T00:00:00Z", "2021-07-15T22:51:19+25:99",
            "1626389479", "[1.2.3.5]", "foo@[1.2.3.5]", "\"john doe\"@example.com",
            "x.example/TXT=timeout", "x.example=servfail", "x.example/A=bogus",
            "brand.example=pass", "d.example:s1=fail", "127.0.0.1:0", "127.0.0.1:99999",
            "v=spf1 -all", "v=spf1 %{", "%{d0}", "json", "text", "received-spf",
            "auth-results", "always", "never", "auto", "rfc9989", "rfc7489",
            "\u{202e}evil", "a\u{0}b", "a\nb",
        ])
        .prop_map(String::from),
        2 => "[ -~]{0,24}",
        1 => any::<String>(),
    ]
}

/// An option with a value it may take (or none, for a switch).
fn option() -> impl Strategy<Value = Vec<String>> {
    let options: Vec<(&str, &[&str])> = vec![
        ("--from", &["a@brand.example", "Sales <s@brand.example>"]),
        ("--dkim", &["brand.example=pass", "d.example:s1=fail"]),
        ("--dmarc", &["rfc9989", "rfc7489"]),
        ("--pct-sample", &["0", "99"]),
        ("--mail-from", &["bounce@esp.example", ""]),
        ("--helo", &["mx.example"]),
        ("--receiver", &["mx.receiver.example"]),
        ("--now", &["1626389479", "2021-07-15T22:51:19Z"]),
        ("--default-explanation", &["%{o} says no"]),
        ("--nameserver", &["127.0.0.1:53", "::1"]),
        ("--timeout", &["2"]),
        ("--deadline", &["20"]),
        ("--record", &["v=spf1 -all"]),
        ("--fault", &["x.example/TXT=timeout"]),
        ("--max-dns-lookups", &["10"]),
        ("--max-void-lookups", &["2"]),
        (
            "--format",
            &["json", "text", "received-spf", "auth-results"],
        ),
        ("--color", &["never", "always"]),
        ("--offline", &[]),
        ("--json", &[]),
    ];
    (
        prop::sample::select(options),
        any::<prop::sample::Index>(),
        argv_word(),
        0u8..4,
    )
        .prop_map(|((flag, values), i, word, pick)| {
            let mut out = vec![flag.to_string()];
            match (values.is_empty(), pick) {
                (true, _) => {}
                // Mostly a value the option takes, sometimes anything.
                (false, 0) => out.push(word),
                (false, _) => out.push(values[i.index(values.len())].to_string()),
            }
            out
        })
}

/// Argument lists: options, then DOMAIN and IP (or odd positionals), sometimes noise.
fn argv() -> impl Strategy<Value = Vec<String>> {
    let positionals = prop_oneof![
        3 => Just(vec!["example.com".to_string(), "192.0.2.1".to_string()]),
        1 => Just(vec!["192.0.2.1".to_string()]),
        2 => proptest::collection::vec(argv_word(), 0..3),
    ];
    let noise =
        prop_oneof![3 => Just(Vec::new()), 1 => proptest::collection::vec(argv_word(), 1..3)];
    (
        proptest::collection::vec(option(), 0..5),
        positionals,
        noise,
    )
        .prop_map(|(options, positionals, noise)| {
            let mut argv = vec!["spfcheck".to_string()];
            argv.extend(options.into_iter().flatten());
            argv.extend(positionals);
            argv.extend(noise);
            argv
        })
}

// ---------------------------------------------------------------------------------------------
// SPF records and macro-strings
// ---------------------------------------------------------------------------------------------

/// The SPF properties for one input: no panic; errors point inside the text; each term's text
/// is at its position; the canonical rendering parses to the same terms.
fn check_spf(rec: &str) -> Result<(), TestCaseError> {
    match spf::parse(rec) {
        Err(e) => prop_assert!(e.position <= rec.len(), "error at {} > len", e.position),
        Ok(parsed) => {
            for t in &parsed.terms {
                let at = rec.get(t.position..).unwrap_or("");
                prop_assert!(
                    at.starts_with(&t.text),
                    "term {:?} not at {}",
                    t.text,
                    t.position
                );
            }
            let rendered = parsed.to_string();
            let again = spf::parse(&rendered);
            prop_assert!(
                again.is_ok(),
                "rendering {rendered:?} does not parse: {again:?}"
            );
            let again = again.map_err(|e| TestCaseError::fail(e.to_string()))?;
            let kinds =
                |r: &spf::SpfRecord| r.terms.iter().map(|t| t.kind.clone()).collect::<Vec<_>>();
            prop_assert_eq!(kinds(&parsed), kinds(&again), "rendered as {:?}", rendered);
            // Rendering is a fixed point.
            prop_assert_eq!(again.to_string(), rendered);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn spf_any_text(rec in any::<String>()) {
        check_spf(&rec)?;
        check_spf(&format!("v=spf1 {rec}"))?;
    }

    #[test]
    fn spf_record_shaped_text(rec in spf_like()) {
        check_spf(&rec)?;
    }

    #[test]
    fn spf_mutated_records(rec in mutated(spf_like())) {
        check_spf(&rec)?;
    }

    #[test]
    fn macro_strings_round_trip(
        text in macro_text(),
    ) {
        for context in [MacroContext::DomainSpec, MacroContext::ModifierValue, MacroContext::Explanation] {
            match parse_macro_string(&text, context) {
                Err(e) => prop_assert!(e.position <= text.len()),
                Ok(ms) => {
                    let rendered = ms.to_string();
                    prop_assert_eq!(parse_macro_string(&rendered, context), Ok(ms), "{:?}", rendered);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Macro expansion
// ---------------------------------------------------------------------------------------------

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<std::net::Ipv4Addr>().prop_map(IpAddr::V4),
        any::<std::net::Ipv6Addr>().prop_map(IpAddr::V6),
    ]
}

proptest! {
    #![proptest_config(config(1000))]

    /// Any parsed macro-string expands without panic for any values; outside explanations
    /// exactly the c/r/t letters fail; the output is no longer than the literals plus three
    /// times (URL escaping) the longest value per macro.
    #[test]
    fn macro_expansion_is_total_and_bounded(
        text in macro_text(),
        values in proptest::collection::vec(any::<String>(), 6),
        ip in ip(),
        now in any::<u64>(),
        validated in any::<bool>(),
    ) {
        let Ok(ms) = parse_macro_string(&text, MacroContext::Explanation) else {
            return Ok(());
        };
        let vars = MacroVars {
            sender: &values[0],
            local: &values[1],
            sender_domain: &values[2],
            domain: &values[3],
            ip,
            validated_name: validated.then_some(values[4].as_str()),
            helo: &values[5],
            receiver: &values[4],
            now,
        };
        let longest = values.iter().map(String::len).chain([63, 20, 7]).max().unwrap_or(0);
        let mut literal = 0;
        let mut macros = 0;
        let mut explanation_only = false;
        for part in &ms.parts {
            match part {
                MacroPart::Literal(s) => literal += s.len(),
                MacroPart::Macro(m) => {
                    macros += 1;
                    explanation_only |= matches!(m.letter, MacroLetter::C | MacroLetter::R | MacroLetter::T);
                }
            }
        }
        let out = expand(&ms, &vars, true);
        prop_assert!(out.is_ok(), "{:?}", out);
        let out = out.unwrap_or_default();
        prop_assert!(out.len() <= literal + macros * 3 * longest, "{} bytes from {:?}", out.len(), text);
        prop_assert_eq!(expand(&ms, &vars, false).is_err(), explanation_only);
    }

    /// RFC 7208 §7.3: truncation keeps a suffix, of at most 253 characters unless one label
    /// alone is longer.
    #[test]
    fn truncated_domains_are_suffixes_within_253(
        labels in proptest::collection::vec("[a-z0-9]{0,70}", 0..40),
        dot in any::<bool>(),
    ) {
        let mut d = labels.join(".");
        if dot {
            d.push('.');
        }
        let t = truncate_domain(&d);
        prop_assert!(d.ends_with(&t));
        let counted = t.strip_suffix('.').unwrap_or(&t);
        prop_assert!(counted.len() <= 253 || !counted.contains('.'), "{} chars: {:?}", counted.len(), t);
    }
}

// ---------------------------------------------------------------------------------------------
// Tag-lists and DMARC records
// ---------------------------------------------------------------------------------------------

/// The tag-list properties: positions point at the names and values; errors inside the text.
fn check_taglist(text: &str) -> Result<(), TestCaseError> {
    let scan = taglist::scan_tag_list(text);
    for t in &scan.tags {
        prop_assert!(text.get(t.position..).unwrap_or("").starts_with(&t.name));
        prop_assert!(
            text.get(t.value_position..)
                .unwrap_or("")
                .starts_with(&t.value)
        );
    }
    for e in &scan.errors {
        prop_assert!(e.position <= text.len());
    }
    let strict = taglist::parse_tag_list(text);
    prop_assert_eq!(
        strict.is_ok(),
        scan.errors.is_empty() && taglist::find_duplicates(&scan.tags, false).is_empty()
    );
    let _ = taglist::first_tag(text);
    Ok(())
}

fn check_dmarc(text: &str) -> Result<(), TestCaseError> {
    let _ = dmarc::is_dmarc_record(text);
    match dmarc::parse(text) {
        Err(e) => prop_assert!(e.position <= text.len()),
        Ok(r) => {
            prop_assert!(r.diagnostics.len() <= dmarc::MAX_DIAGNOSTICS + 1);
            for mode in [dmarc::DmarcMode::Rfc9989, dmarc::DmarcMode::Rfc7489] {
                let _ = r.effective_policy(mode);
                let _ = r.diagnostics_for(mode);
            }
        }
    }
    Ok(())
}

/// Whitespace a tag-list allows around names, `=` and values: WSP and folds (CRLF WSP).
fn fws() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["", " ", "\t", "  ", "\r\n ", " \r\n\t"]).prop_map(String::from)
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn taglist_any_text(text in any::<String>()) {
        check_taglist(&text)?;
    }

    #[test]
    fn taglist_shaped_text(text in mutated(dmarc_like())) {
        check_taglist(&text)?;
    }

    /// Rendering tags with any allowed whitespace and parsing gives them back.
    #[test]
    fn taglist_round_trip(
        tags in proptest::collection::btree_map(
            "[a-zA-Z][a-zA-Z0-9_]{0,6}",
            proptest::collection::vec("[!-:<-~]{1,6}", 0..3),
            1..8,
        ),
        spaces in proptest::collection::vec((fws(), fws(), fws(), fws()), 8),
        final_semicolon in any::<bool>(),
    ) {
        let mut text = String::new();
        let mut expected = Vec::new();
        for (i, ((name, vals), (a, b, c, d))) in tags.iter().zip(&spaces).enumerate() {
            if i > 0 {
                text.push(';');
            }
            // The value's words are separated by one space or a fold.
            let value = vals.join(if i % 2 == 0 { " " } else { "\r\n " });
            text.push_str(&format!("{a}{name}{b}={c}{value}{d}"));
            expected.push((name.clone(), value));
        }
        if final_semicolon {
            text.push(';');
        }
        let parsed = taglist::parse_tag_list(&text);
        prop_assert!(parsed.is_ok(), "{:?}: {:?}", text, parsed);
        let got: Vec<(String, String)> = parsed
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.name, t.value))
            .collect();
        prop_assert_eq!(got, expected, "{:?}", text);
        check_taglist(&text)?;
    }

    #[test]
    fn dmarc_any_text(text in any::<String>()) {
        check_dmarc(&text)?;
        check_dmarc(&format!("v=DMARC1; {text}"))?;
    }

    #[test]
    fn dmarc_record_shaped_text(text in dmarc_like()) {
        check_dmarc(&text)?;
    }

    #[test]
    fn dmarc_mutated_records(text in mutated(dmarc_like())) {
        check_dmarc(&text)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Zone files
// ---------------------------------------------------------------------------------------------

fn check_zone(text: &str) -> Result<(), TestCaseError> {
    for origin in [None, Some("example.com.")] {
        if let Err(e) = parse_zone(text, origin) {
            // Line 0 is the origin argument; the others are lines of the text (the line after
            // the last, for an unclosed parenthesis or quote).
            prop_assert!(
                e.line <= text.lines().count() + 1,
                "line {} of {:?}",
                e.line,
                text
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn zone_any_text(text in any::<String>()) {
        check_zone(&text)?;
    }

    #[test]
    fn zone_shaped_text(text in zone_like()) {
        check_zone(&text)?;
    }

    #[test]
    fn zone_mutated_text(text in mutated(zone_like())) {
        check_zone(&text)?;
    }

    /// Records written in master-file syntax come back as they were, in order.
    #[test]
    fn zone_round_trip(
        records in proptest::collection::vec(
            (name(), 0u32..=0x7fff_ffff, rdata()).prop_map(|(name, ttl, data)| Record { name, ttl, data }),
            0..20,
        ),
    ) {
        let text: String = records.iter().map(|r| zone_line(r) + "\n").collect();
        let parsed = parse_zone(&text, None);
        prop_assert_eq!(parsed, Ok(records), "{}", text);
    }
}

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(1000))]

    /// clap and the plan builder accept or refuse any argument list without panicking; a
    /// refusal by the plan is one line. `--zone` is given only files that exist or cannot, as
    /// reading arbitrary paths is not this test's business.
    #[test]
    fn arguments_never_panic(
        words in argv(),
        zone in prop::option::of(prop::sample::select(vec![
            concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/seed/seed.zone"),
            concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/no such file.zone"),
            concat!(env!("CARGO_MANIFEST_DIR"), "/testdata"),
        ])),
    ) {
        let mut argv = words;
        if let Some(z) = zone {
            argv.splice(1..1, ["--zone".to_string(), z.to_string()]);
        }
        if let Ok(args) = Args::try_parse_from(&argv)
            && let Err(e) = Plan::build(&args)
        {
            prop_assert!(!e.to_string().contains('\n'), "{:?}", e);
        }
    }
}

#[cfg(unix)]
proptest! {
    #![proptest_config(config(500))]

    /// Arguments that are not UTF-8 are refused, not a panic.
    #[test]
    fn non_utf8_arguments_never_panic(
        words in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..12), 0..6),
        flag in prop::sample::select(vec!["--helo", "--mail-from", "--record", "--from", "--receiver"]),
    ) {
        use std::os::unix::ffi::OsStringExt;
        let mut argv: Vec<OsString> = vec!["spfcheck".into(), flag.into()];
        argv.extend(words.into_iter().map(OsString::from_vec));
        if let Ok(args) = Args::try_parse_from(&argv) {
            let _ = Plan::build(&args);
        }
    }
}

/// Found by `arguments_never_panic`: `--fault "a\nb"` echoed the newline raw, splitting the
/// error line. Every option's error is one line whatever control characters the value holds.
#[test]
fn argument_errors_are_one_line() {
    let options = [
        "--fault",
        "--helo",
        "--mail-from",
        "--from",
        "--dkim",
        "--nameserver",
        "--now",
        "--timeout",
        "--deadline",
        "--receiver",
        "--record",
        "--default-explanation",
    ];
    for value in [
        "a\nb",
        "a=x\ny",
        "a/T\r=timeout",
        "x\u{1b}]0;t\u{7}=nxdomain",
        "\n",
    ] {
        for option in options {
            let argv = ["spfcheck", option, value, "example.com", "192.0.2.1"];
            if let Ok(args) = Args::try_parse_from(argv)
                && let Err(e) = Plan::build(&args)
            {
                let line = e.to_string();
                assert!(
                    !line.chars().any(char::is_control),
                    "{option} {value:?}: {line:?}"
                );
            }
        }
        for positional in [
            ["spfcheck", value, "192.0.2.1"],
            ["spfcheck", "example.com", value],
        ] {
            if let Ok(args) = Args::try_parse_from(positional)
                && let Err(e) = Plan::build(&args)
            {
                let line = e.to_string();
                assert!(
                    !line.chars().any(char::is_control),
                    "{positional:?}: {line:?}"
                );
            }
        }
    }
}

/// clap's own consistency checks on the definitions (run lazily otherwise).
#[test]
fn clap_definitions_are_consistent() {
    use clap::CommandFactory;
    Args::command().debug_assert();
}

// ---------------------------------------------------------------------------------------------
// Whole evaluations over hostile records
// ---------------------------------------------------------------------------------------------

/// An SPF-like record with terms that reach the other generated records (includes, redirects,
/// a loop back to example.com).
fn linked_spf() -> impl Strategy<Value = String> {
    let links = prop::sample::select(vec![
        "include:a.example.com",
        "include:b.example.com",
        "include:example.com",
        "redirect=a.example.com",
        "redirect=example.com",
        "a:b.example.com/24",
        "mx:b.example.com",
        "exists:%{i}.a.example.com",
        "ptr",
        "exp=b.example.com",
        "-all",
        "?all",
    ]);
    (spf_like(), proptest::collection::vec(links, 0..4)).prop_map(|(rec, links)| {
        std::iter::once(rec.as_str())
            .chain(links)
            .collect::<Vec<_>>()
            .join(" ")
    })
}

proptest! {
    #![proptest_config(config(256))]

    /// SPF and DMARC records from the generators at linked names: the verdict is reached and
    /// every report renders, without panic; the §4.6.4 counters stop one past their limits.
    #[test]
    fn verdicts_over_hostile_records(
        spf_texts in proptest::collection::vec(linked_spf(), 3),
        dmarc_text in mutated(dmarc_like()),
        ip in ip(),
        mode in prop::sample::select(vec![dmarc::DmarcMode::Rfc9989, dmarc::DmarcMode::Rfc7489]),
    ) {
        let mut records: Vec<Record> = ["example.com", "a.example.com", "b.example.com"]
            .iter()
            .zip(&spf_texts)
            .map(|(name, text)| txt_at(name, text))
            .collect();
        records.push(txt_at("_dmarc.example.com", &dmarc_text));
        records.push(Record { name: "a.example.com".into(), ttl: 300, data: RData::A([192, 0, 2, 1].into()) });
        records.push(Record {
            name: "b.example.com".into(),
            ttl: 300,
            data: RData::Mx { preference: 10, exchange: "a.example.com".into() },
        });
        let request = VerdictRequest {
            spf: SpfRequest::new(ip, "user@example.com", "helo.example.com"),
            from_domain: "example.com".into(),
            from: None,
            dkim: Vec::new(),
            mode,
            pct_sample: 0,
            message: None,
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let verdict = rt.block_on(spfcheck::verdict::evaluate(offline(records.clone()), &request));
        // Trace-less (as `batch --format text` evaluates): the same verdict but for the traces.
        let mut bare_request = request.clone();
        bare_request.spf.trace = false;
        let mut bare = rt.block_on(spfcheck::verdict::evaluate(offline(records), &bare_request));
        bare.spf.trace = verdict.spf.trace.clone();
        bare.dmarc.trace = verdict.dmarc.trace.clone();
        prop_assert_eq!(&bare, &verdict);
        let limits = &request.spf.limits;
        prop_assert!(verdict.spf.dns_lookups <= limits.dns_terms + 1);
        prop_assert!(verdict.spf.void_lookups <= limits.void_lookups + 1);
        let report = CheckView { request: &request, verdict: &verdict };
        for rendered in [
            text::render(&report),
            style::with_color(true, || text::render(&report)),
            json::render(&report),
            auth_results::render(&report),
            received_spf::render(&report.spf()),
        ] {
            prop_assert!(!rendered.is_empty());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Size: a 64 KiB record, 10,000 tags
// ---------------------------------------------------------------------------------------------

const KIB_64: usize = 64 * 1024;

/// "v=spf1" and terms from `term(i)` until the text reaches 64 KiB, then `last`.
fn big_spf(term: impl Fn(usize) -> String, last: &str) -> (String, usize) {
    let mut rec = String::from("v=spf1");
    let mut n = 0;
    while rec.len() < KIB_64 - last.len() - 64 {
        rec.push(' ');
        rec.push_str(&term(n));
        n += 1;
    }
    rec.push(' ');
    rec.push_str(last);
    (rec, n + 1)
}

/// A TXT record of `text` in 255-octet strings (RFC 7208 §3.3), at `name`.
fn txt_at(name: &str, text: &str) -> Record {
    Record {
        name: name.into(),
        ttl: 300,
        data: RData::Txt(text.as_bytes().chunks(255).map(<[u8]>::to_vec).collect()),
    }
}

fn offline(records: Vec<Record>) -> Arc<Overlay> {
    Arc::new(Overlay::new(
        records.into_iter().collect::<ZoneData>(),
        None,
    ))
}

fn evaluate(records: Vec<Record>, ip: &str) -> spfcheck::eval::spf::SpfOutput {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let req = SpfRequest::new(
        ip.parse().expect("ip"),
        "user@example.com",
        "helo.example.com",
    );
    rt.block_on(check_host(offline(records), &req))
}

#[test]
fn spf_record_of_64_kib_of_ip4_terms() {
    let start = Instant::now();
    let (rec, terms) = big_spf(
        |i| format!("ip4:10.{}.{}.0/24", (i / 256) % 256, i % 256),
        "-all",
    );
    assert!(
        rec.len() >= KIB_64 - 64 && rec.len() <= KIB_64,
        "{}",
        rec.len()
    );
    let parsed = spf::parse(&rec).expect("a long valid record parses");
    assert_eq!(parsed.terms.len(), terms);
    // These terms are already canonical, so the rendering is the record itself.
    assert_eq!(parsed.to_string(), rec);
    // Evaluated: every ip4 term is tried (no DNS), then -all decides.
    let out = evaluate(vec![txt_at("example.com", &rec)], "192.0.2.1");
    assert_eq!(out.result, SpfResult::Fail);
    assert_eq!(out.mechanism.as_deref(), Some("-all"));
    assert_eq!(out.dns_lookups, 0);
    // The trace grows with the terms, not faster.
    let nodes = out.trace.walk().len();
    assert!(
        nodes <= 3 * terms + 20,
        "{nodes} trace nodes for {terms} terms"
    );
    eprintln!(
        "64 KiB SPF record, {terms} ip4 terms: parsed, rendered and evaluated in {:?}",
        start.elapsed()
    );
}

#[test]
fn spf_record_of_64_kib_of_dns_terms_stops_at_the_limit() {
    let start = Instant::now();
    let (rec, terms) = big_spf(|i| format!("a:h{i}.example.com/24"), "-all");
    // The first names exist (so no void-lookup limit intervenes) and do not match.
    let mut records = vec![txt_at("example.com", &rec)];
    records.extend((0..20).map(|i| Record {
        name: format!("h{i}.example.com"),
        ttl: 300,
        data: RData::A([10, 0, 0, 1].into()),
    }));
    let out = evaluate(records, "192.0.2.1");
    // RFC 7208 §4.6.4: the 11th DNS term is a permerror; nothing after it is looked at.
    assert_eq!(out.result, SpfResult::PermError);
    assert_eq!(out.dns_lookups, 11);
    let nodes = out.trace.walk().len();
    assert!(
        nodes < 100,
        "{nodes} trace nodes for a record stopped at term 11 of {terms}"
    );
    eprintln!(
        "64 KiB SPF record, {terms} a terms: evaluated to permerror in {:?}",
        start.elapsed()
    );
}

#[test]
fn spf_domain_spec_of_64_kib_of_macros_is_truncated() {
    let start = Instant::now();
    // One exists term whose domain-spec is 16,300 %{s} macros: the expansion (about 260 KB)
    // is cut to 253 octets before the lookup (RFC 7208 §7.3).
    let spec = "%{s}".repeat(16_300);
    let rec = format!("v=spf1 exists:{spec}.example.com");
    assert!(rec.len() >= KIB_64 - 1024);
    spf::parse(&rec).expect("parses");
    let out = evaluate(vec![txt_at("example.com", &rec)], "192.0.2.1");
    // The truncated name does not exist: a void lookup, no match, the default result.
    assert_eq!(out.result, SpfResult::Neutral, "{:?}", out.problem);
    assert_eq!(out.dns_lookups, 1);
    eprintln!(
        "64 KiB domain-spec of macros: expanded, truncated and evaluated in {:?}",
        start.elapsed()
    );
}

#[test]
fn spf_64_kib_of_garbage_is_one_error() {
    for filler in ["x", "%", "a:", "ip4:1", "\u{202e}", "=", "/"] {
        let rec = format!("v=spf1 {}", filler.repeat(KIB_64 / filler.len()));
        let err = spf::parse(&rec).expect_err("garbage is an error");
        assert!(err.position <= rec.len());
        // The error names the offending term, but not all 64 KiB of it more than once.
        assert!(
            err.to_string().len() <= 2 * KIB_64 + 200,
            "{}",
            err.to_string().len()
        );
    }
}

#[test]
fn dmarc_record_of_10000_tags() {
    let start = Instant::now();
    let unknown: Vec<String> = (0..10_000).map(|i| format!("x{i}=v{i}")).collect();
    let rec = format!("v=DMARC1; p=reject; {}", unknown.join("; "));
    let parsed = dmarc::parse(&rec).expect("unknown tags are ignored, not fatal");
    assert_eq!(parsed.p, Some(dmarc::Policy::Reject));
    assert_eq!(parsed.unknown_tags.len(), 10_000);
    assert!(parsed.diagnostics.len() <= dmarc::MAX_DIAGNOSTICS + 1);
    for mode in [dmarc::DmarcMode::Rfc9989, dmarc::DmarcMode::Rfc7489] {
        let d = parsed.diagnostics_for(mode);
        assert!(
            d.len() <= 3 * (dmarc::MAX_DIAGNOSTICS + 1),
            "{} diagnostics under {mode}",
            d.len()
        );
    }

    // 10,000 repeats of p, and 10,000 malformed tag-specs: bounded diagnostics too.
    for filler in ["p=none", "p=quarantine", "1=2", "=", "p"] {
        let rec = format!("v=DMARC1; p=reject; {}", vec![filler; 10_000].join("; "));
        let parsed = dmarc::parse(&rec).expect("errors after v are discarded (RFC 9989 §4.8)");
        assert_eq!(parsed.p, Some(dmarc::Policy::Reject), "{filler}");
        for mode in [dmarc::DmarcMode::Rfc9989, dmarc::DmarcMode::Rfc7489] {
            let d = parsed.diagnostics_for(mode);
            assert!(
                d.len() <= 3 * (dmarc::MAX_DIAGNOSTICS + 1),
                "{filler}: {}",
                d.len()
            );
        }
    }
    eprintln!(
        "DMARC records of 10,000 tags (6 kinds): parsed in {:?}",
        start.elapsed()
    );
}

#[test]
fn dmarc_record_of_64_kib() {
    let rua: Vec<String> = (0..3000)
        .map(|i| format!("mailto:r{i}@example.com"))
        .collect();
    let rec = format!("v=DMARC1; p=none; rua={}", rua.join(","));
    assert!(rec.len() >= KIB_64);
    let parsed = dmarc::parse(&rec).expect("parses");
    assert_eq!(parsed.rua.len(), 3000);
    assert!(parsed.diagnostics.len() <= dmarc::MAX_DIAGNOSTICS + 1);
}

#[test]
fn taglist_of_10000_tags() {
    let start = Instant::now();
    let text: String = (0..10_000).map(|i| format!("t{i}=v{i};")).collect();
    assert_eq!(
        taglist::parse_tag_list(&text).expect("parses").len(),
        10_000
    );
    let same = "a=1;".repeat(10_000);
    assert_eq!(taglist::scan_tag_list(&same).tags.len(), 10_000);
    let dups = taglist::find_duplicates(&taglist::scan_tag_list(&same).tags, false);
    assert_eq!(dups.len(), 9_999);
    let bad = "1=2;".repeat(10_000);
    assert_eq!(taglist::scan_tag_list(&bad).errors.len(), 10_000);
    // One value of 64 KiB.
    let long = format!("a={}", "v".repeat(KIB_64));
    let tags = taglist::parse_tag_list(&long).expect("parses");
    assert_eq!(tags.first().map(|t| t.value.len()), Some(KIB_64));
    eprintln!(
        "tag-lists of 10,000 tags and of a 64 KiB value: in {:?}",
        start.elapsed()
    );
}

#[test]
fn zone_of_10000_records_and_a_64_kib_txt() {
    let start = Instant::now();
    let mut text = String::from("$ORIGIN example.com.\n$TTL 300\n");
    for i in 0..10_000 {
        text.push_str(&format!("h{i} A 192.0.2.{}\n", i % 256));
    }
    // One TXT record of 257 strings of 255 octets.
    let strings: Vec<String> = (0..257)
        .map(|_| format!("\"{}\"", "x".repeat(255)))
        .collect();
    text.push_str(&format!("big TXT ( {} )\n", strings.join("\n ")));
    let records = parse_zone(&text, None).expect("parses");
    assert_eq!(records.len(), 10_001);
    match &records.last().map(|r| &r.data) {
        Some(RData::Txt(parts)) => assert_eq!(parts.len(), 257),
        other => panic!("not the TXT record: {other:?}"),
    }
    eprintln!(
        "zone of 10,001 records (one TXT of 64 KiB): parsed in {:?}",
        start.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// The generators reach both sides
// ---------------------------------------------------------------------------------------------

/// How many of `n` values drawn (deterministically) from `strategy` satisfy `accept`.
fn accepted<S: Strategy>(strategy: S, n: u32, accept: impl Fn(&S::Value) -> bool) -> u32 {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    (0..n)
        .filter(|_| {
            let tree = strategy.new_tree(&mut runner).expect("a value");
            accept(&tree.current())
        })
        .count() as u32
}

/// The shaped generators give valid input often enough for the round trips to mean something,
/// and invalid input often enough for the error paths.
#[test]
fn generators_reach_valid_and_invalid_inputs() {
    let n = 500;
    let shares = [
        ("SPF", accepted(spf_like(), n, |r| spf::parse(r).is_ok())),
        (
            "DMARC",
            accepted(dmarc_like(), n, |r| dmarc::parse(r).is_ok()),
        ),
        (
            "tag-list",
            accepted(dmarc_like(), n, |r| taglist::parse_tag_list(r).is_ok()),
        ),
        (
            "zone",
            accepted(zone_like(), n, |z| parse_zone(z, None).is_ok()),
        ),
        (
            "macro",
            accepted(macro_text(), n, |m| {
                parse_macro_string(m, MacroContext::DomainSpec).is_ok()
            }),
        ),
        (
            "arguments",
            accepted(argv(), n, |argv| {
                Args::try_parse_from(argv).is_ok_and(|a| Plan::build(&a).is_ok())
            }),
        ),
    ];
    for (what, ok) in shares {
        eprintln!("{what}: {ok} of {n} generated inputs valid");
        assert!(
            ok >= n / 20 && ok <= n - n / 20,
            "{what}: {ok} of {n} valid"
        );
    }
}
