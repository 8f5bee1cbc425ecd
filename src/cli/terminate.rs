//! SIGTERM: the running statement is cancelled as Ctrl-C cancels it, then
//! morsel exits with 143 (128 + 15, as a shell reports the signal).
//!
//! `kill`, `timeout` and service managers send SIGTERM. Cancelling drops the
//! statement's future, which removes a COPY's staging directory and the
//! spill files, before the error travels up and morsel ends. Once tokio
//! handles the signal its default action (ending the process) is gone for
//! good, so when no statement runs — the REPL waiting for a line, startup —
//! the listener exits itself; nothing is half-written then.

use std::sync::Mutex;

use tokio::runtime::Runtime;
use tokio::sync::Notify;

use crate::error::{Error, Failure, Result};

struct State {
    requested: bool,
    statements: usize,
}

static STATE: Mutex<State> = Mutex::new(State {
    requested: false,
    statements: 0,
});
static REQUESTED: Notify = Notify::const_new();

/// Listens for SIGTERM on `runtime` from now on.
#[cfg(unix)]
pub fn listen(runtime: &Runtime) -> std::io::Result<()> {
    let _context = runtime.enter();
    let mut signals = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    runtime.spawn(async move {
        if signals.recv().await.is_some() {
            request();
        }
    });
    Ok(())
}

/// There is no SIGTERM to listen for.
#[cfg(not(unix))]
pub fn listen(_runtime: &Runtime) -> std::io::Result<()> {
    Ok(())
}

fn request() {
    let mut state = lock();
    state.requested = true;
    REQUESTED.notify_waiters();
    if state.statements == 0 {
        std::process::exit(Failure::Terminated.exit_status().into());
    }
}

fn lock() -> std::sync::MutexGuard<'static, State> {
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A statement that SIGTERM cancels instead of ending the process; the
/// signal is checked again when it ends, so one that arrives as it
/// finishes still stops morsel.
pub struct Statement {
    counted: bool,
}

impl Statement {
    /// `Err(Error::Terminated)` when SIGTERM came first.
    pub fn start() -> Result<Self> {
        let mut state = lock();
        if state.requested {
            return Err(Error::Terminated);
        }
        state.statements += 1;
        Ok(Self { counted: true })
    }

    /// Resolves when SIGTERM arrives.
    pub async fn terminated(&self) {
        // Registered before the check, so a signal between them is not lost.
        let notified = REQUESTED.notified();
        if lock().requested {
            return;
        }
        notified.await;
    }

    /// The statement's result, or `Err(Error::Terminated)` when SIGTERM
    /// arrived while it ran.
    pub fn finish<T>(mut self, result: Result<T>) -> Result<T> {
        let mut state = lock();
        state.statements -= 1;
        self.counted = false;
        match state.requested {
            true => Err(Error::Terminated),
            false => result,
        }
    }
}

/// A statement dropped unfinished (a panic) is no longer running either.
impl Drop for Statement {
    fn drop(&mut self) {
        if self.counted {
            lock().statements -= 1;
        }
    }
}
