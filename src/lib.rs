//! spfcheck: audit and simulate email-authentication DNS policy.
//!
//! The library holds everything; the `spfcheck` binary only glues its public APIs together.
//! Layers, with imports flowing one way (see ARCHITECTURE.md):
//! `dns` and `record` know nothing above them; `eval` uses both; `verdict` combines evaluations;
//! `render` renders them (named so it cannot be confused with the DMARC and ARF reports the
//! tool will read as input); `cli` parses arguments and builds the DNS stack. `diag` is the one
//! typed remark ([`diag::Diagnostic`]: code, severity, position, RFC, message) that SPF and
//! DMARC report problems with.
//!
//! The `cli` module (clap, the binary) is behind the default cargo feature `cli`; a library user
//! who sets `default-features = false` gets no argument parser in their dependency tree.
//!
//! The library in three lines: DNS data (here a zone file's text, offline), a request, a check.
//!
//! ```
//! use std::sync::Arc;
//! use spfcheck::dns::overlay::{Overlay, ZoneData};
//! use spfcheck::eval::spf::{SpfRequest, SpfResult, check_host};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let zone = ZoneData::from_zone_text("example.com. TXT \"v=spf1 ip4:192.0.2.0/24 -all\"", None)?;
//! let dns = Arc::new(Overlay::new(zone, None)); // no upstream: offline
//! let out = check_host(dns, &SpfRequest::new("192.0.2.1".parse()?, "a@example.com", "mx.example.com")).await;
//! assert_eq!(out.result, SpfResult::Pass);
//! assert_eq!(out.mechanism.as_deref(), Some("ip4:192.0.2.0/24"));
//!
//! // A problem is a typed Diagnostic: match on its stable code, not on its words.
//! let bad = ZoneData::from_zone_text("example.com. TXT \"v=spf1 ip4:192.0.2.300 -all\"", None)?;
//! let out = check_host(Arc::new(Overlay::new(bad, None)), &SpfRequest::new("192.0.2.1".parse()?, "a@example.com", "mx.example.com")).await;
//! assert_eq!(out.result, SpfResult::PermError);
//! assert_eq!(out.problem.map(|d| d.code), Some("spf-syntax"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "cli")]
pub mod batch;
#[cfg(feature = "cli")]
pub mod cli;
pub mod diag;
pub mod diff;
pub mod dns;
pub mod eval;
pub mod lint;
pub mod message;
pub mod psl;
pub mod record;
pub mod render;
pub mod replay;
pub mod report;
pub mod suggest;
pub mod verdict;
