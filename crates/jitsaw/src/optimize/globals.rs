//! Global loads burned in: a `LOAD_GLOBAL` whose name has a value when
//! compiling pushes that value as a constant, instead of checking the dicts'
//! keys versions and reading the entry at run time (CPython's
//! `remove_globals` in `optimizer_analysis.c`). Correctness rests on two
//! things outside this pass: the runtime watches the dicts and, before one
//! of the names changes, turns each burned load of the code into a deopt
//! (`runtime::watch`, through the sites `codegen` records); and the code
//! checks on entry that the frame's globals and builtins are the dicts the
//! values came from (one code object can serve functions of different
//! modules).

use super::rewrite_ranges;
use crate::uops::{Burned, KnownAttr, KnownGlobal, Program, Uop, UopInst};
use jitsaw_cpython313::{deopt, opcode};

/// Burns in every global load with a known value (`program.known_globals`),
/// recording them in `program.burned`, and guards the code's entry.
pub fn burn_globals(program: Program) -> Program {
    if program.known_globals.is_empty() {
        return program;
    }
    let known: Vec<Option<KnownGlobal>> = program
        .insts
        .iter()
        .map(|inst| {
            (deopt(inst.opcode) == opcode::LOAD_GLOBAL)
                .then(|| {
                    program
                        .known_globals
                        .iter()
                        .find(|g| g.offset == inst.offset)
                        .copied()
                })
                .flatten()
        })
        .collect();
    let chains = attribute_chains(&program, &known);
    let mut burned = Vec::new();
    let mut burned_attrs = Vec::new();
    let mut program = rewrite_ranges(program, |i, fallback, uops, out| {
        let chain = &chains[i];
        if fallback && !chain.is_empty() {
            // The chain's checks fall back to the generic load, then the
            // attribute loads run as compiled (each with its own guards).
            out.extend_from_slice(uops);
            return;
        }
        let Some(global) = known[i].filter(|_| uops.iter().any(|u| is_global_load(u.op))) else {
            out.extend_from_slice(uops);
            return;
        };
        if fallback {
            // No guard is left to fall back from.
            return;
        }
        // An unspecialized load in code without loops keeps its `_QUICKEN`,
        // which runs once per call: the interpreter specializes the
        // instruction after as many calls as without jitsaw. In a loop it
        // would cost every iteration, and the warm-up call's loop
        // specializes it anyway.
        let kept = |u: &&UopInst| {
            !matches!(
                u.op,
                Uop::_GUARD_GLOBALS_VERSION
                    | Uop::_GUARD_BUILTINS_VERSION
                    | Uop::_SET_IP
                    | Uop::_QUICKEN_REPORT
                    | Uop::_QUICKEN_COUNT
            )
        };
        // The burned load's invalidation exit sets the instruction pointer
        // itself; anything else after the `_SET_IP` that needs it keeps it.
        let keep_ip = uops
            .iter()
            .skip_while(|u| u.op != Uop::_SET_IP)
            .filter(kept)
            .any(|u| !is_global_load(u.op) && u.op.needs_ip());
        for u in uops {
            if is_global_load(u.op) {
                // Each module read from must still read its attributes from
                // its dict (which is watched), each class still have the
                // version its attribute was read at.
                for a in chain {
                    let (op, oparg) = match a.version {
                        0 => (Uop::_CHECK_CONST_MODULE, 0),
                        v => (Uop::_CHECK_CONST_TYPE_VERSION, v),
                    };
                    out.push(UopInst {
                        op,
                        oparg,
                        operand: a.owner,
                        inst: u.inst,
                        jump: None,
                    });
                }
                let (value, immortal, with_null) = match chain.last() {
                    Some(a) => (a.value, a.immortal, a.method),
                    None => (global.value, global.immortal, u.oparg & 1 != 0),
                };
                out.push(UopInst {
                    op: Uop::load_constant(immortal, with_null),
                    oparg: 0,
                    operand: value,
                    inst: u.inst,
                    jump: None,
                });
                if !chain.is_empty() {
                    // Past the attribute loads.
                    out.push(UopInst {
                        op: Uop::_JUMP,
                        oparg: 0,
                        operand: 0,
                        inst: u.inst,
                        jump: Some((i + chain.len() + 1) as u32),
                    });
                }
            } else if kept(&u) || (u.op == Uop::_SET_IP && keep_ip) {
                out.push(*u);
            }
        }
        burned.push(Burned {
            inst: i as u32,
            global,
            attrs: chain.len() as u32,
            in_body: false,
        });
        burned_attrs.extend_from_slice(chain);
    });
    program.burned = burned;
    program.burned_attrs = burned_attrs;
    guard_namespace(program)
}

