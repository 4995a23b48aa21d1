//! The helpers stencils call by name (`jitsaw_*` in
//! `crates/stencils/src/helpers.rs`): cold paths, error messages, and the
//! tier-1-only instructions whose work is too large for a stencil.

use super::{FRAMES_ENTERED, INITS_ENTERED, RESUMED_DIRECTLY};
use crate::hook::CodeState;
use crate::uops::Uop;
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::inline::*;
use jitsaw_cpython313::layout::{Frame, PyCodeObject, PyObject, PyThreadState};
use jitsaw_cpython313::shared::ResumeCache;
use jitsaw_cpython313::{consts, off};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// jitsaw's int freelist (3.13 has none for ints): four list heads, then
/// four counts; class `n` holds blocks with room for `n` digits. Ints
/// compiled code frees go on it ([`free_number`]); the stencils take the
/// ints they make from it (`int_new` in `crates/stencils/src/objects.rs`).
static mut INT_FREELIST: [u64; 8] = [0; 8];

/// Storage for the scratch words of the stencils' arithmetic in machine
/// words (`crates/stencils/src/ops/raw.rs`, `optimize::raw`), then a kind
/// word for each (for values whose kind is known at run time only).
static mut RAW_WORDS: [i64; 2 * crate::optimize::raw::WORDS] = [0; 2 * crate::optimize::raw::WORDS];

/// Helpers stencils call, by the name they use.
pub(super) fn helpers() -> Vec<(&'static str, usize)> {
    vec![
        ("jitsaw_call_any", helper_call_any as *const () as usize),
        ("jitsaw_binary_op", helper_binary_op as *const () as usize),
        ("jitsaw_get_item", helper_get_item as *const () as usize),
        ("jitsaw_set_item", helper_set_item as *const () as usize),
        ("jitsaw_slot_tp_call", class_slots().tp_call),
        ("jitsaw_slot_tp_iternext", class_slots().tp_iternext),
        ("jitsaw_slot_sq_contains", class_slots().sq_contains),
        ("jitsaw_iter_next", helper_iter_next as *const () as usize),
        ("jitsaw_contains", helper_contains as *const () as usize),
        ("jitsaw_slot_sq_length", class_slots().sq_length),
        ("jitsaw_length", helper_length as *const () as usize),
        ("jitsaw_is_true", helper_is_true as *const () as usize),
        ("jitsaw_negative", helper_negative as *const () as usize),
        ("jitsaw_slot_mp_subscript", class_slots().mp_subscript),
        (
            "jitsaw_slot_mp_ass_subscript",
            class_slots().mp_ass_subscript,
        ),
        (
            "jitsaw_rich_compare",
            helper_rich_compare as *const () as usize,
        ),
        ("jitsaw_enter_init", helper_enter_init as *const () as usize),
        (
            "jitsaw_load_attr_cached",
            super::attr_cache::load_attr_cached as *const () as usize,
        ),
        (
            "jitsaw_inline_frame",
            helper_inline_frame as *const () as usize,
        ),
        (
            "jitsaw_load_attr_pure",
            super::attr_cache::load_attr_pure as *const () as usize,
        ),
        (
            "jitsaw_store_attr_pure",
            super::attr_cache::store_attr_pure as *const () as usize,
        ),
        (
            "jitsaw_store_attr_cached",
            super::attr_cache::store_attr_cached as *const () as usize,
        ),
        (
            "jitsaw_dict_lacks_str",
            helper_dict_lacks_str as *const () as usize,
        ),
        (
            "jitsaw_dict_replace_at_hint",
            helper_dict_replace_at_hint as *const () as usize,
        ),
        (
            "jitsaw_resume_inline",
            helper_resume_inline as *const () as usize,
        ),
        ("jitsaw_int_freelist", (&raw const INT_FREELIST) as usize),
        ("jitsaw_int_new", int_new_entry as *const () as usize),
        ("jitsaw_float_new", float_new_entry as *const () as usize),
        ("jitsaw_raw", (&raw const RAW_WORDS) as usize),
        ("jitsaw_dealloc", dealloc_entry as *const () as usize),
        (
            "jitsaw_unpack_into_locals",
            unpack_into_locals_entry as *const () as usize,
        ),
        (
            "jitsaw_clear_and_pop",
            helper_clear_and_pop as *const () as usize,
        ),
        (
            "jitsaw_handle_pending",
            handle_pending_entry as *const () as usize,
        ),
        ("jitsaw_call", helper_call as *const () as usize),
        ("jitsaw_pow", helper_pow as *const () as usize),
        (
            "jitsaw_call_function",
            helper_call_function as *const () as usize,
        ),
        ("jitsaw_function_vectorcall", function_vectorcall()),
        ("jitsaw_slot_tp_iter", slot_tp_iter()),
        (
            "jitsaw_generic_alloc",
            pyo3::ffi::PyType_GenericAlloc as *const () as usize,
        ),
        (
            "jitsaw_alloc_instance",
            helper_alloc_instance as *const () as usize,
        ),
        ("jitsaw_get_iter", helper_get_iter as *const () as usize),
        (
            "jitsaw_binary_slice",
            super::slices::helper_binary_slice as *const () as usize,
        ),
        (
            "jitsaw_store_slice",
            super::slices::helper_store_slice as *const () as usize,
        ),
        ("jitsaw_name_error", name_error as *const () as usize),
        (
            "jitsaw_unbound_local",
            helper_unbound_local as *const () as usize,
        ),
        (
            "jitsaw_load_global",
            helper_load_global as *const () as usize,
        ),
        (
            "jitsaw_list_extend_error",
            helper_list_extend_error as *const () as usize,
        ),
        (
            "jitsaw_dict_update_error",
            helper_dict_update_error as *const () as usize,
        ),
        (
            "jitsaw_system_error",
            helper_system_error as *const () as usize,
        ),
        ("jitsaw_do_raise", helper_do_raise as *const () as usize),
        (
            "jitsaw_before_with",
            helper_before_with as *const () as usize,
        ),
        (
            "jitsaw_init_check_error",
            helper_init_check_error as *const () as usize,
        ),
        (
            "jitsaw_import_name",
            helper_import_name as *const () as usize,
        ),
        (
            "jitsaw_import_from",
            helper_import_from as *const () as usize,
        ),
        ("jitsaw_load_name", helper_load_name as *const () as usize),
        (
            "jitsaw_load_from_dict_or_globals",
            helper_load_from_dict_or_globals as *const () as usize,
        ),
        ("jitsaw_store_name", helper_store_name as *const () as usize),
        (
            "jitsaw_delete_name",
            helper_delete_name as *const () as usize,
        ),
        (
            "jitsaw_load_build_class",
            helper_load_build_class as *const () as usize,
        ),
        (
            "jitsaw_setup_annotations",
            helper_setup_annotations as *const () as usize,
        ),
        (
            "jitsaw_callargs_tuple",
            helper_callargs_tuple as *const () as usize,
        ),
        (
            "jitsaw_call_kw_inline",
            helper_call_kw_inline as *const () as usize,
        ),
        (
            "jitsaw_vectorcall_kw",
            helper_vectorcall_kw as *const () as usize,
        ),
        (
            "jitsaw_call_ex_inline",
            helper_call_ex_inline as *const () as usize,
        ),
        ("jitsaw_send", helper_send as *const () as usize),
        ("jitsaw_free_quietly", _Py_Dealloc as *const () as usize),
        (
            "jitsaw_async_gen_wrapped_type",
            super::async_gen::WRAPPED_TYPE.as_ptr() as usize,
        ),
        (
            "jitsaw_probe_async_gen",
            super::async_gen::probe_async_gen as *const () as usize,
        ),
        (
            "jitsaw_get_awaitable",
            helper_get_awaitable as *const () as usize,
        ),
        ("jitsaw_get_aiter", helper_get_aiter as *const () as usize),
        ("jitsaw_get_anext", helper_get_anext as *const () as usize),
        (
            "jitsaw_get_yield_from_iter",
            helper_get_yield_from_iter as *const () as usize,
        ),
        (
            "jitsaw_consume_rest",
            helper_consume_rest as *const () as usize,
        ),
        (
            "jitsaw_consumers",
            super::consumers::CONSUMERS.as_ptr() as usize,
        ),
        (
            "jitsaw_min_max_rest",
            helper_min_max_rest as *const () as usize,
        ),
        (
            "jitsaw_min_max_empty",
            helper_min_max_empty as *const () as usize,
        ),
        (
            "jitsaw_exit_counters",
            (&raw const super::EXIT_COUNTS) as usize,
        ),
        ("jitsaw_chaos", (&raw const super::CHAOS) as usize),
        (
            "jitsaw_quicken_due",
            helper_quicken_due as *const () as usize,
        ),
        (
            "jitsaw_quicken_reported",
            crate::hook::quicken_reported_address(),
        ),
        ("jitsaw_long_loop", helper_long_loop as *const () as usize),
        ("jitsaw_long_loop_turns", crate::hook::osr::turns_address()),
        ("jitsaw_direct_epoch", crate::hook::direct_epoch_address()),
        ("jitsaw_eval_frame", crate::hook::eval_frame_address()),
        (
            "jitsaw_profiling",
            crate::profile::PROFILING.as_ptr() as usize,
        ),
        ("jitsaw_yields_passed", super::YIELDS_PASSED.address()),
        ("jitsaw_sends_passed", super::SENDS_PASSED.address()),
        ("jitsaw_frames_entered", FRAMES_ENTERED.address()),
        ("jitsaw_resumed_directly", RESUMED_DIRECTLY.address()),
        (
            "jitsaw_enter_property",
            helper_enter_property as *const () as usize,
        ),
        (
            "jitsaw_local_monitors",
            helper_local_monitors as *const () as usize,
        ),
        (
            "jitsaw_bad_stack_depth",
            helper_bad_stack_depth as *const () as usize,
        ),
    ]
}

/// CPython's `_PyFunction_Vectorcall`: not exported, so read from the
/// vectorcall slot of a function made for the purpose (0 if that fails,
/// which turns the direct-call path off).
fn function_vectorcall() -> usize {
    static ADDRESS: OnceLock<usize> = OnceLock::new();
    slot_of_made_object(&ADDRESS, made_function, off::FUNC_VECTORCALL)
}

/// CPython's `slot_tp_iter`, the `tp_iter` of every class whose `__iter__`
/// is written in Python: not exported, so read from a class made for the
/// purpose (0 if that fails, which turns [`python_iter`] off).
fn slot_tp_iter() -> usize {
    class_slots().tp_iter
}

/// The slot functions CPython gives a class defining `__iter__`,
/// `__next__`, `__call__`, `__getitem__`, `__setitem__`, `__contains__`,
/// `__len__`, `__bool__` and `__neg__` in Python (not exported), read from
/// one class made for the purpose, once: the runtime's set-up needs them
/// all, and each class made costs start-up time (~4 us, warm). Zeros if
/// that fails.
#[derive(Clone, Copy, Default)]
pub(super) struct ClassSlots {
    /// `slot_tp_iter`.
    pub tp_iter: usize,
    /// `slot_tp_iternext`.
    pub tp_iternext: usize,
    /// `slot_tp_call`.
    pub tp_call: usize,
    /// `slot_mp_subscript`.
    pub mp_subscript: usize,
    /// `slot_mp_ass_subscript`.
    pub mp_ass_subscript: usize,
    /// `slot_sq_contains`.
    pub sq_contains: usize,
    /// `slot_sq_length` (and `slot_mp_length`, the same function).
    pub sq_length: usize,
    /// `slot_nb_bool`.
    pub nb_bool: usize,
    /// `slot_nb_negative`.
    pub nb_negative: usize,
    /// `slot_nb_add`, `slot_nb_subtract`, `slot_nb_multiply` and
    /// `slot_nb_true_divide`, in [`BINARY_SLOTS`]' order.
    pub nb_binary: [usize; 4],
}

/// The binary operators whose Python methods may be inlined: their
/// `NB_*` oparg and their `PyNumberMethods` slot's offset.
pub(crate) const BINARY_SLOTS: [(i64, usize); 4] = [
    (consts::NB_ADD, off::NUMBER_NB_ADD),
    (consts::NB_SUBTRACT, off::NUMBER_NB_SUBTRACT),
    (consts::NB_MULTIPLY, off::NUMBER_NB_MULTIPLY),
    (consts::NB_TRUE_DIVIDE, off::NUMBER_NB_TRUE_DIVIDE),
];

/// See [`ClassSlots`].
pub(super) fn class_slots() -> ClassSlots {
    static SLOTS: OnceLock<ClassSlots> = OnceLock::new();
    *SLOTS.get_or_init(|| {
        // SAFETY: see `read_made_object`; the GIL is held.
        let py = unsafe { pyo3::Python::assume_attached() };
        let Some(class) = made_class(
            py,
            &[
                c"__iter__",
                c"__next__",
                c"__call__",
                c"__getitem__",
                c"__setitem__",
                c"__contains__",
                c"__len__",
                c"__bool__",
                c"__neg__",
                c"__add__",
                c"__sub__",
                c"__mul__",
                c"__truediv__",
            ],
        ) else {
            return ClassSlots::default();
        };
        let class = class.as_ptr().cast::<u8>();
        // SAFETY: a live class's slots; its mapping methods, when it has
        // them, are its own `PyMappingMethods`.
        unsafe {
            let slot_of = |methods: *mut u8, at| {
                if methods.is_null() {
                    0
                } else {
                    field::<usize>(methods, at)
                }
            };
            let mapping = field::<*mut u8>(class, off::TYPE_TP_AS_MAPPING);
            let sequence = field::<*mut u8>(class, off::TYPE_TP_AS_SEQUENCE);
            let number = field::<*mut u8>(class, off::TYPE_TP_AS_NUMBER);
            ClassSlots {
                tp_iter: field::<usize>(class, off::TYPE_TP_ITER),
                tp_iternext: field::<usize>(class, off::TYPE_TP_ITERNEXT),
                tp_call: field::<usize>(class, off::TYPE_TP_CALL),
                mp_subscript: slot_of(mapping, off::MAPPING_MP_SUBSCRIPT),
                mp_ass_subscript: slot_of(mapping, off::MAPPING_MP_ASS_SUBSCRIPT),
                sq_contains: slot_of(sequence, off::SEQUENCE_SQ_CONTAINS),
                sq_length: slot_of(sequence, off::SEQUENCE_SQ_LENGTH),
                nb_bool: slot_of(number, off::NUMBER_NB_BOOL),
                nb_negative: slot_of(number, off::NUMBER_NB_NEGATIVE),
                nb_binary: BINARY_SLOTS.map(|(_, at)| slot_of(number, at)),
            }
        }
    })
}

/// A function pointer CPython does not export, read once (into `cache`)
/// from the field at offset `at` of the object `make` makes: 0 if that
/// fails.
fn slot_of_made_object(
    cache: &OnceLock<usize>,
    make: impl FnOnce(pyo3::Python<'_>) -> Option<pyo3::Bound<'_, pyo3::PyAny>>,
    at: usize,
) -> usize {
    // SAFETY: `read` gets a live object of the type whose field at the
    // probed offset `at` the caller names.
    *cache.get_or_init(|| read_made_object(make, |o| Some(unsafe { field::<usize>(o, at) })))
}

/// What `read` reads from the object `make` makes (0 if either fails), with
/// the GIL its caller holds: probes run from compiled code or the frame
/// evaluator, also while the interpreter finalizes, when `Python::attach`
/// would refuse.
pub(super) fn read_made_object(
    make: impl FnOnce(pyo3::Python<'_>) -> Option<pyo3::Bound<'_, pyo3::PyAny>>,
    read: impl FnOnce(*mut u8) -> Option<usize>,
) -> usize {
    // SAFETY: see above; the GIL is held.
    let py = unsafe { pyo3::Python::assume_attached() };
    make(py).and_then(|o| read(o.as_ptr().cast())).unwrap_or(0)
}

/// A class, `type('_', (), {method: f, ...})` for a Python function `f`:
/// CPython gives it the slot functions of a class defining the `methods`
/// in Python.
pub(super) fn made_class<'py>(
    py: pyo3::Python<'py>,
    methods: &[&std::ffi::CStr],
) -> Option<pyo3::Bound<'py, pyo3::PyAny>> {
    use pyo3::types::{PyAnyMethods, PyDict, PyDictMethods, PyTuple, PyType};
    let namespace = PyDict::new(py);
    let function = made_function(py)?;
    for method in methods {
        namespace.set_item(method.to_str().ok()?, &function).ok()?;
    }
    py.get_type::<PyType>()
        .call1(("_", PyTuple::empty(py), namespace))
        .ok()
}

