//! The integration tests: one test binary, a module per area (ripgrep style).

mod cli;
mod common;
mod dmarc;
mod dns_backend;
mod dns_failures;
mod spf_rules;
mod spf_suite;
