//! The built objects: from parsed arguments to a validated `SpfRequest` and the DNS stack
//! (live → zone overlay → fault injection), built once. This is the only place that reads
//! files and the clock.

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::dns::Resolver;
use crate::dns::cache::Cache;
use crate::dns::fault::{Faults, parse_fault_spec};
use crate::dns::hickory::HickoryResolver;
use crate::dns::normalize_name;
use crate::dns::overlay::{Overlay, TxtReplacement, ZoneData};
use crate::dns::zone::parse_zone_file;
use crate::eval::dkim::DkimResult;
use crate::eval::spf::{Limits, SpfRequest};
use crate::message::Message;
use crate::message::from::author;
use crate::record::dmarc::{DmarcMode, is_dmarc_record};
use crate::record::spf::is_spf_record;
use crate::render::escape::{clip_to, echo, terminal_safe};
use crate::verdict::VerdictRequest;

use super::args::{Args, DEADLINE_RANGE, DmarcChoice, Format, TIMEOUT_RANGE};

/// Everything needed to run one check.
pub struct Plan {
    pub request: VerdictRequest,
    pub resolver: Arc<dyn Resolver>,
    pub format: Format,
    /// The `--fault` layer (also inside `resolver`), kept to report rules that never fired.
    pub faults: Option<Arc<Faults>>,
    /// `--suggest`: prove remedies after the verdict (text and JSON only).
    pub suggest: bool,
}

/// An input error: one line, exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, InputError> {
    Err(InputError(msg.into()))
}

