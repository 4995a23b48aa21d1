//! `GET_ITER` and `FOR_ITER` with its list, tuple and range forms. As in the
//! tier-1 interpreter, an exhausted loop pops the iterator and jumps past the
//! `END_FOR`/`POP_TOP` that close it.

use super::gen::resume_directly;
use crate::abi::*;
use crate::helpers::{jitsaw_get_iter, jitsaw_slot_tp_iter};
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::layout::{ListIter, RangeIter, TupleIter};
use jitsaw_cpython313::off;
use jitsaw_cpython313::shared::ResumeCache;

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
