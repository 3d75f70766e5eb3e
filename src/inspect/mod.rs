//! Insight: `status` (is each database what its profile and migrations say?) and `diff` (what
//! differs between two databases' schemas?). Reads catalogs through the engine, compares them
//! here, and never writes.

pub mod diff;
pub mod status;

use crate::engine::{EngineError, Session, Target};
use crate::profile::EngineKind;
use crate::schema::Catalog;

/// Reads one database's catalog, read-only as the target says, and closes the session.
pub async fn read_catalog(target: &Target) -> Result<Catalog, EngineError> {
    let mut session = Session::connect(target).await?;
    let catalog = session.catalog().await;
    session.close().await;
    catalog
}

/// Engines whose catalogs can be compared: MySQL and MariaDB share one model, PostgreSQL and
/// Redis each their own.
pub fn comparable(a: EngineKind, b: EngineKind) -> bool {
    let family = |k: EngineKind| match k {
        EngineKind::Postgres => 0,
        EngineKind::Mysql | EngineKind::Mariadb => 1,
        EngineKind::Redis => 2,
    };
    family(a) == family(b)
}
