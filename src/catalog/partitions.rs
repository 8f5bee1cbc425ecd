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
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::Result;
use futures::TryStreamExt;

/// The value Hive writes for a null partition key.
const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// Types for the partition columns `names`, from the values found under `url`.
pub(super) async fn infer_partition_types(
    state: &dyn Session,
    url: &ListingTableUrl,
    options: &ListingOptions,
    names: &[String],
) -> Result<Vec<(String, DataType)>> {
    if names.is_empty() {
        return Ok(vec![]);
    }
    let store = state.runtime_env().object_store(url)?;
    let files: Vec<_> = url
        .list_all_files(state, store.as_ref(), &options.file_extension)
        .await?
        .try_collect()
        .await?;
    let mut types = vec![Candidate::Int; names.len()];
    for file in &files {
        let Some(parts) = url.strip_prefix(&file.location) else {
            continue;
        };
        for segment in parts {
            let Some((key, value)) = segment.split_once('=') else {
                continue;
            };
            if let Some(i) = names.iter().position(|n| n == key) {
                types[i] = types[i].widen_to_fit(value);
            }
        }
    }
    Ok(names
        .iter()
        .cloned()
        .zip(types.into_iter().map(Candidate::data_type))
        .collect())
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
    let inferred = infer_partition_types(state, url, options, &untyped).await?;
    let partition_cols = options
        .table_partition_cols
        .iter()
        .map(|(name, ty)| {
            let ty = inferred
                .iter()
                .find(|(n, _)| n == name)
                .map_or(ty, |(_, t)| t);
            (name.clone(), ty.clone())
        })
        .collect::<Vec<_>>();
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

/// `YYYY-MM-DD`, the only date spelling hive paths use in practice.
fn is_iso_date(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}
