//! Failures kept in bounds: Hive's NULL partitions read as NULL, a
//! missing pager loses no result, and dead processes leave no staging.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

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
