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
//! inputs on the stack): those whose types `optimize::types` proved, or
//! whose inputs are borrowed after `_GUARD_BOTH_INT` or
//! `_GUARD_BOTH_FLOAT`, whose `_BORROWED` forms give both references before
//! they exit (`_BORROWED_RIGHT`: the right one, the only one borrowed). A
//! list's or tuple's item by an int index
//! (`_BINARY_SUBSCR_LIST_INT`, `_TUPLE_INT`, and `_STORE_SUBSCR_LIST_INT`'s
//! list and index) qualifies too: its own deopts give the borrowed inputs
//! references first, as `_COMPARE_OP_INT_BORROWED`'s guard does.
//!
//! An attribute load or store of a local (`self.x`, `self.x = v`:
//! `_LOAD_FAST self`, then the guards and `_LOAD_ATTR_INSTANCE_VALUE`,
//! `_STORE_ATTR_INSTANCE_VALUE`, their cached forms, `_LOAD_ATTR_WITH_HINT`
//! or the `_SLOT` load and store) borrows its owner
//! the same way: the `_BORROWED` guards and accesses give the owner a
//! reference before they exit or go the slow way (the interpreter, the
//! generic fallback or the runtime then own the stack as usual), and a
//! fast access does not release it. Truth tests of a local (`if x:`,
//! `x is None`: `_TO_BOOL_INT`, `_LIST`, `_STR`, `_TO_BOOL_ALWAYS_TRUE`'s
//! `_REPLACE_WITH_TRUE` after its guard, `_IS_NONE`) borrow it the same
//! way.

use crate::uops::{Program, Uop, UopInst};

/// The forms of an operation that borrow both inputs, and only its right
/// one, if it has them.
fn borrowed_forms(op: Uop) -> Option<(Uop, Uop)> {
    use Uop::*;
    Some(match op {
        _BINARY_OP_ADD_INT => (
            _BINARY_OP_ADD_INT_BORROWED,
            _BINARY_OP_ADD_INT_BORROWED_RIGHT,
        ),
        _BINARY_OP_SUBTRACT_INT => (
            _BINARY_OP_SUBTRACT_INT_BORROWED,
            _BINARY_OP_SUBTRACT_INT_BORROWED_RIGHT,
        ),
        _BINARY_OP_MULTIPLY_INT => (
            _BINARY_OP_MULTIPLY_INT_BORROWED,
            _BINARY_OP_MULTIPLY_INT_BORROWED_RIGHT,
        ),
        _BINARY_OP_ADD_FLOAT => (
            _BINARY_OP_ADD_FLOAT_BORROWED,
            _BINARY_OP_ADD_FLOAT_BORROWED_RIGHT,
        ),
        _BINARY_OP_SUBTRACT_FLOAT => (
            _BINARY_OP_SUBTRACT_FLOAT_BORROWED,
            _BINARY_OP_SUBTRACT_FLOAT_BORROWED_RIGHT,
        ),
        _BINARY_OP_MULTIPLY_FLOAT => (
            _BINARY_OP_MULTIPLY_FLOAT_BORROWED,
            _BINARY_OP_MULTIPLY_FLOAT_BORROWED_RIGHT,
        ),
        _COMPARE_OP_INT => (_COMPARE_OP_INT_BORROWED, _COMPARE_OP_INT_BORROWED_RIGHT),
        _COMPARE_OP_FLOAT => (_COMPARE_OP_FLOAT_BORROWED, _COMPARE_OP_FLOAT_BORROWED_RIGHT),
        _BINARY_SUBSCR_LIST_INT => (
            _BINARY_SUBSCR_LIST_INT_BORROWED,
            _BINARY_SUBSCR_LIST_INT_BORROWED_RIGHT,
        ),
        _BINARY_SUBSCR_TUPLE_INT => (
            _BINARY_SUBSCR_TUPLE_INT_BORROWED,
            _BINARY_SUBSCR_TUPLE_INT_BORROWED_RIGHT,
        ),
        _STORE_SUBSCR_LIST_INT => (
            _STORE_SUBSCR_LIST_INT_BORROWED,
            _STORE_SUBSCR_LIST_INT_BORROWED_RIGHT,
        ),
        _ => return None,
    })
}

