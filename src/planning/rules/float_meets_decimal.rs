//! Rule: a decimal compared with a float is compared as that float, as in
//! DuckDB.
//!
//! morsel reads `19.99` as an exact decimal, so that `0.06 + 0.01 = 0.07`.
//! DataFusion compares a DOUBLE with a decimal by casting the DOUBLE to
//! `Decimal128(30, 15)`: the double nearest -35.12 becomes
//! -35.119999999999997, and `WHERE price = -35.12` misses the row that holds
//! it. DuckDB casts the decimal to the float's type instead (DOUBLE, or
//! FLOAT for a FLOAT), so the literal is the very number the column holds.
//! This rule does the same in comparisons, `BETWEEN` and `IN` lists, before
//! DataFusion's type coercion would choose decimals. Arithmetic between a
//! float and a decimal is float in DataFusion already; decimals meeting
//! decimals or integers stay exact.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{
    Between, BinaryExpr, Cast, Expr, ExprSchemable, LogicalPlan, Operator,
};
use datafusion::optimizer::AnalyzerRule;

/// Casts the decimal side of a float-decimal comparison to the float type.
#[derive(Debug, Default)]
pub struct FloatMeetsDecimal;

impl AnalyzerRule for FloatMeetsDecimal {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(compare_as_floats)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "float_meets_decimal"
    }
}

/// One plan node, its expressions rewritten against its inputs' columns
/// (and the table's, for a scan), each keeping the name it had.
fn compare_as_floats(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let mut schema = merge_schema(&plan.inputs());
    if let LogicalPlan::TableScan(scan) = &plan {
        schema.merge(&DFSchema::try_from_qualified_schema(
            scan.table_name.clone(),
            &scan.source.schema(),
        )?);
    }
    let names = NamePreserver::new(&plan);
    plan.map_expressions(|expr| {
        let name = names.save(&expr);
        expr.transform_up(|e| rewrite(e, &schema))
            .map(|transformed| transformed.update_data(|e| name.restore(e)))
    })?
    .map_data(|plan| plan.recompute_schema())
}

fn rewrite(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let operands: Vec<&Expr> = match &expr {
        Expr::BinaryExpr(binary) if is_comparison(binary.op) => vec![&binary.left, &binary.right],
        Expr::Between(between) => vec![&between.expr, &between.low, &between.high],
        Expr::InList(in_list) => std::iter::once(in_list.expr.as_ref())
            .chain(&in_list.list)
            .collect(),
        _ => return Ok(Transformed::no(expr)),
    };
    let Some(float) = float_meeting_decimal(&operands, schema) else {
        return Ok(Transformed::no(expr));
    };
    let cast = |e: Expr| cast_if_decimal(e, &float, schema);
    let boxed = |e: Box<Expr>| Box::new(cast(*e));
    Ok(Transformed::yes(match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            Expr::BinaryExpr(BinaryExpr::new(boxed(left), op, boxed(right)))
        }
        Expr::Between(Between {
            expr,
            negated,
            low,
            high,
        }) => Expr::Between(Between::new(boxed(expr), negated, boxed(low), boxed(high))),
        Expr::InList(InList {
            expr,
            list,
            negated,
        }) => Expr::InList(InList::new(
            boxed(expr),
            list.into_iter().map(cast).collect(),
            negated,
        )),
        other => other,
    }))
}

fn is_comparison(op: Operator) -> bool {
    matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom
    )
}

/// The widest float type among `operands` when a decimal is among them too.
fn float_meeting_decimal(operands: &[&Expr], schema: &DFSchema) -> Option<DataType> {
    let types: Vec<DataType> = operands
        .iter()
        .filter_map(|e| e.get_type(schema).ok())
        .collect();
    if !types.iter().any(DataType::is_decimal) {
        return None;
    }
    types
        .into_iter()
        .filter(DataType::is_floating)
        .max_by_key(float_width)
}

fn cast_if_decimal(expr: Expr, float: &DataType, schema: &DFSchema) -> Expr {
    match expr.get_type(schema) {
        Ok(ty) if ty.is_decimal() => Expr::Cast(Cast::new(Box::new(expr), float.clone())),
        _ => expr,
    }
}

fn float_width(ty: &DataType) -> u8 {
    match ty {
        DataType::Float16 => 16,
        DataType::Float32 => 32,
        _ => 64,
    }
}
