//! Expressions in machine words.
//!
//! An expression of int and float locals and constants,
//! `(i + j) * (i + j + 1) // 2 + i + 1`, runs an operation per operator:
//! each checks its inputs' types and sizes, makes (or reuses) an object for
//! its result and releases its inputs, ~70 machine instructions for an int
//! `+`. Its
//! intermediate results only feed the next operator, so nothing can see
//! them: this pass computes such an expression in scratch words instead
//! (an int's value or a float's bits; `_RAW_*`,
//! `crates/stencils/src/ops/raw.rs`), a few instructions per operator, and
//! boxes only its result.
//!
//! The expression's first instruction (a load) gets the word arithmetic as
//! its code, then a jump past the expression's last instruction. Its own
//! code becomes its fallback, which goes on into the expression's
//! instructions as compiled before: when a local is not an exact int of at
//! most two digits, a result overflows a word or a divisor is zero, the
//! word arithmetic leaves for that fallback, which starts the expression
//! over (the words changed nothing; so do locals that are not exact floats
//! where floats are wanted, and ints a double does not hold exactly). The instructions after the first keep
//! their code in place, so a jump into the middle of the expression, or a
//! fallback of one of them returning to the next, runs them as before.
//!
//! Operators count only where the interpreter saw their types: `+ - *`
//! specialized for ints or floats (a local is read as the kind its
//! operator wants), and `//`, `%` and `/` (which CPython 3.13 never
//! specializes) of two values of known kinds (constants or results; ints
//! for `//` and `%`). A local or attribute that `/` takes, or `**` as its
//! exponent, has no kind the interpreter saw: it is read as a double, from
//! an exact float or an exact int a double holds exactly, as CPython's
//! float and int division convert it (`x = (p.x - self.minx) /
//! self.width`). An expression whose fallback keeps running is
//! compiled again with its first instruction generic (`Program::generic`),
//! which this pass then leaves alone.
//!
//! A statement updating a float item of a list in a local with such an
//! expression (`v[0] -= dx * b2m`, see [`Item`]) is computed the same way,
//! the item updated from the words instead of a result boxed.

use super::{lone_store, rewrite_ranges};
use crate::uops::{Program, Uop, UopInst};
use jitsaw_cpython313::opcode::*;
use jitsaw_cpython313::{consts, deopt};

/// Scratch words the stencils have (`jitsaw_raw`, storage in the runtime).
pub(crate) const WORDS: usize = 32;

/// What a word holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Int,
    Float,
    /// A local, checked when read: its kind is the one the operator that
    /// takes it wants.
    Local,
    /// A local or attribute that `/`, or `**` as its exponent, takes
    /// without a kind of its own (CPython specializes neither), read as a
    /// double: an exact float, or an exact int a double holds exactly,
    /// converted as CPython converts it there.
    Real,
    /// An int or a float, which only the run knows: the operands and
    /// results of `+ - *` CPython did not specialize (ints and floats
    /// mixed), their kinds in kind words beside their words.
    Any,
}

impl Kind {
    /// Whether a word of this kind holds a double.
    fn holds_double(self) -> bool {
        matches!(self, Kind::Float | Kind::Real)
    }

    /// The micro-op reading a local into a word as this kind.
    pub(super) fn local_read(self) -> Uop {
        match self {
            Kind::Float => Uop::_RAW_LOAD_FAST_FLOAT,
            Kind::Real => Uop::_RAW_LOAD_FAST_REAL,
            Kind::Any => Uop::_RAW_LOAD_FAST_ANY,
            Kind::Int | Kind::Local => Uop::_RAW_LOAD_FAST,
        }
    }

    /// The micro-op pushing a result of this kind from its word.
    fn boxed(self) -> Uop {
        match self {
            Kind::Float => Uop::_RAW_BOX_FLOAT,
            Kind::Any => Uop::_RAW_BOX_ANY,
            _ => Uop::_RAW_BOX_INT,
        }
    }

    /// The micro-op reading a local's object's attribute through a site
    /// cache into a word as this kind.
    fn cached_read(self) -> Uop {
        match self {
            Kind::Float => Uop::_RAW_LOAD_ATTR_LOCAL_CACHED_FLOAT,
            Kind::Real => Uop::_RAW_LOAD_ATTR_LOCAL_CACHED_REAL,
            Kind::Any => Uop::_RAW_LOAD_ATTR_LOCAL_CACHED_ANY,
            Kind::Int | Kind::Local => Uop::_RAW_LOAD_ATTR_LOCAL_CACHED,
        }
    }

    /// The micro-op reading an instance attribute of a local's object into
    /// a word as this kind.
    fn attr_read(self) -> Uop {
        match self {
            Kind::Float => Uop::_RAW_LOAD_ATTR_FLOAT,
            Kind::Real => Uop::_RAW_LOAD_ATTR_REAL,
            Kind::Any => Uop::_RAW_LOAD_ATTR_ANY,
            Kind::Int | Kind::Local => Uop::_RAW_LOAD_ATTR,
        }
    }
}

/// What an instruction of an expression does to the words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Reads a local of that kind (`LOAD_FAST_CHECK`'s, which may be
    /// unbound, where the bool says so).
    Local(u32, Kind, bool),
    /// Reads an instance attribute of a local's object, of that kind: the
    /// operand of its `_LOAD_ATTR_INSTANCE_VALUE_LOCAL` (`optimize::fuse`),
    /// whose checks it makes.
    Attr(u64, Kind),
    /// Reads an attribute of a local's object through a site cache of the
    /// types it meets (an inlined body's `_LOAD_ATTR_LOCAL_CACHED`: the
    /// local, the name), of that kind.
    Cached(u32, u64, Kind),
    /// Writes a constant's word.
    Const(i64),
    /// Combines the top two words (the oparg's kind bits, for `/`).
    Op(Uop, u32),
}

/// An expression: instructions `start..=end`, computed by `steps`, its
/// result a float or an int. Its first `pushed` steps are loads of values
/// below it that it does not use (`dt` of `dt * (dx * dx + ...)`, whose
/// `LOAD_FAST_LOAD_FAST` also loads `dx`): they are pushed as they are.
#[derive(Debug)]
struct Expr {
    start: usize,
    end: usize,
    steps: Vec<Step>,
    pushed: usize,
    /// The result's kind: an int, a float, or either ([`Kind::Any`]).
    result: Kind,
    /// Where the result goes instead of the stack: a float list item.
    item: Option<Item>,
}

/// A statement `items[i] op= <expression>` of a float item of a list in
/// a local (`v1[0] -= dx * b2m`): `LOAD_FAST` of the list and the index
/// (a constant or a local), `COPY 2` twice, `BINARY_SUBSCR_LIST_INT`, the
/// expression (any number of operators), a float `+`, `-` or `*`, `SWAP
/// 3`, `SWAP 2` and `STORE_SUBSCR_LIST_INT`. Its words are the index's
/// (word 0) and the expression's (word 1); `_RAW_UPDATE_LIST_ITEM_FLOAT`
/// writes the new value into the item's float when the list alone holds
/// it, which saves the result's allocation, the old item's free and the
/// stack shuffling of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Item {
    /// The list's local.
    list: u32,
    /// The operation: 0 `+`, 1 `-`, 2 `*`.
    op: u32,
}

