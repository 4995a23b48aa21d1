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
//!
//! A float result stored to a local next (`dx = x1 - x2`, a lone
//! `STORE_FAST` after the operation's instruction) is computed into that
//! local's float when the local alone holds it: `_BINARY_OP_*_FLOAT_INTO_LOCAL`
//! (the stored local in operand bits 16-31) writes the value there and jumps
//! past the store, which saves allocating the result and freeing the old
//! value in each turn of a loop. Otherwise it pushes the result as the
//! `_LOCALS` form does, and the store, left in place, takes it (the
//! instruction's fallback returns to it too).
//!
//! An instance attribute of a local's object (`self.x`: after
//! `optimize::borrow`, `_LOAD_FAST_BORROW self`,
//! `_GUARD_TYPE_VERSION_BORROWED`, `_CHECK_MANAGED_OBJECT_HAS_VALUES_BORROWED`,
//! `_LOAD_ATTR_INSTANCE_VALUE_BORROWED`) is read the same way:
//! `_LOAD_ATTR_INSTANCE_VALUE_LOCAL` makes the three checks on the local's
//! object and pushes the value, where the owner went to the stack and each
//! micro-op loaded it back; a failed check pushes the owner with a
//! reference, as the load would have, and leaves as the checks would.
//!
//! An unpacking of a tuple or list into consecutive locals (`a, b, c = t`)
//! stores the items itself and jumps past the stores
//! (`unpack_into_locals`, the last pass, so that no pass before it sees
//! locals stored without their stores).

use super::{lone_store, remove_nops, rewrite_ranges};
use crate::uops::{Program, Uop, UopInst, LABEL};

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

/// The form of a fused float operation that computes into the local stored
/// next when that local's float can take the result.
fn into_local_form(form: Uop) -> Option<Uop> {
    use Uop::*;
    Some(match form {
        _BINARY_OP_ADD_FLOAT_LOCALS => _BINARY_OP_ADD_FLOAT_INTO_LOCAL,
        _BINARY_OP_SUBTRACT_FLOAT_LOCALS => _BINARY_OP_SUBTRACT_FLOAT_INTO_LOCAL,
        _BINARY_OP_MULTIPLY_FLOAT_LOCALS => _BINARY_OP_MULTIPLY_FLOAT_INTO_LOCAL,
        _ => return None,
    })
}

/// When micro-op `k` ends its instruction and the next instruction is a
/// lone store to a local: that local, and the instruction after the store
/// (where writing into the local's float goes on).
fn store_after(program: &Program, k: usize) -> Option<(u32, u32)> {
    let at = program.uops[k].inst as usize;
    let store = at + 1;
    let inst = program.insts.get(store)?;
    let ends = (program.insts[at].first + program.insts[at].count) as usize == k + 1;
    let local = lone_store(program, store).filter(|&l| l <= 0xffff)?;
    (ends && inst.first as usize == k + 1).then_some((local, store as u32 + 1))
}

/// Whether the loads from micro-op `first` on are all that runs before the
/// operation at `k`: its instruction starts at `start` (with its guard or
/// itself), and no instruction after the first load's up to it is entered
/// (a jump, a handler or a resumption would find the inputs on the stack)
/// or has a fallback.
fn quiet_between(
    program: &Program,
    entered: &[bool],
    first: usize,
    start: usize,
    k: usize,
) -> bool {
    let at = program.uops[k].inst as usize;
    let from = program.uops[first].inst as usize;
    program.insts[at].first as usize == start
        && from < at
        && (from + 1..=at).all(|i| !entered[i])
        && (from..at).all(|i| program.insts[i].fallback_count == 0)
}

/// The fused form of an instance attribute load of a local's object whose
/// load, checks and read end at micro-op `k`, if they do.
fn attr_load_of_local(program: &Program, entered: &[bool], k: usize) -> Option<UopInst> {
    use Uop::*;
    let seq = program.uops.get(k.checked_sub(3)?..=k)?;
    let [load, version, values, read] = seq else {
        return None;
    };
    let shape = [load.op, version.op, values.op, read.op]
        == [
            _LOAD_FAST_BORROW,
            _GUARD_TYPE_VERSION_BORROWED,
            _CHECK_MANAGED_OBJECT_HAS_VALUES_BORROWED,
            _LOAD_ATTR_INSTANCE_VALUE_BORROWED,
        ];
    let fits = load.oparg <= 0xffff && version.operand >> 32 == 0 && read.operand <= 0xffff;
    (shape && fits && quiet_between(program, entered, k - 3, k - 2, k)).then_some(UopInst {
        op: _LOAD_ATTR_INSTANCE_VALUE_LOCAL,
        operand: version.operand | read.operand << 32 | (load.oparg as u64) << 48,
        ..*read
    })
}

