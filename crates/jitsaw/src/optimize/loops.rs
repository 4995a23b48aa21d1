//! Loops kept in machine words.
//!
//! `for _ in range(n): a, b = b, a + b` boxes every value it computes:
//! each turn makes an int object for `a + b` and for the loop variable and
//! frees the ones they replace, though nothing but the next turn reads
//! them. When a loop over a range does nothing but int and float
//! arithmetic on locals and constants, this pass keeps its locals in
//! scratch words from the loop's entry to its exits (`_RAW_*`,
//! `crates/stencils/src/ops/raw.rs`): a turn is a few machine instructions
//! per operation, and only the locals the loop stored are boxed back into
//! the frame, once, when it leaves. Nothing can see the frame meanwhile:
//! no Python code runs inside such a loop, and every way out (the range's
//! end, the eval breaker, an operation the words cannot do) boxes the
//! locals first.
//!
//! The `FOR_ITER_RANGE` gets the loop in words as its code. Its entry reads
//! the locals the loop reads before storing them (an exact int of at most
//! two digits or an exact float, the kind the loop's operators were
//! specialized for) and checks that the ones it stores first hold nothing
//! whose release runs code (unbound, immortal such as `None`, an exact int
//! or float: the release is only delayed to the exit). A local that is neither leaves
//! for the instruction's fallback, the generic `FOR_ITER`, which runs the
//! turn as compiled before (its count recompiles the code with the loop
//! generic should that keep happening). The loop's other instructions keep
//! their code, which the exits go on into.
//!
//! An operation that cannot be done in words (an overflow, a zero divisor,
//! an int a double does not hold) leaves at the start of its segment, the
//! last instruction before it at which only the iterator is on the stack,
//! and the compiled instructions do the segment over from the frame: stores
//! before such an operation in its segment go to shadow words, written to
//! the locals' words when the segment ends, so that the frame holds the
//! segment's start. The first segment starts after `FOR_ITER`, which is not
//! done over: its value is pushed, boxed, for the store after it.

use super::raw::{operands, operation, stays_first, Kind};
use super::rewrite_ranges;
use crate::uops::{Program, Uop, UopInst, LABEL};
use jitsaw_cpython313::deopt;
use jitsaw_cpython313::opcode::*;

/// The word whose bit `w` says that word `w`, a local's, was stored since
/// the loop's entry (`STORED` in the stencils).
const STORED: u32 = 31;

/// One step of a loop's body, in order.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    /// Pushes a local.
    Load(u32),
    /// Pops into a local.
    Store(u32),
    /// Pushes a constant's word, of that kind.
    Const(i64, Kind),
    /// Pops two values and pushes the result: the word operation, the kind
    /// it wants of both operands (`None`: any kind known) and the kind of
    /// its result.
    Op(Uop, Option<Kind>, Kind),
}

/// A value on the loop's stack while its kinds are worked out.
#[derive(Clone, Copy, Debug)]
enum Value {
    Local(u32),
    Known(Kind),
}

/// A loop kept in words: `FOR_ITER_RANGE` at `head`, `JUMP_BACKWARD` at
/// `back`, the body's steps by instruction, each local's kind.
#[derive(Debug)]
struct Loop {
    head: usize,
    back: usize,
    steps: Vec<(usize, Step)>,
    kinds: Vec<Option<Kind>>,
}

/// The steps of instruction `inst`, `None` if the loop cannot do it in
/// words.
fn steps_of(program: &Program, opcode: u8, oparg: u32) -> Option<Vec<Step>> {
    let (hi, lo) = (oparg >> 4, oparg & 15);
    Some(match opcode {
        NOP => vec![],
        LOAD_FAST | LOAD_FAST_CHECK => vec![Step::Load(oparg)],
        LOAD_FAST_LOAD_FAST => vec![Step::Load(hi), Step::Load(lo)],
        STORE_FAST => vec![Step::Store(oparg)],
        STORE_FAST_STORE_FAST => vec![Step::Store(hi), Step::Store(lo)],
        STORE_FAST_LOAD_FAST => vec![Step::Store(hi), Step::Load(lo)],
        LOAD_CONST => {
            let &(w, float) = program.const_words.get(oparg as usize)?.as_ref()?;
            vec![Step::Const(w, if float { Kind::Float } else { Kind::Int })]
        }
        op if deopt(op) == BINARY_OP => {
            let (uop, wants, gives) = operation(op, oparg)?;
            vec![Step::Op(uop, wants, gives)]
        }
        _ => return None,
    })
}

