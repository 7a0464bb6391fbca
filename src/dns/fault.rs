//! Injected DNS failures (`--fault NAME[/TYPE]=timeout|servfail|nxdomain`) (STUB).

use std::sync::Arc;

use super::{Answer, RType, Resolver};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    Timeout,
    ServFail,
    NxDomain,
}

/// Wraps a resolver and fails chosen queries.
pub struct Faults {
    inner: Arc<dyn Resolver>,
    rules: Vec<(String, Option<RType>, FaultKind)>,
}

impl Faults {
    pub fn new(inner: Arc<dyn Resolver>) -> Self {
        Faults {
            inner,
            rules: Vec::new(),
        }
    }
    pub fn add(&mut self, name: &str, rtype: Option<RType>, kind: FaultKind) {
        self.rules.push((super::normalize_name(name), rtype, kind));
    }
}

#[async_trait::async_trait]
impl Resolver for Faults {
    async fn query(&self, name: &str, rtype: RType) -> Answer {
        let _ = &self.rules;
        self.inner.query(name, rtype).await
    }
}

/// TEMP stub
pub fn parse_fault_spec(spec: &str) -> Result<(String, Option<RType>, FaultKind), String> {
    Err(format!("unsupported {spec}"))
}
