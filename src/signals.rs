//! Waiting for the process to be asked to stop.
//!
//! Long-running front ends of the SDK (`crane mcp`, the emulator binary)
//! shut down cleanly on SIGINT (Ctrl-C) and, on Unix, SIGTERM (what
//! service managers and agent CLIs send): they drain what is in flight
//! before exiting instead of dying mid-delivery. One function, so every
//! front end treats the same signals the same way.

/// Resolves when the process receives SIGINT or (Unix) SIGTERM. When the
/// SIGTERM handler cannot be installed, only SIGINT is awaited.
pub async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
