//! `spfcheck batch [FILE|-]`: many checks from a file or standard input, one output line per
//! input line in input order, over one shared DNS stack (and cache). Glue only: arguments, the
//! input thread, the progress bar and the exit code; the work is `crate::batch`.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use tokio::sync::mpsc;

use crate::batch::{self, Entry, OutputFormat, Reader, Shard, Template};
use crate::eval::spf::Limits;
use crate::record::dmarc::DmarcMode;

use super::args::{DEADLINE_RANGE, DmarcChoice, DnsArgs, TIMEOUT_RANGE};
use super::plan::{self, DnsOptions, InputError};
use super::{error_line, exit, parse_args};

const AFTER_HELP: &str = "\
Input: one check per line, `DOMAIN IP [MAIL-FROM] [HELO]` separated by white space (MAIL FROM
defaults to postmaster@DOMAIN, HELO to DOMAIN; `#` starts a comment line; blank lines are
skipped), or JSON Lines {\"domain\", \"ip\", \"mail_from\", \"helo\"} (detected from the first
line that is not blank or a comment). DOMAIN is also the header From domain for DMARC.

Output, one line per data line, in input order:
  text   DOMAIN IP SPF-RESULT DMARC-RESULT DISPOSITION  (DOMAIN and IP as written; with
         --spf-only the last two are '-'); a bad line: `line N: error: MESSAGE`
  jsonl  the check's JSON document (schema 1) on one line, with \"line\": N; a bad line:
         {\"line\": N, \"error\": \"MESSAGE\"}

--shard K/N keeps the data lines (not blank, not comments; numbered from 0 in input order)
whose number mod N is K: N workers with K = 0..N-1 together cover the input once.

Exit codes (the worst line wins, in this order):
  2  any input error: a bad line (reported in its place; the run goes on), an unreadable
     file, or a usage error
  4  else any temperror (a DNS failure prevented a result)
  3  else any permerror (a broken published policy)
  1  else any line not authenticated
  0  every line authenticated

Examples:
  spfcheck batch --zone testdata/seed/seed.zone --offline pairs.txt
  spfcheck batch --nameserver 127.0.0.1:5300 --format jsonl --concurrency 128 pairs.txt
  spfcheck batch --shard 2/8 --format jsonl pairs.txt > part-2.jsonl";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BatchFormat {
    /// DOMAIN IP SPF-RESULT DMARC-RESULT DISPOSITION.
    Text,
    /// One compact JSON document per line.
    Jsonl,
}

/// Check many (DOMAIN, IP) pairs: SPF and DMARC as a receiver evaluates them, concurrently,
/// with one shared DNS cache, output in input order.
#[derive(Debug, Parser)]
#[command(name = "spfcheck batch", after_help = AFTER_HELP)]
struct BatchArgs {
    /// The input file; standard input when left out or `-`.
    #[arg(value_name = "FILE|-")]
    input: Option<OsString>,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: BatchFormat,

    /// At most this many checks in flight (1 to 65536).
    #[arg(long, value_name = "N", default_value = "64")]
    concurrency: usize,

    /// Only the data lines whose number (from 0, blank and comment lines not counted) mod N is K.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,

    /// Evaluate SPF only (no DMARC discovery, so no _dmarc queries): text output, the DMARC
    /// columns '-', exit codes from the SPF results. What SPF-only tools compare with.
    #[arg(long)]
    spf_only: bool,

    /// Do not cache DNS answers across checks (every check asks the server; for measurement).
    #[arg(long)]
    no_cache: bool,

    /// Which DMARC receivers to imitate.
    #[arg(long, value_enum, default_value = "rfc9989", value_name = "MODE")]
    dmarc: DmarcChoice,

    /// Where answers come from: --nameserver, --timeout, --zone, --offline, --fault.
    #[command(flatten)]
    dns: DnsArgs,

    /// Deadline in seconds for each line's check (0.1 to 600).
    #[arg(
        long,
        value_name = "SECS",
        default_value = "20",
        allow_negative_numbers = true
    )]
    deadline: f64,

    /// The receiving host's name (%{r}, Received-SPF receiver, authserv-id).
    #[arg(long, value_name = "NAME", default_value = "unknown")]
    receiver: String,

    /// The time for %{t}: seconds since the epoch or RFC 3339; defaults to now.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

/// Runs `spfcheck batch`; returns the exit code.
pub fn run(argv: Vec<OsString>) -> i32 {
    let args = match parse_args::<BatchArgs>(argv, "spfcheck batch --help") {
        Ok(a) => a,
        Err(code) => return code,
    };
    match start(&args) {
        Ok(code) => code,
        Err(e) => {
            error_line(&e.to_string());
            exit::USAGE
        }
    }
}

