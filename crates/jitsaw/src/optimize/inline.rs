//! Inlining of small callees (`frontend::inline_body`): a call of a method
//! or a function whose callee computes its result from its parameters
//! alone runs the callee's micro-ops in the caller, on the caller's frame,
//! with no frame of its own.
//!
//! The arguments stay where the call found them, in the caller's stack:
//! the callee's local `k` is the caller's stack slot of argument `k`
//! (`self` first), and the callee's own values go on above them, past the
//! end of the caller's frame if need be, into the free part of the
//! thread's frame stack (`_CHECK_INLINE_ROOM` checks that the frame is its
//! top and that the room is there). The entry (`_CHECK_CALLEE`) also checks
//! what the call itself would: the callable is a plain function of the
//! callee's code, its
//! `RESUME` would find no event and its code's instrumentation current,
//! the recursion limit is not near, jitsaw's frame evaluator is the
//! interpreter's. Nothing of the callee can be observed meanwhile: its
//! micro-ops run no code. The return (`_INLINE_RETURN`) releases the
//! arguments and the callable as the callee's frame would once popped.
//!
//! Whatever leaves the body (a guard, an allocation that fails) goes to
//! the instruction's fallback, which releases what the body had pushed
//! (`_INLINE_UNWIND`) and makes the call: the body has changed nothing, so
//! the callee then runs as it would have, with its frame, its tracebacks,
//! its deopts. A call whose entry keeps failing is compiled generic after
//! its fallbacks, without the body.
//!
//! A body that stores into attributes cannot start the call over once it
//! has stored: its exits after the first store have the callee's frame
//! materialized ([`emit_materialization`]), made from the body's values
//! and run by the interpreter from the exit's instruction, its result the
//! call's.
//!
//! The last pass: locals beyond the caller's and jumps within an
//! instruction ([`LABEL`]s) are for the code generator only.

use super::depth::{depths, Depth};
use super::{raw, rewrite_ranges};
use crate::stencils::HoleValue;
use crate::uops::{Burned, InlineBody, Program, Uop, UopInst, LABEL};

/// Inlines the program's callee bodies at their calls (see the module).
pub fn inline_calls(mut program: Program) -> Program {
    let mut bodies = std::mem::take(&mut program.inline_bodies);
    if bodies.is_empty() {
        return program;
    }
    // What the passes before did to the caller's code, the bodies get
    // here: their comparisons' stencil copies (`mask_comparisons`),
    // expressions in words (`compute_in_words`; up to the first store,
    // after which exits resume the callee's frame rather than start the
    // call over) and borrowed operands (`borrow_operands`).
    for body in &mut bodies {
        for u in &mut body.uops {
            if super::compares_by_mask(u.op) {
                u.oparg &= 15;
            }
        }
        let end = if body.materializes {
            body.first_store()
        } else {
            body.uops.len()
        };
        let words = &body.const_words;
        let const_word = |object: u64| {
            let found = words.iter().find(|&&(o, _, _)| o == object);
            found.map(|&(_, w, float)| (w, float))
        };
        let either = program.either_kinds.contains(&body.site.offset);
        body.uops = raw::words_in_body(std::mem::take(&mut body.uops), end, &const_word, either);
        super::borrow::borrow_in_body(&mut body.uops);
    }
    let at = depths(&program);
    let plans: Vec<Option<Plan>> = (0..program.insts.len())
        .map(|i| plan(&program, &bodies, &at, i))
        .collect();
    if plans.iter().all(Option::is_none) {
        return program;
    }
    program.inlined_instructions = plans.iter().flatten().map(|p| p.body.instructions).sum();
    // The values the bodies burned in are the code's to watch.
    let mut burned = Vec::new();
    let mut burned_attrs = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        let Some(plan) = plan else { continue };
        burned.extend(plan.body.burned.iter().map(|&global| Burned {
            inst: i as u32,
            global,
            attrs: 0,
            in_body: true,
        }));
        burned_attrs.extend_from_slice(&plan.body.burned_attrs);
    }
    let opcodes: Vec<u32> = program.insts.iter().map(|i| i.opcode as u32).collect();
    let frame_size = program.frame_size;
    let mut program = rewrite_ranges(program, |i, fallback, uops, out| match &plans[i] {
        None => out.extend_from_slice(uops),
        Some(plan) if fallback => emit_fallback(plan, opcodes[i], i as u32, uops, out),
        Some(plan) => emit_main(plan, frame_size, opcodes[i], i as u32, uops, out),
    });
    if burned.is_empty() {
        return program;
    }
    program.burned.extend(burned);
    program.burned_attrs.extend(burned_attrs);
    super::globals::guard_namespace(program)
}

