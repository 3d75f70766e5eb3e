//! Splitting a migration body into statements, because MySQL runs one statement per call,
//! PostgreSQL files that opt out of the transaction (`CREATE INDEX CONCURRENTLY`) must run statement
//! by statement, and error reports name the failing statement and its line.
//!
//! The splitter is a lexer, not a parser: it knows just enough of each dialect (strings, quoted
//! identifiers, comments, dollar quotes, MySQL's client-side `DELIMITER`) to find the semicolons that
//! end statements, the way `psql` and the `mysql` client do. Redis command files are split into lines
//! and arguments the way `redis-cli` reads them.

use std::fmt;

/// Whose lexical rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL: dollar quotes, `E'…'` escapes, nested block comments, `BEGIN ATOMIC … END`.
    Postgres,
    /// MySQL and MariaDB: backslash escapes, backticks, `#` comments, `DELIMITER`.
    Mysql,
}

/// One statement of a migration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The statement's text, trimmed, without its delimiter; comments inside it are kept.
    pub sql: String,
    /// The 1-based line of the body where the statement starts (its first character that is not
    /// blank and not in a leading comment).
    pub line: usize,
}

impl Statement {
    /// The first line of the statement, whitespace collapsed and cut to 80 characters, for messages.
    pub fn summary(&self) -> String {
        const MAX: usize = 80;
        let first = self.sql.lines().next().unwrap_or_default();
        let collapsed = first.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.chars().count() <= MAX {
            collapsed
        } else {
            let mut cut: String = collapsed.chars().take(MAX - 1).collect();
            cut.push('…');
            cut
        }
    }
}

/// One Redis command of a command file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisCommand {
    /// The command name then its arguments, unquoted.
    pub args: Vec<String>,
    /// 1-based line of the body.
    pub line: usize,
}

/// What the splitter could not make sense of.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("line {line}: unterminated {what}")]
    Unterminated { what: Unterminated, line: usize },
    #[error("line {line}: `DELIMITER` without a delimiter")]
    EmptyDelimiter { line: usize },
}

/// What was left open at the end of the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unterminated {
    SingleQuote,
    DoubleQuote,
    Backtick,
    BlockComment,
    /// The dollar quote's opening tag, e.g. `$$` or `$body$`.
    DollarQuote(String),
}

impl fmt::Display for Unterminated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unterminated::SingleQuote => f.write_str("single-quoted string"),
            Unterminated::DoubleQuote => f.write_str("double-quoted string or identifier"),
            Unterminated::Backtick => f.write_str("backtick-quoted identifier"),
            Unterminated::BlockComment => f.write_str("block comment"),
            Unterminated::DollarQuote(tag) => write!(f, "dollar-quoted string {tag}"),
        }
    }
}

/// Splits `body` into statements at the delimiters outside strings, identifiers and comments.
pub fn split(body: &str, dialect: Dialect) -> Result<Vec<Statement>, SplitError> {
    Splitter {
        text: body,
        bytes: body.as_bytes(),
        dialect,
        pos: 0,
        line: 1,
        delimiter: ";".to_owned(),
        start: None,
        statements: Vec::new(),
        paren_depth: 0,
        begin_depth: 0,
        words: Vec::new(),
    }
    .run()
}

struct Splitter<'a> {
    text: &'a str,
    bytes: &'a [u8],
    dialect: Dialect,
    pos: usize,
    line: usize,
    delimiter: String,
    /// Where the pending statement's content starts (byte offset, line); `None` while only blanks and
    /// comments have been seen since the last delimiter.
    start: Option<(usize, usize)>,
    statements: Vec<Statement>,
    /// PostgreSQL only, as `psql` tracks them: a `;` inside parentheses (`CREATE RULE … (a; b)`) or
    /// inside the `BEGIN ATOMIC … END` body of `CREATE FUNCTION` does not end the statement.
    paren_depth: usize,
    begin_depth: usize,
    /// The first words of the pending statement, lowercased, to recognise `CREATE [OR REPLACE]
    /// FUNCTION|PROCEDURE`.
    words: Vec<String>,
}

