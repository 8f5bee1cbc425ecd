//! Rule: on a cluster, a leaf that makes its rows up (`EmptyExec`'s none,
//! `PlaceholderRowExec`'s one) becomes an in-memory scan of the same rows.
//!
//! Ballista's scheduler hands each task of a stage the stage's plan cut
//! down to the task's partitions. Under a `UNION`, a branch that a task
//! does not read is cut to nothing, and an empty or placeholder leaf there
//! becomes a memory scan of no partitions. A memory scan reports metrics;
//! the leaves it replaced report none. The tasks of one stage then report
//! different numbers of operators, the scheduler refuses to record the
//! later ones ("task metrics array size 8 does not equal with the stage
//! metrics array size 7"), and the stage never finishes: a UNION of two
//! branches that found no rows had no answer from the cluster, ever
//! (sqlfuzz through a cluster, `--seed 9203`, docs/reliability.md). With
//! memory scans from the start, every task's plan has the same operators.

use std::sync::Arc;

use datafusion::arrow::array::new_null_array;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::ScalarValue;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::placeholder_row::PlaceholderRowExec;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};

/// Replaces each `EmptyExec` and `PlaceholderRowExec` with a memory scan of
/// the same schema, partitions and rows.
#[derive(Debug, Default)]
pub struct MeasuredEmptyLeaves;

impl PhysicalOptimizerRule for MeasuredEmptyLeaves {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(as_memory_scan)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "measured_empty_leaves"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn as_memory_scan(node: Arc<dyn ExecutionPlan>) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    let rows_per_partition = if node.is::<EmptyExec>() {
        Vec::new()
    } else if node.is::<PlaceholderRowExec>() {
        match placeholder_row(node.schema()) {
            Some(row) => vec![row],
            None => return Ok(Transformed::no(node)),
        }
    } else {
        return Ok(Transformed::no(node));
    };
    let partitions = vec![rows_per_partition; node.output_partitioning().partition_count()];
    let scan = MemorySourceConfig::try_new_exec(&partitions, node.schema(), None)?;
    Ok(Transformed::yes(scan))
}

/// The placeholder's one row, whose values nothing reads: NULL where a
/// field may be NULL, the type's default (0, '') where it may not, as under
/// the `count(*)` that DataFusion answers from a file's statistics
/// (`SELECT count(*) … UNION ALL … ORDER BY 1` then never finished on a
/// cluster, its tasks reporting unequal metrics). `None` for a type
/// without a default.
fn placeholder_row(schema: SchemaRef) -> Option<RecordBatch> {
    let columns = (schema.fields().iter())
        .map(|field| match field.is_nullable() {
            true => Some(new_null_array(field.data_type(), 1)),
            false => ScalarValue::new_default(field.data_type())
                .and_then(|value| value.to_array_of_size(1))
                .ok(),
        })
        .collect::<Option<Vec<_>>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(1));
    RecordBatch::try_new_with_options(schema, columns, &options).ok()
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::physical_plan::union::UnionExec;
    use datafusion::physical_plan::{collect, displayable};
    use datafusion::prelude::SessionContext;

    use super::*;

    #[tokio::test]
    async fn leaves_become_memory_scans_of_the_same_rows() {
        // `n` may not be NULL, as the count DataFusion answers from
        // statistics.
        let schema = Arc::new(Schema::new(vec![
            Field::new("x", DataType::Int64, true),
            Field::new("n", DataType::Int64, false),
        ]));
        let empty: Arc<dyn ExecutionPlan> =
            Arc::new(EmptyExec::new(Arc::clone(&schema)).with_partitions(2));
        let placeholder: Arc<dyn ExecutionPlan> =
            Arc::new(PlaceholderRowExec::new(Arc::clone(&schema)));
        let union = UnionExec::try_new(vec![empty, placeholder]).unwrap();

        let rewritten = MeasuredEmptyLeaves
            .optimize(Arc::clone(&union), &ConfigOptions::default())
            .unwrap();
        let shown = displayable(rewritten.as_ref()).indent(false).to_string();
        assert!(!shown.contains("EmptyExec"), "{shown}");
        assert!(!shown.contains("PlaceholderRowExec"), "{shown}");
        assert_eq!(shown.matches("DataSourceExec").count(), 2, "{shown}");
        assert_eq!(rewritten.output_partitioning().partition_count(), 3);

        let task = SessionContext::new().task_ctx();
        let before = collect(union, Arc::clone(&task)).await.unwrap();
        let after = collect(rewritten, task).await.unwrap();
        let rows = |batches: &[RecordBatch]| batches.iter().map(|b| b.num_rows()).sum::<usize>();
        assert_eq!(rows(&after), 1);
        assert_eq!(rows(&after), rows(&before));
        assert!(after.iter().all(|batch| batch.column(0).is_null(0)));
    }
}
