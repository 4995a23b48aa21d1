//! Float and int operations on two locals read them where they are.
//!
//! `dx * dx` is `LOAD_FAST_LOAD_FAST`, `BINARY_OP`: after
//! `optimize::borrow`, `_LOAD_FAST_BORROW dx`, `_LOAD_FAST_BORROW dx`,
//! `_GUARD_BOTH_FLOAT_BORROWED`, `_BINARY_OP_MULTIPLY_FLOAT_BORROWED`. The
//! loads store both to the stack and the guard and the operation load them
//! back: a store and a reload in the chain every float result waits on.
//! `_BINARY_OP_MULTIPLY_FLOAT_LOCALS` reads the two locals itself; the
//! loads' instruction is left without micro-ops.
//!
//! Only where control reaches the operation through the loads alone: no
//! instruction after the first load's, up to the operation's, is entered
//! (a jump, a handler or a resumption would find the inputs on the stack).
//! Entering the loads' instruction is fine: its label then points at the
//! fused operation, which reads the same locals. A guard that fails pushes
//! both inputs with references, as the loads would have, so the
//! operation's fallback and the interpreter find the stack they expect
//! (`Uop::deopt_pushes`).

use super::remove_nops;
use crate::uops::{Program, Uop};

/// The fused form of a borrowed float or int operation, and the guard
/// that may come before it.
fn locals_form(op: Uop) -> Option<(Uop, Uop)> {
    use Uop::*;
    let float = _GUARD_BOTH_FLOAT_BORROWED;
    let int = _GUARD_BOTH_INT_BORROWED;
    Some(match op {
        _BINARY_OP_ADD_FLOAT_BORROWED => (_BINARY_OP_ADD_FLOAT_LOCALS, float),
        _BINARY_OP_SUBTRACT_FLOAT_BORROWED => (_BINARY_OP_SUBTRACT_FLOAT_LOCALS, float),
        _BINARY_OP_MULTIPLY_FLOAT_BORROWED => (_BINARY_OP_MULTIPLY_FLOAT_LOCALS, float),
        _BINARY_OP_ADD_INT_BORROWED => (_BINARY_OP_ADD_INT_LOCALS, int),
        _BINARY_OP_SUBTRACT_INT_BORROWED => (_BINARY_OP_SUBTRACT_INT_LOCALS, int),
        _BINARY_OP_MULTIPLY_INT_BORROWED => (_BINARY_OP_MULTIPLY_INT_LOCALS, int),
        _ => return None,
    })
}

