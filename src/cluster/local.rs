//! `--cluster local:N`: a scheduler and N executors started from this
//! binary as child processes on free loopback ports, for one run of the
//! client, and stopped when it ends. It is the one-command demo of cluster
//! mode, and what its tests use.
//!
//! Each process's stderr is read here: startup waits for the scheduler's
//! "listening" line and each executor's registration, and a process that
//! fails to start is reported with its last lines. On Linux a child also
//! gets SIGTERM if the client dies without stopping it.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long a process may take to start and register.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a process may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// What `local:N` asks for: `Some(N)` for a local cluster of N executors,
/// `None` for any other cluster URL.
pub fn local_executors(url: &str) -> Option<Result<usize>> {
    let count = url.strip_prefix("local:")?;
    Some(match count.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Error::Usage(format!(
            "--cluster {url}: give the number of executors, as in local:2"
        ))),
    })
}

/// A running local cluster; dropping it stops its processes.
pub struct LocalCluster {
    url: String,
    /// The executors, then the scheduler: the order they are dropped, and
    /// so stopped, in.
    processes: Vec<Process>,
}

impl LocalCluster {
    /// Starts a scheduler and `executors` executors, each running
    /// `threads` tasks at once within `memory_limit` bytes, if given. Call
    /// it from the thread that lives as long as the client (see
    /// [`stop_with_parent`]).
    pub fn start(executors: usize, threads: usize, memory_limit: Option<usize>) -> Result<Self> {
        let mut scheduler = Process::start(
            "scheduler",
            &["cluster", "scheduler", "--bind", "127.0.0.1:0"],
        )?;
        let listening = scheduler.wait_for("scheduler listening on ")?;
        let address = listening
            .rsplit("scheduler listening on ")
            .next()
            .unwrap_or_default()
            .to_string();
        let mut cluster = Self {
            url: format!("df://{address}"),
            processes: vec![scheduler],
        };
        for n in 1..=executors {
            let executor = Process::start(
                &format!("executor {n}"),
                &executor_args(&address, threads, memory_limit)?,
            )?;
            cluster.processes.insert(0, executor);
            cluster.processes[0].wait_for("Executor registration succeed")?;
        }
        Ok(cluster)
    }

    /// The scheduler's URL, for `--cluster`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// The arguments of an executor of the scheduler at `scheduler`.
fn executor_args(
    scheduler: &str,
    threads: usize,
    memory_limit: Option<usize>,
) -> Result<Vec<String>> {
    let mut args = vec![
        "cluster".to_string(),
        "executor".to_string(),
        "--scheduler".to_string(),
        scheduler.to_string(),
        "--bind".to_string(),
        format!("127.0.0.1:{}", free_port()?),
        "--grpc-port".to_string(),
        free_port()?.to_string(),
        "--threads".to_string(),
        threads.to_string(),
    ];
    if let Some(bytes) = memory_limit {
        args.push("--memory-limit".to_string());
        args.push(format!("{bytes}B"));
    }
    Ok(args)
}

/// A port no one listens on now. An executor binds its own ports, so one
/// may be taken between here and there; it then fails to start, loudly.
fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| Error::Cluster(format!("no free port on 127.0.0.1: {e}")))
}

/// One of the cluster's processes and the lines of its stderr; stopped
/// when dropped.
struct Process {
    role: String,
    child: Child,
    lines: Receiver<String>,
    last_lines: Vec<String>,
}

impl Process {
    fn start<S: AsRef<std::ffi::OsStr>>(role: &str, args: &[S]) -> Result<Self> {
        let failed = |e: std::io::Error| Error::Cluster(format!("cannot start the {role}: {e}"));
        let program = std::env::current_exe().map_err(failed)?;
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        stop_with_parent(&mut command);
        let mut child = command.spawn().map_err(failed)?;
        let (sender, lines) = channel();
        if let Some(stderr) = child.stderr.take() {
            // Read to the end, so the process never blocks on a full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                    let _ = sender.send(line);
                }
            });
        }
        Ok(Self {
            role: role.to_string(),
            child,
            lines,
            last_lines: Vec::new(),
        })
    }

    /// Waits for a line of stderr that contains `needle`, and returns it.
    fn wait_for(&mut self, needle: &str) -> Result<String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Ok(line),
                Ok(line) => self.keep(line),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(self.failed(&format!("not ready in {}s", START_TIMEOUT.as_secs())));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    return Err(self.failed(&format!("exited ({status})")));
                }
            }
        }
    }

    /// Keeps the last few lines, for an error.
    fn keep(&mut self, line: String) {
        const KEPT: usize = 5;
        if self.last_lines.len() == KEPT {
            self.last_lines.remove(0);
        }
        self.last_lines.push(line);
    }

    fn failed(&self, what: &str) -> Error {
        let said = match self.last_lines.last() {
            Some(line) => format!("; it said: {line}"),
            None => String::new(),
        };
        Error::Cluster(format!("the local cluster's {} {what}{said}", self.role))
    }

    /// SIGTERM, so it removes its shuffle files; SIGKILL if it does not
    /// stop in time.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on a child this process started and has not
            // reaped, so the pid is still its.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Has the child sent SIGTERM when the thread that starts it ends: the
/// client's main thread, which ends with the client, however it ends.
#[cfg(target_os = "linux")]
fn stop_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl(2) is async-signal-safe, as code between fork and exec
    // must be.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn stop_with_parent(_command: &mut Command) {}
