//! Hook: the PEP 523 frame evaluator that decides, per frame, between
//! compiled code and the interpreter, and the per-code-object state behind
//! that decision (kept in a table by code object, freed when the code object
//! dies, which a code watcher reports).
//!
//! Policy: a function without loops is compiled after `threshold` calls (by
//! then CPython has specialized its bytecode); a function with loops at its
//! first call. Code compiled from unspecialized bytecode is provisional: the
//! next calls run in the interpreter, which specializes an instruction on
//! its second execution (one call for a loop body, two for straight-line
//! code), and the call after that recompiles; when that first call took
//! less time than compiling, the code waits for the threshold as code
//! without loops does (see [`Decision::Wait`]). Code that keeps deoptimizing
//! is recompiled the same way, a few times, from the interpreter's newer
//! specializations.

mod clock;
pub mod osr;

use crate::codegen::{self, Compiled, Linker};
use crate::frontend::{self, CodeInput, Refusal};
use crate::options::Options;
use crate::profile::{self, Profile};
use crate::runtime::{self, AddressHasher, GilCell, RunOutcome};
use crate::uops::Inst;
use crate::uops::{KnownAttr, KnownGlobal, KnownObject, Types, Uop};
use crate::{dump, optimize, stats};
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::inline::*;
use jitsaw_cpython313::layout::{Frame, PyCodeObject, PyObject, PyThreadState};
use jitsaw_cpython313::shared::ResumeCache;
use jitsaw_cpython313::{consts, deopt, off, opcode};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// jitsaw's code object watcher (-1 until first enabled).
static WATCHER: AtomicIsize = AtomicIsize::new(-1);

/// `JITSAW_THRESHOLD` in force (`u32::MAX` while disabled).
static THRESHOLD: AtomicU32 = AtomicU32::new(u32::MAX);
/// `JITSAW_DUMP=uops` in force.
static DUMP_UOPS: AtomicBool = AtomicBool::new(false);
/// Bytes of machine code after which nothing more is compiled.
static CODE_LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Compiled code set aside to be compiled again, by why: its guards fell
/// back to generic forms often, the interpreter re-specialized an
/// instruction it deopted at, it deopted often.
pub static INVALIDATIONS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
/// Why code was compiled again, as in [`INVALIDATIONS`].
pub const INVALIDATION_REASONS: [&str; 4] = [
    "frequent generic fallbacks",
    "respecialized",
    "frequent deopts",
    "burned-in global changed",
];
/// The code flags of generator, coroutine and async generator functions.
pub const GENERATOR_FLAGS: i64 =
    consts::CO_GENERATOR | consts::CO_COROUTINE | consts::CO_ASYNC_GENERATOR;
/// Compilations skipped because of the code limit.
pub static CODE_LIMIT_HITS: AtomicU64 = AtomicU64::new(0);
/// Compilations skipped because memory had run out (`memory::low`, or
/// no code memory: [`CODE_MEMORY_RETRY`]).
pub static LOW_MEMORY_WAITS: AtomicU64 = AtomicU64::new(0);
/// When compiling may try again after the code arena could not get memory
/// (`BuildError::NoMemory`); `None` while it can.
static CODE_MEMORY_RETRY: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);
/// How long compiling waits after the code arena could not get memory.
const CODE_MEMORY_RETRY_AFTER: std::time::Duration = std::time::Duration::from_millis(10);
/// Whether to list compiled code in perf's map file (`JITSAW_PERF`).
static PERF_MAP: AtomicBool = AtomicBool::new(false);
/// `JITSAW_DEBUG=1`: check the stack depth before every micro-op.
static DEBUG: AtomicBool = AtomicBool::new(false);
/// `JITSAW_DUMP=asm` in force.
static DUMP_ASM: AtomicBool = AtomicBool::new(false);
/// Whether the user wants jitsaw on (the hook may be lifted meanwhile: see
/// [`interpret_unhooked`]).
static WANTED: AtomicBool = AtomicBool::new(false);
/// Frames running in [`interpret_unhooked`] windows, on all threads.
static WINDOWS: AtomicUsize = AtomicUsize::new(0);

/// Deopts that make compiled code be recompiled, doubled at each
/// recompilation so code that cannot settle costs logarithmically little.
const RECOMPILE_DEOPTS: u32 = 32;

/// Per-code-object state, freed with the code object.
///
/// The fields a quick call reads ([`ready`], [`ready_direct`],
/// [`still_ready`], the hook's `quick_call`) come first, in the state's
/// first cache line (`repr(C)`, aligned to a line): in a program whose
/// compiled functions are many and each called rarely, every read of
/// another line was a cache miss per call. Reading the state's compiled
/// code list, the code itself (its version, its fallback counters) and
/// four more lines of the state, a call of one of 1 000 methods called
/// round-robin took ~550 ns against the interpreter's 63. The other fields
/// follow by size, largest first, leaving no padding between them.
#[repr(C, align(64))]
pub struct CodeState {
    /// Calls that reached the hook (64 bits: counted without saturating).
    calls: u64,
    /// Calls since the last compilation.
    calls_since_compile: u64,
    /// The compiled code calls enter when nothing needs deciding (see
    /// [`runs_now`]; null: the status is not `Compiled` of specialized
    /// bytecode). Set by [`CodeState::set_status`].
    quick: *const Compiled,
    /// `quick`'s instrumentation version and entry address (see
    /// [`entry_of`]), read without reading `quick`.
    quick_version: u64,
    quick_entry: usize,
    /// The value of `calls` before which no call is interpreted for them.
    respecialize_after: u64,
    /// How many positional arguments a direct call ([`ready_direct`])
    /// must pass: the argument count of code with only plain positional
    /// parameters, `u32::MAX` for any other (which direct calls do not
    /// enter).
    direct_args: u32,
    recompiles: u32,
    /// Whether compiled code reported an instruction due for its first
    /// specialization ([`quicken_due`]): a call is to be interpreted.
    respecialize_wanted: bool,
    /// Whether a generator's code met an instruction the interpreter
    /// specialized anew, its recompilation spaced (see [`respecialize_now`]).
    respecialize_pending: bool,
    /// A generator, coroutine or async generator function's code.
    generator: bool,
    /// Whether `first_run` is known: asked on the hook's quick way, where
    /// `first_run` itself is off this line.
    ran: bool,
    /// Deopts since the last compilation.
    deopts: u32,
    /// When the outermost of its timed interpreted calls still running
    /// started, and how many are running: a recursion that goes deep
    /// before any call returns pays its rent as it goes (see
    /// [`waited_so_far`]).
    waiting: Option<(clock::Stamp, u32)>,
    /// Every compilation of this code object, newest last: superseded code
    /// may still be running in an outer frame, so it lives until a later
    /// compilation finds no frame that can run it ([`free_superseded`]), or
    /// as long as the code object. Boxed so running frames' pointers stay
    /// valid when the vector grows.
    #[allow(clippy::vec_box)]
    compiled: Vec<Box<Compiled>>,
    /// Failed guards since the last compilation, by instruction offset.
    deopt_sites: Vec<(u32, u32)>,
    /// Instructions compiled in their generic form because their
    /// specialization kept failing.
    generic: Vec<u32>,
    /// Loop heads compiled without words because their words kept leaving
    /// (see `frontend::CodeInput::no_words`).
    no_words: Vec<u32>,
    /// Calls whose inlined bodies compute ints as of either kind (see
    /// `frontend::CodeInput::either_kinds`).
    either_kinds: Vec<u32>,
    /// How long the first call the hook ran compiled took.
    first_run: Option<std::time::Duration>,
    /// How long its last compilation took.
    compile_time: std::time::Duration,
    /// When its last compilation finished.
    compiled_at: Option<Instant>,
    /// How long its calls interpreted while waiting for the threshold took
    /// (see [`Decision::Wait`]), counting a recursive call's time once, in
    /// its outermost call.
    waited: std::time::Duration,
    /// When its first call began, while the interpreter runs that call
    /// with the event set to see whether it runs long (see
    /// [`osr::count_first_call`]).
    osr_first_call: Option<Instant>,
    /// What the last resumption of a generator of this code from C
    /// learned, for [`quick_resume`] (epoch 0: nothing; a status change
    /// moves the epoch on, so it never outlives the code it names).
    resume: ResumeCache,
    /// The code object (for the state cache; not a reference).
    code: usize,
    /// Its profile (`JITSAW_PROFILE`), or null.
    profile: *mut Profile,
    /// The compiled code `resume` resumes in.
    resume_compiled: *const Compiled,
    /// The frame of an unhooked warm-up call counted the same way (see
    /// [`osr::count_warm_up`]); null for none.
    osr_warm_up: *mut Frame,
    status: Status,
    /// How many instructions the bytecode has.
    instructions: u32,
    /// Its frames running in the interpreter now (counting mode).
    interpreting: u32,
    /// Calls interpreted for [`quicken_due`]'s reports.
    respecialize_calls: u32,
    /// Deopts at `_CHECK_NO_FRAME_OBJECT`: frames of this code that had a
    /// frame object where compiled code relied on facts about locals.
    frame_object_deopts: u32,
    /// Deopts at `_CHECK_LOCAL_CLASS`: a fallback met (or made) another
    /// class than the checks it returns past had seen.
    class_check_deopts: u32,
    /// Back edges run by the interpreter since the event was set.
    osr_back_edges: u32,
    /// Of those, back edges to `osr_head`.
    osr_turns: u32,
    /// The head of the outermost loop around the one the frame left.
    osr_head: u32,
    /// Frames entered at a loop in code compiled anew.
    osr_entries: u32,
    /// Whether the bytecode has had a run in the interpreter since the
    /// first compilation (it is specialized, as far as it will be).
    requickened: bool,
    /// Whether the bytecode has a backward jump.
    loops: bool,
    /// Whether the bytecode calls or imports (see [`leaf_unhooked`]).
    calls_out: bool,
    /// Whether code with a loop was first called during an import, or with
    /// no Python code below it, and not compiled for it: its first call
    /// from the program is (see [`compile_first_call`]).
    first_call_deferred: bool,
    /// `importlib._bootstrap._find_and_load`'s code (see [`import_unhooked`]).
    import_entry: bool,
    /// Whether its code has the `JUMP` event set for [`osr`].
    osr_armed: bool,
    /// Whether it is being compiled for such an entry.
    osr_compiling: bool,
}

// The quick calls' fields fill the first line, and the rest, ordered by
// size, six more: a state per code object a program calls (thousands), each
// aligned, the 512 bytes in declaration order cost a `lib2to3` run ~0.3 MB.
const _: () = assert!(
    std::mem::align_of::<CodeState>() == 64
        && std::mem::offset_of!(CodeState, ran) < 64
        && std::mem::offset_of!(CodeState, deopts) == 60
        && std::mem::size_of::<CodeState>() <= 448
);

impl CodeState {
    /// Counts a call: an add to memory each (no call count reaches 2^64),
    /// on the quick way of every direct call.
    #[inline]
    fn count_call(&mut self) {
        self.calls += 1;
        self.calls_since_compile += 1;
    }

    /// Whether its compilations may keep facts about locals across Python
    /// code (see `Program::local_facts`): until its frames failed the
    /// frame-object check [`FACT_CHECK_DEOPTS`] times.
    fn local_facts(&self) -> bool {
        self.frame_object_deopts < FACT_CHECK_DEOPTS
    }

    /// Whether its compilations may keep class checks across fallbacks
    /// (see `Program::class_facts`): until those failed
    /// [`FACT_CHECK_DEOPTS`] times.
    fn class_facts(&self) -> bool {
        self.class_check_deopts < FACT_CHECK_DEOPTS
    }

    /// Whether its compilation propagates types: not at its first call
    /// (code compiled then, having a loop, is mostly startup code run
    /// once).
    fn propagate_types(&self) -> bool {
        self.calls > 1 || self.recompiles > 0 || self.requickened || self.osr_compiling
    }

    /// Changes the status, and with it what direct calls may enter (call
    /// sites that remembered an entry ask again: [`DIRECT_EPOCH`]).
    fn set_status(&mut self, status: Status) {
        self.status = status;
        bump_direct_epoch();
        self.quick = match (&self.status, self.compiled.last()) {
            (Status::Compiled { provisional: false }, Some(c)) => &**c as *const Compiled,
            _ => std::ptr::null(),
        };
        // SAFETY: a non-null `quick` is the newest of `compiled`, alive.
        let quick = unsafe { self.quick.as_ref() };
        self.quick_version = quick.map_or(0, |c| c.version);
        self.quick_entry = quick.map_or(0, |c| c.entry(0));
    }

    /// Records how long the first call the hook ran compiled took.
    fn set_first_run(&mut self, took: std::time::Duration) {
        self.first_run = Some(took);
        self.ran = true;
    }
}

enum Status {
    /// Counting calls before compiling.
    Warming,
    /// Compiled (the newest of `compiled`); `provisional` code came from
    /// unspecialized bytecode.
    Compiled { provisional: bool },
    /// Run this many more calls in the interpreter, then recompile.
    Requicken(u32),
    /// Its first call, of code with loops, ran in the interpreter and was
    /// not entered compiled (see [`osr::count_first_call`]): the next call
    /// goes on as after provisional code's first call.
    Counted,
    /// Never compiled (refused).
    Never,
}

/// `enable`'s refusal in a subinterpreter (the frame hook, the watchers and
/// the runtime's state are the main interpreter's); `_jitsaw_autoload`
/// recognizes it and stays off silently.
pub const NOT_MAIN: &str = "jitsaw: runs in the main interpreter only, not in a subinterpreter";

/// Installs the hook with `options`. Fails if another PEP 523 hook (a
/// debugger, another JIT) is installed, or in a subinterpreter.
pub fn enable(options: Options) -> Result<(), String> {
    // SAFETY: called with the GIL held (from Python); both only read the
    // runtime's interpreter pointers.
    if unsafe { pyo3::ffi::PyInterpreterState_Get() != pyo3::ffi::PyInterpreterState_Main() } {
        return Err(NOT_MAIN.into());
    }
    // The runtime (resolved symbols, the entry's code memory, the probes of
    // CPython's unexported functions) is set up by the first compilation:
    // a run that compiles nothing (`python -c pass`) does not pay for it.
    if WATCHER.load(Ordering::Relaxed) < 0 {
        // SAFETY: called with the GIL held (from Python).
        let id = unsafe { PyCode_AddWatcher(code_event) };
        if id < 0 {
            // SAFETY: as above; the failure left an exception.
            unsafe { PyErr_Clear() };
            return Err("jitsaw: no code object watcher available".into());
        }
        WATCHER.store(id as isize, Ordering::Relaxed);
    }
    // SAFETY: GIL held; reading and setting the interpreter's frame evaluator.
    unsafe {
        let interp = pyo3::ffi::PyInterpreterState_Get().cast::<u8>();
        match _PyInterpreterState_GetEvalFrameFunc(interp) {
            Some(f) if f as usize == eval_frame as *const () as usize => {}
            Some(f) if f as usize != _PyEval_EvalFrameDefault as *const () as usize => {
                return Err("jitsaw: another frame evaluation hook (PEP 523) is installed".into());
            }
            _ => _PyInterpreterState_SetEvalFrameFunc(interp, Some(eval_frame)),
        }
    }
    THRESHOLD.store(options.threshold, Ordering::Relaxed);
    THRESHOLD_RENT.store(options.threshold_rent, Ordering::Relaxed);
    runtime::set_chaos(options.chaos);
    WANTED.store(true, Ordering::Relaxed);
    DUMP_UOPS.store(options.dump.uops, Ordering::Relaxed);
    PERF_MAP.store(options.perf, Ordering::Relaxed);
    INLINE.store(options.inline, Ordering::Relaxed);
    if options.perf {
        crate::arena::never_reuse_addresses();
    }
    DEBUG.store(options.debug, Ordering::Relaxed);
    if options.profile {
        profile::PROFILING.store(true, Ordering::Relaxed);
    }
    CODE_LIMIT.store(
        options.code_limit_mib as usize * (1 << 20),
        Ordering::Relaxed,
    );
    DUMP_ASM.store(options.dump.asm, Ordering::Relaxed);
    Ok(())
}

/// Removes the hook; frames already running compiled code finish there.
pub fn disable() {
    // SAFETY: GIL held.
    unsafe {
        let interp = pyo3::ffi::PyInterpreterState_Get().cast::<u8>();
        if _PyInterpreterState_GetEvalFrameFunc(interp)
            .is_some_and(|f| f as usize == eval_frame as *const () as usize)
        {
            _PyInterpreterState_SetEvalFrameFunc(interp, None);
        }
    }
    THRESHOLD.store(u32::MAX, Ordering::Relaxed);
    WANTED.store(false, Ordering::Relaxed);
}

/// Whether the hook is installed (or lifted for an unhooked window).
pub fn is_enabled() -> bool {
    // SAFETY: GIL held.
    unsafe {
        let interp = pyo3::ffi::PyInterpreterState_Get().cast::<u8>();
        WANTED.load(Ordering::Relaxed)
            && (WINDOWS.load(Ordering::Relaxed) > 0
                || _PyInterpreterState_GetEvalFrameFunc(interp)
                    .is_some_and(|f| f as usize == eval_frame as *const () as usize))
    }
}

/// Runs a frame in the interpreter with the hook lifted, so that the frame
/// and everything it calls run exactly as without jitsaw: the interpreter
/// inlines Python calls and specializes `CALL` for them only when no PEP 523
/// hook is set, which `sys.monitoring` events (no `C_RETURN` for Python
/// callees) and the quickened bytecode show. Used while instrumentation is
/// active, and for warm-up calls (see [`warm_up`]).
/// The hook comes back when the last window on any thread closes, unless
/// jitsaw was disabled (or another hook installed) meanwhile.
///
/// # Safety
/// As for `_PyEval_EvalFrameDefault(ts, frame, 0)`.
pub unsafe fn interpret_unhooked(ts: *mut PyThreadState, frame: *mut Frame) -> *mut PyObject {
    let interp = interp(ts).cast::<u8>();
    let ours = eval_frame as *const () as usize;
    // A window opened with the hook installed (the first, or one inside a
    // warm-up that put it back: `put_hook_back`) puts it back at its end.
    let lifted = _PyInterpreterState_GetEvalFrameFunc(interp).is_some_and(|f| f as usize == ours);
    if lifted {
        _PyInterpreterState_SetEvalFrameFunc(interp, None);
    }
    WINDOWS.fetch_add(1, Ordering::Relaxed);
    let result = interpreter(ts, frame, 0);
    if WINDOWS.fetch_sub(1, Ordering::Relaxed) == 1 || lifted {
        reinstall_hook(interp);
    }
    result
}

/// Installs the hook again where a window lifted it, unless jitsaw was
/// disabled or another frame evaluator installed meanwhile.
///
/// # Safety
/// The GIL is held; `interp` is the current interpreter.
unsafe fn reinstall_hook(interp: *mut u8) {
    if WANTED.load(Ordering::Relaxed)
        && _PyInterpreterState_GetEvalFrameFunc(interp)
            .is_none_or(|f| f as usize == _PyEval_EvalFrameDefault as *const () as usize)
    {
        _PyInterpreterState_SetEvalFrameFunc(interp, Some(eval_frame));
    }
}

