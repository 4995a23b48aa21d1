//! Runtime: running frames in compiled code, leaving it, and the helpers
//! stencils call.
//!
//! [`run_frame`] does for a compiled frame what `_PyEval_EvalFrameDefault`
//! does for an interpreted one: it links the frame, keeps the recursion
//! counters, runs the code, and on return pops the frame. Compiled code
//! leaves in one of three ways (see `shared/ARCHITECTURE.md`):
//! - **return**: the result comes back and the frame is popped here;
//! - **deopt**: the interpreter resumes the frame at `instr_ptr`;
//! - **raise**: [`unwind`] does what the interpreter's error path does
//!   (traceback entry, exception table, stack unwinding) and either resumes
//!   compiled code at the handler or pops the frame.

mod async_gen;
pub mod attr_cache;
mod consumers;
mod helpers;
mod operators;
mod slices;
pub use helpers::{generator_from_frame, prepare_call_site, releasing_locals};
pub(crate) use helpers::{
    is_plain_function, plain_class_init, trivial_body, TRIVIAL_ARG, TRIVIAL_CONST,
};
pub(crate) use operators::{python_binary_function, python_getitem_function};
pub mod location;
pub mod watch;

use crate::codegen::{Compiled, ExitReason};
use crate::stencils::{self, STENCILS};
use helpers::helpers;
use jitsaw_cpython313::exception_table::handler_for;
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::inline::*;
use jitsaw_cpython313::layout::{Frame, PyCodeObject, PyObject, PyThreadState};
use jitsaw_cpython313::{consts, off};
use std::hash::Hasher;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use jitsaw_cpython313::shared::{STATUS_DEOPT, STATUS_ERROR, STATUS_RERAISE, STATUS_YIELD};

/// A value only touched with the GIL held.
pub(crate) struct GilCell<T>(std::cell::UnsafeCell<Option<T>>);

// SAFETY: every access happens with the GIL held, which serializes them.
unsafe impl<T> Sync for GilCell<T> {}

impl<T: Default> GilCell<T> {
    pub(crate) const fn new() -> Self {
        GilCell(std::cell::UnsafeCell::new(None))
    }

    /// The value, made on first use.
    ///
    /// # Safety
    /// The GIL is held and no other reference from `get` is alive.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn get(&self) -> &mut T {
        (*self.0.get()).get_or_insert_with(T::default)
    }
}

