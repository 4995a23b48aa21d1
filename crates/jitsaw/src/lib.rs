//! jitsaw: a copy-and-patch JIT compiler for CPython 3.13.
//!
//! The pipeline, one module per stage:
//! [`hook`] (PEP 523: which frames to compile and run) →
//! [`frontend`] (quickened bytecode → [`uops::Program`]) →
//! [`optimize`] (micro-ops → micro-ops) →
//! [`codegen`] (micro-ops → machine code, copying [`stencils`]) →
//! [`runtime`] (running frames, leaving compiled code, helpers).
//! Every CPython-version fact lives in the `jitsaw_cpython313` crate.

pub mod arena;
pub mod codegen;
pub mod dump;
pub mod frontend;
pub mod hook;
pub mod memory;
pub mod optimize;
pub mod options;
pub mod profile;
pub mod runtime;
pub mod stats;
pub mod stencils;
pub mod uops;

use jitsaw_cpython313::consts;
use pyo3::exceptions::{PyImportError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The extension's heap: the system's, with a reserve for when memory runs
/// out (see [`memory`]).
#[global_allocator]
static ALLOCATOR: memory::Allocator = memory::Allocator;

/// Switches the JIT on, reading the `JITSAW_*` settings; returns whether
/// counting mode is asked for and the file to write the counts to (the
/// Python side sets up `sys.monitoring` for it: see `start_counting`).
#[pyfunction]
fn enable() -> PyResult<(bool, Option<String>)> {
    let options = options::Options::from_process_env().map_err(PyValueError::new_err)?;
    let count = (options.count, options.count_file.clone());
    hook::enable(options).map_err(PyRuntimeError::new_err)?;
    Ok(count)
}

/// Starts counting mode with `sys.monitoring.set_local_events` and the
/// `INSTRUCTION` event's bit, once `count_instruction` is registered as the
/// counting tool's `INSTRUCTION` callback.
#[pyfunction]
fn start_counting(set_local_events: Py<PyAny>, instruction_event: u32) {
    hook::start_counting(set_local_events, instruction_event);
}

/// The counting tool's `INSTRUCTION` callback.
#[pyfunction]
fn count_instruction(_code: &Bound<'_, PyAny>, _offset: &Bound<'_, PyAny>) {
    hook::INTERPRETED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// The `sys.monitoring` `JUMP` callback with which a long first call of
/// code with loops is entered again in compiled code (see `hook::osr`):
/// `None`, or `sys.monitoring.DISABLE` for a jump no call is entered at.
#[pyfunction]
#[pyo3(name = "_osr_jump")]
fn osr_jump<'py>(code: &Bound<'py, PyAny>, from: u32, to: u32) -> PyResult<Bound<'py, PyAny>> {
    let py = code.py();
    if !code.is_instance_of::<pyo3::types::PyCode>() {
        return Ok(py.None().into_bound(py));
    }
    // SAFETY: the GIL is held; the interpreter calls this for the frame of
    // `code` that is running.
    match unsafe { hook::osr::jump_event(code.as_ptr().cast(), from, to) } {
        hook::osr::JumpOutcome::Continue => Ok(py.None().into_bound(py)),
        hook::osr::JumpOutcome::Disable => MONITORING_DISABLE
            .get_or_try_init(py, || {
                Ok::<_, PyErr>(
                    py.import("sys")?
                        .getattr("monitoring")?
                        .getattr("DISABLE")?
                        .unbind(),
                )
            })
            .map(|d| d.bind(py).clone()),
        hook::osr::JumpOutcome::Raised => Err(PyErr::fetch(py)),
    }
}

/// `sys.monitoring.DISABLE`, found once.
static MONITORING_DISABLE: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// Validates the `JITSAW_*` environment variables without enabling.
#[pyfunction]
fn check_options() -> PyResult<()> {
    options::Options::from_process_env()
        .map(drop)
        .map_err(PyValueError::new_err)
}

