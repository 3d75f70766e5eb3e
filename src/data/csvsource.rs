//! A directory of CSV exports as a source for masked copies, for teams that can hand over files
//! but not a database connection: one `<table>.csv` per table, a header row naming its columns.
//!
//! Files are read as RFC 4180 (`,` between fields, `"` quoting with `""` for a quote, quoted
//! fields holding commas and line breaks, CRLF or LF line ends, a UTF-8 byte order mark skipped)
//! and streamed in the text bulk format the engines load (tab-separated, `\N` for NULL, backslash
//! escapes), one record at a time so memory stays bounded whatever the file's size. As in
//! PostgreSQL's `COPY … CSV`, an empty unquoted field is NULL and a quoted empty field `""` is the
//! empty string; a line with nothing on it is one NULL field, so it is a row only in a one-column
//! file. A quote inside an unquoted field (`5" screen`) is kept as text, as spreadsheets write it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::engine::bulk::{CHUNK_BYTES, push_field};

/// One table's export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvTable {
    pub path: PathBuf,
    /// The header's column names, in file order.
    pub columns: Vec<String>,
}

/// A CSV export that cannot be used; every variant names the file, and the line where there is
/// one.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("failed to read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not CSV as this reader takes it.
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        /// 1-based line where the offending record starts (or where the problem is).
        line: u64,
        /// What is wrong: a lowercase fragment.
        message: String,
    },
    /// A column the target table has is not in the file's header.
    #[error("{}: the header has no column {column}", path.display())]
    MissingColumn { path: PathBuf, column: String },
    /// Two files hold the same table (`users.csv` and `users.CSV`).
    #[error("{} and {} both hold table {table}", first.display(), second.display())]
    DuplicateTable { table: String, first: PathBuf, second: PathBuf },
}

/// The tables `dir` holds, by file stem. Files whose name does not end in `.csv` (in any case),
/// and hidden files, are not tables.
pub fn discover(dir: &Path) -> Result<BTreeMap<String, CsvTable>, CsvError> {
    let read_dir = |source| CsvError::Read { path: dir.to_path_buf(), source };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_dir)? {
        let path = entry.map_err(read_dir)?.path();
        let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if is_csv && !hidden && path.is_file() {
            paths.push(path);
        }
    }
    // Sorted, so which of two clashing files is named first does not depend on the file system.
    paths.sort();
    let mut tables: BTreeMap<String, CsvTable> = BTreeMap::new();
    for path in paths {
        let Some(table) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            return Err(CsvError::Invalid {
                path,
                line: 1,
                message: "the file name is not UTF-8, so it names no table".into(),
            });
        };
        let columns = Records::open(&path)?.header()?;
        if let Some(first) = tables.get(&table) {
            return Err(CsvError::DuplicateTable {
                table,
                first: first.path.clone(),
                second: path,
            });
        }
        tables.insert(table, CsvTable { path, columns });
    }
    Ok(tables)
}

/// Streams the file's rows as text-bulk-format lines holding `columns` (named from the target
/// schema: a subset or permutation of the header) in that order, in chunks of about 256 KiB of
/// whole lines. Blocking: run it on a blocking thread. Stops quietly when the receiver goes.
/// Returns the rows read.
pub fn stream(
    table: &CsvTable,
    columns: &[String],
    tx: tokio::sync::mpsc::Sender<Vec<u8>>,
) -> Result<u64, CsvError> {
    stream_from(Records::open(&table.path)?, columns, |chunk| tx.blocking_send(chunk).is_ok())
}

