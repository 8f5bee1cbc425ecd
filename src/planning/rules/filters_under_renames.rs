//! Rule: a filter over a projection that only picks columns, or over a
//! chain of projections one of which repeats a name, goes below it, by position, before DataFusion
//! pushes filters down.
//!
//! DataFusion 55 pushes a filter through a projection by the *names* of
//! the projection's columns (`FilterRemapper`, `collect_reverse_alias`),
//! and two of them may share a name. A join whose sides the planner
//! swapped is followed by such a projection, which puts the columns back
//! in order, and joined tables often share names (`o.id`, `c.id`): a filter
//! on the first was pushed onto the second, so that `… FROM o RIGHT JOIN c
//! ON o.c_id = c.id WHERE o.id IS NULL` answered no rows (found by sqlfuzz;
//! docs/reliability.md). Below every projection of plain columns, the
//! filter meets what is under them with its columns right, and DataFusion's
//! pushdown carries it on from there. A projection that computes something
//! keeps its filter above it, so nothing is computed twice, unless it or a
//! projection right under it has two columns of one name: DataFusion would
//! mix those up on the way down (a `FULL JOIN` filtered on `x.f` and `y.f`
//! through projections of common subexpressions was filtered on `y.f`
//! alone, found by sqlfuzz), so the filter goes below with the computed
//! expressions written in, as DataFusion's own pushdown writes them.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::projection::ProjectionExec;

/// Moves filters below the projections of plain columns under them.
#[derive(Debug, Default)]
pub struct FiltersUnderRenames;

impl PhysicalOptimizerRule for FiltersUnderRenames {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_down(filter_under_projection)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "filters_under_renames"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `Filter(Projection(x))` as `Projection(Filter(x))` when the projection
/// only picks columns or a name repeats in the projections under the
/// filter; visited top-down, so the filter sinks through a
/// chain of them.
fn filter_under_projection(
    node: Arc<dyn ExecutionPlan>,
) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    let Some(filter) = node.downcast_ref::<FilterExec>() else {
        return Ok(Transformed::no(node));
    };
    let Some(projection) = filter.input().downcast_ref::<ProjectionExec>() else {
        return Ok(Transformed::no(node));
    };
    if filter.projection().is_some()
        || !(picks_columns_only(projection) || a_name_repeats_in_chain(projection))
    {
        return Ok(Transformed::no(node));
    }
    let predicate = Arc::clone(filter.predicate()).transform_up(|expr| {
        Ok(match expr.downcast_ref::<Column>() {
            Some(column) => Transformed::yes(Arc::clone(&projection.expr()[column.index()].expr)),
            None => Transformed::no(expr),
        })
    })?;
    let below = FilterExecBuilder::from(filter)
        .with_input(Arc::clone(projection.input()))
        .with_predicate(predicate.data)
        .build()?;
    let above = ProjectionExec::try_new(projection.expr().to_vec(), Arc::new(below))?;
    Ok(Transformed::yes(Arc::new(above)))
}

fn picks_columns_only(projection: &ProjectionExec) -> bool {
    projection.expr().iter().all(|p| is_column(&p.expr))
}

/// Whether this projection, or one in the chain of projections right
/// under it, gives two columns one name.
fn a_name_repeats_in_chain(projection: &ProjectionExec) -> bool {
    let mut names = HashSet::new();
    !projection
        .expr()
        .iter()
        .all(|p| names.insert(p.alias.as_str()))
        || projection
            .input()
            .downcast_ref::<ProjectionExec>()
            .is_some_and(a_name_repeats_in_chain)
}

fn is_column(expr: &Arc<dyn PhysicalExpr>) -> bool {
    expr.downcast_ref::<Column>().is_some()
}
