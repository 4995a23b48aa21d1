//! `BINARY_SUBSCR`, `STORE_SUBSCR`, `DELETE_SUBSCR` and slices.

use crate::abi::*;
use crate::helpers::{
    jitsaw_binary_slice, jitsaw_get_item, jitsaw_set_item, jitsaw_slot_mp_ass_subscript,
    jitsaw_slot_mp_subscript, jitsaw_store_slice,
};
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::off;

/// `PyObject_GetItem`: the container's `mp_subscript` called as that
/// calls it first, or `jitsaw_get_item` when that is `slot_mp_subscript`
/// (a class defining `__getitem__` in Python, whose method it runs
/// directly).
#[inline(always)]
unsafe fn get_item(ts: Ts, container: *mut PyObject, sub: *mut PyObject) -> *mut PyObject {
    type Subscript = unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> *mut PyObject;
    let slot = type_slot(
        container,
        off::TYPE_TP_AS_MAPPING,
        off::MAPPING_MP_SUBSCRIPT,
    );
    if slot == (&raw const jitsaw_slot_mp_subscript) as usize {
        jitsaw_get_item(ts, container, sub)
    } else if slot != 0 {
        core::mem::transmute::<usize, Subscript>(slot)(container, sub)
    } else {
        PyObject_GetItem(container, sub)
    }
}

/// `PyObject_SetItem`, as [`get_item`] with `mp_ass_subscript`,
/// `slot_mp_ass_subscript` and `jitsaw_set_item`.
#[inline(always)]
unsafe fn set_item(
    ts: Ts,
    container: *mut PyObject,
    sub: *mut PyObject,
    value: *mut PyObject,
) -> i32 {
    type AssSubscript = unsafe extern "C" fn(*mut PyObject, *mut PyObject, *mut PyObject) -> i32;
    let slot = type_slot(
        container,
        off::TYPE_TP_AS_MAPPING,
        off::MAPPING_MP_ASS_SUBSCRIPT,
    );
    if slot == (&raw const jitsaw_slot_mp_ass_subscript) as usize {
        jitsaw_set_item(ts, container, sub, value)
    } else if slot != 0 {
        core::mem::transmute::<usize, AssSubscript>(slot)(container, sub, value)
    } else {
        PyObject_SetItem(container, sub, value)
    }
}

stencil!(fn _BINARY_SUBSCR(f, sp, ts) {
    binary_call!(f, sp, ts, |c, s| get_item(ts, c, s))
});

/// The generic `STORE_SUBSCR`: `container[sub] = value` (a class's
/// `__setitem__` run directly by `jitsaw_set_item`).
macro_rules! store_subscr {
    ($f:ident, $sp:ident, $ts:ident) => {{
        let (value, container, sub) = (peek($sp, 3), peek($sp, 2), peek($sp, 1));
        let err = set_item($ts, container, sub, value);
        decref(value);
        decref(container);
        decref(sub);
        if err != 0 {
            error!($f, $sp.sub(3), $ts)
        }
        next!($f, $sp.sub(3), $ts)
    }};
}

/// The item a one-digit int `sub` indexes in a sequence of `len` items, as
/// `list_subscript` and `unicode_subscript` compute it (a negative index
/// counts from the end); out of range (negative included) it is
/// `usize::MAX` or at least `len`, which the callers' one comparison rules
/// out.
#[inline(always)]
unsafe fn item_index(sub: *mut PyObject, len: isize) -> usize {
    let i = long_compact_value(sub);
    (if i < 0 { i + len } else { i }) as usize
}

/// A str's length in characters.
#[inline(always)]
unsafe fn str_length(s: *mut PyObject) -> isize {
    field::<isize>(s.cast(), jitsaw_cpython313::off::UNICODE_LENGTH)
}

