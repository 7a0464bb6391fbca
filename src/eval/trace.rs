//! The evaluation trace: a tree of typed events, emitted directly as a tree (not a flat log
//! that a reader must rebuild) and free of clock times, so renderings and golden files are
//! stable. Includes and redirects nest under the term that caused them; every DNS query sits
//! under the step that made it.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::diag::Diagnostic;
use crate::dns::{Answer, RType};
use crate::eval::dmarc::DmarcResult;
use crate::eval::spf::SpfResult;

/// One node of the trace: an event and what happened inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    #[serde(flatten)]
    pub event: Event,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Node>,
}

impl Node {
    pub fn new(event: Event) -> Node {
        Node {
            event,
            children: Vec::new(),
        }
    }

    /// The node of an evaluation run without a trace (`SpfRequest::trace` off), also the
    /// placeholder of a node whose event is known only later: an empty note, no allocation.
    pub fn empty() -> Node {
        Node::new(Event::Note {
            text: String::new(),
        })
    }

    /// Appends a leaf event.
    pub fn push(&mut self, event: Event) {
        self.children.push(Node::new(event));
    }

    /// This node and all below it, depth-first in pre-order (document order).
    pub fn walk(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            out.push(node);
            stack.extend(node.children.iter().rev());
        }
        out
    }
}

/// What happened at one step of an evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// `check_host()` entered for a domain (RFC 7208 §4); `via` is "include:…", "redirect=…" or
    /// absent for the top level.
    CheckHost {
        domain: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        via: Option<String>,
    },
    /// A DNS query and its answer (or NXDOMAIN / NODATA / SERVFAIL / timeout).
    Query {
        name: String,
        rtype: RType,
        outcome: QueryOutcome,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        records: Vec<String>,
        /// Answered by a cache rather than by a query of its own (serialised only when true).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        cached: bool,
    },
    /// The SPF record selected for the domain (RFC 7208 §4.5).
    Record { text: String },
    /// A TXT record at the domain that was not used, and why.
    Ignored { text: String, reason: String },
    /// One term evaluated, in order. Counters are the values after this term.
    Term {
        term: String,
        outcome: TermOutcome,
        dns_lookups: u32,
        void_lookups: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A macro-string expanded (RFC 7208 §7).
    Macro { before: String, after: String },
    /// A processing limit was exceeded (RFC 7208 §4.6.4).
    Limit {
        limit: String,
        count: u32,
        max: u32,
        term: String,
    },
    /// The explanation computed for a fail (RFC 7208 §6.2).
    Explanation { text: String, source: String },
    /// A named stage of an evaluation (e.g. DMARC policy discovery); its steps are children.
    Step { title: String },
    /// A remark on a record (DMARC tags, later DKIM keys and lint findings): the shared
    /// [`Diagnostic`], its fields beside `"event": "diagnostic"`.
    Diagnostic(Diagnostic),
    /// A remark that is not a step (e.g. why a term was skipped).
    Note { text: String },
    /// The result `check_host()` returned for this domain.
    Result {
        result: EvalResult,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// What a DNS query came to: a closed set, serialised as these words (documented in the
/// README). The cause of a failure is in the query event's `detail`, never in this word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum QueryOutcome {
    /// At least one record of the asked type.
    #[serde(rename = "records")]
    Records,
    /// The name does not exist (RCODE NXDOMAIN).
    #[serde(rename = "NXDOMAIN")]
    NxDomain,
    /// The name exists without records of the type (NOERROR, empty answer).
    #[serde(rename = "NODATA")]
    NoData,
    /// RCODE SERVFAIL.
    #[serde(rename = "SERVFAIL")]
    ServFail,
    /// RCODE REFUSED.
    #[serde(rename = "REFUSED")]
    Refused,
    /// No answer in time: the per-query timeout, or the overall deadline (then `detail` says
    /// so, and whether the query was sent at all).
    #[serde(rename = "timeout")]
    Timeout,
    /// Any other failure: a CNAME loop or over-long chain, a closed port, no network, a
    /// malformed answer, another error RCODE (FORMERR, NOTIMP, ...); `detail` names it.
    #[serde(rename = "error")]
    Error,
}

impl QueryOutcome {
    /// The word, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryOutcome::Records => "records",
            QueryOutcome::NxDomain => "NXDOMAIN",
            QueryOutcome::NoData => "NODATA",
            QueryOutcome::ServFail => "SERVFAIL",
            QueryOutcome::Refused => "REFUSED",
            QueryOutcome::Timeout => "timeout",
            QueryOutcome::Error => "error",
        }
    }

    /// True for the outcomes that are DNS failures (temperror material).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            QueryOutcome::ServFail
                | QueryOutcome::Refused
                | QueryOutcome::Timeout
                | QueryOutcome::Error
        )
    }
}

