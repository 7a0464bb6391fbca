//! The evaluation trace: a tree of typed events, emitted directly as a tree (not a flat log
//! that a reader must rebuild) and free of clock times, so renderings and golden files are
//! stable. Includes and redirects nest under the term that caused them; every DNS query sits
//! under the step that made it.

use serde::Serialize;

use crate::dns::RType;

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
        outcome: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        records: Vec<String>,
    },
    /// The SPF record selected for the domain (RFC 7208 §4.5).
    Record { text: String },
    /// A TXT record at the domain that was not used, and why.
    Ignored { text: String, reason: String },
    /// One term evaluated, in order. Counters are the values after this term.
    Term {
        term: String,
        outcome: String,
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
    /// A remark on a record's tag (DMARC, later DKIM keys): severity and what it means.
    Diagnostic {
        tag: String,
        severity: String,
        message: String,
    },
    /// A remark that is not a step (e.g. why a term was skipped).
    Note { text: String },
    /// The result `check_host()` returned for this domain.
    Result {
        result: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}