/// Where a body goes in its call's instruction.
struct Plan<'a> {
    body: &'a InlineBody,
    /// The call's micro-ops before its `_SET_IP` and `_CALL`.
    before: usize,
    /// The call's `_SET_IP` and `_CALL`, and after the `_CALL` the micro-ops
    /// of the call (`_CHECK_PERIODIC`) and those after it (the next
    /// instruction's validity check).
    set_ip: Option<UopInst>,
    /// The call's micro-ops: `_CALL`, or a class call's
    /// `_CALL_ALLOC_AND_ENTER_INIT` and `_EXIT_INIT_CHECK`.
    call: Vec<UopInst>,
    periodic: Option<UopInst>,
    after: Vec<UopInst>,
    /// The frame slot of the callee's local 0 (`self`).
    first_local: u32,
    /// The frame slot above the arguments, where the body's values start.
    values: u32,
    /// The frame slot the thread's frame stack must have room up to: the
    /// body's last value's, or for a body whose frame may be materialized,
    /// the end of that frame.
    room: u32,
    /// The call's code unit (the caller's `instr_ptr` while a materialized
    /// frame runs).
    call_unit: u64,
}

/// How instruction `i` inlines its body, if it is a call with one whose
/// shape fits: `[..., _SET_IP?, _CALL n, _CHECK_PERIODIC?, ...]`, no
/// fallback yet, its stack depth known, `n + 1` parameters.
fn plan<'a>(
    program: &Program,
    bodies: &'a [InlineBody],
    at: &[Depth],
    i: usize,
) -> Option<Plan<'a>> {
    let inst = &program.insts[i];
    let body = bodies.iter().find(|b| b.site.offset == inst.offset)?;
    let Depth::Known(depth) = at[i] else {
        return None;
    };
    // Only a method's or a function's frame is materialized.
    if body.materializes
        && (body.site.init.is_some() || body.site.getitem.is_some() || !exits_resumable(body))
    {
        return None;
    }
    let call_unit = program.unit_address(inst.offset);
    let uops = program.uops_of(i);
    // A call CPython left to `CALL_NON_PY_GENERAL` (a class with
    // `__slots__`): its guard sends classes to its fallback, the generic
    // call, which is the inlined `__init__`'s fallback too.
    if body.site.init.is_some() && inst.fallback_count != 0 {
        let k = uops
            .iter()
            .position(|u| u.op == Uop::_CHECK_IS_NOT_PY_CALLABLE)?;
        let call = uops.iter().find(|u| u.op == Uop::_CALL_NON_PY_GENERAL)?;
        let end = k
            + uops[k..]
                .iter()
                .position(|u| u.op == Uop::_CHECK_PERIODIC)?
            + 1;
        let after = uops[end..].to_vec();
        if call.oparg + 1 != body.nargs
            || after.iter().any(|u| u.jump.is_some() || !u.op.continues())
            || program
                .fallback_of(i)
                .first()
                .is_none_or(|u| u.op != Uop::_GENERIC)
        {
            return None;
        }
        return frame_slots(program, body, at[i]).map(|(first_local, values, room)| Plan {
            body,
            before: k,
            set_ip: None,
            call: Vec::new(),
            periodic: None,
            after,
            first_local,
            values,
            room,
            call_unit,
        });
    }
    // A subscript's `__getitem__` (or a binary operator's method): the
    // subscript's micro-op is the call, the container and the subscript
    // (which it owns: not borrowed forms) the arguments.
    if body.site.getitem.is_some() {
        let k = uops.iter().position(|u| {
            if body.site.binary {
                matches!(
                    u.op,
                    Uop::_BINARY_OP
                        | Uop::_BINARY_OP_ADAPTIVE_ADD
                        | Uop::_BINARY_OP_ADAPTIVE_SUBTRACT
                        | Uop::_BINARY_OP_ADAPTIVE_MULTIPLY
                        | Uop::_BINARY_OP_ADAPTIVE_TRUE_DIVIDE
                )
            } else {
                matches!(u.op, Uop::_BINARY_SUBSCR | Uop::_BINARY_SUBSCR_ADAPTIVE)
            }
        })?;
        let set_ip = (k > 0 && uops[k - 1].op == Uop::_SET_IP).then(|| uops[k - 1]);
        let after = uops[k + 1..].to_vec();
        if inst.fallback_count != 0
            || body.nargs != 2
            || after.iter().any(|u| u.jump.is_some() || !u.op.continues())
        {
            return None;
        }
        let (first_local, values, room) = frame_slots(program, body, Depth::Known(depth))?;
        return Some(Plan {
            body,
            before: k - set_ip.is_some() as usize,
            set_ip,
            call: vec![uops[k]],
            periodic: None,
            after,
            first_local,
            values,
            room,
            call_unit,
        });
    }
    let k = uops
        .iter()
        .position(|u| matches!(u.op, Uop::_CALL | Uop::_CALL_ALLOC_AND_ENTER_INIT))?;
    let mut end = k + 1;
    if uops[k].op == Uop::_CALL_ALLOC_AND_ENTER_INIT {
        (uops.get(end)?.op == Uop::_EXIT_INIT_CHECK && body.site.init.is_some()).then_some(())?;
        end += 1;
    }
    let call = uops[k..end].to_vec();
    // A class call's arguments and `self`, the instance made.
    let with_self = body.site.method || body.site.init.is_some();
    if inst.fallback_count != 0
        || uops[k].oparg + with_self as u32 != body.nargs
        || call.iter().any(|u| u.jump.is_some())
    {
        return None;
    }
    let set_ip = (k > 0 && uops[k - 1].op == Uop::_SET_IP).then(|| uops[k - 1]);
    let before = k - set_ip.is_some() as usize;
    let periodic = uops
        .get(end)
        .filter(|u| u.op == Uop::_CHECK_PERIODIC)
        .copied();
    let after = uops[end + periodic.is_some() as usize..].to_vec();
    if after.iter().any(|u| u.jump.is_some() || !u.op.continues()) {
        return None;
    }
    let (first_local, values, room) = frame_slots(program, body, Depth::Known(depth))?;
    Some(Plan {
        body,
        before,
        set_ip,
        call,
        periodic,
        after,
        first_local,
        values,
        room,
        call_unit,
    })
}

