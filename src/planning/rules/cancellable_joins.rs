//! Rule: a join's output counts against tokio's task budget, so a query
//! stops soon after it is cancelled.
//!
//! A statement is cancelled (Ctrl-C, SIGTERM, a REPL user giving up) by
//! dropping it, and the tasks that run its partitions stop at their next
//! yield. DataFusion makes its leaves yield now and then (`CooperativeExec`)
//! but a join can turn one input batch into thousands of output batches
//! without polling its inputs again: above it, an aggregate's loop never
//! yields. A cross join of two 100,000-row ranges went on using both cores
//! for minutes after Ctrl-C (found by `examples/soak`). Wrapped in
//! `CooperativeExec`, every output batch spends budget, and a spent budget
//! makes the task yield, where cancelling takes effect. It runs last: the
//! spilling rules look for joins by type, and must see them unwrapped.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::joins::{
    CrossJoinExec, HashJoinExec, NestedLoopJoinExec, SortMergeJoinExec,
};

use crate::planning::operators::SpillingHashJoinExec;

/// Wraps each join in a `CooperativeExec`.
#[derive(Debug, Default)]
pub struct CancellableJoins;

impl PhysicalOptimizerRule for CancellableJoins {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            Ok(if is_join(&node) {
                Transformed::yes(Arc::new(CooperativeExec::new(node)) as Arc<dyn ExecutionPlan>)
            } else {
                Transformed::no(node)
            })
        })
        .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "cancellable_joins"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn is_join(node: &Arc<dyn ExecutionPlan>) -> bool {
    node.is::<CrossJoinExec>()
        || node.is::<NestedLoopJoinExec>()
        || node.is::<HashJoinExec>()
        || node.is::<SortMergeJoinExec>()
        || node.is::<SpillingHashJoinExec>()
}
