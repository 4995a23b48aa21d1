//! Repeated class checks of one local's object: `self.x * a + self.y * b`
//! checks `self`'s type version (and that its attributes are inline
//! values) at each attribute load. Once a check of the object a local holds
//! has passed, a later one of the same local finds the same answer as long
//! as nothing in between can change the object, its class or what the
//! local holds.
//!
//! Only Python code can change those (assigning `__class__`, a class
//! attribute, or the local through `frame.f_locals`; materializing the
//! object's `__dict__`), and a finalizer is Python code too: so only
//! micro-ops known to run none and to free nothing but ints and floats may
//! come between ([`keeps_objects`]), on the main path. A repeated check
//! becomes `_NOP`; the instruction keeps its fallback, which its other
//! exits still use.
//!
//! An instruction control enters other than from the one before (a jump
//! target, a handler, a resumption) forgets everything. The exception is
//! the most common way in: the end of the previous instruction's fallback,
//! whose generic form may have run any code. There a dropped check's facts
//! are checked again, on the local, by `_CHECK_LOCAL_CLASS` (which leaves
//! for the interpreter at the next instruction if they no longer hold), so
//! the fast path pays nothing for the fallback being there (a cached
//! attribute read there, which would jump past them, becomes the plain
//! load, which the checks follow). Code whose such checks fail too often
//! (a site that sees several classes) is compiled again without them
//! (`Program::class_facts`), and then forgets there too.

use super::{remove_nops, rewrite_ranges};
use crate::uops::{Program, Uop, UopInst};
use jitsaw_cpython313::shared::{CLASS_CHECK_NO_DICT, CLASS_CHECK_VALUES};
use std::collections::{BTreeMap, HashMap};

/// What passed checks say about the object a local holds.
#[derive(Clone, Copy, Default)]
struct Known {
    /// The type version its class had (the guard's operand).
    version: u64,
    /// Its attributes are inline values.
    values: bool,
    /// It has no `__dict__` of its own (and inline values).
    no_dict: bool,
}

/// Whether a check is repeated: a type version guard of the version
/// already seen, or a values or no-dict check already passed.
fn repeated(op: Uop, operand: u64, known: &Known) -> bool {
    use Uop::*;
    match op {
        _GUARD_TYPE_VERSION | _GUARD_TYPE_VERSION_BORROWED => known.version == operand,
        _CHECK_MANAGED_OBJECT_HAS_VALUES | _CHECK_MANAGED_OBJECT_HAS_VALUES_BORROWED => {
            known.values || known.no_dict
        }
        _GUARD_DORV_NO_DICT | _GUARD_DORV_NO_DICT_BORROWED => known.no_dict,
        _ => false,
    }
}

/// What a passed check adds, or `None` for micro-ops that are no such
/// check.
fn learn(op: Uop, operand: u64, known: Known) -> Option<Known> {
    use Uop::*;
    Some(match op {
        _GUARD_TYPE_VERSION | _GUARD_TYPE_VERSION_BORROWED if known.version != operand => Known {
            version: operand,
            ..Known::default()
        },
        _GUARD_TYPE_VERSION | _GUARD_TYPE_VERSION_BORROWED => known,
        _CHECK_MANAGED_OBJECT_HAS_VALUES | _CHECK_MANAGED_OBJECT_HAS_VALUES_BORROWED => Known {
            values: true,
            ..known
        },
        _GUARD_DORV_NO_DICT | _GUARD_DORV_NO_DICT_BORROWED => Known {
            no_dict: true,
            ..known
        },
        _ => return None,
    })
}

