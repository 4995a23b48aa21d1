//! The IR: micro-ops, and the one table that describes each of them.
//!
//! Names follow CPython 3.13 (`_GUARD_BOTH_INT`, `_BINARY_OP_ADD_INT`, ...);
//! the few jitsaw needs beyond CPython's (exit stubs, unconditional jumps,
//! the whole-function eval-breaker check) are marked in the table. Each
//! micro-op has exactly one stencil of the same name (`crates/stencils`);
//! tests check that the table, the stencils and CPython's own metadata agree.

pub use crate::optimize::types::{KnownObject, Types};
use crate::stencils::{self, Stencil};
use jitsaw_cpython313::exception_table::Handler;
use jitsaw_cpython313::{opcode, uop as cuop};
use rustc_hash::FxBuildHasher;
use std::collections::HashMap;
use std::sync::OnceLock;

/// How a micro-op changes the stack: (inputs popped, outputs pushed).
pub type StackEffect = fn(u32) -> (i32, i32);

/// One row of the micro-op table.
pub struct UopDef {
    /// The micro-op's name, which is also its stencil's name.
    pub name: &'static str,
    /// Its stack effect as a function of the oparg.
    pub effect: StackEffect,
    /// For micro-ops CPython does not describe: whether it may run arbitrary
    /// Python code (CPython's `HAS_ESCAPES_FLAG`).
    pub jitsaw_escapes: Option<bool>,
}

macro_rules! uops {
    ($o:ident; $($name:ident : $pops:expr => $pushes:expr $(, escapes $esc:expr)?;)*) => {
        /// A micro-op jitsaw can compile.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum Uop { $($name,)* }

        /// The micro-op table, indexed by [`Uop`].
        pub static UOPS: &[UopDef] = &[$(
            UopDef {
                name: stringify!($name),
                effect: {
                    #[allow(unused_variables, clippy::identity_op)]
                    fn effect($o: u32) -> (i32, i32) { (($pops) as i32, ($pushes) as i32) }
                    effect
                },
                jitsaw_escapes: uops!(@esc $($esc)?),
            },
        )*];

        impl Uop {
            /// Every micro-op, in table order.
            pub const ALL: &'static [Uop] = &[$(Uop::$name,)*];
        }
    };
    (@esc) => { None };
    (@esc $e:expr) => { Some($e) };
}

