//! The fuzzer's global allocator: the system's, counting as it goes, so a
//! case can be held to a memory bound. It tracks the bytes live now, their
//! peak since the last [`watch`], and the largest single request, which is
//! where a file that declares a gigabyte-sized page would show.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
    LARGEST.fetch_max(bytes, Ordering::Relaxed);
}

fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every call is passed to `System` unchanged; only counters change.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
                LARGEST.fetch_max(new_size, Ordering::Relaxed);
            } else {
                shrank(layout.size() - new_size);
            }
        }
        moved
    }
}

/// Memory use from now on, for one case.
pub struct Watch {
    live_before: usize,
}

pub fn watch() -> Watch {
    let live_before = LIVE.load(Ordering::Relaxed);
    PEAK.store(live_before, Ordering::Relaxed);
    LARGEST.store(0, Ordering::Relaxed);
    Watch { live_before }
}

impl Watch {
    /// How far live memory rose above where it stood at the start.
    pub fn rise(&self) -> usize {
        PEAK.load(Ordering::Relaxed)
            .saturating_sub(self.live_before)
    }

    /// The largest single allocation since the start.
    pub fn largest(&self) -> usize {
        LARGEST.load(Ordering::Relaxed)
    }
}
