//! The interactive front end: line editing, history, completion, Ctrl-C.
//!
//! rustyline reads lines on the main thread; each statement then runs on the
//! tokio runtime until it finishes or Ctrl-C cancels it. Ctrl-C while typing
//! clears the line (rustyline's raw mode turns it into a key, not a signal),
//! so only a running query is ever cancelled, never the session.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Config, Context, Editor, Helper, Highlighter, Hinter};
use tokio::runtime::Runtime;

use super::runner::{Flow, Runner};
use super::script;
use crate::error::{Error, Result};

const PROMPT: &str = "morsel> ";

/// Runs the REPL until `\q` or Ctrl-D.
pub fn run(runtime: &Runtime, runner: &mut Runner<'_>) -> Result<()> {
    let words = Arc::new(Mutex::new(Vec::new()));
    let mut editor: Editor<MorselHelper, FileHistory> =
        Editor::with_config(Config::builder().auto_add_history(true).build())
            .map_err(|e| Error::Usage(format!("cannot start the line editor: {e}")))?;
    editor.set_helper(Some(MorselHelper {
        words: Arc::clone(&words),
        files: FilenameCompleter::new(),
    }));
    let history = history_path();
    // A missing history file is normal on first start.
    let _ = editor.load_history(&history);
    println!(
        "morsel {}: SQL over your files. \\? for help, \\q to quit.",
        env!("CARGO_PKG_VERSION")
    );
    refresh_completions(runtime, runner, &words);
    loop {
        match editor.readline(PROMPT) {
            Ok(text) => {
                let flow = runtime.block_on(runner.run_script("", &text, false));
                // Errors were printed where they happened; the session goes on.
                if matches!(flow, Ok(Flow::Quit)) {
                    break;
                }
                refresh_completions(runtime, runner, &words);
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Error::Usage(format!("cannot read input: {e}"))),
        }
    }
    let _ = editor.save_history(&history);
    Ok(())
}

/// `$MORSEL_HISTORY`, else `~/.morsel_history`.
fn history_path() -> PathBuf {
    std::env::var_os("MORSEL_HISTORY")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|home| home.join(".morsel_history")))
        .unwrap_or_else(|| PathBuf::from(".morsel_history"))
}

/// Keywords, functions, tables and their columns, for tab completion.
fn refresh_completions(runtime: &Runtime, runner: &Runner<'_>, words: &Mutex<Vec<String>>) {
    let session = runner.session();
    let mut fresh: Vec<String> = datafusion::sql::sqlparser::keywords::ALL_KEYWORDS
        .iter()
        .map(|k| k.to_string())
        .collect();
    fresh.extend(session.function_names());
    for table in session.table_names() {
        if let Ok(provider) = runtime.block_on(session.table(&table)) {
            fresh.extend(provider.schema().fields().iter().map(|f| f.name().clone()));
        }
        fresh.push(table);
    }
    fresh.sort();
    fresh.dedup();
    *words.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
}

#[derive(Helper, Hinter, Highlighter)]
struct MorselHelper {
    words: Arc<Mutex<Vec<String>>>,
    files: FilenameCompleter,
}

impl Completer for MorselHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let in_quotes = before.matches('\'').count() % 2 == 1;
        if in_quotes || before.trim_start().starts_with("\\i ") {
            return self.files.complete_path(line, pos);
        }
        let start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let prefix = &before[start..];
        if prefix.is_empty() {
            return Ok((pos, vec![]));
        }
        let words = self.words.lock().unwrap_or_else(|e| e.into_inner());
        let candidates = words
            .iter()
            .filter(|w| w.len() >= prefix.len() && w[..prefix.len()].eq_ignore_ascii_case(prefix))
            .map(|w| {
                let word = match_case(w, prefix);
                Pair {
                    display: word.to_string(),
                    replacement: word.into_owned(),
                }
            })
            .collect();
        Ok((start, candidates))
    }
}

/// Keywords follow the case the user typed (`sel` → `select`).
fn match_case<'a>(word: &'a str, prefix: &str) -> Cow<'a, str> {
    let is_keyword = word.chars().all(|c| c.is_ascii_uppercase() || c == '_');
    if is_keyword && prefix.chars().any(|c| c.is_ascii_lowercase()) {
        Cow::Owned(word.to_ascii_lowercase())
    } else {
        Cow::Borrowed(word)
    }
}

impl Validator for MorselHelper {
    /// A line is sent when it is a command or its statement ends with `;`.
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if script::split(input).1 {
            Ok(ValidationResult::Incomplete)
        } else {
            Ok(ValidationResult::Valid(None))
        }
    }
}
