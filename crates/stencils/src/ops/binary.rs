//! Operators: unary ones, `BINARY_OP`, `COMPARE_OP` and `CONTAINS_OP` with
//! their specializations.

use crate::abi::*;
use crate::helpers::{
    jitsaw_binary_op, jitsaw_contains, jitsaw_negative, jitsaw_pow, jitsaw_rich_compare,
    jitsaw_slot_sq_contains,
};
use jitsaw_cpython313::consts;
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::layout::PyFloatObject;

stencil!(fn _GUARD_BOTH_INT(f, sp, ts) {
    if !is_int(peek(sp, 2)) || !is_int(peek(sp, 1)) {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

stencil!(
    /// `_GUARD_BOTH_INT` of inputs pushed without new references.
    fn _GUARD_BOTH_INT_BORROWED(f, sp, ts) {
        if !is_int(peek(sp, 2)) || !is_int(peek(sp, 1)) {
            deopt_borrowed!(f, sp, ts; true => peek(sp, 2), true => peek(sp, 1))
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// `_GUARD_BOTH_FLOAT` of inputs pushed without new references.
    fn _GUARD_BOTH_FLOAT_BORROWED(f, sp, ts) {
        if !is_float(peek(sp, 2)) || !is_float(peek(sp, 1)) {
            deopt_borrowed!(f, sp, ts; true => peek(sp, 2), true => peek(sp, 1))
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// `_GUARD_BOTH_INT` of a right input pushed without a new reference.
    fn _GUARD_BOTH_INT_BORROWED_RIGHT(f, sp, ts) {
        if !is_int(peek(sp, 2)) || !is_int(peek(sp, 1)) {
            deopt_borrowed!(f, sp, ts; true => peek(sp, 1))
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// `_GUARD_BOTH_FLOAT` of a right input pushed without a new reference.
    fn _GUARD_BOTH_FLOAT_BORROWED_RIGHT(f, sp, ts) {
        if !is_float(peek(sp, 2)) || !is_float(peek(sp, 1)) {
            deopt_borrowed!(f, sp, ts; true => peek(sp, 1))
        }
        next!(f, sp, ts)
    }
);

stencil!(fn _GUARD_NOS_INT(f, sp, ts) {
    if !is_int(peek(sp, 2)) {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

stencil!(fn _GUARD_TOS_INT(f, sp, ts) {
    if !is_int(peek(sp, 1)) {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

stencil!(fn _GUARD_BOTH_FLOAT(f, sp, ts) {
    if !is_float(peek(sp, 2)) || !is_float(peek(sp, 1)) {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

stencil!(fn _GUARD_NOS_FLOAT(f, sp, ts) {
    if !is_float(peek(sp, 2)) {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

stencil!(fn _GUARD_TOS_FLOAT(f, sp, ts) {
    if !is_float(peek(sp, 1)) {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

stencil!(fn _GUARD_BOTH_UNICODE(f, sp, ts) {
    if !is_str(peek(sp, 2)) || !is_str(peek(sp, 1)) {
        deopt!(f, sp, ts)
    }
    next!(f, sp, ts)
});

/// A unary operator with an int fast path (an exact int of at most two
/// digits); anything else through `$generic`.
macro_rules! unary_int {
    ($f:ident, $sp:ident, $ts:ident, $op:expr, $generic:expr) => {{
        let v = peek($sp, 1);
        if is_int(v) {
            if let Some(x) = int_value(v) {
                let res = int_new($op(x));
                if res.is_null() {
                    error!($f, $sp, $ts)
                }
                int_decref(v);
                poke($sp, 1, res);
                next!($f, $sp, $ts)
            }
        }
        let res = $generic(v);
        decref(v);
        if res.is_null() {
            error!($f, $sp.sub(1), $ts)
        }
        poke($sp, 1, res);
        next!($f, $sp, $ts)
    }};
}

stencil!(
    /// `-x`, with fast paths for an exact float (negated in place when
    /// this is its last reference, as CPython's float arithmetic reuses
    /// dying inputs) and a small exact int.
    fn _UNARY_NEGATIVE(f, sp, ts) {
        // The sign bit is flipped as an integer: a float negation would
        // read its mask from constant data, which a stencil cannot hold.
        let flip = |o: *mut PyObject| {
            *(&raw mut (*o.cast::<PyFloatObject>()).ob_fval).cast::<u64>() ^= 1 << 63
        };
        let v = peek(sp, 1);
        if is_float(v) {
            if refcnt(v) == 1 {
                flip(v);
                next!(f, sp, ts)
            }
            let res = float_new(ts, float_value(v));
            if res.is_null() {
                error!(f, sp, ts)
            }
            flip(res);
            decref_no_dealloc(v);
            poke(sp, 1, res);
            next!(f, sp, ts)
        }
        // A class's `__neg__` is run directly.
        let negative = |v: *mut PyObject| {
            if is_class(ob_type(v)) {
                jitsaw_negative(ts, v)
            } else {
                PyNumber_Negative(v)
            }
        };
        unary_int!(f, sp, ts, |x: i64| -x, negative)
    }
);

stencil!(
    /// `~x`, with a fast path for a small exact int.
    fn _UNARY_INVERT(f, sp, ts) {
        unary_int!(f, sp, ts, |x: i64| !x, PyNumber_Invert)
    }
);

stencil!(fn _UNARY_NOT(f, sp, ts) {
    poke(sp, 1, py_bool(peek(sp, 1) == py_false()));
    next!(f, sp, ts)
});

/// `BINARY_OP` (oparg) the generic way, operands replaced by the result:
/// `jitsaw_binary_op`, which runs the operator method of a Python class
/// directly, else calls CPython's entry point for the operator.
macro_rules! generic_binary_op {
    ($f:ident, $sp:ident, $ts:ident) => {
        binary_call!($f, $sp, $ts, |l, r| jitsaw_binary_op($ts, l, r, oparg()))
    };
}

stencil!(fn _BINARY_OP(f, sp, ts) {
    generic_binary_op!(f, sp, ts)
});

/// Int arithmetic computed in a machine word when both inputs have at most
/// two digits (the result then has at most three; see `int_result` for
/// where it goes), else by CPython. Two compact inputs, the common case,
/// take one check (`compact_pair`).
macro_rules! int_op {
    ($f:ident, $sp:ident, $ts:ident, $fits:expr, $op:expr, $slow:expr) => {
        int_op!($f, $sp, $ts, $fits, $op, $slow, owned: true, true)
    };
    // Which inputs are owned (released here); the others are borrowed
    // (`optimize::borrow`: pushed without new references).
    ($f:ident, $sp:ident, $ts:ident, $fits:expr, $op:expr, $slow:expr,
     owned: $left:literal, $right:literal) => {{
        let (left, right) = (peek($sp, 2), peek($sp, 1));
        push_result!($f, $sp, $ts, int_op_result!(left, right, $fits, $op, $slow, owned: $left, $right))
    }};
}

/// The result of an int operation on `left` and `right` (in a word when
/// both fit one and `$fits` says the result does, else by `$slow`), the
/// owned inputs released; NULL with an error set on failure.
macro_rules! int_op_result {
    ($left:ident, $right:ident, $fits:expr, $op:expr, $slow:expr, owned: $l:literal, $r:literal) => {
        match compact_pair($left, $right).or_else(|| int_value($left).zip(int_value($right))) {
            Some((a, b)) if $fits(a, b) => int_result($left, $right, ($l, $r), $op(a, b)),
            _ => {
                let res = $slow($left, $right);
                if $l {
                    int_decref($left);
                }
                if $r {
                    int_decref($right);
                }
                res
            }
        }
    };
}

/// Whether both ints have one digit, so that their product fits a word.
#[inline(always)]
fn one_digit_each(a: i64, b: i64) -> bool {
    a.unsigned_abs() < 1 << 30 && b.unsigned_abs() < 1 << 30
}

/// A binary operation's end once its inputs are released (or were
/// borrowed): the result replaces them, or the error leaves without them.
macro_rules! push_result {
    ($f:ident, $sp:ident, $ts:ident, $res:expr) => {{
        let res = $res;
        if res.is_null() {
            error!($f, $sp.sub(2), $ts)
        }
        poke($sp, 2, res);
        next!($f, $sp.sub(1), $ts)
    }};
}

stencil!(fn _BINARY_OP_ADD_INT(f, sp, ts) {
    int_op!(f, sp, ts, |_, _| true, |a: i64, b: i64| a + b, _PyLong_Add)
});

stencil!(fn _BINARY_OP_SUBTRACT_INT(f, sp, ts) {
    int_op!(f, sp, ts, |_, _| true, |a: i64, b: i64| a - b, _PyLong_Subtract)
});

stencil!(fn _BINARY_OP_MULTIPLY_INT(f, sp, ts) {
    int_op!(f, sp, ts, one_digit_each, |a: i64, b: i64| a * b, _PyLong_Multiply)
});

stencil!(fn _BINARY_OP_ADD_UNICODE(f, sp, ts) {
    binary_call!(f, sp, ts, PyUnicode_Concat)
});

stencil!(
    /// `_BINARY_OP_ADD_INT` on borrowed inputs.
    fn _BINARY_OP_ADD_INT_BORROWED(f, sp, ts) {
        int_op!(f, sp, ts, |_, _| true, |a: i64, b: i64| a + b, _PyLong_Add, owned: false, false)
    }
);

stencil!(
    /// `_BINARY_OP_SUBTRACT_INT` on borrowed inputs.
    fn _BINARY_OP_SUBTRACT_INT_BORROWED(f, sp, ts) {
        int_op!(f, sp, ts, |_, _| true, |a: i64, b: i64| a - b, _PyLong_Subtract, owned: false, false)
    }
);

stencil!(
    /// `_BINARY_OP_MULTIPLY_INT` on borrowed inputs.
    fn _BINARY_OP_MULTIPLY_INT_BORROWED(f, sp, ts) {
        int_op!(f, sp, ts, one_digit_each, |a: i64, b: i64| a * b, _PyLong_Multiply, owned: false, false)
    }
);

/// A float operation on borrowed inputs: always a new result (neither
/// input dies here).
macro_rules! float_op_borrowed {
    ($f:ident, $sp:ident, $ts:ident, $op:tt) => {{
        let (left, right) = (peek($sp, 2), peek($sp, 1));
        push_result!($f, $sp, $ts, float_new($ts, float_value(left) $op float_value(right)))
    }};
}

stencil!(
    /// `_BINARY_OP_ADD_FLOAT` on borrowed inputs.
    fn _BINARY_OP_ADD_FLOAT_BORROWED(f, sp, ts) {
        float_op_borrowed!(f, sp, ts, +)
    }
);

stencil!(
    /// `_BINARY_OP_SUBTRACT_FLOAT` on borrowed inputs.
    fn _BINARY_OP_SUBTRACT_FLOAT_BORROWED(f, sp, ts) {
        float_op_borrowed!(f, sp, ts, -)
    }
);

stencil!(
    /// `_BINARY_OP_MULTIPLY_FLOAT` on borrowed inputs.
    fn _BINARY_OP_MULTIPLY_FLOAT_BORROWED(f, sp, ts) {
        float_op_borrowed!(f, sp, ts, *)
    }
);

stencil!(
    /// `_BINARY_OP_ADD_INT` on a borrowed right input.
    fn _BINARY_OP_ADD_INT_BORROWED_RIGHT(f, sp, ts) {
        int_op!(f, sp, ts, |_, _| true, |a: i64, b: i64| a + b, _PyLong_Add, owned: true, false)
    }
);

stencil!(
    /// `_BINARY_OP_SUBTRACT_INT` on a borrowed right input.
    fn _BINARY_OP_SUBTRACT_INT_BORROWED_RIGHT(f, sp, ts) {
        int_op!(f, sp, ts, |_, _| true, |a: i64, b: i64| a - b, _PyLong_Subtract, owned: true, false)
    }
);

stencil!(
    /// `_BINARY_OP_MULTIPLY_INT` on a borrowed right input.
    fn _BINARY_OP_MULTIPLY_INT_BORROWED_RIGHT(f, sp, ts) {
        int_op!(f, sp, ts, one_digit_each, |a: i64, b: i64| a * b, _PyLong_Multiply, owned: true, false)
    }
);

/// A float operation on an owned left input (reused when it dies here)
/// and a borrowed right one; an error leaves only the left one on the
/// stack.
macro_rules! float_op_borrowed_right {
    ($f:ident, $sp:ident, $ts:ident, $op:tt) => {{
        let (left, right) = (peek($sp, 2), peek($sp, 1));
        let res = float_result($ts, left, float_value(left) $op float_value(right));
        if res.is_null() {
            error!($f, $sp.sub(1), $ts)
        }
        poke($sp, 2, res);
        next!($f, $sp.sub(1), $ts)
    }};
}

stencil!(
    /// `_BINARY_OP_ADD_FLOAT` on a borrowed right input.
    fn _BINARY_OP_ADD_FLOAT_BORROWED_RIGHT(f, sp, ts) {
        float_op_borrowed_right!(f, sp, ts, +)
    }
);

stencil!(
    /// `_BINARY_OP_SUBTRACT_FLOAT` on a borrowed right input.
    fn _BINARY_OP_SUBTRACT_FLOAT_BORROWED_RIGHT(f, sp, ts) {
        float_op_borrowed_right!(f, sp, ts, -)
    }
);

stencil!(
    /// `_BINARY_OP_MULTIPLY_FLOAT` on a borrowed right input.
    fn _BINARY_OP_MULTIPLY_FLOAT_BORROWED_RIGHT(f, sp, ts) {
        float_op_borrowed_right!(f, sp, ts, *)
    }
);

/// `x op y` of two locals, read where they are: two `_LOAD_FAST_BORROW`s,
/// the guard (`$is` of both) and the borrowed operation in one
/// (`optimize::fuse`), locals `oparg` and `$right`. `$res` (of `$l` and
/// `$r`, the two values) is the result, or NULL with an error set. If a
/// value fails the guard, both are pushed with references, as the loads
/// push them, and the instruction's fallback or the interpreter takes over.
macro_rules! op_locals {
    ($f:ident, $sp:ident, $ts:ident, $is:ident, $right:expr, |$l:ident, $r:ident| $res:expr) => {{
        let $l = *frame_local($f, oparg());
        let $r = *frame_local($f, $right as usize);
        if $is($l) && $is($r) {
            let res = $res;
            if res.is_null() {
                error!($f, $sp, $ts)
            }
            *$sp = res;
            next!($f, $sp.add(1), $ts)
        }
        core::hint::cold_path();
        incref($l);
        incref($r);
        *$sp = $l;
        *$sp.add(1) = $r;
        deopt!($f, $sp.add(2), $ts)
    }};
}

/// `x op y` of two float locals (see `op_locals`).
macro_rules! float_op_locals {
    ($f:ident, $sp:ident, $ts:ident, $op:tt) => {
        op_locals!($f, $sp, $ts, is_float, operand32(), |left, right| {
            float_new($ts, float_value(left) $op float_value(right))
        })
    };
}

stencil!(
    /// `+` of two float locals (see `op_locals`).
    fn _BINARY_OP_ADD_FLOAT_LOCALS(f, sp, ts) {
        float_op_locals!(f, sp, ts, +)
    }
);

stencil!(
    /// `-` of two float locals.
    fn _BINARY_OP_SUBTRACT_FLOAT_LOCALS(f, sp, ts) {
        float_op_locals!(f, sp, ts, -)
    }
);

stencil!(
    /// `*` of two float locals.
    fn _BINARY_OP_MULTIPLY_FLOAT_LOCALS(f, sp, ts) {
        float_op_locals!(f, sp, ts, *)
    }
);

/// `d = x op y` of two float locals into a third (`optimize::fuse`): locals
/// `oparg`, operand bits 0-15 and 16-31. When `d` holds a float nothing
/// else references (`float_reusable`), the result is written into it and
/// the code goes on after the store; otherwise the result is pushed as
/// `float_op_locals` pushes it and the store that follows takes it. Inputs
/// that are not both floats are pushed as the loads push them, for the
/// instruction's fallback or the interpreter.
macro_rules! float_op_into_local {
    ($f:ident, $sp:ident, $ts:ident, $op:tt) => {
        op_locals!($f, $sp, $ts, is_float, operand32() & 0xffff, |left, right| {
            let v = float_value(left) $op float_value(right);
            let old = *frame_local($f, (operand32() >> 16) as usize);
            if !float_reusable(old) {
                // Once per local in a loop, when it first gets a float.
                core::hint::cold_path();
                float_new($ts, v)
            } else {
                (*old.cast::<PyFloatObject>()).ob_fval = v;
                jump!($f, $sp, $ts)
            }
        })
    };
}

stencil!(
    /// `d = x + y` of float locals (see `float_op_into_local`).
    fn _BINARY_OP_ADD_FLOAT_INTO_LOCAL(f, sp, ts) {
        float_op_into_local!(f, sp, ts, +)
    }
);

stencil!(
    /// `d = x - y` of float locals.
    fn _BINARY_OP_SUBTRACT_FLOAT_INTO_LOCAL(f, sp, ts) {
        float_op_into_local!(f, sp, ts, -)
    }
);

stencil!(
    /// `d = x * y` of float locals.
    fn _BINARY_OP_MULTIPLY_FLOAT_INTO_LOCAL(f, sp, ts) {
        float_op_into_local!(f, sp, ts, *)
    }
);

/// `x op y` of two int locals (see `op_locals`), computed as for borrowed
/// inputs.
macro_rules! int_op_locals {
    ($f:ident, $sp:ident, $ts:ident, $fits:expr, $op:expr, $slow:expr) => {
        op_locals!($f, $sp, $ts, is_int, operand32(), |left, right| {
            int_op_result!(left, right, $fits, $op, $slow, owned: false, false)
        })
    };
}

stencil!(
    /// `+` of two int locals (see `op_locals`).
    fn _BINARY_OP_ADD_INT_LOCALS(f, sp, ts) {
        int_op_locals!(f, sp, ts, |_, _| true, |a: i64, b: i64| a + b, _PyLong_Add)
    }
);

stencil!(
    /// `-` of two int locals.
    fn _BINARY_OP_SUBTRACT_INT_LOCALS(f, sp, ts) {
        int_op_locals!(f, sp, ts, |_, _| true, |a: i64, b: i64| a - b, _PyLong_Subtract)
    }
);

stencil!(
    /// `*` of two int locals.
    fn _BINARY_OP_MULTIPLY_INT_LOCALS(f, sp, ts) {
        int_op_locals!(f, sp, ts, one_digit_each, |a: i64, b: i64| a * b, _PyLong_Multiply)
    }
);

/// `DECREF_INPUTS_AND_REUSE_FLOAT`: store the result in an input that is
/// about to die instead of allocating.
macro_rules! float_op {
    ($f:ident, $sp:ident, $ts:ident, $op:tt) => {{
        let (left, right) = (peek($sp, 2), peek($sp, 1));
        let dres = float_value(left) $op float_value(right);
        let res;
        if refcnt(left) == 1 {
            (*left.cast::<PyFloatObject>()).ob_fval = dres;
            float_decref($ts, right);
            res = left;
        } else if refcnt(right) == 1 {
            (*right.cast::<PyFloatObject>()).ob_fval = dres;
            decref_no_dealloc(left);
            res = right;
        } else {
            res = float_new($ts, dres);
            if res.is_null() {
                // Both inputs are still on the stack and owned by it.
                error!($f, $sp, $ts)
            }
            decref_no_dealloc(left);
            decref_no_dealloc(right);
        }
        poke($sp, 2, res);
        next!($f, $sp.sub(1), $ts)
    }};
}

stencil!(fn _BINARY_OP_ADD_FLOAT(f, sp, ts) {
    float_op!(f, sp, ts, +)
});

stencil!(fn _BINARY_OP_SUBTRACT_FLOAT(f, sp, ts) {
    float_op!(f, sp, ts, -)
});

stencil!(fn _BINARY_OP_MULTIPLY_FLOAT(f, sp, ts) {
    float_op!(f, sp, ts, *)
});

/// Two int inputs replaced by `$res`, a new object; on failure (NULL) the
/// error leaves them on the stack, still owned.
macro_rules! replace_ints {
    ($f:ident, $sp:ident, $ts:ident, $res:expr) => {{
        let res = $res;
        if res.is_null() {
            error!($f, $sp, $ts)
        }
        int_decref(peek($sp, 2));
        int_decref(peek($sp, 1));
        poke($sp, 2, res);
        next!($f, $sp.sub(1), $ts)
    }};
}

/// `d` as a float: in `float` if this is its last reference (CPython's
/// float arithmetic reuses dying inputs), else in a new one, `float` then
/// losing this reference (without dying). NULL on failure, `float` kept.
#[inline(always)]
unsafe fn float_result(ts: Ts, float: *mut PyObject, d: f64) -> *mut PyObject {
    if refcnt(float) == 1 {
        (*float.cast::<PyFloatObject>()).ob_fval = d;
        return float;
    }
    let res = float_new(ts, d);
    if !res.is_null() {
        decref_no_dealloc(float);
    }
    res
}

/// An exact int a double holds exactly (at most 53 bits), as a double.
#[inline(always)]
unsafe fn small_int_as_double(o: *mut PyObject) -> Option<f64> {
    match int_value(o) {
        Some(v) if v.unsigned_abs() < 1 << 53 => Some(v as f64),
        _ => None,
    }
}

/// An exact float with an exact int a double holds exactly, in either
/// order, computed as CPython's float methods do after converting the int
/// (`$ok` sees both doubles); the float is reused when it dies here. Falls
/// through when the inputs are anything else.
macro_rules! mixed_op {
    ($f:ident, $sp:ident, $ts:ident, $op:tt, $ok:expr) => {{
        let (left, right) = (peek($sp, 2), peek($sp, 1));
        let float_left = is_float(left);
        let (float, int) = if float_left { (left, right) } else { (right, left) };
        if is_float(float) && is_int(int) {
            if let Some(i) = small_int_as_double(int) {
                let (a, b) = if float_left {
                    (float_value(left), i)
                } else {
                    (i, float_value(right))
                };
                if $ok(a, b) {
                    let res = float_result($ts, float, a $op b);
                    if res.is_null() {
                        error!($f, $sp, $ts)
                    }
                    int_decref(int);
                    poke($sp, 2, res);
                    next!($f, $sp.sub(1), $ts)
                }
            }
        }
    }};
}

/// An unspecialized `BINARY_OP` whose operator has int and float fast
/// paths: exact floats, exact ints, then a float with a small int, inline;
/// anything else through
/// CPython's generic entry point. Compiled code cannot make the interpreter
/// specialize, so code compiled before it did (a loop's first call) stays
/// fast this way.
macro_rules! adaptive_arith {
    ($f:ident, $sp:ident, $ts:ident, $op:tt, $int_fits:expr, $int_slow:expr) => {
        adaptive_arith!($f, $sp, $ts, $op, $int_fits, $int_slow, generic_binary_op!($f, $sp, $ts))
    };
    ($f:ident, $sp:ident, $ts:ident, $op:tt, $int_fits:expr, $int_slow:expr, $otherwise:expr) => {{
        let (left, right) = (peek($sp, 2), peek($sp, 1));
        if is_float(left) && is_float(right) {
            float_op!($f, $sp, $ts, $op)
        }
        if is_int(left) && is_int(right) {
            int_op!($f, $sp, $ts, $int_fits, |a: i64, b: i64| a $op b, $int_slow)
        }
        mixed_op!($f, $sp, $ts, $op, |_, _| true);
        $otherwise
    }};
}

stencil!(
    /// `BINARY_OP` `+`/`+=` with int and float fast paths (see
    /// `adaptive_arith`).
    fn _BINARY_OP_ADAPTIVE_ADD(f, sp, ts) {
        adaptive_arith!(f, sp, ts, +, |_, _| true, _PyLong_Add)
    }
);

stencil!(
    /// `BINARY_OP` `-`/`-=` with int and float fast paths.
    fn _BINARY_OP_ADAPTIVE_SUBTRACT(f, sp, ts) {
        adaptive_arith!(f, sp, ts, -, |_, _| true, _PyLong_Subtract)
    }
);

stencil!(
    /// `BINARY_OP` `*`/`*=` with int and float fast paths.
    fn _BINARY_OP_ADAPTIVE_MULTIPLY(f, sp, ts) {
        adaptive_arith!(f, sp, ts, *, one_digit_each, _PyLong_Multiply)
    }
);

/// `/`'s fast paths (see `_BINARY_OP_ADAPTIVE_TRUE_DIVIDE`), then
/// `$otherwise`.
macro_rules! true_divide {
    ($f:ident, $sp:ident, $ts:ident, $otherwise:expr) => {{
        let (left, right) = (peek($sp, 2), peek($sp, 1));
        if is_float(left) && is_float(right) && float_value(right) != 0.0 {
            float_op!($f, $sp, $ts, /)
        }
        if is_int(left) && is_int(right) {
            if let (Some(a), Some(b)) = (small_int_as_double(left), small_int_as_double(right)) {
                if b != 0.0 {
                    replace_ints!($f, $sp, $ts, float_new($ts, a / b))
                }
            }
        }
        mixed_op!($f, $sp, $ts, /, |_, b: f64| b != 0.0);
        $otherwise
    }};
}

stencil!(
    /// `BINARY_OP` `/`/`/=` with fast paths for floats, a float with a
    /// small int, and two ints a double holds exactly (which CPython's
    /// `long_true_divide` also divides as doubles); a zero divisor takes
    /// the generic path, which raises.
    fn _BINARY_OP_ADAPTIVE_TRUE_DIVIDE(f, sp, ts) {
        true_divide!(f, sp, ts, generic_binary_op!(f, sp, ts))
    }
);

/// An unspecialized `BINARY_OP` that CPython 3.13 never specializes (bit
/// operations, `//`, `%`): two exact ints of at most two digits are
/// computed in a machine word when `$fits`, anything else goes through
/// CPython's generic entry point for the operator (binary or in-place).
macro_rules! adaptive_int {
    ($f:ident, $sp:ident, $ts:ident, $fits:expr, $op:expr) => {
        adaptive_int!($f, $sp, $ts, $fits, $op, generic_binary_op!($f, $sp, $ts))
    };
    ($f:ident, $sp:ident, $ts:ident, $fits:expr, $op:expr, $otherwise:expr) => {{
        let (left, right) = (peek($sp, 2), peek($sp, 1));
        let generic = _PyEval_BinaryOps.as_ptr().add(oparg()).read();
        if is_int(left) && is_int(right) {
            int_op!($f, $sp, $ts, $fits, $op, generic)
        }
        $otherwise
    }};
}

stencil!(
    /// `BINARY_OP` `&`/`&=` with an int fast path (see `adaptive_int`).
    fn _BINARY_OP_ADAPTIVE_AND(f, sp, ts) {
        adaptive_int!(f, sp, ts, |_, _| true, |a: i64, b: i64| a & b)
    }
);

stencil!(
    /// `BINARY_OP` `|`/`|=` with an int fast path.
    fn _BINARY_OP_ADAPTIVE_OR(f, sp, ts) {
        adaptive_int!(f, sp, ts, |_, _| true, |a: i64, b: i64| a | b)
    }
);

stencil!(
    /// `BINARY_OP` `^`/`^=` with an int fast path.
    fn _BINARY_OP_ADAPTIVE_XOR(f, sp, ts) {
        adaptive_int!(f, sp, ts, |_, _| true, |a: i64, b: i64| a ^ b)
    }
);

stencil!(
    /// `BINARY_OP` `<<`/`<<=` with an int fast path when the result fits
    /// in a word (a negative count takes the generic path, which raises).
    fn _BINARY_OP_ADAPTIVE_LSHIFT(f, sp, ts) {
        adaptive_int!(f, sp, ts, lshift_fits, |a: i64, b: i64| a << b)
    }
);

/// Whether `a << b` is a word's shift: a count in range whose result fits.
#[inline(always)]
fn lshift_fits(a: i64, b: i64) -> bool {
    (0..62).contains(&b) && (a << b) >> b == a
}

stencil!(
    /// `BINARY_OP` `>>`/`>>=` with an int fast path (Python's shift is
    /// arithmetic; counts past the word give 0 or -1).
    fn _BINARY_OP_ADAPTIVE_RSHIFT(f, sp, ts) {
        adaptive_int!(f, sp, ts, |_, b: i64| b >= 0, |a: i64, b: i64| a >> b.min(63))
    }
);

stencil!(
    /// `BINARY_OP` `//`/`//=` with an int fast path: the quotient rounded
    /// towards minus infinity (a zero divisor takes the generic path).
    fn _BINARY_OP_ADAPTIVE_FLOOR_DIVIDE(f, sp, ts) {
        adaptive_int!(f, sp, ts, |_, b: i64| b != 0, floor_divide)
    }
);

stencil!(
    /// `BINARY_OP` `%`/`%=` with an int fast path: the remainder takes the
    /// divisor's sign (a zero divisor takes the generic path).
    fn _BINARY_OP_ADAPTIVE_REMAINDER(f, sp, ts) {
        adaptive_int!(f, sp, ts, |_, b: i64| b != 0, remainder)
    }
);

/// Python's `//` of words, rounded towards minus infinity (`b` not 0).
#[inline(always)]
fn floor_divide(a: i64, b: i64) -> i64 {
    let q = a / b;
    if a % b != 0 && (a < 0) != (b < 0) {
        q - 1
    } else {
        q
    }
}

/// Python's `%` of words, of the divisor's sign (`b` not 0).
#[inline(always)]
fn remainder(a: i64, b: i64) -> i64 {
    let r = a % b;
    if r != 0 && (r < 0) != (b < 0) {
        r + b
    } else {
        r
    }
}

/// The same operations in an inlined body (`optimize::inline`): their fast
/// paths, and anything else leaves for the call (whose real callee then
/// runs the operation, with whatever code it may run).
macro_rules! pure_binary_ops {
    ($($name:ident: $kind:ident [$($arg:tt)*];)*) => {$(
        stencil!(
            /// See `pure_binary_ops`.
            fn $name(f, sp, ts) {
                pure_binary_ops!(@ $kind f, sp, ts, $($arg)*)
            }
        );
    )*};
    (@ arith $f:ident, $sp:ident, $ts:ident, $op:tt, $fits:expr, $slow:expr) => {
        adaptive_arith!($f, $sp, $ts, $op, $fits, $slow, deopt!($f, $sp, $ts))
    };
    (@ int $f:ident, $sp:ident, $ts:ident, $fits:expr, $op:expr) => {
        adaptive_int!($f, $sp, $ts, $fits, $op, deopt!($f, $sp, $ts))
    };
    (@ divide $f:ident, $sp:ident, $ts:ident,) => {
        true_divide!($f, $sp, $ts, deopt!($f, $sp, $ts))
    };
}

pure_binary_ops! {
    _BINARY_OP_PURE_ADD: arith [+, |_, _| true, _PyLong_Add];
    _BINARY_OP_PURE_SUBTRACT: arith [-, |_, _| true, _PyLong_Subtract];
    _BINARY_OP_PURE_MULTIPLY: arith [*, one_digit_each, _PyLong_Multiply];
    _BINARY_OP_PURE_TRUE_DIVIDE: divide [];
    _BINARY_OP_PURE_AND: int [|_, _| true, |a: i64, b: i64| a & b];
    _BINARY_OP_PURE_OR: int [|_, _| true, |a: i64, b: i64| a | b];
    _BINARY_OP_PURE_XOR: int [|_, _| true, |a: i64, b: i64| a ^ b];
    _BINARY_OP_PURE_FLOOR_DIVIDE: int [|_, b: i64| b != 0, floor_divide];
    _BINARY_OP_PURE_REMAINDER: int [|_, b: i64| b != 0, remainder];
    _BINARY_OP_PURE_LSHIFT: int [lshift_fits, |a: i64, b: i64| a << b];
    _BINARY_OP_PURE_RSHIFT: int [|_, b: i64| b >= 0, |a: i64, b: i64| a >> b.min(63)];
}

/// A double's exponent field, by its bits: a stencil cannot test floats
/// against constants such as infinity (they would be constant data).
#[inline(always)]
fn exponent_bits(x: f64) -> u64 {
    (x.to_bits() >> 52) & 0x7FF
}

/// `v ** w` of doubles where CPython's `float_pow` leaves the work to the
/// platform's `pow`: a positive finite base other than 1.0 raised to a
/// finite nonzero exponent. A normal result is then its result; `None`
/// for zero, subnormal and infinite ones (which it checks `errno` for) and
/// every special case, which CPython's own path is to compute.
#[inline(always)]
pub(super) unsafe fn plain_pow(v: f64, w: f64) -> Option<f64> {
    let plain_base =
        (v.to_bits() as i64) > 0 && exponent_bits(v) != 0x7FF && v.to_bits() != 1.0f64.to_bits();
    let plain_exponent = w.to_bits() << 1 != 0 && exponent_bits(w) != 0x7FF;
    if !(plain_base && plain_exponent) {
        return None;
    }
    let r = jitsaw_pow(v, w);
    (exponent_bits(r) != 0 && exponent_bits(r) != 0x7FF).then_some(r)
}

stencil!(
    /// `BINARY_OP` `**`/`**=`. A float raised to a float or to an int a
    /// double holds exactly is `plain_pow`'s where it has a result
    /// (every other case takes the generic path). Two ints of up to two digits with an exponent below
    /// 64 whose power fits a word are computed exactly, as `long_pow` does.
    fn _BINARY_OP_ADAPTIVE_POWER(f, sp, ts) {
        let (left, right) = (peek(sp, 2), peek(sp, 1));
        if is_float(left) {
            let exponent = if is_float(right) {
                Some(float_value(right))
            } else if is_int(right) {
                small_int_as_double(right)
            } else {
                None
            };
            if let Some(w) = exponent {
                if let Some(r) = plain_pow(float_value(left), w) {
                    let res = float_result(ts, left, r);
                    if res.is_null() {
                        error!(f, sp, ts)
                    }
                    if is_float(right) {
                        float_decref(ts, right);
                    } else {
                        int_decref(right);
                    }
                    poke(sp, 2, res);
                    next!(f, sp.sub(1), ts)
                }
            }
        }
        if is_int(left) && is_int(right) {
            if let (Some(a), Some(b)) = (int_value(left), int_value(right)) {
                if (0..64).contains(&b) {
                    if let Some(r) = a.checked_pow(b as u32) {
                        replace_ints!(f, sp, ts, int_new(r))
                    }
                }
            }
        }
        // `**` is left to CPython (see `runtime/operators.rs`).
        binary_call!(f, sp, ts, _PyEval_BinaryOps.as_ptr().add(oparg()).read())
    }
);

/// The generic `COMPARE_OP`: `PyObject_RichCompare` with the operator in
/// oparg bits 5+, and the result made a bool when bit 4 is set.
macro_rules! compare_op {
    ($f:ident, $sp:ident, $ts:ident) => {{
        let (left, right) = (peek($sp, 2), peek($sp, 1));
        let mut res = jitsaw_rich_compare($ts, left, right, oparg() >> 5);
        decref(left);
        decref(right);
        if res.is_null() {
            error!($f, $sp.sub(2), $ts)
        }
        // A comparison's result is most often a bool already (immortal).
        if oparg() & 16 != 0 && res != py_true() && res != py_false() {
            let b = PyObject_IsTrue(res);
            decref(res);
            if b < 0 {
                error!($f, $sp.sub(2), $ts)
            }
            res = py_bool(b != 0);
        }
        poke($sp, 2, res);
        next!($f, $sp.sub(1), $ts)
    }};
}

stencil!(
    /// An unspecialized `COMPARE_OP` with fast paths for two floats, two
    /// compact ints, and a float with a small int.
    fn _COMPARE_OP_ADAPTIVE(f, sp, ts) {
        let (left, right) = (peek(sp, 2), peek(sp, 1));
        if is_float(left) && is_float(right) {
            let bit = comparison_bit(float_value(left), float_value(right));
            float_decref(ts, left);
            float_decref(ts, right);
            poke(sp, 2, py_bool(bit & oparg() != 0));
            next!(f, sp.sub(1), ts)
        }
        if is_int(left) && is_int(right) && long_is_compact(left) && long_is_compact(right) {
            let bit = comparison_bit(long_compact_value(left), long_compact_value(right));
            int_decref(left);
            int_decref(right);
            poke(sp, 2, py_bool(bit & oparg() != 0));
            next!(f, sp.sub(1), ts)
        }
        // A float and an int a double holds exactly: `float_richcompare`
        // compares such an int as a double (a NaN or an infinity with any
        // finite value).
        let float_left = is_float(left);
        let (float, int) = if float_left { (left, right) } else { (right, left) };
        if is_float(float) && is_int(int) {
            if let Some(i) = small_int_as_double(int) {
                let bit = if float_left {
                    comparison_bit(float_value(left), i)
                } else {
                    comparison_bit(i, float_value(right))
                };
                float_decref(ts, float);
                int_decref(int);
                poke(sp, 2, py_bool(bit & oparg() != 0));
                next!(f, sp.sub(1), ts)
            }
        }
        compare_op!(f, sp, ts)
    }
);

stencil!(
    /// `BINARY_OP_INPLACE_ADD_UNICODE` (tier 1 only in CPython): `s += t`
    /// where the next instruction stores back into local `operand`; the JIT
    /// skips that `STORE_FAST` after this micro-op.
    fn _BINARY_OP_INPLACE_ADD_UNICODE(f, sp, ts) {
        let (left, right) = (peek(sp, 2), peek(sp, 1));
        let target = frame_local(f, operand32() as usize);
        if *target != left {
            deopt!(f, sp, ts)
        }
        decref_no_dealloc(left);
        PyUnicode_Append(target, right);
        decref(right);
        if (*target).is_null() {
            error!(f, sp.sub(2), ts)
        }
        next!(f, sp.sub(2), ts)
    }
);

/// `COMPARISON_BIT(x, y)`: 1 if unordered, 2 if <, 4 if >, 8 if ==, matching
/// the low four bits of a specialized `COMPARE_OP`'s oparg.
#[inline(always)]
pub(super) fn comparison_bit<T: PartialOrd>(x: T, y: T) -> usize {
    1 << (2 * (x >= y) as usize + (x <= y) as usize)
}

/// Whether comparing `x` with `y` has an outcome in `mask` (a specialized
/// `COMPARE_OP`'s low four bits, see [`comparison_bit`]): one comparison for
/// each operator's mask, which a constant mask (a stencil's copy for it)
/// compiles to alone.
#[inline(always)]
fn compares<T: PartialOrd>(x: T, y: T, mask: usize) -> bool {
    match mask {
        2 => x < y,
        4 => x > y,
        8 => x == y,
        // With unordered: a NaN is unequal to everything.
        7 => x != y,
        10 => x <= y,
        12 => x >= y,
        _ => comparison_bit(x, y) & mask != 0,
    }
}

stencil!(fn _COMPARE_OP(f, sp, ts) {
    compare_op!(f, sp, ts)
});

/// `_COMPARE_OP_FLOAT` true for the outcomes in `$mask` (the oparg's low
/// four bits), releasing the inputs that are owned (the others are
/// borrowed: `optimize::borrow`).
macro_rules! compare_float {
    ($f:ident, $sp:ident, $ts:ident, $mask:expr, owned: $left:literal, $right:literal) => {{
        let (left, right) = (peek($sp, 2), peek($sp, 1));
        let res = compares(float_value(left), float_value(right), $mask);
        if $left {
            float_decref($ts, left);
        }
        if $right {
            float_decref($ts, right);
        }
        poke($sp, 2, py_bool(res));
        next!($f, $sp.sub(1), $ts)
    }};
}

/// `_COMPARE_OP_INT` true for the outcomes in `$mask`, releasing the
/// inputs that are owned; its guard (an
/// int of more than one digit) takes references to the borrowed ones
/// before leaving them to the instruction's fallback or the interpreter.
macro_rules! compare_int {
    ($f:ident, $sp:ident, $ts:ident, $mask:expr, owned: $left:literal, $right:literal) => {{
        let (left, right) = (peek($sp, 2), peek($sp, 1));
        if !long_is_compact(left) || !long_is_compact(right) {
            deopt_borrowed!($f, $sp, $ts; !$left => left, !$right => right)
        }
        let res = compares(long_compact_value(left), long_compact_value(right), $mask);
        if $left {
            int_decref(left);
        }
        if $right {
            int_decref(right);
        }
        poke($sp, 2, py_bool(res));
        next!($f, $sp.sub(1), $ts)
    }};
}

replicated_stencil!(fn _COMPARE_OP_FLOAT(f, sp, ts) oparg in [2, 4, 7, 8, 10, 12] {
    compare_float!(f, sp, ts, oparg(), owned: true, true)
});

replicated_stencil!(fn _COMPARE_OP_INT(f, sp, ts) oparg in [2, 4, 7, 8, 10, 12] {
    compare_int!(f, sp, ts, oparg(), owned: true, true)
});

replicated_stencil!(
    /// `_COMPARE_OP_FLOAT` on borrowed inputs.
    fn _COMPARE_OP_FLOAT_BORROWED(f, sp, ts) oparg in [2, 4, 7, 8, 10, 12] {
        compare_float!(f, sp, ts, oparg(), owned: false, false)
    }
);

replicated_stencil!(
    /// `_COMPARE_OP_INT` on borrowed inputs.
    fn _COMPARE_OP_INT_BORROWED(f, sp, ts) oparg in [2, 4, 7, 8, 10, 12] {
        compare_int!(f, sp, ts, oparg(), owned: false, false)
    }
);

replicated_stencil!(
    /// `_COMPARE_OP_FLOAT` on a borrowed right input.
    fn _COMPARE_OP_FLOAT_BORROWED_RIGHT(f, sp, ts) oparg in [2, 4, 7, 8, 10, 12] {
        compare_float!(f, sp, ts, oparg(), owned: true, false)
    }
);

replicated_stencil!(
    /// `_COMPARE_OP_INT` on a borrowed right input.
    fn _COMPARE_OP_INT_BORROWED_RIGHT(f, sp, ts) oparg in [2, 4, 7, 8, 10, 12] {
        compare_int!(f, sp, ts, oparg(), owned: true, false)
    }
);

stencil!(fn _COMPARE_OP_STR(f, sp, ts) {
    let (left, right) = (peek(sp, 2), peek(sp, 1));
    let eq = _PyUnicode_Equal(left, right) as usize;
    decref(left);
    decref(right);
    let bit = consts::COMPARISON_NOT_EQUALS as usize + eq;
    poke(sp, 2, py_bool(bit & oparg() != 0));
    next!(f, sp.sub(1), ts)
});

/// The shape of `CONTAINS_OP` and its specializations.
macro_rules! contains {
    ($f:ident, $sp:ident, $ts:ident, $call:expr) => {{
        let (left, right) = (peek($sp, 2), peek($sp, 1));
        let res = $call(right, left);
        decref(left);
        decref(right);
        if res < 0 {
            error!($f, $sp.sub(2), $ts)
        }
        poke($sp, 2, py_bool((res != 0) != (oparg() != 0)));
        next!($f, $sp.sub(1), $ts)
    }};
}

/// `PySequence_Contains`, through `jitsaw_contains` when the container's
/// `sq_contains` is `slot_sq_contains` (a class defining `__contains__` in
/// Python, whose method it runs directly).
#[inline(always)]
unsafe fn contains_generally(ts: Ts, container: *mut PyObject, value: *mut PyObject) -> i32 {
    use jitsaw_cpython313::off::{SEQUENCE_SQ_CONTAINS, TYPE_TP_AS_SEQUENCE};
    if type_slot(container, TYPE_TP_AS_SEQUENCE, SEQUENCE_SQ_CONTAINS)
        == (&raw const jitsaw_slot_sq_contains) as usize
    {
        jitsaw_contains(ts, container, value)
    } else {
        PySequence_Contains(container, value)
    }
}

/// `x in seq` for an exact list or tuple and an exact int of one digit,
/// when the items up to a match are `x` itself or exact ints: `None` (go
/// the generic way) at the first other item. `list_contains` compares the
/// items in order, and comparing two ints runs no code, so a scan given up
/// can start over the generic way unseen.
#[inline(always)]
unsafe fn contains_small_int(seq: *mut PyObject, x: *mut PyObject) -> Option<bool> {
    if !is_int(x) || !long_is_compact(x) {
        return None;
    }
    let items = if is_list(seq) {
        list_items(seq)
    } else if is_tuple(seq) {
        tuple_items(seq)
    } else {
        return None;
    };
    let v = long_compact_value(x);
    for i in 0..ob_size(seq) as usize {
        let item = *items.add(i);
        if item == x {
            return Some(true);
        }
        if !is_int(item) {
            return None;
        }
        // An int of more digits than one is never equal to `x`.
        if long_is_compact(item) && long_compact_value(item) == v {
            return Some(true);
        }
    }
    Some(false)
}

stencil!(
    /// `in`/`not in` (oparg 1), with a fast path for a small int in a
    /// list or tuple of ints.
    fn _CONTAINS_OP(f, sp, ts) {
        let (left, right) = (peek(sp, 2), peek(sp, 1));
        if let Some(found) = contains_small_int(right, left) {
            int_decref(left);
            decref(right);
            poke(sp, 2, py_bool(found != (oparg() != 0)));
            next!(f, sp.sub(1), ts)
        }
        contains!(f, sp, ts, |c, v| contains_generally(ts, c, v))
    }
);

stencil!(fn _CONTAINS_OP_SET(f, sp, ts) {
    let right = peek(sp, 1);
    if !is_type(right, &raw mut PySet_Type) && !is_type(right, &raw mut PyFrozenSet_Type) {
        deopt!(f, sp, ts)
    }
    contains!(f, sp, ts, _PySet_Contains)
});

stencil!(fn _CONTAINS_OP_DICT(f, sp, ts) {
    if !is_dict(peek(sp, 1)) {
        deopt!(f, sp, ts)
    }
    contains!(f, sp, ts, PyDict_Contains)
});
