//! The integration tests: one test binary, a module per area (ripgrep style).

// Tests may fail loudly: the `[lints.clippy]` panic family is denied only in the library.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod batch;
mod cli;
mod cli_behaviour;
mod color;
mod common;
mod diff;
mod dkim_keys;
mod dkim_keys_dns;
mod dkim_message;
mod dkim_message_signed;
mod dkim_suite;
mod dkim_suite_bin;
mod dkim_verify;
mod dmarc;
mod dns_backend;
mod dns_failures;
mod dry_run;
mod hostile;
mod identities;
mod lint_cli;
mod lint_dmarc;
mod lint_spf;
mod props;
mod readme;
mod replay;
mod replay_aggregate;
mod replay_props;
mod schema_docs;
mod spf_rules;
mod spf_suite;
mod spf_suite_bin;
mod suggest;
mod trace_less;
mod tree;
mod typed;
mod zone_reader;
