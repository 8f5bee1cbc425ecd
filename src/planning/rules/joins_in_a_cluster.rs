//! Rules: where a plan's tasks run apart (a cluster), no join relies on
//! seeing all of a side that one task sees only a part of.
//!
//! A hash join that collects its build side once (`CollectLeft`) hands all
//! of it to every task of the probe side. Ballista's static planner then
//! keeps it only where it proves the build side small, and otherwise
//! partitions the join itself, after the rules that add repartitions: an
//! aggregate above it then ran once per partition, and `SELECT count(*) …
//! JOIN …` answered a row per partition (found running tests/slt and
//! sqlfuzz through a cluster). [`PartitionedHashJoins`] partitions every
//! such join first, before DataFusion adds the repartitions it needs; the
//! client turns Ballista's own broadcasts off, so nothing undoes it.
//!
//! A nested-loop join also reads its left side whole in every task, and
//! the unmatched left rows of a LEFT or FULL join, or a left semi, anti or
//! mark join's rows, were emitted by every task: duplicates (sqlfuzz
//! through a cluster). [`RightDrivenNestedLoops`] swaps such a join's
//! sides, so that each task answers for its own rows, before DataFusion
//! adds the repartitions. A FULL join cannot be swapped into safety:
//! [`FullNestedLoopsInOneTask`] reads its right side in one task, after
//! DataFusion has placed its repartitions (which would take such a
//! coalesce out and spread the side again).

use std::sync::Arc;

use datafusion::common::JoinType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::joins::{
    HashJoinExec, HashJoinExecBuilder, NestedLoopJoinExec, PartitionMode,
};
use datafusion::physical_plan::{
    ChildrenPropertiesMode, ExecutionPlan, ExecutionPlanProperties, ReplaceChildrenOptions,
};

/// Makes every hash join that collects its build side once a partitioned
/// one; a null-aware anti join (`NOT IN`) excepted, which the cluster's
/// planner runs as one task.
#[derive(Debug, Default)]
pub struct PartitionedHashJoins;

impl PhysicalOptimizerRule for PartitionedHashJoins {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(partitioned)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "partitioned_hash_joins"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn partitioned(node: Arc<dyn ExecutionPlan>) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    let Some(join) = node.downcast_ref::<HashJoinExec>() else {
        return Ok(Transformed::no(node));
    };
    if join.null_aware || *join.partition_mode() != PartitionMode::CollectLeft {
        return Ok(Transformed::no(node));
    }
    let partitioned = HashJoinExecBuilder::new(
        Arc::clone(&join.left),
        Arc::clone(&join.right),
        join.on.clone(),
        *join.join_type(),
    )
    .with_filter(join.filter.clone())
    .with_projection_ref(join.projection.clone())
    .with_partition_mode(PartitionMode::Partitioned)
    .with_null_equality(join.null_equality)
    .with_null_aware(join.null_aware)
    .build()?;
    Ok(Transformed::yes(Arc::new(partitioned)))
}

/// Swaps the sides of each nested-loop join whose left side drives its
/// answer, but a FULL one.
#[derive(Debug, Default)]
pub struct RightDrivenNestedLoops;

impl PhysicalOptimizerRule for RightDrivenNestedLoops {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(right_driven_nested_loop)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "right_driven_nested_loops"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Whether each task of a join's right side can answer alone, having all
/// of the left side: its rows follow from right rows only.
fn right_driven(join_type: JoinType) -> bool {
    matches!(
        join_type,
        JoinType::Inner
            | JoinType::Right
            | JoinType::RightSemi
            | JoinType::RightAnti
            | JoinType::RightMark
    )
}

fn right_driven_nested_loop(
    node: Arc<dyn ExecutionPlan>,
) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    let Some(join) = node.downcast_ref::<NestedLoopJoinExec>() else {
        return Ok(Transformed::no(node));
    };
    match join.join_type() {
        join_type if right_driven(*join_type) => Ok(Transformed::no(node)),
        JoinType::Full => Ok(Transformed::no(node)),
        _ => Ok(Transformed::yes(join.swap_inputs()?)),
    }
}

/// Reads the right side of each FULL nested-loop join in one task, so
/// that the left side's unmatched rows are added once.
#[derive(Debug, Default)]
pub struct FullNestedLoopsInOneTask;

impl PhysicalOptimizerRule for FullNestedLoopsInOneTask {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(full_nested_loop_in_one_task)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "full_nested_loops_in_one_task"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn full_nested_loop_in_one_task(
    node: Arc<dyn ExecutionPlan>,
) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    let Some(join) = node.downcast_ref::<NestedLoopJoinExec>() else {
        return Ok(Transformed::no(node));
    };
    let right = join.right();
    if *join.join_type() != JoinType::Full || right.output_partitioning().partition_count() <= 1 {
        return Ok(Transformed::no(node));
    }
    let one_task: Arc<dyn ExecutionPlan> = Arc::new(CoalescePartitionsExec::new(Arc::clone(right)));
    let children = vec![Arc::clone(join.left()), one_task];
    let recompute = ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute);
    Ok(Transformed::yes(
        node.replace_children(children, recompute)?,
    ))
}
