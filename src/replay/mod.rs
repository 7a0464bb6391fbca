//! Replay what a receiver saw (`aggregate`: DMARC aggregate reports, one replay per source).
//! Here: from a failure report (`report::arf`) or a raw message to the
//! inputs of a check (the connecting IP, MAIL FROM, HELO, the header From and the original
//! message whose DKIM signatures are verified), the relay path the original's Received fields
//! show, and the receiver's claims; then, once `verdict::evaluate` has run over those inputs
//! (the CLI builds the request and the DNS stack), the agreement method by method and a
//! one-line conclusion.
//!
//! Claims (Authentication-Results, Received-SPF, ARC-Authentication-Results) are shown and
//! compared, NEVER used as inputs (RFC 8601 §5; the OpenDMARC CVE-2019-20790 class).

pub mod aggregate;

use std::net::IpAddr;
use std::sync::Arc;

use crate::eval::dkim::DkimAuth;
use crate::eval::dmarc::Disposition;
use crate::eval::spf::SpfResult;
use crate::message::Message;
use crate::message::auth_results::{self, AuthResults, Claim, ClaimField};
use crate::message::from::author;
use crate::message::received::{self, Hop};
use crate::report::arf::{FeedbackReport, OriginalKind};
use crate::verdict::Verdict;

/// What was replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Arf,
    Message,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Arf => "arf",
            Kind::Message => "message",
        }
    }
}

/// The user's overrides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `--ip`: the connecting IP, whatever the input says.
    pub ip: Option<IpAddr>,
    /// `--trusted-hop N`: the Nth Received field from the top (1 = topmost) is the one the
    /// receiver added; its client IP and HELO name are used.
    pub trusted_hop: Option<usize>,
}

/// Why a replay cannot run: one line for the user (exit 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayError(pub String);

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReplayError {}

/// The inputs of the check, each with where it came from. Strings are as found: the CLI
/// validates them as it validates its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    pub ip: IpAddr,
    pub ip_source: String,
    /// The envelope sender; `Some("")` is the null sender; `None`: not found.
    pub mail_from: Option<String>,
    pub mail_from_source: String,
    pub helo: Option<String>,
    pub helo_source: String,
    /// The header From address, when the original gives one.
    pub from: Option<String>,
    pub from_domain: Option<String>,
    pub from_source: String,
}

/// One hop of the relay path, origin first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayHop {
    pub by: Option<String>,
    pub from: Option<String>,
    pub ip: Option<IpAddr>,
    /// The hop whose client IP the receiver checked (and this replay checks).
    pub checked: bool,
    /// The reverse DNS name the receiving host recorded, `with`, `id` and the date.
    pub rdns: Option<String>,
    pub with: Option<String>,
    pub id: Option<String>,
    pub date: Option<String>,
}

/// A replay before evaluation.
#[derive(Debug, Clone)]
pub struct Replay {
    pub kind: Kind,
    /// The feedback report (ARF only).
    pub report: Option<FeedbackReport>,
    /// The receiver's results: the report's Authentication-Results fields (ARF), then every
    /// claim in the original's header, top first.
    pub claims: Vec<Claim>,
    pub inputs: Inputs,
    pub relay_path: Vec<RelayHop>,
    /// Said when the checked IP is a relay rather than the origin, or appears in no hop.
    pub relay_note: Option<String>,
    /// The checked IP is a relay: a public client IP lower in the chain differs from it.
    pub checked_is_relay: bool,
    /// The original message, when its body is present (its DKIM signatures are verified).
    pub message: Option<Arc<Message<'static>>>,
    /// Remarks: inputs not found, parts not readable.
    pub notes: Vec<String>,
}

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    pub method: String,
    /// What the receiver reported (`None`: not reported).
    pub reported: Option<String>,
    /// What spfcheck finds now (`None`: not evaluated by spfcheck).
    pub now: Option<String>,
    /// Whether they agree (`None`: nothing to compare).
    pub agree: Option<bool>,
    pub why: String,
}

/// The address inside `<...>` (or the text), trimmed; `<>` is the null sender.
fn unbracket(s: &str) -> String {
    let t = s.trim();
    let t = match (t.find('<'), t.rfind('>')) {
        (Some(a), Some(b)) if a < b => t.get(a + 1..b).unwrap_or(t),
        _ => t,
    };
    t.trim().to_string()
}

