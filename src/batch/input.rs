//! Batch input: `DOMAIN IP [MAIL-FROM] [HELO]` lines or JSON Lines (detected from the first
//! line that is neither blank nor a `#` comment), read lazily one line at a time, each turned
//! into a check request or a one-line error that keeps its line number.

use std::io::BufRead;
use std::net::IpAddr;

use crate::cli::plan::{parse_domain, parse_identity};
use crate::eval::spf::{Limits, SpfRequest};
use crate::record::dmarc::DmarcMode;
use crate::render::escape::echo;
use crate::verdict::VerdictRequest;

/// The longest input line read (longer lines are reported as errors and skipped).
pub const MAX_LINE: usize = 8192;

/// `--shard K/N`: of the data lines (neither blank nor comments), numbered from 0 in input
/// order, only those whose number mod N is K.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: u64,
    pub n: u64,
}

impl Shard {
    /// Parses `K/N` with N at least 1 and K below N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || {
            format!(
                "--shard {}: expected K/N with 0 <= K < N (e.g. 0/4)",
                echo(s)
            )
        };
        let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let k: u64 = k.trim().parse().map_err(|_| bad())?;
        let n: u64 = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || k >= n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }

    fn takes(&self, index: u64) -> bool {
        index % self.n == self.k
    }
}

/// What every request of a batch shares (the single check's options).
#[derive(Debug, Clone)]
pub struct Template {
    pub receiver: String,
    pub now: u64,
    pub default_explanation: Option<String>,
    pub limits: Limits,
    pub mode: DmarcMode,
}

/// One pair to check.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The 1-based input line number.
    pub line: u64,
    /// DOMAIN and IP as written (echoed in the text output, which the peer harness matches).
    pub domain_raw: String,
    pub ip_raw: String,
    pub request: VerdictRequest,
}

/// One data line: a pair or the reason it is bad.
#[derive(Debug)]
pub struct Entry {
    /// The 1-based input line number.
    pub line: u64,
    pub parsed: Result<Pair, String>,
}

impl Template {
    /// The request for DOMAIN and IP, MAIL FROM (default `postmaster@DOMAIN`) and HELO
    /// (default DOMAIN), as the single check builds it.
    pub fn request(
        &self,
        domain: &str,
        ip: &str,
        mail_from: Option<&str>,
        helo: Option<&str>,
    ) -> Result<VerdictRequest, String> {
        let d = parse_domain(domain, "DOMAIN").map_err(|e| e.0)?;
        let ip: IpAddr = ip
            .trim()
            .parse()
            .map_err(|_| format!("invalid IP address {} (expected IPv4 or IPv6)", echo(ip)))?;
        let helo = match helo {
            Some(h) => parse_identity(h, "HELO").map_err(|e| e.0)?,
            None => d.clone(),
        };
        let mail_from_given = mail_from.is_some();
        let mail_from = match mail_from {
            Some(m) => parse_identity(m, "MAIL-FROM").map_err(|e| e.0)?,
            None => format!("postmaster@{d}"),
        };
        let mut spf = SpfRequest::new(ip, &mail_from, &helo);
        spf.mail_from_assumed = !mail_from_given;
        spf.receiver = self.receiver.clone();
        spf.now = self.now;
        spf.default_explanation = self.default_explanation.clone();
        spf.limits = self.limits;
        Ok(VerdictRequest {
            spf,
            from_domain: d,
            from: None,
            dkim: Vec::new(),
            mode: self.mode,
            pct_sample: 0,
            message: None,
        })
    }

    fn columns(&self, text: &str, line: u64) -> Result<Pair, String> {
        let cols: Vec<&str> = text.split_whitespace().collect();
        match cols.as_slice() {
            [domain, ip, rest @ ..] if rest.len() <= 2 => Ok(Pair {
                line,
                domain_raw: (*domain).to_string(),
                ip_raw: (*ip).to_string(),
                request: self.request(domain, ip, rest.first().copied(), rest.get(1).copied())?,
            }),
            [_] => Err("expected DOMAIN IP [MAIL-FROM] [HELO]: missing IP".into()),
            _ => Err(format!(
                "expected DOMAIN IP [MAIL-FROM] [HELO]: {} columns",
                cols.len()
            )),
        }
    }

    fn json(&self, text: &str, line: u64) -> Result<Pair, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let obj = v
            .as_object()
            .ok_or("expected a JSON object {\"domain\", \"ip\", \"mail_from\", \"helo\"}")?;
        if let Some(k) = obj
            .keys()
            .find(|k| !matches!(k.as_str(), "domain" | "ip" | "mail_from" | "helo"))
        {
            return Err(format!(
                "unknown field {} (expected domain, ip, mail_from, helo)",
                echo(k)
            ));
        }
        let field = |name: &str, required: bool| -> Result<Option<&str>, String> {
            match obj.get(name) {
                Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
                None | Some(serde_json::Value::Null) if !required => Ok(None),
                None | Some(serde_json::Value::Null) => Err(format!("missing \"{name}\"")),
                Some(_) => Err(format!("\"{name}\" must be a string")),
            }
        };
        let domain = field("domain", true)?.unwrap_or_default();
        let ip = field("ip", true)?.unwrap_or_default();
        Ok(Pair {
            line,
            domain_raw: domain.trim().to_string(),
            ip_raw: ip.trim().to_string(),
            request: self.request(
                domain,
                ip,
                field("mail_from", false)?,
                field("helo", false)?,
            )?,
        })
    }
}

