//! The built objects: from parsed arguments to a validated `SpfRequest` and the DNS stack
//! (live → zone overlay → fault injection), built once. This is the only place that reads
//! files and the clock.

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
use crate::record::dmarc::{DmarcMode, is_dmarc_record};
use crate::record::spf::is_spf_record;
use crate::verdict::VerdictRequest;

use super::args::{Args, DmarcChoice, Format};

/// Everything needed to run one check.
pub struct Plan {
    pub request: VerdictRequest,
    pub resolver: Arc<dyn Resolver>,
    pub format: Format,
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
        // DOMAIN may be left out when --from names the From address: then the one positional
        // argument is the IP.
        let (domain_arg, ip_arg) = match (&args.ip, &args.from) {
            (Some(ip), _) => (Some(args.domain.as_str()), ip.as_str()),
            (None, Some(_)) => (None, args.domain.as_str()),
            (None, None) => return err("missing IP (usage: spfcheck [OPTIONS] DOMAIN IP)"),
        };
        let ip = parse_ip(ip_arg)?;
        let from = match &args.from {
            Some(f) => Some(parse_from(f)?),
            None => None,
        };
        let domain = match (&from, domain_arg) {
            (Some((_, d)), _) => d.clone(),
            (None, Some(d)) => parse_domain(d, "DOMAIN")?,
            (None, None) => return err("missing DOMAIN"),
        };
        if let (Some((_, fd)), Some(d)) = (&from, domain_arg)
            && parse_domain(d, "DOMAIN")? != *fd
        {
            return err(format!(
                "DOMAIN {d:?} differs from the --from domain {fd:?}: give one of them"
            ));
        }
        let dkim = args
            .dkim
            .iter()
            .map(|spec| {
                DkimResult::parse_simulated(spec)
                    .map_err(|e| InputError(format!("--dkim {spec:?}: {e}")))
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
        let now = match &args.now {
            Some(t) => parse_time(t)?,
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        let timeout = seconds(args.timeout, "--timeout")?;
        let deadline = seconds(args.deadline, "--deadline")?;
        let mut request = SpfRequest::new(ip, &mail_from, &helo);
        request.receiver = args.receiver.clone();
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
        let resolver = build_resolver(args, &request.domain, &domain, timeout)?;
        let format = if args.json { Format::Json } else { args.format };
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
        };
        Ok(Plan {
            request,
            resolver,
            format,
        })
    }
}

/// live → overlay (zone files, --record, --dmarc-record) → faults.
fn build_resolver(
    args: &Args,
    domain: &str,
    from_domain: &str,
    timeout: Duration,
) -> Result<Arc<dyn Resolver>, InputError> {
    let mut zone = ZoneData::new();
    for path in &args.zone {
        // Bounded (16 MiB, regular files only); errors read FILE:LINE: message.
        match parse_zone_file(Path::new(path)) {
            Ok(records) => zone.extend(records),
            Err(e) => return err(e.to_string()),
        }
    }
    // Dry runs replace (never add to) the published record, in the zone data and live DNS
    // alike; other TXT records at the name stay.
    let mut replacements = Vec::new();
    if let Some(record) = &args.record {
        if !is_spf_record(record) {
            return err(format!(
                "--record {record:?} is not an SPF record (it must begin with \"v=spf1\")"
            ));
        }
        // RFC 7208 §4.5: the SPF records at the name are the TXT records starting "v=spf1".
        replacements.push(TxtReplacement::new(domain, is_spf_record, record));
    }
    if let Some(record) = &args.dmarc_record {
        if !is_dmarc_record(record) {
            return err(format!(
                "--dmarc-record {record:?} is not a DMARC record (it must begin with \"v=DMARC1\")"
            ));
        }
        // RFC 9989 §4.10 step 2: the DMARC records at `_dmarc.<From domain>` are the TXT
        // records starting with the v=DMARC1 tag.
        let name = format!("_dmarc.{from_domain}");
        replacements.push(TxtReplacement::new(&name, is_dmarc_record, record));
    }
    let upstream: Option<Arc<dyn Resolver>> = if args.offline {
        None
    } else {
        let live = if args.nameserver.is_empty() {
            HickoryResolver::system(timeout)
        } else {
            let servers = args
                .nameserver
                .iter()
                .map(|s| parse_nameserver(s))
                .collect::<Result<Vec<_>, _>>()?;
            HickoryResolver::with_servers(&servers, timeout)
        };
        // One cache for the check, right over live DNS: SPF and DMARC often ask the same
        // names, and an answer repeated within a check is served (and marked `cached`) once.
        match live {
            Ok(r) => Some(Arc::new(Cache::new(Arc::new(r)))),
            Err(e) => return err(format!("cannot set up DNS: {e}")),
        }
    };
    let mut resolver: Arc<dyn Resolver> =
        if args.offline || !args.zone.is_empty() || !replacements.is_empty() {
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
    if !args.fault.is_empty() {
        let mut faults = Faults::new(resolver);
        for spec in &args.fault {
            match parse_fault_spec(spec) {
                Ok((name, rtype, kind)) => faults.add(&name, rtype, kind),
                Err(e) => return err(format!("--fault {spec:?}: {e}")),
            }
        }
        resolver = Arc::new(faults);
    }
    Ok(resolver)
}

fn parse_ip(s: &str) -> Result<IpAddr, InputError> {
    match s.trim().parse::<IpAddr>() {
        Ok(ip) => Ok(ip),
        Err(_) => err(format!("invalid IP address {s:?} (expected IPv4 or IPv6)")),
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
            "{what}: {s:?} is not ASCII (give internationalized names as A-labels, xn--…)"
        ));
    }
    if d.len() > 253 {
        return err(format!("{what}: {s:?} is longer than 253 characters"));
    }
    for label in d.split('.') {
        if label.is_empty() {
            return err(format!("{what}: {s:?} has an empty label"));
        }
        if label.len() > 63 {
            return err(format!(
                "{what}: {s:?} has a label longer than 63 characters"
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return err(format!(
                "{what}: {s:?} contains {c:?}, not allowed in a domain name"
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
fn parse_identity(s: &str, what: &str) -> Result<String, InputError> {
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
    let addr = match (t.rfind('<'), t.rfind('>')) {
        (Some(a), Some(b)) if a < b => &t[a + 1..b],
        (None, None) => t,
        _ => return err(format!("--from {s:?}: unbalanced angle brackets")),
    };
    let addr = addr.trim();
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return err(format!(
            "--from {s:?}: expected an address like sales@example.com"
        ));
    };
    if local.is_empty() || local.chars().any(|c| c.is_control() || c == ' ') {
        return err(format!("--from {s:?}: invalid local-part"));
    }
    let domain = parse_domain(domain, "--from")?;
    Ok((format!("{local}@{domain}"), domain))
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
            "--nameserver {s:?}: expected IP or IP:PORT (IPv6 with port as [addr]:port)"
        )),
    }
}

fn seconds(v: f64, what: &str) -> Result<Duration, InputError> {
    if !(v.is_finite() && v > 0.0 && v <= 86_400.0) {
        return err(format!(
            "{what} must be a number of seconds between 0 and 86400"
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Seconds since the epoch, or RFC 3339 `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
pub fn parse_time(s: &str) -> Result<u64, InputError> {
    let t = s.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    let bad = || {
        InputError(format!(
            "--now {s:?}: expected seconds since the epoch or RFC 3339 (2021-07-15T22:51:19Z)"
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
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
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
    }
}
