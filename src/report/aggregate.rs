//! DMARC aggregate reports (RFC 7489 Appendix C, RFC 9990 Appendix A): the XML read into a
//! typed model the replay drives. Elements are matched by local name, so both the namespace-
//! less RFC 7489 documents and RFC 9990's `urn:ietf:params:xml:ns:dmarc-2.0` ones are read;
//! unknown elements (extensions, vendor tags) are ignored. A record row that cannot be used
//! (a bad source IP, a missing count or header_from) is kept aside with its position and the
//! reason, and the rest of the report is still read. Whole-document problems — not UTF-8, a
//! DTD (and so any entity: roxmltree refuses DTDs), not well-formed, truncated, no `feedback`
//! root, no `policy_published/domain` — are one error.

use std::fmt;
use std::net::IpAddr;

use roxmltree::{Document, Node, ParsingOptions};
use serde::Serialize;

/// The most XML nodes one report may hold (elements, text, attributes): a cap on the DOM's
/// memory, far above a real report (about 40 nodes per record row).
pub const MAX_NODES: u32 = 4_000_000;

/// `report_metadata` (RFC 7489 Appendix C `ReportMetadataType`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Metadata {
    pub org_name: String,
    pub email: String,
    pub extra_contact_info: Option<String>,
    pub report_id: String,
    /// `date_range` begin and end, seconds since the epoch (UTC).
    pub date_begin: Option<u64>,
    pub date_end: Option<u64>,
    /// `error` elements, in order.
    pub errors: Vec<String>,
    /// RFC 9990 `generator`.
    pub generator: Option<String>,
}

/// `policy_published`: the DMARC record the reporter applied (values as written, lower-case).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyPublished {
    pub domain: String,
    pub adkim: Option<String>,
    pub aspf: Option<String>,
    pub p: Option<String>,
    pub sp: Option<String>,
    /// RFC 9990 `np`.
    pub np: Option<String>,
    /// RFC 7489 `pct`.
    pub pct: Option<u8>,
    /// RFC 9990 `testing` (`y` / `n`).
    pub testing: Option<String>,
    /// RFC 9990 `discovery_method` (`psl` / `treewalk`).
    pub discovery_method: Option<String>,
    pub fo: Option<String>,
}

/// A `reason` of `policy_evaluated` (`PolicyOverrideReason`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverrideReason {
    /// `forwarded`, `sampled_out`, `trusted_forwarder`, `mailing_list`, `local_policy`, `other`.
    #[serde(rename = "type")]
    pub kind: String,
    pub comment: Option<String>,
}

/// One `auth_results/dkim` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DkimAuthResult {
    pub domain: String,
    pub selector: Option<String>,
    pub result: String,
    pub human_result: Option<String>,
}

/// One `auth_results/spf` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpfAuthResult {
    pub domain: String,
    /// `helo` or `mfrom`; absent in many reports.
    pub scope: Option<String>,
    pub result: String,
    pub human_result: Option<String>,
}

/// One usable `record`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// 1-based position among the report's `record` elements.
    pub index: usize,
    /// 1-based line of the `record` element in the XML.
    pub line: u32,
    pub source_ip: IpAddr,
    pub count: u64,
    /// `policy_evaluated`: what the reporter did (`none`, `quarantine`, `reject`; RFC 9990 also
    /// `pass`), and its DMARC-aligned DKIM and SPF results (`pass` / `fail`).
    pub disposition: Option<String>,
    pub dkim: Option<String>,
    pub spf: Option<String>,
    pub reasons: Vec<OverrideReason>,
    /// `identifiers`: the RFC5322.From domain, the RFC5321.MailFrom domain (often missing or
    /// empty: reporters leave it out), the envelope recipient domain.
    pub header_from: String,
    pub envelope_from: Option<String>,
    pub envelope_to: Option<String>,
    pub dkim_results: Vec<DkimAuthResult>,
    pub spf_results: Vec<SpfAuthResult>,
}

/// A `record` that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidRecord {
    pub index: usize,
    pub line: u32,
    pub reason: String,
}

/// A whole aggregate report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AggregateReport {
    /// `version` as written (RFC 7489 has none; RFC 9990 says `1.0`).
    pub version: Option<String>,
    pub metadata: Metadata,
    pub policy: PolicyPublished,
    pub records: Vec<Record>,
    pub invalid: Vec<InvalidRecord>,
}

