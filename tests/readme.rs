//! The README's promises, checked against what the binary does: the main command (the seed
//! case) prints exactly the output sample the README shows, and exits 1 as it says.

use crate::common::run_spfcheck;

const README: &str = include_str!("../README.md");

/// The fenced block after `marker`.
fn block_after(marker: &str) -> &'static str {
    let start = README.find(marker).expect("README: the marker") + marker.len();
    let open = README[start..]
        .find("```text\n")
        .expect("README: a ```text block")
        + start
        + 8;
    let close = README[open..].find("```").expect("README: the block's end") + open;
    &README[open..close]
}

/// Set-up command 1, as the README writes it (with `--color never` for the sample).
#[test]
fn readme_main_command_prints_the_sample() {
    let cmd = README
        .lines()
        .find(|l| l.starts_with("cargo run -- "))
        .expect("README: the main command");
    let args: Vec<&str> = cmd
        .trim_start_matches("cargo run -- ")
        .split_whitespace()
        .collect();
    let mut with_color = vec!["--color", "never"];
    with_color.extend(args);
    let ran = run_spfcheck(&with_color);
    assert_eq!(ran.code, 1, "the seed case exits 1 (not authenticated)");
    let out = String::from_utf8_lossy(&ran.stdout);
    let sample = block_after("Output of command 1");
    assert_eq!(
        out, sample,
        "README's output sample differs from the binary's output"
    );
}
