//! Injected DNS failures (`--fault NAME[/TYPE]=timeout|servfail|nxdomain`).
//!
//! It exists because the RFCs treat DNS failures specially — SPF turns SERVFAIL and timeouts
//! into `temperror` (RFC 7208 §2.6.6, §5), NXDOMAIN into a void lookup (§4.6.4) — and those
//! paths must be testable and demonstrable without breaking real DNS. A [`Faults`] wrapper
//! answers matching queries itself and forwards all others to the resolver it wraps.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Answer, RType, Resolver, Response, normalize_name, normalized};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    Timeout,
    ServFail,
    NxDomain,
}

impl FaultKind {
    /// The answer a query hit by this fault gets.
    pub fn answer(self) -> Answer {
        match self {
            // Returned at once: simulating the wait would only slow tests down.
            FaultKind::Timeout => Answer::Timeout,
            FaultKind::ServFail => Answer::ServFail,
            FaultKind::NxDomain => Answer::NxDomain,
        }
    }

    /// Parses `timeout`, `servfail` or `nxdomain`, case-insensitively.
    pub fn from_name(s: &str) -> Option<FaultKind> {
        match s.to_ascii_lowercase().as_str() {
            "timeout" => Some(FaultKind::Timeout),
            "servfail" => Some(FaultKind::ServFail),
            "nxdomain" => Some(FaultKind::NxDomain),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Timeout => "timeout",
            FaultKind::ServFail => "servfail",
            FaultKind::NxDomain => "nxdomain",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses the CLI syntax `NAME[/TYPE]=timeout|servfail|nxdomain` into the arguments of
/// [`Faults::add`]. The name is returned normalized (lower-case, no trailing dot).
pub fn parse_fault_spec(spec: &str) -> Result<(String, Option<RType>, FaultKind), String> {
    let Some((target, kind)) = spec.rsplit_once('=') else {
        return Err(format!(
            "invalid fault {spec:?}: expected NAME[/TYPE]=timeout|servfail|nxdomain"
        ));
    };
    let kind = FaultKind::from_name(kind.trim()).ok_or_else(|| {
        format!(
            "invalid fault {spec:?}: unknown kind {:?} (expected timeout, servfail or nxdomain)",
            kind.trim()
        )
    })?;
    let (name, rtype) = match target.rsplit_once('/') {
        Some((name, t)) => {
            let rtype = RType::from_name(t.trim()).ok_or_else(|| {
                format!(
                    "invalid fault {spec:?}: unknown record type {:?} (expected A, AAAA, MX, TXT, PTR or CNAME)",
                    t.trim()
                )
            })?;
            (name, Some(rtype))
        }
        None => (target, None),
    };
    let name = normalize_name(name.trim());
    if name.is_empty() {
        return Err(format!(
            "invalid fault {spec:?}: empty name (expected NAME[/TYPE]=KIND, e.g. example.com/TXT=servfail)"
        ));
    }
    if let Some(why) = unmatchable(&name) {
        return Err(format!(
            "invalid fault {spec:?}: {why}, so no query could match it (expected NAME[/TYPE]=KIND, e.g. example.com/TXT=servfail)"
        ));
    }
    Ok((name, rtype, kind))
}

/// Why no query can ever be for `name` (normalized), if so: a second `/` (`name/TXT/A`),
/// white space or control characters, an empty label, a label over 63 octets or a name over
/// 253 (RFC 1035 §2.3.4).
fn unmatchable(name: &str) -> Option<String> {
    if name.contains('/') {
        return Some(format!(
            "the name \"{name}\" contains '/' (one /TYPE at most)"
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Some(format!(
            "the name contains U+{:04X} (white space or a control character)",
            u32::from(c)
        ));
    }
    if name.len() > 253 {
        return Some(format!(
            "the name is {} octets long (at most 253)",
            name.len()
        ));
    }
    if name.split('.').any(str::is_empty) {
        return Some(format!("the name \"{name}\" has an empty label"));
    }
    if let Some(l) = name.split('.').find(|l| l.len() > 63) {
        return Some(format!("a label is {} octets long (at most 63)", l.len()));
    }
    None
}

/// Wraps a resolver and fails chosen queries, counting how often each rule fired (so a rule
/// that never matched can be reported: a misspelt fault would otherwise look like a passing
/// dry run).
pub struct Faults {
    inner: Arc<dyn Resolver>,
    rules: Vec<(String, Option<RType>, FaultKind)>,
    hits: Vec<AtomicUsize>,
}

impl Faults {
    pub fn new(inner: Arc<dyn Resolver>) -> Self {
        Faults {
            inner,
            rules: Vec::new(),
            hits: Vec::new(),
        }
    }

    /// Adds a rule: queries for `name` (case-insensitive, trailing dot ignored) and `rtype`
    /// (`None`: any type) get `kind`'s answer. The first matching rule wins.
    pub fn add(&mut self, name: &str, rtype: Option<RType>, kind: FaultKind) {
        self.rules.push((normalize_name(name), rtype, kind));
        self.hits.push(AtomicUsize::new(0));
    }

    /// How many queries each rule answered so far, in rule order.
    pub fn hits(&self) -> Vec<usize> {
        self.hits
            .iter()
            .map(|h| h.load(Ordering::Relaxed))
            .collect()
    }

    /// The rules no query has matched so far, as `NAME[/TYPE]=KIND`.
    pub fn unused(&self) -> Vec<String> {
        self.rules
            .iter()
            .zip(self.hits())
            .filter(|(_, n)| *n == 0)
            .map(|((name, rtype, kind), _)| match rtype {
                Some(t) => format!("{name}/{t}={kind}"),
                None => format!("{name}={kind}"),
            })
            .collect()
    }

    /// Adds a rule from `NAME[/TYPE]=KIND` (see [`parse_fault_spec`]).
    pub fn add_spec(&mut self, spec: &str) -> Result<(), String> {
        let (name, rtype, kind) = parse_fault_spec(spec)?;
        self.add(&name, rtype, kind);
        Ok(())
    }

    /// The rules, in the order they are tried.
    pub fn rules(&self) -> &[(String, Option<RType>, FaultKind)] {
        &self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The fault a query would get, if any.
    pub fn fault_for(&self, name: &str, rtype: RType) -> Option<FaultKind> {
        self.rule_for(name, rtype)
            .and_then(|i| self.rules.get(i))
            .map(|&(_, _, kind)| kind)
    }

    /// The fault a query gets, if any, counted as a hit of its rule (unfired rules are
    /// reported).
    fn fire(&self, name: &str, rtype: RType) -> Option<FaultKind> {
        let i = self.rule_for(name, rtype)?;
        let (_, _, kind) = self.rules.get(i)?;
        if let Some(hits) = self.hits.get(i) {
            hits.fetch_add(1, Ordering::Relaxed);
        }
        Some(*kind)
    }

    fn rule_for(&self, name: &str, rtype: RType) -> Option<usize> {
        let name = normalized(name);
        self.rules
            .iter()
            .position(|(n, t, _)| *n == name && t.is_none_or(|t| t == rtype))
    }
}

#[async_trait::async_trait]
impl Resolver for Faults {
    async fn query(&self, name: &str, rtype: RType) -> Answer {
        match self.fire(name, rtype) {
            Some(kind) => kind.answer(),
            None => self.inner.query(name, rtype).await,
        }
    }

    async fn query_detailed(&self, name: &str, rtype: RType) -> Response {
        match self.fire(name, rtype) {
            Some(kind) => {
                let mut response = Response::new(kind.answer());
                response.detail = Some(format!("injected fault ({})", kind.as_str()));
                response
            }
            None => self.inner.query_detailed(name, rtype).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Counting(AtomicUsize);

    #[async_trait::async_trait]
    impl Resolver for Counting {
        async fn query(&self, _name: &str, _rtype: RType) -> Answer {
            self.0.fetch_add(1, Ordering::SeqCst);
            Answer::NoData
        }
    }

    #[test]
    fn parse_specs() {
        assert_eq!(
            parse_fault_spec("Example.COM./txt=ServFail"),
            Ok(("example.com".into(), Some(RType::Txt), FaultKind::ServFail))
        );
        assert_eq!(
            parse_fault_spec("mail.example=timeout"),
            Ok(("mail.example".into(), None, FaultKind::Timeout))
        );
        assert_eq!(
            parse_fault_spec("x.example/AAAA=nxdomain"),
            Ok(("x.example".into(), Some(RType::Aaaa), FaultKind::NxDomain))
        );
        let e = parse_fault_spec("x.example=refused").unwrap_err();
        assert!(e.contains("unknown kind \"refused\""), "{e}");
        let e = parse_fault_spec("x.example/SOA=timeout").unwrap_err();
        assert!(e.contains("unknown record type \"SOA\""), "{e}");
        let e = parse_fault_spec("/TXT=timeout").unwrap_err();
        assert!(e.contains("empty name"), "{e}");
        let e = parse_fault_spec(".=timeout").unwrap_err();
        assert!(e.contains("empty name"), "{e}");
        let e = parse_fault_spec("x.example").unwrap_err();
        assert!(e.contains("expected NAME[/TYPE]="), "{e}");
        for (bad, why) in [
            ("name/TXT/A=timeout", "contains '/'"),
            ("a b.example=timeout", "U+0020"),
            ("a..b=timeout", "empty label"),
        ] {
            let e = parse_fault_spec(bad).unwrap_err();
            assert!(e.contains(why) && e.contains("no query could match"), "{e}");
        }
        let long = format!("{}.example=timeout", "a".repeat(64));
        assert!(parse_fault_spec(&long).unwrap_err().contains("at most 63"));
    }

    #[tokio::test]
    async fn faults_match_name_and_type() {
        let inner = Arc::new(Counting::default());
        let mut f = Faults::new(inner.clone());
        f.add("A.example.", Some(RType::Txt), FaultKind::ServFail);
        f.add("b.example", None, FaultKind::Timeout);
        f.add_spec("c.example/MX=nxdomain").unwrap();
        assert_eq!(f.query("a.EXAMPLE", RType::Txt).await, Answer::ServFail);
        assert_eq!(f.query("a.example.", RType::A).await, Answer::NoData);
        assert_eq!(f.query("b.example", RType::Ptr).await, Answer::Timeout);
        assert_eq!(f.query("B.example.", RType::A).await, Answer::Timeout);
        assert_eq!(f.query("c.example", RType::Mx).await, Answer::NxDomain);
        assert_eq!(f.query("x.b.example", RType::A).await, Answer::NoData);
        // Only the two unmatched queries reached the inner resolver.
        assert_eq!(inner.0.load(Ordering::SeqCst), 2);
        assert_eq!(f.rules().len(), 3);
        assert_eq!(f.hits(), vec![1, 2, 1]);
        f.add("never.example", Some(RType::A), FaultKind::ServFail);
        assert_eq!(f.unused(), vec!["never.example/A=servfail".to_string()]);
        assert_eq!(f.fault_for("c.example", RType::Txt), None);
    }
}
