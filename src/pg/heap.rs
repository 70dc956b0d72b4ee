//! The C library's heap in backends pg_privacy governs.
//!
//! PostgreSQL's memory contexts take their blocks from `malloc`, and glibc gives the top of its
//! heap back to the kernel (`brk`) when more than its trim threshold (128 kB until the process
//! frees a large mapped chunk, then twice that chunk's size) is free there. See
//! [`settle_for_governed`] for why a governed backend raises that threshold once, and why nobody
//! else's backend is touched.

use std::alloc::{GlobalAlloc, Layout, System};

const MAXALIGN: usize = 8;

static mut HEAP_SETTLED: bool = false;

/// Once per backend, before its first masked or filtered statement: raise the C library's
/// thresholds for returning freed heap to the kernel, the way it raises them itself after the
/// first large allocation a backend frees (glibc's dynamic mmap threshold: freeing a chunk that
/// was mapped because it was large lifts the mmap threshold to its size and the trim threshold
/// to twice that).
///
/// **Why.** A governed statement needs a few more kilobytes of planner and executor memory than
/// the same statement unrewritten (the masking expressions, the consent semi-join and its index
/// scan). In a backend that only ever runs small statements that is enough to cross the default
/// 128 kB trim threshold: every statement then grows the heap with `brk`, faults the new pages in,
/// and gives them back at its end (measured in `benches/pooled.sh`: 4 `brk` calls and some 40 page
/// faults per transaction, 15 % of the backend's time; the hand-written peer's statements happened
/// to fit in the heap as it was and made none). Sessions pg_privacy does not govern never come here, so their
/// backends' memory behaves exactly as without the library.
pub fn settle_for_governed() {
    // SAFETY: backend statics, single-threaded.
    unsafe {
        if HEAP_SETTLED {
            return;
        }
        HEAP_SETTLED = true;
    }
    // 512 kB: above glibc's default mmap threshold (so the chunk is mapped, and its free raises
    // the thresholds), far below its 32 MB cap (DEFAULT_MMAP_THRESHOLD_MAX).
    let Ok(layout) = Layout::from_size_align(512 * 1024, MAXALIGN) else { return };
    // SAFETY: a plain allocation from the C library, freed at once with the same layout.
    unsafe {
        let chunk = System.alloc(layout);
        if !chunk.is_null() {
            // Touch it so the allocation cannot be elided.
            std::ptr::write_volatile(chunk, 0);
            System.dealloc(chunk, layout);
        }
    }
}
