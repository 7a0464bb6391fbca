//! spfcheck: audit and simulate email-authentication DNS policy.
//!
//! The library holds everything; the `spfcheck` binary only glues its public APIs together.
//! Layers, with imports flowing one way (see ARCHITECTURE.md):
//! `dns` and `record` know nothing above them; `eval` uses both; `verdict` combines evaluations;
//! `report` renders them; `cli` parses arguments and builds the DNS stack.
#![forbid(unsafe_code)]

pub mod cli;
pub mod diag;
pub mod dns;
pub mod eval;
pub mod psl;
pub mod record;
pub mod report;
pub mod verdict;
