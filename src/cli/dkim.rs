//! The `spfcheck dkim DOMAIN [-s SELECTOR]...` subcommand: audit the DKIM keys a domain
//! publishes. `cli::run` sends here when the first argument is `dkim` (so `spfcheck DOMAIN IP`
//! parses as before; a domain literally named `dkim` is no FQDN and is not worth keeping).
//! Its own clap struct, the same DNS stack as a check (`plan::build_dns`).

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;

use super::args::{ColorChoice, DnsArgs, TIMEOUT_RANGE, TextOrJson};
use super::plan::{DnsOptions, InputError, build_dns, load_zones, parse_domain, seconds};
use super::{error_line, exit, parse_args};
use crate::eval::dkim_keys::{self, COMMON_SELECTORS, Status};
use crate::render::dkim_keys::{KeyView, render_json, render_text};
use crate::render::escape::echo;
use crate::render::style;

const DKIM_AFTER_HELP: &str = "\
Without -s, a built-in list of common selectors is tried (Microsoft 365 selector1/selector2,
Google google, Mailchimp k1-k3, SendGrid s1/s2, Zoho, Mailgun, Proton, Fastmail fm1-fm3,
default, dkim, mail, ...). Selectors cannot be listed from DNS, so discovery can miss any
other selector: name it with -s.

Exit codes:
  0  every key found is usable
  1  a key has an error-level finding, or no key was found
  2  usage or input error
  4  a DNS failure (SERVFAIL, timeout) prevented the audit of a selector

Examples:
  spfcheck dkim example.com
  spfcheck dkim example.com -s selector1 -s google
  spfcheck dkim --zone testdata/seed/seed.zone --offline thespykiller.co.uk -s mail2021";

/// `spfcheck dkim`: audit the DKIM public keys of DOMAIN.
#[derive(Debug, Parser)]
#[command(
    name = "spfcheck dkim",
    about = "Fetch and audit the DKIM public keys a domain publishes (RFC 6376 §3.6.1, RFC 8301, RFC 8463)",
    after_help = DKIM_AFTER_HELP
)]
pub struct DkimArgs {
    /// The signing domain (d=).
    pub domain: String,

    /// A selector to audit (repeatable); without it, common selectors are tried.
    #[arg(short = 's', long = "selector", value_name = "SELECTOR")]
    pub selectors: Vec<String>,

    /// Where answers come from: --nameserver, --timeout, --zone, --offline, --fault.
    #[command(flatten)]
    pub dns: DnsArgs,

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

/// A selector: `sub-domain *("." sub-domain)` (RFC 6376 §3.1), each label a letter or digit,
/// then letters, digits and hyphens, not ending in a hyphen (RFC 5321 §4.1.2), at most 63
/// octets; the whole name stays under 253 with the domain.
pub(crate) fn parse_selector(s: &str, domain: &str) -> Result<String, InputError> {
    let ok_label = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b.first().is_some_and(u8::is_ascii_alphanumeric)
            && b.last().is_some_and(u8::is_ascii_alphanumeric)
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    if !s.split('.').all(ok_label) {
        return Err(InputError(format!(
            "-s {} is not a valid selector (dot-separated labels of letters, digits and '-', RFC 6376 §3.1)",
            echo(s)
        )));
    }
    if s.len() + "._domainkey.".len() + domain.len() > 253 {
        return Err(InputError(format!(
            "-s {}: SELECTOR._domainkey.DOMAIN is longer than 253 characters",
            echo(s)
        )));
    }
    Ok(s.to_ascii_lowercase())
}

/// Runs `spfcheck dkim ...`; `argv` starts with the name `spfcheck dkim`, then the arguments.
pub fn run(argv: Vec<OsString>) -> i32 {
    let args = match parse_args::<DkimArgs>(argv, "spfcheck dkim --help") {
        Ok(a) => a,
        Err(code) => return code,
    };
    match audit(&args) {
        Ok(code) => code,
        Err(e) => {
            error_line(&e.to_string());
            exit::USAGE
        }
    }
}

fn audit(args: &DkimArgs) -> Result<i32, InputError> {
    let domain = parse_domain(&args.domain, "DOMAIN")?;
    let mut selectors = Vec::new();
    for s in &args.selectors {
        let s = parse_selector(s, &domain)?;
        if !selectors.contains(&s) {
            selectors.push(s);
        }
    }
    let discovery = selectors.is_empty();
    if discovery {
        selectors = COMMON_SELECTORS.iter().map(|s| s.to_string()).collect();
    }
    let timeout = seconds(args.dns.timeout, "--timeout", TIMEOUT_RANGE)?;
    let zone = load_zones(&args.dns.zone)?;
    let dns = DnsOptions {
        offline: args.dns.offline,
        nameserver: &args.dns.nameserver,
        fault: &args.dns.fault,
    };
    let (resolver, faults) = build_dns(&dns, zone, !args.dns.zone.is_empty(), Vec::new(), timeout)?;
    let color = args.color.enabled();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| InputError(format!("cannot start the async runtime: {e}")))?;
    let audits = runtime.block_on(dkim_keys::audit(
        resolver, &domain, &selectors, !discovery, None,
    ));
    let unused = faults.as_ref().map(|f| f.unused()).unwrap_or_default();
    let report = KeyView {
        domain: &domain,
        discovery,
        selectors: &selectors,
        audits: &audits,
        unused_faults: &unused,
    };
    let rendered = if args.json || args.format == TextOrJson::Json {
        render_json(&report) + "\n"
    } else {
        style::with_color(color, || render_text(&report))
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
    Ok(exit_code(&audits))
}

/// 4 on any DNS failure; 1 when no key was found, or one has an error-level finding or is
/// revoked (not usable); else 0.
fn exit_code(audits: &[dkim_keys::KeyAudit]) -> i32 {
    if audits.iter().any(|a| a.status == Status::TempError) {
        exit::TEMPERROR
    } else if !audits.iter().any(|a| a.status == Status::Found)
        || audits
            .iter()
            .any(|a| a.has_error() || (a.status == Status::Found && !a.usable))
    {
        exit::NOT_AUTHENTICATED
    } else {
        exit::PASS
    }
}
