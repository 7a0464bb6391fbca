//! The DKIM key audit: fetch `SELECTOR._domainkey.DOMAIN` TXT through the recorded DNS stack
//! (so every query is in the trace) and judge each key a verifier would find there, with typed
//! findings. Used by `spfcheck dkim`; the signature verifier reads keys through the same
//! parser (`record::dkim_key`) but judges them itself.
//!
//! Decisions (each noted where it is implemented):
//! - Several TXT records at one selector: an error (RFC 6376 §3.6.2.2 expects one key record;
//!   which one a verifier uses is unspecified). Each record is still audited.
//! - The CNAME chain is the one the DNS backend followed to the TXT answer
//!   ([`crate::dns::Response::cname_chain`]): one query per selector.
//! - A "wrong split": the strings of one TXT record are joined with no separator (RFC 6376
//!   §3.6.2.2). Splitting inside the base64 or anywhere else is harmless; it is wrong when the
//!   joined text is unusable but putting `; ` where a string starts a tag would make a usable
//!   key (the publisher expected a separator, e.g. `"v=DKIM1" "k=rsa; p=..."`). Reported as
//!   an error, since verifiers see the joined text.
//! - A revoked key (empty `p=`) is a warning: revoking is deliberate, but the selector signs
//!   nothing. Exit codes count it as not unusable.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::diag::{Diagnostic, Severity};
use crate::dns::{RData, RType, Resolver};
use crate::eval::lookup::Lookup;
use crate::eval::trace::{Event, Node};
use crate::record::dkim_key::{DkimKey, KeyErrorKind, KeyType, parse_key, rsa_components};

/// CNAME hops shown (as the DNS backends follow at most this many).
pub const MAX_CNAME_HOPS: usize = 8;

/// The selectors tried when none is named: common providers' defaults. Selectors cannot be
/// listed from DNS, so discovery can miss any other.
pub const COMMON_SELECTORS: &[&str] = &[
    // Microsoft 365
    "selector1",
    "selector2",
    // Google Workspace
    "google",
    // Mailchimp / Mandrill
    "k1",
    "k2",
    "k3",
    "mandrill",
    // Amazon SES (custom MAIL FROM setups; Easy DKIM uses random tokens)
    "amazonses",
    // SendGrid
    "s1",
    "s2",
    "smtpapi",
    // Zoho
    "zoho",
    "zmail",
    // Mailgun
    "mailo",
    "krs",
    "mg",
    "smtp",
    // Proton
    "protonmail",
    "protonmail2",
    "protonmail3",
    // Fastmail
    "fm1",
    "fm2",
    "fm3",
    // Postmark, Salesforce, HubSpot and others
    "pm",
    "sf1",
    "sf2",
    "hs1",
    "hs2",
    // Generic names
    "default",
    "dkim",
    "mail",
    "email",
    "key1",
    "key2",
];

/// Stable codes of the audit findings (besides the parser's `dkim-key-unknown-*` and
/// `dkim-key-invalid-value`).
pub mod code {
    /// No key at a named selector (NXDOMAIN or NODATA).
    pub const NO_KEY: &str = "dkim-key-missing";
    /// A DNS failure fetching the key: temperror.
    pub const TEMPERROR: &str = "dkim-key-temperror";
    /// A TXT record that is not a DKIM key record.
    pub const NOT_KEY_RECORD: &str = "dkim-key-not-key-record";
    /// A key record with broken syntax (v not first, no p=).
    pub const SYNTAX: &str = "dkim-key-syntax";
    /// p= is not base64.
    pub const BAD_BASE64: &str = "dkim-key-bad-base64";
    /// p= decodes but is not a public key of the type k= names.
    pub const NOT_PUBLIC_KEY: &str = "dkim-key-not-public-key";
    /// An ed25519 key that is not 32 bytes (RFC 8463 §4.2).
    pub const ED25519_LENGTH: &str = "dkim-key-ed25519-length";
    /// RSA modulus under 1024 bits (RFC 8301 §3.2: verifiers MUST NOT use it).
    pub const RSA_TOO_SHORT: &str = "dkim-key-rsa-too-short";
    /// RSA modulus of 1024 to 2047 bits: weak (RFC 8301 §3.2: signers SHOULD use 2048).
    pub const RSA_WEAK: &str = "dkim-key-rsa-weak";
    /// h= allows only sha1 (RFC 8301 §3.1: verifiers MUST NOT accept rsa-sha1).
    pub const SHA1_ONLY: &str = "dkim-key-sha1-only";
    /// h= names no hash algorithm a verifier knows.
    pub const NO_USABLE_HASH: &str = "dkim-key-no-usable-hash";
    /// k= names an unknown key type.
    pub const UNKNOWN_KEY_TYPE: &str = "dkim-key-unknown-type";
    /// s= excludes email.
    pub const SERVICE: &str = "dkim-key-service";
    /// t=y left on.
    pub const TESTING: &str = "dkim-key-testing";
    /// t=s: i= must equal d= exactly.
    pub const STRICT_IDENTITY: &str = "dkim-key-strict-identity";
    /// p= empty: revoked.
    pub const REVOKED: &str = "dkim-key-revoked";
    /// Several TXT records at one selector.
    pub const MULTIPLE_RECORDS: &str = "dkim-key-multiple-records";
    /// The strings of the TXT record join into something different from what was meant.
    pub const SPLIT_STRINGS: &str = "dkim-key-split-strings";
}

