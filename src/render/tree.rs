//! Renderers of the SPF policy tree (`spfcheck tree`): text for people (each branch with the
//! lookups it costs and the running total, voids, problems, then the authorised networks),
//! Graphviz DOT (a node per domain, an edge per include/redirect labelled with the term), and
//! the JSON `tree` document (schema 1). Everything in the tree came from DNS: text passes
//! through `terminal_safe`, DOT labels through [`dot_escape`], JSON through `json_safe`.

use serde::Serialize;

use crate::eval::spf_tree::{NodeOutcome, PolicyTree, TreeNode, TreeStatus, TreeTerm};
use crate::render::escape::{json_safe, terminal_safe};
use crate::render::style::Colorize;

/// The JSON document: `{"schema": 1, "tree": {...}, "unused_faults": [...]}`.
pub fn render_json(tree: &PolicyTree, unused_faults: &[String]) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        schema: u32,
        tree: &'a PolicyTree,
        unused_faults: &'a [String],
    }
    let doc = Doc {
        schema: 1,
        tree,
        unused_faults,
    };
    // Serializing plain structs with string keys cannot fail; an empty object if it did.
    json_safe(serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_string()))
}

/// The one-line verdict on the tree.
pub fn summary(tree: &PolicyTree) -> String {
    let verdict = match tree.status {
        TreeStatus::Ok => "within limits".to_string(),
        TreeStatus::Broken => "broken: a receiver returns permerror (or none)".to_string(),
        TreeStatus::TempError => "incomplete: a DNS failure (temperror)".to_string(),
    };
    format!(
        "{}/{} DNS lookups, {}/{} void lookups, {} domain{}: {verdict}",
        tree.dns_lookups,
        tree.dns_lookup_limit,
        tree.void_lookups,
        tree.void_lookup_limit,
        tree.nodes,
        if tree.nodes == 1 { "" } else { "s" }
    )
}

/// The text rendering.
pub fn render_text(tree: &PolicyTree) -> String {
    let mut out = format!(
        "SPF tree of {}: {}\n",
        terminal_safe(&tree.domain),
        summary(tree)
    );
    if let Some(term) = &tree.limit_crossed_by {
        out.push_str(&format!(
            "the term that crossed {}: {}\n",
            tree.dns_lookup_limit,
            terminal_safe(term)
        ));
    }
    out.push('\n');
    node_text(&tree.root, tree, 0, &mut out);
    out.push_str("\nauthorised networks (pass-qualified terms, aggregated):\n");
    if tree.networks.is_empty() {
        out.push_str("  none\n");
    }
    for n in &tree.networks {
        out.push_str(&format!("  {n}\n"));
    }
    if tree.depends_on_message {
        out.push_str(
            "  (some terms depend on the message: the networks they authorise are not listed)\n",
        );
    }
    if tree.truncated {
        out.push_str(
            "note: the tree was not expanded in full (bounds: 100 records, nesting 20): the \
             lookup total is a lower bound\n",
        );
    }
    out
}

fn outcome_words(o: NodeOutcome) -> &'static str {
    match o {
        NodeOutcome::Record => "",
        NodeOutcome::NoRecord => "no SPF record",
        NodeOutcome::Nxdomain => "does not exist (NXDOMAIN)",
        NodeOutcome::SeveralRecords => "several SPF records",
        NodeOutcome::SyntaxError => "syntax error",
        NodeOutcome::DnsError => "DNS failure",
        NodeOutcome::MalformedDomain => "not a valid domain name",
        NodeOutcome::Loop => "loop: already being evaluated",
        NodeOutcome::NotExpanded => "not expanded",
    }
}

fn node_text(n: &TreeNode, tree: &PolicyTree, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent);
    let head = match (&n.record, n.outcome) {
        (Some(r), NodeOutcome::Record) => format!("\"{}\"", terminal_safe(r)),
        (Some(r), o) => format!("\"{}\" ({})", terminal_safe(r), outcome_words(o).red()),
        (None, o) => outcome_words(o).red().to_string(),
    };
    out.push_str(&format!(
        "{pad}{}  {head}\n",
        terminal_safe(&n.domain).as_ref().bold()
    ));
    for p in &n.problems {
        out.push_str(&format!("{pad}  ! {}\n", terminal_safe(&p.to_string())));
    }
    for t in &n.terms {
        term_text(t, tree, indent + 1, out);
    }
}

