//! DNS access for evaluators: every query goes through a `Recorder` and lands in the trace
//! under the step that made it, bounded by the evaluation's overall deadline (RFC 7208
//! §4.6.4 for SPF; DMARC discovery uses the same bound). Shared so SPF, DMARC and later DKIM
//! trace their queries the same way.

use std::sync::Arc;
use std::time::Duration;

use crate::dns::recorder::Recorder;
use crate::dns::{Answer, RType, Resolver, query_name};
use crate::eval::trace::{Event, Node};

/// A recorded, deadline-bounded view of a resolver for one evaluation.
pub struct Lookup {
    dns: Recorder,
    deadline: Option<tokio::time::Instant>,
    deadline_hit: bool,
}

impl Lookup {
    /// Starts the clock: `deadline` is measured from now.
    pub fn new(resolver: Arc<dyn Resolver>, deadline: Option<Duration>) -> Lookup {
        Lookup {
            dns: Recorder::new(resolver),
            deadline: deadline.map(|d| tokio::time::Instant::now() + d),
            deadline_hit: false,
        }
    }

    /// True once a query has run into the overall deadline.
    pub fn deadline_hit(&self) -> bool {
        self.deadline_hit
    }

    /// One query through the recorder, bounded by the overall deadline; the query and its
    /// answer are added to `node`. After the deadline nothing more is sent.
    pub async fn query(&mut self, name: &str, rtype: RType, node: &mut Node) -> Answer {
        // One name on the wire, in zone data and in the trace (RFC 8616 §4: A-labels).
        let name = query_name(name);
        let name = name.as_str();
        let already_hit = self.deadline_hit;
        let answer = match self.deadline {
            Some(deadline) if !self.deadline_hit => {
                match tokio::time::timeout_at(deadline, self.dns.query(name, rtype)).await {
                    Ok(answer) => answer,
                    Err(_) => {
                        self.deadline_hit = true;
                        Answer::Timeout
                    }
                }
            }
            Some(_) => Answer::Timeout,
            None => self.dns.query(name, rtype).await,
        };
        let recorded = self.dns.take();
        if recorded.is_empty() {
            // Only the query the deadline cut short was sent; later ones are not.
            let outcome = if already_hit {
                "not sent (overall deadline already exceeded)"
            } else {
                "timeout (overall deadline exceeded)"
            };
            node.push(Event::Query {
                name: name.to_string(),
                rtype,
                outcome: outcome.to_string(),
                records: Vec::new(),
            });
        }
        for q in recorded {
            node.push(Event::Query {
                name: q.name,
                rtype: q.rtype,
                outcome: q.answer.kind().to_string(),
                records: q.answer.records().iter().map(|r| r.to_string()).collect(),
            });
        }
        answer
    }
}
