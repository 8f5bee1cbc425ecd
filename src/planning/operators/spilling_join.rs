//! A hash join that spills: grace hash join around DataFusion's own.
//!
//! DataFusion 55's `HashJoinExec` keeps its build side in memory and fails
//! when the pool runs dry. [`SpillingHashJoinExec`] takes the place of a
//! partitioned hash join (or, on one thread, a collected one) when a memory
//! limit is set. It buffers the build side under a spillable reservation;
//! if that fits, DataFusion's join runs over the buffered batches as
//! before. If it does not, both sides are cut
//! into buckets by a hash of the join keys (a seed unlike the repartition
//! hash, so the buckets really split a partition), written to spill files,
//! and joined bucket by bucket; a bucket still too big is cut again. Rows
//! can only match within their bucket, so every join type that DataFusion's
//! join runs per key gives the same result. Null-aware anti joins (`NOT IN`)
//! depend on their whole subquery; the `spillable_not_in` rule reduces them
//! to a plain anti join that this one can run.
//!
//! Reusing `HashJoinExec` for each bucket keeps join semantics (outer, semi,
//! anti, filters, projections) exactly DataFusion's.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, UInt32Array};
use datafusion::arrow::compute::take_record_batch;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::hash_utils::{RandomState, create_hashes};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SpillFile;
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryReservation, UnboundedMemoryPool,
};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr, PhysicalExprRef};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::metrics::{
    BaselineMetrics, ExecutionPlanMetricsSet, Gauge, MetricBuilder, MetricsSet, SpillMetrics, Time,
};
use datafusion::physical_plan::spill::SpillManager;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning,
    PlanProperties, ReplaceChildrenOptions,
};
use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use parking_lot::Mutex;

const RECOMPUTE: ReplaceChildrenOptions =
    ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute);

/// Buckets a partition is cut into when its build side does not fit.
const BUCKETS: usize = 16;
/// How many times a bucket over its share is cut again; past that, a single
/// key must be filling it, and it is joined in memory anyway.
const MAX_LEVELS: u64 = 4;
/// A join's build side may hold at most this share of the pool, divided by
/// its partitions: the rest of the plan (aggregates, sorts, other joins)
/// needs memory too, and a join that takes it all starves them.
pub const POOL_SHARE: usize = 4;
/// Seed of the bucket hash; each level adds one.
const SEED: u64 = 0x6d6f_7273_656c;

/// A partitioned hash join that spills its build side instead of failing.
#[derive(Debug)]
pub struct SpillingHashJoinExec {
    /// The join it stands for, run as is on each bucket.
    join: Arc<dyn ExecutionPlan>,
    build_keys: Vec<PhysicalExprRef>,
    probe_keys: Vec<PhysicalExprRef>,
    metrics: ExecutionPlanMetricsSet,
}

impl SpillingHashJoinExec {
    /// `node` is `join`, as the plan holds it.
    pub fn new(node: &Arc<dyn ExecutionPlan>, join: &HashJoinExec) -> Self {
        let (build_keys, probe_keys) = join_keys(join);
        Self::around(Arc::clone(node), build_keys, probe_keys)
    }

    pub fn from_join(join: HashJoinExec) -> Self {
        let (build_keys, probe_keys) = join_keys(&join);
        Self::around(Arc::new(join), build_keys, probe_keys)
    }

    fn around(
        join: Arc<dyn ExecutionPlan>,
        build_keys: Vec<PhysicalExprRef>,
        probe_keys: Vec<PhysicalExprRef>,
    ) -> Self {
        Self {
            join,
            build_keys,
            probe_keys,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

fn join_keys(join: &HashJoinExec) -> (Vec<PhysicalExprRef>, Vec<PhysicalExprRef>) {
    join.on()
        .iter()
        .map(|(l, r)| (Arc::clone(l), Arc::clone(r)))
        .unzip()
}

impl DisplayAs for SpillingHashJoinExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "SpillingHashJoinExec: ")?;
        self.join.fmt_as(t, f)
    }
}

