//! How morsel's tables travel to a cluster's scheduler, which plans their
//! scans: as the listing tables they are, in DataFusion's own encoding.
//!
//! A table morsel opens is a listing table in wrappers that Ballista's
//! encoding does not know: its footers' statistics and key ranges (facts
//! the client has already planned with; the scheduler lists the files
//! again), and a glob whose `*` stays within one directory level, which
//! the scheduler must keep, or `'d/*.csv'` would read `d/sub/` too. A CSV
//! table reads its rows with DataFusion's CSV format, which is what is
//! sent; only schema inference, done on the client, differs.

use std::sync::Arc;

use ballista_core::serde::BallistaLogicalExtensionCodec;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::common::tree_node::Transformed;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::datasource::listing::{ListingTable, ListingTableConfig};
use datafusion::datasource::{provider_as_source, source_as_provider};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan, LogicalPlanBuilder};
use datafusion_proto::bytes::{
    logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
};
use datafusion_proto::logical_plan::LogicalExtensionCodec;

use super::as_listing;
use super::csv_format::QuotedCsvFormat;
use super::footers::Counted;
use super::globs::OneLevelGlob;
use super::key_ranges::KeyRanged;

/// Ballista's codec, which also encodes morsel's tables.
#[derive(Debug, Default)]
pub struct MorselTableCodec {
    ballista: BallistaLogicalExtensionCodec,
}

/// The first byte of an encoded table: how to wrap the listing table that
/// follows (one kind so far).
const ONE_LEVEL_GLOB: u8 = 1;

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
        let Some((&wrapper, scan)) = buf.split_first() else {
            return self
                .ballista
                .try_decode_table_provider(buf, table_ref, schema, ctx);
        };
        let LogicalPlan::TableScan(scan) =
            logical_plan_from_bytes_with_extension_codec(scan, ctx, self)?
        else {
            return Err(DataFusionError::Internal(format!(
                "table {table_ref} did not arrive as a scan"
            )));
        };
        let listing = as_listing(&source_as_provider(&scan.source)?).ok_or_else(|| {
            DataFusionError::Internal(format!("table {table_ref} did not arrive as a listing"))
        })?;
        Ok(match wrapper {
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
        let Some(glob) = node.downcast_ref::<OneLevelGlob>() else {
            return self
                .ballista
                .try_encode_table_provider(table_ref, node, buf);
        };
        let listing = Arc::clone(&glob.0) as Arc<dyn TableProvider>;
        let scan = LogicalPlanBuilder::scan(table_ref.clone(), provider_as_source(listing), None)?
            .build()?;
        buf.push(ONE_LEVEL_GLOB);
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
        self.ballista.try_encode_file_format(buf, node)
    }
}

/// `plan` with each of morsel's tables as it can travel: the listing table
/// inside, in DataFusion's encoding but for a one-level glob, which
/// [`MorselTableCodec`] encodes.
pub fn sendable_plan(plan: LogicalPlan) -> Result<LogicalPlan> {
    plan.transform_up_with_subqueries(|node| {
        let LogicalPlan::TableScan(mut scan) = node else {
            return Ok(Transformed::no(node));
        };
        let table = source_as_provider(&scan.source)?;
        let Some(sendable) = sendable_table(&table)? else {
            return Ok(Transformed::no(LogicalPlan::TableScan(scan)));
        };
        scan.source = provider_as_source(sendable);
        Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
    })
    .map(|transformed| transformed.data)
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
    match as_listing(table) {
        Some(listing) if listing.options().format.is::<QuotedCsvFormat>() => {
            Ok(Some(sendable(&listing)?))
        }
        _ => Ok(None),
    }
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
        .with_listing_options(options)
        .with_schema(file_schema(listing));
    Ok(Arc::new(ListingTable::try_new(config)?))
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
