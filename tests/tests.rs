//! The integration tests: one test binary, a module per area (ripgrep style).

mod cli;
mod common;
mod dmarc;
mod dns_backend;
mod dry_run;
mod spf_rules;
mod spf_suite;
mod zone_reader;
