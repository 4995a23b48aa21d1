//! `GET_ITER` and `FOR_ITER` with its list, tuple and range forms. As in the
//! tier-1 interpreter, an exhausted loop pops the iterator and jumps past the
//! `END_FOR`/`POP_TOP` that close it. Builtins consuming a generator
//! expression resume it directly (`_CONSUME_GENEXPR`).

use super::gen::{resume_directly, resume_directly_to};
use crate::abi::*;
use crate::helpers::{
    jitsaw_consume_rest, jitsaw_consumers, jitsaw_get_iter, jitsaw_iter_next, jitsaw_min_max_empty,
    jitsaw_min_max_rest, jitsaw_slot_tp_iter, jitsaw_slot_tp_iternext,
};
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
        // A class's `__next__` is run directly.
        let next = if iternext as usize == (&raw const jitsaw_slot_tp_iternext) as usize {
            jitsaw_iter_next(ts, iter)
        } else {
            iternext(iter)
        };
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

/// [`builtin`]'s answers, indices into `jitsaw_consumers`.
const ANY: usize = 0;
const ALL: usize = 1;
const JOIN: usize = 2;
const MIN: usize = 3;
const MAX: usize = 4;
const SORTED: usize = 5;

/// Which of the builtin functions of `jitsaw_consumers` a callable is
/// ([`ANY`], [`ALL`], [`MIN`], [`MAX`] or [`SORTED`]: an exact builtin
/// function of that definition), else `None`.
#[inline(always)]
unsafe fn builtin(callable: *mut PyObject) -> Option<usize> {
    if !is_type(callable, &raw mut PyCFunction_Type) {
        return None;
    }
    let def = field::<usize>(callable.cast(), off::CFUNC_M_ML);
    let known = core::ptr::read_volatile(&raw const jitsaw_consumers);
    // One not found is 0, which no function's definition is.
    if def == known[ANY] {
        Some(ANY)
    } else if def == known[ALL] {
        Some(ALL)
    } else if def == known[MIN] {
        Some(MIN)
    } else if def == known[MAX] {
        Some(MAX)
    } else if def == known[SORTED] {
        Some(SORTED)
    } else {
        None
    }
}

/// Whether `callable` and `sep` are `str.join` and an exact `str`.
#[inline(always)]
unsafe fn is_str_join(callable: *mut PyObject, sep: *mut PyObject) -> bool {
    let join = core::ptr::read_volatile(&raw const jitsaw_consumers)[JOIN];
    is_type(callable, &raw mut PyMethodDescr_Type)
        && join != 0
        && field::<usize>(callable.cast(), off::METHODDESCR_D_METHOD) == join
        && is_str(sep)
}

/// Whether a class is one `_CONSUME_GENEXPR` collects the values for.
#[inline(always)]
unsafe fn collects(callable: *mut PyObject) -> bool {
    callable == (&raw mut PyList_Type).cast()
        || callable == (&raw mut PyTuple_Type).cast()
        || callable == (&raw mut PySet_Type).cast()
}

/// `min()`'s or `max()`'s comparison.
#[inline(always)]
fn min_max_op(which: usize) -> i32 {
    (if which == MIN {
        consts::PY_LT
    } else {
        consts::PY_GT
    }) as i32
}

stencil!(
    /// A builtin consuming the generator expression the instruction before
    /// made (the `CALL` of one argument right after its `CALL 0`):
    /// `list(...)`, `tuple(...)`, `set(...)`, `sorted(...)`, `any(...)`,
    /// `all(...)`, `min(...)`, `max(...)`, or `sep.join(...)` of an exact
    /// `str`. The generator is resumed directly, as `_FOR_ITER` resumes
    /// one, coming back to `_CONSUME_GENEXPR_NEXT` with each value, which
    /// takes it as the builtin's C loop would and resumes the generator
    /// again. The values are kept in a list (a set for `set`): in the
    /// call's `NULL` slot, or for `join` in place of the method (released:
    /// `str`'s dict holds it), the separator staying in the self slot; for
    /// `min` and `max` that slot holds the value kept so far. The slot above
    /// the generator, where it hands its values, held the generator
    /// function's iterator a moment before, so the frame has room for it.
    /// Any other callable, a bound call, or an argument that is not a
    /// generator ready to run exits to the instruction's fallback (the call
    /// as it is), before anything changed. A generator that cannot be
    /// resumed directly (no compiled code yet) is consumed the C way at once
    /// (`any` and `all` are called on it).
    fn _CONSUME_GENEXPR(f, sp, ts) {
        let (callable, slot, gen) = (peek(sp, 3), peek(sp, 2), peek(sp, 1));
        let join = !slot.is_null() && is_str_join(callable, slot);
        let which = if slot.is_null() { builtin(callable) } else { None };
        if !(join || which.is_some() || (slot.is_null() && collects(callable)))
            || !is_type(gen, &raw mut PyGen_Type)
            || field::<i8>(gen.cast(), off::GEN_GI_FRAME_STATE) as i64 >= consts::FRAME_EXECUTING
        {
            deopt!(f, sp, ts)
        }
        let mut acc = core::ptr::null_mut();
        if matches!(which, None | Some(SORTED)) {
            acc = if callable == (&raw mut PySet_Type).cast() {
                PySet_New(core::ptr::null_mut())
            } else {
                _PyList_FromArraySteal(core::ptr::null(), 0)
            };
            if acc.is_null() {
                error!(f, sp, ts)
            }
            if join {
                poke(sp, 3, acc);
                decref(callable);
            } else {
                poke(sp, 2, acc);
            }
        }
        enter_if_inline!(resume_directly(ts, f, gen, sp, 1, operand() as *mut ResumeCache), ts);
        match which {
            Some(ANY | ALL) => {
                // Of the whole: its result takes the `NULL` slot, which
                // tells `_CONSUME_GENEXPR_NEXT` it is decided.
                let result = PyObject_CallOneArg(callable, gen);
                if result.is_null() {
                    error!(f, sp, ts)
                }
                poke(sp, 2, result);
            }
            Some(k @ (MIN | MAX)) => {
                if jitsaw_min_max_rest(sp.sub(2), gen, min_max_op(k)) < 0 {
                    error!(f, sp, ts)
                }
            }
            _ => {
                if jitsaw_consume_rest(acc, gen) < 0 {
                    error!(f, sp, ts)
                }
            }
        }
        // As if the generator had returned: its value on top.
        *sp = none();
        next!(f, sp.add(1), ts)
    }
);

