//! The documented JSON contract is checked against the published schema: the words the README
//! lists for results, outcomes, dispositions, trace event kinds and their fields must be the
//! schema's closed enums and properties, so that neither can change without the other. (Every
//! JSON output of the binary in the tests is validated against the schema in
//! `common::run_spfcheck`.)

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{schema, schema_enum};

const README: &str = include_str!("../README.md");

/// The README's JSON example block.
fn json_block() -> &'static str {
    let start = README
        .find("```jsonc")
        .expect("README: the ```jsonc block of the JSON section");
    let rest = &README[start..];
    let end = rest[3..]
        .find("```")
        .expect("README: end of the ```jsonc block")
        + 3;
    &rest[..end]
}

/// The `a|b|c` words of the `//` comment on the `n`th line (0-based) of the JSON block whose
/// key is `key`, up to the first space or comma after them.
fn documented_words(key: &str, n: usize) -> BTreeSet<String> {
    let line = json_block()
        .lines()
        .filter(|l| l.trim_start().starts_with(&format!("\"{key}\":")) && l.contains("//"))
        .nth(n)
        .unwrap_or_else(|| panic!("README: no documented line {n} for {key:?}"));
    let comment = line.split("//").nth(1).unwrap_or_default().trim();
    let words = comment
        .split([' ', ','])
        .find(|w| w.contains('|'))
        .unwrap_or_else(|| panic!("README: no a|b|c list in {line:?}"));
    words.split('|').map(str::to_string).collect()
}

fn set(v: Vec<String>) -> BTreeSet<String> {
    v.into_iter().collect()
}

#[test]
fn readme_result_words_are_the_schema_enums() {
    assert_eq!(
        documented_words("result", 0),
        set(schema_enum("/$defs/spf_result/enum")),
        "spf.result"
    );
    assert_eq!(
        documented_words("result", 1),
        set(schema_enum("/$defs/dmarc_result/enum")),
        "dmarc.result"
    );
    assert_eq!(
        documented_words("outcome", 0),
        set(schema_enum("/$defs/outcome/enum")),
        "verdict.outcome"
    );
    assert_eq!(
        documented_words("disposition", 0),
        set(schema_enum("/$defs/disposition/enum")),
        "dmarc.disposition"
    );
    assert_eq!(
        documented_words("policy_source", 0)
            .into_iter()
            .map(|w| w.trim_matches('"').to_string())
            .collect::<BTreeSet<_>>(),
        set(schema_enum("/$defs/dmarc/properties/policy_source/enum")),
        "dmarc.policy_source"
    );
    // The --dkim row of the inputs table lists the DKIM result words.
    let dkim_row = README
        .lines()
        .find(|l| l.starts_with("| `--dkim "))
        .expect("README: the --dkim row");
    let inside = dkim_row
        .split_once("RESULT` | a DKIM result (")
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(words, _)| words)
        .expect("README: the DKIM result words in the --dkim row");
    assert_eq!(
        inside
            .split(", ")
            .map(str::to_string)
            .collect::<BTreeSet<_>>(),
        set(schema_enum("/$defs/dkim_result/enum")),
        "dkim[].result"
    );
}

/// The trace paragraph: "with kinds `check_host` (domain, via), `query` (name, rtype, outcome:
/// records|…, records), …" — every kind and its fields as in the schema.
#[test]
fn readme_trace_events_are_the_schema_events() {
    let start = README
        .find("with kinds `")
        .expect("README: the trace event kinds paragraph");
    let end = start
        + README[start..]
            .find("The traces hold")
            .expect("README: end of the event kinds paragraph");
    let para = README[start..end].replace('\n', " ");
    let mut documented = BTreeSet::new();
    let mut rest = para.as_str();
    while let Some(i) = rest.find('`') {
        let after = &rest[i + 1..];
        let Some(j) = after.find('`') else { break };
        let kind = &after[..j];
        let tail = &after[j + 1..];
        rest = tail;
        let Some(fields) = tail.strip_prefix(" (") else {
            continue;
        };
        let fields = &fields[..fields.find(')').expect("closing parenthesis")];
        documented.insert(kind.to_string());
        let then = event_rule(kind);
        let props: BTreeSet<String> = then["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        for field in fields.split(", ") {
            let (name, words) = match field.split_once(": ") {
                Some((n, w)) => (n, Some(w)),
                None => (field, None),
            };
            assert!(
                props.contains(name),
                "README documents {kind}.{name}, the schema does not ({props:?})"
            );
            if let Some(words) = words {
                let allowed = set(schema_enum(&format!(
                    "/$defs/{}/enum",
                    then["properties"][name]["$ref"]
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/$defs/"))
                        .unwrap_or_else(|| panic!("{kind}.{name}: no enum in the schema"))
                )));
                // The documented words and the schema's enum are the same closed set.
                let documented_words: BTreeSet<String> =
                    words.split('|').map(str::to_string).collect();
                assert_eq!(
                    documented_words, allowed,
                    "README: {kind}.{name} words differ from the schema"
                );
            }
        }
    }
    assert_eq!(
        documented,
        set(schema_enum("/$defs/event_kind/enum")),
        "trace event kinds"
    );
}

