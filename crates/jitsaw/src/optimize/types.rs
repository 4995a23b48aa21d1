//! Type propagation: what the code's values can be, and the guards that
//! never fail.
//!
//! An abstract interpretation over the whole code object: each local and
//! each stack slot holds a set of exact types ([`Types`]), learned from
//! constants and burned-in globals, from results whose type the micro-op
//! fixes (`_BINARY_OP_ADD_INT` pushes an `int`, `_ITER_NEXT_RANGE` too) and
//! from guards that passed. Facts flow along fall-through, jumps and the
//! generic fallbacks (where a guard that can fail sends the instruction,
//! which then pushes what it pushes); they meet at instructions several
//! paths reach, and a loop is followed until its facts hold at the top.
//! Exception handlers and the points where a generator resumes start with
//! nothing known.
//!
//! A guard whose condition holds on every path is dropped, and an
//! instruction none of whose guards can fail loses its fallback: the
//! result's type then holds after it too, which is how an `int` loop
//! counter stays known around its loop.
//!
//! Python code run in between (a call, a finalizer) cannot change what is
//! on the stack, but it can change the frame's locals through
//! `frame.f_locals` (PEP 667), which needs the frame's frame object. Once
//! created, a frame object stays with its frame until the frame is done, so
//! a frame that has none has never had its locals written from outside.
//! A guard proven by a fact about a local that outlived such code becomes
//! `_CHECK_NO_FRAME_OBJECT` (one compare, leaving for the interpreter if
//! the frame has one); code whose frames keep having one is compiled again
//! without facts about locals across such code (`Program::local_facts`).

use super::rewrite_ranges;
use crate::uops::{Program, Uop, UopInst};
use jitsaw_cpython313::consts;
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// A set of exact types (bit flags); a value of any other type is `OTHER`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Types(pub u32);

impl Types {
    /// No value (an unbound local).
    pub const NULL: Types = Types(1 << 0);
    /// `int`, exactly.
    pub const INT: Types = Types(1 << 1);
    /// `float`, exactly.
    pub const FLOAT: Types = Types(1 << 2);
    /// `bool`.
    pub const BOOL: Types = Types(1 << 3);
    /// `None`.
    pub const NONE: Types = Types(1 << 4);
    /// `str`, exactly.
    pub const STR: Types = Types(1 << 5);
    /// `tuple`, exactly.
    pub const TUPLE: Types = Types(1 << 6);
    /// `list`, exactly.
    pub const LIST: Types = Types(1 << 7);
    /// `dict`, exactly.
    pub const DICT: Types = Types(1 << 8);
    /// `range`.
    pub const RANGE: Types = Types(1 << 9);
    /// `range_iterator`, exactly (a range within a C long).
    pub const RANGE_ITER: Types = Types(1 << 10);
    /// A `list` iterator.
    pub const LIST_ITER: Types = Types(1 << 11);
    /// A `tuple` iterator.
    pub const TUPLE_ITER: Types = Types(1 << 12);
    /// The class `range` itself.
    pub const CLASS_RANGE: Types = Types(1 << 13);
    /// The class `int` itself.
    pub const CLASS_INT: Types = Types(1 << 14);
    /// The class `float` itself.
    pub const CLASS_FLOAT: Types = Types(1 << 15);
    /// Anything else.
    pub const OTHER: Types = Types(1 << 16);
    /// `longrange_iterator` (a range beyond a C long), which
    /// `_ITER_CHECK_RANGE` tells from a `range_iterator`.
    pub const LONG_RANGE_ITER: Types = Types(1 << 17);
    /// Nothing known.
    pub const ANY: Types = Types((1 << 18) - 1);

    /// Every type of either set.
    pub fn union(self, other: Types) -> Types {
        Types(self.0 | other.0)
    }

    /// Whether every value of `self` is of a type in `of`.
    pub fn within(self, of: Types) -> bool {
        self.0 & !of.0 == 0
    }
}

/// No local, or no known object (in [`Val`]).
const NONE: u16 = u16::MAX;

/// What is known of one value (small: states are copied and met often).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Val {
    /// Its possible types.
    types: Types,
    /// For a stack value: the local it was loaded from, while the local
    /// still holds it (a guard on the value then tells about the local),
    /// or [`NONE`].
    local: u16,
    /// The known object it is (a `co_consts` item or burned-in global), as
    /// an index of `Program::known_objects`, or [`NONE`].
    konst: u16,
    /// The fact rests on a local that may have been written from outside
    /// since (see the module's comment).
    crossed: bool,
}

impl Val {
    const ANY: Val = Val::of(Types::ANY);

    const fn of(types: Types) -> Val {
        Val {
            types,
            local: NONE,
            konst: NONE,
            crossed: false,
        }
    }

    fn meet(self, other: Val) -> Val {
        Val {
            types: self.types.union(other.types),
            local: if self.local == other.local {
                self.local
            } else {
                NONE
            },
            konst: if self.konst == other.konst {
                self.konst
            } else {
                NONE
            },
            crossed: self.crossed || other.crossed,
        }
    }
}

/// What is known at one point of the code.
#[derive(Clone, Debug, PartialEq, Eq)]
struct State {
    locals: Vec<Val>,
    /// The stack, bottom first; below it (after paths with different
    /// depths met), values nothing is known of.
    stack: Vec<Val>,
    bottomless: bool,
    /// Every local whose fact is not crossed (and maybe others, and some
    /// twice): what Python code running marks crossed, without going
    /// through every local each time.
    fresh: Vec<u16>,
}

impl State {
    fn new(locals: Vec<Val>, bottomless: bool) -> State {
        let fresh = (0..locals.len() as u16).collect();
        State {
            locals,
            stack: Vec::new(),
            bottomless,
            fresh,
        }
    }

    fn unknown(nlocals: usize) -> State {
        State::new(vec![Val::ANY; nlocals], true)
    }

    /// Copies `other` into `self`, reusing `self`'s memory.
    fn copy_from(&mut self, other: &State) {
        self.locals.clone_from(&other.locals);
        self.stack.clone_from(&other.stack);
        self.bottomless = other.bottomless;
        self.fresh.clone_from(&other.fresh);
    }

    /// Meets `other` into `self`; whether `self` changed.
    fn meet(&mut self, other: &State) -> bool {
        let mut changed = false;
        for (a, b) in self.locals.iter_mut().zip(&other.locals) {
            let m = a.meet(*b);
            changed |= m != *a;
            *a = m;
        }
        let n = self.stack.len().min(other.stack.len());
        if n < self.stack.len() {
            self.stack.drain(..self.stack.len() - n);
            changed = true;
        }
        let b = &other.stack[other.stack.len() - n..];
        for (a, b) in self.stack.iter_mut().zip(b) {
            let m = a.meet(*b);
            changed |= m != *a;
            *a = m;
        }
        let bottomless = self.bottomless || other.bottomless || n != other.stack.len();
        changed |= bottomless != self.bottomless;
        self.bottomless = bottomless;
        if changed {
            self.fresh.clear();
            let fresh = (0u16..).zip(&self.locals).filter(|(_, v)| !v.crossed);
            self.fresh.extend(fresh.map(|(l, _)| l));
        }
        changed
    }

    fn pop(&mut self) -> Val {
        self.stack.pop().unwrap_or(Val::ANY)
    }

    fn push(&mut self, v: Val) {
        self.stack.push(v);
    }

    /// The value `n` slots from the top (1 is the top).
    fn peek(&self, n: usize) -> Val {
        self.stack
            .len()
            .checked_sub(n)
            .map_or(Val::ANY, |i| self.stack[i])
    }

    fn slot(&mut self, n: usize) -> Option<&mut Val> {
        let i = self.stack.len().checked_sub(n)?;
        self.stack.get_mut(i)
    }