/// Why the document is not a readable aggregate report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReportError {
    /// Not UTF-8 (the only encoding RFC 7489 reports use in practice), at this byte offset.
    NotUtf8 { offset: usize },
    /// The XML is not well-formed, is cut off, or has a DTD (entities are refused with it).
    Xml(String),
    /// The root element is not `feedback`.
    NotFeedback(String),
    /// A required part is missing.
    Missing(&'static str),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::NotUtf8 { offset } => {
                write!(f, "the XML is not valid UTF-8 (at byte {offset})")
            }
            ReportError::Xml(e) => write!(f, "not a well-formed XML report: {e}"),
            ReportError::NotFeedback(root) => write!(
                f,
                "not a DMARC aggregate report: the root element is <{root}>, not <feedback>"
            ),
            ReportError::Missing(what) => write!(f, "not a DMARC aggregate report: no {what}"),
        }
    }
}

impl std::error::Error for ReportError {}

/// The element children of `node` named `name` (local name).
fn children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &'static str) -> Option<Node<'a, 'input>> {
    children(node, name).next()
}

/// The trimmed text of the first child `name`; `None` when absent or empty.
fn text(node: Node<'_, '_>, name: &'static str) -> Option<String> {
    let c = child(node, name)?;
    let t: String = c
        .descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect();
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn lower(node: Node<'_, '_>, name: &'static str) -> Option<String> {
    text(node, name).map(|t| t.to_ascii_lowercase())
}

/// Parses an aggregate report's XML.
pub fn parse(xml: &[u8]) -> Result<AggregateReport, ReportError> {
    let source = std::str::from_utf8(xml).map_err(|e| ReportError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let opts = ParsingOptions {
        // No DTD, hence no entity declarations or expansion (the billion-laughs class).
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        entity_resolver: None,
    };
    let doc =
        Document::parse_with_options(source, opts).map_err(|e| ReportError::Xml(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "feedback" {
        let name: String = root.tag_name().name().chars().take(64).collect();
        return Err(ReportError::NotFeedback(name));
    }
    let meta = child(root, "report_metadata").ok_or(ReportError::Missing("report_metadata"))?;
    let range = child(meta, "date_range");
    let metadata = Metadata {
        org_name: text(meta, "org_name").unwrap_or_default(),
        email: text(meta, "email").unwrap_or_default(),
        extra_contact_info: text(meta, "extra_contact_info"),
        report_id: text(meta, "report_id").unwrap_or_default(),
        date_begin: range
            .and_then(|r| text(r, "begin"))
            .and_then(|t| t.parse().ok()),
        date_end: range
            .and_then(|r| text(r, "end"))
            .and_then(|t| t.parse().ok()),
        errors: children(meta, "error")
            .filter_map(|e| e.text().map(|t| t.trim().to_string()))
            .collect(),
        generator: text(meta, "generator"),
    };
    let pol = child(root, "policy_published").ok_or(ReportError::Missing("policy_published"))?;
    let policy = PolicyPublished {
        domain: lower(pol, "domain").ok_or(ReportError::Missing("policy_published/domain"))?,
        adkim: lower(pol, "adkim"),
        aspf: lower(pol, "aspf"),
        p: lower(pol, "p"),
        sp: lower(pol, "sp"),
        np: lower(pol, "np"),
        pct: text(pol, "pct").and_then(|t| t.parse().ok()),
        testing: lower(pol, "testing"),
        discovery_method: lower(pol, "discovery_method"),
        fo: text(pol, "fo"),
    };
    let mut report = AggregateReport {
        version: text(root, "version"),
        metadata,
        policy,
        records: Vec::new(),
        invalid: Vec::new(),
    };
    // Lines counted forward from the previous record (records come in document order), so
    // that numbering every row costs one pass over the text, not one per row.
    let (mut at, mut line) = (0usize, 1u32);
    for (i, rec) in children(root, "record").enumerate() {
        let index = i + 1;
        let start = rec.range().start;
        let between = source.as_bytes().get(at..start).unwrap_or_default();
        let newlines = memchr::memchr_iter(b'\n', between).count();
        line = line.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        at = start.max(at);
        match record(rec, index, line) {
            Ok(r) => report.records.push(r),
            Err(reason) => report.invalid.push(InvalidRecord {
                index,
                line,
                reason,
            }),
        }
    }
    Ok(report)
}

/// One `record` (RFC 7489 Appendix C `RecordType`), or why it cannot be used.
fn record(rec: Node<'_, '_>, index: usize, line: u32) -> Result<Record, String> {
    let row = child(rec, "row").ok_or("no <row>")?;
    let ip_text = text(row, "source_ip").ok_or("no <source_ip>")?;
    let source_ip: IpAddr = ip_text.parse().map_err(|_| {
        let shown: String = ip_text.chars().take(64).collect();
        format!("<source_ip> {shown:?} is not an IP address")
    })?;
    let count_text = text(row, "count").ok_or("no <count>")?;
    let count: u64 = count_text.parse().map_err(|_| {
        let shown: String = count_text.chars().take(32).collect();
        format!("<count> {shown:?} is not a non-negative integer")
    })?;
    let pe = child(row, "policy_evaluated");
    let ids = child(rec, "identifiers").ok_or("no <identifiers>")?;
    let header_from = lower(ids, "header_from").ok_or("no <header_from>")?;
    let auth = child(rec, "auth_results");
    let dkim_results = auth
        .into_iter()
        .flat_map(|a| children(a, "dkim"))
        .map(|d| DkimAuthResult {
            domain: lower(d, "domain").unwrap_or_default(),
            selector: text(d, "selector"),
            result: lower(d, "result").unwrap_or_default(),
            human_result: text(d, "human_result"),
        })
        .collect();
    let spf_results = auth
        .into_iter()
        .flat_map(|a| children(a, "spf"))
        .map(|s| SpfAuthResult {
            domain: lower(s, "domain").unwrap_or_default(),
            scope: lower(s, "scope"),
            result: lower(s, "result").unwrap_or_default(),
            human_result: text(s, "human_result"),
        })
        .collect();
    Ok(Record {
        index,
        line,
        source_ip,
        count,
        disposition: pe.and_then(|p| lower(p, "disposition")),
        dkim: pe.and_then(|p| lower(p, "dkim")),
        spf: pe.and_then(|p| lower(p, "spf")),
        reasons: pe
            .into_iter()
            .flat_map(|p| children(p, "reason"))
            .map(|r| OverrideReason {
                kind: lower(r, "type").unwrap_or_default(),
                comment: text(r, "comment"),
            })
            .collect(),
        header_from,
        envelope_from: lower(ids, "envelope_from"),
        envelope_to: lower(ids, "envelope_to"),
        dkim_results,
        spf_results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"<feedback><report_metadata><org_name>o</org_name>
<report_id>1</report_id></report_metadata>
<policy_published><domain>Example.COM</domain><p>none</p></policy_published>
<record><row><source_ip>192.0.2.1</source_ip><count>3</count></row>
<identifiers><header_from>example.com</header_from></identifiers></record>
<record><row><source_ip>999.1.1.1</source_ip><count>1</count></row>
<identifiers><header_from>example.com</header_from></identifiers></record>
</feedback>"#;

    #[test]
    fn bad_row_is_reported_not_fatal() {
        let r = parse(MINIMAL.as_bytes()).unwrap();
        assert_eq!(r.policy.domain, "example.com");
        assert_eq!(r.records.len(), 1);
        assert_eq!(r.records[0].count, 3);
        assert_eq!(r.invalid.len(), 1);
        assert_eq!(r.invalid[0].index, 2);
        assert_eq!(r.invalid[0].line, 6);
        assert!(r.invalid[0].reason.contains("not an IP address"));
    }

    #[test]
    fn dtd_entities_utf8_truncation_are_errors() {
        let dtd = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><feedback>&lol;</feedback>"#;
        assert!(matches!(parse(dtd.as_bytes()), Err(ReportError::Xml(_))));
        assert_eq!(
            parse(b"<feedback>\xff</feedback>"),
            Err(ReportError::NotUtf8 { offset: 10 })
        );
        let cut = MINIMAL.get(..200).unwrap();
        assert!(matches!(parse(cut.as_bytes()), Err(ReportError::Xml(_))));
        assert!(matches!(
            parse(b"<html></html>"),
            Err(ReportError::NotFeedback(_))
        ));
    }
}
