//! A small, fast pseudo-random generator for the volatile functions (`fake_*`, `noise`).
//!
//! These values need to be unpredictable enough that fake data does not repeat between sessions,
//! not cryptographically strong: the extension seeds one generator per backend from PostgreSQL's
//! `pg_strong_random`, and the generator itself is xoshiro256** (public-domain algorithm by
//! Blackman and Vigna), which is quick and well distributed.

/// xoshiro256** state.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// Seeds the generator; the seed is spread with splitmix64 so any 32 bytes work, zeros included.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let mut x = 0u64;
        for chunk in seed.chunks(8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            x ^= u64::from_le_bytes(b);
            x = x.rotate_left(17);
        }
        let mut s = [0u64; 4];
        for (i, word) in s.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&seed[i * 8..i * 8 + 8]);
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x ^ u64::from_le_bytes(b);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            *word = z ^ (z >> 31);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform integer in `0..n` (n > 0), by Lemire's multiply-shift (bias below 2^-64·n).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Uniform float in `[0, 1)`.
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn pick<'a>(&mut self, list: &'a [&'a str]) -> &'a str {
        list[self.below(list.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_for_a_seed_and_spread() {
        let mut a = Rng::from_seed([0; 32]);
        let mut b = Rng::from_seed([0; 32]);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut counts = [0usize; 10];
        for _ in 0..100_000 {
            counts[a.below(10)] += 1;
        }
        assert!(counts.iter().all(|&c| (9_000..11_000).contains(&c)), "{counts:?}");
        let f = a.unit_f64();
        assert!((0.0..1.0).contains(&f));
    }
}
