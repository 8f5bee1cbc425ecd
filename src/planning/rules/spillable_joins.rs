//! Rule: hash joins that spill in place of hash joins that fail.
//!
//! Under a memory limit every partitioned hash join becomes a
//! [`SpillingHashJoinExec`], which runs DataFusion's own join when its build
//! side fits and joins bucket by bucket from spill files when it does not.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};

use super::replace_hash_joins;
use crate::planning::operators::SpillingHashJoinExec;

/// Puts [`SpillingHashJoinExec`] in place of partitioned hash joins.
#[derive(Debug, Default)]
pub struct SpillableJoins;

impl PhysicalOptimizerRule for SpillableJoins {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        replace_hash_joins(plan, |node, join| {
            Ok(spilling(node, join)?.map(|spilling| Arc::new(spilling) as _))
        })
    }

    fn name(&self) -> &str {
        "spillable_joins"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The spilling join for `join` (which is `node`), or `None` to keep it.
fn spilling(
    node: &Arc<dyn ExecutionPlan>,
    join: &HashJoinExec,
) -> Result<Option<SpillingHashJoinExec>> {
    // A null-aware join depends on its whole subquery; the spillable_not_in
    // rule has rewritten those it can, and bucketing the rest would be wrong.
    if join.null_aware {
        return Ok(None);
    }
    Ok(match join.partition_mode() {
        PartitionMode::Partitioned => Some(SpillingHashJoinExec::new(node, join)),
        // On one thread every join collects its build side, whatever its
        // size; with one partition on each side that is the same join as a
        // partitioned one, which can spill.
        PartitionMode::CollectLeft if single_partitions(join) => {
            Some(SpillingHashJoinExec::from_join(
                join.builder()
                    .with_partition_mode(PartitionMode::Partitioned)
                    .build()?,
            ))
        }
        // Otherwise a collected build side is small by the planner's
        // estimate, and shared by all partitions.
        _ => None,
    })
}

fn single_partitions(join: &HashJoinExec) -> bool {
    [join.left(), join.right()]
        .iter()
        .all(|side| side.properties().partitioning.partition_count() == 1)
}
