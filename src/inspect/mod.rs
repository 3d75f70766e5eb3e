//! Insight: `status` (is each database what its profile and migrations say?) and `diff` (what
//! differs between two databases' schemas?). Reads catalogs through the engine, compares them
//! here, and never writes.

pub mod diff;
pub mod status;
