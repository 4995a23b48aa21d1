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

/// Slots in the cache of recent return addresses.
const CACHE_SLOTS: usize = 256;

/// Every registered compilation by the address of its code, and a cache of
/// recent lookups.
struct Locations {
    /// Start address → (end address, compilation).
    by_start: BTreeMap<usize, (usize, *const Compiled)>,
    /// (return address, `instr_ptr`, the code's first code unit).
    cache: Box<[(usize, u64, u64); CACHE_SLOTS]>,
}

impl Default for Locations {
    fn default() -> Self {
        Locations {
            by_start: BTreeMap::new(),
            cache: Box::new([(0, 0, 0); CACHE_SLOTS]),
        }
    }
}

static LOCATIONS: GilCell<Locations> = GilCell::new();

/// Makes `compiled`'s code findable by address until [`forget`].
///
/// # Safety
/// The GIL is held, and `compiled` stays where it is until [`forget`].
pub unsafe fn register(compiled: *const Compiled) {
    let c = &*compiled;
    let start = c.memory.address();
    LOCATIONS
        .get()
        .by_start
        .insert(start, (start + c.size, compiled));
}

/// Forgets the code starting at `start` (its memory is about to be freed:
/// cached return addresses into it go too).
///
/// # Safety
/// The GIL is held.
pub unsafe fn forget(start: usize) {
    let l = LOCATIONS.get();
    if l.by_start.remove(&start).is_some() {
        l.cache.fill((0, 0, 0));
    }
}

/// The `instr_ptr` of the instruction whose compiled code called out with
/// return address `ret`, and the address of its code object's first code
/// unit (to check the frame); `None` outside registered code.
///
/// # Safety
/// The GIL is held.
pub unsafe fn instr_ptr_at(ret: usize) -> Option<(u64, u64)> {
    let l = LOCATIONS.get();
    let slot = &mut l.cache[(ret >> 2) % CACHE_SLOTS];
    if slot.0 == ret {
        return Some((slot.1, slot.2));
    }
    let (_, &(end, compiled)) = l.by_start.range(..ret).next_back()?;
    if ret > end {
        return None;
    }
    let c = &*compiled;
    // The call itself, not what follows it (the next piece, when the
    // call ended one whose final jump was dropped).
    let ip = c.instr_ptr_at(ret - 1)?;
    *slot = (ret, ip, c.code_start);
    Some((ip, c.code_start))
}
