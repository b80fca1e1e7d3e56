//! Item 6 of the benchmark issue: canonical JSON (RFC 8785) + SHA-256 of a
//! handoff payload, next to plain `serde_json::to_vec` + SHA-256 of the same
//! value, for payloads of about 1 KiB, 64 KiB and 800 KiB (the server's limit).
//!
//! Throughput is counted in canonical payload bytes for both sides, so the MB/s
//! figures compare like for like. `scripts/bench.sh` reads the medians from
//! `target/criterion/canonical/*/*/new/estimates.json`.

use crane_context::canonical::{CanonicalPayload, MAX_PAYLOAD_BYTES};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sha2::{Digest, Sha256};
use std::hint::black_box;

/// The payloads the benchmark driver sends too (one definition for both).
#[path = "../examples/bench_driver/payload.rs"]
mod payload;
use payload::payload_of;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("canonical");
    for (label, target) in [
        ("1KiB", 1024),
        ("64KiB", 64 * 1024),
        ("800KiB", MAX_PAYLOAD_BYTES - 1024),
    ] {
        let value = payload_of(target);
        let size = CanonicalPayload::new(&value).expect("payload").size_bytes();
        group.throughput(Throughput::Bytes(size as u64));
        if size > 100_000 {
            group.sample_size(30);
        } else {
            group.sample_size(100);
        }
        group.bench_with_input(BenchmarkId::new("jcs_sha256", label), &value, |b, v| {
            b.iter(|| {
                let p = CanonicalPayload::new(black_box(v)).expect("canonical");
                black_box(p.hash().len())
            })
        });
        // The implementation before the one-pass rewrite (the reference crate), for the record.
        group.bench_with_input(
            BenchmarkId::new("jcs_crate_sha256", label),
            &value,
            |b, v| {
                b.iter(|| {
                    let text = serde_json_canonicalizer::to_string(black_box(v)).expect("jcs");
                    let digest = Sha256::digest(text.as_bytes());
                    black_box((text.len(), digest))
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("to_vec_sha256", label), &value, |b, v| {
            b.iter(|| {
                let bytes = serde_json::to_vec(black_box(v)).expect("to_vec");
                let digest = Sha256::digest(&bytes);
                black_box((bytes.len(), digest))
            })
        });
        eprintln!("canonical/{label}: {size} canonical bytes");
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
