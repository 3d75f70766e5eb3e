//! The text bulk format every loader takes and every source reader writes: fields separated by
//! tabs, rows ended by newlines, `\N` for NULL, and a backslash escape for each byte the format
//! gives meaning to (PostgreSQL `COPY` text and MySQL `LOAD DATA` read it alike). Rows travel in
//! chunks of about [`CHUNK_BYTES`] of whole lines.
//!
//! Between two PostgreSQL servers, a masked copy's table whose types allow it travels in
//! PostgreSQL's binary `COPY` format instead ([`Format::Binary`]): neither server prints or parses
//! a value's text (a timestamp, a numeric), which is most of a text `COPY`'s work on both sides.

use std::borrow::Cow;

/// About how much text one chunk carries.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// How a chunk's rows are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The text bulk format: lines of tab-separated, escaped fields.
    Text,
    /// PostgreSQL's binary `COPY` format: the file header at the start of the first chunk, then
    /// rows (a field count, then each field's length and bytes; -1 for NULL), the trailer at the
    /// end of the last. The server sends one row per message, and chunks hold whole messages.
    Binary,
}

impl Format {
    /// The rows of a chunk.
    pub fn count_rows(self, chunk: &[u8]) -> u64 {
        match self {
            Format::Text => count_lines(chunk),
            Format::Binary => binary_rows(chunk).count() as u64,
        }
    }
}

/// The start of every binary `COPY` stream.
const BINARY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// The header a binary stream starts with: the signature, no flags, no extension.
pub fn binary_header() -> Vec<u8> {
    [BINARY_SIGNATURE, &0u32.to_be_bytes(), &0u32.to_be_bytes()].concat()
}

/// The trailer a binary stream ends with: a field count of -1.
pub const BINARY_TRAILER: [u8; 2] = (-1i16).to_be_bytes();

/// `data` without the binary stream's header, where it starts with one.
pub fn strip_binary_header(data: &[u8]) -> &[u8] {
    let Some(after) = data.strip_prefix(BINARY_SIGNATURE) else { return data };
    // Flags, then the header extension's length and the extension.
    let extension = after.get(4..8).and_then(|n| n.try_into().ok()).map_or(0, u32::from_be_bytes);
    after.get(8 + extension as usize..).unwrap_or_default()
}

/// Whether a message is the binary stream's trailer.
pub fn is_binary_trailer(data: &[u8]) -> bool {
    data == BINARY_TRAILER
}

/// The rows of a chunk in the binary format, each from its field count to its last field: the
/// header is skipped where the chunk starts with it, and the rows end at the trailer (or at
/// bytes that are not a whole row, which the server never sends).
pub fn binary_rows(chunk: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = strip_binary_header(chunk);
    std::iter::from_fn(move || {
        let count = i16::from_be_bytes(rest.get(..2)?.try_into().ok()?);
        if count < 0 {
            return None;
        }
        let mut at = 2;
        for _ in 0..count {
            let length = i32::from_be_bytes(rest.get(at..at + 4)?.try_into().ok()?);
            at += 4 + usize::try_from(length).unwrap_or(0);
        }
        let row = rest.get(..at)?;
        rest = &rest[at..];
        Some(row)
    })
}

/// Appends one binary field: its length and bytes, or -1 for NULL.
pub fn push_binary_field(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        Some(bytes) => {
            let length = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(bytes);
        }
    }
}

/// The fields of one of [`binary_rows`]' rows: `None` for NULL, else the value's bytes as the
/// type's binary output writes them (the text itself for `text`, `varchar`, `char`, `json`).
pub fn binary_fields(row: &[u8]) -> impl Iterator<Item = Option<&[u8]>> {
    let mut rest = row.get(2..).unwrap_or_default();
    std::iter::from_fn(move || {
        let length = i32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
        rest = &rest[4..];
        let Ok(length) = usize::try_from(length) else { return Some(None) };
        let value = rest.get(..length)?;
        rest = &rest[length..];
        Some(Some(value))
    })
}

/// The lines of a chunk, each without its newline. Every line counts, an empty one too (the one
/// empty text field of a one-column row); what follows the last newline is a line when it is not
/// empty (chunks end with one).
pub fn lines(chunk: &[u8]) -> impl Iterator<Item = &[u8]> {
    split(chunk, b'\n', true)
}

/// The fields of a line, in order (a line always has at least one).
pub fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    split(line, b'\t', false)
}

/// The rows of a chunk: its newlines, and a last line without one.
pub fn count_lines(chunk: &[u8]) -> u64 {
    let ended = chunk.last().is_none_or(|&b| b == b'\n');
    memchr::memchr_iter(b'\n', chunk).count() as u64 + u64::from(!ended)
}

