//! The extension's heap allocator: the system's, with a reserve for when
//! memory runs out.
//!
//! Rust aborts the process when an allocation fails, where CPython raises
//! `MemoryError` and the program may go on (free what it held, report, let
//! a test fail). A process at its memory limit (`ulimit -v`, a cgroup) that
//! calls new code or unwinds an exception under jitsaw allocates a little
//! (a code object's state, a table's growth): CPython's
//! `test_asyncio.test_runners`, whose task ran away under load, raised
//! `MemoryError` plain and aborted jitted. So the first allocation that
//! fails gives the reserve back to the system and tries again, and nothing
//! more is compiled ([`low`], checked by `hook::compile`) until the reserve
//! can be taken again: compiling allocates the most.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicPtr, Ordering};

/// Bytes kept in reserve: what the hook and the runtime allocate while the
/// program frees its memory (a few hundred bytes per new code object), many
/// times over. `malloc` maps a block this large on its own, untouched: it
/// costs address space, not memory.
const RESERVE: usize = 4 << 20;

/// The reserve, or null while given back.
static RESERVED: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());

/// The reserve's layout.
fn reserve_layout() -> Layout {
    Layout::from_size_align(RESERVE, 16).expect("a valid layout")
}

/// The system's allocator, with the reserve given back and the allocation
/// tried again when one fails.
pub struct Allocator;

impl Allocator {
    /// Gives the reserve back, if held: whether it was.
    fn release_reserve(&self) -> bool {
        let reserve = RESERVED.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if reserve.is_null() {
            return false;
        }
        // SAFETY: the reserve was allocated by `System` with this layout,
        // and the swap made this the only release of it.
        unsafe { System.dealloc(reserve, reserve_layout()) };
        true
    }
}

// SAFETY: every allocation and release is `System`'s, with the layout asked.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() && self.release_reserve() {
            // SAFETY: as above.
            return unsafe { System.alloc(layout) };
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() && self.release_reserve() {
            // SAFETY: as above.
            return unsafe { System.alloc_zeroed(layout) };
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() && self.release_reserve() {
            // SAFETY: as above (a failed `realloc` left `ptr` as it was).
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Whether memory ran out since the reserve was last taken: takes it (again)
/// when it can, false then. The first call (the first compilation) takes it.
pub fn low() -> bool {
    if !RESERVED.load(Ordering::Acquire).is_null() {
        return false;
    }
    // SAFETY: a valid, non-zero layout.
    let reserve = unsafe { System.alloc(reserve_layout()) };
    if reserve.is_null() {
        return true;
    }
    if RESERVED
        .compare_exchange(
            std::ptr::null_mut(),
            reserve,
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_err()
    {
        // SAFETY: allocated just above with this layout, not published.
        unsafe { System.dealloc(reserve, reserve_layout()) };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_taken_released_and_taken_again() {
        assert!(!low());
        assert!(!RESERVED.load(Ordering::Acquire).is_null());
        assert!(Allocator.release_reserve());
        assert!(RESERVED.load(Ordering::Acquire).is_null());
        assert!(!Allocator.release_reserve(), "released once");
        assert!(!low(), "taken again while memory is there");
        assert!(!RESERVED.load(Ordering::Acquire).is_null());
    }

    #[test]
    fn allocations_pass_through() {
        let layout = Layout::from_size_align(64, 8).unwrap();
        // SAFETY: a valid layout; the block is released with it.
        unsafe {
            let p = Allocator.alloc_zeroed(layout);
            assert!(!p.is_null());
            assert_eq!(*p, 0);
            let q = Allocator.realloc(p, layout, 4096);
            assert!(!q.is_null());
            Allocator.dealloc(q, Layout::from_size_align(4096, 8).unwrap());
        }
    }
}
