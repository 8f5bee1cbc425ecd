//! Panics reported as one line, never as Rust's report or a dead session.
//!
//! A panic — morsel's or DataFusion's, on any thread of the runtime — is a
//! bug, not the user's mistake. [`install_quiet_hook`] replaces Rust's hook,
//! which prints `thread '…' panicked at …` over several lines, with one that
//! prints nothing and keeps the first message. Whoever contains the panic
//! reads it back with [`take`]: the runner around each statement (so the
//! REPL lives on and a script exits with 2), `main` around the rest.
//! DataFusion re-raises a panic of one of its tasks where the task's result
//! is awaited, or turns it into an error of its own ("Join Error", "Unknown
//! error writing to object store"); either way the recorded message says
//! what went wrong.

use std::any::Any;
use std::sync::Mutex;

/// The first panic's message since the last [`take`].
static FIRST: Mutex<Option<String>> = Mutex::new(None);

/// From now on a panic prints nothing and is kept for [`take`]; with
/// `RUST_BACKTRACE` set, Rust's report is printed too, for whoever debugs.
pub fn install_quiet_hook() {
    let rust_report = std::panic::take_hook();
    let debugging = std::env::var("RUST_BACKTRACE").is_ok_and(|v| v != "0");
    std::panic::set_hook(Box::new(move |info| {
        if debugging {
            rust_report(info);
        }
        let message = one_line(info.payload_as_str().unwrap_or("a panic without a message"));
        FIRST
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get_or_insert(message);
    }));
}

/// The message of the first panic since the last call, if there was one.
pub fn take() -> Option<String> {
    FIRST
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
}

/// What a caught panic says, for when no hook kept its message.
pub fn message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    one_line(text)
}

/// `assert_eq!` and others write several lines; an error is one.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assertion_becomes_one_line() {
        let payload: Box<dyn Any + Send> = Box::new(
            "assertion `left == right` failed: one argument\n  left: 2\n right: 1".to_string(),
        );
        assert_eq!(
            message(&*payload),
            "assertion `left == right` failed: one argument, left: 2, right: 1"
        );
        let payload: Box<dyn Any + Send> = Box::new(7_u8);
        assert_eq!(message(&*payload), "a panic without a message");
    }
}
