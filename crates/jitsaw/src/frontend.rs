//! Frontend: quickened bytecode → micro-ops.
//!
//! Reads a code object's bytecode *after* CPython's specializing interpreter
//! rewrote it, so `BINARY_OP_ADD_INT`, `LOAD_ATTR_INSTANCE_VALUE`, ... and
//! their inline caches (type versions, dict versions, indices) decide what is
//! emitted. Each instruction is expanded with CPython's own table
//! (`_PyOpcode_macro_expansion`, generated into `jitsaw_cpython313`); the few
//! instructions that table leaves out (calls, jumps, `RESUME`, tier-1-only
//! specializations) have a lowering here. A specialization jitsaw has no
//! stencil for falls back to its generic instruction, which CPython
//! guarantees has the same meaning; an instruction with no lowering at all
//! becomes `_DEOPT`, handing the frame back to the interpreter there.

use crate::uops::{
    InlineBody, InlineSite, Inst, KnownAttr, KnownGlobal, KnownObject, Program, Uop, UopInst,
};
use jitsaw_cpython313::opcode::STACK_EFFECTS;
use jitsaw_cpython313::opcode::*;
use jitsaw_cpython313::{caches, consts, deopt};
use smallvec::{smallvec, SmallVec};

/// What the frontend needs from a code object, copied out of it.
#[derive(Clone, Debug, Default)]
pub struct CodeInput {
    /// The (quickened) bytecode, one `u16` per code unit, little-endian
    /// `opcode | oparg << 8` as in memory.
    pub units: Vec<u16>,
    /// Address of the first code unit in the live code object.
    pub code_start: u64,
    /// `co_flags`.
    pub flags: u32,
    /// `co_consts` as (address, immortal) pairs.
    pub consts: Vec<(u64, bool)>,
    /// The words of the `co_consts` items that are exact ints a machine
    /// word holds or exact floats (see `Program::const_words`).
    pub const_words: Vec<Option<(i64, bool)>>,
    /// `co_names` as addresses (interned `str`s the code object holds).
    pub names: Vec<u64>,
    /// The instrumentation version (`eval_breaker` without event bits).
    pub version: u64,
    /// Whether the code object has monitoring data (`_co_monitoring`):
    /// local `sys.monitoring` events may be set on it.
    pub monitored: bool,
    /// Keys versions of the frame's globals and builtins (when dicts), to
    /// spot global-load specializations the interpreter has not updated yet.
    pub globals_version: Option<u32>,
    /// See `globals_version`.
    pub builtins_version: Option<u32>,
    /// Offsets of instructions to compile in their generic form (their
    /// specialization kept failing).
    pub generic: Vec<u32>,
    /// Offsets of loop heads whose loops are not kept in words
    /// (`optimize::loops`): their words kept leaving.
    pub no_words: Vec<u32>,
    /// Offsets of calls whose inlined bodies compute their int arithmetic
    /// as of either kind too (`optimize::raw::words_in_body`): their
    /// words for ints kept leaving (floats given).
    pub either_kinds: Vec<u32>,
    /// Where each `LOAD_GLOBAL` finds its name now, by instruction offset
    /// (see [`GlobalSlot`]).
    pub globals: Vec<(u32, GlobalSlot)>,
    /// The values of global names the optimizer may burn in (see
    /// [`KnownGlobal`]).
    pub known_globals: Vec<KnownGlobal>,
    /// The module and class attributes the optimizer may burn in with them
    /// (see [`KnownAttr`]).
    pub known_attrs: Vec<KnownAttr>,
    /// The words of the known globals' and attributes' values that are
    /// ints a word holds or exact floats, by object (as
    /// `InlineBody::const_words`): an inlined body burns them in.
    pub known_words: Vec<(u64, i64, bool)>,
    /// What is known of the constants' and known globals' values (see
    /// `optimize::types`).
    pub known_objects: Vec<KnownObject>,
    /// Calls `obj.method()` of a method whose body only returns `self` or
    /// an immortal constant, by the `CALL`'s offset (see [`TrivialCall`]).
    pub trivial_calls: Vec<TrivialCall>,
    /// Calls whose callee may be inlined, by the `CALL`'s offset
    /// (see [`InlineCall`]).
    pub inline_calls: Vec<InlineCall>,
    /// In an inlined callee, its `CALL_BUILTIN_O`s of a C function that
    /// computes from a float or int alone (`math.sqrt`), as the global it
    /// calls holds it now: (the `CALL`'s offset, its method definition).
    pub pure_calls: Vec<(u32, u64)>,
    /// Whether facts about locals may outlive Python code run meanwhile
    /// (see [`Program::local_facts`]).
    pub local_facts: bool,
    /// Whether class checks may be kept across fallbacks (see
    /// [`Program::class_facts`]).
    pub class_facts: bool,
    /// Whether to propagate types (see [`Program::propagate_types`]).
    pub propagate_types: bool,
    /// Whether the code has a loop (see `_QUICKEN`).
    pub loops: bool,
    /// In code with loops, whether an instruction whose first
    /// specialization is due asks the runtime for an interpreted call
    /// (see `_QUICKEN`).
    pub report_due: bool,
    /// In code compiled before the interpreter specialized it, whether back
    /// edges count turns for the runtime (`_CHECK_LONG_LOOP`, see
    /// `hook::osr`).
    pub long_loops: bool,
    /// Whether the interpreter has run the code enough that an adaptive
    /// instruction it never ran is likely cold: such instructions outside
    /// loops are compiled without their inline fast paths (see
    /// [`Program::cold`]).
    pub compact_cold: bool,
    /// Counting mode: the address of the counter of instructions run
    /// compiled, which a `_COUNT_RUN` before each instruction bumps.
    pub executed_counter: Option<u64>,
    /// Force deopts at random instruction boundaries (`_CHAOS`, testing).
    pub chaos: bool,
    /// Profiling: where each instruction's run counters are (`_COUNT_RUN`),
    /// as addresses of two `u64` arrays indexed by code unit: runs of the
    /// compiled instruction, runs of its generic fallback.
    pub run_counters: Option<(u64, u64)>,
    /// `co_exceptiontable`.
    pub exception_table: Vec<u8>,
    /// `co_nlocalsplus`: where the value stack starts in the frame.
    pub nlocalsplus: u32,
    /// `co_framesize`: the frame's words, its header's included.
    pub framesize: u32,
    /// How many locals hold arguments when a frame starts (see
    /// [`Program::args`]).
    pub args: u32,
    /// `JITSAW_DEBUG`: check the stack depth before every micro-op.
    pub debug: bool,
}

impl CodeInput {
    /// The check after code that may have run Python: a cheaper one while
    /// the code has no monitoring data.
    fn validity_check(&self) -> Uop {
        if self.monitored {
            Uop::_CHECK_VALIDITY_MONITORED
        } else {
            Uop::_CHECK_VALIDITY
        }
    }
}

/// A `CALL_PY_EXACT_ARGS` of no arguments right after a method load
/// (`LOAD_ATTR_METHOD_*`) whose cached function, of the version the call
/// expects, only returns `self` or an immortal constant: compiled as
/// `_CALL_TRIVIAL`, which makes no frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrivialCall {
    /// The `CALL`'s offset.
    pub offset: u32,
    /// The function's version.
    pub version: u32,
    /// The constant it returns (immortal), or 0 for `self`.
    pub result: u64,
}

/// A call `obj.method(args)` or `function(args)` whose callee, as the
/// method load's cache or the global's value predicts it, is a small plain
/// function of its parameters (few other locals, no cells, handlers or
/// `*args`): the callee's code as the
/// frontend lowers it, for [`inline_body`] to see whether every micro-op of
/// it computes without side effects, so that `optimize::inline` may run it
/// in the caller without a frame.
#[derive(Clone, Debug)]
pub struct InlineCall {
    /// The call and its callee.
    pub site: InlineSite,
    /// Its code, copied as for compiling it.
    pub callee: Box<CodeInput>,
}

/// Where a global name was found when compiling, as CPython's specializer
/// records it in `LOAD_GLOBAL`'s cache: the entry index in the globals (or,
/// if absent there, the builtins) and the keys versions that guard it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalSlot {
    /// Found in the builtins (after not being in the globals).
    pub builtin: bool,
    /// Index of the entry.
    pub index: u32,
    /// Keys version of the globals.
    pub globals_version: u32,
    /// Keys version of the builtins (for builtins).
    pub builtins_version: u32,
}

/// The most instructions a loop may span for its code to be compiled at
/// all: past that, optimizing and measuring its code
/// (`codegen::MAX_LOOP_CODE`) would cost more compile time than a loop
/// this long can repay.
pub const MAX_LOOP_INSTRUCTIONS: usize = 10_000;

/// Each loop's instructions, as the index range from its back edge's
/// target to the back edge.
pub fn loops(insts: &[Inst]) -> impl Iterator<Item = std::ops::RangeInclusive<usize>> + '_ {
    insts
        .iter()
        .enumerate()
        .filter(|(_, inst)| matches!(inst.opcode, JUMP_BACKWARD | JUMP_BACKWARD_NO_INTERRUPT))
        .map(|(i, inst)| {
            let target = inst.offset + 1 + caches(inst.opcode) as u32 - inst.oparg;
            insts.partition_point(|x| x.start < target)..=i
        })
}

/// The head of the outermost loop around the instruction at code unit
/// `offset`, where a turn of the whole loop nest starts; `None` outside
/// loops.
pub fn outermost_head(units: &[u16], offset: u32) -> Option<u32> {
    let insts = decode(units).ok()?;
    loops(&insts)
        .map(|l| (insts[*l.start()].start, insts[*l.end()].offset))
        .filter(|&(head, back_edge)| head <= offset && offset <= back_edge)
        .map(|(head, _)| head)
        .min()
}

/// The most instructions a loop spans (from its back edge's target to the
/// back edge), if the code has loops.
pub fn longest_loop(insts: &[Inst]) -> Option<usize> {
    loops(insts).map(|l| l.count()).max()
}

/// Per instruction, whether the innermost loop around it is one the
/// interpreter has not run yet: none of its instructions has been
/// specialized or counted. An instruction it never ran in a loop it did
/// run was passed over turn after turn (`_parse`'s branches for the
/// regular expression syntax a program does not use).
fn in_unwarmed_loops(code: &CodeInput, insts: &[Inst]) -> Vec<bool> {
    let ran = |inst: &Inst| {
        inst.opcode != deopt(inst.opcode)
            || (is_adaptive(inst.opcode)
                && counter(code, inst) != consts::ADAPTIVE_COUNTER_WARMUP as u16)
    };
    // Innermost last, overwriting what the loops around it said.
    let mut ranges: Vec<_> = loops(insts).collect();
    ranges.sort_by_key(|r| std::cmp::Reverse(r.end() - r.start()));
    let mut unwarmed = vec![false; insts.len()];
    for r in ranges {
        // Not by its head, which runs for loops of no turns too (a
        // `FOR_ITER` finding its iterator exhausted, specialized after two).
        let cold = !insts[*r.start() + 1..=*r.end()].iter().any(ran);
        unwarmed[r].fill(cold);
    }
    unwarmed
}

/// Why a code object is not compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Never worth trying again for this code object.
    Never(String),
    /// The bytecode is instrumented right now; maybe later.
    NotNow(String),
}

/// Lowers a code object to micro-ops.
pub fn lower(code: &CodeInput) -> Result<Program, Refusal> {
    let mut insts = decode(&code.units)?;
    if let Some(n) = longest_loop(&insts).filter(|&n| n > MAX_LOOP_INSTRUCTIONS) {
        return Err(Refusal::Never(format!(
            "a loop of {n} instructions (too long to be worth compiling)"
        )));
    }
    let mut lowered: Vec<Lowering> = Vec::with_capacity(insts.len());
    let mut cold = Vec::new();
    let unwarmed = in_unwarmed_loops(code, &insts);
    for i in 0..insts.len() {
        let mut l = lower_inst(code, &insts, i, false);
        // In a loop body that the interpreter has not run yet, one call
        // may run the instruction many times before the code is compiled
        // again: it keeps its fast paths.
        if code.compact_cold
            && !unwarmed[i]
            && never_ran(code, &insts[i])
            && strip_fast_paths(&mut l)
        {
            cold.push(insts[i].offset);
        }
        lowered.push(l);
    }
    let targets = resolve_jumps(&insts, &lowered)?;
    let generic: Vec<Lowering> = (0..insts.len())
        .map(|i| fallback(code, &insts, i, &lowered[i]).unwrap_or_default())
        .collect();
    let generic_targets = resolve_jumps(&insts, &generic)?;
    let escapes: Vec<bool> = lowered
        .iter()
        .map(|l| l.iter().any(|u| u.op.escapes()))
        .collect();
    // After code that may have run Python, instrumentation may have
    // changed: the next instruction checks first. On a jump, at the start
    // of its target; on falling through, at the end of the instruction
    // that escaped, so that a loop header after a `GET_ITER` or a call does
    // not check at every iteration (the loop's back edge checks itself).
    let mut check_at_start = vec![false; insts.len()];
    for i in 0..insts.len() {
        if escapes[i] {
            for t in targets[i].iter().flatten() {
                check_at_start[*t as usize] = true;
            }
        }
    }
    let check_at_end: Vec<bool> = (0..insts.len())
        .map(|i| {
            escapes[i]
                && falls_through(&lowered[i])
                && i + 1 < insts.len()
                && !check_at_start[i + 1]
        })
        .collect();
    if lowered.last().is_some_and(|l| falls_through(l)) {
        return Err(Refusal::Never("bytecode falls off its end".into()));
    }

    // The check belongs to the instruction its deopt resumes at.
    let check = |inst: u32| UopInst {
        op: code.validity_check(),
        oparg: 0,
        operand: code.version,
        inst,
        jump: None,
    };
    let mut uops = Vec::new();
    for (i, inst) in insts.iter_mut().enumerate() {
        inst.first = uops.len() as u32;
        let here = i as u32;
        let address = code.code_start + 2 * inst.offset as u64;
        if let Some(executed) = code.executed_counter {
            uops.push(UopInst {
                op: Uop::_COUNT_RUN,
                oparg: 0,
                operand: executed,
                inst: here,
                jump: None,
            });
        }
        if let Some((runs, _)) = code.run_counters {
            uops.push(UopInst {
                op: Uop::_COUNT_RUN,
                oparg: 0,
                operand: runs + 8 * inst.offset as u64,
                inst: here,
                jump: None,
            });
        }
        if code.chaos {
            uops.push(UopInst {
                op: Uop::_CHAOS,
                oparg: 0,
                operand: 0,
                inst: here,
                jump: None,
            });
        }
        if check_at_start[i] {
            uops.push(check(here));
        }
        if lowered[i]
            .iter()
            .any(|u| u.op != Uop::_DEOPT && u.op.needs_ip())
        {
            uops.push(UopInst {
                op: Uop::_SET_IP,
                oparg: 0,
                operand: address,
                inst: here,
                jump: None,
            });
        }
        if inst.opcode == RESUME || (is_adaptive(inst.opcode) && worth_quickening(code, inst)) {
            // The counter is the first cache entry; `RESUME` rewrites itself.
            let (op, oparg) = if inst.opcode == RESUME {
                (Uop::_QUICKEN_RESUME, 0)
            } else {
                (quicken(code), inst.opcode as u32)
            };
            uops.push(UopInst {
                op,
                oparg,
                operand: address,
                inst: here,
                jump: None,
            });
        }
        debug_assert_eq!(lowered[i].len(), targets[i].len());
        for (u, target) in lowered[i].iter().zip(&targets[i]) {
            uops.push(UopInst {
                op: u.op,
                oparg: u.oparg,
                operand: u.operand,
                inst: here,
                jump: *target,
            });
        }
        if check_at_end[i] {
            uops.push(check(here + 1));
        }
        inst.count = uops.len() as u32 - inst.first;
    }
    for (i, inst) in insts.iter_mut().enumerate() {
        inst.fallback = uops.len() as u32;
        if !generic[i].is_empty() {
            emit_fallback(code, i, inst, &generic[i], &generic_targets[i], &mut uops);
        }
        inst.fallback_count = uops.len() as u32 - inst.fallback;
    }
    let handlers = handler_entries(&code.exception_table, &insts);
    Ok(Program {
        insts,
        uops,
        code_start: code.code_start,
        version: code.version,
        consts: code.consts.clone(),
        handlers,
        exception_entries: jitsaw_cpython313::exception_table::entries(&code.exception_table)
            .filter(|&(start, end, _)| start < end)
            .collect(),
        stack_base: code.nlocalsplus,
        frame_size: code.framesize,
        known_globals: code.known_globals.clone(),
        known_attrs: code.known_attrs.clone(),
        known_objects: code.known_objects.clone(),
        local_facts: code.local_facts,
        class_facts: code.class_facts,
        propagate_types: code.propagate_types,
        args: code.args,
        burned: Vec::new(),
        burned_attrs: Vec::new(),
        cold,
        const_words: code.const_words.clone(),
        generic: code.generic.clone(),
        no_words: code.no_words.clone(),
        either_kinds: code.either_kinds.clone(),
        inline_bodies: code
            .inline_calls
            .iter()
            .filter(|c| !code.generic.contains(&c.site.offset))
            .filter_map(inline_body)
            .collect(),
        // Counted by `optimize::inline`, which inlines the bodies.
        inlined_instructions: 0,
    })
}

/// Callees of more instructions than this are inlined only if their body
/// runs at most [`MAX_INLINED_WORK`] micro-ops of work: bodies longer than
/// that would stretch the caller's code more than the call costs.
pub const MAX_INLINED_INSTRUCTIONS: usize = 24;

/// Micro-ops of a longer callee's body that do more than load a local or
/// a constant, move values on the stack or jump (see
/// [`MAX_INLINED_INSTRUCTIONS`]); paths its calls never took leave at their
/// first instruction and count for nothing, and so do the calls inlined in
/// it in turn. (24 until session 60: float's slotted `Point` methods,
/// inlined, were slower than called until the site caches' stencils read
/// slots in place.)
pub const MAX_INLINED_WORK: usize = 40;

/// Callees of more instructions than this are not looked at.
pub const MAX_CALLEE_INSTRUCTIONS: usize = 2 * MAX_INLINED_INSTRUCTIONS;