/// A Python function with an empty body, made without compiling source
/// (start-up pays for these probes; `eval` compiled two expressions).
fn made_function(py: pyo3::Python<'_>) -> Option<pyo3::Bound<'_, pyo3::PyAny>> {
    use pyo3::ffi::{PyCode_NewEmpty, PyFunction_New};
    // SAFETY: the GIL is held; both calls return a new reference or NULL
    // with an error set, which `from_owned_ptr_or_err` takes.
    unsafe {
        let code = PyCode_NewEmpty(c"<jitsaw>".as_ptr(), c"_".as_ptr(), 0);
        let code = pyo3::Bound::from_owned_ptr_or_err(py, code.cast()).ok()?;
        let globals = pyo3::types::PyDict::new(py);
        let f = PyFunction_New(code.as_ptr(), globals.as_ptr());
        pyo3::Bound::from_owned_ptr_or_err(py, f).ok()
    }
}

/// `BINARY_OP`'s generic way from compiled code: the operator method of
/// the left operand's class run directly (`operators::python_operator`),
/// else CPython's entry point for the operator. A new reference, or NULL with an error; the operands are
/// borrowed.
unsafe extern "C" fn helper_binary_op(
    ts: *mut PyThreadState,
    left: *mut PyObject,
    right: *mut PyObject,
    oparg: usize,
) -> *mut PyObject {
    if super::operators::may_be_python_operator(left, oparg) {
        return binary_op_of_class(ts, left, right, oparg);
    }
    _PyEval_BinaryOps[oparg](left, right)
}

/// [`helper_binary_op`] when `left`'s class may define the operator in
/// Python.
#[inline(never)]
unsafe fn binary_op_of_class(
    ts: *mut PyThreadState,
    left: *mut PyObject,
    right: *mut PyObject,
    oparg: usize,
) -> *mut PyObject {
    if let Some(result) = super::operators::python_operator(ts, left, right, oparg) {
        return result;
    }
    _PyEval_BinaryOps[oparg](left, right)
}

/// `BINARY_SUBSCR`'s generic way from compiled code: a class's
/// `__getitem__` run directly (`operators::python_get_item`), else
/// `PyObject_GetItem`. A new reference, or NULL with an error; the
/// operands are borrowed.
unsafe extern "C" fn helper_get_item(
    ts: *mut PyThreadState,
    container: *mut PyObject,
    sub: *mut PyObject,
) -> *mut PyObject {
    if let Some(result) = super::operators::python_get_item(ts, container, sub) {
        return result;
    }
    PyObject_GetItem(container, sub)
}

/// `FOR_ITER`'s generic way from compiled code for an iterator whose
/// `tp_iternext` is `slot_tp_iternext`: its class's `__next__` run
/// directly (`operators::python_next`), else the slot. A new reference, or
/// NULL with or without an error (exhausted); the iterator is borrowed.
unsafe extern "C" fn helper_iter_next(
    ts: *mut PyThreadState,
    iter: *mut PyObject,
) -> *mut PyObject {
    if let Some(result) = super::operators::python_next(ts, iter) {
        return result;
    }
    let iternext = field::<Option<unsafe extern "C" fn(*mut PyObject) -> *mut PyObject>>(
        ob_type(iter).cast(),
        off::TYPE_TP_ITERNEXT,
    );
    match iternext {
        Some(iternext) => iternext(iter),
        None => std::ptr::null_mut(),
    }
}

/// `len(o)` (`PyObject_Size`) from compiled code for an object whose
/// `sq_length` is `slot_sq_length`: its class's `__len__` run directly
/// (`operators::python_len`), else `PyObject_Size`. The length, or -1 with
/// an error; `o` is borrowed.
unsafe extern "C" fn helper_length(ts: *mut PyThreadState, o: *mut PyObject) -> isize {
    if let Some(length) = super::operators::python_len(ts, o) {
        return length;
    }
    PyObject_Size(o)
}

/// A truth test (`TO_BOOL`) from compiled code of an instance of a class:
/// its `__bool__` or `__len__` run directly (`operators::python_truth`),
/// else `PyObject_IsTrue`. 1, 0, or -1 with an error; `v` is borrowed.
unsafe extern "C" fn helper_is_true(ts: *mut PyThreadState, v: *mut PyObject) -> i32 {
    if let Some(truth) = super::operators::python_truth(ts, v) {
        return truth;
    }
    PyObject_IsTrue(v)
}

/// `-v` (`PyNumber_Negative`) from compiled code of an instance of a
/// class: its `__neg__` run directly (`operators::python_negative`), else
/// `PyNumber_Negative`. A new reference, or NULL with an error; `v` is
/// borrowed.
unsafe extern "C" fn helper_negative(ts: *mut PyThreadState, v: *mut PyObject) -> *mut PyObject {
    if let Some(result) = super::operators::python_negative(ts, v) {
        return result;
    }
    PyNumber_Negative(v)
}

/// `CONTAINS_OP`'s generic way from compiled code: a class's
/// `__contains__` run directly (`operators::python_contains`), else
/// `PySequence_Contains`. 1, 0, or -1 with an error; the operands are
/// borrowed.
unsafe extern "C" fn helper_contains(
    ts: *mut PyThreadState,
    container: *mut PyObject,
    value: *mut PyObject,
) -> i32 {
    if let Some(result) = super::operators::python_contains(ts, container, value) {
        return result;
    }
    PySequence_Contains(container, value)
}

/// `STORE_SUBSCR`'s generic way from compiled code: a class's
/// `__setitem__` run directly (`operators::python_set_item`), else
/// `PyObject_SetItem`. 0, or -1 with an error; the operands are borrowed.
unsafe extern "C" fn helper_set_item(
    ts: *mut PyThreadState,
    container: *mut PyObject,
    sub: *mut PyObject,
    value: *mut PyObject,
) -> i32 {
    if let Some(result) = super::operators::python_set_item(ts, container, sub, value) {
        return result;
    }
    PyObject_SetItem(container, sub, value)
}

/// `COMPARE_OP`'s generic way from compiled code: a class's comparison
/// method run directly (`operators::python_comparison`), else
/// `PyObject_RichCompare`. A new reference, or NULL with an error; the
/// operands are borrowed.
unsafe extern "C" fn helper_rich_compare(
    ts: *mut PyThreadState,
    left: *mut PyObject,
    right: *mut PyObject,
    op: usize,
) -> *mut PyObject {
    if super::operators::may_be_python_comparison(left) {
        return comparison_of_class(ts, left, right, op);
    }
    PyObject_RichCompare(left, right, op as i32)
}

/// [`helper_rich_compare`] when `left`'s class may define the comparison
/// in Python.
#[inline(never)]
unsafe fn comparison_of_class(
    ts: *mut PyThreadState,
    left: *mut PyObject,
    right: *mut PyObject,
    op: usize,
) -> *mut PyObject {
    if let Some(result) = super::operators::python_comparison(ts, left, right, op) {
        return result;
    }
    PyObject_RichCompare(left, right, op as i32)
}

/// `iter(iterable)` (`PyObject_GetIter`) from compiled code for an object
/// whose class defines `__iter__` in Python: see [`python_iter`]. A new
/// reference, or NULL with an error; `iterable` is borrowed.
unsafe extern "C" fn helper_get_iter(
    ts: *mut PyThreadState,
    iterable: *mut PyObject,
) -> *mut PyObject {
    if let Some(generator) = python_iter(ts, iterable) {
        return generator;
    }
    PyObject_GetIter(iterable)
}

/// `iter(iterable)` when its class's `__iter__` is a plain function: a
/// generator function of `self` alone, whose code runs compiled, makes the
/// generator as calling `__iter__` would make it (`slot_tp_iter` calls the
/// function it finds on the type, unbound), without the call through
/// `slot_tp_iter` and the frame evaluator, nor the interpreter's entry
/// (whose recursion checks are made first: near a limit, the general way
/// raises as it would); a generator is an iterator, so `PyObject_GetIter`'s
/// check holds. Any other plain function is called directly and its result
/// checked as `PyObject_GetIter` checks it. `None` (nothing done)
/// otherwise, or when the function's vectorcall was replaced.
#[inline(always)]
unsafe fn python_iter(ts: *mut PyThreadState, iterable: *mut PyObject) -> Option<*mut PyObject> {
    let tp = ob_type(iterable);
    let slot = slot_tp_iter();
    if slot == 0
        || field::<usize>(tp.cast(), off::TYPE_TP_ITER) != slot
        || !crate::hook::interpreter_entry_fits(ts)
    {
        return None;
    }
    static ITER: OnceLock<usize> = OnceLock::new();
    let func = _PyType_Lookup(tp.cast(), interned(&ITER, c"__iter__"));
    if func.is_null() || !is_plain_function(func) {
        return None;
    }
    let code = func_code(func);
    let flags = field::<i32>(code.cast(), off::CODE_CO_FLAGS) as i64;
    let args = [new_ref(iterable)];
    if flags & consts::CO_GENERATOR == 0 || !takes_exactly(code, 1) {
        // Any other function: called directly, what it returns checked as
        // `PyObject_GetIter` checks it.
        super::OPERATORS_CALLED.bump();
        let iter = helper_call_function(ts, new_ref(func), args.as_ptr(), 1, std::ptr::null_mut());
        if !iter.is_null() && pyo3::ffi::PyIter_Check(iter.cast()) == 0 {
            pyo3::ffi::PyErr_Format(
                pyo3::ffi::PyExc_TypeError,
                c"iter() returned non-iterator of type '%.100s'".as_ptr(),
                type_name(iter),
            );
            decref(iter);
            return Some(std::ptr::null_mut());
        }
        return Some(iter);
    }
    match make_generator(ts, new_ref(func), code, args.as_ptr(), 1) {
        Some((_, generator)) => {
            super::ITER_GENERATORS.bump();
            Some(generator)
        }
        None => {
            decref(func);
            decref(iterable);
            None
        }
    }
}

/// Calls a Python function the way the interpreter's `CALL` does for one
/// with the default vectorcall: pushes the callee's frame (which takes the
/// references to `func` and the arguments) and evaluates it with the frame
/// evaluator in force, without the vectorcall plumbing.
pub(super) unsafe extern "C" fn helper_call_function(
    ts: *mut PyThreadState,
    func: *mut PyObject,
    args: *const *mut PyObject,
    nargs: usize,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    let code = func_code(func);
    let flags = field::<i32>(code.cast(), off::CODE_CO_FLAGS) as i64;
    if kwnames.is_null() {
        if flags & crate::hook::GENERATOR_FLAGS != 0 {
            if takes_exactly(code, nargs) {
                if let Some((_, generator)) = make_generator(ts, func, code, args, nargs) {
                    return generator;
                }
            }
        } else if let Some((state, compiled)) = direct_compiled(ts, code, nargs) {
            if let Some(frame) = push_frame(ts, func, code, args, nargs) {
                return crate::hook::run(ts, frame, state, compiled, 0, false);
            }
        }
    }
    let locals = if flags & consts::CO_OPTIMIZED != 0 {
        std::ptr::null_mut()
    } else {
        new_ref(field::<*mut PyObject>(func.cast(), off::FUNC_GLOBALS))
    };
    let frame = _PyEvalFramePushAndInit(ts, func, locals, args, nargs, kwnames);
    if frame.is_null() {
        return std::ptr::null_mut();
    }
    let interp = interp(ts).cast::<u8>();
    match _PyInterpreterState_GetEvalFrameFunc(interp) {
        Some(eval) if !std::ptr::eq(eval as *const (), _PyEval_EvalFrameDefault as *const ()) => {
            eval(ts, frame, 0)
        }
        _ => crate::hook::interpreter(ts, frame, 0),
    }
}

/// Calls a generator, coroutine or async generator function whose code
/// starts with `RETURN_GENERATOR` (no cells to make first) and runs
/// compiled: the frame is set up and moved into a new generator as the
/// interpreter's `RETURN_GENERATOR` does, without entering the interpreter
/// for it. Takes the references to `func` and the arguments; `None`
/// (nothing taken) when the call goes the general way; with the generator
/// (or NULL and an error), the state of its code.
unsafe fn make_generator(
    ts: *mut PyThreadState,
    func: *mut PyObject,
    code: *mut PyCodeObject,
    args: *const *mut PyObject,
    nargs: usize,
) -> Option<(*mut CodeState, *mut PyObject)> {
    if (*code_units(code) & 0xFF) as u8 != jitsaw_cpython313::opcode::RETURN_GENERATOR {
        return None;
    }
    let state = crate::hook::ready_generator(ts, code)?;
    Some((state, build_generator(ts, func, code, args, nargs)?))
}

/// The work of [`make_generator`] once its checks passed (or a call site
/// remembers that they did: [`CallCache`]).
unsafe fn build_generator(
    ts: *mut PyThreadState,
    func: *mut PyObject,
    code: *mut PyCodeObject,
    args: *const *mut PyObject,
    nargs: usize,
) -> Option<*mut PyObject> {
    if field::<i32>(ts.cast(), off::TSTATE_CORO_ORIGIN_DEPTH) != 0 {
        // Origin tracking starts from the caller of the current frame.
        let frame = push_frame(ts, func, code, args, nargs)?;
        return Some(generator_from_frame(ts, frame));
    }
    // No frame to look at: the frame is made in the generator itself, as
    // `RETURN_GENERATOR` leaves it, without a pushed frame to copy.
    let generator = _Py_MakeCoro(func);
    if generator.is_null() {
        release_call(func, args, nargs);
        return Some(generator);
    }
    let frame = generator
        .cast::<u8>()
        .add(off::GEN_GI_IFRAME)
        .cast::<Frame>();
    init_frame(
        frame,
        func,
        code,
        args,
        nargs,
        consts::FRAME_OWNED_BY_GENERATOR,
    );
    (*frame).instr_ptr = code_units(code).add(1);
    (*frame).previous = std::ptr::null_mut();
    *field_ptr::<i8>(generator.cast(), off::GEN_GI_FRAME_STATE) = consts::FRAME_CREATED as i8;
    Some(generator)
}

/// `RETURN_GENERATOR` at the start of a pushed frame no code ran yet (of a
/// generator, coroutine or async generator function whose code starts
/// so): the frame moves into a new generator, which is returned (NULL with
/// an error, the frame cleared). The frame is popped either way.
///
/// # Safety
/// The GIL is held; `frame` is the thread's last pushed frame, not linked
/// as current, of a function whose code starts with `RETURN_GENERATOR`.
pub unsafe fn generator_from_frame(ts: *mut PyThreadState, frame: *mut Frame) -> *mut PyObject {
    let func = (*frame).f_funcobj;
    let code = frame_code(frame);
    // `_Py_MakeCoro` finds the new frame current, as in the interpreter
    // (coroutine origin tracking starts from its caller).
    (*frame).previous = *current_frame(ts);
    *current_frame(ts) = frame;
    let generator = _Py_MakeCoro(func);
    *current_frame(ts) = (*frame).previous;
    if generator.is_null() {
        _PyEval_FrameClearAndPop(ts, frame);
        return generator;
    }
    (*frame).instr_ptr = code_units(code).add(1);
    let gen_frame = generator
        .cast::<u8>()
        .add(off::GEN_GI_IFRAME)
        .cast::<Frame>();
    // `_PyFrame_Copy`: the frame and its locals move, references and all.
    // A word at a time, as `_PyFrame_Copy` does: the frame was just written
    // so, and the wider loads of `memcpy` would wait for those stores to
    // reach the cache (volatile, so that the loop does not become one).
    let words = (frame_local(frame, (*frame).stacktop as usize) as usize - frame as usize) / 8;
    let (from, to) = (frame.cast::<u64>(), gen_frame.cast::<u64>());
    for i in 0..words {
        to.add(i).write_volatile(from.add(i).read_volatile());
    }
    (*gen_frame).previous = std::ptr::null_mut();
    (*gen_frame).owner = consts::FRAME_OWNED_BY_GENERATOR as i8;
    *field_ptr::<i8>(generator.cast(), off::GEN_GI_FRAME_STATE) = consts::FRAME_CREATED as i8;
    _PyThreadState_PopFrame(ts, frame);
    generator
}

/// Whether a function of `code` takes exactly `nargs` positional arguments
/// and nothing else (CPython's condition for `CALL_PY_EXACT_ARGS`).
unsafe fn takes_exactly(code: *mut PyCodeObject, nargs: usize) -> bool {
    crate::hook::plain_positional_args(code) == Some(nargs as u32)
}

/// The compiled code a direct call passing `nargs` positional arguments
/// may enter: the fast check first, then the full one for code that takes
/// exactly those arguments.
#[inline(always)]
unsafe fn direct_compiled(
    ts: *mut PyThreadState,
    code: *mut PyCodeObject,
    nargs: usize,
) -> Option<(*mut CodeState, *const crate::codegen::Compiled)> {
    match crate::hook::ready_direct(ts, code, nargs) {
        Some(ready) => Some(ready),
        None if takes_exactly(code, nargs) => crate::hook::ready(ts, code),
        None => None,
    }
}

/// Pushes a frame for `func` taking `args` as its first locals, as
/// `_PyFrame_PushUnchecked` and `_PyFrame_Initialize` do; takes the
/// references to `func` and the arguments. `None` (nothing taken) when the
/// thread's frame stack chunk is full.
#[inline(always)]
unsafe fn push_frame(
    ts: *mut PyThreadState,
    func: *mut PyObject,
    code: *mut PyCodeObject,
    args: *const *mut PyObject,
    nargs: usize,
) -> Option<*mut Frame> {
    let size = field::<i32>(code.cast(), off::CODE_CO_FRAMESIZE) as usize;
    let top = field_ptr::<*mut *mut PyObject>(ts.cast(), off::TSTATE_DATASTACK_TOP);
    let limit = field::<*mut *mut PyObject>(ts.cast(), off::TSTATE_DATASTACK_LIMIT);
    if (*top).is_null() || size >= limit.offset_from(*top) as usize {
        return None;
    }
    let frame = (*top).cast::<Frame>();
    *top = (*top).add(size);
    init_frame(
        frame,
        func,
        code,
        args,
        nargs,
        consts::FRAME_OWNED_BY_THREAD,
    );
    Some(frame)
}

/// `_PyFrame_Initialize` for a frame of `func` (of `code`) owned by
/// `owner`, at its first instruction, taking the references to `func` and
/// the `nargs` arguments at `args`, which become its first locals (the rest
/// start unbound). `previous` is left to the caller.
#[inline(always)]
unsafe fn init_frame(
    frame: *mut Frame,
    func: *mut PyObject,
    code: *mut PyCodeObject,
    args: *const *mut PyObject,
    nargs: usize,
    owner: i64,
) {
    let nlocalsplus = field::<i32>(code.cast(), off::CODE_CO_NLOCALSPLUS) as usize;
    init_frame_header(frame, func, code, owner);
    (*frame).stacktop = nlocalsplus as i32;
    (*frame).instr_ptr = code_units(code);
    // A few words each: a loop beats calling memcpy/memset.
    let locals = frame_local(frame, 0);
    for i in 0..nargs {
        core::ptr::write_volatile(locals.add(i), *args.add(i));
    }
    for i in nargs..nlocalsplus {
        core::ptr::write_volatile(locals.add(i), std::ptr::null_mut());
    }
}

/// The header `_PyFrame_Initialize` writes for a frame of `func` (of
/// `code`) owned by `owner`, taking the reference to `func`; its stack
/// depth, instruction pointer and `previous` are left to the caller.
#[inline(always)]
unsafe fn init_frame_header(
    frame: *mut Frame,
    func: *mut PyObject,
    code: *mut PyCodeObject,
    owner: i64,
) {
    (*frame).f_funcobj = func;
    (*frame).f_executable = new_ref(code.cast());
    (*frame).f_builtins = field::<*mut PyObject>(func.cast(), off::FUNC_BUILTINS);
    (*frame).f_globals = field::<*mut PyObject>(func.cast(), off::FUNC_GLOBALS);
    (*frame).f_locals = std::ptr::null_mut();
    (*frame).frame_obj = std::ptr::null_mut();
    (*frame).return_offset = 0;
    (*frame).owner = owner as i8;
}

/// A frame pushed for a direct call and its compiled entry (the
/// stencils' `Inline`; nulls when the call goes the general way).
#[repr(C)]
pub struct Inline {
    frame: *mut Frame,
    entry: usize,
}

impl Inline {
    /// The call goes the general way.
    const NONE: Inline = Inline {
        frame: std::ptr::null_mut(),
        entry: 0,
    };
}

/// What a `CALL` site remembers of a compiled Python function it entered
/// directly or made a generator of (an entry of its [`CallSite`]; zeroed:
/// nothing), so that the next call
/// to it needs none of the lookups and only the checks of
/// [`crate::hook::still_ready`]. The function's version vouches
/// for its code (CPython gives each code object its own, and resets a
/// function's when its code, defaults or vectorcall change), which keeps
/// the code's state and compiled code alive.
#[repr(C)]
#[derive(Clone, Copy)]
struct CallCache {
    /// The function's version; 0 for none.
    version: u32,
    /// The arguments passed, counting `self`.
    nargs: u32,
    state: *mut CodeState,
    /// The compiled code's entry; 0 for a generator function, whose call
    /// makes a generator ([`build_generator`]).
    entry: usize,
    ticket: crate::hook::DirectTicket,
    /// For a class (then `version` is its type version): its `__init__`,
    /// borrowed, as the version vouches for it; null for a function.
    init: *mut PyObject,
    /// Where a compiled `__init__` entered for a class returns: the code's
    /// `_INIT_RETURN` (written by the code generator; 0 for none).
    init_return: usize,
    /// How many parameters of a function the call leaves to its defaults
    /// (its version vouches for them too); [`STARS_BOUND`] for a function
    /// whose `*args` and `**kwargs` the call binds.
    filled: u32,
    /// What the function's whole body does, if it only returns one of its
    /// arguments or a constant (see [`trivial_body`]); 0 otherwise.
    trivial: u32,
}

impl CallCache {
    /// No entry.
    const EMPTY: CallCache = CallCache {
        version: 0,
        nargs: 0,
        state: std::ptr::null_mut(),
        entry: 0,
        ticket: crate::hook::DirectTicket::NONE,
        init: std::ptr::null_mut(),
        init_return: 0,
        filled: 0,
        trivial: 0,
    };
}

/// Entries for functions that call sites learned, by function version and
/// argument count (one entry a slot), which a site asks when both of its
/// own miss: a site calling more than two functions in turn (`copy`'s
/// dispatch to the copier of each type, a visitor's methods) finds them
/// as quickly instead of learning them again at each call (43 against 30
/// ns a call for four functions in turn). An entry vouches for itself as a
/// site's does, whatever site learned it: the function's version names its
/// code, and [`quick_call`] checks the call's shape and what
/// `still_ready` checks. Read and written with the GIL held.
static mut CALLEES: [CallCache; CALLEES_LEN] = [CallCache::EMPTY; CALLEES_LEN];

/// Slots of [`CALLEES`] (16 KiB).
const CALLEES_LEN: usize = 256;

/// The [`CALLEES`] slot of a function of version `version` called with
/// `nargs` arguments.
#[inline(always)]
fn callee_slot(version: u32, nargs: usize) -> *mut CallCache {
    let index = (version ^ (version >> 8) ^ (nargs as u32).wrapping_mul(0x9E37)) as usize;
    // SAFETY: in bounds; the address only (callers hold the GIL to use it).
    unsafe {
        (&raw mut CALLEES)
            .cast::<CallCache>()
            .add(index & (CALLEES_LEN - 1))
    }
}

/// A `_CALL` site learns `entry`: the function or class its first entry
/// held moves to the second (a function only: the quick way takes
/// only functions there), so that a site calling two functions in turn
/// keeps both.
#[inline(always)]
fn learn(site: &mut CallSite, entry: CallCache) {
    if site.first.version != 0 && site.first.init.is_null() {
        site.second = site.first;
    }
    site.first = entry;
}

/// A `_CALL` site learns a call of the plain function `func` ([`learn`]),
/// when the function has a version to vouch for the entry: its code's
/// `state`, the compiled `entry` (0 for a generator function), the call's
/// `ticket`, and what [`CallCache::filled`] and [`CallCache::trivial`] say.
#[allow(clippy::too_many_arguments)]
unsafe fn learn_function(
    site: &mut CallSite,
    func: *mut PyObject,
    nargs: usize,
    state: *mut CodeState,
    entry: usize,
    ticket: crate::hook::DirectTicket,
    filled: u32,
    trivial: u32,
) {
    let version = field::<u32>(func.cast(), off::FUNC_VERSION);
    if version == 0 {
        return;
    }
    let init_return = site.first.init_return;
    let learned = CallCache {
        version,
        nargs: nargs as u32,
        state,
        entry,
        ticket,
        init: std::ptr::null_mut(),
        init_return,
        filled,
        trivial,
    };
    // SAFETY: the GIL is held (compiled code's calls run with it).
    *callee_slot(version, nargs) = CallCache {
        init_return: 0,
        ..learned
    };
    learn(site, learned);
}

/// A `_CALL` site's cache (its [`crate::codegen::SiteCache`]s): the entry
/// it learned last, and the function before, which a site calling two
/// functions in turn keeps (deltablue's and richards' method calls on
/// objects of a few classes).
#[repr(C)]
struct CallSite {
    first: CallCache,
    second: CallCache,
}

/// Gives a `_CALL` site's fresh cache its code's `_INIT_RETURN`.
///
/// # Safety
/// `cache` is a `_CALL` site's zeroed cache no code runs yet.
pub unsafe fn prepare_call_site(cache: *mut u8, init_return: usize) {
    (*cache.cast::<CallSite>()).first.init_return = init_return;
}

const _: () = assert!(
    size_of::<CallSite>() <= Uop::_CALL.site_cache_slots() * size_of::<crate::codegen::SiteCache>()
);
const _: () = assert!(
    size_of::<ResumeCache>()
        <= Uop::_SEND.site_cache_slots() * size_of::<crate::codegen::SiteCache>()
        && Uop::_SEND.site_cache_slots() == Uop::_FOR_ITER.site_cache_slots()
);

/// A direct call from compiled code to compiled code: pushes the callee's
/// frame and makes the caller wait at its call, so the call and its return
/// are jumps (no native recursion, as in the interpreter). Nulls (nothing
/// taken) when the call must go the general way. A call site's `cache`
/// learns the entry.
#[allow(clippy::too_many_arguments)]
unsafe fn push_inline(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    func: *mut PyObject,
    args: *const *mut PyObject,
    nargs: usize,
    base: *mut *mut PyObject,
    resume: u64,
    site: &mut CallSite,
) -> Inline {
    const NONE: Inline = Inline::NONE;
    let code = func_code(func);
    // Near the recursion limit, the general path raises as the interpreter does.
    if *py_recursion_remaining(ts) <= 1 {
        return NONE;
    }
    let Some(filled) = defaults_needed(func, code, nargs) else {
        return NONE;
    };
    let Some((state, compiled)) = direct_compiled(ts, code, nargs + filled) else {
        return NONE;
    };
    let entry = crate::hook::entry_of(state, compiled);
    let trivial = if filled == 0 { trivial_body(code) } else { 0 };
    let ticket = crate::hook::ticket(ts);
    learn_function(
        site,
        func,
        nargs,
        state,
        entry,
        ticket,
        filled as u32,
        trivial,
    );
    let Some(frame) = push_frame(ts, func, code, args, nargs) else {
        return NONE;
    };
    fill_defaults(frame, func, nargs, filled);
    enter_inline(ts, caller, frame, base, resume, entry)
}

/// A Python function's code object.
#[inline(always)]
unsafe fn func_code(func: *mut PyObject) -> *mut PyCodeObject {
    field::<*mut PyObject>(func.cast(), off::FUNC_CODE).cast()
}

/// Releases a call's references to the callable and its `n` arguments.
unsafe fn release_call(callable: *mut PyObject, args: *const *mut PyObject, n: usize) {
    decref(callable);
    for i in 0..n {
        decref(*args.add(i));
    }
}

/// [`CallCache::trivial`] of a function whose body returns its argument
/// `i`.
pub(crate) const TRIVIAL_ARG: u32 = 1 << 30;
/// [`CallCache::trivial`] of a function whose body returns its constant
/// `k`.
pub(crate) const TRIVIAL_CONST: u32 = 2 << 30;

/// What a function of `code` does when called with all its positional
/// parameters bound, if that is only to return one of them (`RESUME;
/// LOAD_FAST i; RETURN_VALUE`: `TRIVIAL_ARG | i`) or a constant (`RESUME;
/// RETURN_CONST k`: `TRIVIAL_CONST | k`), as predicates and accessors
/// (`def is_point(self): return False`, `def must_be_vector(self): return
/// self`) do; 0 for anything else. Such a call cannot raise, run code or
/// see its frame once `RESUME` has nothing to do, so it needs no frame:
/// its result is the value itself. The function's version vouches for the
/// code, whose bytecode changes only by quickening (and instrumenting,
/// which stops direct calls).
pub(crate) unsafe fn trivial_body(code: *mut PyCodeObject) -> u32 {
    let Some(argcount) = crate::hook::plain_positional_args(code) else {
        return 0;
    };
    let units = std::slice::from_raw_parts(code_units(code), ob_size(code.cast()).min(3) as usize);
    let op = |u: u16| jitsaw_cpython313::deopt((u & 0xFF) as u8);
    let arg = |u: u16| (u >> 8) as u32;
    use jitsaw_cpython313::opcode::{LOAD_FAST, RESUME, RETURN_CONST, RETURN_VALUE};
    match units {
        [r, ..] if op(*r) != RESUME || arg(*r) != 0 => 0,
        [_, c, ..] if op(*c) == RETURN_CONST => TRIVIAL_CONST | arg(*c),
        [_, l, v] if op(*l) == LOAD_FAST && op(*v) == RETURN_VALUE && arg(*l) < argcount => {
            TRIVIAL_ARG | arg(*l)
        }
        _ => 0,
    }
}

/// A call of a function with a trivial body ([`trivial_body`]), all its
/// parameters passed: its result, the references to `func` and the
/// arguments released, as its frame's would be.
unsafe fn trivial_call(
    func: *mut PyObject,
    code: *mut PyCodeObject,
    args: *mut *mut PyObject,
    total: usize,
    trivial: u32,
) -> *mut PyObject {
    let index = (trivial & 0xFFFF) as usize;
    let result = if trivial & TRIVIAL_CONST != 0 {
        let consts = field::<*mut PyObject>(code.cast(), off::CODE_CO_CONSTS);
        pyo3::ffi::PyTuple_GET_ITEM(consts.cast(), index as isize).cast::<PyObject>()
    } else {
        *args.add(index)
    };
    incref(result);
    release_call(func, args, total);
    super::CALLS_WITHOUT_FRAME.bump();
    result
}

/// How many parameters `func`'s defaults must fill when a call passes it
/// `nargs` positional arguments only, for its code (`code`) to be entered
/// with its arguments copied (CPython's `CALL_PY_WITH_DEFAULTS`): 0 when
/// it takes exactly those; `None` when the call must bind its arguments
/// the general way.
unsafe fn defaults_needed(
    func: *mut PyObject,
    code: *mut PyCodeObject,
    nargs: usize,
) -> Option<usize> {
    let argcount = crate::hook::plain_positional_args(code)? as usize;
    if nargs >= argcount {
        return (nargs == argcount).then_some(0);
    }
    let defaults = field::<*mut PyObject>(func.cast(), off::FUNC_DEFAULTS);
    let missing = argcount - nargs;
    (!defaults.is_null() && missing <= ob_size(defaults) as usize).then_some(missing)
}

/// Binds the `filled` parameters after the `nargs` arguments of a frame
/// [`push_frame`] pushed for `func` to the last of `func`'s defaults
/// ([`defaults_needed`]).
#[inline(always)]
unsafe fn fill_defaults(frame: *mut Frame, func: *mut PyObject, nargs: usize, filled: usize) {
    if filled == 0 {
        return;
    }
    let defaults = field::<*mut PyObject>(func.cast(), off::FUNC_DEFAULTS);
    let first = ob_size(defaults) as usize - filled;
    for k in 0..filled {
        *frame_local(frame, nargs + k) = new_ref(tuple_item(defaults, first + k));
    }
}

/// A new instance of `tp` for an inlined `__init__` (`_INIT_ALLOC`), as
/// `object.__new__` makes it; NULL, the error dropped, if that fails (the
/// call itself then raises it).
unsafe extern "C" fn helper_alloc_instance(tp: *mut PyObject) -> *mut PyObject {
    let o = pyo3::ffi::PyType_GenericAlloc(tp.cast(), 0).cast::<PyObject>();
    if o.is_null() {
        PyErr_Clear();
    }
    o
}

/// `CALL` from compiled code (see `jitsaw_call_any` in
/// `crates/stencils/src/helpers.rs`): a direct call when the callee's
/// compiled code can be entered, else the general call. `cache` is the
/// call site's: a call to the function it remembers takes the short way.
unsafe extern "C" fn helper_call_any(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    base: *mut *mut PyObject,
    n: usize,
    resume: u64,
    site: *mut CallSite,
) -> Inline {
    let (args, total) = call_shape(base, n);
    let site = &mut *site;
    if let Some(inline) = quick_call(ts, caller, base, resume, &site.first, args, total) {
        return inline;
    }
    call_any_other(ts, caller, base, n, resume, site, args, total)
}

/// The call of the function a `_CALL` site's cache entry remembers, the
/// quick way: only the checks of [`crate::hook::still_ready`]. `None`
/// (nothing taken) when the entry does not serve this call.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn quick_call(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    base: *mut *mut PyObject,
    resume: u64,
    cache: &CallCache,
    args: *mut *mut PyObject,
    total: usize,
) -> Option<Inline> {
    let func = *base;
    if is_type(func, &raw mut PyFunction_Type)
        && field::<u32>(func.cast(), off::FUNC_VERSION) == cache.version
        && cache.version != 0
        && cache.init.is_null()
        && cache.nargs as usize == total
        && *py_recursion_remaining(ts) > 1
    {
        let code = func_code(func);
        if crate::hook::still_ready(ts, cache.state, code, cache.ticket) {
            // The callee's `RESUME` would find nothing to do (no pending
            // signal, collection or request): its frame need not exist.
            if cache.trivial != 0 && eval_breaker(ts) & consts::EVAL_EVENTS_MASK == 0 {
                let result = trivial_call(func, code, args, total, cache.trivial);
                return Some(Inline {
                    frame: std::ptr::null_mut(),
                    entry: result as usize,
                });
            }
            if cache.entry == 0 {
                if let Some(generator) = build_generator(ts, func, code, args, total) {
                    return Some(Inline {
                        frame: std::ptr::null_mut(),
                        entry: generator as usize,
                    });
                }
            } else if cache.filled == STARS_BOUND {
                if let Some(frame) = push_star_frame(ts, func, code, args, total) {
                    return Some(enter_inline(ts, caller, frame, base, resume, cache.entry));
                }
            } else if let Some(frame) = push_frame(ts, func, code, args, total) {
                fill_defaults(frame, func, total, cache.filled as usize);
                return Some(enter_inline(ts, caller, frame, base, resume, cache.entry));
            }
        }
    }
    None
}

