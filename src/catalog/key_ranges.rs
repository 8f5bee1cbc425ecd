//! Key ranges: a Parquet table whose files each hold one range of a key,
//! told to the planner as range partitioning, where the files prove it.
//!
//! `tpch gen` writes `orders` and `lineitem` as files that each hold one
//! range of order keys, sorted, and so do many writers that split a table by
//! its key. Told that file *i* of both tables holds the same range,
//! DataFusion joins and groups on that key partition by partition, without
//! hashing every row into new partitions first
//! (`Partitioning::Range`, co-partitioned joins in DataFusion 55).
//!
//! A wrong promise would be a wrong answer, so only the files' own footers
//! make it: every row group says it is sorted on the key (`sorting_columns`),
//! the key is an integer or a date with exact minimum and maximum and no
//! NULLs, and the files, in the order of their paths (the order DataFusion
//! reads them in), hold disjoint ranges in key order. Each scan cuts the
//! files into as many runs of consecutive files as the session has
//! partitions, and each split point is the smallest key of a run's first
//! file, so two tables cut at the same keys line up (16 files a table at SF
//! 10 are two runs of eight on two cores: as many partitions as the rest
//! of the plan has, or DataFusion would repartition, keeping order, to
//! meet them). The promise is about the files seen when the table opened:
//! every scan lists them again and reads the table without it when any
//! file was added, removed or rewritten since, or when the files cannot
//! fill the partitions.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::common::{Constraints, SplitPoint, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::{ListingTable, ListingTableConfig};
use datafusion::error::Result;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{
    Expr, Partitioning, RangePartitioning, TableProviderFilterPushDown, col,
};
use datafusion::object_store::ObjectMeta;
use datafusion::parquet::file::metadata::ParquetMetaData;
use datafusion::parquet::file::statistics::Statistics as ColumnStatistics;
use datafusion::physical_plan::ExecutionPlan;

use super::footers::{Footers, is_signed_integer_or_date, listed_files, scalar};

/// A Parquet table read with its files' key ranges declared, while its files
/// are the ones that proved them; read as `plain` otherwise.
#[derive(Debug)]
pub struct KeyRanged {
    plain: Arc<ListingTable>,
    /// The files that proved the ranges, in path order.
    files: Vec<FileStamp>,
    /// Each file's range of the key, in path order, which is key order.
    ranges: Vec<FileRange>,
    /// The key's type in the table, the type split points are written in.
    key_type: DataType,
}

/// What identifies a file's contents without reading it.
#[derive(Debug, PartialEq)]
struct FileStamp {
    location: String,
    size: u64,
    modified: i64,
}

impl FileStamp {
    fn of(meta: &ObjectMeta) -> Self {
        Self {
            location: meta.location.to_string(),
            size: meta.size,
            modified: meta.last_modified.timestamp_nanos_opt().unwrap_or_default(),
        }
    }
}

/// The sorted key of one file and its smallest and largest value.
#[derive(Debug, PartialEq)]
struct FileRange {
    column: String,
    min: i64,
    max: i64,
}

impl KeyRanged {
    /// `plain` with its files' key ranges declared, when a key range per
    /// file is what their `footers` prove; `None` when not.
    pub fn from_footers(plain: &Arc<ListingTable>, footers: &Footers) -> Option<Self> {
        if !plain.options().table_partition_cols.is_empty() || footers.files.len() < 2 {
            return None;
        }
        let ranges = footers
            .metadata
            .iter()
            .map(|metadata| file_range(metadata))
            .collect::<Option<Vec<_>>>()?;
        if !in_key_order(&ranges) {
            return None;
        }
        let key_type = key_type(&ranges, &plain.schema())?;
        Some(Self {
            plain: Arc::clone(plain),
            files: footers.files.iter().map(FileStamp::of).collect(),
            ranges,
            key_type,
        })
    }

    /// The table as read without the declaration.
    pub fn plain(&self) -> &Arc<ListingTable> {
        &self.plain
    }