/// [`stream`] over any reader; `send` returns false when nobody takes chunks any more.
fn stream_from<R: BufRead>(
    mut records: Records<R>,
    columns: &[String],
    mut send: impl FnMut(Vec<u8>) -> bool,
) -> Result<u64, CsvError> {
    let header = records.header()?;
    let positions = columns
        .iter()
        .map(|column| {
            header.iter().position(|h| h == column).ok_or_else(|| CsvError::MissingColumn {
                path: records.path.clone(),
                column: column.clone(),
            })
        })
        .collect::<Result<Vec<usize>, CsvError>>()?;
    let mut record = Record::default();
    let mut chunk = Vec::with_capacity(CHUNK_BYTES + 4096);
    let mut rows = 0u64;
    while let Some(line) = records.next(&mut record)? {
        if record.fields.len() != header.len() {
            return Err(records.invalid(
                line,
                format!("{} fields where the header has {}", record.fields.len(), header.len()),
            ));
        }
        for (i, &at) in positions.iter().enumerate() {
            if i > 0 {
                chunk.push(b'\t');
            }
            push_field(&mut chunk, record.field(at));
        }
        chunk.push(b'\n');
        rows += 1;
        if chunk.len() >= CHUNK_BYTES {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_BYTES + 4096));
            if !send(full) {
                return Ok(rows);
            }
        }
    }
    if !chunk.is_empty() {
        send(chunk);
    }
    Ok(rows)
}

/// One record's fields: their bytes back to back, and each field's range (`None` for NULL).
#[derive(Default)]
struct Record {
    data: Vec<u8>,
    fields: Vec<Option<Range<usize>>>,
}

impl Record {
    fn field(&self, i: usize) -> Option<&[u8]> {
        self.fields[i].clone().map(|r| &self.data[r])
    }
}

/// Where the parser is inside a field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing of the field read yet.
    Start,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the closing one, or the first of `""`.
    QuoteInQuoted,
}

/// Records read one at a time from a CSV file.
struct Records<R> {
    input: R,
    path: PathBuf,
    /// Physical lines read so far.
    line: u64,
    /// The physical line being parsed (reused).
    raw: Vec<u8>,
}

impl Records<BufReader<File>> {
    fn open(path: &Path) -> Result<Self, CsvError> {
        let file = File::open(path)
            .map_err(|source| CsvError::Read { path: path.to_path_buf(), source })?;
        Ok(Records::new(BufReader::with_capacity(256 * 1024, file), path))
    }
}

impl<R: BufRead> Records<R> {
    fn new(input: R, path: &Path) -> Self {
        Records { input, path: path.to_path_buf(), line: 0, raw: Vec::new() }
    }

    fn invalid(&self, line: u64, message: impl Into<String>) -> CsvError {
        CsvError::Invalid { path: self.path.clone(), line, message: message.into() }
    }

    /// Reads the next physical line into `raw`; false at the end of the file.
    fn read_line(&mut self) -> Result<bool, CsvError> {
        self.raw.clear();
        let n = self
            .input
            .read_until(b'\n', &mut self.raw)
            .map_err(|source| CsvError::Read { path: self.path.clone(), source })?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        if self.line == 1 && self.raw.starts_with(b"\xEF\xBB\xBF") {
            self.raw.drain(..3);
        }
        Ok(true)
    }

    /// The header: the first record, every name non-empty, UTF-8 and different from the others.
    /// Must be called first.
    fn header(&mut self) -> Result<Vec<String>, CsvError> {
        let mut record = Record::default();
        let Some(line) = self.next(&mut record)? else {
            return Err(self.invalid(1, "the file is empty: it needs a header row of column names"));
        };
        let mut names: Vec<String> = Vec::with_capacity(record.fields.len());
        for i in 0..record.fields.len() {
            let name = match record.field(i) {
                None | Some(b"") => {
                    return Err(self.invalid(line, format!("column {} has no name", i + 1)));
                }
                Some(bytes) => std::str::from_utf8(bytes).map_err(|_| {
                    self.invalid(line, format!("the name of column {} is not UTF-8", i + 1))
                })?,
            };
            if names.iter().any(|n| n == name) {
                return Err(self.invalid(line, format!("column {name} is named twice")));
            }
            names.push(name.to_owned());
        }
        Ok(names)
    }

