//! Async generators resumed directly by an `async for`'s `SEND` on their
//! `asend` awaitables (`_SEND_ASYNC_FOR` in
//! `crates/stencils/src/ops/gen.rs`): the check of the private layouts
//! that reads, and the awaitable's bookkeeping when the generator raises.
//!
//! The interpreter resumes such a generator through C: `anext()`'s
//! awaitable sends into it, and its `yield` comes back as a
//! `StopIteration` made for the value. A tree of `async for`s pays that at
//! every level for every value.

use jitsaw_cpython313::ffi::{_PyAsyncGenASend_Type, PyAsyncGen_Type};
use jitsaw_cpython313::inline::*;
use jitsaw_cpython313::layout::{
    AsyncGenASend, AsyncGenWrappedValue, Frame, PyObject, AWAITABLE_STATE_CLOSED,
    AWAITABLE_STATE_INIT,
};
use jitsaw_cpython313::{consts, off};
use std::sync::atomic::{AtomicUsize, Ordering};

/// `jitsaw_async_gen_wrapped_type` for the stencils: 0 until
/// [`probe_async_gen`] ran, then the wrapped values' type, or 1 if the
/// layouts did not check out.
pub(super) static WRAPPED_TYPE: AtomicUsize = AtomicUsize::new(0);

/// Checks [`AsyncGenASend`] and [`AsyncGenWrappedValue`], which no header
/// declares, against objects made for the purpose, once, and publishes the
/// outcome in [`WRAPPED_TYPE`]. Run the first time compiled code meets an
/// `asend` awaitable, so programs without async generators do not pay for
/// compiling the probe's source.
pub(super) unsafe extern "C" fn probe_async_gen() -> usize {
    let value = match WRAPPED_TYPE.load(Ordering::Relaxed) {
        // Compiled code's thread holds the GIL (also while the interpreter
        // finalizes, when `Python::attach` would refuse).
        0 => layouts_hold(pyo3::Python::assume_attached()).unwrap_or(1),
        known => known,
    };
    WRAPPED_TYPE.store(value, Ordering::Relaxed);
    value
}

/// The wrapped values' type if both layouts hold for objects made here,
/// else `None`. Any error is cleared: the caller's own exception state is
/// untouched (it runs inside a `SEND`, with none set).
fn layouts_hold(py: pyo3::Python<'_>) -> Option<usize> {
    use pyo3::types::{PyAnyMethods, PyDict, PyDictMethods};
    let namespace = PyDict::new(py);
    py.run(c"async def g():\n    yield\n", Some(&namespace), None)
        .ok()?;
    let gen = namespace.get_item("g").ok()??.call0().ok()?;
    let sent = pyo3::types::PyTuple::empty(py);
    // SAFETY: `gen` is a live async generator (checked), whose public
    // header gives `ag_hooks_inited`; set, `asend` below does not call
    // the thread's `firstiter` hook (asyncio's loop registers the
    // generators it sees) or take its finalizer for this generator.
    unsafe {
        if !is_type(gen.as_ptr().cast(), &raw mut PyAsyncGen_Type) {
            return None;
        }
        *field_ptr::<i8>(gen.as_ptr().cast(), off::ASYNC_GEN_AG_HOOKS_INITED) = 1;
    }
    let asend = gen.call_method1("asend", (&sent,)).ok()?;
    let a = asend.as_ptr().cast::<PyObject>();
    // SAFETY: `a` is a live object; its fields are read only once its
    // type and size say it is an `asend` awaitable of that many bytes.
    let asend_holds = unsafe {
        is_type(a, &raw mut _PyAsyncGenASend_Type)
            && field::<isize>((*a).ob_type.cast(), off::TYPE_TP_BASICSIZE) as usize
                == size_of::<AsyncGenASend>()
            && (*a.cast::<AsyncGenASend>()).ags_gen == gen.as_ptr().cast()
            && (*a.cast::<AsyncGenASend>()).ags_sendval == sent.as_ptr().cast()
            && (*a.cast::<AsyncGenASend>()).ags_state == AWAITABLE_STATE_INIT
    };
    // Closed, it is not reported as never awaited when freed.
    asend.call_method0("close").ok()?;
    // SAFETY: as above.
    if !asend_holds || unsafe { (*a.cast::<AsyncGenASend>()).ags_state } != AWAITABLE_STATE_CLOSED {
        return None;
    }
    // SAFETY: the wrap is an intrinsic of `CALL_INTRINSIC_1`, which takes
    // the thread state and a borrowed value and returns a new reference or
    // NULL.
    unsafe {
        let wrap = unary_intrinsic(consts::INTRINSIC_ASYNC_GEN_WRAP as usize);
        let w = wrap(pyo3::ffi::PyThreadState_Get().cast(), sent.as_ptr().cast());
        if w.is_null() {
            pyo3::ffi::PyErr_Clear();
            return None;
        }
        let tp = (*w).ob_type;
        let holds = field::<isize>(tp.cast(), off::TYPE_TP_BASICSIZE) as usize
            == size_of::<AsyncGenWrappedValue>()
            && (*w.cast::<AsyncGenWrappedValue>()).agw_val == sent.as_ptr().cast()
            && tp as usize > 1;
        decref(w);
        holds.then_some(tp as usize)
    }
}

