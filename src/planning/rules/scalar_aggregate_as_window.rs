//! Rule: a filter comparing its rows with an aggregate of those same rows
//! computes them once, the aggregate as a window over all of them.
//!
//! `WHERE total = (SELECT max(total) FROM revenue)` over `revenue` itself
//! (TPC-H Q15, where `revenue` is a CTE grouped from lineitem) runs the
//! subquery as a plan of its own: the scan and the grouping of lineitem
//! happen twice (DataFusion computes a CTE once per use). Here the rows the
//! filter sees are the rows the subquery aggregates, so the subquery's
//! value is `max(total) OVER ()` of the filter's input, and one run of the
//! input gives both. Only where that input is a GROUP BY, whose result
//! DataFusion holds whole anyway: the window buffers its input, and a
//! plain table's rows would be buffered whole where the two runs streamed.
//! Not under a memory limit, where the window's buffer could not spill.
//! The subquery's copy of the input may have been pruned to the aggregates
//! it reads; it still matches when it groups the same rows the same way.

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, Result};
use datafusion::logical_expr::expr::{AggregateFunction, WindowFunction};
use datafusion::logical_expr::{
    Aggregate, Expr, Filter, LogicalPlan, LogicalPlanBuilder, Subquery, col,
};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

use super::passed_column;

/// The name of the window columns the rule adds (and projects away), each
/// followed by its number.
const WINDOW_COLUMN: &str = "__morsel_scalar_aggregate";

/// Turns a scalar subquery aggregating a filter's own grouped input into a
/// window over that input.
#[derive(Debug, Default)]
pub struct ScalarAggregateAsWindow;

impl OptimizerRule for ScalarAggregateAsWindow {
    fn name(&self) -> &str {
        "scalar_aggregate_as_window"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Filter(filter) = &plan else {
            return Ok(Transformed::no(plan));
        };
        if !matches!(filter.input.as_ref(), LogicalPlan::Aggregate(a) if !a.group_expr.is_empty()) {
            return Ok(Transformed::no(plan));
        }
        let windows = windows_for_subqueries_in(filter)?;
        if windows.is_empty() {
            return Ok(Transformed::no(plan));
        }
        one_run(filter, windows).map(Transformed::yes)
    }
}

/// For each scalar subquery of `filter`'s predicate that aggregates the
/// filter's input, the subquery and the window expression giving its value.
fn windows_for_subqueries_in(filter: &Filter) -> Result<Vec<(Subquery, Expr)>> {
    let mut windows: Vec<(Subquery, Expr)> = Vec::new();
    filter.predicate.apply(|e| {
        if let Expr::ScalarSubquery(subquery) = e {
            let seen = windows.iter().any(|(s, _)| s == subquery);
            if let Some(window) = window_of(subquery, &filter.input).filter(|_| !seen) {
                windows.push((subquery.clone(), window));
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(windows)
}

/// `agg(x) OVER ()` over `input`, when `subquery` is an uncorrelated
/// `SELECT agg(x) FROM input` (through aliases and projections that pass
/// `x` on) with a plain aggregate: no DISTINCT, FILTER or ORDER BY.
fn window_of(subquery: &Subquery, input: &LogicalPlan) -> Option<Expr> {
    if !subquery.outer_ref_columns.is_empty() {
        return None;
    }
    let LogicalPlan::Aggregate(Aggregate {
        input: below,
        group_expr,
        aggr_expr,
        ..
    }) = subquery.subquery.as_ref()
    else {
        return None;
    };
    let [aggregate] = aggr_expr.as_slice() else {
        return None;
    };
    if !group_expr.is_empty() {
        return None;
    }
    let Expr::AggregateFunction(AggregateFunction { func, params }) = unaliased(aggregate) else {
        return None;
    };
    if params.distinct || params.filter.is_some() || !params.order_by.is_empty() {
        return None;
    }
    let args = params
        .args
        .iter()
        .map(|arg| match arg {
            Expr::Column(column) => column_of(below, column, input).map(Expr::Column),
            Expr::Literal(..) => Some(arg.clone()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Expr::from(WindowFunction::new(Arc::clone(func), args)))
}

fn unaliased(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(alias) => unaliased(&alias.expr),
        _ => expr,
    }
}

/// The column of `target` that `column` of `plan` is, where `plan` is
/// `target` under aliases and projections that pass the column on.
fn column_of(plan: &LogicalPlan, column: &Column, target: &LogicalPlan) -> Option<Column> {
    if plan == target {
        return Some(column.clone());
    }
    let index = plan.schema().index_of_column(column).ok()?;
    match plan {
        LogicalPlan::SubqueryAlias(alias) => {
            let inner = alias.input.schema().columns().swap_remove(index);
            column_of(&alias.input, &inner, target)
        }
        LogicalPlan::Projection(projection) => {
            let inner = passed_column(&projection.expr[index])?;
            column_of(&projection.input, inner, target)
        }
        // The same grouping of the same rows, each copy pruned to the
        // aggregates its user reads (two subqueries over one CTE).
        LogicalPlan::Aggregate(aggregate) => match target {
            LogicalPlan::Aggregate(other)
                if aggregate.input == other.input && aggregate.group_expr == other.group_expr =>
            {
                let expr = outputs(aggregate).nth(index)?;
                let at = outputs(other).position(|e| e == expr)?;
                other.schema.columns().into_iter().nth(at)
            }
            _ => None,
        },
        _ => None,
    }
}

/// An aggregate's output expressions, in the order of its columns.
fn outputs(aggregate: &Aggregate) -> impl Iterator<Item = &Expr> {
    aggregate.group_expr.iter().chain(&aggregate.aggr_expr)
}

/// `filter` over windows of its input, each subquery read from its
/// window, and the input's columns projected back.
fn one_run(filter: &Filter, windows: Vec<(Subquery, Expr)>) -> Result<LogicalPlan> {
    let name = |i: usize| format!("{WINDOW_COLUMN}_{i}");
    let predicate = filter
        .predicate
        .clone()
        .transform_up(|e| {
            let Expr::ScalarSubquery(subquery) = &e else {
                return Ok(Transformed::no(e));
            };
            Ok(match windows.iter().position(|(s, _)| s == subquery) {
                Some(i) => Transformed::yes(col(Column::new_unqualified(name(i)))),
                None => Transformed::no(e),
            })
        })?
        .data;
    let window_exprs = windows
        .into_iter()
        .enumerate()
        .map(|(i, (_, window))| window.alias(name(i)))
        .collect::<Vec<_>>();
    let columns: Vec<Expr> = filter
        .input
        .schema()
        .columns()
        .into_iter()
        .map(Expr::Column)
        .collect();
    LogicalPlanBuilder::from(Arc::clone(&filter.input))
        .window(window_exprs)?
        .filter(predicate)?
        .project(columns)?
        .build()
}