stencil!(
    /// An unspecialized `BINARY_SUBSCR` with a fast path for a list or
    /// tuple indexed by a one-digit int in range, counting from the end
    /// when negative (`stack[-1]`, which CPython does not specialize), and
    /// for a str's ASCII character so indexed (`line[-1]`).
    fn _BINARY_SUBSCR_ADAPTIVE(f, sp, ts) {
        let (container, sub) = (peek(sp, 2), peek(sp, 1));
        if is_int(sub) && long_is_compact(sub) {
            let items = tuple_or_list_items(container);
            if !items.is_null() {
                let index = item_index(sub, ob_size(container));
                if index < ob_size(container) as usize {
                    let res = new_ref(*items.add(index));
                    decref(sub);
                    decref(container);
                    poke(sp, 2, res);
                    next!(f, sp.sub(1), ts)
                }
            } else if is_str(container) {
                // `unicode_getitem`: a character below 128 is its cached
                // one-character str, as `_BINARY_SUBSCR_STR_INT` answers.
                let length = str_length(container);
                let index = item_index(sub, length);
                if index < length as usize {
                    let c = PyUnicode_ReadChar(container, index as isize) as usize;
                    if c < 128 {
                        decref(sub);
                        decref(container);
                        poke(sp, 2, ascii_char(c));
                        next!(f, sp.sub(1), ts)
                    }
                }
            }
        }
        binary_call!(f, sp, ts, |c, s| get_item(ts, c, s))
    }
);

stencil!(
    /// An unspecialized `STORE_SUBSCR` with a fast path for a list indexed
    /// by a one-digit int in range, counting from the end when negative.
    fn _STORE_SUBSCR_ADAPTIVE(f, sp, ts) {
        let (value, container, sub) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
        if is_list(container) && is_int(sub) && long_is_compact(sub) {
            let index = item_index(sub, ob_size(container));
            if index < ob_size(container) as usize {
                let slot = list_items(container).add(index);
                let old = *slot;
                *slot = value;
                decref(old);
                decref(sub);
                decref(container);
                next!(f, sp.sub(3), ts)
            }
        }
        store_subscr!(f, sp, ts)
    }
);

/// `seq[sub]` of a list or tuple (`$is`, `$item`) by a non-negative int in
/// range, else a deopt. Which inputs are owned (released here); the others
/// are borrowed (`optimize::borrow`: pushed without new references) and get
/// one before a deopt, so that the interpreter or the fallback owns the
/// stack as it expects.
macro_rules! subscr_int {
    ($f:ident, $sp:ident, $ts:ident, $is:ident, $item:expr, owned: $left:literal, $right:literal) => {{
        let (seq, sub) = (peek($sp, 2), peek($sp, 1));
        let fits = is_int(sub) && $is(seq) && long_is_nonneg_compact(sub);
        if !fits || long_digit0(sub) >= ob_size(seq) as usize {
            deopt_borrowed!($f, $sp, $ts; !$left => seq, !$right => sub)
        }
        let res = new_ref($item(seq, long_digit0(sub)));
        if $right {
            decref(sub);
        }
        if $left {
            decref(seq);
        }
        poke($sp, 2, res);
        next!($f, $sp.sub(1), $ts)
    }};
}

/// Item `i` of a list.
#[inline(always)]
unsafe fn list_item(list: *mut PyObject, i: usize) -> *mut PyObject {
    *list_items(list).add(i)
}

stencil!(fn _BINARY_SUBSCR_LIST_INT(f, sp, ts) {
    subscr_int!(f, sp, ts, is_list, list_item, owned: true, true)
});

stencil!(fn _BINARY_SUBSCR_TUPLE_INT(f, sp, ts) {
    subscr_int!(f, sp, ts, is_tuple, tuple_item, owned: true, true)
});

stencil!(
    /// `_BINARY_SUBSCR_LIST_INT` of inputs pushed without new references.
    fn _BINARY_SUBSCR_LIST_INT_BORROWED(f, sp, ts) {
        subscr_int!(f, sp, ts, is_list, list_item, owned: false, false)
    }
);

stencil!(
    /// `_BINARY_SUBSCR_TUPLE_INT` of inputs pushed without new references.
    fn _BINARY_SUBSCR_TUPLE_INT_BORROWED(f, sp, ts) {
        subscr_int!(f, sp, ts, is_tuple, tuple_item, owned: false, false)
    }
);

