//! Batch mode: many checks from one input stream, evaluated concurrently over one shared DNS
//! stack, written in input order. `input` turns lines into requests; this module runs them with
//! at most `concurrency` evaluations in flight and a reorder queue of the same bound, so memory
//! does not grow with the input's length. The command line (`cli::batch`) only glues these.

pub mod input;

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::dns::Resolver;
use crate::eval::spf::{self, SpfResult};
use crate::render::escape::{clip_to, json_safe, terminal_safe};
use crate::render::{CheckView, json};
use crate::verdict::{self, Outcome};

pub use input::{Entry, Pair, Reader, Shard, Template};

/// How each result is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// `DOMAIN IP SPF-RESULT DMARC-RESULT DISPOSITION`, one line per input line.
    Text,
    /// The check's JSON document (with `line`), compact, one per line.
    JsonLines,
}

/// What a batch run does with each pair.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub format: OutputFormat,
    /// At most this many evaluations in flight (at least 1).
    pub concurrency: usize,
    /// SPF only: no DMARC discovery (text output; the DMARC columns are `-`).
    pub spf_only: bool,
}

/// What one line came to, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Authenticated,
    NotAuthenticated,
    PermError,
    TempError,
    /// A bad input line.
    InputError,
}

/// Counts of each class over the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub authenticated: u64,
    pub not_authenticated: u64,
    pub permerror: u64,
    pub temperror: u64,
    pub input_errors: u64,
}

impl Summary {
    fn add(&mut self, c: Class) {
        match c {
            Class::Authenticated => self.authenticated += 1,
            Class::NotAuthenticated => self.not_authenticated += 1,
            Class::PermError => self.permerror += 1,
            Class::TempError => self.temperror += 1,
            Class::InputError => self.input_errors += 1,
        }
    }

    /// Lines written.
    pub fn total(&self) -> u64 {
        self.authenticated
            + self.not_authenticated
            + self.permerror
            + self.temperror
            + self.input_errors
    }

    /// The exit code: 2 when any line was bad, else 4 when any temperror, else 3 when any
    /// permerror, else 1 when any was not authenticated, else 0 (documented in `--help`).
    pub fn exit_code(&self) -> i32 {
        if self.input_errors > 0 {
            2
        } else if self.temperror > 0 {
            4
        } else if self.permerror > 0 {
            3
        } else if self.not_authenticated > 0 {
            1
        } else {
            0
        }
    }
}

/// One output line (with its newline) and its class.
type Rendered = (String, Class);

enum Pending {
    Ready(Rendered),
    Running(JoinHandle<Rendered>),
}

/// The longest error message echoed in the output.
const MAX_ERROR: usize = 400;

/// A bad line, in its place in the output.
pub fn render_error(format: OutputFormat, line: u64, msg: &str) -> String {
    let msg = clip_to(msg, MAX_ERROR);
    match format {
        OutputFormat::Text => format!("line {line}: error: {}\n", terminal_safe(&msg)),
        OutputFormat::JsonLines => {
            let v = serde_json::json!({ "line": line, "error": msg });
            json_safe(v.to_string()) + "\n"
        }
    }
}

/// Evaluates one pair and renders its output line.
pub async fn evaluate(resolver: Arc<dyn Resolver>, pair: &Pair, opts: Options) -> Rendered {
    let domain = terminal_safe(&pair.domain_raw).into_owned();
    let ip = terminal_safe(&pair.ip_raw).into_owned();
    if opts.spf_only {
        let deadline = pair
            .request
            .spf
            .limits
            .deadline
            .map(|d| tokio::time::Instant::now() + d);
        let out = spf::check_host_until(resolver, &pair.request.spf, deadline).await;
        let class = match out.result {
            SpfResult::Pass => Class::Authenticated,
            SpfResult::PermError => Class::PermError,
            SpfResult::TempError => Class::TempError,
            _ => Class::NotAuthenticated,
        };
        return (format!("{domain} {ip} {} - -\n", out.result), class);
    }
    let v = verdict::evaluate(resolver, &pair.request).await;
    let class = match v.outcome {
        Outcome::Authenticated => Class::Authenticated,
        Outcome::NotAuthenticated => Class::NotAuthenticated,
        Outcome::PermError => Class::PermError,
        Outcome::TempError => Class::TempError,
    };
    let text = match opts.format {
        OutputFormat::Text => format!(
            "{domain} {ip} {} {} {}\n",
            v.spf.result, v.dmarc.result, v.disposition
        ),
        OutputFormat::JsonLines => {
            let view = CheckView {
                request: &pair.request,
                verdict: &v,
            };
            json::render_line(&view, pair.line) + "\n"
        }
    };
    (text, class)
}

/// Runs every entry received on `rx`, at most `opts.concurrency` at a time, writing each
/// result to `out` in the order received; `progress` is called once per line written.
/// Returns the counts, or the first write error (a closed pipe ends the run early).
pub async fn run<W: Write>(
    resolver: Arc<dyn Resolver>,
    mut rx: mpsc::Receiver<Entry>,
    opts: Options,
    out: &mut W,
    mut progress: impl FnMut(),
) -> std::io::Result<Summary> {
    let bound = opts.concurrency.max(1);
    let mut queue: VecDeque<Pending> = VecDeque::with_capacity(bound);
    let mut summary = Summary::default();
    loop {
        // The oldest result is written first; a full queue waits for it (the reorder bound).
        while queue.len() >= bound {
            flush_front(&mut queue, out, &mut summary, &mut progress).await?;
        }
        // Results already finished at the front go out without waiting for more input.
        while matches!(queue.front(), Some(Pending::Ready(_)))
            || matches!(queue.front(), Some(Pending::Running(h)) if h.is_finished())
        {
            flush_front(&mut queue, out, &mut summary, &mut progress).await?;
        }
        let Some(entry) = rx.recv().await else { break };
        let pending = match entry.parsed {
            Err(msg) => Pending::Ready((
                render_error(opts.format, entry.line, &msg),
                Class::InputError,
            )),
            Ok(mut pair) => {
                // A text line reads only the results: evaluate without building the trace
                // (the results are the same; JSON Lines keep the full document).
                if opts.format == OutputFormat::Text {
                    pair.request.spf.trace = false;
                }
                let resolver = resolver.clone();
                Pending::Running(tokio::spawn(async move {
                    evaluate(resolver, &pair, opts).await
                }))
            }
        };
        queue.push_back(pending);
    }
    while !queue.is_empty() {
        flush_front(&mut queue, out, &mut summary, &mut progress).await?;
    }
    out.flush()?;
    Ok(summary)
}

async fn flush_front<W: Write>(
    queue: &mut VecDeque<Pending>,
    out: &mut W,
    summary: &mut Summary,
    progress: &mut impl FnMut(),
) -> std::io::Result<()> {
    let (text, class) = match queue.pop_front() {
        Some(Pending::Ready(r)) => r,
        Some(Pending::Running(h)) => match h.await {
            Ok(r) => r,
            // A task that panicked (a bug) is reported as a temperror line, not lost.
            Err(e) => (format!("error: evaluation failed: {e}\n"), Class::TempError),
        },
        None => return Ok(()),
    };
    out.write_all(text.as_bytes())?;
    summary.add(class);
    progress();
    Ok(())
}
