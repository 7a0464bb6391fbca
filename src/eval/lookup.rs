//! DNS access for evaluators: every query and its answer land in the trace (as a
//! `dns::recorder::Recorder` would log them) under the step that made it, bounded by the check's overall deadline (RFC 7208 §4.6.4 for
//! SPF; DMARC discovery shares the same instant, so one deadline bounds the whole check).
//! Shared so SPF, DMARC and later DKIM trace their queries the same way.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::dns::{Answer, RType, Resolver, Response, normalize_name, query_name};
use crate::eval::trace::{Event, Node, QueryOutcome};

/// A recorded, deadline-bounded view of a resolver for one evaluation.
pub struct Lookup {
    dns: Arc<dyn Resolver>,
    deadline: Option<Instant>,
    deadline_hit: bool,
    /// False: queries add nothing to the node (no record is formatted), for evaluations
    /// whose trace nobody reads. The answers are the same either way.
    trace: bool,
}

impl Lookup {
    /// Starts the clock: `deadline` is measured from now.
    pub fn new(resolver: Arc<dyn Resolver>, deadline: Option<Duration>) -> Lookup {
        Lookup::until(resolver, deadline.map(|d| Instant::now() + d))
    }

    /// A lookup bounded by an instant shared with other evaluations of the same check.
    pub fn until(resolver: Arc<dyn Resolver>, deadline: Option<Instant>) -> Lookup {
        Lookup {
            dns: resolver,
            deadline,
            deadline_hit: false,
            trace: true,
        }
    }

    /// Whether queries and answers are added to the trace (on by default).
    pub fn traced(mut self, on: bool) -> Lookup {
        self.trace = on;
        self
    }

    /// True once a query has run into the overall deadline.
    pub fn deadline_hit(&self) -> bool {
        self.deadline_hit
    }

    /// One query through the recorder, bounded by the overall deadline; the query and its
    /// answer are added to `node`. After the deadline nothing more is sent.
    pub async fn query(&mut self, name: &str, rtype: RType, node: &mut Node) -> Answer {
        self.query_detailed(name, rtype, node).await.answer
    }

    /// [`Lookup::query`] with the [`Response`] (e.g. the CNAME chain the backend followed).
    pub async fn query_detailed(&mut self, name: &str, rtype: RType, node: &mut Node) -> Response {
        // One name on the wire, in zone data and in the trace (RFC 8616 §4: A-labels).
        // An ASCII name (nearly all) is its own query name: no copy on this hot path.
        let idna;
        let name = if name.is_ascii() {
            name
        } else {
            idna = query_name(name);
            idna.as_str()
        };
        let already_hit = self.deadline_hit || self.deadline.is_some_and(|d| d <= Instant::now());
        // `None`: the deadline cut the query short (or it was never sent).
        let response = match self.deadline {
            Some(_) if already_hit => None,
            Some(deadline) => {
                tokio::time::timeout_at(deadline, self.dns.query_detailed(name, rtype))
                    .await
                    .ok()
            }
            None => Some(self.dns.query_detailed(name, rtype).await),
        };
        let Some(response) = response else {
            self.deadline_hit = true;
            if !self.trace {
                return Response::new(Answer::Timeout);
            }
            // Only the query the deadline cut short was sent; later ones are not.
            let detail = if already_hit {
                "not sent: the overall deadline was already exceeded"
            } else {
                "overall deadline exceeded while waiting for the answer"
            };
            node.push(Event::Query {
                name: name.to_string(),
                rtype,
                outcome: QueryOutcome::Timeout,
                detail: Some(detail.to_string()),
                records: Vec::new(),
                cached: false,
            });
            return Response::new(Answer::Timeout);
        };
        if !self.trace {
            return response;
        }
        // The trace entry is built from the response itself, borrowed: what a `Recorder`
        // would log, without copying the answer (this is the hot path of every evaluation).
        node.push(Event::Query {
            outcome: QueryOutcome::from(&response.answer),
            records: response
                .answer
                .records()
                .iter()
                .map(|r| r.to_string())
                .collect(),
            name: normalize_name(name),
            rtype,
            // The chain the backend followed, shown with the query (RFC 1034 §3.6.2).
            detail: match (&response.detail, response.cname_chain.is_empty()) {
                (d, true) => d.clone(),
                (None, false) => Some(format!(
                    "CNAME chain: {}",
                    response.cname_chain.join(" -> ")
                )),
                (Some(d), false) => Some(format!(
                    "{d}; CNAME chain: {}",
                    response.cname_chain.join(" -> ")
                )),
            },
            cached: response.cached,
        });
        response
    }
}
