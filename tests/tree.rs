//! `spfcheck tree`: the SPF include tree through the real binary, over the seed zone and
//! `testdata/lint/spf.zone` (offline), and once against the in-process DNS server. JSON runs
//! are validated against the schema by `run_spfcheck`.

use serde_json::Value;

use crate::common::{TestDns, rec, run_spfcheck, txt};
use spfcheck::dns::RData;

const ZONE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/lint/spf.zone");
const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/seed/seed.zone");
const README: &str = include_str!("../README.md");

fn tree_json(domain: &str) -> (i32, Value) {
    let ran = run_spfcheck(&["tree", "--zone", ZONE, "--offline", "--json", domain]);
    let doc: Value = serde_json::from_slice(&ran.stdout).expect("JSON");
    (ran.code, doc)
}

fn text(args: &[&str]) -> (i32, String) {
    let ran = run_spfcheck(args);
    (ran.code, String::from_utf8_lossy(&ran.stdout).into_owned())
}

/// Every tree node of the document, depth first.
fn nodes(n: &Value) -> Vec<&Value> {
    let mut out = vec![n];
    for t in n["terms"].as_array().into_iter().flatten() {
        if t["child"].is_object() {
            out.extend(nodes(&t["child"]));
        }
    }
    out
}

fn term<'a>(node: &'a Value, text: &str) -> &'a Value {
    node["terms"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["text"] == text))
        .unwrap_or_else(|| panic!("no term {text} in {node:#}"))
}

