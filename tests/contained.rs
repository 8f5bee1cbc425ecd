//! Failures kept in bounds: SIGTERM and dead processes leave no staging
//! behind, a missing pager loses no result, Hive's NULL partitions read
//! as NULL, and a panic is one line, not a dead session.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use common::morsel_in;
use expectrl::session::OsSession;
use expectrl::{Expect, Regex, Session};
use tempfile::TempDir;

/// `t/k=1/a.csv` (a = 1, 2) and `t/k=__HIVE_DEFAULT_PARTITION__/b.csv` (a = 3).
fn table_with_a_null_partition(dir: &Path) {
    for (partition, rows) in [
        ("k=1", "a\n1\n2\n"),
        ("k=__HIVE_DEFAULT_PARTITION__", "a\n3\n"),
    ] {
        let path = dir.join("t").join(partition);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("part.csv"), rows).unwrap();
    }
}

#[test]
fn hive_default_partition_reads_as_null_keeping_the_type() {
    let dir = TempDir::new().unwrap();
    table_with_a_null_partition(dir.path());
    let data = dir.path().to_str().unwrap();
    let run = |sql: &str| {
        let (code, stdout, stderr) =
            morsel_in(dir.path(), &[data, "--format", "csv", "-c", sql], None);
        assert_eq!(code, 0, "{sql}: {stderr}");
        stdout
    };
    assert_eq!(
        run("SELECT a, k, k IS NULL AS missing FROM t ORDER BY a"),
        "a,k,missing\n1,1,false\n2,1,false\n3,,true\n"
    );
    assert_eq!(
        run("SELECT arrow_typeof(k) AS ty FROM t LIMIT 1"),
        "ty\nInt64\n"
    );
    assert_eq!(run("SELECT count(*) AS n FROM t WHERE k IS NULL"), "n\n1\n");
    assert_eq!(run("SELECT sum(a) AS s FROM t WHERE k = 1"), "s\n3\n");
    assert_eq!(run("SELECT sum(a) AS s FROM t WHERE k > 0"), "s\n3\n");
    // `\d` still sees the listing under the view, typed.
    let described = run("\\d");
    assert!(
        described.contains("t,csv,") && described.contains("k Int64"),
        "{described}"
    );

    // The same path in FROM, and CREATE EXTERNAL TABLE, agree.
    let root = dir.path().join("t");
    let root = root.to_str().unwrap();
    assert_eq!(
        run(&format!(
            "SELECT count(*) AS n FROM '{root}/' WHERE k IS NULL"
        )),
        "n\n1\n"
    );
    assert_eq!(
        run(&format!(
            "CREATE EXTERNAL TABLE e STORED AS CSV LOCATION '{root}/'; \
             SELECT a, k FROM e ORDER BY a"
        )),
        "a,k\n1,1\n2,1\n3,\n"
    );
    assert_eq!(
        run(&format!(
            "CREATE EXTERNAL TABLE n STORED AS CSV LOCATION '{root}/' \
             OPTIONS ('format.null_regex' '^NA$'); \
             SELECT a, k FROM n WHERE k IS NULL"
        )),
        "a,k\n3,\n"
    );

    // DuckDB reads the directory the same way.
    let duckdb = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import duckdb\n\
             r = duckdb.sql(\"SELECT a, k FROM read_csv('{root}/**/*.csv', hive_partitioning=true) ORDER BY a\")\n\
             print(r.types[1], r.fetchall())"
        ))
        .output()
        .expect("python3 runs");
    assert!(
        duckdb.status.success(),
        "{}",
        String::from_utf8_lossy(&duckdb.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&duckdb.stdout).trim(),
        "BIGINT [(1, 1), (2, 1), (3, None)]"
    );
}

#[test]
fn a_column_of_only_null_partitions_is_text() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("t/k=__HIVE_DEFAULT_PARTITION__");
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join("part.csv"), "a\n1\n").unwrap();
    let data = dir.path().to_str().unwrap();
    let (code, stdout, stderr) = morsel_in(
        dir.path(),
        &[
            data,
            "--format",
            "csv",
            "-c",
            "SELECT a, k, arrow_typeof(k) AS ty FROM t",
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "a,k,ty\n1,,Utf8\n");
}

/// The REPL in a pseudo-terminal of 20 rows, with `PAGER` set to `pager`,
/// and the directory its history goes to.
fn repl_with_pager(pager: &str) -> (OsSession, TempDir) {
    let home = TempDir::new().unwrap();
    let mut command = Command::cargo_bin("morsel").unwrap();
    command
        .env("MORSEL_HISTORY", home.path().join("history"))
        .env("TERM", "xterm")
        .env("PAGER", pager)
        .env_remove("RUST_BACKTRACE");
    let mut repl = Session::spawn(command).expect("pty");
    repl.get_process_mut()
        .set_window_size(100, 20)
        .expect("window size");
    repl.set_expect_timeout(Some(Duration::from_secs(60)));
    repl.expect("\\? for help").expect("banner");
    (repl, home)
}

