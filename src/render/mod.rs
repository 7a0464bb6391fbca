//! Renderings of evaluation results: colored text with the verdict and the trace trees, the
//! stable JSON document, the Authentication-Results header (RFC 8601) and the Received-SPF
//! header (RFC 7208 §9.1). Renderers are pure: they return strings; the CLI decides where they
//! go and whether color is on. Every string that came from DNS, a file or an argument goes
//! through `escape` before it reaches a terminal.

pub mod auth_results;
pub mod diff;
pub mod dkim_keys;
pub mod escape;
pub mod header;
pub mod json;
pub mod lint;
pub mod received_spf;
pub mod replay;
pub mod replay_aggregate;
pub mod style;
pub mod suggest;
pub mod text;
pub mod tree;

use crate::eval::spf::{SpfOutput, SpfRequest};
use crate::verdict::{Verdict, VerdictRequest};

/// One SPF check: what was asked and what came out.
#[derive(Debug, Clone)]
pub struct SpfView<'a> {
    pub request: &'a SpfRequest,
    pub output: &'a SpfOutput,
}

/// A whole verdict: the request and the result.
#[derive(Debug, Clone)]
pub struct CheckView<'a> {
    pub request: &'a VerdictRequest,
    pub verdict: &'a Verdict,
}

impl<'a> CheckView<'a> {
    /// The SPF part.
    pub fn spf(&self) -> SpfView<'a> {
        SpfView {
            request: &self.request.spf,
            output: &self.verdict.spf,
        }
    }
}

/// Header comment text (RFC 5322 §3.2.2 ctext): parentheses and backslashes escaped, anything
/// not printable ASCII replaced by "?". Shared by Received-SPF and Authentication-Results.
pub fn comment_text(c: &str) -> String {
    let mut s = String::new();
    for ch in c.chars() {
        match ch {
            '(' | ')' | '\\' => {
                s.push('\\');
                s.push(ch);
            }
            c if c.is_ascii_graphic() || c == ' ' => s.push(c),
            // Our own texts cite RFC sections with "§"; keep them readable in ASCII headers.
            '§' => s.push_str("section "),
            _ => s.push('?'),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::dns::Resolver;
    use crate::dns::overlay::{Overlay, ZoneData};
    use crate::record::dmarc::DmarcMode;

    /// An invalid receiver name (the CLI refuses it; a library caller may not) is written the
    /// same way in both headers: "unknown", so that `mx; spf=pass` cannot add a method.
    #[test]
    fn both_headers_treat_an_invalid_receiver_alike() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let resolver: Arc<dyn Resolver> = Arc::new(Overlay::new(ZoneData::new(), None));
        let mut spf = SpfRequest::new("192.0.2.1".parse().unwrap(), "a@b.example", "b.example");
        spf.receiver = "mx; spf=pass".to_string();
        let request = VerdictRequest {
            spf,
            from_domain: "b.example".to_string(),
            from: None,
            dkim: Vec::new(),
            mode: DmarcMode::Rfc9989,
            pct_sample: 0,
            message: None,
        };
        let verdict = rt.block_on(crate::verdict::evaluate(resolver, &request));
        let report = CheckView {
            request: &request,
            verdict: &verdict,
        };
        let ar = auth_results::render(&report);
        let rs = received_spf::render(&report.spf());
        assert!(
            ar.starts_with("Authentication-Results: unknown; spf=none "),
            "{ar}"
        );
        assert!(rs.starts_with("Received-SPF: none (unknown: "), "{rs}");
        assert!(rs.contains(" receiver=unknown;"), "{rs}");
        assert!(!ar.contains("mx;") && !rs.contains("mx;"), "{ar}\n{rs}");
    }
}
