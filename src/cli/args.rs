//! What the user typed: clap definitions, plain data, no I/O. `plan` turns these into the
//! built objects (request, DNS stack, output settings).

use std::ffi::OsString;

use clap::{Parser, ValueEnum};

pub const AFTER_HELP: &str = "\
Exit codes (the receiver's verdict):
  0  authenticated: DMARC pass; or, with no DMARC policy, SPF pass
  1  not authenticated: DMARC fail (whatever the disposition); or, with no DMARC policy,
     SPF fail, softfail, neutral or none
  2  usage or input error (bad IP, domain, address, zone file, record, option; a --message
     that is unreadable, too large or not a message, or without exactly one From author)
  3  permerror: the published policy is broken (DMARC record unusable; or no DMARC and
     SPF permerror)
  4  temperror: a DNS failure (SERVFAIL, timeout) prevented a result

Examples:
  spfcheck thespykiller.co.uk 81.142.190.61
  spfcheck --zone testdata/seed/seed.zone --offline thespykiller.co.uk 81.142.190.61
  spfcheck --nameserver 127.0.0.1:5300 example.com 192.0.2.1
  spfcheck --record 'v=spf1 ip4:192.0.2.0/24 -all' example.com 192.0.2.7
  spfcheck --dmarc-record 'v=DMARC1; p=reject' example.com 192.0.2.7
  spfcheck --fault _spf.example.com/TXT=timeout example.com 192.0.2.7
  spfcheck --mail-from bounce@esp.example brand.example 198.51.100.7
  spfcheck --dkim brand.example=pass brand.example 198.51.100.7
  spfcheck --dmarc rfc7489 --pct-sample 75 brand.example 198.51.100.7
  spfcheck --from 'Sales <sales@brand.example>' 198.51.100.7
  spfcheck --message mail.eml 198.51.100.7
  spfcheck --message - --mail-from bounce@esp.example brand.example 198.51.100.7 < mail.eml
  spfcheck --suggest thespykiller.co.uk 81.142.190.61

Subcommands (each with its own options and exit codes: spfcheck NAME --help):
  spfcheck batch [FILE|-] [--format jsonl]  many checks, one line each, in input order
  spfcheck dkim DOMAIN [-s SELECTOR]...   fetch and audit the DKIM keys a domain publishes
  spfcheck lint DOMAIN... [--zone FILE]   audit SPF, DMARC, MX (and DKIM keys): findings for CI
  spfcheck tree DOMAIN [--format dot]     the SPF include tree: lookups per branch, networks
  spfcheck diff [--before ZONE]... --after ZONE... --senders FILE [--domain DOMAIN]
                                          dry-run a DNS change against the known senders
  spfcheck replay FILE... [--zone FILE]   replay a failure report (ARF) or a raw message:
                                          what the receiver reported beside what is found now";

/// The two forms of the command line (shown by --help and in usage errors).
pub const USAGE: &str = "spfcheck [OPTIONS] DOMAIN IP\n       spfcheck [OPTIONS] --from ADDR IP\n       spfcheck [OPTIONS] --message FILE [DOMAIN] IP";

/// Bounds of --timeout and --deadline, in seconds (documented in --help and the README).
pub const TIMEOUT_RANGE: (f64, f64) = (0.01, 60.0);
pub const DEADLINE_RANGE: (f64, f64) = (0.1, 600.0);

/// A whole number of at least 0 (clap's own message for "-1" would be "unexpected argument").
fn parse_count(s: &str) -> Result<u32, String> {
    if s.trim_start().starts_with('-') {
        return Err("a negative number is not allowed (expected 0 or more)".into());
    }
    s.trim()
        .parse::<u32>()
        .map_err(|_| "expected a whole number from 0 to 4294967295".into())
}

