//! Storage: where the bytes of a table live, local disk or an S3 bucket.
//!
//! DataFusion asks an [`ObjectStoreRegistry`] for a store by URL. morsel's
//! [`ObjectStores`] answers `file://` with the local file system and
//! `s3://bucket` with an S3 client it builds on first use from the layered
//! [`S3Settings`], so a bucket works without any prior registration, and a
//! settings change (`SET s3.…`) takes effect at the next query. Every store is
//! wrapped to count requests and bytes ([`counting`]).

mod counting;
mod errors;
mod profile;
mod s3;
pub mod settings;
mod travel;

pub use counting::{IoCounts, IoStats, human_bytes};
pub use errors::{remote_error_message, store_error_message};
pub use settings::{S3Key, S3Settings};
pub use travel::{NodeStores, SessionS3Layers};

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreRegistry;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use parking_lot::RwLock;
use url::Url;

use counting::Counted;

/// Every object store of a session, and the S3 settings they are built from.
#[derive(Debug)]
pub struct ObjectStores {
    local: Arc<dyn ObjectStore>,
    /// S3 clients by bucket, built on first use and dropped when a setting
    /// that applies to the bucket changes.
    buckets: RwLock<HashMap<String, Arc<dyn ObjectStore>>>,
    /// Stores registered by URL through the DataFusion API.
    registered: RwLock<HashMap<String, Arc<dyn ObjectStore>>>,
    session: RwLock<S3Settings>,
    scoped: RwLock<HashMap<String, S3Settings>>,
    /// `--profile`: a profile chosen on the command line.
    profile: Option<String>,
    stats: Arc<IoStats>,
}

impl ObjectStores {
    pub fn new(profile: Option<String>) -> Self {
        let stats = Arc::new(IoStats::default());
        let local = Counted::new(Arc::new(LocalFileSystem::new()), Arc::clone(&stats), true);
        Self {
            local: Arc::new(local),
            buckets: RwLock::default(),
            registered: RwLock::default(),
            session: RwLock::default(),
            scoped: RwLock::default(),
            profile,
            stats,
        }
    }

    /// The stores of a cluster's process for a query whose session set
    /// `layers`: no profile chosen on its command line, the rest as the
    /// client's.
    fn with_layers(layers: &SessionS3Layers) -> Self {
        let stores = Self::new(None);
        let (session, scoped) = layers.split();
        *stores.session.write() = session;
        *stores.scoped.write() = scoped;
        stores
    }

    /// The session's own S3 layers, to send with a query to a cluster.
    pub fn layers(&self) -> SessionS3Layers {
        SessionS3Layers::new(&self.session.read(), self.scoped.read().iter())
    }

    pub fn stats(&self) -> IoCounts {
        self.stats.snapshot()
    }

    /// `SET s3.KEY = VALUE` for the whole session.
    pub fn set(&self, key: S3Key, value: &str) -> crate::error::Result<()> {
        self.session.write().set(key, value)?;
        self.buckets.write().clear();
        Ok(())
    }

    /// Replaces the session's settings with `layer` laid over them.
    pub fn apply(&self, layer: &S3Settings) {
        let mut session = self.session.write();
        *session = session.overlay(layer);
        self.buckets.write().clear();
    }

    /// Settings for one bucket only (`CREATE SECRET … SCOPE`, table options).
    pub fn apply_to_bucket(&self, bucket: &str, layer: &S3Settings) {
        let mut scoped = self.scoped.write();
        let current = scoped.remove(bucket).unwrap_or_default();
        scoped.insert(bucket.to_string(), current.overlay(layer));
        self.buckets.write().remove(bucket);
    }

