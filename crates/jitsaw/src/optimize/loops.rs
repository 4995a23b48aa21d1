//! Loops kept in machine words.
//!
//! `for _ in range(n): a, b = b, a + b` boxes every value it computes:
//! each turn makes an int object for `a + b` and for the loop variable and
//! frees the ones they replace, though nothing but the next turn reads
//! them. When a loop (over a range, or a `while` loop) does nothing but
//! int and float arithmetic and comparisons on locals and constants, this
//! pass keeps its locals in scratch words from the loop's entry to its
//! exits (`_RAW_*`, `crates/stencils/src/ops/raw.rs`): a turn is a few
//! machine instructions per operation, and only the locals the loop stored
//! are boxed back into the frame, once, when it leaves. Nothing can see the
//! frame meanwhile: no Python code runs inside such a loop, and every way
//! out (the range's end, the eval breaker, an operation the words cannot
//! do, a branch leaving the loop) boxes the locals first.
//!
//! The loop's head (the `FOR_ITER_RANGE`, or a `while` loop's first
//! instruction) gets the loop in words as its code. Its entry reads the
//! locals the loop reads before storing them (an exact int of at most two
//! digits or an exact float, the kind the loop's operators were
//! specialized for) and checks that the ones it stores first hold nothing
//! whose release runs code (unbound, immortal such as `None`, an exact int
//! or float: the release is only delayed to the exit). A local that is
//! neither leaves for the head's fallback, which runs the turn as compiled
//! before. The loop's other instructions keep their code, which the exits
//! go on into; a loop whose words keep leaving is compiled again without
//! them (`Program::no_words`).
//!
//! An operation that cannot be done in words (an overflow, a zero divisor,
//! an int a double does not hold) leaves at the start of its segment, the
//! last instruction before it at which only the iterator is on the stack,
//! and the compiled instructions do the segment over from the frame: stores
//! before such an operation in its segment go to shadow words, written to
//! the locals' words when the segment ends, so that the frame holds the
//! segment's start. The first segment of a `for` turn starts after its
//! `FOR_ITER`, which is not done over: its value is pushed, boxed, for the
//! store after it; a `while` loop's is done over by the head's own code. A
//! segment the words do not do at all (a call in a branch, a `break`) is
//! left for the compiled code the same way. Branches on comparisons and
//! forward jumps inside the loop jump within the words (`uops::LABEL`).

use super::raw::{operands, operation, stays_first, Kind};
use super::rewrite_ranges;
use crate::uops::{Inst, Program, Uop, UopInst, LABEL};
use jitsaw_cpython313::opcode::*;
use jitsaw_cpython313::{caches, deopt};

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
    /// Pops two values of that kind and pushes whether their comparison's
    /// outcome is in the mask (`COMPARE_OP`'s low bits: 1 unordered, 2
    /// less, 4 greater, 8 equal), for the branch after it.
    Compare(u32, Kind),
    /// Pops the comparison and jumps to instruction `.0` if it is `.1`.
    Branch(usize, bool),
    /// Jumps forward to an instruction.
    Jump(usize),
    /// A back edge to the head (`JUMP_BACKWARD`: the body's last
    /// instruction, or an earlier one ending a branch).
    Back,
    /// An instruction the words do not do, with only the iterator on the
    /// stack: they leave for its compiled code, which stays in the loop
    /// (counted then, as an expression's fallback is) if the bool says so.
    Leave(bool),
}

/// A value on the loop's stack while its kinds are worked out.
#[derive(Clone, Copy, Debug)]
enum Value {
    Local(u32),
    Known(Kind),
    /// A comparison's outcome, for the branch after it.
    Condition,
}

/// A loop kept in words: `FOR_ITER_RANGE` at `head`, its last
/// `JUMP_BACKWARD` at `back`, the steps of the instructions after the
/// head, each local's kind, the stack depth each instruction starts at
/// (above the iterator) and the deepest the stack gets (the iterator's
/// value included).
#[derive(Debug)]
struct Loop {
    head: usize,
    /// Whether the head is a `FOR_ITER_RANGE` (else a `while` loop's first
    /// instruction, the turn's own first step).
    range: bool,
    back: usize,
    steps: Vec<(usize, Step)>,
    kinds: Vec<Option<Kind>>,
    depth: Vec<usize>,
    max_depth: usize,
}

