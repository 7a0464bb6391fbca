//! Replaying DMARC aggregate reports: every distinct sender the reports saw — (source IP,
//! header From domain, envelope From domain) — evaluated again as a receiver would, under
//! today's DNS ("now") and, when given, under proposed records (a second resolver, built apart,
//! as `diff` does), with the source's PTR name and the reporter's own results beside. A domain
//! owner sees, before moving from `p=none` to `p=reject`, which real senders would be
//! rejected. Sorted by message volume, largest first.
//!
//! What is replayed for a source: SPF for its MAIL FROM domain (`envelope_from`; when a
//! reporter leaves it out, the domain of its SPF `auth_results` entry, else the header From
//! domain, marked as assumed), DMARC for its header From domain, and the DKIM results the
//! reporter saw (`auth_results/dkim`, source `"report"`: without the message the signatures
//! cannot be verified again; DMARC re-judges their alignment under the policy found now).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::dns::{Answer, RData, RType, Resolver, reverse_name};
use crate::eval::dkim::{DkimAuth, DkimResult};
use crate::eval::dmarc::Disposition;
use crate::eval::spf::{Limits, SpfRequest};
use crate::record::dmarc::DmarcMode;
use crate::report::aggregate::{AggregateReport, InvalidRecord, Record};
use crate::verdict::{self, Outcome, Verdict, VerdictRequest};

/// How many sources are replayed at once (each runs its evaluations concurrently too).
pub const CONCURRENCY: usize = 16;

/// The most PTR names kept per source (the rest are counted, not shown).
pub const MAX_PTR_NAMES: usize = 5;

/// What the replay needs beyond the resolvers.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub mode: DmarcMode,
    /// `%{t}` for SPF macros.
    pub now: u64,
    /// The SPF limits, deadline included (per evaluation; the PTR query too).
    pub limits: Limits,
    /// Build evaluation traces (in the JSON `now` / `proposed` objects).
    pub trace: bool,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            mode: DmarcMode::Rfc9989,
            now: 0,
            limits: Limits::default(),
            trace: true,
        }
    }
}

/// Where the MAIL FROM domain replayed for SPF came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailFromSource {
    /// `identifiers/envelope_from`.
    EnvelopeFrom,
    /// The domain of the reporter's `auth_results/spf` entry.
    SpfAuthResult,
    /// Neither was reported: the header From domain, assumed.
    HeaderFrom,
}

/// The source's PTR name(s) (RFC 1035 §3.5), one query under the "now" resolver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Ptr {
    /// The names (at most [`MAX_PTR_NAMES`]).
    Names { names: Vec<String> },
    /// NXDOMAIN or NODATA: the address has no name.
    NoName,
    /// The query failed (never shown as "no name").
    DnsFailure { error: String },
}

/// One combination of what the reporter said about a source, with its message count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reported {
    pub disposition: Option<String>,
    pub dkim: Option<String>,
    pub spf: Option<String>,
    pub count: u64,
}

/// Where a row came from: the report (0-based position in the input) and the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RowRef {
    pub report: usize,
    pub record: usize,
}

/// One side's evaluation: the request replayed and the verdict.
#[derive(Debug, Clone)]
pub struct Side {
    pub request: VerdictRequest,
    pub verdict: Verdict,
}

impl Side {
    pub fn rejected(&self) -> bool {
        self.verdict.disposition == Disposition::Reject
    }

    fn dns_failed(&self) -> bool {
        self.verdict.outcome == Outcome::TempError
    }
}

/// One input file as read: its name (as the user gave it), the containers unwrapped and the
/// report; what renderers show under "reported".
#[derive(Debug, Clone)]
pub struct LoadedReport {
    pub name: String,
    pub containers: Vec<crate::report::archive::Container>,
    /// The zip member or attachment name the XML came from.
    pub member: Option<String>,
    pub report: AggregateReport,
}

/// One distinct source, replayed.
#[derive(Debug, Clone)]
pub struct SourceReplay {
    pub ip: IpAddr,
    pub header_from: String,
    pub envelope_from: Option<String>,
    pub mail_from_domain: String,
    pub mail_from_source: MailFromSource,
    /// Messages, summed over the source's rows (saturating).
    pub count: u64,
    pub rows: Vec<RowRef>,
    /// The reporter's results, most messages first.
    pub reported: Vec<Reported>,
    pub ptr: Ptr,
    pub now: Side,
    pub proposed: Option<Side>,
}

impl SourceReplay {
    /// Rejected under the proposal and not rejected now: the sender the user must look at.
    pub fn newly_rejected(&self) -> bool {
        self.proposed
            .as_ref()
            .is_some_and(|p| p.rejected() && !self.now.rejected() && !p.dns_failed())
    }

