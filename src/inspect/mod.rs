//! status and diff (in progress)
pub mod diff;