uops! { o;
    // Locals, constants, cells, stack shuffling.
    _NOP: 0 => 0;
    _LOAD_FAST: 0 => 1;
    // jitsaw: `_LOAD_FAST` without a new reference (`optimize::borrow`).
    _LOAD_FAST_BORROW: 0 => 1, escapes false;
    _LOAD_FAST_CHECK: 0 => 1;
    _LOAD_FAST_AND_CLEAR: 0 => 1;
    _STORE_FAST: 1 => 0;
    // jitsaw: `_STORE_FAST` of a local known to hold an int, or a float, or
    // nothing (`optimize::types`): the old value is freed inline.
    _STORE_FAST_INT: 1 => 0, escapes false;
    _STORE_FAST_FLOAT: 1 => 0, escapes false;
    _DELETE_FAST: 0 => 0;
    _LOAD_CONST: 0 => 1;
    _LOAD_CONST_INLINE: 0 => 1;
    _LOAD_CONST_INLINE_WITH_NULL: 0 => 2;
    _LOAD_CONST_INLINE_BORROW_WITH_NULL: 0 => 2;
    _LOAD_CONST_INLINE_BORROW: 0 => 1;
    _POP_TOP: 1 => 0;
    _PUSH_NULL: 0 => 1;
    _END_SEND: 2 => 1;
    _COPY: o => o + 1;
    // jitsaw: `_COPY` without a new reference, for a micro-op right after
    // that takes it borrowed while the original stays below (`optimize::borrow`).
    _COPY_BORROW: o => o + 1, escapes false;
    _SWAP: o => o;
    _LOAD_ASSERTION_ERROR: 0 => 1;
    _MAKE_CELL: 0 => 0;
    _COPY_FREE_VARS: 0 => 0;
    _LOAD_DEREF: 0 => 1;
    _STORE_DEREF: 1 => 0;
    // Unary operators and conversions.
    _UNARY_NEGATIVE: 1 => 1;
    _UNARY_INVERT: 1 => 1;
    _UNARY_NOT: 1 => 1;
    _TO_BOOL: 1 => 1;
    // jitsaw: unspecialized form with fast paths for bools, None, ints and
    // objects whose type makes them always true.
    _TO_BOOL_ADAPTIVE: 1 => 1, escapes true;
    _TO_BOOL_BOOL: 1 => 1;
    _TO_BOOL_INT: 1 => 1;
    _TO_BOOL_LIST: 1 => 1;
    _TO_BOOL_NONE: 1 => 1;
    _TO_BOOL_STR: 1 => 1;
    _REPLACE_WITH_TRUE: 1 => 1;
    // jitsaw: the same of a value pushed without a reference
    // (`optimize::borrow`), which a deopt gives it.
    _TO_BOOL_INT_BORROWED: 1 => 1, escapes false;
    _TO_BOOL_LIST_BORROWED: 1 => 1, escapes false;
    _TO_BOOL_STR_BORROWED: 1 => 1, escapes false;
    _REPLACE_WITH_TRUE_BORROWED: 1 => 1, escapes false;
    _IS_OP: 2 => 1;
    _CALL_INTRINSIC_1: 1 => 1;
    _CALL_INTRINSIC_2: 2 => 1;
    _CONVERT_VALUE: 1 => 1;
    _FORMAT_SIMPLE: 1 => 1;
    _FORMAT_WITH_SPEC: 2 => 1;
    // Binary operators.
    _GUARD_BOTH_INT: 2 => 2;
    _GUARD_NOS_INT: 2 => 2;
    _GUARD_TOS_INT: 1 => 1;
    _GUARD_BOTH_FLOAT: 2 => 2;
    _GUARD_NOS_FLOAT: 2 => 2;
    _GUARD_TOS_FLOAT: 1 => 1;
    _GUARD_BOTH_UNICODE: 2 => 2;
    // jitsaw: the same of inputs pushed without new references
    // (`optimize::borrow`), which an exit gives them.
    _GUARD_BOTH_INT_BORROWED: 2 => 2, escapes false;
    _GUARD_BOTH_FLOAT_BORROWED: 2 => 2, escapes false;
    // jitsaw: the same with only the right input pushed so.
    _GUARD_BOTH_INT_BORROWED_RIGHT: 2 => 2, escapes false;
    _GUARD_BOTH_FLOAT_BORROWED_RIGHT: 2 => 2, escapes false;
    _BINARY_OP: 2 => 1;
    _BINARY_OP_ADD_INT: 2 => 1;
    _BINARY_OP_SUBTRACT_INT: 2 => 1;
    _BINARY_OP_MULTIPLY_INT: 2 => 1;
    _BINARY_OP_ADD_FLOAT: 2 => 1;
    _BINARY_OP_SUBTRACT_FLOAT: 2 => 1;
    _BINARY_OP_MULTIPLY_FLOAT: 2 => 1;
    _BINARY_OP_ADD_UNICODE: 2 => 1;
    // jitsaw: the specialized operations on inputs pushed without new
    // references (`optimize::borrow`), which they do not release.
    _BINARY_OP_ADD_INT_BORROWED: 2 => 1, escapes false;
    _BINARY_OP_SUBTRACT_INT_BORROWED: 2 => 1, escapes false;
    _BINARY_OP_MULTIPLY_INT_BORROWED: 2 => 1, escapes false;
    _BINARY_OP_ADD_FLOAT_BORROWED: 2 => 1, escapes false;
    _BINARY_OP_SUBTRACT_FLOAT_BORROWED: 2 => 1, escapes false;
    _BINARY_OP_MULTIPLY_FLOAT_BORROWED: 2 => 1, escapes false;
    _COMPARE_OP_INT_BORROWED: 2 => 1, escapes false;
    _COMPARE_OP_FLOAT_BORROWED: 2 => 1, escapes false;
    // jitsaw: the same, borrowing only the right input (the left one,
    // computed, is owned).
    _BINARY_OP_ADD_INT_BORROWED_RIGHT: 2 => 1, escapes false;
    _BINARY_OP_SUBTRACT_INT_BORROWED_RIGHT: 2 => 1, escapes false;
    _BINARY_OP_MULTIPLY_INT_BORROWED_RIGHT: 2 => 1, escapes false;
    _BINARY_OP_ADD_FLOAT_BORROWED_RIGHT: 2 => 1, escapes false;
    _BINARY_OP_SUBTRACT_FLOAT_BORROWED_RIGHT: 2 => 1, escapes false;
    _BINARY_OP_MULTIPLY_FLOAT_BORROWED_RIGHT: 2 => 1, escapes false;
    _COMPARE_OP_INT_BORROWED_RIGHT: 2 => 1, escapes false;
    _COMPARE_OP_FLOAT_BORROWED_RIGHT: 2 => 1, escapes false;
    // jitsaw: the same of two float or int locals read in place, with
    // their loads and guard (`optimize::fuse`); a failing guard pushes both.
    _BINARY_OP_ADD_FLOAT_LOCALS: 0 => 1, escapes false;
    _BINARY_OP_SUBTRACT_FLOAT_LOCALS: 0 => 1, escapes false;
    _BINARY_OP_MULTIPLY_FLOAT_LOCALS: 0 => 1, escapes false;
    _BINARY_OP_ADD_INT_LOCALS: 0 => 1, escapes false;
    _BINARY_OP_SUBTRACT_INT_LOCALS: 0 => 1, escapes false;
    _BINARY_OP_MULTIPLY_INT_LOCALS: 0 => 1, escapes false;
    // jitsaw: a float `_LOCALS` operation and the `STORE_FAST` after it,
    // writing into the stored local's float when nothing else holds it and
    // jumping past the store (`optimize::fuse`); else as `_LOCALS`.
    _BINARY_OP_ADD_FLOAT_INTO_LOCAL: 0 => 1, escapes false;
    _BINARY_OP_SUBTRACT_FLOAT_INTO_LOCAL: 0 => 1, escapes false;
    _BINARY_OP_MULTIPLY_FLOAT_INTO_LOCAL: 0 => 1, escapes false;
    // jitsaw: arithmetic in machine words (`optimize::raw`): a local or a
    // constant read into a scratch word, an operation of two words, the
    // result boxed onto the stack.
    _RAW_LOAD_FAST: 0 => 0, escapes false;
    _RAW_LOAD_FAST_FLOAT: 0 => 0, escapes false;
    _RAW_LOAD_CONST: 0 => 0, escapes false;
    _RAW_LOAD_ATTR: 0 => 0, escapes false;
    _RAW_LOAD_ATTR_FLOAT: 0 => 0, escapes false;
    // jitsaw: an operand of `/` (or a power's exponent) of either kind,
    // read as a double.
    _RAW_LOAD_FAST_REAL: 0 => 0, escapes false;
    _RAW_LOAD_ATTR_REAL: 0 => 0, escapes false;
    // jitsaw: a local's object's attribute read through a per-site cache of
    // the types it meets, as `_LOAD_ATTR_LOCAL_CACHED` reads it (in inlined
    // bodies), into a word.
    _RAW_LOAD_ATTR_LOCAL_CACHED: 0 => 0, escapes false;
    _RAW_LOAD_ATTR_LOCAL_CACHED_FLOAT: 0 => 0, escapes false;
    _RAW_LOAD_ATTR_LOCAL_CACHED_REAL: 0 => 0, escapes false;
    // jitsaw: values whose kind (int or float) is known at run time only,
    // kept in a kind word beside their word: `+ - *` CPython did not
    // specialize (ints and floats mixed).
    _RAW_LOAD_FAST_ANY: 0 => 0, escapes false;
    _RAW_LOAD_ATTR_ANY: 0 => 0, escapes false;
    _RAW_LOAD_ATTR_LOCAL_CACHED_ANY: 0 => 0, escapes false;
    _RAW_ADD_ANY: 0 => 0, escapes false;
    _RAW_SUBTRACT_ANY: 0 => 0, escapes false;
    _RAW_MULTIPLY_ANY: 0 => 0, escapes false;
    _RAW_BOX_ANY: 0 => 1, escapes false;
    _RAW_ADD: 0 => 0, escapes false;
    _RAW_SUBTRACT: 0 => 0, escapes false;
    _RAW_MULTIPLY: 0 => 0, escapes false;
    _RAW_FLOOR_DIVIDE: 0 => 0, escapes false;
    _RAW_REMAINDER: 0 => 0, escapes false;
    _RAW_ADD_FLOAT: 0 => 0, escapes false;
    _RAW_SUBTRACT_FLOAT: 0 => 0, escapes false;
    _RAW_MULTIPLY_FLOAT: 0 => 0, escapes false;
    _RAW_TRUE_DIVIDE: 0 => 0, escapes false;
    _RAW_POWER_FLOAT: 0 => 0, escapes false;
    _RAW_BOX_INT: 0 => 1, escapes false;
    _RAW_BOX_FLOAT: 0 => 1, escapes false;
    // jitsaw: a float word for the `STORE_FAST` after it, written into the
    // local's float (jumping past the store) when the local alone holds it.
    _RAW_BOX_FLOAT_INTO_FAST: 0 => 1, escapes false;
    // jitsaw: `items[i] op= value` of a float list item, from words.
    _RAW_UPDATE_LIST_ITEM_FLOAT: 0 => 0, escapes false;
    // jitsaw: a loop kept in words (`optimize::loops`): word copies, a
    // local's word stored, an entry check, the range iteration, branches
    // and back edge in words, the exits' boxing of a local's word into the
    // frame.
    _RAW_COPY: 0 => 0, escapes false;
    _RAW_STORE_WORD: 0 => 0, escapes false;
    _RAW_CHECK_FAST_PLAIN: 0 => 0, escapes false;
    _RAW_FOR_ITER_RANGE: 0 => 0, escapes false;
    _RAW_COMPARE_JUMP: 0 => 0, escapes false;
    _RAW_CHECK_EVAL_BREAKER: 0 => 0, escapes false;
    _RAW_BOX_FAST_INT: 0 => 0, escapes false;
    _RAW_BOX_FAST_FLOAT: 0 => 0, escapes false;
    // jitsaw: the tier-1 `BINARY_OP_INPLACE_ADD_UNICODE` action.
    _BINARY_OP_INPLACE_ADD_UNICODE: 2 => 0, escapes false;
    // jitsaw: unspecialized forms with inline fast paths for common types.
    _BINARY_OP_ADAPTIVE_ADD: 2 => 1, escapes true;
    _BINARY_OP_ADAPTIVE_SUBTRACT: 2 => 1, escapes true;
    _BINARY_OP_ADAPTIVE_MULTIPLY: 2 => 1, escapes true;
    _BINARY_OP_ADAPTIVE_TRUE_DIVIDE: 2 => 1, escapes true;
    _BINARY_OP_ADAPTIVE_AND: 2 => 1, escapes true;
    _BINARY_OP_ADAPTIVE_OR: 2 => 1, escapes true;
    _BINARY_OP_ADAPTIVE_XOR: 2 => 1, escapes true;
    _BINARY_OP_ADAPTIVE_LSHIFT: 2 => 1, escapes true;
    _BINARY_OP_ADAPTIVE_RSHIFT: 2 => 1, escapes true;
    _BINARY_OP_ADAPTIVE_FLOOR_DIVIDE: 2 => 1, escapes true;
    _BINARY_OP_ADAPTIVE_REMAINDER: 2 => 1, escapes true;
    _BINARY_OP_ADAPTIVE_POWER: 2 => 1, escapes true;
    _COMPARE_OP_ADAPTIVE: 2 => 1, escapes true;
    // jitsaw: the same in an inlined body (`optimize::inline`): their fast
    // paths, anything else leaving for the call.
    _BINARY_OP_PURE_ADD: 2 => 1, escapes false;
    _BINARY_OP_PURE_SUBTRACT: 2 => 1, escapes false;
    _BINARY_OP_PURE_MULTIPLY: 2 => 1, escapes false;
    _BINARY_OP_PURE_TRUE_DIVIDE: 2 => 1, escapes false;
    _BINARY_OP_PURE_AND: 2 => 1, escapes false;
    _BINARY_OP_PURE_OR: 2 => 1, escapes false;
    _BINARY_OP_PURE_XOR: 2 => 1, escapes false;
    _BINARY_OP_PURE_FLOOR_DIVIDE: 2 => 1, escapes false;
    _BINARY_OP_PURE_REMAINDER: 2 => 1, escapes false;
    _BINARY_OP_PURE_LSHIFT: 2 => 1, escapes false;
    _BINARY_OP_PURE_RSHIFT: 2 => 1, escapes false;
    _COMPARE_OP: 2 => 1;
    _COMPARE_OP_INT: 2 => 1;
    _COMPARE_OP_FLOAT: 2 => 1;
    _COMPARE_OP_STR: 2 => 1;
    _CONTAINS_OP: 2 => 1;
    _CONTAINS_OP_SET: 2 => 1;
    _CONTAINS_OP_DICT: 2 => 1;
    // Subscripts.
    _BINARY_SUBSCR: 2 => 1;
    // jitsaw: unspecialized forms with inline fast paths.
    _BINARY_SUBSCR_ADAPTIVE: 2 => 1, escapes true;
    _STORE_SUBSCR_ADAPTIVE: 3 => 0, escapes true;
    _BINARY_SUBSCR_LIST_INT: 2 => 1;
    _BINARY_SUBSCR_TUPLE_INT: 2 => 1;
    // jitsaw: the same with both inputs, or the index only, pushed without
    // new references (`optimize::borrow`); a deopt gives them one.
    _BINARY_SUBSCR_LIST_INT_BORROWED: 2 => 1, escapes false;
    _BINARY_SUBSCR_TUPLE_INT_BORROWED: 2 => 1, escapes false;
    _BINARY_SUBSCR_LIST_INT_BORROWED_RIGHT: 2 => 1, escapes false;
    _BINARY_SUBSCR_TUPLE_INT_BORROWED_RIGHT: 2 => 1, escapes false;
    // jitsaw: the subscripts in an inlined body, which leave for the call
    // rather than free the sequence.
    _BINARY_SUBSCR_LIST_INT_PURE: 2 => 1, escapes false;
    _BINARY_SUBSCR_TUPLE_INT_PURE: 2 => 1, escapes false;
    _BINARY_SUBSCR_STR_INT: 2 => 1;
    _BINARY_SUBSCR_DICT: 2 => 1;
    _BINARY_SLICE: 3 => 1;
    _STORE_SLICE: 4 => 0;
    _STORE_SUBSCR: 3 => 0;
    _STORE_SUBSCR_LIST_INT: 3 => 0;
    // jitsaw: the same to a list and index, or the index only, pushed
    // without new references (`optimize::borrow`); a deopt gives them one.
    // The old item's release may run code.
    _STORE_SUBSCR_LIST_INT_BORROWED: 3 => 0, escapes true;
    // jitsaw: the same in an inlined body whose exits materialize its
    // frame, over an item whose release runs no code.
    _STORE_SUBSCR_LIST_INT_PURE: 3 => 0, escapes false;
    _STORE_SUBSCR_LIST_INT_BORROWED_RIGHT: 3 => 0, escapes true;
    _STORE_SUBSCR_DICT: 3 => 0;
    _DELETE_SUBSCR: 2 => 0;
    // Containers.
    _BUILD_TUPLE: o => 1;
    // jitsaw: `_BUILD_TUPLE` in an inlined body.
    _BUILD_TUPLE_PURE: o => 1, escapes false;
    _BUILD_LIST: o => 1;
    // jitsaw: `BUILD_SET` (tier 1 only in CPython).
    _BUILD_SET: o => 1, escapes true;
    _BUILD_MAP: 2 * o => 1;
    _BUILD_CONST_KEY_MAP: o + 1 => 1;
    _BUILD_STRING: o => 1;
    _BUILD_SLICE: if o == 3 { 3 } else { 2 } => 1;
    _LIST_APPEND: o + 1 => o;
    _SET_ADD: o + 1 => o;
    _MAP_ADD: o + 2 => o;
    _LIST_EXTEND: o + 1 => o;
    _SET_UPDATE: o + 1 => o;
    _DICT_UPDATE: o + 1 => o;
    _DICT_MERGE: o + 4 => o + 3;
    _UNPACK_SEQUENCE: 1 => o;
    // jitsaw: unspecialized form with a tuple/list fast path.
    _UNPACK_SEQUENCE_ADAPTIVE: 1 => o, escapes true;
    _UNPACK_SEQUENCE_TWO_TUPLE: 1 => 2;
    _UNPACK_SEQUENCE_TUPLE: 1 => o;
    _UNPACK_SEQUENCE_LIST: 1 => o;
    // jitsaw: an unpacking of a tuple or list and the stores of its items
    // to consecutive locals after it, jumping past them (`optimize::fuse`).
    _UNPACK_SEQUENCE_INTO_LOCALS: 1 => o, escapes false;
    _UNPACK_EX: 1 => (o & 0xFF) + (o >> 8) + 1;
    _MAKE_FUNCTION: 1 => 1;
    _SET_FUNCTION_ATTRIBUTE: 2 => 1;
    // Iteration.
    _GET_ITER: 1 => 1;
    // jitsaw: tier-1 `FOR_ITER` (jumps past the loop when exhausted).
    _FOR_ITER: 1 => 2, escapes true;
    // jitsaw: after `_FOR_ITER`, ends the loop of a generator it resumed
    // directly that returned.
    _FOR_ITER_GEN_RETURNED: 2 => 2, escapes true;
    // jitsaw: `list`, `tuple`, `set`, `sorted`, `any`, `all`, `min`, `max`
    // or `str.join` of a generator expression, which it resumes directly
    // (exits to the call as it is otherwise), coming back to
    // `_CONSUME_GENEXPR_NEXT` with each value (see `ops/iter.rs`).
    _CONSUME_GENEXPR: 3 => 4, escapes true;
    _CONSUME_GENEXPR_NEXT: 4 => 1, escapes true;
    _ITER_CHECK_LIST: 1 => 1;
    _ITER_JUMP_LIST: 1 => 1, escapes false;
    _ITER_NEXT_LIST: 1 => 2;
    _ITER_CHECK_TUPLE: 1 => 1;
    _ITER_JUMP_TUPLE: 1 => 1, escapes false;
    _ITER_NEXT_TUPLE: 1 => 2;
    _ITER_CHECK_RANGE: 1 => 1;
    _ITER_JUMP_RANGE: 1 => 1, escapes false;
    _ITER_NEXT_RANGE: 1 => 2;
    // Globals and attributes.
    _LOAD_GLOBAL: 0 => 1 + (o & 1);
    _GUARD_GLOBALS_VERSION: 0 => 0;
    _GUARD_BUILTINS_VERSION: 0 => 0;
    _LOAD_GLOBAL_MODULE: 0 => 1 + (o & 1);
    _LOAD_GLOBAL_BUILTINS: 0 => 1 + (o & 1);
    // jitsaw: entry guards of code with globals burned in.
    _CHECK_GLOBALS: 0 => 0, escapes false;
    _CHECK_BUILTINS: 0 => 0, escapes false;
    // jitsaw: a module whose attribute is burned in is still a plain module
    // (operand: the module; see `optimize::globals`).
    _CHECK_CONST_MODULE: 0 => 0, escapes false;
    // jitsaw: a class whose attribute is burned in still has the version
    // (oparg) it had (operand: the class).
    _CHECK_CONST_TYPE_VERSION: 0 => 0, escapes false;
    _LOAD_ATTR: 1 => 1 + (o & 1);
    // jitsaw: `_LOAD_ATTR` with a per-site cache of the types it saw
    // (operand: the cache; see `runtime::attr_cache`).
    _LOAD_ATTR_CACHED: 1 => 1 + (o & 1), escapes true;
    _LOAD_ATTR_CACHED_METHOD: 1 => 1 + (o & 1), escapes true;
    // jitsaw: the same for an owner pushed without a reference
    // (`optimize::borrow`; never a method call's: the owner stays).
    _LOAD_ATTR_CACHED_BORROWED: 1 => 1, escapes true;
    _GUARD_TYPE_VERSION: 1 => 1;
    _CHECK_MANAGED_OBJECT_HAS_VALUES: 1 => 1;
    _LOAD_ATTR_INSTANCE_VALUE: 1 => 1 + (o & 1);
    // jitsaw: the same, for an owner pushed without a reference
    // (`optimize::borrow`), which exits give one.
    _GUARD_TYPE_VERSION_BORROWED: 1 => 1, escapes false;
    // jitsaw: class checks of a local's object, redone where a fallback
    // returns (`optimize::classes`); leaves for the interpreter.
    _CHECK_LOCAL_CLASS: 0 => 0, escapes false;
    _CHECK_MANAGED_OBJECT_HAS_VALUES_BORROWED: 1 => 1, escapes false;
    _LOAD_ATTR_INSTANCE_VALUE_BORROWED: 1 => 1 + (o & 1), escapes false;
    // jitsaw: a local's object's instance attribute, loaded, its class
    // checked and its value read in one (`optimize::fuse`; oparg: the
    // method bit; operand: the type version, the value's index in bits
    // 32-47 and the local in bits 48-63).
    _LOAD_ATTR_INSTANCE_VALUE_LOCAL: 0 => 1 + (o & 1), escapes false;
    // jitsaw: in an inlined body, a local's object's attribute read through
    // a per-site cache of the types it saw where that runs no code, else
    // leaving (oparg: the local; operand: the cache, and before the code
    // generator allocates it, the name; see `frontend::inline_body`).
    _LOAD_ATTR_LOCAL_CACHED: 0 => 1, escapes false;
    _CHECK_ATTR_MODULE: 1 => 1;
    _LOAD_ATTR_MODULE: 1 => 1 + (o & 1);
    _CHECK_ATTR_WITH_HINT: 1 => 1;
    _LOAD_ATTR_WITH_HINT: 1 => 1 + (o & 1);
    _LOAD_ATTR_SLOT: 1 => 1 + (o & 1);
    // jitsaw: the same of an owner pushed without a reference
    // (`optimize::borrow`), which exits give one.
    _CHECK_ATTR_WITH_HINT_BORROWED: 1 => 1, escapes false;
    _LOAD_ATTR_WITH_HINT_BORROWED: 1 => 1 + (o & 1), escapes false;
    _LOAD_ATTR_SLOT_BORROWED: 1 => 1 + (o & 1), escapes false;
    _CHECK_ATTR_CLASS: 1 => 1;
    _LOAD_ATTR_CLASS: 1 => 1 + (o & 1);
    _GUARD_DORV_VALUES_INST_ATTR_FROM_DICT: 1 => 1;
    _GUARD_KEYS_VERSION: 1 => 1;
    _LOAD_ATTR_METHOD_WITH_VALUES: 1 => 2;
    _LOAD_ATTR_METHOD_NO_DICT: 1 => 2;
    _CHECK_ATTR_METHOD_LAZY_DICT: 1 => 1;
    _LOAD_ATTR_METHOD_LAZY_DICT: 1 => 2;
    _LOAD_ATTR_NONDESCRIPTOR_WITH_VALUES: 1 => 1;
    _LOAD_ATTR_NONDESCRIPTOR_NO_DICT: 1 => 1;
    _STORE_GLOBAL: 1 => 0;
    _DELETE_GLOBAL: 0 => 0;
    _STORE_ATTR: 2 => 0;
    // jitsaw: `_STORE_ATTR` with a per-site cache (operand: the cache).
    _STORE_ATTR_CACHED: 2 => 0, escapes true;
    _STORE_ATTR_CACHED_BORROWED: 2 => 0, escapes true;
    _DELETE_ATTR: 1 => 0;
    _GUARD_DORV_NO_DICT: 1 => 1;
    _STORE_ATTR_INSTANCE_VALUE: 2 => 0;
    // jitsaw: the same, to an owner pushed without a reference
    // (`optimize::borrow`); the store releases the old value, which may run
    // code.
    _GUARD_DORV_NO_DICT_BORROWED: 1 => 1, escapes false;
    _STORE_ATTR_INSTANCE_VALUE_BORROWED: 2 => 0, escapes true;
    _STORE_ATTR_SLOT: 2 => 0;
    // jitsaw: the stores of an inlined body whose exits materialize its
    // frame: over a value whose release runs no code only (operand as
    // theirs).
    _STORE_ATTR_INSTANCE_VALUE_PURE: 2 => 0, escapes false;
    // jitsaw: `local.x = v` so stored, through a per-site cache (oparg: the
    // local; operand: the cache).
    _STORE_ATTR_LOCAL_CACHED: 1 => 0, escapes false;
    // jitsaw: `SWAP 2; STORE_ATTR` so stored (operand: the cache).
    _STORE_ATTR_SWAPPED_CACHED: 2 => 0, escapes false;
    _STORE_ATTR_SLOT_PURE: 2 => 0, escapes false;
    // jitsaw: the same to an owner pushed without a reference; the old
    // value's release may run code.
    _STORE_ATTR_SLOT_BORROWED: 2 => 0, escapes true;
    // Calls.
    // jitsaw: tier-1 `CALL`/`CALL_KW` without inlining (`_CALL`'s operand:
    // the site's cache of the function it last entered directly).
    _CALL: o + 2 => 1, escapes true;
    _CALL_KW: o + 3 => 1, escapes true;
    // jitsaw: `obj.method()` of a method returning `self` or an immortal
    // constant, without a frame (oparg: the function's version; operand:
    // the constant, or 0 for `self`); anything else leaves for `_CALL`.
    // Releasing `self` may run code.
    _CALL_TRIVIAL: 2 => 1, escapes true;
    // jitsaw: a call inlined in its caller (`optimize::inline`): the
    // entry's checks (oparg: whether the body reads globals, whether the
    // call is a function's, and above those two bits the arguments, with
    // `self` for a method; operand: the callee's code), the room the body
    // needs (oparg: the last stack slot it may use; operand: the caller's
    // frame size), the
    // return (oparg: the call's), the release of the body's own locals
    // before it (oparg: how many), and
    // the fallback's release of what the body had pushed (oparg: the slot
    // above the arguments).
    _CHECK_CALLEE: 0 => 0, escapes false;
    _CHECK_INLINE_ROOM: 0 => 0, escapes false;
    // jitsaw: in an inlined body, an instruction the interpreter never ran,
    // which leaves for the call.
    _INLINE_COLD: 0 => 0, escapes false;
    _INLINE_RETURN: o + 3 => 1, escapes true;
    _INLINE_POP_LOCALS: o + 1 => 1, escapes false;
    _INLINE_UNWIND: 0 => 0, escapes false;
    // jitsaw: the returns of calls inlined in an inlined body in turn.
    _NESTED_RETURN: o + 3 => 1, escapes true;
    _NESTED_INIT_RETURN: o + 3 => 1, escapes true;
    // jitsaw: an inlined body whose exits materialize the callee's frame:
    // where an exit resumes (operand: the callee's code unit), then the
    // frame made and run to its
    // end (oparg: its first local's slot, bit 30 for a function's call;
    // operand: the call's code unit). Reached by exits only.
    _INLINE_EXIT_AT: 0 => 0, escapes false;
    _INLINE_MATERIALIZE: 0 => 0, escapes true;
    // jitsaw: a class call with its `__init__` inlined: the class checked
    // (oparg: the arguments; operand: the class), the function's version
    // (oparg; operand: the function), the entry's other checks (oparg:
    // `_CHECK_CALLEE`'s globals bit; operand: the function), the room
    // (`_CHECK_INLINE_ROOM`), the instance made into the
    // `NULL` slot (oparg: the arguments; operand: the class), the return
    // (oparg: the call's), and the fallback's release of
    // an instance made (oparg: its slot).
    _CHECK_INIT_CLASS: 0 => 0, escapes false;
    _CHECK_FUNC_VERSION: 0 => 0, escapes false;
    _CHECK_KNOWN_CALLEE: 0 => 0, escapes false;
    _INIT_ALLOC: 0 => 0, escapes false;
    _INLINE_INIT_RETURN: o + 3 => 1, escapes true;
    _INIT_DISCARD: 0 => 0, escapes false;
    // jitsaw: a subscript with its class's `__getitem__` inlined: the
    // container's class's version (oparg), then `_CHECK_FUNC_VERSION` and
    // `_CHECK_KNOWN_CALLEE` as for an `__init__`, and the return.
    _CHECK_SUBSCR_CLASS: 0 => 0, escapes false;
    _INLINE_SUBSCR_RETURN: 3 => 1, escapes true;
    // jitsaw: a binary operator with its operands' class's method inlined
    // (`_INLINE_SUBSCR_RETURN` with oparg 1 its return): both operands'
    // class's version (oparg).
    _CHECK_BINARY_CLASSES: 0 => 0, escapes false;
    // jitsaw: tier-1 `CALL_FUNCTION_EX`.
    _CALL_FUNCTION_EX: 3 + (o & 1) => 1, escapes true;
    // jitsaw: tier-1 `CALL_ALLOC_AND_ENTER_INIT`, leaving the instance and
    // `__init__`'s result for `_EXIT_INIT_CHECK`.
    _CALL_ALLOC_AND_ENTER_INIT: o + 2 => 2, escapes true;
    _CHECK_IS_NOT_PY_CALLABLE: o + 2 => o + 2;
    // jitsaw: the callable is not a class whose instances the generic
    // `_CALL` makes itself, entering `__init__` directly (its fallback),
    // nor an instance of a class defining `__call__` in Python, whose
    // method it calls directly.
    _CHECK_NOT_CALLED_DIRECTLY: o + 2 => o + 2, escapes false;
    _CALL_NON_PY_GENERAL: o + 2 => 1;
    _CALL_BUILTIN_CLASS: o + 2 => 1;
    _CALL_BUILTIN_O: o + 2 => 1;
    // jitsaw: in an inlined body, a call of a C function that computes
    // from a float or int alone (operand: its method definition); anything
    // else leaves for the call.
    _CALL_BUILTIN_O_PURE: o + 2 => 1, escapes false;
    _CALL_BUILTIN_FAST: o + 2 => 1;
    _CALL_BUILTIN_FAST_WITH_KEYWORDS: o + 2 => 1;
    _CALL_METHOD_DESCRIPTOR_O: o + 2 => 1;
    _CALL_METHOD_DESCRIPTOR_NOARGS: o + 2 => 1;
    _CALL_METHOD_DESCRIPTOR_FAST: o + 2 => 1;
    _CALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS: o + 2 => 1;
    _CALL_LEN: o + 2 => 1;
    // jitsaw: `len()` in an inlined body, of the types whose sizes are
    // fields; anything else leaves for the call.
    _CALL_LEN_PURE: o + 2 => 1, escapes false;
    _CALL_ISINSTANCE: o + 2 => 1;
    // jitsaw: the same in an inlined body, answering from the types alone
    // and leaving for the call otherwise.
    _CALL_ISINSTANCE_PURE: o + 2 => 1, escapes false;
    // jitsaw: tier-1 `CALL_LIST_APPEND` (its `POP_TOP` is skipped).
    _CALL_LIST_APPEND: 3 => 0, escapes false;
    _CALL_TYPE_1: 3 => 1;
    _CALL_STR_1: 3 => 1;
    _CALL_TUPLE_1: 3 => 1;
    // Exceptions and context managers.
    _PUSH_EXC_INFO: 1 => 2;
    _POP_EXCEPT: 1 => 0;
    _CHECK_EXC_MATCH: 2 => 2;
    _CHECK_EG_MATCH: 2 => 2;
    // jitsaw: tier-1 `RERAISE`; leaves compiled code to unwind.
    _RERAISE: o + 1 => o, escapes false;
    // jitsaw: tier-1 `RAISE_VARARGS`; leaves compiled code to unwind.
    _RAISE_VARARGS: o => 0, escapes true;
    _WITH_EXCEPT_START: 4 => 5;
    // jitsaw: tier-1 `BEFORE_WITH` and `BEFORE_ASYNC_WITH`.
    _BEFORE_WITH: 1 => 2, escapes true;
    _BEFORE_ASYNC_WITH: 1 => 2, escapes true;
    _EXIT_INIT_CHECK: 1 => 0;
    // Pattern matching.
    _GET_LEN: 1 => 2;
    _MATCH_MAPPING: 1 => 2;
    _MATCH_SEQUENCE: 1 => 2;
    _MATCH_CLASS: 3 => 1;
    _MATCH_KEYS: 2 => 3;
    // Names (module and class bodies), cells, `super`, imports.
    // jitsaw: tier-1 `LOAD_NAME` and `LOAD_FROM_DICT_OR_GLOBALS`.
    _LOAD_NAME: 0 => 1, escapes true;
    _LOAD_FROM_DICT_OR_GLOBALS: 1 => 1, escapes true;
    _STORE_NAME: 1 => 0;
    _DELETE_NAME: 0 => 0;
    _LOAD_LOCALS: 0 => 1;
    _LOAD_BUILD_CLASS: 0 => 1;
    _SETUP_ANNOTATIONS: 0 => 0;
    _DELETE_DEREF: 0 => 0;
    _LOAD_FROM_DICT_OR_DEREF: 1 => 1;
    _LOAD_SUPER_ATTR_ATTR: 3 => 1;
    _LOAD_SUPER_ATTR_METHOD: 3 => 2;
    // jitsaw: tier-1 `LOAD_SUPER_ATTR`, `IMPORT_NAME`, `IMPORT_FROM`.
    _LOAD_SUPER_ATTR: 3 => 1 + (o & 1), escapes true;
    _IMPORT_NAME: 2 => 1, escapes true;
    _IMPORT_FROM: 1 => 2, escapes true;
    // Generators and coroutines.
    // jitsaw: leaves compiled code with the value (see `STATUS_YIELD`).
    _YIELD_VALUE: 1 => 1, escapes false;
    // jitsaw: tier-1 `SEND`, `CLEANUP_THROW`, `END_ASYNC_FOR`.
    _SEND: 2 => 2, escapes true;
    // jitsaw: `_SEND` at an `async for`, which also resumes async
    // generators directly.
    _SEND_ASYNC_FOR: 2 => 2, escapes true;
    // jitsaw: after `_SEND`, jumps when a generator it resumed directly
    // returned.
    _SEND_GEN_RETURNED: 2 => 2, escapes false;
    // jitsaw: after the `_SEND` of an `async for`, ends the loop when the
    // async generator it resumed directly returned (popping the iterator:
    // see `jump_pops`).
    _ASYNC_FOR_RETURNED: 2 => 2, escapes true;
    // jitsaw: `_SEND_GEN_RETURNED` after `_SEND_ASYNC_FOR`, which also
    // finishes an async generator's `asend` awaitable.
    _ASYNC_FOR_SENT: 2 => 2, escapes false;
    _CLEANUP_THROW: 3 => 2, escapes false;
    // jitsaw: `CALL_INTRINSIC_1 INTRINSIC_ASYNC_GEN_WRAP`, which only
    // allocates (see `ops/gen.rs`).
    _ASYNC_GEN_WRAP: 1 => 1, escapes false;
    _END_ASYNC_FOR: 2 => 0, escapes false;
    _GET_AWAITABLE: 1 => 1;
    _GET_AITER: 1 => 1;
    _GET_ANEXT: 1 => 2;
    _GET_YIELD_FROM_ITER: 1 => 1;
    // Control.
    _POP_JUMP_IF_FALSE: 1 => 0, escapes false;
    _POP_JUMP_IF_TRUE: 1 => 0, escapes false;
    _IS_NONE: 1 => 1;
    // jitsaw: the same of a value pushed without a reference.
    _IS_NONE_BORROWED: 1 => 1, escapes false;
    // jitsaw: an unconditional jump.
    _JUMP: 0 => 0, escapes false;
    _SET_IP: 0 => 0;
    // jitsaw: a forced deopt now and then (`JITSAW_CHAOS`, for testing).
    _CHAOS: 0 => 0, escapes false;
    // jitsaw: checks the stack pointer against the compiler's depth (`JITSAW_DEBUG`).
    _CHECK_STACK_DEPTH: 0 => 0, escapes false;
    // jitsaw: adds one to the counter at its operand (counting mode, profiles).
    _COUNT_RUN: 0 => 0, escapes false;
    // jitsaw: counts a specialized instruction running its generic form.
    _GENERIC: 0 => 0, escapes false;
    // jitsaw: the interpreter's quickening of adaptive instructions and `RESUME`.
    _QUICKEN: 0 => 0, escapes false;
    _QUICKEN_REPORT: 0 => 0, escapes false;
    _QUICKEN_COUNT: 0 => 0, escapes false;
    _QUICKEN_RESUME: 0 => 0, escapes false;
    // jitsaw: at a back edge of code compiled for its first call, counts
    // turns; a long call deopts to be entered again, compiled anew
    // (`hook::osr`). Oparg: the loop head's code unit.
    _CHECK_LONG_LOOP: 0 => 0, escapes false;
    // jitsaw: `RESUME`/`JUMP_BACKWARD`: events, then the instrumentation version
    // (which it checks itself, so it needs no `_CHECK_VALIDITY` after it).
    _CHECK_EVAL_BREAKER: 0 => 0, escapes false;
    _CHECK_PERIODIC: 0 => 0;
    _CHECK_VALIDITY: 0 => 0;
    // jitsaw: `_CHECK_VALIDITY` for code that had monitoring data when
    // compiled (`_CHECK_VALIDITY` leaves such code at once).
    _CHECK_VALIDITY_MONITORED: 0 => 0, escapes false;
    // jitsaw: leaves for the interpreter if the frame has a frame object,
    // through which its locals may have been written (`optimize::types`).
    _CHECK_NO_FRAME_OBJECT: 0 => 0, escapes false;
    _POP_FRAME: 1 => 0;
    // jitsaw: an instruction left to the interpreter.
    _DEOPT: 0 => 0;
    // jitsaw: exit stubs (set where the interpreter resumes) and the shared
    // tails they jump to (deopt, or leave with an exception set).
    _EXIT_IP: 0 => 0, escapes false;
    _DEOPT_TAIL: 0 => 0, escapes false;
    _ERROR_TAIL: 0 => 0, escapes false;
    // jitsaw: where a compiled `__init__` that a generic `_CALL` of a class
    // entered directly returns to (one per compiled code, after its exits).
    _INIT_RETURN: 1 => 0, escapes false;
}