/// Whether an envelope sender is usable: the null sender, or `local@domain` with a domain of
/// letters, digits, '-', '_' and dots (RFC 5321 §4.1.2; a pasted or obfuscated value is not).
fn is_address(m: &str) -> bool {
    m.is_empty()
        || m.rsplit_once('@').is_some_and(|(l, d)| {
            !l.is_empty()
                && !d.is_empty()
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
}

/// The domain of an address (after the last `@`).
fn domain_of(addr: &str) -> Option<String> {
    addr.rsplit_once('@')
        .map(|(_, d)| d.trim().to_string())
        .filter(|d| !d.is_empty())
}

/// A HELO name worth checking: a host name, not an address literal or "localhost".
fn usable_helo(h: &str) -> bool {
    h.contains('.') && h.parse::<IpAddr>().is_err() && !h.starts_with('[')
}

/// Whether an IP is on the public Internet (not loopback, private, link-local, documentation
/// ranges are kept: tests and examples use them).
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified())
        }
        IpAddr::V6(v6) => {
            let first = v6.segments().first().copied().unwrap_or(0);
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

impl Replay {
    /// A replay of a feedback report: Source-IP and Original-Mail-From first, the original's
    /// header as fallback (RFC 6591 §3.1 makes both optional).
    pub fn from_arf(mut report: FeedbackReport, opts: Options) -> Result<Replay, ReplayError> {
        let mut notes = Vec::new();
        // The original's bytes move into the message (the report keeps how it was attached).
        let original = match report.original.as_mut() {
            Some((kind, bytes)) => match Message::from_vec(std::mem::take(bytes)) {
                Ok(m) => Some((*kind, Arc::new(m))),
                Err(e) => {
                    notes.push(format!("the attached original cannot be read: {e}"));
                    None
                }
            },
            None => None,
        };
        // The original usually carries the same Authentication-Results as the report (and a
        // plain-text report may paste it twice): each claim is shown once.
        let mut claims: Vec<Claim> = Vec::new();
        let from_report = report
            .authentication_results
            .iter()
            .take(auth_results::MAX_RESULTS)
            .map(|v| auth_results::claim(ClaimField::AuthenticationResults, v));
        let from_original = original
            .as_ref()
            .map(|(_, m)| auth_results::claims(m))
            .unwrap_or_default();
        for c in from_report.chain(from_original) {
            if !claims
                .iter()
                .any(|k| k.field == c.field && k.parsed == c.parsed)
            {
                claims.push(c);
            }
        }
        let hops = original
            .as_ref()
            .map(|(_, m)| received::chain(m))
            .unwrap_or_default();
        let source_ip = report
            .source_ip
            .as_deref()
            .and_then(|s| s.trim().parse::<IpAddr>().ok());
        if report.source_ip.is_some() && source_ip.is_none() {
            notes.push("the report's Source-IP is not an IP address".into());
        }
        let reported_ip = source_ip.map(|ip| (ip, "the report's Source-IP".to_string()));
        let (ip, ip_source, checked) = choose_ip(&hops, opts, reported_ip)?;
        let mut mail_from = None;
        if let Some(m) = report.original_mail_from.as_deref() {
            let m = unbracket(m);
            if is_address(&m) {
                mail_from = Some((m, "the report's Original-Mail-From".to_string()));
            } else {
                notes.push(format!(
                    "the report's Original-Mail-From {m:?} is not an address: not used"
                ));
            }
        }
        if mail_from.is_none()
            && let Some((_, m)) = &original
        {
            mail_from = return_path(m);
        }
        let (from, from_domain, from_source) = match &original {
            Some((_, m)) => match author(m) {
                Ok(a) => (
                    Some(a.address),
                    Some(a.domain),
                    "the original's From".to_string(),
                ),
                Err(e) => {
                    notes.push(format!("the original's From: {e}"));
                    fallback_from(&report, mail_from.as_ref())
                }
            },
            None => fallback_from(&report, mail_from.as_ref()),
        };
        let message = original.and_then(|(kind, m)| {
            if kind == OriginalKind::Message && !m.body().is_empty() {
                Some(m)
            } else {
                notes.push(
                    "the original's body is not attached: its DKIM signatures are not verified"
                        .into(),
                );
                None
            }
        });
        Ok(Self::assemble(
            Kind::Arf,
            Some(report),
            claims,
            hops,
            (ip, ip_source, checked),
            mail_from,
            (from, from_domain, from_source),
            message,
            notes,
        ))
    }

    /// A replay of a raw message as received: the IP and HELO from the topmost Received field
    /// with a client IP (or `--trusted-hop`), MAIL FROM from Return-Path, From from the header.
    pub fn from_message(msg: Message<'static>, opts: Options) -> Result<Replay, ReplayError> {
        let mut notes = Vec::new();
        let claims = auth_results::claims(&msg);
        let hops = received::chain(&msg);
        let (ip, ip_source, checked) = choose_ip(&hops, opts, None)?;
        let mail_from = return_path(&msg);
        let (from, from_domain, from_source) = match author(&msg) {
            Ok(a) => (
                Some(a.address),
                Some(a.domain),
                "the message's From".to_string(),
            ),
            Err(e) => {
                notes.push(format!("{e}"));
                (None, None, "not found".to_string())
            }
        };
        let message = Some(Arc::new(msg));
        Ok(Self::assemble(
            Kind::Message,
            None,
            claims,
            hops,
            (ip, ip_source, checked),
            mail_from,
            (from, from_domain, from_source),
            message,
            notes,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        kind: Kind,
        report: Option<FeedbackReport>,
        claims: Vec<Claim>,
        hops: Vec<Hop>,
        (ip, ip_source, checked): (IpAddr, String, Option<usize>),
        mail_from: Option<(String, String)>,
        (from, from_domain, from_source): (Option<String>, Option<String>, String),
        message: Option<Arc<Message<'static>>>,
        mut notes: Vec<String>,
    ) -> Replay {
        let helo = checked
            .and_then(|i| hops.get(i))
            .and_then(|h| h.from.clone())
            .filter(|h| usable_helo(h));
        let helo_source = match (&helo, checked) {
            (Some(_), Some(i)) => format!("Received field {} from the top", i + 1),
            _ => "not found".to_string(),
        };
        if mail_from.is_none() {
            notes.push("no envelope sender (Original-Mail-From, Return-Path) found".into());
        }
        let (mail_from, mail_from_source) = match mail_from {
            Some((m, s)) => (Some(m), s),
            None => (None, "not found".to_string()),
        };
        let (relay_note, checked_is_relay) = relay_note(&hops, ip, checked);
        // Origin first: the bottom Received field was added first.
        let relay_path = hops
            .iter()
            .enumerate()
            .rev()
            .map(|(i, h)| RelayHop {
                by: h.by.clone(),
                from: h.from.clone(),
                ip: h.ip,
                checked: Some(i) == checked,
                rdns: h.from_rdns.clone(),
                with: h.with.clone(),
                id: h.id.clone(),
                date: h.date.clone(),
            })
            .collect();
        Replay {
            kind,
            report,
            claims,
            inputs: Inputs {
                ip,
                ip_source,
                mail_from,
                mail_from_source,
                helo,
                helo_source,
                from,
                from_domain,
                from_source,
            },
            relay_path,
            relay_note,
            checked_is_relay,
            message,
            notes,
        }
    }

    /// The receiver's results compared with: the report's own Authentication-Results (ARF), or
    /// else the topmost claim. `None` when there is none.
    pub fn reported(&self) -> Option<&Claim> {
        self.claims
            .iter()
            .find(|c| c.field == ClaimField::AuthenticationResults)
            .or_else(|| self.claims.first())
    }

    /// The agreement, method by method: spf, dkim and dmarc always, then every other method
    /// the receiver reported (kept, not evaluated).
    pub fn agreement(&self, verdict: &Verdict) -> Vec<Agreement> {
        let reported: Option<&AuthResults> = self.reported().map(|c| &c.parsed);
        let results = reported.map(|r| r.results.as_slice()).unwrap_or_default();
        // RFC 6591 §3.2 Auth-Failure names the method that failed: `spf`, `dmarc`, or a DKIM
        // failure (`bodyhash`, `revoked`, `signature`); it stands for "fail" when the report's
        // Authentication-Results do not give that method.
        let failed_method = self
            .report
            .as_ref()
            .and_then(|r| r.auth_failure.as_deref())
            .map(|a| match a {
                "bodyhash" | "revoked" | "signature" => "dkim",
                other => other,
            });
        let first = |m: &str| {
            results
                .iter()
                .find(|r| r.method == m)
                .map(|r| r.result.clone())
                .or_else(|| (failed_method == Some(m)).then(|| "fail".to_string()))
        };
        let mut rows = Vec::new();
        let ip = self.inputs.ip;
        // SPF (RFC 7208 §2.6 result words).
        let spf_now = verdict.spf.result;
        let spf_why = match (spf_now, &verdict.spf.mechanism) {
            (SpfResult::Pass, Some(m)) => format!("{ip} is authorised ({m} matched)"),
            (SpfResult::Fail | SpfResult::SoftFail, Some(m)) => {
                format!("{ip} is not in the policy ({m} matched)")
            }
            _ => verdict
                .spf
                .problem
                .as_ref()
                .map(|p| p.message.clone())
                .unwrap_or_else(|| format!("{} for {ip}", spf_now.as_str())),
        };
        rows.push(row(
            "spf",
            first("spf"),
            Some(spf_now.as_str().into()),
            spf_why,
        ));
        // DKIM: the best verified result (any pass counts, RFC 6376 §6.1), none without one.
        let dkim_now = if verdict.dkim.iter().any(|d| d.result == DkimAuth::Pass) {
            DkimAuth::Pass
        } else {
            verdict.dkim.first().map_or(DkimAuth::None, |d| d.result)
        };
        let dkim_why = match verdict.dkim.first() {
            None if self.message.is_none() => {
                "no message body to verify: no signature evaluated".to_string()
            }
            None => "the message carries no DKIM-Signature".to_string(),
            Some(d) => format!(
                "{} signature(s); d={}{}",
                verdict.dkim.len(),
                d.domain,
                d.signature
                    .as_ref()
                    .map(|s| format!(": {}", s.reason))
                    .unwrap_or_default()
            ),
        };
        rows.push(row(
            "dkim",
            first("dkim"),
            Some(dkim_now.as_str().into()),
            dkim_why,
        ));
        let dmarc = &verdict.dmarc;
        rows.push(row(
            "dmarc",
            first("dmarc"),
            Some(dmarc.result.as_str().into()),
            dmarc.reason.clone(),
        ));
        for r in results {
            if matches!(r.method.as_str(), "spf" | "dkim" | "dmarc") {
                continue;
            }
            rows.push(Agreement {
                method: r.method.clone(),
                reported: Some(r.result.clone()),
                now: None,
                agree: None,
                why: "not evaluated by spfcheck".into(),
            });
        }
        rows
    }

    /// One line: which results are reproduced or differ, and the disposition now.
    pub fn conclusion(&self, verdict: &Verdict, rows: &[Agreement], spf_domain: &str) -> String {
        let mut parts = Vec::new();
        for r in rows
            .iter()
            .filter(|r| matches!(r.method.as_str(), "spf" | "dkim" | "dmarc"))
        {
            let (Some(rep), Some(now)) = (&r.reported, &r.now) else {
                continue;
            };
            let m = r.method.to_ascii_uppercase();
            let mut s = if r.agree == Some(true) {
                format!("{m} {now} reproduced")
            } else {
                format!("{m} differs: reported {rep}, now {now}")
            };
            if r.method == "spf" {
                let ip = self.inputs.ip;
                match verdict.spf.result {
                    SpfResult::Fail | SpfResult::SoftFail => {
                        s.push_str(&format!(": {ip} is not in {spf_domain}'s policy"))
                    }
                    SpfResult::Pass => s.push_str(&format!(": {ip} is in {spf_domain}'s policy")),
                    _ => {}
                }
            }
            parts.push(s);
        }
        if parts.is_empty() {
            parts.push(format!(
                "nothing reported to compare; now SPF {}, DMARC {}",
                verdict.spf.result.as_str(),
                verdict.dmarc.result.as_str()
            ));
        }
        let dmarc_now = rows
            .iter()
            .find(|r| r.method == "dmarc" && r.reported.is_none())
            .map(|_| format!("DMARC {} now", verdict.dmarc.result.as_str()));
        if let Some(d) = dmarc_now {
            parts.push(d);
        }
        let disposition = match verdict.disposition {
            Disposition::None => "deliver".to_string(),
            d => d.as_str().to_string(),
        };
        let mut line = parts.join("; ");
        line.push_str(&format!("; the policy says {disposition}"));
        if let Some(dr) = self
            .report
            .as_ref()
            .and_then(|r| r.delivery_result.as_ref())
        {
            line.push_str(&format!(" (the receiver reports delivery result {dr})"));
        }
        if self.checked_is_relay {
            line.push_str(&format!("; {} was a relay, not the origin", self.inputs.ip));
        }
        line
    }
}

fn row(method: &str, reported: Option<String>, now: Option<String>, why: String) -> Agreement {
    let agree = match (&reported, &now) {
        (Some(r), Some(n)) => Some(r.eq_ignore_ascii_case(n)),
        _ => None,
    };
    Agreement {
        method: method.into(),
        reported,
        now,
        agree,
        why,
    }
}

/// MAIL FROM from the topmost Return-Path (RFC 5321 §4.4: the last delivering server writes
/// it from the envelope).
fn return_path(m: &Message) -> Option<(String, String)> {
    m.values("Return-Path")
        .next()
        .map(|v| unbracket(&String::from_utf8_lossy(v)))
        .filter(|v| is_address(v))
        .map(|v| (v, "the Return-Path field".to_string()))
}

/// The From domain when the original gives none: Reported-Domain, then the MAIL FROM domain.
fn fallback_from(
    report: &FeedbackReport,
    mail_from: Option<&(String, String)>,
) -> (Option<String>, Option<String>, String) {
    if let Some(d) = report.reported_domain.first() {
        return (None, Some(d.clone()), "the report's Reported-Domain".into());
    }
    match mail_from.and_then(|(m, _)| domain_of(m)) {
        Some(d) => (None, Some(d), "the envelope sender's domain".into()),
        None => (None, None, "not found".into()),
    }
}

/// The IP to check, where it came from, and the index (top first) of the hop checked.
fn choose_ip(
    hops: &[Hop],
    opts: Options,
    reported: Option<(IpAddr, String)>,
) -> Result<(IpAddr, String, Option<usize>), ReplayError> {
    if let Some(n) = opts.trusted_hop {
        let hop = n
            .checked_sub(1)
            .and_then(|i| hops.get(i).map(|h| (i, h)))
            .ok_or_else(|| {
                ReplayError(format!(
                    "--trusted-hop {n}: the message has {} Received field(s)",
                    hops.len()
                ))
            })?;
        let (i, h) = hop;
        if let Some(ip) = opts.ip {
            return Ok((ip, "--ip".into(), Some(i)));
        }
        return match h.ip {
            Some(ip) => Ok((
                ip,
                format!("Received field {n} from the top, --trusted-hop"),
                Some(i),
            )),
            None => Err(ReplayError(format!(
                "--trusted-hop {n}: that Received field records no client IP: give --ip"
            ))),
        };
    }
    let matching = |ip: IpAddr| hops.iter().position(|h| h.ip == Some(ip));
    if let Some(ip) = opts.ip {
        return Ok((ip, "--ip".into(), matching(ip)));
    }
    if let Some((ip, source)) = reported {
        return Ok((ip, source, matching(ip)));
    }
    // The topmost hop with a public client IP: hops the receiving side adds after it (a
    // content filter on 127.0.0.1, an internal relay) are not where the message came in.
    let public = hops
        .iter()
        .enumerate()
        .find_map(|(i, h)| h.ip.filter(|ip| is_public(*ip)).map(|ip| (i, ip)));
    let any = || {
        hops.iter()
            .enumerate()
            .find_map(|(i, h)| h.ip.map(|ip| (i, ip)))
    };
    match public.or_else(any) {
        Some((i, ip)) => {
            let skipped = if i > 0 && public.is_some() {
                " (the topmost with a public client IP)"
            } else {
                ""
            };
            Ok((
                ip,
                format!("Received field {} from the top{skipped}", i + 1),
                Some(i),
            ))
        }
        None => Err(no_ip()),
    }
}

fn no_ip() -> ReplayError {
    ReplayError(
        "no connecting IP: no Source-IP and no Received field with a client IP (give --ip)".into(),
    )
}

/// A note when the checked IP is a relay (a public client IP lower in the chain differs), or
/// appears in no Received field.
fn relay_note(hops: &[Hop], ip: IpAddr, checked: Option<usize>) -> (Option<String>, bool) {
    let Some(i) = checked else {
        if hops.is_empty() {
            return (None, false);
        }
        return (
            Some(format!("{ip} appears in no Received field of the original")),
            false,
        );
    };
    let Some((origin, origin_ip)) = hops
        .iter()
        .skip(i + 1)
        .rev()
        .find_map(|h| h.ip.filter(|o| is_public(*o) && *o != ip).map(|o| (h, o)))
    else {
        return (None, false);
    };
    let by = hops.get(i).and_then(|h| h.from.clone()).unwrap_or_default();
    let note = format!(
        "{ip} is a relay, not the origin: the message entered at {origin_ip}{} and was relayed by {}; the receiver checked the relay",
        origin
            .from
            .as_ref()
            .map(|h| format!(" (HELO {h})"))
            .unwrap_or_default(),
        if by.is_empty() {
            ip.to_string()
        } else {
            format!("{by} [{ip}]")
        }
    );
    (Some(note), true)
}

/// The relay path in one line, origin first: public client IPs and the final receiver
/// (`81.142.190.59 → dain.r-pl.co.uk [81.142.190.61] → BAY004-MC1F36.hotmail.com`).
pub fn path_line(path: &[RelayHop]) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for h in path {
        let Some(ip) = h.ip.filter(|ip| is_public(*ip) || h.checked) else {
            continue;
        };
        if parts.is_empty() {
            parts.push(ip.to_string());
        } else {
            parts.push(match &h.from {
                Some(f) => format!("{f} [{ip}]"),
                None => format!("[{ip}]"),
            });
        }
    }
    let last_by = path.last().and_then(|h| h.by.clone())?;
    if parts.is_empty() {
        return None;
    }
    parts.push(last_by);
    Some(parts.join(" → "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(from: &str, ip: &str, by: &str) -> Hop {
        Hop {
            from: Some(from.into()),
            ip: ip.parse().ok(),
            by: Some(by.into()),
            ..Hop::default()
        }
    }

    #[test]
    fn addresses() {
        assert!(is_address("a@b.example"));
        assert!(is_address(""));
        assert!(!is_address("[email protected]"));
        assert!(!is_address("a@"));
        assert!(!is_address("@b.example"));
        assert_eq!(unbracket(" <a@b.example> "), "a@b.example");
        assert_eq!(unbracket("<>"), "");
        assert_eq!(domain_of("x@y.example").as_deref(), Some("y.example"));
    }

    #[test]
    fn the_checked_hop_skips_internal_hops() {
        // Top first: a content filter on the receiver, then the receiver's MX hop, then the
        // sender's submission hop.
        let hops = vec![
            hop("localhost", "127.0.0.1", "mx.receiver.example"),
            hop("relay.example", "198.51.100.7", "localhost"),
            hop("laptop", "203.0.113.5", "relay.example"),
        ];
        let (ip, source, checked) = choose_ip(&hops, Options::default(), None).unwrap();
        assert_eq!(ip, "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(checked, Some(1));
        assert!(source.contains("public"), "{source}");
        let (note, relay) = relay_note(&hops, ip, checked);
        assert!(relay);
        assert!(note.unwrap().contains("203.0.113.5"));
        let hop2 = Options {
            trusted_hop: Some(3),
            ..Options::default()
        };
        assert_eq!(choose_ip(&hops, hop2, None).unwrap().2, Some(2));
        let none: Vec<Hop> = vec![Hop::default()];
        assert!(choose_ip(&none, Options::default(), None).is_err());
    }

    #[test]
    fn path_line_origin_first() {
        let path = vec![
            RelayHop {
                by: Some("relay.example".into()),
                from: Some("laptop".into()),
                ip: "203.0.113.5".parse().ok(),
                checked: false,
                rdns: None,
                with: None,
                id: None,
                date: None,
            },
            RelayHop {
                by: Some("localhost".into()),
                from: Some("relay.example".into()),
                ip: "127.0.0.1".parse().ok(),
                checked: false,
                rdns: None,
                with: None,
                id: None,
                date: None,
            },
            RelayHop {
                by: Some("mx.example".into()),
                from: Some("relay.example".into()),
                ip: "198.51.100.7".parse().ok(),
                checked: true,
                rdns: None,
                with: None,
                id: None,
                date: None,
            },
        ];
        assert_eq!(
            path_line(&path).unwrap(),
            "203.0.113.5 → relay.example [198.51.100.7] → mx.example"
        );
        assert_eq!(path_line(&[]), None);
    }
}