/// The forms of a guard of both inputs' types that exit with references
/// to both inputs pushed without them, and to the right one only.
fn borrowed_guard(op: Uop) -> Option<(Uop, Uop)> {
    match op {
        Uop::_GUARD_BOTH_INT => Some((
            Uop::_GUARD_BOTH_INT_BORROWED,
            Uop::_GUARD_BOTH_INT_BORROWED_RIGHT,
        )),
        Uop::_GUARD_BOTH_FLOAT => Some((
            Uop::_GUARD_BOTH_FLOAT_BORROWED,
            Uop::_GUARD_BOTH_FLOAT_BORROWED_RIGHT,
        )),
        _ => None,
    }
}

/// The form of a push that gives no new reference, if `op` pushes a local,
/// a constant or a copy of a stack slot and nothing else.
fn borrowing_load(op: Uop) -> Option<Uop> {
    match op {
        Uop::_LOAD_FAST => Some(Uop::_LOAD_FAST_BORROW),
        Uop::_LOAD_CONST_INLINE | Uop::_LOAD_CONST_INLINE_BORROW => {
            Some(Uop::_LOAD_CONST_INLINE_BORROW)
        }
        Uop::_COPY => Some(Uop::_COPY_BORROW),
        _ => None,
    }
}

/// Whether the push at `j`, one of the inputs of the micro-op at `k`
/// pushed by the micro-ops up to `last`, may be borrowed by it: a copy
/// must come from below all of its inputs (`COPY 2; COPY 2` of
/// `a[i] += x`), whose slots it consumes and may free or reuse.
fn copy_borrowable(p: &Program, j: usize, last: usize, k: usize) -> bool {
    let (u, op) = (&p.uops[j], &p.uops[k]);
    let pops = op.op.effect(op.oparg).0 as i64;
    u.op != Uop::_COPY || u.oparg as i64 >= pops - (last - j) as i64
}

/// [`borrow_operands`] in an inlined body (`uops`, whose jumps name its
/// micro-ops; `optimize::inline`, which runs after that pass): an
/// operation whose inputs the micro-ops right before it push (after a
/// guard of both, maybe), where no jump lands in between, borrows them.
/// The body's exits give borrowed inputs references first, as in compiled
/// code, so that the fallback's `_INLINE_UNWIND` releases what it owns.
pub fn borrow_in_body(uops: &mut [UopInst]) {
    let mut landed = vec![false; uops.len() + 1];
    for t in uops.iter().filter_map(|u| u.jump) {
        landed[t as usize] = true;
    }
    let pushes = |u: &UopInst| borrowing_load(u.op).is_some();
    for k in 1..uops.len() {
        if borrowed_forms(uops[k].op).is_none() {
            continue;
        }
        let guard = borrowed_guard(uops[k - 1].op);
        let Some(b) = (k - 1).checked_sub(guard.is_some() as usize) else {
            continue;
        };
        let pops = uops[k].op.effect(uops[k].oparg).0 as i64;
        // A copy must come from below all of the inputs (see
        // `copy_borrowable`).
        let borrowable = |j: usize| {
            pushes(&uops[j])
                && (uops[j].op != Uop::_COPY || uops[j].oparg as i64 >= pops - (b - j) as i64)
                && !landed[j + 1..=k].iter().any(|&l| l)
        };
        if !borrowable(b) {
            continue;
        }
        let first = b.checked_sub(1).filter(|&a| borrowable(a)).unwrap_or(b);
        borrow(uops, first, b, k);
    }
}

/// Rewrites the loads `first..=last` and the operation at `k` (after its
/// guard of both inputs' types, if one) into their borrowing forms: both
/// inputs borrowed, or the right one only when `first` is `last`.
fn borrow(uops: &mut [UopInst], first: usize, last: usize, k: usize) {
    let Some((both, right)) = borrowed_forms(uops[k].op) else {
        return;
    };
    for u in &mut uops[first..=last] {
        u.op = borrowing_load(u.op).unwrap_or(u.op);
    }
    let is_both = first < last;
    if let Some((guard_both, guard_right)) = borrowed_guard(uops[k - 1].op) {
        uops[k - 1].op = if is_both { guard_both } else { guard_right };
    }
    uops[k].op = if is_both { both } else { right };
}

