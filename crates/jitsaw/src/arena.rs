//! Executable memory for compiled code.
//!
//! Code lives in chunks reserved near libpython so that stencils' `call`s to
//! CPython fit in 32-bit displacements (the code generator falls back to a
//! trampoline when one does not). Each allocation is a whole number of pages
//! of its own, so its protection can change without touching neighbours:
//! pages are read-write while the JIT writes them, then read-execute, never
//! both (W^X). Pages not in use are read-write too (a chunk is reserved so,
//! and freed blocks go back to it), so that an allocation changes no
//! protection: a stray jump into them still faults, as they are not
//! executable. Freed pages stay resident, up to [`RESIDENT_FREE_PAGES`], for
//! the next blocks to reuse; beyond that their memory returns to the system.
//!
//! A block's bytes start at a cache line the arena picks in the slack of
//! the page rounding ([`start_in_slack`]): the instruction cache maps an
//! address by its offset in the page, so code starting at page boundaries
//! would put every function's first (and hottest) lines in the same sets,
//! and so did ending at the last page's end for functions of one size
//! (methods of one shape): 300 such methods called round-robin took 1.8
//! times as long as with their starts spread.

use std::ptr::NonNull;
use std::sync::Mutex;

const PAGE: usize = 4096;
/// Pages per chunk (16 MiB of address space; memory is committed per page).
const CHUNK_PAGES: usize = 4096;
const CHUNK: usize = CHUNK_PAGES * PAGE;
/// The largest block [`CodeMemory::new`] can allocate: a chunk.
pub const MAX_BLOCK: usize = CHUNK;

struct Chunk {
    base: usize,
    used: Vec<bool>,
    /// No page below this one is free: where first fit starts looking
    /// (a chunk fills from its start, and scanning the used pages before
    /// the first free one was most of an allocation's bookkeeping).
    first_free: usize,
    /// Free pages whose memory was kept (see [`RESIDENT_FREE_PAGES`]).
    resident: Vec<bool>,
}

impl Chunk {
    /// A chunk at `base` with every page free.
    fn new(base: usize) -> Chunk {
        Chunk {
            base,
            first_free: 0,
            used: vec![false; CHUNK_PAGES],
            resident: vec![false; CHUNK_PAGES],
        }
    }
}

struct Arena {
    chunks: Vec<Chunk>,
    /// How many free pages are resident.
    resident_free: usize,
}

static ARENA: Mutex<Arena> = Mutex::new(Arena {
    chunks: Vec::new(),
    resident_free: 0,
});

/// The most free pages whose memory is kept for reuse (1 MiB). Giving a
/// freed block's memory back and faulting it in again for the next block
/// was a third of the page faults of a `lib2to3` run (much of the code
/// compiled in a short run is freed soon: provisional code after its call,
/// code replaced by a recompilation), each a trap to the kernel and a page
/// zeroed; kept, the next compilations write into it. The cap bounds what
/// freed code can add to the process's memory.
const RESIDENT_FREE_PAGES: usize = 256;

