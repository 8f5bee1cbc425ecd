//! Hive partition columns: finding their types from the `key=value` paths.
//!
//! DataFusion types every discovered partition column as a dictionary of
//! strings. Users of DuckDB expect `year=2024` to be a number they can compare
//! with `year > 2023`, so morsel looks at the values on disk and picks the
//! narrowest of BIGINT, DATE and VARCHAR that every value fits, the way
//! DuckDB's hive partitioning does.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::plan_err;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::Result;
use futures::TryStreamExt;
use object_store::ObjectMeta;

/// The value Hive writes for a null partition key.
const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

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
) -> Result<Vec<(String, DataType)>> {
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
    let mut types = vec![Candidate::Int; names.len()];
    for parents in &partitioned {
        for (i, (_, value)) in parents.iter().enumerate() {
            types[i] = types[i].widen_to_fit(value);
        }
    }
    Ok(names
        .iter()
        .map(|name| name.to_string())
        .zip(types.into_iter().map(Candidate::data_type))
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
    let options = table.options();
    let untyped: Vec<String> = options
        .table_partition_cols
        .iter()
        .filter(|(_, ty)| is_untyped(ty))
        .map(|(name, _)| name.clone())
        .collect();
    let Some(url) = table.table_paths().first() else {
        return Ok(provider);
    };
    if untyped.is_empty() || table.table_paths().len() != 1 {
        return Ok(provider);
    }
    let inferred = partition_columns(state, url, options).await?;
    let partition_cols = if untyped.len() == options.table_partition_cols.len() {
        // All found by DataFusion, from ten files: ours looked at them all.
        inferred
    } else {
        options
            .table_partition_cols
            .iter()
            .map(|(name, ty)| {
                let ty = inferred
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or(ty, |(_, t)| t);
                (name.clone(), ty.clone())
            })
            .collect::<Vec<_>>()
    };
    let table_schema = table.schema();
    let file_fields: Vec<_> = table_schema
        .fields()
        .iter()
        .filter(|f| !partition_cols.iter().any(|(n, _)| n == f.name()))
        .cloned()
        .collect();
    let config = ListingTableConfig::new(url.clone())
        .with_listing_options(options.clone().with_table_partition_cols(partition_cols))
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
        if value == HIVE_NULL {
            return Candidate::Text;
        }
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
