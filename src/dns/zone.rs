//! RFC 1035 §5 master-file ("zone file") reader for `--zone`.
//!
//! It exists so that a policy can be evaluated against DNS data that is not (or not yet)
//! published: a zone exported from BIND or a DNS-as-code tool, or a hand-written test zone.
//! The reader is hand-written and small; it covers what such exports contain:
//!
//! * directives `$ORIGIN` (several per file, i.e. several zones), `$TTL` (RFC 2308 §4),
//!   `$INCLUDE` (RFC 1035 §5.1; through [`parse_zone_file`], relative to the including file)
//!   and BIND's `$GENERATE` (bounded counts);
//! * `@`, relative and absolute owner and rdata names, a blank owner meaning "the previous
//!   owner", optional TTL and class in either order (RFC 1035 §5.1);
//! * comments, parentheses spanning lines, quoted strings with `\X` and `\DDD` escapes;
//! * A, AAAA, MX, PTR, CNAME and TXT parsed into [`RData`]; every other type (SOA, NS, SPF,
//!   CAA, `TYPEnnn`, ...) kept as [`RData::Other`] with its rdata as text.
//!
//! Every problem is reported as one [`ZoneError`] naming the file, the line and what was
//! expected there. The reader never panics, whatever the input, and reads only regular files of
//! bounded size ([`MAX_ZONE_BYTES`]).
//!
//! It is checked against an independent reader (the `domain` crate's) on every zone in
//! `testdata/` and on generated zones (`tests/zone_reader.rs`).

use std::fmt;
use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// The TTL of records when the file states none (no TTL field, `$TTL` or earlier TTL).
pub const DEFAULT_TTL: u32 = 3600;

use super::{RData, Record};

/// A zone-file error: the file (when read from one, [`parse_zone_file`]; the included file for
/// an error inside a `$INCLUDE`d one), the 1-based line and what was expected there. Line 0
/// means the file as a whole (it cannot be read) or the `origin` argument of [`parse_zone`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneError {
    pub file: Option<String>,
    pub line: usize,
    pub message: String,
}

impl ZoneError {
    /// Names `file` as where the error is, unless an included file is already named.
    fn in_file(mut self, file: &Path) -> Self {
        if self.file.is_none() {
            self.file = Some(file.to_string_lossy().into_owned());
        }
        self
    }
}

impl fmt::Display for ZoneError {
    /// `FILE:LINE: message`, `FILE: message` (line 0), or `line LINE: message` (no file).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), 0) => write!(f, "{file}: {}", self.message),
            (Some(file), line) => write!(f, "{file}:{line}: {}", self.message),
            (None, line) => write!(f, "line {line}: {}", self.message),
        }
    }
}

impl std::error::Error for ZoneError {}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, ZoneError> {
    Err(ZoneError {
        file: None,
        line,
        message: message.into(),
    })
}

/// Longest character-string: its length is one octet (RFC 1035 §3.3).
const MAX_CHARACTER_STRING: usize = 255;
/// Longest label (RFC 1035 §2.3.4).
const MAX_LABEL: usize = 63;
/// Longest name in wire form, length octets and root label included (RFC 1035 §2.3.4).
const MAX_NAME_WIRE: usize = 255;
/// Largest TTL: RFC 2181 §8 limits TTLs to 31 bits.
const MAX_TTL: u64 = 0x7fff_ffff;

/// Parses master-file text. `origin` is the initial `$ORIGIN` (None: relative names before the
/// first `$ORIGIN` are an error).
///
/// Returned records are in file order; names are absolute, lower-case, without the trailing
/// dot, with `\X`/`\DDD` escapes decoded, so that a name matches the string an evaluator
/// queries (`\032` is a space); `.` inside a label, `\`, control bytes and invalid UTF-8 stay
/// escaped, so the name still means the same thing.
pub fn parse_zone(text: &str, origin: Option<&str>) -> Result<Vec<Record>, ZoneError> {
    let mut state = State::default();
    if let Some(o) = origin {
        let tok = Token {
            raw: o.to_string(),
            bytes: decode_word(o, 0)?,
            quoted: false,
            line: 0,
        };
        // The initial origin is absolute whether or not it is written with the final dot.
        let name = parse_name(&tok, Some(""), "the initial $ORIGIN")?;
        state.origin = Some(name);
    }
    let entries = tokenize(text)?;
    let mut records = Vec::new();
    state.entries(&entries, None, &mut records)?;
    Ok(records)
}

// ---------------------------------------------------------------------------------------------
// Files: bounded reads, $INCLUDE (RFC 1035 §5.1) and $GENERATE (BIND).
// ---------------------------------------------------------------------------------------------

/// Most bytes read for one zone: the file and every file it includes, together (16 MiB). A
/// zone file is text a person or an export wrote; more is a mistake (`/dev/zero`, a disk image).
pub const MAX_ZONE_BYTES: u64 = 16 * 1024 * 1024;
/// Deepest `$INCLUDE` nesting (the top file is depth 0).
pub const MAX_INCLUDE_DEPTH: usize = 8;
/// Most records one `$GENERATE` line may produce.
pub const MAX_GENERATE_RECORDS: u64 = 65_536;
/// Most records all `$GENERATE` lines of one zone may produce together.
pub const MAX_GENERATED_TOTAL: usize = 262_144;

/// Reads and parses a zone file, following `$INCLUDE` (relative to the including file's
/// directory, at most [`MAX_INCLUDE_DEPTH`] deep, loops refused) and expanding `$GENERATE`.
/// Only regular files are read, at most [`MAX_ZONE_BYTES`] in all. Errors name the file
/// (the included one, for an error inside it) and the line.
pub fn parse_zone_file(path: &Path) -> Result<Vec<Record>, ZoneError> {
    parse_zone_file_located(path).map(|(records, _)| records)
}

/// Where one record of a zone file was written: the file (the included one for a record read
/// through `$INCLUDE`, as the path was given or joined) and the 1-based line where its entry
/// starts (the `$GENERATE` line for a generated record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSource {
    pub file: PathBuf,
    pub line: usize,
}

/// [`parse_zone_file`], with a side table: `sources[i]` says where `records[i]` was written,
/// so a finding about a record read from `--zone` can point at its line (`spfcheck lint`,
/// SARIF). The records are the same as [`parse_zone_file`]'s.
pub fn parse_zone_file_located(path: &Path) -> Result<(Vec<Record>, Vec<RecordSource>), ZoneError> {
    let mut files = Files::default();
    let mut state = State::default();
    let mut records = Vec::new();
    let text = files.read(path).map_err(|message| ZoneError {
        file: None,
        line: 0,
        message,
    });
    let text = text.map_err(|e| e.in_file(path))?;
    state
        .file(&mut files, path, &text, &mut records)
        .map_err(|e| e.in_file(path))?;
    Ok((records, state.sources))
}

/// The files of one zone being read: the `$INCLUDE` chain (canonical paths, for loops) and the
/// bytes read so far.
#[derive(Default)]
struct Files {
    chain: Vec<PathBuf>,
    bytes: u64,
}