/// [`CallCache::filled`] of a function whose `*args` and `**kwargs` the
/// call binds ([`push_star_frame`]); no function has this many parameters.
const STARS_BOUND: u32 = u32::MAX;

/// Whether a call passing `nargs` arguments by position binds a function
/// of `code` with [`push_star_frame`]: the code takes `*args` or
/// `**kwargs` (or both) and no keyword-only parameters, and the call
/// passes at least its positional parameters, more only into `*args`
/// (logging's `def debug(self, msg, *args, **kwargs)`, decorators'
/// `def wrapper(*args, **kwargs)`).
#[inline]
unsafe fn binds_stars_alone(code: *mut PyCodeObject, nargs: usize) -> bool {
    let flags = field::<i32>(code.cast(), off::CODE_CO_FLAGS) as i64;
    let argcount = field::<i32>(code.cast(), off::CODE_CO_ARGCOUNT) as usize;
    flags & consts::CO_OPTIMIZED != 0
        && flags & (consts::CO_VARARGS | consts::CO_VARKEYWORDS) != 0
        && field::<i32>(code.cast(), off::CODE_CO_KWONLYARGCOUNT) == 0
        && (nargs == argcount || (nargs > argcount && flags & consts::CO_VARARGS != 0))
}

/// Pushes a frame for `func`, whose code [`binds_stars_alone`] for
/// `nargs` positional arguments at `args`, bound as
/// `_PyEvalFramePushAndInit` binds them: the positional parameters, then
/// `*args` holding the rest (the empty tuple for none) and `**kwargs` a new
/// empty dict. Takes the references to `func` and the arguments. `None`
/// (nothing taken, no error set) when the thread's frame stack chunk is
/// full or an allocation fails: the general way then binds the call (and
/// raises `MemoryError` itself).
#[inline(never)]
unsafe fn push_star_frame(
    ts: *mut PyThreadState,
    func: *mut PyObject,
    code: *mut PyCodeObject,
    args: *const *mut PyObject,
    nargs: usize,
) -> Option<*mut Frame> {
    let flags = field::<i32>(code.cast(), off::CODE_CO_FLAGS) as i64;
    let argcount = field::<i32>(code.cast(), off::CODE_CO_ARGCOUNT) as usize;
    let varargs = flags & consts::CO_VARARGS != 0;
    // Both made before the frame, so that a failure has nothing to undo.
    let kwargs = if flags & consts::CO_VARKEYWORDS != 0 {
        let d = pyo3::ffi::PyDict_New().cast::<PyObject>();
        if d.is_null() {
            PyErr_Clear();
            return None;
        }
        d
    } else {
        std::ptr::null_mut()
    };
    let rest = if varargs {
        let t = pyo3::ffi::PyTuple_New((nargs - argcount) as isize).cast::<PyObject>();
        if t.is_null() {
            xdecref(kwargs);
            PyErr_Clear();
            return None;
        }
        t
    } else {
        std::ptr::null_mut()
    };
    let Some(frame) = push_frame(ts, func, code, args, argcount) else {
        xdecref(rest);
        xdecref(kwargs);
        return None;
    };
    if varargs {
        // No allocation since the tuple was made: the GC has not seen its
        // empty items.
        let items = tuple_items(rest);
        for i in argcount..nargs {
            *items.add(i - argcount) = *args.add(i);
        }
        *frame_local(frame, argcount) = rest;
    }
    if !kwargs.is_null() {
        *frame_local(frame, argcount + varargs as usize) = kwargs;
    }
    super::STAR_CALLS_BOUND.bump();
    Some(frame)
}

/// A call from compiled code of a function whose code
/// [`binds_stars_alone`] for this call: enters its compiled code with the
/// frame [`push_star_frame`] binds, and the call site's `cache` learns the
/// entry. `None` (nothing taken) when it cannot.
#[allow(clippy::too_many_arguments)]
unsafe fn star_inline(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    func: *mut PyObject,
    args: *const *mut PyObject,
    nargs: usize,
    base: *mut *mut PyObject,
    resume: u64,
    site: &mut CallSite,
) -> Option<Inline> {
    let code = func_code(func);
    if !binds_stars_alone(code, nargs) {
        return None;
    }
    let (state, compiled) = bindable(ts, func)?;
    let entry = crate::hook::entry_of(state, compiled);
    let ticket = crate::hook::ticket(ts);
    learn_function(site, func, nargs, state, entry, ticket, STARS_BOUND, 0);
    let frame = push_star_frame(ts, func, code, args, nargs)?;
    Some(enter_inline(ts, caller, frame, base, resume, entry))
}

