//! Int expressions in machine words.
//!
//! An expression of int locals and int constants, `(i + j) * (i + j + 1) //
//! 2 + i + 1`, runs an int operation per operator: each checks its inputs'
//! types and sizes, makes (or reuses) an int object for its result and
//! releases its inputs, ~70 machine instructions for a `+`. Its
//! intermediate results only feed the next operator, so nothing can see
//! them: this pass computes such an expression in scratch words instead
//! (`_RAW_*`, `crates/stencils/src/ops/raw.rs`), a few instructions per
//! operator, and boxes only its result.
//!
//! The expression's first instruction (a load) gets the word arithmetic as
//! its code, then a jump past the expression's last instruction. Its own
//! code becomes its fallback, which goes on into the expression's
//! instructions as compiled before: when a local is not an exact int of at
//! most two digits, a result overflows a word or a divisor is zero, the
//! word arithmetic leaves for that fallback, which starts the expression
//! over (the words changed nothing). The instructions after the first keep
//! their code in place, so a jump into the middle of the expression, or a
//! fallback of one of them returning to the next, runs them as before.
//!
//! Operators count only where the interpreter saw ints: `+ - *`
//! specialized for ints, and `//` and `%` (which CPython 3.13 never
//! specializes) of two values known to be ints (int constants or results
//! of such operators). An expression whose fallback keeps running is
//! compiled again with its first instruction generic (`Program::generic`),
//! which this pass then leaves alone.

use super::rewrite_ranges;
use crate::uops::{Program, Uop, UopInst};
use jitsaw_cpython313::opcode::*;
use jitsaw_cpython313::{consts, deopt};

/// Scratch words the stencils have (`jitsaw_raw`).
const WORDS: usize = 16;

/// What an instruction of an expression does to the words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Reads a local.
    Local(u32),
    /// Writes a constant.
    Const(i64),
    /// Combines the top two words.
    Op(Uop),
}

/// An expression: instructions `start..=end`, computed by `steps`.
#[derive(Debug)]
struct Expr {
    start: usize,
    end: usize,
    steps: Vec<Step>,
}

/// The word operation for a `BINARY_OP` instruction, given whether both
/// operands are known to be ints.
fn operation(opcode: u8, oparg: u32, known: bool) -> Option<Uop> {
    let nb = oparg as i64;
    match opcode {
        BINARY_OP_ADD_INT => Some(Uop::_RAW_ADD),
        BINARY_OP_SUBTRACT_INT => Some(Uop::_RAW_SUBTRACT),
        BINARY_OP_MULTIPLY_INT => Some(Uop::_RAW_MULTIPLY),
        BINARY_OP
            if known
                && (nb == consts::NB_FLOOR_DIVIDE || nb == consts::NB_INPLACE_FLOOR_DIVIDE) =>
        {
            Some(Uop::_RAW_FLOOR_DIVIDE)
        }
        BINARY_OP
            if known && (nb == consts::NB_REMAINDER || nb == consts::NB_INPLACE_REMAINDER) =>
        {
            Some(Uop::_RAW_REMAINDER)
        }
        _ => None,
    }
}

/// The expressions of `program`, longest first from each start: at least
/// two operators, leaving one value.
fn expressions(program: &Program) -> Vec<Expr> {
    let n = program.insts.len();
    let mut found = Vec::new();
    let mut i = 0;
    while i < n {
        // Per value on the expression's stack: whether it is known to be an
        // int (not a local, which is checked when read).
        let mut known: Vec<bool> = Vec::new();
        let mut steps = Vec::new();
        let (mut ops, mut best) = (0, None);
        for k in i..n {
            let inst = &program.insts[k];
            if program.generic.contains(&inst.offset) {
                break;
            }
            let before = steps.len();
            match inst.opcode {
                LOAD_FAST | LOAD_FAST_CHECK => {
                    steps.push(Step::Local(inst.oparg));
                    known.push(false);
                }
                LOAD_FAST_LOAD_FAST => {
                    steps.push(Step::Local(inst.oparg >> 4));
                    steps.push(Step::Local(inst.oparg & 15));
                    known.extend([false, false]);
                }
                LOAD_CONST => {
                    if let Some(&Some(v)) = program.const_ints.get(inst.oparg as usize) {
                        steps.push(Step::Const(v));
                        known.push(true);
                    }
                }
                op if deopt(op) == BINARY_OP && known.len() >= 2 => {
                    let both = known[known.len() - 2] && known[known.len() - 1];
                    if let Some(u) = operation(op, inst.oparg, both) {
                        steps.push(Step::Op(u));
                        known.pop();
                        *known.last_mut().unwrap() = true;
                        ops += 1;
                    }
                }
                _ => {}
            }
            if steps.len() == before || known.len() > WORDS {
                break;
            }
            if known.len() == 1 && ops >= 2 {
                best = Some((k, steps.len()));
            }
        }
        match best {
            Some((end, len)) => {
                steps.truncate(len);
                found.push(Expr {
                    start: i,
                    end,
                    steps,
                });
                i = end + 1;
            }
            None => i += 1,
        }
    }
    found
}