/// The RFC 7489 pct sample: 0 to 99.
fn parse_pct_sample(s: &str) -> Result<u8, String> {
    match parse_count(s)? {
        n @ 0..=99 => u8::try_from(n).map_err(|_| "expected 0 to 99".into()),
        _ => Err("expected 0 to 99".into()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `--format` of the subcommands with a text and a JSON output (dkim, diff, replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Summary, trace tree and Received-SPF header.
    Text,
    /// The stable JSON document (schema 1).
    Json,
    /// Only the Received-SPF header (RFC 7208 §9.1).
    ReceivedSpf,
    /// Only the Authentication-Results (RFC 8601) and Received-SPF headers.
    AuthResults,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DmarcChoice {
    /// RFC 9989 (DMARCbis): DNS Tree Walk, np, psd, t.
    Rfc9989,
    /// RFC 7489: Public Suffix List organizational domain, pct.
    Rfc7489,
}

/// Would mail from IP claiming DOMAIN be delivered, quarantined or rejected? SPF, DKIM and
/// DMARC as a receiver evaluates them, with every term, DNS query and counter explained.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "spfcheck",
    version,
    about,
    after_help = AFTER_HELP,
    override_usage = USAGE
)]
pub struct Args {
    /// The header From domain the mail claims (also the MAIL FROM domain unless --mail-from).
    /// Left out when --from or --message gives the From address. A value starting with '-' goes after '--'.
    #[arg(value_name = "DOMAIN")]
    pub domain: Option<String>,

    /// The connecting client's IP address (IPv4 or IPv6; IPv4-mapped IPv6 is evaluated as IPv4).
    #[arg(value_name = "IP")]
    pub ip: Option<String>,

    /// The header From address (`addr@domain` or `Name <addr@domain>`) instead of DOMAIN.
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,

    /// A message (RFC 5322, at most 32 MiB; `-` reads standard input) whose DKIM-Signatures
    /// are verified and whose From gives the From domain (DOMAIN may then be left out).
    #[arg(long, value_name = "FILE")]
    pub message: Option<OsString>,

    /// A DKIM result to assume, for a dry run without a message:
    /// DOMAIN[:SELECTOR]=pass|fail|none|temperror|permerror (repeatable).
    #[arg(long, value_name = "SPEC")]
    pub dkim: Vec<String>,

    /// Which DMARC receivers to imitate.
    #[arg(long, value_enum, default_value = "rfc9989", value_name = "MODE")]
    pub dmarc: DmarcChoice,

    /// RFC 7489 pct sampling: this message's "random mod 100" (0-99); the policy applies when
    /// it is below pct.
    #[arg(long, value_name = "N", default_value = "0", value_parser = parse_pct_sample, allow_negative_numbers = true)]
    pub pct_sample: u8,

    /// The envelope sender (MAIL FROM). An empty string is the null sender: the HELO identity
    /// postmaster@HELO is checked instead (RFC 7208 §2.3).
    #[arg(long, value_name = "ADDR")]
    pub mail_from: Option<String>,

    /// The HELO/EHLO name (%{h}); defaults to DOMAIN.
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,

    /// The receiving host's name, a domain name (%{r}, the Received-SPF receiver and the
    /// Authentication-Results authserv-id).
    #[arg(long, value_name = "NAME", default_value = "unknown")]
    pub receiver: String,

    /// The time for %{t}: seconds since the epoch or RFC 3339 (2021-07-15T22:51:19Z);
    /// defaults to now.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,

    /// Explanation for a fail when the record gives none (macros allowed).
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "%{o} does not designate %{c} as a permitted sender"
    )]
    pub default_explanation: String,

    /// Where answers come from: --nameserver, --timeout, --zone, --offline, --fault.
    #[command(flatten)]
    pub dns: DnsArgs,

    /// Deadline in seconds for the whole check (0.1 to 600): SPF and DMARC run concurrently
    /// within it (RFC 7208 §4.6.4: at least 20).
    #[arg(
        long,
        value_name = "SECS",
        default_value = "20",
        allow_negative_numbers = true
    )]
    pub deadline: f64,

    /// Evaluate this SPF record instead of the one published for the checked domain (DOMAIN, the
    /// --mail-from domain, or for the null sender the --helo name): it replaces the SPF
    /// record(s) there, in --zone data and live DNS alike; other TXT records stay.
    #[arg(long, value_name = "SPF")]
    pub record: Option<String>,

    /// Evaluate this DMARC record instead of the one published at _dmarc.<From domain>
    /// (replaces the DMARC record there; other TXT records stay). Must begin with v=DMARC1.
    #[arg(long, value_name = "TEXT")]
    pub dmarc_record: Option<String>,

    /// Limit on DNS-querying terms (RFC 7208 §4.6.4).
    #[arg(long, value_name = "N", default_value = "10", value_parser = parse_count, allow_negative_numbers = true)]
    pub max_dns_lookups: u32,

    /// Limit on void lookups (RFC 7208 §4.6.4).
    #[arg(long, value_name = "N", default_value = "2", value_parser = parse_count, allow_negative_numbers = true)]
    pub max_void_lookups: u32,

    /// Also propose the smallest record changes that would make this mail authenticate, each
    /// proven by evaluating the whole verdict again with the change (or, for mail that passes,
    /// name the term that authorised the IP). Text and JSON only; the exit code stays the
    /// actual verdict's.
    #[arg(long)]
    pub suggest: bool,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,

    /// Shorthand for --format json.
    #[arg(long)]
    pub json: bool,

    /// When to color text output (NO_COLOR in the environment also turns it off).
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    pub color: ColorChoice,
}

/// The DNS options every command shares (the check and `spfcheck dkim`): where answers come
/// from, how long to wait, and injected failures.
#[derive(Debug, Clone, clap::Args)]
pub struct DnsArgs {
    /// A DNS server to ask instead of the system's, IP[:PORT] (repeatable).
    #[arg(long, value_name = "IP[:PORT]")]
    pub nameserver: Vec<String>,

    /// Seconds to wait for each attempt of a query (0.01 to 60); a query is tried twice (one
    /// retry), so a silent server costs twice this.
    #[arg(
        long,
        value_name = "SECS",
        default_value = "5",
        allow_negative_numbers = true
    )]
    pub timeout: f64,

    /// An RFC 1035 zone file whose records override live DNS (repeatable). A regular file of at
    /// most 16 MiB with the files it $INCLUDEs.
    #[arg(long, value_name = "FILE")]
    pub zone: Vec<OsString>,

    /// Answer from zone data only: absent names are NXDOMAIN, absent types NODATA.
    #[arg(long)]
    pub offline: bool,

    /// Inject a DNS failure: NAME[/TYPE]=timeout|servfail|nxdomain (repeatable).
    #[arg(long, value_name = "SPEC")]
    pub fault: Vec<String>,
}

impl ColorChoice {
    /// Whether to color: `auto` colors a terminal on stdout unless NO_COLOR is set (non-empty).
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                use std::io::IsTerminal;
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        }
    }
}
