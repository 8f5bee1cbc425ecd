//! The `morsel` binary: parse the command line, run, turn the outcome into
//! an exit status. Everything else lives in the library.

use std::process::ExitCode;

use morsel::cli::{self, args::Args};
use morsel::error::Error;

fn main() -> ExitCode {
    let (args, inputs) = Args::parse_with_inputs();
    match cli::run(args, inputs) {
        Ok(()) => ExitCode::SUCCESS,
        // `morsel … | head` closing early is what the user asked for.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        // Already reported with its FILE:LINE:COL.
        Err(Error::Reported) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