/// Makes the code check on entry that the frame's globals and builtins are
/// those its burned-in values came from (`Program::burned_namespace`),
/// where it does not yet: `_CHECK_GLOBALS` (and `_CHECK_BUILTINS` if a
/// builtin was burned in) first in the first instruction. Run again when
/// inlined bodies add burned-in values (`optimize::inline`).
pub fn guard_namespace(program: Program) -> Program {
    let Some((globals, builtins)) = program.burned_namespace() else {
        return program;
    };
    let has = |op| program.uops_of(0).iter().any(|u| u.op == op);
    let checks = [
        (Uop::_CHECK_GLOBALS, globals),
        (Uop::_CHECK_BUILTINS, builtins),
    ];
    let missing: Vec<(Uop, u64)> = checks
        .into_iter()
        .filter(|&(op, operand)| operand != 0 && !has(op))
        .collect();
    if missing.is_empty() {
        return program;
    }
    rewrite_ranges(program, |i, fallback, uops, out| {
        if i == 0 && !fallback {
            out.extend(
                missing
                    .iter()
                    .map(|&(op, operand)| UopInst::at(op, 0, operand, 0)),
            );
        }
        out.extend_from_slice(uops);
    })
}

/// Per instruction, the attribute loads right after it burned in with it
/// (`program.known_attrs`): after a known global, each following
/// specialized `LOAD_ATTR_MODULE` or `LOAD_ATTR_CLASS` of what the one
/// before pushes, that has nothing else to do (its guard and load). The
/// global's instruction checks the modules and classes read from, pushes
/// the last value and jumps past the loads; a failed check falls back to
/// the generic global load, which goes on to the loads as compiled (a
/// class's version moves on with any change to it, which must not send
/// the rest of a loop to the interpreter); invalidation makes the global's
/// instruction a deopt, where the interpreter redoes them all.
fn attribute_chains(program: &Program, known: &[Option<KnownGlobal>]) -> Vec<Vec<KnownAttr>> {
    let mut chains = vec![Vec::new(); program.insts.len()];
    if program.known_attrs.is_empty() {
        return chains;
    }
    for (i, chain) in chains.iter_mut().enumerate() {
        if known[i].is_none() || !program.uops_of(i).iter().any(|u| is_global_load(u.op)) {
            continue;
        }
        for (j, inst) in program.insts.iter().enumerate().skip(i + 1) {
            let Some(attr) = program.known_attrs.iter().find(|a| a.offset == inst.offset) else {
                break;
            };
            let plain = program.uops_of(j).iter().all(|u| {
                matches!(
                    (u.op, attr.version),
                    (Uop::_CHECK_ATTR_MODULE | Uop::_LOAD_ATTR_MODULE, 0)
                        | (Uop::_CHECK_ATTR_CLASS | Uop::_LOAD_ATTR_CLASS, 1..)
                )
            });
            if !plain || inst.count == 0 {
                break;
            }
            chain.push(*attr);
            if attr.method {
                break;
            }
        }
    }
    chains
}

