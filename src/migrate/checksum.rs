//! Checksums of migration files: dbtwin's own, and the ones Flyway, sqlx and refinery store in their
//! history tables, so a database migrated by one of those tools can be read back and compared without
//! re-running anything.
//!
//! dbtwin's own checksum ignores line endings, a byte-order mark and trailing newlines, because those
//! change when a file crosses a Windows checkout or an editor setting, and that is not a change to the
//! migration. The foreign checksums reproduce each tool's algorithm exactly, quirks included.

use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256, Sha384};

const BOM: char = '\u{feff}';

/// dbtwin's checksum: lowercase hex SHA-256 of `text` after stripping a leading BOM, turning CRLF and
/// lone CR into LF, and dropping the newlines at the end of the file.
pub fn checksum(text: &str) -> String {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let mut normalised = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            // CRLF and a lone CR (classic Mac) both become one LF.
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            normalised.push('\n');
        } else {
            normalised.push(c);
        }
    }
    let normalised = normalised.trim_end_matches('\n');
    hex(&Sha256::digest(normalised.as_bytes()))
}

/// Flyway's checksum, as stored in `flyway_schema_history.checksum`.
///
/// Reproduces `org.flywaydb.core.internal.resolver.ChecksumCalculator`: a CRC32 updated with the UTF-8
/// bytes of every line as `BufferedReader.readLine` returns them (split at `\n`, `\r\n` or `\r`, the
/// terminators left out, so line endings do not count), with a BOM removed from the first line; the
/// unsigned CRC is then cast to a Java `int`. Bytes that are not UTF-8 are replaced by U+FFFD, as a
/// Java `Reader` decoding UTF-8 does.
pub fn flyway_checksum(content: &[u8]) -> i32 {
    let mut crc = crc32fast::Hasher::new();
    for (i, line) in java_lines(content).enumerate() {
        let line = String::from_utf8_lossy(line);
        let line = if i == 0 { line.strip_prefix(BOM).unwrap_or(&line) } else { &line };
        crc.update(line.as_bytes());
    }
    // Java's `(int) crc32.getValue()` keeps the low 32 bits as a two's-complement int.
    crc.finalize() as i32
}

/// The lines of `content` as Java's `BufferedReader.readLine` splits them: at `\n`, `\r\n` or a lone
/// `\r`, terminators excluded, and no empty last line after a final terminator.
fn java_lines(content: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = content;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(end) => {
                let line = &rest[..end];
                let skip =
                    if rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n') { 2 } else { 1 };
                rest = &rest[end + skip..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = &[];
                Some(line)
            }
        }
    })
}

/// sqlx's checksum, as stored in `_sqlx_migrations.checksum` (bytea): SHA-384 of the file exactly as
/// it is on disk.
pub fn sqlx_checksum(content: &[u8]) -> Vec<u8> {
    Sha384::digest(content).to_vec()
}

/// refinery's checksum, as stored in `refinery_schema_history.checksum`: SipHash-1-3 with zero keys
/// over the migration's name, version and SQL, fed through std's `Hash` impls (a `str` writes its
/// bytes then `0xff`; an `i32` its native-endian bytes), exactly as refinery's `Migration::unapplied`
/// does.
pub fn refinery_checksum(name: &str, version: i32, sql: &str) -> u64 {
    let mut hasher = siphasher::sip::SipHasher13::new();
    name.hash(&mut hasher);
    version.hash(&mut hasher);
    sql.hash(&mut hasher);
    hasher.finish()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_bom_and_final_newlines_do_not_matter() {
        let lf = checksum("CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n");
        assert_eq!(lf, checksum("CREATE TABLE t (id int);\r\nINSERT INTO t VALUES (1);\r\n"));
        assert_eq!(lf, checksum("CREATE TABLE t (id int);\rINSERT INTO t VALUES (1);"));
        assert_eq!(
            lf,
            checksum("\u{feff}CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n\n\n")
        );
        assert_eq!(lf.len(), 64);
        assert!(lf.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    }

    #[test]
    fn a_changed_character_changes_the_checksum() {
        assert_ne!(
            checksum("CREATE TABLE t (id int);\n"),
            checksum("CREATE TABLE t (id bigint);\n")
        );
        // An inner blank line is content, not a line ending.
        assert_ne!(checksum("a\nb"), checksum("a\n\nb"));
    }

    #[test]
    fn checksum_of_empty_text_is_sha256_of_nothing() {
        assert_eq!(
            checksum(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(checksum("\n\r\n"), checksum(""));
    }

    /// CRC32 of the concatenated lines, computed independently of the line splitter.
    fn crc_of(lines: &[&str]) -> i32 {
        let mut h = crc32fast::Hasher::new();
        h.update(lines.concat().as_bytes());
        h.finalize() as i32
    }

    #[test]
    fn flyway_checksum_is_crc32_of_the_lines() {
        let expected = crc_of(&["CREATE TABLE t (", "  id int", ");"]);
        assert_eq!(flyway_checksum(b"CREATE TABLE t (\n  id int\n);\n"), expected);
        assert_eq!(flyway_checksum(b"CREATE TABLE t (\r\n  id int\r\n);"), expected);
        assert_eq!(flyway_checksum(b"CREATE TABLE t (\r  id int\r);\r"), expected);
        assert_eq!(
            flyway_checksum("\u{feff}CREATE TABLE t (\n  id int\n);\n".as_bytes()),
            expected
        );
        // Blank lines add nothing to the CRC, as in Flyway.
        assert_eq!(flyway_checksum(b"CREATE TABLE t (\n\n  id int\n);\n"), expected);
        assert_eq!(flyway_checksum(b""), 0);
    }

    #[test]
    fn flyway_checksum_wraps_to_a_java_int() {
        // CRC32("123456789") is the standard check value 0xCBF43926, above i32::MAX.
        assert_eq!(flyway_checksum(b"123456789\n"), 0xCBF4_3926_u32 as i32);
        assert!(flyway_checksum(b"123456789") < 0);
    }

    #[test]
    fn sqlx_checksum_is_sha384_of_the_raw_bytes() {
        let sum = sqlx_checksum(b"abc");
        assert_eq!(
            hex(&sum),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7"
        );
        assert_ne!(sqlx_checksum(b"a\n"), sqlx_checksum(b"a\r\n"));
    }

    #[test]
    fn refinery_checksum_hashes_name_version_sql_in_order() {
        // The same bytes written by hand: str is bytes then 0xff, i32 is native-endian.
        let mut h = siphasher::sip::SipHasher13::new_with_keys(0, 0);
        h.write(b"initial");
        h.write_u8(0xff);
        h.write(&1i32.to_ne_bytes());
        h.write(b"CREATE TABLE t (id int);");
        h.write_u8(0xff);
        let expected = h.finish();
        assert_eq!(refinery_checksum("initial", 1, "CREATE TABLE t (id int);"), expected);
        assert_ne!(refinery_checksum("initial", 2, "CREATE TABLE t (id int);"), expected);
    }
}
