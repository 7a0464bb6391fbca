//! Lint rules for the spf records of a domain (see `lint`).

use std::sync::Arc;

use super::{Finding, LintOptions};
use crate::dns::Resolver;

/// The findings about DOMAIN's spf records.
pub async fn lint(
    _resolver: Arc<dyn Resolver>,
    _domain: &str,
    _opts: &LintOptions,
) -> Vec<Finding> {
    Vec::new()
}
