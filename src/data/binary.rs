//! PostgreSQL's binary forms of the types a masked column may have in a binary copy, read as the
//! text the masking rules take (the text PostgreSQL itself prints for the value) and written back
//! from the text they return. A table with a masked column of any other type travels as text
//! (timestamps among them: a `timestamptz`'s text depends on the reading session's time zone).

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
    /// Base-10000 digits: their count, the first one's weight, the sign (or NaN, ±Infinity), the
    /// display scale, then the digits.
    Numeric,
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
            "numeric" => Some(Codec::Numeric),
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
            Codec::Numeric => return read_numeric(bytes, out),
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
        // Every masked value of a binary table comes here: fixed-size forms go out without an
        // allocation of their own.
        let written = match self {
            Codec::Text => Some(push(out, text.as_bytes())),
            Codec::Jsonb => {
                let length = i32::try_from(text.len() + 1).unwrap_or(i32::MAX);
                out.extend_from_slice(&length.to_be_bytes());
                out.push(1);
                out.extend_from_slice(text.as_bytes());
                Some(true)
            }
            Codec::Int2 => text.parse::<i16>().ok().map(|n| push(out, &n.to_be_bytes())),
            Codec::Int4 => text.parse::<i32>().ok().map(|n| push(out, &n.to_be_bytes())),
            Codec::Int8 => text.parse::<i64>().ok().map(|n| push(out, &n.to_be_bytes())),
            Codec::Date => date(text).map(|days| push(out, &days.to_be_bytes())),
            Codec::Numeric => numeric(text).map(|bytes| push(out, &bytes)),
            Codec::Uuid => uuid(text).map(|bytes| push(out, &bytes)),
        };
        written.is_some()
    }
}

/// The 16 bytes of a uuid's text (hex digits, dashes anywhere).
fn uuid(text: &str) -> Option<[u8; 16]> {
    let mut bytes = [0u8; 16];
    let mut digits = text.bytes().filter(|&b| b != b'-').map(|b| (b as char).to_digit(16));
    for byte in &mut bytes {
        let (high, low) = (digits.next()??, digits.next()??);
        *byte = (high * 16 + low) as u8;
    }
    digits.next().is_none().then_some(bytes)
}

const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;

/// A numeric's text as PostgreSQL prints it: the integer part without leading zeros (`0` when
/// there is none), then exactly the display scale's digits.
fn read_numeric(bytes: &[u8], out: &mut String) -> bool {
    let word = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let (Some(count), Some(weight), Some(sign), Some(scale)) = (word(0), word(2), word(4), word(6))
    else {
        return false;
    };
    let (count, weight, scale) = (usize::from(count), i64::from(weight as i16), usize::from(scale));
    if bytes.len() != 8 + 2 * count {
        return false;
    }
    match sign {
        NUMERIC_NAN => return push_str(out, "NaN"),
        NUMERIC_PINF => return push_str(out, "Infinity"),
        NUMERIC_NINF => return push_str(out, "-Infinity"),
        0 | NUMERIC_NEG => {}
        _ => return false,
    }
    let digits: Vec<u16> = (0..count).filter_map(|i| word(8 + 2 * i)).collect();
    if digits.iter().any(|&d| d >= 10_000) {
        return false;
    }
    // The group of weight `w` (10000^w), zero outside the stored digits.
    let group = |w: i64| -> u16 {
        let at = weight - w;
        usize::try_from(at).ok().and_then(|i| digits.get(i).copied()).unwrap_or(0)
    };
    if sign == NUMERIC_NEG {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        out.push_str(&group(weight).to_string());
        for w in (0..weight).rev() {
            out.push_str(&format!("{:04}", group(w)));
        }
    }
    if scale > 0 {
        out.push('.');
        let mut fraction = String::with_capacity(scale + 4);
        let mut w = -1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", group(w)));
            w -= 1;
        }
        out.push_str(&fraction[..scale]);
    }
    true
}

