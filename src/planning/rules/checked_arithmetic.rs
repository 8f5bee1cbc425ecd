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
//!
//! A plan that travels to other processes loses the switch: DataFusion 55
//! sends the operator without it. [`CheckedArithmeticThatTravels`], the
//! first rule of a cluster's scheduler, makes integer arithmetic a call of
//! [`CheckedIntegerArithmetic`] instead, which travels by its name and
//! which the executors know. Without it, a projection that the scheduler
//! moved into a scan, beyond the executors' own rules, wrapped: `SELECT v +
//! 1` of the largest BIGINT in a file answered the smallest (sqllogictest's
//! cluster pass). Decimals, which arrow checks anyway, and floats it leaves.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::logical_expr::{Operator, ScalarUDF};
use datafusion::physical_expr::expressions::BinaryExpr;
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::aggregates::{AggregateExec, PhysicalGroupBy};
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};

use crate::planning::operators::{CheckedIntegerArithmetic, DecimalArithmeticExpr};

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
        plan.transform_up(|node| checked_node(node, &Checking::Switch))
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "checked_arithmetic"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Makes `+`, `-` and `*` of integers in projections, filters and
/// aggregates calls of functions that fail on overflow, for a plan that
/// travels.
#[derive(Debug, Default)]
pub struct CheckedArithmeticThatTravels;

impl PhysicalOptimizerRule for CheckedArithmeticThatTravels {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let how = Checking::ByName(Arc::new(config.clone()));
        plan.transform_up(|node| checked_node(node, &how))
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "checked_arithmetic_that_travels"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// How an operator is made to fail on overflow.
enum Checking {
    /// DataFusion's switch, for a plan that runs where it is planned.
    Switch,
    /// A call of [`CheckedIntegerArithmetic`], for integers in a plan that
    /// travels; the configuration its calls are made with.
    ByName(Arc<ConfigOptions>),
}

fn checked_node(
    node: Arc<dyn ExecutionPlan>,
    how: &Checking,
) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    if let Some(projection) = node.downcast_ref::<ProjectionExec>() {
        let checked = checked_projection(projection, how)?;
        return Ok(checked.map_or(Transformed::no(node), Transformed::yes));
    }
    if let Some(filter) = node.downcast_ref::<FilterExec>() {
        let predicate = checked(filter.predicate(), &filter.input().schema(), how)?;
        if !predicate.transformed {
            return Ok(Transformed::no(node));
        }
        let filter = FilterExecBuilder::from(filter)
            .with_predicate(predicate.data)
            .build()?;
        return Ok(Transformed::yes(Arc::new(filter)));
    }
    if let Some(aggregate) = node.downcast_ref::<AggregateExec>() {
        let checked = checked_aggregate(aggregate, how)?;
        return Ok(checked.map_or(Transformed::no(node), Transformed::yes));
    }
    Ok(Transformed::no(node))
}

/// The projection with checked arithmetic; `None` if it has none.
fn checked_projection(
    projection: &ProjectionExec,
    how: &Checking,
) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let mut changed = false;
    let mut exprs = Vec::with_capacity(projection.expr().len());
    let schema = projection.input().schema();
    for ProjectionExpr { expr, alias } in projection.expr() {
        let expr = checked(expr, &schema, how)?;
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
fn checked_aggregate(
    aggregate: &AggregateExec,
    how: &Checking,
) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let mut changed = false;
    let schema = aggregate.input_schema();
    let mut check = |expr: &Arc<dyn PhysicalExpr>| -> Result<Arc<dyn PhysicalExpr>> {
        let expr = checked(expr, &schema, how)?;
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
    how: &Checking,
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
        match how {
            Checking::Switch => switched_on(binary, schema).map(Transformed::yes),
            Checking::ByName(config) => Ok(match by_name(binary, schema, config)? {
                Some(call) => Transformed::yes(call),
                None => Transformed::no(Arc::clone(&e)),
            }),
        }
    })
}

/// `binary` with DataFusion's switch on; decimals checked only where they
/// could overflow.
fn switched_on(binary: &BinaryExpr, schema: &Schema) -> Result<Arc<dyn PhysicalExpr>> {
    let checked = BinaryExpr::new(
        Arc::clone(binary.left()),
        *binary.op(),
        Arc::clone(binary.right()),
    )
    .with_fail_on_overflow(true);
    if is_decimal128(checked.left(), schema)? && is_decimal128(checked.right(), schema)? {
        Ok(Arc::new(DecimalArithmeticExpr::new(checked)))
    } else {
        Ok(Arc::new(checked))
    }
}

/// `binary` as a call of [`CheckedIntegerArithmetic`]; `None` unless both
/// its sides are integers of one type.
fn by_name(
    binary: &BinaryExpr,
    schema: &Schema,
    config: &Arc<ConfigOptions>,
) -> Result<Option<Arc<dyn PhysicalExpr>>> {
    let left = binary.left().data_type(schema)?;
    let right = binary.right().data_type(schema)?;
    let function =
        CheckedIntegerArithmetic::of(*binary.op()).filter(|_| left == right && left.is_integer());
    let Some(function) = function else {
        return Ok(None);
    };
    let call = ScalarFunctionExpr::try_new(
        Arc::new(ScalarUDF::from(function)),
        vec![Arc::clone(binary.left()), Arc::clone(binary.right())],
        schema,
        Arc::clone(config),
    )?;
    Ok(Some(Arc::new(call)))
}

fn is_decimal128(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Result<bool> {
    Ok(matches!(expr.data_type(schema)?, DataType::Decimal128(..)))
}
