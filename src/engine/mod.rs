//! The engine: what a session runs its statements on.
//!
//! An [`Engine`] owns DataFusion's context — its configuration, its runtime
//! (memory pool, spill directories, object stores), morsel's catalog and
//! optimizer rules — and offers the session what it needs of it: parse,
//! plan, carry out, execute, register tables, read settings. It speaks
//! DataFusion's errors; the session turns them into morsel's one-line ones.
//! [`Engine::local`] runs on this machine's cores; [`Engine::cluster`]
//! plans here and runs each query on a Ballista cluster, behind the same
//! methods.

mod cluster;
pub mod memory;

pub use cluster::{
    Job, JobFigures, JobProgress, JobStage, PROGRESS_ROUTE, StageOperator, StageProgress,
    node_config, node_runtime, scheduler_state,
};

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::catalog::{DynamicFileCatalog, TableProvider};
use datafusion::common::config::ConfigNonZeroUsize;
use datafusion::dataframe::DataFrame;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{
    MemoryLimit, MemoryPool, TrackConsumersPool, UnboundedMemoryPool,
};
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::LogicalPlan;
use datafusion::optimizer::{Analyzer, Optimizer};
use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::Statement;

use crate::catalog::{self, Discovered, MorselTableFactory, MorselUrlTables, QuotedCsvFactory};
use crate::planning;
use crate::storage::{IoCounts, ObjectStores, S3Key};

/// How the engine is set up; fixed for the life of a session.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
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
    /// The Ballista scheduler queries run on (`df://HOST:PORT`); `None`
    /// runs them here.
    pub cluster: Option<String>,
}

/// A DataFusion context with morsel's catalog, stores, pool and rules.
pub struct Engine {
    ctx: SessionContext,
    stores: Arc<ObjectStores>,
    pool: Arc<memory::PeakPool>,
    /// The URL of the cluster queries run on, if they do.
    cluster: Option<String>,
}

impl Engine {
    /// DataFusion on this machine: `options.threads` partitions, a pool of
    /// [`memory::pool_size`] of the memory limit, spills to `temp_dir`.
    pub fn local(options: &EngineOptions) -> Result<Self> {
        Self::with_state(options, Ok)
    }

    /// An engine that plans here and runs each query on the Ballista
    /// scheduler at `url` (`df://HOST:PORT`), which hands its stages to
    /// the cluster's executors.
    pub fn cluster(url: &str, options: &EngineOptions) -> Result<Self> {
        let mut engine = Self::with_state(options, |state| cluster::client_state(state, url))?;
        engine.cluster = Some(url.to_string());
        Ok(engine)
    }

    /// The engine over morsel's session state, as `finish` makes it.
    fn with_state(
        options: &EngineOptions,
        finish: impl FnOnce(SessionState) -> Result<SessionState>,
    ) -> Result<Self> {
        let stores = Arc::new(ObjectStores::new(options.profile.clone()));
        let pool_size = options.memory_limit.map(memory::pool_size);
        let pool = Arc::new(memory::PeakPool::new(limited_pool(pool_size)));
        let state = SessionStateBuilder::new()
            .with_config(session_config(options.threads, pool_size))
            .with_runtime_env(runtime_env(options, &stores, &pool)?)
            .with_default_features()
            .with_analyzer_rules(planning::analyzer_rules(Analyzer::new().rules))
            .with_optimizer_rules(planning::optimizer_rules(
                Optimizer::new().rules,
                pool_size.is_some(),
            ))
            .with_physical_optimizer_rules(planning::physical_rules(
                PhysicalOptimizer::new().rules,
                pool_size.is_some(),
            ));
        let ctx = with_morsel_catalog(finish(state.build())?, &stores)?;
        for function in planning::aggregate_functions() {
            ctx.register_udaf(function);
        }
        Ok(Self {
            ctx,
            stores,
            pool,
            cluster: None,
        })
    }

    /// The DataFusion context, for what reads plans and files beside the
    /// engine (diagnosis re-reads the files of a failed scan).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The session's object stores: S3 settings, staged writes, I/O counts.
    pub fn stores(&self) -> &ObjectStores {
        &self.stores
    }