/// The body of a call's callee to inline ([`InlineCall`]), if it is short
/// and straight (forward jumps only) and all its micro-ops are of the few
/// that run no code, have no effect but their result and leave only by
/// their guards or a failed allocation ([`inlinable`]): after any of those,
/// the call can start over as a real call. Returns become
/// `_INLINE_RETURN`, constants are pushed from the callee's `co_consts`,
/// and jumps name micro-ops of the body.
fn inline_body(call: &InlineCall) -> Option<InlineBody> {
    let callee = &*call.callee;
    let insts = decode(&callee.units).ok()?;
    if insts.len() > MAX_CALLEE_INSTRUCTIONS
        || insts.first().map(|i| deopt(i.opcode)) != Some(RESUME)
    {
        return None;
    }
    let mut instructions = insts.len() as u32;
    let lowered: Vec<Lowering> = (0..insts.len())
        .map(|j| lower_inst(callee, &insts, j, false))
        .collect();
    let targets = resolve_jumps(&insts, &lowered).ok()?;
    let mut targeted = vec![false; insts.len()];
    for t in targets.iter().flatten().flatten() {
        targeted[*t as usize] = true;
    }
    let mut first = Vec::with_capacity(insts.len());
    let mut uops: Vec<UopInst> = Vec::new();
    // The `RESUME`'s checks are the inlined entry's; then the callee's
    // locals beyond its parameters, unbound, in the slots above them.
    first.push(0);
    let locals = callee.nlocalsplus.checked_sub(callee.args)?;
    // A body's `inst` is the code unit an exit resumes at in the callee
    // (`InlineBody::uops`).
    let at = |op: Uop, oparg: u32, unit: u32| UopInst {
        op,
        oparg,
        operand: 0,
        inst: unit,
        jump: None,
    };
    uops.extend((0..locals).map(|_| at(Uop::_PUSH_NULL, 0, 0)));
    // A method's or function's call can have its frame materialized where
    // its body leaves after storing into an object (`optimize::inline`).
    let materializable = call.site.init.is_none() && call.site.getitem.is_none();
    let mut stores = false;
    // Calls inlined in the body in turn (`nested`): their stack depths, the
    // micro-ops whose jumps name micro-ops rather than instructions, and
    // the slots their values reach (above the callee's locals).
    let depths = if callee.inline_calls.is_empty() {
        Vec::new()
    } else {
        stack_depths(&insts, &targets)
    };
    let mut absolute_jumps: Vec<usize> = Vec::new();
    let mut nested_top = 0;
    // The micro-ops of the calls inlined in turn (short by their own
    // limits: their work is not this body's).
    let mut nested: Vec<std::ops::Range<usize>> = Vec::new();
    // After an instruction that always leaves, until a jump lands.
    let mut unreachable = false;
    // Where the current basic block starts (a jump lands, or one goes on).
    let mut block = 1;
    // What the body pushes as constants, and the instructions that did
    // (an attribute load burned in with its global's) up to `burned_to`.
    let (mut burned, mut burned_attrs) = (Vec::new(), Vec::new());
    let mut burned_to = 0;
    for j in 1..insts.len() {
        first.push(uops.len() as u32);
        if j < burned_to {
            continue;
        }
        unreachable &= !targeted[j];
        if unreachable {
            continue;
        }
        if targeted[j] || targets[j - 1].iter().any(Option::is_some) {
            block = j;
        }
        // A `raise`: its block leaves for the call, which raises (with the
        // callee's frame in the traceback); what it computes before is
        // never needed.
        if insts[j].opcode == RAISE_VARARGS {
            absolute_jumps.retain(|&k| k < first[block] as usize);
            nested.retain(|r| r.start < first[block] as usize);
            uops.truncate(first[block] as usize);
            first[block..].fill(uops.len() as u32);
            uops.push(at(Uop::_INLINE_COLD, 0, insts[block].start));
            unreachable = true;
            continue;
        }
        // A call whose callee is inlined in turn, before any store (its
        // exits leave for this body's call, which starts over).
        if let Some(inner) = callee
            .inline_calls
            .iter()
            .find(|c| c.site.offset == insts[j].offset)
        {
            if let (false, Some(Some(depth))) = (stores, depths.get(j)) {
                let start = uops.len();
                if let Some((top, inner_instructions)) = nest(
                    &mut uops,
                    &mut absolute_jumps,
                    inner,
                    callee.nlocalsplus + depth,
                    &insts,
                    j,
                ) {
                    nested.push(start..uops.len());
                    nested_top = nested_top.max(top);
                    instructions += inner_instructions;
                    continue;
                }
            }
        }
        // A global whose value is known, and the attributes of it read
        // right after: constants, before any store (the caller's code is
        // invalidated before one changes, which sends the call to its
        // fallback at the body's entry: a body past a store cannot leave
        // there).
        if !stores {
            if let Some(taken) = burn_global(callee, &insts, j, &targeted, &mut uops) {
                burned.push(taken.0);
                burned_attrs.extend_from_slice(&taken.1);
                burned_to = j + 1 + taken.1.len();
                continue;
            }
        }
        // The pure forms of calls and of a tuple's allocation run no code:
        // they need neither the instruction pointer before them nor the
        // checks after them.
        let pure_c_call = callee
            .pure_calls
            .iter()
            .find(|&&(offset, _)| offset == insts[j].offset)
            .map(|&(_, function)| function);
        let pure_only = pure_c_call.is_some()
            || lowered[j].iter().any(|u| {
                matches!(
                    u.op,
                    Uop::_CALL_LEN | Uop::_BUILD_TUPLE | Uop::_CALL_ISINSTANCE
                )
            });
        let dropped = |u: &Lowered| {
            pure_only
                && matches!(
                    u.op,
                    Uop::_SET_IP | Uop::_CHECK_VALIDITY | Uop::_CHECK_PERIODIC
                )
        };
        // A plain load of a local's attribute, through a cache of the types
        // it meets (`_LOAD_ATTR_LOCAL_CACHED`): the callee's specialization
        // (if its calls ran the load at all: a path they never took may be
        // this caller's) was for whatever its other callers passed, and one
        // call site may pass objects of several classes alike (a method of
        // a base class called on instances of its subclasses).
        // (Its exit resumes at the attribute's load, the local pushed.)
        if let Some(local) = local_attribute_load(&insts[j - 1..=j], &uops, targeted[j]) {
            let name = *callee.names.get((insts[j].oparg >> 1) as usize)?;
            uops.pop();
            uops.push(UopInst {
                operand: name,
                ..at(Uop::_LOAD_ATTR_LOCAL_CACHED, local, insts[j].start)
            });
            continue;
        }
        // A store into a local's attribute, through a cache of the types it
        // meets (`_STORE_ATTR_LOCAL_CACHED`), in a body whose frame can be
        // materialized where it leaves after it: objects of several classes
        // take the body, as for loads.
        if materializable {
            if let Some(local) = local_attribute_store(&insts[j - 1..=j], &uops, targeted[j]) {
                let name = *callee.names.get(insts[j].oparg as usize)?;
                uops.pop();
                uops.push(UopInst {
                    operand: name,
                    ..at(Uop::_STORE_ATTR_LOCAL_CACHED, local, insts[j].start)
                });
                stores = true;
                continue;
            }
            // `owner.x op= v`: the owner, below the value, swapped above it
            // (leaving before the `SWAP`).
            let swap = insts[j - 1].opcode == SWAP
                && insts[j - 1].oparg == 2
                && uops
                    .last()
                    .is_some_and(|u| u.op == Uop::_SWAP && u.oparg == 2);
            if swap && is_store_attr(insts[j].opcode) && !targeted[j] {
                let name = *callee.names.get(insts[j].oparg as usize)?;
                uops.pop();
                uops.push(UopInst {
                    operand: name,
                    ..at(Uop::_STORE_ATTR_SWAPPED_CACHED, 0, insts[j - 1].start)
                });
                stores = true;
                continue;
            }
        }
        // `local.x op= v`: the local's copy's attribute, read as the
        // local's (leaving as the load, the copy pushed).
        let copied = insts[j - 1].opcode == COPY
            && matches!(uops.as_slice(), [.., l, c] if l.op == Uop::_LOAD_FAST
                && c.op == Uop::_COPY
                && c.oparg == 1);
        if copied && is_plain_attribute_load(&insts[j]) && !targeted[j] && !targeted[j - 1] {
            let local = uops[uops.len() - 2].oparg;
            let name = *callee.names.get((insts[j].oparg >> 1) as usize)?;
            uops.pop();
            uops.push(UopInst {
                operand: name,
                ..at(Uop::_LOAD_ATTR_LOCAL_CACHED, local, insts[j].start)
            });
            continue;
        }
        let inlinable_form =
            |u: &Lowered| dropped(u) || inlinable(pure_form(u.op).unwrap_or(u.op), u.oparg);
        if !lowered[j].iter().all(inlinable_form) && never_ran(callee, &insts[j]) {
            // A path the callee's calls never took: it leaves for the call
            // if taken after all.
            uops.push(at(Uop::_INLINE_COLD, 0, insts[j].start));
            unreachable = true;
            continue;
        }
        // An `__init__` stores into its new instance (`self.x = ...`): no
        // one else sees it, and its old values are none.
        // (`self` pushed last: alone, or after the value, `self.x = x`.)
        let pushes_self = match insts[j - 1].opcode {
            LOAD_FAST => insts[j - 1].oparg == 0,
            LOAD_FAST_LOAD_FAST => insts[j - 1].oparg & 15 == 0,
            _ => false,
        };
        let stores_to_self =
            call.site.init.is_some() && deopt(insts[j].opcode) == STORE_ATTR && pushes_self;
        if call.site.init.is_some() && deopt(insts[j].opcode) == RETURN_VALUE {
            return None;
        }
        for (u, target) in lowered[j].iter().zip(&targets[j]) {
            if dropped(u) {
                continue;
            }
            // A store into any object's attribute or a list's item, over a
            // value whose release runs no code (else it leaves first, its
            // frame materialized).
            let materialized_store = materializable
                && matches!(
                    u.op,
                    Uop::_GUARD_DORV_NO_DICT
                        | Uop::_STORE_ATTR_INSTANCE_VALUE
                        | Uop::_STORE_ATTR_SLOT
                        | Uop::_STORE_SUBSCR_LIST_INT
                );
            stores |= materialized_store;
            let u = &match (u.op, pure_c_call) {
                (Uop::_CALL_BUILTIN_O, Some(function)) => Lowered {
                    op: Uop::_CALL_BUILTIN_O_PURE,
                    operand: function,
                    ..*u
                },
                (Uop::_STORE_ATTR_INSTANCE_VALUE, _) if materialized_store => Lowered {
                    op: Uop::_STORE_ATTR_INSTANCE_VALUE_PURE,
                    ..*u
                },
                (Uop::_STORE_ATTR_SLOT, _) if materialized_store => Lowered {
                    op: Uop::_STORE_ATTR_SLOT_PURE,
                    ..*u
                },
                (Uop::_STORE_SUBSCR_LIST_INT, _) if materialized_store => Lowered {
                    op: Uop::_STORE_SUBSCR_LIST_INT_PURE,
                    ..*u
                },
                _ => Lowered {
                    op: pure_form(u.op).unwrap_or(u.op),
                    ..*u
                },
            };
            let store = stores_to_self
                && matches!(
                    u.op,
                    Uop::_GUARD_DORV_NO_DICT
                        | Uop::_STORE_ATTR_INSTANCE_VALUE
                        | Uop::_STORE_ATTR_SLOT
                );
            // A store to one of its own locals (not to a parameter, the
            // caller's argument, whose release could run code).
            let store_local = u.op == Uop::_STORE_FAST && u.oparg >= callee.args;
            if !(store || materialized_store || store_local || inlinable(u.op, u.oparg))
                || target.is_some_and(|t| t as usize <= j)
            {
                return None;
            }
            if u.op == Uop::_POP_FRAME && locals > 0 {
                uops.push(at(Uop::_INLINE_POP_LOCALS, locals, insts[j].start));
            }
            let (op, oparg, operand) = match u.op {
                Uop::_LOAD_CONST => {
                    let &(address, immortal) = callee.consts.get(u.oparg as usize)?;
                    let op = if immortal {
                        Uop::_LOAD_CONST_INLINE_BORROW
                    } else {
                        Uop::_LOAD_CONST_INLINE
                    };
                    (op, 0, address)
                }
                // The call's oparg: the arguments but `self`.
                Uop::_POP_FRAME if call.site.init.is_some() => {
                    (Uop::_INLINE_INIT_RETURN, callee.args - 1, 0)
                }
                Uop::_POP_FRAME if call.site.getitem.is_some() => {
                    (Uop::_INLINE_SUBSCR_RETURN, call.site.binary as u32, 0)
                }
                Uop::_POP_FRAME => (
                    Uop::_INLINE_RETURN,
                    callee.args - call.site.method as u32,
                    0,
                ),
                op => (op, u.oparg, u.operand),
            };
            uops.push(UopInst {
                op,
                oparg,
                operand,
                inst: insts[j].start,
                jump: *target,
            });
        }
    }
    for (k, u) in uops.iter_mut().enumerate() {
        if !absolute_jumps.contains(&k) {
            u.jump = u.jump.map(|t| first[t as usize]);
        }
    }
    let work = uops
        .iter()
        .enumerate()
        .filter(|(k, _)| !nested.iter().any(|r| r.contains(k)))
        .filter(|(_, u)| {
            !matches!(
                u.op,
                Uop::_LOAD_FAST
                    | Uop::_LOAD_CONST_INLINE
                    | Uop::_LOAD_CONST_INLINE_BORROW
                    | Uop::_POP_TOP
                    | Uop::_COPY
                    | Uop::_SWAP
                    | Uop::_NOP
                    | Uop::_JUMP
                    | Uop::_INLINE_COLD
            )
        })
        .count();
    if insts.len() > MAX_INLINED_INSTRUCTIONS && work > MAX_INLINED_WORK {
        return None;
    }
    if uops.iter().filter(|u| u.op.is_arithmetic()).count() > MAX_INLINED_ARITHMETIC {
        return None;
    }
    // Bytecode ends with a return (or a path that leaves); forward jumps
    // cannot end elsewhere.
    if !matches!(
        uops.last().map(|u| u.op),
        Some(
            Uop::_INLINE_RETURN
                | Uop::_INLINE_INIT_RETURN
                | Uop::_INLINE_SUBSCR_RETURN
                | Uop::_INLINE_COLD
        )
    ) {
        return None;
    }
    // Room for the nested calls' values too.
    let site = InlineSite {
        stacksize: call
            .site
            .stacksize
            .max(nested_top.saturating_sub(callee.nlocalsplus)),
        ..call.site
    };
    Some(InlineBody {
        site,
        instructions,
        nargs: callee.args,
        locals,
        uops,
        materializes: stores,
        code_start: callee.code_start,
        // The callee's and those of the callees nested in it.
        const_words: std::iter::once(callee)
            .chain(callee.inline_calls.iter().map(|c| &*c.callee))
            .flat_map(|code| code.consts.iter().zip(&code.const_words))
            .filter_map(|(&(object, _), word)| word.map(|(w, float)| (object, w, float)))
            .chain(callee.known_words.iter().copied())
            .collect(),
        burned,
        burned_attrs,
    })
}

/// The load of a global at the callee's instruction `j` whose value is
/// known (`CodeInput::known_globals`) as a constant pushed, and the plain
/// loads right after it of a class's or a module's attribute
/// (`Direction.FORWARD`, `math.pi`: `CodeInput::known_attrs`, which no
/// jump lands on) as the constant the last one reads, after checks that
/// the classes keep their versions and the modules are modules (as the
/// caller's own burned-in loads, `optimize::globals`). Returns what it
/// burned in.
fn burn_global(
    callee: &CodeInput,
    insts: &[Inst],
    j: usize,
    targeted: &[bool],
    uops: &mut Vec<UopInst>,
) -> Option<(KnownGlobal, Vec<KnownAttr>)> {
    let inst = &insts[j];
    if deopt(inst.opcode) != LOAD_GLOBAL {
        return None;
    }
    let global = *callee
        .known_globals
        .iter()
        .find(|g| g.offset == inst.offset)?;
    let mut chain: Vec<KnownAttr> = Vec::new();
    for k in j + 1..insts.len() {
        if targeted[k] || chain.last().is_some_and(|a| a.method) {
            break;
        }
        let Some(attr) = callee
            .known_attrs
            .iter()
            .find(|a| a.offset == insts[k].offset)
        else {
            break;
        };
        chain.push(*attr);
    }
    let unit = inst.start;
    for a in &chain {
        let (op, oparg) = match a.version {
            0 => (Uop::_CHECK_CONST_MODULE, 0),
            v => (Uop::_CHECK_CONST_TYPE_VERSION, v),
        };
        uops.push(UopInst::at(op, oparg, a.owner, unit));
    }
    let (value, immortal, with_null) = match chain.last() {
        Some(a) => (a.value, a.immortal, a.method),
        None => (global.value, global.immortal, inst.oparg & 1 != 0),
    };
    uops.push(UopInst::at(
        Uop::load_constant(immortal, with_null),
        0,
        value,
        unit,
    ));
    Some((global, chain))
}

/// Inlines `inner`, the call of instruction `j` of a body being built
/// (`uops`), whose stack there is `sp` slots above the callee's local 0,
/// into the body: its entry's checks and its own body (not one that
/// stores, which is this body's alone to materialize), its locals the
/// body's slots where its arguments are, its jumps naming micro-ops
/// (noted in `absolute_jumps`), each return but the last jumping to the
/// next instruction. Returns the slot its values reach and the bytecode
/// instructions inlined; `None`, nothing pushed, if it has no such body.
fn nest(
    uops: &mut Vec<UopInst>,
    absolute_jumps: &mut Vec<usize>,
    inner: &InlineCall,
    sp: u32,
    insts: &[Inst],
    j: usize,
) -> Option<(u32, u32)> {
    // (A nested callee's globals are not known, `hook::inline_callee`: a
    // body burning any in would need its caller to watch them.)
    let body = inline_body(inner).filter(|b| !b.materializes && b.burned.is_empty())?;
    let base = sp.checked_sub(body.nargs)?;
    let unit = insts[j].start;
    let at = |op: Uop, oparg: u32, operand: u64| UopInst {
        op,
        oparg,
        operand,
        inst: unit,
        jump: None,
    };
    // The entry's checks, but the room's (this body's entry checks it for
    // both); a subscript's `__getitem__` is not among a body's calls.
    if body.site.getitem.is_some() {
        return None;
    }
    uops.extend(body.entry_checks(None, unit));
    let last = body.uops.len() - 1;
    // Where each of its micro-ops lands, for its jumps.
    let mut landed = Vec::with_capacity(body.uops.len());
    for (k, u) in body.uops.iter().enumerate() {
        let mut u = UopInst { inst: unit, ..*u };
        if u.op.names_local() {
            u.oparg += base;
        }
        // Its returns, told apart from the body's own.
        let returns = matches!(u.op, Uop::_INLINE_RETURN | Uop::_INLINE_INIT_RETURN);
        u.op = match u.op {
            Uop::_INLINE_RETURN => Uop::_NESTED_RETURN,
            Uop::_INLINE_INIT_RETURN => Uop::_NESTED_INIT_RETURN,
            op => op,
        };
        landed.push(uops.len());
        uops.push(u);
        if returns && k != last {
            uops.push(UopInst {
                jump: Some(j as u32 + 1),
                ..at(Uop::_JUMP, 0, 0)
            });
        }
    }
    for &k in &landed {
        if let Some(t) = uops[k].jump {
            uops[k].jump = Some(landed[t as usize] as u32);
            absolute_jumps.push(k);
        }
    }
    Some((
        base + body.nargs + body.locals + body.site.stacksize,
        body.instructions,
    ))
}