/// The schema's `then` for the event `kind` (the `allOf` rule whose `if` names it).
fn event_rule(kind: &str) -> &'static Value {
    schema()["$defs"]["node"]["allOf"]
        .as_array()
        .expect("node.allOf")
        .iter()
        .find(|r| r["if"]["properties"]["event"]["const"] == kind)
        .map(|r| &r["then"])
        .unwrap_or_else(|| panic!("schema: no rule for event {kind:?}"))
}

/// The schema is itself valid and rejects what the contract excludes.
#[test]
fn schema_rejects_what_the_contract_excludes() {
    use crate::common::schema_errors;
    let good = serde_json::json!({
        "schema": 1,
        "spf": {
            "domain": "a.example", "ip": "192.0.2.1", "mail_from": "postmaster@a.example",
            "mail_from_assumed": true, "sender": "postmaster@a.example", "helo": "a.example",
            "result": "pass", "mechanism": "+all", "explanation": null, "dns_lookups": 0,
            "void_lookups": 0, "problem": null,
            "trace": {"event": "check_host", "domain": "a.example", "children": [
                {"event": "query", "name": "a.example", "rtype": "TXT", "outcome": "records",
                 "records": ["v=spf1 +all"]}
            ]}
        },
        "dkim": [],
        "dmarc": {
            "mode": "rfc9989", "from_domain": "a.example", "domain": null, "record": null,
            "diagnostics": [], "org_domain": null, "result": "none", "policy": null,
            "subdomain_policy": null, "nonexistent_policy": null, "applied_policy": null,
            "policy_source": null, "disposition": "none", "spf_aligned": false,
            "dkim_aligned": false, "alignment": [], "testing": false, "sampling": null,
            "from_domain_exists": null, "problem": "no DMARC record", "reason": "r",
            "trace": {"event": "step", "title": "DMARC"}
        },
        "verdict": {"from": null, "from_domain": "a.example", "outcome": "authenticated",
                    "disposition": "none", "reason": "r"},
        "received_spf": "Received-SPF: pass",
        "authentication_results": "Authentication-Results: unknown; spf=pass"
    });
    assert_eq!(schema_errors(&good), Vec::<String>::new());
    // Fields may be added anywhere (schema 1 only grows).
    let mut added = good.clone();
    added["unused_faults"] = serde_json::json!([]);
    added["spf"]["trace"]["children"][0]["detail"] = "connection refused".into();
    assert_eq!(schema_errors(&added), Vec::<String>::new());
    // Closed enums and required fields.
    for (pointer, value) in [
        ("/verdict/outcome", Value::from("perm_error")),
        ("/spf/result", Value::from("PASS")),
        ("/dmarc/disposition", Value::from("drop")),
        ("/spf/trace/event", Value::from("checkhost")),
        ("/spf/trace/children/0/outcome", Value::from("weird")),
        ("/spf/trace/children/0/rtype", Value::from("SRV")),
        ("/schema", Value::from(2)),
        ("/spf/dns_lookups", Value::from(-1)),
    ] {
        let mut bad = good.clone();
        *bad.pointer_mut(pointer).expect(pointer) = value.clone();
        assert!(
            !schema_errors(&bad).is_empty(),
            "{pointer} = {value} was accepted"
        );
    }
    let mut missing = good.clone();
    missing["spf"]
        .as_object_mut()
        .expect("spf")
        .remove("mail_from_assumed");
    assert!(!schema_errors(&missing).is_empty());
}