/// The frame slots of the callee's local 0, of its first value and of the
/// end of the room it needs (see [`Plan::room`]), for a call starting at
/// stack depth `at`, if the entry's opargs can hold them.
fn frame_slots(program: &Program, body: &InlineBody, at: Depth) -> Option<(u32, u32, u32)> {
    let Depth::Known(depth) = at else {
        return None;
    };
    let values = program.stack_base + u32::try_from(depth).ok()?;
    let first_local = values.checked_sub(body.nargs)?;
    let callee_slots = body.nargs + body.locals + body.site.stacksize;
    // A materialized frame goes right after the caller's (which the entry
    // checks is the thread's top frame): its header and slots.
    let room = if body.materializes {
        program.frame_size + callee_slots
    } else {
        first_local + callee_slots
    };
    // The entry's oparg holds the arguments in 8 bits; a materialized
    // frame's, its first local's slot in 22 (below the top slot).
    (body.nargs <= 0xFF && room < 1 << 22).then_some((first_local, values, room))
}

/// Whether a body's exits can each resume the callee's frame at its own
/// instruction (a body with side effects must): none is a jump's too.
fn exits_resumable(body: &InlineBody) -> bool {
    body.uops.iter().all(|u| {
        let s = u.stencil();
        !s.has(HoleValue::JumpTarget) || !(s.has(HoleValue::Exit) || s.has(HoleValue::Error))
    })
}

/// The call's code with the body inlined: the micro-ops before the call,
/// `_CHECK_CALLEE` (and the room above the caller's frame, of
/// `frame_size` words), the body, and after each return what followed the
/// call.
fn emit_main(
    plan: &Plan,
    frame_size: u32,
    opcode: u32,
    i: u32,
    uops: &[UopInst],
    out: &mut Vec<UopInst>,
) {
    let start = out.len();
    out.extend_from_slice(&uops[..plan.before]);
    let body = plan.body;
    out.extend(body.entry_checks(Some((plan.room, frame_size)), i));
    let last = body.uops.len() - 1;
    // Where each of the body's micro-ops lands in `out`, for its jumps.
    let mut landed = Vec::with_capacity(body.uops.len());
    for (k, u) in body.uops.iter().enumerate() {
        landed.push(out.len());
        let mut u = UopInst { inst: i, ..*u };
        if u.op.names_local() {
            u.oparg += plan.first_local;
        }
        out.push(u);
        if matches!(
            u.op,
            Uop::_INLINE_RETURN | Uop::_INLINE_INIT_RETURN | Uop::_INLINE_SUBSCR_RETURN
        ) {
            out.extend(plan.after.iter().copied());
            // (A materialized frame's exits follow the body.)
            if k != last || body.materializes {
                out.push(UopInst {
                    op: Uop::_JUMP,
                    oparg: 0,
                    operand: 0,
                    inst: i,
                    jump: Some(i + 1),
                });
            }
        }
    }
    for &at in &landed {
        if let Some(t) = out[at].jump {
            out[at].jump = Some(LABEL | (landed[t as usize] - start) as u32);
        }
    }
    if body.materializes {
        emit_materialization(plan, opcode, i, start, &landed, out);
    }
}

