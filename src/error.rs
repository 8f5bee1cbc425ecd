//! morsel's error type and its constructors.
//!
//! Every error a user sees is a single line. Errors about SQL carry a
//! [`Location`] inside the statement so a script runner can turn it into
//! `FILE:LINE:COL`. Turning an engine (DataFusion) error into one of these
//! is the session's diagnosis, not this module's: the layers below the
//! session speak DataFusion's errors.

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::task::Poll;

/// A 1-based line and column inside a piece of SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: u64,
    pub column: u64,
}

impl Location {
    /// This location, given relative to text that starts at `origin`.
    pub fn offset_by(self, origin: Location) -> Location {
        if self.line == 1 {
            Location {
                line: origin.line,
                column: origin.column + self.column - 1,
            }
        } else {
            Location {
                line: origin.line + self.line - 1,
                column: self.column,
            }
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Everything that can go wrong in morsel.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A statement failed to parse, plan or run.
    #[error("{message}")]
    Query {
        message: String,
        location: Option<Location>,
    },
    /// The command line or a backslash command was wrong.
    #[error("{0}")]
    Usage(String),
    /// A file morsel reads or writes itself (scripts, output, history).
    #[error("{path}: {source}")]
    File { path: String, source: io::Error },
    /// Writing results failed; a closed pipe is reported as success by `main`.
    #[error("cannot write output: {0}")]
    Output(#[source] io::Error),
    /// The user pressed Ctrl-C.
    #[error("query cancelled")]
    Cancelled,
    /// SIGTERM asked morsel to stop while a statement ran.
    #[error("query cancelled: morsel was asked to stop (SIGTERM)")]
    Terminated,
    /// A cluster process could not start, or stopped on an error.
    #[error("{0}")]
    Cluster(String),
    /// A panic: a bug in morsel or DataFusion, not in the query.
    #[error("internal error: {0} (please report it)")]
    Internal(String),
    /// Failed, and the details (a script's `FILE:LINE:COL`, a benchmark's
    /// table) were already printed; how it failed sets the exit status.
    #[error("failed")]
    Reported(Failure),
}

/// How a run whose failure was already reported ends, mildest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    /// A statement or command failed.
    Failed,
    /// One hit an internal error.
    Internal,
    /// Ctrl-C stopped it.
    Interrupted,
    /// SIGTERM stopped it.
    Terminated,
}

impl Failure {
    /// The process's exit status: a signal's as a shell reports it, 128 + N.
    pub fn exit_status(self) -> u8 {
        match self {
            Failure::Failed => 1,
            Failure::Internal => 2,
            Failure::Interrupted => 128 + 2,
            Failure::Terminated => 128 + 15,
        }
    }
}

impl Error {
    pub fn location(&self) -> Option<Location> {
        match self {
            Error::Query { location, .. } => *location,
            _ => None,
        }
    }

    /// True when the reader of our output went away (`morsel … | head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// A file morsel itself failed to read or write.
    pub fn file(path: impl AsRef<std::path::Path>, source: io::Error) -> Self {
        Error::File {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// How a run that reported this error ends.
    pub fn failure(&self) -> Failure {
        match self {
            Error::Reported(failure) => *failure,
            Error::Internal(_) => Failure::Internal,
            Error::Cancelled => Failure::Interrupted,
            Error::Terminated => Failure::Terminated,
            _ => Failure::Failed,
        }
    }

    pub fn query(message: impl Into<String>) -> Self {
        Error::Query {
            message: message.into(),
            location: None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

// Panics. One is a bug, reported as [`Error::Internal`] by whoever contains
// it (the front end installs a hook that records the first message, since
// DataFusion may turn a task's panic into an error of its own). There is
// one exception: a file reader that panics on a corrupt file. morsel re-reads
// the files of a failed statement to name the bad one, and catches the
// reader's panics there on purpose; those are the file's fault, not bugs.

/// The first panic's message since the last [`take_panic`].
static FIRST_PANIC: Mutex<Option<String>> = Mutex::new(None);

thread_local! {
    /// Set while [`catch_panic`] runs on this thread: its panics are expected.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

/// Keeps a panic's message for [`take_panic`], unless it was expected.
pub fn record_panic(message: &str) {
    if CATCHING.get() {
        return;
    }
    FIRST_PANIC
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get_or_insert_with(|| one_line(message));
}

/// The message of the first panic since the last call, if there was one.
pub fn take_panic() -> Option<String> {
    FIRST_PANIC
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
}

/// What a caught panic says, for when no hook kept its message.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    one_line(text)
}

/// Runs `f`, which reads input that may make it panic; a panic comes back
/// as its message, and is not recorded as a bug.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    let was = CATCHING.replace(true);
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.set(was);
    result.map_err(|payload| panic_message(&*payload))
}

/// Runs `future`, which reads input that may make it panic, as
/// [`catch_panic`] runs a closure: each poll is marked as catching on the
/// thread it runs on.
pub async fn catch_panic_async<F: Future>(future: F) -> std::result::Result<F::Output, String> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        let was = CATCHING.replace(true);
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)));
        CATCHING.set(was);
        match polled {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(&*payload))),
        }
    })
    .await
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
            panic_message(&*payload),
            "assertion `left == right` failed: one argument, left: 2, right: 1"
        );
        let payload: Box<dyn Any + Send> = Box::new(7_u8);
        assert_eq!(panic_message(&*payload), "a panic without a message");
    }

    #[test]
    fn an_expected_panic_is_caught_and_not_recorded() {
        let _ = take_panic();
        let caught = catch_panic(|| -> u8 { panic!("bad footer") });
        assert_eq!(caught, Err("bad footer".to_string()));
        assert_eq!(take_panic(), None);
    }

    #[tokio::test]
    async fn an_expected_panic_in_a_future_is_caught_and_not_recorded() {
        let _ = take_panic();
        let reading = async {
            tokio::task::yield_now().await;
            panic!("page past its end")
        };
        let caught: std::result::Result<(), String> = catch_panic_async(reading).await;
        assert_eq!(caught, Err("page past its end".to_string()));
        assert_eq!(take_panic(), None);
    }
}