    pub fn io_counts(&self) -> IoCounts {
        self.stores.stats()
    }

    /// Readies the pool for the next statement: a fresh peak, and under a
    /// limit the allocator's freed memory handed back.
    pub fn begin_statement(&self) {
        self.pool.reset_peak();
        if let MemoryLimit::Finite(pool_size) = self.pool.memory_limit() {
            memory::return_freed_memory(pool_size);
        }
    }

    /// The most the pool held since [`Engine::begin_statement`].
    pub fn peak_memory(&self) -> usize {
        self.pool.peak()
    }

    /// One statement of SQL, parsed in the session's dialect.
    pub fn parse(&self, sql: &str) -> Result<Statement> {
        let state = self.ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        state.sql_to_statement(sql, &dialect)
    }

    /// The logical plan of a parsed statement.
    pub async fn logical_plan(&self, statement: Statement) -> Result<LogicalPlan> {
        self.ctx.state().statement_to_plan(statement).await
    }

    /// Carries out what `plan` does to the session itself (DDL, `SET`) and
    /// returns what is left to run.
    pub async fn apply(&self, plan: LogicalPlan) -> Result<DataFrame> {
        self.ctx.execute_logical_plan(plan).await
    }

    /// The optimized physical plan of a logical one.
    pub async fn physical_plan(&self, logical: &LogicalPlan) -> Result<Arc<dyn ExecutionPlan>> {
        self.ctx.state().create_physical_plan(logical).await
    }

    /// Starts a physical plan on every core, or the cluster's, as one
    /// stream of batches; dropping it stops the plan, on the cluster too.
    pub fn execute(&self, plan: &Arc<dyn ExecutionPlan>) -> Result<SendableRecordBatchStream> {
        match &self.cluster {
            Some(url) => cluster::execute(plan, self.ctx.state(), &self.stores, url),
            None => execute_stream(Arc::clone(plan), self.ctx.task_ctx()),
        }
    }

    /// What the cluster did for `plan`, once it has run there; `None` for
    /// a plan run here.
    pub async fn finished_job(&self, plan: &Arc<dyn ExecutionPlan>) -> Option<Job> {
        cluster::finished_job(plan, self.cluster.as_ref()?).await
    }

    /// How far `plan`'s job on the cluster has come, while it runs there;
    /// `None` for a plan run here.
    pub async fn job_progress(&self, plan: &Arc<dyn ExecutionPlan>) -> Option<JobProgress> {
        cluster::job_progress(plan, self.cluster.as_ref()?).await
    }

    /// Registers every table found directly under `dir`.
    pub async fn register_directory(&self, dir: &str) -> Result<Vec<Discovered>> {
        catalog::register_directory(&self.ctx, dir).await
    }

    pub async fn table(&self, name: &str) -> Result<Arc<dyn TableProvider>> {
        self.ctx.table_provider(name).await
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

    /// Names of the scalar, aggregate and window functions.
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

    /// Names of the table functions (`range`, `generate_series`, …), sorted.
    pub fn table_function_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.ctx.state().table_functions().keys().cloned().collect();
        names.sort();
        names
    }

    /// Every setting `SET` accepts, sorted: the engine's and morsel's `s3.*`.
    pub fn setting_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .ctx
            .state()
            .config()
            .options()
            .entries()
            .into_iter()
            .map(|entry| entry.key)
            .collect();
        names.extend(S3Key::ALL.iter().map(|key| format!("s3.{}", key.name())));
        names.sort();
        names
    }
}

/// The stack of each of the runtime's workers: a statement's futures run
/// there, recursing once per term of an expression, and a `WHERE` of 3,000
/// `AND`s overran tokio's 2 MB and aborted. Only the pages used are touched.
const WORKER_STACK_BYTES: usize = 256 << 20;