/// The stack depth at each instruction of a callee's straight, forward-
/// jumping bytecode (`targets`: each instruction's micro-ops' jump
/// targets), from CPython's stack effects; `None` where unknown or not
/// reached.
fn stack_depths(insts: &[Inst], targets: &[SmallVec<[Option<u32>; 4]>]) -> Vec<Option<u32>> {
    let mut depths: Vec<Option<u32>> = vec![None; insts.len() + 1];
    depths[0] = Some(0);
    for (j, inst) in insts.iter().enumerate() {
        let Some(d) = depths[j] else { continue };
        // (The generic instruction's effect: a specialization that pushes
        // a frame, `CALL_PY_EXACT_ARGS`, has its result pushed on return.)
        let samples = &STACK_EFFECTS[deopt(inst.opcode) as usize];
        let Some(&(popped, pushed)) = samples.get(inst.oparg as usize).or_else(|| {
            samples
                .iter()
                .all(|e| *e == samples[0])
                .then(|| &samples[0])
        }) else {
            continue;
        };
        let Some(after) = (d as i64 - popped as i64 + pushed as i64).try_into().ok() else {
            continue;
        };
        for &t in targets[j].iter().flatten() {
            if (t as usize) > j {
                depths[t as usize].get_or_insert(after);
            }
        }
        if !matches!(
            deopt(inst.opcode),
            RETURN_VALUE | RETURN_CONST | RAISE_VARARGS | RERAISE | JUMP_FORWARD
        ) {
            depths[j + 1].get_or_insert(after);
        }
    }
    depths.truncate(insts.len());
    depths
}

/// For the second of two instructions of an inlined body (`pair`), the
/// local whose object's attribute it loads, if it is a plain attribute
/// load (an instance's value or slot, or a load CPython did not
/// specialize) where no jump lands, right after the first pushed the
/// local (its `_LOAD_FAST`, the last of `uops` so far).
fn local_attribute_load(pair: &[Inst], uops: &[UopInst], targeted: bool) -> Option<u32> {
    let [load, attr] = pair else { return None };
    let last = uops.last()?;
    (is_plain_attribute_load(attr)
        && matches!(load.opcode, LOAD_FAST | LOAD_FAST_LOAD_FAST)
        && last.op == Uop::_LOAD_FAST
        && !targeted)
        .then_some(last.oparg)
}

/// For the second of two instructions of an inlined body (`pair`), the
/// local whose object's attribute it stores into, if it is a store (of any
/// specialization) where no jump lands, right after the first pushed the
/// local (its `_LOAD_FAST`, the last of `uops` so far) above the value.
fn local_attribute_store(pair: &[Inst], uops: &[UopInst], targeted: bool) -> Option<u32> {
    let [load, store] = pair else { return None };
    let last = uops.last()?;
    (is_store_attr(store.opcode)
        && matches!(load.opcode, LOAD_FAST | LOAD_FAST_LOAD_FAST)
        && last.op == Uop::_LOAD_FAST
        && !targeted)
        .then_some(last.oparg)
}

/// Whether `opcode` is a `STORE_ATTR` of any specialization.
fn is_store_attr(opcode: u8) -> bool {
    matches!(
        opcode,
        STORE_ATTR | STORE_ATTR_INSTANCE_VALUE | STORE_ATTR_SLOT | STORE_ATTR_WITH_HINT
    )
}

/// Whether `inst` is a plain attribute load (not a method's) that a site
/// cache serves: unspecialized, or specialized for an instance's value,
/// a slot or a `__dict__`.
fn is_plain_attribute_load(inst: &Inst) -> bool {
    matches!(
        inst.opcode,
        LOAD_ATTR | LOAD_ATTR_INSTANCE_VALUE | LOAD_ATTR_SLOT | LOAD_ATTR_WITH_HINT
    ) && inst.oparg & 1 == 0
}

/// Inlined bodies compute with at most this many arithmetic operators
/// (see [`inline_body`]).
pub const MAX_INLINED_ARITHMETIC: usize = 16;

/// An operation's form for an inlined body, where anything but its fast
/// paths leaves for the call instead of running the operator the general
/// way or freeing an object (either may run code): unspecialized
/// arithmetic, subscripts of lists and tuples, `len()`, tuples built.
fn pure_form(op: Uop) -> Option<Uop> {
    Some(match op {
        Uop::_BINARY_OP_ADAPTIVE_ADD => Uop::_BINARY_OP_PURE_ADD,
        Uop::_BINARY_OP_ADAPTIVE_SUBTRACT => Uop::_BINARY_OP_PURE_SUBTRACT,
        Uop::_BINARY_OP_ADAPTIVE_MULTIPLY => Uop::_BINARY_OP_PURE_MULTIPLY,
        Uop::_BINARY_OP_ADAPTIVE_TRUE_DIVIDE => Uop::_BINARY_OP_PURE_TRUE_DIVIDE,
        Uop::_BINARY_OP_ADAPTIVE_AND => Uop::_BINARY_OP_PURE_AND,
        Uop::_BINARY_OP_ADAPTIVE_OR => Uop::_BINARY_OP_PURE_OR,
        Uop::_BINARY_OP_ADAPTIVE_XOR => Uop::_BINARY_OP_PURE_XOR,
        Uop::_BINARY_OP_ADAPTIVE_FLOOR_DIVIDE => Uop::_BINARY_OP_PURE_FLOOR_DIVIDE,
        Uop::_BINARY_OP_ADAPTIVE_REMAINDER => Uop::_BINARY_OP_PURE_REMAINDER,
        Uop::_BINARY_OP_ADAPTIVE_LSHIFT => Uop::_BINARY_OP_PURE_LSHIFT,
        Uop::_BINARY_OP_ADAPTIVE_RSHIFT => Uop::_BINARY_OP_PURE_RSHIFT,
        Uop::_BINARY_SUBSCR_LIST_INT => Uop::_BINARY_SUBSCR_LIST_INT_PURE,
        Uop::_BINARY_SUBSCR_TUPLE_INT => Uop::_BINARY_SUBSCR_TUPLE_INT_PURE,
        Uop::_CALL_LEN => Uop::_CALL_LEN_PURE,
        Uop::_BUILD_TUPLE => Uop::_BUILD_TUPLE_PURE,
        Uop::_CALL_ISINSTANCE => Uop::_CALL_ISINSTANCE_PURE,
        _ => return None,
    })
}

/// Whether a micro-op may be part of an inlined body ([`inline_body`]):
/// it reads locals, constants, globals (those of the caller's frame, which
/// the entry checks are the callee's), attributes of instances, classes
/// or modules (no descriptors), or items of lists and tuples, or computes
/// ints, floats and bools, tuples of values, or the length of a built-in
/// container, releasing only such values or ones their objects still hold,
/// so that it runs no code; its only exits are guards and failed
/// allocations; and it needs no instruction pointer.
fn inlinable(op: Uop, oparg: u32) -> bool {
    let pure = match op {
        Uop::_LOAD_ATTR_INSTANCE_VALUE
        | Uop::_LOAD_ATTR_SLOT
        | Uop::_LOAD_ATTR_CLASS
        | Uop::_LOAD_ATTR_WITH_HINT => oparg & 1 == 0,
        // An instance's `__dict__` of str keys, read at a hint (no key
        // compared).
        Uop::_CHECK_ATTR_WITH_HINT => true,
        // A method's load, for a call inlined in the body in turn
        // (`nest`; any other call is refused): guards, and the class's
        // function pushed.
        Uop::_GUARD_DORV_VALUES_INST_ATTR_FROM_DICT
        | Uop::_GUARD_KEYS_VERSION
        | Uop::_LOAD_ATTR_METHOD_WITH_VALUES
        | Uop::_LOAD_ATTR_METHOD_NO_DICT => true,
        // With the `NULL` of a call after it (`len(x)`, `math.sqrt(x)`).
        Uop::_LOAD_ATTR_MODULE
        | Uop::_LOAD_GLOBAL_MODULE
        | Uop::_LOAD_GLOBAL_BUILTINS
        | Uop::_GUARD_GLOBALS_VERSION
        | Uop::_GUARD_BUILTINS_VERSION
        | Uop::_CHECK_ATTR_CLASS
        | Uop::_CHECK_ATTR_MODULE => true,
        Uop::_NOP
        | Uop::_LOAD_FAST
        | Uop::_LOAD_CONST
        | Uop::_POP_TOP
        | Uop::_COPY
        | Uop::_SWAP
        | Uop::_GUARD_TYPE_VERSION
        | Uop::_CHECK_MANAGED_OBJECT_HAS_VALUES
        | Uop::_GUARD_BOTH_INT
        | Uop::_GUARD_NOS_INT
        | Uop::_GUARD_TOS_INT
        | Uop::_GUARD_BOTH_FLOAT
        | Uop::_GUARD_NOS_FLOAT
        | Uop::_GUARD_TOS_FLOAT
        | Uop::_COMPARE_OP_INT
        | Uop::_COMPARE_OP_FLOAT
        | Uop::_IS_OP
        | Uop::_TO_BOOL_BOOL
        | Uop::_TO_BOOL_INT
        | Uop::_TO_BOOL_NONE
        | Uop::_UNARY_NOT
        | Uop::_IS_NONE
        | Uop::_POP_JUMP_IF_FALSE
        | Uop::_POP_JUMP_IF_TRUE
        | Uop::_JUMP
        | Uop::_BINARY_SUBSCR_LIST_INT_PURE
        | Uop::_BINARY_SUBSCR_TUPLE_INT_PURE
        | Uop::_CALL_LEN_PURE
        | Uop::_BUILD_TUPLE_PURE
        | Uop::_CALL_BUILTIN_O_PURE
        | Uop::_CALL_ISINSTANCE_PURE
        | Uop::_PUSH_NULL
        | Uop::_POP_FRAME => true,
        _ => op.is_arithmetic(),
    };
    pure && (op == Uop::_POP_FRAME || !op.needs_ip())
}

/// Whether `inst` is an adaptive instruction the interpreter has never run:
/// its counter is still the one CPython set when quickening the code (the
/// first run moves it, and a specialization changes the opcode).
fn never_ran(code: &CodeInput, inst: &Inst) -> bool {
    is_adaptive(inst.opcode)
        && !code.generic.contains(&inst.offset)
        && counter(code, inst) == consts::ADAPTIVE_COUNTER_WARMUP as u16
}

/// An adaptive instruction's counter, its first cache entry.
fn counter(code: &CodeInput, inst: &Inst) -> u16 {
    code.units
        .get(inst.offset as usize + 1)
        .copied()
        .unwrap_or(0)
}

/// For the `SEND` of an `async for` (its exception handler is the loop's
/// `END_ASYNC_FOR`, without `lasti`): the offset after that instruction,
/// where the loop goes on once the iterator is exhausted, and the stack
/// slot the stack ends at there (above the handler's depth, the iterator
/// itself is popped too).
fn async_for_end(code: &CodeInput, insts: &[Inst], send: &Inst) -> Option<(u32, u64)> {
    let handler =
        jitsaw_cpython313::exception_table::handler_for(&code.exception_table, send.offset)?;
    let end = insts.iter().find(|i| i.start == handler.target)?;
    (end.opcode == END_ASYNC_FOR && !handler.lasti && handler.depth >= 1).then(|| {
        (
            end.offset + 1,
            (code.nlocalsplus + handler.depth - 1) as u64,
        )
    })
}

/// Every exception handler's instruction index with the stack depth it is
/// entered at (the unwound depth, the raising offset if `lasti`, the
/// exception).
fn handler_entries(table: &[u8], insts: &[Inst]) -> Vec<(u32, u32)> {
    // The handlers of the table's entries that cover an instruction (each
    // instruction's, as `handler_for` finds it, without a search of the
    // table per instruction).
    let mut entries: Vec<(u32, u32)> = jitsaw_cpython313::exception_table::entries(table)
        .filter(|&(start, end, _)| {
            let first = insts.partition_point(|i| i.offset < start);
            insts.get(first).is_some_and(|i| i.offset < end)
        })
        .filter_map(|(_, _, h)| {
            let at = insts.binary_search_by_key(&h.target, |i| i.start).ok()?;
            Some((at as u32, h.depth + h.lasti as u32 + 1))
        })
        .collect();
    entries.sort_unstable();
    entries.dedup();
    entries
}

/// The generic form of a specialized instruction, for its guards to fall
/// back to instead of leaving compiled code: it means the same, and guards
/// fail before an instruction changes anything. `None` when the
/// instruction's exits are not guards, or it has no generic form.
fn fallback(code: &CodeInput, insts: &[Inst], i: usize, main: &[Lowered]) -> Option<Lowering> {
    let guarded = main.iter().any(|u| u.op.guard_exits());
    if !guarded || i + 1 >= insts.len() {
        return None;
    }
    let mut generic = lower_inst(code, insts, i, true);
    let same = generic.len() == main.len() && generic.iter().zip(main).all(|(g, m)| g.op == m.op);
    if same || generic.iter().any(|u| u.op == Uop::_DEOPT) {
        return None;
    }
    strip_fast_paths(&mut generic);
    Some(generic)
}

/// Lowers micro-ops with inline fast paths to their plain generic forms
/// (see [`without_fast_paths`]); whether there was any.
fn strip_fast_paths(uops: &mut [Lowered]) -> bool {
    let mut stripped = false;
    for u in uops {
        let plain = without_fast_paths(u.op);
        stripped |= plain != u.op;
        u.op = plain;
    }
    stripped
}

/// The plain generic form of an unspecialized micro-op with inline fast
/// paths, for fallbacks: a fallback runs only until its instruction, if it
/// keeps falling back, is compiled generic (with the fast paths), and the
/// fast paths are most of the code compiled (1-2 KB each, beside ~100
/// bytes for the call).
fn without_fast_paths(op: Uop) -> Uop {
    match op {
        Uop::_BINARY_OP_ADAPTIVE_ADD
        | Uop::_BINARY_OP_ADAPTIVE_SUBTRACT
        | Uop::_BINARY_OP_ADAPTIVE_MULTIPLY
        | Uop::_BINARY_OP_ADAPTIVE_TRUE_DIVIDE
        | Uop::_BINARY_OP_ADAPTIVE_AND
        | Uop::_BINARY_OP_ADAPTIVE_OR
        | Uop::_BINARY_OP_ADAPTIVE_XOR
        | Uop::_BINARY_OP_ADAPTIVE_LSHIFT
        | Uop::_BINARY_OP_ADAPTIVE_RSHIFT
        | Uop::_BINARY_OP_ADAPTIVE_FLOOR_DIVIDE
        | Uop::_BINARY_OP_ADAPTIVE_REMAINDER
        | Uop::_BINARY_OP_ADAPTIVE_POWER => Uop::_BINARY_OP,
        Uop::_COMPARE_OP_ADAPTIVE => Uop::_COMPARE_OP,
        Uop::_TO_BOOL_ADAPTIVE => Uop::_TO_BOOL,
        Uop::_BINARY_SUBSCR_ADAPTIVE => Uop::_BINARY_SUBSCR,
        Uop::_STORE_SUBSCR_ADAPTIVE => Uop::_STORE_SUBSCR,
        Uop::_UNPACK_SEQUENCE_ADAPTIVE => Uop::_UNPACK_SEQUENCE,
        op => op,
    }
}

/// Emits instruction `i`'s generic fallback: counted, then the generic
/// micro-ops, then back to the next instruction (checking first that no
/// instrumentation appeared if the generic form can run Python code).
fn emit_fallback(
    code: &CodeInput,
    i: usize,
    inst: &Inst,
    generic: &[Lowered],
    targets: &[Option<u32>],
    uops: &mut Vec<UopInst>,
) {
    let here = i as u32;
    let next = here + 1;
    let mut push = |op: Uop, oparg: u32, operand: u64, inst: u32, jump: Option<u32>| {
        uops.push(UopInst {
            op,
            oparg,
            operand,
            inst,
            jump,
        })
    };
    push(Uop::_GENERIC, inst.opcode as u32, 0, here, None);
    if let Some((_, generic_runs)) = code.run_counters {
        push(
            Uop::_COUNT_RUN,
            0,
            generic_runs + 8 * inst.offset as u64,
            here,
            None,
        );
    }
    if generic.iter().any(|u| u.op.needs_ip()) {
        push(
            Uop::_SET_IP,
            0,
            code.code_start + 2 * inst.offset as u64,
            here,
            None,
        );
    }
    for (u, target) in generic.iter().zip(targets) {
        push(u.op, u.oparg, u.operand, here, *target);
    }
    if falls_through(generic) {
        if generic.iter().any(|u| u.op.escapes()) {
            push(code.validity_check(), 0, code.version, next, None);
        }
        push(Uop::_JUMP, 0, 0, next, Some(next));
    }
}

/// Whether a suspended generator resumes at the instruction after one of
/// this opcode (its first resumption after `RETURN_GENERATOR`, the others
/// after a `YIELD_VALUE`).
pub fn resumes_after(opcode: u8) -> bool {
    matches!(opcode, YIELD_VALUE | RETURN_GENERATOR)
}

/// If instruction `i` is the `RESUME` after a `yield from`'s or `await`'s
/// `YIELD_VALUE` (`SEND`, `YIELD_VALUE`, `RESUME`, then
/// `JUMP_BACKWARD_NO_INTERRUPT` back to the `SEND`): the `SEND`'s index.
/// A frame resuming there sends the value it got on at once, through the
/// `SEND`, which compiled code may do for it (`resume_cached` in the
/// stencils); its `instr_ptr` then moves back three code units, from the
/// `RESUME` to the `SEND`, as the stencils assume.
pub fn delegating_send(insts: &[Inst], i: usize) -> Option<usize> {
    let [send, yield_value, resume, jump] = insts.get(i.checked_sub(2)?..i + 2)? else {
        return None;
    };
    (deopt(send.opcode) == SEND
        && yield_value.opcode == YIELD_VALUE
        && deopt(resume.opcode) == RESUME
        && jump.opcode == JUMP_BACKWARD_NO_INTERRUPT
        && yield_value.start == send.offset + 1 + caches(SEND) as u32
        && resume.start == yield_value.offset + 1
        && resume.offset == send.offset + 3
        && (jump.offset + 1).checked_sub(jump.oparg) == Some(send.start))
    .then_some(i - 2)
}

