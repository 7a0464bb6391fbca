//! The one integration-test binary (ripgrep style: `autotests = false` in Cargo.toml, one
//! `[[test]]` target, every test file a module here so the crate and helpers build once).

mod common;
mod dns_backend;