    /// The table to scan now: with the ranges, in as many partitions as the
    /// session has, while the files are the ones that proved them; plain
    /// when they changed or cannot fill the partitions.
    async fn to_scan(&self, state: &dyn Session) -> Result<Arc<ListingTable>> {
        let partitions = state.config().target_partitions();
        let Some(partitioning) = self.range_partitioning(partitions) else {
            return Ok(Arc::clone(&self.plain));
        };
        if !self.files_unchanged(state).await? {
            return Ok(Arc::clone(&self.plain));
        }
        let options = self.plain.options().clone();
        let config = ListingTableConfig::new(self.plain.table_paths()[0].clone())
            .with_listing_options(options.with_output_partitioning(Some(partitioning)))
            .with_schema(self.plain.schema());
        Ok(Arc::new(ListingTable::try_new(config)?))
    }

    /// Range partitioning into `partitions` runs of consecutive files, cut
    /// as DataFusion cuts a declared table's files (`FileGroup::split_files`:
    /// path order, runs of `ceil(files / partitions)`), each split point the
    /// smallest key of a run's first file. Two tables whose files hold the
    /// same ranges get the same split points, which is what lets DataFusion
    /// join them run by run. `None` when the runs would not fill the
    /// partitions.
    fn range_partitioning(&self, partitions: usize) -> Option<Partitioning> {
        let run = self.ranges.len().div_ceil(partitions.max(1));
        if self.ranges.len().div_ceil(run) != partitions {
            return None;
        }
        let split_points = self
            .ranges
            .chunks(run)
            .skip(1)
            .map(|files| Some(SplitPoint::new(vec![scalar(files[0].min, &self.key_type)?])))
            .collect::<Option<Vec<_>>>()?;
        let ordering = vec![col(&self.ranges[0].column).sort(true, false)];
        RangePartitioning::try_new(ordering, split_points)
            .ok()
            .map(Partitioning::Range)
    }

    async fn files_unchanged(&self, state: &dyn Session) -> Result<bool> {
        let url = &self.plain.table_paths()[0];
        let now = listed_files(state, url, &self.plain.options().file_extension).await?;
        Ok(now.iter().map(FileStamp::of).collect::<Vec<_>>() == self.files)
    }
}

/// The range of the key a file says it is sorted on, when every row group
/// says so, the key is a signed integer or date column at the top level
/// (its number within the file's columns), and each row
/// group has exact bounds, no NULLs, and follows the one before it.
fn file_range(metadata: &ParquetMetaData) -> Option<FileRange> {
    let groups = metadata.row_groups();
    let first = groups.first()?.sorting_columns()?.first()?;
    let key = usize::try_from(first.column_idx).ok()?;
    let columns = metadata.file_metadata().schema_descr();
    // A footer may name any column: one past the last is no key.
    if key >= columns.num_columns() {
        return None;
    }
    let column = columns.column(key);
    let [name] = column.path().parts() else {
        return None;
    };
    if !is_signed_integer_or_date(&column) {
        return None;
    }
    let mut range: Option<(i64, i64)> = None;
    for group in groups {
        let sorted_on = group.sorting_columns()?.first()?;
        if sorted_on != first || first.descending {
            return None;
        }
        if key >= group.num_columns() {
            return None;
        }
        let (min, max) = exact_bounds(group.column(key).statistics()?)?;
        range = match range {
            None => Some((min, max)),
            Some((low, high)) if high <= min => Some((low, max)),
            Some(_) => return None,
        };
    }
    let (min, max) = range?;
    Some(FileRange {
        column: name.clone(),
        min,
        max,
    })
}

/// Exact minimum and maximum of an integer column chunk with no NULLs.
fn exact_bounds(statistics: &ColumnStatistics) -> Option<(i64, i64)> {
    if statistics.null_count_opt() != Some(0) {
        return None;
    }
    match statistics {
        ColumnStatistics::Int32(s) if s.min_is_exact() && s.max_is_exact() => {
            Some((i64::from(*s.min_opt()?), i64::from(*s.max_opt()?)))
        }
        ColumnStatistics::Int64(s) if s.min_is_exact() && s.max_is_exact() => {
            Some((*s.min_opt()?, *s.max_opt()?))
        }
        _ => None,
    }
}

