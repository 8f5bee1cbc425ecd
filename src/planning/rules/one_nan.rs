//! Rule: every NaN a query makes is the one NaN, the positive one.
//!
//! arrow compares, sorts, groups and hashes floats by IEEE's total order,
//! in which a NaN with its sign bit set is below -inf and not equal to the
//! positive NaN, and x86 arithmetic makes that negative NaN from numbers
//! (`inf - inf`, `0 * inf`, `0 / 0`, `sqrt(-1)`): `5 <= f - f` was false
//! for f = inf where DuckDB, with one NaN above every number, says true;
//! `ORDER BY f - f` put that NaN first, `GROUP BY` and `count(DISTINCT …)`
//! made a group of each NaN, `f - f = 'NaN'` missed it, and `sum` of inf
//! and -inf sorted first (found by sqlfuzz, with NaN in its tables). This
//! rule wraps each float that arithmetic, a negation, a function, a cast
//! from text, an aggregate or a window makes, and each float column a scan
//! reads, in [`CanonicalNan`](crate::planning::operators::CanonicalNan),
//! which maps every NaN to the positive one. It runs after type coercion, so the types it asks are final, and
//! before the optimizer, which folds the constants it wraps.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, DFSchema, Result};
use datafusion::logical_expr::expr::{Cast, ScalarFunction, TryCast};
use datafusion::logical_expr::{
    BinaryExpr, Expr, ExprSchemable, LogicalPlan, Projection, ScalarUDF,
};
use datafusion::optimizer::AnalyzerRule;

use crate::planning::operators::{CANONICAL_NAN, CanonicalNan};

/// Gives every float a query computes the positive NaN for its NaNs.
#[derive(Debug, Default)]
pub struct OneNan;

impl AnalyzerRule for OneNan {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(one_nan_in_node)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "one_nan"
    }
}

fn one_nan_in_node(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let schema = super::input_schema(&plan)?;
    super::rewrite_expressions(plan, |e| one_nan(e, &schema))?
        .transform_data(computed_floats_canonical)
}

/// An aggregate, a window or a scan under a projection that reads each
/// float it makes through the canonical NaN. `sum` and `avg` of inf and
/// -inf are the negative NaN, which sorted first and failed
/// `HAVING avg(f) > 5`; a file written by numpy holds the negative NaN
/// its `0 / 0` made, which sorted below -inf, was `min(f)` and made a group
/// of its own. The node's own expressions cannot be wrapped: each must stay
/// an aggregate, a window function or a column of the file.
fn computed_floats_canonical(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let passed_on = match &plan {
        LogicalPlan::Aggregate(aggregate) => aggregate.group_expr_len()?,
        LogicalPlan::Window(window) => window.input.schema().fields().len(),
        LogicalPlan::TableScan(_) => 0,
        _ => return Ok(Transformed::no(plan)),
    };
    let schema = Arc::clone(plan.schema());
    let computes_floats =
        (schema.fields().iter().skip(passed_on)).any(|field| field.data_type().is_floating());
    if !computes_floats {
        return Ok(Transformed::no(plan));
    }
    let columns = schema.iter().enumerate().map(|(i, (qualifier, field))| {
        let column = Expr::Column(Column::new(qualifier.cloned(), field.name()));
        if i < passed_on || !field.data_type().is_floating() {
            return column;
        }
        canonical(column).alias_qualified(qualifier.cloned(), field.name())
    });
    let projection = Projection::try_new(columns.collect(), Arc::new(plan))?;
    Ok(Transformed::yes(LogicalPlan::Projection(projection)))
}

/// `expr` wrapped in the canonical NaN where it makes a float that may be
/// a NaN of another sign; a wrapper of a wrapper is one wrapper, so the
/// rule may run again over its own output.
fn one_nan(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    if let Some(inner) = canonical_argument(&expr).and_then(canonical_argument) {
        return Ok(Transformed::yes(canonical(inner.clone())));
    }
    if !makes_floats(&expr, schema) || !is_float(&expr, schema) {
        return Ok(Transformed::no(expr));
    }
    Ok(Transformed::yes(canonical(expr)))
}

/// Whether `expr` computes its value, where a float computed may be NaN.
/// A cast makes one only from text, which it parses (`'-NaN'` is the
/// negative one); a cast from a number stays bare, and so open to the
/// scan's pruning of that number.
fn makes_floats(expr: &Expr, schema: &DFSchema) -> bool {
    match expr {
        Expr::BinaryExpr(BinaryExpr { op, .. }) => op.is_numerical_operators(),
        Expr::Negative(_) => true,
        // A function of no arguments (`random()`, `pi()`) makes no NaN.
        Expr::ScalarFunction(call) => !call.args.is_empty() && call.func.name() != CANONICAL_NAN,
        Expr::Cast(Cast { expr, .. }) | Expr::TryCast(TryCast { expr, .. }) => {
            expr.get_type(schema).is_ok_and(|t| t.is_string())
        }
        _ => false,
    }
}

/// Whether `expr` is a float; an expression whose type is not known yet
/// (a parameter of a prepared statement) is left alone.
fn is_float(expr: &Expr, schema: &DFSchema) -> bool {
    expr.get_type(schema).is_ok_and(|t| t.is_floating())
}

/// The argument of a call of the canonical NaN.
fn canonical_argument(expr: &Expr) -> Option<&Expr> {
    match expr {
        Expr::ScalarFunction(call) if call.func.name() == CANONICAL_NAN => call.args.first(),
        _ => None,
    }
}

/// `expr` with its NaNs made the positive one.
fn canonical(expr: Expr) -> Expr {
    let function = Arc::new(ScalarUDF::from(CanonicalNan::default()));
    Expr::ScalarFunction(ScalarFunction::new_udf(function, vec![expr]))
}