fn term_text(t: &TreeTerm, tree: &PolicyTree, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent);
    let mut line = format!("{pad}{}", terminal_safe(&t.text));
    if !t.evaluated {
        if t.name == "redirect" {
            line.push_str("  (ignored: the record has \"all\")");
        } else {
            line.push_str("  (never evaluated: after \"all\")");
        }
    } else if let Some(total) = t.running_total {
        let cost = format!("+1 → {total}/{}", tree.dns_lookup_limit);
        let cost = if total > tree.dns_lookup_limit {
            cost.red().to_string()
        } else {
            cost
        };
        line.push_str(&format!("  {cost}"));
        if t.child.is_some() {
            line.push_str(&format!(" (this branch {})", t.subtree_lookups));
        }
    } else if t.name == "exp" {
        line.push_str("  (not counted: looked up only after a fail)");
    }
    if t.void {
        line.push_str(&format!("  {}", "void".yellow()));
    }
    if t.depends_on_message {
        line.push_str("  [depends on the message]");
    }
    if !t.mx_names.is_empty() {
        line.push_str(&format!("  MX: {}", terminal_safe(&t.mx_names.join(", "))));
    }
    if matches!(t.name.as_str(), "a" | "mx") && !t.networks.is_empty() {
        line.push_str(&format!("  → {}", t.networks.join(", ")));
    }
    out.push_str(&line);
    out.push('\n');
    for p in &t.problems {
        out.push_str(&format!("{pad}  ! {}\n", terminal_safe(&p.to_string())));
    }
    if let Some(c) = &t.child {
        node_text(c, tree, indent + 1, out);
    }
}

/// A DOT quoted string's content (Graphviz `ID` in double quotes): `"` and `\` escaped,
/// anything not printable made visible by `terminal_safe` (so a label is one line).
pub fn dot_escape(s: &str) -> String {
    let safe = terminal_safe(s);
    let mut out = String::with_capacity(safe.len());
    for c in safe.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The Graphviz rendering: one node per domain (its lookups and outcome), one edge per
/// include or redirect, labelled with the term and the running total.
pub fn render_dot(tree: &PolicyTree) -> String {
    let mut out = String::from("digraph spf {\n  rankdir=LR;\n  node [shape=box];\n");
    out.push_str(&format!(
        "  label=\"{}\";\n  labelloc=t;\n",
        dot_escape(&format!("SPF tree of {}: {}", tree.domain, summary(tree)))
    ));
    let mut seen = std::collections::BTreeSet::new();
    for n in tree.root.walk() {
        if !seen.insert(n.domain.clone()) {
            continue;
        }
        let mut label = format!("{}\\n{} lookups", dot_escape(&n.domain), n.lookups);
        if n.outcome != NodeOutcome::Record {
            label.push_str(&format!("\\n{}", outcome_words(n.outcome)));
        }
        let style = if n.outcome == NodeOutcome::Record {
            ""
        } else {
            ", color=red"
        };
        out.push_str(&format!(
            "  \"{}\" [label=\"{label}\"{style}];\n",
            dot_escape(&n.domain)
        ));
    }
    for n in tree.root.walk() {
        for t in &n.terms {
            let Some(c) = &t.child else { continue };
            let cost = t
                .running_total
                .map(|r| {
                    let end = r + t.subtree_lookups.saturating_sub(1);
                    format!(" (+{}, {end}/{})", t.subtree_lookups, tree.dns_lookup_limit)
                })
                .unwrap_or_default();
            out.push_str(&format!(
                "  \"{}\" -> \"{}\" [label=\"{}{cost}\"];\n",
                dot_escape(&n.domain),
                dot_escape(&c.domain),
                dot_escape(&t.text)
            ));
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_labels_cannot_break_out() {
        assert_eq!(dot_escape("a\"b\\c"), "a\\\"b\\\\c");
        assert_eq!(dot_escape("x\ny"), "x\\\\x0ay");
    }
}
