//! Rule: `IN (subquery)` keeps SQL's NULLs wherever it stands in a filter.
//!
//! DataFusion turns `x [NOT] IN (SELECT y …)` into a join. As a filter's
//! top-level conjunct with `x` a column it is a semi join, or for `NOT IN`
//! a null-aware anti join, and right. Anywhere else (under `NOT`, `OR`,
//! `IS NULL`, in a `CASE`) it becomes a mark join, and with a constant `x`
//! a plain anti join: both answer FALSE where SQL answers NULL (`x` NULL
//! and the subquery not empty, or no match and a NULL among the `y`), so
//! `WHERE (x NOT IN (…)) IS NULL` lost rows and `7 NOT IN (1, NULL)` kept
//! them (found by sqlfuzz). This rule spells those out with `EXISTS`,
//! which has no NULLs to lose:
//!
//! ```text
//! CASE WHEN x IN (S) THEN TRUE
//!      WHEN EXISTS (S WHERE y IS NULL) THEN NULL
//!      WHEN x IS NULL AND EXISTS (S) THEN NULL
//!      ELSE FALSE END
//! ```
//!
//! and `NOT IN` as `NOT` of that. It runs before type coercion, which then
//! types the new expressions like the rest.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::expr::{Exists, InSubquery};
use datafusion::logical_expr::utils::{conjunction, split_conjunction_owned};
use datafusion::logical_expr::{
    Expr, Filter, LogicalPlan, LogicalPlanBuilder, Subquery, lit, not, when,
};
use datafusion::optimizer::AnalyzerRule;

/// Spells out `IN (subquery)` where DataFusion would lose its NULLs.
#[derive(Debug, Default)]
pub struct NullAwareIn;

impl AnalyzerRule for NullAwareIn {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(filter_with_null_aware_in)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "null_aware_in"
    }
}

fn filter_with_null_aware_in(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let LogicalPlan::Filter(filter) = plan else {
        return Ok(Transformed::no(plan));
    };
    let mut changed = false;
    let mut conjuncts = Vec::new();
    for conjunct in split_conjunction_owned(filter.predicate) {
        let rewritten = if joins_null_aware(&conjunct) {
            Transformed::no(conjunct)
        } else {
            conjunct.transform_up(spelled_out)?
        };
        changed |= rewritten.transformed;
        conjuncts.push(rewritten.data);
    }
    let predicate = conjunction(conjuncts).unwrap_or_else(|| lit(true));
    let filter = LogicalPlan::Filter(Filter::try_new(predicate, filter.input)?);
    Ok(Transformed::new_transformed(filter, changed))
}

/// A top-level `col [NOT] IN (…)`, which DataFusion answers right.
fn joins_null_aware(conjunct: &Expr) -> bool {
    matches!(conjunct, Expr::InSubquery(in_subquery) if !in_subquery.expr.column_refs().is_empty())
}

fn spelled_out(expr: Expr) -> Result<Transformed<Expr>> {
    let Expr::InSubquery(InSubquery {
        expr,
        subquery,
        negated,
    }) = expr
    else {
        return Ok(Transformed::no(expr));
    };
    let found = Expr::InSubquery(InSubquery::new(expr.clone(), subquery.clone(), false));
    let null = || lit(ScalarValue::Boolean(None));
    let value = when(found, lit(true))
        .when(exists(with_null_values(&subquery)?), null())
        .when(expr.is_null().and(exists(subquery)), null())
        .otherwise(lit(false))?;
    Ok(Transformed::yes(if negated { not(value) } else { value }))
}

fn exists(subquery: Subquery) -> Expr {
    Expr::Exists(Exists::new(subquery, false))
}

/// The rows of `subquery` whose value is NULL.
fn with_null_values(subquery: &Subquery) -> Result<Subquery> {
    let plan = subquery.subquery.as_ref().clone();
    let value = Expr::Column(plan.schema().columns().remove(0));
    let nulls = LogicalPlanBuilder::from(plan)
        .filter(value.is_null())?
        .build()?;
    Ok(Subquery {
        subquery: Arc::new(nulls),
        outer_ref_columns: subquery.outer_ref_columns.clone(),
        spans: subquery.spans.clone(),
    })
}
