//! The catalog: turns files and directories into tables.
//!
//! Every way a table comes into being — a data directory given on the
//! command line, `CREATE EXTERNAL TABLE`, or a path queried directly — goes
//! through [`open_table`] or [`retype_partitions`], so all three agree on the
//! format detection, hive partition discovery and partition column types.

mod csv_format;
mod factory;
mod footers;
mod globs;
mod key_ranges;
mod null_marker;
mod partitions;
mod remote;

pub use csv_format::QuotedCsvFactory;
pub use factory::{MorselTableFactory, MorselUrlTables};
pub use partitions::retype_partitions;
pub use remote::{MorselTableCodec, sendable_plan};

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::catalog::Session;
use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::{ViewTable, source_as_provider};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::PageIndexPolicy;
use datafusion::prelude::SessionContext;
use futures::{FutureExt, StreamExt, TryStreamExt};

use crate::error::catch_panic;
use crate::storage::{self, display_path};

/// The file formats morsel reads, with how each is spelled in a file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Parquet,
    Csv,
    Tsv,
    /// `.json`: newline-delimited objects, or one array of them.
    Json,
    /// `.ndjson`: one object per line.
    NdJson,
    /// `.jsonl`: one object per line.
    JsonLines,
}

impl FileKind {
    const ALL: [Self; 6] = [
        Self::Parquet,
        Self::Csv,
        Self::Tsv,
        Self::Json,
        Self::NdJson,
        Self::JsonLines,
    ];

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
        let kind = Self::ALL
            .into_iter()
            .find(|kind| stem.ends_with(kind.extension()))?;
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
            Self::Json => ".json",
            Self::NdJson => ".ndjson",
            Self::JsonLines => ".jsonl",
        }
    }

    /// The name of DataFusion's format factory that reads this kind.
    fn factory(self) -> &'static str {
        match self {
            Self::Parquet => "parquet",
            Self::Csv | Self::Tsv => "csv",
            Self::Json | Self::NdJson | Self::JsonLines => "json",
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

/// Registers a table for each data file and each subdirectory directly under
/// `dir`, a local directory or an `s3://bucket/prefix/`.
///
/// A table that cannot be opened (no data files, a corrupt footer…) is skipped
/// and reported back, so one bad table does not hide the good ones.
pub async fn register_directory(ctx: &SessionContext, dir: &str) -> Result<Vec<Discovered>> {
    if dir.contains(['*', '?', '[']) {
        return Err(DataFusionError::Plan(format!(
            "{dir}: give a directory or a data file; query a glob in SQL: SELECT * FROM '{dir}'"
        )));
    }
    if let Some(name) = local_data_file(dir) {
        return register_file(ctx, dir, name).await;
    }
    let dir = with_trailing_slash(dir);
    let url = ListingTableUrl::parse(&dir)?;
    let state = ctx.state();
    let store = state.runtime_env().object_store(&url)?;
    let listing = match store.list_with_delimiter(Some(url.prefix())).await {
        Ok(listing) => listing,
        Err(object_store::Error::NotFound { .. }) => return Err(no_such_directory(&dir)),
        Err(e) => return Err(e.into()),
    };
    let root = url.object_store();
    let directories = listing
        .common_prefixes
        .iter()
        .filter_map(|prefix| Some((prefix.filename()?, format!("{root}{prefix}/"))));
    let files = listing.objects.iter().filter_map(|object| {
        Some((
            object.location.filename()?,
            format!("{root}{}", object.location),
        ))
    });
    let mut candidates: Vec<(String, String)> = directories
        .chain(files)
        .filter_map(|(name, location)| Some((table_name(name, location.ends_with('/'))?, location)))
        .collect();
    if candidates.is_empty() && listing.objects.is_empty() && !local_directory_exists(&url) {
        return Err(no_such_directory(&dir));
    }
    candidates.sort();

    let mut found = Vec::with_capacity(candidates.len());
    // Sorted by name, entries that would make one table are neighbours.
    for namesakes in candidates.chunk_by(|a, b| a.0 == b.0) {
        let name = namesakes[0].0.clone();
        if let [(_, location)] = namesakes {
            let table = open_table(&state, location).await;
            if let Ok(provider) = &table {
                ctx.register_table(name.as_str(), Arc::clone(provider))?;
            }
            found.push(Discovered { name, table });
        } else {
            let table = Err(ambiguous(&name, namesakes));
            found.push(Discovered { name, table });
        }
    }
    Ok(found)
}

/// Two entries of a directory (`x.csv` and `x.csv.gz`, `t.csv` and `t/`)
/// would be one table: neither is registered, and each is named with how
/// to query it.
fn ambiguous(name: &str, namesakes: &[(String, String)]) -> DataFusionError {
    let shown: Vec<String> = namesakes
        .iter()
        .map(|(_, l)| format!("'{}'", l.strip_prefix("file://").unwrap_or(l)))
        .collect();
    DataFusionError::Plan(format!(
        "{} would be one table {name}; query each by its path, e.g. SELECT * FROM {}",
        shown.join(" and "),
        shown[0]
    ))
}

/// The table name of `location` when it is a local data file.
fn local_data_file(location: &str) -> Option<String> {
    let path = Path::new(location);
    if !path.is_file() {
        return None;
    }
    table_name(path.file_name()?.to_str()?, false)
}

/// One data file given where a directory may go: a table of its own.
async fn register_file(ctx: &SessionContext, path: &str, name: String) -> Result<Vec<Discovered>> {
    let absolute = std::path::absolute(path).map_err(DataFusionError::IoError)?;
    let table = open_table(&ctx.state(), &absolute.to_string_lossy()).await;
    if let Ok(provider) = &table {
        ctx.register_table(name.as_str(), Arc::clone(provider))?;
    }
    Ok(vec![Discovered { name, table }])
}

/// The table name for a directory entry, or `None` when it holds no table.
fn table_name(file_name: &str, is_dir: bool) -> Option<String> {
    if file_name.starts_with('.') || file_name.starts_with('_') {
        return None;
    }
    if is_dir {
        return Some(file_name.to_string());
    }
    let (kind, compression) = FileKind::from_file_name(file_name)?;
    let suffix_len = kind.extension().len() + compression.map_or(0, |c| suffix_of(c).len());
    Some(file_name[..file_name.len() - suffix_len].to_string())
}

/// An empty local directory holds no tables; an S3 prefix without objects
/// does not exist.
fn local_directory_exists(url: &ListingTableUrl) -> bool {
    local_path(url).is_some_and(|path| path.is_dir())
}

/// The file-system path of a `file://` location.
fn local_path(url: &ListingTableUrl) -> Option<std::path::PathBuf> {
    (url.scheme() == "file").then(|| Path::new("/").join(url.prefix().as_ref()))
}

fn no_such_directory(dir: &str) -> DataFusionError {
    DataFusionError::Plan(if storage::is_remote(dir) {
        format!("{dir}: no objects under this prefix")
    } else {
        format!("{dir}: no such file or directory")
    })
}

fn suffix_of(codec: &str) -> &'static str {
    COMPRESSION_SUFFIXES
        .iter()
        .find(|(_, c)| *c == codec)
        .map_or("", |(suffix, _)| suffix)
}

