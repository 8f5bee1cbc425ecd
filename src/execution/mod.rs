//! The session: one place that owns the engine, shared by the REPL and batch.
//!
//! A [`Session`] holds the DataFusion context (runtime, memory pool, spill
//! directory, object stores, catalog) and runs one statement at a time into a
//! [`ResultSink`]. Front ends never touch DataFusion directly, so a remote
//! (Ballista) context can later stand in for the local one.

pub mod copy;
pub mod diagnose;
pub mod memory;
mod not_in_join;
mod progress;
mod s3_statements;
mod spilling_join;

pub use progress::ProgressSnapshot;

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{DynamicFileCatalog, TableProvider};
use datafusion::common::config::ConfigNonZeroUsize;
use datafusion::error::DataFusionError;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{
    MemoryLimit, MemoryPool, TrackConsumersPool, UnboundedMemoryPool,
};
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::Statement;
use futures::StreamExt;

use crate::catalog::{self, Discovered, MorselTableFactory, MorselUrlTables};
use crate::error::{Error, Result};
use crate::storage::{IoCounts, ObjectStores};

/// How the engine is set up; fixed for the life of a session.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Partitions (and so cores) a query runs on; `None` for all cores.
    pub threads: Option<usize>,
    /// Bytes the process should stay within (`--memory-limit`); the pool
    /// gets [`memory::pool_size`] of them. `None` for no limit.
    pub memory_limit: Option<usize>,
    /// Where operators spill; `None` for the OS temp directory.
    pub temp_dir: Option<PathBuf>,
    /// The AWS profile chosen with `--profile`.
    pub profile: Option<String>,
    /// Most bytes of spill files at once; `None` for DataFusion's default.
    pub max_temp_size: Option<u64>,
}

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
}

pub struct Session {
    ctx: SessionContext,
    stores: Arc<ObjectStores>,
    pool: Arc<memory::PeakPool>,
    /// The statement running now, or the one that ran last: its plan holds
    /// the metrics for progress, plan graphs and `--plan`.
    last: parking_lot::Mutex<Option<Run>>,
}

struct Run {
    plan: Arc<dyn ExecutionPlan>,
    progress: progress::Progress,
    io_start: IoCounts,
}

