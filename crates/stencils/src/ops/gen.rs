//! Generators and coroutines: yielding, `yield from`/`await` (`SEND`), and
//! the async iteration protocol. A generator's frame is created by the
//! interpreter (`RETURN_GENERATOR`); compiled code runs it from each
//! resumption to the next yield.

use crate::abi::*;
use crate::helpers::*;
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::layout::Frame as FrameT;
use jitsaw_cpython313::layout::{
    AsyncGenASend, AsyncGenWrappedValue, AWAITABLE_STATE_INIT, AWAITABLE_STATE_ITER,
};
use jitsaw_cpython313::shared::{ResumeCache, ResumePoint};
use jitsaw_cpython313::{consts, off};

stencil!(
    /// `YIELD_VALUE`: suspends the generator. A generator its compiled
    /// caller resumed directly (`jitsaw_resume_inline`) hands the value to
    /// it, as the interpreter's `YIELD_VALUE` does; any other leaves with
    /// `STATUS_YIELD`, and the runtime hands the value (left just above the
    /// stack) to whoever resumed it. Operand: the next instruction's
    /// address, where the frame resumes.
    fn _YIELD_VALUE(f, sp, ts) {
        set_instr_ptr(f);
        let gen = f.cast::<u8>().sub(off::GEN_GI_IFRAME);
        *field_ptr::<i8>(gen, off::GEN_GI_FRAME_STATE) = (consts::FRAME_SUSPENDED + oparg() as i64) as i8;
        (*f).stacktop = sp.sub(1).offset_from((*f).localsplus.as_ptr()) as i32;
        if (*f).return_offset != jitsaw_cpython313::shared::INLINE_RETURN {
            return STATUS_YIELD;
        }
        let mut caller = leave_to_caller(f, gen, ts);
        // Counted once, not per level: an increment per level would chain
        // each level's work to the last through memory.
        let mut passed = 0;
        // An async generator's own yield (not an `await` inside it passing
        // a value up) finishes the `asend` awaitable its caller waits on
        // (`_ASYNC_FOR_SENT`) rather than being passed on.
        // Not while profiling, which counts each level's instructions.
        if (oparg() != 0 || !is_type(gen.cast(), &raw mut PyAsyncGen_Type))
            && core::ptr::read_volatile(&raw const jitsaw_profiling) == 0
        {
            while delegates(caller) {
                caller = yield_through(caller, ts);
                passed += 1;
            }
        }
        *(&raw mut jitsaw_yields_passed) += passed;
        back_to_caller!(caller, peek(sp, 1), ts)
    }
);

/// Whether `caller`, which a yielding generator hands its value to, would
/// only pass it on: a generator or coroutine that compiled code resumed
/// directly, waiting in `yield from`/`await` (its `SEND` is followed by
/// `YIELD_VALUE`), whose code was never instrumented (no monitoring data,
/// so its own `_CHECK_VALIDITY` would let the yield run or the interpreter
/// would run an uninstrumented one). Skipping such levels is what keeps a
/// chain of `yield from`s from paying, per level, a return into the caller's
/// site (an indirect jump whose target changes from value to value) and
/// the caller's own yield.
#[inline(always)]
unsafe fn delegates(caller: Frame) -> bool {
    use jitsaw_cpython313::opcode::{SEND, SEND_GEN, YIELD_VALUE};
    if (*caller).return_offset != jitsaw_cpython313::shared::INLINE_RETURN
        || (*caller).owner as i64 != consts::FRAME_OWNED_BY_GENERATOR
        || field::<u64>(frame_code(caller).cast(), off::CODE_MONITORING) != 0
    {
        return false;
    }
    // A caller waiting for a directly resumed generator has `instr_ptr` at
    // the instruction that resumed it (`SEND` or `FOR_ITER`).
    let ip = (*caller).instr_ptr;
    let op = *ip as u8;
    (op == SEND || op == SEND_GEN) && *ip.add(2) as u8 == YIELD_VALUE
}

