//! Backslash commands: `\d`, `\timing`, `\format`, …
//!
//! One enum, parsed with [`FromStr`]; `\?` is generated from [`HELP`] so the
//! help cannot drift from what is accepted.

use std::path::PathBuf;
use std::str::FromStr;

use crate::output::Format;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Quit,
    ListTables,
    Describe(String),
    Timing(Option<bool>),
    Format(Format),
    Include(PathBuf),
    Output(Option<PathBuf>),
    /// `\explain [analyze] [FILE.svg|.dot|.html] QUERY`
    Explain {
        analyze: bool,
        file: Option<PathBuf>,
        sql: String,
    },
    Expanded(Option<bool>),
    /// `\maxrows N` caps what the screen shows; `None` (`off`) shows all.
    MaxRows(Option<usize>),
    /// `Some(command)` pages through it, `None` turns paging off.
    Pager(Option<String>),
}

/// Each command's syntax and what it does, in the order `\?` lists them.
pub const HELP: [(&str, &str); 12] = [
    ("\\?", "show this help"),
    ("\\q", "quit (Ctrl-D does too)"),
    (
        "\\d",
        "list tables with location, format and partition columns",
    ),
    ("\\d NAME", "show the columns and types of a table"),
    (
        "\\timing [on|off]",
        "show elapsed time, rows, requests and bytes read after each statement",
    ),
    (
        "\\format NAME",
        "set the output format: table csv tsv json ndjson markdown",
    ),
    ("\\i FILE", "run the statements in a SQL file"),
    ("\\o [FILE]", "send results to FILE, or back to the screen"),
    (
        "\\explain [analyze] [FILE] QUERY",
        "draw the plan (FILE.svg, .dot or .html), or print it; analyze runs it",
    ),
    ("\\x [on|off]", "expanded display: one block per record"),
    (
        "\\maxrows N|off",
        "show at most N rows on the screen (files and the pager get all)",
    ),
    (
        "\\pager [on|off|COMMAND]",
        "page long results ($PAGER, else less -S)",
    ),
];

pub fn help_text() -> String {
    let width = HELP
        .iter()
        .map(|(syntax, _)| syntax.len())
        .max()
        .unwrap_or(0);
    let mut text: String = HELP
        .iter()
        .map(|(syntax, what)| format!("  {syntax:width$}  {what}\n"))
        .collect();
    text.push_str("  SQL statements end with ';'. SET and SHOW reach the engine's settings.\n");
    text
}

impl FromStr for Command {
    type Err = String;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let line = line.trim().trim_end_matches(';').trim_end();
        let (name, arg) = match line.split_once(char::is_whitespace) {
            Some((name, arg)) => (name, Some(arg.trim()).filter(|a| !a.is_empty())),
            None => (line, None),
        };
        let command = match (name, arg) {
            ("\\?" | "\\h" | "\\help", None) => Command::Help,
            ("\\q" | "\\quit", None) => Command::Quit,
            ("\\d", None) => Command::ListTables,
            ("\\d", Some(table)) => Command::Describe(table.to_string()),
            ("\\timing", None) => Command::Timing(None),
            ("\\timing", Some("on")) => Command::Timing(Some(true)),
            ("\\timing", Some("off")) => Command::Timing(Some(false)),
            ("\\format", Some(format)) => Command::Format(format.parse()?),
            ("\\i", Some(file)) => Command::Include(PathBuf::from(file)),
            ("\\o", file) => Command::Output(file.map(PathBuf::from)),
            ("\\explain", Some(rest)) => parse_explain(rest)?,
            ("\\x", None) => Command::Expanded(None),
            ("\\x", Some("on")) => Command::Expanded(Some(true)),
            ("\\x", Some("off")) => Command::Expanded(Some(false)),
            ("\\maxrows", Some("off")) => Command::MaxRows(None),
            ("\\maxrows", Some(rows)) => {
                Command::MaxRows(Some(rows.parse().map_err(|_| {
                    format!("\\maxrows takes a number of rows or off, not '{rows}'")
                })?))
            }
            ("\\pager", None | Some("on")) => Command::Pager(Some(super::pager::default_pager())),
            ("\\pager", Some("off")) => Command::Pager(None),
            ("\\pager", Some(command)) => Command::Pager(Some(command.to_string())),
            _ => {
                return Err(format!(
                    "unknown or malformed command '{line}'; \\? lists the commands"
                ));
            }
        };
        Ok(command)
    }
}

/// `[analyze] [FILE] QUERY`: a file is a word ending in .svg, .dot or .html.
fn parse_explain(rest: &str) -> Result<Command, String> {
    let mut rest = rest.trim();
    let mut analyze = false;
    if let Some((word, tail)) = rest.split_once(char::is_whitespace)
        && word.eq_ignore_ascii_case("analyze")
    {
        analyze = true;
        rest = tail.trim_start();
    }
    let mut file = None;
    let (word, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if is_graph_file(word) {
        file = Some(PathBuf::from(word));
        rest = tail.trim_start();
    }
    if rest.is_empty() {
        return Err("\\explain needs a query: \\explain [analyze] [FILE.svg] SELECT …".into());
    }
    Ok(Command::Explain {
        analyze,
        file,
        sql: rest.to_string(),
    })
}

fn is_graph_file(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    [".svg", ".dot", ".gv", ".html", ".htm"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command_in_help() {
        let examples = [
            "\\?",
            "\\q",
            "\\d",
            "\\d events",
            "\\timing on",
            "\\format csv",
            "\\i q.sql",
            "\\o out.txt",
            "\\explain analyze plan.svg SELECT 1",
            "\\x on",
            "\\maxrows 100",
            "\\pager off",
        ];
        assert_eq!(examples.len(), HELP.len());
        for example in examples {
            assert!(example.parse::<Command>().is_ok(), "{example}");
        }
        assert_eq!(
            "\\d  events ".parse(),
            Ok(Command::Describe("events".into()))
        );
        assert_eq!("\\o".parse(), Ok(Command::Output(None)));
        assert_eq!(
            "\\explain analyze q.svg SELECT 1".parse(),
            Ok(Command::Explain {
                analyze: true,
                file: Some("q.svg".into()),
                sql: "SELECT 1".into()
            })
        );
        assert_eq!(
            "\\explain SELECT a FROM t".parse(),
            Ok(Command::Explain {
                analyze: false,
                file: None,
                sql: "SELECT a FROM t".into()
            })
        );
        assert!("\\explain analyze q.svg".parse::<Command>().is_err());
    }

    #[test]
    fn rejects_bad_commands() {
        assert!("\\timing maybe".parse::<Command>().is_err());
        assert!(
            "\\format xml"
                .parse::<Command>()
                .unwrap_err()
                .contains("unknown format")
        );
        assert!("\\nope".parse::<Command>().is_err());
        assert!("\\maxrows many".parse::<Command>().is_err());
        assert_eq!("\\maxrows off".parse(), Ok(Command::MaxRows(None)));
    }
}