stencil!(
    /// `_BINARY_SUBSCR_LIST_INT` of an index pushed without a new reference.
    fn _BINARY_SUBSCR_LIST_INT_BORROWED_RIGHT(f, sp, ts) {
        subscr_int!(f, sp, ts, is_list, list_item, owned: true, false)
    }
);

stencil!(
    /// `_BINARY_SUBSCR_TUPLE_INT` of an index pushed without a new
    /// reference.
    fn _BINARY_SUBSCR_TUPLE_INT_BORROWED_RIGHT(f, sp, ts) {
        subscr_int!(f, sp, ts, is_tuple, tuple_item, owned: true, false)
    }
);

/// `seq[sub]` in an inlined body (`optimize::inline`), where nothing may
/// run code: as `subscr_int`, but a sequence this would release the last
/// reference to (whose freeing would release its items) leaves for the
/// call instead. The index, an int, is freed inline if it dies.
macro_rules! pure_subscr_int {
    ($f:ident, $sp:ident, $ts:ident, $is:ident, $item:expr) => {{
        let (seq, sub) = (peek($sp, 2), peek($sp, 1));
        let fits = is_int(sub) && $is(seq) && long_is_nonneg_compact(sub);
        if !fits || long_digit0(sub) >= ob_size(seq) as usize || refcnt(seq) == 1 {
            deopt!($f, $sp, $ts)
        }
        let res = new_ref($item(seq, long_digit0(sub)));
        int_decref(sub);
        decref_no_dealloc(seq);
        poke($sp, 2, res);
        next!($f, $sp.sub(1), $ts)
    }};
}

stencil!(
    /// `_BINARY_SUBSCR_LIST_INT` in an inlined body (see `pure_subscr_int`).
    fn _BINARY_SUBSCR_LIST_INT_PURE(f, sp, ts) {
        pure_subscr_int!(f, sp, ts, is_list, list_item)
    }
);

stencil!(
    /// `_BINARY_SUBSCR_TUPLE_INT` in an inlined body (see
    /// `pure_subscr_int`).
    fn _BINARY_SUBSCR_TUPLE_INT_PURE(f, sp, ts) {
        pure_subscr_int!(f, sp, ts, is_tuple, tuple_item)
    }
);

stencil!(fn _BINARY_SUBSCR_STR_INT(f, sp, ts) {
    let (s, sub) = (peek(sp, 2), peek(sp, 1));
    if !is_int(sub) || !is_str(s) || !long_is_nonneg_compact(sub) {
        deopt!(f, sp, ts)
    }
    let index = long_digit0(sub);
    if index >= str_length(s) as usize {
        deopt!(f, sp, ts)
    }
    let c = PyUnicode_ReadChar(s, index as isize) as usize;
    if c >= 128 {
        deopt!(f, sp, ts)
    }
    decref(sub);
    decref(s);
    poke(sp, 2, ascii_char(c));
    next!(f, sp.sub(1), ts)
});

stencil!(fn _BINARY_SUBSCR_DICT(f, sp, ts) {
    let (dict, sub) = (peek(sp, 2), peek(sp, 1));
    if !is_dict(dict) {
        deopt!(f, sp, ts)
    }
    let mut res = core::ptr::null_mut();
    let rc = PyDict_GetItemRef(dict, sub, &mut res);
    if rc == 0 {
        _PyErr_SetKeyError(sub);
    }
    decref(dict);
    decref(sub);
    if rc <= 0 {
        error!(f, sp.sub(2), ts)
    }
    poke(sp, 2, res);
    next!(f, sp.sub(1), ts)
});

stencil!(fn _BINARY_SLICE(f, sp, ts) {
    let (container, start, stop) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
    let res = jitsaw_binary_slice(container, start, stop);
    decref(start);
    decref(stop);
    decref(container);
    if res.is_null() {
        error!(f, sp.sub(3), ts)
    }
    poke(sp, 3, res);
    next!(f, sp.sub(2), ts)
});