/// Whether freed pages stay out of use: a perf map (`JITSAW_PERF`) cannot
/// take back the name it gave an address, so code must never move in where
/// other code was.
static NO_REUSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Keeps the addresses of freed code from being used again (their memory
/// still returns to the system).
pub fn never_reuse_addresses() {
    NO_REUSE.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Bytes of code memory allocated now (whole pages).
static IN_USE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Bytes of code memory allocated now.
pub fn in_use() -> usize {
    IN_USE.load(std::sync::atomic::Ordering::Relaxed)
}

/// A block of code memory, freed when dropped: whole pages, of which the
/// bytes from `start` on are the caller's.
pub struct CodeMemory {
    ptr: NonNull<u8>,
    len: usize,
    start: usize,
    executable: bool,
}

/// Alignment of a block's usable bytes (a cache line).
const ALIGN: usize = 64;

// SAFETY: the block is plain memory owned by this value; all mutation goes
// through `&mut self` and the arena's lock.
unsafe impl Send for CodeMemory {}
// SAFETY: shared access only reads the address.
unsafe impl Sync for CodeMemory {}

/// Blocks allocated so far: what spreads their starts.
static BLOCKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Where in its pages a block whose rounding left `slack` bytes unused
/// starts: a cache line of the slack, the next block's another. Successive
/// blocks step by a number of lines coprime to every count of lines a
/// slack can hold (a prime above 64, 67), so blocks of one size take every
/// offset their slack allows before one repeats. (37, the step before,
/// divides 37 lines: blocks with that much slack all started at one line.)
fn start_in_slack(slack: usize) -> usize {
    nth_start(
        slack,
        BLOCKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    )
}

/// [`start_in_slack`] for the `n`th block.
fn nth_start(slack: usize, n: usize) -> usize {
    let lines = slack / ALIGN + 1;
    (lines - 1 - n.wrapping_mul(67) % lines) * ALIGN
}

impl CodeMemory {
    /// Allocates at least `size` bytes of writable (not executable) memory
    /// near `anchor` when possible.
    pub fn new(size: usize, anchor: usize) -> Result<CodeMemory, String> {
        #[cfg(test)]
        if FAIL_NEXT.take() {
            return Err("cannot reserve code memory: (a test's)".into());
        }
        let pages = size.div_ceil(PAGE).max(1);
        let mut arena = ARENA.lock().unwrap();
        let (address, reused) = match arena.find(pages) {
            Some(a) => a,
            None => {
                arena.add_chunk(anchor)?;
                arena
                    .find(pages)
                    .ok_or_else(|| format!("cannot allocate {size} bytes of code"))?
            }
        };
        let len = pages * PAGE;
        if reused {
            // Old code in kept pages: the block starts as fresh pages do.
            // SAFETY: `address..address+len` lies in a chunk this arena
            // reserved and just marked used (free pages are writable), so no
            // one else uses it.
            unsafe { std::ptr::write_bytes(address as *mut u8, 0, len) };
        }
        IN_USE.fetch_add(len, std::sync::atomic::Ordering::Relaxed);
        Ok(CodeMemory {
            ptr: NonNull::new(address as *mut u8).unwrap(),
            len,
            start: start_in_slack(len - size.max(1)),
            executable: false,
        })
    }

    /// The address of the block's usable bytes.
    pub fn address(&self) -> usize {
        self.ptr.as_ptr() as usize + self.start
    }

    /// The number of usable bytes (at least the size asked for).
    pub fn len(&self) -> usize {
        self.len - self.start
    }

    /// Whether the block is empty (never: blocks have at least one page).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The usable bytes, for writing; only before [`Self::make_executable`].
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        assert!(!self.executable, "jitsaw: writing to executable code");
        // SAFETY: the block is `len` writable bytes owned by `self`, of
        // which the usable ones are the last `len - start`.
        unsafe { std::slice::from_raw_parts_mut(self.address() as *mut u8, self.len()) }
    }

    /// The usable bytes, for reading (disassembly).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: as in `bytes_mut`, readable.
        unsafe { std::slice::from_raw_parts(self.address() as *const u8, self.len()) }
    }

    /// Turns the block read-execute; it can no longer be written.
    pub fn make_executable(&mut self) -> Result<(), String> {
        // SAFETY: the block is ours; changing its protection affects nothing else.
        if unsafe {
            libc::mprotect(
                self.ptr.as_ptr().cast(),
                self.len,
                libc::PROT_READ | libc::PROT_EXEC,
            )
        } != 0
        {
            return Err(format!(
                "mprotect(RX) failed: {}",
                std::io::Error::last_os_error()
            ));
        }
        self.executable = true;
        Ok(())
    }
}