/// The word operation for a `BINARY_OP` instruction: its micro-op, the kind
/// it wants of both operands (`None`: any kind already known) and the kind
/// of its result.
pub(super) fn operation(opcode: u8, oparg: u32) -> Option<(Uop, Option<Kind>, Kind)> {
    let nb = oparg as i64;
    let is = |a: i64, b: i64| nb == a || nb == b;
    Some(match opcode {
        BINARY_OP_ADD_INT => (Uop::_RAW_ADD, Some(Kind::Int), Kind::Int),
        BINARY_OP_SUBTRACT_INT => (Uop::_RAW_SUBTRACT, Some(Kind::Int), Kind::Int),
        BINARY_OP_MULTIPLY_INT => (Uop::_RAW_MULTIPLY, Some(Kind::Int), Kind::Int),
        BINARY_OP_ADD_FLOAT => (Uop::_RAW_ADD_FLOAT, Some(Kind::Float), Kind::Float),
        BINARY_OP_SUBTRACT_FLOAT => (Uop::_RAW_SUBTRACT_FLOAT, Some(Kind::Float), Kind::Float),
        BINARY_OP_MULTIPLY_FLOAT => (Uop::_RAW_MULTIPLY_FLOAT, Some(Kind::Float), Kind::Float),
        // Not specialized: ints and floats mixed (or something else, which
        // leaves), each value's kind known at run time.
        BINARY_OP if is(consts::NB_ADD, consts::NB_INPLACE_ADD) => {
            (Uop::_RAW_ADD_ANY, None, Kind::Any)
        }
        BINARY_OP if is(consts::NB_SUBTRACT, consts::NB_INPLACE_SUBTRACT) => {
            (Uop::_RAW_SUBTRACT_ANY, None, Kind::Any)
        }
        BINARY_OP if is(consts::NB_MULTIPLY, consts::NB_INPLACE_MULTIPLY) => {
            (Uop::_RAW_MULTIPLY_ANY, None, Kind::Any)
        }
        // CPython 3.13 specializes none of these: both operands must be
        // known (constants, results), ints for `//` and `%`.
        BINARY_OP if is(consts::NB_FLOOR_DIVIDE, consts::NB_INPLACE_FLOOR_DIVIDE) => {
            (Uop::_RAW_FLOOR_DIVIDE, None, Kind::Int)
        }
        BINARY_OP if is(consts::NB_REMAINDER, consts::NB_INPLACE_REMAINDER) => {
            (Uop::_RAW_REMAINDER, None, Kind::Int)
        }
        BINARY_OP if is(consts::NB_TRUE_DIVIDE, consts::NB_INPLACE_TRUE_DIVIDE) => {
            (Uop::_RAW_TRUE_DIVIDE, None, Kind::Float)
        }
        // A float base only (an int one is `long_pow`'s).
        BINARY_OP if is(consts::NB_POWER, consts::NB_INPLACE_POWER) => {
            (Uop::_RAW_POWER_FLOAT, None, Kind::Float)
        }
        _ => return None,
    })
}

/// The expressions of `program`, longest first from each start: at least
/// two operators, leaving one value.
fn expressions(program: &Program) -> Vec<Expr> {
    let n = program.insts.len();
    let mut found = Vec::new();
    // Per value on the expression's stack: its kind, and the step that
    // read it if it is a local. Reused from start to start (allocating
    // them anew at each was a quarter of compiling's allocations).
    let mut stack: Vec<(Kind, Option<usize>)> = Vec::new();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < n {
        let pass_first = program.insts[i].opcode == LOAD_FAST_LOAD_FAST;
        stack.clear();
        steps.clear();
        let (mut ops, mut best) = (0, None);
        for k in i..n {
            match read(program, k, &mut stack, &mut steps) {
                Some(op) => ops += usize::from(op),
                None => break,
            }
            // Below the result, only loads it does not use: the first of a
            // `LOAD_FAST_LOAD_FAST` that starts the expression.
            let pushed = stack.len().saturating_sub(1);
            let passed = stack[..pushed]
                .iter()
                .enumerate()
                .all(|(s, &(kind, read))| {
                    kind == Kind::Local
                        && read == Some(s)
                        && matches!(steps[s], Step::Local(_, _, false))
                });
            let top = stack.last().map(|&(kind, _)| kind);
            if ops >= 2
                && passed
                && top != Some(Kind::Local)
                && (pushed == 0 || pushed == 1 && pass_first)
            {
                best = Some((k, steps.len(), pushed, top.unwrap_or(Kind::Int)));
            }
        }
        match best {
            Some((end, len, pushed, result)) => {
                found.push(Expr {
                    start: i,
                    end,
                    steps: steps[..len].to_vec(),
                    pushed,
                    result,
                    item: None,
                });
                i = end + 1;
            }
            None => i += 1,
        }
    }
    found
}

/// Adds instruction `k`'s steps to an expression being read (its values'
/// kinds and the steps that read locals on `stack`): `Some(true)` for an
/// operator, `Some(false)` for a load; `None` for an instruction an
/// expression cannot hold, or one compiled generic, or past the words
/// there are (the steps may then have grown: the expression ends before).
fn read(
    program: &Program,
    k: usize,
    stack: &mut Vec<(Kind, Option<usize>)>,
    steps: &mut Vec<Step>,
) -> Option<bool> {
    let inst = &program.insts[k];
    if program.generic.contains(&inst.offset) {
        return None;
    }
    let before = steps.len();
    let mut op = false;
    let mut local = |l: u32, checked: bool, steps: &mut Vec<Step>| {
        stack.push((Kind::Local, Some(steps.len())));
        steps.push(Step::Local(l, Kind::Local, checked));
    };
    match inst.opcode {
        LOAD_FAST => local(inst.oparg, false, steps),
        LOAD_FAST_CHECK => local(inst.oparg, true, steps),
        LOAD_FAST_LOAD_FAST => {
            local(inst.oparg >> 4, false, steps);
            local(inst.oparg & 15, false, steps);
        }
        LOAD_CONST => {
            if let Some(&Some((w, float))) = program.const_words.get(inst.oparg as usize) {
                steps.push(Step::Const(w));
                stack.push((if float { Kind::Float } else { Kind::Int }, None));
            }
        }
        // `self.x`: the local just read becomes its attribute.
        LOAD_ATTR_INSTANCE_VALUE => {
            if let Some(&(Kind::Local, Some(s))) = stack.last() {
                let operand = (s + 1 == steps.len())
                    .then(|| attr_operand(program, k, &steps[..s], steps[s]))
                    .flatten();
                if let Some(operand) = operand {
                    steps[s] = Step::Attr(operand, Kind::Local);
                    return Some(false);
                }
            }
        }
        opcode if deopt(opcode) == BINARY_OP && stack.len() >= 2 => {
            if let Some(step) = operation(opcode, inst.oparg).and_then(|o| apply(o, stack, steps)) {
                steps.push(step);
                op = true;
            }
        }
        _ => {}
    }
    (steps.len() != before && stack.len() <= WORDS).then_some(op)
}

