//! Building and unpacking containers, and making functions.

use crate::abi::*;
use crate::helpers::*;
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::{consts, off};

/// A tuple of the `oparg` values on top of the stack, which it takes.
macro_rules! build_tuple {
    ($f:ident, $sp:ident, $ts:ident) => {{
        let n = oparg();
        let values = $sp.sub(n);
        let tup = _PyTuple_FromArraySteal(values, n as isize);
        if tup.is_null() {
            error!($f, values, $ts)
        }
        *values = tup;
        next!($f, values.add(1), $ts)
    }};
}

stencil!(fn _BUILD_TUPLE(f, sp, ts) {
    build_tuple!(f, sp, ts)
});

stencil!(
    /// `_BUILD_TUPLE` in an inlined body (`optimize::inline`): the same,
    /// but its own micro-op, which needs no instruction pointer: a failed
    /// allocation releases values their objects still hold, ints and
    /// floats (no code runs), and leaves for the call.
    fn _BUILD_TUPLE_PURE(f, sp, ts) {
        build_tuple!(f, sp, ts)
    }
);

stencil!(fn _BUILD_LIST(f, sp, ts) {
    let n = oparg();
    let values = sp.sub(n);
    let list = _PyList_FromArraySteal(values, n as isize);
    if list.is_null() {
        error!(f, values, ts)
    }
    *values = list;
    next!(f, values.add(1), ts)
});

stencil!(
    /// `BUILD_SET` (tier 1 only in CPython).
    fn _BUILD_SET(f, sp, ts) {
        let n = oparg();
        let values = sp.sub(n);
        let set = PySet_New(core::ptr::null_mut());
        if set.is_null() {
            error!(f, sp, ts)
        }
        let mut err = 0;
        let mut i = 0;
        while i < n {
            let item = *values.add(i);
            if err == 0 {
                err = PySet_Add(set, item);
            }
            decref(item);
            i += 1;
        }
        if err != 0 {
            decref(set);
            error!(f, values, ts)
        }
        *values = set;
        next!(f, values.add(1), ts)
    }
);

stencil!(fn _BUILD_MAP(f, sp, ts) {
    let n = oparg();
    let values = sp.sub(2 * n);
    let map = _PyDict_FromItems(values, 2, values.add(1), 2, n as isize);
    let mut i = 0;
    while i < 2 * n {
        decref(*values.add(i));
        i += 1;
    }
    if map.is_null() {
        error!(f, values, ts)
    }
    *values = map;
    next!(f, values.add(1), ts)
});

stencil!(fn _BUILD_CONST_KEY_MAP(f, sp, ts) {
    let n = oparg();
    let keys = peek(sp, 1);
    let values = sp.sub(1 + n);
    let map = _PyDict_FromItems(tuple_items(keys), 1, values, 1, n as isize);
    let mut i = 0;
    while i < n {
        decref(*values.add(i));
        i += 1;
    }
    decref(keys);
    if map.is_null() {
        error!(f, values, ts)
    }
    *values = map;
    next!(f, values.add(1), ts)
});

stencil!(fn _BUILD_STRING(f, sp, ts) {
    let n = oparg();
    let pieces = sp.sub(n);
    let s = _PyUnicode_JoinArray(empty_str(), pieces, n as isize);
    let mut i = 0;
    while i < n {
        decref(*pieces.add(i));
        i += 1;
    }
    if s.is_null() {
        error!(f, pieces, ts)
    }
    *pieces = s;
    next!(f, pieces.add(1), ts)
});

stencil!(fn _BUILD_SLICE(f, sp, ts) {
    let n = if oparg() == 3 { 3 } else { 2 };
    let args = sp.sub(n);
    let step = if n == 3 { *args.add(2) } else { core::ptr::null_mut() };
    let slice = PySlice_New(*args, *args.add(1), step);
    decref(*args);
    decref(*args.add(1));
    xdecref(step);
    if slice.is_null() {
        error!(f, args, ts)
    }
    *args = slice;
    next!(f, args.add(1), ts)
});