impl CodeMemory {
    /// Overwrites bytes of executable code: each `(offset, bytes)` of the
    /// usable bytes. The block is writable, not executable, meanwhile.
    ///
    /// # Safety
    /// No thread may run the block's code while this runs, nor return into
    /// the middle of the bytes replaced.
    pub unsafe fn rewrite(&self, patches: &[(usize, [u8; 5])]) -> Result<(), String> {
        assert!(self.executable, "jitsaw: rewriting code not yet finished");
        let base = self.ptr.as_ptr().cast::<libc::c_void>();
        // SAFETY: the block is ours; the caller keeps its code from running.
        if unsafe { libc::mprotect(base, self.len, libc::PROT_READ | libc::PROT_WRITE) } != 0 {
            return Err(format!(
                "mprotect(RW) failed: {}",
                std::io::Error::last_os_error()
            ));
        }
        for (offset, bytes) in patches {
            assert!(
                offset + bytes.len() <= self.len(),
                "jitsaw: patch past the code"
            );
            // SAFETY: in bounds (checked) of the block, writable now.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    bytes.as_ptr(),
                    (self.address() + offset) as *mut u8,
                    bytes.len(),
                )
            };
        }
        // SAFETY: as above.
        if unsafe { libc::mprotect(base, self.len, libc::PROT_READ | libc::PROT_EXEC) } != 0 {
            return Err(format!(
                "mprotect(RX) failed: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        let address = self.ptr.as_ptr() as usize;
        // SAFETY: the block is ours and no longer referenced; its pages stop
        // being executable. Free pages must be writable (an allocation does
        // not change their protection): should that fail (the kernel's limit
        // on mappings), the pages stay out of use.
        let writable = !self.executable
            || unsafe {
                libc::mprotect(
                    address as *mut _,
                    self.len,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            } == 0;
        let reuse = writable && !NO_REUSE.load(std::sync::atomic::Ordering::Relaxed);
        let mut arena = ARENA.lock().unwrap();
        let keep = arena.free(address, self.len / PAGE, reuse);
        if !keep {
            // SAFETY: as above; the arena's lock keeps the pages from being
            // handed out meanwhile. Their memory goes back to the system.
            unsafe { libc::madvise(address as *mut _, self.len, libc::MADV_DONTNEED) };
        }
        IN_USE.fetch_sub(self.len, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Arena {
    /// First fit over every chunk; marks the pages used. The address, and
    /// whether any of the pages was kept resident (holds old code).
    fn find(&mut self, pages: usize) -> Option<(usize, bool)> {
        for chunk in &mut self.chunks {
            let mut run = 0;
            for i in chunk.first_free..CHUNK_PAGES {
                run = if chunk.used[i] { 0 } else { run + 1 };
                if run == pages {
                    let first = i + 1 - pages;
                    chunk.used[first..=i].fill(true);
                    if first == chunk.first_free {
                        chunk.first_free = chunk.used[i..]
                            .iter()
                            .position(|&u| !u)
                            .map_or(CHUNK_PAGES, |k| i + k);
                    }
                    let kept = chunk.resident[first..=i].iter().filter(|&&r| r).count();
                    chunk.resident[first..=i].fill(false);
                    self.resident_free -= kept;
                    return Some((chunk.base + first * PAGE, kept > 0));
                }
            }
        }
        None
    }

    /// Whether the page at `address` is allocated.
    #[cfg(test)]
    fn page_used(&self, address: usize) -> bool {
        self.chunks
            .iter()
            .find(|c| (c.base..c.base + CHUNK).contains(&address))
            .is_some_and(|c| c.used[(address - c.base) / PAGE])
    }

    /// Frees a block's pages, for reuse if `reuse`: whether their memory
    /// is to be kept (within [`RESIDENT_FREE_PAGES`]).
    fn free(&mut self, address: usize, pages: usize, reuse: bool) -> bool {
        let keep = reuse && self.resident_free + pages <= RESIDENT_FREE_PAGES;
        if reuse {
            self.release(address, pages, keep);
        }
        keep
    }

    /// Marks the pages free; `resident`: their memory was kept.
    fn release(&mut self, address: usize, pages: usize, resident: bool) {
        for chunk in &mut self.chunks {
            if (chunk.base..chunk.base + CHUNK).contains(&address) {
                let first = (address - chunk.base) / PAGE;
                chunk.used[first..first + pages].fill(false);
                chunk.first_free = chunk.first_free.min(first);
                chunk.resident[first..first + pages].fill(resident);
                if resident {
                    self.resident_free += pages;
                }
                return;
            }
        }
    }

    /// Reserves a chunk (read-write, memory committed page by page as
    /// blocks are written), trying addresses within ±1 GiB of `anchor`
    /// first.
    fn add_chunk(&mut self, anchor: usize) -> Result<(), String> {
        let anchor = anchor & !(CHUNK - 1);
        let near = (1..64).flat_map(|k| {
            [
                anchor.wrapping_sub(k * CHUNK),
                anchor.wrapping_add(k * CHUNK),
            ]
        });
        for hint in near.chain(std::iter::once(0)) {
            let flags = libc::MAP_PRIVATE
                | libc::MAP_ANONYMOUS
                | libc::MAP_NORESERVE
                | if hint != 0 {
                    libc::MAP_FIXED_NOREPLACE
                } else {
                    0
                };
            // SAFETY: an anonymous reservation; MAP_FIXED_NOREPLACE never
            // replaces an existing mapping.
            let p = unsafe {
                libc::mmap(
                    hint as *mut _,
                    CHUNK,
                    libc::PROT_READ | libc::PROT_WRITE,
                    flags,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                continue;
            }
            if hint != 0 && p as usize != hint {
                // An old kernel ignored MAP_FIXED_NOREPLACE: give it back.
                // SAFETY: `p` was just mapped by us.
                unsafe { libc::munmap(p, CHUNK) };
                continue;
            }
            self.chunks.push(Chunk::new(p as usize));
            return Ok(());
        }
        Err(format!(
            "cannot reserve code memory: {}",
            std::io::Error::last_os_error()
        ))
    }
}

#[cfg(test)]
thread_local! {
    /// Makes this thread's next [`CodeMemory::new`] fail, as when the
    /// address space has run out.
    static FAIL_NEXT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Makes the calling thread's next allocation fail (tests).
#[cfg(test)]
pub(crate) fn fail_next_allocation() {
    FAIL_NEXT.set(true);
}

/// Held by the tests that take blocks from the process's arena, which the
/// test harness runs on parallel threads: a block freed by one could be
/// taken by another before the first looks at the freed page.
#[cfg(test)]
pub(crate) fn arena_test_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "mmap and executable memory: not under Miri")]
    fn blocks_fit_their_pages_and_are_reused() {
        let _arena = arena_test_lock();
        let anchor = blocks_fit_their_pages_and_are_reused as *const () as usize;
        let a = CodeMemory::new(10, anchor).unwrap();
        assert_eq!(a.address() % ALIGN, 0);
        // The usable bytes run to the end of the block's last page.
        assert_eq!((a.address() + a.len()) % PAGE, 0);
        assert!((10..=PAGE).contains(&a.len()));
        let b = CodeMemory::new(PAGE + 200, anchor).unwrap();
        assert_eq!(b.address() % ALIGN, 0);
        assert_eq!((b.address() + b.len()) % PAGE, 0);
        assert!((PAGE + 200..=2 * PAGE).contains(&b.len()));
        let freed = a.address() & !(PAGE - 1);
        assert!(ARENA.lock().unwrap().page_used(freed));
        drop(a);
        assert!(!ARENA.lock().unwrap().page_used(freed));
    }

    #[test]
    fn blocks_of_one_size_start_on_every_line_their_slack_allows() {
        for slack in (0..PAGE).step_by(ALIGN / 2) {
            let lines = slack / ALIGN + 1;
            let starts: std::collections::BTreeSet<usize> =
                (0..lines).map(|n| nth_start(slack, n)).collect();
            assert_eq!(starts.len(), lines, "slack {slack}");
            assert!(starts.iter().all(|&s| s % ALIGN == 0 && s <= slack));
        }
        // Successive blocks' first lines fall in different cache sets.
        for slack in [PAGE - 300, 36 * ALIGN] {
            assert_ne!(nth_start(slack, 7) % PAGE, nth_start(slack, 8) % PAGE);
        }
    }

    /// An arena of its own, one chunk at a made-up address (never mapped).
    fn made_up_arena(base: usize) -> Arena {
        Arena {
            chunks: vec![Chunk::new(base)],
            resident_free: 0,
        }
    }

    #[test]
    fn freed_pages_are_kept_up_to_the_cap_for_reuse() {
        let base = 0x7000_0000_0000;
        let mut arena = made_up_arena(base);
        let (a, reused) = arena.find(2).unwrap();
        assert_eq!((a, reused), (base, false));
        let (b, _) = arena.find(RESIDENT_FREE_PAGES).unwrap();
        assert!(arena.free(a, 2, true));
        assert_eq!(arena.resident_free, 2);
        // Past the cap, the memory goes back.
        assert!(!arena.free(b, RESIDENT_FREE_PAGES, true));
        assert_eq!(arena.resident_free, 2);
        // First fit takes the kept pages back, and says so.
        assert_eq!(arena.find(1), Some((base, true)));
        assert_eq!(arena.resident_free, 1);
        assert_eq!(arena.find(1), Some((base + PAGE, true)));
        assert_eq!(arena.find(1), Some((base + 2 * PAGE, false)));
        assert_eq!(arena.resident_free, 0);
        // Without reuse (a perf map), pages stay out of use.
        assert!(!arena.free(base, 1, false));
        assert_eq!(arena.find(1), Some((base + 3 * PAGE, false)));
    }

    #[test]
    fn first_fit_starts_at_the_first_free_page() {
        let base = 0x7000_0000_0000;
        let mut arena = made_up_arena(base);
        assert_eq!(arena.find(3), Some((base, false)));
        assert_eq!(arena.find(2), Some((base + 3 * PAGE, false)));
        assert_eq!(arena.chunks[0].first_free, 5);
        // A hole too small for the next block: it goes past, the hole stays
        // where first fit starts.
        arena.free(base, 3, true);
        assert_eq!(arena.chunks[0].first_free, 0);
        assert_eq!(arena.find(4), Some((base + 5 * PAGE, false)));
        assert_eq!(arena.chunks[0].first_free, 0);
        assert_eq!(arena.find(2), Some((base, true)));
        assert_eq!(arena.chunks[0].first_free, 2);
        // Filling the hole moves the start past every used page.
        assert_eq!(arena.find(1), Some((base + 2 * PAGE, true)));
        assert_eq!(arena.chunks[0].first_free, 9);
        assert_eq!(arena.find(1), Some((base + 9 * PAGE, false)));
        // A full chunk: nothing found, and the next chunk (none) is asked.
        assert_eq!(arena.find(CHUNK_PAGES), None);
    }

    #[test]
    #[cfg_attr(miri, ignore = "mmap and executable memory: not under Miri")]
    fn blocks_on_kept_pages_start_zeroed() {
        let _arena = arena_test_lock();
        let anchor = blocks_on_kept_pages_start_zeroed as *const () as usize;
        for _ in 0..4 {
            let mut b = CodeMemory::new(100, anchor).unwrap();
            assert!(b.bytes_mut().iter().all(|&x| x == 0));
            b.bytes_mut().fill(0xC3);
            b.make_executable().unwrap();
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "mmap and executable memory: not under Miri")]
    fn written_code_runs_once_executable() {
        let _arena = arena_test_lock();
        let mut m =
            CodeMemory::new(16, written_code_runs_once_executable as *const () as usize).unwrap();
        // mov eax, 42; ret
        m.bytes_mut()[..6].copy_from_slice(&[0xB8, 42, 0, 0, 0, 0xC3]);
        m.make_executable().unwrap();
        // SAFETY: the block holds a complete function with the C ABI.
        let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(m.address()) };
        assert_eq!(f(), 42);
    }

    #[test]
    #[cfg_attr(miri, ignore = "mmap and executable memory: not under Miri")]
    fn rewritten_code_runs_the_new_bytes() {
        let _arena = arena_test_lock();
        let mut m =
            CodeMemory::new(16, rewritten_code_runs_the_new_bytes as *const () as usize).unwrap();
        m.bytes_mut()[..6].copy_from_slice(&[0xB8, 42, 0, 0, 0, 0xC3]);
        m.make_executable().unwrap();
        // mov eax, 7
        // SAFETY: nothing runs the block meanwhile.
        unsafe { m.rewrite(&[(0, [0xB8, 7, 0, 0, 0])]) }.unwrap();
        // SAFETY: the block holds a complete function with the C ABI.
        let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(m.address()) };
        assert_eq!(f(), 7);
    }
}
