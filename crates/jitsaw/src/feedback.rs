//! Type feedback: what provisional code saw at the instructions it ran
//! unspecialized, and the specialization CPython would choose for it.
//!
//! Code with a loop is compiled at its first call, before CPython has
//! specialized its bytecode; CPython's specializer is private, so without
//! this the second call would have to run in the interpreter to specialize
//! the loop. Provisional code records the types of the values each
//! unspecialized instruction uses (`_RECORD_TYPES`), and the recompilation
//! lowers the instruction as its specialized form (whose guards fall back
//! to the generic form, so a wrong guess costs time, never correctness).
//! Only specializations whose inline cache is just a counter are chosen:
//! the others need data only CPython's specializer computes.

use jitsaw_cpython313::consts;
use jitsaw_cpython313::opcode::*;

/// What one recorded stack value was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Never recorded.
    Unseen,
    /// Values of several types.
    Mixed,
    /// Exactly `int`.
    Int,
    /// Exactly `float`.
    Float,
    /// Exactly `str`.
    Str,
    /// Exactly `bool`.
    Bool,
    /// `None`.
    NoneType,
    /// Exactly `list`.
    List,
    /// Exactly `tuple`.
    Tuple,
    /// Exactly `dict`.
    Dict,
    /// Exactly `set` or `frozenset`.
    Set,
    /// A `range` iterator.
    RangeIter,
    /// A `list` iterator.
    ListIter,
    /// A `tuple` iterator.
    TupleIter,
    /// Some other type.
    Other,
}

/// How many values (from the top of the stack) `_RECORD_TYPES` records
/// before an unspecialized `opcode`; 0 for instructions chosen otherwise.
pub fn inputs(opcode: u8) -> u32 {
    match opcode {
        BINARY_OP | COMPARE_OP | BINARY_SUBSCR | STORE_SUBSCR => 2,
        CONTAINS_OP | FOR_ITER | UNPACK_SEQUENCE | TO_BOOL => 1,
        _ => 0,
    }
}

/// The specialized form of unspecialized `opcode` (with `oparg`) for the
/// values seen: `top` is what was on top of the stack, `below` under it.
pub fn specialize(opcode: u8, oparg: u32, top: Kind, below: Kind) -> Option<u8> {
    use Kind::*;
    let op = oparg as i64;
    let add = op == consts::NB_ADD || op == consts::NB_INPLACE_ADD;
    let sub = op == consts::NB_SUBTRACT || op == consts::NB_INPLACE_SUBTRACT;
    let mul = op == consts::NB_MULTIPLY || op == consts::NB_INPLACE_MULTIPLY;
    Some(match (opcode, below, top) {
        (BINARY_OP, Int, Int) if add => BINARY_OP_ADD_INT,
        (BINARY_OP, Int, Int) if sub => BINARY_OP_SUBTRACT_INT,
        (BINARY_OP, Int, Int) if mul => BINARY_OP_MULTIPLY_INT,
        (BINARY_OP, Float, Float) if add => BINARY_OP_ADD_FLOAT,
        (BINARY_OP, Float, Float) if sub => BINARY_OP_SUBTRACT_FLOAT,
        (BINARY_OP, Float, Float) if mul => BINARY_OP_MULTIPLY_FLOAT,
        (BINARY_OP, Str, Str) if add => BINARY_OP_ADD_UNICODE,
        (COMPARE_OP, Int, Int) => COMPARE_OP_INT,
        (COMPARE_OP, Float, Float) => COMPARE_OP_FLOAT,
        // Only equality is specialized for strings (`oparg >> 5` is the
        // comparison: 2 is `==`, 3 is `!=`).
        (COMPARE_OP, Str, Str) if matches!(oparg >> 5, 2 | 3) => COMPARE_OP_STR,
        (BINARY_SUBSCR, List, Int) => BINARY_SUBSCR_LIST_INT,
        (BINARY_SUBSCR, Tuple, Int) => BINARY_SUBSCR_TUPLE_INT,
        (BINARY_SUBSCR, Str, Int) => BINARY_SUBSCR_STR_INT,
        (BINARY_SUBSCR, Dict, _) => BINARY_SUBSCR_DICT,
        (STORE_SUBSCR, List, Int) => STORE_SUBSCR_LIST_INT,
        (STORE_SUBSCR, Dict, _) => STORE_SUBSCR_DICT,
        (CONTAINS_OP, _, Dict) => CONTAINS_OP_DICT,
        (CONTAINS_OP, _, Set) => CONTAINS_OP_SET,
        (FOR_ITER, _, RangeIter) => FOR_ITER_RANGE,
        (FOR_ITER, _, ListIter) => FOR_ITER_LIST,
        (FOR_ITER, _, TupleIter) => FOR_ITER_TUPLE,
        (UNPACK_SEQUENCE, _, Tuple) if oparg == 2 => UNPACK_SEQUENCE_TWO_TUPLE,
        (UNPACK_SEQUENCE, _, Tuple) => UNPACK_SEQUENCE_TUPLE,
        (UNPACK_SEQUENCE, _, List) => UNPACK_SEQUENCE_LIST,
        (TO_BOOL, _, Bool) => TO_BOOL_BOOL,
        (TO_BOOL, _, Int) => TO_BOOL_INT,
        (TO_BOOL, _, NoneType) => TO_BOOL_NONE,
        (TO_BOOL, _, List) => TO_BOOL_LIST,
        (TO_BOOL, _, Str) => TO_BOOL_STR,
        _ => return None,
    })
}