/// Switches the JIT off; compiled frames already running finish compiled.
#[pyfunction]
fn disable() {
    hook::disable();
}

/// Whether the JIT is on.
#[pyfunction]
fn is_enabled() -> bool {
    hook::is_enabled()
}

/// Counters since start-up, as a dict.
#[pyfunction]
#[pyo3(name = "stats")]
fn py_stats(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    let c = stats::COMPILE.lock().unwrap().clone();
    d.set_item("functions_compiled", c.compiled)?;
    d.set_item("functions_refused", c.refused.values().sum::<u64>())?;
    d.set_item("refused", c.refused)?;
    d.set_item("instructions_compiled", c.instructions)?;
    d.set_item("uops_compiled", c.uops)?;
    d.set_item("calls_inlined", c.calls_inlined)?;
    d.set_item("instructions_inlined", c.instructions_inlined)?;
    d.set_item("code_bytes", c.code_bytes)?;
    d.set_item("compile_time_ns", c.compile_ns)?;
    d.set_item("unsupported_instructions", c.unsupported)?;
    d.set_item("code_bytes_in_use", arena::in_use())?;
    d.set_item(
        "superseded_code_bytes_freed",
        hook::SUPERSEDED_FREED.load(std::sync::atomic::Ordering::Relaxed),
    )?;
    d.set_item(
        "provisional_code_bytes_freed",
        hook::PROVISIONAL_FREED.load(std::sync::atomic::Ordering::Relaxed),
    )?;
    d.set_item(
        "code_limit_hits",
        hook::CODE_LIMIT_HITS.load(std::sync::atomic::Ordering::Relaxed),
    )?;
    d.set_item(
        "low_memory_waits",
        hook::LOW_MEMORY_WAITS.load(std::sync::atomic::Ordering::Relaxed),
    )?;
    let invalidations = PyDict::new(py);
    for (reason, n) in hook::INVALIDATION_REASONS.iter().zip(&hook::INVALIDATIONS) {
        invalidations.set_item(reason, n.load(std::sync::atomic::Ordering::Relaxed))?;
    }
    d.set_item("invalidations", invalidations)?;
    d.set_item("frames_entered", runtime::FRAMES_ENTERED.get())?;
    d.set_item("calls_without_frame", runtime::CALLS_WITHOUT_FRAME.get())?;
    d.set_item("keyword_calls_cached", runtime::KEYWORD_CALLS_CACHED.get())?;
    d.set_item("star_calls_bound", runtime::STAR_CALLS_BOUND.get())?;
    d.set_item("loops_entered", runtime::LOOPS_ENTERED.get())?;
    d.set_item("iter_generators", runtime::ITER_GENERATORS.get())?;
    d.set_item("inits_entered", runtime::INITS_ENTERED.get())?;
    d.set_item("properties_entered", runtime::PROPERTIES_ENTERED.get())?;
    d.set_item("operators_called", runtime::OPERATORS_CALLED.get())?;
    d.set_item("resumed_directly", runtime::RESUMED_DIRECTLY.get())?;
    d.set_item("yields_passed_through", runtime::YIELDS_PASSED.get())?;
    d.set_item("imports_unhooked", runtime::IMPORTS_UNHOOKED.get())?;
    let interpreted = PyDict::new(py);
    for (kind, n) in runtime::INTERPRETED_KINDS
        .iter()
        .zip(&runtime::CALLS_INTERPRETED)
    {
        interpreted.set_item(kind, n.get())?;
    }
    d.set_item("calls_interpreted", interpreted)?;
    d.set_item("sends_passed_through", runtime::SENDS_PASSED.get())?;
    let attribute_cache = PyDict::new(py);
    attribute_cache.set_item("filled", runtime::attr_cache::FILLED.get())?;
    attribute_cache.set_item("shared", runtime::attr_cache::SHARED_HITS.get())?;
    attribute_cache.set_item("generic", runtime::attr_cache::GENERIC.get())?;
    d.set_item("attribute_cache", attribute_cache)?;
    d.set_item("deopts", runtime::DEOPTS.get())?;
    d.set_item("raise_exits", runtime::RAISES.get())?;
    let exits = PyDict::new(py);
    for (reason, count) in runtime::exit_counts() {
        if count > 0 {
            exits.set_item(reason, count)?;
        }
    }
    d.set_item("exits", exits)?;
    // SAFETY: read under the GIL, which serializes compiled code's writes.
    let compiled = unsafe { (&raw const runtime::EXECUTED).read_volatile() };
    let interpreted = hook::INTERPRETED.load(std::sync::atomic::Ordering::Relaxed);
    let executed = PyDict::new(py);
    executed.set_item("compiled", compiled)?;
    executed.set_item("interpreted", interpreted)?;
    d.set_item("instructions_executed", executed)?;
    let uops = PyDict::new(py);
    for (op, n) in uops::Uop::ALL.iter().zip(runtime::uop_counters()) {
        let n = n.load(std::sync::atomic::Ordering::Relaxed);
        if n > 0 {
            uops.set_item(op.name(), n)?;
        }
    }
    d.set_item("uops_executed", uops)?;
    Ok(d)
}

