//! The `morsel` binary: parse the command line, run, turn the outcome into
//! an exit status. Everything else lives in the library.

use std::process::ExitCode;

use morsel::cli::{self, args::Args};
use morsel::error::{self, Error};

/// The stack of the thread morsel runs on. Planning recurses once per term
/// of an expression, and a sum of 20,000 terms overran the main thread's
/// 8 MB and aborted; only the pages a statement touches are used.
const STACK_BYTES: usize = 1 << 30;

fn main() -> ExitCode {
    let (args, inputs) = Args::parse_with_inputs();
    cli::panics::install_quiet_hook();
    let run = std::thread::Builder::new()
        .name("morsel".into())
        .stack_size(STACK_BYTES)
        .spawn(move || cli::run(args, inputs));
    let outcome = match run {
        // A panic outside a statement (each is contained where it runs).
        Ok(thread) => thread.join().unwrap_or_else(|panic| {
            let message = error::take_panic().unwrap_or_else(|| error::panic_message(&*panic));
            Err(Error::Internal(message))
        }),
        Err(e) => Err(Error::Usage(format!("cannot start: {e}"))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // `morsel … | head` closing early is what the user asked for.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        // Already reported with its FILE:LINE:COL.
        Err(Error::Reported(failure)) => ExitCode::from(failure.exit_status()),
        Err(e @ Error::Internal(_)) => {
            eprintln!("{e}");
            ExitCode::from(e.failure().exit_status())
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
