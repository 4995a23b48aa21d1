//! Entering code compiled anew in the middle of a long call (on-stack
//! replacement).
//!
//! A function's first call runs in the interpreter, with the `JUMP` event
//! below set on its code ([`count_first_call`]): once the call has taken
//! the price of compiling the code (`hook::price`), the next back edge
//! compiles it from what the interpreter specialized meanwhile and runs
//! the rest of the frame in that code, as below. Most first calls are
//! short and compile nothing.
//!
//! Other code with loops (the main module's, or a first call while other
//! threads run) is compiled at its first call, before the interpreter
//! specialized it (provisional code), and compiled again at a later call:
//! a call that runs long (a program's main loop) would run unspecialized
//! code to its end. Provisional code counts its turns (`_CHECK_LONG_LOOP`
//! at each back edge); a frame that ran the last of [`LONG_LOOP_TURNS`]
//! turns twice in a row leaves for the interpreter at its back edge, with a
//! `sys.monitoring` `JUMP` event set on its code (the optimizer's tool,
//! `sys.monitoring.OPTIMIZER_ID`). The interpreter runs the next turn of
//! the outermost loop around it, specializing what it meets (an inner
//! loop's turn alone would leave the rest of the nest unspecialized); at
//! the back edge that ends that turn (or, for long inner loops, after
//! [`MAX_INTERPRETED_BACK_EDGES`] back edges, at the next one) the event's
//! callback ([`jump_event`]) compiles the code again and runs the rest of
//! the frame in it from the back edge's target (`runtime::run_osr`). It
//! returns to the interpreter with the frame where compiled code left it:
//! at a return instruction, a deopt, or an exception the frame has no
//! handler for, which the interpreter's error path takes on. A path that
//! turn did not take, met later in the call, makes the frame leave and be
//! entered again the same way ([`again`]). The code compiled for it stays
//! provisional: the next call is the usual warm-up.
//!
//! That error path looks the handler up at the back edge's target, not at
//! the instruction that raised: only loops whose head no handler covers are
//! entered, so that it finds none either (an exception with a handler in
//! the frame is unwound in compiled code). Generators are left alone (a
//! yield would suspend the frame the interpreter runs), and so is code
//! other tools monitor, counting mode (whose tool it is too) and a program
//! that took the tool itself. The event is set only for those few turns,
//! under the hook (`runtime::IGNORED_TOOLS`), and the tool is given back
//! when no code has it; the monitoring data it leaves on the code object
//! is freed when that is safe ([`may_drop_monitoring_data`]), else its
//! compiled code checks it (`_CHECK_VALIDITY_MONITORED`).

use super::{
    compile, instrumentation_version, instrumented, interpreter_entry_fits, note_deopt, state_of,
    CodeState, Status, COUNTING,
};
use crate::runtime::{self, GilCell, RunOutcome};
use jitsaw_cpython313::inline::*;
use jitsaw_cpython313::layout::{Frame, PyCodeObject, PyThreadState};
use jitsaw_cpython313::{consts, off};
use pyo3::prelude::*;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Back edges of provisional code between two looks at the frame that
/// ran the last of them (`_CHECK_LONG_LOOP`).
pub const LONG_LOOP_TURNS: u64 = 1000;

/// Back edges to the outermost loop's head the interpreter runs with the
/// event set before the code is entered again: the first ends the turn
/// provisional code left in, the next two end turns the interpreter ran
/// whole. CPython specializes an instruction at its second run, and
/// provisional code leaves some counters as they were (the global loads it
/// burns in, see `optimize::globals`): two turns specialize what a turn
/// runs, as the interpreter's own first call would.
const INTERPRETED_TURNS: u32 = 3;

/// Back edges of any loop after which the code is entered again at the
/// next one, even if the outermost loop's turn has not ended: a loop nest
/// whose inner loops run long.
const MAX_INTERPRETED_BACK_EDGES: u32 = 200;

/// `jitsaw_long_loop_turns`: back edges until the next [`long_loop`].
static TURNS: AtomicU64 = AtomicU64::new(LONG_LOOP_TURNS);

