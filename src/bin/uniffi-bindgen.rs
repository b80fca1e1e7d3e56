//! `uniffi-bindgen`: generates the Python and Swift sources of the bindings.
//!
//! uniffi's generator must be the exact uniffi version the library was built
//! with, or the generated code fails its checksum check at import. Shipping it
//! as a binary of this crate (feature `uniffi-cli`) pins it through
//! `Cargo.lock`; maturin finds and runs it by name for the Python wheel, and
//! `bindings/swift/generate.sh` runs it for Swift. Always generate in library
//! mode from the unstripped library:
//!
//! ```sh
//! cargo run --features uniffi-cli --bin uniffi-bindgen -- \
//!     generate --library target/debug/libcrane_context.so --language swift --out-dir out
//! ```

fn main() {
    uniffi::uniffi_bindgen_main();
}
