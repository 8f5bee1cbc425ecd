//! Cluster mode with real processes on loopback: a scheduler and two
//! executors started as `morsel cluster …` on free ports, and clients that
//! run queries through them with `--cluster`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, Ordering};

use assert_cmd::cargo::CommandCargoExt;
use common::cluster::{Cluster, Process};
use common::morsel;
use morsel::session::{Collected, EngineOptions, Session};

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
        // Relations the optimizer emptied travel with their columns: the
        // header of an emptied query, and the mark join of an `IN` beside
        // a subquery emptied by the rewrite of IN with NULLs.
        "(SELECT id FROM events WHERE 1 = 0) UNION (SELECT id FROM events WHERE 2 = 0)",
        "SELECT count(*) FROM events WHERE 'x' IN (SELECT name FROM cities WHERE 1 = 0) OR id IN (SELECT id FROM events WHERE id < 3)",
    ];
    for query in queries {
        let args = ["testdata/data", "--format", "csv", "-c", query];
        assert_eq!(cluster.run(&args), run_locally(&args), "{query}");
    }
}

/// A FULL JOIN without an equality is a nested loop, each of whose tasks
/// holds all of its left side: tasks on different executors each added
/// the left rows they had not matched (sqlfuzz, `--seed 9205`, query 323,
/// after the right side was read in several tasks). It runs as the LEFT
/// join UNION ALL the right rows nothing matched, and answers as locally.
#[test]
fn a_full_join_without_an_equality_answers_as_locally() {
    let cluster = Cluster::start(2);
    let query = "SELECT count(*), count(e.id), count(c.name) FROM cities c FULL JOIN events e \
                 ON e.id * 100000 < c.population";
    let args = ["testdata/data", "--format", "csv", "-c", query];
    let answer = cluster.run(&args);
    assert_eq!(answer, run_locally(&args));
    assert_eq!(answer, "count(*),count(e.id),count(c.name)\n76,75,76\n");
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

    // A `--work-dir` of the user's stays as it was: what it held before
    // is kept, the job directories made in it are gone.
    let given = tempfile::tempdir().unwrap();
    std::fs::write(given.path().join("mine.txt"), "kept").unwrap();
    std::fs::create_dir(given.path().join("mine")).unwrap();
    let scheduler = cluster.url.trim_start_matches("df://").to_string();
    let bind = format!("127.0.0.1:{}", common::cluster::free_port());
    let grpc = common::cluster::free_port().to_string();
    let work_dir = given.path().to_str().unwrap();
    let mut executor = Process::start(&[
        "cluster",
        "executor",
        "--scheduler",
        &scheduler,
        "--bind",
        &bind,
        "--grpc-port",
        &grpc,
        "--work-dir",
        work_dir,
    ]);
    executor.line_with("Executor registration succeed");
    let answer = cluster.run(&[
        "testdata/data",
        "-c",
        "SELECT kind, count(*) FROM events GROUP BY kind",
    ]);
    assert!(answer.contains("count(*)"), "{answer}");
    assert!(executor.stop().success());
    let mut left: Vec<String> = std::fs::read_dir(given.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["mine", "mine.txt"]);
    assert!(cluster.scheduler.stop().success());
}