/// Whether the files, in path order, hold disjoint ranges of one key in
/// key order.
fn in_key_order(ranges: &[FileRange]) -> bool {
    ranges
        .windows(2)
        .all(|pair| pair[0].max < pair[1].min && pair[1].column == pair[0].column)
}

/// The type of the files' key in the table, when split points can be
/// written in it.
fn key_type(ranges: &[FileRange], schema: &SchemaRef) -> Option<DataType> {
    let field = schema.field_with_name(&ranges.first()?.column).ok()?;
    scalar(0, field.data_type()).map(|_| field.data_type().clone())
}

#[async_trait]
impl TableProvider for KeyRanged {
    fn schema(&self) -> SchemaRef {
        self.plain.schema()
    }

    fn constraints(&self) -> Option<&Constraints> {
        self.plain.constraints()
    }

    fn table_type(&self) -> TableType {
        self.plain.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let table = self.to_scan(state).await?;
        table.scan(state, projection, filters, limit).await
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> Result<ScanResult> {
        let table = self.to_scan(state).await?;
        table.scan_with_args(state, args).await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.plain.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<Statistics> {
        self.plain.statistics()
    }

    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.plain.insert_into(state, input, insert_op).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, Int64Array, UInt64Array};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::file::metadata::{ParquetMetaDataReader, SortingColumn};
    use datafusion::parquet::file::properties::WriterProperties;

    /// The footer of a file of `key` and `v`, written in row groups of two
    /// rows, that says it is sorted on its column `sorted_on`.
    fn footer(key: ArrayRef, sorted_on: i32, descending: bool) -> ParquetMetaData {
        let values: ArrayRef = Arc::new(Int64Array::from(vec![0; key.len()]));
        let batch = RecordBatch::try_from_iter([("k", key), ("v", values)]).unwrap();
        let properties = WriterProperties::builder()
            .set_max_row_group_row_count(Some(2))
            .set_sorting_columns(Some(vec![SortingColumn {
                column_idx: sorted_on,
                descending,
                nulls_first: false,
            }]))
            .build();
        let mut bytes = Vec::new();
        let mut writer =
            ArrowWriter::try_new(&mut bytes, batch.schema(), Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        ParquetMetaDataReader::new()
            .parse_and_finish(&bytes::Bytes::from(bytes))
            .unwrap()
    }

    fn keys(values: &[i64]) -> ArrayRef {
        Arc::new(Int64Array::from(values.to_vec()))
    }

    #[test]
    fn a_sorted_file_gives_its_range() {
        let range = file_range(&footer(keys(&[3, 4, 4, 9, 12]), 0, false));
        assert_eq!(
            range,
            Some(FileRange {
                column: "k".to_string(),
                min: 3,
                max: 12
            })
        );
    }

    #[test]
    fn a_footer_that_cannot_be_right_gives_no_range() {
        // Row groups out of order, though the footer says sorted.
        assert_eq!(file_range(&footer(keys(&[5, 6, 1, 2]), 0, false)), None);
        // A sorting column past the last column.
        assert_eq!(file_range(&footer(keys(&[1, 2, 3]), 99, false)), None);
        assert_eq!(file_range(&footer(keys(&[1, 2, 3]), -1, false)), None);
        // Descending, and unsigned keys (stored as signed, ordered otherwise).
        assert_eq!(file_range(&footer(keys(&[3, 2, 1]), 0, true)), None);
        let unsigned: ArrayRef = Arc::new(UInt64Array::from(vec![1, u64::MAX]));
        assert_eq!(file_range(&footer(unsigned, 0, false)), None);
        // NULL keys.
        let with_null: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None]));
        assert_eq!(file_range(&footer(with_null, 0, false)), None);
    }

    #[test]
    fn only_disjoint_ranges_in_path_order_are_in_key_order() {
        let range = |min, max| FileRange {
            column: "k".to_string(),
            min,
            max,
        };
        assert!(in_key_order(&[range(1, 10), range(11, 20)]));
        assert!(!in_key_order(&[range(1, 10), range(10, 20)]));
        assert!(!in_key_order(&[range(11, 20), range(1, 10)]));
    }
}