    /// Authenticated now and not under the proposal.
    pub fn loses_authentication(&self) -> bool {
        self.proposed.as_ref().is_some_and(|p| {
            self.now.verdict.outcome == Outcome::Authenticated
                && p.verdict.outcome != Outcome::Authenticated
                && !p.dns_failed()
        })
    }

    /// The side the exit code follows: the proposal when given, else now.
    pub fn deciding(&self) -> &Side {
        self.proposed.as_ref().unwrap_or(&self.now)
    }
}

/// A bad row of one report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidRow {
    pub report: usize,
    #[serde(flatten)]
    pub record: InvalidRecord,
}

/// Everything replayed.
#[derive(Debug, Clone)]
pub struct AggregateReplay {
    /// Most messages first (ties: IP, then header From, then envelope From).
    pub sources: Vec<SourceReplay>,
    pub invalid: Vec<InvalidRow>,
    pub messages: u64,
    pub proposed_given: bool,
}

impl AggregateReplay {
    /// Exit code as for single checks, over every source's deciding verdict (the proposal
    /// when given): 4 if any was a DNS failure, else 3 if any policy is broken, else 1 if any
    /// is not authenticated, else 0.
    pub fn exit_code(&self) -> i32 {
        let outcomes: Vec<Outcome> = self
            .sources
            .iter()
            .map(|s| s.deciding().verdict.outcome)
            .collect();
        if outcomes.contains(&Outcome::TempError) {
            4
        } else if outcomes.contains(&Outcome::PermError) {
            3
        } else if outcomes.contains(&Outcome::NotAuthenticated) {
            1
        } else {
            0
        }
    }
}

/// The MAIL FROM domain replayed for a row, and where it came from.
fn mail_from_of(r: &Record) -> (String, MailFromSource) {
    if let Some(e) = r.envelope_from.as_deref().filter(|e| !e.is_empty()) {
        // Some reporters write an address rather than a domain.
        let d = e.rsplit_once('@').map_or(e, |(_, d)| d);
        return (d.to_string(), MailFromSource::EnvelopeFrom);
    }
    let spf = r
        .spf_results
        .iter()
        .find(|s| s.scope.as_deref() != Some("helo") && !s.domain.is_empty())
        .or_else(|| r.spf_results.iter().find(|s| !s.domain.is_empty()));
    match spf {
        Some(s) => (s.domain.clone(), MailFromSource::SpfAuthResult),
        None => (r.header_from.clone(), MailFromSource::HeaderFrom),
    }
}

/// The reporter's DKIM results as DMARC inputs (RFC 7489 Appendix C `DKIMAuthResultType`);
/// entries without a domain or with an unknown result are left out.
fn reported_dkim(r: &Record) -> Vec<DkimResult> {
    let mut out: Vec<DkimResult> = Vec::new();
    for d in &r.dkim_results {
        let Some(result) = DkimAuth::from_name(&d.result) else {
            continue;
        };
        if d.domain.is_empty() {
            continue;
        }
        let entry = DkimResult {
            domain: d.domain.clone(),
            selector: d.selector.clone(),
            result,
            source: "report".to_string(),
            signature: None,
        };
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    out
}

/// A group of rows with the same source; the row with most messages speaks for it.
struct Group<'a> {
    ip: IpAddr,
    header_from: String,
    envelope_from: Option<String>,
    count: u64,
    rows: Vec<RowRef>,
    reported: Vec<Reported>,
    main: &'a Record,
}

fn group(reports: &[AggregateReport]) -> Vec<Group<'_>> {
    let mut index: HashMap<(IpAddr, String, Option<String>), usize> = HashMap::new();
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (ri, report) in reports.iter().enumerate() {
        for rec in &report.records {
            let envelope = rec.envelope_from.clone().filter(|e| !e.is_empty());
            let key = (rec.source_ip, rec.header_from.clone(), envelope.clone());
            let gi = *index.entry(key).or_insert_with(|| {
                groups.push(Group {
                    ip: rec.source_ip,
                    header_from: rec.header_from.clone(),
                    envelope_from: envelope,
                    count: 0,
                    rows: Vec::new(),
                    reported: Vec::new(),
                    main: rec,
                });
                groups.len() - 1
            });
            let Some(g) = groups.get_mut(gi) else {
                continue;
            };
            g.count = g.count.saturating_add(rec.count);
            g.rows.push(RowRef {
                report: ri,
                record: rec.index,
            });
            if rec.count > g.main.count {
                g.main = rec;
            }
            match g.reported.iter_mut().find(|r| {
                r.disposition == rec.disposition && r.dkim == rec.dkim && r.spf == rec.spf
            }) {
                Some(r) => r.count = r.count.saturating_add(rec.count),
                None => g.reported.push(Reported {
                    disposition: rec.disposition.clone(),
                    dkim: rec.dkim.clone(),
                    spf: rec.spf.clone(),
                    count: rec.count,
                }),
            }
        }
    }
    for g in &mut groups {
        g.reported.sort_by_key(|r| std::cmp::Reverse(r.count));
    }
    groups
}