impl Files {
    /// The text of `path`: a regular file of valid UTF-8, within the byte budget. The error is
    /// the message without the file name.
    fn read(&mut self, path: &Path) -> Result<String, String> {
        // Checked before opening: opening a FIFO would block until a writer appears.
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
        check_regular(&meta)?;
        let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
        // Checked again on what was opened (the path may have been replaced in between).
        check_regular(&file.metadata().map_err(|e| format!("cannot read: {e}"))?)?;
        let budget = MAX_ZONE_BYTES.saturating_sub(self.bytes);
        let mut bytes = Vec::new();
        file.take(budget.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read: {e}"))?;
        let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if len > budget {
            return Err(format!(
                "too large: a zone file and the files it includes may hold at most {MAX_ZONE_BYTES} bytes (16 MiB) in all"
            ));
        }
        self.bytes = self.bytes.saturating_add(len);
        String::from_utf8(bytes)
            .map_err(|e| format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
    }
}

/// Refuses anything but a regular file (directories, devices such as `/dev/zero`, FIFOs,
/// sockets) with one line.
fn check_regular(meta: &std::fs::Metadata) -> Result<(), String> {
    let ft = meta.file_type();
    if ft.is_file() {
        Ok(())
    } else if ft.is_dir() {
        Err("is a directory, not a zone file".to_string())
    } else {
        Err("is not a regular file (a device, FIFO or socket): give a zone file".to_string())
    }
}

impl State {
    /// Parses the text of one file (the top one or an included one) into `out`.
    fn file(
        &mut self,
        files: &mut Files,
        path: &Path,
        text: &str,
        out: &mut Vec<Record>,
    ) -> Result<(), ZoneError> {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        files.chain.push(canonical);
        let saved_file = self.current_file.replace(path.to_path_buf());
        let result =
            tokenize(text).and_then(|entries| self.entries(&entries, Some((files, path)), out));
        self.current_file = saved_file;
        files.chain.pop();
        result
    }

    /// Processes entries: `$INCLUDE` (only with a file) and `$GENERATE` here, the rest through
    /// [`State::entry`].
    fn entries(
        &mut self,
        entries: &[Entry],
        mut file: Option<(&mut Files, &Path)>,
        out: &mut Vec<Record>,
    ) -> Result<(), ZoneError> {
        for e in entries {
            let directive = match e.tokens.first() {
                Some(t) if !e.blank_owner && !t.quoted => t.raw.to_ascii_uppercase(),
                _ => String::new(),
            };
            match (directive.as_str(), &mut file) {
                ("$INCLUDE", Some((files, path))) => self.include(e, files, path, out)?,
                ("$GENERATE", _) => self.generate(e, out)?,
                _ => {
                    if let Some(r) = self.entry(e)? {
                        out.push(r);
                        self.note_source(e.line);
                    }
                }
            }
        }
        Ok(())
    }

    /// `$INCLUDE <file-name> [<domain-name>]` (RFC 1035 §5.1): the file's records, read with
    /// the given origin (else the current one); "a $INCLUDE entry never changes the relative
    /// origin of the parent file". A relative file name is relative to the including file's
    /// directory.
    fn include(
        &mut self,
        e: &Entry,
        files: &mut Files,
        including: &Path,
        out: &mut Vec<Record>,
    ) -> Result<(), ZoneError> {
        let (name_tok, origin_tok) = match e.tokens.get(1..).unwrap_or(&[]) {
            [f] => (f, None),
            [f, o] => (f, Some(o)),
            args => {
                return err(
                    e.line,
                    format!(
                        "expected a file name and an optional origin after $INCLUDE, found {} words",
                        args.len()
                    ),
                );
            }
        };
        let name = String::from_utf8_lossy(&name_tok.bytes).into_owned();
        let target = Path::new(&name);
        let target = if target.is_absolute() {
            target.to_path_buf()
        } else {
            including
                .parent()
                .unwrap_or_else(|| Path::new(""))
                .join(target)
        };
        let shown = target.to_string_lossy().into_owned();
        if files.chain.len() > MAX_INCLUDE_DEPTH {
            return err(
                e.line,
                format!("$INCLUDE {shown}: nested more than {MAX_INCLUDE_DEPTH} deep"),
            );
        }
        if let Ok(canonical) = std::fs::canonicalize(&target)
            && files.chain.contains(&canonical)
        {
            return err(
                e.line,
                format!("$INCLUDE {shown}: an include loop (the file is already being read)"),
            );
        }
        let text = files.read(&target).map_err(|m| ZoneError {
            file: None,
            line: e.line,
            message: format!("$INCLUDE {shown}: {m}"),
        })?;
        let saved_origin = self.origin.clone();
        if let Some(o) = origin_tok {
            self.origin = Some(parse_name(
                o,
                self.origin.as_deref(),
                "the $INCLUDE origin",
            )?);
        }
        let result = self
            .file(files, &target, &text, out)
            .map_err(|e| e.in_file(&target));
        self.origin = saved_origin;
        result
    }

    /// BIND's `$GENERATE range lhs [ttl] [class] type rhs`: one record per value of `range`
    /// (`start-stop[/step]`), `$` in lhs and rhs replaced by the value (`${offset,width,base}`
    /// modifiers; `\$` and `$$` for a literal `$`).
    fn generate(&mut self, e: &Entry, out: &mut Vec<Record>) -> Result<(), ZoneError> {
        let args = e.tokens.get(1..).unwrap_or(&[]);
        let [range, template @ ..] = args else {
            return err(
                e.line,
                "expected a range (start-stop[/step]) after $GENERATE",
            );
        };
        if template.len() < 3 {
            return err(
                e.line,
                "expected $GENERATE range lhs [ttl] [class] type rhs (e.g. \"$GENERATE 1-100 host-$ A 192.0.2.$\")",
            );
        }
        let (start, stop, step) = parse_range(range)?;
        let count = (stop - start) / step + 1;
        if count > MAX_GENERATE_RECORDS {
            return err(
                range.line,
                format!(
                    "$GENERATE range \"{}\" makes {count} records; the limit is {MAX_GENERATE_RECORDS}",
                    range.raw
                ),
            );
        }
        let mut value = start;
        while value <= stop {
            if self.generated >= MAX_GENERATED_TOTAL {
                return err(
                    e.line,
                    format!("$GENERATE lines make more than {MAX_GENERATED_TOTAL} records in all"),
                );
            }
            let mut line = String::new();
            for t in template {
                line.push_str(&substitute(t, value)?);
                line.push(' ');
            }
            let mut generated = tokenize(&line).map_err(|mut x| {
                x.line = e.line;
                x
            })?;
            let Some(mut entry) = generated.pop() else {
                return err(e.line, "$GENERATE produced an empty line");
            };
            entry.line = e.line;
            entry.blank_owner = false;
            for t in &mut entry.tokens {
                t.line = e.line;
            }
            out.push(self.record(&entry)?);
            self.note_source(e.line);
            self.generated += 1;
            value += step;
        }
        Ok(())
    }
}

/// `start-stop[/step]` of `$GENERATE`: start <= stop, step >= 1 (as BIND).
fn parse_range(tok: &Token) -> Result<(u64, u64, u64), ZoneError> {
    let bad = || {
        err(
            tok.line,
            format!(
                "expected a $GENERATE range start-stop[/step] with start <= stop and step >= 1, found \"{}\"",
                tok.raw
            ),
        )
    };
    let (span, step) = match tok.raw.split_once('/') {
        Some((span, step)) => (span, step),
        None => (tok.raw.as_str(), "1"),
    };
    let Some((a, b)) = span.split_once('-') else {
        return bad();
    };
    let num = |x: &str| -> Option<u64> {
        if x.is_empty() || !x.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        x.parse::<u32>().ok().map(u64::from)
    };
    match (num(a), num(b), num(step)) {
        (Some(a), Some(b), Some(step)) if !tok.quoted && a <= b && step >= 1 => Ok((a, b, step)),
        _ => bad(),
    }
}

/// One `$GENERATE` template token with `$` replaced by `value` (raw text, for the tokenizer).
fn substitute(tok: &Token, value: u64) -> Result<String, ZoneError> {
    let bad = |why: &str| err(tok.line, format!("$GENERATE: {why} in \"{}\"", tok.raw));
    let mut out = String::new();
    let mut chars = tok.raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                // `\$` is a literal `$`; other escapes are left for the tokenizer.
                Some('$') => out.push('$'),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '$' if chars.peek() == Some(&'$') => {
                chars.next();
                out.push('$');
            }
            '$' if chars.peek() == Some(&'{') => {
                chars.next();
                let mut spec = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(x) if spec.len() < 32 => spec.push(x),
                        _ => return bad("a \"${\" without its \"}\""),
                    }
                }
                let mut parts = spec.split(',');
                let offset = match parts.next().map(str::trim) {
                    None | Some("") => 0i64,
                    Some(o) => match o.parse::<i64>() {
                        Ok(o) if o.abs() <= i64::from(u32::MAX) => o,
                        _ => return bad("an offset that is not a number"),
                    },
                };
                let width = match parts.next().map(str::trim) {
                    None | Some("") => 0usize,
                    Some(w) => match w.parse::<usize>() {
                        Ok(w) if w <= 255 => w,
                        _ => return bad("a width that is not a number from 0 to 255"),
                    },
                };
                let base = match parts.next().map(str::trim) {
                    None | Some("") => 'd',
                    Some(b) if b.len() == 1 && "doxXnN".contains(b) => {
                        b.chars().next().unwrap_or('d')
                    }
                    Some(_) => return bad("a base that is not d, o, x, X, n or N"),
                };
                if parts.next().is_some() {
                    return bad("more than three ${offset,width,base} fields");
                }
                let Ok(v) = u64::try_from(i64::try_from(value).unwrap_or(i64::MAX) + offset) else {
                    return bad("an offset that makes the value negative");
                };
                out.push_str(&format_value(v, width, base));
            }
            '$' => out.push_str(&value.to_string()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// A `$GENERATE` value in a base, zero-padded to `width`. Nibble mode (`n`, `N`) writes the
/// hexadecimal digits lowest first, one label each, the width counting the dots (as BIND).
fn format_value(v: u64, width: usize, base: char) -> String {
    match base {
        'o' => format!("{v:0width$o}"),
        'x' => format!("{v:0width$x}"),
        'X' => format!("{v:0width$X}"),
        'n' | 'N' => {
            let mut out = String::new();
            let mut value = v;
            let mut width = width;
            loop {
                let digit = format!("{:x}", value & 0xf);
                out.push_str(&if base == 'N' {
                    digit.to_ascii_uppercase()
                } else {
                    digit
                });
                value >>= 4;
                width = width.saturating_sub(1);
                if width > 0 || value != 0 {
                    out.push('.');
                    width = width.saturating_sub(1);
                }
                if value == 0 && width == 0 {
                    break;
                }
            }
            out
        }
        _ => format!("{v:0width$}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer: text -> entries (one logical line each, parentheses joined; RFC 1035 §5.1).
// ---------------------------------------------------------------------------------------------

/// One word or quoted string.
#[derive(Debug, Clone)]
struct Token {
    /// As written (quotes and escapes included): used for [`RData::Other`] text and messages.
    raw: String,
    /// With escapes decoded (and quotes removed).
    bytes: Vec<u8>,
    quoted: bool,
    /// 1-based line where the token starts.
    line: usize,
}

/// One logical line: the tokens of a physical line plus any lines joined by parentheses.
#[derive(Debug)]
struct Entry {
    line: usize,
    /// The line started with white space: the owner is the previous one (RFC 1035 §5.1).
    blank_owner: bool,
    tokens: Vec<Token>,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\u{feff}')
}

fn tokenize(text: &str) -> Result<Vec<Entry>, ZoneError> {
    let mut entries = Vec::new();
    let mut line = 1usize;
    let mut depth = 0usize;
    let mut paren_line = 0usize;
    let mut at_line_start = true;
    let mut cur = Entry {
        line: 1,
        blank_owner: false,
        tokens: Vec::new(),
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if at_line_start {
            at_line_start = false;
            if depth == 0 && cur.tokens.is_empty() {
                cur.line = line;
                cur.blank_owner = c == ' ' || c == '\t';
            }
        }
        match c {
            '\n' => {
                line += 1;
                at_line_start = true;
                if depth == 0 {
                    if !cur.tokens.is_empty() {
                        entries.push(std::mem::replace(
                            &mut cur,
                            Entry {
                                line,
                                blank_owner: false,
                                tokens: Vec::new(),
                            },
                        ));
                    }
                    cur.line = line;
                }
            }
            c if is_space(c) => {}
            ';' => {
                // A comment runs to the end of the line (RFC 1035 §5.1); the newline itself is
                // left for the loop so that line counting and entry ends stay in one place.
                while let Some(&n) = chars.peek() {
                    if n == '\n' {
                        break;
                    }
                    chars.next();
                }
            }
            '(' => {
                if depth == 0 {
                    paren_line = line;
                }
                depth += 1;
            }
            ')' => {
                if depth == 0 {
                    return err(line, "')' without a matching '('");
                }
                depth -= 1;
            }
            '"' => {
                let start = line;
                let mut raw = String::from('"');
                let mut bytes = Vec::new();
                let mut closed = false;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => {
                            raw.push('"');
                            closed = true;
                            break;
                        }
                        '\n' => break,
                        '\\' => {
                            raw.push('\\');
                            read_escape(&mut chars, &mut raw, &mut bytes, start)?;
                        }
                        q => {
                            raw.push(q);
                            push_char(&mut bytes, q);
                        }
                    }
                }
                if !closed {
                    return err(
                        start,
                        "unterminated quoted string (a '\"' without its closing '\"' on the same line)",
                    );
                }
                cur.tokens.push(Token {
                    raw,
                    bytes,
                    quoted: true,
                    line: start,
                });
            }
            c => {
                let mut raw = String::new();
                let mut bytes = Vec::new();
                let mut next = Some(c);
                while let Some(w) = next {
                    if w == '\\' {
                        raw.push('\\');
                        read_escape(&mut chars, &mut raw, &mut bytes, line)?;
                    } else {
                        raw.push(w);
                        push_char(&mut bytes, w);
                    }
                    next = match chars.peek() {
                        Some(&p) if !is_space(p) && !matches!(p, '\n' | ';' | '(' | ')' | '"') => {
                            chars.next()
                        }
                        _ => None,
                    };
                }
                cur.tokens.push(Token {
                    raw,
                    bytes,
                    quoted: false,
                    line,
                });
            }
        }
    }
    if depth > 0 {
        return err(
            paren_line,
            "unterminated '(' (no matching ')' before the end of the file)",
        );
    }
    if !cur.tokens.is_empty() {
        entries.push(cur);
    }
    Ok(entries)
}

fn push_char(bytes: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// Reads what follows a backslash: `\DDD` (a decimal byte value) or `\X` (X literally),
/// RFC 1035 §5.1.
fn read_escape(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    raw: &mut String,
    bytes: &mut Vec<u8>,
    line: usize,
) -> Result<(), ZoneError> {
    match chars.next() {
        None | Some('\n') => err(
            line,
            "'\\' at the end of a line (expected an escaped character)",
        ),
        Some(d) if d.is_ascii_digit() => {
            let mut value = u32::from(d as u8 - b'0');
            raw.push(d);
            for _ in 0..2 {
                match chars.next_if(|c| c.is_ascii_digit()) {
                    Some(d2) => {
                        raw.push(d2);
                        value = value * 10 + u32::from(d2 as u8 - b'0');
                    }
                    None => {
                        return err(
                            line,
                            format!("expected three decimal digits after '\\' in \"{raw}\""),
                        );
                    }
                }
            }
            match u8::try_from(value) {
                Ok(b) => {
                    bytes.push(b);
                    Ok(())
                }
                Err(_) => err(
                    line,
                    format!("escape \"\\{value:03}\" is over 255 (\\DDD is one byte in decimal)"),
                ),
            }
        }
        Some(x) => {
            raw.push(x);
            push_char(bytes, x);
            Ok(())
        }
    }
}

/// Decodes escapes in a standalone word (used for the `origin` argument).
fn decode_word(word: &str, line: usize) -> Result<Vec<u8>, ZoneError> {
    let mut chars = word.chars().peekable();
    let mut raw = String::new();
    let mut bytes = Vec::new();
    while let Some(c) = chars.next() {
        if c == '\\' {
            read_escape(&mut chars, &mut raw, &mut bytes, line)?;
        } else {
            push_char(&mut bytes, c);
        }
    }
    Ok(bytes)
}

// ---------------------------------------------------------------------------------------------
// Names.
// ---------------------------------------------------------------------------------------------

/// Turns a name token into the canonical key form. `origin` is the current `$ORIGIN` (already
/// canonical, "" for the root); `what` names the field for messages.
///
/// The raw text is needed to tell an escaped dot (part of a label) from a label separator, so
/// labels are split on the raw text and each label decoded on its own.
fn parse_name(tok: &Token, origin: Option<&str>, what: &str) -> Result<String, ZoneError> {
    if tok.quoted {
        return err(
            tok.line,
            format!(
                "expected {what} (a domain name), found the quoted string {}",
                tok.raw
            ),
        );
    }
    if tok.raw == "@" {
        // "@" is the current origin (RFC 1035 §5.1).
        return match origin {
            Some(o) => Ok(o.to_string()),
            None => err(
                tok.line,
                format!("\"@\" used for {what} with no $ORIGIN set"),
            ),
        };
    }
    if tok.raw == "." {
        return Ok(String::new());
    }
    // Split the raw text on unescaped dots.
    let mut labels: Vec<String> = vec![String::new()];
    let mut absolute = false;
    let mut chars = tok.raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let mut esc = String::from('\\');
                if let Some(n) = chars.next() {
                    esc.push(n);
                    if n.is_ascii_digit() {
                        for _ in 0..2 {
                            if let Some(d) = chars.next_if(|c| c.is_ascii_digit()) {
                                esc.push(d);
                            }
                        }
                    }
                }
                if let Some(l) = labels.last_mut() {
                    l.push_str(&esc);
                }
            }
            '.' => {
                if chars.peek().is_none() {
                    absolute = true;
                } else {
                    labels.push(String::new());
                }
            }
            c => {
                if let Some(l) = labels.last_mut() {
                    l.push(c);
                }
            }
        }
    }
    let mut out = String::new();
    let mut wire = 1usize; // the root label
    for raw_label in &labels {
        if raw_label.is_empty() {
            return err(
                tok.line,
                format!(
                    "expected {what}, found \"{}\" (it has an empty label)",
                    tok.raw
                ),
            );
        }
        let decoded = decode_word(raw_label, tok.line)?;
        if decoded.len() > MAX_LABEL {
            return err(
                tok.line,
                format!(
                    "label \"{raw_label}\" in {what} is {} bytes long; the limit is {MAX_LABEL}",
                    decoded.len()
                ),
            );
        }
        wire += decoded.len() + 1;
        if !out.is_empty() {
            out.push('.');
        }
        present_label(&decoded, &mut out);
    }
    if !absolute {
        match origin {
            // Relative names are completed with the current origin (RFC 1035 §5.1).
            Some(o) => {
                if !o.is_empty() {
                    wire += presentation_wire_len(o);
                    out.push('.');
                    out.push_str(o);
                }
            }
            None => {
                return err(
                    tok.line,
                    format!(
                        "relative name \"{}\" for {what} with no $ORIGIN set (add a $ORIGIN line or end the name with '.')",
                        tok.raw
                    ),
                );
            }
        }
    }
    if wire > MAX_NAME_WIRE {
        return err(
            tok.line,
            format!("name \"{out}\" is longer than {MAX_NAME_WIRE} bytes"),
        );
    }
    Ok(out)
}

/// Appends one decoded label in the form the evaluators query it: ASCII lower-cased, every
/// escape decoded (`\037` is `%`, `\032` a space: an SPF macro expansion such as `%_` yields
/// the raw character, RFC 7208 §7.3, and must find the record). Only bytes that cannot stand
/// for themselves in a dotted `&str` name stay escaped: `.` and `\` inside a label (`\.`,
/// `\\`), control characters and invalid UTF-8 (`\DDD`; no query name can contain them).
fn present_label(label: &[u8], out: &mut String) {
    for chunk in label.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '.' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                c if c.is_ascii_control() => {
                    out.push_str(&format!("\\{:03}", c as u32));
                }
                c => out.push(c.to_ascii_lowercase()),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\{b:03}"));
        }
    }
}

