//! `COPY … TO` that never leaves half-written output behind.
//!
//! DataFusion writes straight into the destination, so a COPY that fails on
//! its thousandth row leaves the first files in place. morsel points the
//! write at a hidden staging directory next to the destination instead and
//! renames the result into place only when every file is written. Renames
//! within one directory are atomic on local disks, so a reader sees all of
//! the new files or none of them. A cancel (Ctrl-C, SIGTERM) or a panic
//! drops the write and removes its staging; what a process killed outright
//! left behind is removed by the next COPY beside it.
//!
//! S3 has no rename, so a COPY to a bucket is staged under a hidden prefix
//! next to the destination and each finished object is then copied into
//! place and deleted (object_store's rename). A failure or a cancel removes
//! whatever was staged; a reader of the destination never sees a partial
//! object, though during the commit it can see some objects before others.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::sql::parser::CopyToStatement;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt};
use url::Url;

use crate::error::{Error, Result};
use crate::storage::{self, ObjectStores};

/// A write in progress; dropped without [`Staged::commit`], it is removed.
pub enum Staged {
    Local(LocalStaged),
    Remote(RemoteStaged),
}

/// Redirects a COPY to a staging location next to its target.
pub fn stage(
    copy: CopyToStatement,
    stores: &ObjectStores,
) -> Result<(CopyToStatement, Option<Staged>)> {
    if storage::s3_bucket(&copy.target).is_some() {
        let (copy, staged) = stage_remote(copy, stores)?;
        return Ok((copy, Some(Staged::Remote(staged))));
    }
    if copy.target.contains("://") {
        return Ok((copy, None));
    }
    let (copy, staged) = stage_local(copy)?;
    Ok((copy, Some(Staged::Local(staged))))
}

impl Staged {
    /// Moves the finished output into place.
    pub async fn commit(self) -> Result<()> {
        match self {
            Staged::Local(local) => local.commit(),
            Staged::Remote(remote) => remote.commit().await,
        }
    }
}

pub struct LocalStaged {
    dir: PathBuf,
    staged: PathBuf,
    destination: PathBuf,
}

fn stage_local(mut copy: CopyToStatement) -> Result<(CopyToStatement, LocalStaged)> {
    let is_dir = copy.target.ends_with('/');
    let destination = PathBuf::from(copy.target.trim_end_matches('/'));
    let name = destination
        .file_name()
        .ok_or_else(|| Error::query(format!("COPY target '{}' has no file name", copy.target)))?
        .to_owned();
    let parent = match destination.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    remove_stale_staging(&parent);
    let dir = parent.join(unique_staging_name());
    std::fs::create_dir_all(&dir).map_err(|source| Error::file(&dir, source))?;
    let staged = dir.join(&name);
    copy.target = staged.display().to_string();
    if is_dir {
        copy.target.push('/');
    }
    Ok((
        copy,
        LocalStaged {
            dir,
            staged,
            destination,
        },
    ))
}

/// Names a staging location `.morsel-copy-PID-N`: the process that owns it,
/// then a count of its COPYs.
const STAGING_PREFIX: &str = ".morsel-copy-";

