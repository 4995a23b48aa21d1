//! Branches, jumps, the eval-breaker and validity checks, `RETURN_VALUE`, and
//! the ways out of compiled code (exit stubs and the entry trampoline).

use crate::abi::*;
use crate::helpers::{
    jitsaw_bad_stack_depth, jitsaw_chaos, jitsaw_clear_and_pop, jitsaw_exit_counters,
    jitsaw_handle_pending, jitsaw_local_monitors, jitsaw_long_loop, jitsaw_long_loop_turns,
    jitsaw_quicken_due, jitsaw_quicken_reported,
};
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::{consts, off};

stencil!(fn _POP_JUMP_IF_FALSE(f, sp, ts) {
    if peek(sp, 1) == py_false() {
        jump!(f, sp.sub(1), ts)
    }
    next!(f, sp.sub(1), ts)
});

stencil!(fn _POP_JUMP_IF_TRUE(f, sp, ts) {
    if peek(sp, 1) == py_true() {
        jump!(f, sp.sub(1), ts)
    }
    next!(f, sp.sub(1), ts)
});

stencil!(
    /// Both answers are common (`if x is None:`), so both take one path:
    /// `None` is immortal, and releasing it does nothing. (Branches on the
    /// answer that each end in `next!` put the way laid out second in the
    /// stencil's cold part, a far jump for every `None`.)
    fn _IS_NONE(f, sp, ts) {
        let v = peek(sp, 1);
        poke(sp, 1, py_bool(v == none()));
        decref(v);
        next!(f, sp, ts)
    }
);

stencil!(
    /// `_IS_NONE` of a value pushed without a reference
    /// (`optimize::borrow`).
    fn _IS_NONE_BORROWED(f, sp, ts) {
        poke(sp, 1, py_bool(peek(sp, 1) == none()));
        next!(f, sp, ts)
    }
);

stencil!(
    /// An unconditional jump (`JUMP_FORWARD`, `JUMP_BACKWARD_NO_INTERRUPT`,
    /// and the skips after `CALL_LIST_APPEND` and in-place string adds).
    fn _JUMP(f, sp, ts) {
        jump!(f, sp, ts)
    }
);

stencil!(
    /// Operand: the instruction address to record for tracebacks and line
    /// numbers before code that can run Python or raise.
    fn _SET_IP(f, sp, ts) {
        set_instr_ptr(f);
        next!(f, sp, ts)
    }
);

