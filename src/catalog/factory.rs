//! Hooks that let DataFusion create tables the morsel way.
//!
//! `CREATE EXTERNAL TABLE` goes through [`MorselTableFactory`], which lets
//! DataFusion parse the statement's options and then retypes the partition
//! columns (and applies CSV null markers, see `null_marker`); a quoted path in `FROM` goes through [`MorselUrlTables`], which
//! opens it with [`super::open_table`] exactly like a data directory entry.

use std::sync::{Arc, OnceLock, Weak};

use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider, TableProviderFactory, UrlTableFactory};
use datafusion::datasource::listing_table_factory::ListingTableFactory;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::CreateExternalTable;
use parking_lot::RwLock;

use crate::storage::ObjectStores;

/// `CREATE EXTERNAL TABLE … STORED AS PARQUET|CSV` with typed hive partitions.
#[derive(Debug)]
pub struct MorselTableFactory {
    inner: ListingTableFactory,
    /// Where `OPTIONS ('s3.…' …)` go: DataFusion would reject them.
    stores: Arc<ObjectStores>,
}

impl MorselTableFactory {
    pub fn new(stores: Arc<ObjectStores>) -> Self {
        Self {
            inner: ListingTableFactory::default(),
            stores,
        }
    }
}

#[async_trait]
impl TableProviderFactory for MorselTableFactory {
    async fn create(
        &self,
        state: &dyn Session,
        cmd: &CreateExternalTable,
    ) -> Result<Arc<dyn TableProvider>> {
        let mut cmd = cmd.clone();
        let location = cmd.locations.first().cloned().unwrap_or_default();
        self.stores
            .take_table_options(&mut cmd.options, &location)
            .map_err(|e| DataFusionError::Plan(e.to_string()))?;
        let cmd = &cmd;
        if cmd.file_type.eq_ignore_ascii_case("csv")
            && let Some(regex) = cmd.options.get("format.null_regex")
        {
            return super::null_marker::read_with_null_marker(&self.inner, state, cmd, regex).await;
        }
        let Some(location) = cmd.locations.first() else {
            return self.inner.create(state, cmd).await;
        };
        let url = super::table_url(location)?;
        let table = super::with_bad_file_named(state, &url, self.inner.create(state, cmd)).await?;
        let table = super::retype_partitions(state, table).await?;
        super::with_footer_facts_if_listed(state, table).await
    }
}

/// Tables for paths written in `FROM 'dir/'` or `FROM 'logs/*.csv'`.
///
/// The factory needs the session to reach its object stores, but the session
/// owns the factory, so it holds the session weakly and is told about it once
/// the context exists.
#[derive(Debug, Default)]
pub struct MorselUrlTables {
    session: OnceLock<Weak<RwLock<SessionState>>>,
}

impl MorselUrlTables {
    pub fn attach(&self, session: Weak<RwLock<SessionState>>) {
        // A second attach would be a wiring bug; the first session stays.
        let _ = self.session.set(session);
    }
}

#[async_trait]
impl UrlTableFactory for MorselUrlTables {
    async fn try_new(&self, url: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if !looks_like_path(url) {
            return Ok(None);
        }
        let Some(state) = self
            .session
            .get()
            .and_then(Weak::upgrade)
            .map(|s| s.read().clone())
        else {
            return Ok(None);
        };
        super::open_table(&state, url).await.map(Some)
    }
}

/// A quoted name is taken for a path only when it could be one, so a typo in
/// a table name still reads as "table not found" rather than a file error.
fn looks_like_path(name: &str) -> bool {
    name.contains('/')
        || name.contains('*')
        || super::FileKind::from_file_name(name).is_some()
        || std::path::Path::new(name).exists()
}
