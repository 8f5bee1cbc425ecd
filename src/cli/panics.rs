//! Panics reported as one line, never as Rust's report or a dead session.
//!
//! A panic — morsel's or DataFusion's, on any thread of the runtime — is a
//! bug, not the user's mistake. [`install_quiet_hook`] replaces Rust's hook,
//! which prints `thread '…' panicked at …` over several lines, with one that
//! prints nothing and keeps the first message (`error::record_panic`).
//! Whoever contains the panic reads it back with `error::take_panic`: the
//! runner around each statement (so the REPL lives on and a script exits
//! with 2), `main` around the rest. A reader's panic that morsel caught on
//! purpose to name a corrupt file is not kept (`error::catch_panic`).
//! DataFusion re-raises a panic of one of its tasks where the task's result
//! is awaited, or turns it into an error of its own ("Join Error", "Unknown
//! error writing to object store"); either way the recorded message says
//! what went wrong.

/// From now on a panic prints nothing and is kept for `take_panic`; with
/// `RUST_BACKTRACE` set, Rust's report is printed too, for whoever debugs.
pub fn install_quiet_hook() {
    let rust_report = std::panic::take_hook();
    let debugging = std::env::var("RUST_BACKTRACE").is_ok_and(|v| v != "0");
    std::panic::set_hook(Box::new(move |info| {
        if debugging {
            rust_report(info);
        }
        crate::error::record_panic(info.payload_as_str().unwrap_or("a panic without a message"));
    }));
}