/// Wire length of a canonical non-root name without the root label: one length octet per
/// label plus its bytes, with `\DDD` and `\X` counting as one byte.
fn presentation_wire_len(name: &str) -> usize {
    let mut len = 1; // first label's length octet
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if chars.next().is_some_and(|d| d.is_ascii_digit()) {
                    chars.next();
                    chars.next();
                }
                len += 1;
            }
            '.' => len += 1,
            c => len += c.len_utf8(),
        }
    }
    len
}

/// A canonical name in presentation form with its final dot ("." for the root).
fn absolute_text(name: &str) -> String {
    format!("{name}.")
}

// ---------------------------------------------------------------------------------------------
// Entries -> records.
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct State {
    origin: Option<String>,
    /// `$TTL` (RFC 2308 §4).
    default_ttl: Option<u32>,
    /// The last TTL written on a record (RFC 1035 §5.1: an omitted TTL is the last one stated).
    last_ttl: Option<u32>,
    last_owner: Option<String>,
    /// Records made by `$GENERATE` so far (bounded by [`MAX_GENERATED_TOTAL`]).
    generated: usize,
    /// The file being read (None for text given directly, [`parse_zone`]).
    current_file: Option<PathBuf>,
    /// Where each record pushed so far was written, when read from a file.
    sources: Vec<RecordSource>,
}