    /// Reads the next record into `record`; returns the line it starts on, or `None` at the end
    /// of the file.
    fn next(&mut self, record: &mut Record) -> Result<Option<u64>, CsvError> {
        record.data.clear();
        record.fields.clear();
        if !self.read_line()? {
            return Ok(None);
        }
        let start_line = self.line;
        let mut state = State::Start;
        let mut field_start = 0;
        loop {
            // The line without its ending; the ending is data only inside a quoted field.
            let ending = if self.raw.ends_with(b"\r\n") {
                2
            } else {
                usize::from(self.raw.ends_with(b"\n"))
            };
            let body = self.raw.len() - ending;
            for &b in &self.raw[..body] {
                state = match (state, b) {
                    (State::Start, b'"') => State::Quoted,
                    (State::Start | State::Unquoted, b',') => {
                        let empty = state == State::Start;
                        record.fields.push((!empty).then_some(field_start..record.data.len()));
                        field_start = record.data.len();
                        State::Start
                    }
                    (State::Start | State::Unquoted, b) => {
                        record.data.push(b);
                        State::Unquoted
                    }
                    (State::Quoted, b'"') => State::QuoteInQuoted,
                    (State::Quoted, b) => {
                        record.data.push(b);
                        State::Quoted
                    }
                    (State::QuoteInQuoted, b'"') => {
                        record.data.push(b'"');
                        State::Quoted
                    }
                    (State::QuoteInQuoted, b',') => {
                        record.fields.push(Some(field_start..record.data.len()));
                        field_start = record.data.len();
                        State::Start
                    }
                    (State::QuoteInQuoted, _) => {
                        return Err(self.invalid(
                            self.line,
                            "text after the closing quote of a field (a quote inside a quoted \
                             field is written \"\")",
                        ));
                    }
                };
            }
            if state != State::Quoted {
                break;
            }
            // A line break inside a quoted field belongs to the value, as written.
            record.data.extend_from_slice(&self.raw[body..]);
            if ending == 0 || !self.read_line()? {
                return Err(self.invalid(
                    start_line,
                    "a quoted field is never closed: the file ends inside it",
                ));
            }
        }
        // The last field: empty and unquoted is NULL.
        let empty = state == State::Start;
        record.fields.push((!empty).then_some(field_start..record.data.len()));
        Ok(Some(start_line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &[u8]) -> Result<Vec<Vec<Option<String>>>, String> {
        let mut records = Records::new(input, Path::new("t.csv"));
        let mut record = Record::default();
        let mut out = Vec::new();
        while records.next(&mut record).map_err(|e| e.to_string())?.is_some() {
            out.push(
                (0..record.fields.len())
                    .map(|i| record.field(i).map(|b| String::from_utf8_lossy(b).into_owned()))
                    .collect(),
            );
        }
        Ok(out)
    }

    fn row(fields: &[Option<&str>]) -> Vec<Option<String>> {
        fields.iter().map(|f| f.map(str::to_owned)).collect()
    }

    /// A name, the file's bytes, and the records they hold.
    type Case<'a> = (&'a str, &'a [u8], &'a [&'a [Option<&'a str>]]);