/// The `YIELD_VALUE` of a caller that [`delegates`]: it suspends as its own
/// would (resuming after that `YIELD_VALUE`, its stack ending where the
/// value was), and its caller, which gets the value, is returned.
#[inline(always)]
unsafe fn yield_through(caller: Frame, ts: Ts) -> Frame {
    let gen = caller.cast::<u8>().sub(off::GEN_GI_IFRAME);
    let ip = (*caller).instr_ptr;
    let oparg = (*ip.add(2) >> 8) as i64;
    (*caller).instr_ptr = ip.add(3);
    *field_ptr::<i8>(gen, off::GEN_GI_FRAME_STATE) = (consts::FRAME_SUSPENDED + oparg) as i8;
    leave_to_caller(caller, gen, ts)
}

/// The end of a yield from a generator frame `f` (of generator `gen`) that
/// its compiled caller resumed directly, as the interpreter's `YIELD_VALUE`
/// ends: the caller's exception state and recursion depth back, the frame
/// unlinked; the caller, now current, is returned.
#[inline(always)]
unsafe fn leave_to_caller(f: Frame, gen: *mut u8, ts: Ts) -> Frame {
    (*f).return_offset = 0;
    let previous = field_ptr::<*mut u8>(gen.add(off::GEN_GI_EXC_STATE), off::EXCINFO_PREVIOUS_ITEM);
    *field_ptr::<*mut u8>(ts.cast(), off::TSTATE_EXC_INFO) = *previous;
    *previous = core::ptr::null_mut();
    *py_recursion_remaining(ts) += 1;
    let caller = (*f).previous;
    (*f).previous = core::ptr::null_mut();
    *current_frame(ts) = caller;
    caller
}

/// The general way of `SEND`, through the receiver's `send` (or
/// `tp_iternext` for `None`): a value yielded goes on to the next
/// micro-op, the sub-iterator's return value to the jump target.
macro_rules! send_generally {
    ($f:ident, $sp:ident, $ts:ident) => {{
        let mut retval = core::ptr::null_mut();
        let sent = jitsaw_send($ts, peek($sp, 2), peek($sp, 1), &mut retval);
        if sent < 0 {
            error!($f, $sp, $ts)
        }
        poke($sp, 1, retval);
        if sent == 0 {
            next!($f, $sp, $ts)
        }
        jump!($f, $sp, $ts)
    }};
}

stencil!(
    /// `SEND` (tier 1 only in CPython): sends a value into a sub-iterator;
    /// when it is exhausted, jumps with its return value. A generator or
    /// coroutine with compiled code is resumed directly, as by the
    /// interpreter's `SEND_GEN` (which CPython does not specialize while a
    /// frame evaluator is set); `_SEND_GEN_RETURNED` follows.
    fn _SEND(f, sp, ts) {
        let receiver = peek(sp, 2);
        if is_gen_or_coro(receiver) {
            let cache = operand() as *mut ResumeCache;
            enter_if_inline!(resume_directly(ts, f, receiver, sp.sub(1), 0, cache), ts);
        }
        send_generally!(f, sp, ts)
    }
);

stencil!(
    /// The `SEND` of an `async for`: `_SEND`, which also resumes the async
    /// generator behind an `asend` awaitable (what `anext()` of an async
    /// generator gives) directly, where the interpreter resumes it through
    /// C. The awaitable's own checks come first ([`asend_target`]), and
    /// `_ASYNC_FOR_RETURNED` and `_ASYNC_FOR_SENT` do what it does with
    /// the outcome. (Only there: an `asend` awaited elsewhere, `await
    /// anext(g)`, is rare, and each check would cost every `await`.)
    fn _SEND_ASYNC_FOR(f, sp, ts) {
        let receiver = peek(sp, 2);
        let gen = if is_gen_or_coro(receiver) {
            receiver
        } else if is_type(receiver, &raw mut _PyAsyncGenASend_Type) {
            asend_target(receiver, sp.sub(1))
        } else {
            core::ptr::null_mut()
        };
        if !gen.is_null() {
            let cache = operand() as *mut ResumeCache;
            let inline = resume_directly(ts, f, gen, sp.sub(1), 0, cache);
            if !inline.frame.is_null() {
                if gen != receiver {
                    (*receiver.cast::<AsyncGenASend>()).ags_state = AWAITABLE_STATE_ITER;
                    *field_ptr::<i8>(gen.cast(), off::ASYNC_GEN_AG_RUNNING_ASYNC) = 1;
                }
                enter_if_inline!(inline, ts);
            }
        }
        send_generally!(f, sp, ts)
    }
);

