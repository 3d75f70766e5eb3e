//! PostgreSQL's binary forms of the types a masked column may have in a binary copy, read as the
//! text the masking rules take (the text PostgreSQL itself prints for the value) and written back
//! from the text they return. A table with a masked column of any other type travels as text.

use super::generate::civil_from_days;
use super::seedfile::days_from_civil;
use crate::engine::bulk::push_binary_field;

/// How one column's binary values are read and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// `text`, `varchar`, `char`, `json`: the bytes are the text.
    Text,
    /// A version byte (1), then the text.
    Jsonb,
    /// Days since 2000-01-01, a 4-byte integer (its extremes are the infinities).
    Date,
    Int2,
    Int4,
    Int8,
    /// 16 bytes.
    Uuid,
}

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const POSTGRES_EPOCH: i64 = 10_957;

impl Codec {
    /// The codec for a column of this printed type (`character varying(80)`, `date`), if it has
    /// one.
    pub fn of(data_type: &str) -> Option<Codec> {
        if data_type.ends_with("[]") {
            return None;
        }
        match crate::engine::postgres::base_type(data_type).as_str() {
            "text" | "character varying" | "character" | "json" => Some(Codec::Text),
            "jsonb" => Some(Codec::Jsonb),
            "date" => Some(Codec::Date),
            "smallint" => Some(Codec::Int2),
            "integer" => Some(Codec::Int4),
            "bigint" => Some(Codec::Int8),
            "uuid" => Some(Codec::Uuid),
            _ => None,
        }
    }

    /// Appends the value's text to `out`; false for bytes that are not a value of the type
    /// (which the server never sends).
    pub fn read(self, bytes: &[u8], out: &mut String) -> bool {
        use std::fmt::Write;
        let int = |n: usize| -> Option<i64> {
            let b = bytes.get(..n).filter(|_| bytes.len() == n)?;
            Some(match n {
                2 => i16::from_be_bytes(b.try_into().ok()?).into(),
                4 => i32::from_be_bytes(b.try_into().ok()?).into(),
                _ => i64::from_be_bytes(b.try_into().ok()?),
            })
        };
        match self {
            Codec::Text => out.push_str(&String::from_utf8_lossy(bytes)),
            Codec::Jsonb => match bytes.split_first() {
                Some((1, text)) => out.push_str(&String::from_utf8_lossy(text)),
                _ => return false,
            },
            Codec::Int2 | Codec::Int4 | Codec::Int8 => {
                let width = match self {
                    Codec::Int2 => 2,
                    Codec::Int4 => 4,
                    _ => 8,
                };
                let Some(n) = int(width) else { return false };
                let _ = write!(out, "{n}");
            }
            Codec::Date => {
                let Some(days) = int(4) else { return false };
                match days {
                    d if d == i64::from(i32::MAX) => out.push_str("infinity"),
                    d if d == i64::from(i32::MIN) => out.push_str("-infinity"),
                    d => {
                        let (year, month, day) = civil_from_days(d + POSTGRES_EPOCH);
                        let (shown, era) = if year <= 0 { (1 - year, " BC") } else { (year, "") };
                        let _ = write!(out, "{shown:04}-{month:02}-{day:02}{era}");
                    }
                }
            }
            Codec::Uuid => {
                if bytes.len() != 16 {
                    return false;
                }
                for (i, b) in bytes.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        out.push('-');
                    }
                    let _ = write!(out, "{b:02x}");
                }
            }
        }
        true
    }

    /// Appends the value of `text` as a binary field (its length, then its bytes); false for text
    /// that is no value of the type.
    pub fn write(self, text: &str, out: &mut Vec<u8>) -> bool {
        let bytes: Vec<u8> = match self {
            Codec::Text => return push(out, text.as_bytes()),
            Codec::Jsonb => [&[1u8][..], text.as_bytes()].concat(),
            Codec::Int2 => match text.parse::<i16>() {
                Ok(n) => n.to_be_bytes().to_vec(),
                Err(_) => return false,
            },
            Codec::Int4 => match text.parse::<i32>() {
                Ok(n) => n.to_be_bytes().to_vec(),
                Err(_) => return false,
            },
            Codec::Int8 => match text.parse::<i64>() {
                Ok(n) => n.to_be_bytes().to_vec(),
                Err(_) => return false,
            },
            Codec::Date => match date(text) {
                Some(days) => days.to_be_bytes().to_vec(),
                None => return false,
            },
            Codec::Uuid => {
                let hex: Vec<u8> = text.bytes().filter(|&b| b != b'-').collect();
                if hex.len() != 32 {
                    return false;
                }
                let digit = |b: u8| (b as char).to_digit(16);
                let mut bytes = Vec::with_capacity(16);
                for pair in hex.chunks(2) {
                    let (Some(high), Some(low)) = (digit(pair[0]), digit(pair[1])) else {
                        return false;
                    };
                    bytes.push((high * 16 + low) as u8);
                }
                bytes
            }
        };
        push(out, &bytes)
    }
}

