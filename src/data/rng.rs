//! The randomness of generated data: a counter-based generator keyed by (seed, table, column, row).
//!
//! Every value dbtwin generates is a pure function of those four things. A column's key is a hash
//! of the seed and the names; a row's stream starts from that key mixed with the row number. No
//! state is carried from row to row, so rows can be generated in any order, on any number of
//! threads, on any machine, and the same row always gets the same values. The masking issue reuses
//! this with an original value in place of the row number.

use std::convert::Infallible;

/// SplitMix64's finaliser: a bijection on `u64` with good avalanche. Bijective matters: it is also
/// how unique values are made by construction (`permute`).
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// FNV-1a over `parts`, separated so `("ab", "c")` and `("a", "bc")` differ, then mixed.
pub fn key(seed: u64, parts: &[&str]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ mix(seed);
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    mix(hash)
}

/// The random stream of one (column key, row). Implements `rand`'s traits so `fake`'s generators
/// can draw from it (`fake_with_rng`).
#[derive(Clone, Debug)]
pub struct RowRng {
    state: u64,
}

impl RowRng {
    pub fn new(column_key: u64, row: u64) -> Self {
        Self { state: mix(column_key ^ row.wrapping_mul(GOLDEN)) }
    }

    #[inline]
    pub fn draw(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix(self.state)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift: no modulo bias worth the name at these sizes.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.draw()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.draw() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal, by Box-Muller.
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Zipf-like: an index in `0..n` where low indices are much more likely, from the inverse CDF of
    /// a bounded power law with exponent `skew` (> 0; about 1 is the classic Zipf shape).
    pub fn zipf(&mut self, n: u64, skew: f64) -> u64 {
        let u = self.unit();
        let n1 = n as f64 + 1.0;
        let x = if (skew - 1.0).abs() < 1e-9 {
            n1.powf(u)
        } else {
            let e = 1.0 - skew;
            ((n1.powf(e) - 1.0) * u + 1.0).powf(1.0 / e)
        };
        ((x - 1.0) as u64).min(n - 1)
    }
}

impl rand::TryRng for RowRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.draw() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.draw())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.draw().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

/// A bijection of `0..n` onto itself, keyed: `row → (a·row + b) mod n` with `a` coprime to `n`.
/// Unique values come from it by construction (distinct rows, distinct results), without a set of
/// values seen or retries.
#[derive(Clone, Copy, Debug)]
pub struct Permutation {
    n: u64,
    a: u64,
    b: u64,
}

impl Permutation {
    pub fn new(key: u64, n: u64) -> Self {
        // Generators ask for the same few permutations row after row: remembered per thread, as
        // finding a coprime multiplier costs more than the rest of a row's value.
        thread_local! {
            static RECENT: std::cell::RefCell<[(u64, u64, Permutation); 8]> =
                const { std::cell::RefCell::new([(0, 0, Permutation { n: 0, a: 0, b: 0 }); 8]) };
        }
        let n = n.max(1);
        let slot = (mix(key ^ n) & 7) as usize;
        if let Some(found) = RECENT.with_borrow(|r| {
            let (k, m, p) = r[slot];
            (k == key && m == n && p.n != 0).then_some(p)
        }) {
            return found;
        }
        let made = Self::make(key, n);
        RECENT.with_borrow_mut(|r| r[slot] = (key, n, made));
        made
    }

    fn make(key: u64, n: u64) -> Self {
        let mut a = (mix(key) % n).max(1);
        while gcd(a, n) != 1 {
            a = a % n + 1;
        }
        Self { n, a, b: mix(key ^ GOLDEN) % n }
    }

    #[inline]
    pub fn apply(&self, row: u64) -> u64 {
        ((u128::from(self.a) * u128::from(row % self.n) + u128::from(self.b)) % u128::from(self.n))
            as u64
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_stream_depends_only_on_its_key_and_row() {
        let k = key(42, &["users", "email"]);
        let a: Vec<u64> = (0..4).map(|_| RowRng::new(k, 7).draw()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(RowRng::new(k, 7).draw(), RowRng::new(k, 8).draw());
        assert_ne!(key(42, &["ab", "c"]), key(42, &["a", "bc"]));
        assert_ne!(key(42, &["users"]), key(43, &["users"]));
    }

    #[test]
    fn permutations_are_bijections() {
        for n in [1_u64, 2, 10, 97, 1000, 1024] {
            let p = Permutation::new(key(1, &["t", &n.to_string()]), n);
            let mut seen: Vec<u64> = (0..n).map(|r| p.apply(r)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n = {n}");
        }
    }

    #[test]
    fn zipf_stays_in_range_and_favours_low_indices() {
        let mut low = 0;
        for row in 0..10_000 {
            let i = RowRng::new(5, row).zipf(1000, 1.1);
            assert!(i < 1000);
            low += u32::from(i < 100);
        }
        // A uniform pick would put about 1,000 of 10,000 below 100.
        assert!(low > 5_000, "{low}");
    }
}
