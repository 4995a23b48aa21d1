//! `GET_ITER` and `FOR_ITER` with its list, tuple and range forms. As in the
//! tier-1 interpreter, an exhausted loop pops the iterator and jumps past the
//! `END_FOR`/`POP_TOP` that close it.

use super::gen::{resume_directly, resume_directly_to};
use crate::abi::*;
use crate::helpers::{jitsaw_consume_rest, jitsaw_get_iter, jitsaw_slot_tp_iter};
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::layout::{ListIter, RangeIter, TupleIter};
use jitsaw_cpython313::shared::ResumeCache;
use jitsaw_cpython313::{consts, off};

stencil!(
    /// `GET_ITER`. An object whose class defines `__iter__` as a generator
    /// function gets its generator from the runtime without the call
    /// `slot_tp_iter` would make (`jitsaw_get_iter`).
    fn _GET_ITER(f, sp, ts) {
        let iterable = peek(sp, 1);
        let iter = if field::<usize>(ob_type(iterable).cast(), off::TYPE_TP_ITER)
            == (&raw const jitsaw_slot_tp_iter) as usize
        {
            jitsaw_get_iter(ts, iterable)
        } else {
            PyObject_GetIter(iterable)
        };
        decref(iterable);
        if iter.is_null() {
            error!(f, sp.sub(1), ts)
        }
        poke(sp, 1, iter);
        next!(f, sp, ts)
    }
);

stencil!(
    /// `FOR_ITER` as tier 1 runs it: the jump target is past the loop's end.
    /// A generator with compiled code is resumed directly, as by the
    /// interpreter's `FOR_ITER_GEN` (which CPython does not specialize while
    /// a frame evaluator is set); `_FOR_ITER_GEN_RETURNED` follows.
    fn _FOR_ITER(f, sp, ts) {
        let iter = peek(sp, 1);
        if is_type(iter, &raw mut PyGen_Type) {
            let cache = operand() as *mut ResumeCache;
            enter_if_inline!(resume_directly(ts, f, iter, sp, 1, cache), ts);
        }
        let iternext = field::<IterNextFunc>(ob_type(iter).cast(), off::TYPE_TP_ITERNEXT);
        let next = iternext(iter);
        if next.is_null() {
            if !PyErr_Occurred().is_null() {
                if PyErr_ExceptionMatches(PyExc_StopIteration) == 0 {
                    error!(f, sp, ts)
                }
                _PyEval_MonitorRaise(ts, f, (*f).instr_ptr);
                PyErr_Clear();
            }
            decref(iter);
            jump!(f, sp.sub(1), ts)
        }
        *sp = next;
        next!(f, sp.add(1), ts)
    }
);