/// Every `LOAD_GLOBAL` (any form): its offset and the index of its name in
/// `co_names`.
pub fn global_loads(insts: &[Inst]) -> Vec<(u32, u32)> {
    insts
        .iter()
        .filter(|i| deopt(i.opcode) == LOAD_GLOBAL)
        .map(|i| (i.offset, i.oparg >> 1))
        .collect()
}

/// The `co_names` index of every name the code stores or deletes as a
/// global (`STORE_GLOBAL`, `DELETE_GLOBAL`): names not worth burning in.
pub fn global_stores(insts: &[Inst]) -> Vec<u32> {
    insts
        .iter()
        .filter(|i| matches!(i.opcode, STORE_GLOBAL | DELETE_GLOBAL))
        .map(|i| i.oparg)
        .collect()
}

/// Splits bytecode into instructions, folding `EXTENDED_ARG` prefixes and
/// skipping inline caches.
pub fn decode(units: &[u16]) -> Result<Vec<Inst>, Refusal> {
    // Sized for the most instructions the units can hold: collected from
    // the fallible iterator, the vector grew from nothing (reallocations
    // were 4 % of compiling).
    let mut insts = Vec::with_capacity(units.len());
    for inst in instructions(units) {
        insts.push(inst?);
    }
    Ok(insts)
}

/// What the frame hook learns of a code object's bytecode at its first call
/// ([`shape`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// It has a loop (a `JUMP_BACKWARD`).
    pub loops: bool,
    /// It calls (`CALL`, `CALL_KW`, `CALL_FUNCTION_EX`) or imports
    /// (`IMPORT_NAME`, `IMPORT_FROM`: a module's code may run).
    pub calls: bool,
    /// How many instructions it has.
    pub instructions: u32,
}

/// The bytecode's [`Shape`], as [`decode`] would find it (no loop or call
/// in code it refuses), without [`decode`]'s allocation. The hook asks it
/// of every function at its first call (a hundred at a start-up), so it
/// reads one table entry per instruction: the walk from one instruction to
/// the next, past its caches, is a chain of dependent loads.
pub fn shape(units: &[u16]) -> Shape {
    let (mut i, mut seen, mut instructions) = (0usize, 0u8, 0u32);
    while i < units.len() {
        let (span, flags) = SHAPE_OF[(units[i] & 0xFF) as usize];
        if flags & SHAPE_REFUSED != 0 {
            return Shape {
                instructions,
                ..Shape::default()
            };
        }
        seen |= flags;
        instructions += u32::from(flags & SHAPE_COUNTED != 0);
        i += span as usize;
    }
    Shape {
        loops: seen & SHAPE_LOOPS != 0,
        calls: seen & SHAPE_CALLS != 0,
        instructions,
    }
}

/// [`SHAPE_OF`]'s flags: the opcode jumps backward, calls or imports, is an
/// instruction of its own (not an `EXTENDED_ARG`), or ends what the
/// frontend takes (an instrumented opcode, `ENTER_EXECUTOR`).
const SHAPE_LOOPS: u8 = 1;
const SHAPE_CALLS: u8 = 2;
const SHAPE_COUNTED: u8 = 4;
const SHAPE_REFUSED: u8 = 8;

/// Per opcode, the code units it spans with its caches and its
/// `SHAPE_*` flags, as [`instructions`] decodes it.
static SHAPE_OF: [(u8, u8); 256] = {
    let mut table = [(1u8, 0u8); 256];
    let mut op = 0;
    while op < 256 {
        let x = op as u8;
        let base = deopt(x);
        table[op] = if x >= MIN_INSTRUMENTED_OPCODE || x == ENTER_EXECUTOR {
            (1, SHAPE_REFUSED)
        } else if x == EXTENDED_ARG {
            (1, 0)
        } else {
            let mut flags = SHAPE_COUNTED;
            if base == JUMP_BACKWARD {
                flags |= SHAPE_LOOPS;
            }
            if matches!(
                base,
                CALL | CALL_KW | CALL_FUNCTION_EX | IMPORT_NAME | IMPORT_FROM
            ) {
                flags |= SHAPE_CALLS;
            }
            (1 + caches(base) as u8, flags)
        };
        op += 1;
    }
    table
};

/// Makes due again the generic instructions of `units` that CPython does
/// not specialize while a frame evaluator is installed (calls of Python
/// functions and classes, property and `__getitem__` loads, loops over and
/// sends to generators: their specialized forms push frames the hook would
/// not see) and that failed to: their counters back off after a failure,
/// and a warm-up call with the hook lifted would then run them as a plain
/// interpreter never does. A due counter looks as the quickened bytecode
/// has it (never tried); one that failed for another reason fails again.
pub fn retry_refused_specializations(units: &mut [u16]) {
    // Up to an instrumented instruction, whose caches are not known here.
    let counters: Vec<usize> = instructions(units)
        .map_while(Result::ok)
        .filter(|i| matches!(i.opcode, CALL | LOAD_ATTR | BINARY_SUBSCR | FOR_ITER | SEND))
        .map(|i| i.offset as usize + 1)
        .collect();
    for at in counters {
        let Some(counter) = units.get_mut(at) else {
            continue;
        };
        // `_Py_BackoffCounter`: backoff in bits 0-3 (1 until a first
        // failure), value in bits 4-15; 0xFFFF never changes.
        if *counter != 0xFFFF && *counter & 0xF > 1 {
            *counter = 1;
        }
    }
}

/// The instructions of [`decode`], one at a time; an instrumented opcode
/// (which the frontend refuses) ends them with an error.
fn instructions(units: &[u16]) -> impl Iterator<Item = Result<Inst, Refusal>> + '_ {
    let (mut i, mut start, mut ext) = (0usize, 0usize, 0u32);
    std::iter::from_fn(move || {
        while i < units.len() {
            let (op, arg) = ((units[i] & 0xFF) as u8, (units[i] >> 8) as u32);
            if op >= MIN_INSTRUMENTED_OPCODE || op == ENTER_EXECUTOR {
                i = units.len();
                return Some(Err(Refusal::NotNow(format!("instrumented ({})", name(op)))));
            }
            if op == EXTENDED_ARG {
                ext = (ext | arg) << 8;
                i += 1;
                continue;
            }
            let inst = Inst {
                start: start as u32,
                offset: i as u32,
                opcode: op,
                oparg: ext | arg,
                first: 0,
                count: 0,
                fallback: 0,
                fallback_count: 0,
            };
            ext = 0;
            i += 1 + caches(deopt(op));
            start = i;
            return Some(Ok(inst));
        }
        None
    })
}

/// Whether `op` is a generic instruction with specialized forms, whose
/// first cache entry is the counter that decides when to specialize it.
pub fn is_adaptive(op: u8) -> bool {
    static ADAPTIVE: std::sync::OnceLock<[bool; 256]> = std::sync::OnceLock::new();
    ADAPTIVE.get_or_init(|| {
        let mut table = [false; 256];
        for x in 0..=255u8 {
            let base = deopt(x);
            if x != base && OPCODE_INFO[x as usize].valid && caches(base) > 0 {
                table[base as usize] = true;
            }
        }
        table
    })[op as usize]
}

/// The name of an opcode.
pub fn name(op: u8) -> &'static str {
    OPCODE_INFO[op as usize].name()
}

/// An instruction's micro-ops before jump targets are resolved: a few,
/// kept in line (lowering allocated two vectors per instruction).
type Lowering = SmallVec<[Lowered; 4]>;

/// A micro-op before jump targets are resolved.
#[derive(Clone, Copy, Debug)]
struct Lowered {
    op: Uop,
    oparg: u32,
    operand: u64,
    /// Code-unit offset a jump goes to.
    jump_to: Option<u32>,
}

fn uop(op: Uop, oparg: u32) -> Lowered {
    Lowered {
        op,
        oparg,
        operand: 0,
        jump_to: None,
    }
}

fn jump(op: Uop, oparg: u32, to: u32) -> Lowered {
    Lowered {
        op,
        oparg,
        operand: 0,
        jump_to: Some(to),
    }
}

/// Whether an adaptive instruction's counter should be advanced in compiled
/// code (`_QUICKEN`), so that the interpreter specializes it as it would
/// have. Not for `SEND`, which CPython never specializes while a frame
/// evaluator (jitsaw's) is set, nor for an instruction whose counter has
/// backed off [`QUICKEN_GIVE_UP_BACKOFF`] times, its specialization having
/// failed each time (a call of a Python function fails the same way): the
/// counter would cost every run, and a deopt to the interpreter when due,
/// for nothing.
fn worth_quickening(code: &CodeInput, inst: &Inst) -> bool {
    inst.opcode != SEND && counter(code, inst) & 0xF < QUICKEN_GIVE_UP_BACKOFF
}

/// The quickening micro-op for the code: what to do when a counter is due.
fn quicken(code: &CodeInput) -> Uop {
    if !code.loops {
        Uop::_QUICKEN
    } else if code.report_due {
        Uop::_QUICKEN_REPORT
    } else {
        Uop::_QUICKEN_COUNT
    }
}

/// See [`worth_quickening`]: CPython's counters start at backoff 1 and add
/// one at each failed specialization (`adaptive_counter_backoff`).
const QUICKEN_GIVE_UP_BACKOFF: u16 = 4;

/// One instruction's micro-ops; with `generic`, those of its generic form.
fn lower_inst(code: &CodeInput, insts: &[Inst], i: usize, generic: bool) -> Lowering {
    let inst = &insts[i];
    // An instruction whose specialization kept failing is compiled as its
    // fallback is: the generic form, with the inline fast paths of the
    // adaptive micro-ops where it has them.
    let generic = generic || code.generic.contains(&inst.offset);
    let op = if generic {
        deopt(inst.opcode)
    } else {
        inst.opcode
    };
    let oparg = inst.oparg;
    let next = inst.offset + 1 + caches(deopt(op)) as u32;
    let followed_by = |expected: u8| insts.get(i + 1).filter(|n| n.opcode == expected);
    let location = if deopt(op) == RESUME {
        oparg & consts::RESUME_OPARG_LOCATION_MASK as u32
    } else {
        0
    };
    let check = Lowered {
        operand: code.version,
        ..uop(Uop::_CHECK_EVAL_BREAKER, location)
    };
    match op {
        RESUME | RESUME_CHECK => return smallvec![check],
        JUMP_BACKWARD if code.long_loops => {
            let head = next - oparg;
            return smallvec![
                check,
                uop(Uop::_CHECK_LONG_LOOP, head),
                jump(Uop::_JUMP, 0, head)
            ];
        }
        JUMP_BACKWARD => return smallvec![check, jump(Uop::_JUMP, 0, next - oparg)],
        JUMP_BACKWARD_NO_INTERRUPT => return smallvec![jump(Uop::_JUMP, 0, next - oparg)],
        JUMP_FORWARD => return smallvec![jump(Uop::_JUMP, 0, next + oparg)],
        BUILD_SET => return smallvec![uop(Uop::_BUILD_SET, oparg)],
        BINARY_OP => {
            if let Some(adaptive) = adaptive_binary_op(oparg) {
                return smallvec![uop(adaptive, oparg)];
            }
        }
        COMPARE_OP => return smallvec![uop(Uop::_COMPARE_OP_ADAPTIVE, oparg)],
        TO_BOOL => return smallvec![uop(Uop::_TO_BOOL_ADAPTIVE, oparg)],
        BINARY_SUBSCR => return smallvec![uop(Uop::_BINARY_SUBSCR_ADAPTIVE, oparg)],
        STORE_SUBSCR => return smallvec![uop(Uop::_STORE_SUBSCR_ADAPTIVE, oparg)],
        UNPACK_SEQUENCE => return smallvec![uop(Uop::_UNPACK_SEQUENCE_ADAPTIVE, oparg)],
        RERAISE => return smallvec![uop(Uop::_RERAISE, oparg)],
        YIELD_VALUE => {
            return smallvec![Lowered {
                operand: code.code_start + 2 * next as u64,
                ..uop(Uop::_YIELD_VALUE, oparg)
            }]
        }
        SEND | SEND_GEN => {
            let Some((after, slot)) = async_for_end(code, insts, inst) else {
                return smallvec![
                    jump(Uop::_SEND, oparg, next + oparg),
                    jump(Uop::_SEND_GEN_RETURNED, 0, next + oparg),
                ];
            };
            return smallvec![
                jump(Uop::_SEND_ASYNC_FOR, oparg, next + oparg),
                Lowered {
                    operand: slot,
                    ..jump(Uop::_ASYNC_FOR_RETURNED, 0, after)
                },
                jump(Uop::_ASYNC_FOR_SENT, 0, next + oparg),
            ];
        }
        FOR_ITER | FOR_ITER_GEN => return for_iter(oparg, next),
        // An async generator's `yield` wraps its value for the `asend`
        // awaitable that resumed it; one whose `SEND` resumed it directly
        // takes the value as it is.
        CALL_INTRINSIC_1 if oparg as i64 == consts::INTRINSIC_ASYNC_GEN_WRAP => {
            return smallvec![uop(Uop::_ASYNC_GEN_WRAP, oparg)]
        }
        CLEANUP_THROW => return smallvec![uop(Uop::_CLEANUP_THROW, oparg)],
        END_ASYNC_FOR => return smallvec![uop(Uop::_END_ASYNC_FOR, oparg)],
        RAISE_VARARGS => return smallvec![uop(Uop::_RAISE_VARARGS, oparg)],
        BEFORE_WITH => return smallvec![uop(Uop::_BEFORE_WITH, oparg)],
        BEFORE_ASYNC_WITH => return smallvec![uop(Uop::_BEFORE_ASYNC_WITH, oparg)],
        LOAD_NAME => return smallvec![uop(Uop::_LOAD_NAME, oparg)],
        LOAD_FROM_DICT_OR_GLOBALS => return smallvec![uop(Uop::_LOAD_FROM_DICT_OR_GLOBALS, oparg)],
        LOAD_SUPER_ATTR => return smallvec![uop(Uop::_LOAD_SUPER_ATTR, oparg)],
        IMPORT_NAME => return smallvec![uop(Uop::_IMPORT_NAME, oparg)],
        // The interpreter imports from anything but a plain module; once
        // that is seen here, it does so without first trying.
        IMPORT_FROM if !generic => return smallvec![uop(Uop::_IMPORT_FROM, oparg)],
        CALL_FUNCTION_EX => {
            return smallvec![
                uop(Uop::_CALL_FUNCTION_EX, oparg),
                uop(Uop::_CHECK_PERIODIC, 0),
            ]
        }
        CALL_KW => return smallvec![uop(Uop::_CALL_KW, oparg), uop(Uop::_CHECK_PERIODIC, 0)],
        CALL_TUPLE_1
        | CALL_BUILTIN_CLASS
        | CALL_BUILTIN_O
        | CALL_BUILTIN_FAST_WITH_KEYWORDS
        | CALL_METHOD_DESCRIPTOR_O
            if !generic && consumes_genexpr(insts, i) =>
        {
            return smallvec![
                uop(Uop::_CONSUME_GENEXPR, oparg),
                uop(Uop::_CONSUME_GENEXPR_NEXT, oparg),
                uop(Uop::_CHECK_PERIODIC, 0),
            ]
        }
        CALL_PY_EXACT_ARGS if !generic && oparg == 0 => {
            if let Some(t) = code.trivial_calls.iter().find(|t| t.offset == inst.offset) {
                return smallvec![Lowered {
                    operand: t.result,
                    ..uop(Uop::_CALL_TRIVIAL, t.version)
                }];
            }
        }
        // The interpreter's catch-all for callables that are neither Python
        // functions nor builtins it specializes; among them classes whose
        // instances lack inline values (`__slots__`), which the generic
        // `_CALL` (the guard's fallback, then the instruction's form once
        // it keeps falling back) makes and enters the `__init__` of
        // directly, as it does the classes CPython specializes.
        CALL_NON_PY_GENERAL if !generic => {
            return smallvec![
                uop(Uop::_CHECK_IS_NOT_PY_CALLABLE, oparg),
                uop(Uop::_CHECK_NOT_CALLED_DIRECTLY, oparg),
                uop(Uop::_CALL_NON_PY_GENERAL, oparg),
                uop(Uop::_CHECK_PERIODIC, 0),
            ]
        }
        CALL_ALLOC_AND_ENTER_INIT if !generic => {
            // The cache's `func_version` is the class's type version.
            let at = inst.offset as usize + 2;
            let version = code.units[at] as u64 | (code.units[at + 1] as u64) << 16;
            return smallvec![
                Lowered {
                    operand: version,
                    ..uop(Uop::_CALL_ALLOC_AND_ENTER_INIT, oparg)
                },
                uop(Uop::_EXIT_INIT_CHECK, 0),
                uop(Uop::_CHECK_PERIODIC, 0),
            ];
        }
        CALL_LIST_APPEND => {
            if let Some(pop) = followed_by(POP_TOP) {
                return smallvec![
                    uop(Uop::_CALL_LIST_APPEND, oparg),
                    jump(Uop::_JUMP, 0, pop.offset + 1),
                ];
            }
        }
        BINARY_OP_INPLACE_ADD_UNICODE => {
            if let Some(store) = followed_by(STORE_FAST) {
                return smallvec![
                    uop(Uop::_GUARD_BOTH_UNICODE, 0),
                    Lowered {
                        operand: store.oparg as u64,
                        ..uop(Uop::_BINARY_OP_INPLACE_ADD_UNICODE, oparg)
                    },
                    jump(Uop::_JUMP, 0, store.offset + 1),
                ];
            }
        }
        _ => {}
    }
    let base = deopt(op);
    if base == LOAD_GLOBAL && !generic {
        if let Some((_, slot)) = code.globals.iter().find(|(at, _)| *at == inst.offset) {
            return load_global(oparg, slot);
        }
    }
    let specialized = if generic {
        None
    } else {
        expand(code, inst, op, next)
    };
    if let Some(uops) = specialized.filter(|u| !stale(code, u)) {
        return uops;
    }
    // A specialization without stencils (or that cannot succeed) means what
    // its generic form means.
    if base == CALL {
        return smallvec![uop(Uop::_CALL, oparg), uop(Uop::_CHECK_PERIODIC, 0)];
    }
    if base == FOR_ITER {
        return for_iter(oparg, next);
    }
    if base != op || generic {
        if let Some(uops) = expand(code, inst, base, next) {
            return uops;
        }
    }
    let start = code.code_start + 2 * inst.start as u64;
    smallvec![Lowered {
        operand: start,
        ..uop(Uop::_DEOPT, 0)
    }]
}