/// Fuses each borrowed float or int operation whose inputs are two locals loaded
/// right before it (and its guard, if `optimize::types` left one), and each
/// instance attribute load of a local's object.
pub fn fuse_local_operands(mut program: Program) -> Program {
    let entered = program.entered();
    let main_end = program.main_len();
    let mut fused = false;
    for k in 3..main_end {
        if let Some(u) = attr_load_of_local(&program, &entered, k) {
            for j in k - 3..k {
                program.uops[j].op = Uop::_NOP;
            }
            program.uops[k] = u;
            fused = true;
        }
    }
    for k in 2..main_end {
        let Some((form, guard)) = locals_form(program.uops[k].op) else {
            continue;
        };
        let guarded = program.uops[k - 1].op == guard;
        if guarded && k < 3 {
            continue;
        }
        let first = if guarded { k - 3 } else { k - 2 };
        let (a, b) = (program.uops[first], program.uops[first + 1]);
        let loads_only = a.op == Uop::_LOAD_FAST_BORROW && b.op == Uop::_LOAD_FAST_BORROW;
        // The operation's instruction starts with the guard or the
        // operation; the loads are all that runs in between.
        if !(loads_only && quiet_between(&program, &entered, first, first + 2, k)) {
            continue;
        }
        for j in first..k {
            program.uops[j].op = Uop::_NOP;
        }
        let into = into_local_form(form)
            .zip(store_after(&program, k))
            .filter(|_| b.oparg <= 0xffff);
        let (form, operand, jump) = match into {
            Some((into, (local, past))) => {
                (into, b.oparg as u64 | (local as u64) << 16, Some(past))
            }
            None => (form, b.oparg as u64, None),
        };
        program.uops[k] = UopInst {
            op: form,
            oparg: a.oparg,
            operand,
            jump,
            ..program.uops[k]
        };
        fused = true;
    }
    if fused {
        remove_nops(program)
    } else {
        program
    }
}

/// The fewest items an unpacking stores in a loop of code
/// (`_UNPACK_SEQUENCE_INTO_LOCALS`): two stay straight-line code.
const MIN_INTO_LOCALS: u32 = 3;

/// When the instructions after `i` store `n` values to consecutive
/// locals, the first value to the lowest, and do nothing else, no
/// instruction among them being entered or having a fallback: the first
/// local and the instruction after the stores.
fn consecutive_stores(program: &Program, entered: &[bool], i: usize, n: u32) -> Option<(u32, u32)> {
    let mut first = None;
    let mut stored = 0;
    let mut j = i + 1;
    while stored < n {
        if entered[j] || program.insts.get(j)?.fallback_count != 0 {
            return None;
        }
        for u in program.uops_of(j) {
            let store = matches!(
                u.op,
                Uop::_STORE_FAST | Uop::_STORE_FAST_INT | Uop::_STORE_FAST_FLOAT
            );
            let base = *first.get_or_insert(u.oparg);
            if !store || stored == n || u.oparg != base + stored {
                return None;
            }
            stored += 1;
        }
        j += 1;
    }
    (j < program.insts.len()).then_some((first?, j as u32))
}

/// [`Program::entered`], but for the jumps of fallbacks back to the
/// instruction after their own: an unpacking's fallback goes on into its
/// stores, which are entered only from there.
fn entered_but_from_own_fallbacks(program: &Program) -> Vec<bool> {
    let n = program.insts.len();
    let mut entered = program.entry_points();
    let main = program.uops[..program.main_len()].iter().map(|u| (None, u));
    let fallbacks = (0..n).flat_map(|i| program.fallback_of(i).iter().map(move |u| (Some(i), u)));
    for (owner, u) in main.chain(fallbacks) {
        let Some(t) = u.jump.filter(|&t| t & LABEL == 0).map(|t| t as usize) else {
            continue;
        };
        if owner.is_none_or(|i| t != i + 1) {
            entered[t.min(n)] = true;
        }
    }
    entered
}

