//! The `spfcheck replay FILE...` subcommand: replay what a receiver saw. Each FILE is told
//! apart by `report::input_kind` (a failure report, a raw message, or an aggregate report) and
//! read by the input layer; `replay` extracts the check's inputs; the check runs over the same
//! DNS stack as `spfcheck DOMAIN IP` (`plan::build_dns`), and `render::replay` shows what was
//! reported beside what is found now. The exit code is the single check's, of the replayed
//! verdict (the worst over several files); 2 when a file is no supported kind.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use clap::Parser;

use super::args::{ColorChoice, DEADLINE_RANGE, DmarcChoice, DnsArgs, TIMEOUT_RANGE, TextOrJson};
use super::plan::{
    DnsOptions, InputError, build_dns, load_zones, now_or_clock, parse_domain, parse_identity,
    seconds,
};
use super::replay_aggregate;
use super::{error_line, exit, exit_code, parse_args};
use crate::dns::Resolver;
use crate::dns::overlay::{Overlay, ZoneData};
use crate::eval::spf::{Limits, SpfRequest};
use crate::message::Message;
use crate::record::dmarc::DmarcMode;
use crate::render::CheckView;
use crate::render::replay::{ReplayView, json, text};
use crate::render::style;
use crate::replay::aggregate::{LoadedReport, ReplayOptions};
use crate::replay::{Options, Replay};
use crate::report::arf::{self, MAX_REPORT_BYTES};
use crate::report::{InputKind, input_kind};
use crate::verdict::{self, VerdictRequest};

const REPLAY_AFTER_HELP: &str = "\
Each FILE is a failure report (RFC 5965 ARF, RFC 6591, RFC 9991; plain-text reports with the
fields and the original's header pasted in are read too) or a raw message as received. At most
32 MiB each. The receiver's Authentication-Results, Received-SPF and ARC-Authentication-Results
are shown as claims beside what spfcheck finds now, never used as inputs.

Inputs: the connecting IP is the report's Source-IP, or the client IP of the topmost Received
field that records a public one (--trusted-hop N picks the Nth from the top, --ip overrides both);
MAIL FROM is Original-Mail-From or Return-Path; HELO the checked Received field's `from`; the
From domain the original's From (else Reported-Domain). The original's DKIM signatures are
verified when its body is attached.

Aggregate reports (RFC 7489 Appendix C, RFC 9990: XML, .xml.gz, .zip, or an email carrying
one; at most 50 MiB decompressed) are replayed together: one table of every distinct source,
by volume, under today's DNS and under the proposal. The proposal is --proposed ZONE...; without
it and without --offline, --zone is the proposal and today's DNS is live DNS (or --nameserver),
as in `spfcheck replay reports/*.xml --zone proposed.zone`.

Exit codes (of the replayed verdict, as for a single check; the worst over several files):
  0  authenticated now
  1  not authenticated now
  2  usage or input error: a FILE unreadable, too large, empty, or no supported kind
  3  permerror now
  4  temperror now (a DNS failure)

