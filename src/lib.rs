//! spfcheck: audit and simulate email-authentication DNS policy.
//!
//! The library holds everything; the `spfcheck` binary only glues its public APIs together.
//! Layers, with imports flowing one way (see ARCHITECTURE.md):
//! `dns` and `record` know nothing above them; `eval` uses both; `verdict` combines evaluations;
//! `report` renders them; `cli` parses arguments and builds the DNS stack.
//!
//! The `cli` module (clap, the binary) is behind the default cargo feature `cli`; a library user
//! who sets `default-features = false` gets no argument parser in their dependency tree.
#![forbid(unsafe_code)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod dns;
pub mod eval;
pub mod psl;
pub mod record;
pub mod report;
pub mod verdict;