/// The binary form of a numeric's text (`-12.50`, `NaN`, `Infinity`); `None` for other text (an
/// exponent included: PostgreSQL never prints one).
fn numeric(text: &str) -> Option<Vec<u8>> {
    let special = match text {
        "NaN" => Some(NUMERIC_NAN),
        "Infinity" => Some(NUMERIC_PINF),
        "-Infinity" => Some(NUMERIC_NINF),
        _ => None,
    };
    if let Some(sign) = special {
        return Some([0u16, 0, sign, 0].iter().flat_map(|w| w.to_be_bytes()).collect());
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits_only(int) || !digits_only(fraction) {
        return None;
    }
    let scale = u16::try_from(fraction.len()).ok()?;
    // Groups of 4 digits aligned on the decimal point.
    let int = int.trim_start_matches('0');
    let pad = (4 - int.len() % 4) % 4;
    let int = format!("{}{int}", "0".repeat(pad));
    let fraction = format!("{fraction}{}", "0".repeat((4 - fraction.len() % 4) % 4));
    let parse = |s: &str| s.bytes().fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    let mut groups: Vec<u16> = int
        .as_bytes()
        .chunks(4)
        .chain(fraction.as_bytes().chunks(4))
        .map(|c| parse(std::str::from_utf8(c).unwrap_or("0")))
        .collect();
    let mut weight = i64::try_from(int.len() / 4).ok()? - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    let sign = if negative && !groups.is_empty() { NUMERIC_NEG } else { 0 };
    if groups.is_empty() {
        weight = 0;
    }
    let count = u16::try_from(groups.len()).ok()?;
    let weight = i16::try_from(weight).ok()? as u16;
    let mut bytes = Vec::with_capacity(8 + 2 * groups.len());
    for word in [count, weight, sign, scale].into_iter().chain(groups) {
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    Some(bytes)
}

fn push_str(out: &mut String, text: &str) -> bool {
    out.push_str(text);
    true
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
    // PostgreSQL's range: 4714-11-24 BC to 5874897-12-31.
    if !(1..=12).contains(&month) || year < 1 || year > if bc { 4714 } else { 5_874_897 } {
        return None;
    }
    let leap = |y: i64| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let length = match month {
        2 if leap(if bc { 1 - year } else { year }) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=length).contains(&day) {
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
            (Codec::Numeric, "0"),
            (Codec::Numeric, "0.00"),
            (Codec::Numeric, "-12.50"),
            (Codec::Numeric, "123456789.0001"),
            (Codec::Numeric, "10000"),
            (Codec::Numeric, "0.000012"),
            (Codec::Numeric, "-99999999999999999999.999999999"),
            (Codec::Numeric, "NaN"),
            (Codec::Numeric, "Infinity"),
            (Codec::Numeric, "-Infinity"),
        ] {
            assert_eq!(round_trip(codec, text), text, "{codec:?}");
        }
        // PostgreSQL's own forms: 2000-01-01 is day 0, 1999-12-31 day -1.
        let mut text = String::new();
        assert!(Codec::Date.read(&(-1i32).to_be_bytes(), &mut text));
        assert_eq!(text, "1999-12-31");
        assert!(!Codec::Int4.write("12x", &mut Vec::new()));
        assert!(!Codec::Date.write("2024-13-01", &mut Vec::new()));
        assert!(!Codec::Date.write("2023-02-29", &mut Vec::new()), "no such day");
        assert!(!Codec::Date.write("99999999-01-01", &mut Vec::new()), "beyond PostgreSQL's range");
        assert_eq!(round_trip(Codec::Date, "2024-02-29"), "2024-02-29");
        assert!(!Codec::Int2.read(&[0, 0, 0, 1], &mut String::new()), "wrong width");
        // PostgreSQL's form of 1234.5 (scale 2): digits 1234 and 5000 of weights 0 and -1.
        let mut text = String::new();
        let form: Vec<u8> =
            [2u16, 0, 0, 2, 1234, 5000].iter().flat_map(|w| w.to_be_bytes()).collect();
        assert!(Codec::Numeric.read(&form, &mut text));
        assert_eq!(text, "1234.50");
        assert_eq!(numeric("1234.50").unwrap(), form);
        assert_eq!(numeric("1e5"), None, "PostgreSQL never prints an exponent");
    }

    #[test]
    fn codecs_follow_the_printed_type() {
        assert_eq!(Codec::of("character varying(80)"), Some(Codec::Text));
        assert_eq!(Codec::of("bigint"), Some(Codec::Int8));
        assert_eq!(Codec::of("date"), Some(Codec::Date));
        assert_eq!(Codec::of("numeric(10,2)"), Some(Codec::Numeric));
        assert_eq!(Codec::of("real"), None, "floats go as text");
        assert_eq!(Codec::of("timestamp with time zone"), None);
        assert_eq!(Codec::of("text[]"), None);
    }
}
