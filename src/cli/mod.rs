//! The front ends: command line, batch scripts and the REPL.
//!
//! [`run`] decides the mode — interactive when stdin is a terminal and no
//! `-c`/`-f` was given, batch otherwise — and hands every statement to a
//! [`runner::Runner`] over one [`Session`].

pub mod args;
pub mod command;
mod completion;
mod highlight;
mod pager;
pub mod panics;
mod progress;
mod repl;
mod runner;
pub mod script;
mod terminate;

use std::io::{IsTerminal, Read};

use crate::cluster::local::{self, LocalCluster};
use crate::cluster::{self, executor::ExecutorOptions, scheduler::SchedulerOptions};
use crate::error::{Error, Failure, Result};
use crate::session::{self, EngineOptions, Session};
use crate::tpch;
use args::{
    Args, BenchArgs, BenchCommand, ClusterCommand, EngineArgs, GenArgs, Input, Task, TpchCommand,
};
use runner::Runner;

/// Rows a result shows on a terminal before saying how many it left out.
const TERMINAL_MAX_ROWS: usize = 40;

/// Runs morsel as the command line asks; `Err` says with which exit status.
pub fn run(args: Args, inputs: Vec<Input>) -> Result<()> {
    match args.task {
        Some(Task::Tpch {
            command: TpchCommand::Gen(generate),
        }) => tpch_gen(generate),
        Some(Task::Bench {
            command: BenchCommand::Tpch(bench),
        }) => bench_tpch(bench),
        Some(Task::Cluster { command }) => run_cluster_process(command),
        None => run_sql(args, inputs),
    }
}

fn run_cluster_process(command: ClusterCommand) -> Result<()> {
    let runtime = session::tokio_runtime(&session::EngineOptions::default())?;
    match command {
        ClusterCommand::Scheduler { bind } => {
            runtime.block_on(cluster::scheduler::run(&SchedulerOptions { bind }))
        }
        ClusterCommand::Executor(executor) => {
            let options = ExecutorOptions {
                scheduler: executor.scheduler,
                bind: executor.bind,
                grpc_port: executor.grpc_port,
                work_dir: executor.work_dir,
                threads: executor.threads.map(usize::from),
                memory_limit: executor.memory_limit,
            };
            runtime.block_on(cluster::executor::run(&options))
        }
    }
}

fn tpch_gen(args: GenArgs) -> Result<()> {
    let threads = args
        .threads
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let options = tpch::datagen::GenOptions {
        scale_factor: args.sf,
        out: args.out,
        format: args.format,
        files_per_table: args.files_per_table.map(|n| n as usize),
        codec: args.compression,
        row_group_rows: args.row_group_rows as usize,
        threads,
        replace: args.force,
    };
    tpch::generate(&options, args.profile)
}

fn bench_tpch(args: BenchArgs) -> Result<()> {
    let queries = tpch::queries::parse_selection(&args.queries).map_err(Error::Usage)?;
    let (engine, _local_cluster) = engine_options(&args.engine)?;
    let runtime = session::tokio_runtime(&engine)?;
    let options = tpch::bench::BenchOptions {
        data: args.data,
        queries,
        iterations: args.iterations as usize,
        warmup: args.warmup,
        session: engine,
        json: args.json,
        verify: args.verify,
    };
    if runtime.block_on(tpch::bench::run(&options))? {
        Ok(())
    } else {
        Err(Error::Reported(Failure::Failed))
    }
}

/// The engine's options, with the cluster `--cluster local:N` asks for
/// started for this run; it stops when the second value is dropped.
fn engine_options(engine: &EngineArgs) -> Result<(EngineOptions, Option<LocalCluster>)> {
    let mut options = engine.engine_options();
    let Some(executors) = options.cluster.as_deref().and_then(local::local_executors) else {
        return Ok((options, None));
    };
    let executors = executors?;
    // The executors share this machine's cores and the memory limit.
    let cores = options
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let threads = (cores / executors).max(1);
    let memory_limit = options.memory_limit.map(|bytes| bytes / executors);
    let cluster = LocalCluster::start(executors, threads, memory_limit)?;
    options.cluster = Some(cluster.url().to_string());
    Ok((options, Some(cluster)))
}

fn run_sql(args: Args, inputs: Vec<Input>) -> Result<()> {
    let (options, _local_cluster) = engine_options(&args.engine)?;
    let runtime = session::tokio_runtime(&options)?;
    terminate::listen(&runtime)
        .map_err(|e| Error::Usage(format!("cannot listen for SIGTERM: {e}")))?;
    let session = Session::new(&options)?;
    if let Some(dir) = args.data_dir() {
        runtime.block_on(register(&session, dir))?;
    }
    let interactive = inputs.is_empty() && std::io::stdin().is_terminal();
    let max_rows =
        args.max_rows
            .or((std::io::stdout().is_terminal() && args.output.is_none())
                .then_some(TERMINAL_MAX_ROWS));
    let mut runner = Runner::new(&session, args.format, max_rows, args.quiet);
    runner.redirect(args.output.clone())?;
    // The bar is for people: only on a terminal, and in batch only if asked.
    runner.progress = std::io::stderr().is_terminal() && (interactive || args.progress);
    if interactive {
        runner.pager = Some(pager::default_pager());
        runner.more_rows_hint = "\\maxrows N shows more, \\o FILE all";
        repl::run(&runtime, &mut runner)?;
    } else {
        runtime.block_on(run_batch(&mut runner, inputs, args.continue_on_error))?;
        if let Some(path) = &args.plan {
            runner.write_last_plan(path)?;
        }
    }
    runner.finish()
}

/// Registers the data directory, warning about tables that cannot be opened.
async fn register(session: &Session, dir: &str) -> Result<()> {
    for found in session.register_directory(dir).await? {
        if let Err(e) = found.table {
            eprintln!("warning: table {} skipped: {e}", found.name);
        }
    }
    Ok(())
}

/// Runs `-c`/`-f` inputs in order, or SQL piped on stdin.
async fn run_batch(runner: &mut Runner<'_>, inputs: Vec<Input>, keep_going: bool) -> Result<()> {
    let scripts = if inputs.is_empty() {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|source| Error::file("<stdin>", source))?;
        vec![("<stdin>".to_string(), text)]
    } else {
        let commands = inputs
            .iter()
            .filter(|i| matches!(i, Input::Command(_)))
            .count();
        let mut command_number = 0;
        inputs
            .into_iter()
            .map(|input| match input {
                Input::Command(sql) if commands == 1 => Ok(("<command>".to_string(), sql)),
                // Each `-c` by its place among them, so an error says which.
                Input::Command(sql) => {
                    command_number += 1;
                    Ok((format!("<command {command_number}>"), sql))
                }
                Input::File(path) => {
                    runner::read_script(&path).map(|text| (path.display().to_string(), text))
                }
            })
            .collect::<Result<Vec<_>>>()?
    };
    let mut worst: Option<Failure> = None;
    for (name, text) in scripts {
        match runner.run_script(&name, &text, keep_going).await {
            Ok(runner::Flow::Quit) => break,
            Ok(runner::Flow::Continue) => {}
            Err(Error::Reported(failure)) if keep_going && failure < Failure::Interrupted => {
                worst = worst.max(Some(failure));
            }
            Err(e) => return Err(e),
        }
    }
    match worst {
        Some(failure) => Err(Error::Reported(failure)),
        None => Ok(()),
    }
}
