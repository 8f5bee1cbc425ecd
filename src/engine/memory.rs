//! Memory under `--memory-limit`: how big the pool is, who may take its
//! last eighth, its high-water mark, and what the C allocator keeps.
//!
//! `\timing` reports the peak memory of each statement: the session's pool
//! (DataFusion's, limited or not) is wrapped to record the most it ever
//! had reserved since the statement began.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::common::human_readable_size;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

/// A greedy pool (first come, first served, as DataFusion's
/// `GreedyMemoryPool`) that keeps its last eighth for small reservations.
///
/// Operators that spill grow until the pool refuses them, and some never
/// give back what they hold: a repartition queue keeps the batches it has
/// and spills only new ones. Other requests have no way to spill: an
/// aggregate merging its sorted runs needs a batch per run, and one that
/// finds the pool full fails the query. With a plain greedy pool which of
/// the two comes first was chance: TPC-H Q18 at SF 1 and 100 MB failed in
/// about one run in ten under load, its merge refused 258 KB while a
/// repartition queue held 45 of the 75 MB. Here a reservation may grow into
/// the last eighth only while it stays small (a thirty-second of the pool),
/// so the big holders spill first and a merge's few batches fit (unless
/// small reservations alone have filled the pool).
#[derive(Debug)]
pub struct HeadroomPool {
    size: usize,
    used: AtomicUsize,
}

impl HeadroomPool {
    pub fn new(size: usize) -> Self {
        Self {
            size,
            used: AtomicUsize::new(0),
        }
    }

    /// The last part of the pool, kept for small reservations.
    fn headroom(&self) -> usize {
        self.size / 8
    }

    /// The most a reservation may hold and still count as small.
    fn small(&self) -> usize {
        self.size / 32
    }

    /// Where reservations that are not small must stop.
    fn open_part(&self) -> usize {
        self.size - self.headroom()
    }

    fn refusal(&self, reservation: &MemoryReservation, additional: usize) -> DataFusionError {
        // Worded as DataFusion's own refusal, which `diagnose` reads.
        DataFusionError::ResourcesExhausted(format!(
            "Failed to allocate additional {} for {} with {} already allocated for this \
             reservation - {} remain available for the total memory pool, the last {} only \
             to reservations under {}: {self}",
            human_readable_size(additional),
            reservation.consumer().name(),
            human_readable_size(reservation.size()),
            human_readable_size(self.size.saturating_sub(self.reserved())),
            human_readable_size(self.headroom()),
            human_readable_size(self.small()),
        ))
    }
}

impl std::fmt::Display for HeadroomPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "headroom(used: {}, pool_size: {})",
            human_readable_size(self.reserved()),
            human_readable_size(self.size)
        )
    }
}

impl MemoryPool for HeadroomPool {
    fn name(&self) -> &str {
        "headroom"
    }

    fn grow(&self, _: &MemoryReservation, additional: usize) {
        self.used.fetch_add(additional, Ordering::Relaxed);
    }

    fn shrink(&self, _: &MemoryReservation, shrink: usize) {
        self.used.fetch_sub(shrink, Ordering::Relaxed);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        let limit = if reservation.size() + additional <= self.small() {
            self.size
        } else {
            self.open_part()
        };
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                let new_used = used + additional;
                (new_used <= limit).then_some(new_used)
            })
            .map_err(|_| self.refusal(reservation, additional))?;
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.size)
    }
}

#[derive(Debug)]
pub struct PeakPool {
    inner: Arc<dyn MemoryPool>,
    peak: AtomicUsize,
}

impl PeakPool {
    pub fn new(inner: Arc<dyn MemoryPool>) -> Self {
        Self {
            inner,
            peak: AtomicUsize::new(0),
        }
    }

    /// Starts a new high-water mark from what is reserved now.
    pub fn reset_peak(&self) {
        self.peak.store(self.inner.reserved(), Ordering::Relaxed);
    }

    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    fn note(&self) {
        self.peak
            .fetch_max(self.inner.reserved(), Ordering::Relaxed);
    }
}

impl std::fmt::Display for PeakPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl MemoryPool for PeakPool {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
        self.note();
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        self.inner.try_grow(reservation, additional)?;
        self.note();
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}

/// The pool's share of `--memory-limit`: three quarters. The rest is room
/// for what DataFusion allocates without asking the pool, or before asking
/// it: an aggregate's state doubles its vectors and only then reports the
/// new size (TPC-H Q18 at SF 10 peaked 400 MB above a full 1 GB pool), and
/// decoded Parquet pages and batches in flight are never counted. With the
/// pool at ¾, every TPC-H query at SF 10 stayed under 1 GB resident.
pub fn pool_size(memory_limit: usize) -> usize {
    memory_limit - memory_limit / 4
}

