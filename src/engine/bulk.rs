//! The text bulk format every loader takes and every source reader writes: fields separated by
//! tabs, rows ended by newlines, `\N` for NULL, and a backslash escape for each byte the format
//! gives meaning to (PostgreSQL `COPY` text and MySQL `LOAD DATA` read it alike). Rows travel in
//! chunks of about [`CHUNK_BYTES`] of whole lines.

use std::borrow::Cow;

/// About how much text one chunk carries.
pub const CHUNK_BYTES: usize = 256 * 1024;

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
    use super::*;

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