thread_local! {
    /// The frame [`long_loop`] last looked at on this thread (0: none):
    /// threads share the countdown, and their frames take turns at it.
    static LAST_FRAME: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// `sys.monitoring.OPTIMIZER_ID`, the tool whose event it is (counting
/// mode's too, which never sets it).
const TOOL: u8 = super::COUNTING_TOOL;

/// Code objects with the event set.
static ARMED: AtomicUsize = AtomicUsize::new(0);

/// Where [`TURNS`] is, for `_CHECK_LONG_LOOP`.
pub fn turns_address() -> usize {
    TURNS.as_ptr() as usize
}

/// Provisional code ran another [`LONG_LOOP_TURNS`] turns, the last in
/// `frame` at a back edge to `head`: true if the frame is to leave for the
/// interpreter there, the event set on its code. Only a frame that ran the
/// last turns of two such spans in a row, which most likely ran all of
/// them, is taken: short loops of many first calls add up too (per
/// thread: the countdown is shared).
///
/// # Safety
/// The GIL is held; `frame` is running compiled code.
pub unsafe fn long_loop(frame: *mut Frame, head: u32) -> bool {
    TURNS.store(LONG_LOOP_TURNS, Ordering::Relaxed);
    if LAST_FRAME.replace(frame as usize) != frame as usize {
        return false;
    }
    LAST_FRAME.set(0);
    let code = frame_code(frame);
    let Some(state) = state_of(code) else {
        return false;
    };
    let s = &mut *state;
    matches!(s.status, Status::Compiled { provisional: true })
        && s.osr_entries == 0
        && arm_for(frame, s, code, head)
}

/// Compiled code that entered a long call at a loop met an instruction the
/// interpreter did not specialize then, now due for it (`_QUICKEN_REPORT`,
/// see `hook::quicken_due`): a path that turn did not take. The frame, most
/// likely still in that long call, leaves again at that instruction, to be
/// entered again after a turn of the loop nest around it; at most
/// [`MAX_ENTRIES`] times per code object. So does any compiled code at an
/// instruction compiled cold in a loop the interpreter had run (see
/// `frontend::in_unwarmed_loops`), whose generic form would otherwise run
/// to the end of a call that has just started taking that path. True if it
/// is to deopt.
///
/// # Safety
/// The GIL is held; `frame` is running compiled code of `code`, at
/// `instr_ptr`.
pub unsafe fn again(frame: *mut Frame, s: &mut CodeState, code: *mut PyCodeObject) -> bool {
    let at = runtime::offset_of_ip(frame);
    let leaves = match s.status {
        Status::Compiled { provisional: true } => s.osr_entries > 0,
        Status::Compiled { provisional: false } => {
            s.compiled.last().is_some_and(|c| c.cold.contains(&at))
        }
        _ => false,
    };
    leaves && s.osr_entries < MAX_ENTRIES && arm_for(frame, s, code, at)
}

/// Most entries of compiled code at a loop per code object.
const MAX_ENTRIES: u32 = 8;

/// Arms `code`'s first call, which the interpreter is about to run, true
/// if it did: code with loops is not compiled for its first call, before
/// the interpreter specialized it (most such calls are short: provisional
/// code compiled for them was a quarter of the code a `lib2to3` run
/// generated, freed after one call). The interpreter runs the call with
/// the event set, and [`jump_event`] enters it compiled at a back edge once
/// the call has taken the price of compiling the code (`hook::price` of
/// `hook::compile_estimate`); a shorter call ends with the event taken
/// off ([`end_first_call`]) and the code waits as after a short
/// provisional call (`Status::Counted`). Only when the monitoring data
/// the event leaves can be freed at the call's end: one thread runs
/// (`hook::lifting_allowed`). Not for generators (a yield would suspend
/// the frame the interpreter runs), nor when the program holds the tool,
/// nor for the main module's code, which runs the whole program (the tool,
/// which the program may want, is jitsaw's while the event is set): their
/// first calls are compiled as before.
///
/// # Safety
/// The GIL is held; `frame`, of `code`, is about to be run by the
/// interpreter.
pub unsafe fn count_first_call(
    s: &mut CodeState,
    ts: *mut PyThreadState,
    frame: *mut Frame,
    code: *mut PyCodeObject,
) -> bool {
    if s.generator
        || s.osr_armed
        || !super::is_function(code)
        || (*frame).owner as i64 != consts::FRAME_OWNED_BY_THREAD
        || !super::lifting_allowed(ts)
    {
        return false;
    }
    set_event(s, code)
}

/// A counted first call returned (see [`count_first_call`]): the event
/// comes off if it is still set, and the monitoring data goes when no
/// frame of the code is left on the stack.
///
/// # Safety
/// The GIL is held; `code` is the live code object of `s`.
pub unsafe fn end_first_call(s: &mut CodeState, ts: *mut PyThreadState, code: *mut PyCodeObject) {
    end_counted_call(s, ts, code);
    // The call ran under the hook: what CPython refused to specialize
    // there, the warm-up call, with the hook lifted, specializes. (The
    // bytecode, its instrumentation for the event gone, is written with the
    // GIL held, as the interpreter writes its counters.)
    let units = code_units(code);
    crate::frontend::retry_refused_specializations(std::slice::from_raw_parts_mut(
        units,
        ob_size(code.cast()) as usize,
    ));
}

/// Arms an unhooked warm-up call of `code` in `frame` (see
/// `hook::warm_up_unhooked`) as [`count_first_call`] arms a first call:
/// [`jump_event`] enters it compiled at a back edge once the call has run
/// [`LONG_WARM_UP`] and the price of compiling the code, the hook
/// put back for the rest of it. True if it did.
///
/// # Safety
/// The GIL is held; `frame`, of `code`, is about to be run by the
/// interpreter with the hook lifted.
pub unsafe fn count_warm_up(
    s: &mut CodeState,
    ts: *mut PyThreadState,
    frame: *mut Frame,
    code: *mut PyCodeObject,
) -> bool {
    if s.osr_first_call.is_some()
        || s.osr_entries >= MAX_ENTRIES
        || !count_first_call(s, ts, frame, code)
    {
        return false;
    }
    s.osr_first_call = Some(std::time::Instant::now());
    s.osr_warm_up = frame;
    true
}

/// An armed warm-up call returned: as [`end_first_call`], without retrying
/// specializations (the hook was lifted: none was refused for it).
///
/// # Safety
/// The GIL is held; `code` is the live code object of `s`.
pub unsafe fn end_warm_up(s: &mut CodeState, ts: *mut PyThreadState, code: *mut PyCodeObject) {
    s.osr_warm_up = std::ptr::null_mut();
    end_counted_call(s, ts, code);
}

/// A counted call (a first call or a warm-up) returned: the event comes
/// off if it is still set, and the monitoring data goes when no frame of
/// the code is left on the stack.
///
/// # Safety
/// The GIL is held; `code` is the live code object of `s`.
unsafe fn end_counted_call(s: &mut CodeState, ts: *mut PyThreadState, code: *mut PyCodeObject) {
    s.osr_first_call = None;
    let drop = super::lifting_allowed(ts) && !super::running(ts, code);
    if s.osr_armed {
        disarm_and_drop(s, code, drop);
    } else if drop {
        drop_monitoring_data(code);
    }
}

/// How long a warm-up call runs in the interpreter before it is entered
/// compiled: a warm-up that short completes as it would without the event
/// (`hook::SHORT_CALL`, the first calls after which warm-ups run unhooked).
const LONG_WARM_UP: std::time::Duration = std::time::Duration::from_millis(5);

/// Sets the event on `code` for `frame`, about to leave compiled code at
/// code unit `at`, to be entered again at the head of the outermost loop
/// around `at`; false (nothing set) if that cannot be.
unsafe fn arm_for(frame: *mut Frame, s: &mut CodeState, code: *mut PyCodeObject, at: u32) -> bool {
    if s.generator
        || s.osr_armed
        || (*frame).owner as i64 != consts::FRAME_OWNED_BY_THREAD
        || COUNTING.load(Ordering::Relaxed)
    {
        return false;
    }
    // Before the event is set, which changes the back edges' opcodes.
    let Some(head) = crate::frontend::outermost_head(super::code_units_slice(code), at) else {
        return false;
    };
    if runtime::handler_at(code, head) || !set_event(s, code) {
        return false;
    }
    s.osr_head = head;
    true
}

/// Sets the event on `code` ([`arm`]) and starts counting its back edges;
/// false (nothing set) if the tool is someone else's or that raised.
///
/// # Safety
/// The GIL is held; `code` is the live code object of `s`.
unsafe fn set_event(s: &mut CodeState, code: *mut PyCodeObject) -> bool {
    // SAFETY: the GIL is held.
    let py = unsafe { Python::assume_attached() };
    if with_monitoring(py, |m| arm(m, code.cast())) != Some(true) {
        return false;
    }
    ARMED.fetch_add(1, Ordering::Relaxed);
    s.osr_armed = true;
    s.osr_back_edges = 0;
    s.osr_turns = 0;
    true
}

/// What the event's setting and clearing use: `sys.monitoring`, the tool
/// id, `events.JUMP`, [`jump_event`]'s Python callable, and the names of
/// the functions called, borrowed from [`MONITORING`]. Calls go through
/// [`Monitoring::call`], which allocates nothing of its own: with memory
/// running out (`_testcapi.set_nomemory`), PyO3's conversions of names and
/// argument tuples panic where the C API fails.
struct Monitoring {
    module: *mut pyo3::ffi::PyObject,
    tool: *mut pyo3::ffi::PyObject,
    jump: *mut pyo3::ffi::PyObject,
    callback: *mut pyo3::ffi::PyObject,
    names: [*mut pyo3::ffi::PyObject; NAMES.len()],
}

/// The `sys.monitoring` functions called, and the tool's name, in
/// [`Monitoring::names`].
const NAMES: [&str; 6] = [
    "get_tool",
    "use_tool_id",
    "register_callback",
    "set_local_events",
    "free_tool_id",
    "jitsaw",
];
const GET_TOOL: usize = 0;
const USE_TOOL_ID: usize = 1;
const REGISTER_CALLBACK: usize = 2;
const SET_LOCAL_EVENTS: usize = 3;
const FREE_TOOL_ID: usize = 4;
const TOOL_NAME: usize = 5;

impl Monitoring {
    /// `sys.monitoring.<NAMES[name]>(*args)`: a new reference, or `None`
    /// with the error cleared.
    unsafe fn call(
        &self,
        name: usize,
        args: &[*mut pyo3::ffi::PyObject],
    ) -> Option<*mut pyo3::ffi::PyObject> {
        let mut all = [self.module; 4];
        all[1..=args.len()].copy_from_slice(args);
        let result = pyo3::ffi::PyObject_VectorcallMethod(
            self.names[name],
            all.as_ptr(),
            1 + args.len(),
            std::ptr::null_mut(),
        );
        if result.is_null() {
            pyo3::ffi::PyErr_Clear();
            return None;
        }
        Some(result)
    }

    /// [`Monitoring::call`], its result dropped: whether it succeeded.
    unsafe fn call_quietly(&self, name: usize, args: &[*mut pyo3::ffi::PyObject]) -> Option<()> {
        self.call(name, args).map(|r| pyo3::ffi::Py_DECREF(r))
    }
}

/// [`Monitoring`]'s objects, found once: importing them for each counted
/// first call was two thirds of what counting one cost.
static MONITORING: GilCell<Option<Vec<Py<PyAny>>>> = GilCell::new();

/// Runs `f` with [`Monitoring`], keeping the exception already set, if
/// any; `None` if it failed (the error dropped).
unsafe fn with_monitoring<T>(
    py: Python<'_>,
    f: impl FnOnce(&Monitoring) -> Option<T>,
) -> Option<T> {
    let pending = pyo3::ffi::PyErr_GetRaisedException();
    let result = (|| {
        // Taken out of the cell before any Python code runs (which may
        // come back here), and kept alive meanwhile.
        let cached: Option<Vec<Bound<'_, PyAny>>> = MONITORING
            .get()
            .as_ref()
            .map(|objects| objects.iter().map(|o| o.bind(py).clone()).collect());
        let objects = match cached {
            Some(objects) => objects,
            None => {
                let found = (|| -> PyResult<Vec<Bound<'_, PyAny>>> {
                    let module = py.import("sys")?.getattr("monitoring")?;
                    let jump = module.getattr("events")?.getattr("JUMP")?;
                    let callback = py.import("jitsaw._jitsaw")?.getattr("_osr_jump")?;
                    let tool = pyo3::types::PyInt::new(py, TOOL).into_any();
                    let mut objects = vec![module, tool, jump, callback];
                    objects.extend(
                        NAMES
                            .iter()
                            .map(|n| pyo3::types::PyString::intern(py, n).into_any()),
                    );
                    Ok(objects)
                })()
                .ok()?;
                *MONITORING.get() = Some(found.iter().map(|o| o.clone().unbind()).collect());
                found
            }
        };
        let ptr = |i: usize| objects[i].as_ptr();
        f(&Monitoring {
            module: ptr(0),
            tool: ptr(1),
            jump: ptr(2),
            callback: ptr(3),
            names: std::array::from_fn(|i| ptr(4 + i)),
        })
    })();
    pyo3::ffi::PyErr_SetRaisedException(pending);
    result
}