/// Hashes object addresses and `str` hashes, alone or in tuples (already
/// unique or random; mixing spreads the 16-byte-aligned low bits). Far
/// cheaper than the standard SipHash, which the dict watcher paid at every
/// store to a watched dict.
#[derive(Default)]
pub(crate) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_usize(&mut self, n: usize) {
        // A key's later words mix with the earlier ones (the first alone
        // hashes as it always did).
        self.0 = (self.0.rotate_left(26) ^ (n as u64 >> 4)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The C-ABI entry into compiled code (the `_JIT_ENTRY` stencil).
pub type EntryFn = unsafe extern "C" fn(
    *mut Frame,
    *mut *mut PyObject,
    *mut PyThreadState,
    usize,
) -> *mut PyObject;

/// Everything resolved once per process.
pub struct Runtime {
    /// Addresses of `stencils::SYMBOLS`, in order.
    pub symbols: Vec<usize>,
    /// Where to place code: near libpython.
    pub anchor: usize,
    entry: EntryFn,
    _entry_memory: crate::arena::CodeMemory,
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The runtime, set up on first use; an error names what is missing.
/// Inline: every frame entered in compiled code asks for it.
#[inline]
pub fn runtime() -> Result<&'static Runtime, String> {
    match RUNTIME.get() {
        Some(Ok(rt)) => Ok(rt),
        _ => set_up(),
    }
}

/// The entry into compiled code, if the runtime is set up (it is once
/// any code was compiled): for the quick ways in, which know that.
#[inline(always)]
pub fn entry_fn() -> Option<EntryFn> {
    match RUNTIME.get() {
        Some(Ok(rt)) => Some(rt.entry),
        _ => None,
    }
}

#[cold]
fn set_up() -> Result<&'static Runtime, String> {
    RUNTIME
        .get_or_init(Runtime::new)
        .as_ref()
        .map_err(Clone::clone)
}

impl Runtime {
    fn new() -> Result<Runtime, String> {
        let mut helpers = helpers();
        helpers.sort_unstable_by_key(|&(name, _)| name);
        let symbols = stencils::symbols()
            .zip(stencils::symbol_addresses())
            .map(|(name, address)| {
                let found = match address.0 as usize {
                    0 => helpers
                        .binary_search_by_key(&name, |&(n, _)| n)
                        .ok()
                        .map(|i| helpers[i].1),
                    linked => Some(linked),
                };
                found.ok_or_else(|| format!("jitsaw: cannot resolve symbol {name}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // SAFETY: the runtime is set up with the GIL held (by the first
        // compilation).
        unsafe { consumers::find() };
        let anchor = _PyEval_EvalFrameDefault as *const () as usize;
        let stencil = stencils::by_name("_JIT_ENTRY").ok_or("jitsaw: no entry stencil")?;
        if !stencil.holes().is_empty() {
            return Err("jitsaw: the entry stencil has holes".into());
        }
        let code = stencil.code();
        let mut memory = crate::arena::CodeMemory::new(code.len(), anchor)?;
        memory.bytes_mut()[..code.len()].copy_from_slice(code);
        memory.make_executable()?;
        // SAFETY: the memory now holds `_JIT_ENTRY`, an `extern "C"` function
        // with exactly this signature, and stays mapped for the process.
        let entry = unsafe { std::mem::transmute::<usize, EntryFn>(memory.address()) };
        Ok(Runtime {
            symbols,
            anchor,
            entry,
            _entry_memory: memory,
        })
    }
}

/// `sys.monitoring` tools whose local events compiled code ignores (a bit
/// each; see `jitsaw_ignored_tools` in the stencils).
pub(crate) static IGNORED_TOOLS: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// `JITSAW_CHAOS` state for `_CHAOS`: instructions until the next forced
/// deopt, the mean period, and a xorshift generator's state.
pub(crate) static mut CHAOS: [u64; 3] = [0, 0, 0x9E37_79B9_7F4A_7C15];

/// Sets the `JITSAW_CHAOS` period (0: off).
pub fn set_chaos(period: u32) {
    // SAFETY: called with the GIL held, which serializes `_CHAOS`'s writes.
    unsafe {
        let chaos = &raw mut CHAOS;
        (*chaos)[0] = period as u64;
        (*chaos)[1] = period as u64;
    }
}

/// Whether `JITSAW_CHAOS` is on.
pub fn chaos_enabled() -> bool {
    // SAFETY: a plain read under the GIL.
    unsafe { (&raw const CHAOS).cast::<u64>().add(1).read() != 0 }
}

/// Runs of each micro-op in counting mode, indexed by micro-op number
/// (compiled code adds to them under the GIL: see `optimize::count_uops`).
pub fn uop_counters() -> &'static [AtomicU64] {
    static COUNTERS: OnceLock<Box<[AtomicU64]>> = OnceLock::new();
    COUNTERS.get_or_init(|| {
        (0..crate::uops::Uop::ALL.len())
            .map(|_| AtomicU64::new(0))
            .collect()
    })
}

/// Instructions compiled code ran in counting mode (a `_COUNT_RUN` before
/// each).
pub(crate) static mut EXECUTED: u64 = 0;

/// Exit counters bumped by the exit stubs, indexed by reason.
pub const EXIT_COUNTERS: usize = 4096;
static mut EXIT_COUNTS: [u64; EXIT_COUNTERS] = [0; EXIT_COUNTERS];
static EXIT_REASONS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The counter index for an exit reason, allocating one on first use (the
/// last index collects reasons past the table's size). Indices are cached
/// by reason, since every exit stub of every compilation asks.
pub fn exit_counter(reason: ExitReason) -> u32 {
    const UNSET: u32 = u32::MAX;
    static CACHE: OnceLock<Vec<AtomicU32>> = OnceLock::new();
    let uops = crate::uops::Uop::ALL.len();
    let cache = CACHE.get_or_init(|| (0..2 * uops + 770).map(|_| AtomicU32::new(UNSET)).collect());
    let slot = &cache[match reason {
        ExitReason::Deopt(u) => u as usize,
        ExitReason::Raise(u) => uops + u as usize,
        ExitReason::Unsupported(op) => 2 * uops + op as usize,
        ExitReason::Generic(op) => 2 * uops + 256 + op as usize,
        ExitReason::Invalidated => 2 * uops + 512,
        ExitReason::Words(op) => 2 * uops + 513 + op as usize,
        ExitReason::Materialized => 2 * uops + 769,
    }];
    let cached = slot.load(Ordering::Relaxed);
    if cached != UNSET {
        return cached;
    }
    let name = reason.to_string();
    let mut reasons = EXIT_REASONS.lock().unwrap();
    let index = match reasons.iter().position(|r| *r == name) {
        Some(i) => i as u32,
        None if reasons.len() + 1 >= EXIT_COUNTERS => (EXIT_COUNTERS - 1) as u32,
        None => {
            reasons.push(name);
            (reasons.len() - 1) as u32
        }
    };
    slot.store(index, Ordering::Relaxed);
    index
}

/// Every exit reason with its count so far.
pub fn exit_counts() -> Vec<(String, u64)> {
    let reasons = EXIT_REASONS.lock().unwrap();
    reasons
        .iter()
        .enumerate()
        // SAFETY: counters are only written by compiled code under the GIL,
        // which the caller holds; reading a u64 is atomic on x86-64.
        .map(|(i, r)| {
            (r.clone(), unsafe {
                (&raw const EXIT_COUNTS)
                    .cast::<u64>()
                    .add(i)
                    .read_volatile()
            })
        })
        .collect()
}

/// `_Py_CheckRecursiveCallPy`: raises `RecursionError` past the limit.
unsafe fn check_recursive_call_py(ts: *mut PyThreadState) -> bool {
    let headroom = field_ptr::<i32>(ts.cast(), off::TSTATE_RECURSION_HEADROOM);
    let remaining = *py_recursion_remaining(ts);
    if *headroom != 0 {
        if remaining < -50 {
            pyo3::ffi::Py_FatalError(c"Cannot recover from Python stack overflow.".as_ptr());
        }
    } else if remaining <= 0 {
        *headroom += 1;
        pyo3::ffi::PyErr_SetString(
            pyo3::ffi::PyExc_RecursionError,
            c"maximum recursion depth exceeded".as_ptr(),
        );
        *headroom -= 1;
        return true;
    }
    false
}

/// A counter updated only with the GIL held: a plain load and store, no
/// locked instruction on the hot path.
pub struct Counter(AtomicU64);

impl Counter {
    const fn new() -> Counter {
        Counter(AtomicU64::new(0))
    }

    /// Adds one (the GIL serializes writers).
    pub fn bump(&self) {
        self.0
            .store(self.0.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Where the count is, for stencils that bump it themselves.
    pub fn address(&self) -> usize {
        self.0.as_ptr() as usize
    }

    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Frames (or resumptions) entered in compiled code.
pub static FRAMES_ENTERED: Counter = Counter::new();
/// Calls of functions whose body only returns an argument or a constant,
/// answered without a frame (see `helpers::trivial_body`).
pub static CALLS_WITHOUT_FRAME: Counter = Counter::new();
/// Keyword calls bound from their site's cache (see
/// `helpers::quick_kw_call`).
pub static KEYWORD_CALLS_CACHED: Counter = Counter::new();
/// Calls whose `*args` and `**kwargs` compiled code bound itself (see
/// `helpers::push_star_frame`), without `_PyEvalFramePushAndInit`.
pub static STAR_CALLS_BOUND: Counter = Counter::new();
/// Long first calls entered again in code compiled anew, at a loop's head
/// (`hook::osr`).
pub static LOOPS_ENTERED: Counter = Counter::new();
/// Generators `iter()` in compiled code made without calling the class's
/// `__iter__` (see `helpers::python_iter`).
pub static ITER_GENERATORS: Counter = Counter::new();
/// Instances made and their `__init__` frames pushed by compiled calls of
/// classes (see `helpers::push_init_frame`), without `type_call`.
pub static INITS_ENTERED: Counter = Counter::new();
/// Operator, comparison and subscript methods of classes called directly
/// by compiled `BINARY_OP`s, `COMPARE_OP`s, `BINARY_SUBSCR`s and
/// `STORE_SUBSCR`s, and calls of instances made calls of their class's
/// `__call__` (see `operators`).
pub static OPERATORS_CALLED: Counter = Counter::new();
/// Property getters a compiled attribute load entered directly, and
/// setters a compiled store ran directly.
pub static PROPERTIES_ENTERED: Counter = Counter::new();
/// Generators and coroutines a compiled caller resumed directly.
pub static RESUMED_DIRECTLY: Counter = Counter::new();
/// Levels of `yield from`/`await` chains a yield passed through without
/// running their code (`_YIELD_VALUE`).
pub static YIELDS_PASSED: Counter = Counter::new();
/// Levels of such chains a resumption passed through (`resume_cached`).
pub static SENDS_PASSED: Counter = Counter::new();
/// Imports run with the hook lifted (`hook::import_unhooked`).
pub static IMPORTS_UNHOOKED: Counter = Counter::new();
/// Calls the frame hook handed to the interpreter, by the decision: run
/// under the hook (not yet due, or never compiled), timed as rent towards
/// compiling, run with the hook lifted (a leaf or a warm-up), and first
/// calls counted for an entry at a loop.
pub static CALLS_INTERPRETED: [Counter; 4] = [const { Counter::new() }; 4];
/// What [`CALLS_INTERPRETED`]'s entries count, in order.
pub const INTERPRETED_KINDS: [&str; 4] = ["hooked", "rent", "unhooked", "first_counted"];
/// [`CALLS_INTERPRETED`]'s entry for calls run under the hook.
pub const INTERPRETED_HOOKED: usize = 0;
/// ... for calls timed as rent.
pub const INTERPRETED_RENT: usize = 1;
/// ... for calls run with the hook lifted.
pub const INTERPRETED_UNHOOKED: usize = 2;
/// ... for first calls counted.
pub const INTERPRETED_FIRST_COUNTED: usize = 3;
/// Exits from compiled code to the interpreter.
pub static DEOPTS: Counter = Counter::new();
/// Exceptions raised in compiled code.
pub static RAISES: Counter = Counter::new();

/// Runs a frame in compiled code from instruction `start`, exactly as
/// `_PyEval_EvalFrameDefault(tstate, frame, throw)` would run it: a new
/// frame from its first instruction, or a generator's frame from where it
/// was suspended (with `throw`, the exception `throw()` set is raised
/// there first).
///
/// # Safety
/// The GIL is held, `root` is a frame of the code object `compiled` was made
/// from, not linked into the thread's frame stack, suspended at `start`.
pub unsafe fn run_frame(
    ts: *mut PyThreadState,
    root: *mut Frame,
    compiled: &Compiled,
    rt: &Runtime,
    start: usize,
    throw: bool,
) -> RunOutcome {
    run_at(ts, root, compiled, rt.entry, compiled.entry(start), throw)
}

/// [`run_frame`] from the machine code at `address` (an entry of
/// `compiled`), through `entry`.
///
/// # Safety
/// As for [`run_frame`]; `address` is where the instruction `root` is
/// suspended at starts in `compiled`.
#[inline(always)]
pub unsafe fn run_at(
    ts: *mut PyThreadState,
    root: *mut Frame,
    compiled: &Compiled,
    entry: EntryFn,
    address: usize,
    throw: bool,
) -> RunOutcome {
    // The interpreter's prologue: link the root, count C and Python depth.
    (*root).previous = *current_frame(ts);
    *current_frame(ts) = root;
    let c = c_recursion_remaining(ts);
    *c -= consts::PY_EVAL_C_STACK_UNITS as i32 - 1;
    let c_before = *c;
    *c -= 1;
    if c_before < 0 && _Py_CheckRecursiveCall(ts, c"".as_ptr().cast()) != 0 {
        *c -= 1;
        *py_recursion_remaining(ts) -= 1;
        return RunOutcome::Done(exit_unwind(ts, root));
    }
    let py = py_recursion_remaining(ts);
    let py_before = *py;
    *py -= 1;
    if py_before <= 0 && check_recursive_call_py(ts) {
        return RunOutcome::Done(exit_unwind(ts, root));
    }
    FRAMES_ENTERED.bump();
    if throw {
        return run_on::<false>(ts, root, compiled, entry, STATUS_THROWN);
    }
    let sp = frame_local(root, (*root).stacktop as usize);
    let result = entry(root, sp, ts, address) as usize;
    // The common ends, a yield or a return of the root, here; the rest (in
    // a function of its own, so that this one saves few registers) by
    // `run_on`.
    if *current_frame(ts) == root {
        if result == STATUS_YIELD {
            return RunOutcome::Done(suspend(ts, root));
        }
        if result > STATUS_YIELD && result != STATUS_THROWN {
            return RunOutcome::Done(return_from_root(ts, root, result as *mut PyObject));
        }
    }
    run_on::<false>(ts, root, compiled, entry, result)
}

/// The end of a root frame's run whose compiled code returned `value`: the
/// interpreter's epilogue, then the frame is cleared and popped.
#[inline(always)]
unsafe fn return_from_root(
    ts: *mut PyThreadState,
    root: *mut Frame,
    value: *mut PyObject,
) -> *mut PyObject {
    *py_recursion_remaining(ts) += 1;
    *current_frame(ts) = (*root).previous;
    helpers::helper_clear_and_pop(ts, root);
    *c_recursion_remaining(ts) += consts::PY_EVAL_C_STACK_UNITS as i32;
    value
}

/// The rest of [`run_frame`] after compiled code left with `result`
/// (`STATUS_THROWN` before it ran, for `throw()`): deopts, exceptions
/// unwound to handlers, frames entered directly finished in the
/// interpreter, until the root yields or returns or hands over.
///
/// With `OSR`, the root is a frame the interpreter is running and stays
/// linked and counted as it left it (see [`run_osr`]): where it would be
/// handed to the interpreter or popped, the run ends with
/// [`RunOutcome::Handed`] instead.
#[inline(never)]
unsafe fn run_on<const OSR: bool>(
    ts: *mut PyThreadState,
    root: *mut Frame,
    compiled: &Compiled,
    entry: EntryFn,
    first: usize,
) -> RunOutcome {
    let mut frame = *current_frame(ts);
    let mut target = 0;
    let mut pending = Some(first);
    // The code compiled for a frame: the root's, or the latest of a frame
    // compiled code entered directly.
    let compiled_for = |frame: *mut Frame| {
        if frame == root {
            Some(compiled)
        } else {
            crate::hook::latest_compiled(frame_code(frame))
        }
    };
    loop {
        let result = match pending.take() {
            Some(result) => result,
            None => {
                let sp = frame_local(frame, (*frame).stacktop as usize);
                entry(frame, sp, ts, target) as usize
            }
        };
        // Compiled code leaves from the thread's current frame: the root, or
        // a frame it entered directly from a compiled caller.
        frame = *current_frame(ts);
        match result {
            STATUS_YIELD => {
                debug_assert!(frame == root && !OSR);
                return RunOutcome::Done(suspend(ts, root));
            }
            STATUS_DEOPT if frame == root => {
                DEOPTS.bump();
                let at = offset_of_ip(root);
                crate::hook::note_exit(frame_code(root), at, false);
                let guard = compiled.speculative_deopt(at).then_some(at);
                if OSR {
                    return hand_over(ts, false, guard);
                }
                return RunOutcome::Deopt {
                    result: resume_in_interpreter(ts, root),
                    guard,
                };
            }
            STATUS_DEOPT => {
                DEOPTS.bump();
                let (code, at) = (frame_code(frame), offset_of_ip(frame));
                crate::hook::note_exit(code, at, false);
                incref(code.cast());
                let (caller, resume) = finish_callee(ts, frame);
                crate::hook::note_frame_deopt(code, at);
                decref(code.cast());
                frame = caller;
                if let Some(t) = resume {
                    target = t;
                    continue;
                }
                // The callee raised: the caller's call did.
                async_gen::callee_raised(caller);
            }
            STATUS_ERROR | STATUS_RERAISE | STATUS_THROWN => {}
            _ => {
                debug_assert!(frame == root);
                if OSR {
                    return_in_interpreter(root, result as *mut PyObject);
                    return hand_over(ts, false, None);
                }
                return RunOutcome::Done(return_from_root(ts, root, result as *mut PyObject));
            }
        }
        // An exception is set in `frame`: unwind it, and the frames it was
        // called from directly, until a handler takes it.
        let mut how = match result {
            STATUS_RERAISE => Raise::Reraise,
            STATUS_THROWN => Raise::Thrown,
            _ => Raise::Error,
        };
        if how == Raise::Error {
            crate::hook::note_exit(frame_code(frame), offset_of_ip(frame), true);
        }
        loop {
            RAISES.bump();
            if OSR && frame == root && how != Raise::Thrown && !has_handler(root) {
                if how == Raise::Reraise {
                    // A re-raise does nothing else: the interpreter runs
                    // the instruction again, with its own unwinding.
                    decref(take_exception(ts));
                    return hand_over(ts, false, None);
                }
                // The interpreter's error path adds the traceback entry
                // and empties the stack.
                return hand_over(ts, true, None);
            }
            // The frame's compiled code decoded its exception table: looked
            // up before the unwinding, and again after it, since what the
            // unwinding frees can run code that compiles the code anew.
            let handler = unwind(ts, frame, how, compiled_for(frame));
            how = Raise::Error;
            let Some(handler) = handler else {
                if frame == root {
                    return RunOutcome::Done(exit_unwind(ts, root));
                }
                let caller = (*frame).previous;
                *py_recursion_remaining(ts) += 1;
                *current_frame(ts) = caller;
                helpers::helper_clear_and_pop(ts, frame);
                async_gen::callee_raised(caller);
                frame = caller;
                continue;
            };
            let entry =
                compiled_for(frame).and_then(|c| c.handler_inst(handler).map(|i| c.entry(i)));
            if let Some(t) = entry {
                target = t;
                break;
            }
            // No compiled code for the handler: the interpreter runs it.
            (*frame).instr_ptr = code_units(frame_code(frame)).add(handler as usize);
            if OSR && frame == root {
                return hand_over(ts, false, None);
            }
            if frame == root {
                return RunOutcome::Deopt {
                    result: resume_in_interpreter(ts, root),
                    guard: None,
                };
            }
            let (caller, resume) = finish_callee(ts, frame);
            frame = caller;
            if let Some(t) = resume {
                target = t;
                break;
            }
            async_gen::callee_raised(caller);
        }
    }
}

/// Not a value compiled code returns: `run_frame`'s mark for an exception
/// `throw()` set before the frame ran.
const STATUS_THROWN: usize = usize::MAX;

/// The rest of `YIELD_VALUE` (the interpreter's part after the frame's own
/// state): unlinks the suspended generator frame and returns the value.
unsafe fn suspend(ts: *mut PyThreadState, root: *mut Frame) -> *mut PyObject {
    let value = *frame_local(root, (*root).stacktop as usize);
    let gen = root.cast::<u8>().sub(off::GEN_GI_IFRAME);
    let exc_state = gen.add(off::GEN_GI_EXC_STATE);
    let previous = field_ptr::<*mut u8>(exc_state, off::EXCINFO_PREVIOUS_ITEM);
    *field_ptr::<*mut u8>(ts.cast(), off::TSTATE_EXC_INFO) = *previous;
    *previous = std::ptr::null_mut();
    *py_recursion_remaining(ts) += 1;
    *current_frame(ts) = (*root).previous;
    (*root).previous = std::ptr::null_mut();
    *c_recursion_remaining(ts) += consts::PY_EVAL_C_STACK_UNITS as i32;
    value
}

/// The code-unit offset of a frame's `instr_ptr`.
///
/// # Safety
/// `frame` is a live frame.
#[inline]
pub(crate) unsafe fn offset_of_ip(frame: *mut Frame) -> u32 {
    (((*frame).instr_ptr as usize - code_units(frame_code(frame)) as usize) / 2) as u32
}

/// Hands the root frame to the interpreter at its `instr_ptr`, undoing the
/// prologue of [`run_frame`] (the interpreter does it again).
unsafe fn resume_in_interpreter(ts: *mut PyThreadState, root: *mut Frame) -> *mut PyObject {
    *py_recursion_remaining(ts) += 1;
    *c_recursion_remaining(ts) += consts::PY_EVAL_C_STACK_UNITS as i32;
    *current_frame(ts) = (*root).previous;
    crate::hook::interpret(ts, root)
}

/// Lets the interpreter finish a frame compiled code entered directly (it
/// deopted, or its handler has no compiled code), then makes its caller
/// current. Returns the caller and where its compiled code continues with
/// the result pushed, or `None` if the callee raised (the caller's call
/// raised it).
unsafe fn finish_callee(ts: *mut PyThreadState, callee: *mut Frame) -> (*mut Frame, Option<usize>) {
    let caller = (*callee).previous;
    (*callee).return_offset = 0;
    *py_recursion_remaining(ts) += 1;
    *current_frame(ts) = caller;
    let result = crate::hook::interpret(ts, callee);
    if result.is_null() {
        return (caller, None);
    }
    let slot = frame_local(caller, (*caller).stacktop as usize);
    let resume = *slot as usize;
    *slot = result;
    (*caller).stacktop += 1;
    (caller, Some(resume))
}

/// Runs `frame`, which the interpreter is running, in `compiled` from
/// instruction `head`: the interpreter stopped at a back edge to `head`
/// for a `sys.monitoring` callback (see `hook::osr`), with the frame's
/// stack stored in it. The frame stays linked and counted as the
/// interpreter has it, and the run ends where the interpreter is to go on
/// with it: at `instr_ptr` with the stack at `stacktop` (a deopt, a return
/// instruction with its value pushed back, a handler without compiled
/// code, an instruction that re-raises), or with an exception raised at
/// `instr_ptr` that the frame has no handler for, for the interpreter's
/// error path. The callback's `tracing` and `what_event` are lifted for
/// the run, so that what it calls is traced, monitored and may set
/// `f_lineno` as under the interpreter.
///
/// # Safety
/// The GIL is held; `frame` is the thread's current frame, of the code
/// `compiled` was made from, not a generator's, with its stack stored; the
/// C recursion budget has room for an entry.
pub unsafe fn run_osr(
    ts: *mut PyThreadState,
    frame: *mut Frame,
    compiled: &Compiled,
    entry: EntryFn,
    head: usize,
) -> RunOutcome {
    let tracing = field_ptr::<i32>(ts.cast(), off::TSTATE_TRACING);
    let what = field_ptr::<i32>(ts.cast(), off::TSTATE_WHAT_EVENT);
    let saved = (*tracing, *what);
    (*tracing, *what) = (0, -1);
    *c_recursion_remaining(ts) -= consts::PY_EVAL_C_STACK_UNITS as i32;
    let sp = frame_local(frame, (*frame).stacktop as usize);
    let result = entry(frame, sp, ts, compiled.entry(head)) as usize;
    let outcome = run_on::<true>(ts, frame, compiled, entry, result);
    (*tracing, *what) = saved;
    outcome
}

/// The end of a [`run_osr`]: the interpreter goes on with the root.
unsafe fn hand_over(ts: *mut PyThreadState, raised: bool, guard: Option<u32>) -> RunOutcome {
    *c_recursion_remaining(ts) += consts::PY_EVAL_C_STACK_UNITS as i32;
    RunOutcome::Handed { raised, guard }
}

/// A return of [`run_osr`]'s root, left to the interpreter: `_POP_FRAME`
/// left the value just above `stacktop`, where `RETURN_VALUE` (at
/// `instr_ptr`) finds it again; `RETURN_CONST` pushes its constant itself.
unsafe fn return_in_interpreter(root: *mut Frame, value: *mut PyObject) {
    if (*(*root).instr_ptr & 0xFF) as u8 == jitsaw_cpython313::opcode::RETURN_CONST {
        decref(value);
    } else {
        debug_assert_eq!(
            (*(*root).instr_ptr & 0xFF) as u8,
            jitsaw_cpython313::opcode::RETURN_VALUE
        );
        debug_assert!(*frame_local(root, (*root).stacktop as usize) == value);
        (*root).stacktop += 1;
    }
}

/// Whether the frame's exception table has a handler for its `instr_ptr`.
unsafe fn has_handler(frame: *mut Frame) -> bool {
    handler_at(frame_code(frame), offset_of_ip(frame))
}

/// Whether `code`'s exception table has a handler for code unit `offset`.
///
/// # Safety
/// The GIL is held and `code` is a live code object.
pub unsafe fn handler_at(code: *mut PyCodeObject, offset: u32) -> bool {
    handler_for(exception_table(code), offset).is_some()
}

/// `co_exceptiontable`'s bytes, borrowed from the live code object.
///
/// # Safety
/// `code` is a live code object, which outlives the slice.
pub(crate) unsafe fn exception_table<'a>(code: *mut PyCodeObject) -> &'a [u8] {
    let table = code_obj_field(code, off::CODE_CO_EXCEPTIONTABLE);
    // `co_exceptiontable` is an exact bytes object: its bytes are in line.
    std::slice::from_raw_parts(
        table.cast::<u8>().add(off::BYTES_OB_SVAL),
        ob_size(table) as usize,
    )
}

/// How [`run_frame`] ended.
pub enum RunOutcome {
    /// Finished in compiled code (result, or NULL with an exception set).
    Done(*mut PyObject),
    /// Finished in the interpreter after a deopt.
    Deopt {
        /// The frame's result.
        result: *mut PyObject,
        /// Where a guard failed (`None` if an unsupported instruction was
        /// reached instead).
        guard: Option<u32>,
    },
    /// [`run_osr`] only: the interpreter goes on with the frame.
    Handed {
        /// Whether with an exception, for its error path.
        raised: bool,
        /// Where a guard failed, if the run ended at a deopt.
        guard: Option<u32>,
    },
}

/// The interpreter's `exit_unwind`: pops the frame, leaving the exception set.
unsafe fn exit_unwind(ts: *mut PyThreadState, frame: *mut Frame) -> *mut PyObject {
    *py_recursion_remaining(ts) += 1;
    *current_frame(ts) = (*frame).previous;
    helpers::helper_clear_and_pop(ts, frame);
    *c_recursion_remaining(ts) += consts::PY_EVAL_C_STACK_UNITS as i32;
    std::ptr::null_mut()
}

/// The frame's stack base (`_PyFrame_Stackbase`): locals end, stack starts.
unsafe fn stack_base(frame: *mut Frame) -> usize {
    field::<i32>(frame_code(frame).cast(), off::CODE_CO_NLOCALSPLUS) as usize
}

/// How an exception left compiled code.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Raise {
    /// Raised at `instr_ptr` (the interpreter's `error:` label).
    Error,
    /// Re-raised at `instr_ptr` by `RERAISE` or a bare `raise` (its
    /// `exception_unwind:` label): no traceback entry, and `RERAISE` with
    /// an oparg restores the `lasti` it finds on the stack.
    Reraise,
    /// Thrown into a generator suspended before `instr_ptr` (the
    /// interpreter's `resume_with_error:`): found from the unit before it.
    Thrown,
}

/// The interpreter's error path for the exception raised at
/// `frame->instr_ptr`, with the stack at `frame->stacktop`: adds the
/// traceback entry (unless re-raising), then finds the handler in the
/// exception table (`decoded`'s copy when given, the frame's code's
/// compiled code). With a handler, the stack is cut to its depth, `lasti`
/// and the exception pushed, and the handler's offset returned; without,
/// the stack is emptied.
///
/// # Safety
/// The GIL is held and `frame` is linked as the thread's current frame;
/// `decoded` is compiled from the frame's code object.
pub unsafe fn unwind(
    ts: *mut PyThreadState,
    frame: *mut Frame,
    how: Raise,
    decoded: Option<&Compiled>,
) -> Option<u32> {
    // `PyErr_Occurred()` of `ts`, read in place (the function looks the
    // thread up through a thread-local).
    if field::<*mut PyObject>(ts.cast(), off::TSTATE_CURRENT_EXCEPTION).is_null() {
        pyo3::ffi::PyErr_SetString(
            pyo3::ffi::PyExc_SystemError,
            c"error return without exception set".as_ptr(),
        );
    }
    let code = frame_code(frame);
    let at = match how {
        Raise::Thrown => offset_of_ip(frame).saturating_sub(1),
        _ => offset_of_ip(frame),
    };
    let handler = match decoded {
        Some(c) => c.handler_for(at),
        None => handler_for(exception_table(code), at),
    };
    if how != Raise::Reraise && !frame_is_incomplete(frame, code) {
        add_traceback(ts, frame);
    }
    if how == Raise::Reraise {
        restore_lasti(frame, code);
    }
    let base = stack_base(frame);
    let keep = handler.map_or(0, |h| h.depth as usize);
    while (*frame).stacktop as usize > base + keep {
        (*frame).stacktop -= 1;
        xdecref(*frame_local(frame, (*frame).stacktop as usize));
    }
    let handler = handler?;
    if handler.lasti {
        let l = PyLong_FromLong(offset_of_ip(frame) as i64);
        if l.is_null() {
            return None;
        }
        push(frame, l);
    }
    push(frame, take_exception(ts));
    Some(handler.target)
}

/// `PyErr_GetRaisedException()` of `ts`, in place: the functions of the C
/// API find the thread through a thread-local, a call into the dynamic
/// loader from an extension, at every frame an exception passes.
unsafe fn take_exception(ts: *mut PyThreadState) -> *mut PyObject {
    field_ptr::<*mut PyObject>(ts.cast(), off::TSTATE_CURRENT_EXCEPTION)
        .replace(std::ptr::null_mut())
}

/// `PyErr_SetRaisedException(exc)` of `ts`, in place (see
/// [`take_exception`]): what was set meanwhile is released.
unsafe fn set_exception(ts: *mut PyThreadState, exc: *mut PyObject) {
    xdecref(field_ptr::<*mut PyObject>(ts.cast(), off::TSTATE_CURRENT_EXCEPTION).replace(exc));
}

/// `RERAISE` with an oparg sets `instr_ptr` back to the `lasti` saved below
/// the exception, as the interpreter does before unwinding (the handler is
/// still looked up from the `RERAISE`).
unsafe fn restore_lasti(frame: *mut Frame, code: *mut PyCodeObject) {
    let unit = *(*frame).instr_ptr;
    let (op, oparg) = ((unit & 0xFF) as u8, (unit >> 8) as usize);
    if op != jitsaw_cpython313::opcode::RERAISE || oparg == 0 {
        return;
    }
    let lasti = *frame_local(frame, (*frame).stacktop as usize - 1 - oparg);
    let l = pyo3::ffi::PyLong_AsLong(lasti.cast());
    (*frame).instr_ptr = code_units(code).add(l as usize);
}

unsafe fn push(frame: *mut Frame, v: *mut PyObject) {
    *frame_local(frame, (*frame).stacktop as usize) = v;
    (*frame).stacktop += 1;
}

/// `_PyFrame_IsIncomplete` for a thread-owned frame.
unsafe fn frame_is_incomplete(frame: *mut Frame, code: *mut PyCodeObject) -> bool {
    let first = field::<i32>(code.cast(), off::CODE_FIRSTTRACEABLE) as usize;
    (*frame).owner != consts::FRAME_OWNED_BY_GENERATOR as i8
        && ((*frame).instr_ptr as usize) < code_units(code) as usize + 2 * first
}

/// The interpreter's only thread state, if it has a single thread.
///
/// # Safety
/// The GIL is held; `interp` is an interpreter state.
pub(crate) unsafe fn sole_thread(interp: *mut u8) -> Option<*mut PyThreadState> {
    let head = field::<*mut u8>(interp, off::INTERP_THREADS_HEAD);
    (!head.is_null() && field::<*mut u8>(head, off::TSTATE_NEXT).is_null()).then(|| head.cast())
}

/// `PyTraceBack_Here` for the current frame, `frame`, keeping the
/// exception even if making the frame object fails.
pub(super) unsafe fn add_traceback(ts: *mut PyThreadState, frame: *mut Frame) {
    // A frame that raised before has its frame object: no need to save the
    // exception around making one.
    if !(*frame).frame_obj.is_null() {
        PyTraceBack_Here((*frame).frame_obj.cast());
        return;
    }
    let exc = take_exception(ts);
    let f = PyThreadState_GetFrame(ts);
    set_exception(ts, exc);
    if !f.is_null() {
        PyTraceBack_Here(f);
        decref(f);
    }
}

/// Every stencil's name, for listings.
pub fn stencil_names() -> impl Iterator<Item = &'static str> {
    STENCILS.iter().map(|s| s.name())
}

#[cfg(test)]
mod tests {
    use super::AddressHasher;
    use std::hash::{BuildHasher, BuildHasherDefault};

    #[test]
    fn address_hasher_mixes_every_word_of_a_key() {
        let build = BuildHasherDefault::<AddressHasher>::default();
        // One address hashes as the multiplication alone.
        assert_eq!(
            build.hash_one(0x7f00_1230usize),
            (0x7f00_1230u64 >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        );
        // A (dict, name hash) pair depends on both.
        let key = |dict: usize, name: isize| build.hash_one((dict, name));
        assert_ne!(key(0x1000, 12345), key(0x2000, 12345));
        assert_ne!(key(0x1000, 12345), key(0x1000, 54321));
        assert_ne!(key(0x1000, 0x2000), key(0x2000, 0x1000));
    }
}
