//! Globs in a table's path, with `*` kept within one directory level.
//!
//! morsel has DataFusion read a directory recursively
//! (`listing_table_ignore_subdirectory` off), so a directory is a table of
//! everything below it. With that setting DataFusion matches a glob against
//! a file's whole path below the glob's directory, and its `*` crosses `/`:
//! `gl/*.csv` would also read `gl/sub/y.csv`, where DuckDB and a shell read
//! `gl/x.csv` alone. With the setting on, DataFusion matches the glob
//! against the first level below, which is exactly right for a pattern of
//! one level (`dir/*.csv`; hive `key=value` levels still belong to the
//! table). [`OneLevelGlob`] is a listing table that is listed that way. A
//! pattern over several levels (`logs/*/app.csv`) keeps DataFusion's
//! matching, and [`refuse_crossing_matches`] refuses it where that would
//! take a file that only a `*` crossing a `/` reaches.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::common::{Constraints, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::{ListingTable, ListingTableUrl};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use futures::TryStreamExt;

use crate::storage::display_path;

/// Whether `url` is a glob of one directory level, one [`OneLevelGlob`] reads.
pub fn is_one_level(url: &ListingTableUrl) -> bool {
    url.get_glob()
        .as_ref()
        .is_some_and(|glob| !glob.as_str().contains('/'))
}

/// `state` listing tables one level deep, as a glob of one level needs.
pub fn one_level_state(state: &dyn Session) -> Result<SessionState> {
    let mut state = state
        .as_any()
        .downcast_ref::<SessionState>()
        .ok_or_else(|| DataFusionError::Internal("a session that is not DataFusion's".into()))?
        .clone();
    state
        .config_mut()
        .options_mut()
        .execution
        .listing_table_ignore_subdirectory = true;
    Ok(state)
}

/// A table over a one-level glob: a listing table whose files are listed
/// with `*` within that level.
#[derive(Debug)]
pub struct OneLevelGlob(pub Arc<ListingTable>);

#[async_trait]
impl TableProvider for OneLevelGlob {
    fn schema(&self) -> SchemaRef {
        self.0.schema()
    }

    fn constraints(&self) -> Option<&Constraints> {
        self.0.constraints()
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
        self.0
            .scan(&one_level_state(state)?, projection, filters, limit)
            .await
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> Result<ScanResult> {
        self.0.scan_with_args(&one_level_state(state)?, args).await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.0.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<Statistics> {
        self.0.statistics()
    }

    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.0
            .insert_into(&one_level_state(state)?, input, insert_op)
            .await
    }
}

/// An error naming a file that `url`'s glob of several levels matches only
/// because a `*` (or `?`, or a class) crosses a `/`.
pub async fn refuse_crossing_matches(
    state: &dyn Session,
    url: &ListingTableUrl,
    location: &str,
) -> Result<()> {
    let Some(glob) = url.get_glob() else {
        return Ok(());
    };
    let store = state.runtime_env().object_store(url)?;
    let files: Vec<_> = url
        .list_all_files(state, store.as_ref(), "")
        .await?
        .try_collect()
        .await?;
    let within_levels = glob::MatchOptions {
        require_literal_separator: true,
        ..glob::MatchOptions::new()
    };
    for file in files {
        let Some(segments) = url.strip_prefix(&file.location) else {
            continue;
        };
        // As DataFusion matches: without the `key=value` levels.
        let path = segments
            .filter(|s| !s.contains('='))
            .collect::<Vec<_>>()
            .join("/");
        if !glob.matches_with(&path, within_levels) {
            return Err(DataFusionError::Plan(format!(
                "{location}: a `*` would have to cross a `/` to match {}; \
                 spell out each level, or use ** for any number of them",
                display_path(url.object_store().as_str(), file.location.as_ref())
            )));
        }
    }
    Ok(())
}
