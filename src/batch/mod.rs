//! Batch mode: many checks from one input stream, evaluated concurrently over one shared DNS
//! stack, written in input order. `input` turns lines into requests; this module runs them with
//! at most `concurrency` evaluations in flight and a reorder queue of the same bound, so memory
//! does not grow with the input's length. The command line (`cli::batch`) only glues these.

pub mod input;

use std::collections::VecDeque;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

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
    /// A chunk of consecutive lines evaluated by one task, results in input order.
    Running(JoinHandle<Vec<Rendered>>),
}

/// At most this many consecutive lines go to one task. Spawning a task per line cost the
/// input-reading thread a copy of the evaluation's large state machine and the runtime a
/// cross-thread wake-up per line; a chunk pays them once. Only lines already read are
/// chunked (never waiting for more input), so a slow input is not delayed.
const CHUNK: usize = 16;

/// The lines of one chunk, evaluated concurrently (DNS waits overlap), results in order.
async fn evaluate_chunk(
    resolver: Arc<dyn Resolver>,
    chunk: Vec<Pair>,
    opts: Options,
) -> Vec<Rendered> {
    let mut running: Vec<Pin<Box<dyn Future<Output = Rendered> + Send + '_>>> = chunk
        .iter()
        .map(|pair| {
            Box::pin(evaluate(resolver.clone(), pair, opts))
                as Pin<Box<dyn Future<Output = Rendered> + Send + '_>>
        })
        .collect();
    let mut done: Vec<Option<Rendered>> = running.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (fut, slot) in running.iter_mut().zip(done.iter_mut()) {
            if slot.is_none() {
                match fut.as_mut().poll(cx) {
                    Poll::Ready(r) => *slot = Some(r),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    done.into_iter().flatten().collect()
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
    let chunk_max = CHUNK.min(bound);
    let mut queue: VecDeque<(Pending, usize)> = VecDeque::with_capacity(bound);
    // Lines in `queue` (a chunk counts its lines): the reorder bound.
    let mut queued = 0usize;
    let mut summary = Summary::default();
    let mut chunk: Vec<Pair> = Vec::with_capacity(chunk_max);
    let mut open = true;
    while open {
        // The oldest result is written first; a full queue waits for it (the reorder bound).
        while queued + chunk_max > bound && !queue.is_empty() {
            queued -= flush_front(&mut queue, out, &mut summary, &mut progress).await?;
        }
        // Results already finished at the front go out without waiting for more input.
        while matches!(queue.front(), Some((Pending::Ready(_), _)))
            || matches!(queue.front(), Some((Pending::Running(h), _)) if h.is_finished())
        {
            queued -= flush_front(&mut queue, out, &mut summary, &mut progress).await?;
        }
        // One line (waiting for it), then those already read, up to a chunk.
        let mut next = rx.recv().await;
        let mut taken = 0;
        loop {
            let Some(entry) = next else {
                open = false;
                break;
            };
            match entry.parsed {
                Ok(mut pair) => {
                    // A text line reads only the results: evaluate without building the
                    // trace (the results are the same; JSON Lines keep the full document).
                    if opts.format == OutputFormat::Text {
                        pair.request.spf.trace = false;
                    }
                    chunk.push(pair);
                }
                Err(msg) => {
                    // A bad line ends the chunk before it, and takes its own place.
                    spawn_chunk(&mut queue, &mut queued, &mut chunk, &resolver, opts);
                    let rendered = (
                        render_error(opts.format, entry.line, &msg),
                        Class::InputError,
                    );
                    queue.push_back((Pending::Ready(rendered), 1));
                    queued += 1;
                }
            }
            // Bad lines count too: the queue stays within the bound.
            taken += 1;
            if taken >= chunk_max {
                break;
            }
            next = match rx.try_recv() {
                Ok(entry) => Some(entry),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => None,
            };
        }
        spawn_chunk(&mut queue, &mut queued, &mut chunk, &resolver, opts);
    }
    while !queue.is_empty() {
        flush_front(&mut queue, out, &mut summary, &mut progress).await?;
    }
    out.flush()?;
    Ok(summary)
}

/// Starts the lines gathered in `chunk` as one task at the back of the queue.
fn spawn_chunk(
    queue: &mut VecDeque<(Pending, usize)>,
    queued: &mut usize,
    chunk: &mut Vec<Pair>,
    resolver: &Arc<dyn Resolver>,
    opts: Options,
) {
    if chunk.is_empty() {
        return;
    }
    let lines = std::mem::take(chunk);
    let n = lines.len();
    let resolver = resolver.clone();
    let handle = tokio::spawn(evaluate_chunk(resolver, lines, opts));
    queue.push_back((Pending::Running(handle), n));
    *queued += n;
}

/// Writes the front of the queue; returns how many lines it held.
async fn flush_front<W: Write>(
    queue: &mut VecDeque<(Pending, usize)>,
    out: &mut W,
    summary: &mut Summary,
    progress: &mut impl FnMut(),
) -> std::io::Result<usize> {
    let Some((pending, n)) = queue.pop_front() else {
        return Ok(0);
    };
    let results = match pending {
        Pending::Ready(r) => vec![r],
        Pending::Running(h) => match h.await {
            Ok(r) => r,
            // A task that panicked (a bug) is reported as temperror lines, not lost.
            Err(e) => (0..n)
                .map(|_| (format!("error: evaluation failed: {e}\n"), Class::TempError))
                .collect(),
        },
    };
    for (text, class) in results {
        out.write_all(text.as_bytes())?;
        summary.add(class);
        progress();
    }
    Ok(n)
}