/// The `_LOAD_ATTR_INSTANCE_VALUE_LOCAL` operand (see [`Step::Attr`]) of
/// attribute load `k` of the local that step `read` reads: the fused load
/// itself (not a method's), or a repeated load of a local whose class an
/// earlier attribute of the expression (in `before`) checked, which
/// `optimize::classes` left unchecked (its index, that one's version).
fn attr_operand(program: &Program, k: usize, before: &[Step], read: Step) -> Option<u64> {
    let Step::Local(l, _, _) = read else {
        return None;
    };
    let uops = program.uops_of(k);
    if let Some(u) = uops
        .iter()
        .find(|u| u.op == Uop::_LOAD_ATTR_INSTANCE_VALUE_LOCAL && u.oparg & 1 == 0)
    {
        return (u.operand >> 48 == l as u64).then_some(u.operand);
    }
    let [u] = uops else {
        return None;
    };
    let checked = before.iter().rev().find_map(|step| match *step {
        Step::Attr(operand, _) if operand >> 48 == l as u64 => Some(operand as u32),
        _ => None,
    })?;
    let index = u.operand;
    (u.op == Uop::_LOAD_ATTR_INSTANCE_VALUE_BORROWED && u.oparg & 1 == 0 && index <= 0xffff)
        .then_some(checked as u64 | index << 32 | (l as u64) << 48)
}

/// The statements updating a float list item from an expression (see
/// [`Item`]), as expressions whose first step is the index's.
fn item_updates(program: &Program) -> Vec<Expr> {
    let opcodes: Vec<(u8, u32)> = program.insts.iter().map(|i| (i.opcode, i.oparg)).collect();
    let int_const = |c: u32| match program.const_words.get(c as usize) {
        Some(&Some((w, false))) if w >= 0 => Some(Step::Const(w)),
        _ => None,
    };
    let mut found = Vec::new();
    for i in 0..opcodes.len() {
        // The list and the index, then the subscript's start.
        let (list, index, next) = match opcodes[i..] {
            [(LOAD_FAST, l), (LOAD_CONST, c), ..] => match int_const(c) {
                Some(index) => (l, index, i + 2),
                None => continue,
            },
            [(LOAD_FAST, l), (LOAD_FAST, j), ..] => (l, Step::Local(j, Kind::Int, false), i + 2),
            [(LOAD_FAST_LOAD_FAST, o), ..] => {
                (o >> 4, Step::Local(o & 15, Kind::Int, false), i + 1)
            }
            _ => continue,
        };
        let subscript = [(COPY, 2), (COPY, 2)];
        if opcodes.get(next..next + 2) != Some(&subscript[..])
            || opcodes.get(next + 2).map(|o| o.0) != Some(BINARY_SUBSCR_LIST_INT)
            || program.generic.contains(&program.insts[i].offset)
        {
            continue;
        }
        // The expression, up to the float operation on the item.
        let mut stack = Vec::new();
        let mut steps = vec![index];
        let mut k = next + 3;
        let op = loop {
            let op = match opcodes.get(k).map(|o| o.0) {
                Some(BINARY_OP_ADD_FLOAT) => Some(0),
                Some(BINARY_OP_SUBTRACT_FLOAT) => Some(1),
                Some(BINARY_OP_MULTIPLY_FLOAT) => Some(2),
                _ => None,
            };
            // The item is below the expression: an operation with one value
            // on the expression's stack combines the two.
            if let (Some(op), [_]) = (op, &stack[..]) {
                break Some(op);
            }
            if k >= opcodes.len() || read(program, k, &mut stack, &mut steps).is_none() {
                break None;
            }
            k += 1;
        };
        let store = [(SWAP, 3), (SWAP, 2)];
        let Some(op) = op else { continue };
        if opcodes.get(k + 1..k + 3) != Some(&store[..])
            || opcodes.get(k + 3).map(|o| o.0) != Some(STORE_SUBSCR_LIST_INT)
            || k + 4 >= opcodes.len()
            || list > 0xffff
        {
            continue;
        }
        // A local the expression leaves as is is read as the float the
        // operation wants.
        if let (Kind::Local, Some(s)) = stack[0] {
            settle(&mut steps[s], Kind::Float);
        } else if stack[0].0 != Kind::Float {
            continue;
        }
        found.push(Expr {
            start: i,
            end: k + 3,
            steps,
            pushed: 0,
            result: Kind::Float,
            item: Some(Item { list, op }),
        });
    }
    found
}

/// The step of operation `(op, wants, gives)` on the top two values of
/// `stack`, which it replaces by its result; the kinds of the locals it
/// takes are settled in `steps`. `None` when the operands' kinds do not
/// fit (nothing changed then).
fn apply(
    (op, wants, gives): (Uop, Option<Kind>, Kind),
    stack: &mut Vec<(Kind, Option<usize>)>,
    steps: &mut [Step],
) -> Option<Step> {
    let operands = [stack[stack.len() - 2], stack[stack.len() - 1]];
    // A specialized `+ - *` taking a value whose kind only the run knows
    // computes as the unspecialized one, which does the same for the kinds
    // it was specialized for.
    let (op, wants) = match (op, operands.iter().any(|&(kind, _)| kind == Kind::Any)) {
        (Uop::_RAW_ADD | Uop::_RAW_ADD_FLOAT, true) => (Uop::_RAW_ADD_ANY, None),
        (Uop::_RAW_SUBTRACT | Uop::_RAW_SUBTRACT_FLOAT, true) => (Uop::_RAW_SUBTRACT_ANY, None),
        (Uop::_RAW_MULTIPLY | Uop::_RAW_MULTIPLY_FLOAT, true) => (Uop::_RAW_MULTIPLY_ANY, None),
        _ => (op, wants),
    };
    // `/` converts an int operand as the float it would be; `**` only its
    // exponent (an int base is `long_pow`'s).
    let real = [
        op == Uop::_RAW_TRUE_DIVIDE,
        op == Uop::_RAW_TRUE_DIVIDE || op == Uop::_RAW_POWER_FLOAT,
    ];
    let any = matches!(
        op,
        Uop::_RAW_ADD_ANY | Uop::_RAW_SUBTRACT_ANY | Uop::_RAW_MULTIPLY_ANY
    );
    // `//` and `%` of ints: a value whose kind only the run knows leaves
    // there if it is a float.
    let of_ints = op == Uop::_RAW_FLOOR_DIVIDE || op == Uop::_RAW_REMAINDER;
    let kinds = [0, 1].map(|side| match (operands[side].0, wants) {
        (Kind::Local, Some(want)) => Some(want),
        (Kind::Local, None) if any || of_ints => Some(Kind::Any),
        (Kind::Local, None) => real[side].then_some(Kind::Real),
        (kind, Some(want)) if kind != want => None,
        (kind, _) if of_ints => matches!(kind, Kind::Int | Kind::Any).then_some(kind),
        (kind, _) => Some(kind),
    });
    let [Some(left), Some(right)] = kinds else {
        return None;
    };
    if op == Uop::_RAW_POWER_FLOAT && (left != Kind::Float || right == Kind::Any) {
        return None;
    }
    // Of ints an int, with a float a float, else known at run time.
    let gives = match (any, left, right) {
        (false, ..) => gives,
        (true, Kind::Int, Kind::Int) => Kind::Int,
        (true, Kind::Any, _) | (true, _, Kind::Any) => Kind::Any,
        (true, ..) => Kind::Float,
    };
    for ((_, read), kind) in operands.into_iter().zip([left, right]) {
        if let Some(s) = read {
            settle(&mut steps[s], kind);
        }
    }
    stack.pop();
    *stack.last_mut().unwrap() = (gives, None);
    let floats = u32::from(left.holds_double()) << 16
        | u32::from(right.holds_double()) << 17
        | u32::from(left == Kind::Any) << 18
        | u32::from(right == Kind::Any) << 19;
    Some(Step::Op(op, floats))
}

