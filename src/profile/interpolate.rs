//! `${VAR}` and `${VAR:-default}` in string values, and `$$` for a literal `$`.
//!
//! Expansion happens after parsing, on values only (never keys), so a variable can never change the
//! shape of the document. Like the shell, `:-` also applies the default when the variable is empty.
//! A `$` not followed by `{` or `$` stays as it is: passwords and patterns often hold one.

/// Why a string could not be expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ExpandError {
    Unset(String),
    Malformed(String),
}

impl ExpandError {
    pub fn message(&self) -> String {
        match self {
            ExpandError::Unset(name) => format!("unset variable `{name}`"),
            ExpandError::Malformed(text) => format!("malformed `${{` in `{text}`"),
        }
    }

    pub fn hint(&self) -> String {
        match self {
            ExpandError::Unset(name) => {
                format!("set it, or give a default: `${{{name}:-value}}`")
            }
            ExpandError::Malformed(_) => {
                "write `${NAME}` or `${NAME:-default}`, and `$$` for a literal `$`".to_owned()
            }
        }
    }
}

/// Expands `text`, reading variables through `vars`.
pub(crate) fn expand(
    text: &str,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let malformed = || ExpandError::Malformed(text.to_owned());
            let end = body.find('}').ok_or_else(malformed)?;
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            let valid_name =
                name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_name {
                return Err(malformed());
            }
            let value = match (vars(name), default) {
                (Some(value), Some(default)) if value.is_empty() => default.to_owned(),
                (Some(value), _) => value,
                (None, Some(default)) => default.to_owned(),
                (None, None) => return Err(ExpandError::Unset(name.to_owned())),
            };
            out.push_str(&value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "X" => Some("ex".to_owned()),
            "EMPTY" => Some(String::new()),
            "PORT" => Some("6543".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn expands() {
        let table: &[(&str, &str)] = &[
            ("${X}", "ex"),
            ("a-${X}-b", "a-ex-b"),
            ("${Y:-d}", "d"),
            ("${X:-d}", "ex"),
            ("${EMPTY:-d}", "d"),
            ("${EMPTY}", ""),
            ("${Y:-}", ""),
            ("$$", "$"),
            ("$${X}", "${X}"),
            ("pa$word", "pa$word"),
            ("end$", "end$"),
            ("${Y:-a:b}", "a:b"),
            ("${PORT:-5432}", "6543"),
            ("${NOPE:-5432}", "5432"),
        ];
        for (text, expected) in table {
            assert_eq!(expand(text, &vars).as_deref(), Ok(*expected), "{text}");
        }
    }

    #[test]
    fn refuses() {
        assert_eq!(expand("${Y}", &vars), Err(ExpandError::Unset("Y".to_owned())));
        for bad in ["${X", "${}", "${1X}", "${X Y}", "a ${:-d}"] {
            assert_eq!(expand(bad, &vars), Err(ExpandError::Malformed(bad.to_owned())), "{bad}");
        }
    }
}
