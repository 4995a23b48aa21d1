//! `a[i:j]` and `a[i:j] = v` (`BINARY_SLICE`, `STORE_SLICE`) from compiled
//! code. The interpreter builds a slice object, then the container's
//! `mp_subscript`/`mp_ass_subscript` unpacks it again (`PySlice_Unpack`,
//! `_PyEval_SliceIndex`, `PySlice_AdjustIndices`): for the exact lists,
//! tuples, strs and bytes most slices are taken of, with bounds that are
//! `None` or ints of one digit (whose conversion runs no code), the helpers
//! compute the bounds as that unpacking would and call the container's own
//! slice function, which is what its subscript calls for a step of 1.
//! Anything else takes the interpreter's way.

use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::inline::*;
use jitsaw_cpython313::layout::PyObject;

/// A slice bound as `PySlice_Unpack` reads it for a step of 1: `None` is
/// `default`, a one-digit exact int its value; `None` (the Rust one) for
/// anything whose conversion could run code or clamp.
#[inline(always)]
unsafe fn bound(o: *mut PyObject, default: isize) -> Option<isize> {
    if o == none() {
        Some(default)
    } else if is_int(o) && long_is_compact(o) {
        Some(long_compact_value(o))
    } else {
        None
    }
}

/// `PySlice_AdjustIndices(len, start, stop, 1)`'s bounds: negative ones
/// count from the end, then both are clamped to `0..=len`. (The slice's
/// length, `stop - start` when positive, is left to the slice functions,
/// which clamp `stop` up to `start` themselves.)
#[inline(always)]
fn adjust(len: isize, i: isize) -> isize {
    if i < 0 {
        (i + len).max(0)
    } else {
        i.min(len)
    }
}

/// Both bounds of `[start:stop]` for a container of `len` items, adjusted;
/// `None` when either takes the interpreter's way.
#[inline(always)]
unsafe fn bounds(len: isize, start: *mut PyObject, stop: *mut PyObject) -> Option<(isize, isize)> {
    let start = bound(start, 0)?;
    let stop = bound(stop, isize::MAX)?;
    Some((adjust(len, start), adjust(len, stop)))
}

/// `container[start:stop]`, all three borrowed: a new reference, or NULL
/// with an error.
pub(super) unsafe extern "C" fn helper_binary_slice(
    container: *mut PyObject,
    start: *mut PyObject,
    stop: *mut PyObject,
) -> *mut PyObject {
    if is_list(container) {
        if let Some((i, j)) = bounds(ob_size(container), start, stop) {
            return PyList_GetSlice(container, i, j);
        }
    } else if is_tuple(container) {
        if let Some((i, j)) = bounds(ob_size(container), start, stop) {
            return PyTuple_GetSlice(container, i, j);
        }
    } else if is_str(container) {
        let len = pyo3::ffi::PyUnicode_GetLength(container.cast());
        if let Some((i, j)) = bounds(len, start, stop) {
            return PyUnicode_Substring(container, i, j);
        }
    } else if is_type(container, &raw mut PyBytes_Type) {
        if let Some((i, j)) = bounds(ob_size(container), start, stop) {
            return bytes_slice(container, i, j);
        }
    }
    let slice = PySlice_New(start, stop, std::ptr::null_mut());
    if slice.is_null() {
        return slice;
    }
    let result = PyObject_GetItem(container, slice);
    decref(slice);
    result
}

/// `bytes_subscript`'s slice with a step of 1, of adjusted bounds: the
/// empty bytes, the object itself when whole, else a copy of the bytes
/// (`PyBytes_FromStringAndSize` answers one byte with its cached object).
unsafe fn bytes_slice(b: *mut PyObject, start: isize, stop: isize) -> *mut PyObject {
    let len = ob_size(b);
    if stop <= start {
        PyBytes_FromStringAndSize(c"".as_ptr().cast(), 0)
    } else if start == 0 && stop == len {
        new_ref(b)
    } else {
        PyBytes_FromStringAndSize(PyBytes_AsString(b).add(start as usize), stop - start)
    }
}

/// `container[start:stop] = value`, all four borrowed: 0, or -1 with an
/// error. A list's slice assignment takes the value through
/// `PySequence_Fast` first, whose error message differs from the one its
/// slice function gives: only exact lists and tuples, for which it cannot
/// fail, take the short way.
pub(super) unsafe extern "C" fn helper_store_slice(
    container: *mut PyObject,
    start: *mut PyObject,
    stop: *mut PyObject,
    value: *mut PyObject,
) -> i32 {
    if is_list(container) && (is_list(value) || is_tuple(value)) {
        if let Some((i, j)) = bounds(ob_size(container), start, stop) {
            return PyList_SetSlice(container, i, j, value);
        }
    }
    let slice = PySlice_New(start, stop, std::ptr::null_mut());
    if slice.is_null() {
        return -1;
    }
    let err = PyObject_SetItem(container, slice, value);
    decref(slice);
    err
}
