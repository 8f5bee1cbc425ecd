//! Rule: the min and max that files declare for a float column are
//! estimates, never facts.
//!
//! Parquet writers leave NaN out of a column chunk's min and max, as the
//! format asks. DataFusion 55 reads a file whose statistics say min = max
//! and no NULLs as holding that one value in every row, and replaces the
//! column with it: a DOUBLE column of NaN and -2.75 was read as -2.75 twice
//! (found by sqlfuzz; docs/reliability.md), and `max(f)` could be answered
//! from the statistics alone. Marked inexact, the same figures still prune
//! and estimate, but no longer stand in for the data. It runs first, before
//! DataFusion's aggregate-statistics rule reads them.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{ColumnStatistics, Statistics};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;

/// Marks the file statistics of float columns inexact.
#[derive(Debug, Default)]
pub struct InexactFloatStats;

impl PhysicalOptimizerRule for InexactFloatStats {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(with_inexact_float_stats)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "inexact_float_stats"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn with_inexact_float_stats(
    node: Arc<dyn ExecutionPlan>,
) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    let Some(scan) = super::file_scan(&node) else {
        return Ok(Transformed::no(node));
    };
    let floats = float_columns(scan.file_schema());
    if floats.is_empty() {
        return Ok(Transformed::no(node));
    }
    let groups = scan
        .file_groups
        .iter()
        .map(|group| inexact_group(group, &floats))
        .collect();
    let config = FileScanConfigBuilder::from(scan.clone())
        .with_file_groups(groups)
        .with_statistics(inexact(scan.statistics(), &floats))
        .build();
    Ok(Transformed::yes(DataSourceExec::from_data_source(config)))
}

/// The positions of the float columns in a file schema.
fn float_columns(schema: &SchemaRef) -> Vec<usize> {
    schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, field)| field.data_type().is_floating())
        .map(|(i, _)| i)
        .collect()
}

fn inexact_group(group: &FileGroup, floats: &[usize]) -> FileGroup {
    let mut files: Vec<PartitionedFile> = group.files().to_vec();
    for statistics in files.iter_mut().filter_map(|file| file.statistics.as_mut()) {
        *statistics = Arc::new(inexact(statistics.as_ref().clone(), floats));
    }
    let inexact_group = FileGroup::new(files);
    match group.file_statistics(None) {
        Some(statistics) => {
            inexact_group.with_statistics(Arc::new(inexact(statistics.clone(), floats)))
        }
        None => inexact_group,
    }
}

/// `statistics` with the min and max of the columns at `floats` inexact.
fn inexact(mut statistics: Statistics, floats: &[usize]) -> Statistics {
    for &i in floats {
        if let Some(column) = statistics.column_statistics.get_mut(i) {
            let ColumnStatistics {
                min_value,
                max_value,
                ..
            } = column;
            *min_value = min_value.clone().to_inexact();
            *max_value = max_value.clone().to_inexact();
        }
    }
    statistics
}