/// Sets the `JUMP` event on `code` for [`jump_event`], taking the tool (and
/// registering the callback) if no one has it; false if someone else has
/// it.
unsafe fn arm(m: &Monitoring, code: *mut pyo3::ffi::PyObject) -> Option<bool> {
    let owner = m.call(GET_TOOL, &[m.tool])?;
    let free = owner == pyo3::ffi::Py_None();
    let ours = !free
        && pyo3::ffi::PyUnicode_Check(owner) != 0
        && pyo3::ffi::PyUnicode_Compare(owner, m.names[TOOL_NAME]) == 0;
    pyo3::ffi::Py_DECREF(owner);
    if !pyo3::ffi::PyErr_Occurred().is_null() {
        pyo3::ffi::PyErr_Clear();
        return None;
    }
    if free {
        m.call_quietly(USE_TOOL_ID, &[m.tool, m.names[TOOL_NAME]])?;
        // Its event is jitsaw's own business: the code still runs under
        // the hook, and compiled code need not leave for it.
        runtime::IGNORED_TOOLS.fetch_or(1 << TOOL, Ordering::Relaxed);
        m.call_quietly(REGISTER_CALLBACK, &[m.tool, m.jump, m.callback])?;
    } else if !ours {
        return Some(false);
    }
    m.call_quietly(SET_LOCAL_EVENTS, &[m.tool, code, m.jump])?;
    Some(true)
}

