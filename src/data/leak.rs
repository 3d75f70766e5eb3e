//! The originals the second leak check looks for: every value of the source's high-cardinality
//! personal columns, remembered as keyed 64-bit fingerprints (never as text), case folded.
//!
//! A masked copy of a large source keeps them in a blocked Bloom filter of bounded size: memory
//! does not grow with the source, and a cell that is not an original is told apart at once
//! (whole, or word by word). What the filter calls a match is only a suspect: its fingerprint is
//! remembered, and before the copy commits the originals are read once more and each suspect is
//! confirmed or dismissed exactly ([`confirm`]). A source small enough to read into memory
//! anyway (a Redis keyspace) keeps the fingerprints sorted instead, and its matches are certain.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::mask::MaskKey;

/// Characters that end a word: a cell holds an original when the whole cell or one of its words
/// is one.
const SEPARATORS: &[u8] = b" \t\r\n,;:=/?&!#<>()[]{}\"'|";

/// The Bloom filter's size bounds: at least 64 KiB, at most 4 MiB (2^25 bits, an eighth of the
/// L3 cache here: a value costs one cache miss), else 16 bits per expected value (a false
/// suspect about once in a few thousand words; each costs only a look among the originals read
/// again).
const MIN_BITS: usize = 1 << 19;
const MAX_BITS: usize = 1 << 25;
const BITS_PER_VALUE: usize = 16;
/// Bits set per value, all in one 512-bit block (one cache line).
const PROBES: u32 = 8;

pub struct Originals {
    key: Option<Arc<MaskKey>>,
    set: Set,
    /// Whether some original has this many bytes (most words are dismissed by their length
    /// before any hashing).
    lengths: [bool; 257],
    count: u64,
}

enum Set {
    /// Sorted and deduplicated once sealed; matches are certain.
    Exact(Vec<u64>),
    /// 512-bit blocks; matches are suspects.
    Bloom(Vec<[u64; 8]>),
}

impl Originals {
    /// Exact fingerprints, for sources read into memory anyway.
    pub fn exact() -> Originals {
        Originals { key: None, set: Set::Exact(Vec::new()), lengths: [false; 257], count: 0 }
    }

    /// A filter of bounded size for about `expected` values.
    pub fn bounded(expected: u64) -> Originals {
        let wanted = (expected as usize)
            .saturating_mul(BITS_PER_VALUE)
            .checked_next_power_of_two()
            .unwrap_or(MAX_BITS);
        let bits = wanted.clamp(MIN_BITS, MAX_BITS);
        Originals {
            key: None,
            set: Set::Bloom(vec![[0u64; 8]; bits / 512]),
            lengths: [false; 257],
            count: 0,
        }
    }

    pub fn add(&mut self, key: &Arc<MaskKey>, value: &[u8]) {
        self.key.get_or_insert_with(|| key.clone());
        if !distinctive(value) {
            return;
        }
        let print = fingerprint(key, value);
        match &mut self.set {
            Set::Exact(prints) => prints.push(print),
            Set::Bloom(blocks) => {
                let (block, bits) = probe(print, blocks.len());
                for (word, mask) in blocks[block].iter_mut().zip(bits) {
                    *word |= mask;
                }
            }
        }
        self.lengths[value.len().min(256)] = true;
        self.count += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn seal(&mut self) {
        if let Set::Exact(prints) = &mut self.set {
            prints.sort_unstable();
            prints.dedup();
        }
    }

    /// The fingerprint of `value` when it may be an original.
    fn matches(&self, value: &[u8]) -> Option<u64> {
        let key = self.key.as_ref()?;
        if !self.lengths[value.len().min(256)] {
            return None;
        }
        let print = fingerprint(key, value);
        let hit = match &self.set {
            Set::Exact(prints) => prints.binary_search(&print).is_ok(),
            Set::Bloom(blocks) => {
                let (block, bits) = probe(print, blocks.len());
                blocks[block].iter().zip(bits).all(|(word, mask)| word & mask == mask)
            }
        };
        hit.then_some(print)
    }

    /// Calls `found` with the fingerprint of the value, or of the first of its words, that may
    /// be an original.
    pub fn suspects_in_text(&self, text: &[u8], mut found: impl FnMut(u64)) {
        if self.count == 0 {
            return;
        }
        if let Some(print) = candidates(text).find_map(|c| self.matches(c)) {
            found(print);
        }
    }

    /// Whether a value holds an original, whole or as a word (certain only for
    /// [`exact`](Self::exact) originals).
    pub fn found_in_text(&self, text: &str) -> bool {
        let mut found = false;
        self.suspects_in_text(text.as_bytes(), |_| found = true);
        found
    }
}

/// Suspects of one table's copy, per column: fingerprint → cells.
#[derive(Default)]
pub struct Suspects {
    pub columns: Vec<HashMap<u64, u64>>,
}

impl Suspects {
    pub fn new(columns: usize) -> Suspects {
        Suspects { columns: vec![HashMap::new(); columns] }
    }

