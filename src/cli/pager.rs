//! Long results go to a pager when they do not fit on the screen.
//!
//! The REPL renders a result into memory first (tables are bounded by
//! `--max-rows` anyway); if it has more lines than the terminal, it is piped
//! to `$PAGER` (default `less -S`, which scrolls sideways instead of
//! wrapping wide rows); otherwise it is printed as usual.

use std::io::Write;
use std::process::{Command, Stdio};

/// `$PAGER`, or `less -S`.
pub fn default_pager() -> String {
    std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less -S".to_string())
}

/// Prints `text`, through `pager` when it is taller than the terminal.
pub fn show(text: &[u8], pager: &str) -> std::io::Result<()> {
    let height = terminal_size::terminal_size().map(|(_, h)| h.0 as usize);
    let lines = text.iter().filter(|b| **b == b'\n').count();
    // One line stays for the prompt that follows.
    let fits = height.is_none_or(|h| lines < h.saturating_sub(1));
    if fits || page(text, pager).is_err() {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text)?;
        return stdout.flush();
    }
    Ok(())
}

fn page(text: &[u8], pager: &str) -> std::io::Result<()> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(pager)
        .stdin(Stdio::piped())
        .spawn()?;
    if let Some(mut input) = child.stdin.take() {
        // A pager quit before reading everything closes the pipe: not an error.
        let _ = input.write_all(text);
    }
    child.wait()?;
    Ok(())
}
