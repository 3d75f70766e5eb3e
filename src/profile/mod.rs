//! Profiles: the environment as data, loaded from YAML into a validated, typed [`Profile`].
//!
//! A profile file lists services and their databases (engine, pinned version, migrations, seed
//! data). Files compose: `extends` names a base file, and several files given on the command line
//! apply in order, each over the last; maps merge by key, scalars and lists replace, `null` removes.
//! `${VAR}` and `${VAR:-default}` expand in string values.
//!
//! Loading is strict and tells where: unknown keys, wrong types and meaningless values are errors
//! that name the file, the key path and the line, and all of them are reported at once
//! ([`ProfileErrors`]). The raw serde mirror of the YAML stays inside this module; the rest of
//! dbtwin sees only the validated model.
//!
//! Pipeline: read each file (`load`) → index its lines (`locate`) → merge, remembering which file set
//! each key (`load`) → expand variables (`interpolate`) → deserialize in pieces (`raw`) and check
//! meaning (`validate`) → [`Profile`] (`model`).
#![forbid(unsafe_code)]

mod error;
mod interpolate;
mod load;
mod locate;
mod model;
mod raw;
mod validate;

#[cfg(test)]
mod tests;

pub use error::{ProfileError, ProfileErrors};
// Seed files (`data`) are YAML read the same strict way, with the same located errors.
pub(crate) use error::{quoted_list, suggest};
pub(crate) use interpolate::expand;
pub use load::{load, load_with, render};
pub(crate) use load::{parse_document, syntax_message};
pub(crate) use locate::{LineIndex, child};
pub use model::{
    AppRole, ByteSize, Database, DatabaseName, Durability, EngineKind, Grants, InvalidName,
    InvalidSize, Migrations, PinnedVersion, Profile, ProfileName, Service, ServiceName, Storage,
    UnknownEngine, VersionError,
};
pub use validate::url_variable;