    /// Narrows the value `n` slots from the top (and the local it is a
    /// copy of) to `types`, as a guard that passed does.
    fn narrow(&mut self, n: usize, types: Types) {
        let Some(v) = self.slot(n) else { return };
        v.types = Types(v.types.0 & types.0);
        // The guard looked at the value itself.
        v.crossed = false;
        let v = *v;
        if let Some(local) = self.locals.get_mut(v.local as usize) {
            local.types = v.types;
            local.crossed = false;
            self.fresh.push(v.local);
        }
    }

    /// Sets local `l`, which no stack value stands for any more; returns
    /// what it held.
    fn set_local(&mut self, l: u32, mut v: Val) -> Val {
        for s in &mut self.stack {
            if s.local as u32 == l {
                s.local = NONE;
            }
        }
        v.local = NONE;
        match self.locals.get_mut(l as usize) {
            Some(old) => {
                if !v.crossed {
                    self.fresh.push(l as u16);
                }
                std::mem::replace(old, v)
            }
            None => Val::ANY,
        }
    }

    /// Python code may run: stack values stop standing for locals, and
    /// facts about locals either die or rest on the frame having no frame
    /// object.
    fn escape(&mut self, local_facts: bool) {
        for v in &mut self.stack {
            v.local = NONE;
        }
        if local_facts {
            for l in self.fresh.drain(..) {
                self.locals[l as usize].crossed = true;
            }
        } else {
            self.locals.fill(Val::ANY);
        }
    }

    /// A frame-object check passed here: every fact holds outright.
    fn checked(&mut self) {
        for v in self.locals.iter_mut().chain(&mut self.stack) {
            v.crossed = false;
        }
        self.fresh.clear();
        self.fresh.extend(0..self.locals.len() as u16);
    }
}

/// What the pass knows of an object the code refers to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KnownObject {
    /// Its address.
    pub address: u64,
    /// Its type.
    pub types: Types,
    /// For a tuple, its items' types.
    pub items: Vec<Types>,
}

/// What iterating a `range` takes: either kind of its iterators.
const ANY_RANGE_ITER: Types = Types(Types::RANGE_ITER.0 | Types::LONG_RANGE_ITER.0);

/// Types freeing a value of which runs no Python code.
const FREED_QUIETLY: Types = Types(
    Types::NULL.0
        | Types::INT.0
        | Types::FLOAT.0
        | Types::BOOL.0
        | Types::NONE.0
        | Types::STR.0
        | Types::RANGE.0
        | Types::RANGE_ITER.0
        | Types::LONG_RANGE_ITER.0
        | Types::CLASS_RANGE.0
        | Types::CLASS_INT.0
        | Types::CLASS_FLOAT.0,
);

/// Whether freeing the value runs no Python code (by its types, when they
/// do not rest on the frame check).
fn freed_quietly(v: Val) -> bool {
    !v.crossed && v.types.within(FREED_QUIETLY)
}

/// Whether a generic micro-op [`specialized`] knows takes two inputs.
fn two_inputs(op: Uop) -> bool {
    !matches!(op, Uop::_TO_BOOL | Uop::_TO_BOOL_ADAPTIVE)
}

/// A micro-op that only checks types, and what it checks: the stack slots
/// (1 is the top) and the types each must have.
fn guard(op: Uop) -> Option<&'static [(usize, Types)]> {
    Some(match op {
        Uop::_GUARD_BOTH_INT => &[(1, Types::INT), (2, Types::INT)],
        Uop::_GUARD_NOS_INT => &[(2, Types::INT)],
        Uop::_GUARD_TOS_INT => &[(1, Types::INT)],
        Uop::_GUARD_BOTH_FLOAT => &[(1, Types::FLOAT), (2, Types::FLOAT)],
        Uop::_GUARD_NOS_FLOAT => &[(2, Types::FLOAT)],
        Uop::_GUARD_TOS_FLOAT => &[(1, Types::FLOAT)],
        Uop::_GUARD_BOTH_UNICODE => &[(1, Types::STR), (2, Types::STR)],
        Uop::_ITER_CHECK_RANGE => &[(1, Types::RANGE_ITER)],
        Uop::_ITER_CHECK_LIST => &[(1, Types::LIST_ITER)],
        Uop::_ITER_CHECK_TUPLE => &[(1, Types::TUPLE_ITER)],
        Uop::_TO_BOOL_BOOL => &[(1, Types::BOOL)],
        _ => return None,
    })
}

/// What calling a callable of these types makes, when each is one of the
/// classes whose calls make exact instances (`range(n)`, `int(x)`,
/// `float(x)`).
fn made_by(callable: Types) -> Option<Types> {
    let classes = [
        (Types::CLASS_RANGE, Types::RANGE),
        (Types::CLASS_INT, Types::INT),
        (Types::CLASS_FLOAT, Types::FLOAT),
    ];
    let mut made = Types(0);
    let mut left = callable;
    for (class, instance) in classes {
        if callable.0 & class.0 != 0 {
            made = made.union(instance);
            left = Types(left.0 & !class.0);
        }
    }
    (left == Types(0) && made != Types(0)).then_some(made)
}

/// The specialized form of a generic micro-op for the types its inputs
/// are known to have (`_NOP` when it has nothing to do), as the
/// interpreter would specialize it but without the guards.
fn specialized(u: &UopInst, s: &State) -> Option<Uop> {
    let (nos, tos) = (s.peek(2).types, s.peek(1).types);
    let both = |t: Types| nos.within(t) && tos.within(t);
    let (int, float, str) = (both(Types::INT), both(Types::FLOAT), both(Types::STR));
    Some(match u.op {
        Uop::_BINARY_OP_ADAPTIVE_ADD if int => Uop::_BINARY_OP_ADD_INT,
        Uop::_BINARY_OP_ADAPTIVE_ADD if float => Uop::_BINARY_OP_ADD_FLOAT,
        Uop::_BINARY_OP_ADAPTIVE_ADD if str => Uop::_BINARY_OP_ADD_UNICODE,
        Uop::_BINARY_OP_ADAPTIVE_SUBTRACT if int => Uop::_BINARY_OP_SUBTRACT_INT,
        Uop::_BINARY_OP_ADAPTIVE_SUBTRACT if float => Uop::_BINARY_OP_SUBTRACT_FLOAT,
        Uop::_BINARY_OP_ADAPTIVE_MULTIPLY if int => Uop::_BINARY_OP_MULTIPLY_INT,
        Uop::_BINARY_OP_ADAPTIVE_MULTIPLY if float => Uop::_BINARY_OP_MULTIPLY_FLOAT,
        Uop::_COMPARE_OP_ADAPTIVE if float => Uop::_COMPARE_OP_FLOAT,
        // Strings compare this way only for `==` and `!=`.
        Uop::_COMPARE_OP_ADAPTIVE
            if str && matches!((u.oparg >> 5) as i64, consts::PY_EQ | consts::PY_NE) =>
        {
            Uop::_COMPARE_OP_STR
        }
        Uop::_TO_BOOL | Uop::_TO_BOOL_ADAPTIVE if tos.within(Types::BOOL) => Uop::_NOP,
        Uop::_TO_BOOL | Uop::_TO_BOOL_ADAPTIVE if tos.within(Types::INT) => Uop::_TO_BOOL_INT,
        Uop::_TO_BOOL | Uop::_TO_BOOL_ADAPTIVE if tos.within(Types::NONE) => Uop::_TO_BOOL_NONE,
        Uop::_TO_BOOL | Uop::_TO_BOOL_ADAPTIVE if tos.within(Types::STR) => Uop::_TO_BOOL_STR,
        Uop::_TO_BOOL | Uop::_TO_BOOL_ADAPTIVE if tos.within(Types::LIST) => Uop::_TO_BOOL_LIST,
        _ => return None,
    })
}