stencil!(fn _LIST_APPEND(f, sp, ts) {
    let list = peek(sp, oparg() + 1);
    if list_append_take_ref(list, peek(sp, 1)) < 0 {
        error!(f, sp.sub(1), ts)
    }
    next!(f, sp.sub(1), ts)
});

stencil!(fn _SET_ADD(f, sp, ts) {
    let (set, v) = (peek(sp, oparg() + 1), peek(sp, 1));
    let err = PySet_Add(set, v);
    decref(v);
    if err != 0 {
        error!(f, sp.sub(1), ts)
    }
    next!(f, sp.sub(1), ts)
});

stencil!(fn _MAP_ADD(f, sp, ts) {
    let dict = peek(sp, oparg() + 2);
    if _PyDict_SetItem_Take2(dict, peek(sp, 2), peek(sp, 1)) != 0 {
        error!(f, sp.sub(2), ts)
    }
    next!(f, sp.sub(2), ts)
});

stencil!(fn _LIST_EXTEND(f, sp, ts) {
    let (list, iterable) = (peek(sp, oparg() + 1), peek(sp, 1));
    let none_val = _PyList_Extend(list, iterable);
    if none_val.is_null() {
        jitsaw_list_extend_error(ts, iterable);
        decref(iterable);
        error!(f, sp.sub(1), ts)
    }
    decref(iterable);
    next!(f, sp.sub(1), ts)
});

stencil!(fn _SET_UPDATE(f, sp, ts) {
    let (set, iterable) = (peek(sp, oparg() + 1), peek(sp, 1));
    let err = _PySet_Update(set, iterable);
    decref(iterable);
    if err < 0 {
        error!(f, sp.sub(1), ts)
    }
    next!(f, sp.sub(1), ts)
});

stencil!(fn _DICT_UPDATE(f, sp, ts) {
    let (dict, update) = (peek(sp, oparg() + 1), peek(sp, 1));
    if PyDict_Update(dict, update) < 0 {
        jitsaw_dict_update_error(ts, update);
        decref(update);
        error!(f, sp.sub(1), ts)
    }
    decref(update);
    next!(f, sp.sub(1), ts)
});

stencil!(fn _DICT_MERGE(f, sp, ts) {
    let n = oparg();
    let (callable, dict, update) = (peek(sp, n + 4), peek(sp, n + 1), peek(sp, 1));
    if _PyDict_MergeEx(dict, update, 2) < 0 {
        _PyEval_FormatKwargsError(ts, callable, update);
        decref(update);
        error!(f, sp.sub(1), ts)
    }
    decref(update);
    next!(f, sp.sub(1), ts)
});

stencil!(fn _UNPACK_SEQUENCE(f, sp, ts) {
    let n = oparg();
    let seq = peek(sp, 1);
    let top = sp.add(n).sub(1);
    let res = _PyEval_UnpackIterable(ts, seq, n as i32, -1, top);
    decref(seq);
    if res == 0 {
        error!(f, sp.sub(1), ts)
    }
    next!(f, sp.add(n).sub(1), ts)
});

stencil!(
    /// An unspecialized `UNPACK_SEQUENCE` with a fast path for a tuple or
    /// list of exactly the right length.
    fn _UNPACK_SEQUENCE_ADAPTIVE(f, sp, ts) {
        let n = oparg();
        let seq = peek(sp, 1);
        let items = tuple_or_list_items(seq);
        if !items.is_null() && ob_size(seq) as usize == n {
            unpack_items(sp, items, n);
            decref(seq);
            next!(f, sp.add(n).sub(1), ts)
        }
        let top = sp.add(n).sub(1);
        let res = _PyEval_UnpackIterable(ts, seq, n as i32, -1, top);
        decref(seq);
        if res == 0 {
            error!(f, sp.sub(1), ts)
        }
        next!(f, sp.add(n).sub(1), ts)
    }
);

