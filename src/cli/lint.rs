//! The `spfcheck lint DOMAIN...` subcommand: audit what domains publish (SPF, DMARC, MX, and
//! DKIM keys for given selectors) for CI gates. `cli::run` sends here when the first argument
//! is `lint`. Domains are audited concurrently (at most [`MAX_CONCURRENT`] at once), each under
//! its own deadline, over the same DNS stack as a check (`plan::build_dns`); the zone files
//! are read with the line of each record so findings point at it (text, JSON, SARIF).

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use super::args::{ColorChoice, DEADLINE_RANGE, DnsArgs, TIMEOUT_RANGE};
use super::plan::{DnsOptions, InputError, build_dns, parse_domain, seconds};
use super::{error_line, exit, parse_args};
use crate::diag::{Diagnostic, Severity};
use crate::dns::overlay::ZoneData;
use crate::dns::zone::parse_zone_file_located;
use crate::lint::{DomainLint, Finding, LintOptions, ZoneLines, lint_domain};
use crate::render::escape::{clip_to, terminal_safe};
use crate::render::lint::{render_json, render_sarif, render_text};
use crate::render::style;

/// Most domains audited at once.
pub const MAX_CONCURRENT: usize = 16;

/// Most domains on one command line.
pub const MAX_DOMAINS: usize = 10_000;

const LINT_AFTER_HELP: &str = "\
Findings have a stable code (spf-…, dmarc-…, mx-…, dkim-key-…), a severity (error, warning,
info), the record and the position in it, the RFC section and a one-line fix; the codes are
listed in the README. With --zone, a finding about a record read from a zone file names the
file and line (SARIF: a physicalLocation, shown by code-scanning UIs on that line).

Exit codes:
  0  no finding at or above --fail-on
  1  a finding at or above --fail-on (default: error)
  2  usage or input error (bad domain, selector, zone file, option)
  4  a DNS failure (SERVFAIL, timeout) prevented part of an audit

Examples:
  spfcheck lint example.com example.org
  spfcheck lint --offline --zone zones/example.com.zone example.com --format sarif > lint.sarif
  spfcheck lint --fail-on warning -s selector1 example.com";

/// Output format of the lint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
    Sarif,
}

/// The lowest severity that makes the exit code 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
}

/// `spfcheck lint`: audit the SPF, DMARC, MX (and DKIM key) records of domains.
#[derive(Debug, Parser)]
#[command(
    name = "spfcheck lint",
    about = "Audit the SPF, DMARC, MX and DKIM key records domains publish (findings with codes, RFC sections and fixes)",
    after_help = LINT_AFTER_HELP
)]
pub struct LintArgs {
    /// The domains to audit (audited concurrently).
    #[arg(value_name = "DOMAIN", required = true)]
    pub domains: Vec<String>,

    /// A DKIM selector whose key is audited for each domain (repeatable).
    #[arg(short = 's', long = "selector", value_name = "SELECTOR")]
    pub selectors: Vec<String>,

    /// Where answers come from: --nameserver, --timeout, --zone, --offline, --fault.
    #[command(flatten)]
    pub dns: DnsArgs,

    /// Seconds the audit of one domain may take in all (0.1 to 600).
    #[arg(
        long,
        value_name = "SECS",
        default_value = "20",
        allow_negative_numbers = true
    )]
    pub deadline: f64,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: LintFormat,

    /// Shorthand for --format json.
    #[arg(long)]
    pub json: bool,

    /// Exit 1 on a finding of this severity or above.
    #[arg(long, value_enum, default_value = "error", value_name = "SEVERITY")]
    pub fail_on: FailOn,

    /// When to color text output (NO_COLOR in the environment also turns it off).
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    pub color: ColorChoice,
}

/// Runs `spfcheck lint ...`; `argv` starts with the name `spfcheck lint`, then the arguments.
pub fn run(argv: Vec<OsString>) -> i32 {
    let args = match parse_args::<LintArgs>(argv, "spfcheck lint --help") {
        Ok(a) => a,
        Err(code) => return code,
    };
    match lint(&args) {
        Ok(code) => code,
        Err(e) => {
            error_line(&e.to_string());
            exit::USAGE
        }
    }
}

/// A zone file path as shown in findings: relative to the current directory when it is under
/// it, else as given, with '/' separators and no leading "./".
fn shown_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let shown = if path.is_absolute() {
        cwd.as_deref()
            .and_then(|c| path.strip_prefix(c).ok())
            .unwrap_or(path)
    } else {
        path
    };
    let mut text = shown.to_string_lossy().replace('\\', "/");
    while let Some(rest) = text.strip_prefix("./") {
        text = rest.to_string();
    }
    text
}

/// Reads the `--zone` files: their records, and where each was written.
fn load_zones_located(paths: &[OsString]) -> Result<(ZoneData, ZoneLines), InputError> {
    let mut zone = ZoneData::new();
    let mut lines = ZoneLines::new();
    for path in paths {
        match parse_zone_file_located(Path::new(path)) {
            Ok((records, sources)) => {
                for (r, src) in records.iter().zip(&sources) {
                    lines.insert(r, &shown_path(&src.file), src.line);
                }
                zone.extend(records);
            }
            Err(e) => {
                return Err(InputError(
                    terminal_safe(&clip_to(&e.to_string(), 400)).into_owned(),
                ));
            }
        }
    }
    Ok((zone, lines))
}