/// What to make of a `_STORE_FAST` into a local whose value is `old`: the
/// form that frees an old int or float inline, when the local holds one
/// (or nothing) by a fact that does not rest on the frame check (a frame
/// object's `f_locals` could have stored anything since; that case keeps
/// the general store rather than adding a check to every store).
fn store_of(old: Option<&Val>) -> Verdict {
    match old {
        Some(v) if !v.crossed && v.types.within(Types(Types::INT.0 | Types::NULL.0)) => {
            Verdict::Specialize(Uop::_STORE_FAST_INT, false)
        }
        Some(v) if !v.crossed && v.types.within(Types(Types::FLOAT.0 | Types::NULL.0)) => {
            Verdict::Specialize(Uop::_STORE_FAST_FLOAT, false)
        }
        _ => Verdict::Keep,
    }
}

/// The analysis: the program, and its known objects by address.
struct Analysis<'a> {
    program: &'a Program,
    /// (address, index in `program.known_objects`), sorted.
    known: Vec<(u64, u16)>,
}

/// What walking one micro-op found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// Nothing to change.
    Keep,
    /// A guard that holds: dropped.
    Drop,
    /// A guard that holds if the frame has no frame object.
    Check,
    /// A generic micro-op whose inputs' types are known: its specialized
    /// form for them (same meaning, no type tests, no Python code), after
    /// the frame check if the types rest on it.
    Specialize(Uop, bool),
}

impl Verdict {
    /// What to make of a check that holds: nothing, or the frame check if
    /// what it holds by rests on it.
    fn proven(crossed: bool) -> Verdict {
        if crossed {
            Verdict::Check
        } else {
            Verdict::Drop
        }
    }
}

impl Analysis<'_> {
    /// Whether `u`'s exit may be taken in state `s`, and what to make of
    /// `u` if it is a guard that cannot fail.
    fn verdict(&self, u: &UopInst, s: &State) -> (bool, Verdict) {
        let info = info(u.op);
        if !info.interesting {
            return (info.has_exit, Verdict::Keep);
        }
        if u.op == Uop::_STORE_FAST {
            return (false, store_of(s.locals.get(u.oparg as usize)));
        }
        if let Some(op) = specialized(u, s) {
            // Its inputs' types may rest on the frame check.
            let crossed =
                s.peek(1).crossed || (op != Uop::_NOP && s.peek(2).crossed && two_inputs(u.op));
            if op == Uop::_NOP {
                return (false, Verdict::proven(crossed));
            }
            let (exits, _) = self.verdict(&UopInst { op, ..*u }, s);
            return (exits, Verdict::Specialize(op, crossed));
        }
        let has_exit = info.has_exit;
        if let Some(checks) = guard(u.op) {
            let holds = checks.iter().all(|&(n, t)| s.peek(n).types.within(t));
            if holds {
                let crossed = checks.iter().any(|&(n, _)| s.peek(n).crossed);
                return (false, Verdict::proven(crossed));
            }
            return (has_exit, Verdict::Keep);
        }
        let tos = s.peek(1).types;
        let cannot_fail = match u.op {
            Uop::_TO_BOOL_INT => tos.within(Types::INT),
            Uop::_TO_BOOL_NONE => tos.within(Types::NONE),
            Uop::_TO_BOOL_STR => tos.within(Types::STR),
            Uop::_TO_BOOL_LIST => tos.within(Types::LIST),
            Uop::_UNPACK_SEQUENCE_TWO_TUPLE | Uop::_UNPACK_SEQUENCE_TUPLE => self
                .tuple_items(s.peek(1))
                .is_some_and(|i| i.len() == u.oparg as usize),
            Uop::_CALL_BUILTIN_CLASS => made_by(s.peek(u.oparg as usize + 2).types).is_some(),
            _ => false,
        };
        (has_exit && !cannot_fail, Verdict::Keep)
    }

    fn tuple_items(&self, v: Val) -> Option<&[Types]> {
        let k = self.program.known_objects.get(v.konst as usize)?;
        (k.types == Types::TUPLE).then_some(&k.items[..])
    }

    fn konst(&self, address: u64) -> Val {
        match self.known.binary_search_by_key(&address, |k| k.0) {
            Ok(at) => {
                let index = self.known[at].1;
                Val {
                    konst: index,
                    ..Val::of(self.program.known_objects[index as usize].types)
                }
            }
            Err(_) => Val::ANY,
        }
    }

    /// Steps `s` over `u`, whose verdict is `verdict`; returns the state
    /// a jump of `u` leaves with.
    fn step(&self, u: &UopInst, verdict: Verdict, s: &mut State) -> Jump {
        let local_facts = self.program.local_facts;
        match verdict {
            Verdict::Check => s.checked(),
            Verdict::Specialize(op, check) => {
                if check {
                    s.checked();
                }
                return self.step(&UopInst { op, ..*u }, Verdict::Keep, s);
            }
            _ => {}
        }
        let o = u.oparg as usize;
        match u.op {
            Uop::_LOAD_FAST | Uop::_LOAD_FAST_CHECK => {
                let mut v = s.locals.get(o).copied().unwrap_or(Val::ANY);
                v.local = if o < s.locals.len() { o as u16 } else { NONE };
                if u.op == Uop::_LOAD_FAST_CHECK {
                    v.types = Types(v.types.0 & !Types::NULL.0);
                }
                s.push(v);
                return Jump::None;
            }
            Uop::_LOAD_FAST_AND_CLEAR => {
                let v = s.set_local(u.oparg, Val::of(Types::NULL));
                s.push(v);
                return Jump::None;
            }
            Uop::_STORE_FAST
            | Uop::_STORE_FAST_INT
            | Uop::_STORE_FAST_FLOAT
            | Uop::_DELETE_FAST => {
                let new = if u.op != Uop::_DELETE_FAST {
                    s.pop()
                } else {
                    Val::of(Types::NULL)
                };
                // The old value is freed after the new one is in place,
                // and freeing it may run a finalizer.
                let old = s.set_local(u.oparg, new);
                if !freed_quietly(old) {
                    s.escape(local_facts);
                }
                return Jump::None;
            }
            Uop::_MAKE_CELL => {
                s.set_local(u.oparg, Val::of(Types::OTHER));
                return Jump::None;
            }
            Uop::_COPY_FREE_VARS => {
                for l in 0..s.locals.len() as u32 {
                    s.set_local(l, Val::ANY);
                }
                return Jump::None;
            }
            Uop::_COPY => {
                let v = s.peek(o);
                s.push(v);
                return Jump::None;
            }
            Uop::_SWAP => {
                let len = s.stack.len();
                if o <= len {
                    s.stack.swap(len - 1, len - o);
                } else if let Some(top) = s.stack.last_mut() {
                    // From below what is known.
                    *top = Val::ANY;
                }
                return Jump::None;
            }
            Uop::_LOAD_CONST_INLINE | Uop::_LOAD_CONST_INLINE_BORROW => {
                s.push(self.konst(u.operand));
                return Jump::None;
            }
            Uop::_LOAD_CONST_INLINE_WITH_NULL | Uop::_LOAD_CONST_INLINE_BORROW_WITH_NULL => {
                s.push(self.konst(u.operand));
                s.push(Val::of(Types::NULL));
                return Jump::None;
            }
            _ => {}
        }
        if let Some(checks) = guard(u.op) {
            for &(n, t) in checks {
                s.narrow(n, t);
            }
            return Jump::None;
        }
        let (pops, pushes) = u.op.effect(u.oparg);
        let (pops, pushes) = (pops as usize, pushes as usize);
        let tos = s.peek(1).types;
        // Getting an iterator of these, or the next item of a range's,
        // runs no Python code and frees nothing; otherwise inputs freed may
        // run finalizers.
        let quiet_iter = !s.peek(1).crossed
            && match u.op {
                Uop::_GET_ITER => {
                    tos.within(Types(Types::RANGE.0 | Types::LIST.0 | Types::TUPLE.0))
                }
                Uop::_FOR_ITER => tos.within(ANY_RANGE_ITER),
                _ => false,
            };
        let runs_code = !quiet_iter
            && (info(u.op).runs_python || (1..=pops).any(|n| !freed_quietly(s.peek(n))));
        let mut jumped = None;
        if let (Some(n), Some(_)) = (u.op.jump_pops(), u.jump) {
            let mut j = s.clone();
            for _ in 0..n {
                j.pop();
            }
            if runs_code {
                j.escape(local_facts);
            }
            jumped = Some(j);
        }
        let (pushed, crossed) = match self.results(u, s) {
            Some((pushed, crossed)) => (Some(pushed), crossed),
            None => (None, false),
        };
        let typed = |t: Types| Val {
            crossed,
            ..Val::of(t)
        };
        let kept = if leaves_inputs(u.op) { pops } else { 0 };
        let below = s.stack.len().saturating_sub(pops - kept);
        s.stack.truncate(below);
        let fresh = pushes - kept.min(pushes);
        match pushed {
            Some(Pushed::One(t)) if fresh == 1 => s.push(typed(t)),
            Some(Pushed::Items(items)) if items.len() == fresh => {
                // The first item ends on top.
                s.stack.extend(items.iter().rev().map(|&t| typed(t)))
            }
            _ => (0..fresh).for_each(|_| s.push(Val::ANY)),
        }
        if runs_code {
            s.escape(local_facts);
        }
        match (jumped, u.jump) {
            (Some(j), _) => Jump::Own(j),
            (None, Some(_)) => Jump::AsAfter,
            (None, None) => Jump::None,
        }
    }

    /// The types of the values a micro-op pushes (above the inputs it
    /// leaves in place), when the micro-op fixes them, and whether they
    /// inherit the doubt of the input that typed them.
    fn results(&self, u: &UopInst, s: &State) -> Option<(Pushed<'_>, bool)> {
        let tos = s.peek(1);
        let o = u.oparg as usize;
        let typed_by = |input: Val, t: Types| Some((Pushed::One(t), input.crossed));
        Some((
            Pushed::One(match u.op {
                Uop::_BINARY_OP_ADD_INT
                | Uop::_BINARY_OP_SUBTRACT_INT
                | Uop::_BINARY_OP_MULTIPLY_INT
                | Uop::_ITER_NEXT_RANGE
                | Uop::_CALL_LEN => Types::INT,
                Uop::_BINARY_OP_ADD_FLOAT
                | Uop::_BINARY_OP_SUBTRACT_FLOAT
                | Uop::_BINARY_OP_MULTIPLY_FLOAT => Types::FLOAT,
                Uop::_BINARY_OP_ADD_UNICODE => Types::STR,
                Uop::_COMPARE_OP_INT
                | Uop::_COMPARE_OP_FLOAT
                | Uop::_COMPARE_OP_STR
                | Uop::_IS_OP
                | Uop::_CONTAINS_OP
                | Uop::_CONTAINS_OP_SET
                | Uop::_CONTAINS_OP_DICT
                | Uop::_UNARY_NOT
                | Uop::_TO_BOOL
                | Uop::_TO_BOOL_ADAPTIVE
                | Uop::_TO_BOOL_INT
                | Uop::_TO_BOOL_NONE
                | Uop::_TO_BOOL_STR
                | Uop::_TO_BOOL_LIST
                | Uop::_REPLACE_WITH_TRUE => Types::BOOL,
                // With the to-bool bit (16), the comparison's result is a `bool`.
                Uop::_COMPARE_OP | Uop::_COMPARE_OP_ADAPTIVE if u.oparg & 16 != 0 => Types::BOOL,
                Uop::_BUILD_LIST => Types::LIST,
                Uop::_BUILD_TUPLE => Types::TUPLE,
                Uop::_BUILD_MAP | Uop::_BUILD_CONST_KEY_MAP => Types::DICT,
                // Which iterator depends on the range's bounds.
                Uop::_GET_ITER if tos.types.within(Types::RANGE) => {
                    return typed_by(tos, ANY_RANGE_ITER)
                }
                // Either iterator of a range yields exact ints (the generic
                // form runs when `_ITER_CHECK_RANGE` meets a long range).
                Uop::_FOR_ITER if tos.types.within(ANY_RANGE_ITER) => Types::INT,
                Uop::_GET_ITER if tos.types.within(Types::LIST) => {
                    return typed_by(tos, Types::LIST_ITER)
                }
                Uop::_GET_ITER if tos.types.within(Types::TUPLE) => {
                    return typed_by(tos, Types::TUPLE_ITER)
                }
                Uop::_CALL_BUILTIN_CLASS => {
                    let callable = s.peek(o + 2);
                    return typed_by(callable, made_by(callable.types)?);
                }
                Uop::_UNPACK_SEQUENCE_TWO_TUPLE | Uop::_UNPACK_SEQUENCE_TUPLE => {
                    let items = self.tuple_items(tos).filter(|i| i.len() == o)?;
                    return Some((Pushed::Items(items), tos.crossed));
                }
                _ => return None,
            }),
            false,
        ))
    }
}

