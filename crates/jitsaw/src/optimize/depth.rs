//! `JITSAW_DEBUG`: the stack depth before every micro-op, computed from the
//! micro-ops' stack effects, and a `_CHECK_STACK_DEPTH` before each that
//! compares the running code's stack pointer with it.
//!
//! Depths flow from the first instruction (depth 0), along fall-through,
//! jumps and the generic fallbacks' returns, and from the exception table's
//! handler entries. Two paths reaching one instruction with different
//! depths, or an instruction no path reaches, get no checks.

use super::rewrite_ranges;
use crate::uops::{Program, Uop, UopInst, LABEL};

/// What reaching an instruction tells: nothing yet, one depth, or
/// contradicting depths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// No path reaches it (yet).
    Unreached,
    /// Every path reaches it at this depth.
    Known(i32),
    /// Paths disagree.
    Conflict,
}

impl Depth {
    fn meet(self, d: i32) -> Depth {
        match self {
            Depth::Unreached => Depth::Known(d),
            Depth::Known(k) if k == d => self,
            _ => Depth::Conflict,
        }
    }
}

/// The stack depth a jump leaves with, relative to the depth before the
/// jumping micro-op: iterators that are exhausted pop themselves as they
/// jump past the loop's `END_FOR`; other jumps follow their stack effect.
fn jump_depth(u: &UopInst, before: i32) -> i32 {
    match u.op.jump_pops() {
        Some(n) => before - n as i32,
        None => after(u, before),
    }
}

fn after(u: &UopInst, before: i32) -> i32 {
    let (pops, pushes) = u.op.effect(u.oparg);
    before - pops + pushes
}

/// Whether control goes on to the next micro-op (a yield counts: the
/// generator resumes there).
fn continues(op: Uop) -> bool {
    op == Uop::_YIELD_VALUE || op.continues()
}

/// How many values above the instruction's starting depth instruction
/// `i`'s fallback starts with: its first micro-op's inputs read in place
/// are pushed when it leaves for the fallback.
fn fallback_pushes(program: &Program, i: usize) -> i32 {
    program
        .uops_of(i)
        .first()
        .map_or(0, |u| u.op.deopt_pushes())
}

/// The depth at the start of each instruction.
pub fn depths(program: &Program) -> Vec<Depth> {
    let n = program.insts.len();
    let mut at = vec![Depth::Unreached; n];
    let mut work = Vec::new();
    let reach = |at: &mut Vec<Depth>, work: &mut Vec<usize>, i: usize, d: i32| {
        if i < n {
            let new = at[i].meet(d);
            if new != at[i] {
                at[i] = new;
                work.push(i);
            }
        }
    };
    if n > 0 {
        reach(&mut at, &mut work, 0, 0);
    }
    for &(i, d) in &program.handlers {
        reach(&mut at, &mut work, i as usize, d as i32);
    }
    while let Some(i) = work.pop() {
        let Depth::Known(start) = at[i] else { continue };
        // An instruction without micro-ops (a `NOP`) falls through; an
        // instruction without a fallback has nothing more to follow.
        for (uops, fallback) in [(program.uops_of(i), false), (program.fallback_of(i), true)] {
            if fallback && uops.is_empty() {
                continue;
            }
            let mut d = if fallback {
                start + fallback_pushes(program, i)
            } else {
                start
            };
            let mut falls = true;
            for u in uops {
                if let Some(t) = u.jump {
                    reach(&mut at, &mut work, t as usize, jump_depth(u, d));
                }
                d = after(u, d);
                if !continues(u.op) {
                    falls = false;
                    break;
                }
            }
            if falls {
                reach(&mut at, &mut work, i + 1, d);
            }
        }
    }
    at
}