    pub fn add(&mut self, column: usize, print: u64) {
        self.add_cells(column, print, 1);
    }

    pub fn add_cells(&mut self, column: usize, print: u64, cells: u64) {
        *self.columns[column].entry(print).or_default() += cells;
    }

    pub fn merge(&mut self, other: Suspects) {
        for (mine, theirs) in self.columns.iter_mut().zip(other.columns) {
            for (print, cells) in theirs {
                *mine.entry(print).or_default() += cells;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.columns.iter().all(HashMap::is_empty)
    }

    /// The fingerprints to look for among the originals.
    pub fn prints(&self) -> HashSet<u64> {
        self.columns.iter().flat_map(|c| c.keys().copied()).collect()
    }

    /// Cells per column whose suspect is among `confirmed`.
    pub fn cells(&self, confirmed: &HashSet<u64>) -> Vec<u64> {
        self.columns
            .iter()
            .map(|c| c.iter().filter(|(p, _)| confirmed.contains(p)).map(|(_, n)| n).sum())
            .collect()
    }
}

/// One original read again: a suspect it matches is confirmed.
pub fn confirm(key: &MaskKey, suspects: &HashSet<u64>, confirmed: &mut HashSet<u64>, value: &[u8]) {
    let print = fingerprint(key, value);
    if suspects.contains(&print) {
        confirmed.insert(print);
    }
}

/// What of a cell may be an original: the whole cell, then each of its words; only those that
/// are [`distinctive`].
pub fn candidates(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let words = text.split(|b| SEPARATORS.contains(b));
    std::iter::once(text)
        .chain(words.filter(move |w| !w.is_empty() && w.len() < text.len()))
        .filter(|c| distinctive(c))
}

/// Whether a value can be a high-cardinality personal value, and so is looked for: every email
/// holds an `@`, every phone number, card number, IBAN and national id a digit. Placeholders
/// that fill such columns in production (`n/a`, `unknown`, `none`) hold neither, and are not
/// looked for: finding `unknown` in a notes column is no leak, and looking for every status
/// word a table holds among the originals cost a scan of the source per table. Values with any
/// other than ASCII (digits of other scripts) are looked for.
pub fn distinctive(value: &[u8]) -> bool {
    value.iter().any(|&b| b.is_ascii_digit() || b == b'@' || !b.is_ascii())
}

/// The keyed fingerprint of a value, case folded: `Alice@Example.com` is `alice@example.com`.
pub fn fingerprint(key: &MaskKey, value: &[u8]) -> u64 {
    if value.iter().any(u8::is_ascii_uppercase) {
        key.fingerprint(&value.to_ascii_lowercase())
    } else {
        key.fingerprint(value)
    }
}

/// The block of a fingerprint and the bits it sets there: 9-bit slices of two mixes of it.
fn probe(print: u64, blocks: usize) -> (usize, [u64; 8]) {
    let block = ((print >> 32) as usize * blocks) >> 32;
    let (m1, m2) = (mix(print), mix(print ^ 0x9e37_79b9_7f4a_7c15));
    let mut bits = [0u64; 8];
    for i in 0..PROBES {
        let bit = if i < 7 { (m1 >> (9 * i)) & 511 } else { m2 & 511 };
        bits[(bit / 64) as usize] |= 1 << (bit % 64);
    }
    (block, bits)
}

/// SplitMix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::bulk::unescape;

    fn key() -> Arc<MaskKey> {
        Arc::new(MaskKey::derive(b"k"))
    }

    #[test]
    fn placeholders_are_not_looked_for() {
        for mut originals in [Originals::exact(), Originals::bounded(4)] {
            for value in ["unknown", "n/a", "x7", "bob@host", "Zoë"] {
                originals.add(&key(), value.as_bytes());
            }
            originals.seal();
            for cell in ["unknown", "status: n/a"] {
                assert!(!originals.found_in_text(cell), "{cell}");
            }
            for cell in ["code x7", "BOB@host", "Zoë"] {
                assert!(originals.found_in_text(cell), "{cell}");
            }
        }
        let found: Vec<&[u8]> = candidates(b"paid to bob@host on 2024").collect();
        assert_eq!(found, [&b"paid to bob@host on 2024"[..], b"bob@host", b"2024"]);
        assert_eq!(candidates(b"shipped").count(), 0);
    }

    #[test]
    fn originals_are_found_whole_as_words_and_whatever_their_case() {
        for mut originals in [Originals::exact(), Originals::bounded(2)] {
            originals.add(&key(), b"alice@example.com");
            originals.add(&key(), b"+1 (555) 010-4477");
            originals.seal();
            for cell in [
                "alice@example.com",
                "Alice@Example.COM",
                "write to alice@example.com today",
                "mailto:alice@example.com",
                "{\"contact\":\"alice@example.com\"}",
                "email=alice@example.com&x=1",
                "+1 (555) 010-4477",
            ] {
                assert!(originals.found_in_text(cell), "{cell}");
            }
            for cell in ["bob@example.com", "alice@example.co", "", "malice@example.com"] {
                assert!(!originals.found_in_text(cell), "{cell}");
            }
            // Escaped cells as the bulk format carries them, once unescaped.
            assert!(originals.found_in_text(&unescape(b"line\\nalice@example.com")));
        }
    }

    #[test]
    fn the_filter_stays_bounded_finds_every_original_and_few_others() {
        let key = key();
        let n = 300_000u64;
        let mut originals = Originals::bounded(n);
        let Set::Bloom(blocks) = &originals.set else { unreachable!() };
        assert_eq!(blocks.len() * 512, (n as usize * BITS_PER_VALUE).next_power_of_two());
        for i in 0..n {
            originals.add(&key, format!("person{i}@example.com").as_bytes());
        }
        assert!((0..n).all(|i| originals.found_in_text(&format!("person{i}@example.com"))));
        let strangers = (n..n + 200_000)
            .filter(|i| originals.found_in_text(&format!("person{i}@example.com")))
            .count();
        // 16 bits per value (rounded up) and 8 probes in a cache line: about 1 in 10^4 or fewer.
        assert!(strangers < 100, "{strangers} false suspects in 200,000");
        // Far more values than the largest filter was sized for: still bounded, still complete.
        let Set::Bloom(blocks) = &Originals::bounded(1 << 40).set else { unreachable!() };
        assert_eq!(blocks.len() * 512, MAX_BITS);
    }

    #[test]
    fn suspects_are_confirmed_only_by_a_real_original() {
        let key = key();
        let mut suspects = Suspects::new(2);
        let print = |v: &str| fingerprint(&key, v.as_bytes());
        suspects.add(0, print("alice@example.com"));
        suspects.add(0, print("alice@example.com"));
        suspects.add(1, print("not-an-original"));
        let mut confirmed = HashSet::new();
        for original in ["bob@example.com", "ALICE@example.com"] {
            confirm(&key, &suspects.prints(), &mut confirmed, original.as_bytes());
        }
        assert_eq!(suspects.cells(&confirmed), vec![2, 0]);
    }
}
