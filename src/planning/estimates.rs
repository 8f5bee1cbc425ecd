//! Estimates: how many rows a logical plan gives, and how many distinct
//! values a column holds, from the tables' statistics and textbook
//! selectivities.
//!
//! A table's statistics come from its provider (`TableProvider::statistics`;
//! the catalog gives a Parquet table's row count and integer bounds from
//! its footers). Where a plan reaches something these functions do not
//! know (a table without statistics, a node they do not model), the answer
//! is `None`, and a rule that needs an estimate leaves the plan as it is.
//! Estimates choose between plans that give the same rows; they never
//! decide which rows come out.

use datafusion::common::{Column, ColumnStatistics, ScalarValue, Statistics};
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::{
    Between, BinaryExpr, Expr, JoinType, LogicalPlan, Operator, TableScan,
};

/// The share of rows an equality with a constant keeps when the column's
/// distinct values are unknown.
const EQUAL_SHARE: f64 = 0.1;
/// The share a range comparison keeps when the column's bounds are unknown.
const RANGE_SHARE: f64 = 1.0 / 3.0;
/// The share any other condition keeps.
const OTHER_SHARE: f64 = 0.5;

/// The rows `plan` gives.
pub fn rows(plan: &LogicalPlan) -> Option<f64> {
    let rows = match plan {
        LogicalPlan::TableScan(scan) => {
            let (_, rows) = table_statistics(scan)?;
            scan.fetch.map_or(rows, |fetch| rows.min(fetch as f64))
        }
        LogicalPlan::Filter(filter) => {
            rows(&filter.input)? * share(&filter.predicate, &filter.input)
        }
        LogicalPlan::Projection(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Distinct(_)
        | LogicalPlan::Window(_) => rows(plan.inputs()[0])?,
        LogicalPlan::Aggregate(aggregate) if aggregate.group_expr.is_empty() => 1.0,
        LogicalPlan::Aggregate(aggregate) => {
            let input = rows(&aggregate.input)?;
            let groups: Option<f64> = aggregate
                .group_expr
                .iter()
                .map(|group| match group {
                    Expr::Column(column) => distinct(&aggregate.input, column),
                    _ => None,
                })
                .product();
            groups.map_or(input, |groups| groups.min(input))
        }
        LogicalPlan::Join(join) => match join.join_type {
            JoinType::LeftSemi | JoinType::LeftAnti | JoinType::Left | JoinType::LeftMark => {
                rows(&join.left)?
            }
            JoinType::RightSemi | JoinType::RightAnti | JoinType::Right | JoinType::RightMark => {
                rows(&join.right)?
            }
            JoinType::Full => rows(&join.left)? + rows(&join.right)?,
            JoinType::Inner => return None,
        },
        LogicalPlan::Union(union) => union
            .inputs
            .iter()
            .map(|input| rows(input))
            .sum::<Option<f64>>()?,
        _ => return None,
    };
    Some(rows.max(1.0))
}

/// The distinct values `column` of `plan` holds in its table: the
/// statistics' count, or the span of its integer bounds, never more than
/// the table's rows.
pub fn distinct(plan: &LogicalPlan, column: &Column) -> Option<f64> {
    let (statistics, table_rows) = table_column(plan, column)?;
    Some(known_distinct(&statistics).map_or(table_rows, |d| d.min(table_rows)))
}

/// The distinct values a column's statistics count or its bounds span.
fn known_distinct(statistics: &ColumnStatistics) -> Option<f64> {
    match statistics.distinct_count.get_value() {
        Some(count) => Some(*count as f64),
        None => span(statistics),
    }
}

/// How many integers lie between a column's bounds, both included.
fn span(statistics: &ColumnStatistics) -> Option<f64> {
    let (low, high) = bounds(statistics)?;
    Some((high - low) as f64 + 1.0)
}

fn bounds(statistics: &ColumnStatistics) -> Option<(i64, i64)> {
    Some((
        integer(statistics.min_value.get_value()?)?,
        integer(statistics.max_value.get_value()?)?,
    ))
}

fn integer(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int8(v) => v.map(i64::from),
        ScalarValue::Int16(v) => v.map(i64::from),
        ScalarValue::Int32(v) | ScalarValue::Date32(v) => v.map(i64::from),
        ScalarValue::Int64(v) => *v,
        _ => None,
    }
}