#[test]
fn a_pager_that_cannot_start_is_named_and_the_result_printed() {
    let (mut repl, _home) = repl_with_pager("/nonexistent/pager");
    // 30 rows do not fit on 20 lines: they would go to the pager.
    repl.send_line("SELECT value FROM range(30);").unwrap();
    repl.expect("warning: cannot start pager '/nonexistent/pager'")
        .expect("warning names the pager");
    repl.expect(Regex(r"\|\s+0\s+\|")).expect("first row");
    repl.expect(Regex(r"\|\s+29\s+\|")).expect("last row");
    repl.expect("morsel> ").expect("prompt");
}

/// Names in `dir` that start with `.morsel-copy-`.
fn staging_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".morsel-copy-"))
        .collect()
}

#[test]
fn a_copy_sweeps_staging_that_dead_processes_left() {
    let dir = TempDir::new().unwrap();
    // No process has this id (Linux ids stop at 2^22).
    let dead = dir.path().join(".morsel-copy-999999999-0");
    std::fs::create_dir(&dead).unwrap();
    std::fs::write(dead.join("out.csv"), "half a file").unwrap();
    // This test's own process is alive: its staging must stay.
    let alive = dir
        .path()
        .join(format!(".morsel-copy-{}-0", std::process::id()));
    std::fs::create_dir(&alive).unwrap();

    let (code, _, stderr) = morsel_in(
        dir.path(),
        &["-c", "COPY (SELECT 1 AS a UNION ALL SELECT 2) TO 'out.csv'"],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(!dead.exists(), "stale staging swept");
    assert!(alive.exists(), "a live process keeps its staging");
    let written = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    let mut rows: Vec<&str> = written.lines().collect();
    rows.sort();
    assert_eq!(rows, ["1", "2", "a"]);
}

/// Waits up to a minute for `ready`, failing with `what`.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn send_sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// The exit status of `child`, which must end within a minute.
fn exit_code(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("morsel did not end after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_during_copy_removes_its_staging_and_exits_143() {
    let dir = TempDir::new().unwrap();
    let mut child = Command::cargo_bin("morsel")
        .unwrap()
        .current_dir(dir.path())
        .args(["-c", "COPY (SELECT * FROM range(2000000000)) TO 'out.csv'"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until rows are being written under the staging directory.
    wait_until("staged bytes", || {
        staging_in(dir.path()).iter().any(|name| {
            std::fs::read_dir(dir.path().join(name))
                .unwrap()
                .any(|f| f.unwrap().metadata().unwrap().len() > 0)
        })
    });
    send_sigterm(&child);
    assert_eq!(exit_code(&mut child), Some(143));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    assert_eq!(staging_in(dir.path()), Vec::<String>::new());
    assert!(!dir.path().join("out.csv").exists());
}

#[test]
fn sigterm_at_the_prompt_ends_the_repl_with_143() {
    let (mut repl, _home) = repl_with_pager("cat");
    // After a statement, tokio handles the signals: SIGTERM must still end it.
    repl.send_line("SELECT 42 AS answer;").unwrap();
    repl.expect(Regex(r"\|\s+42\s+\|")).expect("answer");
    repl.expect("morsel> ").expect("prompt");
    let pid = repl.get_process().pid().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = repl.get_process().wait().expect("morsel ends");
    // nix's `WaitStatus::Exited(pid, code)`, which expectrl does not re-export.
    let status = format!("{status:?}");
    assert!(
        status.starts_with("Exited(") && status.ends_with(", 143)"),
        "{status}"
    );
}

/// A statement that panics inside DataFusion 55.2 in debug and release
/// builds alike: `Vec::with_capacity` of the centroid count, on the tokio
/// workers that run the partial aggregates (apache/datafusion#24900). When
/// DataFusion fixes it, these tests need another real panic.
const PANICS_ON_WORKERS: &str = "SELECT approx_percentile_cont(value, 0.5, 9223372036854775807) \
     FROM range(100000) GROUP BY value % 7";
/// The same panic on the thread that drives the statement.
const PANICS_IN_PLACE: &str =
    "SELECT approx_percentile_cont(x, 0.5, 9223372036854775807) FROM (VALUES (1), (2)) t(x)";
const PANIC_LINE: &str = "internal error: capacity overflow (please report it)\n";

#[test]
fn a_panic_is_one_line_and_exit_status_2() {
    for panics in [PANICS_ON_WORKERS, PANICS_IN_PLACE] {
        let script = format!("{panics}; SELECT 'not reached' AS s");
        let (code, stdout, stderr) = morsel_in(Path::new("."), &["-c", &script], None);
        assert_eq!(
            (code, stdout.as_str(), stderr.as_str()),
            (2, "", PANIC_LINE),
            "{panics}"
        );

        // Going on after errors, the next statement runs; the status stays 2.
        let (code, stdout, stderr) = morsel_in(
            Path::new("."),
            &[
                "--continue-on-error",
                "--format",
                "csv",
                "-c",
                panics,
                "-c",
                "SELECT 'after' AS s",
            ],
            None,
        );
        assert_eq!((code, stderr.as_str()), (2, PANIC_LINE));
        assert!(stdout.ends_with("\ns\nafter\n"), "{stdout}");

        // An output file of a run that failed never appears.
        let dir = TempDir::new().unwrap();
        let (code, _, stderr) = morsel_in(dir.path(), &["-o", "out.csv", "-c", panics], None);
        assert_eq!((code, stderr.as_str()), (2, PANIC_LINE));
        assert_eq!(walk(dir.path()), Vec::<std::path::PathBuf>::new());
    }
}

#[test]
fn a_panic_in_copy_leaves_no_output() {
    let dir = TempDir::new().unwrap();
    let copy = format!("COPY ({PANICS_ON_WORKERS}) TO 'out/' STORED AS PARQUET");
    let (code, _, stderr) = morsel_in(dir.path(), &["-c", &copy], None);
    assert_eq!((code, stderr.as_str()), (2, PANIC_LINE));
    assert_eq!(staging_in(dir.path()), Vec::<String>::new());
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_panic_after_spilling_leaves_no_spill_files() {
    let spill = TempDir::new().unwrap();
    let temp_dir = spill.path().to_str().unwrap().to_string();
    // Three million groups do not fit in 20 MB: the inner aggregate spills,
    // then the outer one panics on the groups it reads back.
    let mut child = Command::cargo_bin("morsel")
        .unwrap()
        .env_remove("RUST_BACKTRACE")
        .args(["--memory-limit", "20MB", "--temp-dir", &temp_dir, "-c"])
        .arg(
            "SELECT approx_percentile_cont(c, 0.5, 9223372036854775807) \
             FROM (SELECT value % 3000000 AS g, count(*) AS c FROM range(6000000) GROUP BY g)",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let spill_files = || {
        walk(spill.path())
            .into_iter()
            .filter(|p| p.is_file())
            .count()
    };
    let mut spilled = 0;
    while child.try_wait().unwrap().is_none() {
        spilled = spilled.max(spill_files());
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&output.stderr), PANIC_LINE);
    assert!(spilled > 0, "the statement spilled before it panicked");
    assert_eq!(walk(spill.path()), Vec::<std::path::PathBuf>::new());
}

/// Everything under `dir`, files and directories.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            let mut below = walk(&path);
            below.insert(0, path);
            below
        })
        .collect()
}

#[test]
fn the_repl_lives_on_after_a_panic() {
    let (mut repl, _home) = repl_with_pager("cat");
    repl.send_line(format!("{PANICS_ON_WORKERS};")).unwrap();
    repl.expect("internal error: capacity overflow (please report it)")
        .expect("one line");
    repl.expect("morsel> ").expect("prompt");
    repl.send_line("SELECT 6 * 7 AS answer;").unwrap();
    repl.expect(Regex(r"\|\s+42\s+\|"))
        .expect("answers after the panic");
}

/// The Parquet reader panics on some corrupt files (in a debug build, on a
/// footer length that points before the file's start); morsel names the
/// file, as for any file it cannot read: one line, exit 1, no internal
/// error (found by `examples/inputfuzz --target parquet`).
#[test]
fn a_parquet_file_the_reader_chokes_on_is_named() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("bad.parquet");
    let copy = format!(
        "COPY (SELECT value AS v FROM range(1000)) TO '{}'",
        file.display()
    );
    let (code, _, err) = morsel_in(dir.path(), &["-c", &copy], None);
    assert_eq!(code, 0, "{err}");
    let mut bytes = std::fs::read(&file).unwrap();
    let length_at = bytes.len() - 8;
    bytes[length_at..length_at + 4].copy_from_slice(&0x7fff_ff00_u32.to_le_bytes());
    std::fs::write(&file, bytes).unwrap();
    for sql in [
        "SELECT * FROM 'bad.parquet'",
        "SELECT count(*) FROM 'bad.parquet'",
    ] {
        let (code, _, err) = morsel_in(dir.path(), &["-c", sql], None);
        assert_eq!(code, 1, "{sql}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains("bad.parquet: not a valid Parquet file") && !err.contains("internal"),
            "{err}"
        );
    }
}

/// A page index that places a page past where its bytes end: the whole
/// file reads in order, but a scan that follows the index panicked slicing
/// past the page (`bytes` 1.12, `range end out of bounds`). The file is
/// scanned alone again to find it, and named (found by
/// `examples/inputfuzz --target parquet --seed 11`, case 52,804).
#[test]
fn a_parquet_file_with_a_lying_page_index_is_named() {
    let dir = TempDir::new().unwrap();
    std::fs::copy(
        "testdata/corrupt/page_index_past_its_page.parquet",
        dir.path().join("lying.parquet"),
    )
    .unwrap();
    let (code, _, err) = morsel_in(dir.path(), &["-c", "SELECT * FROM 'lying.parquet'"], None);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("lying.parquet: not a valid Parquet file") && !err.contains("internal"),
        "{err}"
    );
}