fn start(args: &BatchArgs) -> Result<i32, InputError> {
    if !(1..=65536).contains(&args.concurrency) {
        return Err(InputError("--concurrency: expected 1 to 65536".into()));
    }
    let shard = match &args.shard {
        Some(s) => Some(Shard::parse(s).map_err(InputError)?),
        None => None,
    };
    let format = match args.format {
        BatchFormat::Text => OutputFormat::Text,
        BatchFormat::Jsonl => OutputFormat::JsonLines,
    };
    if args.spf_only && format != OutputFormat::Text {
        return Err(InputError("--spf-only needs --format text".into()));
    }
    let timeout = plan::seconds(args.dns.timeout, "--timeout", TIMEOUT_RANGE)?;
    let deadline = plan::seconds(args.deadline, "--deadline", DEADLINE_RANGE)?;
    let template = Template {
        receiver: plan::parse_domain(&args.receiver, "--receiver")?,
        now: plan::now_or_clock(args.now.as_deref())?,
        default_explanation: Some("%{o} does not designate %{c} as a permitted sender".into()),
        limits: Limits {
            deadline: Some(deadline),
            ..Limits::default()
        },
        mode: match args.dmarc {
            DmarcChoice::Rfc9989 => DmarcMode::Rfc9989,
            DmarcChoice::Rfc7489 => DmarcMode::Rfc7489,
        },
    };
    let zone = plan::load_zones(&args.dns.zone)?;
    let dns = DnsOptions {
        offline: args.dns.offline,
        nameserver: &args.dns.nameserver,
        fault: &args.dns.fault,
    };
    // The stack a single check builds, built once: its cache over live DNS (TTLs, RFC 2308
    // negative answers, one query for identical ones in flight) is shared by every line;
    // --no-cache leaves it out.
    let (resolver, faults) = plan::build_dns_with(
        &dns,
        zone,
        !args.dns.zone.is_empty(),
        Vec::new(),
        timeout,
        !args.no_cache,
    )?;

    let (input, total): (Box<dyn Read + Send>, Option<u64>) = match args.input.as_deref() {
        None => (Box::new(std::io::stdin()), None),
        Some(p) if p == "-" => (Box::new(std::io::stdin()), None),
        Some(p) => {
            let file = std::fs::File::open(p)
                .map_err(|e| InputError(format!("cannot read {}: {e}", p.to_string_lossy())))?;
            let total = std::io::stderr()
                .is_terminal()
                .then(|| count_lines(p))
                .flatten();
            (Box::new(file), total)
        }
    };
    // Two worker threads: the checks of a batch are independent tasks, and one thread was the
    // measured bound of the cached throughput (README "Performance: batch, …").
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| InputError(format!("cannot start the async runtime: {e}")))?;

    // The input is read on its own thread, so a slow producer on stdin never stalls the
    // checks in flight (their deadlines run meanwhile); the channel bounds what is read ahead.
    let (tx, rx) = mpsc::channel::<Entry>(args.concurrency.max(16));
    let (err_tx, err_rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut reader = Reader::new(BufReader::with_capacity(64 * 1024, input), template, shard);
        loop {
            match reader.next_entry() {
                Ok(Some(e)) => {
                    if tx.blocking_send(e).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = err_tx.send(format!("cannot read the input: {e}"));
                    return;
                }
            }
        }
    });

    let bar = progress_bar(total);
    let opts = batch::Options {
        format,
        concurrency: args.concurrency,
        spf_only: args.spf_only,
    };
    let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let result = runtime.block_on(batch::run(resolver, rx, opts, &mut stdout, || {
        if let Some(b) = &bar {
            b.inc(1);
        }
    }));
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let _ = reader.join();
    let mut code = match result {
        Ok(summary) => summary.exit_code(),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::PASS,
        Err(e) => {
            error_line(&format!("cannot write output: {e}"));
            return Ok(exit::USAGE);
        }
    };
    // --fault rules that no query of any line matched: a misspelt name would pass unnoticed.
    for f in faults.as_ref().map(|f| f.unused()).unwrap_or_default() {
        eprintln!("spfcheck: warning: --fault {f} never fired: no query matched it");
    }
    if let Ok(msg) = err_rx.try_recv() {
        error_line(&msg);
        code = exit::USAGE;
    }
    Ok(code)
}

/// Lines in a regular file, counted before the run for the progress bar's total (data lines
/// are fewer: the total is an upper bound). None when it is not a regular file.
fn count_lines(path: &std::ffi::OsStr) -> Option<u64> {
    let file = std::fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut r = BufReader::with_capacity(256 * 1024, file);
    let mut n = 0u64;
    loop {
        let buf = r.fill_buf().ok()?;
        if buf.is_empty() {
            return Some(n);
        }
        n += memchr::memchr_iter(b'\n', buf).count() as u64;
        let len = buf.len();
        r.consume(len);
    }
}

/// A progress bar on stderr when it is a terminal: done/total (or done), rate, ETA.
fn progress_bar(total: Option<u64>) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let (bar, template) = match total {
        Some(n) => (
            indicatif::ProgressBar::new(n),
            "{bar:30} {pos}/{len} lines, {per_sec}, ETA {eta}",
        ),
        None => (
            indicatif::ProgressBar::no_length(),
            "{pos} lines, {per_sec}, {elapsed}",
        ),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
    bar.enable_steady_tick(Duration::from_millis(250));
    let _ = std::io::stderr().flush();
    Some(bar)
}
