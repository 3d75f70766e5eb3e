//! dbtwin: every environment a twin of the deployed one. One YAML profile names every service's
//! databases at pinned versions; `dbtwin up` starts them as containers, waits until each truly
//! answers, and hands the application its URLs.
//!
//! Layers, top to bottom; a module uses only modules below it:
//! `cli`, `commands`, `report`, `exit` → `provision` → `engine` → `runtime`, `profile`,
//! `environment`, `event`.
#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
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
