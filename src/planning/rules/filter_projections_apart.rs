//! Rule: a filter's own projection becomes a projection above it, before
//! each of DataFusion's projection pushdowns.
//!
//! DataFusion's `ProjectionPushdown` folds a projection into the filter
//! below it (`FilterExec` with `projection=[…]`). On its next pass, a
//! projection above such a filter is swapped below it as if the filter
//! passed its input's columns on unchanged (`FilterExec::
//! try_swapping_with_projection` in DataFusion 55): the projection's
//! columns, numbered in the filter's projected output, are read from the
//! filter's input, where the same numbers are other columns. Where the
//! names differ it fails ("Input field name k does not match with the
//! projection expression f", sqlfuzz `--seed 9109` query 19721 and
//! `--seed 9110` queries 16307 and 20080, one over a self-join); where they
//! match, as after a self-join, it would read the wrong column. Taken
//! apart before each pass, the filter has no projection when a projection
//! above it is pushed, and the pass may fold it in again, correctly.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};

/// Splits every filter with a projection into a projection over a filter.
#[derive(Debug, Default)]
pub struct FilterProjectionsApart;

impl PhysicalOptimizerRule for FilterProjectionsApart {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        super::rewrite_filters(plan, |filter| {
            (filter.projection().is_some()).then(|| projection_over_bare_filter(filter))
        })
    }

    fn name(&self) -> &str {
        "filter_projections_apart"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `filter` without its projection, under a projection of the same columns.
fn projection_over_bare_filter(filter: &FilterExec) -> Result<Arc<dyn ExecutionPlan>> {
    let kept = filter.projection().clone().unwrap_or_default();
    let bare: Arc<dyn ExecutionPlan> = Arc::new(
        FilterExecBuilder::from(filter)
            .apply_projection(None)?
            .build()?,
    );
    let schema = bare.schema();
    let columns = kept.iter().map(|&index| {
        let name = schema.field(index).name().clone();
        ProjectionExpr::new(Arc::new(Column::new(&name, index)), name)
    });
    Ok(Arc::new(ProjectionExec::try_new(columns, bare)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::physical_plan::{collect, displayable};
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn a_filter_keeps_its_rows_and_columns_with_its_projection_apart() {
        let ctx = SessionContext::new();
        let sql = "SELECT * FROM (VALUES (1, 'x', 2.5), (2, 'y', 3.5)) t(a, b, c) WHERE a > 1";
        let dataframe = ctx.sql(sql).await.unwrap();
        let plan = dataframe.create_physical_plan().await.unwrap();
        let mut node = plan;
        while !node.is::<FilterExec>() {
            node = Arc::clone(node.children()[0]);
        }
        let filter = node.downcast_ref::<FilterExec>().unwrap();
        let with_projection = FilterExecBuilder::from(filter).apply_projection(Some(vec![2, 0]));
        let projected: Arc<dyn ExecutionPlan> = Arc::new(with_projection.unwrap().build().unwrap());
        let apart = FilterProjectionsApart
            .optimize(Arc::clone(&projected), &ConfigOptions::default())
            .unwrap();
        let shown = displayable(apart.as_ref()).indent(true).to_string();
        let top = "ProjectionExec: expr=[column3@2 as column3, column1@0 as column1]";
        assert!(shown.starts_with(top), "{shown}");
        assert!(!shown.contains("projection=["), "{shown}");
        assert_eq!(apart.schema(), projected.schema());
        let rows = |plan| async {
            let batches = collect(plan, ctx.task_ctx()).await.unwrap();
            pretty_format_batches(&batches).unwrap().to_string()
        };
        assert_eq!(rows(apart).await, rows(projected).await);
    }
}
