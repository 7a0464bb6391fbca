//! The Public Suffix List, for the Organizational Domain of RFC 7489 §3.2 (RFC 9989 replaces
//! it with the DNS Tree Walk of §4.10, but RFC 7489 mode and comparisons still need it).
//!
//! The list is the copy in `testdata/psl/public_suffix_list.dat` (MPL-2.0), embedded at build
//! time so that the tool and its tests use the same list; the `publicsuffix` crate applies it.
//!
//! Decisions:
//! - Both the ICANN and the PRIVATE sections are used. RFC 7489 §3.2 step 1 defines the list as
//!   "the union of all of these" (every name "reserved for registrations"), and Appendix A.6.1
//!   points at publicsuffix.org without restricting sections; names in the private section
//!   (`github.io`, `blogspot.com`) are handed to unrelated registrants exactly like `co.uk`.
//! - The PSL algorithm's implicit default rule `*` applies: a name under an unlisted TLD has that
//!   TLD as its public suffix, so `b.example.example` has registrable domain `example.example`
//!   (publicsuffix.org test cases; RFC 7489 §3.2 steps 3–4 with x = 1).
//! - Input is compared case-insensitively (DNS names are, RFC 7489 §3.1) and the answer is
//!   lower-case. One trailing dot (an absolute name) is accepted and dropped. Empty labels,
//!   including a leading dot, make the input invalid.
//! - Both U-labels and A-labels match: the crate's `punycode` feature adds each rule in both
//!   forms (`idna` is already a dependency through hickory).

use std::sync::OnceLock;

use publicsuffix::{List, Psl};

/// The embedded list text (see `testdata/psl/LICENSE`).
const LIST_TEXT: &str = include_str!("../testdata/psl/public_suffix_list.dat");

fn list() -> Option<&'static List> {
    static LIST: OnceLock<Option<List>> = OnceLock::new();
    // The embedded list parses (a test checks it); if it ever did not, every lookup would fall
    // back to the default rule via `None` rather than panic.
    LIST.get_or_init(|| LIST_TEXT.parse().ok()).as_ref()
}

/// Lower-cases `domain`, drops one trailing dot, and rejects empty labels; `None` if invalid.
fn normalize(domain: &str) -> Option<String> {
    let d = domain.strip_suffix('.').unwrap_or(domain);
    if d.is_empty() || d.split('.').any(str::is_empty) {
        return None;
    }
    Some(d.to_lowercase())
}

/// The registrable domain of `domain` per the Public Suffix List: its public suffix plus one
/// more label, lower-case. `None` for a public suffix itself (`com`, `co.uk`, an unlisted
/// single label) or invalid input (empty, empty labels).
pub fn registrable_domain(domain: &str) -> Option<String> {
    let name = normalize(domain)?;
    let found = match list() {
        Some(list) => list.domain(name.as_bytes())?.as_bytes().to_vec(),
        None => {
            // Default rule only: the last two labels.
            let mut labels = name.rsplitn(3, '.');
            let tld = labels.next()?;
            let sld = labels.next()?;
            format!("{sld}.{tld}").into_bytes()
        }
    };
    String::from_utf8(found).ok()
}

/// The Organizational Domain of RFC 7489 §3.2: the public suffix that matches the most labels,
/// plus the next label (the registrable domain). When there is no next label — the domain is
/// itself a public suffix — or the input is invalid, the domain itself (lower-case, without a
/// trailing dot) is returned, which is what the §3.2 steps leave as the only candidate.
pub fn organizational_domain(domain: &str) -> String {
    registrable_domain(domain)
        .unwrap_or_else(|| domain.strip_suffix('.').unwrap_or(domain).to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_parses() {
        assert!(list().is_some());
    }

    /// Every case of the publicsuffix.org test file (`testdata/psl/tests.txt`).
    #[test]
    fn official_test_cases() {
        let text = include_str!("../testdata/psl/tests.txt");
        let mut count = 0;
        let mut failures = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(input), Some(expected)) = (parts.next(), parts.next()) else {
                panic!("line {}: malformed test line {line:?}", n + 1);
            };
            let input = if input == "null" { "" } else { input };
            let expected = (expected != "null").then(|| expected.to_string());
            let got = registrable_domain(input);
            if got != expected {
                failures.push(format!(
                    "line {}: {input:?} → {got:?}, expected {expected:?}",
                    n + 1
                ));
            }
            count += 1;
        }
        // The vendored file has 78 active cases (the ".local" ones are commented out upstream).
        assert!(count >= 78, "only {count} cases read");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn organizational_domains() {
        assert_eq!(organizational_domain("a.b.c.d.example.com"), "example.com");
        assert_eq!(
            organizational_domain("Mail.Example.CO.UK."),
            "example.co.uk"
        );
        assert_eq!(organizational_domain("co.uk"), "co.uk");
        assert_eq!(organizational_domain("com"), "com");
        assert_eq!(
            organizational_domain("thespykiller.co.uk"),
            "thespykiller.co.uk"
        );
        // Private section: each github.io user is its own organization.
        assert_eq!(
            organizational_domain("www.alice.github.io"),
            "alice.github.io"
        );
        assert_eq!(organizational_domain(""), "");
    }

    #[test]
    fn invalid_inputs() {
        for d in [
            "",
            ".",
            "..",
            "a..b.com",
            ".example.com",
            "example.com..",
            " ",
        ] {
            let _ = organizational_domain(d);
        }
        assert_eq!(registrable_domain("a..example.com"), None);
        assert_eq!(
            registrable_domain("example.com."),
            Some("example.com".into())
        );
        assert_eq!(registrable_domain("example.com.."), None);
    }
}
