//! The REPL in a real pseudo-terminal: query, cancel with Ctrl-C, complete.

use std::process::Command;
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use expectrl::session::OsSession;
use expectrl::{ControlCode, Expect, Regex, Session};
use tempfile::TempDir;

fn start() -> (OsSession, TempDir) {
    let home = TempDir::new().unwrap();
    let mut command = Command::cargo_bin("morsel").unwrap();
    command
        .arg("testdata/data")
        .env("MORSEL_HISTORY", home.path().join("history"))
        .env("TERM", "xterm");
    let mut session = Session::spawn(command).expect("pty");
    session.set_expect_timeout(Some(Duration::from_secs(60)));
    session.expect("\\? for help").expect("banner");
    (session, home)
}

#[test]
fn answers_cancels_and_answers_again() {
    let (mut repl, home) = start();
    repl.send_line("SELECT count(*) AS n FROM events WHERE year = 2024;")
        .unwrap();
    repl.expect(Regex(r"\|\s+45\s+\|")).expect("count printed");

    // A query that would run for hours: Ctrl-C must stop it, not the session.
    repl.send_line("SELECT sum(value % 7) AS s FROM range(100000000000);")
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let pressed = Instant::now();
    repl.send(ControlCode::EndOfText).unwrap();
    repl.expect("query cancelled").expect("cancel reported");
    repl.expect("morsel> ").expect("prompt after cancel");
    assert!(
        pressed.elapsed() < Duration::from_secs(5),
        "cancelled promptly"
    );

    // The session and its tables are intact.
    repl.send_line("SELECT max(score) AS top FROM scores;")
        .unwrap();
    repl.expect(Regex(r"\|\s+45\s+\|"))
        .expect("answers after cancel");

    // Multi-line statements run once the ';' arrives.
    repl.send_line("SELECT 6 *").unwrap();
    repl.send_line("  7 AS answer;").unwrap();
    repl.expect(Regex(r"\|\s+42\s+\|")).expect("multi-line");

    repl.expect("morsel> ").expect("prompt");
    repl.send_line("\\q").unwrap();
    repl.expect(expectrl::Eof).expect("exits");
    let history = std::fs::read_to_string(home.path().join("history")).unwrap();
    assert!(history.contains("FROM scores"), "history saved: {history}");
}

#[test]
fn completes_tables_columns_and_keywords() {
    let (mut repl, _home) = start();
    // Table name: "citi" + Tab must become "cities", or the query fails.
    repl.send("SELECT name FROM citi\t").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    repl.send_line(" WHERE population > 1000000;").unwrap();
    repl.expect("Lagos").expect("table completed");

    // Column name: "popul" + Tab must become "population".
    repl.send("SELECT popul\t").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    repl.send_line(" FROM cities WHERE name = 'Lagos';")
        .unwrap();
    repl.expect("15388000").expect("column completed");

    // A keyword, in the case it was typed: "sel" + Tab becomes "select".
    repl.send("sel\t").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    repl.send_line(" 7 AS seven;").unwrap();
    repl.expect(Regex(r"\|\s+7\s+\|"))
        .expect("keyword completed");

    // A path inside quotes: "testdata/data/sco" + Tab becomes "scores.tsv".
    repl.send("SELECT max(score) AS best FROM 'testdata/data/sco\t")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    repl.send_line("';").unwrap();
    repl.expect(Regex(r"\|\s+45\s+\|")).expect("path completed");

    // Ctrl-C on a line being typed clears it; Ctrl-D exits.
    repl.expect("morsel> ").expect("prompt");
    repl.send("SELECT nonsense").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    repl.send(ControlCode::EndOfText).unwrap();
    // rustyline flushes input typed before it takes the terminal back, so
    // wait for the fresh prompt, as a person would.
    repl.expect("morsel> ").expect("prompt after Ctrl-C");
    repl.send_line("SELECT 'still here' AS s;").unwrap();
    repl.expect(Regex(r"\| still here\s+\|"))
        .expect("line was cleared");
    // Keys typed while a query runs reach the terminal in cooked mode, where
    // Ctrl-D is not a key; wait for the prompt as a person would.
    repl.expect("morsel> ").expect("prompt");
    std::thread::sleep(Duration::from_millis(300));
    repl.send(ControlCode::EndOfTransmission).unwrap();
    repl.expect(expectrl::Eof).expect("Ctrl-D exits");
}