/// Reads entries lazily from a buffered input.
pub struct Reader<R> {
    input: R,
    template: Template,
    shard: Option<Shard>,
    /// Lines read so far (the current line's number once read).
    line: u64,
    /// Data lines seen so far (the shard index of the next one).
    index: u64,
    /// Detected from the first data line.
    json: Option<bool>,
    buf: Vec<u8>,
}

impl<R: BufRead> Reader<R> {
    pub fn new(input: R, template: Template, shard: Option<Shard>) -> Self {
        Reader {
            input,
            template,
            shard,
            line: 0,
            index: 0,
            json: None,
            buf: Vec::new(),
        }
    }

    /// Reads one line into `buf` (at most MAX_LINE bytes kept); false at the end.
    fn read_line(&mut self) -> std::io::Result<Option<bool>> {
        self.buf.clear();
        let mut too_long = false;
        loop {
            let available = self.input.fill_buf()?;
            if available.is_empty() {
                return Ok(if self.buf.is_empty() && !too_long {
                    None
                } else {
                    Some(too_long)
                });
            }
            let (chunk, done) = match memchr::memchr(b'\n', available) {
                Some(i) => (available.get(..i).unwrap_or_default(), Some(i + 1)),
                None => (available, None),
            };
            if self.buf.len() + chunk.len() > MAX_LINE {
                too_long = true;
            } else {
                self.buf.extend_from_slice(chunk);
            }
            let used = done.unwrap_or(available.len());
            self.input.consume(used);
            if done.is_some() {
                return Ok(Some(too_long));
            }
        }
    }

    /// The next data line of this shard, or None at the end; an Err is an unreadable input.
    pub fn next_entry(&mut self) -> std::io::Result<Option<Entry>> {
        loop {
            let Some(too_long) = self.read_line()? else {
                return Ok(None);
            };
            self.line += 1;
            let line = self.line;
            let text = std::str::from_utf8(&self.buf).map(str::trim);
            if let Ok(t) = text
                && (t.is_empty() || t.starts_with('#'))
                && !too_long
            {
                continue;
            }
            let index = self.index;
            self.index += 1;
            if self.shard.is_some_and(|s| !s.takes(index)) {
                continue;
            }
            let parsed = match text {
                _ if too_long => Err(format!("line longer than {MAX_LINE} bytes")),
                Err(_) => Err("not UTF-8".to_string()),
                Ok(t) => {
                    let json = *self.json.get_or_insert_with(|| t.starts_with('{'));
                    if json {
                        self.template.json(t, line)
                    } else {
                        self.template.columns(t, line)
                    }
                }
            };
            return Ok(Some(Entry { line, parsed }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Template {
        Template {
            receiver: "unknown".into(),
            now: 0,
            default_explanation: None,
            limits: Limits::default(),
            mode: DmarcMode::Rfc9989,
        }
    }

    fn entries(input: &str, shard: Option<Shard>) -> Vec<(u64, Result<String, String>)> {
        let mut r = Reader::new(input.as_bytes(), template(), shard);
        let mut out = Vec::new();
        while let Some(e) = r.next_entry().unwrap() {
            out.push((
                e.line,
                e.parsed
                    .map(|p| format!("{} {} {}", p.domain_raw, p.ip_raw, p.request.spf.sender)),
            ));
        }
        out
    }

    #[test]
    fn columns_comments_and_errors() {
        let got = entries(
            "# c\n\nA.example 192.0.2.1\nb.example 1.2.3\nc.example ::1 x@y.example h.example\nd e f g h\n",
            None,
        );
        assert_eq!(got.len(), 4);
        assert_eq!(
            got[0],
            (3, Ok("A.example 192.0.2.1 postmaster@a.example".into()))
        );
        assert!(got[1].1.as_ref().unwrap_err().contains("invalid IP"));
        assert_eq!(got[2], (5, Ok("c.example ::1 x@y.example".into())));
        assert!(got[3].1.as_ref().unwrap_err().contains("5 columns"));
    }

    #[test]
    fn json_lines() {
        let got = entries(
            "{\"domain\":\"a.example\",\"ip\":\"192.0.2.1\"}\n{\"domain\":1}\nnot json\n{\"domain\":\"a.example\",\"ip\":\"192.0.2.1\",\"x\":1}\n",
            None,
        );
        assert_eq!(
            got[0].1,
            Ok("a.example 192.0.2.1 postmaster@a.example".into())
        );
        assert!(got[1].1.as_ref().unwrap_err().contains("must be a string"));
        assert!(got[2].1.as_ref().unwrap_err().contains("invalid JSON"));
        assert!(got[3].1.as_ref().unwrap_err().contains("unknown field"));
    }

    #[test]
    fn shards_and_long_lines() {
        assert!(Shard::parse("2/2").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert!(Shard::parse("x").is_err());
        let s = Shard::parse("1/3").unwrap();
        let input = "# skip\na.example 192.0.2.0\na.example 192.0.2.1\n\na.example 192.0.2.2\na.example 192.0.2.3\na.example 192.0.2.4\n";
        let lines: Vec<u64> = entries(input, Some(s)).into_iter().map(|e| e.0).collect();
        // Data lines 0..5 are on input lines 2, 3, 5, 6, 7; indexes 1 and 4 are lines 3 and 7.
        assert_eq!(lines, vec![3, 7]);
        let long = format!("a.example {}\nb.example 192.0.2.1", "1".repeat(MAX_LINE));
        let got = entries(&long, None);
        assert!(got[0].1.as_ref().unwrap_err().contains("longer than"));
        assert_eq!(
            got[1],
            (2, Ok("b.example 192.0.2.1 postmaster@b.example".into()))
        );
    }
}
