//! Fuzz target: `crane_context::fuzzing::emulator_input` (see that function for the
//! properties checked).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crane_context::fuzzing::emulator_input(data));