impl From<&Answer> for QueryOutcome {
    fn from(answer: &Answer) -> QueryOutcome {
        match answer {
            Answer::Records { .. } => QueryOutcome::Records,
            Answer::NxDomain => QueryOutcome::NxDomain,
            Answer::NoData => QueryOutcome::NoData,
            Answer::ServFail => QueryOutcome::ServFail,
            Answer::Refused(_) => QueryOutcome::Refused,
            Answer::Timeout => QueryOutcome::Timeout,
            Answer::Error(_) => QueryOutcome::Error,
        }
    }
}

impl std::fmt::Display for QueryOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one SPF term came out (RFC 7208 §4.6.2, §5, §6.1). The JSON words are part of schema 1:
/// `match → pass` (any result after the arrow), `no match`, `temperror`, `permerror`, and for a
/// redirect `→ pass` (the target's result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermOutcome {
    /// The mechanism matched: the term's qualifier gives this result.
    Match(SpfResult),
    /// The mechanism did not match; evaluation goes on.
    NoMatch,
    /// A DNS failure (or the overall deadline) while evaluating the term.
    TempError,
    /// The term could not be evaluated (limit exceeded, bad target, nested permerror).
    PermError,
    /// A redirect was followed; the target's result (never `none`: that is a permerror).
    Redirect(SpfResult),
}

impl TermOutcome {
    /// The result this outcome decides, if it ends the evaluation of the record.
    pub fn result(self) -> Option<SpfResult> {
        match self {
            TermOutcome::Match(r) | TermOutcome::Redirect(r) => Some(r),
            TermOutcome::NoMatch => None,
            TermOutcome::TempError => Some(SpfResult::TempError),
            TermOutcome::PermError => Some(SpfResult::PermError),
        }
    }
}

impl fmt::Display for TermOutcome {
    /// The schema-1 JSON word.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TermOutcome::Match(r) => write!(f, "match → {r}"),
            TermOutcome::NoMatch => f.write_str("no match"),
            TermOutcome::TempError => f.write_str("temperror"),
            TermOutcome::PermError => f.write_str("permerror"),
            TermOutcome::Redirect(r) => write!(f, "→ {r}"),
        }
    }
}

impl Serialize for TermOutcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The result a `result` event reports: an SPF `check_host()` result or a DMARC result, each
/// serialized as its RFC word (`pass`, `temperror`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum EvalResult {
    Spf(SpfResult),
    Dmarc(DmarcResult),
}

impl From<SpfResult> for EvalResult {
    fn from(r: SpfResult) -> EvalResult {
        EvalResult::Spf(r)
    }
}

impl From<DmarcResult> for EvalResult {
    fn from(r: DmarcResult) -> EvalResult {
        EvalResult::Dmarc(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Severity;

    #[test]
    fn json_words_are_schema_1() {
        let term = Node::new(Event::Term {
            term: "a".into(),
            outcome: TermOutcome::Match(SpfResult::SoftFail),
            dns_lookups: 1,
            void_lookups: 0,
            detail: None,
        });
        let v = serde_json::to_value(&term).unwrap_or_default();
        assert_eq!(v["event"], "term");
        assert_eq!(v["outcome"], "match → softfail");
        for (o, w) in [
            (TermOutcome::NoMatch, "no match"),
            (TermOutcome::TempError, "temperror"),
            (TermOutcome::PermError, "permerror"),
            (TermOutcome::Redirect(SpfResult::Pass), "→ pass"),
        ] {
            assert_eq!(serde_json::to_value(o).unwrap_or_default(), w);
        }
        let r = Node::new(Event::Result {
            result: DmarcResult::TempError.into(),
            reason: None,
        });
        let v = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(
            (v["event"].as_str(), v["result"].as_str()),
            (Some("result"), Some("temperror"))
        );
        let d = Node::new(Event::Diagnostic(
            Diagnostic::new("dmarc-unknown-tag", Severity::Warning, "RFC 9989 §4.7", "m")
                .with_tag("zz")
                .at(4),
        ));
        let v = serde_json::to_value(&d).unwrap_or_default();
        assert_eq!(v["event"], "diagnostic");
        assert_eq!(
            (v["tag"].as_str(), v["severity"].as_str()),
            (Some("zz"), Some("warning"))
        );
        assert_eq!(
            (v["code"].as_str(), v["position"].as_u64()),
            (Some("dmarc-unknown-tag"), Some(4))
        );
    }
}