/// Takes the event off `code` again, and gives the tool back when no code
/// has it.
///
/// # Safety
/// The GIL is held; `code` is the live code object of `s`.
#[inline(always)]
pub unsafe fn disarm(s: &mut CodeState, code: *mut PyCodeObject) {
    // Asked at every call the hook decides: the check stays in line
    // (2.2 M calls of the function cost 0.4 % of a test suite's
    // instructions under the hook alone).
    if s.osr_armed {
        disarm_and_drop(s, code, false);
    }
}

/// [`disarm`], then, if `drop`, [`drop_monitoring_data`].
unsafe fn disarm_and_drop(s: &mut CodeState, code: *mut PyCodeObject, drop: bool) {
    if !s.osr_armed {
        return;
    }
    s.osr_armed = false;
    let last = ARMED.fetch_sub(1, Ordering::Relaxed) == 1;
    // SAFETY: the GIL is held.
    let py = unsafe { Python::assume_attached() };
    with_monitoring(py, |m| {
        // `0`, a small int, is immortal: nothing allocated.
        let no_events = pyo3::ffi::PyLong_FromLong(0);
        m.call_quietly(SET_LOCAL_EVENTS, &[m.tool, code.cast(), no_events])?;
        if drop {
            drop_monitoring_data(code);
        }
        if last {
            m.call_quietly(REGISTER_CALLBACK, &[m.tool, m.jump, pyo3::ffi::Py_None()])?;
            m.call_quietly(FREE_TOOL_ID, &[m.tool])?;
            runtime::IGNORED_TOOLS.fetch_and(!(1 << TOOL), Ordering::Relaxed);
        }
        Some(())
    });
}

