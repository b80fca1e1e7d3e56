//! Fuzz target: `crane_context::fuzzing::canonical` (see that function for the
//! properties checked).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crane_context::fuzzing::canonical(data));