/// Whether a key was found at a selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A TXT record was found (it may still be unusable: see the findings).
    Found,
    /// NXDOMAIN or NODATA: no key at this selector.
    Missing,
    /// A DNS failure: unknown.
    TempError,
}

/// The audit of one TXT record at one selector (or of the selector's absence / failure).
#[derive(Debug, Clone, Serialize)]
pub struct KeyAudit {
    pub selector: String,
    /// `SELECTOR._domainkey.DOMAIN`.
    pub name: String,
    pub status: Status,
    /// The names from `name` to the final target when CNAMEs lead there (empty without CNAME).
    pub cname_chain: Vec<String>,
    /// The TXT record's strings joined (None when none was found).
    pub record: Option<String>,
    /// `rsa`, `ed25519` or the unknown `k=` value.
    pub algorithm: Option<String>,
    /// RSA modulus size read from the key; 256 for a well-formed ed25519 key.
    pub key_bits: Option<u32>,
    pub testing: bool,
    pub revoked: bool,
    pub strict_identity: bool,
    /// `h=` (None: any).
    pub hash_algs: Option<Vec<String>>,
    pub services: Vec<String>,
    pub findings: Vec<Diagnostic>,
    /// True when no finding is an error and the key is not revoked.
    pub usable: bool,
    pub trace: Node,
}

impl KeyAudit {
    fn new(selector: &str, name: &str, status: Status, trace: Node) -> KeyAudit {
        KeyAudit {
            selector: selector.to_string(),
            name: name.to_string(),
            status,
            cname_chain: Vec::new(),
            record: None,
            algorithm: None,
            key_bits: None,
            testing: false,
            revoked: false,
            strict_identity: false,
            hash_algs: None,
            services: Vec::new(),
            findings: Vec::new(),
            usable: false,
            trace,
        }
    }

    /// True if a finding is an error.
    pub fn has_error(&self) -> bool {
        self.findings.iter().any(|d| d.severity == Severity::Error)
    }
}

/// Audits `selectors` of `domain` concurrently; one or more entries per selector, in the order
/// of `selectors`. With `keep_missing` false, selectors without a key are left out (discovery).
pub async fn audit(
    resolver: Arc<dyn Resolver>,
    domain: &str,
    selectors: &[String],
    keep_missing: bool,
    deadline: Option<Duration>,
) -> Vec<KeyAudit> {
    let until = deadline.map(|d| Instant::now() + d);
    let mut set = tokio::task::JoinSet::new();
    for (i, sel) in selectors.iter().enumerate() {
        let resolver = resolver.clone();
        let sel = sel.clone();
        let domain = domain.to_string();
        set.spawn(async move { (i, audit_selector(resolver, &domain, &sel, until).await) });
    }
    let mut results: Vec<(usize, Vec<KeyAudit>)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        // A task only fails if it panicked, which the audit never does; skip it then.
        if let Ok(r) = joined {
            results.push(r);
        }
    }
    results.sort_by_key(|(i, _)| *i);
    results
        .into_iter()
        .flat_map(|(_, v)| v)
        .filter(|a| keep_missing || a.status != Status::Missing)
        .collect()
}