/// Whether any code object has the event set.
pub fn any_armed() -> bool {
    ARMED.load(Ordering::Relaxed) > 0
}

/// Whether [`drop_monitoring_data`] may free `code`'s data now, from the
/// event's callback of `frame`: no other thread runs and no other frame of
/// `code` is on this thread's stack. The interpreter reads the data in an
/// instrumented instruction after its eval breaker check, which may switch
/// threads or run a handler: a frame of `code` stopped there would read it
/// freed. (The callback's own frame reads nothing more of it.)
///
/// # Safety
/// The GIL is held; `frame` is the thread's current frame, of `code`.
unsafe fn may_drop_monitoring_data(
    ts: *mut PyThreadState,
    frame: *mut Frame,
    code: *mut PyCodeObject,
) -> bool {
    debug_assert!(*current_frame(ts) == frame);
    super::lifting_allowed(ts) && !super::executables(ts).skip(1).any(|e| e == code.cast())
}

/// Frees `code`'s monitoring data when the event taken off left it empty:
/// no events set or active, and none of the per-instruction tables that
/// other tools' events make (`allocate_instrumentation_data` makes the
/// record, `free_monitoring_data` frees the tables and the record; CPython
/// makes a new one when events are set again). Code with monitoring data
/// is compiled with `_CHECK_VALIDITY_MONITORED`, and its calls and
/// resumptions take slower ways: fannkuch's loop ran 10 % slower so.
///
/// # Safety
/// The GIL is held; `code` is a live code object.
unsafe fn drop_monitoring_data(code: *mut PyCodeObject) {
    let slot = field_ptr::<*mut u8>(code.cast(), off::CODE_MONITORING);
    let data = *slot;
    if data.is_null() {
        return;
    }
    let events = off::MONITORING_LOCAL_EVENTS as usize;
    let none_set = |at: usize| (0..events).all(|i| *data.add(at + i) == 0);
    let no_table = |at: usize| field::<*mut u8>(data, at).is_null();
    if none_set(off::COMONITORING_LOCAL_MONITORS)
        && none_set(off::COMONITORING_ACTIVE_MONITORS)
        && no_table(off::COMONITORING_TOOLS)
        && no_table(off::COMONITORING_LINES)
        && no_table(off::COMONITORING_LINE_TOOLS)
        && no_table(off::COMONITORING_PER_INSTRUCTION_OPCODES)
        && no_table(off::COMONITORING_PER_INSTRUCTION_TOOLS)
    {
        *slot = std::ptr::null_mut();
        pyo3::ffi::PyMem_Free(data.cast());
    }
}

