//! Terminal styling for the text report without a terminal-color dependency, so that the library
//! pulls in no `colored` for its users. A styled string is its text wrapped in one SGR sequence
//! (ECMA-48 §8.3.117, `ESC [ n ; … m`) and a reset, and only while color is switched on for the
//! current thread by [`with_color`]; otherwise it is the text alone. Color is off by default, so
//! a library caller of `text::render` gets plain text. The method names follow the `colored`
//! crate's, which the text renderer used before.

use std::cell::Cell;
use std::fmt;

thread_local! {
    static COLOR: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with color on or off for this thread, then restores the previous setting (also when
/// `f` unwinds).
pub fn with_color<T>(on: bool, f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            COLOR.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(COLOR.with(|c| c.replace(on)));
    f()
}

/// Whether styled strings emit SGR sequences on this thread now.
pub fn color_enabled() -> bool {
    COLOR.with(Cell::get)
}

const RESET: &str = "\x1b[0m";

/// SGR foreground colors (ECMA-48 §8.3.117: 30–37).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fg {
    Red = 31,
    Green = 32,
    Yellow = 33,
    Magenta = 35,
    Cyan = 36,
}

/// Text with a style; `Display` applies the style only while color is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColoredString {
    text: String,
    bold: bool,
    dimmed: bool,
    underline: bool,
    fg: Option<Fg>,
}

impl ColoredString {
    /// The text without any style.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The SGR sequence that starts this style, or None for plain text.
    fn sgr(&self) -> Option<String> {
        let mut codes: Vec<String> = Vec::new();
        for (on, code) in [(self.bold, 1), (self.dimmed, 2), (self.underline, 4)] {
            if on {
                codes.push(code.to_string());
            }
        }
        if let Some(fg) = self.fg {
            codes.push((fg as u8).to_string());
        }
        if codes.is_empty() {
            None
        } else {
            Some(format!("\x1b[{}m", codes.join(";")))
        }
    }
}

impl fmt::Display for ColoredString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(sgr) = self.sgr().filter(|_| color_enabled()) else {
            return f.pad(&self.text);
        };
        // A styled part inside this text ends with a reset; restart this style after it.
        let inner = self.text.replace(RESET, &format!("{RESET}{sgr}"));
        f.write_str(&sgr)?;
        f.pad(&inner)?;
        f.write_str(RESET)
    }
}

/// Styling methods for text (`"x".green().bold()`).
pub trait Colorize: Sized {
    fn into_colored(self) -> ColoredString;

    fn normal(self) -> ColoredString {
        self.into_colored()
    }
    fn bold(self) -> ColoredString {
        ColoredString {
            bold: true,
            ..self.into_colored()
        }
    }
    fn dimmed(self) -> ColoredString {
        ColoredString {
            dimmed: true,
            ..self.into_colored()
        }
    }
    fn underline(self) -> ColoredString {
        ColoredString {
            underline: true,
            ..self.into_colored()
        }
    }
    fn red(self) -> ColoredString {
        self.into_colored().fg(Fg::Red)
    }
    fn green(self) -> ColoredString {
        self.into_colored().fg(Fg::Green)
    }
    fn yellow(self) -> ColoredString {
        self.into_colored().fg(Fg::Yellow)
    }
    fn magenta(self) -> ColoredString {
        self.into_colored().fg(Fg::Magenta)
    }
    fn cyan(self) -> ColoredString {
        self.into_colored().fg(Fg::Cyan)
    }
}

impl ColoredString {
    fn fg(self, fg: Fg) -> ColoredString {
        ColoredString {
            fg: Some(fg),
            ..self
        }
    }
}

impl Colorize for &str {
    fn into_colored(self) -> ColoredString {
        ColoredString {
            text: self.to_string(),
            bold: false,
            dimmed: false,
            underline: false,
            fg: None,
        }
    }
}

impl Colorize for ColoredString {
    fn into_colored(self) -> ColoredString {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_unless_switched_on() {
        assert_eq!("pass".green().bold().to_string(), "pass");
        assert_eq!(format!("{:<6}|", "pass".green()), "pass  |");
        let on = with_color(true, || "pass".green().bold().to_string());
        assert_eq!(on, "\x1b[1;32mpass\x1b[0m");
        // The setting is restored afterwards.
        assert!(!color_enabled());
    }

    #[test]
    fn padding_counts_the_text_only() {
        let s = with_color(true, || format!("{:<6}|", "fail".red()));
        assert_eq!(s, "\x1b[31mfail  \x1b[0m|");
    }

    #[test]
    fn nested_styles_resume_after_an_inner_reset() {
        let s = with_color(true, || {
            let inner = "x".red().to_string();
            format!("a{inner}b").dimmed().to_string()
        });
        assert_eq!(s, "\x1b[2ma\x1b[31mx\x1b[0m\x1b[2mb\x1b[0m");
    }

    #[test]
    fn normal_is_never_styled() {
        assert_eq!(with_color(true, || "n".normal().to_string()), "n");
    }
}