/// Rewrites every qualifying operation and the loads of its inputs: both,
/// or the right one when the left one is pushed otherwise. A
/// `_CHECK_NO_FRAME_OBJECT` between them (the operation's, from
/// `optimize::types`) moves to the start of the first borrowed load's
/// instruction when only pushes come before it there: leaving for the
/// interpreter there runs them again.
pub fn borrow_operands(mut program: Program) -> Program {
    let entered = program.entered();
    let burned: Vec<u32> = program.burned.iter().map(|b| b.inst).collect();
    // A plain push; a burned-in global's load is not (invalidation turns
    // it into a deopt, which would hand the interpreter the stack).
    let pushes = |u: &UopInst| borrowing_load(u.op).is_some() && !burned.contains(&u.inst);
    let main_end = program.main_len();
    for k in 1..main_end {
        if borrowed_forms(program.uops[k].op).is_none() {
            continue;
        }
        let check = program.uops[k - 1].op == Uop::_CHECK_NO_FRAME_OBJECT;
        // A guard of both inputs' types: its borrowed forms give the
        // borrowed inputs references before it exits.
        let guard = borrowed_guard(program.uops[k - 1].op);
        let Some(b) = (k - 1).checked_sub((check || guard.is_some()) as usize) else {
            continue;
        };
        if !pushes(&program.uops[b]) || !copy_borrowable(&program, b, b, k) {
            continue;
        }
        let op_inst = program.uops[k].inst as usize;
        // Borrowing from `first` on: control enters only at its
        // instruction, and with a check to move, only pushes come before
        // it there.
        let start_of = |p: &Program, first: usize| {
            let inst = p.uops[first].inst as usize;
            let start = p.insts[inst].first as usize;
            let ok = !(inst + 1..=op_inst).any(|i| entered[i])
                && (!check || p.uops[start..first].iter().all(pushes));
            ok.then_some(start)
        };
        let a = b
            .checked_sub(1)
            .filter(|&a| pushes(&program.uops[a]) && copy_borrowable(&program, a, b, k));
        let (first, start) = match a.and_then(|a| Some((a, start_of(&program, a)?))) {
            Some(found) => found,
            None => match start_of(&program, b) {
                Some(start) => (b, start),
                None => continue,
            },
        };
        borrow(&mut program.uops, first, b, k);
        if check {
            hoist(&mut program, k - 1, start);
        }
    }
    for (i, inst) in program.insts.iter().enumerate() {
        let (first, end) = (inst.first as usize, (inst.first + inst.count) as usize);
        if first == 0 || end > main_end {
            continue;
        }
        // The access that takes the owner, after guards that keep it there
        // (or a `_SET_IP`); what follows the access no longer sees it.
        let Some(access) = (first..end).find(|&k| takes_owner(program.uops[k].op)) else {
            continue;
        };
        let before_ok = program.uops[first..access]
            .iter()
            .all(|u| u.op == Uop::_SET_IP || borrowed_owner_form(u.op).is_some());
        // The owner is a local's or a copy's (whose original stays below
        // it), and control enters neither the access's instruction nor an
        // empty one before it.
        let owner = &program.uops[first - 1];
        if !before_ok
            || !matches!(owner.op, Uop::_LOAD_FAST | Uop::_COPY)
            || !copy_borrowable(&program, first - 1, first - 1, access)
            || burned.contains(&owner.inst)
            || (owner.inst as usize + 1..=i).any(|j| entered[j])
        {
            continue;
        }
        let borrowed = borrowing_load(owner.op).unwrap_or(owner.op);
        program.uops[first - 1].op = borrowed;
        for u in &mut program.uops[first..=access] {
            u.op = borrowed_owner_form(u.op).unwrap_or(u.op);
        }
    }
    program
}