fn lint(args: &LintArgs) -> Result<i32, InputError> {
    if args.domains.len() > MAX_DOMAINS {
        return Err(InputError(format!(
            "{} domains: at most {MAX_DOMAINS} per run",
            args.domains.len()
        )));
    }
    let mut domains: Vec<String> = Vec::new();
    for d in &args.domains {
        let d = parse_domain(d, "DOMAIN")?.to_ascii_lowercase();
        if !domains.contains(&d) {
            domains.push(d);
        }
    }
    let mut selectors = Vec::new();
    for s in &args.selectors {
        for d in &domains {
            super::dkim::parse_selector(s, d)?;
        }
        let s = s.to_ascii_lowercase();
        if !selectors.contains(&s) {
            selectors.push(s);
        }
    }
    let timeout = seconds(args.dns.timeout, "--timeout", TIMEOUT_RANGE)?;
    let deadline = seconds(args.deadline, "--deadline", DEADLINE_RANGE)?;
    let (zone, zone_lines) = load_zones_located(&args.dns.zone)?;
    let dns = DnsOptions {
        offline: args.dns.offline,
        nameserver: &args.dns.nameserver,
        fault: &args.dns.fault,
    };
    let (resolver, faults) = build_dns(&dns, zone, !args.dns.zone.is_empty(), Vec::new(), timeout)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| InputError(format!("cannot start the async runtime: {e}")))?;
    let mut lints = runtime.block_on(lint_all(resolver, &domains, &selectors, deadline));
    for l in &mut lints {
        zone_lines.locate(&mut l.findings);
    }
    let format = if args.json {
        LintFormat::Json
    } else {
        args.format
    };
    let rendered = match format {
        LintFormat::Text => style::with_color(args.color.enabled(), || render_text(&lints)),
        LintFormat::Json => render_json(&lints) + "\n",
        LintFormat::Sarif => render_sarif(&lints, &zone_lines) + "\n",
    };
    for f in faults.as_ref().map(|f| f.unused()).unwrap_or_default() {
        eprintln!(
            "spfcheck: warning: --fault {} never fired: no query matched it",
            terminal_safe(&f)
        );
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(rendered.as_bytes())
        .and_then(|_| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("spfcheck: error: cannot write output: {e}");
        return Ok(exit::USAGE);
    }
    let threshold = match args.fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
    };
    Ok(exit_code(&lints, threshold))
}

/// Audits every domain, at most [`MAX_CONCURRENT`] at once, each under its own deadline
/// (counted from when its audit starts); results in the order of `domains`.
async fn lint_all(
    resolver: Arc<dyn crate::dns::Resolver>,
    domains: &[String],
    selectors: &[String],
    deadline: Duration,
) -> Vec<DomainLint> {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT));
    let mut set = tokio::task::JoinSet::new();
    for (i, domain) in domains.iter().enumerate() {
        let resolver = resolver.clone();
        let permits = permits.clone();
        let domain = domain.clone();
        let selectors = selectors.to_vec();
        set.spawn(async move {
            // The semaphore is never closed, so acquiring only waits.
            let _permit = permits.acquire_owned().await.ok();
            let until = tokio::time::Instant::now() + deadline;
            let opts = LintOptions {
                selectors,
                deadline: Some(until),
            };
            // The rules bound their queries by the deadline; this bounds the rest, with a
            // moment's grace for the findings the deadline itself produces.
            let grace = until + Duration::from_millis(500);
            let result = tokio::time::timeout_at(grace, lint_domain(resolver, &domain, &opts))
                .await
                .unwrap_or_else(|_| timed_out(&domain, deadline));
            (i, result)
        });
    }
    let mut results: Vec<(usize, DomainLint)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        // A task fails only if it panicked, which the rules never do.
        if let Ok(r) = joined {
            results.push(r);
        }
    }
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, l)| l).collect()
}

/// The audit of a domain that did not finish within the deadline.
fn timed_out(domain: &str, deadline: Duration) -> DomainLint {
    DomainLint {
        domain: domain.to_string(),
        findings: vec![Finding::new(
            domain,
            Diagnostic::error(
                "lint-temperror",
                "",
                format!(
                    "the audit of {domain} did not finish within {} s (--deadline): DNS too slow",
                    deadline.as_secs_f64()
                ),
            ),
            None,
            "make the name servers answer faster, or raise --deadline",
        )],
        dns_failed: true,
    }
}

/// 4 when a DNS failure prevented part of an audit; else 1 when a finding is at or above
/// `threshold`; else 0.
fn exit_code(lints: &[DomainLint], threshold: Severity) -> i32 {
    if lints.iter().any(|l| l.dns_failed) {
        exit::TEMPERROR
    } else if lints
        .iter()
        .flat_map(|l| &l.findings)
        .any(|f| f.severity() >= threshold)
    {
        exit::NOT_AUTHENTICATED
    } else {
        exit::PASS
    }
}