impl Plan {
    pub fn build(args: &Args) -> Result<Plan, InputError> {
        // Three forms (args::USAGE): DOMAIN IP, --from ADDR IP, --message FILE IP (DOMAIN may
        // still be given before the IP with --from or --message; it must then be the author's
        // domain).
        if args.from.is_some() && args.message.is_some() {
            return err(
                "--from and --message both give the header From: give one (the message's From is used with --message)",
            );
        }
        let author_given = args.from.is_some() || args.message.is_some();
        let form = if args.message.is_some() {
            "spfcheck [OPTIONS] --message FILE [DOMAIN] IP"
        } else {
            "spfcheck [OPTIONS] --from ADDR IP"
        };
        let (domain_arg, ip_arg) = match (&args.domain, &args.ip, author_given) {
            (Some(d), Some(ip), _) => (Some(d.as_str()), ip.as_str()),
            (Some(ip), None, true) => (None, ip.as_str()),
            (None, _, true) => {
                return err(format!("missing IP (usage: {form})"));
            }
            (Some(_), None, false) => {
                return err("missing IP (usage: spfcheck [OPTIONS] DOMAIN IP)");
            }
            (None, _, false) => {
                return err(
                    "missing DOMAIN and IP (usage: spfcheck [OPTIONS] DOMAIN IP, or spfcheck [OPTIONS] --from ADDR IP, or spfcheck [OPTIONS] --message FILE IP)",
                );
            }
        };
        let ip = parse_ip(ip_arg)?;
        let message = match &args.message {
            Some(path) => Some(Arc::new(
                Message::read(Path::new(path))
                    .map_err(|e| InputError(format!("--message: {e}")))?,
            )),
            None => None,
        };
        let from = match (&args.from, &message) {
            (Some(f), _) => Some(parse_from(f)?),
            (None, Some(m)) => {
                let a = author(m).map_err(|e| InputError(format!("--message: {e}")))?;
                let d = parse_domain(&a.domain, "--message: the From domain")?;
                let local = a.address.rsplit_once('@').map_or("", |(l, _)| l);
                Some((format!("{local}@{d}"), d))
            }
            (None, None) => None,
        };
        let domain = match (&from, domain_arg) {
            (Some((_, d)), _) => d.clone(),
            (None, Some(d)) => parse_domain(d, "DOMAIN")?,
            (None, None) => return err("missing DOMAIN"),
        };
        if let (Some((_, fd)), Some(d)) = (&from, domain_arg)
            && parse_domain(d, "DOMAIN")? != *fd
        {
            let source = if message.is_some() {
                "the message's From domain"
            } else {
                "the --from domain"
            };
            return err(format!(
                "DOMAIN {} differs from {source} {}: give one of them",
                echo(d),
                echo(fd)
            ));
        }
        let dkim = args
            .dkim
            .iter()
            .map(|spec| {
                DkimResult::parse_simulated(spec)
                    .map_err(|e| InputError(format!("--dkim {}: {e}", echo(spec))))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let helo = match &args.helo {
            Some(h) => parse_identity(h, "--helo")?,
            None => domain.clone(),
        };
        let mail_from = match &args.mail_from {
            Some(m) => parse_mail_from(m)?,
            None => format!("postmaster@{domain}"),
        };
        let now = now_or_clock(args.now.as_deref())?;
        let timeout = seconds(args.dns.timeout, "--timeout", TIMEOUT_RANGE)?;
        let deadline = seconds(args.deadline, "--deadline", DEADLINE_RANGE)?;
        let mut request = SpfRequest::new(ip, &mail_from, &helo);
        request.mail_from_assumed = args.mail_from.is_none();
        // --receiver must be a domain name: it is `%{r}` (RFC 7208 §7.3), the Received-SPF
        // `receiver=` and the Authentication-Results authserv-id (RFC 8601 §2.5), where a `;`
        // or a space would inject text into the header.
        request.receiver = parse_domain(&args.receiver, "--receiver")?;
        request.now = now;
        request.default_explanation = Some(args.default_explanation.clone());
        request.limits = Limits {
            dns_terms: args.max_dns_lookups,
            void_lookups: args.max_void_lookups,
            deadline: Some(deadline),
            ..Limits::default()
        };

        // --record replaces the policy of the domain actually checked: DOMAIN, or the domain of
        // --mail-from, or (null sender) the --helo name; --dmarc-record, the From domain's.
        let (resolver, faults) = build_resolver(args, &request.domain, &domain, timeout)?;
        let format = if args.json { Format::Json } else { args.format };
        if args.suggest && !matches!(format, Format::Text | Format::Json) {
            return err(
                "--suggest needs --format text or json (the header formats print headers only)",
            );
        }
        let request = VerdictRequest {
            spf: request,
            from_domain: domain,
            from: from.map(|(addr, _)| addr),
            dkim,
            mode: match args.dmarc {
                DmarcChoice::Rfc9989 => DmarcMode::Rfc9989,
                DmarcChoice::Rfc7489 => DmarcMode::Rfc7489,
            },
            pct_sample: args.pct_sample,
            message,
        };
        Ok(Plan {
            request,
            resolver,
            format,
            faults,
            suggest: args.suggest,
        })
    }
}

/// live → overlay (zone files, --record, --dmarc-record) → faults; the fault layer is also
/// returned alone.
pub type Stack = (Arc<dyn Resolver>, Option<Arc<Faults>>);

fn build_resolver(
    args: &Args,
    domain: &str,
    from_domain: &str,
    timeout: Duration,
) -> Result<Stack, InputError> {
    // Bounded (16 MiB, regular files only); errors read FILE:LINE: message, and the message
    // may quote the file's text: escaped and clipped.
    let zone = load_zones(&args.dns.zone)?;
    // Dry runs replace (never add to) the published record, in the zone data and live DNS
    // alike; other TXT records at the name stay.
    let mut replacements = Vec::new();
    if let Some(record) = &args.record {
        if !is_spf_record(record) {
            return err(format!(
                "--record {} is not an SPF record (it must begin with \"v=spf1\")",
                echo(record)
            ));
        }
        // RFC 7208 §4.5: the SPF records at the name are the TXT records starting "v=spf1".
        replacements.push(TxtReplacement::new(domain, is_spf_record, record));
    }
    if let Some(record) = &args.dmarc_record {
        if !is_dmarc_record(record) {
            return err(format!(
                "--dmarc-record {} is not a DMARC record (it must begin with \"v=DMARC1\")",
                echo(record)
            ));
        }
        // RFC 9989 §4.10 step 2: the DMARC records at `_dmarc.<From domain>` are the TXT
        // records starting with the v=DMARC1 tag.
        let name = format!("_dmarc.{from_domain}");
        replacements.push(TxtReplacement::new(&name, is_dmarc_record, record));
    }
    let dns = DnsOptions {
        offline: args.dns.offline,
        nameserver: &args.dns.nameserver,
        fault: &args.dns.fault,
    };
    build_dns(&dns, zone, !args.dns.zone.is_empty(), replacements, timeout)
}

/// The DNS options shared by every subcommand (`--nameserver`, `--offline`, `--fault`).
pub struct DnsOptions<'a> {
    pub offline: bool,
    pub nameserver: &'a [String],
    pub fault: &'a [String],
}

/// Loads `--zone` files into zone data (shared with the `dkim` subcommand).
pub fn load_zones(paths: &[OsString]) -> Result<ZoneData, InputError> {
    let mut zone = ZoneData::new();
    for path in paths {
        match parse_zone_file(Path::new(path)) {
            Ok(records) => zone.extend(records),
            Err(e) => return err(terminal_safe(&clip_to(&e.to_string(), 400)).into_owned()),
        }
    }
    Ok(zone)
}

/// live (cached) → overlay (`zone`, `replacements`) → faults; the fault layer is also returned
/// alone. `has_zone` says whether any `--zone` was given (an overlay is used only then, or when
/// offline, or with replacements).
pub fn build_dns(
    dns: &DnsOptions<'_>,
    zone: ZoneData,
    has_zone: bool,
    replacements: Vec<TxtReplacement>,
    timeout: Duration,
) -> Result<Stack, InputError> {
    build_dns_with(dns, zone, has_zone, replacements, timeout, true)
}

/// [`build_dns`], with the cache over live DNS left out when `cache` is false
/// (`spfcheck batch --no-cache`, for measurement).
pub fn build_dns_with(
    dns: &DnsOptions<'_>,
    zone: ZoneData,
    has_zone: bool,
    replacements: Vec<TxtReplacement>,
    timeout: Duration,
    cache: bool,
) -> Result<Stack, InputError> {
    let upstream: Option<Arc<dyn Resolver>> = if dns.offline {
        None
    } else {
        let live = if dns.nameserver.is_empty() {
            HickoryResolver::system(timeout)
        } else {
            let servers = dns
                .nameserver
                .iter()
                .map(|s| parse_nameserver(s))
                .collect::<Result<Vec<_>, _>>()?;
            HickoryResolver::with_servers(&servers, timeout)
        };
        // One cache for the check, right over live DNS: SPF and DMARC often ask the same
        // names, and an answer repeated within a check is served (and marked `cached`) once.
        match live {
            Ok(r) if cache => Some(Arc::new(Cache::new(Arc::new(r)))),
            Ok(r) => Some(Arc::new(r)),
            Err(e) => return err(format!("cannot set up DNS: {e}")),
        }
    };
    let mut resolver: Arc<dyn Resolver> = if dns.offline || has_zone || !replacements.is_empty() {
        let mut overlay = Overlay::new(zone, upstream);
        for r in replacements {
            overlay.replace_txt(r);
        }
        Arc::new(overlay)
    } else {
        match upstream {
            Some(u) => u,
            None => Arc::new(Overlay::new(zone, None)),
        }
    };
    let mut fault_layer = None;
    if !dns.fault.is_empty() {
        let mut faults = Faults::new(resolver);
        for spec in dns.fault {
            match parse_fault_spec(spec) {
                Ok((name, rtype, kind)) => faults.add(&name, rtype, kind),
                Err(e) => return err(format!("--fault: {e}")),
            }
        }
        let faults = Arc::new(faults);
        resolver = faults.clone();
        fault_layer = Some(faults);
    }
    Ok((resolver, fault_layer))
}

fn parse_ip(s: &str) -> Result<IpAddr, InputError> {
    match s.trim().parse::<IpAddr>() {
        Ok(ip) => Ok(ip),
        Err(_) => err(format!(
            "invalid IP address {} (expected IPv4 or IPv6)",
            echo(s)
        )),
    }
}

/// A domain name as typed: ASCII letters, digits, '-', '_', labels of 1 to 63 octets, at
/// most 253 octets; one trailing dot allowed. Internationalized names must be A-labels.
pub fn parse_domain(s: &str, what: &str) -> Result<String, InputError> {
    let d = s.trim();
    let d = d.strip_suffix('.').unwrap_or(d);
    if d.is_empty() {
        return err(format!("{what}: empty domain name"));
    }
    if !d.is_ascii() {
        return err(format!(
            "{what}: {} is not ASCII (give internationalized names as A-labels, xn--…)",
            echo(s)
        ));
    }
    if d.len() > 253 {
        return err(format!("{what}: {} is longer than 253 characters", echo(s)));
    }
    // A host name label begins with a letter or digit (RFC 1123 §2.1); a leading '-' is
    // almost always a mistyped option that reached DOMAIN after '--'.
    if d.starts_with('-') {
        return err(format!(
            "{what}: {} starts with '-', which a domain name cannot",
            echo(s)
        ));
    }
    for label in d.split('.') {
        if label.is_empty() {
            return err(format!("{what}: {} has an empty label", echo(s)));
        }
        if label.len() > 63 {
            return err(format!(
                "{what}: {} has a label longer than 63 characters",
                echo(s)
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return err(format!(
                "{what}: {} contains {}, not allowed in a domain name",
                echo(s),
                echo(&c.to_string())
            ));
        }
    }
    Ok(normalize_name(d))
}

/// Longest `--helo` / `--mail-from` accepted: a bound on hostile input, well above what SMTP
/// carries (RFC 5321 §4.5.3.1: a path of 256 octets, a domain of 255).
pub const MAX_IDENTITY: usize = 1024;

/// An SMTP identity as the receiver was handed it: any text of at most [`MAX_IDENTITY`] bytes
/// without NUL or control characters, kept exactly as given. It is not checked as a domain:
/// `check_host` evaluates a malformed `<domain>` to "none" and says why (RFC 7208 §4.3), and
/// the macros `%{h}`, `%{l}`, `%{s}` must carry the string as it was (address literals such as
/// `[192.0.2.1]`, quoted local-parts such as `"john doe"`, RFC 5321 §4.1.2–§4.1.3).
pub fn parse_identity(s: &str, what: &str) -> Result<String, InputError> {
    if s.len() > MAX_IDENTITY {
        return err(format!(
            "{what}: {} bytes long (at most {MAX_IDENTITY})",
            s.len()
        ));
    }
    if let Some((i, c)) = s.char_indices().find(|(_, c)| c.is_control()) {
        return err(format!(
            "{what}: control character U+{:04X} at byte {i} (not allowed in an SMTP identity)",
            u32::from(c)
        ));
    }
    Ok(s.to_string())
}

/// The MAIL FROM as given (see [`parse_identity`]); `<>` or "" is the null sender.
fn parse_mail_from(s: &str) -> Result<String, InputError> {
    parse_identity(s, "--mail-from")
}

/// A header From address, `addr@domain` or `Display Name <addr@domain>` (RFC 5322 §3.4);
/// returns the address and its domain.
fn parse_from(s: &str) -> Result<(String, String), InputError> {
    let t = s.trim();
    // Several authors (`a@x, b@y`, `A <a@x>, B <b@y>`): RFC 9989 §5.3.1 puts a From without
    // precisely one domain outside DMARC; §11.5 leaves it to the receiver. Refused rather than
    // silently reduced to one.
    if address_count(t) > 1 {
        return err(format!(
            "--from {:?}: several author addresses; DMARC evaluates one From domain (RFC 9989 §5.3.1, §11.5 multi-author): check each author with its own --from",
            clip(s, 80)
        ));
    }
    let addr = match (t.rfind('<'), t.rfind('>')) {
        (Some(a), Some(b)) if a < b => &t[a + 1..b],
        (None, None) => t,
        _ => return err(format!("--from {}: unbalanced angle brackets", echo(s))),
    };
    let addr = addr.trim();
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return err(format!(
            "--from {}: expected an address like sales@example.com",
            echo(s)
        ));
    };
    if local.is_empty() || local.chars().any(|c| c.is_control() || c == ' ') {
        return err(format!("--from {}: invalid local-part", echo(s)));
    }
    let domain = parse_domain(domain, "--from")?;
    Ok((format!("{local}@{domain}"), domain))
}

/// How many comma-separated entries of an address list (RFC 5322 §3.4) hold an `@`; commas
/// inside quoted strings, comments or angle brackets do not separate.
fn address_count(s: &str) -> usize {
    let (mut count, mut has_at, mut quoted, mut escaped) = (0, false, false, false);
    let (mut comment, mut angle) = (0usize, false);
    for c in s.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' if comment == 0 => quoted = !quoted,
            '(' if !quoted => comment += 1,
            ')' if !quoted => comment = comment.saturating_sub(1),
            '<' if !quoted && comment == 0 => angle = true,
            '>' if !quoted && comment == 0 => angle = false,
            '@' if !quoted && comment == 0 => has_at = true,
            ',' if !quoted && comment == 0 && !angle => {
                count += usize::from(has_at);
                has_at = false;
            }
            _ => {}
        }
    }
    count + usize::from(has_at)
}

