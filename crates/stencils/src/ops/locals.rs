//! Locals, constants, cells and plain stack shuffling.

use crate::abi::*;
use crate::helpers::*;
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::layout::PyCellObject;
use jitsaw_cpython313::off;

stencil!(fn _NOP(f, sp, ts) {
    next!(f, sp, ts)
});

replicated_stencil!(fn _LOAD_FAST(f, sp, ts) oparg in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] {
    let v = *frame_local(f, oparg());
    incref(v);
    *sp = v;
    next!(f, sp.add(1), ts)
});

replicated_stencil!(
    /// `_LOAD_FAST` without a new reference, for a micro-op right after
    /// that takes its inputs borrowed (`optimize::borrow`): the local keeps
    /// the value alive until then, as nothing runs in between.
    fn _LOAD_FAST_BORROW(f, sp, ts) oparg in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] {
        *sp = *frame_local(f, oparg());
        next!(f, sp.add(1), ts)
    }
);

stencil!(fn _LOAD_FAST_CHECK(f, sp, ts) {
    let v = *frame_local(f, oparg());
    if v.is_null() {
        jitsaw_unbound_local(ts, f, oparg());
        error!(f, sp, ts)
    }
    incref(v);
    *sp = v;
    next!(f, sp.add(1), ts)
});

stencil!(fn _LOAD_FAST_AND_CLEAR(f, sp, ts) {
    let slot = frame_local(f, oparg());
    *sp = *slot;
    *slot = core::ptr::null_mut();
    next!(f, sp.add(1), ts)
});

/// `_STORE_FAST` into local `$local`, releasing the old value (if any)
/// with `$release`.
macro_rules! store_fast {
    ($f:ident, $sp:ident, $ts:ident, $local:expr, $release:expr) => {{
        let slot = frame_local($f, $local);
        let old = *slot;
        *slot = peek($sp, 1);
        if !old.is_null() {
            $release(old);
        }
        next!($f, $sp.sub(1), $ts)
    }};
}

replicated_stencil!(fn _STORE_FAST(f, sp, ts) oparg in [0, 1, 2, 3, 4, 5, 6] {
    store_fast!(f, sp, ts, oparg(), decref)
});

replicated_stencil!(
    /// `_STORE_FAST` of a local that holds an exact int or nothing
    /// (`optimize::types`): an old value that dies goes to the int
    /// freelist here, without the call out that freeing any object needs.
    fn _STORE_FAST_INT(f, sp, ts) oparg in [0, 1, 2, 3, 4, 5, 6] {
        store_fast!(f, sp, ts, oparg(), int_decref)
    }
);

replicated_stencil!(
    /// `_STORE_FAST` of a local that holds an exact float or nothing: an
    /// old value that dies goes to CPython's float freelist here.
    fn _STORE_FAST_FLOAT(f, sp, ts) oparg in [0, 1, 2, 3, 4, 5, 6] {
        store_fast!(f, sp, ts, oparg(), |old| float_decref(ts, old))
    }
);

stencil!(fn _DELETE_FAST(f, sp, ts) {
    let slot = frame_local(f, oparg());
    let old = *slot;
    if old.is_null() {
        jitsaw_unbound_local(ts, f, oparg());
        error!(f, sp, ts)
    }
    *slot = core::ptr::null_mut();
    decref(old);
    next!(f, sp, ts)
});

stencil!(fn _LOAD_CONST(f, sp, ts) {
    let v = frame_const(f, oparg());
    incref(v);
    *sp = v;
    next!(f, sp.add(1), ts)
});

stencil!(
    /// Operand: the constant, owned by the code object.
    fn _LOAD_CONST_INLINE(f, sp, ts) {
        let v = operand() as *mut PyObject;
        incref(v);
        *sp = v;
        next!(f, sp.add(1), ts)
    }
);

stencil!(
    /// Operand: an immortal constant, pushed without a new reference.
    fn _LOAD_CONST_INLINE_BORROW(f, sp, ts) {
        *sp = operand() as *mut PyObject;
        next!(f, sp.add(1), ts)
    }
);

stencil!(
    /// `_LOAD_CONST_INLINE`, then a `NULL` (a global burned in for a call).
    fn _LOAD_CONST_INLINE_WITH_NULL(f, sp, ts) {
        let v = operand() as *mut PyObject;
        incref(v);
        *sp = v;
        *sp.add(1) = core::ptr::null_mut();
        next!(f, sp.add(2), ts)
    }
);

