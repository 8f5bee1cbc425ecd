//! Rule: a Parquet scan whose rows a filter on strings keeps applies the
//! dynamic filters it holds row by row, before that filter.
//!
//! A hash join hands the scan on its probe side a dynamic filter, the keys
//! its build side holds; without `pushdown_filters` the scan uses it to
//! skip files and row groups by their statistics only, which on unclustered
//! keys skips nothing. Q19 at SF 1 compared two string columns of all six
//! million lineitem rows (`l_shipmode IN (…)`, `l_shipinstruct = …`) to
//! keep 128 thousand, of which the join then kept 2.3 thousand: the build
//! side of twenty parts held a key of every hundredth row. Applied row by
//! row in the scan, the dynamic filter decodes and looks up the key column
//! alone, and the string columns are decoded and compared only for the rows
//! it keeps (Q19 0.115 → 0.060 s, DuckDB 0.056 s).
//!
//! Row by row is not cheaper everywhere: looking a key up costs about as
//! much as the join's own probe, and decoding the other fixed-width columns
//! of the kept rows no less than decoding them all. On for every scan with
//! a dynamic filter, the 22 TPC-H queries at SF 1 took 2.45–2.69 s against
//! 2.15 s. So the rule acts only where strings are compared, the costliest
//! columns to decode and to filter: a `FilterExec` reading a string column
//! above a Parquet scan with a dynamic filter (directly, or through the
//! repartitions that spread one file's rows over the cores). The scan then applies
//! its dynamic filters alone row by row, and the `FilterExec` the rest on
//! the rows they keep. Moving the `FilterExec`'s conjuncts into the scan
//! too (DataFusion's `pushdown_filters`), each a pass of its own over the
//! scattered rows kept, was slower (Q19 0.071 s, Q10 0.150 against 0.138,
//! best of 7). The price: that scan no longer skips row groups and pages
//! by the statistics of those conjuncts, which only pays where a file is
//! sorted or clustered on the compared column.
//!
//! It runs right after DataFusion's last filter pushdown, which has given
//! each scan its dynamic filters, and before `nan_safe_pruning`, which
//! then sees the scan's new predicate. Only in one process: a stage sent to
//! another keeps DataFusion's plan.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::physical_plan::{FileScanConfigBuilder, FileSource, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{Column, DynamicFilterPhysicalExpr};
use datafusion::physical_expr::utils::{conjunction, split_conjunction};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::{ChildrenPropertiesMode, ExecutionPlan, ReplaceChildrenOptions};

/// Has a Parquet scan below a filter on strings apply its dynamic filters
/// row by row.
#[derive(Debug, Default)]
pub struct JoinFiltersInScan;

impl PhysicalOptimizerRule for JoinFiltersInScan {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(dynamic_filters_row_by_row)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "join_filters_in_scan"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn dynamic_filters_row_by_row(
    node: Arc<dyn ExecutionPlan>,
) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    let Some(filter) = node.downcast_ref::<FilterExec>() else {
        return Ok(Transformed::no(node));
    };
    if !reads_strings(filter.predicate(), &filter.input().schema())? {
        return Ok(Transformed::no(node));
    }
    match scan_filtering_by_dynamic_filters_alone(filter.input())? {
        Some(input) => replace_child(&node, input).map(Transformed::yes),
        None => Ok(Transformed::no(node)),
    }
}

/// Whether `predicate` reads a string column of `schema`.
fn reads_strings(predicate: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Result<bool> {
    predicate.exists(|expr| {
        let column = expr.downcast_ref::<Column>();
        Ok(column.is_some_and(|column| {
            matches!(
                schema.field(column.index()).data_type(),
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
            )
        }))
    })
}

/// `plan`, a Parquet scan holding dynamic filters, made to apply them row
/// by row and nothing else yet, also below repartitions, which pass rows
/// through; `None` for any other plan.
fn scan_filtering_by_dynamic_filters_alone(
    plan: &Arc<dyn ExecutionPlan>,
) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    if plan.is::<RepartitionExec>() || plan.is::<CooperativeExec>() {
        let Some(input) = scan_filtering_by_dynamic_filters_alone(plan.children()[0])? else {
            return Ok(None);
        };
        return replace_child(plan, input).map(Some);
    }
    let Some(scan) = super::file_scan(plan) else {
        return Ok(None);
    };
    let parquet = scan.file_source().downcast_ref::<ParquetSource>();
    let Some((parquet, predicate)) = parquet.and_then(|p| Some((p, p.filter()?))) else {
        return Ok(None);
    };
    let dynamic: Vec<_> = split_conjunction(&predicate)
        .into_iter()
        .filter(|conjunct| is_dynamic(conjunct))
        .cloned()
        .collect();
    if dynamic.is_empty() {
        return Ok(None);
    }
    let source = (parquet.clone().with_pushdown_filters(true)).with_predicate(conjunction(dynamic));
    let config = FileScanConfigBuilder::from(scan.clone())
        .with_source(Arc::new(source))
        .build();
    Ok(Some(DataSourceExec::from_data_source(config)))
}

fn replace_child(
    plan: &Arc<dyn ExecutionPlan>,
    child: Arc<dyn ExecutionPlan>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let recompute = ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute);
    Arc::clone(plan).replace_children(vec![child], recompute)
}

/// Whether `expr` holds a dynamic filter.
fn is_dynamic(expr: &Arc<dyn PhysicalExpr>) -> bool {
    expr.exists(|node| Ok(node.downcast_ref::<DynamicFilterPhysicalExpr>().is_some()))
        .unwrap_or(false)
}