/// The JIT's state for a function or code object: a dict with `status`
/// (`new`, `warming`, `counted`, `compiled`, `provisional`, `requicken`,
/// `never`), `calls`, `deopts` (since the last compilation), `recompiles`,
/// `uops` (the compiled micro-ops' names), and the times its warm-up policy
/// weighs: `compile_ns` (its last compilation, or the estimate after a
/// counted first call), `price_ns` (what calls must take for compiling to
/// be due: a multiple of `compile_ns`), `first_run_ns` (its first call,
/// compiled or counted, or None) and `waited_ns` (its interpreted calls
/// while waiting for the threshold).
#[pyfunction]
fn code_state<'py>(py: Python<'py>, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let code = match obj.getattr("__code__") {
        Ok(code) => code,
        Err(_) => obj.clone(),
    };
    if !code.is_instance_of::<pyo3::types::PyCode>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "expected a function or a code object",
        ));
    }
    // SAFETY: GIL held (we have `py`), and `code` is a code object.
    let s = unsafe { hook::code_summary(code.as_ptr().cast()) };
    let d = PyDict::new(py);
    d.set_item("status", s.status)?;
    d.set_item("calls", s.calls)?;
    d.set_item("deopts", s.deopts)?;
    d.set_item("recompiles", s.recompiles)?;
    d.set_item("uops", s.uops)?;
    d.set_item("compile_ns", s.compile_ns)?;
    d.set_item("price_ns", s.price_ns)?;
    d.set_item("first_run_ns", s.first_run_ns)?;
    d.set_item("waited_ns", s.waited_ns)?;
    Ok(d)
}