impl Uop {
    /// The micro-op's table row.
    pub fn def(self) -> &'static UopDef {
        &UOPS[self as usize]
    }

    /// The micro-op's name.
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// `(popped, pushed)` for `oparg`.
    pub fn effect(self, oparg: u32) -> (i32, i32) {
        (self.def().effect)(oparg)
    }

    /// The micro-op's stencil.
    pub fn stencil(self) -> &'static Stencil {
        tables().stencils[self as usize]
    }

    /// The stencil copied for the micro-op with `oparg`: its copy for that
    /// oparg if it has one (see `replicated_stencil!` in the stencils),
    /// else its stencil.
    pub fn stencil_for(self, oparg: u32) -> &'static Stencil {
        let copies = &tables().copies[self as usize];
        let exact = copies.exact.get(oparg as usize).copied().flatten();
        exact
            .or(copies.low_bit[oparg as usize & 1])
            .unwrap_or_else(|| self.stencil())
    }

    /// CPython's number for this micro-op, if CPython has one.
    pub fn cpython_id(self) -> Option<u16> {
        tables().cpython_id[self as usize]
    }

    /// The jitsaw micro-op for CPython's micro-op number `id`, if any.
    pub fn from_cpython(id: u16) -> Option<Uop> {
        tables().from_cpython.get(id as usize).copied().flatten()
    }

    /// Whether the micro-op's exit is meant to leave for the interpreter
    /// (unsupported code, quickening, instrumentation) rather than being a
    /// guard whose instruction can fall back to its generic form.
    pub fn exits_to_interpreter(self) -> bool {
        matches!(
            self,
            Uop::_DEOPT
                | Uop::_QUICKEN
                | Uop::_QUICKEN_REPORT
                | Uop::_CHECK_LONG_LOOP
                | Uop::_CHAOS
                | Uop::_CHECK_VALIDITY
                | Uop::_CHECK_VALIDITY_MONITORED
                | Uop::_CHECK_NO_FRAME_OBJECT
                | Uop::_CHECK_LOCAL_CLASS
                | Uop::_CHECK_EVAL_BREAKER
                | Uop::_IMPORT_FROM
                | Uop::_CHECK_GLOBALS
                | Uop::_CHECK_BUILTINS
        )
    }

    /// Whether the micro-op has an exit that is a guard's (to its
    /// instruction's fallback, else a deopt), rather than a way to the
    /// interpreter by design.
    pub fn guard_exits(self) -> bool {
        !self.exits_to_interpreter() && self.stencil().has(stencils::HoleValue::Exit)
    }

    /// Whether the micro-op reads or computes ints in words, and only ints
    /// (`optimize::raw`: a value of the other kind makes it leave).
    pub fn computes_ints_in_words(self) -> bool {
        matches!(
            self,
            Uop::_RAW_LOAD_FAST
                | Uop::_RAW_LOAD_ATTR
                | Uop::_RAW_LOAD_ATTR_LOCAL_CACHED
                | Uop::_RAW_ADD
                | Uop::_RAW_SUBTRACT
                | Uop::_RAW_MULTIPLY
        )
    }

    /// Whether the micro-op is one of an expression or a loop computed in
    /// machine words (`optimize::raw`, `optimize::loops`).
    pub fn computes_in_words(self) -> bool {
        matches!(
            self,
            Uop::_RAW_LOAD_FAST
                | Uop::_RAW_LOAD_FAST_FLOAT
                | Uop::_RAW_LOAD_CONST
                | Uop::_RAW_LOAD_ATTR
                | Uop::_RAW_LOAD_ATTR_FLOAT
                | Uop::_RAW_LOAD_FAST_REAL
                | Uop::_RAW_LOAD_ATTR_REAL
                | Uop::_RAW_LOAD_ATTR_LOCAL_CACHED
                | Uop::_RAW_LOAD_ATTR_LOCAL_CACHED_FLOAT
                | Uop::_RAW_LOAD_ATTR_LOCAL_CACHED_REAL
                | Uop::_RAW_LOAD_FAST_ANY
                | Uop::_RAW_LOAD_ATTR_ANY
                | Uop::_RAW_LOAD_ATTR_LOCAL_CACHED_ANY
                | Uop::_RAW_ADD_ANY
                | Uop::_RAW_SUBTRACT_ANY
                | Uop::_RAW_MULTIPLY_ANY
                | Uop::_RAW_BOX_ANY
                | Uop::_RAW_ADD
                | Uop::_RAW_SUBTRACT
                | Uop::_RAW_MULTIPLY
                | Uop::_RAW_FLOOR_DIVIDE
                | Uop::_RAW_REMAINDER
                | Uop::_RAW_ADD_FLOAT
                | Uop::_RAW_SUBTRACT_FLOAT
                | Uop::_RAW_MULTIPLY_FLOAT
                | Uop::_RAW_TRUE_DIVIDE
                | Uop::_RAW_POWER_FLOAT
                | Uop::_RAW_BOX_INT
                | Uop::_RAW_BOX_FLOAT
                | Uop::_RAW_BOX_FLOAT_INTO_FAST
                | Uop::_RAW_UPDATE_LIST_ITEM_FLOAT
                | Uop::_RAW_COPY
                | Uop::_RAW_STORE_WORD
                | Uop::_RAW_CHECK_FAST_PLAIN
                | Uop::_RAW_FOR_ITER_RANGE
                | Uop::_RAW_COMPARE_JUMP
                | Uop::_RAW_CHECK_EVAL_BREAKER
                | Uop::_RAW_BOX_FAST_INT
                | Uop::_RAW_BOX_FAST_FLOAT
        )
    }

    /// The micro-op pushing a burned-in value (`optimize::globals`): with
    /// a new reference unless `immortal`, and a `NULL` after it for a
    /// call's (`with_null`).
    pub fn load_constant(immortal: bool, with_null: bool) -> Uop {
        match (immortal, with_null) {
            (false, false) => Uop::_LOAD_CONST_INLINE,
            (false, true) => Uop::_LOAD_CONST_INLINE_WITH_NULL,
            (true, false) => Uop::_LOAD_CONST_INLINE_BORROW,
            (true, true) => Uop::_LOAD_CONST_INLINE_BORROW_WITH_NULL,
        }
    }

    /// Whether the micro-op is the first check of an inlined call's entry
    /// (`InlineBody::entry_checks`).
    pub fn enters_inlined_body(self) -> bool {
        matches!(
            self,
            Uop::_CHECK_CALLEE
                | Uop::_CHECK_INIT_CLASS
                | Uop::_CHECK_SUBSCR_CLASS
                | Uop::_CHECK_BINARY_CLASSES
        )
    }

    /// Whether control can go on to the next micro-op (yields excepted:
    /// the code resumes there only after the generator is resumed).
    pub fn continues(self) -> bool {
        !self.ends_flow() && self.stencil().has(stencils::HoleValue::Continue)
    }

    /// For a micro-op whose jump leaves another depth than its stack
    /// effect says: how many values it pops (an exhausted iterator as its
    /// loop ends, and above it a generator's return value, or an `async
    /// for`'s awaitable and its generator's return value; none for an
    /// operation into a local, jumping past the store that would pop its
    /// result; the sequence for an unpacking into locals, past their
    /// stores).
    pub fn jump_pops(self) -> Option<usize> {
        match self {
            Uop::_FOR_ITER
            | Uop::_ITER_JUMP_LIST
            | Uop::_ITER_JUMP_TUPLE
            | Uop::_ITER_JUMP_RANGE => Some(1),
            Uop::_FOR_ITER_GEN_RETURNED => Some(2),
            Uop::_ASYNC_FOR_RETURNED => Some(3),
            Uop::_UNPACK_SEQUENCE_INTO_LOCALS => Some(1),
            op if op.jumps_past_stores() => Some(0),
            _ => None,
        }
    }

    /// Whether the micro-op's jump goes past the stores to locals after its
    /// instruction, having done them itself (the operations into locals).
    pub fn jumps_past_stores(self) -> bool {
        matches!(
            self,
            Uop::_BINARY_OP_ADD_FLOAT_INTO_LOCAL
                | Uop::_BINARY_OP_SUBTRACT_FLOAT_INTO_LOCAL
                | Uop::_BINARY_OP_MULTIPLY_FLOAT_INTO_LOCAL
                | Uop::_RAW_BOX_FLOAT_INTO_FAST
                | Uop::_UNPACK_SEQUENCE_INTO_LOCALS
        )
    }

    /// For a micro-op that first in its instruction reads inputs the
    /// interpreter has on the stack from where they are (the `_LOCALS`
    /// operations): how many it pushes before leaving for the
    /// instruction's fallback or the interpreter, which start with them.
    pub fn deopt_pushes(self) -> i32 {
        match self {
            Uop::_BINARY_OP_ADD_FLOAT_LOCALS
            | Uop::_BINARY_OP_SUBTRACT_FLOAT_LOCALS
            | Uop::_BINARY_OP_MULTIPLY_FLOAT_LOCALS
            | Uop::_BINARY_OP_ADD_INT_LOCALS
            | Uop::_BINARY_OP_SUBTRACT_INT_LOCALS
            | Uop::_BINARY_OP_MULTIPLY_INT_LOCALS
            | Uop::_BINARY_OP_ADD_FLOAT_INTO_LOCAL
            | Uop::_BINARY_OP_SUBTRACT_FLOAT_INTO_LOCAL
            | Uop::_BINARY_OP_MULTIPLY_FLOAT_INTO_LOCAL => 2,
            Uop::_LOAD_ATTR_INSTANCE_VALUE_LOCAL
            | Uop::_LOAD_ATTR_LOCAL_CACHED
            | Uop::_STORE_ATTR_LOCAL_CACHED => 1,
            _ => 0,
        }
    }

    /// Whether control never goes on to the next micro-op of the code:
    /// jumps, returns, deopts, raises, and yields (the runtime resumes the
    /// generator at the next instruction).
    pub fn ends_flow(self) -> bool {
        matches!(
            self,
            Uop::_JUMP
                | Uop::_POP_FRAME
                | Uop::_DEOPT
                | Uop::_RERAISE
                | Uop::_RAISE_VARARGS
                | Uop::_YIELD_VALUE
        )
    }

    /// Whether the micro-op's operand is a per-site cache the code generator
    /// allocates (zeroed, [`crate::codegen::SiteCache`]s) and owns with the
    /// code; the stencil's helper keeps what it learns at run time there.
    pub fn has_site_cache(self) -> bool {
        self.site_cache_slots() > 0
    }

    /// Whether the micro-op is an arithmetic operator (of those an inlined
    /// body may have).
    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            Uop::_BINARY_OP_ADD_INT
                | Uop::_BINARY_OP_SUBTRACT_INT
                | Uop::_BINARY_OP_MULTIPLY_INT
                | Uop::_BINARY_OP_ADD_FLOAT
                | Uop::_BINARY_OP_SUBTRACT_FLOAT
                | Uop::_BINARY_OP_MULTIPLY_FLOAT
                | Uop::_BINARY_OP_PURE_ADD
                | Uop::_BINARY_OP_PURE_SUBTRACT
                | Uop::_BINARY_OP_PURE_MULTIPLY
                | Uop::_BINARY_OP_PURE_TRUE_DIVIDE
                | Uop::_BINARY_OP_PURE_AND
                | Uop::_BINARY_OP_PURE_OR
                | Uop::_BINARY_OP_PURE_XOR
                | Uop::_BINARY_OP_PURE_FLOOR_DIVIDE
                | Uop::_BINARY_OP_PURE_REMAINDER
                | Uop::_BINARY_OP_PURE_LSHIFT
                | Uop::_BINARY_OP_PURE_RSHIFT
        )
    }

    /// Whether the micro-op's oparg names a local of the frame: in an
    /// inlined body, one of the callee's, moved to where the body's locals
    /// are.
    pub fn names_local(self) -> bool {
        matches!(
            self,
            Uop::_LOAD_FAST
                | Uop::_LOAD_FAST_BORROW
                | Uop::_STORE_FAST
                | Uop::_LOAD_ATTR_LOCAL_CACHED
                | Uop::_STORE_ATTR_LOCAL_CACHED
                | Uop::_RAW_LOAD_FAST
                | Uop::_RAW_LOAD_FAST_FLOAT
                | Uop::_RAW_LOAD_FAST_REAL
                | Uop::_RAW_LOAD_FAST_ANY
                // (The local in the low 24 bits, a word above.)
                | Uop::_RAW_LOAD_ATTR_LOCAL_CACHED
                | Uop::_RAW_LOAD_ATTR_LOCAL_CACHED_FLOAT
                | Uop::_RAW_LOAD_ATTR_LOCAL_CACHED_REAL
                | Uop::_RAW_LOAD_ATTR_LOCAL_CACHED_ANY
        )
    }

    /// Whether the micro-op is an inlined body's access to an attribute
    /// through a per-site cache of the types it meets, followed by the
    /// attribute's name (`LOCAL_CACHED_NAME`): an inline value or a slot
    /// in the stencil, anything else by `jitsaw_load_attr_pure` or
    /// `jitsaw_store_attr_pure`, which classify a type running no Python
    /// code.
    pub const fn caches_named_attribute(self) -> bool {
        matches!(
            self,
            Uop::_LOAD_ATTR_LOCAL_CACHED
                | Uop::_STORE_ATTR_LOCAL_CACHED
                | Uop::_STORE_ATTR_SWAPPED_CACHED
                | Uop::_RAW_LOAD_ATTR_LOCAL_CACHED
                | Uop::_RAW_LOAD_ATTR_LOCAL_CACHED_FLOAT
                | Uop::_RAW_LOAD_ATTR_LOCAL_CACHED_REAL
                | Uop::_RAW_LOAD_ATTR_LOCAL_CACHED_ANY
        )
    }

    /// How many consecutive [`crate::codegen::SiteCache`]s the micro-op's
    /// site cache takes (see [`Uop::has_site_cache`]).
    pub const fn site_cache_slots(self) -> usize {
        match self {
            Uop::_LOAD_ATTR_CACHED
            | Uop::_LOAD_ATTR_CACHED_METHOD
            | Uop::_LOAD_ATTR_CACHED_BORROWED
            | Uop::_STORE_ATTR_CACHED
            | Uop::_STORE_ATTR_CACHED_BORROWED => 1,
            // The entries, then the name.
            _ if self.caches_named_attribute() => 2,
            // A `ResumeCache`; two `CallCache` entries.
            Uop::_SEND
            | Uop::_SEND_ASYNC_FOR
            | Uop::_FOR_ITER
            | Uop::_CONSUME_GENEXPR
            | Uop::_CONSUME_GENEXPR_NEXT
            | Uop::_CALL => 2,
            // A `KwCallCache`.
            Uop::_CALL_KW => 1,
            _ => 0,
        }
    }

    /// Whether `frame->instr_ptr` must be current when the micro-op runs
    /// (a `_SET_IP` before it): its stencil calls out, and what it calls may
    /// run Python code that looks at the frame (a `__del__` reading
    /// `f_lineno`). Exits set the pointer themselves, and so do
    /// `jitsaw_dealloc` when freeing an object could run Python code and
    /// `jitsaw_handle_pending` (`runtime::location`); `jitsaw_free_quietly`
    /// frees only what its callers know runs no code; `jitsaw_local_monitors`
    /// only reads. The exceptions only allocate and free ints,
    /// floats and strings, which runs no Python code (CPython 3.13 collects
    /// garbage at the eval breaker, not in the allocator).
    pub fn needs_ip(self) -> bool {
        tables().needs_ip[self as usize]
    }

    /// [`Uop::needs_ip`] worked out from its stencil (once per micro-op,
    /// while the tables are built).
    fn calls_needing_ip(self, stencil: &Stencil) -> bool {
        // Arithmetic: the `_PURE` forms' slow paths are CPython's int
        // operations of two exact ints. Attributes through named site
        // caches: they classify a type (`runtime::attr_cache`), running no
        // Python code, and release only what runs none.
        !(self.is_arithmetic()
            || self.caches_named_attribute()
            || matches!(
                self,
                Uop::_BINARY_OP_ADD_UNICODE
                | Uop::_COMPARE_OP_INT
                | Uop::_COMPARE_OP_FLOAT
                | Uop::_COMPARE_OP_STR
                | Uop::_ITER_NEXT_RANGE
                // Allocates an instance: no code runs (CPython 3.13
                // collects garbage at the eval breaker).
                | Uop::_INIT_ALLOC
                // Free only an int (the index); allocate only the length;
                // allocate a tuple (or, failing, release what bodies push).
                | Uop::_BINARY_SUBSCR_LIST_INT_PURE
                | Uop::_BINARY_SUBSCR_TUPLE_INT_PURE
                | Uop::_CALL_LEN_PURE
                | Uop::_BUILD_TUPLE_PURE
                // Calls only a function of `hook::PURE_MATH` of a float or
                // an int, which runs no Python code.
                | Uop::_CALL_BUILTIN_O_PURE
                // Reads types' MROs, releases no last reference.
                | Uop::_CALL_ISINSTANCE_PURE
                | Uop::_STORE_ATTR_INSTANCE_VALUE_PURE
                | Uop::_STORE_ATTR_SLOT_PURE
                | Uop::_STORE_SUBSCR_LIST_INT_PURE
                | Uop::_RAW_BOX_INT
                | Uop::_RAW_BOX_ANY
                | Uop::_RAW_BOX_FLOAT
                | Uop::_RAW_BOX_FLOAT_INTO_FAST
                | Uop::_RAW_UPDATE_LIST_ITEM_FLOAT
                | Uop::_RAW_BOX_FAST_INT
                | Uop::_RAW_BOX_FAST_FLOAT
            ))
            && stencil.calls_out_except(&[
                "jitsaw_dealloc",
                "jitsaw_free_quietly",
                "jitsaw_handle_pending",
                "jitsaw_local_monitors",
            ])
    }

    /// Whether the micro-op may run arbitrary Python code, after which
    /// instrumentation may have changed.
    pub fn escapes(self) -> bool {
        match (self.def().jitsaw_escapes, self.cpython_flags()) {
            (Some(e), _) => e,
            (None, Some(flags)) => flags & opcode::HAS_ESCAPES_FLAG != 0,
            (None, None) => true,
        }
    }

    /// CPython's `_PyUop_Flags` for this micro-op, when CPython describes it.
    pub fn cpython_flags(self) -> Option<u32> {
        let id = self.cpython_id()? as usize;
        let info = &cuop::UOP_INFO[id];
        (info.popped[0] >= 0).then_some(info.flags as u32)
    }
}

