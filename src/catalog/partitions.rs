//! Hive partition columns: finding their types from the `key=value` paths.
//!
//! DataFusion types every discovered partition column as a dictionary of
//! strings. Users of DuckDB expect `year=2024` to be a number they can compare
//! with `year > 2023`, so morsel looks at the values on disk and picks the
//! narrowest of BIGINT, DATE and VARCHAR that every value fits, the way
//! DuckDB's hive partitioning does.
//!
//! Hive, Spark and DuckDB write a NULL key as `key=__HIVE_DEFAULT_PARTITION__`.
//! DataFusion would read that as text (or fail to read it as a number), so
//! a column holding it is listed as text and a view on top turns the value
//! into NULL and casts the others to the column's type. Filters still reach
//! the listing through the view, so pruning directories holds.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{ScalarValue, plan_err};
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::{ViewTable, provider_as_source};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, cast, ident, lit, when};
use futures::TryStreamExt;
use object_store::ObjectMeta;

/// The value Hive writes for a null partition key.
const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// A hive partition column and the type of its values.
#[derive(Debug, Clone)]
pub(super) struct PartitionColumn {
    pub name: String,
    pub data_type: DataType,
    /// Some directory is `name=__HIVE_DEFAULT_PARTITION__`: rows that are NULL.
    pub has_nulls: bool,
}

impl PartitionColumn {
    /// The name and type a listing table reads the column as: text where
    /// a directory holds the null value, which no other type parses.
    pub fn listed(&self) -> (String, DataType) {
        let data_type = match self.has_nulls {
            true => DataType::Utf8,
            false => self.data_type.clone(),
        };
        (self.name.clone(), data_type)
    }

    /// The column as the table shows it, made from the listed column:
    /// `CASE WHEN k = '__HIVE_DEFAULT_PARTITION__' THEN NULL ELSE CAST(k AS type) END`.
    fn shown(&self) -> Result<Expr> {
        let listed = ident(&self.name);
        if !self.has_nulls {
            return Ok(listed);
        }
        let null = lit(ScalarValue::try_from(&self.data_type)?);
        Ok(when(listed.clone().eq(lit(HIVE_NULL)), null)
            .otherwise(cast(listed, self.data_type.clone()))?
            .alias(&self.name))
    }
}

/// `table`, which reads `columns` as [`PartitionColumn::listed`] says, as
/// the table shows them: under a view when one of them holds NULLs.
pub(super) fn with_nulls_shown(
    table: Arc<dyn TableProvider>,
    columns: &[PartitionColumn],
) -> Result<Arc<dyn TableProvider>> {
    if !columns.iter().any(|c| c.has_nulls) {
        return Ok(table);
    }
    let shown = table
        .schema()
        .fields()
        .iter()
        .map(
            |field| match columns.iter().find(|c| c.name == *field.name()) {
                Some(column) => column.shown(),
                None => Ok(ident(field.name())),
            },
        )
        .collect::<Result<Vec<_>>>()?;
    let plan = LogicalPlanBuilder::scan("partitioned", provider_as_source(table), None)?
        .project(shown)?
        .build()?;
    Ok(Arc::new(ViewTable::new(plan, None)))
}

/// The partition columns of the table at `url`, typed from their values.
///
/// They are the `key=value` directories between the table's root and its
/// files, and every file must have the same keys. DataFusion looks at ten
/// files for the keys, and a file with others, or with a plain directory
/// among its parents (`wrap/events/year=2024/…` opened as `wrap/`), is then
/// silently not read; here every file counts, a plain directory anywhere
/// means the table has no partition columns (each file is still read), and
/// files that disagree on the keys are an error that names two of them.
pub(super) async fn partition_columns(
    state: &dyn Session,
    url: &ListingTableUrl,
    options: &ListingOptions,
) -> Result<Vec<PartitionColumn>> {
    let store = state.runtime_env().object_store(url)?;
    let files: Vec<_> = url
        .list_all_files(state, store.as_ref(), &options.file_extension)
        .await?
        .try_collect()
        .await?;
    let mut layout: Option<(Vec<&str>, &ObjectMeta)> = None;
    let mut partitioned = Vec::with_capacity(files.len());
    for file in &files {
        let Some(parents) = partition_directories(url, file) else {
            return Ok(vec![]);
        };
        let keys: Vec<&str> = parents.iter().map(|(key, _)| *key).collect();
        match &layout {
            None => layout = Some((keys, file)),
            Some((first, first_file)) if *first != keys => {
                return plan_err!(
                    "{}: its files disagree on partition directories: {} is under {}, {} under {}",
                    url.as_str(),
                    first_file.location,
                    shown_keys(first),
                    file.location,
                    shown_keys(&keys)
                );
            }
            Some(_) => {}
        }
        partitioned.push(parents);
    }
    let Some((names, _)) = layout else {
        return Ok(vec![]);
    };
    // Per column, the narrowest type its values fit (none before the first
    // value) and whether a directory holds the null value.
    let mut seen: Vec<(Option<Candidate>, bool)> = vec![(None, false); names.len()];
    for parents in &partitioned {
        for ((_, value), (candidate, has_nulls)) in parents.iter().zip(&mut seen) {
            if *value == HIVE_NULL {
                *has_nulls = true;
            } else {
                *candidate = Some(candidate.unwrap_or(Candidate::Int).widen_to_fit(value));
            }
        }
    }
    Ok(names
        .iter()
        .zip(seen)
        .map(|(name, (candidate, has_nulls))| PartitionColumn {
            name: name.to_string(),
            // A column of NULLs alone is text, as in DuckDB.
            data_type: candidate.unwrap_or(Candidate::Text).data_type(),
            has_nulls,
        })
        .collect())
}