/// Micro-ops after which every object, class and local (but the one a
/// store names) is as before: no Python code runs, nothing but an int or a
/// float is freed. Loads, stack moves, checks, attribute loads of a
/// borrowed owner (which keep it), and arithmetic and comparisons on ints
/// and floats (whose inputs the guards or `optimize::types` proved).
fn keeps_objects(op: Uop) -> bool {
    use Uop::*;
    matches!(
        op,
        _NOP | _SET_IP
            | _CHECK_VALIDITY
            | _LOAD_FAST
            | _LOAD_FAST_BORROW
            | _LOAD_CONST
            | _LOAD_CONST_INLINE
            | _LOAD_CONST_INLINE_BORROW
            | _LOAD_CONST_INLINE_WITH_NULL
            | _LOAD_CONST_INLINE_BORROW_WITH_NULL
            | _PUSH_NULL
            | _COPY
            | _COPY_BORROW
            | _SWAP
            | _GUARD_TYPE_VERSION
            | _GUARD_TYPE_VERSION_BORROWED
            | _CHECK_MANAGED_OBJECT_HAS_VALUES
            | _CHECK_MANAGED_OBJECT_HAS_VALUES_BORROWED
            | _GUARD_DORV_NO_DICT
            | _GUARD_DORV_NO_DICT_BORROWED
            | _LOAD_ATTR_INSTANCE_VALUE_BORROWED
            | _GUARD_BOTH_INT
            | _GUARD_NOS_INT
            | _GUARD_TOS_INT
            | _GUARD_BOTH_FLOAT
            | _GUARD_NOS_FLOAT
            | _GUARD_TOS_FLOAT
            | _GUARD_BOTH_INT_BORROWED
            | _GUARD_BOTH_FLOAT_BORROWED
            | _GUARD_BOTH_INT_BORROWED_RIGHT
            | _GUARD_BOTH_FLOAT_BORROWED_RIGHT
            | _BINARY_OP_ADD_INT
            | _BINARY_OP_SUBTRACT_INT
            | _BINARY_OP_MULTIPLY_INT
            | _BINARY_OP_ADD_FLOAT
            | _BINARY_OP_SUBTRACT_FLOAT
            | _BINARY_OP_MULTIPLY_FLOAT
            | _BINARY_OP_ADD_INT_BORROWED
            | _BINARY_OP_SUBTRACT_INT_BORROWED
            | _BINARY_OP_MULTIPLY_INT_BORROWED
            | _BINARY_OP_ADD_FLOAT_BORROWED
            | _BINARY_OP_SUBTRACT_FLOAT_BORROWED
            | _BINARY_OP_MULTIPLY_FLOAT_BORROWED
            | _BINARY_OP_ADD_INT_BORROWED_RIGHT
            | _BINARY_OP_SUBTRACT_INT_BORROWED_RIGHT
            | _BINARY_OP_MULTIPLY_INT_BORROWED_RIGHT
            | _BINARY_OP_ADD_FLOAT_BORROWED_RIGHT
            | _BINARY_OP_SUBTRACT_FLOAT_BORROWED_RIGHT
            | _BINARY_OP_MULTIPLY_FLOAT_BORROWED_RIGHT
            | _COMPARE_OP_INT
            | _COMPARE_OP_FLOAT
            | _COMPARE_OP_INT_BORROWED
            | _COMPARE_OP_FLOAT_BORROWED
            | _COMPARE_OP_INT_BORROWED_RIGHT
            | _COMPARE_OP_FLOAT_BORROWED_RIGHT
            | _STORE_FAST_INT
            | _STORE_FAST_FLOAT
    )
}

/// What is known of one local's object, and where it must be checked
/// again if a check relying on it is dropped.
struct Fact {
    known: Known,
    /// Instructions whose fallback returns into the run while this was
    /// known, and what was known there.
    rechecks: Vec<(u32, Known)>,
}

/// Per instruction (and one past the last): whether control can enter it
/// other than from the one before or from the end of that one's fallback
/// (a jump, a handler, a resumption), and whether that fallback returns
/// to it.
///
/// A fallback returns at its end (the `_JUMP` after its
/// `_CHECK_VALIDITY`), where the checks go. An attribute load's cached read
/// (`_LOAD_ATTR_CACHED`) also jumps there from the middle; where checks go
/// in, it becomes the plain `_LOAD_ATTR` again ([`uncached`]), which goes
/// on to them.
fn ways_in(program: &Program) -> (Vec<bool>, Vec<bool>) {
    let n = program.insts.len();
    let (mut other, mut returns) = (program.entry_points(), vec![false; n + 1]);
    for (x, u) in program.uops.iter().enumerate() {
        let Some(t) = u.jump.map(|t| (t as usize).min(n)) else {
            continue;
        };
        // Whether `u` is in the fallback of the instruction before `t`,
        // which ends jumping to `t`.
        let back = t.checked_sub(1).is_some_and(|i| {
            let b = &program.insts[i];
            let range = b.fallback as usize..(b.fallback + b.fallback_count) as usize;
            let last = range.end.checked_sub(1).map(|e| program.uops[e]);
            range.contains(&x)
                && last.is_some_and(|l| l.op == Uop::_JUMP && l.jump == Some(t as u32))
        });
        if back && (u.op == Uop::_JUMP || uncached(u.op).is_some()) {
            returns[t] = true;
        } else {
            other[t] = true;
        }
    }
    (other, returns)
}

