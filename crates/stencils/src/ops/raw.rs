//! Arithmetic in machine words (`optimize::raw`): an expression of int and
//! float locals and constants is computed in a scratch area of words (an
//! int's value or a float's bits), where nothing can see its intermediate
//! values (no Python code runs until the result is boxed), and only its
//! result becomes an object. A micro-op here leaves for the instruction's
//! fallback (the expression's own code) when its value is not one it can
//! compute with: a local that is not an exact int of at most two digits
//! (or an exact float), an overflow, a zero divisor, an int a double does
//! not hold exactly. The fallback starts over from the expression's first
//! instruction, as nothing has changed yet. Float `+ - *` and `/` are
//! IEEE operations on the doubles, as CPython's are.

use crate::abi::*;

extern "C" {
    /// The scratch words (storage in the runtime; only these stencils
    /// read or write it). The GIL keeps it to one expression at a time.
    static mut jitsaw_raw: [i64; 16];
}

/// Scratch word `i` (`i < 16`, as the optimizer allocates them).
#[inline(always)]
unsafe fn word(i: usize) -> *mut i64 {
    (&raw mut jitsaw_raw).cast::<i64>().add(i & 15)
}

/// The two words a binary micro-op works on, from its oparg: the left one
/// (which takes the result) in the low byte, the right one in the next
/// (`_RAW_TRUE_DIVIDE` keeps its operands' kinds above).
#[inline(always)]
unsafe fn words() -> (*mut i64, *mut i64) {
    (word(oparg() & 0xFF), word((oparg() >> 8) & 0xFF))
}

stencil!(
    /// Reads local `oparg`, an exact int of at most two digits, into word
    /// `operand`.
    fn _RAW_LOAD_FAST(f, sp, ts) {
        let v = *frame_local(f, oparg());
        if v.is_null() || !is_int(v) {
            deopt!(f, sp, ts)
        }
        match int_value(v) {
            Some(x) => *word(operand32() as usize) = x,
            None => deopt!(f, sp, ts),
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// Reads local `oparg`, an exact float, into word `operand`.
    fn _RAW_LOAD_FAST_FLOAT(f, sp, ts) {
        let v = *frame_local(f, oparg());
        if v.is_null() || !is_float(v) {
            deopt!(f, sp, ts)
        }
        *word(operand32() as usize) = float_value(v).to_bits() as i64;
        next!(f, sp, ts)
    }
);

stencil!(
    /// Writes a constant's word (an int's value or a float's bits),
    /// `operand`, into word `oparg`.
    fn _RAW_LOAD_CONST(f, sp, ts) {
        *word(oparg()) = operand() as i64;
        next!(f, sp, ts)
    }
);

/// A word operation that leaves on overflow: `$method` (`checked_add`...)
/// of the left and right words, into the left one.
macro_rules! checked_words {
    ($(#[$doc:meta])* $name:ident, $method:ident) => {
        stencil!(
            $(#[$doc])*
            fn $name(f, sp, ts) {
                let (a, b) = words();
                match (*a).$method(*b) {
                    Some(r) => *a = r,
                    None => deopt!(f, sp, ts),
                }
                next!(f, sp, ts)
            }
        );
    };
}

checked_words!(
    /// `+` of two words.
    _RAW_ADD,
    checked_add
);
checked_words!(
    /// `-` of two words.
    _RAW_SUBTRACT,
    checked_sub
);
checked_words!(
    /// `*` of two words.
    _RAW_MULTIPLY,
    checked_mul
);

stencil!(
    /// `//` of two words: the quotient rounded towards minus infinity.
    fn _RAW_FLOOR_DIVIDE(f, sp, ts) {
        let (a, b) = words();
        let (x, y) = (*a, *b);
        match (x.checked_div(y), x.checked_rem(y)) {
            (Some(q), Some(r)) => *a = if r != 0 && (r < 0) != (y < 0) { q - 1 } else { q },
            _ => deopt!(f, sp, ts),
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// `%` of two words: the remainder takes the divisor's sign.
    fn _RAW_REMAINDER(f, sp, ts) {
        let (a, b) = words();
        let y = *b;
        match (*a).checked_rem(y) {
            Some(r) => *a = if r != 0 && (r < 0) != (y < 0) { r + y } else { r },
            None => deopt!(f, sp, ts),
        }
        next!(f, sp, ts)
    }
);

/// A float operation of two words (which cannot fail).
macro_rules! float_words {
    ($(#[$doc:meta])* $name:ident, $op:tt) => {
        stencil!(
            $(#[$doc])*
            fn $name(f, sp, ts) {
                let (a, b) = words();
                let r = f64::from_bits(*a as u64) $op f64::from_bits(*b as u64);
                *a = r.to_bits() as i64;
                next!(f, sp, ts)
            }
        );
    };
}

float_words!(
    /// `+` of two float words.
    _RAW_ADD_FLOAT,
    +
);
float_words!(
    /// `-` of two float words.
    _RAW_SUBTRACT_FLOAT,
    -
);
float_words!(
    /// `*` of two float words.
    _RAW_MULTIPLY_FLOAT,
    *
);

/// Word `w` as a double: a float's bits, or an int a double holds exactly.
#[inline(always)]
unsafe fn as_double(w: *mut i64, float: bool) -> Option<f64> {
    if float {
        Some(f64::from_bits(*w as u64))
    } else if (*w).unsigned_abs() < 1 << 53 {
        Some(*w as f64)
    } else {
        None
    }
}

stencil!(
    /// `/` of two words, into a float word: bit 16 of the oparg says the
    /// left one is a float, bit 17 the right one (ints are converted as
    /// CPython's `long_true_divide` and `float_div` do for ints a double
    /// holds exactly).
    fn _RAW_TRUE_DIVIDE(f, sp, ts) {
        let (a, b) = words();
        match (as_double(a, oparg() & 1 << 16 != 0), as_double(b, oparg() & 1 << 17 != 0)) {
            (Some(x), Some(y)) if y != 0.0 => *a = (x / y).to_bits() as i64,
            _ => deopt!(f, sp, ts),
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// Pushes word `oparg` as a float.
    fn _RAW_BOX_FLOAT(f, sp, ts) {
        let o = float_new(ts, f64::from_bits(*word(oparg()) as u64));
        if o.is_null() {
            error!(f, sp, ts)
        }
        *sp = o;
        next!(f, sp.add(1), ts)
    }
);

stencil!(
    /// Pushes word `oparg` as an int.
    fn _RAW_BOX_INT(f, sp, ts) {
        let o = int_new(*word(oparg()));
        if o.is_null() {
            error!(f, sp, ts)
        }
        *sp = o;
        next!(f, sp.add(1), ts)
    }
);