/// The state a micro-op's jump leaves with.
enum Jump {
    /// It does not jump.
    None,
    /// The state after it.
    AsAfter,
    /// Its own (an exhausted iterator popped).
    Own(State),
}

/// What a micro-op is known to push.
enum Pushed<'a> {
    /// One value of these types.
    One(Types),
    /// A tuple's items, the first on top.
    Items(&'a [Types]),
}

/// What the analysis asks of every micro-op, worked out once.
struct OpInfo {
    /// It has an exit that is a guard's (its instruction's fallback or a
    /// deopt), not a way to the interpreter by design.
    has_exit: bool,
    runs_python: bool,
    continues: bool,
    /// See [`interesting`].
    interesting: bool,
}

fn info(op: Uop) -> &'static OpInfo {
    static INFO: OnceLock<Vec<OpInfo>> = OnceLock::new();
    &INFO.get_or_init(|| {
        Uop::ALL
            .iter()
            .map(|&op| OpInfo {
                has_exit: op.guard_exits(),
                runs_python: runs_python(op),
                continues: op.continues(),
                interesting: interesting(op),
            })
            .collect()
    })[op as usize]
}

/// Micro-ops the pass may change, or whose exits it may prove dead.
fn interesting(op: Uop) -> bool {
    guard(op).is_some()
        || matches!(
            op,
            Uop::_BINARY_OP_ADAPTIVE_ADD
                | Uop::_BINARY_OP_ADAPTIVE_SUBTRACT
                | Uop::_BINARY_OP_ADAPTIVE_MULTIPLY
                | Uop::_COMPARE_OP_ADAPTIVE
                | Uop::_TO_BOOL
                | Uop::_TO_BOOL_ADAPTIVE
                | Uop::_TO_BOOL_INT
                | Uop::_TO_BOOL_NONE
                | Uop::_TO_BOOL_STR
                | Uop::_TO_BOOL_LIST
                | Uop::_UNPACK_SEQUENCE_TWO_TUPLE
                | Uop::_UNPACK_SEQUENCE_TUPLE
                | Uop::_CALL_BUILTIN_CLASS
                | Uop::_STORE_FAST
        )
}

/// Whether a micro-op may run Python code: CPython's escaping ones, and
/// the eval-breaker checks, which run signal handlers and the collector.
fn runs_python(op: Uop) -> bool {
    op.escapes()
        || matches!(
            op,
            Uop::_CHECK_EVAL_BREAKER | Uop::_CHECK_PERIODIC | Uop::_YIELD_VALUE
        )
}