/// Fetches and audits one selector.
pub async fn audit_selector(
    resolver: Arc<dyn Resolver>,
    domain: &str,
    selector: &str,
    deadline: Option<Instant>,
) -> Vec<KeyAudit> {
    let name = format!("{selector}._domainkey.{domain}");
    let mut lookup = Lookup::until(resolver, deadline);
    let mut trace = Node::new(Event::Step {
        title: format!("DKIM key {name}"),
    });
    // RFC 6376 §3.6.2.2: the key is in a TXT record at SELECTOR._domainkey.DOMAIN.
    // The backends follow CNAME chains (how Microsoft 365 and most ESPs publish keys) and
    // return the chain with the answer: one query per selector.
    let response = lookup.query_detailed(&name, RType::Txt, &mut trace).await;
    let answer = response.answer;
    if answer.is_failure() {
        let mut a = KeyAudit::new(selector, &name, Status::TempError, trace);
        a.findings.push(Diagnostic::error(
            code::TEMPERROR,
            "RFC 6376 §6.1.2",
            format!(
                "the DNS query for the key failed ({}{}): temperror, the key is unknown",
                answer.kind(),
                answer.cause_suffix()
            ),
        ));
        return vec![a];
    }
    let chain = response.cname_chain;
    let txts: Vec<&Vec<Vec<u8>>> = answer
        .records()
        .iter()
        .filter_map(|r| match r {
            RData::Txt(parts) => Some(parts),
            _ => None,
        })
        .collect();
    if txts.is_empty() {
        let mut a = KeyAudit::new(selector, &name, Status::Missing, trace);
        a.cname_chain = chain;
        a.findings.push(Diagnostic::error(
            code::NO_KEY,
            "RFC 6376 §6.1.2",
            format!(
                "no key at this selector ({}): signatures with s={selector} fail (permerror, no key)",
                answer.kind()
            ),
        ));
        return vec![a];
    }
    let several = txts.len() > 1;
    let mut out = Vec::new();
    for (k, parts) in txts.iter().enumerate() {
        // Only the first audit carries the trace.
        let t = if k == 0 {
            trace.clone()
        } else {
            Node::new(Event::Note {
                text: format!("record {} of {} at {name}", k + 1, txts.len()),
            })
        };
        let mut a = KeyAudit::new(selector, &name, Status::Found, t);
        a.cname_chain = chain.clone();
        if several {
            a.findings.push(Diagnostic::error(
                code::MULTIPLE_RECORDS,
                "RFC 6376 §3.6.2.2",
                format!(
                    "{} TXT records at this selector: a verifier may use any one of them \
                     (publish exactly one key record per selector)",
                    txts.len()
                ),
            ));
        }
        audit_record(&mut a, parts);
        out.push(a);
    }
    if several && out.iter().all(|a| a.has_error_besides_multiple()) {
        // A key cut into several records (some DNS consoles do that) reads as separate
        // non-keys; say whether joining them would have made a key.
        let joined: String = txts
            .iter()
            .map(|p| String::from_utf8_lossy(&p.concat()).into_owned())
            .collect();
        if parse_key(&joined).is_ok()
            && let Some(first) = out.first_mut()
        {
            first.findings.push(Diagnostic::error(
                code::SPLIT_STRINGS,
                "RFC 6376 §3.6.2.2",
                "the records together form a key: it was published as several TXT records \
                 instead of several strings of one TXT record",
            ));
        }
    }
    trace_findings(&mut out);
    out
}

impl KeyAudit {
    fn has_error_besides_multiple(&self) -> bool {
        self.findings
            .iter()
            .any(|d| d.severity == Severity::Error && d.code != code::MULTIPLE_RECORDS)
    }
}

/// Adds each audit's findings to its trace, so the trace tells the whole story.
fn trace_findings(audits: &mut [KeyAudit]) {
    for a in audits {
        let findings = a.findings.clone();
        for f in findings {
            a.trace.push(Event::Diagnostic(f));
        }
    }
}