/// Gives a local or attribute read step the kind its operator wants.
fn settle(step: &mut Step, kind: Kind) {
    match *step {
        Step::Local(l, _, checked) => *step = Step::Local(l, kind, checked),
        Step::Attr(operand, _) => *step = Step::Attr(operand, kind),
        Step::Cached(l, name, _) => *step = Step::Cached(l, name, kind),
        _ => {}
    }
}

/// The oparg of a binary word operation of words `left` and `right` into
/// word `to` (the kind bits of `_RAW_TRUE_DIVIDE` go between).
pub(crate) fn operands(left: u32, right: u32, to: u32) -> u32 {
    left | right << 8 | to << 24
}

/// The local a lone `STORE_FAST` right after instruction `end` stores to,
/// if one does and an instruction follows it (where writing into the
/// local's float goes on).
fn store_after(program: &Program, end: usize) -> Option<u32> {
    let store = program.insts.get(end + 1)?;
    lone_store(program, end + 1).filter(|_| store.opcode == STORE_FAST)
}

/// Whether `u` must stay before the word arithmetic in its instruction's
/// code: the checks that belong to the instruction's start.
pub(super) fn stays_first(u: &UopInst) -> bool {
    matches!(
        u.op,
        Uop::_CHECK_VALIDITY | Uop::_CHECK_VALIDITY_MONITORED | Uop::_CHAOS
    )
}

/// Computes expressions in machine words (see the module's comment).
pub fn compute_in_words(program: Program) -> Program {
    // Counting and profiling count every instruction run: none is skipped.
    if program.uops.iter().any(|u| u.op == Uop::_COUNT_RUN) {
        return program;
    }
    // Each first instruction's own code (without the checks that stay
    // first), which becomes its fallback. A load passed through is copied
    // from it, and must push a reference of its own: it is pushed after the
    // words are computed (whose exits leave the stack as it was), before the
    // result is boxed (whose error leaves it on the stack for the
    // unwinding).
    let passes = |e: &Expr, own: &[UopInst]| {
        own.len() >= e.pushed
            && e.steps[..e.pushed].iter().zip(own).all(|(step, u)| {
                u.op == Uop::_LOAD_FAST && matches!(*step, Step::Local(l, _, _) if l == u.oparg)
            })
    };
    // A statement updating a list item takes its first instruction from an
    // expression starting there.
    let updates = item_updates(&program);
    let updated: Vec<usize> = updates.iter().map(|e| e.start).collect();
    let exprs: Vec<(Expr, Vec<UopInst>)> = expressions(&program)
        .into_iter()
        .filter(|e| !updated.contains(&e.start))
        .chain(updates)
        .filter(|e| program.insts[e.start].fallback_count == 0)
        .map(|e| {
            let own = program.uops_of(e.start).iter();
            let own: Vec<UopInst> = own.filter(|u| !stays_first(u)).copied().collect();
            (e, own)
        })
        .filter(|(e, own)| passes(e, own))
        .collect();
    if exprs.is_empty() {
        return program;
    }
    let mut at = vec![None; program.insts.len()];
    for (x, (e, _)) in exprs.iter().enumerate() {
        at[e.start] = Some(x);
    }
    let opcodes: Vec<u8> = program.insts.iter().map(|i| i.opcode).collect();
    let stored: Vec<Option<u32>> = exprs
        .iter()
        .map(|(e, _)| {
            (e.result == Kind::Float && e.item.is_none())
                .then(|| store_after(&program, e.end))
                .flatten()
        })
        .collect();
    rewrite_ranges(program, |i, fallback, uops, out| {
        let Some(x) = at[i] else {
            out.extend_from_slice(uops);
            return;
        };
        let (e, own) = &exprs[x];
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
            out.extend_from_slice(own);
            out.push(UopInst {
                inst: here + 1,
                ..uop(Uop::_JUMP, 0, 0, Some(here + 1))
            });
            return;
        }
        out.extend(uops.iter().filter(|u| stays_first(u)));
        emit_steps(&e.steps[e.pushed..], here, out);
        if let Some(Item { list, op }) = e.item {
            out.push(uop(
                Uop::_RAW_UPDATE_LIST_ITEM_FLOAT,
                list | op << 16,
                0,
                None,
            ));
            out.push(uop(Uop::_JUMP, 0, 0, Some(e.end as u32 + 1)));
            return;
        }
        out.extend_from_slice(&own[..e.pushed]);
        if let Some(local) = stored[x] {
            // Into the stored local's float, past the store; else pushed
            // for it.
            out.push(uop(
                Uop::_RAW_BOX_FLOAT_INTO_FAST,
                local,
                0,
                Some(e.end as u32 + 2),
            ));
            out.push(uop(Uop::_JUMP, 0, 0, Some(e.end as u32 + 1)));
            return;
        }
        out.push(uop(e.result.boxed(), 0, 0, None));
        out.push(uop(Uop::_JUMP, 0, 0, Some(e.end as u32 + 1)));
    })
}

/// The word micro-ops of `steps` (of instruction `inst`): each value in
/// the word of its stack depth, an operation's result in its left
/// operand's, the last one in word 0.
fn emit_steps(steps: &[Step], inst: u32, out: &mut Vec<UopInst>) {
    let uop = |op: Uop, oparg: u32, operand: u64| UopInst::at(op, oparg, operand, inst);
    let mut depth = 0u32;
    for step in steps {
        match *step {
            Step::Local(l, kind, _) => out.push(uop(kind.local_read(), l, depth as u64)),
            Step::Attr(operand, kind) => out.push(uop(kind.attr_read(), depth, operand)),
            Step::Cached(l, name, kind) => out.push(uop(kind.cached_read(), l | depth << 24, name)),
            Step::Const(w) => out.push(uop(Uop::_RAW_LOAD_CONST, depth, w as u64)),
            Step::Op(op, floats) => {
                let words = operands(depth - 2, depth - 1, depth - 2) | floats;
                out.push(uop(op, words, 0));
                depth -= 2;
            }
        }
        depth += 1;
    }
}

