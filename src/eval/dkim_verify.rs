//! DKIM signature verification (RFC 6376 §6): for every DKIM-Signature header of a message,
//! fetch the key, canonicalise, hash and verify, and say why the result is what it is, with
//! a trace. The message layer (`src/message/`) builds the [`MessageView`]; this module only
//! reads the raw bytes it is given.

use std::sync::Arc;

use tokio::time::Instant;

use crate::dns::Resolver;
use crate::eval::dkim::DkimAuth;
use crate::eval::trace::{Event, Node};

/// One header field as it appears in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The field name, as written (case preserved).
    pub name: &'a [u8],
    /// The whole field including name, colon and folded value, WITHOUT the final CRLF.
    pub raw: &'a [u8],
}

/// A message as verification needs it: its header fields in order (top first) and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView<'a> {
    pub headers: Vec<Header<'a>>,
    pub body: &'a [u8],
}

/// The outcome of verifying one DKIM-Signature (RFC 8601 §2.7.1 result names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// `d=` (empty when the signature has none).
    pub domain: String,
    /// `s=` (empty when the signature has none).
    pub selector: String,
    pub result: DkimAuth,
    pub reason: String,
    /// `a=` as written.
    pub algorithm: String,
    /// `c=` spelled out as "header/body".
    pub canonicalization: String,
    /// RSA modulus size of the key used, when one was fetched and parsed.
    pub key_bits: Option<u32>,
    /// Whether the computed body hash matched `bh=`; `None` when it was not computed.
    pub body_hash_ok: Option<bool>,
    /// The first 8 characters of `b=` (RFC 8601 §2.7.1 `header.b`).
    pub header_b: String,
    /// `i=`.
    pub identity: Option<String>,
    pub trace: Node,
}

/// Verifies every DKIM-Signature header of `msg`, topmost first; one [`Verification`] each.
/// `now` is the Unix time against which `t=` and `x=` are checked.
pub async fn verify_message(
    resolver: Arc<dyn Resolver>,
    msg: &MessageView<'_>,
    now: u64,
    deadline: Option<Instant>,
) -> Vec<Verification> {
    let _ = (resolver, now, deadline);
    msg.headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(b"DKIM-Signature"))
        .map(|_| Verification {
            domain: String::new(),
            selector: String::new(),
            result: DkimAuth::PermError,
            reason: "not implemented yet".to_string(),
            algorithm: String::new(),
            canonicalization: String::new(),
            key_bits: None,
            body_hash_ok: None,
            header_b: String::new(),
            identity: None,
            trace: Node::new(Event::Step {
                title: "DKIM-Signature".to_string(),
            }),
        })
        .collect()
}