/// Hands the memory the C allocator kept from earlier statements back to
/// the system when the process holds more than its pool; called before each
/// statement of a session with a memory limit.
///
/// glibc's malloc raises its trim and mmap thresholds each time it frees a
/// large block, so freed batches stay on its heaps: all 22 TPC-H SF 1
/// queries at `--memory-limit 100MB` in one process peaked at 310 MB
/// resident. Fixing the thresholds with `mallopt` bounds that (212 MB with
/// both at 4 MB) but costs 12–16% in system time (release build, trim at
/// 32 MB and mmap at 1 MB: 7.56 s against 6.74 s). One `malloc_trim` per
/// statement gives the same footprint (210 MB) but still costs 12% in a
/// release build with memory to spare (`--memory-limit 16GB`: 7.38 s
/// against 6.62 s, system time 1.07 → 1.85 s): every query faults back in
/// the pages the trim gave away. So it trims only a process resident beyond
/// its pool, which one with memory to spare never is.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn return_freed_memory(pool_size: usize) {
    if resident_bytes().is_some_and(|resident| resident > pool_size) {
        // SAFETY: malloc_trim only releases free pages, under glibc's own lock.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * usize::try_from(page_size).ok()?)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_freed_memory(_pool_size: usize) {}

/// Makes every thread allocate from one glibc arena; called before the
/// runtime starts when there is a memory limit.
///
/// glibc gives each thread that allocates an arena of its own (up to eight
/// per core: tokio's workers, the threads that read spill files), and each
/// keeps what the queries that ran on it freed. One process running all 22
/// TPC-H queries three times peaked at 363 MiB resident at SF 1 and 100 MB
/// (no single query passed 173 MiB), and 1.52 GiB once at SF 10 and 1 GB.
/// With one arena: 220 MiB and 1.15 GiB, and no slower on 2 threads
/// (8.09 s against 8.36 s; 123.9 s against 120.6 s).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn share_one_allocator_arena() {
    // SAFETY: mallopt only changes a malloc setting, under glibc's own lock.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn share_one_allocator_arena() {}

/// Keeps the memory queries free for the next allocations; called before
/// the runtime starts when there is no memory limit.
///
/// glibc maps each allocation above its mmap threshold (128 KiB at first,
/// raised as such blocks are freed) afresh and unmaps it when freed, so a
/// query's batches, hash tables and buffers are faulted in page by page
/// each time: the 22 TPC-H SF 1 queries in one process took 154 thousand
/// page faults and 0.58 s of system time. With the threshold fixed at
/// glibc's largest (32 MiB) and freed heap kept up to 512 MiB, they take
/// about 60 thousand and 0.41 s (benches/README.md). A memory limit keeps
/// glibc's defaults: there, freed memory must go back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn keep_freed_memory() {
    // SAFETY: mallopt only changes malloc settings, under glibc's own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_freed_memory() {}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: usize = 1 << 20;

    fn reservation(pool: &Arc<dyn MemoryPool>, name: &str) -> MemoryReservation {
        MemoryConsumer::new(name)
            .with_can_spill(true)
            .register(pool)
    }

    #[test]
    fn big_reservations_leave_the_last_eighth_to_small_ones() {
        let pool: Arc<dyn MemoryPool> = Arc::new(HeadroomPool::new(64 * MB));
        let queue = reservation(&pool, "queue");
        queue.try_grow(56 * MB).unwrap();
        let refused = queue.try_grow(MB).unwrap_err().to_string();
        assert!(
            refused.contains("Failed to allocate additional 1024.0 KB for queue"),
            "{refused}"
        );
        assert!(refused.contains("pool_size: 64.0 MB"), "{refused}");

        let merge = reservation(&pool, "merge");
        merge.try_grow(2 * MB).unwrap();
        let other = reservation(&pool, "other");
        other.try_grow(2 * MB).unwrap();
        // Small, but past the pool's end.
        let third = reservation(&pool, "third");
        third.try_grow(2 * MB).unwrap();
        assert!(third.try_grow(2 * MB).is_err());
        assert_eq!(pool.reserved(), 62 * MB);
    }

    #[test]
    fn a_reservation_may_use_the_last_eighth_only_while_it_is_small() {
        let pool: Arc<dyn MemoryPool> = Arc::new(HeadroomPool::new(64 * MB));
        let table = reservation(&pool, "table");
        table.try_grow(55 * MB).unwrap();
        let merge = reservation(&pool, "merge");
        // Up to 56 MB anyone may grow; past it only reservations of 2 MB or less.
        merge.try_grow(MB).unwrap();
        merge.try_grow(MB).unwrap();
        assert!(merge.try_grow(MB).is_err());
        assert!(table.try_grow(MB).is_err());
        merge.free();
        table.try_grow(MB).unwrap();
        assert_eq!(pool.reserved(), 56 * MB);
    }
}
