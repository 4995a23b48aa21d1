//! `CALL` and its specializations for C callables. Calls to Python functions
//! go through `PyObject_Vectorcall`, which re-enters jitsaw's frame hook, so
//! the callee runs compiled too.
//!
//! Stack shape on entry: `callable, self_or_null, args[oparg]`.

use crate::abi::*;
use crate::helpers::{
    jitsaw_alloc_instance, jitsaw_call, jitsaw_call_any, jitsaw_call_ex_inline,
    jitsaw_call_function, jitsaw_call_kw_inline, jitsaw_callargs_tuple, jitsaw_enter_init,
    jitsaw_eval_frame, jitsaw_function_vectorcall, jitsaw_generic_alloc, jitsaw_inline_frame,
    jitsaw_length, jitsaw_slot_sq_length, jitsaw_slot_tp_call, jitsaw_vectorcall_kw,
};
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::layout::{PyCFunctionObject, PyMethodDescrObject, PyMethodObject};
use jitsaw_cpython313::{consts, off};

/// Where the arguments start and how many there are, counting `self`.
#[inline(always)]
unsafe fn call_args(sp: Sp, n: usize) -> (*mut *mut PyObject, usize) {
    let args = sp.sub(n);
    if !(*args.sub(1)).is_null() {
        (args.sub(1), n + 1)
    } else {
        (args, n)
    }
}

/// Releases the arguments of a finished call.
#[inline(always)]
unsafe fn decref_args(args: *mut *mut PyObject, total: usize) {
    let mut i = 0;
    while i < total {
        decref(*args.add(i));
        i += 1;
    }
}

/// Writes the call's result over `callable` and continues, or leaves with
/// the error once the whole call shape is gone.
macro_rules! finish_call {
    ($f:ident, $sp:ident, $ts:ident, $res:expr) => {{
        let res = $res;
        let base = $sp.sub(oparg() + 2);
        if res.is_null() {
            error!($f, base, $ts)
        }
        *base = res;
        next!($f, base.add(1), $ts)
    }};
}

stencil!(
    /// `CALL` (any callable). A compiled Python function taking exactly the
    /// arguments given is entered directly; `jitsaw_call_any` decides and
    /// makes any other call (out of line: this is at every call site).
    /// Operand: the site's cache.
    fn _CALL(f, sp, ts) {
        let base = sp.sub(oparg() + 2);
        // Into the callee's compiled code; its return comes back to the
        // next micro-op.
        let cache = operand() as *mut u8;
        let call = enter_if_inline!(jitsaw_call_any(ts, f, base, oparg(), resume_address(), cache), ts);
        finish_call!(f, sp, ts, call.entry as *mut PyObject)
    }
);

stencil!(
    /// `obj.method()` of a method whose body only returns `self` or an
    /// immortal constant (`def is_point(self): return False`), known when
    /// compiling: the callable is the function of that version (oparg) with
    /// `self` above it, its `RESUME` would find nothing to do (no pending
    /// event, its code's instrumentation current, no monitoring), the
    /// recursion limit is not near and the frame evaluator is jitsaw's.
    /// Then the call needs no frame: the result is `self` (operand 0) or
    /// the constant, and `self` and the function are released as the
    /// callee's frame would release them. Otherwise the generic call.
    fn _CALL_TRIVIAL(f, sp, ts) {
        let (callable, self_) = (peek(sp, 2), peek(sp, 1));
        if self_.is_null()
            || !is_type(callable, &raw mut PyFunction_Type)
            || field::<u32>(callable.cast(), off::FUNC_VERSION) != oparg() as u32
        {
            deopt!(f, sp, ts)
        }
        let code = field::<*mut u8>(callable.cast(), off::FUNC_CODE);
        if eval_breaker(ts) != field::<u64>(code, off::CODE_INSTRUMENTATION_VERSION)
            || !field::<*mut u8>(code, off::CODE_MONITORING).is_null()
            || *py_recursion_remaining(ts) <= 1
            || field::<usize>(interp(ts).cast(), off::INTERP_EVAL_FRAME)
                != (&raw const jitsaw_eval_frame) as usize
        {
            deopt!(f, sp, ts)
        }
        let res = if operand() == 0 { self_ } else { operand() as *mut PyObject };
        incref(res);
        decref(self_);
        decref(callable);
        poke(sp, 2, res);
        next!(f, sp.sub(1), ts)
    }
);

