//! Our optimizer rules, one file each; `planning::analyzer_rules` and `planning::physical_rules`
//! say in which order they run and why.

mod checked_arithmetic;
mod checked_constants;
mod filters_under_renames;
mod float_meets_decimal;
mod in_list_zeros;
mod in_lists_keep_nulls;
mod inexact_float_stats;
mod not_distinct_as_equal;
mod null_aware_in;
mod spillable_joins;
mod spillable_not_in;

pub use checked_arithmetic::CheckedArithmetic;
pub use checked_constants::CheckedConstants;
pub use filters_under_renames::FiltersUnderRenames;
pub use float_meets_decimal::FloatMeetsDecimal;
pub use in_list_zeros::InListZeros;
pub use in_lists_keep_nulls::InListsKeepNulls;
pub use inexact_float_stats::InexactFloatStats;
pub use not_distinct_as_equal::NotDistinctAsEqual;
pub use null_aware_in::NullAwareIn;
pub use spillable_joins::SpillableJoins;
pub use spillable_not_in::SpillableNotIn;

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::joins::HashJoinExec;

/// `plan` with each hash join, from the leaves up, replaced by what
/// `replace` makes of it (the plan node, and the node as a join); `None`
/// keeps the join.
fn replace_hash_joins(
    plan: Arc<dyn ExecutionPlan>,
    replace: impl Fn(&Arc<dyn ExecutionPlan>, &HashJoinExec) -> Result<Option<Arc<dyn ExecutionPlan>>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let Some(join) = node.downcast_ref::<HashJoinExec>() else {
            return Ok(Transformed::no(node));
        };
        Ok(match replace(&node, join)? {
            Some(replacement) => Transformed::yes(replacement),
            None => Transformed::no(node),
        })
    })
    .map(|transformed| transformed.data)
}