/// A warm-up call of `code` (see [`warm_up`]) with the hook lifted. One of
/// code with loops has its back edges counted as a first call's are
/// ([`osr::count_warm_up`]): everything the window runs is interpreted, so
/// a warm-up that turns out long (a function's second call doing the
/// program's work) goes on compiled from a back edge, the hook back, and
/// the code compiled for it serves later calls, as a long first call's
/// does.
///
/// # Safety
/// As for [`interpret_unhooked`]; `state` is `code`'s, `frame` of it.
unsafe fn warm_up_unhooked(
    state: *mut CodeState,
    ts: *mut PyThreadState,
    frame: *mut Frame,
    code: *mut PyCodeObject,
) -> *mut PyObject {
    let counted = (*state).loops && osr::count_warm_up(&mut *state, ts, frame, code);
    let entries = (*state).osr_entries;
    let result = interpret_unhooked(ts, frame);
    if counted {
        let s = &mut *state;
        osr::end_warm_up(s, ts, code);
        if s.osr_entries > entries && matches!(s.status, Status::Compiled { provisional: true }) {
            keep_for_good(s, code);
        }
    }
    result
}

/// Puts the hook back in the middle of the unhooked window of the current
/// frame, a warm-up call about to go on compiled (see
/// [`warm_up_unhooked`]): only when that window is the only one open, so
/// no other frame needs the hook lifted, and no other hook was installed
/// meanwhile. Otherwise the warm-up goes on interpreted.
///
/// # Safety
/// The GIL is held.
pub unsafe fn put_hook_back(ts: *mut PyThreadState) {
    if WINDOWS.load(Ordering::Relaxed) == 1 {
        reinstall_hook(interp(ts).cast::<u8>());
    }
}

/// Instructions the interpreter ran in counting mode (`JITSAW_STATS`).
pub static INTERPRETED: AtomicU64 = AtomicU64::new(0);
/// Whether counting mode is on.
static COUNTING: AtomicBool = AtomicBool::new(false);
/// `sys.monitoring.set_local_events` and the `INSTRUCTION` event's bit, for
/// counting mode.
static SET_LOCAL_EVENTS: OnceLock<(pyo3::Py<pyo3::PyAny>, u32)> = OnceLock::new();
/// The `sys.monitoring` tool counting mode uses (`OPTIMIZER_ID`).
pub const COUNTING_TOOL: u8 = 5;

/// Starts counting mode: interpreted frames get `INSTRUCTION` events for the
/// counting tool, whose callback is `_jitsaw.count_instruction`.
pub fn start_counting(set_local_events: pyo3::Py<pyo3::PyAny>, instruction_event: u32) {
    let _ = SET_LOCAL_EVENTS.set((set_local_events, instruction_event));
    runtime::IGNORED_TOOLS.store(1 << COUNTING_TOOL, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
}

/// `_PyEval_EvalFrameDefault`, with the interpreter's instructions counted
/// in counting mode: the code object gets local `INSTRUCTION` events while
/// any of its frames runs in the interpreter (compiled code ignores them).
///
/// # Safety
/// As for `_PyEval_EvalFrameDefault`.
pub unsafe fn interpreter(
    ts: *mut PyThreadState,
    frame: *mut Frame,
    throwflag: i32,
) -> *mut PyObject {
    if !COUNTING.load(Ordering::Relaxed) {
        return _PyEval_EvalFrameDefault(ts, frame, throwflag);
    }
    let code = frame_code(frame);
    let state = state_of(code);
    if let Some(s) = state {
        (*s).interpreting += 1;
        if (*s).interpreting == 1 {
            set_counting_events(code, true);
        }
    }
    let result = _PyEval_EvalFrameDefault(ts, frame, throwflag);
    if let Some(s) = state {
        (*s).interpreting -= 1;
        if (*s).interpreting == 0 {
            set_counting_events(code, false);
        }
    }
    result
}

/// Switches the counting tool's `INSTRUCTION` events on or off for `code`,
/// leaving any pending exception as it was.
unsafe fn set_counting_events(code: *mut PyCodeObject, on: bool) {
    let Some((set, event)) = SET_LOCAL_EVENTS.get() else {
        return;
    };
    let exc = PyErr_GetRaisedException();
    pyo3::Python::attach(|py| {
        let events = if on { *event } else { 0 };
        let code = pyo3::Bound::from_borrowed_ptr(py, code.cast());
        if set.call1(py, (COUNTING_TOOL, code, events)).is_err() {
            PyErr_Clear();
        }
    });
    PyErr_SetRaisedException(exc);
}

/// Hands a frame compiled code left to the interpreter: unhooked while
/// instrumentation wants its code (see [`interpret_unhooked`]).
///
/// # Safety
/// As for `_PyEval_EvalFrameDefault(ts, frame, 0)`.
pub unsafe fn interpret(ts: *mut PyThreadState, frame: *mut Frame) -> *mut PyObject {
    let code = frame_code(frame);
    let version = instrumentation_version(ts);
    if instrumented(ts, code, version) {
        return interpret_unhooked(ts, frame);
    }
    let Some(state) = osr::any_armed()
        .then(|| state_of(code))
        .flatten()
        .filter(|&s| (*s).osr_armed)
    else {
        return interpreter(ts, frame, 0);
    };
    // The frame left to be entered again at a loop (`osr`): if it ends
    // first, its code's event goes with it. (Its turn runs under the hook:
    // lifted, the functions it calls would run interpreted meanwhile,
    // uncounted, and come back re-specialized; under it the interpreter
    // does not specialize calls of Python functions, which compiled code's
    // own call sites handle.)
    // The reference keeps the code object, and with it its state, alive.
    let kept = keep_code(frame);
    let result = interpreter(ts, frame, 0);
    osr::disarm(&mut *state, code);
    release_code(kept, result)
}

/// A code object's state, for tests and tools.
pub struct CodeSummary {
    /// `"new"`, `"warming"`, `"compiled"`, `"provisional"`, `"requicken"`
    /// or `"never"`.
    pub status: &'static str,
    /// Calls that reached the hook.
    pub calls: u64,
    /// Deopts since the last compilation.
    pub deopts: u32,
    /// Recompilations after frequent deopts.
    pub recompiles: u32,
    /// The compiled micro-ops, in layout order (exit stubs included).
    pub uops: Vec<&'static str>,
    /// How long its last compilation took, in nanoseconds.
    pub compile_ns: u64,
    /// The price of that compilation ([`price`]), in nanoseconds: what
    /// a first call, or the calls while waiting, must have taken for code
    /// with loops to be compiled before the threshold.
    pub price_ns: u64,
    /// How long its first compiled call took, in nanoseconds.
    pub first_run_ns: Option<u64>,
    /// How long its calls interpreted while waiting for the threshold
    /// took, in nanoseconds: the time weighed against `price_ns`.
    pub waited_ns: u64,
}

/// A summary of a code object's state.
///
/// # Safety
/// The GIL is held and `code` is a code object.
pub unsafe fn code_summary(code: *mut PyCodeObject) -> CodeSummary {
    let Some(p) = STATES
        .get()
        .get_mut(&(code as usize))
        .map(|s| &mut **s as *mut CodeState)
    else {
        return CodeSummary {
            status: "new",
            calls: 0,
            deopts: 0,
            recompiles: 0,
            uops: vec![],
            compile_ns: 0,
            price_ns: 0,
            first_run_ns: None,
            waited_ns: 0,
        };
    };
    let s = &*p;
    let (status, uops) = match &s.status {
        Status::Warming => ("warming", vec![]),
        Status::Compiled { provisional } => (
            if *provisional {
                "provisional"
            } else {
                "compiled"
            },
            s.compiled
                .last()
                .map_or(vec![], |c| c.uops.iter().map(|u| u.name()).collect()),
        ),
        Status::Requicken(_) => ("requicken", vec![]),
        Status::Counted => ("counted", vec![]),
        Status::Never => ("never", vec![]),
    };
    CodeSummary {
        status,
        calls: s.calls,
        deopts: s.deopts,
        recompiles: s.recompiles,
        uops,
        compile_ns: s.compile_time.as_nanos() as u64,
        price_ns: price(s.compile_time).as_nanos() as u64,
        first_run_ns: s.first_run.map(|t| t.as_nanos() as u64),
        waited_ns: s.waited.as_nanos() as u64,
    }
}

/// Frees a code object's state when the code object dies.
/// The code object watcher: a dying code object's state (and compiled code)
/// is freed with it.
unsafe extern "C" fn code_event(event: i32, code: *mut PyCodeObject) -> i32 {
    if event as i64 == consts::PY_CODE_EVENT_DESTROY {
        if let Some(state) = STATES.get().remove(&(code as usize)) {
            forget_cached(code as usize, &*state as *const CodeState as usize);
            osr::forget(&state);
            if !state.compiled.is_empty() {
                bump_direct_epoch();
            }
            for c in &state.compiled {
                runtime::watch::forget(c);
            }
            if !state.profile.is_null() {
                (*state.profile).retire(state.calls);
            }
        }
    }
    0
}

/// Every code object's state, by address (the GIL serializes access).
static STATES: GilCell<HashMap<usize, Box<CodeState>, BuildHasherDefault<AddressHasher>>> =
    GilCell::new();

/// Entries of the code-object-to-state cache (a power of two).
const STATE_CACHE_SIZE: usize = 1024;

/// A direct-mapped cache from code object to state, sparing
/// a table lookup on every call; entries are `[code, state]`
/// and are cleared when the code object dies. Only used with the GIL held.
static STATE_CACHE: [[AtomicUsize; 2]; STATE_CACHE_SIZE] =
    [const { [AtomicUsize::new(0), AtomicUsize::new(0)] }; STATE_CACHE_SIZE];

#[inline]
fn cache_slot(code: usize) -> &'static [AtomicUsize; 2] {
    &STATE_CACHE[(code >> 4) & (STATE_CACHE_SIZE - 1)]
}

/// The state of `code` if the state cache holds it (no table lookup).
#[inline(always)]
fn cached_state(code: *mut PyCodeObject) -> Option<*mut CodeState> {
    let slot = cache_slot(code as usize);
    (slot[0].load(Ordering::Relaxed) == code as usize)
        .then(|| slot[1].load(Ordering::Relaxed) as *mut CodeState)
}

fn forget_cached(code: usize, state: usize) {
    let slot = cache_slot(code);
    if slot[0].load(Ordering::Relaxed) == code && slot[1].load(Ordering::Relaxed) == state {
        slot[0].store(0, Ordering::Relaxed);
        slot[1].store(0, Ordering::Relaxed);
    }
}

/// The PEP 523 evaluator. Only dispatches (both ways are tail calls), so
/// that neither pays for the other's registers.
unsafe extern "C" fn eval_frame(
    ts: *mut PyThreadState,
    frame: *mut Frame,
    throwflag: i32,
) -> *mut PyObject {
    if (*frame).owner as i64 == consts::FRAME_OWNED_BY_GENERATOR {
        resume_generator(ts, frame, throwflag)
    } else {
        eval_call(ts, frame, throwflag)
    }
}

/// [`eval_frame`] for a frame that is not a generator's: a call.
#[inline(never)]
unsafe extern "C" fn eval_call(
    ts: *mut PyThreadState,
    frame: *mut Frame,
    throwflag: i32,
) -> *mut PyObject {
    if throwflag == 0 && (*frame).owner as i64 == consts::FRAME_OWNED_BY_THREAD {
        if let Some((state, compiled)) = quick_call(ts, frame) {
            if (*state).generator {
                return make_generator(ts, frame);
            }
            if let Some(entry) = runtime::entry_fn() {
                let address = entry_of(state, compiled);
                let compiled = &*compiled;
                return run_kept(frame, state, || {
                    runtime::run_at(ts, frame, compiled, entry, address, false)
                });
            }
        }
    }
    eval_call_slowly(ts, frame, throwflag)
}

/// The code state and compiled code for a call the hook runs compiled
/// without further decisions (the call counted): [`decide`]'s first
/// answer, for code seen recently (in the state cache) that ran compiled
/// before or is a generator function's.
#[inline(always)]
unsafe fn quick_call(
    ts: *mut PyThreadState,
    frame: *mut Frame,
) -> Option<(*mut CodeState, *const Compiled)> {
    let code = frame_code(frame);
    let s = &mut *cached_state(code)?;
    if !s.ran && !s.generator {
        return None;
    }
    let c = runs_now(s, code, instrumentation_version(ts))?;
    Some((s, c))
}

/// The compiled code a call of `code` runs without further decisions, the
/// call counted: code compiled from specialized bytecode, current for
/// instrumentation `version`, with nothing for [`needs_a_look`] to see.
#[inline(always)]
unsafe fn runs_now(
    s: &mut CodeState,
    code: *mut PyCodeObject,
    version: u64,
) -> Option<*const Compiled> {
    let c = s.quick;
    if c.is_null() || !current(s.quick_version, code, version) || needs_a_look(s, c) {
        return None;
    }
    s.count_call();
    Some(c)
}

/// Whether an entry into the interpreter would pass its recursion checks
/// (the C depth it counts for the entry, the Python depth for the frame),
/// so that work done instead of that entry cannot skip a `RecursionError`.
#[inline(always)]
pub(crate) unsafe fn interpreter_entry_fits(ts: *mut PyThreadState) -> bool {
    *py_recursion_remaining(ts) > 1 && *c_recursion_remaining(ts) > 1
}

/// A generator function's call: it only makes the generator
/// (`RETURN_GENERATOR`), and compiled code runs it. Done here when the
/// interpreter would not raise first (its recursion checks) nor run other
/// instructions first (cells).
#[inline(always)]
unsafe fn make_generator(ts: *mut PyThreadState, frame: *mut Frame) -> *mut PyObject {
    if opcode_at(frame_code(frame), 0) == opcode::RETURN_GENERATOR && interpreter_entry_fits(ts) {
        runtime::generator_from_frame(ts, frame)
    } else {
        interpreter(ts, frame, 0)
    }
}

/// [`eval_call`] the long way: decides how to run the call, compiling
/// first if due.
#[inline(never)]
unsafe fn eval_call_slowly(
    ts: *mut PyThreadState,
    frame: *mut Frame,
    throwflag: i32,
) -> *mut PyObject {
    let owner = (*frame).owner as i64;
    if throwflag != 0 || owner != consts::FRAME_OWNED_BY_THREAD {
        return interpreter(ts, frame, throwflag);
    }
    let code = frame_code(frame);
    let Some(state) = state_of(code) else {
        return interpreter(ts, frame, 0);
    };
    // A call of code whose frame left for the interpreter to be entered
    // again (`osr`) and did not: the event is for that frame only.
    osr::disarm(&mut *state, code);
    if (*state).import_entry && import_unhooked(ts, code) {
        runtime::IMPORTS_UNHOOKED.bump();
        return interpret_unhooked(ts, frame);
    }
    match decide(state, ts, frame, code) {
        Decision::Run(_) if (*state).generator => make_generator(ts, frame),
        Decision::Run(compiled) => {
            // How long the first compiled call takes tells whether a
            // warm-up call would be short (see `warm_up`).
            let started = (*state).first_run.is_none().then(Instant::now);
            let kept = keep_code(frame);
            let result = run(ts, frame, state, compiled, 0, false);
            if let Some(started) = started {
                (*state).set_first_run(started.elapsed());
            }
            retire_provisional(&mut *state, code);
            release_code(kept, result)
        }
        Decision::Interpret => {
            runtime::CALLS_INTERPRETED[runtime::INTERPRETED_HOOKED].bump();
            interpreter(ts, frame, 0)
        }
        Decision::Wait { unhooked } => {
            runtime::CALLS_INTERPRETED[runtime::INTERPRETED_RENT].bump();
            let s = &mut *state;
            s.waiting = Some(match s.waiting {
                Some((since, depth)) => (since, depth + 1),
                None => (clock::now(), 1),
            });
            let kept = keep_code(frame);
            let result = if unhooked {
                warm_up_unhooked(state, ts, frame, code)
            } else {
                interpreter(ts, frame, 0)
            };
            let s = &mut *state;
            s.waiting = match s.waiting {
                Some((since, 1)) => {
                    s.waited += since.elapsed();
                    None
                }
                Some((since, depth)) => Some((since, depth - 1)),
                None => None,
            };
            // Code with loops waits for the price of what its provisional
            // compilation took; other code for its estimated price
            // (`rent_paid`).
            if s.loops
                && s.first_run.is_some()
                && s.waited >= price_of(s)
                && matches!(s.status, Status::Warming)
            {
                s.set_status(Status::Requicken(0));
            }
            release_code(kept, result)
        }
        Decision::Count => {
            runtime::CALLS_INTERPRETED[runtime::INTERPRETED_FIRST_COUNTED].bump();
            let started = Instant::now();
            (*state).osr_first_call = Some(started);
            let kept = keep_code(frame);
            let result = interpreter(ts, frame, 0);
            let s = &mut *state;
            let took = started.elapsed();
            s.set_first_run(took);
            osr::end_first_call(s, ts, code);
            if matches!(s.status, Status::Warming) {
                // Not entered: what compiling it would have taken stands in
                // for what its provisional code's compilation took, and the
                // call, interpreted, is rent paid towards it.
                s.compile_time = compile_estimate(s.instructions);
                s.waited = took;
                s.set_status(Status::Counted);
            }
            retire_provisional(s, code);
            release_code(kept, result)
        }
        Decision::InterpretUnhooked => {
            runtime::CALLS_INTERPRETED[runtime::INTERPRETED_UNHOOKED].bump();
            interpret_unhooked(ts, frame)
        }
        Decision::WarmUp => {
            runtime::CALLS_INTERPRETED[runtime::INTERPRETED_UNHOOKED].bump();
            let kept = keep_code(frame);
            let result = warm_up_unhooked(state, ts, frame, code);
            release_code(kept, result)
        }
        Decision::Respecialize => interpret_to_respecialize(ts, frame, state, code),
    }
}

/// Resumes a generator's or coroutine's frame (`next`, `send`, `throw`) in
/// its compiled code when there is some for this instrumentation state:
/// a `next()` the way the last one went when nothing it relied on changed
/// (a function of its own, so that this common case saves few registers),
/// anything else by [`resume_generator_slowly`].
#[inline(never)]
unsafe extern "C" fn resume_generator(
    ts: *mut PyThreadState,
    frame: *mut Frame,
    throwflag: i32,
) -> *mut PyObject {
    if throwflag == 0 {
        if let Some((state, address, entry)) = quick_resume(ts, frame) {
            // Not resumed by a compiled caller: its yield returns.
            (*frame).return_offset = 0;
            let compiled = &*(*state).resume_compiled;
            // No `keep_code`: the generator, alive for as long as it runs
            // (its caller holds it; CPython reads it after the run), holds
            // its code until it is freed itself, finished or not.
            return finish(
                state,
                runtime::run_at(ts, frame, compiled, entry, address, false),
            );
        }
    }
    resume_generator_slowly(ts, frame, throwflag)
}

/// Where a suspended generator's frame resumes, if the last resumption of
/// its code from C learned it and nothing it relied on changed: no code
/// object changed status, instrumentation is as it was and the code has no
/// monitoring data, the frame has the same namespaces, and its suspension
/// point is in the table (as [`resumable`] would find: its answer, without
/// its lookups). The code's state, the address, and the way in.
#[inline(always)]
unsafe fn quick_resume(
    ts: *mut PyThreadState,
    frame: *mut Frame,
) -> Option<(*mut CodeState, usize, runtime::EntryFn)> {
    let code = frame_code(frame);
    let state = cached_state(code)?;
    if !field::<*mut u8>(code.cast(), off::CODE_MONITORING).is_null() {
        return None;
    }
    let cache = &(*state).resume;
    let point = cache.point(
        direct_epoch(),
        instrumentation_version(ts),
        (*frame).f_globals as usize,
        (*frame).f_builtins as usize,
        runtime::offset_of_ip(frame),
    )?;
    let address = cache.base + point.label as usize;
    let entry = runtime::entry_fn()?;
    Some((state, address, entry))
}

