//! Zone data answering queries, over live DNS or alone (`--offline`) (STUB: being written).

use std::sync::Arc;

use super::{Answer, RData, RType, Record, Resolver};

/// Records by owner name.
#[derive(Debug, Clone, Default)]
pub struct ZoneData {
    records: Vec<Record>,
}

impl ZoneData {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, name: &str, ttl: u32, data: RData) {
        self.records.push(Record {
            name: super::normalize_name(name),
            ttl,
            data,
        });
    }
    pub fn extend(&mut self, records: impl IntoIterator<Item = Record>) {
        self.records.extend(records);
    }
}

/// Answers from zone data; names/types the data lacks go to `upstream`, or get
/// NXDOMAIN/NODATA when there is none (offline).
pub struct Overlay {
    zone: ZoneData,
    upstream: Option<Arc<dyn Resolver>>,
}

impl Overlay {
    pub fn new(zone: ZoneData, upstream: Option<Arc<dyn Resolver>>) -> Self {
        Overlay { zone, upstream }
    }
}

#[async_trait::async_trait]
impl Resolver for Overlay {
    async fn query(&self, name: &str, rtype: RType) -> Answer {
        let _ = (&self.zone, &self.upstream, name, rtype);
        Answer::NxDomain
    }
}
