//! Long results go to a pager when they do not fit on the screen.
//!
//! The REPL renders a result into memory first (tables are bounded by
//! `--max-rows` anyway); if it has more lines than the terminal, it is piped
//! to `$PAGER` (default `less -S`, which scrolls sideways instead of
//! wrapping wide rows); otherwise it is printed as usual. A pager that
//! cannot be started is named in a warning and the result printed as usual.

use std::io::Write;
use std::process::{Command, Stdio};

/// `$PAGER`, or `less -S`.
pub fn default_pager() -> String {
    std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less -S".to_string())
}

/// Prints `text`, through `pager` when it is taller than the terminal. A
/// pager that cannot be started is named in a warning, and the text is
/// printed here instead of lost.
pub fn show(text: &[u8], pager: &str) -> std::io::Result<()> {
    let height = terminal_size::terminal_size().map(|(_, h)| h.0 as usize);
    let lines = text.iter().filter(|b| **b == b'\n').count();
    // One line stays for the prompt that follows.
    let fits = height.is_none_or(|h| lines < h.saturating_sub(1));
    if !fits {
        match page(text, pager) {
            Ok(()) => return Ok(()),
            Err(why) => {
                eprintln!("warning: cannot start pager '{pager}' ({why}); showing the result here")
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text)?;
    stdout.flush()
}

/// Pipes `text` through `pager`; `Err` says why it never ran.
fn page(text: &[u8], pager: &str) -> Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(pager)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("sh: {e}"))?;
    if let Some(mut input) = child.stdin.take() {
        // A pager quit before reading everything closes the pipe: not an error.
        let _ = input.write_all(text);
    }
    let done = child.wait_with_output().map_err(|e| e.to_string())?;
    let said = String::from_utf8_lossy(&done.stderr);
    // The shell's status for a command it could not find (127) or run (126).
    if matches!(done.status.code(), Some(126 | 127)) {
        return Err(match said.trim() {
            "" => "not found".to_string(),
            said => said.replace('\n', " "),
        });
    }
    // What the pager itself wrote to stderr, once it is done with the screen.
    eprint!("{said}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_pager_is_an_error_that_says_why() {
        let why = page(b"a\nb\n", "/nonexistent/pager -S").unwrap_err();
        assert!(why.contains("/nonexistent/pager"), "{why}");
        assert!(page(b"a\nb\n", "cat >/dev/null").is_ok());
    }
}
