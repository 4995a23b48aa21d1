//! Runtime helpers the stencils call for cold or complex work. They are
//! `extern "C"` functions of the extension (`crates/jitsaw/src/runtime.rs`),
//! found by name when the JIT patches a stencil; the list of names is shared
//! with the build through `HELPERS` in that file.

use crate::abi::{Frame, PyObject, Sp, Ts};

/// A frame pushed for a direct call, and where its compiled code starts
/// (both null when the call cannot be made directly).
#[repr(C)]
pub struct Inline {
    /// The callee's frame, linked and current.
    pub frame: Frame,
    /// Its compiled code's entry.
    pub entry: usize,
}

extern "C" {
    /// Raises `UnboundLocalError` for local `oparg`.
    pub fn jitsaw_unbound_local(ts: Ts, f: Frame, oparg: usize);
    /// Raises `NameError` for `name`.
    pub fn jitsaw_name_error(ts: Ts, name: *mut PyObject);
    /// `LOAD_GLOBAL` without a cache: a new reference, or NULL with an error.
    pub fn jitsaw_load_global(ts: Ts, f: Frame, oparg: usize) -> *mut PyObject;
    /// `LIST_EXTEND` error message rewrite; always returns with an error set.
    pub fn jitsaw_list_extend_error(ts: Ts, iterable: *mut PyObject);
    /// `DICT_UPDATE` error message rewrite; always returns with an error set.
    pub fn jitsaw_dict_update_error(ts: Ts, update: *mut PyObject);
    /// Calls a Python function whose vectorcall is CPython's default, as
    /// the interpreter's `CALL` does: pushes its frame, taking the
    /// references to `func` and the arguments, and evaluates it.
    pub fn jitsaw_call_function(
        ts: Ts,
        func: *mut PyObject,
        args: *const *mut PyObject,
        nargs: usize,
        kwnames: *mut PyObject,
    ) -> *mut PyObject;
    /// Pushes a frame for a call to a compiled Python function taking
    /// exactly `nargs` positional arguments, taking the references to
    /// `func` and the arguments, and makes the caller wait at its call: the
    /// caller's stack ends at `base`, where `resume` is kept until the
    /// callee returns. Returns nulls (taking nothing) when the call must go
    /// the general way.
    pub fn jitsaw_push_inline(
        ts: Ts,
        caller: Frame,
        func: *mut PyObject,
        args: *const *mut PyObject,
        nargs: usize,
        base: Sp,
        resume: u64,
    ) -> Inline;
    /// Counters of exits, indexed by the exit stub's oparg.
    pub static mut jitsaw_exit_counters: [u64; 0];
    /// At this symbol's address: CPython's `_PyFunction_Vectorcall` (not
    /// exported, so the runtime finds it at start-up).
    pub static jitsaw_function_vectorcall: u8;
}
