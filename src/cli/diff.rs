//! The `spfcheck diff` subcommand: the pre-deployment dry run. Builds two DNS stacks that share
//! nothing (before: `--before` zone files over live DNS, or live DNS alone; after: `--after`
//! zone files), reads the senders file (bounded), runs `diff::compare` and renders it. The
//! comparison itself is the library's (`crate::diff`).

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::Path;

use clap::Parser;

use super::args::{ColorChoice, DmarcChoice, DnsArgs, TIMEOUT_RANGE, TextOrJson};
use super::plan::{DnsOptions, InputError, Stack, build_dns, load_zones, parse_domain, seconds};
use super::{error_line, exit, parse_args};
use crate::diff::{self, DiffOptions, Sender};
use crate::eval::spf::Limits;
use crate::lint::LintOptions;
use crate::record::dmarc::DmarcMode;
use crate::render::diff::{DiffView, render_json, render_text};
use crate::render::style;

const DIFF_AFTER_HELP: &str = "\
Each side is a DNS stack of its own (no shared cache): the --zone files (common to both),
then the side's zone files, over live DNS (or alone with --offline); a side's files are
read together (records at one name add up). Without --before, \"before\" is live DNS as
it is now (--offline then needs --before).

Senders file (FILE, or - for standard input; at most 1 MiB and 10,000 senders), one sender
a line, '#' comments and blank lines ignored:
  IP [MAIL-FROM-DOMAIN [FROM-DOMAIN]] [LABEL]
After the IP, a token containing a dot is a domain (the first the MAIL FROM domain, the
second the header From domain); the first token without a dot, or a \"quoted\" one, starts
the label, which is the rest of the line. A missing MAIL FROM domain is --domain; a
missing From domain is the MAIL FROM domain. Each sender is evaluated with MAIL FROM
postmaster@MAIL-FROM-DOMAIN and HELO MAIL-FROM-DOMAIN, without DKIM.

Exit codes:
  0  no known sender loses authentication
  1  a known sender would lose authentication (authenticated before, not after), or its
     DMARC disposition gets stricter
  2  usage or input error (a bad senders line is reported as FILE:LINE: ...)
  4  a DNS failure (SERVFAIL, timeout) prevented a comparison (takes precedence over 1)

Examples:
  spfcheck diff --before old.zone --after new.zone --senders senders.txt --domain example.com
  spfcheck diff --after proposed.zone --senders senders.txt --domain example.com
  spfcheck diff --offline --before testdata/diff/before.zone --after testdata/diff/after.zone --senders testdata/diff/senders.txt \\
      --domain example.com";

/// `spfcheck diff`: what a DNS change does to the known senders.
#[derive(Debug, Parser)]
#[command(
    name = "spfcheck diff",
    about = "Dry-run a DNS change: evaluate known senders under the old and new records and list what changes",
    after_help = DIFF_AFTER_HELP
)]
pub struct DiffArgs {
    /// A zone file with the records as they are (repeatable); without it, live DNS.
    #[arg(long, value_name = "FILE")]
    pub before: Vec<OsString>,

    /// A zone file with the proposed records (repeatable).
    #[arg(long, value_name = "FILE", required = true)]
    pub after: Vec<OsString>,

    /// The known senders, one a line: IP [MAIL-FROM-DOMAIN [FROM-DOMAIN]] [LABEL].
    #[arg(long, value_name = "FILE")]
    pub senders: OsString,

    /// The domain a sender line without domains is for (also linted).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,

    /// Where answers come from: --nameserver, --timeout, --zone (both sides), --offline, --fault.
    #[command(flatten)]
    pub dns: DnsArgs,