/// The word operation of an inlined body's operator micro-op (see
/// [`operation`]): `+ - *` specialized for ints; those specialized for
/// floats or not specialized, as of either kind (the callee's float
/// arithmetic was specialized for whatever its other callers passed, and
/// float code is often given ints, `Vector(0, 1, 0)`: a value of either
/// kind computes as CPython computes it; int arithmetic keeps its kind,
/// whose words cost less: spectral_norm's `eval_A` computed as of either
/// kind took 10 % longer, unless `either`: its words kept leaving); and the
/// pure forms of `/`, `//` and `%` (`frontend::inline_body`'s, which
/// CPython never specializes).
fn body_operation(op: Uop, either: bool) -> Option<(Uop, Option<Kind>, Kind)> {
    let (opcode, nb) = match op {
        Uop::_BINARY_OP_ADD_INT if either => (BINARY_OP, consts::NB_ADD),
        Uop::_BINARY_OP_SUBTRACT_INT if either => (BINARY_OP, consts::NB_SUBTRACT),
        Uop::_BINARY_OP_MULTIPLY_INT if either => (BINARY_OP, consts::NB_MULTIPLY),
        Uop::_BINARY_OP_ADD_INT => (BINARY_OP_ADD_INT, 0),
        Uop::_BINARY_OP_SUBTRACT_INT => (BINARY_OP_SUBTRACT_INT, 0),
        Uop::_BINARY_OP_MULTIPLY_INT => (BINARY_OP_MULTIPLY_INT, 0),
        Uop::_BINARY_OP_ADD_FLOAT | Uop::_BINARY_OP_PURE_ADD => (BINARY_OP, consts::NB_ADD),
        Uop::_BINARY_OP_SUBTRACT_FLOAT | Uop::_BINARY_OP_PURE_SUBTRACT => {
            (BINARY_OP, consts::NB_SUBTRACT)
        }
        Uop::_BINARY_OP_MULTIPLY_FLOAT | Uop::_BINARY_OP_PURE_MULTIPLY => {
            (BINARY_OP, consts::NB_MULTIPLY)
        }
        Uop::_BINARY_OP_PURE_TRUE_DIVIDE => (BINARY_OP, consts::NB_TRUE_DIVIDE),
        Uop::_BINARY_OP_PURE_FLOOR_DIVIDE => (BINARY_OP, consts::NB_FLOOR_DIVIDE),
        Uop::_BINARY_OP_PURE_REMAINDER => (BINARY_OP, consts::NB_REMAINDER),
        _ => return None,
    };
    operation(opcode, nb as u32)
}

/// Adds micro-op `k` of an inlined body to an expression being read (as
/// [`read`] does for instructions): how many micro-ops it took (an
/// operator's guard takes its operation with it) and whether it was an
/// operator; `None` for one an expression cannot hold.
fn read_body_uop(
    uops: &[UopInst],
    k: usize,
    const_word: &dyn Fn(u64) -> Option<(i64, bool)>,
    either: bool,
    stack: &mut Vec<(Kind, Option<usize>)>,
    steps: &mut Vec<Step>,
) -> Option<(usize, bool)> {
    let u = &uops[k];
    if u.jump.is_some() {
        return None;
    }
    let read = match u.op {
        Uop::_LOAD_FAST => Step::Local(u.oparg, Kind::Local, false),
        Uop::_LOAD_ATTR_LOCAL_CACHED => Step::Cached(u.oparg, u.operand, Kind::Local),
        Uop::_LOAD_CONST_INLINE | Uop::_LOAD_CONST_INLINE_BORROW => {
            let (w, float) = const_word(u.operand)?;
            stack.push((if float { Kind::Float } else { Kind::Int }, None));
            steps.push(Step::Const(w));
            return (stack.len() <= WORDS).then_some((1, false));
        }
        Uop::_GUARD_BOTH_INT | Uop::_GUARD_BOTH_FLOAT => {
            // The guard of the operation after it, which the words check
            // their own way.
            let next = uops.get(k + 1)?;
            let guarded = if u.op == Uop::_GUARD_BOTH_INT {
                [
                    Uop::_BINARY_OP_ADD_INT,
                    Uop::_BINARY_OP_SUBTRACT_INT,
                    Uop::_BINARY_OP_MULTIPLY_INT,
                ]
            } else {
                [
                    Uop::_BINARY_OP_ADD_FLOAT,
                    Uop::_BINARY_OP_SUBTRACT_FLOAT,
                    Uop::_BINARY_OP_MULTIPLY_FLOAT,
                ]
            };
            (guarded.contains(&next.op) && next.jump.is_none()).then_some(())?;
            let (taken, op) = read_body_uop(uops, k + 1, const_word, either, stack, steps)?;
            return Some((taken + 1, op));
        }
        op if stack.len() >= 2 => {
            let step = body_operation(op, either).and_then(|o| apply(o, stack, steps))?;
            steps.push(step);
            return Some((1, true));
        }
        _ => return None,
    };
    stack.push((Kind::Local, Some(steps.len())));
    steps.push(read);
    (stack.len() <= WORDS).then_some((1, false))
}

