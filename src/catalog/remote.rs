//! How morsel's tables travel to a cluster's scheduler, which plans their
//! scans: as the listing tables they are, in DataFusion's own encoding,
//! with what that encoding drops added by [`MorselTableCodec`].
//!
//! A table morsel opens is a listing table in wrappers that Ballista's
//! encoding does not know: its footers' statistics and key ranges (facts
//! the client has already planned with; the scheduler lists the files
//! again), and a glob whose `*` stays within one directory level, which
//! the scheduler must keep, or `'d/*.csv'` would read `d/sub/` too. A CSV
//! table reads its rows with DataFusion's CSV format, which is what is
//! sent; only schema inference, done on the client, differs.
//!
//! DataFusion's encoding of a listing table keeps each path's directory and
//! drops its glob: `'logs/2024-01-0[12]/*.csv'` arrived as all of `logs/`
//! and answered 30 rows for 20, with exit 0. So every table with a glob
//! travels in the codec, its globs beside it. A table in memory
//! (`CREATE TABLE … AS`) travels with its rows.

use std::sync::Arc;

use async_trait::async_trait;
use ballista_core::serde::BallistaLogicalExtensionCodec;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemTable, Session, TableProvider};
use datafusion::common::TableReference;
use datafusion::common::tree_node::Transformed;
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::{provider_as_source, source_as_provider};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, Extension, LogicalPlan, LogicalPlanBuilder};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::bytes::{
    logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
};
use datafusion_proto::logical_plan::LogicalExtensionCodec;

use super::as_listing;
use super::csv_format::{QuotedCsvFactory, QuotedCsvFormat};
use super::footers::Counted;
use super::globs::OneLevelGlob;
use super::key_ranges::KeyRanged;

/// Ballista's codec, which also encodes morsel's tables.
#[derive(Debug, Default)]
pub struct MorselTableCodec {
    ballista: BallistaLogicalExtensionCodec,
}

/// The first byte of an encoded table: what follows, and for a listing
/// table, how to wrap it.
const LISTING: u8 = 0;
const ONE_LEVEL_GLOB: u8 = 1;
const IN_MEMORY: u8 = 2;

impl LogicalExtensionCodec for MorselTableCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        let Some((&kind, rest)) = buf.split_first() else {
            return self
                .ballista
                .try_decode_table_provider(buf, table_ref, schema, ctx);
        };
        let mut bytes = Bytes(rest);
        if kind == IN_MEMORY {
            return Ok(Arc::new(decode_rows(schema, &mut bytes)?));
        }
        let globs = (0..bytes.u32()?)
            .map(|_| bytes.text())
            .collect::<Result<Vec<_>>>()?;
        let LogicalPlan::TableScan(scan) =
            logical_plan_from_bytes_with_extension_codec(bytes.0, ctx, self)?
        else {
            return Err(DataFusionError::Internal(format!(
                "table {table_ref} did not arrive as a scan"
            )));
        };
        let listing = as_listing(&source_as_provider(&scan.source)?).ok_or_else(|| {
            DataFusionError::Internal(format!("table {table_ref} did not arrive as a listing"))
        })?;
        let listing = with_globs(&listing, &globs)?;
        Ok(match kind {
            ONE_LEVEL_GLOB => Arc::new(OneLevelGlob(listing)),
            _ => listing,
        })
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let (kind, listing) = if let Some(glob) = node.downcast_ref::<OneLevelGlob>() {
            (ONE_LEVEL_GLOB, &glob.0)
        } else if let Some(globbed) = node.downcast_ref::<Globbed>() {
            (LISTING, &globbed.0)
        } else if let Some(memory) = node.downcast_ref::<MemTable>() {
            buf.push(IN_MEMORY);
            return encode_rows(table_ref, memory, buf);
        } else {
            return self
                .ballista
                .try_encode_table_provider(table_ref, node, buf);
        };
        buf.push(kind);
        let paths = listing.table_paths();
        put_u32(buf, paths.len())?;
        for path in paths {
            let glob = path.get_glob().as_ref().map_or("", |glob| glob.as_str());
            put_u32(buf, glob.len())?;
            buf.extend_from_slice(glob.as_bytes());
        }
        let table = Arc::clone(listing) as Arc<dyn TableProvider>;
        let scan = LogicalPlanBuilder::scan(table_ref.clone(), provider_as_source(table), None)?
            .build()?;
        buf.extend_from_slice(&logical_plan_to_bytes_with_extension_codec(&scan, self)?);
        Ok(())
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        // Ballista's codec would take morsel's CSV factory for an Arrow
        // one, which encodes whatever it is given: `COPY … STORED AS CSV`
        // arrived as an Arrow write.
        let node = match node.downcast_ref::<QuotedCsvFactory>() {
            Some(quoted) => quoted.csv(),
            None => node,
        };
        self.ballista.try_encode_file_format(buf, node)
    }
}

