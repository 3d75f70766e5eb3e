//! The binary: parse the command line, run it, map the error to an exit code.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use dbtwin::cli::Cli;
use dbtwin::commands::{self, CommandError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbose = cli.global.verbose > 0;
    let json = cli.global.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::from(dbtwin::exit::RUNTIME_FAILED as u8);
        }
    };
    // The command runs as a task of the runtime, not on this thread: its streams then share the
    // workers with the database connections they read and write, and each message between them
    // is a task woken on a worker rather than this thread woken from its sleep (a futex and a
    // context switch per batch of rows).
    let outcome = runtime.block_on(async {
        // Nothing aborts the task, so a join error is its panic, which goes on from here.
        tokio::spawn(commands::run(cli))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report_error(&e, verbose);
            if json && !matches!(e, CommandError::Child(_) | CommandError::Answered(_)) {
                // Machine output ends with a result object on failure too.
                let result = serde_json::json!({
                    "result": "error",
                    "exit_code": e.exit_code(),
                    "error": error_chain(&e).join(": "),
                    "hint": e.hint(),
                });
                dbtwin::out!("{result}");
            }
            ExitCode::from(e.exit_code().clamp(0, 255) as u8)
        }
    }
}

/// Prints the error once: what failed and why, on one line (a line per cause with `-v`), then
/// the failing container's log tail, then a hint.
fn report_error(e: &CommandError, verbose: bool) {
    if let CommandError::Child(_) | CommandError::Answered(_) = e {
        return;
    }
    let chain = error_chain(e);
    if verbose {
        eprintln!("error: {}", chain[0]);
        for cause in &chain[1..] {
            eprintln!("  caused by: {cause}");
        }
    } else {
        eprintln!("error: {}", chain.join(": "));
    }
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

/// The error and its causes, each text once (`transparent` variants and wrappers repeat their
/// inner message).
fn error_chain(e: &CommandError) -> Vec<String> {
    let mut chain: Vec<String> = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !chain.iter().any(|c| c.ends_with(&text)) {
            chain.push(text);
        }
        source = s.source();
    }
    chain
}