/// Lookups derived once from the table, the stencils and CPython's names.
struct Tables {
    stencils: Vec<&'static Stencil>,
    /// Each micro-op's copies of its stencil for some opargs.
    copies: Vec<Copies>,
    cpython_id: Vec<Option<u16>>,
    from_cpython: Vec<Option<Uop>>,
    /// [`Uop::needs_ip`] of each micro-op.
    needs_ip: Vec<bool>,
}

/// Opargs below this may have their own copies of a stencil.
const MAX_COPIED_OPARG: usize = 16;

/// A micro-op's copies of its stencil (see `replicated_stencil!` in the
/// stencils).
#[derive(Clone, Copy, Default)]
struct Copies {
    /// For one oparg (`_SWAP__2`), by oparg.
    exact: [Option<&'static Stencil>; MAX_COPIED_OPARG],
    /// For the opargs with one low bit (`_LOAD_ATTR_SLOT__LOW1`), by bit.
    low_bit: [Option<&'static Stencil>; 2],
}

/// What a stencil's name says it is a copy of: the micro-op's name, the
/// oparg or low bit, and whether it is the low bit.
fn copy_of(stencil: &str) -> Option<(&str, usize, bool)> {
    if !stencil.ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (name, key) = stencil.rsplit_once("__")?;
    let (key, low_bit) = match key.strip_prefix("LOW") {
        Some(bit) => (bit, true),
        None => (key, false),
    };
    let key: usize = key.parse().ok()?;
    (key < if low_bit { 2 } else { MAX_COPIED_OPARG }).then_some((name, key, low_bit))
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        // Micro-ops are found by name through their stencils' positions:
        // start-up pays for this table (searching `ALL` for each copy and
        // each CPython micro-op compared 400 000 strings; a binary search
        // of the sorted stencils for each, 300 000 instructions).
        let index: HashMap<&str, usize, FxBuildHasher> = stencils::STENCILS
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name(), i))
            .collect();
        let mut uop_at = vec![None; stencils::STENCILS.len()];
        let stencils: Vec<&'static Stencil> = Uop::ALL
            .iter()
            .map(|&u| {
                let i = *index
                    .get(u.name())
                    .unwrap_or_else(|| panic!("jitsaw: micro-op {} has no stencil", u.name()));
                uop_at[i] = Some(u);
                &stencils::STENCILS[i]
            })
            .collect();
        let by_name = |name: &str| index.get(name).and_then(|&i| uop_at[i]);
        let mut copies = vec![Copies::default(); Uop::ALL.len()];
        for s in &stencils::STENCILS {
            if let Some((name, key, low_bit)) = copy_of(s.name()) {
                if let Some(u) = by_name(name) {
                    let copies = &mut copies[u as usize];
                    if low_bit {
                        copies.low_bit[key] = Some(s);
                    } else {
                        copies.exact[key] = Some(s);
                    }
                }
            }
        }
        let mut cpython_id: Vec<Option<u16>> = vec![None; Uop::ALL.len()];
        let mut from_cpython = vec![None; cuop::MAX_UOP_ID as usize + 1];
        for id in 0..=cuop::MAX_UOP_ID {
            if let Some(u) = by_name(cuop::UOP_INFO[id as usize].name()) {
                // The first id of a name, as a search from 0 found it.
                if cpython_id[u as usize].is_none() {
                    cpython_id[u as usize] = Some(id);
                    from_cpython[id as usize] = Some(u);
                }
            }
        }
        Tables {
            copies,
            cpython_id,
            from_cpython,
            needs_ip: Uop::ALL
                .iter()
                .zip(&stencils)
                .map(|(u, s)| u.calls_needing_ip(s))
                .collect(),
            stencils,
        }
    })
}