/// A code object with the event set died: it no longer has it.
pub fn forget(s: &CodeState) {
    if s.osr_armed {
        ARMED.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the interpreter is to do after a `JUMP` event ([`jump_event`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JumpOutcome {
    /// Go on (the frame at the jump's target, or where compiled code left
    /// it).
    Continue,
    /// Go on, and take the event off this jump (`sys.monitoring.DISABLE`):
    /// a jump no call can be entered at.
    Disable,
    /// Raise the exception set, for the interpreter's error path.
    Raised,
}

/// The `JUMP` callback: a jump in code with the event set, from code unit
/// byte offset `from` to `to`. At the back edge that ends the
/// [`INTERPRETED_TURNS`]th turn of the loop nest (or after
/// [`MAX_INTERPRETED_BACK_EDGES`] back edges), compiles the code and runs
/// the frame in it from `to` (see the module's comment).
///
/// Jumps no frame is ever entered at are taken off, the event staying on
/// the others: forward jumps, and back edges to a head a handler covers
/// (an inlined comprehension's loop, a loop in a `try` or `with` body),
/// where the interpreter's error path would look up the frame's handler
/// for an exception compiled code raised elsewhere. A long first call
/// whose price was paid inside such a loop goes on counting, and is
/// entered at the next back edge outside one.
///
/// # Safety
/// The GIL is held; called by the interpreter for `code`'s frame, the
/// thread's current frame.
pub unsafe fn jump_event(code: *mut PyCodeObject, from: u32, to: u32) -> JumpOutcome {
    if to >= from {
        return JumpOutcome::Disable;
    }
    let Some(state) = state_of(code) else {
        return JumpOutcome::Continue;
    };
    let s = &mut *state;
    if !s.osr_armed {
        return JumpOutcome::Continue;
    }
    s.osr_back_edges += 1;
    let head = to / 2;
    // `Some(warm_up)` for a first call (see `count_first_call`) or an
    // unhooked warm-up (`count_warm_up`), entered once long.
    let first_call = if let Some(started) = s.osr_first_call {
        let warm_up = !s.osr_warm_up.is_null();
        let long = super::price(super::compile_estimate(s.instructions));
        // A warm-up's own frame only (not a recursive call's, which the
        // window runs inlined), once it has run long.
        let due = if warm_up {
            let ts = pyo3::ffi::PyThreadState_Get().cast::<PyThreadState>();
            *current_frame(ts) == s.osr_warm_up && started.elapsed() >= long.max(LONG_WARM_UP)
        } else {
            started.elapsed() >= long
        };
        if !due {
            return JumpOutcome::Continue;
        }
        Some(warm_up)
    } else {
        s.osr_turns += (head == s.osr_head) as u32;
        if s.osr_turns < INTERPRETED_TURNS && s.osr_back_edges <= MAX_INTERPRETED_BACK_EDGES {
            return JumpOutcome::Continue;
        }
        None
    };
    if runtime::handler_at(code, head) {
        return JumpOutcome::Disable;
    }
    let ts = pyo3::ffi::PyThreadState_Get().cast::<PyThreadState>();
    if let Some(warm_up) = first_call {
        if warm_up {
            // The hook comes back for the rest of the warm-up.
            super::put_hook_back(ts);
        }
        s.osr_first_call = None;
    }
    let frame = *current_frame(ts);
    let ours = !frame.is_null() && frame_code(frame) == code;
    disarm_and_drop(s, code, ours && may_drop_monitoring_data(ts, frame, code));
    let version = instrumentation_version(ts);
    if !ours
        || (*frame).owner as i64 != consts::FRAME_OWNED_BY_THREAD
        || !super::hooked(ts)
        || !interpreter_entry_fits(ts)
        || *c_recursion_remaining(ts) <= consts::PY_EVAL_C_STACK_UNITS as i32 + 1
        || instrumented(ts, code, version)
    {
        return JumpOutcome::Continue;
    }
    // Compiled from the interpreter's specialization, types propagated as
    // for a later call; still provisional, as code compiled before a whole
    // interpreted call is: the next call is the usual warm-up (unhooked
    // after a short first call, where CPython specializes calls of Python
    // functions and loops over generators, which it does not under the
    // hook the turns ran under; `test_opcache` checks `FOR_ITER_GEN`).
    s.osr_compiling = true;
    let compiled = compile(s, ts, frame, code, version);
    s.osr_compiling = false;
    // Compiling set the runtime up, if this is the first compilation.
    let (Some(compiled), Some(entry)) = (compiled, runtime::entry_fn()) else {
        return JumpOutcome::Continue;
    };
    let compiled = &*compiled;
    let Some(i) = compiled.inst_at(head) else {
        return JumpOutcome::Continue;
    };
    runtime::LOOPS_ENTERED.bump();
    s.osr_entries += 1;
    match runtime::run_osr(ts, frame, compiled, entry, i) {
        RunOutcome::Handed { raised, guard } => {
            if let Some(at) = guard {
                note_deopt(state, at);
            }
            if raised {
                JumpOutcome::Raised
            } else {
                JumpOutcome::Continue
            }
        }
        RunOutcome::Done(_) | RunOutcome::Deopt { .. } => {
            unreachable!("an on-stack replacement only hands over")
        }
    }
}