fn with_trailing_slash(location: &str) -> String {
    if location.ends_with('/') {
        location.to_string()
    } else {
        format!("{location}/")
    }
}

/// Opens a file, a directory (hive-partitioned or plain) or a glob as a table.
///
/// The format comes from the first data file found; partition columns come
/// from `key=value` directories and get the narrowest type all values fit.
pub async fn open_table(state: &SessionState, location: &str) -> Result<Arc<dyn TableProvider>> {
    let url = table_url(location)?;
    let (table, partitions): (Arc<dyn TableProvider>, _) = if globs::is_one_level(&url) {
        let one_level = globs::one_level_state(state)?;
        let (table, partitions) = open_listing(&one_level, url, location).await?;
        (Arc::new(globs::OneLevelGlob(table)), partitions)
    } else {
        globs::refuse_crossing_matches(state, &url, location).await?;
        let (table, partitions) = open_listing(state, url, location).await?;
        (with_footer_facts(state, table).await?, partitions)
    };
    partitions::with_nulls_shown(table, &partitions)
}

/// `table` with what its Parquet footers tell the planner: its files' key
/// ranges declared where they prove them (`key_ranges`), and its size
/// (`footers`).
async fn with_footer_facts(
    state: &dyn Session,
    table: Arc<ListingTable>,
) -> Result<Arc<dyn TableProvider>> {
    let Some(footers) = footers::Footers::read(state, &table).await? else {
        return Ok(table);
    };
    let statistics = footers.statistics(&table.schema());
    let read: Arc<dyn TableProvider> = match key_ranges::KeyRanged::from_footers(&table, &footers) {
        Some(ranged) => Arc::new(ranged),
        None => table,
    };
    Ok(Arc::new(footers::Counted::new(read, statistics)))
}

