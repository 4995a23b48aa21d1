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

use super::attr::{cached_plain_value, instance_value_of};
use super::binary::{comparison_bit, plain_pow};
use super::control::local_monitors;
use crate::abi::*;
use crate::helpers::jitsaw_load_attr_pure;
use jitsaw_cpython313::layout::{PyFloatObject, RangeIter};
use jitsaw_cpython313::shared::LOCAL_CACHED_NAME;

extern "C" {
    /// The scratch words, then a kind word for each (storage in the
    /// runtime; only these stencils read or write it). The GIL keeps it to
    /// one expression or loop at a time: no Python code runs while words
    /// hold values.
    static mut jitsaw_raw: [i64; 64];
}

/// Scratch word `i` (`i < 32`, as the optimizer allocates them).
#[inline(always)]
unsafe fn word(i: usize) -> *mut i64 {
    (&raw mut jitsaw_raw).cast::<i64>().add(i & 31)
}

/// The kind of word `i` in an expression whose values' kinds are known
/// only at run time (`optimize::raw`'s `Kind::Any`): nonzero for a float.
#[inline(always)]
unsafe fn kind_of(i: usize) -> *mut i64 {
    (&raw mut jitsaw_raw).cast::<i64>().add(32 + (i & 31))
}

/// Whether the left and the right operand of the word operation of
/// oparg `o` (see [`words`]) are floats: bit 18 (left) or 19 (right) of
/// the oparg says an operand's kind is in its word's kind word, else bit
/// 16 or 17 says it is a float.
#[inline(always)]
unsafe fn operand_floats(o: usize) -> (bool, bool) {
    let is_float = |side: usize, w: usize| {
        if o & 1 << (18 + side) != 0 {
            *kind_of(w) != 0
        } else {
            o & 1 << (16 + side) != 0
        }
    };
    (is_float(0, o & 0xFF), is_float(1, (o >> 8) & 0xFF))
}

/// `v` as a word of the kind it has, its kind into kind word `to`: an
/// exact int of at most two digits or an exact float.
#[inline(always)]
unsafe fn any_word(v: *mut PyObject, to: usize) -> Option<i64> {
    if let Some(x) = int_word(v) {
        *kind_of(to) = 0;
        return Some(x);
    }
    let x = float_word(v)?;
    *kind_of(to) = 1;
    Some(x)
}

/// The word of a loop kept in words (`optimize::loops`) whose bit `w` says
/// that word `w`, a local's, was stored since the loop was entered.
const STORED: usize = 31;

/// The three words a binary micro-op works on, from its oparg: the left
/// one in the low byte, the right one in the next and the one taking the
/// result in the high byte (`_RAW_TRUE_DIVIDE` keeps its operands' kinds
/// in the third).
#[inline(always)]
unsafe fn words() -> (*mut i64, *mut i64, *mut i64) {
    let o = oparg();
    (word(o & 0xFF), word((o >> 8) & 0xFF), word(o >> 24))
}

/// `v` as an int's word: an exact int of at most two digits.
#[inline(always)]
unsafe fn int_word(v: *mut PyObject) -> Option<i64> {
    if v.is_null() || !is_int(v) {
        return None;
    }
    int_value(v)
}

/// `v` as a float's word: an exact float's bits.
#[inline(always)]
unsafe fn float_word(v: *mut PyObject) -> Option<i64> {
    (!v.is_null() && is_float(v)).then(|| float_value(v).to_bits() as i64)
}

/// `v` as a double for `/` or a power's exponent, whose operand may be
/// either kind: an exact float's bits, or an exact int a double holds
/// exactly, converted (as `float_div`, `long_true_divide` and `float_pow`
/// convert it).
#[inline(always)]
unsafe fn real_word(v: *mut PyObject) -> Option<i64> {
    float_word(v).or_else(|| {
        int_word(v)
            .filter(|x| x.unsigned_abs() < 1 << 53)
            .map(|x| (x as f64).to_bits() as i64)
    })
}

