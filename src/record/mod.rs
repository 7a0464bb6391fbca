//! Pure parsers for the DNS-published policy records: text in, typed value or a positioned
//! error out. Nothing here does I/O or knows about evaluation.

pub mod dkim_key;
pub mod dkim_sig;
pub mod dmarc;
pub mod spf;
pub mod taglist;

use std::fmt;

/// A parse failure: the byte offset in the input and what was wrong there. Each parser has
/// its own `kind` enum (`spf::ParseErrorKind`, `taglist::ParseErrorKind`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError<K> {
    pub position: usize,
    pub kind: K,
}

impl<K> ParseError<K> {
    pub fn new(position: usize, kind: K) -> Self {
        ParseError { position, kind }
    }
}

impl<K: fmt::Display> fmt::Display for ParseError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at column {})", self.kind, self.position + 1)
    }
}

impl<K: fmt::Display + fmt::Debug> std::error::Error for ParseError<K> {}
