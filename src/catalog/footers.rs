//! Footers: what a Parquet table's files say about themselves, read once
//! when the table opens, for the planner.
//!
//! Two things are made of them: the files' key ranges, declared to
//! DataFusion where they prove one (`key_ranges`), and the table's size,
//! its row count and the bounds of its integer and date columns, which
//! [`Counted`] gives as the table's statistics for the join order rule
//! (`planning::rules::small_joins_first`). The size is only ever an
//! estimate: it chooses which join runs first, never which rows come out,
//! so a file changed since the table opened can make a plan slower but no
//! answer wrong, and the row count says `Inexact`. DataFusion reads the
//! same footers again when it plans a scan (through the same metadata
//! cache, so the files are not read twice).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, Constraints, ScalarValue, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::{ListingTable, ListingTableUrl};
use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use datafusion::error::Result;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::object_store::ObjectMeta;
use datafusion::parquet::basic::{ConvertedType, LogicalType};
use datafusion::parquet::file::metadata::ParquetMetaData;
use datafusion::parquet::file::statistics::Statistics as ChunkStatistics;
use datafusion::parquet::schema::types::ColumnDescriptor;
use datafusion::physical_plan::ExecutionPlan;
use futures::{StreamExt, TryStreamExt, stream};

/// Past this many files a table opens without its footers read: the
/// planner then keeps the join order as written. Reading them costs one
/// request a file on S3, paid when the table opens even if it is never
/// queried.
const MAX_FILES: usize = 1024;

/// Footers read at once, as DataFusion's `meta_fetch_concurrency` does.
const CONCURRENT_READS: usize = 16;

/// The files of a Parquet table, in path order, and their footers.
pub struct Footers {
    pub files: Vec<ObjectMeta>,
    pub metadata: Vec<Arc<ParquetMetaData>>,
}

impl Footers {
    /// The footers of `table`'s files, when it is a Parquet table at one
    /// location with at most [`MAX_FILES`] files whose footers all read.
    pub async fn read(state: &dyn Session, table: &ListingTable) -> Result<Option<Self>> {
        let [url] = table.table_paths().as_slice() else {
            return Ok(None);
        };
        let options = table.options();
        if options.format.get_ext() != "parquet" {
            return Ok(None);
        }
        let files = listed_files(state, url, &options.file_extension).await?;
        if files.is_empty() || files.len() > MAX_FILES {
            return Ok(None);
        }
        let store = state.runtime_env().object_store(url)?;
        let cache = state.runtime_env().cache_manager.get_file_metadata_cache();
        // Owned copies in each read: a future borrowing from the closure's
        // argument is not `Send` for every lifetime, which tokio needs.
        let metadata = stream::iter(files.clone())
            .map(|meta| {
                let (store, cache) = (Arc::clone(&store), Arc::clone(&cache));
                async move {
                    DFParquetMetadata::new(store.as_ref(), &meta)
                        .with_file_metadata_cache(Some(cache))
                        .fetch_metadata()
                        .await
                }
            })
            .buffered(CONCURRENT_READS)
            .try_collect()
            .await;
        // A footer that cannot be read gives no facts; the scan that reads
        // the file reports it, naming it, and a file that partition
        // pruning skips is never read at all.
        Ok(metadata.ok().map(|metadata| Self { files, metadata }))
    }

    /// The table's row count and, for each integer or date column of
    /// `schema` the files hold, its smallest and largest value and its
    /// NULLs; every figure inexact.
    pub fn statistics(&self, schema: &Schema) -> Statistics {
        let rows: i64 = self
            .metadata
            .iter()
            .map(|m| m.file_metadata().num_rows())
            .sum();
        let columns = schema
            .fields()
            .iter()
            .map(|field| self.column_statistics(field.name(), field.data_type()))
            .collect();
        Statistics {
            num_rows: Precision::Inexact(usize::try_from(rows).unwrap_or_default()),
            total_byte_size: Precision::Absent,
            column_statistics: columns,
        }
    }

