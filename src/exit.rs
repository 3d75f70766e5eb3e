//! Exit codes: named, documented, and listed in the README. Commands that answer a question
//! (`diff`, `status --check`) follow diff(1): 0 same, 1 different, 2 and above trouble. Every other
//! command exits 0 on success and with one code per failure class.

/// Success; for a question, "same" or "clean".
pub const OK: i32 = 0;
/// A question's answer is "different" or "drift".
pub const DIFFERENT: i32 = 1;
/// The command line was wrong (clap's own code).
pub const USAGE: i32 = 2;
/// A profile (or another input file) is invalid: nothing was started.
pub const PROFILE_INVALID: i32 = 3;
/// The container engine could not be reached.
pub const ENGINE_UNREACHABLE: i32 = 4;
/// The engine refused an operation: an image that cannot be pulled, a port in use, a container
/// that differs from the profile.
pub const RUNTIME_FAILED: i32 = 5;
/// A database did not become ready (or could not be configured) in time.
pub const NOT_READY: i32 = 6;
/// A migration failed.
pub const MIGRATION_FAILED: i32 = 7;
/// Loading data failed.
pub const DATA_FAILED: i32 = 8;
/// Another dbtwin is changing the same environment.
pub const LOCKED: i32 = 9;
/// The environment or database named does not exist.
pub const NOT_FOUND: i32 = 10;
/// A database (an environment's, or one named by URL) could not be reached or read.
pub const DATABASE_UNREACHABLE: i32 = 11;
/// Interrupted by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
pub const INTERRUPTED: i32 = 130;

/// Every code with its name and meaning, for the README and `--help`.
pub const ALL: &[(i32, &str, &str)] = &[
    (OK, "ok", "success (for diff/status --check: same, clean)"),
    (DIFFERENT, "different", "diff/status --check found a difference or drift"),
    (USAGE, "usage", "the command line was wrong"),
    (PROFILE_INVALID, "profile-invalid", "a profile is invalid; nothing was started"),
    (ENGINE_UNREACHABLE, "engine-unreachable", "the Docker engine could not be reached"),
    (RUNTIME_FAILED, "runtime-failed", "the engine refused an operation (pull, create, port)"),
    (NOT_READY, "not-ready", "a database did not become ready"),
    (MIGRATION_FAILED, "migration-failed", "a migration failed"),
    (DATA_FAILED, "data-failed", "loading data failed"),
    (LOCKED, "locked", "another dbtwin is changing the same environment"),
    (NOT_FOUND, "not-found", "no such environment or database"),
    (DATABASE_UNREACHABLE, "database-unreachable", "a database could not be reached or read"),
    (INTERRUPTED, "interrupted", "Ctrl-C or SIGTERM; what the run created was removed"),
];