/// Fuses each unpacking of a tuple or list that ends its instruction with
/// the stores of its items after it, when they go to consecutive locals
/// (`a, b, c = t` of names first bound there, `for x, y, z in points`):
/// `_UNPACK_SEQUENCE_INTO_LOCALS` unpacks, stores and jumps past the
/// stores, one loop of code where each store took its own. The stores move
/// into the unpacking's fallback, which pushes the items as the interpreter
/// would and was their only way in: the main line keeps just the loop
/// (`a, b, c, d, e, f, g, h, i, j = t` 400 times over, pyperformance's
/// unpack_sequence, ran slower than the interpreter from its code's size
/// alone). Counting modes put a counter before each store and keep them.
pub fn unpack_into_locals(mut program: Program) -> Program {
    let mut entered = entered_but_from_own_fallbacks(&program);
    let mut fused = Vec::new();
    for i in 0..program.insts.len() {
        let (first, count) = (program.insts[i].first, program.insts[i].count);
        if count == 0 {
            continue;
        }
        let k = (first + count - 1) as usize;
        let u = program.uops[k];
        let unpacks = matches!(
            u.op,
            Uop::_UNPACK_SEQUENCE_TUPLE | Uop::_UNPACK_SEQUENCE_LIST
        );
        if !unpacks || u.oparg < MIN_INTO_LOCALS {
            continue;
        }
        if let Some((first, past)) = consecutive_stores(&program, &entered, i, u.oparg) {
            program.uops[k] = UopInst {
                op: Uop::_UNPACK_SEQUENCE_INTO_LOCALS,
                operand: first as u64,
                jump: Some(past),
                ..u
            };
            entered[past as usize] = true;
            fused.push((i, past as usize));
        }
    }
    if fused.is_empty() {
        return program;
    }
    move_stores_into_fallbacks(program, &fused)
}