/// What `asend.send(v)` checks before it resumes its async generator
/// (`async_gen_asend_send`, `gen_send_ex2`), for a `SEND` that would resume
/// it directly: the generator, with the value to send at `*slot` (an
/// awaitable's first `send(None)` sends its `asend` value), or null when
/// the general way must run (it raises, or the layouts are not checked).
/// Nothing else is changed: the caller marks the awaitable iterated and
/// the generator running once it resumes it.
#[inline(always)]
unsafe fn asend_target(receiver: *mut PyObject, slot: Sp) -> *mut PyObject {
    let wrapped = core::ptr::read_volatile(&raw const jitsaw_async_gen_wrapped_type);
    if wrapped <= 1 {
        if wrapped == 0 {
            jitsaw_probe_async_gen();
        }
        return core::ptr::null_mut();
    }
    let asend = receiver.cast::<AsyncGenASend>();
    let gen = (*asend).ags_gen;
    let mut value = *slot;
    match (*asend).ags_state {
        AWAITABLE_STATE_INIT => {
            // Already running: `anext()` raises.
            if field::<i8>(gen.cast(), off::ASYNC_GEN_AG_RUNNING_ASYNC) != 0 {
                return core::ptr::null_mut();
            }
            if value == none() && !(*asend).ags_sendval.is_null() {
                value = (*asend).ags_sendval;
            }
        }
        AWAITABLE_STATE_ITER => {}
        // Reused: raises.
        _ => return core::ptr::null_mut(),
    }
    // A value sent to a just-started generator raises.
    if value != none()
        && field::<i8>(gen.cast(), off::GEN_GI_FRAME_STATE) as i64 == consts::FRAME_CREATED
    {
        return core::ptr::null_mut();
    }
    if value != *slot {
        // The `None` replaced is immortal. Should the generator not be
        // resumed directly after all, `send` with the value taken from
        // the awaitable is what `send(None)` would have done.
        *slot = new_ref(value);
    }
    gen
}

stencil!(
    /// After the `_SEND` of an `async for`: when the async generator it
    /// resumed directly returned, the loop ends here as it would through
    /// the `StopAsyncIteration` its `asend` awaitable raises and the
    /// loop's `END_ASYNC_FOR` (its handler, which the jump goes past):
    /// the awaitable's bookkeeping, then the return value, the awaitable
    /// and the iterator released in the unwinding's order. The exception
    /// would be caught at once, so nothing can see it missing (code run
    /// under `sys.monitoring` or a trace function is not compiled code).
    /// Operand: the stack slot the loop goes on with, checked (another
    /// stack shape takes the exception's way).
    fn _ASYNC_FOR_RETURNED(f, sp, ts) {
        let receiver = peek(sp, 2);
        if is_type(receiver, &raw mut _PyAsyncGenASend_Type)
            && core::ptr::read_volatile(&raw const jitsaw_async_gen_wrapped_type) > 1
            && sp.sub(3) == frame_local(f, operand32() as usize)
        {
            if asend_generator_finished(receiver) {
                asend_done(receiver, true);
                decref(peek(sp, 1));
                decref(receiver);
                decref(peek(sp, 3));
                jump!(f, sp.sub(3), ts)
            }
        }
        next!(f, sp, ts)
    }
);

/// The part of `_SEND_GEN_RETURNED` for a generator or coroutine
/// receiver: a return jumps with its value.
macro_rules! gen_returned {
    ($f:ident, $sp:ident, $ts:ident, $receiver:expr) => {{
        if gen_finished($receiver) {
            jump!($f, $sp, $ts)
        }
        next!($f, $sp, $ts)
    }};
}

