//! Exceptions and context managers (`try`/`except`/`finally`, `except*`,
//! `with`), and the pattern-matching instructions.
//!
//! `_RERAISE` and `_RAISE_VARARGS` leave compiled code themselves with
//! `STATUS_RERAISE` when the interpreter would unwind without adding a
//! traceback entry (CPython's `goto exception_unwind`).

use crate::abi::*;
use crate::helpers::*;
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::layout::PyCellObject;
use jitsaw_cpython313::{consts, off};

/// `&tstate->exc_info->exc_value`.
#[inline(always)]
unsafe fn handled_exception(ts: Ts) -> *mut *mut PyObject {
    let exc_info = field::<*mut u8>(ts.cast(), off::TSTATE_EXC_INFO);
    field_ptr::<*mut PyObject>(exc_info, off::EXCINFO_EXC_VALUE)
}

/// Leaves with `STATUS_RERAISE`, the stack as it is.
#[inline(always)]
unsafe fn reraise(f: Frame, sp: Sp) -> Ret {
    (*f).stacktop = sp.offset_from((*f).localsplus.as_ptr()) as i32;
    STATUS_RERAISE
}

stencil!(fn _PUSH_EXC_INFO(f, sp, ts) {
    let new_exc = peek(sp, 1);
    let slot = handled_exception(ts);
    let prev = if (*slot).is_null() { none() } else { *slot };
    *slot = new_ref(new_exc);
    poke(sp, 1, prev);
    *sp = new_exc;
    next!(f, sp.add(1), ts)
});

stencil!(fn _POP_EXCEPT(f, sp, ts) {
    let exc = peek(sp, 1);
    let slot = handled_exception(ts);
    let old = *slot;
    *slot = if exc == none() { core::ptr::null_mut() } else { exc };
    xdecref(old);
    next!(f, sp.sub(1), ts)
});

stencil!(fn _CHECK_EXC_MATCH(f, sp, ts) {
    let (left, right) = (peek(sp, 2), peek(sp, 1));
    if _PyEval_CheckExceptTypeValid(ts, right) < 0 {
        decref(right);
        error!(f, sp.sub(1), ts)
    }
    let res = PyErr_GivenExceptionMatches(left, right);
    decref(right);
    poke(sp, 1, py_bool(res != 0));
    next!(f, sp, ts)
});

stencil!(fn _CHECK_EG_MATCH(f, sp, ts) {
    let (exc_value, match_type) = (peek(sp, 2), peek(sp, 1));
    if _PyEval_CheckExceptStarTypeValid(ts, match_type) < 0 {
        decref(exc_value);
        decref(match_type);
        error!(f, sp.sub(2), ts)
    }
    let mut matched = core::ptr::null_mut();
    let mut rest = core::ptr::null_mut();
    let res = _PyEval_ExceptionGroupMatch(exc_value, match_type, &mut matched, &mut rest);
    decref(exc_value);
    decref(match_type);
    if res < 0 || matched.is_null() {
        error!(f, sp.sub(2), ts)
    }
    if matched != none() {
        PyErr_SetHandledException(matched);
    }
    poke(sp, 2, rest);
    poke(sp, 1, matched);
    next!(f, sp, ts)
});

stencil!(
    /// `RERAISE` (tier 1 only in CPython): re-raises the exception on top,
    /// leaving it and the `oparg` values below it for the unwinder. With an
    /// oparg the value below is the `lasti` to restore, which the runtime
    /// reads when it unwinds (the handler is still looked up from here).
    fn _RERAISE(f, sp, ts) {
        let exc = peek(sp, 1);
        let n = oparg();
        if n != 0 && !type_has(peek(sp, n + 1), consts::TPFLAGS_LONG_SUBCLASS) {
            jitsaw_system_error(ts, 0);
            error!(f, sp, ts)
        }
        PyErr_SetRaisedException(new_ref(exc));
        reraise(f, sp)
    }
);

stencil!(
    /// `RAISE_VARARGS` (tier 1 only in CPython): `raise`, `raise exc` or
    /// `raise exc from cause`.
    fn _RAISE_VARARGS(f, sp, ts) {
        let n = oparg();
        let (exc, cause) = match n {
            2 => (peek(sp, 2), peek(sp, 1)),
            1 => (peek(sp, 1), core::ptr::null_mut()),
            _ => (core::ptr::null_mut(), core::ptr::null_mut()),
        };
        if n > 2 {
            jitsaw_system_error(ts, 1);
        } else if jitsaw_do_raise(ts, exc, cause) != 0 {
            return reraise(f, sp);
        }
        error!(f, sp.sub(n), ts)
    }
);