/// `FOR_ITER` over any iterator; exhausted, it jumps past the loop's
/// `END_FOR` and `POP_TOP`.
fn for_iter(oparg: u32, next: u32) -> Lowering {
    let exit = next + oparg + 2;
    smallvec![
        jump(Uop::_FOR_ITER, oparg, exit),
        jump(Uop::_FOR_ITER_GEN_RETURNED, 0, exit),
    ]
}

/// Whether instruction `i` calls a builtin on the generator expression the
/// instruction before it made (`GET_ITER` then `CALL 0` of the generator
/// function with the iterator in the self slot), as the interpreter
/// specializes `tuple(...)`, `list(...)`, `set(...)`, `any(...)`,
/// `all(...)`, `min(...)`, `max(...)`, `sorted(...)` and `sep.join(...)`.
/// That `CALL 0` had one more value on the stack than this `CALL` has, so
/// the frame has room for the value `_CONSUME_GENEXPR` takes above the
/// generator.
fn consumes_genexpr(insts: &[Inst], i: usize) -> bool {
    i >= 2
        && insts[i].oparg == 1
        && deopt(insts[i - 1].opcode) == CALL
        && insts[i - 1].oparg == 0
        && insts[i - 2].opcode == GET_ITER
}

/// The form of an unspecialized `BINARY_OP` with inline fast paths, for
/// the operators that have one.
fn adaptive_binary_op(oparg: u32) -> Option<Uop> {
    let op = oparg as i64;
    Some(match op {
        _ if op == consts::NB_ADD || op == consts::NB_INPLACE_ADD => Uop::_BINARY_OP_ADAPTIVE_ADD,
        _ if op == consts::NB_SUBTRACT || op == consts::NB_INPLACE_SUBTRACT => {
            Uop::_BINARY_OP_ADAPTIVE_SUBTRACT
        }
        _ if op == consts::NB_MULTIPLY || op == consts::NB_INPLACE_MULTIPLY => {
            Uop::_BINARY_OP_ADAPTIVE_MULTIPLY
        }
        _ if op == consts::NB_TRUE_DIVIDE || op == consts::NB_INPLACE_TRUE_DIVIDE => {
            Uop::_BINARY_OP_ADAPTIVE_TRUE_DIVIDE
        }
        _ if op == consts::NB_AND || op == consts::NB_INPLACE_AND => Uop::_BINARY_OP_ADAPTIVE_AND,
        _ if op == consts::NB_OR || op == consts::NB_INPLACE_OR => Uop::_BINARY_OP_ADAPTIVE_OR,
        _ if op == consts::NB_XOR || op == consts::NB_INPLACE_XOR => Uop::_BINARY_OP_ADAPTIVE_XOR,
        _ if op == consts::NB_LSHIFT || op == consts::NB_INPLACE_LSHIFT => {
            Uop::_BINARY_OP_ADAPTIVE_LSHIFT
        }
        _ if op == consts::NB_RSHIFT || op == consts::NB_INPLACE_RSHIFT => {
            Uop::_BINARY_OP_ADAPTIVE_RSHIFT
        }
        _ if op == consts::NB_FLOOR_DIVIDE || op == consts::NB_INPLACE_FLOOR_DIVIDE => {
            Uop::_BINARY_OP_ADAPTIVE_FLOOR_DIVIDE
        }
        _ if op == consts::NB_REMAINDER || op == consts::NB_INPLACE_REMAINDER => {
            Uop::_BINARY_OP_ADAPTIVE_REMAINDER
        }
        _ if op == consts::NB_POWER || op == consts::NB_INPLACE_POWER => {
            Uop::_BINARY_OP_ADAPTIVE_POWER
        }
        _ => return None,
    })
}

/// `LOAD_GLOBAL` specialized from where the name is now (CPython's
/// `LOAD_GLOBAL_MODULE` or `LOAD_GLOBAL_BUILTIN` micro-ops).
fn load_global(oparg: u32, slot: &GlobalSlot) -> Lowering {
    let with = |op: Uop, operand: u32| Lowered {
        operand: operand as u64,
        ..uop(op, oparg)
    };
    let mut uops = smallvec![with(Uop::_GUARD_GLOBALS_VERSION, slot.globals_version)];
    if slot.builtin {
        uops.push(with(Uop::_GUARD_BUILTINS_VERSION, slot.builtins_version));
        uops.push(with(Uop::_LOAD_GLOBAL_BUILTINS, slot.index));
    } else {
        uops.push(with(Uop::_LOAD_GLOBAL_MODULE, slot.index));
    }
    uops
}

/// Whether a specialization's dict-version guard already fails for the
/// frame's globals or builtins (CPython re-specializes such an instruction
/// only after many misses; compiling it would deopt on every run).
fn stale(code: &CodeInput, uops: &[Lowered]) -> bool {
    uops.iter().any(|u| match u.op {
        Uop::_GUARD_GLOBALS_VERSION => code.globals_version != Some(u.operand as u32),
        Uop::_GUARD_BUILTINS_VERSION => code.builtins_version != Some(u.operand as u32),
        _ => false,
    })
}

/// The value `n` cache units at `offset` after the instruction at `inst`
/// hold (little-endian).
fn read_cache(units: &[u16], inst: &Inst, offset: i8, n: usize) -> u64 {
    let at = (inst.offset + 1) as usize + offset as usize;
    (0..n).fold(0u64, |acc, k| acc | (units[at + k] as u64) << (16 * k))
}

/// The operands CPython's macro expansion gives the micro-ops of `inst`
/// (those it reads from the inline cache; others 0), as lowering gives
/// them; `None` for an instruction without an expansion.
pub fn cache_operands(units: &[u16], inst: &Inst) -> Option<Vec<(Uop, u64)>> {
    let expansion = &MACRO_EXPANSION[inst.opcode as usize];
    if expansion.nuops <= 0 {
        return None;
    }
    expansion.uops[..expansion.nuops as usize]
        .iter()
        .map(|&(id, size, offset)| {
            let operand = match size {
                OPARG_CACHE_1 => read_cache(units, inst, offset, 1),
                OPARG_CACHE_2 => read_cache(units, inst, offset, 2),
                OPARG_CACHE_4 => read_cache(units, inst, offset, 4),
                _ => 0,
            };
            Some((Uop::from_cpython(id as u16)?, operand))
        })
        .collect()
}

/// For the call at instruction `call` (`CALL n`): the instruction that
/// pushed its callable (and `self` or `NULL` with it: a method load, a
/// global load), found by going back over the instructions that pushed the
/// `n` arguments ([`pushed_below`]). A prediction only: what runs is
/// checked at run time (`_CHECK_CALLEE`).
pub fn callable_load(insts: &[Inst], call: usize) -> Option<usize> {
    match pushed_below(insts, call, insts[call].oparg as usize)? {
        (load, 0) => Some(load),
        _ => None,
    }
}

/// For the subscript at instruction `at` (`container[sub]`): the local the
/// container was loaded from, if a `LOAD_FAST` or `LOAD_FAST_LOAD_FAST`
/// pushed it. A prediction only: what runs is checked at run time
/// (`_CHECK_SUBSCR_CLASS`).
pub fn subscript_container(insts: &[Inst], at: usize) -> Option<u32> {
    let (k, above) = pushed_below(insts, at, 1)?;
    let load = &insts[k];
    match (load.opcode, above) {
        (LOAD_FAST | LOAD_FAST_CHECK, 0) => Some(load.oparg),
        (LOAD_FAST_LOAD_FAST, 0) => Some(load.oparg & 15),
        (LOAD_FAST_LOAD_FAST, 1) => Some(load.oparg >> 4),
        _ => None,
    }
}

/// Where the left operand of the binary operator at instruction `at`
/// comes from: a local (a `LOAD_FAST` or `LOAD_FAST_LOAD_FAST` pushed it)
/// or a plain attribute of one (`self.centre - ray.point`: the local and
/// the name's index). A prediction only: what runs is checked at run time
/// (`_CHECK_BINARY_CLASSES`).
pub fn binary_left_operand(insts: &[Inst], at: usize) -> Option<(u32, Option<u32>)> {
    if let Some(local) = subscript_container(insts, at) {
        return Some((local, None));
    }
    let (k, 0) = pushed_below(insts, at, 1)? else {
        return None;
    };
    let owner = insts.get(k.checked_sub(1)?)?;
    (is_plain_attribute_load(&insts[k]) && owner.opcode == LOAD_FAST)
        .then_some((owner.oparg, Some(insts[k].oparg >> 1)))
}

/// The instruction that pushed the value below the top `n` values of the
/// stack at instruction `at`, found by going back over the instructions
/// that pushed those, and how many of that instruction's outputs are
/// among them (`LOAD_FAST_LOAD_FAST` pushes two). `None` where their code
/// jumps, or an instruction's stack effect is not known.
fn pushed_below(insts: &[Inst], at: usize, n: usize) -> Option<(usize, usize)> {
    // Values still to go back over.
    let mut above = n;
    let mut k = at;
    while above > 0 {
        k = k.checked_sub(1)?;
        let inst = &insts[k];
        if matches!(
            deopt(inst.opcode),
            JUMP_FORWARD
                | JUMP_BACKWARD
                | JUMP_BACKWARD_NO_INTERRUPT
                | POP_JUMP_IF_FALSE
                | POP_JUMP_IF_TRUE
                | POP_JUMP_IF_NONE
                | POP_JUMP_IF_NOT_NONE
                | FOR_ITER
                | SEND
                | RETURN_VALUE
                | RETURN_CONST
                | RAISE_VARARGS
                | RERAISE
        ) {
            return None;
        }
        // (The generic instruction's effect, as in `stack_depths`.)
        let samples = &STACK_EFFECTS[deopt(inst.opcode) as usize];
        let (popped, pushed) = match samples.get(inst.oparg as usize) {
            Some(&e) => e,
            // Opargs past the samples: only where no sample differs.
            None if samples.iter().all(|e| *e == samples[0]) => samples[0],
            None => return None,
        };
        let (popped, pushed) = (usize::try_from(popped).ok()?, usize::try_from(pushed).ok()?);
        if pushed > above {
            return Some((k, above));
        }
        above = above - pushed + popped;
    }
    Some((k.checked_sub(1)?, 0))
}

/// Rewrites instruction `inst` of `units` as `opcode`, a specialization
/// of the same instruction, its inline cache holding `operands` for the
/// micro-ops of its expansion, as CPython's specializer writes them
/// ([`cache_operands`] reads them back). `false` (nothing changed) when
/// `opcode` is no specialization of it.
pub fn specialize(units: &mut [u16], inst: &Inst, opcode: u8, operands: &[(Uop, u64)]) -> bool {
    let expansion = &MACRO_EXPANSION[opcode as usize];
    if expansion.nuops <= 0 || deopt(opcode) != deopt(inst.opcode) {
        return false;
    }
    let at = inst.offset as usize;
    for &(id, size, offset) in &expansion.uops[..expansion.nuops as usize] {
        let n = match size {
            OPARG_CACHE_1 => 1,
            OPARG_CACHE_2 => 2,
            OPARG_CACHE_4 => 4,
            _ => continue,
        };
        let value = Uop::from_cpython(id as u16)
            .and_then(|u| operands.iter().find(|(op, _)| *op == u))
            .map_or(0, |&(_, v)| v);
        let first = at + 1 + offset as usize;
        for (k, unit) in units[first..first + n].iter_mut().enumerate() {
            *unit = (value >> (16 * k)) as u16;
        }
    }
    units[at] = (units[at] & 0xFF00) | opcode as u16;
    true
}

/// Expands `op` with CPython's macro expansion table, if jitsaw has a
/// stencil for every micro-op in it.
fn expand(code: &CodeInput, inst: &Inst, op: u8, next: u32) -> Option<Lowering> {
    let expansion = &MACRO_EXPANSION[op as usize];
    if expansion.nuops <= 0 {
        return None;
    }
    let cache = |offset: i8, n: usize| read_cache(&code.units, inst, offset, n);
    let mut out = Lowering::with_capacity(expansion.nuops as usize);
    for &(id, size, offset) in &expansion.uops[..expansion.nuops as usize] {
        let op_ = Uop::from_cpython(id as u16)?;
        let mut l = uop(op_, inst.oparg);
        match size {
            OPARG_FULL => {}
            OPARG_CACHE_1 if op_ == Uop::_LOAD_ATTR_WITH_HINT => {
                l.operand = name_and_hint(code, inst.oparg >> 1, cache(offset, 1))?
            }
            OPARG_CACHE_1 => l.operand = cache(offset, 1),
            OPARG_CACHE_2 => l.operand = cache(offset, 2),
            OPARG_CACHE_4 => l.operand = cache(offset, 4),
            OPARG_TOP => l.oparg = inst.oparg >> 4,
            OPARG_BOTTOM => l.oparg = inst.oparg & 15,
            OPARG_REPLACED => l.jump_to = Some(replaced_jump_target(op, inst.oparg, next)?),
            _ => return None,
        }
        out.push(l);
    }
    Some(out)
}

/// `_LOAD_ATTR_WITH_HINT`'s operand: the attribute's name (`co_names[index]`)
/// burned in above the dict entry index of its cache (16 bits), so that the
/// stencil reads neither the frame's code nor its names. `None` (the generic
/// form) for a name it does not have or an address past 48 bits.
fn name_and_hint(code: &CodeInput, index: u32, hint: u64) -> Option<u64> {
    let name = *code.names.get(index as usize)?;
    (name < 1 << 48 && hint <= 0xFFFF).then_some(name << 16 | hint)
}

/// Where a "replaced" micro-op (a tier-1 branch) jumps, in code units.
fn replaced_jump_target(op: u8, oparg: u32, next: u32) -> Option<u32> {
    match deopt(op) {
        POP_JUMP_IF_FALSE | POP_JUMP_IF_TRUE | POP_JUMP_IF_NONE | POP_JUMP_IF_NOT_NONE => {
            Some(next + oparg)
        }
        // Exhausted loops skip the `END_FOR` and `POP_TOP` at the target.
        FOR_ITER => Some(next + oparg + 2),
        _ => None,
    }
}

/// Whether control can continue past the instruction's last micro-op.
fn falls_through(l: &[Lowered]) -> bool {
    !l.last().is_some_and(|u| u.op.ends_flow())
}

