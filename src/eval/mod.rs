//! Evaluators: SPF `check_host()` now; DMARC and DKIM later. Each returns a result and a trace
//! tree (with no clock times in it), and asks DNS only through `dns::Resolver`.

pub mod dkim;
pub mod dkim_keys;
pub mod dkim_verify;
pub mod dmarc;
pub mod lookup;
pub mod macros;
pub mod spf;
pub mod spf_tree;
pub mod trace;
