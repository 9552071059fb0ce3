//! What envelope encryption costs over raw AES-256-GCM on the same bytes.
//!
//! `cargo bench -p phigate-crypto` seals and opens 1 KB and 1 MB records through the keyring
//! (patient key from the cache, a fresh data key per record, the data key wrapped, the value
//! bound to its context) and with one AES-256-GCM key directly (random nonce, same buffer
//! handling), and prints the time per operation of each and their ratio. Each figure is the
//! median of several timed rounds. `PHIGATE_BENCH_SECONDS` (default 1) bounds each round set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark prints its figures and stops on any failure"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{AES_256_GCM, Aad, Nonce, RandomizedNonceKey};
use phigate_crypto::{AadContext, KeyMaterial, Keyring, LocalKms, MemoryKeyRepository};

const ROUNDS: usize = 7;

/// Median time of one call of `op`, over `ROUNDS` rounds sized to fill `budget` in total.
fn per_op(budget: Duration, mut op: impl FnMut()) -> Duration {
    let start = Instant::now();
    op();
    let one = start.elapsed().max(Duration::from_nanos(50));
    let per_round = budget / ROUNDS as u32;
    let iterations = (per_round.as_nanos() / one.as_nanos()).clamp(3, 1_000_000) as u32;
    let mut times: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                op();
            }
            start.elapsed() / iterations
        })
        .collect();
    times.sort();
    times[ROUNDS / 2]
}

fn raw_seal(key: &RandomizedNonceKey, data: &[u8]) -> (Nonce, Vec<u8>) {
    let mut buffer = data.to_vec();
    let nonce = key
        .seal_in_place_append_tag(Aad::from(b"aad"), &mut buffer)
        .unwrap();
    (nonce, buffer)
}

fn main() {
    let seconds: u64 = std::env::var("PHIGATE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let budget = Duration::from_secs(seconds);

    let kms = Arc::new(LocalKms::from_key(KeyMaterial::generate().unwrap()));
    let keyring = Keyring::new(kms, Arc::new(MemoryKeyRepository::new()));
    let ctx = AadContext::patient("clinic", "patient-ref", "Observation/obs-1", "body");
    let raw_key_bytes = KeyMaterial::generate().unwrap();
    let raw_key = RandomizedNonceKey::new(&AES_256_GCM, raw_key_bytes.expose_secret()).unwrap();

    println!("record   op       raw AES-256-GCM   envelope        ratio");
    for (label, size) in [("1 KB", 1024), ("1 MB", 1024 * 1024)] {
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();

        let sealed = keyring.seal(&ctx, &data).unwrap();
        assert_eq!(keyring.open(&ctx, &sealed).unwrap().as_slice(), data);
        let (nonce_bytes, raw_sealed) = {
            let (nonce, sealed) = raw_seal(&raw_key, &data);
            (*nonce.as_ref(), sealed)
        };

        let raw_enc = per_op(budget, || {
            black_box(raw_seal(&raw_key, black_box(&data)));
        });
        let env_enc = per_op(budget, || {
            black_box(keyring.seal(&ctx, black_box(&data)).unwrap());
        });
        let raw_dec = per_op(budget, || {
            let mut buffer = raw_sealed.clone();
            let nonce = Nonce::assume_unique_for_key(nonce_bytes);
            let plain = raw_key
                .open_in_place(nonce, Aad::from(b"aad"), &mut buffer)
                .unwrap();
            black_box(plain.len());
        });
        let env_dec = per_op(budget, || {
            black_box(keyring.open(&ctx, black_box(&sealed)).unwrap());
        });

        for (op, raw, env) in [("encrypt", raw_enc, env_enc), ("decrypt", raw_dec, env_dec)] {
            println!(
                "{label:<8} {op:<8} {:>12.1} us   {:>12.1} us   {:>5.2}x",
                raw.as_secs_f64() * 1e6,
                env.as_secs_f64() * 1e6,
                env.as_secs_f64() / raw.as_secs_f64()
            );
        }
    }
}