stencil!(
    /// After `_SEND`: a generator or coroutine resumed directly comes back
    /// here both when it yields and when it returns; a return jumps with its
    /// value, as the sub-iterator's exhaustion does.
    fn _SEND_GEN_RETURNED(f, sp, ts) {
        let receiver = peek(sp, 2);
        if is_gen_or_coro(receiver) {
            gen_returned!(f, sp, ts, receiver)
        }
        next!(f, sp, ts)
    }
);

stencil!(
    /// `_SEND_GEN_RETURNED` after `_SEND_ASYNC_FOR` (and
    /// `_ASYNC_FOR_RETURNED`). An async generator resumed for its `asend`
    /// awaitable comes back here too, and this is the rest of the
    /// awaitable's `send` (`async_gen_unwrap_value`): its `yield` (marked
    /// by `_ASYNC_GEN_WRAP`, or a wrapped value where the interpreter ran
    /// it) finishes the awaitable with the value, as the `StopIteration` it
    /// would raise does; its return raises `StopAsyncIteration` (where
    /// `_ASYNC_FOR_RETURNED` did not end the loop); anything else an
    /// `await` inside it passes up goes on up, the awaitable still being
    /// iterated. (A value that went the general way, through
    /// `jitsaw_send`, is unwrapped already, and the generator did not
    /// return.)
    fn _ASYNC_FOR_SENT(f, sp, ts) {
        let receiver = peek(sp, 2);
        if is_gen_or_coro(receiver) {
            gen_returned!(f, sp, ts, receiver)
        }
        if is_type(receiver, &raw mut _PyAsyncGenASend_Type) {
            let wrapped = core::ptr::read_volatile(&raw const jitsaw_async_gen_wrapped_type);
            if wrapped > 1 {
                let asend = receiver.cast::<AsyncGenASend>();
                let gen = (*asend).ags_gen;
                let value = peek(sp, 1);
                if field::<i8>(gen.cast(), off::ASYNC_GEN_AG_RUNNING_ASYNC) == 0
                    && (*asend).ags_state == AWAITABLE_STATE_ITER
                    && field::<i8>(gen.cast(), off::GEN_GI_FRAME_STATE) as i64 == consts::FRAME_SUSPENDED
                {
                    // Its `yield`, unwrapped by `_ASYNC_GEN_WRAP`.
                    asend_done(receiver, false);
                    jump!(f, sp, ts)
                }
                if ob_type(value) as usize == wrapped {
                    poke(sp, 1, new_ref((*value.cast::<AsyncGenWrappedValue>()).agw_val));
                    // Its value lives on: freeing it runs no code.
                    decref_quietly(value);
                    asend_done(receiver, false);
                    jump!(f, sp, ts)
                }
                if asend_generator_finished(receiver) {
                    asend_done(receiver, true);
                    PyErr_SetNone(PyExc_StopAsyncIteration);
                    error!(f, sp, ts)
                }
            }
        }
        next!(f, sp, ts)
    }
);

/// Resumes generator `gen` directly from a compiled caller's site, as
/// [`resume_cached`] when its `cache` knows the way, else as
/// `jitsaw_resume_inline`, which teaches it: the frame entered, or nulls
/// (nothing done). The generator comes back to the next micro-op.
#[inline(always)]
pub unsafe fn resume_directly(
    ts: Ts,
    caller: Frame,
    gen: *mut PyObject,
    slot: Sp,
    kind: usize,
    cache: *mut ResumeCache,
) -> Inline {
    resume_directly_to(ts, caller, gen, slot, kind, cache, resume_address())
}

/// [`resume_directly`], the generator coming back to `resume`.
#[inline(always)]
pub unsafe fn resume_directly_to(
    ts: Ts,
    caller: Frame,
    gen: *mut PyObject,
    slot: Sp,
    kind: usize,
    cache: *mut ResumeCache,
    resume: u64,
) -> Inline {
    let inline = resume_cached(ts, caller, gen, slot, kind, cache, resume);
    if !inline.frame.is_null() {
        return inline;
    }
    jitsaw_resume_inline(ts, caller, gen, slot, resume, kind, cache)
}