    /// Takes the `s3.*` options out of a `CREATE EXTERNAL TABLE`'s OPTIONS
    /// and applies them to the table's bucket; the rest are for DataFusion.
    pub fn take_table_options(
        &self,
        options: &mut HashMap<String, String>,
        location: &str,
    ) -> crate::error::Result<()> {
        let mut layer = S3Settings::default();
        let names: Vec<String> = options.keys().cloned().collect();
        for name in names {
            if let Some(key) = S3Key::lookup(&name)? {
                let value = options.remove(&name).unwrap_or_default();
                layer.set(key, &value)?;
            }
        }
        if layer.is_empty() {
            return Ok(());
        }
        let bucket = s3_bucket(location).ok_or_else(|| {
            crate::error::Error::query(format!(
                "s3.* options apply to s3:// locations, not '{location}'"
            ))
        })?;
        self.apply_to_bucket(bucket, &layer);
        Ok(())
    }

    /// `SHOW s3.KEY`: the value the session would use, secrets masked.
    pub fn show(&self, key: S3Key) -> crate::error::Result<String> {
        Ok(self.resolve(None)?.shown(key))
    }

    /// The settings for `bucket` (or for any bucket), all layers merged.
    fn resolve(&self, bucket: Option<&str>) -> crate::error::Result<S3Settings> {
        let session = self.session.read().clone();
        let scoped = bucket
            .and_then(|b| self.scoped.read().get(b).cloned())
            .unwrap_or_default();
        let chosen = scoped
            .get(S3Key::Profile)
            .or(session.get(S3Key::Profile))
            .map(str::to_string)
            .or_else(|| self.profile.clone());
        let env = settings::from_env();
        let profile_name = chosen
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok())
            .unwrap_or_else(|| "default".to_string());
        let profile = match profile::load(&profile_name)? {
            Some(profile) => profile,
            None if chosen.is_some() || profile_name != "default" => {
                return Err(crate::error::Error::query(format!(
                    "AWS profile '{profile_name}' not found in ~/.aws/credentials or ~/.aws/config"
                )));
            }
            None => S3Settings::default(),
        };
        let base = if chosen.is_some() {
            env.overlay(&profile)
        } else {
            profile.overlay(&env)
        };
        Ok(base.overlay(&session).overlay(&scoped))
    }

    fn bucket_store(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>> {
        if let Some(store) = self.buckets.read().get(bucket) {
            return Ok(Arc::clone(store));
        }
        let settings = self
            .resolve(Some(bucket))
            .map_err(|e| DataFusionError::Execution(e.to_string()))?;
        let client = s3::build(bucket, &settings)?;
        let store: Arc<dyn ObjectStore> = Arc::new(Counted::new(
            Arc::new(client),
            Arc::clone(&self.stats),
            false,
        ));
        self.buckets
            .write()
            .insert(bucket.to_string(), Arc::clone(&store));
        Ok(store)
    }
}

impl ObjectStoreRegistry for ObjectStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.registered.write().insert(store_key(url), store)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if let Some(store) = self.registered.read().get(&store_key(url)) {
            return Ok(Arc::clone(store));
        }
        match (url.scheme(), url.host_str()) {
            ("file", _) => Ok(Arc::clone(&self.local)),
            ("s3" | "s3a", Some(bucket)) => self.bucket_store(bucket),
            ("s3" | "s3a", None) => Err(DataFusionError::Plan(format!(
                "{url}: an S3 URL needs a bucket, as in s3://bucket/prefix/"
            ))),
            (scheme, _) => Err(DataFusionError::Plan(format!(
                "{url}: morsel reads local paths and s3:// URLs, not {scheme}://"
            ))),
        }
    }
}

fn store_key(url: &Url) -> String {
    format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default())
}

/// The bucket of an `s3://` URL, if it is one.
pub fn s3_bucket(location: &str) -> Option<&str> {
    let rest = location
        .strip_prefix("s3://")
        .or_else(|| location.strip_prefix("s3a://"))?;
    Some(rest.split('/').next().unwrap_or(rest))
}

pub fn is_remote(location: &str) -> bool {
    location.contains("://") && !location.starts_with("file://")
}

/// A location as a user wrote it: local files as a path, not a `file://` URL.
pub fn display_path(store: &str, location: &str) -> String {
    match store {
        "file:///" => format!("/{location}"),
        _ => format!("{store}{location}"),
    }
}
