//! `morsel tpch gen --out s3://bucket/prefix/`: generated files, uploaded.
//!
//! The generator writes local files (Parquet writers want `Write`, and
//! streaming a row group straight into a multipart upload would tie a
//! thread to the network); each file is uploaded as soon as it is complete
//! and then deleted, into the same hidden `.TABLE.morsel-gen/` layout the
//! local generator uses. When every file is up, each table's old objects
//! are deleted and the new ones moved into `TABLE/`; if anything fails, the
//! staged objects are removed and the old tables are left as they were.

use std::io::Read;
use std::path::Path as LocalPath;
use std::sync::Arc;

use datafusion::datasource::listing::ListingTableUrl;
use datafusion::execution::object_store::ObjectStoreRegistry;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;
use object_store::ObjectStoreExt;
use object_store::WriteMultipart;
use object_store::path::Path;

use super::datagen::{GenOptions, TABLES, generate_into, staging_name};
use crate::error::{Error, Result};
use crate::storage::{ObjectStores, store_error_message};

/// S3 parts must be at least 5 MiB, except the last.
const UPLOAD_PART_BYTES: usize = 16 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 4;

pub fn generate_remote(options: &GenOptions, profile: Option<String>) -> Result<()> {
    let out = if options.out.ends_with('/') {
        options.out.clone()
    } else {
        format!("{}/", options.out)
    };
    let url = ListingTableUrl::parse(&out).map_err(|e| Error::query(e.to_string()))?;
    let stores = ObjectStores::new(profile);
    let store = stores
        .get_store(url.object_store().as_ref())
        .map_err(|e| Error::query(e.to_string()))?;
    let remote = Remote {
        store,
        root: url.prefix().clone(),
        display: out,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the runtime: {e}")))?;
    let local = std::env::temp_dir().join(format!("morsel-gen-{}", std::process::id()));
    std::fs::create_dir_all(&local).map_err(|source| Error::file(&local, source))?;
    let upload = |file: &LocalPath, relative: &LocalPath| {
        runtime.block_on(remote.upload(file, relative))?;
        std::fs::remove_file(file).map_err(|source| Error::file(file, source))
    };
    let result =
        generate_into(options, &local, &upload).and_then(|()| runtime.block_on(remote.publish()));
    if result.is_err() {
        runtime.block_on(remote.remove_staged());
    }
    let _ = std::fs::remove_dir_all(&local);
    result
}

struct Remote {
    store: Arc<dyn ObjectStore>,
    root: Path,
    /// The destination as the user wrote it, for errors.
    display: String,
}

impl Remote {
    fn key(&self, relative: &str) -> Path {
        if self.root.as_ref().is_empty() {
            Path::from(relative)
        } else {
            Path::from(format!("{}/{relative}", self.root))
        }
    }

    fn error(&self, e: object_store::Error) -> Error {
        Error::query(format!("{}: {}", self.display, store_error_message(&e)))
    }

    async fn upload(&self, file: &LocalPath, relative: &LocalPath) -> Result<()> {
        let key = self.key(&relative.to_string_lossy());
        let upload = self
            .store
            .put_multipart(&key)
            .await
            .map_err(|e| self.error(e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART_BYTES);
        match self.send(file, &mut writer).await {
            Ok(()) => writer.finish().await.map(|_| ()).map_err(|e| self.error(e)),
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    /// Streams `file` into an upload, a few parts in flight at a time.
    async fn send(&self, file: &LocalPath, writer: &mut WriteMultipart) -> Result<()> {
        let file_error = |source| Error::file(file, source);
        let mut source = std::fs::File::open(file).map_err(file_error)?;
        let mut buffer = vec![0; UPLOAD_PART_BYTES];
        loop {
            let read = source.read(&mut buffer).map_err(file_error)?;
            if read == 0 {
                return Ok(());
            }
            writer
                .wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(|e| self.error(e))?;
            writer.write(&buffer[..read]);
        }
    }

    /// Moves every staged table into place, replacing what was there.
    async fn publish(&self) -> Result<()> {
        for table in TABLES {
            let staged = self.key(&staging_name(table));
            let target = self.key(table.name());
            self.delete_under(&target).await?;
            let files: Vec<_> = self
                .store
                .list(Some(&staged))
                .try_collect()
                .await
                .map_err(|e| self.error(e))?;
            for file in files {
                let name = file.location.filename().unwrap_or_default().to_string();
                self.store
                    .rename(&file.location, &target.clone().join(name.as_str()))
                    .await
                    .map_err(|e| self.error(e))?;
            }
        }
        Ok(())
    }

    async fn delete_under(&self, prefix: &Path) -> Result<()> {
        let locations = self
            .store
            .list(Some(prefix))
            .map_ok(|meta| meta.location)
            .boxed();
        self.store
            .delete_stream(locations)
            .try_collect::<Vec<_>>()
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Best effort: the run has already failed, and that error is the one to report.
    async fn remove_staged(&self) {
        for table in TABLES {
            let _ = self.delete_under(&self.key(&staging_name(table))).await;
        }
    }
}