stencil!(
    /// `RESUME` and `JUMP_BACKWARD`'s check (oparg: `RESUME`'s location
    /// bits, 0 for a jump). Operand: the instrumentation
    /// version the code was compiled under. Pending events (signals, GIL drop
    /// requests, async exceptions) are handled here; if instrumentation
    /// changed (tracing, profiling, `sys.monitoring`, globally or on this
    /// code object) the interpreter takes over at this instruction so that
    /// it sees every later event.
    fn _CHECK_EVAL_BREAKER(f, sp, ts) {
        let version = operand32();
        let breaker = eval_breaker(ts);
        if breaker != version {
            // Laid out after the usual way (the stencil's cold part).
            core::hint::cold_path();
            // A `RESUME` after `yield from`/`await` (oparg) handles no events.
            if breaker & consts::EVAL_EVENTS_MASK != 0
                && (oparg() as i64) < consts::RESUME_AFTER_YIELD_FROM
                && jitsaw_handle_pending(ts) != 0
            {
                error!(f, sp, ts)
            }
            if instrumentation_version(ts) != version {
                deopt!(f, sp, ts)
            }
        }
        if local_monitors(f) {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

/// Whether `sys.monitoring` has local events on the frame's code: only code
/// that ever had some has monitoring data, so the rest is out of line.
#[inline(always)]
pub(super) unsafe fn local_monitors(f: Frame) -> bool {
    let code = frame_code(f);
    let data = field::<*mut u8>(code.cast(), off::CODE_MONITORING);
    if data.is_null() {
        return false;
    }
    // Data whose events were all taken off again (as jitsaw's on-stack
    // replacement does, `hook::osr`): no call either. The ten per-event
    // tool masks, read as eight bytes and two.
    const _: () = assert!(off::MONITORING_LOCAL_EVENTS == 10);
    let active = data.add(off::COMONITORING_ACTIVE_MONITORS);
    if active.cast::<u64>().read_unaligned() | active.add(8).cast::<u16>().read_unaligned() as u64
        == 0
    {
        return false;
    }
    core::hint::cold_path();
    jitsaw_local_monitors(code)
}

stencil!(
    /// After calls (`CHECK_EVAL_BREAKER` in CPython): handles pending events.
    fn _CHECK_PERIODIC(f, sp, ts) {
        if eval_breaker(ts) & consts::EVAL_EVENTS_MASK == 0 {
            next!(f, sp, ts)
        }
        // Laid out after the usual way (the stencil's cold part): a test
        // and a jump stay in line after every call.
        core::hint::cold_path();
        if jitsaw_handle_pending(ts) != 0 {
            error!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// At the start of an instruction that follows code which may have run
    /// Python: deopts if instrumentation changed meanwhile. Operand: the
    /// instrumentation version the code was compiled under. The code had no
    /// monitoring data then; data that appeared since (local events may
    /// have been set on it) deopts too, so this stays a few compares, and
    /// code that keeps deopting is recompiled with
    /// `_CHECK_VALIDITY_MONITORED`.
    fn _CHECK_VALIDITY(f, sp, ts) {
        // One branch for both: the version's bits differ, or there is data.
        let changed = (eval_breaker(ts) ^ operand32()) & !consts::EVAL_EVENTS_MASK;
        let monitoring = field::<u64>(frame_code(f).cast(), off::CODE_MONITORING);
        if changed | monitoring != 0 {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// Before code that relies on what the frame's locals held before
    /// Python code ran: leaves if the frame has a frame object, through
    /// which that code may have written them (`frame.f_locals`).
    fn _CHECK_NO_FRAME_OBJECT(f, sp, ts) {
        if !(*f).frame_obj.is_null() {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// `_CHECK_VALIDITY` for code that had monitoring data when compiled:
    /// deopts only if instrumentation changed or local events are set on it.
    fn _CHECK_VALIDITY_MONITORED(f, sp, ts) {
        if instrumentation_version(ts) != operand32() || local_monitors(f) {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// `RETURN_VALUE`. A frame that compiled code entered directly from a
    /// compiled caller is popped here, as the interpreter's `_POP_FRAME`
    /// does, and the result goes to the caller, which continues where its
    /// call left off; any other frame hands the result to the runtime.
    fn _POP_FRAME(f, sp, ts) {
        let retval = peek(sp, 1);
        (*f).stacktop = sp.sub(1).offset_from((*f).localsplus.as_ptr()) as i32;
        if (*f).return_offset != jitsaw_cpython313::shared::INLINE_RETURN {
            return retval;
        }
        let caller = (*f).previous;
        *py_recursion_remaining(ts) += 1;
        *current_frame(ts) = caller;
        jitsaw_clear_and_pop(ts, f);
        back_to_caller!(caller, retval, ts)
    }
);

/// An unspecialized adaptive instruction's counter (operand: the
/// instruction's address), advanced as the interpreter's `_SPECIALIZE_*`
/// micro-ops do while the instruction is still the generic one (oparg), so
/// that the bytecode is quickened as without jitsaw. The counter when it is
/// due: CPython's specializer is private, so then the interpreter must run
/// the instruction.
#[inline(always)]
unsafe fn quicken_due() -> Option<u16> {
    let inst = operand() as *mut u16;
    if *inst & 0xFF != oparg() as u16 {
        return None;
    }
    let counter = inst.add(1);
    let c = *counter;
    // `_Py_BackoffCounter`: backoff in bits 0-3, value in bits 4-15; 0xFFFF
    // never changes.
    if c >> 4 == 0 {
        // Rare, and laid out after the usual way.
        core::hint::cold_path();
        return Some(c);
    }
    if c != 0xFFFF {
        *counter = c - 16;
    }
    None
}

stencil!(
    /// Quickening (see `quicken_due`) in code without loops, where the rest
    /// of the call is short: when due, deopts to the interpreter.
    fn _QUICKEN(f, sp, ts) {
        if quicken_due().is_some() {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// Quickening (see `quicken_due`) in code with loops, whose calls are
    /// compiled from the first: a path their first calls did not take would
    /// stay unspecialized. When due for the first time (backoff 1: never
    /// tried), the counter stays due for the next interpreted run, which
    /// this asks the runtime for (`jitsaw_quicken_due`, once per code object
    /// in a row); it deopts if the runtime says so.
    fn _QUICKEN_REPORT(f, sp, ts) {
        if quicken_due() == Some(1)
            && core::ptr::read_volatile(&raw const jitsaw_quicken_reported) != (*f).f_executable
            && jitsaw_quicken_due(f) != 0
        {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// At a back edge of code compiled for its first call, before the
    /// interpreter specialized it (provisional code): one long call would
    /// run unspecialized code to its end. Counts the turns of all such
    /// code; every `LONG_LOOP_TURNS`, asks the runtime whether this frame
    /// is to leave for the interpreter, to be taken back into code compiled
    /// from its specialization after a turn (`hook::osr`).
    fn _CHECK_LONG_LOOP(f, sp, ts) {
        let turns = &raw mut jitsaw_long_loop_turns;
        *turns -= 1;
        if *turns == 0 && jitsaw_long_loop(f, oparg() as u32) != 0 {
            deopt!(f, sp, ts)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// Quickening (see `quicken_due`) in counting mode, where the
    /// interpreter's runs reset the counters: a due counter stays due.
    fn _QUICKEN_COUNT(f, sp, ts) {
        let _ = quicken_due();
        next!(f, sp, ts)
    }
);

stencil!(
    /// `JITSAW_CHAOS` (testing): deopts at pseudo-random instruction
    /// boundaries, on average every `period` instructions, so that tests
    /// exercise the interpreter taking over anywhere.
    fn _CHAOS(f, sp, ts) {
        let chaos = (&raw mut jitsaw_chaos).cast::<u64>();
        if *chaos > 1 {
            *chaos -= 1;
            next!(f, sp, ts)
        }
        let mut x = *chaos.add(2);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *chaos.add(2) = x;
        *chaos = 1 + x % (2 * *chaos.add(1)).max(1);
        deopt!(f, sp, ts)
    }
);

stencil!(
    /// `JITSAW_DEBUG`: the stack pointer is where the compiler computed it
    /// (the operand: its index in the frame's `localsplus`).
    fn _CHECK_STACK_DEPTH(f, sp, ts) {
        if sp != frame_local(f, operand32() as usize) {
            jitsaw_bad_stack_depth(f, sp, operand32() as usize)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// One more run of something in compiled code; the operand is its
    /// counter: an instruction's or its generic form's (`JITSAW_PROFILE`), a
    /// micro-op's, or all instructions' (counting mode).
    fn _COUNT_RUN(f, sp, ts) {
        *(operand() as *mut u64) += 1;
        next!(f, sp, ts)
    }
);

stencil!(
    /// The start of a specialized instruction's out-of-line generic form,
    /// which its failed guards jump to. Counts it in the runtime's table
    /// (oparg bits 0-15) and in the compilation's own counters (operand: the
    /// total, followed by one per instruction; oparg bits 16-31: this one).
    fn _GENERIC(f, sp, ts) {
        let counter = (&raw mut jitsaw_exit_counters)
            .cast::<u64>()
            .add(oparg() & 0xFFFF);
        *counter += 1;
        let hits = operand() as *mut u32;
        *hits = (*hits).wrapping_add(1);
        let mine = hits.add(1 + (oparg() >> 16));
        *mine = (*mine).wrapping_add(1);
        next!(f, sp, ts)
    }
);

stencil!(
    /// `RESUME`'s own quickening to `RESUME_CHECK`. Operand: its address.
    fn _QUICKEN_RESUME(f, sp, ts) {
        let op = operand() as *mut u8;
        if *op == jitsaw_cpython313::opcode::RESUME {
            *op = jitsaw_cpython313::opcode::RESUME_CHECK;
        }
        next!(f, sp, ts)
    }
);

/// Leaves compiled code with `status`: counts the exit in the runtime's
/// table (`oparg` is the exit's index) and records the stack depth.
#[inline(always)]
unsafe fn leave(f: Frame, sp: Sp, status: Ret) -> Ret {
    let counter = (&raw mut jitsaw_exit_counters).cast::<u64>().add(oparg());
    *counter += 1;
    (*f).stacktop = sp.offset_from((*f).localsplus.as_ptr()) as i32;
    status
}

stencil!(
    /// An instruction jitsaw does not compile: back to the interpreter at
    /// `operand` (its address), with the value stack exactly as it is.
    fn _DEOPT(f, sp, _ts) {
        set_instr_ptr(f);
        leave(f, sp, STATUS_DEOPT)
    }
);

stencil!(
    /// Exit stub: where the interpreter takes over (`operand`, an
    /// instruction address), then on to the code's shared tail for the
    /// exit's kind and reason (`_DEOPT_TAIL` or `_ERROR_TAIL`), so each
    /// exit costs a store and a jump rather than a copy of the tail.
    fn _EXIT_IP(f, sp, ts) {
        set_instr_ptr(f);
        deopt!(f, sp, ts)
    }
);

stencil!(
    /// Exit tail: back to the interpreter at `frame->instr_ptr`, with the
    /// value stack exactly as it is.
    fn _DEOPT_TAIL(f, sp, _ts) {
        leave(f, sp, STATUS_DEOPT)
    }
);

stencil!(
    /// Exit tail: an exception is set, `frame->instr_ptr` is the raising
    /// instruction and `sp` excludes the inputs it consumed.
    fn _ERROR_TAIL(f, sp, _ts) {
        leave(f, sp, STATUS_ERROR)
    }
);

/// The only way into compiled code: a C-ABI function that calls the chain
/// at `target` (so the C callee-saved registers the chain clobbers are
/// saved here) and returns what the chain's exit returns.
#[no_mangle]
pub unsafe extern "C" fn _JIT_ENTRY(f: Frame, sp: Sp, ts: Ts, target: Continuation) -> Ret {
    target(f, sp, ts)
}
