//! The binary: parse the command line, run it, map the error to an exit code.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use dbtwin::cli::Cli;
use dbtwin::commands::{self, CommandError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::from(dbtwin::exit::RUNTIME_FAILED as u8);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report_error(&e);
            ExitCode::from(e.exit_code().clamp(0, 255) as u8)
        }
    }
}

/// Prints the error chain once, the failing container's log tail, then a hint.
fn report_error(e: &CommandError) {
    if let CommandError::Child(_) = e {
        return;
    }
    let mut message = format!("error: {e}");
    let mut source = std::error::Error::source(e);
    // `transparent` variants repeat their inner message as the source; print each text once.
    let mut last = e.to_string();
    while let Some(s) = source {
        let text = s.to_string();
        if text != last && !last.ends_with(&text) {
            message.push_str(&format!("\n  caused by: {text}"));
        }
        last = text;
        source = s.source();
    }
    eprintln!("{message}");
    if let Some(tail) = e.log_tail() {
        eprintln!("  last lines of its log:");
        for line in tail.lines() {
            eprintln!("  | {line}");
        }
    }
    if let Some(hint) = e.hint() {
        eprintln!("hint: {hint}");
    }
}