/// The checks of an inlined call's entry on its callee's code and the
/// thread (see `_CHECK_CALLEE`): the frame evaluator, events, the
/// recursion limit, and where `$globals` (bit 0 of the oparg: the body
/// reads globals) the function's globals being the frame's.
macro_rules! inline_entry_checks {
    ($f:ident, $sp:ident, $ts:ident, $func:expr, $globals:expr) => {{
        let func: *mut PyObject = $func;
        let code = field::<*mut u8>(func.cast(), off::FUNC_CODE);
        if $globals
            && (field::<*mut PyObject>(func.cast(), off::FUNC_GLOBALS) != (*$f).f_globals
                || field::<*mut PyObject>(func.cast(), off::FUNC_BUILTINS) != (*$f).f_builtins)
        {
            deopt!($f, $sp, $ts)
        }
        if eval_breaker($ts) != field::<u64>(code, off::CODE_INSTRUMENTATION_VERSION)
            || !field::<*mut u8>(code, off::CODE_MONITORING).is_null()
            || *py_recursion_remaining($ts) <= 1
            // (A materialized frame's evaluation counts as C recursion.)
            || *c_recursion_remaining($ts) <= consts::PY_EVAL_C_STACK_UNITS as i32
            || field::<usize>(interp($ts).cast(), off::INTERP_EVAL_FRAME)
                != (&raw const jitsaw_eval_frame) as usize
        {
            deopt!($f, $sp, $ts)
        }
    }};
}

replicated_stencil!(
    /// The entry of a call inlined in its caller (`optimize::inline`): the
    /// callable below the `oparg >> 2` arguments is a plain Python
    /// function of the code object compiled in (the operand), with `self`
    /// the first argument of a method call, or below them `NULL` with bit 1
    /// set (a function call); its frame would find nothing to do at its
    /// `RESUME` (no eval-breaker event, the code's instrumentation current,
    /// no monitoring); the recursion limits (Python's, C's) are not near;
    /// and the frame evaluator is jitsaw's. With bit 0 set, the body reads
    /// globals, which it finds in the frame's: the function's must be
    /// those. Otherwise the instruction's fallback, the call itself. Copies
    /// for up to three arguments, each flag a constant.
    fn _CHECK_CALLEE(f, sp, ts) oparg in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] {
        let n = oparg() >> 2;
        let function = (oparg() >> 1) & 1;
        let (callable, self_) = (peek(sp, n + 1 + function), peek(sp, n + function));
        let code = operand() as *mut u8;
        if self_.is_null() == (function == 0)
            || !is_plain_function(callable)
            || field::<*mut u8>(callable.cast(), off::FUNC_CODE) != code
        {
            deopt!(f, sp, ts)
        }
        inline_entry_checks!(f, sp, ts, callable, oparg() & 1 != 0);
        next!(f, sp, ts)
    }
);