/// Whether `op` takes the value on top of the stack (an attribute
/// access's owner, a truth test's value) and has a form that borrows it.
fn takes_owner(op: Uop) -> bool {
    matches!(
        op,
        Uop::_LOAD_ATTR_INSTANCE_VALUE
            | Uop::_STORE_ATTR_INSTANCE_VALUE
            | Uop::_LOAD_ATTR_CACHED
            | Uop::_STORE_ATTR_CACHED
            | Uop::_LOAD_ATTR_WITH_HINT
            | Uop::_LOAD_ATTR_SLOT
            | Uop::_STORE_ATTR_SLOT
            | Uop::_TO_BOOL_INT
            | Uop::_TO_BOOL_LIST
            | Uop::_TO_BOOL_STR
            | Uop::_REPLACE_WITH_TRUE
            | Uop::_IS_NONE
    )
}

/// The form of an attribute access's micro-op (or of a guard before it)
/// that takes its owner borrowed.
fn borrowed_owner_form(op: Uop) -> Option<Uop> {
    Some(match op {
        Uop::_LOAD_ATTR_CACHED => Uop::_LOAD_ATTR_CACHED_BORROWED,
        Uop::_STORE_ATTR_CACHED => Uop::_STORE_ATTR_CACHED_BORROWED,
        Uop::_CHECK_ATTR_WITH_HINT => Uop::_CHECK_ATTR_WITH_HINT_BORROWED,
        Uop::_LOAD_ATTR_WITH_HINT => Uop::_LOAD_ATTR_WITH_HINT_BORROWED,
        Uop::_LOAD_ATTR_SLOT => Uop::_LOAD_ATTR_SLOT_BORROWED,
        Uop::_STORE_ATTR_SLOT => Uop::_STORE_ATTR_SLOT_BORROWED,
        Uop::_TO_BOOL_INT => Uop::_TO_BOOL_INT_BORROWED,
        Uop::_TO_BOOL_LIST => Uop::_TO_BOOL_LIST_BORROWED,
        Uop::_TO_BOOL_STR => Uop::_TO_BOOL_STR_BORROWED,
        Uop::_REPLACE_WITH_TRUE => Uop::_REPLACE_WITH_TRUE_BORROWED,
        Uop::_IS_NONE => Uop::_IS_NONE_BORROWED,
        Uop::_GUARD_TYPE_VERSION => Uop::_GUARD_TYPE_VERSION_BORROWED,
        Uop::_CHECK_MANAGED_OBJECT_HAS_VALUES => Uop::_CHECK_MANAGED_OBJECT_HAS_VALUES_BORROWED,
        Uop::_LOAD_ATTR_INSTANCE_VALUE => Uop::_LOAD_ATTR_INSTANCE_VALUE_BORROWED,
        Uop::_GUARD_DORV_NO_DICT => Uop::_GUARD_DORV_NO_DICT_BORROWED,
        Uop::_STORE_ATTR_INSTANCE_VALUE => Uop::_STORE_ATTR_INSTANCE_VALUE_BORROWED,
        _ => return None,
    })
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
    use crate::optimize::tests::{all_ops as ops, program_of, uop};

    /// Instructions of the given micro-ops, in order.
    fn program(insts: &[&[Uop]]) -> Program {
        program_of(insts, |op, i| uop(op, 0, i))
    }

    const ADD: Uop = Uop::_BINARY_OP_ADD_FLOAT;

    #[test]
    fn inlined_bodies_borrow_where_no_jump_lands_between() {
        use Uop::*;
        let body = |ops: &[Uop], jump_to: Option<u32>| -> Vec<Uop> {
            let mut uops: Vec<UopInst> = ops.iter().map(|&op| uop(op, 0, 0)).collect();
            uops[0].jump = jump_to;
            borrow_in_body(&mut uops);
            uops.iter().map(|u| u.op).collect()
        };
        // `_POP_JUMP_IF_TRUE` first, then `x < y` of ints, guarded.
        let compare = [
            _POP_JUMP_IF_TRUE,
            _LOAD_FAST,
            _LOAD_FAST,
            _GUARD_BOTH_INT,
            _COMPARE_OP_INT,
        ];
        assert_eq!(
            body(&compare, None),
            [
                _POP_JUMP_IF_TRUE,
                _LOAD_FAST_BORROW,
                _LOAD_FAST_BORROW,
                _GUARD_BOTH_INT_BORROWED,
                _COMPARE_OP_INT_BORROWED
            ]
        );
        // A jump landing on the second load: only the right one.
        assert_eq!(
            body(&compare, Some(2)),
            [
                _POP_JUMP_IF_TRUE,
                _LOAD_FAST,
                _LOAD_FAST_BORROW,
                _GUARD_BOTH_INT_BORROWED_RIGHT,
                _COMPARE_OP_INT_BORROWED_RIGHT
            ]
        );
        // Landing on the operation: nothing.
        assert_eq!(body(&compare, Some(4)), compare);
    }

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
    fn instance_attribute_loads_and_stores_borrow_a_local_owner() {
        use Uop::*;
        let load = [
            _GUARD_TYPE_VERSION,
            _CHECK_MANAGED_OBJECT_HAS_VALUES,
            _LOAD_ATTR_INSTANCE_VALUE,
        ];
        let p = borrow_operands(program(&[&[_LOAD_FAST], &load, &[_STORE_FAST]]));
        assert_eq!(
            ops(&p),
            [
                _LOAD_FAST_BORROW,
                _GUARD_TYPE_VERSION_BORROWED,
                _CHECK_MANAGED_OBJECT_HAS_VALUES_BORROWED,
                _LOAD_ATTR_INSTANCE_VALUE_BORROWED,
                _STORE_FAST
            ]
        );
        let store = [
            _GUARD_TYPE_VERSION,
            _GUARD_DORV_NO_DICT,
            _STORE_ATTR_INSTANCE_VALUE,
        ];
        let p = borrow_operands(program(&[&[_LOAD_FAST, _LOAD_FAST], &store]));
        assert_eq!(
            ops(&p),
            [
                _LOAD_FAST,
                _LOAD_FAST_BORROW,
                _GUARD_TYPE_VERSION_BORROWED,
                _GUARD_DORV_NO_DICT_BORROWED,
                _STORE_ATTR_INSTANCE_VALUE_BORROWED
            ]
        );
        // Truth tests.
        let p = borrow_operands(program(&[
            &[_LOAD_FAST],
            &[_TO_BOOL_INT],
            &[_LOAD_FAST],
            &[_GUARD_TYPE_VERSION, _REPLACE_WITH_TRUE],
            &[_LOAD_FAST],
            &[_IS_NONE, _POP_JUMP_IF_TRUE],
        ]));
        assert_eq!(
            ops(&p),
            [
                _LOAD_FAST_BORROW,
                _TO_BOOL_INT_BORROWED,
                _LOAD_FAST_BORROW,
                _GUARD_TYPE_VERSION_BORROWED,
                _REPLACE_WITH_TRUE_BORROWED,
                _LOAD_FAST_BORROW,
                _IS_NONE_BORROWED,
                _POP_JUMP_IF_TRUE
            ]
        );
        // Guards proven already: the load alone.
        let p = borrow_operands(program(&[&[_LOAD_FAST], &[_LOAD_ATTR_INSTANCE_VALUE]]));
        assert_eq!(
            ops(&p),
            [_LOAD_FAST_BORROW, _LOAD_ATTR_INSTANCE_VALUE_BORROWED]
        );
        // A computed owner, another micro-op in the load's instruction, and
        // a jump to the load (through an empty instruction) keep references.
        for kept in [
            program(&[&[_LOAD_DEREF], &load]),
            program(&[&[_LOAD_FAST], &[_CHAOS, _LOAD_ATTR_INSTANCE_VALUE]]),
        ] {
            assert_eq!(ops(&borrow_operands(kept.clone())), ops(&kept));
        }
        let mut entered = program(&[&[_LOAD_FAST], &[], &load, &[]]);
        entered.uops.push(UopInst {
            jump: Some(1),
            ..uop(_JUMP, 0, 3)
        });
        entered.insts[3].count = 1;
        for inst in &mut entered.insts {
            inst.fallback = 5;
        }
        assert_eq!(ops(&borrow_operands(entered.clone())), ops(&entered));
    }

    #[test]
    fn guards_other_pushes_and_entries_in_between_keep_references() {
        // A guard of both: both borrowed, the guard too; of a computed
        // left input: the right one, the guard giving it alone a reference.
        let guarded = program(&[
            &[Uop::_LOAD_FAST, Uop::_LOAD_FAST],
            &[Uop::_GUARD_BOTH_FLOAT, ADD],
        ]);
        assert_eq!(
            ops(&borrow_operands(guarded)),
            [
                Uop::_LOAD_FAST_BORROW,
                Uop::_LOAD_FAST_BORROW,
                Uop::_GUARD_BOTH_FLOAT_BORROWED,
                Uop::_BINARY_OP_ADD_FLOAT_BORROWED
            ]
        );
        let guarded = program(&[
            &[Uop::_LOAD_DEREF, Uop::_LOAD_FAST],
            &[Uop::_GUARD_BOTH_FLOAT, ADD],
        ]);
        assert_eq!(
            ops(&borrow_operands(guarded)),
            [
                Uop::_LOAD_DEREF,
                Uop::_LOAD_FAST_BORROW,
                Uop::_GUARD_BOTH_FLOAT_BORROWED_RIGHT,
                Uop::_BINARY_OP_ADD_FLOAT_BORROWED_RIGHT
            ]
        );
        let guarded = program(&[
            &[Uop::_LOAD_FAST, Uop::_LOAD_DEREF],
            &[Uop::_GUARD_BOTH_FLOAT, ADD],
        ]);
        assert_eq!(ops(&borrow_operands(guarded.clone())), ops(&guarded));
        let guarded = program(&[
            &[Uop::_LOAD_FAST, Uop::_LOAD_FAST],
            &[Uop::_GUARD_TOS_FLOAT, ADD],
        ]);
        assert_eq!(ops(&borrow_operands(guarded.clone())), ops(&guarded));
        let computed = program(&[&[Uop::_LOAD_FAST], &[Uop::_LOAD_DEREF], &[ADD]]);
        assert_eq!(ops(&borrow_operands(computed.clone())), ops(&computed));
        // A computed left input: only the right one is borrowed.
        let left = borrow_operands(program(&[&[Uop::_LOAD_DEREF], &[Uop::_LOAD_FAST], &[ADD]]));
        assert_eq!(
            ops(&left),
            [
                Uop::_LOAD_DEREF,
                Uop::_LOAD_FAST_BORROW,
                Uop::_BINARY_OP_ADD_FLOAT_BORROWED_RIGHT
            ]
        );
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
            attrs: 0,
            in_body: false,
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
        // Anything else before the left load in its instruction leaves it
        // its reference; the right one still borrows, the check moving to
        // its instruction.
        let other = borrow_operands(program(&[
            &[Uop::_LOAD_DEREF, Uop::_LOAD_FAST],
            &[Uop::_LOAD_FAST],
            &[Uop::_CHECK_NO_FRAME_OBJECT, Uop::_BINARY_OP_ADD_INT],
        ]));
        assert_eq!(
            ops(&other),
            [
                Uop::_LOAD_DEREF,
                Uop::_LOAD_FAST,
                Uop::_CHECK_NO_FRAME_OBJECT,
                Uop::_LOAD_FAST_BORROW,
                Uop::_BINARY_OP_ADD_INT_BORROWED_RIGHT
            ]
        );
        assert_eq!(other.uops[2].inst, 1);
    }

    /// `program` with the given opargs, by micro-op index.
    fn with_opargs(mut p: Program, opargs: &[(usize, u32)]) -> Program {
        for &(k, oparg) in opargs {
            p.uops[k].oparg = oparg;
        }
        p
    }

    #[test]
    fn copies_from_below_the_inputs_are_borrowed() {
        use Uop::*;
        // `a[i] += x`: both copies come from below the subscript's inputs.
        let p = borrow_operands(with_opargs(
            program(&[
                &[_LOAD_FAST],
                &[_LOAD_FAST],
                &[_COPY],
                &[_COPY],
                &[_BINARY_SUBSCR_LIST_INT],
            ]),
            &[(2, 2), (3, 2)],
        ));
        assert_eq!(
            ops(&p)[2..],
            [_COPY_BORROW, _COPY_BORROW, _BINARY_SUBSCR_LIST_INT_BORROWED]
        );
        // `x + x` by `COPY 1`: the copy is of the left input, which the
        // operation consumes (and may reuse in place).
        let p = borrow_operands(with_opargs(
            program(&[&[_BINARY_OP_ADD_FLOAT], &[_COPY], &[ADD]]),
            &[(1, 1)],
        ));
        assert_eq!(ops(&p), [_BINARY_OP_ADD_FLOAT, _COPY, ADD]);
        // ... as the left input it may be (from below both).
        let p = borrow_operands(with_opargs(
            program(&[&[_COPY], &[_LOAD_FAST], &[ADD]]),
            &[(0, 1)],
        ));
        assert_eq!(
            ops(&p),
            [
                _COPY_BORROW,
                _LOAD_FAST_BORROW,
                _BINARY_OP_ADD_FLOAT_BORROWED
            ]
        );
        // A store's list and index must come from below its value too.
        let store = program(&[&[_COPY], &[_LOAD_FAST], &[_STORE_SUBSCR_LIST_INT]]);
        let p = borrow_operands(with_opargs(store.clone(), &[(0, 1)]));
        assert_eq!(
            ops(&p),
            [
                _COPY,
                _LOAD_FAST_BORROW,
                _STORE_SUBSCR_LIST_INT_BORROWED_RIGHT
            ]
        );
        let p = borrow_operands(with_opargs(store, &[(0, 2)]));
        assert_eq!(
            ops(&p),
            [
                _COPY_BORROW,
                _LOAD_FAST_BORROW,
                _STORE_SUBSCR_LIST_INT_BORROWED
            ]
        );
        // `o.x += 1`: the copied owner's original stays below.
        let p = borrow_operands(with_opargs(
            program(&[
                &[_LOAD_FAST],
                &[_COPY],
                &[_GUARD_TYPE_VERSION, _LOAD_ATTR_INSTANCE_VALUE],
            ]),
            &[(1, 1)],
        ));
        assert_eq!(
            ops(&p),
            [
                _LOAD_FAST,
                _COPY_BORROW,
                _GUARD_TYPE_VERSION_BORROWED,
                _LOAD_ATTR_INSTANCE_VALUE_BORROWED
            ]
        );
        // A store whose owner would be a copy of the value it stores.
        let kept = with_opargs(
            program(&[&[_LOAD_FAST], &[_COPY], &[_STORE_ATTR_INSTANCE_VALUE]]),
            &[(1, 1)],
        );
        assert_eq!(ops(&borrow_operands(kept.clone())), ops(&kept));
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
            Uop::_BINARY_SUBSCR_LIST_INT,
            Uop::_BINARY_SUBSCR_TUPLE_INT,
            Uop::_STORE_SUBSCR_LIST_INT,
        ] {
            let (both, right) = borrowed_forms(op).unwrap();
            for borrowed in [both, right] {
                assert_eq!(borrowed.effect(0), op.effect(0));
                assert_eq!(borrowed.guard_exits(), op.guard_exits(), "{}", op.name());
            }
        }
        assert_eq!(Uop::_LOAD_FAST_BORROW.effect(0), Uop::_LOAD_FAST.effect(0));
        assert_eq!(Uop::_COPY_BORROW.effect(3), Uop::_COPY.effect(3));
        for op in [Uop::_GUARD_BOTH_INT, Uop::_GUARD_BOTH_FLOAT] {
            let (both, right) = borrowed_guard(op).unwrap();
            for borrowed in [both, right] {
                assert_eq!(borrowed.effect(0), op.effect(0));
                assert_eq!(borrowed.guard_exits(), op.guard_exits(), "{}", op.name());
            }
        }
    }
}