/// Every profile recorded (`JITSAW_PROFILE=1`): a list of dicts, one per
/// code object that reached jitsaw, with `filename`, `qualname`,
/// `firstlineno`, `calls`, `compiles`, `code_bytes` and `instructions`, a
/// list of `(offset, line, opname, ran, specialized, runs, generic_runs,
/// deopts, raises, uops)` tuples (see `profile::Report`).
#[pyfunction]
fn profiles(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyDict>>> {
    if !profile::enabled() {
        return Err(PyRuntimeError::new_err(
            "jitsaw is not recording profiles: set JITSAW_PROFILE=1 before jitsaw.enable(), \
             or run the program with python -m jitsaw --report FILE",
        ));
    }
    // SAFETY: GIL held (we have `py`).
    let reports = unsafe { hook::profile_reports() };
    reports
        .into_iter()
        .map(|r| {
            let d = PyDict::new(py);
            d.set_item("filename", &r.snapshot.filename)?;
            d.set_item("qualname", &r.snapshot.qualname)?;
            d.set_item("firstlineno", r.snapshot.firstlineno)?;
            d.set_item("calls", r.calls)?;
            d.set_item("compiles", r.compiles)?;
            d.set_item("code_bytes", r.code_bytes)?;
            let insts: Vec<_> = r
                .snapshot
                .insts
                .iter()
                .zip(r.counts)
                .map(|(i, (runs, generic, deopts, raises, uops))| {
                    (
                        i.offset,
                        i.line,
                        i.opname,
                        i.ran,
                        i.specialized,
                        runs,
                        generic,
                        deopts,
                        raises,
                        uops,
                    )
                })
                .collect();
            d.set_item("instructions", insts)?;
            Ok(d)
        })
        .collect()
}

/// `jitsaw.dump()`'s text for a function (or a code object, whose global
/// loads are then not specialized): its bytecode, micro-ops after each
/// stage and machine code, as it would be compiled now.
#[pyfunction]
fn dump_text(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let py = obj.py();
    let (code, globals, builtins) = match obj.getattr("__code__") {
        Ok(code) => (
            code,
            obj.getattr("__globals__")?,
            obj.getattr("__builtins__")?,
        ),
        Err(_) => (
            obj.clone(),
            PyDict::new(py).into_any(),
            py.import("builtins")?.dict().into_any(),
        ),
    };
    if !code.is_instance_of::<pyo3::types::PyCode>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "jitsaw.dump() expects a Python function or a code object, got {}",
            obj.get_type().name()?
        )));
    }
    // SAFETY: GIL held; `code` is a code object and the others are objects
    // kept alive by the bound references.
    unsafe {
        hook::dump_code(
            pyo3::ffi::PyThreadState_Get().cast(),
            code.as_ptr().cast(),
            globals.as_ptr().cast(),
            builtins.as_ptr().cast(),
        )
    }
    .map_err(PyValueError::new_err)
}

/// Every stencil's disassembly with its holes.
#[pyfunction]
fn stencil_listing() -> String {
    dump::stencils()
}

/// The compiled extension module.
#[pymodule]
fn _jitsaw(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // SAFETY: `Py_Version` is a constant exported by every CPython >= 3.11.
    // (`c_ulong` is 64 bits here but not everywhere, hence the conversion.)
    #[allow(clippy::useless_conversion)]
    let running = u64::from(unsafe { pyo3::ffi::Py_Version });
    if running != consts::PY_VERSION_HEX {
        return Err(PyImportError::new_err(format!(
            "jitsaw was built for CPython {} but is running on a different release \
             (hex {running:#x}); reinstall jitsaw with this interpreter",
            consts::PY_VERSION
        )));
    }
    // Set as attributes, not `add_function`: that keeps `__all__`, whose
    // first lookup fails, and PyO3 makes its `PanicException` class to
    // check the error against, a tenth of every `JITSAW=1` start-up's cost
    // of importing the module.
    let functions = [
        wrap_pyfunction!(enable, m)?,
        wrap_pyfunction!(disable, m)?,
        wrap_pyfunction!(check_options, m)?,
        wrap_pyfunction!(is_enabled, m)?,
        wrap_pyfunction!(py_stats, m)?,
        wrap_pyfunction!(stencil_listing, m)?,
        wrap_pyfunction!(code_state, m)?,
        wrap_pyfunction!(profiles, m)?,
        wrap_pyfunction!(dump_text, m)?,
        wrap_pyfunction!(start_counting, m)?,
        wrap_pyfunction!(count_instruction, m)?,
        wrap_pyfunction!(osr_jump, m)?,
    ];
    for function in functions {
        let name = function.getattr(pyo3::intern!(m.py(), "__name__"))?;
        m.setattr(name.cast_into::<pyo3::types::PyString>()?, function)?;
    }
    m.setattr("CPYTHON_VERSION", consts::PY_VERSION)?;
    Ok(())
}