/// What resuming `frame` in `compiled` relies on, for [`quick_resume`] and
/// for a compiled caller's site (`SEND_GEN`, `FOR_ITER_GEN`), taken when
/// [`resumable`] just found it.
///
/// # Safety
/// The GIL is held and `frame` is a suspended frame of `compiled`'s code.
pub unsafe fn resume_cache(
    ts: *mut PyThreadState,
    frame: *mut Frame,
    compiled: &Compiled,
) -> ResumeCache {
    ResumeCache {
        epoch: direct_epoch(),
        version: instrumentation_version(ts),
        eval_frame: field::<usize>(interp(ts).cast(), off::INTERP_EVAL_FRAME),
        globals: (*frame).f_globals as usize,
        builtins: (*frame).f_builtins as usize,
        code: (*frame).f_executable as usize,
        points: compiled.resumes.as_ptr(),
        mask: compiled.resumes.len() - 1,
        base: compiled.memory.address(),
    }
}

/// [`resume_generator`] the long way: compiles code due for it, finds
/// where the frame resumes, and remembers it for [`quick_resume`].
#[inline(never)]
unsafe fn resume_generator_slowly(
    ts: *mut PyThreadState,
    frame: *mut Frame,
    throwflag: i32,
) -> *mut PyObject {
    let code = frame_code(frame);
    let version = instrumentation_version(ts);
    if let Some(state) = state_of(code) {
        // Recompiling after the interpreter re-specialized the code needs no
        // new call: the frame can resume in the new code, once the code has
        // paid for its last compilation (see `recompile_at_resumption`).
        let s = &mut *state;
        if recompile_at_resumption(s) && !instrumented(ts, code, version) {
            s.requickened = true;
            compile(s, ts, frame, code, version);
        }
        if let Some((c, i)) = resumable(s, frame, version) {
            // A recompilation still pending is looked at again next time.
            if !matches!(s.status, Status::Requicken(0)) {
                s.resume = resume_cache(ts, frame, &*c);
                s.resume_compiled = c;
            }
            // Not resumed by a compiled caller: its yield returns.
            (*frame).return_offset = 0;
            return run(ts, frame, state, c, i, throwflag != 0);
        }
    }
    if instrumented(ts, code, version) && throwflag == 0 {
        return interpret_unhooked(ts, frame);
    }
    interpreter(ts, frame, throwflag)
}

/// Whether a generator's code, re-specialized by the interpreter, may be
/// compiled again at a resumption: once [`RECOMPILE_RENT`] times its last
/// compilation's duration has passed since that compilation. A generator
/// is compiled at its first call, before the interpreter specialized
/// anything, and each instruction it meets due deopts it and asks for a
/// recompilation: lib2to3's tokenizer, `generate_tokens` (165 KB of code),
/// was compiled 9 times in a run of two calls. Until then its current code
/// serves it (the generic forms of what changed); the next call, or a
/// later resumption that leaves the quick way, compiles. With an explicit
/// `JITSAW_THRESHOLD` ([`THRESHOLD_RENT`] off) nothing is timed: the rent
/// is never paid, so recompilations are spaced by calls alone
/// ([`respecialize_spaced`]), and one already due is made at the next
/// resumption ([`recompile_at_resumption`]). When a generator is compiled
/// again then depends on what it ran, not on how fast (a test's run on a
/// loaded machine).
fn recompile_paid_for(s: &CodeState) -> bool {
    THRESHOLD_RENT.load(Ordering::Relaxed)
        && s.compiled_at
            .is_none_or(|at| at.elapsed() >= s.compile_time * RECOMPILE_RENT)
}

/// Whether a generator's code due to be compiled again
/// ([`Status::Requicken`]) is compiled at this resumption: see
/// [`recompile_paid_for`].
fn recompile_at_resumption(s: &CodeState) -> bool {
    matches!(s.status, Status::Requicken(0))
        && (!THRESHOLD_RENT.load(Ordering::Relaxed) || recompile_paid_for(s))
}

/// See [`recompile_paid_for`].
const RECOMPILE_RENT: u32 = 8;

/// Compiled code for a call from compiled code, if `code` has some that can
/// run now without further decisions (no compiling, no warm-up); the call
/// is counted.
///
/// # Safety
/// The GIL is held and `code` is a code object.
#[inline]
pub unsafe fn ready(
    ts: *mut PyThreadState,
    code: *mut PyCodeObject,
) -> Option<(*mut CodeState, *const Compiled)> {
    let state = state_of(code)?;
    let s = &mut *state;
    if s.generator || !hooked(ts) {
        return None;
    }
    runs_now(s, code, instrumentation_version(ts)).map(|c| (state, c))
}

/// Whether a call from compiled code may make a generator of `code`
/// itself (see `make_generator` in `runtime/helpers.rs`): the generator
/// code is compiled and may run now, as its resumptions will; the call is
/// counted. The code's state if so.
///
/// # Safety
/// The GIL is held and `code` is a code object.
pub unsafe fn ready_generator(
    ts: *mut PyThreadState,
    code: *mut PyCodeObject,
) -> Option<*mut CodeState> {
    let state = state_of(code)?;
    let s = &mut *state;
    let (Status::Compiled { .. }, Some(c)) = (&s.status, s.compiled.last()) else {
        return None;
    };
    if !s.generator || !enterable(ts, s, c, code) {
        return None;
    }
    s.count_call();
    Some(state)
}

/// Whether compiled code `c` of `code` was compiled under the current
/// instrumentation version, so that no global monitoring was switched on
/// since (compilation requires none), and no `sys.monitoring` local events
/// were set on the code.
#[inline(always)]
unsafe fn current(compiled: u64, code: *mut PyCodeObject, version: u64) -> bool {
    compiled == version
        && field::<u64>(code.cast(), off::CODE_INSTRUMENTATION_VERSION) == version
        && !local_monitors(code)
}

/// Whether a call from compiled code may enter `s`'s compiled code `c`
/// directly: it is [`current`], its guards do not fail too often, and the
/// frame evaluator is still jitsaw's (a debugger or a test's recorder that
/// replaced it must see the calls).
#[inline(always)]
unsafe fn enterable(
    ts: *mut PyThreadState,
    s: &CodeState,
    c: &Compiled,
    code: *mut PyCodeObject,
) -> bool {
    hooked(ts)
        && current(c.version, code, instrumentation_version(ts))
        && !falls_back_often(s, c)
        && !respecialize_due(s)
}

/// Where a call enters `compiled`, the code of `state` that [`ready`],
/// [`ready_direct`] or the hook's quick way answered: read from the
/// state's first line (the code's own entry is two more lines away, its
/// labels and its memory).
///
/// # Safety
/// `state` is alive and `compiled` is one of its compilations.
#[inline(always)]
pub unsafe fn entry_of(state: *const CodeState, compiled: *const Compiled) -> usize {
    if std::ptr::eq((*state).quick, compiled) {
        (*state).quick_entry
    } else {
        (*compiled).entry(0)
    }
}

/// Whether the frame evaluator is still jitsaw's.
#[inline(always)]
unsafe fn hooked(ts: *mut PyThreadState) -> bool {
    field::<usize>(interp(ts).cast(), off::INTERP_EVAL_FRAME) == eval_frame as *const () as usize
}

/// [`ready`] for a direct call passing `nargs` positional arguments, when
/// `code` was seen recently (the state cache holds it, no table lookup) and
/// its compiled code takes exactly those. `None` means "ask [`ready`]".
///
/// # Safety
/// The GIL is held and `code` is a code object.
#[inline(always)]
pub unsafe fn ready_direct(
    ts: *mut PyThreadState,
    code: *mut PyCodeObject,
    nargs: usize,
) -> Option<(*mut CodeState, *const Compiled)> {
    let state = cached_state(code)?;
    let s = &mut *state;
    if s.generator || s.direct_args == u32::MAX || s.direct_args as usize != nargs || !hooked(ts) {
        return None;
    }
    runs_now(s, code, instrumentation_version(ts)).map(|c| (state, c))
}

/// Bumped at every change of a code object's status, after which what
/// [`ready_direct`] answered may no longer hold, and when a compiled code
/// object dies (a `ResumeCache` names code by address).
static DIRECT_EPOCH: AtomicU64 = AtomicU64::new(1);