/// `plan` with each of morsel's tables as it can travel ([`sendable_table`]):
/// files, and tables in memory with their rows. `None` for a plan with a
/// table that cannot travel (a table function such as `generate_series`)
/// and no files: its rows are all made on the client, which runs it. A
/// plan with both is refused, naming the table.
pub fn sendable_plan(plan: LogicalPlan) -> Result<Option<LogicalPlan>> {
    let mut reads_files = false;
    let mut stays = None;
    let sendable = plan
        .transform_up_with_subqueries(|node| {
            let LogicalPlan::TableScan(mut scan) = node else {
                return Ok(Transformed::no(node));
            };
            let table = source_as_provider(&scan.source)?;
            let sent = sendable_table(&table)?.unwrap_or(table);
            if is_files(&sent) {
                reads_files = true;
            } else if !sent.is::<MemTable>() {
                stays.get_or_insert_with(|| scan.table_name.to_string());
            }
            scan.source = provider_as_source(sent);
            Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
        })?
        .data;
    match (stays, reads_files) {
        (None, _) => Ok(Some(sendable)),
        (Some(_), false) => Ok(None),
        (Some(table), true) => Err(DataFusionError::Plan(format!(
            "{table} cannot be sent to the cluster with the files this query reads: \
             its rows are made on the client; CREATE TABLE … AS SELECT … FROM it first"
        ))),
    }
}

/// Whether `table`, as it travels, is read from files.
fn is_files(table: &Arc<dyn TableProvider>) -> bool {
    table.is::<ListingTable>() || table.is::<OneLevelGlob>() || table.is::<Globbed>()
}

/// What travels in place of `table`, if it is one of morsel's; `None` for
/// a table DataFusion encodes as it is.
fn sendable_table(table: &Arc<dyn TableProvider>) -> Result<Option<Arc<dyn TableProvider>>> {
    if let Some(counted) = table.downcast_ref::<Counted>() {
        let inner = counted.shared_table();
        return Ok(Some(sendable_table(&inner)?.unwrap_or(inner)));
    }
    if let Some(ranged) = table.downcast_ref::<KeyRanged>() {
        return Ok(Some(sendable(ranged.plain())?));
    }
    if let Some(glob) = table.downcast_ref::<OneLevelGlob>() {
        return Ok(Some(Arc::new(OneLevelGlob(sendable(&glob.0)?))));
    }
    let Some(listing) = as_listing(table) else {
        return Ok(None);
    };
    let has_glob = listing
        .table_paths()
        .iter()
        .any(|path| path.get_glob().is_some());
    if has_glob {
        return Ok(Some(Arc::new(Globbed(sendable(&listing)?))));
    }
    if listing.options().format.is::<QuotedCsvFormat>() {
        return Ok(Some(sendable(&listing)?));
    }
    Ok(None)
}

/// `listing` as DataFusion can encode it: a CSV table with DataFusion's
/// own CSV format in place of morsel's.
fn sendable(listing: &Arc<ListingTable>) -> Result<Arc<ListingTable>> {
    let Some(quoted) = listing.options().format.downcast_ref::<QuotedCsvFormat>() else {
        return Ok(Arc::clone(listing));
    };
    let mut options = listing.options().clone();
    options.format = quoted.csv();
    let config = ListingTableConfig::new_with_multi_paths(listing.table_paths().clone())
        .with_listing_options(options);
    rebuilt(listing, config)
}

