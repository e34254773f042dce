//! Seeded random streams: one per entity, derived from (scenario seed, stream id).
//!
//! The root is ChaCha8, which has 2^64 independent streams per key: an entity's stream is
//! seeded from ChaCha stream `stream_id` of the scenario seed, so it depends only on the seed
//! and its own id (adding a producer does not shift any broker's draws). The entity then draws
//! from a xoshiro256++ generator seeded with the first 32 bytes of that stream: 32 bytes of
//! state instead of ChaCha's 320-byte block buffer, so a fleet's random state stays in cache.
//! Both algorithms are defined bit for bit, so every platform draws the same numbers.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

pub type RngStream = Xoshiro256PlusPlus;

pub fn stream_rng(seed: u64, stream_id: u64) -> RngStream {
    let mut root = ChaCha8Rng::seed_from_u64(seed);
    root.set_stream(stream_id);
    Xoshiro256PlusPlus::from_rng(&mut root).expect("ChaCha never fails")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a1: u64 = stream_rng(7, 1).r#gen();
        let a2: u64 = stream_rng(7, 1).r#gen();
        let b: u64 = stream_rng(7, 2).r#gen();
        let c: u64 = stream_rng(8, 1).r#gen();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, c);
    }

    #[test]
    fn draws_are_pinned_across_platforms_and_versions() {
        // A change here changes every run's figures: regenerate the golden files on purpose.
        let mut rng = stream_rng(1, 42);
        let draws: [u64; 3] = std::array::from_fn(|_| rng.r#gen());
        assert_eq!(draws, [4945043272868985933, 8701297733129148107, 3283472296167562578]);
    }
}