/// The kind classes of locals: union-find, with a kind per class.
struct Kinds {
    parent: Vec<usize>,
    kind: Vec<Option<Kind>>,
}

impl Kinds {
    fn find(&mut self, l: usize) -> usize {
        let mut r = l;
        while self.parent[r] != r {
            r = self.parent[r];
        }
        self.parent[l] = r;
        r
    }

    /// Gives `l`'s class kind `k`; `None` if it has another.
    fn settle(&mut self, l: u32, k: Kind) -> Option<()> {
        let r = self.find(l as usize);
        match self.kind[r] {
            Some(have) if have != k => None,
            _ => {
                self.kind[r] = Some(k);
                Some(())
            }
        }
    }

    /// Puts `a` and `b` in one class; `None` if their kinds differ.
    fn unite(&mut self, a: u32, b: u32) -> Option<()> {
        let (ra, rb) = (self.find(a as usize), self.find(b as usize));
        if ra != rb {
            if let Some(k) = self.kind[rb] {
                self.settle(a, k)?;
            }
            self.parent[rb] = ra;
        }
        Some(())
    }
}

/// The loop whose `JUMP_BACKWARD` is instruction `back`, if it can be kept
/// in words. Other ways into its instructions (a fallback's return) are
/// the compiled code's: the words are entered at the head alone.
fn find_loop(program: &Program, back: usize) -> Option<Loop> {
    let insts = &program.insts;
    let head = program
        .uops_of(back)
        .iter()
        .find(|u| u.op == Uop::_JUMP)?
        .jump? as usize;
    if head >= back
        || insts[head].opcode != FOR_ITER_RANGE
        || program.generic.contains(&insts[head].offset)
    {
        return None;
    }
    let mut steps = Vec::new();
    for (k, inst) in insts.iter().enumerate().take(back).skip(head + 1) {
        if program.generic.contains(&inst.offset) {
            return None;
        }
        let s = steps_of(program, inst.opcode, inst.oparg)?;
        steps.extend(s.into_iter().map(|s| (k, s)));
    }
    if !steps.iter().any(|(_, s)| matches!(s, Step::Op(..))) {
        return None;
    }
    // Kinds: a local takes the kind of what is stored into it and of what
    // its operators want.
    let locals = steps
        .iter()
        .filter_map(|(_, s)| match *s {
            Step::Load(l) | Step::Store(l) => Some(l as usize + 1),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut kinds = Kinds {
        parent: (0..locals).collect(),
        kind: vec![None; locals],
    };
    let mut stack = vec![Value::Known(Kind::Int)];
    let mut deferred = Vec::new();
    for &(_, step) in &steps {
        match step {
            Step::Load(l) => stack.push(Value::Local(l)),
            Step::Const(_, k) => stack.push(Value::Known(k)),
            Step::Store(l) => match stack.pop()? {
                Value::Local(m) => kinds.unite(l, m)?,
                Value::Known(k) => kinds.settle(l, k)?,
            },
            Step::Op(op, wants, gives) => {
                let operands = [stack.pop()?, stack.pop()?];
                match wants {
                    Some(want) => {
                        for v in operands {
                            match v {
                                Value::Local(l) => kinds.settle(l, want)?,
                                Value::Known(k) if k != want => return None,
                                Value::Known(_) => {}
                            }
                        }
                    }
                    None => deferred.push((op, operands)),
                }
                stack.push(Value::Known(gives));
            }
        }
    }
    if !stack.is_empty() {
        return None;
    }
    let kind_of = |v: Value, kinds: &mut Kinds| match v {
        Value::Local(l) => {
            let r = kinds.find(l as usize);
            kinds.kind[r]
        }
        Value::Known(k) => Some(k),
    };
    for (op, operands) in deferred {
        for v in operands {
            let k = kind_of(v, &mut kinds)?;
            if k != Kind::Int && op != Uop::_RAW_TRUE_DIVIDE {
                return None;
            }
        }
    }
    let mut resolved = vec![None; locals];
    for &(_, step) in &steps {
        if let Step::Load(l) | Step::Store(l) = step {
            resolved[l as usize] = Some(kind_of(Value::Local(l), &mut kinds)?);
        }
    }
    Some(Loop {
        head,
        back,
        steps,
        kinds: resolved,
    })
}

/// Whether a word operation can leave (the others cannot fail).
fn can_leave(op: Uop) -> bool {
    !matches!(
        op,
        Uop::_RAW_ADD_FLOAT | Uop::_RAW_SUBTRACT_FLOAT | Uop::_RAW_MULTIPLY_FLOAT
    )
}

/// Where the loop's exits go, each with its own boxing of the locals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
    /// The range's end: the `FOR_ITER_RANGE`'s own code.
    End,
    /// Instruction `i`, with the iterator's value pushed if the bool says
    /// so.
    Resume(usize, bool),
}

/// Builds the loop's code, the head's new main code; `None` if its words do
/// not fit.
fn loop_code(program: &Program, lp: &Loop) -> Option<Vec<UopInst>> {
    let own = program.uops_of(lp.head);
    let split = own.iter().position(|u| u.op == Uop::_ITER_JUMP_RANGE)?;
    let rest: Vec<Uop> = own[split..].iter().map(|u| u.op).collect();
    if rest != [Uop::_ITER_JUMP_RANGE, Uop::_ITER_NEXT_RANGE]
        || own[..split]
            .iter()
            .any(|u| !stays_first(u) && u.op != Uop::_ITER_CHECK_RANGE)
    {
        return None;
    }
    let breaker = *program
        .uops_of(lp.back)
        .iter()
        .find(|u| u.op == Uop::_CHECK_EVAL_BREAKER)?;

    // Segments: per step, the instruction its segment starts at, and
    // whether an operation that can leave comes after it in the segment.
    let mut depth = 1usize;
    let mut start = lp.head;
    let mut segment = Vec::with_capacity(lp.steps.len());
    let mut max_depth = 1;
    let mut last_inst = lp.head;
    for &(k, step) in &lp.steps {
        if k != last_inst {
            last_inst = k;
            if depth == 0 {
                start = k;
            }
        }
        segment.push(start);
        depth = match step {
            Step::Load(_) | Step::Const(..) => depth + 1,
            Step::Store(_) | Step::Op(..) => depth - 1,
        };
        max_depth = max_depth.max(depth);
    }
    let mut leaves_later = vec![false; lp.steps.len()];
    let mut later = false;
    for s in (0..lp.steps.len()).rev() {
        if s + 1 < lp.steps.len() && segment[s + 1] != segment[s] {
            later = false;
        }
        leaves_later[s] = later;
        if let Step::Op(op, ..) = lp.steps[s].1 {
            later |= can_leave(op);
        }
    }

    // Words: the stack's values, the iterator's value, constants, locals,
    // shadows.
    let mut next = max_depth as u32;
    let mut take = || {
        next += 1;
        next - 1
    };
    let iter_word = take();
    let mut consts: Vec<(i64, u32)> = Vec::new();
    let mut real = vec![None; lp.kinds.len()];
    let mut shadow = vec![None; lp.kinds.len()];
    let (mut first_load, mut stored) = (vec![None; lp.kinds.len()], vec![false; lp.kinds.len()]);
    for (s, &(_, step)) in lp.steps.iter().enumerate() {
        match step {
            Step::Const(w, _) if !consts.iter().any(|&(c, _)| c == w) => consts.push((w, take())),
            Step::Load(l) | Step::Store(l) => {
                let l = l as usize;
                if real[l].is_none() {
                    real[l] = Some(take());
                    first_load[l] = Some(matches!(step, Step::Load(_)));
                }
                if let Step::Store(_) = step {
                    stored[l] = true;
                    if leaves_later[s] && shadow[l].is_none() {
                        shadow[l] = Some(take());
                    }
                }
            }
            _ => {}
        }
    }
    if next > STORED {
        return None;
    }

    let here = lp.head as u32;
    let uop = |op: Uop, oparg: u32, operand: u64, jump: Option<u32>| UopInst {
        op,
        oparg,
        operand,
        inst: here,
        jump,
    };
    let mut out: Vec<UopInst> = own[..split].to_vec();
    // Entry.
    out.push(uop(Uop::_RAW_LOAD_CONST, STORED, 0, None));
    for (l, w) in real.iter().enumerate() {
        let (Some(w), Some(kind)) = (*w, lp.kinds[l]) else {
            continue;
        };
        let l = l as u32;
        if first_load[l as usize] == Some(true) {
            let load = match kind {
                Kind::Float => Uop::_RAW_LOAD_FAST_FLOAT,
                _ => Uop::_RAW_LOAD_FAST,
            };
            out.push(uop(load, l, w as u64, None));
        } else {
            out.push(uop(Uop::_RAW_CHECK_FAST_PLAIN, l, 0, None));
        }
    }
    for &(c, w) in &consts {
        out.push(uop(Uop::_RAW_LOAD_CONST, w, c as u64, None));
    }
    // The turn: exits get their labels once their code is laid out.
    let top = out.len() as u32;
    let mut exits: Vec<(usize, Exit)> = Vec::new();
    exits.push((out.len(), Exit::End));
    out.push(uop(Uop::_RAW_FOR_ITER_RANGE, iter_word, 0, None));
    let kind_of = |l: u32| lp.kinds[l as usize].unwrap_or(Kind::Int);
    let mut stack: Vec<(u32, Kind)> = vec![(iter_word, Kind::Int)];
    let mut current: Vec<Option<u32>> = real.clone();
    let mut pending: Vec<u32> = Vec::new();
    let commit =
        |out: &mut Vec<UopInst>, pending: &mut Vec<u32>, current: &mut Vec<Option<u32>>| {
            for l in pending.drain(..) {
                let (to, from) = (real[l as usize].unwrap(), shadow[l as usize].unwrap());
                out.push(uop(Uop::_RAW_STORE_WORD, to, from as u64, None));
                current[l as usize] = Some(to);
            }
        };
    let mut last_segment = lp.head;
    for (s, &(_, step)) in lp.steps.iter().enumerate() {
        if segment[s] != last_segment {
            last_segment = segment[s];
            commit(&mut out, &mut pending, &mut current);
        }
        match step {
            Step::Load(l) => stack.push((current[l as usize].unwrap(), kind_of(l))),
            Step::Const(w, k) => {
                let &(_, word) = consts.iter().find(|&&(c, _)| c == w).unwrap();
                stack.push((word, k));
            }
            Step::Store(l) => {
                let (from, _) = stack.pop().unwrap();
                let li = l as usize;
                let to = if leaves_later[s] {
                    shadow[li].unwrap()
                } else {
                    real[li].unwrap()
                };
                // Values pushed from the word about to change keep theirs.
                for (d, value) in stack.iter_mut().enumerate() {
                    if value.0 == to {
                        out.push(uop(Uop::_RAW_COPY, d as u32, to as u64, None));
                        value.0 = d as u32;
                    }
                }
                if leaves_later[s] {
                    out.push(uop(Uop::_RAW_COPY, to, from as u64, None));
                    if !pending.contains(&l) {
                        pending.push(l);
                    }
                } else {
                    out.push(uop(Uop::_RAW_STORE_WORD, to, from as u64, None));
                    pending.retain(|&p| p != l);
                }
                current[li] = Some(to);
            }
            Step::Op(op, _, gives) => {
                let (right, rk) = stack.pop().unwrap();
                let (left, lk) = stack.pop().unwrap();
                let to = stack.len() as u32;
                let floats =
                    u32::from(lk == Kind::Float) << 16 | u32::from(rk == Kind::Float) << 17;
                if can_leave(op) {
                    let resume = match segment[s] {
                        h if h == lp.head => Exit::Resume(h + 1, true),
                        k => Exit::Resume(k, false),
                    };
                    exits.push((out.len(), resume));
                }
                out.push(uop(op, operands(left, right, to) | floats, 0, None));
                stack.push((to, gives));
            }
        }
    }
    commit(&mut out, &mut pending, &mut current);
    exits.push((out.len(), Exit::Resume(lp.back, false)));
    out.push(uop(
        Uop::_RAW_CHECK_EVAL_BREAKER,
        breaker.oparg,
        breaker.operand,
        None,
    ));
    out.push(uop(Uop::_JUMP, 0, 0, Some(LABEL | top)));

    // The exits: the stored locals boxed, then on into the compiled code.
    let boxes: Vec<UopInst> = (0..real.len())
        .filter(|&l| stored[l])
        .map(|l| {
            let op = match lp.kinds[l] {
                Some(Kind::Float) => Uop::_RAW_BOX_FAST_FLOAT,
                _ => Uop::_RAW_BOX_FAST_INT,
            };
            uop(op, l as u32, real[l].unwrap() as u64, None)
        })
        .collect();
    let mut laid: Vec<(Exit, u32)> = Vec::new();
    for &(_, exit) in &exits {
        if laid.iter().any(|&(e, _)| e == exit) {
            continue;
        }
        laid.push((exit, out.len() as u32));
        out.extend_from_slice(&boxes);
        match exit {
            Exit::End => {
                out.extend(own[split..].iter().copied());
                out.push(uop(Uop::_JUMP, 0, 0, Some(here + 1)));
            }
            Exit::Resume(i, pushed) => {
                if pushed {
                    out.push(uop(Uop::_RAW_BOX_INT, iter_word, 0, None));
                }
                out.push(uop(Uop::_JUMP, 0, 0, Some(i as u32)));
            }
        }
    }
    for &(at, exit) in &exits {
        let &(_, label) = laid.iter().find(|&&(e, _)| e == exit).unwrap();
        out[at].jump = Some(LABEL | label);
    }
    Some(out)
}

/// Keeps loops in words (see the module's comment).
pub fn keep_loops_in_words(program: Program) -> Program {
    // Counting and profiling count every instruction run: none is skipped.
    if program.uops.iter().any(|u| u.op == Uop::_COUNT_RUN) {
        return program;
    }
    let mut code: Vec<Option<Vec<UopInst>>> = vec![None; program.insts.len()];
    for back in 0..program.insts.len() {
        if program.insts[back].opcode != JUMP_BACKWARD {
            continue;
        }
        if let Some(lp) = find_loop(&program, back) {
            code[lp.head] = loop_code(&program, &lp);
        }
    }
    if code.iter().all(Option::is_none) {
        return program;
    }
    rewrite_ranges(program, |i, fallback, uops, out| match &code[i] {
        Some(main) if !fallback => out.extend_from_slice(main),
        _ => out.extend_from_slice(uops),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::tests::program_of;
    use Uop::*;

    /// An instruction: opcode, oparg, micro-ops with their jump targets.
    type Spec = (u8, u32, &'static [(Uop, Option<u32>)]);

    /// A program of `insts`; constant 1 is the int 1, constant 2 the
    /// float 0.5.
    fn program(insts: &[Spec]) -> Program {
        let groups: Vec<&[(Uop, Option<u32>)]> = insts.iter().map(|&(_, _, g)| g).collect();
        let mut p = program_of(&groups, |(op, jump), i| UopInst {
            op,
            oparg: 0,
            operand: 0,
            inst: i,
            jump,
        });
        for (inst, &(opcode, oparg, _)) in p.insts.iter_mut().zip(insts) {
            inst.opcode = opcode;
            inst.oparg = oparg;
        }
        p.const_words = vec![
            None,
            Some((1, false)),
            Some((0.5f64.to_bits() as i64, true)),
        ];
        p
    }

    const HEAD: Spec = (
        FOR_ITER_RANGE,
        5,
        &[
            (_ITER_CHECK_RANGE, None),
            (_ITER_JUMP_RANGE, Some(9)),
            (_ITER_NEXT_RANGE, None),
        ],
    );
    /// The `JUMP_BACKWARD` to the head, instruction 0.
    const BACK: Spec = (
        JUMP_BACKWARD,
        5,
        &[(_CHECK_EVAL_BREAKER, None), (_JUMP, Some(0))],
    );
    const LOAD: &[(Uop, Option<u32>)] = &[(_LOAD_FAST, None)];
    const STORE: &[(Uop, Option<u32>)] = &[(_STORE_FAST, None)];
    const ADD: &[(Uop, Option<u32>)] = &[(_BINARY_OP_ADD_INT, None)];
    const MUL: &[(Uop, Option<u32>)] = &[(_BINARY_OP_MULTIPLY_INT, None)];

    /// `for i in range(n): a = a + i` on one line (`a` local 0, `i` local
    /// 1): `i`'s store and `a`'s load are one instruction.
    fn sum_loop() -> Program {
        program(&[
            HEAD,
            (
                STORE_FAST_LOAD_FAST,
                0x10,
                &[(_STORE_FAST, None), (_LOAD_FAST, None)],
            ),
            (LOAD_FAST, 1, LOAD),
            (BINARY_OP_ADD_INT, 0, ADD),
            (STORE_FAST, 0, STORE),
            BACK,
        ])
    }

    fn main_ops(p: &Program, i: usize) -> Vec<Uop> {
        p.uops_of(i).iter().map(|u| u.op).collect()
    }

    /// The micro-ops from label `l` of instruction `i`'s code to the jump
    /// that ends them.
    fn at_label(p: &Program, i: usize, l: u32) -> Vec<UopInst> {
        let code = &p.uops_of(i)[l as usize..];
        let end = code.iter().position(|u| u.op == _JUMP).unwrap();
        code[..=end].to_vec()
    }

    #[test]
    fn a_loop_of_int_arithmetic_runs_in_words_and_boxes_what_it_stored_on_leaving() {
        let p = keep_loops_in_words(sum_loop());
        let main = p.uops_of(0);
        assert_eq!(
            main_ops(&p, 0)[..12],
            [
                _ITER_CHECK_RANGE,
                _RAW_LOAD_CONST,       // nothing stored yet
                _RAW_LOAD_FAST,        // `a`, read before stored
                _RAW_CHECK_FAST_PLAIN, // `i`, stored first
                _RAW_FOR_ITER_RANGE,
                _RAW_COPY, // `i`, into its shadow (see below)
                _RAW_ADD,
                _RAW_STORE_WORD, // `a`
                _RAW_STORE_WORD, // `i`, from its shadow
                _RAW_CHECK_EVAL_BREAKER,
                _JUMP,
                _RAW_BOX_FAST_INT,
            ]
        );
        assert_eq!(main[1].oparg, STORED);
        assert_eq!(main[5].oparg as u64, main[8].operand);
        // The back edge goes to the turn's first micro-op.
        assert_eq!(main[10].label(), Some(4));
        // The range's end boxes both locals and goes on into the head's
        // own code; the eval breaker boxes them and goes to the
        // `JUMP_BACKWARD`.
        let end: Vec<Uop> = at_label(&p, 0, main[4].label().unwrap())
            .iter()
            .map(|u| u.op)
            .collect();
        assert_eq!(
            end,
            [
                _RAW_BOX_FAST_INT,
                _RAW_BOX_FAST_INT,
                _ITER_JUMP_RANGE,
                _ITER_NEXT_RANGE,
                _JUMP
            ]
        );
        let breaker = at_label(&p, 0, main[9].label().unwrap());
        assert_eq!(breaker.last().unwrap().jump, Some(5));
        // The add is in the turn's first segment: an overflow boxes the
        // locals stored before this turn, pushes `i`'s value and goes to
        // its store, which the compiled code does again (so `i`'s store
        // waited in a shadow word until the segment's end).
        let overflow = at_label(&p, 0, main[6].label().unwrap());
        let ops: Vec<Uop> = overflow.iter().map(|u| u.op).collect();
        assert_eq!(
            ops,
            [_RAW_BOX_FAST_INT, _RAW_BOX_FAST_INT, _RAW_BOX_INT, _JUMP]
        );
        assert_eq!(overflow[2].oparg, main[4].oparg, "the iterator's word");
        assert_eq!(overflow[3].jump, Some(1));
    }

    #[test]
    fn stores_before_an_operation_that_may_leave_wait_for_the_segments_end() {
        // for i in range(n):
        //     b = a * i; a = b * b   (`STORE_FAST_LOAD_FAST b, b`)
        let p = keep_loops_in_words(program(&[
            HEAD,
            (STORE_FAST, 2, STORE),
            (
                LOAD_FAST_LOAD_FAST,
                0x02,
                &[(_LOAD_FAST, None), (_LOAD_FAST, None)],
            ),
            (BINARY_OP_MULTIPLY_INT, 5, MUL),
            (
                STORE_FAST_LOAD_FAST,
                0x11,
                &[(_STORE_FAST, None), (_LOAD_FAST, None)],
            ),
            (LOAD_FAST, 1, LOAD),
            (BINARY_OP_MULTIPLY_INT, 5, MUL),
            (STORE_FAST, 0, STORE),
            BACK,
        ]));
        let main = p.uops_of(0);
        let turn: Vec<Uop> = main[5..13].iter().map(|u| u.op).collect();
        assert_eq!(
            turn,
            [
                _RAW_FOR_ITER_RANGE,
                _RAW_STORE_WORD, // `i`: its segment has ended
                _RAW_MULTIPLY,
                _RAW_COPY, // `b`, into its shadow
                _RAW_MULTIPLY,
                _RAW_STORE_WORD, // `a`: nothing can leave after it
                _RAW_STORE_WORD, // `b`, from its shadow at the end
                _RAW_CHECK_EVAL_BREAKER,
            ]
        );
        // The second product reads `b`'s shadow; both leave for the
        // segment's start with nothing pushed.
        assert_eq!(main[9].oparg & 0xFFFF, main[8].oparg | main[8].oparg << 8);
        for k in [7, 9] {
            let leave = at_label(&p, 0, main[k].label().unwrap());
            assert_eq!(leave.last().unwrap().jump, Some(2));
            assert!(!leave.iter().any(|u| u.op == _RAW_BOX_INT));
        }
    }

    #[test]
    fn a_value_pushed_from_a_local_keeps_it_when_the_local_is_stored() {
        // for i in range(n): a, b = b, a + b  (`STORE_FAST_STORE_FAST b, a`)
        let p = keep_loops_in_words(program(&[
            HEAD,
            (STORE_FAST, 3, STORE),
            (LOAD_FAST, 1, LOAD),
            (
                LOAD_FAST_LOAD_FAST,
                0x01,
                &[(_LOAD_FAST, None), (_LOAD_FAST, None)],
            ),
            (BINARY_OP_ADD_INT, 0, ADD),
            (
                STORE_FAST_STORE_FAST,
                0x10,
                &[(_STORE_FAST, None), (_STORE_FAST, None)],
            ),
            BACK,
        ]));
        let main = p.uops_of(0);
        let b_word = main[2..5]
            .iter()
            .find(|u| u.op == _RAW_LOAD_FAST && u.oparg == 1)
            .unwrap()
            .operand as u32;
        let at = main.iter().position(|u| u.op == _RAW_ADD).unwrap();
        // `b`'s value on the stack is copied to its own word before `b`
        // takes `a + b`, and `a` takes that copy.
        assert_eq!(
            (main[at + 1].op, main[at + 1].operand),
            (_RAW_COPY, b_word as u64)
        );
        let copy = main[at + 1].oparg;
        assert_eq!(
            (main[at + 2].op, main[at + 2].oparg),
            (_RAW_STORE_WORD, b_word)
        );
        assert_eq!(
            (main[at + 3].op, main[at + 3].operand),
            (_RAW_STORE_WORD, copy as u64)
        );
    }

    #[test]
    fn loops_doing_anything_else_are_left_alone() {
        // A call in the body, a local both int and float, a jump into
        // the head from elsewhere than its back edge, the head generic.
        let call = program(&[
            HEAD,
            (STORE_FAST, 1, STORE),
            (CALL, 0, &[(_CALL, None)]),
            (
                LOAD_FAST_LOAD_FAST,
                0x01,
                &[(_LOAD_FAST, None), (_LOAD_FAST, None)],
            ),
            (BINARY_OP_ADD_INT, 0, ADD),
            (STORE_FAST, 0, STORE),
            BACK,
        ]);
        let mixed = program(&[
            HEAD,
            (STORE_FAST, 1, STORE),
            (
                LOAD_FAST_LOAD_FAST,
                0x01,
                &[(_LOAD_FAST, None), (_LOAD_FAST, None)],
            ),
            (BINARY_OP_ADD_INT, 0, ADD),
            (LOAD_CONST, 2, &[(_LOAD_CONST_INLINE_BORROW, None)]),
            (BINARY_OP_ADD_FLOAT, 0, &[(_BINARY_OP_ADD_FLOAT, None)]),
            (STORE_FAST, 0, STORE),
            BACK,
        ]);
        let mut generic = sum_loop();
        generic.generic.push(generic.insts[0].offset);
        for p in [call, mixed, generic] {
            let before = p.uops.clone();
            assert_eq!(keep_loops_in_words(p).uops, before);
        }
    }

    #[test]
    fn a_label_names_a_micro_op_of_its_own_instruction() {
        let p = keep_loops_in_words(sum_loop());
        let main = p.uops_of(0);
        assert!(main.iter().all(|u| u.inst == 0));
        assert!(main
            .iter()
            .filter_map(|u| u.label())
            .all(|l| (l as usize) < main.len()));
    }
}
