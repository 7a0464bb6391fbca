//! A shared, TTL-honouring answer cache (STUB).

use std::sync::Arc;

use super::{Answer, RType, Resolver};

pub struct Cache {
    inner: Arc<dyn Resolver>,
}

impl Cache {
    pub fn new(inner: Arc<dyn Resolver>) -> Self {
        Cache { inner }
    }
}

#[async_trait::async_trait]
impl Resolver for Cache {
    async fn query(&self, name: &str, rtype: RType) -> Answer {
        self.inner.query(name, rtype).await
    }
}