/// A micro-op with its arguments, as the frontend emits it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UopInst {
    /// Which micro-op.
    pub op: Uop,
    /// Its oparg.
    pub oparg: u32,
    /// Its 64-bit operand (a cache value, a constant, an address).
    pub operand: u64,
    /// Index of the bytecode instruction it belongs to.
    pub inst: u32,
    /// For micro-ops that jump: the index of the target instruction, or a
    /// [`LABEL`]. For one whose stencil does not jump, a label is where its
    /// exits go instead of its instruction's fallback.
    pub jump: Option<u32>,
}

/// A [`UopInst::jump`] with this bit set names a micro-op of the same
/// instruction's main code, `jump & !LABEL` after its first, rather than an
/// instruction: the internal branches of code kept in words
/// (`optimize::loops`), the last pass, after which nothing moves micro-ops
/// within an instruction.
pub const LABEL: u32 = 1 << 31;

impl UopInst {
    /// Micro-op `op` of instruction `inst`, not a jump.
    pub fn at(op: Uop, oparg: u32, operand: u64, inst: u32) -> UopInst {
        UopInst {
            op,
            oparg,
            operand,
            inst,
            jump: None,
        }
    }

    /// The micro-op of its instruction's main code that the jump names, if
    /// it is a [`LABEL`].
    pub fn label(&self) -> Option<u32> {
        self.jump.filter(|j| j & LABEL != 0).map(|j| j & !LABEL)
    }

