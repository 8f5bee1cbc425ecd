//! Rule: a decimal product with a zero keeps the product's type.
//!
//! DataFusion's simplifier writes `0.00 * k` as `0.00` where `k` is never
//! NULL, and keeps the literal's type: DECIMAL(2, 2) where the product was
//! DECIMAL(23, 2). Compared with a constant of the product's type, the
//! filter then failed to plan, "Invalid comparison operation:
//! Decimal128(2, 2) >= Decimal128(23, 2)" (`sqlfuzz --seed 9302`, query
//! 1859: `(0.00 * x.k) BETWEEN 2.50 AND -2.75` over the hive table `tp`,
//! whose partition column is never NULL). This rule, after type coercion
//! and before the optimizer, writes such a product as the zero of its own
//! type, which is what the simplifier meant.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::expr::{Cast, TryCast};
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, LogicalPlan, Operator, lit};
use datafusion::optimizer::AnalyzerRule;

/// Writes a decimal product with a zero as a zero of the product's type.
#[derive(Debug, Default)]
pub struct DecimalZeroProducts;

impl AnalyzerRule for DecimalZeroProducts {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            let schema = super::input_schema(&node)?;
            super::rewrite_expressions(node, |e| typed_zero_product(e, &schema))
        })
        .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "decimal_zero_products"
    }
}

/// `expr` as the zero of its type where it is a decimal product of a zero
/// and a value that is never NULL.
fn typed_zero_product(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let Expr::BinaryExpr(BinaryExpr {
        left,
        op: Operator::Multiply,
        right,
    }) = &expr
    else {
        return Ok(Transformed::no(expr));
    };
    let other = match (is_zero(left), is_zero(right)) {
        (true, _) => right,
        (_, true) => left,
        _ => return Ok(Transformed::no(expr)),
    };
    let product = expr.get_type(schema)?;
    if !matches!(product, DataType::Decimal128(..)) || other.nullable(schema)? {
        return Ok(Transformed::no(expr));
    }
    Ok(Transformed::yes(lit(ScalarValue::new_zero(&product)?)))
}

/// Whether `expr` is a zero the simplifier sees as one: a literal, or a
/// literal cast, which it folds first.
fn is_zero(expr: &Expr) -> bool {
    match expr {
        Expr::Literal(value, _) => {
            ScalarValue::new_zero(&value.data_type()).is_ok_and(|zero| &zero == value)
        }
        Expr::Cast(Cast { expr, .. }) | Expr::TryCast(TryCast { expr, .. }) => is_zero(expr),
        _ => false,
    }
}