/// After the body of a call whose frame is materialized where the body
/// leaves after a side effect (it cannot start the call over then): an
/// `_INLINE_EXIT_AT` for each place such exits resume the callee at, which
/// they jump to, then the frame made and run (`_INLINE_MATERIALIZE`,
/// counted as the instruction's fallback, `_GENERIC`), and after it what
/// follows the call. A body's error leaves the same way, and is raised in
/// the frame made (`_INLINE_MATERIALIZE` finds it set).
fn emit_materialization(
    plan: &Plan,
    opcode: u32,
    i: u32,
    start: usize,
    landed: &[usize],
    out: &mut Vec<UopInst>,
) {
    let uop = |op: Uop, oparg: u32, operand: u64| UopInst {
        op,
        oparg,
        operand,
        inst: i,
        jump: None,
    };
    // Where each exit resumes: the callee's code unit (a local's attribute
    // load, `_LOAD_ATTR_LOCAL_CACHED`, leaves as its `LOAD_ATTR`, the local
    // pushed).
    // Exits up to the first store (jumps go forward only) have changed
    // nothing yet: those leave for the call, as other bodies' do.
    let first_store = plan.body.first_store();
    let mut resumes: Vec<u32> = Vec::new();
    let mut exits: Vec<(usize, usize)> = Vec::new();
    for (k, u) in plan.body.uops.iter().enumerate().skip(first_store + 1) {
        let at = landed[k];
        let stencil = out[at].stencil();
        if !stencil.has(HoleValue::Exit) && !stencil.has(HoleValue::Error) {
            continue;
        }
        let r = resumes
            .iter()
            .position(|&r| r == u.inst)
            .unwrap_or_else(|| {
                resumes.push(u.inst);
                resumes.len() - 1
            });
        exits.push((at, r));
    }
    let first_exit = out.len();
    let materialize = (first_exit + resumes.len() - start) as u32;
    for &unit in &resumes {
        out.push(UopInst {
            jump: Some(LABEL | materialize),
            ..uop(
                Uop::_INLINE_EXIT_AT,
                0,
                plan.body.code_start + 2 * unit as u64,
            )
        });
    }
    for (at, r) in exits {
        out[at].jump = Some(LABEL | (first_exit + r - start) as u32);
    }
    out.push(uop(Uop::_GENERIC, opcode, 0));
    out.push(uop(
        Uop::_INLINE_MATERIALIZE,
        plan.first_local | (!plan.body.site.method as u32) << 30,
        plan.call_unit,
    ));
    out.extend(plan.periodic);
    out.extend(plan.after.iter().copied());
}