stencil!(
    /// After an inlined call's entry checks (`_CHECK_CALLEE`): the frame
    /// (of `operand` words, its code's `co_framesize`) is the thread's top
    /// one, with room above it up to slot `oparg`, where the callee's
    /// values go (or its frame, if materialized). Otherwise the call.
    fn _CHECK_INLINE_ROOM(f, sp, ts) {
        let end = f.cast::<*mut PyObject>().add(operand() as usize);
        let top = field::<*mut *mut PyObject>(ts.cast(), off::TSTATE_DATASTACK_TOP);
        let limit = field::<*mut *mut PyObject>(ts.cast(), off::TSTATE_DATASTACK_LIMIT);
        if top != end || frame_local(f, oparg()) > limit {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// The entry of a class call whose `__init__` is inlined
    /// (`optimize::inline`): the callable below the `oparg` arguments is
    /// the class compiled in (the operand), with `NULL` above it.
    fn _CHECK_INIT_CLASS(f, sp, ts) {
        let n = oparg();
        if peek(sp, n + 2) != operand() as *mut PyObject || !peek(sp, n + 1).is_null() {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// A function an inlined body was compiled from (the operand, alive:
    /// a class whose version was checked holds it) still has the version
    /// (oparg) it had: its code and defaults are the same.
    fn _CHECK_FUNC_VERSION(f, sp, ts) {
        if field::<u32>(operand() as *const u8, off::FUNC_VERSION) != oparg() as u32 {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

replicated_stencil!(
    /// The rest of the entry of an inlined method a class vouches for (an
    /// `__init__`, a `__getitem__`): the checks of `_CHECK_CALLEE` on the
    /// function (the operand) and the thread (bit 0 of the oparg: the
    /// body reads globals).
    fn _CHECK_KNOWN_CALLEE(f, sp, ts) oparg in [0, 1] {
        inline_entry_checks!(f, sp, ts, operand() as *mut PyObject, oparg() & 1 != 0);
        next!(f, sp, ts)
    }
);

stencil!(
    /// The instance an inlined `__init__` initializes, made as
    /// `object.__new__` makes it and put in the `NULL` above the class
    /// (oparg: the arguments; operand: the class), where the body finds it
    /// as `self`. A failed allocation leaves for the call.
    fn _INIT_ALLOC(f, sp, ts) {
        let instance = jitsaw_alloc_instance(operand() as *mut PyObject);
        if instance.is_null() {
            deopt!(f, sp, ts)
        }
        poke(sp, oparg() + 1, instance);
        next!(f, sp, ts)
    }
);

/// The body of `_INLINE_INIT_RETURN` and `_NESTED_INIT_RETURN`.
macro_rules! inline_init_return {
    ($f:ident, $sp:ident, $ts:ident) => {{
        let base = $sp.sub(oparg() + 3);
        decref_args(base.add(2), oparg());
        decref(*base);
        *base = *base.add(1);
        next!($f, base.add(1), $ts)
    }};
}

stencil!(
    /// The return of an inlined `__init__` (`None`, which it pops; oparg:
    /// the call's): the instance replaces the class, and the arguments
    /// above it and the class are released as the call would release them.
    fn _INLINE_INIT_RETURN(f, sp, ts) {
        inline_init_return!(f, sp, ts)
    }
);

stencil!(
    /// `_INLINE_INIT_RETURN` of a class call inlined in an inlined body
    /// (`frontend::inline_body`), told apart from that body's own returns.
    fn _NESTED_INIT_RETURN(f, sp, ts) {
        inline_init_return!(f, sp, ts)
    }
);

stencil!(
    /// In an inlined `__init__`'s fallback, after `_INLINE_UNWIND`: the
    /// instance the body was initializing (in slot `oparg`), if made, is
    /// freed (its class has no finalizer, nothing else refers to it) and
    /// the slot is `NULL` again, for the call.
    fn _INIT_DISCARD(f, sp, ts) {
        let slot = frame_local(f, oparg());
        if !(*slot).is_null() {
            decref_quietly(*slot);
            *slot = core::ptr::null_mut();
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// An instruction of an inlined body that the interpreter never ran
    /// (unspecialized): the instruction's fallback, the call itself.
    fn _INLINE_COLD(f, sp, ts) {
        deopt!(f, sp, ts)
    }
);

/// The body of `_INLINE_RETURN` and `_NESTED_RETURN` (`$n`: the oparg).
macro_rules! inline_return {
    ($f:ident, $sp:ident, $ts:ident, $n:expr) => {{
        let n: usize = $n;
        let res = peek($sp, 1);
        let top = $sp.sub(1);
        let (args, total) = call_args(top, n);
        let base = top.sub(n + 2);
        decref_args(args, total);
        decref(*base);
        *base = res;
        next!($f, base.add(1), $ts)
    }};
}

replicated_stencil!(
    /// The return of a call inlined in its caller (oparg: the call's): the
    /// result replaces the callable, and the arguments (`self` first, if
    /// not `NULL`) and the callable are released as the callee's frame
    /// would release its locals and function once popped (which may run
    /// code: a `__del__`).
    fn _INLINE_RETURN(f, sp, ts) oparg in [0, 1, 2, 3] {
        inline_return!(f, sp, ts, oparg())
    }
);

replicated_stencil!(
    /// `_INLINE_RETURN` of a call inlined in an inlined body
    /// (`frontend::inline_body`), told apart from that body's own returns.
    fn _NESTED_RETURN(f, sp, ts) oparg in [0, 1, 2, 3] {
        inline_return!(f, sp, ts, oparg())
    }
);

stencil!(
    /// The entry of a binary operator whose class's method for it is
    /// inlined (`optimize::inline`): both operands are instances of the
    /// class compiled in (the operand), whose version (oparg) vouches for
    /// that method being the one the operator runs (its slot `slot_nb_*`
    /// calls it; of two instances of one class, the reflected method is
    /// not tried).
    fn _CHECK_BINARY_CLASSES(f, sp, ts) {
        let version = oparg() as u32;
        if type_version(ob_type(peek(sp, 2))) != version
            || type_version(ob_type(peek(sp, 1))) != version
        {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// The entry of a subscript whose class's `__getitem__` is inlined
    /// (`optimize::inline`): the container, below the subscript, is an
    /// instance of the class compiled in (the operand), whose version
    /// (oparg) vouches for the method subscripting it runs.
    fn _CHECK_SUBSCR_CLASS(f, sp, ts) {
        if type_version(ob_type(peek(sp, 2))) != oparg() as u32 {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// The return of a subscript's inlined `__getitem__`: the result
    /// replaces the container, and the container and the subscript are
    /// released, as the subscript releases them after the call (which
    /// may run code: a `__del__`). Oparg 1: a binary operator's method,
    /// whose `NotImplemented` leaves for the operator (which raises its
    /// `TypeError`; the body had no effect), the operands released as the
    /// operator releases them.
    fn _INLINE_SUBSCR_RETURN(f, sp, ts) {
        let res = peek(sp, 1);
        if oparg() != 0 && res == not_implemented() {
            deopt!(f, sp, ts)
        }
        let base = sp.sub(3);
        decref(*base);
        decref(*base.add(1));
        *base = res;
        next!(f, base.add(1), ts)
    }
);

stencil!(
    /// Before the return of an inlined body with locals of its own beyond
    /// its parameters (`oparg` of them, in the slots above the arguments):
    /// they are released, as the callee's frame would release them (their
    /// values are ints, floats, tuples the body built, or values their
    /// objects still hold: no code runs), and the result moves down to the
    /// first, above the arguments, where `_INLINE_RETURN` finds it.
    fn _INLINE_POP_LOCALS(f, sp, ts) {
        let res = peek(sp, 1);
        let first = sp.sub(oparg() + 1);
        for k in 0..oparg() {
            xdecref(*first.add(k));
        }
        *first = res;
        next!(f, first.add(1), ts)
    }
);

stencil!(
    /// The start of an inlined call's fallback: the values the inlined
    /// body had pushed above slot `oparg` (the call's arguments) when a
    /// guard failed or an allocation did are released (ints, floats and
    /// values their objects still hold: no code runs; the `NULL` of a call
    /// in the body), and the error of a failed allocation is dropped: the
    /// body computes without side effects, so the call itself, which
    /// follows, does it all again.
    fn _INLINE_UNWIND(f, sp, ts) {
        let limit = frame_local(f, oparg());
        let mut sp = sp;
        while sp > limit {
            sp = sp.sub(1);
            xdecref(*sp);
        }
        if !field::<*mut PyObject>(ts.cast(), off::TSTATE_CURRENT_EXCEPTION).is_null() {
            PyErr_Clear();
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// Where an exit of an inlined body whose frame is materialized
    /// (`optimize::inline`) resumes in the callee: the operand, the first
    /// code unit of the callee's instruction, goes where
    /// `_INLINE_MATERIALIZE` (the jump target) finds it, the frame's
    /// `instr_ptr`.
    fn _INLINE_EXIT_AT(f, sp, ts) {
        (*f).instr_ptr = operand() as *mut u16;
        jump!(f, sp, ts)
    }
);

stencil!(
    /// The rest of an inlined call whose body left after a side effect
    /// (`optimize::inline`): the callee's frame is made from the body's
    /// locals and stack (`oparg`: the slot of its first local, with bit 30
    /// set for a function's call), resuming at the `instr_ptr`
    /// `_INLINE_EXIT_AT` left, and the interpreter runs it to its end; its
    /// result is the call's (operand: the call's first code unit, for the
    /// frame's `instr_ptr` meanwhile). An error is the call's.
    fn _INLINE_MATERIALIZE(f, sp, ts) {
        let res = jitsaw_inline_frame(ts, f, sp, oparg(), operand());
        let callable = frame_local(f, (oparg() & 0x3F_FFFF) - 1 - ((oparg() >> 30) & 1));
        if res.is_null() {
            error!(f, callable, ts)
        }
        *callable = res;
        next!(f, callable.add(1), ts)
    }
);

stencil!(
    /// `CALL_ALLOC_AND_ENTER_INIT`: `cls(args)` for a class whose instances
    /// come from `object.__new__` and whose `__init__` is a Python function,
    /// as long as the class keeps the type version the specializer saw (the
    /// operand). A compiled `__init__` is entered directly with the new
    /// instance below where its return value goes, which the next micro-op
    /// (`_EXIT_INIT_CHECK`) checks, as CPython's shim frame does; any other
    /// call goes the general way, with `None` standing in for `__init__`'s
    /// result.
    fn _CALL_ALLOC_AND_ENTER_INIT(f, sp, ts) {
        let n = oparg();
        let base = sp.sub(n + 2);
        let inline = enter_if_inline!(jitsaw_enter_init(ts, f, base, n, operand32(), resume_address()), ts);
        if inline.entry != 0 {
            error!(f, sp, ts)
        }
        let res = jitsaw_call(ts, base, n);
        if res.is_null() {
            error!(f, base, ts)
        }
        *base = res;
        *base.add(1) = none();
        next!(f, base.add(2), ts)
    }
);

/// Whether `callable` is a Python function with CPython's own vectorcall,
/// which the interpreter would call by pushing its frame directly.
#[inline(always)]
unsafe fn is_plain_function(callable: *mut PyObject) -> bool {
    is_type(callable, &raw mut PyFunction_Type)
        && field::<usize>(callable.cast(), off::FUNC_VECTORCALL)
            == (&raw const jitsaw_function_vectorcall) as usize
}

stencil!(
    /// `CALL_FUNCTION_EX` (tier 1 only in CPython): `func(*args, **kwargs)`.
    /// A compiled Python callee is entered directly, as `_CALL` does.
    fn _CALL_FUNCTION_EX(f, sp, ts) {
        let has_kwargs = oparg() & 1;
        let base = sp.sub(3 + has_kwargs);
        let func = *base;
        if !is_tuple(*base.add(2)) && jitsaw_callargs_tuple(ts, func, base.add(2)) != 0 {
            error!(f, sp, ts)
        }
        if is_plain_function(func) {
            enter_if_inline!(jitsaw_call_ex_inline(ts, f, base, has_kwargs, resume_address()), ts);
        }
        let (callargs, kwargs) = (*base.add(2), if has_kwargs != 0 { *base.add(3) } else { core::ptr::null_mut() });
        let res = PyObject_Call(func, callargs, kwargs);
        decref(func);
        decref(callargs);
        xdecref(kwargs);
        if res.is_null() {
            error!(f, base, ts)
        }
        *base = res;
        next!(f, base.add(1), ts)
    }
);

stencil!(
    /// `CALL_KW`: the keyword names tuple is on top. A compiled plain
    /// function is entered directly, its arguments bound as the
    /// interpreter binds them. Operand: the site's cache.
    fn _CALL_KW(f, sp, ts) {
        let n = oparg();
        let kwnames = peek(sp, 1);
        let sp_args = sp.sub(1);
        let mut callable = peek(sp_args, n + 2);
        let args;
        let total;
        if !peek(sp_args, n + 1).is_null() {
            (args, total) = (sp_args.sub(n + 1), n + 1);
        } else if is_type(callable, &raw mut PyMethod_Type) {
            let m = callable.cast::<PyMethodObject>();
            (args, total) = (sp_args.sub(n + 1), n + 1);
            *args = new_ref((*m).im_self);
            let func = new_ref((*m).im_func);
            *args.sub(1) = func;
            decref(callable);
            callable = func;
        } else {
            (args, total) = (sp_args.sub(n), n);
        }
        if is_plain_function(callable) {
            let cache = operand() as *mut u8;
            enter_if_inline!(jitsaw_call_kw_inline(ts, f, sp.sub(n + 3), n, resume_address(), cache), ts);
        }
        let positional = total - ob_size(kwnames) as usize;
        let res = if is_plain_function(callable) {
            let res = jitsaw_call_function(ts, callable, args, positional, kwnames);
            decref(kwnames);
            res
        } else {
            let res = if is_type(callable, &raw mut PyType_Type) {
                jitsaw_vectorcall_kw(ts, callable, args, positional, kwnames)
            } else {
                PyObject_Vectorcall(
                    callable,
                    args,
                    positional | consts::VECTORCALL_ARGUMENTS_OFFSET as usize,
                    kwnames,
                )
            };
            decref(kwnames);
            decref(callable);
            decref_args(args, total);
            res
        };
        let base = sp.sub(n + 3);
        if res.is_null() {
            error!(f, base, ts)
        }
        *base = res;
        next!(f, base.add(1), ts)
    }
);

stencil!(fn _CHECK_IS_NOT_PY_CALLABLE(f, sp, ts) {
    let callable = peek(sp, oparg() + 2);
    if is_type(callable, &raw mut PyFunction_Type) || is_type(callable, &raw mut PyMethod_Type) {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

stencil!(
    /// The callable is not one the generic `_CALL` (this guard's fallback)
    /// calls directly: a class of type `type` whose instances come from
    /// `object.__new__` and `PyType_GenericAlloc`, which it makes itself,
    /// entering a compiled `__init__` directly (CPython specializes only
    /// classes with inline values, not those with `__slots__`, which it
    /// calls through `CALL_NON_PY_GENERAL`), or an instance of a class
    /// defining `__call__` in Python (its `tp_call` is `slot_tp_call`),
    /// whose method it calls as a method call.
    fn _CHECK_NOT_CALLED_DIRECTLY(f, sp, ts) {
        let callable = peek(sp, oparg() + 2);
        if is_type(callable, &raw mut PyType_Type)
            && field::<usize>(callable.cast(), off::TYPE_TP_NEW)
                == field::<usize>((&raw mut PyBaseObject_Type).cast(), off::TYPE_TP_NEW)
            && field::<usize>(callable.cast(), off::TYPE_TP_ALLOC)
                == (&raw const jitsaw_generic_alloc) as usize
        {
            deopt!(f, sp, ts)
        }
        if field::<usize>(ob_type(callable).cast(), off::TYPE_TP_CALL)
            == (&raw const jitsaw_slot_tp_call) as usize
        {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(fn _CALL_NON_PY_GENERAL(f, sp, ts) {
    let callable = peek(sp, oparg() + 2);
    let (args, total) = call_args(sp, oparg());
    let res = PyObject_Vectorcall(
        callable,
        args,
        total | consts::VECTORCALL_ARGUMENTS_OFFSET as usize,
        core::ptr::null_mut(),
    );
    decref(callable);
    decref_args(args, total);
    finish_call!(f, sp, ts, res)
});

stencil!(fn _CALL_BUILTIN_CLASS(f, sp, ts) {
    let callable = peek(sp, oparg() + 2);
    let (args, total) = call_args(sp, oparg());
    if !type_has(callable, consts::TPFLAGS_TYPE_SUBCLASS) {
        deopt!(f, sp, ts)
    }
    let vectorcall = field::<Option<VectorcallFunc>>(callable.cast(), off::TYPE_TP_VECTORCALL);
    let Some(vectorcall) = vectorcall else {
        deopt!(f, sp, ts)
    };
    let res = vectorcall(callable, args, total, core::ptr::null_mut());
    decref_args(args, total);
    decref(callable);
    finish_call!(f, sp, ts, res)
});

/// `PyCFunction_GET_SELF(func)`.
#[inline(always)]
unsafe fn cfunction_self(func: *mut PyCFunctionObject) -> *mut PyObject {
    if (*(*func).m_ml).ml_flags & consts::METH_STATIC as i32 != 0 {
        core::ptr::null_mut()
    } else {
        (*func).m_self
    }
}

/// The callable as a builtin function with exactly `flags`, if it is one.
#[inline(always)]
unsafe fn builtin_with_flags(
    callable: *mut PyObject,
    flags: i64,
) -> Option<*mut PyCFunctionObject> {
    if !is_type(callable, &raw mut PyCFunction_Type) {
        return None;
    }
    let func = callable.cast::<PyCFunctionObject>();
    ((*(*func).m_ml).ml_flags as i64 == flags).then_some(func)
}

stencil!(fn _CALL_BUILTIN_O(f, sp, ts) {
    let callable = peek(sp, oparg() + 2);
    let (args, total) = call_args(sp, oparg());
    if total != 1 || *c_recursion_remaining(ts) <= 0 {
        deopt!(f, sp, ts)
    }
    let Some(func) = builtin_with_flags(callable, consts::METH_O) else {
        deopt!(f, sp, ts)
    };
    let cfunc = core::mem::transmute::<*const (), CFunction>((*(*func).m_ml).ml_meth);
    let arg = *args;
    *c_recursion_remaining(ts) -= 1;
    let res = cfunc(cfunction_self(func), arg);
    *c_recursion_remaining(ts) += 1;
    decref(arg);
    decref(callable);
    finish_call!(f, sp, ts, res)
});

stencil!(
    /// `_CALL_BUILTIN_O` in an inlined body (`optimize::inline`), where
    /// nothing may run code: only of a C function of the method definition
    /// compiled in (the operand, of a function the hook found computes
    /// from a float or an int alone, `math.sqrt`; the definition is the
    /// module's, which outlives any one function object) and an exact
    /// float or int (freed inline if this was its last reference), the
    /// function not losing its last reference here. Anything else, and an
    /// error (`math.sqrt(-1)`),
    /// leaves for the call, which computes the same again (the error is
    /// dropped there, `_INLINE_UNWIND`).
    fn _CALL_BUILTIN_O_PURE(f, sp, ts) {
        let callable = peek(sp, oparg() + 2);
        let (args, total) = call_args(sp, oparg());
        let arg = *args;
        let func = callable.cast::<PyCFunctionObject>();
        if total != 1
            || !is_type(callable, &raw mut PyCFunction_Type)
            || (*func).m_ml as u64 != operand()
            || !(is_float(arg) || is_int(arg))
            || refcnt(callable) == 1
            || *c_recursion_remaining(ts) <= 0
        {
            deopt!(f, sp, ts)
        }
        let cfunc = core::mem::transmute::<*const (), CFunction>((*(*func).m_ml).ml_meth);
        *c_recursion_remaining(ts) -= 1;
        let res = cfunc(cfunction_self(func), arg);
        *c_recursion_remaining(ts) += 1;
        if res.is_null() {
            deopt!(f, sp, ts)
        }
        if is_float(arg) {
            float_decref(ts, arg);
        } else {
            int_decref(arg);
        }
        decref_no_dealloc(callable);
        finish_call!(f, sp, ts, res)
    }
);

stencil!(fn _CALL_BUILTIN_FAST(f, sp, ts) {
    let callable = peek(sp, oparg() + 2);
    let (args, total) = call_args(sp, oparg());
    let Some(func) = builtin_with_flags(callable, consts::METH_FASTCALL) else {
        deopt!(f, sp, ts)
    };
    let cfunc = core::mem::transmute::<*const (), CFunctionFast>((*(*func).m_ml).ml_meth);
    let res = cfunc(cfunction_self(func), args, total as isize);
    decref_args(args, total);
    decref(callable);
    finish_call!(f, sp, ts, res)
});

stencil!(fn _CALL_BUILTIN_FAST_WITH_KEYWORDS(f, sp, ts) {
    let callable = peek(sp, oparg() + 2);
    let (args, total) = call_args(sp, oparg());
    let Some(func) = builtin_with_flags(callable, consts::METH_FASTCALL | consts::METH_KEYWORDS) else {
        deopt!(f, sp, ts)
    };
    let cfunc = core::mem::transmute::<*const (), CFunctionFastWithKeywords>((*(*func).m_ml).ml_meth);
    let res = cfunc(cfunction_self(func), args, total as isize, core::ptr::null_mut());
    decref_args(args, total);
    decref(callable);
    finish_call!(f, sp, ts, res)
});

/// The callable as a method descriptor with exactly `flags` whose type is
/// exactly `self`'s type, if it is one.
#[inline(always)]
unsafe fn method_descr(
    callable: *mut PyObject,
    flags: i64,
    self_: *mut PyObject,
) -> Option<*const ()> {
    if !is_type(callable, &raw mut PyMethodDescr_Type) {
        return None;
    }
    let descr = callable.cast::<PyMethodDescrObject>();
    let meth = (*descr).d_method;
    if (*meth).ml_flags as i64 != flags || !is_type(self_, (*descr).d_type) {
        return None;
    }
    Some((*meth).ml_meth)
}

stencil!(fn _CALL_METHOD_DESCRIPTOR_O(f, sp, ts) {
    let callable = peek(sp, oparg() + 2);
    let (args, total) = call_args(sp, oparg());
    if total != 2 || *c_recursion_remaining(ts) <= 0 {
        deopt!(f, sp, ts)
    }
    let (self_, arg) = (*args, *args.add(1));
    let Some(meth) = method_descr(callable, consts::METH_O, self_) else {
        deopt!(f, sp, ts)
    };
    let cfunc = core::mem::transmute::<*const (), CFunction>(meth);
    *c_recursion_remaining(ts) -= 1;
    let res = cfunc(self_, arg);
    *c_recursion_remaining(ts) += 1;
    decref(self_);
    decref(arg);
    decref(callable);
    finish_call!(f, sp, ts, res)
});

stencil!(fn _CALL_METHOD_DESCRIPTOR_NOARGS(f, sp, ts) {
    let callable = peek(sp, oparg() + 2);
    let (args, total) = call_args(sp, oparg());
    if total != 1 || *c_recursion_remaining(ts) <= 0 {
        deopt!(f, sp, ts)
    }
    let self_ = *args;
    let Some(meth) = method_descr(callable, consts::METH_NOARGS, self_) else {
        deopt!(f, sp, ts)
    };
    let cfunc = core::mem::transmute::<*const (), CFunction>(meth);
    *c_recursion_remaining(ts) -= 1;
    let res = cfunc(self_, core::ptr::null_mut());
    *c_recursion_remaining(ts) += 1;
    decref(self_);
    decref(callable);
    finish_call!(f, sp, ts, res)
});

stencil!(fn _CALL_METHOD_DESCRIPTOR_FAST(f, sp, ts) {
    let callable = peek(sp, oparg() + 2);
    let (args, total) = call_args(sp, oparg());
    if total == 0 {
        deopt!(f, sp, ts)
    }
    let Some(meth) = method_descr(callable, consts::METH_FASTCALL, *args) else {
        deopt!(f, sp, ts)
    };
    let cfunc = core::mem::transmute::<*const (), CFunctionFast>(meth);
    let res = cfunc(*args, args.add(1), total as isize - 1);
    decref_args(args, total);
    decref(callable);
    finish_call!(f, sp, ts, res)
});

stencil!(fn _CALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS(f, sp, ts) {
    let callable = peek(sp, oparg() + 2);
    let (args, total) = call_args(sp, oparg());
    if total == 0 {
        deopt!(f, sp, ts)
    }
    let flags = consts::METH_FASTCALL | consts::METH_KEYWORDS;
    let Some(meth) = method_descr(callable, flags, *args) else {
        deopt!(f, sp, ts)
    };
    let cfunc = core::mem::transmute::<*const (), CFunctionFastWithKeywords>(meth);
    let res = cfunc(*args, args.add(1), total as isize - 1, core::ptr::null_mut());
    decref_args(args, total);
    decref(callable);
    finish_call!(f, sp, ts, res)
});

/// `tstate->interp->callable_cache.<field>`.
#[inline(always)]
unsafe fn cached_callable(ts: Ts, offset: usize) -> *mut PyObject {
    field::<*mut PyObject>(interp(ts).cast(), offset)
}

/// The size of an exact list, tuple, `str` or dict: a field (what their
/// `len` slots return); `None` for anything else, which `len` asks.
#[inline(always)]
unsafe fn field_len(arg: *mut PyObject) -> Option<isize> {
    if is_list(arg) || is_tuple(arg) {
        Some(ob_size(arg))
    } else if is_str(arg) {
        Some(field::<isize>(arg.cast(), off::UNICODE_LENGTH))
    } else if is_dict(arg) {
        Some(field::<isize>(arg.cast(), off::DICT_MA_USED))
    } else {
        None
    }
}

/// For a call of the builtin the interpreter's callable cache holds at
/// `offset` (`len`, `isinstance`) with `n` arguments: the callable and its
/// arguments; `None` for any other call, which leaves as the interpreter's
/// `CALL_LEN`/`CALL_ISINSTANCE` deopt.
#[inline(always)]
unsafe fn cached_builtin_call(
    ts: Ts,
    sp: Sp,
    offset: usize,
    n: usize,
) -> Option<(*mut PyObject, *mut *mut PyObject)> {
    let callable = peek(sp, oparg() + 2);
    let (args, total) = call_args(sp, oparg());
    (total == n && callable == cached_callable(ts, offset)).then_some((callable, args))
}

stencil!(fn _CALL_LEN(f, sp, ts) {
    let Some((callable, args)) = cached_builtin_call(ts, sp, off::INTERP_CALLABLE_CACHE_LEN, 1)
    else {
        deopt!(f, sp, ts)
    };
    let arg = *args;
    let len = if let Some(len) = field_len(arg) {
        len
    } else if type_slot(arg, off::TYPE_TP_AS_SEQUENCE, off::SEQUENCE_SQ_LENGTH)
        == (&raw const jitsaw_slot_sq_length) as usize
    {
        // A class's `__len__`, run directly.
        jitsaw_length(ts, arg)
    } else {
        PyObject_Size(arg)
    };
    if len < 0 {
        error!(f, sp, ts)
    }
    let res = int_new(len as i64);
    if res.is_null() {
        error!(f, sp, ts)
    }
    decref(callable);
    decref(arg);
    finish_call!(f, sp, ts, res)
});

stencil!(
    /// `_CALL_LEN` in an inlined body (`optimize::inline`), where nothing
    /// may run code: only of an exact list, tuple, `str` or dict (whose
    /// sizes are fields), and neither the argument nor `len` losing its
    /// last reference here; anything else leaves for the call.
    fn _CALL_LEN_PURE(f, sp, ts) {
        let Some((callable, args)) = cached_builtin_call(ts, sp, off::INTERP_CALLABLE_CACHE_LEN, 1)
        else {
            deopt!(f, sp, ts)
        };
        let arg = *args;
        let Some(len) = field_len(arg) else {
            deopt!(f, sp, ts)
        };
        if refcnt(arg) == 1 || refcnt(callable) == 1 {
            deopt!(f, sp, ts)
        }
        let res = int_new(len as i64);
        if res.is_null() {
            error!(f, sp, ts)
        }
        decref_no_dealloc(callable);
        decref_no_dealloc(arg);
        finish_call!(f, sp, ts, res)
    }
);

stencil!(
    /// `_CALL_ISINSTANCE` in an inlined body (`optimize::inline`), where
    /// the general way may run code (a metaclass's `__instancecheck__`,
    /// an instance's `__class__`): only of a class whose metaclass is
    /// `type` (`isinstance` then asks the instance's type, and its
    /// `__class__` only when that is no subclass), answered by the type's
    /// MRO, or `False` for an instance of a built-in type whose
    /// `__class__` is its type; and no argument nor `isinstance` losing its
    /// last reference here. Anything else leaves for the call.
    fn _CALL_ISINSTANCE_PURE(f, sp, ts) {
        let Some((callable, args)) = cached_builtin_call(ts, sp, off::INTERP_CALLABLE_CACHE_ISINSTANCE, 2)
        else {
            deopt!(f, sp, ts)
        };
        let (inst, cls) = (*args, *args.add(1));
        if !is_type(cls, &raw mut PyType_Type)
            || refcnt(inst) == 1
            || refcnt(cls) == 1
            || refcnt(callable) == 1
        {
            deopt!(f, sp, ts)
        }
        let tp = ob_type(inst);
        let retval = if tp == cls.cast() || PyType_IsSubtype(tp, cls.cast()) != 0 {
            true
        } else if is_int(inst)
            || is_float(inst)
            || is_str(inst)
            || is_tuple(inst)
            || is_list(inst)
            || is_dict(inst)
            || inst == none()
            || is_type(inst, &raw mut PyBool_Type)
        {
            false
        } else {
            deopt!(f, sp, ts)
        };
        decref_no_dealloc(inst);
        decref_no_dealloc(cls);
        decref_no_dealloc(callable);
        finish_call!(f, sp, ts, py_bool(retval))
    }
);

stencil!(fn _CALL_ISINSTANCE(f, sp, ts) {
    let Some((callable, args)) = cached_builtin_call(ts, sp, off::INTERP_CALLABLE_CACHE_ISINSTANCE, 2)
    else {
        deopt!(f, sp, ts)
    };
    let (inst, cls) = (*args, *args.add(1));
    let retval = PyObject_IsInstance(inst, cls);
    if retval < 0 {
        error!(f, sp, ts)
    }
    decref(inst);
    decref(cls);
    decref(callable);
    finish_call!(f, sp, ts, py_bool(retval != 0))
});

stencil!(
    /// `CALL_LIST_APPEND` (tier 1 only in CPython): `list.append(x)` whose
    /// result is discarded; the JIT skips the `POP_TOP` after this micro-op.
    fn _CALL_LIST_APPEND(f, sp, ts) {
        let (callable, self_, arg) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
        if callable != cached_callable(ts, off::INTERP_CALLABLE_CACHE_LIST_APPEND)
            || self_.is_null()
            || !type_has(self_, consts::TPFLAGS_LIST_SUBCLASS)
        {
            deopt!(f, sp, ts)
        }
        if list_append_take_ref(self_, arg) < 0 {
            error!(f, sp.sub(1), ts)
        }
        decref(self_);
        decref(callable);
        next!(f, sp.sub(3), ts)
    }
);

stencil!(fn _CALL_TYPE_1(f, sp, ts) {
    let (callable, null, arg) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
    if !null.is_null() || callable != (&raw mut PyType_Type).cast() {
        deopt!(f, sp, ts)
    }
    let res = new_ref(ob_type(arg).cast());
    decref(arg);
    poke(sp, 3, res);
    next!(f, sp.sub(2), ts)
});

stencil!(fn _CALL_STR_1(f, sp, ts) {
    let (callable, null, arg) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
    if !null.is_null() || callable != (&raw mut PyUnicode_Type).cast() {
        deopt!(f, sp, ts)
    }
    let res = PyObject_Str(arg);
    decref(arg);
    if res.is_null() {
        error!(f, sp.sub(3), ts)
    }
    poke(sp, 3, res);
    next!(f, sp.sub(2), ts)
});

stencil!(fn _CALL_TUPLE_1(f, sp, ts) {
    let (callable, null, arg) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
    if !null.is_null() || callable != (&raw mut PyTuple_Type).cast() {
        deopt!(f, sp, ts)
    }
    let res = PySequence_Tuple(arg);
    decref(arg);
    if res.is_null() {
        error!(f, sp.sub(3), ts)
    }
    poke(sp, 3, res);
    next!(f, sp.sub(2), ts)
});