stencil!(fn _UNPACK_SEQUENCE_TWO_TUPLE(f, sp, ts) {
    let seq = peek(sp, 1);
    if !is_tuple(seq) || ob_size(seq) != 2 {
        deopt!(f, sp, ts)
    }
    let val0 = new_ref(tuple_item(seq, 0));
    let val1 = new_ref(tuple_item(seq, 1));
    decref(seq);
    poke(sp, 1, val1);
    *sp = val0;
    next!(f, sp.add(1), ts)
});

/// Pushes `n` items in reverse order over the sequence's slot.
#[inline(always)]
unsafe fn unpack_items(sp: Sp, items: *mut *mut PyObject, n: usize) {
    let mut out = sp.sub(1);
    let mut i = n;
    while i > 0 {
        i -= 1;
        *out = new_ref(*items.add(i));
        out = out.add(1);
    }
}

replicated_stencil!(fn _UNPACK_SEQUENCE_TUPLE(f, sp, ts) oparg in [2, 3, 4] {
    let n = oparg();
    let seq = peek(sp, 1);
    if !is_tuple(seq) || ob_size(seq) as usize != n {
        deopt!(f, sp, ts)
    }
    unpack_items(sp, tuple_items(seq), n);
    decref(seq);
    next!(f, sp.add(n).sub(1), ts)
});

replicated_stencil!(fn _UNPACK_SEQUENCE_LIST(f, sp, ts) oparg in [2, 3, 4] {
    let n = oparg();
    let seq = peek(sp, 1);
    if !is_list(seq) || ob_size(seq) as usize != n {
        deopt!(f, sp, ts)
    }
    unpack_items(sp, list_items(seq), n);
    decref(seq);
    next!(f, sp.add(n).sub(1), ts)
});

stencil!(
    /// `a, b, c = seq` into consecutive locals, from the one in the
    /// operand on (`optimize::fuse`): an exact tuple or list of the right
    /// length is stored as the unpacking and the `STORE_FAST`s after it
    /// would (`jitsaw_unpack_into_locals`, one copy for every site), then
    /// the code jumps past the stores; anything else leaves as the
    /// unpacking's guard would.
    fn _UNPACK_SEQUENCE_INTO_LOCALS(f, sp, ts) {
        if jitsaw_unpack_into_locals(f, sp, oparg(), operand32() as usize) == 0 {
            deopt!(f, sp, ts)
        }
        jump!(f, sp.sub(1), ts)
    }
);

stencil!(fn _UNPACK_EX(f, sp, ts) {
    let (before, after) = (oparg() & 0xFF, oparg() >> 8);
    let seq = peek(sp, 1);
    let top = sp.add(before + after);
    let res = _PyEval_UnpackIterable(ts, seq, before as i32, after as i32, top);
    decref(seq);
    if res == 0 {
        error!(f, sp.sub(1), ts)
    }
    next!(f, sp.add(before + after), ts)
});

stencil!(fn _MAKE_FUNCTION(f, sp, ts) {
    let codeobj = peek(sp, 1);
    let func = PyFunction_New(codeobj, (*f).f_globals);
    decref(codeobj);
    if func.is_null() {
        error!(f, sp.sub(1), ts)
    }
    _PyFunction_SetVersion(func, field::<u32>(codeobj.cast(), off::CODE_CO_VERSION));
    poke(sp, 1, func);
    next!(f, sp, ts)
});

stencil!(fn _SET_FUNCTION_ATTRIBUTE(f, sp, ts) {
    let (attr, func) = (peek(sp, 2), peek(sp, 1));
    let offset = match oparg() as i64 {
        consts::MAKE_FUNCTION_CLOSURE => off::FUNC_CLOSURE,
        consts::MAKE_FUNCTION_ANNOTATIONS => off::FUNC_ANNOTATIONS,
        consts::MAKE_FUNCTION_KWDEFAULTS => off::FUNC_KWDEFAULTS,
        _ => off::FUNC_DEFAULTS,
    };
    *field_ptr::<*mut PyObject>(func.cast(), offset) = attr;
    poke(sp, 2, func);
    next!(f, sp.sub(1), ts)
});
