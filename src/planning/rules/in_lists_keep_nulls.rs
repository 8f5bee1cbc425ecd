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
//! final types. Two values are the same when they simplify to one
//! expression: `s NOT IN ('a') OR CASE WHEN -3.00 IS NULL THEN s ELSE s END
//! NOT IN ('')` became `s NOT IN ('a', '')`'s opposite, TRUE, too.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{BinaryExpr, Expr, LogicalPlan, Operator, lit, when};
use datafusion::optimizer::AnalyzerRule;
use datafusion::optimizer::simplify_expressions::ExprSimplifier;

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
    let schema = Arc::new(super::input_schema(&plan)?);
    let simplifier = ExprSimplifier::new(SimplifyContext::builder().with_schema(schema).build());
    super::rewrite_expressions(plan, |expr| guard_pair(expr, &simplifier))
}

fn guard_pair(expr: Expr, simplifier: &ExprSimplifier) -> Result<Transformed<Expr>> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = expr else {
        return Ok(Transformed::no(expr));
    };
    let same_value = match (left.as_ref(), right.as_ref()) {
        (Expr::InList(l), Expr::InList(r)) => same_when_simplified(&l.expr, &r.expr, simplifier),
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

/// Whether `a` and `b` are one expression, or become one when simplified
/// (a value the simplifier cannot simplify counts as different).
fn same_when_simplified(a: &Expr, b: &Expr, simplifier: &ExprSimplifier) -> bool {
    a == b
        || matches!(
            (simplifier.simplify(a.clone()), simplifier.simplify(b.clone())),
            (Ok(a), Ok(b)) if a == b
        )
}

/// `CASE WHEN x IS NULL THEN NULL ELSE x IN (…) END` for `x IN (…)`.
fn null_guarded(in_list: Expr) -> Result<Expr> {
    let Expr::InList(list) = &in_list else {
        return Ok(in_list);
    };
    let value = list.expr.as_ref().clone();
    when(value.is_null(), lit(ScalarValue::Boolean(None))).otherwise(in_list)
}