/// `listing` over its paths with `globs` (one per path, empty for none)
/// put back.
fn with_globs(listing: &Arc<ListingTable>, globs: &[String]) -> Result<Arc<ListingTable>> {
    let paths = listing
        .table_paths()
        .iter()
        .zip(globs)
        .map(|(path, glob)| match glob.as_str() {
            "" => Ok(path.clone()),
            glob => ListingTableUrl::try_new(path.get_url().clone(), None)?.with_glob(glob),
        })
        .collect::<Result<Vec<_>>>()?;
    let config = ListingTableConfig::new_with_multi_paths(paths)
        .with_listing_options(listing.options().clone());
    rebuilt(listing, config)
}

/// A listing table like `listing` (its file columns) as `config` says.
fn rebuilt(listing: &ListingTable, config: ListingTableConfig) -> Result<Arc<ListingTable>> {
    Ok(Arc::new(ListingTable::try_new(
        config.with_schema(file_schema(listing)),
    )?))
}

/// The columns `listing` reads from its files: all but the partition
/// columns, which its paths give.
fn file_schema(listing: &ListingTable) -> SchemaRef {
    let partitions = &listing.options().table_partition_cols;
    let fields: Vec<_> = listing
        .schema()
        .fields()
        .iter()
        .filter(|f| !partitions.iter().any(|(name, _)| name == f.name()))
        .cloned()
        .collect();
    Arc::new(datafusion::arrow::datatypes::Schema::new(fields))
}

/// A listing table whose paths hold globs, as it travels: it is encoded
/// by [`MorselTableCodec`], which DataFusion asks only for tables it does
/// not know. It scans as the listing table it holds.
#[derive(Debug)]
struct Globbed(Arc<ListingTable>);

#[async_trait]
impl TableProvider for Globbed {
    fn schema(&self) -> SchemaRef {
        self.0.schema()
    }

    fn table_type(&self) -> TableType {
        self.0.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.0.scan(state, projection, filters, limit).await
    }
}

/// The rows of `memory`, partition by partition, each an Arrow IPC stream
/// after its length.
fn encode_rows(table_ref: &TableReference, memory: &MemTable, buf: &mut Vec<u8>) -> Result<()> {
    put_u32(buf, memory.batches.len())?;
    for partition in &memory.batches {
        let batches = partition.try_read().map_err(|_| {
            DataFusionError::Execution(format!(
                "table {table_ref} is being written; run the query again when it is done"
            ))
        })?;
        let mut stream = Vec::new();
        let mut writer = StreamWriter::try_new(&mut stream, &memory.schema())?;
        for batch in batches.iter() {
            writer.write(batch)?;
        }
        writer.finish()?;
        drop(writer);
        buf.extend_from_slice(&(stream.len() as u64).to_le_bytes());
        buf.extend_from_slice(&stream);
    }
    Ok(())
}

/// A table in memory of the rows [`encode_rows`] wrote.
fn decode_rows(schema: SchemaRef, bytes: &mut Bytes) -> Result<MemTable> {
    let partitions = (0..bytes.u32()?)
        .map(|_| {
            let length = bytes.u64()?;
            let stream = bytes.take(length)?;
            StreamReader::try_new(stream, None)?
                .collect::<std::result::Result<Vec<RecordBatch>, _>>()
                .map_err(DataFusionError::from)
        })
        .collect::<Result<Vec<_>>>()?;
    MemTable::try_new(schema, partitions)
}

fn put_u32(buf: &mut Vec<u8>, n: usize) -> Result<()> {
    let n = u32::try_from(n)
        .map_err(|_| DataFusionError::Execution(format!("{n} is too many to send")))?;
    buf.extend_from_slice(&n.to_le_bytes());
    Ok(())
}

/// What is left to read of an encoded table.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > self.0.len() {
            return Err(DataFusionError::Internal(
                "an encoded table ended early".into(),
            ));
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn u32(&mut self) -> Result<u32> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    fn u64(&mut self) -> Result<u64> {
        let bytes = self.take(8)?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    fn text(&mut self) -> Result<String> {
        let n = self.u32()?;
        String::from_utf8(self.take(u64::from(n))?.to_vec())
            .map_err(|e| DataFusionError::Internal(format!("an encoded glob: {e}")))
    }
}
