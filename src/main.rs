//! The `spfcheck` binary: glue only. Everything it does is the library's `cli::run`.

fn main() {
    std::process::exit(spfcheck::cli::run(std::env::args_os()));
}
