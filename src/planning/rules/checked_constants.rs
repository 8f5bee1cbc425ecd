//! Rule: integer arithmetic on constants that overflows is an error.
//!
//! DataFusion folds `9223372036854775807 + 1` into one constant while it
//! simplifies a plan, with the wrapping arithmetic of its operators, and
//! the answer is a negative number. PostgreSQL and DuckDB refuse it. This
//! rule folds such sums, differences and products first, with checked
//! arithmetic, from the innermost out, and fails on the first that does not
//! fit its type. It runs after type coercion, so both sides of an operator
//! have one type; arithmetic on columns is checked where it runs
//! (`checked_arithmetic`).

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::{BinaryExpr, Expr, LogicalPlan, Operator};
use datafusion::optimizer::AnalyzerRule;

/// Folds integer `+`, `-` and `*` of constants, failing on overflow.
#[derive(Debug, Default)]
pub struct CheckedConstants;

impl AnalyzerRule for CheckedConstants {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(fold_node)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "checked_constants"
    }
}

/// One plan node with its constant integer arithmetic folded.
fn fold_node(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    super::rewrite_expressions(plan, fold)
}

fn fold(expr: Expr) -> Result<Transformed<Expr>> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &expr else {
        return Ok(Transformed::no(expr));
    };
    let (Expr::Literal(l, None), Expr::Literal(r, None)) = (left.as_ref(), right.as_ref()) else {
        return Ok(Transformed::no(expr));
    };
    if !l.data_type().is_integer() || l.data_type() != r.data_type() {
        return Ok(Transformed::no(expr));
    }
    let folded = match op {
        Operator::Plus => l.add_checked(r),
        Operator::Minus => l.sub_checked(r),
        Operator::Multiply => l.mul_checked(r),
        _ => return Ok(Transformed::no(expr)),
    };
    match folded {
        Ok(value) => Ok(Transformed::yes(Expr::Literal(value, None))),
        Err(_) => plan_err!(
            "integer overflow: {l} {op} {r} does not fit {}",
            sql_type(l)
        ),
    }
}

/// The SQL name of an integer constant's type.
fn sql_type(value: &ScalarValue) -> &'static str {
    match value {
        ScalarValue::Int8(_) => "TINYINT",
        ScalarValue::Int16(_) => "SMALLINT",
        ScalarValue::Int32(_) => "INTEGER",
        ScalarValue::UInt8(_) => "UTINYINT",
        ScalarValue::UInt16(_) => "USMALLINT",
        ScalarValue::UInt32(_) => "UINTEGER",
        ScalarValue::UInt64(_) => "UBIGINT",
        _ => "BIGINT",
    }
}
