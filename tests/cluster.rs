//! Cluster mode with real processes on loopback: a scheduler and two
//! executors started as `morsel cluster …` on free ports, and clients that
//! run queries through them with `--cluster`.

mod common;

use std::path::Path;

use common::cluster::Cluster;
use common::morsel;

/// `morsel ARGS…` here, which must succeed; its stdout.
fn run_locally(args: &[&str]) -> String {
    let (status, stdout, stderr) = morsel(args);
    assert_eq!(status, 0, "morsel {args:?} failed: {stderr}");
    stdout
}

#[test]
fn tpch_answers_are_verified_through_a_scheduler_and_two_executors() {
    let cluster = Cluster::start(2);
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("sf0.01");
    let dir = dir.to_str().unwrap();
    run_locally(&["tpch", "gen", "--sf", "0.01", "--out", dir]);
    let report = cluster.run(&[
        "bench",
        "tpch",
        "--data",
        dir,
        "--iterations",
        "1",
        "--verify",
    ]);
    assert!(report.contains("22 passed, 0 failed"), "{report}");
    drop(cluster.executors);
    drop(cluster.scheduler);
}

#[test]
fn tables_answer_as_they_do_locally() {
    let cluster = Cluster::start(2);
    // A hive-partitioned table and its pruning, a one-level glob (which
    // must not read `data/events/…`), a CSV table, and NOT IN over NULLs.
    let queries = [
        "SELECT year, month, count(*), sum(amount) FROM events WHERE year = 2024 GROUP BY year, month ORDER BY 1, 2",
        "SELECT count(*) FROM 'testdata/data/*.csv'",
        "SELECT * FROM cities ORDER BY 1",
        "SELECT count(*) FROM events WHERE id NOT IN (SELECT CASE WHEN id = 3 THEN NULL ELSE id * 2 END FROM events)",
        "SELECT count(*) FROM events WHERE id NOT IN (SELECT id * 2 FROM events WHERE id < 10)",
    ];
    for query in queries {
        let args = ["testdata/data", "--format", "csv", "-c", query];
        assert_eq!(cluster.run(&args), run_locally(&args), "{query}");
    }
}

#[test]
fn an_executor_stopped_by_sigterm_removes_its_shuffle_files() {
    let mut cluster = Cluster::start(1);
    let answer = cluster.run(&[
        "testdata/data",
        "-c",
        "SELECT kind, count(*) FROM events GROUP BY kind",
    ]);
    assert!(answer.contains("count(*)"), "{answer}");
    let mut executor = cluster.executors.pop().unwrap();
    let started = executor.line_with("shuffle files in ");
    let work_dir = started
        .rsplit("shuffle files in ")
        .next()
        .unwrap()
        .to_string();
    assert!(Path::new(&work_dir).is_dir(), "{work_dir}");
    assert!(executor.stop().success());
    assert!(!Path::new(&work_dir).exists(), "{work_dir} is left behind");
    assert!(cluster.scheduler.stop().success());
}