/// Maps every micro-op's jump target to an instruction index.
fn resolve_jumps(
    insts: &[Inst],
    lowered: &[Lowering],
) -> Result<Vec<SmallVec<[Option<u32>; 4]>>, Refusal> {
    // Sized up front: collecting through `Result` grows the vector from
    // nothing, a reallocation at each doubling.
    let mut jumps = Vec::with_capacity(lowered.len());
    for l in lowered {
        let targets = l
            .iter()
            .map(|u| {
                let Some(to) = u.jump_to else {
                    if u.op.stencil().has(crate::stencils::HoleValue::JumpTarget) {
                        return Err(Refusal::Never(format!(
                            "{} without a jump target",
                            u.op.name()
                        )));
                    }
                    return Ok(None);
                };
                insts
                    .binary_search_by_key(&to, |i| i.start)
                    .map(|i| Some(i as u32))
                    .map_err(|_| Refusal::Never(format!("jump to {to}, not an instruction")))
            })
            .collect::<Result<_, _>>()?;
        jumps.push(targets);
    }
    Ok(jumps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uops::{ClassCallee, Uop};

    fn unit(op: u8, arg: u32) -> u16 {
        op as u16 | (arg as u16) << 8
    }

    fn code(units: Vec<u16>) -> CodeInput {
        CodeInput {
            units,
            code_start: 0x1000,
            flags: consts::CO_OPTIMIZED as u32,
            consts: vec![(0x5000, true)],
            ..Default::default()
        }
    }

    /// `units` plus the right number of zeroed cache units after `op`.
    fn with_caches(units: &mut Vec<u16>, op: u8, arg: u32) {
        units.push(unit(op, arg));
        units.extend(std::iter::repeat_n(0, caches(deopt(op))));
    }

    /// `RESUME; NOP (outer head); NOP (inner head); JUMP_BACKWARD to the
    /// inner head; JUMP_BACKWARD to the outer head; RETURN_CONST`.
    fn nested_loops() -> Vec<u16> {
        let mut units = vec![unit(RESUME, 0), unit(NOP, 0), unit(NOP, 0)];
        let back =
            |units: &[u16], to: u32| units.len() as u32 + 1 + caches(JUMP_BACKWARD) as u32 - to;
        let inner = back(&units, 2);
        with_caches(&mut units, JUMP_BACKWARD, inner);
        let outer = back(&units, 1);
        with_caches(&mut units, JUMP_BACKWARD, outer);
        units.push(unit(RETURN_CONST, 0));
        units
    }

    /// The outermost loop around an instruction: the outer loop's head for
    /// anything in the inner loop, none outside loops.
    #[test]
    fn outermost_head_of_nested_loops() {
        let units = nested_loops();
        assert_eq!(outermost_head(&units, 2), Some(1));
        assert_eq!(outermost_head(&units, 1), Some(1));
        assert_eq!(outermost_head(&units, 3), Some(1));
        assert_eq!(outermost_head(&units, 0), None);
        assert_eq!(outermost_head(&units, units.len() as u32 - 1), None);
    }

    /// Code compiled before the interpreter specialized it counts its turns
    /// at every back edge, with the loop's head as oparg; other code does
    /// not.
    #[test]
    fn back_edges_count_turns_only_when_asked() {
        let checks = |long_loops: bool| {
            let input = CodeInput {
                loops: true,
                long_loops,
                ..code(nested_loops())
            };
            let p = lower(&input).unwrap();
            p.uops
                .iter()
                .filter(|u| u.op == Uop::_CHECK_LONG_LOOP)
                .map(|u| u.oparg)
                .collect::<Vec<_>>()
        };
        assert_eq!(checks(true), vec![2, 1]);
        assert!(checks(false).is_empty());
    }

    /// A builtin's call of the generator expression made by the `CALL 0`
    /// right before it consumes the generator in compiled code, with the
    /// call as it is for its fallback; the same call of anything else
    /// stays a call.
    #[test]
    fn builtins_of_generator_expressions_consume_them() {
        let lowered = |get_iter: bool| {
            // The builtin and its `NULL`, the generator function and what it
            // iterates (stand-ins: the call is not run).
            let mut units = vec![unit(RESUME, 0)];
            units.extend([0, 0, 0, 1].map(|l| unit(LOAD_FAST, l)));
            if get_iter {
                units.push(unit(GET_ITER, 0));
            } else {
                units.push(unit(NOP, 0));
            }
            with_caches(&mut units, CALL, 0);
            with_caches(&mut units, CALL_TUPLE_1, 1);
            units.push(unit(RETURN_VALUE, 0));
            let p = lower(&code(units)).unwrap();
            let call = &p.insts[7];
            let main: Vec<Uop> = p.uops_of(7).iter().map(|u| u.op).collect();
            let fallback: Vec<Uop> = p.fallback_of(7).iter().map(|u| u.op).collect();
            assert_eq!(call.opcode, CALL_TUPLE_1);
            (main, fallback)
        };
        let (main, fallback) = lowered(true);
        let at = main
            .iter()
            .position(|&u| u == Uop::_CONSUME_GENEXPR)
            .unwrap();
        assert_eq!(main[at + 1], Uop::_CONSUME_GENEXPR_NEXT);
        assert!(fallback.contains(&Uop::_CALL));
        let (main, _) = lowered(false);
        assert!(main.contains(&Uop::_CALL_TUPLE_1));
        assert!(!main.contains(&Uop::_CONSUME_GENEXPR));
    }

    /// A due counter deopts in code without loops, is reported in code
    /// with loops that asks for it, and otherwise waits.
    #[test]
    fn due_counters_deopt_or_report_by_kind_of_code() {
        let when_due = |loops: bool, report_due: bool| {
            let mut units = vec![unit(RESUME, 0), unit(LOAD_FAST, 0), unit(LOAD_FAST, 0)];
            with_caches(&mut units, BINARY_OP, 0);
            units.push(unit(RETURN_VALUE, 0));
            let input = CodeInput {
                loops,
                report_due,
                ..code(units)
            };
            let p = lower(&input).unwrap();
            let q = p
                .uops
                .iter()
                .find(|u| {
                    matches!(
                        u.op,
                        Uop::_QUICKEN | Uop::_QUICKEN_REPORT | Uop::_QUICKEN_COUNT
                    )
                })
                .unwrap();
            assert_eq!(q.oparg, BINARY_OP as u32);
            q.op
        };
        assert_eq!(when_due(false, false), Uop::_QUICKEN);
        assert_eq!(when_due(false, true), Uop::_QUICKEN);
        assert_eq!(when_due(true, true), Uop::_QUICKEN_REPORT);
        assert_eq!(when_due(true, false), Uop::_QUICKEN_COUNT);
    }

    /// After the interpreter ran the code, an adaptive instruction it never
    /// ran (its counter as quickening set it) outside loops is compiled
    /// without its inline fast paths, and listed for the runtime; one that
    /// ran, one in a loop, or any in code compiled at its first calls,
    /// keeps them.
    #[test]
    fn instructions_never_run_are_compiled_without_fast_paths() {
        let lowered = |compact_cold: bool, counter: u16| {
            let mut units = vec![unit(RESUME, 0), unit(LOAD_FAST, 0), unit(LOAD_FAST, 0)];
            let at = units.len();
            with_caches(&mut units, BINARY_OP, consts::NB_SUBTRACT as u32);
            units[at + 1] = counter;
            with_caches(&mut units, COMPARE_OP, 0);
            units[at + 1 + caches(BINARY_OP) + 1] = counter;
            units.push(unit(RETURN_VALUE, 0));
            let input = CodeInput {
                compact_cold,
                ..code(units)
            };
            let p = lower(&input).unwrap();
            let ops: Vec<Uop> = p.uops.iter().map(|u| u.op).collect();
            (ops, p.cold)
        };
        let warmup = consts::ADAPTIVE_COUNTER_WARMUP as u16;
        let (ops, cold) = lowered(true, warmup);
        assert!(ops.contains(&Uop::_BINARY_OP) && ops.contains(&Uop::_COMPARE_OP));
        assert!(!ops.contains(&Uop::_BINARY_OP_ADAPTIVE_SUBTRACT));
        assert!(!ops.contains(&Uop::_COMPARE_OP_ADAPTIVE));
        // Still quickened: when it runs, the runtime hears of it.
        assert_eq!(ops.iter().filter(|&&o| o == Uop::_QUICKEN).count(), 2);
        assert_eq!(cold, vec![3, 3 + 1 + caches(BINARY_OP) as u32]);
        // In a loop, a never-run instruction keeps them.
        let mut units = vec![
            unit(RESUME, 0),
            unit(NOP, 0),
            unit(LOAD_FAST, 0),
            unit(LOAD_FAST, 0),
        ];
        let at = units.len();
        with_caches(&mut units, BINARY_OP, consts::NB_SUBTRACT as u32);
        units[at + 1] = warmup;
        units.push(unit(POP_TOP, 0));
        let back = units.len() as u32 + 1 + caches(JUMP_BACKWARD) as u32 - 1;
        with_caches(&mut units, JUMP_BACKWARD, back);
        let p = lower(&CodeInput {
            compact_cold: true,
            ..code(units)
        })
        .unwrap();
        assert!(p
            .uops
            .iter()
            .any(|u| u.op == Uop::_BINARY_OP_ADAPTIVE_SUBTRACT));
        assert!(p.cold.is_empty());
        for (compact_cold, counter) in [(true, warmup - 16), (false, warmup)] {
            let (ops, cold) = lowered(compact_cold, counter);
            assert!(ops.contains(&Uop::_BINARY_OP_ADAPTIVE_SUBTRACT));
            assert!(ops.contains(&Uop::_COMPARE_OP_ADAPTIVE));
            assert!(cold.is_empty());
        }
    }

    /// An adaptive instruction's counter is advanced until its
    /// specialization has failed a few times running, and never `SEND`'s.
    #[test]
    fn counters_are_advanced_while_specializing_can_still_succeed() {
        let quickened = |op: u8, counter: u16| {
            let mut units = vec![unit(RESUME, 0), unit(LOAD_FAST, 0), unit(LOAD_FAST, 0)];
            let at = units.len() + 1;
            with_caches(&mut units, op, 0);
            units[at] = counter;
            units.push(unit(RETURN_VALUE, 0));
            let p = lower(&code(units)).unwrap();
            p.uops.iter().any(|u| u.op == Uop::_QUICKEN)
        };
        // Backoff in bits 0-3: 1 when quickened, one more per failure.
        assert!(quickened(BINARY_OP, 1 << 4 | 1));
        assert!(quickened(BINARY_OP, 7 << 4 | 3));
        assert!(!quickened(BINARY_OP, 15 << 4 | QUICKEN_GIVE_UP_BACKOFF));
        assert!(!quickened(SEND, 1 << 4 | 1));
    }

    /// An async generator's wrap before its `yield` is jitsaw's micro-op,
    /// which may leave the value unwrapped, and nothing that could leave
    /// compiled code comes between it and the `YIELD_VALUE`; the other
    /// intrinsics stay CPython's.
    #[test]
    fn an_async_generators_wrap_is_jitsaws_and_adjoins_its_yield() {
        let wrap = consts::INTRINSIC_ASYNC_GEN_WRAP as u32;
        let units = vec![
            unit(RETURN_GENERATOR, 0),
            unit(POP_TOP, 0),
            unit(RESUME, 0),
            unit(LOAD_FAST, 0),
            unit(CALL_INTRINSIC_1, wrap),
            unit(YIELD_VALUE, 0),
            unit(RESUME, 1),
            unit(CALL_INTRINSIC_1, wrap - 1),
            unit(RETURN_VALUE, 0),
        ];
        let p = lower(&code(units)).unwrap();
        let ops: Vec<Uop> = p.uops.iter().map(|u| u.op).collect();
        let at = ops
            .iter()
            .position(|&op| op == Uop::_ASYNC_GEN_WRAP)
            .unwrap();
        assert_eq!(ops[at + 1], Uop::_YIELD_VALUE);
        assert_eq!(
            ops.iter()
                .filter(|&&op| op == Uop::_CALL_INTRINSIC_1)
                .count(),
            1
        );
        assert!(!Uop::_ASYNC_GEN_WRAP.escapes());
    }

    /// The `SEND` of an `async for` (its handler the loop's `END_ASYNC_FOR`)
    /// is the form that resumes async generators, with the loop's end
    /// past the `END_ASYNC_FOR` at the handler's depth less the iterator;
    /// an `await`'s is the plain one.
    #[test]
    fn an_async_fors_send_ends_the_loop_past_its_handler() {
        let mut units = vec![
            unit(RETURN_GENERATOR, 0),
            unit(POP_TOP, 0),
            unit(RESUME, 0),
            unit(LOAD_FAST, 0),
            unit(GET_ANEXT, 0),
            unit(LOAD_CONST, 0),
        ];
        with_caches(&mut units, SEND, 3);
        units.push(unit(YIELD_VALUE, 1));
        units.push(unit(RESUME, 3));
        units.push(unit(JUMP_BACKWARD_NO_INTERRUPT, 5));
        units.push(unit(END_SEND, 0));
        units.push(unit(POP_TOP, 0));
        units.push(unit(END_ASYNC_FOR, 0));
        units.push(unit(RETURN_CONST, 0));
        let send_ops = |table: Vec<u8>| {
            let p = lower(&CodeInput {
                exception_table: table,
                nlocalsplus: 2,
                ..code(units.clone())
            })
            .unwrap();
            let send = p.insts.iter().position(|i| i.opcode == SEND).unwrap() as u32;
            p.uops
                .iter()
                .filter(|u| u.inst == send && !matches!(u.op, Uop::_SET_IP | Uop::_CHECK_VALIDITY))
                .map(|u| (u.op, u.jump.map(|j| p.insts[j as usize].offset), u.operand))
                .collect::<Vec<_>>()
        };
        // GET_ANEXT to the JUMP_BACKWARD_NO_INTERRUPT -> END_ASYNC_FOR
        // (offset 13) at depth 1, as CPython's compiler writes it.
        assert_eq!(
            send_ops(vec![4 | 128, 7, 13, 1 << 1]),
            [
                (Uop::_SEND_ASYNC_FOR, Some(11), 0),
                (Uop::_ASYNC_FOR_RETURNED, Some(14), 2),
                (Uop::_ASYNC_FOR_SENT, Some(11), 0),
            ]
        );
        let plain = [
            (Uop::_SEND, Some(11), 0),
            (Uop::_SEND_GEN_RETURNED, Some(11), 0),
        ];
        assert_eq!(send_ops(vec![]), plain);
        // A handler that is not the loop's end, or wants `lasti`.
        assert_eq!(send_ops(vec![4 | 128, 7, 12, 1 << 1]), plain);
        assert_eq!(send_ops(vec![4 | 128, 7, 13, 1 << 1 | 1]), plain);
    }

    /// The `RESUME` of a `yield from` (or `await`) loop names its `SEND`;
    /// a plain `yield`'s, or a loop whose jump goes elsewhere, does not.
    #[test]
    fn delegating_resumes_name_their_send() {
        let program = |jump_back: u32| {
            let mut units = vec![unit(RETURN_GENERATOR, 0), unit(POP_TOP, 0), unit(RESUME, 0)];
            units.push(unit(LOAD_FAST, 0));
            units.push(unit(LOAD_CONST, 0));
            with_caches(&mut units, SEND, 3);
            units.push(unit(YIELD_VALUE, 1));
            units.push(unit(RESUME, 2));
            units.push(unit(JUMP_BACKWARD_NO_INTERRUPT, jump_back));
            units.push(unit(END_SEND, 0));
            units.push(unit(YIELD_VALUE, 0));
            units.push(unit(RESUME, 1));
            units.push(unit(RETURN_VALUE, 0));
            decode(&units).unwrap()
        };
        let insts = program(5);
        let at = |op: u8, n: usize| {
            insts
                .iter()
                .enumerate()
                .filter(|(_, i)| i.opcode == op)
                .nth(n)
                .unwrap()
                .0
        };
        let (send, resume) = (at(SEND, 0), at(RESUME, 1));
        assert_eq!(delegating_send(&insts, resume), Some(send));
        assert_eq!(delegating_send(&insts, at(RESUME, 2)), None);
        assert_eq!(delegating_send(&insts, at(RESUME, 0)), None);
        assert_eq!(delegating_send(&insts, insts.len() - 1), None);
        assert_eq!(delegating_send(&program(4), resume), None);
        assert_eq!(delegating_send(&program(6), resume), None);
    }

    /// A callee taking `self` and `o` for [`inline_body`]: `units` after
    /// its `RESUME_CHECK`.
    fn callee(body: impl FnOnce(&mut Vec<u16>)) -> InlineCall {
        let mut units = vec![unit(RESUME_CHECK, 0)];
        body(&mut units);
        InlineCall {
            site: InlineSite {
                offset: 40,
                code: 0x7000,
                stacksize: 2,
                method: true,
                init: None,
                getitem: None,
                binary: false,
            },
            callee: Box::new(CodeInput {
                args: 2,
                nlocalsplus: 2,
                consts: vec![(0x5000, true), (0x6000, false)],
                names: vec![0x8000, 0x8100],
                ..code(units)
            }),
        }
    }

    #[test]
    fn a_call_that_pushes_a_frame_counts_its_result_in_stack_depths() {
        // `self.m(); return None`: `CALL_PY_EXACT_ARGS` pushes no value
        // itself (the callee's return does), and the depths after it
        // count the result as the generic `CALL`'s effect does.
        let mut u = vec![unit(RESUME, 0), unit(LOAD_FAST, 0)];
        with_caches(&mut u, LOAD_ATTR_METHOD_WITH_VALUES, 1);
        with_caches(&mut u, CALL_PY_EXACT_ARGS, 0);
        u.push(unit(POP_TOP, 0));
        u.push(unit(RETURN_CONST, 0));
        let insts = decode(&u).unwrap();
        let targets = vec![SmallVec::new(); insts.len()];
        let depths = stack_depths(&insts, &targets);
        assert_eq!(depths[..5], [Some(0), Some(0), Some(1), Some(2), Some(1)]);
        assert_eq!(pushed_below(&insts, 4, 0), Some((3, 0)));
    }

    #[test]
    fn a_call_in_a_body_has_its_callee_inlined_in_turn() {
        // `return o.m()`: `o` pushed, its method loaded with `self`, called;
        // the method (`return self`) inlined in turn, its local the slot of
        // its `self` (the callee's locals 0-1, then `o`'s method at 2 and
        // `o` at 3), its return told apart from the body's own.
        let inner = callee(|u| {
            u.push(unit(LOAD_FAST, 0));
            u.push(unit(RETURN_VALUE, 0));
        });
        let mut call = callee(|u| {
            u.push(unit(LOAD_FAST, 1));
            with_caches(u, LOAD_ATTR_METHOD_WITH_VALUES, 1);
            with_caches(u, CALL_PY_EXACT_ARGS, 0);
            u.push(unit(RETURN_VALUE, 0));
        });
        let call_offset = 3 + caches(LOAD_ATTR) as u32;
        call.callee.inline_calls = vec![InlineCall {
            site: InlineSite {
                offset: call_offset,
                code: 0x9000,
                stacksize: 1,
                ..inner.site
            },
            callee: Box::new(CodeInput {
                args: 1,
                nlocalsplus: 1,
                ..*inner.callee
            }),
        }];
        let body = inline_body(&call).unwrap();
        let ops: Vec<(Uop, u32)> = body.uops.iter().map(|u| (u.op, u.oparg)).collect();
        use Uop::*;
        let entry = ops.iter().position(|&(op, _)| op == _CHECK_CALLEE).unwrap();
        assert_eq!(
            ops[entry..],
            [
                (_CHECK_CALLEE, 1 << 2),
                (_LOAD_FAST, 3),
                (_NESTED_RETURN, 0),
                (_INLINE_RETURN, 1),
            ]
        );
        assert_eq!(body.uops[entry].operand, 0x9000);
        // Room for the inner call's values: `o`'s slot (3), and one above.
        assert!(body.site.stacksize >= 3);
        // After a store, a call is no longer inlined in turn (its failure
        // could not start the outer call over).
        let mut stored = call.clone();
        stored.callee.units.splice(
            1..1,
            [
                unit(LOAD_FAST_LOAD_FAST, 0x10),
                unit(STORE_ATTR_INSTANCE_VALUE, 0),
            ]
            .into_iter()
            .chain(std::iter::repeat_n(0, caches(STORE_ATTR))),
        );
        stored.callee.inline_calls[0].site.offset += 2 + caches(STORE_ATTR) as u32;
        assert_eq!(inline_body(&stored), None);
    }

    #[test]
    fn bodies_read_attributes_of_locals_through_a_cache() {
        // `return o.y`, the load not specialized, not even run by the
        // callee's calls: this call may pass what the others did not.
        let body = |attr_oparg: u32| {
            let call = callee(|u| {
                u.push(unit(LOAD_FAST, 1));
                let at = u.len();
                with_caches(u, LOAD_ATTR, attr_oparg);
                u[at + 1] = consts::ADAPTIVE_COUNTER_WARMUP as u16;
                u.push(unit(RETURN_VALUE, 0));
            });
            inline_body(&call).map(|b| {
                b.uops
                    .iter()
                    .map(|u| (u.op, u.oparg, u.operand))
                    .collect::<Vec<_>>()
            })
        };
        use Uop::*;
        assert_eq!(
            body(2),
            Some(vec![
                (_LOAD_ATTR_LOCAL_CACHED, 1, 0x8100),
                (_INLINE_RETURN, 1, 0),
            ])
        );
        // A method's load is no plain load: never run, it leaves.
        assert_eq!(
            body(3),
            Some(vec![(_LOAD_FAST, 1, 0), (_INLINE_COLD, 0, 0)])
        );
    }

    #[test]
    fn a_raise_leaves_for_the_call_without_computing_its_exception() {
        // `if o is None: raise self` then `return o`.
        let call = callee(|u| {
            u.push(unit(LOAD_FAST, 1));
            with_caches(u, POP_JUMP_IF_NOT_NONE, 2);
            u.push(unit(LOAD_FAST, 0));
            u.push(unit(RAISE_VARARGS, 1));
            u.push(unit(LOAD_FAST, 1));
            u.push(unit(RETURN_VALUE, 0));
        });
        let body = inline_body(&call).expect("inlinable");
        let ops: Vec<(Uop, Option<u32>)> = body.uops.iter().map(|u| (u.op, u.jump)).collect();
        use Uop::*;
        assert_eq!(
            ops,
            [
                (_LOAD_FAST, None),
                (_IS_NONE, None),
                (_POP_JUMP_IF_FALSE, Some(4)),
                // The block of the `raise`, `self` pushed no more.
                (_INLINE_COLD, None),
                (_LOAD_FAST, None),
                (_INLINE_RETURN, None),
            ]
        );
    }

    #[test]
    fn pure_callees_become_inlined_bodies() {
        // `return self.x if self.x is not None else 7`, as specialized:
        // forward branches, two returns, a mortal and an immortal constant.
        let call = callee(|u| {
            u.push(unit(LOAD_FAST, 0));
            with_caches(u, LOAD_ATTR_INSTANCE_VALUE, 0);
            with_caches(u, POP_JUMP_IF_NONE, 3);
            u.push(unit(LOAD_FAST, 1));
            u.push(unit(LOAD_CONST, 1));
            u.push(unit(RETURN_VALUE, 0));
            u.push(unit(RETURN_CONST, 0));
        });
        let mut call = call;
        let load = decode(&call.callee.units).unwrap()[2].clone();
        let operands = [
            (Uop::_GUARD_TYPE_VERSION, 0x2004e),
            (Uop::_LOAD_ATTR_INSTANCE_VALUE, 5),
        ];
        assert!(specialize(
            &mut call.callee.units,
            &load,
            LOAD_ATTR_INSTANCE_VALUE,
            &operands
        ));
        let body = inline_body(&call).expect("inlinable");
        let ops: Vec<(Uop, u32, u64, Option<u32>)> = body
            .uops
            .iter()
            .map(|u| (u.op, u.oparg, u.operand, u.jump))
            .collect();
        use Uop::*;
        assert_eq!(
            ops,
            [
                // `self.x` in one, through a cache of the types it meets:
                // the local, the name.
                (_LOAD_ATTR_LOCAL_CACHED, 0, 0x8000, None),
                (_IS_NONE, 3, 0, None),
                (_POP_JUMP_IF_TRUE, 3, 0, Some(6)),
                (_LOAD_FAST, 1, 0, None),
                (_LOAD_CONST_INLINE, 0, 0x6000, None),
                (_INLINE_RETURN, 1, 0, None),
                (_LOAD_CONST_INLINE_BORROW, 0, 0x5000, None),
                (_INLINE_RETURN, 1, 0, None),
            ]
        );
        assert_eq!(
            (
                body.nargs,
                body.site.stacksize,
                body.site.code,
                body.site.offset
            ),
            (2, 2, 0x7000, 40)
        );
    }

    #[test]
    fn calls_find_their_callable_load_past_argument_expressions() {
        // `f(a, b + 1, c)` with `f` a global, then `o.m()`, then a call
        // whose argument's code branches.
        let mut units = vec![unit(RESUME, 0)];
        with_caches(&mut units, LOAD_GLOBAL, 1);
        units.push(unit(LOAD_FAST, 0));
        units.push(unit(LOAD_FAST, 1));
        units.push(unit(LOAD_CONST, 0));
        with_caches(&mut units, BINARY_OP, 0);
        units.push(unit(LOAD_FAST, 2));
        with_caches(&mut units, CALL, 3);
        units.push(unit(LOAD_FAST_LOAD_FAST, 0x12));
        with_caches(&mut units, LOAD_ATTR, 1);
        units.push(unit(LOAD_FAST, 3));
        with_caches(&mut units, CALL, 1);
        with_caches(&mut units, LOAD_GLOBAL, 1);
        units.push(unit(LOAD_FAST, 0));
        units.push(unit(LOAD_FAST, 0));
        with_caches(&mut units, POP_JUMP_IF_FALSE, 1);
        units.push(unit(LOAD_FAST, 0));
        with_caches(&mut units, BINARY_OP, 0);
        with_caches(&mut units, CALL, 1);
        units.push(unit(RETURN_VALUE, 0));
        let insts = decode(&units).unwrap();
        let calls: Vec<usize> = (0..insts.len())
            .filter(|&i| insts[i].opcode == CALL)
            .collect();
        assert_eq!(callable_load(&insts, calls[0]), Some(1));
        // The owner comes with the method load (`LOAD_FAST_LOAD_FAST`).
        assert_eq!(callable_load(&insts, calls[1]), Some(calls[0] + 2));
        assert_eq!(callable_load(&insts, calls[2]), None);
    }

    #[test]
    fn subscripts_find_the_local_of_their_container() {
        // `a[i]` (both from one `LOAD_FAST_LOAD_FAST`), `b[i - 1]`, `a[b]`
        // (the second of one), `f()[i]`.
        let mut units = vec![unit(RESUME, 0)];
        units.push(unit(LOAD_FAST_LOAD_FAST, 0x01));
        with_caches(&mut units, BINARY_SUBSCR, 0);
        units.push(unit(LOAD_FAST_LOAD_FAST, 0x21));
        units.push(unit(LOAD_CONST, 0));
        with_caches(&mut units, BINARY_OP, 10);
        with_caches(&mut units, BINARY_SUBSCR, 0);
        units.push(unit(LOAD_FAST_LOAD_FAST, 0x30));
        units.push(unit(LOAD_FAST, 2));
        with_caches(&mut units, BINARY_SUBSCR, 0);
        with_caches(&mut units, LOAD_GLOBAL, 1);
        with_caches(&mut units, CALL, 0);
        units.push(unit(LOAD_FAST, 1));
        with_caches(&mut units, BINARY_SUBSCR, 0);
        units.push(unit(RETURN_VALUE, 0));
        let insts = decode(&units).unwrap();
        let found: Vec<Option<u32>> = (0..insts.len())
            .filter(|&i| insts[i].opcode == BINARY_SUBSCR)
            .map(|i| subscript_container(&insts, i))
            .collect();
        assert_eq!(found, [Some(0), Some(2), Some(0), None]);
    }

    #[test]
    fn specializing_writes_what_the_cache_reads_back() {
        let mut units = vec![unit(RESUME, 0), unit(LOAD_FAST, 0)];
        with_caches(&mut units, LOAD_ATTR, 6);
        units.push(unit(RETURN_VALUE, 0));
        units[4] = 0xBEEF; // a stale type version, overwritten
        let insts = decode(&units).unwrap();
        let operands = [
            (Uop::_GUARD_TYPE_VERSION, 0x12345),
            (Uop::_LOAD_ATTR_INSTANCE_VALUE, 7),
        ];
        assert!(!specialize(
            &mut units.clone(),
            &insts[2],
            LOAD_GLOBAL_MODULE,
            &operands
        ));
        assert!(specialize(
            &mut units,
            &insts[2],
            LOAD_ATTR_INSTANCE_VALUE,
            &operands
        ));
        let insts = decode(&units).unwrap();
        assert_eq!(
            (insts[2].opcode, insts[2].oparg),
            (LOAD_ATTR_INSTANCE_VALUE, 6)
        );
        assert_eq!(
            cache_operands(&units, &insts[2]).unwrap(),
            [
                (Uop::_GUARD_TYPE_VERSION, 0x12345),
                (Uop::_CHECK_MANAGED_OBJECT_HAS_VALUES, 0),
                (Uop::_LOAD_ATTR_INSTANCE_VALUE, 7),
            ]
        );
        assert_eq!(insts[3].opcode, RETURN_VALUE);
    }

    #[test]
    fn unspecialized_operators_with_fast_paths_take_their_pure_forms() {
        // `return (self // o % 8 << o) >> 1`, as CPython 3.13 leaves it
        // (never specialized, counters backed off).
        let call = callee(|u| {
            u.push(unit(LOAD_FAST_LOAD_FAST, 1));
            with_caches(u, BINARY_OP, consts::NB_FLOOR_DIVIDE as u32);
            u.push(unit(LOAD_CONST, 0));
            with_caches(u, BINARY_OP, consts::NB_REMAINDER as u32);
            u.push(unit(LOAD_FAST, 1));
            with_caches(u, BINARY_OP, consts::NB_LSHIFT as u32);
            u.push(unit(LOAD_CONST, 0));
            with_caches(u, BINARY_OP, consts::NB_RSHIFT as u32);
            u.push(unit(RETURN_VALUE, 0));
        });
        let ops: Vec<Uop> = inline_body(&call)
            .unwrap()
            .uops
            .iter()
            .map(|u| u.op)
            .collect();
        use Uop::*;
        assert_eq!(
            ops,
            [
                _LOAD_FAST,
                _LOAD_FAST,
                _BINARY_OP_PURE_FLOOR_DIVIDE,
                _LOAD_CONST_INLINE_BORROW,
                _BINARY_OP_PURE_REMAINDER,
                _LOAD_FAST,
                _BINARY_OP_PURE_LSHIFT,
                _LOAD_CONST_INLINE_BORROW,
                _BINARY_OP_PURE_RSHIFT,
                _INLINE_RETURN
            ]
        );
    }

    #[test]
    fn inits_store_into_self_only_and_return_none() {
        let init = ClassCallee {
            class: 1,
            class_version: 2,
            function: 3,
            function_version: 4,
        };
        // `self.x = o` (the value, then `self`: one fused load), `None`.
        let mut call = callee(|u| {
            u.push(unit(LOAD_FAST_LOAD_FAST, 0x10));
            with_caches(u, STORE_ATTR_INSTANCE_VALUE, 0);
            u.push(unit(RETURN_CONST, 0));
        });
        call.site.init = Some(init);
        let ops: Vec<(Uop, u32)> = inline_body(&call)
            .unwrap()
            .uops
            .iter()
            .map(|u| (u.op, u.oparg))
            .collect();
        use Uop::*;
        assert_eq!(
            ops,
            [
                (_LOAD_FAST, 1),
                (_LOAD_FAST, 0),
                (_GUARD_TYPE_VERSION, 0),
                (_GUARD_DORV_NO_DICT, 0),
                (_STORE_ATTR_INSTANCE_VALUE, 0),
                (_LOAD_CONST_INLINE_BORROW, 0),
                (_INLINE_INIT_RETURN, 1),
            ]
        );
        // A method's body stores into a local's attribute through a cache
        // of the types it meets, and has its frame materialized where it
        // leaves after the store; the store's exit resumes at the store
        // (unit 2), the local pushed.
        call.site.init = None;
        let body = inline_body(&call).unwrap();
        assert!(body.materializes);
        let ops: Vec<(Uop, u32, u32)> = body.uops.iter().map(|u| (u.op, u.oparg, u.inst)).collect();
        assert_eq!(
            ops,
            [
                (_LOAD_FAST, 1, 1),
                (_STORE_ATTR_LOCAL_CACHED, 0, 2),
                (_LOAD_CONST_INLINE_BORROW, 0, 7),
                (_INLINE_RETURN, 1, 7),
            ]
        );
        // Into another object's attribute (not a local's), a store takes
        // the form that leaves rather than release a value whose release
        // may run code.
        let mut nested = callee(|u| {
            u.push(unit(LOAD_FAST, 1));
            u.push(unit(LOAD_FAST, 0));
            with_caches(u, LOAD_ATTR_INSTANCE_VALUE, 2);
            with_caches(u, STORE_ATTR_INSTANCE_VALUE, 0);
            u.push(unit(RETURN_CONST, 0));
        });
        nested.site.init = None;
        let body = inline_body(&nested).unwrap();
        assert!(body.materializes);
        assert!(body
            .uops
            .iter()
            .any(|u| u.op == _STORE_ATTR_INSTANCE_VALUE_PURE));
        // An `__init__` stores into `self` only.
        let mut other = callee(|u| {
            u.push(unit(LOAD_FAST_LOAD_FAST, 0x01));
            with_caches(u, STORE_ATTR_INSTANCE_VALUE, 0);
            u.push(unit(RETURN_CONST, 0));
        });
        other.site.init = Some(init);
        assert_eq!(inline_body(&other), None);
        // An `__init__` returning what it computed is the call's to check.
        let mut value = callee(|u| {
            u.push(unit(LOAD_FAST, 1));
            u.push(unit(RETURN_VALUE, 0));
        });
        value.site.init = Some(init);
        assert_eq!(inline_body(&value), None);
    }

    #[test]
    fn bodies_push_known_globals_and_their_class_attributes_as_constants() {
        // `return Direction.FORWARD == LIMIT`: `Direction` a global holding
        // a class (version 77), `LIMIT` a mortal global, both known.
        let mut call = callee(|u| {
            with_caches(u, LOAD_GLOBAL_MODULE, 0);
            with_caches(u, LOAD_ATTR_CLASS, 2);
            with_caches(u, LOAD_GLOBAL_MODULE, 4);
            with_caches(u, COMPARE_OP_INT, 88);
            u.push(unit(RETURN_VALUE, 0));
        });
        let insts = decode(&call.callee.units).unwrap();
        let global = |at: usize, value| KnownGlobal {
            offset: insts[at].offset,
            name: 0x8000 + at as u64,
            value,
            immortal: value == 0xA000,
            globals: 0x1000,
            builtins: 0,
        };
        let (direction, limit) = (global(1, 0xA000), global(3, 0xB000));
        let forward = KnownAttr {
            offset: insts[2].offset,
            owner: 0xA000,
            dict: 0,
            version: 77,
            name: 0x8100,
            value: 0xC000,
            immortal: true,
            method: false,
        };
        call.callee.known_globals = vec![direction, limit];
        call.callee.known_attrs = vec![forward];
        call.callee.known_words = vec![(0xC000, 1, false), (0xB000, 10, false)];
        let body = inline_body(&call).expect("inlinable");
        let ops: Vec<(Uop, u32, u64)> = body
            .uops
            .iter()
            .take(3)
            .map(|u| (u.op, u.oparg, u.operand))
            .collect();
        use Uop::*;
        assert_eq!(
            ops,
            [
                (_CHECK_CONST_TYPE_VERSION, 77, 0xA000),
                (_LOAD_CONST_INLINE_BORROW, 0, 0xC000),
                (_LOAD_CONST_INLINE, 0, 0xB000),
            ]
        );
        // Exits there resume at the global's load.
        assert_eq!(body.uops[0].inst, insts[1].start);
        assert_eq!(body.burned, [direction, limit]);
        assert_eq!(body.burned_attrs, [forward]);
        assert!(body.reads_globals());
        assert!(body.const_words.contains(&(0xB000, 10, false)));
        // Unknown, the globals are read as the caller's (here unspecialized:
        // not inlinable).
        call.callee.known_globals.clear();
        assert_eq!(inline_body(&call), None);
    }

    #[test]
    fn paths_the_callee_never_took_leave_for_the_call() {
        // `if u is None: return self.x < 1` (never run: its compare and
        // load unspecialized) `return u`.
        let mut call = callee(|u| {
            u.push(unit(LOAD_FAST, 1));
            with_caches(
                u,
                POP_JUMP_IF_NOT_NONE,
                2 + caches(LOAD_ATTR) as u32 + caches(COMPARE_OP) as u32 + 3,
            );
            u.push(unit(LOAD_FAST, 0));
            with_caches(u, LOAD_ATTR, 0);
            u.push(unit(LOAD_CONST, 0));
            with_caches(u, COMPARE_OP, 2);
            u.push(unit(RETURN_VALUE, 0));
            u.push(unit(LOAD_FAST, 1));
            u.push(unit(RETURN_VALUE, 0));
        });
        let warm = consts::ADAPTIVE_COUNTER_WARMUP as u16;
        let insts = decode(&call.callee.units).unwrap();
        for i in insts.iter().filter(|i| is_adaptive(i.opcode)) {
            call.callee.units[i.offset as usize + 1] = warm;
        }
        let body = inline_body(&call).expect("inlinable");
        let ops: Vec<(Uop, Option<u32>)> = body.uops.iter().map(|u| (u.op, u.jump)).collect();
        use Uop::*;
        assert_eq!(
            ops,
            [
                (_LOAD_FAST, None),
                (_IS_NONE, None),
                (_POP_JUMP_IF_FALSE, Some(6)),
                // `self.x` read through its cache, any class's; the
                // compare never run leaves, the rest of the path left out.
                (_LOAD_ATTR_LOCAL_CACHED, None),
                (_LOAD_CONST_INLINE_BORROW, None),
                (_INLINE_COLD, None),
                (_LOAD_FAST, None),
                (_INLINE_RETURN, None),
            ]
        );
        // Once the interpreter ran them (and failed to specialize), the
        // callee computes in ways that may run code: not inlined.
        for i in insts.iter().filter(|i| is_adaptive(i.opcode)) {
            call.callee.units[i.offset as usize + 1] = 0;
        }
        assert_eq!(inline_body(&call), None);
    }

    /// The callee's `LOAD_GLOBAL` (oparg 1) finds a builtin at `index`,
    /// its globals' and builtins' keys versions 3 and 4.
    fn builtin_global(input: &mut CodeInput, index: u32) {
        let slot = GlobalSlot {
            builtin: true,
            index,
            globals_version: 3,
            builtins_version: 4,
        };
        input.globals = vec![(1, slot)];
        (input.globals_version, input.builtins_version) = (Some(3), Some(4));
    }

    #[test]
    fn items_and_lengths_take_their_pure_forms_in_bodies() {
        // `return len(self[o])`, `len` a builtin: the call needs neither
        // the instruction pointer nor the validity check after it.
        let mut call = callee(|u| {
            with_caches(u, LOAD_GLOBAL_BUILTIN, 1);
            u.push(unit(LOAD_FAST_LOAD_FAST, 1));
            with_caches(u, BINARY_SUBSCR_TUPLE_INT, 0);
            with_caches(u, CALL_LEN, 1);
            u.push(unit(RETURN_VALUE, 0));
        });
        builtin_global(&mut call.callee, 9);
        let body = inline_body(&call).expect("inlinable");
        let ops: Vec<(Uop, u32)> = body.uops.iter().map(|u| (u.op, u.oparg)).collect();
        use Uop::*;
        assert_eq!(
            ops,
            [
                (_GUARD_GLOBALS_VERSION, 1),
                (_GUARD_BUILTINS_VERSION, 1),
                (_LOAD_GLOBAL_BUILTINS, 1),
                (_LOAD_FAST, 0),
                (_LOAD_FAST, 1),
                (_BINARY_SUBSCR_TUPLE_INT_PURE, 0),
                (_CALL_LEN_PURE, 1),
                (_INLINE_RETURN, 1),
            ]
        );
    }

    #[test]
    fn isinstance_takes_its_pure_form_in_bodies() {
        // `return isinstance(o, self)`, `isinstance` a builtin: no
        // instruction pointer before the call, no validity check after.
        let mut call = callee(|u| {
            with_caches(u, LOAD_GLOBAL_BUILTIN, 1);
            u.push(unit(LOAD_FAST_LOAD_FAST, 0x10));
            with_caches(u, CALL_ISINSTANCE, 2);
            u.push(unit(RETURN_VALUE, 0));
        });
        builtin_global(&mut call.callee, 7);
        let body = inline_body(&call).expect("inlinable");
        let ops: Vec<Uop> = body.uops.iter().map(|u| u.op).collect();
        use Uop::*;
        assert_eq!(
            ops,
            [
                _GUARD_GLOBALS_VERSION,
                _GUARD_BUILTINS_VERSION,
                _LOAD_GLOBAL_BUILTINS,
                _LOAD_FAST,
                _LOAD_FAST,
                _CALL_ISINSTANCE_PURE,
                _INLINE_RETURN,
            ]
        );
    }

    #[test]
    fn calls_of_pure_c_functions_take_their_pure_form_in_bodies() {
        // `return f(o)`, `f` a global the hook found a pure `math` function.
        let mut call = callee(|u| {
            with_caches(u, LOAD_GLOBAL_MODULE, 1);
            u.push(unit(LOAD_FAST, 1));
            with_caches(u, CALL_BUILTIN_O, 1);
            u.push(unit(RETURN_VALUE, 0));
        });
        let slot = GlobalSlot {
            builtin: false,
            index: 4,
            globals_version: 3,
            builtins_version: 0,
        };
        let input = &mut call.callee;
        input.globals = vec![(1, slot)];
        input.globals_version = Some(3);
        assert_eq!(inline_body(&call), None, "a C function not known pure");
        let at = decode(&call.callee.units).unwrap()[3].offset;
        call.callee.pure_calls = vec![(at, 0xF00D)];
        let body = inline_body(&call).expect("inlinable");
        let ops: Vec<(Uop, u64)> = body.uops.iter().map(|u| (u.op, u.operand)).collect();
        use Uop::*;
        assert_eq!(
            ops,
            [
                (_GUARD_GLOBALS_VERSION, 3),
                (_LOAD_GLOBAL_MODULE, 4),
                (_LOAD_FAST, 0),
                (_CALL_BUILTIN_O_PURE, 0xF00D),
                (_INLINE_RETURN, 0),
            ]
        );
    }

    #[test]
    fn bodies_push_their_own_locals_and_release_them_at_returns() {
        // `w = o; return w`: `w` is pushed unbound first, stored, and
        // released before the return.
        let mut call = callee(|u| {
            u.push(unit(LOAD_FAST, 1));
            u.push(unit(STORE_FAST, 2));
            u.push(unit(LOAD_FAST, 2));
            u.push(unit(RETURN_VALUE, 0));
        });
        call.callee.nlocalsplus = 3;
        let body = inline_body(&call).expect("inlinable");
        let ops: Vec<(Uop, u32)> = body.uops.iter().map(|u| (u.op, u.oparg)).collect();
        use Uop::*;
        assert_eq!(
            ops,
            [
                (_PUSH_NULL, 0),
                (_LOAD_FAST, 1),
                (_STORE_FAST, 2),
                (_LOAD_FAST, 2),
                (_INLINE_POP_LOCALS, 1),
                (_INLINE_RETURN, 1),
            ]
        );
        assert_eq!((body.nargs, body.locals), (2, 1));
    }

    #[test]
    fn callees_that_call_loop_store_or_run_code_are_not_inlined() {
        let cases: [fn(&mut Vec<u16>); 5] = [
            // A call of anything.
            |u| {
                u.push(unit(LOAD_FAST, 0));
                u.push(unit(PUSH_NULL, 0));
                with_caches(u, CALL, 0);
                u.push(unit(RETURN_VALUE, 0));
            },
            // A store to a parameter: not a pure computation.
            |u| {
                u.push(unit(LOAD_FAST, 1));
                u.push(unit(STORE_FAST, 0));
                u.push(unit(RETURN_CONST, 0));
            },
            // An unspecialized operation without fast paths (`@`) may call
            // `__matmul__`.
            |u| {
                u.push(unit(LOAD_FAST_LOAD_FAST, 1));
                with_caches(u, BINARY_OP, consts::NB_MATRIX_MULTIPLY as u32);
                u.push(unit(RETURN_VALUE, 0));
            },
            // More operators than a body computes with.
            |u| {
                for _ in 0..=MAX_INLINED_ARITHMETIC {
                    u.push(unit(LOAD_FAST_LOAD_FAST, 1));
                    with_caches(u, BINARY_OP_ADD_INT, 0);
                    u.push(unit(POP_TOP, 0));
                }
                u.push(unit(RETURN_CONST, 0));
            },
            // A loop.
            |u| {
                u.push(unit(NOP, 0));
                with_caches(u, JUMP_BACKWARD, 2 + caches(JUMP_BACKWARD) as u32);
                u.push(unit(RETURN_CONST, 0));
            },
        ];
        for case in cases {
            assert_eq!(inline_body(&callee(case)), None);
        }
        // Not past its `RESUME`: the entry's checks are that instruction's.
        let mut call = callee(|u| u.push(unit(RETURN_CONST, 0)));
        call.callee.units[0] = unit(NOP, 0);
        assert_eq!(inline_body(&call), None);
    }

    #[test]
    fn decode_folds_extended_args_and_skips_caches() {
        let mut units = vec![
            unit(RESUME, 0),
            unit(EXTENDED_ARG, 1),
            unit(EXTENDED_ARG, 2),
        ];
        with_caches(&mut units, LOAD_FAST, 3);
        with_caches(&mut units, BINARY_OP, 0);
        units.push(unit(RETURN_VALUE, 0));
        let insts = decode(&units).unwrap();
        let summary: Vec<(u32, u32, u8, u32)> = insts
            .iter()
            .map(|i| (i.start, i.offset, i.opcode, i.oparg))
            .collect();
        let binop_caches = caches(BINARY_OP) as u32;
        assert_eq!(
            summary,
            vec![
                (0, 0, RESUME, 0),
                (1, 3, LOAD_FAST, (1 << 16) | (2 << 8) | 3),
                (4, 4, BINARY_OP, 0),
                (5 + binop_caches, 5 + binop_caches, RETURN_VALUE, 0),
            ]
        );
    }

    #[test]
    fn instrumented_bytecode_is_not_compiled_now() {
        let units = vec![unit(INSTRUMENTED_RESUME, 0), unit(RETURN_CONST, 0)];
        assert!(matches!(decode(&units), Err(Refusal::NotNow(_))));
    }

    #[test]
    fn jumps_resolve_to_instructions_and_deopts_target_the_prefix() {
        // 0 RESUME; 1 LOAD_FAST 0; 2 POP_JUMP_IF_FALSE +2 (skips 2 units);
        // 4 EXTENDED_ARG 0 / LOAD_CONST 0; 6 RETURN_VALUE; 7 RETURN_CONST 0.
        let mut units = vec![unit(RESUME, 0), unit(LOAD_FAST, 0)];
        with_caches(&mut units, POP_JUMP_IF_FALSE, 3);
        units.extend([
            unit(EXTENDED_ARG, 0),
            unit(LOAD_CONST, 0),
            unit(RETURN_VALUE, 0),
            unit(RETURN_CONST, 0),
        ]);
        let p = lower(&code(units)).unwrap();
        let branch = p
            .uops
            .iter()
            .find(|u| u.op == Uop::_POP_JUMP_IF_FALSE)
            .unwrap();
        let target = &p.insts[branch.jump.unwrap() as usize];
        assert_eq!(target.opcode, RETURN_CONST);
        let load = p.insts.iter().find(|i| i.opcode == LOAD_CONST).unwrap();
        assert_eq!((load.start, load.offset), (4, 5));
    }

    #[test]
    fn loops_longer_than_the_interpreter_runs_faster_are_refused() {
        // NOP x n, then JUMP_BACKWARD (after its EXTENDED_ARG) to the first
        // NOP: a loop of n + 1 instructions.
        let looped = |n: usize| {
            let mut units = vec![unit(RESUME, 0)];
            units.extend(std::iter::repeat_n(unit(NOP, 0), n));
            let back = n as u32 + 3;
            units.push(unit(EXTENDED_ARG, back >> 8));
            with_caches(&mut units, JUMP_BACKWARD, back & 0xFF);
            units
        };
        let short = decode(&looped(MAX_LOOP_INSTRUCTIONS - 1)).unwrap();
        assert_eq!(longest_loop(&short), Some(MAX_LOOP_INSTRUCTIONS));
        assert_eq!(longest_loop(&decode(&[unit(RESUME, 0)]).unwrap()), None);
        let long = looped(MAX_LOOP_INSTRUCTIONS);
        assert!(
            matches!(lower(&code(long)), Err(Refusal::Never(r)) if r.contains("loop of 10001"))
        );
    }

    /// Counters that backed off after a failure are due again for the
    /// instructions CPython refuses under a frame evaluator, and only those.
    #[test]
    fn refused_specializations_are_due_again() {
        let mut units = vec![unit(RESUME, 0)];
        let mut counters = Vec::new();
        for op in [
            CALL,
            LOAD_ATTR,
            BINARY_SUBSCR,
            FOR_ITER,
            SEND,
            LOAD_GLOBAL,
            CALL,
        ] {
            counters.push(units.len() + 1);
            with_caches(&mut units, op, 0);
        }
        let failed = (3 << 4) | 2;
        for &c in &counters {
            units[c] = failed;
        }
        let last = *counters.last().unwrap();
        units[last] = 0xFFFF;
        retry_refused_specializations(&mut units);
        let after: Vec<u16> = counters.iter().map(|&c| units[c]).collect();
        assert_eq!(after, [1, 1, 1, 1, 1, failed, 0xFFFF]);
        // Nothing past an instrumented instruction is touched.
        let mut instrumented = vec![unit(RESUME, 0), unit(MIN_INSTRUMENTED_OPCODE, 0)];
        with_caches(&mut instrumented, CALL, 0);
        instrumented[3] = failed;
        retry_refused_specializations(&mut instrumented);
        assert_eq!(instrumented[3], failed);
        let mut warm = vec![unit(RESUME, 0)];
        with_caches(&mut warm, CALL, 0);
        warm[2] = (1 << 4) | 1;
        retry_refused_specializations(&mut warm);
        assert_eq!(warm[2], (1 << 4) | 1);
    }

    /// A loop is a `JUMP_BACKWARD` opcode, not a cache entry or an
    /// argument that looks like one; instrumented code has none.
    #[test]
    fn backward_jumps_are_found_as_decode_finds_them() {
        let mut looped = vec![unit(RESUME, 0), unit(EXTENDED_ARG, 1)];
        with_caches(&mut looped, JUMP_BACKWARD, 4);
        let mut cache_like = vec![unit(RESUME, 0)];
        with_caches(&mut cache_like, LOAD_GLOBAL, 0);
        let last = cache_like.len() - 1;
        cache_like[last] = unit(JUMP_BACKWARD, 0);
        cache_like.push(unit(LOAD_FAST, JUMP_BACKWARD as u32));
        let mut instrumented = looped.clone();
        instrumented[0] = unit(MIN_INSTRUMENTED_OPCODE, 0);
        assert_eq!(
            shape(&looped).instructions,
            decode(&looped).unwrap().len() as u32
        );
        assert_eq!(shape(&cache_like).instructions, 3);
        for (units, loops) in [(looped, true), (cache_like, false), (instrumented, false)] {
            let decoded = decode(&units)
                .is_ok_and(|insts| insts.iter().any(|i| deopt(i.opcode) == JUMP_BACKWARD));
            assert_eq!((shape(&units).loops, decoded), (loops, loops));
        }
    }

    /// [`shape`] as [`instructions`] decodes the units: the table's answer
    /// must be the decoder's for any units at all.
    fn shape_decoded(units: &[u16]) -> Shape {
        let mut shape = Shape::default();
        for inst in instructions(units) {
            let Ok(inst) = inst else {
                return Shape {
                    instructions: shape.instructions,
                    ..Shape::default()
                };
            };
            let op = deopt(inst.opcode);
            shape.loops |= op == JUMP_BACKWARD;
            shape.calls |= matches!(
                op,
                CALL | CALL_KW | CALL_FUNCTION_EX | IMPORT_NAME | IMPORT_FROM
            );
            shape.instructions += 1;
        }
        shape
    }

    #[test]
    fn shape_agrees_with_the_decoder_on_any_units() {
        // A fixed pseudo-random sequence (64-bit LCG): every opcode, real
        // or not, among arbitrary cache entries and opargs.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u16
        };
        let (mut looped, mut called, mut refused) = (0, 0, 0);
        // Fewer under Miri, which runs them a thousand times slower.
        let rounds = if cfg!(miri) { 300 } else { 20_000 };
        for _ in 0..rounds {
            let len = (next() % 24) as usize;
            let units: Vec<u16> = (0..len)
                .map(|_| match next() % 4 {
                    // Mostly opcodes below the instrumented ones.
                    0 | 1 => (next() % MIN_INSTRUMENTED_OPCODE as u16) | (next() << 8),
                    _ => next(),
                })
                .collect();
            let expected = shape_decoded(&units);
            assert_eq!(shape(&units), expected, "{units:04x?}");
            looped += usize::from(expected.loops);
            called += usize::from(expected.calls);
            refused += usize::from(decode(&units).is_err());
        }
        // The sequence reaches every kind of answer.
        let least = rounds / 200;
        assert!(
            looped > least && called > least && refused > least,
            "{looped} {called} {refused}"
        );
    }

    #[test]
    fn calls_are_found_in_any_form() {
        let mut plain = vec![unit(RESUME, 0)];
        with_caches(&mut plain, LOAD_FAST, 0);
        assert!(!shape(&plain).calls);
        for call in [
            CALL,
            CALL_PY_EXACT_ARGS,
            CALL_KW,
            CALL_FUNCTION_EX,
            IMPORT_NAME,
        ] {
            let mut units = plain.clone();
            with_caches(&mut units, call, 1);
            assert!(shape(&units).calls, "{}", name(call));
            // Not in code the frontend refuses.
            units[0] = unit(MIN_INSTRUMENTED_OPCODE, 0);
            assert!(!shape(&units).calls);
        }
    }

    #[test]
    fn code_falling_off_its_end_is_refused() {
        let units = vec![unit(RESUME, 0), unit(LOAD_FAST, 0)];
        assert!(matches!(lower(&code(units)), Err(Refusal::Never(_))));
    }

    #[test]
    fn generators_and_module_bodies_compile() {
        let units = vec![unit(RESUME, 0), unit(RETURN_CONST, 0)];
        let mut gen = code(units.clone());
        gen.flags |= consts::CO_GENERATOR as u32;
        assert!(lower(&gen).is_ok());
        let mut module = code(units);
        module.flags = 0;
        assert!(lower(&module).is_ok());
    }

    #[test]
    fn stale_global_specializations_become_generic() {
        let mut units = vec![unit(RESUME, 0)];
        units.push(unit(LOAD_GLOBAL_MODULE, 0));
        // counter, globals version (1), builtins version, index.
        units.extend([0, 7, 0, 3]);
        units.push(unit(RETURN_VALUE, 0));
        let mut input = code(units);
        input.globals_version = Some(7);
        assert!(lower(&input)
            .unwrap()
            .uops
            .iter()
            .any(|u| u.op == Uop::_LOAD_GLOBAL_MODULE));
        input.globals_version = Some(8);
        let p = lower(&input).unwrap();
        assert!(p.uops.iter().any(|u| u.op == Uop::_LOAD_GLOBAL));
        assert!(!p.uops.iter().any(|u| u.op == Uop::_LOAD_GLOBAL_MODULE));
    }

    /// A call the hook found trivial is `_CALL_TRIVIAL` (the function's
    /// version and result burned in) with the generic call as its
    /// fallback; made generic, or not found, it is the generic call.
    #[test]
    fn trivial_method_calls_lower_to_call_trivial() {
        let mut units = vec![unit(RESUME, 0), unit(LOAD_FAST, 0), unit(LOAD_FAST, 0)];
        let at = units.len() as u32;
        with_caches(&mut units, CALL_PY_EXACT_ARGS, 0);
        units.push(unit(RETURN_VALUE, 0));
        let mut input = code(units);
        let ops = |input: &CodeInput| -> Vec<(Uop, u32, u64)> {
            let p = lower(input).unwrap();
            p.uops.iter().map(|u| (u.op, u.oparg, u.operand)).collect()
        };
        assert!(!ops(&input).iter().any(|u| u.0 == Uop::_CALL_TRIVIAL));
        input.trivial_calls = vec![TrivialCall {
            offset: at,
            version: 77,
            result: 0x5000,
        }];
        let lowered = ops(&input);
        assert!(lowered.contains(&(Uop::_CALL_TRIVIAL, 77, 0x5000)));
        let trivial = lowered.iter().position(|u| u.0 == Uop::_CALL_TRIVIAL);
        let call = lowered.iter().position(|u| u.0 == Uop::_CALL);
        assert!(
            call > trivial,
            "the generic call is the fallback: {lowered:?}"
        );
        input.generic = vec![at];
        let lowered = ops(&input);
        assert!(!lowered.iter().any(|u| u.0 == Uop::_CALL_TRIVIAL));
        assert!(lowered.iter().any(|u| u.0 == Uop::_CALL));
    }

    /// A specialization that kept failing is compiled as its fallback is:
    /// the adaptive micro-op with inline fast paths, not the bare generic.
    #[test]
    fn instructions_made_generic_keep_their_fast_paths() {
        let mut units = vec![unit(RESUME, 0), unit(LOAD_FAST, 0), unit(LOAD_FAST, 1)];
        let at = units.len() as u32;
        with_caches(
            &mut units,
            BINARY_OP_ADD_FLOAT,
            consts::NB_INPLACE_ADD as u32,
        );
        units.push(unit(RETURN_VALUE, 0));
        let mut input = code(units);
        assert!(lower(&input)
            .unwrap()
            .uops
            .iter()
            .any(|u| u.op == Uop::_BINARY_OP_ADD_FLOAT));
        input.generic = vec![at];
        let p = lower(&input).unwrap();
        assert!(p.uops.iter().any(|u| u.op == Uop::_BINARY_OP_ADAPTIVE_ADD));
        assert!(!p
            .uops
            .iter()
            .any(|u| u.op == Uop::_BINARY_OP_ADD_FLOAT || u.op == Uop::_BINARY_OP));
    }

    /// Every instruction of CPython 3.13 either lowers to micro-ops or is an
    /// explicit exit to the interpreter; the exits are listed here so that
    /// adding or losing support is a deliberate change.
    #[test]
    fn every_opcode_lowers_or_deopts_explicitly() {
        // Never executed (`CACHE`, `RESERVED`), the interpreter's own exit
        // (`INTERPRETER_EXIT`), and generator creation, which the
        // interpreter does before compiled code runs the generator.
        const DEOPTS: &[&str] = &["CACHE", "INTERPRETER_EXIT", "RESERVED", "RETURN_GENERATOR"];
        let mut deopting = Vec::new();
        for op in 0..MIN_INSTRUMENTED_OPCODE {
            let info = &OPCODE_INFO[op as usize];
            if !info.valid || op == EXTENDED_ARG || op == ENTER_EXECUTOR {
                continue;
            }
            let mut units = vec![unit(op, 1)];
            units.extend(std::iter::repeat_n(0, caches(deopt(op)) + 8));
            let insts = decode(&units).unwrap();
            let lowered = lower_inst(&code(units.clone()), &insts, 0, false);
            assert!(!lowered.is_empty(), "{} lowers to nothing", info.name());
            if lowered.iter().any(|u| u.op == Uop::_DEOPT) {
                assert_eq!(
                    lowered.len(),
                    1,
                    "{} mixes micro-ops and an exit",
                    info.name()
                );
                deopting.push(info.name());
            }
        }
        deopting.sort_unstable();
        assert_eq!(deopting, DEOPTS);
    }
}
