//! Rule: a CSV scan that reached this process without its compression reads
//! its files decompressed, as their names say.
//!
//! DataFusion 55 sends a CSV scan to another process without its
//! compression (`CsvSource::try_from_proto` always decodes it as
//! uncompressed), so a cluster's executor read a `.csv.gz` table's bytes as
//! text and failed on the first line. A compressed CSV table lists only
//! files named with its compression's extension (`.csv.gz`, `.csv.zst`),
//! so on the executor the names give the compression back. A scan whose
//! files name two compressions is refused rather than guessed. Applied only
//! where a stage runs (`planning::stage_rules`).

use std::sync::Arc;

use datafusion::common::GetExt;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::physical_plan::{CsvSource, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;

/// Gives each uncompressed CSV scan the compression its files' names say.
#[derive(Debug, Default)]
pub struct CsvCompressionByName;

impl PhysicalOptimizerRule for CsvCompressionByName {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(with_named_compression)
            .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "csv_compression_by_name"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The compressions a file name may end with.
const COMPRESSIONS: [FileCompressionType; 4] = [
    FileCompressionType::GZIP,
    FileCompressionType::BZIP2,
    FileCompressionType::XZ,
    FileCompressionType::ZSTD,
];

fn with_named_compression(
    node: Arc<dyn ExecutionPlan>,
) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    let Some(scan) = super::file_scan(&node) else {
        return Ok(Transformed::no(node));
    };
    if scan.file_compression_type.is_compressed() || !scan.file_source().is::<CsvSource>() {
        return Ok(Transformed::no(node));
    }
    let Some(compression) = named_compression(scan)? else {
        return Ok(Transformed::no(node));
    };
    let config = FileScanConfigBuilder::from(scan.clone())
        .with_file_compression_type(compression)
        .build();
    Ok(Transformed::yes(DataSourceExec::from_data_source(config)))
}

/// The one compression the names of `scan`'s files end with, if any.
fn named_compression(scan: &FileScanConfig) -> Result<Option<FileCompressionType>> {
    let mut named: Option<(FileCompressionType, String)> = None;
    let mut plain: Option<String> = None;
    for file in scan.file_groups.iter().flat_map(|group| group.files()) {
        let name = file.object_meta.location.to_string();
        let compression = COMPRESSIONS
            .into_iter()
            .find(|compression| name.ends_with(&compression.get_ext()));
        match (compression, &named) {
            (None, _) => plain = Some(name),
            (Some(found), None) => named = Some((found, name)),
            (Some(found), Some((first, first_name))) if found != *first => {
                return Err(mixed(first_name, &name));
            }
            (Some(_), Some(_)) => {}
        }
    }
    match (named, plain) {
        (Some((_, compressed)), Some(plain)) => Err(mixed(&compressed, &plain)),
        (named, _) => Ok(named.map(|(compression, _)| compression)),
    }
}

fn mixed(one: &str, other: &str) -> DataFusionError {
    DataFusionError::Plan(format!(
        "{one} and {other}: one CSV table whose files are compressed differently; \
         a cluster tells their compression by name and cannot read both"
    ))
}