/// A table `CREATE EXTERNAL TABLE` made, with its footer facts when it is
/// a listing table.
async fn with_footer_facts_if_listed(
    state: &dyn Session,
    table: Arc<dyn TableProvider>,
) -> Result<Arc<dyn TableProvider>> {
    match as_listing(&table) {
        Some(listing) => with_footer_facts(state, listing).await,
        None => Ok(table),
    }
}

/// `table` as the listing table it is, shared; `None` for another kind.
fn as_listing(table: &Arc<dyn TableProvider>) -> Option<Arc<ListingTable>> {
    let any: Arc<dyn std::any::Any + Send + Sync> = table.clone();
    any.downcast::<ListingTable>().ok()
}

/// A listing table over `url` and the partition columns it reads.
async fn open_listing(
    state: &SessionState,
    url: ListingTableUrl,
    location: &str,
) -> Result<(Arc<ListingTable>, Vec<partitions::PartitionColumn>)> {
    let format = detect_format(state, &url, location).await?;
    let options = listing_options(state, &format)?;
    let partitions = partitions::partition_columns(state, &url, &options).await?;
    let listed = partitions
        .iter()
        .map(partitions::PartitionColumn::listed)
        .collect();
    let config = ListingTableConfig::new(url.clone())
        .with_listing_options(options.with_table_partition_cols(listed))
        .infer_schema(state);
    let config = with_bad_file_named(state, &url, config).await?;
    Ok((Arc::new(ListingTable::try_new(config)?), partitions))
}

/// Opens a table whose files' footers are read on the way, and names the
/// file when the Parquet reader fails on one, or panics on one. A panic no
/// file explains is a bug, and goes on as one.
pub async fn with_bad_file_named<T>(
    state: &dyn Session,
    url: &ListingTableUrl,
    open: impl Future<Output = Result<T>>,
) -> Result<T> {
    let payload = match AssertUnwindSafe(open).catch_unwind().await {
        Ok(Ok(opened)) => return Ok(opened),
        Ok(Err(e)) => return Err(name_bad_file(state, url, e).await),
        Err(payload) => payload,
    };
    let reader_failed = DataFusionError::ParquetError(Box::new(ParquetError::General(
        crate::error::panic_message(&*payload),
    )));
    match name_bad_file(state, url, reader_failed).await {
        named @ DataFusionError::Execution(_) => {
            // Explained: the file's fault, not a bug.
            let _ = crate::error::take_panic();
            Err(named)
        }
        _ => std::panic::resume_unwind(payload),
    }
}

