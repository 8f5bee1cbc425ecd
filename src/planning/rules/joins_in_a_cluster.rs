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
//! adds the repartitions. A FULL join cannot be swapped into safety, nor
//! kept to one task: Ballista's planner runs `EnsureRequirements` again on
//! each stage, which took out a coalesce no operator asks for, and tasks on
//! two executors each added the left rows they had not matched (sqlfuzz,
//! `--seed 9205`, query 323). It runs as the UNION ALL of its LEFT join and
//! the right rows no left row matches, each driven by the side it answers
//! for.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{JoinType, ScalarValue};
use datafusion::error::Result;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{Column, lit};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::joins::{
    HashJoinExec, HashJoinExecBuilder, NestedLoopJoinExec, PartitionMode,
};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::union::UnionExec;

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
/// answer; a FULL one becomes two that the right sides drive.
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
        JoinType::Full => Ok(Transformed::yes(full_as_two_right_driven(join)?)),
        _ => Ok(Transformed::yes(join.swap_inputs()?)),
    }
}

/// A FULL nested loop as the UNION ALL of two joins each task can answer
/// alone: the LEFT join, driven by the left side, and the right rows no
/// left row matches (a right anti join, driven by the right side) with
/// NULLs for the left side's columns. Each branch then runs as a stage of
/// its own ([`UnionBranchesApart`](super::UnionBranchesApart)).
fn full_as_two_right_driven(join: &NestedLoopJoinExec) -> Result<Arc<dyn ExecutionPlan>> {
    let (left, right) = (join.left(), join.right());
    let filter = join.filter().cloned();
    let left_join = NestedLoopJoinExec::try_new(
        Arc::clone(left),
        Arc::clone(right),
        filter.clone(),
        &JoinType::Left,
        None,
    )?
    .swap_inputs()?;
    let unmatched_right = Arc::new(NestedLoopJoinExec::try_new(
        Arc::clone(left),
        Arc::clone(right),
        filter,
        &JoinType::RightAnti,
        None,
    )?);
    let (left_schema, right_schema) = (left.schema(), right.schema());
    let left_as_nulls = left_schema.fields().iter().map(|field| {
        let null = ScalarValue::try_from(field.data_type())?;
        Ok((lit(null), field.name().clone()))
    });
    let right_columns = (right_schema.fields().iter().enumerate())
        .map(|(i, field)| Ok((col_at(field.name(), i), field.name().clone())));
    let unmatched_right = Arc::new(ProjectionExec::try_new(
        left_as_nulls
            .chain(right_columns)
            .collect::<Result<Vec<_>>>()?,
        unmatched_right,
    )?);
    let full = UnionExec::try_new(vec![left_join, unmatched_right])?;
    let Some(projection) = join.projection() else {
        return Ok(full);
    };
    let schema = full.schema();
    let projected = projection.iter().map(|&i| {
        (
            col_at(schema.field(i).name(), i),
            schema.field(i).name().clone(),
        )
    });
    Ok(Arc::new(ProjectionExec::try_new(projected, full)?))
}

fn col_at(name: &str, index: usize) -> Arc<dyn PhysicalExpr> {
    Arc::new(Column::new(name, index))
}
