//! Runtime helpers the stencils call for cold or complex work. They are
//! `extern "C"` functions of the extension, listed by name in
//! `crates/jitsaw/src/runtime/helpers.rs` (`helpers()`); every symbol the
//! stencils reference is resolved when the runtime is set up, where a
//! helper missing from that list fails as "cannot resolve symbol <name>".

use crate::abi::{Frame, PyObject, Sp, Ts};
use jitsaw_cpython313::layout::PyDictObject;

/// A frame pushed for a direct call, and where its compiled code starts
/// (both null when the call cannot be made directly).
#[repr(C)]
pub struct Inline {
    /// The callee's frame, linked and current.
    pub frame: Frame,
    /// Its compiled code's entry.
    pub entry: usize,
}

extern "C" {
    /// Deallocates an object whose refcount reached zero: exact ints into
    /// jitsaw's int freelist, anything else with `_Py_Dealloc`.
    pub fn jitsaw_dealloc(o: *mut PyObject);
    /// A new int for `v` (|v| < 2^63, not a small int), laid out as
    /// `PyLong_FromLongLong` lays it out, when jitsaw's int freelist has
    /// none to give (`int_new`): from CPython's allocator. NULL with an
    /// error set on failure.
    pub fn jitsaw_int_new(v: i64) -> *mut PyObject;
    /// `PyFloat_FromDouble(v)`, for when CPython's float freelist is empty
    /// or a reference tracer is set (the frame pointed at the calling
    /// instruction for tracemalloc and the tracer). NULL with an error set
    /// on failure.
    pub fn jitsaw_float_new(v: f64) -> *mut PyObject;
    /// `_Py_HandlePending(ts)` (signals, GIL drop requests, async
    /// exceptions), with the running frame pointed at the calling
    /// instruction first, so callers need no `_SET_IP`.
    pub fn jitsaw_handle_pending(ts: Ts) -> i32;
    /// Whether `sys.monitoring` has local events on `code` that compiled code
    /// must step aside for (not counting mode's own).
    pub fn jitsaw_local_monitors(code: *mut jitsaw_cpython313::layout::PyCodeObject) -> bool;
    /// `JITSAW_DEBUG`: reports a stack pointer that is not where the
    /// compiler expected it (`frame_local(f, expected)`) and aborts.
    pub fn jitsaw_bad_stack_depth(f: Frame, sp: Sp, expected: usize) -> !;
    /// Raises `UnboundLocalError` for local `oparg`.
    pub fn jitsaw_unbound_local(ts: Ts, f: Frame, oparg: usize);
    /// Raises `NameError` for `name`.
    pub fn jitsaw_name_error(ts: Ts, name: *mut PyObject);
    /// `LOAD_ATTR` through the site's `cache`: replaces the owner at
    /// `slot[0]` by the attribute, and with `method` set, `slot[1]` by
    /// the owner (an unbound method to call with it) or NULL. Nonzero,
    /// with an error set and the owner released, if the lookup failed.
    pub fn jitsaw_load_attr_cached(
        slot: Sp,
        name: *mut PyObject,
        cache: *mut u8,
        method: usize,
    ) -> i32;
    /// An inlined body's plain load of an attribute (`_LOAD_ATTR_LOCAL_CACHED`)
    /// through the site's `cache`, filling its entry for `owner`'s type if
    /// it has none: a new reference to the attribute where the entry reads
    /// it without running code (an inline value, a slot, the class
    /// attribute standing in for a missing value), else NULL (no error).
    pub fn jitsaw_load_attr_pure(
        owner: *mut PyObject,
        name: *mut PyObject,
        cache: *mut u8,
    ) -> *mut PyObject;
    /// `_INLINE_MATERIALIZE`: makes the frame of the callee whose inlined
    /// body left with its values below `sp` and runs it in the interpreter
    /// from the frame's `instr_ptr` (see the stencil); the call's result,
    /// or NULL with its error set, its callable and arguments taken.
    pub fn jitsaw_inline_frame(ts: Ts, f: Frame, sp: Sp, oparg: usize, call: u64) -> *mut PyObject;
    /// An inlined body's store into a local's attribute
    /// (`_STORE_ATTR_LOCAL_CACHED`) through the site's `cache`, filling its
    /// entry for `owner`'s type if it has none: nonzero when it stored
    /// `value` (taking the reference) into an inline value or a slot over
    /// a missing value or one whose release runs no code, or over such a
    /// value of the name in the instance's `__dict__`; zero, nothing done,
    /// otherwise.
    pub fn jitsaw_store_attr_pure(
        ts: Ts,
        owner: *mut PyObject,
        name: *mut PyObject,
        cache: *mut u8,
        value: *mut PyObject,
    ) -> i32;
    /// `_LOAD_ATTR_CACHED` of a `property` (`descr`) whose getter is
    /// compiled code taking just the instance, the owner at `slot`: the
    /// getter's frame, entered directly, returns to `resume` with the
    /// attribute at `slot`. Nothing taken (no frame) otherwise.
    pub fn jitsaw_enter_property(
        ts: Ts,
        f: Frame,
        slot: Sp,
        descr: *mut PyObject,
        resume: u64,
    ) -> Inline;
    /// `dict_lacks_str(dict, name)` out of line (its probe loop is more
    /// code than every method-call site should carry): nonzero when the
    /// dict's str keys rule `name` out without a comparison.
    pub fn jitsaw_dict_lacks_str(dict: *mut PyDictObject, name: *mut PyObject) -> i32;
    /// `dict_replace_at_hint` out of line: the old value to release, or NULL
    /// if nothing was stored.
    pub fn jitsaw_dict_replace_at_hint(
        ts: Ts,
        dict: *mut PyDictObject,
        hint: usize,
        name: *mut PyObject,
        value: *mut PyObject,
    ) -> *mut PyObject;
    /// `STORE_ATTR` through the site's `cache`: `slot[1].name = slot[0]`,
    /// releasing both. Nonzero, with an error set, if it failed.
    pub fn jitsaw_store_attr_cached(ts: Ts, slot: Sp, name: *mut PyObject, cache: *mut u8) -> i32;
    /// `LOAD_GLOBAL` without a cache: a new reference, or NULL with an error.
    pub fn jitsaw_load_global(ts: Ts, f: Frame, oparg: usize) -> *mut PyObject;
    /// `LIST_EXTEND` error message rewrite; always returns with an error set.
    pub fn jitsaw_list_extend_error(ts: Ts, iterable: *mut PyObject);
    /// `DICT_UPDATE` error message rewrite; always returns with an error set.
    pub fn jitsaw_dict_update_error(ts: Ts, update: *mut PyObject);
    /// Calls a Python function whose vectorcall is CPython's default, as
    /// the interpreter's `CALL` does: pushes its frame, taking the
    /// references to `func` and the arguments, and evaluates it.
    pub fn jitsaw_call_function(
        ts: Ts,
        func: *mut PyObject,
        args: *const *mut PyObject,
        nargs: usize,
        kwnames: *mut PyObject,
    ) -> *mut PyObject;
    /// `CALL` of anything, the call shape (`callable, self_or_null,
    /// args[n]`) starting at `base`: takes all its references and returns
    /// the result, or NULL with an error.
    pub fn jitsaw_call(ts: Ts, base: Sp, n: usize) -> *mut PyObject;
    /// `_PyEval_FrameClearAndPop` of a frame no longer current, with a
    /// fast path for the usual thread-owned frame.
    pub fn jitsaw_clear_and_pop(ts: Ts, f: Frame);
    /// `BINARY_OP` (oparg) the generic way: CPython's entry point for the
    /// operator, or, for two instances of a class defining the operator in
    /// Python, its method called directly. A new reference, or NULL with an
    /// error; the operands are borrowed.
    pub fn jitsaw_binary_op(
        ts: Ts,
        left: *mut PyObject,
        right: *mut PyObject,
        oparg: usize,
    ) -> *mut PyObject;
    /// `PyObject_GetItem(container, sub)`, or, when `container`'s class
    /// defines `__getitem__` in Python, the method run directly. A new
    /// reference, or NULL with an error; the operands are borrowed.
    pub fn jitsaw_get_item(ts: Ts, container: *mut PyObject, sub: *mut PyObject) -> *mut PyObject;
    /// `PyObject_SetItem(container, sub, value)`, or, when `container`'s
    /// class defines `__setitem__` in Python, the method run directly. 0,
    /// or -1 with an error; the operands are borrowed.
    pub fn jitsaw_set_item(
        ts: Ts,
        container: *mut PyObject,
        sub: *mut PyObject,
        value: *mut PyObject,
    ) -> i32;
    /// CPython's `slot_tp_iternext` (not exported; its address is this
    /// symbol's), the `tp_iternext` of a class defining `__next__` in
    /// Python.
    pub static jitsaw_slot_tp_iternext: u8;
    /// CPython's `slot_sq_contains`, likewise for `__contains__`.
    pub static jitsaw_slot_sq_contains: u8;
    /// `PyObject_IsTrue(v)`, or, when `v`'s class defines `__bool__` (or,
    /// without one, `__len__`) in Python, the method run directly: 1, 0, or
    /// -1 with an error. `v` is borrowed.
    pub fn jitsaw_is_true(ts: Ts, v: *mut PyObject) -> i32;
    /// `PyNumber_Negative(v)`, or, when `v`'s class defines `__neg__` in
    /// Python, the method run directly: a new reference, or NULL with an
    /// error. `v` is borrowed.
    pub fn jitsaw_negative(ts: Ts, v: *mut PyObject) -> *mut PyObject;
    /// CPython's `slot_sq_length`, likewise for `__len__`.
    pub static jitsaw_slot_sq_length: u8;
    /// `PyObject_Size(o)`, or, when `o`'s class defines `__len__` in
    /// Python, the method run directly: the length, or -1 with an error.
    /// `o` is borrowed.
    pub fn jitsaw_length(ts: Ts, o: *mut PyObject) -> isize;
    /// `next()` of an iterator whose `tp_iternext` is `slot_tp_iternext`,
    /// its class's `__next__` run directly: a new reference, or NULL with
    /// or without an error. The iterator is borrowed.
    pub fn jitsaw_iter_next(ts: Ts, iter: *mut PyObject) -> *mut PyObject;
    /// `PySequence_Contains(container, value)`, or, when the container's
    /// class defines `__contains__` in Python, the method run directly: 1,
    /// 0, or -1 with an error. The operands are borrowed.
    pub fn jitsaw_contains(ts: Ts, container: *mut PyObject, value: *mut PyObject) -> i32;
    /// CPython's `slot_tp_call` (not exported; its address is this
    /// symbol's), the `tp_call` of a class defining `__call__` in Python.
    pub static jitsaw_slot_tp_call: u8;
    /// CPython's `slot_mp_subscript` (not exported; its address is this
    /// symbol's), the `mp_subscript` of a class defining `__getitem__` in
    /// Python.
    pub static jitsaw_slot_mp_subscript: u8;
    /// CPython's `slot_mp_ass_subscript`, likewise for `__setitem__`.
    pub static jitsaw_slot_mp_ass_subscript: u8;
    /// `PyObject_RichCompare(left, right, op)`, or, when `left`'s class
    /// defines the comparison in Python, its method run directly. A new
    /// reference, or NULL with an error; the operands are borrowed.
    pub fn jitsaw_rich_compare(
        ts: Ts,
        left: *mut PyObject,
        right: *mut PyObject,
        op: usize,
    ) -> *mut PyObject;
    /// `CALL` of anything, the call shape (`callable, self_or_null,
    /// args[n]`) starting at `base`: a compiled Python function taking
    /// exactly the arguments given (a bound method's too) gets its frame
    /// pushed and linked, and the caller waits at `base`, where `resume` is
    /// kept until the callee returns; the result is `frame` and the
    /// callee's `entry`. Any other call is made here, and the result is a
    /// null `frame` and the call's result (or NULL, with an error) as
    /// `entry`. Takes every reference of the call shape either way.
    /// `cache` is the call site's (what the runtime keeps there is its
    /// business).
    pub fn jitsaw_call_any(
        ts: Ts,
        caller: Frame,
        base: Sp,
        n: usize,
        resume: u64,
        cache: *mut u8,
    ) -> Inline;
    /// Resumes generator (or coroutine) `gen` in its compiled code directly,
    /// as the interpreter's `SEND_GEN` and `FOR_ITER_GEN` do: sends the
    /// value at `*slot` (`kind` 0, `SEND`) or `None` (`kind` 1, `FOR_ITER`,
    /// generators only), and makes the caller wait with its stack ending
    /// at `slot`, where `resume` is kept until the generator yields or
    /// returns. Returns nulls (taking nothing) when it must go the general
    /// way. The site's `cache` learns where the generator resumed, for
    /// `resume_cached` in `ops/gen.rs`.
    pub fn jitsaw_resume_inline(
        ts: Ts,
        caller: Frame,
        gen: *mut PyObject,
        slot: Sp,
        resume: u64,
        kind: usize,
        cache: *mut jitsaw_cpython313::shared::ResumeCache,
    ) -> Inline;
    /// `CALL_ALLOC_AND_ENTER_INIT` on the call shape at `base` (`n`
    /// arguments), when the class still has type version `version` and its
    /// `__init__` has compiled code to enter: makes the instance, leaves it
    /// at `base[0]` (in place of the class) and enters `__init__` as
    /// `jitsaw_call_any` does, the caller waiting at `base[1]`. Returns
    /// nulls (taking nothing) when the call must go the general way, and a
    /// null frame with entry 1 when allocating failed (error set).
    pub fn jitsaw_enter_init(
        ts: Ts,
        caller: Frame,
        base: Sp,
        n: usize,
        version: u64,
        resume: u64,
    ) -> Inline;
    /// Raises the interpreter's `SystemError` number `which` ("lasti is
    /// not an int", "bad RAISE_VARARGS oparg", "no locals found").
    pub fn jitsaw_system_error(ts: Ts, which: usize);
    /// The interpreter's `do_raise`, taking `exc` and `cause` (either may be
    /// NULL): 1 to re-raise without a traceback entry, else 0.
    pub fn jitsaw_do_raise(ts: Ts, exc: *mut PyObject, cause: *mut PyObject) -> i32;
    /// `BEFORE_WITH`/`BEFORE_ASYNC_WITH` on the manager at `slot[0]`: 0, or
    /// -1 with an error and the manager in place, or -2 with an error and
    /// the manager gone.
    pub fn jitsaw_before_with(ts: Ts, slot: Sp, is_async: usize) -> i32;
    /// `EXIT_INIT_CHECK`'s `TypeError`.
    pub fn jitsaw_init_check_error(ts: Ts, v: *mut PyObject);
    /// `IMPORT_NAME`: a new reference or NULL with an error.
    pub fn jitsaw_import_name(
        ts: Ts,
        f: Frame,
        oparg: usize,
        fromlist: *mut PyObject,
        level: *mut PyObject,
    ) -> *mut PyObject;
    /// `IMPORT_FROM` from a plain module: 0 with `*out` set, or 1 when the
    /// interpreter must do it.
    pub fn jitsaw_import_from(
        ts: Ts,
        from: *mut PyObject,
        name: *mut PyObject,
        out: *mut *mut PyObject,
    ) -> i32;
    /// `LOAD_NAME`: a new reference or NULL with an error.
    pub fn jitsaw_load_name(ts: Ts, f: Frame, oparg: usize) -> *mut PyObject;
    /// `LOAD_FROM_DICT_OR_GLOBALS`, borrowing `dict`.
    pub fn jitsaw_load_from_dict_or_globals(
        ts: Ts,
        f: Frame,
        oparg: usize,
        dict: *mut PyObject,
    ) -> *mut PyObject;
    /// `STORE_NAME`, taking `v`: 0 or -1 with an error.
    pub fn jitsaw_store_name(ts: Ts, f: Frame, oparg: usize, v: *mut PyObject) -> i32;
    /// `DELETE_NAME`: 0 or -1 with an error.
    pub fn jitsaw_delete_name(ts: Ts, f: Frame, oparg: usize) -> i32;
    /// `LOAD_BUILD_CLASS`: a new reference or NULL with an error.
    pub fn jitsaw_load_build_class(ts: Ts, f: Frame) -> *mut PyObject;
    /// `SETUP_ANNOTATIONS`: 0 or -1 with an error.
    pub fn jitsaw_setup_annotations(ts: Ts, f: Frame) -> i32;
    /// Replaces a non-tuple `*args` at `slot` by a tuple: 0 or -1.
    pub fn jitsaw_callargs_tuple(ts: Ts, func: *mut PyObject, slot: Sp) -> i32;
    /// `CALL_FUNCTION_EX` of a compiled function as a direct call (see
    /// `jitsaw_call_any`); the call shape starts at `base`.
    pub fn jitsaw_call_ex_inline(
        ts: Ts,
        caller: Frame,
        base: Sp,
        has_kwargs: usize,
        resume: u64,
    ) -> Inline;
    /// `CALL_KW` of a compiled plain function as a direct call (see
    /// `jitsaw_call_any`): the call shape (`func, self_or_null, args[n],
    /// kwnames`) starts at `base`, and is all taken when the callee is
    /// entered; nulls (nothing taken) otherwise. `cache` is the call
    /// site's.
    pub fn jitsaw_call_kw_inline(
        ts: Ts,
        caller: Frame,
        base: Sp,
        n: usize,
        resume: u64,
        cache: *mut u8,
    ) -> Inline;
    /// `CALL_KW` of a class: `PyObject_Vectorcall` (borrowing everything;
    /// `args[-1]` lent), but a plain class's instance is made and its
    /// compiled `__init__` run without `type_call`.
    pub fn jitsaw_vectorcall_kw(
        ts: Ts,
        callable: *mut PyObject,
        args: *mut *mut PyObject,
        positional: usize,
        kwnames: *mut PyObject,
    ) -> *mut PyObject;
    /// `SEND`: 0 with `*retval` the value to yield, 1 with `*retval` the
    /// sub-iterator's return value (takes `v` in both), -1 with an error.
    pub fn jitsaw_send(
        ts: Ts,
        receiver: *mut PyObject,
        v: *mut PyObject,
        retval: *mut *mut PyObject,
    ) -> i32;
    /// `GET_AWAITABLE`, taking `iterable`: a new reference or NULL.
    pub fn jitsaw_get_awaitable(ts: Ts, iterable: *mut PyObject, oparg: usize) -> *mut PyObject;
    /// `GET_AITER`, taking `obj`: a new reference or NULL.
    pub fn jitsaw_get_aiter(ts: Ts, obj: *mut PyObject) -> *mut PyObject;
    /// `GET_ANEXT`, borrowing `aiter`: a new reference or NULL.
    pub fn jitsaw_get_anext(ts: Ts, aiter: *mut PyObject) -> *mut PyObject;
    /// `GET_YIELD_FROM_ITER`: a new reference replacing `iterable` (taken),
    /// or NULL with an error (`iterable` kept).
    pub fn jitsaw_get_yield_from_iter(ts: Ts, f: Frame, iterable: *mut PyObject) -> *mut PyObject;
    /// The platform's `pow` (libm's, which CPython's `float_pow` calls).
    pub fn jitsaw_pow(x: f64, y: f64) -> f64;
    /// `_QUICKEN`: an unspecialized instruction of the frame's code is due
    /// for its first specialization, which needs the interpreter: nonzero
    /// when the frame is to deopt for it, else a later call is interpreted.
    pub fn jitsaw_quicken_due(f: Frame) -> i32;
    /// The code object [`jitsaw_quicken_due`] last heard of, which need not
    /// tell it again.
    pub static jitsaw_quicken_reported: *mut PyObject;
    /// `_CHECK_LONG_LOOP`: back edges of provisional code until the next
    /// [`jitsaw_long_loop`].
    pub static mut jitsaw_long_loop_turns: u64;
    /// `_CHECK_LONG_LOOP`: the frame's code has run `jitsaw_long_loop_turns`
    /// turns of provisional code (here, or elsewhere since the last such
    /// call); nonzero when the frame is to deopt at its back edge to `head`,
    /// to continue in code compiled from the interpreter's specialization.
    pub fn jitsaw_long_loop(f: Frame, head: u32) -> i32;
    /// `JITSAW_CHAOS` state: countdown, period, random state.
    pub static mut jitsaw_chaos: [u64; 3];
    /// Counters of exits, indexed by the exit stub's oparg.
    pub static mut jitsaw_exit_counters: [u64; 0];
    /// The runtime's epoch, which moves whenever what a site's cache of a
    /// direct entry learned may no longer hold (`ResumeCache`).
    pub static jitsaw_direct_epoch: u64;
    /// Nonzero while profiling (`JITSAW_PROFILE`), whose counts must see
    /// every level of a `yield from`/`await` chain run: yields and
    /// resumptions do not pass through them then (`delegates` and
    /// `pass_down` in `ops/gen.rs`).
    pub static jitsaw_profiling: u8;
    /// Statistics: levels a yield passed through.
    pub static mut jitsaw_yields_passed: u64;
    /// Statistics: levels a resumption passed through.
    pub static mut jitsaw_sends_passed: u64;
    /// Statistics: frames compiled code entered directly.
    pub static mut jitsaw_frames_entered: u64;
    /// Statistics: of those, generators resumed.
    pub static mut jitsaw_resumed_directly: u64;
    /// At this symbol's address: CPython's `_PyFunction_Vectorcall` (not
    /// exported, so the runtime finds it at start-up).
    pub static jitsaw_function_vectorcall: u8;
    /// At this symbol's address: jitsaw's frame evaluator, which is the
    /// interpreter's `eval_frame` while its calls may be made without it.
    pub static jitsaw_eval_frame: u8;
    /// At this symbol's address: CPython's `slot_tp_iter`, the `tp_iter` of
    /// a class defining `__iter__` (not exported either).
    pub static jitsaw_slot_tp_iter: u8;
    /// At this symbol's address: CPython's `PyType_GenericAlloc` (as a
    /// value to compare a `tp_alloc` with, not called).
    pub static jitsaw_generic_alloc: u8;
    /// A new instance of a class made as `object.__new__` makes it
    /// (`PyType_GenericAlloc`), or NULL without an error set.
    pub fn jitsaw_alloc_instance(tp: *mut PyObject) -> *mut PyObject;
    /// CPython's `_Py_Dealloc`, for an object its caller knows frees without
    /// running Python code: unlike other calls out, it needs no `_SET_IP`
    /// (`Uop::needs_ip`).
    pub fn jitsaw_free_quietly(o: *mut PyObject);
    /// The type of the values an async generator's `yield` wraps
    /// (`_PyAsyncGenWrappedValue`, not exported) once the runtime has checked
    /// the private layouts `SEND` reads to resume an async generator
    /// directly ([`AsyncGenASend`](jitsaw_cpython313::layout::AsyncGenASend)):
    /// 0 before the check, 1 if it failed (`SEND` then goes the general way).
    pub static jitsaw_async_gen_wrapped_type: usize;
    /// Makes that check, once: the new value of
    /// [`jitsaw_async_gen_wrapped_type`].
    pub fn jitsaw_probe_async_gen() -> usize;
    /// `GET_ITER` of an object whose `tp_iter` is `slot_tp_iter`, borrowing
    /// it: a new reference or NULL.
    pub fn jitsaw_get_iter(ts: Ts, iterable: *mut PyObject) -> *mut PyObject;
    /// The rest of a generator consumed into `acc` (a list or a set, see
    /// `_CONSUME_GENEXPR`) the way `list.extend` and `set.update` take it,
    /// through its `tp_iternext`: 0, or -1 with an error.
    pub fn jitsaw_consume_rest(acc: *mut PyObject, gen: *mut PyObject) -> i32;
    /// `_UNPACK_SEQUENCE_INTO_LOCALS` out of line, so that each unpacking
    /// site is a call: the tuple or list of `n` items at `sp[-1]` unpacked
    /// into locals `first..first + n`, as `UNPACK_SEQUENCE` and its stores
    /// would (1), or nothing done (0) when it is neither or not of `n`.
    pub fn jitsaw_unpack_into_locals(f: Frame, sp: Sp, n: usize, first: usize) -> i32;
    /// The `PyMethodDef`s of the builtins `any` and `all`, of `str.join`,
    /// and of the builtins `min`, `max` and `sorted` (0 for one the runtime
    /// did not find), which `_CONSUME_GENEXPR` knows them by.
    pub static jitsaw_consumers: [usize; 6];
    /// The rest of `min()` (`op` `Py_LT`) or `max()` (`Py_GT`) of generator
    /// `gen`, the smallest or largest value so far in `*best` (NULL for
    /// none yet): each value compared with it as the builtin compares, and
    /// kept when the comparison is true. 0, or -1 with an error.
    pub fn jitsaw_min_max_rest(best: *mut *mut PyObject, gen: *mut PyObject, op: i32) -> i32;
    /// Raises the `ValueError` of `min()` (`op` `Py_LT`) or `max()` of
    /// nothing.
    pub fn jitsaw_min_max_empty(op: i32);
    /// `container[start:stop]` (`BINARY_SLICE`), borrowing all three: a new
    /// reference or NULL with an error.
    pub fn jitsaw_binary_slice(
        container: *mut PyObject,
        start: *mut PyObject,
        stop: *mut PyObject,
    ) -> *mut PyObject;
    /// `container[start:stop] = value` (`STORE_SLICE`), borrowing all four:
    /// 0, or -1 with an error.
    pub fn jitsaw_store_slice(
        container: *mut PyObject,
        start: *mut PyObject,
        stop: *mut PyObject,
        value: *mut PyObject,
    ) -> i32;
}