impl ExecutionPlan for SpillingHashJoinExec {
    fn name(&self) -> &str {
        "SpillingHashJoinExec"
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.join.apply_expressions(f)
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.join.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        self.join.children()
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let join = Arc::clone(&self.join).replace_children(children, RECOMPUTE)?;
        Ok(Arc::new(Self::around(
            join,
            self.build_keys.clone(),
            self.probe_keys.clone(),
        )))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let children = self.join.children();
        let build = children[0].execute(partition, Arc::clone(&context))?;
        let probe = children[1].execute(partition, Arc::clone(&context))?;
        let spill = SpillMetrics::new(&self.metrics, partition);
        // Rows out, compute time and peak memory, for EXPLAIN ANALYZE and
        // the plan graphs.
        let baseline = BaselineMetrics::new(&self.metrics, partition);
        let runtime = context.runtime_env();
        let compression = context
            .session_config()
            .options()
            .execution
            .spill_compression;
        let run = Arc::new(Run {
            join: Arc::clone(&self.join),
            build_keys: self.build_keys.clone(),
            probe_keys: self.probe_keys.clone(),
            build_spill: SpillManager::new(Arc::clone(&runtime), spill.clone(), build.schema())
                .with_compression_type(compression),
            probe_spill: SpillManager::new(runtime, spill, probe.schema())
                .with_compression_type(compression),
            reservation: Mutex::new(
                MemoryConsumer::new(format!("SpillingHashJoin[{partition}]"))
                    .with_can_spill(true)
                    .register(context.memory_pool()),
            ),
            budget: build_budget(&context, self.properties().partitioning.partition_count()),
            join_context: unbounded(&context)?,
            compute: baseline.elapsed_compute().clone(),
            peak_memory: MetricBuilder::new(&self.metrics)
                .peak_memory_usage("peak_mem_used", partition),
        });
        let schema = self.schema();
        let output = futures::stream::once(run.start(build, probe))
            .try_flatten()
            .inspect_ok(move |batch| baseline.record_output(batch.num_rows()));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, output)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// One partition's join.
struct Run {
    join: Arc<dyn ExecutionPlan>,
    build_keys: Vec<PhysicalExprRef>,
    probe_keys: Vec<PhysicalExprRef>,
    build_spill: SpillManager,
    probe_spill: SpillManager,
    reservation: Mutex<MemoryReservation>,
    /// Bytes of build side this partition may hold before it spills.
    budget: usize,
    /// Where the per-bucket joins run; see [`Run::in_memory`].
    join_context: Arc<TaskContext>,
    /// Time spent cutting inputs into buckets and in the joins over them.
    compute: Time,
    /// The most build side this partition held at once.
    peak_memory: Gauge,
}

fn build_budget(context: &TaskContext, partitions: usize) -> usize {
    match context.memory_pool().memory_limit() {
        MemoryLimit::Finite(limit) => limit / (POOL_SHARE * partitions.max(1)),
        MemoryLimit::Infinite | MemoryLimit::Unknown => usize::MAX,
    }
}

type Batches = BoxStream<'static, Result<RecordBatch>>;

impl Run {
    /// Joins the partition's two inputs.
    async fn start(
        self: Arc<Self>,
        build: SendableRecordBatchStream,
        probe: SendableRecordBatchStream,
    ) -> Result<Batches> {
        self.join_or_split(build.boxed(), probe.boxed(), 0).await
    }

    /// Buffers the build side and joins in memory if it fits; cuts both
    /// sides into buckets if it does not.
    async fn join_or_split(
        self: Arc<Self>,
        mut build: Batches,
        probe: Batches,
        level: u64,
    ) -> Result<Batches> {
        let mut buffered = Vec::new();
        while let Some(batch) = build.next().await {
            let batch = compacted(batch?)?;
            match self.try_hold(&batch) {
                Hold::Held => {}
                // Too big for this join's share, or no room in the pool: cut
                // into buckets, unless this bucket has been cut so often
                // that one key must fill it.
                Hold::OverBudget | Hold::PoolFull if level < MAX_LEVELS => {
                    let rest = futures::stream::iter(buffered.into_iter().chain([batch]).map(Ok))
                        .chain(build)
                        .boxed();
                    return self.by_buckets(rest, probe, level).await;
                }
                Hold::OverBudget | Hold::PoolFull => self.hold_anyway(&batch),
            }
            buffered.push(batch);
        }
        self.in_memory(buffered, probe)
    }

    fn try_hold(&self, batch: &RecordBatch) -> Hold {
        let reservation = self.reservation.lock();
        let size = held_size(batch);
        if reservation.size() + size > self.budget {
            Hold::OverBudget
        } else if reservation.try_grow(size).is_err() {
            Hold::PoolFull
        } else {
            self.peak_memory.set_max(reservation.size());
            Hold::Held
        }
    }

    /// Holds a batch past the budget: splitting further cannot help.
    fn hold_anyway(&self, batch: &RecordBatch) {
        let reservation = self.reservation.lock();
        reservation.grow(held_size(batch));
        self.peak_memory.set_max(reservation.size());
    }