fn push(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    push_binary_field(out, Some(bytes));
    true
}

/// Days since 2000-01-01 of a date as PostgreSQL prints it (`2024-02-29`, `0044-03-15 BC`,
/// `infinity`).
fn date(text: &str) -> Option<i32> {
    match text {
        "infinity" => return Some(i32::MAX),
        "-infinity" => return Some(i32::MIN),
        _ => {}
    }
    let (text, bc) = match text.strip_suffix(" BC") {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    let mut parts = text.splitn(3, '-');
    let mut number = || -> Option<i64> {
        let part = parts.next()?;
        (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())).then_some(())?;
        part.parse().ok()
    };
    let (year, month, day) = (number()?, number()?, number()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || year < 1 {
        return None;
    }
    let year = if bc { 1 - year } else { year };
    let days = days_from_civil(year, month as u32, day as u32) - POSTGRES_EPOCH;
    i32::try_from(days).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(codec: Codec, text: &str) -> String {
        let mut field = Vec::new();
        assert!(codec.write(text, &mut field), "{codec:?} {text}");
        let length = i32::from_be_bytes(field[..4].try_into().unwrap()) as usize;
        assert_eq!(length, field.len() - 4);
        let mut back = String::new();
        assert!(codec.read(&field[4..], &mut back), "{codec:?} {text}");
        back
    }

    #[test]
    fn values_read_as_postgres_prints_them_and_write_back() {
        for (codec, text) in [
            (Codec::Text, "Zoë O'Brien\ttab"),
            (Codec::Jsonb, r#"{"a": 1}"#),
            (Codec::Int2, "-32768"),
            (Codec::Int4, "2147483647"),
            (Codec::Int8, "-9223372036854775808"),
            (Codec::Date, "2000-01-01"),
            (Codec::Date, "2024-02-29"),
            (Codec::Date, "1969-12-31"),
            (Codec::Date, "0044-03-15 BC"),
            (Codec::Date, "infinity"),
            (Codec::Date, "-infinity"),
            (Codec::Uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        ] {
            assert_eq!(round_trip(codec, text), text, "{codec:?}");
        }
        // PostgreSQL's own forms: 2000-01-01 is day 0, 1999-12-31 day -1.
        let mut text = String::new();
        assert!(Codec::Date.read(&(-1i32).to_be_bytes(), &mut text));
        assert_eq!(text, "1999-12-31");
        assert!(!Codec::Int4.write("12x", &mut Vec::new()));
        assert!(!Codec::Date.write("2024-13-01", &mut Vec::new()));
        assert!(!Codec::Int2.read(&[0, 0, 0, 1], &mut String::new()), "wrong width");
    }

    #[test]
    fn codecs_follow_the_printed_type() {
        assert_eq!(Codec::of("character varying(80)"), Some(Codec::Text));
        assert_eq!(Codec::of("bigint"), Some(Codec::Int8));
        assert_eq!(Codec::of("date"), Some(Codec::Date));
        assert_eq!(Codec::of("numeric(10,2)"), None, "numerics go as text");
        assert_eq!(Codec::of("timestamp with time zone"), None);
        assert_eq!(Codec::of("text[]"), None);
    }
}
