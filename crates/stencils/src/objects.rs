//! Making and freeing ints and floats without the detours CPython's generic
//! entry points take from a stencil: the float freelist is reached through
//! the thread state in r14 instead of a thread-local lookup, and ints come
//! from a freelist of jitsaw's own (3.13 has none for ints). What is rare
//! goes out of line (freeing, allocating past the freelists): each copy of
//! a stencil costs instruction cache.
//!
//! The objects made are exactly those CPython makes (same type, refcount,
//! digits, small-int singletons). When a reference tracer
//! (`PyRefTracer_SetTracer`) or tracemalloc is active, everything goes
//! through CPython's own functions, so those tools see every event they
//! would without the JIT.

use crate::abi::Ts;
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::inline::{
    allocations_watched, field_ptr, interp, is_float, is_immortal, is_small_int, long_extra_digits,
    long_write, ref_tracer_set,
};
use jitsaw_cpython313::layout::{PyFloatObject, PyLongObject, PyObject};
use jitsaw_cpython313::off;

extern "C" {
    /// jitsaw's int freelist: `heads[4]` then `counts[4]` (the runtime's
    /// storage, which also pushes freed ints on it).
    static mut jitsaw_int_freelist: [u64; 8];
}

/// `Py_DECREF`; a dead object goes to `jitsaw_dealloc`, which frees exact
/// ints into jitsaw's freelist (out of line, to keep stencils small).
#[inline(always)]
pub unsafe fn decref(o: *mut PyObject) {
    release(o, crate::helpers::jitsaw_dealloc)
}

/// `Py_DECREF` of an object the caller knows frees without running code:
/// a dead one goes straight to `_Py_Dealloc` (`jitsaw_free_quietly`),
/// without `jitsaw_dealloc` pointing the frame at the instruction first.
#[inline(always)]
pub unsafe fn decref_quietly(o: *mut PyObject) {
    release(o, crate::helpers::jitsaw_free_quietly)
}

/// `Py_DECREF` with `free` for a dead object.
#[inline(always)]
unsafe fn release(o: *mut PyObject, free: unsafe extern "C" fn(*mut PyObject)) {
    if is_immortal(o) {
        return;
    }
    let rc = (*o).ob_refcnt - 1;
    (*o).ob_refcnt = rc;
    if rc == 0 {
        free(o);
    }
}

/// `Py_DECREF` of an exact int: [`decref`], whose `jitsaw_dealloc` puts
/// it on jitsaw's int freelist (out of line: inline, two frees were a
/// third of an int operator's code).
#[inline(always)]
pub unsafe fn int_decref(o: *mut PyObject) {
    decref(o)
}

/// `Py_XDECREF` with [`decref`].
#[inline(always)]
pub unsafe fn xdecref(o: *mut PyObject) {
    if !o.is_null() {
        decref(o);
    }
}

/// The values of two ints that are both compact (zero or one digit, as
/// most are): one branch on both tags, then `_PyLong_CompactValue` of
/// each. Their sum, difference and product fit a word.
#[inline(always)]
pub unsafe fn compact_pair(a: *mut PyObject, b: *mut PyObject) -> Option<(i64, i64)> {
    let (a, b) = (a.cast::<PyLongObject>(), b.cast::<PyLongObject>());
    let (ta, tb) = ((*a).lv_tag, (*b).lv_tag);
    // Unlikely, so that the compiler lays the way of larger ints out after
    // the main path, in the stencil's cold part (an int `+`'s hot part
    // 669 -> 410 bytes).
    if core::hint::unlikely((ta | tb) >= 2 << off::LONG_NON_SIZE_BITS) {
        return None;
    }
    // As in `int_value`: `1 - sign bits` is the sign.
    let value = |l: *mut PyLongObject, tag: usize| {
        (1 - (tag & off::LONG_SIGN_MASK as usize) as i64) * *(*l).ob_digit.as_ptr() as i64
    };
    Some((value(a, ta), value(b, tb)))
}

/// The value of an int of at most two 30-bit digits.
#[inline(always)]
pub unsafe fn int_value(o: *mut PyObject) -> Option<i64> {
    let l = o.cast::<PyLongObject>();
    let tag = (*l).lv_tag;
    let digits = (*l).ob_digit.as_ptr();
    // Compact (zero or one digit), the common case: the sign bits are 0
    // (positive), 1 (zero, whose digit is 0) or 2 (negative), so
    // `1 - sign` is the sign itself, as in CPython's
    // `_PyLong_CompactValue`.
    if tag < 2 << off::LONG_NON_SIZE_BITS {
        let sign = 1 - (tag & off::LONG_SIGN_MASK as usize) as i64;
        return Some(sign * *digits as i64);
    }
    if tag >> off::LONG_NON_SIZE_BITS != 2 {
        return None;
    }
    let magnitude = *digits as i64 | (*digits.add(1) as i64) << off::LONG_SHIFT;
    Some(if tag & off::LONG_SIGN_MASK as usize == 0 {
        magnitude
    } else {
        -magnitude
    })
}

