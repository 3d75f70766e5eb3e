//! Reporters: how events look. Human (indicatif bars on stderr when stderr is a terminal and not
//! CI, plain lines otherwise), JSON Lines on stdout, or quiet. Core code only emits events; the
//! commands pick a reporter here and print results on stdout.

mod human;
mod json;

use std::io::IsTerminal;

use crate::event::Events;

/// How events are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Progress for a person on stderr; `bars` draws live bars, otherwise one line per event.
    Human { bars: bool, verbose: u8 },
    /// One JSON object per event on stdout.
    Json,
    /// Warnings only.
    Quiet,
}

impl Mode {
    /// Picks the mode from the global flags and the terminal: live bars only on a terminal, never
    /// in CI, never with `--color never`.
    pub fn detect(json: bool, quiet: bool, verbose: u8, color: crate::cli::ColorChoice) -> Mode {
        use crate::cli::ColorChoice;
        if json {
            return Mode::Json;
        }
        if quiet {
            return Mode::Quiet;
        }
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
        let bars = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stderr().is_terminal() && !ci,
        };
        Mode::Human { bars, verbose }
    }
}

/// A reporter for the mode, as an event sink. `finish` clears live bars before results print.
pub struct Reporter {
    pub events: Events,
    human: Option<std::sync::Arc<human::Human>>,
}

impl Reporter {
    pub fn new(mode: Mode) -> Self {
        match mode {
            Mode::Human { bars, verbose } => {
                let h = std::sync::Arc::new(human::Human::new(bars, verbose));
                let sink = h.clone();
                Reporter { events: Events::new(move |e| sink.event(e)), human: Some(h) }
            }
            Mode::Json => Reporter { events: Events::new(json::event), human: None },
            Mode::Quiet => Reporter { events: Events::new(human::quiet), human: None },
        }
    }

    /// Ends live output so that what follows prints cleanly.
    pub fn finish(&self) {
        if let Some(h) = &self.human {
            h.finish();
        }
    }
}
