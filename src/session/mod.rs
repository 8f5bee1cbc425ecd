//! The session: statements in, results out, one place both front ends share.
//!
//! A [`Session`] runs one statement at a time on its [`Engine`] into a
//! [`ResultSink`]: it intercepts what morsel answers itself (the S3
//! statements), stages `COPY` so a failure leaves nothing behind, keeps the
//! running plan for progress and plan pictures, and turns every engine
//! error into one located line ([`diagnose`]). It also answers what the
//! front ends ask about the session (tables, their columns and files, names
//! to complete), so they never reach past it to the engine or the catalog.

mod copy;
mod depth;
mod diagnose;
mod miscounted;
mod precedence;
mod progress;
mod repeated_names;
mod s3_statements;
mod setting_bounds;

pub use crate::catalog::TableInfo;
pub use crate::engine::EngineOptions;
pub use progress::ProgressSnapshot;

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::parser::Statement;
use futures::{FutureExt, StreamExt};

use crate::catalog;
use crate::engine::{self, Engine, JobFigures};
pub use crate::engine::{Job, JobStage, StageOperator};
use crate::error::{Error, Result};
use crate::storage::{IoCounts, human_bytes};

/// Receives a statement's result as it streams out of the engine.
pub trait ResultSink {
    fn begin(&mut self, schema: &SchemaRef) -> std::io::Result<()>;
    fn batch(&mut self, batch: &RecordBatch) -> std::io::Result<()>;
    fn end(&mut self) -> std::io::Result<()>;
}

/// A sink that keeps the whole result in memory (benchmarks, tests).
#[derive(Debug, Default)]
pub struct Collected {
    pub schema: Option<SchemaRef>,
    pub batches: Vec<RecordBatch>,
}

impl ResultSink for Collected {
    fn begin(&mut self, schema: &SchemaRef) -> std::io::Result<()> {
        self.schema = Some(Arc::clone(schema));
        Ok(())
    }

    fn batch(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        self.batches.push(batch.clone());
        Ok(())
    }

    fn end(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a finished statement reports for `\timing`.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub rows: usize,
    pub elapsed: Duration,
    /// Requests and bytes the statement sent to storage.
    pub io: IoCounts,
    /// The most memory the engine's pool held while the statement ran.
    pub peak_memory: usize,
    /// Bytes its operators wrote to spill files.
    pub spilled: usize,
    /// The stages and tasks a cluster ran it in.
    pub job: Option<JobFigures>,
}

/// `3 rows in 0.084 s (7 requests, 12.3 KiB read; peak memory 85.2 MiB, spilled 1.2 GiB)`
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut details = Vec::new();
        if let Some(job) = self.job {
            details.push(format!(
                "{}, {} on the cluster",
                counted(job.stages, "stage"),
                counted(job.tasks, "task")
            ));
        }
        if self.io.requests > 0 {
            details.push(self.io.to_string());
        }
        let mut memory = Vec::new();
        if self.peak_memory > 0 {
            memory.push(format!(
                "peak memory {}",
                human_bytes(self.peak_memory as u64)
            ));
        }
        if self.spilled > 0 {
            memory.push(format!("spilled {}", human_bytes(self.spilled as u64)));
        }
        if !memory.is_empty() {
            details.push(memory.join(", "));
        }
        write!(
            f,
            "{} in {:.3} s",
            counted(self.rows, "row"),
            self.elapsed.as_secs_f64()
        )?;
        if !details.is_empty() {
            write!(f, " ({})", details.join("; "))?;
        }
        Ok(())
    }
}

/// `1 row`, `3 rows`.
fn counted(count: usize, noun: &str) -> String {
    format!("{count} {noun}{}", if count == 1 { "" } else { "s" })
}

/// The runtime statements run on, set up for `options`; start it before
/// the session and run the session's futures on it.
pub fn tokio_runtime(options: &EngineOptions) -> Result<tokio::runtime::Runtime> {
    engine::tokio_runtime(options)
        .map_err(|e| Error::Usage(format!("cannot start the runtime: {e}")))
}

/// A table found in a data directory, or why it could not be opened.
pub struct FoundTable {
    pub name: String,
    pub table: Result<()>,
}

pub struct Session {
    engine: Engine,
    /// The statement running now, or the one that ran last: its plan holds
    /// the metrics for progress, plan graphs and `--plan`.
    last: parking_lot::Mutex<Option<Run>>,
}

struct Run {
    plan: Arc<dyn ExecutionPlan>,
    logical: LogicalPlan,
    /// What the cluster did, once a statement it ran has ended.
    job: Option<Job>,
    progress: progress::Progress,
    io_start: IoCounts,
}

impl Session {
    /// A session on the local engine, or on the cluster `options` names.
    pub fn new(options: &EngineOptions) -> Result<Self> {
        let engine = match &options.cluster {
            Some(url) => Engine::cluster(url, options),
            None => Engine::local(options),
        };
        let engine = engine.map_err(|e| diagnose::describe(&e))?;
        Ok(Self {
            engine,
            last: parking_lot::Mutex::new(None),
        })
    }