stencil!(
    /// After `_CONSUME_GENEXPR`, where the generator it consumes comes back
    /// with each value it yields and when it returns. A value joins the
    /// items (a set's hashing may raise, as in `set()`); for `any` and `all`
    /// is tested for truth, which may decide the result at once (the
    /// generator is left unfinished, as those builtins leave it); for `min`
    /// and `max` is compared with the value kept so far. Then the generator
    /// is resumed again, coming back here (its own address:
    /// `here_address`). When it returns, the result is made: the list, a
    /// tuple of its items (moved), the set, the list sorted, the joined
    /// string, or the value kept (`ValueError` for none). No exit: the stack
    /// holds the items, which the interpreter's `CALL` would not know;
    /// errors unwind it.
    fn _CONSUME_GENEXPR_NEXT(f, sp, ts) {
        let (first, second, gen, value) = (peek(sp, 4), peek(sp, 3), peek(sp, 2), peek(sp, 1));
        let sp = sp.sub(1);
        let cache = operand() as *mut ResumeCache;
        let which = builtin(first);
        let result = if is_list(first) || collects(first) || which == Some(SORTED) {
            // The items are in `first` for `sep.join(...)` (the separator
            // in `second`), else in `second`.
            let items = if is_list(first) { first } else { second };
            if !gen_finished(gen) {
                let added = if is_list(items) {
                    list_append_take_ref(items, value)
                } else {
                    let added = PySet_Add(items, value);
                    decref(value);
                    added
                };
                if added < 0 {
                    error!(f, sp, ts)
                }
                enter_if_inline!(resume_directly_to(ts, f, gen, sp, 1, cache, here_address()), ts);
                if jitsaw_consume_rest(items, gen) < 0 {
                    error!(f, sp, ts)
                }
            } else {
                // Its return value, which the builtins drop.
                decref(value);
            }
            if is_list(first) {
                let joined = PyUnicode_Join(second, first);
                if joined.is_null() {
                    error!(f, sp, ts)
                }
                decref(second);
                poke(sp, 2, core::ptr::null_mut());
                joined
            } else if first == (&raw mut PyTuple_Type).cast() {
                let n = ob_size(second);
                let tuple = _PyTuple_FromArraySteal(list_items(second), n);
                // The items are the tuple's now, or released if it failed.
                (*second.cast::<jitsaw_cpython313::layout::PyListObject>()).ob_base.ob_size = 0;
                decref(second);
                poke(sp, 2, core::ptr::null_mut());
                if tuple.is_null() {
                    error!(f, sp, ts)
                }
                tuple
            } else {
                if which == Some(SORTED) && PyList_Sort(second) < 0 {
                    error!(f, sp, ts)
                }
                poke(sp, 2, core::ptr::null_mut());
                second
            }
        } else if let Some(k @ (MIN | MAX)) = which {
            let op = min_max_op(k);
            let best = sp.sub(2);
            if !gen_finished(gen) {
                if second.is_null() {
                    *best = value;
                } else {
                    let cmp = PyObject_RichCompareBool(value, second, op);
                    if cmp > 0 {
                        decref(second);
                        *best = value;
                    } else {
                        decref(value);
                        if cmp < 0 {
                            error!(f, sp, ts)
                        }
                    }
                }
                enter_if_inline!(resume_directly_to(ts, f, gen, sp, 1, cache, here_address()), ts);
                if jitsaw_min_max_rest(best, gen, op) < 0 {
                    error!(f, sp, ts)
                }
            } else {
                decref(value);
            }
            if (*best).is_null() {
                jitsaw_min_max_empty(op);
                error!(f, sp, ts)
            }
            let kept = *best;
            *best = core::ptr::null_mut();
            kept
        } else if !second.is_null() {
            // `any`/`all` decided the C way by `_CONSUME_GENEXPR`.
            decref(value);
            poke(sp, 2, core::ptr::null_mut());
            second
        } else {
            // `any` or `all`: a value that is true for `any` or false for
            // `all` decides.
            let all = which == Some(ALL);
            if gen_finished(gen) {
                decref(value);
                new_ref(if all { py_true() } else { py_false() })
            } else {
                let truth = PyObject_IsTrue(value);
                decref(value);
                if truth < 0 {
                    error!(f, sp, ts)
                }
                if (truth != 0) != all {
                    new_ref(if all { py_false() } else { py_true() })
                } else {
                    enter_if_inline!(resume_directly_to(ts, f, gen, sp, 1, cache, here_address()), ts);
                    let rest = PyObject_CallOneArg(first, gen);
                    if rest.is_null() {
                        error!(f, sp, ts)
                    }
                    rest
                }
            }
        };
        decref(gen);
        decref(first);
        poke(sp, 3, result);
        next!(f, sp.sub(2), ts)
    }
);