/// A table location as DataFusion wants it. DataFusion expands globs only
/// in local paths; morsel splits `s3://b/logs/*/app.csv` the same way, into
/// the prefix to list and a pattern for the rest.
pub fn table_url(location: &str) -> Result<ListingTableUrl> {
    let glob_at = location.find(['*', '?', '[']);
    match glob_at {
        Some(at) if storage::is_remote(location) => {
            let base_end = location[..at].rfind('/').map_or(0, |i| i + 1);
            let (base, pattern) = location.split_at(base_end);
            let url = url::Url::parse(base).map_err(|e| DataFusionError::External(Box::new(e)))?;
            let pattern =
                glob::Pattern::new(pattern).map_err(|e| DataFusionError::External(Box::new(e)))?;
            ListingTableUrl::try_new(url, Some(pattern))
        }
        _ => ListingTableUrl::parse(location),
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
        if let Some(problem) = check_parquet(bytes) {
            let path = display_path(url.object_store().as_str(), file.location.as_ref());
            return DataFusionError::Execution(format!("{path}{problem}"));
        }
    }
    error
}

/// `": problem"` when `bytes` is not a readable Parquet file. The Parquet
/// reader panics on some corrupt files (a footer length past the file's
/// start, a negative column offset): that is a problem of the file too.
pub fn check_parquet(bytes: bytes::Bytes) -> Option<String> {
    let check = || {
        // With the page index, which scans read and a corrupt file can
        // place anywhere.
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let built = ParquetRecordBatchReaderBuilder::try_new_with_options(bytes, options)
            .and_then(|builder| builder.build());
        let reader = match built {
            Ok(reader) => reader,
            Err(e) => return Some(format!(": not a valid Parquet file: {e}")),
        };
        reader
            .into_iter()
            .find_map(|batch| batch.err())
            .map(|e| format!(": corrupt Parquet data: {e}"))
    };
    catch_panic(check).unwrap_or_else(|panic| {
        Some(format!(
            ": not a valid Parquet file (the Parquet reader failed: {panic})"
        ))
    })
}