/// At most `max` characters of `s`, for echoing hostile input in one error line.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn parse_nameserver(s: &str) -> Result<SocketAddr, InputError> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    match s
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => Ok(SocketAddr::new(ip, 53)),
        Err(_) => err(format!(
            "--nameserver {}: expected IP or IP:PORT (IPv6 with port as [addr]:port)",
            echo(s)
        )),
    }
}

/// A number of seconds within `(min, max)` (inclusive; args::TIMEOUT_RANGE, DEADLINE_RANGE).
pub fn seconds(v: f64, what: &str, (min, max): (f64, f64)) -> Result<Duration, InputError> {
    if !(v.is_finite() && (min..=max).contains(&v)) {
        return err(format!(
            "{what}: expected a number of seconds from {min} to {max}"
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

/// `--now` as seconds since the epoch ([`parse_time`]), or the clock's time when not given
/// (0 if the clock is before 1970).
pub fn now_or_clock(arg: Option<&str>) -> Result<u64, InputError> {
    match arg {
        Some(t) => parse_time(t),
        None => Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)),
    }
}

/// Seconds since the epoch, or RFC 3339 `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
pub fn parse_time(s: &str) -> Result<u64, InputError> {
    let t = s.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    let bad = || {
        InputError(format!(
            "--now {}: expected seconds since the epoch or RFC 3339 (2021-07-15T22:51:19Z)",
            echo(s)
        ))
    };
    let b = t.as_bytes();
    if b.len() < 20 || !t.is_ascii() {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, InputError> {
        t.get(r).and_then(|x| x.parse::<i64>().ok()).ok_or_else(bad)
    };
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let at = |i: usize| b.get(i).copied();
    if at(4) != Some(b'-')
        || at(7) != Some(b'-')
        || !matches!(at(10), Some(b'T' | b't' | b' '))
        || at(13) != Some(b':')
        || at(16) != Some(b':')
    {
        return Err(bad());
    }
    // Days in the month, with the Gregorian leap-year rule (RFC 3339 §5.7).
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if !(1..=month_days).contains(&d) {
        return err(format!(
            "--now {}: {y:04}-{mo:02} has no day {d} (it has {month_days})",
            echo(s)
        ));
    }
    if h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    let mut rest = t.get(19..).ok_or_else(bad)?;
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let oh: i64 = rest
                .get(1..3)
                .and_then(|x| x.parse().ok())
                .ok_or_else(bad)?;
            let om: i64 = rest
                .get(4..6)
                .and_then(|x| x.parse().ok())
                .ok_or_else(bad)?;
            // RFC 3339 §5.6: time-numoffset = ("+" / "-") time-hour ":" time-minute.
            if oh > 23 || om > 59 || rest.get(3..4) != Some(":") {
                return err(format!(
                    "--now {}: the UTC offset must be +HH:MM or -HH:MM with HH at most 23 and MM at most 59",
                    echo(s)
                ));
            }
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return Err(bad()),
    };
    // Days from civil date (proleptic Gregorian), H. Hinnant's algorithm.
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset;
    u64::try_from(secs).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1626389479").unwrap(), 1_626_389_479);
        assert_eq!(parse_time("2021-07-15T22:51:19Z").unwrap(), 1_626_389_479);
        assert_eq!(
            parse_time("2021-07-15T15:51:19-07:00").unwrap(),
            1_626_389_479
        );
        assert_eq!(parse_time("1970-01-01T00:00:00Z").unwrap(), 0);
        assert!(parse_time("2021-13-15T22:51:19Z").is_err());
        assert!(parse_time("2021-02-31T00:00:00Z").is_err());
        assert!(parse_time("2021-02-29T00:00:00Z").is_err());
        assert!(parse_time("2020-02-29T00:00:00Z").is_ok());
        assert!(parse_time("1900-02-29T00:00:00Z").is_err());
        assert!(parse_time("2000-02-29T00:00:00Z").is_ok());
        assert!(parse_time("2021-04-31T00:00:00Z").is_err());
        assert!(parse_time("2021-07-15T22:51:19+25:99").is_err());
        assert!(parse_time("2021-07-15T22:51:19+23:60").is_err());
        assert!(parse_time("2021-07-15T22:51:19+0530x").is_err());
        assert_eq!(
            parse_time("2021-07-16T04:21:19+05:30").unwrap(),
            1_626_389_479
        );
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn domains_and_addresses() {
        assert_eq!(parse_domain("Example.COM.", "d").unwrap(), "example.com");
        assert!(parse_domain("a..b", "d").is_err());
        assert!(parse_domain("exa mple.com", "d").is_err());
        assert!(parse_domain("bücher.de", "d").is_err());
        assert_eq!(parse_mail_from("<>").unwrap(), "<>");
        // Identities are kept as given; check_host judges them (RFC 7208 §4.3).
        for id in [
            "A@B.example",
            "a@b..c",
            "foo@[1.2.3.5]",
            "\"john doe\"@example.com",
            "Macro Error@e8.example.com",
            "JUMPIN' JUPITER",
            "%%%%%%",
        ] {
            assert_eq!(parse_mail_from(id).unwrap(), id);
            assert_eq!(parse_identity(id, "--helo").unwrap(), id);
        }
        let e = parse_identity("a\u{0}b", "--helo").unwrap_err();
        assert!(e.0.contains("U+0000 at byte 1"), "{e}");
        assert!(parse_mail_from("a@b\nc").is_err());
        assert!(parse_mail_from(&"x".repeat(MAX_IDENTITY)).is_ok());
        let e = parse_mail_from(&"x".repeat(MAX_IDENTITY + 1)).unwrap_err();
        assert!(e.0.contains("at most 1024"), "{e}");
        assert_eq!(
            parse_nameserver("127.0.0.1").unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("[::1]:5300").unwrap(),
            "[::1]:5300".parse().unwrap()
        );
        assert!(parse_nameserver("dns.example").is_err());
        assert!(parse_ip("1.2.3").is_err());
        assert_eq!(
            parse_from("Sales <Sales@Brand.Example>").unwrap(),
            (
                "Sales@brand.example".to_string(),
                "brand.example".to_string()
            )
        );
        assert_eq!(parse_from("a@b.example").unwrap().1, "b.example");
        assert!(parse_from("no-at-sign.example").is_err());
        assert!(parse_from("x <a@b.example").is_err());
        assert!(parse_from("@b.example").is_err());
        for several in [
            "a@x.example,c@y.example",
            "A <a@x.example>, B <b@y.example>",
            "a@x.example, \"Doe, J\" <j@y.example>",
        ] {
            let e = parse_from(several).unwrap_err();
            assert!(e.0.contains("several author addresses"), "{several}: {e}");
            assert!(e.0.contains("RFC 9989 §5.3.1"), "{e}");
        }
        // A comma inside a quoted display name or a comment is not a second author.
        assert_eq!(
            parse_from("\"Doe, John\" <j@y.example>").unwrap().1,
            "y.example"
        );
        assert_eq!(address_count("j@y.example (Doe, x@z)"), 1);
    }
}
