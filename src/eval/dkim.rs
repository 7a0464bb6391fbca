//! DKIM results as DMARC consumes them (RFC 6376 §6, RFC 8601 §2.7.1). Today they come from
//! the command line (`--dkim`, a dry run without a message); signature verification of real
//! messages will produce the same type, so the verdict does not change when it arrives.

use std::fmt;

use serde::Serialize;

/// The result of evaluating one DKIM signature (RFC 8601 §2.7.1 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DkimAuth {
    Pass,
    Fail,
    /// No signature.
    None,
    /// RFC 8601 §2.7.1 neutral. Accepted from `--dkim`; signature verification does not
    /// produce it (RFC 6376 §6.1 PERMFAIL cases are `PermError`, see `eval::dkim_verify`).
    Neutral,
    /// RFC 8601 §2.7.1 policy: signed, but an aspect of the signature is not acceptable to the
    /// receiver. Accepted from `--dkim`; signature verification does not produce it.
    Policy,
    TempError,
    PermError,
}

impl DkimAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            DkimAuth::Pass => "pass",
            DkimAuth::Fail => "fail",
            DkimAuth::None => "none",
            DkimAuth::Neutral => "neutral",
            DkimAuth::Policy => "policy",
            DkimAuth::TempError => "temperror",
            DkimAuth::PermError => "permerror",
        }
    }

    pub fn from_name(s: &str) -> Option<DkimAuth> {
        Some(match s.to_ascii_lowercase().as_str() {
            "pass" => DkimAuth::Pass,
            "fail" => DkimAuth::Fail,
            "none" => DkimAuth::None,
            "neutral" => DkimAuth::Neutral,
            "policy" => DkimAuth::Policy,
            "temperror" => DkimAuth::TempError,
            "permerror" => DkimAuth::PermError,
            _ => return None,
        })
    }
}

impl fmt::Display for DkimAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One signature's outcome: its signing domain (`d=`), selector (`s=`) and result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DkimResult {
    pub domain: String,
    pub selector: Option<String>,
    pub result: DkimAuth,
    /// Where the result came from: "simulated" for `--dkim`, "message" for a verified
    /// DKIM-Signature of `--message`.
    pub source: String,
    /// For a verified signature: how it was judged (absent for simulated results).
    #[serde(flatten)]
    pub signature: Option<Box<SignatureDetail>>,
}

/// What verifying one DKIM-Signature found (RFC 6376 §6), beside its result: serialised flat
/// into the `dkim` entry of the JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureDetail {
    /// Why this result (body hash mismatch, signature mismatch, key problems, ...).
    pub reason: String,
    /// `a=` (e.g. rsa-sha256).
    pub algorithm: String,
    /// `c=` as header/body (e.g. relaxed/simple).
    pub canonicalization: String,
    /// The public key's size in bits, when a key was found.
    pub key_bits: Option<u32>,
    /// Whether the computed body hash equals `bh=`; absent when not computed.
    pub body_hash_ok: Option<bool>,
    /// The first 8 characters of `b=` (RFC 8601 §2.7.1 `header.b`).
    pub header_b: String,
    /// `i=`, the agent or user identifier, when given.
    pub identity: Option<String>,
    /// The key query and answer, the signed header names, computed vs claimed body hash.
    pub trace: crate::eval::trace::Node,
}

impl DkimResult {
    /// Parses the dry-run form `DOMAIN[:SELECTOR]=pass|fail|none|temperror|permerror`.
    pub fn parse_simulated(spec: &str) -> Result<DkimResult, String> {
        let (left, result) = spec
            .rsplit_once('=')
            .ok_or_else(|| "expected DOMAIN[:SELECTOR]=RESULT".to_string())?;
        let result = DkimAuth::from_name(result.trim()).ok_or_else(|| {
            format!(
                "unknown DKIM result {:?} (pass, fail, none, neutral, policy, temperror, permerror)",
                result.trim()
            )
        })?;
        let (domain, selector) = match left.split_once(':') {
            Some((d, s)) => (d, Some(s)),
            None => (left, None),
        };
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let valid_label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if domain.len() > 253 || !domain.split('.').all(valid_label) {
            return Err(format!("{domain:?} is not a valid domain name"));
        }
        let selector = match selector.map(str::trim) {
            None => None,
            Some(s) if s.split('.').all(valid_label) => Some(s.to_ascii_lowercase()),
            Some(s) => return Err(format!("{s:?} is not a valid selector")),
        };
        Ok(DkimResult {
            domain,
            selector,
            result,
            source: "simulated".to_string(),
            signature: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_specs() {
        let r = DkimResult::parse_simulated("Brand.Example:s1=pass").unwrap();
        assert_eq!(r.domain, "brand.example");
        assert_eq!(r.selector.as_deref(), Some("s1"));
        assert_eq!(r.result, DkimAuth::Pass);
        let r = DkimResult::parse_simulated("esp.example=TempError").unwrap();
        assert_eq!((r.selector, r.result), (None, DkimAuth::TempError));
        for word in ["neutral", "policy"] {
            let r = DkimResult::parse_simulated(&format!("brand.example={word}")).unwrap();
            assert_eq!(r.result.as_str(), word);
            assert_eq!(serde_json::to_value(r.result).unwrap(), word);
        }
        assert!(DkimResult::parse_simulated("brand.example").is_err());
        assert!(DkimResult::parse_simulated("brand.example=ok").is_err());
        assert!(DkimResult::parse_simulated("bad..example=pass").is_err());
        assert!(DkimResult::parse_simulated("a.example:s 1=pass").is_err());
    }
}