/// The plain form of a cached attribute load, which does not jump past
/// the rest of its fallback.
fn uncached(op: Uop) -> Option<Uop> {
    matches!(op, Uop::_LOAD_ATTR_CACHED | Uop::_LOAD_ATTR_CACHED_METHOD).then_some(Uop::_LOAD_ATTR)
}

/// Drops the class checks of a local's object repeated since the same
/// check passed. Where a fallback returns into the run, what a dropped
/// check relied on is checked again at the fallback's end
/// (`_CHECK_LOCAL_CLASS`, leaving for the interpreter if the fallback's
/// Python code changed it); any other way in forgets everything.
pub fn remove_repeated_class_guards(mut program: Program) -> Program {
    let (mut other, returns) = ways_in(&program);
    if !program.class_facts {
        // Facts kept across fallbacks failed their checks too often.
        for (o, &r) in other.iter_mut().zip(&returns) {
            *o |= r;
        }
    }
    let mut facts: HashMap<u32, Fact> = HashMap::new();
    let mut needed: BTreeMap<(u32, u32), Known> = BTreeMap::new();
    // The local whose object the top of the stack is, right after its load
    // (checks leave it there).
    let mut top: Option<u32> = None;
    let mut dropped = false;
    let mut next_inst = 0;
    for k in 0..program.main_len() {
        let u = program.uops[k];
        // Instructions starting here (empty ones too: their label is here).
        while next_inst <= u.inst as usize {
            if other[next_inst] {
                facts.clear();
            }
            if returns[next_inst] {
                for fact in facts.values_mut() {
                    fact.rechecks.push((next_inst as u32 - 1, fact.known));
                }
            }
            if other[next_inst] || returns[next_inst] {
                top = None;
            }
            next_inst += 1;
        }
        if let Some(local) = top {
            let known = facts.get(&local).map(|f| f.known).unwrap_or_default();
            if repeated(u.op, u.operand, &known) {
                program.uops[k].op = Uop::_NOP;
                dropped = true;
                for &(at, known) in &facts[&local].rechecks {
                    needed.insert((at, local), known);
                }
                continue;
            }
            if let Some(learned) = learn(u.op, u.operand, known) {
                let fact = facts.entry(local).or_insert(Fact {
                    known,
                    rechecks: Vec::new(),
                });
                if learned.version != fact.known.version {
                    fact.rechecks.clear();
                }
                fact.known = learned;
                continue;
            }
        }
        top = match u.op {
            Uop::_LOAD_FAST | Uop::_LOAD_FAST_BORROW if u.oparg <= 0xffff => Some(u.oparg),
            _ => None,
        };
        if !keeps_objects(u.op) {
            facts.clear();
        } else if matches!(u.op, Uop::_STORE_FAST_INT | Uop::_STORE_FAST_FLOAT) {
            facts.remove(&u.oparg);
        }
    }
    if !dropped {
        return program;
    }
    let program = rewrite_ranges(program, |i, fallback, uops, out| {
        let checks = needed.range((i as u32, 0)..=(i as u32, u32::MAX));
        match uops.split_last() {
            Some((jump, body)) if fallback && checks.clone().next().is_some() => {
                out.extend(body.iter().map(|u| match uncached(u.op) {
                    Some(op) => UopInst {
                        op,
                        jump: None,
                        ..*u
                    },
                    None => *u,
                }));
                for (&(_, local), known) in checks {
                    let flags = if known.values { CLASS_CHECK_VALUES } else { 0 }
                        | if known.no_dict {
                            CLASS_CHECK_NO_DICT
                        } else {
                            0
                        };
                    out.push(UopInst {
                        op: Uop::_CHECK_LOCAL_CLASS,
                        oparg: local | flags,
                        operand: known.version,
                        inst: jump.inst,
                        jump: None,
                    });
                }
                out.push(*jump);
            }
            _ => out.extend_from_slice(uops),
        }
    });
    remove_nops(program)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::tests::{all_ops as ops, program_of, uop};
    use Uop::*;

    /// One instruction per group of micro-ops, in order (their operands
    /// given), no fallbacks.
    fn program(groups: &[&[(Uop, u32, u64)]]) -> Program {
        let p = program_of(groups, |(op, oparg, operand), i| UopInst {
            operand,
            ..uop(op, oparg, i)
        });
        Program {
            class_facts: true,
            ..p
        }
    }

    /// An instruction.
    type Group<const N: usize> = [(Uop, u32, u64); N];

    /// `self.<attr>` of local `local`, of type version `version`: the load
    /// and the attribute instruction.
    fn load_attr(local: u32, version: u64) -> (Group<1>, Group<3>) {
        (
            [(_LOAD_FAST_BORROW, local, 0)],
            [
                (_GUARD_TYPE_VERSION_BORROWED, 0, version),
                (_CHECK_MANAGED_OBJECT_HAS_VALUES_BORROWED, 0, 0),
                (_LOAD_ATTR_INSTANCE_VALUE_BORROWED, 0, 0),
            ],
        )
    }

    /// Gives instruction `i` of `p` a fallback of `ops`, laid out as the
    /// frontend lays one out: `_CHECK_VALIDITY` and the final `_JUMP`
    /// belong to the next instruction, which the `_JUMP` and a cached
    /// attribute read jump to.
    fn give_fallback(p: &mut Program, i: u32, ops: &[Uop]) {
        p.insts[i as usize].fallback = p.uops.len() as u32;
        p.insts[i as usize].fallback_count = ops.len() as u32;
        for &op in ops {
            let next = matches!(op, _CHECK_VALIDITY | _JUMP);
            p.uops.push(UopInst {
                jump: matches!(op, _JUMP | _LOAD_ATTR_CACHED).then_some(i + 1),
                ..uop(op, 0, i + next as u32)
            });
        }
    }

    const MUL: &[(Uop, u32, u64)] = &[(_GUARD_BOTH_FLOAT, 0, 0), (_BINARY_OP_MULTIPLY_FLOAT, 0, 0)];

    #[test]
    fn a_second_attribute_load_of_a_local_skips_its_checks() {
        let (a, b) = load_attr(0, 7);
        let p = remove_repeated_class_guards(program(&[&a, &b, &a, &b, MUL]));
        assert_eq!(
            ops(&p),
            [
                _LOAD_FAST_BORROW,
                _GUARD_TYPE_VERSION_BORROWED,
                _CHECK_MANAGED_OBJECT_HAS_VALUES_BORROWED,
                _LOAD_ATTR_INSTANCE_VALUE_BORROWED,
                _LOAD_FAST_BORROW,
                _LOAD_ATTR_INSTANCE_VALUE_BORROWED,
                _GUARD_BOTH_FLOAT,
                _BINARY_OP_MULTIPLY_FLOAT,
            ]
        );
        // Float arithmetic in between keeps what is known.
        let p = remove_repeated_class_guards(program(&[&a, &b, &a, &b, MUL, &a, &b]));
        assert_eq!(ops(&p).len(), 10);
    }

    #[test]
    fn other_locals_versions_and_code_in_between_keep_the_checks() {
        let (a, b) = load_attr(0, 7);
        let (c, d) = load_attr(1, 7);
        let (e, f) = load_attr(0, 8);
        // Another local's object: checked on its own.
        let p = remove_repeated_class_guards(program(&[&a, &b, &c, &d]));
        assert_eq!(p.uops.len(), 8);
        // Another version: checked (and then known).
        let p = remove_repeated_class_guards(program(&[&a, &b, &e, &f, &e, &f]));
        assert_eq!(p.uops.len(), 10);
        // A store that may free anything, a call, the eval breaker, a store
        // to the local: all forget.
        for between in [
            &[(_STORE_FAST, 2, 0)][..],
            &[(_CALL, 0, 0)],
            &[(_CHECK_EVAL_BREAKER, 0, 0)],
            &[(_STORE_FAST_FLOAT, 0, 0)],
            &[(_POP_TOP, 0, 0)],
        ] {
            let p = remove_repeated_class_guards(program(&[&a, &b, between, &a, &b]));
            assert_eq!(p.uops.len(), 9, "{:?}", between[0].0);
        }
        // A store to another local forgets nothing about this one.
        let other: &[(Uop, u32, u64)] = &[(_STORE_FAST_FLOAT, 1, 0)];
        let p = remove_repeated_class_guards(program(&[&a, &b, other, &a, &b]));
        assert_eq!(p.uops.len(), 7);
    }

    #[test]
    fn an_entered_instruction_forgets() {
        let (a, b) = load_attr(0, 7);
        for target in [2, 3] {
            let mut p = program(&[&a, &b, &a, &b, &[(_JUMP, 0, 0)]]);
            p.uops.last_mut().unwrap().jump = Some(target);
            let p = remove_repeated_class_guards(p);
            assert_eq!(p.uops.len(), 9, "jump to {target}");
        }
    }

    #[test]
    fn a_check_of_a_computed_value_stays() {
        let (a, b) = load_attr(0, 7);
        let computed: &[(Uop, u32, u64)] = &[(_LOAD_FAST_BORROW, 0, 0), (_COPY, 1, 0)];
        let p = remove_repeated_class_guards(program(&[&a, &b, computed, &b]));
        assert_eq!(p.uops.len(), 9);
    }

    #[test]
    fn a_fallback_returning_into_the_run_checks_again_at_its_end() {
        let (a, b) = load_attr(0, 7);
        let mut p = program(&[&a, &b, &a, &b]);
        // Instruction 1's fallback: the generic load, back to 2.
        give_fallback(&mut p, 1, &[_LOAD_ATTR, _JUMP]);
        let p = remove_repeated_class_guards(p);
        assert_eq!(p.uops_of(3).len(), 1);
        let fallback: Vec<_> = p
            .fallback_of(1)
            .iter()
            .map(|u| (u.op, u.oparg, u.operand, u.inst))
            .collect();
        assert_eq!(
            fallback,
            [
                (_LOAD_ATTR, 0, 0, 1),
                (_CHECK_LOCAL_CLASS, CLASS_CHECK_VALUES, 7, 2),
                (_JUMP, 0, 0, 2)
            ]
        );
        // Nothing dropped, nothing added.
        let mut p = program(&[&a, &b, &[(_LOAD_FAST_BORROW, 1, 0)], &b]);
        give_fallback(&mut p, 1, &[_JUMP]);
        let p = remove_repeated_class_guards(p);
        assert_eq!(p.fallback_of(1).len(), 1);
    }

    #[test]
    fn an_entered_empty_instruction_forgets() {
        let (a, b) = load_attr(0, 7);
        let mut p = program(&[&a, &b, &[], &a, &b, &[(_JUMP, 0, 0)]]);
        p.uops.last_mut().unwrap().jump = Some(2);
        let p = remove_repeated_class_guards(p);
        assert_eq!(p.uops.len(), 9);
    }

    #[test]
    fn a_cached_read_in_a_fallback_that_checks_again_goes_on_to_the_checks() {
        let (a, b) = load_attr(0, 7);
        let mut p = program(&[&a, &b, &a, &b]);
        give_fallback(&mut p, 1, &[_LOAD_ATTR_CACHED, _CHECK_VALIDITY, _JUMP]);
        let p = remove_repeated_class_guards(p);
        assert_eq!(p.uops_of(3).len(), 1);
        let ops: Vec<_> = p.fallback_of(1).iter().map(|u| (u.op, u.jump)).collect();
        assert_eq!(
            ops,
            [
                (_LOAD_ATTR, None),
                (_CHECK_VALIDITY, None),
                (_CHECK_LOCAL_CLASS, None),
                (_JUMP, Some(2))
            ]
        );
        // Left cached where nothing is checked again.
        let mut p = program(&[&a, &b, &[(_LOAD_FAST_BORROW, 1, 0)], &b]);
        give_fallback(&mut p, 1, &[_LOAD_ATTR_CACHED, _CHECK_VALIDITY, _JUMP]);
        let p = remove_repeated_class_guards(p);
        assert_eq!(p.fallback_of(1)[0].op, _LOAD_ATTR_CACHED);
    }

    #[test]
    fn without_facts_across_python_code_a_fallback_return_forgets() {
        let (a, b) = load_attr(0, 7);
        let mut p = program(&[&a, &b, &a, &b]);
        p.class_facts = false;
        give_fallback(&mut p, 1, &[_JUMP]);
        let p = remove_repeated_class_guards(p);
        assert_eq!(p.uops_of(3).len(), 3);
        assert_eq!(p.fallback_of(1).len(), 1);
    }
}
