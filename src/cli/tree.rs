//! The `spfcheck tree DOMAIN` subcommand: the SPF include/redirect tree of a domain, expanded
//! without an IP (`eval::spf_tree`), with the lookups each branch costs, the running total,
//! the void lookups and the authorised networks, as text, Graphviz DOT or JSON. Answers the
//! question "which include costs me the lookups?". Same DNS stack as a check
//! (`plan::build_dns`).

use std::ffi::OsString;
use std::io::Write;
use std::time::Duration;

use clap::Parser;

use super::args::{ColorChoice, DnsArgs, TIMEOUT_RANGE};
use super::plan::{DnsOptions, InputError, build_dns, load_zones, parse_domain, seconds};
use super::{error_line, exit, parse_args};
use crate::eval::spf_tree::{self, TreeStatus};
use crate::render::escape::terminal_safe;
use crate::render::style;
use crate::render::tree::{render_dot, render_json, render_text};

const TREE_AFTER_HELP: &str = "\
Every record is read as a receiver would (RFC 7208), but without a client IP: every term is
walked as if nothing matched, so the whole tree is shown even past the 10-lookup limit (at most
100 records, nesting 20). Terms whose names need the message (macros other than %{d}, ptr) are
marked and not looked up. Void lookups are counted as for an IPv4 client.

Exit codes:
  0  the policy is within every limit
  1  the policy is broken: a receiver returns permerror (over 10 lookups or 2 void lookups,
     more than 10 MX names, an include loop, an include or redirect without a record, a
     syntax error, several records) or there is no SPF record
  2  usage or input error
  4  a DNS failure (SERVFAIL, timeout) kept part of the tree from being read

Examples:
  spfcheck tree example.com
  spfcheck tree --format dot example.com | dot -Tsvg > tree.svg
  spfcheck tree --zone testdata/seed/seed.zone --offline thespykiller.co.uk";

/// Output format of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TreeFormat {
    Text,
    Dot,
    Json,
}

/// `spfcheck tree`: the SPF include tree of DOMAIN.
#[derive(Debug, Parser)]
#[command(
    name = "spfcheck tree",
    about = "Show the SPF include/redirect tree of a domain: lookups per branch, running total, void lookups, authorised networks (RFC 7208 §4.6.4)",
    after_help = TREE_AFTER_HELP
)]
pub struct TreeArgs {
    /// The domain whose SPF policy is expanded.
    pub domain: String,

    /// Where answers come from: --nameserver, --timeout, --zone, --offline, --fault.
    #[command(flatten)]
    pub dns: DnsArgs,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: TreeFormat,

    /// Shorthand for --format json.
    #[arg(long)]
    pub json: bool,

    /// When to color text output (NO_COLOR in the environment also turns it off).
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    pub color: ColorChoice,
}

/// The whole expansion's deadline (RFC 7208 §4.6.4 asks for at least 20 s for one check; a
/// tree of up to 100 records gets more).
const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `spfcheck tree ...`; `argv` starts with the name `spfcheck tree`.
pub fn run(argv: Vec<OsString>) -> i32 {
    let args = match parse_args::<TreeArgs>(argv, "spfcheck tree --help") {
        Ok(a) => a,
        Err(code) => return code,
    };
    match tree(&args) {
        Ok(code) => code,
        Err(e) => {
            error_line(&e.to_string());
            exit::USAGE
        }
    }
}

fn tree(args: &TreeArgs) -> Result<i32, InputError> {
    let domain = parse_domain(&args.domain, "DOMAIN")?;
    let timeout = seconds(args.dns.timeout, "--timeout", TIMEOUT_RANGE)?;
    let zone = load_zones(&args.dns.zone)?;
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
    let tree = runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        spf_tree::expand(resolver, &domain, Some(deadline)).await
    });
    let unused = faults.as_ref().map(|f| f.unused()).unwrap_or_default();
    let format = if args.json {
        TreeFormat::Json
    } else {
        args.format
    };
    let rendered = match format {
        TreeFormat::Json => render_json(&tree, &unused) + "\n",
        TreeFormat::Dot => render_dot(&tree),
        TreeFormat::Text => {
            let mut out = style::with_color(args.color.enabled(), || render_text(&tree));
            for f in &unused {
                out.push_str(&format!(
                    "warning: --fault {} never fired: no query matched it\n",
                    terminal_safe(f)
                ));
            }
            out
        }
    };
    if format == TreeFormat::Dot {
        for f in &unused {
            eprintln!(
                "spfcheck: warning: --fault {} never fired: no query matched it",
                terminal_safe(f)
            );
        }
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
    Ok(match tree.status {
        TreeStatus::Ok => exit::PASS,
        TreeStatus::Broken => exit::NOT_AUTHENTICATED,
        TreeStatus::TempError => exit::TEMPERROR,
    })
}
