//! Rule: a join key that has become a constant on one side is compared in
//! the join's filter instead.
//!
//! The simplifier folds a key's expression once the optimizer learns more
//! about its columns: `(x.k IS NULL) = (z.cf IS NULL)`, one of the keys
//! `not_distinct_as_equal` writes, became `false = (z.cf IS NULL)` when a
//! later filter turned `x`'s FULL JOIN into a LEFT JOIN and `x.k` could no
//! longer be NULL. DataFusion's `eliminate_cross_join` then rebuilds inner
//! joins from the keys it can place on one side each, and dropped that
//! one: `x.k IS NOT DISTINCT FROM z.cf` joined 0 with NULL (found by
//! sqlfuzz, `--seed 9108`, queries 2039 and 4140). A join compares its
//! keys and then applies its filter, so the key compared there means the
//! same; it runs just before `eliminate_cross_join`, in every pass.

use datafusion::common::tree_node::Transformed;
use datafusion::common::{NullEquality, Result};
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, LogicalPlan, Operator, binary_expr};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

/// Moves join keys that are constant on one side into the join's filter.
#[derive(Debug, Default)]
pub struct ConstantJoinKeys;

impl OptimizerRule for ConstantJoinKeys {
    fn name(&self) -> &str {
        "constant_join_keys"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Join(mut join) = plan else {
            return Ok(Transformed::no(plan));
        };
        let is_constant_key =
            |(l, r): &(_, _)| !Expr::any_column_refs(l) || !Expr::any_column_refs(r);
        if !join.on.iter().any(is_constant_key) {
            return Ok(Transformed::no(LogicalPlan::Join(join)));
        }
        let (constant, keys) = std::mem::take(&mut join.on)
            .into_iter()
            .partition::<Vec<_>, _>(is_constant_key);
        let op = match join.null_equality {
            NullEquality::NullEqualsNothing => Operator::Eq,
            NullEquality::NullEqualsNull => Operator::IsNotDistinctFrom,
        };
        let compared = constant.into_iter().map(|(l, r)| binary_expr(l, op, r));
        join.on = keys;
        join.filter = conjunction(join.filter.take().into_iter().chain(compared));
        Ok(Transformed::yes(LogicalPlan::Join(join)))
    }
}