/// `jitsaw_resume_inline` for a generator of the code the site's `cache`
/// last saw resume, while what it learned holds (see
/// `ResumeCache`): the same work, without the runtime's lookups. Sends the
/// value at `*slot` (`kind` 0) or `None` (`kind` 1); nulls (nothing done)
/// otherwise.
///
/// A generator that resumes in a `yield from` or `await` (its `RESUME`
/// follows the `YIELD_VALUE` of a `SEND`) would send the value on at once:
/// its `SEND` site is entered here too, level after level while each site's
/// cache holds, and the innermost generator is where the code goes in. The
/// levels in between are left as their own code would leave them, waiting
/// in their `SEND` (see [`delegates`] for the way back up).
#[inline(always)]
unsafe fn resume_cached(
    ts: Ts,
    caller: Frame,
    gen: *mut PyObject,
    slot: Sp,
    kind: usize,
    cache: *const ResumeCache,
    resume: u64,
) -> Inline {
    let now = Now::read(ts);
    let Some(point) = link_cached(ts, caller, gen, slot, kind, &*cache, resume as usize, &now)
    else {
        return Inline {
            frame: core::ptr::null_mut(),
            entry: 0,
        };
    };
    let frame = gen.cast::<u8>().add(off::GEN_GI_IFRAME).cast::<FrameT>();
    let entered = Inline {
        frame,
        entry: (*cache).base + point.label as usize,
    };
    *(&raw mut jitsaw_resumed_directly) += 1;
    *(&raw mut jitsaw_frames_entered) += 1;
    if point.send_cache == 0 {
        return entered;
    }
    pass_down(ts, entered, point, (*cache).base, &now)
}

/// The rest of [`resume_cached`] when the frame `entered` resumes at a
/// `yield from`'s or `await`'s `RESUME` (`point`, in code at `base`): while
/// the generator it delegates to can be resumed through its `SEND` site's
/// cache, that is done, and the frame waits in its `SEND` as after running
/// it. The innermost frame entered.
#[inline(always)]
unsafe fn pass_down(
    ts: Ts,
    mut entered: Inline,
    mut point: &ResumePoint,
    mut base: usize,
    now: &Now,
) -> Inline {
    if core::ptr::read_volatile(&raw const jitsaw_profiling) != 0 {
        return entered;
    }
    // Counted once, not per level (see `_YIELD_VALUE`).
    let mut passed = 0;
    while point.send_cache != 0 {
        let caller = entered.frame;
        let sp = frame_local(caller, (*caller).stacktop as usize);
        let receiver = peek(sp, 2);
        if !is_gen_or_coro(receiver) {
            break;
        }
        let cache = &*(point.send_cache as *const ResumeCache);
        let resume = base + point.send_resume as usize;
        let Some(next) = link_cached(ts, caller, receiver, sp.sub(1), 0, cache, resume, now) else {
            break;
        };
        // It ran its `RESUME` and `JUMP_BACKWARD_NO_INTERRUPT` and waits in
        // its `SEND`.
        (*caller).instr_ptr = (*caller).instr_ptr.sub(3);
        passed += 1;
        (point, base) = (next, cache.base);
        entered = Inline {
            frame: receiver
                .cast::<u8>()
                .add(off::GEN_GI_IFRAME)
                .cast::<FrameT>(),
            entry: base + point.label as usize,
        };
    }
    *(&raw mut jitsaw_resumed_directly) += passed;
    *(&raw mut jitsaw_frames_entered) += passed;
    *(&raw mut jitsaw_sends_passed) += passed;
    entered
}

/// What every level of a resumption checks its site's cache against, read
/// once for all: nothing a level does between its checks and the next
/// level's changes them (no Python code runs).
struct Now {
    epoch: u64,
    version: u64,
    eval_frame: usize,
}