    fn release(&self) {
        self.reservation.lock().free();
    }

    /// DataFusion's join over a build side held in memory. Its own memory
    /// use is counted by this join's reservation (held until the output is
    /// done), so it runs in a context whose pool never refuses it: it cannot
    /// fail half-way for memory another operator took meanwhile.
    fn in_memory(self: Arc<Self>, build: Vec<RecordBatch>, probe: Batches) -> Result<Batches> {
        // Handed over as a stream, not a memory source that would keep them:
        // the join concatenates the batches, and the originals can go.
        let build = futures::stream::iter(build.into_iter().map(Ok)).boxed();
        let left = Arc::new(OneShotExec::new(self.build_spill.schema().clone(), build));
        let right = Arc::new(OneShotExec::new(self.probe_spill.schema().clone(), probe));
        // A fresh join (`reset_state`): a copy shares the original's
        // metrics, so every bucket's time would pile into one set.
        let join = Arc::clone(&self.join)
            .replace_children(vec![left, right], RECOMPUTE)?
            .reset_state()?;
        let output = join.execute(0, Arc::clone(&self.join_context))?;
        // The stream keeps the run, and so its reservation, alive, and adds
        // the join's time to this one's when it goes.
        let guard = InnerJoinTime { join, run: self };
        Ok(output
            .inspect(move |_| {
                let _ = &guard;
            })
            .boxed())
    }

    /// Cuts both sides into buckets on disk, then joins bucket by bucket.
    /// (Boxed: it recurses through [`Run::bucket`].)
    fn by_buckets(
        self: Arc<Self>,
        build: Batches,
        probe: Batches,
        level: u64,
    ) -> BoxFuture<'static, Result<Batches>> {
        async move {
            let build_files = self
                .split(&self.build_spill, &self.build_keys, build, level)
                .await?;
            self.release();
            let probe_files = self
                .split(&self.probe_spill, &self.probe_keys, probe, level)
                .await?;
            let run = Arc::clone(&self);
            let buckets = build_files.into_iter().zip(probe_files);
            let joined = futures::stream::iter(buckets)
                .then(move |(build, probe)| Arc::clone(&run).bucket(build, probe, level + 1))
                .try_flatten();
            Ok(joined.boxed())
        }
        .boxed()
    }

    /// Joins one bucket, read back from its spill files.
    async fn bucket(
        self: Arc<Self>,
        build: Option<Arc<dyn SpillFile>>,
        probe: Option<Arc<dyn SpillFile>>,
        level: u64,
    ) -> Result<Batches> {
        // The previous bucket's output has been read to the end.
        self.release();
        let probe = self.read(&self.probe_spill, probe)?;
        let build = self.read(&self.build_spill, build)?;
        self.join_or_split(build, probe, level).await
    }

    fn read(&self, spill: &SpillManager, file: Option<Arc<dyn SpillFile>>) -> Result<Batches> {
        match file {
            Some(file) => Ok(spill.read_spill_as_stream(file, None)?.boxed()),
            None => Ok(futures::stream::empty().boxed()),
        }
    }

    /// Writes `input` into one spill file per bucket of its keys' hash.
    async fn split(
        &self,
        spill: &SpillManager,
        keys: &[PhysicalExprRef],
        mut input: Batches,
        level: u64,
    ) -> Result<Vec<Option<Arc<dyn SpillFile>>>> {
        let state = RandomState::with_seed(SEED + level);
        let mut files: Vec<Option<_>> = (0..BUCKETS).map(|_| None).collect();
        let mut hashes = Vec::new();
        while let Some(batch) = input.next().await {
            let batch = batch?;
            let _timer = self.compute.timer();
            let columns = keys
                .iter()
                .map(|key| key.evaluate(&batch)?.into_array(batch.num_rows()))
                .collect::<Result<Vec<_>>>()?;
            hashes.clear();
            hashes.resize(batch.num_rows(), 0);
            create_hashes(&columns, &state, &mut hashes)?;
            let mut rows: Vec<Vec<u32>> = vec![Vec::new(); BUCKETS];
            for (row, hash) in hashes.iter().enumerate() {
                rows[(*hash % BUCKETS as u64) as usize].push(row as u32);
            }
            for (bucket, rows) in rows.into_iter().enumerate() {
                if rows.is_empty() {
                    continue;
                }
                let part = compact_views(take_record_batch(&batch, &UInt32Array::from(rows))?)?;
                let file = match &mut files[bucket] {
                    Some(file) => file,
                    slot => slot.insert(spill.create_in_progress_file("hash join bucket")?),
                };
                file.append_batch(&part)?;
            }
        }
        files
            .into_iter()
            .map(|file| match file {
                Some(mut file) => file.finish(),
                None => Ok(None),
            })
            .collect()
    }
}

