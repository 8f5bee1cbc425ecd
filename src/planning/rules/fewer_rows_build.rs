//! Rule: a hash join builds its table on the side estimated to have far
//! fewer rows, whatever the estimated bytes say.
//!
//! DataFusion's join selection puts the side with fewer estimated bytes on
//! the build side, and the bytes it estimates above a semi or anti join are
//! the preserved side's column sizes scaled by the join's row estimate. Those
//! column sizes can describe a different, bigger input: in TPC-H Q21 the
//! `EXISTS` semi join is estimated at 60,000 rows of 95 MB, the 6 million
//! rows of lineitem it is anti-joined with at 95 MB too, and the anti join
//! built its table from 3.8 million lineitem rows to probe 73,000. Rows are
//! what a hash table costs to build and hold, so a side with a tenth of the
//! other's rows or fewer becomes the build side.
//!
//! It runs right after DataFusion's join selection, whose choices it
//! corrects, and before the rules that add repartitions and dynamic filters
//! for the joins as they now stand.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};
use datafusion::physical_plan::{ExecutionPlan, StatisticsArgs, StatisticsContext};

use super::replace_hash_joins;

/// How many times the other side's rows a build side must have estimated
/// before the sides swap: the estimates are guesses, and only a wide gap
/// outweighs the bytes DataFusion went by.
const ROWS_FACTOR: usize = 10;

/// Swaps hash joins whose build side has at least [`ROWS_FACTOR`] times
/// the probe side's estimated rows.
#[derive(Debug)]
pub struct FewerRowsBuild {
    /// Whether a small new build side may be collected once for all
    /// partitions; not under a memory limit, where only a partitioned join
    /// spills.
    pub may_collect: bool,
}

impl PhysicalOptimizerRule for FewerRowsBuild {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !config.optimizer.join_reordering {
            return Ok(plan);
        }
        let collect_below = config.optimizer.hash_join_single_partition_threshold_rows;
        replace_hash_joins(plan, |_, join| self.swapped(join, collect_below))
    }

    fn name(&self) -> &str {
        "fewer_rows_build"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

impl FewerRowsBuild {
    /// `join` with its inputs swapped, or `None` to keep it.
    fn swapped(
        &self,
        join: &HashJoinExec,
        collect_below: usize,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        // A null-aware anti join needs its subquery on the probe side.
        if !join.join_type().supports_swap() || join.null_aware {
            return Ok(None);
        }
        let (Some(build), Some(probe)) =
            (estimated_rows(join.left()), estimated_rows(join.right()))
        else {
            return Ok(None);
        };
        if build < probe.max(1).saturating_mul(ROWS_FACTOR) {
            return Ok(None);
        }
        let mode = match join.partition_mode() {
            PartitionMode::Partitioned if self.may_collect && probe < collect_below => {
                PartitionMode::CollectLeft
            }
            PartitionMode::Partitioned => PartitionMode::Partitioned,
            // The new build side is smaller than the collected one.
            PartitionMode::CollectLeft if self.may_collect => PartitionMode::CollectLeft,
            // Under a memory limit the planner sized the collected side by
            // its bytes; a swap could collect more.
            PartitionMode::CollectLeft | PartitionMode::Auto => return Ok(None),
        };
        join.swap_inputs(mode).map(Some)
    }
}

fn estimated_rows(plan: &Arc<dyn ExecutionPlan>) -> Option<usize> {
    StatisticsContext::new()
        .compute(plan.as_ref(), &StatisticsArgs::new())
        .ok()?
        .num_rows
        .get_value()
        .copied()
}
