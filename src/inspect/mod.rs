//! status and diff (in progress)
