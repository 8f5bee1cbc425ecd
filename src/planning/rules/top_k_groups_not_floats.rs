//! Rule: no bounded grouping over floats.
//!
//! DataFusion's `LimitAggregation` gives `SELECT DISTINCT k … ORDER BY k
//! LIMIT n` and `GROUP BY k ORDER BY max(v) LIMIT n` a grouping that keeps
//! only the best n groups in a heap. Its heap and hash table order floats
//! with `partial_cmp`, which answers nothing for NaN: with NaN among the
//! values the grouping panicked ("entered unreachable code") or kept a
//! wrong group (`SELECT DISTINCT f - g … ORDER BY 1 DESC LIMIT 4` dropped
//! 2001.75 for a second NaN; sqlfuzz, NaN in its tables). This rule, right after it,
//! takes the bound off every grouping whose key or ordered value is a
//! float: the whole grouping runs and the sort above it, which keeps its
//! limit, picks the rows. Groupings of any other type keep the bound.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::aggregates::AggregateExec;

/// Takes DataFusion's top-k bound off groupings of floats.
#[derive(Debug, Default)]
pub struct TopKGroupsNotFloats;

impl PhysicalOptimizerRule for TopKGroupsNotFloats {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(aggregate) = node.downcast_ref::<AggregateExec>() else {
                return Ok(Transformed::no(node));
            };
            if !(is_ordered_top_k(aggregate) && orders_floats(aggregate)?) {
                return Ok(Transformed::no(node));
            }
            let unbounded = aggregate.with_new_limit_options(None);
            Ok(Transformed::yes(Arc::new(unbounded) as _))
        })
        .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "top_k_groups_not_floats"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Whether `aggregate` keeps only the first groups of an order (and not
/// merely any n groups, which DISTINCT … LIMIT without ORDER BY asks).
fn is_ordered_top_k(aggregate: &AggregateExec) -> bool {
    aggregate
        .limit_options()
        .is_some_and(|limit| limit.descending().is_some())
}

/// Whether the group key or the min/max the groups are ordered by is a
/// float.
fn orders_floats(aggregate: &AggregateExec) -> Result<bool> {
    let input = aggregate.input().schema();
    for (key, _) in aggregate.group_expr().expr() {
        if key.data_type(&input)?.is_floating() {
            return Ok(true);
        }
    }
    Ok(aggregate
        .get_minmax_desc()
        .is_some_and(|(field, _)| field.data_type().is_floating()))
}
