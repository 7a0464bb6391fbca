//! What the two header fields we write (Received-SPF, Authentication-Results) share so that
//! they obey the same rules: values clipped to a bounded length, folding so that no line
//! exceeds RFC 5322 §2.1.1's 998 characters, quoting of values that are not plain tokens, and
//! one treatment of the receiver's name.

/// RFC 5322 §2.1.1: "Each line of characters MUST be no more than 998 characters".
pub const MAX_LINE: usize = 998;
/// RFC 5322 §2.1.1: lines "SHOULD be no more than 78 characters"; the width used when a
/// header has to be folded at all.
pub const FOLD_WIDTH: usize = 78;
/// The longest value (or comment part) put in a header; longer ones are cut, so that no
/// unbreakable run of characters can exceed `MAX_LINE`. Addresses and domain names fit
/// (RFC 5321 §4.5.3.1: a path is at most 256 octets).
pub const MAX_VALUE: usize = 256;

/// `s` cut to at most `MAX_VALUE` characters by replacing its middle with "...": the start
/// and the end are kept (a nested problem ends with the actual reason).
pub fn clip(s: &str) -> String {
    let n = s.chars().count();
    if n <= MAX_VALUE {
        return s.to_string();
    }
    let head = (MAX_VALUE - 3) / 3;
    let tail = MAX_VALUE - 3 - head;
    let mut c: String = s.chars().take(head).collect();
    c.push_str("...");
    c.extend(s.chars().skip(n - tail));
    c
}

/// Folds a header line longer than `MAX_LINE` (RFC 5322 §2.2.3: a line break before white
/// space). Every space in a rendered field is folding white space: between tokens, in a
/// comment, or inside a quoted-string, where unfolding restores it unchanged. With every value
/// clipped to `MAX_VALUE`, no word is long enough to leave a line over `MAX_LINE`.
pub fn fold(line: String) -> String {
    if line.len() <= MAX_LINE {
        return line;
    }
    let mut out = String::with_capacity(line.len() + line.len() / FOLD_WIDTH * 2);
    let mut width = 0;
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            if width + 1 + word.len() > FOLD_WIDTH {
                out.push('\n');
                width = 0;
            }
            out.push(' ');
            width += 1;
        }
        out.push_str(word);
        width += word.len();
    }
    out
}

/// `v` as it is when every dot-separated part is non-empty and made of characters `plain`
/// accepts; otherwise as a quoted-string (RFC 5322 §3.2.4): `"` and `\` escaped, anything not
/// printable ASCII replaced by "?" (so the field stays ASCII and terminal-safe).
pub fn quoted_unless(v: &str, plain: impl Fn(char) -> bool) -> String {
    if !v.is_empty() && v.split('.').all(|p| !p.is_empty() && p.chars().all(&plain)) {
        return v.to_string();
    }
    let mut q = String::from("\"");
    for c in v.chars() {
        match c {
            '"' | '\\' => {
                q.push('\\');
                q.push(c);
            }
            c if c.is_ascii_graphic() || c == ' ' => q.push(c),
            '§' => q.push_str("section "),
            _ => q.push('?'),
        }
    }
    q.push('"');
    q
}

/// RFC 5322 §3.2.3 atext.
pub fn atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// A character of a domain name as written in a header: letter, digit, hyphen, underscore.
pub fn ldh(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// The receiving host's name as both headers write it (Received-SPF `receiver=` and comment,
/// Authentication-Results authserv-id): the name when it is a domain name of at most 253
/// characters, otherwise "unknown", so that no `;`, space or comment can be injected through
/// it. The CLI refuses such a `--receiver` before (exit 2); this keeps library callers safe.
pub fn receiver_id(receiver: &str) -> &str {
    let ok = !receiver.is_empty()
        && receiver.len() <= 253
        && receiver
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(ldh));
    if ok { receiver } else { "unknown" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receiver_is_a_domain_or_unknown() {
        assert_eq!(receiver_id("mx.example.net"), "mx.example.net");
        assert_eq!(receiver_id("mx; spf=pass"), "unknown");
        assert_eq!(receiver_id("mx (x)"), "unknown");
        assert_eq!(receiver_id(""), "unknown");
        assert_eq!(receiver_id("a..b"), "unknown");
        assert_eq!(receiver_id(&"a".repeat(300)), "unknown");
    }

    #[test]
    fn fold_keeps_lines_short() {
        let line = format!("X: {}", "word ".repeat(400));
        let f = fold(line.clone());
        assert!(f.split('\n').all(|l| l.len() <= FOLD_WIDTH + 1), "{f}");
        assert_eq!(f.replace('\n', ""), line);
        assert_eq!(fold("X: short".into()), "X: short");
    }
}