/// Puts a `_CHECK_STACK_DEPTH` before every micro-op whose depth is known.
pub fn check_stack_depth(program: Program) -> Program {
    let at = depths(&program);
    let base = program.stack_base as i32;
    let pushes: Vec<i32> = (0..program.insts.len())
        .map(|i| fallback_pushes(&program, i))
        .collect();
    rewrite_ranges(program, |i, fallback, uops, out| {
        let mut depth = match at[i] {
            Depth::Known(d) if fallback => Some(d + pushes[i]),
            Depth::Known(d) => Some(d),
            _ => None,
        };
        // Where each micro-op lands, for the labels among them.
        let start = out.len();
        let mut moved = Vec::with_capacity(uops.len());
        for u in uops {
            // An inlined call's fallback starts with what its body had
            // pushed (`optimize::inline`), which it releases: unchecked.
            if let Some(d) = depth.filter(|_| u.op != Uop::_INLINE_UNWIND) {
                out.push(UopInst {
                    op: Uop::_CHECK_STACK_DEPTH,
                    oparg: 0,
                    operand: (base + d) as u64,
                    inst: u.inst,
                    jump: None,
                });
                depth = continues(u.op).then(|| after(u, d));
            }
            moved.push((out.len() - start) as u32);
            out.push(*u);
        }
        for u in &mut out[start..] {
            if let Some(l) = u.label() {
                u.jump = Some(LABEL | moved[l as usize]);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uops::Inst;

    fn uop(op: Uop, oparg: u32, inst: u32, jump: Option<u32>) -> UopInst {
        UopInst {
            op,
            oparg,
            operand: 0,
            inst,
            jump,
        }
    }

    fn inst(first: u32, count: u32) -> Inst {
        Inst {
            start: first,
            offset: first,
            opcode: 0,
            oparg: 0,
            first,
            count,
            fallback: 6,
            fallback_count: 0,
        }
    }

    /// `for x in it: pass` shaped: 0 iter load, 1 loop head (jumps to 3 when
    /// exhausted, popping the iterator), 2 pop x and jump back, 3 return.
    fn loop_program() -> Program {
        Program {
            insts: vec![inst(0, 1), inst(1, 2), inst(3, 2), inst(5, 1)],
            uops: vec![
                uop(Uop::_LOAD_FAST, 0, 0, None),
                uop(Uop::_ITER_JUMP_LIST, 0, 1, Some(3)),
                uop(Uop::_ITER_NEXT_LIST, 0, 1, None),
                uop(Uop::_POP_TOP, 0, 2, None),
                uop(Uop::_JUMP, 0, 2, Some(1)),
                uop(Uop::_POP_FRAME, 0, 3, None),
            ],
            handlers: vec![],
            stack_base: 10,
            ..Program::default()
        }
    }

    #[test]
    fn depths_follow_effects_jumps_and_loops() {
        let d = depths(&loop_program());
        // The exhausted iterator pops itself: 3 starts at 0, not 1, and
        // the back edge agrees with the entry at 1.
        assert_eq!(
            d,
            [
                Depth::Known(0),
                Depth::Known(1),
                Depth::Known(2),
                Depth::Known(0)
            ]
        );
    }

    #[test]
    fn handlers_and_conflicts() {
        let mut p = loop_program();
        p.handlers = vec![(3, 2)];
        assert_eq!(depths(&p)[3], Depth::Conflict);
        // After the return, an instruction nothing jumps to.
        p.insts.push(inst(6, 0));
        assert_eq!(depths(&p)[4], Depth::Unreached);
        // An empty instruction (a removed `NOP`) falls through.
        let mut p = loop_program();
        p.insts.insert(1, inst(1, 0));
        for u in &mut p.uops[1..] {
            u.inst += 1;
            u.jump = u.jump.map(|j| j + 1);
        }
        assert_eq!(
            depths(&p)[1..],
            [
                Depth::Known(1),
                Depth::Known(1),
                Depth::Known(2),
                Depth::Known(0)
            ]
        );
    }

    #[test]
    fn checks_carry_the_absolute_stack_index() {
        let p = check_stack_depth(loop_program());
        let checks: Vec<u64> = p
            .uops
            .iter()
            .filter(|u| u.op == Uop::_CHECK_STACK_DEPTH)
            .map(|u| u.operand)
            .collect();
        assert_eq!(checks, [10, 11, 11, 12, 11, 10]);
        assert_eq!(p.uops_of(1)[1].op, Uop::_ITER_JUMP_LIST);
    }

    #[test]
    fn labels_name_the_same_micro_ops_once_checks_go_before_each() {
        // Instruction 2 pops x, then jumps within itself back to its pop.
        let mut p = loop_program();
        p.uops[4].jump = Some(LABEL);
        let p = check_stack_depth(p);
        let code = p.uops_of(2);
        assert_eq!(code[3].op, Uop::_JUMP);
        assert_eq!(code[code[3].label().unwrap() as usize].op, Uop::_POP_TOP);
    }
}