    /// The stencil copied for this micro-op (see [`Uop::stencil_for`]).
    pub fn stencil(&self) -> &'static Stencil {
        self.op.stencil_for(self.oparg)
    }
}

/// One bytecode instruction and the micro-ops it became.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inst {
    /// Code-unit offset of its first unit (an `EXTENDED_ARG` if any): where
    /// the interpreter must resume to re-execute it.
    pub start: u32,
    /// Code-unit offset of the opcode itself: `frame->instr_ptr` while it runs.
    pub offset: u32,
    /// The opcode as found (possibly specialized).
    pub opcode: u8,
    /// The full oparg.
    pub oparg: u32,
    /// Its micro-ops: `uops[first..first + count]` of the program.
    pub first: u32,
    /// Number of micro-ops.
    pub count: u32,
    /// Its out-of-line generic form, `uops[fallback..fallback +
    /// fallback_count]`, where its guards go when they fail (empty when they
    /// deopt to the interpreter).
    pub fallback: u32,
    /// Number of micro-ops of the generic form.
    pub fallback_count: u32,
}

/// A whole code object in micro-ops: what the frontend produces, the
/// optimizer rewrites and the code generator compiles. `uops` holds every
/// instruction's micro-ops in bytecode order, then the generic fallbacks.
#[derive(Clone, Debug, Default)]
pub struct Program {
    /// Every instruction, in bytecode order.
    pub insts: Vec<Inst>,
    /// Every micro-op, in layout order.
    pub uops: Vec<UopInst>,
    /// Address of the code object's first code unit (for `instr_ptr`).
    pub code_start: u64,
    /// The instrumentation version the program was built under.
    pub version: u64,
    /// `co_consts` items, borrowed from the code object, and whether each
    /// is immortal.
    pub consts: Vec<(u64, bool)>,
    /// Exception handlers: instruction index and the stack depth the
    /// unwinder enters it with.
    pub handlers: Vec<(u32, u32)>,
    /// The exception table's entries, decoded: the code-unit range each
    /// covers (`start..end`, in order) and its handler, for the runtime's
    /// unwinding to search (see [`crate::codegen::Compiled::handler_for`]).
    pub exception_entries: Vec<(u32, u32, Handler)>,
    /// Where the value stack starts in the frame (`co_nlocalsplus`).
    pub stack_base: u32,
    /// The frame's words, its header's included (`co_framesize`).
    pub frame_size: u32,
    /// The values global loads find now, which the optimizer may burn in
    /// (`optimize::globals`).
    pub known_globals: Vec<KnownGlobal>,
    /// The module and class attributes that attribute loads of burned-in
    /// globals find now, which the optimizer may burn in with them.
    pub known_attrs: Vec<KnownAttr>,
    /// What is known of the objects the code refers to (its constants and
    /// the globals it may burn in), for type propagation.
    pub known_objects: Vec<KnownObject>,
    /// Whether `optimize::types` runs: not for code compiled at its first
    /// call, most of which runs once.
    pub propagate_types: bool,
    /// How many locals hold arguments when the code starts at its first
    /// instruction; the others are unbound then.
    pub args: u32,
    /// Whether facts about locals may outlive Python code run meanwhile,
    /// resting on the frame having no frame object (`optimize::types`).
    pub local_facts: bool,
    /// Whether class checks of a local's object may be kept across a
    /// fallback's return, checked again at its end (`optimize::classes`):
    /// not once those checks failed too often.
    pub class_facts: bool,
    /// The global loads burned in: the code generator makes each one a
    /// site that invalidation can turn into a deopt, and the runtime
    /// invalidates the code when one of their names changes.
    pub burned: Vec<Burned>,
    /// The module and class attributes burned in with them (see
    /// [`Burned::attrs`]): the runtime invalidates the code when a module's
    /// changes; a class's is checked by its version.
    pub burned_attrs: Vec<KnownAttr>,
    /// Code-unit offsets of adaptive instructions compiled without their
    /// inline fast paths (1-2 KB of code each, much of the code compiled
    /// for the paths a function's first calls did not take), because the
    /// interpreter never ran them in the calls before compiling and they
    /// are outside loops. Should one run after all, the runtime compiles
    /// the code again, with the fast paths or the interpreter's
    /// specialization.
    pub cold: Vec<u32>,
    /// `co_consts` items that are exact ints a machine word holds or exact
    /// floats: their words (an int's value, a float's bits) and whether
    /// they are floats (see `optimize::raw`).
    pub const_words: Vec<Option<(i64, bool)>>,
    /// Code-unit offsets of instructions compiled in their generic form
    /// (see `frontend::CodeInput::generic`).
    pub generic: Vec<u32>,
    /// Code-unit offsets of loop heads not kept in words (see
    /// `frontend::CodeInput::no_words`).
    pub no_words: Vec<u32>,
    /// Code-unit offsets of calls whose bodies compute ints as of either
    /// kind (see `frontend::CodeInput::either_kinds`).
    pub either_kinds: Vec<u32>,
    /// Callees' bodies to inline at their calls (see `optimize::inline`).
    pub inline_bodies: Vec<InlineBody>,
    /// The bytecode instructions of the bodies inlined, nested ones
    /// included: compiled as much as the code's own, for the compile time
    /// per instruction the stats report.
    pub inlined_instructions: u32,
}