impl State {
    /// Records that the record just pushed was written at `line` of the current file.
    fn note_source(&mut self, line: usize) {
        if let Some(file) = &self.current_file {
            self.sources.push(RecordSource {
                file: file.clone(),
                line,
            });
        }
    }
}

/// Record types accepted as [`RData::Other`]: the IANA registry's mnemonics, so that a typo
/// ("TXTT") is an error rather than a silently unknown type.
const OTHER_TYPES: &[&str] = &[
    "SOA",
    "NS",
    "SPF",
    "MD",
    "MF",
    "MB",
    "MG",
    "MR",
    "NULL",
    "WKS",
    "HINFO",
    "MINFO",
    "RP",
    "AFSDB",
    "X25",
    "ISDN",
    "RT",
    "NSAP",
    "NSAP-PTR",
    "SIG",
    "KEY",
    "PX",
    "GPOS",
    "LOC",
    "NXT",
    "EID",
    "NIMLOC",
    "SRV",
    "ATMA",
    "NAPTR",
    "KX",
    "CERT",
    "A6",
    "DNAME",
    "SINK",
    "APL",
    "DS",
    "SSHFP",
    "IPSECKEY",
    "RRSIG",
    "NSEC",
    "DNSKEY",
    "DHCID",
    "NSEC3",
    "NSEC3PARAM",
    "TLSA",
    "SMIMEA",
    "HIP",
    "NINFO",
    "RKEY",
    "TALINK",
    "CDS",
    "CDNSKEY",
    "OPENPGPKEY",
    "CSYNC",
    "ZONEMD",
    "SVCB",
    "HTTPS",
    "DSYNC",
    "UINFO",
    "UID",
    "GID",
    "UNSPEC",
    "NID",
    "L32",
    "L64",
    "LP",
    "EUI48",
    "EUI64",
    "URI",
    "CAA",
    "AVC",
    "DOA",
    "AMTRELAY",
    "RESINFO",
    "WALLET",
    "TA",
    "DLV",
];

fn is_class(word: &str) -> bool {
    let w = word.to_ascii_uppercase();
    matches!(w.as_str(), "IN" | "CH" | "CS" | "HS" | "NONE" | "ANY")
        || w.strip_prefix("CLASS")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Parses a TTL: seconds, or BIND's units (`1h30m`, `2d`, `1w`), at most 2^31-1 (RFC 2181 §8).
fn parse_ttl(tok: &Token, what: &str) -> Result<u32, ZoneError> {
    let bad = || {
        err(
            tok.line,
            format!(
                "expected {what} (seconds, or a duration like 1h30m), found \"{}\"",
                tok.raw
            ),
        )
    };
    if tok.quoted || tok.raw.is_empty() {
        return bad();
    }
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    let mut had_unit = false;
    for c in tok.raw.chars() {
        if let Some(d) = c.to_digit(10) {
            let n = num
                .unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(u64::from(d));
            num = Some(n.min(u64::from(u32::MAX) + 1));
            continue;
        }
        let mult: u64 = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return bad(),
        };
        let Some(n) = num.take() else {
            return bad();
        };
        had_unit = true;
        total = total.saturating_add(n.saturating_mul(mult));
    }
    if let Some(n) = num {
        if had_unit {
            // "1h30" is ambiguous; BIND rejects it too.
            return bad();
        }
        total = n;
    }
    if total > MAX_TTL {
        return err(
            tok.line,
            format!(
                "{what} \"{}\" is over the maximum of {MAX_TTL} seconds (RFC 2181 §8)",
                tok.raw
            ),
        );
    }
    u32::try_from(total).or_else(|_| bad())
}

impl State {
    fn entry(&mut self, e: &Entry) -> Result<Option<Record>, ZoneError> {
        let Some(first) = e.tokens.first() else {
            return Ok(None);
        };
        if !e.blank_owner && !first.quoted && first.raw.starts_with('$') {
            self.directive(e, first)?;
            return Ok(None);
        }
        self.record(e).map(Some)
    }

    fn directive(&mut self, e: &Entry, first: &Token) -> Result<(), ZoneError> {
        let args = e.tokens.get(1..).unwrap_or(&[]);
        let name = first.raw.to_ascii_uppercase();
        match name.as_str() {
            "$ORIGIN" => {
                let [arg] = args else {
                    return err(
                        e.line,
                        format!(
                            "expected one domain name after $ORIGIN, found {} words",
                            args.len()
                        ),
                    );
                };
                // A relative $ORIGIN is relative to the current one (as BIND does).
                let origin = parse_name(arg, self.origin.as_deref(), "$ORIGIN")?;
                self.origin = Some(origin);
                Ok(())
            }
            "$TTL" => {
                let [arg] = args else {
                    return err(
                        e.line,
                        format!("expected one TTL after $TTL, found {} words", args.len()),
                    );
                };
                // RFC 2308 §4: $TTL sets the TTL of records that have none.
                self.default_ttl = Some(parse_ttl(arg, "a TTL after $TTL")?);
                Ok(())
            }
            // Handled by `State::entries` (they produce records); reached only without a file.
            "$INCLUDE" => err(
                e.line,
                "$INCLUDE needs a zone file to be relative to (read the zone with --zone FILE)",
            ),
            _ => err(
                e.line,
                format!(
                    "unknown directive \"{}\" (expected $ORIGIN, $TTL, $INCLUDE, $GENERATE or a record)",
                    first.raw
                ),
            ),
        }
    }

    fn record(&mut self, e: &Entry) -> Result<Record, ZoneError> {
        let mut toks = e.tokens.iter();
        let owner = if e.blank_owner {
            // RFC 1035 §5.1: a blank owner is the last stated owner.
            match &self.last_owner {
                Some(o) => o.clone(),
                None => {
                    return err(
                        e.line,
                        "line starts with white space (meaning \"same owner as the previous record\") but there is no previous record",
                    );
                }
            }
        } else {
            match toks.next() {
                Some(t) => parse_name(t, self.origin.as_deref(), "the owner name")?,
                None => return err(e.line, "expected an owner name"),
            }
        };

        // [TTL] [class] or [class] [TTL], then the type (RFC 1035 §5.1).
        let mut ttl: Option<u32> = None;
        let mut class_seen = false;
        let rtype_tok = loop {
            let Some(t) = toks.next() else {
                return err(
                    e.line,
                    "expected a record type (A, MX, TXT, ...) after the owner, TTL and class",
                );
            };
            if t.quoted {
                return err(
                    t.line,
                    format!("expected a record type, found the quoted string {}", t.raw),
                );
            }
            if t.raw.starts_with(|c: char| c.is_ascii_digit()) {
                if ttl.is_some() {
                    return err(
                        t.line,
                        format!("expected a record type, found a second TTL \"{}\"", t.raw),
                    );
                }
                ttl = Some(parse_ttl(t, "a TTL")?);
                continue;
            }
            if is_class(&t.raw) {
                if class_seen {
                    return err(t.line, format!("class given twice (\"{}\")", t.raw));
                }
                let upper = t.raw.to_ascii_uppercase();
                if upper != "IN" && upper != "CLASS1" {
                    return err(
                        t.line,
                        format!("class {} is not supported (only IN)", t.raw),
                    );
                }
                class_seen = true;
                continue;
            }
            break t;
        };

        let ttl = match ttl {
            Some(t) => {
                self.last_ttl = Some(t);
                t
            }
            // No TTL, no $TTL and no earlier TTL: RFC 1035 leaves it undefined and BIND falls
            // back to a default; zone snippets for dry runs often omit it, so use one hour.
            None => self.default_ttl.or(self.last_ttl).unwrap_or(DEFAULT_TTL),
        };

        let rest: Vec<&Token> = toks.collect();
        let data = self.rdata(e, rtype_tok, &rest)?;
        self.last_owner = Some(owner.clone());
        Ok(Record {
            name: owner,
            ttl,
            data,
        })
    }