    /// Registers every table found directly under `dir`; a table that
    /// cannot be opened is reported back, not registered.
    pub async fn register_directory(&self, dir: &str) -> Result<Vec<FoundTable>> {
        let found = self
            .engine
            .register_directory(dir)
            .await
            .map_err(|e| self.diagnosed(e))?;
        Ok(found
            .into_iter()
            .map(|found| FoundTable {
                name: found.name,
                table: found.table.map(|_| ()).map_err(|e| diagnose::describe(&e)),
            })
            .collect())
    }

    /// Partitions a query is split into.
    pub fn target_partitions(&self) -> usize {
        self.engine.target_partitions()
    }

    /// Names of the tables in the current schema, sorted.
    pub fn table_names(&self) -> Vec<String> {
        self.engine.table_names()
    }

    /// Names of the scalar, aggregate and window functions, for completion.
    pub fn function_names(&self) -> Vec<String> {
        self.engine.function_names()
    }

    /// Names of the table functions (`range`, `generate_series`, …).
    pub fn table_function_names(&self) -> Vec<String> {
        self.engine.table_function_names()
    }

    /// Every setting `SET` accepts: the engine's and morsel's `s3.*`.
    pub fn setting_names(&self) -> Vec<String> {
        self.engine.setting_names()
    }

    /// The columns of table `name`.
    pub async fn table_schema(&self, name: &str) -> Result<SchemaRef> {
        Ok(self.table(name).await?.schema())
    }

    /// Where table `name` lives, in what format, partitioned how; `None`
    /// for a table that is not over files.
    pub async fn table_info(&self, name: &str) -> Result<Option<TableInfo>> {
        Ok(catalog::table_info(self.table(name).await?.as_ref()))
    }

    async fn table(&self, name: &str) -> Result<Arc<dyn TableProvider>> {
        self.engine.table(name).await.map_err(|e| self.diagnosed(e))
    }

    /// Runs one SQL statement, streaming its rows into `sink`.
    pub async fn execute<S: ResultSink + ?Sized>(
        &self,
        sql: &str,
        sink: &mut S,
    ) -> Result<Summary> {
        let started = Instant::now();
        let io_before = self.engine.io_counts();
        // Progress must not be read off the previous statement's plan.
        *self.last.lock() = None;
        self.engine.begin_statement();
        let statement = self.parse(sql)?;
        depth::check(&statement)?;
        setting_bounds::check(&statement)?;
        if let Some(answer) = s3_statements::try_apply(&statement, self.engine.stores())? {
            return Ok(Summary {
                rows: answer_into(answer, sink)?,
                elapsed: started.elapsed(),
                io: IoCounts::default(),
                peak_memory: 0,
                spilled: 0,
                job: None,
            });
        }
        let (statement, staged) = match statement {
            Statement::CopyTo(copy) => {
                let (copy, staged) = copy::stage(copy, self.engine.stores())?;
                (Statement::CopyTo(copy), staged)
            }
            other => (other, None),
        };
        let plan = self.logical_plan(statement).await?;
        let frame = self
            .engine
            .apply(plan)
            .await
            .map_err(|e| self.diagnosed(e))?;
        let logical = frame.logical_plan().clone();
        let planned = AssertUnwindSafe(frame.create_physical_plan())
            .catch_unwind()
            .await;
        let context = self.engine.context();
        let physical = match planned {
            Ok(Ok(plan)) => plan,
            Ok(Err(e)) => return Err(diagnose::locate_in_planning(context, &logical, e).await),
            Err(panic) => {
                return Err(diagnose::blame_planning_panic(context, &logical, panic).await);
            }
        };
        *self.last.lock() = Some(Run {
            progress: progress::Progress::of(&physical),
            plan: Arc::clone(&physical),
            logical: logical.clone(),
            job: None,
            io_start: io_before,
        });
        let rows = self.stream_into(&physical, &logical, sink).await?;
        if let Some(staged) = staged {
            staged.commit().await?;
        }
        let elapsed = started.elapsed();
        let job = self.engine.finished_job(&physical).await;
        let figures = job.as_ref().map(Job::figures);
        if let Some(run) = self.last.lock().as_mut() {
            run.job = job;
        }
        Ok(Summary {
            rows,
            elapsed,
            io: self.engine.io_counts().since(io_before),
            peak_memory: self.engine.peak_memory(),
            spilled: spilled_bytes(&physical) + figures.map_or(0, |job| job.spilled),
            job: figures,
        })
    }

