//! The `morsel` binary end to end: batch mode, formats, exit codes, errors.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use tempfile::TempDir;

mod common;
use common::{morsel, morsel_in};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

const BY_YEAR: &str = "SELECT year, count(*) AS n FROM events GROUP BY year ORDER BY year";

#[test]
fn formats_print_the_same_result() {
    let cases = [
        ("csv", "year,n\n2023,15\n2024,45\n"),
        ("tsv", "year\tn\n2023\t15\n2024\t45\n"),
        (
            "json",
            "[{\"year\":2023,\"n\":15},{\"year\":2024,\"n\":45}]\n",
        ),
        (
            "ndjson",
            "{\"year\":2023,\"n\":15}\n{\"year\":2024,\"n\":45}\n",
        ),
        (
            "markdown",
            "| year | n  |\n|------|----|\n| 2023 | 15 |\n| 2024 | 45 |\n",
        ),
        (
            "table",
            "+------+----+\n| year | n  |\n+------+----+\n| 2023 | 15 |\n| 2024 | 45 |\n+------+----+\n",
        ),
    ];
    for (format, expected) in cases {
        let (code, out, err) = morsel(&["testdata/data", "--format", format, "-c", BY_YEAR]);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, expected, ""),
            "{format}"
        );
    }
}

#[test]
fn empty_results_keep_their_header() {
    let sql = "SELECT year FROM events WHERE year = 1999";
    let (_, csv, _) = morsel(&["testdata/data", "--format", "csv", "-c", sql]);
    assert_eq!(csv, "year\n");
    let (_, json, _) = morsel(&["testdata/data", "--format", "json", "-c", sql]);
    assert_eq!(json, "[]\n");
}

#[test]
fn commands_and_files_run_in_the_order_given() {
    let dir = TempDir::new().unwrap();
    let script = dir.path().join("two.sql");
    std::fs::write(&script, "SELECT 2 AS x;\n").unwrap();
    let (code, out, _) = morsel(&[
        "--format",
        "csv",
        "-c",
        "SELECT 1 AS x",
        "-f",
        script.to_str().unwrap(),
        "-c",
        "SELECT 3 AS x",
    ]);
    assert_eq!((code, out.as_str()), (0, "x\n1\nx\n2\nx\n3\n"));
}

#[test]
fn sql_piped_on_stdin_runs_in_batch() {
    let (code, out, _) = morsel_in(
        repo(),
        &["testdata/data", "--format", "csv"],
        Some(
            "SELECT count(*) AS n FROM logs;\nSELECT max(ms) AS m FROM logs WHERE level = 'WARN';\n",
        ),
    );
    assert_eq!((code, out.as_str()), (0, "n\n30\nm\n494\n"));
}