/// Called as an exception leaves a frame that compiled code entered
/// directly, for its `caller`, about to unwind: if the frame was an async
/// generator its caller's `SEND` resumed for an `asend` awaitable, does
/// what the awaitable does when the generator raises
/// (`async_gen_unwrap_value`): the generator is no longer running, and is
/// closed if the exception is `StopAsyncIteration` or `GeneratorExit`; the
/// awaitable is done.
///
/// # Safety
/// The GIL is held, `caller` is a live frame and the exception is set.
pub(super) unsafe fn callee_raised(caller: *mut Frame) {
    use jitsaw_cpython313::opcode::{SEND, SEND_GEN};
    let op = *(*caller).instr_ptr as u8;
    if (op != SEND && op != SEND_GEN) || (*caller).stacktop <= 0 {
        return;
    }
    let receiver = *frame_local(caller, (*caller).stacktop as usize - 1);
    if !is_type(receiver, &raw mut _PyAsyncGenASend_Type)
        || WRAPPED_TYPE.load(Ordering::Relaxed) <= 1
    {
        return;
    }
    // Only a generator resumed directly raises here with its awaitable
    // still iterated: the general way finishes the awaitable itself.
    if !asend_generator_finished(receiver) {
        return;
    }
    use pyo3::ffi::{PyErr_ExceptionMatches, PyExc_GeneratorExit, PyExc_StopAsyncIteration};
    asend_done(
        receiver,
        PyErr_ExceptionMatches(PyExc_StopAsyncIteration) != 0
            || PyErr_ExceptionMatches(PyExc_GeneratorExit) != 0,
    );
}

/// For an `asend` awaitable or a wrapped value (`None` for other objects):
/// whether freeing it runs no Python code, given `leaf` which says so of
/// an object it holds. An awaitable done or being iterated (a new one
/// warns that it was never awaited) whose generator lives on and whose
/// value is a leaf; a wrapped value whose value is a leaf or lives on
/// (`_SEND_GEN_RETURNED` frees one after taking its value).
///
/// # Safety
/// `o` is a live object about to be freed.
pub(super) unsafe fn frees_quietly(
    o: *mut PyObject,
    leaf: impl Fn(*mut PyObject) -> bool,
) -> Option<bool> {
    let wrapped = WRAPPED_TYPE.load(Ordering::Relaxed);
    if wrapped <= 1 {
        return None;
    }
    if (*o).ob_type as usize == wrapped {
        let value = (*o.cast::<AsyncGenWrappedValue>()).agw_val;
        return Some(leaf(value) || (*value).ob_refcnt > 1);
    }
    if !is_type(o, &raw mut _PyAsyncGenASend_Type) {
        return None;
    }
    Some(asend_frees_quietly(o, leaf))
}
