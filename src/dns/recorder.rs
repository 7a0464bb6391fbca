//! Records every query and its answer, in order: the source of evaluation traces.

use std::sync::{Arc, Mutex};

use super::{Answer, RType, Resolver, Response};

/// One query and what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRecord {
    pub name: String,
    pub rtype: RType,
    pub answer: Answer,
    /// The cause of a failure, or what was odd on the way ([`Response::detail`]).
    pub detail: Option<String>,
    /// Served by a cache ([`Response::cached`]).
    pub cached: bool,
    /// The CNAME chain followed ([`Response::cname_chain`]).
    pub cname_chain: Vec<String>,
}

pub struct Recorder {
    inner: Arc<dyn Resolver>,
    log: Mutex<Vec<QueryRecord>>,
}

impl Recorder {
    pub fn new(inner: Arc<dyn Resolver>) -> Self {
        Recorder {
            inner,
            log: Mutex::new(Vec::new()),
        }
    }
    /// Removes and returns the queries recorded so far.
    pub fn take(&self) -> Vec<QueryRecord> {
        match self.log.lock() {
            Ok(mut l) => std::mem::take(&mut *l),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }
}

#[async_trait::async_trait]
impl Resolver for Recorder {
    async fn query(&self, name: &str, rtype: RType) -> Answer {
        self.query_detailed(name, rtype).await.answer
    }

    async fn query_detailed(&self, name: &str, rtype: RType) -> Response {
        let response = self.inner.query_detailed(name, rtype).await;
        let rec = QueryRecord {
            name: super::normalize_name(name),
            rtype,
            answer: response.answer.clone(),
            detail: response.detail.clone(),
            cached: response.cached,
            cname_chain: response.cname_chain.clone(),
        };
        match self.log.lock() {
            Ok(mut l) => l.push(rec),
            Err(p) => p.into_inner().push(rec),
        }
        response
    }
}
