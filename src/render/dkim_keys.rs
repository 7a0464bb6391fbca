//! Renderers for the DKIM key audit (`spfcheck dkim`): text for people and the JSON
//! `dkim_keys` document (schema 1, `schema/spfcheck.schema.json`). Everything from DNS is
//! untrusted: text output passes through `terminal_safe`, JSON through `json_safe`.

use serde::Serialize;

use crate::eval::dkim_keys::{KeyAudit, Status, code};
use crate::eval::trace::Event;
use crate::render::escape::{json_safe, terminal_safe};
use crate::render::style::Colorize;

/// What was audited, for the header line and the JSON document.
pub struct KeyView<'a> {
    pub domain: &'a str,
    /// True when the selectors came from the built-in list (no `-s`).
    pub discovery: bool,
    pub selectors: &'a [String],
    pub audits: &'a [KeyAudit],
    /// `--fault` rules that no query matched.
    pub unused_faults: &'a [String],
}

/// The sentence that says discovery is best effort.
pub fn discovery_note(tried: usize) -> String {
    format!(
        "selectors cannot be listed from DNS: discovery tried {tried} common selectors and can \
         miss any other; name selectors with -s (the s= tag of a DKIM-Signature shows them)"
    )
}

#[derive(Serialize)]
struct Doc<'a> {
    schema: u32,
    domain: &'a str,
    discovery: bool,
    selectors: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    dkim_keys: &'a [KeyAudit],
    unused_faults: &'a [String],
}

/// The JSON document, pretty-printed, escaped for terminals.
pub fn render_json(r: &KeyView<'_>) -> String {
    let doc = Doc {
        schema: 1,
        domain: r.domain,
        discovery: r.discovery,
        selectors: r.selectors,
        note: r.discovery.then(|| discovery_note(r.selectors.len())),
        dkim_keys: r.audits,
        unused_faults: r.unused_faults,
    };
    // Serializing plain structs with string keys cannot fail; an empty object if it did.
    json_safe(serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_string()))
}

/// The failure of a temperror audit as its finding says it (the DNS outcome and cause, no
/// name); None for other audits.
fn temperror_cause(a: &KeyAudit) -> Option<String> {
    if a.status != Status::TempError {
        return None;
    }
    a.findings
        .iter()
        .find(|d| d.code == code::TEMPERROR)
        .map(|d| terminal_safe(&d.message).into_owned())
}

/// The temperror causes shared by more than one selector, with their counts, in first-seen
/// order.
fn shared_failures(audits: &[KeyAudit]) -> Vec<(String, usize)> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for why in audits.iter().filter_map(temperror_cause) {
        match seen.iter_mut().find(|(w, _)| *w == why) {
            Some((_, n)) => *n += 1,
            None => seen.push((why, 1)),
        }
    }
    seen.retain(|(_, n)| *n > 1);
    seen
}

/// The text report.
pub fn render_text(r: &KeyView<'_>) -> String {
    let mut out = String::new();
    let how = if r.discovery {
        format!("{} common selectors tried", r.selectors.len())
    } else {
        format!("selectors: {}", r.selectors.join(", "))
    };
    out.push_str(&format!(
        "DKIM keys of {} ({})\n",
        terminal_safe(r.domain),
        terminal_safe(&how)
    ));
    if r.audits.is_empty() {
        out.push_str("no DKIM key found\n");
    }
    // DNS failures with the same cause at several selectors (a dead nameserver, a timeout for
    // every name) are one line with a count, not one identical block per selector; the JSON
    // keeps one entry per selector.
    let failures = shared_failures(r.audits);
    for (why, count) in &failures {
        out.push_str(&format!(
            "\n{} at {count} of {} selectors: {why}\n",
            "DNS failure".yellow(),
            r.selectors.len()
        ));
    }
    for a in r.audits {
        if failures
            .iter()
            .any(|(why, _)| Some(why.as_str()) == temperror_cause(a).as_deref())
        {
            continue;
        }
        out.push('\n');
        let verdict = match a.status {
            Status::TempError => "temperror".yellow(),
            Status::Missing => "no key".red(),
            Status::Found if a.revoked => "revoked".yellow(),
            Status::Found if a.usable => "usable".green(),
            Status::Found => "unusable".red(),
        };
        out.push_str(&format!("{}: {verdict}\n", terminal_safe(&a.name)));
        if !a.cname_chain.is_empty() {
            out.push_str(&format!(
                "  CNAME chain: {}\n",
                terminal_safe(&a.cname_chain.join(" -> "))
            ));
        }
        if let Some(rec) = &a.record {
            out.push_str(&format!("  record: {}\n", terminal_safe(rec)));
        }
        if let Some(alg) = &a.algorithm {
            let mut facts = vec![format!("algorithm {alg}")];
            if let Some(b) = a.key_bits {
                facts.push(format!("{b} bits"));
            }
            if let Some(h) = &a.hash_algs {
                facts.push(format!("h={}", h.join(":")));
            }
            if a.services.iter().any(|s| s != "*") {
                facts.push(format!("s={}", a.services.join(":")));
            }
            if a.testing {
                facts.push("testing (t=y)".into());
            }
            if a.strict_identity {
                facts.push("strict identity (t=s)".into());
            }
            out.push_str(&format!("  key: {}\n", terminal_safe(&facts.join(", "))));
        }
        for f in &a.findings {
            out.push_str(&format!("  {}\n", terminal_safe(&f.to_string())));
        }
        for n in a.trace.walk() {
            if let Event::Query {
                name,
                rtype,
                outcome,
                cached,
                ..
            } = &n.event
            {
                out.push_str(&format!(
                    "  query {} {rtype}: {}{}\n",
                    terminal_safe(name),
                    outcome.as_str(),
                    if *cached { " (cached)" } else { "" }
                ));
            }
        }
    }
    if r.discovery {
        out.push_str(&format!("\nnote: {}\n", discovery_note(r.selectors.len())));
    }
    for f in r.unused_faults {
        out.push_str(&format!(
            "warning: --fault {} never fired: no query matched it\n",
            terminal_safe(f)
        ));
    }
    out
}
