//! Rule: where floats meet in a hash set or a window's keys, -0.0 is 0.
//!
//! DataFusion checks an IN list against a hash set of its values (a short
//! one too, where its values were cast), and a DISTINCT aggregate
//! (`count(DISTINCT f)`, `sum(DISTINCT f)`, …) collects its values in one,
//! and the hash tells -0.0 from 0.0, which SQL (and DuckDB) hold equal:
//! `g IN (-2, 0, 5, 7)` and `-7.00 * f NOT IN (0, 5)` were wrong where `g`
//! or `f * -7` is -0.0, and `count(DISTINCT f * g)` counted 0 twice (found
//! by sqlfuzz; `SELECT DISTINCT` and `GROUP BY` already hold them equal).
//! A window's PARTITION BY and ORDER BY keys are compared by their bits
//! too, so `min(v) OVER (PARTITION BY f)` made two partitions of -0.0 and
//! 0.0, and `rank() OVER (ORDER BY f)` two ranks.
//! Arithmetic makes -0.0 from plain data, so this rule uses
//! `CASE WHEN x = 0 THEN 0 ELSE x END`, the same value but for the sign of
//! zero, on both sides of every float IN list, as every float argument
//! of a DISTINCT aggregate and as every float key of a window. It runs
//! after type coercion, so the list and its value have one type.

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, lit, when};
use datafusion::optimizer::AnalyzerRule;

/// Compares float IN lists and DISTINCT aggregates with -0.0 as 0.
#[derive(Debug, Default)]
pub struct FloatZeros;

impl AnalyzerRule for FloatZeros {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(unsigned_zeros_in_node)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "float_zeros"
    }
}

/// One plan node with its float IN lists rewritten.
fn unsigned_zeros_in_node(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let schema = super::input_schema(&plan)?;
    super::rewrite_expressions(plan, |e| unsigned_zeros(e, &schema))
}

fn unsigned_zeros(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    if let Expr::AggregateFunction(mut aggregate) = expr {
        if !aggregate.params.distinct {
            return Ok(Transformed::no(Expr::AggregateFunction(aggregate)));
        }
        let changed = unsigned_floats(aggregate.params.args.iter_mut(), schema)?;
        return Ok(Transformed::new_transformed(
            Expr::AggregateFunction(aggregate),
            changed,
        ));
    }
    if let Expr::WindowFunction(mut window) = expr {
        let params = &mut window.params;
        let keys =
            (params.partition_by.iter_mut()).chain(params.order_by.iter_mut().map(|s| &mut s.expr));
        let changed = unsigned_floats(keys, schema)?;
        return Ok(Transformed::new_transformed(
            Expr::WindowFunction(window),
            changed,
        ));
    }
    let Expr::InList(InList {
        expr: value,
        list,
        negated,
    }) = expr
    else {
        return Ok(Transformed::no(expr));
    };
    let Some(zero) = float_zero(&value, schema)? else {
        let unchanged = Expr::InList(InList::new(value, list, negated));
        return Ok(Transformed::no(unchanged));
    };
    let list = list
        .into_iter()
        .map(|e| unsigned(e, &zero))
        .collect::<Result<Vec<_>>>()?;
    let in_list = InList::new(Box::new(unsigned(*value, &zero)?), list, negated);
    Ok(Transformed::yes(Expr::InList(in_list)))
}

/// Rewrites each float of `exprs` to its unsigned self; whether any was.
fn unsigned_floats<'a>(
    exprs: impl Iterator<Item = &'a mut Expr>,
    schema: &DFSchema,
) -> Result<bool> {
    let mut changed = false;
    for expr in exprs {
        if let Some(zero) = float_zero(expr, schema)? {
            *expr = unsigned(expr.clone(), &zero)?;
            changed = true;
        }
    }
    Ok(changed)
}

/// The zero of `expr`'s type when it is a float.
fn float_zero(expr: &Expr, schema: &DFSchema) -> Result<Option<ScalarValue>> {
    match expr.get_type(schema) {
        Ok(ty) if ty.is_floating() => ScalarValue::new_zero(&ty).map(Some),
        _ => Ok(None),
    }
}

/// `e`, but 0 where it is -0.0.
fn unsigned(e: Expr, zero: &ScalarValue) -> Result<Expr> {
    when(e.clone().eq(lit(zero.clone())), lit(zero.clone())).otherwise(e)
}