    #[test]
    fn records_are_parsed_as_rfc_4180() {
        let s = Some;
        let cases: &[Case<'_>] = &[
            ("plain", b"a,b,c\n1,2,3\n", &[&[s("a"), s("b"), s("c")], &[s("1"), s("2"), s("3")]]),
            ("no final line end", b"a,b\n1,2", &[&[s("a"), s("b")], &[s("1"), s("2")]]),
            ("crlf", b"a,b\r\n1,2\r\n", &[&[s("a"), s("b")], &[s("1"), s("2")]]),
            ("bom", b"\xEF\xBB\xBFid,name\n1,x\n", &[&[s("id"), s("name")], &[s("1"), s("x")]]),
            ("bom only at the start", b"a\n\xEF\xBB\xBFb\n", &[&[s("a")], &[s("\u{feff}b")]]),
            ("empty unquoted is null", b"1,,3\n", &[&[s("1"), None, s("3")]]),
            ("quoted empty is empty", b"1,\"\",3\n", &[&[s("1"), s(""), s("3")]]),
            ("null at the ends", b",x,\n", &[&[None, s("x"), None]]),
            ("quoted empty at the end", b"x,\"\"\r\n", &[&[s("x"), s("")]]),
            ("comma in quotes", b"\"a,b\",c\n", &[&[s("a,b"), s("c")]]),
            ("doubled quote", b"\"say \"\"hi\"\"\",x\n", &[&[s("say \"hi\""), s("x")]]),
            ("only a quote", b"\"\"\"\"\n", &[&[s("\"")]]),
            ("newline in quotes", b"\"a\nb\",c\n2,3\n", &[&[s("a\nb"), s("c")], &[s("2"), s("3")]]),
            ("crlf in quotes kept", b"\"a\r\nb\"\r\n", &[&[s("a\r\nb")]]),
            ("blank line inside quotes", b"\"a\n\nb\"\n", &[&[s("a\n\nb")]]),
            ("quote inside unquoted", b"5\" screen,x\n", &[&[s("5\" screen"), s("x")]]),
            ("spaces kept", b" a , \"b\"\n", &[&[s(" a "), s(" \"b\"")]]),
            ("tabs and backslashes", b"a\tb,c\\d\n", &[&[s("a\tb"), s("c\\d")]]),
            ("blank line is one null", b"a\n\nb\n", &[&[s("a")], &[None], &[s("b")]]),
            ("empty file", b"", &[]),
        ];
        for (name, input, expected) in cases {
            let expected: Vec<_> = expected.iter().map(|r| row(r)).collect();
            assert_eq!(records(input), Ok(expected), "{name}");
        }
    }

    #[test]
    fn malformed_records_name_the_file_and_line() {
        let cases: &[(&str, &[u8], &str)] = &[
            (
                "text after a closing quote",
                b"a,b\n1,\"x\"y\n",
                "t.csv:2: text after the closing quote of a field (a quote inside a quoted field \
                 is written \"\")",
            ),
            (
                "unclosed quote names where it starts",
                b"a\n\"open\nstill\nopen",
                "t.csv:2: a quoted field is never closed: the file ends inside it",
            ),
            (
                "unclosed quote on the last line end",
                b"a\n\"open\n",
                "t.csv:2: a quoted field is never closed: the file ends inside it",
            ),
        ];
        for (name, input, expected) in cases {
            assert_eq!(records(input), Err(expected.to_string()), "{name}");
        }
    }

    fn streamed(input: &[u8], columns: &[&str]) -> Result<(u64, String), String> {
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        let mut out = Vec::new();
        let rows = stream_from(Records::new(input, Path::new("users.csv")), &columns, |chunk| {
            out.extend(chunk);
            true
        })
        .map_err(|e| e.to_string())?;
        Ok((rows, String::from_utf8(out).unwrap()))
    }

    #[test]
    fn rows_are_reordered_and_escaped_into_the_text_format() {
        let input = b"id,name,note\r\n1,\"Ann\",\r\n2,\"\",\"tab\there\"\r\n3,\"two\nlines\",back\\slash\r\n4,\\N,\"\0\"\r\n";
        assert_eq!(
            streamed(input, &["note", "id"]),
            Ok((4, "\\N\t1\ntab\\there\t2\nback\\\\slash\t3\n\\0\t4\n".to_string()))
        );
        assert_eq!(
            streamed(input, &["name"]),
            Ok((4, "Ann\n\ntwo\\nlines\n\\\\N\n".to_string())),
            "a quoted empty name is the empty string; a literal \\N is text"
        );
        assert_eq!(streamed(b"id,name\n", &["id"]), Ok((0, String::new())));
    }