/// The runtime queries run on: `threads` workers (all cores if `None`).
/// The allocator's settings (one arena under a memory limit, freed memory
/// kept without) must be settled before its threads start.
pub fn tokio_runtime(options: &EngineOptions) -> std::io::Result<tokio::runtime::Runtime> {
    if options.memory_limit.is_some() {
        memory::share_one_allocator_arena();
    } else {
        memory::keep_freed_memory();
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.thread_stack_size(WORKER_STACK_BYTES);
    if let Some(threads) = options.threads {
        builder.worker_threads(threads);
    }
    builder.enable_all().build()
}

/// DataFusion's settings as morsel wants them, with those of a memory limit
/// whose pool holds `pool_size` bytes.
fn session_config(threads: Option<usize>, pool_size: Option<usize>) -> SessionConfig {
    let mut config = SessionConfig::new().with_information_schema(true);
    let options = config.options_mut();
    // A table is everything below its directory: `logs/2024-01-01/app.csv`
    // belongs to `logs`, and a glob may span directories, as in DuckDB.
    options.execution.listing_table_ignore_subdirectory = false;
    // `0.06 + 0.01` is exactly 0.07, as in DuckDB and PostgreSQL; as
    // doubles it is not, and TPC-H Q6 over CSV loses rows.
    options.sql_parser.parse_float_as_decimal = true;
    // Spans let planning errors point at the offending name in the SQL.
    options.sql_parser.collect_spans = true;
    // A join's dynamic filter may hand the probe side's scan an `IN (SET)`
    // of the build side's keys, and that set tells -0.0 from 0.0: a join of
    // a DOUBLE holding -0.0 with an integer 0 lost its rows (found by
    // sqlfuzz; docs/reliability.md). The filter's min/max bounds still prune.
    options
        .optimizer
        .hash_join_inlist_pushdown_max_distinct_values = 0;
    // An aggregate without GROUP BY whose functions are all `min` and `max`
    // hands the scan a dynamic filter (`s > current max OR …`) that skips
    // files which cannot change the answer; DataFusion 55 leaves out of it
    // a `min`/`max` of anything but a plain column, so `SELECT max(s),
    // min(coalesce(s, s))` skipped the file holding the smallest `s` and
    // answered ' x ' for '' in 7 runs of 16 (sqlfuzz `--seed 9120`, query
    // 23543; `aggregates/mod.rs`, `init_dynamic_filter`).
    options.optimizer.enable_aggregate_dynamic_filter_pushdown = false;
    // Planning an aggregate, DataFusion insists that its input's physical
    // schema equal the logical one, nullability included, and refused
    // `SELECT DISTINCT CASE WHEN f <> g THEN f ELSE 8.0 END …`: the logical
    // plan proves the CASE never NULL (`f <> g` holds only for a non-NULL
    // `f`), the physical expression cannot tell (found by sqlfuzz). Every
    // difference it reported was of this kind, a physical side more
    // cautious than the logical proof, which is harmless; the aggregate
    // then takes the physical schema.
    options.execution.skip_physical_aggregate_schema_check = true;
    // `COPY … TO 'x.parquet'` compresses with Snappy, as DuckDB does;
    // DataFusion's zstd took the seed workload's 10-million-row COPY from
    // 2.2 s to 2.8–4.2 s (benches/README.md). `OPTIONS (compression …)`
    // still chooses.
    options.execution.parquet.compression = Some("snappy".to_string());
    // A column chunk's dictionary stops at 256 KB instead of 1 MB, after
    // which the chunk goes on plainly encoded: a column of near-unique
    // values (the seed workload's random doubles) otherwise looked up and
    // stored 131 K values in each row group's dictionary before giving up,
    // a third of the COPY's CPU (its join 1.9–2.1 s → 1.1–1.3 s of user
    // time, benches/README.md). Columns of up to 32 K distinct 8-byte
    // values a row group keep their dictionaries.
    options.execution.parquet.dictionary_page_size_limit = 256 << 10;
    if pool_size.is_none() {
        // A join whose build keys span under a million values probes an
        // array of them (4 MB at most) instead of a hash table: TPC-H Q17
        // 24 % faster, Q8 9 %, Q9 6 % (benches/README.md). Under a memory
        // limit DataFusion's default stays: the array is reserved whole.
        options.execution.perfect_hash_join_small_build_threshold = 1 << 20;
        // A join whose build side is estimated at under 256 K rows (16 MB)
        // builds one table that every partition probes, and the probe side
        // keeps its partitions instead of being hashed into new ones: with
        // the joins in `small_joins_first`'s order, TPC-H Q9's 43 K-row
        // build (estimated 160 K) no longer repartitions six million
        // lineitem rows. Such a build cannot spill, so a memory limit
        // keeps DataFusion's 128 K rows and 1 MB.
        options.optimizer.hash_join_single_partition_threshold = 16 << 20;
        options.optimizer.hash_join_single_partition_threshold_rows = 256 << 10;
    }
    if let Some(pool) = pool_size {
        let execution = &mut options.execution;
        // Each sort holds this much back for its merge; DataFusion's
        // 10 MB per sort starves the rest of a small pool.
        execution.sort_spill_reservation_bytes =
            execution.sort_spill_reservation_bytes.min(pool / 32);
        // A repartition that spills from several inputs at once can leave
        // its reader waiting on one open file while the batch it needs is
        // in another and every writer waits on the reader
        // (apache/datafusion#24883, seen here once as a TPC-H Q18 that never
        // ended). A file per spilled batch, finished as it is written,
        // leaves nothing open to wait on.
        execution.max_spill_file_size_bytes =
            ConfigNonZeroUsize::try_new(1).expect("1 is not zero");
        planning::configure_for_limit(options, pool);
    }
    if let Some(threads) = threads {
        config = config.with_target_partitions(threads);
    }
    config
}

/// The pool of a session: unbounded, or a headroom pool of `size` bytes
/// that names its five biggest consumers when it refuses one.
fn limited_pool(size: Option<usize>) -> Arc<dyn MemoryPool> {
    match size {
        Some(size) => Arc::new(TrackConsumersPool::new(
            memory::HeadroomPool::new(size),
            NonZeroUsize::new(5).expect("non-zero"),
        )),
        None => Arc::new(UnboundedMemoryPool::default()),
    }
}

fn runtime_env(
    options: &EngineOptions,
    stores: &Arc<ObjectStores>,
    pool: &Arc<memory::PeakPool>,
) -> Result<Arc<RuntimeEnv>> {
    let mut runtime = RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::clone(stores) as Arc<dyn ObjectStoreRegistry>)
        .with_memory_pool(Arc::clone(pool) as Arc<dyn MemoryPool>)
        .with_cache_manager(fresh_listings());
    if let Some(dir) = &options.temp_dir {
        runtime = runtime.with_disk_manager_builder(
            DiskManagerBuilder::default()
                .with_mode(DiskManagerMode::Directories(vec![dir.clone()])),
        );
    }
    if let Some(size) = options.max_temp_size {
        runtime = runtime.with_max_temp_directory_size(size);
    }
    runtime.build_arc()
}

/// Caches that keep no directory listing. DataFusion 55 keeps listings for
/// the life of the process: a file written into a table's directory (by
/// COPY, or by anyone) was never seen, and `count(*)` answered from the old
/// listing with exit 0. morsel lists again for every statement, as DuckDB
/// does.
fn fresh_listings() -> CacheManagerConfig {
    CacheManagerConfig::default().with_list_files_cache_limit(0)
}

/// The context over `state` with morsel's tables: `CREATE EXTERNAL TABLE`
/// for Parquet and CSV, quoted paths and globs in `FROM`, and CSV schemas
/// inferred without cutting a quoted newline.
fn with_morsel_catalog(
    mut state: SessionState,
    stores: &Arc<ObjectStores>,
) -> Result<SessionContext> {
    state.register_file_format(Arc::new(QuotedCsvFactory::default()), true)?;
    for format in ["PARQUET", "CSV"] {
        state.table_factories_mut().insert(
            format.into(),
            Arc::new(MorselTableFactory::new(Arc::clone(stores))),
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
    Ok(ctx)
}
