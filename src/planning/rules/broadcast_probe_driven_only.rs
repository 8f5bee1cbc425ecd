//! Rule: where a plan's tasks run apart (a cluster), a join collects its
//! build side once for every task only if its answer is driven by the
//! probe side; any other is partitioned.
//!
//! A join that collects its build side once (`CollectLeft`) hands all of
//! it to every task of the probe side. Each task then emits, on its own,
//! the rows that depend on a build row's match anywhere: the unmatched
//! rows of a LEFT or FULL join, a left semi or anti join's rows. In one
//! process the tasks share what they matched; in a cluster they do not.
//! Ballista's static planner partitions such a join itself, but after the
//! rules that add repartitions, so an aggregate above it ran once per
//! partition: `SELECT count(*) … LEFT JOIN …` answered two rows (found
//! running tests/slt through a cluster). This rule runs before those
//! rules, as Ballista's adaptive planner runs its own
//! `DemoteUnsafeBroadcastJoinRule` (private to its crate).

use std::sync::Arc;

use datafusion::common::JoinType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::joins::{HashJoinExec, HashJoinExecBuilder, PartitionMode};

/// Partitions every collected-once join whose answer the build side drives.
#[derive(Debug, Default)]
pub struct BroadcastProbeDrivenOnly;

impl PhysicalOptimizerRule for BroadcastProbeDrivenOnly {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(partitioned_unless_probe_driven)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "broadcast_probe_driven_only"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Whether each probe task can answer a join of `join_type` alone, having
/// all of the build side: its rows follow from probe rows only.
fn probe_driven(join_type: JoinType) -> bool {
    matches!(
        join_type,
        JoinType::Inner
            | JoinType::Right
            | JoinType::RightSemi
            | JoinType::RightAnti
            | JoinType::RightMark
    )
}

fn partitioned_unless_probe_driven(
    node: Arc<dyn ExecutionPlan>,
) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    let Some(join) = node.downcast_ref::<HashJoinExec>() else {
        return Ok(Transformed::no(node));
    };
    // A null-aware anti join (`NOT IN`) must see every row in one task,
    // which the cluster's planner arranges.
    if join.null_aware
        || *join.partition_mode() != PartitionMode::CollectLeft
        || probe_driven(*join.join_type())
    {
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
