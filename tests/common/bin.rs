//! Running the built `spfcheck` binary from a test: pipes drained on threads (so large output
//! cannot block it), NO_COLOR set, no stdin, and killed with a clear panic if it hangs. A JSON
//! output (`--json`, `--format json`) is validated against the published schema on every run.

use std::ffi::OsStr;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longer than any run may take; past it the run counts as a hang.
pub const HARD_LIMIT: Duration = Duration::from_secs(20);

/// What one run produced.
pub struct Ran {
    /// The exit code; -1 when a signal ended it (a crash, which no test accepts).
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed: Duration,
}

/// Runs the binary with `args`.
pub fn run_spfcheck<S: AsRef<OsStr> + std::fmt::Debug>(args: &[S]) -> Ran {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_spfcheck"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the spfcheck binary");
    let mut so = child.stdout.take().expect("piped stdout");
    let mut se = child.stderr.take().expect("piped stderr");
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for spfcheck") {
            break s;
        }
        if start.elapsed() > HARD_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("spfcheck {args:?} still running after {HARD_LIMIT:?}: killed (a hang)");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let ran = Ran {
        code: status.code().unwrap_or(-1),
        stdout: out_t.join().expect("stdout reader"),
        stderr: err_t.join().expect("stderr reader"),
        elapsed: start.elapsed(),
    };
    // An input error (exit 2) prints nothing on stdout; any other JSON run must match the schema.
    if wants_json(args) && ran.code != 2 {
        super::schema::validate_output(&ran.stdout, &format!("spfcheck {args:?}"));
    }
    // JSON Lines (`spfcheck batch --format jsonl`): every line is a document of the schema.
    if wants_format(args, "jsonl") {
        for (i, line) in ran.stdout.split(|&b| b == b'\n').enumerate() {
            if !line.is_empty() {
                super::schema::validate_output(line, &format!("spfcheck {args:?}, line {}", i + 1));
            }
        }
    }
    ran
}

/// True when the last `--format` in `args` is `format`.
fn wants_format<S: AsRef<OsStr>>(args: &[S], format: &str) -> bool {
    let mut last = None;
    let mut it = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned());
    while let Some(a) = it.next() {
        if a == "--format" {
            last = it.next();
        } else if let Some(f) = a.strip_prefix("--format=") {
            last = Some(f.to_string());
        }
    }
    last.as_deref() == Some(format)
}

/// True when `args` ask for the JSON document (the last `--format` wins, as in clap).
fn wants_json<S: AsRef<OsStr>>(args: &[S]) -> bool {
    let mut json = false;
    let mut format = None;
    let mut it = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned());
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--format" => format = it.next(),
            _ => {
                if let Some(f) = a.strip_prefix("--format=") {
                    format = Some(f.to_string());
                }
            }
        }
    }
    json || format.as_deref() == Some("json")
}
