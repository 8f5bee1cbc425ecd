//! Rule: an aggregate joined on its group keys aggregates only the keys
//! the other side of the join has.
//!
//! DataFusion decorrelates a subquery that aggregates per outer row
//! (TPC-H Q17's `avg(l_quantity)` per part, Q20's per part and supplier,
//! Q2's `min(ps_supplycost)`) into a join with an aggregate over the whole
//! table: Q17 averages six million rows into 200 thousand groups at SF 1
//! to join 204 parts. Where the other side is filtered, this rule gives the
//! aggregate a semi join with the keys that side can have (a "magic set",
//! DuckDB's delim join), so it aggregates a few thousand rows:
//!
//! ```text
//! X ⋈ Aggregate(group by g: input)           on x = g
//! X ⋈ Aggregate(group by g: R ⋉ input)        on x = g,  R = keys of x
//! ```
//!
//! A group whose key is not among X's keys can never join: the join drops
//! it (inner, semi, X's outer side) or lets it change nothing (anti). So
//! the rule applies to those join types, with the aggregate under
//! aliases, projections passing the key on and filters (`HAVING`), and not
//! to a null-aware anti join, whose answer depends on a NULL group. R is
//! the smallest part of X that still holds the key and was filtered: down
//! through projections, and into a join input that holds the key and has
//! a filter of its own (Q17's filtered `part`, not all of lineitem ⋈ part).
//! Where X has no filter at all, R would be as large as X and the rule
//! stays out. R is the semi join's first (build) side, and the semi join
//! goes down the aggregate's input as far as it commutes
//! ([`semi_joins_down::sunk`]): Q2's keys meet partsupp before partsupp
//! meets supplier, nation and region.

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, JoinSide, Result};
use datafusion::logical_expr::{
    Aggregate, Expr, Join, JoinConstraint, JoinType, LogicalPlan, LogicalPlanBuilder, col,
};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

use super::{group_expression, passed_column, semi_joins_down};

/// The alias of every key set this rule adds, which tells it an aggregate
/// already has one.
const KEYS_ALIAS: &str = "__joined_keys";

/// Aggregates only the group keys the join with the aggregate can keep.
#[derive(Debug, Default)]
pub struct JoinedKeysOnly;

impl OptimizerRule for JoinedKeysOnly {
    fn name(&self) -> &str {
        "joined_keys_only"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Join(join) = &plan else {
            return Ok(Transformed::no(plan));
        };
        if join.null_aware {
            return Ok(Transformed::no(plan));
        }
        for aggregate_side in sides_whose_lost_groups_change_nothing(join.join_type) {
            if let Some(rewritten) = with_keys_only(join, *aggregate_side, config)? {
                return Ok(Transformed::yes(rewritten));
            }
        }
        Ok(Transformed::no(plan))
    }
}

/// The sides of a join of `join_type` from which a row that matches
/// nothing can be dropped without changing the join's answer.
fn sides_whose_lost_groups_change_nothing(join_type: JoinType) -> &'static [JoinSide] {
    match join_type {
        JoinType::Inner => &[JoinSide::Right, JoinSide::Left],
        JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti => &[JoinSide::Right],
        JoinType::Right | JoinType::RightSemi | JoinType::RightAnti => &[JoinSide::Left],
        _ => &[],
    }
}

/// `join` with the aggregate on `side` reduced to the keys of the other
/// side, or `None` where that side is no such aggregate.
fn with_keys_only(
    join: &Join,
    side: JoinSide,
    config: &dyn OptimizerConfig,
) -> Result<Option<LogicalPlan>> {
    let (keeper, aggregated) = match side {
        JoinSide::Left => (&join.right, &join.left),
        _ => (&join.left, &join.right),
    };
    // Pairs (a column of the keeper, the group expression it meets).
    let mut pairs = Vec::new();
    for (left, right) in &join.on {
        let (kept, grouped) = if side == JoinSide::Right {
            (left, right)
        } else {
            (right, left)
        };
        let (Expr::Column(kept), Expr::Column(grouped)) = (kept, grouped) else {
            continue;
        };
        if let Some(group) = group_expression(aggregated, grouped)? {
            pairs.push((kept.clone(), group));
        }
    }
    if pairs.is_empty() || has_key_set(aggregated)? || !is_filtered(keeper)? {
        return Ok(None);
    }
    let kept: Vec<Column> = pairs.iter().map(|(c, _)| c.clone()).collect();
    let (source, columns) = smallest_filtered_holder(keeper, kept)?;
    if !is_repeatable(&source)? {
        return Ok(None);
    }
    let alias = config.alias_generator().next(KEYS_ALIAS);
    let names: Vec<String> = (0..columns.len()).map(|i| format!("k{i}")).collect();
    let keys = LogicalPlanBuilder::from(source.as_ref().clone())
        .project(
            columns
                .into_iter()
                .zip(&names)
                .map(|(column, name)| Expr::Column(column).alias(name)),
        )?
        .alias(&alias)?
        .build()?;
    let on: Vec<(Expr, Expr)> = pairs
        .into_iter()
        .zip(&names)
        .map(|((_, group), name)| (col(Column::new(Some(alias.as_str()), name)), group))
        .collect();
    let reduce = |aggregate: &Aggregate| -> Result<LogicalPlan> {
        let input = Join::try_new(
            Arc::new(keys.clone()),
            Arc::clone(&aggregate.input),
            on.clone(),
            None,
            JoinType::RightSemi,
            JoinConstraint::On,
            join.null_equality,
            false,
        )?;
        Ok(LogicalPlan::Aggregate(Aggregate::try_new(
            Arc::new(semi_joins_down::sunk(input)?),
            aggregate.group_expr.clone(),
            aggregate.aggr_expr.clone(),
        )?))
    };
    let reduced = Arc::new(with_aggregate_replaced(aggregated, &reduce)?);
    let (left, right) = match side {
        JoinSide::Left => (reduced, Arc::clone(&join.right)),
        _ => (Arc::clone(&join.left), reduced),
    };
    let rewritten = Join::try_new(
        left,
        right,
        join.on.clone(),
        join.filter.clone(),
        join.join_type,
        join.join_constraint,
        join.null_equality,
        join.null_aware,
    )?;
    Ok(Some(LogicalPlan::Join(rewritten)))
}

