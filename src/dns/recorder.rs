//! Records every query and its answer, in order: the source of evaluation traces (STUB).

use std::sync::{Arc, Mutex};

use super::{Answer, RType, Resolver};

/// One query and what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRecord {
    pub name: String,
    pub rtype: RType,
    pub answer: Answer,
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
        let answer = self.inner.query(name, rtype).await;
        let rec = QueryRecord {
            name: super::normalize_name(name),
            rtype,
            answer: answer.clone(),
        };
        match self.log.lock() {
            Ok(mut l) => l.push(rec),
            Err(p) => p.into_inner().push(rec),
        }
        answer
    }
}