    fn rdata(&self, e: &Entry, t: &Token, rest: &[&Token]) -> Result<RData, ZoneError> {
        let mnemonic = t.raw.to_ascii_uppercase();
        let origin = self.origin.as_deref();
        let one = |what: &str| one_token(e, &mnemonic, rest, what);
        match mnemonic.as_str() {
            "A" => {
                let x = one("an IPv4 address")?;
                match x.raw.parse::<Ipv4Addr>() {
                    Ok(a) if !x.quoted => Ok(RData::A(a)),
                    _ => err(
                        x.line,
                        format!("expected an IPv4 address after A, found \"{}\"", x.raw),
                    ),
                }
            }
            "AAAA" => {
                let x = one("an IPv6 address")?;
                match x.raw.parse::<Ipv6Addr>() {
                    Ok(a) if !x.quoted => Ok(RData::Aaaa(a)),
                    _ => err(
                        x.line,
                        format!("expected an IPv6 address after AAAA, found \"{}\"", x.raw),
                    ),
                }
            }
            "MX" => match rest {
                [pref, exch] => {
                    let preference = match pref.raw.parse::<u16>() {
                        Ok(p) if !pref.quoted && pref.raw.bytes().all(|b| b.is_ascii_digit()) => p,
                        _ => {
                            return err(
                                pref.line,
                                format!(
                                    "expected an MX preference (0-65535), found \"{}\"",
                                    pref.raw
                                ),
                            );
                        }
                    };
                    let exchange = parse_name(exch, origin, "the MX exchange")?;
                    Ok(RData::Mx {
                        preference,
                        exchange,
                    })
                }
                [] | [_] => err(
                    e.line,
                    "expected a preference and an exchange name after MX (e.g. \"MX 10 mail\")",
                ),
                [_, _, extra, ..] => err(
                    extra.line,
                    format!("unexpected \"{}\" after the MX data", extra.raw),
                ),
            },
            "PTR" => Ok(RData::Ptr(parse_name(
                one("a domain name")?,
                origin,
                "the PTR target",
            )?)),
            "CNAME" => Ok(RData::Cname(parse_name(
                one("a domain name")?,
                origin,
                "the CNAME target",
            )?)),
            "TXT" => Ok(RData::Txt(character_strings(e, &mnemonic, rest)?)),
            "SPF" => {
                // RFC 7208 §3.1: type SPF is obsolete; kept as text so the owner exists.
                character_strings(e, &mnemonic, rest)?;
                Ok(other(&mnemonic, rest))
            }
            "NS" => {
                let x = one("a name server name")?;
                let ns = parse_name(x, origin, "the NS name")?;
                Ok(RData::Other {
                    rtype: "NS".to_string(),
                    rdata: absolute_text(&ns),
                })
            }
            "SOA" => self.soa(e, rest),
            m if OTHER_TYPES.contains(&m) || is_generic_type(m) => {
                if rest.is_empty() {
                    return err(e.line, format!("expected rdata after {}", t.raw));
                }
                Ok(other(m, rest))
            }
            _ => err(
                t.line,
                format!(
                    "expected a record type (A, AAAA, MX, TXT, PTR, CNAME, NS, SOA, TYPEnnn, ...), found \"{}\"",
                    t.raw
                ),
            ),
        }
    }

    /// SOA (RFC 1035 §3.3.13): names made absolute so the text stays meaningful outside this
    /// file; numbers checked.
    fn soa(&self, e: &Entry, rest: &[&Token]) -> Result<RData, ZoneError> {
        let [mname, rname, serial, timers @ ..] = rest else {
            return err(
                e.line,
                "expected SOA data: primary name server, mailbox, serial, refresh, retry, expire, minimum",
            );
        };
        if timers.len() != 4 {
            let line = timers.get(4).map_or(e.line, |t| t.line);
            return err(
                line,
                format!(
                    "expected 7 SOA fields (mname rname serial refresh retry expire minimum), found {}",
                    rest.len()
                ),
            );
        }
        let origin = self.origin.as_deref();
        let mname = parse_name(mname, origin, "the SOA primary name server")?;
        let rname = parse_name(rname, origin, "the SOA mailbox")?;
        if serial.quoted || serial.raw.parse::<u32>().is_err() {
            return err(
                serial.line,
                format!(
                    "expected an SOA serial (0-4294967295), found \"{}\"",
                    serial.raw
                ),
            );
        }
        let mut text = format!(
            "{} {} {}",
            absolute_text(&mname),
            absolute_text(&rname),
            serial.raw
        );
        for (t, what) in
            timers
                .iter()
                .zip(["SOA refresh", "SOA retry", "SOA expire", "SOA minimum"])
        {
            parse_ttl(t, &format!("the {what}"))?;
            text.push(' ');
            text.push_str(&t.raw);
        }
        Ok(RData::Other {
            rtype: "SOA".to_string(),
            rdata: text,
        })
    }
}

/// The single rdata token of a type that takes one (A, AAAA, PTR, CNAME, NS).
fn one_token<'a>(
    e: &Entry,
    mnemonic: &str,
    rest: &[&'a Token],
    what: &str,
) -> Result<&'a Token, ZoneError> {
    match rest {
        [x] => Ok(*x),
        [] => err(
            e.line,
            format!("expected {what} after {mnemonic}, found nothing"),
        ),
        [_, extra, ..] => err(
            extra.line,
            format!("unexpected \"{}\" after the {mnemonic} data", extra.raw),
        ),
    }
}

fn is_generic_type(m: &str) -> bool {
    // RFC 3597 §5: TYPEnnn for types without a mnemonic.
    m.strip_prefix("TYPE")
        .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<u16>().is_ok())
}