/// The one format of the data files under `url`, with their compression
/// and, for `.json`, whether the first file is one array of objects.
///
/// A table reads files of one format and compression: where `url` holds
/// others too (`a.parquet` and `b.csv`, `x.csv` and `y.csv.gz`), they would
/// be left out without a word, so that is an error naming one of each. So
/// is a 0-byte `.parquet`, which DataFusion reads as a table of no columns.
async fn detect_format(
    state: &SessionState,
    url: &ListingTableUrl,
    location: &str,
) -> Result<DataFormat> {
    let store = state.runtime_env().object_store(url)?;
    let mut files = url.list_all_files(state, store.as_ref(), "").await?;
    let root = url.object_store();
    let shown = |file: &ObjectMeta| display_path(root.as_str(), file.location.as_ref());
    let mut seen = 0;
    let mut first: Option<((FileKind, Option<&'static str>), ObjectMeta)> = None;
    while let Some(file) = files.try_next().await? {
        seen += 1;
        let Some(format) = file.location.filename().and_then(FileKind::from_file_name) else {
            continue;
        };
        if format.0 == FileKind::Parquet && file.size == 0 {
            return Err(DataFusionError::Plan(format!(
                "{}: an empty file (0 bytes), not Parquet; remove it or write it again",
                shown(&file)
            )));
        }
        match &first {
            None => first = Some((format, file)),
            Some((kind, one)) if *kind != format => {
                return Err(DataFusionError::Plan(format!(
                    "{location}: a table reads one kind of file, and this holds {} and {}; \
                     query each kind with a glob, e.g. SELECT * FROM '{}'",
                    shown(one),
                    shown(&file),
                    glob_of(location, one)
                )));
            }
            Some(_) => {}
        }
    }
    if let Some(((kind, compression), file)) = first {
        let json_array = kind == FileKind::Json && starts_with_array(store.as_ref(), &file).await?;
        return Ok(DataFormat {
            kind,
            compression,
            json_array,
        });
    }
    let missing = match local_path(url) {
        Some(path) => !path.exists(),
        None => seen == 0,
    };
    Err(DataFusionError::Plan(match (missing, url.scheme()) {
        (true, "file") => format!("{location}: no such file or directory"),
        (true, _) => format!("{location}: no objects at this location"),
        (false, _) => {
            format!("{location}: no .parquet, .csv, .tsv, .json, .ndjson or .jsonl files found")
        }
    }))
}

/// How the files of a table are written.
struct DataFormat {
    kind: FileKind,
    compression: Option<&'static str>,
    /// A `.json` file holding one array of objects rather than a line each.
    json_array: bool,
}

/// A glob under a directory `location` for the files named like `file`.
fn glob_of(location: &str, file: &ObjectMeta) -> String {
    let name = file
        .location
        .filename()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let suffix = FileKind::ALL
        .into_iter()
        .map(FileKind::extension)
        .filter_map(|ext| name.find(ext).map(|at| &name[at..]))
        .next()
        .unwrap_or_default();
    format!("{}**/*{suffix}", with_trailing_slash(location))
}

/// Whether an uncompressed `.json` file begins, after white space, with `[`.
async fn starts_with_array(store: &dyn ObjectStore, file: &ObjectMeta) -> Result<bool> {
    let head = store
        .get_range(&file.location, 0..file.size.min(4096))
        .await?;
    Ok(head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'['))
}

/// Listing options for one format, built by DataFusion's own format factories
/// so session settings (e.g. `datafusion.catalog.has_header`) apply.
fn listing_options(state: &SessionState, format: &DataFormat) -> Result<ListingOptions> {
    let mut format_options = HashMap::new();
    let mut extension = format.kind.extension().to_string();
    if let Some(codec) = format.compression {
        format_options.insert("format.compression".to_string(), codec.to_string());
        extension.push_str(suffix_of(codec));
    }
    if format.kind == FileKind::Tsv {
        format_options.insert("format.delimiter".to_string(), "\t".to_string());
    }
    if format.json_array {
        format_options.insert("format.newline_delimited".to_string(), "false".to_string());
    }
    let factory_name = format.kind.factory();
    let factory = state
        .get_file_format_factory(factory_name)
        .ok_or_else(|| DataFusionError::Internal(format!("no {factory_name} format")))?;
    Ok(ListingOptions::new(factory.create(state, &format_options)?).with_file_extension(extension))
}

/// Describes a listing table for `\d`: its location, format and partition columns.
pub struct TableInfo {
    pub location: String,
    pub format: String,
    pub partitions: Vec<String>,
}

/// What `\d` shows about a table; `None` for tables that are not over files.
pub fn table_info(provider: &dyn TableProvider) -> Option<TableInfo> {
    match provider.downcast_ref::<ViewTable>() {
        // morsel's views (CSV null markers, NULL partitions) read one table
        // and show its partition columns with their own types.
        Some(view) => listing_info(scanned_table(view.logical_plan())?.as_ref(), &view.schema()),
        None => listing_info(provider, &provider.schema()),
    }
}

/// The one table a view's plan scans.
fn scanned_table(plan: &LogicalPlan) -> Option<Arc<dyn TableProvider>> {
    let mut sources = Vec::new();
    plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            sources.push(Arc::clone(&scan.source));
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .ok()?;
    match sources.as_slice() {
        [source] => source_as_provider(source).ok(),
        _ => None,
    }
}

/// `\d` of a listing table, its partition columns typed as `schema` says.
fn listing_info(provider: &dyn TableProvider, schema: &Schema) -> Option<TableInfo> {
    if let Some(counted) = provider.downcast_ref::<footers::Counted>() {
        return listing_info(counted.table(), schema);
    }
    let table = if let Some(glob) = provider.downcast_ref::<globs::OneLevelGlob>() {
        glob.0.as_ref()
    } else if let Some(ranged) = provider.downcast_ref::<key_ranges::KeyRanged>() {
        ranged.plain().as_ref()
    } else {
        provider.downcast_ref::<ListingTable>()?
    };
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
        .map(|(name, listed)| {
            let ty = schema
                .field_with_name(name)
                .map_or(listed, |f| f.data_type());
            format!("{name} {ty}")
        })
        .collect();
    Some(TableInfo {
        location,
        format,
        partitions,
    })
}
