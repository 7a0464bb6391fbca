//! Renderings of evaluation results: colored text with the verdict and the trace trees, the
//! stable JSON document, the Authentication-Results header (RFC 8601) and the Received-SPF
//! header (RFC 7208 §9.1). Renderers are pure: they return strings; the CLI decides where they
//! go and whether color is on.

pub mod auth_results;
pub mod json;
pub mod received_spf;
pub mod style;
pub mod text;

use crate::eval::spf::{SpfOutput, SpfRequest};
use crate::verdict::{Verdict, VerdictRequest};

/// One SPF check: what was asked and what came out.
#[derive(Debug, Clone)]
pub struct SpfReport<'a> {
    pub request: &'a SpfRequest,
    pub output: &'a SpfOutput,
}

/// A whole verdict: the request and the result.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    pub request: &'a VerdictRequest,
    pub verdict: &'a Verdict,
}

impl<'a> Report<'a> {
    /// The SPF part.
    pub fn spf(&self) -> SpfReport<'a> {
        SpfReport {
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
