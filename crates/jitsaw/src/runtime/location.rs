//! Which instruction compiled code at a machine address belongs to.
//!
//! The interpreter points `frame->instr_ptr` at every instruction it runs,
//! and code run while an object is deallocated (`__del__`, weakref
//! callbacks, a `ResourceWarning`) can see it: a line number, a warning's
//! location. Compiled code sets it (`_SET_IP`) only before micro-ops that
//! call out, and the most common call out, deallocating an object whose
//! refcount reached zero, is rare enough to find the instruction then from
//! the call's return address instead: micro-ops whose only call is
//! `jitsaw_dealloc` need no `_SET_IP`.

use super::GilCell;
use crate::codegen::Compiled;
use std::collections::BTreeMap;

/// Slots in the cache of recent return addresses (a power of two): 64 KiB.
/// A big program has thousands of such sites in hot code (sympy's
/// `integrate`: 1 024 slots left 1 % of its time to [`look_up`], 4 096
/// 0.3 %).
const CACHE_SLOTS: usize = 4096;

/// A cached lookup: return address, and [`pack`]ed `instr_ptr` and its
/// code unit's index (16 bytes, so that the cache is 64 KiB, not 96).
type Slot = (usize, u64);

/// Bits of a packed slot's `instr_ptr` (user-space addresses have 47).
const IP_BITS: u32 = 48;

/// `instr_ptr` and the code's first code unit in one word: the pointer in
/// the low [`IP_BITS`], its code unit's index in the rest; `None` (not
/// cached) for an index too large or an address too high to pack.
fn pack((ip, code_start): (u64, u64)) -> Option<u64> {
    let index = ip.checked_sub(code_start)? / 2;
    (ip >> IP_BITS == 0 && index >> (64 - IP_BITS) == 0).then_some(ip | index << IP_BITS)
}

/// The `instr_ptr` and the code's first code unit a packed word holds.
#[inline(always)]
fn unpack(word: u64) -> (u64, u64) {
    let ip = word & ((1 << IP_BITS) - 1);
    (ip, ip - 2 * (word >> IP_BITS))
}

/// Recent lookups, by return address: most deallocations that need one
/// come from a few call sites in hot code. A plain array (no lazy
/// initialization), so that a hit costs a few instructions; two ways per
/// set, so that two hot call sites whose addresses fall into one set (it
/// happens, and then every lookup of both would miss) both stay.
struct Cache(std::cell::UnsafeCell<[Slot; CACHE_SLOTS]>);

// SAFETY: accessed only with the GIL held, which serializes the accesses.
unsafe impl Sync for Cache {}

static CACHE: Cache = Cache(std::cell::UnsafeCell::new([(0, 0); CACHE_SLOTS]));

/// Every registered compilation: start address → (end address,
/// compilation).
static BY_START: GilCell<BTreeMap<usize, (usize, *const Compiled)>> = GilCell::new();

/// Makes `compiled`'s code findable by address until [`forget`].
///
/// # Safety
/// The GIL is held, and `compiled` stays where it is until [`forget`].
pub unsafe fn register(compiled: *const Compiled) {
    let c = &*compiled;
    let start = c.memory.address();
    BY_START.get().insert(start, (start + c.size, compiled));
}

/// Forgets the code starting at `start` (its memory is about to be freed:
/// cached return addresses into it go too, and only those, if the cache
/// took any (`cached`): provisional and superseded code is freed all the
/// time in a big program, and emptying the whole cache each time sent most
/// deallocations in sympy's `integrate` to [`look_up`], 1.4 % of its time;
/// looking through the cache for code that never had an address in it was
/// a fifth of what compiling a function takes).
///
/// # Safety
/// The GIL is held.
pub unsafe fn forget(start: usize, cached: bool) {
    let Some((end, _)) = BY_START.get().remove(&start) else {
        return;
    };
    if cached {
        for slot in (*CACHE.0.get()).iter_mut() {
            if (start..=end).contains(&slot.0) {
                *slot = (0, 0);
            }
        }
    }
}

/// The `instr_ptr` of the instruction whose compiled code called out with
/// return address `ret`, and the address of its code object's first code
/// unit (to check the frame); `None` outside registered code.
///
/// # Safety
/// The GIL is held.
#[inline]
pub unsafe fn instr_ptr_at(ret: usize) -> Option<(u64, u64)> {
    if let Some(found) = cached_instr_ptr_at(ret) {
        return Some(found);
    }
    let set = cache_set(ret);
    let cache = &mut *CACHE.0.get();
    let ways = &mut cache[set..set + 2];
    let (found, compiled) = look_up(ret)?;
    if let Some(word) = pack(found) {
        (*compiled)
            .returns_cached
            .store(true, std::sync::atomic::Ordering::Relaxed);
        // The newer entry first; the older one stays in the second way.
        ways[1] = ways[0];
        ways[0] = (ret, word);
    }
    Some(found)
}

/// [`instr_ptr_at`] from the cache alone (`None` when `ret` is not in it):
/// no call, for callers that keep their quick way free of calls.
///
/// # Safety
/// The GIL is held.
#[inline(always)]
pub unsafe fn cached_instr_ptr_at(ret: usize) -> Option<(u64, u64)> {
    let set = cache_set(ret);
    let cache = &*CACHE.0.get();
    let ways = &cache[set..set + 2];
    ways.iter()
        .find(|way| way.0 == ret)
        .map(|way| unpack(way.1))
}

/// The first slot of `ret`'s set in the cache.
#[inline(always)]
fn cache_set(ret: usize) -> usize {
    // A multiplicative hash spreads nearby addresses over the sets.
    (ret.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % (CACHE_SLOTS / 2) * 2
}

/// [`instr_ptr_at`] without the cache, with the compilation found.
#[cold]
unsafe fn look_up(ret: usize) -> Option<((u64, u64), *const Compiled)> {
    let (_, &(end, compiled)) = BY_START.get().range(..ret).next_back()?;
    if ret > end {
        return None;
    }
    let c = &*compiled;
    // The call itself, not what follows it (the next piece, when the
    // call ended one whose final jump was dropped).
    let ip = c.instr_ptr_at(ret - 1)?;
    Some(((ip, c.code_start), compiled))
}

#[cfg(test)]
mod tests {
    use super::{pack, unpack};

    #[test]
    fn packed_slots_give_back_what_was_packed_or_refuse() {
        let start = 0x7f12_3456_7000u64;
        for index in [0u64, 1, 57, 0xffff] {
            let ip = start + 2 * index;
            assert_eq!(unpack(pack((ip, start)).unwrap()), (ip, start));
        }
        // An index past 16 bits, an address past 48 bits, an instruction
        // before its code's start: not cached.
        assert_eq!(pack((start + 2 * 0x1_0000, start)), None);
        assert_eq!(pack((1 << 50, (1 << 50) - 8)), None);
        assert_eq!(pack((start, start + 2)), None);
    }
}