/// Pieces of `bytes` between `separator`s (found with SIMD); a last empty piece is left out
/// when `terminated` (the separator ends its piece rather than parts two).
fn split(bytes: &[u8], separator: u8, terminated: bool) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(separator, bytes);
    std::iter::from_fn(move || {
        if start > bytes.len() {
            return None;
        }
        match ends.next() {
            Some(end) => {
                let piece = &bytes[start..end];
                start = end + 1;
                Some(piece)
            }
            None if terminated && start == bytes.len() => None,
            None => {
                let piece = &bytes[start..];
                start = bytes.len() + 1;
                Some(piece)
            }
        }
    })
}

/// Appends one field: `\N` for NULL, the bytes escaped otherwise (NUL as `\0`, which MySQL reads
/// back; PostgreSQL refuses a NUL either way).
pub fn push_field(out: &mut Vec<u8>, value: Option<&[u8]>) {
    let Some(bytes) = value else {
        out.extend_from_slice(b"\\N");
        return;
    };
    let mut rest = bytes;
    while let Some(i) = rest.iter().position(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r' | 0)) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(match rest[i] {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => b"\\0",
        });
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

/// One field back to its value (`\t`, `\n`, `\\`… undone); invalid UTF-8 is replaced.
pub fn unescape(field: &[u8]) -> Cow<'_, str> {
    if !field.contains(&b'\\') {
        // Valid UTF-8 is checked faster than it is repaired.
        return match std::str::from_utf8(field) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(field),
        };
    }
    let mut out = Vec::with_capacity(field.len());
    let mut bytes = field.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b't') => out.push(b'\t'),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b'0') => out.push(0),
            Some(b'b') => out.push(8),
            Some(b'f') => out.push(12),
            Some(b'v') => out.push(11),
            Some(&other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_and_fields_split_as_the_format_means() {
        let lines = |c: &'static [u8]| super::lines(c).collect::<Vec<_>>();
        assert_eq!(lines(b"a\tb\nc\n"), [&b"a\tb"[..], b"c"]);
        assert_eq!(lines(b"\n\nx\n"), [&b""[..], b"", b"x"], "empty lines are rows");
        assert_eq!(lines(b"a\nb"), [&b"a"[..], b"b"]);
        assert!(lines(b"").is_empty());
        assert_eq!(super::count_lines(b"\n\nx\n"), 3);
        assert_eq!(super::count_lines(b"a\nb"), 2);
        assert_eq!(super::count_lines(b""), 0);
        let fields = |l: &'static [u8]| super::fields(l).collect::<Vec<_>>();
        assert_eq!(fields(b"a\t\\N\t"), [&b"a"[..], b"\\N", b""]);
        assert_eq!(fields(b""), [&b""[..]]);
        assert_eq!(fields(b"\t"), [&b""[..], b""]);
    }

    use super::*;

    /// A binary `COPY` row as the server writes it.
    fn binary_row(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut row = (fields.len() as i16).to_be_bytes().to_vec();
        for field in fields {
            match field {
                None => row.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(value) => {
                    row.extend_from_slice(&(value.len() as i32).to_be_bytes());
                    row.extend_from_slice(value);
                }
            }
        }
        row
    }

    #[test]
    fn binary_rows_skip_the_header_and_stop_at_the_trailer() {
        let (first, second) =
            (binary_row(&[Some(b"ab"), None]), binary_row(&[Some(b""), Some(b"x")]));
        let mut chunk = BINARY_SIGNATURE.to_vec();
        chunk.extend_from_slice(&0u32.to_be_bytes());
        chunk.extend_from_slice(&3u32.to_be_bytes());
        chunk.extend_from_slice(b"ext");
        chunk.extend_from_slice(&first);
        chunk.extend_from_slice(&second);
        chunk.extend_from_slice(&(-1i16).to_be_bytes());
        let rows: Vec<&[u8]> = binary_rows(&chunk).collect();
        assert_eq!(rows, [&first[..], &second[..]]);
        assert_eq!(Format::Binary.count_rows(&chunk), 2);
        let fields: Vec<Vec<Option<&[u8]>>> =
            rows.iter().map(|row| binary_fields(row).collect()).collect();
        assert_eq!(fields[0], [Some(&b"ab"[..]), None]);
        assert_eq!(fields[1], [Some(&b""[..]), Some(&b"x"[..])]);
        // A chunk without the header (not the first), and one cut short, which the server never
        // sends: its whole rows only.
        assert_eq!(Format::Binary.count_rows(&second), 1);
        let cut = [&first[..], &second[..second.len() - 1]].concat();
        assert_eq!(Format::Binary.count_rows(&cut), 1);
    }

    #[test]
    fn fields_round_trip() {
        for value in ["plain", "tab\there", "line\nbreak", "back\\slash", "cr\r", "nul\0", ""] {
            let mut out = Vec::new();
            push_field(&mut out, Some(value.as_bytes()));
            assert_eq!(unescape(&out), value);
        }
        let mut out = Vec::new();
        push_field(&mut out, None);
        assert_eq!(out, b"\\N");
        assert_eq!(unescape(b"a\\\\b\\tc"), "a\\b\tc");
    }
}
