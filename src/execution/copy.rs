//! `COPY … TO` that never leaves half-written output behind.
//!
//! DataFusion writes straight into the destination, so a COPY that fails on
//! its thousandth row leaves the first files in place. morsel points the
//! write at a hidden staging directory next to the destination instead and
//! renames the result into place only when every file is written. Renames
//! within one directory are atomic on local disks, so a reader sees all of
//! the new files or none of them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::sql::parser::CopyToStatement;

use crate::error::{Error, Result};

/// A write in progress; dropped without [`Staged::commit`], it is removed.
pub struct Staged {
    dir: PathBuf,
    staged: PathBuf,
    destination: PathBuf,
}

/// Redirects a local COPY to a staging path; other targets pass through.
pub fn stage(mut copy: CopyToStatement) -> Result<(CopyToStatement, Option<Staged>)> {
    if copy.target.contains("://") {
        return Ok((copy, None));
    }
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
    let dir = parent.join(unique_staging_name());
    std::fs::create_dir_all(&dir).map_err(|source| Error::File {
        path: dir.display().to_string(),
        source,
    })?;
    let staged = dir.join(&name);
    copy.target = staged.display().to_string();
    if is_dir {
        copy.target.push('/');
    }
    Ok((
        copy,
        Some(Staged {
            dir,
            staged,
            destination,
        }),
    ))
}

fn unique_staging_name() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        ".morsel-copy-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl Staged {
    /// Moves the finished output into place.
    pub fn commit(self) -> Result<()> {
        move_into_place(&self.staged, &self.destination).map_err(|source| Error::File {
            path: self.destination.display().to_string(),
            source,
        })
    }
}

impl Drop for Staged {
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
