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
//! can be taken again: compiling allocates the most. A program that goes on
//! allocating takes the reserve too; allocations that fail after that come
//! from [`POOL`], memory of the extension's own (its pages are touched only
//! when used), never freed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicPtr, Ordering};

/// Bytes kept in reserve: what the hook and the runtime allocate while the
/// program frees its memory (a few hundred bytes per new code object), many
/// times over. `malloc` maps a block this large on its own, untouched: it
/// costs address space, not memory.
const RESERVE: usize = 4 << 20;

/// The reserve, or null while given back.
static RESERVED: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());

/// Bytes of [`POOL`].
const POOL_SIZE: usize = 1 << 20;

/// The last resort of allocations that fail with the reserve given back:
/// bumped, never freed.
struct Pool(std::cell::UnsafeCell<[u8; POOL_SIZE]>);

// SAFETY: its bytes are handed out by `POOL_USED`'s atomic bumps, each range
// once.
unsafe impl Sync for Pool {}

static POOL: Pool = Pool(std::cell::UnsafeCell::new([0; POOL_SIZE]));

/// Bytes of [`POOL`] handed out.
static POOL_USED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A block of [`POOL`] for `layout`, or null when it is used up.
fn from_pool(layout: Layout) -> *mut u8 {
    let base = POOL.0.get().cast::<u8>() as usize;
    let mut used = POOL_USED.load(Ordering::Relaxed);
    loop {
        let start = (base + used).next_multiple_of(layout.align()) - base;
        let Some(end) = start.checked_add(layout.size()).filter(|&e| e <= POOL_SIZE) else {
            return std::ptr::null_mut();
        };
        match POOL_USED.compare_exchange_weak(used, end, Ordering::AcqRel, Ordering::Relaxed) {
            // SAFETY: `start..end` lies in the pool and was handed out to
            // no one before (the bump claimed it).
            Ok(_) => return unsafe { POOL.0.get().cast::<u8>().add(start) },
            Err(now) => used = now,
        }
    }
}

/// Whether `p` is a block of [`POOL`].
fn in_pool(p: *mut u8) -> bool {
    let base = POOL.0.get().cast::<u8>() as usize;
    (base..base + POOL_SIZE).contains(&(p as usize))
}

/// The reserve's layout.
fn reserve_layout() -> Layout {
    Layout::from_size_align(RESERVE, 16).expect("a valid layout")
}

/// The system's allocator, with the reserve given back and the allocation
/// tried again when one fails, and [`POOL`] when that fails too.
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

    /// `attempt`'s block, tried again with the reserve given back if it
    /// failed; null if that failed too (or the reserve was gone).
    fn with_reserve(&self, attempt: impl Fn() -> *mut u8) -> *mut u8 {
        let p = attempt();
        if p.is_null() && self.release_reserve() {
            return attempt();
        }
        p
    }
}

// SAFETY: every block is `System`'s, released to it with the layout asked,
// or the pool's, handed out once and never released.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = self.with_reserve(|| unsafe { System.alloc(layout) });
        if p.is_null() {
            from_pool(layout)
        } else {
            p
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = self.with_reserve(|| unsafe { System.alloc_zeroed(layout) });
        if p.is_null() {
            // Zero: never handed out before.
            from_pool(layout)
        } else {
            p
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !in_pool(ptr) {
            // SAFETY: the caller's contract, passed on (a failed `realloc`
            // leaves `ptr` as it was).
            let p = self.with_reserve(|| unsafe { System.realloc(ptr, layout, new_size) });
            if !p.is_null() {
                return p;
            }
        }
        // A new block, from the system or the pool, the old one copied.
        // SAFETY: `new_size` with the old alignment is a valid layout (the
        // caller's contract).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as above.
        let p = unsafe { self.alloc(new_layout) };
        if !p.is_null() {
            // SAFETY: both blocks hold at least the smaller size; they are
            // distinct (the new one was just handed out).
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if in_pool(ptr) {
            return;
        }
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
    fn the_pool_hands_out_aligned_blocks_and_keeps_them() {
        let layout = Layout::from_size_align(24, 16).unwrap();
        let a = from_pool(layout);
        let b = from_pool(layout);
        assert!(in_pool(a) && in_pool(b) && a != b);
        assert_eq!(a as usize % 16, 0);
        assert_eq!(b as usize % 16, 0);
        // SAFETY: `a` is a block of 24 bytes the pool handed out; a pool
        // block's release does nothing, its reallocation copies it out.
        unsafe {
            *a = 7;
            let c = Allocator.realloc(a, layout, 4096);
            assert!(!c.is_null() && !in_pool(c));
            assert_eq!(*c, 7);
            Allocator.dealloc(c, Layout::from_size_align(4096, 16).unwrap());
            Allocator.dealloc(b, layout);
        }
        let too_big = Layout::from_size_align(POOL_SIZE + 1, 8).unwrap();
        assert!(from_pool(too_big).is_null());
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