/// The `(key, value)` of each directory between the table's root and
/// `file`; `None` when one of them is a plain directory.
fn partition_directories<'a>(
    url: &ListingTableUrl,
    file: &'a ObjectMeta,
) -> Option<Vec<(&'a str, &'a str)>> {
    let mut segments: Vec<&str> = url.strip_prefix(&file.location)?.collect();
    segments.pop();
    segments.into_iter().map(|s| s.split_once('=')).collect()
}

fn shown_keys(keys: &[&str]) -> String {
    match keys {
        [] => "no key=value directory".to_string(),
        keys => keys
            .iter()
            .map(|k| format!("{k}=…"))
            .collect::<Vec<_>>()
            .join("/"),
    }
}

/// Replaces string-typed partition columns of a table DataFusion built
/// (`CREATE EXTERNAL TABLE`) with inferred types; other tables pass through.
pub async fn retype_partitions(
    state: &dyn Session,
    provider: Arc<dyn TableProvider>,
) -> Result<Arc<dyn TableProvider>> {
    let Some(table) = provider.downcast_ref::<ListingTable>() else {
        return Ok(provider);
    };
    let columns = typed_partitions(state, table).await?;
    let unchanged = columns.iter().map(PartitionColumn::listed).eq(table
        .options()
        .table_partition_cols
        .iter()
        .cloned());
    if unchanged {
        return Ok(provider);
    }
    with_nulls_shown(relisted(table, &columns)?, &columns)
}

/// The partition columns of a table DataFusion built, those it left as
/// strings typed from their values; as declared when it left none, or when
/// the table has several locations.
pub(super) async fn typed_partitions(
    state: &dyn Session,
    table: &ListingTable,
) -> Result<Vec<PartitionColumn>> {
    let options = table.options();
    let declared = options
        .table_partition_cols
        .iter()
        .map(|(name, data_type)| PartitionColumn {
            name: name.clone(),
            data_type: data_type.clone(),
            has_nulls: false,
        });
    let untyped = declared
        .clone()
        .filter(|c| is_untyped(&c.data_type))
        .count();
    let [url] = table.table_paths().as_slice() else {
        return Ok(declared.collect());
    };
    if untyped == 0 {
        return Ok(declared.collect());
    }
    let inferred = partition_columns(state, url, options).await?;
    if untyped == options.table_partition_cols.len() {
        // All found by DataFusion, from ten files: ours looked at them all.
        return Ok(inferred);
    }
    Ok(declared
        .map(
            |column| match inferred.iter().find(|c| c.name == column.name) {
                Some(found) if is_untyped(&column.data_type) => found.clone(),
                // Declared with a type, which its NULLs keep.
                Some(found) => PartitionColumn {
                    has_nulls: found.has_nulls,
                    ..column
                },
                None => column,
            },
        )
        .collect())
}

/// `table`'s files read with `columns` as [`PartitionColumn::listed`] says.
fn relisted(table: &ListingTable, columns: &[PartitionColumn]) -> Result<Arc<dyn TableProvider>> {
    let file_fields: Vec<_> = table
        .schema()
        .fields()
        .iter()
        .filter(|f| !columns.iter().any(|c| c.name == *f.name()))
        .cloned()
        .collect();
    let listed = columns.iter().map(PartitionColumn::listed).collect();
    let config = ListingTableConfig::new_with_multi_paths(table.table_paths().clone())
        .with_listing_options(table.options().clone().with_table_partition_cols(listed))
        .with_schema(Arc::new(Schema::new(file_fields)));
    Ok(Arc::new(ListingTable::try_new(config)?))
}

fn is_untyped(ty: &DataType) -> bool {
    matches!(ty, DataType::Dictionary(_, value) if **value == DataType::Utf8)
}

/// The narrowest type seen so far; values only ever widen it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Candidate {
    Int,
    Date,
    Text,
}

impl Candidate {
    fn widen_to_fit(self, value: &str) -> Self {
        let fits = |c: Candidate| match c {
            Candidate::Int => is_plain_integer(value),
            Candidate::Date => is_iso_date(value),
            Candidate::Text => true,
        };
        [self, Candidate::Date, Candidate::Text]
            .into_iter()
            .filter(|c| *c as u8 >= self as u8)
            .find(|c| fits(*c))
            .unwrap_or(Candidate::Text)
    }

    fn data_type(self) -> DataType {
        match self {
            Candidate::Int => DataType::Int64,
            Candidate::Date => DataType::Date32,
            Candidate::Text => DataType::Utf8,
        }
    }
}

/// An integer that prints back the same: `month=01` stays text, as in DuckDB,
/// because the zero is part of how the data is named.
fn is_plain_integer(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    value.parse::<i64>().is_ok() && (digits == "0" || !digits.starts_with('0'))
}

/// A real day spelled `YYYY-MM-DD`, the only date spelling hive paths use
/// in practice; `2024-13-99` is text.
fn is_iso_date(value: &str) -> bool {
    let b = value.as_bytes();
    let spelled = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !spelled {
        return false;
    }
    let number = |range: std::ops::Range<usize>| value[range].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
