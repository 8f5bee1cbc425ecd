//! Rule: on a cluster, a UNION branch holding a join whose sides Ballista
//! may swap when it resolves the stage runs as a stage of its own.
//!
//! Ballista's scheduler hands each task of a stage the stage's plan cut
//! down to the task's partitions; under a `UNION` a branch the task does not
//! read is cut to no partitions. A branch whose partitions do not come from
//! leaves it can cut (a join that collects one side reports the partitions
//! of the other) keeps reporting one, and every task runs it. Ballista's
//! stage planner gives such a branch a stage of its own, but decides before
//! it resolves the stage, and resolving runs its `JoinSelection` again,
//! which swaps a nested-loop or cross join whose right side is one
//! partition: the side collected whole becomes the side that drives the
//! join. The branch then ran in every task: `SELECT count(*) FROM (SELECT
//! x.k FROM tb x JOIN tp y ON x.k < y.k UNION ALL SELECT 1) u` answered 96
//! for 33 through a scheduler and two executors, exit 0, and outer joins
//! alike (C7 in docs/reliability.md). A hash repartition above the branch
//! makes it a stage of its own, whose tasks run without a UNION above them,
//! and the union's stage reads it as a shuffle, which cuts cleanly.
//!
//! It runs on the scheduler after DataFusion's `EnsureRequirements`, which
//! would take out a repartition no operator asks for.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{Column, lit};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::joins::{CrossJoinExec, NestedLoopJoinExec};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{
    ExecutionPlan, ExecutionPlanProperties, Partitioning, replace_children_if_necessary,
};

/// Gives each UNION branch that holds a nested-loop or cross join a stage
/// of its own.
#[derive(Debug, Default)]
pub struct UnionBranchesApart;

impl PhysicalOptimizerRule for UnionBranchesApart {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(branches_apart)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "union_branches_apart"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn branches_apart(node: Arc<dyn ExecutionPlan>) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    if !node.is::<UnionExec>() {
        return Ok(Transformed::no(node));
    }
    let mut changed = false;
    let mut branches = Vec::new();
    for branch in node.children() {
        if holds_a_swappable_join(branch)? {
            branches.push(as_own_stage(Arc::clone(branch))?);
            changed = true;
        } else {
            branches.push(Arc::clone(branch));
        }
    }
    if !changed {
        return Ok(Transformed::no(node));
    }
    Ok(Transformed::yes(replace_children_if_necessary(
        node, branches,
    )?))
}

/// Whether `plan` holds a join that Ballista's `JoinSelection` may swap
/// when it resolves the stage.
fn holds_a_swappable_join(plan: &Arc<dyn ExecutionPlan>) -> Result<bool> {
    plan.exists(|node| Ok(node.is::<NestedLoopJoinExec>() || node.is::<CrossJoinExec>()))
}

/// `branch` under a hash repartition on its first column, into as many
/// partitions as it has: Ballista cuts a stage at every hash repartition.
/// A sorted branch is gathered into one partition and sorted instead,
/// which Ballista also runs as stages of their own: hashed, its sorted
/// partitions came out of the shuffle mixed and a `UNION ALL … ORDER BY k`
/// above it answered out of order (Ballista drops a merge put below the
/// repartition, and a sort above it panics in a task that reads none of
/// its partitions, found trying both).
/// A branch of no columns (`SELECT count(*)` over a union reads none) is
/// given one to hash and to carry its rows between the stages, where a
/// batch of no columns lost its row count ("must either specify a row
/// count or at least one column").
fn as_own_stage(branch: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    if let Some(ordering) = branch.output_ordering().cloned() {
        let gathered = Arc::new(CoalescePartitionsExec::new(branch));
        return Ok(Arc::new(SortExec::new(ordering, gathered)));
    }
    let partitions = branch.output_partitioning().partition_count().max(1);
    if branch.schema().fields().is_empty() {
        let row: (Arc<dyn PhysicalExpr>, String) = (lit(true), "morsel_row".to_string());
        let with_row = Arc::new(ProjectionExec::try_new(vec![row], branch)?);
        let hashed = hashed_on_first_column(with_row, partitions)?;
        let no_columns: Vec<(Arc<dyn PhysicalExpr>, String)> = Vec::new();
        return Ok(Arc::new(ProjectionExec::try_new(no_columns, hashed)?));
    }
    hashed_on_first_column(branch, partitions)
}

fn hashed_on_first_column(
    plan: Arc<dyn ExecutionPlan>,
    partitions: usize,
) -> Result<Arc<dyn ExecutionPlan>> {
    let first = Arc::new(Column::new(plan.schema().field(0).name(), 0));
    let hashed = Partitioning::Hash(vec![first], partitions);
    Ok(Arc::new(RepartitionExec::try_new(plan, hashed)?))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::physical_plan::displayable;
    use datafusion::physical_plan::placeholder_row::PlaceholderRowExec;

    use super::*;

    #[test]
    fn a_branch_with_a_cross_join_is_repartitioned_and_the_rest_stay() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
        let leaf = || Arc::new(PlaceholderRowExec::new(Arc::clone(&schema))) as _;
        let cross: Arc<dyn ExecutionPlan> = Arc::new(CrossJoinExec::new(leaf(), leaf()));
        let cross_x = Arc::new(
            ProjectionExec::try_new(
                vec![(Arc::new(Column::new("x", 0)) as _, "x".to_string())],
                cross,
            )
            .unwrap(),
        );
        let union = UnionExec::try_new(vec![cross_x, leaf()]).unwrap();

        let rewritten = UnionBranchesApart
            .optimize(union, &ConfigOptions::default())
            .unwrap();
        let shown = displayable(rewritten.as_ref()).indent(true).to_string();
        let lines: Vec<&str> = shown.lines().map(str::trim).collect();
        assert!(lines[0].starts_with("UnionExec"), "{shown}");
        assert!(
            lines[1].starts_with("RepartitionExec: partitioning=Hash([x@0], 1)"),
            "{shown}"
        );
        assert_eq!(lines.last(), Some(&"PlaceholderRowExec"), "{shown}");
        assert_eq!(shown.matches("RepartitionExec").count(), 1, "{shown}");
    }
}