/// [`helper_call_any`] past its quick call of the function its site
/// remembers (kept apart, so that the quick call saves few registers): the
/// class the site remembers, then every other way. `args` and `total`:
/// [`call_shape`]'s.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
unsafe fn call_any_other(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    base: *mut *mut PyObject,
    n: usize,
    resume: u64,
    site: &mut CallSite,
    args: *mut *mut PyObject,
    total: usize,
) -> Inline {
    if let Some(inline) = quick_call(ts, caller, base, resume, &site.second, args, total) {
        return inline;
    }
    let func = *base;
    if is_type(func, &raw mut PyFunction_Type) {
        let version = field::<u32>(func.cast(), off::FUNC_VERSION);
        // SAFETY: the GIL is held; the entry is copied before the call
        // runs any code that could learn into the slot.
        let known = *callee_slot(version, total);
        if let Some(inline) = quick_call(ts, caller, base, resume, &known, args, total) {
            // The site learns it: its own entries went stale (a status
            // change anywhere moves the epoch on) or name other functions,
            // and only the slow way below would teach it otherwise. A class
            // the site calls keeps the first entry (the quick way takes
            // only functions from the second).
            if site.first.init.is_null() {
                let init_return = site.first.init_return;
                learn(
                    site,
                    CallCache {
                        init_return,
                        ..known
                    },
                );
            } else {
                site.second = known;
            }
            return inline;
        }
    }
    let cache = site.first;
    if !cache.init.is_null()
        && ob_type(func) == &raw mut PyType_Type
        && field::<u32>(func.cast(), off::TYPE_TP_VERSION_TAG) == cache.version
        && args == base.add(2)
        && cache.nargs as usize == n + 1
        && *py_recursion_remaining(ts) > 1
        && room_for_init_return(caller, base)
    {
        let init = cache.init;
        let code = func_code(init);
        let filled = cache.filled as usize;
        // The class's version vouches for its `__init__`, not for that
        // function's code (`C.__init__.__code__ = ...`) or defaults: it
        // must still be the code compiled (its state is alive: `still_ready`
        // checked the epoch, which its death would have moved on), with as
        // many defaults.
        if crate::hook::still_ready(ts, cache.state, code, cache.ticket)
            && crate::hook::state_code(cache.state) == code
            && (filled == 0 || defaults_needed(init, code, n + 1) == Some(filled))
        {
            let (entry, init_return) = (cache.entry, cache.init_return);
            let class = ClassInit { init, code, filled };
            if let Some(inline) = enter_init(ts, caller, base, n, class, resume, entry, init_return)
            {
                return inline;
            }
        }
    }
    if is_plain_function(func) {
        let code = func_code(func);
        if field::<i32>(code.cast(), off::CODE_CO_FLAGS) as i64 & crate::hook::GENERATOR_FLAGS != 0
        {
            if let Some(generator) = call_generator_function(ts, func, code, args, total, site) {
                return Inline {
                    frame: std::ptr::null_mut(),
                    entry: generator as usize,
                };
            }
        } else {
            let inline = push_inline(ts, caller, func, args, total, base, resume, site);
            if !inline.frame.is_null() {
                return inline;
            }
            if let Some(inline) = star_inline(ts, caller, func, args, total, base, resume, site) {
                return inline;
            }
            if defaults_needed(func, code, total).is_none() {
                let (inline, _) =
                    bind_inline(ts, caller, base, args, total, std::ptr::null_mut(), resume);
                if !inline.frame.is_null() {
                    return inline;
                }
            }
        }
    } else if args == base.add(2) && cache.init_return != 0 && ob_type(func) == &raw mut PyType_Type
    {
        match simple_class_init(func, n) {
            Some(class) => {
                if let Some(inline) = call_class_inline(ts, caller, base, n, class, resume, site) {
                    return inline;
                }
            }
            // Not a class `helper_call` would make the instance of itself.
            None => {
                return Inline {
                    frame: std::ptr::null_mut(),
                    entry: vectorcall_shape(func, args, total) as usize,
                }
            }
        }
    }
    // `helper_call` finds the shape as `call_shape` left it.
    Inline {
        frame: std::ptr::null_mut(),
        entry: helper_call(ts, base, n) as usize,
    }
}

/// A call of a generator function from compiled code: [`make_generator`],
/// and the call site's `cache` learns that the function's calls may.
unsafe fn call_generator_function(
    ts: *mut PyThreadState,
    func: *mut PyObject,
    code: *mut PyCodeObject,
    args: *const *mut PyObject,
    nargs: usize,
    site: &mut CallSite,
) -> Option<*mut PyObject> {
    if !takes_exactly(code, nargs) {
        return None;
    }
    let ticket = crate::hook::ticket(ts);
    let (state, generator) = make_generator(ts, func, code, args, nargs)?;
    if !generator.is_null() {
        learn_function(site, func, nargs, state, 0, ticket, 0, 0);
    }
    Some(generator)
}

/// A generic `CALL` of a class from compiled code (the call shape `cls,
/// NULL, args[n]` at `base`) whose instances come from `object.__new__` and
/// whose `__init__` ([`simple_class_init`]) is compiled code taking these
/// arguments (and its last defaults), as
/// [`call_simple_class`] makes it, but with `__init__` entered directly: it
/// returns to the code's `_INIT_RETURN`, which finds the call's own
/// `resume` just above the caller's stack. The call site's `cache` learns
/// the class. `None` (nothing taken) when the call goes the general way.
#[allow(clippy::too_many_arguments)]
unsafe fn call_class_inline(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    base: *mut *mut PyObject,
    n: usize,
    class: ClassInit,
    resume: u64,
    site: &mut CallSite,
) -> Option<Inline> {
    if *py_recursion_remaining(ts) <= 1 || !room_for_init_return(caller, base) {
        return None;
    }
    let tp = *base;
    let (state, compiled) = direct_compiled(ts, class.code, n + 1 + class.filled)?;
    let entry = crate::hook::entry_of(state, compiled);
    let version = field::<u32>(tp.cast(), off::TYPE_TP_VERSION_TAG);
    if version != 0 {
        learn(
            site,
            CallCache {
                version,
                nargs: n as u32 + 1,
                state,
                entry,
                ticket: crate::hook::ticket(ts),
                init: class.init,
                init_return: site.first.init_return,
                filled: class.filled as u32,
                trivial: 0,
            },
        );
    }
    enter_init(
        ts,
        caller,
        base,
        n,
        class,
        resume,
        entry,
        site.first.init_return,
    )
}

/// Whether the caller's frame has a slot past `base[1]` (where a class
/// call's instance and `__init__`'s result go) for the call's resume
/// address: a call without arguments may have its shape at the very top.
#[inline(always)]
unsafe fn room_for_init_return(caller: *mut Frame, base: *mut *mut PyObject) -> bool {
    let code = frame_code(caller);
    let size = field::<i32>(code.cast(), off::CODE_CO_NLOCALSPLUS) as usize
        + field::<i32>(code.cast(), off::CODE_CO_STACKSIZE) as usize;
    base.add(2) < frame_local(caller, size)
}

/// Allocates the instance of the class at `base[0]` and enters its compiled
/// `__init__` (`class`, whose compiled code starts at `entry`) directly,
/// returning to `init_return` with the call's `resume` above the caller's
/// stack (see [`call_class_inline`]). `None` (nothing taken) when
/// there is no room for the frame; a null frame and result (everything
/// taken, an error set) when allocating failed.
#[allow(clippy::too_many_arguments)]
unsafe fn enter_init(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    base: *mut *mut PyObject,
    n: usize,
    class: ClassInit,
    resume: u64,
    entry: usize,
    init_return: usize,
) -> Option<Inline> {
    match push_init_frame(ts, base, class, n) {
        InitFrame::NoInstance => {
            for i in 0..n + 2 {
                xdecref(*base.add(i));
            }
            Some(Inline::NONE)
        }
        InitFrame::NoRoom => None,
        InitFrame::Pushed(frame, instance) => {
            decref(*base);
            *base = instance;
            let inline = enter_inline(ts, caller, frame, base.add(1), init_return as u64, entry);
            *base.add(2) = resume as *mut PyObject;
            Some(inline)
        }
    }
}

/// A class's `__init__` that a call may enter directly
/// ([`simple_class_init`]).
#[derive(Clone, Copy)]
struct ClassInit {
    init: *mut PyObject,
    code: *mut PyCodeObject,
    /// Its parameters the call leaves to their defaults.
    filled: usize,
}

/// The `__init__` of a class whose call [`call_simple_class`] may make
/// with `n` arguments: a plain class (type `type`, heap type, not
/// abstract) whose instances come from `object.__new__` and
/// `PyType_GenericAlloc`, and whose `__init__` is a Python function with
/// CPython's vectorcall taking the instance and the arguments, and its
/// last defaults for any parameters left (CPython's conditions for
/// `CALL_ALLOC_AND_ENTER_INIT`, but for inline values, which its
/// allocation assumes and `PyType_GenericAlloc` does not, so classes with
/// `__slots__` qualify too, and for exact arguments: a dataclass field
/// with a default is common).
unsafe fn simple_class_init(tp: *mut PyObject, n: usize) -> Option<ClassInit> {
    let (init, code) = plain_class_init(tp)?;
    let filled = defaults_needed(init, code, n + 1)?;
    Some(ClassInit { init, code, filled })
}

/// The `__init__` (and its code) of a plain class ([`simple_class_init`]'s
/// conditions but for the arguments).
pub(crate) unsafe fn plain_class_init(
    tp: *mut PyObject,
) -> Option<(*mut PyObject, *mut PyCodeObject)> {
    let ttp = tp.cast::<u8>();
    let object_new = field::<usize>(
        (&raw mut pyo3::ffi::PyBaseObject_Type).cast(),
        off::TYPE_TP_NEW,
    );
    if ob_type(tp) != &raw mut PyType_Type
        || type_flags(tp.cast()) & (SIMPLE_CLASS | consts::TPFLAGS_IS_ABSTRACT) != SIMPLE_CLASS
        || field::<usize>(ttp, off::TYPE_TP_NEW) != object_new
        || field::<usize>(ttp, off::TYPE_TP_ALLOC)
            != pyo3::ffi::PyType_GenericAlloc as *const () as usize
    {
        return None;
    }
    static INIT: OnceLock<usize> = OnceLock::new();
    let init = _PyType_Lookup(tp.cast(), interned(&INIT, c"__init__"));
    if init.is_null() || !is_plain_function(init) {
        return None;
    }
    Some((init, func_code(init)))
}

/// Where the arguments of the call shape at `base` (`callable,
/// self_or_null, args[n]`) start and how many there are, counting `self`.
/// A bound method callable becomes `function, self` first, as the
/// interpreter's `CALL` makes it.
#[inline(always)]
unsafe fn call_shape(base: *mut *mut PyObject, n: usize) -> (*mut *mut PyObject, usize) {
    // A function, the usual callable, is none of what `unpack_method`
    // looks for.
    if !(*base.add(1)).is_null()
        || (!is_type(*base, &raw mut PyFunction_Type) && unpack_method(base))
    {
        (base.add(1), n + 1)
    } else {
        (base.add(2), n)
    }
}

/// A call shape (`callable, NULL, args`) at `base` whose callable is a
/// bound method becomes `function, self, args`, as does one whose callable
/// is an instance of a class defining `__call__` in Python as a plain
/// function (`function, instance, args`: what `slot_tp_call` would call);
/// whether it was either.
#[inline(never)]
unsafe fn unpack_method(base: *mut *mut PyObject) -> bool {
    let callable = *base;
    if is_type(callable, &raw mut PyMethod_Type) {
        *base = new_ref(field::<*mut PyObject>(callable.cast(), off::METHOD_IM_FUNC));
        *base.add(1) = new_ref(field::<*mut PyObject>(callable.cast(), off::METHOD_IM_SELF));
        decref(callable);
        return true;
    }
    if let Some(function) = super::operators::python_call(callable) {
        // The instance's reference moves to `self`'s slot.
        *base = new_ref(function);
        *base.add(1) = callable;
        return true;
    }
    false
}

/// Whether `callable` is a Python function with CPython's own vectorcall,
/// which the interpreter would call by pushing its frame.
#[inline(always)]
pub(crate) unsafe fn is_plain_function(callable: *mut PyObject) -> bool {
    is_type(callable, &raw mut PyFunction_Type)
        && field::<usize>(callable.cast(), off::FUNC_VECTORCALL) == function_vectorcall()
}

/// `CALL_ALLOC_AND_ENTER_INIT` entering a compiled `__init__` directly (see
/// `jitsaw_enter_init` in `crates/stencils/src/helpers.rs`). The checks are
/// the interpreter's: the class's version vouches for its `__init__` in the
/// specializer's cache, whose code must take exactly the arguments given.
unsafe extern "C" fn helper_enter_init(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    base: *mut *mut PyObject,
    n: usize,
    version: u64,
    resume: u64,
) -> Inline {
    const NONE: Inline = Inline::NONE;
    let tp = *base;
    if !(*base.add(1)).is_null()
        || !type_has(tp, consts::TPFLAGS_TYPE_SUBCLASS)
        || field::<u32>(tp.cast(), off::TYPE_TP_VERSION_TAG) as u64 != version
        || *py_recursion_remaining(ts) <= 1
    {
        return NONE;
    }
    let init = field::<*mut PyObject>(tp.cast(), off::HEAPTYPE_SPEC_CACHE_INIT);
    let code = func_code(init);
    let Some((state, compiled)) = direct_compiled(ts, code, n + 1) else {
        return NONE;
    };
    // The interpreter specialized the call: exact arguments.
    let class = ClassInit {
        init,
        code,
        filled: 0,
    };
    match push_init_frame(ts, base, class, n) {
        InitFrame::NoInstance => Inline {
            frame: std::ptr::null_mut(),
            entry: 1,
        },
        InitFrame::NoRoom => NONE,
        InitFrame::Pushed(frame, instance) => {
            *base = instance;
            decref(tp);
            let entry = crate::hook::entry_of(state, compiled);
            enter_inline(ts, caller, frame, base.add(1), resume, entry)
        }
    }
}

/// What [`push_init_frame`] did.
enum InitFrame {
    /// Allocating the instance failed (an error is set); nothing taken.
    NoInstance,
    /// No room for the frame; nothing taken.
    NoRoom,
    /// The frame, which took the instance and the arguments, and a new
    /// reference to the instance.
    Pushed(*mut Frame, *mut PyObject),
}

/// Allocates an instance of the class at `base[0]` and pushes a frame for
/// its `__init__` (`class`) taking the instance and the `n` arguments, from
/// `base[1]` on, and the defaults it fills, as CPython's
/// `CALL_ALLOC_AND_ENTER_INIT` does (its shim frame aside).
unsafe fn push_init_frame(
    ts: *mut PyThreadState,
    base: *mut *mut PyObject,
    class: ClassInit,
    n: usize,
) -> InitFrame {
    let ClassInit { init, code, filled } = class;
    let instance = pyo3::ffi::PyType_GenericAlloc((*base).cast(), 0).cast::<PyObject>();
    if instance.is_null() {
        return InitFrame::NoInstance;
    }
    *base.add(1) = new_ref(instance);
    match push_frame(ts, new_ref(init), code, base.add(1), n + 1) {
        Some(frame) => {
            fill_defaults(frame, init, n + 1, filled);
            INITS_ENTERED.bump();
            InitFrame::Pushed(frame, instance)
        }
        None => {
            *base.add(1) = std::ptr::null_mut();
            decref(init);
            decref(instance);
            decref(instance);
            InitFrame::NoRoom
        }
    }
}

/// `SEND_GEN`/`FOR_ITER_GEN` from compiled code (see `jitsaw_resume_inline`
/// in `crates/stencils/src/helpers.rs`): the generator's frame resumes in
/// its compiled code, linked above the caller as the interpreter links it,
/// and its `YIELD_VALUE` or return comes back to `resume`.
unsafe extern "C" fn helper_resume_inline(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    gen: *mut PyObject,
    slot: *mut *mut PyObject,
    resume: u64,
    kind: usize,
    cache: *mut ResumeCache,
) -> Inline {
    let state = field_ptr::<i8>(gen.cast(), off::GEN_GI_FRAME_STATE);
    if *state as i64 >= consts::FRAME_EXECUTING || *py_recursion_remaining(ts) <= 1 {
        return Inline::NONE;
    }
    let frame = gen.cast::<u8>().add(off::GEN_GI_IFRAME).cast::<Frame>();
    let Some((compiled, entry)) = crate::hook::ready_resume(ts, frame) else {
        return Inline::NONE;
    };
    *cache = crate::hook::resume_cache(ts, frame, compiled);
    let value = if kind == 0 { *slot } else { none() };
    *frame_local(frame, (*frame).stacktop as usize) = value;
    (*frame).stacktop += 1;
    *state = consts::FRAME_EXECUTING as i8;
    let exc_info = field_ptr::<*mut u8>(ts.cast(), off::TSTATE_EXC_INFO);
    let exc_state = gen.cast::<u8>().add(off::GEN_GI_EXC_STATE);
    *field_ptr::<*mut u8>(exc_state, off::EXCINFO_PREVIOUS_ITEM) = *exc_info;
    *exc_info = exc_state;
    RESUMED_DIRECTLY.bump();
    enter_inline(ts, caller, frame, slot, resume, entry)
}

/// The rest of generator `gen` taken into `acc`, a list or a set (see
/// `jitsaw_consume_rest` in `crates/stencils/src/helpers.rs`): by
/// `list.extend`'s and `set.update`'s own code, which `list()` and `set()`
/// run.
unsafe extern "C" fn helper_consume_rest(acc: *mut PyObject, gen: *mut PyObject) -> i32 {
    if !is_list(acc) {
        return jitsaw_cpython313::ffi::_PySet_Update(acc, gen);
    }
    let done = jitsaw_cpython313::ffi::_PyList_Extend(acc, gen);
    if done.is_null() {
        return -1;
    }
    decref(done);
    0
}

/// `min()`'s or `max()`'s `ValueError` for no values.
unsafe extern "C" fn helper_min_max_empty(op: i32) {
    let message = if op as i64 == consts::PY_LT {
        c"min() iterable argument is empty"
    } else {
        c"max() iterable argument is empty"
    };
    pyo3::ffi::PyErr_SetString(pyo3::ffi::PyExc_ValueError, message.as_ptr());
}

/// The rest of `min()` or `max()` of generator `gen` (see
/// `jitsaw_min_max_rest` in `crates/stencils/src/helpers.rs`), as the
/// builtins' loop takes each value: the first kept, each later one kept
/// when `PyObject_RichCompareBool(value, best, op)` is true.
unsafe extern "C" fn helper_min_max_rest(
    best: *mut *mut PyObject,
    gen: *mut PyObject,
    op: i32,
) -> i32 {
    loop {
        let item = pyo3::ffi::PyIter_Next(gen.cast()).cast::<PyObject>();
        if item.is_null() {
            return if pyo3::ffi::PyErr_Occurred().is_null() {
                0
            } else {
                -1
            };
        }
        if (*best).is_null() {
            *best = item;
            continue;
        }
        let cmp = pyo3::ffi::PyObject_RichCompareBool(item.cast(), (*best).cast(), op);
        if cmp > 0 {
            decref(*best);
            *best = item;
        } else {
            decref(item);
            if cmp < 0 {
                return -1;
            }
        }
    }
}

