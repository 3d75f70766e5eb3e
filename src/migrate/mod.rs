//! Migrations: discover the files of a folder in any of the naming schemes teams already use, order
//! them by version, checksum them, plan what is pending against a database's history (pure), then
//! apply the plan through the engine.

pub mod apply;
pub mod checksum;
pub mod discover;
pub mod foreign;
pub mod plan;
pub mod split;