/// Whether code whose unspecialized instructions that ran are all
/// `opcodes` compiles well from feedback alone: each either is chosen by
/// [`specialize`] (or stays adaptive, as fast as provisional code), or
/// compiles well unspecialized (`LOAD_GLOBAL`, which jitsaw resolves
/// itself, and `CALL`, whose specializations a PEP 523 hook turns off).
/// Attribute accesses need the interpreter's specializer.
pub fn enough(opcodes: impl IntoIterator<Item = u8>) -> bool {
    opcodes
        .into_iter()
        .all(|op| inputs(op) > 0 || op == LOAD_GLOBAL || op == CALL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Kind::*;

    #[test]
    fn arithmetic_follows_the_operand_types() {
        let add = consts::NB_ADD as u32;
        let iadd = consts::NB_INPLACE_ADD as u32;
        let mul = consts::NB_MULTIPLY as u32;
        assert_eq!(
            specialize(BINARY_OP, add, Int, Int),
            Some(BINARY_OP_ADD_INT)
        );
        assert_eq!(
            specialize(BINARY_OP, iadd, Float, Float),
            Some(BINARY_OP_ADD_FLOAT)
        );
        assert_eq!(
            specialize(BINARY_OP, mul, Float, Float),
            Some(BINARY_OP_MULTIPLY_FLOAT)
        );
        assert_eq!(
            specialize(BINARY_OP, add, Str, Str),
            Some(BINARY_OP_ADD_UNICODE)
        );
        assert_eq!(specialize(BINARY_OP, mul, Str, Str), None);
        assert_eq!(specialize(BINARY_OP, add, Int, Float), None);
        assert_eq!(specialize(BINARY_OP, add, Mixed, Int), None);
        let div = consts::NB_TRUE_DIVIDE as u32;
        assert_eq!(specialize(BINARY_OP, div, Float, Float), None);
    }

    #[test]
    fn comparisons_and_containers() {
        assert_eq!(specialize(COMPARE_OP, 0, Int, Int), Some(COMPARE_OP_INT));
        assert_eq!(
            specialize(COMPARE_OP, 2 << 5, Str, Str),
            Some(COMPARE_OP_STR)
        );
        assert_eq!(specialize(COMPARE_OP, 0, Str, Str), None);
        // `below` is the container, `top` the subscript.
        assert_eq!(
            specialize(BINARY_SUBSCR, 0, Int, List),
            Some(BINARY_SUBSCR_LIST_INT)
        );
        assert_eq!(specialize(BINARY_SUBSCR, 0, List, Int), None);
        assert_eq!(
            specialize(BINARY_SUBSCR, 0, Other, Dict),
            Some(BINARY_SUBSCR_DICT)
        );
        assert_eq!(
            specialize(STORE_SUBSCR, 0, Int, List),
            Some(STORE_SUBSCR_LIST_INT)
        );
        assert_eq!(
            specialize(CONTAINS_OP, 0, Set, Unseen),
            Some(CONTAINS_OP_SET)
        );
        assert_eq!(
            specialize(FOR_ITER, 7, RangeIter, Unseen),
            Some(FOR_ITER_RANGE)
        );
        assert_eq!(
            specialize(UNPACK_SEQUENCE, 2, Tuple, Unseen),
            Some(UNPACK_SEQUENCE_TWO_TUPLE)
        );
        assert_eq!(
            specialize(UNPACK_SEQUENCE, 3, Tuple, Unseen),
            Some(UNPACK_SEQUENCE_TUPLE)
        );
        assert_eq!(specialize(TO_BOOL, 0, NoneType, Unseen), Some(TO_BOOL_NONE));
        assert_eq!(specialize(TO_BOOL, 0, Other, Unseen), None);
    }

    #[test]
    fn every_choice_is_a_specialization_of_its_instruction() {
        let kinds = [
            Unseen, Mixed, Int, Float, Str, Bool, NoneType, List, Tuple, Dict, Set, RangeIter,
            ListIter, TupleIter, Other,
        ];
        for op in [
            BINARY_OP,
            COMPARE_OP,
            BINARY_SUBSCR,
            STORE_SUBSCR,
            CONTAINS_OP,
            FOR_ITER,
            UNPACK_SEQUENCE,
            TO_BOOL,
        ] {
            assert!(inputs(op) > 0);
            for oparg in [0, 2, 3, 13, 2 << 5, 3 << 5] {
                for top in kinds {
                    for below in kinds {
                        if let Some(s) = specialize(op, oparg, top, below) {
                            assert_eq!(jitsaw_cpython313::deopt(s), op);
                        }
                    }
                }
            }
        }
        assert!(enough([BINARY_OP, LOAD_GLOBAL, CALL, FOR_ITER]));
        assert!(!enough([BINARY_OP, LOAD_ATTR]));
    }
}