/// Whether `u` must stay before the word arithmetic in its instruction's
/// code: the checks that belong to the instruction's start.
fn stays_first(u: &UopInst) -> bool {
    matches!(
        u.op,
        Uop::_CHECK_VALIDITY | Uop::_CHECK_VALIDITY_MONITORED | Uop::_CHAOS
    )
}

/// Computes int expressions in machine words (see the module's comment).
pub fn compute_in_words(program: Program) -> Program {
    // Counting and profiling count every instruction run: none is skipped.
    if program.uops.iter().any(|u| u.op == Uop::_COUNT_RUN) {
        return program;
    }
    let exprs: Vec<Expr> = expressions(&program)
        .into_iter()
        .filter(|e| program.insts[e.start].fallback_count == 0)
        .collect();
    if exprs.is_empty() {
        return program;
    }
    let mut at = vec![None; program.insts.len()];
    for (x, e) in exprs.iter().enumerate() {
        at[e.start] = Some(x);
    }
    let opcodes: Vec<u8> = program.insts.iter().map(|i| i.opcode).collect();
    // The first instructions' own code, which becomes their fallback.
    let own: Vec<Vec<UopInst>> = exprs
        .iter()
        .map(|e| program.uops_of(e.start).to_vec())
        .collect();
    rewrite_ranges(program, |i, fallback, uops, out| {
        let Some(x) = at[i] else {
            out.extend_from_slice(uops);
            return;
        };
        let e = &exprs[x];
        let here = i as u32;
        let uop = |op: Uop, oparg: u32, operand: u64, jump: Option<u32>| UopInst {
            op,
            oparg,
            operand,
            inst: here,
            jump,
        };
        if fallback {
            // The instruction's own code, counted, then on into the rest.
            out.push(uop(Uop::_GENERIC, opcodes[i] as u32, 0, None));
            out.extend(own[x].iter().filter(|u| !stays_first(u)));
            out.push(UopInst {
                inst: here + 1,
                ..uop(Uop::_JUMP, 0, 0, Some(here + 1))
            });
            return;
        }
        out.extend(uops.iter().filter(|u| stays_first(u)));
        let mut depth = 0u32;
        for step in &e.steps {
            match *step {
                Step::Local(l) => {
                    out.push(uop(Uop::_RAW_LOAD_FAST, l, depth as u64, None));
                    depth += 1;
                }
                Step::Const(v) => {
                    out.push(uop(Uop::_RAW_LOAD_INT, depth, v as u64, None));
                    depth += 1;
                }
                Step::Op(op) => {
                    out.push(uop(op, (depth - 2) | (depth - 1) << 8, 0, None));
                    depth -= 1;
                }
            }
        }
        out.push(uop(Uop::_RAW_BOX_INT, 0, 0, None));
        out.push(uop(Uop::_JUMP, 0, 0, Some(e.end as u32 + 1)));
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::tests::uop;
    use crate::uops::Inst;

    /// A program of `(opcode, oparg, micro-ops)` instructions, two code
    /// units apart, without fallbacks.
    fn program(insts: &[Spec], const_ints: Vec<Option<i64>>) -> Program {
        let mut p = Program {
            const_ints,
            ..Program::default()
        };
        for (k, &(opcode, oparg, ops)) in insts.iter().enumerate() {
            let first = p.uops.len() as u32;
            p.uops.extend(ops.iter().map(|&op| uop(op, 0, k as u32)));
            p.insts.push(Inst {
                start: 2 * k as u32,
                offset: 2 * k as u32,
                opcode,
                oparg,
                first,
                count: ops.len() as u32,
                fallback: 0,
                fallback_count: 0,
            });
        }
        let end = p.uops.len() as u32;
        for inst in &mut p.insts {
            inst.fallback = end;
        }
        p
    }

    fn ops(p: &Program, i: usize) -> Vec<Uop> {
        p.uops_of(i).iter().map(|u| u.op).collect()
    }

    type Spec = (u8, u32, &'static [Uop]);
    const LOAD_I_J: Spec = (
        LOAD_FAST_LOAD_FAST,
        0x01,
        &[Uop::_LOAD_FAST, Uop::_LOAD_FAST],
    );
    const LOAD_K: Spec = (LOAD_FAST, 2, &[Uop::_LOAD_FAST]);
    const ONE: Spec = (LOAD_CONST, 1, &[Uop::_LOAD_CONST_INLINE_BORROW]);
    const TWO: Spec = (LOAD_CONST, 2, &[Uop::_LOAD_CONST_INLINE_BORROW]);
    const ADD: Spec = (BINARY_OP_ADD_INT, 0, &[Uop::_BINARY_OP_ADD_INT]);
    const MUL: Spec = (BINARY_OP_MULTIPLY_INT, 5, &[Uop::_BINARY_OP_MULTIPLY_INT]);
    const FLOOR_DIV: Spec = (
        BINARY_OP,
        consts::NB_FLOOR_DIVIDE as u32,
        &[Uop::_BINARY_OP_ADAPTIVE_FLOOR_DIVIDE],
    );
    const ADD_ANY: Spec = (BINARY_OP, 0, &[Uop::_BINARY_OP_ADAPTIVE_ADD]);
    const RETURN: Spec = (RETURN_VALUE, 0, &[Uop::_POP_FRAME]);

    /// `(i + j) * (i + j + 1) // 2` then `return`.
    fn triangle() -> Program {
        program(
            &[
                LOAD_I_J, ADD, LOAD_I_J, ADD, ONE, ADD, MUL, TWO, FLOOR_DIV, RETURN,
            ],
            vec![None, Some(1), Some(2)],
        )
    }

    #[test]
    fn an_int_expression_is_computed_in_words_with_its_code_as_fallback() {
        let p = compute_in_words(triangle());
        use Uop::*;
        assert_eq!(
            ops(&p, 0),
            [
                _RAW_LOAD_FAST,
                _RAW_LOAD_FAST,
                _RAW_ADD,
                _RAW_LOAD_FAST,
                _RAW_LOAD_FAST,
                _RAW_ADD,
                _RAW_LOAD_INT,
                _RAW_ADD,
                _RAW_MULTIPLY,
                _RAW_LOAD_INT,
                _RAW_FLOOR_DIVIDE,
                _RAW_BOX_INT,
                _JUMP
            ]
        );
        let main = p.uops_of(0);
        // Each value takes the word of its stack depth; an operation leaves
        // its result in its left operand's word, the last one in word 0.
        assert_eq!((main[0].oparg, main[0].operand), (0, 0));
        assert_eq!((main[1].oparg, main[1].operand), (1, 1));
        assert_eq!(main[2].oparg, 1 << 8);
        assert_eq!((main[6].oparg, main[6].operand), (2, 1));
        assert_eq!(main[7].oparg, 1 | 2 << 8);
        assert_eq!(main[8].oparg, 1 << 8);
        assert_eq!(main[12].jump, Some(9));
        // The first instruction's code is its fallback, going on into the
        // rest, which stays as it was.
        let fallback: Vec<Uop> = p.fallback_of(0).iter().map(|u| u.op).collect();
        assert_eq!(fallback, [_GENERIC, _LOAD_FAST, _LOAD_FAST, _JUMP]);
        assert_eq!(p.fallback_of(0)[3].jump, Some(1));
        assert_eq!(ops(&p, 1), [_BINARY_OP_ADD_INT]);
        assert_eq!(ops(&p, 8), [_BINARY_OP_ADAPTIVE_FLOOR_DIVIDE]);
    }

    #[test]
    fn only_operators_the_interpreter_saw_ints_at_count() {
        // `//` of a local (its type unknown) ends the expression before it;
        // an unspecialized `+` too; what is left has one operator: nothing.
        let p = program(
            &[LOAD_I_J, ADD, LOAD_K, FLOOR_DIV, LOAD_K, ADD_ANY, RETURN],
            vec![],
        );
        let q = compute_in_words(p.clone());
        assert_eq!(q.uops.len(), p.uops.len());
        // Once its first instruction is generic, an expression is left alone.
        let mut t = triangle();
        t.generic = vec![0];
        let q = compute_in_words(t);
        assert_eq!(ops(&q, 0), [Uop::_LOAD_FAST, Uop::_LOAD_FAST]);
    }
}
