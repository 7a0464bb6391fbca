//! The command line: argument definitions (`args`), the built plan (`plan`), and `run`, which
//! evaluates, renders, writes and maps the result to an exit code. The binary calls `run` and
//! nothing else.

pub mod args;
pub mod batch;
pub mod diff;
pub mod dkim;
pub mod lint;
pub mod plan;
pub mod replay;
pub mod replay_aggregate;
pub mod tree;

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;

use crate::eval::spf::SpfResult;
use crate::render::escape::{clip_to, json_safe, terminal_safe};
use crate::render::suggest as render_suggest;
use crate::render::{CheckView, auth_results, json, received_spf, style, text};
use crate::suggest;
use crate::verdict::{self, Outcome};

use args::{Args, Format};
use plan::Plan;

/// Exit codes, documented in the README and `--help`.
pub mod exit {
    /// pass
    pub const PASS: i32 = 0;
    /// fail, softfail, neutral, none
    pub const NOT_AUTHENTICATED: i32 = 1;
    /// usage or input error
    pub const USAGE: i32 = 2;
    /// permerror
    pub const PERMERROR: i32 = 3;
    /// temperror
    pub const TEMPERROR: i32 = 4;
}

/// The exit code for an SPF result alone.
pub fn spf_exit_code(result: SpfResult) -> i32 {
    match result {
        SpfResult::Pass => exit::PASS,
        SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral | SpfResult::None => {
            exit::NOT_AUTHENTICATED
        }
        SpfResult::PermError => exit::PERMERROR,
        SpfResult::TempError => exit::TEMPERROR,
    }
}

/// The exit code for a verdict (same meanings as for SPF alone).
pub fn exit_code(outcome: Outcome) -> i32 {
    match outcome {
        Outcome::Authenticated => exit::PASS,
        Outcome::NotAuthenticated => exit::NOT_AUTHENTICATED,
        Outcome::PermError => exit::PERMERROR,
        Outcome::TempError => exit::TEMPERROR,
    }
}

/// A clap error as one line: its first line without clap's own "error: " prefix. When that
/// line ends in ':' (e.g. "the following required arguments were not provided:"), the list
/// below it is what names the problem, so its items are appended.
fn one_line(rendered: &str) -> String {
    let mut lines = rendered.lines();
    let first = lines.next().unwrap_or("invalid arguments");
    let mut msg = first.strip_prefix("error: ").unwrap_or(first).to_string();
    if msg.ends_with(':') {
        let items: Vec<&str> = lines
            .take_while(|l| !l.trim().is_empty())
            .map(str::trim)
            .collect();
        if !items.is_empty() {
            msg.push(' ');
            msg.push_str(&items.join(", "));
        }
    }
    msg
}

/// The JSON document with the additive top-level field `unused_faults`: the `--fault` rules
/// no query matched (`NAME[/TYPE]=KIND`; empty when all fired or none was given).
fn with_unused_faults(rendered: &str, unused: &[String]) -> String {
    match serde_json::from_str::<serde_json::Value>(rendered) {
        Ok(serde_json::Value::Object(mut doc)) => {
            doc.insert("unused_faults".into(), serde_json::json!(unused));
            // Serializing a `Value` cannot fail (string keys only); serialising again loses
            // `json_safe`'s escapes, so they are applied again.
            json_safe(serde_json::to_string_pretty(&doc).unwrap_or_else(|_| rendered.to_string()))
        }
        _ => rendered.to_string(),
    }
}

/// A clap error as one line, with the hints clap prints on later lines put back: the possible
/// values of an enumerated option, the option clap suggests for a misspelt one, and for an
/// unknown short option (a DOMAIN such as `-bad.example`) that positional values starting
/// with '-' go after `--`.
fn clap_message(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let mut msg = one_line(&e.to_string());
    if let Some(ContextValue::Strings(values)) = e.get(ContextKind::ValidValue)
        && !values.is_empty()
    {
        msg.push_str(&format!(" (possible values: {})", values.join(", ")));
    }
    if e.kind() == ErrorKind::UnknownArgument {
        if let Some(ContextValue::String(s)) = e.get(ContextKind::SuggestedArg) {
            msg.push_str(&format!(" (did you mean '{s}'?)"));
        } else if let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg)
            && arg.starts_with('-')
            && !arg.starts_with("--")
        {
            msg.push_str(&format!(
                ": no option '{arg}'; a DOMAIN or IP cannot start with '-' (to give such a value anyway, put '--' before it)"
            ));
        }
    }
    msg
}

/// The longest error line, in characters: inputs echoed in it are clipped one by one
/// (`escape::echo`), this bounds whatever else a message quotes (clap's, a zone file's).
const MAX_ERROR_LINE: usize = 1000;

