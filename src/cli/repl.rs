//! The interactive front end: line editing, history, completion, colours, Ctrl-C.
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
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::history::FileHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Config, Context, Editor, Helper, Hinter};
use tokio::runtime::Runtime;

use super::completion::{self, Names};
use super::highlight;
use super::runner::{Flow, Runner};
use super::script;
use crate::error::{Error, Failure, Result};

const PROMPT: &str = "morsel> ";

/// Runs the REPL until `\q` or Ctrl-D.
pub fn run(runtime: &Runtime, runner: &mut Runner<'_>) -> Result<()> {
    let names = Arc::new(Mutex::new(Names::default()));
    let mut editor: Editor<MorselHelper, FileHistory> =
        Editor::with_config(Config::builder().auto_add_history(true).build())
            .map_err(|e| Error::Usage(format!("cannot start the line editor: {e}")))?;
    editor.set_helper(Some(MorselHelper {
        names: Arc::clone(&names),
        files: FilenameCompleter::new(),
    }));
    let history = history_path();
    // A missing history file is normal on first start.
    let _ = editor.load_history(&history);
    println!(
        "morsel {}: SQL over your files. \\? for help, \\q to quit.",
        env!("CARGO_PKG_VERSION")
    );
    refresh_completions(runtime, runner, &names);
    loop {
        match editor.readline(PROMPT) {
            Ok(text) => {
                // Errors were printed where they happened; the session goes
                // on, unless SIGTERM asked it to end.
                match runtime.block_on(runner.run_script("", &text, false)) {
                    Ok(Flow::Quit) => break,
                    Err(e) if e.failure() == Failure::Terminated => return Err(e),
                    _ => {}
                }
                refresh_completions(runtime, runner, &names);
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

/// Tables and columns, functions and settings, for tab completion.
fn refresh_completions(runtime: &Runtime, runner: &Runner<'_>, names: &Mutex<Names>) {
    let session = runner.session();
    let mut fresh = Names {
        keywords: datafusion::sql::sqlparser::keywords::ALL_KEYWORDS
            .iter()
            .map(|k| k.to_string())
            .collect(),
        functions: session.function_names(),
        table_functions: session.table_function_names(),
        settings: session.setting_names(),
        ..Names::default()
    };
    fresh.functions.sort();
    for table in session.table_names() {
        if let Ok(schema) = runtime.block_on(session.table_schema(&table)) {
            let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
            fresh.tables.insert(table, columns);
        }
    }
    *names.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
}

#[derive(Helper, Hinter)]
struct MorselHelper {
    names: Arc<Mutex<Names>>,
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
        // Only the statement under the cursor matters.
        let start = before.rfind(';').map_or(0, |i| i + 1);
        let end = line[pos..].find(';').map_or(line.len(), |i| pos + i);
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let (at, candidates) = completion::complete(&names, &line[start..end], pos - start);
        let pairs = candidates
            .into_iter()
            .map(|word| Pair {
                display: word.clone(),
                replacement: word,
            })
            .collect();
        Ok((start + at, pairs))
    }
}

impl Highlighter for MorselHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        highlight::highlight(line)
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        true
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
