//! Counts the requests and bytes each query sends to storage.
//!
//! Over a network the cost of a query is its requests, and the only way a
//! user can see that partition pruning or footer caching works is to count
//! them. Every store morsel hands DataFusion is wrapped in [`Counted`]; the
//! session snapshots [`IoStats`] around a statement for `\timing`.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload, ListResult, MultipartUpload,
    OBJECT_STORE_COALESCE_DEFAULT, ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions,
    PutOptions, PutPayload, PutResult, RenameOptions, UploadPart, coalesce_ranges,
};

/// S3 lists at most this many keys per response.
const LIST_PAGE: u64 = 1000;

/// Running totals for every store of a session.
#[derive(Debug, Default)]
pub struct IoStats {
    requests: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
}

/// A snapshot of [`IoStats`]; the difference of two is one statement's I/O.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IoCounts {
    pub requests: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

impl IoStats {
    pub fn snapshot(&self) -> IoCounts {
        IoCounts {
            requests: self.requests.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
        }
    }

    fn request(&self, n: u64) {
        self.requests.fetch_add(n, Ordering::Relaxed);
    }

    fn read(&self, n: u64) {
        self.bytes_read.fetch_add(n, Ordering::Relaxed);
    }

    fn written(&self, n: u64) {
        self.bytes_written.fetch_add(n, Ordering::Relaxed);
    }
}

impl IoCounts {
    pub fn since(self, earlier: IoCounts) -> IoCounts {
        IoCounts {
            requests: self.requests - earlier.requests,
            bytes_read: self.bytes_read - earlier.bytes_read,
            bytes_written: self.bytes_written - earlier.bytes_written,
        }
    }
}

/// `12 requests, 3.4 MiB read, 1.0 MiB written` (parts that are zero left out).
impl fmt::Display for IoCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.requests == 1 { "" } else { "s" };
        write!(f, "{} request{plural}", self.requests)?;
        if self.bytes_read > 0 {
            write!(f, ", {} read", human_bytes(self.bytes_read))?;
        }
        if self.bytes_written > 0 {
            write!(f, ", {} written", human_bytes(self.bytes_written))?;
        }
        Ok(())
    }
}

pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// An object store that counts what passes through it.
#[derive(Debug)]
pub struct Counted {
    inner: Arc<dyn ObjectStore>,
    stats: Arc<IoStats>,
    /// A local store reads many ranges of a file in one go; a remote one
    /// makes a request per coalesced range, which is what gets counted.
    local: bool,
}

impl Counted {
    pub fn new(inner: Arc<dyn ObjectStore>, stats: Arc<IoStats>, local: bool) -> Self {
        Self {
            inner,
            stats,
            local,
        }
    }
}