/// Writes one error line to stderr: `spfcheck: error: ` and `msg`, made terminal-safe and
/// clipped, since messages echo arguments and file content.
fn error_line(msg: &str) {
    eprintln!(
        "spfcheck: error: {}",
        terminal_safe(&clip_to(msg, MAX_ERROR_LINE))
    );
}

/// Parses a command line with clap: `--help` and `--version` print and give exit 0; an error is
/// one line (pointing at `help`) and gives exit 2.
fn parse_args<T: Parser>(argv: Vec<OsString>, help: &str) -> Result<T, i32> {
    T::try_parse_from(argv).map_err(|e| {
        use clap::error::ErrorKind;
        if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
            let _ = e.print();
            return exit::PASS;
        }
        error_line(&format!("{} (see {help})", clap_message(&e)));
        exit::USAGE
    })
}

/// A subcommand: its name (the first argument) and its runner, which gets the argument vector
/// with `spfcheck NAME` as argument 0 and returns the exit code.
type Subcommand = (&'static str, fn(Vec<OsString>) -> i32);

/// Every subcommand, one module each; the check itself (`spfcheck DOMAIN IP`) is the default.
/// The `--help` text (`args::AFTER_HELP`) lists them; `tests/cli.rs` checks that it does.
pub const SUBCOMMANDS: &[Subcommand] = &[
    ("batch", batch::run),
    ("dkim", dkim::run),
    ("diff", diff::run),
    ("lint", lint::run),
    ("replay", replay::run),
    ("tree", tree::run),
];

/// Runs the command line; returns the process exit code.
pub fn run(argv: impl IntoIterator<Item = OsString>) -> i32 {
    let argv: Vec<OsString> = argv.into_iter().collect();
    // `spfcheck SUBCOMMAND ...` when the first argument names one (a single-label name such
    // as `dkim` or `lint` is no FQDN, so `spfcheck DOMAIN IP` loses nothing).
    if let Some((name, run_sub)) = argv
        .get(1)
        .and_then(|a| SUBCOMMANDS.iter().find(|(n, _)| a == n))
    {
        let sub = std::iter::once(OsString::from(format!("spfcheck {name}")))
            .chain(argv.into_iter().skip(2))
            .collect();
        return run_sub(sub);
    }
    let args = match parse_args::<Args>(argv, "--help") {
        Ok(a) => a,
        Err(code) => return code,
    };
    let color = args.color.enabled();

    let plan = match Plan::build(&args) {
        Ok(p) => p,
        Err(e) => {
            error_line(&e.to_string());
            return exit::USAGE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("spfcheck: error: cannot start the async runtime: {e}");
            return exit::USAGE;
        }
    };
    let verdict = runtime.block_on(verdict::evaluate(plan.resolver.clone(), &plan.request));
    // --suggest: remedies proven by further evaluations; the exit code stays this verdict's.
    let suggestions = plan.suggest.then(|| {
        runtime.block_on(suggest::suggest(
            plan.resolver.clone(),
            &plan.request,
            &verdict,
        ))
    });
    let report = CheckView {
        request: &plan.request,
        verdict: &verdict,
    };
    // --fault rules that no query matched: a misspelt name would otherwise pass unnoticed.
    let unused_faults = plan.faults.as_ref().map(|f| f.unused()).unwrap_or_default();
    let rendered = match plan.format {
        Format::Text => {
            let mut out = style::with_color(color, || match &suggestions {
                Some(sg) => text::render_with(
                    &report,
                    &render_suggest::text(sg, plan.request.spf.limits.dns_terms),
                ),
                None => text::render(&report),
            });
            for f in &unused_faults {
                out.push_str(&format!(
                    "warning: --fault {f} never fired: no query matched it\n"
                ));
            }
            out
        }
        Format::Json => {
            let extra = suggestions
                .as_ref()
                .map(render_suggest::json_fields)
                .unwrap_or_default();
            with_unused_faults(&json::render_with(&report, extra), &unused_faults) + "\n"
        }
        Format::ReceivedSpf => received_spf::render(&report.spf()) + "\n",
        Format::AuthResults => format!(
            "{}\n{}\n",
            auth_results::render(&report),
            received_spf::render(&report.spf())
        ),
    };
    if matches!(plan.format, Format::ReceivedSpf | Format::AuthResults) {
        // Header formats print headers only; the warning goes to stderr.
        for f in &unused_faults {
            eprintln!("spfcheck: warning: --fault {f} never fired: no query matched it");
        }
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(rendered.as_bytes())
        .and_then(|_| stdout.flush())
    {
        // A closed pipe (`| head`) is not an error.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("spfcheck: error: cannot write output: {e}");
            return exit::USAGE;
        }
    }
    exit_code(verdict.outcome)
}