/// `_LOAD_ATTR_CACHED` of a `property` (`descr`) on the owner at `slot`,
/// whose getter is compiled code taking just the instance: the getter's
/// frame is pushed with the owner as its argument and entered directly, as
/// CPython's `LOAD_ATTR_PROPERTY` does (the C path would add the hook's
/// entry and exit to every access); it returns to `resume` with the
/// attribute in the owner's slot. `Inline::NONE` (nothing taken) when the
/// load goes the general way.
unsafe extern "C" fn helper_enter_property(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    slot: *mut *mut PyObject,
    descr: *mut PyObject,
    resume: u64,
) -> Inline {
    if *py_recursion_remaining(ts) <= 1 {
        return Inline::NONE;
    }
    let fget = super::attr_cache::property_getter(descr);
    // A getter whose vectorcall was replaced is called through it.
    if fget.is_null() || !is_plain_function(fget) {
        return Inline::NONE;
    }
    let code = func_code(fget);
    let Some((state, compiled)) = direct_compiled(ts, code, 1) else {
        return Inline::NONE;
    };
    let entry = crate::hook::entry_of(state, compiled);
    // The frame takes a reference to the getter and the owner's.
    let Some(frame) = push_frame(ts, new_ref(fget), code, slot, 1) else {
        decref(fget);
        return Inline::NONE;
    };
    super::PROPERTIES_ENTERED.bump();
    enter_inline(ts, caller, frame, slot, resume, entry)
}

/// Links a pushed callee frame for a direct call from compiled code: the
/// caller's stack ends at `base`, where its resume address waits until the
/// callee's `_POP_FRAME` jumps back to it.
#[inline(always)]
unsafe fn enter_inline(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    frame: *mut Frame,
    base: *mut *mut PyObject,
    resume: u64,
    entry: usize,
) -> Inline {
    (*caller).stacktop = base.offset_from(frame_local(caller, 0)) as i32;
    *base = resume as *mut PyObject;
    (*frame).previous = caller;
    (*frame).return_offset = jitsaw_cpython313::shared::INLINE_RETURN;
    *current_frame(ts) = frame;
    *py_recursion_remaining(ts) -= 1;
    FRAMES_ENTERED.bump();
    Inline { frame, entry }
}

/// `_INLINE_MATERIALIZE`: the frame of the callee whose inlined body left
/// after a side effect, made from the body's values (its locals from slot
/// `oparg & 0x3FFFFF` of the caller `f`, the callable below them, and a
/// `NULL` too for a function's call, bit 30; its stack up to `sp`) where
/// the thread's frame stack ends (the caller's end: the entry checked it
/// is the top frame, with room for this one), at the `instr_ptr`
/// `_INLINE_EXIT_AT` left in `f`. The interpreter runs it to its end, as
/// it runs a frame compiled code left, and its result is the call's; an
/// error the body left with (a failed allocation, `math.sqrt`'s) is
/// raised in it, at that instruction, as the interpreter's error path
/// would (the callee has no handlers). Meanwhile `f` is at the call
/// (`call`, a code unit's address), its stack ending below the callable.
unsafe extern "C" fn helper_inline_frame(
    ts: *mut PyThreadState,
    f: *mut Frame,
    sp: *mut *mut PyObject,
    oparg: usize,
    call: u64,
) -> *mut PyObject {
    let first = oparg & 0x3F_FFFF;
    let callable = first - 1 - ((oparg >> 30) & 1);
    let func = *frame_local(f, callable);
    let code = func_code(func);
    let mut resume = (*f).instr_ptr;
    (*f).instr_ptr = call as *mut u16;
    (*f).stacktop = callable as i32;
    let values = frame_local(f, first);
    let n = sp.offset_from(values) as usize;
    let top = field_ptr::<*mut *mut PyObject>(ts.cast(), off::TSTATE_DATASTACK_TOP);
    let frame = (*top).cast::<Frame>();
    // The values move up, overlapping where they were (the arguments are
    // in the caller's frame, below its end), before the header is written
    // over them.
    std::ptr::copy(values, frame_local(frame, 0), n);
    *top = (*top).add(field::<i32>(code.cast(), off::CODE_CO_FRAMESIZE) as usize);
    init_frame_header(frame, func, code, consts::FRAME_OWNED_BY_THREAD);
    (*frame).stacktop = n as i32;
    (*frame).previous = f;
    if field::<*mut PyObject>(ts.cast(), off::TSTATE_CURRENT_EXCEPTION).is_null() {
        (*frame).instr_ptr = resume;
        return _PyEval_EvalFrameDefault(ts, frame, 0);
    }
    // The error's instruction, past its `EXTENDED_ARG`s.
    while (*resume & 0xFF) as u8 == jitsaw_cpython313::opcode::EXTENDED_ARG {
        resume = resume.add(1);
    }
    (*frame).instr_ptr = resume;
    *current_frame(ts) = frame;
    super::add_traceback(ts, frame);
    *current_frame(ts) = f;
    helper_clear_and_pop(ts, frame);
    std::ptr::null_mut()
}

/// A method call's load on an instance whose attributes are in its
/// `__dict__`: whether the dict's str keys rule the name out.
unsafe extern "C" fn helper_dict_lacks_str(
    dict: *mut jitsaw_cpython313::layout::PyDictObject,
    name: *mut PyObject,
) -> i32 {
    dict_lacks_str(dict, name) as i32
}

/// A cached store into an instance's `__dict__` at the entry the name was
/// last found at (`dict_replace_at_hint`).
unsafe extern "C" fn helper_dict_replace_at_hint(
    ts: *mut PyThreadState,
    dict: *mut jitsaw_cpython313::layout::PyDictObject,
    hint: usize,
    name: *mut PyObject,
    value: *mut PyObject,
) -> *mut PyObject {
    dict_replace_at_hint(ts, dict, hint, name, value)
}

/// `_QUICKEN` of code with loops found an instruction due for its first
/// specialization (see [`crate::hook::quicken_due`]): nonzero to deopt.
unsafe extern "C" fn helper_quicken_due(f: *mut Frame) -> i32 {
    crate::hook::quicken_due(f) as i32
}

/// `_CHECK_LONG_LOOP`: provisional code ran its turns (see
/// [`crate::hook::osr::long_loop`]): nonzero to deopt.
unsafe extern "C" fn helper_long_loop(f: *mut Frame, head: u32) -> i32 {
    crate::hook::osr::long_loop(f, head) as i32
}

/// Raises `UnboundLocalError` for local `oparg` (`LOAD_FAST_CHECK`).
unsafe extern "C" fn helper_unbound_local(ts: *mut PyThreadState, f: *mut Frame, oparg: usize) {
    let names = code_obj_field(frame_code(f), off::CODE_CO_LOCALSPLUSNAMES);
    let name = pyo3::ffi::PyTuple_GetItem(names.cast(), oparg as isize);
    _PyEval_FormatExcCheckArg(
        ts,
        PyExc_UnboundLocalError,
        c"cannot access local variable '%s' where it is not associated with a value"
            .as_ptr()
            .cast(),
        name.cast(),
    );
}

/// `LOAD_GLOBAL` without a cache: a new reference, or NULL with an error.
unsafe extern "C" fn helper_load_global(
    ts: *mut PyThreadState,
    f: *mut Frame,
    oparg: usize,
) -> *mut PyObject {
    let name = frame_name(f, oparg >> 1);
    let (globals, builtins) = ((*f).f_globals, (*f).f_builtins);
    let mut res = std::ptr::null_mut();
    if is_dict(globals) && is_dict(builtins) {
        res = _PyDict_LoadGlobal(globals, builtins, name);
        if res.is_null() && PyErr_Occurred().is_null() {
            name_error(ts, name);
        }
        return res;
    }
    if PyMapping_GetOptionalItem(globals, name, &mut res) < 0 {
        return std::ptr::null_mut();
    }
    if res.is_null() {
        if PyMapping_GetOptionalItem(builtins, name, &mut res) < 0 {
            return std::ptr::null_mut();
        }
        if res.is_null() {
            name_error(ts, name);
        }
    }
    res
}

/// Raises `NameError` for `name`.
unsafe extern "C" fn name_error(ts: *mut PyThreadState, name: *mut PyObject) {
    _PyEval_FormatExcCheckArg(
        ts,
        PyExc_NameError,
        c"name '%.200s' is not defined".as_ptr().cast(),
        name,
    );
}

/// The type name of an object, for error messages.
pub(super) unsafe fn type_name(o: *mut PyObject) -> *const std::ffi::c_char {
    field::<*const std::ffi::c_char>(ob_type(o).cast(), off::TYPE_TP_NAME)
}

/// `LIST_EXTEND`'s message for a non-iterable after `*`.
unsafe extern "C" fn helper_list_extend_error(_ts: *mut PyThreadState, iterable: *mut PyObject) {
    let tp_iter = pyo3::ffi::PyType_GetSlot(ob_type(iterable).cast(), pyo3::ffi::Py_tp_iter);
    if PyErr_ExceptionMatches(PyExc_TypeError) != 0
        && tp_iter.is_null()
        && pyo3::ffi::PySequence_Check(iterable.cast()) == 0
    {
        PyErr_Clear();
        pyo3::ffi::PyErr_Format(
            PyExc_TypeError.cast(),
            c"Value after * must be an iterable, not %.200s".as_ptr(),
            type_name(iterable),
        );
    }
}

/// `DICT_UPDATE`'s message for a non-mapping after `**`.
unsafe extern "C" fn helper_dict_update_error(_ts: *mut PyThreadState, update: *mut PyObject) {
    if PyErr_ExceptionMatches(PyExc_AttributeError) != 0 {
        pyo3::ffi::PyErr_Format(
            PyExc_TypeError.cast(),
            c"'%.200s' object is not a mapping".as_ptr(),
            type_name(update),
        );
    }
}

/// `CALL` of anything (the interpreter's `_CALL` with the hook set, which
/// never inlines): a bound method is split into function and `self`, a
/// Python function with CPython's default vectorcall is evaluated through
/// the frame hook without the vectorcall plumbing, anything else is
/// vectorcalled. Takes every reference of the call shape at `base`.
pub(super) unsafe extern "C" fn helper_call(
    ts: *mut PyThreadState,
    base: *mut *mut PyObject,
    n: usize,
) -> *mut PyObject {
    let (args, total) = call_shape(base, n);
    let callable = *base;
    if is_plain_function(callable) {
        return helper_call_function(ts, callable, args, total, std::ptr::null_mut());
    }
    if args == base.add(2) {
        if let Some(res) = call_simple_class(ts, base, n) {
            return res;
        }
    }
    vectorcall_shape(callable, args, total)
}

/// Vectorcalls `callable` with the `total` arguments at `args` (with room
/// before them), taking the references to all.
unsafe fn vectorcall_shape(
    callable: *mut PyObject,
    args: *mut *mut PyObject,
    total: usize,
) -> *mut PyObject {
    let res = PyObject_Vectorcall(
        callable,
        args,
        total | consts::VECTORCALL_ARGUMENTS_OFFSET as usize,
        std::ptr::null_mut(),
    );
    release_call(callable, args, total);
    res
}

/// The flags of a class [`call_simple_class`] makes instances of.
const SIMPLE_CLASS: u64 = consts::TPFLAGS_HEAPTYPE;

/// `cls(args)` for a class whose instances come from `object.__new__` and
/// whose `__init__` is a compiled Python function taking these arguments
/// and its last defaults (see [`simple_class_init`]; CPython does not
/// specialize `CALL_ALLOC_AND_ENTER_INIT` while a frame evaluator is set):
/// the instance is allocated and `__init__` run in its compiled code,
/// without `type_call`'s and `slot_tp_init`'s lookups, bound method and
/// argument copies. Takes the call shape's references (`cls, NULL,
/// args[n]` at `base`) when it makes the call; `None` (nothing taken) when
/// the call goes the general way.
unsafe fn call_simple_class(
    ts: *mut PyThreadState,
    base: *mut *mut PyObject,
    n: usize,
) -> Option<*mut PyObject> {
    let tp = *base;
    let class = simple_class_init(tp, n)?;
    let (state, compiled) = crate::hook::ready(ts, class.code)?;
    let (frame, instance) = match push_init_frame(ts, base, class, n) {
        InitFrame::NoInstance => {
            for i in 0..n + 2 {
                xdecref(*base.add(i));
            }
            return Some(std::ptr::null_mut());
        }
        InitFrame::NoRoom => return None,
        InitFrame::Pushed(frame, instance) => (frame, instance),
    };
    decref(tp);
    Some(run_init(ts, frame, state, compiled, instance))
}

/// `JITSAW_DEBUG`: the stack pointer of compiled code is off. Nothing can
/// be trusted after that: report where, and abort.
pub(super) unsafe extern "C" fn helper_bad_stack_depth(
    f: *mut Frame,
    sp: *mut *mut PyObject,
    expected: usize,
) -> ! {
    let code = frame_code(f);
    let found = sp.offset_from(frame_local(f, 0)) as isize;
    let message = format!(
        "jitsaw: JITSAW_DEBUG: stack depth check failed in {} at code offset {}: \
         stack pointer at localsplus[{found}], expected localsplus[{expected}]\0",
        crate::hook::text(code_obj_field(code, off::CODE_CO_QUALNAME)),
        2 * (((*f).instr_ptr as usize).wrapping_sub(code_units(code) as usize) / 2),
    );
    pyo3::ffi::Py_FatalError(message.as_ptr().cast())
}

/// Whether `sys.monitoring` has local events on `code` other than counting
/// mode's own.
pub(super) unsafe extern "C" fn helper_local_monitors(code: *mut PyCodeObject) -> bool {
    let ignored = super::IGNORED_TOOLS.load(std::sync::atomic::Ordering::Relaxed);
    code_has_local_monitors_except(code, ignored)
}

/// `jitsaw_dealloc(o)` as stencils call it: [`helper_dealloc`], told where
/// in compiled code it was called from (its return address).
#[unsafe(naked)]
unsafe extern "C" fn dealloc_entry(o: *mut PyObject) {
    // On entry `[rsp]` is the return address; the tail jump leaves it for
    // the helper to return to, with `o` still in `rdi`.
    core::arch::naked_asm!("mov rsi, [rsp]", "jmp {}", sym helper_dealloc)
}

/// Deallocates an object whose refcount reached zero (the stencils'
/// `decref` calls it, `crates/stencils/src/objects.rs`, through
/// [`dealloc_entry`]): an exact float goes on CPython's float freelist and
/// an exact int of 1-3 digits on jitsaw's, unless full or a reference
/// tracer (or tracemalloc, for ints) must see the free; anything else to
/// `_Py_Dealloc`, after pointing the frame at the instruction that called
/// (`ret`: the call's return address), which code run by the deallocation
/// may look at (see `runtime::location`).
unsafe extern "C" fn helper_dealloc(o: *mut PyObject, ret: usize) {
    if free_number(o) {
        return;
    }
    dealloc_slowly(o, ret)
}

/// [`helper_dealloc`] past the freelists, kept apart so that a number's
/// free saves no register (it was half the cost of freeing one).
///
/// With one thread and the calling instruction in the cache of
/// [`super::location`], it takes a way free of calls but the tail call to
/// `_Py_Dealloc`, so that it saves no registers: the way of most objects
/// freed here, since the general way fills the cache.
#[inline(never)]
unsafe fn dealloc_slowly(o: *mut PyObject, ret: usize) {
    if let (Some(ts), Some(found)) = (
        super::sole_thread(main_interpreter()),
        super::location::cached_instr_ptr_at(ret),
    ) {
        point_at(ts, found);
        return _Py_Dealloc(o);
    }
    dealloc_generally(o, ret)
}

/// [`dealloc_slowly`]'s general way: the calling instruction is looked up
/// (and cached, so that the site's next frees take the quick way), except
/// with several threads for an object whose free runs no code, which
/// saves the thread-local lookup of the running thread.
#[inline(never)]
unsafe fn dealloc_generally(o: *mut PyObject, ret: usize) {
    let sole = super::sole_thread(main_interpreter());
    if sole.is_some() || !frees_quietly(o) {
        let ts = sole.unwrap_or_else(|| pyo3::ffi::PyThreadState_GetUnchecked().cast());
        if !ts.is_null() {
            point_at_caller(ts, ret);
        }
    }
    _Py_Dealloc(o);
}

/// The main interpreter's state, the only one compiled code runs in.
#[inline(always)]
unsafe fn main_interpreter() -> *mut u8 {
    field::<*mut u8>((&raw mut _PyRuntime).cast(), off::RUNTIME_INTERPRETERS_MAIN)
}

/// Frees a dead exact float onto CPython's freelist, or an exact int of
/// 1-3 digits onto jitsaw's, unless the list is full or a reference tracer
/// (or tracemalloc, for ints) must see the free: whether it did.
#[inline(always)]
unsafe fn free_number(o: *mut PyObject) -> bool {
    use jitsaw_cpython313::shared::INT_FREELIST_MAX;
    if is_type(o, &raw mut PyFloat_Type) && !ref_tracer_set() {
        // `_PyFloat_ExactDealloc`, without its thread-local lookup: compiled
        // code only runs in the main interpreter.
        let interp = main_interpreter();
        let numfree = field_ptr::<i32>(interp, off::INTERP_FLOAT_FREELIST_NUMFREE);
        if *numfree >= 0 && *numfree < off::FLOAT_MAXFREELIST as i32 {
            let items = field_ptr::<*mut PyObject>(interp, off::INTERP_FLOAT_FREELIST_ITEMS);
            *field_ptr::<*mut PyObject>(o.cast(), off::OB_TYPE) = *items;
            *items = o;
            *numfree += 1;
            return true;
        }
    } else if is_type(o, &raw mut PyLong_Type) {
        let ndigits = field::<usize>(o.cast(), off::LONG_LV_TAG) >> off::LONG_NON_SIZE_BITS;
        let freelist = (&raw mut INT_FREELIST).cast::<u64>();
        if (1..=3).contains(&ndigits)
            && *freelist.add(4 + ndigits) < INT_FREELIST_MAX
            && !allocations_watched()
        {
            let head = freelist.add(ndigits);
            *field_ptr::<u64>(o.cast(), off::OB_TYPE) = *head;
            *head = o as u64;
            *freelist.add(4 + ndigits) += 1;
            return true;
        }
    }
    false
}

/// `jitsaw_int_new(v)` as stencils call it: [`helper_int_new`], told where
/// in compiled code it was called from (its return address).
#[unsafe(naked)]
unsafe extern "C" fn int_new_entry(v: i64) -> *mut PyObject {
    // As `dealloc_entry`: the return address stays on the stack for the
    // helper to return to, `v` in `rdi`.
    core::arch::naked_asm!("mov rsi, [rsp]", "jmp {}", sym helper_int_new)
}

