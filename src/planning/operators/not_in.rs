//! The operator and predicate of `NOT IN` under a memory limit.
//!
//! The `spillable_not_in` rule turns DataFusion's null-aware anti join into
//! a plain anti join, which can spill, and puts back the two facts about the
//! subquery that made it null-aware: whether it held any row, and any NULL
//! key. [`NotInSubqueryExec`] passes the subquery's rows through and notes
//! them in [`SubqueryFacts`]; [`NotInSurvivor`], the predicate of a filter
//! on the join's output, applies them. An anti join emits its rows only
//! after its probe side has ended, and a hash-repartitioned probe partition
//! ends only after every input partition has, so the facts are complete
//! before the first row is judged.

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
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;

/// What the subquery of one `NOT IN` turned out to hold.
#[derive(Debug, Default)]
pub struct SubqueryFacts {
    any_row: AtomicBool,
    any_null: AtomicBool,
}

/// Passes the subquery's rows through, noting whether there were any and
/// whether any key was NULL.
#[derive(Debug)]
pub struct NotInSubqueryExec {
    input: Arc<dyn ExecutionPlan>,
    key: PhysicalExprRef,
    facts: Arc<SubqueryFacts>,
}

impl NotInSubqueryExec {
    pub fn new(
        input: Arc<dyn ExecutionPlan>,
        key: PhysicalExprRef,
        facts: Arc<SubqueryFacts>,
    ) -> Self {
        Self { input, key, facts }
    }
}

impl DisplayAs for NotInSubqueryExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "NotInSubqueryExec: key={}", self.key)
    }
}

impl ExecutionPlan for NotInSubqueryExec {
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
pub struct NotInSurvivor {
    key: PhysicalExprRef,
    facts: Arc<SubqueryFacts>,
}

impl NotInSurvivor {
    pub fn new(key: PhysicalExprRef, facts: Arc<SubqueryFacts>) -> Self {
        Self { key, facts }
    }
}

impl fmt::Display for NotInSurvivor {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "not_in_survivor({})", self.key)
    }
}

impl PartialEq for NotInSurvivor {
    fn eq(&self, other: &Self) -> bool {
        self.key.eq(&other.key) && Arc::ptr_eq(&self.facts, &other.facts)
    }
}

impl Eq for NotInSurvivor {}

impl Hash for NotInSurvivor {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
        Arc::as_ptr(&self.facts).hash(state);
    }
}

impl PhysicalExpr for NotInSurvivor {
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
