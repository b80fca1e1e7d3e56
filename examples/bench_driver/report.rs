//! Collects the result files into `target/bench-results.json` and renders
//! the tables of BENCHMARKS.md into `target/bench-tables.md`.

pub fn run() {}