/// Fuses each borrowed float or int operation whose inputs are two locals loaded
/// right before it (and its guard, if `optimize::types` left one).
pub fn fuse_local_operands(mut program: Program) -> Program {
    let entered = program.entered();
    let main_end = program.main_len();
    let mut fused = false;
    for k in 2..main_end {
        let Some((form, guard)) = locals_form(program.uops[k].op) else {
            continue;
        };
        let at = program.uops[k].inst as usize;
        let guarded = program.uops[k - 1].op == guard;
        if guarded && k < 3 {
            continue;
        }
        let first = if guarded { k - 3 } else { k - 2 };
        let (a, b) = (program.uops[first], program.uops[first + 1]);
        let loads_only = a.op == Uop::_LOAD_FAST_BORROW && b.op == Uop::_LOAD_FAST_BORROW;
        // The operation's instruction starts with the guard or the
        // operation; the loads are all that runs in between.
        let starts = program.insts[at].first as usize == first + 2;
        let from = a.inst as usize;
        let quiet = (from + 1..=at).all(|i| !entered[i])
            && (from..at).all(|i| program.insts[i].fallback_count == 0);
        if !(loads_only && starts && quiet && from < at) {
            continue;
        }
        for j in first..k {
            program.uops[j].op = Uop::_NOP;
        }
        let op = &mut program.uops[k];
        op.op = form;
        op.oparg = a.oparg;
        op.operand = b.oparg as u64;
        fused = true;
    }
    if fused {
        remove_nops(program)
    } else {
        program
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::tests::{inst, uop};

    /// `LOAD_FAST_LOAD_FAST` of locals 3 and 4, then a guarded `*`, with
    /// a fallback, then a `STORE_FAST 5`; `jump_to` adds a jump to that
    /// instruction from the store.
    fn program(guarded: bool, jump_to: Option<u32>) -> Program {
        let mut uops = vec![
            uop(Uop::_LOAD_FAST_BORROW, 3, 0),
            uop(Uop::_LOAD_FAST_BORROW, 4, 0),
        ];
        if guarded {
            uops.push(uop(Uop::_GUARD_BOTH_FLOAT_BORROWED, 0, 1));
        }
        uops.push(uop(Uop::_BINARY_OP_MULTIPLY_FLOAT_BORROWED, 5, 1));
        uops.push(crate::uops::UopInst {
            jump: jump_to,
            ..uop(Uop::_STORE_FAST, 5, 2)
        });
        uops.push(uop(Uop::_BINARY_OP, 5, 1));
        let n = uops.len() as u32;
        let op_count = if guarded { 2 } else { 1 };
        Program {
            insts: vec![
                inst(0, 2, n, 0),
                inst(2, op_count, n - 1, 1),
                inst(2 + op_count, 1, n, 0),
            ],
            uops,
            ..Program::default()
        }
    }

    fn ops(p: &Program, i: usize) -> Vec<(Uop, u32, u64)> {
        p.uops_of(i)
            .iter()
            .map(|u| (u.op, u.oparg, u.operand))
            .collect()
    }

    #[test]
    fn loads_guard_and_operation_become_one() {
        for guarded in [true, false] {
            let p = fuse_local_operands(program(guarded, None));
            assert!(ops(&p, 0).is_empty());
            assert_eq!(ops(&p, 1), [(Uop::_BINARY_OP_MULTIPLY_FLOAT_LOCALS, 3, 4)]);
            assert_eq!(ops(&p, 2), [(Uop::_STORE_FAST, 5, 0)]);
            assert_eq!(p.fallback_of(1)[0].op, Uop::_BINARY_OP);
        }
    }

    #[test]
    fn int_operations_fuse_with_their_own_guard_only() {
        let mut p = program(true, None);
        p.uops[2].op = Uop::_GUARD_BOTH_INT_BORROWED;
        p.uops[3].op = Uop::_BINARY_OP_SUBTRACT_INT_BORROWED;
        let fused = fuse_local_operands(p.clone());
        assert_eq!(
            ops(&fused, 1),
            [(Uop::_BINARY_OP_SUBTRACT_INT_LOCALS, 3, 4)]
        );
        // A float guard before an int operation is not its guard.
        p.uops[2].op = Uop::_GUARD_BOTH_FLOAT_BORROWED;
        let kept = fuse_local_operands(p);
        assert_eq!(ops(&kept, 1)[1].0, Uop::_BINARY_OP_SUBTRACT_INT_BORROWED);
    }

    #[test]
    fn an_operation_entered_between_is_left_alone() {
        let p = fuse_local_operands(program(true, Some(1)));
        assert_eq!(ops(&p, 0).len(), 2);
        assert_eq!(ops(&p, 1)[1].0, Uop::_BINARY_OP_MULTIPLY_FLOAT_BORROWED);
        // Entering the loads' instruction is fine.
        let p = fuse_local_operands(program(true, Some(0)));
        assert_eq!(ops(&p, 1)[0].0, Uop::_BINARY_OP_MULTIPLY_FLOAT_LOCALS);
    }

    #[test]
    fn a_computed_input_is_left_alone() {
        let mut p = program(true, None);
        p.uops[0].op = Uop::_LOAD_CONST_INLINE_BORROW;
        let p = fuse_local_operands(p);
        assert_eq!(ops(&p, 1)[1].0, Uop::_BINARY_OP_MULTIPLY_FLOAT_BORROWED);
    }
}
