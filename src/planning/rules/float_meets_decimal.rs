//! Rule: a decimal compared with a float is compared as that float, as in
//! DuckDB.
//!
//! morsel reads `19.99` as an exact decimal, so that `0.06 + 0.01 = 0.07`.
//! DataFusion compares a DOUBLE with a decimal by casting the DOUBLE to
//! `Decimal128(30, 15)`: the double nearest -35.12 becomes
//! -35.119999999999997, and `WHERE price = -35.12` misses the row that holds
//! it. DuckDB casts the decimal to the float's type instead (DOUBLE, or
//! FLOAT for a FLOAT), so the literal is the very number the column holds.
//! This rule does the same in comparisons, `BETWEEN` and `IN` lists, and
//! where branches meet in one value (`CASE`, `coalesce`, `nullif`,
//! `greatest`, `least`), before DataFusion's type coercion would choose
//! decimals: a branch of -inf made such a `CASE` fail, and 0.1 lost its
//! last digits. Arithmetic between a float and a decimal is float in
//! DataFusion already; decimals meeting decimals or integers stay exact.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::{Case, InList, ScalarFunction};
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
    match expr {
        Expr::Case(case) => Ok(case_as_floats(case, schema)),
        Expr::ScalarFunction(function) if joins_branches(function.name()) => {
            let ScalarFunction { func, args } = function;
            let (args, changed) = unified(args, schema);
            let function = Expr::ScalarFunction(ScalarFunction::new_udf(func, args));
            Ok(if changed {
                Transformed::yes(function)
            } else {
                Transformed::no(function)
            })
        }
        other => compared_as_floats(other, schema),
    }
}

/// Functions whose value is one of their arguments, so all share a type.
fn joins_branches(name: &str) -> bool {
    matches!(name, "coalesce" | "nullif" | "greatest" | "least" | "nvl")
}

/// A `CASE` whose results, and whose compared values (`CASE x WHEN …`),
/// are floats where floats meet decimals.
fn case_as_floats(case: Case, schema: &DFSchema) -> Transformed<Expr> {
    let Case {
        expr,
        when_then_expr,
        else_expr,
    } = case;
    let (whens, thens): (Vec<Expr>, Vec<Expr>) =
        when_then_expr.into_iter().map(|(w, t)| (*w, *t)).unzip();
    let has_else = else_expr.is_some();
    let (mut results, results_changed) = unified(
        thens.into_iter().chain(else_expr.map(|e| *e)).collect(),
        schema,
    );
    let else_expr = has_else.then(|| results.pop()).flatten().map(Box::new);
    let has_operand = expr.is_some();
    let (mut compared, compared_changed) =
        unified(expr.map(|e| *e).into_iter().chain(whens).collect(), schema);
    let expr = has_operand.then(|| compared.remove(0)).map(Box::new);
    let when_then_expr = compared
        .into_iter()
        .zip(results)
        .map(|(w, t)| (Box::new(w), Box::new(t)))
        .collect();
    let case = Expr::Case(Case::new(expr, when_then_expr, else_expr));
    if results_changed || compared_changed {
        Transformed::yes(case)
    } else {
        Transformed::no(case)
    }
}

/// `exprs` with each decimal cast to the widest float among them, when
/// there is one; and whether any was cast.
fn unified(exprs: Vec<Expr>, schema: &DFSchema) -> (Vec<Expr>, bool) {
    let operands: Vec<&Expr> = exprs.iter().collect();
    match float_meeting_decimal(&operands, schema) {
        Some(float) => {
            let exprs = exprs
                .into_iter()
                .map(|e| cast_if_decimal(e, &float, schema))
                .collect();
            (exprs, true)
        }
        None => (exprs, false),
    }
}

fn compared_as_floats(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
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
