//! Cluster mode with real processes on loopback: a scheduler and two
//! executors started as `morsel cluster …` on free ports, and clients that
//! run queries through them with `--cluster`.

mod common;

use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use common::morsel;

/// A `morsel cluster …` process, stopped with SIGTERM when dropped.
struct Process {
    child: Child,
    stderr: Receiver<String>,
    seen: RefCell<Vec<String>>,
}

impl Process {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::cargo_bin("morsel")
            .expect("binary built")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("morsel starts");
        let (lines, stderr) = channel();
        let pipe = BufReader::new(child.stderr.take().expect("stderr"));
        std::thread::spawn(move || {
            for line in pipe.lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        Self {
            child,
            stderr,
            seen: RefCell::default(),
        }
    }

    /// The first line of stderr that contains `needle`, waiting up to a
    /// minute for it.
    fn line_with(&self, needle: &str) -> String {
        if let Some(line) = self.seen.borrow().iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.seen.borrow_mut().push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no line with {needle:?} on the process's stderr");
    }

    /// Sends SIGTERM and waits for the exit status.
    fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the process did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A port no one listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A scheduler and `executors` executors of 2 tasks each, all running.
struct Cluster {
    url: String,
    scheduler: Process,
    executors: Vec<Process>,
}

impl Cluster {
    fn start(executors: usize) -> Self {
        let address = format!("127.0.0.1:{}", free_port());
        let scheduler = Process::start(&["cluster", "scheduler", "--bind", &address]);
        scheduler.line_with("scheduler listening");
        let executors = (0..executors)
            .map(|_| {
                let bind = format!("127.0.0.1:{}", free_port());
                let grpc = free_port().to_string();
                let args = [
                    "cluster",
                    "executor",
                    "--scheduler",
                    &address,
                    "--bind",
                    &bind,
                    "--grpc-port",
                    &grpc,
                    "--threads",
                    "2",
                ];
                let executor = Process::start(&args);
                executor.line_with("Executor registration succeed");
                executor
            })
            .collect();
        Self {
            url: format!("df://{address}"),
            scheduler,
            executors,
        }
    }

    /// `morsel --cluster URL ARGS…`, which must succeed; its stdout.
    fn run(&self, args: &[&str]) -> String {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--cluster", &self.url]);
        let (status, stdout, stderr) = morsel(&all);
        assert_eq!(status, 0, "morsel {all:?} failed: {stderr}");
        stdout
    }
}

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
