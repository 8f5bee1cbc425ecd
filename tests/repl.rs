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
        .env("TERM", "xterm")
        .env_remove("PAGER");
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
    // Each key redraws the coloured line, prompt included: skip those
    // redraws so the prompt awaited below is the one after Ctrl-C.
    drain(&mut repl);
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

/// Reads and forgets what the terminal has shown so far.
fn drain(repl: &mut OsSession) {
    let mut buffer = [0u8; 8192];
    while let Ok(n) = repl.try_read(&mut buffer) {
        if n == 0 {
            break;
        }
    }
}

/// What a person sees: the pty's output run through a terminal emulator.
struct Screen {
    parser: vt100::Parser,
}

impl Screen {
    fn new(repl: &mut OsSession, rows: u16, cols: u16) -> Self {
        repl.get_process_mut()
            .set_window_size(cols, rows)
            .expect("window size");
        Self {
            parser: vt100::Parser::new(rows, cols, 0),
        }
    }

    fn read(&mut self, repl: &mut OsSession) {
        let mut buffer = [0u8; 8192];
        while let Ok(n) = repl.try_read(&mut buffer) {
            if n == 0 {
                break;
            }
            self.parser.process(&buffer[..n]);
        }
    }

    fn text(&self) -> String {
        self.parser.screen().contents()
    }

    /// Waits until the screen satisfies `test`, or fails after a minute.
    fn wait_for(&mut self, repl: &mut OsSession, what: &str, test: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.read(repl);
            if test(&self.text()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: screen is\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The progress bar's line: `  2s [====>   ]  40% 1,234 rows, ETA 3s`, or
/// the spinner's when the input's size is unknown.
fn has_progress_line(screen: &str) -> bool {
    screen
        .lines()
        .any(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()) && l.contains(" rows"))
}

#[test]
fn progress_shows_on_long_queries_and_clears_away() {
    let (mut repl, _home) = start();
    let mut screen = Screen::new(&mut repl, 30, 100);
    repl.send_line("SELECT sum(value % 7) AS s FROM range(100000000000);")
        .unwrap();
    screen.wait_for(&mut repl, "progress appears", has_progress_line);
    repl.send(ControlCode::EndOfText).unwrap();
    screen.wait_for(&mut repl, "cancelled", |s| s.contains("query cancelled"));
    screen.wait_for(&mut repl, "bar gone after Ctrl-C", |s| {
        !has_progress_line(s)
    });

    // A query that ends by itself: its result replaces the bar.
    repl.send_line("SELECT count(*) AS n FROM events a, events b, events c, events d, events e;")
        .unwrap();
    screen.wait_for(&mut repl, "result", |s| s.contains("777600000"));
    screen.read(&mut repl);
    assert!(!has_progress_line(&screen.text()), "{}", screen.text());
}

#[test]
fn completion_knows_the_columns_of_the_tables_in_from() {
    let (mut repl, _home) = start();
    let mut screen = Screen::new(&mut repl, 30, 100);
    // "am" is only a column of events: after FROM events WHERE it completes.
    repl.send("SELECT count(*) AS n FROM events WHERE am\t")
        .unwrap();
    screen.wait_for(&mut repl, "column completed", |s| {
        s.contains("WHERE amount")
    });
    repl.send_line(" > 50;").unwrap();
    screen.wait_for(&mut repl, "query ran", |s| s.contains("| n "));
    // After SET come settings.
    repl.send("SET datafusion.execution.batch_s\t").unwrap();
    screen.wait_for(&mut repl, "setting completed", |s| {
        s.contains("SET datafusion.execution.batch_size")
    });
}

#[test]
fn long_results_open_the_pager_and_quitting_it_returns() {
    let (mut repl, _home) = start();
    let mut screen = Screen::new(&mut repl, 20, 100);
    repl.send_line("SELECT value FROM range(30);").unwrap();
    // less shows the top of the result and waits with its ':' prompt.
    screen.wait_for(&mut repl, "pager open", |s| {
        s.contains("| value |") && s.lines().last().is_some_and(|l| l.starts_with(':'))
    });
    repl.send("q").unwrap();
    screen.wait_for(&mut repl, "back at the prompt", |s| {
        s.lines().any(|l| l.starts_with("morsel>"))
    });

    // With the pager off, the same result prints straight to the terminal.
    repl.send_line("\\pager off").unwrap();
    // Lines typed before the prompt returns are dropped, as for a person.
    screen.wait_for(&mut repl, "pager off", |s| {
        s.contains("pager is off\nmorsel>")
    });
    repl.send_line("SELECT value FROM range(30);").unwrap();
    screen.wait_for(&mut repl, "printed inline", |s| {
        s.contains("|    29 |") && s.contains("morsel>")
    });
}
