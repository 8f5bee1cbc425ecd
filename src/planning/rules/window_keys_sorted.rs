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
//!
//! A window over rows that some other operator keeps in order failed the
//! same way: the scheduler sorted the probe side below a partitioned
//! `RightAnti` hash join, which keeps the probe side's order, and an
//! executor did not find the join's output ordered (`--seed 9205`, query
//! 137, at four partitions). So a window whose input is not a sort gets
//! one, by its PARTITION BY and ORDER BY keys: rows already in that order
//! cost a pass over them.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::windows::WindowExpr;
use datafusion::physical_plan::windows::{BoundedWindowAggExec, WindowAggExec};
use datafusion::physical_plan::{
    ChildrenPropertiesMode, ExecutionPlan, ExecutionPlanProperties, ReplaceChildrenOptions,
};

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
/// lacks put first, or a sort by its keys where its input is no sort;
/// `None` where `node` is no window or its sort has the keys.
fn sort_with_window_keys(node: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let (window_exprs, input) = if let Some(window) = node.downcast_ref::<BoundedWindowAggExec>() {
        (window.window_expr(), window.input())
    } else if let Some(window) = node.downcast_ref::<WindowAggExec>() {
        (window.window_expr(), window.input())
    } else {
        return Ok(None);
    };
    let Some(first) = window_exprs.first() else {
        return Ok(None);
    };
    let Some(sort) = input.downcast_ref::<SortExec>() else {
        return Ok(sort_by_window_keys(first, input));
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

/// `input` sorted by `window`'s PARTITION BY keys, then its ORDER BY keys;
/// `None` for a window with neither.
fn sort_by_window_keys(
    window: &Arc<dyn WindowExpr>,
    input: &Arc<dyn ExecutionPlan>,
) -> Option<Arc<dyn ExecutionPlan>> {
    let partition_keys = window
        .partition_by()
        .iter()
        .map(|key| PhysicalSortExpr::new_default(Arc::clone(key)));
    let keys = partition_keys.chain(window.order_by().iter().cloned());
    let ordering = LexOrdering::new(keys)?;
    let several = input.output_partitioning().partition_count() > 1;
    let sort = SortExec::new(ordering, Arc::clone(input)).with_preserve_partitioning(several);
    Some(Arc::new(sort))
}