#[test]
fn seed_tree_is_the_readme_sample() {
    let (code, out) = text(&[
        "tree",
        "--zone",
        SEED,
        "--offline",
        "--color",
        "never",
        "thespykiller.co.uk",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with(
        "SPF tree of thespykiller.co.uk: 3/10 DNS lookups, 0/2 void lookups, 2 domains: within limits\n"
    ));
    assert!(
        out.contains("  include:_spf.mailhost.example  +1 → 3/10 (this branch 1)\n"),
        "{out}"
    );
    assert!(
        out.contains("  mx  +1 → 1/10  MX: mail.thespykiller.co.uk  → 192.0.2.25/32\n"),
        "{out}"
    );
    // The aggregated networks: the mx and a addresses fall inside ip4:192.0.2.0/27.
    assert!(
        out.ends_with(
            "authorised networks (pass-qualified terms, aggregated):\n  192.0.2.0/27\n  198.51.100.0/24\n  2001:db8:100::/48\n"
        ),
        "{out}"
    );
    let marker = "Output of `spfcheck tree";
    let start = README.find(marker).expect("README: the tree sample") + marker.len();
    let open = README[start..].find("```text\n").expect("a text block") + start + 8;
    let close = README[open..].find("```").expect("block end") + open;
    assert_eq!(&README[open..close], out, "README sample differs");
}

#[test]
fn five_level_include_tree_counts_each_branch_and_names_the_crossing_term() {
    let (code, doc) = tree_json("deep.example");
    assert_eq!(code, 1, "11 lookups is a permerror");
    let tree = &doc["tree"];
    assert_eq!(tree["dns_lookups"], 11);
    assert_eq!(tree["status"], "broken");
    assert_eq!(
        tree["limit_crossed_by"],
        "include:l1.deep.example > include:l2.deep.example > include:l3.deep.example > \
         include:l4.deep.example > include:l5.deep.example > mx:l5.deep.example"
    );
    let all = nodes(&tree["root"]);
    assert_eq!(all.len(), 6, "root + 5 levels");
    assert_eq!(all[5]["depth"], 5);
    // Each include's branch: its own lookup + what is below it.
    let mut branch = Vec::new();
    for n in &all {
        for t in n["terms"].as_array().unwrap() {
            if t["name"] == "include" {
                branch.push(t["subtree_lookups"].as_u64().unwrap());
            }
        }
    }
    assert_eq!(branch, vec![10, 8, 6, 4, 2]);
    let crossing = term(all[5], "mx:l5.deep.example");
    assert_eq!(crossing["running_total"], 11);
    assert_eq!(crossing["problems"][0]["code"], "spf-dns-lookup-limit");
    assert_eq!(
        crossing["mx_names"],
        serde_json::json!(["mx5.deep.example"])
    );
    assert_eq!(crossing["networks"], serde_json::json!(["203.0.113.5/32"]));
}

#[test]
fn exactly_ten_lookups_is_fine_and_exp_is_not_counted() {
    let (code, doc) = tree_json("ten.example");
    assert_eq!(code, 0);
    assert_eq!(doc["tree"]["dns_lookups"], 10);
    assert_eq!(doc["tree"]["limit_crossed_by"], Value::Null);
    let exp = term(&doc["tree"]["root"], "exp=why.ten.example");
    assert_eq!(exp["counts"], false);
    assert_eq!(exp["running_total"], Value::Null);
    assert_eq!(exp["problems"], serde_json::json!([]));
}

#[test]
fn over_the_limit_the_whole_tree_is_still_shown() {
    let (code, doc) = tree_json("over.example");
    assert_eq!(code, 1);
    let tree = &doc["tree"];
    // 11 + 12 + 11: every include expanded, the repeated one too.
    assert_eq!(tree["dns_lookups"], 34);
    assert_eq!(tree["nodes"], 9);
    assert_eq!(tree["truncated"], false);
    let last = term(&tree["root"], "include:ten.example");
    assert_eq!(last["subtree_lookups"], 11);
    let (_, out) = text(&["tree", "--zone", ZONE, "--offline", "over.example"]);
    assert!(
        out.contains("a:h10.ten.example  +1 → 34/10"),
        "the last term of the second include: {out}"
    );
    assert!(
        out.contains("the term that crossed 10: include:ten.example > a:h10.ten.example\n"),
        "{out}"
    );
}

#[test]
fn loops_voids_missing_includes_and_mx_names() {
    let (code, doc) = tree_json("loop.example");
    assert_eq!(code, 1);
    let all = nodes(&doc["tree"]["root"]);
    assert_eq!(all.last().unwrap()["outcome"], "loop");
    assert_eq!(
        all.last().unwrap()["problems"][0]["code"],
        "spf-include-loop"
    );

    let (code, doc) = tree_json("noinc.example");
    assert_eq!(code, 1);
    let root = &doc["tree"]["root"];
    assert_eq!(
        term(root, "include:missing.example")["problems"][0]["code"],
        "spf-include-no-record"
    );
    assert_eq!(
        term(root, "include:nospf.example")["child"]["outcome"],
        "no_record"
    );
    assert_eq!(doc["tree"]["void_lookups"], 1, "NXDOMAIN TXT of the target");

    let (code, doc) = tree_json("void.example");
    assert_eq!(code, 1);
    assert_eq!(doc["tree"]["void_lookups"], 3);
    let mx = term(&doc["tree"]["root"], "mx:nx3.void.example");
    assert_eq!(mx["void"], true);
    assert!(
        mx["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["code"] == "spf-void-lookup-limit")
    );
    // Two voids are within the limit.
    let (code, doc) = tree_json("void2.example");
    assert_eq!((code, doc["tree"]["void_lookups"].clone()), (0, 2.into()));

    let (code, _) = tree_json("mx11.example");
    assert_eq!(code, 1, "11 MX names");
    let (code, doc) = tree_json("mx10.example");
    assert_eq!(code, 0, "10 MX names");
    assert_eq!(
        term(&doc["tree"]["root"], "mx")["mx_names"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
}

#[test]
fn macros_are_marked_and_never_queried_literally() {
    let (code, doc) = tree_json("macro.example");
    assert_eq!(code, 0);
    let root = &doc["tree"]["root"];
    assert_eq!(doc["tree"]["depends_on_message"], true);
    let exists = term(root, "exists:%{i}._spf.macro.example");
    assert_eq!(exists["depends_on_message"], true);
    assert_eq!(exists["running_total"], 1, "still counts a lookup");
    assert_eq!(exists["queries"], serde_json::json!([]));
    // %{d} alone is expanded and followed.
    let inc = term(root, "include:_inc.%{d}");
    assert_eq!(inc["target"], "_inc.macro.example");
    assert_eq!(inc["child"]["outcome"], "record");
    let text = doc.to_string();
    assert!(!text.contains("\"name\":\"%{"), "no query for a macro name");
    assert_eq!(
        doc["tree"]["networks"],
        serde_json::json!(["192.0.2.64/26"])
    );
}

#[test]
fn redirect_beside_all_is_ignored_and_redirect_alone_is_followed() {
    let (code, doc) = tree_json("redirall.example");
    assert_eq!(code, 0);
    let r = term(&doc["tree"]["root"], "redirect=_spf.redir.example");
    assert_eq!(r["evaluated"], false);
    assert_eq!(r["problems"][0]["code"], "spf-redirect-with-all");
    assert_eq!(doc["tree"]["dns_lookups"], 0);
    let (code, doc) = tree_json("redir.example");
    assert_eq!(code, 0);
    let r = term(&doc["tree"]["root"], "redirect=_spf.redir.example");
    assert_eq!(r["running_total"], 1);
    assert_eq!(r["child"]["record"], "v=spf1 ip4:192.0.2.0/28 ~all");
    // ~all in the redirect target: not a pass, so nothing beyond the ip4 is authorised.
    assert_eq!(doc["tree"]["networks"], serde_json::json!(["192.0.2.0/28"]));
}

#[test]
fn uppercase_record_is_read() {
    let (code, doc) = tree_json("upper.example");
    assert_eq!(code, 0);
    assert_eq!(doc["tree"]["dns_lookups"], 1);
    assert_eq!(doc["tree"]["networks"], serde_json::json!(["192.0.2.1/32"]));
}

#[test]
fn dns_failure_exits_4_and_is_never_no_record() {
    let (code, out) = text(&[
        "tree",
        "--zone",
        ZONE,
        "--offline",
        "--fault",
        "_spf.tempinc.example=servfail",
        "tempinc.example",
    ]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("DNS failure"), "{out}");
    assert!(!out.contains("no SPF record"), "{out}");
    // A broken policy wins over a DNS failure elsewhere: it is broken whatever the rest holds.
    let (code, _) = text(&[
        "tree",
        "--zone",
        ZONE,
        "--offline",
        "--fault",
        "h1.ten.example=servfail",
        "eleven.example",
    ]);
    assert_eq!(code, 1);
}

#[test]
fn live_server_tree() {
    let dns = TestDns::start(vec![
        rec(
            "brand.example",
            txt(&["v=spf1 include:_spf.esp.example ", "a -all"]),
        ),
        rec("brand.example", RData::A("192.0.2.7".parse().unwrap())),
        rec(
            "_spf.esp.example",
            txt(&["v=spf1 ip4:198.51.100.0/24 ip4:198.51.101.0/24 -all"]),
        ),
    ]);
    let ns = dns.addr().to_string();
    let ran = run_spfcheck(&["tree", "--nameserver", &ns, "--json", "brand.example"]);
    assert_eq!(ran.code, 0, "{}", String::from_utf8_lossy(&ran.stderr));
    let doc: Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(doc["tree"]["dns_lookups"], 2);
    assert_eq!(
        doc["tree"]["root"]["string_lengths"],
        serde_json::json!([32, 6])
    );
    assert_eq!(
        doc["tree"]["networks"],
        serde_json::json!(["192.0.2.7/32", "198.51.100.0/23"])
    );
    assert_eq!(dns.count("_spf.esp.example", "TXT"), 1);
}

#[test]
fn expansion_is_bounded_to_100_records() {
    let (code, doc) = tree_json("wide.example");
    assert_eq!(code, 1, "110 lookups");
    let tree = &doc["tree"];
    assert_eq!(tree["nodes"], 100);
    assert_eq!(tree["truncated"], true);
    let all = nodes(&tree["root"]);
    let not_expanded: Vec<_> = all
        .iter()
        .filter(|n| n["outcome"] == "not_expanded")
        .collect();
    // Depth first: the root, w0..w8 with their 10 includes each (100), then w9 is not read.
    assert_eq!(not_expanded.len(), 1);
    assert_eq!(not_expanded[0]["domain"], "w9.wide.example");
    assert_eq!(not_expanded[0]["problems"][0]["code"], "spf-not-expanded");
    // The include of w9 is counted; what is below it is unknown (the total is a lower bound).
    assert_eq!(tree["dns_lookups"], 100);
    let (_, out) = text(&["tree", "--zone", ZONE, "--offline", "wide.example"]);
    assert!(out.contains("the lookup total is a lower bound"), "{out}");
}

#[test]
fn untrusted_text_is_escaped() {
    let (_, out) = text(&["tree", "--zone", ZONE, "--offline", "hostile.example"]);
    assert!(!out.contains('\u{1b}'), "{out:?}");
    assert!(out.contains("\\x1b[31m"), "{out}");
}

#[test]
fn no_record_and_input_errors() {
    let (code, out) = text(&["tree", "--zone", ZONE, "--offline", "nothing.example"]);
    assert_eq!(code, 1);
    assert!(out.contains("nothing.example  no SPF record"), "{out}");
    let ran = run_spfcheck(&["tree", "not a domain"]);
    assert_eq!(ran.code, 2);
    assert!(ran.stdout.is_empty());
    let ran = run_spfcheck(&["tree", "--format", "svg", "a.example"]);
    assert_eq!(ran.code, 2);
}

/// DOT output: parsed by Graphviz when it is installed, and checked structurally always.
#[test]
fn dot_output_is_valid_graphviz() {
    for domain in [
        "deep.example",
        "loop.example",
        "hostile.example",
        "over.example",
    ] {
        let (code, out) = text(&[
            "tree",
            "--zone",
            ZONE,
            "--offline",
            "--format",
            "dot",
            domain,
        ]);
        assert!(code == 0 || code == 1, "{domain}: {code}");
        assert!(out.starts_with("digraph spf {\n") && out.ends_with("}\n"));
        for line in out.lines().skip(1) {
            if line == "}" {
                continue;
            }
            assert!(line.ends_with(';'), "{line}");
            // Quotes balance once escaped ones are removed.
            let unescaped = line.replace("\\\\", "").replace("\\\"", "");
            assert_eq!(unescaped.matches('"').count() % 2, 0, "{line}");
            assert!(!line.chars().any(|c| c.is_control()), "{line:?}");
        }
        if domain == "deep.example" {
            assert_eq!(out.matches(" -> ").count(), 5);
            assert!(out.contains(
                "\"deep.example\" -> \"l1.deep.example\" [label=\"include:l1.deep.example (+10, 11/10)\"];"
            ), "{out}");
        }
        if domain == "loop.example" {
            assert!(
                out.contains("\"loop2.example\" -> \"loop.example\""),
                "{out}"
            );
        }
        let dot = std::process::Command::new("dot")
            .arg("-Tcanon")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn();
        if let Ok(mut child) = dot {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(out.as_bytes())
                .unwrap();
            let res = child.wait_with_output().unwrap();
            assert!(
                res.status.success() && res.stderr.is_empty(),
                "{domain}: dot rejects the output: {}\n{out}",
                String::from_utf8_lossy(&res.stderr)
            );
        }
    }
}
