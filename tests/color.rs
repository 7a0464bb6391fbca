//! `--color`: the text report's styling (SGR sequences from `render::style`, which replaced the
//! `colored` crate so the library needs no terminal dependency) reaches the terminal only when
//! asked, and then only as SGR sequences.

use crate::common::run_spfcheck;

const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/seed/seed.zone");

fn seed_run(color: &str) -> String {
    let ran = run_spfcheck(&[
        "--zone",
        SEED,
        "--offline",
        "--color",
        color,
        "--mail-from",
        "sales@thespykiller.co.uk",
        "thespykiller.co.uk",
        "81.142.190.61",
    ]);
    assert_eq!(ran.code, 1, "SPF fail expected");
    String::from_utf8(ran.stdout).expect("UTF-8 output")
}

/// Every ESC in `s` starts an SGR sequence `ESC [ digits/';' m`.
fn only_sgr(s: &str) -> bool {
    s.split('\x1b').skip(1).all(|rest| {
        rest.strip_prefix('[')
            .and_then(|r| r.split_once('m'))
            .is_some_and(|(params, _)| params.chars().all(|c| c.is_ascii_digit() || c == ';'))
    })
}

#[test]
fn color_always_styles_the_result_words_with_sgr_only() {
    let out = seed_run("always");
    // "fail" in bold red, padded inside the style, then a reset.
    assert!(
        out.contains("\x1b[1;31mfail      \x1b[0m"),
        "no bold red fail:\n{out:?}"
    );
    assert!(only_sgr(&out), "a non-SGR escape:\n{out:?}");
    // Stripping the styles gives the plain report.
    let mut plain = String::new();
    let mut rest = out.as_str();
    while let Some((before, after)) = rest.split_once('\x1b') {
        plain.push_str(before);
        rest = after.split_once('m').map_or("", |(_, r)| r);
    }
    plain.push_str(rest);
    assert_eq!(plain, seed_run("never"));
}

#[test]
fn color_never_and_auto_on_a_pipe_are_plain() {
    for when in ["never", "auto"] {
        let out = seed_run(when);
        assert!(!out.contains('\x1b'), "--color {when}:\n{out:?}");
    }
}
