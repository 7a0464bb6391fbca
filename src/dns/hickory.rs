//! Live DNS through hickory-resolver (STUB: being written).

use std::net::SocketAddr;
use std::time::Duration;

use super::{Answer, RType, Resolver};

pub struct HickoryResolver {
    _servers: Vec<SocketAddr>,
}

impl HickoryResolver {
    /// Servers from the system configuration (/etc/resolv.conf).
    pub fn system(timeout: Duration) -> Result<Self, String> {
        let _ = timeout;
        Err("not yet".into())
    }
    /// Explicit servers, UDP with TCP fallback on truncation; no cache.
    pub fn with_servers(servers: &[SocketAddr], timeout: Duration) -> Result<Self, String> {
        let _ = timeout;
        Ok(HickoryResolver {
            _servers: servers.to_vec(),
        })
    }
}

#[async_trait::async_trait]
impl Resolver for HickoryResolver {
    async fn query(&self, name: &str, rtype: RType) -> Answer {
        let _ = (name, rtype);
        Answer::Timeout
    }
}
