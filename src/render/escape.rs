//! Untrusted text made safe to show. Everything spfcheck prints can come from an attacker: TXT
//! records, names built by macros, zone files, arguments. Written raw, a control character can
//! drive the terminal (OSC title changes, CSI cursor moves, a C1 CSI), and a bidi override can
//! make a line read differently from its bytes. [`terminal_safe`] is the one function every text
//! rendering uses for such data; [`json_safe`] applies the same rule to serialised JSON, and
//! [`echo`] quotes and clips an input echoed in an error line.

use std::borrow::Cow;

/// The longest echoed input, in characters, in an error line ([`echo`]).
pub const MAX_ECHO: usize = 100;

/// True for a character that must never reach a terminal raw: C0 controls (including tab and
/// newline: one field is one line), DEL, C1 controls (U+0080–U+009F), the line and paragraph
/// separators, and the invisible format characters (Unicode category Cf) — among them the bidi
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), the marks U+200E,
/// U+200F and U+061C, zero-width characters and the byte order mark, and the tag characters.
pub fn is_unsafe(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
}

/// `s` with every [`is_unsafe`] character written as a visible escape: `\x1b` for ASCII
/// controls and DEL, `\u{9b}`, `\u{202e}` for the others. Borrowed when nothing needed escaping
/// (the usual case). A backslash already in `s` is kept as it is.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe(c) {
            out.push(c);
        } else if c.is_ascii() {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
    }
    Cow::Owned(out)
}

/// A serialised JSON document with every non-ASCII [`is_unsafe`] character and DEL inside its
/// strings written as `\uXXXX` (UTF-16 surrogate pairs above U+FFFF). serde_json escapes C0
/// controls already, but not DEL, C1 or bidi characters. The rewrite is valid anywhere in the
/// document: outside strings JSON has only ASCII punctuation and white space, which are kept.
pub fn json_safe(json: String) -> String {
    if !json.chars().any(|c| is_unsafe(c) && u32::from(c) >= 0x7f) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unsafe(c) && u32::from(c) >= 0x7f {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{:04x}", u));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `s` cut to its first `max` characters followed by `…(N bytes)` (N the length of the whole
/// input) when it is longer.
pub fn clip_to(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some((end, _)) => Cow::Owned(format!(
            "{}…({} bytes)",
            s.get(..end).unwrap_or_default(),
            s.len()
        )),
    }
}

/// An input echoed in an error line: clipped to [`MAX_ECHO`] characters, made
/// [`terminal_safe`], and in double quotes (an inner `"` escaped as `\"`).
pub fn echo(s: &str) -> String {
    let clipped = clip_to(s, MAX_ECHO);
    let safe = terminal_safe(&clipped);
    let mut out = String::with_capacity(safe.len() + 2);
    out.push('"');
    for c in safe.chars() {
        if c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_escaped_visibly() {
        assert!(matches!(
            terminal_safe("plain v=spf1 -all"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            terminal_safe("hello \u{1b}]0;PWNED\u{7}\u{1b}[31mred"),
            "hello \\x1b]0;PWNED\\x07\\x1b[31mred"
        );
        assert_eq!(terminal_safe("a\u{9b}2Jb"), "a\\u{9b}2Jb");
        assert_eq!(terminal_safe("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(terminal_safe("x\0y\u{7f}\n\t"), "x\\x00y\\x7f\\x0a\\x09");
        assert_eq!(
            terminal_safe("\u{2066}\u{200f}\u{61c}"),
            "\\u{2066}\\u{200f}\\u{61c}"
        );
        // Printable non-ASCII text is kept.
        assert_eq!(terminal_safe("josé → ü §"), "josé → ü §");
        for c in (0u32..0x110000)
            .filter_map(char::from_u32)
            .filter(|c| is_unsafe(*c))
        {
            let s = c.to_string();
            let t = terminal_safe(&s);
            assert!(t.chars().all(|c| c.is_ascii_graphic()), "{c:?} → {t:?}");
        }
    }

    #[test]
    fn json_escapes_what_serde_json_leaves() {
        let v = serde_json::json!({"t": "a\u{1b}b\u{9b}c\u{202e}d\u{7f}e\u{e0041}f é"});
        let s = json_safe(serde_json::to_string(&v).unwrap());
        assert_eq!(s, r#"{"t":"a\u001bb\u009bc\u202ed\u007fe\udb40\udc41f é"}"#);
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn echo_clips_and_quotes() {
        assert_eq!(echo("a\"b"), "\"a\\\"b\"");
        let long = "x".repeat(120_000);
        let e = echo(&long);
        assert_eq!(e, format!("\"{}…(120000 bytes)\"", "x".repeat(MAX_ECHO)));
        assert_eq!(
            echo(&"é".repeat(101)),
            format!("\"{}…(202 bytes)\"", "é".repeat(100))
        );
        assert_eq!(echo("\u{1b}[2J"), "\"\\x1b[2J\"");
    }
}