    #[test]
    fn stream_errors_name_the_file_line_and_column() {
        let cases: &[(&[u8], &[&str], &str)] = &[
            (b"id,name\n1,a\n2\n", &["id"], "users.csv:3: 1 fields where the header has 2"),
            (
                b"id,name\n1,\"a\nb\",extra\n",
                &["id"],
                "users.csv:2: 3 fields where the header has 2",
            ),
            (b"id,name\n1,a\n", &["id", "email"], "users.csv: the header has no column email"),
            (b"", &["id"], "users.csv:1: the file is empty: it needs a header row of column names"),
            (b"id,,x\n", &["id"], "users.csv:1: column 2 has no name"),
            (b"id,\"\"\n", &["id"], "users.csv:1: column 2 has no name"),
            (b"id,name,id\n", &["id"], "users.csv:1: column id is named twice"),
            (b"id,\"na\xffme\"\n", &["id"], "users.csv:1: the name of column 2 is not UTF-8"),
        ];
        for (input, columns, expected) in cases {
            assert_eq!(streamed(input, columns), Err(expected.to_string()));
        }
    }

    #[test]
    fn chunks_hold_whole_lines_and_stop_when_nobody_listens() {
        let mut input = b"id,text\n".to_vec();
        for i in 0..20_000 {
            input.extend_from_slice(format!("{i},\"some text\nover two lines {i}\"\n").as_bytes());
        }
        let columns = ["id".to_string(), "text".to_string()];
        let mut chunks = Vec::new();
        let rows = stream_from(Records::new(&input[..], Path::new("t.csv")), &columns, |c| {
            chunks.push(c);
            true
        })
        .unwrap();
        assert_eq!(rows, 20_000);
        assert!(chunks.len() > 1, "{} chunks", chunks.len());
        assert!(chunks.iter().all(|c| c.ends_with(b"\n") && c.len() < CHUNK_BYTES + 4096));
        let lines: usize = chunks.iter().map(|c| c.iter().filter(|&&b| b == b'\n').count()).sum();
        assert_eq!(lines, 20_000);

        let mut sent = 0;
        let rows = stream_from(Records::new(&input[..], Path::new("t.csv")), &columns, |_| {
            sent += 1;
            false
        })
        .unwrap();
        assert_eq!(sent, 1, "nothing is sent after the receiver goes");
        assert!(rows < 20_000);
    }

    #[test]
    fn discover_finds_tables_by_file_stem() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("users.csv"), "\u{feff}id,email\r\n1,a@x\r\n").unwrap();
        std::fs::write(dir.path().join("orders.CSV"), "id,user_id,total\n").unwrap();
        std::fs::write(dir.path().join("README.md"), "not a table").unwrap();
        std::fs::write(dir.path().join(".hidden.csv"), "").unwrap();
        std::fs::create_dir(dir.path().join("dir.csv")).unwrap();
        let tables = discover(dir.path()).unwrap();
        assert_eq!(tables.keys().collect::<Vec<_>>(), ["orders", "users"]);
        assert_eq!(tables["users"].columns, ["id", "email"]);
        assert_eq!(tables["users"].path, dir.path().join("users.csv"));
        assert_eq!(tables["orders"].columns, ["id", "user_id", "total"]);

        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let columns = ["email".to_string(), "id".to_string()];
        assert_eq!(stream(&tables["users"], &columns, tx).unwrap(), 1);
        assert_eq!(rx.try_recv().unwrap(), b"a@x\t1\n");

        std::fs::write(dir.path().join("bad.csv"), "id,,name\n").unwrap();
        let e = discover(dir.path()).unwrap_err().to_string();
        assert_eq!(e, format!("{}:1: column 2 has no name", dir.path().join("bad.csv").display()));
    }

    #[test]
    fn discover_names_what_it_cannot_read() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert_eq!(
            discover(&missing).unwrap_err().to_string(),
            format!("failed to read {}", missing.display())
        );
        std::fs::write(dir.path().join("users.csv"), "id\n").unwrap();
        std::fs::write(dir.path().join("users.CSV"), "id\n").unwrap();
        assert_eq!(
            discover(dir.path()).unwrap_err().to_string(),
            format!(
                "{} and {} both hold table users",
                dir.path().join("users.CSV").display(),
                dir.path().join("users.csv").display()
            )
        );
    }
}
