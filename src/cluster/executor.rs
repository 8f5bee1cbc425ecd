//! `morsel cluster executor`: Ballista's executor, which registers with a
//! scheduler, runs the tasks it is given on its cores and serves the
//! shuffle files they write to the executors of the next stage.

use std::collections::HashSet;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};

use super::stages::StagesWithOurRules;
use super::{faults, log_lines, warn_if_exposed};
use crate::engine;
use crate::error::{Error, Result};
use crate::planning;
use crate::storage::NodeStores;

/// How an executor is reached and what it may use.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's HOST:PORT.
    pub scheduler: String,
    /// Where the executor serves shuffle files (Arrow Flight).
    pub bind: SocketAddr,
    /// The port of its task service; the Flight port + 1 if `None`.
    pub grpc_port: Option<u16>,
    /// Where shuffle files go; a new temporary directory if `None`.
    pub work_dir: Option<PathBuf>,
    /// Tasks at once; all cores if `None`.
    pub threads: Option<usize>,
    /// Bytes the executor's tasks may hold together; they spill beyond.
    pub memory_limit: Option<usize>,
}

/// Runs the executor until SIGTERM, Ctrl-C or a stop from the scheduler,
/// then removes its shuffle files.
pub async fn run(options: &ExecutorOptions) -> Result<()> {
    log_lines::install();
    warn_if_exposed("executor", &options.bind);
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        Error::Cluster(format!("executor on {}: {what}: {e}", options.bind))
    };
    let work_dir = WorkDir::new(options.work_dir.clone()).map_err(|e| failed("work dir", &e))?;
    let config = config(options, &work_dir)?;
    eprintln!(
        "executor on {} (tasks on {}), scheduler {}, shuffle files in {}",
        options.bind,
        config.grpc_port,
        options.scheduler,
        work_dir.path().display()
    );
    let ran = start_executor_process(Arc::new(config)).await;
    drop(work_dir);
    ran.map_err(|e| failed("stopped", &e))
}

fn config(options: &ExecutorOptions, work_dir: &WorkDir) -> Result<ExecutorProcessConfig> {
    let (scheduler_host, scheduler_port) = options
        .scheduler
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host.to_string(), port.parse::<u16>().ok()?)))
        .ok_or_else(|| {
            Error::Usage(format!(
                "--scheduler {}: give the scheduler as HOST:PORT",
                options.scheduler
            ))
        })?;
    let port = options.bind.port();
    let grpc_port = match options.grpc_port {
        Some(grpc) => grpc,
        None => port.checked_add(1).ok_or_else(|| {
            Error::Usage(format!(
                "--bind {}: no port follows it for --grpc-port",
                options.bind
            ))
        })?,
    };
    let host = options.bind.ip().to_string();
    let mut config = ExecutorProcessConfig {
        bind_host: host.clone(),
        external_host: Some(host),
        port,
        grpc_port,
        scheduler_host,
        scheduler_port,
        work_dir: Some(work_dir.path().display().to_string()),
        memory_pool_size: options.memory_limit.map(|bytes| bytes as u64),
        ..ExecutorProcessConfig::default()
    };
    if let Some(threads) = options.threads {
        config.vcores = threads;
    }
    // Tasks read with morsel's stores, know its functions by the names the
    // plans carry, and get the rules that could not travel with them.
    let stores = NodeStores::default();
    config.override_runtime_producer = Some(Arc::new(move |query| {
        engine::node_runtime(&stores.for_query(query))
    }));
    // Each query brings its session's S3 layers; a runtime kept for the
    // session would keep the first query's.
    config.session_runtime_cache_capacity = 0;
    config.override_config_producer = Some(Arc::new(engine::node_config));
    config.override_function_registry = Some(Arc::new(functions()));
    config.override_execution_engine = Some(Arc::new(StagesWithOurRules::new(
        options.memory_limit.is_some(),
    )));
    faults::heartbeat_often(&mut config);
    Ok(config)
}

/// DataFusion's functions with morsel's in the place of those they replace,
/// and those the scheduler's plans call by name.
fn functions() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    for function in planning::aggregate_functions() {
        registry
            .aggregate_functions
            .insert(function.name().to_string(), Arc::new(function));
    }
    for function in planning::travelling_functions() {
        registry
            .scalar_functions
            .insert(function.name().to_string(), Arc::new(function));
    }
    registry
}

/// The directory shuffle files go to, removed when the executor stops if
/// morsel made it. One the user gave stays, with all it held before; the
/// job directories made in it since, which hold this executor's shuffle
/// files (Ballista removes them a while after each job, and leaves the
/// directory), go with it. Two executors must not share one.
enum WorkDir {
    /// Morsel's, which goes whole with its `TempDir`.
    Morsel(tempfile::TempDir),
    /// The user's, as it was when it held `held_before`.
    User {
        path: PathBuf,
        held_before: HashSet<OsString>,
    },
}

impl WorkDir {
    fn new(given: Option<PathBuf>) -> std::io::Result<Self> {
        match given {
            Some(path) => {
                std::fs::create_dir_all(&path)?;
                let held_before = std::fs::read_dir(&path)?
                    .map(|entry| entry.map(|e| e.file_name()))
                    .collect::<std::io::Result<_>>()?;
                Ok(Self::User { path, held_before })
            }
            None => Ok(Self::Morsel(
                tempfile::Builder::new()
                    .prefix("morsel-executor-")
                    .tempdir()?,
            )),
        }
    }

    fn path(&self) -> &Path {
        match self {
            Self::Morsel(made) => made.path(),
            Self::User { path, .. } => path,
        }
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let Self::User { path, held_before } = self else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        for entry in entries.flatten() {
            let made_since = !held_before.contains(&entry.file_name());
            if made_since && entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}