stencil!(fn _WITH_EXCEPT_START(f, sp, ts) {
    let (exit_func, val) = (peek(sp, 4), peek(sp, 1));
    let mut tb = PyException_GetTraceback(val);
    if tb.is_null() {
        tb = none();
    } else {
        decref(tb);
    }
    let args = [
        core::ptr::null_mut(),
        ob_type(val).cast::<PyObject>(),
        val,
        tb,
    ];
    let res = PyObject_Vectorcall(
        exit_func,
        args.as_ptr().add(1),
        3 | consts::VECTORCALL_ARGUMENTS_OFFSET as usize,
        core::ptr::null_mut(),
    );
    if res.is_null() {
        error!(f, sp, ts)
    }
    *sp = res;
    next!(f, sp.add(1), ts)
});

stencil!(
    /// `BEFORE_WITH` (tier 1 only in CPython).
    fn _BEFORE_WITH(f, sp, ts) {
        match jitsaw_before_with(ts, sp.sub(1), 0) {
            0 => {}
            -1 => error!(f, sp, ts),
            _ => error!(f, sp.sub(1), ts),
        }
        next!(f, sp.add(1), ts)
    }
);

stencil!(
    /// `BEFORE_ASYNC_WITH` (tier 1 only in CPython).
    fn _BEFORE_ASYNC_WITH(f, sp, ts) {
        match jitsaw_before_with(ts, sp.sub(1), 1) {
            0 => {}
            -1 => error!(f, sp, ts),
            _ => error!(f, sp.sub(1), ts),
        }
        next!(f, sp.add(1), ts)
    }
);

stencil!(fn _EXIT_INIT_CHECK(f, sp, ts) {
    let v = peek(sp, 1);
    if v != none() {
        jitsaw_init_check_error(ts, v);
        error!(f, sp, ts)
    }
    next!(f, sp.sub(1), ts)
});

stencil!(
    /// Where a compiled `__init__` returns when `jitsaw_call_any` entered it
    /// for a generic `CALL` of a class: `sp[-1]` is what it returned, the new
    /// instance is below it, and the call's own resume address lies just
    /// above the stack (where the stack does not see it). As
    /// `_EXIT_INIT_CHECK`: `None` leaves the instance as the call's result;
    /// anything else raises at the call.
    fn _INIT_RETURN(f, sp, ts) {
        let v = peek(sp, 1);
        if v != none() {
            jitsaw_init_check_error(ts, v);
            error!(f, sp, ts)
        }
        let resume = core::mem::transmute::<*mut PyObject, Continuation>(*sp);
        become resume(f, sp.sub(1), ts)
    }
);

stencil!(fn _GET_LEN(f, sp, ts) {
    let len = PyObject_Size(peek(sp, 1));
    if len < 0 {
        error!(f, sp, ts)
    }
    let o = PyLong_FromSsize_t(len);
    if o.is_null() {
        error!(f, sp, ts)
    }
    *sp = o;
    next!(f, sp.add(1), ts)
});

stencil!(fn _MATCH_MAPPING(f, sp, ts) {
    *sp = py_bool(type_has(peek(sp, 1), consts::TPFLAGS_MAPPING));
    next!(f, sp.add(1), ts)
});

stencil!(fn _MATCH_SEQUENCE(f, sp, ts) {
    *sp = py_bool(type_has(peek(sp, 1), consts::TPFLAGS_SEQUENCE));
    next!(f, sp.add(1), ts)
});

stencil!(fn _MATCH_CLASS(f, sp, ts) {
    let (subject, ty, names) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
    let attrs = _PyEval_MatchClass(ts, subject, ty, oparg() as isize, names);
    decref(subject);
    decref(ty);
    decref(names);
    let out = sp.sub(3);
    if attrs.is_null() {
        if !PyErr_Occurred().is_null() {
            error!(f, out, ts)
        }
        *out = none();
    } else {
        *out = attrs;
    }
    next!(f, out.add(1), ts)
});

stencil!(fn _MATCH_KEYS(f, sp, ts) {
    let values = _PyEval_MatchKeys(ts, peek(sp, 2), peek(sp, 1));
    if values.is_null() {
        error!(f, sp, ts)
    }
    *sp = values;
    next!(f, sp.add(1), ts)
});

