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

use crate::codegen::Compiled;
use crate::stencils::{self, STENCILS};
use jitsaw_cpython313::exception_table::handler_for;
use jitsaw_cpython313::ffi::*;
use jitsaw_cpython313::inline::*;
use jitsaw_cpython313::layout::{Frame, PyCodeObject, PyObject, PyThreadState};
use jitsaw_cpython313::{consts, off};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use jitsaw_cpython313::shared::{STATUS_DEOPT, STATUS_ERROR};

/// The C-ABI entry into compiled code (the `_JIT_ENTRY` stencil).
type EntryFn = unsafe extern "C" fn(
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
pub fn runtime() -> Result<&'static Runtime, String> {
    RUNTIME
        .get_or_init(Runtime::new)
        .as_ref()
        .map_err(Clone::clone)
}

impl Runtime {
    fn new() -> Result<Runtime, String> {
        let symbols = stencils::SYMBOLS
            .iter()
            .map(|name| {
                resolve(name).ok_or_else(|| format!("jitsaw: cannot resolve symbol {name}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let anchor = _PyEval_EvalFrameDefault as *const () as usize;
        let stencil = stencils::by_name("_JIT_ENTRY").ok_or("jitsaw: no entry stencil")?;
        if !stencil.holes.is_empty() {
            return Err("jitsaw: the entry stencil has holes".into());
        }
        let mut memory = crate::arena::CodeMemory::new(stencil.code.len(), anchor)?;
        memory.bytes_mut()[..stencil.code.len()].copy_from_slice(stencil.code);
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

/// The address of a symbol stencils may reference.
fn resolve(name: &str) -> Option<usize> {
    if let Some(&(_, address)) = helpers().iter().find(|(n, _)| *n == name) {
        return Some(address);
    }
    let cname = std::ffi::CString::new(name).ok()?;
    // SAFETY: dlsym with a valid C string; RTLD_DEFAULT searches the process
    // (libpython, or the executable for a static Python).
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, cname.as_ptr()) };
    (!p.is_null()).then_some(p as usize)
}

/// Exit counters bumped by the exit stubs, indexed by reason.
pub const EXIT_COUNTERS: usize = 4096;
static mut EXIT_COUNTS: [u64; EXIT_COUNTERS] = [0; EXIT_COUNTERS];
static EXIT_REASONS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The counter index for an exit reason, allocating one on first use (the
/// last index collects reasons past the table's size).
pub fn exit_counter(reason: &str) -> u32 {
    let mut reasons = EXIT_REASONS.lock().unwrap();
    if let Some(i) = reasons.iter().position(|r| r == reason) {
        return i as u32;
    }
    if reasons.len() + 1 >= EXIT_COUNTERS {
        return (EXIT_COUNTERS - 1) as u32;
    }
    reasons.push(reason.to_string());
    (reasons.len() - 1) as u32
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

/// Storage for the stencils' int freelist (`crates/stencils/src/objects.rs`
/// defines its layout: four list heads, then four counts).
static mut INT_FREELIST: [u64; 8] = [0; 8];

/// Helpers stencils call, by the name they use.
fn helpers() -> [(&'static str, usize); 10] {
    [
        (
            "jitsaw_push_inline",
            helper_push_inline as *const () as usize,
        ),
        ("jitsaw_int_freelist", (&raw const INT_FREELIST) as usize),
        (
            "jitsaw_call_function",
            helper_call_function as *const () as usize,
        ),
        ("jitsaw_function_vectorcall", function_vectorcall()),
        ("jitsaw_name_error", name_error as *const () as usize),
        (
            "jitsaw_unbound_local",
            helper_unbound_local as *const () as usize,
        ),
        (
            "jitsaw_load_global",
            helper_load_global as *const () as usize,
        ),
        (
            "jitsaw_list_extend_error",
            helper_list_extend_error as *const () as usize,
        ),
        (
            "jitsaw_dict_update_error",
            helper_dict_update_error as *const () as usize,
        ),
        ("jitsaw_exit_counters", (&raw const EXIT_COUNTS) as usize),
    ]
}

/// CPython's `_PyFunction_Vectorcall`: not exported, so read from the
/// vectorcall slot of a function made for the purpose (0 if that fails,
/// which turns the direct-call path off).
fn function_vectorcall() -> usize {
    static ADDRESS: OnceLock<usize> = OnceLock::new();
    *ADDRESS.get_or_init(|| {
        pyo3::Python::attach(|py| {
            let f = py.eval(c"lambda: None", None, None).ok()?;
            // SAFETY: `f` is a live function object; the field is its
            // vectorcall pointer at the probed offset.
            Some(unsafe { field::<usize>(f.as_ptr().cast::<u8>(), off::FUNC_VECTORCALL) })
        })
        .unwrap_or(0)
    })
}

/// Calls a Python function the way the interpreter's `CALL` does for one
/// with the default vectorcall: pushes the callee's frame (which takes the
/// references to `func` and the arguments) and evaluates it with the frame
/// evaluator in force, without the vectorcall plumbing.
unsafe extern "C" fn helper_call_function(
    ts: *mut PyThreadState,
    func: *mut PyObject,
    args: *const *mut PyObject,
    nargs: usize,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    let code = field::<*mut PyObject>(func.cast(), off::FUNC_CODE);
    let flags = field::<i32>(code.cast(), off::CODE_CO_FLAGS) as i64;
    if kwnames.is_null() && takes_exactly(code.cast(), flags, nargs) {
        if let Some((state, compiled)) = crate::hook::ready(ts, code.cast()) {
            if let Some(frame) = push_frame(ts, func, code.cast(), args, nargs) {
                return crate::hook::run(ts, frame, state, compiled);
            }
        }
    }
    let locals = if flags & consts::CO_OPTIMIZED != 0 {
        std::ptr::null_mut()
    } else {
        new_ref(field::<*mut PyObject>(func.cast(), off::FUNC_GLOBALS))
    };
    let frame = _PyEvalFramePushAndInit(ts, func, locals, args, nargs, kwnames);
    if frame.is_null() {
        return std::ptr::null_mut();
    }
    let interp = interp(ts).cast::<u8>();
    match _PyInterpreterState_GetEvalFrameFunc(interp) {
        Some(eval) if !std::ptr::eq(eval as *const (), _PyEval_EvalFrameDefault as *const ()) => {
            eval(ts, frame, 0)
        }
        _ => _PyEval_EvalFrameDefault(ts, frame, 0),
    }
}

/// Whether a function of `code` takes exactly `nargs` positional arguments
/// and nothing else (CPython's condition for `CALL_PY_EXACT_ARGS`).
unsafe fn takes_exactly(code: *mut PyCodeObject, flags: i64, nargs: usize) -> bool {
    flags & (consts::CO_VARARGS | consts::CO_VARKEYWORDS) == 0
        && flags & consts::CO_OPTIMIZED != 0
        && field::<i32>(code.cast(), off::CODE_CO_KWONLYARGCOUNT) == 0
        && field::<i32>(code.cast(), off::CODE_CO_ARGCOUNT) as usize == nargs
}

/// Pushes a frame for `func` taking `args` as its first locals, as
/// `_PyFrame_PushUnchecked` and `_PyFrame_Initialize` do; takes the
/// references to `func` and the arguments. `None` (nothing taken) when the
/// thread's frame stack chunk is full.
unsafe fn push_frame(
    ts: *mut PyThreadState,
    func: *mut PyObject,
    code: *mut PyCodeObject,
    args: *const *mut PyObject,
    nargs: usize,
) -> Option<*mut Frame> {
    let size = field::<i32>(code.cast(), off::CODE_CO_FRAMESIZE) as usize;
    let top = field_ptr::<*mut *mut PyObject>(ts.cast(), off::TSTATE_DATASTACK_TOP);
    let limit = field::<*mut *mut PyObject>(ts.cast(), off::TSTATE_DATASTACK_LIMIT);
    if (*top).is_null() || size >= limit.offset_from(*top) as usize {
        return None;
    }
    let frame = (*top).cast::<Frame>();
    *top = (*top).add(size);
    let nlocalsplus = field::<i32>(code.cast(), off::CODE_CO_NLOCALSPLUS) as usize;
    (*frame).f_funcobj = func;
    (*frame).f_executable = new_ref(code.cast());
    (*frame).f_builtins = field::<*mut PyObject>(func.cast(), off::FUNC_BUILTINS);
    (*frame).f_globals = field::<*mut PyObject>(func.cast(), off::FUNC_GLOBALS);
    (*frame).f_locals = std::ptr::null_mut();
    (*frame).stacktop = nlocalsplus as i32;
    (*frame).frame_obj = std::ptr::null_mut();
    (*frame).instr_ptr = code_units(code);
    (*frame).return_offset = 0;
    (*frame).owner = consts::FRAME_OWNED_BY_THREAD as i8;
    std::ptr::copy_nonoverlapping(args, frame_local(frame, 0), nargs);
    for i in nargs..nlocalsplus {
        *frame_local(frame, i) = std::ptr::null_mut();
    }
    Some(frame)
}

/// A frame pushed for a direct call and its compiled entry (the
/// stencils' `Inline`; nulls when the call goes the general way).
#[repr(C)]
pub struct Inline {
    frame: *mut Frame,
    entry: usize,
}

/// A direct call from compiled code to compiled code: pushes the callee's
/// frame and makes the caller wait at its call, so the call and its return
/// are jumps (no native recursion, as in the interpreter). See
/// `jitsaw_push_inline` in `crates/stencils/src/helpers.rs`.
unsafe extern "C" fn helper_push_inline(
    ts: *mut PyThreadState,
    caller: *mut Frame,
    func: *mut PyObject,
    args: *const *mut PyObject,
    nargs: usize,
    base: *mut *mut PyObject,
    resume: u64,
) -> Inline {
    const NONE: Inline = Inline {
        frame: std::ptr::null_mut(),
        entry: 0,
    };
    let code = field::<*mut PyObject>(func.cast(), off::FUNC_CODE).cast::<PyCodeObject>();
    let flags = field::<i32>(code.cast(), off::CODE_CO_FLAGS) as i64;
    // Near the recursion limit, the general path raises as the interpreter does.
    if !takes_exactly(code, flags, nargs) || *py_recursion_remaining(ts) <= 1 {
        return NONE;
    }
    let Some((_, compiled)) = crate::hook::ready(ts, code) else {
        return NONE;
    };
    let Some(frame) = push_frame(ts, func, code, args, nargs) else {
        return NONE;
    };
    (*caller).stacktop = base.offset_from(frame_local(caller, 0)) as i32;
    *base = resume as *mut PyObject;
    (*frame).previous = caller;
    (*frame).return_offset = jitsaw_cpython313::shared::INLINE_RETURN;
    *current_frame(ts) = frame;
    *py_recursion_remaining(ts) -= 1;
    FRAMES_ENTERED.bump();
    Inline {
        frame,
        entry: (*compiled).entry(0),
    }
}

/// Raises `UnboundLocalError` for local `oparg` (`LOAD_FAST_CHECK`).
unsafe extern "C" fn helper_unbound_local(ts: *mut PyThreadState, f: *mut Frame, oparg: usize) {
    let names = code_obj_field(frame_code(f), off::CODE_CO_LOCALSPLUSNAMES);
    let name = pyo3::ffi::PyTuple_GetItem(names.cast(), oparg as isize);
    _PyEval_FormatExcCheckArg(
        ts,
        PyExc_UnboundLocalError,
        c"cannot access local variable '%s' where it is not associated with a value"
            .as_ptr()
            .cast(),
        name.cast(),
    );
}

/// `LOAD_GLOBAL` without a cache: a new reference, or NULL with an error.
unsafe extern "C" fn helper_load_global(
    ts: *mut PyThreadState,
    f: *mut Frame,
    oparg: usize,
) -> *mut PyObject {
    let name = frame_name(f, oparg >> 1);
    let (globals, builtins) = ((*f).f_globals, (*f).f_builtins);
    let mut res = std::ptr::null_mut();
    if is_dict(globals) && is_dict(builtins) {
        res = _PyDict_LoadGlobal(globals, builtins, name);
        if res.is_null() && PyErr_Occurred().is_null() {
            name_error(ts, name);
        }
        return res;
    }
    if PyMapping_GetOptionalItem(globals, name, &mut res) < 0 {
        return std::ptr::null_mut();
    }
    if res.is_null() {
        if PyMapping_GetOptionalItem(builtins, name, &mut res) < 0 {
            return std::ptr::null_mut();
        }
        if res.is_null() {
            name_error(ts, name);
        }
    }
    res
}

/// Raises `NameError` for `name`.
unsafe extern "C" fn name_error(ts: *mut PyThreadState, name: *mut PyObject) {
    _PyEval_FormatExcCheckArg(
        ts,
        PyExc_NameError,
        c"name '%.200s' is not defined".as_ptr().cast(),
        name,
    );
}

/// The type name of an object, for error messages.
unsafe fn type_name(o: *mut PyObject) -> *const std::ffi::c_char {
    field::<*const std::ffi::c_char>(ob_type(o).cast(), off::TYPE_TP_NAME)
}

/// `LIST_EXTEND`'s message for a non-iterable after `*`.
unsafe extern "C" fn helper_list_extend_error(_ts: *mut PyThreadState, iterable: *mut PyObject) {
    let tp_iter = pyo3::ffi::PyType_GetSlot(ob_type(iterable).cast(), pyo3::ffi::Py_tp_iter);
    if PyErr_ExceptionMatches(PyExc_TypeError) != 0
        && tp_iter.is_null()
        && pyo3::ffi::PySequence_Check(iterable.cast()) == 0
    {
        PyErr_Clear();
        pyo3::ffi::PyErr_Format(
            PyExc_TypeError.cast(),
            c"Value after * must be an iterable, not %.200s".as_ptr(),
            type_name(iterable),
        );
    }
}

/// `DICT_UPDATE`'s message for a non-mapping after `**`.
unsafe extern "C" fn helper_dict_update_error(_ts: *mut PyThreadState, update: *mut PyObject) {
    if PyErr_ExceptionMatches(PyExc_AttributeError) != 0 {
        pyo3::ffi::PyErr_Format(
            PyExc_TypeError.cast(),
            c"'%.200s' object is not a mapping".as_ptr(),
            type_name(update),
        );
    }
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

    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Frames (or resumptions) entered in compiled code.
pub static FRAMES_ENTERED: Counter = Counter::new();
/// Exits from compiled code to the interpreter.
pub static DEOPTS: Counter = Counter::new();
/// Exceptions raised in compiled code.
pub static RAISES: Counter = Counter::new();

/// Runs a new frame in compiled code from its first instruction, exactly as
/// `_PyEval_EvalFrameDefault(tstate, frame, 0)` would run it.
///
/// # Safety
/// The GIL is held, `root` is a new thread-owned frame of the code object
/// `compiled` was made from, not yet linked into the thread's frame stack.
pub unsafe fn run_frame(
    ts: *mut PyThreadState,
    root: *mut Frame,
    compiled: &Compiled,
    rt: &Runtime,
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
    let mut frame = root;
    let mut target = compiled.entry(0);
    loop {
        let sp = frame_local(frame, (*frame).stacktop as usize);
        let result = (rt.entry)(frame, sp, ts, target) as usize;
        // Compiled code leaves from the thread's current frame: the root, or
        // a frame it entered directly from a compiled caller.
        frame = *current_frame(ts);
        match result {
            STATUS_DEOPT if frame == root => {
                DEOPTS.bump();
                let at = offset_of_ip(root);
                let guard = compiled.speculative_deopt(at).then_some(at);
                return RunOutcome::Deopt {
                    result: resume_in_interpreter(ts, root),
                    guard,
                };
            }
            STATUS_DEOPT => {
                DEOPTS.bump();
                crate::hook::note_frame_deopt(frame);
                let (caller, resume) = finish_callee(ts, frame);
                frame = caller;
                if let Some(t) = resume {
                    target = t;
                    continue;
                }
                // The callee raised: the caller's call did.
            }
            STATUS_ERROR => {}
            _ => {
                debug_assert!(frame == root);
                *py_recursion_remaining(ts) += 1;
                *current_frame(ts) = (*root).previous;
                _PyEval_FrameClearAndPop(ts, root);
                *c_recursion_remaining(ts) += consts::PY_EVAL_C_STACK_UNITS as i32;
                return RunOutcome::Done(result as *mut PyObject);
            }
        }
        // An exception is set in `frame`: unwind it, and the frames it was
        // called from directly, until a handler takes it.
        loop {
            RAISES.bump();
            let Some(handler) = unwind(ts, frame) else {
                if frame == root {
                    return RunOutcome::Done(exit_unwind(ts, root));
                }
                let caller = (*frame).previous;
                *py_recursion_remaining(ts) += 1;
                *current_frame(ts) = caller;
                _PyEval_FrameClearAndPop(ts, frame);
                frame = caller;
                continue;
            };
            let entry = if frame == root {
                compiled.inst_at(handler).map(|i| compiled.entry(i))
            } else {
                crate::hook::latest_compiled(frame_code(frame))
                    .and_then(|c| c.inst_at(handler).map(|i| c.entry(i)))
            };
            if let Some(t) = entry {
                target = t;
                break;
            }
            // No compiled code for the handler: the interpreter runs it.
            (*frame).instr_ptr = code_units(frame_code(frame)).add(handler as usize);
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
        }
    }
}

/// The code-unit offset of a frame's `instr_ptr`.
unsafe fn offset_of_ip(frame: *mut Frame) -> u32 {
    (((*frame).instr_ptr as usize - code_units(frame_code(frame)) as usize) / 2) as u32
}

/// Hands the root frame to the interpreter at its `instr_ptr`, undoing the
/// prologue of [`run_frame`] (the interpreter does it again).
unsafe fn resume_in_interpreter(ts: *mut PyThreadState, root: *mut Frame) -> *mut PyObject {
    *py_recursion_remaining(ts) += 1;
    *c_recursion_remaining(ts) += consts::PY_EVAL_C_STACK_UNITS as i32;
    *current_frame(ts) = (*root).previous;
    _PyEval_EvalFrameDefault(ts, root, 0)
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
    let result = _PyEval_EvalFrameDefault(ts, callee, 0);
    if result.is_null() {
        return (caller, None);
    }
    let slot = frame_local(caller, (*caller).stacktop as usize);
    let resume = *slot as usize;
    *slot = result;
    (*caller).stacktop += 1;
    (caller, Some(resume))
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
}

/// The interpreter's `exit_unwind`: pops the frame, leaving the exception set.
unsafe fn exit_unwind(ts: *mut PyThreadState, frame: *mut Frame) -> *mut PyObject {
    *py_recursion_remaining(ts) += 1;
    *current_frame(ts) = (*frame).previous;
    _PyEval_FrameClearAndPop(ts, frame);
    *c_recursion_remaining(ts) += consts::PY_EVAL_C_STACK_UNITS as i32;
    std::ptr::null_mut()
}

/// The frame's stack base (`_PyFrame_Stackbase`): locals end, stack starts.
unsafe fn stack_base(frame: *mut Frame) -> usize {
    field::<i32>(frame_code(frame).cast(), off::CODE_CO_NLOCALSPLUS) as usize
}

/// The interpreter's error path for the exception raised at
/// `frame->instr_ptr`, with the stack at `frame->stacktop`: adds the
/// traceback entry, then finds the handler in the exception table. With a
/// handler, the stack is cut to its depth, `lasti` and the exception pushed,
/// and the handler's offset returned; without, the stack is emptied.
///
/// # Safety
/// The GIL is held and `frame` is linked as the thread's current frame.
pub unsafe fn unwind(ts: *mut PyThreadState, frame: *mut Frame) -> Option<u32> {
    if PyErr_Occurred().is_null() {
        pyo3::ffi::PyErr_SetString(
            pyo3::ffi::PyExc_SystemError,
            c"error return without exception set".as_ptr(),
        );
    }
    let code = frame_code(frame);
    let lasti = ((*frame).instr_ptr as usize - code_units(code) as usize) / 2;
    if !frame_is_incomplete(frame, code) {
        add_traceback(ts);
    }
    let base = stack_base(frame);
    let table = code_obj_field(code, off::CODE_CO_EXCEPTIONTABLE);
    let bytes = std::slice::from_raw_parts(
        pyo3::ffi::PyBytes_AsString(table.cast()) as *const u8,
        pyo3::ffi::PyBytes_Size(table.cast()) as usize,
    );
    let handler = handler_for(bytes, lasti as u32);
    let keep = handler.map_or(0, |h| h.depth as usize);
    while (*frame).stacktop as usize > base + keep {
        (*frame).stacktop -= 1;
        xdecref(*frame_local(frame, (*frame).stacktop as usize));
    }
    let handler = handler?;
    if handler.lasti {
        let l = PyLong_FromLong(lasti as i64);
        if l.is_null() {
            return None;
        }
        push(frame, l);
    }
    push(frame, PyErr_GetRaisedException());
    Some(handler.target)
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

/// `PyTraceBack_Here` for the current frame, keeping the exception even if
/// making the frame object fails.
unsafe fn add_traceback(ts: *mut PyThreadState) {
    let exc = PyErr_GetRaisedException();
    let f = PyThreadState_GetFrame(ts);
    PyErr_SetRaisedException(exc);
    if !f.is_null() {
        PyTraceBack_Here(f);
        decref(f);
    }
}

/// Every stencil's name, for listings.
pub fn stencil_names() -> impl Iterator<Item = &'static str> {
    STENCILS.iter().map(|s| s.name)
}