#[test]
fn a_failing_script_names_file_line_and_column() {
    let dir = TempDir::new().unwrap();
    let script = dir.path().join("broken.sql");
    std::fs::write(
        &script,
        "SELECT 1 AS ok;\n\n-- the next one is wrong\nSELECT id,\n  amout FROM events;\nSELECT 3 AS never;\n",
    )
    .unwrap();
    let (code, out, err) = morsel(&[
        "testdata/data",
        "--format",
        "csv",
        "-f",
        script.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(out, "ok\n1\n", "stops at the first failure");
    let expected = format!("{}:5:3: error: ", script.display());
    assert!(err.starts_with(&expected), "{err}");
    assert!(err.contains("amout"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn syntax_errors_point_into_the_statement() {
    let (code, _, err) = morsel(&["-c", "SELECT 1;\nSELECT * FORM t"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("<command>:2:10: error: syntax error: "),
        "{err}"
    );
}

#[test]
fn continue_on_error_runs_everything_and_still_fails() {
    let (code, out, err) = morsel(&[
        "testdata/data",
        "--format",
        "csv",
        "--continue-on-error",
        "-c",
        "SELECT 1 AS a; SELECT * FROM evnts; SELECT 2 AS b",
    ]);
    assert_eq!((code, out.as_str()), (1, "a\n1\nb\n2\n"));
    assert_eq!(
        err.trim_end(),
        "<command>:1:30: error: table 'evnts' not found; did you mean 'events'?"
    );
}

#[test]
fn bad_files_give_one_line_errors_that_name_them() {
    let cases = [
        (
            "SELECT * FROM 'testdata/bad/malformed.csv'",
            "testdata/bad/malformed.csv:4: ",
        ),
        (
            "SELECT * FROM 'testdata/bad/truncated.parquet'",
            "truncated.parquet",
        ),
        (
            "SELECT * FROM 'testdata/none.parquet'",
            "testdata/none.parquet",
        ),
    ];
    for (sql, needle) in cases {
        let (code, _, err) = morsel(&["-c", sql]);
        assert_eq!(code, 1, "{sql}");
        assert!(err.contains(needle), "{sql}: {err}");
        assert_eq!(err.lines().count(), 1, "{sql}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (code, _, err) = morsel(&["-f", "no/such/script.sql"]);
    assert_eq!(code, 1);
    assert!(err.contains("no/such/script.sql"), "{err}");
}

#[test]
fn pruned_partitions_are_never_opened() {
    let create = "CREATE EXTERNAL TABLE p (id BIGINT, v DOUBLE, year INT) STORED AS PARQUET \
                  PARTITIONED BY (year) LOCATION 'testdata/bad/pruned/';";
    let pruned = format!("{create} SELECT count(*) AS n FROM p WHERE year = 2024");
    let (code, out, err) = morsel(&["--format", "csv", "-c", &pruned]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "n\n3\n", ""));
    let all = format!("{create} SELECT count(*) AS n FROM p");
    let (code, _, err) = morsel(&["--format", "csv", "-c", &all]);
    assert_eq!(code, 1);
    assert!(
        err.contains("testdata/bad/pruned/year=2023/part-0.parquet"),
        "{err}"
    );
}

#[test]
fn max_rows_says_how_many_were_left_out() {
    let (code, out, _) = morsel(&["--max-rows", "3", "-c", "SELECT value FROM range(10)"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("| ")).count(),
        4,
        "{out}"
    );
    assert!(out.contains("3 rows shown, 7 not shown"), "{out}");
}

#[test]
fn output_file_appears_only_when_the_run_succeeds() {
    let dir = TempDir::new().unwrap();
    let good = dir.path().join("good.csv");
    let (code, _, _) = morsel(&[
        "testdata/data",
        "--format",
        "csv",
        "-o",
        good.to_str().unwrap(),
        "-c",
        BY_YEAR,
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(&good).unwrap(),
        "year,n\n2023,15\n2024,45\n"
    );

    let bad = dir.path().join("bad.csv");
    let (code, _, _) = morsel(&[
        "testdata/data",
        "--format",
        "csv",
        "-o",
        bad.to_str().unwrap(),
        "-c",
        BY_YEAR,
        "-c",
        "SELECT * FROM 'testdata/bad/malformed.csv'",
    ]);
    assert_eq!(code, 1);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("good.csv")],
        "nothing half-written"
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let mut child = Command::cargo_bin("morsel")
        .unwrap()
        .args([
            "--format",
            "csv",
            "-c",
            "SELECT value FROM range(100000000)",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "value\n");
    // Dropping the reader closes the pipe, as `head -1` does.
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn spilling_under_a_memory_limit_leaves_no_files() {
    let spill = TempDir::new().unwrap();
    let (code, out, err) = morsel(&[
        "--memory-limit",
        "8MB",
        "--temp-dir",
        spill.path().to_str().unwrap(),
        "--threads",
        "2",
        "--format",
        "csv",
        "-c",
        "SELECT count(*) AS n, min(v) AS lo, max(v) AS hi FROM \
               (SELECT value * 7919 % 1000003 AS v FROM range(3000000) ORDER BY v)",
    ]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, "n,lo,hi\n3000000,0,1000002\n");
    assert_eq!(
        std::fs::read_dir(spill.path()).unwrap().count(),
        0,
        "spill files removed"
    );
}

#[test]
fn backslash_commands_work_in_batch() {
    let (code, out, _) = morsel(&["testdata/data", "--format", "csv", "-c", "\\d"]);
    assert_eq!(code, 0);
    let events = out
        .lines()
        .find(|l| l.starts_with("events,"))
        .expect("events listed");
    assert!(events.starts_with("events,parquet,"), "{events}");
    assert!(
        events.ends_with("testdata/data/events/,\"year Int64, month Utf8\""),
        "{events}"
    );

    let (code, out, _) = morsel(&["testdata/data", "--format", "csv", "-c", "\\d scores"]);
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "column,type,nullable\nplayer,Utf8,YES\nscore,Int64,YES\n"
        )
    );

    let (code, _, err) = morsel(&["testdata/data", "-c", "\\d scroes"]);
    assert_eq!(code, 1);
    assert!(err.contains("did you mean 'scores'?"), "{err}");
}

#[test]
fn copy_output_reads_back_in_duckdb_and_pyarrow() {
    let dir = TempDir::new().unwrap();
    let target = format!("{}/out/", dir.path().display());
    let copy = format!(
        "COPY (SELECT id, amount, kind FROM events) TO '{target}' STORED AS PARQUET PARTITIONED BY (kind)"
    );
    let (code, _, err) = morsel(&["testdata/data", "-q", "-c", &copy]);
    assert_eq!((code, err.as_str()), (0, ""));
    let (_, ours, _) = morsel(&[
        "--format",
        "csv",
        "-c",
        &format!(
            "SELECT kind, count(*) AS n, round(sum(amount), 2) AS s FROM '{target}' GROUP BY kind ORDER BY kind"
        ),
    ]);
    let python = format!(
        r#"
import duckdb, pyarrow.dataset as ds
d = duckdb.sql("SELECT kind, count(*), round(sum(amount), 2) FROM read_parquet('{target}**/*.parquet', hive_partitioning=true) GROUP BY kind ORDER BY kind").fetchall()
t = ds.dataset('{target}', format='parquet', partitioning='hive').to_table()
p = sorted((k, t.filter(ds.field('kind') == k).num_rows) for k in set(t.column('kind').to_pylist()))
print("kind,n,s")
for (k, n, s), (pk, pn) in zip(d, p):
    assert (k, n) == (pk, pn), (k, n, pk, pn)
    print(f"{{k}},{{n}},{{s}}")
"#
    );
    let output = Command::new("python3")
        .args(["-c", &python])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), ours);
}

#[test]
fn scripts_can_switch_format_output_and_timing() {
    let dir = TempDir::new().unwrap();
    let other = dir.path().join("other.sql");
    std::fs::write(&other, "SELECT 'included' AS source;\n").unwrap();
    let side = dir.path().join("side.txt");
    let script = dir.path().join("main.sql");
    std::fs::write(
        &script,
        format!(
            "\\format csv\nSELECT 1 AS a;\n\\o {}\nSELECT 2 AS b;\n\\o\n\\i {}\n\\timing on\n\\format json\nSELECT 3 AS c;\n",
            side.display(),
            other.display()
        ),
    )
    .unwrap();
    let (code, out, err) = morsel(&["-f", script.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "a\n1\nsource\nincluded\n[{\"c\":3}]\n");
    assert_eq!(std::fs::read_to_string(&side).unwrap(), "b\n2\n");
    assert!(err.contains("timing is on"), "{err}");
    assert!(err.contains("1 row in "), "{err}");
}

/// The bytes `\timing` says were read, from `… (N requests, 12.3 KiB read)`.
fn bytes_read(line: &str) -> f64 {
    let Some(figure) = line
        .split(", ")
        .find_map(|part| part.strip_suffix(" read)"))
    else {
        return 0.0;
    };
    let (number, unit) = figure.split_once(' ').unwrap();
    let scale = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        other => panic!("unit {other} in {line}"),
    };
    number.parse::<f64>().unwrap() * scale
}

/// `count(*)` over a Parquet file is answered from its footer: `\timing`
/// must say a little was read, not the file's size once per metadata
/// lookup (it said 4 × 17 MiB for a 17 MiB file).
#[test]
fn timing_counts_only_the_bytes_a_query_reads() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("t.parquet");
    let copy = format!(
        "COPY (SELECT value AS v, md5(CAST(value AS VARCHAR)) AS s FROM range(400000)) TO '{}'",
        file.display()
    );
    let count = format!("SELECT count(*) FROM '{}'", file.display());
    let (code, _, err) = morsel(&["-c", &copy, "-c", "\\timing on", "-c", &count]);
    assert_eq!(code, 0, "{err}");
    let size = std::fs::metadata(&file).unwrap().len() as f64;
    let line = err.lines().last().unwrap();
    assert!(line.starts_with("1 row in "), "{err}");
    assert!(
        bytes_read(line) < size / 4.0,
        "{line}, for a file of {size} bytes"
    );
}

#[test]
fn help_lists_every_command() {
    let (code, out, _) = morsel(&["-c", "\\?"]);
    assert_eq!(code, 0);
    for command in [
        "\\q",
        "\\d NAME",
        "\\timing",
        "\\format NAME",
        "\\i FILE",
        "\\o [FILE]",
    ] {
        assert!(out.contains(command), "{command}: {out}");
    }
}

/// morsel running `args`, sent SIGINT (as Ctrl-C does) 1.5 s after it
/// started; its output goes to `output` (`piped` to read it back).
fn interrupted(args: &[&str], output: fn() -> Stdio) -> std::process::Child {
    let child = Command::cargo_bin("morsel")
        .unwrap()
        .args(args)
        .stdout(output())
        .stderr(output())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    child
}

#[test]
fn ctrl_c_in_batch_cancels_and_leaves_no_partial_copy() {
    let dir = TempDir::new().unwrap();
    let target = format!("{}/out/", dir.path().display());
    let copy = format!(
        "COPY (SELECT value, value * 2 AS twice FROM range(100000000000)) TO '{target}' STORED AS PARQUET"
    );
    let child = interrupted(&["-c", &copy], Stdio::piped);
    let output = child.wait_with_output().unwrap();
    // 128 + SIGINT, as a shell reports a command Ctrl-C stopped.
    assert_eq!(output.status.code(), Some(130));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("error: query cancelled"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "no staging or partial output left: {left:?}"
    );
}

/// Ctrl-C stops a query whose join turns each input batch into thousands
/// of output batches: before `cancellable_joins`, the aggregate above the
/// join never yielded, and the cancelled query ran on (here for hours).
#[test]
fn ctrl_c_stops_a_join_that_never_waits_for_input() {
    let sql = "SELECT count(*), sum(a.value * b.value) FROM range(1000000) a, range(1000000) b";
    let mut child = interrupted(&["--threads", "2", "-c", sql], Stdio::null);
    // Not a speed target: the query itself would run for hours.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running a minute after Ctrl-C");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(130));
}

#[test]
fn plan_graphs_show_every_operator_with_its_figures() {
    let dir = TempDir::new().unwrap();
    let svg = dir.path().join("plan.svg");
    let sql =
        "SELECT kind, count(*) AS n FROM events WHERE year = 2024 GROUP BY kind ORDER BY n DESC";
    let (code, out, err) = morsel(&[
        "testdata/data",
        "--format",
        "csv",
        "--plan",
        svg.to_str().unwrap(),
        "-c",
        sql,
    ]);
    assert_eq!(code, 0, "{err}");
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") || svg.contains("<svg"), "{svg}");
    for operator in ["SortExec", "AggregateExec", "DataSourceExec"] {
        assert!(svg.contains(operator), "{operator} missing");
    }
    // The scan's 45 rows of 2024 flow out of it, and the figures are there.
    assert!(svg.contains("45 rows"), "{svg}");
    assert!(svg.contains(" ms"), "compute time: {svg}");
    let groups = out.lines().count() - 1;
    assert!(svg.contains(&format!("{groups} rows")), "{svg}");

    // \explain writes DOT and HTML too, before or after running.
    let dot = dir.path().join("plan.dot");
    let html = dir.path().join("plan.html");
    let commands = format!(
        "\\explain {} {sql}\n\\explain analyze {} {sql}\n",
        dot.display(),
        html.display()
    );
    let script = dir.path().join("explain.sql");
    std::fs::write(&script, commands).unwrap();
    let (code, _, err) = morsel(&["testdata/data", "-f", script.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let dot = std::fs::read_to_string(dot).unwrap();
    assert!(dot.starts_with("digraph plan {"), "{dot}");
    assert!(
        dot.contains("AggregateExec") && !dot.contains(" rows\""),
        "not run: {dot}"
    );
    let html = std::fs::read_to_string(html).unwrap();
    assert!(html.contains("<svg") && html.contains("<table>"), "{html}");
    assert!(html.contains("DataSourceExec</td><td>"), "{html}");
}

#[test]
fn expanded_display_prints_a_block_per_record() {
    let (code, out, err) = morsel(&[
        "testdata/data",
        "-c",
        "\\x on",
        "-c",
        "SELECT name, country FROM cities ORDER BY name LIMIT 2",
    ]);
    assert_eq!(code, 0, "{err}");
    let first = out.lines().next().unwrap_or_default();
    assert!(first.starts_with("-[ RECORD 1 ]"), "{out}");
    assert!(out.contains("\ncountry | "), "{out}");
    assert_eq!(out.matches("-[ RECORD").count(), 2, "{out}");
}

/// A quote left open in a CSV header swallows the next line into a column
/// name; the error that names the file's columns stays on one line (found
/// by `examples/inputfuzz --target csv --seed 11`, case 372,890).
#[test]
fn a_header_with_a_line_end_in_a_name_gives_a_one_line_error() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("open.csv"),
        "\"id,amount,day,note\n0,12\"10.43,2024-07-25,,\n",
    )
    .unwrap();
    let (code, _, err) = common::morsel_in(dir.path(), &["-c", "SELECT * FROM 'open.csv'"], None);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("open.csv"), "{err}");
}