impl Now {
    #[inline(always)]
    unsafe fn read(ts: Ts) -> Now {
        Now {
            epoch: core::ptr::read_volatile(&raw const jitsaw_direct_epoch),
            version: instrumentation_version(ts),
            eval_frame: field::<usize>(interp(ts).cast(), off::INTERP_EVAL_FRAME),
        }
    }
}

/// One level of [`resume_cached`]: the generator's frame, if `c` knows
/// where it resumes, gets the value and is linked above `caller`, which
/// waits with its stack ending at `slot`, where `resume` is kept. The resume
/// point found, or `None` (nothing done). Its callers count it.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn link_cached<'a>(
    ts: Ts,
    caller: Frame,
    gen: *mut PyObject,
    slot: Sp,
    kind: usize,
    c: &'a ResumeCache,
    resume: usize,
    now: &Now,
) -> Option<&'a ResumePoint> {
    let frame = gen.cast::<u8>().add(off::GEN_GI_IFRAME).cast::<FrameT>();
    let state = field_ptr::<i8>(gen.cast(), off::GEN_GI_FRAME_STATE);
    let code = (*frame).f_executable as usize;
    if code != c.code
        || *state as i64 >= consts::FRAME_EXECUTING
        || *py_recursion_remaining(ts) <= 1
        || now.eval_frame != c.eval_frame
        || !field::<*mut u8>(code as *mut u8, off::CODE_MONITORING).is_null()
    {
        return None;
    }
    let offset = (((*frame).instr_ptr as usize - (code + off::CODE_CO_CODE_ADAPTIVE)) >> 1) as u32;
    let point = c.point(
        now.epoch,
        now.version,
        (*frame).f_globals as usize,
        (*frame).f_builtins as usize,
        offset,
    )?;
    let value = if kind == 0 { *slot } else { none() };
    *frame_local(frame, (*frame).stacktop as usize) = value;
    (*frame).stacktop += 1;
    *state = consts::FRAME_EXECUTING as i8;
    let exc_info = field_ptr::<*mut u8>(ts.cast(), off::TSTATE_EXC_INFO);
    let exc_state = gen.cast::<u8>().add(off::GEN_GI_EXC_STATE);
    *field_ptr::<*mut u8>(exc_state, off::EXCINFO_PREVIOUS_ITEM) = *exc_info;
    *exc_info = exc_state;
    (*caller).stacktop = slot.offset_from((*caller).localsplus.as_ptr()) as i32;
    *slot = resume as *mut PyObject;
    (*frame).previous = caller;
    (*frame).return_offset = jitsaw_cpython313::shared::INLINE_RETURN;
    *current_frame(ts) = frame;
    *py_recursion_remaining(ts) -= 1;
    Some(point)
}

/// Whether `SEND` may resume `o` directly (the interpreter's `SEND_GEN`
/// condition): an exact generator or coroutine.
#[inline(always)]
unsafe fn is_gen_or_coro(o: *mut PyObject) -> bool {
    is_type(o, &raw mut PyGen_Type) || is_type(o, &raw mut PyCoro_Type)
}

stencil!(
    /// `CALL_INTRINSIC_1 INTRINSIC_ASYNC_GEN_WRAP`, before an async
    /// generator's `YIELD_VALUE`: the wrapped value tells the `asend`
    /// awaitable that resumed the generator a yield from a value an `await`
    /// inside passes up. When the awaitable's `SEND` in compiled code
    /// resumed the generator directly, the value stays as it is and the
    /// generator is marked no longer running (which the awaitable does when
    /// it unwraps): `_ASYNC_FOR_SENT` knows the yield by that mark.
    /// Nothing can run between this and the yield, which has no way out.
    fn _ASYNC_GEN_WRAP(f, sp, ts) {
        if (*f).return_offset == jitsaw_cpython313::shared::INLINE_RETURN
            && (*f).owner as i64 == consts::FRAME_OWNED_BY_GENERATOR
        {
            let gen = f.cast::<u8>().sub(off::GEN_GI_IFRAME);
            let caller = (*f).previous;
            let receiver = *frame_local(caller, (*caller).stacktop as usize - 1);
            if is_type(receiver, &raw mut _PyAsyncGenASend_Type)
                && (*receiver.cast::<AsyncGenASend>()).ags_gen == gen.cast()
            {
                *field_ptr::<i8>(gen, off::ASYNC_GEN_AG_RUNNING_ASYNC) = 0;
                next!(f, sp, ts)
            }
        }
        super::locals::unary_intrinsic_on_top!(f, sp, ts, consts::INTRINSIC_ASYNC_GEN_WRAP as usize)
    }
);

