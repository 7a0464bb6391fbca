//! The integration tests: one test binary, a module per area (ripgrep style).

mod spf_suite;
