//! morsel's error type and its constructors.
//!
//! Every error a user sees is a single line. Errors about SQL carry a
//! [`Location`] inside the statement so a script runner can turn it into
//! `FILE:LINE:COL`. Turning an engine (DataFusion) error into one of these
//! is the session's diagnosis, not this module's: the layers below the
//! session speak DataFusion's errors.

use std::fmt;
use std::io;

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
    /// Failed, and the details (a script's `FILE:LINE:COL`, a benchmark's
    /// table) were already printed.
    #[error("failed")]
    Reported,
    /// A script stopped by Ctrl-C, already reported where it stopped.
    #[error("cancelled")]
    Interrupted,
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

    pub fn query(message: impl Into<String>) -> Self {
        Error::Query {
            message: message.into(),
            location: None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
