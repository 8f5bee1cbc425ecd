//! Rule: a Parquet scan prunes nothing by the min and max of a float
//! column.
//!
//! Parquet writers leave NaN out of a column's min and max, as the format
//! asks, so NaN lies above the max a file, a row group or a page declares.
//! DataFusion prunes with those figures as if they bounded every value, so
//! a filter that NaN passes (`f >= 15`, `15 BETWEEN k AND f`, `f <> 2`,
//! NaN being above every number) skipped the files whose only rows passing
//! it were NaN: 0 rows where DuckDB found 3 (sqlfuzz with NaN in its tables, over the
//! hive table `tp`; also with `parquet.pruning` off, since files are
//! pruned by their statistics before row groups are). The dynamic filters
//! DataFusion adds while a query runs prune the same way: a join on `y.f =
//! z.f` whose build side held NaN and numbers from 2.75 up skipped a file
//! of `z` whose numbers stopped at 2.0, and its NaN row with them
//! (`--seed 9302` query 12054); an aggregate's `max(f)` and
//! a top-k sort's bound do it too. This rule, right after DataFusion's last
//! filter pushdown, hands each Parquet scan its predicate, the dynamic
//! filters in it too, with every float column read through
//! [`CanonicalNan`](crate::planning::operators::CanonicalNan): the same
//! values, through a function the pruning does not see through, so no
//! float column prunes and every other column prunes as before. The
//! filters themselves are unchanged.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, SchemaRef};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::datasource::physical_plan::{FileScanConfigBuilder, FileSource, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::logical_expr::ScalarUDF;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;

use crate::planning::operators::{CANONICAL_NAN, CanonicalNan};

/// Keeps Parquet scans from pruning by float statistics.
#[derive(Debug, Default)]
pub struct NanSafePruning;

impl PhysicalOptimizerRule for NanSafePruning {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let config = Arc::new(config.clone());
        plan.transform_up(|node| nan_safe_scan(node, &config))
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "nan_safe_pruning"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn nan_safe_scan(
    node: Arc<dyn ExecutionPlan>,
    config: &Arc<ConfigOptions>,
) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    let Some(scan) = super::file_scan(&node) else {
        return Ok(Transformed::no(node));
    };
    let parquet = scan.file_source().downcast_ref::<ParquetSource>();
    let Some((parquet, predicate)) = parquet.and_then(|p| Some((p, p.filter()?))) else {
        return Ok(Transformed::no(node));
    };
    let floats = float_columns(scan.file_schema());
    let rewritten = predicate.transform_down(|expr| opaque_floats(expr, &floats, config))?;
    if !rewritten.transformed {
        return Ok(Transformed::no(node));
    }
    let source = Arc::new(parquet.with_predicate(rewritten.data));
    let config = FileScanConfigBuilder::from(scan.clone())
        .with_source(source)
        .build();
    Ok(Transformed::yes(DataSourceExec::from_data_source(config)))
}

/// The float columns of a file schema, by name.
fn float_columns(schema: &SchemaRef) -> HashMap<String, DataType> {
    (schema.fields().iter())
        .filter(|field| field.data_type().is_floating())
        .map(|field| (field.name().clone(), field.data_type().clone()))
        .collect()
}

/// A float column of `floats` read through the canonical NaN; a column
/// already read so is left alone.
fn opaque_floats(
    expr: Arc<dyn PhysicalExpr>,
    floats: &HashMap<String, DataType>,
    config: &Arc<ConfigOptions>,
) -> Result<Transformed<Arc<dyn PhysicalExpr>>> {
    if expr
        .downcast_ref::<ScalarFunctionExpr>()
        .is_some_and(|call| call.name() == CANONICAL_NAN)
    {
        return Ok(Transformed::new(expr, false, TreeNodeRecursion::Jump));
    }
    let Some(column) = expr.downcast_ref::<Column>() else {
        return Ok(Transformed::no(expr));
    };
    let Some(float) = floats.get(column.name()) else {
        return Ok(Transformed::no(expr));
    };
    let field = Arc::new(Field::new(CANONICAL_NAN, float.clone(), true));
    let call = ScalarFunctionExpr::new(
        CANONICAL_NAN,
        Arc::new(ScalarUDF::from(CanonicalNan::default())),
        vec![expr],
        field,
        Arc::clone(config),
    );
    Ok(Transformed::new(
        Arc::new(call),
        true,
        TreeNodeRecursion::Jump,
    ))
}
