//! Rule: a decimal compared with a float is compared as that float, as in
//! DuckDB.
//!
//! morsel reads `19.99` as an exact decimal, so that `0.06 + 0.01 = 0.07`.
//! DataFusion compares a DOUBLE with a decimal by casting the DOUBLE to
//! `Decimal128(30, 15)`: the double nearest -35.12 becomes
//! -35.119999999999997, and `WHERE price = -35.12` misses the row that holds
//! it. DuckDB casts the decimal to the float's type instead (DOUBLE, or
//! FLOAT for a FLOAT), so the literal is the very number the column holds.
//! This rule does the same in comparisons, `BETWEEN`, `IN` lists and `IN`
//! subqueries, join keys (`INTERSECT` and `EXCEPT` too), and where branches
//! meet in one value (`CASE`, `coalesce`, `nullif`, `greatest`, `least`,
//! the columns of a `UNION` or of `VALUES`), before DataFusion's type coercion would
//! choose decimals: a NaN or -inf made such a query fail, and 0.1 lost its
//! last digits. Arithmetic between a float and a decimal is float in
//! DataFusion already; decimals meeting decimals or integers stay exact.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::{Case, InList, InSubquery, ScalarFunction};
use datafusion::logical_expr::{
    Between, BinaryExpr, Cast, Expr, ExprSchemable, Join, LogicalPlan, Operator, Projection, Union,
    Values,
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
    let node = match plan {
        LogicalPlan::Join(join) => join_keys_as_floats(join)?,
        LogicalPlan::Union(union) => union_as_floats(union)?,
        LogicalPlan::Values(values) => values_as_floats(values)?,
        other => Transformed::no(other),
    };
    node.transform_data(expressions_as_floats)
}

/// A join that pairs a float key with a decimal one compares them as floats.
fn join_keys_as_floats(mut join: Join) -> Result<Transformed<LogicalPlan>> {
    let mut changed = false;
    for (left, right) in &mut join.on {
        let types = (
            left.get_type(join.left.schema())?,
            right.get_type(join.right.schema())?,
        );
        let Some(float) = float_among(&[types.0.clone(), types.1.clone()]) else {
            continue;
        };
        for (key, ty) in [(left, types.0), (right, types.1)] {
            if ty.is_decimal() {
                *key = Expr::Cast(Cast::new(Box::new(key.clone()), float.clone()));
                changed = true;
            }
        }
    }
    Ok(Transformed::new_transformed(
        LogicalPlan::Join(join),
        changed,
    ))
}

/// A union whose inputs give one column as a float and as a decimal casts
/// the decimals to the float, so the column is that float.
fn union_as_floats(union: Union) -> Result<Transformed<LogicalPlan>> {
    let columns = union.schema.fields().len();
    let floats: Vec<Option<DataType>> = (0..columns)
        .map(|i| {
            let types: Vec<DataType> = union
                .inputs
                .iter()
                .map(|input| input.schema().field(i).data_type().clone())
                .collect();
            float_among(&types)
        })
        .collect();
    if floats.iter().all(Option::is_none) {
        return Ok(Transformed::no(LogicalPlan::Union(union)));
    }
    let inputs = union
        .inputs
        .into_iter()
        .map(|input| with_columns_cast(input, &floats))
        .collect::<Result<Vec<_>>>()?;
    Ok(Transformed::yes(LogicalPlan::Union(
        Union::try_new_with_loose_types(inputs)?,
    )))
}

