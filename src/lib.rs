//! dbtwin: every environment a twin of the deployed one. One YAML profile names every service's
//! databases at pinned versions; `dbtwin up` starts them as containers, waits until each truly
//! answers, and hands the application its URLs.
//!
//! Layers, top to bottom; a module uses only modules below it:
//! `cli`, `commands`, `report`, `exit` → `provision` → `engine` → `runtime`, `profile`,
//! `environment`, `event`.
#![forbid(unsafe_code)]

/// Writes a result line on stdout. A closed pipe (`dbtwin diff … | head`) ends the program
/// quietly, as every Unix filter does, where `println!` would panic.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*)
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            std::process::exit(0);
        }
    }};
}

/// [`out!`] without the newline.
#[macro_export]
macro_rules! out_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout().lock(), $($arg)*)
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            std::process::exit(0);
        }
    }};
}

pub mod cli;
pub mod commands;
pub mod data;
pub mod engine;
pub mod environment;
pub mod event;
pub mod exit;
pub mod inspect;
pub mod migrate;
pub mod profile;
pub mod provision;
pub mod report;
pub mod runtime;
pub mod schema;