/// Moves [`DIRECT_EPOCH`] on.
fn bump_direct_epoch() {
    DIRECT_EPOCH.store(DIRECT_EPOCH.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// The current [`DIRECT_EPOCH`].
pub fn direct_epoch() -> u64 {
    DIRECT_EPOCH.load(Ordering::Relaxed)
}

/// The frame evaluator's address, for the stencils that make calls
/// without it only while it is the interpreter's.
pub fn eval_frame_address() -> usize {
    eval_frame as *const () as usize
}

/// Where [`DIRECT_EPOCH`] is, for the stencils that check it.
pub fn direct_epoch_address() -> usize {
    DIRECT_EPOCH.as_ptr() as usize
}

/// What a call site remembers when it may enter compiled code directly
/// ([`ready_direct`] said so): checked by [`still_ready`].
#[derive(Clone, Copy)]
pub struct DirectTicket {
    epoch: u64,
    version: u64,
}

impl DirectTicket {
    /// A ticket for an empty entry (its function version 0 serves no call).
    pub const NONE: DirectTicket = DirectTicket {
        epoch: 0,
        version: 0,
    };
}

/// The ticket for a direct entry [`ready_direct`] or [`ready`] just
/// allowed.
///
/// # Safety
/// The GIL is held.
pub unsafe fn ticket(ts: *mut PyThreadState) -> DirectTicket {
    DirectTicket {
        epoch: direct_epoch(),
        version: instrumentation_version(ts),
    }
}

/// Whether a call may still enter the compiled code of `state` (of
/// `code`) that [`ready_direct`] allowed when `ticket` was taken, as it
/// would answer now; the call is counted. No code object changed status
/// since (the entry is still the one direct calls may take), and the
/// instrumentation version is the same (so the code is still current, as
/// it was then): what is left is what can change without a version,
/// local monitoring, the frame evaluator, and now and then whether the
/// code falls back too often or a call is to be interpreted (as
/// [`ready_direct`] asks: only those calls take the way that decides).
///
/// # Safety
/// The GIL is held; `state` is `code`'s, and `code` is alive.
#[inline(always)]
pub unsafe fn still_ready(
    ts: *mut PyThreadState,
    state: *mut CodeState,
    code: *mut PyCodeObject,
    ticket: DirectTicket,
) -> bool {
    let s = &mut *state;
    if ticket.epoch != direct_epoch()
        || ticket.version != instrumentation_version(ts)
        || local_monitors(code)
        || !hooked(ts)
        || s.quick.is_null()
        || needs_a_look(s, s.quick)
    {
        return false;
    }
    s.count_call();
    true
}

/// The code object `state` is the state of.
///
/// # Safety
/// `state` is alive.
#[inline(always)]
pub unsafe fn state_code(state: *const CodeState) -> *mut PyCodeObject {
    (*state).code as *mut PyCodeObject
}

/// Whether a call that would enter compiled code the quick way
/// ([`ready_direct`], [`decide`]) should first look at its fallbacks,
/// which costs more than the other checks together: every
/// `FALLBACK_CHECK_CALLS`th call does, and code falling back too often
/// then takes the way that recompiles it.
#[inline(always)]
fn fallback_check_due(s: &CodeState) -> bool {
    s.calls_since_compile.is_multiple_of(FALLBACK_CHECK_CALLS)
}

/// See [`fallback_check_due`].
const FALLBACK_CHECK_CALLS: u64 = 16;

/// Whether a quick entry should take the way that decides instead: the
/// code falls back too often ([`falls_back_often`]) or a call is to be
/// interpreted ([`respecialize_due`]), asked only when
/// [`fallback_check_due`]; or a generator's spaced recompilation is due
/// ([`respecialize_now`], a flag asked at every call).
///
/// # Safety
/// `c` is `s`'s newest compiled code (read only when the check is due: it
/// is off the state's first line).
#[inline(always)]
unsafe fn needs_a_look(s: &CodeState, c: *const Compiled) -> bool {
    (fallback_check_due(s) && (falls_back_often(s, &*c) || respecialize_due(s)))
        || respecialize_now(s)
}

/// Whether a generator's code whose instruction the interpreter specialized
/// anew is compiled again at this call. A generator's code is compiled at
/// its first call, before anything was specialized, and meets the
/// interpreter's specializations one by one, each a recompilation of all
/// of it (`lib2to3`'s tokenizer, ~180 KB of code: 9 compilations, a quarter
/// of the code its run generated): the `k`th since the first waits for
/// `2^k` calls since the last, or for the rent of resumptions
/// ([`recompile_paid_for`], asked at each deopt), whichever comes first.
/// Its code serves meanwhile: the changed instruction's guards fall back or
/// deopt until the next yield.
#[inline(always)]
fn respecialize_now(s: &CodeState) -> bool {
    s.respecialize_pending && respecialize_spaced(s)
}

/// See [`respecialize_now`].
#[inline(always)]
fn respecialize_spaced(s: &CodeState) -> bool {
    s.calls_since_compile >= 1 << s.recompiles.min(32)
}

/// Where a suspended generator's frame resumes in its compiled code (and
/// that code), for a compiled caller resuming it directly (`SEND_GEN`,
/// `FOR_ITER_GEN`): as
/// for [`ready_direct`], only when nothing needs deciding; a generator
/// whose code awaits recompiling goes the general way, which does it.
///
/// # Safety
/// The GIL is held and `frame` is a suspended generator's frame.
#[inline]
pub unsafe fn ready_resume(
    ts: *mut PyThreadState,
    frame: *mut Frame,
) -> Option<(&'static Compiled, usize)> {
    let s = &*state_of(frame_code(frame))?;
    if matches!(s.status, Status::Requicken(0)) || !hooked(ts) {
        return None;
    }
    // As when the hook resumes it: whatever its fallbacks, the newest code.
    let (c, i) = resumable(s, frame, instrumentation_version(ts))?;
    // SAFETY: compilations live as long as their code object, which the
    // frame keeps alive.
    let c = &*c;
    Some((c, c.entry(i)))
}

/// The newest compiled code of a suspended generator's frame, if it is
/// [`current`] and serves the frame's globals, and the instruction the
/// frame resumes at in it.
#[inline(always)]
unsafe fn resumable(
    s: &CodeState,
    frame: *mut Frame,
    version: u64,
) -> Option<(*const Compiled, usize)> {
    let c = s.compiled.last()?;
    if !current(c.version, frame_code(frame), version)
        || !c.serves((*frame).f_globals as u64, (*frame).f_builtins as u64)
    {
        return None;
    }
    let i = c.resume_at(runtime::offset_of_ip(frame))?;
    Some((&**c as *const Compiled, i))
}

/// The newest compiled code of a code object, if any.
///
/// # Safety
/// The GIL is held and `code` is a code object.
pub unsafe fn latest_compiled(code: *mut PyCodeObject) -> Option<&'static Compiled> {
    let state = state_of(code)?;
    // SAFETY: compilations live as long as the code object, which a frame
    // running it keeps alive.
    (*state)
        .compiled
        .last()
        .map(|c| &*(&**c as *const Compiled))
}

/// Compiled code `compiled` of `code` was invalidated (a global it burned
/// in is changing): if it is the newest, `code` is compiled again at its
/// next call or resumption.
///
/// # Safety
/// The GIL is held and `code` is a live code object.
pub unsafe fn invalidated(code: *mut PyCodeObject, compiled: *const Compiled) {
    INVALIDATIONS[3].fetch_add(1, Ordering::Relaxed);
    let Some(state) = state_of(code) else { return };
    let s = &mut *state;
    let newest = s
        .compiled
        .last()
        .is_some_and(|c| std::ptr::eq(&**c, compiled));
    if newest && matches!(s.status, Status::Compiled { .. }) {
        s.set_status(Status::Requicken(0));
        s.recompiles += 1;
    }
}

/// Notes a deopt at code unit `at` of a frame compiled code entered
/// directly, once the interpreter has finished the frame.
///
/// # Safety
/// The GIL is held and `code` is a live code object.
pub unsafe fn note_frame_deopt(code: *mut PyCodeObject, at: u32) {
    let (Some(state), Some(c)) = (state_of(code), latest_compiled(code)) else {
        return;
    };
    if c.speculative_deopt(at) {
        note_deopt(state, at);
    }
}

/// Profiling: counts a deopt (or a raise exit) at code unit `at` of `code`.
///
/// # Safety
/// The GIL is held and `code` is a live code object.
pub unsafe fn note_exit(code: *mut PyCodeObject, at: u32, raise: bool) {
    if !profile::enabled() {
        return;
    }
    if let Some(state) = state_of(code) {
        if !(*state).profile.is_null() {
            (*(*state).profile).exit(at, raise);
        }
    }
}

/// Every profile recorded (`JITSAW_PROFILE`), for `jitsaw.report()`.
///
/// # Safety
/// The GIL is held.
pub unsafe fn profile_reports() -> Vec<profile::Report> {
    let states = STATES.get();
    profile::reports(|code| states.get(&code).map_or(0, |s| s.calls))
}

/// Runs a frame in `compiled` from instruction `start` (see
/// `runtime::run_frame`), noting deopts in its code's state.
///
/// # Safety
/// As for `runtime::run_frame`; `compiled` belongs to `state`, which keeps
/// it alive as long as the frame's code object lives.
#[inline(always)]
pub unsafe fn run(
    ts: *mut PyThreadState,
    frame: *mut Frame,
    state: *mut CodeState,
    compiled: *const Compiled,
    start: usize,
    throw: bool,
) -> *mut PyObject {
    let Ok(rt) = runtime::runtime() else {
        return interpreter(ts, frame, throw as i32);
    };
    run_kept(frame, state, || {
        runtime::run_frame(ts, frame, &*compiled, rt, start, throw)
    })
}

/// A run of `frame` (`run`), then [`finish`], the frame's code object held
/// meanwhile ([`keep_code`]).
#[inline(always)]
unsafe fn run_kept(
    frame: *mut Frame,
    state: *mut CodeState,
    run: impl FnOnce() -> RunOutcome,
) -> *mut PyObject {
    let code = keep_code(frame);
    let outcome = run();
    release_code(code, finish(state, outcome))
}

/// Takes a reference to the frame's code object for the length of a run:
/// the code's state is used after the frame is gone, and the frame may
/// have held the last reference (a function that rebinds its own global
/// name, as `pydoc.pager` does, dies when its frame is popped).
#[inline(always)]
unsafe fn keep_code(frame: *mut Frame) -> *mut PyObject {
    let code = frame_code(frame).cast::<PyObject>();
    incref(code);
    code
}

/// Drops [`keep_code`]'s reference (which may free the code object and its
/// state) and passes `result` on.
#[inline(always)]
unsafe fn release_code(code: *mut PyObject, result: *mut PyObject) -> *mut PyObject {
    decref(code);
    result
}

/// The result of a run, its deopt at a failed guard noted in `state`.
#[inline(always)]
unsafe fn finish(state: *mut CodeState, outcome: RunOutcome) -> *mut PyObject {
    match outcome {
        RunOutcome::Done(result) => result,
        RunOutcome::Deopt { result, guard } => {
            if let Some(at) = guard {
                note_deopt(state, at);
            }
            result
        }
        RunOutcome::Handed { .. } => unreachable!("only an on-stack replacement hands over"),
    }
}

/// The code object's state, created on first sight.
#[inline]
unsafe fn state_of(code: *mut PyCodeObject) -> Option<*mut CodeState> {
    if let Some(state) = cached_state(code) {
        return Some(state);
    }
    let state = state_of_uncached(code)?;
    let slot = cache_slot(code as usize);
    slot[0].store(code as usize, Ordering::Relaxed);
    slot[1].store(state as usize, Ordering::Relaxed);
    Some(state)
}

/// The code object's state from the table, created on first sight.
unsafe fn state_of_uncached(code: *mut PyCodeObject) -> Option<*mut CodeState> {
    if WATCHER.load(Ordering::Relaxed) < 0 {
        return None;
    }
    let state = STATES.get().entry(code as usize).or_insert_with(|| {
        let frontend::Shape {
            loops,
            calls: calls_out,
            instructions,
        } = frontend::shape(code_units_slice(code));
        Box::new(CodeState {
            calls: 0,
            status: Status::Warming,
            deopts: 0,
            calls_since_compile: 0,
            recompiles: 0,
            requickened: false,
            loops,
            calls_out,
            instructions,
            first_call_deferred: false,
            first_run: None,
            ran: false,
            compile_time: std::time::Duration::ZERO,
            compiled_at: None,
            waited: std::time::Duration::ZERO,
            waiting: None,
            generator: field::<i32>(code.cast(), off::CODE_CO_FLAGS) as i64 & GENERATOR_FLAGS != 0,
            import_entry: import_entry(code),
            interpreting: 0,
            deopt_sites: Vec::new(),
            generic: Vec::new(),
            no_words: Vec::new(),
            either_kinds: Vec::new(),
            frame_object_deopts: 0,
            class_check_deopts: 0,
            respecialize_wanted: false,
            respecialize_pending: false,
            respecialize_calls: 0,
            respecialize_after: u64::from(RESPECIALIZE_CALLS),
            compiled: Vec::new(),
            code: code as usize,
            profile: if profile::enabled() {
                profile::new(code)
            } else {
                std::ptr::null_mut()
            },
            quick: std::ptr::null(),
            quick_version: 0,
            quick_entry: 0,
            direct_args: plain_positional_args(code).unwrap_or(u32::MAX),
            resume: ResumeCache::EMPTY,
            resume_compiled: std::ptr::null(),
            osr_armed: false,
            osr_back_edges: 0,
            osr_turns: 0,
            osr_head: 0,
            osr_entries: 0,
            osr_compiling: false,
            osr_first_call: None,
            osr_warm_up: std::ptr::null_mut(),
        })
    });
    Some(&mut **state as *mut CodeState)
}

/// The argument count of code whose parameters are all plain positional
/// ones (no `*args`, `**kwargs` or keyword-only parameters): the calls
/// that may bind their arguments by copying them.
pub(crate) unsafe fn plain_positional_args(code: *mut PyCodeObject) -> Option<u32> {
    let flags = field::<i32>(code.cast(), off::CODE_CO_FLAGS) as i64;
    let plain = flags & (consts::CO_VARARGS | consts::CO_VARKEYWORDS) == 0
        && flags & consts::CO_OPTIMIZED != 0
        && field::<i32>(code.cast(), off::CODE_CO_KWONLYARGCOUNT) == 0;
    plain.then(|| field::<i32>(code.cast(), off::CODE_CO_ARGCOUNT) as u32)
}

/// How many of a new frame's locals hold arguments (the rest start
/// unbound); all of them for code whose locals are not fast locals.
unsafe fn argument_slots(code: *mut PyCodeObject) -> u32 {
    let flags = field::<i32>(code.cast(), off::CODE_CO_FLAGS) as i64;
    if flags & consts::CO_OPTIMIZED == 0 {
        return field::<i32>(code.cast(), off::CODE_CO_NLOCALSPLUS) as u32;
    }
    let count = |at| field::<i32>(code.cast(), at) as u32;
    let star = |flag| (flags & flag != 0) as u32;
    count(off::CODE_CO_ARGCOUNT)
        + count(off::CODE_CO_KWONLYARGCOUNT)
        + star(consts::CO_VARARGS)
        + star(consts::CO_VARKEYWORDS)
}

/// Whether `sys.monitoring` has local events on `code` (other than counting
/// mode's own).
#[inline]
unsafe fn local_monitors(code: *mut PyCodeObject) -> bool {
    // Most code never had monitoring data: no need to read the tools then.
    !field::<*mut u8>(code.cast(), off::CODE_MONITORING).is_null()
        && code_has_local_monitors_except(code, runtime::IGNORED_TOOLS.load(Ordering::Relaxed))
}

/// Whether instrumentation (tracing, profiling, `sys.monitoring`) wants this
/// code run by the interpreter right now.
unsafe fn instrumented(ts: *mut PyThreadState, code: *mut PyCodeObject, version: u64) -> bool {
    field::<u64>(code.cast(), off::CODE_INSTRUMENTATION_VERSION) != version
        || local_monitors(code)
        || interp_has_global_monitors(interp(ts))
}

/// How a call is run.
enum Decision {
    /// In this compiled code.
    Run(*const Compiled),
    /// By the interpreter, under the hook.
    Interpret,
    /// By the interpreter with the hook lifted (see [`interpret_unhooked`]).
    InterpretUnhooked,
    /// A warm-up call by the interpreter with the hook lifted (see
    /// [`warm_up`] and [`warm_up_unhooked`]).
    WarmUp,
    /// By the interpreter, to specialize what compiled code found due
    /// (see [`interpret_to_respecialize`]).
    Respecialize,
    /// By the interpreter, under the hook, timed: code with loops whose
    /// first call took less time than its price (see [`price`]) waits for
    /// the threshold before it is compiled again, like code without loops.
    /// Most such code is start-up code run a few times (`re`'s compiler,
    /// `enum`'s class creation, argparse), whose compilations were two
    /// thirds of the code a pyperf worker kept. Once its interpreted calls
    /// have taken the price of what compiling it took, it is compiled at
    /// the next call (rent until the rent paid equals the price). Code
    /// without loops past the threshold pays the same rent against an
    /// estimate of its compilation (see [`rent_paid`]); so does code with
    /// loops past it. `unhooked`: with the hook lifted, for the
    /// interpreter to specialize what it does not specialize under a frame
    /// evaluator (see [`may_lift_hook`]).
    Wait { unhooked: bool },
    /// By the interpreter, under the hook, with its back edges counted: the
    /// first call of code with loops, entered compiled at a back edge if it
    /// runs long (see [`osr::count_first_call`]).
    Count,
}

/// The second call of code with loops, whose first call ran provisional
/// code or was counted ([`Status::Counted`]). After a first call shorter
/// than the price ([`price`]) of what compiling took (or is estimated to
/// take), the code waits for the threshold as code without loops does (see
/// [`Decision::Wait`]); after a longer one, it is compiled again after a
/// warm-up.
unsafe fn after_first_call(
    s: &mut CodeState,
    ts: *mut PyThreadState,
    code: *mut PyCodeObject,
    threshold: u32,
) -> Decision {
    match s.first_run {
        Some(t) if t < price_of(s) && u64::from(threshold) > s.calls => {
            s.set_status(Status::Warming);
            // The first interpreted call is the one in which the
            // interpreter specializes what the provisional code's
            // quickening found due.
            Decision::Wait {
                unhooked: warms_up_unhooked(s, ts, code),
            }
        }
        _ => {
            s.set_status(Status::Requicken(warmup_calls(s) - 1));
            warm_up(s, ts, code)
        }
    }
}

/// Whether the first call of code with loops ran long and went on in code
/// compiled from what the interpreter had specialized in it, entered at a
/// loop (`osr`): that code serves later calls as it is. A warm-up call
/// after a call that long would run under the hook (see [`SHORT_CALL`]),
/// which specializes no more calls of Python functions than the first call
/// did, and would interpret the whole of a call as long (fannkuch's second
/// call took 1.4 times the first's); an instruction the first call had not
/// run yet is quickened by the compiled code, which asks for an
/// interpreted call when it is due (`_QUICKEN_REPORT`).
fn went_on_compiled(s: &CodeState) -> bool {
    s.osr_entries > 0 && s.first_run.is_some_and(|t| t >= SHORT_CALL)
}

/// How to run this call, compiling first if due.
unsafe fn decide(
    state: *mut CodeState,
    ts: *mut PyThreadState,
    frame: *mut Frame,
    code: *mut PyCodeObject,
) -> Decision {
    let version = instrumentation_version(ts);
    if let Some(c) = runs_now(&mut *state, code, version) {
        return Decision::Run(c);
    }
    if instrumented(ts, code, version) {
        return Decision::InterpretUnhooked;
    }
    let threshold = THRESHOLD.load(Ordering::Relaxed);
    let s = &mut *state;
    if respecialize_due(s) && matches!(s.status, Status::Compiled { provisional: false }) {
        s.count_call();
        return Decision::Respecialize;
    }
    note_fallbacks(s, code);
    s.count_call();
    if respecialize_now(s) && matches!(s.status, Status::Compiled { provisional: false }) {
        recompile_respecialized(s);
    }
    let decision = |c: Option<*const Compiled>| c.map_or(Decision::Interpret, Decision::Run);
    match &s.status {
        Status::Never => Decision::Interpret,
        Status::Compiled { provisional } => {
            let current = s
                .compiled
                .last()
                .map(|c| (c.version, &**c as *const Compiled));
            match current {
                Some((v, _)) if v != version => decision(compile(s, ts, frame, code, version)),
                _ if *provisional => after_first_call(s, ts, code, threshold),
                Some((_, c)) => Decision::Run(c),
                None => Decision::Interpret,
            }
        }
        Status::Counted => after_first_call(s, ts, code, threshold),
        Status::Requicken(0) => {
            s.requickened = true;
            decision(compile(s, ts, frame, code, version))
        }
        Status::Requicken(n) => {
            s.set_status(Status::Requicken(n - 1));
            warm_up(s, ts, code)
        }
        Status::Warming => {
            let due = s.calls > u64::from(threshold) && rent_paid(s);
            if due {
                decision(compile(s, ts, frame, code, version))
            } else if compile_first_call(s, ts, frame, code) {
                if osr::count_first_call(s, ts, frame, code) {
                    Decision::Count
                } else {
                    decision(compile(s, ts, frame, code, version))
                }
            } else if s.calls > u64::from(threshold) {
                // Paying its rent: the call is timed.
                Decision::Wait {
                    unhooked: leaf_unhooked(s, ts, code),
                }
            } else if s.loops && s.first_run.is_some() {
                // Its provisional code ran (see the provisional case): the
                // last call before compiling is the warm-up. The calls
                // before it run as a warm-up does, unhooked where that may
                // be, back edges counted: under the hook CPython's
                // specialized Python calls deopt at every run and are
                // undone after a few calls (`test_dis`'s loop, interpreted
                // 8 times), and a long one goes on compiled.
                if s.calls == u64::from(threshold) {
                    warm_up(s, ts, code)
                } else {
                    Decision::Wait {
                        unhooked: warms_up_unhooked(s, ts, code),
                    }
                }
            } else if leaf_unhooked(s, ts, code) {
                Decision::InterpretUnhooked
            } else {
                Decision::Interpret
            }
        }
    }
}

/// Whether code past the threshold may be compiled: code (not a
/// generator's, whose calls only make the generator) once its interpreted
/// calls took the price ([`price`]) of compiling it: what its compilation
/// took, for code with loops compiled or counted at its first call, else
/// an estimate ([`compile_estimate`]; code with loops not compiled at its
/// first call: a frozen module's, or first called during an import);
/// unless `JITSAW_THRESHOLD` was set, which makes the threshold a
/// plain count. Functions called a few times more than the threshold are
/// common in short runs: in a `lib2to3` run, 47 of the 213 functions
/// without loops compiled at the threshold were called 32 times or fewer
/// in all; `importlib`'s `_path_join`, a loop called a few dozen times by
/// every start-up, was compiled by `python -c pass` (a `lib2to3` run: 2 %
/// fewer instructions with the rent).
fn rent_paid(s: &CodeState) -> bool {
    s.generator || !THRESHOLD_RENT.load(Ordering::Relaxed) || waited_so_far(s) >= price_of(s)
}

/// What `s`'s interpreted calls must take before compiling its code is
/// due: the [`price`] of its last compilation for code with loops compiled
/// or counted at its first call, else of an estimate ([`compile_estimate`]).
fn price_of(s: &CodeState) -> std::time::Duration {
    price(if s.loops && s.first_run.is_some() {
        s.compile_time
    } else {
        compile_estimate(s.instructions)
    })
}

/// What interpreted calls must have taken before compiling their code is
/// due, for a compilation that takes (or is estimated to take)
/// `compiling`: [`RENT_FACTOR`] times that.
fn price(compiling: std::time::Duration) -> std::time::Duration {
    compiling * RENT_FACTOR
}

/// Compiled code does not make a call free, only faster: a call that took
/// `t` interpreted saves about a third of it compiled (the suite's mean
/// speed-up is ~1.5x, and the time a call took includes its callees',
/// compiled or not). Compiling pays for itself once the calls after it have
/// saved what it took, so the time interpreted calls took is weighed
/// against three times the compilation's (rent until it has paid the
/// price, the ski-rental rule, with the rent counted as what compiling
/// would have saved). Measured against 1x (and code with loops whose first
/// call was short compiled at the threshold's count whatever its calls
/// took): a pyperf worker's peak RSS 0.4-2.2 MB lower (its compiled code
/// 0.9 -> 0.5 MB in nbody's: argparse, pathlib, `importlib.metadata` run a
/// few dozen times at start-up), `lib2to3`'s run 0.936x -> 0.956x of plain,
/// the benchmarks' timed loops unchanged.
const RENT_FACTOR: u32 = 3;

/// The time its timed interpreted calls took, with the time so far of
/// those still running: in a deep recursion no call returns before the
/// deepest, and each interpreted level nests a C-level call of the
/// interpreter (with a frame evaluator set, CPython inlines no Python call),
/// so waiting for returns would run out of C stack where the interpreter
/// alone recurses as deep as the recursion limit allows.
fn waited_so_far(s: &CodeState) -> std::time::Duration {
    s.waited
        + s.waiting
            .map_or(std::time::Duration::ZERO, |(since, _)| since.elapsed())
}

/// How long compiling `instructions` bytecode instructions is likely to
/// take: at the average of this process's compilations so far.
fn compile_estimate(instructions: u32) -> std::time::Duration {
    let per_instruction = match COMPILE_NS_PER_INSTRUCTION.load(Ordering::Relaxed) {
        0 => 1_000,
        ns => ns,
    };
    std::time::Duration::from_nanos(instructions as u64 * per_instruction)
}

/// The average compile time per bytecode instruction so far, in ns (0:
/// nothing compiled yet).
static COMPILE_NS_PER_INSTRUCTION: AtomicU64 = AtomicU64::new(0);

/// See [`rent_paid`].
static THRESHOLD_RENT: AtomicBool = AtomicBool::new(true);

/// Whether code with a loop is called for the first time, and should be
/// counted ([`osr::count_first_call`]) or, where that cannot be, compiled
/// right away ([`hot_loop_likely`]), not while a module is being
/// imported: code that runs at import time (building a table, compiling a
/// regular expression, making a class) runs once, briefly, and is cheaper
/// to interpret. Such code waits for the threshold as code without loops
/// does, but its first call outside an import is compiled as a first call
/// is (lib2to3: 65 of the 162 functions with loops first called in the
/// run, 45 % of their bytecode, were called first during an import). So
/// does code first called by the interpreter itself ([`no_python_caller`]:
/// `python -c pass` compiled `linecache`'s registration of its source).
unsafe fn compile_first_call(
    s: &mut CodeState,
    ts: *mut PyThreadState,
    frame: *mut Frame,
    code: *mut PyCodeObject,
) -> bool {
    if !s.loops || !(s.calls == 1 || s.first_call_deferred) || !hot_loop_likely(frame, code) {
        return false;
    }
    s.first_call_deferred = importing(ts) || (is_function(code) && no_python_caller(ts));
    !s.first_call_deferred
}

/// Whether no Python code is running on this thread below the call about
/// to start: the function is called by the interpreter itself, at start-up
/// or shutdown (`python -c` registering its source with `linecache`,
/// `atexit` callbacks, `threading._shutdown`, finalizers), or by an
/// embedding application. Such calls run once, briefly; a program's own
/// functions have its main module's frame (or a thread's) below them. Only
/// asked of functions: the main module's code itself has nothing below it.
unsafe fn no_python_caller(ts: *mut PyThreadState) -> bool {
    !executables(ts).any(|e| pyo3::ffi::PyCode_Check(e.cast()) != 0)
}

/// What the frames on thread `ts`'s stack execute, innermost first: code
/// objects, and `None` for the interpreter's entry frames from C.
unsafe fn executables(ts: *mut PyThreadState) -> impl Iterator<Item = *mut PyObject> {
    let mut f = *current_frame(ts);
    std::iter::from_fn(move || {
        if f.is_null() {
            return None;
        }
        // SAFETY: a frame on the thread's stack, which holds the GIL; the
        // stack does not change while the caller walks it.
        let (executable, previous) = unsafe { ((*f).f_executable, (*f).previous) };
        f = previous;
        Some(executable)
    })
}

/// Whether `code` is a function's (`CO_OPTIMIZED`: fast locals), not a
/// module's or a class body's.
unsafe fn is_function(code: *mut PyCodeObject) -> bool {
    field::<i32>(code.cast(), off::CODE_CO_FLAGS) as i64 & consts::CO_OPTIMIZED != 0
}

/// Whether a module is being imported on this thread: a frame of
/// importlib's bootstrap (`_find_and_load`, `_call_with_frames_removed`,
/// which runs the module's code) is on the stack.
unsafe fn importing(ts: *mut PyThreadState) -> bool {
    executables(ts).any(|code| {
        pyo3::ffi::PyCode_Check(code.cast()) != 0
            && utf8(code_obj_field(code.cast(), off::CODE_CO_FILENAME))
                == Some(&b"<frozen importlib._bootstrap>"[..])
    })
}

/// Whether `code` is `importlib._bootstrap._find_and_load`, which every
/// import of a module not yet in `sys.modules` runs (`import`,
/// `__import__`, `importlib.import_module`).
unsafe fn import_entry(code: *mut PyCodeObject) -> bool {
    utf8(code_obj_field(code.cast(), off::CODE_CO_NAME)) == Some(&b"_find_and_load"[..])
        && utf8(code_obj_field(code.cast(), off::CODE_CO_FILENAME))
            == Some(&b"<frozen importlib._bootstrap>"[..])
}

/// Whether an import (a call of [`import_entry`]'s function) runs with the
/// hook lifted: one made while another import runs (a module's imports
/// of the libraries it uses), when [`lifting_allowed`]. The module's code
/// and all it calls then run exactly as without jitsaw, at the plain
/// interpreter's speed (with the hook set, CPython inlines no Python call
/// and specializes no `CALL` of a Python function). Import-time code runs
/// once, briefly: a module's top level is never compiled, and code with
/// loops first called during an import waits for a call outside one
/// ([`compile_first_call`]); under the hook it only paid the hook's cost.
/// Not an outermost import: a script may only import its program, whose
/// module runs the work (`python -c "from work import hot"`), and code it
/// runs is to be counted and compiled.
unsafe fn import_unhooked(ts: *mut PyThreadState, code: *mut PyCodeObject) -> bool {
    lifting_allowed(ts) && running(ts, code)
}

/// Whether code with a loop, called for the first time, should be compiled
/// right away: functions, and the main script's top level; not the top
/// level of imported modules or class bodies, which run once and are
/// cheaper to interpret than to compile, nor the code of the interpreter's
/// frozen start-up modules ([`frozen_module_code`]).
unsafe fn hot_loop_likely(frame: *mut Frame, code: *mut PyCodeObject) -> bool {
    if is_function(code) {
        return !frozen_module_code(code);
    }
    let globals = (*frame).f_globals;
    if !is_dict(globals) || (*frame).f_locals != globals {
        return false;
    }
    let name = pyo3::ffi::PyDict_GetItemString(globals.cast(), c"__name__".as_ptr());
    !name.is_null() && pyo3::ffi::PyUnicode_CompareWithASCIIString(name, c"__main__".as_ptr()) == 0
}

/// Whether `code` belongs to one of the modules frozen into the interpreter
/// (`co_filename` `<frozen ...>`: the import system, `site`, `os`,
/// `posixpath`, `codecs`, ...). Their loops run briefly (over `sys.path`
/// entries, a path's parts, a directory's names), mostly while the
/// interpreter starts and imports: compiled at their first calls, they
/// were most of what `python -c pass` compiled under `JITSAW=1` (35
/// functions, a third of its start-up instructions) and freed right after.
/// They wait for the threshold, and pay rent, as code without loops does.
unsafe fn frozen_module_code(code: *mut PyCodeObject) -> bool {
    utf8(code_obj_field(code, off::CODE_CO_FILENAME)).is_some_and(|t| t.starts_with(b"<frozen "))
}

/// How to run a warm-up call, whose point is to let the interpreter quicken
/// the bytecode before compiling it. The first warm-up runs with the hook
/// lifted, so that `CALL`s to Python functions specialize as they do
/// without jitsaw (`dis(..., adaptive=True)` shows the same bytecode), when
/// that window cannot take much from the JIT: only one thread runs (the
/// window is interpreter-wide), the code is not already running further up
/// the stack, and the call is likely short, since everything it runs is
/// interpreted: its first, compiled, call took under [`SHORT_CALL`] (a
/// benchmark harness's measuring loop, unhooked at its second call, kept
/// the JIT off for the whole benchmark). Warm-ups after deopts run under
/// the hook.
unsafe fn warm_up(s: &CodeState, ts: *mut PyThreadState, code: *mut PyCodeObject) -> Decision {
    if warms_up_unhooked(s, ts, code) {
        Decision::WarmUp
    } else {
        Decision::Interpret
    }
}

/// Whether a warm-up call (see [`warm_up`]) runs with the hook lifted: its
/// first, compiled, call took under [`SHORT_CALL`] and [`may_lift_hook`].
unsafe fn warms_up_unhooked(
    s: &CodeState,
    ts: *mut PyThreadState,
    code: *mut PyCodeObject,
) -> bool {
    s.first_run.is_some_and(|t| t < SHORT_CALL) && may_lift_hook(s, ts, code)
}

/// Whether an interpreted call of `s`'s code may run with the hook lifted
/// (as [`warm_up`]'s first warm-up does), judged by everything but how long
/// the call is likely to take: counting mode is off, the code has not been
/// compiled from specialized bytecode yet, only one thread runs (the window
/// is interpreter-wide) and the code is not already running in the nearest
/// [`RECURSION_LOOK`] frames up the stack (an outer call of a recursion
/// could last long).
unsafe fn may_lift_hook(s: &CodeState, ts: *mut PyThreadState, code: *mut PyCodeObject) -> bool {
    !s.requickened
        && lifting_allowed(ts)
        && !executables(ts)
            .take(RECURSION_LOOK)
            .any(|e| e == code.cast())
}

/// The frames up the stack [`may_lift_hook`] looks through for an outer
/// call of the code: a recursion's nearest outer call is as many frames up
/// as its cycle is long, and the question is asked at every call of a
/// function without loops or calls that waits to be compiled. Walking the
/// whole stack made such a call 387 ns at a depth of 100 and 3.8 us at 400;
/// 132 and 124 ns now (114 at the top of the stack; plain 43).
const RECURSION_LOOK: usize = 16;

/// Whether the hook may be lifted at all now: counting mode (which counts
/// what the interpreter runs through the hook) is off and only one thread
/// runs (a window is interpreter-wide).
unsafe fn lifting_allowed(ts: *mut PyThreadState) -> bool {
    !COUNTING.load(Ordering::Relaxed) && runtime::sole_thread(interp(ts).cast()).is_some()
}

/// Whether a frame of `code` is on the thread's stack.
unsafe fn running(ts: *mut PyThreadState, code: *mut PyCodeObject) -> bool {
    executables(ts).any(|e| e == code.cast())
}

/// Whether an interpreted call of a function without loops that calls and
/// imports nothing runs with the hook lifted: the interpreter then
/// specializes its property loads and `__getitem__` of classes, and keeps
/// them, as without jitsaw (under a frame evaluator it neither makes those
/// nor runs them: they deopt, and after their cooldown fall back to the
/// generic instruction; CPython's `test_type_cache` checks a property's).
/// Such code reaches other Python code only through those and operators
/// (a getter, a dunder method), which the window runs interpreted, compiled
/// or not; it also skips the hook's cost. Not for generator functions (their calls
/// only make the generator), nor for a module's or class's body (a script
/// whose top level only imports the program would run all of it unhooked),
/// nor when [`may_lift_hook`] says no.
unsafe fn leaf_unhooked(s: &CodeState, ts: *mut PyThreadState, code: *mut PyCodeObject) -> bool {
    !s.loops && !s.calls_out && !s.generator && is_function(code) && may_lift_hook(s, ts, code)
}

/// The first compiled call's duration under which a warm-up call runs
/// unhooked.
const SHORT_CALL: std::time::Duration = std::time::Duration::from_millis(5);

/// Interpreted calls after which the bytecode is specialized: CPython
/// specializes an instruction on its second execution.
fn warmup_calls(s: &CodeState) -> u32 {
    if s.loops {
        1
    } else {
        2
    }
}

/// Generic fallbacks (at least one per [`RECOMPILE_CALLS_PER_FALLBACK`]
/// calls on average) after which code is compiled again, doubling with
/// each recompilation.
const RECOMPILE_FALLBACKS: u32 = 64;

/// Calls per generic fallback at most, on average, for code to be compiled
/// again: fallbacks (the generic instruction, ~150 instructions more than
/// an adaptive operator's fast path) at one call in four soon cost more than
/// the recompilation, which happens once. (At one per call, a method whose
/// `factor * self.x` was specialized for ints and then met floats at 90 % of
/// its calls kept falling back.)
const RECOMPILE_CALLS_PER_FALLBACK: u32 = 4;

/// Whether the compiled code's guards fail so often that it should be
/// compiled again (see [`note_fallbacks`]).
#[inline]
fn falls_back_often(s: &CodeState, c: &Compiled) -> bool {
    let (total, _) = c.fallback_runs();
    total >= RECOMPILE_FALLBACKS << s.recompiles.min(16)
        && u64::from(total) * u64::from(RECOMPILE_CALLS_PER_FALLBACK) >= s.calls_since_compile
}

/// Recompiles code whose specializations keep failing: the instructions
/// that fell back most are compiled in their generic form (the interpreter
/// has not re-specialized them, since the compiled code ran instead), except
/// global loads, whose slot is looked up afresh. Generic attribute accesses
/// keep per-site caches (`runtime::attr_cache`), which serve the class's new
/// version (raytrace's `Vector.__init__`) or several classes.
unsafe fn note_fallbacks(s: &mut CodeState, code: *mut PyCodeObject) {
    let Some(c) = s.compiled.last() else { return };
    if !matches!(s.status, Status::Compiled { .. }) || !falls_back_often(s, c) {
        return;
    }
    // The instructions that fell back at least an eighth as often as the
    // one that fell back most (not an eighth of all fallbacks: a loop of
    // many alike instructions, 400 unpackings meeting lists, falls back at
    // each alike).
    let per_inst: Vec<u32> = c.fallback_runs().1.collect();
    let most = per_inst.iter().copied().max().unwrap_or(0);
    let mut recompile = false;
    for (&(offset, op), &hits) in c.opcodes.iter().zip(&per_inst) {
        if hits == 0 || hits.saturating_mul(8) < most {
            continue;
        }
        let now = opcode_at(code, offset);
        match deopt(op) {
            // Looked up afresh by the recompilation.
            opcode::LOAD_GLOBAL => recompile = true,
            // A loop kept in words whose words keep leaving (a branch they
            // do not do taken often, locals not what its operators were
            // specialized for): compiled without words first, keeping the
            // head's specialization.
            _ if c.words_heads.contains(&offset) && !s.no_words.contains(&offset) => {
                s.no_words.push(offset);
                recompile = true;
            }
            // A call whose inlined body's words for ints keep leaving
            // (floats given where the callee saw ints): its ints computed
            // as of either kind first, keeping the body.
            _ if c.int_word_bodies.contains(&offset) && !s.either_kinds.contains(&offset) => {
                s.either_kinds.push(offset);
                recompile = true;
            }
            // Other instructions, attribute sites included (a site whose
            // type changed version or that sees several types): compiled
            // generic, their per-site cache serves every type it meets
            // (re-specializing by the interpreter would serve one).
            _ if now == op && !s.generic.contains(&offset) => {
                s.generic.push(offset);
                recompile = true;
            }
            // The interpreter specialized it again since (a warm-up or
            // deopted call saw other types: raytrace's `factor * self.x`
            // went from int to float): the recompilation takes the new
            // form, and if that keeps failing too, the generic one.
            _ if now != op => recompile = true,
            _ => {}
        }
    }
    s.recompiles += 1;
    if !recompile {
        // Nothing to change: look again after twice as many fallbacks.
        return;
    }
    s.set_status(Status::Requicken(0));
    INVALIDATIONS[0].fetch_add(1, Ordering::Relaxed);
}

/// The code object [`quicken_due`] last heard of (0: none), which compiled
/// code need not tell again (`jitsaw_quicken_reported`).
static QUICKEN_REPORTED: AtomicUsize = AtomicUsize::new(0);

/// Lets compiled code of `code` report due counters again, if it was the
/// last to.
fn forget_reported(code: *mut PyCodeObject) {
    if QUICKEN_REPORTED.load(Ordering::Relaxed) == code as usize {
        QUICKEN_REPORTED.store(0, Ordering::Relaxed);
    }
}

/// The opcode at code unit `offset` of `code`'s bytecode now.
///
/// # Safety
/// `code` is a live code object and `offset` one of its instructions.
unsafe fn opcode_at(code: *mut PyCodeObject, offset: u32) -> u8 {
    (*code_units(code).add(offset as usize) & 0xFF) as u8
}

/// Whether the instruction at `offset`, which compiled code has without its
/// fast paths for never having run (`Compiled::cold`), has run since: its
/// counter moved. Worth compiling again then, with the fast paths or the
/// interpreter's specialization.
///
/// # Safety
/// `code` is a live code object with an adaptive instruction at `offset`.
unsafe fn cold_ran(code: *mut PyCodeObject, offset: u32) -> bool {
    *code_units(code).add(offset as usize + 1) != consts::ADAPTIVE_COUNTER_WARMUP as u16
}

/// Where [`QUICKEN_REPORTED`] is, for `_QUICKEN`.
pub fn quicken_reported_address() -> usize {
    QUICKEN_REPORTED.as_ptr() as usize
}

/// Compiled code of `frame`'s code, which has loops, ran an instruction
/// whose first specialization is due (`_QUICKEN`). Only the interpreter
/// specializes, and a path the code's first calls did not take would stay
/// unspecialized otherwise, on its generic path for good. In recursive code
/// the frame deopts (true), the interpreter finishing it: an inner call,
/// while its outer ones keep running compiled (`pprint`'s `_safe_repr`
/// under a long list). Otherwise a later call is interpreted
/// ([`respecialize_due`]). Either way the code is compiled again if its
/// bytecode changed; both only now and then ([`RESPECIALIZE_CALLS`]).
///
/// # Safety
/// The GIL is held; `frame` is a live frame of compiled code.
pub unsafe fn quicken_due(frame: *mut Frame) -> bool {
    let code = (*frame).f_executable;
    let Some(state) = state_of(code.cast()) else {
        QUICKEN_REPORTED.store(code as usize, Ordering::Relaxed);
        return false;
    };
    let s = &mut *state;
    if osr::again(frame, s, code.cast()) {
        return true;
    }
    if matches!(s.status, Status::Compiled { provisional: false })
        && !s.generator
        && s.respecialize_calls < RESPECIALIZE_LIMIT_CALLS
        && s.recompiles < RESPECIALIZE_LIMIT
    {
        if recursive(frame) {
            if s.calls >= s.respecialize_after {
                note_respecialize_call(s);
                return true;
            }
            // Inner frames will tell again, one of them after enough calls.
            return false;
        }
        s.respecialize_wanted = true;
    }
    QUICKEN_REPORTED.store(code as usize, Ordering::Relaxed);
    false
}

/// Whether a frame of `frame`'s code is running a few frames up.
unsafe fn recursive(frame: *mut Frame) -> bool {
    let code = (*frame).f_executable;
    let mut f = (*frame).previous;
    for _ in 0..RECURSION_LOOKS {
        if f.is_null() {
            return false;
        }
        if (*f).f_executable == code {
            return true;
        }
        f = (*f).previous;
    }
    false
}

/// Frames [`recursive`] looks up.
const RECURSION_LOOKS: usize = 8;

/// Counts a call (or the rest of one) run in the interpreter for
/// [`quicken_due`], and spaces the next.
fn note_respecialize_call(s: &mut CodeState) {
    s.respecialize_wanted = false;
    s.respecialize_calls += 1;
    s.respecialize_after = s.calls.saturating_add(u64::from(
        RESPECIALIZE_CALLS << s.respecialize_calls.min(16),
    ));
}

/// Whether this call of `s`'s code is to be interpreted for
/// [`quicken_due`]: wanted, and enough calls since the last one (twice as
/// many after each), so that such calls stay a small share. Direct calls
/// ask at most every [`FALLBACK_CHECK_CALLS`]th call, through
/// [`needs_a_look`].
#[inline(always)]
fn respecialize_due(s: &CodeState) -> bool {
    s.respecialize_wanted && s.calls >= s.respecialize_after
}

/// Runs a call [`respecialize_due`] chose in the interpreter, then compiles
/// the code again at its next call if the interpreter specialized something.
unsafe fn interpret_to_respecialize(
    ts: *mut PyThreadState,
    frame: *mut Frame,
    state: *mut CodeState,
    code: *mut PyCodeObject,
) -> *mut PyObject {
    let s = &mut *state;
    note_respecialize_call(s);
    let before = s.compiled.last().map(|c| &**c as *const Compiled);
    // The call's frame holds the code only until it returns.
    let code_ref = new_ref(code.cast());
    let result = interpreter(ts, frame, 0);
    let s = &mut *state;
    if let (Status::Compiled { provisional: false }, Some(c)) = (&s.status, s.compiled.last()) {
        if before == Some(&**c as *const Compiled) {
            let changed = c
                .opcodes
                .iter()
                .any(|&(offset, op)| opcode_at(code, offset) != op)
                || c.cold.iter().any(|&offset| cold_ran(code, offset));
            if changed {
                recompile_respecialized(s);
            } else {
                // Let its compiled code report again.
                forget_reported(code);
            }
        }
    }
    decref(code_ref);
    result
}

/// Has `s`'s code compiled again at its next call or resumption, from the
/// interpreter's newer specializations: a recompilation, counted.
fn recompile_respecialized(s: &mut CodeState) {
    s.set_status(Status::Requicken(0));
    s.recompiles += 1;
    INVALIDATIONS[1].fetch_add(1, Ordering::Relaxed);
}

/// Calls interpreted for [`quicken_due`]'s reports per code object at most
/// (the last after thousands of calls, see [`RESPECIALIZE_CALLS`]).
const RESPECIALIZE_LIMIT_CALLS: u32 = 8;
/// Calls before the first call interpreted for [`quicken_due`]; twice as
/// many before each next one.
const RESPECIALIZE_CALLS: u32 = 16;

/// Recompilations after which a change in the interpreter's specialization
/// alone no longer causes one (each keeps its code alive).
const RESPECIALIZE_LIMIT: u32 = 8;

/// Failed guards at one instruction after which it is compiled generically.
const GENERIC_AFTER_DEOPTS: u32 = 16;
/// Deopts at frame-object checks after which code is compiled without
/// facts about locals across Python code, and at the class checks of
/// fallbacks after which it is compiled without keeping class checks
/// across fallbacks.
const FACT_CHECK_DEOPTS: u32 = 8;

/// Counts a failed guard at instruction offset `at`; code that deopts on a
/// large share of its calls is recompiled, from the interpreter's newer
/// specializations and with the guards that kept failing made generic.
unsafe fn note_deopt(state: *mut CodeState, at: u32) {
    let s = &mut *state;
    if let (Status::Compiled { .. }, Some(c)) = (&s.status, s.compiled.last()) {
        let frame = c.frame_checks.contains(&at);
        if frame || c.class_checks.contains(&at) {
            // Its frames have frame objects (a traceback passed, a caller
            // looked at it), or a fallback's code changed a local's class
            // (more likely: a site sees several classes). Once too often,
            // compile it again without facts about locals across Python
            // code, or without class checks kept across fallbacks; the
            // latter, which is about fallbacks, does not count as a
            // recompilation (which would double the fallbacks the next one
            // waits for).
            let deopts = if frame {
                &mut s.frame_object_deopts
            } else {
                &mut s.class_check_deopts
            };
            *deopts += 1;
            if *deopts == FACT_CHECK_DEOPTS && s.recompiles < RESPECIALIZE_LIMIT {
                s.set_status(Status::Requicken(0));
                s.recompiles += u32::from(frame);
                INVALIDATIONS[1].fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        // The interpreter specialized the instruction differently (its
        // counter was due, or the specialization compiled failed), or an
        // instruction compiled without its fast paths ran (due, whether its
        // specialization failed or not): compile the new form at the next
        // call.
        if let Some(&(offset, op)) = c.inst_at(at).map(|i| &c.opcodes[i]) {
            let code = s.code as *mut PyCodeObject;
            let now = opcode_at(code, offset);
            let changed = now != op && deopt(now) == deopt(op);
            if (changed || (c.cold.contains(&offset) && cold_ran(code, offset)))
                && s.recompiles < RESPECIALIZE_LIMIT
            {
                if s.generator && !respecialize_spaced(s) && !recompile_paid_for(s) {
                    s.respecialize_pending = true;
                    return;
                }
                recompile_respecialized(s);
                return;
            }
        }
    }
    match s.deopt_sites.iter_mut().find(|(offset, _)| *offset == at) {
        Some((_, n)) => *n += 1,
        None => s.deopt_sites.push((at, 1)),
    }
    s.deopts = s.deopts.saturating_add(1);
    let threshold = RECOMPILE_DEOPTS << s.recompiles.min(16);
    if s.deopts >= threshold && u64::from(s.deopts) * 4 > s.calls_since_compile {
        if let Status::Compiled { .. } = s.status {
            s.set_status(Status::Requicken(warmup_calls(s)));
            s.recompiles += 1;
            INVALIDATIONS[2].fetch_add(1, Ordering::Relaxed);
            for &(offset, n) in &s.deopt_sites {
                if n >= GENERIC_AFTER_DEOPTS && !s.generic.contains(&offset) {
                    s.generic.push(offset);
                }
            }
        }
    }
}

/// Compiles `code` and records the result in `s`.
unsafe fn compile(
    s: &mut CodeState,
    ts: *mut PyThreadState,
    frame: *mut Frame,
    code: *mut PyCodeObject,
    version: u64,
) -> Option<*const Compiled> {
    if crate::arena::in_use() >= CODE_LIMIT.load(Ordering::Relaxed) {
        // Stay interpreted for now; freed code makes room again.
        CODE_LIMIT_HITS.fetch_add(1, Ordering::Relaxed);
        return None;
    }
    if crate::memory::low() || waiting_for_code_memory() {
        // Memory ran out (see `memory`): compiling, which allocates the
        // most, waits until the reserve can be taken again, or for a while
        // after the code arena could not get memory.
        LOW_MEMORY_WAITS.fetch_add(1, Ordering::Relaxed);
        return None;
    }
    // The micro-op tables, built at the process's first compilation, are
    // not part of what compiling this code costs: that compilation's time
    // per instruction (20x the rest) would make `compile_estimate` ask code
    // without loops for 20x its price until more compilations came.
    crate::uops::Uop::_NOP.stencil();
    // Nor is the runtime's set-up, also done once, by the first compilation
    // (a failure is the build's to report).
    let _ = runtime::runtime();
    let started = Instant::now();
    let mut input = code_input(code, version);
    input.globals_version = keys_version((*frame).f_globals);
    input.builtins_version = keys_version((*frame).f_builtins);
    input.generic = s.generic.clone();
    input.no_words = s.no_words.clone();
    input.either_kinds = s.either_kinds.clone();
    // A deopt in a generator only hands the interpreter the frame until its
    // next yield, so a due counter may deopt even in a loop.
    // In counting mode the interpreter's bytecode is re-instrumented at every
    // interpreted call, which resets counters: due counters would deopt
    // again and again, so they do not deopt there.
    input.loops = (s.loops && !s.generator) || COUNTING.load(Ordering::Relaxed);
    input.report_due = s.loops && !s.generator && !COUNTING.load(Ordering::Relaxed);
    // Likely provisional (see below): a long call is entered again (`osr`),
    // once.
    input.long_loops = input.report_due
        && !s.requickened
        && s.calls <= 2
        && s.osr_entries == 0
        && !s.osr_compiling;
    // After two interpreted calls (code that cannot be provisional), what
    // they never ran is likely cold. Code with loops compiled for its first
    // call (provisional) runs what is outside its loops once. Not in
    // generators, compiled at their first call.
    input.compact_cold = !s.generator && (s.calls > 2 || s.requickened || s.loops);
    // Its new code reports its own due counters.
    s.respecialize_wanted = false;
    forget_reported(code);
    read_names(
        &mut input,
        ts,
        frame,
        (*frame).f_globals,
        (*frame).f_builtins,
        code,
    );
    input.local_facts = s.local_facts();
    input.class_facts = s.class_facts();
    input.propagate_types = s.propagate_types();
    if input.propagate_types {
        input.known_objects = known_objects(&input);
    }
    input.executed_counter = COUNTING
        .load(Ordering::Relaxed)
        .then_some((&raw const runtime::EXECUTED) as u64);
    input.chaos = runtime::chaos_enabled();
    if profile::enabled() && s.profile.is_null() {
        s.profile = profile::new(code);
    }
    if !s.profile.is_null() {
        input.run_counters = Some((*s.profile).run_counters());
    }
    // Counts are per instruction of the code's own: an inlined callee's
    // would be its caller's `CALL`'s.
    if input.executed_counter.is_some() || input.run_counters.is_some() {
        input.inline_calls.clear();
    }
    let dump_uops = DUMP_UOPS.load(Ordering::Relaxed);
    let mut stages = String::new();
    let built = build(&input, &mut |stage, program| {
        if dump_uops {
            stages += &format!("  -- micro-ops after {stage}\n");
            stages += &dump::uops(program);
        }
    });
    let (program, compiled) = match built {
        Ok((p, c)) => (p, Box::new(c)),
        Err(BuildError::Refused(Refusal::Never(reason))) => {
            stats::refused(&reason);
            s.set_status(Status::Never);
            return None;
        }
        Err(BuildError::Refused(Refusal::NotNow(_))) => return None,
        Err(BuildError::NoRuntime(reason)) => {
            stats::refused(&format!("runtime: {reason}"));
            s.set_status(Status::Never);
            return None;
        }
        Err(BuildError::Codegen(reason)) => {
            stats::refused(&format!("codegen: {reason}"));
            s.set_status(Status::Never);
            return None;
        }
        Err(BuildError::NoMemory(_)) => {
            // Not this code's fault: it stays as it was, and nothing is
            // compiled for a while.
            LOW_MEMORY_WAITS.fetch_add(1, Ordering::Relaxed);
            *CODE_MEMORY_RETRY.lock().unwrap() = Some(Instant::now() + CODE_MEMORY_RETRY_AFTER);
            return None;
        }
    };
    // The interpreter specializes an instruction on its second execution:
    // code compiled after fewer interpreted calls is compiled again once
    // the interpreter has quickened it (later changes come through deopts).
    let provisional = !s.requickened && !s.generator && s.calls <= 2 && unspecialized(&program);
    s.compile_time = started.elapsed();
    s.compiled_at = Some(Instant::now());
    {
        let mut st = stats::COMPILE.lock().unwrap();
        st.compiled += 1;
        st.uops += program.uops.len() as u64;
        st.code_bytes += compiled.size as u64;
        st.instructions += program.insts.len() as u64;
        st.instructions_inlined += u64::from(program.inlined_instructions);
        st.calls_inlined += program
            .uops
            .iter()
            .filter(|u| {
                matches!(
                    u.op,
                    crate::uops::Uop::_CHECK_CALLEE | crate::uops::Uop::_CHECK_KNOWN_CALLEE
                )
            })
            .count() as u64;
        st.compile_ns += s.compile_time.as_nanos() as u64;
        COMPILE_NS_PER_INSTRUCTION.store(st.compile_ns / st.instructions.max(1), Ordering::Relaxed);
        // `RETURN_GENERATOR` is left to the interpreter by design (compiled
        // generator code starts at its resumption points).
        for u in program.uops.iter().filter(|u| {
            u.op == crate::uops::Uop::_DEOPT
                && program.insts[u.inst as usize].opcode != opcode::RETURN_GENERATOR
        }) {
            let name = frontend::name(program.insts[u.inst as usize].opcode);
            *st.unsupported.entry(name.to_string()).or_default() += 1;
        }
    }
    let dump_asm = DUMP_ASM.load(Ordering::Relaxed);
    if dump_uops || dump_asm {
        let mut text = format!("jitsaw: compiled {}\n", qualname(code));
        if dump_uops {
            text += &stages;
        }
        if dump_asm {
            text += &dump::asm(&compiled);
        }
        eprint!("{text}");
    }
    if PERF_MAP.load(Ordering::Relaxed) {
        perf_map_entry(code, &compiled);
    }
    if !s.profile.is_null() {
        (*s.profile).compiled(&program, compiled.size);
    }
    // Dumped already; kept, the pieces would outweigh the code.
    let mut compiled = compiled;
    compiled.pieces = Vec::new();
    compiled.stubs = Vec::new();
    compiled.located = true;
    let ptr = &*compiled as *const Compiled;
    runtime::location::register(ptr);
    let burns = !compiled.burned.is_empty();
    s.compiled.push(compiled);
    if burns {
        runtime::watch::register(ptr, code as usize);
    }
    s.set_status(Status::Compiled { provisional });
    s.deopts = 0;
    s.deopt_sites.clear();
    s.calls_since_compile = 0;
    s.respecialize_pending = false;
    free_superseded(s, code);
    Some(ptr)
}

/// Frees the compilations of `code` older than the newest when nothing can
/// be running them: no frame of `code` is on any thread's frame stack (a
/// frame runs compiled code only while linked there, or in a `_POP_FRAME`
/// that unlinked it and is releasing its locals, which
/// `runtime::releasing_locals` tells). Compiled code found through caches
/// (call sites, resumptions) is checked against the epoch the status
/// change just moved on, and suspended generators resume in the newest
/// code, so superseded code is otherwise unreachable. Kept for a later
/// compilation to free when a frame might run it.
unsafe fn free_superseded(s: &mut CodeState, code: *mut PyCodeObject) {
    if s.compiled.len() < 2 || runtime::releasing_locals() || on_a_frame_stack(code) {
        return;
    }
    let newest = s.compiled.pop();
    for old in s.compiled.drain(..) {
        runtime::watch::forget(&old);
        SUPERSEDED_FREED.fetch_add(old.size as u64, Ordering::Relaxed);
    }
    s.compiled.extend(newest);
}

/// Keeps the provisional code a long call went on in (a first call's or a
/// warm-up's, entered at a loop) for good, as code compiled after a
/// warm-up is, freeing the code it superseded.
///
/// # Safety
/// The GIL is held; `code` is the live code object of `s`.
unsafe fn keep_for_good(s: &mut CodeState, code: *mut PyCodeObject) {
    s.set_status(Status::Compiled { provisional: false });
    s.requickened = true;
    free_superseded(s, code);
}

/// Frees provisional code once the call it was compiled for has returned:
/// no later call runs it (the next are interpreted, so that the bytecode
/// quickens, then the code is compiled again), and kept, it would live as
/// long as the code object; most of it is code of loops in functions that
/// run once, at start-up. Kept while a frame might still run it (see
/// [`free_superseded`]); call sites that learned it see the epoch move.
/// Code a long first call went on in ([`went_on_compiled`]) is kept for
/// good instead.
unsafe fn retire_provisional(s: &mut CodeState, code: *mut PyCodeObject) {
    if !matches!(s.status, Status::Compiled { provisional: true })
        || s.generator
        || s.compiled.is_empty()
    {
        return;
    }
    if went_on_compiled(s) {
        keep_for_good(s, code);
        return;
    }
    if runtime::releasing_locals() || on_a_frame_stack(code) {
        return;
    }
    for old in s.compiled.drain(..) {
        runtime::watch::forget(&old);
        PROVISIONAL_FREED.fetch_add(old.size as u64, Ordering::Relaxed);
    }
    bump_direct_epoch();
}

/// Bytes of provisional machine code freed after its call (see
/// [`retire_provisional`]).
pub static PROVISIONAL_FREED: AtomicU64 = AtomicU64::new(0);

/// Bytes of superseded machine code freed (see [`free_superseded`]).
pub static SUPERSEDED_FREED: AtomicU64 = AtomicU64::new(0);

/// Whether a frame of `code` is on the frame stack of any thread.
unsafe fn on_a_frame_stack(code: *mut PyCodeObject) -> bool {
    let interp = pyo3::ffi::PyInterpreterState_Get();
    let mut t = pyo3::ffi::PyInterpreterState_ThreadHead(interp);
    while !t.is_null() {
        if running(t.cast(), code) {
            return true;
        }
        t = pyo3::ffi::PyThreadState_Next(t);
    }
    false
}

/// Why [`build`] made no code.
enum BuildError {
    Refused(Refusal),
    Codegen(String),
    NoRuntime(String),
    /// The code arena could not get memory (the address space or memory
    /// ran out): the code may be compiled later.
    NoMemory(String),
}

/// Whether compiling waits for code memory (see [`CODE_MEMORY_RETRY`]):
/// until the wait after the last failure is over.
fn waiting_for_code_memory() -> bool {
    let mut retry = CODE_MEMORY_RETRY.lock().unwrap();
    match *retry {
        Some(at) if Instant::now() < at => true,
        Some(_) => {
            *retry = None;
            false
        }
        None => false,
    }
}

/// The pipeline: frontend, optimizer, code generator. `trace` sees the
/// micro-ops after each stage (for dumps).
fn build(
    input: &CodeInput,
    trace: &mut dyn FnMut(&str, &crate::uops::Program),
) -> Result<(crate::uops::Program, Compiled), BuildError> {
    let program = frontend::lower(input).map_err(BuildError::Refused)?;
    trace("frontend", &program);
    let mut program = optimize::optimize_traced(program, trace);
    if let Some(bytes) =
        codegen::largest_loop_code(&program).filter(|&b| b > codegen::MAX_LOOP_CODE)
    {
        return Err(BuildError::Refused(Refusal::Never(format!(
            "a loop of {} KiB of code (the interpreter runs one this long faster)",
            bytes >> 10
        ))));
    }
    if input.debug {
        program = optimize::depth::check_stack_depth(program);
        trace("check_stack_depth", &program);
    }
    // Counting mode and profiles count micro-ops (profiles without
    // `sys.monitoring`, so the counts are those of specialized code).
    if input.executed_counter.is_some() || input.run_counters.is_some() {
        let counters = runtime::uop_counters().as_ptr() as u64;
        program = optimize::count_uops(program, counters);
        trace("count_uops", &program);
    }
    let rt = runtime::runtime().map_err(BuildError::NoRuntime)?;
    let mut exit_counter = runtime::exit_counter;
    let mut linker = Linker {
        symbols: &rt.symbols,
        exit_counter: &mut exit_counter,
        anchor: rt.anchor,
    };
    let compiled = codegen::compile(&program, &mut linker).map_err(|e| match e {
        codegen::CodegenError::OutOfMemory(r) => BuildError::NoMemory(r),
        codegen::CodegenError::Unsupported(r) => BuildError::Codegen(r),
    })?;
    Ok((program, compiled))
}

/// `jitsaw.dump(function)`: compiles the code object as it would be
/// compiled now, with `globals` and `builtins` for its global loads, and
/// returns its bytecode, its micro-ops after each stage and its machine
/// code, without installing the code.
///
/// # Safety
/// The GIL is held, `code` is a code object, `globals` and `builtins` are
/// objects.
pub unsafe fn dump_code(
    ts: *mut PyThreadState,
    code: *mut PyCodeObject,
    globals: *mut PyObject,
    builtins: *mut PyObject,
) -> Result<String, String> {
    let version = instrumentation_version(ts);
    let mut input = code_input(code, version);
    input.globals_version = keys_version(globals);
    input.builtins_version = keys_version(builtins);
    // Code never run yet shows what its compilation would be once warm.
    input.local_facts = true;
    input.class_facts = true;
    input.propagate_types = true;
    if let Some(state) = STATES.get().get(&(code as usize)) {
        input.generic = state.generic.clone();
        input.no_words = state.no_words.clone();
        input.either_kinds = state.either_kinds.clone();
        input.loops = state.loops && !state.generator;
        input.local_facts = state.local_facts();
        input.class_facts = state.class_facts();
        input.propagate_types = state.propagate_types();
    }
    read_names(
        &mut input,
        ts,
        std::ptr::null_mut(),
        globals,
        builtins,
        code,
    );
    if input.propagate_types {
        input.known_objects = known_objects(&input);
    }
    let mut text = format!("jitsaw: {}\n", qualname(code));
    let built = build(&input, &mut |stage, program| {
        text += &format!("  -- micro-ops after {stage}\n");
        text += &dump::uops(program);
    });
    match built {
        Ok((_, compiled)) => {
            text += "  -- machine code\n";
            text += &dump::asm(&compiled);
            Ok(text)
        }
        Err(BuildError::Refused(Refusal::Never(r) | Refusal::NotNow(r))) => {
            Err(format!("{} cannot be compiled: {r}", qualname(code)))
        }
        Err(BuildError::Codegen(r) | BuildError::NoRuntime(r) | BuildError::NoMemory(r)) => Err(r),
    }
}

/// Whether the program was built from bytecode the interpreter has not
/// specialized yet (a generic instruction that has specialized forms).
fn unspecialized(program: &crate::uops::Program) -> bool {
    program
        .insts
        .iter()
        .any(|i| frontend::is_adaptive(i.opcode))
}

/// The code object's bytecode as a slice.
unsafe fn code_units_slice<'a>(code: *mut PyCodeObject) -> &'a [u16] {
    std::slice::from_raw_parts(code_units(code), ob_size(code.cast()) as usize)
}

/// What the code's global loads, attribute loads of them and method calls
/// find now (`globals`, `known_globals`, `known_attrs`, `trivial_calls`),
/// from one decoding of the bytecode (each had decoded it: 6 % of
/// compiling).
unsafe fn read_names(
    input: &mut CodeInput,
    ts: *mut PyThreadState,
    frame: *mut Frame,
    globals: *mut PyObject,
    builtins: *mut PyObject,
    code: *mut PyCodeObject,
) {
    let insts = frontend::decode(&input.units).unwrap_or_default();
    let loads = frontend::global_loads(&insts);
    input.globals = global_slots(ts, globals, builtins, code, &loads);
    input.known_globals = known_globals(globals, builtins, code, &insts, &loads);
    input.known_attrs = known_attrs(code, &input.units, &insts, &input.known_globals);
    input.trivial_calls = trivial_calls(&input.units, &insts);
    input.inline_calls = inline_calls(input, &insts, ts, frame, globals, builtins, false);
}

/// Where each global load of `code` finds its name in the frame's globals
/// or builtins now (CPython's `_Py_Specialize_LoadGlobal`, done when
/// compiling so it is current even if the interpreter's cache is not).
unsafe fn global_slots(
    ts: *mut PyThreadState,
    globals: *mut PyObject,
    builtins: *mut PyObject,
    code: *mut PyCodeObject,
    loads: &[(u32, u32)],
) -> Vec<(u32, frontend::GlobalSlot)> {
    if !is_dict(globals) || !is_dict(builtins) {
        return Vec::new();
    }
    let names = code_obj_field(code, off::CODE_CO_NAMES);
    loads
        .iter()
        .filter_map(|&(offset, name)| {
            global_slot(ts, globals, builtins, tuple_item(names, name as usize))
                .map(|slot| (offset, slot))
        })
        .collect()
}

/// Whether `d` is an exact dict whose keys are all `str`: looking a name
/// up in it runs no Python code.
unsafe fn str_keyed_dict(d: *mut PyObject) -> bool {
    is_dict(d)
        && dict_keys_is_unicode((*d.cast::<jitsaw_cpython313::layout::PyDictObject>()).ma_keys)
}

/// The values global loads of `code` find now, for names that may be
/// burned in: found in exact dicts with only `str` keys (looking them up
/// runs no Python code, so nothing changes before the dicts are watched),
/// not stored by the code itself, and not known to change often.
unsafe fn known_globals(
    globals: *mut PyObject,
    builtins: *mut PyObject,
    code: *mut PyCodeObject,
    insts: &[Inst],
    loads: &[(u32, u32)],
) -> Vec<KnownGlobal> {
    if !str_keyed_dict(globals) || !str_keyed_dict(builtins) {
        return Vec::new();
    }
    let names = code_obj_field(code, off::CODE_CO_NAMES);
    let stored = frontend::global_stores(insts);
    // `PyDict_GetItem` leaves the exception being raised alone (a
    // generator compiled as `throw()` resumes it has one).
    let lookup = |d: *mut PyObject, name: *mut PyObject| {
        pyo3::ffi::PyDict_GetItem(d.cast(), name.cast()).cast::<PyObject>()
    };
    loads
        .iter()
        .filter(|(_, index)| !stored.contains(index))
        .filter_map(|&(offset, index)| {
            let name = tuple_item(names, index as usize);
            if !is_str(name) || !runtime::watch::burnable(globals, name) {
                return None;
            }
            let (value, builtins) = match lookup(globals, name) {
                v if !v.is_null() => (v, std::ptr::null_mut()),
                _ if runtime::watch::burnable(builtins, name) => (lookup(builtins, name), builtins),
                _ => return None,
            };
            (!value.is_null()).then(|| KnownGlobal {
                offset,
                name: name as u64,
                value: value as u64,
                immortal: is_immortal(value),
                globals: globals as u64,
                builtins: builtins as u64,
            })
        })
        .collect()
}

/// The attributes that specialized `LOAD_ATTR_MODULE`s and
/// `LOAD_ATTR_CLASS`es of `code` find now, for those that may be burned in:
/// right after a known global (`known`), not loaded for a call, or after
/// such an attribute (`os.path.join`).
unsafe fn known_attrs(
    code: *mut PyCodeObject,
    units: &[u16],
    insts: &[Inst],
    known: &[KnownGlobal],
) -> Vec<KnownAttr> {
    let names = code_obj_field(code, off::CODE_CO_NAMES);
    let mut attrs: Vec<KnownAttr> = Vec::new();
    for w in insts.windows(2) {
        let (before, load) = (&w[0], &w[1]);
        let owner = if deopt(before.opcode) == opcode::LOAD_GLOBAL {
            // A global loaded for a call pushes a `NULL` after it.
            (before.oparg & 1 == 0)
                .then(|| known.iter().find(|g| g.offset == before.offset))
                .flatten()
                .map(|g| g.value)
        } else {
            attrs
                .last()
                .filter(|a| a.offset == before.offset && !a.method)
                .map(|a| a.value)
        };
        let Some(owner) = owner.map(|o| o as *mut PyObject) else {
            continue;
        };
        let name = tuple_item(names, (load.oparg >> 1) as usize);
        let found = match load.opcode {
            opcode::LOAD_ATTR_MODULE => module_attr(owner, name),
            opcode::LOAD_ATTR_CLASS => class_attr(owner, units, load),
            _ => None,
        };
        if let Some((dict, version, value)) = found {
            attrs.push(KnownAttr {
                offset: load.offset,
                owner: owner as u64,
                dict: dict as u64,
                version,
                name: name as u64,
                value: value as u64,
                immortal: is_immortal(value),
                method: load.oparg & 1 != 0,
            });
        }
    }
    attrs
}

/// The calls of the code that `_CALL_TRIVIAL` can make (see
/// [`frontend::TrivialCall`]): `obj.method()` where the method load's cache
/// holds a plain function of the version the call's cache expects, taking
/// `self` only, whose body returns `self` or an immortal constant
/// (`runtime::trivial_body`, as the runtime's frameless calls).
unsafe fn trivial_calls(units: &[u16], insts: &[Inst]) -> Vec<frontend::TrivialCall> {
    let mut calls = Vec::new();
    for w in insts.windows(2) {
        let (load, call) = (&w[0], &w[1]);
        if call.opcode != opcode::CALL_PY_EXACT_ARGS
            || call.oparg != 0
            || !matches!(
                load.opcode,
                opcode::LOAD_ATTR_METHOD_WITH_VALUES
                    | opcode::LOAD_ATTR_METHOD_NO_DICT
                    | opcode::LOAD_ATTR_METHOD_LAZY_DICT
            )
        {
            continue;
        }
        // The method load's cached function: the operand of its
        // `_LOAD_ATTR_METHOD_*` micro-op, whichever of the three it has.
        let descr = frontend::cache_operands(units, load).and_then(|ops| {
            ops.into_iter()
                .find(|&(u, _)| {
                    matches!(
                        u,
                        Uop::_LOAD_ATTR_METHOD_WITH_VALUES
                            | Uop::_LOAD_ATTR_METHOD_NO_DICT
                            | Uop::_LOAD_ATTR_METHOD_LAZY_DICT
                    )
                })
                .map(|(_, v)| v)
        });
        // The call's cache: a counter, then the function's version.
        let at = call.offset as usize + 2;
        let version = units[at] as u64 | (units[at + 1] as u64) << 16;
        let Some(descr) = descr else {
            continue;
        };
        let func = descr as *mut PyObject;
        if func.is_null()
            || version == 0
            || !is_type(func, &raw mut PyFunction_Type)
            || field::<u32>(func.cast(), off::FUNC_VERSION) as u64 != version
        {
            continue;
        }
        let code = field::<*mut PyCodeObject>(func.cast(), off::FUNC_CODE);
        if plain_positional_args(code) != Some(1) {
            continue;
        }
        let trivial = runtime::trivial_body(code);
        let index = (trivial & 0xFFFF) as usize;
        let result = if trivial & runtime::TRIVIAL_ARG != 0 {
            0
        } else if trivial & runtime::TRIVIAL_CONST != 0 {
            let value = tuple_item(code_obj_field(code, off::CODE_CO_CONSTS), index);
            if !is_immortal(value) {
                continue;
            }
            value as u64
        } else {
            continue;
        };
        calls.push(frontend::TrivialCall {
            offset: call.offset,
            version: version as u32,
            result,
        });
    }
    calls
}

/// The calls of the code whose callee `optimize::inline` may run in the
/// caller (see [`frontend::InlineCall`]): `obj.method(args)` or
/// `function(args)`, where the method load's cache or the global holds a
/// plain function (or a global class, a static method: [`static_method`])
/// whose parameters are all positional, with few other locals and no cells,
/// without handlers, local monitoring or instrumentation other than the
/// code's, and a short body. Not in generators and coroutines, whose
/// frames are not on the thread's frame stack, above which the callee's
/// values go.
unsafe fn inline_calls(
    input: &CodeInput,
    insts: &[Inst],
    ts: *mut PyThreadState,
    frame: *mut Frame,
    globals: *mut PyObject,
    builtins: *mut PyObject,
    nested: bool,
) -> Vec<frontend::InlineCall> {
    let mut calls = Vec::new();
    if input.flags as i64 & GENERATOR_FLAGS != 0 || !INLINE.load(Ordering::Relaxed) {
        return calls;
    }
    // The globals the caller stores: its bodies do not burn them in (each
    // store would invalidate the caller's code), as the caller does not.
    let stored: Vec<u64> = frontend::global_stores(insts)
        .into_iter()
        .filter_map(|i| input.names.get(i as usize).copied())
        .collect();
    for (j, call) in insts.iter().enumerate() {
        if !matches!(
            call.opcode,
            opcode::CALL
                | opcode::CALL_PY_EXACT_ARGS
                | opcode::CALL_ALLOC_AND_ENTER_INIT
                | opcode::CALL_NON_PY_GENERAL
        ) {
            continue;
        }
        let Some(load_at) = frontend::callable_load(insts, j) else {
            continue;
        };
        let load = &insts[load_at];
        let method_loads = [
            Uop::_LOAD_ATTR_METHOD_WITH_VALUES,
            Uop::_LOAD_ATTR_METHOD_NO_DICT,
            Uop::_LOAD_ATTR_METHOD_LAZY_DICT,
        ];
        // A method's function, in its load's cache; or a function, the
        // global's value now (a `LOAD_GLOBAL` pushing `NULL` after it).
        let method_func = frontend::cache_operands(&input.units, load).and_then(|ops| {
            ops.into_iter()
                .find(|(u, _)| method_loads.contains(u))
                .map(|(_, v)| v as *mut PyObject)
        });
        let global_func = (deopt(load.opcode) == opcode::LOAD_GLOBAL && load.oparg & 1 != 0)
            .then(|| input.known_globals.iter().find(|g| g.offset == load.offset))
            .flatten()
            .map(|g| g.value as *mut PyObject);
        let (mut func, method) = match (method_func, global_func) {
            (Some(f), _) => (f, true),
            (None, Some(f)) => (f, false),
            (None, None) => match static_method(input, insts, load_at) {
                Some(f) => (f, false),
                None => continue,
            },
        };
        // A class call: its `__init__`, with the instance as `self`.
        let init = if !method && is_type(func, &raw mut PyType_Type) {
            let Some(init) = class_init_call(func) else {
                continue;
            };
            func = init.function as *mut PyObject;
            Some(init)
        } else {
            None
        };
        let nargs = call.oparg + (method || init.is_some()) as u32;
        let Some((callee, code, stacksize)) =
            inline_callee(input, ts, globals, builtins, func, nargs, nested, &stored)
        else {
            continue;
        };
        calls.push(frontend::InlineCall {
            site: crate::uops::InlineSite {
                offset: call.offset,
                code: code as u64,
                stacksize,
                method,
                init,
                getitem: None,
                binary: false,
            },
            callee,
        });
    }
    calls.extend(inline_slot_methods(
        input, insts, ts, frame, globals, builtins, &stored,
    ));
    calls
}

/// For a method call's load at `load_at` (`LOAD_ATTR`, unspecialized) of
/// an attribute of a global holding a class (`Strength.weaker(a, b)`,
/// which CPython 3.13 does not specialize): the function of a static
/// method the class has of the name now, borrowed (the static method
/// holds it), which the call calls with `NULL` for `self`.
unsafe fn static_method(
    input: &CodeInput,
    insts: &[Inst],
    load_at: usize,
) -> Option<*mut PyObject> {
    let load = &insts[load_at];
    let owner = &insts[load_at.checked_sub(1)?];
    if deopt(load.opcode) != opcode::LOAD_ATTR
        || load.oparg & 1 == 0
        || deopt(owner.opcode) != opcode::LOAD_GLOBAL
        || owner.oparg & 1 != 0
    {
        return None;
    }
    let class = input
        .known_globals
        .iter()
        .find(|g| g.offset == owner.offset)?
        .value as *mut PyObject;
    let name = *input.names.get((load.oparg >> 1) as usize)? as *mut PyObject;
    if type_flags(ob_type(class)) & consts::TPFLAGS_TYPE_SUBCLASS == 0 {
        return None;
    }
    let attr = _PyType_Lookup(class.cast(), name);
    if attr.is_null() || !is_type(attr, &raw mut PyStaticMethod_Type) {
        return None;
    }
    // `staticmethod.__get__`: its callable (a new reference; C, no code).
    let get = field::<Option<runtime::attr_cache::DescrGet>>(
        ob_type(attr).cast(),
        off::TYPE_TP_DESCR_GET,
    )?;
    let func = get(attr, std::ptr::null_mut(), class);
    if func.is_null() {
        PyErr_Clear();
        return None;
    }
    decref(func);
    Some(func)
}

/// The code of `func`, a plain function called with `nargs` arguments, to
/// inline at a call ([`inline_calls`]) as `frontend::inline_body` reads it,
/// with its code object and `co_stacksize`: its parameters all positional
/// and all passed, few other locals and no cells, without handlers, local
/// monitoring or instrumentation other than the caller's, and a short
/// body; its global loads and pure calls found in the caller's globals and
/// builtins where they are the function's, and unless `nested` (the callee
/// is itself another's), the calls it may inline in turn
/// (`frontend::inline_body`: its class calls, method and function calls)
/// and the values of its globals (but those the caller `stored`).
#[allow(clippy::too_many_arguments)]
unsafe fn inline_callee(
    input: &CodeInput,
    ts: *mut PyThreadState,
    globals: *mut PyObject,
    builtins: *mut PyObject,
    func: *mut PyObject,
    nargs: u32,
    nested: bool,
    stored: &[u64],
) -> Option<(Box<CodeInput>, *mut PyCodeObject, u32)> {
    if func.is_null() || !runtime::is_plain_function(func) {
        return None;
    }
    let code = field::<*mut PyCodeObject>(func.cast(), off::FUNC_CODE);
    let field_of = |at| field::<i32>(code.cast(), at) as u32;
    let stacksize = field_of(off::CODE_CO_STACKSIZE);
    // Locals of its own beyond its parameters, but no cells.
    let nlocals = field_of(off::CODE_CO_NLOCALSPLUS);
    if plain_positional_args(code) != Some(nargs)
        || field_of(off::CODE_CO_NLOCALS) != nlocals
        || nlocals > nargs + MAX_INLINED_LOCALS
        || field_of(off::CODE_CO_FLAGS) as i64 & GENERATOR_FLAGS != 0
        || !runtime::exception_table(code).is_empty()
        || !field::<*mut u8>(code.cast(), off::CODE_MONITORING).is_null()
        || field::<u64>(code.cast(), off::CODE_INSTRUMENTATION_VERSION) != input.version
        || stacksize > MAX_INLINED_STACK
        || ob_size(code.cast()) as usize > 4 * frontend::MAX_CALLEE_INSTRUCTIONS
    {
        return None;
    }
    let mut callee = code_input(code, input.version);
    let callee_insts = frontend::decode(&callee.units).unwrap_or_default();
    // Its global loads find the caller's frame's globals: where those
    // are the function's, they are specialized as the caller's are.
    if field::<*mut PyObject>(func.cast(), off::FUNC_GLOBALS) == globals
        && field::<*mut PyObject>(func.cast(), off::FUNC_BUILTINS) == builtins
    {
        let loads = frontend::global_loads(&callee_insts);
        callee.globals = global_slots(ts, globals, builtins, code, &loads);
        callee.globals_version = keys_version(globals);
        callee.builtins_version = keys_version(builtins);
        callee.pure_calls = pure_calls(globals, builtins, code, &callee_insts);
        if !nested {
            callee.known_globals = known_globals(globals, builtins, code, &callee_insts, &loads);
            callee.known_globals.retain(|g| !stored.contains(&g.name));
            callee.known_attrs =
                known_attrs(code, &callee.units, &callee_insts, &callee.known_globals);
            let values = callee.known_globals.iter().map(|g| g.value);
            let values = values.chain(callee.known_attrs.iter().map(|a| a.value));
            callee.known_words = values
                .filter_map(|v| object_word(v as *mut PyObject).map(|(w, float)| (v, w, float)))
                .collect();
            callee.inline_calls = inline_calls(
                &callee,
                &callee_insts,
                ts,
                std::ptr::null_mut(),
                globals,
                builtins,
                true,
            );
        }
    }
    Some((Box::new(callee), code, stacksize))
}

/// The subscripts and binary operators of the code whose class's method
/// `optimize::inline` may run in the caller:
/// - `container[sub]` where the container is a local that holds (or will
///   hold, [`predicted_local`]), in the compiling `frame`, an instance of a
///   class defining `__getitem__` in Python; the class's version, checked
///   at run time, vouches for that method being the one subscripting its
///   instances calls (`slot_mp_subscript`);
/// - `left op right` (`+ - * /`, not in place) where the left operand is
///   such a local, or a plain attribute of one, holding an instance of a
///   class defining the method in Python (`__sub__`); both operands are
///   checked at run time to be of that class (`_CHECK_BINARY_CLASSES`),
///   whose version vouches for the method (`slot_nb_subtract`);
///
/// each method a plain function of two parameters that [`inline_callee`]
/// takes.
unsafe fn inline_slot_methods(
    input: &CodeInput,
    insts: &[Inst],
    ts: *mut PyThreadState,
    frame: *mut Frame,
    globals: *mut PyObject,
    builtins: *mut PyObject,
    stored: &[u64],
) -> Vec<frontend::InlineCall> {
    let mut calls = Vec::new();
    if frame.is_null() {
        return calls;
    }
    for (j, inst) in insts.iter().enumerate() {
        let binary = inst.opcode == opcode::BINARY_OP;
        let operand = match inst.opcode {
            opcode::BINARY_SUBSCR | opcode::BINARY_SUBSCR_GETITEM => {
                frontend::subscript_container(insts, j).map(|local| (local, None))
            }
            opcode::BINARY_OP => frontend::binary_left_operand(insts, j),
            _ => None,
        };
        let Some((local, attr)) = operand else {
            continue;
        };
        let mut owner = predicted_local(input, insts, frame, local);
        if let (false, Some(name)) = (owner.is_null(), attr) {
            let Some(&name) = input.names.get(name as usize) else {
                continue;
            };
            owner = runtime::attr_cache::peek_attr(owner, name as *mut PyObject)
                .unwrap_or(std::ptr::null_mut());
        }
        if owner.is_null() {
            continue;
        }
        let func = if binary {
            runtime::python_binary_function(owner, inst.oparg as i64)
        } else {
            runtime::python_getitem_function(owner)
        };
        let Some(func) = func else {
            continue;
        };
        calls.extend(slot_call(
            input,
            ts,
            globals,
            builtins,
            inst.offset,
            owner,
            func,
            binary,
            stored,
        ));
    }
    calls
}

/// The inlined call of `func`, the method of `owner`'s class that the
/// instruction at `offset` (a subscript, or a binary operator where
/// `binary`) runs with its two operands, if [`inline_callee`] takes it.
#[allow(clippy::too_many_arguments)]
unsafe fn slot_call(
    input: &CodeInput,
    ts: *mut PyThreadState,
    globals: *mut PyObject,
    builtins: *mut PyObject,
    offset: u32,
    owner: *mut PyObject,
    func: *mut PyObject,
    binary: bool,
    stored: &[u64],
) -> Option<frontend::InlineCall> {
    let tp = ob_type(owner);
    let class_version = type_version(tp);
    let function_version = field::<u32>(func.cast(), off::FUNC_VERSION);
    if class_version == 0 || function_version == 0 {
        return None;
    }
    // (A binary operator's method may have calls inlined in turn: a
    // `__sub__` making its result, `Vector(...)`.)
    let (callee, code, stacksize) =
        inline_callee(input, ts, globals, builtins, func, 2, !binary, stored)?;
    Some(frontend::InlineCall {
        site: crate::uops::InlineSite {
            offset,
            code: code as u64,
            stacksize,
            method: false,
            init: None,
            getitem: Some(crate::uops::ClassCallee {
                class: tp as u64,
                class_version,
                function: func as u64,
                function_version,
            }),
            binary,
        },
        callee,
    })
}

/// The object local `local` of `frame` holds, or, while it is unbound (the
/// frame of a call compiled at its start), the one its only assignment in
/// the code (`insts`) would store now where that is a plain attribute of
/// a bound local (`done = pos.done`, read without running code); NULL for
/// anything else. A prediction only, for [`inline_slot_methods`].
unsafe fn predicted_local(
    input: &CodeInput,
    insts: &[Inst],
    frame: *mut Frame,
    local: u32,
) -> *mut PyObject {
    let value = *frame_local(frame, local as usize);
    if !value.is_null() {
        return value;
    }
    let mut stores = insts
        .iter()
        .enumerate()
        .filter(|(_, i)| i.opcode == opcode::STORE_FAST && i.oparg == local);
    let (Some((at, _)), None) = (stores.next(), stores.next()) else {
        return std::ptr::null_mut();
    };
    let (Some(load), Some(attr)) = (
        at.checked_sub(2).map(|k| &insts[k]),
        at.checked_sub(1).map(|k| &insts[k]),
    ) else {
        return std::ptr::null_mut();
    };
    if load.opcode != opcode::LOAD_FAST
        || deopt(attr.opcode) != opcode::LOAD_ATTR
        || attr.oparg & 1 != 0
    {
        return std::ptr::null_mut();
    }
    let owner = *frame_local(frame, load.oparg as usize);
    let Some(&name) = input.names.get((attr.oparg >> 1) as usize) else {
        return std::ptr::null_mut();
    };
    if owner.is_null() {
        return std::ptr::null_mut();
    }
    runtime::attr_cache::peek_attr(owner, name as *mut PyObject).unwrap_or(std::ptr::null_mut())
}

/// For a call of class `cls` whose `__init__` may be inlined: a plain class
/// (type `type`, instances from `object.__new__` and `PyType_GenericAlloc`,
/// not abstract: `runtime::plain_class_init`) without a finalizer (an
/// instance the inlined code made and gave up on is freed without running
/// code), whose `__init__` only ever returns `None` (its returns are all
/// `return None`), with the versions the entry checks.
unsafe fn class_init_call(cls: *mut PyObject) -> Option<crate::uops::ClassCallee> {
    let (function, code) = runtime::plain_class_init(cls)?;
    if field::<usize>(cls.cast(), off::TYPE_TP_FINALIZE) != 0
        || field::<usize>(cls.cast(), off::TYPE_TP_DEL) != 0
    {
        return None;
    }
    let consts = code_obj_field(code, off::CODE_CO_CONSTS);
    let units = code_units_slice(code);
    let returns_none = frontend::decode(units)
        .ok()?
        .iter()
        .all(|i| match i.opcode {
            opcode::RETURN_VALUE => false,
            opcode::RETURN_CONST => tuple_item(consts, i.oparg as usize) == none(),
            _ => true,
        });
    let class_version = type_version(cls.cast());
    let function_version = field::<u32>(function.cast(), off::FUNC_VERSION);
    (returns_none && class_version != 0 && function_version != 0).then_some(
        crate::uops::ClassCallee {
            class: cls as u64,
            class_version,
            function: function as u64,
            function_version,
        },
    )
}

/// The functions of `math` that compute from one float alone (an int
/// converted by its own `__float__`, in C): called with an exact float or
/// int, they run no Python code and change nothing.
const PURE_MATH: &[&[u8]] = &[
    b"acos",
    b"acosh",
    b"asin",
    b"asinh",
    b"atan",
    b"atanh",
    b"cbrt",
    b"cos",
    b"cosh",
    b"degrees",
    b"erf",
    b"erfc",
    b"exp",
    b"exp2",
    b"expm1",
    b"fabs",
    b"gamma",
    b"isfinite",
    b"isinf",
    b"isnan",
    b"lgamma",
    b"log10",
    b"log1p",
    b"log2",
    b"radians",
    b"sin",
    b"sinh",
    b"sqrt",
    b"tan",
    b"tanh",
];

/// The `CALL_BUILTIN_O`s of an inlined callee (`insts`, of `code`, whose
/// globals and builtins are these) that call, through a global load or
/// one of the global `math`'s attributes, a function of [`PURE_MATH`] of
/// the `math` module: by the `CALL`'s offset, the method definition of the
/// function its global holds now (`_CALL_BUILTIN_O_PURE` checks the
/// function called has it, and the argument's type).
unsafe fn pure_calls(
    globals: *mut PyObject,
    builtins: *mut PyObject,
    code: *mut PyCodeObject,
    insts: &[Inst],
) -> Vec<(u32, u64)> {
    if !str_keyed_dict(globals) || !str_keyed_dict(builtins) {
        return Vec::new();
    }
    // Each call's function: a global's name (`sqrt(x)`), or a global's and
    // its attribute's (`math.sqrt(x)`).
    let calls: Vec<(u32, usize, Option<usize>)> = insts
        .iter()
        .enumerate()
        .filter(|(_, i)| i.opcode == opcode::CALL_BUILTIN_O && i.oparg == 1)
        .filter_map(|(j, call)| {
            let load_at = frontend::callable_load(insts, j)?;
            let load = &insts[load_at];
            let global = |i: &Inst, null| {
                (deopt(i.opcode) == opcode::LOAD_GLOBAL && i.oparg & 1 == null)
                    .then_some((i.oparg >> 1) as usize)
            };
            if let Some(name) = global(load, 1) {
                return Some((call.offset, name, None));
            }
            // The attribute pushing the `NULL` after it, or a `PUSH_NULL`.
            let (attr_at, null) = match load.opcode {
                opcode::PUSH_NULL => (load_at.checked_sub(1)?, 0),
                _ => (load_at, 1),
            };
            let attr = &insts[attr_at];
            let module = global(insts.get(attr_at.checked_sub(1)?)?, 0)?;
            (deopt(attr.opcode) == opcode::LOAD_ATTR && attr.oparg & 1 == null).then_some((
                call.offset,
                module,
                Some((attr.oparg >> 1) as usize),
            ))
        })
        .collect();
    if calls.is_empty() {
        return Vec::new();
    }
    // The module as imported (no import runs here; borrowed from
    // `sys.modules`, a dict of `str` keys).
    let modules = pyo3::ffi::PyImport_GetModuleDict();
    let math = pyo3::ffi::PyDict_GetItemString(modules, c"math".as_ptr()).cast::<PyObject>();
    if math.is_null() {
        return Vec::new();
    }
    let names = code_obj_field(code, off::CODE_CO_NAMES);
    // Dicts with only `str` keys (a module's: `math`'s): the lookups run no
    // code.
    let get = |d: *mut PyObject, name: usize| -> *mut PyObject {
        pyo3::ffi::PyDict_GetItem(d.cast(), tuple_item(names, name).cast()).cast()
    };
    calls
        .into_iter()
        .filter_map(|(offset, name, attr)| {
            let mut value = get(globals, name);
            if value.is_null() {
                value = get(builtins, name);
            }
            if let Some(attr) = attr {
                if value != math {
                    return None;
                }
                value = get(pyo3::ffi::PyModule_GetDict(math.cast()).cast(), attr);
            }
            (!value.is_null() && pure_math_function(value, math)).then(|| {
                let def = (*value.cast::<jitsaw_cpython313::layout::PyCFunctionObject>()).m_ml;
                (offset, def as u64)
            })
        })
        .collect()
}

/// Whether `f` is a function of [`PURE_MATH`] of the module `math`.
unsafe fn pure_math_function(f: *mut PyObject, math: *mut PyObject) -> bool {
    use jitsaw_cpython313::layout::PyCFunctionObject;
    if !is_type(f, &raw mut PyCFunction_Type) {
        return false;
    }
    let f = f.cast::<PyCFunctionObject>();
    let def = (*f).m_ml;
    (*f).m_self == math
        && !def.is_null()
        && (*def).ml_flags == consts::METH_O as i32
        && !(*def).ml_name.is_null()
        && PURE_MATH.contains(&std::ffi::CStr::from_ptr((*def).ml_name.cast()).to_bytes())
}

/// Callees needing more stack than this are not inlined.
const MAX_INLINED_STACK: u32 = 16;

/// The most locals beyond its parameters a callee inlined may have (each
/// is pushed unbound at the entry and released at the return).
const MAX_INLINED_LOCALS: u32 = 4;

/// Whether calls are inlined (`JITSAW_INLINE=0` turns it off, to compare).
pub static INLINE: AtomicBool = AtomicBool::new(true);

/// What `LOAD_ATTR_MODULE` of `name` finds in `module`, if it may be burned
/// in: (the module's dict, 0, the value). The module is exact, its dict an
/// exact dict with only `str` keys (looking the name up runs no Python
/// code) that holds the name, which is not a dunder (`__dict__`,
/// `__class__`: the module's type may answer those) nor known to change
/// often.
unsafe fn module_attr(
    module: *mut PyObject,
    name: *mut PyObject,
) -> Option<(*mut PyObject, u32, *mut PyObject)> {
    if !is_type(module, &raw mut jitsaw_cpython313::ffi::PyModule_Type) {
        return None;
    }
    let dict = module_dict(module).cast::<PyObject>();
    if !str_keyed_dict(dict)
        || !is_str(name)
        || is_dunder(name)
        || !runtime::watch::burnable(dict, name)
    {
        return None;
    }
    let value = pyo3::ffi::PyDict_GetItem(dict.cast(), name.cast()).cast::<PyObject>();
    (!value.is_null()).then_some((dict, 0, value))
}

/// What the specialized `LOAD_ATTR_CLASS` `load` reads of `class`, if it
/// may be burned in: (null, the class's version, the attribute its cache
/// holds). Only while the class still has the version the cache was
/// filled for is that attribute alive (and what the instruction would
/// push): the burned-in code checks the version as the instruction does.
unsafe fn class_attr(
    class: *mut PyObject,
    units: &[u16],
    load: &crate::uops::Inst,
) -> Option<(*mut PyObject, u32, *mut PyObject)> {
    let operands = frontend::cache_operands(units, load)?;
    let version = operands
        .iter()
        .find(|(op, _)| *op == crate::uops::Uop::_CHECK_ATTR_CLASS)?
        .1 as u32;
    let value = operands
        .iter()
        .find(|(op, _)| *op == crate::uops::Uop::_LOAD_ATTR_CLASS)?
        .1 as *mut PyObject;
    let is_class = type_flags(ob_type(class)) & consts::TPFLAGS_TYPE_SUBCLASS != 0;
    let current = field::<u32>(class.cast(), off::TYPE_TP_VERSION_TAG);
    (is_class && version != 0 && current == version && !value.is_null()).then_some((
        std::ptr::null_mut(),
        version,
        value,
    ))
}

/// Whether a `str` starts and ends with two underscores. Reads characters
/// at valid indexes only, which cannot raise (an exception may be pending
/// while compiling: a generator compiled as `throw()` resumes it).
unsafe fn is_dunder(name: *mut PyObject) -> bool {
    let n = pyo3::ffi::PyUnicode_GetLength(name.cast());
    let underscore = |i| pyo3::ffi::PyUnicode_ReadChar(name.cast(), i) == u32::from(b'_');
    n >= 4 && underscore(0) && underscore(1) && underscore(n - 2) && underscore(n - 1)
}

/// What type propagation may know of the code's constants and of the
/// globals it may burn in: their exact types, and a tuple's items'.
///
/// # Safety
/// The GIL is held; the addresses in `input` are live objects (held by the
/// code object and the namespaces).
unsafe fn known_objects(input: &CodeInput) -> Vec<KnownObject> {
    let addresses = input.consts.iter().map(|c| c.0);
    let addresses = addresses.chain(input.known_globals.iter().map(|g| g.value));
    let addresses = addresses.chain(input.known_attrs.iter().map(|a| a.value));
    addresses
        .map(|address| {
            let o = address as *mut PyObject;
            let types = types_of(o);
            let items = if types == Types::TUPLE {
                (0..ob_size(o) as usize)
                    .map(|i| types_of(tuple_item(o, i)))
                    .collect()
            } else {
                Vec::new()
            };
            KnownObject {
                address,
                types,
                items,
            }
        })
        .collect()
}

/// The exact type of `o`, as type propagation knows types.
///
/// # Safety
/// The GIL is held and `o` is a live object.
unsafe fn types_of(o: *mut PyObject) -> Types {
    use pyo3::ffi;
    let classes = [
        (&raw mut ffi::PyRange_Type, Types::CLASS_RANGE),
        (&raw mut ffi::PyLong_Type, Types::CLASS_INT),
        (&raw mut ffi::PyFloat_Type, Types::CLASS_FLOAT),
    ];
    if let Some(&(_, t)) = classes.iter().find(|(c, _)| o == c.cast()) {
        return t;
    }
    if o == ffi::Py_None().cast() {
        return Types::NONE;
    }
    let tp = (*o.cast::<ffi::PyObject>()).ob_type;
    let instances = [
        (&raw mut ffi::PyLong_Type, Types::INT),
        (&raw mut ffi::PyFloat_Type, Types::FLOAT),
        (&raw mut ffi::PyBool_Type, Types::BOOL),
        (&raw mut ffi::PyUnicode_Type, Types::STR),
        (&raw mut ffi::PyTuple_Type, Types::TUPLE),
        (&raw mut ffi::PyList_Type, Types::LIST),
        (&raw mut ffi::PyDict_Type, Types::DICT),
        (&raw mut ffi::PyRange_Type, Types::RANGE),
    ];
    instances
        .iter()
        .find(|(c, _)| tp == *c)
        .map_or(Types::OTHER, |&(_, t)| t)
}

/// Whether a name is in a dict, and at which entry.
enum Lookup {
    Found(u32),
    Absent,
}

/// Where `name` is in a unicode-keyed dict. Entries are matched by
/// identity (names are interned); a dict holding an equal but distinct key
/// gives `None`, as does any other doubt.
unsafe fn find_name(dict: *mut PyObject, name: *mut PyObject) -> Option<Lookup> {
    let keys = (*dict.cast::<jitsaw_cpython313::layout::PyDictObject>()).ma_keys;
    if !dict_keys_is_unicode(keys) {
        return None;
    }
    let entries = dict_unicode_entries(keys);
    for i in 0..(*keys).dk_nentries as usize {
        let e = entries.add(i);
        if (*e).me_key == name {
            return (!(*e).me_value.is_null() && i <= u32::MAX as usize)
                .then_some(Lookup::Found(i as u32));
        }
    }
    match jitsaw_cpython313::ffi::PyDict_Contains(dict, name) {
        0 => Some(Lookup::Absent),
        _ => {
            PyErr_Clear();
            None
        }
    }
}

/// `_PyDictKeys_GetVersionForCurrentState`: the keys' version, assigning
/// the interpreter's next one if they have none (0: versions ran out).
unsafe fn keys_version_assigned(ts: *mut PyThreadState, dict: *mut PyObject) -> Option<u32> {
    let keys = (*dict.cast::<jitsaw_cpython313::layout::PyDictObject>()).ma_keys;
    if (*keys).dk_version != 0 {
        return Some((*keys).dk_version);
    }
    let next = field_ptr::<u32>(interp(ts).cast(), off::INTERP_NEXT_KEYS_VERSION);
    if *next == 0 {
        return None;
    }
    let v = *next;
    *next += 1;
    (*keys).dk_version = v;
    Some(v)
}

/// Where a global load of `name` finds it now, if it can be specialized.
unsafe fn global_slot(
    ts: *mut PyThreadState,
    globals: *mut PyObject,
    builtins: *mut PyObject,
    name: *mut PyObject,
) -> Option<frontend::GlobalSlot> {
    match find_name(globals, name)? {
        Lookup::Found(index) => Some(frontend::GlobalSlot {
            builtin: false,
            index,
            globals_version: keys_version_assigned(ts, globals)?,
            builtins_version: 0,
        }),
        Lookup::Absent => match find_name(builtins, name)? {
            Lookup::Found(index) => Some(frontend::GlobalSlot {
                builtin: true,
                index,
                globals_version: keys_version_assigned(ts, globals)?,
                builtins_version: keys_version_assigned(ts, builtins)?,
            }),
            Lookup::Absent => None,
        },
    }
}

/// A dict's keys version (0 if none assigned), or `None` for a non-dict.
unsafe fn keys_version(d: *mut PyObject) -> Option<u32> {
    is_dict(d).then(|| (*(*d.cast::<jitsaw_cpython313::layout::PyDictObject>()).ma_keys).dk_version)
}

/// The word of an int a word holds (its value) or of an exact float (its
/// bits, `true`), as the words pass computes with them; `None` for any
/// other object.
unsafe fn object_word(o: *mut PyObject) -> Option<(i64, bool)> {
    if is_int(o) && long_is_compact(o) {
        Some((long_compact_value(o) as i64, false))
    } else if is_float(o) {
        Some((float_value(o).to_bits() as i64, true))
    } else {
        None
    }
}

/// Copies what the frontend needs out of a live code object.
unsafe fn code_input(code: *mut PyCodeObject, version: u64) -> CodeInput {
    let consts_tuple = code_obj_field(code, off::CODE_CO_CONSTS);
    let (consts, const_words) = (0..ob_size(consts_tuple) as usize)
        .map(|i| {
            let c = tuple_item(consts_tuple, i);
            ((c as u64, is_immortal(c)), object_word(c))
        })
        .unzip();
    let names_tuple = code_obj_field(code, off::CODE_CO_NAMES);
    let names = (0..ob_size(names_tuple) as usize)
        .map(|i| tuple_item(names_tuple, i) as u64)
        .collect();
    let exception_table = runtime::exception_table(code).to_vec();
    CodeInput {
        units: code_units_slice(code).to_vec(),
        exception_table,
        nlocalsplus: field::<i32>(code.cast(), off::CODE_CO_NLOCALSPLUS) as u32,
        framesize: field::<i32>(code.cast(), off::CODE_CO_FRAMESIZE) as u32,
        args: argument_slots(code),
        debug: DEBUG.load(Ordering::Relaxed),
        code_start: code_units(code) as u64,
        flags: field::<i32>(code.cast(), off::CODE_CO_FLAGS) as u32,
        consts,
        const_words,
        names,
        version,
        monitored: !field::<*mut u8>(code.cast(), off::CODE_MONITORING).is_null(),
        ..CodeInput::default()
    }
}

/// Appends compiled code to `/tmp/perf-PID.map` (perf's format for JIT
/// code: start, size, name), so `perf report` names it
/// `jitsaw::<qualname>:<file>:<line>`. A later entry for the same range
/// supersedes an earlier one, as perf reads the file in order.
unsafe fn perf_map_entry(code: *mut PyCodeObject, compiled: &Compiled) {
    use std::io::Write;
    static FILE: std::sync::Mutex<Option<std::fs::File>> = std::sync::Mutex::new(None);
    let mut file = FILE.lock().unwrap();
    if file.is_none() {
        let path = format!("/tmp/perf-{}.map", std::process::id());
        *file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok();
    }
    let Some(f) = file.as_mut() else { return };
    let filename = text(code_obj_field(code, off::CODE_CO_FILENAME));
    let line = field::<i32>(code.cast(), off::CODE_CO_FIRSTLINENO);
    let _ = writeln!(
        f,
        "{:x} {:x} jitsaw::{}:{}:{}",
        compiled.memory.address(),
        compiled.size,
        qualname(code),
        filename,
        line
    );
}

/// A str object's text (lossy), for messages.
pub(crate) unsafe fn text(o: *mut PyObject) -> String {
    utf8(o).map_or("?".into(), |t| String::from_utf8_lossy(t).into_owned())
}

/// A str object's UTF-8 bytes, which it keeps, without a copy (`None`, no
/// error left, if `o` is not a str or cannot be encoded).
unsafe fn utf8<'a>(o: *mut PyObject) -> Option<&'a [u8]> {
    let mut size = 0;
    let p = pyo3::ffi::PyUnicode_AsUTF8AndSize(o.cast(), &mut size);
    if p.is_null() {
        PyErr_Clear();
        return None;
    }
    Some(std::slice::from_raw_parts(p.cast(), size as usize))
}

/// `co_qualname` of a code object, for messages.
unsafe fn qualname(code: *mut PyCodeObject) -> String {
    text(code_obj_field(code, off::CODE_CO_QUALNAME))
}