/// A method of a class inlined where the class's machinery calls it: a
/// class call's `__init__` (see [`InlineSite::init`]), a subscript's
/// `__getitem__` ([`InlineSite::getitem`]); what its entry checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassCallee {
    /// The class.
    pub class: u64,
    /// Its type version, which vouches for its method (and an `__init__`'s
    /// allocation).
    pub class_version: u32,
    /// The method.
    pub function: u64,
    /// The function's version, which vouches for its code.
    pub function_version: u32,
}

/// A call site whose callee is inlined, and that callee (what
/// `frontend::InlineCall` predicts and [`InlineBody`] keeps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InlineSite {
    /// The `CALL`'s offset (or the subscript's, see `getitem`).
    pub offset: u32,
    /// The callee's code object.
    pub code: u64,
    /// Its `co_stacksize`.
    pub stacksize: u32,
    /// Whether the call is a method call (`obj.m(args)`: the callable, then
    /// `self` and the arguments) rather than a function's (the callable,
    /// `NULL`, the arguments).
    pub method: bool,
    /// For a class call (the class, `NULL`, the arguments) whose `__init__`
    /// is the callee: the instance is made into the `NULL` slot, as `self`
    /// (its `__init__`'s returns are all `return None`).
    pub init: Option<ClassCallee>,
    /// For a subscript (the container, the subscript; `offset` is the
    /// `BINARY_SUBSCR`'s) whose container's class's `__getitem__` is the
    /// callee, taking them as its two parameters; or, where `binary`, a
    /// binary operator (`offset` the `BINARY_OP`'s) of two instances of a
    /// class whose method for it (`__sub__`) is the callee.
    pub getitem: Option<ClassCallee>,
    /// Whether `getitem` is a binary operator's method.
    pub binary: bool,
}

/// The body of a callee to inline at a call (`frontend::inline_body`,
/// `optimize::inline`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlineBody {
    /// The call and its callee.
    pub site: InlineSite,
    /// The callee's bytecode instructions, with those of the callees
    /// inlined in it.
    pub instructions: u32,
    /// Its parameters (`self` first for a method), its first locals, all
    /// arguments.
    pub nargs: u32,
    /// Its other locals, in the slots above the arguments (the body starts
    /// by pushing them, unbound, and releases them before each return).
    pub locals: u32,
    /// Its micro-ops: locals are the callee's, a jump names a micro-op of
    /// the body, returns are `_INLINE_RETURN`s, and `inst` is the code
    /// unit of the callee's instruction an exit resumes at (see
    /// `materializes`).
    pub uops: Vec<UopInst>,
    /// Whether the body has side effects (stores into objects' attributes)
    /// after which the call cannot start over: its exits materialize the
    /// callee's frame instead, resuming it at their instructions
    /// (`optimize::inline`).
    pub materializes: bool,
    /// The address of the callee's first code unit.
    pub code_start: u64,
    /// The words of the constants the body pushes that an int's value or a
    /// float's bits hold (their objects' addresses, as the body's
    /// `_LOAD_CONST_INLINE*` operands name them; see
    /// `Program::const_words`), for the words pass on bodies.
    pub const_words: Vec<(u64, i64, bool)>,
    /// The globals the body pushes as constants (`frontend::inline_body`):
    /// the caller's code is invalidated when one changes, as for its own
    /// (`Burned::in_body`).
    pub burned: Vec<KnownGlobal>,
    /// The module and class attributes read from them, pushed as
    /// constants too.
    pub burned_attrs: Vec<KnownAttr>,
}

impl InlineBody {
    /// The index of the body's first store into an object (its micro-ops'
    /// length if none): after it, the call cannot start over.
    pub fn first_store(&self) -> usize {
        self.uops
            .iter()
            .position(|u| {
                matches!(
                    u.op,
                    Uop::_STORE_ATTR_INSTANCE_VALUE_PURE
                        | Uop::_STORE_ATTR_SLOT_PURE
                        | Uop::_STORE_ATTR_LOCAL_CACHED
                        | Uop::_STORE_ATTR_SWAPPED_CACHED
                        | Uop::_STORE_SUBSCR_LIST_INT_PURE
                )
            })
            .unwrap_or(self.uops.len())
    }

    /// Whether the body reads the frame's globals or builtins (the
    /// caller's, where inlined: its entry checks they are its function's),
    /// or pushes values burned in from them, which the function's must be
    /// (the caller's code checks its frame's are those at its entry).
    pub fn reads_globals(&self) -> bool {
        self.uops.iter().any(|u| {
            matches!(
                u.op,
                Uop::_GUARD_GLOBALS_VERSION
                    | Uop::_GUARD_BUILTINS_VERSION
                    | Uop::_LOAD_GLOBAL_MODULE
                    | Uop::_LOAD_GLOBAL_BUILTINS
            )
        }) || !self.burned.is_empty()
    }

    /// The checks entering the body at its call, for instruction `inst`,
    /// then `room`'s (`_CHECK_INLINE_ROOM`: the slot and the caller's frame
    /// size; none for a call inlined in a body, whose entry checked it for
    /// both): a class call's class, its
    /// version (its `__init__`, its allocation), the function's (its
    /// code), the rest, the room, then the instance made; a subscript's
    /// container's class (its `__getitem__`; a binary operator's two
    /// operands' class, its method), the function's version, the rest; or
    /// the callee's code and the rest.
    pub fn entry_checks(&self, room: Option<(u32, u32)>, inst: u32) -> Vec<UopInst> {
        let uop = |op: Uop, oparg: u32, operand: u64| UopInst::at(op, oparg, operand, inst);
        let globals = self.reads_globals() as u32;
        let mut checks = match (self.site.init, self.site.getitem) {
            (Some(init), _) => vec![
                uop(Uop::_CHECK_INIT_CLASS, self.nargs - 1, init.class),
                uop(
                    Uop::_CHECK_CONST_TYPE_VERSION,
                    init.class_version,
                    init.class,
                ),
                uop(
                    Uop::_CHECK_FUNC_VERSION,
                    init.function_version,
                    init.function,
                ),
                uop(Uop::_CHECK_KNOWN_CALLEE, globals, init.function),
            ],
            (None, Some(getitem)) => vec![
                uop(
                    if self.site.binary {
                        Uop::_CHECK_BINARY_CLASSES
                    } else {
                        Uop::_CHECK_SUBSCR_CLASS
                    },
                    getitem.class_version,
                    getitem.class,
                ),
                uop(
                    Uop::_CHECK_FUNC_VERSION,
                    getitem.function_version,
                    getitem.function,
                ),
                uop(Uop::_CHECK_KNOWN_CALLEE, globals, getitem.function),
            ],
            (None, None) => vec![uop(
                Uop::_CHECK_CALLEE,
                globals | (!self.site.method as u32) << 1 | self.nargs << 2,
                self.site.code,
            )],
        };
        checks.extend(room.map(|(slot, frame)| uop(Uop::_CHECK_INLINE_ROOM, slot, frame as u64)));
        if let Some(init) = self.site.init {
            checks.push(uop(Uop::_INIT_ALLOC, self.nargs - 1, init.class));
        }
        checks
    }
}