/// For each fused unpacking (its instruction and the one past its stores),
/// moves the stores to where its fallback returned to them, the fallback
/// then jumping past them.
fn move_stores_into_fallbacks(program: Program, fused: &[(usize, usize)]) -> Program {
    let n = program.insts.len();
    let mut moved = vec![false; n];
    let mut stores: Vec<Option<(Vec<UopInst>, u32)>> = vec![None; n];
    for &(i, past) in fused {
        moved[i + 1..past].iter_mut().for_each(|m| *m = true);
        let uops = (i + 1..past).flat_map(|j| program.uops_of(j)).copied();
        stores[i] = Some((uops.collect(), past as u32));
    }
    rewrite_ranges(program, |i, fallback, uops, out| match &stores[i] {
        Some((stores, past)) if fallback => {
            for u in uops {
                if u.op == Uop::_JUMP && u.jump == Some(i as u32 + 1) {
                    out.extend_from_slice(stores);
                    out.push(UopInst {
                        jump: Some(*past),
                        ..*u
                    });
                } else {
                    out.push(*u);
                }
            }
        }
        _ if moved[i] && !fallback => {}
        _ => out.extend_from_slice(uops),
    })
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

    /// `program`, with a `LOAD_FAST 0` after the store.
    fn program_with_next(guarded: bool) -> Program {
        let mut p = program(guarded, None);
        let at = p.main_len();
        p.uops.insert(at, uop(Uop::_LOAD_FAST, 0, 3));
        p.insts[1].fallback += 1;
        p.insts.push(inst(at as u32, 1, 0, 0));
        p
    }

    fn ops(p: &Program, i: usize) -> Vec<(Uop, u32, u64)> {
        p.uops_of(i)
            .iter()
            .map(|u| (u.op, u.oparg, u.operand))
            .collect()
    }

    /// `LOAD_FAST 3`, then `LOAD_ATTR` (`oparg` its method bit) of the
    /// instance value at index 2 under type version 9, with a fallback;
    /// `jump_to` adds a jump to that instruction from the last.
    fn attr_program(oparg: u32, jump_to: Option<u32>) -> Program {
        let uops = vec![
            uop(Uop::_LOAD_FAST_BORROW, 3, 0),
            crate::uops::UopInst {
                operand: 9,
                ..uop(Uop::_GUARD_TYPE_VERSION_BORROWED, 0, 1)
            },
            uop(Uop::_CHECK_MANAGED_OBJECT_HAS_VALUES_BORROWED, 0, 1),
            crate::uops::UopInst {
                operand: 2,
                ..uop(Uop::_LOAD_ATTR_INSTANCE_VALUE_BORROWED, oparg, 1)
            },
            crate::uops::UopInst {
                jump: jump_to,
                ..uop(Uop::_POP_TOP, 0, 2)
            },
            uop(Uop::_LOAD_ATTR, oparg, 1),
        ];
        Program {
            insts: vec![inst(0, 1, 5, 0), inst(1, 3, 5, 1), inst(4, 1, 6, 0)],
            uops,
            ..Program::default()
        }
    }

    #[test]
    fn a_locals_instance_attribute_is_read_in_one() {
        for method in [0, 1] {
            let p = fuse_local_operands(attr_program(method, None));
            assert!(ops(&p, 0).is_empty());
            assert_eq!(
                ops(&p, 1),
                [(
                    Uop::_LOAD_ATTR_INSTANCE_VALUE_LOCAL,
                    method,
                    9 | 2 << 32 | 3 << 48
                )]
            );
            // A failed check pushes the local, as its load would have.
            assert_eq!(Uop::_LOAD_ATTR_INSTANCE_VALUE_LOCAL.deopt_pushes(), 1);
            assert_eq!(p.fallback_of(1)[0].op, Uop::_LOAD_ATTR);
        }
    }

    #[test]
    fn an_attribute_load_entered_or_unchecked_is_left_alone() {
        // Entered between the load and the checks.
        let p = fuse_local_operands(attr_program(0, Some(1)));
        assert_eq!(ops(&p, 1).len(), 3);
        // Entering the load's instruction is fine.
        let p = fuse_local_operands(attr_program(0, Some(0)));
        assert_eq!(ops(&p, 1)[0].0, Uop::_LOAD_ATTR_INSTANCE_VALUE_LOCAL);
        // Another owner than a local's object, or the checks not all there.
        let mut p = attr_program(0, None);
        p.uops[0].op = Uop::_LOAD_CONST_INLINE_BORROW;
        assert_eq!(ops(&fuse_local_operands(p), 1).len(), 3);
        let mut p = attr_program(0, None);
        p.uops[2].op = Uop::_NOP;
        let read = ops(&fuse_local_operands(p), 1)[2].0;
        assert_eq!(read, Uop::_LOAD_ATTR_INSTANCE_VALUE_BORROWED);
        // Past what the operand holds.
        let mut p = attr_program(0, None);
        p.uops[0].oparg = 0x10000;
        assert_eq!(ops(&fuse_local_operands(p), 1).len(), 3);
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

    #[test]
    fn a_float_operation_stored_to_a_local_computes_into_it() {
        for guarded in [true, false] {
            let p = fuse_local_operands(program_with_next(guarded));
            let op = p.uops_of(1)[0];
            assert_eq!(
                (op.op, op.oparg, op.operand, op.jump),
                (
                    Uop::_BINARY_OP_MULTIPLY_FLOAT_INTO_LOCAL,
                    3,
                    4 | 5 << 16,
                    Some(3)
                )
            );
            // The store stays, for the fallback and for a local whose
            // float cannot take the result.
            assert_eq!(ops(&p, 2), [(Uop::_STORE_FAST, 5, 0)]);
            assert_eq!(p.fallback_of(1)[0].op, Uop::_BINARY_OP);
        }
    }

    #[test]
    fn only_a_float_result_stored_to_a_local_computes_into_it() {
        let fused = |p: Program| ops(&fuse_local_operands(p), 1)[0];
        let mut p = program_with_next(true);
        p.uops[2].op = Uop::_GUARD_BOTH_INT_BORROWED;
        p.uops[3].op = Uop::_BINARY_OP_SUBTRACT_INT_BORROWED;
        assert_eq!(fused(p).0, Uop::_BINARY_OP_SUBTRACT_INT_LOCALS);
        let mut p = program_with_next(true);
        p.uops[4].op = Uop::_POP_TOP;
        assert_eq!(fused(p), (Uop::_BINARY_OP_MULTIPLY_FLOAT_LOCALS, 3, 4));
        // Past what the operand holds.
        let mut p = program_with_next(true);
        p.uops[4].oparg = 0x10000;
        assert_eq!(fused(p), (Uop::_BINARY_OP_MULTIPLY_FLOAT_LOCALS, 3, 4));
        let mut p = program_with_next(true);
        p.uops[1].oparg = 0x10000;
        assert_eq!(
            fused(p),
            (Uop::_BINARY_OP_MULTIPLY_FLOAT_LOCALS, 3, 0x10000)
        );
    }

    /// `UNPACK_SEQUENCE_TUPLE 3` with its generic fallback (back to the
    /// next instruction), then `STORE_FAST_STORE_FAST` and `STORE_FAST` of
    /// `locals`, then a `LOAD_FAST 0`.
    fn unpack_program(locals: [u32; 3]) -> Program {
        let uops = vec![
            uop(Uop::_UNPACK_SEQUENCE_TUPLE, 3, 0),
            uop(Uop::_STORE_FAST, locals[0], 1),
            uop(Uop::_STORE_FAST, locals[1], 1),
            uop(Uop::_STORE_FAST_INT, locals[2], 2),
            uop(Uop::_LOAD_FAST, 0, 3),
            uop(Uop::_UNPACK_SEQUENCE, 3, 0),
            // Counted as the next instruction's, as the frontend does.
            crate::uops::UopInst {
                jump: Some(1),
                ..uop(Uop::_JUMP, 0, 1)
            },
        ];
        Program {
            insts: vec![
                inst(0, 1, 5, 2),
                inst(1, 2, 7, 0),
                inst(3, 1, 7, 0),
                inst(4, 1, 7, 0),
            ],
            uops,
            ..Program::default()
        }
    }

    #[test]
    fn an_unpacking_into_consecutive_locals_stores_them_itself() {
        let p = unpack_into_locals(unpack_program([4, 5, 6]));
        let u = p.uops_of(0)[0];
        assert_eq!(
            (u.op, u.oparg, u.operand),
            (Uop::_UNPACK_SEQUENCE_INTO_LOCALS, 3, 4)
        );
        // Past the stores, which move into the fallback: it stores the
        // items it pushed, then jumps past them too.
        assert_eq!(u.jump, Some(3));
        assert!(ops(&p, 1).is_empty() && ops(&p, 2).is_empty());
        let fallback: Vec<_> = p
            .fallback_of(0)
            .iter()
            .map(|u| (u.op, u.oparg, u.jump))
            .collect();
        assert_eq!(
            fallback,
            [
                (Uop::_UNPACK_SEQUENCE, 3, None),
                (Uop::_STORE_FAST, 4, None),
                (Uop::_STORE_FAST, 5, None),
                (Uop::_STORE_FAST_INT, 6, None),
                (Uop::_JUMP, 0, Some(3)),
            ]
        );
        assert_eq!(ops(&p, 3), [(Uop::_LOAD_FAST, 0, 0)]);
        let list = |mut p: Program| {
            p.uops[0].op = Uop::_UNPACK_SEQUENCE_LIST;
            unpack_into_locals(p).uops[0].op
        };
        assert_eq!(
            list(unpack_program([0, 1, 2])),
            Uop::_UNPACK_SEQUENCE_INTO_LOCALS
        );
    }

    #[test]
    fn unpackings_into_other_locals_or_entered_stores_stay() {
        let unfused = |p: Program| unpack_into_locals(p).uops[0].op == Uop::_UNPACK_SEQUENCE_TUPLE;
        // Not consecutive, not in order, one local twice.
        assert!(unfused(unpack_program([4, 6, 5])));
        assert!(unfused(unpack_program([6, 5, 4])));
        assert!(unfused(unpack_program([4, 4, 5])));
        // A jump to the second store instruction.
        let mut p = unpack_program([4, 5, 6]);
        p.uops[4].jump = Some(2);
        assert!(unfused(p));
        // Something else among the stores (a counter, in counting mode).
        let mut p = unpack_program([4, 5, 6]);
        p.uops[2].op = Uop::_COUNT_RUN;
        assert!(unfused(p));
        // Two items stay straight-line code.
        let mut p = unpack_program([4, 5, 6]);
        p.uops[0].oparg = 2;
        p.insts[2].count = 0;
        assert!(unfused(p));
        // No instruction after the stores to go on at.
        let mut p = unpack_program([4, 5, 6]);
        p.insts.pop();
        assert!(unfused(p));
    }
}
