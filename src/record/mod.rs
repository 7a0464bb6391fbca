//! Pure parsers for the DNS-published policy records: text in, typed value or a positioned
//! error out. Nothing here does I/O or knows about evaluation.

pub mod dmarc;
pub mod spf;
pub mod taglist;