    /// The physical plan of a query, without running it.
    pub async fn physical_plan(&self, sql: &str) -> Result<Arc<dyn ExecutionPlan>> {
        let statement = self.parse(sql)?;
        depth::check(&statement)?;
        let logical = self.logical_plan(statement).await?;
        match self.engine.physical_plan(&logical).await {
            Ok(plan) => Ok(plan),
            Err(e) => Err(diagnose::locate_in_planning(self.engine.context(), &logical, e).await),
        }
    }

    /// The plan of the statement that ran last, with the figures of its run.
    pub fn last_plan(&self) -> Option<Arc<dyn ExecutionPlan>> {
        self.last.lock().as_ref().map(|run| Arc::clone(&run.plan))
    }

    /// The logical plan of the statement that ran last, as planned from
    /// its SQL, before optimization.
    pub fn last_logical_plan(&self) -> Option<LogicalPlan> {
        self.last.lock().as_ref().map(|run| run.logical.clone())
    }

    /// The cluster's stages of the statement that ran last, if a cluster
    /// ran it: the distributed plan, with the figures of its run.
    pub fn last_job(&self) -> Option<Job> {
        self.last.lock().as_ref()?.job.clone()
    }

    /// How far the running statement has come: here, from its scans'
    /// figures; on a cluster, from the scheduler.
    pub async fn progress(&self) -> Option<ProgressSnapshot> {
        let (here, plan) = {
            let last = self.last.lock();
            let run = last.as_ref()?;
            let read = self.engine.io_counts().since(run.io_start).bytes_read;
            (run.progress.snapshot(read), Arc::clone(&run.plan))
        };
        match self.engine.job_progress(&plan).await {
            Some(job) => Some(ProgressSnapshot {
                fraction: Some(job.fraction()),
                job: Some(job),
                ..here
            }),
            None => Some(here),
        }
    }

    async fn stream_into<S: ResultSink + ?Sized>(
        &self,
        plan: &Arc<dyn ExecutionPlan>,
        logical: &LogicalPlan,
        sink: &mut S,
    ) -> Result<usize> {
        let schema = plan.schema();
        let mut stream = self.engine.execute(plan).map_err(|e| self.diagnosed(e))?;
        sink.begin(&schema).map_err(Error::Output)?;
        let mut rows = 0;
        let context = self.engine.context();
        loop {
            let batch = match AssertUnwindSafe(stream.next()).catch_unwind().await {
                Ok(None) => break,
                Ok(Some(Ok(batch))) => batch,
                Ok(Some(Err(e))) => {
                    return Err(diagnose::locate_in_files(context, plan, logical, e).await);
                }
                Err(panic) => return Err(diagnose::blame_running_panic(context, plan, panic).await),
            };
            rows += batch.num_rows();
            sink.batch(&batch).map_err(Error::Output)?;
        }
        sink.end().map_err(Error::Output)?;
        Ok(rows)
    }

    /// A one-line error, with a suggestion when a table name is misspelled.
    /// One statement, or a syntax error located in `sql`.
    fn parse(&self, sql: &str) -> Result<Statement> {
        let mut statement = self
            .engine
            .parse(sql)
            .map_err(|e| diagnose::locate_unfinished(self.diagnosed(e), sql))?;
        precedence::rebind_is_distinct(&mut statement);
        miscounted::refuse_miscounted(&statement)?;
        Ok(statement)
    }

    /// The logical plan of a statement; one refused only for repeating a
    /// column name is planned again with the repeats named.
    async fn logical_plan(&self, statement: Statement) -> Result<LogicalPlan> {
        let error = match self.engine.logical_plan(statement.clone()).await {
            Ok(plan) => return Ok(plan),
            Err(e) => e,
        };
        let renamed = repeated_names::refused_for_repeats(&error)
            .then(|| repeated_names::with_repeats_named(statement))
            .flatten();
        match renamed {
            Some(statement) => self
                .engine
                .logical_plan(statement)
                .await
                .map_err(|e| self.diagnosed(e)),
            None => Err(self.diagnosed(error)),
        }
    }

    fn diagnosed(&self, e: DataFusionError) -> Error {
        diagnose::with_table_suggestion(diagnose::describe(&e), &self.table_names())
    }
}

/// Streams a statement morsel answered itself, like DataFusion's results.
fn answer_into<S: ResultSink + ?Sized>(
    answer: s3_statements::Answer,
    sink: &mut S,
) -> Result<usize> {
    let Some(batch) = answer.into_batch() else {
        return Ok(0);
    };
    sink.begin(&batch.schema()).map_err(Error::Output)?;
    sink.batch(&batch).map_err(Error::Output)?;
    sink.end().map_err(Error::Output)?;
    Ok(batch.num_rows())
}

/// Bytes every operator of an executed plan wrote to spill files.
fn spilled_bytes(plan: &Arc<dyn ExecutionPlan>) -> usize {
    let own = plan
        .metrics()
        .and_then(|metrics| metrics.spilled_bytes())
        .unwrap_or(0);
    own + plan
        .children()
        .into_iter()
        .map(spilled_bytes)
        .sum::<usize>()
}