/// The statistics of the table column that `column` of `plan` is, under
/// aliases, filters and projections that pass it on, and the table's rows.
fn table_column(plan: &LogicalPlan, column: &Column) -> Option<(ColumnStatistics, f64)> {
    let index = plan.schema().index_of_column(column).ok()?;
    match plan {
        LogicalPlan::TableScan(scan) => {
            let (mut table, rows) = table_statistics(scan)?;
            let source_index = match &scan.projection {
                Some(projection) => *projection.get(index)?,
                None => index,
            };
            (source_index < table.column_statistics.len())
                .then(|| (table.column_statistics.swap_remove(source_index), rows))
        }
        LogicalPlan::Projection(projection) => match projection.expr.get(index)? {
            Expr::Column(inner) => table_column(&projection.input, inner),
            Expr::Alias(alias) => match alias.expr.as_ref() {
                Expr::Column(inner) => table_column(&projection.input, inner),
                _ => None,
            },
            _ => None,
        },
        LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_) => {
            let input = plan.inputs()[0];
            let inner = input.schema().columns().swap_remove(index);
            table_column(input, &inner)
        }
        _ => None,
    }
}

/// The statistics of the table a scan reads, and its rows.
fn table_statistics(scan: &TableScan) -> Option<(Statistics, f64)> {
    let table = source_as_provider(&scan.source).ok()?.statistics()?;
    let rows = *table.num_rows.get_value()? as f64;
    Some((table, rows))
}

/// The share of `input`'s rows that `predicate` keeps.
fn share(predicate: &Expr, input: &LogicalPlan) -> f64 {
    let share = match predicate {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => share(left, input) * share(right, input),
            Operator::Or => 1.0 - (1.0 - share(left, input)) * (1.0 - share(right, input)),
            _ => match (left.as_ref(), right.as_ref()) {
                (Expr::Column(column), Expr::Literal(value, _)) => {
                    comparison_share(*op, column, value, input)
                }
                (Expr::Literal(value, _), Expr::Column(column)) => match op.swap() {
                    Some(op) => comparison_share(op, column, value, input),
                    None => OTHER_SHARE,
                },
                _ => OTHER_SHARE,
            },
        },
        Expr::Not(inner) => 1.0 - share(inner, input),
        Expr::Between(between) => between_share(between, input),
        Expr::InList(list) => {
            let one = match list.expr.as_ref() {
                Expr::Column(column) => equal_share(column, input),
                _ => EQUAL_SHARE,
            };
            let kept = (one * list.list.len() as f64).min(1.0);
            if list.negated { 1.0 - kept } else { kept }
        }
        Expr::Like(like) if like.negated => 1.0 - EQUAL_SHARE,
        Expr::Like(_) => EQUAL_SHARE,
        Expr::IsNull(_) => EQUAL_SHARE,
        Expr::IsNotNull(_) => 1.0 - EQUAL_SHARE,
        _ => OTHER_SHARE,
    };
    share.clamp(0.0, 1.0)
}

/// The share one value of `column` keeps: one in its distinct values
/// where its bounds say how many, [`EQUAL_SHARE`] where they do not.
fn equal_share(column: &Column, input: &LogicalPlan) -> f64 {
    let known = table_column(input, column)
        .and_then(|(statistics, table_rows)| Some(known_distinct(&statistics)?.min(table_rows)));
    known.map_or(EQUAL_SHARE, |distinct| 1.0 / distinct.max(1.0))
}

fn comparison_share(
    op: Operator,
    column: &Column,
    value: &ScalarValue,
    input: &LogicalPlan,
) -> f64 {
    match op {
        Operator::Eq => equal_share(column, input),
        Operator::NotEq => 1.0 - equal_share(column, input),
        Operator::Lt | Operator::LtEq => range_share(column, None, Some(value), input),
        Operator::Gt | Operator::GtEq => range_share(column, Some(value), None, input),
        _ => OTHER_SHARE,
    }
}

fn between_share(between: &Between, input: &LogicalPlan) -> f64 {
    let kept = match (
        between.expr.as_ref(),
        between.low.as_ref(),
        between.high.as_ref(),
    ) {
        (Expr::Column(column), Expr::Literal(low, _), Expr::Literal(high, _)) => {
            range_share(column, Some(low), Some(high), input)
        }
        _ => RANGE_SHARE * RANGE_SHARE,
    };
    if between.negated { 1.0 - kept } else { kept }
}

/// The share of `column`'s span between `low` and `high` (either open),
/// where its bounds and the constants are integers; [`RANGE_SHARE`] for
/// each open side otherwise.
fn range_share(
    column: &Column,
    low: Option<&ScalarValue>,
    high: Option<&ScalarValue>,
    input: &LogicalPlan,
) -> f64 {
    let known = table_column(input, column).and_then(|(statistics, _)| bounds(&statistics));
    let Some((min, max)) = known else {
        return RANGE_SHARE.powi(i32::from(low.is_some()) + i32::from(high.is_some()));
    };
    let from = low.map_or(Some(min), integer);
    let to = high.map_or(Some(max), integer);
    match (from, to) {
        (Some(from), Some(to)) => {
            let kept = (to.min(max) - from.max(min)) as f64 + 1.0;
            kept.max(0.0) / ((max - min) as f64 + 1.0)
        }
        _ => RANGE_SHARE,
    }
}