stencil!(
    /// `_LOAD_CONST_INLINE_BORROW`, then a `NULL`.
    fn _LOAD_CONST_INLINE_BORROW_WITH_NULL(f, sp, ts) {
        *sp = operand() as *mut PyObject;
        *sp.add(1) = core::ptr::null_mut();
        next!(f, sp.add(2), ts)
    }
);

stencil!(fn _POP_TOP(f, sp, ts) {
    decref(peek(sp, 1));
    next!(f, sp.sub(1), ts)
});

stencil!(fn _PUSH_NULL(f, sp, ts) {
    *sp = core::ptr::null_mut();
    next!(f, sp.add(1), ts)
});

stencil!(
    /// `END_SEND`. An `async for` ends each value here, freeing the
    /// value's `asend` awaitable, which takes the short way when it can.
    fn _END_SEND(f, sp, ts) {
        let value = peek(sp, 1);
        let receiver = peek(sp, 2);
        if !is_immortal(receiver) {
            let rc = (*receiver).ob_refcnt - 1;
            (*receiver).ob_refcnt = rc;
            if rc == 0 {
                if is_type(receiver, &raw mut _PyAsyncGenASend_Type)
                    && core::ptr::read_volatile(&raw const jitsaw_async_gen_wrapped_type) > 1
                    && asend_frees_quietly(receiver, |v| v.is_null() || is_immortal(v))
                {
                    jitsaw_free_quietly(receiver);
                } else {
                    jitsaw_dealloc(receiver);
                }
            }
        }
        poke(sp, 2, value);
        next!(f, sp.sub(1), ts)
    }
);

replicated_stencil!(fn _COPY(f, sp, ts) oparg in [1, 2, 3] {
    let bottom = peek(sp, oparg());
    incref(bottom);
    *sp = bottom;
    next!(f, sp.add(1), ts)
});

replicated_stencil!(
    /// `_COPY` without a new reference, for a micro-op right after that
    /// takes it borrowed (`optimize::borrow`): the original, deeper on the
    /// stack, keeps the value alive until then.
    fn _COPY_BORROW(f, sp, ts) oparg in [1, 2, 3] {
        *sp = peek(sp, oparg());
        next!(f, sp.add(1), ts)
    }
);

replicated_stencil!(fn _SWAP(f, sp, ts) oparg in [2, 3] {
    let n = oparg();
    let top = peek(sp, 1);
    poke(sp, 1, peek(sp, n));
    poke(sp, n, top);
    next!(f, sp, ts)
});

stencil!(fn _LOAD_ASSERTION_ERROR(f, sp, ts) {
    *sp = new_ref(PyExc_AssertionError);
    next!(f, sp.add(1), ts)
});

stencil!(fn _MAKE_CELL(f, sp, ts) {
    let slot = frame_local(f, oparg());
    let cell = PyCell_New(*slot);
    if cell.is_null() {
        error!(f, sp, ts)
    }
    let old = *slot;
    *slot = cell;
    xdecref(old);
    next!(f, sp, ts)
});

stencil!(fn _COPY_FREE_VARS(f, sp, ts) {
    let n = oparg();
    let code = frame_code(f).cast::<u8>();
    let nlocalsplus = field::<i32>(code, off::CODE_CO_NLOCALSPLUS) as usize;
    let closure = field::<*mut PyObject>((*f).f_funcobj.cast(), off::FUNC_CLOSURE);
    let first = nlocalsplus - n;
    let mut i = 0;
    while i < n {
        *frame_local(f, first + i) = new_ref(tuple_item(closure, i));
        i += 1;
    }
    next!(f, sp, ts)
});

stencil!(fn _LOAD_DEREF(f, sp, ts) {
    let cell = (*frame_local(f, oparg())).cast::<PyCellObject>();
    let v = (*cell).ob_ref;
    if v.is_null() {
        _PyEval_FormatExcUnbound(ts, (*f).f_executable, oparg() as i32);
        error!(f, sp, ts)
    }
    incref(v);
    *sp = v;
    next!(f, sp.add(1), ts)
});

stencil!(fn _STORE_DEREF(f, sp, ts) {
    let cell = (*frame_local(f, oparg())).cast::<PyCellObject>();
    let old = (*cell).ob_ref;
    (*cell).ob_ref = peek(sp, 1);
    xdecref(old);
    next!(f, sp.sub(1), ts)
});

