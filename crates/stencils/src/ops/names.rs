//! Module and class bodies (names looked up in `f_locals`), imports.

use crate::abi::*;
use crate::helpers::*;

stencil!(fn _LOAD_NAME(f, sp, ts) {
    let v = jitsaw_load_name(ts, f, oparg());
    if v.is_null() {
        error!(f, sp, ts)
    }
    *sp = v;
    next!(f, sp.add(1), ts)
});

stencil!(fn _LOAD_FROM_DICT_OR_GLOBALS(f, sp, ts) {
    let dict = peek(sp, 1);
    let v = jitsaw_load_from_dict_or_globals(ts, f, oparg(), dict);
    if v.is_null() {
        error!(f, sp, ts)
    }
    decref(dict);
    poke(sp, 1, v);
    next!(f, sp, ts)
});

stencil!(fn _STORE_NAME(f, sp, ts) {
    if jitsaw_store_name(ts, f, oparg(), peek(sp, 1)) != 0 {
        error!(f, sp.sub(1), ts)
    }
    next!(f, sp.sub(1), ts)
});

stencil!(fn _DELETE_NAME(f, sp, ts) {
    if jitsaw_delete_name(ts, f, oparg()) != 0 {
        error!(f, sp, ts)
    }
    next!(f, sp, ts)
});

stencil!(fn _LOAD_LOCALS(f, sp, ts) {
    let locals = (*f).f_locals;
    if locals.is_null() {
        jitsaw_system_error(ts, 2);
        error!(f, sp, ts)
    }
    *sp = new_ref(locals);
    next!(f, sp.add(1), ts)
});

stencil!(fn _LOAD_BUILD_CLASS(f, sp, ts) {
    let bc = jitsaw_load_build_class(ts, f);
    if bc.is_null() {
        error!(f, sp, ts)
    }
    *sp = bc;
    next!(f, sp.add(1), ts)
});

stencil!(fn _SETUP_ANNOTATIONS(f, sp, ts) {
    if jitsaw_setup_annotations(ts, f) != 0 {
        error!(f, sp, ts)
    }
    next!(f, sp, ts)
});

stencil!(
    /// `IMPORT_NAME` (tier 1 only in CPython).
    fn _IMPORT_NAME(f, sp, ts) {
        let (level, fromlist) = (peek(sp, 2), peek(sp, 1));
        let res = jitsaw_import_name(ts, f, oparg(), fromlist, level);
        decref(level);
        decref(fromlist);
        if res.is_null() {
            error!(f, sp.sub(2), ts)
        }
        poke(sp, 2, res);
        next!(f, sp.sub(1), ts)
    }
);

stencil!(
    /// `IMPORT_FROM` (tier 1 only in CPython) from a plain module; anything
    /// else is done by the interpreter, before any code has run.
    fn _IMPORT_FROM(f, sp, ts) {
        let mut v = core::ptr::null_mut();
        if jitsaw_import_from(ts, peek(sp, 1), frame_name(f, oparg()), &mut v) != 0 {
            deopt!(f, sp, ts)
        }
        *sp = v;
        next!(f, sp.add(1), ts)
    }
);
