//! Cluster mode's long-running processes: a Ballista scheduler and its
//! executors, embedded in this binary, so that one download holds the
//! REPL, the scheduler and the executor (`morsel cluster scheduler`,
//! `morsel cluster executor`), or started for one run of a client
//! (`--cluster local:N`, [`local`]). A client reaches them through
//! [`crate::engine::Engine::cluster`].
//!
//! Each process logs one line per event to stderr and stops cleanly on
//! SIGTERM or Ctrl-C. The cluster has no authentication: a process bound
//! to anything but loopback says so.

pub mod executor;
mod faults;
pub mod local;
mod log_lines;
pub mod scheduler;
mod stages;

use std::net::SocketAddr;

/// Warns that `address` is reachable beyond this machine, where anyone who
/// reaches it may run queries and read what the processes read.
fn warn_if_exposed(role: &str, address: &SocketAddr) {
    if !address.ip().is_loopback() {
        eprintln!(
            "warning: the {role} listens on {address}, beyond this machine; \
             a morsel cluster has no authentication: keep it on a private network"
        );
    }
}

/// Waits for SIGTERM or Ctrl-C and names which came.
async fn stop_signal() -> &'static str {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => signal.recv().await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = terminate => "SIGTERM",
    }
}