/// `PyObject_IsTrue(v)`, through `jitsaw_is_true` for an instance of a
/// class (a heap type), whose `__bool__` or `__len__` written in Python
/// it runs directly.
#[inline(always)]
unsafe fn is_true(ts: Ts, v: *mut PyObject) -> i32 {
    if is_class(ob_type(v)) {
        jitsaw_is_true(ts, v)
    } else {
        PyObject_IsTrue(v)
    }
}

stencil!(fn _TO_BOOL(f, sp, ts) {
    let v = peek(sp, 1);
    let err = is_true(ts, v);
    decref(v);
    if err < 0 {
        error!(f, sp.sub(1), ts)
    }
    poke(sp, 1, py_bool(err != 0));
    next!(f, sp, ts)
});

stencil!(
    /// An unspecialized `TO_BOOL` (or one whose specialization kept
    /// failing: `if node:` seeing objects and None), with the fast paths of
    /// the specializations CPython makes for bools, None and ints, and for
    /// objects whose type has no `__bool__` or `__len__` (always true, as
    /// `PyObject_IsTrue` finds them); anything else calls it. One release
    /// and one way out keep the stencil small: code compiled before the
    /// interpreter specialized it has one at every `if`.
    fn _TO_BOOL_ADAPTIVE(f, sp, ts) {
        let v = peek(sp, 1);
        if is_type(v, &raw mut PyBool_Type) {
            next!(f, sp, ts)
        }
        if v == none() {
            poke(sp, 1, py_false());
            next!(f, sp, ts)
        }
        let truth = if is_int(v) {
            !long_is_zero(v) as i32
        } else if always_true(v) {
            1
        } else {
            is_true(ts, v)
        };
        decref(v);
        if truth < 0 {
            error!(f, sp.sub(1), ts)
        }
        poke(sp, 1, py_bool(truth != 0));
        next!(f, sp, ts)
    }
);

/// Whether `PyObject_IsTrue(v)` is true without calling anything: its type
/// has no `nb_bool`, `mp_length` or `sq_length` slot.
#[inline(always)]
unsafe fn always_true(v: *mut PyObject) -> bool {
    let tp = ob_type(v).cast::<u8>();
    let slot = |methods: usize, at: usize| {
        let table = field::<*const u8>(tp, methods);
        !table.is_null() && field::<usize>(table, at) != 0
    };
    !slot(off::TYPE_TP_AS_NUMBER, off::NUMBER_NB_BOOL)
        && !slot(off::TYPE_TP_AS_MAPPING, off::MAPPING_MP_LENGTH)
        && !slot(off::TYPE_TP_AS_SEQUENCE, off::SEQUENCE_SQ_LENGTH)
}

