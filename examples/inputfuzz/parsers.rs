//! morsel's own parsers, fed text built from their syntax's pieces and
//! mutated: the script splitter, backslash commands, sizes and S3 URLs.
//! Each returns `Ok` for an answer or a one-line refusal and `Err` with
//! what went wrong otherwise; a panic is caught by the caller.

use std::str::FromStr;

use clap::Parser;
use datafusion::execution::object_store::ObjectStoreRegistry;
use morsel::cli::args::Args;
use morsel::cli::command::Command;
use morsel::cli::script::{Piece, split};
use morsel::storage::ObjectStores;
use rand::Rng;
use rand::rngs::StdRng;
use url::Url;

use crate::mutate;
use crate::{Outcome, refusal};

/// Text made of `pieces`, then mutated at the byte level now and then (and
/// made valid UTF-8 again, as every caller receives it).
fn text_of(rng: &mut StdRng, pieces: &[&str], most: usize) -> String {
    let mut text = String::new();
    for _ in 0..rng.random_range(0..=most) {
        text.push_str(pieces[rng.random_range(0..pieces.len())]);
    }
    if rng.random_bool(0.2) {
        let mut bytes = text.into_bytes();
        mutate::mutate(rng, &mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    text
}

const SCRIPT_PIECES: [&str; 32] = [
    "SELECT 1",
    " ",
    ";",
    "\n",
    "\r\n",
    "'",
    "''",
    "\"",
    "`",
    "E'",
    "\\'",
    "\\",
    "$$",
    "$tag$",
    "$",
    "--",
    "/*",
    "*/",
    "\\d",
    "\\timing on",
    "\\o out.csv",
    "x",
    "é",
    "😀",
    "\t",
    "FROM t",
    "WHERE a = 'b;c'",
    "$$;$$",
    "E'\\';'",
    "/* ; */",
    "-- ;\n",
    "\0",
];

/// Every piece the splitter returns starts inside the text, and a
/// statement is text of the script itself.
pub fn script(rng: &mut StdRng) -> (String, Result<Outcome, String>) {
    let text = text_of(rng, &SCRIPT_PIECES, 40);
    let (pieces, _open) = split(&text);
    let lines = text.split('\n').count();
    for located in &pieces {
        if located.start.line == 0 || located.start.line > lines as u64 || located.start.column == 0
        {
            return (text, Err(format!("piece placed at {}", located.start)));
        }
        if let Piece::Statement(sql) = &located.piece
            && !text.contains(sql.trim())
        {
            return (text, Err(format!("statement not in the script: {sql:?}")));
        }
    }
    (text, Ok(Outcome::Answered))
}

const COMMAND_PIECES: [&str; 30] = [
    "\\",
    "\\d",
    "\\timing",
    "\\format",
    "\\i",
    "\\o",
    "\\explain",
    "\\x",
    "\\maxrows",
    "\\pager",
    "\\q",
    "\\?",
    " ",
    " on",
    " off",
    " csv",
    " json",
    " analyze",
    " plan.svg",
    " plan.dot",
    " SELECT 1",
    " 10",
    " -1",
    " 99999999999999999999",
    " 1e3",
    ";",
    "\t",
    "é",
    " less -S",
    "\n",
];

/// Command lines as a script or the REPL meets them: cut out of the text
/// by the splitter (a command is one line), then parsed.
pub fn command(rng: &mut StdRng) -> (String, Result<Outcome, String>) {
    let text = text_of(rng, &COMMAND_PIECES, 6);
    let (pieces, _open) = split(&text);
    let mut outcome = Ok(Outcome::Answered);
    for piece in pieces {
        if let Piece::Command(line) = piece.piece {
            match Command::from_str(&line) {
                Ok(_) => {}
                Err(message) => outcome = outcome.and(refusal(&message)),
            }
        }
    }
    (text, outcome)
}

const SIZE_PIECES: [&str; 22] = [
    "0", "1", "4", "10", "512", "1.5", ".", "-", "+", "e9", "k", "K", "KB", "KiB", "MB", "MiB",
    "GB", "GiB", "TB", "PB", "EB", " ",
];

/// `--memory-limit` and `--max-temp-size` as the command line reads them:
/// a size, or a refusal; a memory limit too small to run a query in is
/// refused, never accepted.
pub fn size(rng: &mut StdRng) -> (String, Result<Outcome, String>) {
    let text = text_of(rng, &SIZE_PIECES, 5);
    let flag = ["--memory-limit", "--max-temp-size"][rng.random_range(0..2)];
    let outcome = match Args::try_parse_from(["morsel", flag, text.as_str()]) {
        Ok(args) => match args.engine.memory_limit {
            Some(bytes) if bytes < 4 << 20 => {
                Err(format!("--memory-limit {text} accepted as {bytes} bytes"))
            }
            _ => Ok(Outcome::Answered),
        },
        // clap's message names the flag and the value; its usage hint
        // follows on later lines, as for any other mistyped flag.
        Err(e) => Ok(Outcome::Refused(e.kind().to_string())),
    };
    (format!("{flag} {text}"), outcome)
}

const URL_PIECES: [&str; 24] = [
    "s3://",
    "s3a://",
    "file://",
    "http://",
    "gs://",
    "bucket",
    "my-bucket.with.dots",
    "/",
    "//",
    "key",
    "dir/",
    "*.parquet",
    "**",
    "?",
    "#",
    "%",
    "%2F",
    "@",
    ":",
    ":99999",
    "é",
    " ",
    "..",
    "year=2024",
];

/// An S3 URL resolved to a store, as a query's table location is: the
/// store is built (no request is sent), or the URL refused in one line.
pub fn s3_url(rng: &mut StdRng, stores: &ObjectStores) -> (String, Result<Outcome, String>) {
    let text = text_of(rng, &URL_PIECES, 6);
    let outcome = match Url::parse(&text) {
        Err(e) => Ok(Outcome::Refused(e.to_string())),
        Ok(url) => match stores.get_store(&url) {
            Ok(_) => Ok(Outcome::Answered),
            Err(e) => refusal(&e.to_string()),
        },
    };
    let _ = morsel::storage::s3_bucket(&text);
    (text, outcome)
}