/// Micro-ops that leave their inputs where they were (checks, and
/// iterators that stay below the value they push).
fn leaves_inputs(op: Uop) -> bool {
    matches!(
        op,
        Uop::_FOR_ITER
            | Uop::_FOR_ITER_GEN_RETURNED
            | Uop::_ITER_JUMP_LIST
            | Uop::_ITER_JUMP_TUPLE
            | Uop::_ITER_JUMP_RANGE
            | Uop::_ITER_NEXT_LIST
            | Uop::_ITER_NEXT_TUPLE
            | Uop::_ITER_NEXT_RANGE
            | Uop::_GUARD_TYPE_VERSION
            | Uop::_CHECK_MANAGED_OBJECT_HAS_VALUES
            | Uop::_CHECK_ATTR_MODULE
            | Uop::_CHECK_ATTR_WITH_HINT
            | Uop::_CHECK_ATTR_CLASS
            | Uop::_CHECK_ATTR_METHOD_LAZY_DICT
            | Uop::_GUARD_DORV_VALUES_INST_ATTR_FROM_DICT
            | Uop::_GUARD_DORV_NO_DICT
            | Uop::_GUARD_KEYS_VERSION
            | Uop::_CHECK_IS_NOT_PY_CALLABLE
    )
}

/// Most instructions of code the pass looks at (bigger code is mostly
/// module bodies, run once).
const MAX_INSTRUCTIONS: usize = 4000;

/// Drops the guards that cannot fail, and the fallbacks nothing reaches.
///
/// Only in code with a loop: there a guard runs at every iteration, and
/// facts carried around the loop remove the most; elsewhere the analysis
/// (a few hundred instructions per bytecode instruction) costs more than
/// the few guards it would remove save, in code most of which runs a
/// handful of times.
pub fn remove_guards(program: Program) -> Program {
    let n = program.insts.len();
    let main_end = program.main_len();
    let main = &program.uops[..main_end];
    if !program.propagate_types
        || n == 0
        || n > MAX_INSTRUCTIONS
        || !main.iter().any(|u| u.jump.is_some_and(|t| t <= u.inst))
        // Stores alone are not worth the analysis.
        || !main.iter().any(|u| interesting(u.op) && u.op != Uop::_STORE_FAST)
    {
        return program;
    }
    let mut known: Vec<(u64, u16)> = (program.known_objects.iter().zip(0..NONE))
        .map(|(k, i)| (k.address, i))
        .collect();
    known.sort_unstable();
    let a = Analysis {
        program: &program,
        known,
    };
    let nlocals = program.stack_base as usize;
    // States are kept where paths begin or meet: at the first instruction,
    // jump targets (a fallback's return is one), handlers and resume
    // points (node 2i), and at fallbacks (node 2i + 1). Straight runs of
    // instructions in between are walked without keeping any.
    let leader = program.entered();
    let mut starts: Vec<(usize, State)> = Vec::new();
    let unknown = State::unknown(nlocals);
    for &(i, _) in &program.handlers {
        starts.push((2 * i as usize, unknown.clone()));
    }
    for (i, w) in program.insts.windows(2).enumerate() {
        if crate::frontend::resumes_after(w[0].opcode) {
            starts.push((2 * (i + 1), unknown.clone()));
        }
    }
    let entry = State::new(
        (0..nlocals)
            .map(|l| {
                if l < program.args as usize {
                    Val::ANY
                } else {
                    Val::of(Types::NULL)
                }
            })
            .collect(),
        false,
    );
    starts.push((0, entry));
    let mut at: Vec<Option<State>> = vec![None; 2 * n];
    let mut work: BTreeSet<usize> = BTreeSet::new();
    let reach =
        |at: &mut Vec<Option<State>>, work: &mut BTreeSet<usize>, node: usize, s: &State| {
            if node >= 2 * n {
                return;
            }
            let changed = match &mut at[node] {
                None => {
                    at[node] = Some(s.clone());
                    true
                }
                Some(old) => old.meet(s),
            };
            if changed {
                work.insert(node);
            }
        };
    for (node, s) in &starts {
        reach(&mut at, &mut work, *node, s);
    }
    // Walks instruction `i`'s main path (or its fallback) from `s`, telling
    // `edge` where control goes and `seen` each micro-op's verdict; whether
    // control falls through to the next instruction.
    let walk = |i: usize,
                fallback: bool,
                s: &mut State,
                edge: &mut dyn FnMut(usize, &State),
                seen: &mut dyn FnMut(Verdict)|
     -> bool {
        let uops = if fallback {
            program.fallback_of(i)
        } else {
            program.uops_of(i)
        };
        // Guards fail before their instruction changed the stack (as the
        // code generator's exits to the fallback assume): the fallback
        // starts from what is known there.
        let to_fallback = !fallback && !program.fallback_of(i).is_empty();
        for u in uops {
            let (exits, verdict) = a.verdict(u, s);
            seen(verdict);
            if exits && to_fallback {
                edge(2 * i + 1, s);
            }
            let to = 2 * u.jump.unwrap_or(0) as usize;
            match a.step(u, verdict, s) {
                Jump::None => {}
                Jump::AsAfter => edge(to, s),
                Jump::Own(j) => edge(to, &j),
            }
            if !info(u.op).continues {
                return false;
            }
        }
        true
    };
    let mut s = State::unknown(0);
    while let Some(node) = work.pop_first() {
        let Some(from) = &at[node] else {
            continue;
        };
        s.copy_from(from);
        let (mut i, fallback) = (node / 2, node % 2 == 1);
        let mut edge = |to: usize, st: &State| reach(&mut at, &mut work, to, st);
        let mut falls = walk(i, fallback, &mut s, &mut edge, &mut |_| {});
        // On along the straight run.
        while falls && i + 1 < n && !leader[i + 1] {
            i += 1;
            falls = walk(i, false, &mut s, &mut edge, &mut |_| {});
        }
        if falls {
            edge(2 * (i + 1), &s);
        }
    }
    // The verdicts under the final states (by micro-op, main paths
    // only), and which fallbacks stay.
    let mut live_fallback = vec![false; n];
    let mut verdicts: Vec<Verdict> = Vec::with_capacity(main_end);
    let mut i = 0;
    while i < n {
        let Some(mut s) = at[2 * i].take() else {
            live_fallback[i] = true;
            verdicts.resize(
                verdicts.len() + program.insts[i].count as usize,
                Verdict::Keep,
            );
            i += 1;
            continue;
        };
        loop {
            let mut exits_to_fallback = false;
            let mut edge = |to: usize, _: &State| exits_to_fallback |= to == 2 * i + 1;
            let before = verdicts.len() + program.insts[i].count as usize;
            let falls = walk(i, false, &mut s, &mut edge, &mut |v| verdicts.push(v));
            // Past a micro-op that ends the flow, nothing is changed.
            verdicts.resize(before, Verdict::Keep);
            live_fallback[i] = exits_to_fallback;
            i += 1;
            if !falls || i >= n || leader[i] {
                break;
            }
        }
    }
    drop(a);
    let program_first: Vec<u32> = program.insts.iter().map(|i| i.first).collect();
    rewrite_ranges(program, |i, fallback, uops, out| {
        if fallback {
            if live_fallback[i] {
                out.extend_from_slice(uops);
            }
            return;
        }
        let first = program_first[i] as usize;
        let verdicts = &verdicts[first..first + uops.len()];
        // An instruction that escaped before its specialization checks
        // for instrumentation at its end (a validity check belonging to the
        // next instruction); specialized, it runs no Python code and need
        // not.
        let escaped = uops.iter().zip(verdicts).any(|(u, v)| match v {
            Verdict::Specialize(op, _) => info(*op).runs_python,
            Verdict::Drop => false,
            _ => info(u.op).runs_python,
        });
        let specialized = verdicts
            .iter()
            .any(|v| matches!(v, Verdict::Specialize(..)));
        for (u, verdict) in uops.iter().zip(verdicts) {
            let check_at_end =
                matches!(u.op, Uop::_CHECK_VALIDITY | Uop::_CHECK_VALIDITY_MONITORED)
                    && u.inst as usize == i + 1;
            if check_at_end && specialized && !escaped {
                continue;
            }
            match *verdict {
                Verdict::Keep => out.push(*u),
                Verdict::Drop => {}
                Verdict::Specialize(op, check) => {
                    if check {
                        out.push(frame_check(u));
                    }
                    out.push(UopInst { op, ..*u });
                }
                Verdict::Check => out.push(frame_check(u)),
            }
        }
    })
}