/// The stencils' way to a new exact int for `v` (|v| < 2^63, not a small
/// int) when jitsaw's freelist has no block for it or allocations are
/// watched: `PyLong_FromLongLong` under a reference tracer (which sees its
/// allocation), else a block from `PyObject_Malloc` (which tracemalloc
/// sees) laid out as `PyLong_FromLongLong` lays it out. Watched, the frame
/// is first pointed at the instruction that called (`ret`: the call's
/// return address), which tracemalloc records as the allocation's line.
/// NULL with an error set on failure.
unsafe extern "C" fn helper_int_new(v: i64, ret: usize) -> *mut PyObject {
    if point_if_watched(ret) {
        return pyo3::ffi::PyLong_FromLongLong(v).cast();
    }
    let ndigits = 1 + long_extra_digits(v.unsigned_abs());
    let o = pyo3::ffi::PyObject_Malloc(off::LONG_OB_DIGIT + 4 * ndigits).cast::<PyObject>();
    if o.is_null() {
        return pyo3::ffi::PyLong_FromLongLong(v).cast();
    }
    *field_ptr::<*mut u8>(o.cast(), off::OB_TYPE) = (&raw mut PyLong_Type).cast();
    (*o).ob_refcnt = 1;
    long_write(o, ndigits, v);
    o
}

/// `jitsaw_float_new(v)` as stencils call it when CPython's float freelist
/// is empty or a reference tracer is set: [`helper_float_new`], told where
/// in compiled code it was called from (its return address).
#[unsafe(naked)]
unsafe extern "C" fn float_new_entry(v: f64) -> *mut PyObject {
    // `v` stays in `xmm0`; the return address becomes the first integer
    // argument and stays on the stack for the helper to return to.
    core::arch::naked_asm!("mov rdi, [rsp]", "jmp {}", sym helper_float_new)
}

/// `PyFloat_FromDouble(v)`, the frame pointed at the calling instruction
/// first when allocations are watched (see [`helper_int_new`]).
unsafe extern "C" fn helper_float_new(ret: usize, v: f64) -> *mut PyObject {
    point_if_watched(ret);
    pyo3::ffi::PyFloat_FromDouble(v).cast()
}

/// Points the running frame at the instruction of compiled code that
/// called with return address `ret` if tracemalloc traces or a reference
/// tracer is set, which record or may look at where an allocation was
/// made (compiled code sets `instr_ptr` only before calling out); whether
/// a reference tracer is set.
unsafe fn point_if_watched(ret: usize) -> bool {
    if allocations_watched() {
        let ts = pyo3::ffi::PyThreadState_GetUnchecked().cast::<PyThreadState>();
        if !ts.is_null() {
            point_at_caller(ts, ret);
        }
    }
    ref_tracer_set()
}

/// `_PyEval_FrameClearAndPop` for the thread-owned frame compiled code
/// leaves (its `_POP_FRAME`, a return to the runtime, an unwind), which is
/// no longer the thread's current frame. A frame without a frame object or
/// a locals mapping, not first in its stack chunk, is cleared and popped
/// here in CPython's order (locals, function, code); as long as nothing
/// dies that takes only decrements, without saving a register, and
/// [`clear_and_pop_from`] takes over at the first death. Any other frame
/// goes to CPython.
pub(super) unsafe extern "C" fn helper_clear_and_pop(ts: *mut PyThreadState, f: *mut Frame) {
    let chunk = field::<*mut u8>(ts.cast(), off::TSTATE_DATASTACK_CHUNK);
    if (*f).owner as i64 != consts::FRAME_OWNED_BY_THREAD
        || !(*f).frame_obj.is_null()
        || !(*f).f_locals.is_null()
        || f.cast::<u8>() == chunk.add(off::STACK_CHUNK_DATA)
    {
        return releasing(|| _PyEval_FrameClearAndPop(ts, f));
    }
    let n = (*f).stacktop as usize;
    for i in 0..n {
        let o = *frame_local(f, i);
        if !o.is_null() && !is_immortal(o) {
            if (*o).ob_refcnt == 1 {
                return releasing(|| clear_and_pop_from(ts, f, i));
            }
            (*o).ob_refcnt -= 1;
        }
    }
    for o in [(*f).f_funcobj, (*f).f_executable] {
        if !is_immortal(o) && (*o).ob_refcnt == 1 {
            return releasing(|| clear_and_pop_from(ts, f, n));
        }
    }
    decref_no_dealloc((*f).f_funcobj);
    decref_no_dealloc((*f).f_executable);
    (*f).stacktop = 0;
    *field_ptr::<*mut Frame>(ts.cast(), off::TSTATE_DATASTACK_TOP) = f;
}

/// Frames popped by [`helper_clear_and_pop`] whose locals are being
/// released now, on all threads: the `_POP_FRAME` that called it continues
/// in its compiled code afterwards, though the frame is no longer linked
/// (see `hook::free_superseded`).
static RELEASING: AtomicU32 = AtomicU32::new(0);