/// Computes an inlined body's expressions in words (`optimize::inline`
/// applies it to each body; see the module's comment): runs of its
/// micro-ops, up to `end` (a body's first store, after which an exit
/// resumes the callee's frame at its instruction rather than starting the
/// call over), that read locals, their objects' attributes through site
/// caches and constants (`const_word`: a constant object's word) and
/// combine them by at least two operators into one value. An exit of the
/// words leaves the body as its own guards would, for the call, which
/// starts over: nothing has changed. Jumps into a run other than at its
/// start keep it from being one. Where `either`, int arithmetic too is of
/// values of either kind (see [`body_operation`]).
pub fn words_in_body(
    uops: Vec<UopInst>,
    end: usize,
    const_word: &dyn Fn(u64) -> Option<(i64, bool)>,
    either: bool,
) -> Vec<UopInst> {
    let mut targeted = vec![false; uops.len() + 1];
    for t in uops.iter().filter_map(|u| u.jump) {
        targeted[t as usize] = true;
    }
    // Each run found: its first and past-last micro-ops, its steps and
    // its result's kind.
    let mut runs: Vec<(usize, usize, Vec<Step>, Kind)> = Vec::new();
    let mut i = 0;
    while i < end {
        let mut stack: Vec<(Kind, Option<usize>)> = Vec::new();
        let mut steps = Vec::new();
        let (mut ops, mut best, mut k) = (0, None, i);
        while k < end && (k == i || !targeted[k]) {
            let Some((taken, op)) =
                read_body_uop(&uops, k, const_word, either, &mut stack, &mut steps)
            else {
                break;
            };
            if k + taken > end || (k + 1..k + taken).any(|t| targeted[t]) {
                break;
            }
            k += taken;
            ops += usize::from(op);
            if let ([(top, _)], true) = (&stack[..], ops >= 2) {
                if *top != Kind::Local {
                    best = Some((k, steps.len(), *top));
                }
            }
        }
        match best {
            Some((past, len, result)) => {
                steps.truncate(len);
                runs.push((i, past, steps, result));
                i = past;
            }
            None => i += 1,
        }
    }
    if runs.is_empty() {
        return uops;
    }
    // Where each micro-op lands, for the jumps (into a run, only its
    // start).
    let mut landed = vec![0u32; uops.len() + 1];
    let mut out = Vec::with_capacity(uops.len());
    let mut next_run = runs.iter().peekable();
    let mut k = 0;
    while k < uops.len() {
        landed[k] = out.len() as u32;
        match next_run.peek() {
            Some(&&(start, past, ref steps, result)) if start == k => {
                let inst = uops[k].inst;
                emit_steps(steps, inst, &mut out);
                out.push(UopInst::at(result.boxed(), 0, 0, inst));
                next_run.next();
                k = past;
            }
            _ => {
                out.push(uops[k]);
                k += 1;
            }
        }
    }
    landed[uops.len()] = out.len() as u32;
    for u in &mut out {
        if let Some(t) = u.jump {
            u.jump = Some(landed[t as usize]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::tests::uop;
    use crate::uops::Inst;

    /// A program of `(opcode, oparg, micro-ops)` instructions, two code
    /// units apart, without fallbacks.
    fn program(insts: &[Spec], const_words: Vec<Option<(i64, bool)>>) -> Program {
        let mut p = Program {
            const_words,
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
            vec![None, Some((1, false)), Some((2, false))],
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
                _RAW_LOAD_CONST,
                _RAW_ADD,
                _RAW_MULTIPLY,
                _RAW_LOAD_CONST,
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
        assert_eq!(main[7].oparg, 1 | 2 << 8 | 1 << 24);
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
    fn float_expressions_and_true_division_give_float_words() {
        // `1.5 / (i + j) * x`: the float constant and the int sum are known,
        // so `/` takes them (its oparg says which is a float); `x` is read
        // as a float because the float `*` takes it.
        let p = program(
            &[
                (LOAD_CONST, 0, &[Uop::_LOAD_CONST_INLINE]),
                LOAD_I_J,
                ADD,
                (
                    BINARY_OP,
                    consts::NB_TRUE_DIVIDE as u32,
                    &[Uop::_BINARY_OP_ADAPTIVE_TRUE_DIVIDE],
                ),
                LOAD_K,
                (
                    BINARY_OP_MULTIPLY_FLOAT,
                    5,
                    &[Uop::_BINARY_OP_MULTIPLY_FLOAT],
                ),
                RETURN,
            ],
            vec![Some((1.5f64.to_bits() as i64, true))],
        );
        let p = compute_in_words(p);
        use Uop::*;
        assert_eq!(
            ops(&p, 0),
            [
                _RAW_LOAD_CONST,
                _RAW_LOAD_FAST,
                _RAW_LOAD_FAST,
                _RAW_ADD,
                _RAW_TRUE_DIVIDE,
                _RAW_LOAD_FAST_FLOAT,
                _RAW_MULTIPLY_FLOAT,
                _RAW_BOX_FLOAT,
                _JUMP
            ]
        );
        let main = p.uops_of(0);
        assert_eq!(main[0].operand, 1.5f64.to_bits());
        assert_eq!(main[4].oparg, 1 << 8 | 1 << 16);
    }

    const DIV: Spec = (BINARY_OP, consts::NB_TRUE_DIVIDE as u32, &[]);
    const POW: Spec = (BINARY_OP, consts::NB_POWER as u32, &[]);

    #[test]
    fn operands_of_true_division_and_exponents_are_read_as_doubles() {
        // `(i + j) / k * 2.5 ** j`: `/` takes local `k` and `**` its
        // exponent `j` with no kind the interpreter saw; both are read as
        // doubles (an int converted), and the operations' oparg bits say
        // their words hold doubles.
        use Uop::*;
        let p = program(
            &[
                LOAD_I_J,
                ADD,
                LOAD_K,
                DIV,
                (LOAD_CONST, 0, &[Uop::_LOAD_CONST_INLINE]),
                (LOAD_FAST, 1, &[Uop::_LOAD_FAST]),
                POW,
                (
                    BINARY_OP_MULTIPLY_FLOAT,
                    5,
                    &[Uop::_BINARY_OP_MULTIPLY_FLOAT],
                ),
                RETURN,
            ],
            vec![Some((2.5f64.to_bits() as i64, true))],
        );
        let p = compute_in_words(p);
        assert_eq!(
            ops(&p, 0),
            [
                _RAW_LOAD_FAST,
                _RAW_LOAD_FAST,
                _RAW_ADD,
                _RAW_LOAD_FAST_REAL,
                _RAW_TRUE_DIVIDE,
                _RAW_LOAD_CONST,
                _RAW_LOAD_FAST_REAL,
                _RAW_POWER_FLOAT,
                _RAW_MULTIPLY_FLOAT,
                _RAW_BOX_FLOAT,
                _JUMP
            ]
        );
        let main = p.uops_of(0);
        assert_eq!((main[3].oparg, main[3].operand), (2, 1));
        assert_eq!(main[4].oparg, 1 << 8 | 1 << 17);
        assert_eq!(main[7].oparg, 1 | 2 << 8 | 1 << 24 | 1 << 16 | 1 << 17);
        // A local base of `**` could be an int (`long_pow`): left to its
        // own code, and the expression ends before it.
        let q = program(
            &[LOAD_I_J, ADD, LOAD_K, TWO, POW, RETURN],
            vec![None, None, Some((2, false))],
        );
        assert!(compute_in_words(q)
            .uops
            .iter()
            .all(|u| u.op != _RAW_POWER_FLOAT));
    }

    #[test]
    fn a_load_the_expression_does_not_use_is_pushed_after_the_words() {
        // `dt * (x * x + y * y) % -1.5`: `dt` comes with `x`'s
        // `LOAD_FAST_LOAD_FAST`; the sum is the expression (`%`, of ints
        // only, ends it).
        const MUL_F: Spec = (
            BINARY_OP_MULTIPLY_FLOAT,
            5,
            &[Uop::_BINARY_OP_MULTIPLY_FLOAT],
        );
        const ADD_F: Spec = (BINARY_OP_ADD_FLOAT, 0, &[Uop::_BINARY_OP_ADD_FLOAT]);
        let p = program(
            &[
                (
                    LOAD_FAST_LOAD_FAST,
                    0x21,
                    &[Uop::_LOAD_FAST, Uop::_LOAD_FAST],
                ),
                (LOAD_FAST, 1, &[Uop::_LOAD_FAST]),
                MUL_F,
                (
                    LOAD_FAST_LOAD_FAST,
                    0x33,
                    &[Uop::_LOAD_FAST, Uop::_LOAD_FAST],
                ),
                MUL_F,
                ADD_F,
                (LOAD_CONST, 0, &[Uop::_LOAD_CONST_INLINE]),
                (
                    BINARY_OP,
                    consts::NB_REMAINDER as u32,
                    &[Uop::_BINARY_OP_ADAPTIVE_REMAINDER],
                ),
                MUL_F,
                RETURN,
            ],
            vec![Some(((-1.5f64).to_bits() as i64, true))],
        );
        let mut p = p;
        // With `**` of the float sum, the whole is the expression, `dt`
        // read first, and its float result goes into the local stored next.
        let q = compute_in_words(program(
            &[
                (
                    LOAD_FAST_LOAD_FAST,
                    0x21,
                    &[Uop::_LOAD_FAST, Uop::_LOAD_FAST],
                ),
                (LOAD_FAST, 1, &[Uop::_LOAD_FAST]),
                MUL_F,
                (LOAD_CONST, 0, &[Uop::_LOAD_CONST_INLINE]),
                (
                    BINARY_OP,
                    consts::NB_POWER as u32,
                    &[Uop::_BINARY_OP_ADAPTIVE_POWER],
                ),
                MUL_F,
                (STORE_FAST, 4, &[Uop::_STORE_FAST]),
                RETURN,
            ],
            vec![Some(((-1.5f64).to_bits() as i64, true))],
        ));
        assert_eq!(
            ops(&q, 0),
            [
                Uop::_RAW_LOAD_FAST_FLOAT,
                Uop::_RAW_LOAD_FAST_FLOAT,
                Uop::_RAW_LOAD_FAST_FLOAT,
                Uop::_RAW_MULTIPLY_FLOAT,
                Uop::_RAW_LOAD_CONST,
                Uop::_RAW_POWER_FLOAT,
                Uop::_RAW_MULTIPLY_FLOAT,
                Uop::_RAW_BOX_FLOAT_INTO_FAST,
                Uop::_JUMP
            ]
        );
        let main = q.uops_of(0);
        assert_eq!(main[5].oparg, 1 | 2 << 8 | 3 << 16 | 1 << 24);
        assert_eq!((main[7].oparg, main[7].jump), (0, Some(7)));
        assert_eq!(main[8].jump, Some(6));
        (p.uops[0].oparg, p.uops[1].oparg) = (2, 1);
        let q = compute_in_words(p.clone());
        use Uop::*;
        assert_eq!(
            ops(&q, 0),
            [
                _RAW_LOAD_FAST_FLOAT,
                _RAW_LOAD_FAST_FLOAT,
                _RAW_MULTIPLY_FLOAT,
                _RAW_LOAD_FAST_FLOAT,
                _RAW_LOAD_FAST_FLOAT,
                _RAW_MULTIPLY_FLOAT,
                _RAW_ADD_FLOAT,
                _LOAD_FAST,
                _RAW_BOX_FLOAT,
                _JUMP
            ]
        );
        assert_eq!(q.uops_of(0)[7].oparg, 2);
        assert_eq!(q.uops_of(0)[9].jump, Some(6));
        // Pushed without a reference of its own, `dt` is not passed through.
        p.uops[0].op = _LOAD_FAST_BORROW;
        let q = compute_in_words(p);
        assert_eq!(ops(&q, 0), [_LOAD_FAST_BORROW, _LOAD_FAST]);
    }

    #[test]
    fn a_float_list_item_updated_by_an_expression_is_updated_from_words() {
        // `v[1] -= x * y`: the index into word 0, the expression into word
        // 1, the update, then a jump past the store.
        use Uop::*;
        const COPY2: Spec = (COPY, 2, &[Uop::_COPY]);
        let statement = |store: u8| {
            program(
                &[
                    (LOAD_FAST, 2, &[_LOAD_FAST]),
                    ONE,
                    COPY2,
                    COPY2,
                    (BINARY_SUBSCR_LIST_INT, 0, &[_BINARY_SUBSCR_LIST_INT]),
                    LOAD_I_J,
                    (BINARY_OP_MULTIPLY_FLOAT, 5, &[_BINARY_OP_MULTIPLY_FLOAT]),
                    (BINARY_OP_SUBTRACT_FLOAT, 23, &[_BINARY_OP_SUBTRACT_FLOAT]),
                    (SWAP, 3, &[_SWAP]),
                    (SWAP, 2, &[_SWAP]),
                    (store, 0, &[_STORE_SUBSCR_LIST_INT]),
                    RETURN,
                ],
                vec![None, Some((1, false))],
            )
        };
        let p = compute_in_words(statement(STORE_SUBSCR_LIST_INT));
        assert_eq!(
            ops(&p, 0),
            [
                _RAW_LOAD_CONST,
                _RAW_LOAD_FAST_FLOAT,
                _RAW_LOAD_FAST_FLOAT,
                _RAW_MULTIPLY_FLOAT,
                _RAW_UPDATE_LIST_ITEM_FLOAT,
                _JUMP
            ]
        );
        let main = p.uops_of(0);
        assert_eq!((main[0].oparg, main[0].operand), (0, 1));
        assert_eq!(main[3].oparg, 1 | 2 << 8 | 3 << 16 | 1 << 24);
        assert_eq!(main[4].oparg, 2 | 1 << 16);
        assert_eq!(main[5].jump, Some(11));
        let fallback: Vec<Uop> = p.fallback_of(0).iter().map(|u| u.op).collect();
        assert_eq!(fallback, [_GENERIC, _LOAD_FAST, _JUMP]);
        // A store the interpreter did not see a list at is left alone.
        let q = compute_in_words(statement(STORE_SUBSCR));
        assert!(q.uops.iter().all(|u| u.op != _RAW_UPDATE_LIST_ITEM_FLOAT));
    }

    #[test]
    fn instance_attributes_of_locals_are_read_into_words() {
        // `self.x * 2.0 + self.y`: the first load fused with its checks,
        // the second left unchecked (`optimize::classes`), which takes the
        // first one's type version.
        use Uop::*;
        let mut p = program(
            &[
                (LOAD_FAST, 0, &[]),
                (
                    LOAD_ATTR_INSTANCE_VALUE,
                    0,
                    &[_LOAD_ATTR_INSTANCE_VALUE_LOCAL],
                ),
                (LOAD_CONST, 0, &[_LOAD_CONST_INLINE_BORROW]),
                (BINARY_OP_MULTIPLY_FLOAT, 5, &[_BINARY_OP_MULTIPLY_FLOAT]),
                (LOAD_FAST, 0, &[_LOAD_FAST_BORROW]),
                (
                    LOAD_ATTR_INSTANCE_VALUE,
                    2,
                    &[_LOAD_ATTR_INSTANCE_VALUE_BORROWED],
                ),
                (BINARY_OP_ADD_FLOAT, 0, &[_BINARY_OP_ADD_FLOAT]),
                RETURN,
            ],
            vec![Some((2.0f64.to_bits() as i64, true))],
        );
        p.uops[0].operand = 0x2004e;
        p.uops[4].operand = 1;
        let q = compute_in_words(p.clone());
        assert_eq!(
            ops(&q, 0),
            [
                _RAW_LOAD_ATTR_FLOAT,
                _RAW_LOAD_CONST,
                _RAW_MULTIPLY_FLOAT,
                _RAW_LOAD_ATTR_FLOAT,
                _RAW_ADD_FLOAT,
                _RAW_BOX_FLOAT,
                _JUMP
            ]
        );
        assert_eq!(q.uops_of(0)[0].operand, 0x2004e);
        assert_eq!(q.uops_of(0)[3].operand, 0x1_0002_004e);
        // A method load, or an unchecked load of a local no attribute of the
        // expression checked, ends the expression before it.
        p.uops[0].oparg = 1;
        let q = compute_in_words(p);
        assert!(q.uops.iter().all(|u| u.op != _RAW_LOAD_ATTR_FLOAT));
    }

    #[test]
    fn operators_without_word_forms_end_expressions() {
        // `&` has no word form: the expression before it and the one
        // after have one operator each: nothing.
        let and = (BINARY_OP, consts::NB_AND as u32, &[][..]);
        let p = program(
            &[LOAD_I_J, ADD, LOAD_K, and, LOAD_K, ADD_ANY, RETURN],
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

    #[test]
    fn unspecialized_arithmetic_keeps_each_values_kind_in_a_kind_word() {
        // `(i + j) * k - 2`, CPython's `+` unspecialized (ints and floats
        // mixed): its operands are read with their kinds, and the float
        // `*` and int `-` after it take a value of either kind, so they
        // compute as unspecialized ones; the result is boxed by its kind.
        use Uop::*;
        let add = (
            BINARY_OP,
            consts::NB_ADD as u32,
            &[_BINARY_OP_ADAPTIVE_ADD][..],
        );
        let p = program(
            &[
                LOAD_I_J,
                add,
                LOAD_K,
                (BINARY_OP_MULTIPLY_FLOAT, 5, &[_BINARY_OP_MULTIPLY_FLOAT]),
                TWO,
                (BINARY_OP_SUBTRACT_INT, 10, &[_BINARY_OP_SUBTRACT_INT]),
                RETURN,
            ],
            vec![None, Some((1, false)), Some((2, false))],
        );
        let p = compute_in_words(p);
        let main: Vec<(Uop, u32)> = p.uops_of(0).iter().map(|u| (u.op, u.oparg)).collect();
        let any = |left: bool, right: bool| u32::from(left) << 18 | u32::from(right) << 19;
        assert_eq!(
            main,
            [
                (_RAW_LOAD_FAST_ANY, 0),
                (_RAW_LOAD_FAST_ANY, 1),
                (_RAW_ADD_ANY, operands(0, 1, 0) | any(true, true)),
                (_RAW_LOAD_FAST_ANY, 2),
                (_RAW_MULTIPLY_ANY, operands(0, 1, 0) | any(true, true)),
                (_RAW_LOAD_CONST, 1),
                (_RAW_SUBTRACT_ANY, operands(0, 1, 0) | any(true, false)),
                (_RAW_BOX_ANY, 0),
                (_JUMP, 0),
            ]
        );
        // `//` and `%` take ints: one whose kind only the run knows leaves
        // there if it is a float.
        let floor = (BINARY_OP, consts::NB_FLOOR_DIVIDE as u32, &[][..]);
        let p = compute_in_words(program(
            &[LOAD_I_J, add, TWO, floor, RETURN],
            vec![None, Some((1, false)), Some((2, false))],
        ));
        let main: Vec<(Uop, u32)> = p.uops_of(0).iter().map(|u| (u.op, u.oparg)).collect();
        assert_eq!(
            main[4],
            (_RAW_FLOOR_DIVIDE, operands(0, 1, 0) | any(true, false))
        );
        assert_eq!(main[5], (_RAW_BOX_INT, 0));
        // `**` takes a float base, its exponent of a known kind: an
        // expression ends before it.
        let power = (BINARY_OP, consts::NB_POWER as u32, &[][..]);
        let p = compute_in_words(program(&[LOAD_I_J, add, LOAD_K, power, RETURN], vec![]));
        assert_eq!(ops(&p, 0), [_LOAD_FAST, _LOAD_FAST]);
    }

    fn at(op: Uop, oparg: u32, operand: u64, jump: Option<u32>) -> UopInst {
        UopInst {
            op,
            oparg,
            operand,
            inst: 7,
            jump,
        }
    }

    #[test]
    fn a_bodys_expressions_are_computed_in_words_up_to_its_first_store() {
        use Uop::*;
        // `(u + 1) // 1 * 2.5` (objects 0x10 and 0x20 the constants), a
        // jump over it, then `u - v` twice, the second past `end`.
        let consts = |object: u64| match object {
            0x10 => Some((1, false)),
            0x20 => Some((2.5f64.to_bits() as i64, true)),
            _ => None,
        };
        let body = vec![
            at(_POP_JUMP_IF_TRUE, 0, 0, Some(9)),
            at(_LOAD_FAST, 0, 0, None),
            at(_LOAD_CONST_INLINE_BORROW, 0, 0x10, None),
            at(_GUARD_BOTH_INT, 0, 0, None),
            at(_BINARY_OP_ADD_INT, 0, 0, None),
            at(_LOAD_CONST_INLINE_BORROW, 0, 0x10, None),
            at(_BINARY_OP_PURE_FLOOR_DIVIDE, 0, 0, None),
            at(_LOAD_CONST_INLINE, 0, 0x20, None),
            at(_BINARY_OP_PURE_MULTIPLY, 0, 0, None),
            at(_LOAD_FAST, 0, 0, None),
            at(_LOAD_FAST, 1, 0, None),
            at(_GUARD_BOTH_INT, 0, 0, None),
            at(_BINARY_OP_SUBTRACT_INT, 0, 0, None),
            at(_LOAD_CONST_INLINE_BORROW, 0, 0x10, None),
            at(_GUARD_BOTH_INT, 0, 0, None),
            at(_BINARY_OP_SUBTRACT_INT, 0, 0, None),
            at(_INLINE_RETURN, 1, 0, None),
        ];
        let out = words_in_body(body.clone(), 13, &consts, false);
        let ops: Vec<(Uop, u32, u64)> = out.iter().map(|u| (u.op, u.oparg, u.operand)).collect();
        // The first: `+` of ints, `//` of two ints and the unspecialized
        // `*` of that int and a float, a float; the jump lands past it, on
        // the second, which ends at the store.
        let float = 2.5f64.to_bits();
        assert_eq!(
            ops,
            [
                (_POP_JUMP_IF_TRUE, 0, 0),
                (_RAW_LOAD_FAST, 0, 0),
                (_RAW_LOAD_CONST, 1, 1),
                (_RAW_ADD, operands(0, 1, 0), 0),
                (_RAW_LOAD_CONST, 1, 1),
                (_RAW_FLOOR_DIVIDE, operands(0, 1, 0), 0),
                (_RAW_LOAD_CONST, 1, float),
                (_RAW_MULTIPLY_ANY, operands(0, 1, 0) | 1 << 17, 0),
                (_RAW_BOX_FLOAT, 0, 0),
                (_LOAD_FAST, 0, 0),
                (_LOAD_FAST, 1, 0),
                (_GUARD_BOTH_INT, 0, 0),
                (_BINARY_OP_SUBTRACT_INT, 0, 0),
                (_LOAD_CONST_INLINE_BORROW, 0, 0x10),
                (_GUARD_BOTH_INT, 0, 0),
                (_BINARY_OP_SUBTRACT_INT, 0, 0),
                (_INLINE_RETURN, 1, 0),
            ]
        );
        assert_eq!(out[0].jump, Some(9));
        assert!(out.iter().all(|u| u.inst == 7));
        // With no store, the second is computed too; a jump into its middle
        // keeps it as it is.
        let out = words_in_body(body.clone(), body.len(), &consts, false);
        assert_eq!(out[9].op, _RAW_LOAD_FAST);
        assert_eq!(out[14].op, _RAW_BOX_INT);
        // A call whose int words kept leaving: its ints of either kind.
        let out = words_in_body(body.clone(), body.len(), &consts, true);
        assert_eq!(out[1].op, _RAW_LOAD_FAST_ANY);
        assert_eq!(out[3].op, _RAW_ADD_ANY);
        let mut into = body;
        into[0].jump = Some(10);
        let out = words_in_body(into, 17, &consts, false);
        assert_eq!(out[0].jump, Some(10));
        assert_eq!(out[10].op, _LOAD_FAST);
        assert_eq!(out[11].op, _GUARD_BOTH_INT);
    }
}