/// A new int for `v` (|v| < 2^63): a small-int singleton, or a new object
/// as `PyLong_FromLongLong` makes it, from jitsaw's freelist in line and
/// else out of line (`jitsaw_int_new`, with CPython's allocator). NULL
/// with an error set on failure.
#[inline(always)]
pub unsafe fn int_new(v: i64) -> *mut PyObject {
    if is_small_int(v) {
        let index = (v + off::NSMALLNEGINTS) as usize;
        return (&raw mut _PyRuntime)
            .add(off::RUNTIME_SMALL_INTS + index * off::LONG_OBJECT_SIZE)
            .cast();
    }
    let ndigits = 1 + long_extra_digits(v.unsigned_abs());
    let freelist = (&raw mut jitsaw_int_freelist).cast::<u64>();
    let head = freelist.add(ndigits);
    if *head == 0 || allocations_watched() {
        return crate::helpers::jitsaw_int_new(v);
    }
    let o = *head as *mut PyObject;
    *head = (*o).ob_type as u64;
    *freelist.add(4 + ndigits) -= 1;
    (*o).ob_type = &raw mut PyLong_Type;
    (*o).ob_refcnt = 1;
    long_write(o, ndigits, v);
    o
}

/// The int result `v` (|v| < 2^63) of an operation on the exact ints
/// `left` and `right`, which it releases where `owned` (the others were
/// borrowed). A result that is not a small int goes into an owned input
/// this was the last reference to, when that has room for its digits,
/// instead of a new object: the input dies here, so nothing can tell
/// (CPython's float arithmetic reuses dying inputs the same way). Chains of
/// int arithmetic on temporaries, `(i + j) * (i + j + 1) // 2`, then
/// allocate nothing. Not while a reference tracer or tracemalloc watches
/// allocations. NULL with an error set (the inputs released) on failure.
#[inline(always)]
pub unsafe fn int_result(
    left: *mut PyObject,
    right: *mut PyObject,
    owned: (bool, bool),
    v: i64,
) -> *mut PyObject {
    if !is_small_int(v) {
        let ndigits = 1 + long_extra_digits(v.unsigned_abs());
        let room = |o: *mut PyObject| {
            (*o).ob_refcnt == 1
                && ndigits <= (*o.cast::<PyLongObject>()).lv_tag >> off::LONG_NON_SIZE_BITS
        };
        let (reuse, other, other_owned) = if owned.0 && room(left) {
            (left, right, owned.1)
        } else if owned.1 && room(right) {
            (right, left, owned.0)
        } else {
            (core::ptr::null_mut(), core::ptr::null_mut(), false)
        };
        if !reuse.is_null() && !allocations_watched() {
            long_write(reuse, ndigits, v);
            if other_owned {
                int_decref(other);
            }
            return reuse;
        }
    }
    let res = int_new(v);
    if owned.0 {
        int_decref(left);
    }
    if owned.1 {
        int_decref(right);
    }
    res
}

/// `PyFloat_FromDouble(v)`, popping CPython's float freelist directly.
#[inline(always)]
pub unsafe fn float_new(ts: Ts, v: f64) -> *mut PyObject {
    let i = interp(ts).cast::<u8>();
    let items = field_ptr::<*mut PyObject>(i, off::INTERP_FLOAT_FREELIST_ITEMS);
    let o = *items;
    if o.is_null() || ref_tracer_set() {
        // Laid out after the freelist's path, which rustc put last.
        core::hint::cold_path();
        return crate::helpers::jitsaw_float_new(v);
    }
    *items = (*o).ob_type.cast();
    *field_ptr::<i32>(i, off::INTERP_FLOAT_FREELIST_NUMFREE) -= 1;
    (*o).ob_type = &raw mut PyFloat_Type;
    (*o).ob_refcnt = 1;
    (*o.cast::<PyFloatObject>()).ob_fval = v;
    o
}

/// Whether `o`, a local's value about to be replaced by a float, is an
/// exact float referenced by that local alone, so that the new value can be
/// written into it instead of freeing it and allocating another: nothing
/// else can see the object, and the freelist would have handed the same
/// kind of memory out. Not when a reference tracer is set, which sees every
/// allocation and free.
#[inline(always)]
pub unsafe fn float_reusable(o: *mut PyObject) -> bool {
    !o.is_null() && is_float(o) && (*o).ob_refcnt == 1 && !ref_tracer_set()
}

/// `Py_DECREF` of an exact float, pushing it on CPython's float freelist
/// (`_PyFloat_ExactDealloc`) when it dies.
#[inline(always)]
pub unsafe fn float_decref(ts: Ts, o: *mut PyObject) {
    if is_immortal(o) {
        return;
    }
    let rc = (*o).ob_refcnt - 1;
    (*o).ob_refcnt = rc;
    if rc != 0 {
        return;
    }
    let i = interp(ts).cast::<u8>();
    let numfree = field_ptr::<i32>(i, off::INTERP_FLOAT_FREELIST_NUMFREE);
    if ref_tracer_set() || *numfree >= off::FLOAT_MAXFREELIST as i32 || *numfree < 0 {
        // A loop that makes a float and lets one die keeps the freelist
        // short of full: the push below is the way taken, and without
        // the hint rustc laid it out in the stencil's cold part.
        core::hint::cold_path();
        _Py_Dealloc(o);
        return;
    }
    let items = field_ptr::<*mut PyObject>(i, off::INTERP_FLOAT_FREELIST_ITEMS);
    (*o).ob_type = (*items).cast();
    *items = o;
    *numfree += 1;
}