    fn column_statistics(&self, name: &str, data_type: &DataType) -> ColumnStatistics {
        let mut bounds: Option<(i64, i64)> = None;
        let mut nulls = 0;
        for metadata in &self.metadata {
            let Some(index) = integer_column(metadata, name) else {
                return ColumnStatistics::new_unknown();
            };
            for group in metadata.row_groups() {
                let Some((min, max, group_nulls)) =
                    group.column(index).statistics().and_then(chunk_bounds)
                else {
                    return ColumnStatistics::new_unknown();
                };
                nulls += group_nulls;
                bounds =
                    Some(bounds.map_or((min, max), |(low, high)| (low.min(min), high.max(max))));
            }
        }
        let Some((min, max)) = bounds else {
            return ColumnStatistics::new_unknown();
        };
        let (Some(min), Some(max)) = (scalar(min, data_type), scalar(max, data_type)) else {
            return ColumnStatistics::new_unknown();
        };
        ColumnStatistics {
            null_count: Precision::Inexact(usize::try_from(nulls).unwrap_or_default()),
            min_value: Precision::Inexact(min),
            max_value: Precision::Inexact(max),
            ..ColumnStatistics::new_unknown()
        }
    }
}

/// The index of the top-level signed integer or date column `name` in a
/// file.
fn integer_column(metadata: &ParquetMetaData, name: &str) -> Option<usize> {
    let columns = metadata.file_metadata().schema_descr();
    (0..columns.num_columns()).find(|&i| {
        let column = columns.column(i);
        column.path().parts() == [name] && is_signed_integer_or_date(&column)
    })
}

/// The bounds of an integer column chunk and its NULLs.
fn chunk_bounds(statistics: &ChunkStatistics) -> Option<(i64, i64, u64)> {
    let nulls = statistics.null_count_opt()?;
    match statistics {
        ChunkStatistics::Int32(s) => {
            Some((i64::from(*s.min_opt()?), i64::from(*s.max_opt()?), nulls))
        }
        ChunkStatistics::Int64(s) => Some((*s.min_opt()?, *s.max_opt()?, nulls)),
        _ => None,
    }
}

/// The files of `url`, in path order.
pub(super) async fn listed_files(
    state: &dyn Session,
    url: &ListingTableUrl,
    extension: &str,
) -> Result<Vec<ObjectMeta>> {
    let store = state.runtime_env().object_store(url)?;
    let mut files: Vec<ObjectMeta> = url
        .list_all_files(state, store.as_ref(), extension)
        .await?
        .try_collect()
        .await?;
    files.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(files)
}

/// Whether a column's statistics order as signed integers: unsigned
/// integers are stored in the same physical types and compare otherwise.
pub(super) fn is_signed_integer_or_date(column: &ColumnDescriptor) -> bool {
    let unsigned = matches!(
        column.logical_type_ref(),
        Some(LogicalType::Integer(int)) if !int.is_signed
    );
    !unsigned
        && matches!(
            column.converted_type(),
            ConvertedType::NONE
                | ConvertedType::INT_8
                | ConvertedType::INT_16
                | ConvertedType::INT_32
                | ConvertedType::INT_64
                | ConvertedType::DATE
        )
}

/// `value` as a scalar of the key's type; `None` for types whose Parquet
/// statistics are not ordered as their values (unsigned, decimals, …).
pub(super) fn scalar(value: i64, data_type: &DataType) -> Option<ScalarValue> {
    Some(match data_type {
        DataType::Int64 => ScalarValue::Int64(Some(value)),
        DataType::Int32 => ScalarValue::Int32(Some(i32::try_from(value).ok()?)),
        DataType::Int16 => ScalarValue::Int16(Some(i16::try_from(value).ok()?)),
        DataType::Int8 => ScalarValue::Int8(Some(i8::try_from(value).ok()?)),
        DataType::Date32 => ScalarValue::Date32(Some(i32::try_from(value).ok()?)),
        _ => return None,
    })
}

/// A table with the statistics its footers gave when it opened.
#[derive(Debug)]
pub struct Counted {
    table: Arc<dyn TableProvider>,
    statistics: Statistics,
}

impl Counted {
    pub fn new(table: Arc<dyn TableProvider>, statistics: Statistics) -> Self {
        Self { table, statistics }
    }

    /// The table without its statistics.
    pub fn table(&self) -> &dyn TableProvider {
        self.table.as_ref()
    }

    /// The same, shared.
    pub fn shared_table(&self) -> Arc<dyn TableProvider> {
        Arc::clone(&self.table)
    }
}

#[async_trait]
impl TableProvider for Counted {
    fn schema(&self) -> SchemaRef {
        self.table.schema()
    }

    fn constraints(&self) -> Option<&Constraints> {
        self.table.constraints()
    }

    fn table_type(&self) -> TableType {
        self.table.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.table.scan(state, projection, filters, limit).await
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> Result<ScanResult> {
        self.table.scan_with_args(state, args).await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.table.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<Statistics> {
        Some(self.statistics.clone())
    }

    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.table.insert_into(state, input, insert_op).await
    }
}
