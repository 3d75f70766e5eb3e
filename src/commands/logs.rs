//! `dbtwin logs SERVICE[.DB]`: a database's server log.

use std::io::Write;

use super::{CommandError, connect, environment_databases, select};
use crate::cli::{Global, LogsArgs};
use crate::environment::EnvName;
use crate::runtime::Runtime;

pub(super) async fn run(g: &Global, args: &LogsArgs) -> Result<(), CommandError> {
    let env = EnvName::resolve(&g.env)?;
    let rt = connect(g).await?;
    let dbs = environment_databases(&rt, &env).await?;
    let db = select(&dbs, &args.target, &env)?;
    let write = |chunk: &[u8]| {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(chunk);
        let _ = out.flush();
    };
    if args.follow {
        rt.logs_follow(&db.container, args.tail, &write).await?;
    } else {
        let text = rt.logs_tail(&db.container, args.tail.unwrap_or(usize::MAX)).await?;
        write(text.as_bytes());
    }
    Ok(())
}