stencil!(
    /// `CLEANUP_THROW` (tier 1 only in CPython): after `throw()` into a
    /// `yield from`, a `StopIteration` gives its value; anything else is
    /// re-raised.
    fn _CLEANUP_THROW(f, sp, ts) {
        let exc = peek(sp, 1);
        if PyErr_GivenExceptionMatches(exc, PyExc_StopIteration) == 0 {
            PyErr_SetRaisedException(new_ref(exc));
            (*f).stacktop = sp.offset_from((*f).localsplus.as_ptr()) as i32;
            return STATUS_RERAISE;
        }
        let value = new_ref(field::<*mut PyObject>(exc.cast(), off::STOPITERATION_VALUE));
        decref(peek(sp, 3));
        decref(peek(sp, 2));
        decref(exc);
        poke(sp, 3, none());
        poke(sp, 2, value);
        next!(f, sp.sub(1), ts)
    }
);

stencil!(
    /// `END_ASYNC_FOR` (tier 1 only in CPython): `StopAsyncIteration` ends
    /// the loop; anything else is re-raised.
    fn _END_ASYNC_FOR(f, sp, ts) {
        let exc = peek(sp, 1);
        if PyErr_GivenExceptionMatches(exc, PyExc_StopAsyncIteration) == 0 {
            PyErr_SetRaisedException(new_ref(exc));
            (*f).stacktop = sp.offset_from((*f).localsplus.as_ptr()) as i32;
            return STATUS_RERAISE;
        }
        decref(peek(sp, 2));
        decref(exc);
        next!(f, sp.sub(2), ts)
    }
);

stencil!(
    /// `GET_AWAITABLE`. A coroutine is its own awaitable: unless another
    /// `await` is already inside it (`_PyGen_yf`), the value stays as is
    /// and no helper is called.
    fn _GET_AWAITABLE(f, sp, ts) {
        let awaitable = peek(sp, 1);
        if is_type(awaitable, &raw mut PyCoro_Type)
            && field::<i8>(awaitable.cast(), off::GEN_GI_FRAME_STATE) as i64
                != consts::FRAME_SUSPENDED_YIELD_FROM
        {
            next!(f, sp, ts)
        }
        let iter = jitsaw_get_awaitable(ts, awaitable, oparg());
        if iter.is_null() {
            error!(f, sp.sub(1), ts)
        }
        poke(sp, 1, iter);
        next!(f, sp, ts)
    }
);

stencil!(fn _GET_AITER(f, sp, ts) {
    let iter = jitsaw_get_aiter(ts, peek(sp, 1));
    if iter.is_null() {
        error!(f, sp.sub(1), ts)
    }
    poke(sp, 1, iter);
    next!(f, sp, ts)
});

stencil!(fn _GET_ANEXT(f, sp, ts) {
    let awaitable = jitsaw_get_anext(ts, peek(sp, 1));
    if awaitable.is_null() {
        error!(f, sp, ts)
    }
    *sp = awaitable;
    next!(f, sp.add(1), ts)
});

stencil!(fn _GET_YIELD_FROM_ITER(f, sp, ts) {
    let iter = jitsaw_get_yield_from_iter(ts, f, peek(sp, 1));
    if iter.is_null() {
        error!(f, sp, ts)
    }
    poke(sp, 1, iter);
    next!(f, sp, ts)
});
