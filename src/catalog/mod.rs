//! The catalog: turns files and directories into tables.
//!
//! Every way a table comes into being — a data directory given on the
//! command line, `CREATE EXTERNAL TABLE`, or a path queried directly — goes
//! through [`open_table`] or [`retype_partitions`], so all three agree on the
//! format detection, hive partition discovery and partition column types.

mod factory;
mod null_marker;
mod partitions;

pub use factory::{MorselTableFactory, MorselUrlTables};
pub use partitions::retype_partitions;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::catalog::Session;
use datafusion::catalog::TableProvider;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionState;
use datafusion::object_store::ObjectStoreExt;
use datafusion::prelude::SessionContext;
use futures::{StreamExt, TryStreamExt};

use crate::execution::diagnose;

/// The file formats morsel reads, with how each is spelled in a file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Parquet,
    Csv,
    Tsv,
}

impl FileKind {
    /// The format of a file from its name, looking through a `.gz`/`.zst`/… suffix.
    /// Returns the kind and the compression suffix, if any.
    pub fn from_file_name(name: &str) -> Option<(Self, Option<&'static str>)> {
        let lower = name.to_ascii_lowercase();
        let (stem, compression) = match COMPRESSION_SUFFIXES
            .iter()
            .find(|(suffix, _)| lower.ends_with(suffix))
        {
            Some((suffix, codec)) => (&lower[..lower.len() - suffix.len()], Some(*codec)),
            None => (lower.as_str(), None),
        };
        let kind = if stem.ends_with(".parquet") {
            Self::Parquet
        } else if stem.ends_with(".csv") {
            Self::Csv
        } else if stem.ends_with(".tsv") {
            Self::Tsv
        } else {
            return None;
        };
        if kind == Self::Parquet && compression.is_some() {
            return None;
        }
        Some((kind, compression))
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Parquet => ".parquet",
            Self::Csv => ".csv",
            Self::Tsv => ".tsv",
        }
    }
}

/// File suffixes of whole-file compression, with the name DataFusion gives the codec.
const COMPRESSION_SUFFIXES: [(&str, &str); 4] = [
    (".gz", "gzip"),
    (".zst", "zstd"),
    (".bz2", "bzip2"),
    (".xz", "xz"),
];

/// A table found while scanning a data directory, or why it could not be opened.
pub struct Discovered {
    pub name: String,
    pub table: Result<Arc<dyn TableProvider>>,
}

/// Registers a table for each data file and each subdirectory directly under `dir`.
///
/// A table that cannot be opened (no data files, a corrupt footer…) is skipped
/// and reported back, so one bad table does not hide the good ones.
pub async fn register_directory(ctx: &SessionContext, dir: &str) -> Result<Vec<Discovered>> {
    let root = Path::new(dir);
    let entries = std::fs::read_dir(root)
        .map_err(|e| DataFusionError::Execution(format!("cannot read directory {dir}: {e}")))?;
    let mut candidates: Vec<(String, std::path::PathBuf)> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| table_candidate(&entry.path()))
        .collect();
    candidates.sort();

    let state = ctx.state();
    let mut found = Vec::with_capacity(candidates.len());
    for (name, path) in candidates {
        let table = open_table(&state, &path.to_string_lossy()).await;
        if let Ok(provider) = &table {
            ctx.register_table(name.as_str(), Arc::clone(provider))?;
        }
        found.push(Discovered { name, table });
    }
    Ok(found)
}

/// The table name for a directory entry, or `None` when it holds no table.
fn table_candidate(path: &Path) -> Option<(String, std::path::PathBuf)> {
    let file_name = path.file_name()?.to_str()?;
    if file_name.starts_with('.') || file_name.starts_with('_') {
        return None;
    }
    if path.is_dir() {
        return Some((file_name.to_string(), with_trailing_slash(path)));
    }
    let (kind, compression) = FileKind::from_file_name(file_name)?;
    let suffix_len = kind.extension().len() + compression.map_or(0, |c| suffix_of(c).len());
    let stem = &file_name[..file_name.len() - suffix_len];
    Some((stem.to_string(), path.to_path_buf()))
}

fn suffix_of(codec: &str) -> &'static str {
    COMPRESSION_SUFFIXES
        .iter()
        .find(|(_, c)| *c == codec)
        .map_or("", |(suffix, _)| suffix)
}

fn with_trailing_slash(path: &Path) -> std::path::PathBuf {
    let mut s = path.to_string_lossy().into_owned();
    if !s.ends_with('/') {
        s.push('/');
    }
    s.into()
}