stencil!(fn _DELETE_DEREF(f, sp, ts) {
    let cell = (*frame_local(f, oparg())).cast::<PyCellObject>();
    let old = (*cell).ob_ref;
    if old.is_null() {
        _PyEval_FormatExcUnbound(ts, (*f).f_executable, oparg() as i32);
        error!(f, sp, ts)
    }
    (*cell).ob_ref = core::ptr::null_mut();
    decref(old);
    next!(f, sp, ts)
});

stencil!(fn _LOAD_FROM_DICT_OR_DEREF(f, sp, ts) {
    let class_dict = peek(sp, 1);
    let names = code_obj_field(frame_code(f), off::CODE_CO_LOCALSPLUSNAMES);
    let name = tuple_item(names, oparg());
    let mut value = core::ptr::null_mut();
    if PyMapping_GetOptionalItem(class_dict, name, &mut value) < 0 {
        error!(f, sp, ts)
    }
    if value.is_null() {
        let cell = (*frame_local(f, oparg())).cast::<PyCellObject>();
        value = (*cell).ob_ref;
        if value.is_null() {
            _PyEval_FormatExcUnbound(ts, (*f).f_executable, oparg() as i32);
            error!(f, sp, ts)
        }
        incref(value);
    }
    decref(class_dict);
    poke(sp, 1, value);
    next!(f, sp, ts)
});

extern "C" {
    /// `PyObject_GenericGetAttr`, declared as data so that its address is a
    /// 64-bit hole (a function's would be assumed to fit in 32 bits).
    #[link_name = "PyObject_GenericGetAttr"]
    static GENERIC_GETATTR: u8;
}

/// `LOAD_SUPER_ATTR_*`'s guard: `super` is the builtin and the class a type.
#[inline(always)]
unsafe fn plain_super(sp: Sp) -> bool {
    peek(sp, 3) == (&raw mut PySuper_Type).cast::<PyObject>()
        && type_has(peek(sp, 2), consts::TPFLAGS_TYPE_SUBCLASS)
}

stencil!(fn _LOAD_SUPER_ATTR_ATTR(f, sp, ts) {
    if !plain_super(sp) {
        deopt!(f, sp, ts)
    }
    let (global_super, class, this) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
    let name = frame_name(f, oparg() >> 2);
    let attr = _PySuper_Lookup(class.cast(), this, name, core::ptr::null_mut());
    decref(global_super);
    decref(class);
    decref(this);
    let out = sp.sub(3);
    if attr.is_null() {
        error!(f, out, ts)
    }
    *out = attr;
    next!(f, out.add(1), ts)
});

stencil!(fn _LOAD_SUPER_ATTR_METHOD(f, sp, ts) {
    if !plain_super(sp) {
        deopt!(f, sp, ts)
    }
    let (global_super, class, this) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
    let name = frame_name(f, oparg() >> 2);
    let mut found = 0i32;
    let generic = field::<usize>(ob_type(this).cast(), off::TYPE_TP_GETATTRO)
        == (&raw const GENERIC_GETATTR) as usize;
    let attr = _PySuper_Lookup(
        class.cast(),
        this,
        name,
        if generic { &mut found } else { core::ptr::null_mut() },
    );
    decref(global_super);
    decref(class);
    let out = sp.sub(3);
    if attr.is_null() {
        decref(this);
        error!(f, out, ts)
    }
    *out = attr;
    if found != 0 {
        *out.add(1) = this;
    } else {
        decref(this);
        *out.add(1) = core::ptr::null_mut();
    }
    next!(f, out.add(2), ts)
});

stencil!(
    /// `LOAD_SUPER_ATTR` unspecialized (tier 1 only in CPython): calls
    /// `super` and looks the name up on the result.
    fn _LOAD_SUPER_ATTR(f, sp, ts) {
        let (global_super, class, this) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
        let args = [class, this];
        let sup = PyObject_Vectorcall(
            global_super,
            args.as_ptr(),
            oparg() & 2,
            core::ptr::null_mut(),
        );
        decref(global_super);
        decref(class);
        decref(this);
        let out = sp.sub(3);
        if sup.is_null() {
            error!(f, out, ts)
        }
        let attr = PyObject_GetAttr(sup, frame_name(f, oparg() >> 2));
        decref(sup);
        if attr.is_null() {
            error!(f, out, ts)
        }
        *out = attr;
        if oparg() & 1 != 0 {
            *out.add(1) = core::ptr::null_mut();
            next!(f, out.add(2), ts)
        }
        next!(f, out.add(1), ts)
    }
);