/// The call's fallback: what the body pushed released, then the call as
/// it was compiled, then on to the next instruction.
fn emit_fallback(plan: &Plan, opcode: u32, i: u32, uops: &[UopInst], out: &mut Vec<UopInst>) {
    let uop = |op: Uop, oparg: u32| UopInst {
        op,
        oparg,
        operand: 0,
        inst: i,
        jump: None,
    };
    out.push(uop(Uop::_INLINE_UNWIND, plan.values));
    if plan.body.site.init.is_some() {
        out.push(uop(Uop::_INIT_DISCARD, plan.first_local));
    }
    // The instruction's own fallback, the call.
    if !uops.is_empty() {
        out.extend_from_slice(uops);
        return;
    }
    out.push(uop(Uop::_GENERIC, opcode));
    out.extend(plan.set_ip);
    out.extend(plan.call.iter().copied());
    out.extend(plan.periodic);
    out.extend(plan.after.iter().copied());
    out.push(UopInst {
        jump: Some(i + 1),
        ..uop(Uop::_JUMP, 0)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uops::{InlineSite, Inst};

    /// Instruction `k` (its offset, which bodies are found by) with its
    /// micro-ops and fallback's.
    fn inst(k: u32, first: u32, count: u32, fallback: u32, fallback_count: u32) -> Inst {
        Inst {
            start: k,
            offset: k,
            ..crate::optimize::tests::inst(first, count, fallback, fallback_count)
        }
    }

    fn uop(op: Uop, oparg: u32, inst: u32, jump: Option<u32>) -> UopInst {
        UopInst {
            op,
            oparg,
            operand: 0,
            inst,
            jump,
        }
    }

    /// `f, self, o` pushed, `CALL 1` (its `_SET_IP`, `_CALL`,
    /// `_CHECK_PERIODIC`, then the next instruction's validity check), a
    /// return; the callee `o if o else self` to inline, with two returns.
    fn program() -> Program {
        let inst = |k: u32, first: u32, count: u32| inst(k, first, count, 8, 0);
        let body = vec![
            uop(Uop::_LOAD_FAST, 1, 0, None),
            uop(Uop::_POP_JUMP_IF_TRUE, 0, 0, Some(4)),
            // `self.x`, read in place (the local in the oparg; the name).
            UopInst {
                operand: 0x55,
                ..uop(Uop::_LOAD_ATTR_LOCAL_CACHED, 0, 0, None)
            },
            uop(Uop::_INLINE_RETURN, 1, 0, None),
            uop(Uop::_LOAD_FAST, 1, 0, None),
            uop(Uop::_INLINE_RETURN, 1, 0, None),
        ];
        Program {
            insts: vec![
                inst(0, 0, 1),
                inst(1, 1, 1),
                inst(2, 2, 1),
                inst(3, 3, 4),
                inst(4, 7, 1),
            ],
            uops: vec![
                uop(Uop::_LOAD_CONST_INLINE_BORROW, 0, 0, None),
                uop(Uop::_LOAD_FAST, 0, 1, None),
                uop(Uop::_LOAD_FAST, 1, 2, None),
                uop(Uop::_SET_IP, 0, 3, None),
                uop(Uop::_CALL, 1, 3, None),
                uop(Uop::_CHECK_PERIODIC, 0, 3, None),
                uop(Uop::_CHECK_VALIDITY, 0, 4, None),
                uop(Uop::_POP_FRAME, 0, 4, None),
            ],
            stack_base: 5,
            inline_bodies: vec![InlineBody {
                site: InlineSite {
                    offset: 3,
                    code: 0x7000,
                    stacksize: 1,
                    method: true,
                    init: None,
                    getitem: None,
                    binary: false,
                },
                instructions: 4,
                nargs: 2,
                locals: 0,
                uops: body,
                materializes: false,
                const_words: Vec::new(),
                burned: Vec::new(),
                burned_attrs: Vec::new(),
                code_start: 0,
            }],
            ..Program::default()
        }
    }

    /// The body `self.x * o.x + self.y * o.y + ...` of `terms` products
    /// of floats (`_GUARD_BOTH_FLOAT` before each operation).
    fn products(terms: usize) -> Vec<UopInst> {
        let mut body = Vec::new();
        let operation = |specialized: Uop, body: &mut Vec<UopInst>| {
            body.push(uop(Uop::_GUARD_BOTH_FLOAT, 0, 0, None));
            body.push(uop(specialized, 0, 0, None));
        };
        for t in 0..terms {
            for local in [0, 1] {
                body.push(UopInst {
                    operand: 0x50 + t as u64,
                    ..uop(Uop::_LOAD_ATTR_LOCAL_CACHED, local, 0, None)
                });
            }
            operation(Uop::_BINARY_OP_MULTIPLY_FLOAT, &mut body);
            if t > 0 {
                operation(Uop::_BINARY_OP_ADD_FLOAT, &mut body);
            }
        }
        body.push(uop(Uop::_INLINE_RETURN, 1, 0, None));
        body
    }

    #[test]
    fn a_bodys_arithmetic_is_computed_in_words() {
        // Three products, five float operators: computed in words (of
        // either kind: the callee's float arithmetic may be given ints), one
        // result boxed, the local in the low bits of each read's oparg and
        // the word above.
        let mut p = program();
        p.inline_bodies[0].uops = products(3);
        let p = inline_calls(p);
        let main: Vec<(Uop, u32)> = p.uops_of(3).iter().map(|u| (u.op, u.oparg)).collect();
        use Uop::*;
        assert_eq!(main[2], (_RAW_LOAD_ATTR_LOCAL_CACHED_ANY, 6));
        assert_eq!(main[3], (_RAW_LOAD_ATTR_LOCAL_CACHED_ANY, 7 | 1 << 24));
        assert_eq!(
            main[4],
            (_RAW_MULTIPLY_ANY, raw::operands(0, 1, 0) | 3 << 18)
        );
        assert_eq!(main[13], (_RAW_BOX_ANY, 0));
        assert_eq!(main[14], (_INLINE_RETURN, 1));
        assert_eq!(
            p.uops_of(3)[3].operand,
            0x50,
            "the name, for the site cache"
        );
    }

    #[test]
    fn values_a_body_burned_in_are_the_callers_to_watch() {
        // The body pushes a global's value (a builtin's): the caller's
        // code gets its dependency, marked as the body's, and checks its
        // frame's globals and builtins at its entry.
        let mut p = program();
        let global = crate::uops::KnownGlobal {
            offset: 3,
            name: 0x8000,
            value: 0x9000,
            immortal: true,
            globals: 0x1000,
            builtins: 0x2000,
        };
        p.inline_bodies[0].burned = vec![global];
        let p = inline_calls(p);
        assert_eq!(
            p.burned,
            [Burned {
                inst: 3,
                global,
                attrs: 0,
                in_body: true,
            }]
        );
        let entry: Vec<(Uop, u64)> = p.uops_of(0).iter().map(|u| (u.op, u.operand)).collect();
        use Uop::*;
        assert_eq!(
            entry[..2],
            [(_CHECK_GLOBALS, 0x1000), (_CHECK_BUILTINS, 0x2000)]
        );
        // The function's globals are checked to be the frame's (bit 0).
        assert_eq!(p.uops_of(3)[0].oparg & 1, 1);
        // A body that is not inlined adds nothing.
        let mut q = program();
        q.inline_bodies[0].burned = vec![global];
        q.inline_bodies[0].site.offset = 99;
        let q = inline_calls(q);
        assert!(q.burned.is_empty());
        assert_eq!(q.uops_of(0)[0].op, _LOAD_CONST_INLINE_BORROW);
    }

    #[test]
    fn the_body_runs_on_the_callers_stack_and_falls_back_to_the_call() {
        let p = inline_calls(program());
        // The callee's instructions are compiled too (the stats count them).
        assert_eq!(p.inlined_instructions, 4);
        let main: Vec<(Uop, u32, Option<u32>)> = p
            .uops_of(3)
            .iter()
            .map(|u| (u.op, u.oparg, u.jump))
            .collect();
        use Uop::*;
        // The arguments are the caller's slots 6 (`self`) and 7 (`o`); the
        // body's values start at 8 and take one slot.
        assert_eq!(
            main,
            [
                (_CHECK_CALLEE, 2 << 2, None),
                (_CHECK_INLINE_ROOM, 9, None),
                (_LOAD_FAST, 7, None),
                (_POP_JUMP_IF_TRUE, 0, Some(LABEL | 8)),
                (_LOAD_ATTR_LOCAL_CACHED, 6, None),
                (_INLINE_RETURN, 1, None),
                (_CHECK_VALIDITY, 0, None),
                (_JUMP, 0, Some(4)),
                (_LOAD_FAST, 7, None),
                (_INLINE_RETURN, 1, None),
                (_CHECK_VALIDITY, 0, None),
            ]
        );
        assert_eq!(p.uops_of(3)[0].operand, 0x7000);
        assert_eq!(p.uops_of(3)[4].operand, 0x55);
        assert_eq!(
            p.uops_of(3)[6].inst,
            4,
            "the check stays the next instruction's"
        );
        let fallback: Vec<(Uop, u32, Option<u32>)> = p
            .fallback_of(3)
            .iter()
            .map(|u| (u.op, u.oparg, u.jump))
            .collect();
        assert_eq!(
            fallback,
            [
                (_INLINE_UNWIND, 8, None),
                (_GENERIC, 0, None),
                (_SET_IP, 0, None),
                (_CALL, 1, None),
                (_CHECK_PERIODIC, 0, None),
                (_CHECK_VALIDITY, 0, None),
                (_JUMP, 0, Some(4)),
            ]
        );
        // The other instructions are as they were, and the return after.
        assert_eq!(p.uops_of(4)[0].op, _POP_FRAME);
        assert_eq!(p.insts.iter().map(|i| i.fallback_count).sum::<u32>(), 7);
        assert!(p.inline_bodies.is_empty());
    }

    #[test]
    fn bodies_that_store_have_their_frame_materialized_where_they_leave_after() {
        // `self.x = o; return o.y`: the store's own exit comes before any
        // effect and leaves for the call; the load after it resumes the
        // callee's frame at its instruction (unit 0x14 of the callee).
        let mut p = program();
        p.frame_size = 20;
        p.insts[3].offset = 3;
        p.code_start = 0x1000;
        let body = &mut p.inline_bodies[0];
        body.materializes = true;
        body.code_start = 0x9000;
        body.uops = vec![
            uop(Uop::_LOAD_FAST, 1, 0x10, None),
            UopInst {
                operand: 0x55,
                ..uop(Uop::_STORE_ATTR_LOCAL_CACHED, 0, 0x11, None)
            },
            UopInst {
                operand: 0x66,
                ..uop(Uop::_LOAD_ATTR_LOCAL_CACHED, 1, 0x14, None)
            },
            uop(Uop::_INLINE_RETURN, 1, 0x20, None),
        ];
        let p = inline_calls(p);
        let main: Vec<(Uop, u32, u64, Option<u32>)> = p
            .uops_of(3)
            .iter()
            .map(|u| (u.op, u.oparg, u.operand, u.jump))
            .collect();
        use Uop::*;
        // Room for the frame after the caller's 20 words: the callee's 2
        // arguments and 1 stack slot, after its header.
        assert_eq!(
            main,
            [
                (_CHECK_CALLEE, 2 << 2, 0x7000, None),
                // (The caller's frame: 20 words.)
                (_CHECK_INLINE_ROOM, 23, 20, None),
                (_LOAD_FAST, 7, 0, None),
                (_STORE_ATTR_LOCAL_CACHED, 6, 0x55, None),
                (_LOAD_ATTR_LOCAL_CACHED, 7, 0x66, Some(LABEL | 8)),
                (_INLINE_RETURN, 1, 0, None),
                (_CHECK_VALIDITY, 0, 0, None),
                (_JUMP, 0, 0, Some(4)),
                (_INLINE_EXIT_AT, 0, 0x9000 + 2 * 0x14, Some(LABEL | 9)),
                (_GENERIC, 0, 0, None),
                // The callee's first local (`self`) is slot 6; the call's
                // first code unit is the caller's `instr_ptr` meanwhile.
                (_INLINE_MATERIALIZE, 6, 0x1000 + 2 * 3, None),
                (_CHECK_PERIODIC, 0, 0, None),
                (_CHECK_VALIDITY, 0, 0, None),
            ]
        );
        // The store leaves for the call, as the entry does.
        assert_eq!(p.fallback_of(3)[0].op, _INLINE_UNWIND);
    }

    #[test]
    fn debug_checks_follow_the_body_on_the_callers_stack() {
        let p = super::super::depth::check_stack_depth(inline_calls(program()));
        let checked = |uops: &[UopInst]| -> Vec<(Uop, Option<u64>)> {
            let mut out = Vec::new();
            let mut check = None;
            for u in uops {
                if u.op == Uop::_CHECK_STACK_DEPTH {
                    check = Some(u.operand);
                } else {
                    out.push((u.op, check.take()));
                }
            }
            out
        };
        use Uop::*;
        // Absolute slots: the call starts at 5 + 3; the body's value goes
        // to 8; after the return the result is at 5.
        assert_eq!(
            checked(p.uops_of(3))[..7],
            [
                (_CHECK_CALLEE, Some(8)),
                (_CHECK_INLINE_ROOM, Some(8)),
                (_LOAD_FAST, Some(8)),
                (_POP_JUMP_IF_TRUE, Some(9)),
                (_LOAD_ATTR_LOCAL_CACHED, Some(8)),
                (_INLINE_RETURN, Some(9)),
                (_CHECK_VALIDITY, Some(6)),
            ]
        );
        // What the body had pushed is not known where the fallback starts.
        assert_eq!(
            checked(p.fallback_of(3))[..2],
            [(_INLINE_UNWIND, None), (_GENERIC, Some(8))]
        );
    }

    /// `C(x)` whose `__init__` is `self.x = x`, the call compiled as
    /// `call` with `fallback` (the uops' instruction set by the caller).
    fn class_call(call: &[UopInst], fallback: &[UopInst]) -> Program {
        let init = crate::uops::ClassCallee {
            class: 0xC1A55,
            class_version: 77,
            function: 0xF00,
            function_version: 99,
        };
        let body = vec![
            uop(Uop::_LOAD_FAST, 1, 0, None),
            uop(Uop::_LOAD_FAST, 0, 0, None),
            uop(Uop::_GUARD_TYPE_VERSION, 0, 0, None),
            uop(Uop::_GUARD_DORV_NO_DICT, 0, 0, None),
            uop(Uop::_STORE_ATTR_INSTANCE_VALUE, 0, 0, None),
            uop(Uop::_LOAD_CONST_INLINE_BORROW, 0, 0, None),
            uop(Uop::_INLINE_INIT_RETURN, 1, 0, None),
        ];
        let n = call.len() as u32;
        let f = fallback.len() as u32;
        let mut uops = vec![
            uop(Uop::_LOAD_CONST_INLINE_BORROW_WITH_NULL, 0, 0, None),
            uop(Uop::_LOAD_FAST, 0, 1, None),
        ];
        uops.extend(call.iter().map(|u| UopInst { inst: 2, ..*u }));
        uops.push(uop(Uop::_POP_FRAME, 0, 3, None));
        uops.extend(fallback.iter().map(|u| UopInst { inst: 2, ..*u }));
        let end = 3 + n;
        Program {
            insts: vec![
                inst(0, 0, 1, end, 0),
                inst(1, 1, 1, end, 0),
                inst(2, 2, n, end, f),
                inst(3, 2 + n, 1, end + f, 0),
            ],
            uops,
            stack_base: 5,
            inline_bodies: vec![InlineBody {
                site: InlineSite {
                    offset: 2,
                    code: 0x7000,
                    stacksize: 2,
                    method: false,
                    init: Some(init),
                    getitem: None,
                    binary: false,
                },
                instructions: 4,
                nargs: 2,
                locals: 0,
                uops: body,
                materializes: false,
                const_words: Vec::new(),
                burned: Vec::new(),
                burned_attrs: Vec::new(),
                code_start: 0,
            }],
            ..Program::default()
        }
    }

    #[test]
    fn class_calls_make_their_instance_and_free_it_when_they_leave() {
        let p = class_call(
            &[
                uop(Uop::_SET_IP, 0, 0, None),
                uop(Uop::_CALL_ALLOC_AND_ENTER_INIT, 1, 0, None),
                uop(Uop::_EXIT_INIT_CHECK, 0, 0, None),
                uop(Uop::_CHECK_PERIODIC, 0, 0, None),
            ],
            &[],
        );
        let p = inline_calls(p);
        let main: Vec<(Uop, u32, u64)> = p
            .uops_of(2)
            .iter()
            .map(|u| (u.op, u.oparg, u.operand))
            .collect();
        use Uop::*;
        // The class and `NULL` in slots 5 and 6 (`self`'s), `x` in 7; the
        // body's values from 8, two of them.
        assert_eq!(
            main[..7],
            [
                (_CHECK_INIT_CLASS, 1, 0xC1A55),
                (_CHECK_CONST_TYPE_VERSION, 77, 0xC1A55),
                (_CHECK_FUNC_VERSION, 99, 0xF00),
                (_CHECK_KNOWN_CALLEE, 0, 0xF00),
                (_CHECK_INLINE_ROOM, 10, 0),
                (_INIT_ALLOC, 1, 0xC1A55),
                (_LOAD_FAST, 7, 0),
            ]
        );
        assert_eq!(main[7], (_LOAD_FAST, 6, 0));
        assert_eq!(main.last().unwrap().0, _INLINE_INIT_RETURN);
        let fallback: Vec<(Uop, u32)> = p.fallback_of(2).iter().map(|u| (u.op, u.oparg)).collect();
        assert_eq!(
            fallback,
            [
                (_INLINE_UNWIND, 8),
                (_INIT_DISCARD, 6),
                (_GENERIC, 0),
                (_SET_IP, 0),
                (_CALL_ALLOC_AND_ENTER_INIT, 1),
                (_EXIT_INIT_CHECK, 0),
                (_CHECK_PERIODIC, 0),
                (_JUMP, 0),
            ]
        );
    }

    #[test]
    fn class_calls_cpython_left_generic_keep_their_fallback() {
        // A class with `__slots__`: `CALL_NON_PY_GENERAL`, whose guard sends
        // classes to the generic call.
        let p = inline_calls(class_call(
            &[
                uop(Uop::_SET_IP, 0, 0, None),
                uop(Uop::_CHECK_IS_NOT_PY_CALLABLE, 1, 0, None),
                uop(Uop::_CHECK_NOT_CALLED_DIRECTLY, 1, 0, None),
                uop(Uop::_CALL_NON_PY_GENERAL, 1, 0, None),
                uop(Uop::_CHECK_PERIODIC, 0, 0, None),
            ],
            &[
                uop(Uop::_GENERIC, 0, 0, None),
                uop(Uop::_SET_IP, 0, 0, None),
                uop(Uop::_CALL, 1, 0, None),
                uop(Uop::_CHECK_PERIODIC, 0, 0, None),
                uop(Uop::_JUMP, 0, 0, Some(3)),
            ],
        ));
        let main: Vec<Uop> = p.uops_of(2).iter().map(|u| u.op).collect();
        use Uop::*;
        assert_eq!(
            main[..3],
            [_SET_IP, _CHECK_INIT_CLASS, _CHECK_CONST_TYPE_VERSION]
        );
        assert!(!main.contains(&_CALL_NON_PY_GENERAL));
        let fallback: Vec<Uop> = p.fallback_of(2).iter().map(|u| u.op).collect();
        assert_eq!(
            fallback,
            [
                _INLINE_UNWIND,
                _INIT_DISCARD,
                _GENERIC,
                _SET_IP,
                _CALL,
                _CHECK_PERIODIC,
                _JUMP
            ]
        );
    }

    #[test]
    fn calls_whose_shape_does_not_fit_keep_their_call() {
        let unchanged = |p: Program| {
            let before = p.uops.clone();
            let p = inline_calls(p);
            assert_eq!(p.uops, before);
            assert_eq!(p.inlined_instructions, 0);
        };
        // Another argument count than the callee's parameters.
        let mut p = program();
        p.inline_bodies[0].nargs = 3;
        unchanged(p);
        // No body for this call.
        let mut p = program();
        p.inline_bodies[0].site.offset = 2;
        unchanged(p);
        // A depth no path gives: nothing reaches the call.
        let mut p = program();
        p.uops[0].op = Uop::_POP_FRAME;
        unchanged(p);
    }
}
