//! Rule: `a IS NOT DISTINCT FROM b` in a join or filter condition is
//! written with plain equalities.
//!
//! DataFusion makes such a condition a join key under which NULL equals
//! NULL, and that holds for every key of the join: an equality the
//! optimizer later moves into the same join (`… FULL JOIN b ON a.k IS NOT
//! DISTINCT FROM b.i WHERE NOT (b.d <> a.i)`) became a key on which two
//! NULLs matched, and a row that SQL filters out was joined (found by
//! sqlfuzz). Written as
//!
//! ```text
//! (a IS NULL) = (b IS NULL) AND coalesce(a, v) = coalesce(b, v)
//! ```
//!
//! with `v` the type's default value, the condition is the same for every
//! `a` and `b` (never NULL, true for two NULLs), still two hash-join keys,
//! and the join keeps SQL's NULLs for all of them. It runs after type
//! coercion, so both sides have one type.

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::functions::expr_fn::coalesce;
use datafusion::logical_expr::utils::{conjunction, split_conjunction_owned};
use datafusion::logical_expr::{
    BinaryExpr, Expr, ExprSchemable, Filter, LogicalPlan, Operator, lit,
};
use datafusion::optimizer::AnalyzerRule;

/// Writes `IS NOT DISTINCT FROM` conditions with plain equalities.
#[derive(Debug, Default)]
pub struct NotDistinctAsEqual;

impl AnalyzerRule for NotDistinctAsEqual {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(rewrite_node)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "not_distinct_as_equal"
    }
}

fn rewrite_node(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    match plan {
        LogicalPlan::Join(mut join) => {
            let Some(condition) = join.filter.take() else {
                return Ok(Transformed::no(LogicalPlan::Join(join)));
            };
            let schema = join.left.schema().join(join.right.schema())?;
            let condition = as_equalities(condition, &schema)?;
            join.filter = Some(condition.data);
            Ok(Transformed::new_transformed(
                LogicalPlan::Join(join),
                condition.transformed,
            ))
        }
        LogicalPlan::Filter(filter) => {
            let predicate = as_equalities(filter.predicate, filter.input.schema())?;
            let node = LogicalPlan::Filter(Filter::try_new(predicate.data, filter.input)?);
            Ok(Transformed::new_transformed(node, predicate.transformed))
        }
        other => Ok(Transformed::no(other)),
    }
}

/// `condition` with each top-level `IS NOT DISTINCT FROM` rewritten.
fn as_equalities(condition: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let mut changed = false;
    let mut conjuncts = Vec::new();
    for conjunct in split_conjunction_owned(condition) {
        let rewritten = equalities_of(conjunct, schema)?;
        changed |= rewritten.transformed;
        conjuncts.push(rewritten.data);
    }
    let condition = conjunction(conjuncts).unwrap_or_else(|| lit(true));
    Ok(Transformed::new_transformed(condition, changed))
}

fn equalities_of(conjunct: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let Expr::BinaryExpr(BinaryExpr {
        left,
        op: Operator::IsNotDistinctFrom,
        right,
    }) = &conjunct
    else {
        return Ok(Transformed::no(conjunct));
    };
    let ty = left.get_type(schema)?;
    let default = match ScalarValue::new_default(&ty) {
        Ok(value) if right.get_type(schema)? == ty => value,
        _ => return Ok(Transformed::no(conjunct)),
    };
    let (a, b) = (left.as_ref().clone(), right.as_ref().clone());
    let both_or_neither_null = a.clone().is_null().eq(b.clone().is_null());
    let same_value = coalesce(vec![a, lit(default.clone())]).eq(coalesce(vec![b, lit(default)]));
    Ok(Transformed::yes(both_or_neither_null.and(same_value)))
}
