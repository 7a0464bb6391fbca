//! Renderings of evaluation results: colored text with the trace tree, the stable JSON
//! document, and the Received-SPF header (RFC 7208 §9.1). Renderers are pure: they return
//! strings; the CLI decides where they go and whether color is on.

pub mod json;
pub mod received_spf;
pub mod text;

use crate::eval::spf::{SpfOutput, SpfRequest};

/// One SPF check: what was asked and what came out, as the renderers need it.
#[derive(Debug, Clone)]
pub struct SpfReport<'a> {
    pub request: &'a SpfRequest,
    pub output: &'a SpfOutput,
}