stencil!(
    /// After `_FOR_ITER`: a generator resumed directly comes back here both
    /// when it yields and when it returns; a return ends the loop, its value
    /// dropped as `END_FOR` does.
    fn _FOR_ITER_GEN_RETURNED(f, sp, ts) {
        let iter = peek(sp, 2);
        if is_type(iter, &raw mut PyGen_Type) && gen_finished(iter) {
            decref(peek(sp, 1));
            decref(iter);
            jump!(f, sp.sub(2), ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(fn _ITER_CHECK_LIST(f, sp, ts) {
    if !is_type(peek(sp, 1), &raw mut PyListIter_Type) {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

stencil!(fn _ITER_JUMP_LIST(f, sp, ts) {
    let it = peek(sp, 1).cast::<ListIter>();
    let seq = (*it).it_seq;
    if seq.is_null() || (*it).it_index as usize >= (*seq).ob_base.ob_size as usize {
        (*it).it_index = -1;
        if !seq.is_null() {
            (*it).it_seq = core::ptr::null_mut();
            decref(seq.cast());
        }
        decref(it.cast());
        jump!(f, sp.sub(1), ts)
    }
    next!(f, sp, ts)
});

stencil!(fn _ITER_NEXT_LIST(f, sp, ts) {
    let it = peek(sp, 1).cast::<ListIter>();
    let index = (*it).it_index;
    (*it).it_index = index + 1;
    *sp = new_ref(*list_items((*it).it_seq.cast()).add(index as usize));
    next!(f, sp.add(1), ts)
});

stencil!(fn _ITER_CHECK_TUPLE(f, sp, ts) {
    if !is_type(peek(sp, 1), &raw mut PyTupleIter_Type) {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

stencil!(fn _ITER_JUMP_TUPLE(f, sp, ts) {
    let it = peek(sp, 1).cast::<TupleIter>();
    let seq = (*it).it_seq;
    if seq.is_null() || (*it).it_index >= (*seq).ob_base.ob_size {
        if !seq.is_null() {
            (*it).it_seq = core::ptr::null_mut();
            decref(seq.cast());
        }
        decref(it.cast());
        jump!(f, sp.sub(1), ts)
    }
    next!(f, sp, ts)
});

stencil!(fn _ITER_NEXT_TUPLE(f, sp, ts) {
    let it = peek(sp, 1).cast::<TupleIter>();
    let index = (*it).it_index;
    (*it).it_index = index + 1;
    *sp = new_ref(tuple_item((*it).it_seq.cast(), index as usize));
    next!(f, sp.add(1), ts)
});

stencil!(fn _ITER_CHECK_RANGE(f, sp, ts) {
    if !is_type(peek(sp, 1), &raw mut PyRangeIter_Type) {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

stencil!(fn _ITER_JUMP_RANGE(f, sp, ts) {
    let r = peek(sp, 1).cast::<RangeIter>();
    if (*r).len <= 0 {
        decref(r.cast());
        jump!(f, sp.sub(1), ts)
    }
    next!(f, sp, ts)
});

stencil!(fn _ITER_NEXT_RANGE(f, sp, ts) {
    let r = peek(sp, 1).cast::<RangeIter>();
    let value = (*r).start;
    (*r).start = value.wrapping_add((*r).step);
    (*r).len -= 1;
    let next = int_new(value);
    if next.is_null() {
        error!(f, sp, ts)
    }
    *sp = next;
    next!(f, sp.add(1), ts)
});

stencil!(
    /// `list(...)`, `tuple(...)` or `set(...)` of a generator expression
    /// (`CALL` of one argument right after the `CALL` that made it): the
    /// generator is resumed directly, as `_FOR_ITER` resumes one, coming
    /// back to `_CONSUME_GENEXPR_NEXT`, which takes each value as the
    /// builtin's C loop would and resumes it again, until it returns. The
    /// items are kept in a list (a set for `set`) in the call's `NULL`
    /// slot; the slot above the generator, where it hands its values, held
    /// the generator function's iterator a moment before, so the frame has
    /// room for it. Any other callable, a bound call, or an argument that is
    /// not a generator ready to run exits to the instruction's fallback
    /// (the call as it is), before anything changed. A generator that
    /// cannot be resumed directly (no compiled code yet) is consumed the C
    /// way, at once.
    fn _CONSUME_GENEXPR(f, sp, ts) {
        let (callable, null, gen) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
        let list = callable == (&raw mut PyList_Type).cast() || callable == (&raw mut PyTuple_Type).cast();
        if !(list || callable == (&raw mut PySet_Type).cast())
            || !null.is_null()
            || !is_type(gen, &raw mut PyGen_Type)
            || field::<i8>(gen.cast(), off::GEN_GI_FRAME_STATE) as i64 >= consts::FRAME_EXECUTING
        {
            deopt!(f, sp, ts)
        }
        let acc = if list {
            _PyList_FromArraySteal(core::ptr::null(), 0)
        } else {
            PySet_New(core::ptr::null_mut())
        };
        if acc.is_null() {
            error!(f, sp, ts)
        }
        poke(sp, 2, acc);
        enter_if_inline!(resume_directly(ts, f, gen, sp, 1, operand() as *mut ResumeCache), ts);
        if jitsaw_consume_rest(acc, gen) < 0 {
            error!(f, sp, ts)
        }
        // As if it had returned: its value on top.
        *sp = none();
        next!(f, sp.add(1), ts)
    }
);

stencil!(
    /// After `_CONSUME_GENEXPR`, where the generator it consumes comes back
    /// with each value it yields and when it returns: a value joins the
    /// items (a set's hashing may raise, as in `set()`), then the generator
    /// is resumed again, coming back here; once it returned, the items
    /// become the call's result (a tuple's taken from the list) and the
    /// generator and the callable are released. No exit: the stack holds
    /// the items, which the interpreter's `CALL` would not know.
    fn _CONSUME_GENEXPR_NEXT(f, sp, ts) {
        let (acc, gen, value) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
        let sp = sp.sub(1);
        if gen_finished(gen) {
            // Its return value, which the builtins drop.
            decref(value);
        } else {
            let added = if is_list(acc) {
                list_append_take_ref(acc, value)
            } else {
                let added = PySet_Add(acc, value);
                decref(value);
                added
            };
            if added < 0 {
                error!(f, sp, ts)
            }
            let cache = operand() as *mut ResumeCache;
            enter_if_inline!(resume_directly_to(ts, f, gen, sp, 1, cache, here_address()), ts);
            if jitsaw_consume_rest(acc, gen) < 0 {
                error!(f, sp, ts)
            }
        }
        let callable = peek(sp, 3);
        let result = if callable == (&raw mut PyTuple_Type).cast() {
            let n = ob_size(acc);
            let tuple = _PyTuple_FromArraySteal(list_items(acc), n);
            // The items are the tuple's now, or released if it failed.
            (*acc.cast::<jitsaw_cpython313::layout::PyListObject>()).ob_base.ob_size = 0;
            decref(acc);
            poke(sp, 2, core::ptr::null_mut());
            if tuple.is_null() {
                error!(f, sp, ts)
            }
            tuple
        } else {
            acc
        };
        decref(gen);
        decref(callable);
        poke(sp, 3, result);
        next!(f, sp.sub(2), ts)
    }
);