/// The verdict request for a source: its IP, the MAIL FROM domain (assumed `postmaster@`),
/// the header From domain, the reported DKIM results.
fn request(g: &Group<'_>, mail_from: &str, opts: &ReplayOptions) -> VerdictRequest {
    let mut spf = SpfRequest::new(g.ip, &format!("postmaster@{mail_from}"), mail_from);
    spf.mail_from_assumed = true;
    spf.now = opts.now;
    spf.limits = opts.limits;
    spf.trace = opts.trace;
    VerdictRequest {
        spf,
        from_domain: g.header_from.clone(),
        from: None,
        dkim: reported_dkim(g.main),
        mode: opts.mode,
        pct_sample: 0,
        message: None,
    }
}

/// One PTR query for `ip` (bounded by the deadline when one is set).
async fn ptr(resolver: Arc<dyn Resolver>, ip: IpAddr, deadline: Option<Duration>) -> Ptr {
    let name = reverse_name(ip);
    let query = resolver.query(&name, RType::Ptr);
    let answer = match deadline {
        Some(d) => tokio::time::timeout(d, query)
            .await
            .unwrap_or(Answer::Timeout),
        None => query.await,
    };
    match answer {
        Answer::Records { data, .. } => {
            let names: Vec<String> = data
                .iter()
                .filter_map(|r| match r {
                    RData::Ptr(n) => Some(n.clone()),
                    _ => None,
                })
                .take(MAX_PTR_NAMES)
                .collect();
            if names.is_empty() {
                Ptr::NoName
            } else {
                Ptr::Names { names }
            }
        }
        Answer::NxDomain | Answer::NoData => Ptr::NoName,
        failure => Ptr::DnsFailure {
            error: failure.kind().to_string() + &failure.cause_suffix(),
        },
    }
}

/// Replays every distinct source of `reports` under `now` and, when given, `proposed`.
pub async fn replay_reports(
    reports: &[AggregateReport],
    now: Arc<dyn Resolver>,
    proposed: Option<Arc<dyn Resolver>>,
    opts: &ReplayOptions,
) -> AggregateReplay {
    let groups = group(reports);
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = JoinSet::new();
    let mut pending = Vec::with_capacity(groups.len());
    for (i, g) in groups.iter().enumerate() {
        // The rows of a group share their envelope From; without one, the main row's SPF
        // auth result names the domain.
        let (mail_from_domain, mail_from_source) = mail_from_of(g.main);
        let req = request(g, &mail_from_domain, opts);
        let (n, p, permits) = (now.clone(), proposed.clone(), permits.clone());
        let (ip, deadline) = (g.ip, opts.limits.deadline);
        let task_req = req.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.ok();
            let proposed_side = async {
                match p {
                    Some(p) => Some(verdict::evaluate(p, &task_req).await),
                    None => None,
                }
            };
            let (vn, vp, name) = tokio::join!(
                verdict::evaluate(n.clone(), &task_req),
                proposed_side,
                ptr(n, ip, deadline)
            );
            (i, vn, vp, name)
        });
        pending.push((req, mail_from_domain, mail_from_source));
    }
    let mut done = Vec::with_capacity(groups.len());
    while let Some(joined) = tasks.join_next().await {
        if let Ok(t) = joined {
            done.push(t);
        }
    }
    done.sort_by_key(|t| t.0);
    let mut sources = Vec::with_capacity(done.len());
    for (i, vn, vp, name) in done {
        let (Some(g), Some((req, mfd, mfs))) = (groups.get(i), pending.get(i)) else {
            continue;
        };
        sources.push(SourceReplay {
            ip: g.ip,
            header_from: g.header_from.clone(),
            envelope_from: g.envelope_from.clone(),
            mail_from_domain: mfd.clone(),
            mail_from_source: *mfs,
            count: g.count,
            rows: g.rows.clone(),
            reported: g.reported.clone(),
            ptr: name,
            now: Side {
                request: req.clone(),
                verdict: vn,
            },
            proposed: vp.map(|verdict| Side {
                request: req.clone(),
                verdict,
            }),
        });
    }
    sources.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.ip.cmp(&b.ip))
            .then_with(|| a.header_from.cmp(&b.header_from))
            .then_with(|| a.envelope_from.cmp(&b.envelope_from))
    });
    let invalid = reports
        .iter()
        .enumerate()
        .flat_map(|(ri, r)| {
            r.invalid.iter().map(move |rec| InvalidRow {
                report: ri,
                record: rec.clone(),
            })
        })
        .collect();
    let messages = sources
        .iter()
        .fold(0u64, |acc, s| acc.saturating_add(s.count));
    AggregateReplay {
        sources,
        invalid,
        messages,
        proposed_given: proposed.is_some(),
    }
}