Examples:
  spfcheck replay testdata/seed/hotmail-auth-failure-report.eml --zone testdata/seed/seed.zone --offline
  spfcheck replay suspicious.eml --trusted-hop 2
  spfcheck replay suspicious.eml --ip 192.0.2.7 --json
  spfcheck replay reports/*.xml reports/*.zip --zone proposed.zone";

/// `spfcheck replay`: replay failure reports and raw messages.
#[derive(Debug, Parser)]
#[command(
    name = "spfcheck replay",
    about = "Replay what a receiver saw: a failure report (ARF) or a raw message, re-evaluated now and compared with what the receiver reported",
    after_help = REPLAY_AFTER_HELP
)]
pub struct ReplayArgs {
    /// Failure reports or raw messages (`-` reads standard input).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<OsString>,

    /// The connecting IP to check, whatever the file says.
    #[arg(long, value_name = "IP")]
    pub ip: Option<String>,

    /// The Received field (1 = topmost) the receiver added: its client IP and HELO are used.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub trusted_hop: Option<u32>,

    /// The time DKIM t=/x= are judged at and %{t}: seconds since the epoch or RFC 3339;
    /// defaults to now.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,

    /// Which DMARC receivers to imitate.
    #[arg(long, value_enum, default_value = "rfc9989", value_name = "MODE")]
    pub dmarc: DmarcChoice,

    /// Where answers come from: --nameserver, --timeout, --zone, --offline, --fault.
    #[command(flatten)]
    pub dns: DnsArgs,

    /// Aggregate reports only: zone files with proposed records, answered over the DNS the
    /// check uses (names in them replace those below); each source is replayed under both.
    #[arg(long, value_name = "ZONE")]
    pub proposed: Vec<OsString>,

    /// Deadline in seconds for each check (0.1 to 600).
    #[arg(
        long,
        value_name = "SECS",
        default_value = "20",
        allow_negative_numbers = true
    )]
    pub deadline: f64,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,

    /// Shorthand for --format json.
    #[arg(long)]
    pub json: bool,

    /// When to color text output (NO_COLOR in the environment also turns it off).
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    pub color: ColorChoice,
}

/// Runs `spfcheck replay ...`; `argv` starts with the name `spfcheck replay`.
pub fn run(argv: Vec<OsString>) -> i32 {
    let args = match parse_args::<ReplayArgs>(argv, "spfcheck replay --help") {
        Ok(a) => a,
        Err(code) => return code,
    };
    match replay_all(&args) {
        Ok(code) => code,
        Err(e) => {
            error_line(&e.to_string());
            exit::USAGE
        }
    }
}

/// The shared settings of every file's check.
struct Setup {
    resolver: Arc<dyn Resolver>,
    /// Aggregate reports: the DNS of "now" and of the proposal (see the help).
    aggregate_now: Arc<dyn Resolver>,
    aggregate_proposed: Option<Arc<dyn Resolver>>,
    runtime: tokio::runtime::Runtime,
    opts: Options,
    now: u64,
    deadline: std::time::Duration,
    mode: DmarcMode,
    json: bool,
    color: bool,
}

fn replay_all(args: &ReplayArgs) -> Result<i32, InputError> {
    let ip = match &args.ip {
        Some(s) => Some(s.trim().parse::<IpAddr>().map_err(|_| {
            InputError(format!(
                "--ip {}: not an IP address (expected IPv4 or IPv6)",
                crate::render::escape::echo(s)
            ))
        })?),
        None => None,
    };
    let now = now_or_clock(args.now.as_deref())?;
    let timeout = seconds(args.dns.timeout, "--timeout", TIMEOUT_RANGE)?;
    let deadline = seconds(args.deadline, "--deadline", DEADLINE_RANGE)?;
    let zone = load_zones(&args.dns.zone)?;
    let dns = DnsOptions {
        offline: args.dns.offline,
        nameserver: &args.dns.nameserver,
        fault: &args.dns.fault,
    };
    let has_zone = !args.dns.zone.is_empty();
    // Aggregate reports: `--zone` is the proposal when neither --proposed nor --offline is
    // given (the issue's `replay reports/*.xml --zone proposed.zone`); today's DNS is then
    // the stack without it.
    let zone_is_proposal = args.proposed.is_empty() && !args.dns.offline && has_zone;
    let (aggregate_now, aggregate_proposed) = if zone_is_proposal {
        let (now, _) = build_dns(&dns, ZoneData::new(), false, Vec::new(), timeout)?;
        let proposal: Arc<dyn Resolver> = Arc::new(Overlay::new(zone.clone(), Some(now.clone())));
        (Some(now), Some(proposal))
    } else {
        (None, None)
    };
    let (resolver, _faults) = build_dns(&dns, zone, has_zone, Vec::new(), timeout)?;
    let (aggregate_now, aggregate_proposed) = match (aggregate_now, aggregate_proposed) {
        (Some(now), proposal) => (now, proposal),
        (None, _) if args.proposed.is_empty() => (resolver.clone(), None),
        (None, _) => {
            let proposal: Arc<dyn Resolver> = Arc::new(Overlay::new(
                load_zones(&args.proposed)?,
                Some(resolver.clone()),
            ));
            (resolver.clone(), Some(proposal))
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| InputError(format!("cannot start the async runtime: {e}")))?;
    let setup = Setup {
        resolver,
        aggregate_now,
        aggregate_proposed,
        runtime,
        opts: Options {
            ip: ip.map(|i| i.to_canonical()),
            trusted_hop: args.trusted_hop.and_then(|n| usize::try_from(n).ok()),
        },
        now,
        deadline,
        mode: match args.dmarc {
            DmarcChoice::Rfc9989 => DmarcMode::Rfc9989,
            DmarcChoice::Rfc7489 => DmarcMode::Rfc7489,
        },
        json: args.json || args.format == TextOrJson::Json,
        color: args.color.enabled(),
    };
    let mut worst = exit::PASS;
    let mut aggregates: Vec<LoadedReport> = Vec::new();
    let mut written = false;
    for path in &args.files {
        let code = match replay_file(&setup, Path::new(path), written) {
            Ok(Replayed::Written(code)) => {
                written = true;
                code
            }
            Ok(Replayed::Aggregate(report)) => {
                aggregates.push(*report);
                exit::PASS
            }
            Err(e) => {
                error_line(&e.to_string());
                exit::USAGE
            }
        };
        worst = worse(worst, code);
    }
    if aggregates.is_empty() && !args.proposed.is_empty() {
        error_line("--proposed applies to aggregate reports, and none was given");
        worst = worse(worst, exit::USAGE);
    }
    if !aggregates.is_empty() {
        // Every aggregate report given, as one table of distinct sources by volume.
        let opts = ReplayOptions {
            mode: setup.mode,
            now: setup.now,
            limits: Limits {
                deadline: Some(setup.deadline),
                ..Limits::default()
            },
            trace: setup.json,
        };
        let mut rendered: Vec<u8> = Vec::new();
        if written && !setup.json {
            rendered.push(b'\n');
        }
        let code = setup.runtime.block_on(replay_aggregate::run_loaded(
            &aggregates,
            setup.aggregate_now.clone(),
            setup.aggregate_proposed.clone(),
            &opts,
            setup.json,
            &mut rendered,
        ));
        let code = match code.and_then(|code| write_out(&rendered).map(|()| code)) {
            Ok(code) => code,
            Err(e) => {
                error_line(&e);
                exit::USAGE
            }
        };
        worst = worse(worst, code);
    }
    Ok(worst)
}

/// The more severe of two exit codes: input error, temperror, permerror, not authenticated,
/// pass.
fn worse(a: i32, b: i32) -> i32 {
    let rank = |c: i32| match c {
        exit::USAGE => 4,
        exit::TEMPERROR => 3,
        exit::PERMERROR => 2,
        exit::NOT_AUTHENTICATED => 1,
        _ => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Reads `path` (`-`: standard input) within [`MAX_REPORT_BYTES`]; only a regular file.
pub(crate) fn read_input(path: &Path) -> Result<(String, Vec<u8>), InputError> {
    let shown = if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        format!("{:?}", path.to_string_lossy())
    };
    let fail = |e: std::io::Error| InputError(format!("{shown}: cannot read: {e}"));
    let mut buf = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_REPORT_BYTES.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(fail)?;
    } else {
        let file = std::fs::File::open(path).map_err(fail)?;
        let meta = file.metadata().map_err(fail)?;
        if !meta.is_file() {
            return Err(InputError(format!(
                "{shown}: is not a regular file: give a report or message file, or - for standard input"
            )));
        }
        if meta.len() > MAX_REPORT_BYTES {
            return Err(too_large(&shown));
        }
        file.take(MAX_REPORT_BYTES.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(fail)?;
    }
    if buf.len() as u64 > MAX_REPORT_BYTES {
        return Err(too_large(&shown));
    }
    Ok((shown, buf))
}

fn too_large(shown: &str) -> InputError {
    InputError(format!(
        "{shown}: larger than {MAX_REPORT_BYTES} bytes (32 MiB), the most a report or message may hold: refused"
    ))
}

/// What one file came to.
enum Replayed {
    /// A failure report or message, replayed and written: its exit code.
    Written(i32),
    /// An aggregate report, read: replayed with the others once all files are read.
    Aggregate(Box<LoadedReport>),
}

/// Writes to standard output (a closed pipe is not an error).
fn write_out(bytes: &[u8]) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|_| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write output: {e}"))
        }
        _ => Ok(()),
    }
}

/// Replays one file and writes its report (or reads an aggregate report for later).
fn replay_file(setup: &Setup, path: &Path, separate: bool) -> Result<Replayed, InputError> {
    let (shown, bytes) = read_input(path)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(InputError(format!(
            "{shown}: empty: not a failure report, message or aggregate report"
        )));
    }
    let replay = match input_kind(&bytes) {
        // The one place aggregate reports are dispatched (RFC 7489 Appendix C, RFC 9990:
        // XML, .xml.gz, .zip, or an email carrying one).
        InputKind::Aggregate => {
            let name = if path.as_os_str() == "-" {
                "standard input".to_string()
            } else {
                path.to_string_lossy().into_owned()
            };
            return replay_aggregate::load_bytes(name, &bytes)
                .map(|r| Replayed::Aggregate(Box::new(r)))
                .map_err(InputError);
        }
        InputKind::Arf => {
            let report = arf::parse(&bytes)
                .map_err(|e| InputError(format!("{shown}: not a failure report: {e}")))?;
            // The report holds what it needs: the file's bytes are released before the check.
            drop(bytes);
            Replay::from_arf(report, setup.opts)
        }
        InputKind::Message => {
            let msg = Message::from_vec(bytes).map_err(|e| {
                InputError(format!(
                    "{shown}: not a failure report, message or aggregate report: {e}"
                ))
            })?;
            Replay::from_message(msg, setup.opts)
        }
    }
    .map_err(|e| InputError(format!("{shown}: {e}")))?;
    let request = request(setup, &replay).map_err(|e| InputError(format!("{shown}: {e}")))?;
    let verdict = setup
        .runtime
        .block_on(verdict::evaluate(setup.resolver.clone(), &request));
    let agreement = replay.agreement(&verdict);
    let conclusion = replay.conclusion(&verdict, &agreement, &request.spf.domain);
    let view = ReplayView {
        replay: &replay,
        check: CheckView {
            request: &request,
            verdict: &verdict,
        },
        agreement: &agreement,
        conclusion: &conclusion,
    };
    let mut out = if setup.json {
        json(&view) + "\n"
    } else {
        style::with_color(setup.color, || text(&view))
    };
    if separate && !setup.json {
        out.insert(0, '\n');
    }
    write_out(out.as_bytes()).map_err(InputError)?;
    Ok(Replayed::Written(exit_code(verdict.outcome)))
}

/// The check's request from the replay's inputs, validated as the check's arguments are.
fn request(setup: &Setup, replay: &Replay) -> Result<VerdictRequest, InputError> {
    let i = &replay.inputs;
    let from_domain = match &i.from_domain {
        Some(d) => parse_domain(d, "the From domain")?,
        None => {
            return Err(InputError(
                "no From domain: the original's From, Reported-Domain and the envelope sender are all missing".into(),
            ));
        }
    };
    let mail_from = match &i.mail_from {
        Some(m) => parse_identity(m, "the envelope sender")?,
        None => format!("postmaster@{from_domain}"),
    };
    let helo = match &i.helo {
        Some(h) => parse_identity(h, "the HELO name")?,
        None => mail_from
            .rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| from_domain.clone()),
    };
    let mut spf = SpfRequest::new(i.ip, &mail_from, &helo);
    spf.mail_from_assumed = i.mail_from.is_none();
    spf.now = setup.now;
    spf.limits = Limits {
        deadline: Some(setup.deadline),
        ..Limits::default()
    };
    Ok(VerdictRequest {
        spf,
        from_domain,
        from: i.from.clone(),
        dkim: Vec::new(),
        mode: setup.mode,
        pct_sample: 0,
        message: replay.message.clone(),
    })
}
