//! Rule: integer arithmetic on columns fails on overflow instead of
//! wrapping.
//!
//! DataFusion's `+`, `-` and `*` wrap around by default (its operator has a
//! switch, `fail_on_overflow`, that no setting of a SQL session turns on),
//! so `SELECT v + 1` of the largest BIGINT is the smallest one, with no
//! error. PostgreSQL and DuckDB refuse it. This rule turns the switch on in
//! the expressions of projections, filters and aggregates (their groups,
//! arguments and filters), where the arithmetic of a query is. It runs
//! before every other physical rule, so it sees each expression where the
//! planner put it, before projections and filters are pushed into scans
//! and joins, which carry the switch along.
//!
//! Decimal arithmetic, which arrow always checks, it gives to
//! [`DecimalArithmeticExpr`], which checks only what could overflow.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::BinaryExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::aggregates::{AggregateExec, PhysicalGroupBy};
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};

use crate::planning::operators::DecimalArithmeticExpr;

/// Makes `+`, `-` and `*` in projections, filters and aggregates fail on
/// overflow.
#[derive(Debug, Default)]
pub struct CheckedArithmetic;

impl PhysicalOptimizerRule for CheckedArithmetic {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(checked_node)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "checked_arithmetic"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn checked_node(node: Arc<dyn ExecutionPlan>) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    if let Some(projection) = node.downcast_ref::<ProjectionExec>() {
        return Ok(checked_projection(projection)?.map_or(Transformed::no(node), Transformed::yes));
    }
    if let Some(filter) = node.downcast_ref::<FilterExec>() {
        let predicate = checked(filter.predicate(), &filter.input().schema())?;
        if !predicate.transformed {
            return Ok(Transformed::no(node));
        }
        let filter = FilterExecBuilder::from(filter)
            .with_predicate(predicate.data)
            .build()?;
        return Ok(Transformed::yes(Arc::new(filter)));
    }
    if let Some(aggregate) = node.downcast_ref::<AggregateExec>() {
        return Ok(checked_aggregate(aggregate)?.map_or(Transformed::no(node), Transformed::yes));
    }
    Ok(Transformed::no(node))
}

/// The projection with checked arithmetic; `None` if it has none.
fn checked_projection(projection: &ProjectionExec) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let mut changed = false;
    let mut exprs = Vec::with_capacity(projection.expr().len());
    let schema = projection.input().schema();
    for ProjectionExpr { expr, alias } in projection.expr() {
        let expr = checked(expr, &schema)?;
        changed |= expr.transformed;
        exprs.push(ProjectionExpr::new(expr.data, alias.clone()));
    }
    if !changed {
        return Ok(None);
    }
    let input = Arc::clone(projection.input());
    Ok(Some(Arc::new(ProjectionExec::try_new(exprs, input)?)))
}

/// The aggregate with checked arithmetic; `None` if it has none.
fn checked_aggregate(aggregate: &AggregateExec) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let mut changed = false;
    let schema = aggregate.input_schema();
    let mut check = |expr: &Arc<dyn PhysicalExpr>| -> Result<Arc<dyn PhysicalExpr>> {
        let expr = checked(expr, &schema)?;
        changed |= expr.transformed;
        Ok(expr.data)
    };
    let group_by = aggregate.group_expr();
    let groups = group_by
        .expr()
        .iter()
        .map(|(expr, name)| Ok((check(expr)?, name.clone())))
        .collect::<Result<Vec<_>>>()?;
    let filters = aggregate
        .filter_expr()
        .iter()
        .map(|filter| filter.as_ref().map(&mut check).transpose())
        .collect::<Result<Vec<_>>>()?;
    let mut functions = Vec::with_capacity(aggregate.aggr_expr().len());
    for function in aggregate.aggr_expr() {
        let args = function
            .expressions()
            .iter()
            .map(&mut check)
            .collect::<Result<Vec<_>>>()?;
        let order_by = function
            .order_bys()
            .iter()
            .map(|s| Arc::clone(&s.expr))
            .collect();
        match function.with_new_expressions(args, order_by) {
            Some(rewritten) => functions.push(Arc::new(rewritten)),
            None => functions.push(Arc::clone(function)),
        }
    }
    if !changed {
        return Ok(None);
    }
    let group_by = PhysicalGroupBy::new(
        groups,
        group_by.null_expr().to_vec(),
        group_by.groups().to_vec(),
        group_by.has_grouping_set(),
    );
    let rewritten = AggregateExec::try_new(
        *aggregate.mode(),
        group_by,
        functions,
        filters,
        Arc::clone(aggregate.input()),
        aggregate.input_schema(),
    )?
    .with_limit_options(aggregate.limit_options());
    Ok(Some(Arc::new(rewritten)))
}

/// `expr` with every `+`, `-` and `*` failing on overflow; `schema` is
/// its input's.
fn checked(
    expr: &Arc<dyn PhysicalExpr>,
    schema: &Schema,
) -> Result<Transformed<Arc<dyn PhysicalExpr>>> {
    Arc::clone(expr).transform_up(|e| {
        let Some(binary) = e.downcast_ref::<BinaryExpr>() else {
            return Ok(Transformed::no(e));
        };
        if !matches!(
            binary.op(),
            Operator::Plus | Operator::Minus | Operator::Multiply
        ) {
            return Ok(Transformed::no(e));
        }
        let checked = BinaryExpr::new(
            Arc::clone(binary.left()),
            *binary.op(),
            Arc::clone(binary.right()),
        )
        .with_fail_on_overflow(true);
        let rewritten: Arc<dyn PhysicalExpr> =
            if is_decimal128(checked.left(), schema)? && is_decimal128(checked.right(), schema)? {
                Arc::new(DecimalArithmeticExpr::new(checked))
            } else {
                Arc::new(checked)
            };
        Ok(Transformed::yes(rewritten))
    })
}

fn is_decimal128(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Result<bool> {
    Ok(matches!(expr.data_type(schema)?, DataType::Decimal128(..)))
}