/// A `VALUES` list whose rows give a column as a float and as a decimal
/// (which DataFusion cast all to a decimal) gives that column as the float.
fn values_as_floats(values: Values) -> Result<Transformed<LogicalPlan>> {
    let no_columns = DFSchema::empty();
    let Values { schema, mut values } = values;
    let mut fields = schema.fields().to_vec();
    let mut changed = false;
    for (column, field) in fields.iter_mut().enumerate() {
        let decimal = field.data_type();
        let types: Vec<DataType> = values
            .iter()
            .filter_map(|row| uncast(&row[column], decimal).get_type(&no_columns).ok())
            .collect();
        let Some(float) = float_among(&types).filter(|_| decimal.is_decimal()) else {
            continue;
        };
        for row in &mut values {
            let value = uncast(&row[column], decimal).clone();
            row[column] = value.cast_to(&float, &no_columns)?;
        }
        *field = Arc::new(field.as_ref().clone().with_data_type(float));
        changed = true;
    }
    if !changed {
        return Ok(Transformed::no(LogicalPlan::Values(Values {
            schema,
            values,
        })));
    }
    let schema = DFSchema::from_unqualified_fields(fields.into(), schema.metadata().clone())?;
    let schema = Arc::new(schema);
    Ok(Transformed::yes(LogicalPlan::Values(Values {
        schema,
        values,
    })))
}

/// `value` without the cast to `column_type` that made a `VALUES` row fit
/// its column.
fn uncast<'a>(value: &'a Expr, column_type: &DataType) -> &'a Expr {
    match value {
        Expr::Cast(Cast { expr, field }) if field.data_type() == column_type => expr,
        _ => value,
    }
}

/// `input` with its decimal columns cast where `floats` names a type.
fn with_columns_cast(
    input: Arc<LogicalPlan>,
    floats: &[Option<DataType>],
) -> Result<Arc<LogicalPlan>> {
    let schema = input.schema();
    let float = |i: usize| floats.get(i).cloned().flatten();
    let needs_cast = |i: usize| float(i).is_some() && schema.field(i).data_type().is_decimal();
    if !(0..floats.len()).any(needs_cast) {
        return Ok(input);
    }
    let exprs = schema
        .columns()
        .into_iter()
        .enumerate()
        .map(|(i, column)| match float(i) {
            Some(float) if needs_cast(i) => {
                let name = column.name.clone();
                Expr::Cast(Cast::new(Box::new(Expr::Column(column)), float)).alias(name)
            }
            _ => Expr::Column(column),
        })
        .collect();
    Ok(Arc::new(LogicalPlan::Projection(Projection::try_new(
        exprs, input,
    )?)))
}

/// The widest float among `types` when a decimal is among them too.
fn float_among(types: &[DataType]) -> Option<DataType> {
    if !types.iter().any(DataType::is_decimal) {
        return None;
    }
    types
        .iter()
        .filter(|ty| ty.is_floating())
        .max_by_key(|ty| float_width(ty))
        .cloned()
}

/// One plan node's expressions rewritten against the columns they can name.
fn expressions_as_floats(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let schema = super::input_schema(&plan)?;
    super::rewrite_expressions(plan, |e| rewrite(e, &schema))
}

fn rewrite(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    match expr {
        Expr::Case(case) => Ok(case_as_floats(case, schema)),
        Expr::InSubquery(in_subquery) => in_subquery_as_floats(in_subquery, schema),
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

/// `x IN (SELECT y …)` where one of `x` and `y` is a float and the other a
/// decimal, with the decimal cast to the float.
fn in_subquery_as_floats(in_subquery: InSubquery, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let InSubquery {
        expr,
        mut subquery,
        negated,
    } = in_subquery;
    let inner = subquery.subquery.schema().field(0).data_type().clone();
    let outer = expr.get_type(schema)?;
    let mut changed = false;
    let expr = match float_among(&[outer.clone(), inner.clone()]) {
        Some(float) if outer.is_decimal() => {
            changed = true;
            Box::new(Expr::Cast(Cast::new(expr, float)))
        }
        Some(float) => {
            changed = true;
            subquery.subquery = with_columns_cast(Arc::clone(&subquery.subquery), &[Some(float)])?;
            expr
        }
        None => expr,
    };
    let expr = Expr::InSubquery(InSubquery::new(expr, subquery, negated));
    Ok(Transformed::new_transformed(expr, changed))
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
    float_among(&types)
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
