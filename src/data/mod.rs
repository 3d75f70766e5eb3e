//! Filling databases: seed files, synthetic generators, and the row streams the engines load.
//!
//! `seedfile` reads what the user asked for; `infer` turns that and the migrated schema into a
//! plan of tables, row counts and one generator per column; `generate` turns a plan into rows, as
//! text in the engines' bulk formats, each value a pure function of (seed, table, column, row)
//! (`rng`); `load` streams them through the engine. `fakes` is the only place that sees `fake`.
#![forbid(unsafe_code)]

pub mod binary;
pub mod check;
pub mod copy;
pub mod copy_redis;
pub mod csvsource;
pub mod fakes;
pub mod generate;
pub mod infer;
pub mod leak;
pub mod load;
pub mod mask;
pub mod maskfile;
pub mod pii;
pub mod rng;
pub mod seedfile;
pub mod source;
pub mod subset;