fn other(rtype: &str, rest: &[&Token]) -> RData {
    let rdata = rest
        .iter()
        .map(|t| t.raw.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    RData::Other {
        rtype: rtype.to_string(),
        rdata,
    }
}

/// TXT rdata: one or more character-strings, quoted or not, each at most 255 bytes
/// (RFC 1035 §3.3.14 and §3.3).
fn character_strings(
    e: &Entry,
    mnemonic: &str,
    rest: &[&Token],
) -> Result<Vec<Vec<u8>>, ZoneError> {
    if rest.is_empty() {
        return err(
            e.line,
            format!("expected at least one character-string (\"...\") after {mnemonic}"),
        );
    }
    let mut out = Vec::with_capacity(rest.len());
    for t in rest {
        if t.bytes.len() > MAX_CHARACTER_STRING {
            return err(
                t.line,
                format!(
                    "{mnemonic} character-string is {} bytes long; the limit is {MAX_CHARACTER_STRING} (split it into several quoted strings)",
                    t.bytes.len()
                ),
            );
        }
        out.push(t.bytes.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Record> {
        match parse_zone(text, Some("example.com.")) {
            Ok(r) => r,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    fn parse_err(text: &str) -> ZoneError {
        match parse_zone(text, Some("example.com")) {
            Ok(r) => panic!("expected an error, got {r:?}"),
            Err(e) => e,
        }
    }

    fn txt(parts: &[&[u8]]) -> RData {
        RData::Txt(parts.iter().map(|p| p.to_vec()).collect())
    }

    #[test]
    fn seed_zone_parses() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/seed/seed.zone"
        ))
        .unwrap();
        let recs = parse_zone(&text, None).unwrap();
        let find = |name: &str, pred: &dyn Fn(&RData) -> bool| {
            recs.iter()
                .filter(|r| r.name == name && pred(&r.data))
                .cloned()
                .collect::<Vec<_>>()
        };
        let spf = find("thespykiller.co.uk", &|d| matches!(d, RData::Txt(_)));
        assert_eq!(spf.len(), 1);
        assert_eq!(
            spf[0].data,
            txt(&[b"v=spf1 mx a ip4:192.0.2.0/27 include:_spf.mailhost.example -all"])
        );
        assert_eq!(spf[0].ttl, 3600);
        let ptr = find("61.190.142.81.in-addr.arpa", &|_| true);
        assert_eq!(ptr.len(), 1);
        assert_eq!(ptr[0].data, RData::Ptr("dain.r-pl.co.uk".into()));
        let dkim = find("mail2021._domainkey.thespykiller.co.uk", &|_| true);
        assert_eq!(dkim.len(), 1);
        match &dkim[0].data {
            RData::Txt(parts) => {
                assert_eq!(parts.len(), 3);
                assert!(parts[0].starts_with(b"v=DKIM1; k=rsa; p=MIIB"));
                assert_eq!(parts[2], b"QgPQIDAQAB");
            }
            other => panic!("not TXT: {other:?}"),
        }
        let mx = find("thespykiller.co.uk", &|d| matches!(d, RData::Mx { .. }));
        assert_eq!(
            mx[0].data,
            RData::Mx {
                preference: 10,
                exchange: "mail.thespykiller.co.uk".into()
            }
        );
        let soa = find(
            "thespykiller.co.uk",
            &|d| matches!(d, RData::Other { rtype, .. } if rtype == "SOA"),
        );
        assert_eq!(soa.len(), 1);
        assert_eq!(
            find("_spf.mailhost.example", &|_| true)[0].data,
            txt(&[b"v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:100::/48 ~all"])
        );
        assert_eq!(
            find("dain.r-pl.co.uk", &|_| true)[0].data,
            RData::A("81.142.190.61".parse().unwrap())
        );
        // Every record after the DKIM TXT still has the right line-independent data.
        assert_eq!(recs.len(), 15);
    }

    #[test]
    fn origin_at_relative_absolute_and_blank_owner() {
        let recs = parse(
            "$TTL 300\n\
             @ A 192.0.2.1\n\
             \tMX 10 mail\n\
             www.Example.COM. CNAME @\n\
             mail 60 IN A 192.0.2.2\n\
             $ORIGIN sub\n\
             x IN 120 PTR host.other.\n",
        );
        assert_eq!(recs.len(), 5);
        assert_eq!(recs[0].name, "example.com");
        assert_eq!(recs[1].name, "example.com");
        assert_eq!(
            recs[1].data,
            RData::Mx {
                preference: 10,
                exchange: "mail.example.com".into()
            }
        );
        assert_eq!(recs[2].name, "www.example.com");
        assert_eq!(recs[2].data, RData::Cname("example.com".into()));
        assert_eq!(recs[3].ttl, 60);
        assert_eq!(recs[0].ttl, 300);
        assert_eq!(recs[4].name, "x.sub.example.com");
        assert_eq!(recs[4].ttl, 120);
        assert_eq!(recs[4].data, RData::Ptr("host.other".into()));
    }

    #[test]
    fn ttl_rules() {
        // Without $TTL, the last stated TTL is used (RFC 1035 §5.1).
        let recs = parse_zone(
            "a.example. 1h IN A 192.0.2.1\nb.example. A 192.0.2.2\n",
            None,
        )
        .unwrap();
        assert_eq!(recs[0].ttl, 3600);
        assert_eq!(recs[1].ttl, 3600);
        let recs = parse("$TTL 1d\na 1w2d3h4m5s A 192.0.2.1\nb A 192.0.2.1\n");
        assert_eq!(recs[0].ttl, 604_800 + 2 * 86_400 + 3 * 3600 + 4 * 60 + 5);
        assert_eq!(recs[1].ttl, 86_400);
        // No TTL anywhere: the default hour.
        let recs = parse("\n\na A 192.0.2.1\n");
        assert_eq!(recs[0].ttl, DEFAULT_TTL);
        let e = parse_err("$TTL 1x\n");
        assert_eq!(
            e.to_string(),
            "line 1: expected a TTL after $TTL (seconds, or a duration like 1h30m), found \"1x\""
        );
        let e = parse_err("$TTL 1\na 3000000000 A 192.0.2.1\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("maximum"), "{e}");
        assert_eq!(parse_err("$TTL 1h30\n").line, 1);
    }

    #[test]
    fn class_handling() {
        let recs = parse("$TTL 5\na IN 30 A 192.0.2.1\nb 30 in A 192.0.2.1\n");
        assert_eq!(recs.len(), 2);
        let e = parse_err("$TTL 5\n\na CH TXT \"x\"\n");
        assert_eq!(e.to_string(), "line 3: class CH is not supported (only IN)");
        assert_eq!(parse_err("$TTL 5\na HS A 192.0.2.1\n").line, 2);
        assert_eq!(parse_err("$TTL 5\na IN IN A 192.0.2.1\n").line, 2);
    }

    #[test]
    fn comments_parens_and_quotes() {
        let recs = parse(
            "$TTL 5 ; default\n\
             a TXT \"semi; colon\" \"paren ( \" ; real comment\n\
             b TXT ( \"one\" ; comment inside\n\
             \t\"two\"\n\
             )\n\
             c ( IN\n A\n 192.0.2.9 )\n",
        );
        assert_eq!(recs[0].data, txt(&[b"semi; colon", b"paren ( "]));
        assert_eq!(recs[1].data, txt(&[b"one", b"two"]));
        assert_eq!(recs[2].name, "c.example.com");
        assert_eq!(recs[2].data, RData::A("192.0.2.9".parse().unwrap()));
    }

    #[test]
    fn escapes_in_strings() {
        let recs = parse("$TTL 5\na TXT \"q\\\"b\\\\s\\065\\255\\x\" word\\ with\\ spaces plain\n");
        assert_eq!(
            recs[0].data,
            txt(&[b"q\"b\\sA\xffx", b"word with spaces", b"plain"])
        );
        let e = parse_err("$TTL 5\n\na TXT \"\\256\"\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("over 255"), "{e}");
        let e = parse_err("$TTL 5\na TXT \"\\12x\"\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("three decimal digits"), "{e}");
    }

    #[test]
    fn escapes_in_names() {
        let recs = parse("$TTL 5\n\\065b\\.c A 192.0.2.1\nx\\032y CNAME T\\097rget.Other.\n");
        assert_eq!(recs[0].name, "ab\\.c.example.com");
        assert_eq!(recs[1].name, "x y.example.com");
        assert_eq!(recs[1].data, RData::Cname("target.other".into()));
    }

    /// openspf `macro-mania-in-domain`: the owner name the record's
    /// `a:macro%%percent%_%_space%-url-space.example.com` expands to.
    #[test]
    fn escaped_owner_matches_macro_expansion() {
        let recs = parse_zone(
            "macro\\037percent\\032\\032space\\03720url-space.example.com. 300 A 1.2.3.4\n\
             tab\\009x.example.com. 300 A 1.2.3.4\n",
            None,
        )
        .unwrap();
        assert_eq!(recs[0].name, "macro%percent  space%20url-space.example.com");
        // A control character cannot be in a query name: it stays escaped.
        assert_eq!(recs[1].name, "tab\\009x.example.com");
    }

    #[test]
    fn txt_length_limit() {
        let ok = "x".repeat(255);
        let recs = parse(&format!("$TTL 5\na TXT \"{ok}\" \"{ok}\"\n"));
        assert_eq!(recs[0].data, txt(&[ok.as_bytes(), ok.as_bytes()]));
        let long = "y".repeat(256);
        let e = parse_err(&format!("$TTL 5\na TXT (\n\"ok\"\n\"{long}\" )\n"));
        assert_eq!(e.line, 4);
        assert!(e.message.contains("256 bytes"), "{e}");
    }

    #[test]
    fn spf_and_other_types() {
        let recs = parse(
            "$TTL 5\n\
             @ SPF \"v=spf1 -all\"\n\
             @ NS ns1\n\
             @ CAA 0 issue \"letsencrypt.org\"\n\
             @ TYPE65534 \\# 2 0102\n\
             @ SOA ns1 hostmaster ( 1 2h 1h 1w 300 )\n",
        );
        assert_eq!(
            recs[0].data,
            RData::Other {
                rtype: "SPF".into(),
                rdata: "\"v=spf1 -all\"".into()
            }
        );
        assert_eq!(
            recs[1].data,
            RData::Other {
                rtype: "NS".into(),
                rdata: "ns1.example.com.".into()
            }
        );
        assert_eq!(
            recs[2].data,
            RData::Other {
                rtype: "CAA".into(),
                rdata: "0 issue \"letsencrypt.org\"".into()
            }
        );
        assert_eq!(
            recs[3].data,
            RData::Other {
                rtype: "TYPE65534".into(),
                rdata: "\\# 2 0102".into()
            }
        );
        assert_eq!(
            recs[4].data,
            RData::Other {
                rtype: "SOA".into(),
                rdata: "ns1.example.com. hostmaster.example.com. 1 2h 1h 1w 300".into()
            }
        );
    }

    #[test]
    fn aaaa_and_null_mx() {
        let recs = parse("$TTL 5\na AAAA 2001:DB8::1\na MX 0 .\n");
        assert_eq!(recs[0].data, RData::Aaaa("2001:db8::1".parse().unwrap()));
        assert_eq!(
            recs[1].data,
            RData::Mx {
                preference: 0,
                exchange: String::new()
            }
        );
    }

    #[test]
    fn error_messages_and_lines() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "$TTL 5\n\n\n\n\n\n\n\n\n\n\nwww A 1.2.3\n",
                12,
                "expected an IPv4 address after A, found \"1.2.3\"",
            ),
            ("$TTL 5\na AAAA 1.2.3.4\n", 2, "expected an IPv6 address"),
            (
                "$TTL 5\na A\n",
                2,
                "expected an IPv4 address after A, found nothing",
            ),
            ("$TTL 5\na A 192.0.2.1 extra\n", 2, "unexpected \"extra\""),
            (
                "$TTL 5\na MX mail\n",
                2,
                "expected a preference and an exchange",
            ),
            ("$TTL 5\na MX 70000 mail\n", 2, "expected an MX preference"),
            (
                "$TTL 5\na TXT\n",
                2,
                "expected at least one character-string",
            ),
            ("$TTL 5\na TXTT \"x\"\n", 2, "expected a record type"),
            ("$TTL 5\na 5 IN\n", 2, "expected a record type"),
            ("$TTL 5\na TXT \"open\n", 2, "unterminated quoted string"),
            ("$TTL 5\na TXT ( \"x\"\n\n\"y\"\n", 2, "unterminated '('"),
            ("$TTL 5\na TXT \"x\" )\n", 2, "')' without a matching '('"),
            ("$INCLUDE other.zone\n", 1, "$INCLUDE needs a zone file"),
            ("$TTL 5\n$GENERATE 2-1 x A 1.2.3.4\n", 2, "start <= stop"),
            ("$GENERATE 1-2/0 x A 1.2.3.4\n", 1, "step >= 1"),
            (
                "$GENERATE 1-x x A 1.2.3.4\n",
                1,
                "expected a $GENERATE range",
            ),
            ("$GENERATE 0-65536 x A 1.2.3.4\n", 1, "the limit is 65536"),
            ("$GENERATE 1-2 x A\n", 1, "expected $GENERATE range lhs"),
            ("$GENERATE 1-2 x-${1 A 1.2.3.4\n", 1, "without its \"}\""),
            ("$GENERATE 1-2 x-${0,3,q} A 1.2.3.4\n", 1, "a base"),
            ("$GENERATE 1-2 x-${-5} A 1.2.3.4\n", 1, "negative"),
            (
                "$TTL 5\n\n$GENERATE 1-300 x A 192.0.2.$\n",
                3,
                "expected an IPv4 address",
            ),
            ("$FOO\n", 1, "unknown directive"),
            ("$ORIGIN\n", 1, "expected one domain name after $ORIGIN"),
            (" A 192.0.2.1\n", 1, "no previous record"),
            ("$TTL 5\na..b A 192.0.2.1\n", 2, "empty label"),
            ("$TTL 5\n\"a\" A 192.0.2.1\n", 2, "quoted string"),
            ("$TTL 5\na CNAME b\\\n", 2, "'\\' at the end of a line"),
            ("$TTL 5\na NS\n", 2, "expected a name server name after NS"),
            ("$TTL 5\na SOA ns1 host 1 2 3\n", 2, "expected 7 SOA fields"),
            ("$TTL 5\na SOA ns1\n", 2, "expected SOA data"),
            (
                "$TTL 5\na SOA ns1 host x 2 3 4 5\n",
                2,
                "expected an SOA serial",
            ),
            ("$TTL 5\na CAA\n", 2, "expected rdata after CAA"),
        ];
        for (text, line, msg) in cases {
            let e = parse_err(text);
            assert_eq!(e.line, *line, "{text:?} -> {e}");
            assert!(e.message.contains(msg), "{text:?} -> {e}");
        }
    }

    #[test]
    fn relative_name_without_origin() {
        let e = parse_zone("$TTL 5\nwww A 192.0.2.1\n", None).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("relative name \"www\""), "{e}");
        let e = parse_zone("$TTL 5\n@ A 192.0.2.1\n", None).unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse_zone("$TTL 5\nwww.example. CNAME target\n", None).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("CNAME target"), "{e}");
    }

    #[test]
    fn several_origins() {
        let recs = parse_zone(
            "$TTL 5\n$ORIGIN a.example.\n@ A 192.0.2.1\n$ORIGIN b.example.\n@ A 192.0.2.2\nwww CNAME @\n",
            None,
        )
        .unwrap();
        let names: Vec<&str> = recs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a.example", "b.example", "www.b.example"]);
    }

    #[test]
    fn name_length_limits() {
        let label = "a".repeat(64);
        let e = parse_err(&format!("$TTL 5\n{label} A 192.0.2.1\n"));
        assert_eq!(e.line, 2);
        assert!(e.message.contains("64 bytes"), "{e}");
        let long = vec!["abcdefghij"; 30].join(".");
        let e = parse_err(&format!("$TTL 5\n{long}. A 192.0.2.1\n"));
        assert!(e.message.contains("longer than 255"), "{e}");
    }

    #[test]
    fn wire_length_counts_escapes_once() {
        assert_eq!(presentation_wire_len("a\\032b.c"), 1 + 3 + 1 + 1);
        assert_eq!(presentation_wire_len("ab\\.c"), 1 + 4);
        // 3 labels of 63 + origin "\\000" x 60 (60 wire bytes + 1): 3*64 + 61 + 1 = 254.
        let l = "a".repeat(63);
        let origin = "\\000".repeat(60);
        let text = format!("$TTL 5\n{l}.{l}.{l} A 192.0.2.1\n");
        assert!(parse_zone(&text, Some(&origin)).is_ok());
        let text = format!("$TTL 5\nx.{l}.{l}.{l} A 192.0.2.1\n");
        assert!(parse_zone(&text, Some(&origin)).is_err());
    }

    #[test]
    fn crlf_and_bom() {
        let recs = parse("\u{feff}$TTL 5\r\na TXT \"x\"\r\n\tA 192.0.2.1\r\n");
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].name, "a.example.com");
    }

    #[test]
    fn unicode_is_kept_or_rejected_cleanly() {
        let recs = parse("$TTL 5\nBÜcher TXT \"héllo ☃\" 🦀\n");
        assert_eq!(recs[0].name, "bÜcher.example.com");
        assert_eq!(
            recs[0].data,
            RData::Txt(vec![
                "héllo ☃".as_bytes().to_vec(),
                "🦀".as_bytes().to_vec()
            ])
        );
        let e = parse_err("$TTL 5\na A ١٢٣.٤.٥.٦\n");
        assert_eq!(e.line, 2);
    }

    #[test]
    fn never_panics_on_garbage() {
        let samples = [
            "",
            "\n",
            "(",
            ")",
            "\"",
            "\\",
            "$",
            "@",
            ";",
            "( ( ) ",
            "\\9",
            "\\99",
            "a\\",
            "\t\t\n\t",
            "$ORIGIN .\n@ 1 A 1.2.3.4\n",
            ". 1 TXT x",
            "$TTL\n",
            "$TTL 99999999999999999999\n",
            "a 1 TYPE TYPE",
            "a 1 TYPE99999 x",
            "a 1 CLASS3 A 1.2.3.4",
            "\u{0}\u{0}",
            "@ @ @ @",
            "a 1 MX 1 ..",
            "a 1 SOA ( . . 1 1 1 1 1 )",
            "$ORIGIN \\.\n",
            "\u{202e}\u{300}x 1 A 1.1.1.1",
            "a 1 ( TXT \"a\" ) ( \"b\" )",
            "🦀🦀🦀 1 IN 🦀 🦀",
        ];
        for s in samples {
            let _ = parse_zone(s, None);
            let _ = parse_zone(s, Some("example."));
            let _ = parse_zone(s, Some("bad..origin"));
        }
        let huge = format!("$TTL 5\na TXT {}\n", "word ".repeat(200_000));
        assert!(parse_zone(&huge, Some("example.")).is_ok());
        let huge_word = format!("$TTL 5\n{} A 1.2.3.4\n", "z".repeat(1_000_000));
        assert_eq!(
            parse_zone(&huge_word, Some("example.")).unwrap_err().line,
            2
        );
        // Every prefix of a realistic zone (cuts mid-token, mid-quote, mid-paren).
        let zone = "$TTL 5\n$ORIGIN ex.\n@ SOA ns h ( 1 2 3 4 5 )\na TXT ( \"x\\\"y\" ; c\n \"\\065\" )\n\tMX 1 b\n";
        for (i, _) in zone.char_indices() {
            let _ = parse_zone(&zone[..i], None);
        }
        // Deterministic pseudo-random byte soup over the syntax alphabet.
        let alphabet: Vec<char> = "ab.1 \t\n;()\"\\$@INTXAMé🦀".chars().collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let mut s = String::new();
            for _ in 0..40 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let _ = parse_zone(&s, Some("o."));
        }
    }

    #[test]
    fn root_origin() {
        let recs = parse_zone("$ORIGIN .\n$TTL 5\nexample A 192.0.2.1\n@ TXT x\n", None).unwrap();
        assert_eq!(recs[0].name, "example");
        assert_eq!(recs[1].name, "");
    }
    #[test]
    fn generate_bind_syntax() {
        let recs = parse("$TTL 5\n$GENERATE 1-7/2 host-$ A 192.0.2.$\n");
        let got: Vec<(String, RData)> = recs
            .iter()
            .map(|r| (r.name.clone(), r.data.clone()))
            .collect();
        let want: Vec<(String, RData)> = [1, 3, 5, 7]
            .iter()
            .map(|i| {
                (
                    format!("host-{i}.example.com"),
                    RData::A(format!("192.0.2.{i}").parse().unwrap()),
                )
            })
            .collect();
        assert_eq!(got, want);
        // Modifiers: offset, width, base (BIND's examples), literal dollars, TTL and class.
        let recs = parse(
            "$GENERATE 10-11 ${-10,3,d}.${0,4,x}.${0,0,X}.${0,0,o}.\\$$$ 60 IN CNAME t-${1}\n\
             $GENERATE 255-255 ${0,0,n} PTR ${0,5,N}.rev.\n\
             $GENERATE 1-1 ${0,4,n} TXT \"v=$\"\n",
        );
        assert_eq!(
            recs[0].name,
            "000.000a.A.12.$$.example.com".to_ascii_lowercase()
        );
        assert_eq!(recs[0].ttl, 60);
        assert_eq!(recs[0].data, RData::Cname("t-11.example.com".into()));
        assert_eq!(recs[1].name, "001.000b.b.13.$$.example.com");
        assert_eq!(recs[2].name, "f.f.example.com");
        assert_eq!(recs[2].data, RData::Ptr("f.f.0.rev".into()));
        // Nibble width counts the dots: width 4 is "1.0." — an absolute name, as in BIND.
        assert_eq!(recs[3].name, "1.0");
        assert_eq!(recs[3].data, txt(&[b"v=1"]));
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("spfcheck-zone-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        dir
    }

    #[test]
    fn include_relative_with_origin_and_errors() {
        let dir = temp_dir("include");
        std::fs::write(
            dir.join("main.zone"),
            "$ORIGIN example.\n$TTL 5\n@ TXT \"top\"\n$INCLUDE sub/part.zone\n\
             $INCLUDE sub/part.zone other.example.\nafter A 192.0.2.1\n",
        )
        .unwrap();
        // Relative to the including file's directory (sub/), not the working directory.
        std::fs::write(
            dir.join("sub/part.zone"),
            "www A 192.0.2.2\n$INCLUDE leaf.zone\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("sub/leaf.zone"),
            "$ORIGIN changed.\nleaf TXT \"x\"\n",
        )
        .unwrap();
        let recs = parse_zone_file(&dir.join("main.zone")).unwrap();
        let names: Vec<&str> = recs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "example",
                "www.example",
                "leaf.changed",
                "www.other.example",
                "leaf.changed",
                // The included file's $ORIGIN does not change the parent's.
                "after.example"
            ]
        );
        // An error inside an included file names that file and line.
        std::fs::write(dir.join("sub/leaf.zone"), "\nleaf A 1.2.3\n").unwrap();
        let e = parse_zone_file(&dir.join("main.zone")).unwrap_err();
        let leaf = dir.join("sub/leaf.zone");
        assert_eq!(e.file.as_deref(), Some(leaf.to_string_lossy().as_ref()));
        assert_eq!(e.line, 2);
        assert!(
            e.to_string()
                .ends_with("leaf.zone:2: expected an IPv4 address after A, found \"1.2.3\""),
            "{e}"
        );
        // A missing included file: the including file's line.
        std::fs::write(dir.join("sub/part.zone"), "$INCLUDE missing.zone\n").unwrap();
        let e = parse_zone_file(&dir.join("main.zone")).unwrap_err();
        assert!(
            e.file.as_deref().is_some_and(|f| f.ends_with("part.zone")),
            "{e}"
        );
        assert_eq!(e.line, 1);
        assert!(e.message.contains("missing.zone: cannot read"), "{e}");
        // Loops are refused.
        std::fs::write(dir.join("sub/part.zone"), "$INCLUDE ../main.zone\n").unwrap();
        let e = parse_zone_file(&dir.join("main.zone")).unwrap_err();
        assert!(e.message.contains("include loop"), "{e}");
        std::fs::write(dir.join("self.zone"), "$INCLUDE self.zone\n").unwrap();
        let e = parse_zone_file(&dir.join("self.zone")).unwrap_err();
        assert!(e.message.contains("include loop"), "{e}");
        // Depth is bounded: a chain of distinct files.
        for i in 0..20 {
            std::fs::write(
                dir.join(format!("d{i}.zone")),
                format!("$INCLUDE d{}.zone\n", i + 1),
            )
            .unwrap();
        }
        std::fs::write(dir.join("d20.zone"), "").unwrap();
        let e = parse_zone_file(&dir.join("d0.zone")).unwrap_err();
        assert!(e.message.contains("nested more than 8 deep"), "{e}");
        // Including a directory or a device is refused like reading one.
        std::fs::write(dir.join("dir.zone"), "$INCLUDE sub\n").unwrap();
        let e = parse_zone_file(&dir.join("dir.zone")).unwrap_err();
        assert!(e.message.contains("is a directory"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn located_records_name_their_file_and_line() {
        let dir = temp_dir("located");
        std::fs::write(
            dir.join("top.zone"),
            "$ORIGIN l.example.\n; comment\n@ TXT ( \"a\"\n  \"b\" )\n$INCLUDE sub/inc.zone\n$GENERATE 1-2 h$ A 192.0.2.$\nx A 192.0.2.9\n",
        )
        .unwrap();
        std::fs::write(dir.join("sub/inc.zone"), "\n\ninc A 192.0.2.1\n").unwrap();
        let (records, sources) = parse_zone_file_located(&dir.join("top.zone")).unwrap();
        assert_eq!(records.len(), sources.len());
        let at = |name: &str| {
            let i = records.iter().position(|r| r.name == name).unwrap();
            let s = &sources[i];
            (
                s.file.file_name().unwrap().to_string_lossy().into_owned(),
                s.line,
            )
        };
        // A record spanning lines (parentheses) is at the line where it starts.
        assert_eq!(at("l.example"), ("top.zone".to_string(), 3));
        assert_eq!(at("inc.l.example"), ("inc.zone".to_string(), 3));
        assert_eq!(at("h2.l.example"), ("top.zone".to_string(), 6));
        assert_eq!(at("x.l.example"), ("top.zone".to_string(), 7));
        assert_eq!(parse_zone_file(&dir.join("top.zone")).unwrap(), records);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn file_reads_are_bounded() {
        let dir = temp_dir("bounded");
        let e = parse_zone_file(&dir).unwrap_err();
        assert_eq!(e.line, 0);
        assert!(
            e.to_string().ends_with(": is a directory, not a zone file"),
            "{e}"
        );
        #[cfg(unix)]
        {
            let e = parse_zone_file(Path::new("/dev/zero")).unwrap_err();
            assert_eq!(
                e.to_string(),
                "/dev/zero: is not a regular file (a device, FIFO or socket): give a zone file"
            );
        }
        let big = dir.join("big.zone");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_ZONE_BYTES + 1).unwrap();
        let e = parse_zone_file(&big).unwrap_err();
        assert!(e.message.starts_with("too large"), "{e}");
        // Two includes of a file of 10 MiB: over the budget together.
        let half = dir.join("half.zone");
        std::fs::write(&half, " ".repeat(10 * 1024 * 1024)).unwrap();
        std::fs::write(
            dir.join("twice.zone"),
            "$INCLUDE half.zone\n$INCLUDE half.zone\n",
        )
        .unwrap();
        let e = parse_zone_file(&dir.join("twice.zone")).unwrap_err();
        assert!(e.message.contains("too large"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
    #[test]
    fn generate_never_panics() {
        let alphabet: Vec<char> = "$${}{,-0123456789dxXnNo.\\\" ;()aZ@".chars().collect();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let mut pieces = Vec::new();
            for _ in 0..3 {
                let n = (next() % 12) as usize;
                let p: String = (0..n)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect();
                pieces.push(p);
            }
            let (a, b, c) = (next() % 20, next() % 40, next() % 4);
            let ty = ["A", "TXT", "PTR", "CNAME", "IN", "60"][(next() % 6) as usize];
            let text = format!(
                "$GENERATE {a}-{b}/{c} {} {ty} {} {}\n",
                pieces[0], pieces[1], pieces[2]
            );
            let _ = parse_zone(&text, Some("example."));
        }
        // The largest modifiers stay bounded.
        let recs = parse("$GENERATE 0-0 x${4294967295,0,n} TXT \"${0,255,X}\"\n");
        assert_eq!(recs[0].name, "xf.f.f.f.f.f.f.f.example.com");
        assert_eq!(recs[0].data, txt(&["0".repeat(255).as_bytes()]));
        assert!(
            parse_err("$GENERATE 0-0 x${0,255,n} A 1.2.3.4\n")
                .message
                .contains("longer than 255")
        );
        assert!(
            parse_err("$GENERATE 0-0 x${4294967296} A 1.2.3.4\n")
                .message
                .contains("offset")
        );
    }
}