/// `plan` (aliases, filters and projections over an aggregate) with the
/// aggregate replaced by `replace` of it.
fn with_aggregate_replaced(
    plan: &LogicalPlan,
    replace: &dyn Fn(&Aggregate) -> Result<LogicalPlan>,
) -> Result<LogicalPlan> {
    if let LogicalPlan::Aggregate(aggregate) = plan {
        return replace(aggregate);
    }
    let input = with_aggregate_replaced(plan.inputs()[0], replace)?;
    plan.with_new_exprs(plan.expressions(), vec![input])
}

/// Whether the aggregate under `plan` has a key set already.
fn has_key_set(plan: &LogicalPlan) -> Result<bool> {
    plan.exists(|node| {
        Ok(matches!(node, LogicalPlan::SubqueryAlias(alias)
            if alias.alias.table().starts_with(KEYS_ALIAS)))
    })
}

/// Whether some rows of `plan`'s tables do not reach its output: a filter,
/// a scan's filters, a semi or anti join.
fn is_filtered(plan: &LogicalPlan) -> Result<bool> {
    plan.exists(|node| {
        Ok(match node {
            LogicalPlan::Filter(_) => true,
            LogicalPlan::TableScan(scan) => !scan.filters.is_empty(),
            LogicalPlan::Join(join) => matches!(
                join.join_type,
                JoinType::LeftSemi | JoinType::RightSemi | JoinType::LeftAnti | JoinType::RightAnti
            ),
            _ => false,
        })
    })
}

/// Whether `plan` gives the same rows each time it runs, which a key set
/// copied from it must: no volatile function (`random()`), no limit
/// without an order that decides its rows.
fn is_repeatable(plan: &LogicalPlan) -> Result<bool> {
    let varies = plan.exists(|node| {
        Ok(matches!(node, LogicalPlan::Limit(_))
            || node.expressions().iter().any(Expr::is_volatile))
    })?;
    Ok(!varies)
}

/// The smallest part of `plan` that holds `columns` (under the names they
/// have there) and keeps a filter of `plan`'s: down through projections
/// that pass them on and into a join's input that holds them all, has a
/// filter and keeps its rows' columns (either side of an inner join, the
/// first of a semi or anti join, the preserved side of an outer one).
fn smallest_filtered_holder(
    plan: &Arc<LogicalPlan>,
    columns: Vec<Column>,
) -> Result<(Arc<LogicalPlan>, Vec<Column>)> {
    match plan.as_ref() {
        LogicalPlan::Projection(projection) => {
            let mut inner = Vec::with_capacity(columns.len());
            for column in &columns {
                let index = projection.schema.index_of_column(column)?;
                match passed_column(&projection.expr[index]) {
                    Some(source) => inner.push(source.clone()),
                    None => return Ok((Arc::clone(plan), columns)),
                }
            }
            smallest_filtered_holder(&projection.input, inner)
        }
        LogicalPlan::Join(join) => {
            let holds = |side: &LogicalPlan| -> Result<bool> {
                Ok(columns.iter().all(|c| side.schema().has_column(c)) && is_filtered(side)?)
            };
            let left_whole = matches!(
                join.join_type,
                JoinType::Inner | JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti
            );
            let right_whole = matches!(
                join.join_type,
                JoinType::Inner | JoinType::Right | JoinType::RightSemi | JoinType::RightAnti
            );
            if left_whole && holds(&join.left)? {
                smallest_filtered_holder(&join.left, columns)
            } else if right_whole && holds(&join.right)? {
                smallest_filtered_holder(&join.right, columns)
            } else {
                Ok((Arc::clone(plan), columns))
            }
        }
        _ => Ok((Arc::clone(plan), columns)),
    }
}