/// A stencil reading a value into a word: `$read` gives the word from the
/// frame (`None` leaves), which goes into word `$to`.
macro_rules! read_word {
    ($(#[$doc:meta])* $name:ident, $read:expr, $to:expr) => {
        stencil!(
            $(#[$doc])*
            fn $name(f, sp, ts) {
                match ($read)(f) {
                    Some(x) => *word($to) = x,
                    None => deopt!(f, sp, ts),
                }
                next!(f, sp, ts)
            }
        );
    };
}

read_word!(
    /// Reads local `oparg`, an exact int of at most two digits, into word
    /// `operand`.
    _RAW_LOAD_FAST,
    |f| int_word(*frame_local(f, oparg())),
    operand32() as usize
);

read_word!(
    /// Reads local `oparg`, an exact float, into word `operand`.
    _RAW_LOAD_FAST_FLOAT,
    |f| float_word(*frame_local(f, oparg())),
    operand32() as usize
);

read_word!(
    /// Reads local `oparg`, an exact int of at most two digits or an exact
    /// float, into word `operand`, its kind into its kind word.
    _RAW_LOAD_FAST_ANY,
    |f| any_word(*frame_local(f, oparg()), operand32() as usize),
    operand32() as usize
);

read_word!(
    /// Reads local `oparg` into word `operand` as a double (`real_word`).
    _RAW_LOAD_FAST_REAL,
    |f| real_word(*frame_local(f, oparg())),
    operand32() as usize
);

/// The instance attribute a `_LOAD_ATTR_INSTANCE_VALUE_LOCAL` operand
/// names of its local's object (`instance_value_of`), if the local is
/// bound (a `LOAD_FAST_CHECK`'s may not be).
#[inline(always)]
unsafe fn attr_of_local(f: Frame) -> Option<*mut PyObject> {
    let owner = *frame_local(f, (operand() >> 48) as usize);
    if owner.is_null() {
        return None;
    }
    instance_value_of(owner, operand())
}

read_word!(
    /// Reads an instance attribute of a local's object (`self.x`, see
    /// `attr_of_local`), an exact int of at most two digits, into word
    /// `oparg`.
    _RAW_LOAD_ATTR,
    |f| attr_of_local(f).and_then(|v| int_word(v)),
    oparg()
);

read_word!(
    /// Reads an instance attribute of a local's object, an exact float,
    /// into word `oparg`.
    _RAW_LOAD_ATTR_FLOAT,
    |f| attr_of_local(f).and_then(|v| float_word(v)),
    oparg()
);

read_word!(
    /// Reads an instance attribute of a local's object, an exact int of at
    /// most two digits or an exact float, into word `oparg`, its kind into
    /// its kind word.
    _RAW_LOAD_ATTR_ANY,
    |f| attr_of_local(f).and_then(|v| any_word(v, oparg())),
    oparg()
);

read_word!(
    /// Reads an instance attribute of a local's object into word `oparg`
    /// as a double (`real_word`).
    _RAW_LOAD_ATTR_REAL,
    |f| attr_of_local(f).and_then(|v| real_word(v)),
    oparg()
);

/// A stencil reading an attribute of a local's object through the site
/// cache in the operand, as `_LOAD_ATTR_LOCAL_CACHED` reads it (an inlined
/// body's `self.x`, `optimize::raw::words_in_body`), into a word by
/// `$convert`: the local is `oparg & 0xFFFFFF`, the word `oparg >> 24`. An
/// attribute the cache does not serve, or one not of the kind, leaves
/// (nothing pushed: the body's exit starts the call over).
macro_rules! read_cached_attr_word {
    ($(#[$doc:meta])* $name:ident, $convert:expr) => {
        stencil!(
            $(#[$doc])*
            fn $name(f, sp, ts) {
                let owner = *frame_local(f, (oparg() & 0xFF_FFFF) as usize);
                let (v, owned) = match cached_plain_value(owner) {
                    Some(v) => (v, false),
                    None => {
                        core::hint::cold_path();
                        let cache = operand() as *mut u8;
                        let name = *cache.add(LOCAL_CACHED_NAME).cast::<*mut PyObject>();
                        let v = jitsaw_load_attr_pure(owner, name, cache);
                        if v.is_null() {
                            deopt!(f, sp, ts)
                        }
                        (v, true)
                    }
                };
                let x = ($convert)(v);
                if owned {
                    // The object or its class still holds it: this is no
                    // last reference.
                    decref_quietly(v);
                }
                match x {
                    Some(x) => *word((oparg() >> 24) as usize) = x,
                    None => deopt!(f, sp, ts),
                }
                next!(f, sp, ts)
            }
        );
    };
}

read_cached_attr_word!(
    /// Reads a local's object's attribute, an exact int of at most two
    /// digits, into a word.
    _RAW_LOAD_ATTR_LOCAL_CACHED,
    |v| int_word(v)
);

read_cached_attr_word!(
    /// Reads a local's object's attribute, an exact float, into a word.
    _RAW_LOAD_ATTR_LOCAL_CACHED_FLOAT,
    |v| float_word(v)
);

read_cached_attr_word!(
    /// Reads a local's object's attribute, an exact int of at most two
    /// digits or an exact float, into a word, its kind into its kind word.
    _RAW_LOAD_ATTR_LOCAL_CACHED_ANY,
    |v| any_word(v, (oparg() >> 24) as usize)
);

read_cached_attr_word!(
    /// Reads a local's object's attribute into a word as a double
    /// (`real_word`).
    _RAW_LOAD_ATTR_LOCAL_CACHED_REAL,
    |v| real_word(v)
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
/// of the left and right words, into the third.
macro_rules! checked_words {
    ($(#[$doc:meta])* $name:ident, $method:ident) => {
        stencil!(
            $(#[$doc])*
            fn $name(f, sp, ts) {
                let (a, b, to) = words();
                match (*a).$method(*b) {
                    Some(r) => *to = r,
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

/// Whether an operand of a word operation of ints is a float after all:
/// one whose kind only the run knows (see [`operand_floats`]), which an
/// operation of ints leaves for.
#[inline(always)]
unsafe fn a_float_among(o: usize) -> bool {
    let (left, right) = operand_floats(o);
    left || right
}

stencil!(
    /// `//` of two int words: the quotient rounded towards minus infinity.
    fn _RAW_FLOOR_DIVIDE(f, sp, ts) {
        if a_float_among(oparg()) {
            deopt!(f, sp, ts)
        }
        let (a, b, to) = words();
        let (x, y) = (*a, *b);
        match (x.checked_div(y), x.checked_rem(y)) {
            (Some(q), Some(r)) => *to = if r != 0 && (r < 0) != (y < 0) { q - 1 } else { q },
            _ => deopt!(f, sp, ts),
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// `%` of two int words: the remainder takes the divisor's sign.
    fn _RAW_REMAINDER(f, sp, ts) {
        if a_float_among(oparg()) {
            deopt!(f, sp, ts)
        }
        let (a, b, to) = words();
        let y = *b;
        match (*a).checked_rem(y) {
            Some(r) => *to = if r != 0 && (r < 0) != (y < 0) { r + y } else { r },
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
                let (a, b, to) = words();
                let r = f64::from_bits(*a as u64) $op f64::from_bits(*b as u64);
                *to = r.to_bits() as i64;
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

/// An operation of two words of either kind (`+ - *` CPython did not
/// specialize: ints and floats mixed), each a float as
/// [`operand_floats`] says: of two ints, `$checked` (leaving on
/// overflow), an int; else `$op` of the two as doubles (an int converted,
/// correctly rounded, as `PyLong_AsDouble` converts it for `float_add` and
/// the like), a float. The result's kind goes into its kind word.
macro_rules! any_words {
    ($(#[$doc:meta])* $name:ident, $checked:ident, $op:tt) => {
        stencil!(
            $(#[$doc])*
            fn $name(f, sp, ts) {
                let o = oparg();
                let (a, b, to) = words();
                let (left, right) = operand_floats(o);
                if !left && !right {
                    match (*a).$checked(*b) {
                        Some(r) => *to = r,
                        None => deopt!(f, sp, ts),
                    }
                } else {
                    let double = |w: i64, float: bool| {
                        if float {
                            f64::from_bits(w as u64)
                        } else {
                            w as f64
                        }
                    };
                    *to = (double(*a, left) $op double(*b, right)).to_bits() as i64;
                }
                *kind_of(o >> 24) = i64::from(left || right);
                next!(f, sp, ts)
            }
        );
    };
}

any_words!(
    /// `+` of two words of either kind.
    _RAW_ADD_ANY,
    checked_add,
    +
);
any_words!(
    /// `-` of two words of either kind.
    _RAW_SUBTRACT_ANY,
    checked_sub,
    -
);
any_words!(
    /// `*` of two words of either kind.
    _RAW_MULTIPLY_ANY,
    checked_mul,
    *
);

stencil!(
    /// `/` of two words, into a float word: bit 16 of the oparg says the
    /// left one is a float, bit 17 the right one, bits 18 and 19 that their
    /// kind words say (ints are converted as CPython's `long_true_divide`
    /// and `float_div` do for ints a double holds exactly).
    fn _RAW_TRUE_DIVIDE(f, sp, ts) {
        let o = oparg();
        let (a, b, to) = words();
        let (left, right) = operand_floats(o);
        match (as_double(a, left), as_double(b, right)) {
            (Some(x), Some(y)) if y != 0.0 => *to = (x / y).to_bits() as i64,
            _ => deopt!(f, sp, ts),
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// `**` of a float word by a word (bit 17 of the oparg says whether
    /// the right one is a float; an int a double holds exactly is
    /// converted, as `float_pow` converts it), into a float word, where
    /// `plain_pow` has its result (every special case leaves).
    fn _RAW_POWER_FLOAT(f, sp, ts) {
        let (a, b, to) = words();
        let w = as_double(b, oparg() & 1 << 17 != 0);
        match w.and_then(|w| plain_pow(f64::from_bits(*a as u64), w)) {
            Some(r) => *to = r.to_bits() as i64,
            None => deopt!(f, sp, ts),
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
    /// `items[i] op= value` of a float in a list (`optimize::raw`'s item
    /// updates): list local `oparg & 0xffff`, index word 0, value word 1,
    /// the operation in the oparg's bits 16-17 (0 `+`, 1 `-`, 2 `*`). The
    /// new value goes into the item's float when the list alone holds it
    /// (`float_reusable`: nothing else can see the object, as
    /// `STORE_SUBSCR_LIST_INT` would free it), else into a new float stored
    /// in its place. Anything else (not an exact list, an index out of
    /// range or negative, an item not an exact float) leaves for the
    /// statement's own code, which does the indexing and the operation.
    fn _RAW_UPDATE_LIST_ITEM_FLOAT(f, sp, ts) {
        let list = *frame_local(f, oparg() & 0xffff);
        if list.is_null() || !is_list(list) {
            deopt!(f, sp, ts)
        }
        let index = *word(0);
        if index < 0 || index >= ob_size(list) as i64 {
            deopt!(f, sp, ts)
        }
        let slot = list_items(list).add(index as usize);
        let item = *slot;
        if !is_float(item) {
            deopt!(f, sp, ts)
        }
        let (x, y) = (float_value(item), f64::from_bits(*word(1) as u64));
        let v = match (oparg() >> 16) & 3 {
            0 => x + y,
            1 => x - y,
            _ => x * y,
        };
        if float_reusable(item) {
            (*item.cast::<PyFloatObject>()).ob_fval = v;
        } else {
            let new = float_new(ts, v);
            if new.is_null() {
                error!(f, sp, ts)
            }
            *slot = new;
            // Another reference remains, or a reference tracer wants to see
            // the free; a float runs no code when freed.
            decref_quietly(item);
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// Word `operand`, a float, for the `STORE_FAST` to local `oparg` that
    /// comes next: written into the local's float when the local alone
    /// holds it (`float_reusable`), going on past the store (the jump
    /// target); else pushed as `_RAW_BOX_FLOAT` pushes it, for the store.
    fn _RAW_BOX_FLOAT_INTO_FAST(f, sp, ts) {
        let v = f64::from_bits(*word(operand32() as usize) as u64);
        let old = *frame_local(f, oparg());
        if float_reusable(old) {
            (*old.cast::<PyFloatObject>()).ob_fval = v;
            jump!(f, sp, ts)
        }
        let o = float_new(ts, v);
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

stencil!(
    /// Pushes word `oparg` as its kind word says: a float or an int.
    fn _RAW_BOX_ANY(f, sp, ts) {
        let w = *word(oparg());
        let o = if *kind_of(oparg()) != 0 {
            float_new(ts, f64::from_bits(w as u64))
        } else {
            int_new(w)
        };
        if o.is_null() {
            error!(f, sp, ts)
        }
        *sp = o;
        next!(f, sp.add(1), ts)
    }
);

// A loop kept in words (`optimize::loops`): its locals live in words from
// its entry to its exits, which box the ones it stored back into the frame
// before any other code runs.

stencil!(
    /// Copies word `operand` into word `oparg`.
    fn _RAW_COPY(f, sp, ts) {
        *word(oparg()) = *word(operand32() as usize);
        next!(f, sp, ts)
    }
);

stencil!(
    /// Stores word `operand` into word `oparg`, a local's, and marks it
    /// stored.
    fn _RAW_STORE_WORD(f, sp, ts) {
        let to = oparg();
        *word(to) = *word(operand32() as usize);
        *word(STORED) |= 1 << to;
        next!(f, sp, ts)
    }
);

stencil!(
    /// Leaves (for the instruction's fallback) unless local `oparg`, about
    /// to be stored by the loop, is unbound, immortal (`None`) or an exact
    /// int or float, whose release when an exit boxes the local's word
    /// runs no code.
    fn _RAW_CHECK_FAST_PLAIN(f, sp, ts) {
        let v = *frame_local(f, oparg());
        if !v.is_null() && !is_immortal(v) && !is_int(v) && !is_float(v) {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// `FOR_ITER_RANGE` of the range iterator on the stack into word
    /// `oparg`; leaves (for the loop's end) when it is exhausted, which
    /// the interpreter's code then handles.
    fn _RAW_FOR_ITER_RANGE(f, sp, ts) {
        let r = peek(sp, 1).cast::<RangeIter>();
        if (*r).len <= 0 {
            deopt!(f, sp, ts)
        }
        let value = (*r).start;
        (*r).start = value.wrapping_add((*r).step);
        (*r).len -= 1;
        *word(oparg()) = value as i64;
        next!(f, sp, ts)
    }
);

stencil!(
    /// A comparison of two words that branches: jumps when the outcome of
    /// comparing word `oparg & 0xFF` with word `(oparg >> 8) & 0xFF` is in
    /// the mask in oparg bits 16-19 (`COMPARE_OP`'s, see `comparison_bit`);
    /// bit 20 says the words are floats, compared as IEEE doubles as
    /// CPython's `float_richcompare` does.
    fn _RAW_COMPARE_JUMP(f, sp, ts) {
        let o = oparg();
        let (a, b) = (*word(o & 0xFF), *word((o >> 8) & 0xFF));
        let outcome = if o & 1 << 20 != 0 {
            comparison_bit(f64::from_bits(a as u64), f64::from_bits(b as u64))
        } else {
            comparison_bit(a, b)
        };
        if outcome & (o >> 16) != 0 {
            jump!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// A loop's back edge: leaves (for the `JUMP_BACKWARD`, which handles
    /// it with the locals boxed) when the eval breaker differs from
    /// `operand` or the code has local monitors (`_CHECK_EVAL_BREAKER`).
    fn _RAW_CHECK_EVAL_BREAKER(f, sp, ts) {
        if eval_breaker(ts) != operand32() || local_monitors(f) {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

/// Boxes word `operand` into local `oparg` if the loop stored it, releasing
/// the local's old value (unbound, immortal, an exact int or an exact
/// float: checked on entry or read as one). On an allocation failure the
/// local keeps its old value and the error leaves.
macro_rules! box_fast {
    ($f:ident, $sp:ident, $ts:ident, $new:expr) => {{
        let w = operand32() as usize;
        if *word(STORED) & 1 << w != 0 {
            let o = $new(*word(w));
            if o.is_null() {
                error!($f, $sp, $ts)
            }
            let local = frame_local($f, oparg());
            let old = *local;
            *local = o;
            if !old.is_null() {
                decref(old);
            }
        }
        next!($f, $sp, $ts)
    }};
}

stencil!(
    /// Boxes an int word into its local (see `box_fast`).
    fn _RAW_BOX_FAST_INT(f, sp, ts) {
        box_fast!(f, sp, ts, |w: i64| int_new(w))
    }
);

stencil!(
    /// Boxes a float word into its local (see `box_fast`).
    fn _RAW_BOX_FAST_FLOAT(f, sp, ts) {
        box_fast!(f, sp, ts, |w: i64| float_new(ts, f64::from_bits(w as u64)))
    }
);
