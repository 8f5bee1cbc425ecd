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
//! kept to one task (Ballista's planner runs `EnsureRequirements` again on
//! each stage, which takes out a coalesce no operator asks for; sqlfuzz
//! found the duplicates): [`FullJoinsApart`], a logical rule of the
//! client's, writes it as the LEFT join and the right side's unmatched rows,
//! which the nested loops above answer task by task.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, JoinType, ScalarValue};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, Join, LogicalPlan, LogicalPlanBuilder, lit};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::joins::{
    HashJoinExec, HashJoinExecBuilder, NestedLoopJoinExec, PartitionMode,
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

/// Writes each FULL join without equi-join keys (a nested loop) as the
/// LEFT join of its sides and, below it in a UNION ALL, the right side's
/// rows that match no left row, with NULLs for the left side's columns.
#[derive(Debug, Default)]
pub struct FullJoinsApart;

impl OptimizerRule for FullJoinsApart {
    fn name(&self) -> &str {
        "full_joins_apart"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        match &plan {
            LogicalPlan::Join(join) if join.join_type == JoinType::Full && join.on.is_empty() => {
                left_join_and_unmatched_right(join).map(Transformed::yes)
            }
            _ => Ok(Transformed::no(plan)),
        }
    }
}

/// The name each column of the two branches of the UNION ALL takes by
/// its position: DataFusion's union drops the columns' tables, and a name
/// both sides have (`x.k`, `y.k`) would repeat.
const BRANCH_COLUMN: &str = "__morsel_full_join_";

fn left_join_and_unmatched_right(join: &Join) -> Result<LogicalPlan> {
    let condition = join.filter.clone().unwrap_or(lit(true));
    let joined = LogicalPlanBuilder::from(join.left.as_ref().clone())
        .join_on(
            join.right.as_ref().clone(),
            JoinType::Left,
            [condition.clone()],
        )?
        .build()?;
    let unmatched = LogicalPlanBuilder::from(join.right.as_ref().clone())
        .join_on(join.left.as_ref().clone(), JoinType::LeftAnti, [condition])?
        .build()?;
    let left_as_nulls = join
        .left
        .schema()
        .fields()
        .iter()
        .map(|field| Ok(lit(ScalarValue::try_from(field.data_type())?)))
        .collect::<Result<Vec<_>>>()?;
    let right_columns = join.right.schema().columns().into_iter().map(Expr::Column);
    let joined_columns = joined.schema().columns().into_iter().map(Expr::Column);
    let union = by_position(joined, joined_columns)?
        .union(by_position(unmatched, left_as_nulls.into_iter().chain(right_columns))?.build()?)?;
    let named_back = join
        .schema
        .iter()
        .enumerate()
        .map(|(i, (qualifier, field))| {
            Expr::Column(Column::from_name(format!("{BRANCH_COLUMN}{i}")))
                .alias_qualified(qualifier.cloned(), field.name())
        });
    union.project(named_back)?.build()
}

/// `plan` giving `columns`, each named by its position.
fn by_position(
    plan: LogicalPlan,
    columns: impl Iterator<Item = Expr>,
) -> Result<LogicalPlanBuilder> {
    let named = columns
        .enumerate()
        .map(|(i, column)| column.alias(format!("{BRANCH_COLUMN}{i}")));
    LogicalPlanBuilder::from(plan).project(named)
}