fn unique_staging_name() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{STAGING_PREFIX}{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes staging directories in `dir` left by morsel processes that
/// died before they could (killed with SIGKILL, a power cut). One whose
/// process may still run is left alone; failures are not this COPY's.
fn remove_stale_staging(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let owner = name.to_str().and_then(staging_owner);
        if owner.is_some_and(|pid| !process_may_run(pid)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The process id in a staging directory's name.
fn staging_owner(name: &str) -> Option<u32> {
    let (pid, count) = name.strip_prefix(STAGING_PREFIX)?.split_once('-')?;
    count.parse::<usize>().ok()?;
    pid.parse().ok()
}

/// Whether process `pid` may be running: on Linux, whether `/proc` has it;
/// elsewhere always, so nothing is ever swept there.
fn process_may_run(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

impl LocalStaged {
    fn commit(self) -> Result<()> {
        move_into_place(&self.staged, &self.destination)
            .map_err(|source| Error::file(&self.destination, source))
    }
}

impl Drop for LocalStaged {
    fn drop(&mut self) {
        // Runs after a commit too, when only the empty staging directory is left.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Renames `from` to `to`; into an existing directory, file by file.
fn move_into_place(from: &Path, to: &Path) -> std::io::Result<()> {
    if !from.exists() {
        // DataFusion writes no file for an empty result into a directory.
        return std::fs::create_dir_all(to);
    }
    if from.is_dir() && to.is_dir() {
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            move_into_place(&entry.path(), &to.join(entry.file_name()))?;
        }
        return Ok(());
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::rename(from, to)
}

pub struct RemoteStaged {
    store: Arc<dyn ObjectStore>,
    /// The hidden prefix everything is written under.
    root: Key,
    /// Where the output is written inside `root`, and where it goes.
    staged: Key,
    destination: Key,
    target: String,
    committed: bool,
}

fn stage_remote(
    mut copy: CopyToStatement,
    stores: &ObjectStores,
) -> Result<(CopyToStatement, RemoteStaged)> {
    let url = Url::parse(&copy.target)
        .map_err(|e| Error::query(format!("COPY target '{}': {e}", copy.target)))?;
    let store = stores
        .get_store(&url)
        .map_err(|e| Error::query(e.to_string()))?;
    let key = url.path().trim_matches('/');
    let (parent, name) = key.rsplit_once('/').unwrap_or(("", key));
    if name.is_empty() {
        return Err(Error::query(format!(
            "COPY target '{}' names a bucket, not a path in it",
            copy.target
        )));
    }
    let hidden = unique_staging_name();
    let root = Key::from(if parent.is_empty() {
        hidden
    } else {
        format!("{parent}/{hidden}")
    });
    let staged = root.clone().join(name);
    let slash = if copy.target.ends_with('/') { "/" } else { "" };
    let target = std::mem::replace(
        &mut copy.target,
        format!(
            "{}://{}/{staged}{slash}",
            url.scheme(),
            url.host_str().unwrap_or_default()
        ),
    );
    Ok((
        copy,
        RemoteStaged {
            store,
            root,
            staged,
            destination: Key::from(key),
            target,
            committed: false,
        },
    ))
}

impl RemoteStaged {
    async fn commit(mut self) -> Result<()> {
        let objects: Vec<_> = self
            .store
            .list(Some(&self.staged))
            .try_collect()
            .await
            .map_err(|e| self.error(&e))?;
        for object in objects {
            let relative = object
                .location
                .prefix_match(&self.staged)
                .into_iter()
                .flatten();
            let target = Key::from_iter(self.destination.parts().chain(relative));
            self.store
                .rename(&object.location, &target)
                .await
                .map_err(|e| self.error(&e))?;
        }
        self.committed = true;
        Ok(())
    }

    fn error(&self, e: &object_store::Error) -> Error {
        Error::query(format!(
            "{}: {}",
            self.target,
            storage::store_error_message(e)
        ))
    }
}

/// Removes what was staged when the COPY failed or was cancelled. Drop
/// cannot await, so it blocks this thread on the runtime until the deletes
/// are done: a batch run exits right after, and must not leave them behind.
impl Drop for RemoteStaged {
    fn drop(&mut self) {
        // After a commit the staging prefix is empty, and S3 prefixes
        // vanish with their last object.
        if self.committed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = Arc::clone(&self.store);
        let root = self.root.clone();
        let cleanup = async move {
            let locations = store.list(Some(&root)).map_ok(|meta| meta.location).boxed();
            let _ = store.delete_stream(locations).try_collect::<Vec<_>>().await;
        };
        tokio::task::block_in_place(|| runtime.block_on(cleanup));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_staging_names_have_an_owner() {
        assert_eq!(staging_owner(".morsel-copy-4242-0"), Some(4242));
        assert_eq!(staging_owner(".morsel-copy-4242-17"), Some(4242));
        assert_eq!(staging_owner(".morsel-copy-4242"), None);
        assert_eq!(staging_owner(".morsel-copy-x-1"), None);
        assert_eq!(staging_owner("morsel-copy-4242-0"), None);
        assert_eq!(staging_owner(".morsel-copy-4242-0-evil"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_running_process_keeps_its_staging() {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join(unique_staging_name());
        let dead = dir.path().join(".morsel-copy-4294967295-0");
        let other = dir.path().join("kept");
        for d in [&ours, &dead, &other] {
            std::fs::create_dir(d).unwrap();
        }
        remove_stale_staging(dir.path());
        assert!(ours.exists() && other.exists());
        assert!(!dead.exists());
    }
}