/// A global name's value when compiling, as the frame's globals or (when
/// absent there) builtins hold it. Borrowed: burned-in values stay alive as
/// long as their dict holds them, and the code is invalidated before a
/// dict lets go of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownGlobal {
    /// Code-unit offset of the `LOAD_GLOBAL`.
    pub offset: u32,
    /// The name (an interned `str` of `co_names`).
    pub name: u64,
    /// The value.
    pub value: u64,
    /// Whether the value is immortal (pushed without a new reference).
    pub immortal: bool,
    /// The globals dict, which holds the name or (for builtins) does not.
    pub globals: u64,
    /// The builtins dict holding the name, for a builtin; 0 for a global.
    pub builtins: u64,
}

/// An attribute of a module or class when compiling: what a specialized
/// `LOAD_ATTR_MODULE` (`math.pi`) or `LOAD_ATTR_CLASS` (`Color.RED`) right
/// after the load of a burned-in global (or of such an attribute:
/// `os.path.join`) reads. Borrowed: a module's dict holds the value, and a
/// class's while it keeps its version, as CPython's caches assume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownAttr {
    /// Code-unit offset of the `LOAD_ATTR`.
    pub offset: u32,
    /// The module or class.
    pub owner: u64,
    /// A module's dict, which holds the name (watched); 0 for a class.
    pub dict: u64,
    /// A class's type version, checked at run time; 0 for a module.
    pub version: u32,
    /// The name (an interned `str` of `co_names`).
    pub name: u64,
    /// The value.
    pub value: u64,
    /// Whether the value is immortal (pushed without a new reference).
    pub immortal: bool,
    /// Whether the load is a method call's (it pushes a `NULL` too).
    pub method: bool,
}

/// A global load the optimizer burned in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Burned {
    /// The instruction's index.
    pub inst: u32,
    /// What was burned in.
    pub global: KnownGlobal,
    /// How many attribute loads after it were burned in with it
    /// (`Program::burned_attrs`): the instruction pushes the last one's
    /// value and jumps past them (its fallback goes through them).
    pub attrs: u32,
    /// Burned into the body of a call inlined at the instruction
    /// (`InlineBody::burned`), not into the instruction itself:
    /// invalidation sends the call to its fallback at the body's entry.
    pub in_body: bool,
}

impl Program {
    /// How many micro-ops the instructions' main paths take: the generic
    /// fallbacks follow them.
    pub fn main_len(&self) -> usize {
        self.insts
            .last()
            .map_or(0, |i| (i.first + i.count) as usize)
    }

    /// The micro-ops of instruction `i`.
    pub fn uops_of(&self, i: usize) -> &[UopInst] {
        let inst = &self.insts[i];
        &self.uops[inst.first as usize..(inst.first + inst.count) as usize]
    }

    /// The index in `uops` of the micro-op that `u`'s jump names, if it is
    /// a [`LABEL`].
    pub fn labelled(&self, u: &UopInst) -> Option<usize> {
        u.label()
            .map(|l| (self.insts[u.inst as usize].first + l) as usize)
    }

    /// The out-of-line generic form of instruction `i` (empty if none).
    pub fn fallback_of(&self, i: usize) -> &[UopInst] {
        let inst = &self.insts[i];
        &self.uops[inst.fallback as usize..(inst.fallback + inst.fallback_count) as usize]
    }

    /// Per instruction (and one past the last), whether control can reach
    /// it other than by falling through from the one before: the first,
    /// jump targets (a fallback's return is one), exception handlers, and
    /// where a suspended generator resumes.
    pub fn entered(&self) -> Vec<bool> {
        let n = self.insts.len();
        let mut entered = self.entry_points();
        for t in self.uops.iter().filter_map(|u| u.jump) {
            if t & LABEL != 0 {
                continue;
            }
            entered[(t as usize).min(n)] = true;
        }
        entered
    }

    /// [`Program::entered`] but for jumps: the first instruction,
    /// exception handlers, and where a suspended generator resumes.
    pub fn entry_points(&self) -> Vec<bool> {
        let n = self.insts.len();
        let mut entered = vec![false; n + 1];
        entered[0] = true;
        for &(i, _) in &self.handlers {
            entered[(i as usize).min(n)] = true;
        }
        for (i, w) in self.insts.windows(2).enumerate() {
            if crate::frontend::resumes_after(w[0].opcode) {
                entered[i + 1] = true;
            }
        }
        entered
    }

    /// The address of code unit `offset`.
    pub fn unit_address(&self, offset: u32) -> u64 {
        self.code_start + 2 * offset as u64
    }

    /// The globals and builtins (0 if no builtin is burned in) the burned-in
    /// globals came from, if any were.
    pub fn burned_namespace(&self) -> Option<(u64, u64)> {
        let first = self.burned.first()?;
        let builtins = self.burned.iter().map(|b| b.global.builtins);
        Some((first.global.globals, builtins.max().unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stencils::{HoleValue, STENCILS};
    use jitsaw_cpython313::opcode::{MACRO_EXPANSION, OPARG_SAMPLES, STACK_EFFECTS};

    #[test]
    fn every_uop_has_a_stencil_and_every_stencil_a_uop() {
        for u in Uop::ALL {
            assert_eq!(u.stencil().name(), u.name());
        }
        for s in &STENCILS {
            let name = copy_of(s.name()).map_or(s.name(), |(name, ..)| name);
            assert!(
                s.name() == "_JIT_ENTRY" || Uop::ALL.iter().any(|u| u.name() == name),
                "stencil {} is not in the micro-op table",
                s.name()
            );
        }
    }

    #[test]
    fn copies_for_one_oparg_differ_from_their_stencil_only_in_the_oparg() {
        let mut copies = 0;
        for u in Uop::ALL {
            let stencil = u.stencil();
            for oparg in 0..MAX_COPIED_OPARG as u32 + 2 {
                let copy = u.stencil_for(oparg);
                if std::ptr::eq(copy, stencil) {
                    continue;
                }
                copies += 1;
                let exact = format!("{}__{oparg}", u.name());
                let low_bit = format!("{}__LOW{}", u.name(), oparg & 1);
                assert!(
                    copy.name() == exact || copy.name() == low_bit,
                    "{}",
                    copy.name()
                );
                assert!(stencil.has(HoleValue::Oparg), "{}", copy.name());
                assert!(
                    !copy.has(HoleValue::Oparg),
                    "{} keeps the oparg hole",
                    copy.name()
                );
                // The same ways out, so that what the table and the
                // optimizer read off the stencil holds for its copies.
                for value in [
                    HoleValue::Continue,
                    HoleValue::JumpTarget,
                    HoleValue::Exit,
                    HoleValue::Error,
                    HoleValue::Resume,
                ] {
                    assert_eq!(
                        copy.has(value),
                        stencil.has(value),
                        "{} {value:?}",
                        copy.name()
                    );
                }
                assert_eq!(copy.calls_out(), stencil.calls_out(), "{}", copy.name());
                // What is copied in line (cold parts go out of line).
                assert!(
                    copy.hot_len < stencil.hot_len,
                    "{} is no smaller",
                    copy.name()
                );
            }
        }
        assert!(copies >= 60, "{copies} copies");
    }

    /// The tables found by binary search what a search of every name finds.
    #[test]
    #[cfg_attr(miri, ignore = "safe code, and a minute of string compares under Miri")]
    fn cpython_ids_are_the_micro_ops_of_the_same_name() {
        let mut named = 0;
        for &u in Uop::ALL {
            let id =
                (0..=cuop::MAX_UOP_ID).find(|&id| cuop::UOP_INFO[id as usize].name() == u.name());
            assert_eq!(u.cpython_id(), id, "{}", u.name());
            if let Some(id) = id {
                assert_eq!(Uop::from_cpython(id), Some(u));
                named += 1;
            }
        }
        for id in 0..=cuop::MAX_UOP_ID {
            let name = cuop::UOP_INFO[id as usize].name();
            let u = Uop::ALL.iter().find(|u| u.name() == name);
            assert_eq!(Uop::from_cpython(id).is_some(), u.is_some(), "{name}");
        }
        assert!(named > 150, "{named}");
    }

    #[test]
    fn pops_agree_with_cpython() {
        for u in Uop::ALL {
            let Some(id) = u.cpython_id() else { continue };
            let info = &cuop::UOP_INFO[id as usize];
            if info.popped[0] < 0 {
                continue; // CPython has no tier-2 metadata for it.
            }
            for oparg in 0..OPARG_SAMPLES as u32 {
                assert_eq!(
                    u.effect(oparg).0,
                    info.popped[oparg as usize] as i32,
                    "{} pops with oparg {oparg}",
                    u.name()
                );
            }
        }
    }

    #[test]
    fn expansions_add_up_to_the_instructions_stack_effect() {
        let mut checked = 0;
        for op in 0..=255u8 {
            let e = &MACRO_EXPANSION[op as usize];
            if e.nuops <= 0 {
                continue;
            }
            let uops: Option<Vec<(Uop, i8)>> = e.uops[..e.nuops as usize]
                .iter()
                .map(|&(id, size, _)| Uop::from_cpython(id as u16).map(|u| (u, size)))
                .collect();
            let Some(uops) = uops else { continue };
            for oparg in 0..OPARG_SAMPLES as u32 {
                let (popped, pushed) = STACK_EFFECTS[op as usize][oparg as usize];
                let net: i32 = uops
                    .iter()
                    .map(|&(u, size)| {
                        let arg = match size {
                            opcode::OPARG_TOP => oparg >> 4,
                            opcode::OPARG_BOTTOM => oparg & 15,
                            _ => oparg,
                        };
                        let (p, q) = u.effect(arg);
                        q - p
                    })
                    .sum();
                // Exhausted loops leave by a jump; the table counts the
                // fall-through effect, as jitsaw's table does.
                assert_eq!(
                    net,
                    (pushed - popped) as i32,
                    "{} with oparg {oparg}",
                    crate::frontend::name(op)
                );
            }
            checked += 1;
        }
        assert!(checked > 120, "only {checked} instructions checked");
    }

    #[test]
    fn escape_flags_follow_cpython() {
        assert!(Uop::_CALL.escapes() && Uop::_BINARY_OP.escapes() && Uop::_LOAD_ATTR.escapes());
        assert!(
            !Uop::_LOAD_FAST.escapes() && !Uop::_GUARD_BOTH_INT.escapes() && !Uop::_JUMP.escapes()
        );
    }
}