stencil!(fn _TO_BOOL_BOOL(f, sp, ts) {
    if !is_type(peek(sp, 1), &raw mut PyBool_Type) {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

/// `_TO_BOOL_INT`, `_LIST`, `_STR`: `$is` the type, `$false` whether the
/// value is falsy. `borrowed`: the value was pushed without a reference
/// (`optimize::borrow`), which a deopt gives it and the end does not
/// release.
macro_rules! to_bool {
    ($f:ident, $sp:ident, $ts:ident, $is:ident, $false:expr, borrowed: $borrowed:literal) => {{
        let v = peek($sp, 1);
        if !$is(v) {
            deopt_borrowed!($f, $sp, $ts; $borrowed => v)
        }
        let res = py_bool(!$false(v));
        if !$borrowed {
            decref(v);
        }
        poke($sp, 1, res);
        next!($f, $sp, $ts)
    }};
}

/// Whether a list is empty.
#[inline(always)]
unsafe fn list_is_empty(v: *mut PyObject) -> bool {
    ob_size(v) == 0
}

/// Whether a str is empty (the empty str is a singleton).
#[inline(always)]
unsafe fn str_is_empty(v: *mut PyObject) -> bool {
    v == empty_str()
}

stencil!(fn _TO_BOOL_INT(f, sp, ts) {
    to_bool!(f, sp, ts, is_int, long_is_zero, borrowed: false)
});

stencil!(
    /// `_TO_BOOL_INT` of a value pushed without a reference.
    fn _TO_BOOL_INT_BORROWED(f, sp, ts) {
        to_bool!(f, sp, ts, is_int, long_is_zero, borrowed: true)
    }
);

stencil!(fn _TO_BOOL_LIST(f, sp, ts) {
    to_bool!(f, sp, ts, is_list, list_is_empty, borrowed: false)
});

stencil!(
    /// `_TO_BOOL_LIST` of a value pushed without a reference.
    fn _TO_BOOL_LIST_BORROWED(f, sp, ts) {
        to_bool!(f, sp, ts, is_list, list_is_empty, borrowed: true)
    }
);

stencil!(fn _TO_BOOL_NONE(f, sp, ts) {
    if peek(sp, 1) != none() {
        deopt!(f, sp, ts)
    }
    poke(sp, 1, py_false());
    next!(f, sp, ts)
});

stencil!(fn _TO_BOOL_STR(f, sp, ts) {
    to_bool!(f, sp, ts, is_str, str_is_empty, borrowed: false)
});

stencil!(
    /// `_TO_BOOL_STR` of a value pushed without a reference.
    fn _TO_BOOL_STR_BORROWED(f, sp, ts) {
        to_bool!(f, sp, ts, is_str, str_is_empty, borrowed: true)
    }
);

stencil!(fn _REPLACE_WITH_TRUE(f, sp, ts) {
    decref(peek(sp, 1));
    poke(sp, 1, py_true());
    next!(f, sp, ts)
});

stencil!(
    /// `_REPLACE_WITH_TRUE` of a value pushed without a reference.
    fn _REPLACE_WITH_TRUE_BORROWED(f, sp, ts) {
        poke(sp, 1, py_true());
        next!(f, sp, ts)
    }
);

stencil!(fn _IS_OP(f, sp, ts) {
    let (left, right) = (peek(sp, 2), peek(sp, 1));
    let res = (left == right) != (oparg() != 0);
    decref(left);
    decref(right);
    poke(sp, 2, py_bool(res));
    next!(f, sp.sub(1), ts)
});

/// `CALL_INTRINSIC_1` of intrinsic `index` on the value on top of the
/// stack, which the result replaces.
macro_rules! unary_intrinsic_on_top {
    ($f:ident, $sp:ident, $ts:ident, $index:expr) => {{
        let v = peek($sp, 1);
        let res = unary_intrinsic($index)($ts, v);
        decref(v);
        if res.is_null() {
            error!($f, $sp.sub(1), $ts)
        }
        poke($sp, 1, res);
        next!($f, $sp, $ts)
    }};
}
pub(crate) use unary_intrinsic_on_top;

stencil!(fn _CALL_INTRINSIC_1(f, sp, ts) {
    unary_intrinsic_on_top!(f, sp, ts, oparg())
});

stencil!(fn _CALL_INTRINSIC_2(f, sp, ts) {
    let table = (&raw const _PyIntrinsics_BinaryFunctions).cast::<u8>();
    let func = *table.add(oparg() * off::INTRINSIC2_INFO_SIZE).cast::<IntrinsicFunc2>();
    let (value2, value1) = (peek(sp, 2), peek(sp, 1));
    let res = func(ts, value2, value1);
    decref(value2);
    decref(value1);
    if res.is_null() {
        error!(f, sp.sub(2), ts)
    }
    poke(sp, 2, res);
    next!(f, sp.sub(1), ts)
});

stencil!(fn _CONVERT_VALUE(f, sp, ts) {
    let conv = _PyEval_ConversionFuncs.as_ptr().add(oparg()).read();
    let v = peek(sp, 1);
    let res = match conv {
        Some(conv) => conv(v),
        None => core::ptr::null_mut(),
    };
    decref(v);
    if res.is_null() {
        error!(f, sp.sub(1), ts)
    }
    poke(sp, 1, res);
    next!(f, sp, ts)
});

stencil!(fn _FORMAT_SIMPLE(f, sp, ts) {
    let v = peek(sp, 1);
    if !is_str(v) {
        let res = PyObject_Format(v, core::ptr::null_mut());
        decref(v);
        if res.is_null() {
            error!(f, sp.sub(1), ts)
        }
        poke(sp, 1, res);
    }
    next!(f, sp, ts)
});

stencil!(fn _FORMAT_WITH_SPEC(f, sp, ts) {
    let (v, spec) = (peek(sp, 2), peek(sp, 1));
    let res = PyObject_Format(v, spec);
    decref(v);
    decref(spec);
    if res.is_null() {
        error!(f, sp.sub(2), ts)
    }
    poke(sp, 2, res);
    next!(f, sp.sub(1), ts)
});