impl Session {
    pub fn new(options: &SessionOptions) -> Result<Self> {
        let mut config = SessionConfig::new().with_information_schema(true);
        // A table is everything below its directory: `logs/2024-01-01/app.csv`
        // belongs to `logs`, and a glob may span directories, as in DuckDB.
        config
            .options_mut()
            .execution
            .listing_table_ignore_subdirectory = false;
        // `0.06 + 0.01` is exactly 0.07, as in DuckDB and PostgreSQL; as
        // doubles it is not, and TPC-H Q6 over CSV loses rows.
        config.options_mut().sql_parser.parse_float_as_decimal = true;
        // Spans let planning errors point at the offending name in the SQL.
        config.options_mut().sql_parser.collect_spans = true;
        if let Some(threads) = options.threads {
            config = config.with_target_partitions(threads);
        }
        let stores = Arc::new(ObjectStores::new(options.profile.clone()));
        let pool_size = options.memory_limit.map(memory::pool_size);
        if let Some(pool) = pool_size {
            let execution = &mut config.options_mut().execution;
            // Each sort holds this much back for its merge; DataFusion's
            // 10 MB per sort starves the rest of a small pool.
            execution.sort_spill_reservation_bytes =
                execution.sort_spill_reservation_bytes.min(pool / 32);
            // A repartition that spills from several inputs at once can
            // leave its reader waiting on one open file while the batch it
            // needs is in another and every writer waits on the reader
            // (apache/datafusion#24883, seen here once as a TPC-H Q18 that
            // never ended). A file per spilled batch, finished as it is
            // written, leaves nothing open to wait on.
            execution.max_spill_file_size_bytes =
                ConfigNonZeroUsize::try_new(1).expect("1 is not zero");
            // Join dynamic filters assume the join's partitions all report
            // their build sides; a spilling join joins by buckets instead.
            let optimizer = &mut config.options_mut().optimizer;
            optimizer.enable_join_dynamic_filter_pushdown = false;
            // A build side collected once for all partitions is not spilled;
            // the planner may collect one no bigger than the share of the
            // pool all partitions of a spilling join may hold.
            optimizer.hash_join_single_partition_threshold = optimizer
                .hash_join_single_partition_threshold
                .min(pool / spilling_join::POOL_SHARE);
        }
        let pool = Arc::new(memory::PeakPool::new(match pool_size {
            Some(size) => Arc::new(TrackConsumersPool::new(
                memory::HeadroomPool::new(size),
                NonZeroUsize::new(5).expect("non-zero"),
            )),
            None => Arc::new(UnboundedMemoryPool::default()),
        }));
        let mut runtime = RuntimeEnvBuilder::new()
            .with_object_store_registry(Arc::clone(&stores) as Arc<dyn ObjectStoreRegistry>)
            .with_memory_pool(Arc::clone(&pool) as Arc<dyn MemoryPool>);
        if let Some(dir) = &options.temp_dir {
            runtime = runtime.with_disk_manager_builder(
                DiskManagerBuilder::default()
                    .with_mode(DiskManagerMode::Directories(vec![dir.clone()])),
            );
        }
        if let Some(size) = options.max_temp_size {
            runtime = runtime.with_max_temp_directory_size(size);
        }
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime.build_arc()?)
            .with_default_features();
        if pool_size.is_some() {
            state = state.with_physical_optimizer_rule(Arc::new(spilling_join::SpillableJoins));
        }
        let mut state = state.build();
        for format in ["PARQUET", "CSV"] {
            state.table_factories_mut().insert(
                format.into(),
                Arc::new(MorselTableFactory::new(Arc::clone(&stores))),
            );
        }
        let url_tables = Arc::new(MorselUrlTables::default());
        let catalogs = Arc::new(DynamicFileCatalog::new(
            Arc::clone(state.catalog_list()),
            Arc::clone(&url_tables) as _,
        ));
        let ctx: SessionContext = SessionStateBuilder::new_from_existing(state)
            .with_catalog_list(catalogs)
            .build()
            .into();
        url_tables.attach(ctx.state_weak_ref());
        Ok(Self {
            ctx,
            stores,
            pool,
            last: parking_lot::Mutex::new(None),
        })
    }

    /// Registers every table found directly under `dir`.
    pub async fn register_directory(&self, dir: &str) -> Result<Vec<Discovered>> {
        Ok(catalog::register_directory(&self.ctx, dir).await?)
    }

    /// Partitions a query is split into.
    pub fn target_partitions(&self) -> usize {
        self.ctx.state().config().target_partitions()
    }

    /// Names of the tables in the current schema, sorted.
    pub fn table_names(&self) -> Vec<String> {
        let mut names = self
            .ctx
            .catalog("datafusion")
            .and_then(|c| c.schema("public"))
            .map(|s| s.table_names())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Names of the scalar, aggregate and window functions, for completion.
    pub fn function_names(&self) -> Vec<String> {
        let state = self.ctx.state();
        state
            .scalar_functions()
            .keys()
            .chain(state.aggregate_functions().keys())
            .chain(state.window_functions().keys())
            .cloned()
            .collect()
    }

    /// Names of the table functions (`range`, `generate_series`, …).
    pub fn table_function_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.ctx.state().table_functions().keys().cloned().collect();
        names.sort();
        names
    }

    /// Every setting `SET` accepts: the engine's and morsel's `s3.*`.
    pub fn setting_names(&self) -> Vec<String> {
        let state = self.ctx.state();
        let mut names: Vec<String> = state
            .config()
            .options()
            .entries()
            .into_iter()
            .map(|entry| entry.key)
            .collect();
        names.extend(
            crate::storage::S3Key::ALL
                .iter()
                .map(|key| format!("s3.{}", key.name())),
        );
        names.sort();
        names
    }

    pub async fn table(&self, name: &str) -> Result<Arc<dyn TableProvider>> {
        match self.ctx.table_provider(name).await {
            Ok(table) => Ok(table),
            Err(e) => Err(self.explain(e)),
        }
    }

    /// Runs one SQL statement, streaming its rows into `sink`.
    pub async fn execute<S: ResultSink + ?Sized>(
        &self,
        sql: &str,
        sink: &mut S,
    ) -> Result<Summary> {
        let started = Instant::now();
        let io_before = self.stores.stats();
        // Progress must not be read off the previous statement's plan.
        *self.last.lock() = None;
        self.pool.reset_peak();
        if let MemoryLimit::Finite(pool_size) = self.pool.memory_limit() {
            memory::return_freed_memory(pool_size);
        }
        let state = self.ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        let statement = state
            .sql_to_statement(sql, &dialect)
            .map_err(|e| self.explain(e))?;
        if let Some(answer) = s3_statements::try_apply(&statement, &self.stores)? {
            let rows = self.answer_into(answer, sink)?;
            return Ok(Summary {
                rows,
                elapsed: started.elapsed(),
                io: IoCounts::default(),
                peak_memory: 0,
                spilled: 0,
            });
        }
        let (statement, staged) = match statement {
            Statement::CopyTo(copy) => {
                let (copy, staged) = copy::stage(copy, &self.stores)?;
                (Statement::CopyTo(copy), staged)
            }
            other => (other, None),
        };
        let plan = state
            .statement_to_plan(statement)
            .await
            .map_err(|e| self.explain(e))?;
        let frame = self
            .ctx
            .execute_logical_plan(plan)
            .await
            .map_err(|e| self.explain(e))?;
        let logical = frame.logical_plan().clone();
        let physical = match frame.create_physical_plan().await {
            Ok(plan) => plan,
            Err(e) => return Err(diagnose::locate_in_planning(&self.ctx, &logical, e).await),
        };
        *self.last.lock() = Some(Run {
            progress: progress::Progress::of(&physical),
            plan: Arc::clone(&physical),
            io_start: io_before,
        });
        let rows = self.stream_into(&physical, sink).await?;
        if let Some(staged) = staged {
            staged.commit().await?;
        }
        Ok(Summary {
            rows,
            elapsed: started.elapsed(),
            io: self.stores.stats().since(io_before),
            peak_memory: self.pool.peak(),
            spilled: spilled_bytes(&physical),
        })
    }

    /// The physical plan of a query, without running it.
    pub async fn physical_plan(&self, sql: &str) -> Result<Arc<dyn ExecutionPlan>> {
        let state = self.ctx.state();
        let logical = state
            .create_logical_plan(sql)
            .await
            .map_err(|e| self.explain(e))?;
        match state.create_physical_plan(&logical).await {
            Ok(plan) => Ok(plan),
            Err(e) => Err(diagnose::locate_in_planning(&self.ctx, &logical, e).await),
        }
    }

    /// The plan of the statement that ran last, with the figures of its run.
    pub fn last_plan(&self) -> Option<Arc<dyn ExecutionPlan>> {
        self.last.lock().as_ref().map(|run| Arc::clone(&run.plan))
    }

    /// How far the running statement has come.
    pub fn progress(&self) -> Option<ProgressSnapshot> {
        let last = self.last.lock();
        let run = last.as_ref()?;
        let read = self.stores.stats().since(run.io_start).bytes_read;
        Some(run.progress.snapshot(read))
    }

    /// Streams a statement morsel answered itself, like DataFusion's results.
    fn answer_into<S: ResultSink + ?Sized>(
        &self,
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

    async fn stream_into<S: ResultSink + ?Sized>(
        &self,
        plan: &Arc<dyn ExecutionPlan>,
        sink: &mut S,
    ) -> Result<usize> {
        let schema = plan.schema();
        let mut stream =
            execute_stream(Arc::clone(plan), self.ctx.task_ctx()).map_err(|e| self.explain(e))?;
        sink.begin(&schema).map_err(Error::Output)?;
        let mut rows = 0;
        while let Some(batch) = stream.next().await {
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => return Err(diagnose::locate_in_files(&self.ctx, plan, e).await),
            };
            rows += batch.num_rows();
            sink.batch(&batch).map_err(Error::Output)?;
        }
        sink.end().map_err(Error::Output)?;
        Ok(rows)
    }

    /// A one-line error, with a suggestion when a table name is misspelled.
    fn explain(&self, e: DataFusionError) -> Error {
        diagnose::with_table_suggestion(Error::from(e), &self.table_names())
    }
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
