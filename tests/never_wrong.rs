//! Answers that used to be wrong, empty or truncated with exit status 0.

use std::path::Path;

use tempfile::TempDir;

mod common;
use common::{morsel, morsel_in};

#[test]
fn the_row_cap_is_for_the_screen_only() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("all.txt");
    let redirect = format!("\\o {}", file.display());
    let (code, out, err) = morsel(&[
        "--max-rows",
        "3",
        "-c",
        &redirect,
        "-c",
        "SELECT value FROM range(10)",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "", "the result went to the file");
    let written = std::fs::read_to_string(&file).unwrap();
    let rows = written.lines().filter(|l| l.starts_with("| ")).count();
    assert_eq!(rows, 11, "a header and every row: {written}");
    assert!(!written.contains("not shown"), "{written}");
}

#[test]
fn maxrows_changes_the_cap_and_csv_says_what_it_left_out() {
    let (code, out, err) = morsel(&[
        "--format",
        "csv",
        "-c",
        "\\maxrows 2",
        "-c",
        "SELECT value FROM range(5) ORDER BY value",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "value\n0\n1\n", "the CSV itself stays well-formed");
    assert!(err.contains("2 rows shown, 3 not shown"), "{err}");
}

#[test]
fn deep_expressions_plan_and_run_or_are_refused_in_a_line() {
    // Piped on stdin: one argument may not exceed 128 KiB.
    let terms: Vec<String> = (0..3000).map(|i| format!("value <> {}", i + 100)).collect();
    let and_3000 = format!(
        "SELECT count(*) FROM range(10) WHERE {};",
        terms.join(" AND ")
    );
    let (code, out, err) = morsel_in(Path::new("."), &["--format", "csv"], Some(&and_3000));
    assert_eq!((code, out.as_str()), (0, "count(*)\n10\n"), "{err}");

    let sum_20000 = format!("SELECT {} FROM range(3);", vec!["value"; 20000].join(" + "));
    let (code, out, err) = morsel_in(Path::new("."), &[], Some(&sum_20000));
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.contains("chains 19999 operators; morsel plans at most 4000"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn engine_flags_that_cannot_work_are_refused_naming_the_flag() {
    for limit in ["0", "10"] {
        let (code, _, err) = morsel(&["--memory-limit", limit, "-c", "SELECT 1"]);
        assert_ne!(code, 0);
        assert!(
            err.contains("--memory-limit") && err.contains("too little"),
            "{err}"
        );
    }
    let (code, _, err) = morsel(&["--temp-dir", "/nonexistent/spill", "-c", "SELECT 1"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("--temp-dir") && err.contains("/nonexistent/spill: no such directory"),
        "{err}"
    );
}

#[test]
fn a_data_file_given_as_the_directory_is_a_table_and_a_glob_is_refused() {
    let (code, out, err) = morsel(&[
        "--format",
        "csv",
        "testdata/data/cities.csv",
        "-c",
        "SELECT count(*) FROM cities",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "count(*)\n4\n");
    for glob in ["nonexist*", "testdata/data/*.csv"] {
        let (code, out, err) = morsel(&[glob, "-c", "SELECT 1"]);
        assert_ne!(code, 0, "{glob}: {out}");
        assert!(err.contains("query a glob in SQL"), "{err}");
    }
}

#[test]
fn a_data_directory_may_be_named_like_a_subcommand() {
    let dir = TempDir::new().unwrap();
    let tpch = dir.path().join("tpch");
    std::fs::create_dir(&tpch).unwrap();
    std::fs::write(tpch.join("t.csv"), "a\n1\n2\n").unwrap();
    let (code, out, err) = common::morsel_in(
        dir.path(),
        &["tpch", "--format", "csv", "-c", "SELECT count(*) FROM t"],
        None,
    );
    assert_eq!((code, out.as_str()), (0, "count(*)\n2\n"), "{err}");
}

#[test]
fn two_entries_named_alike_are_skipped_by_name_and_the_rest_open() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("x.csv"), "a\n1\n").unwrap();
    std::fs::write(dir.path().join("x.csv.gz"), "skipped before it is read").unwrap();
    std::fs::write(dir.path().join("t.csv"), "a\n1\n").unwrap();
    std::fs::create_dir(dir.path().join("t")).unwrap();
    std::fs::write(dir.path().join("t").join("part.csv"), "a\n1\n").unwrap();
    std::fs::write(dir.path().join("ok.csv"), "b\n7\n").unwrap();
    let data = dir.path().to_str().unwrap();
    let (code, out, err) = morsel(&[data, "--format", "csv", "-c", "SELECT b FROM ok"]);
    assert_eq!((code, out.as_str()), (0, "b\n7\n"), "{err}");
    assert!(
        err.contains("warning: table t skipped")
            && err.contains("/t.csv' and '")
            && err.contains("/t/'"),
        "{err}"
    );
    assert!(err.contains("warning: table x skipped"), "{err}");
    assert_eq!(err.matches("warning: table t skipped").count(), 1, "{err}");
}