impl Counted {
    /// `ranges`, when they lie within a local file. Parquet metadata says
    /// where a column's pages lie, and a corrupt file can say anywhere; the
    /// local store allocates a whole range before it reads, so a 17 KB file
    /// that placed a page 34 PB on aborted the process (found by
    /// `examples/inputfuzz`). Past the end is an error, before anything is
    /// allocated.
    async fn within_file(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Range<u64>>> {
        let size = self.inner.head(location).await?.size;
        match ranges.iter().find(|range| range.end > size) {
            Some(range) => Err(object_store::Error::Generic {
                store: "LocalFileSystem",
                source: format!(
                    "bytes {}..{} of {location} asked for, past the end of its {size} bytes",
                    range.start, range.end
                )
                .into(),
            }),
            None => Ok(ranges.to_vec()),
        }
    }
}

impl fmt::Display for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

#[async_trait]
impl ObjectStore for Counted {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.stats.request(1);
        self.stats.written(payload.content_length() as u64);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.stats.request(1);
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(CountedUpload {
            inner,
            stats: Arc::clone(&self.stats),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.stats.request(1);
        // `head` is a `get` that asks for the metadata only: a local store
        // answers it with the file's whole range, none of which is read.
        let head = options.head;
        if let (true, Some(GetRange::Bounded(range))) = (self.local, &options.range) {
            self.within_file(location, std::slice::from_ref(range))
                .await?;
        }
        let mut result = self.inner.get_opts(location, options).await?;
        result.payload = match result.payload {
            GetResultPayload::Stream(stream) => {
                let stats = Arc::clone(&self.stats);
                GetResultPayload::Stream(
                    stream
                        .inspect(move |chunk| {
                            if let Ok(bytes) = chunk {
                                stats.read(bytes.len() as u64);
                            }
                        })
                        .boxed(),
                )
            }
            file @ GetResultPayload::File(..) => {
                if !head {
                    self.stats.read(result.range.end - result.range.start);
                }
                file
            }
        };
        Ok(result)
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        if !self.local {
            return coalesce_ranges(
                ranges,
                |range| self.get_range(location, range),
                OBJECT_STORE_COALESCE_DEFAULT,
            )
            .await;
        }
        self.stats.request(1);
        let ranges = self.within_file(location, ranges).await?;
        let parts = self.inner.get_ranges(location, &ranges).await?;
        self.stats
            .read(parts.iter().map(|b| b.len() as u64).sum::<u64>());
        Ok(parts)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let stats = Arc::clone(&self.stats);
        self.inner
            .delete_stream(locations.inspect(move |_| stats.request(1)).boxed())
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        count_pages(self.inner.list(prefix), Arc::clone(&self.stats))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        count_pages(
            self.inner.list_with_offset(prefix, offset),
            Arc::clone(&self.stats),
        )
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.stats.request(1);
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.stats.request(1);
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        // S3 has no rename: it is a copy and a delete.
        self.stats.request(if self.local { 1 } else { 2 });
        self.inner.rename_opts(from, to, options).await
    }
}

/// Counts a request for the first entry of every page of a listing (and one
/// for a listing that comes back empty).
fn count_pages(
    stream: BoxStream<'static, object_store::Result<ObjectMeta>>,
    stats: Arc<IoStats>,
) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
    stats.request(1);
    let mut seen = 0u64;
    stream
        .inspect(move |_| {
            if seen > 0 && seen.is_multiple_of(LIST_PAGE) {
                stats.request(1);
            }
            seen += 1;
        })
        .boxed()
}

#[derive(Debug)]
struct CountedUpload {
    inner: Box<dyn MultipartUpload>,
    stats: Arc<IoStats>,
}

#[async_trait]
impl MultipartUpload for CountedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.stats.request(1);
        self.stats.written(data.content_length() as u64);
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.stats.request(1);
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.stats.request(1);
        self.inner.abort().await
    }
}

#[cfg(test)]
mod tests {
    use object_store::local::LocalFileSystem;

    use super::*;

    /// A `head` reads nothing; a local store still answers it with the
    /// file's whole range, which was counted as read (`\timing` showed
    /// 68 MiB read for a `count(*)` answered from a 17 MiB file's footer).
    #[tokio::test]
    async fn a_head_is_a_request_that_reads_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), vec![7u8; 100_000]).unwrap();
        let stats = Arc::new(IoStats::default());
        let local = LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        let store = Counted::new(Arc::new(local), Arc::clone(&stats), true);
        let file = Path::from("f");

        store.head(&file).await.unwrap();
        assert_eq!(stats.snapshot().bytes_read, 0);
        assert_eq!(stats.snapshot().requests, 1);

        store.get_range(&file, 10..110).await.unwrap();
        assert_eq!(stats.snapshot().bytes_read, 100);
    }

    /// A range a corrupt file's metadata puts past its end is an error,
    /// before the local store allocates it.
    #[tokio::test]
    async fn a_range_past_a_local_files_end_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), vec![7u8; 1000]).unwrap();
        let stats = Arc::new(IoStats::default());
        let local = LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        let store = Counted::new(Arc::new(local), Arc::clone(&stats), true);
        let file = Path::from("f");
        let huge = 900..(1u64 << 55);
        let parts = store.get_ranges(&file, &[0..10, 990..1000]).await.unwrap();
        assert_eq!((parts[0].len(), parts[1].len()), (10, 10));
        let error = store.get_ranges(&file, &[0..10, huge.clone()]).await;
        assert!(
            error
                .unwrap_err()
                .to_string()
                .contains("past the end of its 1000 bytes")
        );
        assert!(store.get_range(&file, huge).await.is_err());
    }
}
