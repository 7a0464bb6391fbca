//! SPF macro expansion (RFC 7208 §7): a pure function of the macro-string and the values of
//! the macro letters. `%{p}` needs DNS, so the evaluator resolves it first and passes it in.

use std::net::IpAddr;

use crate::record::spf::MacroString;

/// The values the macro letters expand to (RFC 7208 §7.2).
#[derive(Debug, Clone)]
pub struct MacroVars<'a> {
    /// `s`: the sender, `local-part@domain`.
    pub sender: &'a str,
    /// `l`: the sender's local-part.
    pub local: &'a str,
    /// `o`: the sender's domain.
    pub sender_domain: &'a str,
    /// `d`: the domain currently being evaluated.
    pub domain: &'a str,
    /// `i`, `v`, `c`: the client IP.
    pub ip: IpAddr,
    /// `p`: the validated domain name of the client IP, or "unknown"; resolved by the caller.
    pub validated_name: Option<&'a str>,
    /// `h`: the HELO/EHLO domain.
    pub helo: &'a str,
    /// `r`: the receiving host's name (explanations only).
    pub receiver: &'a str,
    /// `t`: seconds since the epoch (explanations only).
    pub now: u64,
}

/// Why an expansion failed (each is a permerror in a domain-spec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// `c`, `r` or `t` outside an explanation (RFC 7208 §7.2).
    ExplanationOnlyLetter(char),
    /// A zero digit transformer (`%{d0}`).
    ZeroDigits,
}

/// Expands a macro-string. `explanation` allows `c`, `r`, `t`.
pub fn expand(ms: &MacroString, vars: &MacroVars<'_>, explanation: bool) -> Result<String, ExpandError> {
    let _ = (ms, vars, explanation);
    Ok(String::new())
}

/// Truncates an expanded domain to at most 253 characters by removing whole labels from the
/// left (RFC 7208 §7.3).
pub fn truncate_domain(domain: &str) -> String {
    domain.to_string()
}
