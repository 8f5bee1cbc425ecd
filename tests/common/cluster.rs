//! A cluster of real `morsel cluster …` processes on free loopback ports,
//! for the tests that run queries through one.

use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

use super::morsel;

/// A `morsel cluster …` process, stopped with SIGTERM when dropped.
pub struct Process {
    child: Child,
    stderr: Receiver<String>,
    seen: RefCell<Vec<String>>,
}

impl Process {
    pub fn start(args: &[&str]) -> Self {
        let mut command = Command::cargo_bin("morsel").expect("binary built");
        // S3 settings reach the cluster with each query, or from what a
        // test gives it; never from the developer's environment.
        for (name, _) in std::env::vars() {
            if name.starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        let mut child = command
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
    pub fn line_with(&self, needle: &str) -> String {
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
        let seen = self.seen.borrow();
        let last = &seen[seen.len().saturating_sub(10)..];
        panic!("no line with {needle:?} on the process's stderr; its last lines: {last:#?}");
    }

    /// Every line of stderr the process has written so far.
    pub fn lines_so_far(&self) -> Vec<String> {
        let mut seen = self.seen.borrow_mut();
        seen.extend(self.stderr.try_iter());
        seen.clone()
    }

    /// Kills the process outright (SIGKILL), as a crash or the OOM killer
    /// would, and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
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
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A scheduler and `executors` executors of 2 tasks each, all running.
pub struct Cluster {
    pub url: String,
    pub scheduler: Process,
    pub executors: Vec<Process>,
}

impl Cluster {
    pub fn start(executors: usize) -> Self {
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
    pub fn run(&self, args: &[&str]) -> String {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--cluster", &self.url]);
        let (status, stdout, stderr) = morsel(&all);
        assert_eq!(status, 0, "morsel {all:?} failed: {stderr}");
        stdout
    }
}
