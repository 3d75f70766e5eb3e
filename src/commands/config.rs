//! `dbtwin config`: the resolved profile after `extends` and overlays.

use super::CommandError;
use crate::cli::{ConfigArgs, Global};
use crate::profile;

pub(super) fn run(g: &Global, args: &ConfigArgs) -> Result<(), CommandError> {
    let profile = profile::load(&args.profile.profiles)?;
    if g.json {
        let value = serde_json::to_value(&profile).expect("a profile serializes");
        crate::out!("{value}");
    } else {
        crate::out_raw!("{}", profile::render(&profile));
    }
    Ok(())
}
