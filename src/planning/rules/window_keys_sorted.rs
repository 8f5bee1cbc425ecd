//! Rule: in a plan that travels, the sort below a window sorts by the
//! window's PARTITION BY keys too, even where the scheduler proved them
//! constant.
//!
//! A filter whose statistics leave one value of a column (`WHERE -8 >= i`
//! over files whose smallest `i` is -8) makes DataFusion take `i` as
//! constant, so the sort below `dense_rank() OVER (PARTITION BY i ORDER BY
//! k)` sorts by `k` alone. An executor rebuilds the window from the
//! stage's encoding, where no statistics travel, finds its input not
//! ordered by `i` and refuses it: "Expects PARTITION BY expression to be
//! ordered" (sqlfuzz through a cluster, `--seed 9204` queries 339 and 568;
//! docs/reliability.md, C6). Sorting by the missing keys first gives the
//! same order where they are constant, and one the window accepts
//! anywhere. It runs on the scheduler, after `EnsureRequirements` adds the
//! sorts.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::windows::{BoundedWindowAggExec, WindowAggExec};
use datafusion::physical_plan::{ChildrenPropertiesMode, ExecutionPlan, ReplaceChildrenOptions};

/// Puts each window's missing PARTITION BY keys first in the sort below it.
#[derive(Debug, Default)]
pub struct WindowKeysSorted;

impl PhysicalOptimizerRule for WindowKeysSorted {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| match sort_with_window_keys(&node)? {
            Some(sort) => {
                let recompute = ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute);
                Ok(Transformed::yes(
                    node.replace_children(vec![sort], recompute)?,
                ))
            }
            None => Ok(Transformed::no(node)),
        })
        .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "window_keys_sorted"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The sort below `node`, a window, with the window's PARTITION BY keys it
/// lacks put first; `None` where `node` is no window over a sort or the
/// sort has them all.
fn sort_with_window_keys(node: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let (window_exprs, input) = if let Some(window) = node.downcast_ref::<BoundedWindowAggExec>() {
        (window.window_expr(), window.input())
    } else if let Some(window) = node.downcast_ref::<WindowAggExec>() {
        (window.window_expr(), window.input())
    } else {
        return Ok(None);
    };
    let (Some(first), Some(sort)) = (window_exprs.first(), input.downcast_ref::<SortExec>()) else {
        return Ok(None);
    };
    let sorted = sort.expr();
    let missing: Vec<PhysicalSortExpr> = first
        .partition_by()
        .iter()
        .filter(|key| !sorted.iter().any(|s| s.expr.eq(*key)))
        .map(|key| PhysicalSortExpr::new_default(Arc::clone(key)))
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let Some(ordering) = LexOrdering::new(missing.into_iter().chain(sorted.iter().cloned())) else {
        return Ok(None);
    };
    let keyed = SortExec::new(ordering, Arc::clone(sort.input()))
        .with_preserve_partitioning(sort.preserve_partitioning())
        .with_fetch(sort.fetch());
    Ok(Some(Arc::new(keyed)))
}
