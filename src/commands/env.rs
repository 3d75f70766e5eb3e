//! `dbtwin env`: the environment's connection URLs, for the application.

use super::{CommandError, connect, environment_databases, url_variables};
use crate::cli::{EnvArgs, EnvFormat, Global};
use crate::environment::EnvName;

pub(super) async fn run(g: &Global, args: &EnvArgs) -> Result<(), CommandError> {
    let env = EnvName::resolve(&g.env)?;
    let rt = connect(g).await?;
    let dbs = environment_databases(&rt, &env).await?;
    let vars = url_variables(&env, &dbs, args.admin)?;
    let format = if g.json { EnvFormat::Json } else { args.format };
    crate::out_raw!("{}", render(&vars, format));
    Ok(())
}

/// Renders variables. Values are single-quoted for the shell and double-quoted for dotenv files
/// only when they need it, so both `source .env` and dotenv libraries read them back unchanged.
pub(crate) fn render(vars: &[(String, String)], format: EnvFormat) -> String {
    match format {
        EnvFormat::Dotenv => {
            vars.iter().map(|(k, v)| format!("{k}={}\n", dotenv_quote(v))).collect()
        }
        EnvFormat::Shell => {
            vars.iter().map(|(k, v)| format!("export {k}={}\n", shell_quote(v))).collect()
        }
        EnvFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            format!("{}\n", serde_json::Value::Object(map))
        }
    }
}

fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}

fn dotenv_quote(v: &str) -> String {
    if v.chars().all(|c| c.is_ascii_alphanumeric() || ":/@._-?=&%[]".contains(c)) {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('$', "\\$"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_quote_what_needs_quoting() {
        let vars = vec![
            ("A_URL".to_string(), "postgres://app:pw@127.0.0.1:5432/a".to_string()),
            ("ODD".to_string(), "it's $x".to_string()),
        ];
        assert_eq!(
            render(&vars, EnvFormat::Dotenv),
            "A_URL=postgres://app:pw@127.0.0.1:5432/a\nODD=\"it's \\$x\"\n"
        );
        assert_eq!(
            render(&vars, EnvFormat::Shell),
            "export A_URL='postgres://app:pw@127.0.0.1:5432/a'\nexport ODD='it'\\''s $x'\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&vars, EnvFormat::Json)).unwrap();
        assert_eq!(json["ODD"], "it's $x");
    }
}