/// Runs `release`, a release of a popped frame's locals (which may run any
/// code), counted in [`RELEASING`].
#[inline(always)]
unsafe fn releasing(release: impl FnOnce()) {
    RELEASING.store(RELEASING.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    release();
    RELEASING.store(RELEASING.load(Ordering::Relaxed) - 1, Ordering::Relaxed);
}

/// Whether a popped frame's locals are being released (see [`RELEASING`]).
pub fn releasing_locals() -> bool {
    RELEASING.load(Ordering::Relaxed) != 0
}

/// [`helper_clear_and_pop`] from local `from` on, the locals before it
/// released already: `clear_thread_frame`'s work, dead ints and floats
/// going onto freelists.
#[inline(never)]
unsafe extern "C" fn clear_and_pop_from(ts: *mut PyThreadState, f: *mut Frame, from: usize) {
    // As `clear_thread_frame`: freeing counts as C recursion.
    *c_recursion_remaining(ts) -= 1;
    let n = (*f).stacktop as usize;
    (*f).stacktop = 0;
    for i in from..n {
        let o = *frame_local(f, i);
        if !o.is_null() && !is_immortal(o) {
            (*o).ob_refcnt -= 1;
            if (*o).ob_refcnt == 0 && !free_number(o) {
                _Py_Dealloc(o);
            }
        }
    }
    decref((*f).f_funcobj);
    decref((*f).f_executable);
    *c_recursion_remaining(ts) += 1;
    *field_ptr::<*mut Frame>(ts.cast(), off::TSTATE_DATASTACK_TOP) = f;
}

/// Whether freeing `o` runs no Python code, so that nothing can look at
/// where the frame is: an exact string, float or int; a tuple, list or
/// range iterator releasing no sequence that dies; an exact slice, or
/// an exact tuple or list of at most [`QUIET_ITEMS`] items, holding only
/// those or immortal objects (slices die at every `a[i:j]`, short lists
/// and tuples of numbers often: their finalizers' lookups of where the
/// frame is cost more than the rest of the free); or an exact generator,
/// coroutine or async generator that finished (its frame was cleared: no finalizer, no
/// locals left) with no weak references, exact strings for names, and a
/// code object that lives on; or one of the objects an `async for` frees
/// per value ([`super::async_gen::frees_quietly`]).
unsafe fn frees_quietly(o: *mut PyObject) -> bool {
    // Every kind named is a static type: an instance of a class (a heap
    // type: a Python class, `Decimal`) is not one, which one test tells
    // before the many below.
    if is_class(ob_type(o)) {
        return false;
    }
    if is_plain_leaf(o) {
        return true;
    }
    // A `for` loop's iterator dies at the loop's end, and one over a tuple
    // or list has let go of its sequence then (or holds one that lives on);
    // a range iterator holds no object.
    let seq = if is_type(o, &raw mut PyTupleIter_Type) {
        Some(off::TUPLEITER_SEQ)
    } else if is_type(o, &raw mut PyListIter_Type) {
        Some(off::LISTITER_SEQ)
    } else if is_type(o, &raw mut PyRangeIter_Type) {
        return true;
    } else {
        None
    };
    if let Some(at) = seq {
        let seq = field::<*mut PyObject>(o.cast(), at);
        return seq.is_null() || is_immortal(seq) || (*seq).ob_refcnt > 1;
    }
    let items = if is_type(o, &raw mut PySlice_Type) {
        return [off::SLICE_START, off::SLICE_STOP, off::SLICE_STEP]
            .into_iter()
            .all(|at| is_leaf(field::<*mut PyObject>(o.cast(), at)));
    } else if is_tuple(o) {
        tuple_items(o)
    } else if is_list(o) {
        list_items(o)
    } else {
        std::ptr::null_mut()
    };
    if !items.is_null() {
        let n = ob_size(o);
        return (0..=QUIET_ITEMS).contains(&n) && (0..n as usize).all(|i| is_leaf(*items.add(i)));
    }
    if !is_type(o, &raw mut PyGen_Type) && !is_type(o, &raw mut PyCoro_Type) {
        if !is_type(o, &raw mut PyAsyncGen_Type) {
            return super::async_gen::frees_quietly(o, |item| is_leaf(item)).unwrap_or(false);
        }
        // Its finalizer hook (asyncio's loop) is released too.
        let hook = field::<*mut PyObject>(o.cast(), off::ASYNC_GEN_AG_ORIGIN_OR_FINALIZER);
        if !hook.is_null() && !is_immortal(hook) && (*hook).ob_refcnt == 1 {
            return false;
        }
    }
    let code = (*o.cast::<u8>().add(off::GEN_GI_IFRAME).cast::<Frame>()).f_executable;
    field::<i8>(o.cast(), off::GEN_GI_FRAME_STATE) as i64 == consts::FRAME_CLEARED
        && field::<*mut PyObject>(o.cast(), off::GEN_GI_WEAKREFLIST).is_null()
        && is_type(
            field::<*mut PyObject>(o.cast(), off::GEN_GI_NAME),
            &raw mut PyUnicode_Type,
        )
        && is_type(
            field::<*mut PyObject>(o.cast(), off::GEN_GI_QUALNAME),
            &raw mut PyUnicode_Type,
        )
        && (is_immortal(code) || (*code).ob_refcnt > 1)
}

/// `jitsaw_pow`: libm's `pow` (which `f64::powf` calls), for the stencils,
/// which may only call CPython and jitsaw.
unsafe extern "C" fn helper_pow(x: f64, y: f64) -> f64 {
    x.powf(y)
}

/// The most items of a list or tuple whose freeing [`frees_quietly`]
/// looks into.
const QUIET_ITEMS: isize = 16;

/// An exact string, float or int: freeing one runs no code.
#[inline(always)]
unsafe fn is_plain_leaf(o: *mut PyObject) -> bool {
    is_float(o) || is_int(o) || is_str(o)
}

/// An item whose release runs no code: a [`is_plain_leaf`] object, an
/// immortal one (`None`, bools, small ints: never freed), or none.
#[inline(always)]
unsafe fn is_leaf(o: *mut PyObject) -> bool {
    o.is_null() || is_immortal(o) || is_plain_leaf(o)
}

/// `jitsaw_unpack_into_locals(f, sp, n, first)` as the stencils call it:
/// passes its return address on to [`helper_unpack_into_locals`].
#[unsafe(naked)]
unsafe extern "C" fn unpack_into_locals_entry(
    f: *mut Frame,
    sp: *mut *mut PyObject,
    n: usize,
    first: usize,
) -> i32 {
    // As `dealloc_entry`: the return address becomes the fifth argument.
    core::arch::naked_asm!("mov r8, [rsp]", "jmp {}", sym helper_unpack_into_locals)
}

/// `_UNPACK_SEQUENCE_INTO_LOCALS` (see `jitsaw_unpack_into_locals` in
/// `crates/stencils/src/helpers.rs`), one copy for every site: an
/// unpacking statement's code is then a call, where the loop inlined took
/// five cache lines a site, which a function of many such statements
/// (pyperformance's unpack_sequence) kept missing.
///
/// The interpreter pushes every item, releases the sequence, then stores
/// each local and releases its old value in turn. While the old values
/// only lose a reference (none, an immortal one, or one referenced
/// elsewhere), nothing runs in between and each item goes straight to its
/// local, the sequence released last; at the first old value the store
/// would free, the rest goes the interpreter's way from there (the items
/// left pushed, the sequence released, then store and release in turn), so
/// that code a release runs (a `__del__`, freed at the instruction that
/// called: `ret`) sees the locals and the sequence as it would between the
/// `STORE_FAST`s.
unsafe extern "C" fn helper_unpack_into_locals(
    f: *mut Frame,
    sp: *mut *mut PyObject,
    n: usize,
    first: usize,
    ret: usize,
) -> i32 {
    let seq = *sp.sub(1);
    let items = tuple_or_list_items(seq);
    if items.is_null() || ob_size(seq) as usize != n {
        return 0;
    }
    let locals = frame_local(f, first);
    // Unrolled for the common counts: a loop this short ran up to a third
    // slower or faster by where it fell in the instruction cache's lines.
    let k = match n {
        3 => store_while_kept(locals, items, 3),
        4 => store_while_kept(locals, items, 4),
        5 => store_while_kept(locals, items, 5),
        6 => store_while_kept(locals, items, 6),
        7 => store_while_kept(locals, items, 7),
        8 => store_while_kept(locals, items, 8),
        9 => store_while_kept(locals, items, 9),
        10 => store_while_kept(locals, items, 10),
        _ => store_while_kept(locals, items, n),
    };
    if k < n {
        // The stack holds the items left last first, as `UNPACK_SEQUENCE`
        // leaves them.
        let pushed = sp.sub(1);
        let left = n - k;
        for j in 0..left {
            *pushed.add(j) = new_ref(*items.add(n - 1 - j));
        }
        release(seq, ret);
        for j in 0..left {
            let slot = locals.add(k + j);
            let old = *slot;
            *slot = *pushed.add(left - 1 - j);
            if !old.is_null() {
                release(old, ret);
            }
        }
        return 1;
    }
    release(seq, ret);
    1
}

/// Stores items `0..n` into `locals` while the old values only lose a
/// reference (see [`helper_unpack_into_locals`]); how many it stored.
/// Inlined with `n` constant, the loop unrolls.
#[inline(always)]
unsafe fn store_while_kept(
    locals: *mut *mut PyObject,
    items: *mut *mut PyObject,
    n: usize,
) -> usize {
    for k in 0..n {
        let old = *locals.add(k);
        if !(old.is_null() || is_immortal(old) || (*old).ob_refcnt > 1) {
            return k;
        }
        *locals.add(k) = new_ref(*items.add(k));
        if !old.is_null() && !is_immortal(old) {
            (*old).ob_refcnt -= 1;
        }
    }
    n
}

/// `Py_DECREF` from a helper that compiled code called, returning to `ret`.
#[inline(always)]
unsafe fn release(o: *mut PyObject, ret: usize) {
    if is_immortal(o) {
        return;
    }
    (*o).ob_refcnt -= 1;
    if (*o).ob_refcnt == 0 {
        helper_dealloc(o, ret)
    }
}

/// `jitsaw_handle_pending(ts)` as the stencils call it: passes its return
/// address on to [`helper_handle_pending`].
#[unsafe(naked)]
unsafe extern "C" fn handle_pending_entry(ts: *mut PyThreadState) -> i32 {
    // As `dealloc_entry`: the return address becomes the second argument.
    core::arch::naked_asm!("mov rsi, [rsp]", "jmp {}", sym helper_handle_pending)
}

/// `_Py_HandlePending`, which may run Python code (a signal handler gets
/// the frame), with the frame first pointed at the instruction that called
/// (`ret`: the call's return address).
unsafe extern "C" fn helper_handle_pending(ts: *mut PyThreadState, ret: usize) -> i32 {
    point_at_caller(ts, ret);
    _Py_HandlePending(ts)
}

/// Points the running frame's `instr_ptr` at the instruction whose compiled
/// code made the call returning to `ret`, if that code runs the frame.
#[inline]
unsafe fn point_at_caller(ts: *mut PyThreadState, ret: usize) {
    if let Some(found) = super::location::instr_ptr_at(ret) {
        point_at(ts, found);
    }
}

/// Points the running frame's `instr_ptr` at `ip` if the frame runs the
/// code whose first code unit is at `code_start` (what
/// [`super::location::instr_ptr_at`] found).
#[inline(always)]
unsafe fn point_at(ts: *mut PyThreadState, (ip, code_start): (u64, u64)) {
    let frame = *current_frame(ts);
    if !frame.is_null() && code_units(frame_code(frame)) as u64 == code_start {
        (*frame).instr_ptr = ip as *mut u16;
    }
}

/// An interned string, made once (interned strings are immortal in 3.13).
fn interned(cache: &OnceLock<usize>, text: &std::ffi::CStr) -> *mut PyObject {
    // SAFETY: called with the GIL held (from compiled code).
    *cache.get_or_init(|| unsafe { pyo3::ffi::PyUnicode_InternFromString(text.as_ptr()) as usize })
        as *mut PyObject
}

macro_rules! interned {
    ($text:literal) => {{
        static CACHE: OnceLock<usize> = OnceLock::new();
        interned(&CACHE, $text)
    }};
}

/// Messages of `jitsaw_system_error`, by index.
const SYSTEM_ERRORS: [&std::ffi::CStr; 3] = [
    c"lasti is not an int",
    c"bad RAISE_VARARGS oparg",
    c"no locals found",
];

/// Raises one of the interpreter's `SystemError`s for impossible states.
pub(super) unsafe extern "C" fn helper_system_error(_ts: *mut PyThreadState, which: usize) {
    let msg = SYSTEM_ERRORS
        .get(which)
        .copied()
        .unwrap_or(c"jitsaw: bad state");
    pyo3::ffi::PyErr_SetString(pyo3::ffi::PyExc_SystemError, msg.as_ptr());
}

/// Whether `o` is an exception class.
unsafe fn is_exception_class(o: *mut PyObject) -> bool {
    type_has(o, consts::TPFLAGS_TYPE_SUBCLASS)
        && type_flags(o.cast()) & consts::TPFLAGS_BASE_EXC_SUBCLASS != 0
}

/// Whether `o` is an exception instance.
unsafe fn is_exception(o: *mut PyObject) -> bool {
    type_has(o, consts::TPFLAGS_BASE_EXC_SUBCLASS)
}

/// `raise`, `raise exc`, `raise exc from cause` (the interpreter's
/// `do_raise`): takes the references to `exc` and `cause`. Returns 1 when
/// re-raising the handled exception (unwind without a traceback entry),
/// else 0 with the exception set.
pub(super) unsafe extern "C" fn helper_do_raise(
    _ts: *mut PyThreadState,
    exc: *mut PyObject,
    cause: *mut PyObject,
) -> i32 {
    use pyo3::ffi::{PyErr_Format, PyErr_SetObject, PyErr_SetString, PyExc_RuntimeError};
    if exc.is_null() {
        let handled = PyErr_GetHandledException();
        if handled.is_null() {
            PyErr_SetString(
                PyExc_RuntimeError,
                c"No active exception to reraise".as_ptr(),
            );
            return 0;
        }
        PyErr_SetRaisedException(handled);
        return 1;
    }
    let (ty, value);
    if is_exception_class(exc) {
        ty = exc;
        value = pyo3::ffi::PyObject_CallNoArgs(exc.cast()).cast::<PyObject>();
        if value.is_null() {
            return raise_error(ty, value, cause);
        }
        if !is_exception(value) {
            PyErr_Format(
                PyExc_TypeError.cast(),
                c"calling %R should have returned an instance of BaseException, not %R".as_ptr(),
                ty,
                ob_type(value),
            );
            return raise_error(ty, value, cause);
        }
    } else if is_exception(exc) {
        value = exc;
        ty = new_ref(ob_type(exc).cast());
    } else {
        decref(exc);
        PyErr_SetString(
            PyExc_TypeError.cast(),
            c"exceptions must derive from BaseException".as_ptr(),
        );
        return raise_error(std::ptr::null_mut(), std::ptr::null_mut(), cause);
    }
    if !cause.is_null() {
        let fixed;
        if is_exception_class(cause) {
            fixed = pyo3::ffi::PyObject_CallNoArgs(cause.cast()).cast::<PyObject>();
            if fixed.is_null() {
                return raise_error(ty, value, cause);
            }
            if !is_exception(fixed) {
                PyErr_Format(
                    PyExc_TypeError.cast(),
                    c"calling %R should have returned an instance of BaseException, not %R"
                        .as_ptr(),
                    cause,
                    ob_type(fixed),
                );
                decref(fixed);
                return raise_error(ty, value, cause);
            }
            decref(cause);
        } else if is_exception(cause) {
            fixed = cause;
        } else if cause == none() {
            fixed = std::ptr::null_mut();
        } else {
            PyErr_SetString(
                PyExc_TypeError.cast(),
                c"exception causes must derive from BaseException".as_ptr(),
            );
            return raise_error(ty, value, cause);
        }
        pyo3::ffi::PyException_SetCause(value.cast(), fixed.cast());
    }
    PyErr_SetObject(ty.cast(), value.cast());
    decref(value);
    decref(ty);
    0
}

/// `do_raise`'s error exit: drops what it holds.
unsafe fn raise_error(ty: *mut PyObject, value: *mut PyObject, cause: *mut PyObject) -> i32 {
    xdecref(value);
    xdecref(ty);
    xdecref(cause);
    0
}

/// `BEFORE_WITH` / `BEFORE_ASYNC_WITH`: replaces the manager at `slot[0]`
/// with its exit method and pushes `__enter__()`'s result at `slot[1]`.
/// Returns -1 with an error (the manager left in place). An `__enter__`
/// that is a plain function of the manager's class is run directly with
/// the manager (what the bound method `_PyObject_LookupSpecial` makes of
/// it would call), as the helpers run a compiled function.
pub(super) unsafe extern "C" fn helper_before_with(
    ts: *mut PyThreadState,
    slot: *mut *mut PyObject,
    is_async: usize,
) -> i32 {
    let mgr = *slot;
    let (enter_name, exit_name, protocol) = if is_async != 0 {
        (
            interned!(c"__aenter__"),
            interned!(c"__aexit__"),
            c"asynchronous context manager protocol",
        )
    } else {
        (
            interned!(c"__enter__"),
            interned!(c"__exit__"),
            c"context manager protocol",
        )
    };
    let function = if is_async == 0 && crate::hook::interpreter_entry_fits(ts) {
        _PyType_Lookup(ob_type(mgr).cast(), enter_name)
    } else {
        std::ptr::null_mut()
    };
    let direct = !function.is_null() && is_plain_function(function);
    let enter = if direct {
        new_ref(function)
    } else {
        _PyObject_LookupSpecial(mgr, enter_name)
    };
    if enter.is_null() {
        if PyErr_Occurred().is_null() {
            pyo3::ffi::PyErr_Format(
                PyExc_TypeError.cast(),
                c"'%.200s' object does not support the %s".as_ptr(),
                type_name(mgr),
                protocol.as_ptr(),
            );
        }
        return -1;
    }
    let exit = _PyObject_LookupSpecial(mgr, exit_name);
    if exit.is_null() {
        if PyErr_Occurred().is_null() {
            pyo3::ffi::PyErr_Format(
                PyExc_TypeError.cast(),
                c"'%.200s' object does not support the %s (missed %s method)".as_ptr(),
                type_name(mgr),
                protocol.as_ptr(),
                if is_async != 0 {
                    c"__aexit__".as_ptr()
                } else {
                    c"__exit__".as_ptr()
                },
            );
        }
        decref(enter);
        return -1;
    }
    let res = if direct {
        super::OPERATORS_CALLED.bump();
        let args = [mgr];
        *slot = exit;
        // The call takes the function's reference and the manager's.
        helper_call_function(ts, enter, args.as_ptr(), 1, std::ptr::null_mut())
    } else {
        decref(mgr);
        *slot = exit;
        let res = pyo3::ffi::PyObject_CallNoArgs(enter.cast()).cast::<PyObject>();
        decref(enter);
        res
    };
    if res.is_null() {
        // The manager is gone; the interpreter's stack at the error holds
        // nothing of this instruction either.
        decref(exit);
        *slot = std::ptr::null_mut();
        return -2;
    }
    *slot.add(1) = res;
    0
}

/// `EXIT_INIT_CHECK`'s error.
pub(super) unsafe extern "C" fn helper_init_check_error(_ts: *mut PyThreadState, v: *mut PyObject) {
    pyo3::ffi::PyErr_Format(
        PyExc_TypeError.cast(),
        c"__init__() should return None, not '%.200s'".as_ptr(),
        type_name(v),
    );
}

/// `IMPORT_NAME` (the interpreter's `import_name`): a new reference, or
/// NULL with an error. Borrows `fromlist` and `level`.
pub(super) unsafe extern "C" fn helper_import_name(
    ts: *mut PyThreadState,
    f: *mut Frame,
    oparg: usize,
    fromlist: *mut PyObject,
    level: *mut PyObject,
) -> *mut PyObject {
    let name = frame_name(f, oparg);
    let mut import_func = std::ptr::null_mut();
    if PyMapping_GetOptionalItem((*f).f_builtins, interned!(c"__import__"), &mut import_func) < 0 {
        return std::ptr::null_mut();
    }
    if import_func.is_null() {
        pyo3::ffi::PyErr_SetString(
            pyo3::ffi::PyExc_ImportError,
            c"__import__ not found".as_ptr(),
        );
        return std::ptr::null_mut();
    }
    let locals = if (*f).f_locals.is_null() {
        none()
    } else {
        (*f).f_locals
    };
    let default = field::<*mut PyObject>(interp(ts).cast(), off::INTERP_IMPORT_FUNC);
    if import_func == default {
        decref(import_func);
        let ilevel = PyLong_AsInt(level);
        if ilevel == -1 && !PyErr_Occurred().is_null() {
            return std::ptr::null_mut();
        }
        return pyo3::ffi::PyImport_ImportModuleLevelObject(
            name.cast(),
            (*f).f_globals.cast(),
            locals.cast(),
            fromlist.cast(),
            ilevel,
        )
        .cast();
    }
    let args = [name, (*f).f_globals, locals, fromlist, level];
    let res = PyObject_Vectorcall(import_func, args.as_ptr(), 5, std::ptr::null_mut());
    decref(import_func);
    res
}

/// `IMPORT_FROM` when `from` is a plain module whose dict (str keys only)
/// holds the name and its type has no attribute of that name: exactly what
/// `getattr` finds, with no code run. Returns 0 with `*out` a new
/// reference, or 1 when the interpreter must do it (nothing was run).
pub(super) unsafe extern "C" fn helper_import_from(
    _ts: *mut PyThreadState,
    from: *mut PyObject,
    name: *mut PyObject,
    out: *mut *mut PyObject,
) -> i32 {
    if !is_type(from, &raw mut PyModule_Type) {
        return 1;
    }
    let dict = pyo3::ffi::PyModule_GetDict(from.cast()).cast::<PyObject>();
    if dict.is_null() || !is_type(dict, &raw mut PyDict_Type) {
        return 1;
    }
    let keys = (*dict.cast::<jitsaw_cpython313::layout::PyDictObject>()).ma_keys;
    if !dict_keys_is_unicode(keys) || !_PyType_Lookup(ob_type(from), name).is_null() {
        return 1;
    }
    let mut v = std::ptr::null_mut();
    if PyDict_GetItemRef(dict, name, &mut v) <= 0 {
        PyErr_Clear();
        return 1;
    }
    *out = v;
    0
}

/// `LOAD_NAME`: a new reference, or NULL with an error.
pub(super) unsafe extern "C" fn helper_load_name(
    ts: *mut PyThreadState,
    f: *mut Frame,
    oparg: usize,
) -> *mut PyObject {
    let ns = (*f).f_locals;
    if ns.is_null() {
        helper_system_error(ts, 2);
        return std::ptr::null_mut();
    }
    let name = frame_name(f, oparg);
    let mut v = std::ptr::null_mut();
    if PyMapping_GetOptionalItem(ns, name, &mut v) < 0 {
        return std::ptr::null_mut();
    }
    if v.is_null() {
        if PyDict_GetItemRef((*f).f_globals, name, &mut v) < 0 {
            return std::ptr::null_mut();
        }
        if v.is_null() {
            if PyMapping_GetOptionalItem((*f).f_builtins, name, &mut v) < 0 {
                return std::ptr::null_mut();
            }
            if v.is_null() {
                name_error(ts, name);
            }
        }
    }
    v
}

/// `LOAD_FROM_DICT_OR_GLOBALS`: a new reference, or NULL with an error;
/// borrows `dict`.
pub(super) unsafe extern "C" fn helper_load_from_dict_or_globals(
    ts: *mut PyThreadState,
    f: *mut Frame,
    oparg: usize,
    dict: *mut PyObject,
) -> *mut PyObject {
    let name = frame_name(f, oparg);
    let mut v = std::ptr::null_mut();
    if PyMapping_GetOptionalItem(dict, name, &mut v) < 0 {
        return std::ptr::null_mut();
    }
    if !v.is_null() {
        return v;
    }
    let (globals, builtins) = ((*f).f_globals, (*f).f_builtins);
    if is_type(globals, &raw mut PyDict_Type) && is_type(builtins, &raw mut PyDict_Type) {
        v = _PyDict_LoadGlobal(globals, builtins, name);
        if v.is_null() && PyErr_Occurred().is_null() {
            name_error(ts, name);
        }
        return v;
    }
    if PyMapping_GetOptionalItem(globals, name, &mut v) < 0 {
        return std::ptr::null_mut();
    }
    if v.is_null() {
        if PyMapping_GetOptionalItem(builtins, name, &mut v) < 0 {
            return std::ptr::null_mut();
        }
        if v.is_null() {
            name_error(ts, name);
        }
    }
    v
}

/// `STORE_NAME`: takes the reference to `v`; 0, or -1 with an error.
pub(super) unsafe extern "C" fn helper_store_name(
    _ts: *mut PyThreadState,
    f: *mut Frame,
    oparg: usize,
    v: *mut PyObject,
) -> i32 {
    let name = frame_name(f, oparg);
    let ns = (*f).f_locals;
    if ns.is_null() {
        pyo3::ffi::PyErr_Format(
            pyo3::ffi::PyExc_SystemError,
            c"no locals found when storing %R".as_ptr(),
            name,
        );
        decref(v);
        return -1;
    }
    let err = if is_type(ns, &raw mut PyDict_Type) {
        PyDict_SetItem(ns, name, v)
    } else {
        PyObject_SetItem(ns, name, v)
    };
    decref(v);
    err
}

/// `DELETE_NAME`: 0, or -1 with an error.
pub(super) unsafe extern "C" fn helper_delete_name(
    ts: *mut PyThreadState,
    f: *mut Frame,
    oparg: usize,
) -> i32 {
    let name = frame_name(f, oparg);
    let ns = (*f).f_locals;
    if ns.is_null() {
        pyo3::ffi::PyErr_Format(
            pyo3::ffi::PyExc_SystemError,
            c"no locals when deleting %R".as_ptr(),
            name,
        );
        return -1;
    }
    if PyObject_DelItem(ns, name) != 0 {
        name_error(ts, name);
        return -1;
    }
    0
}

/// `LOAD_BUILD_CLASS`: a new reference, or NULL with an error.
pub(super) unsafe extern "C" fn helper_load_build_class(
    _ts: *mut PyThreadState,
    f: *mut Frame,
) -> *mut PyObject {
    let mut bc = std::ptr::null_mut();
    if PyMapping_GetOptionalItem((*f).f_builtins, interned!(c"__build_class__"), &mut bc) < 0 {
        return std::ptr::null_mut();
    }
    if bc.is_null() {
        pyo3::ffi::PyErr_SetString(
            pyo3::ffi::PyExc_NameError,
            c"__build_class__ not found".as_ptr(),
        );
    }
    bc
}

/// `SETUP_ANNOTATIONS`: 0, or -1 with an error.
pub(super) unsafe extern "C" fn helper_setup_annotations(
    _ts: *mut PyThreadState,
    f: *mut Frame,
) -> i32 {
    let ns = (*f).f_locals;
    if ns.is_null() {
        pyo3::ffi::PyErr_SetString(
            pyo3::ffi::PyExc_SystemError,
            c"no locals found when setting up annotations".as_ptr(),
        );
        return -1;
    }
    let key = interned!(c"__annotations__");
    let mut ann = std::ptr::null_mut();
    if PyMapping_GetOptionalItem(ns, key, &mut ann) < 0 {
        return -1;
    }
    if !ann.is_null() {
        decref(ann);
        return 0;
    }
    let ann = pyo3::ffi::PyDict_New().cast::<PyObject>();
    if ann.is_null() {
        return -1;
    }
    let err = PyObject_SetItem(ns, key, ann);
    decref(ann);
    err
}

/// `CALL_FUNCTION_EX` with a non-tuple `*args`: replaces `*slot` with a
/// tuple of it; -1 with an error (the interpreter's message when it is not
/// iterable).
pub(super) unsafe extern "C" fn helper_callargs_tuple(
    _ts: *mut PyThreadState,
    func: *mut PyObject,
    slot: *mut *mut PyObject,
) -> i32 {
    let args = *slot;
    // The slot itself, as the interpreter reads it (`PyType_GetSlot`'s
    // checks cost more than the rest of a short call).
    let tp_iter = field::<usize>(ob_type(args).cast(), off::TYPE_TP_ITER);
    if tp_iter == 0 && pyo3::ffi::PySequence_Check(args.cast()) == 0 {
        PyErr_Clear();
        let funcstr = _PyObject_FunctionStr(func);
        if !funcstr.is_null() {
            pyo3::ffi::PyErr_Format(
                PyExc_TypeError.cast(),
                c"%U argument after * must be an iterable, not %.200s".as_ptr(),
                funcstr,
                type_name(args),
            );
            decref(funcstr.cast());
        }
        return -1;
    }
    let tuple = PySequence_Tuple(args);
    if tuple.is_null() {
        return -1;
    }
    *slot = tuple;
    decref(args);
    0
}

/// `CALL_FUNCTION_EX` of a compiled Python function, directly: the stack
/// from `base` holds `func, NULL, args tuple[, kwargs dict]`. Binds the
/// arguments into a new frame as the interpreter's `CALL_FUNCTION_EX` does,
/// releases the stack's references, and makes the caller wait at its call
/// as [`push_inline`] does. Nulls when the call must go the general
/// way (nothing taken).
pub(super) unsafe extern "C" fn helper_call_ex_inline(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    base: *mut *mut PyObject,
    has_kwargs: usize,
    resume: u64,
) -> Inline {
    let func = *base;
    let Some((state, compiled)) = bindable(ts, func) else {
        return Inline::NONE;
    };
    let callargs = *base.add(2);
    let kwargs = if has_kwargs != 0 {
        *base.add(3)
    } else {
        std::ptr::null_mut()
    };
    let nargs = ob_size(callargs) as usize;
    let mut args: Vec<*mut PyObject> = (0..nargs)
        .map(|i| new_ref(tuple_item(callargs, i)))
        .collect();
    let mut kwnames = std::ptr::null_mut();
    if !kwargs.is_null() && pyo3::ffi::PyDict_Size(kwargs.cast()) > 0 {
        let n = pyo3::ffi::PyDict_Size(kwargs.cast());
        kwnames = pyo3::ffi::PyTuple_New(n).cast::<PyObject>();
        if kwnames.is_null() {
            args.into_iter().for_each(|a| decref(a));
            PyErr_Clear();
            return Inline::NONE;
        }
        let (mut pos, mut i) = (0isize, 0isize);
        let (mut k, mut v) = (std::ptr::null_mut(), std::ptr::null_mut());
        while pyo3::ffi::PyDict_Next(kwargs.cast(), &mut pos, &mut k, &mut v) != 0 {
            pyo3::ffi::PyTuple_SetItem(kwnames.cast(), i, new_ref(k.cast()).cast());
            args.push(new_ref(v.cast()));
            i += 1;
        }
    }
    let frame = _PyEvalFramePushAndInit(
        ts,
        new_ref(func),
        std::ptr::null_mut(),
        args.as_ptr(),
        nargs,
        kwnames,
    );
    xdecref(kwnames);
    if frame.is_null() {
        // Binding failed; the general path raises the same error.
        PyErr_Clear();
        return Inline::NONE;
    }
    decref(func);
    decref(callargs);
    xdecref(kwargs);
    let entry = crate::hook::entry_of(state, compiled);
    enter_inline(ts, caller, frame, base, resume, entry)
}

/// The compiled code a call of plain function `func` whose arguments
/// `_PyEvalFramePushAndInit` binds may enter now (its code is a function's,
/// the recursion limit is not near, and the code is ready), and its code's
/// state.
unsafe fn bindable(
    ts: *mut PyThreadState,
    func: *mut PyObject,
) -> Option<(*mut CodeState, *const crate::codegen::Compiled)> {
    let code = func_code(func);
    let flags = field::<i32>(code.cast(), off::CODE_CO_FLAGS) as i64;
    if flags & consts::CO_OPTIMIZED == 0 || *py_recursion_remaining(ts) <= 1 {
        return None;
    }
    crate::hook::ready(ts, code)
}

/// A call from compiled code of the plain function at `base` (not a
/// generator function) with the `total` arguments at `args`, the last
/// `kwnames` of them (if not null) by keyword: binds them as the
/// interpreter's `CALL` and `CALL_KW` do when they push the frame
/// themselves (`_PyEvalFramePushAndInit`: keyword-only parameters,
/// defaults, `*args`, `**kwargs`), takes the stack's references to the
/// function and the arguments, and makes the caller wait at `base` as
/// [`push_inline`] does; with the callee's code state. Nulls (nothing
/// taken) when the callee's compiled code cannot be entered now, or binding
/// fails (the general way raises the same error).
unsafe fn bind_inline(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    base: *mut *mut PyObject,
    args: *mut *mut PyObject,
    total: usize,
    kwnames: *mut PyObject,
    resume: u64,
) -> (Inline, *mut CodeState) {
    let func = *base;
    let Some((state, compiled)) = bindable(ts, func) else {
        return (Inline::NONE, std::ptr::null_mut());
    };
    let frame = push_bound_frame(ts, func, args, total, kwnames);
    if frame.is_null() {
        PyErr_Clear();
        return (Inline::NONE, std::ptr::null_mut());
    }
    // The frame holds the function and the arguments now.
    release_call(func, args, total);
    let entry = crate::hook::entry_of(state, compiled);
    (enter_inline(ts, caller, frame, base, resume, entry), state)
}

/// How many arguments a call passes by keyword: the length of its
/// `kwnames` tuple, if any.
#[inline(always)]
unsafe fn keyword_count(kwnames: *mut PyObject) -> usize {
    if kwnames.is_null() {
        0
    } else {
        ob_size(kwnames) as usize
    }
}

/// A frame of `func` with the `total` arguments at `args`, the last
/// `kwnames` of them (if not null) by keyword, bound as the interpreter
/// binds them (`_PyEvalFramePushAndInit`). The binding takes references of
/// its own to the function and the arguments (and releases them if it
/// fails), so the caller's are untouched either way. Null with an error
/// when binding fails.
unsafe fn push_bound_frame(
    ts: *mut PyThreadState,
    func: *mut PyObject,
    args: *mut *mut PyObject,
    total: usize,
    kwnames: *mut PyObject,
) -> *mut Frame {
    let keywords = keyword_count(kwnames);
    for i in 0..total {
        incref(*args.add(i));
    }
    _PyEvalFramePushAndInit(
        ts,
        new_ref(func),
        std::ptr::null_mut(),
        args,
        total - keywords,
        kwnames,
    )
}

/// `CALL_KW` from compiled code of a plain Python function (the call shape
/// at `base`, `n` arguments, then the keyword names): the call the site's
/// cache remembers the quick way ([`quick_kw_call`]), else [`bind_inline`];
/// either releases the names when it enters the callee.
pub(super) unsafe extern "C" fn helper_call_kw_inline(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    base: *mut *mut PyObject,
    n: usize,
    resume: u64,
    site: *mut KwCallCache,
) -> Inline {
    let kwnames = *base.add(n + 2);
    // The stencil unpacked a bound method already.
    let (args, total) = call_shape(base, n);
    let site = &mut *site;
    let inline = match quick_kw_call(ts, caller, base, resume, site, args, total, kwnames) {
        Some(inline) => inline,
        None => {
            let func = *base;
            let version = field::<u32>(func.cast(), off::FUNC_VERSION);
            let ticket = crate::hook::ticket(ts);
            let (inline, state) = bind_inline(ts, caller, base, args, total, kwnames, resume);
            // The new frame holds `func` now; the plan is only worth
            // working out for an entry the cache can keep.
            let plan = if inline.frame.is_null() || version == 0 {
                None
            } else {
                keyword_plan(func, total, kwnames)
            };
            if let Some((argcount, params)) = plan {
                *site = KwCallCache {
                    version,
                    total: total as u16,
                    keywords: ob_size(kwnames) as u8,
                    argcount,
                    state,
                    entry: inline.entry,
                    ticket,
                    params,
                };
            }
            inline
        }
    };
    if !inline.frame.is_null() {
        decref(kwnames);
    }
    inline
}

/// The most keywords a [`KwCallCache`] binds.
const CACHED_KEYWORDS: usize = 16;

/// What a `_CALL_KW` site remembers of the compiled plain function it last
/// entered, when binding its arguments was as simple as copying them
/// ([`keyword_plan`]; zeroed: nothing), so that the next such call needs
/// neither `_PyEvalFramePushAndInit`'s binding nor the lookups: the
/// function's version vouches for its code (the parameters' names) and
/// defaults, and [`crate::hook::still_ready`] for its compiled code.
#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct KwCallCache {
    /// The function's version; 0 for none.
    version: u32,
    /// The arguments passed, counting `self` and the keyword ones.
    total: u16,
    /// How many of them are passed by keyword (the last ones).
    keywords: u8,
    /// The function's parameters, all positional-or-keyword ones.
    argcount: u8,
    /// The callee's code state; null for none.
    state: *mut CodeState,
    entry: usize,
    ticket: crate::hook::DirectTicket,
    /// The parameter each keyword binds, in the order of the names.
    params: [u8; CACHED_KEYWORDS],
}

