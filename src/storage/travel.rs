//! S3 settings on their way to a cluster. A session's own layers (`SET
//! s3.…`, `CREATE SECRET`, a table's `s3.*` options) ride with each query as
//! a configuration extension, `morsel_s3.*`, which Ballista ships to the
//! scheduler and, inside every task, to the executors; there each process
//! reads with its own environment's settings and these laid on top
//! ([`NodeStores`]), as the client does.
//!
//! They travel in plain text (Ballista has no other way); they are put into
//! a query's configuration as it starts, never into the session's, so `SHOW
//! ALL` and `EXPLAIN` do not print them.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::common::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionConfig;
use parking_lot::Mutex;

use super::{ObjectStores, S3Key, S3Settings};

/// A session's S3 layers as configuration entries: `KEY` for the whole
/// session, `KEY@BUCKET` for one bucket (bucket names may hold dots, never
/// `@`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SessionS3Layers {
    entries: BTreeMap<String, String>,
}

impl SessionS3Layers {
    /// The layers of a session whose own settings are `session` and whose
    /// buckets' are `scoped`.
    pub(super) fn new<'a>(
        session: &S3Settings,
        scoped: impl IntoIterator<Item = (&'a String, &'a S3Settings)>,
    ) -> Self {
        let mut entries: BTreeMap<String, String> = session
            .iter()
            .map(|(key, value)| (key.name().to_string(), value.to_string()))
            .collect();
        for (bucket, settings) in scoped {
            entries.extend(
                settings
                    .iter()
                    .map(|(key, value)| (format!("{}@{bucket}", key.name()), value.to_string())),
            );
        }
        Self { entries }
    }

    /// The layers a query of `config` carries; none if it carries none.
    pub fn of(config: &SessionConfig) -> Self {
        config
            .options()
            .extensions
            .get::<Self>()
            .cloned()
            .unwrap_or_default()
    }

    /// The session's layer and each bucket's, as `ObjectStores` keeps them.
    pub(super) fn split(&self) -> (S3Settings, HashMap<String, S3Settings>) {
        let mut session = S3Settings::default();
        let mut scoped: HashMap<String, S3Settings> = HashMap::new();
        for (name, value) in &self.entries {
            let (name, bucket) = match name.split_once('@') {
                Some((name, bucket)) => (name, Some(bucket)),
                None => (name.as_str(), None),
            };
            let Some(key) = S3Key::parse(name) else {
                continue;
            };
            let layer = match bucket {
                Some(bucket) => scoped.entry(bucket.to_string()).or_default(),
                None => &mut session,
            };
            *layer = std::mem::take(layer).with(key, Some(value.clone()));
        }
        (session, scoped)
    }
}

impl ConfigExtension for SessionS3Layers {
    const PREFIX: &'static str = "morsel_s3";
}

impl ExtensionOptions for SessionS3Layers {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let name = key.split_once('@').map_or(key, |(name, _)| name);
        if S3Key::parse(name).is_none() {
            return Err(DataFusionError::Configuration(format!(
                "{}.{key}: not an S3 setting",
                Self::PREFIX
            )));
        }
        self.entries.insert(key.to_string(), value.to_string());
        Ok(())
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        self.entries
            .iter()
            .map(|(key, value)| ConfigEntry {
                key: format!("{}.{key}", Self::PREFIX),
                value: Some(value.clone()),
                description: "an S3 setting of the client's session",
            })
            .collect()
    }
}

/// How many sets of stores a process keeps: one per distinct settings its
/// clients sent, dropped all at once beyond this.
const KEPT_SETTINGS: usize = 16;

/// The object stores of a cluster's process: for each set of session
/// layers its queries carry, stores over the process's own environment
/// with them on top, kept so that S3 clients are built once, not per task.
#[derive(Debug, Default)]
pub struct NodeStores {
    by_layers: Mutex<HashMap<SessionS3Layers, Arc<ObjectStores>>>,
}

impl NodeStores {
    /// The stores for a query whose configuration is `config`.
    pub fn for_query(&self, config: &SessionConfig) -> Arc<ObjectStores> {
        let layers = SessionS3Layers::of(config);
        let mut kept = self.by_layers.lock();
        if let Some(stores) = kept.get(&layers) {
            return Arc::clone(stores);
        }
        if kept.len() >= KEPT_SETTINGS {
            kept.clear();
        }
        let stores = Arc::new(ObjectStores::with_layers(&layers));
        kept.insert(layers, Arc::clone(&stores));
        stores
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(S3Key, &str)]) -> S3Settings {
        let mut settings = S3Settings::default();
        for (key, value) in pairs {
            settings.set(*key, value).unwrap();
        }
        settings
    }

    #[test]
    fn layers_survive_the_trip_through_a_configuration() {
        let session = settings(&[(S3Key::Region, "eu-west-1"), (S3Key::SecretAccessKey, "s")]);
        let bucket = settings(&[(S3Key::Endpoint, "http://127.0.0.1:9000")]);
        let scoped = [("my.bucket".to_string(), bucket.clone())];
        let sent = SessionS3Layers::new(&session, scoped.iter().map(|(b, s)| (b, s)));

        let mut client = SessionConfig::new().with_option_extension(sent.clone());
        let mut node = SessionConfig::new().with_option_extension(SessionS3Layers::default());
        for entry in client.options_mut().entries() {
            if let Some(value) = entry.value {
                node.options_mut().set(&entry.key, &value).unwrap();
            }
        }
        let received = SessionS3Layers::of(&node);
        assert_eq!(received, sent);
        let (got_session, got_scoped) = received.split();
        assert_eq!(got_session, session);
        assert_eq!(got_scoped.get("my.bucket"), Some(&bucket));
    }

    #[test]
    fn a_name_that_is_no_setting_is_refused() {
        let mut layers = SessionS3Layers::default();
        assert!(layers.set("regoin", "x").is_err());
        assert!(layers.set("region@b", "x").is_ok());
    }
}