impl Splitter<'_> {
    fn run(mut self) -> Result<Vec<Statement>, SplitError> {
        while self.pos < self.bytes.len() {
            if self.dialect == Dialect::Mysql && self.at_line_start() && self.delimiter_command()? {
                continue;
            }
            if self.at_delimiter() {
                let end = self.pos;
                self.pos += self.delimiter.len();
                self.finish(end);
                continue;
            }
            let b = self.bytes[self.pos];
            match b {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' | b'\x0c' => self.pos += 1,
                b'\'' => {
                    self.mark();
                    // MySQL always honours backslashes in strings; PostgreSQL only in E'…'.
                    let backslash = self.dialect == Dialect::Mysql;
                    self.quoted(b'\'', backslash, Unterminated::SingleQuote)?;
                }
                b'"' => {
                    self.mark();
                    let backslash = self.dialect == Dialect::Mysql;
                    self.quoted(b'"', backslash, Unterminated::DoubleQuote)?;
                }
                b'`' if self.dialect == Dialect::Mysql => {
                    self.mark();
                    self.quoted(b'`', false, Unterminated::Backtick)?;
                }
                b'-' if self.line_comment_dashes() => self.skip_line(),
                b'#' if self.dialect == Dialect::Mysql => self.skip_line(),
                b'/' if self.bytes.get(self.pos + 1) == Some(&b'*') => {
                    // MySQL's `/*! … */` and `/*+ … */` are executable, not comments.
                    if self.dialect == Dialect::Mysql
                        && matches!(self.bytes.get(self.pos + 2), Some(b'!' | b'+'))
                    {
                        self.mark();
                    }
                    self.block_comment()?;
                }
                b'$' if self.dialect == Dialect::Postgres => {
                    self.mark();
                    self.dollar()?;
                }
                b'(' => {
                    self.mark();
                    self.paren_depth += 1;
                    self.pos += 1;
                }
                b')' => {
                    self.mark();
                    self.paren_depth = self.paren_depth.saturating_sub(1);
                    self.pos += 1;
                }
                _ if is_word_start(b) => {
                    self.mark();
                    self.word()?;
                }
                _ => {
                    self.mark();
                    // Step over a whole character so slices stay on UTF-8 boundaries.
                    self.pos += self.text[self.pos..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        self.finish(self.bytes.len());
        Ok(self.statements)
    }

    fn at_line_start(&self) -> bool {
        self.pos == 0 || self.bytes[self.pos - 1] == b'\n'
    }

    /// Whether the current delimiter starts here (outside any quote, since quotes are consumed whole).
    fn at_delimiter(&self) -> bool {
        if self.dialect == Dialect::Postgres && (self.paren_depth > 0 || self.begin_depth > 0) {
            return false;
        }
        self.bytes[self.pos..].starts_with(self.delimiter.as_bytes())
    }

    /// Records the start of the pending statement if this is its first content.
    fn mark(&mut self) {
        if self.start.is_none() {
            self.start = Some((self.pos, self.line));
        }
    }

    /// Ends the pending statement at byte `end`, if it has content.
    fn finish(&mut self, end: usize) {
        if let Some((start, line)) = self.start.take() {
            let sql = self.text[start..end].trim();
            if !sql.is_empty() {
                self.statements.push(Statement { sql: sql.to_owned(), line });
            }
        }
        self.paren_depth = 0;
        self.begin_depth = 0;
        self.words.clear();
    }

    /// The `mysql` client's `DELIMITER x` line: changes the delimiter, is not itself a statement.
    /// Returns whether the line was one.
    fn delimiter_command(&mut self) -> Result<bool, SplitError> {
        let line_end = self.bytes[self.pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.bytes.len(), |i| self.pos + i);
        let line = &self.text[self.pos..line_end];
        let trimmed = line.trim_start();
        let Some(keyword) = trimmed.get(..9) else {
            return Ok(false);
        };
        let rest = &trimmed[9..];
        if !keyword.eq_ignore_ascii_case("delimiter")
            || !rest.chars().next().is_none_or(char::is_whitespace)
        {
            return Ok(false);
        }
        let Some(delimiter) = rest.split_whitespace().next() else {
            return Err(SplitError::EmptyDelimiter { line: self.line });
        };
        // A statement left open before the DELIMITER line ends there, as the client would send it.
        self.finish(self.pos);
        self.delimiter = delimiter.to_owned();
        self.pos = line_end;
        Ok(true)
    }

    /// Consumes a quoted string or identifier opening at `pos`; a doubled quote is an escaped quote.
    fn quoted(&mut self, quote: u8, backslash: bool, what: Unterminated) -> Result<(), SplitError> {
        let start_line = self.line;
        self.pos += 1;
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'\\' if backslash => {
                    if self.bytes.get(self.pos + 1) == Some(&b'\n') {
                        self.line += 1;
                    }
                    self.pos += 2;
                }
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                _ if b == quote => {
                    if self.bytes.get(self.pos + 1) == Some(&quote) {
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                _ => self.pos += 1,
            }
        }
        Err(SplitError::Unterminated { what, line: start_line })
    }

    /// `--` starts a comment in PostgreSQL; in MySQL only when followed by whitespace or the end.
    fn line_comment_dashes(&self) -> bool {
        if self.bytes.get(self.pos + 1) != Some(&b'-') {
            return false;
        }
        match self.dialect {
            Dialect::Postgres => true,
            Dialect::Mysql => self
                .bytes
                .get(self.pos + 2)
                .is_none_or(|b| b.is_ascii_whitespace() || b.is_ascii_control()),
        }
    }

    /// Skips to the end of the line (the newline itself is counted by the main loop).
    fn skip_line(&mut self) {
        self.pos = self.bytes[self.pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.bytes.len(), |i| self.pos + i);
    }

    /// Consumes `/* … */`; PostgreSQL nests them, MySQL does not.
    fn block_comment(&mut self) -> Result<(), SplitError> {
        let start_line = self.line;
        let mut depth = 1;
        self.pos += 2;
        while let Some(&b) = self.bytes.get(self.pos) {
            let next = self.bytes.get(self.pos + 1).copied();
            if b == b'*' && next == Some(b'/') {
                self.pos += 2;
                depth -= 1;
                if depth == 0 {
                    return Ok(());
                }
            } else if b == b'/' && next == Some(b'*') && self.dialect == Dialect::Postgres {
                self.pos += 2;
                depth += 1;
            } else {
                if b == b'\n' {
                    self.line += 1;
                }
                self.pos += 1;
            }
        }
        Err(SplitError::Unterminated { what: Unterminated::BlockComment, line: start_line })
    }

    /// PostgreSQL: `$tag$ … $tag$` (tag empty or an identifier), or a lone `$` (`$1` parameters).
    fn dollar(&mut self) -> Result<(), SplitError> {
        let tag_len = self.bytes[self.pos + 1..]
            .iter()
            .enumerate()
            .take_while(|&(i, &b)| {
                if i == 0 {
                    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
                } else {
                    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
                }
            })
            .count();
        if self.bytes.get(self.pos + 1 + tag_len) != Some(&b'$') {
            self.pos += 1;
            return Ok(());
        }
        let tag = &self.text[self.pos..self.pos + tag_len + 2];
        let body_start = self.pos + tag.len();
        match self.text[body_start..].find(tag) {
            Some(i) => {
                let end = body_start + i + tag.len();
                self.line += self.text[self.pos..end].matches('\n').count();
                self.pos = end;
                Ok(())
            }
            None => Err(SplitError::Unterminated {
                what: Unterminated::DollarQuote(tag.to_owned()),
                line: self.line,
            }),
        }
    }

    /// Consumes an identifier, keyword or number, tracking what PostgreSQL's function bodies need.
    fn word(&mut self) -> Result<(), SplitError> {
        let start = self.pos;
        // `$` continues an identifier in PostgreSQL (`a$b`), so it is no dollar quote there.
        // The mysql client finds its delimiter anywhere, even glued to a word (`END$$`).
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|&b| is_word_start(b) || b.is_ascii_digit() || b == b'$')
            && !(self.dialect == Dialect::Mysql && self.at_delimiter())
        {
            self.pos += 1;
        }
        let word = &self.text[start..self.pos];
        if self.dialect != Dialect::Postgres {
            return Ok(());
        }
        if self.bytes.get(self.pos) == Some(&b'\'') && word.eq_ignore_ascii_case("e") {
            // E'…': backslash escapes.
            return self.quoted(b'\'', true, Unterminated::SingleQuote);
        }
        if word.as_bytes()[0].is_ascii_digit() {
            return Ok(());
        }
        self.track_begin_end(&word.to_ascii_lowercase());
        Ok(())
    }

    /// psql's heuristic: inside `CREATE [OR REPLACE] FUNCTION|PROCEDURE`, outside parentheses, `BEGIN`
    /// opens a block that `END` closes (`CASE` too, once inside a block), and `;` inside a block does
    /// not end the statement (`BEGIN ATOMIC … END` bodies).
    fn track_begin_end(&mut self, word: &str) {
        if self.words.len() < 4 {
            self.words.push(word.to_owned());
        }
        let w = |i: usize| self.words.get(i).map(String::as_str);
        let routine = |x: Option<&str>| matches!(x, Some("function" | "procedure"));
        let in_routine = w(0) == Some("create")
            && (routine(w(1)) || (w(1) == Some("or") && w(2) == Some("replace") && routine(w(3))));
        if !in_routine || self.paren_depth > 0 {
            return;
        }
        match word {
            "begin" => self.begin_depth += 1,
            "case" if self.begin_depth > 0 => self.begin_depth += 1,
            "end" => self.begin_depth = self.begin_depth.saturating_sub(1),
            _ => {}
        }
    }
}

fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

/// Splits a Redis command file: one command per line, blank lines and `#` comment lines skipped,
/// arguments separated by whitespace, `"…"` with `\"`, `\\`, `\n`, `\r`, `\t` escapes, `'…'` literal;
/// quoted and unquoted parts next to each other join into one argument, as in a shell.
pub fn split_redis(body: &str) -> Result<Vec<RedisCommand>, SplitError> {
    let mut commands = Vec::new();
    for (i, line) in body.lines().enumerate() {
        let number = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        commands.push(RedisCommand { args: redis_args(trimmed, number)?, line: number });
    }
    Ok(commands)
}

fn redis_args(line: &str, number: usize) -> Result<Vec<String>, SplitError> {
    let mut args = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(arg) = current.take() {
                    args.push(arg);
                }
            }
            '"' => {
                let arg = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => arg.push('\n'),
                            Some('r') => arg.push('\r'),
                            Some('t') => arg.push('\t'),
                            // `\"`, `\\`, and any other escaped character stand for themselves.
                            Some(other) => arg.push(other),
                            None => {
                                return Err(SplitError::Unterminated {
                                    what: Unterminated::DoubleQuote,
                                    line: number,
                                });
                            }
                        },
                        Some(other) => arg.push(other),
                        None => {
                            return Err(SplitError::Unterminated {
                                what: Unterminated::DoubleQuote,
                                line: number,
                            });
                        }
                    }
                }
            }
            '\'' => {
                let arg = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(other) => arg.push(other),
                        None => {
                            return Err(SplitError::Unterminated {
                                what: Unterminated::SingleQuote,
                                line: number,
                            });
                        }
                    }
                }
            }
            other => current.get_or_insert_with(String::new).push(other),
        }
    }
    if let Some(arg) = current {
        args.push(arg);
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqls(body: &str, dialect: Dialect) -> Vec<(usize, String)> {
        split(body, dialect)
            .unwrap_or_else(|e| panic!("split failed: {e}\n{body}"))
            .into_iter()
            .map(|s| (s.line, s.sql))
            .collect()
    }

    /// (body, expected statements as (line, sql)) for both dialects where the rule is shared.
    #[test]
    fn shared_rules() {
        let cases: &[(&str, &[(usize, &str)])] = &[
            ("SELECT 1; SELECT 2;", &[(1, "SELECT 1"), (1, "SELECT 2")]),
            ("SELECT 1;\nSELECT 2", &[(1, "SELECT 1"), (2, "SELECT 2")]),
            ("", &[]),
            (";;\n;", &[]),
            ("-- only a comment\n/* and another */\n", &[]),
            ("SELECT 'a;b';", &[(1, "SELECT 'a;b'")]),
            ("SELECT 'it''s; fine';", &[(1, "SELECT 'it''s; fine'")]),
            ("SELECT \"a;b\" FROM t;", &[(1, "SELECT \"a;b\" FROM t")]),
            ("SELECT 1 -- trailing; comment\n, 2;", &[(1, "SELECT 1 -- trailing; comment\n, 2")]),
            ("SELECT /* inline; */ 1;", &[(1, "SELECT /* inline; */ 1")]),
            (
                "-- leading comment; not a statement\n\n  /* block\n comment */\nSELECT 1;\n-- tail",
                &[(5, "SELECT 1")],
            ),
            (
                "SELECT 'multi\nline; string';\n\nSELECT 3;",
                &[(1, "SELECT 'multi\nline; string'"), (4, "SELECT 3")],
            ),
            (
                "CREATE TABLE t (\r\n  id int\r\n);\r\nSELECT 1;\r\n",
                &[(1, "CREATE TABLE t (\r\n  id int\r\n)"), (4, "SELECT 1")],
            ),
            ("SELECT 'é;ü';SELECT 2", &[(1, "SELECT 'é;ü'"), (1, "SELECT 2")]),
        ];
        for dialect in [Dialect::Postgres, Dialect::Mysql] {
            for (body, expected) in cases {
                let expected: Vec<(usize, String)> =
                    expected.iter().map(|(l, s)| (*l, (*s).to_owned())).collect();
                assert_eq!(sqls(body, dialect), expected, "{dialect:?}: {body:?}");
            }
        }
    }

    #[test]
    fn postgres_rules() {
        let cases: &[(&str, &[(usize, &str)])] = &[
            (
                "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  PERFORM 1;\n  RETURN 2;\nEND;\n$$ LANGUAGE plpgsql;\nSELECT f();",
                &[
                    (
                        1,
                        "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  PERFORM 1;\n  RETURN 2;\nEND;\n$$ LANGUAGE plpgsql",
                    ),
                    (7, "SELECT f()"),
                ],
            ),
            (
                "DO $body$ BEGIN RAISE NOTICE '$$;'; END $body$;\nSELECT 1;",
                &[(1, "DO $body$ BEGIN RAISE NOTICE '$$;'; END $body$"), (2, "SELECT 1")],
            ),
            ("SELECT $1; SELECT a$b$ FROM t;", &[(1, "SELECT $1"), (1, "SELECT a$b$ FROM t")]),
            ("SELECT E'it\\'s; here';", &[(1, "SELECT E'it\\'s; here'")]),
            // Without E, a backslash is an ordinary character in PostgreSQL.
            ("SELECT 'a\\'; SELECT 2;", &[(1, "SELECT 'a\\'"), (1, "SELECT 2")]),
            ("/* outer /* inner; */ still; comment */ SELECT 1;", &[(1, "SELECT 1")]),
            ("SELECT 1 --no space needed; here\n;", &[(1, "SELECT 1 --no space needed; here")]),
            // Backticks are ordinary characters in PostgreSQL.
            ("SELECT `a; b`;", &[(1, "SELECT `a"), (1, "b`")]),
            (
                "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));\nSELECT 1;",
                &[
                    (
                        1,
                        "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))",
                    ),
                    (2, "SELECT 1"),
                ],
            ),
            (
                "CREATE OR REPLACE FUNCTION g(x int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n  SELECT 2;\nEND;\nSELECT g(1);",
                &[
                    (
                        1,
                        "CREATE OR REPLACE FUNCTION g(x int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n  SELECT 2;\nEND",
                    ),
                    (6, "SELECT g(1)"),
                ],
            ),
            // Transactions in a file are separate statements: BEGIN only nests inside CREATE FUNCTION.
            ("BEGIN;\nSELECT 1;\nEND;", &[(1, "BEGIN"), (2, "SELECT 1"), (3, "END")]),
            (
                "CREATE INDEX CONCURRENTLY i ON t (a);\nCREATE INDEX CONCURRENTLY j ON t (b);",
                &[
                    (1, "CREATE INDEX CONCURRENTLY i ON t (a)"),
                    (2, "CREATE INDEX CONCURRENTLY j ON t (b)"),
                ],
            ),
        ];
        for (body, expected) in cases {
            let expected: Vec<(usize, String)> =
                expected.iter().map(|(l, s)| (*l, (*s).to_owned())).collect();
            assert_eq!(sqls(body, Dialect::Postgres), expected, "{body:?}");
        }
    }

    #[test]
    fn mysql_rules() {
        let cases: &[(&str, &[(usize, &str)])] = &[
            (
                "DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND //\ndelimiter ;\nCALL p();",
                &[
                    (2, "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND"),
                    (8, "CALL p()"),
                ],
            ),
            (
                "DELIMITER $$\nCREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = 1; END$$\nDELIMITER ;\n",
                &[(2, "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = 1; END")],
            ),
            ("SELECT 'it\\'s; here';", &[(1, "SELECT 'it\\'s; here'")]),
            ("SELECT \"a\\\";b\";", &[(1, "SELECT \"a\\\";b\"")]),
            ("SELECT `a;b` FROM `t``;`;", &[(1, "SELECT `a;b` FROM `t``;`")]),
            ("# hash comment;\nSELECT 1; # trailing;\n", &[(2, "SELECT 1")]),
            // `--` without a following space is not a comment in MySQL.
            ("SELECT 1--1;\nSELECT 2;", &[(1, "SELECT 1--1"), (2, "SELECT 2")]),
            (
                "/*!40101 SET @old = @@sql_mode */;\n/*!50001 CREATE VIEW v AS SELECT 1 */;",
                &[
                    (1, "/*!40101 SET @old = @@sql_mode */"),
                    (2, "/*!50001 CREATE VIEW v AS SELECT 1 */"),
                ],
            ),
            // MySQL comments do not nest: the first `*/` closes.
            ("/* a /* b */ SELECT 1;", &[(1, "SELECT 1")]),
            // Dollar signs are no quotes in MySQL.
            ("SELECT $$a;b$$;", &[(1, "SELECT $$a"), (1, "b$$")]),
            // A statement left open before a DELIMITER line ends there.
            ("SELECT 1\nDELIMITER ;;\nSELECT 2;;", &[(1, "SELECT 1"), (3, "SELECT 2")]),
        ];
        for (body, expected) in cases {
            let expected: Vec<(usize, String)> =
                expected.iter().map(|(l, s)| (*l, (*s).to_owned())).collect();
            assert_eq!(sqls(body, Dialect::Mysql), expected, "{body:?}");
        }
    }

    #[test]
    fn unterminated_things_name_the_line_they_start_on() {
        let cases: &[(&str, Dialect, &str)] = &[
            (
                "SELECT 1;\n\nSELECT 'oops;\n",
                Dialect::Postgres,
                "line 3: unterminated single-quoted string",
            ),
            (
                "SELECT \"x",
                Dialect::Mysql,
                "line 1: unterminated double-quoted string or identifier",
            ),
            ("\nSELECT `x", Dialect::Mysql, "line 2: unterminated backtick-quoted identifier"),
            ("SELECT 1;\n/* never\nclosed", Dialect::Mysql, "line 2: unterminated block comment"),
            ("/* a /* b */", Dialect::Postgres, "line 1: unterminated block comment"),
            (
                "SELECT 1;\nDO $fn$ BEGIN\nEND $$;",
                Dialect::Postgres,
                "line 2: unterminated dollar-quoted string $fn$",
            ),
            ("SELECT E'\\'", Dialect::Postgres, "line 1: unterminated single-quoted string"),
            ("SELECT 1;\nDELIMITER\n", Dialect::Mysql, "line 2: `DELIMITER` without a delimiter"),
        ];
        for (body, dialect, message) in cases {
            let err = split(body, *dialect).expect_err(body);
            assert_eq!(err.to_string(), *message, "{body:?}");
        }
    }

    #[test]
    fn summary_is_the_first_line_collapsed_and_cut() {
        let s = Statement { sql: "CREATE   TABLE\tusers (\n  id int\n)".to_owned(), line: 1 };
        assert_eq!(s.summary(), "CREATE TABLE users (");
        let long =
            Statement { sql: format!("INSERT INTO t VALUES ({})", "1, ".repeat(40)), line: 1 };
        let summary = long.summary();
        assert_eq!(summary.chars().count(), 80);
        assert!(summary.ends_with('…'));
    }

    #[test]
    fn redis_commands() {
        let body = "# flags\n\nSET flag on\n  HSET user:1 name \"Ada \\\"the\\\" Countess\" bio 'no \\n escapes'\nSET k \"a\\\\b\\nc\"\nSET joined pre\"fix\"'suffix'\r\nLPUSH q \"\" x\n";
        let commands = split_redis(body).expect("split");
        let got: Vec<(usize, Vec<&str>)> = commands
            .iter()
            .map(|c| (c.line, c.args.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            got,
            [
                (3, vec!["SET", "flag", "on"]),
                (
                    4,
                    vec!["HSET", "user:1", "name", "Ada \"the\" Countess", "bio", "no \\n escapes"]
                ),
                (5, vec!["SET", "k", "a\\b\nc"]),
                (6, vec!["SET", "joined", "prefixsuffix"]),
                (7, vec!["LPUSH", "q", "", "x"]),
            ]
        );
        let err = split_redis("SET a 1\nSET b \"open\n").expect_err("unterminated");
        assert_eq!(err.to_string(), "line 2: unterminated double-quoted string or identifier");
        let err = split_redis("SET b 'open").expect_err("unterminated");
        assert_eq!(err.to_string(), "line 1: unterminated single-quoted string");
    }
}