/// Audits one TXT record (its strings as published).
fn audit_record(a: &mut KeyAudit, parts: &[Vec<u8>]) {
    let text = String::from_utf8_lossy(&parts.concat()).into_owned();
    a.record = Some(text.clone());
    match parse_key(&text) {
        Ok(key) => judge_key(a, &key),
        Err(e) => {
            let (c, msg) = match &e.kind {
                KeyErrorKind::TagList(_) | KeyErrorKind::WrongVersion(_) => {
                    (code::NOT_KEY_RECORD, e.kind.to_string())
                }
                KeyErrorKind::InvalidBase64(_) => (code::BAD_BASE64, e.kind.to_string()),
                _ => (code::SYNTAX, e.kind.to_string()),
            };
            a.findings.push(
                Diagnostic::error(c, "RFC 6376 §3.6.1", format!("{msg}; the key is unusable"))
                    .at(e.position),
            );
            // A separator the publisher expected between strings (see the module notes).
            if parts.len() > 1 {
                let strings: Vec<String> = parts
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
                if parse_key(&rejoin_at_tag_starts(&strings)).is_ok() {
                    a.findings.push(Diagnostic::error(
                        code::SPLIT_STRINGS,
                        "RFC 6376 §3.6.2.2",
                        "the record's strings are joined with no separator (RFC 6376 §3.6.2.2), which \
                         runs a tag into the one before it at a string boundary; with \"; \" \
                         there it would be a valid key (end each string with \";\" or split \
                         inside the p= value)",
                    ));
                }
            }
        }
    }
    a.usable = !a.has_error() && !a.revoked;
}

/// The strings joined, with `"; "` inserted at each boundary where the next string starts a
/// tag (`name=`) and the previous one does not end with `;`: what the publisher meant when
/// they expected a separator between strings.
fn rejoin_at_tag_starts(strings: &[String]) -> String {
    let starts_tag = |s: &str| {
        let s = s.trim_start();
        let name_len = s
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && s.get(name_len..)
                .is_some_and(|r| r.trim_start().starts_with('='))
    };
    let mut out = String::new();
    for (i, s) in strings.iter().enumerate() {
        if i > 0 && starts_tag(s) && !out.trim_end().ends_with(';') {
            out.push_str("; ");
        }
        out.push_str(s);
    }
    out
}

/// The findings on a parsed key.
fn judge_key(a: &mut KeyAudit, key: &DkimKey) {
    a.algorithm = Some(key.key_type.to_string());
    a.testing = key.testing();
    a.revoked = key.is_revoked();
    a.strict_identity = key.strict_identity();
    a.hash_algs = key.hash_algs.clone();
    a.services = key.services.clone();
    a.findings.extend(key.diagnostics.iter().cloned());
    if key.is_revoked() {
        a.findings.push(
            Diagnostic::new(
                code::REVOKED,
                Severity::Warning,
                "RFC 6376 §3.6.1",
                "p= is empty: the key is revoked, signatures with this selector fail",
            )
            .with_tag("p"),
        );
    } else {
        match &key.key_type {
            KeyType::Rsa => match rsa_modulus_bits(&key.public_key) {
                Ok(bits) => {
                    a.key_bits = Some(bits);
                    if bits < 1024 {
                        a.findings.push(
                            Diagnostic::error(
                                code::RSA_TOO_SHORT,
                                "RFC 8301 §3.2",
                                format!(
                                    "RSA key of {bits} bits: verifiers MUST NOT accept keys \
                                     under 1024 bits (RFC 8301 §3.2); the key is unusable"
                                ),
                            )
                            .with_tag("p"),
                        );
                    } else if bits < 2048 {
                        a.findings.push(
                            Diagnostic::new(
                                code::RSA_WEAK,
                                Severity::Warning,
                                "RFC 8301 §3.2",
                                format!(
                                    "RSA key of {bits} bits: weak, signers SHOULD use at \
                                     least 2048 bits (RFC 8301 §3.2)"
                                ),
                            )
                            .with_tag("p"),
                        );
                    }
                }
                Err(why) => a.findings.push(
                    Diagnostic::error(
                        code::NOT_PUBLIC_KEY,
                        "RFC 6376 §3.6.1",
                        format!(
                            "p= is not an RSA public key ({why}); the key is unusable \
                             (RFC 6376 §3.6.1: SubjectPublicKeyInfo or RSAPublicKey DER)"
                        ),
                    )
                    .with_tag("p"),
                ),
            },
            KeyType::Ed25519 => {
                // RFC 8463 §4.2: p= is the 32-byte raw public key, not DER.
                let n = key.public_key.len();
                if n == 32 {
                    a.key_bits = Some(256);
                } else {
                    let hint = if n == 44 {
                        " (44 bytes looks like a SubjectPublicKeyInfo: publish only the last 32 bytes)"
                    } else {
                        ""
                    };
                    a.findings.push(
                        Diagnostic::error(
                            code::ED25519_LENGTH,
                            "RFC 8463 §4.2",
                            format!("ed25519 key of {n} bytes, not 32{hint}; the key is unusable"),
                        )
                        .with_tag("p"),
                    );
                }
            }
            KeyType::Other(t) => a.findings.push(
                Diagnostic::error(
                    code::UNKNOWN_KEY_TYPE,
                    "RFC 6376 §6.1.2",
                    format!(
                        "k={t} is not a key type verifiers know (rsa, ed25519): the key is \
                         unusable"
                    ),
                )
                .with_tag("k"),
            ),
        }
    }
    if let Some(h) = &key.hash_algs
        && !h.iter().any(|x| x == "sha256")
    {
        if h.iter().any(|x| x == "sha1") {
            a.findings.push(
                Diagnostic::error(
                    code::SHA1_ONLY,
                    "RFC 8301 §3.1",
                    "h= allows only sha1, which verifiers MUST NOT accept (RFC 8301 §3.1): \
                     the key is unusable; allow sha256 or remove h=",
                )
                .with_tag("h"),
            );
        } else {
            a.findings.push(
                Diagnostic::error(
                    code::NO_USABLE_HASH,
                    "RFC 6376 §3.6.1",
                    "h= names no hash algorithm verifiers know (sha256): the key is unusable",
                )
                .with_tag("h"),
            );
        }
    }
    if !key.allows_service("email") {
        a.findings.push(
            Diagnostic::error(
                code::SERVICE,
                "RFC 6376 §3.6.1",
                format!(
                    "s={} does not include email or *: the key cannot verify mail",
                    key.services.join(":")
                ),
            )
            .with_tag("s"),
        );
    }
    if key.testing() {
        a.findings.push(
            Diagnostic::new(
                code::TESTING,
                Severity::Warning,
                "RFC 6376 §3.6.1",
                "t=y: the domain is testing DKIM; verifiers MUST NOT treat signed mail \
                 differently from unsigned mail, so remove t=y once signing works",
            )
            .with_tag("t"),
        );
    }
    if key.strict_identity() {
        a.findings.push(
            Diagnostic::new(
                code::STRICT_IDENTITY,
                Severity::Info,
                "RFC 6376 §3.6.1",
                "t=s: the i= domain of signatures must equal d= exactly (no subdomains)",
            )
            .with_tag("t"),
        );
    }
}