/// Adds the time a per-bucket join spent building and probing to the
/// spilling join's compute time, once that join is done or dropped: it is
/// the spilling join's work, and a plan picture must not show it as cold.
struct InnerJoinTime {
    join: Arc<dyn ExecutionPlan>,
    run: Arc<Run>,
}

impl Drop for InnerJoinTime {
    fn drop(&mut self) {
        let Some(metrics) = self.join.metrics() else {
            return;
        };
        let nanos: usize = ["build_time", "join_time"]
            .into_iter()
            .filter_map(|name| metrics.sum_by_name(name))
            .map(|value| value.as_usize())
            .sum();
        self.run
            .compute
            .add_duration(std::time::Duration::from_nanos(nanos as u64));
    }
}

/// `take` on a string-view column keeps every data buffer of the whole
/// batch, so a bucket's slice would carry (and spill) all of them; `gc`
/// copies out just the strings it uses.
fn compact_views(batch: RecordBatch) -> Result<RecordBatch> {
    if !batch
        .columns()
        .iter()
        .any(|c| matches!(c.data_type(), DataType::Utf8View | DataType::BinaryView))
    {
        return Ok(batch);
    }
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|column| match column.data_type() {
            DataType::Utf8View => Arc::new(column.as_string_view().gc()) as ArrayRef,
            DataType::BinaryView => Arc::new(column.as_binary_view().gc()) as ArrayRef,
            _ => Arc::clone(column),
        })
        .collect();
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// A batch read back from a spill file points into the reader's whole
/// buffer, so a few rows can pin hundreds of kilobytes; held for a join, it
/// is copied into buffers of its own size.
fn compacted(batch: RecordBatch) -> Result<RecordBatch> {
    let used: usize = batch
        .columns()
        .iter()
        .map(|c| c.to_data().get_slice_memory_size())
        .collect::<std::result::Result<Vec<_>, _>>()?
        .into_iter()
        .sum();
    if batch.get_array_memory_size() <= 2 * used + 4096 {
        return Ok(batch);
    }
    let all = UInt32Array::from_iter_values(0..batch.num_rows() as u32);
    compact_views(take_record_batch(&batch, &all)?)
}

/// Whether a build batch could be kept in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    Held,
    /// More than this join's share of the pool.
    OverBudget,
    /// Within the share, but the pool has no room.
    PoolFull,
}

/// Memory a buffered build batch costs at the peak of DataFusion's join
/// build: the batch, the copy the join concatenates it into, and its hash
/// table entry (a slot of 16 bytes at a load of ½ to ⅞, and a chain link).
fn held_size(batch: &RecordBatch) -> usize {
    batch.get_array_memory_size() * 2 + 32 * batch.num_rows()
}

/// A copy of `context` whose memory pool never refuses.
fn unbounded(context: &TaskContext) -> Result<Arc<TaskContext>> {
    let runtime = RuntimeEnvBuilder::from_runtime_env(&context.runtime_env())
        .with_memory_pool(Arc::new(UnboundedMemoryPool::default()))
        .build_arc()?;
    Ok(Arc::new(TaskContext::new(
        context.task_id(),
        context.session_id(),
        context.session_config().clone(),
        context.scalar_functions().clone(),
        context.higher_order_functions().clone(),
        context.aggregate_functions().clone(),
        context.window_functions().clone(),
        runtime,
    )))
}

/// A leaf that hands one stream to whoever executes it.
struct OneShotExec {
    schema: SchemaRef,
    stream: Mutex<Option<Batches>>,
    properties: Arc<PlanProperties>,
}

impl fmt::Debug for OneShotExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneShotExec")
    }
}

impl OneShotExec {
    fn new(schema: SchemaRef, stream: Batches) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            schema,
            stream: Mutex::new(Some(stream)),
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for OneShotExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "OneShotExec")
    }
}

impl ExecutionPlan for OneShotExec {
    fn name(&self) -> &str {
        "OneShotExec"
    }

    fn apply_expressions(
        &self,
        _: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn with_new_children(
        self: Arc<Self>,
        _: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(&self, _: usize, _: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let stream = self.stream.lock().take().ok_or_else(|| {
            DataFusionError::Internal("a spilling join's input was read twice".into())
        })?;
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }
}