/// Whether `op` reads a global (any form of `LOAD_GLOBAL`).
fn is_global_load(op: Uop) -> bool {
    matches!(
        op,
        Uop::_LOAD_GLOBAL | Uop::_LOAD_GLOBAL_MODULE | Uop::_LOAD_GLOBAL_BUILTINS
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uops::Inst;

    fn uop(op: Uop, oparg: u32, operand: u64, inst: u32) -> UopInst {
        UopInst::at(op, oparg, operand, inst)
    }

    fn inst(offset: u32, opcode: u8, first: u32, count: u32, fallback: u32, fb: u32) -> Inst {
        Inst {
            start: offset,
            offset,
            opcode,
            oparg: 0,
            first,
            count,
            fallback,
            fallback_count: fb,
        }
    }

    const GLOBALS: u64 = 0x1000;
    const BUILTINS: u64 = 0x2000;

    fn known(offset: u32, value: u64, builtin: bool) -> KnownGlobal {
        KnownGlobal {
            offset,
            name: 0x3000 + offset as u64,
            value,
            immortal: value == 0xAA,
            globals: GLOBALS,
            builtins: if builtin { BUILTINS } else { 0 },
        }
    }

    /// `RESUME`; `LOAD_GLOBAL_MODULE` (for a call: oparg 1) with its
    /// fallback; `LOAD_GLOBAL_BUILTIN`; an unspecialized `LOAD_GLOBAL`
    /// needing `_SET_IP`, its counter advanced; `RETURN_VALUE`.
    fn program(known_globals: Vec<KnownGlobal>) -> Program {
        let g = opcode::LOAD_GLOBAL;
        Program {
            insts: vec![
                inst(0, opcode::RESUME, 0, 1, 13, 0),
                inst(1, opcode::LOAD_GLOBAL_MODULE, 1, 2, 11, 2),
                inst(6, opcode::LOAD_GLOBAL_BUILTIN, 3, 3, 13, 0),
                inst(11, g, 6, 4, 13, 0),
                inst(16, opcode::RETURN_VALUE, 10, 1, 13, 0),
            ],
            uops: vec![
                uop(Uop::_CHECK_EVAL_BREAKER, 0, 0, 0),
                uop(Uop::_GUARD_GLOBALS_VERSION, 1, 7, 1),
                uop(Uop::_LOAD_GLOBAL_MODULE, 1, 3, 1),
                uop(Uop::_GUARD_GLOBALS_VERSION, 0, 7, 2),
                uop(Uop::_GUARD_BUILTINS_VERSION, 0, 8, 2),
                uop(Uop::_LOAD_GLOBAL_BUILTINS, 0, 5, 2),
                uop(Uop::_CHECK_VALIDITY, 0, 0, 3),
                uop(Uop::_SET_IP, 0, 0, 3),
                uop(Uop::_QUICKEN, g as u32, 11, 3),
                uop(Uop::_LOAD_GLOBAL, 2, 0, 3),
                uop(Uop::_POP_FRAME, 0, 0, 4),
                uop(Uop::_GENERIC, 0, 0, 1),
                uop(Uop::_LOAD_GLOBAL, 1, 0, 1),
            ],
            known_globals,
            ..Program::default()
        }
    }

    fn ops(p: &Program, i: usize) -> Vec<(Uop, u64)> {
        p.uops_of(i).iter().map(|u| (u.op, u.operand)).collect()
    }

    #[test]
    fn known_globals_become_constants_and_lose_guards_and_fallbacks() {
        let p = burn_globals(program(vec![
            known(1, 0xAA, false),
            known(6, 0xBB, true),
            known(11, 0xCC, false),
        ]));
        assert_eq!(
            ops(&p, 0),
            vec![
                (Uop::_CHECK_GLOBALS, GLOBALS),
                (Uop::_CHECK_BUILTINS, BUILTINS),
                (Uop::_CHECK_EVAL_BREAKER, 0)
            ]
        );
        assert_eq!(
            ops(&p, 1),
            vec![(Uop::_LOAD_CONST_INLINE_BORROW_WITH_NULL, 0xAA)]
        );
        assert_eq!(p.fallback_of(1), &[]);
        assert_eq!(ops(&p, 2), vec![(Uop::_LOAD_CONST_INLINE, 0xBB)]);
        // `_CHECK_VALIDITY` stays, and the counter is still advanced (the
        // interpreter specializes the instruction when it is due, as
        // without jitsaw); its deopt sets the instruction pointer itself.
        assert_eq!(
            ops(&p, 3),
            vec![
                (Uop::_CHECK_VALIDITY, 0),
                (Uop::_QUICKEN, 11),
                (Uop::_LOAD_CONST_INLINE, 0xCC)
            ]
        );
        assert_eq!(ops(&p, 4), vec![(Uop::_POP_FRAME, 0)]);
        assert_eq!(
            p.burned.iter().map(|b| b.inst).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn counters_of_loads_in_code_with_loops_go_with_the_load() {
        let mut before = program(vec![known(11, 0xCC, false)]);
        assert_eq!(before.uops[8].op, Uop::_QUICKEN);
        before.uops[8].op = Uop::_QUICKEN_REPORT;
        let p = burn_globals(before);
        assert_eq!(
            ops(&p, 3),
            vec![(Uop::_CHECK_VALIDITY, 0), (Uop::_LOAD_CONST_INLINE, 0xCC)]
        );
    }

    #[test]
    fn unknown_globals_are_left_alone() {
        let before = program(vec![known(6, 0xBB, true)]);
        let p = burn_globals(before.clone());
        assert_eq!(ops(&p, 1), ops(&before, 1));
        assert_eq!(p.fallback_of(1), before.fallback_of(1));
        assert_eq!(ops(&p, 3), ops(&before, 3));
        assert_eq!(ops(&p, 2), vec![(Uop::_LOAD_CONST_INLINE, 0xBB)]);
        assert_eq!(p.burned.len(), 1);
    }

    #[test]
    fn globals_alone_need_no_builtins_guard() {
        let p = burn_globals(program(vec![known(1, 0xBB, false)]));
        assert_eq!(
            ops(&p, 0),
            vec![
                (Uop::_CHECK_GLOBALS, GLOBALS),
                (Uop::_CHECK_EVAL_BREAKER, 0)
            ]
        );
        assert_eq!(ops(&p, 1), vec![(Uop::_LOAD_CONST_INLINE_WITH_NULL, 0xBB)]);
    }

    /// `os.path.join(...)`: `LOAD_GLOBAL_MODULE os`, `LOAD_ATTR_MODULE
    /// path`, `LOAD_ATTR_MODULE join` (a method call's), each attribute
    /// load with its fallback returning to the next instruction.
    fn chain_program(known_attrs: Vec<KnownAttr>) -> Program {
        let attr = |offset: u32, first: u32, fallback: u32| {
            inst(offset, opcode::LOAD_ATTR_MODULE, first, 2, fallback, 2)
        };
        let back = |target: u32| UopInst {
            jump: Some(target),
            ..uop(Uop::_JUMP, 0, 0, 0)
        };
        Program {
            insts: vec![
                inst(0, opcode::LOAD_GLOBAL_MODULE, 0, 2, 7, 2),
                attr(5, 2, 9),
                attr(15, 4, 11),
                inst(25, opcode::RETURN_VALUE, 6, 1, 13, 0),
            ],
            uops: vec![
                uop(Uop::_GUARD_GLOBALS_VERSION, 0, 7, 0),
                uop(Uop::_LOAD_GLOBAL_MODULE, 0, 3, 0),
                uop(Uop::_CHECK_ATTR_MODULE, 2, 9, 1),
                uop(Uop::_LOAD_ATTR_MODULE, 2, 4, 1),
                uop(Uop::_CHECK_ATTR_MODULE, 5, 9, 2),
                uop(Uop::_LOAD_ATTR_MODULE, 5, 4, 2),
                uop(Uop::_POP_FRAME, 0, 0, 3),
                uop(Uop::_GENERIC, 0, 0, 0),
                back(1),
                uop(Uop::_LOAD_ATTR, 2, 0, 1),
                back(2),
                uop(Uop::_LOAD_ATTR, 5, 0, 2),
                back(3),
            ],
            known_globals: vec![known(0, 0x0500, false)],
            known_attrs,
            ..Program::default()
        }
    }

    fn known_attr(offset: u32, owner: u64, value: u64, method: bool) -> KnownAttr {
        KnownAttr {
            offset,
            owner,
            dict: owner + 8,
            version: 0,
            name: 0x4000 + offset as u64,
            value,
            immortal: false,
            method,
        }
    }

    #[test]
    fn module_attributes_after_a_burned_module_are_burned_in_with_it() {
        let attrs = vec![
            known_attr(5, 0x0500, 0x0600, false),
            known_attr(15, 0x0600, 0x0700, true),
        ];
        let before = chain_program(attrs.clone());
        let p = burn_globals(before.clone());
        assert_eq!(
            ops(&p, 0)[1..],
            [
                (Uop::_CHECK_CONST_MODULE, 0x0500),
                (Uop::_CHECK_CONST_MODULE, 0x0600),
                (Uop::_LOAD_CONST_INLINE_WITH_NULL, 0x0700),
                (Uop::_JUMP, 0)
            ]
        );
        assert_eq!(p.uops_of(0).last().unwrap().jump, Some(3));
        // A failed check falls back to the generic global load, which goes
        // on to the attribute loads, still compiled with their own guards.
        assert_eq!(p.fallback_of(0), before.fallback_of(0));
        for i in [1, 2] {
            assert_eq!(ops(&p, i), ops(&before, i));
            assert_eq!(p.fallback_of(i), before.fallback_of(i));
        }
        assert_eq!(p.burned[0].attrs, 2);
        assert_eq!(p.burned_attrs, attrs);
    }

    #[test]
    fn class_attributes_are_burned_in_behind_a_version_check() {
        // `os.path.Thing.X`, the last load a `LOAD_ATTR_CLASS`.
        let mut class = known_attr(15, 0x0600, 0x0700, false);
        class.dict = 0;
        class.version = 77;
        let attrs = vec![known_attr(5, 0x0500, 0x0600, false), class];
        let mut before = chain_program(attrs.clone());
        before.uops[4].op = Uop::_CHECK_ATTR_CLASS;
        before.uops[5].op = Uop::_LOAD_ATTR_CLASS;
        let p = burn_globals(before.clone());
        assert_eq!(
            ops(&p, 0)[1..],
            [
                (Uop::_CHECK_CONST_MODULE, 0x0500),
                (Uop::_CHECK_CONST_TYPE_VERSION, 0x0600),
                (Uop::_LOAD_CONST_INLINE, 0x0700),
                (Uop::_JUMP, 0)
            ]
        );
        assert_eq!(p.uops_of(0)[2].oparg, 77);
        // A class attribute whose load is a module's is not burned in: the
        // chain stops before it.
        before.uops[4].op = Uop::_CHECK_ATTR_MODULE;
        before.uops[5].op = Uop::_LOAD_ATTR_MODULE;
        let p = burn_globals(before.clone());
        assert_eq!(p.burned_attrs, attrs[..1]);
        assert_eq!(p.uops_of(0).last().unwrap().jump, Some(2));
        assert_eq!(ops(&p, 2), ops(&before, 2));
    }

    #[test]
    fn nothing_known_changes_nothing() {
        let before = program(Vec::new());
        let p = burn_globals(before.clone());
        assert_eq!(p.uops, before.uops);
        assert!(p.burned.is_empty());
    }
}
