//! `spfcheck replay REPORT...` for DMARC aggregate reports: reads each file (bounded, a regular
//! file or `-` for standard input), unwraps it (`report::archive`: XML, gzip, zip, email),
//! parses it (`report::aggregate`), replays every distinct source under the resolvers the
//! command built (`replay::aggregate`) and writes the table or the JSON document. The
//! argument parsing and the DNS stacks belong to the `replay` command; this is the one call it
//! makes for aggregate reports.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::dns::Resolver;
use crate::render::escape::echo;
use crate::render::replay_aggregate::{AggregateView, render_json, render_text};
use crate::replay::aggregate::{LoadedReport, ReplayOptions, replay_reports};
use crate::report::aggregate;
use crate::report::archive;

/// The most report files one run reads.
pub const MAX_REPORT_FILES: usize = 10_000;

/// Reads (as `spfcheck replay` does: at most 32 MiB, a regular file or `-`), unwraps and parses
/// one report: the error is one line naming the file.
pub fn load(path: &Path) -> Result<LoadedReport, String> {
    // The one bounded reader of `spfcheck replay` (its size limit, regular files only).
    let (_, bytes) = super::replay::read_input(path).map_err(|e| e.to_string())?;
    load_bytes(path.to_string_lossy().into_owned(), &bytes)
}

/// Unwraps and parses one report already read (`name` labels it and its errors).
pub fn load_bytes(name: String, bytes: &[u8]) -> Result<LoadedReport, String> {
    let located = |e: String| format!("{}: {e}", echo(&name));
    let unwrapped = archive::unwrap_report(bytes).map_err(|e| located(e.to_string()))?;
    let report = aggregate::parse(&unwrapped.xml).map_err(|e| located(e.to_string()))?;
    Ok(LoadedReport {
        name,
        containers: unwrapped.containers,
        member: unwrapped.member,
        report,
    })
}

/// Loads every file, replays, writes the table (or JSON with `json`) to `out`. `Ok` is the
/// exit code ([`crate::replay::aggregate::AggregateReplay::exit_code`]); `Err` an input error
/// (one line, exit 2): a file that cannot be read as an aggregate report in any supported
/// container. For callers already inside a tokio runtime.
pub async fn run_async(
    files: &[PathBuf],
    now: Arc<dyn Resolver>,
    proposed: Option<Arc<dyn Resolver>>,
    opts: &ReplayOptions,
    json: bool,
    out: &mut dyn Write,
) -> Result<i32, String> {
    if files.is_empty() {
        return Err("no report file given".to_string());
    }
    if files.len() > MAX_REPORT_FILES {
        return Err(format!(
            "{} report files given, more than the limit of {MAX_REPORT_FILES}",
            files.len()
        ));
    }
    let loaded = files
        .iter()
        .map(|f| load(f))
        .collect::<Result<Vec<_>, _>>()?;
    run_loaded(&loaded, now, proposed, opts, json, out).await
}

/// Replays reports already loaded ([`load_bytes`]) as one table (or JSON document) on `out`;
/// the exit code as [`run_async`].
pub async fn run_loaded(
    loaded: &[LoadedReport],
    now: Arc<dyn Resolver>,
    proposed: Option<Arc<dyn Resolver>>,
    opts: &ReplayOptions,
    json: bool,
    out: &mut dyn Write,
) -> Result<i32, String> {
    let reports: Vec<_> = loaded.iter().map(|l| l.report.clone()).collect();
    let replay = replay_reports(&reports, now, proposed, opts).await;
    let view = AggregateView {
        reports: loaded,
        replay: &replay,
    };
    let rendered = if json {
        render_json(&view) + "\n"
    } else {
        render_text(&view)
    };
    if let Err(e) = out.write_all(rendered.as_bytes()).and_then(|_| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(format!("cannot write output: {e}"));
    }
    Ok(replay.exit_code())
}

/// [`run_async`] on a runtime of its own (for callers outside any runtime).
pub fn run(
    files: &[PathBuf],
    now: Arc<dyn Resolver>,
    proposed: Option<Arc<dyn Resolver>>,
    opts: &ReplayOptions,
    json: bool,
    out: &mut dyn Write,
) -> Result<i32, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(run_async(files, now, proposed, opts, json, out))
}