#[test]
fn a_local_cluster_answers_as_locally_and_stops_with_its_client() {
    // The executors' shuffle files go to the temporary directory, which
    // must be empty again once the client has stopped them.
    let temp = tempfile::tempdir().unwrap();
    let query = "SELECT e.kind, count(*), round(sum(e.amount), 2) FROM events e JOIN events f ON e.id = f.id GROUP BY e.kind ORDER BY e.kind";
    let args = ["testdata/data", "--format", "csv", "-c", query];
    let output = Command::cargo_bin("morsel")
        .unwrap()
        .args(args)
        .args(["--cluster", "local:2"])
        .env("TMPDIR", temp.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), run_locally(&args));
    let left: Vec<_> = std::fs::read_dir(temp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn joins_spill_on_executors_under_a_memory_limit() {
    // The client's limit is shared among the local cluster's executors, and
    // each task's join spills there (`planning::stage_rules`); spill files
    // go to the temporary directory, empty again at the end. `\timing`
    // reports the job's stages and tasks and the bytes spilled.
    let temp = tempfile::tempdir().unwrap();
    let table = temp.path().join("keys.parquet");
    let table = table.to_str().unwrap();
    let copy = format!("COPY (SELECT value AS k, value * 7 AS v FROM range(1500000)) TO '{table}'");
    run_locally(&["-c", &copy]);
    let query =
        format!("SELECT count(*), sum(a.v - b.k) FROM '{table}' a JOIN '{table}' b ON a.k = b.k");
    let script = temp.path().join("join.sql");
    std::fs::write(&script, format!("\\timing on\n{query};\n")).unwrap();
    let spill_dir = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("morsel")
        .unwrap()
        .args([
            "--format",
            "csv",
            "--cluster",
            "local:2",
            "--memory-limit",
            "48MB",
        ])
        .args(["-f", script.to_str().unwrap()])
        .env("TMPDIR", spill_dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let expected = run_locally(&["--format", "csv", "-c", &query]);
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    assert!(stderr.contains("tasks on the cluster"), "{stderr}");
    assert!(stderr.contains("spilled"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(spill_dir.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn the_plan_picture_of_a_cluster_run_shows_its_stages_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    let picture = dir.path().join("plan.dot");
    let query = "SELECT kind, count(*) FROM events GROUP BY kind";
    let args = [
        "testdata/data",
        "--cluster",
        "local:2",
        "-c",
        query,
        "--plan",
    ];
    let (status, _, stderr) = morsel(&[&args[..], &[picture.to_str().unwrap()]].concat());
    assert_eq!(status, 0, "{stderr}");
    let dot = std::fs::read_to_string(&picture).unwrap();
    // The stages, a later one reading the first's shuffle, and the scan's
    // rows as the executors counted them (events has 60).
    for text in [
        "ShuffleReaderExec (stage ",
        "DataSourceExec (stage 1)",
        "60 rows",
    ] {
        assert!(dot.contains(text), "{text} missing from {dot}");
    }
}

#[test]
fn a_local_cluster_of_no_executors_is_refused_in_a_line() {
    let (status, _, stderr) = morsel(&["-c", "SELECT 1", "--cluster", "local:0"]);
    assert_eq!(status, 1, "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("give the number of executors"), "{stderr}");
}

/// A table of 400,000 rows in 8 Parquet files under `dir`, and a query
/// over it that runs for a second or more in several stages: each key of
/// the join matches 200 rows, 80 million pairs in all, after the scans.
fn slow_query(dir: &Path) -> (String, String) {
    let table = dir.join("t");
    let table = table.to_str().unwrap().to_string();
    run_locally(&[
        "-c",
        &format!(
            "COPY (SELECT value AS k, value % 2000 AS g, value % 8 AS p FROM generate_series(1, 400000)) \
             TO '{table}/' STORED AS PARQUET PARTITIONED BY (p)"
        ),
    ]);
    let query = format!(
        "SELECT a.g % 3 AS r, count(*), sum(b.k) FROM '{table}/' a JOIN '{table}/' b ON a.g = b.g \
         GROUP BY 1 ORDER BY 1"
    );
    (table, query)
}

/// The client running `query` on `cluster`, started.
fn client(cluster: &Cluster, query: &str) -> std::process::Child {
    Command::cargo_bin("morsel")
        .unwrap()
        .args(["--format", "csv", "--threads", "4", "-c", query])
        .args(["--cluster", &cluster.url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The progress bar's figures for a query on a cluster come from the
/// scheduler: every stage of the job from the start, the tasks of each
/// (one per partition of its input), and those done, which only grow.
#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_query_reports_its_stages_and_tasks_while_it_runs() {
    let data = tempfile::tempdir().unwrap();
    let (_, query) = slow_query(data.path());
    let cluster = Cluster::start(2);
    let options = EngineOptions {
        cluster: Some(cluster.url.clone()),
        ..EngineOptions::default()
    };
    let session = Session::new(&options).unwrap();
    let finished = AtomicBool::new(false);
    let run = async {
        let mut rows = Collected::default();
        let ran = session.execute(&query, &mut rows).await;
        finished.store(true, Ordering::SeqCst);
        ran
    };
    let watch = async {
        let mut seen = Vec::new();
        while !finished.load(Ordering::SeqCst) {
            if let Some(job) = session.progress().await.and_then(|now| now.job) {
                seen.push(job);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        seen
    };
    let (ran, seen) = tokio::join!(run, watch);
    ran.unwrap();
    assert!(!seen.is_empty(), "no progress from the scheduler");
    let stages = seen[0].stages.len();
    // Two scans, the join, the grouping and the ordering.
    assert!(stages >= 3, "{:?}", seen[0]);
    for (before, after) in seen.iter().zip(&seen[1..]) {
        assert_eq!(after.stages.len(), stages, "{after:?}");
        assert!(
            after.tasks_done() >= before.tasks_done(),
            "{before:?} then {after:?}"
        );
        assert!(after.tasks_done() <= after.tasks(), "{after:?}");
    }
    let midway = seen
        .iter()
        .find(|job| job.stages_done() > 0 && job.stages_done() < stages);
    assert!(
        midway.is_some(),
        "no stage seen done before the last: {seen:?}"
    );
}

#[test]
fn an_executor_killed_mid_query_costs_time_not_the_answer() {
    let data = tempfile::tempdir().unwrap();
    let (_, query) = slow_query(data.path());
    let expected = run_locally(&["--format", "csv", "-c", &query]);
    let mut cluster = Cluster::start(2);
    let mut running = client(&cluster, &query);
    // Once the first executor has finished a task of the query, its shuffle
    // files are part of the answer; it dies with them.
    cluster.executors[0].line_with("Finished task");
    assert!(
        running.try_wait().unwrap().is_none(),
        "the query ended before the executor could be killed; make it slower"
    );
    cluster.executors[0].kill();
    let output = running.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
}

#[test]
fn a_query_whose_every_executor_dies_fails_in_bounded_time() {
    let data = tempfile::tempdir().unwrap();
    let (_, query) = slow_query(data.path());
    let mut cluster = Cluster::start(1);
    let mut running = client(&cluster, &query);
    cluster.executors[0].line_with("Finished task");
    cluster.executors[0].kill();
    let killed = Instant::now();
    let deadline = killed + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = running.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the client still waits a minute later"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = running.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    eprintln!("failed {:?} after the kill: {stderr}", killed.elapsed());
}

#[test]
fn ctrl_c_in_the_client_cancels_its_job_on_the_cluster() {
    let data = tempfile::tempdir().unwrap();
    let (_, query) = slow_query(data.path());
    let cluster = Cluster::start(1);
    let running = client(&cluster, &query);
    // As soon as the scheduler has the query: the client has not read the
    // reply naming the job yet, nor has the scheduler planned it, and the
    // client must wait for both to cancel it (the job runs for a second or
    // more).
    cluster.scheduler.line_with("Job queued");
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(running.id() as libc::pid_t, libc::SIGINT) };
    let output = running.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    let cancelled = cluster.scheduler.line_with("Job cancelled");
    assert!(cancelled.contains('['), "{cancelled}");
}

#[test]
fn a_scheduler_unreachable_or_dying_is_one_line_naming_it() {
    let port = common::cluster::free_port();
    let nowhere = format!("df://127.0.0.1:{port}");
    let (status, _, stderr) = morsel(&[
        "-c",
        "SELECT count(*) FROM 'testdata/data/events/'",
        "--cluster",
        &nowhere,
    ]);
    assert_eq!(status, 1, "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot reach the cluster at 127.0.0.1:{port}")),
        "{stderr}"
    );

    let data = tempfile::tempdir().unwrap();
    let (_, query) = slow_query(data.path());
    let mut cluster = Cluster::start(1);
    let running = client(&cluster, &query);
    cluster.scheduler.line_with("Job submitted");
    cluster.scheduler.kill();
    let output = running.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let address = cluster.url.trim_start_matches("df://");
    assert!(
        stderr.contains(&format!("lost the cluster's scheduler at {address}")),
        "{stderr}"
    );
}