/// The instruction a jump of instruction `k` goes to.
fn jump_target(program: &Program, k: usize) -> Option<usize> {
    let inst = &program.insts[k];
    let next = inst.offset + 1 + caches(deopt(inst.opcode)) as u32;
    let to = match inst.opcode {
        JUMP_BACKWARD => next.checked_sub(inst.oparg)?,
        _ => next + inst.oparg,
    };
    program.insts.binary_search_by_key(&to, |i| i.start).ok()
}

/// The steps of instruction `k` of the loop at `head`, `None` if the loop
/// cannot do it in words.
fn steps_of(program: &Program, k: usize, head: usize) -> Option<Vec<Step>> {
    let Inst { opcode, oparg, .. } = program.insts[k];
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
        COMPARE_OP_INT => vec![Step::Compare(oparg & 15, Kind::Int)],
        COMPARE_OP_FLOAT => vec![Step::Compare(oparg & 15, Kind::Float)],
        POP_JUMP_IF_FALSE | POP_JUMP_IF_TRUE => vec![Step::Branch(
            jump_target(program, k)?,
            opcode == POP_JUMP_IF_TRUE,
        )],
        JUMP_FORWARD => vec![Step::Jump(jump_target(program, k)?)],
        JUMP_BACKWARD if jump_target(program, k)? == head => vec![Step::Back],
        op if deopt(op) == BINARY_OP => {
            // (A loop's locals each have one kind for all its turns.)
            let (uop, wants, gives) = operation(op, oparg).filter(|o| o.2 != Kind::Any)?;
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

    /// The kind of a value, if known.
    fn of(&mut self, v: Value) -> Option<Kind> {
        match v {
            Value::Local(l) => {
                let r = self.find(l as usize);
                self.kind[r]
            }
            Value::Known(k) => Some(k),
            Value::Condition => None,
        }
    }
}

/// Settles the kinds of two operands an operation wants of kind `want`;
/// `None` if one has another.
fn want(kinds: &mut Kinds, operands: [Value; 2], want: Kind) -> Option<()> {
    for v in operands {
        match v {
            Value::Local(l) => kinds.settle(l, want)?,
            Value::Known(k) if k == want => {}
            _ => return None,
        }
    }
    Some(())
}

/// Whether the compiled code that an exit at instruction `k` goes on into
/// stays in the loop (a branch the words do not do, an inner loop, which
/// end by jumping back inside the loop or on inside it) rather than
/// leaving it (a `break`, a `return`): the first jump or return from `k`
/// tells.
fn stays_in_loop(program: &Program, k: usize, head: usize, back: usize) -> bool {
    for i in k..=back {
        match program.insts[i].opcode {
            JUMP_BACKWARD => return jump_target(program, i).is_some_and(|t| t >= head),
            JUMP_FORWARD => return jump_target(program, i).is_some_and(|t| t <= back),
            RETURN_VALUE | RETURN_CONST | RAISE_VARARGS | RERAISE => return false,
            _ => {}
        }
    }
    false
}

/// The loop at `head` whose last `JUMP_BACKWARD` is instruction `back`, if
/// it can be kept in words: what a turn can reach after the head is
/// `steps_of` instructions, jumps forward inside the loop (back edges
/// excepted) with nothing on the stack, each local of one kind. A segment
/// with an instruction the words do not do (a `break`, a call in a branch)
/// is left to the compiled code from its start. Other ways into the loop's
/// instructions (a fallback's return) are the compiled code's: the words
/// are entered at the head alone.
fn find_loop(program: &Program, head: usize, back: usize) -> Option<Loop> {
    let insts = &program.insts;
    let offset = insts[head].offset;
    if program.generic.contains(&offset) || program.no_words.contains(&offset) {
        return None;
    }
    let range = insts[head].opcode == FOR_ITER_RANGE;
    let first = if range { head + 1 } else { head };
    // The steps a turn can reach, and the depth each instruction starts at.
    let mut steps: Vec<(usize, Step)> = Vec::new();
    let mut depth = vec![0; back + 1];
    let mut targets: Vec<usize> = Vec::new();
    let (mut d, mut reached) = (usize::from(range), true);
    // Where the current segment's steps start, and its instruction.
    let mut segment = (0, first);
    for k in first..=back {
        if targets.contains(&k) {
            if reached && d != 0 {
                return None;
            }
            reached = true;
            d = 0;
        }
        if !reached {
            continue;
        }
        depth[k] = d;
        if d == 0 {
            segment = (steps.len(), k);
        }
        let mine = if program.generic.contains(&insts[k].offset) {
            None
        } else {
            steps_of(program, k, head)
        };
        let Some(mine) = mine else {
            // The words leave for the compiled code at the segment's start.
            steps.truncate(segment.0);
            let (at, stays) = (segment.1, stays_in_loop(program, k, head, back));
            steps.push((at, Step::Leave(stays)));
            reached = false;
            continue;
        };
        for &step in &mine {
            d = match step {
                Step::Load(_) | Step::Const(..) => d + 1,
                Step::Store(_) | Step::Op(..) | Step::Branch(..) => d.checked_sub(1)?,
                Step::Compare(..) => d.checked_sub(1)?.checked_sub(1)? + 1,
                Step::Jump(_) | Step::Back | Step::Leave(_) => d,
            };
            match step {
                Step::Branch(t, _) | Step::Jump(t) => {
                    // Out of a `while` loop: its condition's exit, `break`.
                    if t <= k || d != 0 || t > back && range {
                        return None;
                    }
                    if t <= back {
                        targets.push(t);
                    }
                    reached = matches!(step, Step::Branch(..));
                }
                Step::Back if d != 0 => return None,
                Step::Back => reached = false,
                _ => {}
            }
            steps.push((k, step));
        }
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
    let mut stack = if range {
        vec![Value::Known(Kind::Int)]
    } else {
        Vec::new()
    };
    let mut deferred = Vec::new();
    let mut max_depth = stack.len();
    for (s, &(_, step)) in steps.iter().enumerate() {
        match step {
            Step::Load(l) => stack.push(Value::Local(l)),
            Step::Const(_, kind) => stack.push(Value::Known(kind)),
            Step::Store(l) => match stack.pop()? {
                Value::Local(m) => kinds.unite(l, m)?,
                Value::Known(kind) => kinds.settle(l, kind)?,
                Value::Condition => return None,
            },
            Step::Op(op, wants, gives) => {
                let operands = [stack.pop()?, stack.pop()?];
                match wants {
                    Some(kind) => want(&mut kinds, operands, kind)?,
                    None => deferred.push((op, operands)),
                }
                stack.push(Value::Known(gives));
            }
            Step::Compare(_, kind) => {
                want(&mut kinds, [stack.pop()?, stack.pop()?], kind)?;
                if !matches!(steps.get(s + 1), Some((_, Step::Branch(..)))) {
                    return None;
                }
                stack.push(Value::Condition);
            }
            Step::Branch(..) => {
                if !matches!(stack.pop(), Some(Value::Condition)) {
                    return None;
                }
            }
            Step::Jump(_) | Step::Back | Step::Leave(_) => stack.clear(),
        }
        max_depth = max_depth.max(stack.len());
    }
    for (op, [right, left]) in deferred {
        let (l, r) = (kinds.of(left)?, kinds.of(right)?);
        let fits = match op {
            Uop::_RAW_TRUE_DIVIDE => true,
            Uop::_RAW_POWER_FLOAT => l == Kind::Float,
            _ => l == Kind::Int && r == Kind::Int,
        };
        if !fits {
            return None;
        }
    }
    let mut resolved = vec![None; locals];
    for &(_, step) in &steps {
        if let Step::Load(l) | Step::Store(l) = step {
            resolved[l as usize] = Some(kinds.of(Value::Local(l))?);
        }
    }
    Some(Loop {
        head,
        range,
        back,
        steps,
        kinds: resolved,
        depth,
        max_depth,
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
    /// The head's own code: the range's end (a `FOR_ITER_RANGE`), the
    /// first segment of a `while` loop done over.
    End,
    /// Instruction `i`, with the iterator's value pushed if the first bool
    /// says so, counted as a fallback if the second does (the start of a
    /// segment the words do not do, `Step::Leave`, that stays in the loop).
    Resume(usize, bool, bool),
}

/// The words a loop's code uses.
struct Words {
    /// The iterator's value.
    iter: u32,
    /// Each constant's.
    consts: Vec<(i64, u32)>,
    /// Each local's.
    real: Vec<Option<u32>>,
    /// Each local's shadow, for stores that wait for their segment's end.
    shadow: Vec<Option<u32>>,
}

/// The code's state while the turn is laid out: the stack's words and
/// kinds, the word each local is read from, the locals whose stores wait.
struct Turn<'a> {
    words: &'a Words,
    stack: Vec<(u32, Kind)>,
    current: Vec<Option<u32>>,
    pending: Vec<u32>,
}

impl Turn<'_> {
    /// Values on the stack read from word `w`, about to change, get
    /// their own words (their depth's).
    fn keep_values(
        &mut self,
        w: u32,
        out: &mut Vec<UopInst>,
        uop: impl Fn(Uop, u32, u64) -> UopInst,
    ) {
        for (d, value) in self.stack.iter_mut().enumerate() {
            if value.0 == w {
                out.push(uop(Uop::_RAW_COPY, d as u32, w as u64));
                value.0 = d as u32;
            }
        }
    }

    /// Ends a segment: the stores waiting in shadows are made.
    fn commit(&mut self, out: &mut Vec<UopInst>, uop: impl Fn(Uop, u32, u64) -> UopInst + Copy) {
        for l in std::mem::take(&mut self.pending) {
            let to = self.words.real[l as usize].unwrap();
            let from = self.words.shadow[l as usize].unwrap();
            self.keep_values(to, out, uop);
            out.push(uop(Uop::_RAW_STORE_WORD, to, from as u64));
            self.current[l as usize] = Some(to);
        }
    }
}

/// Builds the loop's code, the head's new main code; `None` if its words do
/// not fit.
fn loop_code(program: &Program, lp: &Loop) -> Option<Vec<UopInst>> {
    // The head's checks, which the entry keeps, and its own code.
    let own = program.uops_of(lp.head);
    let split = if lp.range {
        let split = own.iter().position(|u| u.op == Uop::_ITER_JUMP_RANGE)?;
        let rest: Vec<Uop> = own[split..].iter().map(|u| u.op).collect();
        if rest != [Uop::_ITER_JUMP_RANGE, Uop::_ITER_NEXT_RANGE]
            || own[..split]
                .iter()
                .any(|u| !stays_first(u) && u.op != Uop::_ITER_CHECK_RANGE)
        {
            return None;
        }
        split
    } else {
        own.iter().take_while(|u| stays_first(u)).count()
    };
    let (checks, head_code) = if lp.range {
        (&own[..split], &own[split..])
    } else {
        (&own[..split], own)
    };

    // Segments: per step, the instruction its segment starts at, and
    // whether an operation that can leave comes after it in the segment.
    let segment: Vec<usize> = lp
        .steps
        .iter()
        .scan(lp.head, |start, &(k, _)| {
            if lp.depth[k] == 0 {
                *start = k;
            }
            Some(*start)
        })
        .collect();
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
    // shadows. A local read before it is stored is read on entry; so is
    // one stored first but after a branch, which some turns may read
    // first.
    let mut next = lp.max_depth as u32;
    let mut take = || {
        next += 1;
        next - 1
    };
    let n = lp.kinds.len();
    let mut words = Words {
        iter: take(),
        consts: Vec::new(),
        real: vec![None; n],
        shadow: vec![None; n],
    };
    let (mut read_first, mut loaded, mut stored) = (vec![false; n], vec![false; n], vec![false; n]);
    let mut branched = false;
    for (s, &(_, step)) in lp.steps.iter().enumerate() {
        match step {
            Step::Const(w, _) if !words.consts.iter().any(|&(c, _)| c == w) => {
                words.consts.push((w, take()))
            }
            Step::Load(l) | Step::Store(l) => {
                let l = l as usize;
                if words.real[l].is_none() {
                    words.real[l] = Some(take());
                    read_first[l] = matches!(step, Step::Load(_)) || branched;
                }
                loaded[l] |= matches!(step, Step::Load(_));
                if let Step::Store(_) = step {
                    stored[l] = true;
                    if leaves_later[s] && words.shadow[l].is_none() {
                        words.shadow[l] = Some(take());
                    }
                }
            }
            Step::Branch(..) | Step::Jump(_) | Step::Back | Step::Leave(_) => branched = true,
            _ => {}
        }
    }
    if next > STORED {
        return None;
    }

    let here = lp.head as u32;
    let uop = |op: Uop, oparg: u32, operand: u64| UopInst {
        op,
        oparg,
        operand,
        inst: here,
        jump: None,
    };
    let mut out: Vec<UopInst> = checks.to_vec();
    // Entry.
    out.push(uop(Uop::_RAW_LOAD_CONST, STORED, 0));
    for (l, w) in words.real.iter().enumerate() {
        let (Some(w), Some(kind)) = (*w, lp.kinds[l]) else {
            continue;
        };
        if read_first[l] && loaded[l] {
            out.push(uop(kind.local_read(), l as u32, w as u64));
        } else {
            out.push(uop(Uop::_RAW_CHECK_FAST_PLAIN, l as u32, 0));
        }
    }
    for &(c, w) in &words.consts {
        out.push(uop(Uop::_RAW_LOAD_CONST, w, c as u64));
    }
    // The turn. Exits and forward jumps get their labels once laid out.
    let top = out.len() as u32;
    let mut exits: Vec<(usize, Exit)> = Vec::new();
    let mut forward: Vec<(usize, usize)> = Vec::new();
    let mut labels = vec![None; lp.back + 1];
    let kind_of = |l: u32| lp.kinds[l as usize].unwrap_or(Kind::Int);
    let mut turn = Turn {
        words: &words,
        stack: Vec::new(),
        current: words.real.clone(),
        pending: Vec::new(),
    };
    let mut at = usize::MAX;
    if lp.range {
        exits.push((out.len(), Exit::End));
        out.push(uop(Uop::_RAW_FOR_ITER_RANGE, words.iter, 0));
        turn.stack.push((words.iter, Kind::Int));
        at = lp.head;
    }
    let mut condition = None;
    // A jump out of the loop is an exit.
    let mut jump_to = |at: usize, t: usize, exits: &mut Vec<(usize, Exit)>| {
        if t > lp.back {
            exits.push((at, Exit::Resume(t, false, false)));
        } else {
            forward.push((at, t));
        }
    };
    for (s, &(k, step)) in lp.steps.iter().enumerate() {
        if k != at {
            at = k;
            if lp.depth[k] == 0 {
                debug_assert!(turn.stack.is_empty());
                turn.commit(&mut out, uop);
                labels[k] = Some(out.len() as u32);
            }
        }
        match step {
            Step::Load(l) => turn
                .stack
                .push((turn.current[l as usize].unwrap(), kind_of(l))),
            Step::Const(w, kind) => {
                let &(_, word) = words.consts.iter().find(|&&(c, _)| c == w).unwrap();
                turn.stack.push((word, kind));
            }
            Step::Store(l) => {
                let (from, _) = turn.stack.pop().unwrap();
                let li = l as usize;
                let to = if leaves_later[s] {
                    words.shadow[li].unwrap()
                } else {
                    words.real[li].unwrap()
                };
                turn.keep_values(to, &mut out, uop);
                if leaves_later[s] {
                    out.push(uop(Uop::_RAW_COPY, to, from as u64));
                    if !turn.pending.contains(&l) {
                        turn.pending.push(l);
                    }
                } else {
                    out.push(uop(Uop::_RAW_STORE_WORD, to, from as u64));
                    turn.pending.retain(|&p| p != l);
                }
                turn.current[li] = Some(to);
            }
            Step::Op(op, _, gives) => {
                let (right, rk) = turn.stack.pop().unwrap();
                let (left, lk) = turn.stack.pop().unwrap();
                let to = turn.stack.len() as u32;
                let floats =
                    u32::from(lk == Kind::Float) << 16 | u32::from(rk == Kind::Float) << 17;
                if can_leave(op) {
                    let resume = match segment[s] {
                        h if h == lp.head && lp.range => Exit::Resume(h + 1, true, false),
                        h if h == lp.head => Exit::End,
                        k => Exit::Resume(k, false, false),
                    };
                    exits.push((out.len(), resume));
                }
                out.push(uop(op, operands(left, right, to) | floats, 0));
                turn.stack.push((to, gives));
            }
            Step::Compare(mask, kind) => {
                // The segment ends at the branch after it: its stores are
                // made first (the comparison cannot leave).
                turn.commit(&mut out, uop);
                let (right, _) = turn.stack.pop().unwrap();
                let (left, _) = turn.stack.pop().unwrap();
                condition = Some((left, right, mask, kind));
            }
            Step::Branch(t, sense) => {
                let (left, right, mask, kind) = condition.take().unwrap();
                let mask = if sense { mask } else { !mask & 15 };
                let float = u32::from(kind == Kind::Float) << 20;
                jump_to(out.len(), t, &mut exits);
                out.push(uop(
                    Uop::_RAW_COMPARE_JUMP,
                    operands(left, right, 0) | mask << 16 | float,
                    0,
                ));
            }
            Step::Jump(t) => {
                turn.commit(&mut out, uop);
                jump_to(out.len(), t, &mut exits);
                out.push(uop(Uop::_JUMP, 0, 0));
            }
            Step::Leave(counted) => {
                // At its segment's start: nothing waits to be stored, and
                // in the turn's first segment the iterator's value is on
                // the stack.
                let pushed = lp.depth[k] == 1;
                let exit = match k {
                    h if h == lp.head => Exit::End,
                    _ => Exit::Resume(k, pushed, counted),
                };
                exits.push((out.len(), exit));
                out.push(uop(Uop::_JUMP, 0, 0));
            }
            Step::Back => {
                turn.commit(&mut out, uop);
                let breaker = program
                    .uops_of(k)
                    .iter()
                    .find(|u| u.op == Uop::_CHECK_EVAL_BREAKER)?;
                exits.push((out.len(), Exit::Resume(k, false, false)));
                out.push(uop(
                    Uop::_RAW_CHECK_EVAL_BREAKER,
                    breaker.oparg,
                    breaker.operand,
                ));
                out.push(UopInst {
                    jump: Some(LABEL | top),
                    ..uop(Uop::_JUMP, 0, 0)
                });
            }
        }
    }
    for (at, t) in forward {
        out[at].jump = Some(LABEL | labels[t]?);
    }

    // The exits: the stored locals boxed, then on into the compiled code.
    let boxes: Vec<UopInst> = (0..n)
        .filter(|&l| stored[l])
        .map(|l| {
            let op = match lp.kinds[l] {
                Some(Kind::Float) => Uop::_RAW_BOX_FAST_FLOAT,
                _ => Uop::_RAW_BOX_FAST_INT,
            };
            uop(op, l as u32, words.real[l].unwrap() as u64)
        })
        .collect();
    let mut laid: Vec<(Exit, u32)> = Vec::new();
    for &(_, exit) in &exits {
        if laid.iter().any(|&(e, _)| e == exit) {
            continue;
        }
        laid.push((exit, out.len() as u32));
        if let Exit::Resume(_, _, true) = exit {
            out.push(uop(Uop::_GENERIC, 0, 0));
        }
        out.extend_from_slice(&boxes);
        let (to, pushed) = match exit {
            Exit::End => {
                out.extend(head_code.iter().copied());
                (here + 1, false)
            }
            Exit::Resume(i, pushed, _) => (i as u32, pushed),
        };
        if pushed {
            out.push(uop(Uop::_RAW_BOX_INT, words.iter, 0));
        }
        out.push(UopInst {
            jump: Some(to),
            ..uop(Uop::_JUMP, 0, 0)
        });
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
    // Each head's last back edge.
    let mut back = vec![None; program.insts.len()];
    for k in 0..program.insts.len() {
        if program.insts[k].opcode == JUMP_BACKWARD {
            if let Some(h) = jump_target(&program, k).filter(|&h| h < k) {
                back[h] = Some(k);
            }
        }
    }
    // Each head's new code, and its fallback where its entry needs one: a
    // `while` loop's first instruction may have none (its code has no
    // guard), and its entry's checks leave for it.
    let code: Vec<Option<(Vec<UopInst>, Vec<UopInst>)>> = back
        .iter()
        .enumerate()
        .map(|(h, b)| {
            let lp = find_loop(&program, h, (*b)?)?;
            let main = loop_code(&program, &lp)?;
            let mut fallback = program.fallback_of(h).to_vec();
            if fallback.is_empty() {
                let here = h as u32;
                let uop = |op, jump| UopInst {
                    op,
                    oparg: program.insts[h].opcode as u32,
                    operand: 0,
                    inst: here,
                    jump,
                };
                fallback.push(uop(Uop::_GENERIC, None));
                fallback.extend_from_slice(program.uops_of(h));
                fallback.push(uop(Uop::_JUMP, Some(here + 1)));
            }
            Some((main, fallback))
        })
        .collect();
    if code.iter().all(Option::is_none) {
        return program;
    }
    rewrite_ranges(program, |i, fallback, uops, out| match &code[i] {
        Some((main, _)) if !fallback => out.extend_from_slice(main),
        Some((_, generic)) => out.extend_from_slice(generic),
        None => out.extend_from_slice(uops),
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
        // Jumps' opargs, from their micro-ops' targets.
        for k in 0..p.insts.len() {
            let jumps = [
                JUMP_BACKWARD,
                JUMP_FORWARD,
                POP_JUMP_IF_FALSE,
                POP_JUMP_IF_TRUE,
            ];
            let Some(t) = p.uops_of(k).iter().find_map(|u| u.jump) else {
                continue;
            };
            if !jumps.contains(&p.insts[k].opcode) {
                continue;
            }
            let inst = &p.insts[k];
            let next = inst.offset + 1 + caches(inst.opcode) as u32;
            let to = p.insts[t as usize].start;
            p.insts[k].oparg = next.abs_diff(to);
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

    /// for i in range(n):          # 0, 1
    ///     if a < i:               # 2-4
    ///         a = a + 1           # 5-8 (a call instead with `call`)
    ///     else:                   # 9: JUMP_FORWARD to 13
    ///         b = b + i           # 10-12
    ///                             # 13: JUMP_BACKWARD
    fn branching(call: bool) -> Program {
        const THEN: [Spec; 4] = [
            (LOAD_FAST, 0, LOAD),
            (LOAD_CONST, 1, &[(_LOAD_CONST_INLINE_BORROW, None)]),
            (BINARY_OP_ADD_INT, 0, ADD),
            (STORE_FAST, 0, STORE),
        ];
        let mut insts = vec![
            HEAD,
            (STORE_FAST, 1, STORE),
            (
                LOAD_FAST_LOAD_FAST,
                0x01,
                &[(_LOAD_FAST, None), (_LOAD_FAST, None)],
            ),
            (COMPARE_OP_INT, 2, &[(_COMPARE_OP_INT, None)]),
            (POP_JUMP_IF_FALSE, 0, &[(_POP_JUMP_IF_FALSE, Some(10))]),
        ];
        insts.extend(THEN);
        if call {
            insts[6] = (CALL, 0, &[(_CALL, None)]);
        }
        insts.extend([
            (JUMP_FORWARD, 0, &[(_JUMP, Some(13u32))] as &[_]),
            (
                LOAD_FAST_LOAD_FAST,
                0x21,
                &[(_LOAD_FAST, None), (_LOAD_FAST, None)],
            ),
            (BINARY_OP_ADD_INT, 0, ADD),
            (STORE_FAST, 2, STORE),
            BACK,
        ]);
        program(&insts)
    }

    #[test]
    fn branches_of_comparisons_jump_within_the_words() {
        let p = keep_loops_in_words(branching(false));
        let main = p.uops_of(0);
        let at = main.iter().position(|u| u.op == _RAW_COMPARE_JUMP).unwrap();
        // `if a < i` jumps to the `else` unless `a < i`: outcomes greater,
        // equal (the mask's other bits).
        assert_eq!(main[at].oparg >> 16, 15 & !2);
        let else_ = main[main[at].label().unwrap() as usize..].to_vec();
        assert_eq!(else_[0].op, _RAW_ADD, "b + i");
        let jump = main[at + 1..].iter().find(|u| u.op == _JUMP).unwrap();
        let join = &main[jump.label().unwrap() as usize..];
        assert_eq!(join[0].op, _RAW_CHECK_EVAL_BREAKER);
        // `b` is stored after a branch: some turns may read it first, so
        // it is read on entry.
        assert!(main.iter().any(|u| u.op == _RAW_LOAD_FAST && u.oparg == 2));
    }

    #[test]
    fn a_branch_the_words_do_not_do_leaves_for_the_compiled_code() {
        let p = keep_loops_in_words(branching(true));
        let main = p.uops_of(0);
        let at = main.iter().position(|u| u.op == _RAW_COMPARE_JUMP).unwrap();
        // The `then` branch's segment starts at its `LOAD_FAST`: the words
        // leave there, counted (it comes back to the loop), for the
        // compiled code to do it.
        let leave = at_label(&p, 0, main[at + 1].label().unwrap());
        let ops: Vec<Uop> = leave.iter().map(|u| u.op).collect();
        assert_eq!(ops[0], _GENERIC);
        assert_eq!(leave.last().unwrap().jump, Some(5));
    }

    #[test]
    fn a_while_loop_runs_in_words_from_its_first_instruction() {
        // while i < n: i = i + 1   (`i` local 0, `n` local 1)
        let cond: [Spec; 3] = [
            (
                LOAD_FAST_LOAD_FAST,
                0x01,
                &[(_LOAD_FAST, None), (_LOAD_FAST, None)],
            ),
            (COMPARE_OP_INT, 2, &[(_COMPARE_OP_INT, None)]),
            (POP_JUMP_IF_FALSE, 0, &[(_POP_JUMP_IF_FALSE, Some(11))]),
        ];
        let mut insts = cond.to_vec();
        insts.extend([
            (LOAD_FAST, 0, LOAD),
            (LOAD_CONST, 1, &[(_LOAD_CONST_INLINE_BORROW, None)]),
            (BINARY_OP_ADD_INT, 0, ADD),
            (STORE_FAST, 0, STORE),
        ]);
        insts.extend(cond);
        insts[9].2 = &[(_POP_JUMP_IF_FALSE, Some(11))];
        insts.push((
            JUMP_BACKWARD,
            0,
            &[(_CHECK_EVAL_BREAKER, None), (_JUMP, Some(3))],
        ));
        insts.push((RETURN_VALUE, 0, &[(_POP_FRAME, None)]));
        let p = keep_loops_in_words(program(&insts));
        let main = p.uops_of(3);
        assert_eq!(
            main_ops(&p, 3)[..4],
            [
                _RAW_LOAD_CONST,
                _RAW_LOAD_FAST,
                _RAW_LOAD_FAST,
                _RAW_LOAD_CONST
            ]
        );
        // The add leaves in the turn's first segment: the head's own code
        // does it over.
        let add = main.iter().position(|u| u.op == _RAW_ADD).unwrap();
        let over = at_label(&p, 3, main[add].label().unwrap());
        let ops: Vec<Uop> = over.iter().map(|u| u.op).collect();
        assert_eq!(ops, [_RAW_BOX_FAST_INT, _LOAD_FAST, _JUMP]);
        assert_eq!(over.last().unwrap().jump, Some(4));
        // The condition's false way leaves the loop.
        let cmp = main.iter().position(|u| u.op == _RAW_COMPARE_JUMP).unwrap();
        let out = at_label(&p, 3, main[cmp].label().unwrap());
        assert_eq!(out.last().unwrap().jump, Some(11));
        // The entry's checks leave for a fallback made of the head's code.
        let fallback: Vec<Uop> = p.fallback_of(3).iter().map(|u| u.op).collect();
        assert_eq!(fallback, [_GENERIC, _LOAD_FAST, _JUMP]);
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
