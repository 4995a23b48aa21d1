//! Borrowed operands: an int or float operation whose two inputs are
//! pushed by the micro-ops right before it, from locals or constants,
//! takes them without new references.
//!
//! `x + y` on two ints is `_LOAD_FAST x`, `_LOAD_FAST y`,
//! `_BINARY_OP_ADD_INT`: two increments, then two decrements in the
//! operation, of references the locals hold anyway. Between a load and its
//! operation nothing runs (they are adjacent, and control cannot enter in
//! between), so the locals keep the values alive; the operation's
//! `_BORROWED` form does not release them and, where it leaves them on the
//! stack for someone else (`_COMPARE_OP_INT`'s guard), takes its own
//! references first. Constants are held by the code object. Only
//! operations without guards before them qualify (a guard exits with its
//! inputs on the stack): those whose types `optimize::types` proved.

use crate::uops::{Program, Uop, UopInst};

/// The `_BORROWED` form of an operation, if it has one.
fn borrowed_form(op: Uop) -> Option<Uop> {
    Some(match op {
        Uop::_BINARY_OP_ADD_INT => Uop::_BINARY_OP_ADD_INT_BORROWED,
        Uop::_BINARY_OP_SUBTRACT_INT => Uop::_BINARY_OP_SUBTRACT_INT_BORROWED,
        Uop::_BINARY_OP_MULTIPLY_INT => Uop::_BINARY_OP_MULTIPLY_INT_BORROWED,
        Uop::_BINARY_OP_ADD_FLOAT => Uop::_BINARY_OP_ADD_FLOAT_BORROWED,
        Uop::_BINARY_OP_SUBTRACT_FLOAT => Uop::_BINARY_OP_SUBTRACT_FLOAT_BORROWED,
        Uop::_BINARY_OP_MULTIPLY_FLOAT => Uop::_BINARY_OP_MULTIPLY_FLOAT_BORROWED,
        Uop::_COMPARE_OP_INT => Uop::_COMPARE_OP_INT_BORROWED,
        Uop::_COMPARE_OP_FLOAT => Uop::_COMPARE_OP_FLOAT_BORROWED,
        _ => return None,
    })
}

/// The form of a push that gives no new reference, if `op` pushes a local
/// or a constant and nothing else.
fn borrowing_load(op: Uop) -> Option<Uop> {
    match op {
        Uop::_LOAD_FAST => Some(Uop::_LOAD_FAST_BORROW),
        Uop::_LOAD_CONST_INLINE | Uop::_LOAD_CONST_INLINE_BORROW => {
            Some(Uop::_LOAD_CONST_INLINE_BORROW)
        }
        _ => None,
    }
}

/// Rewrites every qualifying operation and its two loads. A
/// `_CHECK_NO_FRAME_OBJECT` between them (the operation's, from
/// `optimize::types`) moves to the start of the first load's instruction
/// when only pushes come before it there: leaving for the interpreter
/// there runs them again.
pub fn borrow_operands(mut program: Program) -> Program {
    let entered = program.entered();
    let burned: Vec<u32> = program.burned.iter().map(|b| b.inst).collect();
    let main_end = program
        .insts
        .last()
        .map_or(0, |i| (i.first + i.count) as usize);
    for k in 2..main_end {
        let Some(borrowed) = borrowed_form(program.uops[k].op) else {
            continue;
        };
        let check = program.uops[k - 1].op == Uop::_CHECK_NO_FRAME_OBJECT;
        let b = k - 1 - check as usize;
        let Some(a) = b.checked_sub(1) else {
            continue;
        };
        let (ua, ub) = (program.uops[a], program.uops[b]);
        let (Some(load_a), Some(load_b)) = (borrowing_load(ua.op), borrowing_load(ub.op)) else {
            continue;
        };
        let op_inst = program.uops[k].inst as usize;
        // Control enters only at the first load's instruction, and a
        // burned-in global's load, which invalidation turns into a deopt,
        // is not a plain push.
        if (ua.inst as usize + 1..=op_inst).any(|i| entered[i])
            || (ua.inst..=ub.inst).any(|i| burned.contains(&i))
        {
            continue;
        }
        // Leaving for the interpreter at the start of the first load's
        // instruction runs its loads again: only pushes may come before.
        let start = program.insts[ua.inst as usize].first as usize;
        let pushes = |u: &UopInst| borrowing_load(u.op).is_some() && !burned.contains(&u.inst);
        if check && !program.uops[start..a].iter().all(pushes) {
            continue;
        }
        program.uops[a].op = load_a;
        program.uops[b].op = load_b;
        program.uops[k].op = borrowed;
        if check {
            hoist(&mut program, k - 1, start);
        }
    }
    program
}