/// The RSA modulus size in bits, from a SubjectPublicKeyInfo or a bare PKCS#1 RSAPublicKey
/// (both occur in DNS). DER parsing by the `spki` and `pkcs1` crates.
pub fn rsa_modulus_bits(der: &[u8]) -> Result<u32, String> {
    let (modulus, _) = rsa_components(der)?;
    let top = modulus.first().copied().unwrap_or(0);
    let bits = (modulus.len() as u64) * 8 - u64::from(top.leading_zeros());
    u32::try_from(bits).map_err(|_| "the modulus is too large".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn b64(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }

    #[test]
    fn modulus_bits_from_both_forms() {
        // 512-bit SubjectPublicKeyInfo (RFC 6376 Appendix C style example key).
        let spki = b64(
            "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBALbO3ERgfIJcJjzN9bJLRD4Wq+5DkIHHMchNHb+wpM7J1CjF2dKg9ICp9XT3+6XAo7xGzuK6ypp1CyFeoXtGg7UCAwEAAQ==",
        );
        assert_eq!(rsa_modulus_bits(&spki), Ok(512));
        // The same key as a bare RSAPublicKey: the SPKI's last 74 bytes.
        let pkcs1 = &spki[spki.len() - 74..];
        assert_eq!(rsa_modulus_bits(pkcs1), Ok(512));
        assert!(rsa_modulus_bits(b"not a key").is_err());
        assert!(rsa_modulus_bits(&[]).is_err());
        assert!(rsa_modulus_bits(&spki[..40]).is_err());
    }

    #[test]
    fn rejoin_inserts_a_separator_only_where_a_string_starts_a_tag() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            rejoin_at_tag_starts(&s(&["v=DKIM1", "k=rsa"])),
            "v=DKIM1; k=rsa"
        );
        assert_eq!(
            rejoin_at_tag_starts(&s(&["v=DKIM1;", "k=rsa"])),
            "v=DKIM1;k=rsa"
        );
        assert_eq!(rejoin_at_tag_starts(&s(&["p=MIIB", "AQAB"])), "p=MIIBAQAB");
        assert_eq!(rejoin_at_tag_starts(&s(&["k=r", "sa"])), "k=rsa");
        assert_eq!(rejoin_at_tag_starts(&s(&[])), "");
    }
}
