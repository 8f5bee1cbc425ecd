//! `NOT IN` under a memory limit: the null-aware anti join made spillable.
//!
//! DataFusion answers `x NOT IN (subquery)` with a null-aware anti join that
//! collects every outer row into one in-memory hash table (its build side),
//! because three-valued logic makes the answer depend on the subquery as a
//! whole: a NULL anywhere in it rejects every row, an empty subquery accepts
//! every row, NULL outer keys included, and otherwise an outer row survives
//! when its key is not NULL and matches nothing.
//!
//! Only the first two facts are global, and both are about the subquery, so
//! [`rewrite`] splits them off: the subquery's rows pass through
//! [`ProbeFactsExec`], which notes whether it saw any row and any NULL key;
//! the join itself becomes a plain hash-partitioned anti join, which
//! [`SpillingHashJoinExec`] can spill; a filter on its output applies the
//! facts. An anti join emits its rows only after its probe side has ended,
//! and a hash-repartitioned probe partition ends only after every input
//! partition has, so the facts are complete before the first row is judged.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use datafusion::arrow::array::{Array, BooleanArray};
use datafusion::arrow::compute::is_not_null;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::{PhysicalExpr, PhysicalExprRef};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::filter::FilterExecBuilder;
use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use futures::StreamExt;

use super::spilling_join::SpillingHashJoinExec;

/// What the subquery of one `NOT IN` turned out to hold.
#[derive(Debug, Default)]
struct ProbeFacts {
    any_row: AtomicBool,
    any_null: AtomicBool,
}

/// Turns a null-aware anti join into a spilling anti join over
/// `partitions` hash partitions, followed by the filter that restores
/// `NOT IN`'s treatment of NULLs. `None` when the join carries what the
/// rewrite does not handle (a join filter or a row limit).
pub fn rewrite(join: &HashJoinExec, partitions: usize) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    if join.filter().is_some() || join.fetch().is_some() {
        return Ok(None);
    }
    let [(outer_key, subquery_key)] = join.on() else {
        return Ok(None);
    };
    let facts = Arc::new(ProbeFacts::default());
    let outer = hash_partitioned(without_coalesce(join.left()), outer_key, partitions)?;
    let subquery = Arc::new(ProbeFactsExec {
        input: Arc::clone(join.right()),
        key: Arc::clone(subquery_key),
        facts: Arc::clone(&facts),
    });
    let subquery = hash_partitioned(subquery, subquery_key, partitions)?;
    let anti = join
        .builder()
        .with_null_aware(false)
        .with_partition_mode(PartitionMode::Partitioned)
        .with_projection(None)
        .with_new_children(vec![outer, subquery])?
        .reset_state()
        .build()?;
    let spilling: Arc<dyn ExecutionPlan> = Arc::new(SpillingHashJoinExec::from_join(anti));
    let keep = Arc::new(NotInKeeps {
        key: Arc::clone(outer_key),
        facts,
    });
    let filter = FilterExecBuilder::new(keep, spilling)
        .apply_projection_by_ref(join.projection.as_ref())?
        .build()?;
    Ok(Some(Arc::new(filter)))
}

/// The outer side was gathered into one partition for the collected build;
/// partitioned, it need not be.
fn without_coalesce(plan: &Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
    match plan.downcast_ref::<CoalescePartitionsExec>() {
        Some(coalesce) => Arc::clone(coalesce.input()),
        None => Arc::clone(plan),
    }
}

fn hash_partitioned(
    input: Arc<dyn ExecutionPlan>,
    key: &PhysicalExprRef,
    partitions: usize,
) -> Result<Arc<dyn ExecutionPlan>> {
    let partitioning = Partitioning::Hash(vec![Arc::clone(key)], partitions);
    Ok(Arc::new(RepartitionExec::try_new(input, partitioning)?))
}

/// Passes the subquery's rows through, noting whether there were any and
/// whether any key was NULL.
#[derive(Debug)]
struct ProbeFactsExec {
    input: Arc<dyn ExecutionPlan>,
    key: PhysicalExprRef,
    facts: Arc<ProbeFacts>,
}

impl DisplayAs for ProbeFactsExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "NotInSubqueryExec: key={}", self.key)
    }
}

impl ExecutionPlan for ProbeFactsExec {
    fn name(&self) -> &str {
        "NotInSubqueryExec"
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        f(&self.key)
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(Self {
            input: children.swap_remove(0),
            key: Arc::clone(&self.key),
            facts: Arc::clone(&self.facts),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let schema = input.schema();
        let key = Arc::clone(&self.key);
        let facts = Arc::clone(&self.facts);
        let noted = input.map(move |batch| {
            let batch = batch?;
            if batch.num_rows() > 0 {
                facts.any_row.store(true, Ordering::Relaxed);
                let keys = key.evaluate(&batch)?.into_array(batch.num_rows())?;
                if keys.null_count() > 0 {
                    facts.any_null.store(true, Ordering::Relaxed);
                }
            }
            Ok(batch)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, noted)))
    }
}

/// The predicate that turns the plain anti join's rows into `NOT IN`'s:
/// none if the subquery held a NULL; all if it was empty; else those whose
/// outer key is not NULL.
#[derive(Debug)]
struct NotInKeeps {
    key: PhysicalExprRef,
    facts: Arc<ProbeFacts>,
}

impl fmt::Display for NotInKeeps {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "not_in_survivor({})", self.key)
    }
}

impl PartialEq for NotInKeeps {
    fn eq(&self, other: &Self) -> bool {
        self.key.eq(&other.key) && Arc::ptr_eq(&self.facts, &other.facts)
    }
}

impl Eq for NotInKeeps {}

impl Hash for NotInKeeps {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
        Arc::as_ptr(&self.facts).hash(state);
    }
}

impl PhysicalExpr for NotInKeeps {
    fn data_type(&self, _: &Schema) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn nullable(&self, _: &Schema) -> Result<bool> {
        Ok(false)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let rows = batch.num_rows();
        let keep = if self.facts.any_null.load(Ordering::Relaxed) {
            BooleanArray::from(vec![false; rows])
        } else if !self.facts.any_row.load(Ordering::Relaxed) {
            BooleanArray::from(vec![true; rows])
        } else {
            is_not_null(&self.key.evaluate(batch)?.into_array(rows)?)?
        };
        Ok(ColumnarValue::Array(Arc::new(keep)))
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.key]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        Ok(Arc::new(Self {
            key: children.swap_remove(0),
            facts: Arc::clone(&self.facts),
        }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not_in_survivor(")?;
        self.key.fmt_sql(f)?;
        write!(f, ")")
    }
}