/// The frame check, in place of (or before) `u`.
fn frame_check(u: &UopInst) -> UopInst {
    UopInst {
        op: Uop::_CHECK_NO_FRAME_OBJECT,
        oparg: 0,
        operand: 0,
        inst: u.inst,
        jump: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uops::Inst;

    const ONE: u64 = 0x1000;
    const PAIR: u64 = 0x2000;
    const RANGE: u64 = 0x3000;

    /// One instruction: its micro-ops (op, oparg, jump) and its fallback's.
    type Spec = (Vec<(Uop, u32, Option<u32>)>, Vec<(Uop, u32, Option<u32>)>);

    /// A program of `insts`, with two locals (an argument, then one unbound
    /// at the start) and the known objects `1`, `(1, 1.5)` and `range`,
    /// ending in a loop nothing reaches (the pass only looks at code with
    /// a loop).
    fn program(mut insts: Vec<Spec>, local_facts: bool) -> Program {
        let end = insts.len() as u32;
        insts.push((vec![(Uop::_JUMP, 0, Some(end))], vec![]));
        looped(insts, local_facts)
    }

    /// [`program`] without the loop added.
    fn looped(insts: Vec<Spec>, local_facts: bool) -> Program {
        let mut p = Program {
            stack_base: 2,
            args: 1,
            propagate_types: true,
            local_facts,
            known_objects: vec![
                KnownObject {
                    address: ONE,
                    types: Types::INT,
                    items: vec![],
                },
                KnownObject {
                    address: PAIR,
                    types: Types::TUPLE,
                    items: vec![Types::INT, Types::FLOAT],
                },
                KnownObject {
                    address: RANGE,
                    types: Types::CLASS_RANGE,
                    items: vec![],
                },
            ],
            ..Program::default()
        };
        let uop = |i: usize, &(op, oparg, jump): &(Uop, u32, Option<u32>)| UopInst {
            op,
            oparg,
            operand: match op {
                Uop::_LOAD_CONST_INLINE_BORROW => ONE,
                Uop::_LOAD_CONST_INLINE => PAIR,
                Uop::_LOAD_CONST_INLINE_BORROW_WITH_NULL => RANGE,
                _ => 0,
            },
            inst: i as u32,
            jump,
        };
        for (i, (main, _)) in insts.iter().enumerate() {
            p.insts.push(Inst {
                start: i as u32,
                offset: i as u32,
                opcode: 0,
                oparg: 0,
                first: p.uops.len() as u32,
                count: main.len() as u32,
                fallback: 0,
                fallback_count: 0,
            });
            p.uops.extend(main.iter().map(|u| uop(i, u)));
        }
        for (i, (_, fallback)) in insts.iter().enumerate() {
            p.insts[i].fallback = p.uops.len() as u32;
            p.insts[i].fallback_count = fallback.len() as u32;
            p.uops.extend(fallback.iter().map(|u| uop(i, u)));
        }
        p
    }

    fn ops(p: &Program, i: usize) -> Vec<Uop> {
        p.uops_of(i).iter().map(|u| u.op).collect()
    }

    /// `x + 1` on local 0 (the argument) as a specialized add: guard, add,
    /// and the generic add to fall back to.
    fn add_one() -> [Spec; 3] {
        [
            (vec![(Uop::_LOAD_FAST, 0, None)], vec![]),
            (vec![(Uop::_LOAD_CONST_INLINE_BORROW, 0, None)], vec![]),
            (
                vec![
                    (Uop::_GUARD_BOTH_INT, 0, None),
                    (Uop::_BINARY_OP_ADD_INT, 0, None),
                ],
                vec![
                    (Uop::_BINARY_OP_ADAPTIVE_ADD, 0, None),
                    (Uop::_JUMP, 0, Some(3)),
                ],
            ),
        ]
    }

    /// `x = 1; while ...: [escape;] x = x + 1` on local 1, the loop at
    /// instruction 2.
    fn counting_loop(escape: bool) -> Vec<Spec> {
        let mut insts = vec![
            (vec![(Uop::_LOAD_CONST_INLINE_BORROW, 0, None)], vec![]),
            (vec![(Uop::_STORE_FAST, 1, None)], vec![]),
        ];
        let body = if escape {
            vec![(Uop::_CHECK_EVAL_BREAKER, 0, None)]
        } else {
            vec![(Uop::_NOP, 0, None)]
        };
        insts.push((body, vec![]));
        let mut add = add_one().to_vec();
        add[0].0[0].1 = 1;
        add[2].1[1].2 = Some(5);
        insts.extend(add);
        insts.push((
            vec![(Uop::_STORE_FAST, 1, None), (Uop::_JUMP, 0, Some(2))],
            vec![],
        ));
        insts
    }

    #[test]
    fn a_loop_counter_known_from_its_constant_keeps_no_guard() {
        let p = remove_guards(program(counting_loop(false), true));
        assert_eq!(ops(&p, 5), [Uop::_BINARY_OP_ADD_INT]);
        assert!(p.fallback_of(5).is_empty(), "nothing falls back any more");
    }

    #[test]
    fn code_without_a_loop_is_left_alone() {
        let mut insts = counting_loop(false);
        insts.truncate(2);
        insts.push((vec![(Uop::_LOAD_FAST, 1, None)], vec![]));
        insts.push((
            vec![(Uop::_GUARD_TOS_INT, 0, None), (Uop::_POP_FRAME, 0, None)],
            vec![],
        ));
        let p = remove_guards(looped(insts.clone(), true));
        assert_eq!(ops(&p, 3), [Uop::_GUARD_TOS_INT, Uop::_POP_FRAME]);
        let p = remove_guards(program(insts, true));
        assert_eq!(ops(&p, 3), [Uop::_POP_FRAME]);
    }

    #[test]
    fn unknown_values_keep_their_guards() {
        // `x` is an argument: nothing known.
        let p = remove_guards(program(add_one().to_vec(), true));
        assert_eq!(ops(&p, 2), [Uop::_GUARD_BOTH_INT, Uop::_BINARY_OP_ADD_INT]);
        assert_eq!(p.fallback_of(2).len(), 2);
        // One operand known: the guard stays whole (it checks both).
        let mut insts = add_one().to_vec();
        insts[0].0[0] = (Uop::_LOAD_CONST_INLINE_BORROW, 0, None);
        insts[1].0[0] = (Uop::_LOAD_FAST, 1, None);
        let p = remove_guards(program(insts, true));
        assert_eq!(ops(&p, 2)[0], Uop::_GUARD_BOTH_INT);
    }

    #[test]
    fn facts_about_locals_across_python_code_rest_on_a_frame_check() {
        // The eval breaker may run Python code, which may write `x`
        // through `f_locals`: the guard becomes the frame-object check...
        let p = remove_guards(program(counting_loop(true), true));
        assert_eq!(
            ops(&p, 5),
            [Uop::_CHECK_NO_FRAME_OBJECT, Uop::_BINARY_OP_ADD_INT]
        );
        assert!(p.fallback_of(5).is_empty());
        // ... or stays, once the code's frames had frame objects.
        let p = remove_guards(program(counting_loop(true), false));
        assert_eq!(ops(&p, 5), [Uop::_GUARD_BOTH_INT, Uop::_BINARY_OP_ADD_INT]);
        assert_eq!(p.fallback_of(5).len(), 2);
    }

    #[test]
    fn a_result_whose_instruction_can_fall_back_is_unknown() {
        // `y = x + 1; y + 1`: the first add may run its generic form
        // (`x` unknown), so `y` may be anything.
        let mut insts = add_one().to_vec();
        insts.push((vec![(Uop::_STORE_FAST, 1, None)], vec![]));
        insts.push((vec![(Uop::_LOAD_FAST, 1, None)], vec![]));
        insts.push((vec![(Uop::_LOAD_CONST_INLINE_BORROW, 0, None)], vec![]));
        insts.push((
            vec![
                (Uop::_GUARD_BOTH_INT, 0, None),
                (Uop::_BINARY_OP_ADD_INT, 0, None),
            ],
            vec![
                (Uop::_BINARY_OP_ADAPTIVE_ADD, 0, None),
                (Uop::_JUMP, 0, Some(7)),
            ],
        ));
        insts.push((vec![(Uop::_POP_FRAME, 0, None)], vec![]));
        let p = remove_guards(program(insts.clone(), true));
        assert_eq!(ops(&p, 6)[0], Uop::_GUARD_BOTH_INT);
        // With `x` known, neither add can fall back.
        insts[0].0[0] = (Uop::_LOAD_CONST_INLINE_BORROW, 0, None);
        let p = remove_guards(program(insts, true));
        assert_eq!(ops(&p, 2), [Uop::_BINARY_OP_ADD_INT]);
        assert_eq!(ops(&p, 6), [Uop::_BINARY_OP_ADD_INT]);
    }

    /// `for i in range(x): y = i + i` shaped: the range iterator's check
    /// stays, yet `i` is an int either way (its generic form iterates a
    /// `longrange_iterator`), so the add needs no guard.
    #[test]
    fn range_loop_variables_are_ints_from_either_iterator() {
        let insts: Vec<Spec> = vec![
            (
                vec![(Uop::_LOAD_CONST_INLINE_BORROW_WITH_NULL, 0, None)],
                vec![],
            ),
            (vec![(Uop::_LOAD_FAST, 0, None)], vec![]),
            (
                vec![(Uop::_CALL_BUILTIN_CLASS, 1, None)],
                vec![(Uop::_CALL, 1, None), (Uop::_JUMP, 0, Some(3))],
            ),
            (vec![(Uop::_GET_ITER, 0, None)], vec![]),
            // 4: the loop.
            (
                vec![
                    (Uop::_ITER_CHECK_RANGE, 0, None),
                    (Uop::_ITER_JUMP_RANGE, 0, Some(9)),
                    (Uop::_ITER_NEXT_RANGE, 0, None),
                ],
                vec![(Uop::_FOR_ITER, 0, Some(9)), (Uop::_JUMP, 0, Some(5))],
            ),
            (vec![(Uop::_STORE_FAST, 1, None)], vec![]),
            (
                vec![(Uop::_LOAD_FAST, 1, None), (Uop::_LOAD_FAST, 1, None)],
                vec![],
            ),
            (
                vec![
                    (Uop::_GUARD_BOTH_INT, 0, None),
                    (Uop::_BINARY_OP_ADD_INT, 0, None),
                ],
                vec![(Uop::_BINARY_OP, 0, None), (Uop::_JUMP, 0, Some(8))],
            ),
            (
                vec![(Uop::_POP_TOP, 0, None), (Uop::_JUMP, 0, Some(4))],
                vec![],
            ),
            (
                vec![(Uop::_LOAD_FAST, 1, None), (Uop::_POP_FRAME, 0, None)],
                vec![],
            ),
        ];
        let p = remove_guards(program(insts, true));
        assert_eq!(ops(&p, 4)[0], Uop::_ITER_CHECK_RANGE);
        assert!(!p.fallback_of(4).is_empty());
        assert!(!ops(&p, 7).contains(&Uop::_GUARD_BOTH_INT));
        assert!(p.fallback_of(7).is_empty());
    }

    #[test]
    fn constant_tuples_unpack_to_known_items_and_ranges_to_checked_iterators() {
        // `a, b = (1, 1.5)`, then `for i in range(a): b = b * b` shaped:
        // the float guard goes (b known); the range iterator's check stays
        // (a range beyond a C long iterates with a `longrange_iterator`).
        let insts: Vec<Spec> = vec![
            (vec![(Uop::_LOAD_CONST_INLINE, 0, None)], vec![]),
            (
                vec![(Uop::_UNPACK_SEQUENCE_TWO_TUPLE, 2, None)],
                vec![(Uop::_UNPACK_SEQUENCE, 2, None), (Uop::_JUMP, 0, Some(2))],
            ),
            (
                vec![(Uop::_STORE_FAST, 0, None), (Uop::_STORE_FAST, 1, None)],
                vec![],
            ),
            (
                vec![(Uop::_LOAD_CONST_INLINE_BORROW_WITH_NULL, 0, None)],
                vec![],
            ),
            (vec![(Uop::_LOAD_FAST, 0, None)], vec![]),
            (
                vec![(Uop::_CALL_BUILTIN_CLASS, 1, None)],
                vec![(Uop::_CALL, 1, None), (Uop::_JUMP, 0, Some(6))],
            ),
            (vec![(Uop::_GET_ITER, 0, None)], vec![]),
            // 7: the loop.
            (
                vec![
                    (Uop::_ITER_CHECK_RANGE, 0, None),
                    (Uop::_ITER_JUMP_RANGE, 0, Some(11)),
                    (Uop::_ITER_NEXT_RANGE, 0, None),
                ],
                vec![(Uop::_FOR_ITER, 0, Some(11)), (Uop::_JUMP, 0, Some(8))],
            ),
            (
                vec![
                    (Uop::_POP_TOP, 0, None),
                    (Uop::_LOAD_FAST, 1, None),
                    (Uop::_LOAD_FAST, 1, None),
                ],
                vec![],
            ),
            (
                vec![
                    (Uop::_GUARD_BOTH_FLOAT, 0, None),
                    (Uop::_BINARY_OP_MULTIPLY_FLOAT, 0, None),
                ],
                vec![
                    (Uop::_BINARY_OP_ADAPTIVE_MULTIPLY, 0, None),
                    (Uop::_JUMP, 0, Some(10)),
                ],
            ),
            (
                vec![(Uop::_STORE_FAST, 1, None), (Uop::_JUMP, 0, Some(7))],
                vec![],
            ),
            (
                vec![(Uop::_LOAD_FAST, 1, None), (Uop::_POP_FRAME, 0, None)],
                vec![],
            ),
        ];
        let p = remove_guards(program(insts, true));
        assert!(p.fallback_of(1).is_empty() && p.fallback_of(5).is_empty());
        assert_eq!(
            ops(&p, 7),
            [
                Uop::_ITER_CHECK_RANGE,
                Uop::_ITER_JUMP_RANGE,
                Uop::_ITER_NEXT_RANGE
            ]
        );
        // `b` crossed the call to `range` (which may run Python code).
        assert_eq!(
            ops(&p, 9),
            [Uop::_CHECK_NO_FRAME_OBJECT, Uop::_BINARY_OP_MULTIPLY_FLOAT]
        );
        // Its store frees the old float inline: the frame check before the
        // multiplication cleared the doubt.
        assert_eq!(ops(&p, 10), [Uop::_STORE_FAST_FLOAT, Uop::_JUMP]);
    }

    #[test]
    fn stores_over_known_ints_and_floats_free_them_inline() {
        let insts: Vec<Spec> = vec![
            (vec![(Uop::_LOAD_CONST_INLINE_BORROW, 0, None)], vec![]),
            // Over nothing (unbound): either form frees nothing.
            (vec![(Uop::_STORE_FAST, 1, None)], vec![]),
            // The argument, a float by its guard, over the int.
            (
                vec![
                    (Uop::_LOAD_FAST, 0, None),
                    (Uop::_GUARD_TOS_FLOAT, 0, None),
                    (Uop::_STORE_FAST, 1, None),
                ],
                vec![],
            ),
            // An int over either float.
            (
                vec![
                    (Uop::_LOAD_CONST_INLINE_BORROW, 0, None),
                    (Uop::_STORE_FAST, 1, None),
                    (Uop::_LOAD_CONST_INLINE_BORROW, 0, None),
                    (Uop::_STORE_FAST, 0, None),
                ],
                vec![],
            ),
            // Past code that may run Python code (a signal handler), a
            // frame object's `f_locals` may have stored anything: the
            // general form.
            (
                vec![
                    (Uop::_CHECK_EVAL_BREAKER, 0, None),
                    (Uop::_LOAD_CONST_INLINE_BORROW, 0, None),
                    (Uop::_STORE_FAST, 1, None),
                ],
                vec![],
            ),
        ];
        let p = remove_guards(program(insts, true));
        assert_eq!(ops(&p, 1), [Uop::_STORE_FAST_INT]);
        assert_eq!(ops(&p, 2)[2], Uop::_STORE_FAST_INT);
        assert_eq!(ops(&p, 3)[1], Uop::_STORE_FAST_FLOAT);
        assert_eq!(ops(&p, 3)[3], Uop::_STORE_FAST_FLOAT);
        assert_eq!(ops(&p, 4)[2], Uop::_STORE_FAST);
    }

    #[test]
    fn handlers_start_from_nothing_and_unreached_code_is_left_alone() {
        let mut insts = counting_loop(false);
        // After the loop (never reached: it does not end), code guarding a
        // constant; the same code as a handler keeps its guard.
        insts.push((vec![(Uop::_LOAD_CONST_INLINE_BORROW, 0, None)], vec![]));
        insts.push((
            vec![(Uop::_GUARD_TOS_INT, 0, None), (Uop::_POP_FRAME, 0, None)],
            vec![],
        ));
        let p = remove_guards(program(insts.clone(), true));
        assert_eq!(ops(&p, 8), [Uop::_GUARD_TOS_INT, Uop::_POP_FRAME]);
        let mut with_handler = program(insts, true);
        with_handler.handlers = vec![(8, 1)];
        let p = remove_guards(with_handler);
        assert_eq!(ops(&p, 8), [Uop::_GUARD_TOS_INT, Uop::_POP_FRAME]);
        // Reached by falling through, the guard goes.
        let mut insts = counting_loop(false);
        insts.truncate(2);
        insts.push((vec![(Uop::_LOAD_FAST, 1, None)], vec![]));
        insts.push((
            vec![(Uop::_GUARD_TOS_INT, 0, None), (Uop::_POP_FRAME, 0, None)],
            vec![],
        ));
        let p = remove_guards(program(insts, true));
        assert_eq!(ops(&p, 3), [Uop::_POP_FRAME]);
    }

    #[test]
    fn stores_and_swaps_follow_the_values() {
        // `x = 1` (local 1), then `x, y = y, x` with `y` the argument
        // (local 0): `y` is now the int, `x` unknown. Storing over the
        // argument may run its finalizer, so `y`'s fact rests on the
        // frame check.
        let insts: Vec<Spec> = vec![(
            vec![
                (Uop::_LOAD_CONST_INLINE_BORROW, 0, None),
                (Uop::_STORE_FAST, 1, None),
                (Uop::_LOAD_FAST, 0, None),
                (Uop::_LOAD_FAST, 1, None),
                (Uop::_SWAP, 2, None),
                (Uop::_STORE_FAST, 1, None),
                (Uop::_STORE_FAST, 0, None),
                (Uop::_LOAD_FAST, 0, None),
                (Uop::_GUARD_TOS_INT, 0, None),
                (Uop::_LOAD_FAST, 1, None),
                (Uop::_GUARD_TOS_INT, 0, None),
                (Uop::_POP_FRAME, 0, None),
            ],
            vec![],
        )];
        let p = remove_guards(program(insts, true));
        assert_eq!(
            ops(&p, 0)[7..],
            [
                Uop::_LOAD_FAST,
                Uop::_CHECK_NO_FRAME_OBJECT,
                Uop::_LOAD_FAST,
                Uop::_GUARD_TOS_INT,
                Uop::_POP_FRAME
            ]
        );
    }

    #[test]
    fn generic_operations_on_known_types_are_specialized() {
        // Unspecialized bytecode (compiled before the interpreter saw it
        // run): the loop's generic add becomes the int add, which runs no
        // Python code, so `x` stays known without a frame check.
        // The validity check after it (the next instruction's) goes too:
        // no Python code ran.
        let generic_add = |insts: &mut Vec<Spec>, at: usize| {
            insts[at] = (
                vec![
                    (Uop::_BINARY_OP_ADAPTIVE_ADD, 0, None),
                    (Uop::_CHECK_VALIDITY, 0, None),
                ],
                vec![],
            );
            move |p: &mut Program| {
                let check = p.insts[at].first as usize + 1;
                p.uops[check].inst = at as u32 + 1;
            }
        };
        let mut insts = counting_loop(false);
        let next_owns_check = generic_add(&mut insts, 5);
        let mut p = program(insts, true);
        next_owns_check(&mut p);
        let p = remove_guards(p);
        assert_eq!(ops(&p, 5), [Uop::_BINARY_OP_ADD_INT]);
        // With an unknown operand, both stay.
        let mut insts = add_one().to_vec();
        let next_owns_check = generic_add(&mut insts, 2);
        let mut p = program(insts, true);
        next_owns_check(&mut p);
        let p = remove_guards(p);
        assert_eq!(
            ops(&p, 2),
            [Uop::_BINARY_OP_ADAPTIVE_ADD, Uop::_CHECK_VALIDITY]
        );
        // `1.5 * 1.5 < 1.5` (the pair's second item), converted to bool.
        let float = [
            (Uop::_LOAD_CONST_INLINE, 0, None),
            (Uop::_UNPACK_SEQUENCE_TWO_TUPLE, 2, None),
            (Uop::_POP_TOP, 0, None),
        ];
        let compare = |operand: &[(Uop, u32, Option<u32>)], oparg: u32| {
            let mut main = Vec::new();
            for _ in 0..3 {
                main.extend_from_slice(operand);
            }
            main.insert(
                2 * operand.len(),
                (Uop::_BINARY_OP_ADAPTIVE_MULTIPLY, 0, None),
            );
            main.extend([
                (Uop::_COMPARE_OP_ADAPTIVE, oparg, None),
                (Uop::_TO_BOOL, 0, None),
                (Uop::_POP_FRAME, 0, None),
            ]);
            ops(&remove_guards(program(vec![(main, vec![])], true)), 0)
        };
        // `<` (0) with the to-bool bit: a bool needs no conversion.
        let floats = compare(&float, 16);
        assert!(floats.contains(&Uop::_BINARY_OP_MULTIPLY_FLOAT));
        assert!(floats.ends_with(&[Uop::_COMPARE_OP_FLOAT, Uop::_POP_FRAME]));
        // Without the bit, a float comparison still gives a bool.
        assert!(compare(&float, 0).ends_with(&[Uop::_COMPARE_OP_FLOAT, Uop::_POP_FRAME]));
        // Unknown operands stay generic (the comparison still gives a
        // bool with the bit, and only then).
        let unknown = [(Uop::_LOAD_FAST, 0, None)];
        let generic = [
            Uop::_LOAD_FAST,
            Uop::_LOAD_FAST,
            Uop::_BINARY_OP_ADAPTIVE_MULTIPLY,
            Uop::_LOAD_FAST,
            Uop::_COMPARE_OP_ADAPTIVE,
            Uop::_TO_BOOL,
            Uop::_POP_FRAME,
        ];
        assert_eq!(compare(&unknown, 0), generic);
        let without_to_bool: Vec<Uop> = generic
            .into_iter()
            .filter(|&u| u != Uop::_TO_BOOL)
            .collect();
        assert_eq!(compare(&unknown, 16), without_to_bool);
    }
}
