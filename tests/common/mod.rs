//! Helpers shared by the integration-test modules of `tests/tests.rs`.
//!
//! - [`TestDns`]: an authoritative DNS server (in-process hickory-server) on 127.0.0.1, UDP and
//!   TCP on one random port, serving a `Vec<spfcheck::dns::Record>`, with optional per-name
//!   faults (SERVFAIL, REFUSED, no answer).
//! - [`SilentDns`]: a UDP socket and TCP listener that never answer.
//! - [`validate_output`]: a JSON output checked against `schema/spfcheck.schema.json`
//!   (`run_spfcheck` does it for every `--json` run).
//!
//! Both run on background threads (TestDns with its own tokio runtime), so plain synchronous
//! `#[test]`s can start them, then run the built binary
//! (`std::process::Command::new(env!("CARGO_BIN_EXE_spfcheck"))`, giving it `dns.addr()` as its
//! server) or build a `HickoryResolver::with_servers(&[dns.addr()], timeout)`. Dropping a
//! server stops its thread.

// Not every test module uses every helper.
#![allow(dead_code)]

mod bin;
mod dns_server;
mod schema;

#[allow(unused_imports)]
pub use bin::{HARD_LIMIT, Ran, run_spfcheck};
#[allow(unused_imports)]
pub use dns_server::{Fault, LoggedQuery, SilentDns, TestDns, TestDnsBuilder};
#[allow(unused_imports)]
pub use schema::{SCHEMA_PATH, schema, schema_enum, schema_errors, validate_output};

use serde_json::Value;
use spfcheck::dns::{RData, Record};

/// A record with TTL 300: `rec("example.com", RData::A(...))`.
pub fn rec(name: &str, data: RData) -> Record {
    Record {
        name: name.to_string(),
        ttl: 300,
        data,
    }
}

/// A TXT record data from text strings (each one character-string).
pub fn txt(parts: &[&str]) -> RData {
    RData::Txt(parts.iter().map(|p| p.as_bytes().to_vec()).collect())
}

/// Every node of a JSON trace (depth first) whose `event` is `event`.
pub fn events<'a>(trace: &'a Value, event: &str) -> Vec<&'a Value> {
    let mut found = Vec::new();
    let mut stack = vec![trace];
    while let Some(node) = stack.pop() {
        if node["event"] == event {
            found.push(node);
        }
        if let Some(children) = node["children"].as_array() {
            stack.extend(children.iter().rev());
        }
    }
    found
}