const _: () = assert!(
    size_of::<KwCallCache>()
        <= Uop::_CALL_KW.site_cache_slots() * size_of::<crate::codegen::SiteCache>()
);

/// The parameter each keyword of a call of `func` passing `total`
/// arguments, the last `kwnames` of them by keyword, binds, and the
/// function's parameter count, when binding is as simple as copying:
/// the function has only positional-or-keyword parameters (and no more
/// defaults than parameters), each keyword is the very name of one of
/// them (the first thing `initialize_locals` looks for) that is neither
/// positional-only nor given by position, no parameter is named twice, and
/// every parameter left unbound has a default. `None` for anything else:
/// the general binding decides, raising what it raises.
unsafe fn keyword_plan(
    func: *mut PyObject,
    total: usize,
    kwnames: *mut PyObject,
) -> Option<(u8, [u8; CACHED_KEYWORDS])> {
    let code = func_code(func);
    let argcount = crate::hook::plain_positional_args(code)? as usize;
    let keywords = keyword_count(kwnames);
    if argcount >= 64 || keywords > CACHED_KEYWORDS || keywords > total {
        return None;
    }
    let positional = total - keywords;
    let defaults = field::<*mut PyObject>(func.cast(), off::FUNC_DEFAULTS);
    let ndefaults = if defaults.is_null() {
        0
    } else {
        ob_size(defaults) as usize
    };
    if positional > argcount || ndefaults > argcount {
        return None;
    }
    let posonly = field::<i32>(code.cast(), off::CODE_CO_POSONLYARGCOUNT) as usize;
    let names = local_names(code);
    let mut params = [0u8; CACHED_KEYWORDS];
    // A bit per parameter bound so far.
    let mut bound = (1u64 << positional) - 1;
    for (j, param) in params.iter_mut().enumerate().take(keywords) {
        let keyword = tuple_item(kwnames, j);
        let i = (posonly..argcount).find(|&i| *names.add(i) == keyword)?;
        if bound & (1 << i) != 0 {
            return None;
        }
        bound |= 1 << i;
        *param = i as u8;
    }
    // The parameters before the first with a default must all be bound.
    let required = (1u64 << (argcount - ndefaults)) - 1;
    (bound & required == required).then_some((argcount as u8, params))
}

/// The names of a code object's locals (`co_localsplusnames`), parameters
/// first.
#[inline(always)]
unsafe fn local_names(code: *mut PyCodeObject) -> *mut *mut PyObject {
    tuple_items(code_obj_field(code, off::CODE_CO_LOCALSPLUSNAMES))
}

/// The keyword call a `_CALL_KW` site's cache remembers, the quick way: the
/// same function (version), argument count and keyword names (each the
/// parameter name the plan binds, compared by identity), and
/// [`crate::hook::still_ready`]'s checks. The frame is pushed with the
/// positional arguments, the keyword ones moved to their parameters and
/// the rest bound to their defaults, as `initialize_locals` binds them.
/// `None` (nothing taken) when the entry does not serve this call.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn quick_kw_call(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    base: *mut *mut PyObject,
    resume: u64,
    cache: &KwCallCache,
    args: *mut *mut PyObject,
    total: usize,
    kwnames: *mut PyObject,
) -> Option<Inline> {
    let func = *base;
    let keywords = cache.keywords as usize;
    if field::<u32>(func.cast(), off::FUNC_VERSION) != cache.version
        || cache.version == 0
        || cache.state.is_null()
        || total != cache.total as usize
        || ob_size(kwnames) as usize != keywords
        || *py_recursion_remaining(ts) <= 1
    {
        return None;
    }
    let code = func_code(func);
    let names = local_names(code);
    for j in 0..keywords {
        if tuple_item(kwnames, j) != *names.add(cache.params[j] as usize) {
            return None;
        }
    }
    if !crate::hook::still_ready(ts, cache.state, code, cache.ticket) {
        return None;
    }
    let positional = total - keywords;
    let frame = push_frame(ts, func, code, args, positional)?;
    for j in 0..keywords {
        *frame_local(frame, cache.params[j] as usize) = *args.add(positional + j);
    }
    let argcount = cache.argcount as usize;
    if total < argcount {
        let defaults = field::<*mut PyObject>(func.cast(), off::FUNC_DEFAULTS);
        let first = argcount - ob_size(defaults) as usize;
        for i in positional..argcount {
            let local = frame_local(frame, i);
            if (*local).is_null() {
                *local = new_ref(tuple_item(defaults, i - first));
            }
        }
    }
    super::KEYWORD_CALLS_CACHED.bump();
    Some(enter_inline(ts, caller, frame, base, resume, cache.entry))
}

/// `CALL_KW` from compiled code of a class (see `_CALL_KW`):
/// `PyObject_Vectorcall`, except for a plain class ([`plain_class_init`])
/// whose `__init__` has compiled code: the instance is made, `__init__`'s
/// frame bound as the interpreter binds a `CALL_KW` of a function
/// (`_PyEvalFramePushAndInit`: keywords, defaults) and run, as `type_call`
/// and `slot_tp_init` would, without their lookups, bound method and
/// argument copies (a dataclass made with keywords). Borrows everything,
/// as `PyObject_Vectorcall` does; `args[-1]` may be overwritten while it
/// runs (`PY_VECTORCALL_ARGUMENTS_OFFSET`).
pub(super) unsafe extern "C" fn helper_vectorcall_kw(
    ts: *mut PyThreadState,
    callable: *mut PyObject,
    args: *mut *mut PyObject,
    positional: usize,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    if let Some((init, code)) = plain_class_init(callable) {
        let flags = field::<i32>(code.cast(), off::CODE_CO_FLAGS) as i64;
        if flags & consts::CO_OPTIMIZED != 0 {
            if let Some((state, compiled)) = crate::hook::ready(ts, code) {
                // The C depth `_PyObject_MakeTpCall` counts for `type_call`
                // (this call recurses in C as that one does), checked first.
                let c = c_recursion_remaining(ts);
                let before = *c;
                *c -= 1;
                if before < 0 && _Py_CheckRecursiveCall(ts, WHILE_CALLING.as_ptr().cast()) != 0 {
                    return std::ptr::null_mut();
                }
                let res = call_class_kw(
                    ts, callable, init, state, compiled, args, positional, kwnames,
                );
                *c_recursion_remaining(ts) += 1;
                return res;
            }
        }
    }
    PyObject_Vectorcall(
        callable,
        args,
        positional | consts::VECTORCALL_ARGUMENTS_OFFSET as usize,
        kwnames,
    )
}

/// What `RecursionError`'s message adds when a C call of an object
/// crosses the limit (`_PyObject_MakeTpCall`'s).
const WHILE_CALLING: &std::ffi::CStr = c" while calling a Python object";

/// [`helper_vectorcall_kw`] of the plain class `tp` whose `__init__`
/// (`init`) runs `compiled` (of `state`): the instance, or NULL with an
/// error (binding failed, `__init__` raised or returned something else
/// than `None`), as `type_call` leaves them.
#[allow(clippy::too_many_arguments)]
unsafe fn call_class_kw(
    ts: *mut PyThreadState,
    tp: *mut PyObject,
    init: *mut PyObject,
    state: *mut crate::hook::CodeState,
    compiled: *const crate::codegen::Compiled,
    args: *mut *mut PyObject,
    positional: usize,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    let instance = pyo3::ffi::PyType_GenericAlloc(tp.cast(), 0).cast::<PyObject>();
    if instance.is_null() {
        return std::ptr::null_mut();
    }
    let keywords = keyword_count(kwnames);
    // The instance goes first, in the slot the vectorcall protocol lends.
    let first = args.sub(1);
    let lent = *first;
    *first = instance;
    let frame = push_bound_frame(ts, init, first, positional + 1 + keywords, kwnames);
    *first = lent;
    if frame.is_null() {
        decref(instance);
        return std::ptr::null_mut();
    }
    INITS_ENTERED.bump();
    run_init(ts, frame, state, compiled, instance)
}

/// Runs the pushed frame of a new instance's `__init__` in `compiled` (of
/// `state`), as `type_call` does after allocating: the instance, or NULL
/// with an error when `__init__` raised or returned something else than
/// `None` (the instance released). Takes the reference to `instance`.
unsafe fn run_init(
    ts: *mut PyThreadState,
    frame: *mut Frame,
    state: *mut crate::hook::CodeState,
    compiled: *const crate::codegen::Compiled,
    instance: *mut PyObject,
) -> *mut PyObject {
    let res = crate::hook::run(ts, frame, state, compiled, 0, false);
    if res.is_null() || res != none() {
        if !res.is_null() {
            helper_init_check_error(ts, res);
            decref(res);
        }
        decref(instance);
        return std::ptr::null_mut();
    }
    instance
}

/// `SEND`: 0 with `*retval` the value to yield, 1 with `*retval` the
/// sub-iterator's return value (both take `v`), -1 with an error (`v`
/// kept). With a frame hook set the interpreter never enters a generator
/// receiver inline, so this is its whole behaviour.
pub(super) unsafe extern "C" fn helper_send(
    _ts: *mut PyThreadState,
    receiver: *mut PyObject,
    v: *mut PyObject,
    retval: *mut *mut PyObject,
) -> i32 {
    let tp = ob_type(receiver).cast::<pyo3::ffi::PyTypeObject>();
    let r = if v == none() && pyo3::ffi::PyIter_Check(receiver.cast()) != 0 {
        let next = (*tp)
            .tp_iternext
            .expect("PyIter_Check guarantees tp_iternext");
        next(receiver.cast()).cast::<PyObject>()
    } else {
        pyo3::ffi::PyObject_CallMethodOneArg(receiver.cast(), interned!(c"send").cast(), v.cast())
            .cast()
    };
    if !r.is_null() {
        *retval = r;
        decref(v);
        return 0;
    }
    let mut value = std::ptr::null_mut();
    if _PyGen_FetchStopIterationValue(&mut value) == 0 {
        *retval = value;
        decref(v);
        return 1;
    }
    -1
}

/// `GET_AWAITABLE`, taking `iterable`.
pub(super) unsafe extern "C" fn helper_get_awaitable(
    ts: *mut PyThreadState,
    iterable: *mut PyObject,
    oparg: usize,
) -> *mut PyObject {
    let mut iter = _PyCoro_GetAwaitableIter(iterable);
    if iter.is_null() {
        _PyEval_FormatAwaitableError(ts, ob_type(iterable), oparg as i32);
    }
    decref(iterable);
    if !iter.is_null() && is_type(iter, &raw mut PyCoro_Type) {
        let yf = _PyGen_yf(iter);
        if !yf.is_null() {
            decref(yf);
            decref(iter);
            iter = std::ptr::null_mut();
            pyo3::ffi::PyErr_SetString(
                pyo3::ffi::PyExc_RuntimeError,
                c"coroutine is being awaited already".as_ptr(),
            );
        }
    }
    iter
}

/// The type's `tp_as_async` slots, if any.
unsafe fn async_slots(o: *mut PyObject) -> Option<&'static pyo3::ffi::PyAsyncMethods> {
    let tp = ob_type(o).cast::<pyo3::ffi::PyTypeObject>();
    (*tp).tp_as_async.as_ref()
}

/// `GET_AITER`, taking `obj`.
pub(super) unsafe extern "C" fn helper_get_aiter(
    _ts: *mut PyThreadState,
    obj: *mut PyObject,
) -> *mut PyObject {
    let Some(getter) = async_slots(obj).and_then(|a| a.am_aiter) else {
        pyo3::ffi::PyErr_Format(
            PyExc_TypeError.cast(),
            c"'async for' requires an object with __aiter__ method, got %.100s".as_ptr(),
            type_name(obj),
        );
        decref(obj);
        return std::ptr::null_mut();
    };
    let iter = getter(obj.cast()).cast::<PyObject>();
    decref(obj);
    if iter.is_null() {
        return iter;
    }
    if async_slots(iter).and_then(|a| a.am_anext).is_none() {
        pyo3::ffi::PyErr_Format(
            PyExc_TypeError.cast(),
            c"'async for' received an object from __aiter__ that does not implement __anext__: %.100s"
                .as_ptr(),
            type_name(iter),
        );
        decref(iter);
        return std::ptr::null_mut();
    }
    iter
}

/// `GET_ANEXT`, borrowing `aiter`.
pub(super) unsafe extern "C" fn helper_get_anext(
    _ts: *mut PyThreadState,
    aiter: *mut PyObject,
) -> *mut PyObject {
    let anext = async_slots(aiter).and_then(|a| a.am_anext);
    if is_type(aiter, &raw mut PyAsyncGen_Type) {
        let anext = anext.expect("async generators have __anext__");
        return anext(aiter.cast()).cast();
    }
    let Some(getter) = anext else {
        pyo3::ffi::PyErr_Format(
            PyExc_TypeError.cast(),
            c"'async for' requires an iterator with __anext__ method, got %.100s".as_ptr(),
            type_name(aiter),
        );
        return std::ptr::null_mut();
    };
    let next_iter = getter(aiter.cast()).cast::<PyObject>();
    if next_iter.is_null() {
        return next_iter;
    }
    let awaitable = _PyCoro_GetAwaitableIter(next_iter);
    if awaitable.is_null() {
        _PyErr_FormatFromCause(
            PyExc_TypeError,
            c"'async for' received an invalid object from __anext__: %.100s".as_ptr(),
            type_name(next_iter),
        );
    }
    decref(next_iter);
    awaitable
}

/// `GET_YIELD_FROM_ITER`: takes `iterable` on success.
pub(super) unsafe extern "C" fn helper_get_yield_from_iter(
    ts: *mut PyThreadState,
    f: *mut Frame,
    iterable: *mut PyObject,
) -> *mut PyObject {
    if is_type(iterable, &raw mut PyCoro_Type) {
        let flags = field::<i32>(frame_code(f).cast(), off::CODE_CO_FLAGS) as i64;
        if flags & (consts::CO_COROUTINE | consts::CO_ITERABLE_COROUTINE) == 0 {
            pyo3::ffi::PyErr_SetString(
                PyExc_TypeError.cast(),
                c"cannot 'yield from' a coroutine object in a non-coroutine generator".as_ptr(),
            );
            return std::ptr::null_mut();
        }
        return iterable;
    }
    if is_type(iterable, &raw mut PyGen_Type) {
        return iterable;
    }
    let iter = helper_get_iter(ts, iterable);
    if !iter.is_null() {
        decref(iterable);
    }
    iter
}