    /// Which DMARC receivers to imitate.
    #[arg(long, value_enum, default_value = "rfc9989", value_name = "MODE")]
    pub dmarc: DmarcChoice,

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

/// Largest senders file read, in bytes.
pub const MAX_SENDERS_BYTES: u64 = 1 << 20;

/// Runs `spfcheck diff ...`; `argv` starts with the name `spfcheck diff`, then the arguments.
pub fn run(argv: Vec<OsString>) -> i32 {
    let args = match parse_args::<DiffArgs>(argv, "spfcheck diff --help") {
        Ok(a) => a,
        Err(code) => return code,
    };
    match dry_run(&args) {
        Ok(code) => code,
        Err(e) => {
            error_line(&e.to_string());
            exit::USAGE
        }
    }
}

/// Reads the senders file: a regular file or `-` (standard input), at most
/// [`MAX_SENDERS_BYTES`], UTF-8.
fn read_senders(path: &OsString) -> Result<String, InputError> {
    let shown = path.to_string_lossy().into_owned();
    let fail = |e: std::io::Error| InputError(format!("--senders {shown}: cannot read: {e}"));
    let mut bytes = Vec::new();
    if path == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_SENDERS_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(fail)?;
    } else {
        let file = std::fs::File::open(Path::new(path)).map_err(fail)?;
        let meta = file.metadata().map_err(fail)?;
        if !meta.is_file() {
            return Err(InputError(format!(
                "--senders {shown}: not a regular file (give a file, or - for standard input)"
            )));
        }
        file.take(MAX_SENDERS_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(fail)?;
    }
    if bytes.len() as u64 > MAX_SENDERS_BYTES {
        return Err(InputError(format!(
            "--senders {shown}: larger than {MAX_SENDERS_BYTES} bytes"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let line = e
            .as_bytes()
            .get(..e.utf8_error().valid_up_to())
            .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count())
            + 1;
        InputError(format!("{shown}:{line}: not UTF-8 text"))
    })
}

/// How a side is described in the output: its zone files, over live DNS or alone.
fn describe(files: &[OsString], offline: bool) -> String {
    if files.is_empty() {
        return "live DNS".to_string();
    }
    let names: Vec<String> = files
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    format!(
        "{}{}",
        names.join(", "),
        if offline { "" } else { " over live DNS" }
    )
}

fn dry_run(args: &DiffArgs) -> Result<i32, InputError> {
    if args.dns.offline && args.before.is_empty() {
        return Err(InputError(
            "--offline needs --before: without it, \"before\" is live DNS".to_string(),
        ));
    }
    let domain = match &args.domain {
        Some(d) => Some(parse_domain(d, "--domain")?),
        None => None,
    };
    let text = read_senders(&args.senders)?;
    let senders: Vec<Sender> = diff::parse_senders(&text, domain.as_deref())
        .map_err(|e| InputError(format!("{}:{}", args.senders.to_string_lossy(), e)))?;
    let timeout = seconds(args.dns.timeout, "--timeout", TIMEOUT_RANGE)?;
    let dns = DnsOptions {
        offline: args.dns.offline,
        nameserver: &args.dns.nameserver,
        fault: &args.dns.fault,
    };
    // Two stacks built separately: each has its own cache, overlay and fault counters.
    let side = |files: &[OsString]| -> Result<Stack, InputError> {
        let mut all = args.dns.zone.clone();
        all.extend(files.iter().cloned());
        let zone = load_zones(&all)?;
        build_dns(&dns, zone, !all.is_empty(), Vec::new(), timeout)
    };
    let (before, before_faults) = side(&args.before)?;
    let (after, after_faults) = side(&args.after)?;
    let now = super::plan::now_or_clock(None)?;
    let opts = DiffOptions {
        mode: match args.dmarc {
            DmarcChoice::Rfc9989 => DmarcMode::Rfc9989,
            DmarcChoice::Rfc7489 => DmarcMode::Rfc7489,
        },
        now,
        limits: Limits::default(),
    };
    let domains = diff::domains_involved(&senders, domain.as_deref());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| InputError(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(async {
        let lint_opts = LintOptions {
            selectors: Vec::new(),
            deadline: opts
                .limits
                .deadline
                .map(|d| tokio::time::Instant::now() + d),
        };
        diff::compare(before, after, &senders, &domains, &opts, &lint_opts).await
    });
    // A --fault rule is unused only when it fired on neither side.
    let unused: Vec<String> = match (&before_faults, &after_faults) {
        (Some(b), Some(a)) => {
            let a = a.unused();
            b.unused().into_iter().filter(|f| a.contains(f)).collect()
        }
        _ => Vec::new(),
    };
    let with_common = |files: &[OsString]| {
        let mut all = args.dns.zone.clone();
        all.extend(files.iter().cloned());
        describe(&all, args.dns.offline)
    };
    let view = DiffView {
        diff: &result,
        before: &with_common(&args.before),
        after: &with_common(&args.after),
        unused_faults: &unused,
    };
    let rendered = if args.json || args.format == TextOrJson::Json {
        render_json(&view) + "\n"
    } else {
        style::with_color(args.color.enabled(), || render_text(&view))
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(rendered.as_bytes())
        .and_then(|_| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("spfcheck: error: cannot write output: {e}");
        return Ok(exit::USAGE);
    }
    Ok(if result.dns_failed() {
        exit::TEMPERROR
    } else if result.loses_authentication() {
        exit::NOT_AUTHENTICATED
    } else {
        exit::PASS
    })
}
