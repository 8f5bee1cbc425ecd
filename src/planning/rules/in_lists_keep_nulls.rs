//! Rule: two IN lists on one value, joined by AND or OR, keep their NULLs.
//!
//! DataFusion's simplifier merges `x NOT IN (1) OR x NOT IN (2)` into
//! `x NOT IN ()`, and then into TRUE; `x IN (1) AND x IN (2)` and
//! `x IN (1) AND x NOT IN (1)` into FALSE. For a NULL `x` SQL answers NULL,
//! so `WHERE v NOT IN (1) OR v NOT IN (2)` kept the NULL rows and
//! `WHERE NOT (v IN (1) AND v IN (2))` too (found by sqlfuzz). This rule
//! hands such pairs to the simplifier as `CASE WHEN x IS NULL THEN NULL
//! ELSE x IN (…) END`, the same value for every `x`, which it does not
//! merge. It runs after type coercion, which has given the lists their
//! final types.

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{BinaryExpr, Expr, LogicalPlan, Operator, lit, when};
use datafusion::optimizer::AnalyzerRule;

/// Keeps pairs of IN lists on one value apart from the simplifier.
#[derive(Debug, Default)]
pub struct InListsKeepNulls;

impl AnalyzerRule for InListsKeepNulls {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(guard_node)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "in_lists_keep_nulls"
    }
}

/// One plan node with its pairs guarded.
fn guard_node(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    super::rewrite_expressions(plan, guard_pair)
}

fn guard_pair(expr: Expr) -> Result<Transformed<Expr>> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = expr else {
        return Ok(Transformed::no(expr));
    };
    let same_value = match (left.as_ref(), right.as_ref()) {
        (Expr::InList(l), Expr::InList(r)) => l.expr == r.expr,
        _ => false,
    };
    if !matches!(op, Operator::And | Operator::Or) || !same_value {
        return Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr {
            left,
            op,
            right,
        })));
    }
    let guarded = Expr::BinaryExpr(BinaryExpr::new(
        Box::new(null_guarded(*left)?),
        op,
        Box::new(null_guarded(*right)?),
    ));
    Ok(Transformed::yes(guarded))
}

/// `CASE WHEN x IS NULL THEN NULL ELSE x IN (…) END` for `x IN (…)`.
fn null_guarded(in_list: Expr) -> Result<Expr> {
    let Expr::InList(list) = &in_list else {
        return Ok(in_list);
    };
    let value = list.expr.as_ref().clone();
    when(value.is_null(), lit(ScalarValue::Boolean(None))).otherwise(in_list)
}