/// Moves micro-op `from` (the first of its instruction) back to `to`, the
/// first of an earlier instruction, which it then belongs to.
fn hoist(program: &mut Program, from: usize, to: usize) {
    let (from_inst, to_inst) = (program.uops[from].inst, program.uops[to].inst);
    program.uops[to..=from].rotate_right(1);
    program.uops[to] = UopInst {
        inst: to_inst,
        ..program.uops[to]
    };
    for i in to_inst as usize + 1..=from_inst as usize {
        program.insts[i].first += 1;
    }
    program.insts[to_inst as usize].count += 1;
    program.insts[from_inst as usize].count -= 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::tests::uop;
    use crate::uops::Inst;

    /// Instructions of the given micro-ops, in order.
    fn program(insts: &[&[Uop]]) -> Program {
        let mut p = Program::default();
        for (i, ops) in insts.iter().enumerate() {
            p.insts.push(Inst {
                start: 2 * i as u32,
                offset: 2 * i as u32,
                opcode: 0,
                oparg: 0,
                first: p.uops.len() as u32,
                count: ops.len() as u32,
                fallback: 0,
                fallback_count: 0,
            });
            p.uops.extend(ops.iter().map(|&op| uop(op, 0, i as u32)));
        }
        let end = p.uops.len() as u32;
        for inst in &mut p.insts {
            inst.fallback = end;
        }
        p
    }

    fn ops(p: &Program) -> Vec<Uop> {
        p.uops.iter().map(|u| u.op).collect()
    }

    const ADD: Uop = Uop::_BINARY_OP_ADD_FLOAT;

    #[test]
    fn adjacent_loads_are_borrowed_by_an_unguarded_operation() {
        let p = borrow_operands(program(&[
            &[Uop::_LOAD_FAST, Uop::_LOAD_CONST_INLINE],
            &[ADD],
            &[Uop::_STORE_FAST],
        ]));
        assert_eq!(
            ops(&p),
            [
                Uop::_LOAD_FAST_BORROW,
                Uop::_LOAD_CONST_INLINE_BORROW,
                Uop::_BINARY_OP_ADD_FLOAT_BORROWED,
                Uop::_STORE_FAST
            ]
        );
    }

    #[test]
    fn guards_other_pushes_and_entries_in_between_keep_references() {
        let guarded = program(&[
            &[Uop::_LOAD_FAST, Uop::_LOAD_FAST],
            &[Uop::_GUARD_BOTH_FLOAT, ADD],
        ]);
        assert_eq!(ops(&borrow_operands(guarded.clone())), ops(&guarded));
        let computed = program(&[&[Uop::_LOAD_FAST], &[Uop::_LOAD_DEREF], &[ADD]]);
        assert_eq!(ops(&borrow_operands(computed.clone())), ops(&computed));
        // A jump to the operation's instruction: another path pushed there.
        let mut entered = program(&[&[Uop::_LOAD_FAST], &[Uop::_LOAD_FAST], &[ADD], &[]]);
        entered.uops.push(UopInst {
            jump: Some(2),
            ..uop(Uop::_JUMP, 0, 3)
        });
        entered.insts[3].count = 1;
        for inst in &mut entered.insts {
            inst.fallback = 4;
        }
        assert_eq!(borrow_operands(entered.clone()).uops[2].op, ADD);
    }

    #[test]
    fn a_burned_in_global_is_no_plain_push() {
        // `x + G`: invalidation makes G's load leave for the interpreter,
        // which would own whatever is on the stack.
        let mut p = program(&[&[Uop::_LOAD_FAST], &[Uop::_LOAD_CONST_INLINE], &[ADD]]);
        p.burned.push(crate::uops::Burned {
            inst: 1,
            global: crate::uops::KnownGlobal {
                offset: 2,
                name: 0,
                value: 0,
                immortal: false,
                globals: 0,
                builtins: 0,
            },
        });
        assert_eq!(ops(&borrow_operands(p.clone())), ops(&p));
    }

    #[test]
    fn a_frame_check_moves_before_loads_that_start_their_instruction() {
        let p = borrow_operands(program(&[
            &[Uop::_LOAD_FAST],
            &[Uop::_LOAD_FAST, Uop::_LOAD_FAST],
            &[Uop::_CHECK_NO_FRAME_OBJECT, Uop::_BINARY_OP_ADD_INT],
        ]));
        assert_eq!(
            ops(&p),
            [
                Uop::_LOAD_FAST,
                Uop::_CHECK_NO_FRAME_OBJECT,
                Uop::_LOAD_FAST_BORROW,
                Uop::_LOAD_FAST_BORROW,
                Uop::_BINARY_OP_ADD_INT_BORROWED
            ]
        );
        // The check belongs to the loads' instruction, whose start the
        // interpreter resumes at; the ranges follow.
        assert_eq!(p.uops[1].inst, 1);
        assert_eq!(
            p.insts
                .iter()
                .map(|i| (i.first, i.count))
                .collect::<Vec<_>>(),
            [(0, 1), (1, 3), (4, 1)]
        );
        // `a, b = b, a + b`: the check goes before the instruction's first
        // push, which keeps its reference.
        let fib = borrow_operands(program(&[
            &[Uop::_LOAD_FAST, Uop::_LOAD_FAST],
            &[Uop::_LOAD_FAST],
            &[Uop::_CHECK_NO_FRAME_OBJECT, Uop::_BINARY_OP_ADD_INT],
        ]));
        assert_eq!(
            ops(&fib),
            [
                Uop::_CHECK_NO_FRAME_OBJECT,
                Uop::_LOAD_FAST,
                Uop::_LOAD_FAST_BORROW,
                Uop::_LOAD_FAST_BORROW,
                Uop::_BINARY_OP_ADD_INT_BORROWED
            ]
        );
        assert_eq!(fib.uops[0].inst, 0);
        // Anything else before the loads in their instruction keeps the
        // check where it is, and the references.
        let other = program(&[
            &[Uop::_LOAD_DEREF, Uop::_LOAD_FAST],
            &[Uop::_LOAD_FAST],
            &[Uop::_CHECK_NO_FRAME_OBJECT, Uop::_BINARY_OP_ADD_INT],
        ]);
        assert_eq!(ops(&borrow_operands(other.clone())), ops(&other));
    }

    #[test]
    fn borrowed_forms_match_their_operations() {
        for op in [
            Uop::_BINARY_OP_ADD_INT,
            Uop::_BINARY_OP_SUBTRACT_INT,
            Uop::_BINARY_OP_MULTIPLY_INT,
            Uop::_BINARY_OP_ADD_FLOAT,
            Uop::_BINARY_OP_SUBTRACT_FLOAT,
            Uop::_BINARY_OP_MULTIPLY_FLOAT,
            Uop::_COMPARE_OP_INT,
            Uop::_COMPARE_OP_FLOAT,
        ] {
            let borrowed = borrowed_form(op).unwrap();
            assert_eq!(borrowed.effect(0), op.effect(0));
            assert_eq!(borrowed.guard_exits(), op.guard_exits(), "{}", op.name());
        }
        assert_eq!(Uop::_LOAD_FAST_BORROW.effect(0), Uop::_LOAD_FAST.effect(0));
    }
}