/// Opens a file, a directory (hive-partitioned or plain) or a glob as a table.
///
/// The format comes from the first data file found; partition columns come
/// from `key=value` directories and get the narrowest type all values fit.
pub async fn open_table(state: &SessionState, location: &str) -> Result<Arc<dyn TableProvider>> {
    let url = ListingTableUrl::parse(location)?;
    let (kind, compression) = detect_format(state, &url, location).await?;
    let options = listing_options(state, kind, compression)?;
    let partition_names = options.infer_partitions(state, &url).await?;
    let partition_cols =
        partitions::infer_partition_types(state, &url, &options, &partition_names).await?;
    let config = ListingTableConfig::new(url.clone())
        .with_listing_options(options.with_table_partition_cols(partition_cols))
        .infer_schema(state)
        .await;
    match config {
        Ok(config) => Ok(Arc::new(ListingTable::try_new(config)?)),
        Err(e) => Err(name_bad_file(state, &url, e).await),
    }
}

/// Reading Parquet footers to infer a schema fails without saying which file
/// failed; this finds it, so the error names the file instead of the table.
pub async fn name_bad_file(
    state: &dyn Session,
    url: &ListingTableUrl,
    error: DataFusionError,
) -> DataFusionError {
    if !matches!(error.find_root(), DataFusionError::ParquetError(_)) {
        return error;
    }
    let Ok(store) = state.runtime_env().object_store(url) else {
        return error;
    };
    let Ok(files) = url.list_all_files(state, store.as_ref(), ".parquet").await else {
        return error;
    };
    let files: Vec<_> = files.filter_map(|f| async { f.ok() }).collect().await;
    for file in files {
        let Ok(bytes) = store.get(&file.location).await else {
            continue;
        };
        let Ok(bytes) = bytes.bytes().await else {
            continue;
        };
        if let Some(problem) = diagnose::check_parquet(bytes) {
            let path = diagnose::display_path(url.object_store().as_str(), file.location.as_ref());
            return DataFusionError::Execution(format!("{path}{problem}"));
        }
    }
    error
}

/// The format of the first data file under `url`.
async fn detect_format(
    state: &SessionState,
    url: &ListingTableUrl,
    location: &str,
) -> Result<(FileKind, Option<&'static str>)> {
    let store = state.runtime_env().object_store(url)?;
    let mut files = url.list_all_files(state, store.as_ref(), "").await?;
    while let Some(file) = files.try_next().await? {
        if let Some(found) = file.location.filename().and_then(FileKind::from_file_name) {
            return Ok(found);
        }
    }
    let missing = url.scheme() == "file" && !Path::new(&format!("/{}", url.prefix())).exists();
    Err(DataFusionError::Plan(if missing {
        format!("{location}: no such file or directory")
    } else {
        format!("{location}: no .parquet, .csv or .tsv files found")
    }))
}

/// Listing options for one format, built by DataFusion's own format factories
/// so session settings (e.g. `datafusion.catalog.has_header`) apply.
fn listing_options(
    state: &SessionState,
    kind: FileKind,
    compression: Option<&str>,
) -> Result<ListingOptions> {
    let mut format_options = HashMap::new();
    let mut extension = kind.extension().to_string();
    if let Some(codec) = compression {
        format_options.insert("format.compression".to_string(), codec.to_string());
        extension.push_str(suffix_of(codec));
    }
    if kind == FileKind::Tsv {
        format_options.insert("format.delimiter".to_string(), "\t".to_string());
    }
    let factory_name = match kind {
        FileKind::Parquet => "parquet",
        FileKind::Csv | FileKind::Tsv => "csv",
    };
    let format = state
        .get_file_format_factory(factory_name)
        .ok_or_else(|| DataFusionError::Internal(format!("no {factory_name} format")))?
        .create(state, &format_options)?;
    Ok(ListingOptions::new(format).with_file_extension(extension))
}

/// Describes a listing table for `\d`: its location, format and partition columns.
pub struct TableInfo {
    pub location: String,
    pub format: String,
    pub partitions: Vec<String>,
}

/// What `\d` shows about a table; `None` for tables that are not over files.
pub fn describe(provider: &dyn TableProvider) -> Option<TableInfo> {
    let table = provider.downcast_ref::<ListingTable>()?;
    let options = table.options();
    let location = table
        .table_paths()
        .iter()
        .map(|p| p.as_str().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let format = options
        .format
        .get_ext()
        .trim_start_matches('.')
        .to_ascii_lowercase();
    let partitions = options
        .table_partition_cols
        .iter()
        .map(|(name, ty)| format!("{name} {ty}"))
        .collect();
    Some(TableInfo {
        location,
        format,
        partitions,
    })
}
