//! Per-call cost of the FFI layer's owned-runtime hop, Rust to Rust.
//!
//! `Crane::queue_counts()` awaited on a tokio runtime (the Rust async API) is
//! set against `CraneClient::queue_counts_blocking()` (what the Python and
//! Swift bindings call: the work is handed to the bindings' own runtime and
//! the caller blocks on the result). `queue_counts` is a local SQLite read —
//! no network, both clients point at the unreachable `http://127.0.0.1:9` —
//! so the difference is the hop itself. `bindings/python/bench_overhead.py`
//! times the same call from Python.
//!
//! This used to be an ignored test in `tests/ffi.rs`; a measurement belongs
//! here, where it is run on purpose, rather than in the test suite. It is not
//! one of the benchmark issue's six items (see `BENCHMARKS.md`).
//!
//! Run with `cargo bench --features ffi --bench ffi_overhead`.

use std::hint::black_box;
use std::time::Instant;

use crane_context::engine::{Crane, CraneConfig};
use crane_context::ffi::{ClientOptions, CraneClient};
use crane_context::{ClientConfig, RelayKey};
use criterion::{criterion_group, criterion_main, Criterion};

/// Nothing listens here: no request would ever succeed, and `queue_counts`
/// makes none.
const URL: &str = "http://127.0.0.1:9";
/// A well-formed relay key (the same one the tests use).
const KEY: &str = "test-relay-key-0123456789abcdef";

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("create a temporary store directory");
    let mut group = c.benchmark_group("ffi_overhead");

    // The Rust async API, awaited on a multi-thread tokio runtime. The loop
    // runs inside one `block_on` so the runtime entry is not counted per call.
    let rt = tokio::runtime::Runtime::new().expect("build the tokio runtime");
    let cfg = CraneConfig::new(
        ClientConfig::new(URL, RelayKey::new(KEY).expect("valid relay key"))
            .expect("valid client config"),
    )
    .store_path(dir.path().join("direct.db"));
    let crane = rt
        .block_on(Crane::open(cfg))
        .expect("open Crane on a temporary store");
    group.bench_function("rust_async_queue_counts", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    black_box(crane.queue_counts().await.expect("queue_counts"));
                }
                t.elapsed()
            })
        })
    });

    // The FFI object, from a plain thread: every call hops onto the
    // bindings' own runtime and blocks until it answers.
    let client = CraneClient::new(
        URL.into(),
        KEY.into(),
        ClientOptions {
            store_path: Some(dir.path().join("crane.db").display().to_string()),
            ..ClientOptions::default()
        },
        None,
    )
    .expect("open CraneClient on a temporary store");
    group.bench_function("ffi_blocking_queue_counts", |b| {
        b.iter(|| {
            black_box(
                client
                    .queue_counts_blocking()
                    .expect("queue_counts_blocking"),
            )
        })
    });

    group.finish();
    client.shutdown();
    crane.shutdown();
}

criterion_group!(benches, bench);
criterion_main!(benches);