stencil!(fn _STORE_SLICE(f, sp, ts) {
    let (v, container, start, stop) = (peek(sp, 4), peek(sp, 3), peek(sp, 2), peek(sp, 1));
    let err = jitsaw_store_slice(container, start, stop, v);
    decref(start);
    decref(stop);
    decref(v);
    decref(container);
    if err != 0 {
        error!(f, sp.sub(4), ts)
    }
    next!(f, sp.sub(4), ts)
});

stencil!(fn _STORE_SUBSCR(f, sp, ts) {
    store_subscr!(f, sp, ts)
});

/// `list[sub] = value` by a non-negative int in range, else a deopt; the
/// value goes into the list. Which of list and index are owned, as in
/// `subscr_int`.
macro_rules! store_subscr_list_int {
    ($f:ident, $sp:ident, $ts:ident, owned: $left:literal, $right:literal) => {{
        let (value, list, sub) = (peek($sp, 3), peek($sp, 2), peek($sp, 1));
        let fits = is_int(sub) && is_list(list) && long_is_nonneg_compact(sub);
        if !fits || long_digit0(sub) >= ob_size(list) as usize {
            deopt_borrowed!($f, $sp, $ts; !$left => list, !$right => sub)
        }
        let slot = list_items(list).add(long_digit0(sub));
        let old = *slot;
        *slot = value;
        decref(old);
        if $right {
            decref(sub);
        }
        if $left {
            decref(list);
        }
        next!($f, $sp.sub(3), $ts)
    }};
}

stencil!(fn _STORE_SUBSCR_LIST_INT(f, sp, ts) {
    store_subscr_list_int!(f, sp, ts, owned: true, true)
});

stencil!(
    /// `_STORE_SUBSCR_LIST_INT` in an inlined body whose exits materialize
    /// its frame (`optimize::inline`), where nothing may run code: only
    /// over an item whose release runs none (`releases_quietly`), and of a
    /// list something else still holds (its release could free it, and
    /// its items). The index, an int, is freed inline if it dies.
    fn _STORE_SUBSCR_LIST_INT_PURE(f, sp, ts) {
        let (value, list, sub) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
        let fits = is_int(sub) && is_list(list) && long_is_nonneg_compact(sub);
        if !fits || long_digit0(sub) >= ob_size(list) as usize || refcnt(list) == 1 {
            deopt!(f, sp, ts)
        }
        let slot = list_items(list).add(long_digit0(sub));
        let old = *slot;
        if !releases_quietly(old) {
            deopt!(f, sp, ts)
        }
        *slot = value;
        decref(old);
        int_decref(sub);
        decref_no_dealloc(list);
        next!(f, sp.sub(3), ts)
    }
);

stencil!(
    /// `_STORE_SUBSCR_LIST_INT` to a list and index pushed without new
    /// references (`optimize::borrow`).
    fn _STORE_SUBSCR_LIST_INT_BORROWED(f, sp, ts) {
        store_subscr_list_int!(f, sp, ts, owned: false, false)
    }
);

stencil!(
    /// `_STORE_SUBSCR_LIST_INT` by an index pushed without a new reference.
    fn _STORE_SUBSCR_LIST_INT_BORROWED_RIGHT(f, sp, ts) {
        store_subscr_list_int!(f, sp, ts, owned: true, false)
    }
);

stencil!(fn _STORE_SUBSCR_DICT(f, sp, ts) {
    let (value, dict, sub) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
    if !is_dict(dict) {
        deopt!(f, sp, ts)
    }
    let err = _PyDict_SetItem_Take2(dict, sub, value);
    decref(dict);
    if err != 0 {
        error!(f, sp.sub(3), ts)
    }
    next!(f, sp.sub(3), ts)
});

stencil!(fn _DELETE_SUBSCR(f, sp, ts) {
    let (container, sub) = (peek(sp, 2), peek(sp, 1));
    let err = PyObject_DelItem(container, sub);
    decref(container);
    decref(sub);
    if err != 0 {
        error!(f, sp.sub(2), ts)
    }
    next!(f, sp.sub(2), ts)
});
