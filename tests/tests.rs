//! The integration tests: one test binary, a module per area (ripgrep style).

mod cli;
mod cli_behaviour;
mod common;
mod dmarc;
mod dns_backend;
mod identities;
mod spf_rules;
mod spf_suite;
mod spf_suite_bin;
